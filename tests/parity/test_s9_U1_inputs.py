"""Non-tensor inputs where PyTorch's parser requires a Tensor (session 9, U1): a list, tuple,
ndarray or number given as ``input`` (or as a tensor-only ``other``, ``mask``, ...) raises
PyTorch's TypeError instead of being converted and computed on silently; the forms PyTorch does
accept (a Python or NumPy number where its functions take scalars) still give its results."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

X = np.array([[0.5, -1.25, 2.0], [0.25, 3.0, -0.75]], dtype=np.float32)
SORTED = np.array([0.0, 1.0, 2.0], dtype=np.float32)

# The stand-ins for a tensor argument (ones that PyTorch rejects everywhere in this table).
FORMS = {"list": lambda: X.tolist(), "tuple": lambda: tuple(X[0].tolist()),
         "ndarray": lambda: X.copy(), "batch-list": "wrap"}


def _tensor(m):
    return m.tensor(X.copy())


# name -> call(m, value): ``value`` replaces one tensor argument.
REJECTED = {
    # unary pointwise (a number is rejected too: see NUMBER_REJECTED)
    "exp": lambda m, v: m.exp(v), "log": lambda m, v: m.log(v),
    "sigmoid": lambda m, v: m.sigmoid(v), "relu": lambda m, v: m.relu(v),
    "abs": lambda m, v: m.abs(v), "neg": lambda m, v: m.neg(v),
    "square": lambda m, v: m.square(v), "tan": lambda m, v: m.tan(v),
    "floor": lambda m, v: m.floor(v), "erf": lambda m, v: m.erf(v),
    "isnan": lambda m, v: m.isnan(v), "logical_not": lambda m, v: m.logical_not(v),
    "bitwise_not": lambda m, v: m.bitwise_not(v), "special.expit": lambda m, v: m.special.expit(v),
    "clamp input": lambda m, v: m.clamp(v, 0.0, 1.0),
    # binary: either side
    "add input": lambda m, v: m.add(v, _tensor(m)),
    "add other": lambda m, v: m.add(_tensor(m), v),
    "mul other": lambda m, v: m.mul(_tensor(m), v), "div input": lambda m, v: m.div(v, 2.0),
    "sub other": lambda m, v: m.sub(_tensor(m), v),
    "pow exponent": lambda m, v: m.pow(_tensor(m), v),
    "pow input": lambda m, v: m.pow(v, _tensor(m)), "remainder": lambda m, v: m.remainder(v, 2.0),
    "eq other": lambda m, v: m.eq(_tensor(m), v), "lt other": lambda m, v: m.lt(_tensor(m), v),
    "xlogy other": lambda m, v: m.xlogy(_tensor(m), v),
    "atan2": lambda m, v: m.atan2(_tensor(m), v),
    "Tensor.add": lambda m, v: _tensor(m).add(v), "Tensor.ge": lambda m, v: _tensor(m).ge(v),
    "lerp weight": lambda m, v: m.lerp(_tensor(m), _tensor(m), v),
    "clamp min": lambda m, v: m.clamp(_tensor(m), v),
    "where condition": lambda m, v: m.where(v, _tensor(m), _tensor(m)),
    "where input": lambda m, v: m.where(_tensor(m) > 0, v, _tensor(m)),
    "masked_fill mask": lambda m, v: _tensor(m).masked_fill(v if not isinstance(v, np.ndarray)
                                                            else v.tolist(), 0.0),
    # reductions, scans, sorting
    "sum": lambda m, v: m.sum(v), "mean": lambda m, v: m.mean(v), "amax": lambda m, v: m.amax(v),
    "max": lambda m, v: m.max(v), "argmax": lambda m, v: m.argmax(v),
    "logsumexp": lambda m, v: m.logsumexp(v, 0), "softmax": lambda m, v: m.softmax(v, 0),
    "std": lambda m, v: m.std(v), "any": lambda m, v: m.any(v),
    "cumsum": lambda m, v: m.cumsum(v, 0), "cummax": lambda m, v: m.cummax(v, 0),
    "sort": lambda m, v: m.sort(v), "topk": lambda m, v: m.topk(v, 1),
    "median": lambda m, v: m.median(v), "quantile": lambda m, v: m.quantile(v, 0.5),
    "unique": lambda m, v: m.unique(v),
    "searchsorted sequence": lambda m, v: m.searchsorted(v, m.tensor(SORTED)),
    "searchsorted input": lambda m, v: m.searchsorted(m.tensor(SORTED), v),
    # other families: rearrangements, copies, norms, decompositions
    "roll": lambda m, v: m.roll(v, 1), "tril": lambda m, v: m.tril(v),
    "clone": lambda m, v: m.clone(v), "detach": lambda m, v: m.detach(v),
    "norm": lambda m, v: m.norm(v), "linalg.vector_norm": lambda m, v: m.linalg.vector_norm(v),
    "linalg.qr": lambda m, v: m.linalg.qr(v), "linalg.svdvals": lambda m, v: m.linalg.svdvals(v),
}

# Where PyTorch's message is its parser's one-signature form, ours is the same text.
SAME_MESSAGE = {"exp", "log", "sigmoid", "relu", "abs", "neg", "tan", "floor", "isnan",
                "logical_not", "bitwise_not", "add other", "mul other", "sub other",
                "sum", "mean", "amax", "logsumexp", "cumsum", "clone", "roll", "tril"}

# (a Python number as input is rejected by these too)
NUMBER_REJECTED = ["exp", "sigmoid", "relu", "abs", "isnan", "sum", "mean", "amax", "sort",
                   "cumsum", "clone", "roll", "clamp input", "atan2", "where condition"]


def _outcome(m, call, value):
    if isinstance(value, str):  # ("wrap": a batch list holding the library's own tensor)
        value = [_tensor(m)]
    try:
        call(m, value)
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return e
    return None


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("name", sorted(REJECTED))
def test_rejected_like_pytorch(name, form):
    make = FORMS[form]
    theirs = _outcome(torch, REJECTED[name], make if isinstance(make, str) else make())
    ours = _outcome(dg, REJECTED[name], make if isinstance(make, str) else make())
    # (PyTorch's Python functions, norm: the AttributeError of a tensor method on it)
    assert isinstance(theirs, (TypeError, AttributeError)), f"the premise: torch raises {theirs!r}"
    assert isinstance(ours, type(theirs)), f"deltagrad: {ours!r} for {form} as {name}"
    if name in SAME_MESSAGE and form != "batch-list":
        assert str(ours) == str(theirs).splitlines()[0]


@pytest.mark.parametrize("name", NUMBER_REJECTED)
def test_number_input_rejected(name):
    theirs, ours = (_outcome(m, REJECTED[name], 1.5) for m in (torch, dg))
    assert isinstance(theirs, TypeError) and isinstance(ours, TypeError), (theirs, ours)


def test_messages_name_function_and_argument():
    with pytest.raises(TypeError, match=r"^exp\(\): argument 'input' \(position 1\) must be "
                                        r"Tensor, not numpy.ndarray$"):
        dg.exp(np.ones(3))
    with pytest.raises(TypeError, match=r"^add\(\): argument 'other' \(position 2\) must be "
                                        r"Tensor, not list$"):
        dg.add(dg.ones(3), [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match=r"^sum\(\): argument 'input' \(position 1\) must be "
                                        r"Tensor, not tuple$"):
        dg.sum((1, 2))
    with pytest.raises(TypeError, match=r"^tril\(\): argument 'input'"):
        dg.tril([[1.0]])
    with pytest.raises(AttributeError):  # (NotATensorError is both, as PyTorch's Python fns)
        dg.norm([1.0, 2.0])


# Forms PyTorch accepts: numbers where its functions take scalars (NumPy scalars included).
ACCEPTED = {
    "add(2, t)": lambda m, t: m.add(2, t),
    "add(t, np.float64)": lambda m, t: m.add(t, np.float64(2)),
    "mul(2.5, t)": lambda m, t: m.mul(2.5, t), "div(2, t)": lambda m, t: m.div(2, t),
    "sub(t, 1)": lambda m, t: m.sub(t, 1), "pow(2, t)": lambda m, t: m.pow(2, t),
    "pow(t, 2)": lambda m, t: m.pow(t, 2), "xlogy(2, t)": lambda m, t: m.xlogy(2, t),
    "float_power(2, t)": lambda m, t: m.float_power(2, t),
    "remainder(t, 2)": lambda m, t: m.remainder(t, 2),
    "fmod(t, 1.5)": lambda m, t: m.fmod(t, 1.5), "eq(t, 0.5)": lambda m, t: m.eq(t, 0.5),
    "clamp(t, 0, 1)": lambda m, t: m.clamp(t, 0, 1),
    "clamp(t, np.float32)": lambda m, t: m.clamp(t, np.float32(0.0)),
    "where(c, 1., t)": lambda m, t: m.where(t > 0, 1.0, t),
    "where(c, t, 0)": lambda m, t: m.where(t > 0, t, 0.0),
    "lerp(t, t, 0.25)": lambda m, t: m.lerp(t, t * 2, 0.25),
    "masked_fill(t, c, 1.)": lambda m, t: m.masked_fill(t, t > 1, 1.0),
    "searchsorted(seq, 1.5)": lambda m, t: m.searchsorted(m.tensor(SORTED), 1.5),
    "bitwise_and(6, i)": lambda m, t: m.bitwise_and(6, m.tensor([12, 10])),
    "t // 2": lambda m, t: t // 2, "7 % t": lambda m, t: 7 % t,
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_forms_match_pytorch(name):
    expected = ACCEPTED[name](torch, torch.tensor(X.copy()))
    got = ACCEPTED[name](dg, dg.tensor(X.copy()))
    assert str(got.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("value", [[1.0, 2.0, 3.0], (1.0, 2.0, 3.0)])
def test_operators_with_sequences_raise_type_error(value):
    for m in (torch, dg):
        t = m.ones(3)
        for op in (lambda x: x // value, lambda x: value // x, lambda x: x % value,
                   lambda x: value % x):
            with pytest.raises(TypeError):
                op(t)
