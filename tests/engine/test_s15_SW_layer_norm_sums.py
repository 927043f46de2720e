"""layer_norm's small-input VJP: the weight's and bias's gradients summed over the leading dims
as a product with a row of ones (or, with no leading dims, taken as they are), against PyTorch,
and sharing no memory with the upstream gradient or with each other."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(1815)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape,norm", [
    ((5,), (5,)),              # no leading dims: the gradients as they are
    ((3, 4), (4,)),            # one leading dim
    ((2, 3, 40), (40,)),       # rows longer than the dense path's 32: the columns of 1 / n
    ((2, 3, 4, 5), (4, 5)),    # two normalized dims: the sum reshaped to the weight's shape
    ((2, 3, 4), (2, 3, 4)),    # every dim normalized
])
def test_affine_gradients_match_torch(dtype, x_shape, norm):
    x = RNG.standard_normal(x_shape).astype(dtype) * 2 + 1
    w = RNG.standard_normal(norm).astype(dtype)
    b = RNG.standard_normal(norm).astype(dtype)
    g = RNG.standard_normal(x_shape).astype(dtype)
    grads = {}
    for name, lib in (("dg", dg), ("torch", torch)):
        xs = [lib.tensor(a.copy(), requires_grad=True) for a in (x, w, b)]
        lib.nn.functional.layer_norm(*xs[:1], norm, *xs[1:], 1e-5).backward(lib.tensor(g.copy()))
        grads[name] = [np.asarray(t.grad.detach().numpy() if name == "torch" else t.grad.numpy())
                       for t in xs]
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    for got, want in zip(grads["dg"], grads["torch"]):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **tol)


@pytest.mark.parametrize("x_shape", [(5,), (3, 5)])
def test_affine_gradients_own_their_memory(x_shape):
    # With no leading dims the bias's gradient has the upstream gradient's values (the rule
    # copies them; the engine would copy a lent seed too): changing one .grad in place, or the
    # gradient passed in, changes nothing else.
    x = dg.tensor(RNG.standard_normal(x_shape).astype(np.float32), requires_grad=True)
    w = dg.tensor(RNG.standard_normal(5).astype(np.float32), requires_grad=True)
    b = dg.tensor(RNG.standard_normal(5).astype(np.float32), requires_grad=True)
    g = dg.tensor(RNG.standard_normal(x_shape).astype(np.float32))
    dg.nn.functional.layer_norm(x, (5,), w, b).backward(g)
    want = np.asarray(g.numpy()).reshape(-1, 5).sum(axis=0)
    np.testing.assert_allclose(b.grad.numpy(), want, rtol=1e-6)
    arrays = [t.grad.numpy() for t in (x, w, b)] + [g.numpy()]
    for i, first in enumerate(arrays):
        for second in arrays[i + 1:]:
            assert not np.shares_memory(first, second)
    g.numpy()[...] = 0.0
    np.testing.assert_allclose(b.grad.numpy(), want, rtol=1e-6)


@pytest.mark.parametrize("rows", ["normal", "offset", "first_outlier", "wide"])
def test_large_rows_are_centred_accurately(rows):
    # The large path ([1024, 64]: W4's) centres each row by its first value and then by the
    # mean of the differences: as accurate as a float64 mean, also where a common offset
    # (PyTorch's own error there is 1.2e-4) or an outlying first value would cost a one-pass
    # or poorly centred variance its digits.
    x = RNG.standard_normal((1024, 64))
    if rows == "offset":
        x += 1000.0
    elif rows == "first_outlier":
        x[:, 0] = 1000.0
    elif rows == "wide":
        x *= 1e4
    x = x.astype(np.float32)
    out = dg.nn.functional.layer_norm(dg.tensor(x), (64,)).numpy()
    wide = x.astype(np.float64)
    centred = wide - wide.mean(axis=1, keepdims=True)
    want = centred / np.sqrt((centred * centred).mean(axis=1, keepdims=True) + 1e-5)
    assert np.abs(out - want).max() < 4e-6
