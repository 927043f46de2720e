"""Primitive operations: each one's forward over ndarrays, its VJP rule and its test samples.

An op is a name with three things registered beside it (see ``register``):

- ``forward(*arrays, **attrs) -> ndarray``: the value, computed with NumPy on whole arrays.
- ``vjp(F, g, out, *inputs, **attrs) -> tuple``: the vector-Jacobian product, one gradient per
  input (``None`` where an input takes no gradient, such as an index). ``g`` is the upstream
  gradient (the lecture's δ), ``out`` the op's own output, ``inputs`` what it was applied to.
  ``F`` is the namespace the rule computes with: ``ARRAY`` (NumPy, for ordinary first-order
  backward) or the Tensor namespace (so that the rule itself is recorded and can be
  differentiated again, for ``create_graph=True``). Writing each rule once against ``F`` is what
  makes higher-order gradients cost nothing on the first-order path.
- ``samples(rng) -> list[Sample]``: inputs on which the test suite gradchecks the op. An op
  cannot be registered without them, so an untested op cannot exist.

Rules return gradients shaped like the *broadcast* result where that is natural; the engine sums
broadcast axes back to each input's shape in one place and checks every gradient's shape.

This module imports only NumPy.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._buffers import empty
from ._sparse import RowSparseGrad, add_rows_at

__all__ = ["ARRAY", "OPS", "Op", "Sample", "register"]


@dataclass
class Sample:
    """Inputs on which an op is gradchecked: arrays (float ones are differentiated) + attributes."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    note: str = ""
    second_order: bool = True  # False where a kink makes the second derivative undefined


class Op:
    """A registered primitive. See the module docstring for the three parts."""

    __slots__ = ("name", "forward", "vjp", "samples", "wants_needs", "second_order")

    def __init__(self, name, forward, vjp, samples, wants_needs, second_order):
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.samples = samples
        self.wants_needs = wants_needs
        self.second_order = second_order

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


OPS: dict[str, Op] = {}


def register(
    name: str,
    *,
    forward: Callable,
    vjp: Callable,
    samples: Callable[[np.random.Generator], list[Sample]],
    wants_needs: bool = False,
    second_order: bool = True,
) -> Op:
    """Register a primitive op.

    Args:
        name: unique op name, used in error messages and graph printouts.
        forward: ``forward(*arrays, **attrs) -> ndarray``.
        vjp: ``vjp(F, g, out, *inputs, **attrs) -> tuple`` with one entry per input. If
            ``wants_needs`` is true it also receives ``needs=`` (a tuple of bools saying which
            inputs require a gradient) so that it can skip costly work.
        samples: ``samples(rng) -> list[Sample]``, required: the test suite gradchecks every
            registered op on them (and checks second derivatives when ``second_order``).
        wants_needs: pass ``needs`` to the rule.
        second_order: whether the rule is itself differentiable (checked by gradgradcheck).

    Returns:
        The registered ``Op``.
    """
    if name in OPS:
        raise ValueError(f"op {name!r} is already registered")
    if samples is None or not callable(samples):
        raise TypeError(f"op {name!r}: a sample spec (samples=callable) is required")
    op = Op(name, forward, vjp, samples, wants_needs, second_order)
    OPS[name] = op
    return op


# --------------------------------------------------------------------------------------------
# The NumPy namespace that rules compute with on the first-order path. The Tensor namespace in
# _tensor.py has the same names, each a differentiable op.


def _sum(x, axis=None, keepdims=False):
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return np.add.reduce(x, axis=axis, keepdims=keepdims)  # np.sum, less dispatch
    return np.sum(x, axis=axis, keepdims=keepdims)


def _reshape(x, shape):
    # The array method when there is one: np.reshape's dispatch costs more than the reshape.
    return x.reshape(shape) if type(x) is np.ndarray else np.reshape(x, shape)


def _index_add_zeros(g, index, shape, dtype):
    """Zeros of ``shape`` with ``g`` added at ``index`` (duplicates accumulate)."""
    out = np.zeros(shape, dtype=dtype)
    if _is_basic_index(index):
        out[index] = g
    elif (isinstance(index, tuple) and len(index) == 1 and isinstance(index[0], np.ndarray)
          and index[0].ndim == 1 and index[0].dtype.kind in "iu"):
        add_rows_at(out, index[0], g)  # whole rows (index_select, embedding): the fast scatter
    else:
        np.add.at(out, index, g)
    return out


class _ArrayNamespace:
    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    sqrt = staticmethod(np.sqrt)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    zeros_like = staticmethod(np.zeros_like)
    ones_like = staticmethod(np.ones_like)
    where = staticmethod(np.where)
    matmul = staticmethod(np.matmul)
    reshape = staticmethod(_reshape)
    transpose = staticmethod(np.transpose)
    swapaxes = staticmethod(np.swapaxes)
    expand = staticmethod(np.broadcast_to)
    concatenate = staticmethod(np.concatenate)
    sum = staticmethod(_sum)
    index_add_zeros = staticmethod(_index_add_zeros)

    @staticmethod
    def normal_cdf(x):
        return 0.5 * (1.0 + _erf(x / _SQRT_2))

    @staticmethod
    def getitem(x, index):
        return x[index]

    @staticmethod
    def cast(x, dtype):
        return x.astype(dtype, copy=False)

    @staticmethod
    def const(x):
        """A value the rule uses without differentiating through it (a mask, a sign)."""
        return x

    @staticmethod
    def data(x):
        """The ndarray behind ``x`` (identity for arrays)."""
        return x


ARRAY = _ArrayNamespace()


# --------------------------------------------------------------------------------------------
# Helpers shared by forwards and rules.


def _float(x):
    """Integer or boolean input to a floating op computes in float32, as in PyTorch.

    Plain ufunc forwards (exp, tanh, ...) skip this: NumPy gives them float64 for integer
    input, and the Tensor layer turns a float64 result of non-float64 inputs into float32.
    """
    return x if x.dtype.kind in "fc" else x.astype(np.float32)


def _keep(g, x_ndim, dim, keepdim):
    """Reshape a reduced gradient so it broadcasts against the input again."""
    if keepdim or dim is None:
        return g  # already broadcastable (a full reduction without keepdim is a scalar)
    dims = (dim,) if isinstance(dim, int) else dim
    dims = sorted(d % x_ndim for d in dims)
    shape = list(g.shape)
    for d in dims:
        shape.insert(d, 1)
    return g.reshape(tuple(shape))


def _axis(dim):
    return tuple(dim) if isinstance(dim, list) else dim


def _count(shape, dim):
    if dim is None:
        return math.prod(shape)
    dims = (dim,) if isinstance(dim, int) else dim
    return math.prod(shape[d] for d in dims)


def _is_basic_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if isinstance(item, np.ndarray) or isinstance(item, list):
            return False
    return True


# --------------------------------------------------------------------------------------------
# Sample helpers: shapes the gradchecks sweep (scalar, vector, matrix, broadcast pairs).

_UNARY_SHAPES = [(), (5,), (3, 4), (2, 3, 2)]
_BINARY_SHAPES = [
    ((), ()),
    ((4,), (4,)),
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), ()),
    ((), (2, 3)),
]


def _away_from(rng, shape, points=(0.0,), low=-2.0, high=2.0, gap=0.1):
    """Uniform values kept ``gap`` away from kinks so central differences are meaningful."""
    x = rng.uniform(low, high, size=shape)
    for p in points:
        near = np.abs(x - p) < gap
        x = np.where(near, p + np.sign(x - p + 1e-12) * gap * 2, x)
    return x


def _unary_samples(low=-2.0, high=2.0, kinks=(), **kwargs):
    def samples(rng):
        return [
            Sample((_away_from(rng, s, kinks, low, high) if kinks else rng.uniform(low, high, s),),
                   dict(kwargs))
            for s in _UNARY_SHAPES
        ]

    return samples


def _binary_samples(low=-2.0, high=2.0, y_low=None, y_high=None):
    y_low = low if y_low is None else y_low
    y_high = high if y_high is None else y_high

    def samples(rng):
        return [Sample((rng.uniform(low, high, sx), rng.uniform(y_low, y_high, sy)))
                for sx, sy in _BINARY_SHAPES]

    return samples


def _reduce_samples(extra=None):
    def samples(rng):
        x3 = rng.standard_normal((2, 3, 4))
        out = [
            Sample((rng.standard_normal(()),), {"dim": None, "keepdim": False}),
            Sample((rng.standard_normal((5,)),), {"dim": None, "keepdim": False}),
            Sample((rng.standard_normal((5,)),), {"dim": 0, "keepdim": True}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 1, "keepdim": False}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 0, "keepdim": True}),
            Sample((x3,), {"dim": (0, 2), "keepdim": False}),
            Sample((x3,), {"dim": -1, "keepdim": True}),
            Sample((x3,), {"dim": None, "keepdim": True}),
        ]
        return out + (extra(rng) if extra else [])

    return samples


# --------------------------------------------------------------------------------------------
# Elementwise binary ops (NumPy broadcasting; the engine reduces gradients back to shape).


def _add_vjp(F, g, out, x, y):
    return g, g


register("add", forward=np.add, vjp=_add_vjp, samples=_binary_samples())


def _sub_vjp(F, g, out, x, y):
    return g, -g


register("sub", forward=np.subtract, vjp=_sub_vjp, samples=_binary_samples())


def _mul_vjp(F, g, out, x, y):
    return g * y, g * x


register("mul", forward=np.multiply, vjp=_mul_vjp, samples=_binary_samples())


def _div_forward(x, y):
    out = np.true_divide(x, y)
    if x.dtype.kind not in "fc" and y.dtype.kind not in "fc":
        out = out.astype(np.float32)  # int / int is float32 in PyTorch
    return out


def _div_vjp(F, g, out, x, y):
    gx = g / y
    return gx, -gx * out


register("div", forward=_div_forward, vjp=_div_vjp,
         samples=_binary_samples(y_low=0.5, y_high=2.0))


def _pow_vjp(F, g, out, x, y, needs):
    # d(x^y)/dx = y x^(y-1); d(x^y)/dy = x^y log x.
    gx = g * y * x ** (y - 1) if needs[0] else None
    gy = None
    if needs[1]:
        # NOTE: at x == 0 with y >= 0 the exponent's gradient is taken as 0 (PyTorch's choice),
        # instead of 0 * log 0 = nan.
        zero = F.const((F.data(x) == 0) & (F.data(y) >= 0))
        safe_log = F.log(F.where(zero, F.ones_like(x), x))
        gy = F.where(zero, F.zeros_like(out), g * out * safe_log)
    return gx, gy


register("pow", forward=lambda x, y: np.power(_float(x), y), vjp=_pow_vjp, wants_needs=True,
         samples=_binary_samples(low=0.5, high=2.0, y_low=-1.5, y_high=2.5))


def _powc_vjp(F, g, out, x, *, exponent):
    if exponent == 0:
        return (g * 0.0,)
    if exponent == 2:
        return (g * (2.0 * x),)
    return (g * (exponent * x ** (exponent - 1)),)


def _powc_samples(rng):
    out = []
    for c in (2, 3, 0.5, -1.0, 1.5, 0):
        for s in ((), (4,), (2, 3)):
            out.append(Sample((rng.uniform(0.5, 2.0, s),), {"exponent": c}))
    out.append(Sample((rng.uniform(-2, 2, (3, 3)),), {"exponent": 2}, "negative base"))
    out.append(Sample((rng.uniform(-2, 2, (3, 3)),), {"exponent": 3}, "negative base"))
    return out


register("pow_scalar", forward=lambda x, *, exponent: np.power(_float(x), exponent),
         vjp=_powc_vjp, samples=_powc_samples)


def _maximum_like(pick_x):
    def vjp(F, g, out, x, y):
        # NOTE: where x == y the gradient is split evenly between the two inputs, as PyTorch's
        # maximum/minimum do ("max routes", and a tie routes half each way).
        xd, yd = F.data(x), F.data(y)
        wins = (xd > yd) if pick_x else (xd < yd)
        wx = np.where(xd == yd, 0.5, wins).astype(F.data(g).dtype)
        return g * F.const(wx), g * F.const(1.0 - wx)

    return vjp


def _distinct_pairs(rng):
    """Broadcast pairs whose elements never tie (ties are pinned by their own tests)."""
    out = []
    for sx, sy in _BINARY_SHAPES:
        while True:
            x, y = rng.uniform(-2, 2, sx), rng.uniform(-2, 2, sy)
            if np.min(np.abs(x - y)) > 0.05:
                break
        out.append(Sample((x, y)))
    return out


register("maximum", forward=np.maximum, vjp=_maximum_like(True), samples=_distinct_pairs)
register("minimum", forward=np.minimum, vjp=_maximum_like(False), samples=_distinct_pairs)


def _where_vjp(F, g, out, cond, x, y):
    zero = F.zeros_like(g)
    return None, F.where(cond, g, zero), F.where(cond, zero, g)


def _where_samples(rng):
    out = []
    for sc, sx, sy in (((4,), (4,), (4,)), ((3, 4), (3, 4), (4,)), ((3, 1), (1, 4), ())):
        out.append(Sample((rng.uniform(size=sc) > 0.5, rng.standard_normal(sx),
                           rng.standard_normal(sy))))
    return out


register("where", forward=np.where, vjp=_where_vjp, samples=_where_samples)


# --------------------------------------------------------------------------------------------
# Elementwise unary ops.


register("neg", forward=np.negative, vjp=lambda F, g, out, x: (-g,), samples=_unary_samples())
register("exp", forward=np.exp, vjp=lambda F, g, out, x: (g * out,),
         samples=_unary_samples())
register("log", forward=np.log, vjp=lambda F, g, out, x: (g / x,),
         samples=_unary_samples(0.2, 3.0))
register("sqrt", forward=np.sqrt,
         vjp=lambda F, g, out, x: (g / (2.0 * out),), samples=_unary_samples(0.2, 3.0))
register("sin", forward=np.sin, vjp=lambda F, g, out, x: (g * F.cos(x),),
         samples=_unary_samples())
register("cos", forward=np.cos, vjp=lambda F, g, out, x: (-g * F.sin(x),),
         samples=_unary_samples())
def _tanh_vjp(F, g, out, x):
    if F is ARRAY and out.ndim:  # the same products, in one new array instead of three
        d = out * out
        np.subtract(_one(d.dtype), d, out=d)
        return (np.multiply(g, d, out=d),)
    return (g * (1.0 - out * out),)


_ONES: dict = {}


def _one(dtype):
    """1 as a NumPy scalar of ``dtype``: a ufunc converts a Python float on every call."""
    one = _ONES.get(dtype)
    if one is None:
        one = _ONES[dtype] = dtype.type(1)
    return one


register("tanh", forward=np.tanh, vjp=_tanh_vjp, samples=_unary_samples())


def _abs_vjp(F, g, out, x):
    # NOTE: abs'(0) = sign(0) = 0, the subgradient PyTorch uses.
    return (g * F.const(np.sign(F.data(x))),)


register("abs", forward=np.abs, vjp=_abs_vjp, samples=_unary_samples(kinks=(0.0,)))


def _sigmoid_forward(x):
    x = _float(x)
    # NOTE: written via tanh so that large |x| neither overflows exp nor loses precision.
    return 0.5 * (1.0 + np.tanh(0.5 * x))


register("sigmoid", forward=_sigmoid_forward,
         vjp=lambda F, g, out, x: (g * (out * (1.0 - out)),), samples=_unary_samples(-4, 4))


def _relu_vjp(F, g, out, x):
    # NOTE: relu'(0) = 0, as in PyTorch.
    if F is ARRAY:  # first order: the product goes into a recycled buffer (_buffers)
        return (np.multiply(g, x > 0, out=empty(g.shape, g.dtype)),)
    return (g * F.const(F.data(x) > 0),)


register("relu", forward=lambda x: np.maximum(x, 0), vjp=_relu_vjp,
         samples=_unary_samples(kinks=(0.0,)))


def _leaky_relu_forward(x, *, negative_slope=0.01):
    return np.where(x > 0, x, x * negative_slope)


def _leaky_relu_vjp(F, g, out, x, *, negative_slope=0.01):
    # NOTE: at x == 0 the slope is negative_slope, as in PyTorch.
    xd = F.data(x)
    slope = np.where(xd > 0, 1.0, negative_slope).astype(xd.dtype)
    return (g * F.const(slope),)


register("leaky_relu", forward=_leaky_relu_forward, vjp=_leaky_relu_vjp,
         samples=_unary_samples(kinks=(0.0,), negative_slope=0.1))


def _hardtanh_forward(x, *, min_val=-1.0, max_val=1.0):
    return np.clip(x, min_val, max_val)


def _hardtanh_vjp(F, g, out, x, *, min_val=-1.0, max_val=1.0):
    # NOTE: the gradient is 0 at the bounds themselves (open interval), as PyTorch's hardtanh;
    # clamp, by contrast, passes it at the bounds.
    xd = F.data(x)
    return (g * F.const((xd > min_val) & (xd < max_val)),)


register("hardtanh", forward=_hardtanh_forward, vjp=_hardtanh_vjp,
         samples=_unary_samples(-2, 2, kinks=(-1.0, 1.0)))


def _clamp_forward(x, *, min=None, max=None):
    return np.clip(x, min, max)


def _clamp_vjp(F, g, out, x, *, min=None, max=None):
    # NOTE: the gradient passes where min <= x <= max, bounds included, as PyTorch's clamp.
    xd = F.data(x)
    mask = np.ones(xd.shape, dtype=bool)
    if min is not None:
        mask &= xd >= min
    if max is not None:
        mask &= xd <= max
    return (g * F.const(mask),)


def _clamp_samples(rng):
    out = []
    for kw in ({"min": -0.5, "max": 0.7}, {"min": -0.5}, {"max": 0.3}):
        for s in ((), (6,), (3, 4)):
            out.append(Sample((_away_from(rng, s, (-0.5, 0.7, 0.3), gap=0.05),), kw))
    return out


register("clamp", forward=_clamp_forward, vjp=_clamp_vjp, samples=_clamp_samples)


def _softplus_forward(x, *, beta=1.0, threshold=20.0):
    x = _float(x)
    bx = beta * x
    # NOTE: logaddexp(0, bx) is log(1 + exp(bx)) without overflow; above the threshold the
    # function is linear, as PyTorch's.
    return np.where(bx > threshold, x, np.logaddexp(0.0, bx) / beta).astype(x.dtype, copy=False)


def _softplus_vjp(F, g, out, x, *, beta=1.0, threshold=20.0):
    xd = F.data(x)
    linear = F.const(beta * xd > threshold)
    # sigmoid(beta x) = 1 - exp(-beta * softplus(x))
    s = 1.0 - F.exp(-beta * out)
    return (F.where(linear, g, g * s),)


register("softplus", forward=_softplus_forward, vjp=_softplus_vjp,
         samples=_unary_samples(-3, 3, beta=1.5))

_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _erf(x):
    """Vectorised error function, accurate to about 1e-15 in float64.

    NumPy has no erf and deltagrad's core needs only NumPy: a Maclaurin series for |x| < 2.5
    and a continued fraction for erfc beyond, both evaluated on whole arrays.
    """
    x = np.asarray(x)
    a = np.abs(x).astype(np.float64)
    small = a < 2.5
    # Series: erf(a) = 2/sqrt(pi) * sum_n (-1)^n a^(2n+1) / (n! (2n+1)).
    s = np.where(small, a, 0.0)
    term = s.copy()
    total = s.copy()
    s2 = s * s
    for n in range(1, 60):
        term = -term * s2 / n
        total = total + term / (2 * n + 1)
    series = total * (2.0 / math.sqrt(math.pi))
    # Continued fraction: erfc(a) = exp(-a^2)/sqrt(pi) / (a + 1/2/(a + 1/(a + 3/2/(a + ...)))).
    b = np.where(small, 3.0, a)
    f = b.copy()
    for k in range(60, 0, -1):
        f = b + (k / 2.0) / f
    cf = 1.0 - np.exp(-b * b) / (math.sqrt(math.pi) * f)
    result = np.where(small, series, cf)
    return (np.sign(x) * result).astype(x.dtype if x.dtype.kind == "f" else np.float64)


def _gelu_forward(x, *, approximate="none"):
    x = _float(x)
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)))
    return 0.5 * x * (1.0 + _erf(x / _SQRT_2))


def _gelu_vjp(F, g, out, x, *, approximate="none"):
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)
        t = _gelu_tanh(F, inner)
        d_inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * x * x)
        return (g * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * d_inner),)
    # gelu(x) = x Phi(x); gelu'(x) = Phi(x) + x phi(x).
    cdf = F.normal_cdf(x)
    pdf = _INV_SQRT_2PI * F.exp(-0.5 * x * x)
    return (g * (cdf + x * pdf),)


def _gelu_tanh(F, inner):
    return np.tanh(inner) if F is ARRAY else inner.tanh()


register("gelu", forward=_gelu_forward, vjp=_gelu_vjp,
         samples=lambda rng: _unary_samples(-3, 3)(rng)
         + _unary_samples(-3, 3, approximate="tanh")(rng))


def _normal_cdf_vjp(F, g, out, x):
    return (g * (_INV_SQRT_2PI * F.exp(-0.5 * x * x)),)


register("normal_cdf", forward=lambda x: 0.5 * (1.0 + _erf(_float(x) / _SQRT_2)),
         vjp=_normal_cdf_vjp, samples=_unary_samples(-3, 3))


def _cast_vjp(F, g, out, x, *, dtype):
    return (F.cast(g, F.data(x).dtype),)


register("cast", forward=lambda x, *, dtype: x.astype(dtype), vjp=_cast_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((3, 2)),), {"dtype": np.float64})])


# --------------------------------------------------------------------------------------------
# Reductions. ``dim`` may be None, an int or a tuple of ints; ``keepdim`` as in PyTorch.


def _sum_vjp(F, g, out, x, *, dim=None, keepdim=False):
    return (F.expand(_keep(g, x.ndim, dim, keepdim), x.shape),)


register("sum", forward=lambda x, *, dim=None, keepdim=False: np.sum(
    x, axis=_axis(dim), keepdims=keepdim), vjp=_sum_vjp, samples=_reduce_samples())


def _mean_vjp(F, g, out, x, *, dim=None, keepdim=False):
    n = _count(x.shape, dim)
    return (F.expand(_keep(g, x.ndim, dim, keepdim) * (1.0 / n), x.shape),)


register("mean", forward=lambda x, *, dim=None, keepdim=False: np.mean(
    _float(x), axis=_axis(dim), keepdims=keepdim), vjp=_mean_vjp, samples=_reduce_samples())


def _extreme_vjp(F, g, out, x, *, dim=None, keepdim=False):
    # NOTE: ties split the gradient evenly among the tied maxima (PyTorch's amax/amin, and its
    # max()/min() without dim). max(dim=...) instead routes to the returned index: see gather.
    out_k = F.data(_keep(out, x.ndim, dim, keepdim))
    mask = (F.data(x) == out_k)
    share = mask / np.sum(mask, axis=_axis(dim), keepdims=True)
    return (_keep(g, x.ndim, dim, keepdim) * F.const(share.astype(F.data(x).dtype)),)


def _tie_extra(rng):
    return [Sample((np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.5]]),), {"dim": 1, "keepdim": False},
                   "tie", second_order=False)]


register("amax", forward=lambda x, *, dim=None, keepdim=False: np.amax(
    x, axis=_axis(dim), keepdims=keepdim), vjp=_extreme_vjp, samples=_reduce_samples(_tie_extra))
register("amin", forward=lambda x, *, dim=None, keepdim=False: np.amin(
    x, axis=_axis(dim), keepdims=keepdim), vjp=_extreme_vjp, samples=_reduce_samples(_tie_extra))


def _logsumexp_forward(x, *, dim=None, keepdim=False):
    x = _float(x)
    axis = _axis(dim)
    m = np.amax(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # NOTE: all -inf rows give -inf, not nan
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdim else np.squeeze(out, axis=axis)


def _logsumexp_vjp(F, g, out, x, *, dim=None, keepdim=False):
    out_k = _keep(out, x.ndim, dim, keepdim)
    return (_keep(g, x.ndim, dim, keepdim) * F.exp(x - out_k),)


register("logsumexp", forward=_logsumexp_forward, vjp=_logsumexp_vjp,
         samples=_reduce_samples())


def _softmax_forward(x, *, dim):
    x = _float(x)
    e = np.exp(x - np.amax(x, axis=dim, keepdims=True))
    return e / np.sum(e, axis=dim, keepdims=True)


def _softmax_vjp(F, g, out, x, *, dim):
    # J^T g = out * (g - <g, out>) along dim.
    return (out * (g - F.sum(g * out, dim, True)),)


def _softmax_samples(rng):
    return [Sample((rng.standard_normal((5,)),), {"dim": 0}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 1}),
            Sample((rng.standard_normal((3, 4)),), {"dim": 0}),
            Sample((rng.standard_normal((2, 3, 4)),), {"dim": -1})]


register("softmax", forward=_softmax_forward, vjp=_softmax_vjp, samples=_softmax_samples)


def _log_softmax_forward(x, *, dim):
    x = _float(x)
    shifted = x - np.amax(x, axis=dim, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))


def _log_softmax_vjp(F, g, out, x, *, dim):
    return (g - F.exp(out) * F.sum(g, dim, True),)


register("log_softmax", forward=_log_softmax_forward, vjp=_log_softmax_vjp,
         samples=_softmax_samples)


# --------------------------------------------------------------------------------------------
# Matrix product: 1-D, 2-D and batched, with NumPy's (= PyTorch's) broadcasting of batch dims.


def _matmul_vjp(F, g, out, x, y, needs):
    if x.ndim == 1 and y.ndim == 1:
        return (g * y if needs[0] else None), (g * x if needs[1] else None)
    # Promote 1-D operands to matrices, as matmul itself does, then undo it.
    x2 = F.reshape(x, (1, x.shape[0])) if x.ndim == 1 else x
    y2 = F.reshape(y, (y.shape[0], 1)) if y.ndim == 1 else y
    g2 = g
    if x.ndim == 1:
        g2 = F.reshape(g2, g.shape[:-1] + (1,) + g.shape[-1:])
    if y.ndim == 1:
        g2 = F.reshape(g2, g2.shape + (1,))
    gx = gy = None
    if needs[0]:
        gx = F.matmul(g2, F.swapaxes(y2, -1, -2))
        if x.ndim == 1:
            gx = F.reshape(_sum_leading(F, gx, 2), x.shape)
    if needs[1]:
        gy = F.matmul(F.swapaxes(x2, -1, -2), g2)
        if y.ndim == 1:
            gy = F.reshape(_sum_leading(F, gy, 2), y.shape)
    return gx, gy


def _sum_leading(F, t, keep):
    """Sum all but the last ``keep`` axes (batch axes a 1-D operand was broadcast over)."""
    lead = t.ndim - keep
    return F.sum(t, tuple(range(lead))) if lead > 0 else t


def _matmul_samples(rng):
    pairs = [((3,), (3,)), ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)),
             ((2, 2, 3), (3, 4)), ((2, 3), (2, 3, 4)), ((2, 1, 2, 3), (3, 3, 2)),
             ((3,), (2, 3, 4)), ((2, 2, 3), (3,))]
    return [Sample((rng.standard_normal(a), rng.standard_normal(b))) for a, b in pairs]


register("matmul", forward=np.matmul, vjp=_matmul_vjp, wants_needs=True,
         samples=_matmul_samples)


# --------------------------------------------------------------------------------------------
# Shape ops: the gradient is the inverse reshuffle. ``expand``'s rule is the identity: the
# engine's central broadcast reduction does the summing.


def _reshape_vjp(F, g, out, x, *, shape):
    return (F.reshape(g, x.shape),)


register("reshape", forward=lambda x, *, shape: x.reshape(shape), vjp=_reshape_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((2, 6)),), {"shape": (3, 4)}),
                              Sample((rng.standard_normal((2, 3, 2)),), {"shape": (-1,)}),
                              Sample((rng.standard_normal(()),), {"shape": (1, 1)})])


def _permute_vjp(F, g, out, x, *, dims):
    return (F.transpose(g, tuple(np.argsort(dims))),)


register("permute", forward=lambda x, *, dims: np.transpose(x, dims), vjp=_permute_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((2, 3, 4)),), {"dims": (2, 0, 1)}),
                              Sample((rng.standard_normal((3, 4)),), {"dims": (1, 0)})])


register("expand", forward=lambda x, *, shape: np.broadcast_to(x, shape),
         vjp=lambda F, g, out, x, *, shape: (g,),
         samples=lambda rng: [Sample((rng.standard_normal((3, 1)),), {"shape": (3, 4)}),
                              Sample((rng.standard_normal((4,)),), {"shape": (2, 3, 4)}),
                              Sample((rng.standard_normal(()),), {"shape": (2, 2)})])


# --------------------------------------------------------------------------------------------
# Indexing. The gradient scatters back into zeros; duplicate indices accumulate (np.add.at).


def _getitem_vjp(F, g, out, x, *, index):
    return (F.index_add_zeros(g, index, x.shape, F.data(x).dtype),)


def _getitem_samples(rng):
    x = rng.standard_normal((4, 5))
    return [
        Sample((x,), {"index": (slice(1, 3),)}),
        Sample((x,), {"index": (slice(None), 2)}),
        Sample((x,), {"index": (np.array([0, 2, 2, 3]),)}, "duplicate indices"),
        Sample((x,), {"index": (np.array([1, 1]), np.array([4, 4]))}, "duplicate pairs"),
        Sample((x,), {"index": (x > 0.2,)}, "boolean mask"),
        Sample((rng.standard_normal((2, 3, 4)),), {"index": (Ellipsis, None, slice(0, 4, 2))}),
        Sample((rng.standard_normal((6,)),), {"index": (np.array([[0, 1], [5, 0]]),)}),
    ]


register("getitem", forward=lambda x, *, index: x[index], vjp=_getitem_vjp,
         samples=_getitem_samples)


def _index_add_zeros_vjp(F, g, out, x, *, index, shape, dtype):
    return (F.getitem(g, index),)


register("index_add_zeros",
         forward=lambda x, *, index, shape, dtype: _index_add_zeros(x, index, shape, dtype),
         vjp=_index_add_zeros_vjp,
         samples=lambda rng: [Sample((rng.standard_normal((4, 5)),),
                                     {"index": (np.array([0, 2, 2, 0]),), "shape": (3, 5),
                                      "dtype": np.float64})])


def _along_axis(index, dim):
    """A full advanced index equivalent to take_along_axis(x, index, dim)."""
    dim = dim % index.ndim
    grids = list(np.ogrid[tuple(slice(n) for n in index.shape)])
    grids[dim] = index
    return tuple(grids)


def _gather_vjp(F, g, out, x, index, *, dim):
    return F.index_add_zeros(g, _along_axis(F.data(index), dim), x.shape, F.data(x).dtype), None


def _gather_samples(rng):
    return [
        Sample((rng.standard_normal((3, 4)), np.array([[0, 0], [3, 1], [2, 2]])), {"dim": 1}),
        Sample((rng.standard_normal((3, 4)), np.array([[0, 1, 2, 0], [2, 2, 2, 2]])), {"dim": 0}),
    ]


register("gather", forward=lambda x, index, *, dim: np.take_along_axis(x, index, dim),
         vjp=_gather_vjp, samples=_gather_samples)


def _cat_forward(*xs, dim=0):
    return np.concatenate(xs, axis=dim)


def _cat_vjp(F, g, out, *xs, dim=0):
    grads = []
    start = 0
    lead = (slice(None),) * (dim % out.ndim)
    for x in xs:
        stop = start + x.shape[dim]
        grads.append(F.getitem(g, lead + (slice(start, stop),)))
        start = stop
    return tuple(grads)


register("cat", forward=_cat_forward, vjp=_cat_vjp,
         samples=lambda rng: [
             Sample((rng.standard_normal((2, 3)), rng.standard_normal((1, 3))), {"dim": 0}),
             Sample((rng.standard_normal((2, 3)), rng.standard_normal((2, 1)),
                     rng.standard_normal((2, 2))), {"dim": -1})])


register("clone", forward=lambda x: np.array(x, copy=True), vjp=lambda F, g, out, x: (g,),
         samples=_unary_samples())


# --------------------------------------------------------------------------------------------
# Embedding lookup: rows of a table picked by integer ids. Its gradient scatters back to the
# rows; with ``sparse=True`` it stays a RowSparseGrad (only the touched rows), so that
# optimizers can update lazily.


def _embedding_forward(weight, ids, *, padding_idx=None, sparse=False):
    return weight.take(ids, axis=0)


def _embedding_vjp(F, g, out, weight, ids, *, padding_idx=None, sparse=False):
    ids = F.data(ids)
    flat_ids = ids.reshape(-1)
    if F is not ARRAY:
        grad = F.index_add_zeros(F.reshape(g, (flat_ids.size,) + weight.shape[1:]), (flat_ids,),
                                 weight.shape, F.data(weight).dtype)
        if padding_idx is not None:
            keep = np.ones(weight.shape[:1] + (1,) * (weight.ndim - 1), dtype=bool)
            keep[padding_idx] = False
            grad = grad * F.const(keep)
        return grad, None
    rows = g.reshape((flat_ids.size,) + weight.shape[1:])
    if padding_idx is not None:
        # NOTE: the padding row gets no gradient (it stays what it was, usually zeros).
        rows = np.where((flat_ids == padding_idx).reshape((-1,) + (1,) * (rows.ndim - 1)),
                        0, rows)
    if sparse:
        return RowSparseGrad(flat_ids, rows, weight.shape), None
    # NOTE: a recycled buffer filled with zeros rather than np.zeros: zeros of a large table are
    # lazily zeroed fresh pages from calloc, each faulted in when the optimizer first reads it;
    # filling reused memory measured 4 times faster (25,000 x 50).
    grad = empty(weight.shape, weight.dtype)  # recycled: see _buffers
    grad.fill(0)
    add_rows_at(grad, flat_ids, rows)
    return grad, None


def _embedding_samples(rng):
    ids = np.array([[0, 2, 2], [3, 0, 1]])
    return [Sample((rng.standard_normal((4, 3)), ids)),
            # The padding row takes no gradient by design (tested on its own); here it is a row
            # the ids do not use, to check that the option leaves the other rows' gradients be.
            Sample((rng.standard_normal((5, 3)), ids), {"padding_idx": 4}),
            Sample((rng.standard_normal((5, 2)), np.array([4, 4, 1])), {"sparse": True})]


register("embedding", forward=_embedding_forward, vjp=_embedding_vjp, samples=_embedding_samples)
