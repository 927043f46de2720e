"""einsum of bool operands, as PyTorch's CPU einsum treats them (s23 LE11: einconv's tensor
network simplifications take einsum of bool index patterns).

PyTorch's einsum first sums each operand over the labels only it has (and the output lacks):
a bool sum is int64. It then contracts operands pairwise: where the pair shares no summed
label that is a product (bool * bool is bool, bool * int64 is int64), where it does, a bmm,
which CPU PyTorch has no bool kernel for ("bmm" not implemented for 'Bool'), and which
refuses an int64 operand beside a bool one ("expected scalar type Long but found Bool").
"""

from __future__ import annotations

from .. import dtypes


def bool_operands(equation: str, operands: list) -> list:
    """The operands of a bool einsum (``equation`` normalized, with ``->``) as PyTorch computes
    them: cast to int64 where some label is summed inside one operand (the result is then that
    sum's int64), kept bool where nothing is summed; PyTorch's errors where a label is
    contracted across operands that are not all int64 by then."""
    inputs, output = equation.split("->")
    terms = inputs.split(",")

    def owners(label: str) -> int:
        return sum(label in term for term in terms)

    summed = [any(label not in output and owners(label) == 1 for label in term)
              for term in terms]
    shared = any(label not in output and owners(label) > 1 for term in terms for label in term)
    if shared and not all(summed):
        if len(terms) == 2 and any(summed):
            raise RuntimeError("expected scalar type Long but found Bool")
        # NOTE: with three or more operands, PyTorch's pairwise order (opt_einsum's path) can
        # meet the mixed case first and raise the RuntimeError above instead; both refuse.
        raise NotImplementedError("\"bmm\" not implemented for 'Bool'")
    if any(summed):
        return [x.to(dtypes.int64) for x in operands]
    return operands
