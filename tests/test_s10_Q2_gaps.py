"""Session-10 Q2 gaps found by libraries' suites: associative_scan, Module._apply overrides,
_replicate_for_data_parallel (each checked against PyTorch)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch._higher_order_ops import associative_scan as torch_scan  # noqa: E402

import deltagrad as dg  # noqa: E402
from deltagrad._higher_order_ops import associative_scan as dg_scan  # noqa: E402


def _both(array: np.ndarray, grad: bool = True):
    return (dg.tensor(array, requires_grad=grad), torch.tensor(array, requires_grad=grad))


def _affine(a, b):
    # (scale, shift) pairs compose associatively (a linear recurrence, as in SSM scans).
    return (a[0] * b[0], a[1] * b[0] + b[1])


@pytest.mark.parametrize("length", [1, 2, 3, 5, 8, 9])
@pytest.mark.parametrize("dim,reverse", [(0, False), (-1, True), (1, False)])
def test_associative_scan_matches_torch(length, dim, reverse):
    rng = np.random.default_rng(length * 7 + dim)
    shape = [3, 4, 2]
    shape[dim] = length
    a = rng.standard_normal(shape).astype(np.float32)
    b = rng.standard_normal(shape).astype(np.float32)
    (da, ta), (db, tb) = _both(a), _both(b)
    dout = dg_scan(_affine, (da, db), dim, reverse=reverse, combine_mode="generic")
    tout = torch_scan(_affine, (ta, tb), dim, reverse=reverse, combine_mode="generic")
    assert isinstance(dout, tuple) and len(dout) == 2
    weights = rng.standard_normal(shape).astype(np.float32)
    for d, t in zip(dout, tout):
        assert d.dtype == dg.float32 and tuple(d.shape) == tuple(t.shape)
        # same combines in the same order: bit-identical float32 results
        np.testing.assert_array_equal(d.detach().numpy(), t.detach().numpy())
    (dout[0] * dg.tensor(weights) + dout[1]).sum().backward()
    (tout[0] * torch.tensor(weights) + tout[1]).sum().backward()
    for d, t in ((da, ta), (db, tb)):
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_associative_scan_dict_tree_and_element_shapes():
    x = np.arange(1.0, 13.0).reshape(6, 2)
    seen = {"dg": set(), "torch": set()}

    def combine(name):
        def fn(a, b):
            seen[name].add(tuple(a["m"].shape))
            return {"m": a["m"] + b["m"], "p": a["p"] * b["p"]}
        return fn

    d = dg_scan(combine("dg"), {"m": dg.tensor(x), "p": dg.tensor(x)}, 0,
                combine_mode="generic")
    t = torch_scan(combine("torch"), {"m": torch.tensor(x), "p": torch.tensor(x)}, 0,
                   combine_mode="generic")
    assert seen["dg"] == seen["torch"] == {(2,)}  # one element at a time (vmap)
    for key in ("m", "p"):
        assert d[key].dtype == dg.float64
        np.testing.assert_array_equal(d[key].numpy(), t[key].numpy())


@pytest.mark.parametrize("call", [
    lambda m, s, x: s(lambda a, b: a + b, x, 0),  # pointwise needs CUDA in torch
    lambda m, s, x: s(lambda a, b: a + b, x, 0, combine_mode="fast"),
    lambda m, s, x: s(lambda a, b: a + b, x, 2, combine_mode="generic"),
    lambda m, s, x: s(lambda a, b: a + b, x, 0, reverse=1, combine_mode="generic"),
    lambda m, s, x: s(lambda a, b: a + b, x[:0], 0, combine_mode="generic"),
    lambda m, s, x: s(lambda a, b: a + b, [], 0, combine_mode="generic"),
    lambda m, s, x: s(lambda a, b: a + b, x.sum(), 0, combine_mode="generic"),
    lambda m, s, x: s(5, x, 0, combine_mode="generic"),
])
def test_associative_scan_errors_match_torch(call):
    x = np.ones((3, 2), np.float32)
    with pytest.raises(Exception) as t_err:
        call(torch, torch_scan, torch.tensor(x))
    with pytest.raises(type(t_err.value)) as d_err:
        call(dg, dg_scan, dg.tensor(x))
    assert type(d_err.value) is type(t_err.value)


def _recording_net(m):
    """A subclass overriding `_apply` (as timm's and torchmetrics' modules do): records calls."""

    class Inner(m.nn.Linear):
        def _apply(self, fn, recurse=True):
            calls.append(("inner", recurse))
            return super()._apply(fn, recurse)

    class Outer(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Inner(2, 3)
            self.register_buffer("steps", m.zeros(2, dtype=m.int64))

        def _apply(self, fn, recurse=True):
            calls.append(("outer", recurse))
            return super()._apply(fn, recurse=recurse)

    calls = []
    return Outer(), calls


@pytest.mark.parametrize("move", [
    lambda m, net: net.to(m.float64), lambda m, net: net.to("cpu"),
    lambda m, net: net.to(device="cpu", dtype=m.float16), lambda m, net: net.cpu(),
    lambda m, net: net.float(), lambda m, net: net.double(), lambda m, net: net.half(),
    lambda m, net: net.type(m.float64),
    lambda m, net: net.to(memory_format=m.channels_last),
    lambda m, net: net.to_empty(device="cpu"),
    lambda m, net: net.to_empty(device="cpu", recurse=False),
])
def test_module_moves_call_overridden_apply(move):
    results = {}
    for m in (dg, torch):
        net, calls = _recording_net(m)
        assert move(m, net) is net
        results[m.__name__] = (calls, str(net.inner.weight.dtype).split(".")[-1],
                               str(net.steps.dtype).split(".")[-1])
    assert results["deltagrad"] == results["torch"]
    assert results["torch"][0]  # torch does call it: the check above means something


def test_replicate_for_data_parallel_matches_torch():
    seen = {}
    for m in (dg, torch):
        m.manual_seed(0)
        net = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.BatchNorm1d(3))
        replica = net._replicate_for_data_parallel()
        bn = net[1]._replicate_for_data_parallel()
        assert type(replica) is type(net) and replica is not net
        assert replica._is_replica and not hasattr(net, "_is_replica")
        assert replica[0] is net[0] and replica._modules is not net._modules
        assert bn._buffers is not net[1]._buffers and bn.running_mean is net[1].running_mean
        assert bn.training == net[1].training
        seen[m.__name__] = ([n for n, _ in replica.named_parameters()],
                            [n for n, _ in bn.named_parameters()],
                            [n for n, _ in bn.named_buffers()], hasattr(bn, "weight"))
    assert seen["deltagrad"] == seen["torch"]


def _per_sample_case(m, build, shapes, seed, **options):
    """Build the same seeded model and inputs in `m`, run call_for_per_sample_grads, backward."""
    psg = __import__(f"{m.__name__}.nn.utils._per_sample_grad", fromlist=["x"])
    rng = np.random.default_rng(seed)
    net = build(m.nn)
    for param in net.parameters():
        param.data = m.tensor(rng.standard_normal(tuple(param.shape)).astype(np.float32) * 0.5)
    inputs = []
    for shape in shapes:
        if shape[0] == "int":
            inputs.append(m.tensor(rng.integers(0, shape[2], shape[1])))
        else:
            inputs.append(m.tensor(rng.standard_normal(shape).astype(np.float32),
                                   requires_grad=True))
    out = psg.call_for_per_sample_grads(net, **options)(*inputs)
    weights = m.tensor(rng.standard_normal(tuple(out.shape)).astype(np.float32))
    (out * weights).sum().backward()
    grads = {name: (param.grad_sample.detach().numpy(), param.grad)
             for name, param in net.named_parameters() if param.requires_grad}
    return grads, [x.grad.numpy() for x in inputs if x.grad is not None], out.detach().numpy()


@pytest.mark.parametrize("build,shapes,options", [
    (lambda nn: nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, groups=2), nn.GroupNorm(2, 4),
                              nn.ReLU(), nn.Flatten(), nn.Linear(100, 6), nn.LayerNorm(6)),
     [(3, 2, 5, 5)], {"loss_reduction": "mean"}),
    (lambda nn: nn.Sequential(nn.Conv1d(3, 4, 3, padding="same", padding_mode="reflect",
                                        dilation=2), nn.InstanceNorm1d(4, affine=True),
                              nn.Conv1d(4, 2, 2, stride=2)),
     [(2, 3, 9)], {}),
    (lambda nn: nn.Sequential(nn.Embedding(7, 4, padding_idx=0), nn.LayerNorm([3, 4])),
     [("int", (5, 3), 7)], {"batch_size": 5}),
    (lambda nn: nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2, bias=False)),
     [(6, 2, 4)], {}),
    (lambda nn: nn.Sequential(nn.Linear(4, 3), nn.ReLU(inplace=True), nn.Linear(3, 3)),
     [(4, 4)], {}),
])
def test_per_sample_grads_match_torch(build, shapes, options):
    d_grads, d_inputs, d_out = _per_sample_case(dg, build, shapes, 3, **options)
    t_grads, t_inputs, t_out = _per_sample_case(torch, build, shapes, 3, **options)
    np.testing.assert_allclose(d_out, t_out, rtol=1e-5, atol=1e-5)
    assert d_grads.keys() == t_grads.keys()
    for name, (sample, grad) in d_grads.items():
        assert grad is None and t_grads[name][1] is None  # only grad_sample is filled
        assert sample.shape == t_grads[name][0].shape, name
        np.testing.assert_allclose(sample, t_grads[name][0], rtol=1e-4, atol=1e-5)
    for d, t in zip(d_inputs, t_inputs, strict=True):
        np.testing.assert_allclose(d, t, rtol=1e-4, atol=1e-5)


def test_per_sample_grads_tied_and_frozen_and_errors():
    def build(nn):
        net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
        net[1].weight = net[0].weight  # tied: the uses' per-sample sums add up
        net[0].bias.requires_grad_(False)
        return net
    d_grads, _, _ = _per_sample_case(dg, build, [(4, 3)], 5)
    t_grads, _, _ = _per_sample_case(torch, build, [(4, 3)], 5)
    assert d_grads.keys() == t_grads.keys()
    for name in d_grads:
        np.testing.assert_allclose(d_grads[name][0], t_grads[name][0], rtol=1e-4, atol=1e-5)
    for m in (dg, torch):
        psg = __import__(f"{m.__name__}.nn.utils._per_sample_grad", fromlist=["x"])
        with pytest.raises(RuntimeError):
            psg.call_for_per_sample_grads(m.nn.Linear(2, 2), loss_reduction="max")
        with pytest.raises(RuntimeError):  # the layers check dim 0 even when not batch_first
            psg.call_for_per_sample_grads(m.nn.Linear(2, 2), batch_first=False)(m.ones(3, 4, 2))
        with pytest.raises(RuntimeError):  # batch sizes disagree
            psg.call_for_per_sample_grads(m.nn.Linear(2, 2), batch_size=3)(m.ones(2, 2))
        with pytest.raises(RuntimeError):  # torch: unsupported function; deltagrad: NotImpl.
            psg.call_for_per_sample_grads(m.nn.BatchNorm1d(2))(m.ones(3, 2))
        layer = m.nn.Linear(2, 2)
        psg.call_for_per_sample_grads(layer)(m.ones(3, 2)).sum().backward()
        with pytest.raises(RuntimeError):  # grad_sample not cleared
            psg.call_for_per_sample_grads(layer)
    with pytest.raises(NotImplementedError, match="BatchNorm1d"):
        dg.nn.utils._per_sample_grad.call_for_per_sample_grads(dg.nn.BatchNorm1d(2))(
            dg.ones(3, 2))
