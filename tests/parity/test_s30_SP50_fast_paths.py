"""s30 SP50: fast paths for the op table's worst ops (issue 18), checked bit for bit against
the general path they replace and against PyTorch 2.13.

- huber_loss / smooth_l1_loss with reduction "mean" / "sum": the reduction inside the huber
  op's one node (PyTorch's one HuberLossBackward0 / SmoothL1LossBackward0). The general path
  is the same function with reduction "none" followed by ``.mean()`` / ``.sum()`` (what the
  function did before), which must give the same bits: values, gradients of the input and
  the target, for any upstream gradient, and double backward.
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

F = dg.nn.functional


def _bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes(), (a, b)


# ---------------------------------------------------------------------------------------------
# huber_loss / smooth_l1_loss, reduced in the op

_HUBER_VALUES = ("plain", "edges", "inf_nan", "large")


def _huber_arrays(kind, shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2.0
    y = rng.standard_normal(shape)
    if kind == "edges":  # differences exactly at +-delta and 0
        flat = x.reshape(-1)
        flat[: min(3, flat.size)] = y.reshape(-1)[: min(3, flat.size)] + np.array(
            [1.0, -1.0, 0.0])[: min(3, flat.size)]
    elif kind == "inf_nan":
        x.reshape(-1)[0] = np.inf
        if x.size > 1:
            x.reshape(-1)[1] = np.nan
        if x.size > 2:
            y.reshape(-1)[2] = -np.inf
    elif kind == "large":
        x *= 1e30
    return x.astype(dtype), y.astype(dtype)


def _huber_call(lib, name, x, y, reduction, param):
    f = getattr(lib.nn.functional, name)
    key = "beta" if name == "smooth_l1_loss" else "delta"
    return f(x, y, reduction=reduction, **{key: param})


def _huber_run(name, reduction, param, xa, ya, scale, general):
    x = dg.from_numpy(xa.copy()).requires_grad_()
    y = dg.from_numpy(ya.copy()).requires_grad_()
    if general:
        full = _huber_call(dg, name, x, y, "none", param)
        out = full.mean() if reduction == "mean" else full.sum()
    else:
        out = _huber_call(dg, name, x, y, reduction, param)
    (out * scale).backward()
    return out.detach().numpy(), x.grad.numpy(), y.grad.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name,param", [("huber_loss", 1.0), ("huber_loss", 0.7),
                                        ("smooth_l1_loss", 1.0), ("smooth_l1_loss", 0.3)],
                         ids=["huber1", "huber0.7", "smooth1", "smooth0.3"])
def test_huber_reduced_in_op_bit_identical_to_two_nodes(name, param, reduction, dtype):
    for kind in _HUBER_VALUES:
        for shape in ((3, 4), (7,), (2, 3, 5)):
            xa, ya = _huber_arrays(kind, shape, dtype)
            with np.errstate(all="ignore"):
                new = _huber_run(name, reduction, param, xa, ya, 3.7, general=False)
                old = _huber_run(name, reduction, param, xa, ya, 3.7, general=True)
            for a, b in zip(new, old):
                _bits(a, b)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_huber_reduced_large_input_uses_the_means_reciprocal_rule(reduction):
    # above _EXPAND_COPY_MAX elements the mean's rule multiplies by 1 / n: the same here
    xa, ya = _huber_arrays("plain", (3, 7001), "float32", seed=1)
    new = _huber_run("huber_loss", reduction, 1.0, xa, ya, 1.0, general=False)
    old = _huber_run("huber_loss", reduction, 1.0, xa, ya, 1.0, general=True)
    for a, b in zip(new, old):
        _bits(a, b)


@pytest.mark.parametrize("name", ["huber_loss", "smooth_l1_loss"])
def test_huber_reduced_double_backward_as_two_nodes(name):
    xa, ya = _huber_arrays("plain", (3, 4), "float64", seed=2)
    grads = []
    for general in (False, True):
        x = dg.from_numpy(xa.copy()).requires_grad_()
        y = dg.from_numpy(ya.copy()).requires_grad_()
        if general:
            out = _huber_call(dg, name, x, y, "none", 0.8).mean()
        else:
            out = _huber_call(dg, name, x, y, "mean", 0.8)
        gx, gy = dg.autograd.grad(out, (x, y), create_graph=True)
        (gx * gx).sum().backward()
        grads.append((gx.detach().numpy(), gy.detach().numpy(), x.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["huber_loss", "smooth_l1_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_huber_reduced_against_pytorch(name, reduction):
    torch = pytest.importorskip("torch")
    xa, ya = _huber_arrays("edges", (3, 4), "float32", seed=3)
    results = []
    for lib in (dg, torch):
        x = lib.from_numpy(xa.copy()).requires_grad_()
        y = lib.from_numpy(ya.copy()).requires_grad_()
        out = _huber_call(lib, name, x, y, reduction, 1.0)
        assert type(out.grad_fn).__name__ == ("HuberLossBackward0" if name == "huber_loss"
                                              else "SmoothL1LossBackward0")
        nexts = [type(f).__name__ if f is not None else None
                 for f, _ in out.grad_fn.next_functions]
        (out * 2.5).backward()
        results.append((out.detach().numpy(), x.grad.numpy(), y.grad.numpy(), nexts,
                        out.dtype == lib.float32, tuple(out.shape)))
    ours, theirs = results
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert ours[3:] == theirs[3:]


def test_huber_reduced_paths_left_alone():
    # 0-d, empty, weights and mixed dtypes stay on the general path (as before)
    x = dg.tensor(1.5, requires_grad=True)
    out = F.huber_loss(x, dg.tensor(0.0))
    out.backward()
    assert out.item() == 1.0 and x.grad.item() == 1.0
    e = dg.zeros(0, 3, requires_grad=True)
    assert F.huber_loss(e, dg.zeros(0, 3)).isnan().item()
    w = dg.ones(2, 3)
    xs = dg.randn(2, 3, requires_grad=True)
    out = F.huber_loss(xs, dg.zeros(2, 3), weight=w)
    out.backward()
    assert xs.grad is not None
    with dg.no_grad():
        assert F.huber_loss(xs, dg.zeros(2, 3), reduction="sum").grad_fn is None


# ---------------------------------------------------------------------------------------------
# heaviside: float32 / float64 inputs of one dtype go straight to NumPy (the op's own float
# forward, without its dtype tests)

_STEP = np.array([-np.inf, -2.0, -0.0, 0.0, 1e-30, 3.0, np.inf, np.nan], np.float64)


def _heaviside_inputs(case, dtype):
    rng = np.random.default_rng(4)
    x = np.concatenate([_STEP, rng.standard_normal(8)]).astype(dtype)
    if case == "same":
        return x, rng.uniform(-1, 2, x.shape).astype(dtype)
    if case == "nan_values":
        return x, np.full(x.shape, np.nan, dtype)
    if case == "broadcast":
        return x.reshape(2, 8), np.array([0.5, np.nan, -1.0, 2.0, 0.0, -0.0, 1.0, 3.0], dtype)
    if case == "values_0d":
        return x.reshape(4, 4), np.array(0.25, dtype)
    if case == "values_wider":  # (the result takes the values' larger shape)
        return x[:4], rng.uniform(0, 1, (3, 4)).astype(dtype)
    return np.array(0.0, dtype), np.array(0.7, dtype)  # 0-d: the general path


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", ["same", "nan_values", "broadcast", "values_0d",
                                  "values_wider", "zero_d"])
def test_heaviside_fast_path_bits_as_the_ops_forward_and_pytorch(case, dtype):
    from deltagrad._engine.ops import OPS

    x, v = _heaviside_inputs(case, dtype)
    got = dg.heaviside(dg.from_numpy(x.copy()), dg.from_numpy(v.copy()))
    assert got.grad_fn is None and got.dtype == dg.from_numpy(x).dtype
    _bits(got.numpy(), np.asarray(OPS["heaviside"].forward(x, v)))
    torch = pytest.importorskip("torch")
    want = torch.heaviside(torch.from_numpy(x.copy()), torch.from_numpy(v.copy())).numpy()
    _bits(got.numpy(), want)


def test_heaviside_errors_and_grad_as_pytorch():
    torch = pytest.importorskip("torch")
    cases = [
        (np.zeros(3, np.float32), np.zeros(4, np.float32)),  # (shapes that do not broadcast)
        (np.zeros(3, np.float32), np.zeros(3, np.float64)),  # (dtypes differ)
        (np.zeros((2, 3), np.float64), np.zeros((5, 3), np.float64)),
    ]
    for x, v in cases:
        errors = []
        for lib in (dg, torch):
            try:
                lib.heaviside(lib.from_numpy(x.copy()), lib.from_numpy(v.copy()))
                errors.append(None)
            except Exception as error:  # (the type is compared)
                errors.append(error)
        assert errors[1] is not None and isinstance(errors[0], type(errors[1])), errors
    # an input requiring grad: recorded, and a backward through it raises, as PyTorch's
    for lib in (dg, torch):
        x = lib.tensor([-1.0, 0.0, 2.0], requires_grad=True)
        out = lib.heaviside(x, lib.tensor([0.5, 0.5, 0.5]))
        assert out.requires_grad
        with pytest.raises(RuntimeError):
            out.sum().backward()
