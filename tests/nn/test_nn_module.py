"""deltagrad.nn.Module, Parameter and the containers."""

from collections import OrderedDict

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad._engine.sparse import RowSparseGrad


class Block(nn.Module):
    def __init__(self, n=3):
        super().__init__()
        self.scale = nn.Parameter(dg.ones(n))
        self.inner = nn.Linear(n, n)
        self.register_buffer("count", dg.zeros(1))
        self.register_buffer("cache", dg.zeros(2), persistent=False)
        self.plain = dg.zeros(2)  # a plain tensor attribute is not a parameter

    def forward(self, x):
        return self.inner(x) * self.scale


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 3, padding_idx=0)
        self.block = Block()
        self.head = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2, bias=False))

    def forward(self, ids):
        return self.head(self.block(self.emb(ids)).sum(1))


# ----------------------------------------------------------------------------------------------
# Parameter.


def test_parameter_is_a_marked_plain_tensor():
    data = dg.randn(2, 3)
    p = nn.Parameter(data)
    assert type(p) is dg.Tensor  # so the engine's `type(x) is Tensor` fast path takes it
    assert isinstance(p, nn.Parameter) and isinstance(p, dg.Tensor)
    assert issubclass(nn.Parameter, dg.Tensor)
    assert not isinstance(data, nn.Parameter) and not isinstance(p.detach(), nn.Parameter)
    assert p.requires_grad and p.is_leaf
    assert p._data is data._data  # shares memory with a Tensor, as PyTorch's Parameter
    frozen = nn.Parameter(np.zeros(3), requires_grad=False)
    assert isinstance(frozen, nn.Parameter) and not frozen.requires_grad
    assert frozen.dtype == dg.float64
    assert nn.Parameter().shape == (0,)
    with pytest.raises(TypeError, match="floating point"):
        nn.Parameter(dg.tensor([1, 2]))


def test_parameter_flows_through_ops_on_either_side():
    p = nn.Parameter(dg.tensor([1.0, 2.0]))
    x = dg.tensor([3.0, 4.0])
    loss = (x * p).sum() + (p * x).sum() + (x @ p) + dg.matmul(x, p) + (2.0 * p).sum()
    loss.backward()
    np.testing.assert_array_equal(p.grad._data, 4 * x._data + 2)


def test_parameter_mark_dies_with_the_tensor():
    import gc

    from deltagrad.nn.module import _MARKED

    gc.collect()  # parameters that earlier tests left in reference cycles die first
    before = len(_MARKED)
    p = nn.Parameter(dg.zeros(2))
    assert len(_MARKED) == before + 1
    del p
    gc.collect()
    assert len(_MARKED) == before


# ----------------------------------------------------------------------------------------------
# Registration and discovery.


def test_named_parameters_in_registration_order():
    names = [name for name, _ in Model().named_parameters()]
    assert names == ["emb.weight", "block.scale", "block.inner.weight", "block.inner.bias",
                     "head.0.weight", "head.0.bias", "head.2.weight"]
    assert len(list(Model().parameters())) == 7
    assert [n for n, _ in Model().block.named_parameters(prefix="b", recurse=False)] == [
        "b.scale"]


def test_shared_parameters_and_modules_are_listed_once():
    layer = nn.Linear(2, 2)
    net = nn.Sequential(layer, nn.ReLU(), layer)
    assert len(list(net.parameters())) == 2
    assert len(list(net.modules())) == 3
    assert [name for name, _ in net.named_modules()] == ["", "0", "1"]
    assert [name for name, _ in net.named_modules(remove_duplicate=False)] == ["", "0", "1", "2"]
    assert list(net.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_assignment_rules():
    block = Block()
    with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' as parameter 'scale'"):
        block.scale = dg.ones(3)
    block.scale = None  # an absent parameter is allowed, and skipped
    assert "scale" not in dict(block.named_parameters())
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'inner'"):
        block.inner = 3
    block.extra = nn.Parameter(dg.ones(1))
    assert "extra" in dict(block.named_parameters())
    del block.extra
    assert "extra" not in dict(block.named_parameters())
    with pytest.raises(AttributeError, match="'Block' object has no attribute 'extra'"):
        block.extra  # noqa: B018
    assert "inner" in dir(block) and "count" in dir(block)


def test_registration_errors():
    class Forgot(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(dg.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Forgot()
    block = Block()
    with pytest.raises(KeyError, match='contain "."'):
        block.register_parameter("a.b", nn.Parameter(dg.ones(1)))
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        block.register_buffer("plain", dg.ones(1))
    with pytest.raises(TypeError, match="Parameter or None required"):
        block.register_parameter("q", dg.ones(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        block.add_module("m", 3)


def test_buffers():
    block = Block()
    assert [name for name, _ in block.named_buffers()] == ["count", "cache"]
    assert "count" in block.state_dict() and "cache" not in block.state_dict()
    block.count = dg.ones(1)
    assert block.state_dict()["count"].item() == 1.0
    with pytest.raises(TypeError, match="Tensor or None expected"):
        block.count = 3


def test_children_and_submodules():
    model = Model()
    assert [name for name, _ in model.named_children()] == ["emb", "block", "head"]
    assert list(model.children())[1] is model.block
    assert model.get_submodule("head.2") is model.head[2]
    assert model.get_submodule("") is model
    with pytest.raises(AttributeError, match="Sequential has no attribute `nope`"):
        model.get_submodule("head.nope")


def test_call_runs_forward_and_base_forward_is_missing():
    model = Model()
    out = model(dg.tensor([[1, 2], [3, 0]]))
    assert out.shape == (2, 2)
    with pytest.raises(NotImplementedError, match="Module"):
        nn.Module()(dg.ones(1))


def test_train_eval_propagate():
    model = Model()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(ValueError, match="bool"):
        model.train("no")


def test_apply_visits_children_first():
    seen = []
    net = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Tanh()))
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "ReLU", "Tanh", "Sequential", "Sequential"]


def test_requires_grad_and_zero_grad():
    model = Model()
    model(dg.tensor([[1, 2]])).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(not p.grad._data.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not any(p.requires_grad for p in model.parameters())


def test_zero_grad_empties_sparse_gradients():
    emb = nn.Embedding(5, 2, sparse=True)
    emb(dg.tensor([1, 1, 3])).sum().backward()
    grad = emb.weight.grad
    assert grad.is_sparse and isinstance(grad._data, RowSparseGrad)
    emb.zero_grad(set_to_none=False)
    assert emb.weight.grad is grad and grad.is_sparse and grad._nnz() == 0
    assert not emb.weight.grad.to_dense().any()


def test_to_double_keeps_parameter_identity():
    model = Model()
    weight = model.block.inner.weight
    model.double()
    assert model.block.inner.weight is weight and weight.dtype == dg.float64
    assert model.block.count.dtype == dg.float64
    model.float()
    assert weight.dtype == dg.float32


# ----------------------------------------------------------------------------------------------
# state_dict.


def test_state_dict_round_trip_and_memory_sharing():
    a, b = Model(), Model()
    state = a.state_dict()
    assert list(state) == ["emb.weight", "block.scale", "block.count", "block.inner.weight",
                           "block.inner.bias", "head.0.weight", "head.0.bias", "head.2.weight"]
    assert state["block.scale"]._data is a.block.scale._data
    assert not state["block.scale"].requires_grad
    result = b.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        np.testing.assert_array_equal(p._data, q._data, err_msg=name)
    ids = dg.tensor([[1, 2, 3]])
    np.testing.assert_array_equal(a(ids)._data, b(ids)._data)


def test_load_state_dict_copies_in_place_and_casts():
    model = nn.Linear(3, 2)
    weight = model.weight
    array = weight._data
    model.load_state_dict({"weight": dg.ones(2, 3, dtype=dg.float64),
                           "bias": dg.tensor([1.0, 2.0])})
    assert model.weight is weight and weight._data is array and weight.dtype == dg.float32
    np.testing.assert_array_equal(model.bias._data, [1.0, 2.0])
    # A list or an array is no tensor: PyTorch's RuntimeError (it loaded as an array before)
    for value in ([1.0, 2.0], np.ones(2)):
        with pytest.raises(RuntimeError, match="expected torch.Tensor or Tensor-like"):
            model.load_state_dict({"weight": weight.detach(), "bias": value})


def test_load_state_dict_errors_name_keys_and_shapes():
    model = Model()
    before = {k: v._data.copy() for k, v in model.state_dict().items()}
    state = dict(model.state_dict())
    del state["head.0.bias"]
    state["head.9.weight"] = dg.ones(1)
    state["block.inner.weight"] = dg.ones(4, 3)
    state["emb.weight"] = dg.ones(10, 3) * 5
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "Error(s) in loading state_dict for Model" in message
    assert 'Missing key(s) in state_dict: "head.0.bias"' in message
    assert 'Unexpected key(s) in state_dict: "head.9.weight"' in message
    assert ("size mismatch for block.inner.weight: copying a param with shape "
            "deltagrad.Size([4, 3]) from checkpoint, the shape in current model is "
            "deltagrad.Size([3, 3])") in message
    for key, value in model.state_dict().items():  # what fitted was copied (PyTorch's)
        if key == "emb.weight":
            assert (value._data == 5).all()
        elif key in state and key != "block.inner.weight":
            np.testing.assert_array_equal(value._data, state[key]._data)
        else:  # (missing, or of another shape: kept)
            np.testing.assert_array_equal(value._data, before[key])
    # Non-strict: key mismatches are reported, shape mismatches still refused.
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict(state, strict=False)
    del state["block.inner.weight"]
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["block.inner.weight", "head.0.bias"] and unexpected == ["head.9.weight"]
    assert (model.emb.weight._data == 5).all()


# ----------------------------------------------------------------------------------------------
# repr.


def test_repr_matches_pytorch_layout():
    model = Model()
    assert repr(model) == """Model(
  (emb): Embedding(10, 3, padding_idx=0)
  (block): Block(
    (inner): Linear(in_features=3, out_features=3, bias=True)
  )
  (head): Sequential(
    (0): Linear(in_features=3, out_features=4, bias=True)
    (1): Tanh()
    (2): Linear(in_features=4, out_features=2, bias=False)
  )
)"""


def test_repr_equals_torch_repr_for_the_same_tree():
    torch = pytest.importorskip("torch")

    def build(lib):
        return lib.nn.Sequential(
            lib.nn.Embedding(20, 4, padding_idx=1), lib.nn.Flatten(), lib.nn.Linear(8, 6),
            lib.nn.Hardtanh(), lib.nn.LeakyReLU(0.2), lib.nn.GELU(approximate="tanh"),
            lib.nn.ModuleDict({"a": lib.nn.Sigmoid(), "b": lib.nn.Identity()}),
            lib.nn.ModuleList([lib.nn.Linear(6, 3), lib.nn.ReLU()]),
            lib.nn.Softmax(dim=1), lib.nn.LogSoftmax(dim=-1), lib.nn.CrossEntropyLoss(),
            lib.nn.NLLLoss(), lib.nn.MSELoss(), lib.nn.BCEWithLogitsLoss())

    assert repr(build(dg)) == repr(build(torch))


def test_repr_with_multiline_extra_and_custom_child_repr():
    class Two(nn.Module):
        def extra_repr(self):
            return "first\nsecond"

    class Custom(nn.Module):
        def __repr__(self):
            return "Custom<\nx>"

    net = nn.Sequential(Two(), Custom())
    assert repr(net) == ("Sequential(\n  (0): Two(\n    first\n    second\n  )\n"
                         "  (1): Custom<\n  x>\n)")


def test_deep_models_need_no_recursion():
    depth = 5000
    net = nn.Linear(1, 1)
    for _ in range(depth):
        net = nn.Sequential(net)
    assert len(list(net.parameters())) == 2
    assert len(net.state_dict()) == 2
    net.eval()
    assert repr(net).count("Sequential(") == depth
    net.load_state_dict(net.state_dict())
    net.apply(lambda m: None)


# ----------------------------------------------------------------------------------------------
# Containers.


def test_sequential():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    net = nn.Sequential(a, b, c)
    assert len(net) == 3 and net[0] is a and net[-1] is c and list(net) == [a, b, c]
    assert isinstance(net[1:], nn.Sequential) and list(net[1:]) == [b, c]
    x = dg.randn(4, 2)
    np.testing.assert_array_equal(net(x)._data, c(b(a(x)))._data)
    named = nn.Sequential(OrderedDict([("enc", a), ("act", b)]))
    assert named.enc is a and [n for n, _ in named.named_children()] == ["enc", "act"]
    del net[1]
    assert [n for n, _ in net.named_children()] == ["0", "1"] and net[1] is c
    net.append(nn.Tanh())
    net[0] = nn.Identity()
    assert isinstance(net[0], nn.Identity) and len(net) == 3
    with pytest.raises(IndexError, match="out of range"):
        net[5]  # noqa: B018


def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2), nn.ReLU()])
    layers.append(nn.Tanh())
    layers.extend([nn.Sigmoid()])
    layers.insert(1, nn.Identity())
    assert [type(m).__name__ for m in layers] == ["Linear", "Identity", "ReLU", "Tanh",
                                                  "Sigmoid"]
    assert [n for n, _ in layers.named_children()] == ["0", "1", "2", "3", "4"]
    del layers[0]
    assert len(layers) == 4 and len(list(layers.parameters())) == 0
    layers[0] = nn.Linear(1, 1)
    assert len(list(layers.parameters())) == 2 and isinstance(layers[-1], nn.Sigmoid)
    layers += [nn.ReLU()]
    assert len(layers[1:3]) == 2 and len(layers) == 5


def test_module_dict():
    heads = nn.ModuleDict({"a": nn.Linear(2, 2)})
    heads["b"] = nn.Linear(2, 1)
    heads.update([("c", nn.ReLU())])
    assert list(heads) == ["a", "b", "c"] and "b" in heads and len(heads) == 3
    assert list(heads.keys()) == ["a", "b", "c"] and len(list(heads.parameters())) == 4
    assert isinstance(heads.pop("c"), nn.ReLU)
    del heads["a"]
    assert list(dict(heads.items())) == ["b"] and list(heads.values())[0].out_features == 1
    heads.clear()
    assert len(heads) == 0


def test_deepcopy_gives_independent_parameters():
    import copy

    model = Model()
    clone = copy.deepcopy(model)
    pairs = list(zip(model.parameters(), clone.parameters()))
    assert len(pairs) == 7
    for original, copied in pairs:
        assert copied is not original and isinstance(copied, nn.Parameter)
        np.testing.assert_array_equal(copied._data, original._data)
    clone.block.scale._data[...] = 7.0
    assert not (model.block.scale._data == 7.0).any()


def test_deepcopy_of_a_module_starts_without_gradients():
    import copy

    model = nn.Linear(2, 2)
    model(dg.ones(1, 2)).sum().backward()
    twin = copy.deepcopy(model)
    assert all(p.grad is None for p in twin.parameters())  # as PyTorch's copied Parameters
    assert all(p.grad is not None for p in model.parameters())
    assert isinstance(twin.weight, nn.Parameter)
    np.testing.assert_array_equal(twin.weight.detach().numpy(), model.weight.detach().numpy())
