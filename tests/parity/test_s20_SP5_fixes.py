"""Parity edges of special functions (s20 SP5): zeta and igamma / igammac on a grid of special
values (zeros of both signs, infinities, nan, negatives) against PyTorch.

PyTorch's kernels decide these by the order of their checks and by IEEE arithmetic in their
loops: zeta(inf, 1) = 1, zeta(nan, 0) = inf, zeta(1, nan) = inf, igamma(nan, 0) = 0,
igammac(nan, 0) = 1 (nan before the fixes). Finite regular pairs differ from PyTorch by a few
ulps (another summation), hence the tolerance; specials must match exactly (assert_allclose
compares infinities and nan positions exactly)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import special_extra, statistics

torch = pytest.importorskip("torch")

SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -2.5, -0.5, 0.5, 1.0, 1.5, 2.0, 3.0]
PAIRS = np.array(list(itertools.product(SPECIALS, SPECIALS))).T  # [2, 169]


@pytest.mark.parametrize("scipy", [True, False], ids=["scipy", "numpy"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", ["special.zeta", "igamma", "igammac", "special.gammainc",
                                  "special.gammaincc"])
def test_special_grid(name, dtype, scipy, monkeypatch):
    # (both kernels: SciPy's where installed, the NumPy ones otherwise)
    monkeypatch.setattr(special_extra, "USE_SCIPY", scipy)
    monkeypatch.setattr(statistics, "USE_SCIPY", scipy)
    results = []
    for m in (dg, torch):
        function = m
        for part in name.split("."):
            function = getattr(function, part)
        first, second = (m.tensor(row, dtype=getattr(m, dtype)) for row in PAIRS)
        out = function(first, second)
        assert str(out.dtype).split(".")[-1] == dtype
        results.append(out.numpy().astype(np.float64))
    ours, theirs = results
    rtol = 1e-12 if dtype == "float64" else 1e-6
    # (an element's own message: which pair differs)
    wrong = ~np.isclose(ours, theirs, rtol=rtol, atol=0, equal_nan=True)
    assert not wrong.any(), [(PAIRS[0][i], PAIRS[1][i], ours[i], theirs[i])
                             for i in np.flatnonzero(wrong)]


@pytest.mark.parametrize("name, a, b, expected", [
    ("special.zeta", np.inf, 1.0, 1.0),
    ("special.zeta", np.inf, 0.5, np.inf),
    ("special.zeta", np.inf, -2.5, np.inf),
    ("special.zeta", np.nan, 0.0, np.inf),
    ("special.zeta", np.nan, -np.inf, np.inf),
    ("special.zeta", 1.0, np.nan, np.inf),
    ("igamma", np.nan, 0.0, 0.0),
    ("igamma", np.nan, -0.0, 0.0),
    ("igammac", np.nan, 0.0, 1.0),
])
def test_named_edges(name, a, b, expected):
    for m in (dg, torch):
        function = m
        for part in name.split("."):
            function = getattr(function, part)
        value = function(m.tensor([a, 2.0]), m.tensor([b, 3.0]))[0].item()
        assert value == expected, (m.__name__, value)


def test_zeta_edges_in_a_large_array():
    # (the SciPy path checks the regular domain first; edges inside a large array too)
    rng = np.random.default_rng(0)
    x = rng.uniform(1.5, 4.0, 64)
    q = rng.uniform(0.5, 3.0, 64)
    x[[3, 10, 20]] = [np.inf, np.nan, 1.0]
    q[[3, 10, 20]] = [1.0, 0.0, np.nan]
    ours = dg.special.zeta(dg.tensor(x), dg.tensor(q)).numpy()
    theirs = torch.special.zeta(torch.tensor(x), torch.tensor(q)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours[3] == 1.0 and ours[10] == np.inf and ours[20] == np.inf
