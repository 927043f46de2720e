"""einsum's equation, parsed and normalised (ellipses spelled out, the implicit output made
explicit, size-1 axes expanded to the size their label has elsewhere) so that the primitive sees
one size per label; the sublist form read as an equation; and the plans cached per (equation,
operand shapes). ``api.linalg.einsum`` runs them. Moved out of ``api.linalg`` (session 27, FS1)
to keep it under the 800-line limit; ``api.linalg`` imports them back.
"""

from __future__ import annotations

import builtins
import operator
import string

from ..autograd import ShapeError
from ..tensor import Tensor

_LABELS = string.ascii_uppercase + string.ascii_lowercase


def _subscript(s) -> int:
    """One subscript of einsum's sublist form, read as PyTorch's index: an int, or an integer
    or boolean one-element tensor; a float (or a tensor of floats) is its TypeError."""
    if isinstance(s, Tensor) and s._data.size != 1:
        return int(s)  # (ScalarConversionError: PyTorch's RuntimeError, TypeError too)
    if isinstance(s, Tensor) and s._data.dtype.kind in "biu":
        return int(s._data.reshape(()))
    return operator.index(s)


def _sublist_equation(args) -> tuple:
    """einsum(op0, [0, 1], op1, [1, 2], [0, 2]): the equation and operands of the sublist
    form."""
    def letters(sub):
        return "".join("..." if s is Ellipsis else _LABELS[_subscript(s)] for s in sub)

    operands, terms = list(args[0::2]), [letters(s) for s in args[1::2]]
    output = None
    if len(args) % 2:
        operands, output = operands[:-1], letters(args[-1])
    return ",".join(terms) + ("->" + output if output is not None else ""), operands


def _parse_einsum(equation: str, shapes: list) -> tuple:
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):  # (PyTorch's words first; s28 BR18)
        raise ShapeError(f"einsum(): {'fewer' if len(shapes) < len(terms) else 'more'} operands "
                         f"were provided than specified in the equation ({len(terms)} operands "
                         f"in the equation, {len(shapes)} given)")
    for term in terms + [rhs]:
        if term.replace("...", "").strip(_LABELS) or term.count("...") > 1:
            raise ShapeError(f"einsum(): invalid subscripts {term!r} in {equation!r}")
    ellipsis_rank = 0
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        named = len(term.replace("...", ""))
        if "..." in term:
            if named > len(shape):
                raise ShapeError(f"einsum(): operand {i} has {len(shape)} dims but its "
                                 f"subscripts name {named}")
            ellipsis_rank = builtins.max(ellipsis_rank, len(shape) - named)
        elif named != len(shape):
            raise ShapeError(f"einsum(): the number of subscripts in the equation ({named}) "
                             f"does not match the number of dimensions ({len(shape)}) for "
                             f"operand {i} and no ellipsis was given")
    free = [c for c in _LABELS if c not in equation]
    spelled = "".join(free[:ellipsis_rank])
    expanded = []
    for term, shape in zip(terms, shapes):
        rank = len(shape) - len(term.replace("...", ""))
        expanded.append(term.replace("...", spelled[ellipsis_rank - rank:]))
    if arrow:
        output = rhs.replace("...", spelled)
        for label in output:
            if output.count(label) > 1:
                raise ShapeError(f"einsum(): output subscript {label} appears more than once "
                                 "in the output")
            if not builtins.any(label in term for term in expanded):
                raise ShapeError(f"einsum(): output subscript {label} does not appear in the "
                                 "equation for any input operand")
    else:
        counts = {}
        for term in terms:
            for label in term.replace("...", ""):
                counts[label] = counts.get(label, 0) + 1
        output = spelled + "".join(sorted(c for c, n in counts.items() if n == 1))
    return expanded, output


# The parsed and checked form of each (equation, operand shapes) seen: parsing costs 20 us a
# call in Python, as much as the contraction of small operands (einsum forward + backward,
# median over OP_OVERHEAD.md's cases, with the rule's plans: 47 -> 21 us).
_EINSUM_PLANS: dict = {}


def _einsum_plan(equation: str, shapes: tuple) -> tuple:
    """(the shape to expand each operand to, None where it fits; the normalised equation)."""
    terms, output = _parse_einsum(equation, list(shapes))
    sizes = {}
    for i, (term, shape) in enumerate(zip(terms, shapes)):  # (PyTorch's words first: BR18)
        for label, n in zip(term, shape):
            if term.count(label) > 1 and n != shape[term.index(label)]:
                raise ShapeError(f"einsum(): subscript {label} is repeated for operand {i} but "
                                 f"the sizes don't match, {n} != {shape[term.index(label)]} "
                                 f"(operand of shape {shape})")
            if sizes.get(label, 1) != 1 and n not in (1, sizes[label]):
                raise ShapeError(f"einsum(): subscript {label} has size {n} for operand {i} "
                                 f"which does not broadcast with previously seen size "
                                 f"{sizes[label]}")
            if n != 1 or label not in sizes:
                sizes[label] = n
    targets = []
    for term, shape in zip(terms, shapes):
        target = tuple(sizes[label] for label in term)
        targets.append(None if target == shape else target)
    return tuple(targets), ",".join(terms) + "->" + output
