"""Session 18 (LX): leftovers of the silent-wrong-answer fuzzing, each checked against PyTorch.

- optimizer.load_state_dict of another optimizer class's state dict replaces the groups' options
  (PyTorch's), and a dict without 'param_groups' raises KeyError;
- nll_loss's composition path (float16, or any dtype the fused node does not take) skips ignored
  entries: no nan from their inf / nan inputs or from a nan upstream gradient;
- complex max / min(dim) check the dim first (IndexError) and refuse with PyTorch's
  RuntimeError; cross_entropy with label smoothing over zero classes gives PyTorch's empty sums;
- float16 rsqrt, mish, hardswish, hardsigmoid computed in float32 and rounded once.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _functional_losses

torch = pytest.importorskip("torch")


def _same(ours, theirs):
    """Values, signs of zeros and nans included, and dtype."""
    a, b = ours.detach().numpy(), theirs.detach().numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b, equal_nan=True), (a, b)
    numbers = ~np.isnan(b)  # (a nan's sign bit is no part of its value)
    assert np.array_equal(np.signbit(a[numbers]), np.signbit(b[numbers])), (a, b)


# ---------------------------------------------------------------- optimizer state dicts

def _group_keys(lib):
    p = lib.tensor([-1.25, 0.5], requires_grad=True)
    saved = lib.optim.SGD([p], lr=0.1, momentum=0.5).state_dict()
    adamw = lib.optim.AdamW([p], lr=0.01)
    adamw.load_state_dict(saved)
    p.grad = lib.ones(2)
    with pytest.raises(KeyError):  # (betas are SGD's group's no more: PyTorch's step fails)
        adamw.step()
    return sorted(adamw.param_groups[0])


def test_other_optimizers_state_dict_replaces_the_group():
    assert _group_keys(dg) == _group_keys(torch)


def test_same_class_state_dict_keeps_its_options():
    # (not another class's: the group is the saved one, lr included)
    p = dg.tensor([1.0, 2.0], requires_grad=True)
    saved = dg.optim.AdamW([p], lr=0.5, betas=(0.8, 0.9)).state_dict()
    adamw = dg.optim.AdamW([p], lr=0.01)
    adamw.load_state_dict(saved)
    assert adamw.param_groups[0]["lr"] == 0.5 and adamw.param_groups[0]["betas"] == (0.8, 0.9)


@pytest.mark.parametrize("lib", [dg, torch], ids=["deltagrad", "torch"])
def test_module_state_dict_into_optimizer_is_key_error(lib):
    optimizer = lib.optim.Adam(lib.nn.Linear(2, 2).parameters())
    with pytest.raises(KeyError):
        optimizer.load_state_dict(lib.nn.Linear(2, 2).state_dict())


# ---------------------------------------------------------------- nll_loss's composition

_INF, _NAN = math.inf, math.nan
_NLL_CASES = [
    ([[1.0, 2.0], [_NAN, 0.5]], [0, 1], None),
    ([[1.0, 2.0], [-_INF, 0.5]], [0, 1], None),
    ([[-_INF, 2.0], [-_INF, 0.5]], [1, 1], None),  # (all ignored: mean over zero weight)
    ([[_NAN, 2.0], [0.25, 0.5]], [0, 1], [0.0, 1.0]),  # (zero total weight, nan input)
    ([[1.0]], [1], None),  # (the fuzzer's: target == ignore_index == C)
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("case", range(len(_NLL_CASES)))
@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_nll_loss_composition_skips_ignored_entries(monkeypatch, dtype, case, reduction):
    if dtype == "float32":  # (the composition, not the fused node: as for a dtype it lacks)
        monkeypatch.setattr(_functional_losses, "_NLL_DTYPES", ())
    values, targets, weight = _NLL_CASES[case]
    results = []
    for lib in (dg, torch):
        x = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)
        w = None if weight is None else lib.tensor(weight, dtype=getattr(lib, dtype))
        with np.errstate(invalid="ignore"):
            loss = lib.nn.functional.nll_loss(x, lib.tensor(targets), weight=w, ignore_index=1,
                                              reduction=reduction)
            (loss * loss).sum().backward()  # (a nan upstream gradient where the loss is nan)
        results.append((loss, x.grad))
    (loss, grad), (ref_loss, ref_grad) = results
    _same(loss, ref_loss)
    a, b = grad.numpy(), ref_grad.numpy()  # (zeros' signs: the fused node's own, not checked)
    assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), (a, b)


# ---------------------------------------------------------------- errors and empty classes

def _raised(function):
    try:
        function()
    except Exception as error:  # noqa: BLE001 - the class is what is compared
        return type(error)
    return None


@pytest.mark.parametrize("call", [
    lambda lib, x: lib.max(x, 5), lambda lib, x: x.min(-3), lambda lib, x: lib.max(x, 1),
    lambda lib, x: x.min(dim=0, keepdim=True), lambda lib, x: lib.max(x[0, 0], 0),
    lambda lib, x: lib.max(x[:, :0], 1), lambda lib, x: lib.max(x, x),
])
def test_complex_max_min_errors(call):
    got = _raised(lambda: call(dg, dg.zeros(3, 2, dtype=dg.complex64)))
    ref = _raised(lambda: call(torch, torch.zeros(3, 2, dtype=torch.complex64)))
    assert got is not None and ref is not None
    # (deltagrad's classes may be subclasses of PyTorch's, never another branch)
    assert issubclass(got, ref) and got.__mro__[1:].count(NotImplementedError) == (
        ref is NotImplementedError), (got, ref)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(4, 0), (2, 0, 3), (0,)])
@pytest.mark.parametrize("smoothing", [0.1, 1.0])
def test_cross_entropy_smoothed_over_no_classes(shape, reduction, smoothing):
    results = []
    for lib in (dg, torch):
        x = lib.zeros(*shape, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.zeros(*shape), reduction=reduction,
                                               label_smoothing=smoothing)
        loss.sum().backward()
        results.append((loss, x.grad))
    _same(results[0][0], results[1][0])
    assert tuple(results[0][1].shape) == tuple(results[1][1].shape)


# ---------------------------------------------------------------- float16 forwards

# (1024 values: PyTorch's vectorized loop takes them all; its scalar tail rounds differently)
_HALF_VALUES = (np.random.default_rng(0).standard_normal(1024) * 4).astype(np.float16)


@pytest.mark.parametrize("name", ["rsqrt", "mish", "hardswish", "hardsigmoid", "gelu"])
def test_float16_forward_rounded_once(name):
    values = np.abs(_HALF_VALUES) + np.float16(0.01) if name == "rsqrt" else _HALF_VALUES

    def run(lib):
        function = getattr(lib, name, None) or getattr(lib.nn.functional, name)
        return function(lib.tensor(values))

    _same(run(dg), run(torch))


def test_float16_gelu_small_and_special_values():
    values = np.array([0.0, -0.0, 0.02783, -2.803, 5.5, -5.5, np.inf, -np.inf, np.nan],
                      np.float16)
    for v in values:  # (0-d, and the scalar path PyTorch takes for short tails)
        ours = dg.nn.functional.gelu(dg.tensor(v))
        ref = torch.nn.functional.gelu(torch.tensor(v))
        assert ours.shape == ref.shape and ours.dtype == dg.float16
        a, b = float(ours), float(ref)
        assert a == b or (math.isnan(a) and math.isnan(b)) or abs(a - b) <= abs(b) * 2e-3
    x = dg.tensor(_HALF_VALUES[:64], requires_grad=True)
    dg.nn.functional.gelu(x).sum().backward()  # (the float16 backward is unchanged)
    xt = torch.tensor(_HALF_VALUES[:64], requires_grad=True)
    torch.nn.functional.gelu(xt).sum().backward()
    _same(x.grad, xt.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_loss_ignored_minus_inf_gives_no_numpy_warning(reduction):
    # (log_softmax's -inf at a padded, ignored entry: the fused node's inf * 0 warned)
    values = [[1.0, 2.0], [-_INF, 0.5]]
    results = []
    for lib in (dg, torch):
        x = lib.tensor(values, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loss = lib.nn.functional.nll_loss(x, lib.tensor([1, 0]), ignore_index=0,
                                              reduction=reduction)
            loss.sum().backward()
        results.append((loss, x.grad))
    _same(results[0][0], results[1][0])
    _same(results[0][1], results[1][1])
