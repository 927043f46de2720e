"""PyTorch's own custom-op test cases (``torch.testing._internal.custom_op_db``: 11 OpInfos of
NumPy-backed ops with registered autograd, fake and vmap rules) re-registered under
deltagrad.library: the module's source runs with ``torch`` bound to deltagrad, then each op's
samples (PyTorch's sample functions, float32) run through both registrations; outputs and
input gradients must agree. Session 30, BR24."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")
real = pytest.importorskip("torch.testing._internal.custom_op_db")

_OURS: dict = {}


def _ours() -> dict:
    """The OpInfos of custom_op_db's source run against deltagrad (once per process: the
    ops register under ``_torch_testing`` in deltagrad.ops)."""
    if not _OURS:
        source = pathlib.Path(real.__file__).read_text()
        for old, new in (("import torch\n", ""),
                         ("from torch.testing import make_tensor",
                          "from deltagrad.testing import make_tensor"),
                         ("from torch import Tensor", "from deltagrad import Tensor"),
                         # (OpInfo's dtype lists are PyTorch's: they take only its dtypes)
                         ("all_types_and(torch.bool, torch.half)",
                          "all_types_and(_torch.bool, _torch.half)")):
            assert old in source, old
            source = source.replace(old, new)
        space = {"torch": dg, "_torch": torch, "__name__": "s30_BR24_custom_op_db"}
        exec(compile(source, "custom_op_db (deltagrad)", "exec"), space)  # noqa: S102
        _OURS.update({info.name: info for info in space["custom_op_db"]})
    return _OURS


def _to_dg(value):
    if isinstance(value, torch.Tensor):
        out = dg.from_numpy(value.detach().numpy().copy())
        return out.requires_grad_(True) if value.requires_grad else out
    if isinstance(value, (list, tuple)):
        return type(value)(_to_dg(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_dg(v) for k, v in value.items()}
    return value


def _parts(value, out: list) -> list:
    if isinstance(value, (list, tuple)):
        for v in value:
            _parts(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _parts(v, out)
    else:
        out.append(value)
    return out


def _run(lib, op, inp, args, kwargs, grad: bool) -> list:
    result = op(inp, *args, **kwargs)
    found = [v.detach().numpy() if isinstance(v, lib.Tensor) else v for v in _parts(result, [])]
    if grad:
        outs = [v for v in _parts(result, []) if isinstance(v, lib.Tensor) and v.requires_grad]
        leaves = [v for v in _parts([inp, args, kwargs], [])
                  if isinstance(v, lib.Tensor) and v.requires_grad]
        assert outs and leaves
        sum((out * (k + 1.5)).sum() for k, out in enumerate(outs)).backward()
        found += [leaf.grad.numpy() if leaf.grad is not None else None for leaf in leaves]
    return found


@pytest.mark.parametrize("name", [info.name for info in real.custom_op_db])
def test_custom_op_db_matches_torch(name):
    info = next(i for i in real.custom_op_db if i.name == name)
    mine = _ours()[name]
    torch.manual_seed(0)
    grad = info.supports_autograd
    samples = list(info.sample_inputs_func(info, "cpu", torch.float32, requires_grad=grad))
    assert samples
    for sample in samples:
        expect = _run(torch, info.op, sample.input, sample.args, sample.kwargs, grad)
        got = _run(dg, mine.op, _to_dg(sample.input), _to_dg(sample.args),
                   _to_dg(sample.kwargs), grad)
        assert len(got) == len(expect)
        for theirs, ours in zip(expect, got):
            if isinstance(theirs, np.ndarray):
                assert (ours.dtype, ours.shape) == (theirs.dtype, theirs.shape)
                np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6, err_msg=name)
            else:
                assert ours == theirs


def test_custom_op_db_ops_reachable():
    ours = _ours()
    assert len(ours) == len(real.custom_op_db) == 11
    assert dg.ops._torch_testing.numpy_cube.default is ours["NumpyCubeCustomOp"].op
    # the schema-string ops of the module's Library("_torch_testing", "FRAGMENT")
    with pytest.raises(NotImplementedError, match="_torch_testing::source0"):
        dg.ops._torch_testing.source0(dg.ones(2))
    assert dg.ops._torch_testing.source4(dg.ones(2)).tolist() == [1.0, 1.0]


def test_custom_op_tensor_list_and_keyword_only():
    _ours()
    xs = [dg.from_numpy(np.arange(3.0, dtype=np.float32) + k).requires_grad_() for k in range(2)]
    out = dg.ops._torch_testing.numpy_cat(xs, 0)
    (out * dg.arange(6.0)).sum().backward()
    assert xs[0].grad.tolist() == [0.0, 1.0, 2.0] and xs[1].grad.tolist() == [3.0, 4.0, 5.0]
    x = dg.ones(3, requires_grad=True)
    y = dg.ops._torch_testing.numpy_mul_scalar(x, scalar=2.5)
    y.sum().backward()
    assert y.tolist() == [2.5] * 3 and x.grad.tolist() == [2.5] * 3
    with pytest.raises(RuntimeError):  # (as PyTorch's schema check: scalar is keyword-only)
        dg.ops._torch_testing.numpy_mul_scalar(x, 2.5)


def test_library_define_and_impl_match_torch():
    results = []
    for lib in (torch, dg):
        made = lib.library.Library("s30br24lib", "DEF")
        results.append(made.define("twice(Tensor x) -> Tensor"))
        made.impl("twice", lambda x: x * 2, "CPU")
        made.impl("twice", lambda x: x.new_empty(x.shape), "Meta")  # (not the CPU kernel)
        more = lib.library.Library("s30br24lib", "FRAGMENT")
        more.define("thrice(Tensor x) -> Tensor")
        more.impl(lib.ops.s30br24lib.thrice.default, lambda x: x * 3,
                  "CompositeExplicitAutograd")
        x = lib.from_numpy(np.arange(3, dtype=np.float32))
        results.append(lib.ops.s30br24lib.twice(x).tolist())
        results.append(lib.ops.s30br24lib.thrice(x).tolist())
    assert results[:3] == results[3:] == ["twice", [0.0, 2.0, 4.0], [0.0, 3.0, 6.0]]
    with pytest.raises(NotImplementedError, match="ATen"):
        dg.library.Library("aten", "IMPL", "CPU")
