"""Small known differences left by session 26, each against PyTorch 2.13 (session 27, BR15).

- ``keepdim`` given without a dim (even False) to sum / mean / prod / max / min / median /
  nanmedian: PyTorch's TypeError (its all-elements overloads take no keepdim); ``prod(x, None)``
  too. deltagrad returned the all-elements result.
- ``squeeze(x, None)`` (function, method, ``squeeze_``, ``squeeze_copy``): PyTorch's TypeError;
  deltagrad squeezed every dim.
- ``x.new_zeros((2, True))`` (and the other ``new_*``): PyTorch reads a bool after the first
  size as its int; deltagrad refused it.
- ``tensor([tensor(1+1j), 2], dtype=float32)``: PyTorch's RuntimeError (a nonzero imaginary
  part); deltagrad dropped it with a warning (and warned for a zero one, where PyTorch is silent).
- ``t[i] = ndarray`` (or a list, a NumPy float32): PyTorch's TypeError; deltagrad writes it and
  keeps doing so (its own benchmarks and tests write arrays into ``.data[...]``): pinned below.
- float32 ``i1`` / ``i1e`` derivatives at |x| <= eps: PyTorch's exactly 1/2 (second derivative
  0); deltagrad gave 0 or -inf at subnormal inputs (nan second derivatives).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _outcome(T, code):
    """What ``code`` does with ``T`` as torch: ('ok', value) or ('raises', exception type)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = eval(code, {"torch": T, "np": np, "x": T.ones(2, 3), "y": T.ones(1, 2)})
        except Exception as error:  # noqa: BLE001 - the type is compared
            return "raises", type(error).__name__, None
    value = value.tolist() if hasattr(value, "tolist") else value
    return "ok", value, [str(w.message) for w in caught]


def _torch_exception(code):
    outcome = _outcome(torch, code)
    return outcome[1] if outcome[0] == "raises" else None


KEEPDIM = [
    f"{form}(keepdim={keep})"
    for form in ("x.sum", "x.mean", "x.prod", "x.max", "x.min", "x.median", "x.nanmedian")
    for keep in (False, True)
] + [
    "torch.sum(x, keepdim=False)", "torch.mean(x, keepdim=False)",
    "torch.prod(x, keepdim=False)", "torch.max(x, keepdim=False)",
    "torch.median(x, keepdim=False)", "torch.nanmedian(x, keepdim=False)",
    "x.sum(keepdim=False, dtype=torch.float64)", "torch.prod(x, None)", "x.prod(None)",
    "x.sum(keepdims=False)",
    # still accepted, as PyTorch
    "x.sum()", "x.sum(None)", "torch.sum(x, None, keepdim=True)", "x.sum(1, keepdim=False)",
    "x.mean(dim=None, keepdim=True)", "x.prod(1, keepdim=True)", "x.prod()", "x.max()",
    "x.max(1, keepdim=True)[0]", "x.median()", "x.median(0, keepdim=True)[0]",
    "x.sum(axis=1, keepdims=True)", "x.mean(1, keepdims=True)", "x.max(dim=1).values",
    "torch.min(x, 1, False)[1]",
]

SQUEEZE = [
    "torch.squeeze(y, None)", "y.squeeze(None)", "y.squeeze(dim=None)",
    "torch.squeeze_copy(y, None)", "y.clone().squeeze_(None)",
    "torch.squeeze(y)", "y.squeeze()", "y.squeeze(0)", "y.squeeze((0, 1))",
    "torch.squeeze_copy(y)", "y.clone().squeeze_()", "y.clone().squeeze_(0)",
]

NEW_SIZES = [
    "x.new_zeros((2, True))", "x.new_zeros(2, True)", "x.new_ones((2, True))",
    "x.new_empty((2, True)).shape", "x.new_full((2, True), 1.5)", "x.new_zeros([2, False])",
    "x.new_zeros(size=(2, True))", "x.new_zeros(True)", "x.new_zeros((True,))",
    "x.new_zeros((True, 2))", "x.new_zeros((2, np.bool_(True)))",
]

COMPLEX_ITEMS = [
    "torch.tensor([torch.tensor(1+1j), 2], dtype=torch.float32)",
    "torch.tensor([torch.tensor(1+1j)], dtype=torch.float64)",
    "torch.tensor([[torch.tensor(1+1j)], [2]], dtype=torch.float32)",
    "torch.as_tensor([torch.tensor(1+1j), 2], dtype=torch.float32)",
    "torch.tensor([torch.tensor(0.5+0j), 2], dtype=torch.float32)",
    "torch.tensor([torch.tensor(1+1j), 2])",
    "torch.tensor([np.complex64(1+1j), 2], dtype=torch.float32)",
]


@pytest.mark.parametrize("code", KEEPDIM + SQUEEZE + NEW_SIZES + COMPLEX_ITEMS)
def test_matches_pytorch(code):
    theirs, ours = _outcome(torch, code), _outcome(dg, code)
    assert ours[:2] == theirs[:2], (code, theirs, ours)
    if ours[0] == "ok":  # (warned or silent, as PyTorch)
        assert bool(ours[2]) == bool(theirs[2]), (code, theirs, ours)


def test_the_keepdim_error_names_the_call():
    with pytest.raises(TypeError, match="needs a dim"):
        dg.ones(2).sum(keepdim=False)
    with pytest.raises(TypeError, match="NoneType"):
        dg.prod(dg.ones(2), None)


def test_writing_an_ndarray_into_a_tensor_is_a_kept_extension():
    # PyTorch: "can't assign a numpy.ndarray to a torch.FloatTensor" (TypeError). deltagrad
    # writes the values (benchmarks/w1_ner_epoch.py, w3_mlp.py and tests use `.data[...] =
    # array`); the values are right, so this stays permissive rather than wrong.
    with pytest.raises(TypeError):
        torch.zeros(3)[0:2] = np.ones(2)
    t = dg.zeros(3)
    t[0:2] = np.array([1.5, 2.5])
    assert t.tolist() == [1.5, 2.5, 0.0]


@pytest.mark.parametrize("name", ["i1", "i1e"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_bessel_derivatives_at_tiny_inputs(name, dtype):
    points = np.array([1e-40, -1e-40, 1e-45, 0.0, 1e-38, 1e-20, -1e-9, -0.5, 3.0])
    results = []
    for T in (torch, dg):
        x = T.tensor(points, dtype=getattr(T, dtype), requires_grad=True)
        f = getattr(T.special, name)
        first, = T.autograd.grad(f(x).sum(), x, create_graph=True)
        second, = T.autograd.grad(first.sum(), x)
        results.append((np.asarray(first.tolist()), np.asarray(second.tolist())))
    (t1, t2), (d1, d2) = results
    tiny = np.abs(points.astype(dtype)) <= np.finfo(dtype).eps  # (PyTorch's 1/2 there)
    np.testing.assert_array_equal(d1[tiny], 0.5)
    np.testing.assert_array_equal(d2[tiny], 0.0)
    np.testing.assert_allclose(d1, t1, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(d2[~tiny], t2[~tiny], rtol=1e-4, atol=1e-6)
