"""torch.stft / torch.istft against PyTorch: values, shapes and gradients (input and window),
the round trip, and the errors."""

import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
X = RNG.standard_normal((2, 40))
X2 = RNG.standard_normal((2, 40))
HANN = np.hanning(8)


def check(fn, *arrays):
    results = []
    for m in (torch, dg):
        leaves = [m.tensor(a, requires_grad=True) for a in arrays]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # (PyTorch: no window given)
            out = fn(m, *leaves)
        pairs = m.view_as_real(out.resolve_conj()) if out.is_complex() else out
        weights = m.from_numpy(np.cos(np.arange(pairs.numel())).reshape(pairs.shape))
        (pairs * weights).sum().backward()
        results.append((pairs.detach().numpy(), [leaf.grad.numpy() for leaf in leaves]))
    (want, want_grads), (got, got_grads) = results
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-10)
    for g, w in zip(got_grads, want_grads):
        np.testing.assert_allclose(g, w, atol=1e-10)


@pytest.mark.parametrize("fn", [
    lambda m, a: m.stft(a, 8, return_complex=True),
    lambda m, a: m.stft(a[0], 8, hop_length=3, return_complex=True),
    lambda m, a: a.stft(8, center=False, return_complex=True, onesided=False),
    lambda m, a: m.stft(a, 8, pad_mode="constant", return_complex=False),
    lambda m, a: m.stft(a, 7, hop_length=2, pad_mode="replicate", return_complex=True),
], ids=["default", "1-d", "two-sided", "pairs", "odd"])
def test_stft(fn):
    check(fn, X)


@pytest.mark.parametrize("win_length", [8, 6, 5])
def test_stft_window_gradient(win_length):
    check(lambda m, a, w: m.stft(a, 8, window=w, win_length=win_length, normalized=True,
                                 return_complex=True), X, HANN[:win_length])


def test_stft_of_complex_input():
    check(lambda m, a, b: m.stft(m.complex(a, b), 8, return_complex=True), X, X2)


@pytest.mark.parametrize("fn", [
    lambda m, a, w: m.istft(m.stft(a, 8, window=w, return_complex=True), 8, window=w),
    lambda m, a, w: a.stft(8, window=w, return_complex=True, onesided=False).istft(
        8, window=w, onesided=False),
    lambda m, a, w: m.istft(m.stft(a[0], 8, window=w, hop_length=4, return_complex=True), 8,
                            hop_length=4, window=w, length=30),
    lambda m, a, w: m.istft(m.stft(a * w.sum(), 8, return_complex=True), 8, length=46),
    lambda m, a, w: m.istft(m.stft(a * w.sum(), 8, return_complex=True, normalized=True,
                                   center=False), 8, normalized=True, center=False),
], ids=["hann", "two-sided", "short", "long", "normalized"])
def test_istft(fn):
    check(fn, X, HANN)


def test_istft_returning_complex():
    check(lambda m, a, b, w: m.istft(m.stft(m.complex(a, b), 8, window=w, return_complex=True),
                                     8, window=w, return_complex=True), X, X2, HANN)


def test_round_trip():
    x = dg.from_numpy(X.copy())
    window = dg.hann_window(16, dtype=dg.float64)
    spec = dg.stft(x, 16, hop_length=4, window=window, return_complex=True)
    back = dg.istft(spec, 16, hop_length=4, window=window, length=40)
    np.testing.assert_allclose(back.numpy(), X, atol=1e-12)


@pytest.mark.parametrize("make", [
    lambda m: m.stft(m.ones(20), 8),
    lambda m: m.stft(m.ones(20), 40, return_complex=True),
    lambda m: m.stft(m.ones(20), 8, hop_length=0, return_complex=True),
    lambda m: m.stft(m.ones(20), 8, win_length=9, return_complex=True),
    lambda m: m.stft(m.ones(20), 8, window=m.ones(7), return_complex=True),
    lambda m: m.stft(m.ones(2, 2, 20), 8, return_complex=True),
    lambda m: m.stft(m.ones(20, dtype=m.complex64), 8, onesided=True, return_complex=True),
    lambda m: m.istft(m.ones(5, 11), 8),
    lambda m: m.istft(m.ones(5, 11, dtype=m.complex64), 10),
    lambda m: m.istft(m.ones(5, 11, dtype=m.complex64), 8, window=m.zeros(8)),
], ids=["no-return_complex", "pad", "hop", "win_length", "window", "3-d", "onesided-complex",
        "istft-real", "istft-size", "istft-zero-window"])
def test_errors(make):
    with pytest.raises(RuntimeError):
        make(torch)
    with pytest.raises(RuntimeError):
        make(dg)
