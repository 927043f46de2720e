"""Seeded TensorBoard logging (run by test_s9_T17_tensorboard.py under torch and deltagrad).

Usage: python prog_s9_T17_tensorboard.py OUT.npz LOGDIR. Writes event files under LOGDIR (and a
default runs/... folder in the working directory); OUT.npz records names and errors.
"""

import os
import sys

import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter

out, logdir = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(0)
record = {}


def attempt(key, fn):
    try:
        fn()
        record[key] = np.array("ok")
    except Exception as error:  # the exception type is what both libraries must agree on
        record[key] = np.array(type(error).__name__)


data = rng.normal(size=(64, 5)).astype(np.float32)
with SummaryWriter(logdir, filename_suffix=".main") as writer:
    for step in range(3):
        writer.add_scalar("loss/python", 1.0 / (step + 1), step)
        writer.add_scalar("loss/tensor", torch.tensor(data[step, 0]), step)
        writer.add_scalar("loss/numpy", np.float32(data[step, 1]), np.int64(step))
        writer.add_scalar("loss/int", step * 3, torch.tensor(step))
        writer.add_scalar("loss/new", torch.tensor([data[step, 2]], dtype=torch.float64),
                          step, new_style=True, double_precision=True)
        writer.add_scalars("pair", {"a": float(step), "b": torch.tensor(step * 0.5)}, step,
                           walltime=1000.0 + step)
        writer.add_histogram("weights", torch.from_numpy(data) * (step + 1), step)
    writer.add_histogram("auto", data[:, 0], 0, bins="auto")
    writer.add_scalar("loss/bf16", torch.tensor(1.25, dtype=torch.bfloat16), 0)
    writer.add_histogram("param", torch.tensor(data[:8], requires_grad=True), 0)
    writer.add_histogram("max_bins", data, 0, bins=50, max_bins=7)
    writer.add_histogram("ints", torch.arange(20), 0, bins=5)
    writer.add_histogram("double", torch.from_numpy(data.astype(np.float64)), 0)
    writer.add_histogram_raw("raw", 0.0, 3.0, 6, 9.0, 17.0, [1.0, 2.0, 3.0], [2, 2, 2], 0)
    writer.add_text("note", "deltagrad *markdown* text", 0)
    writer.add_text("note", "second step", 5)
    image = rng.random((3, 6, 5)).astype(np.float32)
    writer.add_image("img/chw", torch.from_numpy(image), 0)
    writer.add_image("img/hwc", image.transpose(1, 2, 0), 0, dataformats="HWC")
    writer.add_image("img/hw", image[0], 0, dataformats="HW")
    writer.add_image("img/uint8", (image * 255).astype(np.uint8), 0)
    writer.add_image("img/over", torch.from_numpy(image * 3 - 1), 0)
    writer.add_images("img/batch", torch.from_numpy(rng.random((3, 1, 4, 4))), 0)
    writer.add_tensor("tensor", torch.tensor([[1.5, 2.0], [3.0, 4.0]]), 0)
    writer.add_hparams({"lr": 0.01, "layers": 3, "opt": "adam", "flag": True, "none": None,
                        "t": torch.tensor([0.5])},
                       {"hparam/acc": 0.75, "hparam/loss": torch.tensor(0.25)},
                       hparam_domain_discrete={"opt": ["adam", "sgd"], "layers": [2, 3]},
                       run_name="hp", global_step=2)
    attempt("scalar_list", lambda: writer.add_scalar("bad", [1.0, 2.0], 0))
    attempt("scalar_vector", lambda: writer.add_scalar("bad", torch.ones(2), 0))
    attempt("hist_empty", lambda: writer.add_histogram("bad", np.zeros(0), 0))
    attempt("hparams_type", lambda: writer.add_hparams([1], {}))
    attempt("hparams_value", lambda: writer.add_hparams({"x": [1]}, {}))
    attempt("image_format", lambda: writer.add_image("bad", image, 0, dataformats="HWC C"))
    attempt("raw_lengths", lambda: writer.add_histogram_raw("bad", 0, 1, 1, 1, 1, [1], [1, 2]))
    writer.flush()
    writer.close()  # closing twice is allowed; a later add_* opens a new file
    writer.add_scalar("after_close", 7.0, 9)

with SummaryWriter(os.path.join(logdir, "purged"), purge_step=5) as writer:
    writer.add_scalar("x", 1.0, 5)
with SummaryWriter(comment="_T17") as writer:
    record["default_dir"] = np.array(writer.get_logdir())
with SummaryWriter(os.path.join(logdir, "embedding")) as writer:
    writer.add_embedding(torch.from_numpy(data[:6, :3]), metadata=list("abcdef"),
                         label_img=torch.from_numpy(rng.random((6, 3, 4, 4))), tag="emb/1")
    writer.add_embedding(data[:4, :2], metadata=[[1, "x"], [2, "y"], [3, "z"], [4, "w"]],
                         metadata_header=["n", "s"], global_step=3)
np.savez(out, **record)
