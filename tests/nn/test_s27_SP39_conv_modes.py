"""A convolution's forward gives the same bits whether or not its weight wants a gradient
(SP39 s27): the rows-last columns (``conv2d_kernels._columns_rows_last``) are taken wherever
they fit, under grad, no_grad and inference_mode, with a frozen weight too, as PyTorch's
forward is one kernel in every mode. Values against PyTorch as well."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

# (id, in_channels, out_channels, input shape, bias): W6's / W9's convolutions that fit the
# rows-last columns, at batch 1 and more
CASES = [
    ("w6_conv2", 16, 32, (16, 16, 14, 14), True),
    ("w9_conv3_b1", 32, 64, (1, 32, 7, 7), True),
    ("w9_conv2_b4", 16, 32, (4, 16, 14, 14), False),
]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
def test_forward_bits_same_in_every_mode(case):
    _, cin, cout, shape, bias = case
    rng = np.random.default_rng(cin + cout)
    x = rng.standard_normal(shape).astype(np.float32)
    dg.manual_seed(0)
    conv = dg.nn.Conv2d(cin, cout, 3, padding=1, bias=bias)
    xt = dg.from_numpy(x)
    graded = conv(xt).detach().numpy()
    with dg.no_grad():
        plain = conv(xt).numpy()
    with dg.inference_mode():
        inferred = conv(xt).numpy()
    conv.requires_grad_(False)
    frozen = conv(dg.from_numpy(x).requires_grad_(True)).detach().numpy()
    for other in (plain, inferred, frozen):
        assert other.tobytes() == graded.tobytes()
    reference = torch.nn.Conv2d(cin, cout, 3, padding=1, bias=bias)
    with torch.no_grad():
        reference.weight.copy_(torch.from_numpy(conv.weight.detach().numpy()))
        if bias:
            reference.bias.copy_(torch.from_numpy(conv.bias.detach().numpy()))
        want = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(graded, want, rtol=1e-5, atol=1e-5)
