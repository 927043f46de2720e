"""conv2d's inline small-input path pads with NumPy's zeros and one assignment (SP29,
conv2d_kernels._small_pad): the same bits as the blocked path's recycled padded buffer, and
PyTorch's values, for symmetric, 'same' (uneven) and no padding, with and without a bias."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import conv2d_kernels

torch = pytest.importorskip("torch")

_CASES = [  # (input shape, weight shape, keyword arguments)
    ((1, 1, 28, 28), (16, 1, 3, 3), {"padding": 1}),
    ((1, 16, 14, 14), (32, 16, 3, 3), {"padding": 1}),
    ((1, 32, 7, 7), (64, 32, 3, 3), {"padding": 1}),
    ((2, 3, 6, 5), (4, 3, 2, 2), {"padding": "same"}),  # pads (0, 1): uneven
    ((1, 4, 5, 5), (6, 2, 3, 3), {"padding": (2, 0), "stride": 2, "groups": 2}),
    ((1, 3, 6, 6), (5, 3, 3, 3), {}),  # no padding: the input is used as it is
]


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("case", range(len(_CASES)))
def test_same_bits_as_blocked_path_and_torch_values(case, bias, monkeypatch):
    shape, wshape, kwargs = _CASES[case]
    rng = np.random.default_rng(29 + case)
    a = rng.standard_normal(shape).astype(np.float32)
    a[0, 0, 0, :2] = [-0.0, np.inf]
    w = rng.standard_normal(wshape).astype(np.float32)
    b = rng.standard_normal(wshape[0]).astype(np.float32) if bias else None

    def run():
        with dg.no_grad():
            return dg.nn.functional.conv2d(dg.tensor(a), dg.tensor(w),
                                           None if b is None else dg.tensor(b), **kwargs).numpy()

    inline = run()
    monkeypatch.setattr(conv2d_kernels, "_INLINE_COLUMNS", 0)  # the blocked path
    blocked = run()
    np.testing.assert_array_equal(inline.view(np.uint32), blocked.view(np.uint32))
    expected = torch.nn.functional.conv2d(torch.tensor(a), torch.tensor(w),
                                          None if b is None else torch.tensor(b), **kwargs)
    np.testing.assert_allclose(inline, expected.numpy(), rtol=1e-4, atol=1e-4)


def test_grad_through_small_padded_conv():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((1, 2, 5, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    x, t = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    dg.nn.functional.conv2d(x, dg.tensor(w), padding=1).square().sum().backward()
    torch.nn.functional.conv2d(t, torch.tensor(w), padding=1).square().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-10)
