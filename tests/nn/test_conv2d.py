"""2-d / 3-d convolution, pooling and normalization layers: gradcheck and double backward of
every primitive, the layers against PyTorch's (state dicts, initialisation, reprs, modes,
errors) and a small CNN trained side by side with PyTorch."""

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.nn import functional as F

torch = pytest.importorskip("torch")


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def leaf(*shape, seed=0):
    return dg.tensor(randn(*shape, seed=seed), requires_grad=True)


def copy_state(ours, theirs):
    """Give ``ours`` the parameters and buffers of the PyTorch module ``theirs``."""
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})


def assert_close(ours, theirs, rtol=1e-7, atol=1e-9):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                               atol=atol)


# ----------------------------------------------------------------------------------------------
# Gradients of every primitive: gradcheck on float64, and double backward.

GRADCHECKS = {
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1, groups=2),
               [(1, 2, 4, 5), (4, 1, 2, 3), (4,)]),
    "conv2d_dilated_same": (lambda x, w: F.conv2d(x, w, padding="same", dilation=(2, 1)),
                            [(2, 2, 4, 4), (3, 2, 2, 3)]),
    "conv2d_many_outputs": (lambda x, w: F.conv2d(x, w, padding=1), [(1, 1, 3, 4), (5, 1, 2, 2)]),
    "conv3d": (lambda x, w, b: F.conv3d(x, w, b, stride=2, padding=1),
               [(1, 2, 3, 4, 3), (2, 2, 2, 2, 2), (2,)]),
    "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                            output_padding=1, groups=2),
                         [(1, 2, 3, 3), (2, 2, 2, 3), (4,)]),
    "conv_transpose1d": (lambda x, w: F.conv_transpose1d(x, w, stride=1, dilation=2),
                         [(2, 3, 4), (3, 2, 3)]),
    "unfold": (lambda x: F.unfold(x, (2, 3), padding=1, stride=(2, 1)), [(2, 2, 4, 5)]),
    "fold": (lambda c: F.fold(c, (4, 5), 2, stride=(2, 1)), [(2, 8, 8)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1), [(2, 2, 5, 6)]),
    "max_pool2d_overlapping": (lambda x: F.max_pool2d(x, 2, 1, dilation=(1, 2)), [(1, 2, 4, 5)]),
    "max_pool3d": (lambda x: F.max_pool3d(x, 2, ceil_mode=True), [(1, 2, 3, 4, 5)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False),
                   [(2, 2, 5, 6)]),
    "avg_pool3d": (lambda x: F.avg_pool3d(x, (2, 3, 2), 1), [(1, 2, 3, 4, 3)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [(2, 2, 5, 7)]),
    "adaptive_max_pool2d": (lambda x: F.adaptive_max_pool2d(x, (3, 4)), [(2, 2, 5, 7)]),
    "lp_pool2d": (lambda x: F.lp_pool2d(x.abs() + 0.5, 2, 2), [(1, 2, 4, 4)]),
    "instance_norm": (lambda x, w, b: F.instance_norm(x, weight=w, bias=b),
                      [(2, 3, 3, 2), (3,), (3,)]),
    "local_response_norm": (lambda x: F.local_response_norm(x, 3, alpha=0.5), [(1, 4, 2, 3)]),
}


@pytest.mark.parametrize("name", sorted(GRADCHECKS))
def test_gradcheck(name):
    function, shapes = GRADCHECKS[name]
    inputs = [leaf(*shape, seed=i) for i, shape in enumerate(shapes)]
    assert dg.gradcheck(function, inputs)


@pytest.mark.parametrize("name", ["conv2d", "conv_transpose2d", "conv3d", "unfold", "fold",
                                  "max_pool2d", "avg_pool2d", "adaptive_max_pool2d"])
def test_gradgradcheck(name):
    function, shapes = GRADCHECKS[name]
    inputs = [leaf(*shape, seed=i) for i, shape in enumerate(shapes)]
    assert dg.gradgradcheck(function, inputs)


def test_max_unpool_gradcheck():
    values, indices = F.max_pool2d(leaf(1, 2, 4, 6), 2, return_indices=True)
    source = leaf(*values.shape, seed=3)
    assert dg.gradcheck(lambda v: F.max_unpool2d(v, indices, 2), [source])


def test_gradient_penalty_matches_torch():
    """A double backward through conv2d and max_pool2d, as a gradient penalty computes it."""
    arrays = randn(2, 3, 6, 6), randn(4, 3, 3, 3, seed=1)
    results = []
    for m in (dg, torch):
        x, w = (m.tensor(a, requires_grad=True) for a in arrays)
        out = m.nn.functional.max_pool2d(m.tanh(m.nn.functional.conv2d(x, w, padding=1)), 2)
        (gx,) = m.autograd.grad(out.sum(), [x], create_graph=True)
        (gx * gx).sum().backward()
        results.append((x.grad, w.grad))
    for ours, theirs in zip(*results):
        assert_close(ours, theirs)


# ----------------------------------------------------------------------------------------------
# Convolution layers.


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [(2, 1), "same"])
def test_conv2d_module_matches_torch(padding_mode, padding):
    kwargs = dict(in_channels=4, out_channels=6, kernel_size=(3, 2), padding=padding, groups=2,
                  padding_mode=padding_mode)
    ours = nn.Conv2d(dtype=np.float64, **kwargs)
    theirs = torch.nn.Conv2d(dtype=torch.float64, **kwargs)
    copy_state(ours, theirs)
    assert repr(ours) == repr(theirs)
    x = randn(2, 4, 7, 6)
    xo, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    assert_close(out, ref)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    assert_close(xo.grad, xt.grad)
    assert_close(ours.weight.grad, theirs.weight.grad)
    assert_close(ours.bias.grad, theirs.bias.grad)


def test_conv_initialisation_follows_torch():
    """kaiming_uniform(a=sqrt(5)) for the weight and U(-1/sqrt(fan_in), ...) for the bias:
    both bounded by 1/sqrt(fan_in), and spread over the whole range."""
    for ours, fan_in in ((nn.Conv2d(8, 16, 5, generator=dg.Generator(0)), 8 * 25),
                         (nn.Conv3d(4, 6, 3, groups=2, generator=dg.Generator(0)), 2 * 27),
                         (nn.ConvTranspose2d(8, 6, 3, groups=2, generator=dg.Generator(0)),
                          3 * 9)):
        bound = 1 / np.sqrt(fan_in)
        weight, bias = ours.weight.detach().numpy(), ours.bias.detach().numpy()
        assert np.abs(weight).max() <= bound and np.abs(bias).max() <= bound
        assert np.abs(weight).max() > 0.9 * bound  # (hundreds of draws fill the range)
        assert abs(weight.mean()) < 0.1 * bound
    assert nn.Conv2d(3, 8, 3).weight.dtype == dg.float32
    assert nn.ConvTranspose2d(3, 8, 3).weight.shape == (3, 8, 3, 3)


@pytest.mark.parametrize("cls, kwargs", [
    ("Conv2d", dict(in_channels=2, out_channels=4, kernel_size=3)),
    ("Conv2d", dict(in_channels=2, out_channels=4, kernel_size=(3, 1), stride=2, dilation=2,
                    bias=False, padding_mode="circular", padding=1)),
    ("Conv3d", dict(in_channels=2, out_channels=4, kernel_size=3, padding="same", groups=2)),
    ("ConvTranspose1d", dict(in_channels=2, out_channels=4, kernel_size=3, stride=2)),
    ("ConvTranspose2d", dict(in_channels=2, out_channels=4, kernel_size=3, stride=2,
                             padding=1, output_padding=1, groups=2, dilation=1)),
    ("ConvTranspose3d", dict(in_channels=2, out_channels=4, kernel_size=2, bias=False)),
])
def test_conv_layers_state_dict_repr_and_values(cls, kwargs):
    ours = getattr(nn, cls)(dtype=np.float64, **kwargs)
    theirs = getattr(torch.nn, cls)(dtype=torch.float64, **kwargs)
    copy_state(ours, theirs)
    assert repr(ours) == repr(theirs)
    spatial = int(cls[-2])
    x = randn(2, 2, *(5, 6, 4)[:spatial])
    assert_close(ours(dg.tensor(x)), theirs(torch.tensor(x)))
    assert_close(ours(dg.tensor(x[0])), theirs(torch.tensor(x[0])))  # unbatched


def test_conv_transpose_output_size():
    ours = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=np.float64)
    theirs = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, dtype=torch.float64)
    copy_state(ours, theirs)
    x = randn(1, 3, 4, 5)
    for size in [(8, 10), (7, 9), [1, 2, 8, 9]]:
        assert_close(ours(dg.tensor(x), output_size=size),
                     theirs(torch.tensor(x), output_size=size))
    for bad in [(9, 9), (8,)]:
        with pytest.raises(ValueError):
            theirs(torch.tensor(x), output_size=bad)
        with pytest.raises(ValueError):
            ours(dg.tensor(x), output_size=bad)


@pytest.mark.parametrize("cls, kwargs", [
    ("Conv2d", dict(in_channels=3, out_channels=4, kernel_size=3, groups=2)),
    ("Conv2d", dict(in_channels=4, out_channels=3, kernel_size=3, groups=2)),
    ("Conv2d", dict(in_channels=4, out_channels=4, kernel_size=3, groups=0)),
    ("Conv2d", dict(in_channels=4, out_channels=4, kernel_size=3, padding="full")),
    ("Conv2d", dict(in_channels=4, out_channels=4, kernel_size=3, padding="same", stride=2)),
    ("Conv2d", dict(in_channels=4, out_channels=4, kernel_size=3, padding_mode="mirror")),
    ("ConvTranspose2d", dict(in_channels=4, out_channels=4, kernel_size=3,
                             padding_mode="reflect")),
])
def test_conv_layer_constructor_errors(cls, kwargs):
    with pytest.raises(ValueError):
        getattr(torch.nn, cls)(**kwargs)
    with pytest.raises(ValueError):
        getattr(nn, cls)(**kwargs)


def test_conv2d_layer_shape_errors_name_the_shapes():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(RuntimeError, match=r"expected input\[2, 5, 6, 6\] to have 3 channels"):
        conv(dg.randn(2, 5, 6, 6))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        conv(dg.randn(2, 3, 2, 6))
    with pytest.raises(RuntimeError, match="Expected 3D .unbatched. or 4D .batched. input"):
        conv(dg.randn(6, 6))


# ----------------------------------------------------------------------------------------------
# Pooling layers.


@pytest.mark.parametrize("cls, args, kwargs", [
    ("MaxPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True)),
    ("MaxPool3d", (2,), {}),
    ("AvgPool2d", ((3, 2),), dict(padding=1, count_include_pad=False)),
    ("AvgPool3d", (2,), dict(stride=1, divisor_override=3)),
    ("AdaptiveAvgPool2d", ((2, None),), {}),
    ("AdaptiveAvgPool3d", (2,), {}),
    ("AdaptiveMaxPool2d", (3,), {}),
    ("AdaptiveMaxPool3d", ((1, 2, 3),), {}),
    ("LPPool2d", (2, 3), dict(stride=2)),
    ("LPPool3d", (1.5, 2), {}),
    ("Unfold", ((2, 3),), dict(padding=1)),
])
def test_pooling_layers_match_torch(cls, args, kwargs):
    ours, theirs = getattr(nn, cls)(*args, **kwargs), getattr(torch.nn, cls)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    spatial = 3 if "3d" in cls else 2
    x = np.abs(randn(2, 3, *(6, 7, 5)[:spatial])) + 0.1
    xo, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    assert_close(out, ref)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    assert_close(xo.grad, xt.grad)


def test_max_pool_indices_round_trip_through_unpool_layers():
    x = randn(2, 3, 6, 7)
    for m in (nn, torch.nn):
        pool, unpool = m.MaxPool2d(2, return_indices=True), m.MaxUnpool2d(2)
        tensor = dg.tensor(x) if m is nn else torch.tensor(x)
        values, indices = pool(tensor)
        restored = unpool(values, indices, output_size=tensor.shape)
        if m is nn:
            ours, ours_repr = restored, repr(unpool)
        else:
            assert_close(ours, restored)
            assert ours_repr == repr(unpool)
    assert repr(nn.MaxUnpool1d(3)) == repr(torch.nn.MaxUnpool1d(3))
    assert repr(nn.Fold((4, 5), 2)) == repr(torch.nn.Fold((4, 5), 2))


# ----------------------------------------------------------------------------------------------
# Normalization layers.


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("cls, shape", [("BatchNorm2d", (4, 3, 5, 6)),
                                        ("BatchNorm3d", (3, 3, 2, 4, 3))])
def test_batch_norm_layers_train_and_eval_like_torch(cls, shape, momentum):
    ours = getattr(nn, cls)(3, momentum=momentum, dtype=np.float64)
    theirs = getattr(torch.nn, cls)(3, momentum=momentum, dtype=torch.float64)
    copy_state(ours, theirs)
    for step in range(3):
        x = randn(*shape, seed=step) * (step + 1) + step
        xo, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, ref = ours(xo), theirs(xt)
        assert_close(out, ref)
        (out * out * out).sum().backward()
        (ref * ref * ref).sum().backward()
        assert_close(xo.grad, xt.grad, rtol=1e-6)
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value)
    ours.eval()
    theirs.eval()
    x = randn(*shape, seed=9)
    assert_close(ours(dg.tensor(x)), theirs(torch.tensor(x)))
    with pytest.raises(ValueError, match="expected"):
        ours(dg.tensor(x[0]))


@pytest.mark.parametrize("cls, shape", [("InstanceNorm1d", (2, 3, 5)),
                                        ("InstanceNorm2d", (2, 3, 4, 5)),
                                        ("InstanceNorm3d", (3, 4, 2, 3))])
def test_instance_norm_layers_like_torch(cls, shape):
    kwargs = dict(affine=True, track_running_stats=True, momentum=0.3, dtype=np.float64)
    ours = getattr(nn, cls)(3, **kwargs)
    kwargs["dtype"] = torch.float64
    theirs = getattr(torch.nn, cls)(ours.num_features, **kwargs)
    copy_state(ours, theirs)
    assert repr(ours) == repr(theirs)
    x = randn(*shape) * 2 + 1
    xo, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, ref = ours(xo), theirs(xt)
    assert_close(out, ref)
    (out * out * out).sum().backward()
    (ref * ref * ref).sum().backward()
    assert_close(xo.grad, xt.grad, rtol=1e-6)
    assert_close(ours.weight.grad, theirs.weight.grad, rtol=1e-6)
    assert_close(ours.running_mean, theirs.running_mean)
    assert_close(ours.running_var, theirs.running_var)
    ours.eval()
    theirs.eval()
    assert_close(ours(dg.tensor(x)), theirs(torch.tensor(x)))
    plain, reference = getattr(nn, cls)(3), getattr(torch.nn, cls)(3)
    assert list(plain.state_dict()) == list(reference.state_dict()) == []
    assert repr(nn.LocalResponseNorm(3)) == repr(torch.nn.LocalResponseNorm(3))


# ----------------------------------------------------------------------------------------------
# A PyTorch CNN program, written once and run with either library.


def make_cnn(m):
    """Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d -> ... -> AdaptiveAvgPool2d -> Linear."""

    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = m.nn.Sequential(
                m.nn.Conv2d(1, 4, 3, padding=1), m.nn.BatchNorm2d(4), m.nn.ReLU(),
                m.nn.MaxPool2d(2),
                m.nn.Conv2d(4, 8, 3, stride=1, padding="same", groups=2), m.nn.BatchNorm2d(8),
                m.nn.ReLU(), m.nn.AvgPool2d(2), m.nn.AdaptiveAvgPool2d((1, 1)))
            self.head = m.nn.Linear(8, 3)

        def forward(self, x):
            return self.head(m.flatten(self.features(x), 1))

    return Net()


def test_cnn_program_trains_like_torch():
    ours, theirs = make_cnn(dg), make_cnn(torch)
    assert repr(ours) == repr(theirs)
    ours.double()
    theirs.double()
    copy_state(ours, theirs)
    images, labels = randn(8, 1, 12, 12), np.arange(8) % 3
    losses = {}
    for m, model in ((dg, ours), (torch, theirs)):
        optimizer = m.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        history = []
        for _ in range(3):
            optimizer.zero_grad()
            loss = m.nn.functional.cross_entropy(model(m.tensor(images)), m.tensor(labels))
            loss.backward()
            optimizer.step()
            history.append(loss.item())
        model.eval()
        history.append(model(m.tensor(images)).sum().item())
        losses[m.__name__] = history
    np.testing.assert_allclose(losses["deltagrad"], losses["torch"], rtol=1e-7)
    for key, value in theirs.state_dict().items():
        assert_close(ours.state_dict()[key], value, rtol=1e-6)


@pytest.mark.parametrize("library", ["deltagrad", "torch"])
def test_mnist_cnn_example_runs_on_both_libraries(library, capsys):
    """examples/mnist_cnn.py is a PyTorch program: it runs as it is and with ``import torch``."""
    path = Path(__file__).resolve().parents[2] / "examples" / "mnist_cnn.py"
    source = path.read_text()
    if library == "torch":
        source, count = re.subn(r"^import deltagrad as torch$", "import torch", source,
                                flags=re.MULTILINE)
        assert count == 1
    module = types.ModuleType(f"mnist_cnn_{library}")
    sys.modules[module.__name__] = module  # (dataclasses look their module up there)
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)
        loss = module.main(module.Config(train_size=64, test_size=16, batch_size=16, steps=5))
    finally:
        del sys.modules[module.__name__]
    assert np.isfinite(loss) and loss < 3.0
    assert "step    1" in capsys.readouterr().out


def test_capture_step_replays_convolution_and_pooling():
    """Only geometry is fixed at capture (maxima are found inside the op): replays on new
    inputs equal the eager step."""
    dg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.ConvTranspose2d(4, 4, 2, stride=2), nn.AvgPool2d(2),
                          nn.AdaptiveMaxPool2d(2), nn.Flatten(), nn.Linear(16, 3))

    def loss_fn(x, y):
        return F.cross_entropy(model(x), y)

    step = dg.capture_step(loss_fn)
    labels = dg.tensor(np.arange(4) % 3)
    for seed in range(3):
        images = dg.tensor(randn(4, 1, 8, 8, seed=seed).astype(np.float32))
        model.zero_grad()
        replayed = step(images, labels).item()
        grads = [p.grad.numpy().copy() for p in model.parameters()]
        model.zero_grad()
        eager = loss_fn(images, labels)
        eager.backward()
        assert replayed == eager.item()
        for ours, theirs in zip(grads, model.parameters()):
            np.testing.assert_array_equal(ours, theirs.grad.numpy())
