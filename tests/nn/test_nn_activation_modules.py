"""Activation, loss, padding, dropout and upsampling modules against PyTorch's: outputs,
gradients, parameter names, state dicts and reprs on the same inputs and weights."""

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402
from deltagrad import nn  # noqa: E402

RNG = np.random.default_rng(7)


def _input(shape, low=-4.0, high=4.0):
    x = RNG.uniform(low, high, shape)
    # Away from the kinks, where subgradient choices and finite differences could differ.
    for kink in (0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 6.0, 0.2):
        x = np.where(np.abs(x - kink) < 0.05, kink + 0.1, x)
    return x


def _compare(ours, theirs, *arrays, grad_inputs=(0,), rtol=1e-7, atol=1e-9):
    """Run both modules on the same float64 inputs; compare outputs and input gradients."""
    d_in = [dg.tensor(a, dtype=a.dtype, requires_grad=i in grad_inputs)
            for i, a in enumerate(arrays)]
    t_in = [torch.from_numpy(a.copy()).requires_grad_(i in grad_inputs)
            for i, a in enumerate(arrays)]
    d_out, t_out = ours(*d_in), theirs(*t_in)
    np.testing.assert_allclose(d_out.detach().numpy(), t_out.detach().numpy(), rtol=rtol,
                               atol=atol, err_msg=repr(ours))
    cotangent = RNG.standard_normal(t_out.shape)
    (d_out * dg.tensor(cotangent)).sum().backward()
    (t_out * torch.from_numpy(cotangent)).sum().backward()
    for i in grad_inputs:
        np.testing.assert_allclose(d_in[i].grad.numpy(), t_in[i].grad.numpy(), rtol=rtol * 10,
                                   atol=atol * 10, err_msg=f"{ours!r}: gradient of input {i}")


ACTIVATIONS = [
    ("ReLU", (), {}), ("ReLU", (), {"inplace": True}), ("ReLU6", (), {}),
    ("ELU", (0.7,), {}), ("ELU", (), {"inplace": True}), ("SELU", (), {}), ("CELU", (1.3,), {}),
    ("SiLU", (), {}), ("Mish", (), {}), ("Hardswish", (), {}), ("Hardsigmoid", (), {}),
    ("Hardshrink", (0.6,), {}), ("Softshrink", (), {}), ("Tanhshrink", (), {}),
    ("Threshold", (0.2, -2.0), {}), ("LogSigmoid", (), {}), ("Softsign", (), {}),
    ("Softplus", (2.0, 5.0), {}), ("Softmin", (1,), {}), ("Softmax", (-1,), {}),
    ("LogSoftmax", (0,), {}), ("GLU", (1,), {}), ("GELU", ("tanh",), {}), ("GELU", (), {}),
    ("LeakyReLU", (0.3,), {"inplace": True}), ("Hardtanh", (-2.0, 0.5), {}),
    ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softmax2d", (), {}),
    ("Hardtanh", (), {"min_value": -0.5, "max_value": 3.0}),
]


@pytest.mark.parametrize("name, args, kwargs", ACTIVATIONS,
                         ids=[f"{n}{a}{k}" for n, a, k in ACTIVATIONS])
def test_activation_modules_match_pytorch(name, args, kwargs):
    ours = getattr(nn, name)(*args, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (Hardtanh's min_value is deprecated in PyTorch)
        theirs = getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    x = _input((2, 4, 3, 2))
    if kwargs.get("inplace"):
        # In place on a non-leaf: the module returns its (overwritten) input.
        class Scaled:
            def __init__(self, module):
                self.module = module

            def __call__(self, x):
                y = x * 1.5
                out = self.module(y)
                assert out is y
                return y

            def __repr__(self):
                return repr(self.module)

        _compare(Scaled(ours), Scaled(theirs), x)
    else:
        _compare(ours, theirs, x)


def test_softmax_without_dim_warns_and_picks_pytorchs_dim():
    x = _input((2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _compare(nn.Softmax(), torch.nn.Softmax(), x)
        _compare(nn.LogSoftmax(), torch.nn.LogSoftmax(), x[0])
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        nn.Softmax()(dg.ones(2, 3))
    with pytest.raises(ValueError, match="Softmax2d"):
        nn.Softmax2d()(dg.ones(2, 3))


@pytest.mark.parametrize("num_parameters", [1, 3])
def test_prelu_parameter_state_dict_and_gradients(num_parameters):
    ours, theirs = nn.PReLU(num_parameters, init=0.1), torch.nn.PReLU(num_parameters, init=0.1)
    assert [n for n, _ in ours.named_parameters()] == ["weight"]
    assert ours.weight.shape == (num_parameters,) and ours.weight.dtype == dg.float32
    assert repr(ours) == repr(theirs)
    weights = RNG.uniform(-0.5, 0.5, num_parameters).astype(np.float32)
    theirs.load_state_dict({"weight": torch.from_numpy(weights)})
    ours.load_state_dict({"weight": dg.tensor(weights)})
    x = _input((4, 3, 5)).astype(np.float32)
    d_x, t_x = dg.tensor(x, requires_grad=True), torch.from_numpy(x).requires_grad_()
    d_out, t_out = ours(d_x), theirs(t_x)
    np.testing.assert_allclose(d_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-6)
    d_out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(d_x.grad.numpy(), t_x.grad.numpy(), rtol=1e-6)
    double = nn.PReLU(dtype=dg.float64)
    assert double.weight.dtype == dg.float64 and float(double.weight[0]) == 0.25


def test_rrelu_module_train_and_eval():
    ours = nn.RReLU(0.1, 0.4, generator=dg.Generator(0))
    assert repr(ours) == repr(torch.nn.RReLU(0.1, 0.4))
    x = -np.ones(1000)
    slopes = -ours(dg.tensor(x)).numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.4 and slopes.std() > 0.05
    _compare(ours.eval(), torch.nn.RReLU(0.1, 0.4).eval(), _input((3, 4)))


def test_relu_inplace_inside_a_network_trains_like_pytorch():
    torch.manual_seed(0)
    t_net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.ReLU(inplace=True),
                                torch.nn.Linear(5, 2), torch.nn.ELU(inplace=True))
    net = nn.Sequential(nn.Linear(4, 5), nn.ReLU(inplace=True), nn.Linear(5, 2),
                        nn.ELU(inplace=True))
    net.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in t_net.state_dict().items()})
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    loss, t_loss = net(dg.tensor(x)).sum(), t_net(torch.from_numpy(x)).sum()
    loss.backward()
    t_loss.backward()
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-5)
    for (name, p), (_, tp) in zip(net.named_parameters(), t_net.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)


# ----------------------------------------------------------------------------------------------
# Loss modules.


def _pair(shape=(4, 3)):
    return _input(shape), _input(shape)


def _probs(shape):
    return RNG.uniform(0.05, 0.95, shape)


LOSSES = [
    ("L1Loss", {}, lambda: _pair()), ("MSELoss", {"reduction": "sum"}, lambda: _pair()),
    ("SmoothL1Loss", {"beta": 0.5}, lambda: _pair()),
    ("HuberLoss", {"delta": 0.7, "reduction": "none"}, lambda: _pair()),
    ("BCELoss", {}, lambda: (_probs((4, 3)), _probs((4, 3)))),
    ("BCEWithLogitsLoss", {}, lambda: (_input((4, 3)), _probs((4, 3)))),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True},
     lambda: (np.log(_probs((4, 3))), np.log(_probs((4, 3))))),
    ("PoissonNLLLoss", {"log_input": False, "full": True},
     lambda: (_probs((4, 3)) * 3, RNG.integers(0, 5, (4, 3)).astype(np.float64))),
    ("SoftMarginLoss", {}, lambda: (_input((4, 3)), np.sign(_input((4, 3))))),
    ("MultiLabelSoftMarginLoss", {}, lambda: (_input((4, 3)), (_probs((4, 3)) > 0.5) * 1.0)),
    ("HingeEmbeddingLoss", {"margin": 2.0}, lambda: (_input(5), np.sign(_input(5)))),
    ("CrossEntropyLoss", {"label_smoothing": 0.1, "ignore_index": 2},
     lambda: (_input((5, 4)), np.array([0, 2, 3, 1, 1]))),
    ("NLLLoss", {"reduction": "none"}, lambda: (_input((5, 4)), np.array([0, 2, 3, 1, 1]))),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}, lambda: (_input((5, 4)),
                                                         np.array([0, 2, 3, 1, 1]))),
    ("MultiLabelMarginLoss", {}, lambda: (_input((2, 4)), np.array([[3, 0, -1, 1],
                                                                   [1, -1, 0, 0]]))),
    ("MarginRankingLoss", {"margin": 0.3}, lambda: (_input(5), _input(5),
                                                    np.sign(_input(5)))),
    ("CosineEmbeddingLoss", {"margin": 0.2}, lambda: (_input((5, 3)), _input((5, 3)),
                                                      np.sign(_input(5)))),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1.0, "swap": True},
     lambda: (_input((5, 3)), _input((5, 3)), _input((5, 3)))),
    ("TripletMarginWithDistanceLoss", {"margin": 2.0},
     lambda: (_input((5, 3)), _input((5, 3)), _input((5, 3)))),
    ("GaussianNLLLoss", {"full": True}, lambda: (_input((4, 3)), _input((4, 3)),
                                                 _probs((4, 3)))),
]


@pytest.mark.parametrize("name, kwargs, make", LOSSES, ids=[n for n, _, _ in LOSSES])
def test_loss_modules_match_pytorch(name, kwargs, make):
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    arrays = make()
    floating = tuple(i for i, a in enumerate(arrays) if a.dtype.kind == "f")
    # Targets PyTorch does not differentiate (labels, counts, signs) are left out.
    grad_inputs = floating[:1] if name in ("BCEWithLogitsLoss", "SoftMarginLoss",
                                           "PoissonNLLLoss", "MultiLabelSoftMarginLoss",
                                           "HingeEmbeddingLoss") else floating
    if name in ("MarginRankingLoss", "CosineEmbeddingLoss"):
        grad_inputs = floating[:2]
    _compare(ours, theirs, *arrays, grad_inputs=grad_inputs)


def test_ctc_loss_module():
    logits = RNG.standard_normal((10, 3, 5))
    lp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    targets = np.array([[1, 2, 2], [3, 0, 0], [4, 1, 0]])
    lengths, t_lengths = np.array([10, 8, 9]), np.array([3, 1, 2])
    _compare(nn.CTCLoss(blank=0, zero_infinity=True), torch.nn.CTCLoss(zero_infinity=True),
             lp, targets, lengths, t_lengths)


def test_loss_module_options_legacy_arguments_and_buffers():
    with pytest.warns(UserWarning, match="size_average and reduce"):
        legacy = nn.MSELoss(size_average=False)
    assert legacy.reduction == "sum"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nn.L1Loss(None, False).reduction == "none"
        assert nn.CrossEntropyLoss(None, True, -100, True).reduction == "mean"
    weight = np.array([1.0, 2.0, 0.5])
    ce = nn.CrossEntropyLoss(weight=dg.tensor(weight))
    assert list(ce.state_dict()) == list(torch.nn.CrossEntropyLoss(
        weight=torch.tensor(weight)).state_dict()) == ["weight"]
    assert repr(nn.NLLLoss()) == repr(torch.nn.NLLLoss())
    assert repr(nn.BCELoss()) == "BCELoss()" and repr(nn.KLDivLoss()) == "KLDivLoss()"
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="margin"):
        nn.TripletMarginWithDistanceLoss(margin=0.0)
    x = dg.tensor(_input((4, 3)), requires_grad=True)
    _compare(nn.GaussianNLLLoss(), torch.nn.GaussianNLLLoss(), _input((4, 3)), _input((4, 3)),
             _probs(4), grad_inputs=(0, 2))
    assert nn.MSELoss()(x, x.detach()).item() == 0.0


# ----------------------------------------------------------------------------------------------
# Padding, dropout and upsampling modules.

PADS = [
    ("ZeroPad1d", (2,), (2, 3, 4)), ("ZeroPad2d", ((1, 0, 2, -1),), (1, 2, 3, 4)),
    ("ZeroPad3d", (1,), (1, 1, 2, 2, 2)), ("ConstantPad1d", ((1, 2), 3.5), (2, 3, 4)),
    ("ConstantPad2d", (1, -1.0), (2, 3, 4)), ("ConstantPad3d", (1, 0.5), (1, 2, 2, 2)),
    ("ReflectionPad1d", ((2, 1),), (2, 3, 4)), ("ReflectionPad2d", (1,), (1, 2, 3, 4)),
    ("ReflectionPad3d", (1,), (1, 1, 2, 3, 3)), ("ReplicationPad1d", (3,), (3, 4)),
    ("ReplicationPad2d", ((1, 2, 0, 3),), (2, 3, 4)), ("ReplicationPad3d", (1,), (1, 2, 2, 2)),
    ("CircularPad1d", (2,), (2, 3, 4)), ("CircularPad2d", ((1, 2, 2, 0),), (1, 2, 3, 4)),
    ("CircularPad3d", (1,), (1, 1, 2, 3, 3)),
]


@pytest.mark.parametrize("name, args, shape", PADS, ids=[p[0] for p in PADS])
def test_padding_modules_match_pytorch(name, args, shape):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    _compare(ours, theirs, RNG.standard_normal(shape))


@pytest.mark.parametrize("kwargs, shape", [
    ({"scale_factor": 2}, (1, 2, 5)), ({"size": 7, "mode": "linear"}, (2, 1, 4)),
    ({"scale_factor": 1.5, "mode": "bilinear", "align_corners": True}, (1, 2, 3, 4)),
    ({"size": (2, 3, 4), "mode": "trilinear"}, (1, 1, 3, 2, 2)),
    ({"scale_factor": 3, "mode": "nearest-exact"}, (1, 1, 2, 3)),
])
def test_upsample_matches_pytorch(kwargs, shape):
    ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    assert repr(ours) == repr(theirs)
    _compare(ours, theirs, RNG.standard_normal(shape))


@pytest.mark.parametrize("name, shape", [("Dropout1d", (4, 6, 5)), ("Dropout2d", (3, 5, 2, 2)),
                                         ("Dropout3d", (2, 4, 2, 2, 2)),
                                         ("FeatureAlphaDropout", (3, 6, 4))])
def test_channel_dropout_modules(name, shape):
    module = getattr(nn, name)(p=0.4, generator=dg.Generator(1))
    assert repr(module) == repr(getattr(torch.nn, name)(p=0.4))
    x = dg.ones(*shape)
    out = module(x).numpy()
    assert np.all(out == out.reshape(shape[:2] + (-1,))[..., :1].reshape(
        shape[:2] + (1,) * (len(shape) - 2)))  # constant within each channel
    assert len(np.unique(out)) == 2
    assert module.eval()(x) is x


def test_alpha_dropout_module():
    module = nn.AlphaDropout(0.2, generator=dg.Generator(2))
    assert repr(module) == repr(torch.nn.AlphaDropout(0.2))
    out = module(dg.tensor(RNG.standard_normal(100_000))).numpy()
    assert abs(out.mean()) < 0.02 and abs(out.std() - 1) < 0.02
    x = dg.ones(3)
    assert module.eval()(x) is x
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout2d(1.5)


# ----------------------------------------------------------------------------------------------
# Out-of-scope facades programs import at the top.


def test_onnx_export_and_tensorboard_fail_clearly():
    import deltagrad.onnx

    assert deltagrad.onnx.is_in_onnx_export() is False
    with pytest.raises(NotImplementedError, match="deltagrad cannot export ONNX"):
        deltagrad.onnx.export(nn.Linear(2, 2), dg.ones(1, 2), "model.onnx")
    # (deltagrad.utils.tensorboard is a real SummaryWriter now: see
    # tests/programs/test_s9_T17_tensorboard.py and tests/test_s9_T17_names.py)
