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
broadcast axes back to each input's shape in one place and checks every gradient's shape and
dtype, except where the op promises them (``register``'s ``grads``; tested on its samples).

It imports NumPy, the engine's sparse rows and its default dtype only; each family module
imports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..dtypes import _Default
from ..sparse import add_rows_at
from .special import normal_cdf as _normal_cdf

__all__ = ["ARRAY", "CHECKED", "ELEMENTWISE", "EXACT", "OPS", "Op", "Sample", "c_order",
           "ones_column", "register"]


@dataclass
class Sample:
    """Inputs on which an op is gradchecked: arrays (float ones are differentiated) + attributes."""

    args: tuple
    kwargs: dict = field(default_factory=dict)
    note: str = ""
    second_order: bool = True  # False where a kink makes the second derivative undefined


# What a node keeps when backward frees it (``Op.keeps``; the sweep in autograd.py reads it):
# 0 nothing (its inputs and attributes go), 1 its attributes (small: dims, an index; PyTorch's
# node keeps its non-tensor saved values, and its name reads them: SumBackward0 / 1,
# TransposeBackward0 / PermuteBackward0), 2 those and, for a view, the tensor it views
# (PyTorch's ``_base`` outlives the graph).
KEEPS = {"sum": 1, "mean": 1, "prod": 1, "amax": 1, "amin": 1, "pad": 1, "getitem": 2,
         "reshape": 2, "permute": 2, "diagonal": 2, "unfold": 2, "expand": 2, "real": 2,
         "imag": 2, "as_strided": 2, "view_as_real": 2, "view_as_complex": 2}


class Op:
    """A registered primitive. See the module docstring for the three parts.

    ``exact`` says what the backward sweep may trust about the rule's gradients (see
    ``register``'s ``grads``): ``CHECKED`` (each one's shape and dtype tested, broadcast ones
    summed back), ``EXACT`` or ``ELEMENTWISE``.
    """

    __slots__ = ("name", "forward", "vjp", "samples", "wants_needs", "second_order", "exact",
                 "keeps")

    def __init__(self, name, forward, vjp, samples, wants_needs, second_order, exact=0):
        self.name = name
        self.forward = forward
        self.vjp = vjp
        self.samples = samples
        self.wants_needs = wants_needs
        self.second_order = second_order
        self.exact = exact
        self.keeps = KEEPS.get(name, 0)

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


# What an op's rule promises about the gradients it returns, given an upstream gradient of the
# output's shape and dtype (``Op.exact``; the sweep in autograd.py reads it):
CHECKED = 0  # nothing: the engine tests each gradient's shape and dtype (user Functions too)
EXACT = 1  # each gradient has its input's shape and dtype
ELEMENTWISE = 2  # the same whenever the (two) inputs have one shape and one dtype
_GRADS = {None: CHECKED, "exact": EXACT, "elementwise": ELEMENTWISE}

# The ops that make that promise, by name, until their own ``register`` calls say it
# (``grads="exact"``). tests/engine/test_engine_sweep.py checks every entry on the op's
# samples in float16, float32 and float64, and that nothing here is missing from OPS. EXACT:
# ops of one floating input (the others integer indices or attributes), so no broadcasting,
# random_sample (zeros of each parameter's own shape), and linear, whose one caller
# (nn.functional.linear) gives it inputs of one dtype and an [out] bias (its backward with a
# bias, [3, 4] @ [5, 4]^T: 3 checks fewer; with the sweep's three-input path, 0.90 of its
# fwd + bwd time: benchmarks/ab.py's run("ops", config=["linear"])). ELEMENTWISE: the binary
# elementwise ops, whose rules return gradients of the broadcast shape.
# Skipping the two tests on these saves the sweep ~0.1 us per gradient (benchmarks/ab.py w2).
_DECLARED = {
    **dict.fromkeys(
        "abs acos acosh amax amin asin asinh atan atanh cast ceil clamp clone cos cosh "
        "cross_entropy_index ctc_loss cumprod cumsum deg2rad diagonal digamma dropout elu "
        "embedding entr erf erfc erfcx erfinv exp exp2 expm1 floor frac frexp gather gelu "
        "getitem hardsigmoid hardswish hardtanh i0 i0e i1 i1e leaky_relu lgamma linalg_cholesky "
        "linalg_det linalg_eigh linalg_inv linalg_logabsdet linalg_lu_factor linalg_pinv "
        "linalg_qr linalg_svd linear log log10 log1p log2 log_ndtr log_softmax logcumsumexp "
        "logit logsigmoid logsumexp matrix_exp mean mish nan_to_num ndtri neg normal_cdf pad "
        "permute polygamma pow_scalar prod rad2deg random_sample reciprocal relu reshape round "
        "rsqrt sigmoid sign silu sin sinc sinh softmax softplus softshrink sqrt std sum svdvals "
        "tan tanh trunc unfold var vector_norm".split(), EXACT),
    **dict.fromkeys(
        "add atan2 binary_cross_entropy clamp_max clamp_min copysign div div_rounding fmax fmin "
        "fmod heaviside hypot igamma igammac logaddexp logaddexp2 maximum minimum mul pow "
        "remainder sub xlogy".split(), ELEMENTWISE),
}


OPS: dict[str, Op] = {}


def register(
    name: str,
    *,
    forward: Callable,
    vjp: Callable,
    samples: Callable[[np.random.Generator], list[Sample]],
    wants_needs: bool = False,
    second_order: bool = True,
    grads: str | None = None,
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
        grads: what the rule promises about its gradients, given ``g`` of the output's shape
            and dtype: ``"exact"`` (each has its input's shape and dtype), ``"elementwise"``
            (the same when the two inputs share one shape and dtype; broadcast otherwise), or
            None (nothing: the engine checks each one, summing broadcast ones back). The
            backward sweep skips its checks where the promise holds; the default is the
            table ``_DECLARED`` here.

    Returns:
        The registered ``Op``.
    """
    if name in OPS:
        raise ValueError(f"op {name!r} is already registered")
    if samples is None or not callable(samples):
        raise TypeError(f"op {name!r}: a sample spec (samples=callable) is required")
    if grads not in _GRADS:
        raise ValueError(f"op {name!r}: grads must be 'exact', 'elementwise' or None")
    exact = _GRADS[grads] if grads is not None else _DECLARED.get(name, CHECKED)
    op = Op(name, forward, vjp, samples, wants_needs, second_order, exact)
    OPS[name] = op
    return op


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


# --------------------------------------------------------------------------------------------
# The NumPy namespace that rules compute with on the first-order path. The Tensor namespace in
# _tensor.py has the same names, each a differentiable op.


_ONES_COLUMNS: dict = {}  # (n, dtype) -> a read-only column of n ones


def ones_column(n: int, dtype) -> np.ndarray:
    """A cached, read-only ``[n, 1]`` column of ones: rows' sums as one BLAS product
    (``rows.dot(ones_column(n, rows.dtype))``), which beats NumPy's reduce over a short last
    axis (layer_norm's and softmax's rows)."""
    key = (n, dtype)
    column = _ONES_COLUMNS.get(key)
    if column is None:
        if len(_ONES_COLUMNS) >= 256:
            _ONES_COLUMNS.clear()
        column = _ONES_COLUMNS[key] = np.ones((n, 1), dtype)
        column.flags.writeable = False
    return column


def _sum(x, axis=None, keepdims=False):
    if type(x) is np.ndarray and x.dtype.kind == "f":
        return np.add.reduce(x, axis=axis, keepdims=keepdims)  # np.sum, less dispatch
    return np.sum(x, axis=axis, keepdims=keepdims)


def _reshape(x, shape):
    # The array method when there is one: np.reshape's dispatch costs more than the reshape.
    return x.reshape(shape) if type(x) is np.ndarray else np.reshape(x, shape)


def _transpose(x, axes):
    # The array method when there is one (np.transpose's dispatch: 1.0 against 0.12 us).
    return x.transpose(axes) if type(x) is np.ndarray else np.transpose(x, axes)


def _swapaxes(x, axis1, axis2):
    return x.swapaxes(axis1, axis2) if type(x) is np.ndarray else np.swapaxes(x, axis1, axis2)


def _expand(x, shape):
    """``x`` broadcast to ``shape``: a new array when small, else a read-only view.

    ``np.broadcast_to`` is written in Python and costs about 4.7 us; a small array filled by
    one assignment costs 0.7 us (8 x 8), and the gradient it makes is then the leaf's own
    (no copy in ``_accumulate_leaf``). Large results stay views: no memory for a repeat.
    """
    if isinstance(x, (np.ndarray, np.generic)) and math.prod(shape) <= _EXPAND_COPY_MAX:
        out = np.empty(shape, x.dtype)
        out[...] = x
        return out
    return np.broadcast_to(x, shape)


_EXPAND_COPY_MAX = 16384  # elements; a copy of that many float32 costs about what the view does


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


def einsum_optimize(operands):
    """NumPy's ``optimize`` for einsum of ``operands`` (arrays): a greedy path without NumPy's
    memory limit for chains of three or more and for two operands of 4,096 elements or more
    each (their pairwise contractions then go through BLAS), else False (einsum's own loop).

    Two operands (s23 LE11, one thread): [64, 128] @ [128, 64] 97 -> 26 us, bhqd,bhkd->bhqk on
    [2, 4, 64, 32] 275 -> 53 us, ngik,ngjk->gij on [2, 1, 75, 2000] 4.7 -> 1.0 ms, best of 5,
    one run; PyTorch's bits, 3 draws each: 12,288 of 12,288 / 98,304 of 98,304 / 1,039 of
    16,875 elements, the loop's 3,015 / 21,748 / 1,026. Smaller operands keep the loop: it is
    faster there, and PyTorch's small products round as it does, e.g. [7, 33] @ [33, 5] 171 of
    175 elements, 56 through BLAS. Chains: NumPy's ``optimize=True`` caps intermediates at the
    largest operand's size, which left einconv's 2-d input VJP (ngabc,dbe,fch,gaidf->ngieh) one
    loop of 1.1e10 multiply-adds: 10.4 s; without the cap 2 ms, as PyTorch (opt_einsum's
    path, same pairs here)."""
    if len(operands) > 2 or (len(operands) == 2 and operands[0].size >= 4096
                             and operands[1].size >= 4096):
        return ("greedy", 1 << 62)
    return False


def _einsum(equation, *operands):
    return np.einsum(equation, *operands, optimize=einsum_optimize(operands))


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
    transpose = staticmethod(_transpose)
    swapaxes = staticmethod(_swapaxes)
    expand = staticmethod(_expand)
    concatenate = staticmethod(np.concatenate)
    sum = staticmethod(_sum)
    index_add_zeros = staticmethod(_index_add_zeros)
    einsum = staticmethod(_einsum)

    @staticmethod
    def normal_cdf(x):
        return _normal_cdf(x)

    @staticmethod
    def getitem(x, index):
        return x[index]

    @staticmethod
    def op(name, *inputs, **attrs):
        """Another registered op, by name (its forward here; recorded in the Tensor namespace)."""
        return OPS[name].forward(*inputs, **attrs)

    @staticmethod
    def cast(x, dtype):
        if x.dtype.kind == "c" and np.dtype(dtype).kind != "c":
            # A real input's gradient is the real part of a complex one (the convention of
            # ops/complex.py), taken on purpose: no ComplexWarning.
            return x.real.astype(dtype, copy=False)
        return x.astype(dtype, copy=False)

    @staticmethod
    def const(x):
        """A value the rule uses without differentiating through it (a mask, a sign)."""
        return x

    @staticmethod
    def data(x):
        """The ndarray behind ``x`` (identity for arrays)."""
        return x

    @staticmethod
    def no_derivative(x, inputs, aten):
        """``x`` itself (in the Tensor namespace: recorded as a node whose backward raises
        PyTorch's error for ``aten``)."""
        return x


ARRAY = _ArrayNamespace()


# --------------------------------------------------------------------------------------------
# Helpers shared by forwards and rules.


def _float(x):
    """Integer or boolean input to a floating op computes in the default float dtype (float32
    unless ``set_default_dtype`` changed it, read at call time), as in PyTorch.

    Plain ufunc forwards (exp, tanh, ...) skip this: NumPy gives them float64 for integer
    input, and the Tensor layer turns a float64 result of non-float64 inputs into the default.
    """
    return x if x.dtype.kind in "fc" else x.astype(_Default.float)


def _keep(g, x_ndim, dim, keepdim):
    """Reshape a reduced gradient so it broadcasts against the input again."""
    if keepdim or dim is None:
        return g  # already broadcastable (a full reduction without keepdim is a scalar)
    shape = list(g.shape)
    if type(dim) is int:  # (the common case without the sort)
        shape.insert(dim % x_ndim, 1)
    else:
        for d in sorted(d % x_ndim for d in dim):
            shape.insert(d, 1)
    return g.reshape(tuple(shape))


def _reduce_keepdims(ufunc, x, dim):
    """``ufunc.reduce(x, axis=dim, keepdims=True)`` for add, maximum or minimum, fast along a
    short last axis (the classes of a batch of logits, the keys of attention scores).

    NumPy reduces a short contiguous last axis slowly, one inner loop per row; with many rows
    (at least 64 per column) other orders are cheaper:

    - up to 16 columns, one call per column, combined left to right (256 x 5: 3 to 4 times
      faster). For fewer than 8 that is NumPy's own order, so sums are the same bit for bit;
      from 8 on NumPy sums pairwise, and the last bit may differ.
    - maximum / minimum over up to 256 columns (an even count): halving the row, max of the
      two halves, until one column is left; the same values (max is exact), [32, 4, 32, 32]
      over 32 columns: 369 -> 167 us.
    - sums of float32 / float64 over up to 256 columns: a product with a vector of ones (one
      BLAS call; [32, 4, 32, 32]: 82 -> 14 us, [1024, 64]: 26 -> 4.5 us). BLAS adds in its own
      order, so the last bit of a sum may differ from NumPy's pairwise one.
    """
    n = x.shape[dim]
    if x.ndim < 2 or dim not in (-1, x.ndim - 1) or n < 2 or x.size < 64 * n:
        return ufunc.reduce(x, axis=dim, keepdims=True)  # (few rows: one call is cheaper)
    if n <= 16:
        if x.size < 8 * n * n:  # (under 8n rows: one call, the columns' values)
            # A maximum is exact in any order (of a -0.0 / 0.0 tie NumPy's reduce keeps the
            # first, as PyTorch's amax; the columns kept 0.0); the columns' sum is the running
            # sum left to right, which add.accumulate's last column is, bit for bit. Attention
            # scores [1, 4, 16, 16] float32 (64 rows): maximum 11.9 -> 3.9 us, sum 12.4 ->
            # 4.0; at 8n rows and up the columns win (timeit, one thread, min of 5; SP38).
            if ufunc is not np.add:
                return ufunc.reduce(x, axis=-1, keepdims=True)
            if x.dtype.kind == "f" and x.dtype.itemsize >= 4:
                return np.add.accumulate(x, axis=-1)[..., -1:].copy()
        out = ufunc(x[..., 0:1], x[..., 1:2])
        for column in range(2, n):
            ufunc(out, x[..., column:column + 1], out=out)
        return out
    if n <= 256:
        if ufunc is np.add and x.dtype.kind == "f" and x.dtype.itemsize >= 4:
            return np.matmul(x, np.ones((n, 1), x.dtype))
        if ufunc is not np.add and n % 2 == 0:
            while n % 2 == 0:
                n //= 2
                x = ufunc(x[..., :n], x[..., n:])
            return x if n == 1 else ufunc.reduce(x, axis=-1, keepdims=True)
    return ufunc.reduce(x, axis=dim, keepdims=True)


def _axis(dim):
    return tuple(dim) if isinstance(dim, list) else dim


def _count(shape, dim):
    if dim is None:
        return math.prod(shape)
    dims = (dim,) if isinstance(dim, int) else dim
    return math.prod(shape[d] for d in dims)


def c_order(a):
    """``a`` in C order: PyTorch's reductions, scans, softmax, cat and index ops return
    contiguous tensors where NumPy keeps the input's memory order, and memory order decides
    what a later dropout or random fill draws where (tests/parity/test_parity_s6_layouts.py).
    A C-ordered array (or a NumPy scalar) passes through: one flags test (~30 ns)."""
    if type(a) is np.ndarray and not a.flags.c_contiguous:
        return a.copy()  # (ndarray.copy is C order)
    return a


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


