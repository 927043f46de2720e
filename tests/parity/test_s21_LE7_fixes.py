"""The fixes opacus's own tests found under the alias (LE7, s21), each against PyTorch.

``torch.normal(mean=0, std=<0-dim tensor>, size=..., dtype=...)`` (opacus's AdaClip optimizer's
noise) is PyTorch's number overload: its parser reads a 0-dim tensor that needs no gradient as
a number. The entries of ``Module._state_dict_hooks`` are callable (opacus's
DPMultiheadAttention.state_dict calls each of them itself).
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("mean, std, kwargs", [
    (0, 2.0, {"dtype": "float64"}),
    (0, 2.0, {}),
    (1.5, 3, {}),  # (an integer 0-dim std)
    ("t", 1.0, {}),  # (a 0-dim tensor mean)
])
def test_normal_reads_a_0dim_tensor_as_a_number_with_size(mean, std, kwargs):
    outs = []
    for m in (torch, dg):
        m.manual_seed(3)
        extra = {key: getattr(m, value) for key, value in kwargs.items()}
        mean_arg = m.tensor(0.5) if mean == "t" else mean
        outs.append(m.normal(mean=mean_arg, std=m.tensor(std), size=(2, 3), **extra))
    ours = outs[1]
    assert str(ours.dtype).split(".")[-1] == str(outs[0].dtype).split(".")[-1]
    assert tuple(ours.shape) == (2, 3) and not ours.requires_grad
    np.testing.assert_allclose(ours.numpy(), outs[0].numpy(), rtol=1e-6)


@pytest.mark.parametrize("case", ["1-dim std", "std needs grad", "dtype without size"])
def test_normal_refuses_tensors_that_are_no_numbers_as_pytorch(case):
    for m in (torch, dg):
        kwargs = {"size": (3,)}
        if case == "1-dim std":
            kwargs["std"] = m.tensor([2.0])
        elif case == "std needs grad":
            kwargs["std"] = m.tensor(2.0, requires_grad=True)
        else:
            kwargs = {"std": m.tensor(2.0), "dtype": m.float64}
        with pytest.raises(TypeError):
            m.normal(mean=0, **kwargs)


def _state_dicts(m):
    """opacus's way: a private hook whose result replaces the state dict, a public one that
    edits it in place, then the registry's values called by hand."""
    layer = m.nn.Linear(2, 3)
    layer._register_state_dict_hook(
        lambda module, sd, prefix, meta: {key.upper(): value for key, value in sd.items()})
    layer.register_state_dict_post_hook(
        lambda module, sd, prefix, meta: sd.__setitem__("extra", m.ones(1)))
    own = layer.state_dict()
    by_hand = {"weight": layer.weight.detach()}
    for hook in layer._state_dict_hooks.values():
        result = hook(layer, by_hand, "", None)
        if result is not None:
            by_hand = result
    return sorted(own), sorted(by_hand)


def test_state_dict_hooks_registry_values_are_callable_as_pytorch():
    assert _state_dicts(dg) == _state_dicts(torch) == (
        ["BIAS", "WEIGHT", "extra"], ["WEIGHT", "extra"])
