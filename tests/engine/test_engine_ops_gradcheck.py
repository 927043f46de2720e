"""Every registered op, gradchecked (and second-derivative checked) on its own samples."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import OPS
from deltagrad._engine.tensor import apply

CASES = []
for _name, _op in sorted(OPS.items()):
    for _k, _sample in enumerate(_op.samples(np.random.default_rng(1234))):
        _id = f"{_name}-{_k}" + (f"-{_sample.note}" if _sample.note else "")
        CASES.append(pytest.param(_op, _sample, id=_id))


def _inputs(sample):
    out = []
    for arg in sample.args:
        arr = np.asarray(arg)
        if arr.dtype.kind == "f":
            out.append(dg.tensor(arr.astype(np.float64), requires_grad=True))
        else:
            out.append(dg.from_numpy(arr))
    return out


@pytest.mark.parametrize("op, sample", CASES)
def test_gradcheck(op, sample):
    inputs = _inputs(sample)
    assert dg.gradcheck(lambda *xs: apply(op, *xs, **sample.kwargs), inputs)


SECOND_ORDER = [c for c in CASES if c.values[0].second_order and c.values[1].second_order]


@pytest.mark.parametrize("op, sample", SECOND_ORDER)
def test_gradgradcheck(op, sample):
    inputs = _inputs(sample)
    assert dg.gradgradcheck(lambda *xs: apply(op, *xs, **sample.kwargs), inputs)


def test_every_op_has_samples():
    for name, op in OPS.items():
        assert op.samples(np.random.default_rng(0)), f"{name} has no samples"


def test_register_without_samples_is_refused():
    from deltagrad._engine.ops import register

    with pytest.raises(TypeError, match="sample spec"):
        register("no_spec_op", forward=np.negative, vjp=lambda F, g, out, x: (-g,), samples=None)
    assert "no_spec_op" not in OPS


def test_namespaces_offer_the_same_functions():
    from deltagrad._engine.api.backward import TENSOR_NAMESPACE
    from deltagrad._engine.ops import ARRAY

    def names(ns):
        return {n for n in dir(type(ns)) if not n.startswith("_")}

    assert names(ARRAY) == names(TENSOR_NAMESPACE)
