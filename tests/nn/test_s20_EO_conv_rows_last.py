"""2-d convolutions through rows-last columns (s20 EO, ``conv2d_kernels._columns_rows_last``):
the forward and the weight / bias gradients of groups-1, undilated convolutions whose window rows
hold 32 entries or more, against PyTorch: strides, paddings (strings too), no bias, float32 and
float64, channels-last and non-contiguous inputs, only one of input / weight wanting a gradient,
a recorded (double) backward, an empty batch, and the geometries that keep the usual columns."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.nn import conv2d_kernels

torch = pytest.importorskip("torch")

# x shape, weight shape, keyword arguments, whether the rows-last columns are taken
CASES = [
    ((4, 16, 14, 14), (32, 16, 3, 3), dict(padding=1), True),  # W6 / W8 cnn's second conv
    ((3, 16, 17, 16), (5, 16, 3, 3), dict(stride=2), True),
    ((2, 33, 7, 20), (4, 33, 2, 5), dict(stride=(1, 2), padding=(2, 0)), True),
    ((2, 32, 12, 12), (7, 32, 1, 1), dict(stride=2), True),
    ((3, 12, 8, 7), (6, 12, 3, 3), dict(padding="same"), True),
    ((2, 16, 9, 8), (3, 16, 3, 3), dict(stride=2), False),  # 12 positions: the usual ones
    ((2, 16, 5, 5), (3, 16, 5, 5), dict(padding="valid"), False),  # one position
    ((0, 16, 5, 5), (3, 16, 3, 3), dict(padding=1), False),  # an empty batch
]


def _run(library, x, w, b, kwargs, dtype, needs=(True, True, True), layout=None):
    kind = getattr(library, dtype)
    xt = library.tensor(x, dtype=kind)
    if layout == "channels_last":
        xt = xt.contiguous(memory_format=library.channels_last)
    elif layout == "strided":
        xt = library.tensor(np.concatenate([x, x], axis=3), dtype=kind)[..., ::2]
    tensors = [xt, library.tensor(w, dtype=kind)]
    tensors += [] if b is None else [library.tensor(b, dtype=kind)]
    for tensor, need in zip(tensors, needs):
        tensor.requires_grad_(need)
    y = library.nn.functional.conv2d(*tensors[:2], tensors[2] if len(tensors) > 2 else None,
                                     **kwargs)
    g = np.cos(np.arange(int(np.prod(y.shape)))).reshape(tuple(y.shape))
    y.backward(library.tensor(g, dtype=kind))
    return [y.detach()] + [t.grad for t in tensors]


def _compare(ours, theirs, tol):
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None
            continue
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype)[-7:] == str(b.dtype)[-7:]
        np.testing.assert_allclose(a.double().numpy(), b.double().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_conv2d_rows_last_matches_torch(case, bias, dtype, monkeypatch):
    x_shape, w_shape, kwargs, rows_last = CASES[case]
    rng = np.random.default_rng(case)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0]) if bias else None
    tol = 2e-4 if dtype == "float32" else 1e-10
    calls = []
    original = conv2d_kernels._columns_rows_last
    monkeypatch.setattr(conv2d_kernels, "_columns_rows_last",
                        lambda *args: calls.append(1) or original(*args))
    _compare(_run(dg, x, w, b, kwargs, dtype), _run(torch, x, w, b, kwargs, dtype), tol)
    assert len(calls) == rows_last


@pytest.mark.parametrize("needs", [(True, False, False), (False, True, True),
                                   (False, True, False), (False, False, True)])
@pytest.mark.parametrize("layout", [None, "channels_last", "strided"])
def test_conv2d_rows_last_partial_grads_and_layouts(needs, layout):
    rng = np.random.default_rng(7)
    x, w, b = (rng.standard_normal((3, 16, 6, 7)), rng.standard_normal((8, 16, 3, 3)),
               rng.standard_normal(8))
    ours = _run(dg, x, w, b, dict(padding=1), "float32", needs, layout)
    theirs = _run(torch, x, w, b, dict(padding=1), "float32", needs, layout)
    _compare(ours, theirs, 2e-4)
    assert ours[0].is_contiguous(memory_format=dg.channels_last) == theirs[0].is_contiguous(
        memory_format=torch.channels_last)


def test_conv2d_rows_last_double_backward():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((2, 16, 5, 5)), rng.standard_normal((4, 16, 3, 3)),
              rng.standard_normal(4)]
    results = []
    for library in (dg, torch):
        x, w, b = (library.tensor(a, requires_grad=True) for a in arrays)
        y = library.nn.functional.conv2d(x, w, b, padding=1)
        gx, gw = library.autograd.grad((y * y).sum(), (x, w), create_graph=True)
        (gx.square().sum() + gw.square().sum()).backward()
        results.append([x.grad, w.grad, b.grad])
    _compare(results[0], results[1], 1e-9)


def test_layer_in_training_loop_matches_torch():
    """Conv2d(16, 32, 3, padding=1) under SGD for a few steps: weights as PyTorch's."""
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((8, 16, 7, 7)).astype(np.float32) for _ in range(3)]
    start = [rng.standard_normal((32, 16, 3, 3)).astype(np.float32) * 0.1,
             rng.standard_normal(32).astype(np.float32) * 0.1]
    weights = []
    for library in (dg, torch):
        layer = library.nn.Conv2d(16, 32, 3, padding=1)
        with library.no_grad():
            layer.weight.copy_(library.tensor(start[0]))
            layer.bias.copy_(library.tensor(start[1]))
        optimizer = library.optim.SGD(layer.parameters(), lr=0.1)
        for x in batches:
            optimizer.zero_grad()
            layer(library.tensor(x)).relu().mean().backward()
            optimizer.step()
        weights.append([layer.weight.detach(), layer.bias.detach()])
    _compare(weights[0], weights[1], 1e-5)


def test_the_path_is_taken_where_it_fits():
    """The geometries above take the rows-last columns; 1 input channel (W6's first
    convolution), groups, dilation and cropping keep the usual ones."""
    x = np.zeros((4, 16, 14, 14), np.float32)
    w2 = np.zeros((32, 16 * 9 + 1), np.float32)
    cols, y, rows_last = conv2d_kernels._columns_and_product(
        x, w2, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), (14, 14), True, 1, True)
    assert rows_last and cols.shape == (4, 196, 145) and y.shape == (4, 32, 196)
    # (columns not kept for a weight gradient: the usual ones, whose product is faster)
    assert not conv2d_kernels._columns_and_product(
        x, w2, (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), (14, 14), True, 1, False)[2]
    fits = conv2d_kernels.rows_last_fits
    pads = ((1, 1), (1, 1))
    assert fits((4, 16, 14, 14), (3, 3), (1, 1), 1, pads, (14, 14), 32)
    assert not fits((4, 1, 28, 28), (3, 3), (1, 1), 1, pads, (28, 28), 32)
    assert not fits((4, 16, 14, 14), (3, 3), (1, 1), 2, pads, (14, 14), 32)
    assert not fits((4, 16, 14, 14), (3, 3), (2, 1), 1, pads, (12, 14), 32)
    assert not fits((4, 16, 14, 14), (3, 3), (1, 1), 1, ((-1, 0), (0, 0)), (11, 12), 32)
    assert not fits((4, 32, 4, 4), (4, 4), (1, 1), 1, ((0, 0), (0, 0)), (1, 1), 32)
    assert not fits((4, 16, 14, 14, 3), (3, 3, 1), (1, 1, 1), 1, ((1, 1),) * 3, (14, 14, 3),
                    32)
    assert not fits((4, 32, 14, 14), (3, 3), (1, 1), 1, pads, (14, 14), 64)  # (BLAS's size)


# The input gradient (and a stride-1 transposed convolution's forward) by the rows-last
# correlation: function, x shape, weight shape, keyword arguments, whether it is taken
INPUT_GRAD_CASES = [
    ("conv2d", (4, 16, 14, 14), (32, 16, 3, 3), dict(padding=1), True),
    ("conv2d", (3, 8, 9, 7), (16, 8, 3, 2), dict(dilation=(2, 1)), True),
    ("conv2d", (2, 16, 6, 6), (16, 16, 2, 3), dict(padding=(1, 0)), True),
    ("conv2d", (2, 16, 6, 6), (16, 16, 3, 3), dict(padding=3), False),  # (a cropped gradient)
    ("conv2d", (2, 8, 6, 6), (8, 8, 3, 3), dict(padding=1), False),  # (runs of 24 entries)
    ("conv_transpose2d", (3, 32, 5, 6), (32, 16, 3, 3), dict(padding=1), True),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", range(len(INPUT_GRAD_CASES)))
def test_input_grad_rows_last_matches_torch(case, dtype, monkeypatch):
    name, x_shape, w_shape, kwargs, taken = INPUT_GRAD_CASES[case]
    rng = np.random.default_rng(10 + case)
    arrays = [rng.standard_normal(x_shape), rng.standard_normal(w_shape)]
    calls = []
    monkeypatch.setattr(conv2d_kernels, "ROWS_LAST_INPUT_GRAD", True)  # (off by default)
    original = conv2d_kernels._correlate_rows_last
    monkeypatch.setattr(conv2d_kernels, "_correlate_rows_last",
                        lambda *args: calls.append(1) or original(*args))
    results = []
    for library in (dg, torch):
        x, w = (library.tensor(a, dtype=getattr(library, dtype), requires_grad=True)
                for a in arrays)
        y = getattr(library.nn.functional, name)(x, w, **kwargs)
        y.backward(library.tensor(np.sin(np.arange(y.numel())).reshape(tuple(y.shape)),
                                  dtype=getattr(library, dtype)))
        results.append([y.detach(), x.grad, w.grad])
    _compare(results[0], results[1], 2e-4 if dtype == "float32" else 1e-10)
    assert bool(calls) == taken


def test_input_grad_rows_last_is_off_by_default(monkeypatch):
    """The rows-last input gradient stays off (conv2d_kernels.ROWS_LAST_INPUT_GRAD's reason):
    the first case above, which takes it when it is on, takes the usual correlation."""
    calls = []
    monkeypatch.setattr(conv2d_kernels, "_correlate_rows_last",
                        lambda *args: calls.append(1))
    x = dg.randn(4, 16, 14, 14, requires_grad=True)
    dg.nn.functional.conv2d(x, dg.randn(32, 16, 3, 3), padding=1).sum().backward()
    assert not calls and tuple(x.grad.shape) == (4, 16, 14, 14)
