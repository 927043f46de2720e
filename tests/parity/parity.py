"""Differential testing against PyTorch, in the spirit of PyTorch's OpInfo.

A case is one call of one public function with sample inputs given as NumPy arrays (or Python
values). ``check`` runs it through deltagrad and through PyTorch and compares what a user would
see: the exception type where PyTorch raises, else the values, dtypes and shapes of every
output, and the gradients of every floating input that ``grad`` asks for (a random cotangent on
each floating output, the same in both libraries).

Tests import this module only after ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

import numpy as np
import torch

import deltagrad as dg

DTYPES = {
    np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64,
    np.dtype(np.float16): torch.float16, np.dtype(np.int64): torch.int64,
    np.dtype(np.int32): torch.int32, np.dtype(np.int16): torch.int16,
    np.dtype(np.int8): torch.int8, np.dtype(np.uint8): torch.uint8,
    np.dtype(np.bool_): torch.bool, np.dtype(np.complex64): torch.complex64,
    np.dtype(np.complex128): torch.complex128,
}


class Arg:
    """A tensor argument: an array plus whether it requires grad (floating arrays only)."""

    def __init__(self, array, requires_grad: bool | None = None):
        self.array = np.asarray(array)
        if requires_grad is None:
            requires_grad = self.array.dtype.kind == "f"
        self.requires_grad = requires_grad


def _to_lib(value, lib):
    """Build the argument for one library: Arg -> tensor, containers recursively."""
    if isinstance(value, Arg):
        array = value.array.copy()
        if lib == "torch":
            t = torch.from_numpy(array)
            return t.requires_grad_(value.requires_grad)
        return dg.tensor(array, dtype=array.dtype, requires_grad=value.requires_grad)
    if isinstance(value, (list, tuple)):
        converted = [_to_lib(v, lib) for v in value]
        return type(value)(converted) if isinstance(value, tuple) else converted
    if isinstance(value, dict):
        return {k: _to_lib(v, lib) for k, v in value.items()}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return DTYPES[np.dtype(value)] if lib == "torch" else np.dtype(value)
    return value


def _leaves(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    else:
        yield value


def _outputs(value):
    """Tensors in a result (tuples, namedtuples, lists), in order."""
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out.extend(_outputs(v))
        return out
    return [value]


def _as_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, dg.Tensor):
        return x.detach().numpy()
    return x


def _dtype_of(x):
    if isinstance(x, torch.Tensor):
        return x.dtype
    if isinstance(x, dg.Tensor):
        return DTYPES[np.dtype(x.dtype)]
    return type(x)


def check(fn, *args, grad: bool = True, rtol: float = 1e-5, atol: float = 1e-6,
          seed: int = 0, **kwargs):
    """Compare ``fn(lib, *args, **kwargs)`` between deltagrad and PyTorch.

    ``fn`` takes the library module first (``dg`` or ``torch``) so that one lambda describes
    both calls, e.g. ``check(lambda m, x: m.sum(x, 1), Arg(a))``.
    """
    targs, tkwargs = _to_lib(args, "torch"), _to_lib(kwargs, "torch")
    dargs, dkwargs = _to_lib(args, "dg"), _to_lib(kwargs, "dg")
    try:
        expected = fn(torch, *targs, **tkwargs)
    except Exception as torch_error:  # noqa: BLE001 - any error PyTorch raises is the spec
        try:
            fn(dg, *dargs, **dkwargs)
        except Exception as dg_error:  # noqa: BLE001
            assert isinstance(dg_error, type(torch_error)) or _same_family(
                torch_error, dg_error), (
                f"PyTorch raised {type(torch_error).__name__}: {torch_error}; deltagrad raised "
                f"{type(dg_error).__name__}: {dg_error}")
            return None
        raise AssertionError(f"PyTorch raised {type(torch_error).__name__}: {torch_error}; "
                             "deltagrad returned a result") from None
    got = fn(dg, *dargs, **dkwargs)
    t_out, d_out = _outputs(expected), _outputs(got)
    assert len(t_out) == len(d_out), f"{len(t_out)} outputs in PyTorch, {len(d_out)} here"
    for i, (t, d) in enumerate(zip(t_out, d_out)):
        if isinstance(t, torch.Tensor):
            assert isinstance(d, dg.Tensor), f"output {i}: {type(d).__name__}, not a Tensor"
            assert tuple(d.shape) == tuple(t.shape), f"output {i}: shape {d.shape} != {t.shape}"
            assert _dtype_of(d) == t.dtype, f"output {i}: dtype {d.dtype} != {t.dtype}"
            np.testing.assert_allclose(_as_numpy(d), _as_numpy(t), rtol=rtol, atol=atol,
                                       equal_nan=True, err_msg=f"output {i} values")
        else:
            assert not isinstance(d, dg.Tensor) or d.ndim == 0, f"output {i}: {d!r} vs {t!r}"
            if isinstance(t, float):
                np.testing.assert_allclose(float(d), t, rtol=rtol, atol=atol)
            else:
                assert d == t, f"output {i}: {d!r} != {t!r}"
    if not grad:
        return got
    t_in = [x for x in _leaves(targs) if isinstance(x, torch.Tensor) and x.requires_grad]
    d_in = [x for x in _leaves(dargs) if isinstance(x, dg.Tensor) and x.requires_grad]
    t_diff = [t for t in t_out if isinstance(t, torch.Tensor) and t.requires_grad]
    d_diff = [d for d in d_out if isinstance(d, dg.Tensor) and d.requires_grad]
    assert len(t_diff) == len(d_diff), (
        f"{len(t_diff)} differentiable outputs in PyTorch, {len(d_diff)} here")
    if not t_in or not t_diff:
        return got
    rng = np.random.default_rng(seed)
    cotangents = [rng.standard_normal(t.shape).astype(t.detach().numpy().dtype) for t in t_diff]
    t_grads = torch.autograd.grad(t_diff, t_in, [torch.from_numpy(c) for c in cotangents],
                                  allow_unused=True)
    d_grads = dg.grad(d_diff, d_in, [dg.tensor(c, dtype=c.dtype) for c in cotangents],
                      allow_unused=True)
    for i, (tg, dgr) in enumerate(zip(t_grads, d_grads)):
        if tg is None:
            assert dgr is None or not np.any(dgr.detach().numpy()), f"grad {i}: None in torch"
            continue
        assert dgr is not None, f"grad {i}: None here, not in PyTorch"
        np.testing.assert_allclose(_as_numpy(dgr), tg.numpy(), rtol=rtol * 10, atol=atol * 10,
                                   equal_nan=True, err_msg=f"gradient of input {i}")
    return got


def _same_family(torch_error, dg_error) -> bool:
    """PyTorch raises RuntimeError for many shape errors; ours subclass both where we can."""
    return isinstance(torch_error, RuntimeError) and isinstance(dg_error, RuntimeError)
