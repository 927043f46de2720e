"""capture_step and what a step does besides its ops: replays must equal eager steps, state
included (running statistics, batch counts, random streams, optimizer and scheduler state), or
the capture must be refused with an error that names what it cannot replay."""

import numpy as np
import pytest

import deltagrad as dg

nn, F = dg.nn, dg.nn.functional


def train(make, batches, replay: bool, optimizer=None, between=None, after=None):
    """Run ``make()``'s (model, loss_fn) over ``batches`` eagerly or through capture_step;
    returns the losses and a copy of the model's state (parameters and buffers)."""
    dg.manual_seed(0)
    model, loss_fn = make()
    opt = (optimizer or (lambda ps: dg.optim.SGD(ps, lr=0.1)))(model.parameters())
    step = dg.capture_step(loss_fn) if replay else None
    losses = []
    for inputs in batches:
        opt.zero_grad()
        if replay:
            loss = step(*inputs)
        else:
            loss = loss_fn(*inputs)
            loss.backward()
        if between is not None:
            between(model, opt)
        opt.step()
        if after is not None:
            after()
        losses.append(loss.item())
    state = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    return losses, state, model, opt


def assert_replay_equals_eager(make, batches, **kwargs):
    eager = train(make, batches, False, **kwargs)
    replayed = train(make, batches, True, **kwargs)
    assert eager[0] == replayed[0]
    assert eager[1].keys() == replayed[1].keys()
    for key in eager[1]:
        np.testing.assert_array_equal(eager[1][key], replayed[1][key], err_msg=key)
    return eager, replayed


def batches_of(shape, n=5, seed=1, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [(dg.tensor(rng.standard_normal(shape).astype(dtype)),) for _ in range(n)]


def squared(model):
    return model, lambda x: (model(x) ** 2).mean()


# ----------------------------------------------------------------------------- batch norm


@pytest.mark.parametrize("momentum", [None, 0.1, 0.3])
@pytest.mark.parametrize("kind", ["1d", "1d-3d-input", "2d", "3d"])
def test_batch_norm_replays_update_running_statistics_and_count_as_eager(kind, momentum):
    def make():
        if kind == "1d":
            layers = [nn.Linear(4, 3), nn.BatchNorm1d(3, momentum=momentum)]
        elif kind == "1d-3d-input":
            layers = [nn.Conv1d(2, 3, 3), nn.BatchNorm1d(3, momentum=momentum)]
        elif kind == "2d":
            layers = [nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, momentum=momentum), nn.ReLU()]
        else:
            layers = [nn.Conv3d(2, 3, 2), nn.BatchNorm3d(3, momentum=momentum)]
        return squared(nn.Sequential(*layers))

    shape = {"1d": (8, 4), "1d-3d-input": (4, 2, 7), "2d": (4, 2, 6, 6),
             "3d": (2, 2, 4, 4, 4)}[kind]
    eager, replayed = assert_replay_equals_eager(make, batches_of(shape))
    bn = replayed[2][1]
    assert int(bn.num_batches_tracked) == 5  # the capture's checking runs left no trace


def test_batch_norm_statistics_match_pytorch_with_a_cumulative_average():
    torch = pytest.importorskip("torch")
    batches = batches_of((6, 3, 5), n=4, seed=3)
    _, state, _, _ = train(lambda: squared(nn.BatchNorm1d(3, momentum=None)), batches, True)
    bn = torch.nn.BatchNorm1d(3, momentum=None)
    for (x,) in batches:
        bn(torch.from_numpy(x.numpy()))
    np.testing.assert_allclose(state["running_mean"], bn.running_mean.numpy(), rtol=1e-6,
                               atol=1e-7)
    np.testing.assert_allclose(state["running_var"], bn.running_var.numpy(), rtol=1e-6)
    assert int(state["num_batches_tracked"]) == int(bn.num_batches_tracked) == 4


def test_functional_batch_norm_and_instance_norm_running_statistics_replay():
    mean, var = dg.zeros(3), dg.ones(3)
    w = dg.ones(3, requires_grad=True)

    def make():
        model = nn.Sequential(nn.Conv1d(2, 3, 2), nn.InstanceNorm1d(3, affine=True,
                                                                    track_running_stats=True))
        mean.zero_()
        var.fill_(1.0)

        def loss_fn(x):
            h = F.batch_norm(model(x), mean, var, w, None, training=True, momentum=0.2)
            return (h ** 3).mean()
        return model, loss_fn

    eager = train(make, batches_of((4, 2, 6)), False)[1:3]
    eager_stats = mean.numpy().copy(), var.numpy().copy()
    replayed = train(make, batches_of((4, 2, 6)), True)[1:3]
    np.testing.assert_array_equal(eager_stats[0], mean.numpy())
    np.testing.assert_array_equal(eager_stats[1], var.numpy())
    for key in eager[0]:
        np.testing.assert_array_equal(eager[0][key], replayed[0][key], err_msg=key)
    assert not np.array_equal(eager[0]["1.running_mean"], np.zeros(3))


def test_group_norm_and_layer_norm_replay():
    def make():
        return squared(nn.Sequential(nn.Conv2d(2, 4, 3), nn.GroupNorm(2, 4), nn.Flatten(),
                                     nn.LayerNorm(64)))

    assert_replay_equals_eager(make, batches_of((3, 2, 6, 6)))


def test_switching_to_eval_captures_again_and_uses_the_running_statistics():
    batches = batches_of((8, 4), n=6)

    def run(replay):
        dg.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3, momentum=None), nn.Dropout(0.5))
        model[2].eval()  # no mask drawn in training mode either
        loss_fn = lambda x: (model(x) ** 2).mean()  # noqa: E731
        step = dg.capture_step(loss_fn)
        losses = []
        for i, (x,) in enumerate(batches):
            model.train(i % 3 != 2)
            model[2].eval()
            if replay:
                losses.append(step(x).item())
            else:
                loss = loss_fn(x)
                loss.backward()
                losses.append(loss.item())
        grads = [p.grad.numpy().copy() for p in model.parameters()]
        return losses, grads, model[1].running_mean.numpy().copy(), int(
            model[1].num_batches_tracked)

    eager, replayed = run(False), run(True)
    assert eager[0] == replayed[0]
    for a, b in zip(eager[1], replayed[1], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(eager[2], replayed[2])
    assert eager[3] == replayed[3] == 4


def test_eval_mode_replay_reads_running_statistics_changed_since_the_capture():
    bn = nn.BatchNorm1d(3).eval()
    lin = nn.Linear(4, 3)
    step = dg.capture_step(lambda x: (bn(lin(x)) ** 2).sum())
    x = dg.randn(5, 4)
    step(x)
    with dg.no_grad():
        bn.running_mean.add_(1.0)  # e.g. a state_dict loaded in between
        bn.running_var.mul_(2.0)
    lin.zero_grad()
    got = step(x).item()
    lin.zero_grad()
    want = (bn(lin(x)) ** 2).sum().item()
    assert got == want


# ----------------------------------------------------------------------------- refusals


class Counting(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)
        self.register_buffer("count", dg.zeros((), dtype=dg.int64))
        self.calls = 0

    def forward(self, x):
        return self.lin(x)


def test_buffer_changed_in_place_by_module_code_is_refused_by_name():
    model = Counting()
    model.forward = lambda x: (model.count.add_(1), model.lin(x))[1]
    step = dg.capture_step(lambda x: model(x).sum())
    with pytest.raises(ValueError, match=r"buffer model\.count"):
        step(dg.randn(2, 3))


def test_python_counter_in_module_code_is_refused_by_name():
    model = Counting()

    def forward(x):
        model.calls += 1
        return model.lin(x)

    model.forward = forward
    with pytest.raises(ValueError, match=r"attribute model\.calls of Counting"):
        dg.capture_step(lambda x: model(x).sum())(dg.randn(2, 3))


def test_random_draws_are_refused_and_the_generator_advances_as_eager():
    lin = nn.Linear(3, 3)
    dg.manual_seed(5)
    with pytest.raises(ValueError, match="random numbers were drawn"):
        dg.capture_step(lambda x: F.dropout(lin(x), 0.3).sum())(dg.randn(4, 3))
    drawn = dg.rand(2)
    dg.manual_seed(5)
    F.dropout(lin(dg.randn(4, 3)), 0.3).sum().backward()
    np.testing.assert_array_equal(dg.rand(2).numpy(), drawn.numpy())
    # draws that never reach the loss would still shift the stream of later eager draws
    with pytest.raises(ValueError, match="random numbers were drawn"):
        dg.capture_step(lambda x: (dg.randn(3), lin(x).sum())[1])(dg.randn(4, 3))


def test_dropout_in_eval_mode_replays():
    assert_replay_equals_eager(
        lambda: squared(nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5)).eval()),
        batches_of((2, 3)))


def test_branch_on_a_value_of_the_step_is_refused():
    lin = nn.Linear(3, 1)

    def branching(x):
        out = lin(x).sum()
        return out * 2 if x.sum() > 0 else out * 3  # rolled inputs keep the sum: no probe

    with pytest.raises(ValueError, match=r"__bool__\(\) of a tensor"):
        dg.capture_step(branching)(dg.randn(4, 3))

    def logging(x):
        out = lin(x).sum()
        print(float(out))
        return out

    with pytest.raises(ValueError, match="reads Python values"):
        dg.capture_step(logging)(dg.randn(4, 3))


def test_hooks_are_refused():
    model = nn.Sequential(nn.Linear(3, 3))
    seen = []
    handle = model[0].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    with pytest.raises(ValueError, match=r"hooks on module model\.0 \(Linear\)"):
        dg.capture_step(lambda x: model(x).sum())(dg.randn(2, 3))
    handle.remove()

    def retaining(x):
        h = model(x)
        h.retain_grad()
        return h.sum()

    with pytest.raises(ValueError, match="register_hook or retain_grad"):
        dg.capture_step(retaining)(dg.randn(2, 3))
    model[0].weight.register_post_accumulate_grad_hook(lambda p: seen.append(p))
    with pytest.raises(ValueError, match="register_post_accumulate_grad_hook"):
        dg.capture_step(lambda x: model(x).sum())(dg.randn(2, 3))


# ----------------------------------------------------------------------------- outside the step


def test_optimizer_state_schedulers_clipping_and_weight_decay_between_replays():
    def make():
        return squared(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(),
                                     nn.Linear(8, 2)))

    schedulers = {}

    def adam(params):
        opt = dg.optim.AdamW(params, lr=0.05, weight_decay=0.1)
        schedulers["lr"] = dg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        return opt

    def between(model, opt):
        nn.utils.clip_grad_norm_(model.parameters(), 0.05)

    def after():
        schedulers["lr"].step()

    batches = batches_of((6, 4), n=6)
    eager = train(make, batches, False, optimizer=adam, between=between, after=after)
    eager_lr = schedulers["lr"].get_last_lr()
    replayed = train(make, batches, True, optimizer=adam, between=between, after=after)
    assert eager[0] == replayed[0]
    for key in eager[1]:
        np.testing.assert_array_equal(eager[1][key], replayed[1][key], err_msg=key)
    for (p, q) in zip(eager[2].parameters(), replayed[2].parameters(), strict=True):
        a, b = eager[3].state[p], replayed[3].state[q]
        assert int(a["step"]) == int(b["step"]) == 6
        np.testing.assert_array_equal(a["exp_avg_sq"].numpy(), b["exp_avg_sq"].numpy())
    assert eager_lr == schedulers["lr"].get_last_lr()


@pytest.mark.parametrize("case", ["spectral_norm", "embedding_max_norm", "rrelu", "lstm_dropout"])
def test_library_modules_with_effects_outside_ops_are_refused(case):
    dg.manual_seed(0)
    if case == "spectral_norm":  # power iteration updates the _u and _v buffers
        model, x, match = nn.utils.parametrizations.spectral_norm(nn.Linear(4, 3)), dg.randn(
            2, 4), r"buffer model\.parametrizations\.weight\.0\._u"
    elif case == "embedding_max_norm":  # rows renormalized in place (at capture or later)
        model, x, match = nn.Embedding(10, 4, max_norm=100.0), dg.tensor([1, 2]), "max_norm"
    elif case == "rrelu":  # random slopes in training
        model, x, match = nn.Sequential(nn.Linear(4, 3), nn.RReLU()), dg.randn(2, 4), "random"
    else:
        model, x, match = nn.LSTM(4, 3, num_layers=2, dropout=0.5), dg.randn(5, 2, 4), "random"

    def loss_fn(x):
        out = model(x)
        return (out[0] if isinstance(out, tuple) else out).sum()

    with pytest.raises(ValueError, match=match):
        dg.capture_step(loss_fn)(x)


def test_instance_norm_running_statistics_match_pytorch_after_replays():
    torch = pytest.importorskip("torch")
    batches = batches_of((3, 2, 7), n=4, seed=4)
    def make():
        return squared(nn.InstanceNorm1d(2, momentum=0.3, affine=True, track_running_stats=True))

    _, state, _, _ = assert_replay_equals_eager(make, batches)[1]
    norm = torch.nn.InstanceNorm1d(2, momentum=0.3, affine=True, track_running_stats=True)
    for (x,) in batches:
        norm(torch.from_numpy(x.numpy()))
    np.testing.assert_allclose(state["running_mean"], norm.running_mean.numpy(), rtol=1e-6,
                               atol=1e-7)
    np.testing.assert_allclose(state["running_var"], norm.running_var.numpy(), rtol=1e-6)


def test_reads_inside_a_function_forward_are_replayed_not_refused():
    class Clip(dg.autograd.Function):  # reads a value in its forward: every replay runs it
        @staticmethod
        def forward(ctx, x):
            top = float(x.abs().max())
            ctx.top = top
            return x / top

        @staticmethod
        def backward(ctx, g):
            return g / ctx.top

    w = dg.ones(3, requires_grad=True)
    step = dg.capture_step(lambda x: Clip.apply(w * x).sum())
    for scale in (1.0, 3.0, 0.5):
        x = dg.tensor([1.0, -2.0, 0.5]) * scale
        w.grad = None
        got = step(x).item(), w.grad.numpy().copy()
        w.grad = None
        loss = Clip.apply(w * x).sum()
        loss.backward()
        assert got[0] == loss.item()
        np.testing.assert_array_equal(got[1], w.grad.numpy())
