"""Regression tests for the lead's fixes of session 11 (names libraries need at import time)."""

import dataclasses
import math
import subprocess
import sys

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.distributed import fsdp as dg_fsdp
from deltagrad.distributed.fsdp import wrap as dg_wrap

torch = pytest.importorskip("torch")

SYM_CASES = [("sym_int", (-3.7,)), ("sym_int", (np.float32(2.5),)), ("sym_float", (True,)),
             ("sym_float", (3,)), ("sym_not", (0,)), ("sym_not", (True,)),
             ("sym_ite", (True, 1, 2)), ("sym_ite", (False, "a", "b")), ("sym_max", (2, 3.0)),
             ("sym_max", (5, 3)), ("sym_min", (2, 3.0)), ("sym_min", (-1, 7)),
             ("sym_sqrt", (2,)), ("sym_sum", ([1, 2.5],)), ("sym_sum", ((1, 2),)),
             ("sym_fresh_size", (3,))]


@pytest.mark.parametrize(("name", "args"), SYM_CASES)
def test_sym_functions_match_torch_on_numbers(name, args):
    ours, theirs = getattr(dg, name)(*args), getattr(torch, name)(*args)
    assert type(ours) is type(theirs)
    assert ours == theirs


def test_sym_errors_match_torch():
    for module in (dg, torch):
        with pytest.raises(RuntimeError):
            module.sym_constrain_range(5, min=6, max=10)
        with pytest.raises(RuntimeError):
            module.sym_constrain_range_for_size(-1)
        with pytest.raises(ValueError):
            module.sym_sqrt(-1)
        with pytest.raises(AssertionError):
            module.sym_max("a", 1)
        with pytest.raises(AssertionError):
            module.sym_ite(1, 2, 3)
        with pytest.raises(AssertionError):
            module.sym_ite(True, 2, 3.0)
        assert module.sym_constrain_range(5, min=0, max=10) is None
    assert math.isclose(dg.sym_sqrt(9), 3.0)
    assert dg.sym_not(dg.tensor(True)) is torch.sym_not(torch.tensor(True)) is False
    assert dg.sym_sum(1, 2.5) == torch.sym_sum(1, 2.5) == 3.5
    assert tuple(dg.sym_sum(dg.ones(3, 4)).shape) == tuple(torch.sym_sum(torch.ones(3, 4)).shape)
    assert dg.sym_fresh_size(dg.tensor(2.5)) == 2.5


def test_jit_annotations_is_the_submodule_under_the_alias():
    # `from __future__ import annotations` in jit/__init__ used to shadow the submodule:
    # `torch.jit.annotations.List` raised AttributeError (torchkeras reads it so).
    code = ("import deltagrad; deltagrad.install_as_torch(); import torch, typing; "
            "assert torch.jit.annotations.List is typing.List; "
            "assert torch.jit.annotations.BroadcastingList2[int] is None; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.stdout.strip() == "ok", out.stderr


@pytest.mark.parametrize("name", ["ShardingStrategy", "BackwardPrefetch", "StateDictType",
                                  "OptimStateKeyType"])
def test_fsdp_enums_match_torch(name):
    from torch.distributed import fsdp
    ours, theirs = getattr(dg_fsdp, name), getattr(fsdp, name)
    assert [(m.name, m.value) for m in ours] == [(m.name, m.value) for m in theirs]


@pytest.mark.parametrize("name", ["CPUOffload", "MixedPrecision", "FullStateDictConfig",
                                  "ShardedStateDictConfig", "LocalStateDictConfig",
                                  "FullOptimStateDictConfig", "ShardedOptimStateDictConfig",
                                  "LocalOptimStateDictConfig", "StateDictConfig",
                                  "OptimStateDictConfig", "StateDictSettings"])
def test_fsdp_config_fields_match_torch(name):
    from torch.distributed import fsdp
    ours, theirs = getattr(dg_fsdp, name), getattr(fsdp, name)

    def fields(cls):
        return [(f.name, f.default if not isinstance(f.default, tuple) else len(f.default))
                for f in dataclasses.fields(cls)]
    assert fields(ours) == fields(theirs)
    mro = [c.__name__ for c in ours.__mro__[:2]]
    assert mro == [c.__name__ for c in theirs.__mro__[:2]]


def _tree(m):
    layer = m.nn.TransformerEncoderLayer(8, 2, 16)
    return m.nn.Sequential(m.nn.Linear(4, 8), m.nn.ModuleList([layer, m.nn.Linear(8, 8)]),
                           m.nn.MultiheadAttention(8, 2))


def _policy_answers(m, wrap_module):
    model = _tree(m)
    answers = []
    for module in model.modules():
        numel = sum(p.numel() for p in module.parameters())
        for recurse in (True, False):
            answers.append((
                wrap_module.size_based_auto_wrap_policy(module, recurse, numel,
                                                        min_num_params=100),
                wrap_module.transformer_auto_wrap_policy(
                    module, recurse, numel, {m.nn.TransformerEncoderLayer}),
                wrap_module.lambda_auto_wrap_policy(
                    module, recurse, numel, lambda mod: isinstance(mod, m.nn.Linear)),
                wrap_module.ModuleWrapPolicy({m.nn.Linear})(module, recurse, numel),
                wrap_module.always_wrap_policy(module, recurse, numel)))
    chosen = wrap_module.ModuleWrapPolicy({m.nn.Linear})._run_policy(model, set(), {"a": 1})
    custom = wrap_module.CustomPolicy(
        lambda mod: {"b": 2} if isinstance(mod, m.nn.MultiheadAttention) else False)
    picked = custom._run_policy(model, set(), {"a": 1})
    names = {id(mod): name for name, mod in model.named_modules()}
    return (answers, sorted((names[id(k)], v) for k, v in chosen.items()),
            sorted((names[id(k)], sorted(v.items())) for k, v in picked.items()))


def test_fsdp_wrap_policies_match_torch():
    from torch.distributed.fsdp import wrap as torch_wrap
    assert _policy_answers(dg, dg_wrap) == _policy_answers(torch, torch_wrap)


def test_wrap_and_enable_wrap_match_torch():
    from torch.distributed.fsdp import wrap as torch_wrap

    class Box:
        def __init__(self, module, **kwargs):
            self.module, self.kwargs = module, kwargs

    for m, wrap_module in ((dg, dg_wrap), (torch, torch_wrap)):
        linear = m.nn.Linear(2, 2)
        assert wrap_module.wrap(linear) is linear
        with wrap_module.enable_wrap(wrapper_cls=Box, a=1, b=2):
            boxed = wrap_module.wrap(linear, b=3)
            with pytest.raises(NotImplementedError), wrap_module.enable_wrap(wrapper_cls=Box):
                pass
        assert boxed.module is linear and boxed.kwargs == {"a": 1, "b": 3}
        assert wrap_module.wrap(linear) is linear
    with pytest.raises(ValueError):
        dg_wrap.CustomPolicy(lambda mod: 1)._run_policy(dg.nn.Linear(1, 1), set(), {})


def test_pad_checks_are_cached_only_for_calls_that_passed():
    # nn/_functional_misc.py caches (shape, dtype kind, widths, mode) once checked: a failing
    # call must raise every time, after and before a passing one of the same shape.
    for m in (dg, torch):
        x = m.arange(8.0).reshape(1, 2, 4)
        for _ in range(2):
            assert m.nn.functional.pad(x, (1, 1), mode="reflect").shape == (1, 2, 6)
            with pytest.raises(RuntimeError):
                m.nn.functional.pad(x, (4, 4), mode="reflect")
            with pytest.raises(RuntimeError):
                m.nn.functional.pad(m.zeros(1, 2, 0), (1, 1), mode="replicate")
        out = m.nn.functional.pad(x, [1, 2], mode="replicate")  # a list: the general path
        assert out[0, 0].tolist() == [0.0, 0.0, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_meta_fallback_works_for_the_first_meta_tensor_of_a_process():
    # meta_ops skips its checks until a MetaArray exists (MetaArray.made): the first meta
    # tensor must still get meta results from the fallback ops.
    code = ("import deltagrad as dg; x = dg.ones(3, 4); x.max(0); "
            "from deltagrad._engine.meta import MetaArray; assert not MetaArray.made; "
            "m = dg.empty(3, 4, device='meta'); r = m.max(0); "
            "g = dg.gather(m, 1, dg.zeros(3, 1, dtype=dg.int64)); "
            "print(r.values.device, tuple(r.values.shape), g.device, tuple(g.shape))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=False)
    assert out.stdout.split() == ["meta", "(4,)", "meta", "(3,", "1)"], out.stderr


def test_abs_output_changed_in_place_still_backpropagates_as_torch():
    # abs's rule reads x only (PyTorch's sgn(x)): its result may be changed in place before
    # backward (geoopt's `x.abs().clamp_min_(eps)`); a rule reading the result raised.
    grads = []
    for m in (dg, torch):
        x = m.tensor([-2.0, 0.5, float("nan"), 3.0], requires_grad=True)
        y = x.abs()
        y.clamp_min_(1.0)
        y.sum().backward()
        grads.append(np.nan_to_num(x.grad.numpy(), nan=-7.0).tolist())
    assert grads[0] == grads[1]
