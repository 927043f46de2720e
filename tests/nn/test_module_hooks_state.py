"""Module state-dict hooks, extra state, nn.Buffer and lazy modules, against PyTorch."""

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402
from deltagrad import nn  # noqa: E402

# The same small model in both libraries: Sequential(Linear, Sequential(Linear, Tanh)).


def _model(lib):
    return lib.nn.Sequential(lib.nn.Linear(3, 2), lib.nn.Sequential(lib.nn.Linear(2, 2),
                                                                      lib.nn.Tanh()))


def _copy(ours, theirs):
    ours.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})


def _pair():
    theirs, ours = _model(torch).double(), _model(dg).double()
    _copy(ours, theirs)
    return ours, theirs


def _record(module_lib, model, log, kind):
    """Register a hook of ``kind`` on every submodule, logging calls by module name."""
    for name, module in model.named_modules():
        if kind == "pre":
            module.register_state_dict_pre_hook(
                lambda m, prefix, keep_vars, name=name: log.append(("pre", name, prefix,
                                                                    keep_vars)))
        elif kind == "post":
            module.register_state_dict_post_hook(
                lambda m, sd, prefix, meta, name=name: log.append(("post", name, prefix,
                                                                   len(sd), dict(meta))))
        elif kind == "load_pre":
            module.register_load_state_dict_pre_hook(
                lambda m, sd, prefix, meta, strict, missing, unexpected, errors, name=name:
                log.append(("load_pre", name, prefix, sorted(sd), strict)))
        else:
            module.register_load_state_dict_post_hook(
                lambda m, keys, name=name: log.append(("load_post", name,
                                                       list(keys.missing_keys))))


@pytest.mark.parametrize("kind", ["pre", "post"])
def test_state_dict_hooks_run_in_pytorchs_order_with_its_arguments(kind):
    ours, theirs = _pair()
    log_ours, log_theirs = [], []
    _record(dg, ours, log_ours, kind)
    _record(torch, theirs, log_theirs, kind)
    ours.state_dict(keep_vars=True)
    theirs.state_dict(keep_vars=True)
    assert log_ours == log_theirs and len(log_ours) == 5


def test_state_dict_metadata_and_prefix_match_pytorch():
    ours, theirs = _pair()
    mine = ours.state_dict(prefix="model.")
    reference = theirs.state_dict(prefix="model.")
    assert list(mine) == list(reference)
    assert dict(mine._metadata) == dict(reference._metadata)


def test_state_dict_post_hook_edits_in_place_and_must_return_none():
    for lib in (dg, torch):
        model = _model(lib)
        def drop_bias(module, state_dict, prefix, local_metadata):
            del state_dict[prefix + "0.bias"]

        handle = model[1].register_state_dict_post_hook(drop_bias)
        assert "1.0.bias" not in model.state_dict()
        handle.remove()
        assert "1.0.bias" in model.state_dict()
        model.register_state_dict_post_hook(lambda m, sd, prefix, meta: sd)
        with pytest.raises(RuntimeError, match="must return None"):
            model.state_dict()


@pytest.mark.parametrize("kind", ["load_pre", "load_post"])
def test_load_hooks_run_in_pytorchs_order_with_its_arguments(kind):
    ours, theirs = _pair()
    log_ours, log_theirs = [], []
    _record(dg, ours, log_ours, kind)
    _record(torch, theirs, log_theirs, kind)
    state = theirs.state_dict()
    del state["1.0.bias"]
    ours.load_state_dict({k: dg.tensor(v.numpy()) for k, v in state.items()}, strict=False)
    theirs.load_state_dict(state, strict=False)
    if kind == "load_post":
        # Difference (documented in module_state.py): post-hooks run after the whole load,
        # so every one sees the complete list of missing keys.
        assert [entry[:2] for entry in log_ours] == [entry[:2] for entry in log_theirs]
        assert all(entry[2] == ["1.0.bias"] for entry in log_ours)
    else:
        assert log_ours == log_theirs and len(log_ours) == 5


def test_load_pre_hook_can_rename_old_keys():
    def rename(module, state_dict, prefix, *rest):
        for old, new in (("w", "weight"), ("b", "bias")):
            if prefix + old in state_dict:
                state_dict[prefix + new] = state_dict.pop(prefix + old)

    rng = np.random.default_rng(0)
    weight, bias = rng.standard_normal((2, 3)), rng.standard_normal(2)
    results = []
    for lib, make in ((dg, dg.tensor), (torch, torch.tensor)):
        model = lib.nn.Sequential(lib.nn.Linear(3, 2)).double()
        model[0].register_load_state_dict_pre_hook(rename)
        given = {"0.w": make(weight), "0.b": make(bias)}
        result = model.load_state_dict(given)
        assert list(given) == ["0.w", "0.b"]  # the caller's dict is not changed
        results.append((repr(result), model[0].weight.detach().numpy().copy()))
    assert results[0][0] == results[1][0] == "<All keys matched successfully>"
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_load_post_hook_can_clear_missing_keys_and_must_return_none():
    for lib in (dg, torch):
        model = _model(lib).double()
        state = {k: v for k, v in model.state_dict().items() if k != "0.bias"}
        with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "0.bias"'):
            model.load_state_dict(state)
        handle = model.register_load_state_dict_post_hook(
            lambda m, keys: keys.missing_keys.clear())
        assert repr(model.load_state_dict(state)) == "<All keys matched successfully>"
        handle.remove()
        model.register_load_state_dict_post_hook(lambda m, keys: keys)
        with pytest.raises(AssertionError, match="not expected to return new values"):
            model.load_state_dict(model.state_dict())


def test_failed_load_copies_what_fits():
    # (PyTorch copies the entries that fit, then raises; deltagrad left the module unchanged
    # before s25 BR8)
    ours, theirs = _pair()
    for model, lib in ((ours, dg), (theirs, torch)):
        state = {k: lib.zeros(*v.shape, dtype=lib.float64) for k, v in model.state_dict().items()}
        state["1.0.weight"] = lib.zeros(5, 5)
        with pytest.raises(RuntimeError, match="size mismatch for 1.0.weight"):
            model.load_state_dict(state)
    for (key, value), (_, expected) in zip(ours.state_dict().items(),
                                           theirs.state_dict().items()):
        np.testing.assert_array_equal(value.numpy(), expected.numpy(), err_msg=key)
    assert (ours.state_dict()["0.weight"].numpy() == 0).all()
    assert (ours.state_dict()["1.0.weight"].numpy() != 0).any()


# ----------------------------------------------------------------------------------------------
# Extra state.


def _with_extra_state(lib):
    class Counter(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = lib.nn.Linear(2, 2)
            self.count = 3

        def get_extra_state(self):
            return {"count": self.count}

        def set_extra_state(self, state):
            self.count = state["count"]

    return lib.nn.Sequential(Counter(), lib.nn.Linear(2, 1))


def test_extra_state_is_saved_and_loaded_as_in_pytorch():
    ours, theirs = _with_extra_state(dg), _with_extra_state(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.state_dict()["0._extra_state"] == theirs.state_dict()["0._extra_state"]
    state = dict(ours.state_dict())
    state["0._extra_state"] = {"count": 7}
    ours.load_state_dict(state)
    assert ours[0].count == 7
    del state["0._extra_state"]
    for model, given in ((ours, state), (theirs, {k: v for k, v in theirs.state_dict().items()
                                                  if k != "0._extra_state"})):
        with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: '
                                               '"0._extra_state"'):
            model.load_state_dict(given)


def test_extra_state_for_a_module_without_set_extra_state_is_unexpected():
    for lib in (dg, torch):
        model = lib.nn.Linear(2, 2)
        state = dict(model.state_dict())
        state["_extra_state"] = 1
        with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: '
                                               '"_extra_state"'):
            model.load_state_dict(state)
        with pytest.raises(RuntimeError, match="should never be called"):
            model.get_extra_state()
        with pytest.raises(RuntimeError, match="should never be called"):
            model.set_extra_state(1)


# ----------------------------------------------------------------------------------------------
# nn.Buffer and assignment rules.


def _buffered(lib):
    class Model(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.kept = lib.nn.Buffer(lib.ones(2))
            self.scratch = lib.nn.Buffer(lib.zeros(3), persistent=False)
            self.linear = lib.nn.Linear(2, 2)
            self.grad_buffer = lib.nn.Buffer(lib.ones(1, requires_grad=True))

    return Model()


def test_buffer_marker_registers_buffers_as_pytorch():
    ours, theirs = _buffered(dg), _buffered(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert ours.grad_buffer.requires_grad and not ours.kept.requires_grad
    assert isinstance(ours.kept, nn.Buffer) and not isinstance(dg.ones(1), nn.Buffer)
    source = dg.ones(2)
    shared = nn.Buffer(source)
    shared.numpy()[0] = 5.0  # shares memory, as PyTorch's detach()
    assert source[0].item() == 5.0
    # A plain tensor assigned over a registered buffer keeps its persistence.
    ours.scratch = dg.ones(3)
    assert "scratch" not in ours.state_dict()
    ours.kept = nn.Buffer(dg.zeros(2), persistent=False)
    theirs.kept = torch.nn.Buffer(torch.zeros(2), persistent=False)
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_buffer_and_parameter_assignment_errors_match_pytorch():
    for lib in (dg, torch):
        model = lib.nn.Linear(2, 2)
        with pytest.raises(TypeError):
            model.weight = lib.nn.Buffer(lib.ones(2, 2))  # a parameter's name
        model.plain = 1
        with pytest.raises(KeyError, match="already exists"):
            model.plain = lib.nn.Buffer(lib.ones(1))
        with pytest.raises(KeyError, match="already exists"):
            model.forward = lib.nn.Parameter(lib.ones(1))  # a method's name


# ----------------------------------------------------------------------------------------------
# Lazy modules.


def test_lazy_linear_state_dict_before_and_after_the_first_call():
    ours, theirs = nn.LazyLinear(3, dtype=dg.float64), torch.nn.LazyLinear(3).double()
    assert [(k, repr(v)) for k, v in ours.state_dict().items()] == [
        (k, repr(v)) for k, v in theirs.state_dict().items()]
    assert repr(ours) == repr(theirs)
    assert isinstance(ours.weight, nn.UninitializedParameter)
    assert isinstance(ours.weight, nn.Parameter)
    assert not isinstance(nn.Parameter(dg.ones(1)), nn.UninitializedParameter)
    with pytest.raises(RuntimeError, match="Can't access the shape"):
        _ = ours.weight.shape
    x = np.random.default_rng(0).standard_normal((4, 5))
    ours(dg.tensor(x))
    theirs(torch.tensor(x))
    assert type(ours) is nn.Linear and type(theirs) is torch.nn.Linear
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert ours.weight.dtype == dg.float64
    _copy(ours, theirs)
    expected = theirs(torch.tensor(x))
    np.testing.assert_allclose(ours(dg.tensor(x)).detach().numpy(),
                               expected.detach().numpy())


def test_lazy_linear_initializes_as_linear_and_keeps_parameter_identity():
    dg.manual_seed(3)
    lazy = nn.LazyLinear(4)
    weight = lazy.weight
    optimizer = dg.optim.SGD(lazy.parameters(), lr=0.1)  # built before the first call
    lazy(dg.ones(2, 3)).sum().backward()
    dg.manual_seed(3)
    eager = nn.Linear(3, 4)
    assert lazy.weight is weight and lazy.weight.requires_grad
    np.testing.assert_array_equal(lazy.weight.detach().numpy(), eager.weight.detach().numpy())
    np.testing.assert_array_equal(lazy.bias.detach().numpy(), eager.bias.detach().numpy())
    optimizer.step()
    assert not np.array_equal(lazy.weight.detach().numpy(), eager.weight.detach().numpy())
    assert lazy._hooks is None  # back on the fast call path
    assert not isinstance(lazy.weight, nn.UninitializedParameter)


def test_loading_a_state_dict_materializes_a_lazy_module():
    reference = torch.nn.Linear(5, 3).double()
    ours, theirs = nn.LazyLinear(3), torch.nn.LazyLinear(3)
    ours.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in
                          reference.state_dict().items()})
    theirs.load_state_dict(reference.state_dict())
    assert tuple(ours.weight.shape) == tuple(theirs.weight.shape) == (3, 5)
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())
    x = np.ones((2, 5))
    np.testing.assert_allclose(ours(dg.tensor(x, dtype=dg.float32)).detach().numpy(),
                               theirs(torch.tensor(x, dtype=torch.float32)).detach().numpy(),
                               rtol=1e-6)
    assert repr(ours) == repr(theirs)  # (in_features set by the first call, as PyTorch)
    with pytest.raises(RuntimeError, match="uninitialized"):
        nn.Linear(5, 3).load_state_dict(nn.LazyLinear(3).state_dict())


def test_lazy_conv1d_against_pytorch():
    x = np.random.default_rng(1).standard_normal((2, 4, 9))
    ours = nn.LazyConv1d(6, 3, padding=1, groups=2, dtype=dg.float64)
    theirs = torch.nn.LazyConv1d(6, 3, padding=1, groups=2).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours(dg.tensor(x))
    theirs(torch.tensor(x))
    assert type(ours) is nn.Conv1d and repr(ours) == repr(theirs)
    _copy(ours, theirs)
    y_ours, y_theirs = ours(dg.tensor(x, requires_grad=True)), theirs(torch.tensor(x))
    np.testing.assert_allclose(y_ours.detach().numpy(), y_theirs.detach().numpy(), rtol=1e-10)
    for lib, make in ((dg, dg.tensor), (torch, torch.tensor)):
        with pytest.raises(ValueError, match="divisible by groups"):
            lib.nn.LazyConv1d(4, 3, groups=2)(make(np.ones((1, 3, 5))))
        with pytest.raises(RuntimeError, match="Expected 2D .unbatched. or 3D"):
            lib.nn.LazyConv1d(4, 3)(make(np.ones((1, 1, 3, 5))))


def test_uninitialized_tensors_copy_and_materialize():
    lazy = nn.LazyLinear(2)
    clone = copy.deepcopy(lazy)
    assert isinstance(clone.weight, nn.UninitializedParameter) and clone.weight is not lazy.weight
    buffer = nn.UninitializedBuffer(persistent=False)
    holder = nn.Module()
    holder.stats = buffer
    assert "stats" in dict(holder.named_buffers()) and "stats" not in holder.state_dict()
    buffer.materialize((2, 3), dtype=dg.float64)
    assert type(buffer) is dg.Tensor and buffer.shape == (2, 3) and buffer.dtype == dg.float64
    assert repr(nn.UninitializedParameter()) == repr(torch.nn.UninitializedParameter())
    for lib in (dg, torch):
        with pytest.warns(FutureWarning), pytest.raises(ValueError,
                                                        match="uninitialized parameters"):
            lib.nn.utils.weight_norm(lib.nn.LazyLinear(2))


@pytest.mark.parametrize("name,args,options,shape", [
    ("LazyConv2d", (4, 3), {"padding": 1}, (2, 3, 5, 5)),
    ("LazyConv3d", (2, 2), {}, (1, 2, 4, 4, 4)),
    ("LazyConvTranspose1d", (4, 3), {"stride": 2, "groups": 2}, (2, 6, 5)),
    ("LazyConvTranspose2d", (3, 2), {}, (3, 4, 4)),
    ("LazyConvTranspose3d", (2, 2), {}, (1, 2, 3, 3, 3)),
    ("LazyBatchNorm1d", (), {}, (4, 3)),
    ("LazyBatchNorm2d", (), {"momentum": None}, (4, 3, 2, 2)),
    ("LazyBatchNorm3d", (), {"affine": False}, (2, 3, 2, 2, 2)),
    ("LazyInstanceNorm1d", (), {}, (2, 3, 5)),
    ("LazyInstanceNorm2d", (), {"track_running_stats": False}, (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), {}, (1, 2, 3, 3, 3)),
])
def test_lazy_convolutions_and_norms_against_pytorch(name, args, options, shape):
    ours = getattr(nn, name)(*args, **options, dtype=dg.float64)
    theirs = getattr(torch.nn, name)(*args, **options).double()
    assert [(k, repr(v)) for k, v in ours.state_dict().items()] == [
        (k, repr(v)) for k, v in theirs.state_dict().items()]
    assert repr(ours) == repr(theirs)
    x = np.random.default_rng(2).standard_normal(shape)
    ours(dg.tensor(x))
    theirs(torch.tensor(x))
    assert type(ours).__name__ == type(theirs).__name__ == name[4:]
    assert repr(ours) == repr(theirs)
    _copy(ours, theirs)
    np.testing.assert_allclose(ours(dg.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    for key, value in theirs.state_dict().items():  # (running statistics updated alike)
        np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-10)
