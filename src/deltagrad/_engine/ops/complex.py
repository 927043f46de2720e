"""Complex numbers: the parts of a complex tensor, building one, and the discrete Fourier
transforms (PyTorch's three FFT primitives: complex-to-complex, real-to-complex and
complex-to-real).

Gradients follow PyTorch's convention for complex numbers: the gradient of a real loss ``L``
with respect to ``z = x + iy`` is ``dL/dx + i dL/dy`` (the conjugate Wirtinger derivative, times
two), and a rule receives the upstream gradient ``g`` of a complex output in that form. For a
complex-linear map ``y = A z`` the rule is then ``A^H g``; for a real input the engine keeps the
real part of what the rule returns (``_fit``'s cast), which is that input's gradient.

``HOLOMORPHIC`` and ``complex_rule`` are what the engine needs to make every other op's rule
right for complex tensors (see ``complex_rule``; tensor.py's ``_result`` calls it).
"""

from __future__ import annotations

import warnings

import numpy as np

from .elementwise_math import ERR_STATE, IGNORE_ALL, register_quiet
from .registry import ARRAY, Op, Sample, register

__all__ = ["COMPLEX_AWARE", "COMPLEX_DTYPES", "HOLOMORPHIC", "USER_OPS", "complex_dtype",
           "complex_rule", "real_dtype"]

_COMPLEX_OF = {np.dtype(np.float32): np.dtype(np.complex64),
               np.dtype(np.float64): np.dtype(np.complex128)}
_REAL_OF = {np.dtype(np.complex64): np.dtype(np.float32),
            np.dtype(np.complex128): np.dtype(np.float64)}


def complex_dtype(dtype: np.dtype) -> np.dtype:
    """The complex dtype of a real floating one (float32 -> complex64; complex stays)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return dtype
    return _COMPLEX_OF.get(dtype, np.dtype(np.complex128))


def real_dtype(dtype: np.dtype) -> np.dtype:
    """The real dtype of a complex one (complex64 -> float32; real stays)."""
    dtype = np.dtype(dtype)
    return _REAL_OF.get(dtype, dtype) if dtype.kind == "c" else dtype


def _as_complex(x):
    return x if x.dtype.kind == "c" else x.astype(complex_dtype(x.dtype))


def _like(F, grad, x):
    """``grad`` made complex or real as the input ``x`` is: the real part for a real input
    (its gradient, by the convention), ``grad + 0i`` for a complex one. The engine would cast
    it too, but NumPy warns on every complex-to-real cast."""
    kind, want = F.data(grad).dtype.kind, F.data(x).dtype.kind
    if kind == "c" and want != "c":
        if F is ARRAY:
            return grad.real
        # (The Tensor namespace: a cast, since apply narrows a float64 result of complex128
        # inputs to float32, and the cast is exempt; it is the real part, warned about.)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            return F.cast(grad, F.data(x).dtype)
    if kind != "c" and want == "c":
        if F is ARRAY:
            # grad + 0i as the complex op makes it (its dtype), by a cast: real's rule on
            # [3, 4] complex64, 12.7 -> 0.7 us (timeit; op_overhead real 0.61 -> 0.44).
            return np.array(grad, complex_dtype(grad.dtype))  # (an array for 0-d too)
        return F.op("complex", grad, F.zeros_like(grad))
    return grad


# --------------------------------------------------------------------------------------------
# The parts of a complex number. Forwards also take real arrays (the gradcheck samples are
# real, and a real gradient may reach a rule written for a complex one).


def _real_forward(x):
    return x.real  # a view of the complex array (the array itself when real)


def _real_vjp(F, g, out, x):
    # L depends on Re z only: dL/dx + i dL/dy = g + 0i.
    return (_like(F, g, x),)


def _imag_forward(x):
    return x.imag if x.dtype.kind == "c" else np.zeros_like(x)


def _imag_vjp(F, g, out, x):
    # (0 + i g written at once, [3, 4]: 8.1 -> 1.5 us, timeit; op_overhead imag 0.61 -> 0.45)
    if F is ARRAY and x.dtype.kind == "c":
        gx = np.zeros(g.shape, complex_dtype(g.dtype))
        gx.imag = g
        return (gx,)
    return (_like(F, F.op("complex", F.zeros_like(g), g), x),)  # 0 + i g


def _part_samples(rng):
    return [Sample((rng.standard_normal(s),)) for s in [(), (5,), (3, 4)]]


register("real", forward=_real_forward, vjp=_real_vjp, samples=_part_samples)
register("imag", forward=_imag_forward, vjp=_imag_vjp, samples=_part_samples)


def _conj_forward(x):
    return np.conj(x) if x.dtype.kind == "c" else x


def _conj_vjp(F, g, out, x):
    # out = conj(z): d/dx keeps its sign, d/dy flips it, so the gradient is conj(g).
    return (_like(F, F.op("conj_physical", g), x),)


register("conj_physical", forward=_conj_forward, vjp=_conj_vjp, samples=_part_samples)


def _complex_forward(re, im):
    # (Equal dtypes and shapes skip result_type and broadcast_shapes: [3, 4] 4.2 -> 2.0 us,
    # timeit; the rules of imag, conj and view_as_real reach it too.)
    dtype = complex_dtype(re.dtype if re.dtype == im.dtype else np.result_type(re, im))
    shape = re.shape if re.shape == im.shape else np.broadcast_shapes(re.shape, im.shape)
    out = np.empty(shape, dtype)
    out.real = re
    out.imag = im
    return out


def _complex_vjp(F, g, out, re, im):
    return F.op("real", g), F.op("imag", g)


def _complex_samples(rng):
    shapes = [((), ()), ((4,), (4,)), ((3, 4), (4,)), ((3, 1), (1, 4))]
    return [Sample((rng.standard_normal(a), rng.standard_normal(b))) for a, b in shapes]


register("complex", forward=_complex_forward, vjp=_complex_vjp, samples=_complex_samples)


def _polar_forward(r, theta):
    # (The two parts are already of the broadcast shape: no broadcast_shapes / result_type as
    # in _complex_forward. With the rule's ARRAY path below: op_overhead.py --ops polar,
    # one thread, 0.66 -> 0.60 x PyTorch.)
    re, im = r * np.cos(theta), r * np.sin(theta)
    out = np.empty(re.shape, _COMPLEX_OF.get(re.dtype, np.dtype(np.complex128)))
    out.real = re
    out.imag = im
    return out


def _polar_vjp(F, g, out, r, theta):
    # out = r e^{i theta}; a real input t gets Re(conj(g) d out/dt):
    # d/dr = e^{i theta}, d/dtheta = i out.
    # NOTE: PyTorch's rule takes d/dr as sgn(out) = sign(r) e^{i theta}: 0 where r is 0 and
    # negated where r < 0 (outside polar's domain); the same here (s27 SP37: r = 0 gave
    # e^{i theta}'s part where PyTorch gives 0).
    sign = np.sign(F.data(r))
    if F is ARRAY:  # (the parts as views, not through the registered ops)
        a, b = g.real, g.imag
        cos, sin = np.cos(theta), np.sin(theta)
        return (a * cos + b * sin) * sign, r * (b * cos - a * sin)
    a, b = F.op("real", g), F.op("imag", g)
    cos, sin = F.cos(theta), F.sin(theta)
    return (a * cos + b * sin) * F.const(sign), r * (b * cos - a * sin)


def _polar_samples(rng):
    shapes = [((), ()), ((4,), (4,)), ((3, 4), (4,))]
    return [Sample((rng.uniform(0.2, 2.0, a), rng.uniform(-3.0, 3.0, b))) for a, b in shapes]


register_quiet("polar", forward=_polar_forward, vjp=_polar_vjp, samples=_polar_samples)


def _angle_forward(x):
    if x.dtype.kind == "c":
        # (np.angle's own arithmetic, without its Python wrapper: 6.2 -> 2.4 us on [3, 4]
        # complex64 through deltagrad.angle, timeit); out= keeps a 0-d result an array
        return np.arctan2(x.imag, x.real, out=np.empty(x.shape, _REAL_OF[x.dtype]))
    # PyTorch: pi for negative reals, 0 otherwise, NaN stays NaN.
    return np.where(np.isnan(x), x, np.where(x < 0, np.pi, 0.0).astype(x.dtype))


def _angle_vjp(F, g, out, x):
    if F.data(x).dtype.kind != "c":
        return (F.zeros_like(g),)  # piecewise constant (PyTorch's gradient: zeros)
    # theta = atan2(y, x): d/dx = -y / |z|^2, d/dy = x / |z|^2.
    # NOTE: at z = 0 the gradient is 0 (both parts vanish with a safe denominator), as PyTorch.
    if F is ARRAY:
        # The same as i g z / |z|^2 in PyTorch's order of operations, in 7 NumPy calls instead
        # of 17: angle(x.to(complex64)) forward + backward, 0-d 24.3 -> 18.2 us, [8, 8]
        # 27.0 -> 20.5 (timeit, one thread); op_overhead.py --ops angle 0.72 -> 0.59 x PyTorch.
        token = ERR_STATE.set(IGNORE_ALL)  # (0.12 us against np.errstate's 1.2)
        try:
            grad = g * x / np.square(np.abs(x)) * 1j
        finally:
            ERR_STATE.reset(token)
        return (np.where(x == 0, 0, grad),)
    re, im = F.op("real", x), F.op("imag", x)
    square = re * re + im * im
    safe = F.where(F.const(F.data(square) == 0), F.const(np.ones((), F.data(square).dtype)),
                   square)
    return (F.op("complex", -g * im / safe, g * re / safe),)


register_quiet("angle", forward=_angle_forward, vjp=_angle_vjp,
         samples=lambda rng: [Sample((rng.uniform(0.3, 2.0, s),)) for s in [(), (4,), (2, 3)]])


def _view_as_real_forward(x):
    x = _as_complex(x)
    # A trailing axis of one complex item, read as two real ones: a view sharing x's memory
    # at any strides (not as_strided: 2.35 -> 0.25 us on [3, 4] complex64, timeit).
    return x[..., None].view(_REAL_OF[x.dtype])


def _view_as_real_vjp(F, g, out, x):
    return (_like(F, F.op("view_as_complex", g), x),)


def _view_as_complex_forward(x):
    itemsize = x.itemsize
    if x.shape and (x.flags.c_contiguous or x.strides[-1] == itemsize and all(
            s % (2 * itemsize) == 0 for s in x.strides[:-1])):
        return x.view(complex_dtype(x.dtype))[..., 0]  # a view, as PyTorch's
    out = np.empty(x.shape[:-1], complex_dtype(x.dtype))  # (a rule's gradient: any strides)
    out.real = x[..., 0]
    out.imag = x[..., 1]
    return out


def _view_as_complex_vjp(F, g, out, x):
    return (F.op("view_as_real", g),)


register("view_as_real", forward=_view_as_real_forward, vjp=_view_as_real_vjp,
         samples=_part_samples)
register("view_as_complex", forward=_view_as_complex_forward, vjp=_view_as_complex_vjp,
         samples=lambda rng: [Sample((rng.standard_normal(s),)) for s in [(2,), (3, 2), (2, 3, 2)]])


# --------------------------------------------------------------------------------------------
# The Fourier transforms, as PyTorch's primitives: ``dim`` a tuple of distinct non-negative
# dims, ``normalization`` the scale 1 (0), 1/sqrt(n) (1) or 1/n (2) with n the product of the
# signal's sizes over ``dim`` (the output's for complex-to-real), whichever the direction.

_NORM_FORWARD = ("backward", "ortho", "forward")  # NumPy's norm for e^{-i...} at each scale
_NORM_INVERSE = ("forward", "ortho", "backward")  # and for e^{+i...}


# NumPy's FFT kernels (ufuncs since NumPy 2.0, in a private module) called as np.fft's 1-d
# functions call them, with the same scale, so the same bits, one dim at a time in the order
# its n-d functions take them, without their argument handling: np.fft.fft on [4, 3]
# complex64 3.9 us, the ufunc 1.5 (timeit, one thread); fftn over both dims 11.8. Without the
# module (or for other dtypes, or empty dims, whose errors np.fft words) np.fft's functions.
try:
    from numpy.fft import _pocketfft_umath as _kernels
except ImportError:  # pragma: no cover - NumPy < 2.0
    _kernels = None
_FAST_DTYPES = frozenset(map(np.dtype, (np.float32, np.float64, np.complex64, np.complex128)))
_SCALES: dict = {}


def _scale(n: int, normalization: int, dtype: np.dtype):
    """np.fft's factor for ``n`` points: 1, 1 / sqrt(n) or 1 / n in ``dtype``'s real type."""
    key = (n, normalization, dtype)
    scale = _SCALES.get(key)
    if scale is None:
        real = real_dtype(dtype)
        scale = (1 if normalization == 0 else np.reciprocal(np.sqrt(n, dtype=real))
                 if normalization == 1 else np.reciprocal(n, dtype=real))
        if len(_SCALES) >= 256:
            _SCALES.clear()
        _SCALES[key] = scale
    return scale


def _transform(x, axis, normalization, kind, n=None):
    """One dim's transform: kind "fft" / "ifft" (complex x), "rfft" (real x), "irfft" (complex
    x to ``n`` real points); ``normalization`` as the ops' (the scale, whichever direction)."""
    size = x.shape[axis]
    if _kernels is None or size < 1 or x.dtype not in _FAST_DTYPES:
        function = getattr(np.fft, kind)
        norm = (_NORM_INVERSE if kind[0] == "i" else _NORM_FORWARD)[normalization]
        return function(x, axis=axis, norm=norm) if n is None else function(
            x, n=n, axis=axis, norm=norm)
    # (Outputs of another shape C-contiguous, np.empty: 0.15 us against empty_like's 0.28.)
    if kind == "rfft":
        ufunc = _kernels.rfft_n_even if size % 2 == 0 else _kernels.rfft_n_odd
        shape = x.shape[:axis] + (size // 2 + 1,) + x.shape[axis + 1:]
        out = np.empty(shape, _COMPLEX_OF[x.dtype])
    elif kind == "irfft":
        ufunc, size = _kernels.irfft, n
        out = np.empty(x.shape[:axis] + (n,) + x.shape[axis + 1:], _REAL_OF[x.dtype])
    else:
        ufunc = _kernels.fft if kind == "fft" else _kernels.ifft
        out = np.empty_like(x)
    scale = _scale(size, normalization, x.dtype)
    # (The gufunc's default axes: no axes= to parse; c2c forward on [5] 2.41 -> 2.25 us,
    # medians of 30 alternated timeit rounds, one thread.)
    try:
        if axis == x.ndim - 1:
            return ufunc(x, scale, out=out)
        return ufunc(x, scale, axes=[(axis,), (), (axis,)], out=out)
    except RuntimeWarning:  # (inf / nan inside: raised by QUIET_ENGINE_CALLS, free until then)
        token = ERR_STATE.set(IGNORE_ALL)  # (PyTorch's transforms are silent)
        try:
            if axis == x.ndim - 1:
                return ufunc(x, scale, out=out)
            return ufunc(x, scale, axes=[(axis,), (), (axis,)], out=out)
        finally:
            ERR_STATE.reset(token)


def _c2c_forward(x, *, dim, normalization, forward):
    x = _as_complex(x)
    kind = "fft" if forward else "ifft"
    out = x.copy() if not dim else x
    for axis in reversed(dim):  # (fftn's order)
        out = _transform(out, axis, normalization, kind)
    return out.astype(x.dtype, copy=False)


def _c2c_vjp(F, g, out, x, *, dim, normalization, forward):
    # A complex-linear map c W: its adjoint is c W^H, the same scale the other way round.
    gx = F.op("_fft_c2c", g, dim=dim, normalization=normalization, forward=not forward)
    return (_like(F, gx, x),)


def _r2c_forward(x, *, dim, normalization, onesided):
    if x.dtype.kind not in "f":
        x = x.astype(np.float64)
    if onesided:
        out = _transform(x, dim[-1], normalization, "rfft")
        for axis in reversed(dim[:-1]):  # (rfftn's order)
            out = _transform(out, axis, normalization, "fft")
    else:
        out = _c2c_forward(x, dim=dim, normalization=normalization, forward=True)
    return out.astype(complex_dtype(x.dtype), copy=False)


def _r2c_vjp(F, g, out, x, *, dim, normalization, onesided):
    # The full transform's adjoint, after padding the dropped half of the last dim with zeros
    # (the one-sided output is the full one, truncated); the input is real, so its gradient
    # is the real part.
    last = dim[-1]
    missing = F.data(x).shape[last] - F.data(g).shape[last]
    if onesided and missing > 0 and F is ARRAY:
        # (zeros and one slice's copy, not the pad op's general path: op_overhead.py --ops
        # _fft_r2c, one thread, 0.63 -> 0.59 x PyTorch)
        full_g = np.zeros(g.shape[:last] + (x.shape[last],) + g.shape[last + 1:], g.dtype)
        full_g[(slice(None),) * last + (slice(0, g.shape[last]),)] = g
        g = full_g
    elif onesided and missing > 0:
        pad = (0, 0) * (F.data(g).ndim - 1 - last) + (0, missing)
        g = F.op("pad", g, pad=pad, mode="constant", value=0.0)
    full = F.op("_fft_c2c", g, dim=dim, normalization=normalization, forward=False)
    return (_like(F, full, x),)


def _c2r_forward(x, *, dim, normalization, last_dim_size):
    x = _as_complex(x)
    out = x
    for axis in dim[:-1]:  # (irfftn's order)
        out = _transform(out, axis, normalization, "ifft")
    out = _transform(out, dim[-1], normalization, "irfft", last_dim_size)
    return out.astype(real_dtype(x.dtype), copy=False)


def _c2r_vjp(F, g, out, x, *, dim, normalization, last_dim_size):
    # out = c Re(sum_k w_k X_k e^{+i...}) over the half spectrum, w_k = 2 for the entries that
    # stand for two (their conjugate mirror), 1 for the first and (even sizes) the middle one:
    # the gradient is c w r2c(g).
    half = F.op("_fft_r2c", g, dim=dim, normalization=normalization, onesided=True)
    hd = F.data(half)
    size = hd.shape[dim[-1]]
    doubled = last_dim_size - size
    if doubled <= 0:
        return (_like(F, half, x),)
    key = (size, doubled, hd.dtype, hd.ndim, dim[-1])
    weight = _C2R_WEIGHTS.get(key)
    if weight is None:  # (cached: np.ones, a slice's write and a reshape, 1.2 us a call)
        weight = np.ones(size, real_dtype(hd.dtype))
        weight[1:1 + doubled] = 2
        shape = [1] * hd.ndim
        shape[dim[-1]] = size
        weight = weight.reshape(shape)
        weight.flags.writeable = False
        if len(_C2R_WEIGHTS) >= 256:
            _C2R_WEIGHTS.clear()
        _C2R_WEIGHTS[key] = weight
    if F is ARRAY and x.dtype.kind == "c":
        half *= weight  # (the transform's own fresh array)
        return (half,)
    return (_like(F, half * F.const(weight), x),)


_C2R_WEIGHTS: dict = {}


def _fft_samples(rng):
    # Real arrays: the gradcheck differentiates float inputs only, so the rules are checked
    # through the transforms' real part (tests/test_s6_fft*.py checks complex ones too).
    cases = [((5,), (0,)), ((4, 3), (1,)), ((4, 3), (0, 1)), ((2, 3, 4), (0, 2))]
    samples = []
    for shape, dim in cases:
        for normalization in (0, 1, 2):
            samples.append((rng.standard_normal(shape), dim, normalization))
    return samples


def _c2c_samples(rng):
    return [Sample((x,), {"dim": dim, "normalization": k, "forward": bool(k % 2)})
            for x, dim, k in _fft_samples(rng)]


def _r2c_samples(rng):
    return [Sample((x,), {"dim": dim, "normalization": k, "onesided": k != 1})
            for x, dim, k in _fft_samples(rng)]


def _c2r_samples(rng):
    out = []
    for x, dim, k in _fft_samples(rng):
        n = 2 * (x.shape[dim[-1]] - 1) + (k % 2)  # even and odd output sizes
        out.append(Sample((x,), {"dim": dim, "normalization": k, "last_dim_size": n}))
    return out


register("_fft_c2c", forward=_c2c_forward, vjp=_c2c_vjp, samples=_c2c_samples)
register("_fft_r2c", forward=_r2c_forward, vjp=_r2c_vjp, samples=_r2c_samples)
register("_fft_c2r", forward=_c2r_forward, vjp=_c2r_vjp, samples=_c2r_samples)


# --------------------------------------------------------------------------------------------
# What the engine needs to make every other op's rule right for complex tensors.
#
# The rules are written with the ordinary derivative (mul: g * b). For a complex input the
# convention wants its conjugate (g * conj(b)), and for a holomorphic op that is exactly
# conj(rule(conj(g))): the engine can fix every such op at once by running its rule that way
# when a complex tensor takes part. A rule that is not holomorphic (abs, var, ...) cannot be
# fixed so; unless written for complex numbers (COMPLEX_AWARE) it must refuse.

COMPLEX_DTYPES = frozenset((np.dtype(np.complex64), np.dtype(np.complex128)))
COMPLEX_AWARE = frozenset(
    "real imag conj_physical complex polar angle view_as_real view_as_complex _fft_c2c "
    "_fft_r2c _fft_c2r abs cast LinalgEig linalg_cholesky linalg_eigh linalg_qr "
    "packed_part".split())
# abs: its rule g * sign(z) is z / |z| for complex z (NumPy's sign), the right gradient;
# cast: real <-> complex casts keep the real part of the gradient, as the convention does.
# LinalgEig: linalg.eig's Function (autograd/functional.py), its rules PyTorch's complex ones.
# linalg_cholesky: its rule has a complex branch (ops/decompositions.py, PyTorch's; CX s16).
# linalg_eigh, linalg_qr: likewise (PyTorch's rules; CE s16). packed_part: its rule copies g
# into zeros (a move, right for complex as it is).
# Holomorphic (analytic) functions, and add / sub / neg: the rules listed here are right for
# complex numbers run as conj(rule(conj(g))). Kept to rules read for it; others refuse.
HOLOMORPHIC = frozenset(
    "add sub mul div neg exp exp2 expm1 log log2 log10 log1p sqrt rsqrt reciprocal pow "
    "pow_scalar sin cos tan sinh cosh tanh asin acos atan asinh acosh atanh sigmoid logaddexp "
    "matmul logsumexp linear einsum lerp prod cumprod linalg_solve linalg_inv linalg_det "
    "linalg_solve_triangular".split())
# linalg_solve / inv / det / solve_triangular: X = A⁻¹B, A⁻¹ and det A are analytic in A and B,
# and their rules (linalg_solve.py) are the ordinary derivatives (transposes, never
# conjugates): the twin gives PyTorch's A⁻ᴴ G, -A⁻ᴴ G A⁻ᴴ and ḡ·conj(det A)·A⁻ᴴ (CX, s16).
# The linear ops whose rules only move, sum or scale by real numbers: right for complex numbers
# as they are, so they run without the twin (whose conj pair turned the zeros a rule fills in,
# getitem's, index_add_zeros', into -0j where PyTorch's are +0j; s31 SL5S). as_strided's sum
# g into a zero storage and read it back, splitting a position shared by input elements
# evenly (it refused complex gradients before; SL5's soak, s31).
REAL_LINEAR = frozenset(
    "sum mean cumsum reshape permute expand getitem index_add_zeros index_put gather "
    "scatter_sum cat stack pad clone diagonal unfold where as_strided".split())

# The ops of users' autograd.Function subclasses (autograd/function.py's _op_of / _pick_of add
# them): their backward is the user's, written for whatever dtype forward took, so complex
# gradients pass through it unchanged, as PyTorch's engine does. deltagrad's own Functions are
# not here (they refuse unless listed in COMPLEX_AWARE). A set, as Op has no weak references;
# each class keeps its op alive anyway.
USER_OPS: set = set()

_TWINS: dict[str, Op] = {}


def complex_rule(op: Op, dtype=None) -> Op:
    """The op whose rule is right when complex tensors take part in ``op``.

    ``op`` itself when its rule is written for complex numbers (or is a user's Function's); for
    a holomorphic op a twin whose rule is ``conj(rule(conj(g)))``; otherwise
    NotImplementedError naming the op and ``dtype`` (never a wrong gradient). The engine's
    ``_result`` calls this where a result that requires grad is complex.
    """
    name = op.name
    if name in COMPLEX_AWARE or name in REAL_LINEAR or op in USER_OPS:
        return op
    if name not in HOLOMORPHIC:
        got = "" if dtype is None else f" (got {dtype}; its real dtypes have them)"
        raise NotImplementedError(
            f"{name}: gradients through complex tensors are not supported for this op yet"
            f"{got}")
    twin = _TWINS.get(name)
    if twin is None:
        rule = op.vjp

        def vjp(F, g, out, *inputs, **attrs):
            grads = rule(F, F.op("conj_physical", g), out, *inputs, **attrs)
            return tuple(None if r is None else _conj(F, r) for r in grads)

        vjp.__wrapped__ = rule  # (what it reads of its inputs and output: versions.saved)
        twin = _TWINS[name] = Op(name, op.forward, vjp, op.samples, op.wants_needs,
                                 op.second_order)
    return twin


# node_names' naming of a create_graph gradient's conjugate (set there: it sits above ops).
NAME_AS: list = [None]


def _conj(F, r):
    """conj(r), the last step of a holomorphic twin's rule. Under create_graph its node takes
    the name and inputs of ``r``'s (``NAME_AS``): PyTorch's formula, grad * conj(f'(z)), ends
    in that op (sin's complex gradient is a MulBackward0, as its real one; was
    ConjPhysicalBackward0, s30 BR22). Names only: values and gradients are the twin's."""
    c = F.op("conj_physical", r)
    if F is not ARRAY and NAME_AS[0] is not None and c is not r:
        NAME_AS[0](c, r)
    return c
