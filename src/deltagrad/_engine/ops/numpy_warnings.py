"""NumPy's floating-point warnings on the engine's paths: ``ERR_STATE`` / ``IGNORE_ALL`` (the
error state set and reset around steps whose inf / nan are PyTorch's, silent), ``quietly`` and
``register_quiet`` (an op's forward so wrapped), and ``QUIET_ENGINE_CALLS``, the warning
filters (installed when this module is imported, and kept at the head of the filter list) that
raise the engine kernels' warnings as errors for their callers to answer quietly. Moved out of
ops/elementwise_math.py (session 27, FS1) to keep it under the 800-line limit;
elementwise_math imports them back (every importer unchanged).
"""

from __future__ import annotations

import warnings

import numpy as np

from .registry import register


class _SetErr:
    """NumPy 1.x: the error state's set / reset over np.seterr."""

    def set(self, _ignore):
        return np.seterr(all="ignore")

    def reset(self, saved):
        np.seterr(**saved)


def _error_state():
    # NumPy (>= 2) keeps its floating-point error state in a context variable: setting it to a
    # saved "ignore all" state and back costs 0.12 us where np.errstate costs 1.2 (a new object,
    # its keyword parsing) on a 0.3 us division of 8 x 8 float32. The saved state is made by
    # np.errstate itself, so its format is NumPy's own.
    try:
        from numpy._core._multiarray_umath import _extobj_contextvar as state
    except ImportError:  # pragma: no cover (NumPy 1.x)
        return _SetErr(), None
    with np.errstate(all="ignore"):
        return state, state.get()


# ERR_STATE.set(IGNORE_ALL) -> token; ERR_STATE.reset(token): NumPy's floating-point warnings off
# around steps whose inf / nan results are already PyTorch's, which gives them silently.
ERR_STATE, IGNORE_ALL = _error_state()


def quietly(function):
    """``function`` with NumPy's floating-point warnings off (ERR_STATE): the forward of an op
    whose inf / nan results (overflow, inf * 0, log 0, sqrt of a negative) are PyTorch's,
    which gives them silently. Costs 0.12 us of set / reset and a frame a call."""

    def quiet_function(*args, **kwargs):
        token = ERR_STATE.set(IGNORE_ALL)
        try:
            return function(*args, **kwargs)
        finally:
            ERR_STATE.reset(token)

    quiet_function.__name__ = getattr(function, "__name__", "forward")
    return quiet_function


# NumPy's floating-point warnings from the kernels the engine's op paths call (a ufunc called
# by ``_engine/tensor.py``'s ``apply``, ``_binary``, ``_unary``: inf - inf in add, inf * 0 in
# mul, overflow; the reductions', scans', activations' and norms' kernels, which run only
# under ``apply`` / ``api/_common.apply_checked`` or in backward, whose sweep has the warnings
# off) are raised as errors, which those calls catch (``except RuntimeWarning``, free until
# raised) and answer by calling the kernel again through ``elementwise.quiet``: PyTorch gives
# those inf / nan silently, and a user's warnings-as-errors filter takes the same path.
# np.errstate around every call would cost 0.12 us of a 1 us ``x + y`` (ERR_STATE) or 1.2.
# tensor.py's own casts are left out (its other code silences them where PyTorch does); other
# modules' frames do not match, so NumPy warnings anywhere else stay warnings.
QUIET_ENGINE_CALLS = (
    dict(action="error", category=RuntimeWarning, module=r"deltagrad\._engine\.tensor\Z",
         message=r"(invalid value|overflow|divide by zero) encountered in (?!cast)"),
    dict(action="error", category=RuntimeWarning,
         module=r"deltagrad\._engine\.ops\.(reductions|long_sums|cumulative|activations|vector_norm|"
                r"half)\Z",
         message=r"(invalid value|overflow|divide by zero) encountered in "),
    # matmul's, Linear's and the convolutions' products (inf * 0 in ``[[inf, 1]] @ [[0], [1]]``,
    # overflow): their forwards run under ``apply`` and threads.matmul_serial's pieces under it
    # or in backward, so only the products' own messages from these modules (PR8, session 24).
    dict(action="error", category=RuntimeWarning,
         module=r"deltagrad\.(_engine\.ops\.linalg|_engine\.threads|nn\.conv|nn\.conv2d_kernels)\Z",
         message=r"(invalid value|overflow) encountered in (dot|matmul)\Z"),
    # layer_norm's kernels (api/normalization.py catches: its forward runs outside apply) and
    # the pocketfft kernels ops/complex.py's _transform calls (and catches) (PR8)
    dict(action="error", category=RuntimeWarning,
         module=r"deltagrad\._engine\.ops\.normalization\Z",
         message=r"(invalid value|overflow|divide by zero) encountered in "),
    dict(action="error", category=RuntimeWarning, module=r"deltagrad\._engine\.ops\.complex\Z",
         message=r"(invalid value|overflow) encountered in (i?fft|rfft_n_even|rfft_n_odd|irfft)\Z"),
    # batch_norm's kernels (inf - inf in x - mean), the cross-entropy ops (x - max and the
    # float32 loss of +-3.4e38 logits: only those messages, as tests call dropout's forward
    # on inf directly) and the average pools' window sums (fold2d._sum_down; pooling2d's
    # loop), whose code runs only in those ops' forwards under ``apply`` or in backward (s25
    # BR8; errstate around each forward cost 0.6-1.0 us of a 8-25 us call).
    dict(action="error", category=RuntimeWarning, module=r"deltagrad\.nn\._batch_norm_kernels\Z",
         message=r"(invalid value|overflow|divide by zero) encountered in "),
    dict(action="error", category=RuntimeWarning, module=r"deltagrad\._engine\.ops\.nn\Z",
         message=r"(invalid value|overflow) encountered in (subtract|cast)\Z"),
    dict(action="error", category=RuntimeWarning, module=r"deltagrad\.nn\.fold2d\Z",
         message=r"(invalid value|overflow) encountered in (reduce|accumulate)\Z"),
    dict(action="error", category=RuntimeWarning, module=r"deltagrad\.nn\.pooling2d\Z",
         message=r"(invalid value|overflow) encountered in add\Z"),
    # Ignored, not raised: the casts that make a new tensor's float32 values (tensor([1e300],
    # dtype=float32), arange) or write into a narrower one (copy_, x[i] = v, x += big into
    # float16) overflow to inf silently in PyTorch; NumPy warned (s26 BR13). tensor.py's
    # __array__(dtype) cast is left out: PyTorch's warns there too.
    dict(action="ignore", category=RuntimeWarning,
         module=r"deltagrad\._engine\.(dtypes|api\.ramp|api\.inplace)\Z",
         message=r"overflow encountered in cast\Z"))
for _filter in reversed(QUIET_ENGINE_CALLS):
    warnings.filterwarnings(**_filter)
_QUIET_FILTERS = warnings.filters[:len(QUIET_ENGINE_CALLS)]  # (as the warnings module keeps them)


_MUTATED = getattr(warnings, "_filters_mutated", None)  # (CPython's: clears the warn caches)


def _quiet_filters_first() -> None:
    # A program's resetwarnings(), simplefilter("always") or pytest's per-test filters would
    # drop the filters above or shadow them (the warnings came back, from the engine's frames):
    # every change of the filter list through the warnings module (which then calls
    # _filters_mutated; catch_warnings' entry and exit too) puts them back at its head. Free
    # on the op paths; a catch_warnings block with a filter in it pays about 1.4 us more
    # (3.2 against 1.7 us: thread time, /tmp A/B alternated).
    _MUTATED()
    filters = warnings.filters
    if filters[:len(_QUIET_FILTERS)] != _QUIET_FILTERS:
        filters[:] = _QUIET_FILTERS + [f for f in filters if f not in _QUIET_FILTERS]
        _MUTATED()


if callable(_MUTATED):
    warnings._filters_mutated = _quiet_filters_first


def register_quiet(name: str, *, forward, **options):
    """``register`` with the forward made ``quietly``."""
    return register(name, forward=quietly(forward), **options)
