"""capture_step: replaying a recorded step gives bit-identical losses and gradients to eager."""

import numpy as np
import pytest

import deltagrad as dg


def chain(a, b, c):
    def loss_fn(x):
        h = x
        for i in range(40):
            k = i % 4
            h = h * a if k == 0 else h + b if k == 1 else h.tanh() if k == 2 else h - c
        return h.sum()

    return loss_fn


def eager_then_replay(loss_fn, params, inputs_per_step):
    """Gradients and losses of eager steps and of replayed steps (same parameters each)."""
    eager, replayed = [], []
    step = dg.capture_step(loss_fn)
    for inputs in inputs_per_step:
        for p in params:
            p.grad = None
        loss = loss_fn(*inputs)
        loss.backward()
        eager.append((loss.item(), [np.array(p.grad._data if not p.grad.is_sparse else
                                             p.grad.to_dense()) for p in params]))
        for p in params:
            p.grad = None
        loss = step(*inputs)
        replayed.append((loss.item(), [np.array(p.grad._data if not p.grad.is_sparse else
                                                p.grad.to_dense()) for p in params]))
    return eager, replayed


def assert_same(eager, replayed):
    for (l1, g1), (l2, g2) in zip(eager, replayed, strict=True):
        assert l1 == l2
        for a, b in zip(g1, g2, strict=True):
            np.testing.assert_array_equal(a, b)


def test_replay_is_bit_identical_on_a_fan_out_chain():
    rng = np.random.default_rng(0)
    a, b, c = (dg.tensor(rng.uniform(0.5, 1, (8, 8)).astype(np.float32), requires_grad=True)
               for _ in range(3))
    inputs = [(dg.tensor(rng.standard_normal((8, 8)).astype(np.float32)),) for _ in range(3)]
    assert_same(*eager_then_replay(chain(a, b, c), [a, b, c], inputs))


def test_replay_follows_parameter_updates_and_sparse_embeddings():
    dg.manual_seed(0)
    embedding = dg.nn.Embedding(50, 4, sparse=True)
    layer = dg.nn.Linear(12, 3)
    params = [embedding.weight, layer.weight, layer.bias]
    optimizer = dg.optim.SGD(params, lr=0.1)

    def loss_fn(ids, targets):
        # Squared error against one-hot targets given as an input: every tensor made from the
        # inputs comes from an op, so the step replays.
        x = embedding(ids).reshape(ids.shape[0], -1)
        return ((layer(x).tanh() - targets) ** 2).mean()

    rng = np.random.default_rng(1)
    step = dg.capture_step(loss_fn)
    for _ in range(4):  # eager and replay agree step after step while the weights move
        ids = dg.from_numpy(rng.integers(0, 50, (6, 3)))
        targets = dg.from_numpy(np.eye(3, dtype=np.float32)[rng.integers(0, 3, 6)])
        optimizer.zero_grad()
        eager = loss_fn(ids, targets)
        eager.backward()
        expected = [p.grad.to_dense() if p.grad.is_sparse else p.grad._data.copy() for p in params]
        optimizer.zero_grad()
        replayed = step(ids, targets)
        got = [p.grad.to_dense() if p.grad.is_sparse else p.grad._data.copy() for p in params]
        assert eager.item() == replayed.item()
        for e, g in zip(expected, got, strict=True):
            np.testing.assert_array_equal(e, g)
        optimizer.step()


def test_capture_refuses_steps_it_would_replay_wrong():
    layer = dg.nn.Linear(4, 3)

    def with_class_targets(x, targets):  # smoothing: the targets become an array outside ops
        return dg.nn.functional.cross_entropy(layer(x), targets, label_smoothing=0.1)

    def with_dropout(x):  # a fresh random mask every call
        return dg.nn.functional.dropout(layer(x), 0.5).sum()

    x = dg.randn(5, 4)
    with pytest.raises(ValueError, match="outside ops"):
        dg.capture_step(with_class_targets)(x, dg.tensor([0, 1, 2, 0, 1]))
    state = dg.get_rng_state()
    with pytest.raises(ValueError, match="outside ops"):
        dg.capture_step(with_dropout)(x)
    assert not dg.equal(dg.get_rng_state(), state)  # the real call drew its mask


def test_classifier_step_with_class_index_targets_replays_bit_for_bit():
    # cross_entropy of a batch of class indices takes them as an op input, so new targets
    # replay like new inputs.
    gen = dg.Generator(3)
    model = dg.nn.Sequential(dg.nn.Embedding(50, 6, generator=gen), dg.nn.Flatten(),
                             dg.nn.Linear(18, 8, generator=gen), dg.nn.Tanh(),
                             dg.nn.Linear(8, 4, generator=gen))
    step = dg.capture_step(lambda ids, tags: dg.nn.functional.cross_entropy(model(ids), tags))
    rng = np.random.default_rng(5)
    for _ in range(3):
        ids = dg.tensor(rng.integers(0, 50, (16, 3)))
        tags = dg.tensor(rng.integers(0, 4, 16))
        model.zero_grad()
        loss = step(ids, tags)
        replayed = [p.grad._data.copy() for p in model.parameters()]
        model.zero_grad()
        eager = dg.nn.functional.cross_entropy(model(ids), tags)
        eager.backward()
        assert loss.item() == eager.item()
        for got, p in zip(replayed, model.parameters(), strict=True):
            np.testing.assert_array_equal(got, p.grad._data)


def test_replay_refuses_new_shapes():
    w = dg.tensor([1.0, 2.0], requires_grad=True)
    step = dg.capture_step(lambda x: (w * x).sum())
    step(dg.tensor([1.0, 1.0]))
    with pytest.raises(dg.ShapeError, match="capture a new step"):
        step(dg.tensor([1.0, 1.0, 1.0]))


def test_integer_inputs_reshaped_and_used_as_indices_replay_bit_for_bit():
    # ids index an embedding table directly (E[ids]: the ids are an index attribute, not an op
    # input) and class targets are reshaped before the loss: both are ops on the step's
    # integer inputs that do not require grad, recomputed by every replay.
    rng = np.random.default_rng(7)
    table = dg.tensor(rng.standard_normal((20, 4)).astype(np.float32), requires_grad=True)
    weight = dg.tensor(rng.standard_normal((4, 3)).astype(np.float32), requires_grad=True)

    def loss_fn(ids, targets):
        h = table[ids.reshape(-1)].reshape(ids.shape[0], ids.shape[1], 4).mean(dim=1)
        return dg.nn.functional.cross_entropy(h @ weight, targets.reshape(-1))

    inputs = [(dg.tensor(rng.integers(0, 20, (5, 2))), dg.tensor(rng.integers(0, 3, (5, 1))))
              for _ in range(4)]
    eager, replayed = eager_then_replay(loss_fn, [table, weight], inputs)
    assert len({loss for loss, _ in eager}) == 4  # the inputs really changed the loss
    assert_same(eager, replayed)


def test_index_tensor_input_is_not_frozen_in_the_replay():
    table = dg.tensor(np.arange(12.0, dtype=np.float32).reshape(6, 2), requires_grad=True)
    step = dg.capture_step(lambda ids: (table[ids] ** 2).sum())
    step(dg.tensor([0, 1]))
    assert step(dg.tensor([4, 5])).item() == (table[dg.tensor([4, 5])] ** 2).sum().item()


def test_mixed_dtype_arithmetic_with_an_integer_input_replays_bit_for_bit():
    # float32 * int64 promotes the integers to float32 first (PyTorch's rule); a replay must
    # do the same rather than let NumPy compute in float64.
    rng = np.random.default_rng(8)
    w = dg.tensor(rng.standard_normal((6,)).astype(np.float32), requires_grad=True)

    def loss_fn(counts):
        return ((w * counts + (counts - 1)) ** 2).sum()

    inputs = [(dg.tensor(rng.integers(-50, 50, 6)),) for _ in range(3)]
    assert_same(*eager_then_replay(loss_fn, [w], inputs))


def test_function_ops_replay_bit_for_bit():
    class Scale(dg.Function):  # a custom op: a fresh context per call, reused by the replay
        @staticmethod
        def forward(ctx, x, factor):
            ctx.save_for_backward(x)
            ctx.factor = factor
            return x * factor

        @staticmethod
        def backward(ctx, g):
            if dg.is_grad_enabled():  # eager runs rules with grad mode off; so must a replay
                raise RuntimeError("backward ran with grad mode on")
            (x,) = ctx.saved_tensors
            return g * ctx.factor + x * 0.0, None

    rng = np.random.default_rng(9)
    w = dg.tensor(rng.standard_normal((3, 3)).astype(np.float32), requires_grad=True)
    inputs = [(dg.tensor(rng.standard_normal((3, 3)).astype(np.float32)),) for _ in range(3)]
    assert_same(*eager_then_replay(lambda x: Scale.apply(w @ x, 1.5).tanh().sum(), [w], inputs))


def test_capture_keeps_earlier_gradients_and_refuses_a_replay_that_would_differ():
    w = dg.tensor([1.0, -2.0], requires_grad=True)
    w.grad = dg.tensor([10.0, 10.0])  # not zeroed: the captured call accumulates, as eager
    step = dg.capture_step(lambda x: (w * x).sum())
    step(dg.tensor([3.0, 4.0]))
    np.testing.assert_array_equal(w.grad.detach().numpy(), [13.0, 14.0])
    handle = w.register_hook(lambda g: g * 2)  # a replay runs no hooks: refused, not wrong
    with pytest.raises(ValueError, match="bit for bit"):
        dg.capture_step(lambda x: (w * x).sum())(dg.tensor([3.0, 4.0]))
    handle.remove()
