"""The PyTorch behaviours the Hugging Face stack needed from deltagrad (session 9, helper T13),
each checked against PyTorch in-process: ``view(dtype=)`` / ``view(size=)`` keywords
(safetensors), ``ModuleDict.update(ModuleDict)`` and parameters assigned through
``register_parameter`` (peft, accelerate), ``EmbeddingBag.from_pretrained``
(sentence-transformers), ``torch.Stream`` / ``torch.Event`` on the CPU, custom-op namespaces
with a leading underscore and ``utils._pytree._dict_flatten`` (diffusers),
``utils.checkpoint.get_device_states`` (sentence-transformers), ``distributed.algorithms.Join``
and ``distributed.device_mesh`` (accelerate, diffusers)."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _raises(call) -> str | None:
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return type(error).__name__
    return None


def test_view_keywords():
    for m in (dg, torch):
        x = m.arange(6, dtype=m.float32)
        assert x.view(dtype=m.int32).tolist() == x.numpy().view(np.int32).tolist()
        assert tuple(x.view(size=(2, 3)).shape) == (2, 3)
        assert _raises(lambda: x.view(2, 3, dtype=m.int32)) == "TypeError"  # noqa: B023
        assert _raises(lambda: x.view(dtype=m.int32, size=(6,))) == "TypeError"  # noqa: B023


def test_module_dict_update_from_module_dict():
    for m in (dg, torch):
        holder = m.nn.ModuleDict({"a": m.nn.ReLU()})
        holder.update(m.nn.ModuleDict({"b": m.nn.Tanh(), "a": m.nn.Identity()}))
        assert [(k, type(v).__name__) for k, v in holder.items()] == [("a", "Identity"),
                                                                       ("b", "Tanh")]


def test_parameter_assignment_goes_through_register_parameter():
    """accelerate's init_empty_weights patches register_parameter; assignments must reach it
    (deltagrad then raises for device 'meta' instead of silently keeping CPU parameters)."""
    seen = {}
    for m in (dg, torch):
        original = m.nn.Module.register_parameter

        def spy(module, name, param, original=original, m=m):
            seen.setdefault(m.__name__, []).append(name)
            original(module, name, param)
        m.nn.Module.register_parameter = spy
        try:
            m.nn.Linear(2, 3)
        finally:
            m.nn.Module.register_parameter = original
    assert seen["deltagrad"] == seen["torch"] == ["weight", "bias"]


def test_embedding_bag_from_pretrained():
    results = {}
    for m in (dg, torch):
        weights = m.arange(12, dtype=m.float32).reshape(4, 3)
        bag = m.nn.EmbeddingBag.from_pretrained(weights, freeze=False, mode="sum")
        out = bag(m.tensor([[0, 2], [1, 3]]))
        (out * m.arange(6.0).reshape(2, 3)).sum().backward()
        weights[0, 0] = 100.0  # (the weight shares the given tensor's memory)
        frozen = m.nn.EmbeddingBag.from_pretrained(weights, padding_idx=1)
        results[m.__name__] = (out.tolist(), bag.weight.grad.tolist(), bag.weight[0, 0].item(),
                               frozen.weight.requires_grad, frozen.padding_idx, repr(bag),
                               _raises(lambda m=m: m.nn.EmbeddingBag.from_pretrained(m.ones(3))))
    assert results["deltagrad"] == results["torch"]


def test_cpu_stream_and_event():
    results = {}
    for m in (dg, torch):
        stream, event = m.Stream(), m.Event()
        timed = m.Event(enable_timing=True)
        results[m.__name__] = (
            stream.query(), stream.synchronize(), stream.wait_event(event), str(stream.device),
            stream.stream_id, stream.device_index, stream == m.Stream(),
            _raises(lambda: stream.wait_stream(stream)),  # noqa: B023
            _raises(stream.record_event), _raises(event.record), event.query(),
            event.synchronize(), event.wait(), str(event.device),
            _raises(lambda: timed.elapsed_time(timed)),  # noqa: B023
            _raises(lambda: event.elapsed_time(m.Event())))  # noqa: B023
    assert results["deltagrad"] == results["torch"]
    with pytest.raises(RuntimeError):  # (deltagrad's DeviceUnavailableError is one)
        dg.Stream("cuda")


def test_custom_op_in_an_underscore_namespace():
    @dg.library.custom_op("_t13_private::twice", mutates_args=())
    def twice(x: dg.Tensor) -> dg.Tensor:
        return x * 2

    @dg.library.register_fake("_t13_private::twice")
    def _(x):
        return dg.empty_like(x)

    assert dg.ops._t13_private.twice(dg.ones(2)).tolist() == [2.0, 2.0]
    assert _raises(lambda: dg.ops._never_registered) == "AttributeError"


def test_pytree_dict_flatten():
    from torch.utils import _pytree as theirs

    from deltagrad.utils import _pytree as ours
    value = {"b": 1, "a": [2, 3]}
    assert ours._dict_flatten(value) == theirs._dict_flatten(value)
    values, context = ours._dict_flatten(value)
    assert ours._dict_unflatten(values, context) == theirs._dict_unflatten(values, context)
    assert _raises(lambda: ours._dict_unflatten([1], ["a", "b"])) == "ValueError"


def test_checkpoint_device_states():
    from torch.utils import checkpoint as theirs

    from deltagrad.utils import checkpoint as ours
    assert ours.get_device_states(dg.ones(2), 3) == theirs.get_device_states(torch.ones(2), 3)
    assert ours.set_device_states([], []) is None
    assert _raises(lambda: ours.set_device_states([0], [dg.ones(1)])) is not None


def test_distributed_join_and_device_mesh():
    from deltagrad.distributed.algorithms import Join, Joinable, JoinHook
    assert dg.distributed.device_mesh.DeviceMesh is dg.distributed.DeviceMesh
    calls = []

    class Hook(JoinHook):
        def post_hook(self, is_last_joiner):
            calls.append(is_last_joiner)

    class Worker(Joinable):
        def join_hook(self, **kwargs):
            return Hook()

        @property
        def join_device(self):
            return dg.device("cpu")

        @property
        def join_process_group(self):
            return None

    with Join([Worker()]):
        Join.notify_join_context(None)
    assert calls == [True]
    assert _raises(lambda: Join([])) == "ValueError"


def test_non_persistent_buffers_set():
    for m in (dg, torch):
        layer = m.nn.BatchNorm1d(2)
        layer.register_buffer("scratch", m.zeros(1), persistent=False)
        assert layer._non_persistent_buffers_set == {"scratch"}
        layer._non_persistent_buffers_set.discard("scratch")
        assert "scratch" in layer.state_dict()
