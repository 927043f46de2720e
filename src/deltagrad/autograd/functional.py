"""``deltagrad.autograd.functional``: whole Jacobians and Hessians, and vector products with
them (vjp, jvp, hvp, vhp), built on ``grad``, as PyTorch's module of the same name.

Reverse mode only: a Jacobian takes one backward pass per output element, and the products with
a vector on the right (``jvp``, ``hvp``) use the double-backward trick: the vector-Jacobian
product ``u -> J^T u`` is linear in ``u``, so differentiating it with respect to ``u`` in the
direction ``v`` gives ``J v``. That needs every rule on the path to be differentiable, which
``create_graph=True`` provides.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import _engine as dg
from .._engine.api import decompositions as _decompositions
from .._engine.autograd import enable_grad, is_grad_enabled
from . import forward_ad as fwAD  # noqa: F401, N812 - PyTorch's name for it here
from .function import Function

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value, what: str, function: str) -> tuple[bool, tuple]:
    """``(was it a tuple, the tensors as a tuple)``; anything but Tensors raises TypeError."""
    is_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, dg.Tensor):
            where = f"{what} {i}" if is_tuple else what
            raise TypeError(f"The {where} given to {function} must be a Tensor, got "
                            f"{type(item).__name__}")
    return is_tuple, items


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    """Inputs the function's outputs can be differentiated against: with ``create_graph`` an
    input that already requires grad is used itself (so the result stays differentiable with
    respect to it); otherwise a detached copy that requires grad."""
    prepared = []
    for x in inputs:
        if create_graph and x.requires_grad:
            prepared.append(x)
        else:
            prepared.append(x.detach().requires_grad_(True))
    return tuple(prepared)


def _finish(tensors, create_graph: bool):
    """Detach results unless the caller wants to differentiate them further."""
    if create_graph:
        return tensors
    return tuple(None if t is None else t.detach() for t in tensors)


def _tuple_or_single(items: tuple, is_tuple: bool):
    return items if is_tuple else items[0]


def _grads(outputs, inputs, grad_outputs, create_graph: bool, strict: bool, what: str,
           retain_graph: bool = True) -> tuple:
    """``grad`` of the outputs that depend on the graph, zeros (or, ``strict``, an error) for an
    input they do not depend on."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if pairs:
        found = dg.grad([o for o, _ in pairs], list(inputs), [g for _, g in pairs],
                        retain_graph=retain_graph, create_graph=create_graph, allow_unused=True)
    else:
        found = (None,) * len(inputs)
    result = []
    for i, (x, g) in enumerate(zip(inputs, found)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of "
                                   f"input {i}. This is not allowed in strict mode ({what}).")
            g = dg.zeros_like(x)
        result.append(g)
    return tuple(result)


def _check_vector(v, like: tuple, what: str, function: str) -> tuple:
    _, vs = _as_tuple(v, "v", function)
    if len(vs) != len(like):
        raise RuntimeError(f"{function}: v has {len(vs)} tensors but the {what} has "
                           f"{len(like)}")
    for i, (a, b) in enumerate(zip(vs, like)):
        if tuple(a.shape) != tuple(b.shape):
            raise RuntimeError(f"{function}: entry {i} of v has invalid size: should be "
                               f"{tuple(b.shape)} but got {tuple(a.shape)}")
    return vs


def jacobian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: ``d output[i] / d input[j]``.

    Args:
        func: takes the input tensors positionally, returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors (floating dtypes).
        create_graph: make the result differentiable (with respect to ``inputs`` that require
            grad); otherwise it is detached.
        strict: raise if an output does not depend on an input (else that block is zeros).
        vectorize: accepted; the rows are computed one backward pass each either way.
        strategy: "reverse-mode" or "forward-mode" (PyTorch's; with ``vectorize=True`` only,
            and neither ``strict`` nor ``create_graph``). Both give the same Jacobian, computed
            here by reverse-mode sweeps, one per output element.

    Returns:
        For one input and one output, a Tensor of shape ``output.shape + input.shape``; a tuple
        over inputs, over outputs, or (both tuples) a tuple over outputs of tuples over inputs.

    >>> import deltagrad as dg
    >>> from deltagrad.autograd.functional import jacobian
    >>> jacobian(lambda x: x ** 2, dg.tensor([1.0, 3.0]))
    tensor([[2., 0.],
            [0., 6.]])
    """
    _check_strategy(strategy, create_graph, strict, vectorize)
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
        inputs = _prepare(inputs, create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                           "function", "jacobian")
        if vectorize and strict:  # (PyTorch checks it here, after calling func)
            raise RuntimeError("torch.autograd.functional.jacobian: `strict=True` and "
                               "`vectorized=True` are not supported together. Please either set "
                               "`strict=False` or `vectorize=False`.")
        blocks = []
        for i, out in enumerate(outputs):
            rows: list[list] = [[] for _ in inputs]
            n = out.numel()
            for k in range(n):
                seed = np.zeros(n, dtype=out.detach().numpy().dtype)
                seed[k] = 1
                grads = _grads((out,), inputs, (dg.tensor(seed.reshape(out.shape)),),
                               create_graph, strict, f"output {i}, element {k}")
                for j, g in enumerate(grads):
                    rows[j].append(g)
            row_blocks = []
            for j, x in enumerate(inputs):
                shape = tuple(out.shape) + tuple(x.shape)
                if n:
                    block = dg.stack(rows[j]).reshape(shape)
                else:
                    block = dg.zeros(shape, dtype=x.dtype)
                row_blocks.append(block)
            blocks.append(tuple(_finish(row_blocks, create_graph)))
    per_output = tuple(_tuple_or_single(b, inputs_tuple) for b in blocks)
    return _tuple_or_single(per_output, outputs_tuple)


def _check_strategy(strategy: str, create_graph: bool, strict: bool, vectorize: bool) -> None:
    """PyTorch's checks of ``jacobian``'s strategy, in its order and with its error types."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode". '
                             'Hint: If your function has more outputs than inputs, '
                             '"forward-mode" tends to be more performant. Otherwise, prefer to '
                             'use "reverse-mode".')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                'torch.autograd.functional.jacobian: `create_graph=True` and `strategy="forward-'
                'mode"` are not supported together (yet). Please either set `create_graph=False`'
                ' or `strategy="reverse-mode"`.')
        if strict:
            raise RuntimeError(
                'torch.autograd.functional.jacobian: `strict=True` and `strategy="forward-mode"`'
                ' are not supported together (yet). Please either set `strict=False` or '
                '`strategy="reverse-mode"`.')
        if not vectorize:
            raise NotImplementedError("Computing Jacobian using forward-AD or forward-over-"
                                      "reverse Hessian is only implemented for `vectorize=True`.")


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function: the Jacobian of its gradient.

    Args:
        func: takes the input tensors, returns a Tensor with a single element.
        inputs: a Tensor or a tuple of Tensors.
        create_graph, strict, vectorize: as in ``jacobian``.
        outer_jacobian_strategy: "reverse-mode" or "forward-mode" (as ``jacobian``'s
            ``strategy``, for the outer Jacobian).

    Returns:
        For one input, a Tensor of shape ``input.shape + input.shape``; for a tuple of inputs,
        a tuple of tuples: ``result[i][j]`` is ``d2 f / d input[i] d input[j]``.

    >>> import deltagrad as dg
    >>> from deltagrad.autograd.functional import hessian
    >>> hessian(lambda x: (x ** 3).sum(), dg.tensor([1.0, 2.0]))
    tensor([[ 6.,  0.],
            [ 0., 12.]])
    """
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def scalar(*x):
        out = func(*x)
        is_tuple, outs = _as_tuple(out, "outputs of the user-provided function", "hessian")
        if is_tuple and len(outs) != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if outs[0].numel() != 1:
            raise RuntimeError("The Tensor returned by the function given to hessian should "
                               f"contain a single element, got shape {tuple(outs[0].shape)}")
        return outs[0].reshape(())

    def gradient(*x):
        return jacobian(scalar, x, create_graph=True, strict=strict)

    # A tuple over the gradient's parts (one per input) of tuples over the inputs.
    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                      vectorize=vectorize, strategy=outer_jacobian_strategy)
    return result if inputs_tuple else result[0][0]


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Args:
        func: takes the input tensors, returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors.
        v: one tensor per output, shaped like it; may be omitted for a single-element output.
        create_graph: make the results differentiable; strict: as in ``jacobian``.

    Returns:
        ``(func_output, vjp)``, each shaped (and tupled) like the outputs and inputs.
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
        inputs = _prepare(inputs, create_graph)
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                           "function", "vjp")
        if v is None:
            if len(outputs) != 1 or outputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the user-provided function "
                                   "returns a single Tensor with a single element.")
            vs = (dg.ones_like(outputs[0]),)
        else:
            vs = _check_vector(v, outputs, "output", "vjp")
        products = _grads(outputs, inputs, vs, create_graph, strict, "vjp")
    return (_tuple_or_single(_finish(outputs, create_graph), outputs_tuple),
            _tuple_or_single(_finish(products, create_graph), inputs_tuple))


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The Jacobian-vector product ``J v`` of ``func`` at ``inputs`` (double-backward trick).

    Args:
        func: takes the input tensors, returns a Tensor or a tuple of Tensors.
        inputs: a Tensor or a tuple of Tensors.
        v: one tensor per input, shaped like it; may be omitted for a single-element input.
        create_graph: make the results differentiable; strict: as in ``jacobian``.

    Returns:
        ``(func_output, jvp)``, the products shaped (and tupled) like the outputs.
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "jvp")
        inputs = _prepare(inputs, create_graph)
        if v is None:
            if len(inputs) != 1 or inputs[0].numel() != 1:
                raise RuntimeError("The vector v can only be None if the input to the "
                                   "user-provided function is a single Tensor with a single "
                                   "element.")
            vs = (dg.ones_like(inputs[0]),)
        else:
            vs = _check_vector(v, inputs, "input", "jvp")
        outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided "
                                           "function", "jvp")
        # u -> J^T u, recorded; then its derivative in u along v is J v.
        dummies = tuple(dg.zeros_like(out, requires_grad=True) for out in outputs)
        transposed = _grads(outputs, inputs, dummies, True, strict, "jvp")
        products = _grads(transposed, dummies, vs, create_graph, strict, "jvp")
    return (_tuple_or_single(_finish(outputs, create_graph), outputs_tuple),
            _tuple_or_single(_finish(products, create_graph), outputs_tuple))


def _scalar_output(func: Callable, inputs: tuple, function: str):
    is_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function",
                                  function)
    if len(outputs) != 1 or outputs[0].numel() != 1:
        raise RuntimeError(f"The function given to {function} should return a single Tensor "
                           "with a single element")
    return is_tuple, outputs


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The vector-Hessian product ``v^T H`` of a scalar function at ``inputs``.

    Returns:
        ``(func_output, vhp)``, the products shaped (and tupled) like the inputs.
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "vhp")
        inputs = _prepare(inputs, create_graph)
        outputs_tuple, outputs = _scalar_output(func, inputs, "vhp")
        vs = _vector_for_inputs(v, inputs, "vhp")
        gradient = _grads(outputs, inputs, (dg.ones_like(outputs[0]),), True, strict, "vhp")
        products = _grads(gradient, inputs, vs, create_graph, strict, "vhp")
    return (_tuple_or_single(_finish(outputs, create_graph), outputs_tuple),
            _tuple_or_single(_finish(products, create_graph), inputs_tuple))


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """The Hessian-vector product ``H v`` of a scalar function at ``inputs`` (through the
    double-backward trick, so it is ``H v`` even where ``H`` is not symmetric).

    Returns:
        ``(func_output, hvp)``, the products shaped (and tupled) like the inputs.
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hvp")
        inputs = _prepare(inputs, create_graph)
        outputs_tuple, outputs = _scalar_output(func, inputs, "hvp")
        vs = _vector_for_inputs(v, inputs, "hvp")
        gradient = _grads(outputs, inputs, (dg.ones_like(outputs[0]),), True, strict, "hvp")
        dummies = tuple(dg.zeros_like(x, requires_grad=True) for x in inputs)
        transposed = _grads(gradient, inputs, dummies, True, strict, "hvp")
        products = _grads(transposed, dummies, vs, create_graph, strict, "hvp")
    return (_tuple_or_single(_finish(outputs, create_graph), outputs_tuple),
            _tuple_or_single(_finish(products, create_graph), inputs_tuple))


def _vector_for_inputs(v, inputs: tuple, function: str) -> tuple:
    if v is None:
        if len(inputs) != 1 or inputs[0].numel() != 1:
            raise RuntimeError("The vector v can only be None if the input to the user-provided "
                               "function is a single Tensor with a single element.")
        return (dg.ones_like(inputs[0]),)
    return _check_vector(v, inputs, "input", function)


# PyTorch's private helpers of this module, which libraries import (pytorch-minimize builds its
# constraint Jacobians from them).


def _construct_standard_basis_for(tensors: tuple, tensor_numels: tuple) -> tuple:
    """The rows of the ``N x N`` identity (``N = sum(tensor_numels)``) split by columns: one
    ``N x tensor_numels[i]`` block per tensor, in that tensor's dtype (PyTorch's helper)."""
    total = sum(tensor_numels)
    blocks, start = [], 0
    for tensor, numel in zip(tensors, tensor_numels):
        block = dg.zeros(total, numel, dtype=tensor.dtype)
        block[start:start + numel] = dg.eye(numel, dtype=tensor.dtype)
        blocks.append(block)
        start += numel
    return tuple(blocks)


def _grad_postprocess(inputs, create_graph: bool):
    """``inputs`` (tensors, or tuples of them) detached unless ``create_graph``."""
    if isinstance(inputs[0], dg.Tensor):
        return inputs if create_graph else tuple(x.detach() for x in inputs)
    return tuple(_grad_postprocess(x, create_graph) for x in inputs)


def _tuple_postprocess(result, to_unpack):
    """Unwrap the one-element tuples made for inputs (and outputs) that were not tuples:
    ``to_unpack`` is one flag, or ``(outputs were a tuple, inputs were a tuple)``."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            result = tuple(item[0] for item in result)
        return result if to_unpack[0] else result[0]
    return result if to_unpack else result[0]


# ----------------------------------------------------------------------------------------------
# linalg.eig's derivatives. The engine's eig hands a call that needs them to this Function (the
# engine cannot import autograd: decompositions.DIFFERENTIABLE_EIG); its rules are PyTorch's
# (linalg_eig_backward / linalg_eig_jvp), in NumPy: first order and forward mode, no double
# backward (the complex solve they need has no gradient rule in the engine yet).


def _complex_of(a: np.ndarray) -> np.dtype:
    return np.dtype(np.complex64 if a.dtype in (np.float32, np.complex64) else np.complex128)


def _mh(a: np.ndarray) -> np.ndarray:
    return np.swapaxes(a.conj(), -1, -2)


def _eigenvalue_gaps(values: np.ndarray) -> np.ndarray:
    """E[..., i, j] = L[j] - L[i], with ones on the diagonal (the divisor there is unused)."""
    gaps = values[..., None, :] - values[..., :, None]
    index = np.arange(values.shape[-1])
    gaps[..., index, index] = 1
    return gaps


class _NoSecondOrder(Function):
    """linalg.eig's gradient under create_graph: a constant linked to what it was computed
    from, so that differentiating it raises instead of silently giving zero."""

    @staticmethod
    def forward(ctx, *linked, value):
        return dg.from_numpy(value)

    @staticmethod
    def backward(ctx, g):
        raise NotImplementedError("linalg.eig: double backward (differentiating its gradient) "
                                  "is not supported in deltagrad")


class LinalgEig(Function):
    """``linalg.eig`` of an ``A`` that requires grad: ``(L, V)`` with their VJP and JVP."""

    _checks_saved_only = True  # (in-place checks: L and V, never A; autograd/function.py)

    @staticmethod
    def forward(ctx, A):  # noqa: N803
        a = A.detach().numpy()
        values, vectors = np.linalg.eig(a)  # (LAPACK's geev: unit eigenvectors)
        complex_dtype = _complex_of(a)
        ctx.values, ctx.vectors = values.astype(complex_dtype), vectors.astype(complex_dtype)
        ctx.real_input = a.dtype.kind == "f"
        outputs = dg.from_numpy(ctx.values), dg.from_numpy(ctx.vectors)
        # The outputs saved, not A (PyTorch's rule reads L and V alone): a backward after A
        # changed in place runs, one after L or V changed refuses, as PyTorch's.
        ctx.save_for_backward(*outputs)
        return outputs

    @staticmethod
    def backward(ctx, g_values, g_vectors):
        values, vectors = (t.detach().numpy() for t in ctx.saved_tensors)
        inner = np.zeros(vectors.shape, vectors.dtype)
        if g_vectors is not None:
            inner = _mh(vectors) @ g_vectors.detach().numpy().astype(vectors.dtype)
            diagonal = np.diagonal(inner, 0, -2, -1)
            # Each eigenvector is defined up to a phase: a loss that depends on it has no
            # gradient (PyTorch's check and tolerance).
            if not np.allclose(diagonal.imag, 0, rtol=1e-2, atol=1e-2):
                raise RuntimeError(
                    "linalg_eig_backward: The eigenvectors in the complex case are specified up "
                    "to multiplication by e^{i phi}. The specified loss function depends on this "
                    "quantity, so it is ill-defined.")
            inner = inner - _mh(vectors) @ (vectors * diagonal.real[..., None, :])
        inner = inner / _eigenvalue_gaps(values).conj()
        index = np.arange(values.shape[-1])
        inner[..., index, index] = 0 if g_values is None else g_values.detach().numpy()
        grad = np.linalg.solve(_mh(vectors), inner @ _mh(vectors))  # V^-H inner V^H
        grad = grad.real.copy() if ctx.real_input else grad
        if is_grad_enabled():  # (create_graph: linked, so that differentiating it raises)
            upstream = [g for g in (g_values, g_vectors) if g is not None]
            return _NoSecondOrder.apply(*upstream, *ctx.saved_tensors, value=grad)
        return dg.from_numpy(grad)

    @staticmethod
    def jvp(ctx, tangent):
        # dP = V^-1 dA V; dL = diag(dP); dV = V (dP / E off the diagonal), less V times the
        # real part of diag(V^H dV) (the eigenvectors keep unit norm): PyTorch's normalisation.
        values, vectors = ctx.values, ctx.vectors
        d_a = tangent.detach().numpy().astype(vectors.dtype)
        projected = np.linalg.solve(vectors, d_a @ vectors)
        d_values = np.diagonal(projected, 0, -2, -1).copy()
        off = projected / _eigenvalue_gaps(values)
        index = np.arange(values.shape[-1])
        off[..., index, index] = 0
        d_vectors = vectors @ off
        d_vectors -= vectors * np.diagonal(_mh(vectors) @ d_vectors, 0, -2, -1).real[..., None, :]
        return dg.from_numpy(d_values), dg.from_numpy(d_vectors)


_decompositions.DIFFERENTIABLE_EIG.append(LinalgEig.apply)
