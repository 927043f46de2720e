"""Tensor methods refuse ``out=`` as PyTorch's do (a TypeError), while the ``torch.*`` function
forms keep it (s25 BR8: ``_engine/method_forms.py``)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

_CALLS = {
    "add": lambda x, o: x.add(1, out=o),
    "sub": lambda x, o: x.sub(x, out=o),
    "mul": lambda x, o: x.mul(2, out=o),
    "exp": lambda x, o: x.exp(out=o),
    "abs": lambda x, o: x.abs(out=o),
    "sum": lambda x, o: x.sum(out=o),
    "mean": lambda x, o: x.mean(out=o),
    "matmul": lambda x, o: x.matmul(x, out=o),
    "clamp": lambda x, o: x.clamp(0, out=o),
    "where": lambda x, o: x.where(x > 0, 0.0, out=o),
    "pow": lambda x, o: x.pow(2, out=o),
    "max": lambda x, o: x.max(out=o),
    "abs out=None": lambda x, o: x.abs(out=None),
    # (methods behind a decorator's wrapper: the wrapper's copy calls the function's)
    "var": lambda x, o: x.var(out=o),
    "std dim": lambda x, o: x.std(0, out=o),
    "cumsum": lambda x, o: x.cumsum(0, out=o),
    "max dim": lambda x, o: x.max(0, out=(o, o.long())),
    "sort": lambda x, o: x.sort(out=(o, o.long())),
    "logsumexp": lambda x, o: x.logsumexp(0, out=o),
}


@pytest.mark.parametrize("key", list(_CALLS))
def test_method_refuses_out(key):
    for t in (torch, dg):
        x, o = t.ones(3, 3), t.empty(3, 3)
        with pytest.raises(TypeError):
            _CALLS[key](x, o)
        np.testing.assert_array_equal(x.numpy(), np.ones((3, 3)))  # (nothing written)


@pytest.mark.parametrize("name", ["add", "exp", "matmul", "clamp", "cumsum"])
def test_function_form_keeps_out(name):
    results = []
    for t in (torch, dg):
        x, o = t.full((3, 3), 0.5), t.empty(3, 3)
        function = getattr(t, name)
        args = {"add": (x, 1), "exp": (x,), "matmul": (x, x), "clamp": (x, 0.7),
                "cumsum": (x, 0)}[name]
        returned = function(*args, out=o)
        assert returned is o
        results.append(o.numpy().copy())
        assert getattr(x, name)(*args[1:]).numpy().tolist() == o.numpy().tolist()
    np.testing.assert_array_equal(results[0], results[1])


def test_every_method_form_hides_out_and_keeps_the_rest():
    hidden = 0
    for name, method in vars(dg.Tensor).items():
        original = getattr(method, "__wrapped_function__", None)
        if original is None:
            continue
        hidden += 1
        assert "out" in inspect.signature(original).parameters, name
        assert "out" not in inspect.signature(method).parameters, name
        if getattr(method, "__wrapped__", None) is not None:  # (meta_ops wraps some later)
            continue
        assert method.__code__.co_code == original.__code__.co_code, name
        assert method.__doc__ == original.__doc__ and method.__name__ == original.__name__
    assert hidden > 150  # (most public functions with out= are methods too)
