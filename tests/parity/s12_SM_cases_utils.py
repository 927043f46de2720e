"""Cases of the SM sweep (session 12): nn.utils against PyTorch.

weight_norm / spectral_norm (old hooks and parametrizations) and custom parametrizations: their
state-dict keys, parameters and buffers, and PyTorch checkpoints of them (real torch.save files)
loaded here; clip_grad_norm_ / clip_grad_value_ / get_total_norm, parameters_to_vector,
fuse_conv_bn_eval, skip_init, functional_call, packed sequences, pruning's state.
``text=True``: the error message is compared too (else its class only).
"""

import atexit
import os
import shutil
import tempfile

import torch as _torch

# PyTorch's checkpoints are real files (torch.save), in a folder removed at exit.
_DIR = tempfile.mkdtemp(prefix="s12_SM_")
atexit.register(shutil.rmtree, _DIR, True)

CASES: dict = {}
TEXT: set = set()


def case(name: str, text: bool = False):
    """Register ``program(lib)`` under ``name`` (``text``: compare the error message too)."""

    def register(program):
        CASES[name] = program
        if text:
            TEXT.add(name)
        return program

    return register


def _lin(lib, n=3):
    m = lib.nn.Linear(n, 2)
    with lib.no_grad():
        m.weight.copy_(lib.arange(2.0 * n).reshape(2, n) / 10 - 0.2)
        m.bias.fill_(0.5)
    return m


def _from_torch(lib, build, name):
    t = build(_torch)
    path = os.path.join(_DIR, name + ".pt")
    _torch.save(t.state_dict(), path)
    d = build(lib)
    r = d.load_state_dict(lib.load(path))
    x = lib.arange(6.0).reshape(2, 3) / 7
    return repr(r), list(d.state_dict()), d(x)


@case("weight-norm-old-state")
def _(lib):
    m = lib.nn.utils.weight_norm(_lin(lib))
    return (
        [(k, tuple(v.shape)) for k, v in m.state_dict().items()],
        [n for n, _ in m.named_parameters()],
        m(lib.ones(1, 3)),
    )


@case("weight-norm-old-remove")
def _(lib):
    m = lib.nn.utils.remove_weight_norm(lib.nn.utils.weight_norm(_lin(lib), dim=None))
    return list(m.state_dict()), m.weight


@case("weight-norm-old-from-torch")
def _(lib):
    def build(L):
        L.manual_seed(0)
        return L.nn.utils.weight_norm(L.nn.Linear(3, 2), dim=1)

    return _from_torch(lib, build, "wn_old")


@case("spectral-norm-old-state")
def _(lib):
    m = lib.nn.utils.spectral_norm(_lin(lib))
    return (
        [(k, tuple(v.shape)) for k, v in m.state_dict().items()],
        [n for n, _ in m.named_parameters()],
        [n for n, _ in m.named_buffers()],
    )


@case("parametrizations-weight-norm-state")
def _(lib):
    m = lib.nn.utils.parametrizations.weight_norm(_lin(lib))
    return (
        [(k, tuple(v.shape)) for k, v in m.state_dict().items()],
        [n for n, _ in m.named_parameters()],
        repr(m),
        m(lib.ones(1, 3)),
    )


@case("parametrizations-weight-norm-from-torch")
def _(lib):
    def build(L):
        L.manual_seed(0)
        return L.nn.utils.parametrizations.weight_norm(L.nn.Linear(3, 2))

    return _from_torch(lib, build, "wn_new")


@case("parametrizations-orthogonal-state")
def _(lib):
    m = lib.nn.utils.parametrizations.orthogonal(_lin(lib, 2))
    return [(k, tuple(v.shape)) for k, v in m.state_dict().items()], [
        n for n, _ in m.named_parameters()
    ]


@case("parametrizations-spectral-norm-state")
def _(lib):
    m = lib.nn.utils.parametrizations.spectral_norm(_lin(lib))
    return [(k, tuple(v.shape)) for k, v in m.state_dict().items()], [
        n for n, _ in m.named_buffers()
    ]


@case("register-parametrization-custom")
def _(lib):
    class Sym(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

    m = lib.nn.Linear(3, 3)
    lib.nn.utils.parametrize.register_parametrization(m, "weight", Sym())
    sd = m.state_dict()
    return (
        list(sd),
        lib.nn.utils.parametrize.is_parametrized(m),
        lib.nn.utils.parametrize.is_parametrized(m, "bias"),
        type(m).__name__,
        repr(m),
    )


@case("remove-parametrization-leave")
def _(lib):
    class Double(lib.nn.Module):
        def forward(self, X):
            return X * 2

    m = _lin(lib)
    lib.nn.utils.parametrize.register_parametrization(m, "weight", Double())
    lib.nn.utils.parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return m.weight, list(m.state_dict()), type(m).__name__


@case("remove-parametrization-missing", text=True)
def _(lib):
    lib.nn.utils.parametrize.remove_parametrizations(_lin(lib), "weight")


@case("clip-grad-norm")
def _(lib):
    m = _lin(lib)
    (m(lib.ones(2, 3)) ** 2).sum().backward()
    n = lib.nn.utils.clip_grad_norm_(m.parameters(), 0.5)
    return n, m.weight.grad, m.bias.grad


@case("clip-grad-norm-inf-and-no-grads")
def _(lib):
    m = _lin(lib)
    n0 = lib.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    (m(lib.ones(2, 3)) ** 2).sum().backward()
    n = lib.nn.utils.clip_grad_norm_(m.parameters(), 0.5, norm_type="inf")
    return n0, n, m.weight.grad


@case("clip-grad-norm-nonfinite", text=True)
def _(lib):
    m = _lin(lib)
    m.weight.grad = lib.full((2, 3), float("nan"))
    return lib.nn.utils.clip_grad_norm_(m.parameters(), 1.0, error_if_nonfinite=True)


@case("clip-grad-norm-nonfinite-default")
def _(lib):
    m = _lin(lib)
    m.weight.grad = lib.full((2, 3), float("inf"))
    return lib.nn.utils.clip_grad_norm_(m.parameters(), 1.0), m.weight.grad


@case("clip-grad-norm-single-tensor")
def _(lib):
    p = lib.tensor([3.0, 4.0], requires_grad=True)
    p.grad = lib.tensor([3.0, 4.0])
    return lib.nn.utils.clip_grad_norm_(p, 1.0, norm_type=1.0), p.grad


@case("clip-grad-value")
def _(lib):
    m = _lin(lib)
    (m(lib.ones(2, 3)) ** 2).sum().backward()
    r = lib.nn.utils.clip_grad_value_(m.parameters(), 0.3)
    return r, m.weight.grad


@case("get-total-norm-clip-grads-with-norm")
def _(lib):
    m = _lin(lib)
    (m(lib.ones(2, 3)) ** 2).sum().backward()
    grads = [p.grad for p in m.parameters()]
    total = lib.nn.utils.get_total_norm(grads, 2.0)
    lib.nn.utils.clip_grads_with_norm_(m.parameters(), 0.5, total)
    return total, m.bias.grad


@case("vector-to-parameters-bad", text=True)
def _(lib):
    m = _lin(lib)
    lib.nn.utils.vector_to_parameters([1.0], m.parameters())


@case("parameters-to-vector-grad")
def _(lib):
    m = _lin(lib)
    v = lib.nn.utils.parameters_to_vector(m.parameters())
    return v.requires_grad, type(v.grad_fn).__name__ if v.grad_fn is not None else None


@case("fuse-conv-bn-eval")
def _(lib):
    lib.manual_seed(0)
    conv = lib.nn.Conv2d(2, 3, 3).eval()
    bn = lib.nn.BatchNorm2d(3).eval()
    with lib.no_grad():
        bn.running_mean.fill_(0.1)
        bn.running_var.fill_(2.0)
        bn.weight.fill_(1.5)
        bn.bias.fill_(-0.2)
        conv.weight.copy_(lib.arange(54.0).reshape(3, 2, 3, 3) / 50)
        conv.bias.fill_(0.3)
    fused = lib.nn.utils.fusion.fuse_conv_bn_eval(conv, bn)
    x = lib.arange(50.0).reshape(1, 2, 5, 5) / 25
    return fused(x), list(fused.state_dict())


@case("skip-init")
def _(lib):
    m = lib.nn.utils.skip_init(lib.nn.Linear, 3, 2)
    return type(m).__name__, [tuple(p.shape) for p in m.parameters()]


@case("stateless-functional-call")
def _(lib):
    m = _lin(lib)
    out = lib.func.functional_call(m, {"weight": lib.ones(2, 3)}, (lib.ones(1, 3),))
    return out, m.weight


@case("stateless-functional-call-strict", text=True)
def _(lib):
    m = _lin(lib)
    return lib.func.functional_call(m, {"weight": lib.ones(2, 3)}, (lib.ones(1, 3),), strict=True)


@case("stateless-functional-call-tied")
def _(lib):
    class T(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = lib.nn.Linear(2, 2, bias=False)
            self.b = lib.nn.Linear(2, 2, bias=False)
            self.b.weight = self.a.weight

        def forward(self, x):
            return self.b(self.a(x))

    m = T()
    return lib.func.functional_call(
        m, {"a.weight": lib.eye(2) * 2}, (lib.ones(1, 2),), tie_weights=True
    ), lib.func.functional_call(
        m, {"a.weight": lib.eye(2) * 2}, (lib.ones(1, 2),), tie_weights=False
    ).shape


@case("rnn-pack-state")
def _(lib):
    seqs = [lib.ones(3, 2), lib.ones(1, 2) * 2]
    packed = lib.nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False)
    padded, lengths = lib.nn.utils.rnn.pad_packed_sequence(packed, batch_first=True)
    return packed.batch_sizes, packed.sorted_indices, padded, lengths


@case("prune-state")
def _(lib):
    m = _lin(lib)
    from importlib import import_module

    import_module(lib.__name__ + ".nn.utils.prune").l1_unstructured(m, "weight", amount=2)
    sd = m.state_dict()
    return (
        [(k, tuple(v.shape)) for k, v in sd.items()],
        [n for n, _ in m.named_parameters()],
        [n for n, _ in m.named_buffers()],
        m.weight,
    )
