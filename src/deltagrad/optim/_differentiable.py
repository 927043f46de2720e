"""``differentiable=True`` steps of SGD, Adam/AdamW, RMSprop and Adagrad: the update written as
tensor operations under grad mode, so autograd records it (meta-learning differentiates a loss
after some steps with respect to earlier weights or hyperparameters).

The operations follow PyTorch's single-tensor algorithms (its differentiable steps never take
the foreach or fused kernels), so the values match its rounding, and the state tensors
(momentum buffers, moments) join the graph as PyTorch's do. The parameters are usually
non-leaf tensors (``w.clone()`` with ``retain_grad()``); an in-place step on a leaf that
requires grad raises, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

from .._engine.api.pointwise import maximum
from .._engine.tensor import Tensor

__all__ = ["STEPS"]


def _number_or_tensor(value: Any) -> Any:
    """A hyperparameter as PyTorch's differentiable step uses it: a Tensor that requires grad
    stays one (its gradient is wanted); any other as a Python number."""
    if isinstance(value, Tensor) and value.requires_grad:
        return value
    return float(value)


def _signed(grad: Tensor, group: dict) -> Tensor:
    return grad.neg() if group["maximize"] else grad


def _coupled_decay(grad: Tensor, param: Tensor, weight_decay: Any) -> Tensor:
    if isinstance(weight_decay, Tensor) and weight_decay.requires_grad:
        return grad.addcmul(param.clone(), weight_decay)
    return grad.add(param, alpha=float(weight_decay))


def sgd(param: Tensor, grad: Tensor, state: dict, group: dict) -> None:
    """One differentiable SGD step of ``param`` (changed in place, recorded)."""
    momentum = float(group["momentum"])
    grad = _signed(grad, group)
    if group["weight_decay"] != 0:
        grad = _coupled_decay(grad, param, group["weight_decay"])
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = grad.detach().clone()  # (as PyTorch: detached)
        else:
            buf.mul_(momentum).add_(grad, alpha=1 - float(group["dampening"]))
        grad = grad.add(buf, alpha=momentum) if group["nesterov"] else buf
    lr = _number_or_tensor(group["lr"])
    if isinstance(lr, Tensor):
        param.addcmul_(grad, lr, value=-1)
    else:
        param.add_(grad, alpha=-lr)


def adam(param: Tensor, grad: Tensor, state: dict, group: dict) -> None:
    """One differentiable Adam/AdamW step; ``state`` holds a 0-d step tensor and the moments
    (made by ``Adam._init_state``)."""
    lr = _number_or_tensor(group["lr"])
    beta1, beta2 = (_number_or_tensor(beta) for beta in group["betas"])
    weight_decay = group["weight_decay"]
    grad = _signed(grad, group)
    step_t = state["step"]
    step_t.add_(1)
    if weight_decay != 0:
        if group["decoupled_weight_decay"]:
            param.mul_(1 - lr * float(weight_decay))
        else:
            grad = _coupled_decay(grad, param, weight_decay)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    exp_avg.lerp_(grad, 1 - beta1)
    if isinstance(beta2, Tensor):
        exp_avg_sq.lerp_(grad.square(), weight=1 - beta2)
    else:
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    # The bias corrections as 0-d tensor operations on the (float32) step count, as PyTorch's
    # differentiable step computes them.
    step = step_t.clone() if isinstance(beta1, Tensor) or isinstance(beta2, Tensor) else step_t
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size_neg = (lr / bias_correction1).neg()
    bias_correction2_sqrt = bias_correction2.sqrt()
    second = exp_avg_sq
    if group["amsgrad"]:
        second = state["max_exp_avg_sq"]
        second.copy_(maximum(second.clone(), exp_avg_sq))
    # (out of place: deltagrad's division saves its result for the divisor's gradient, where
    # PyTorch's saves the operands, so PyTorch's add_ here would fail our version check)
    denom = (second.sqrt() / (bias_correction2_sqrt * step_size_neg)).add(
        float(group["eps"]) / step_size_neg)
    param.addcdiv_(exp_avg.clone(), denom)


def rmsprop(param: Tensor, grad: Tensor, state: dict, group: dict) -> None:
    """One differentiable RMSprop step; ``state`` as ``RMSprop._dense_update`` makes it."""
    alpha = float(group["alpha"])
    momentum = float(group["momentum"])
    grad = _signed(grad, group)
    state["step"].add_(1)
    if group["weight_decay"] != 0:
        grad = grad.add(param, alpha=float(group["weight_decay"]))
    square_avg = state["square_avg"]
    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    if group["centered"]:
        grad_avg = state["grad_avg"]
        grad_avg.lerp_(grad, 1 - alpha)
        avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    else:
        avg = square_avg.sqrt()
    avg = avg.add(float(group["eps"]))
    lr = float(group["lr"])
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf.mul_(momentum).addcdiv_(grad, avg)
        param.add_(buf, alpha=-lr)
    else:
        param.addcdiv_(grad, avg, value=-lr)


def adagrad(param: Tensor, grad: Tensor, state: dict, group: dict) -> None:
    """One differentiable Adagrad step; ``state`` holds the step tensor and ``sum``."""
    step_t = state["step"]
    step_t.add_(1)
    step = step_t.item()
    grad = _signed(grad, group)
    if group["weight_decay"] != 0:
        grad = grad.add(param, alpha=float(group["weight_decay"]))
    clr = float(group["lr"]) / (1 + (step - 1) * float(group["lr_decay"]))
    state_sum = state["sum"]
    state_sum.addcmul_(grad, grad, value=1)
    std = state_sum.sqrt() + float(group["eps"])
    param.addcdiv_(grad, std, value=-clr)


STEPS = {"SGD": sgd, "Adam": adam, "AdamW": adam, "RMSprop": rmsprop, "Adagrad": adagrad}
