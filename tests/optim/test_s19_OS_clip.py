"""torch.nn.utils' gradient tools against PyTorch: clip_grad_norm_, clip_grad_value_,
get_total_norm, clip_grads_with_norm_, parameters_to_vector and vector_to_parameters.

Every norm type (2, 1, inf, -inf, 0, fractional, integer), dtype (float32/64, float16,
bfloat16, complex64), foreach setting, a parameter without a gradient and an empty one; the
total norm returned and every gradient after the call must match, errors by class.

Regressions (session 19): norm_type=0 raised ZeroDivisionError (PyTorch counts nonzeros);
-inf returned 1.0 (PyTorch: the smallest |g|); a complex gradient's 2-norm summed g*g (not
|g|^2) and came back complex; half-precision norms lost precision (PyTorch accumulates in
float32); a Tensor max_norm raised AttributeError; an inf norm over an empty gradient did
not raise; vector_to_parameters copied into the parameters instead of rebinding them to
slices of the vector (its dtype, sharing its memory) and refused a longer vector.
"""

from __future__ import annotations

import itertools
import math
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.dirname(__file__))
import s19_OS_compare as C  # noqa: E402

import deltagrad as dg  # noqa: E402

_RNG = np.random.default_rng(0)
_SHAPES = [(3, 4), (5,), ()]
_VALUES = [_RNG.standard_normal(s).astype(np.float32) * 3 for s in _SHAPES]
_GRADS = [_RNG.standard_normal(s).astype(np.float32) * 2 for s in _SHAPES]


def _params(L, dtype=None, none_index=None, complex_=False, empty=False):
    """Parameters with gradients (``none_index``: that one without; ``empty``: a (2, 0) one)."""
    values, grads = list(_VALUES), list(_GRADS)
    if empty:
        values.append(np.zeros((2, 0), np.float32))
        grads.append(np.zeros((2, 0), np.float32))
    out = []
    for i, (v, g) in enumerate(zip(values, grads)):
        if complex_:
            v, g = v + 1j * v, g - 0.5j * g
        p = L.nn.Parameter(L.tensor(v.copy()))
        if dtype is not None:
            p.data = p.data.to(getattr(L, dtype))
        if i != none_index:
            p.grad = L.tensor(g.copy()).to(p.dtype)
        out.append(p)
    return out


def _grads(ps):
    return [p.grad for p in ps]


NORMS = [2.0, 1.0, math.inf, -math.inf, 0.0, 0.5, 3]
DTYPES = [None, "float64", "float16", "bfloat16"]


def _clip_norm_case(dtype, norm, foreach, none_index, max_norm, empty=False):
    def case(L):
        ps = _params(L, dtype, none_index, empty=empty)
        total = L.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm, foreach=foreach)
        return total, _grads(ps)
    case.__name__ = f"clip_grad_norm_-{dtype}-{norm}-{foreach}-{none_index}-{max_norm}-{empty}"
    return case


CLIP_NORM = [_clip_norm_case(*args) for args in itertools.product(
    DTYPES, NORMS, [None, False], [None, 1], [1.0, 100.0])]
# an empty gradient: PyTorch refuses the (+-)inf norms (no identity), computes the others
CLIP_NORM += [_clip_norm_case(None, norm, foreach, None, 1.0, empty=True)
              for norm in NORMS for foreach in (None, True, False)]


def _named(name):
    def wrap(fn):
        fn.__name__ = name
        return fn
    return wrap


def _total_cases():
    out = []
    for norm, dtype in itertools.product(NORMS + [3.5], [None, "float64", "float16"]):
        @_named(f"get_total_norm-{norm}-{dtype}")
        def total(L, norm=norm, dtype=dtype):
            return L.nn.utils.get_total_norm(_grads(_params(L, dtype)), norm)

        @_named(f"clip_grads_with_norm_-{norm}-{dtype}")
        def with_norm(L, norm=norm, dtype=dtype):
            ps = _params(L, dtype)
            L.nn.utils.clip_grads_with_norm_(ps, 1.0, L.nn.utils.get_total_norm(_grads(ps), norm))
            return _grads(ps)
        out += [total, with_norm]
    return out


def _value_cases():
    out = []
    for dtype, value, foreach in itertools.product(DTYPES, [0.5, 2, 0.0], [None, True, False]):
        @_named(f"clip_grad_value_-{dtype}-{value}-{foreach}")
        def clip(L, dtype=dtype, value=value, foreach=foreach):
            ps = _params(L, dtype, 1)
            return L.nn.utils.clip_grad_value_(ps, value, foreach=foreach), _grads(ps)
        out.append(clip)
    return out


def complex_norm(L):
    ps = _params(L, complex_=True)
    return L.nn.utils.clip_grad_norm_(ps, 1.0), _grads(ps)


def complex_inf_norm(L):
    ps = _params(L, complex_=True)
    return L.nn.utils.clip_grad_norm_(ps, 1.0, norm_type="inf"), _grads(ps)


def tensor_max_norm(L):
    ps = _params(L)
    return L.nn.utils.clip_grad_norm_(ps, L.tensor(0.7)), _grads(ps)


def single_tensor_inf(L):
    ps = _params(L)
    return L.nn.utils.clip_grad_norm_(ps[0], 0.5, norm_type="inf"), ps[0].grad


def nonfinite_error(L):
    ps = _params(L)
    ps[0].grad[0, 0] = float("nan")
    return L.nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)


def nonfinite_scaled(L):
    ps = _params(L)
    ps[0].grad[0, 0] = float("inf")
    return L.nn.utils.clip_grad_norm_(ps, 1.0), _grads(ps)


def no_parameters(L):
    return L.nn.utils.clip_grad_norm_([], 1.0)


def generator_of_parameters(L):
    ps = _params(L)
    return L.nn.utils.clip_grad_norm_((p for p in ps), 1.0), _grads(ps)


def mixed_float64(L):
    ps = _params(L)
    ps[1].data = ps[1].data.double()
    ps[1].grad = ps[1].grad.double()
    return L.nn.utils.clip_grad_norm_(ps, 1.0), _grads(ps)


def mixed_float16(L):
    ps = _params(L)
    ps[0].data = ps[0].data.half()
    ps[0].grad = ps[0].grad.half()
    return L.nn.utils.clip_grad_norm_(ps, 1.0), _grads(ps)


def clip_value_tensor(L):
    ps = _params(L)
    L.nn.utils.clip_grad_value_(ps[0], L.tensor(0.3))
    return ps[0].grad


def total_norm_tensor_given(L):
    ps = _params(L)
    L.nn.utils.clip_grads_with_norm_(ps, 2.0, L.tensor(5.0, dtype=L.float64))
    return _grads(ps)


def total_norm_empty(L):
    return L.nn.utils.get_total_norm([])


def _vector_cases():
    out = []
    for dtype in (None, "float64", "float16"):
        @_named(f"parameters_to_vector-{dtype}")
        def roundtrip(L, dtype=dtype):
            ps = _params(L, dtype)
            v = L.nn.utils.parameters_to_vector(ps)
            L.nn.utils.vector_to_parameters(v * 2 + 1, ps)
            return v, [p.detach() for p in ps]
        out.append(roundtrip)
    return out


def vector_dtype_and_memory(L):
    """The parameters take the vector's dtype and share its memory (PyTorch: param.data =
    vec[slice].view_as(param))."""
    ps = _params(L)
    vec = L.arange(18, dtype=L.float64)
    L.nn.utils.vector_to_parameters(vec, ps)
    vec[0] = 100.0
    return [p.detach() for p in ps], [p.requires_grad for p in ps], [p.is_leaf for p in ps]


def vector_longer(L):
    ps = _params(L)
    L.nn.utils.vector_to_parameters(L.arange(30.0), ps)
    return [p.detach() for p in ps]


def vector_shorter(L):
    L.nn.utils.vector_to_parameters(L.zeros(3), _params(L))


def vector_not_tensor(L):
    L.nn.utils.vector_to_parameters([0.0] * 18, _params(L))


def vector_with_graph(L):
    ps = _params(L)
    v = L.arange(18.0, requires_grad=True)
    L.nn.utils.vector_to_parameters(v * 2, ps)
    return [p.detach() for p in ps], [p.requires_grad for p in ps], [p.grad_fn for p in ps]


def vector_mixed_dtypes(L):
    ps = _params(L)
    ps[1].data = ps[1].data.double()
    return L.nn.utils.parameters_to_vector(ps)


SINGLE = [complex_norm, complex_inf_norm, tensor_max_norm, single_tensor_inf, nonfinite_error,
          nonfinite_scaled, no_parameters, generator_of_parameters, mixed_float64, mixed_float16,
          clip_value_tensor, total_norm_tensor_given, total_norm_empty, vector_dtype_and_memory,
          vector_longer, vector_shorter, vector_not_tensor, vector_with_graph,
          vector_mixed_dtypes]
CASES = CLIP_NORM + _total_cases() + _value_cases() + _vector_cases() + SINGLE


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_nn_utils_against_pytorch(case):
    C.check(case, torch, dg)


def test_complex_norm_is_real_and_of_absolute_values():
    """The 2-norm of complex gradients is sqrt(sum |g|^2), a real number (was sum g^2)."""
    g = dg.tensor(np.array([3 + 4j, 1j], dtype=np.complex64))
    p = dg.nn.Parameter(dg.zeros(2, dtype=dg.complex64))
    p.grad = g
    total = dg.nn.utils.clip_grad_norm_([p], 100.0)
    assert total.dtype == dg.float32
    assert total.item() == pytest.approx(math.sqrt(26.0))
