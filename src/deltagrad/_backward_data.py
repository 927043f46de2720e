"""PyTorch's torch-level softmax backward kernels, ``torch._softmax_backward_data`` and
``torch._log_softmax_backward_data``, which custom autograd Functions call in their backward
(transformers' DeBERTa-style ``XSoftmax`` in SEW-D); written from deltagrad's ops, so they are
differentiable as PyTorch's are."""

from __future__ import annotations

from ._engine.api._pointwise import torch_name

__all__ = ["_log_softmax_backward_data", "_softmax_backward_data"]


def _same_dtype(grad_output, output) -> None:
    # (PyTorch's kernels take both in one dtype; ``input_dtype`` only names the forward's
    # input, which a half-precision forward computed in float32 differs from)
    if grad_output._data.dtype != output._data.dtype:
        raise RuntimeError(f"expected scalar type {torch_name(grad_output._data.dtype)} but "
                           f"found {torch_name(output._data.dtype)}")


def _half(tensor):
    """float16 / bfloat16 ``tensor``'s dtype, else None: PyTorch's CPU kernels compute half
    inputs in float32 and round once (bfloat16 [5, 5] rows, 200 draws: 2,263 of 5,000
    elements differed from PyTorch when computed in bfloat16 steps, 0 in float32)."""
    return tensor.dtype if tensor._data.dtype.itemsize == 2 and tensor.dtype.is_floating_point \
        else None


def _softmax_backward_data(grad_output, output, dim: int, input_dtype):
    """The gradient of ``softmax(x, dim)`` given its result ``output`` and the gradient of
    that result: ``output * (grad_output - sum(grad_output * output, dim))``."""
    _same_dtype(grad_output, output)
    half = _half(grad_output)
    if half is not None:
        g, o = grad_output.float(), output.float()
        return (o * (g - (g * o).sum(dim, keepdim=True))).to(half)
    return output * (grad_output - (grad_output * output).sum(dim, keepdim=True))


def _log_softmax_backward_data(grad_output, output, dim: int, input_dtype):
    """The gradient of ``log_softmax(x, dim)`` given its result ``output`` and the gradient
    of that result: ``grad_output - exp(output) * sum(grad_output, dim)``."""
    _same_dtype(grad_output, output)
    half = _half(grad_output)
    if half is not None:
        g, o = grad_output.float(), output.float()
        return (g - o.exp() * g.sum(dim, keepdim=True)).to(half)
    return grad_output - output.exp() * grad_output.sum(dim, keepdim=True)
