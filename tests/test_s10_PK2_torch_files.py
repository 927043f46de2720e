"""deltagrad.load reads PyTorch's own checkpoints (torch.save's zip and legacy formats) with
PyTorch's weights-only semantics and without running code from the file."""

from __future__ import annotations

import collections
import io
import os
import pickle

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.serialization import CheckpointError

torch = pytest.importorskip("torch")

FORMATS = {"zip": True, "legacy": False}
HERE = os.path.dirname(os.path.abspath(__file__))
LPIPS_WEIGHTS = os.path.join(os.path.dirname(HERE), ".venv", "tv-extra", "lpips", "weights",
                             "v0.1")


def save(obj, folder, fmt: str, name="ckpt.pt") -> str:
    path = os.path.join(folder, f"{fmt}_{name}")
    torch.save(obj, path, _use_new_zipfile_serialization=FORMATS[fmt])
    return path


def as_numpy(t) -> np.ndarray:
    if t.dtype in (torch.bfloat16, dg.bfloat16):
        t = t.float()
    return t.detach().numpy()


def assert_same(real, ours, where="obj"):
    """Structure, types, values, dtypes, shapes, strides, requires_grad, Parameter-ness."""
    if isinstance(real, torch.Tensor):
        assert isinstance(ours, dg.Tensor), where
        assert str(ours.dtype).rpartition(".")[2] == str(real.dtype).rpartition(".")[2], where
        assert tuple(ours.shape) == tuple(real.shape), where
        if real.numel() > 1 or real.numel() == 0:
            assert ours.stride() == real.stride(), where
        if real.numel() > 0:
            assert ours.storage_offset() == real.storage_offset(), where
        assert ours.requires_grad == real.requires_grad, where
        assert isinstance(ours, dg.nn.Parameter) == isinstance(real, torch.nn.Parameter), where
        np.testing.assert_array_equal(as_numpy(ours), as_numpy(real), err_msg=where)
        assert ours.__dict__.keys() == real.__dict__.keys() - {"_backward_hooks"}, where
        return
    if isinstance(real, torch.dtype):
        assert str(ours).rpartition(".")[2] == str(real).rpartition(".")[2]
        return
    if isinstance(real, torch.Size):
        assert isinstance(ours, dg.Size) and tuple(ours) == tuple(real), where
        return
    assert type(ours) is type(real), f"{where}: {type(ours)} vs {type(real)}"
    if isinstance(real, dict):
        assert list(ours) == list(real), where
        for key in real:
            assert_same(real[key], ours[key], f"{where}[{key!r}]")
        assert getattr(ours, "_metadata", None) == getattr(real, "_metadata", None), where
    elif isinstance(real, (list, tuple)):
        assert len(ours) == len(real), where
        for i, (a, b) in enumerate(zip(real, ours)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(real, float) and real != real:
        assert ours != ours, where
    else:
        assert ours == real, where


def variety():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(4, 5, generator=g)
    sd = collections.OrderedDict()
    sd["f32"] = base
    sd["f64"] = torch.randn(3, generator=g, dtype=torch.float64)
    sd["f16"] = torch.randn(2, 3, generator=g).half()
    sd["bf16"] = torch.randn(2, 3, generator=g).bfloat16()
    sd["i64"] = torch.arange(-3, 3)
    sd["i32"] = torch.arange(4, dtype=torch.int32).reshape(2, 2)
    sd["i16"] = torch.tensor([-7, 7], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True])
    sd["c64"] = torch.randn(3, generator=g, dtype=torch.complex64)
    sd["c128"] = torch.randn(2, 2, generator=g, dtype=torch.complex128)
    sd["zero_d"] = torch.tensor(3.5)
    sd["empty"] = torch.zeros(0, 3)
    sd["empty_t"] = torch.zeros(0, 3).t()
    sd["transposed"] = base.t()  # views of one storage
    sd["sliced"] = base[1:, 2:]
    sd["strided"] = base[:, ::2]
    sd["grad"] = torch.ones(2, requires_grad=True)
    sd["nested"] = {"list": [torch.ones(1), 2, 3.5, "s", None, True],
                    "tuple": (torch.zeros(2, dtype=torch.int64), float("nan"), -1),
                    "deep": {"x": [{"y": torch.full((2,), 7.0)}]}}
    sd["dtype"] = torch.float16
    sd["size"] = torch.Size([2, 3])
    sd["bytes"] = b"\x00\xffab"
    sd["set"] = {1, 2}
    sd["complex"] = 1 + 2j
    sd._metadata = collections.OrderedDict({"": {"version": 1}, "fc": {"version": 2}})
    return sd


@pytest.mark.parametrize("fmt", FORMATS)
def test_state_dict_of_every_dtype_loads_equal(tmp_path, fmt):
    sd = variety()
    path = save(sd, tmp_path, fmt)
    assert_same(torch.load(path), dg.load(path))
    with open(path, "rb") as f:  # a file object too
        assert_same(torch.load(path), dg.load(f))


@pytest.mark.parametrize("fmt", FORMATS)
def test_views_share_memory_as_in_torch(tmp_path, fmt):
    base = torch.arange(12.0).reshape(3, 4)
    path = save({"a": base, "t": base.t(), "s": base[1:, 1:], "other": base.clone()}, tmp_path,
                fmt)
    real, ours = torch.load(path), dg.load(path)
    for loaded in (real, ours):
        loaded["a"].mul_(10)
    assert_same(real, ours)
    assert ours["t"][1, 2].item() == 90.0 and ours["other"][2, 1].item() == 9.0


@pytest.mark.parametrize("fmt", FORMATS)
def test_parameters_modules_and_optimizer_state(tmp_path, fmt):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(5, 3)).sum().backward()
    optimizer.step()
    param = torch.nn.Parameter(torch.randn(2, 2))
    frozen = torch.nn.Parameter(torch.ones(3), requires_grad=False)
    obj = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "param": param,
           "frozen": frozen, "epoch": 3}
    path = save(obj, tmp_path, fmt)
    real, ours = torch.load(path), dg.load(path)
    assert_same(real, ours)
    dg_model = dg.nn.Sequential(dg.nn.Linear(3, 4), dg.nn.BatchNorm1d(4))
    dg_model.load_state_dict(ours["model"])
    np.testing.assert_array_equal(dg_model[0].weight.detach().numpy(),
                                  model[0].weight.detach().numpy())


def test_tensor_attributes_survive(tmp_path):
    t = torch.ones(2)
    t.note = "kept"
    path = save({"t": t}, tmp_path, "zip")
    assert dg.load(path)["t"].note == "kept" == torch.load(path)["t"].note


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("weights_only", [True, False])
def test_malicious_files_run_nothing(tmp_path, fmt, weights_only):
    marker = tmp_path / "pwned"
    path = save({"w": torch.ones(2), "evil": Evil(marker)}, tmp_path, fmt)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        dg.load(path, weights_only=weights_only)
    assert not marker.exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_globals_outside_the_allow_list_are_refused(tmp_path, fmt):
    import argparse
    path = save({"args": argparse.Namespace(lr=0.1)}, tmp_path, fmt)
    with pytest.raises(pickle.UnpicklingError):  # torch refuses it too
        torch.load(path)
    with pytest.raises(pickle.UnpicklingError, match="argparse.Namespace"):
        dg.load(path)
    with pytest.raises(pickle.UnpicklingError, match="argparse.Namespace"):
        dg.load(path, weights_only=False)  # (would call it: deltagrad never does)
    path = save({"f": frozenset({1})}, tmp_path, fmt, "frozen.pt")
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    with pytest.raises(pickle.UnpicklingError, match="frozenset"):
        dg.load(path)
    assert dg.load(path, weights_only=False) == torch.load(path, weights_only=False)


def test_numpy_values_need_weights_only_false(tmp_path):
    path = save({"best": np.float64(0.25), "arr": np.arange(3)}, tmp_path, "zip")
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)
    with pytest.raises(pickle.UnpicklingError):
        dg.load(path)
    real, ours = torch.load(path, weights_only=False), dg.load(path, weights_only=False)
    assert ours["best"] == real["best"] and type(ours["best"]) is type(real["best"])
    np.testing.assert_array_equal(ours["arr"], real["arr"])


@pytest.mark.parametrize("fmt", FORMATS)
def test_map_location(tmp_path, fmt):
    path = save({"w": torch.arange(3.0)}, tmp_path, fmt)
    for location in ("cpu", dg.device("cpu"), {"cpu": "cpu"}, lambda storage, loc: storage):
        assert dg.load(path, map_location=location)["w"].tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(RuntimeError):
        torch.load(path, map_location="cuda")
    with pytest.raises(RuntimeError):
        dg.load(path, map_location="cuda")


def test_mmap(tmp_path):
    path = save(variety(), tmp_path, "zip")
    before = open(path, "rb").read()
    ours = dg.load(path, mmap=True)
    assert_same(torch.load(path, mmap=True), ours)
    ours["f32"].zero_()  # (copy-on-write: the file keeps its bytes)
    assert open(path, "rb").read() == before and ours["transposed"].sum().item() == 0
    legacy = save(variety(), tmp_path, "legacy")
    with pytest.raises(RuntimeError):
        torch.load(legacy, mmap=True)
    with pytest.raises(RuntimeError):
        dg.load(legacy, mmap=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_files_are_checkpoint_errors(tmp_path, fmt):
    path = save(variety(), tmp_path, fmt)
    data = open(path, "rb").read()
    for cut in (len(data) // 3, len(data) - 5):
        with pytest.raises(CheckpointError):
            dg.load(io.BytesIO(data[:cut]))


@pytest.mark.skipif(not os.path.isdir(LPIPS_WEIGHTS), reason="lpips is not in .venv/tv-extra")
def test_lpips_shipped_weights(tmp_path):
    for name in ("alex.pth", "vgg.pth", "squeeze.pth"):
        path = os.path.join(LPIPS_WEIGHTS, name)
        assert_same(torch.load(path, map_location="cpu"), dg.load(path, map_location="cpu"))


def test_big_endian_zip_records(tmp_path):
    # A file written on a big-endian machine: its "byteorder" record says so.
    import zipfile

    path = save({"w": torch.arange(6.0).reshape(2, 3), "c": torch.tensor([1 + 2j])}, tmp_path,
                "zip")
    swapped = tmp_path / "big.pt"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(swapped, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith("/byteorder"):
                data = b"big"
            elif "/data/" in info.filename:  # (both storages hold 4-byte floats)
                data = np.frombuffer(data, dtype="<f4").astype(">f4").tobytes()
            target.writestr(info, data)
    assert_same(torch.load(swapped), dg.load(swapped))


def _rewrite_pickle(path, folder, data_pkl: bytes):
    import zipfile

    out = os.path.join(folder, "rewritten.pt")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, data_pkl if info.filename.endswith("/data.pkl")
                            else source.read(info))
    return out


def test_file_cannot_alter_shared_objects(tmp_path):
    # GLOBAL torch.float32, then BUILD {"evil": 1} on it: a global object must stay untouched
    path = save({"w": torch.ones(1)}, tmp_path, "zip")
    evil = b"\x80\x02ctorch\nfloat32\n}X\x04\x00\x00\x00evilK\x01sb."
    with pytest.raises(CheckpointError, match="sets the state"):
        dg.load(_rewrite_pickle(path, tmp_path, evil))
    assert not hasattr(dg.float32, "evil")


class Point:
    def __init__(self, x):
        self.x = x

    def __eq__(self, other):
        return type(other) is Point and other.x == self.x


def test_allow_listed_classes_load(tmp_path):
    path = save({"p": Point(torch.ones(2)), "n": Point(3)}, tmp_path, "zip")
    with pytest.raises(pickle.UnpicklingError, match="Point"):
        dg.load(path)
    with torch.serialization.safe_globals([Point]):
        real = torch.load(path)
    with dg.serialization.safe_globals([Point]):
        ours = dg.load(path)
    assert ours["n"] == real["n"]
    assert_same(real["p"].x, ours["p"].x)
