"""Fixes from running libraries' programs under the alias (LD, session 13).

Each is checked against PyTorch directly (no library needed): ``nn.Embedding``'s
``scale_grad_by_freq`` attribute (loralib's ``lora.Embedding.forward`` reads it),
``torch.stack(..., out=)`` (torch-complex's ``stack``), keyword arguments to a
``torch.library.custom_op`` with ``register_autograd`` (transformers' MoE calls
``grouped_mm_fallback(input, weight, offs=offs)``) and ``torch.backends.cudnn.flags``
(transformers' Wav2Vec2 CTC loss).
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def test_embedding_keeps_scale_grad_by_freq_for_subclasses():
    theirs, ours = torch.nn.Embedding(5, 3), dg.nn.Embedding(5, 3)
    assert ours.scale_grad_by_freq is theirs.scale_grad_by_freq is False
    ours.weight.data = dg.tensor(theirs.weight.detach().numpy())

    # The loralib idiom: a subclass passes every stored option to F.embedding.
    def lookup(module, functional, ids):
        return functional.embedding(ids, module.weight, module.padding_idx, module.max_norm,
                                    module.norm_type, module.scale_grad_by_freq,
                                    module.sparse)

    ids = [[0, 3, 3], [4, 1, 0]]
    expected = lookup(theirs, torch.nn.functional, torch.tensor(ids))
    got = lookup(ours, dg.nn.functional, dg.tensor(ids))
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy())


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_stack_out_matches_torch(dim):
    values = [np.arange(6, dtype=np.float32).reshape(2, 3) * k for k in (1, -2, 0.5)]
    out_t, out_d = torch.empty(0), dg.empty(0)
    result_t = torch.stack([torch.tensor(v) for v in values], dim, out=out_t)
    result_d = dg.stack([dg.tensor(v) for v in values], dim, out=out_d)
    assert result_d is out_d and result_t is out_t  # (written into out, out returned)
    assert tuple(out_d.shape) == tuple(out_t.shape)
    np.testing.assert_array_equal(out_d.numpy(), out_t.numpy())
    # out=None is the plain call (torch-complex passes it so).
    assert torch.stack([torch.ones(2)], out=None).shape == dg.stack([dg.ones(2)],
                                                                    out=None).shape


@pytest.mark.parametrize("out_dtype", ["int64", "float64", "bool"])
def test_stack_out_of_another_dtype_like_torch(out_dtype):
    outcome = []
    for lib in (torch, dg):
        out = lib.empty(2, 2, dtype=getattr(lib, out_dtype))
        try:
            lib.stack([lib.ones(2), lib.full((2,), 0.5)], out=out)
        except Exception as error:  # noqa: BLE001 - the class is compared
            outcome.append(type(error))
        else:
            outcome.append((str(out.dtype).split(".")[-1], out.tolist()))
    assert outcome[1] == outcome[0]


def _register_scaled_mm(lib, name):
    """transformers' pattern: a custom op, its backward through setup_context, called with a
    keyword argument."""
    def scaled_mm(a, b, scale: float = 1.0):
        return lib.mm(a, b) * scale

    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], inputs[1])
        ctx.scale = inputs[2]  # (the default, filled in when not passed)

    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return lib.mm(grad, b.T) * ctx.scale, lib.mm(a.T, grad) * ctx.scale, None

    op = lib.library.custom_op(name, scaled_mm, mutates_args=(),
                               schema="(Tensor a, Tensor b, float scale=1.0) -> Tensor")
    lib.library.register_autograd(name, backward, setup_context=setup_context)
    return op


@pytest.fixture(scope="module")
def scaled_mm_ops():
    return (_register_scaled_mm(torch, "s13_ld_fixes::scaled_mm"),
            _register_scaled_mm(dg, "s13_ld_fixes::scaled_mm"))


@pytest.mark.parametrize("call", ["positional", "keyword", "default", "all_keywords"])
def test_custom_op_with_autograd_takes_keywords_like_torch(scaled_mm_ops, call):
    rng = np.random.default_rng(0)
    a_np, b_np = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    results = []
    for lib, op in zip((torch, dg), scaled_mm_ops):
        a = lib.tensor(a_np, requires_grad=True)
        b = lib.tensor(b_np, requires_grad=True)
        if call == "positional":
            out = op(a, b, 3.0)
        elif call == "keyword":
            out = op(a, b, scale=3.0)
        elif call == "default":
            out = op(a, b)
        else:
            out = op(b=b, a=a, scale=3.0)
        out.sum().backward()
        results.append([x.detach().numpy() for x in (out, a.grad, b.grad)])
    for got, expected in zip(results[1], results[0]):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_cudnn_flags_sets_and_restores_like_torch():
    for backend in (torch.backends.cudnn, dg.backends.cudnn):
        before = (backend.enabled, backend.benchmark, backend.deterministic)
        with backend.flags(enabled=False, deterministic=True):
            assert backend.enabled is False and backend.deterministic is True
            assert backend.benchmark is False
        assert (backend.enabled, backend.benchmark, backend.deterministic) == before
        with pytest.raises(ZeroDivisionError):  # (restored when the block raises too)
            with backend.flags(enabled=False):
                raise ZeroDivisionError
        assert backend.enabled == before[0]


def test_private_utils_flatten_and_unflatten_like_torch():
    from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

    from deltagrad._utils import _flatten_dense_tensors as flatten
    from deltagrad._utils import _unflatten_dense_tensors as unflatten

    shapes = [(2, 3), (4,), (), (1, 2, 2)]
    values = [np.arange(np.prod(s), dtype=np.float32).reshape(s) + k
              for k, s in enumerate(shapes)]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    ours = [dg.tensor(v, requires_grad=True) for v in values]
    flat_t, flat_d = _flatten_dense_tensors(theirs), flatten(ours)
    np.testing.assert_array_equal(flat_d.detach().numpy(), flat_t.detach().numpy())
    (flat_t * torch.arange(flat_t.numel())).sum().backward()
    (flat_d * dg.arange(flat_d.numel())).sum().backward()
    for t, d in zip(theirs, ours):
        np.testing.assert_array_equal(d.grad.numpy(), t.grad.numpy())
    # A transposed (non-contiguous) input flattens in its logical order.
    np.testing.assert_array_equal(
        flatten([dg.tensor(values[0]).t()]).numpy(),
        _flatten_dense_tensors([torch.tensor(values[0]).t()]).numpy())
    buffer_t, buffer_d = flat_t.detach(), flat_d.detach()
    back_t = _unflatten_dense_tensors(buffer_t, theirs)
    back_d = unflatten(buffer_d, ours)
    assert type(back_d) is type(back_t) is tuple
    for t, d in zip(back_t, back_d):
        assert tuple(d.shape) == tuple(t.shape)
        np.testing.assert_array_equal(d.numpy(), t.numpy())
    # Views: writing through one changes the flat buffer (element 6 starts the second).
    back_t[1][0] = 100.0
    back_d[1][0] = 100.0
    np.testing.assert_array_equal(buffer_d.numpy(), buffer_t.numpy())
    assert buffer_d[6].item() == 100.0


# -- fastai's hooks into PyTorch's internals ---------------------------------------------------

class _StandInLoader:
    """fastai's _FakeLoader, reduced: a loader object (no DataLoader) of the Iterable kind,
    handed to PyTorch's single-process iterator; it batches inside its own __iter__."""

    def __init__(self, lib, batches):
        from importlib import import_module

        kind = import_module(lib.__name__ + ".utils.data.dataloader")._DatasetKind
        self._dataset_kind = kind.Iterable
        self._IterableDataset_len_called, self._auto_collation = None, False
        self.collate_fn, self.drop_last, self.in_order = (lambda x: x), False, True
        self._index_sampler, self.generator, self.prefetch_factor = iter(int, 1), None, 2
        self._get_shared_seed = lambda: None
        self.dataset, self.worker_init_fn, self.pin_memory_device = self, None, ""
        self.pin_memory, self.num_workers, self.timeout = False, 0, 0
        self.persistent_workers, self.multiprocessing_context = False, None
        self.batches = batches

    def __iter__(self):
        return iter(self.batches)


def test_single_process_iterator_reads_an_iterable_kind_stand_in_like_torch():
    from torch.utils.data.dataloader import _SingleProcessDataLoaderIter

    from deltagrad.utils.data.dataloader import _SingleProcessDataLoaderIter as ours

    values = [np.arange(3.0) + k for k in range(4)]
    expected = [b.tolist() for b in _SingleProcessDataLoaderIter(
        _StandInLoader(torch, [torch.tensor(v) for v in values]))]
    got = [b.tolist() for b in ours(_StandInLoader(dg, [dg.tensor(v) for v in values]))]
    assert got == expected and len(got) == 4


def test_amp_grad_scaler_submodules_and_stages_like_torch():
    from deltagrad.amp.autocast_mode import autocast
    from deltagrad.amp.grad_scaler import GradScaler
    from deltagrad.amp.grad_scaler import OptState as OurOptState
    from torch.amp.grad_scaler import OptState

    assert GradScaler is dg.amp.GradScaler and autocast is dg.amp.autocast
    assert [(s.name, s.value) for s in OurOptState] == [(s.name, s.value) for s in OptState]
    stages = []
    for lib, states in ((torch, OptState), (dg, OurOptState)):
        param = lib.nn.Parameter(lib.ones(3))
        optimizer = lib.optim.SGD([param], lr=0.1)
        scaler = lib.amp.GradScaler("cpu", init_scale=4.0)
        scaler.scale((param * 2).sum()).backward()
        scaler.unscale_(optimizer)
        seen = [scaler._per_optimizer_states[id(optimizer)]["stage"] is states.UNSCALED]
        scaler.step(optimizer)
        seen.append(scaler._per_optimizer_states[id(optimizer)]["stage"] is states.STEPPED)
        scaler.update()
        stages.append((seen, param.detach().tolist()))
    assert stages[1] == stages[0]
    assert stages[0][0] == [True, True]
    np.testing.assert_allclose(stages[0][1], [0.8] * 3, rtol=1e-6)  # (1 - 0.1 * 2, unscaled)


def _counting_subclass(lib, seen):
    class Counted(lib.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            seen.append(getattr(func, "__name__", str(func)))
            return super().__torch_function__(func, types, args, kwargs or {})

    return Counted


def test_methods_patched_onto_tensor_do_not_dispatch_like_torch():
    outcome = []
    for lib in (torch, dg):
        seen = []
        lib.Tensor.s13_ld_meta = lambda self, value: setattr(self, "meta", value) or self
        try:
            counted = _counting_subclass(lib, seen)
            x = lib.ones(2).as_subclass(counted)
            seen.clear()
            back = x.s13_ld_meta(5)  # (fastai's @patch'ed set_meta: a plain Python method)
            outcome.append((list(seen), type(back) is counted, x.meta))
        finally:
            del lib.Tensor.s13_ld_meta
    assert outcome[1] == outcome[0] == ([], True, 5)


def test_as_subclass_does_not_dispatch_even_when_re_exported_like_torch():
    outcome = []
    for lib in (torch, dg):
        seen = []
        lib.as_subclass = lib.Tensor.as_subclass  # (fastai: "if not hasattr(torch, ...)")
        try:
            counted = _counting_subclass(lib, seen)
            x = lib.ones(2).as_subclass(counted)
            seen.clear()
            plain = lib.as_subclass(x, lib.Tensor)
            via_method = x.as_subclass(lib.Tensor)
            outcome.append((list(seen), type(plain) is lib.Tensor,
                            type(via_method) is lib.Tensor))
        finally:
            del lib.as_subclass
    assert outcome[1] == outcome[0] == ([], True, True)


def test_default_conversion_runs_with_dispatch_off_like_torch():
    # fastai patches Tensor.as_subclass (which the default __torch_function__ uses to convert
    # results) to a function that calls tensor methods: they must not dispatch again.
    outcome = []
    for lib in (torch, dg):
        seen = []
        original = lib.Tensor.as_subclass

        def as_subclass(self, cls, original=original):
            result = original(self, cls)
            result.s13_norm = float(result.abs().sum())  # (a method call inside the conversion)
            return result

        lib.Tensor.as_subclass = as_subclass
        try:
            counted = _counting_subclass(lib, seen)
            x = original(lib.ones(2), counted)
            seen.clear()
            y = x * 3
            outcome.append((list(seen), type(y) is counted, y.s13_norm))
        finally:
            lib.Tensor.as_subclass = original
    assert outcome[1] == outcome[0]
    assert outcome[0][0] == ["mul"] and outcome[0][2] == 6.0
