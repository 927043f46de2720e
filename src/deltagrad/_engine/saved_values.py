"""PyTorch's ``grad_fn._saved_*`` attributes (``y.grad_fn._saved_self``, ``_saved_result``,
``_saved_exponent``, ``_saved_self_sym_sizes`` ...) for the common nodes, read off deltagrad's
node (the tensor itself: its op, inputs and attributes), for ``GradFn.__getattr__``.

PyTorch saves an input only where a gradient formula reads it: ``(a * b).grad_fn._saved_self``
is ``a`` when ``b`` requires grad and None otherwise. Its saved tensors are gone after a
backward without ``retain_graph`` (RuntimeError); its saved numbers stay. Here backward frees
the inputs and attributes they are read from, so a number asked for after that raises too, with
words that say why. A saved value deltagrad cannot give exactly is left out (AttributeError):
a ``_saved_dim`` (deltagrad keeps the dim normalized, PyTorch the one given: -1 reads as
2**64 - 1 there), and an operand that may have been a Python number (``a * 2`` keeps a 0-d
tensor of a's dtype; PyTorch's is int64 ``tensor(2)``). This module imports the engine's
version records and node names only."""

from __future__ import annotations

from .versions import _record

__all__ = ["FREED", "saved_names", "saved_value"]

FREED = ("Trying to backward through the graph a second time (or directly access saved tensors "
         "after they have already been freed). Saved intermediate values of the graph are freed "
         "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
         "backward through the graph a second time or if you need to access saved tensors after "
         "calling backward.")

_TENSOR = "tensor"  # (a saved tensor: freed by backward, checked for in-place changes)
_NUMBER = "number"  # (a saved number or sizes: PyTorch keeps them after backward)


def _rg(x) -> bool:
    return bool(getattr(x, "_rg", False))


def _maybe_number(x) -> bool:
    """Whether input ``x`` may be a Python number the op lifted (``a * 2``): a 0-d constant
    leaf, which deltagrad cannot tell from a user's ``torch.tensor(2.)``."""
    return x._op is None and not x._rg and x._data.ndim == 0


def _mul(node, a, b, attrs) -> dict:
    return {"_saved_self": (_TENSOR, a if _rg(b) else None),
            "_saved_other": (_TENSOR, b if _rg(a) else None)}


def _div(node, a, b, attrs) -> dict:
    return {"_saved_self": (_TENSOR, a if _rg(b) else None),
            "_saved_other": (_TENSOR, b if _rg(a) or _rg(b) else None)}


def _pow_tensor(node, a, b, attrs) -> dict:
    return {"_saved_self": (_TENSOR, a), "_saved_exponent": (_TENSOR, b),
            "_saved_result": (_TENSOR, node)}


def _pow_scalar(node, a, attrs) -> dict:
    return {"_saved_self": (_TENSOR, a), "_saved_exponent": (_NUMBER, attrs["exponent"])}


def _result(node, *rest) -> dict:
    return {"_saved_result": (_TENSOR, node)}


def _self(node, a, *rest) -> dict:
    return {"_saved_self": (_TENSOR, a)}


def _mm(node, a, b, attrs) -> dict:
    return {"_saved_self": (_TENSOR, a if _rg(b) else None),
            "_saved_mat2": (_TENSOR, b if _rg(a) else None),
            "_saved_self_sym_sizes": (_NUMBER, tuple(a.shape)),
            "_saved_mat2_sym_sizes": (_NUMBER, tuple(b.shape)),
            "_saved_self_sym_strides": (_NUMBER, tuple(a.stride()) if _rg(a) else ()),
            "_saved_mat2_sym_strides": (_NUMBER, tuple(b.stride()) if _rg(b) else ())}


def _sizes(node, a, *rest) -> dict:
    return {"_saved_self_sym_sizes": (_NUMBER, tuple(a.shape))}


def _sum_dim(node, a, attrs) -> dict:
    return {"_saved_self_sym_sizes": (_NUMBER, tuple(a.shape)),
            "_saved_keepdim": (_NUMBER, bool(attrs["keepdim"]))}


def _mean(node, a, attrs) -> dict:
    return {"_saved_self_sym_sizes": (_NUMBER, tuple(a.shape)),
            "_saved_self_sym_numel": (_NUMBER, int(a._data.size))}


def _mean_dim(node, a, attrs) -> dict:
    return dict(_mean(node, a, attrs), _saved_keepdim=(_NUMBER, bool(attrs["keepdim"])))


# PyTorch's node name -> (deltagrad's op names it is read from, the number of inputs, builder).
_SAVED = {
    "MulBackward0": (("mul",), 2, _mul),
    "DivBackward0": (("div",), 2, _div),
    "PowBackward0": (("pow_scalar",), 1, _pow_scalar),
    "PowBackward1": (("pow",), 2, _pow_tensor),
    "ExpBackward0": (("exp",), 1, _result),
    "SigmoidBackward0": (("sigmoid",), 1, _result),
    "TanhBackward0": (("tanh",), 1, _result),
    "ReluBackward0": (("relu",), 1, _result),
    "SqrtBackward0": (("sqrt",), 1, _result),
    "SoftmaxBackward0": (("softmax",), 1, _result),
    "LogSoftmaxBackward0": (("log_softmax",), 1, _result),
    "LogBackward0": (("log",), 1, _self),
    "SinBackward0": (("sin",), 1, _self),
    "CosBackward0": (("cos",), 1, _self),
    "AbsBackward0": (("abs",), 1, _self),
    "MmBackward0": (("matmul",), 2, _mm),
    "SumBackward0": (("sum",), 1, _sizes),
    "SumBackward1": (("sum",), 1, _sum_dim),
    "MeanBackward0": (("mean",), 1, _mean),
    "MeanBackward1": (("mean",), 1, _mean_dim),
    "ViewBackward0": (("reshape",), 1, _sizes),
    "ExpandBackward0": (("expand",), 1, _sizes),
}

# The names each builder gives, for dir() and for the words after backward.
_NAMES = {
    _mul: ("_saved_other", "_saved_self"), _div: ("_saved_other", "_saved_self"),
    _pow_tensor: ("_saved_exponent", "_saved_result", "_saved_self"),
    _pow_scalar: ("_saved_exponent", "_saved_self"), _result: ("_saved_result",),
    _self: ("_saved_self",),
    _mm: ("_saved_mat2", "_saved_mat2_sym_sizes", "_saved_mat2_sym_strides", "_saved_self",
          "_saved_self_sym_sizes", "_saved_self_sym_strides"),
    _sizes: ("_saved_self_sym_sizes",), _sum_dim: ("_saved_keepdim", "_saved_self_sym_sizes"),
    _mean: ("_saved_self_sym_numel", "_saved_self_sym_sizes"),
    _mean_dim: ("_saved_keepdim", "_saved_self_sym_numel", "_saved_self_sym_sizes"),
}


def _entry(node, kind: str):
    """``_SAVED``'s builder for ``node``, whose PyTorch class name is ``kind`` (None where its
    op is not the one the name is read from: a composite named as PyTorch's node, whose saved
    values are not these)."""
    if node._op is None:
        return None
    entry = _SAVED.get(kind)
    if entry is None or node._op.name not in entry[0]:
        return None
    return entry


def saved_names(node, kind: str) -> tuple:
    """The ``_saved_*`` names ``node``'s grad_fn (of PyTorch's class ``kind``) answers, for
    ``dir``."""
    entry = _entry(node, kind)
    return () if entry is None else _NAMES[entry[2]]


def saved_value(node, name: str, kind: str):
    """``node``'s grad_fn attribute ``name`` (a ``_saved_*`` one), as PyTorch's node of class
    ``kind`` answers it; AttributeError where this module does not give it."""
    entry = _entry(node, kind)
    if entry is None or name not in _NAMES[entry[2]]:
        raise AttributeError(
            f"'{kind}' object has no attribute '{name}' (deltagrad gives PyTorch's "
            "saved values of the common nodes only, and no _saved_dim: it keeps dims "
            "normalized)")
    inputs = node._inputs
    if inputs is None:  # (freed by a backward without retain_graph)
        if name.endswith(("_sizes", "_strides", "_numel", "_keepdim")) or (
                name == "_saved_exponent" and entry[2] is _pow_scalar):
            raise RuntimeError(f"{kind}.{name}: deltagrad frees a node's saved "
                               "values, numbers too, at backward (PyTorch keeps the numbers); "
                               "read it before backward, or backward with retain_graph=True")
        raise RuntimeError(FREED)
    if len(inputs) != entry[1]:
        raise AttributeError(f"'{kind}' object has no attribute '{name}'")
    what, value = entry[2](node, *inputs, node._attrs or {})[name]
    if what is _NUMBER or value is None:
        return value
    if value is not node and _maybe_number(value):
        raise RuntimeError(
            f"{kind}.{name}: this operand is a 0-d constant, which deltagrad cannot "
            "tell from a Python number the op lifted (PyTorch saves a number as an int64 / "
            "float64 tensor, a 0-d tensor as itself); not given rather than given wrong")
    _check_version(node, value, f"{kind}.{name}")
    if value is node:  # (PyTorch's saved result is another tensor object on the same node)
        out = node.detach()  # (the same array: one version counter)
        out._op, out._inputs, out._attrs = node._op, node._inputs, node._attrs
        out._rg, out._serial = True, node._serial
        return out
    return value


def _check_version(node, value, where: str) -> None:
    """PyTorch's error where ``value`` (saved by ``node``) changed in place since."""
    record = _record(value._data, False)
    if record is None or not record.stamps or record.stamps[-1] < node._serial:
        return
    expected = record.version - sum(1 for stamp in record.stamps if stamp >= node._serial)
    producer = value._op.name if value._op is not None else None
    which = f", which is output 0 of {producer}," if producer else ""
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{value.dtype} {list(value.shape)}]{which} is at version "
        f"{record.version}; expected version {expected} instead. (deltagrad: read as "
        f"grad_fn.{where})")
