"""Adam's large-parameter update shared out across the intra-op threads: the same bits as on one
thread (the chunked step and the moments' decay are elementwise)."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad._engine import threads
from deltagrad.optim import Adam, AdamW


@pytest.fixture
def restore_threads():
    before = threads.count()
    yield
    threads.set_count(before)


def _train(monkeypatch, count: int, options: dict, dense_table: bool):
    """Five Adam steps on an engine embedding gradient (rows noted: the row update) or a
    gradient filling every row (the plain update), plus a small layer; the values after each
    step and the calls of ``threads.split`` that had more than one piece to share."""
    from deltagrad.optim import adam

    # Chunks of 1004 bytes (251 float32): a 2500 x 6 table (not in the flat update of the
    # small parameters) is 60 chunks, shared out (with the moments' decay of the row update).
    monkeypatch.setattr(adam, "_CHUNK_BYTES", 1004)
    monkeypatch.setattr(adam, "_FLAT_MAX_SIZE", 1000)
    split_rule, shared = threads.split, []

    def recording_split(function, total, **kwargs):
        shared.append(total)
        split_rule(function, total, **kwargs)

    monkeypatch.setattr(threads, "split", recording_split)
    threads.set_count(count)
    rng = np.random.default_rng(7)
    table = nn.Embedding(2500, 6, _weight=dg.tensor(rng.standard_normal((2500, 6))
                                                    .astype(np.float32)))
    dg.manual_seed(3)  # the layer's initial weights
    layer = nn.Linear(6, 3)
    options = dict(options)
    kind = AdamW if options.pop("adamw", False) else Adam
    optimizer = kind([*table.parameters(), *layer.parameters()], lr=0.01, **options)
    history = []
    for _ in range(5):
        optimizer.zero_grad()
        ids = dg.tensor(rng.integers(0, 2500, (16, 5)))
        loss = (layer(table(ids)) ** 2).sum()
        if dense_table:
            loss = loss + (table.weight * 1e-3).sum()  # every row: no rows to note
        loss.backward()
        optimizer.step()
        history.append([p._data.copy() for p in (table.weight, layer.weight, layer.bias)])
    moments = [optimizer.state[table.weight][name]._data.copy()
               for name in ("exp_avg", "exp_avg_sq")]
    monkeypatch.undo()
    return history, moments, shared


@pytest.mark.parametrize("options", [{}, {"amsgrad": True}, {"maximize": True},
                                     {"weight_decay": 0.1, "adamw": True}],
                         ids=["plain", "amsgrad", "maximize", "adamw"])
@pytest.mark.parametrize("dense_table", [False, True], ids=["noted-rows", "every-row"])
def test_adam_on_two_threads_matches_one_thread_bit_for_bit(monkeypatch, restore_threads,
                                                             options, dense_table):
    one, one_moments, _ = _train(monkeypatch, 1, options, dense_table)
    two, two_moments, shared = _train(monkeypatch, 2, options, dense_table)
    for got, want in zip(two, one):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(two_moments, one_moments):
        np.testing.assert_array_equal(a, b)
    assert any(total >= 60 for total in shared)  # the table's chunks were shared out
