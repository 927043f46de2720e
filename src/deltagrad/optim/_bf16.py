"""SGD and Adam/AdamW steps on bfloat16 and float16 parameters, operation by operation as
PyTorch's CPU single-tensor optimizers (its default on the CPU, ``foreach=False``) run them
(float16's kernels round as bfloat16's do: measured the same way, session 20).

Each PyTorch tensor operation on bfloat16 computes in float32 and rounds its result to
bfloat16, so an update's value depends on how the step is split into operations; the functions
here follow that split. What each operation does with its scalar was measured against PyTorch
2.13 (200,000 random elements, every one bit-identical):

- ``add_(t, alpha=a)``: ``fma(bf16(a), t, self)`` (alpha rounded to bfloat16 first);
- ``add_(number)``: the number rounded to bfloat16, then added;
- ``mul_(number)``, ``t / number``: the number as float32;
- ``lerp_(end, w)``: ``fma(w, end - self, self)`` for ``|w| < 0.5``, else
  ``fma(w - 1, end - self, end)``;
- ``addcmul_(a, b, value=v)``: ``fma(v * a, b, self)``; ``addcdiv_(a, b, value=v)``:
  ``self + (v * a) / b``.

A fused multiply-add of float32 operands is computed exactly in float64 and rounded once.
"""

from __future__ import annotations

import math

import numpy as np

from .._engine import bf16
from .._engine.api.creation import from_numpy

_F32 = np.float32
_VECTOR = 32  # bfloat16 elements in one pass of PyTorch's vectorized loop (measured)
_F64 = np.float64


def holds(array: np.ndarray) -> bool:
    """Whether ``array`` (a parameter's data) is bfloat16 or float16."""
    return array.dtype.char in "eE"  # (float16, bfloat16)


def _wide(array: np.ndarray) -> np.ndarray:
    return array.astype(_F32)


def _round(values: np.ndarray, low) -> np.ndarray:
    """float32 (or float64, first rounded to float32) values in the half dtype ``low``."""
    return np.asarray(values, dtype=_F32).astype(low)


def _fma(x, y, z) -> np.ndarray:
    """float32 ``x * y + z`` rounded once (the product is exact in float64)."""
    return (np.asarray(x, _F64) * np.asarray(y, _F64) + np.asarray(z, _F64)).astype(_F32)


def _scalar_bf16(value: float, low) -> np.float32:
    return _F32(np.asarray(_F32(value)).astype(low))


def add_scaled(a: np.ndarray, b: np.ndarray, alpha: float) -> np.ndarray:
    """``a.add(b, alpha=alpha)`` on half arrays of one shape: ``_engine/bf16.add_scaled``
    (PyTorch's vectorized body and 32-element tail rule), which ``Tensor.add`` uses too."""
    return bf16.add_scaled(a, b, alpha)


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    s, e = _wide(start), _wide(end)
    w = _F32(weight)
    if abs(w) < 0.5:
        return _round(_fma(w, e - s, s), start.dtype)
    return _round(_fma(w - _F32(1), e - s, e), start.dtype)


def _store(target: np.ndarray, values: np.ndarray) -> None:
    target[...] = values


def sgd_step(p: np.ndarray, g: np.ndarray, state: dict, group: dict,
             foreach_mul: bool = False) -> None:
    """One step of ``torch.optim.SGD`` (single-tensor) on bfloat16 ``p`` with gradient ``g``;
    ``foreach_mul``: the buffer scaled as the foreach step's ``_foreach_mul_`` does it (the
    momentum rounded to bfloat16 first)."""
    lr = float(group["lr"])
    momentum = float(group["momentum"])
    weight_decay = float(group["weight_decay"])
    low = p.dtype
    grad = g.astype(low) if g.dtype != low else g
    if group["maximize"]:
        grad = -grad
    if weight_decay != 0.0:
        grad = add_scaled(grad, p, weight_decay)
    if momentum != 0.0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = from_numpy(np.array(grad, dtype=low))
            buf = buf._data
        else:
            buf = buf._data
            factor = _scalar_bf16(momentum, low) if foreach_mul else _F32(momentum)
            _store(buf, _round(_wide(buf) * factor, low))
            _store(buf, add_scaled(buf, grad, 1.0 - float(group["dampening"])))
        grad = add_scaled(grad, buf, momentum) if group["nesterov"] else buf
    _store(p, add_scaled(p, grad, -lr))


def adam_step(p: np.ndarray, g: np.ndarray, state: dict, group: dict, step: float) -> None:
    """One step of ``torch.optim.Adam``/``AdamW`` (single-tensor) on bfloat16 ``p``; ``state``
    holds exp_avg, exp_avg_sq (and max_exp_avg_sq) as bfloat16 tensors; ``step`` is the new
    step count."""
    lr = float(group["lr"])
    beta1, beta2 = (float(b) for b in group["betas"])
    weight_decay = float(group["weight_decay"])
    low = p.dtype
    grad = g.astype(low) if g.dtype != low else g
    if group["maximize"]:
        grad = -grad
    if weight_decay != 0.0:
        if group["decoupled_weight_decay"]:
            _store(p, _round(_wide(p) * _F32(1.0 - lr * weight_decay), low))
        else:
            grad = add_scaled(grad, p, weight_decay)
    m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
    _store(m, _lerp(m, grad, 1.0 - beta1))
    _store(v, _round(_wide(v) * _F32(beta2), low))
    wide_grad = _wide(grad)
    _store(v, _round(_fma(_F32(1.0 - beta2) * wide_grad, wide_grad, _wide(v)), low))
    bias_correction1 = 1.0 - beta1 ** step
    bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
    step_size = lr / bias_correction1
    second = v
    if group["amsgrad"]:
        second = state["max_exp_avg_sq"]._data
        _store(second, np.maximum(second, v))
    denom = _round(np.sqrt(_wide(second)), low)
    denom = _round(_wide(denom) / _F32(bias_correction2_sqrt), low)
    denom = _round(_wide(denom) + _scalar_bf16(float(group["eps"]), low), low)
    _store(p, _round(_wide(p) + (_F32(-step_size) * _wide(m)) / _wide(denom), low))
