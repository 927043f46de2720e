"""Every torch.nn module class, as a PyTorch checkpoint loaded into deltagrad (session 12, SM).

The rows are session 10's module sweep (s10_D1_table*.py: each class with typical and unusual
constructor arguments), whose forward parity s10_D1 already checks. Here each row's PyTorch
module is saved with the real ``torch.save`` to a file, read with ``deltagrad.load`` and loaded
into the deltagrad module: strict, then non-strict with a key missing and one unexpected (the
returned keys as PyTorch returns them), a strict load with those keys (the error text) and one
with a wrong shape (the text, naming the key); then the outputs of both modules must agree. It
also compares what s10_D1 does not: named_modules / named_children order (with and without
duplicates), parameters without recursion, the non-persistent buffer set, and
``state_dict(keep_vars=True)`` (Parameters stay Parameters, requires_grad kept).
"""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import s10_D1_table as table  # noqa: E402
import s10_D1_table_b as table_b  # noqa: E402
from s10_D1_harness import F, _build, _flat, _make, _tensor, case  # noqa: E402

import deltagrad as dg  # noqa: E402


def _shared_and_private(nn):
    # A model with a module used twice, a non-persistent buffer, a None parameter and a
    # None child: what state_dict and the walks skip or list once.
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.BatchNorm1d(3), shared, nn.ReLU())
    model[1].register_buffer("scratch", model[1].running_mean * 0, persistent=False)
    model[1].register_parameter("unused", None)
    model.add_module("gone", None)
    return model


# The base classes (built directly: no forward) and a hand-made model.
BASES = [
    case("Module", id="Module-base", build=lambda nn, cv: nn.Module()),
    case("Container", id="Container", build=lambda nn, cv: nn.Container(a=nn.ReLU())),
    case("RNNBase", id="RNNBase-LSTM-proj", build=lambda nn, cv: nn.RNNBase(
        "LSTM", 3, 4, num_layers=2, bidirectional=True, proj_size=2)),
    case("RNNCellBase", id="RNNCellBase", build=lambda nn, cv: nn.RNNCellBase(3, 4, True, 3)),
    case("Sequential", id="shared-child-private-buffer", build=lambda nn, cv:
         _shared_and_private(nn), inputs=[F(4, 3)]),
]

ROWS = [c for rows in (table.ACTIVATIONS, table.LOSSES, table.CONV, table.POOLING,
                       table.PADDING, table.NORM, table.RNN, table.MISC, table.EXTRA,
                       table.MORE, table_b.ROWS, table_b.NEW_MODULES, BASES)
        for c in rows if not c.error and not c.xfail]

# torch.nn classes deltagrad does not export (a missing class fails loudly, never silently).
MISSING: dict = {}  # torch.nn classes deltagrad lacks, with the reason


def _is_module_class(lib, name):
    value = getattr(lib.nn, name, None)
    return isinstance(value, type) and issubclass(value, lib.nn.Module)


def test_every_shared_module_class_has_a_row():
    torch_classes = {n for n in dir(torch.nn) if _is_module_class(torch, n)}
    shared = {n for n in torch_classes if _is_module_class(dg, n)}
    assert torch_classes - shared == set(MISSING), "torch.nn classes missing from deltagrad.nn"
    assert shared - {c.name for c in ROWS} == set(), "classes without a row"


def _no_grad(array):
    return tuple(False for _ in array) if isinstance(array, tuple) else False


def _inputs(c, lib, seed, dtype):
    rng = np.random.default_rng(seed)
    return [_tensor(a, lib, _no_grad(a)) for a in (_make(s, rng, dtype) for s in c.inputs)]


def _names(module, method, **options):
    return [name for name, _ in getattr(module, method)(**options)]


def _structure(module, lib):
    keep = module.state_dict(keep_vars=True)
    return {
        "named_modules": _names(module, "named_modules"),
        "named_modules (duplicates)": _names(module, "named_modules", remove_duplicate=False),
        "named_children": _names(module, "named_children"),
        "parameters (no recursion)": _names(module, "named_parameters", recurse=False),
        "buffers (no recursion)": _names(module, "named_buffers", recurse=False),
        "non-persistent": sorted(n for m in module.modules()
                                 for n in m._non_persistent_buffers_set),
        "keep_vars": [(k, isinstance(v, lib.nn.Parameter), v.requires_grad)
                      for k, v in keep.items()],
        "state_dict": [(k, v.requires_grad) for k, v in module.state_dict().items()],
    }


def _error_text(call):
    try:
        call()
    except RuntimeError as error:
        return str(error).replace("deltagrad.", "torch.")
    return None


@pytest.mark.parametrize("c", ROWS, ids=[c.id for c in ROWS])
def test_checkpoint_from_pytorch(c, tmp_path):
    dtype = np.dtype(np.float32)
    tm, dm = _build(c, torch, dtype), _build(c, dg, dtype)
    if c.lazy:  # (lazy modules take their shapes from a first forward)
        with torch.no_grad():
            tm(*_inputs(c, torch, 1, dtype))
        with dg.no_grad():
            dm(*_inputs(c, dg, 1, dtype))
    tm.eval()
    dm.eval()
    assert _structure(dm, dg) == _structure(tm, torch), c.id
    path = os.path.join(tmp_path, "checkpoint.pt")
    torch.save(tm.state_dict(), path)
    result = dm.load_state_dict(dg.load(path))
    assert repr(result) == repr(tm.load_state_dict(torch.load(path))) == \
        "<All keys matched successfully>"
    keys = list(tm.state_dict())
    if keys:
        # non-strict: the first key missing, one unexpected key
        t_state, d_state = torch.load(path), dg.load(path)
        for state, lib in ((t_state, torch), (d_state, dg)):
            del state[keys[0]]
            state["extra.key"] = lib.zeros(1)
        assert repr(dm.load_state_dict(d_state, strict=False)) == \
            repr(tm.load_state_dict(t_state, strict=False))
        assert _error_text(lambda: dm.load_state_dict(d_state)) == \
            _error_text(lambda: tm.load_state_dict(t_state))
        # a shape mismatch names the key (the last entry with a dimension)
        shaped = [k for k in keys if tm.state_dict()[k].dim() > 0]
        if shaped:
            t_state, d_state = torch.load(path), dg.load(path)
            key = shaped[-1]
            t_state[key] = torch.zeros(*t_state[key].shape, 2, dtype=t_state[key].dtype)
            d_state[key] = dg.zeros(*d_state[key].shape, 2, dtype=d_state[key].dtype)
            got = _error_text(lambda: dm.load_state_dict(d_state))
            assert got is not None and f"size mismatch for {key}:" in got
            assert got == _error_text(lambda: tm.load_state_dict(t_state))
        tm.load_state_dict(torch.load(path))
        dm.load_state_dict(dg.load(path))
    if not c.inputs:  # (a base class: nothing to call)
        return
    torch.manual_seed(3)
    dg.manual_seed(3)
    try:
        with torch.no_grad():
            want = tm(*_inputs(c, torch, 2, dtype), **c.call_kwargs)
    except Exception as error:  # noqa: BLE001 - an input PyTorch refuses: s10_D1 compares it
        pytest.skip(f"PyTorch's forward raises {type(error).__name__}")
    with dg.no_grad():
        got = dm(*_inputs(c, dg, 2, dtype), **c.call_kwargs)
    for i, (w, g) in enumerate(zip(_flat(want), _flat(got), strict=True)):
        if w is None:
            assert g is None
            continue
        np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=2e-4 * c.tol, atol=2e-5 * c.tol,
                                   equal_nan=True, err_msg=f"{c.id}: output {i}")
