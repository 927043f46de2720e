"""Session 9, S4 (engine speed): attention makes no graph nodes that backward cannot free.

Self-attention used to transpose key and value as well as the query, then use only the
query's transpose: two nodes requiring grad per call that no backward reached. Besides their
cost, such nodes kept the optimizers' leak check (autograd/memory.py) scanning the heap with
gc.get_objects every 20 steps (W4: 8 nodes a step, ~42 ms a scan).
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.autograd import _counters

torch = pytest.importorskip("torch")


def _modules(batch_first: bool, kdim=None):
    torch.manual_seed(0)
    reference = torch.nn.MultiheadAttention(8, 2, dropout=0.0, batch_first=batch_first,
                                            kdim=kdim, vdim=kdim)
    ours = dg.nn.MultiheadAttention(8, 2, dropout=0.0, batch_first=batch_first, kdim=kdim,
                                    vdim=kdim)
    ours.load_state_dict({name: dg.from_numpy(value.detach().numpy().copy())
                          for name, value in reference.state_dict().items()})
    return reference, ours


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("form", ["self", "shared key/value", "separate"])
def test_attention_frees_every_node_and_matches_torch(batch_first, form):
    rng = np.random.default_rng(0)
    shape = (3, 5, 8)
    arrays = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    mask = np.triu(np.full((5, 5), -np.inf, np.float32), 1) if batch_first else None
    reference, ours = _modules(batch_first)
    results = {}
    for lib, module in (("torch", reference), ("dg", ours)):
        m = torch if lib == "torch" else dg
        q, k, v = (m.from_numpy(a.copy()).requires_grad_(True) for a in arrays)
        if form == "self":
            key = value = q
        elif form == "shared key/value":
            key = value = k
        else:
            key, value = k, v
        attn_mask = None if mask is None else m.from_numpy(mask.copy())
        created, freed = _counters.created, _counters.freed
        out, _ = module(q, key, value, attn_mask=attn_mask, need_weights=False)
        (out * out).sum().backward()
        if lib == "dg":
            # Every node the call made was reached and freed by backward.
            assert _counters.created - created == _counters.freed - freed
        results[lib] = (out.detach().numpy(), q.grad.numpy(),
                        module.in_proj_weight.grad.numpy())
    for got, want in zip(results["dg"], results["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
