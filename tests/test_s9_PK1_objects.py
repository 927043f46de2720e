"""save / load of plain Python objects (session 9, PK1), against PyTorch's torch.save/torch.load.

deltagrad writes such objects as JSON data (classes and functions by reference, state as data),
never pickle; load refuses them with PyTorch's UnpicklingError unless ``weights_only=False`` or
the classes are allow-listed, and otherwise rebuilds them as pickle does.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import enum
import functools
import io
import json
import math
import pickle
import threading

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.serialization import CheckpointError

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")


class Color(enum.Enum):
    RED = 1
    BLUE = 2


@dataclasses.dataclass
class Config:
    lr: float = 1e-3
    layers: list = dataclasses.field(default_factory=lambda: [8, 4])
    color: Color = Color.BLUE


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __eq__(self, other):
        return type(other) is Slotted and (self.a, self.b) == (other.a, other.b)


class Stateful:
    """A class with __getstate__ / __setstate__ (the state is not its __dict__)."""

    def __init__(self, n):
        self.n = n
        self.cache = object()  # not saved: __getstate__ leaves it out

    def __getstate__(self):
        return {"n": self.n}

    def __setstate__(self, state):
        self.n = state["n"]
        self.cache = "rebuilt"

    def __eq__(self, other):
        return type(other) is Stateful and other.n == self.n


Point = collections.namedtuple("Point", "x y")


def _objects():
    """Name -> object; built fresh for each library (tensors are made by the caller)."""
    return {
        "namespace": argparse.Namespace(lr=0.1, name="run", steps=[1, 2], flag=None),
        "dataclass": Config(),
        "enum": Color.RED,
        "slots": Slotted(1, (2, "x")),
        "stateful": Stateful(5),
        "defaultdict": collections.defaultdict(list, {"a": [1]}),
        "ordered": collections.OrderedDict([("b", 1), ("a", 2)]),
        "counter": collections.Counter("abca"),
        "set": {1, "two", (3, 4)},
        "frozenset": frozenset({1, 2}),
        "bytes": b"\x00\xffdata",
        "bytearray": bytearray(b"xy"),
        "complex": complex(1.5, -2.0),
        "range": range(2, 9, 3),
        "slice": slice(1, None, 2),
        "function": math.hypot,
        "class": Config,
        "partial": functools.partial(max, 3),
        "namedtuple": Point(1, 2.5),
        "np_dtype": np.dtype("float32"),
        "np_scalar": np.float32(2.5),
    }


def _round_trip(lib, obj, **load_args):
    buffer = io.BytesIO()
    lib.save(obj, buffer)
    buffer.seek(0)
    return lib.load(buffer, **load_args)


def _outcome(lib, obj, **load_args):
    """(type name, value) of what load returns, or the exception's class."""
    try:
        out = _round_trip(lib, obj, **load_args)
    except pickle.UnpicklingError as error:
        return ("UnpicklingError", str(error).count("weights_only"))
    if isinstance(out, functools.partial):  # (partials do not compare equal)
        return ("partial", out.func, out.args, out.keywords)
    return (type(out).__name__, out)


@pytest.mark.parametrize("name", sorted(_objects()))
def test_objects_load_as_torch_loads_them(name):
    """weights_only=False rebuilds each object as PyTorch's does; the default (weights_only
    =True) loads or refuses (UnpicklingError naming weights_only) as PyTorch's does."""
    ours, theirs = _objects()[name], _objects()[name]
    assert _outcome(dg, ours, weights_only=False) == _outcome(torch, theirs, weights_only=False)
    mine, reference = _outcome(dg, ours), _outcome(torch, theirs)
    if name == "np_scalar":  # deliberate: numpy data loads weights-only here (no code to run)
        assert reference[0] == "UnpicklingError" and mine == ("float32", np.float32(2.5))
        return
    assert mine[0] == reference[0]
    if mine[0] == "UnpicklingError":
        assert mine[1] >= 1  # the message names weights_only
    else:
        assert mine == reference


def test_refusal_names_the_class_and_weights_only_false():
    buffer = io.BytesIO()
    dg.save({"args": argparse.Namespace(a=1), "w": dg.ones(2)}, buffer)
    buffer.seek(0)
    with pytest.raises(pickle.UnpicklingError,
                       match=r"argparse\.Namespace.*weights_only=False.*add_safe_globals"):
        dg.load(buffer)


def test_safe_globals_allow_listed_classes_load_weights_only():
    obj = {"args": argparse.Namespace(a=1, color=Color.BLUE), "cfg": Config(lr=0.5)}
    classes = [argparse.Namespace, Color, Config]
    for lib in (dg, torch):
        with lib.serialization.safe_globals(classes):
            out = _round_trip(lib, obj)
        assert out == obj
        with pytest.raises(pickle.UnpicklingError):  # only inside the block
            _round_trip(lib, obj)
    dg.serialization.add_safe_globals([(argparse.Namespace, "argparse.Namespace")])
    try:
        assert _round_trip(dg, argparse.Namespace(b=2)) == argparse.Namespace(b=2)
    finally:
        dg.serialization.clear_safe_globals()


def test_weights_only_defaults_follow_pickle_module(monkeypatch):
    obj = argparse.Namespace(a=1)
    for lib in (dg, torch):  # an explicit pickle_module means weights_only=False
        assert _round_trip(lib, obj, pickle_module=pickle) == obj
        with pytest.raises(RuntimeError, match="explicit pickle_module"):
            _round_trip(lib, obj, pickle_module=pickle, weights_only=True)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    assert _round_trip(dg, obj) == obj
    with pytest.raises(pickle.UnpicklingError):
        _round_trip(dg, obj, weights_only=True)


def _models():
    dg.manual_seed(0)
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4),
                                 torch.nn.ReLU(), torch.nn.Linear(4, 2))
    theirs.load_state_dict({k: torch.tensor(v.detach().numpy())
                            for k, v in ours.state_dict().items()})
    ours[3].bias.requires_grad_(False)
    theirs[3].bias.requires_grad_(False)
    return ours, theirs


def test_whole_module_round_trip():
    """torch.save(model) / torch.load(weights_only=False): a working module with the same
    parameters (values, requires_grad, Parameter type), buffers and outputs."""
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    for lib, model in zip((dg, torch), _models()):
        with pytest.raises(pickle.UnpicklingError):
            _round_trip(lib, model)
        loaded = _round_trip(lib, model, weights_only=False)
        assert type(loaded) is type(model) and loaded is not model
        assert [type(m) for m in loaded] == [type(m) for m in model]
        for (name, p), (name2, q) in zip(model.named_parameters(), loaded.named_parameters()):
            assert name == name2 and isinstance(q, lib.nn.Parameter)
            assert q.requires_grad == p.requires_grad and q.grad is None
            np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())
        assert len(list(loaded.parameters())) == 6  # (the frozen bias is still a parameter)
        np.testing.assert_array_equal(loaded[1].running_mean.numpy(),
                                      model[1].running_mean.numpy())
        out = loaded(lib.tensor(x))
        np.testing.assert_allclose(out.detach().numpy(), model(lib.tensor(x)).detach().numpy())
        out.sum().backward()
        assert loaded[0].weight.grad is not None and loaded[3].bias.grad is None
        loaded.eval()
        assert not loaded[1].training


def test_shared_references_and_cycles():
    """Identity survives as pickle's memo keeps it: a list saved twice, a cycle, tied weights,
    and a parameter saved in its module and in a state_dict (one memory)."""
    for lib in (dg, torch):
        model = lib.nn.Linear(2, 2)
        model.tied = model.weight  # (registered under a second name: one parameter)
        shared = [1, 2]
        cycle = {"name": "node"}
        cycle["self"] = cycle
        obj = {"model": model, "state": model.state_dict(), "a": shared, "b": shared,
               "cycle": cycle, "pair": (shared, shared)}
        out = _round_trip(lib, obj, weights_only=False)
        assert out["a"] is out["b"] is out["pair"][0] is out["pair"][1]
        assert out["cycle"]["self"] is out["cycle"]
        assert out["model"].tied is out["model"].weight
        state = out["state"]["weight"]
        assert state is not out["model"].weight
        with lib.no_grad():
            out["model"].weight.add_(1.0)
        np.testing.assert_array_equal(state.numpy(), out["model"].weight.detach().numpy())


def test_plain_data_files_stay_version_1(tmp_path):
    path = tmp_path / "sd.safetensors"
    dg.save(nn.Linear(2, 2).state_dict(), path)
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        assert json.loads(f.metadata()["deltagrad"])["version"] == 1
    dg.save({"args": argparse.Namespace(a=1)}, path)
    with safe_open(str(path), framework="numpy") as f:
        header = json.loads(f.metadata()["deltagrad"])
    assert header["version"] == 2
    assert header["structure"]["$dict"]["args"]["$object"] == "argparse:Namespace"


def test_version_1_files_keep_their_meaning(tmp_path):
    """A file written before version 2: one key twice loads as one Tensor object (tied)."""
    import safetensors.numpy

    structure = {"$dict": {"a": {"$tensor": "w"}, "b": {"$tensor": "w"}}}
    path = tmp_path / "old.safetensors"
    safetensors.numpy.save_file({"w": np.ones(2, np.float32)}, str(path),
                                metadata={"deltagrad": json.dumps({"version": 1,
                                                                   "structure": structure})})
    out = dg.load(path)
    assert out["a"] is out["b"] and out["a"].tolist() == [1.0, 1.0]


def _local_class():
    class Local:
        pass
    return Local()


@pytest.mark.parametrize("value, kind", [
    (lambda: 0, "is a function"),
    ((i for i in range(3)), "is a generator"),
    (threading.Lock(), "is a lock"),
    (_local_class(), "is a Local"),
], ids=["lambda", "generator", "lock", "local_class"])
def test_unrepresentable_objects_raise_naming_their_path(tmp_path, value, kind):
    path = tmp_path / "x.pt"
    # PyTorch refuses them too, with pickle's various errors
    with pytest.raises((TypeError, AttributeError, pickle.PicklingError)):
        torch.save({"cfg": [value]}, io.BytesIO())
    with pytest.raises(TypeError, match=rf"the value at 'cfg/0' {kind}"):
        dg.save({"cfg": [value]}, path)
    assert not path.exists()


def test_missing_class_on_load_raises_as_pickle(monkeypatch):
    buffer = io.BytesIO()
    dg.save(Config(), buffer)
    monkeypatch.delattr(__import__(__name__), "Config")
    buffer.seek(0)
    with pytest.raises(AttributeError):
        dg.load(buffer, weights_only=False)


@pytest.mark.parametrize("zipped", [True, False], ids=["zip", "legacy"])
def test_pytorch_pickle_checkpoint_loads(tmp_path, zipped):
    # (s10: PyTorch's checkpoints load, see tests/test_s10_PK2_torch_files.py)
    path = tmp_path / "model.pt"
    state = torch.nn.Linear(2, 2).state_dict()
    torch.save(state, path, _use_new_zipfile_serialization=zipped)
    loaded = dg.load(path)
    assert list(loaded) == list(state)
    for key in state:
        np.testing.assert_array_equal(loaded[key].numpy(), state[key].numpy())


def test_corrupted_reference_is_reported(tmp_path):
    import safetensors.numpy

    path = tmp_path / "bad.safetensors"
    structure = {"version": 2, "structure": [{"$ref": 7}]}
    safetensors.numpy.save_file({"w": np.zeros(1)}, str(path),
                                metadata={"deltagrad": json.dumps(structure)})
    with pytest.raises(CheckpointError, match="reference to object 7"):
        dg.load(path)
