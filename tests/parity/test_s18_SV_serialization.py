"""Differential checks of save / load (and pickle, copy.deepcopy) against PyTorch: the same
objects built by both libraries, round-tripped by each, must load back alike: values, dtype,
shape, strides, storage offset, contiguity, requires_grad, Parameter or not, and which loaded
tensors share memory (a write to one shows in which others).

deltagrad writes safetensors files (never pickle), so files cross one way only: PyTorch's
torch.save files load in deltagrad (checked here with and without mmap); deltagrad's files are
not PyTorch's to read."""

import copy
import io
import pickle
from collections import OrderedDict

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64",
          "uint8", "bool", "complex64", "complex128"]


def _views(T):
    base = T.arange(24, dtype=T.float32).reshape(4, 6)
    return {"base": base, "t": base.t(), "step": base[:, ::2], "narrow": base.narrow(1, 1, 3),
            "diag": base[:, :4].diagonal(), "offs": base[1:, 2:], "flat": base.view(-1)[5:],
            "row": base[2], "elem": base[1, 2], "col_step": base[::3, 1::2],
            "expand": base[0, :3].reshape(3, 1).expand(3, 4)}


def _dtypes(T):
    out = {}
    for name in DTYPES:
        t = (T.arange(12).reshape(3, 4) % 3).to(getattr(T, name))
        out[name] = [t, t.t(), t[1:, ::2]]
    return out


def _tied_model(T):
    model = T.nn.Sequential(T.nn.Embedding(5, 4), T.nn.Linear(4, 5))
    model[1].weight = model[0].weight  # (tied input / output embeddings)
    with T.no_grad():  # (the same values in both libraries)
        model[0].weight.copy_(T.arange(20.).reshape(5, 4) / 8)
        model[1].bias.copy_(T.arange(5.))
    return model


def _checkpoint(T):
    model = _tied_model(T)
    return {"model": model.state_dict(), "step": 3,
            "extra": OrderedDict(w=model[0].weight, wt=model[0].weight.detach().t())}


def _leaves(T):
    x = T.arange(6.).reshape(2, 3)
    return {"param": T.nn.Parameter(T.ones(2, 2)), "rg": T.ones(3, requires_grad=True),
            "zero_d": T.tensor(2.5), "empty": T.zeros(0, 3), "cplx": T.tensor([1 + 2j, 3 - 1j]),
            "lst": [x, x.view(-1)[1:], (x[1], x.t())]}


CASES = {"views": _views, "dtypes": _dtypes, "checkpoint": _checkpoint, "leaves": _leaves}


def _flat(obj, out):
    if isinstance(obj, dict):
        for value in obj.values():
            _flat(value, out)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            _flat(value, out)
    elif hasattr(obj, "stride"):
        out.append(obj)
    return out


def _values(t):
    t = t.detach()
    if t.dtype in (torch.bfloat16, dg.bfloat16):
        t = t.float()
    return t.tolist()


def _describe(loaded, T):
    """Each loaded tensor's layout and values, then for each one that can be written, which
    others see the write (PyTorch's sharing of storages)."""
    leaves = _flat(loaded, [])
    rows = [(str(t.dtype).rpartition(".")[2], tuple(t.shape), tuple(t.stride()),
             t.storage_offset(), t.is_contiguous(), t.requires_grad,
             isinstance(t, T.nn.Parameter), _values(t)) for t in leaves]
    seen = []
    with T.no_grad():
        for i, t in enumerate(leaves):
            if 0 in t.stride() or t.numel() == 0 or t.dtype == T.bool:
                continue  # (expanded: writing is refused; nothing to write; bool: no add_)
            before = [_values(u) for u in leaves]
            t.add_(1)
            seen.append((i, [j for j, u in enumerate(leaves)
                             if j != i and _values(u) != before[j]]))
    return rows, seen


def _through_save(T, obj, **load_args):
    buffer = io.BytesIO()
    T.save(obj, buffer)
    buffer.seek(0)
    return T.load(buffer, **load_args)


def _through_file(T, obj, path, **load_args):
    T.save(obj, path)
    return T.load(path, **load_args)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("load_args", [{}, {"weights_only": False}, {"map_location": "cpu"}],
                         ids=["weights_only", "full", "map_location"])
def test_save_load_matches_pytorch(case, load_args):
    expected = _describe(_through_save(torch, CASES[case](torch), **load_args), torch)
    got = _describe(_through_save(dg, CASES[case](dg), **load_args), dg)
    assert got == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_save_load_file_mmap_matches_pytorch(case, tmp_path):
    expected = _describe(_through_file(torch, CASES[case](torch), tmp_path / "t.pt", mmap=True),
                         torch)
    got = _describe(_through_file(dg, CASES[case](dg), tmp_path / "d.pt", mmap=True), dg)
    assert got == expected


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("case", sorted(CASES))
def test_pytorch_files_load_alike(case, mmap, tmp_path):
    path = tmp_path / "torch.pt"
    torch.save(CASES[case](torch), path)
    expected = _describe(torch.load(path, mmap=mmap), torch)
    assert _describe(dg.load(path, mmap=mmap), dg) == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_deepcopy_matches_pytorch(case):
    expected = _describe(copy.deepcopy(CASES[case](torch)), torch)
    assert _describe(copy.deepcopy(CASES[case](dg)), dg) == expected


@pytest.mark.parametrize("case", sorted(CASES))
def test_pickle_matches_pytorch(case):
    expected = _describe(pickle.loads(pickle.dumps(CASES[case](torch))), torch)
    assert _describe(pickle.loads(pickle.dumps(CASES[case](dg))), dg) == expected


def test_tied_module_saved_whole_stays_tied():
    """A whole Module (weights_only=False) loads with its tied weights one Parameter."""
    for T in (torch, dg):
        model = _through_save(T, _tied_model(T), weights_only=False)
        assert model[1].weight is model[0].weight
        assert isinstance(model[0].weight, T.nn.Parameter)


def test_view_file_is_refused_by_a_reader_without_views():
    """A file with views is written as format version 3, so a deltagrad that knows only
    version 2 refuses it (it would load the storage where the view was)."""
    from deltagrad import serialization

    buffer = io.BytesIO()
    dg.save({"t": dg.ones(2, 3).t()}, buffer)
    plain = io.BytesIO()
    dg.save({"t": dg.ones(3, 2)}, plain)
    old = serialization.FORMAT_VERSION
    try:
        serialization.FORMAT_VERSION = 2
        with pytest.raises(serialization.CheckpointError, match="version 3"):
            dg.load(io.BytesIO(buffer.getvalue()))
        assert dg.load(io.BytesIO(plain.getvalue()))["t"].shape == (3, 2)
    finally:
        serialization.FORMAT_VERSION = old


def test_corrupted_view_is_an_error():
    """A view reaching past its storage (a damaged structure) is refused, never read."""
    from deltagrad.serialization import storages

    def fail(what):
        return ValueError(what)

    base = dg.ones(6).numpy()
    with pytest.raises(ValueError, match="past its storage"):
        storages.build_view(base, [[2, 3], [3, 1], 1, True], fail)
    with pytest.raises(ValueError, match="malformed"):
        storages.build_view(base, [[2], [-1], 0, True], fail)
    assert storages.build_view(base, [[2, 3], [1, 2], 0, True], fail).shape == (2, 3)


def test_shallow_copy_shares_memory_as_pytorch():
    """copy.copy of a view shares its memory (PyTorch's shallow copy) and keeps its layout; a
    Parameter's copy is a Parameter (pickle's layout is for pickle and deepcopy only)."""
    results = []
    for T in (torch, dg):
        x = T.arange(6.).reshape(2, 3)
        y = copy.copy(x.t())
        y.add_(1)
        p = copy.copy(T.nn.Parameter(T.ones(2)))
        results.append((y.stride(), y.storage_offset(), x.tolist(),
                        isinstance(p, T.nn.Parameter), p.requires_grad))
    assert results[1] == results[0]
