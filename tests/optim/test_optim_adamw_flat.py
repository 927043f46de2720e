"""AdamW's small parameters through the flat path (decoupled decay per parameter, one Adam
update over all of them): the same numbers bit for bit as one parameter at a time."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.optim import AdamW


def _history(monkeypatch, flat: bool, dtype, weight_decay: float, steps: int = 4):
    from deltagrad.optim import adam

    if not flat:
        monkeypatch.setattr(adam, "_FLAT_MAX_SIZE", 0)
    used = []
    flat_moments = adam.Adam._flat_moments

    def recording(self, small):
        result = flat_moments(self, small)
        used.append(result is not None)
        return result

    monkeypatch.setattr(adam.Adam, "_flat_moments", recording)
    rng = np.random.default_rng(7)
    params = [dg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
              for shape in [(64, 64), (64,), (3, 5, 2), ()]]
    optimizer = AdamW(params, lr=0.01, weight_decay=weight_decay)
    history = []
    for _ in range(steps):
        for param in params:
            param.grad = dg.tensor(rng.standard_normal(param.shape).astype(dtype))
        optimizer.step()
        history.append([param._data.copy() for param in params])
    moments = [optimizer.state[p][name]._data.copy() for p in params
               for name in ("exp_avg", "exp_avg_sq")]
    monkeypatch.undo()
    return history, moments, any(used)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay", [1e-2, 0.0])
def test_adamw_flat_path_matches_one_by_one(monkeypatch, dtype, weight_decay):
    flat, flat_moments, used = _history(monkeypatch, True, dtype, weight_decay)
    single, single_moments, _ = _history(monkeypatch, False, dtype, weight_decay)
    assert used  # the flat path ran, decay and all
    for got, want in zip(flat, single):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(flat_moments, single_moments):
        np.testing.assert_array_equal(a, b)


def test_adamw_matches_torch_with_decay():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    values = [rng.standard_normal(shape).astype(np.float32) for shape in [(8, 4), (4,), (6,)]]
    ours = [dg.tensor(v.copy(), requires_grad=True) for v in values]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in values]
    ours_opt = AdamW(ours, lr=0.05, weight_decay=0.1)
    theirs_opt = torch.optim.AdamW(theirs, lr=0.05, weight_decay=0.1)
    for _ in range(3):
        grads = [rng.standard_normal(v.shape).astype(np.float32) for v in values]
        for p, q, g in zip(ours, theirs, grads):
            p.grad = dg.tensor(g)
            q.grad = torch.tensor(g)
        ours_opt.step()
        theirs_opt.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-5, atol=1e-6)
