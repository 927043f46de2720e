"""The common calls of hot public functions that skip ``apply`` (``api/_common.apply_checked``,
the cached attributes of reshape / transpose / mean / sum / amax / softmax, matmul through the
operators' path): same values, nodes, gradients and errors as the general path, every time."""

import numpy as np
import pytest

import deltagrad as dg


def _x(*shape, dtype=dg.float32, seed=0):
    return dg.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=dtype,
                     requires_grad=True)


@pytest.mark.parametrize("call", [
    lambda x: x.mean(dim=1, keepdim=True),
    lambda x: x.mean(-1),
    lambda x: x.mean(),
    lambda x: x.sum(0),
    lambda x: x.sum(dim=1, keepdim=True),
    lambda x: x.amax(1),
    lambda x: x.amin(-2, keepdim=True),
    lambda x: dg.softmax(x, -1),
    lambda x: dg.nn.functional.softmax(x, dim=0),
    lambda x: dg.nn.functional.log_softmax(x, dim=1),
    lambda x: x.transpose(0, 1),
    lambda x: x.reshape(2, 3, 2).transpose(-1, 0),
    lambda x: x.reshape(-1),
    lambda x: x.reshape((3, 4)),
    lambda x: x @ x.t(),
])
def test_values_and_gradients_match_the_general_path(call):
    # Twice: the second call takes the cached attributes.
    for _ in range(2):
        x = _x(4, 3, dtype=dg.float64)
        out = call(x)
        (out * out).sum().backward()
        y = _x(4, 3, dtype=dg.float64)
        with dg.autograd.detect_anomaly():  # (forward checks, and the watched sweep)
            ref = call(y)
            (ref * ref).sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=1e-12)
        assert out.dtype == ref.dtype and out.shape == ref.shape


def test_results_keep_dtype_and_record_nothing_without_grad():
    x = _x(3, 4)
    with dg.no_grad():
        for out in (x.mean(1), x.sum(1), dg.softmax(x, 1), x.transpose(0, 1), x.reshape(12)):
            assert out.dtype == dg.float32 and out.grad_fn is None and not out.requires_grad
    h = dg.tensor(np.ones((2, 2)), dtype=dg.float16)
    assert h.mean(1).dtype == dg.float16 and dg.softmax(h, 1).dtype == dg.float16
    assert dg.tensor([[1, 2], [3, 4]]).sum(1).dtype == dg.int64


def test_errors_are_raised_every_time():
    x = _x(3, 4)
    for _ in range(2):
        with pytest.raises(IndexError):
            x.mean(2)
        with pytest.raises(IndexError):
            x.transpose(0, 5)
        with pytest.raises(IndexError):
            x.amax(-3)
        with pytest.raises(TypeError):
            x.mean(True)  # a bool is not a dim, though True == 1 is a cached key
        with pytest.raises(TypeError):
            x.transpose(True, 0)
        with pytest.raises(RuntimeError):
            x.reshape(5, 2)
        with pytest.raises(RuntimeError):
            x @ _x(4, 2, dtype=dg.float64)  # dtypes differ
        with pytest.raises(RuntimeError):
            x @ _x(3, 2)  # inner sizes differ
        with pytest.raises(IndexError):
            dg.tensor(np.zeros((0, 3))).amax(0)


def test_reshape_sizes_given_as_tensors_are_read_each_time():
    x = _x(3, 4)
    n = dg.tensor(6)
    assert x.reshape(n, -1).shape == (6, 2)
    n.fill_(4)
    assert x.reshape(n, -1).shape == (4, 3)
    assert x.reshape([2, 6]).shape == (2, 6)  # (a list: not cached)
    assert x.reshape(2, 6).shape == (2, 6)
    same = x.reshape(3, 4)  # a new view, as in PyTorch (not x itself)
    assert same is not x and same.shape == (3, 4) and same.grad_fn is not None


def test_cached_attributes_are_not_shared_state_between_results():
    x = _x(2, 3, 4)
    a, b = x.transpose(1, 2), x.transpose(1, 2)
    assert a.grad_fn.attrs == b.grad_fn.attrs == {"dims": (0, 2, 1)}
    a.grad_fn.attrs["dims"] = None  # a copy: the shared attributes are untouched
    assert x.transpose(1, 2).grad_fn.attrs == {"dims": (0, 2, 1)}
    assert x.mean(1, keepdim=True).grad_fn.attrs == {"dim": 1, "keepdim": True}


def test_capture_step_replays_the_checked_calls():
    W = _x(4, 4)

    def loss():
        z = (W @ W.t()).reshape(2, 2, 4).transpose(1, 2).reshape(4, 4)
        z = z - z.mean(dim=1, keepdim=True)
        return dg.nn.functional.log_softmax(dg.softmax(z, 1), dim=0).amax(1).sum()

    eager = loss()
    eager.backward()
    want = W.grad.numpy().copy()
    step = dg.capture_step(loss)
    for _ in range(2):
        W.grad = None
        got = step()
        np.testing.assert_array_equal(got.numpy(), eager.detach().numpy())
        np.testing.assert_array_equal(W.grad.numpy(), want)
