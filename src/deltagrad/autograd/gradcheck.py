"""Numeric gradient checking: compare every VJP with central differences in float64."""

from __future__ import annotations

import numpy as np

from .._engine.api.backward import grad
from .._engine.autograd import enable_grad
from .._engine.tensor import Tensor, _leaf

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(AssertionError):
    """Analytic and numeric gradients disagree; the message names input, index and values."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _double(inputs):
    """float64 copies of the inputs (non-float inputs pass through unchanged)."""
    out = []
    for x in inputs:
        if isinstance(x, Tensor) and x.dtype.kind == "f":
            copy = _leaf(np.array(x._data, dtype=np.float64))
            copy.requires_grad_(x.requires_grad)
            out.append(copy)
        else:
            out.append(x)
    return out


def _outputs(fn, inputs):
    with enable_grad():
        return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor)]


def _flat(out) -> np.ndarray:
    """An output's values as float64, flattened; a complex one as (real, imaginary) pairs."""
    data = out._data.reshape(-1)
    if data.dtype.kind == "c":
        return np.stack([data.real, data.imag], axis=-1).reshape(-1).astype(np.float64)
    return data.astype(np.float64)


def _numeric_jacobians(fn, inputs, eps):
    """d(outputs, flattened and concatenated)/d(input), one matrix per differentiable input."""
    jacobians = []
    for x in inputs:
        if not (isinstance(x, Tensor) and x.requires_grad):
            jacobians.append(None)
            continue
        flat = x._data.reshape(-1)  # a view: perturbing it perturbs x
        columns = []
        for i in range(flat.size):
            original = flat[i]
            flat[i] = original + eps
            plus = np.concatenate([_flat(o) for o in _outputs(fn, inputs)])
            flat[i] = original - eps
            minus = np.concatenate([_flat(o) for o in _outputs(fn, inputs)])
            flat[i] = original
            columns.append((plus - minus) / (2 * eps))
        jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((0, 0)))
    return jacobians


def _analytic_jacobians(fn, inputs):
    outputs = _outputs(fn, inputs)
    differentiable = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    rows = {id(x): [] for x in differentiable}
    for out in outputs:
        # A complex output's real and imaginary parts are rows of their own, seeded with 1 and
        # 1j (PyTorch's convention: the gradient for seed g is that of Re(conj(g) out)).
        units = (1.0, 1j) if out._data.dtype.kind == "c" else (1.0,)
        for j in range(out._data.size * len(units)):
            if not out.requires_grad:
                for x in differentiable:
                    rows[id(x)].append(np.zeros(x._data.size))
                continue
            seed = np.zeros(out.shape, dtype=out.dtype)
            seed.reshape(-1)[j // len(units)] = units[j % len(units)]
            grads = grad(out, differentiable, Tensor(seed, dtype=None), retain_graph=True,
                         allow_unused=True)
            for x, g in zip(differentiable, grads):
                if g is not None and g.shape != x.shape:
                    raise GradcheckError(
                        f"gradient for an input of shape {x.shape} has shape {g.shape}"
                    )
                rows[id(x)].append(np.zeros(x._data.size) if g is None
                                   else np.asarray(g._data, dtype=np.float64).reshape(-1))
    jacobians = []
    for x in inputs:
        if isinstance(x, Tensor) and x.requires_grad:
            r = rows[id(x)]
            jacobians.append(np.stack(r, axis=0) if r else np.zeros((0, x._data.size)))
        else:
            jacobians.append(None)
    return jacobians


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Check ``fn``'s gradients against central differences, in float64.

    Every floating input that requires grad is copied to float64 and perturbed element by
    element; the numeric Jacobian must match the one backward computes within
    ``atol + rtol * |numeric|``.

    Args:
        fn: a function of the inputs returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of them (others, such as index arrays, pass through).
        eps: the finite-difference step.
        atol, rtol: absolute and relative tolerance.
        raise_exception: raise ``GradcheckError`` on failure (else return False).

    Returns:
        True when all gradients agree.

    >>> import deltagrad as dg
    >>> x = dg.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    >>> dg.gradcheck(lambda t: (t.tanh() * t).sum(), (x,))
    True
    """
    inputs = _double(_as_tuple(inputs))
    numeric = _numeric_jacobians(fn, inputs, eps)
    analytic = _analytic_jacobians(fn, inputs)
    for position, (n, a) in enumerate(zip(numeric, analytic)):
        if n is None:
            continue
        bad = np.abs(a - n) > atol + rtol * np.abs(n)
        if bad.any():
            out_index, in_index = (int(v[0]) for v in np.nonzero(bad))
            shape = inputs[position].shape
            element = np.unravel_index(in_index, shape) if shape else ()
            message = (
                f"gradcheck failed for input {position} (shape {shape}) at element "
                f"{tuple(int(e) for e in element)}, output element {out_index}: analytic "
                f"{a[out_index, in_index]:.8g} vs numeric {n[out_index, in_index]:.8g} "
                f"({int(bad.sum())} of {bad.size} Jacobian entries disagree)"
            )
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, seed: int = 0) -> bool:
    """Check second derivatives: gradcheck the map (inputs, v) -> grad(fn(inputs), inputs, v).

    ``v`` (the gradient fed to the outputs) is random unless ``grad_outputs`` is given, and is
    itself differentiated, so both halves of the double-backward are checked.
    """
    inputs = _double(_as_tuple(inputs))
    outputs = _outputs(fn, inputs)
    rng = np.random.default_rng(seed)
    if grad_outputs is None:
        grad_outputs = [Tensor(rng.standard_normal(o.shape), dtype=np.float64) for o in outputs]
    else:
        grad_outputs = _double(_as_tuple(grad_outputs))
    for v in grad_outputs:
        v.requires_grad_(True)
    n_inputs = len(inputs)
    differentiable = [i for i, x in enumerate(inputs)
                      if isinstance(x, Tensor) and x.requires_grad]

    def first_derivatives(*args):
        xs, vs = args[:n_inputs], args[n_inputs:]
        outs = [o for o in _as_tuple(fn(*xs)) if isinstance(o, Tensor)]
        targets = [xs[i] for i in differentiable]
        grads = grad(outs, targets, list(vs), create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, tuple(inputs) + tuple(grad_outputs), eps=eps,
                     atol=atol, rtol=rtol, raise_exception=raise_exception)
