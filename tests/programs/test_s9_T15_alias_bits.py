"""The PyTorch paths MONAI needed to import and run on deltagrad (session 9, T15), each
checked against PyTorch: ``nn.SyncBatchNorm`` (one process), ``nn.modules.<Layer>``,
``jit.interface`` / ``jit.isinstance``, ``utils.data._utils.collate`` (with a library's
own entry in ``default_collate_fn_map``) and ``serialization.DEFAULT_PROTOCOL``."""

from __future__ import annotations

# ruff: noqa: UP006, UP007, UP045 - the typing forms TorchScript code writes are under test
from typing import Dict, List, Optional, Tuple, Union  # noqa: UP035

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _sync_run(m):
    m.manual_seed(0)
    net = m.nn.Sequential(m.nn.Conv2d(2, 3, 3), m.nn.BatchNorm2d(3), m.nn.ReLU())
    net = m.nn.SyncBatchNorm.convert_sync_batchnorm(net)
    x = m.randn(4, 2, 6, 6)
    out = net(x)
    (out * out).sum().backward()
    net.eval()
    flat = m.nn.SyncBatchNorm(3, momentum=None)
    flat_out = flat(m.arange(15.0).reshape(5, 3))
    return (type(net[1]).__name__, out.detach().numpy(), net[0].weight.grad.numpy(),
            net[1].running_var.numpy(), int(net[1].num_batches_tracked), net(x).detach().numpy(),
            flat_out.detach().numpy(), flat.running_mean.numpy())


def test_sync_batch_norm_matches_torch():
    ours, theirs = _sync_run(dg), _sync_run(torch)
    assert ours[0] == theirs[0] == "SyncBatchNorm"
    assert ours[4] == theirs[4]
    for a, b in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    for m in (dg, torch):
        with pytest.raises(ValueError, match="expected at least 2D input"):
            m.nn.SyncBatchNorm(3)(m.ones(3))
    assert isinstance(dg.nn.SyncBatchNorm(2), dg.nn.modules.batchnorm._BatchNorm) == \
        isinstance(torch.nn.SyncBatchNorm(2), torch.nn.modules.batchnorm._BatchNorm)


def test_nn_modules_reexports_layers():
    for name in ("ELU", "ReLU", "PReLU", "Sigmoid", "GELU", "Conv3d", "SyncBatchNorm"):
        assert getattr(dg.nn.modules, name) is getattr(dg.nn, name)
        assert getattr(torch.nn.modules, name) is getattr(torch.nn, name)
    for m in (dg, torch):
        with pytest.raises(AttributeError):
            m.nn.modules.NotALayer  # noqa: B018
        with pytest.raises(AttributeError):
            m.nn.modules.functional_not_here  # noqa: B018


def test_jit_interface_and_isinstance():
    class Shape:
        pass

    assert dg.jit.interface(Shape) is Shape
    cases = [(1, int), ([1, 2], List[int]), ([1, "a"], List[int]), ({"a": 1}, Dict[str, int]),
             ({"a": "b"}, Dict[str, int]), (None, Optional[int]), (3, Optional[int]),
             ((1, "x"), Tuple[int, str]), ((1, 2), Tuple[int, str]), ("s", Union[int, str]),
             ([], List[str]), (2.0, int), ([1], list[int]), (None, int | None)]
    for obj, kind in cases:
        assert dg.jit.isinstance(obj, kind) == torch.jit.isinstance(obj, kind), (obj, kind)
    assert dg.jit.isinstance(dg.ones(1), dg.Tensor)
    assert dg.jit.isinstance([dg.ones(1)], List[dg.Tensor])
    assert not dg.jit.isinstance([1], List[dg.Tensor])


def test_collate_paths_and_custom_entries():
    from torch.utils.data._utils import collate as theirs

    from deltagrad.utils.data._utils import collate as ours

    for name in ("default_collate", "default_convert", "collate_tensor_fn",
                 "default_collate_fn_map", "np_str_obj_array_pattern"):
        assert hasattr(ours, name) and hasattr(theirs, name)
    assert ours.np_str_obj_array_pattern.pattern == theirs.np_str_obj_array_pattern.pattern
    batch = [dg.ones(2), dg.zeros(2)]
    assert ours.collate_tensor_fn(batch).shape == (2, 2)

    class Tagged:  # a library's own sample type with its own collate rule (monai MetaTensor)
        def __init__(self, value):
            self.value = value

    class SubTagged(Tagged):
        pass

    def collate_tagged(samples, *, collate_fn_map=None):
        return ("tagged", [s.value for s in samples], collate_fn_map is not None)

    for module in (ours, theirs):
        module.default_collate_fn_map[Tagged] = collate_tagged
        try:
            assert module.default_collate([Tagged(1), Tagged(2)]) == ("tagged", [1, 2], True)
            assert module.default_collate([SubTagged(3)]) == ("tagged", [3], True)
            nested = module.default_collate([{"t": Tagged(4)}, {"t": Tagged(5)}])
            assert nested == {"t": ("tagged", [4, 5], True)}
        finally:
            del module.default_collate_fn_map[Tagged]
    assert dg.utils.data.default_collate([1, 2]).tolist() == [1, 2]


def test_default_protocol():
    assert dg.serialization.DEFAULT_PROTOCOL == torch.serialization.DEFAULT_PROTOCOL
