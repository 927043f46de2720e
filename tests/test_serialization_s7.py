"""save/load keep what PyTorch's keep: a Parameter stays a Parameter, a state_dict an
OrderedDict; load_state_dict's size-mismatch message prints shapes as Size reprs."""

from __future__ import annotations

import io
from collections import OrderedDict

import pytest

import deltagrad as dg


def _round_trip(obj):
    buffer = io.BytesIO()
    dg.save(obj, buffer)
    buffer.seek(0)
    return dg.load(buffer)


def test_a_saved_parameter_loads_as_a_parameter():
    trainable = dg.nn.Parameter(dg.ones(2))
    frozen = dg.nn.Parameter(dg.zeros(3), requires_grad=False)
    loaded = _round_trip({"p": trainable, "again": [trainable], "q": frozen, "t": dg.ones(1)})
    assert isinstance(loaded["p"], dg.nn.Parameter) and loaded["p"].requires_grad
    assert loaded["again"][0] is loaded["p"]
    assert isinstance(loaded["q"], dg.nn.Parameter) and not loaded["q"].requires_grad
    assert not isinstance(loaded["t"], dg.nn.Parameter)
    # the reason it matters: assigned to a Module, it registers (and trains)
    module = dg.nn.Module()
    module.scale = loaded["p"]
    assert [name for name, _ in module.named_parameters()] == ["scale"]


def test_a_state_dict_loads_as_an_ordered_dict():
    state = dg.nn.Linear(2, 3).state_dict()
    loaded = _round_trip({"model": state, "plain": {"a": 1}})
    assert type(loaded["model"]) is OrderedDict and list(loaded["model"]) == list(state)
    assert type(loaded["plain"]) is dict


def test_size_mismatch_message_prints_sizes_as_pytorch():
    model = dg.nn.Linear(2, 2)
    expected = (r"copying a param with shape deltagrad\.Size\(\[3, 2\]\) from checkpoint, the "
                r"shape in current model is deltagrad\.Size\(\[2, 2\]\)")
    with pytest.raises(RuntimeError, match=expected):
        model.load_state_dict({"weight": dg.ones(3, 2), "bias": dg.ones(2)})
