"""Attention functions: scaled dot-product attention and multi-head attention (functional),
and ``torch.nn.attention``'s backend selection (``SDPBackend``, ``sdpa_kernel``)."""

from __future__ import annotations

import contextlib
import enum
import math
import warnings

import numpy as np

from ..._engine import ShapeError, Tensor, is_grad_enabled
from ..._engine.api.creation import from_numpy, zeros
from ..._engine.api.linalg import matmul
from ..._engine.api.shape import cat
from ...autograd import forward_ad
from ._registry import (  # (PyTorch's flash-attention registry, s28 DX2)
    activate_flash_attention_impl,
    current_flash_attention_impl,
    list_flash_attention_impls,
    register_flash_attention_impl,
    restore_flash_attention_impl,
)

__all__ = ["SDPBackend", "activate_flash_attention_impl", "current_flash_attention_impl",
           "list_flash_attention_impls", "multi_head_attention_forward",
           "register_flash_attention_impl", "restore_flash_attention_impl",
           "scaled_dot_product_attention", "sdpa_kernel"]


class _ShapeAssertion(ShapeError, AssertionError):
    """multi_head_attention_forward's shape checks: PyTorch's are asserts (AssertionError);
    a ShapeError too, as before."""


class SDPBackend(enum.Enum):
    """PyTorch's ``torch.nn.attention.SDPBackend``: the kernels of scaled dot-product attention.

    deltagrad has one kernel, the explicit (math) one. PyTorch's CPU build has the math kernel
    and a fused "flash" kernel, which give the same values up to float rounding, so either
    allowed one runs the math kernel here; the others are CUDA kernels.
    """

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    def __int__(self) -> int:
        return self.value

    __index__ = __int__


# The backends scaled_dot_product_attention may use (all, unless sdpa_kernel narrows them).
_ALL = tuple(b for b in SDPBackend if b is not SDPBackend.ERROR)
_allowed: tuple = _ALL


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """Allow only ``backends`` (one ``SDPBackend`` or a list) in scaled dot-product attention
    within the ``with`` block (or the decorated function), as ``torch.nn.attention``'s.

    Args:
        backends: an ``SDPBackend`` or a list of them (PyTorch's AssertionError otherwise).
        set_priority: PyTorch's order of preference; deltagrad has one kernel, so no effect.

    With the math or the flash backend allowed, attention runs (the flash kernel's
    restrictions on CPU, PyTorch's RuntimeError, are checked when math is not allowed);
    with neither, it raises PyTorch's RuntimeError.
    """
    global _allowed
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend "
                             f"instances, got {type(backends).__name__}")
    previous = _allowed
    _allowed = (backends,) if isinstance(backends, SDPBackend) else tuple(
        dict.fromkeys(backends))
    try:
        yield {}
    finally:
        _allowed = previous


def _check_backend(q, k, v, dropout_p: float) -> None:
    """PyTorch's CPU kernel choice under ``sdpa_kernel``: the math kernel takes anything; the
    flash kernel only 4-d inputs without dropout whose head sizes agree (last dims equal)."""
    if SDPBackend.MATH in _allowed:
        return
    if SDPBackend.FLASH_ATTENTION not in _allowed:
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found. This "
                           "is likely due to turning off both the math kernel and the fused "
                           "kernels.")
    if (q.ndim != 4 or k.ndim != 4 or v.ndim != 4 or dropout_p > 0.0
            or not q.shape[-1] == k.shape[-1] == v.shape[-1]
            or q.dtype.kind != "f"):
        raise RuntimeError("No available kernel. Aborting execution. (With only the flash "
                           "backend allowed, PyTorch's CPU kernel needs 4-d floating query, "
                           "key and value of one head size, and no dropout.)")


def _flash_takes_both(q, k, v, attn_mask, dropout_p: float) -> bool:
    """Whether PyTorch 2.13's CPU flash kernel runs a call with both ``attn_mask`` and
    ``is_causal`` (it applies both masks); its math kernel, chosen otherwise, refuses the pair:
    4-d query, key and value of one head size, no dropout, a 2-d or 4-d mask that does not
    require grad, and the flash backend allowed."""
    return (SDPBackend.FLASH_ATTENTION in _allowed and q.ndim == k.ndim == v.ndim == 4
            and dropout_p == 0.0 and q.shape[-1] == v.shape[-1]
            and getattr(attn_mask, "ndim", 0) in (2, 4)
            and not getattr(attn_mask, "requires_grad", False))


def _functional():
    # NOTE: nn.functional re-exports this module's functions, so it cannot be imported here
    # at module level (a cycle); its linear and dropout are looked up at call time.
    from .. import functional

    return functional


def _array(mask) -> np.ndarray:
    return mask.detach().numpy() if isinstance(mask, Tensor) else np.asarray(mask)


def _additive_mask(mask, name: str, dtype, masked_value: bool):
    """A float mask to add to attention scores: bool entries equal to ``masked_value`` become
    -inf, the others 0; a float mask is used as it is (it may carry a gradient)."""
    if mask is None:
        return None
    if isinstance(mask, Tensor) and mask.dtype.kind == "f":
        return mask if mask.dtype == dtype else mask.type(dtype)
    array = _array(mask)
    if array.dtype == np.bool_:
        hidden = array if masked_value else ~array
        return from_numpy(np.where(hidden, -np.inf, 0.0).astype(dtype))
    if array.dtype.kind == "f":
        return from_numpy(array.astype(dtype))
    # (PyTorch's _canonical_mask: an AssertionError for MHA's masks; SDPA checks earlier)
    raise AssertionError(f"only bool and floating types of {name} are supported, got "
                         f"{array.dtype}")


_CAUSAL: dict = {}  # _causal_mask's results by (length, source, dtype); never written to


def _causal_mask(length: int, source: int, dtype):
    """The additive ``[length, source]`` mask hiding the keys after each query, kept per
    shape (W4 calls MHA with is_causal=True every layer and step)."""
    key = (length, source, str(dtype))
    found = _CAUSAL.get(key)
    if found is None:
        if len(_CAUSAL) >= 64:
            _CAUSAL.clear()
        hidden = np.triu(np.ones((length, source), dtype=bool), 1)
        found = _CAUSAL[key] = _additive_mask(hidden, "attn_mask", dtype, masked_value=True)
    return found


_C10 = {"float32": "float", "float64": "double", "float16": "c10::Half",
        "bfloat16": "c10::BFloat16"}


def _check_mask_dtype(attn_mask, key_padding_mask, dtype, need_weights: bool) -> None:
    """PyTorch's errors for float masks whose merged dtype is not the query's: its
    ``_canonical_mask`` keeps a float mask's dtype (a bool one becomes the query's), the two
    add, and then the weights' ``baddbmm`` refuses any other dtype, SDPA all but float32
    (deltagrad cast the mask to the query's dtype, silently)."""
    kinds = [dtype if m._data.dtype.kind == "b" else m._data.dtype for m in (
        attn_mask, key_padding_mask) if isinstance(m, Tensor) and (
        m._data.dtype.kind in "fb" or m._data.dtype.name == "bfloat16")]
    if not kinds or all(k == dtype for k in kinds):
        return
    merged = kinds[0] if len(kinds) == 1 or kinds[0] == kinds[1] else (
        max(kinds, key=lambda k: k.itemsize) if max(k.itemsize for k in kinds) > 2
        else np.dtype(np.float32))
    if merged == dtype:
        return
    mask, query = (_C10.get(d.name, d.name) for d in (merged, dtype))
    if need_weights:
        raise RuntimeError(f"Input dtypes must be the same, got: input {mask}, batch1: {query}, "
                           f"batch2: {query}")
    if merged != np.float32:
        raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query "
                           f"dtype, but got attn_mask.dtype: {mask} and  query.dtype: {query} "
                           f"instead.")


def matched_masks(padding, mask, names: tuple, dtype):
    """A Transformer encoder's ``(key_padding_mask, mask)`` as PyTorch's ``_canonical_mask``
    leaves them where their dtypes differ: its deprecation warning (``names``: PyTorch's words
    for the two) and each bool mask as floats of ``dtype`` (-inf where True), so that the
    attention below sees one type and does not warn again. Unchanged where they agree."""
    if not (isinstance(padding, Tensor) and isinstance(mask, Tensor)
            and padding.dtype != mask.dtype):
        return padding, mask
    warnings.warn(f"Support for mismatched {names[0]} and {names[1]} is deprecated. Use same "
                  "type for both instead.", stacklevel=2)
    return tuple(m if m.is_floating_point() else from_numpy(
        np.where(m._data, -np.inf, 0.0).astype(dtype)) for m in (padding, mask))


class _NotCounted:
    """``depth`` > 0 while attention runs as one fused kernel in PyTorch (scaled_dot_product_
    attention; MultiheadAttention without weights), whose CPU kernel PyTorch's FLOP counter
    counts as 0: ``utils.flop_counter`` reads it so that its products are not counted."""

    depth = 0


def _flash_on_cpu(q, k, v, mask, dropout_p: float) -> bool:
    """Whether PyTorch's CPU kernel choice takes its flash kernel (which has no forward-mode
    formula) over the math one: 4-d query, key and value of one batch, head count and head
    size, no dropout, a 2-d or 4-d mask or none, non-empty sequences, rows of stride 1."""
    shapes = (q.shape, k.shape, v.shape)
    return (dropout_p == 0.0 and all(len(shape) == 4 for shape in shapes)
            and len({shape[:2] for shape in shapes}) == 1
            and len({shape[-1] for shape in shapes}) == 1
            and (mask is None or mask.ndim in (2, 4))
            and min(q.shape[-2], k.shape[-2]) > 0
            and all(t._data.strides[-1] == t._data.itemsize for t in (q, k, v)))


def _attend_fused(q, k, v, mask, dropout_p: float, scale: float, generator=None):
    """``_attend`` as PyTorch's fused kernel: its products are not FLOP-counted."""
    if forward_ad.active() and _flash_on_cpu(q, k, v, mask, dropout_p):
        forward_ad.refuse_tangents("_scaled_dot_product_flash_attention_for_cpu", q, k, v, mask)
    _NotCounted.depth += 1
    try:
        low = q.dtype
        if low.itemsize == 2 and low.is_floating_point and k.dtype == v.dtype == low:
            if dropout_p == 0.0:
                return _attend_half(q, k, v, mask, scale), None
            # (with dropout: in float32, rounded once)
            out, weights = _attend(q.float(), k.float(), v.float(),
                                   None if mask is None else mask.float(), dropout_p, scale,
                                   True, generator)
            return out.to(low), weights.to(low)
        return _attend(q, k, v, mask, dropout_p, scale, True, generator)
    finally:
        _NotCounted.depth -= 1


def _attend_half(q, k, v, mask, scale: float):
    """float16 / bfloat16 attention as PyTorch's CPU flash kernel computes it: float32 scores
    (q kᵀ · scale + mask), their exponentials against the row's maximum rounded to the input
    dtype before the product with v, that product divided by the float32 sum and rounded
    once. Bit for bit with PyTorch where a row has fewer than 16 keys; on longer rows its
    vectorised exponential (an approximation) puts some outputs an ulp apart."""
    low = q.dtype
    scores = matmul(q.float(), k.float().transpose(-2, -1)) * scale
    if mask is not None:
        scores = scores + mask.float()
    top = scores.detach().amax(-1, keepdim=True)  # (the result does not depend on it)
    if mask is not None:
        top = top.masked_fill(top == -math.inf, 0.0)  # (a row with every key masked)
    weights = (scores - top).exp()
    total = weights.sum(-1, keepdim=True)
    # (the rounding is the forward's alone: the gradient goes through in float32, as in
    # PyTorch's kernel, not rounded to the half dtype by the cast's backward)
    rounded = weights + (weights.detach().to(low).float() - weights.detach())
    out = matmul(rounded, v.float()) / total
    if mask is not None:
        out = out.masked_fill(total == 0, 0.0)  # (zeros, as PyTorch's kernel gives)
    return out.to(low)


def _autocast_operands(q, k, v, mask):
    """Under CPU autocast, PyTorch's attention products (bmm / baddbmm with the mask, or
    scaled_dot_product_attention) cast q, k, v and a float mask to the autocast dtype: the
    float32 bias_k / bias_v rows leave k, v float32 here. float64 stays."""
    from ... import amp

    if not amp.is_autocast_enabled("cpu"):
        return q, k, v, mask
    low = amp.get_autocast_dtype("cpu")

    def cast(t):  # (float32 / float16 / bfloat16; not float64, bool masks or integers)
        lowered = t is not None and t.dtype.is_floating_point and t.dtype.itemsize <= 4
        return t.to(low) if lowered else t

    return cast(q), cast(k), cast(v), cast(mask)


def _attend(q, k, v, mask, dropout_p: float, scale: float, safe: bool, generator=None):
    """softmax(q k^T * scale + mask) v, with the weights; rows with every key masked give
    zeros when ``safe`` (and nan otherwise, as the explicit softmax in PyTorch does)."""
    scaled = q * scale if scale != 1.0 else q
    if not safe and mask is not None and mask.dtype == q.dtype and q.dtype.itemsize == 2 \
            and q.dtype.is_floating_point:
        # MultiheadAttention's weights: PyTorch's baddbmm(mask, q, kᵀ) in bfloat16 / float16
        # adds the mask to the float32 products and rounds once (half scores + mask rounded
        # twice: an ulp off in some outputs under autocast)
        scores = (matmul(scaled.float(), k.float().transpose(-2, -1)) + mask.float()).to(q.dtype)
    else:
        scores = matmul(scaled, k.transpose(-2, -1))
        if mask is not None:
            scores = scores + mask
    weights = scores.softmax(-1)
    # A row whose keys are all masked (all -inf) has nan weights, so rows can only be dead when
    # some weight is nan: one sum over the weights instead of a search of every row of the
    # scores for -inf (W4's [32, 4, 32, 32] scores: 71 -> 23 us a call).
    # (meta tensors have no values to look at: their arrays are not ndarrays)
    if safe and mask is not None and weights.numel() and type(weights._data) is np.ndarray \
            and math.isnan(np.add.reduce(weights._data, axis=None)):  # (the arrays: bf16's .numpy()
        dead = np.isneginf(scores._data).all(axis=-1, keepdims=True)  # refuses)
        if dead.any():
            dead = from_numpy(np.ascontiguousarray(np.broadcast_to(dead, scores.shape)))
            scores = scores.masked_fill(dead, 0.0)
            weights = scores.softmax(-1).masked_fill(dead, 0.0)
    if dropout_p > 0.0:
        weights = _functional().dropout(weights, dropout_p, True, generator=generator)
    return matmul(weights, v), weights


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False, *, generator=None):
    """softmax(Q Kᵀ · scale + mask) V, as ``torch.nn.functional.scaled_dot_product_attention``.

    Args:
        query: ``[*, L, E]`` (with heads: ``[N, H, L, E]``).
        key: ``[*, S, E]``.
        value: ``[*, S, Ev]``.
        attn_mask: broadcastable to ``[*, L, S]``: bool (True = may attend) or float (added
            to the scores).
        dropout_p: dropout on the attention weights (applied whenever it is > 0, as PyTorch).
        is_causal: mask out keys after each query (a lower-triangular ``[L, S]`` mask); with
            ``attn_mask`` too, both apply where PyTorch 2.13's CPU flash kernel takes the call
            (see ``_flash_takes_both``), else PyTorch's RuntimeError.
        scale: the scores' factor; default ``1 / sqrt(E)``.
        enable_gqa: allow fewer key/value heads than query heads (dim -3), repeated to match.
        generator: source of the dropout mask.

    Returns:
        ``[*, L, Ev]``. A query whose keys are all masked gets zeros (as PyTorch's CPU kernel).

    >>> import deltagrad as dg
    >>> q = k = dg.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    >>> v = dg.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    >>> scaled_dot_product_attention(q, k, v, is_causal=True)
    tensor([[[1.0000, 2.0000],
             [2.3395, 3.3395]]])
    """
    for position, (name, t) in enumerate((("query", query), ("key", key), ("value", value),
                                          ("attn_mask", attn_mask)), 1):
        if not isinstance(t, Tensor) and not (name == "attn_mask" and t is None):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' (position "
                            f"{position}) must be Tensor, not {type(t).__name__}")
    q, k, v = query, key, value
    if attn_mask is not None and attn_mask.dtype != q.dtype \
            and str(attn_mask.dtype).rsplit(".", 1)[-1] not in ("bool", "float32"):
        # PyTorch's check (a float64 or integer mask was cast to the query's dtype silently)
        raise RuntimeError(f"scaled_dot_product_attention: expected attn_mask dtype to be bool "
                           f"or float or to match query dtype, but got {attn_mask.dtype} and "
                           f"query {q.dtype}")
    if _allowed is not _ALL:  # (sdpa_kernel narrowed the backends)
        _check_backend(q, k, v, float(dropout_p))
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2 or q.shape[-1] != k.shape[-1] \
            or k.shape[-2] != v.shape[-2]:
        raise ShapeError(f"scaled_dot_product_attention: query {tuple(q.shape)}, key "
                            f"{tuple(k.shape)} and value {tuple(v.shape)} do not fit: expected "
                            "[*, L, E], [*, S, E] and [*, S, Ev]")
    if enable_gqa and q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        heads, kv_heads = q.shape[-3], k.shape[-3]
        if heads % kv_heads:
            raise ShapeError(f"scaled_dot_product_attention: {heads} query heads are not a "
                                f"multiple of {kv_heads} key/value heads")
        repeat = np.repeat(np.arange(kv_heads), heads // kv_heads)
        k, v = k.index_select(-3, repeat), v.index_select(-3, repeat)
    length, source = q.shape[-2], k.shape[-2]
    causal = np.tril(np.ones((length, source), dtype=bool)) if is_causal else None
    if is_causal and attn_mask is None:
        attn_mask, causal = causal, None
    elif is_causal and not _flash_takes_both(q, k, v, attn_mask, float(dropout_p)):
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    mask = _additive_mask(attn_mask, "scaled_dot_product_attention", q.dtype, masked_value=False)
    if causal is not None:  # PyTorch 2.13 applies both: the causal mask and attn_mask
        mask = mask + _additive_mask(causal, "scaled_dot_product_attention", q.dtype, False)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    out, _ = _attend_fused(q, k, v, mask, float(dropout_p), scale, generator)
    if SDPBackend.FLASH_ATTENTION in _allowed and _flash_on_cpu(q, k, v, mask, float(dropout_p)):
        out = _like_query(out, q)
    return out


def _query_order(q) -> tuple | None:
    """The order of ``q``'s dims in memory (outermost first, by stride) when it is not the
    standard order; else None. (PyTorch's ``empty_like``: dense strides in that order, also
    for a query that is a view with gaps, as a chunk of a packed projection is.)"""
    strides = q.stride()
    order = tuple(sorted(range(q.ndim), key=lambda d: -strides[d]))
    return None if order == tuple(range(q.ndim)) else order


def _like_query(out, q):
    """``out`` laid out in memory as ``q`` is: PyTorch's CPU flash kernel allocates its output
    like the query, so the [N, L, H, E]-major query of ``x.view(N, L, H, E).transpose(1, 2)``
    gives an output whose ``.transpose(1, 2).view(N, L, H * E)`` works (the SDPA tutorial's
    attention module; a standard-order output made that view raise)."""
    order = _query_order(q)
    if order is None or out.shape[:-1] != q.shape[:-1]:
        return out
    back = tuple(order.index(d) for d in range(q.ndim))
    return out.permute(order).contiguous().permute(back)


def _project(x, weight, bias, rows: slice, scale: float = 1.0):
    w = weight[rows] if rows is not None else weight
    b = None if bias is None else (bias[rows] if rows is not None else bias)
    if scale != 1.0:
        w, b = w * scale, None if b is None else b * scale
    return _functional().linear(x, w, b)


def _folded_scale(head_dim: int) -> float:
    """The scores' factor 1 / sqrt(head_dim) to fold into the query projection's weight and
    bias where that is exact (a power of two: x (w s) + b s is (x w + b) s bit for bit), else 1.

    The scaled weight is [E, E] and the bias [E]; the scaled queries are [N, L, E]. W4 (head
    dim 16, [32, 32, 64] queries): 4 multiplies of 65,536 elements and their VJPs a step become
    8 of 4,096 and 64, step new/old 0.98-0.99 (tmp A/B of this file alone, 30 rounds).
    """
    scale = 1.0 / math.sqrt(head_dim)
    return scale if math.frexp(scale)[0] == 0.5 else 1.0


def multi_head_attention_forward(
    query, key, value, embed_dim_to_check: int, num_heads: int, in_proj_weight, in_proj_bias,
    bias_k, bias_v, add_zero_attn: bool, dropout_p: float, out_proj_weight, out_proj_bias,
    training: bool = True, key_padding_mask=None, need_weights: bool = True, attn_mask=None,
    use_separate_proj_weight: bool = False, q_proj_weight=None, k_proj_weight=None,
    v_proj_weight=None, static_k=None, static_v=None, average_attn_weights: bool = True,
    is_causal: bool = False, *, generator=None,
):
    """Multi-head attention on sequence-first inputs, as PyTorch's functional of that name.

    Args:
        query: ``[L, N, E]`` (or unbatched ``[L, E]``); key ``[S, N, kdim]``, value
            ``[S, N, vdim]``.
        embed_dim_to_check, num_heads: E and the number of heads (E must divide evenly).
        in_proj_weight, in_proj_bias: the packed ``[3E, E]`` / ``[3E]`` input projections, or
            with ``use_separate_proj_weight`` the three ``{q,k,v}_proj_weight``.
        bias_k, bias_v: ``[1, 1, E]`` learned key/value appended to the sequence, or None.
        add_zero_attn: append an all-zero key/value.
        dropout_p: dropout on the attention weights (in training).
        out_proj_weight, out_proj_bias: the output projection.
        key_padding_mask: ``[N, S]``: bool (True = ignore that key) or float (added).
        need_weights: also return the attention weights.
        attn_mask: ``[L, S]`` or ``[N * num_heads, L, S]``: bool (True = not allowed) or float.
        average_attn_weights: average the returned weights over heads.
        is_causal: a hint that ``attn_mask`` is the causal mask (it must be given).
        static_k, static_v: not supported (must be None).

    Returns:
        ``(output [L, N, E], weights)``: weights ``[N, L, S]`` (averaged) or
        ``[N, num_heads, L, S]``, or None without ``need_weights``.
    """
    if static_k is not None or static_v is not None:
        raise NotImplementedError("multi_head_attention_forward: static_k / static_v are not "
                                  "supported")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if (isinstance(key_padding_mask, Tensor) and isinstance(attn_mask, Tensor)
            and key_padding_mask.dtype != attn_mask.dtype):  # (PyTorch's, at each call)
        warnings.warn("Support for mismatched key_padding_mask and attn_mask is deprecated. Use "
                      "same type for both instead.", stacklevel=2)
    # PyTorch takes the hint as the truth where SDPA gets it (no padding mask, no weights):
    # attn_mask is dropped and the keys after each query are masked (was: the mask used).
    causal_hint = bool(is_causal) and key_padding_mask is None and not need_weights
    attn_mask = None if causal_hint else attn_mask
    _check_mask_dtype(attn_mask, key_padding_mask, query._data.dtype, need_weights)
    batched = query.ndim == 3
    if not batched:
        if query.ndim != 2 or key.ndim != 2 or value.ndim != 2:
            raise ShapeError(f"multi_head_attention_forward: query, key and value must all "
                                f"be 3-D (batched) or 2-D (unbatched), got {tuple(query.shape)}, "
                                f"{tuple(key.shape)} and {tuple(value.shape)}")
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = (key_padding_mask.unsqueeze(0)
                                if isinstance(key_padding_mask, Tensor)
                                else np.asarray(key_padding_mask)[None])
    length, batch, embed_dim = query._data.shape
    if embed_dim != embed_dim_to_check:
        raise _ShapeAssertion(f"was expecting embedding dimension of {embed_dim_to_check}, "
                              f"but got {embed_dim} (multi_head_attention_forward)")
    if embed_dim % num_heads:
        raise _ShapeAssertion(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if key._data.shape != value._data.shape and not use_separate_proj_weight:
        raise _ShapeAssertion(f"key shape {key.shape} does not match value shape "
                              f"{value.shape}")  # (PyTorch's assert, its class and words)
    if key._data.shape[:2] != value._data.shape[:2] or key._data.shape[1] != batch:
        raise ShapeError(f"multi_head_attention_forward: key {tuple(key.shape)} and value "
                            f"{tuple(value.shape)} must share [S, N] with N = {batch}")
    head_dim = embed_dim // num_heads
    folded = _folded_scale(head_dim)
    dtype = query.dtype
    # Batch first inside: [N, L, E]. A shared input is transposed once: the unused transposes
    # (requiring grad) were nodes no backward frees, which kept the optimizers' leak check
    # running gc.get_objects every 20 steps (W4: 8 nodes a step; 42 ms a check in a process
    # whose heap is not frozen, ~2 ms a step; tests/nn/test_s9_S4_engine_speed.py).
    q_in = query.transpose(0, 1)
    k_in = q_in if key is query else key.transpose(0, 1)
    v_in = k_in if value is key else value.transpose(0, 1)
    if use_separate_proj_weight:
        b = [None] * 3 if in_proj_bias is None else [
            in_proj_bias[i * embed_dim:(i + 1) * embed_dim] for i in range(3)]
        q = _project(q_in, q_proj_weight, b[0], None, folded)
        k = _functional().linear(k_in, k_proj_weight, b[1])
        v = _functional().linear(v_in, v_proj_weight, b[2])
    elif query is key and key is value and q_in._data.dtype.itemsize == 2:
        # float16 / bfloat16: PyTorch's one packed product cut in three (three products'
        # input gradients, each rounded, then summed: ~40% of the input's gradient an ulp off)
        q, k, v = _functional().linear(q_in, in_proj_weight, in_proj_bias).chunk(3, -1)
        q = q * folded if folded != 1.0 else q
    elif query is key and key is value and not (is_grad_enabled() and (
            q_in.requires_grad or in_proj_weight.requires_grad
            or (in_proj_bias is not None and in_proj_bias.requires_grad))):
        # Nothing recorded (no_grad / inference_mode, or no input requiring grad): one packed
        # product cut in three; the block products below exist for their gradients. The same
        # bits (tests/nn/test_s25_SP24_inference.py). Eval under no_grad, [4, 16, 64], 4 heads,
        # one thread, medians of 200 alternated: MHA 223 -> 184 us, the 2-layer encoder
        # 1066 -> 860 (PyTorch's fast path 767 on the same loaded machine).
        q, k, v = _functional().linear(q_in, in_proj_weight, in_proj_bias).chunk(3, -1)
        q = q * folded if folded != 1.0 else q
    elif query is key and key is value:
        # Self-attention: three products with row blocks of the packed weight rather than one
        # product cut in three. The same values; but the gradient of a cut is a full-width
        # array of zeros per piece, summed (3 x [N, L, 3E]), where the blocks' gradients are
        # [N, L, E] each and [E, E] zeros for the weight (W4's shapes, [32, 32, 64] in, 4
        # heads: projection, split into heads, backward 3.7 -> 3.0 ms on a loaded 2-core box).
        e = embed_dim
        q, k, v = (_project(q_in, in_proj_weight, in_proj_bias, slice(i * e, (i + 1) * e),
                            folded if i == 0 else 1.0) for i in range(3))
    else:
        e = embed_dim
        q = _project(q_in, in_proj_weight, in_proj_bias, slice(0, e), folded)
        if key is value:
            k, v = _project(k_in, in_proj_weight, in_proj_bias, slice(e, 3 * e)).chunk(2, -1)
        else:
            k = _project(k_in, in_proj_weight, in_proj_bias, slice(e, 2 * e))
            v = _project(v_in, in_proj_weight, in_proj_bias, slice(2 * e, 3 * e))

    mask = _additive_mask(attn_mask, "attn_mask", dtype, masked_value=True)
    source = k._data.shape[1]
    if mask is not None:
        if mask.ndim == 2:
            if tuple(mask.shape) != (length, source):
                raise RuntimeError(f"The shape of the 2D attn_mask is {mask.shape}, but "
                                   f"should be {(length, source)}.")
        elif mask.ndim == 3:
            if tuple(mask.shape) != (batch * num_heads, length, source):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(mask.shape)}, but "
                                   f"should be {(batch * num_heads, length, source)}.")
            mask = mask.reshape(batch, num_heads, length, source)
        else:
            raise RuntimeError(f"attn_mask's dimension {mask.ndim} is not supported")
    padding = _additive_mask(key_padding_mask, "key_padding_mask", dtype, masked_value=True)
    if padding is not None and tuple(padding.shape) != (batch, source):
        raise RuntimeError(f"expected key_padding_mask of shape {(batch, source)}, got "
                           f"{tuple(padding.shape)}")

    def pad_masks(mask, padding):
        # One more key (bias_k or the zero key): every query may attend to it.
        if mask is not None:
            column = zeros(*mask.shape[:-1], 1, dtype=dtype)
            mask = cat([mask, column], -1)
        if padding is not None:
            padding = cat([padding, zeros(batch, 1, dtype=dtype)], -1)
        return mask, padding

    if bias_k is not None and bias_v is not None:
        k = cat([k, bias_k.reshape(1, 1, embed_dim).expand(batch, 1, embed_dim)], 1)
        v = cat([v, bias_v.reshape(1, 1, embed_dim).expand(batch, 1, embed_dim)], 1)
        mask, padding = pad_masks(mask, padding)
    elif bias_k is not None or bias_v is not None:
        raise ValueError("bias_k and bias_v must both be given or both be None")

    # [N, len, E] -> [N, H, len, head_dim]
    q = q.reshape(batch, length, num_heads, head_dim).transpose(1, 2)
    k = k.reshape(batch, k.shape[1], num_heads, head_dim).transpose(1, 2)
    v = v.reshape(batch, v.shape[1], num_heads, head_dim).transpose(1, 2)
    if add_zero_attn:
        nothing = zeros(batch, num_heads, 1, head_dim, dtype=dtype)
        k, v = cat([k, nothing], 2), cat([v, nothing], 2)
        mask, padding = pad_masks(mask, padding)
    if padding is not None:
        padding = padding.reshape(batch, 1, 1, padding.shape[-1])
        mask = padding if mask is None else mask + padding
    if causal_hint:  # (over every key, bias_k's and the zero one too: SDPA's is_causal)
        mask = _causal_mask(length, k.shape[-2], dtype)
    p = float(dropout_p) if training else 0.0
    scale = 1.0 if folded != 1.0 else 1.0 / math.sqrt(head_dim)  # (folded into q already)
    q, k, v, mask = _autocast_operands(q, k, v, mask)
    if need_weights:
        out, weights = _attend(q, k, v, mask, p, scale, False, generator)
    else:
        out, weights = _attend_fused(q, k, v, mask, p, scale, generator)
    # [N, H, L, head_dim] -> contiguous [L, N, E]: PyTorch's layout of the result (a
    # batch_first module returns its transposed view), which dropout's draw order follows.
    out = out.permute(2, 0, 1, 3).reshape(length, batch, embed_dim)
    out = _functional().linear(out, out_proj_weight, out_proj_bias)
    if not need_weights:
        weights = None
    elif average_attn_weights:
        weights = weights.mean(dim=1)
    if not batched:
        out = out.squeeze(1)
        if weights is not None:
            weights = weights.squeeze(0)
    return out, weights
