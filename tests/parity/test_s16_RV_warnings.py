"""NumPy's floating-point RuntimeWarnings from the engine's kernels stay silent (as PyTorch gives
those inf / nan) whatever a program does to the warning filters after ``import deltagrad``:
``warnings.resetwarnings()``, ``simplefilter("always")`` (both used to bring the warnings back,
from deltagrad's own frames), ``simplefilter("error")`` and ``python -W error``; NumPy's own
warnings in the program stay as they were (s16 RV)."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops.elementwise_math import QUIET_ENGINE_CALLS

torch = pytest.importorskip("torch")


def _specials(lib):
    """Ops on inf / huge values whose NumPy kernels warn: forward and backward."""
    x = lib.tensor([math.inf, 3e38, 0.0, -math.inf], requires_grad=True)
    y = lib.tensor([math.inf, 3e38, math.inf, 1.0])
    out = (x - y) + x * y + lib.stack([x, -x]).sum(0) + x.cumsum(0) * 2
    loss = out.sum() + lib.nn.functional.mse_loss(x, y) + lib.logsumexp(x * y, 0)
    loss.backward()
    return [t.detach().to(lib.float64).numpy() for t in (out, loss, x.grad)]


def _filters(how):
    if how == "resetwarnings":
        warnings.resetwarnings()
    elif how == "always":
        warnings.simplefilter("always")
    elif how == "reset, then always for RuntimeWarning":
        warnings.resetwarnings()
        warnings.filterwarnings("always", category=RuntimeWarning)
    elif how == "error":
        warnings.simplefilter("error")


@pytest.mark.parametrize("how", ["resetwarnings", "always", "reset, then always for "
                                 "RuntimeWarning", "error"])
def test_engine_kernels_stay_silent_after_a_program_changes_the_filters(how):
    expected = _specials(torch)
    with warnings.catch_warnings(record=True) as seen:
        _filters(how)
        got = _specials(dg)
    assert not [f"{w.message} ({w.filename}:{w.lineno})" for w in seen
                if issubclass(w.category, RuntimeWarning)]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("how", ["resetwarnings", "always", "error"])
def test_numpy_itself_still_warns_after_a_program_changes_the_filters(how):
    with warnings.catch_warnings(record=True) as seen:
        _filters(how)
        if how == "error":
            with pytest.raises(RuntimeWarning, match="divide by zero"):
                np.log(np.zeros(2))
        else:
            np.log(np.zeros(2))
            assert any("divide by zero" in str(w.message) for w in seen)


def test_the_filters_come_back_only_once_at_the_head():
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("always")
        quiet = len(QUIET_ENGINE_CALLS)
        heads = warnings.filters[:quiet + 1]
        assert [f[0] for f in heads] == [f["action"] for f in QUIET_ENGINE_CALLS] + ["always"]
        assert len(warnings.filters) == quiet + 2  # (theirs, once each, then the program's two)


_SCRIPT = """
import warnings, math
import deltagrad as torch
x = torch.tensor([math.inf, 3e38, 0.0], requires_grad=True)
y = torch.tensor([math.inf, 3e38, math.inf])
((x - y) + x * y + x.cumsum(0)).sum().backward()
warnings.resetwarnings()  # (under -W error: the program's own filters gone too)
((x - y) * x).sum().backward()
print(x.grad.tolist())
"""


def test_a_program_run_with_W_error_runs():  # noqa: N802 - the flag's name
    done = subprocess.run([sys.executable, "-W", "error", "-c", _SCRIPT], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr[-2000:]
    x = torch.tensor([math.inf, 3e38, 0.0], requires_grad=True)
    y = torch.tensor([math.inf, 3e38, math.inf])
    ((x - y) + x * y + x.cumsum(0)).sum().backward()
    ((x - y) * x).sum().backward()
    np.testing.assert_allclose(eval(done.stdout.strip(), {"nan": math.nan, "inf": math.inf}),
                               x.grad.numpy(), equal_nan=True)
