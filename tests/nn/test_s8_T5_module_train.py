"""``Module.train`` / ``eval`` call each child's own ``train`` (as PyTorch's do).

Libraries override ``train`` to react to the mode: gpytorch's variational strategies clear
their cached Cholesky factors there, so a prediction right after training read stale factors
(silently wrong means and variances) when ``eval()`` set the flags directly.
"""

from __future__ import annotations

import pytest

from deltagrad import nn


class Cached(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cache = "stale"
        self.calls = []

    def train(self, mode: bool = True):
        self.calls.append(mode)
        self.cache = None  # a cache of training-mode values, dropped on every switch
        return super().train(mode)


def test_eval_and_train_reach_each_overridden_train():
    inner = Cached()
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(inner, nn.Dropout(0.5)))
    assert model.eval() is model
    assert inner.calls == [False] and inner.cache is None
    assert not any(m.training for m in model.modules())
    inner.cache = "stale"
    model.train()
    assert inner.calls == [False, True] and inner.cache is None
    assert all(m.training for m in model.modules())


def test_train_mode_must_be_bool():
    with pytest.raises(ValueError):
        nn.Linear(2, 2).train("no")


def test_child_train_override_can_keep_its_mode():
    class Frozen(nn.Module):  # a child that stays in eval mode whatever its parent does
        def train(self, mode: bool = True):
            return super().train(False)

    frozen = Frozen()
    model = nn.Sequential(nn.Linear(2, 2), frozen)
    model.train()
    assert model.training and model[0].training and not frozen.training


def test_overrides_are_called_in_pytorchs_order_in_deep_models():
    order = []

    class Named(nn.Module):
        def __init__(self, name: str, *children: nn.Module) -> None:
            super().__init__()
            self.name = name
            for i, child in enumerate(children):
                self.add_module(str(i), child)

        def train(self, mode: bool = True):
            order.append(self.name)
            return super().train(mode)

    model = nn.Sequential(Named("a", Named("b"), nn.Sequential(Named("c"))), Named("d"))
    model.eval()
    assert order == ["a", "b", "c", "d"]  # (PyTorch's depth-first order of children)
    deep = Named("leaf")
    for _ in range(3000):  # no recursion through plain containers
        deep = nn.Sequential(deep)
    deep.train(False)
    assert order[-1] == "leaf" and not deep.training
