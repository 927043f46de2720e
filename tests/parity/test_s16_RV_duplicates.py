"""What the s16 RV duplicate clean-up shared: LambdaLR's and MultiplicativeLR's reading of
``lr_lambda`` (one function for every group, or one per group) is one function now, with
PyTorch's message for a wrong count (each class had its own wording, neither PyTorch's)."""

from __future__ import annotations

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _optimizer(lib):
    return lib.optim.SGD([{"params": [lib.zeros(1, requires_grad=True)]},
                          {"params": [lib.zeros(1, requires_grad=True)], "lr": 0.5}], lr=1.0)


@pytest.mark.parametrize("name", ["LambdaLR", "MultiplicativeLR"])
@pytest.mark.parametrize("lambdas", ["one", "list", "tuple", "too_few", "too_many"])
def test_lr_lambda_per_group_as_pytorch(name, lambdas):
    results = []
    for lib in (torch, dg):
        optimizer = _optimizer(lib)
        lr_lambda = {"one": lambda e: 0.9, "list": [lambda e: 0.9, lambda e: 0.8],
                     "tuple": (lambda e: 0.9, lambda e: 0.8), "too_few": [lambda e: 0.9],
                     "too_many": [lambda e: 0.9] * 3}[lambdas]
        try:
            scheduler = getattr(lib.optim.lr_scheduler, name)(optimizer, lr_lambda)
        except Exception as error:  # noqa: BLE001 - compared below
            results.append((type(error).__name__, str(error)))
            continue
        lrs = []
        for _ in range(3):
            optimizer.step()
            scheduler.step()
            lrs.append([round(group["lr"], 12) for group in optimizer.param_groups])
        results.append((len(scheduler.lr_lambdas), lrs))
    assert results[1] == results[0]
