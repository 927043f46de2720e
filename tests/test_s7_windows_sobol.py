"""``deltagrad.signal.windows`` and ``deltagrad.quasirandom.SobolEngine`` against PyTorch:
window values, dtypes, shapes, gradients and errors; Sobol' points bit for bit (scrambled ones
with the same seed too)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402
from deltagrad.quasirandom import SobolEngine  # noqa: E402

WINDOWS = ["bartlett", "blackman", "cosine", "exponential", "gaussian", "general_hamming",
           "hamming", "hann", "kaiser", "nuttall"]


@pytest.mark.parametrize("name", WINDOWS)
def test_windows_match_torch(name):
    for M in (0, 1, 2, 5, 8, 33):
        for sym in (True, False):
            for d_dtype, t_dtype in ((dg.float32, torch.float32), (dg.float64, torch.float64),
                                     (None, None)):
                want = getattr(torch.signal.windows, name)(M, sym=sym, dtype=t_dtype)
                got = getattr(dg.signal.windows, name)(M, sym=sym, dtype=d_dtype)
                assert tuple(got.shape) == tuple(want.shape)
                assert str(got.dtype).rpartition(".")[2] == str(want.dtype).rpartition(".")[2]
                tolerance = 1e-6 if want.dtype == torch.float32 else 1e-13
                np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0,
                                           atol=tolerance)


@pytest.mark.parametrize("name, kwargs", [
    ("exponential", {"tau": 2.5}), ("exponential", {"center": 1.0, "sym": False}),
    ("gaussian", {"std": 0.4}), ("kaiser", {"beta": 0.0}), ("kaiser", {"beta": 5.5}),
    ("general_hamming", {"alpha": 0.7}), ("general_cosine", {"a": [0.5, 0.3, 0.2]}),
    ("general_cosine", {"a": (1.0,)}),
])
def test_window_parameters(name, kwargs):
    for M in (1, 6, 9):
        want = getattr(torch.signal.windows, name)(M, dtype=torch.float64, **kwargs)
        got = getattr(dg.signal.windows, name)(M, dtype=dg.float64, **kwargs)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=0, atol=1e-13)


@pytest.mark.parametrize("name, args, kwargs", [
    ("hann", (-1,), {}), ("hann", (4,), {"dtype": "int"}), ("gaussian", (4,), {"std": 0.0}),
    ("exponential", (4,), {"tau": -1.0}), ("exponential", (4,), {"center": 1.0}),
    ("kaiser", (4,), {"beta": -1.0}), ("general_cosine", (4,), {"a": []}),
    ("general_cosine", (4,), {"a": 3.0}),
])
def test_window_errors(name, args, kwargs):
    errors = []
    for m in (torch, dg):
        extra = {k: (m.int64 if v == "int" else v) for k, v in kwargs.items()}
        with pytest.raises(Exception) as info:
            getattr(m.signal.windows, name)(*args, **extra)
        errors.append(info.type)
    assert errors[0] is errors[1]


@pytest.mark.parametrize("name", ["hann", "exponential", "kaiser", "bartlett", "gaussian"])
def test_window_requires_grad(name):
    want = getattr(torch.signal.windows, name)(6, requires_grad=True)
    got = getattr(dg.signal.windows, name)(6, requires_grad=True)
    assert got.requires_grad == want.requires_grad
    assert (got.grad_fn is None) == (want.grad_fn is None)


def test_windows_module_paths():
    import deltagrad.signal.windows as windows

    assert windows.hann is dg.signal.windows.hann
    assert set(windows.__all__) >= set(WINDOWS) | {"general_cosine"}


# ----------------------------------------------------------------------------------------------
# SobolEngine.


@pytest.mark.parametrize("dimension", [1, 2, 7, 40])
@pytest.mark.parametrize("scramble, seed", [(False, None), (True, 0), (True, 1234)])
def test_sobol_draws_bit_for_bit(dimension, scramble, seed):
    ours = SobolEngine(dimension, scramble=scramble, seed=seed)
    theirs = torch.quasirandom.SobolEngine(dimension, scramble=scramble, seed=seed)
    for n, d_dtype, t_dtype in ((1, None, None), (6, dg.float64, torch.float64),
                                (3, None, None), (17, dg.float32, torch.float32)):
        got, want = ours.draw(n, dtype=d_dtype), theirs.draw(n, dtype=t_dtype)
        assert tuple(got.shape) == tuple(want.shape)
        assert str(got.dtype).rpartition(".")[2] == str(want.dtype).rpartition(".")[2]
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    ours.fast_forward(5)
    theirs.fast_forward(5)
    np.testing.assert_array_equal(ours.draw(4).numpy(), theirs.draw(4).numpy())
    ours.reset()
    theirs.reset()
    np.testing.assert_array_equal(ours.draw_base2(3, dtype=dg.float64).numpy(),
                                  theirs.draw_base2(3, dtype=torch.float64).numpy())
    assert ours.num_generated == theirs.num_generated
    assert repr(ours) == repr(theirs)


def test_sobol_first_draw_and_state():
    ours, theirs = SobolEngine(5, scramble=True, seed=3), torch.quasirandom.SobolEngine(
        5, scramble=True, seed=3)
    np.testing.assert_array_equal(ours.sobolstate.numpy(), theirs.sobolstate.numpy())
    np.testing.assert_array_equal(ours.shift.numpy(), theirs.shift.numpy())
    ours.fast_forward(3)
    theirs.fast_forward(3)  # (fast-forward before any draw skips the first point too)
    np.testing.assert_array_equal(ours.draw(2, dtype=dg.float64).numpy(),
                                  theirs.draw(2, dtype=torch.float64).numpy())
    np.testing.assert_array_equal(ours.quasi.numpy(), theirs.quasi.numpy())


def test_sobol_all_dimensions_table():
    ours = SobolEngine(SobolEngine.MAXDIM)
    theirs = torch.quasirandom.SobolEngine(torch.quasirandom.SobolEngine.MAXDIM)
    np.testing.assert_array_equal(ours.sobolstate.numpy(), theirs.sobolstate.numpy())


def test_sobol_scramble_uses_the_global_stream_without_seed():
    torch.manual_seed(5)
    dg.manual_seed(5)
    ours, theirs = SobolEngine(3, scramble=True), torch.quasirandom.SobolEngine(3, scramble=True)
    np.testing.assert_array_equal(ours.draw(4).numpy(), theirs.draw(4).numpy())


def test_sobol_out_and_errors():
    out = dg.zeros(1)
    result = SobolEngine(2).draw(3, out=out)
    assert result is out and tuple(out.shape) == (3, 2)
    for m in (torch.quasirandom, dg.quasirandom):
        with pytest.raises(ValueError):
            m.SobolEngine(0)
        with pytest.raises(ValueError):
            m.SobolEngine(21202)
        engine = m.SobolEngine(2)
        engine.draw(3)
        with pytest.raises(ValueError, match="power of 2"):
            engine.draw_base2(2)
