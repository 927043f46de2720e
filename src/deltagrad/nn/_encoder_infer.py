"""TransformerEncoderLayer's / TransformerDecoderLayer's forward without autograd (no_grad /
inference_mode): NumPy only.

Under grad mode off nothing is recorded, so the layers' ``forward`` comes here instead of
running their ~20 engine ops a block (LayerNorm, Linear, the attention's reshapes, chunks,
products and softmax), each with its Tensor wrapping, dispatch and mask checks. The arithmetic
is the composed no-grad forward's, through the engine's own array kernels (linear's,
layer_norm's ``forward_without_grad``, softmax's, gelu's, relu's and matmul's NumPy calls) in
the same order, so the outputs are bit-identical (tests/nn/test_s25_SP25_encoder_infer.py).

2-layer stacks, d 64, 4 heads, ff 128, batch_first, dropout 0, eval under no_grad, [4, 16, 64]
(decoder memory [4, 20, 64], causal tgt mask), one thread, thread time, medians of 200
alternated with the composed path (``prepare`` patched to None) and PyTorch in one process,
loaded machine: encoder 789 -> 496 us (PyTorch's fast path 461), pre-norm gelu 975 -> 643 (598),
with a key padding mask 996 -> 668 (519); decoder 1343 -> 781 (PyTorch 1002), pre-norm
1372 -> 790 (1072).

Anything else takes the composed path: grad mode on, dropout that draws (training with p > 0),
hooks on the layers' submodules (PyTorch's fast path also requires none), autocast, dtypes
other than float32 / float64, subclasses or replaced submodules, activations other than
F.relu / F.gelu, unbatched inputs, bias_k / add_zero_attn, masks of unexpected shapes (the
composed path raises their errors).
"""

from __future__ import annotations

import math

import numpy as np

from .._engine import Tensor
from .._engine.ops.elementwise import _ZERO, _gelu_forward
from .._engine.ops.elementwise_math import ERR_STATE, IGNORE_ALL
from .._engine.ops.nn import _linear_forward
from .._engine.ops.normalization import forward_without_grad
from .._engine.ops.reductions import _softmax_forward
from .._engine.ops.relu_zeros import zeros_for
from .._engine.tensor import _leaf

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


_MISSING = object()


def _member(module, name: str, registry: str = "_parameters"):
    """``getattr(module, name)`` for a registered member without Module.__getattr__ (~1 us a
    call, ~40 a layer): an instance attribute first, as Python's lookup."""
    state = module.__dict__
    value = state.get(name, _MISSING)
    if value is _MISSING:
        value = state[registry].get(name, _MISSING)
    return getattr(module, name) if value is _MISSING else value


def _hooked(module) -> bool:
    """Whether calling ``module`` runs a hook of its own or a global one."""
    hooks = module._hooks
    if hooks is None:  # (none was ever registered: Module.__call__'s fast path)
        return False
    return bool(type(module)._hooks is not None or hooks.forward_pre or hooks.forward
                or hooks.backward or hooks.backward_pre or hooks.legacy)


_NAMES: list = []  # (nn's names _plan reads, imported on its first call: see _names)


def _names() -> tuple:
    """(F, Dropout, Linear, LayerNorm, _autocast_dtype, MultiheadAttention,
    NonDynamicallyQuantizableLinear), imported once: four function-level imports a call cost
    ~5 us of _plan's ~13 on a d-64 layer (thread time, medians of 2,000; SP38)."""
    if not _NAMES:
        from . import functional
        from .layers import Dropout, Linear
        from .normalization import LayerNorm
        from .rnn import _autocast_dtype  # (amp's state, read as the recurrent layers read it)
        from .transformer import MultiheadAttention, NonDynamicallyQuantizableLinear

        _NAMES.extend((functional, Dropout, Linear, LayerNorm, _autocast_dtype,
                       MultiheadAttention, NonDynamicallyQuantizableLinear))
    return tuple(_NAMES)


def _plan(layer, data, attentions: tuple, norms: tuple, drops: tuple):
    """The layer's arrays for ``_run`` (``data`` its input array), or None.

    (Loops, no generators or closures, the imports out of it: ``prepare`` of a d-64 encoder
    layer 13.3 -> 7.1 us, thread time, medians of 21 x 2,000; SP38)"""
    if type(data) is not np.ndarray or data.dtype not in _FLOATS or data.ndim != 3:
        return None
    (F, Dropout, Linear, LayerNorm, _autocast_dtype, MultiheadAttention,
     NonDynamicallyQuantizableLinear) = _NAMES or _names()
    if layer.activation not in (F.relu, F.gelu) or _autocast_dtype() is not None:
        return None
    training = layer.training
    attns, outs = [], []
    for name in attentions:
        attn = _member(layer, name, "_modules")
        # (exact types: a subclass, e.g. a parametrized Linear, computes its own way)
        if (type(attn) is not MultiheadAttention or _hooked(attn) or not attn._qkv_same_embed_dim
                or attn.add_zero_attn or attn.embed_dim != data.shape[2]
                or attn.embed_dim % attn.num_heads
                or (attns and attn.batch_first != attns[0].batch_first)
                or _member(attn, "bias_k") is not None or _member(attn, "bias_v") is not None
                or (training and attn.dropout > 0)):
            return None
        out_proj = _member(attn, "out_proj", "_modules")
        if type(out_proj) is not NonDynamicallyQuantizableLinear or _hooked(out_proj):
            return None
        attns.append(attn)
        outs.append(out_proj)
    norm_modules = []
    for name in norms:
        norm = _member(layer, name, "_modules")
        if type(norm) is not LayerNorm or _hooked(norm):
            return None
        norm_modules.append(norm)
    for name in drops:
        drop = _member(layer, name, "_modules")
        if type(drop) is not Dropout or _hooked(drop) or (training and drop.p > 0):
            return None
    linears = []
    for name in ("linear1", "linear2"):
        linear = _member(layer, name, "_modules")
        if type(linear) is not Linear or _hooked(linear):
            return None
        linears.append(linear)
    dtype = data.dtype
    attention = []
    for attn, out_proj in zip(attns, outs):
        packed = _arrays(attn, ("in_proj_weight", "in_proj_bias"), dtype)
        projected = _arrays(out_proj, ("weight", "bias"), dtype)
        if packed is None or projected is None:
            return None
        attention.append((attn.batch_first, attn.num_heads, *packed, *projected))
    normalizing = []
    for norm in norm_modules:
        affine = _arrays(norm, ("weight", "bias"), dtype)
        if affine is None or (affine[0] is None) != (affine[1] is None):
            return None
        normalizing.append((len(norm.normalized_shape), float(norm.eps), *affine))
    forward = [layer.activation is F.relu]
    for linear in linears:
        pair = _arrays(linear, ("weight", "bias"), dtype)
        if pair is None:
            return None
        forward += pair
    return layer.norm_first, attention, normalizing, forward


def _arrays(module, names: tuple, dtype):
    """The arrays of ``module``'s tensors ``names`` (None for a member that is None), or None
    where one is not a Tensor holding an ndarray of ``dtype``."""
    out = []
    for name in names:
        t = _member(module, name)
        if t is None:
            out.append(None)
        elif isinstance(t, Tensor) and type(t._data) is np.ndarray and t._data.dtype == dtype:
            out.append(t._data)
        else:
            return None
    return out


def _masks_fit(batch, heads, length, source, mask, padding) -> bool:
    """Whether the attention masks have the shapes and dtypes the composed path accepts."""
    for given, shapes in ((mask, ((length, source), (batch * heads, length, source))),
                          (padding, ((batch, source),))):
        if given is not None and not (type(given) is Tensor and type(given._data) is np.ndarray
                                      and given._data.shape in shapes
                                      and given._data.dtype.kind in "bf"):
            return False
    return True


def _sizes(data, batch_first: bool):
    return (data.shape[0], data.shape[1]) if batch_first else (data.shape[1], data.shape[0])


def prepare(layer, src, src_mask, padding_mask, is_causal):
    """TransformerEncoderLayer: what ``run`` needs, or None where it does not serve this
    call (grad mode is off: the caller checks)."""
    data = src._data if type(src) is Tensor else None
    plan = _plan(layer, data, ("self_attn",), ("norm1", "norm2"),
                 ("dropout", "dropout1", "dropout2"))
    if plan is None or (is_causal and src_mask is None):
        return None
    batch_first, heads = plan[1][0][:2]
    batch, length = _sizes(data, batch_first)
    return plan if _masks_fit(batch, heads, length, length, src_mask, padding_mask) else None


def prepare_decoder(layer, tgt, memory, masks: tuple, tgt_is_causal, memory_is_causal):
    """TransformerDecoderLayer: what ``run_decoder`` needs, or None. ``masks``: (tgt_mask,
    memory_mask, tgt_key_padding_mask, memory_key_padding_mask)."""
    data = tgt._data if type(tgt) is Tensor else None
    plan = _plan(layer, data, ("self_attn", "multihead_attn"), ("norm1", "norm2", "norm3"),
                 ("dropout", "dropout1", "dropout2", "dropout3"))
    if plan is None or type(memory) is not Tensor:
        return None
    kept = memory._data
    if type(kept) is not np.ndarray:
        return None
    tgt_mask, memory_mask, tgt_padding, memory_padding = masks
    if (kept.dtype != data.dtype or kept.ndim != 3 or kept.shape[2] != data.shape[2]
            or (tgt_is_causal and tgt_mask is None)
            or (memory_is_causal and memory_mask is None)):
        return None
    batch_first, heads = plan[1][0][:2]
    batch, length = _sizes(data, batch_first)
    memory_batch, source = _sizes(kept, batch_first)
    if memory_batch != batch or not (
            _masks_fit(batch, heads, length, length, tgt_mask, tgt_padding)
            and _masks_fit(batch, plan[1][1][1], length, source, memory_mask, memory_padding)):
        return None
    return plan


def run(plan, src, src_mask, padding_mask) -> Tensor:
    """The encoder layer's output for ``src`` as the composed forward gives it, in NumPy."""
    token = ERR_STATE.set(IGNORE_ALL)  # (PyTorch's kernels never warn on inf / nan)
    try:
        return _leaf(_run(plan, src._data, None, ((src_mask, padding_mask),)))
    finally:
        ERR_STATE.reset(token)


def run_decoder(plan, tgt, memory, masks: tuple) -> Tensor:
    """The decoder layer's output as the composed forward gives it, in NumPy."""
    token = ERR_STATE.set(IGNORE_ALL)
    try:
        return _leaf(_run(plan, tgt._data, memory._data,
                          ((masks[0], masks[2]), (masks[1], masks[3]))))
    finally:
        ERR_STATE.reset(token)


def _linear(x, w, b):
    return _linear_forward(x, w) if b is None else _linear_forward(x, w, b)


def _norm(x, norm):
    ndim, eps, w, b = norm
    affine = () if w is None else (w, b)
    return forward_without_grad(x, *affine, ndim=ndim, eps=eps, has_weight=w is not None)


def _run(plan, x, memory, masks):
    """Post-norm ``x = norm(x + block(x))`` or pre-norm ``x = x + block(norm(x))`` for each
    attention block (self, then to ``memory`` in a decoder) and the feed-forward block."""
    norm_first, attentions, norms, forward = plan
    for i, attention in enumerate(attentions):
        source = None if i == 0 else memory
        if norm_first:
            x = x + _attention(attention, _norm(x, norms[i]), source, *masks[i])
        else:
            x = _norm(x + _attention(attention, x, source, *masks[i]), norms[i])
    if norm_first:
        return x + _feed_forward(_norm(x, norms[-1]), *forward)
    return _norm(x + _feed_forward(x, *forward), norms[-1])


def _feed_forward(x, relu, w1, b1, w2, b2):
    h = _linear(x, w1, b1)
    h = np.maximum(zeros_for(h, _ZERO(h)[0]), h) if relu else _gelu_forward(h)
    return _linear(h, w2, b2)


def _mask(mask, dtype):
    # (multi_head_attention_forward's _additive_mask: True entries are -inf)
    array = mask._data
    if array.dtype == np.bool_:
        return np.where(array, -np.inf, 0.0).astype(dtype)
    return array if array.dtype == dtype else array.astype(dtype)


def _attention(attention, x, memory, src_mask, padding_mask):
    """MultiheadAttention without weights as its no-grad path computes it: self-attention
    (``memory`` None) by one packed product, else q from the weight's first rows (the scale
    folded into them where exact) and k, v from its other rows."""
    batch_first, heads, qkv_w, qkv_b, out_w, out_b = attention
    q_in = x if batch_first else x.transpose(1, 0, 2)  # [N, L, E]
    batch, length, embed = q_in.shape
    head_dim = embed // heads
    scale = 1.0 / math.sqrt(head_dim)
    folded = scale if math.frexp(scale)[0] == 0.5 else 1.0  # (attention's _folded_scale)
    if memory is None:
        qkv = _linear(q_in, qkv_w, qkv_b)
        q, k, v = (qkv[..., i * embed:(i + 1) * embed] for i in range(3))
        if folded != 1.0:
            q = q * folded
    else:
        q_w, q_b = qkv_w[:embed], None if qkv_b is None else qkv_b[:embed]
        if folded != 1.0:
            q_w, q_b = q_w * folded, None if q_b is None else q_b * folded
        q = _linear(q_in, q_w, q_b)
        kv = _linear(memory if batch_first else memory.transpose(1, 0, 2), qkv_w[embed:],
                     None if qkv_b is None else qkv_b[embed:])
        k, v = kv[..., :embed], kv[..., embed:]
    source = k.shape[1]
    dtype = x.dtype
    mask = None if src_mask is None else _mask(src_mask, dtype)
    if mask is not None and mask.ndim == 3:
        mask = mask.reshape(batch, heads, length, source)
    if padding_mask is not None:
        padding = _mask(padding_mask, dtype).reshape(batch, 1, 1, source)
        mask = padding if mask is None else mask + padding
    q = q.reshape(batch, length, heads, head_dim).transpose(0, 2, 1, 3)
    k = k.reshape(batch, source, heads, head_dim).transpose(0, 2, 1, 3)
    v = v.reshape(batch, source, heads, head_dim).transpose(0, 2, 1, 3)
    if folded == 1.0:
        q = q * scale
    scores = np.matmul(q, k.swapaxes(-2, -1))
    if mask is not None:
        scores = scores + mask
    weights = _softmax_forward(scores, dim=-1)
    if mask is not None and weights.size and math.isnan(np.add.reduce(weights, axis=None)):
        # (attention's _attend with safe=True: a row with every key masked gives zeros)
        dead = np.isneginf(scores).all(axis=-1, keepdims=True)
        if dead.any():
            scores = np.where(dead, 0.0, scores).astype(dtype, copy=False)
            weights = np.where(dead, 0.0, _softmax_forward(scores, dim=-1)).astype(
                dtype, copy=False)
    out = np.matmul(weights, v)
    out = np.ascontiguousarray(out.transpose(2, 0, 1, 3)).reshape(length, batch, embed)
    out = _linear(out, out_w, out_b)  # [L, N, E]
    return out.transpose(1, 0, 2) if batch_first else out
