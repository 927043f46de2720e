"""SP43 (s28): a convolution's input gradient, and so a transposed convolution's forward, by
phases of the output at large sizes (``nn._col2im_offsets.by_phases``), and a transposed
convolution's backward by slabs of columns (``transpose_grads``). Differential against
PyTorch: the threshold is lowered to 0 so that small shapes take the new paths."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import _col2im_offsets

torch = pytest.importorskip("torch")

# (spatial, batch, in, out, kernel, stride, padding, output_padding, dilation, groups)
CASES = {
    "1d_s2": (1, 2, 4, 6, 5, 2, 2, 1, 1, 1),
    "1d_s3_d2_g2": (1, 3, 4, 6, 3, 3, 1, 2, 2, 2),
    "2d_s2": (2, 2, 3, 5, 4, 2, 1, 0, 1, 1),
    "2d_s21_op": (2, 2, 4, 4, (3, 2), (2, 1), (1, 0), (1, 0), 1, 2),
    "2d_d2_g4": (2, 1, 8, 4, 3, 2, 2, 1, 2, 4),
    "2d_s1_wide": (2, 2, 8, 2, 3, 1, 1, 0, 1, 1),
    "3d_doc": (3, 2, 4, 6, (3, 5, 2), (2, 1, 1), (0, 4, 2), 0, 1, 1),
    "3d_s2_g2": (3, 1, 4, 4, 2, 2, 0, 1, 1, 2),
}


def _modules(case, dtype):
    spatial, batch, cin, cout, kernel, stride, padding, out_pad, dilation, groups = case
    kinds = {1: "ConvTranspose1d", 2: "ConvTranspose2d", 3: "ConvTranspose3d"}
    rng = np.random.default_rng(spatial * 7 + cin)
    size = {1: (9,), 2: (7, 6), 3: (4, 5, 6)}[spatial]
    x = rng.standard_normal((batch, cin) + size).astype(dtype)
    pair = []
    for lib in (torch, dg):
        m = getattr(lib.nn, kinds[spatial])(cin, cout, kernel, stride=stride, padding=padding,
                                            output_padding=out_pad, dilation=dilation,
                                            groups=groups).to(getattr(lib, np.dtype(dtype).name))
        pair.append((lib, m))
    weights = rng.standard_normal(tuple(pair[0][1].weight.shape)).astype(dtype)
    bias = rng.standard_normal(cout).astype(dtype)
    for lib, m in pair:
        with lib.no_grad():
            m.weight.copy_(lib.from_numpy(weights))
            m.bias.copy_(lib.from_numpy(bias))
    return pair, x


@pytest.fixture
def offsets_path(monkeypatch):
    monkeypatch.setattr(_col2im_offsets, "LARGE_COLUMNS", 0)


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_grads_match_torch(name, offsets_path):
    pair, x = _modules(CASES[name], np.float32)
    results = []
    for lib, m in pair:
        xi = lib.from_numpy(x.copy()).requires_grad_()
        y = m(xi)
        gy = np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(np.float32)
        y.backward(lib.from_numpy(gy))
        results.append([t.detach().numpy() for t in (y, xi.grad, m.weight.grad, m.bias.grad)])
    for ours, theirs in zip(results[1], results[0]):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * np.abs(theirs).max())


@pytest.mark.parametrize("name", ["1d_s3_d2_g2", "2d_s21_op", "3d_s2_g2"])
def test_gradcheck_float64(name, offsets_path):
    pair, x = _modules(CASES[name], np.float64)
    m = pair[1][1]
    small = x[(slice(0, 1), slice(None)) + (slice(0, 3),) * (x.ndim - 2)]  # (a small input)
    xi = dg.from_numpy(small.copy()).requires_grad_()
    assert dg.autograd.gradcheck(lambda a: m(a), (xi,))
    assert dg.autograd.gradgradcheck(lambda a: m(a), (xi,))


def test_strided_conv_input_grad_matches_torch(offsets_path):
    # conv2d's backward to its input at stride 2 (the same kernel, in its other role)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 11, 9)).astype(np.float32)
    w = rng.standard_normal((8, 3, 3, 3)).astype(np.float32)
    grads = []
    for lib in (torch, dg):
        xi = lib.from_numpy(x.copy()).requires_grad_()
        lib.nn.functional.conv2d(xi, lib.from_numpy(w), stride=2, padding=1,
                                 groups=2).square().sum().backward()
        grads.append(xi.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=1e-4, atol=1e-4)


def test_large_input_takes_offsets(monkeypatch):
    # past the threshold (no lowering): the new path, against PyTorch
    calls = []
    original = _col2im_offsets.by_phases
    monkeypatch.setattr(_col2im_offsets, "by_phases",
                        lambda *args: calls.append(1) or original(*args))
    rng = np.random.default_rng(4)
    g = rng.standard_normal((8, 8, 6, 20, 20)).astype(np.float32)
    w = rng.standard_normal((8, 16, 3, 3, 2)).astype(np.float32)  # (5.5M column entries)
    ours = dg.nn.functional.conv_transpose3d(dg.from_numpy(g), dg.from_numpy(w), stride=2,
                                             padding=(1, 1, 0), output_padding=(0, 1, 1))
    theirs = torch.nn.functional.conv_transpose3d(torch.from_numpy(g), torch.from_numpy(w),
                                                  stride=2, padding=(1, 1, 0),
                                                  output_padding=(0, 1, 1))
    assert calls == [1]
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-4, atol=1e-4)


def test_phases_match_col2im_on_random_geometries(monkeypatch):
    # by_phases against the one-GEMM-and-col2im path, float64, 1-3 dims, every argument
    from deltagrad.nn.conv2d_kernels import _input_grad
    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(80):
        spatial, groups = int(rng.integers(1, 4)), int(rng.choice([1, 2]))
        out_channels, per = groups * int(rng.integers(1, 3)), int(rng.integers(1, 3))
        kernel = tuple(int(v) for v in rng.integers(1, 5, spatial))
        stride = tuple(int(v) for v in rng.integers(1, 4, spatial))
        dilation = tuple(int(v) for v in rng.integers(1, 3, spatial))
        grid = tuple(int(v) for v in rng.integers(1, 6, spatial))
        padding = tuple(int(rng.integers(0, (k - 1) * d + 1)) for k, d in zip(kernel, dilation))
        extra = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
        size = tuple((m - 1) * s - 2 * p + d * (k - 1) + e + 1 for m, s, p, d, k, e
                     in zip(grid, stride, padding, dilation, kernel, extra))
        if min(size) <= 0:
            continue
        g = rng.standard_normal((2, out_channels) + grid)[:, :, ::-1]  # (non-contiguous)
        w = rng.standard_normal((out_channels, per) + kernel)
        geometry = (size, stride, dilation, tuple((p, p) for p in padding), groups)
        monkeypatch.setattr(_col2im_offsets, "LARGE_COLUMNS", 1 << 62)
        expected = _input_grad(g, w, *geometry)
        ours = _col2im_offsets.by_phases(g, w, *geometry)
        assert ours.shape == expected.shape
        np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-12)
        checked += 1
    assert checked > 40
