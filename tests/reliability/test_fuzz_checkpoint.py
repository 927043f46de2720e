"""Hostile input for dg.load: every file loads exactly what was saved, or raises CheckpointError.

What is thrown: checkpoints of random nested objects (dicts, lists, tuples, strings, numbers,
non-finite floats, arrays and Tensors of many dtypes) truncated at every kind of byte, with one
byte changed anywhere (header length, safetensors header, the deltagrad metadata, tensor data),
with a tensor's dtype name swapped for another of the same width, random bytes, and
safetensors files whose deltagrad metadata is hand-made nonsense (wrong JSON types, deep
nesting, bad checksums, versions).

The contract: ``dg.load`` returns an object equal, bit for bit, to the one saved, or raises
CheckpointError (a ValueError) naming the file, in one line. A damaged file never loads as
something else.
"""

import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deltagrad as dg
from deltagrad.serialization import CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=120,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "uint32", "bool"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("checkpoints")


@st.composite
def arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    data = draw(st.binary(min_size=int(np.prod(shape)) * dtype.itemsize,
                          max_size=int(np.prod(shape)) * dtype.itemsize))
    array = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if dtype == np.bool_:
        array = np.asarray(array.view(np.uint8) % 2 == 1)  # only 0 and 1 are booleans
    kind = draw(st.sampled_from(["ndarray", "tensor", "tensor-grad"]))
    if kind == "ndarray":
        return array
    tensor = dg.from_numpy(array)
    if kind == "tensor-grad" and dtype.kind == "f":
        tensor.requires_grad_(True)
    return tensor


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
)
objects = st.recursive(
    st.one_of(scalars, arrays()),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=5), children, max_size=3),
        st.dictionaries(st.integers(-3, 3), children, max_size=2),
    ),
    max_leaves=8,
)


def equal(a, b) -> bool:
    """Same types and values, arrays bit for bit, NaN equal to NaN."""
    if isinstance(a, dg.Tensor):
        return (isinstance(b, dg.Tensor) and a.requires_grad == b.requires_grad
                and equal(a.detach().numpy(), b.detach().numpy()))
    if isinstance(a, np.ndarray):
        return (type(b) is np.ndarray and a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(equal(a[key], b[key]) for key in a)
    return a == b


def load_or_error(path):
    """dg.load, checking the contract for errors; returns None when CheckpointError came."""
    try:
        return dg.load(path)
    except CheckpointError as error:
        message = str(error)
        assert str(path) in message and "\n" not in message, message
        return None


# --- round trip, truncation, changed bytes ---------------------------------------------------


@FUZZ
@given(objects)
def test_round_trip(folder, obj):
    path = folder / "round.safetensors"
    dg.save(obj, path)
    assert equal(obj, dg.load(path))


@FUZZ
@given(objects, st.floats(min_value=0, max_value=1, exclude_max=True))
def test_truncated_anywhere(folder, obj, where):
    path = folder / "cut.safetensors"
    dg.save(obj, path)
    data = path.read_bytes()
    path.write_bytes(data[: int(where * len(data))])
    with pytest.raises(CheckpointError):
        dg.load(path)
    assert load_or_error(path) is None


@FUZZ
@given(objects, st.floats(min_value=0, max_value=1, exclude_max=True),
       st.integers(min_value=1, max_value=255))
def test_one_changed_byte_never_loads_as_something_else(folder, obj, where, mask):
    path = folder / "flip.safetensors"
    dg.save(obj, path)
    data = bytearray(path.read_bytes())
    data[int(where * len(data))] ^= mask
    path.write_bytes(bytes(data))
    loaded = load_or_error(path)
    if loaded is not None:  # harmless: the padding of the header, for example
        assert equal(obj, loaded)


@pytest.mark.parametrize(
    ("saved", "swapped"),
    [("float32", "I32"), ("float32", "U32"), ("int64", "F64"), ("int64", "U64"),
     ("uint8", "I8"), ("int32", "F32"), ("float16", "I16")],
)
def test_a_dtype_swapped_for_one_of_the_same_width_is_caught(folder, saved, swapped):
    path = folder / "dtype.safetensors"
    array = np.arange(6, dtype=saved).reshape(2, 3)
    dg.save({"w": dg.from_numpy(array), "step": 3}, path)
    data = path.read_bytes()
    name = {"float32": b"F32", "int64": b"I64", "uint8": b"U8", "int32": b"I32",
            "float16": b"F16"}[saved]
    assert data.count(b'"dtype":"' + name + b'"') == 1
    path.write_bytes(data.replace(b'"dtype":"' + name + b'"',
                                  b'"dtype":"' + swapped.encode() + b'"'))
    with pytest.raises(CheckpointError):
        dg.load(path)


def test_a_changed_number_in_the_structure_is_caught(folder):
    path = folder / "step.safetensors"
    dg.save({"w": dg.ones(2), "step": 3, "lr": 0.5}, path)
    data = path.read_bytes()
    assert data.count(b'\\"step\\":3') == 1  # JSON in a JSON string: quotes are escaped
    path.write_bytes(data.replace(b'\\"step\\":3', b'\\"step\\":7'))
    with pytest.raises(CheckpointError, match="checksum"):
        dg.load(path)


# --- foreign and hand-made files -----------------------------------------------------------


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(folder, data):
    path = folder / "random.safetensors"
    path.write_bytes(data)
    with pytest.raises(CheckpointError):
        dg.load(path)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=6), st.sampled_from(["$tensor", "$dict", "w", "nan"])),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["$dict", "$items", "$tuple", "$float", "$tensor",
                                         "$ndarray", "$scalar", "requires_grad", "x"]),
                        children, max_size=2),
    ),
    max_leaves=10,
)


@FUZZ
@given(st.one_of(json_values, st.fixed_dictionaries(
    {"version": st.one_of(st.just(1), json_values), "structure": json_values},
    optional={"crc32": st.one_of(json_values, st.fixed_dictionaries({"w": json_values}))})))
def test_hand_made_metadata(folder, header):
    """Nonsense structures: CheckpointError, or some object (never another exception)."""
    path = folder / "made.safetensors"
    safetensors_numpy.save_file({"w": np.arange(3, dtype=np.float32)}, str(path),
                                metadata={"deltagrad": json.dumps(header)})
    load_or_error(path)


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000,
     json.dumps({"version": 1, "structure": {"$dict": {"a": None}}}).replace(
         "null", "[" * 50_000 + "]" * 50_000),
     '{"version": 1, "structure": {"$float": "NaN!"}}',
     '{"version": 1, "structure": {"$items": [[{"$dict": {}}, 1]]}}',
     '{"version": 1, "structure": {"$tensor": "w"}, "crc32": {"w": "x"}}',
     '{"version": 1, "structure": {"$tensor": "w"}, "crc32": [1]}',
     '{"version": "1", "structure": null}'],
    ids=["deep-list", "deep-value", "bad-float", "unhashable-key", "crc-type", "crc-list",
         "version-string"],
)
def test_hostile_metadata_is_a_checkpoint_error(folder, text):
    path = folder / "hostile.safetensors"
    safetensors_numpy.save_file({"w": np.arange(3, dtype=np.float32)}, str(path),
                                metadata={"deltagrad": text})
    with pytest.raises(CheckpointError):
        dg.load(path)


def test_a_huge_declared_header_is_a_checkpoint_error(folder):
    path = folder / "huge.safetensors"
    path.write_bytes((2**62).to_bytes(8, "little") + b"{}")
    with pytest.raises(CheckpointError, match="truncated"):
        dg.load(path)


def test_directories_and_devices_are_not_checkpoints(folder):
    with pytest.raises(FileNotFoundError):
        dg.load(folder)
    if os.path.exists("/dev/zero"):
        with pytest.raises(FileNotFoundError):
            dg.load("/dev/zero")
