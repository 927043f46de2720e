"""deltagrad.save / deltagrad.load: safetensors + JSON checkpoints."""

import json
import math
import os

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.serialization import CheckpointError

safetensors_numpy = pytest.importorskip("safetensors.numpy")

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
          "uint32", "uint64", "bool"]


def _array(dtype, shape=(3, 4), seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return rng.uniform(size=shape) > 0.5
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


def _same(a, b):
    """Equal bit for bit (dtype, shape and bytes; nan payloads included)."""
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensors_round_trip_bit_exactly(tmp_path, dtype):
    array = _array(dtype)
    if array.dtype.kind == "f":
        array.reshape(-1)[:3] = [np.nan, np.inf, -0.0]
    path = tmp_path / "t.safetensors"
    dg.save({"t": dg.from_numpy(array), "a": array, "z": array[:0], "s": array[0, 0],
             "0d": np.asarray(array[1, 1])}, path)
    out = dg.load(path)
    assert isinstance(out["t"], dg.Tensor) and _same(out["t"]._data, array)
    assert isinstance(out["a"], np.ndarray) and _same(out["a"], array)
    assert _same(out["z"], array[:0]) and _same(out["0d"], np.asarray(array[1, 1]))
    assert isinstance(out["s"], np.generic) and out["s"].dtype == array.dtype
    assert _same(np.asarray(out["s"]), np.asarray(array[0, 0]))


def test_nested_structure_round_trips(tmp_path):
    w = dg.randn(3, 2)
    obj = {
        "model": {"fc.weight": w, "fc.bias": dg.zeros(2)},
        "optimizer": {"state": {0: {"step": 7, "exp_avg": dg.ones(3, 2)}, 1: {}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                                        "nesterov": False, "maximize": None}]},
        "rng": dg.get_rng_state(),  # PyTorch's 5056-byte uint8 state
        "meta": {"name": "ner – GloVe ✓", "epochs": [1, 2.5, -3], "nan": math.nan,
                 "inf": -math.inf, "big": 2**100, "$tensor": "not a placeholder",
                 (1, "a"): "tuple key", 2.5: "float key", None: "none key", True: "bool key"},
        "tied": [w, w],
        "transposed": np.arange(6.0).reshape(2, 3).T,  # non-contiguous
        "grad": dg.ones(2, requires_grad=True),
        "empty": {}, "nothing": [], "unit": (),
    }
    path = tmp_path / "ckpt.safetensors"
    dg.save(obj, path)
    out = dg.load(path)
    assert out.keys() == obj.keys()
    assert _same(out["model"]["fc.weight"]._data, w._data)
    state = out["optimizer"]["state"]
    assert list(state) == [0, 1] and state[0]["step"] == 7 and state[1] == {}
    group = out["optimizer"]["param_groups"][0]
    assert group == {"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "nesterov": False,
                     "maximize": None}
    assert dg.equal(out["rng"], obj["rng"])
    meta = out["meta"]
    assert math.isnan(meta.pop("nan")) and meta.pop("inf") == -math.inf
    expected = dict(obj["meta"])
    del expected["nan"], expected["inf"]
    assert meta == expected and type(meta[True]) is str and True in meta
    assert out["tied"][0] is out["tied"][1] and _same(out["tied"][0]._data, w._data)
    np.testing.assert_array_equal(out["transposed"], obj["transposed"])
    assert out["grad"].requires_grad and not out["model"]["fc.bias"].requires_grad
    assert out["empty"] == {} and out["nothing"] == [] and out["unit"] == ()
    assert out["model"]["fc.weight"]._data.flags.writeable


def test_model_state_dict_round_trip_and_plain_safetensors_view(tmp_path):
    model = nn.Sequential(nn.Embedding(20, 4), nn.Flatten(), nn.Linear(8, 3))
    path = tmp_path / "weights.safetensors"
    dg.save(model.state_dict(), path)
    other = nn.Sequential(nn.Embedding(20, 4), nn.Flatten(), nn.Linear(8, 3))
    other.load_state_dict(dg.load(path))
    ids = dg.tensor([[1, 2], [3, 19]])
    np.testing.assert_array_equal(model(ids)._data, other(ids)._data)
    # Any safetensors reader sees the weights under their state_dict names.
    flat = safetensors_numpy.load_file(str(path))
    assert sorted(flat) == sorted(model.state_dict())
    np.testing.assert_array_equal(flat["2.weight"], model[2].weight._data)


def test_pytorch_can_load_the_weights(tmp_path):
    torch = pytest.importorskip("torch")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 2))
    path = tmp_path / "weights.safetensors"
    dg.save(model.state_dict(), path)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    theirs.load_state_dict(safetensors_torch.load_file(str(path)))
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_allclose(model(dg.tensor(x))._data,
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-7)


def test_foreign_safetensors_file_loads_as_flat_dict(tmp_path):
    path = tmp_path / "foreign.safetensors"
    arrays = {"encoder.weight": _array("float32"), "mask": _array("bool", (5,))}
    safetensors_numpy.save_file(arrays, str(path), metadata={"format": "pt"})
    out = dg.load(path)
    assert sorted(out) == ["encoder.weight", "mask"]
    assert all(isinstance(v, dg.Tensor) for v in out.values())
    assert _same(out["mask"]._data, arrays["mask"])


def test_the_structure_is_json_in_the_metadata(tmp_path):
    path = tmp_path / "c.safetensors"
    dg.save({"w": dg.ones(2), "epoch": 3}, path)
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        header = json.loads(f.metadata()["deltagrad"])
    assert header["version"] == 1
    assert header["structure"] == {"$dict": {"w": {"$tensor": "w"}, "epoch": 3}}
    assert set(header["crc32"]) == {"w"}


def test_unsupported_values_are_refused_with_their_path(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=r"the value at 'cfg/callbacks/0' is a function"):
        dg.save({"cfg": {"callbacks": [lambda: 0]}}, path)
    with pytest.raises(TypeError, match="is a generator"):  # (sets save since session 9)
        dg.save({"g": (i for i in range(2))}, path)
    with pytest.raises(TypeError, match="dtype object"):
        dg.save(np.array([None]), path)
    assert not path.exists()


# ----------------------------------------------------------------------------------------------
# Atomic writes.


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_write_leaves_the_old_file_intact(tmp_path, monkeypatch, failing):
    path = tmp_path / "ckpt.safetensors"
    dg.save({"version": "old", "w": dg.zeros(3)}, path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, failing, boom)
    with pytest.raises(OSError, match="disk full"):
        dg.save({"version": "new", "w": dg.ones(3)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before and dg.load(path)["version"] == "old"
    assert _leftovers(tmp_path) == []


def test_write_goes_through_a_temporary_file_in_the_same_directory(tmp_path, monkeypatch):
    calls = []
    real_replace = os.replace

    def spy(src, dst):
        calls.append((os.path.dirname(src), os.path.basename(src), dst))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    path = tmp_path / "m.safetensors"
    dg.save({"a": 1}, path)
    (directory, name, destination), = calls
    assert directory == str(tmp_path) and name.endswith(".tmp") and destination == str(path)
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would create it
    assert _leftovers(tmp_path) == []


# ----------------------------------------------------------------------------------------------
# Unreadable files.


@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "good.safetensors"
    dg.save({"w": dg.randn(16, 8), "step": 1}, path)
    return path


def _expect_checkpoint_error(path, match):
    with pytest.raises(CheckpointError, match=match) as info:
        dg.load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_truncated_file(checkpoint):
    data = checkpoint.read_bytes()
    for cut in (len(data) - 7, len(data) // 2, 20, 5, 0):
        checkpoint.write_bytes(data[:cut])
        _expect_checkpoint_error(checkpoint, "truncated|too short|header")


def test_corrupted_tensor_data_fails_its_checksum(checkpoint):
    data = bytearray(checkpoint.read_bytes())
    data[-10] ^= 0xFF
    checkpoint.write_bytes(bytes(data))
    _expect_checkpoint_error(checkpoint, "tensor 'w' does not match its checksum")


def test_corrupted_header(checkpoint):
    data = bytearray(checkpoint.read_bytes())
    data[8:20] = b"\x00garbage!!\xff\xfe"
    checkpoint.write_bytes(bytes(data))
    _expect_checkpoint_error(checkpoint, "cannot read checkpoint")


def test_corrupted_deltagrad_metadata(tmp_path):
    path = tmp_path / "bad.safetensors"
    safetensors_numpy.save_file({"w": np.zeros(2)}, str(path), metadata={"deltagrad": "{oops"})
    _expect_checkpoint_error(path, "metadata is not valid JSON")
    structure = json.dumps({"version": 1, "structure": {"$tensor": "missing"}})
    safetensors_numpy.save_file({"w": np.zeros(2)}, str(path), metadata={"deltagrad": structure})
    _expect_checkpoint_error(path, "refers to a tensor 'missing'")
    structure = json.dumps({"version": 1, "structure": {"$dict": 5}})
    safetensors_numpy.save_file({"w": np.zeros(2)}, str(path), metadata={"deltagrad": structure})
    _expect_checkpoint_error(path, "corrupted checkpoint")
    newer = json.dumps({"version": 99, "structure": None})
    safetensors_numpy.save_file({"w": np.zeros(2)}, str(path), metadata={"deltagrad": newer})
    _expect_checkpoint_error(path, "format version 99 is not supported")


@pytest.mark.parametrize("content", [b"PK\x03\x04" + b"\x00" * 200, b"hello, world\n" * 20,
                                     b"\x80\x04\x95" + b"\x00" * 64],
                         ids=["zip", "text", "pickle"])
def test_foreign_files(tmp_path, content):
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    _expect_checkpoint_error(path, "cannot read checkpoint")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        dg.load(tmp_path / "nope.safetensors")


# ----------------------------------------------------------------------------------------------
# File objects, map_location and weights_only (PyTorch's signature).


def test_save_and_load_through_file_objects(tmp_path):
    import io

    model = nn.Linear(3, 2)
    buffer = io.BytesIO()
    dg.save({"model": model.state_dict(), "step": 7}, buffer)
    buffer.seek(0)
    loaded = dg.load(buffer, map_location="cpu", weights_only=True)
    assert loaded["step"] == 7
    np.testing.assert_array_equal(loaded["model"]["weight"].numpy(), model.weight.detach().numpy())
    with open(tmp_path / "ckpt.pt", "wb") as f:
        dg.save([dg.arange(3)], f)
    with open(tmp_path / "ckpt.pt", "rb") as f:
        assert dg.load(f, map_location=dg.device("cpu"))[0].tolist() == [0, 1, 2]
    assert dg.load(tmp_path / "ckpt.pt", map_location={"cuda:0": "cpu"})[0].tolist() == [0, 1, 2]
    assert dg.load(tmp_path / "ckpt.pt", map_location=lambda storage, loc: storage)[0].numel() == 3


def test_load_from_a_file_object_reports_corruption():
    import io

    buffer = io.BytesIO()
    dg.save({"w": dg.ones(4)}, buffer)
    data = bytearray(buffer.getvalue())
    with pytest.raises(CheckpointError, match="does not start with a safetensors header"):
        dg.load(io.BytesIO(b"not a checkpoint at all"))
    with pytest.raises(CheckpointError, match="truncated"):
        dg.load(io.BytesIO(bytes(data[:-3])))
    data[-1] ^= 0xFF  # a flipped bit in the tensor data
    with pytest.raises(CheckpointError, match="checksum"):
        dg.load(io.BytesIO(bytes(data)))


def test_load_refuses_a_map_location_off_the_cpu(tmp_path):
    dg.save({"w": dg.ones(1)}, tmp_path / "c.safetensors")
    for where in ("cuda", "cuda:1", dg.device("mps"), {"cpu": "cuda:0"}):
        with pytest.raises(RuntimeError, match="deltagrad runs on the CPU"):
            dg.load(tmp_path / "c.safetensors", map_location=where)


def test_saving_a_sparse_gradient_asks_for_to_dense(tmp_path):
    emb = nn.Embedding(4, 2, sparse=True)
    emb(dg.tensor([1, 1])).sum().backward()
    with pytest.raises(TypeError, match="to_dense"):
        dg.save({"g": emb.weight.grad}, tmp_path / "g.safetensors")
    dg.save({"g": emb.weight.grad.to_dense()}, tmp_path / "g.safetensors")
    assert dg.load(tmp_path / "g.safetensors")["g"][1].tolist() == [2.0, 2.0]
