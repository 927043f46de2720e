"""PR22 (session 29): differences found by running public PyTorch programs on deltagrad, each
reduced to its own minimal differential check against PyTorch.

- pad_packed_sequence's padded batch: PyTorch writes the packed rows into a padding tensor, so
  its grad_fn is CopySlices (a program printing the LSTM's padded output shows it).
- affine_grid's base grid: PyTorch's linspace and ``* (n - 1) / n`` in theta's dtype (the
  spatial-transformer tutorial's identity theta gave grid points a last bit off NumPy's).
- grid_sample's grid gradient for points on pixels (align_corners=False): PyTorch's 2-d CPU
  kernel unnormalises with one fused multiply-add, so floor() can pick the pixel before and
  the gradient is the other side's difference (the tutorial's fc_loc gradient was 1.5% off).
"""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _both(fn):
    return fn(dg), fn(torch)


@pytest.mark.parametrize("batch_first", [False, True], ids=["steps-first", "batch-first"])
@pytest.mark.parametrize("enforce_sorted", [True, False], ids=["sorted", "unsorted"])
def test_pad_packed_sequence_grad_fn_and_grads(batch_first, enforce_sorted):
    lengths = [4, 2, 1] if enforce_sorted else [2, 4, 1]
    rng = np.random.default_rng(3)
    values = [rng.standard_normal((n, 2)) for n in lengths]
    weights = rng.standard_normal((4, 3, 2))

    def run(lib):
        seqs = [lib.tensor(v, requires_grad=True) for v in values]
        packed = lib.nn.utils.rnn.pack_sequence(seqs, enforce_sorted=enforce_sorted)
        padded, lens = lib.nn.utils.rnn.pad_packed_sequence(packed, batch_first=batch_first,
                                                            padding_value=-1.5)
        w = lib.tensor(weights.transpose(1, 0, 2) if batch_first else weights)
        (padded * w).sum().backward()
        return (type(padded.grad_fn).__name__, padded.detach().numpy(), lens.tolist(),
                padded.is_contiguous(), [s.grad.numpy() for s in seqs])

    ours, theirs = _both(run)
    assert ours[0] == theirs[0]
    np.testing.assert_array_equal(ours[1], theirs[1])
    assert ours[2:4] == theirs[2:4]
    for a, b in zip(ours[4], theirs[4]):
        np.testing.assert_array_equal(a, b)


def test_pad_packed_sequence_without_grad_is_plain():
    def run(lib):
        packed = lib.nn.utils.rnn.pack_sequence([lib.ones(3, 2), lib.ones(1, 2)])
        padded, _ = lib.nn.utils.rnn.pad_packed_sequence(packed)
        return padded.grad_fn is None, padded.requires_grad, padded.tolist()

    ours, theirs = _both(run)
    assert ours == theirs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("align_corners", [False, True], ids=["centres", "corners"])
def test_affine_grid_base_bits_match_torch(dtype, align_corners):
    def run(lib):
        theta = lib.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                            [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]], dtype=getattr(lib, dtype))
        out = [lib.nn.functional.affine_grid(theta, (2, 1, h, w), align_corners=align_corners)
               for h, w in ((6, 7), (11, 3), (1, 5), (28, 28))]
        theta3 = lib.eye(3, 4, dtype=getattr(lib, dtype))[None]
        out.append(lib.nn.functional.affine_grid(theta3, (1, 1, 3, 7, 5),
                                                 align_corners=align_corners))
        return [g.numpy() for g in out]

    ours, theirs = _both(run)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_grid_sample_grid_grad_on_pixels_matches_torch(dtype, padding_mode):
    # x values i**2 make each one-sided difference distinct: a different floor() shows.
    def run(lib):
        grads = []
        for width in (5, 7, 9, 11, 13, 28):
            img = (lib.arange(width, dtype=getattr(lib, dtype)) ** 2).view(1, 1, 1, width)
            img = img.repeat(1, 2, 3, 1)
            theta = lib.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=getattr(lib, dtype))
            grid = lib.nn.functional.affine_grid(theta, (1, 2, 3, width), align_corners=False)
            grid = grid.detach().requires_grad_(True)
            out = lib.nn.functional.grid_sample(img, grid, padding_mode=padding_mode,
                                                align_corners=False)
            out.sum().backward()
            grads.append(grid.grad.numpy())
        return grads

    ours, theirs = _both(run)
    for a, b in zip(ours, theirs):
        # (the other side's difference is off by 2 or more; last bits may differ)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


def test_grid_sample_3d_on_pixels_keeps_plain_rounding():
    # PyTorch's 3-d kernel rounds (coord + 1) * size - 1 and / 2 separately: no fused step.
    def run(lib):
        img = (lib.arange(7, dtype=lib.float64) ** 2).view(1, 1, 1, 1, 7)
        theta = lib.eye(3, 4, dtype=lib.float64)[None]
        grid = lib.nn.functional.affine_grid(theta, (1, 1, 1, 1, 7), align_corners=False)
        grid = grid.detach().requires_grad_(True)
        lib.nn.functional.grid_sample(img, grid, align_corners=False).sum().backward()
        return grid.grad.numpy()

    ours, theirs = _both(run)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)


def test_spatial_transformer_step_matches_torch():
    # A localisation head initialised to the identity (as the STN tutorial does): the theta
    # gradient goes through affine_grid and grid_sample at on-pixel points.
    rng = np.random.default_rng(0)
    x = rng.random((3, 1, 12, 12)).astype(np.float32)
    w = rng.standard_normal((6, 12 * 12)).astype(np.float32) * 0.01
    upstream = rng.standard_normal((3, 1, 12, 12)).astype(np.float32)

    def run(lib):
        weight = lib.tensor(w, requires_grad=True)
        bias = lib.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], requires_grad=True)
        data = lib.tensor(x)
        theta = (data.flatten(1) @ weight.t() * 0 + bias).view(-1, 2, 3)
        grid = lib.nn.functional.affine_grid(theta, data.size(), align_corners=False)
        out = lib.nn.functional.grid_sample(data, grid, align_corners=False)
        (out * lib.tensor(upstream)).sum().backward()
        return out.detach().numpy(), bias.grad.numpy()

    (out, grad), (tout, tgrad) = _both(run)
    np.testing.assert_allclose(out, tout, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(grad, tgrad, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_affine_grid_in_reduced_precision_as_pytorch(dtype):
    # (the base grid from deltagrad's linspace read its values with .numpy(), which refuses
    # bfloat16: affine_grid of a bfloat16 theta raised; NF1's soak run found it)
    theta = [[[1.0, 0.2, 0.0], [0.1, 1.0, 0.0]]]
    ref = torch.nn.functional.affine_grid(torch.tensor(theta).to(getattr(torch, dtype)),
                                          (1, 1, 3, 4), align_corners=False)
    got = dg.nn.functional.affine_grid(dg.tensor(theta).to(getattr(dg, dtype)),
                                       (1, 1, 3, 4), align_corners=False)
    assert str(got.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    assert tuple(got.shape) == tuple(ref.shape)
    np.testing.assert_array_equal(got.float().numpy(), ref.float().numpy())
