"""Attention layers: ``nn.MultiheadAttention`` and the Transformer encoder and decoder."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable

import numpy as np

from .._engine.api.creation import from_numpy
from .._engine.modes import is_grad_enabled
from ..autograd import forward_ad as _forward_ad
from . import _encoder_infer, init
from . import functional as F
from ._factory import parameter_dtype
from .activation import GELU, ReLU
from .attention import matched_masks
from .layers import Dropout, Linear
from .module import Module, ModuleList, Parameter
from .normalization import LayerNorm

__all__ = [
    "MultiheadAttention",
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` under PyTorch's name for ``MultiheadAttention.out_proj`` (its type shows in
    the printed model; PyTorch uses it to keep quantisation off that layer)."""


class MultiheadAttention(Module):
    """Multi-head attention (PyTorch's ``nn.MultiheadAttention``, same parameter names).

    ``in_proj_weight`` ``[3E, E]`` packs the query, key and value projections (initialised
    Xavier-uniform); when ``kdim`` or ``vdim`` differ from E they are separate
    (``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight``). ``in_proj_bias`` and
    ``out_proj.bias`` start at zero; ``bias_k``/``bias_v`` (``add_bias_kv``) Xavier-normal.

    Args:
        embed_dim: E, the model width (divisible by ``num_heads``).
        num_heads: number of parallel heads.
        dropout: dropout on the attention weights in training.
        bias: biases on the input and output projections.
        add_bias_kv: learn a key and a value appended to the sequence.
        add_zero_attn: append an all-zero key and value.
        kdim, vdim: widths of key and value (default E).
        batch_first: inputs and output are ``[N, L, E]`` instead of ``[L, N, E]``.
        dtype: the parameters' dtype (float32 by default).

    >>> import deltagrad as dg
    >>> mha = dg.nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = dg.randn(3, 5, 8)
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    (deltagrad.Size([3, 5, 8]), deltagrad.Size([3, 5, 5]))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None,
                 dtype=None) -> None:
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise AssertionError("embed_dim must be divisible by num_heads")  # (PyTorch's type)
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        self.add_zero_attn = add_zero_attn
        dtype = parameter_dtype(dtype, device, "MultiheadAttention")

        def empty(*shape):
            return Parameter(np.empty(shape, dtype=dtype))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dtype)
        if add_bias_kv:
            self.bias_k = empty(1, 1, embed_dim)
            self.bias_v = empty(1, 1, embed_dim)
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        """Attend from ``query`` to ``key``/``value``; see ``multi_head_attention_forward``.

        Returns:
            ``(attn_output, attn_output_weights)`` (the weights None without
            ``need_weights``).
        """
        batched = query.ndim == 3
        if self.batch_first and batched:
            # Keep `query is key` (self-attention: one packed projection) through the swap.
            if key is value:
                if query is key:
                    query = key = value = query.transpose(0, 1)
                else:
                    query, key = query.transpose(0, 1), key.transpose(0, 1)
                    value = key
            else:
                query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        out, weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights,
            is_causal=is_causal)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        return out, weights


def _activation(activation: str | Callable) -> Callable:
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    if callable(activation):
        return activation
    raise RuntimeError(f"activation should be relu/gelu, not {activation}")


def _relu_or_gelu(activation) -> int:
    """PyTorch's ``activation_relu_or_gelu``: 1 for relu, 2 for gelu, else 0."""
    if activation is F.relu or isinstance(activation, ReLU):
        return 1
    return 2 if activation is F.gelu or isinstance(activation, GELU) else 0


def _clones(module: Module, count: int) -> ModuleList:
    return ModuleList([copy.deepcopy(module) for _ in range(count)])


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual and LayerNorm.

    Post-norm (``x = norm(x + block(x))``) by default, pre-norm (``x = x + block(norm(x))``)
    with ``norm_first``; submodule names as PyTorch's (``self_attn``, ``linear1``, ``linear2``,
    ``norm1``, ``norm2``, ``dropout``, ``dropout1``, ``dropout2``).

    Args:
        d_model: the model width.
        nhead: attention heads.
        dim_feedforward: width of the feed-forward block.
        dropout: dropout rate (attention weights, feed-forward, residual branches).
        activation: ``"relu"``, ``"gelu"`` or a callable.
        layer_norm_eps: LayerNorm's eps.
        batch_first: ``[N, L, E]`` inputs instead of ``[L, N, E]``.
        norm_first: pre-norm.
        bias: biases in the linear layers and LayerNorms.
        dtype: the parameters' dtype (float32 by default).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        dtype = parameter_dtype(dtype, device, type(self).__name__)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)
        self.activation_relu_or_gelu = _relu_or_gelu(self.activation)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        """``src`` ``[L, N, E]`` (or ``[N, L, E]`` with batch_first; ``[L, E]`` unbatched)."""
        src_key_padding_mask, src_mask = matched_masks(
            src_key_padding_mask, src_mask, ("src_key_padding_mask", "src_mask"), src._data.dtype)
        x = src
        if is_causal and src_mask is not None and src_key_padding_mask is None \
                and not is_grad_enabled() and not self._fast_path(src):
            # PyTorch's composed path takes the hint as the truth (its MHA drops the mask: the
            # keys after each query are masked); the plan below reads the mask (SL25)
            length = src.shape[1] if src.dim() == 3 and self.self_attn.batch_first \
                else src.shape[0]
            src_mask = Transformer.generate_square_subsequent_mask(length, dtype=src_mask.dtype)
        # (not under forward AD: the plan's arrays carry no tangents; s30 BR25)
        plan = None if is_grad_enabled() or _forward_ad.active() else _encoder_infer.prepare(
            self, src, src_mask, src_key_padding_mask, is_causal)
        if plan is not None:
            # Nothing recorded: the same kernels on arrays, no per-op Tensors (the same bits;
            # nn/_encoder_infer.py has the numbers)
            x = _encoder_infer.run(plan, src, src_mask, src_key_padding_mask)
        elif self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        if src_key_padding_mask is not None and self._fast_path(src):
            # PyTorch's fused inference path gives NaN for a sequence whose every position is
            # padding (its softmax over no keys); the composed path here gives numbers.
            empty = (src_key_padding_mask != 0).all(dim=-1)
            if src_key_padding_mask.dim() == 2 and bool(empty.any()):
                x = x.masked_fill(empty.reshape(-1, 1, 1), float("nan"))
        return x

    def _fast_path(self, src) -> bool:
        """Whether PyTorch would run this layer through its fused inference kernel."""
        attn = self.self_attn
        if (self.training or src.dim() != 3 or not attn.batch_first or attn.in_proj_bias is None
                or not attn._qkv_same_embed_dim or not self.activation_relu_or_gelu
                or self.norm1.eps != self.norm2.eps or attn.num_heads % 2 == 1):
            return False
        if any(m._forward_hooks or m._forward_pre_hooks for m in self.modules()):
            return False
        tensors = (src, attn.in_proj_weight, attn.in_proj_bias, attn.out_proj.weight,
                   attn.out_proj.bias, self.norm1.weight, self.norm1.bias, self.norm2.weight,
                   self.norm2.bias, self.linear1.weight, self.linear1.bias,
                   self.linear2.weight, self.linear2.bias)
        return not (is_grad_enabled() and any(t is not None and t.requires_grad
                                              for t in tensors))

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention, attention over the encoder's memory, then a feed-forward block.

    Each block has a residual connection and a LayerNorm (post-norm by default, pre-norm with
    ``norm_first``); submodule names as PyTorch's (``self_attn``, ``multihead_attn``,
    ``linear1``, ``linear2``, ``norm1``..``norm3``, ``dropout``, ``dropout1``..``dropout3``).

    Args: as ``TransformerEncoderLayer``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        dtype = parameter_dtype(dtype, device, type(self).__name__)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False):
        """``tgt`` ``[T, N, E]`` attends to itself and to ``memory`` ``[S, N, E]``."""
        x = tgt
        masks = (tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask)
        # A causal hint beside a given mask and no padding mask: PyTorch's attention masks the
        # keys after each query, which the plan's arrays don't know (the composed path's
        # attention does; the encoder's twin is SL25's, s31)
        hinted = (tgt_is_causal and tgt_mask is not None and tgt_key_padding_mask is None) or (
            memory_is_causal and memory_mask is not None and memory_key_padding_mask is None)
        plan = (None if hinted or is_grad_enabled() or _forward_ad.active() else
                _encoder_infer.prepare_decoder(
                    self, tgt, memory, masks, tgt_is_causal, memory_is_causal))
        if plan is not None:  # (nothing recorded: as the encoder layer's)
            for padding, mask in ((tgt_key_padding_mask, tgt_mask),
                                  (memory_key_padding_mask, memory_mask)):  # (the attention's
                # warning where their dtypes differ: the arrays' path has no attention module)
                matched_masks(padding, mask, ("key_padding_mask", "attn_mask"), tgt._data.dtype)
            return _encoder_infer.run_decoder(plan, tgt, memory, masks)
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask,
                                    memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask,
                                               memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           is_causal=is_causal, need_weights=False)[0]
        return self.dropout1(x)

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """``num_layers`` copies of an encoder layer (``layers.0``, ...), then ``norm`` if given.

    Args:
        encoder_layer: the layer to copy (deep copies: the layers do not share parameters).
        num_layers: how many.
        norm: a final normalization module, or None.
        enable_nested_tensor: PyTorch's nested-tensor fast path, used where the layer
            qualifies (``use_nested_tensor``): in evaluation, with no gradient recorded, a
            batched input and a left-aligned ``src_key_padding_mask`` (and no ``mask``), the
            padded positions of the result are zeros (before ``norm``), as PyTorch's.
        mask_check: check that the padding mask is left-aligned before taking that path.
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None, enable_nested_tensor: bool = True,
                 mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why_not = _why_not_nested(encoder_layer)
        self.use_nested_tensor = enable_nested_tensor and not why_not
        if enable_nested_tensor and why_not:
            # (stacklevel 3: the line that built the encoder, as PyTorch's; nn/module_state.py's
            # _meta_aware wraps this __init__ in one more frame)
            warnings.warn(f"enable_nested_tensor is True, but self.use_nested_tensor is False "
                          f"because {why_not}", stacklevel=3)

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal: bool | None = None):
        """Run ``src`` through every layer with the same masks."""
        src_key_padding_mask, mask = matched_masks(
            src_key_padding_mask, mask, ("src_key_padding_mask", "mask"), src._data.dtype)
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                           is_causal=bool(is_causal))
        padded = self._nested_padding(src, mask, src_key_padding_mask)
        if padded is not None:  # PyTorch's nested result, padded back with zeros
            output = output.masked_fill(padded, 0.0)
        return self.norm(output) if self.norm is not None else output

    def _nested_padding(self, src, mask, key_padding_mask):
        """The ``[N, L, 1]`` padded positions where PyTorch would take its nested-tensor fast
        path (its conditions, in its order), else None."""
        first = self.layers[0] if len(self.layers) else None
        if (not getattr(self, "use_nested_tensor", False) or first is None or first.training
                or src.dim() != 3 or key_padding_mask is None or mask is not None):
            return None
        padded = key_padding_mask != 0  # (a float mask: its nonzero entries are padding)
        if padded.dim() != 2:
            return None
        kept = (~padded).detach().numpy()
        aligned = bool(np.all(kept[:, 1:] <= kept[:, :-1]))  # True... then False... per row
        if self.mask_check and not aligned:
            return None
        attn, norm1, norm2 = first.self_attn, first.norm1, first.norm2
        tensors = (src, attn.in_proj_weight, attn.in_proj_bias, attn.out_proj.weight,
                   attn.out_proj.bias, norm1.weight, norm1.bias, norm2.weight, norm2.bias,
                   first.linear1.weight, first.linear1.bias, first.linear2.weight,
                   first.linear2.bias)
        if is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors):
            return None
        if not aligned:  # (PyTorch would pack the wrong tokens: refuse rather than differ)
            raise NotImplementedError("TransformerEncoder: mask_check=False with a "
                                      "src_key_padding_mask that is not left-aligned is not "
                                      "supported (PyTorch's nested fast path)")
        if padded.shape != (src.shape[0], src.shape[1]):
            return None
        return padded.unsqueeze(-1)


def _why_not_nested(layer) -> str:
    """Why PyTorch's TransformerEncoder would not use nested tensors with ``layer`` ("" if
    it would), in its order and words."""
    if not isinstance(layer, TransformerEncoderLayer):
        return "encoder_layer was not TransformerEncoderLayer"
    attn = layer.self_attn
    checks = ((layer.norm_first, "encoder_layer.norm_first was True"),
              (not attn.batch_first, "encoder_layer.self_attn.batch_first was not True(use "
               "batch_first for better inference performance)"),
              (not attn._qkv_same_embed_dim,
               "encoder_layer.self_attn._qkv_same_embed_dim was not True"),
              (attn.in_proj_bias is None, "encoder_layer.self_attn was passed bias=False"),
              (not getattr(layer, "activation_relu_or_gelu", 0),
               "encoder_layer.activation_relu_or_gelu was not True"),
              (layer.norm1.eps != layer.norm2.eps,
               "encoder_layer.norm1.eps was not equal to encoder_layer.norm2.eps"),
              (attn.num_heads % 2 == 1, "encoder_layer.self_attn.num_heads is odd"))
    return next((why for failed, why in checks if failed), "")


class TransformerDecoder(Module):
    """``num_layers`` copies of a decoder layer (``layers.0``, ...), then ``norm`` if given."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int,
                 norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False):
        """Run ``tgt`` through every layer, each attending to ``memory``."""
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return self.norm(output) if self.norm is not None else output


class Transformer(Module):
    """The encoder-decoder Transformer (PyTorch's ``nn.Transformer``).

    Every parameter with more than one dimension is re-initialised Xavier-uniform, as PyTorch
    does. The encoder and decoder end with a LayerNorm.

    Args:
        d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
            norm_first, bias, dtype: as ``TransformerEncoderLayer``.
        num_encoder_layers, num_decoder_layers: the depth of each stack.
        custom_encoder, custom_decoder: modules to use instead of the default stacks.

    >>> import deltagrad as dg
    >>> model = dg.nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
    ...                           num_decoder_layers=1, dim_feedforward=16, batch_first=True)
    >>> src, tgt = dg.randn(2, 5, 8), dg.randn(2, 3, 8)
    >>> mask = model.generate_square_subsequent_mask(3)
    >>> model(src, tgt, tgt_mask=mask).shape
    deltagrad.Size([2, 3, 8])
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable = "relu", custom_encoder: Module | None = None,
                 custom_decoder: Module | None = None, layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        dtype = parameter_dtype(dtype, device, "Transformer")
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            layer = TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
                                            activation, layer_norm_eps, batch_first, norm_first,
                                            bias, dtype=dtype)
            self.encoder = TransformerEncoder(
                layer, num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            layer = TransformerDecoderLayer(d_model, nhead, dim_feedforward, dropout,
                                            activation, layer_norm_eps, batch_first, norm_first,
                                            bias, dtype=dtype)
            self.decoder = TransformerDecoder(
                layer, num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for param in self.parameters():
            if param.ndim > 1:
                init.xavier_uniform_(param)
        self.d_model = d_model
        self.nhead = nhead
        self.batch_first = batch_first

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False):
        """Encode ``src`` into memory, then decode ``tgt`` against it.

        Shapes (sequence first; batch first with ``batch_first``): src ``[S, N, E]``, tgt
        ``[T, N, E]`` -> ``[T, N, E]``. Masks as in ``MultiheadAttention``.
        """
        batched = src.ndim == 3
        batch_dim = 0 if self.batch_first else 1
        if batched and src.shape[batch_dim] != tgt.shape[batch_dim]:
            raise RuntimeError("the batch number of src and tgt must be equal")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError("the feature number of src and tgt must be equal to d_model")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None):
        """A float ``[sz, sz]`` causal mask: -inf above the diagonal, 0 elsewhere.

        >>> Transformer.generate_square_subsequent_mask(3)
        tensor([[0., -inf, -inf],
                [0., 0., -inf],
                [0., 0., 0.]])
        """
        if dtype is not None and str(dtype).rsplit(".", 1)[-1] == "bool":
            # (PyTorch fills -inf in the dtype asked for: True above the diagonal)
            return from_numpy(np.triu(np.ones((sz, sz), dtype=bool), k=1))
        dtype = parameter_dtype(dtype, device, "generate_square_subsequent_mask")
        mask = np.triu(np.full((sz, sz), -np.inf, dtype=dtype), k=1)
        return from_numpy(mask)
