"""The PyTorch names torch_geometric, Lightning and transformers reach for (W1, session 8):
``_C`` entry points, serialization's safe globals, ``jit._overload``, the ``distributed``
stand-ins (rpc, DTensor, device mesh, fsdp), ``fx``, ``emit_nvtx``, ``set_detect_anomaly`` as a
context manager, ``_dynamo``'s OptimizedModule and TransformGetItemToIndex, flex_attention's
mask helpers and ``UntypedStorage.from_file``; each against PyTorch where it has one."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import _C, jit, serialization
from deltagrad.autograd import profiler

torch = pytest.importorskip("torch")


def test_c_entry_points():
    def add(a, b=0):
        return a + b

    for module in (_C, torch._C):
        assert module._disabled_torch_function_impl(add, (), (1,), {"b": 2}) == 3
        assert module._disabled_torch_function_impl(add, (), (4,)) == 4
    assert _C._get_default_device() == torch._C._get_default_device() == "cpu"


def test_safe_globals_are_recorded_and_restored():
    class Marker:
        pass

    before = serialization.get_safe_globals()
    try:
        serialization.add_safe_globals([Marker])
        assert serialization.get_safe_globals()[-1] is Marker
        with serialization.safe_globals([int]):
            assert serialization.get_safe_globals()[-2:] == [Marker, int]
        assert int not in serialization.get_safe_globals()
        serialization.clear_safe_globals()
        assert serialization.get_safe_globals() == []
    finally:
        serialization.clear_safe_globals()
        serialization.add_safe_globals(before)


def test_jit_overload_decorators_are_identities():
    def f(x):
        return x

    assert jit._overload(f) is f and jit._overload_method(f) is f


def test_rpc_is_never_initialized():
    rpc = importlib.import_module("deltagrad.distributed.rpc")
    assert rpc.is_available() is False

    @rpc.api._require_initialized
    def gather(obj):
        return obj

    with pytest.raises(RuntimeError, match="RPC has not been initialized"):
        gather(1)
    with pytest.raises(NotImplementedError, match="init_rpc"):
        rpc.init_rpc("worker")


def test_distributed_stand_ins_raise_when_used():
    tensor = importlib.import_module("deltagrad.distributed.tensor")
    fsdp = importlib.import_module("deltagrad.distributed.fsdp")
    mesh = importlib.import_module("deltagrad.distributed.device_mesh")
    collectives = importlib.import_module("deltagrad.distributed._functional_collectives")
    assert not isinstance(dg.ones(2), tensor.DTensor)
    for make in (tensor.DTensor, mesh.DeviceMesh, fsdp.FullyShardedDataParallel,
                 lambda: tensor.distribute_tensor(dg.ones(2)), lambda: fsdp.fully_shard(None),
                 lambda: collectives.wait_tensor(dg.ones(2)),
                 lambda: dg.distributed.all_gather_into_tensor(dg.ones(2), dg.ones(2))):
        with pytest.raises(NotImplementedError, match="deltagrad does not support"):
            make()
    assert issubclass(fsdp.FullyShardedDataParallel, dg.nn.Module)


def test_placements_match_torch():
    ours = importlib.import_module("deltagrad.distributed.tensor.placement_types")
    real = importlib.import_module("torch.distributed.tensor.placement_types")
    for make in (lambda m: m.Shard(1), lambda m: m.Replicate(), lambda m: m.Partial(),
                 lambda m: m._StridedShard(0, split_factor=2)):
        a, b = make(real), make(ours)
        assert repr(a) == repr(b)
        assert (a.is_shard(), a.is_replicate(), a.is_partial()) == (
            b.is_shard(), b.is_replicate(), b.is_partial())
        assert make(ours) == b and hash(make(ours)) == hash(b)
    assert ours.Shard(0) != ours.Shard(1) and ours.Shard(0).is_shard(0)
    assert ours.Shard(0) != ours._StridedShard(0, split_factor=1)


def test_fx_names():
    fx = importlib.import_module("deltagrad.fx")
    assert issubclass(fx.GraphModule, dg.nn.Module)
    assert not isinstance(dg.ones(1), fx.Proxy)
    # (session 14: deltagrad.fx traces; tests/test_s14_FX_*.py compare it with torch.fx)
    gm = fx.symbolic_trace(dg.nn.Linear(2, 2))
    assert [n.op for n in gm.graph.nodes] == ["placeholder", "get_attr", "get_attr",
                                             "call_function", "output"]  # (as PyTorch)
    with pytest.raises(NotImplementedError, match="top level"):  # (as PyTorch's)
        fx.wrap(len)


def test_emit_nvtx_raises_on_construction():
    assert isinstance(profiler.emit_nvtx, type)
    with pytest.raises(RuntimeError, match="CUDA"):
        profiler.emit_nvtx()


@pytest.mark.parametrize("lib", ["torch", "deltagrad"])
def test_set_detect_anomaly_is_a_setter_and_a_context_manager(lib):
    m = torch if lib == "torch" else dg
    enabled = m.is_anomaly_enabled
    assert not enabled()
    with m.autograd.set_detect_anomaly(True, check_nan=True):
        assert enabled()
        with m.autograd.set_detect_anomaly(False):
            assert not enabled()
        assert enabled()
    assert not enabled()
    m.autograd.set_detect_anomaly(True)  # a plain call keeps the setting
    try:
        assert enabled()
    finally:
        m.autograd.set_detect_anomaly(False)
    assert not enabled()


def test_detect_anomaly_still_raises_inside_set_detect_anomaly():
    x = dg.tensor([-1.0], requires_grad=True)
    with dg.autograd.set_detect_anomaly(True, strict=True), np.errstate(invalid="ignore"):
        with pytest.raises(FloatingPointError, match="nan"):
            x.log()


def test_optimized_module_wraps_as_torch_compile_does(monkeypatch):
    # PyTorch's first torch.compile switches off distribution argument checks for the whole
    # process (TorchPatcher.patch): put the default back after the test (tests/conftest.py).
    distribution = torch.distributions.Distribution
    monkeypatch.setattr(distribution, "_validate_args", distribution._validate_args)
    dynamo = importlib.import_module("deltagrad._dynamo")
    eval_frame = importlib.import_module("deltagrad._dynamo.eval_frame")
    assert eval_frame.is_dynamo_supported() is False
    assert dynamo.OptimizedModule is eval_frame.OptimizedModule
    inner = dg.nn.Linear(3, 2)
    wrapped = dynamo.OptimizedModule(inner)
    x = dg.ones(4, 3)
    assert np.array_equal(wrapped(x).detach().numpy(), inner(x).detach().numpy())
    assert wrapped._orig_mod is inner and wrapped.in_features == 3
    real = torch.compile(torch.nn.Linear(3, 2))  # (compiles lazily: never run here)
    assert list(wrapped.state_dict()) == list(real.state_dict())
    assert isinstance(wrapped, dg.nn.Module)


def test_transform_getitem_to_index_is_a_context_manager():
    module = importlib.import_module("deltagrad._dynamo._trace_wrapped_higher_order_op")
    x = dg.arange(5)
    with module.TransformGetItemToIndex():
        assert x[dg.tensor(2)].item() == 2


def test_flex_attention_masks_match_torch():
    ours = importlib.import_module("deltagrad.nn.attention.flex_attention")
    real = importlib.import_module("torch.nn.attention.flex_attention")
    assert ours._DEFAULT_SPARSE_BLOCK_SIZE == real._DEFAULT_SPARSE_BLOCK_SIZE
    assert ours.AuxRequest(lse=True) == tuple(real.AuxRequest(lse=True))

    def causal(b, h, q, kv):
        return q >= kv

    def window(b, h, q, kv):
        return (q - kv) < 2

    for m, lib in ((real, torch), (ours, dg)):
        doc = lib.tensor([0, 0, 1, 1, 1])

        def same_doc(b, h, q, kv, doc=doc):
            return doc[q] == doc[kv]

        masks = [m.create_mask(fn, 2, 3, 5, 5).numpy()
                 for fn in (causal, m.and_masks(causal, window), m.or_masks(window, same_doc),
                            m.noop_mask, m.and_masks(causal, same_doc))]
        masks.append(m.create_mask(causal, None, None, 3, 4).numpy())
        if m is real:
            expected = masks
    for want, have in zip(expected, masks):
        assert have.dtype == want.dtype == np.bool_ and np.array_equal(have, want)
    q = dg.ones(1, 1, 4, 8)
    for call in (lambda: ours.flex_attention(q, q, q), ours.BlockMask,
                 lambda: ours.create_block_mask(lambda b, h, q, kv: q >= kv, 1, 1, 4, 4)):
        with pytest.raises(NotImplementedError, match="not supported"):
            call()


def test_untyped_storage_from_file(tmp_path):
    path = str(tmp_path / "bytes.bin")
    with open(path, "wb") as handle:
        handle.write(bytes(range(10)))
    for lib in (torch, dg):
        private = lib.UntypedStorage.from_file(path, shared=False, nbytes=10)
        assert private.tolist() == list(range(10)) and private.untyped() is private
        part = private[2:6]
        assert isinstance(part, lib.UntypedStorage) and part.tolist() == [2, 3, 4, 5]
        view = lib.asarray(part, dtype=lib.uint8)
        assert view.tolist() == [2, 3, 4, 5]
        private[0] = 99  # copy-on-write: the file keeps its byte
        with open(path, "rb") as handle:
            assert handle.read(1) == b"\x00"
        with pytest.raises(RuntimeError, match="smaller"):
            lib.UntypedStorage.from_file(path, shared=False, nbytes=11)
        assert len(lib.UntypedStorage.from_file(path, shared=False, nbytes=0)) == 0
    shared = dg.UntypedStorage.from_file(path, shared=True, nbytes=10)
    shared[0] = 77  # a shared mapping writes through
    del shared
    with open(path, "rb") as handle:
        assert handle.read(1) == b"M"
    grown = dg.UntypedStorage.from_file(path, shared=True, nbytes=12)  # grows it, as PyTorch
    assert len(grown) == 12 and os.path.getsize(path) == 12
