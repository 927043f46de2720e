"""Fixes from running audio, adversarial and scaling libraries under the alias (LC, session 12).

Each is checked against PyTorch directly (no library needed): ``torch._C._is_tracing``
(asteroid-filterbanks), ``torch.nn.init``'s private ``_no_grad_*`` fills (mup),
``torch.cuda._initialized`` (reformer-pytorch), ``torch.cuda.random`` (torchattacks' APGD),
one-element integer tensors as items of an int list (torchattacks' DI / TI-FGSM resize to
``[t, t]`` and pad with such widths), and ``torch.nn.modules.lazy`` (torchaudio's transforms).
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as dF

torch = pytest.importorskip("torch")
F = torch.nn.functional


def test_is_tracing_answers_false_like_torch():
    assert dg._C._is_tracing() is torch._C._is_tracing() is False


@pytest.mark.parametrize("name, args", [
    ("_no_grad_uniform_", (-0.5, 2.0)),
    ("_no_grad_normal_", (1.0, 0.3)),
    ("_no_grad_trunc_normal_", (0.0, 1.0, -0.5, 0.7)),
    ("_no_grad_fill_", (0.25,)),
    ("_no_grad_zero_", ()),
])
def test_private_no_grad_fills_match_torch(name, args):
    torch.manual_seed(3)
    dg.manual_seed(3)
    theirs = torch.nn.Parameter(torch.ones(4, 5))
    ours = dg.nn.Parameter(dg.ones(4, 5))
    result_t = getattr(torch.nn.init, name)(theirs, *args)
    result_d = getattr(dg.nn.init, name)(ours, *args)
    assert result_d is ours and result_t is theirs  # (in place, the tensor returned)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6)
    assert ours.requires_grad and ours.grad_fn is None  # (outside the graph)


def test_cuda_initialized_flag_and_random_module_like_cpu_only_torch():
    assert dg.cuda._initialized is torch.cuda._initialized is False
    for module in (torch.cuda.random, dg.cuda.random):
        assert module.manual_seed(3) is None and module.manual_seed_all(3) is None
        assert module.seed() is None and module.seed_all() is None
        assert module.get_rng_state_all() == []
        module.set_rng_state_all([])
        with pytest.raises(AssertionError):
            module.get_rng_state()
        with pytest.raises(AssertionError):
            module.initial_seed()
    assert sorted(dg.cuda.random.__all__) == sorted(torch.cuda.random.__all__)
    # Seeding CUDA leaves the CPU stream where it was, as PyTorch's does.
    torch.manual_seed(0)
    dg.manual_seed(0)
    torch.cuda.random.manual_seed(9)
    dg.cuda.random.manual_seed(9)
    np.testing.assert_array_equal(dg.rand(3).numpy(), torch.rand(3).numpy())


@pytest.mark.parametrize("shape, dtype", [((1,), "int64"), ((1,), "int32"), ((), "int64"),
                                          ((1, 1), "int64")])
def test_one_element_integer_tensors_in_int_lists(shape, dtype):
    image = np.random.default_rng(0).standard_normal((1, 2, 4, 4)).astype(np.float32)
    size_t = torch.full(shape, 5, dtype=getattr(torch, dtype))
    size_d = dg.full(shape, 5, dtype=getattr(dg, dtype))
    x_t, x_d = torch.tensor(image), dg.tensor(image)
    for mode in ("bilinear", "nearest"):
        theirs = F.interpolate(x_t, size=[size_t, size_t], mode=mode)
        ours = dF.interpolate(x_d, size=[size_d, size_d], mode=mode)
        assert tuple(ours.shape) == tuple(theirs.shape) == (1, 2, 5, 5)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-6)
    theirs = F.pad(x_t, [size_t, 0, 1, size_t], value=2.0)
    ours = dF.pad(x_d, [size_d, 0, 1, size_d], value=2.0)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("item", [np.array([5.0], np.float32), np.array([5, 6])])
def test_float_or_longer_tensors_in_int_lists_are_type_errors_like_torch(item):
    x_t, x_d = torch.zeros(1, 1, 4, 4), dg.zeros(1, 1, 4, 4)
    with pytest.raises(TypeError):
        F.pad(x_t, [torch.tensor(item), 0])
    with pytest.raises(TypeError):
        dF.pad(x_d, [dg.tensor(item), 0])
    with pytest.raises(TypeError):
        F.interpolate(x_t, size=[torch.tensor(item)] * 2)
    with pytest.raises(TypeError):
        dF.interpolate(x_d, size=[dg.tensor(item)] * 2)


def test_lazy_module_mixin_import_path_like_torch():
    from torch.nn.modules.lazy import LazyModuleMixin as TorchMixin

    from deltagrad.nn.modules.lazy import LazyModuleMixin

    # (torchaudio's lazy transforms subclass it from this path)
    for mixin, nn in ((TorchMixin, torch.nn), (LazyModuleMixin, dg.nn)):
        assert isinstance(nn.LazyLinear(3), mixin)
        assert not isinstance(nn.Linear(2, 3), mixin)
