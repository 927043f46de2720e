"""Layers as Modules: Linear, Embedding, Dropout and shape helpers (activations live in
``activation.py``, losses in ``loss.py``)."""

from __future__ import annotations

import operator

import numpy as np

from .._engine import meta as _meta
from .._engine.api.creation import tensor
from .._engine.tensor import Tensor, _leaf
from . import functional as F
from . import init
from ._factory import parameter_dtype
from .module import Module, Parameter

__all__ = [
    "Dropout",
    "Embedding",
    "Flatten",
    "Identity",
    "Linear",
]


def _float_dtype(dtype, device=None, where: str = "module") -> np.dtype:
    return parameter_dtype(dtype, device, where)


def _uninitialised(shape: tuple, dtype: np.dtype) -> Tensor:
    """A parameter's storage before reset_parameters fills it, handed to Parameter without a
    copy: copying would touch every page of np.empty's lazy memory (accelerate's
    init_empty_weights moves each new parameter to meta at once: 1,000 Linear(10000, 10000)
    took 1.3 s a layer, torch 15 s in all); on the meta default device, no memory at all."""
    if min(shape, default=0) < 0:  # (PyTorch's RuntimeError, not NumPy's ValueError)
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: "
                           f"{list(shape)}")
    if _meta.default_is_meta():
        return _leaf(_meta.MetaArray(shape, dtype))
    return _leaf(np.empty(shape, dtype=dtype))


class Linear(Module):
    """``y = x @ weight.T + bias``, initialised as PyTorch's ``nn.Linear``.

    weight and bias are drawn from U(-1/sqrt(in_features), 1/sqrt(in_features)) (for the
    weight that is ``kaiming_uniform_`` with ``a=sqrt(5)``), from the default generator unless
    ``generator`` is given.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias.
        dtype: the parameters' dtype (float32 by default).
        generator: source of the initial values.

    Shapes:
        input ``[*, in_features]`` -> output ``[*, out_features]``; ``weight`` is
        ``[out_features, in_features]``, ``bias`` ``[out_features]``.

    >>> import deltagrad as dg
    >>> layer = dg.nn.Linear(3, 2)
    >>> layer(dg.ones(4, 3)).shape, layer.weight.shape
    (deltagrad.Size([4, 2]), deltagrad.Size([2, 3]))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None, *,
                 generator=None) -> None:
        super().__init__()
        # (operator.index: a float size is PyTorch's TypeError, not truncated)
        self.in_features, self.out_features = map(operator.index, (in_features, out_features))
        dtype = _float_dtype(dtype, device, "Linear")
        self.weight = Parameter(_uninitialised((self.out_features, self.in_features), dtype))
        if bias:
            self.bias = Parameter(_uninitialised((self.out_features,), dtype))
        else:
            self.register_parameter("bias", None)
        # (no argument without a generator: subclasses override reset_parameters(self))
        if generator is None:
            self.reset_parameters()
        else:
            self.reset_parameters(generator)

    def reset_parameters(self, generator=None) -> None:
        """Draw fresh initial values (PyTorch's scheme, see the class docstring)."""
        init._default_reset(self.weight, self.bias, generator)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors of size ``embedding_dim``.

    The weight is initialised from N(0, 1), with the ``padding_idx`` row zeroed (as PyTorch).

    Args:
        num_embeddings: number of rows (the vocabulary size).
        embedding_dim: size of each vector.
        padding_idx: a row that receives no gradient (and starts at zero); negative values
            count from the end.
        max_norm: rescale looked-up rows whose norm exceeds it, in place (see
            ``functional.embedding``).
        norm_type: the p of the norm for ``max_norm``.
        scale_grad_by_freq: divide each look-up's gradient by how often its id occurs in
            the input (see ``functional.embedding``).
        sparse: give ``weight`` a row-sparse gradient (only the rows looked up).
        dtype: the weight's dtype (float32 by default).
        generator: source of the initial values.

    Shapes:
        input int ``[*]`` -> output ``[*, embedding_dim]``.

    >>> import deltagrad as dg
    >>> emb = dg.nn.Embedding(10, 3, padding_idx=0)
    >>> emb(dg.tensor([[0, 4], [9, 0]])).shape, emb.weight[0].tolist()
    (deltagrad.Size([2, 2, 3]), [0.0, 0.0, 0.0])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Tensor | None = None, _freeze: bool = False, device=None,
                 dtype=None, *,
                 generator=None) -> None:
        super().__init__()
        # (operator.index: a float size is PyTorch's TypeError, not truncated)
        self.num_embeddings, self.embedding_dim = map(operator.index, (num_embeddings,
                                                                       embedding_dim))
        if min(self.num_embeddings, self.embedding_dim) < 0:  # (PyTorch's class: RuntimeError)
            raise RuntimeError(f"Embedding: trying to create a weight with a negative dimension "
                               f"({self.num_embeddings}, {self.embedding_dim})")
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise AssertionError(f"Padding_idx must be within num_embeddings (Embedding: "
                                     f"padding_idx {padding_idx}, num_embeddings "
                                     f"{self.num_embeddings})")  # (PyTorch's class)
            padding_idx = int(padding_idx) % self.num_embeddings
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = bool(scale_grad_by_freq)  # (loralib's subclass reads it)
        self.sparse = bool(sparse)
        if _weight is None:
            self.weight = Parameter(_uninitialised((self.num_embeddings, self.embedding_dim),
                                                   _float_dtype(dtype, device, "Embedding")),
                                    requires_grad=not _freeze)
            # (no argument without a generator: subclasses override reset_parameters(self))
            if generator is None:
                self.reset_parameters()
            else:
                self.reset_parameters(generator)
        else:
            shape = tuple(_weight.shape)
            if shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight of shape {shape} does not match "
                                 f"({self.num_embeddings}, {self.embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self, generator=None) -> None:
        """Draw fresh N(0, 1) rows; zero the padding row."""
        init.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def forward(self, input) -> Tensor:
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, sparse: bool = False) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (shared, not copied, when a Tensor).

        Args:
            embeddings: ``[num_embeddings, embedding_dim]`` Tensor or ndarray (e.g. GloVe).
            freeze: keep the weight fixed (``requires_grad=False``); ``False`` fine-tunes it.
            padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse: as for the
                constructor; the padding row is used as given (not zeroed).

        >>> import deltagrad as dg
        >>> glove = dg.tensor([[0.1, 0.2], [0.3, 0.4]])
        >>> emb = dg.nn.Embedding.from_pretrained(glove)
        >>> emb.weight.requires_grad, emb(dg.tensor([1])).tolist()
        (False, [[0.30000001192092896, 0.4000000059604645]])
        """
        if not isinstance(embeddings, Tensor):
            embeddings = tensor(np.asarray(embeddings))
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{embeddings.shape}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=freeze)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse:
            text += ", sparse=True"
        return text


class Dropout(Module):
    """Inverted dropout during training (zero with probability p, scale by 1/(1-p)); the
    identity in evaluation mode.

    Args:
        p: drop probability in [0, 1].
        inplace: overwrite the input.
        generator: source of the masks (default: the global generator of ``manual_seed``).

    >>> import deltagrad as dg
    >>> drop = dg.nn.Dropout(0.5).eval()
    >>> x = dg.ones(3)
    >>> drop(x) is x
    True
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, *, generator=None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = float(p)
        self.inplace = inplace
        self.generator = generator

    def forward(self, input: Tensor) -> Tensor:
        if self.generator is None:  # (PyTorch's call: a replacement with its signature works)
            return F.dropout(input, self.p, self.training, self.inplace)
        return F.dropout(input, self.p, self.training, self.inplace, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Identity(Module):
    """Returns its input (arguments to the constructor are ignored, as PyTorch)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Flatten dimensions ``start_dim`` to ``end_dim`` into one (batch dimension kept).

    >>> import deltagrad as dg
    >>> dg.nn.Flatten()(dg.zeros(2, 3, 4)).shape
    deltagrad.Size([2, 12])
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
