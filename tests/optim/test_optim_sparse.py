"""Row-sparse gradients (Embedding(sparse=True)): lazy Adam, sparse Adagrad and SGD."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.sparse import RowSparseGrad
from deltagrad.optim import SGD, Adagrad, Adam, AdamW, RMSprop

ROWS, DIM = 12, 3
STEPS = 5


def make_batches(seed, dtype=np.float64, steps=STEPS, batch=7, rows=ROWS, dim=DIM):
    """Per step: word ids (with repeats, a few rows only) and the upstream gradient rows."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(steps):
        ids = rng.integers(0, rows // 2, size=batch)  # half the rows are never touched
        ids[1] = ids[0]  # always at least one repeat
        batches.append((ids, rng.standard_normal((batch, dim)).astype(dtype)))
    return batches


def sparse_grad(ids, values, rows=ROWS):
    return RowSparseGrad(ids, values, (rows, values.shape[1]))


def dense_of(ids, values, rows=ROWS):
    dense = np.zeros((rows, values.shape[1]), dtype=values.dtype)
    np.add.at(dense, ids, values)
    return dense


# ------------------------------------------------------------------------------------------
# Reference transcriptions (float64, on dense arrays with a mask of the touched rows): what
# PyTorch's SparseAdam and sparse Adagrad do, from their documentation: the Adam / Adagrad
# update applied to the rows present in the gradient only.


def reference_sparse_adam(theta, batches, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                          maximize=False):
    beta1, beta2 = betas
    theta = theta.copy()
    m, v = np.zeros_like(theta), np.zeros_like(theta)
    for t, (ids, values) in enumerate(batches, start=1):
        g = dense_of(ids, values)
        if maximize:
            g = -g
        rows = np.unique(ids)
        m[rows] = beta1 * m[rows] + (1 - beta1) * g[rows]
        v[rows] = beta2 * v[rows] + (1 - beta2) * g[rows] ** 2
        # SparseAdam's placement of ε: outside the bias correction of v.
        step_size = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        theta[rows] = theta[rows] - step_size * m[rows] / (np.sqrt(v[rows]) + eps)
    return theta, m, v


def reference_sparse_adagrad(theta, batches, lr=1e-2, lr_decay=0.0,
                             initial_accumulator_value=0.0, eps=1e-10):
    theta = theta.copy()
    state_sum = np.full_like(theta, initial_accumulator_value)
    for t, (ids, values) in enumerate(batches, start=1):
        g = dense_of(ids, values)
        rows = np.unique(ids)
        lr_t = lr / (1 + (t - 1) * lr_decay)
        state_sum[rows] += g[rows] ** 2
        theta[rows] -= lr_t * g[rows] / (np.sqrt(state_sum[rows]) + eps)
    return theta, state_sum


def run_sparse(optimizer_factory, theta, batches, dense=False):
    param = dg.tensor(theta, requires_grad=True)
    optimizer = optimizer_factory([param])
    for ids, values in batches:
        param.grad = dg.tensor(dense_of(ids, values)) if dense else sparse_grad(ids, values)
        optimizer.step()
    return param, optimizer


def run_torch_embedding(torch_factory, theta, batches, dtype="float64"):
    """torch.nn.Embedding(sparse=True) trained on loss = Σ embedding(ids) · upstream."""
    torch = pytest.importorskip("torch")
    embedding = torch.nn.Embedding(*theta.shape, sparse=True).to(getattr(torch, dtype))
    with torch.no_grad():
        embedding.weight.copy_(torch.tensor(theta))
    optimizer = torch_factory(torch, embedding.parameters())
    for ids, values in batches:
        optimizer.zero_grad()
        (embedding(torch.tensor(ids)) * torch.tensor(values)).sum().backward()
        assert embedding.weight.grad.is_sparse
        optimizer.step()
    return embedding.weight.detach().numpy(), optimizer.state[embedding.weight]


# ------------------------------------------------------------------------------------------
# Adam / AdamW: lazy (SparseAdam)

ADAM_CASES = [dict(), dict(lr=0.1), dict(lr=0.1, betas=(0.8, 0.9), eps=1e-3),
              dict(lr=0.05, maximize=True)]


@pytest.mark.parametrize("options", ADAM_CASES, ids=str)
def test_sparse_adam_matches_sparseadam_transcription(options):
    theta = np.random.default_rng(0).standard_normal((ROWS, DIM))
    batches = make_batches(seed=1)
    param, optimizer = run_sparse(lambda params: Adam(params, **options), theta, batches)
    expected, m, v = reference_sparse_adam(theta, batches, **options)
    np.testing.assert_allclose(param._data, expected, rtol=1e-12, atol=1e-14)
    state = optimizer.state[param]
    sign = -1 if options.get("maximize") else 1
    np.testing.assert_allclose(sign * state["exp_avg"]._data, sign * m, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(state["exp_avg_sq"]._data, v, rtol=1e-12, atol=1e-15)
    assert state["step"] == STEPS


@pytest.mark.parametrize("options", ADAM_CASES, ids=str)
def test_sparse_adam_matches_torch_sparseadam(options):
    theta = np.random.default_rng(2).standard_normal((ROWS, DIM))
    batches = make_batches(seed=3)
    expected, torch_state = run_torch_embedding(
        lambda torch, params: torch.optim.SparseAdam(list(params), **options), theta, batches)
    param, optimizer = run_sparse(lambda params: Adam(params, **options), theta, batches)
    np.testing.assert_allclose(param._data, expected, rtol=1e-12, atol=1e-14)
    state = optimizer.state[param]
    np.testing.assert_allclose(state["exp_avg"]._data, torch_state["exp_avg"].numpy(),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(state["exp_avg_sq"]._data, torch_state["exp_avg_sq"].numpy(),
                               rtol=1e-12, atol=1e-15)
    assert state["step"] == int(torch_state["step"])


def test_sparse_adam_float32_matches_torch_sparseadam():
    theta = np.random.default_rng(4).standard_normal((ROWS, DIM)).astype(np.float32)
    batches = make_batches(seed=5, dtype=np.float32)
    expected, _ = run_torch_embedding(
        lambda torch, params: torch.optim.SparseAdam(list(params), lr=0.05), theta, batches,
        dtype="float32")
    param, _ = run_sparse(lambda params: Adam(params, lr=0.05), theta, batches)
    assert param.dtype == dg.float32
    np.testing.assert_allclose(param._data, expected, rtol=1e-5, atol=1e-6)


def test_adamw_with_zero_weight_decay_is_lazy_adam_on_sparse_rows():
    theta = np.random.default_rng(6).standard_normal((ROWS, DIM))
    batches = make_batches(seed=7)
    adam, _ = run_sparse(lambda params: Adam(params, lr=0.1), theta, batches)
    adamw, _ = run_sparse(lambda params: AdamW(params, lr=0.1, weight_decay=0.0), theta, batches)
    np.testing.assert_array_equal(adam._data, adamw._data)


def test_lazy_adam_leaves_untouched_rows_and_their_moments_alone():
    theta = np.random.default_rng(8).standard_normal((ROWS, DIM))
    param = dg.tensor(theta, requires_grad=True)
    optimizer = Adam([param], lr=0.1)
    param.grad = sparse_grad(np.array([0, 1]), np.ones((2, DIM)))
    optimizer.step()
    moments = optimizer.state[param]["exp_avg"]._data[[0, 1]].copy()
    param.grad = sparse_grad(np.array([5]), np.ones((1, DIM)))
    optimizer.step()
    # Rows 0 and 1 were not in the second gradient: dense Adam would keep moving them (their
    # moments decay but are not zero); lazy Adam leaves them exactly as they were.
    after_first = param._data[[0, 1]].copy()
    np.testing.assert_array_equal(optimizer.state[param]["exp_avg"]._data[[0, 1]], moments)
    param.grad = sparse_grad(np.array([5]), np.ones((1, DIM)))
    optimizer.step()
    np.testing.assert_array_equal(param._data[[0, 1]], after_first)
    np.testing.assert_array_equal(param._data[6:], theta[6:])
    assert optimizer.state[param]["step"] == 3


def test_duplicate_indices_are_summed_before_the_update():
    theta = np.random.default_rng(9).standard_normal((ROWS, DIM))
    ids = np.array([3, 1, 3, 3, 0, 1])
    values = np.random.default_rng(10).standard_normal((6, DIM))
    repeated, _ = run_sparse(lambda params: Adam(params, lr=0.1), theta, [(ids, values)] * 3)
    unique_ids = np.array([0, 1, 3])
    summed = dense_of(ids, values)[unique_ids]
    once, _ = run_sparse(lambda params: Adam(params, lr=0.1), theta, [(unique_ids, summed)] * 3)
    np.testing.assert_array_equal(repeated._data, once._data)
    expected, _, _ = reference_sparse_adam(theta, [(ids, values)] * 3, lr=0.1)
    np.testing.assert_allclose(repeated._data, expected, rtol=1e-12)


def test_empty_sparse_gradient_counts_a_step_and_changes_nothing():
    theta = np.random.default_rng(11).standard_normal((ROWS, DIM))
    param = dg.tensor(theta, requires_grad=True)
    optimizer = Adam([param], lr=0.1)
    param.grad = sparse_grad(np.array([], dtype=np.int64), np.zeros((0, DIM)))
    optimizer.step()
    np.testing.assert_array_equal(param._data, theta)
    assert optimizer.state[param]["step"] == 1


def test_sparse_and_dense_parameters_in_one_adam_match_torch():
    # An embedding (sparse gradient) and a dense layer in one optimizer: torch needs
    # SparseAdam for one and Adam for the other.
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    table, weight = rng.standard_normal((ROWS, DIM)), rng.standard_normal((DIM, 2))
    batches = make_batches(seed=13)
    targets = [rng.standard_normal((7, 2)) for _ in batches]

    emb = torch.nn.Embedding(ROWS, DIM, sparse=True).double()
    with torch.no_grad():
        emb.weight.copy_(torch.tensor(table))
    w = torch.tensor(weight, requires_grad=True)
    sparse_opt = torch.optim.SparseAdam([emb.weight], lr=0.05)
    dense_opt = torch.optim.Adam([w], lr=0.05)
    for (ids, _), target in zip(batches, targets):
        sparse_opt.zero_grad()
        dense_opt.zero_grad()
        ((emb(torch.tensor(ids)) @ w - torch.tensor(target)) ** 2).sum().backward()
        sparse_opt.step()
        dense_opt.step()

    our_table = dg.tensor(table, requires_grad=True)
    our_weight = dg.tensor(weight, requires_grad=True)
    optimizer = Adam([our_table, our_weight], lr=0.05)
    for (ids, _), target in zip(batches, targets):
        optimizer.zero_grad()
        rows = dg.tensor(our_table._data[ids], requires_grad=True)  # the lookup, by hand
        ((rows @ our_weight - dg.tensor(target)) ** 2).sum().backward()
        our_table.grad = sparse_grad(ids, rows.grad._data)
        optimizer.step()
    np.testing.assert_allclose(our_table._data, emb.weight.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(our_weight._data, w.detach().numpy(), rtol=1e-12)


def test_engine_embedding_gradient_drives_lazy_adam():
    # The gradient as the engine makes it (nn.functional.embedding with sparse=True).
    functional = getattr(getattr(dg, "nn", None), "functional", None)
    embedding = getattr(functional, "embedding", None)
    if embedding is None:
        pytest.skip("deltagrad.nn.functional.embedding is not available")
    theta = np.random.default_rng(14).standard_normal((ROWS, DIM))
    batches = make_batches(seed=15)
    param = dg.tensor(theta, requires_grad=True)
    optimizer = Adam([param], lr=0.1)
    for ids, values in batches:
        optimizer.zero_grad()
        (embedding(dg.tensor(ids), param, sparse=True) * dg.tensor(values)).sum().backward()
        assert getattr(param.grad, "is_sparse", False)
        optimizer.step()
    expected, _, _ = reference_sparse_adam(theta, batches, lr=0.1)
    np.testing.assert_allclose(param._data, expected, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------------------------
# Adagrad, SGD


ADAGRAD_CASES = [dict(), dict(lr=0.1, lr_decay=0.1),
                 dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3)]


@pytest.mark.filterwarnings("ignore:Sparse invariant checks")  # torch's, not ours
@pytest.mark.parametrize("options", ADAGRAD_CASES, ids=str)
def test_sparse_adagrad_matches_transcription_and_torch(options):
    theta = np.random.default_rng(16).standard_normal((ROWS, DIM))
    batches = make_batches(seed=17)
    param, optimizer = run_sparse(lambda params: Adagrad(params, **options), theta, batches)
    expected, state_sum = reference_sparse_adagrad(theta, batches, **options)
    np.testing.assert_allclose(param._data, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(optimizer.state[param]["sum"]._data, state_sum, rtol=1e-12)
    theirs, torch_state = run_torch_embedding(
        lambda torch, params: torch.optim.Adagrad(params, **options), theta, batches)
    np.testing.assert_allclose(param._data, theirs, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(optimizer.state[param]["sum"]._data, torch_state["sum"].numpy(),
                               rtol=1e-12)


@pytest.mark.parametrize("options", [dict(lr=0.1), dict(lr=0.3, maximize=True)], ids=str)
def test_sparse_sgd_equals_dense_sgd(options):
    theta = np.random.default_rng(18).standard_normal((ROWS, DIM)).astype(np.float32)
    batches = make_batches(seed=19, dtype=np.float32)
    sparse, _ = run_sparse(lambda params: SGD(params, **options), theta, batches)
    dense, _ = run_sparse(lambda params: SGD(params, **options), theta, batches, dense=True)
    np.testing.assert_array_equal(sparse._data, dense._data)


def test_sparse_sgd_equals_dense_sgd_with_heavy_repeats():
    # Like a batch of windows where the padding token and "the" come back hundreds of times.
    theta = np.random.default_rng(27).standard_normal((ROWS, DIM)).astype(np.float32)
    batches = make_batches(seed=28, dtype=np.float32, batch=600)
    sparse, _ = run_sparse(lambda params: SGD(params, lr=0.1), theta, batches)
    dense, _ = run_sparse(lambda params: SGD(params, lr=0.1), theta, batches, dense=True)
    np.testing.assert_array_equal(sparse._data, dense._data)


def test_zero_grad_keeps_an_empty_sparse_gradient():
    param = dg.tensor(np.ones((ROWS, DIM)), requires_grad=True)
    optimizer = Adam([param], lr=0.1)
    param.grad = sparse_grad(np.array([1, 1]), np.ones((2, DIM)))
    optimizer.zero_grad(set_to_none=False)
    assert param.grad.is_sparse and param.grad._nnz() == 0
    optimizer.step()
    np.testing.assert_array_equal(param._data, np.ones((ROWS, DIM)))


def test_sparse_sgd_matches_torch():
    theta = np.random.default_rng(20).standard_normal((ROWS, DIM))
    batches = make_batches(seed=21)
    theirs, _ = run_torch_embedding(lambda torch, params: torch.optim.SGD(params, lr=0.1),
                                    theta, batches)
    ours, _ = run_sparse(lambda params: SGD(params, lr=0.1), theta, batches)
    np.testing.assert_allclose(ours._data, theirs, rtol=1e-12, atol=1e-14)


def test_sparse_adagrad_equals_dense_adagrad_when_every_row_is_touched():
    theta = np.random.default_rng(22).standard_normal((ROWS, DIM))
    rng = np.random.default_rng(23)
    batches = [(np.concatenate([np.arange(ROWS), [2, 2]]), rng.standard_normal((ROWS + 2, DIM)))
               for _ in range(STEPS)]
    sparse, _ = run_sparse(lambda params: Adagrad(params, lr=0.1), theta, batches)
    dense, _ = run_sparse(lambda params: Adagrad(params, lr=0.1), theta, batches, dense=True)
    np.testing.assert_allclose(sparse._data, dense._data, rtol=1e-14)


# ------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize(("factory", "match"), [
    (lambda params: SGD(params, lr=0.1, momentum=0.9), "momentum or weight_decay"),
    (lambda params: SGD(params, lr=0.1, weight_decay=0.1), "momentum or weight_decay"),
    (lambda params: Adam(params, weight_decay=0.1), "weight_decay=0"),
    (lambda params: AdamW(params), "weight_decay=0"),
    (lambda params: Adam(params, amsgrad=True), "amsgrad"),
    (lambda params: Adagrad(params, weight_decay=0.1), "weight_decay=0"),
    (lambda params: RMSprop(params), "RMSprop does not support sparse"),
])
def test_unsupported_sparse_combinations_raise_clear_errors(factory, match):
    param = dg.tensor(np.zeros((ROWS, DIM)), requires_grad=True)
    optimizer = factory([param])
    param.grad = sparse_grad(np.array([1, 2]), np.ones((2, DIM)))
    with pytest.raises(RuntimeError, match=match):
        optimizer.step()


def test_sparse_options_can_differ_per_group():
    # The usual fix for AdamW: the embedding in its own group without weight decay.
    table = dg.tensor(np.ones((ROWS, DIM)), requires_grad=True)
    weight = dg.tensor(np.ones((DIM, 2)), requires_grad=True)
    optimizer = AdamW([{"params": [table], "weight_decay": 0.0}, {"params": [weight]}], lr=0.1)
    table.grad = sparse_grad(np.array([1]), np.ones((1, DIM)))
    weight.grad = dg.ones(DIM, 2, dtype=np.float64)
    optimizer.step()
    assert table._data[1, 0] < 1.0 and table._data[0, 0] == 1.0


def test_out_of_range_and_mismatched_sparse_gradients_are_refused():
    param = dg.tensor(np.zeros((ROWS, DIM)), requires_grad=True)
    optimizer = Adam([param])
    param.grad = sparse_grad(np.array([ROWS]), np.ones((1, DIM)))
    with pytest.raises(IndexError, match="out of range"):
        optimizer.step()
    param.grad = RowSparseGrad(np.array([0]), np.ones((1, DIM)), (ROWS + 1, DIM))
    with pytest.raises(ValueError, match="shape"):
        optimizer.step()


# ------------------------------------------------------------------------------------------
# Cost: the sparse path never builds a dense gradient, and gradients are read only


@pytest.mark.parametrize("factory", [lambda params: Adam(params, lr=0.1),
                                     lambda params: Adagrad(params, lr=0.1),
                                     lambda params: SGD(params, lr=0.1)])
def test_sparse_step_allocates_only_gradient_sized_arrays(factory):
    rows, dim = 100_000, 50
    param = dg.tensor(np.zeros((rows, dim), dtype=np.float32), requires_grad=True)
    optimizer = factory([param])
    rng = np.random.default_rng(24)
    ids = rng.integers(0, rows, size=512)
    values = rng.standard_normal((512, dim)).astype(np.float32)
    param.grad = RowSparseGrad(ids, values, (rows, dim))
    optimizer.step()
    tracemalloc.start()
    try:
        optimizer.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A few gradient-sized arrays (512 x 50), nothing the size of the table (100,000 x 50).
    assert peak < 8 * values.nbytes < param._data.nbytes / 10


def test_sparse_gradient_values_are_not_modified():
    ids = np.array([4, 1, 4])
    values = np.arange(9, dtype=np.float64).reshape(3, DIM)
    for factory in [lambda p: Adam(p, lr=0.1, maximize=True), lambda p: Adagrad(p),
                    lambda p: SGD(p, lr=0.1)]:
        param = dg.tensor(np.zeros((ROWS, DIM)), requires_grad=True)
        param.grad = sparse_grad(ids.copy(), values.copy())
        factory([param]).step()
        np.testing.assert_array_equal(param.grad.values, values)
        np.testing.assert_array_equal(param.grad.indices, ids)


# ------------------------------------------------------------------------------------------
# Resuming


@pytest.mark.parametrize("factory", [lambda params: Adam(params, lr=0.1),
                                     lambda params: Adagrad(params, lr=0.1, lr_decay=0.1)],
                         ids=["Adam", "Adagrad"])
def test_sparse_training_resumes_bit_exactly(factory):
    theta = np.random.default_rng(25).standard_normal((ROWS, DIM)).astype(np.float32)
    batches = make_batches(seed=26, dtype=np.float32, steps=8)
    uninterrupted, _ = run_sparse(factory, theta, batches)

    param, optimizer = run_sparse(factory, theta, batches[:3])
    saved = optimizer.state_dict()
    tensors = {key: value._data.copy() for key, value in saved["state"][0].items()
               if isinstance(value, dg.Tensor)}
    plain = {key: value for key, value in saved["state"][0].items() if key not in tensors}
    state = json.loads(json.dumps({"state": {0: plain}, "param_groups": saved["param_groups"]}))
    state["state"]["0"].update({key: dg.from_numpy(value) for key, value in tensors.items()})

    resumed = dg.tensor(param._data.copy(), requires_grad=True)
    optimizer = factory([resumed])
    optimizer.load_state_dict(state)
    for ids, values in batches[3:]:
        resumed.grad = sparse_grad(ids, values)
        optimizer.step()
    np.testing.assert_array_equal(resumed._data, uninterrupted._data)
