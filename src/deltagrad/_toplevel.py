"""PyTorch's top-level functions that sit outside the engine's families: ``typename``,
``set_default_tensor_type`` and ``gradient`` (finite differences, written with tensor ops so
that autograd flows through them)."""

from __future__ import annotations

import numbers
import warnings

from . import _engine as dg
from ._engine.api._common import NotATensorError
from ._engine.api.conversion import TYPE_NAMES

__all__ = ["gradient", "set_default_tensor_type", "typename"]


def typename(obj) -> str:
    """PyTorch's name for ``obj``'s type: a tensor's type name (``'torch.FloatTensor'``, as
    ``x.type()``), else the dotted name of a class or of an object's class (builtins unqualified).

    >>> import deltagrad as dg
    >>> typename(dg.zeros(2)), typename(3)
    ('torch.FloatTensor', 'int')
    """
    if isinstance(obj, dg.Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    qualname = (obj.__qualname__ if isinstance(obj, type) else type(obj).__qualname__)
    if module in ("", "builtins"):
        return qualname
    return f"{module}.{qualname}"


_DEFAULT_TYPES = {f"{prefix}.{name}": dtype for dtype, name in TYPE_NAMES.items()
                  for prefix in ("torch", "deltagrad")}


def set_default_tensor_type(t) -> None:
    """PyTorch's deprecated ``set_default_tensor_type``: set the default floating dtype from a
    tensor type (``deltagrad.DoubleTensor``) or its name (``'torch.DoubleTensor'``).

    Only floating types are accepted (``TypeError`` otherwise, as PyTorch); a dtype object is
    not a tensor type (``TypeError``; use ``set_default_dtype``).
    """
    warnings.warn("set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
                  "deltagrad.set_default_dtype() instead", UserWarning, stacklevel=2)
    if isinstance(t, str):
        if t.startswith(("torch.cuda.", "deltagrad.cuda.")):
            dg.device("cuda")  # raises: deltagrad runs on the CPU only
            raise RuntimeError(f"set_default_tensor_type: {t} needs CUDA")
        if t not in _DEFAULT_TYPES:
            raise TypeError(f"invalid type: {t!r}")
        numpy_dtype = _DEFAULT_TYPES[t]
    elif isinstance(t, type) and isinstance(getattr(t, "dtype", None), dg.dtype):
        numpy_dtype = dg.dtypes.to_numpy(t.dtype)
    else:
        raise TypeError("invalid type object: only floating-point types are supported as the "
                        "default type")
    if numpy_dtype.kind != "f":
        raise TypeError("only floating-point types are supported as the default type")
    dg.set_default_dtype(numpy_dtype)


# ----------------------------------------------------------------------------------------------
# gradient.


def gradient(input, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """Estimate the derivative of ``input`` along each of ``dim`` by finite differences, as
    PyTorch's (and NumPy's) ``gradient``: second-order central differences inside, first- or
    second-order (``edge_order``) one-sided differences at the edges. Differentiable.

    Args:
        input: the sampled values (integers are taken as the default floating dtype).
        spacing: the distance between samples: a number (every dim), a list of numbers (one
            per dim), or a list of 1-d tensors (the coordinates of the samples along each dim).
        dim: an int or a list of ints; ``None`` is every dim.
        edge_order: 1 or 2.

    Returns:
        A tuple with one tensor of ``input``'s shape per dim.

    >>> import deltagrad as dg
    >>> gradient(dg.tensor([1.0, 4.0, 9.0, 16.0]))
    (tensor([3., 4., 6., 7.]),)
    """
    if not isinstance(input, dg.Tensor):  # PyTorch's TypeError, before anything else
        raise NotATensorError(f"gradient(): argument 'input' (position 1) must be Tensor, "
                                 f"not {type(input).__name__}")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    if str(getattr(input, "dtype", "")).endswith("uint8"):  # (PyTorch refuses it)
        raise RuntimeError("torch.gradient does not support uint8 input.")
    ndim = input.ndim
    if dim is None:
        dims = tuple(range(ndim))
    elif isinstance(dim, numbers.Integral):
        dims = (dim,)
    else:
        dims = tuple(dim)
    dims = tuple(d + ndim if -ndim <= d < 0 else d for d in dims)
    for d in dims:
        if not 0 <= d < max(ndim, 1):
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                             f"{ndim - 1}], but got {d})")
    spacings = _spacings(spacing, dims, dim is None, ndim)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least "
                               "edge_order+1")
    if input.dtype.is_floating_point is False and input.dtype != dg.bool:
        input = input.to(dg.get_default_dtype())
    return tuple(_along(input, d, h, edge_order) for d, h in zip(dims, spacings))


def _spacings(spacing, dims: tuple, all_dims: bool, ndim: int) -> list:
    if isinstance(spacing, dg.Tensor) and spacing.ndim == 0:
        spacing = spacing.item()
    if isinstance(spacing, numbers.Number):
        return [spacing] * len(dims)
    if not isinstance(spacing, (list, tuple)):
        raise TypeError(f"gradient(): spacing must be a number or a list or tuple of numbers "
                        f"or 1-d tensors, not {type(spacing).__name__}")
    if len(spacing) != len(dims):
        given = f"'self.dim() = {ndim}', since dim argument was not given" if all_dims \
            else f"dim ({len(dims)})"
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar, or a "
                           f"list of length equal to {given}, but got a list of length "
                           f"{len(spacing)}")
    return list(spacing)


def _along(x, d: int, h, edge_order: int):
    n = x.shape[d]

    def part(start: int, length: int):
        return x.narrow(d, start, length)

    if not isinstance(h, dg.Tensor):  # evenly spaced samples
        inner = (part(2, n - 2) - part(0, n - 2)) / (2 * h)
        if edge_order == 1:
            first = (part(1, 1) - part(0, 1)) / h
            last = (part(n - 1, 1) - part(n - 2, 1)) / h
        else:
            first = (-1.5 * part(0, 1) + 2 * part(1, 1) - 0.5 * part(2, 1)) / h
            last = (0.5 * part(n - 3, 1) - 2 * part(n - 2, 1) + 1.5 * part(n - 1, 1)) / h
        return dg.cat([first, inner, last], dim=d)
    if h.ndim != 1 or h.shape[0] != n:
        raise RuntimeError(f"torch.gradient expected each coordinate tensor to be 1-d with as "
                           f"many elements as dim {d} has ({n}), got shape {tuple(h.shape)}")
    if not h.dtype.is_floating_point:
        h = h.to(x.dtype)
    shape = [1] * x.ndim

    def along_d(coefficient):  # a 1-d coefficient broadcast along dim d
        shape[d] = coefficient.shape[0]
        return coefficient.reshape(shape)

    dx = h[1:] - h[:-1]
    left, right = dx[:-1], dx[1:]  # the steps before and after each inner sample
    # Second-order differences for uneven steps (the Lagrange polynomial through 3 samples).
    inner = (along_d(-right / (left * (left + right))) * part(0, n - 2)
             + along_d((right - left) / (left * right)) * part(1, n - 2)
             + along_d(left / (right * (left + right))) * part(2, n - 2))
    if edge_order == 1:
        first = (part(1, 1) - part(0, 1)) / along_d(dx[:1])
        last = (part(n - 1, 1) - part(n - 2, 1)) / along_d(dx[-1:])
    else:
        a, b = dx[:1], dx[1:2]
        first = (along_d(-(2 * a + b) / (a * (a + b))) * part(0, 1)
                 + along_d((a + b) / (a * b)) * part(1, 1)
                 + along_d(-a / (b * (a + b))) * part(2, 1))
        a, b = dx[-2:-1], dx[-1:]
        last = (along_d(b / (a * (a + b))) * part(n - 3, 1)
                + along_d(-(a + b) / (a * b)) * part(n - 2, 1)
                + along_d((2 * b + a) / (b * (a + b))) * part(n - 1, 1))
    return dg.cat([first, inner, last], dim=d)
