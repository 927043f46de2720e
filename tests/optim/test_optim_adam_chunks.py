"""Adam on large parameters, a cache-sized chunk at a time: the same numbers as whole arrays."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.optim import Adam, AdamW


def _run(monkeypatch, chunk_bytes: int, options: dict, flat: bool, dtype=np.float32,
         steps: int = 5):
    """Adam on a 3000 x 5 table (sparse-row, all-zero and dense gradients in turn), a 37 x 29
    matrix and a 7-vector, one parameter at a time or through the flat path; the history of
    values, the final moments and the largest work array a step used."""
    from deltagrad.optim import adam

    monkeypatch.setattr(adam, "_CHUNK_BYTES", chunk_bytes)
    if not flat:
        monkeypatch.setattr(adam, "_FLAT_MAX_SIZE", 0)
    works = []
    step_rule = adam._adam_step

    def recording_step(m, v, work, constants):
        works.append(work.size)
        step_rule(m, v, work, constants)

    monkeypatch.setattr(adam, "_adam_step", recording_step)
    rng = np.random.default_rng(41)
    params = [dg.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
              for shape in [(3000, 5), (37, 29), (7,)]]
    options = dict(options)
    optimizer = (AdamW if options.pop("adamw", False) else Adam)(params, lr=0.01, **options)
    history = []
    for step in range(steps):
        grad = np.zeros((3000, 5), dtype)
        if step != 2:  # step 2: an all-zero table gradient
            rows = rng.integers(0, 3000, 40)
            grad[rows] = rng.standard_normal((40, 5))
        if step == 4:
            grad[:] = rng.standard_normal((3000, 5))  # every row: the plain update
        params[0].grad = dg.tensor(grad)
        for param in params[1:]:
            param.grad = dg.tensor(rng.standard_normal(param.shape).astype(dtype))
        optimizer.step()
        history.append([param._data.copy() for param in params])
    moments = [optimizer.state[p][name]._data.copy() for p in params
               for name in ("exp_avg", "exp_avg_sq")]
    monkeypatch.undo()
    return history, moments, max(works)


@pytest.mark.parametrize("options", [{}, {"amsgrad": True}, {"maximize": True},
                                     {"weight_decay": 0.1}, {"weight_decay": 0.1, "adamw": True}],
                         ids=["plain", "amsgrad", "maximize", "l2", "adamw"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("flat", [False, True], ids=["one-by-one", "flat"])
def test_chunked_adam_matches_whole_arrays_bit_for_bit(monkeypatch, options, dtype, flat):
    # 1012-byte chunks: 253 float32 or 126 float64 elements, which divide no parameter's size.
    chunked, chunked_moments, chunked_work = _run(monkeypatch, 1012, options, flat, dtype)
    whole, whole_moments, whole_work = _run(monkeypatch, 1 << 40, options, flat, dtype)
    for got, want in zip(chunked, whole):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(chunked_moments, whole_moments):
        np.testing.assert_array_equal(a, b)
    assert chunked_work == 1012 // np.dtype(dtype).itemsize  # the chunked path ran
    assert whole_work >= 3000 * 5 or (flat and options.get("amsgrad"))


def test_chunked_adam_on_an_engine_embedding_gradient(monkeypatch):
    # A dense embedding gradient (whose non-zero rows the engine notes for Adam) through the
    # row update and its chunked step, against whole arrays.
    from deltagrad.optim import adam

    rng = np.random.default_rng(42)
    init = rng.standard_normal((2500, 6)).astype(np.float32)
    batches = [rng.integers(0, 2500, (16, 5)) for _ in range(4)]
    results = []
    for chunk_bytes in (1004, 1 << 40):
        monkeypatch.setattr(adam, "_CHUNK_BYTES", chunk_bytes)
        table = nn.Embedding(2500, 6, _weight=dg.tensor(init.copy()))
        optimizer = Adam(table.parameters(), lr=0.01)
        for ids in batches:
            optimizer.zero_grad()
            (table(dg.tensor(ids)) ** 2).sum().backward()
            optimizer.step()
        results.append(table.weight._data.copy())
    np.testing.assert_array_equal(results[0], results[1])
