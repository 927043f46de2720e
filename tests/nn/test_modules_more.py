"""Module hooks, parameter containers, dtype conversion and more layers, against PyTorch."""

import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def run_both(fn_ours, fn_theirs, arrays, rtol=1e-10, atol=1e-12):
    ours = [dg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = fn_ours(*ours), fn_theirs(*theirs)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    w = randn(*ref.shape, seed=9)
    (out * dg.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)


def load_from_torch(ours, theirs):
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in state.items()})


# ----------------------------------------------------------------------------------------------
# Hooks.


def test_forward_pre_hook_and_forward_hook_replace_and_remove():
    layer = nn.Linear(3, 2)
    calls = []

    def pre(module, args):
        calls.append(("pre", module is layer, len(args)))
        return args[0] * 2  # a single value is wrapped into a tuple

    def post(module, args, output):
        calls.append(("post", tuple(args[0].shape)))
        return output + 1

    x = dg.randn(4, 3)
    expected = layer(x * 2) + 1
    h1, h2 = layer.register_forward_pre_hook(pre), layer.register_forward_hook(post)
    np.testing.assert_allclose(layer(x).detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    assert calls == [("pre", True, 1), ("post", (4, 3))]
    h1.remove()
    h2.remove()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer.forward(x).detach().numpy())
    assert len(calls) == 2


def test_hooks_with_kwargs_prepend_and_always_call():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            if factor == 0:
                raise ValueError("zero")
            return x * factor

    module = Scale()
    order = []
    module.register_forward_pre_hook(lambda m, a, k: (a, {"factor": 3.0}), with_kwargs=True)
    module.register_forward_hook(lambda m, a, k, out: order.append(("kw", k["factor"])),
                                 with_kwargs=True)
    module.register_forward_hook(lambda m, a, out: order.append("first"), prepend=True)
    assert module(dg.ones(2), factor=2.0).tolist() == [3.0, 3.0]
    assert order == ["first", ("kw", 3.0)]
    seen = []
    with module.register_forward_hook(lambda m, a, out: seen.append(out), always_call=True):
        module.register_forward_pre_hook(lambda m, a, k: (a, {"factor": 0}), with_kwargs=True)
        with pytest.raises(ValueError, match="zero"):
            module(dg.ones(2))
    assert seen == [None]


def test_full_backward_hook_matches_torch():
    ours, theirs = nn.Linear(3, 2, dtype=np.float64), torch.nn.Linear(3, 2, dtype=torch.float64)
    load_from_torch(ours, theirs)
    def record(store):
        def hook(module, grad_input, grad_output):
            store["in"] = [None if g is None else np.asarray(g.detach().numpy())
                           for g in grad_input]
            store["out"] = [np.asarray(g.detach().numpy()) for g in grad_output]
            return (grad_input[0] * 10,)  # replaces the input's gradient
        return hook

    mine, ref = {}, {}
    ours.register_full_backward_hook(record(mine))
    theirs.register_full_backward_hook(record(ref))
    x = randn(4, 3)
    xo, xt = dg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ours(xo) ** 2).sum().backward()
    (theirs(xt) ** 2).sum().backward()
    np.testing.assert_allclose(mine["in"][0], ref["in"][0], rtol=1e-12)
    np.testing.assert_allclose(mine["out"][0], ref["out"][0], rtol=1e-12)
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)
    assert len(mine["in"]) == len(ref["in"]) == 1


def test_full_backward_hook_without_input_grad_and_pre_hook():
    layer = nn.Linear(2, 2, dtype=np.float64)
    seen = []
    layer.register_full_backward_hook(lambda m, gi, go: seen.append((gi, go[0].shape)))
    layer.register_full_backward_pre_hook(lambda m, go: (go[0] * 0,))
    layer(dg.tensor(randn(3, 2))).sum().backward()
    assert seen[0][0] == (None,) and seen[0][1] == (3, 2)
    assert not layer.weight.grad.numpy().any()  # the pre-hook zeroed grad_output


def test_full_backward_hook_with_two_inputs():
    class Mix(nn.Module):
        def forward(self, a, scale, b):
            return a * b * scale

    seen = {}
    module = Mix()
    module.register_full_backward_hook(lambda m, gi, go: seen.update(gi=gi))
    a = dg.tensor(randn(2, 2), requires_grad=True)
    b = dg.tensor(randn(2, 2, seed=1))
    module(a, 3.0, b).sum().backward()
    gi = seen["gi"]
    # (PyTorch: None for the number, zeros for a tensor input that needs no gradient)
    assert len(gi) == 3 and gi[1] is None and not gi[2].numpy().any()
    np.testing.assert_allclose(gi[0].numpy(), 3 * b.numpy())


# ----------------------------------------------------------------------------------------------
# Module conversions and walking.


def test_to_half_double_float_and_requires_grad():
    net = nn.Sequential(nn.Linear(2, 3), nn.LayerNorm(3))
    params = list(net.parameters())
    assert net.double() is net and all(p.dtype == dg.float64 for p in net.parameters())
    net.half()
    assert all(p.dtype == dg.float16 for p in net.parameters())
    net.to(dg.zeros(1, dtype=np.float32))
    net.to("cpu", dtype=np.float64)
    assert all(p.dtype == dg.float64 for p in net.parameters())
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    net.float().requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    with pytest.raises(RuntimeError, match="CPU only"):
        net.to("cuda")
    assert [name for name, _ in net.named_modules()] == ["", "0", "1"]


# ----------------------------------------------------------------------------------------------
# Containers and parameter vectors.


def test_parameter_list_and_dict():
    plist = nn.ParameterList([dg.ones(2), nn.Parameter(dg.zeros(3))])
    plist.append(dg.ones(1, 4))
    assert len(plist) == 3 and isinstance(plist[0], nn.Parameter)
    assert [n for n, _ in plist.named_parameters()] == ["0", "1", "2"]
    assert plist[-1].shape == (1, 4) and len(plist[1:]) == 2
    pdict = nn.ParameterDict({"b": dg.ones(2)})
    pdict["scale"] = dg.zeros(2)
    assert list(pdict) == ["b", "scale"] and "b" in pdict
    assert [n for n, _ in pdict.named_parameters()] == ["b", "scale"]
    with pytest.raises(KeyError, match="attribute 'update' already exists"):
        pdict["update"] = dg.zeros(2)  # (a method's name: refused, as PyTorch's setattr does)
    del pdict["b"]
    # (PyTorch lists the key before setting it: the refused 'update' stays listed)
    assert list(pdict.keys()) == ["scale", "update"]
    theirs = torch.nn.ParameterDict({"w": torch.nn.Parameter(torch.ones(2))})
    ours = nn.ParameterDict({"w": dg.ones(2)})
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_parameters_to_vector_roundtrip():
    net = nn.Linear(3, 2)
    vec = nn.utils.parameters_to_vector(net.parameters())
    assert vec.shape == (8,)
    reference = torch.nn.utils.parameters_to_vector(
        [torch.tensor(p.detach().numpy()) for p in net.parameters()])
    np.testing.assert_array_equal(vec.detach().numpy(), reference.numpy())
    nn.utils.vector_to_parameters(dg.arange(8, dtype=np.float32), net.parameters())
    assert net.weight.detach().numpy().ravel().tolist() == [0, 1, 2, 3, 4, 5]
    assert net.bias.detach().numpy().tolist() == [6, 7]
    # (as PyTorch's: the weight takes its 6 entries, the bias's view of the last 1 raises)
    with pytest.raises(RuntimeError, match=r"shape '\[2\]' is invalid for input of size 1"):
        nn.utils.vector_to_parameters(dg.zeros(7), net.parameters())
    assert net.weight.detach().numpy().ravel().tolist() == [0] * 6


# ----------------------------------------------------------------------------------------------
# More layers.


def test_unflatten_identity_flatten():
    x = dg.randn(3, 10)
    assert nn.Unflatten(1, (2, 5))(x).shape == (3, 2, 5)
    assert nn.Unflatten(-1, (5, -1))(x).shape == (3, 5, 2)
    assert repr(nn.Unflatten(1, (2, 5))) == repr(torch.nn.Unflatten(1, (2, 5)))
    assert nn.Identity(5, foo=1)(x) is x
    assert nn.Flatten()(dg.zeros(2, 3, 4)).shape == (2, 12)


def test_bilinear_matches_torch():
    ours = nn.Bilinear(3, 4, 5, dtype=np.float64)
    theirs = torch.nn.Bilinear(3, 4, 5, dtype=torch.float64)
    load_from_torch(ours, theirs)
    assert repr(ours) == repr(theirs)
    run_both(lambda a, b: ours(a, b), lambda a, b: theirs(a, b),
             [randn(2, 6, 3), randn(2, 6, 4, seed=1)])
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), getattr(theirs, name).grad.numpy(),
                                   rtol=1e-10)
    assert np.abs(nn.Bilinear(16, 2, 2).weight.detach().numpy()).max() <= 0.25


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
def test_embedding_bag_offsets_match_torch(mode, padding_idx):
    ours = nn.EmbeddingBag(6, 3, mode=mode, padding_idx=padding_idx, dtype=np.float64)
    theirs = torch.nn.EmbeddingBag(6, 3, mode=mode, padding_idx=padding_idx,
                                   dtype=torch.float64)
    load_from_torch(ours, theirs)
    assert repr(ours) == repr(theirs)
    ids = np.array([1, 2, 4, 5, 4, 3, 2, 2, 0])
    offsets = np.array([0, 2, 2, 6])  # the third bag is empty; the last is all padding or not
    out = ours(dg.tensor(ids), dg.tensor(offsets))
    ref = theirs(torch.tensor(ids), torch.tensor(offsets))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    w = randn(*ref.shape, seed=3)
    (out * dg.tensor(w)).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                               rtol=1e-12)


def test_embedding_bag_2d_per_sample_weights_and_last_offset():
    weight = randn(5, 2)
    ids = np.array([[0, 1, 1], [4, 3, 0]])
    psw = randn(2, 3, seed=1)
    run_both(lambda w, p: F.embedding_bag(dg.tensor(ids), w, mode="sum", per_sample_weights=p),
             lambda w, p: TF.embedding_bag(torch.tensor(ids), w, mode="sum",
                                           per_sample_weights=p),
             [weight, psw])
    flat, offsets = ids.ravel(), np.array([0, 4, 6])
    run_both(lambda w: F.embedding_bag(dg.tensor(flat), w, dg.tensor(offsets),
                                       include_last_offset=True),
             lambda w: TF.embedding_bag(torch.tensor(flat), w, torch.tensor(offsets),
                                        include_last_offset=True), [weight])
    with pytest.raises(NotImplementedError, match="only supported for mode='sum'"):
        F.embedding_bag(dg.tensor(ids), dg.tensor(weight), per_sample_weights=dg.tensor(psw))
    with pytest.raises(RuntimeError, match="offsets\\[0\\] has to be 0"):
        F.embedding_bag(dg.tensor(flat), dg.tensor(weight), dg.tensor([1, 3]))


@pytest.mark.parametrize("dim", [1, -1, 0])
def test_cosine_similarity_matches_torch(dim):
    run_both(lambda a, b: nn.CosineSimilarity(dim)(a, b),
             lambda a, b: torch.nn.CosineSimilarity(dim)(a, b),
             [randn(3, 4), randn(3, 4, seed=1)])
    run_both(lambda a, b: F.cosine_similarity(a, b, dim=dim),
             lambda a, b: TF.cosine_similarity(a, b, dim=dim),
             [randn(3, 4), randn(1, 4, seed=1)])
    zero = F.cosine_similarity(dg.zeros(2, 3), dg.ones(2, 3))
    assert zero.tolist() == [0.0, 0.0]


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance_matches_torch(p, keepdim):
    run_both(lambda a, b: nn.PairwiseDistance(p, keepdim=keepdim)(a, b),
             lambda a, b: torch.nn.PairwiseDistance(p, keepdim=keepdim)(a, b),
             [randn(4, 5), randn(4, 5, seed=1)])
    run_both(lambda a, b: F.pairwise_distance(a, b, p),
             lambda a, b: TF.pairwise_distance(a, b, p), [randn(5), randn(5, seed=1)])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_gradcheck(mode):
    weight = dg.tensor(randn(5, 3), requires_grad=True)
    ids = dg.tensor(np.array([0, 1, 4, 4, 2, 3]))
    offsets = dg.tensor(np.array([0, 3, 3]))
    assert dg.gradcheck(lambda w: F.embedding_bag(ids, w, offsets, mode=mode), (weight,))
    if mode == "sum":
        psw = dg.tensor(randn(6, seed=1), requires_grad=True)
        assert dg.gradcheck(lambda w, p: F.embedding_bag(ids, w, offsets, mode="sum",
                                                         per_sample_weights=p), (weight, psw))
