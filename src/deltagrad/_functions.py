"""Functions on tensors under their PyTorch names (``deltagrad.exp``, ``deltagrad.sum``, ...).

Thin wrappers over the Tensor methods; they accept anything ``deltagrad.tensor`` accepts.
Several shadow Python builtins (``sum``, ``max``, ``abs``), which is why they live apart.
"""

from __future__ import annotations

from ._tensor import _t


def exp(x):
    return _t(x).exp()


def log(x):
    return _t(x).log()


def sqrt(x):
    return _t(x).sqrt()


def abs(x):  # noqa: A001 - PyTorch's name
    return _t(x).abs()


def sin(x):
    return _t(x).sin()


def cos(x):
    return _t(x).cos()


def tanh(x):
    return _t(x).tanh()


def sigmoid(x):
    return _t(x).sigmoid()


def relu(x):
    return _t(x).relu()


def pow(x, exponent):  # noqa: A001 - PyTorch's name
    return _t(x) ** exponent


def sum(x, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    return _t(x).sum(dim, keepdim)


def mean(x, dim=None, keepdim=False):
    return _t(x).mean(dim, keepdim)


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _t(x).var(dim, unbiased, keepdim, correction=correction)


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _t(x).std(dim, unbiased, keepdim, correction=correction)


def max(x, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    return _t(x).max(dim, keepdim)


def min(x, dim=None, keepdim=False):  # noqa: A001 - PyTorch's name
    return _t(x).min(dim, keepdim)


def amax(x, dim=(), keepdim=False):
    return _t(x).amax(dim, keepdim)


def amin(x, dim=(), keepdim=False):
    return _t(x).amin(dim, keepdim)


def argmax(x, dim=None, keepdim=False):
    return _t(x).argmax(dim, keepdim)


def argmin(x, dim=None, keepdim=False):
    return _t(x).argmin(dim, keepdim)


def logsumexp(x, dim, keepdim=False):
    return _t(x).logsumexp(dim, keepdim)


def softmax(x, dim):
    return _t(x).softmax(dim)


def log_softmax(x, dim):
    return _t(x).log_softmax(dim)


def reshape(x, shape):
    return _t(x).reshape(shape)


def flatten(x, start_dim=0, end_dim=-1):
    return _t(x).flatten(start_dim, end_dim)


def transpose(x, dim0, dim1):
    return _t(x).transpose(dim0, dim1)


def permute(x, dims):
    return _t(x).permute(dims)


def unsqueeze(x, dim):
    return _t(x).unsqueeze(dim)


def squeeze(x, dim=None):
    return _t(x).squeeze(dim)


