"""Module-level differential harness (session 10, D1): one torch.nn module vs deltagrad.nn.

A case names a module class, its constructor arguments and its inputs. ``run_case`` builds the
module in both libraries (same seed), copies PyTorch's state_dict into deltagrad's as NumPy
arrays, and compares what a user sees: state_dict keys/order/shapes/dtypes, named_parameters and
named_buffers, repr, then for train and eval mode the forward outputs (values, dtypes, shapes),
the exception type where PyTorch raises, gradients of every floating input and every parameter
under a fixed random cotangent, and the buffers after the step (running stats,
num_batches_tracked). Tests import this module only after ``pytest.importorskip("torch")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

import deltagrad as dg

TORCH_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64,
                np.dtype(np.int64): torch.int64, np.dtype(np.bool_): torch.bool,
                np.dtype(np.int32): torch.int32}
TOL = {np.dtype(np.float32): (2e-4, 2e-5), np.dtype(np.float64): (1e-8, 1e-10)}


class In:
    """An input: ``make(rng, dtype)`` gives the array (or a plain value) for one run."""

    grad = False

    def make(self, rng, dtype):
        raise NotImplementedError


class F(In):
    """A floating input (normal, or uniform in [low, high)) of the run's dtype."""

    def __init__(self, *shape, low=None, high=None, grad=True):
        self.shape, self.low, self.high, self.grad = shape, low, high, grad

    def make(self, rng, dtype):
        if self.low is None:
            return rng.standard_normal(self.shape).astype(dtype)
        return rng.uniform(self.low, self.high, self.shape).astype(dtype)


class I(In):  # noqa: E742 - a short table name, like F
    """An integer input in [low, high) (int64 unless given)."""

    def __init__(self, high, *shape, low=0, dtype=np.int64):
        self.high, self.shape, self.low, self.dtype = high, shape, low, dtype

    def make(self, rng, dtype):
        return rng.integers(self.low, self.high, self.shape).astype(self.dtype)


class B(In):
    """A 0/1 input of the run's floating dtype (targets), or bool with ``boolean=True``."""

    def __init__(self, *shape, boolean=False):
        self.shape, self.boolean = shape, boolean

    def make(self, rng, dtype):
        values = rng.integers(0, 2, self.shape)
        return values.astype(bool) if self.boolean else values.astype(dtype)


class A(In):
    """A fixed array (kept at its own dtype unless ``cast``: then the run's floating dtype)."""

    def __init__(self, array, cast=False, grad=False):
        self.array, self.cast, self.grad = np.asarray(array), cast, grad

    def make(self, rng, dtype):
        return self.array.astype(dtype) if self.cast else self.array.copy()


class V(In):
    """A plain Python value (None, an int, a tuple of sizes...)."""

    def __init__(self, value):
        self.value = value

    def make(self, rng, dtype):
        return self.value


class W:
    """A constructor tensor argument (loss weights...): floating ones take the run's dtype."""

    def __init__(self, array):
        self.array = np.asarray(array)


@dataclass
class Case:
    """One configuration of one module class."""

    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    inputs: tuple = ()
    id: str = ""
    modes: tuple = (True, False)
    dtypes: tuple = (np.float32, np.float64)
    tol: float = 1.0            # multiplies the dtype's tolerances
    lazy: bool = False          # run a no-grad forward first (lazy modules) before copying
    error: bool = False         # PyTorch must raise (a bad-input row)
    build: object = None        # callable(nn, convert) -> module, instead of name/args/kwargs
    call_kwargs: dict = field(default_factory=dict)
    skip_repr: bool = False
    no_grad: bool = False       # run the forward under no_grad (PyTorch's inference fast paths)
    xfail: str = ""             # a known difference owned by another file's owner (reported)


def case(name, *args, inputs=(), id="", **kw) -> Case:
    """A Case with the constructor's keyword arguments gathered (harness options popped)."""
    options = {k: kw.pop(k) for k in list(kw) if k in {
        "modes", "dtypes", "tol", "lazy", "error", "build", "call_kwargs", "skip_repr",
        "no_grad", "xfail"}}
    return Case(name, args, kw, tuple(inputs), id or name, **options)


def _convert(value, lib, dtype):
    if isinstance(value, W):
        array = value.array.astype(dtype) if value.array.dtype.kind == "f" else value.array
        return torch.from_numpy(array.copy()) if lib is torch else dg.tensor(array.copy())
    if isinstance(value, tuple):
        return tuple(_convert(v, lib, dtype) for v in value)
    if isinstance(value, list):
        return [_convert(v, lib, dtype) for v in value]
    if isinstance(value, dict):
        return {k: _convert(v, lib, dtype) for k, v in value.items()}
    return value


def _build(c: Case, lib, dtype):
    lib.manual_seed(0)
    nn = lib.nn
    if c.build is not None:
        module = c.build(nn, lambda v: _convert(v, lib, dtype))
    else:
        module = getattr(nn, c.name)(*_convert(c.args, lib, dtype),
                                     **_convert(c.kwargs, lib, dtype))
    return module.double() if dtype == np.float64 else module


def _make(spec, rng, dtype):
    if isinstance(spec, tuple):  # a tuple argument, such as LSTM's (h0, c0)
        return tuple(_make(s, rng, dtype) for s in spec)
    return spec.make(rng, dtype)


def _wants_grad(spec, array):
    if isinstance(spec, tuple):
        return tuple(_wants_grad(s, a) for s, a in zip(spec, array))
    return spec.grad and isinstance(array, np.ndarray) and array.dtype.kind == "f"


def _tensor(array, lib, grad):
    if isinstance(array, tuple):
        return tuple(_tensor(a, lib, g) for a, g in zip(array, grad))
    if not isinstance(array, np.ndarray):
        return array
    if lib is torch:
        return torch.from_numpy(array.copy()).requires_grad_(grad)
    return dg.tensor(array.copy(), dtype=array.dtype, requires_grad=grad)


def _no(array):
    return tuple(_no(a) for a in array) if isinstance(array, tuple) else False


def _flat(value):
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out.extend(_flat(v))
        return out
    return [value]


def _np(t):
    return t.detach().numpy() if t is not None else None


def _state(module):
    return [(k, tuple(v.shape), str(v.dtype).split(".")[-1]) for k, v in
            module.state_dict().items()]


def _compare_arrays(what, got, want, dtype, tol):
    rtol, atol = TOL[np.dtype(dtype)]
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype} != {want.dtype}"
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        np.testing.assert_allclose(got, want, rtol=rtol * tol, atol=atol * tol, equal_nan=True,
                                   err_msg=what)


def run_case(c: Case) -> None:
    """Run every dtype and mode of one case, asserting parity (see the module docstring)."""
    for dtype in c.dtypes:
        for mode in c.modes:
            _run_one(c, np.dtype(dtype), mode)


def _run_one(c: Case, dtype, mode: bool) -> None:
    where = f"{c.id} [{dtype.name}, {'train' if mode else 'eval'}]"
    rng = np.random.default_rng(12345)
    arrays = [_make(spec, rng, dtype) for spec in c.inputs]
    grads = [_wants_grad(spec, a) for spec, a in zip(c.inputs, arrays)]
    try:
        tm = _build(c, torch, dtype)
    except Exception as torch_error:  # noqa: BLE001 - a constructor-argument error row
        assert c.error, f"{where}: PyTorch's constructor raised {torch_error!r}"
        try:
            _build(c, dg, dtype)
        except Exception as dg_error:  # noqa: BLE001
            assert isinstance(dg_error, type(torch_error)), (
                f"{where}: constructor: PyTorch raised {torch_error!r}; deltagrad {dg_error!r}")
            return
        raise AssertionError(f"{where}: PyTorch's constructor raised {torch_error!r}; "
                             "deltagrad's did not") from None
    dm = _build(c, dg, dtype)
    tm.train(mode)
    dm.train(mode)
    if c.lazy:
        with torch.no_grad():
            tm(*[_tensor(a, torch, _no(a)) for a in arrays])
        with dg.no_grad():
            dm(*[_tensor(a, dg, _no(a)) for a in arrays])
    # structure: state_dict, parameters, buffers, repr
    assert _state(dm) == _state(tm), f"{where}: state_dict {_state(dm)} != {_state(tm)}"
    assert [n for n, _ in dm.named_parameters()] == [n for n, _ in tm.named_parameters()], where
    assert [n for n, _ in dm.named_buffers()] == [n for n, _ in tm.named_buffers()], where
    if not c.skip_repr:
        # deltagrad names its own dtypes (deltagrad.float32) where PyTorch prints torch.float32
        got = repr(dm).replace("deltagrad.", "torch.")
        assert got == repr(tm), f"{where}: repr\n{got}\n!=\n{tm!r}"
    dm.load_state_dict({k: dg.tensor(v.detach().numpy().copy())
                        for k, v in tm.state_dict().items()})
    t_in = [_tensor(a, torch, g) for a, g in zip(arrays, grads)]
    d_in = [_tensor(a, dg, g) for a, g in zip(arrays, grads)]
    torch.manual_seed(7)
    dg.manual_seed(7)
    if c.no_grad:
        with torch.no_grad():
            t_out = tm(*t_in, **c.call_kwargs)
        with dg.no_grad():
            d_out = dm(*d_in, **c.call_kwargs)
        for i, (t, d) in enumerate(zip(_flat(t_out), _flat(d_out), strict=True)):
            if t is not None or d is not None:
                _compare_arrays(f"{where}: output {i}", _np(d), _np(t), dtype, c.tol)
        return
    try:
        t_out = tm(*t_in, **c.call_kwargs)
    except Exception as torch_error:  # noqa: BLE001 - PyTorch's error is the spec
        try:
            dm(*d_in, **c.call_kwargs)
        except Exception as dg_error:  # noqa: BLE001
            assert isinstance(dg_error, type(torch_error)), (
                f"{where}: PyTorch raised {type(torch_error).__name__}: {torch_error}; "
                f"deltagrad raised {type(dg_error).__name__}: {dg_error}")
            return
        raise AssertionError(f"{where}: PyTorch raised {type(torch_error).__name__}: "
                             f"{torch_error}; deltagrad returned a result") from None
    assert not c.error, f"{where}: PyTorch did not raise on an error row"
    d_out = dm(*d_in, **c.call_kwargs)
    t_flat, d_flat = _flat(t_out), _flat(d_out)
    assert len(t_flat) == len(d_flat), f"{where}: {len(d_flat)} outputs, torch {len(t_flat)}"
    assert type(d_out).__name__ == type(t_out).__name__, (
        f"{where}: returns {type(d_out).__name__}, torch {type(t_out).__name__}")
    for i, (t, d) in enumerate(zip(t_flat, d_flat)):
        if t is None:
            assert d is None, f"{where}: output {i} is {d!r}, torch None"
            continue
        assert isinstance(d, dg.Tensor), f"{where}: output {i} is {type(d).__name__}"
        _compare_arrays(f"{where}: output {i}", _np(d), _np(t), dtype, c.tol)
        assert d.requires_grad == t.requires_grad, f"{where}: output {i} requires_grad"
    # backward: a fixed cotangent on every differentiable output
    pairs = [(t, d) for t, d in zip(t_flat, d_flat) if t is not None and t.requires_grad]
    if pairs:
        crng = np.random.default_rng(99)
        cots = [crng.standard_normal(tuple(t.shape)).astype(_np(t).dtype) for t, _ in pairs]
        torch.autograd.backward([t for t, _ in pairs], [torch.from_numpy(x) for x in cots])
        dg.autograd.backward([d for _, d in pairs], [dg.tensor(x) for x in cots])
        for i, (ti, di) in enumerate(zip(_flat(t_in), _flat(d_in))):
            if isinstance(ti, torch.Tensor) and ti.requires_grad:
                _check_grad(f"{where}: grad of input {i}", di.grad, ti.grad, dtype, c.tol)
        d_params = dict(dm.named_parameters())
        for name, tp in tm.named_parameters():
            _check_grad(f"{where}: grad of {name}", d_params[name].grad, tp.grad, dtype, c.tol)
    # buffers after the step (running stats, num_batches_tracked)
    d_state = dm.state_dict()
    for name, tv in tm.state_dict().items():
        _compare_arrays(f"{where}: state {name} after the step", _np(d_state[name]), _np(tv),
                        dtype, c.tol)


def _check_grad(what, got, want, dtype, tol):
    if want is None:
        assert got is None or not np.any(_np(got)), f"{what}: torch None, got {got!r}"
        return
    assert got is not None, f"{what}: None here, not in PyTorch"
    _compare_arrays(what, _np(got), _np(want), dtype, tol * 10)
