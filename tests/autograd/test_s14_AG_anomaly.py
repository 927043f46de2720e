"""Anomaly mode as PyTorch's (session 14, AG): forward values and infinities pass (a ``-inf``
attention mask under ``set_detect_anomaly(True)`` trains as without it), a backward function
returning NaN raises RuntimeError naming its node after a warning with the forward traceback,
``check_nan=False`` only records; deltagrad's stricter checks only with ``strict=True``."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(1414)
Q = RNG.standard_normal((2, 4, 8)).astype(np.float32)


def _attention(m):
    # A causal mask of -inf, as transformer programs add to their scores.
    q = m.tensor(Q, requires_grad=True)
    mask = m.triu(m.full((4, 4), float("-inf")), diagonal=1)
    scores = q @ q.transpose(-1, -2) / 8 ** 0.5 + mask
    out = scores.softmax(-1) @ q
    out.pow(2).sum().backward()
    return out.detach().numpy(), q.grad.numpy()


@pytest.mark.parametrize("form", ["context", "flag"])
def test_inf_masks_pass_under_anomaly_mode(form):
    results = []
    for m in (dg, torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if form == "context":
                with m.autograd.detect_anomaly():
                    results.append(_attention(m))
            else:
                m.autograd.set_detect_anomaly(True)
                try:
                    results.append(_attention(m))
                finally:
                    m.autograd.set_detect_anomaly(False)
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def _nan_backward(m):
    x = m.tensor([-1.0, 1.0, 4.0], requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with m.autograd.detect_anomaly(), np.errstate(all="ignore"):
            y = x.log()  # nan in forward: not checked
            z = (x - 1).sqrt() * 2
            with pytest.raises(RuntimeError) as info:
                (z.sum() + y.sum() * 0).backward()
    messages = [str(w.message) for w in caught if w.category is UserWarning]
    return type(info.value), str(info.value), messages


def test_nan_gradient_raises_pytorchs_error_with_the_forward_traceback():
    ours, theirs = _nan_backward(dg), _nan_backward(torch)
    assert ours[0] is RuntimeError or issubclass(ours[0], RuntimeError)
    assert ours[1] == theirs[1] == "Function 'SqrtBackward0' returned nan values in its 0th output."
    assert [m.split("\n")[0] for m in ours[2]] == [m.split("\n")[0] for m in theirs[2]]
    traceback = ours[2][-1]
    assert "test_s14_AG_anomaly.py" in traceback and "sqrt" in traceback


def test_infinite_gradients_and_check_nan_false_pass():
    for m in (dg, torch):
        x = m.tensor([0.0, 4.0], requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with m.autograd.detect_anomaly(), np.errstate(all="ignore"):
                x.sqrt().sum().backward()  # d sqrt at 0 is inf: not an anomaly for PyTorch
            assert np.isinf(x.grad.numpy()[0])
            with m.autograd.set_detect_anomaly(True, check_nan=False), np.errstate(all="ignore"):
                assert m.is_anomaly_enabled() and not m.is_anomaly_check_nan_enabled()
                (x - 1).sqrt().sum().backward()  # nan gradients, but not checked
            assert np.isnan(x.grad.numpy()[0])
        assert not m.is_anomaly_enabled()


def test_strict_is_deltagrads_opt_in():
    x = dg.tensor([-1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with dg.detect_anomaly(strict=True), np.errstate(all="ignore"):
            with pytest.raises(dg.AnomalyError, match="forward of op 'log' produced nan"):
                x.log()
            y = (x.abs() - 1).sqrt().sum()  # sqrt(0): finite forward, inf gradient
            with pytest.raises(dg.AnomalyError, match="backward of op 'sqrt' produced inf"):
                y.backward()
        with dg.autograd.set_detect_anomaly(True, strict=True), np.errstate(all="ignore"):
            with pytest.raises(FloatingPointError):
                x.log()
        with dg.detect_anomaly(), np.errstate(all="ignore"):
            assert np.isnan(x.log().detach().numpy()[0])  # (not strict: no check)
    assert not dg.is_anomaly_enabled()
    assert dg.is_anomaly_check_nan_enabled()
