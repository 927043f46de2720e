"""The projector files ``SummaryWriter.add_embedding`` writes (tensors.tsv, metadata.tsv,
sprite.png, projector_config.pbtxt), laid out as PyTorch lays them out."""

from __future__ import annotations

import io
import math
import os

import numpy as np

from .summary import _grid, make_np


def _quoted(tag: str) -> str:
    # '%', '/' and '\' would split or escape the folder name: %-encode them.
    return tag.replace("%", "%25").replace("/", "%2f").replace("\\", "%5c")


def write_embedding(log_dir: str, config, mat: np.ndarray, metadata, label_img, global_step,
                    tag: str, metadata_header):
    """Write one embedding's files; return the updated ProjectorConfig."""
    from google.protobuf import text_format
    from tensorboard.plugins.projector.projector_config_pb2 import EmbeddingInfo, ProjectorConfig

    subdir = f"{str(global_step).zfill(5)}/{_quoted(tag)}"
    folder = os.path.join(log_dir, subdir)
    if os.path.exists(folder):
        if not os.path.isdir(folder):
            raise NotADirectoryError(f"Path: `{folder}` exists, but is a file. Cannot proceed.")
        print("warning: Embedding dir exists, did you set global_step for add_embedding()?")
    else:
        os.makedirs(folder)
    info = EmbeddingInfo(tensor_name=f"{tag}:{str(global_step).zfill(5)}",
                         tensor_path=subdir + "/tensors.tsv")
    if metadata is not None:
        if mat.shape[0] != len(metadata):
            raise AssertionError("#labels should equal with #data points")
        if metadata_header:
            if len(metadata_header) != len(metadata[0]):
                raise AssertionError("len of header must be equal to the number of columns in "
                                     "metadata")
            lines = ["\t".join(str(e) for e in row) for row in [metadata_header, *metadata]]
        else:
            lines = [str(label) for label in metadata]
        with open(os.path.join(folder, "metadata.tsv"), "wb") as file:
            file.write(("\n".join(lines) + "\n").encode("utf-8"))
        info.metadata_path = subdir + "/metadata.tsv"
    if label_img is not None:
        images = make_np(label_img)
        if mat.shape[0] != images.shape[0]:
            raise AssertionError("#images should equal with #data points")
        _write_sprite(images, os.path.join(folder, "sprite.png"))
        info.sprite.image_path = subdir + "/sprite.png"
        info.sprite.single_image_dim.extend([images.shape[3], images.shape[2]])
    if mat.ndim != 2:
        raise AssertionError("mat should be 2D, where mat.size(0) is the number of data points")
    with open(os.path.join(folder, "tensors.tsv"), "wb") as file:
        for row in mat:
            file.write(("\t".join(str(x.item()) for x in row) + "\n").encode("utf-8"))
    config = ProjectorConfig() if config is None else config
    config.embeddings.extend([info])
    with open(os.path.join(log_dir, "projector_config.pbtxt"), "wb") as file:
        file.write(text_format.MessageToString(config).encode("utf-8"))
    return config


def _write_sprite(images: np.ndarray, path: str) -> None:
    """The images tiled into a square grid (ceil(sqrt(N)) per row), as one PNG."""
    from PIL import Image

    tiled = _grid(images, columns=math.ceil(images.shape[0] ** 0.5)).transpose(1, 2, 0)
    square = np.zeros((tiled.shape[1], tiled.shape[1], 3))
    square[:tiled.shape[0]] = tiled
    buffer = io.BytesIO()
    Image.fromarray(np.uint8((square * 255).clip(0, 255))).save(buffer, format="PNG")
    with open(path, "wb") as file:
        file.write(buffer.getvalue())
