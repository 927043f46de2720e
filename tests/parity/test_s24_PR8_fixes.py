"""Session 24, PR8's fixes found by the real-style programs (prog_s24_PR8_*.py).

Products and transforms of non-finite inputs: PyTorch gives inf * 0 -> nan and float32
overflow in matmul, mm, bmm, dot, Linear, the convolutions and the FFTs silently; NumPy's dot /
matmul / pocketfft kernels warned ("invalid value encountered in dot") from deltagrad's frames.
"""

import math
import warnings

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F

torch = pytest.importorskip("torch")


def _with_inf(lib, *shape):
    t = lib.zeros(*shape)
    t.view(-1)[0] = math.inf
    return t


PRODUCTS = {
    "matmul": lambda L: L.tensor([[math.inf, 1.0], [0, 1]]) @ L.tensor([[0.0, 1], [1, 0]]),
    "matmul64": lambda L: (L.tensor([[math.inf, 1.0], [0, 1]], dtype=L.float64)
                           @ L.tensor([[0.0, 1], [1, 0]], dtype=L.float64)),
    "overflow": lambda L: L.full((2, 2), 3e38) @ L.full((2, 2), 3e38),
    "bmm": lambda L: L.bmm(_with_inf(L, 2, 3, 4), L.zeros(2, 4, 5)),
    "batched": lambda L: L.matmul(_with_inf(L, 2, 3, 4), L.zeros(4, 5)),
    "dot": lambda L: L.dot(L.tensor([math.inf, 1.0]), L.tensor([0.0, 1])),
    "mv": lambda L: L.mv(_with_inf(L, 3, 4), L.zeros(4)),
    "linear": lambda L: L.nn.functional.linear(_with_inf(L, 3, 4), L.zeros(5, 4), L.zeros(5)),
    # (large enough for threads.matmul_serial's blocks)
    "linear_large": lambda L: L.nn.functional.linear(_with_inf(L, 300, 400), L.zeros(500, 400)),
    "addmm": lambda L: L.addmm(L.zeros(3, 5), _with_inf(L, 3, 4), L.zeros(4, 5)),
    "conv2d": lambda L: L.nn.functional.conv2d(_with_inf(L, 1, 2, 5, 5), L.zeros(3, 2, 3, 3)),
    "conv1d": lambda L: L.nn.functional.conv1d(_with_inf(L, 1, 2, 5), L.zeros(3, 2, 3)),
    "conv_transpose2d": lambda L: L.nn.functional.conv_transpose2d(_with_inf(L, 1, 2, 5, 5),
                                                                   L.zeros(2, 3, 3, 3)),
    # the transforms (pocketfft's kernels warned "invalid value encountered in fft")
    "fft": lambda L: L.fft.fft(L.tensor([math.inf, 0.0, 1.0, 2.0])),
    "ifft64": lambda L: L.fft.ifft(L.tensor([math.inf, 0.0, 1.0, 2.0], dtype=L.float64)),
    "rfft_odd": lambda L: L.fft.rfft(L.tensor([math.inf, 0.0, 1.0])),
    "irfft": lambda L: L.fft.irfft(L.fft.rfft(L.tensor([math.inf, 0.0, 1.0, 2.0]))),
    "fft2": lambda L: L.fft.fft2(L.tensor([[math.inf, 0.0], [1.0, 2.0]])),
    "stft": lambda L: L.stft(L.tensor([math.inf] + [0.0] * 15), 8, window=L.hann_window(8),
                             return_complex=True),
    # layer_norm's kernels (its forward ran outside apply: under a user's "error" filter the
    # warning was an exception)
    "layer_norm": lambda L: L.nn.functional.layer_norm(_with_inf(L, 2, 4), (4,)),
    "layer_norm_large": lambda L: L.nn.functional.layer_norm(_with_inf(L, 64, 300), (300,)),
    "layer_norm_n1": lambda L: L.nn.functional.layer_norm(_with_inf(L, 3, 1), (1,)),
    "layer_norm_module": lambda L: L.nn.LayerNorm(4)(_with_inf(L, 2, 4)),
}


@pytest.mark.parametrize("name", list(PRODUCTS))
def test_products_of_non_finite_inputs_are_silent(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = PRODUCTS[name](dg)
    assert [str(w.message) for w in caught] == []
    expected = PRODUCTS[name](torch)
    assert str(ours.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.detach().resolve_conj().numpy(),  # (nan where torch's)
                                  expected.detach().resolve_conj().numpy())


def test_backward_through_non_finite_products_is_silent():
    x = _with_inf(dg, 3, 4)
    w = dg.zeros(4, 5, requires_grad=True)
    lin = dg.nn.Linear(5, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (lin(x @ w)).sum().backward()
    assert [str(w.message) for w in caught] == []
    tx, tw = _with_inf(torch, 3, 4), torch.zeros(4, 5, requires_grad=True)
    tlin = torch.nn.Linear(5, 2)
    tlin.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in lin.state_dict().items()})
    (tlin(tx @ tw)).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("shape", [(2, 4), (64, 300)])
def test_layer_norm_backward_of_non_finite_rows_is_silent(shape):
    x = _with_inf(dg, *shape).requires_grad_(True)
    tx = _with_inf(torch, *shape).requires_grad_(True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")  # (an exception before the fix)
        (F.layer_norm(x, shape[1:]) * dg.arange(shape[1])).sum().backward()
    assert [str(w.message) for w in caught] == []
    (torch.nn.functional.layer_norm(tx, shape[1:]) * torch.arange(shape[1])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5)  # (nan where torch's)


def test_warnings_as_errors_still_give_the_result():
    # a user's filterwarnings("error") must not turn the quiet products into exceptions
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = dg.tensor([[math.inf, 1.0], [0, 1]]) @ dg.tensor([[0.0, 1], [1, 0]])
        conv = F.conv2d(_with_inf(dg, 1, 2, 5, 5), dg.zeros(3, 2, 3, 3))
    assert math.isnan(out[0, 0].item()) and out[1].tolist() == [1.0, 0.0]
    assert math.isnan(conv[0, 0, 0, 0].item())


def test_numpy_warnings_elsewhere_stay_warnings():
    # the filter is for deltagrad's own frames: a user's NumPy product still warns
    a = np.array([[np.inf, 1.0], [0, 1]], dtype=np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a.dot(np.eye(2, dtype=np.float32)[::-1].copy())
    assert any("invalid value" in str(w.message) for w in caught)
