"""``deltagrad.func``: PyTorch's ``torch.func`` function transforms, on deltagrad's reverse-mode
autograd: ``functional_call``, ``stack_module_state``, ``grad``, ``grad_and_value``, ``vjp``,
``jacrev``, ``hessian`` and ``vmap``.

How they are built (the values are PyTorch's; the costs are not):

- ``grad``, ``vjp`` and ``jacrev`` run the function on aliases of the inputs and call
  ``autograd.grad``, keeping the graph (``create_graph``) while gradients are enabled, so the
  transforms nest (``grad(grad(f))``, ``jacrev(jacrev(f))``) and gradients still reach tensors
  the function captures. A result keeps a graph only when it depends on something outside the
  transform that requires grad, as in PyTorch.
- ``jacrev`` takes one vector-Jacobian product per output element (PyTorch vectorizes them with
  vmap); ``hessian`` is ``jacfwd(jacrev(f))`` as PyTorch's, both Jacobians in reverse mode.
- ``vmap`` is a Python loop over the mapped dimension that stacks the results: the same values
  as PyTorch's batching rules, at the cost of one call per batch element. Random draws inside
  are detected through the default generator's state: ``randomness="error"`` raises as PyTorch
  does, ``"same"`` replays the same draws for every element, ``"different"`` draws anew.

- ``jvp`` and ``linearize`` are forward mode built on reverse mode, as
  ``autograd.forward_ad`` is: the VJP of the outputs with a symbolic cotangent u,
  ``g(u) = J^T u``, is linear in u, and its VJP along the tangent is ``J t``. Exact, at two
  backward sweeps; custom ``autograd.Function``s in the path need a differentiable backward.
  ``jacfwd`` is ``jacrev`` (same values) with jvp's checks (integer primals refused, integer
  outputs' Jacobians zeros of their dtype).
- An in-place change of a tensor the function captured raises inside grad-type transforms,
  as PyTorch's (``_func_captured.py``: how captured tensors are found, and its limits).
- ``vmap`` runs an in-place change of an unmapped tensor once, and refuses one whose examples
  write different values (``_func_vmap.py``: a mapped value written alike by every example
  is taken as one change; PyTorch refuses it).
- Deliberate divergences (tests/parity/test_s19_FA_func.py's KNOWN): ``vmap`` runs
  ``.item()`` once per element where PyTorch refuses it, and an
  ``autograd.Function`` without ``setup_context`` or a vmap rule works under the transforms.

``vmap`` and the tree helpers live in ``_func_vmap.py``. ``functionalize`` and
``debug_unwrap`` are the identity here: no transform wraps tensors, and eager mutations give
the values a functionalized program gives.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from . import _engine as dg
from ._engine.tensor import Tensor
from ._func_captured import call
from ._func_vmap import _flatten, _unflatten, vmap
from .nn.module import Module
from .nn.normalization import _BatchNorm
from .nn.utils_stateless import call_with

__all__ = ["debug_unwrap", "functional_call", "functionalize", "grad", "grad_and_value",
           "hessian", "jacfwd", "jacrev", "jvp", "linearize", "rearrange",
           "replace_all_batch_norm_modules_", "stack_module_state", "vjp", "vmap"]


# ----------------------------------------------------------------------------------------------
# Module state as arguments.


def functional_call(module: Module, parameter_and_buffer_dicts, args=None,
                    kwargs: dict[str, Any] | None = None, *, tie_weights: bool = True,
                    strict: bool = False):
    """Call ``module(*args, **kwargs)`` with the given tensors standing in for its parameters
    and buffers of those names (PyTorch's ``torch.func.functional_call``).

    Args:
        module: the module to call.
        parameter_and_buffer_dicts: a dict of dotted names (``"0.weight"``) to tensors, or a
            sequence of such dicts (no name in two of them). Names not given keep the module's
            own tensors.
        args: the positional arguments (a tuple, or one value).
        kwargs: the keyword arguments.
        tie_weights: a tensor shared under several names takes the value given for any.
        strict: require exactly the module's parameter and buffer names.

    Returns:
        What the module returns; gradients flow to the given tensors.

    Raises:
        ValueError: a bad ``parameter_and_buffer_dicts`` or a name in several dicts.

    >>> import deltagrad as dg
    >>> layer = dg.nn.Linear(2, 1, bias=False)
    >>> functional_call(layer, {"weight": dg.tensor([[1.0, 2.0]])}, (dg.tensor([3.0, 4.0]),))
    tensor([11.])
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        tensors = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be "
                             "dictionaries")
        counts: dict[str, int] = {}
        for d in parameter_and_buffer_dicts:
            for key in d:
                counts[key] = counts.get(key, 0) + 1
        repeated = [key for key, count in counts.items() if count > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of "
                             "functional call is ambiguous")
        tensors = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple "
                         f"of dicts, but got {type(parameter_and_buffer_dicts)}")
    return call_with(module, tensors, args, kwargs, tie_weights=tie_weights, strict=strict)


def stack_module_state(models) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """Stack the parameters and buffers of same-class models along a new first dimension (for
    ``vmap`` over an ensemble with ``functional_call``).

    Returns:
        ``(params, buffers)``: dicts of stacked tensors; stacked parameters are new leaves that
        require grad when the models' do.

    Raises:
        RuntimeError: no models, mixed training modes, classes or ``requires_grad``.
    """
    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({model.training for model in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    if len({type(model) for model in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(tensors: list[Tensor], name: str) -> Tensor:
        flags = {t.requires_grad for t in tensors}
        if len(flags) != 1:
            raise RuntimeError(f"Expected {name} from each model to have the same "
                               ".requires_grad")
        result = dg.stack(tensors)
        return result.detach().requires_grad_() if flags == {True} else result

    all_params = [dict(model.named_parameters()) for model in models]
    all_buffers = [dict(model.named_buffers()) for model in models]
    params = {k: stacked([p[k] for p in all_params], k) for k in all_params[0]}
    buffers = {k: stacked([b[k] for b in all_buffers], k) for k in all_buffers[0]}
    return params, buffers


# ----------------------------------------------------------------------------------------------
# Reverse-mode transforms.


def _alias(x, where: str) -> Tensor:
    """A tensor equal to ``x`` that gradients can be taken with respect to, alone."""
    if not isinstance(x, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    if x.dtype.kind not in "fc":
        raise RuntimeError("only Tensors of floating point dtype can require gradients")
    if x.requires_grad:
        return x.clone()  # a node of its own on x's graph (an outer transform's, say)
    return x.detach().requires_grad_(True)


def _depends_outside(outputs: list, aliases: list) -> bool:
    """Whether any output's graph reaches a tensor that requires grad other than through our
    aliases: then the results keep their graph (as PyTorch's keep theirs)."""
    stop = {id(a) for a in aliases if a.is_leaf}  # (a view alias leads outside: walk on)
    stack = [t for t in outputs if isinstance(t, Tensor) and t.requires_grad]
    seen: set[int] = set()
    while stack:
        t = stack.pop()
        if id(t) in seen or id(t) in stop:
            continue
        seen.add(id(t))
        if t.is_leaf:
            return True
        stack.extend(x for x in t._inputs if isinstance(x, Tensor) and x.requires_grad)
    return False


def _finish(tensors: list, keep: bool) -> list:
    if keep:
        return tensors
    return [t.detach() if isinstance(t, Tensor) else t for t in tensors]


def _finish_each(tensors: list, aliases: list, outer: bool) -> list:
    """Each result keeps its graph where it itself depends on a tensor outside (PyTorch's
    per-output requires_grad: grad(f, argnums=(0, 1)) can give one of each)."""
    return [_finish([t], outer and _depends_outside([t], aliases))[0] for t in tensors]


def _argnums_tuple(argnums, count: int, where: str) -> tuple[int, ...]:
    numbers = argnums if isinstance(argnums, tuple) else (argnums,)
    if not numbers:
        raise RuntimeError(f"{where}: argnums must be non-empty")
    result = []
    for number in numbers:
        if not isinstance(number, int):
            raise RuntimeError(f"{where}: argnums must be int or Tuple[int, ...], got "
                               f"{type(number).__name__}")
        if not -count <= number < count:
            raise RuntimeError(f"Got argnum={number}, but only {count} positional inputs")
        result.append(number % count)
    if len(set(result)) != len(result):
        raise RuntimeError(f"argnums elements must be unique, got {argnums}")
    return tuple(result)


def _split_aux(output, has_aux: bool, where: str):
    """``(output, aux)``: f's output and, with ``has_aux``, the auxiliary value it returned
    beside it (f must then return a pair, as in PyTorch)."""
    if not has_aux:
        return output, None
    if not (isinstance(output, tuple) and len(output) == 2):
        raise RuntimeError(f"{where}: output of function f should be a tuple: "
                           "(output, aux) if has_aux is True")
    return output


def _finish_aux(aux, aliases: list, outer_grad: bool):
    """``aux`` as PyTorch returns it: its tensors detached from the transform's inputs, so
    they keep a graph only where they depend on something outside that requires grad (a tree
    of Tensors only: PyTorch refuses anything else)."""
    leaves, spec = _flatten(aux)
    for leaf in leaves:
        if not isinstance(leaf, Tensor):
            raise RuntimeError(f"Expected tensors, got unsupported type {type(leaf)}")
    finished = [leaf if not isinstance(leaf, Tensor) or (
        outer_grad and _depends_outside([leaf], aliases)) else leaf.detach() for leaf in leaves]
    return _unflatten(spec, finished)


class _Prepared:
    """The call of ``func`` with aliases at ``argnums``: the flat aliases and how to rebuild
    the differentiated arguments' structure from a flat list of gradients."""

    def __init__(self, args: tuple, argnums, where: str) -> None:
        self.positions = _argnums_tuple(argnums, len(args), where)
        self.single = not isinstance(argnums, tuple)
        self.aliases: list[Tensor] = []
        self.specs = []
        args = list(args)
        for position in self.positions:
            leaves, spec = _flatten(args[position])
            aliased = [_alias(leaf, where) for leaf in leaves]
            self.aliases.extend(aliased)
            self.specs.append((spec, len(aliased)))
            args[position] = _unflatten(spec, aliased)
        self.args = tuple(args)

    def structure(self, flat: list):
        trees, offset = [], 0
        for spec, count in self.specs:
            trees.append(_unflatten(spec, flat[offset:offset + count]))
            offset += count
        return trees[0] if self.single else tuple(trees)


def _tensor_outputs(func: Callable, prepared: _Prepared, has_aux: bool, where: str):
    """``func`` run on the prepared aliases: its flat outputs, their tree spec and its aux;
    every output must be a Tensor (PyTorch's RuntimeError otherwise)."""
    output, aux = _split_aux(call(func, prepared.args), has_aux, where)
    outputs, output_spec = _flatten(output)
    for item in outputs:
        if not isinstance(item, Tensor):
            raise RuntimeError(f"{where}: Expected f to be a function that has only Tensors "
                               f"as outputs, got {type(item).__name__}")
    return outputs, output_spec, aux


def _float_outputs(outputs: list) -> None:
    """PyTorch's vjp (and jacrev) refuse integer and boolean outputs."""
    for out in outputs:
        if out.dtype.kind not in "fc":
            raise RuntimeError("vjp(f, ...): All outputs of f must be floating-point or complex "
                               f"Tensors, got Tensor with dtype {out.dtype}")


def _gradients(outputs: list, inputs: list, cotangents: list, create_graph: bool) -> list:
    grads = dg.grad(outputs, inputs, grad_outputs=cotangents, retain_graph=True,
                    create_graph=create_graph, allow_unused=True)
    return [dg.zeros_like(x) if g is None else g for g, x in zip(grads, inputs)]


def grad_and_value(func: Callable, argnums: int | tuple[int, ...] = 0,
                   has_aux: bool = False) -> Callable:
    """``func``'s gradient with respect to the arguments at ``argnums``, and its value
    (PyTorch's ``torch.func.grad_and_value``).

    Args:
        func: returns a scalar Tensor (or ``(scalar, aux)`` with ``has_aux``).
        argnums: the differentiated positional argument(s); each may be a tree (tuple, list,
            dict) of floating tensors, and its gradient has the same structure.
        has_aux: ``func`` also returns auxiliary data, passed through.

    Returns:
        A function returning ``(gradient, value)`` (``(gradient, (value, aux))`` with
        ``has_aux``); a tuple of gradients when ``argnums`` is a tuple.

    >>> import deltagrad as dg
    >>> g, value = grad_and_value(lambda x: (x ** 2).sum())(dg.tensor([1.0, 2.0]))
    >>> g, value
    (tensor([2., 4.]), tensor(5.))
    """

    def wrapper(*args, **kwargs):
        where = "grad_and_value(f)(*args)"
        outer_grad = dg.is_grad_enabled()
        with dg.enable_grad():
            prepared = _Prepared(args, argnums, where)
            output = call(func, prepared.args, kwargs)  # (captured tensors: read-only)
            output, aux = _split_aux(output, has_aux, where)
            if not isinstance(output, Tensor):
                raise RuntimeError(f"{where}: Expected f(*args) to return a Tensor, got "
                                   f"{type(output).__name__}")
            if output.ndim != 0:
                raise RuntimeError(f"{where}: Expected f(*args) to return a scalar Tensor, got "
                                   f"tensor with {output.ndim} dims. Maybe you wanted to use "
                                   "the vjp or jacrev APIs instead?")
            if output.requires_grad:
                grads = _gradients([output], prepared.aliases, [None], create_graph=outer_grad)
            else:  # nothing depends on the inputs
                grads = [dg.zeros_like(x) for x in prepared.aliases]
        grads = _finish_each(grads, prepared.aliases, outer_grad)
        value = _finish_each([output], prepared.aliases, outer_grad)[0]
        result = prepared.structure(grads)
        if has_aux:
            return result, (value, _finish_aux(aux, prepared.aliases, outer_grad))
        return result, value

    return wrapper


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """The gradient of a scalar function (PyTorch's ``torch.func.grad``): ``grad(f)(x)`` is
    ``df/dx`` at ``x``. Arguments as ``grad_and_value``; returns the gradient (and ``aux``).

    >>> import deltagrad as dg
    >>> grad(grad(lambda x: x ** 3))(dg.tensor(2.0))   # d2/dx2 x^3 = 6x
    tensor(12.)
    """
    both = grad_and_value(func, argnums, has_aux)

    def wrapper(*args, **kwargs):
        gradient, value = both(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapper


def vjp(func: Callable, *primals, has_aux: bool = False):
    """``func(*primals)`` and a function computing vector-Jacobian products with it (PyTorch's
    ``torch.func.vjp``).

    Args:
        func: returns a Tensor or a tree of Tensors (``(outputs, aux)`` with ``has_aux``).
        *primals: the inputs (tensors or trees of tensors), all differentiated.
        has_aux: ``func`` also returns auxiliary data.

    Returns:
        ``(output, vjp_fn)`` (``(output, vjp_fn, aux)`` with ``has_aux``); ``vjp_fn(
        cotangents)``, cotangents shaped like the output, returns a tuple with one gradient
        (tree) per primal. It may be called several times.
    """
    where = "vjp(f, *primals)"
    outer_grad = dg.is_grad_enabled()
    with dg.enable_grad():
        prepared = _Prepared(primals, tuple(range(len(primals))), where)
        outputs, output_spec, aux = _tensor_outputs(func, prepared, has_aux, where)
        _float_outputs(outputs)

    def vjp_fn(cotangents, retain_graph=True, create_graph=None):
        # PyTorch's signature: a second positional argument is retain_graph, so cotangents of
        # a two-output function passed as two arguments fail the structure check below
        # (RuntimeError, as PyTorch), not Python's argument count (TypeError). The graph is
        # always kept here (retain_graph=False frees nothing).
        given, spec = _flatten(cotangents)
        if spec != output_spec:  # (strict as PyTorch: a bare tensor for a 1-tuple is refused)
            raise RuntimeError("Expected pytree structure of cotangents to be the same as "
                               "pytree structure of outputs to the function")
        for g, out in zip(given, outputs):
            if tuple(g.shape) != tuple(out.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output has a shape of "
                                   f"{tuple(g.shape)} and output has a shape of "
                                   f"{tuple(out.shape)}.")
        for flag in (retain_graph, create_graph):  # (bools, as PyTorch's argument parser)
            if flag is not None and not isinstance(flag, bool):
                import operator
                operator.index(flag)
        # (None: whether grad mode is on at this call, as PyTorch)
        create = dg.is_grad_enabled() if create_graph is None else bool(create_graph)
        with dg.enable_grad():
            pairs = [(out, g) for out, g in zip(outputs, given) if out.requires_grad]
            if pairs:
                grads = _gradients([p[0] for p in pairs], prepared.aliases,
                                   [p[1] for p in pairs], create_graph=create)
            else:
                grads = [dg.zeros_like(x) for x in prepared.aliases]
        result = prepared.structure(_finish_each(grads, prepared.aliases, create))
        return result

    result_output = _unflatten(output_spec, _finish_each(outputs, prepared.aliases, outer_grad))
    if has_aux:
        return result_output, vjp_fn, _finish_aux(aux, prepared.aliases, outer_grad)
    return result_output, vjp_fn


def _transposed(func: Callable, primals: tuple, where: str, has_aux: bool = False):
    """Run ``func`` on aliases of ``primals`` and build ``g(u) = J^T u`` for symbolic
    cotangents ``u`` (one per output): what ``jvp`` and ``linearize`` differentiate in ``u``."""
    for leaf in _flatten(primals)[0]:
        if isinstance(leaf, Tensor) and leaf.dtype.kind not in "fc":
            raise ValueError("Expected primal to be floating point or complex, but got: "
                             f"{leaf.dtype}")
    prepared = _Prepared(primals, tuple(range(len(primals))), where)
    outputs, output_spec, aux = _tensor_outputs(func, prepared, has_aux, where)
    # The cotangents u are ones, not zeros: J^T u is linear in u, but a rule may branch on
    # u's values (logcumsumexp's log-space rule splits u by sign; a sparse rule keeps u's
    # nonzeros), and at u = 0 every branch is the constant one: jvp of logcumsumexp was 0.
    dummies = [dg.ones_like(out, requires_grad=out.dtype.kind in "fc") for out in outputs]
    pairs = [(out, u) for out, u in zip(outputs, dummies) if out.requires_grad]
    if pairs:
        transposed = _gradients([p[0] for p in pairs], prepared.aliases, [p[1] for p in pairs],
                                create_graph=True)
    else:
        transposed = [dg.zeros_like(x) for x in prepared.aliases]
    return prepared, outputs, output_spec, dummies, transposed, aux


def _tangents_along(transposed: list, dummies: list, tangents: list) -> list:
    """``J t``: the derivative of ``<g(u), t>`` in ``u`` (zeros where nothing depends)."""
    pairs = [(g, t) for g, t in zip(transposed, tangents) if g.requires_grad]
    wanted = [u for u in dummies if u.requires_grad]  # (an integer output's tangent is 0)
    if not pairs or not wanted:
        return [dg.zeros_like(u) for u in dummies]
    found = iter(_gradients([p[0] for p in pairs], wanted, [p[1] for p in pairs],
                            create_graph=dg.is_grad_enabled()))
    return [next(found) if u.requires_grad else dg.zeros_like(u) for u in dummies]


def _check_tangents(primals, tangents, where: str) -> list:
    primal_leaves, primal_spec = _flatten(primals)
    tangent_leaves, tangent_spec = _flatten(tangents)
    if not isinstance(tangents, tuple) or primal_spec != tangent_spec:
        raise RuntimeError(f"{where}: Expected primals and tangents to have the same python "
                           "structure. For example, if primals is a tuple of 3 tensors, "
                           "tangents also must be.")
    for primal, tangent in zip(primal_leaves, tangent_leaves):
        for value, what in ((primal, "primals"), (tangent, "tangents")):
            if not isinstance(value, Tensor):
                raise RuntimeError(f"{where}: Expected {what} to only contain Tensors, got "
                                   f"{type(value)}")
        if tuple(primal.shape) != tuple(tangent.shape):
            raise RuntimeError("Trying to set a forward gradient that has a different size than "
                               "that of the original Tensor, this is not supported. Tensor is of "
                               f"size {list(primal.shape)} while the given forward gradient is "
                               f"of size {list(tangent.shape)}.")
    return tangent_leaves


def jvp(func: Callable, primals: tuple, tangents: tuple, *, strict: bool = False,
        has_aux: bool = False):
    """``func(*primals)`` and its Jacobian-vector product with ``tangents`` (PyTorch's
    ``torch.func.jvp``; see the module for how it is computed).

    Args:
        func: returns a Tensor or a tree of Tensors (``(output, aux)`` with ``has_aux``).
        primals: a tuple of the inputs (tensors or trees of tensors).
        tangents: a tuple of the same structure and shapes as ``primals``.
        strict, has_aux: PyTorch's flags (``strict`` is accepted and ignored, as PyTorch's).

    Returns:
        ``(output, jvp_out)`` (``(output, jvp_out, aux)`` with ``has_aux``), ``jvp_out``
        shaped like ``output``.

    >>> import deltagrad as dg
    >>> jvp(lambda x: x ** 2, (dg.tensor([1.0, 3.0]),), (dg.tensor([1.0, 0.5]),))
    (tensor([1., 9.]), tensor([2., 3.]))
    """
    where = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{where}: Expected primals to be a tuple. E.g. it should be valid to "
                           "call f(*primals).")
    tangent_leaves = _check_tangents(primals, tangents, where)
    outer_grad = dg.is_grad_enabled()
    try:
        with dg.enable_grad():
            prepared, outputs, spec, dummies, transposed, aux = _transposed(func, primals, where,
                                                                            has_aux)
            with dg.set_grad_enabled(outer_grad):
                products = _tangents_along(transposed, dummies, tangent_leaves)
    except RuntimeError as exc:
        _no_forward_rule(exc)
        raise
    # (the dummies are leaves of the products' graph, none of the caller's)
    keep = outer_grad and _depends_outside(outputs + products, prepared.aliases + dummies)
    output = _unflatten(spec, _finish(outputs, keep))
    product = _unflatten(spec, _finish(products, keep))
    if has_aux:
        return output, product, _finish_aux(aux, prepared.aliases, outer_grad)
    return output, product


def _no_forward_rule(exc: RuntimeError) -> None:
    """An op without a derivative met by jvp's reverse passes: PyTorch's forward-mode error
    (NotImplementedError, where reverse mode raises RuntimeError)."""
    found = re.fullmatch(r"derivative for (\S+) is not implemented", str(exc))
    if found:
        raise NotImplementedError(f"Trying to use forward AD with {found.group(1)} that does "
                                  "not support it.") from exc


def linearize(func: Callable, *primals):
    """``func(*primals)`` and a function ``jvp_fn(*tangents)`` giving its Jacobian-vector
    products at ``primals`` (PyTorch's ``torch.func.linearize``), reusable for many tangents.

    >>> import deltagrad as dg
    >>> out, jvp_fn = linearize(lambda x: x.sin(), dg.tensor([0.0]))
    >>> jvp_fn(dg.tensor([2.0]))
    tensor([2.])
    """
    where = "linearize(func, *primals)"
    with dg.enable_grad():
        prepared, outputs, spec, dummies, transposed, _ = _transposed(func, primals, where)
    outer_grad = dg.is_grad_enabled()

    def finished(tensors: list):
        # (As PyTorch's: a graph is kept only through tensors the function captured.)
        keep = outer_grad and _depends_outside(tensors, prepared.aliases + dummies)
        return _unflatten(spec, _finish(tensors, keep))

    def jvp_fn(*tangents):
        tangent_leaves = _check_tangents(primals, tangents, where)
        with dg.enable_grad():
            products = _tangents_along(transposed, dummies, tangent_leaves)
        return finished(products)

    return finished(outputs), jvp_fn


def jacrev(func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False,
           chunk_size: int | None = None) -> Callable:
    """The Jacobian of ``func`` by reverse mode (PyTorch's ``torch.func.jacrev``): for an
    output of shape ``O`` and an input of shape ``I``, a tensor of shape ``O + I``.

    Computed row by row: one vector-Jacobian product per output element (``chunk_size`` is
    accepted and has no effect).

    Args:
        func: returns a Tensor or a tree of Tensors (``(outputs, aux)`` with ``has_aux``).
        argnums: the differentiated positional argument(s) (each may be a tree).
        has_aux: ``func`` also returns auxiliary data.

    Returns:
        A function returning the Jacobian: per output (the output's tree structure), per
        argument (a tuple when ``argnums`` is a tuple; the argument's tree structure).
    """
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")
    return _jacobian(func, argnums, has_aux, "jacrev")


def _jacobian(func: Callable, argnums, has_aux: bool, mode: str) -> Callable:
    """``jacrev`` (``mode`` "jacrev") or ``jacfwd``: the same values, PyTorch's checks of
    each (jacfwd's are jvp's: integer primals refused, integer outputs give zeros)."""

    def wrapper(*args, **kwargs):
        where = f"{mode}(f, argnums)(*args)"
        if mode == "jacfwd":
            positions = _argnums_tuple(argnums, len(args), where)
            for leaf in _flatten([args[p] for p in positions])[0]:
                if isinstance(leaf, Tensor) and leaf.dtype.kind not in "fc":
                    raise ValueError(f"Expected primal to be floating point or complex, but "
                                     f"got: {leaf.dtype}")
        outer_grad = dg.is_grad_enabled()
        with dg.enable_grad():
            prepared = _Prepared(args, argnums, where)
            for index, alias in enumerate(prepared.aliases):
                if alias.dtype.kind == "c":
                    raise RuntimeError(f"{mode}: Expected all inputs to be real but received "
                                       f"complex tensor at flattened input idx: {index}")
            output = call(func, prepared.args, kwargs)  # (captured tensors: read-only)
            output, aux = _split_aux(output, has_aux, where)
            outputs, output_spec = _flatten(output)
            per_output = []
            for index, out in enumerate(outputs):
                if not isinstance(out, Tensor):
                    raise RuntimeError(f"{where}: Expected f to return Tensors, got "
                                       f"{type(out).__name__}")
                if out.dtype.kind == "c":  # (PyTorch's words: "input idx" for an output too)
                    raise RuntimeError(f"{mode}: Expected all outputs to be real but received "
                                       f"complex tensor at flattened input idx: {index}")
                if out.dtype.kind not in "fc" and mode == "jacfwd":
                    per_output.append([dg.zeros(*out.shape, *x.shape, dtype=out.dtype)
                                       for x in prepared.aliases])
                    continue
                _float_outputs([out])
                per_output.append(_jacobian_rows(out, prepared.aliases, outer_grad))
        everything = [j for rows in per_output for j in rows]
        keep = outer_grad and _depends_outside(everything, prepared.aliases)
        results = []
        for rows in per_output:
            results.append(prepared.structure(_finish(rows, keep)))
        jacobian = _unflatten(output_spec, results)
        if has_aux:
            return jacobian, _finish_aux(aux, prepared.aliases, outer_grad)
        return jacobian

    return wrapper


def _jacobian_rows(out: Tensor, inputs: list, create_graph: bool) -> list:
    """d out / d input for each input, shaped ``out.shape + input.shape``."""
    n = out.numel()
    flat = out.reshape(-1)
    rows: list[list] = [[] for _ in inputs]
    for index in range(n):
        if out.requires_grad:
            grads = _gradients([flat[index]], inputs, [None], create_graph)
        else:
            grads = [dg.zeros_like(x) for x in inputs]
        for slot, g in zip(rows, grads):
            slot.append(g)
    jacobians = []
    for slot, x in zip(rows, inputs):
        stacked = (dg.stack(slot) if slot
                   else dg.zeros(0, *x.shape, dtype=x.dtype))
        jacobians.append(stacked.reshape((*out.shape, *x.shape)))
    return jacobians


def jacfwd(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """The Jacobian of ``func`` (PyTorch's ``torch.func.jacfwd``): same arguments and result
    layout as ``jacrev``.

    NOTE: deltagrad has no forward mode, so this is computed in reverse mode, one
    vector-Jacobian product per output element; the values are the same as forward mode's,
    only the cost differs (cheaper here when outputs are few). ``randomness`` is accepted for
    PyTorch's signature; it only governs random ops under vmap.
    """
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"jacfwd: Only allowed values for randomness are 'error', "
                           f"'different', or 'same'. Got {randomness}")
    return _jacobian(func, argnums, has_aux, "jacfwd")


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """The Hessian of a scalar function: ``jacfwd(jacrev(func, argnums), argnums)`` as
    PyTorch's (the outer Jacobian with jacfwd's checks; both computed in reverse mode here,
    the values are the same)."""
    return _jacobian(jacrev(func, argnums), argnums, False, "jacfwd")


# ----------------------------------------------------------------------------------------------
# Small helpers of torch.func.


def debug_unwrap(tensor: Tensor, *, recurse: bool = True) -> Tensor:
    """The tensor itself: deltagrad's transforms do not wrap tensors (PyTorch's unwraps a
    functorch-wrapped tensor for debugging; inside its vmap that is the whole batch, here the
    one element the loop is on)."""
    return tensor


def functionalize(func: Callable, *, remove: str = "mutations") -> Callable:
    """``func`` itself, after PyTorch's check of ``remove``: functionalization rewrites
    mutations for tracing, and the eager values are those of ``func``."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for "
                           f"remove={remove}. Valid options are: 'mutations', "
                           "'mutations_and_views'")
    return func


def replace_all_batch_norm_modules_(root: Module) -> Module:
    """In place, every batch norm module of ``root`` stops tracking running statistics (its
    ``running_mean`` / ``running_var`` / ``num_batches_tracked`` become None), as PyTorch's:
    the step before vmapping a model that has batch norm. Returns ``root``."""
    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root


class DimensionBindError(Exception):
    """A size of ``rearrange``'s pattern that cannot be bound (PyTorch's functorch.dim name)."""


def _groups(side: str) -> list:
    """``rearrange``'s one side as a list of groups: a name, ``...``, or a list of names
    (a parenthesised group; ``()`` and ``1`` are empty groups: a dim of size 1)."""
    out, group = [], None
    for token in side.replace("(", " ( ").replace(")", " ) ").split():
        if token == "(":
            if group is not None:
                raise ValueError(f"Nested parentheses in rearrange pattern: {side!r}")
            group = []
        elif token == ")":
            if group is None:
                raise ValueError(f"Unbalanced parentheses in rearrange pattern: {side!r}")
            out.append(group)
            group = None
        elif token == "1":  # (a dim of size 1; inside a group it changes nothing)
            if group is None:
                out.append([])
        elif token == "..." or token.isidentifier():
            (out if group is None else group).append(token)
        else:
            raise ValueError(f"Invalid axis name {token!r} in rearrange pattern")
    if group is not None:
        raise ValueError(f"Unbalanced parentheses in rearrange pattern: {side!r}")
    return out


def _names(groups) -> list:
    return [n for g in groups for n in (g if isinstance(g, list) else [g])]


def rearrange(tensor, pattern: str, **axes_lengths: int) -> Tensor:
    """einops-style ``rearrange`` (``torch.func.rearrange``): permute, split and merge the dims
    of ``tensor`` (a list or tuple of tensors is stacked first) as ``pattern`` says, e.g.
    ``"b (h1 h) w c -> (b h1) h w c"`` with ``h1=2``; a view where the reshapes allow.

    >>> import deltagrad as dg
    >>> rearrange(dg.zeros(2, 6, 5), "b (h w) c -> c b h w", h=3).shape
    deltagrad.Size([5, 2, 3, 2])
    """
    if isinstance(tensor, (list, tuple)):
        tensor = dg.stack(list(tensor))
    left_text, arrow, right_text = pattern.partition("->")
    if not arrow:
        raise ValueError(f"rearrange pattern needs '->': {pattern!r}")
    left, right = _groups(left_text), _groups(right_text)
    names_left, names_right = _names(left), _names(right)
    for names in (names_left, names_right):
        seen = [n for i, n in enumerate(names) if n in names[:i]]
        if seen:
            raise ValueError(f"Indexing expression contains duplicate dimension '{seen[0]}'")
    one_side = set(names_left) ^ set(names_right)
    if one_side:
        raise ValueError(f"Identifiers only on one side of rearrange expression (should be on "
                         f"both): {one_side}")
    unknown = set(axes_lengths) - set(names_left)
    if unknown:
        raise ValueError(f"Identifiers not found in rearrange expression: {unknown}")
    shape = tuple(tensor.shape)
    ellipsis_dims = len(shape) - (len(left) - ("..." in left))
    if ("..." in left and ellipsis_dims < 0) or ("..." not in left and ellipsis_dims != 0):
        raise ValueError(f"Number of dimensions in pattern ({len(left)}) must be equal to the "
                         f"number of dimensions in the tensor ({len(shape)})")
    sizes, flat, dim = dict(axes_lengths), [], 0
    for group in left:
        if group == "...":
            sizes["..."] = shape[dim:dim + ellipsis_dims]
            flat.extend(sizes["..."])
            dim += ellipsis_dims
            continue
        members = group if isinstance(group, list) else [group]
        if "..." in members:
            raise ValueError("rearrange: '...' inside parentheses on the left side is not "
                             "supported")
        free = [n for n in members if n not in sizes]
        known = math.prod(sizes[n] for n in members if n not in free)
        if len(free) > 1:
            raise DimensionBindError(f"cannot infer the sizes of two dimensions at once "
                                     f"{free[0]} and {free[1]}")
        if free:
            if known == 0 or shape[dim] % known:
                raise DimensionBindError(f"inferred dimension does not evenly fit into larger "
                                         f"dimension: {shape[dim]} vs {known}")
            sizes[free[0]] = shape[dim] // known
        elif known != shape[dim]:
            raise DimensionBindError(f"dimension {dim} of size {shape[dim]} does not match the "
                                     f"pattern's {known}")
        flat.extend(sizes[n] for n in members)
        dim += 1
    position, start = {}, 0  # name -> its elementary axes of the left side
    for n in names_left:
        width = len(sizes["..."]) if n == "..." else 1
        position[n] = list(range(start, start + width))
        start += width
    order = [axis for n in names_right for axis in position[n]]
    out = tensor.reshape(flat).permute(order)
    final = []
    for group in right:
        if group == "...":
            final.extend(sizes["..."])
            continue
        members = group if isinstance(group, list) else [group]
        final.append(math.prod(math.prod(sizes[n]) if n == "..." else sizes[n]
                               for n in members))
    return out.reshape(final)
