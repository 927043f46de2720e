"""In-place activations (F.relu(x, inplace=True), nn.LeakyReLU(0.2, inplace=True), ...) take
the engine's in-place path: PyTorch's values, gradients, versions and errors, and one node."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

ACTIVATIONS = {
    "relu": lambda m, x: m.nn.functional.relu(x, inplace=True),
    "leaky_relu": lambda m, x: m.nn.functional.leaky_relu(x, 0.2, inplace=True),
    "elu": lambda m, x: m.nn.functional.elu(x, inplace=True),
    "hardtanh": lambda m, x: m.nn.functional.hardtanh(x, inplace=True),
    "relu6": lambda m, x: m.nn.functional.relu6(x, inplace=True),
    "threshold": lambda m, x: m.nn.functional.threshold(x, 0.1, 2.0, inplace=True),
    "selu": lambda m, x: m.nn.functional.selu(x, inplace=True),
    "silu": lambda m, x: m.nn.functional.silu(x, inplace=True),
    "hardswish": lambda m, x: m.nn.functional.hardswish(x, inplace=True),
    "module": lambda m, x: m.nn.LeakyReLU(0.1, inplace=True)(x),
}


def _run(m, fn, values):
    w = m.from_numpy(values.copy()).requires_grad_()
    x = w * 2
    y = fn(m, x)
    assert y is x and x._version == 1
    (y * y).sum().backward()
    return y.detach().numpy().copy(), w.grad.numpy().copy()


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_values_and_gradients_match_torch(name):
    values = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    got, want = _run(dg, ACTIVATIONS[name], values), _run(torch, ACTIVATIONS[name], values)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-5, atol=1e-6)


def test_one_node_and_no_where():
    x = dg.ones(3, requires_grad=True) * 1.0
    y = dg.nn.functional.leaky_relu(x, 0.2, inplace=True)
    assert y.grad_fn.next_functions[0][0].name() == "MulBackward0"


@pytest.mark.parametrize("kind", ["saved", "leaf"])
def test_errors_match_torch(kind):
    def attempt(m):
        w = m.ones(2, 3, requires_grad=True)
        if kind == "leaf":
            m.nn.functional.relu(w, inplace=True)
            return
        x = w * 2
        z = x * x  # saves x, which the in-place activation then changes
        m.nn.functional.leaky_relu(x, 0.1, inplace=True)
        (z.sum() + x.sum()).backward()

    with pytest.raises(RuntimeError) as want:
        attempt(torch)
    with pytest.raises(RuntimeError) as got:
        attempt(dg)
    assert str(got.value)[:40] == str(want.value)[:40]


def test_no_grad_input_is_written_in_place():
    x = dg.tensor([-1.0, 2.0])
    assert dg.nn.functional.relu(x, inplace=True) is x
    assert x.tolist() == [0.0, 2.0]
