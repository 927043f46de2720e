"""Numeric gradient checking: compare every VJP with central differences in float64."""

from __future__ import annotations

import warnings

import numpy as np

from .. import _engine as dg
from .._engine.api.backward import grad
from .._engine.autograd import enable_grad
from .._engine.tensor import Tensor, _leaf

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError, AssertionError):
    """Analytic and numeric gradients disagree; the message names input, index and values.
    A RuntimeError, as PyTorch's (and an AssertionError, as deltagrad's has always been)."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _double(inputs):
    """float64 copies of the inputs (non-float inputs pass through unchanged)."""
    out = []
    for position, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x.dtype != np.float64 \
                and x.dtype.kind != "c":
            # NOTE: PyTorch checks in the input's own precision and warns so (a float32
            # check usually fails there); deltagrad checks float64 copies, and warns alike.
            warnings.warn(f"Input #{position} requires gradient and is not a double precision "
                          "floating point or complex. This check will likely fail if all the "
                          "inputs are not of double precision floating point or complex. "
                          "(deltagrad checks float64 copies of them.)", UserWarning,
                          stacklevel=3)
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


def _analytic_jacobians(fn, inputs, check_grad_dtypes: bool = False):
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
                if check_grad_dtypes and g is not None and g.dtype != x.dtype:
                    raise GradcheckError(
                        f"Gradient has dtype mismatch: got {g.dtype}, expected {x.dtype}")
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
              raise_exception: bool = True, *, nondet_tol: float = 0.0,
              check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
              check_batched_grad: bool = False, check_batched_forward_grad: bool = False,
              check_forward_ad: bool = False, check_backward_ad: bool = True,
              fast_mode: bool = False, masked: bool | None = None) -> bool:
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
        check_forward_ad: also compare the forward-mode Jacobian (``autograd.forward_ad``)
            with the numeric one; check_backward_ad: compare backward's (the default).
        nondet_tol, check_undefined_grad, fast_mode: PyTorch's options, accepted; deltagrad's
            backward is deterministic and always checked element by element (fast mode's
            random projection would pass wherever the full check passes).
        check_grad_dtypes: also require each gradient's dtype to be its input's.
        check_batched_grad, check_batched_forward_grad, masked: not supported (a clear
            error when set), rather than a check that silently never runs.

    Returns:
        True when all gradients agree.

    >>> import deltagrad as dg
    >>> x = dg.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    >>> dg.gradcheck(lambda t: (t.tanh() * t).sum(), (x,))
    True
    """
    _refuse_unsupported(check_batched_grad=check_batched_grad,
                        check_batched_forward_grad=check_batched_forward_grad,
                        masked=bool(masked))
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad "
                             "to be True")
    inputs = _double(_as_tuple(inputs))
    numeric = _numeric_jacobians(fn, inputs, eps)
    checks = []
    if check_backward_ad:
        checks.append(("backward", _analytic_jacobians(fn, inputs, check_grad_dtypes)))
    if check_forward_ad:
        checks.append(("forward", _forward_jacobians(fn, inputs)))
    for mode, analytic in checks:
        if not _agree(numeric, analytic, inputs, atol, rtol, mode, raise_exception):
            return False
    return True


def _refuse_unsupported(**flags) -> None:
    for name, value in flags.items():
        if value:
            raise NotImplementedError(f"gradcheck: {name}=True is not supported by deltagrad")


def _forward_jacobians(fn, inputs):
    """The Jacobians forward-mode AD gives: one unit tangent per input element, the outputs'
    tangents as that element's column (PyTorch's ``check_forward_ad``)."""
    from . import forward_ad  # a sibling tool module, imported when used

    differentiable = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    jacobians = []
    for position, x in enumerate(inputs):
        if position not in differentiable:
            jacobians.append(None)
            continue
        columns = []
        for element in range(x._data.size):
            with forward_ad.dual_level(), enable_grad():
                duals = list(inputs)
                for i in differentiable:
                    tangent = np.zeros(inputs[i].shape, dtype=inputs[i]._data.dtype)
                    if i == position:
                        tangent.reshape(-1)[element] = 1.0
                    duals[i] = forward_ad.make_dual(inputs[i], _leaf(tangent))
                outputs = [o for o in _as_tuple(fn(*duals)) if isinstance(o, Tensor)]
                parts = []
                for out in outputs:
                    tangent = forward_ad.unpack_dual(out).tangent
                    parts.append(np.zeros(_flat(out).size) if tangent is None else _flat(tangent))
            columns.append(np.concatenate(parts) if parts else np.zeros(0))
        jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((0, 0)))
    return jacobians


def _agree(numeric, analytic, inputs, atol, rtol, mode, raise_exception) -> bool:
    for position, (n, a) in enumerate(zip(numeric, analytic)):
        if n is None:
            continue
        bad = np.abs(a - n) > atol + rtol * np.abs(n)
        if bad.any():
            out_index, in_index = (int(v[0]) for v in np.nonzero(bad))
            shape = inputs[position].shape
            element = np.unravel_index(in_index, shape) if shape else ()
            message = (
                f"gradcheck failed ({mode} mode) for input {position} (shape {shape}) at element "
                f"{tuple(int(e) for e in element)}, output element {out_index}: analytic "
                f"{a[out_index, in_index]:.8g} vs numeric {n[out_index, in_index]:.8g} "
                f"({int(bad.sum())} of {bad.size} Jacobian entries disagree)"
            )
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def _random_grad_output(out: Tensor, noncontiguous: bool) -> Tensor:
    dtype = out.dtype if out.dtype.kind in "fc" else np.float64
    shape = tuple(out.shape)
    spread = noncontiguous and int(np.prod(shape)) > 1
    if spread:  # twice the last dimension, every other value kept (PyTorch's make_tensor)
        shape = (*shape[:-1], 2 * shape[-1])
    value = dg.empty(shape, dtype=dtype)
    if value.dtype.kind == "c":
        dg.view_as_real(value).uniform_(-1, 1)
        # NOTE: the engine has no complex leaves that require grad: the draw keeps the global
        # stream in step with PyTorch's, and its real part is the (real) cotangent checked.
        value = dg.real(value).contiguous()
    else:
        value.uniform_(-1, 1)
    return value[..., 1::2] if spread else value


def gradgradcheck(fn, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, raise_exception: bool = True, seed: int | None = None, *,
                  gen_non_contig_grad_outputs: bool = False, nondet_tol: float = 0.0,
                  check_undefined_grad: bool = True, check_grad_dtypes: bool = False,
                  check_batched_grad: bool = False, check_fwd_over_rev: bool = False,
                  check_rev_over_rev: bool = True, fast_mode: bool = False,
                  masked: bool = False) -> bool:
    """Check second derivatives: gradcheck the map (inputs, v) -> grad(fn(inputs), inputs, v).

    ``v`` (the gradient fed to the outputs) is random unless ``grad_outputs`` is given, and is
    itself differentiated, so both halves of the double-backward are checked. The random
    ``v`` is PyTorch's (uniform in [-1, 1), drawn from the global generator); ``seed`` (a
    deltagrad extra) draws standard normals from a NumPy generator of that seed instead.
    ``check_rev_over_rev`` / ``check_fwd_over_rev`` check that map with backward / forward
    mode (``gradcheck``'s ``check_backward_ad`` / ``check_forward_ad``); the other keywords
    are PyTorch's, as in ``gradcheck`` (non-contiguous grad outputs hold the same values).
    """
    if grad_outputs is None and seed is None:
        # PyTorch's: uniform in [-1, 1) from the global generator, one per output that
        # requires grad, in the output's dtype (so the stream advances as PyTorch's does).
        outputs = [o for o in _outputs(fn, _as_tuple(inputs)) if o.requires_grad]
        grad_outputs = [_random_grad_output(o, gen_non_contig_grad_outputs) for o in outputs]
    inputs = _double(_as_tuple(inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = [Tensor(rng.standard_normal(o.shape), dtype=np.float64)
                        for o in _outputs(fn, inputs)]
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
                     atol=atol, rtol=rtol, raise_exception=raise_exception,
                     check_grad_dtypes=check_grad_dtypes, check_batched_grad=check_batched_grad,
                     check_forward_ad=check_fwd_over_rev, check_backward_ad=check_rev_over_rev,
                     masked=masked)
