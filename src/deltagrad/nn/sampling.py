"""Image resampling (PyTorch's ``affine_grid`` and ``grid_sample``): spatial transformers."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np

from .._engine.api.creation import from_numpy, zeros_like
from .._engine.api.linalg import matmul
from .._engine.api.pointwise import _t
from .._engine.api.shape import stack
from .._engine.api.spaced import linspace
from .._engine.dtypes import of as dtype_of
from .._engine.ops.elementwise_math import quietly
from .._engine.tensor import Tensor
from ..autograd import Function, is_grad_enabled
from ._functional_args import DimIndexError, check_int_list, check_tensor

__all__ = ["affine_grid", "grid_sample"]

_DEFAULT_CHANGED = ("Default grid_sample and affine_grid behavior has changed to "
                    "align_corners=False since 1.3.0. Please specify align_corners=True if the "
                    "old behavior is desired. See the documentation of grid_sample for details.")


# ----------------------------------------------------------------------------------------------
# affine_grid: a differentiable composition (base grid @ theta^T), so it needs no custom rule.


def _base_coordinates(steps: int, align_corners: bool, dtype: np.dtype) -> np.ndarray:
    """``steps`` normalised coordinates in [-1, 1]: pixel corners or pixel centres."""
    if steps <= 1:
        return np.zeros(max(steps, 0), dtype=dtype)
    # As PyTorch: its linspace in theta's dtype (not NumPy's: the middle of linspace(-1, 1, 7)
    # is 5.6e-17, not 0), then times steps - 1 and over steps, each rounded in that dtype. The
    # last bits matter: grid_sample's gradient at a point exactly on a pixel takes the
    # difference on the side that floor() of the coordinate picks.
    values = linspace(-1.0, 1.0, steps, dtype=dtype_of(dtype))._data  # (bfloat16 too)
    if not align_corners:
        # Centres of ``steps`` equal cells that tile [-1, 1].
        values = values * np.asarray(steps - 1, dtype=dtype) / np.asarray(steps, dtype=dtype)
    return values.astype(dtype, copy=False)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """Sampling grid of a batch of affine maps, as ``torch.nn.functional.affine_grid``.

    Args:
        theta: floating ``[N, 2, 3]`` (2-d) or ``[N, 3, 4]`` (3-d) affine matrices, mapping
            output coordinates (x, y[, z], 1) to input coordinates, all normalised to [-1, 1].
        size: the output's size, ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        align_corners: whether -1 and 1 are the centres of the corner pixels (True) or the
            image's outer edges (False). None means False, with PyTorch's warning.

    Returns:
        ``[N, H, W, 2]`` (or ``[N, D, H, W, 3]``) grid of (x, y[, z]) for ``grid_sample``.

    >>> import deltagrad as dg
    >>> identity = dg.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    >>> affine_grid(identity, (1, 1, 1, 2), align_corners=False)
    tensor([[[[-0.5000,  0.0000],
              [ 0.5000,  0.0000]]]])
    """
    if align_corners is None:
        warnings.warn(_DEFAULT_CHANGED, stacklevel=2)
        align_corners = False
    theta = _t(theta)
    if theta.dtype.kind != "f":
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    count = len(size)  # (PyTorch's Python code: its length, then the shapes, then the types)
    if count == 4:
        rows, cols, kind = 2, 3, "2D"
    elif count == 5:
        rows, cols, kind = 3, 4, "3D"
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (rows, cols):
        raise ValueError(f"Expected a batch of {kind} affine matrices of shape Nx{rows}x{cols} "
                         f"for size {size}. Got {tuple(theta.shape)}.")
    size = tuple(check_int_list(list(size), "size", "affine_grid_generator"))
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids "
                      "when align_corners=True. This is not an intended use case of affine_grid. "
                      "See the documentation of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"affine_grid: theta holds {theta.shape[0]} matrices but size asks "
                           f"for a batch of {size[0]} (theta {tuple(theta.shape)}, size {size})")
    dtype = theta._data.dtype
    # The last axis of the base grid is (x, y[, z], 1): x runs along the last spatial dim.
    axes = [_base_coordinates(s, align_corners, dtype) for s in reversed(spatial)]
    mesh = np.meshgrid(*axes, indexing="ij")  # indexed (x, y[, z])
    base = np.stack([m.transpose(tuple(reversed(range(len(spatial))))) for m in mesh]
                    + [np.ones(spatial, dtype=dtype)], axis=-1)
    base = from_numpy(np.ascontiguousarray(base.reshape(1, -1, cols)))
    grid = matmul(base, theta.transpose(1, 2))  # [N, points, rows]
    return grid.reshape(size[0], *spatial, rows)


# ----------------------------------------------------------------------------------------------
# grid_sample: NumPy forward and VJP in one Function (its VJP recorded with differentiable ops
# under create_graph).


def _unnormalize(coord: np.ndarray, size: int, align_corners: bool,
                 fused: bool = False) -> tuple:
    """Pixel coordinates of normalised ones, and d(pixel)/d(normalised).

    ``fused``: PyTorch's 2-d CPU kernel (vectorised, built with FMA) rounds
    ``(coord + 1) * (size / 2) - 0.5`` once, as a fused multiply-add; its 3-d kernel rounds
    each step. A grid point on a pixel (affine_grid's, align_corners=False) can then land a
    last bit below it, and floor() picks the pixel before: the grid gradient is the other
    side's difference (here: the product and difference in a wider float, then rounded).
    """
    if align_corners:
        return (coord + 1) * ((size - 1) / 2), (size - 1) / 2
    if fused and coord.dtype.kind == "f" and coord.dtype.itemsize in (4, 8):
        wide = np.longdouble if coord.dtype.itemsize == 8 else np.float64
        shifted = (coord + 1).astype(wide)
        return (shifted * wide(size / 2) - wide(0.5)).astype(coord.dtype), size / 2
    return ((coord + 1) * size - 1) / 2, size / 2


def _clip(coord: np.ndarray, size: int) -> tuple:
    """Clamp to [0, size - 1]; the derivative is 1 strictly inside, else 0.

    NOTE: PyTorch counts the border itself as outside (derivative 0 at exactly 0 and size - 1);
    we pick the same one-sided value.
    """
    inside = (coord > 0) & (coord < size - 1)
    return np.clip(coord, 0, size - 1), inside.astype(coord.dtype)


def _reflect(coord: np.ndarray, twice_low: int, twice_high: int) -> tuple:
    """Fold ``coord`` into [twice_low / 2, twice_high / 2] by mirror reflections; derivative ±1."""
    if twice_low == twice_high:
        return np.zeros_like(coord), np.zeros_like(coord)
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    shifted = coord - low
    sign = np.where(shifted < 0, -1.0, 1.0).astype(coord.dtype)
    shifted = np.abs(shifted)
    extra = np.fmod(shifted, span)
    flips = np.floor(shifted / span)
    even = (flips % 2) == 0
    folded = np.where(even, extra + low, span - extra + low).astype(coord.dtype)
    return folded, np.where(even, sign, -sign).astype(coord.dtype)


def _source_coordinates(coord: np.ndarray, size: int, padding_mode: str,
                        align_corners: bool, fused: bool = False) -> tuple:
    """Pixel coordinates after padding, and their derivative w.r.t. the grid values."""
    coord, scale = _unnormalize(coord, size, align_corners, fused)
    slope = np.full_like(coord, scale)
    if padding_mode == "border":
        coord, d = _clip(coord, size)
        slope = slope * d
    elif padding_mode == "reflection":
        if align_corners:
            coord, d = _reflect(coord, 0, 2 * (size - 1))
        else:
            coord, d = _reflect(coord, -1, 2 * size - 1)
        slope = slope * d
        coord, d = _clip(coord, size)
        slope = slope * d
    return coord, slope


class _GridSample(Function):
    """out[n, c, p] = sum over the corners around grid point p of weight * input[n, c, corner]."""

    @staticmethod
    @quietly  # (PyTorch's kernels never warn on inf / nan: PR8's probe, -W error)
    def forward(ctx, x, grid, *, mode, padding_mode, align_corners):
        xs, gs = x.numpy(), grid.numpy()
        batch, channels, *spatial = xs.shape
        points = gs.shape[1:-1]
        dims = len(spatial)
        flat_grid = gs.reshape(batch, math.prod(points), dims)
        coords, slopes = [], []
        fused = dims == 2  # (see _unnormalize)
        for axis, size in enumerate(spatial):
            # grid[..., 0] is x, the last spatial axis: hence the reversed component.
            if mode == "bicubic":  # (padding applies to each tap's position instead)
                c, scale = _unnormalize(flat_grid[..., dims - 1 - axis], size, align_corners,
                                        fused)
                s = np.full_like(c, scale)
            else:
                c, s = _source_coordinates(flat_grid[..., dims - 1 - axis], size, padding_mode,
                                           align_corners, fused)
            coords.append(c)
            slopes.append(s)
        values = xs.reshape(batch, channels, math.prod(spatial))
        if mode == "bilinear":
            # Every corner at once from per-axis pairs (see _linear_taps), gathered by one take
            # over flat ids; no partials unless a grid gradient is wanted (backward makes them).
            flats, weights, masks, factors = _linear_taps(coords, spatial)
            taps = None
        else:
            taps = (_bicubic_taps(coords, spatial, padding_mode, align_corners)
                    if mode == "bicubic" else _nearest_tap(coords, spatial))
            factors = None
            if len(taps) == 1:  # (nearest: views, no copies)
                flats, weights, masks = taps[0][0][None], taps[0][1][None], taps[0][2][None]
            else:
                flats = np.stack([flat for flat, _, _, _ in taps])
                weights = np.stack([weight for _, weight, _, _ in taps])
                masks = np.stack([mask for _, _, mask, _ in taps])
        # Every tap's values[n, c, flat[n, p]] ([T, N, P] -> [T, N, C, P]) and their weighted
        # sum over the taps (NumPy reduces the leading axis in order: the same sums as adding
        # tap by tap).
        ids = _flat_ids(values.shape, flats)  # (kept: backward's scatter reads them)
        stacked = values.reshape(-1).take(ids)
        out = np.add.reduce(weights[:, :, None, :] * stacked, axis=0)
        ctx.outside = False
        total = np.add.reduce(out, axis=None)
        if total != total:
            # Some nan: a tap outside the input reads nothing in PyTorch (its masked loads;
            # its 3-d kernel skips the corner, weight too), where the clamped element read
            # here may be inf (0 * inf) or a nan / inf grid point's weight nan (s26 SP31:
            # were nan, PyTorch 0). Only then, so every finite result keeps its bits.
            ctx.outside = True
            inside = masks != 0
            stacked = np.where(inside[:, :, None, :], stacked, 0)
            if dims == 3:
                weights = np.where(inside, weights, 0)
            out = np.add.reduce(weights[:, :, None, :] * stacked, axis=0)
        ctx.save_for_backward(x, grid)
        ctx.taps, ctx.factors, ctx.coords, ctx.slopes = taps, factors, coords, slopes
        ctx.stacked, ctx.ids = (flats, weights, stacked, masks), ids
        ctx.x_shape, ctx.grid_shape, ctx.mode = xs.shape, gs.shape, mode
        return from_numpy(out.reshape(batch, channels, *points))

    @staticmethod
    @quietly
    def backward(ctx, g):
        if is_grad_enabled():  # (create_graph: the gradient of a gradient is wanted)
            return _recorded_backward(ctx, g)
        gn = g.detach().numpy()
        batch, channels, *spatial = ctx.x_shape
        dims = len(spatial)
        gn = gn.reshape(batch, channels, math.prod(ctx.grid_shape[1:-1]))
        grad_x = grad_grid = None
        flats, weights, stacked, masks = ctx.stacked  # ([T, N, P], [T, N, C, P], [T, N, P])
        if ctx.needs_input_grad[0]:
            # Scatter g * weight into each corner: one bincount over (n, c, position) ids (all
            # taps' ids and weights at once, in the order of one tap after another).
            positions = math.prod(spatial)
            # (forward's take ids, the same (n C + c) S + flat: rebuilding them here took 90 us
            # of [64, 1, 28, 28]'s backward, an int64 multiply-add over [4, 64, 1, 784]; s26 SP31)
            ids = ctx.ids.reshape(-1)
            tap_weights = (gn * weights[:, :, None, :]).ravel()
            sums = np.bincount(ids, weights=tap_weights, minlength=batch * channels * positions)
            total = np.add.reduce(sums, axis=None)
            if total != total:
                # A tap outside the input sends nothing, as PyTorch's masked scatter: a nan /
                # inf grid point's weight is nan (nan * its zero mask), which x's clamped
                # element took (s26 SP31; checked only when some sum is nan: one reduction).
                tap_weights = np.where(masks[:, :, None, :] != 0, gn * weights[:, :, None, :],
                                       0).ravel()
                sums = np.bincount(ids, weights=tap_weights,
                                   minlength=batch * channels * positions)
            grad_x = from_numpy(sums.astype(gn.dtype).reshape(ctx.x_shape))
        if ctx.needs_input_grad[1]:
            flat_grad = np.zeros((batch, gn.shape[2], dims), dtype=gn.dtype)
            if ctx.mode in ("bilinear", "bicubic"):
                # d out / d coord_axis, summed over channels against g, every tap at once; the
                # sums over taps reduce the leading axis in order, as adding tap by tap did
                # (the values bit for bit as before; [2, 3, 5, 5] fwd+bwd: see forward)
                gv = np.sum(gn * stacked, axis=2) * masks
                for axis, partials in enumerate(_partials(ctx)):
                    if ctx.outside and dims == 3:  # (the 3-d kernel's skipped corners: above)
                        partials = np.where(masks != 0, partials, 0)
                    flat_grad[..., dims - 1 - axis] += np.add.reduce(gv * partials, axis=0)
                for axis in range(dims):
                    flat_grad[..., dims - 1 - axis] *= ctx.slopes[axis]
            # NOTE: nearest sampling is piecewise constant: its grid gradient is zero, as in
            # PyTorch.
            grad_grid = from_numpy(flat_grad.reshape(ctx.grid_shape))
        return grad_x, grad_grid


def _recorded_backward(ctx, g):
    """``_GridSample.backward`` as recorded ops of ``g``, ``x`` and ``grid``, for a double
    backward: the taps' positions and masks are piecewise constant in the grid (fixed here),
    their weights polynomials of the coordinates' fractions, and the padded coordinates
    piecewise linear in the grid (their slopes fixed), so every second derivative is exact."""
    x, grid = ctx.saved_tensors
    batch, channels, *spatial = ctx.x_shape
    dims = len(spatial)
    points = math.prod(ctx.grid_shape[1:-1])
    g = g.reshape(batch, channels, points)
    flat_grid = grid.reshape(batch, points, dims)
    grid_values = grid.detach().numpy().reshape(batch, points, dims)
    fracs = []
    for axis, (coord, slope) in enumerate(zip(ctx.coords, ctx.slopes)):
        component = dims - 1 - axis  # (grid[..., 0] is x, the last spatial axis)
        offset = coord - np.floor(coord) - grid_values[..., component] * slope
        fracs.append(flat_grid[..., component] * from_numpy(slope) + from_numpy(offset))
    if ctx.mode == "bilinear":
        weighted = [_corner_weight(fracs, corner)
                    for corner in itertools.product((0, 1), repeat=dims)]
    elif ctx.mode == "bicubic":
        cubic = [_cubic_weights(f) for f in fracs]
        weighted = [_cubic_tap_weight(cubic, offsets)
                    for offsets in itertools.product(range(4), repeat=dims)]
    else:  # (nearest: constant weights, no grid gradient)
        weighted = [(1, None)]
    values = x.reshape(batch, channels, math.prod(spatial))
    grad_x = grad_grid = None
    per_axis = [0] * dims
    for (flat, _, mask, _), (weight, partials) in zip(_tap_list(ctx), weighted):
        index = from_numpy(flat[:, None, :]).expand(batch, channels, points)
        outside = from_numpy(mask == 0)
        mask = from_numpy(mask)
        if ctx.needs_input_grad[0]:
            # (a tap outside sends nothing, as in backward: a nan / inf point's nan weight
            # masked out, not multiplied by 0; weight * 1 is the weight, bit for bit)
            kept = (weight.masked_fill(outside, 0) if isinstance(weight, Tensor)
                    else weight * mask)
            term = zeros_like(values).scatter_add(2, index, g * kept[:, None, :])
            grad_x = term if grad_x is None else grad_x + term
        if ctx.needs_input_grad[1] and partials is not None:
            gv = (g * values.gather(2, index)).sum(1) * mask
            per_axis = [total + gv * p for total, p in zip(per_axis, partials)]
    if grad_x is not None:
        grad_x = grad_x.reshape(ctx.x_shape)
    if ctx.needs_input_grad[1]:
        if ctx.mode == "nearest":
            # zeros that are recorded (a gradient of grid * 0, finite for any grid), so that
            # differentiating them gives zeros too, as PyTorch's, rather than an error
            grad_grid = (grid * 0).nan_to_num(0.0, 0.0, 0.0)
        else:
            slopes = [from_numpy(slope) for slope in ctx.slopes]
            grad_grid = stack([per_axis[axis] * slopes[axis]
                               for axis in reversed(range(dims))], -1).reshape(ctx.grid_shape)
    return grad_x, grad_grid


def _corner_weight(fracs: list, corner: tuple) -> tuple:
    """One bilinear corner's weight (before its validity mask) and the weight's derivative
    in each fraction, for ndarrays or recorded Tensors alike: the product of ``f`` (far
    side) or ``1 - f`` over the axes, and, per axis, the other factors, signed by the side."""
    factors = [f if b else 1 - f for f, b in zip(fracs, corner)]
    partials = []
    for axis, b in enumerate(corner):
        other = math.prod(factor for k, factor in enumerate(factors) if k != axis)
        partials.append(other if b else -other)
    return math.prod(factors), partials


def _cubic_tap_weight(cubic: list, offsets: tuple) -> tuple:
    """``_corner_weight`` of the bicubic tap at ``offsets`` (per axis 0..3), from each axis's
    ``_cubic_weights``."""
    weights = [cubic[axis][0][k] for axis, k in enumerate(offsets)]
    slopes = [cubic[axis][1][k] for axis, k in enumerate(offsets)]
    partials = [math.prod(slopes[k] if k == axis else weights[k] for k in range(len(offsets)))
                for axis in range(len(offsets))]
    return math.prod(weights), partials


def _nearest_tap(coords: list, spatial: list) -> list:
    """The one tap of nearest sampling: [(flat index [N, P] (clamped into range), weight
    [N, P] (zero where the point is outside the input), validity mask [N, P], None)]."""
    dtype = coords[0].dtype
    # np.rint rounds half to even, as PyTorch's nearbyint.
    index = [np.rint(c).astype(np.int64) for c in coords]
    valid = np.ones(coords[0].shape, dtype=bool)
    for i, size in zip(index, spatial):
        valid &= (i >= 0) & (i < size)
    flat = _flat_index(index, spatial)
    mask = valid.astype(dtype)
    return [(flat, mask, mask, None)]


def _linear_taps(coords: list, spatial: list) -> tuple:
    """Bilinear (trilinear) taps stacked: flat index [T, N, P] (clamped into range), weight
    [T, N, P] (zero outside the input), validity mask [T, N, P], and per axis the factor pair
    (1 - frac, frac) shaped to broadcast over the corner axes (for ``_partials``).

    Each axis's floor, pair of indices, bounds and factors are made once ([2, N, P]) and the
    2^dims corners are their broadcast products, in ``itertools.product`` order (the first
    axis slowest), each weight the product of 1 - frac or frac per axis, left to right, as the
    corner-by-corner taps before (``_corner_weight``'s order, which the recorded backward
    uses), so values and gradients are bit for bit the same.
    With _gather's take, grid_sample bilinear float32, one thread, thread time (medians of
    5 blocks, the tree before and this one run alternately, load 7-9, s26 SP31): [64, 1, 28,
    28] with a [64, 28, 28, 2] grid (the spatial-transformer tutorial's) no-grad forward 1968
    / 1990 -> 674 / 701 us (PyTorch 103), fwd + bwd 2875 / 2866 -> 1467 / 1597 (PyTorch 619);
    [8, 3, 32, 32] border 596 / 583 -> 253 / 261 and 943 / 945 -> 597 / 564; OpInfo's
    [2, 3, 5, 5] 85 / 84 -> 57 / 57 and 147 / 150 -> 118 / 118; 3-d [1, 2, 4, 5, 6] 107 / 106
    -> 70 / 73 and 182 / 180 -> 142 / 145 (nearest unchanged: _nearest_tap). Values,
    gradients and double-backward gradients bit for bit as before (1,296 arrays: every mode,
    padding, align_corners, 2-d / 3-d, float32 / float64, on-pixel grids) but where a tap
    outside the input made nan (see forward), now PyTorch's values there.
    """
    dims = len(spatial)
    dtype = coords[0].dtype
    # Positions as floats (integers, exact) and flat indices as int32 where they fit: bounds
    # and clamps in SIMD float passes instead of int64 ones. Inside the input the clamped
    # position is the position itself; a tap outside reads nothing that shows (weight 0 times
    # a finite value adds a zero to a sum that starts at +0; an inf there takes the masked
    # recompute in forward), so which element it reads does not matter: nan / inf / huge
    # positions clamp to an edge here, to 0 through int64 before. These taps on [64, 784]
    # points (28 x 28): 361 -> 308 us against the int64 passes, [2, 25]: 17.1 / 17.6 (medians
    # of 9 alternated rounds, thread time, s26 SP31).
    index_dtype = np.int32 if math.prod(spatial) < 2 ** 31 else np.int64
    factors, valid, flat = [], None, None
    for axis, (c, size) in enumerate(zip(coords, spatial)):
        low = np.floor(c)
        # (the pairs written into [2, N, P] arrays, not np.stack's Python: 4-8 us a call)
        pair = np.empty((2,) + c.shape, dtype)
        frac = np.subtract(c, low, out=pair[1])
        np.subtract(1, frac, out=pair[0])
        index = np.empty((2,) + c.shape, dtype)
        index[0] = low
        np.add(low, 1, out=index[1])
        shape = (1,) * axis + (2,) + (1,) * (dims - 1 - axis) + c.shape
        pair = pair.reshape(shape)
        inside = ((index >= 0) & (index < size)).reshape(shape)  # (nan, +-inf: outside)
        clamped = np.fmin(np.fmax(index, 0), size - 1, out=index).astype(index_dtype).reshape(
            shape)  # (fmax: nan -> 0)
        factors.append(pair)
        valid = inside if valid is None else valid & inside
        flat = clamped if flat is None else flat * size + clamped
    weight = factors[0]
    for pair in factors[1:]:
        weight = weight * pair
    corners = (1 << dims,) + coords[0].shape
    mask = valid.astype(dtype).reshape(corners)
    return (flat.reshape(corners), (weight.reshape(corners) * mask), mask, factors)


def _partials(ctx) -> list:
    """Per axis, d weight / d coord of every tap, stacked [T, N, P] (bilinear from the factor
    pairs: the sign of the tap's side times the other axes' factors, left to right, as
    ``_corner_weight``; bicubic from its taps)."""
    if ctx.factors is None:
        return [np.stack([tap[3][axis] for tap in ctx.taps]) for axis in range(len(ctx.coords))]
    factors = ctx.factors
    dims = len(factors)
    corners = (1 << dims,) + ctx.coords[0].shape
    out = []
    for axis in range(dims):
        others = [pair for k, pair in enumerate(factors) if k != axis]
        product = others[0]
        for pair in others[1:]:
            product = product * pair
        sign = np.array((-1, 1), factors[0].dtype).reshape(
            (1,) * axis + (2,) + (1,) * (dims - 1 - axis + len(ctx.coords[0].shape)))
        out.append((sign * product).reshape(corners))
    return out


def _tap_list(ctx) -> list:
    """The taps one by one, (flat, weight, mask, partials), for the recorded backward."""
    if ctx.taps is not None:
        return ctx.taps
    _, weights, _, masks = ctx.stacked
    partials = _partials(ctx)
    # (int64 positions clamped as through int64, for the recorded gather and scatter_add: a
    # tap outside reads the element it read before, so nan / inf grids' recorded gradients
    # keep their values; _linear_taps' floats clamp those to an edge)
    spatial = ctx.x_shape[2:]
    low = [np.floor(c).astype(np.int64) for c in ctx.coords]
    taps = []
    for t, corner in enumerate(itertools.product((0, 1), repeat=len(spatial))):
        flat = _flat_index([lo + bit for lo, bit in zip(low, corner)], spatial)
        taps.append((flat, weights[t], masks[t], [p[t] for p in partials]))
    return taps


def _gather(values: np.ndarray, flats: np.ndarray) -> np.ndarray:
    """values[n, c, flats[t, n, p]] for values [N, C, S] and flats [T, N, P]: [T, N, C, P],
    by one take over flat ids (the same elements as the fancy index
    values[n[:, None, None], c[None, :, None], flats[:, :, None, :]], which broadcast three
    index arrays)."""
    return values.reshape(-1).take(_flat_ids(values.shape, flats))


def _flat_ids(shape: tuple, flats: np.ndarray) -> np.ndarray:
    """[T, N, C, P] int64 positions in the flattened [N, C, S] input of every tap's element:
    (n C + c) S + flat (the backward's scatter ids too)."""
    batch, channels, size = shape
    offsets = (np.arange(batch * channels, dtype=np.int64) * size).reshape(batch, channels, 1)
    return flats[:, :, None, :] + offsets


_CUBIC_A = -0.75  # PyTorch's cubic-convolution constant (Keys' kernel with a = -0.75)


def _cubic_weights(t: np.ndarray) -> tuple:
    """The cubic-convolution weights of the taps at floor - 1 .. floor + 2 for the fraction
    ``t`` in [0, 1), and their derivatives with respect to ``t``."""
    a = _CUBIC_A

    def near(x):  # |distance| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1, (3 * (a + 2) * x - 2 * (a + 3)) * x

    def far(x):  # 1 < |distance| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, (3 * a * x - 10 * a) * x + 8 * a

    (w0, d0), (w1, d1), (w2, d2), (w3, d3) = far(t + 1), near(t), near(1 - t), far(2 - t)
    return (w0, w1, w2, w3), (d0, d1, -d2, -d3)


def _bicubic_taps(coords: list, spatial: list, padding_mode: str, align_corners: bool) -> list:
    """The taps of bicubic sampling: the 4 x 4 taps around each point. As in PyTorch, the
    padding mode moves each tap's integer position (border: clamped; reflection: mirrored),
    or zeroes a tap outside the input; the grid gradient flows through the weights only."""
    dtype = coords[0].dtype
    low = [np.floor(c) for c in coords]
    cubic = [_cubic_weights(c - lo) for c, lo in zip(coords, low)]
    taps = []
    for offsets in itertools.product(range(4), repeat=len(spatial)):
        index = []
        valid = np.ones(coords[0].shape, dtype=bool)
        for lo, k, size in zip(low, offsets, spatial):
            position = lo + (k - 1)
            if padding_mode == "zeros":
                valid &= (position >= 0) & (position < size)
            elif padding_mode == "border":
                position = _clip(position, size)[0]
            else:
                twice = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
                position = _clip(_reflect(position, *twice)[0], size)[0]
            index.append(position.astype(np.int64))
        mask = valid.astype(dtype)
        weight, partials = _cubic_tap_weight(cubic, offsets)
        taps.append((_flat_index(index, spatial), weight * mask, mask, partials))
    return taps


def _flat_index(index: list, spatial: list) -> np.ndarray:
    """Row-major flat positions of per-axis indices (clamped, so out-of-range taps still read a
    real element; their weight is zero)."""
    flat = np.zeros(index[0].shape, dtype=np.int64)
    for i, size in zip(index, spatial):
        # (two ufuncs, not np.clip's Python wrapper: [2, 25] 18.5 -> 4.3 us, load 11)
        flat = flat * size + np.minimum(np.maximum(i, 0), size - 1)
    return flat


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` at the points of ``grid``, as ``torch.nn.functional.grid_sample``.

    Differentiable w.r.t. ``input`` and (bilinear, bicubic) ``grid``, twice too.

    Args:
        input: floating ``[N, C, H, W]`` (or ``[N, C, D, H, W]``).
        grid: ``[N, H_out, W_out, 2]`` (or ``[N, D_out, H_out, W_out, 3]``) of (x, y[, z])
            normalised to [-1, 1], of the input's dtype.
        mode: ``"bilinear"`` (trilinear for 5-d), ``"nearest"`` or ``"bicubic"`` (4-d only;
            PyTorch's cubic convolution, a = -0.75).
        padding_mode: what points outside the input read: ``"zeros"``, ``"border"`` (the
            nearest edge value) or ``"reflection"`` (the input mirrored at its edges).
        align_corners: whether -1 and 1 are the centres of the corner pixels (True) or the
            image's outer edges (False). None means False, with PyTorch's warning.

    Returns:
        ``[N, C, H_out, W_out]`` (or ``[N, C, D_out, H_out, W_out]``).

    >>> import deltagrad as dg
    >>> image = dg.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    >>> grid_sample(image, dg.tensor([[[[0.0, 0.0]]]]), align_corners=False)
    tensor([[[[1.5000]]]])
    """
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_DEFAULT_CHANGED, stacklevel=2)
        align_corners = False
    input, grid = _t(input), check_tensor(grid, "grid", "grid_sampler")
    x_shape, g_shape = tuple(input.shape), tuple(grid.shape)
    if input.ndim == 0 or grid.ndim == 0:  # (PyTorch reads size(0) first: an IndexError)
        raise DimIndexError(f"grid_sampler(): Dimension specified as 0 but a tensor has no "
                            f"dimensions (input of shape {list(x_shape)}, grid of shape "
                            f"{list(g_shape)})")
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError("grid_sampler(): expected 4D or 5D input and grid with same number of "
                           f"dimensions, but got input with sizes {list(x_shape)} and grid with "
                           f"sizes {list(g_shape)}")
    if x_shape[0] != g_shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, but "
                           f"got input with sizes {list(x_shape)} and grid with sizes "
                           f"{list(g_shape)}")
    dims = input.ndim - 2
    if g_shape[-1] != dims:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {dims} in last "
                           f"dimension, but got grid with sizes {list(g_shape)}")
    for axis in range(2, input.ndim):
        if x_shape[axis] == 0:
            raise RuntimeError("grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {list(x_shape)} with dimension "
                               f"{axis} being empty")
    if mode == "bicubic":
        if dims != 2:
            raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if input.dtype.kind != "f":
        raise NotImplementedError(f"grid_sample: not implemented for input of dtype "
                                  f"{input.dtype} (shape {list(x_shape)}); use a floating dtype")
    if grid.dtype != input.dtype:
        raise RuntimeError(f"grid_sampler(): expected grid of the input's dtype {input.dtype}, "
                           f"but got {grid.dtype} (input {list(x_shape)}, grid {list(g_shape)})")
    return _GridSample.apply(input, grid, mode=mode, padding_mode=padding_mode,
                             align_corners=bool(align_corners))
