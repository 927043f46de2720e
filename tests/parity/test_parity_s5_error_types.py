"""Errors of the kinds programs catch: the same exception class as PyTorch's (or a subclass)."""

import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

CASES = {
    "bool of several elements": lambda m: bool(m.ones(2)),
    "int of several elements": lambda m: int(m.ones(2)),
    "float of several elements": lambda m: float(m.ones(2)),
    "item of several elements": lambda m: m.ones(2).item(),
    "requires_grad_ on int64": lambda m: m.ones(2, dtype=m.int64).requires_grad_(),
    "where with a float condition": lambda m: m.where(m.ones(2), m.ones(2), m.zeros(2)),
    "where with an int64 condition": lambda m: m.where(m.ones(2, dtype=m.int64), m.ones(2),
                                                       m.zeros(2)),
    "randn of a negative size": lambda m: m.randn(-1),
    "rand of a negative size": lambda m: m.rand(2, -3),
    "cosine_similarity of shapes that do not broadcast":
        lambda m: m.nn.functional.cosine_similarity(m.ones(2, 3), m.ones(2, 4)),
    "embedding_bag with float ids":
        lambda m: m.nn.functional.embedding_bag(m.ones(2, 2), m.ones(5, 3)),
    "view of a transposed tensor": lambda m: m.ones(2, 3).t().view(6),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_exception_class_is_pytorchs(name):
    case = CASES[name]
    with pytest.raises(Exception) as expected:
        case(torch)
    with pytest.raises(expected.type):  # (a subclass passes: ShapeError is a RuntimeError)
        case(dg)


def test_a_uint8_condition_is_still_accepted():
    out = dg.where(dg.tensor([1, 0], dtype=dg.uint8), dg.ones(2), dg.zeros(2))
    assert out.tolist() == [1.0, 0.0]
