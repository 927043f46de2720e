"""Per-op overhead over the whole op registry: deltagrad against PyTorch and bare NumPy.

For every registered op (``deltagrad._engine.OPS``) this times one public call, forward and
backward, at small sizes, where what an engine adds around the arithmetic is most of the time.
Each op is reached through the function a user calls (``MAPPING``: op name -> the same call in
deltagrad and PyTorch, e.g. ``sum`` -> ``m.sum(x, dim=dim, keepdim=keepdim)`` with ``m`` the
library), with inputs taken from the op's own registered samples, which are valid by
construction (cast to float32):

- pointwise ops: values drawn from the samples' values (so each op stays in its domain) into the
  shapes 0-d, [8] and [8, 8], and for ops of several tensors a broadcast case ([8, 8] with [8]);
- every other op: up to ``max_samples`` of its registered samples, as they are.

Variants, alternated in one process (``common.alternate``), one thread by default:

- ``deltagrad``: the public call on tensors that require grad, then ``backward(g)``;
- ``torch``: the same call in PyTorch (when installed);
- ``numpy-fwd``: the op's own ``forward`` on the arrays (the arithmetic of the forward alone);
- ``numpy-fwd+vjp``: that forward and the op's VJP rule on arrays, no Tensor, no graph: what
  deltagrad would cost with no overhead at all (where the public call maps onto one op).

An op's time and ratio are the medians over its cases; each case's ratio is the median of the
per-round ratios of deltagrad to PyTorch. Blocks are short (10 calls, a few hundred
microseconds) and rounds many (25): on a shared machine a short block more often runs within
one time slice, so the median resists preemption. Measured on the 2-core machine at load 5:
nine ops' ratios repeated within 0.03 between runs at 25 x 10 calls, and moved by up to 4 x at
11 x 40. Before timing, each case checks that deltagrad and
PyTorch give the same value and gradients (random ops excepted); a case that differs is flagged
in the table. Ops that have no public call (``INTERNAL``) are listed as not mapped; any other
unmapped op fails ``tests/test_benchmarks_ops.py``, so a new op must be added to ``MAPPING``.

Goals (issue 18): every op at most 0.6 x PyTorch's time, median over ops at most 0.5 x.

    python benchmarks/op_overhead.py [--quick] [--ops sum,softmax] [--markdown OP_OVERHEAD.md]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import common
import numpy as np

MARKDOWN = common.BENCHMARKS / "OP_OVERHEAD.md"
GOAL_EACH, GOAL_MEDIAN = 0.6, 0.5
SHAPES = ((), (8,), (8, 8))
BROADCAST = ((8, 8), (8,))  # the first inputs' shape, the last input's shape

# Ops with no public function of their own: building blocks of other ops' rules.
INTERNAL = {
    "index_add_zeros": "the scatter of getitem's gradient (reached by double backward only)",
    "packed_part": "one result of a decomposition (timed in linalg_qr, linalg_svd, ...)",
    "normal_cdf": "gelu's building block (no public function; torch.special is not offered)",
    "gru_cell": "GRUCell's gates after its two products (no public function; W8 seq2seq)",
    "zero_link": "the recorded backward's link of piecewise rules to x (double backward only)",
    "link_grad": "composite pools' link of a recorded result to x (double backward only)",
    "pattern_matmul": "x.to_sparse() @ dense's product from x's entries (no public function)",
}


@dataclass(frozen=True)
class Spec:
    """How to reach an op publicly.

    Attributes:
        call: ``call(m, *args, **attrs) -> Tensor`` with ``m`` the library (deltagrad or torch),
            ``args`` the sample's arrays as that library's tensors and ``attrs`` its attributes.
        pointwise: draw inputs into 0-d / [8] / [8, 8] / broadcast shapes (else: the samples).
        grad: positions of the inputs that require grad (None: every float input).
        backward: False where PyTorch defines no derivative (forward only, in every variant).
        check: False for random ops (the libraries draw different numbers).
        keep: which samples the public call can express (None: all).
        public: ``public(args, attrs) -> (args, attrs)`` when the public call takes the sample
            in another form (the op's attributes are what the floor variants use).
        broadcast: time the broadcast case of a pointwise op (PyTorch refuses some).
    """

    call: Callable
    pointwise: bool = False
    grad: tuple[int, ...] | None = None
    backward: bool = True
    check: bool = True
    keep: Callable | None = None
    public: Callable | None = None
    broadcast: bool = True


def _fn(name: str, pointwise: bool = True, **options) -> Spec:
    """The library function ``m.<name>(*args, **attrs)``."""
    return Spec(lambda m, *args, **attrs: getattr(m, name)(*args, **attrs), pointwise, **options)


def _nnf(name: str, pointwise: bool = True, **options) -> Spec:
    """``m.nn.functional.<name>(*args, **attrs)``."""
    return Spec(lambda m, *args, **attrs: getattr(m.nn.functional, name)(*args, **attrs),
                pointwise, **options)


def _reduce(name: str, full: str | None = None, **options) -> Spec:
    # dim=None means every dim: PyTorch spells that by leaving dim out, or by naming them all
    # with keepdim. share_nan marks the op as the full max()/min() (``full``), not amax/amin.
    def call(m, x, dim=None, keepdim=False, share_nan=False):
        if share_nan:
            return getattr(m, full)(x)
        if dim is None:
            if not keepdim:
                return getattr(m, name)(x)
            dim = tuple(range(x.ndim))
        return getattr(m, name)(x, dim, keepdim=keepdim)

    return Spec(call, **options)


def _one_dim(sample) -> bool:
    # prod reduces over one dim or all of them (without keepdim) in PyTorch
    dim = sample.kwargs.get("dim")
    return isinstance(dim, int) or (dim is None and not sample.kwargs.get("keepdim"))


def _elu(m, x, alpha, scale, input_scale):
    F = m.nn.functional
    if input_scale == 1.0 and scale == 1.0:
        return F.elu(x, alpha)
    if input_scale == 1.0 and abs(alpha - 1.6732632423543772) < 1e-9:
        return F.selu(x)
    return F.celu(x, alpha)  # celu is elu(x, alpha, input_scale=1/alpha)


def _elu_keep(sample) -> bool:
    attrs = sample.kwargs
    return attrs["scale"] == 1.0 and (attrs["input_scale"] == 1.0
                                      or attrs["input_scale"] * attrs["alpha"] == 1.0)


def _logsumexp(m, x, dim=None, keepdim=False):
    return m.logsumexp(x, tuple(range(x.ndim)) if dim is None else dim, keepdim=keepdim)


def _scatter_public(args, attrs):
    # The op takes full coordinates (one index array per dim); the public call takes the dim
    # whose coordinates vary and that index, as scatter_reduce(input, dim, index, src, reduce).
    x, src = args
    index = attrs["index"]
    dim = next(d for d, i in enumerate(index) if np.shape(i) == np.shape(src))
    return (x, src), {"dim": dim, "index": np.broadcast_to(index[dim], src.shape).copy(),
                      "reduce": attrs["reduce"], "include_self": attrs["include_self"]}


def _scatter_reduce(m, x, src, dim, index, reduce, include_self):
    return m.scatter_reduce(x, dim, index, src, reduce, include_self=include_self)


def _class_dim_first(sample) -> bool:
    x = sample.args[0]
    return sample.kwargs["dim"] == (0 if np.ndim(x) == 1 else 1)


def _tensor_indices(sample) -> bool:
    return all(isinstance(i, np.ndarray) for i in sample.kwargs["index"])


def _pad(m, x, pad, mode, value):
    return m.nn.functional.pad(x, pad, mode=mode, value=value if mode == "constant" else None)


POINTWISE_MATH = (
    "abs acos acosh asin asinh atan atanh ceil cos cosh deg2rad erf erfc erfinv exp exp2 "
    "expm1 floor frac log log10 log1p log2 logit nan_to_num neg rad2deg reciprocal relu round "
    "rsqrt sigmoid sign sin sinc sinh sqrt tan tanh trunc "
    "add sub mul div atan2 copysign fmax fmin fmod hypot logaddexp logaddexp2 maximum minimum pow "
    "remainder xlogy clamp_min clamp_max lerp where clamp nextafter").split()
POINTWISE_NN = ("gelu hardsigmoid hardswish hardtanh leaky_relu logsigmoid mish silu softplus "
                "softshrink hardshrink threshold").split()

def _huber(m, d, *target, delta, smooth):
    """huber_loss / smooth_l1_loss of the input d and its target (the op's samples of the
    difference alone: a zero target, made in the call)."""
    y = target[0] if target else m.zeros_like(d)
    if smooth:
        return m.nn.functional.smooth_l1_loss(d, y, reduction="none", beta=delta)
    return m.nn.functional.huber_loss(d, y, reduction="none", delta=delta)


def _layer_norm(m, x, *affine, ndim, eps, has_weight):
    weight = affine[0] if has_weight else None
    bias = affine[-1] if len(affine) > int(has_weight) else None
    return m.nn.functional.layer_norm(x, x.shape[x.ndim - ndim:], weight, bias, eps)


MAPPING: dict[str, Spec] = {
    **{name: _fn(name) for name in POINTWISE_MATH},
    **{name: _nnf(name) for name in POINTWISE_NN},
    "clamp_tensor": Spec(lambda m, x, lo, hi: m.clamp(x, lo, hi), pointwise=True),
    "div_rounding": Spec(lambda m, x, y, rounding_mode: m.div(x, y, rounding_mode=rounding_mode),
                         pointwise=True),
    "pow_scalar": Spec(lambda m, x, exponent: m.pow(x, exponent), pointwise=True),
    "heaviside": _fn("heaviside", backward=False),
    # special functions (ops/gamma.py, ops/special_extra.py)
    "lgamma": _fn("lgamma"), "digamma": _fn("digamma"), "i0": _fn("i0"),
    "polygamma": Spec(lambda m, x, n: m.polygamma(n, x), pointwise=True),
    **{name: Spec(lambda m, x, name=name: getattr(m.special, name)(x), pointwise=True)
       for name in ("i0e", "i1", "i1e", "erfcx", "log_ndtr", "ndtri", "entr")},
    "frexp": Spec(lambda m, x: m.frexp(x)[0], pointwise=True),
    "clone": Spec(lambda m, x: x.clone(), pointwise=True),  # no deltagrad.clone yet
    "elu": Spec(_elu, pointwise=True, keep=_elu_keep),
    # (F.prelu takes the weight as [C]; the op's samples carry it broadcast, [1, C, 1, ...])
    "prelu": Spec(lambda m, x, w: m.nn.functional.prelu(x, w.reshape(-1))),
    "binary_cross_entropy": Spec(lambda m, x, y: m.nn.functional.binary_cross_entropy(
        x, y, reduction="none"), pointwise=True, grad=(0,), broadcast=False),
    # reductions
    "sum": _reduce("sum"), "mean": _reduce("mean"), "amax": _reduce("amax", "max"),
    "amin": _reduce("amin", "min"), "prod": _reduce("prod", keep=_one_dim),
    "std": _fn("std", pointwise=False), "var": _fn("var", pointwise=False),
    "logsumexp": Spec(_logsumexp),
    "vector_norm": Spec(lambda m, x, **attrs: m.linalg.vector_norm(x, **attrs)),
    "svdvals": Spec(lambda m, x: m.linalg.svdvals(x)),
    "linalg_inv": Spec(lambda m, a: m.linalg.inv(a)),
    "linalg_det": Spec(lambda m, a: m.linalg.det(a)),
    "linalg_logabsdet": Spec(lambda m, a: m.linalg.slogdet(a)[1]),
    "linalg_solve": Spec(lambda m, a, b: m.linalg.solve(a, b)),
    "linalg_solve_triangular": Spec(lambda m, a, b, upper, unitriangular: m.linalg.solve_triangular(
        a, b, upper=upper, unitriangular=unitriangular)),
    # decompositions: gauge-free outputs (signs of U, V and eigenvectors are LAPACK's choice)
    "linalg_cholesky": Spec(lambda m, a: m.linalg.cholesky(a)),
    "linalg_eigh": Spec(lambda m, a: m.linalg.eigh(a)[0]),
    "linalg_svd": Spec(lambda m, a, full_matrices: m.linalg.svd(a, full_matrices=full_matrices)[1]),
    "linalg_qr": Spec(lambda m, a, mode: m.linalg.qr(a, mode=mode)[1],
                      keep=lambda sample: sample.args[0].shape[-2] >= sample.args[0].shape[-1]
                      or sample.kwargs["mode"] == "reduced"),
    "linalg_pinv": Spec(lambda m, a, **attrs: m.linalg.pinv(a, **attrs)),
    "linalg_lu_factor": Spec(lambda m, a: m.linalg.lu_factor(a)[0]),
    "matrix_exp": Spec(lambda m, a: m.linalg.matrix_exp(a)),
    # (PyTorch defines no derivative in a: the gradient is taken in x only)
    "igamma": Spec(lambda m, a, x: m.igamma(a, x), grad=(1,)),
    "igammac": Spec(lambda m, a, x: m.igammac(a, x), grad=(1,)),
    "cumsum": _fn("cumsum", pointwise=False), "cumprod": _fn("cumprod", pointwise=False),
    "logcumsumexp": _fn("logcumsumexp", pointwise=False),
    "softmax": _nnf("softmax", pointwise=False),
    "log_softmax": _nnf("log_softmax", pointwise=False),
    # shape
    "reshape": Spec(lambda m, x, shape: m.reshape(x, shape)),
    "permute": Spec(lambda m, x, dims: m.permute(x, dims)),
    "expand": Spec(lambda m, x, shape: x.expand(shape)),
    "repeat": Spec(lambda m, x, repeats, input_shape: x.repeat(repeats)),
    "cat": Spec(lambda m, *xs, dim: m.cat(xs, dim=dim)),
    "stack": Spec(lambda m, *xs, dim: m.stack(xs, dim=dim)),
    "cast": Spec(lambda m, x, dtype: x.to(m.float64)),
    "pad": Spec(_pad),
    # indexing
    "getitem": Spec(lambda m, x, index: x[index]),
    "diagonal": Spec(lambda m, x, offset: m.diagonal(x, offset, -2, -1)),
    "unfold": Spec(lambda m, x, dim, size, step: x.unfold(dim, size, step)),
    "as_strided": Spec(lambda m, x, size, stride, storage_offset: m.as_strided(
        x, size, stride, storage_offset)),
    "gather": Spec(lambda m, x, index, dim: m.gather(x, dim, index)),
    # sparse products (ops/sparse_ops.py): the sample's pattern as a sparse tensor
    "sparse_mm": Spec(lambda m, values, dense, pattern: m.sparse.mm(m.sparse_coo_tensor(
        m.tensor(np.stack([pattern.rows, pattern.cols])), values, pattern.shape), dense)),
    "sparse_sampled": Spec(lambda m, a, b, pattern: m.sparse.sampled_addmm(
        m.sparse_coo_tensor(m.tensor(np.stack([pattern.rows, pattern.cols])),
                            m.zeros(pattern.nnz, dtype=a.dtype), pattern.shape).to_sparse_csr(),
        a, b.t()).values(), keep=lambda sample: "repeats" not in sample.note),
    "index_put": Spec(lambda m, x, values, index: m.index_put(x, index, values),
                      keep=_tensor_indices),
    "scatter_reduce": Spec(_scatter_reduce, public=_scatter_public),
    "scatter_sum": Spec(_scatter_reduce, public=_scatter_public),  # reduce "sum" and "mean"
    "embedding": Spec(lambda m, weight, ids, **attrs: m.nn.functional.embedding(ids, weight,
                                                                                **attrs)),
    # linear algebra
    "matmul": _fn("matmul", pointwise=False),
    "einsum": Spec(lambda m, *xs, equation: m.einsum(equation, *xs)),
    "linear": _nnf("linear", pointwise=False),
    # normalization: the affine inputs follow x (weight first when has_weight)
    "layer_norm": Spec(_layer_norm, pointwise=False),
    # losses
    "cross_entropy_index": Spec(lambda m, x, target, **attrs: m.nn.functional.cross_entropy(
        x, target, **attrs)),
    "softmax_cross_entropy": Spec(lambda m, x, target, dim, reduction: m.nn.functional.
                                  cross_entropy(x, target, reduction=reduction),
                                  keep=_class_dim_first),
    "huber": Spec(_huber, pointwise=False,  # (the reduced samples: the table's cases as before)
                  keep=lambda sample: "reduction" not in sample.kwargs),
    "nll_loss": _nnf("nll_loss", pointwise=False),  # (a weight, when given, is positional)
    "ctc_loss": Spec(lambda m, lp, targets, in_len, tgt_len, **attrs: m.nn.functional.ctc_loss(
        lp, targets, in_len, tgt_len, reduction="sum", **attrs)),
    # random: the draws differ between libraries, so no check
    "dropout": Spec(lambda m, x, mask, p: m.nn.functional.dropout(x, p=p), check=False),
    "random_sample": Spec(lambda m, draws, mean, std: m.normal(mean, std), check=False,
                          grad=(1, 2)),
    # torch.special's xlog1py and zeta (ops/special_extra.py; zeta: no derivative in s)
    "xlog1py": Spec(lambda m, x, y: m.special.xlog1py(x, y), pointwise=True),
    "zeta": Spec(lambda m, s, q: m.special.zeta(s, q), grad=(1,)),
    # complex numbers and the FFT primitives (ops/complex.py; real samples made complex)
    "real": Spec(lambda m, x: m.real(x.to(m.complex64))),
    "imag": Spec(lambda m, x: m.imag(x.to(m.complex64))),
    "conj_physical": Spec(lambda m, x: m.conj_physical(x.to(m.complex64))),
    "angle": Spec(lambda m, x: m.angle(x.to(m.complex64))),
    "view_as_real": Spec(lambda m, x: m.view_as_real(x.to(m.complex64))),
    "view_as_complex": Spec(lambda m, x: m.view_as_complex(x)),
    "complex": Spec(lambda m, x, y: m.complex(x, y)),
    "polar": Spec(lambda m, x, y: m.polar(x, y)),
    "_fft_c2c": Spec(lambda m, x, dim, normalization, forward: m._fft_c2c(
        x.to(m.complex64), list(dim), normalization, forward)),
    "_fft_r2c": Spec(lambda m, x, dim, normalization, onesided: m._fft_r2c(
        x, list(dim), normalization, onesided)),
    "_fft_c2r": Spec(lambda m, x, dim, normalization, last_dim_size: m._fft_c2r(
        x.to(m.complex64), list(dim), normalization, last_dim_size)),
}


@dataclass
class Case:
    """One timed input of one op: the op's arrays and attributes, and the public call's."""

    op: str
    label: str
    args: tuple
    attrs: dict
    public_args: tuple
    public_attrs: dict
    notes: list = field(default_factory=list)


# ------------------------------------------------------------------------------------ cases


def _float32(value):
    if isinstance(value, np.ndarray | np.generic) and np.asarray(value).dtype.kind == "f":
        return np.asarray(value, dtype=np.float32) if isinstance(value, np.ndarray) \
            else np.float32(value)
    return value


def _shape_label(args) -> str:
    shapes = [np.shape(a) for a in args if isinstance(a, np.ndarray | np.generic)]
    return " ".join("0-d" if not s else "[" + ",".join(map(str, s)) + "]" for s in shapes)


def _attrs_label(attrs: dict) -> str:
    def short(value):
        if isinstance(value, np.ndarray):
            return f"<{value.dtype}{list(value.shape)}>"
        if isinstance(value, tuple):
            return "(" + ",".join(short(v) for v in value) + ")"
        return repr(value)

    text = " ".join(f"{key}={short(value)}" for key, value in attrs.items())
    return text if len(text) <= 40 else text[:37] + "..."


def pointwise_cases(name: str, spec: Spec, samples: list,
                    rng: np.random.Generator) -> list[Case]:
    """Inputs drawn from the samples' values into 0-d, [8], [8, 8] and a broadcast case.

    Only samples with the first one's attributes and arity are pooled, so that the values fit
    the attributes (an exponent, a rounding mode) used for every case.
    """
    first = samples[0]
    alike = [s for s in samples if len(s.args) == len(first.args)
             and repr(s.kwargs) == repr(first.kwargs)]
    pools = [np.concatenate([np.ravel(np.asarray(s.args[i])) for s in alike])
             for i in range(len(first.args))]
    arity = len(pools)
    layouts = [(shape,) * arity for shape in SHAPES]
    if arity > 1 and spec.broadcast:
        layouts.append((BROADCAST[0],) * (arity - 1) + (BROADCAST[1],))
    cases = []
    for layout in layouts:
        args = tuple(_float32(rng.choice(pool, size=shape)) for pool, shape in zip(pools, layout))
        label = "0-d" if not layout[0] else (_shape_label(args) if len(set(layout)) > 1
                                             else f"[{','.join(map(str, layout[0]))}]")
        cases.append(Case(name, label, args, dict(first.kwargs), args, dict(first.kwargs)))
    return cases


def sample_cases(name: str, spec: Spec, samples: list, max_samples: int) -> list[Case]:
    """Up to ``max_samples`` of the registered samples, spread over the list."""
    if len(samples) > max_samples:
        step = (len(samples) - 1) / max(max_samples - 1, 1)
        samples = [samples[round(k * step)] for k in range(max_samples)]
    cases = []
    for sample in samples:
        args = tuple(_float32(a) for a in sample.args)
        attrs = dict(sample.kwargs)
        public_args, public_attrs = spec.public(args, attrs) if spec.public else (args, attrs)
        label = f"{_shape_label(args)} {_attrs_label(attrs)}".strip()
        cases.append(Case(name, label, args, attrs, public_args, public_attrs))
    return cases


def make_cases(ops, max_samples: int, seed: int = 0) -> list[Case]:
    """The cases of the ops named (all mapped ones when ``ops`` is None)."""
    from deltagrad._engine import OPS

    cases = []
    for name in sorted(OPS) if ops is None else ops:
        spec = MAPPING.get(name)
        if spec is None:
            continue
        rng = np.random.default_rng([seed, sum(map(ord, name))])
        samples = [s for s in OPS[name].samples(rng) if spec.keep is None or spec.keep(s)]
        if spec.pointwise:
            cases += pointwise_cases(name, spec, samples, rng)
        else:
            cases += sample_cases(name, spec, samples, max_samples)
    return cases


def unmapped() -> list[str]:
    """Registered ops that ``MAPPING`` does not reach (the internal ones should be all)."""
    from deltagrad._engine import OPS

    return sorted(set(OPS) - set(MAPPING))


# ------------------------------------------------------------------------------------ steps


def _wants_grad(spec: Spec, position: int, value) -> bool:
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        return False
    return spec.grad is None or position in spec.grad


def _convert(lib, value):
    """Arrays in attributes (indices) become the library's tensors; the rest stays."""
    if isinstance(value, np.ndarray):
        return lib.from_numpy(value.copy())
    if isinstance(value, tuple):
        return tuple(_convert(lib, v) for v in value)
    if isinstance(value, list):
        return [_convert(lib, v) for v in value]
    return value


def library_step(lib, spec: Spec, case: Case, gradient: np.ndarray | None = None):
    """``(step, leaves)``: one public call (and its backward) in ``lib``; step returns the output.

    With ``gradient`` None the step runs the forward only (used once to learn the output's
    shape, and for ops PyTorch cannot differentiate).
    """
    args, leaves = [], []
    for position, value in enumerate(case.public_args):
        if isinstance(value, np.ndarray):
            tensor = lib.from_numpy(value.copy())
            if spec.backward and _wants_grad(spec, position, value):
                tensor.requires_grad_(True)
                leaves.append(tensor)
            args.append(tensor)
        else:
            args.append(value.item() if isinstance(value, np.generic) else value)
    attrs = {key: _convert(lib, value) for key, value in case.public_attrs.items()}
    call = spec.call
    if gradient is None or not spec.backward:
        return (lambda: call(lib, *args, **attrs)), leaves
    g = lib.from_numpy(gradient.copy())

    def step():
        for leaf in leaves:
            leaf.grad = None
        out = call(lib, *args, **attrs)
        out.backward(g)
        return out

    return step, leaves


def floor_steps(spec: Spec, case: Case, gradient: np.ndarray | None) -> dict:
    """The op's own forward (and forward + VJP rule) on arrays; {} when it cannot run."""
    from deltagrad._engine import OPS
    from deltagrad._engine.ops import ARRAY

    op = OPS[case.op]
    arrays = [np.asarray(a) if isinstance(a, np.generic) else a for a in case.args]
    attrs = case.attrs
    forward = op.forward
    steps = {"numpy-fwd": lambda: forward(*arrays, **attrs)}
    if gradient is not None and spec.backward:
        value = forward(*arrays, **attrs)
        if np.shape(value) != gradient.shape:  # the public call reduces further (ctc_loss)
            gradient = np.random.default_rng(1).standard_normal(np.shape(value)).astype(
                np.asarray(value).dtype)
        vjp = op.vjp
        needs = {"needs": tuple(_wants_grad(spec, i, a) for i, a in enumerate(arrays))} \
            if op.wants_needs else {}

        def both():
            out = forward(*arrays, **attrs)
            return vjp(ARRAY, gradient, out, *arrays, **needs, **attrs)

        steps["numpy-fwd+vjp"] = both
    try:
        for step in steps.values():
            step()
    except Exception as error:  # a floor that cannot run on these inputs is left out
        case.notes.append(f"numpy floor: {type(error).__name__}")
        return {}
    return steps


def _numpy(value) -> np.ndarray:
    if getattr(value, "is_sparse", False):  # embedding(sparse=True)'s gradient, either library
        value = value.to_dense()
    array = np.asarray(common.to_numpy(value))
    # (complex results compared as complex: a cast to float64 would keep the real parts only)
    return array.astype(np.complex128 if array.dtype.kind == "c" else np.float64)


def _same(got, want) -> bool:
    got, want = _numpy(got), _numpy(want)
    if got.shape != want.shape:
        return False
    finite = np.abs(want[np.isfinite(want)])
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    return bool(np.allclose(got, want, rtol=2e-3, atol=1e-4 * scale, equal_nan=True))


def build(case: Case, torch, seed: int = 0) -> dict | None:
    """The case's timed steps ({variant: step}), checked; None when deltagrad cannot run it."""
    import deltagrad as dg

    spec = MAPPING[case.op]
    try:
        probe, _ = library_step(dg, spec, case)
        out = probe()
    except Exception as error:
        case.notes.append(f"deltagrad error: {type(error).__name__}: {error}"[:160])
        return None
    value = common.to_numpy(out)
    gradient = None
    if spec.backward and out.requires_grad:
        rng = np.random.default_rng([seed, value.size])
        gradient = rng.standard_normal(value.shape).astype(value.dtype)
    steps = {}
    if gradient is not None:
        steps["deltagrad-fwd"] = probe
    step, leaves = library_step(dg, spec, case, gradient)
    try:
        step()
    except Exception as error:
        case.notes.append(f"deltagrad backward error: {type(error).__name__}: {error}"[:160])
        return None
    steps["deltagrad"] = step
    if torch is not None:
        try:
            torch_step, torch_leaves = library_step(torch, spec, case, gradient)
            torch_out = torch_step()
        except Exception as error:
            case.notes.append(f"torch error: {type(error).__name__}: {str(error)[:80]}")
        else:
            steps["torch"] = torch_step
            if gradient is not None:
                steps["torch-fwd"] = library_step(torch, spec, case)[0]
            if spec.check:
                try:
                    _compare(case, step(), leaves, torch_out, torch_leaves)
                except Exception as error:
                    case.notes.append(f"check failed: {type(error).__name__}: {error}"[:160])
    steps.update(floor_steps(spec, case, gradient))
    return steps


def _compare(case: Case, out, leaves, torch_out, torch_leaves) -> None:
    if not _same(out, torch_out):
        case.notes.append("value differs from torch")
    for k, (leaf, torch_leaf) in enumerate(zip(leaves, torch_leaves)):
        if (leaf.grad is None) != (torch_leaf.grad is None) or (
                leaf.grad is not None and not _same(leaf.grad, torch_leaf.grad)):
            case.notes.append(f"gradient {k} differs from torch")


# ------------------------------------------------------------------------------------ timing


def time_cases(cases: list[Case], torch, rounds: int, calls: int) -> list[dict]:
    """Build and time every case; one result per case (microseconds per call)."""
    built = [(case, build(case, torch)) for case in cases]
    results = []
    # Everything alive now stays out of the collector for all the alternations (see alternate).
    gc.collect()
    gc.freeze()
    try:
        for case, steps in built:
            result = {"op": case.op, "label": case.label, "notes": case.notes}
            if steps is not None:
                times = common.alternate(
                    {name: (lambda step=step: [step() for _ in range(calls)])
                     for name, step in steps.items()}, rounds, freeze=False)
                us = {name: [t / calls * 1e6 for t in values] for name, values in times.items()}
                result["us"] = {name: statistics.median(values) for name, values in us.items()}
                if "torch" in us:
                    result["vs_torch"] = common.paired_ratio(us["deltagrad"], us["torch"])
                if "torch-fwd" in us:
                    result["fwd_vs_torch"] = common.paired_ratio(us["deltagrad-fwd"],
                                                                 us["torch-fwd"])
                if "numpy-fwd+vjp" in us:
                    result["vs_floor"] = common.paired_ratio(us["deltagrad"], us["numpy-fwd+vjp"])
            results.append(result)
    finally:
        gc.unfreeze()
    return results


def _median_of(results: list[dict], key: str) -> float | None:
    values = [r[key]["median"] for r in results if key in r]
    return statistics.median(values) if values else None


def summarize_ops(case_results: list[dict]) -> list[dict]:
    """Per op: median times and ratio over its cases, its worst case, its notes."""
    by_op: dict[str, list[dict]] = {}
    for result in case_results:
        by_op.setdefault(result["op"], []).append(result)
    rows = []
    for op, results in by_op.items():
        timed = [r for r in results if "us" in r]
        variants = sorted({name for r in timed for name in r["us"]})
        us = {name: statistics.median(r["us"][name] for r in timed if name in r["us"])
              for name in variants}
        ratios = [r for r in timed if "vs_torch" in r]
        worst = max(ratios, key=lambda r: r["vs_torch"]["median"]) if ratios else None
        notes = sorted({f"{r['label']}: {note}" for r in results for note in r["notes"]})
        rows.append({
            "op": op, "cases": len(results), "timed": len(timed), "us": us,
            "ratio": statistics.median(r["vs_torch"]["median"] for r in ratios) if ratios
            else None,
            "worst_case": worst and {"label": worst["label"],
                                     "ratio": worst["vs_torch"]["median"]},
            "vs_floor": _median_of(timed, "vs_floor"),
            "fwd_ratio": _median_of(timed, "fwd_vs_torch"),
            "notes": notes})
    rows.sort(key=lambda row: -1.0 if row["ratio"] is None else row["ratio"], reverse=True)
    return rows


def summary_of(rows: list[dict]) -> dict:
    ratios = [row["ratio"] for row in rows if row["ratio"] is not None]
    over = [row["op"] for row in rows if row["ratio"] is not None and row["ratio"] > GOAL_EACH]
    return {"ops": len(rows), "with_ratio": len(ratios),
            "median_ratio": statistics.median(ratios) if ratios else None,
            "worst": [(row["op"], row["ratio"]) for row in rows[:15] if row["ratio"] is not None],
            "over_goal": over, "flagged": [row["op"] for row in rows if row["notes"]]}


def targets(summary: dict) -> list[dict]:
    if not summary["with_ratio"]:
        return []
    worst_op, worst = summary["worst"][0]
    return [
        common.target("ops: median over ops, deltagrad vs torch fwd+bwd",
                      {"median": summary["median_ratio"]}, GOAL_MEDIAN),
        common.target(f"ops: worst op ({worst_op}) vs torch fwd+bwd", {"median": worst},
                      GOAL_EACH),
    ]


def run(rounds: int = 25, calls: int = 10, threads: int = 1, ops=None,
        max_samples: int = 4) -> dict:
    """Time every mapped op; returns the result (cases, per-op rows, summary, targets)."""
    common.set_threads(threads)
    torch = common.import_torch(threads)
    cases = make_cases(ops, max_samples)
    with np.errstate(all="ignore"):  # samples probe poles and kinks on purpose
        case_results = time_cases(cases, torch, rounds, calls)
    rows = summarize_ops(case_results)
    summary = summary_of(rows)
    missing = unmapped()
    return {"workload": "OPS", "title": "per-op overhead over the registry (fwd+bwd)",
            "unit": "us/call", "threads": threads, "blas": common.blas_threads(),
            "config": {"rounds": rounds, "calls": calls, "max_samples": max_samples,
                       "shapes": [list(s) for s in SHAPES], "broadcast": BROADCAST},
            "rows": rows, "cases": case_results, "summary": summary,
            "targets": targets(summary),
            "not_mapped": {name: INTERNAL.get(name, "NOT MAPPED: add it to MAPPING")
                           for name in missing}}


# ------------------------------------------------------------------------------------ output


def _load(load) -> str:
    return "?" if not load else ", ".join(f"{value:.2f}" for value in load)


def _us(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def table_rows(result: dict) -> tuple[list[str], list[list[str]]]:
    headers = ["op", "cases", "deltagrad us", "torch us", "numpy fwd us", "numpy fwd+vjp us",
               "x torch", "worst case (x torch)", "fwd only x torch", "x fwd+vjp", "notes"]
    rows = []
    for row in result["rows"]:
        us = row["us"]
        worst = row["worst_case"]
        rows.append([
            row["op"], f"{row['timed']}/{row['cases']}", _us(us.get("deltagrad")),
            _us(us.get("torch")), _us(us.get("numpy-fwd")), _us(us.get("numpy-fwd+vjp")),
            "-" if row["ratio"] is None else f"{row['ratio']:.2f}",
            "-" if worst is None else f"{worst['label']} ({worst['ratio']:.2f})",
            "-" if row["fwd_ratio"] is None else f"{row['fwd_ratio']:.2f}",
            "-" if row["vs_floor"] is None else f"{row['vs_floor']:.1f}",
            "; ".join(row["notes"])[:120].replace("|", "/")])
    return headers, rows


def markdown(result: dict, info: dict | None = None) -> str:
    """OP_OVERHEAD.md: the summary, the targets and the table (slowest ratio first)."""
    summary = result["summary"]
    config = result["config"]
    lines = ["# Per-op overhead: deltagrad vs PyTorch vs NumPy, forward + backward", ""]
    if info:
        lines += [f"Written by `{info['command']}` on {info['date']}; machine: {info['cpu']}, "
                  f"{info['cpus']} CPUs, load average {_load(info.get('load_start'))}; NumPy "
                  f"{info.get('numpy')}, PyTorch {info.get('torch')}.", ""]
    median = summary["median_ratio"]
    flagged = ", ".join(summary["flagged"]) or "none"
    lines += [
        f"{result['threads']} thread(s); {config['rounds']} alternated rounds of "
        f"{config['calls']} calls per case; pointwise ops at 0-d, [8], [8,8] and [8,8] with "
        f"[8]; other ops on up to {config['max_samples']} of their registered samples. How it "
        "is measured: the docstring of `benchmarks/op_overhead.py`.",
        "",
        f"- ops timed: {summary['ops']} ({summary['with_ratio']} against PyTorch); median "
        f"ratio deltagrad / PyTorch: {'-' if median is None else f'{median:.2f}'} "
        f"(goal <= {GOAL_MEDIAN}).",
        f"- ops over {GOAL_EACH} x PyTorch: {len(summary['over_goal'])}"
        + (f" ({', '.join(summary['over_goal'])})" if summary["over_goal"] else "") + ".",
        f"- flagged (a case differs from PyTorch or fails): {flagged}.",
        "- `x torch`: median over the op's cases of the per-round paired ratio (forward + "
        "backward: one call, then `backward(g)`); `fwd only x torch`: the forward alone, on "
        "inputs that require grad (the graph is recorded); `x fwd+vjp`: deltagrad over the op's "
        "own forward + VJP rule on bare arrays (what the engine adds).",
        "",
    ]
    for line in common.target_lines(result):
        lines.append(f"- {line}")
    lines += ["", common.markdown_table(*table_rows(result)), ""]
    if result["not_mapped"]:
        lines += ["Not mapped (no public call):", ""]
        lines += [f"- `{name}`: {why}" for name, why in result["not_mapped"].items()]
        lines.append("")
    return "\n".join(lines)


def report(result: dict, json_path: str | None = None, markdown_path: str | None = None,
           top: int = 25) -> None:
    headers, rows = table_rows(result)
    print(f"OPS {result['title']}: threads={result['threads']}")
    print(common.text_table(headers[:-1], [row[:-1] for row in rows[:top]]))
    if len(rows) > top:
        print(f"... {len(rows) - top} more ops (all in the markdown/JSON)")
    summary = result["summary"]
    if summary["median_ratio"] is not None:
        print(f"median ratio over {summary['with_ratio']} ops: {summary['median_ratio']:.3f}; "
              f"over {GOAL_EACH}: {len(summary['over_goal'])}")
    for line in common.target_lines(result):
        print("  " + line)
    for row in result["rows"]:
        for note in row["notes"]:
            print(f"  note {row['op']}: {note}")
    for name, why in result["not_mapped"].items():
        print(f"  not mapped {name}: {why}")
    if json_path:
        common.write_json(json_path, result)
    if markdown_path:
        Path(markdown_path).write_text(markdown(result))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=25, help="alternated rounds (default 25)")
    parser.add_argument("--calls", type=int, default=10, help="calls per timed block (10)")
    parser.add_argument("--max-samples", type=int, default=4,
                        help="registered samples per non-pointwise op (default 4)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true",
                        help="under a minute: 11 rounds of 5 calls, 2 samples per op")
    parser.add_argument("--ops", help="comma-separated subset of ops")
    parser.add_argument("--json", metavar="FILE", help="write the result as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="write the markdown table")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.calls, args.max_samples = 11, 5, 2
    ops = args.ops.split(",") if args.ops else None
    if ops:
        unknown = [name for name in ops if name not in MAPPING]
        if unknown:
            parser.error(f"not mapped: {', '.join(unknown)}")
    result = run(args.rounds, args.calls, args.threads, ops, args.max_samples)
    report(result, args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
