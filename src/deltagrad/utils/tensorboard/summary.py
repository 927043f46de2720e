"""Summary protocol buffers for ``deltagrad.utils.tensorboard``: scalars, histograms, images,
text and hyperparameters, built the way ``torch.utils.tensorboard`` builds them (the same
fields, tags and plugin data), so that TensorBoard reads deltagrad's event files as PyTorch's."""

from __future__ import annotations

import io

import numpy as np
from google.protobuf import struct_pb2
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

from ..._engine.dtypes import bfloat16, float16
from ..._engine.tensor import Tensor

__all__ = ["default_bins", "hparams", "histogram", "histogram_raw", "image", "make_np", "scalar",
           "tensor_proto", "text"]


def make_np(value) -> np.ndarray:
    """``value`` (a Tensor, an ndarray or a number) as an ndarray; a number becomes shape (1,).

    Anything else (a list, ...) raises NotImplementedError, as PyTorch's writer does.
    """
    if isinstance(value, np.ndarray):
        return value
    if np.isscalar(value):
        return np.array([value])
    if isinstance(value, Tensor):
        if value.dtype == bfloat16:  # NumPy has no bfloat16: PyTorch logs it as float16
            value = value.to(float16)
        return value.detach().cpu().numpy()
    raise NotImplementedError(f"Got {type(value)}, but numpy array or torch tensor are expected.")


def scalar(tag: str, value, new_style: bool = False, double_precision: bool = False) -> Summary:
    """A one-value Summary (``simple_value``, or a tensor field with ``new_style``)."""
    array = make_np(value).squeeze()
    if array.ndim != 0:
        raise AssertionError(f"Tensor should contain one element (0 dimensions). Was given "
                             f"size: {array.size} and {array.ndim} dimensions.")
    number = float(array)
    if not new_style:
        return Summary(value=[Summary.Value(tag=tag, simple_value=number)])
    if double_precision:
        proto = TensorProto(double_val=[number], dtype="DT_DOUBLE")
    else:
        proto = TensorProto(float_val=[number], dtype="DT_FLOAT")
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
    return Summary(value=[Summary.Value(tag=tag, tensor=proto, metadata=metadata)])


# dtype name -> (TensorProto dtype, field); the dtypes add_tensor can store.
_TENSOR_FIELDS = {"float32": ("DT_FLOAT", "float_val"), "float64": ("DT_DOUBLE", "double_val"),
                  "int32": ("DT_INT32", "int_val"), "int16": ("DT_INT16", "int_val"),
                  "int8": ("DT_INT8", "int_val"), "int64": ("DT_INT64", "int64_val"),
                  "bool": ("DT_BOOL", "bool_val"), "uint8": ("DT_UINT8", "uint32_val")}


def tensor_proto(tag: str, tensor) -> Summary:
    """The whole tensor as a TensorProto (plugin "tensor")."""
    if not isinstance(tensor, Tensor):
        raise AttributeError(f"'{type(tensor).__name__}' object has no attribute 'numel'")
    array = tensor.detach().numpy()
    name = str(array.dtype)
    if name not in _TENSOR_FIELDS:
        raise ValueError(f"{tag} has unsupported tensor dtype {tensor.dtype}")
    dtype, field = _TENSOR_FIELDS[name]
    shape = TensorShapeProto(dim=[TensorShapeProto.Dim(size=size) for size in array.shape])
    proto = TensorProto(dtype=dtype, tensor_shape=shape, **{field: array.reshape(-1).tolist()})
    metadata = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="tensor"))
    return Summary(value=[Summary.Value(tag=tag, metadata=metadata, tensor=proto)])


def default_bins() -> list[float]:
    """PyTorch's "tensorflow" bins: +-1e-12 growing by 1.1 per bucket up to 1e20, and 0."""
    # The limits are built by repeated multiplication (not 1.1 ** k) because that is how
    # PyTorch builds them; the last bits of each limit then agree exactly.
    positive = []
    limit = 1e-12
    while limit < 1e20:
        positive.append(limit)
        limit *= 1.1
    return [-x for x in reversed(positive)] + [0] + positive


def histogram_raw(tag: str, min, max, num, sum, sum_squares, bucket_limits,
                  bucket_counts) -> Summary:
    """A histogram Summary from precomputed statistics and buckets."""
    proto = HistogramProto(min=min, max=max, num=num, sum=sum, sum_squares=sum_squares,
                           bucket_limit=bucket_limits, bucket=bucket_counts)
    return Summary(value=[Summary.Value(tag=tag, histo=proto)])


def histogram(tag: str, values, bins, max_bins: int | None = None) -> Summary:
    """A histogram Summary of ``values`` (any shape) binned by ``numpy.histogram(bins=bins)``."""
    values = make_np(values).astype(float)
    if values.size == 0:
        raise ValueError("The input has no element.")
    values = values.reshape(-1)
    counts, limits = np.histogram(values, bins=bins)
    if max_bins is not None and len(counts) > max_bins:
        counts, limits = _merge_buckets(counts, limits, len(counts) // max_bins)
    # TensorBoard stores right edges only: keep the buckets from the first to the last non-empty
    # one, plus one empty bucket on the left so that the leftmost edge is stored too.
    seen = np.cumsum(counts > 0)
    first, last = np.searchsorted(seen, [0, seen[-1] - 1], side="right")
    first, stop = int(first), int(last) + 1
    if first > 0:
        counts = counts[first - 1:stop]
    else:
        counts = np.concatenate([[0], counts[:stop]])
    limits = limits[first:stop + 1]
    if counts.size == 0 or limits.size == 0:
        raise ValueError("The histogram is empty, please file a bug report.")
    proto = HistogramProto(min=values.min(), max=values.max(), num=len(values),
                           sum=values.sum(), sum_squares=values.dot(values),
                           bucket_limit=limits.tolist(), bucket=counts.tolist())
    return Summary(value=[Summary.Value(tag=tag, histo=proto)])


def _merge_buckets(counts: np.ndarray, limits: np.ndarray, group: int) -> tuple:
    """Sum each run of ``group`` buckets (the last run padded with empty buckets)."""
    remainder = len(counts) % group
    if remainder:
        counts = np.concatenate([counts, np.zeros(group - remainder, counts.dtype)])
    counts = counts.reshape(-1, group).sum(axis=-1)
    merged = np.empty(counts.size + 1, limits.dtype)
    merged[:-1] = limits[:-1:group]
    merged[-1] = limits[-1]
    return counts, merged


def _grid(images: np.ndarray, columns: int = 8) -> np.ndarray:
    """NCHW images (1 or 3 channels) tiled row by row into one CHW image, 3 channels."""
    if images.shape[1] == 1:
        images = np.concatenate([images] * 3, 1)
    if images.ndim != 4 or images.shape[1] != 3:
        raise AssertionError("Input should be a 4D numpy array with 3 channels")
    count, _, height, width = images.shape
    columns = min(count, columns)
    rows = -(-count // columns)
    canvas = np.zeros((3, height * rows, width * columns), dtype=images.dtype)
    for index in range(count):
        row, column = divmod(index, columns)
        canvas[:, row * height:(row + 1) * height,
               column * width:(column + 1) * width] = images[index]
    return canvas


def to_hwc(array: np.ndarray, dataformats: str) -> np.ndarray:
    """An image array in layout ``dataformats`` (NCHW, CHW, HWC, HW, ...) as HWC, 3 channels
    for grey inputs (a batch is tiled into a grid)."""
    if len(set(dataformats)) != len(dataformats):
        raise AssertionError(f"You can not use the same dimension shorthand twice. "
                             f"input_format: {dataformats}")
    if array.ndim != len(dataformats):
        raise AssertionError(f"size of input tensor and input format are different. tensor "
                             f"shape: {array.shape}, input_format: {dataformats}")
    layout = dataformats.upper()
    if len(layout) == 4:
        return _grid(array.transpose([layout.find(c) for c in "NCHW"])).transpose(1, 2, 0)
    if len(layout) == 3:
        hwc = array.transpose([layout.find(c) for c in "HWC"])
        return np.concatenate([hwc] * 3, 2) if hwc.shape[2] == 1 else hwc
    if len(layout) == 2:
        return np.stack([array.transpose([layout.find(c) for c in "HW"])] * 3, 2)
    return None  # (PyTorch's converter returns nothing for other lengths; the caller fails)


def image(tag: str, tensor, rescale: float = 1, dataformats: str = "NCHW") -> Summary:
    """A PNG image Summary; float images are in [0, 1], uint8 images in [0, 255]."""
    hwc = to_hwc(make_np(tensor), dataformats)
    scale = 1 if hwc.dtype == np.uint8 else 255
    pixels = (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    return Summary(value=[Summary.Value(tag=tag, image=_png(pixels, rescale))])


def _png(pixels: np.ndarray, rescale: float) -> Summary.Image:
    from PIL import Image

    height, width, channels = pixels.shape
    picture = Image.fromarray(pixels).resize((int(width * rescale), int(height * rescale)),
                                             Image.Resampling.LANCZOS)
    with io.BytesIO() as buffer:
        picture.save(buffer, format="PNG")
        encoded = buffer.getvalue()
    return Summary.Image(height=height, width=width, colorspace=channels,
                         encoded_image_string=encoded)


def text(tag: str, string: str) -> Summary:
    """A text Summary (plugin "text"), tag ``<tag>/text_summary`` as PyTorch names it."""
    from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

    plugin = SummaryMetadata.PluginData(plugin_name="text",
                                        content=TextPluginData(version=0).SerializeToString())
    proto = TensorProto(dtype="DT_STRING", string_val=[string.encode("utf_8")],
                        tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    return Summary(value=[Summary.Value(tag=tag + "/text_summary",
                                        metadata=SummaryMetadata(plugin_data=plugin),
                                        tensor=proto)])


def _hparams_summary(tag: str, **content) -> Summary:
    from tensorboard.plugins.hparams.metadata import PLUGIN_DATA_VERSION, PLUGIN_NAME
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    data = HParamsPluginData(version=PLUGIN_DATA_VERSION, **content)
    plugin = SummaryMetadata.PluginData(plugin_name=PLUGIN_NAME,
                                        content=data.SerializeToString())
    return Summary(value=[Summary.Value(tag=tag, metadata=SummaryMetadata(plugin_data=plugin))])


def hparams(hparam_dict: dict, metric_dict: dict,
            hparam_domain_discrete: dict | None = None) -> tuple:
    """The hparams plugin's (experiment, session start, session end) Summaries."""
    from tensorboard.plugins.hparams import metadata
    from tensorboard.plugins.hparams.api_pb2 import (
        DataType,
        Experiment,
        HParamInfo,
        MetricInfo,
        MetricName,
        Status,
    )
    from tensorboard.plugins.hparams.plugin_data_pb2 import SessionEndInfo, SessionStartInfo

    for name, value in (("hparam_dict", hparam_dict), ("metric_dict", metric_dict)):
        if not isinstance(value, dict):
            raise TypeError(f"parameter: {name} should be a dictionary, nothing logged.")
    domains = hparam_domain_discrete or {}
    if not isinstance(domains, dict):
        raise TypeError("parameter: hparam_domain_discrete should be a dictionary, nothing "
                        "logged.")
    for key, choices in domains.items():
        if (key not in hparam_dict or not isinstance(choices, list)
                or not all(isinstance(c, type(hparam_dict[key])) for c in choices)):
            raise TypeError(f"parameter: hparam_domain_discrete[{key}] should be a list of "
                            f"same type as hparam_dict[{key}].")
    infos = []
    start = SessionStartInfo()
    for key, value in hparam_dict.items():
        if value is None:
            continue
        # NOTE: bools are ints, so (as in PyTorch) they are logged as the numbers 0.0 / 1.0.
        if isinstance(value, (int, float)):
            start.hparams[key].number_value = value
            field, kind = "number_value", "DATA_TYPE_FLOAT64"
        elif isinstance(value, str):
            start.hparams[key].string_value = value
            field, kind = "string_value", "DATA_TYPE_STRING"
        elif isinstance(value, Tensor):
            start.hparams[key].number_value = make_np(value)[0]
            infos.append(HParamInfo(name=key, type=DataType.Value("DATA_TYPE_FLOAT64")))
            continue
        else:
            raise ValueError("value should be one of int, float, str, bool, or torch.Tensor")
        domain = None
        if key in domains:
            domain = struct_pb2.ListValue(
                values=[struct_pb2.Value(**{field: choice}) for choice in domains[key]])
        infos.append(HParamInfo(name=key, type=DataType.Value(kind), domain_discrete=domain))
    experiment = Experiment(hparam_infos=infos,
                            metric_infos=[MetricInfo(name=MetricName(tag=k))
                                          for k in metric_dict])
    end = SessionEndInfo(status=Status.Value("STATUS_SUCCESS"))
    return (_hparams_summary(metadata.EXPERIMENT_TAG, experiment=experiment),
            _hparams_summary(metadata.SESSION_START_INFO_TAG, session_start_info=start),
            _hparams_summary(metadata.SESSION_END_INFO_TAG, session_end_info=end))
