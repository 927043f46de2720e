"""Training-mode batch normalization's elementwise passes over ``[n, C L]`` rows from
``_batch_norm_kernels._ROWS_FROM`` entries (SP39 s27): the same bits as the ``[C, 1]`` columns
they replace (forward, input / weight / bias gradients, running statistics), and PyTorch's
values and gradients, for BatchNorm1d / 2d / 3d, float32 / float64, with and without affine
parameters, and a channels-last input."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _batch_norm_kernels

torch = pytest.importorskip("torch")

# (id, layer, shape, dtype, affine, channels_last)
CASES = [
    ("w6_bn2d", "BatchNorm2d", (16, 16, 28, 28), "float32", True, False),
    ("bn2d_f64", "BatchNorm2d", (8, 8, 32, 32), "float64", True, False),
    ("bn2d_plain", "BatchNorm2d", (8, 8, 32, 32), "float32", False, False),
    ("bn1d_rows", "BatchNorm1d", (8192, 12), "float32", True, False),
    ("bn1d_seq", "BatchNorm1d", (16, 8, 600), "float32", True, False),
    ("bn3d", "BatchNorm3d", (4, 6, 12, 16, 16), "float32", True, False),
    ("bn2d_nhwc", "BatchNorm2d", (8, 8, 32, 32), "float32", True, True),
]


def _run(lib, case, x, g):
    _, layer, _, dtype, affine, channels_last = case
    lib.manual_seed(0)
    module = getattr(lib.nn, layer)(x.shape[1], affine=affine, dtype=getattr(lib, dtype))
    if affine:
        with lib.no_grad():
            module.weight.copy_(lib.from_numpy(np.linspace(0.5, 1.5, x.shape[1])))
            module.bias.copy_(lib.from_numpy(np.linspace(-1.0, 1.0, x.shape[1])))
    xt = lib.from_numpy(x.copy())
    if channels_last:
        xt = xt.contiguous(memory_format=lib.channels_last)
    xt.requires_grad_(True)
    y = module(xt)
    y.backward(lib.from_numpy(g.copy()))
    out = [y.detach(), xt.grad, module.running_mean, module.running_var]
    if affine:
        out += [module.weight.grad, module.bias.grad]
    return [t.numpy() for t in out]


def _data(case):
    rng = np.random.default_rng(len(case[0]))
    shape, dtype = case[2], np.dtype(case[3])
    x = (rng.standard_normal(shape) * 2.0 + 0.5).astype(dtype)
    return x, rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_rows_as_columns_and_pytorch(case, monkeypatch):
    x, g = _data(case)
    assert x.size >= _batch_norm_kernels._ROWS_FROM
    got = _run(dg, case, x, g)
    monkeypatch.setattr(_batch_norm_kernels, "_ROWS_FROM", 1 << 62)  # the [C, 1] columns
    columns = _run(dg, case, x, g)
    for a, b in zip(got, columns):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()
    want = _run(torch, case, x, g)
    tol = 1e-4 if case[3] == "float32" else 1e-10
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, float(np.abs(b).max())))


def test_rows_are_taken_from_the_bound(monkeypatch):
    lengths = []
    original = _batch_norm_kernels._flat

    def spy(a, vector):
        lengths.append(vector.ndim)
        return original(a, vector)

    monkeypatch.setattr(_batch_norm_kernels, "_flat", spy)
    for shape, rows in (((32, 32, 4, 4), False), ((32, 32, 16, 16), True)):
        lengths.clear()
        x = dg.randn(*shape, requires_grad=True)
        dg.nn.functional.batch_norm(x, None, None, training=True).sum().backward()
        assert lengths and set(lengths) == ({1} if rows else {2})


@pytest.mark.parametrize("shape", [(32, 16, 28, 28), (8, 24, 400), (4, 6, 12, 16, 16)],
                         ids=["w9_b32", "bn1d_seq", "bn3d"])
def test_eval_rows_as_columns_and_pytorch(shape, monkeypatch):
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 2.0 + 0.5).astype(np.float32)
    layer = {4: "BatchNorm2d", 3: "BatchNorm1d", 5: "BatchNorm3d"}[len(shape)]
    stats = (rng.normal(0, 0.5, shape[1]), rng.uniform(0.5, 2.0, shape[1]),
             np.linspace(0.5, 1.5, shape[1]), np.linspace(-1.0, 1.0, shape[1]))

    def run(lib):
        module = getattr(lib.nn, layer)(shape[1]).eval()
        with lib.no_grad():
            for tensor, value in zip((module.running_mean, module.running_var, module.weight,
                                      module.bias), stats):
                tensor.copy_(lib.from_numpy(value))
            return module(lib.from_numpy(x.copy())).numpy()

    got = run(dg)
    monkeypatch.setattr(_batch_norm_kernels, "_ROWS_FROM", 1 << 62)  # the [C, 1] columns
    assert got.tobytes() == run(dg).tobytes()
    want = run(torch)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
