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
    """float64 copies of the inputs (float64 ones, and non-float ones, pass through
    unchanged)."""
    out = []
    for position, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x._data.dtype != np.float64 \
                and x.dtype.kind != "c":
            # NOTE: PyTorch checks in the input's own precision and warns so (a float32
            # check usually fails there); deltagrad checks float64 copies, and warns alike.
            warnings.warn(f"Input #{position} requires gradient and is not a double precision "
                          "floating point or complex. This check will likely fail if all the "
                          "inputs are not of double precision floating point or complex. "
                          "(deltagrad checks float64 copies of them.)", UserWarning,
                          stacklevel=3)
        if isinstance(x, Tensor) and x._data.dtype == np.float64 and x._data.flags.c_contiguous \
                and x._data.flags.writeable:
            # PyTorch calls func with the caller's very tensors (perturbed in place, then
            # put back): xitorch's tests hand in nn.Parameters that func registers in a
            # Module, which a plain copy would not be.
            out.append(x)
        elif isinstance(x, Tensor) and x.dtype.kind == "f":
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
        # A complex input's real and imaginary parts are columns of their own (PyTorch's
        # Wirtinger check), as the analytic gradient's (real, imaginary) pairs.
        steps = (eps, 1j * eps) if flat.dtype.kind == "c" else (eps,)
        for i in range(flat.size * len(steps)):
            original, step = flat[i // len(steps)], steps[i % len(steps)]
            flat[i // len(steps)] = original + step
            plus = np.concatenate([_flat(o) for o in _outputs(fn, inputs)])
            flat[i // len(steps)] = original - step
            minus = np.concatenate([_flat(o) for o in _outputs(fn, inputs)])
            flat[i // len(steps)] = original
            columns.append((plus - minus) / (2 * eps))
        jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((0, 0)))
    return jacobians


def _analytic_jacobians(fn, inputs, check_grad_dtypes: bool = False, nondet_tol=None):
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
                    rows[id(x)].append(np.zeros(x._data.size * (2 if x.is_complex() else 1)))
                continue
            seed = np.zeros(out.shape, dtype=out.dtype)
            seed.reshape(-1)[j // len(units)] = units[j % len(units)]
            grads = grad(out, differentiable, Tensor(seed, dtype=None), retain_graph=True,
                         allow_unused=True)
            if nondet_tol is not None and j == 0:
                # PyTorch's reentrancy check: backward run again with the same input and
                # grad_output must agree within nondet_tol. (PyTorch recomputes every row;
                # here each output's first row, one backward more: a backward that draws
                # random numbers differs there already.)
                again = grad(out, differentiable, Tensor(seed, dtype=None), retain_graph=True,
                             allow_unused=True)
                _check_reentrant(grads, again, nondet_tol)
            for x, g in zip(differentiable, grads):
                if g is not None and g.shape != x.shape:
                    raise GradcheckError(
                        f"gradient for an input of shape {x.shape} has shape {g.shape}"
                    )
                if check_grad_dtypes and g is not None and g.dtype != x.dtype:
                    raise GradcheckError(
                        f"Gradient has dtype mismatch: got {g.dtype}, expected {x.dtype}")
                rows[id(x)].append(np.zeros(x._data.size * (2 if x.is_complex() else 1))
                                   if g is None else _flat(g))
    jacobians = []
    for x in inputs:
        if isinstance(x, Tensor) and x.requires_grad:
            r = rows[id(x)]
            jacobians.append(np.stack(r, axis=0) if r else np.zeros((0, x._data.size)))
        else:
            jacobians.append(None)
    return jacobians


def _check_reentrant(first, second, nondet_tol: float) -> None:
    for a, b in zip(first, second):
        if a is None or b is None or a._data.size == 0:
            continue
        if np.abs(_flat(a) - _flat(b)).max() > nondet_tol:  # (complex: both parts)
            raise GradcheckError(
                "Backward is not reentrant, i.e., running backward with same input and "
                "grad_output multiple times gives different values, although analytical "
                "gradient matches numerical gradient.The tolerance for nondeterminism was "
                f"{nondet_tol}.")


def _check_mul_by_grad_output(fn, inputs) -> None:
    """PyTorch's check that backward scales with grad_output: zero grad_outputs must give
    zero (or no) gradients, of the inputs' dtypes."""
    outputs = [o for o in _outputs(fn, inputs) if o.requires_grad]
    differentiable = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not differentiable:
        raise GradcheckError("no Tensors requiring grad found in input")
    if not outputs:
        return
    grads = grad(outputs, differentiable, [dg.zeros_like(o) for o in outputs],
                 allow_unused=True)
    for g, x in zip(grads, differentiable):
        if g is None:
            continue
        if np.any(np.asarray(g._data) != 0):
            raise GradcheckError("backward not multiplied by grad_output")
        if g.dtype != x.dtype:
            raise GradcheckError("grad is incorrect type")


_BC_WARNING = ("Backwards compatibility: New undefined gradient support checking feature is "
               "enabled by default, but it may break existing callers of this function. If this "
               "is true for you, you can call this function with \"check_undefined_grad=False\" "
               "to disable the feature")


def _check_undefined_grad(fn, inputs) -> None:
    """PyTorch's check that a backward copes with undefined output gradients: each output made
    by a custom ``autograd.Function`` has its backward called with None for them (zeros where
    it materializes gradients); it must return None or zeros. (deltagrad's own ops never see an
    undefined gradient: the engine skips a node that no gradient reaches.)"""
    from .function import _backward_of  # (a sibling tool module)

    for out in _outputs(fn, inputs):
        ctx = (out._attrs or {}).get("ctx") if out._op is not None else None
        if ctx is None or ctx._layout is not None or not hasattr(ctx, "_materialize"):
            continue
        g = dg.zeros_like(out).detach() if ctx._materialize else None
        try:
            with dg.no_grad():
                grads = _backward_of(ctx._function)(ctx, g)
        except RuntimeError as error:
            warnings.warn(_BC_WARNING, stacklevel=3)
            raise GradcheckError(
                "Expected backward function to handle undefined output grads. Please look at "
                "\"Notes about undefined output gradients\" in \"tools/autograd/derivatives.yaml\""
            ) from error
        for gx in grads if isinstance(grads, (tuple, list)) else (grads,):
            if isinstance(gx, Tensor) and np.any(np.asarray(gx._data) != 0):
                warnings.warn(_BC_WARNING, stacklevel=3)
                raise GradcheckError(
                    "Expected all input grads to be undefined or zero when all output grads "
                    "are undefined or zero. Please look at \"Notes about undefined output "
                    "gradients\" in \"tools/autograd/derivatives.yaml\"")


def gradcheck(func, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
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
        func: a function of the inputs returning a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of them (others, such as index arrays, pass through).
        eps: the finite-difference step.
        atol, rtol: absolute and relative tolerance.
        raise_exception: raise ``GradcheckError`` on failure (else return False).
        check_forward_ad: also compare the forward-mode Jacobian (``autograd.forward_ad``)
            with the numeric one; check_backward_ad: compare backward's (the default).
        nondet_tol: how far two backward runs with the same inputs may differ (PyTorch's
            reentrancy check; each output's first row is run twice).
        check_undefined_grad: check that a custom Function's backward copes with undefined
            (None) output gradients, as PyTorch does.
        fast_mode: accepted; deltagrad always checks element by element (fast mode's random
            projection would pass wherever the full check passes).
        Backward is also checked to scale with grad_output (zero in, zero out), as PyTorch's.
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
    fn = func  # (PyTorch's parameter name: gradcheck(func=...))
    _refuse_unsupported(check_batched_grad=check_batched_grad,
                        check_batched_forward_grad=check_batched_forward_grad,
                        masked=bool(masked))
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad "
                             "to be True")
    inputs = _as_tuple(inputs)
    if not any(isinstance(x, Tensor) and x.requires_grad for x in inputs):  # (PyTorch's)
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of them have requires_grad=True.")
    inputs = _double(inputs)
    try:
        numeric = _numeric_jacobians(fn, inputs, eps)
        checks = []
        if check_backward_ad:
            checks.append(("backward", _analytic_jacobians(fn, inputs, check_grad_dtypes,
                                                           nondet_tol)))
        if check_forward_ad:
            checks.append(("forward", _forward_jacobians(fn, inputs)))
        for mode, analytic in checks:
            _agree(numeric, analytic, inputs, atol, rtol, mode, fn)
        if check_backward_ad:
            # PyTorch's further checks, in its order (any failure: False without
            # raise_exception, as PyTorch turns each GradcheckError into False).
            _check_mul_by_grad_output(fn, inputs)
            if check_undefined_grad:
                _check_undefined_grad(fn, inputs)
    except GradcheckError:
        if raise_exception:
            raise
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
        units = (1.0, 1j) if x._data.dtype.kind == "c" else (1.0,)  # (as _numeric_jacobians)
        for element in range(x._data.size * len(units)):
            with forward_ad.dual_level(), enable_grad():
                duals = list(inputs)
                for i in differentiable:
                    tangent = np.zeros(inputs[i].shape, dtype=inputs[i]._data.dtype)
                    if i == position:
                        tangent.reshape(-1)[element // len(units)] = units[element % len(units)]
                    duals[i] = forward_ad.make_dual(inputs[i], _leaf(tangent))
                outputs = [o for o in _as_tuple(fn(*duals)) if isinstance(o, Tensor)]
                parts = []
                for out in outputs:
                    tangent = forward_ad.unpack_dual(out).tangent
                    parts.append(np.zeros(_flat(out).size) if tangent is None else _flat(tangent))
            columns.append(np.concatenate(parts) if parts else np.zeros(0))
        jacobians.append(np.stack(columns, axis=1) if columns else np.zeros((0, 0)))
    return jacobians


def _agree(numeric, analytic, inputs, atol, rtol, mode, fn) -> None:
    for position, (n, a) in enumerate(zip(numeric, analytic)):
        if n is None:
            continue
        bad = np.abs(a - n) > atol + rtol * np.abs(n)
        if bad.any():
            out_index, in_index = (int(v[0]) for v in np.nonzero(bad))
            shape = inputs[position].shape
            if inputs[position].is_complex():  # ((real, imaginary) column pairs)
                in_index //= 2
            element = np.unravel_index(in_index, shape) if shape else ()
            detail = (
                f"gradcheck failed ({mode} mode) for input {position} (shape {shape}) at element "
                f"{tuple(int(e) for e in element)}, output element {out_index}: analytic "
                f"{a[out_index, in_index]:.8g} vs numeric {n[out_index, in_index]:.8g} "
                f"({int(bad.sum())} of {bad.size} Jacobian entries disagree)"
            )
            raise GradcheckError(_pytorch_message(fn, inputs, n, a, out_index, position, mode)
                                 + "\n" + detail)


def _pytorch_message(fn, inputs, n, a, row, position, mode) -> str:
    """PyTorch's opening of the message: the failing output's Jacobian blocks, laid out as
    its (input elements, output elements), numerical first (programs print it)."""
    sizes = [_flat(out).size for out in _outputs(fn, inputs)]  # (only on failure: once more)
    ends = np.cumsum(sizes)
    output = int(np.searchsorted(ends, row, side="right")) if len(sizes) else 0
    start = int(ends[output - 1]) if output else 0
    stop = int(ends[output]) if len(sizes) else n.shape[0]
    blocks = [_leaf(np.ascontiguousarray(m[start:stop].T)) for m in (n, a)]
    forward = "computed with forward mode " if mode == "forward" else ""
    return (f"Jacobian {forward}mismatch for output {output:d} with respect to input "
            f"{position:d},\nnumerical:{blocks[0]}\nanalytical:{blocks[1]}\n")


def _random_grad_output(out: Tensor, noncontiguous: bool) -> Tensor:
    dtype = out.dtype if out.dtype.kind in "fc" else np.float64
    shape = tuple(out.shape)
    spread = noncontiguous and int(np.prod(shape)) > 1
    if spread:  # twice the last dimension, every other value kept (PyTorch's make_tensor)
        shape = (*shape[:-1], 2 * shape[-1])
    value = dg.empty(shape, dtype=dtype)
    if value.dtype.kind == "c":  # (both parts drawn, in PyTorch's order: its stream)
        dg.view_as_real(value).uniform_(-1, 1)
    else:
        value.uniform_(-1, 1)
    return value[..., 1::2] if spread else value


def gradgradcheck(func, inputs, grad_outputs=None, eps: float = 1e-6, atol: float = 1e-5,
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
    fn = func  # (PyTorch's parameter name: gradgradcheck(func=...))
    if grad_outputs is None and seed is None:
        # PyTorch's: uniform in [-1, 1) from the global generator, one per output that
        # requires grad, in the output's dtype (so the stream advances as PyTorch's does).
        outputs = [o for o in _outputs(fn, _as_tuple(inputs)) if o.requires_grad]
        grad_outputs = [_random_grad_output(o, gen_non_contig_grad_outputs) for o in outputs]
    inputs = _double(_as_tuple(inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(seed)
        grad_outputs = [Tensor(rng.standard_normal(o.shape) + 1j * rng.standard_normal(o.shape)
                               if o.is_complex() else rng.standard_normal(o.shape), dtype=None)
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
