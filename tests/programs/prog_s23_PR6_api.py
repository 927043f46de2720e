"""API corners of scripts around models, afresh (PR6, session 23): autograd idioms (no_grad as a
decorator, inference_mode, set_grad_enabled, retain_graph / create_graph, tensor hooks that
scale and are removed, grads with allow_unused / materialize_grads, views and ``_base``,
the errors of a second backward, of an implicit non-scalar gradient and of an in-place op on a
leaf); optimizer corners (named parameters, maximize, dampening, step pre / post hooks, a
closure, LBFGS with strong Wolfe line search, a custom LRScheduler subclass, SWALR with
AveragedModel's EMA and update_bn, Rprop / NAdam / RAdam / ASGD / Adagrad state); data corners
(namedtuple batches, StackDataset batched through a nested ``__getitems__``, ChainDataset,
DistributedSampler shards, SubsetRandomSampler, ``batch_size=None``); and indexing corners
(index_put_ with accumulate, masked assignment with broadcasting, duplicate-index ``+=``,
histogram densities, histogramdd, torch.gradient with coordinates, pad modes, mixed advanced
indexing). Tiny sizes; run by prog_s23_PR6_all.py.
"""

from collections import namedtuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put
from torch.utils import data


def _error(fn):
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        # (the first built-in class of its MRO: deltagrad's ShapeError is a RuntimeError and
        # also a ValueError, by design: _engine/errors.py)
        return next(k.__name__ for k in type(error).__mro__ if k.__module__ == "builtins")
    return "no error"


def section_autograd_idioms() -> None:
    @torch.no_grad()
    def evaluate(model, x):
        return model(x)

    model = nn.Linear(3, 2)
    x = torch.randn(4, 3)
    put("ag.decorated", [evaluate(model, x).requires_grad, model(x).requires_grad])
    with torch.inference_mode():
        y = model(x)
    put("ag.inference", [y.requires_grad, y.is_inference(), torch.is_inference_mode_enabled()])
    put("ag.inference_mixed", _error(lambda: (y * model.weight.sum()).sum().backward()))
    with torch.set_grad_enabled(False):
        z = model(x)
    put("ag.set_grad", [z.requires_grad, torch.is_grad_enabled()])
    w = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (w ** 3).sum()
    (g,) = torch.autograd.grad(loss, w, create_graph=True)
    (g2,) = torch.autograd.grad(g.sum(), w, retain_graph=True)
    put("ag.higher", [g, g2])
    loss = (w ** 2).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    put("ag.accumulated", w.grad)
    put("ag.second_backward", _error(lambda: loss.backward()))
    put("ag.non_scalar", _error(lambda: (w * 2).backward()))
    put("ag.leaf_inplace", _error(lambda: w.add_(1)))
    w.grad = None
    handle = w.register_hook(lambda grad: grad * 10)
    (w * 2).sum().backward()
    handle.remove()
    (w * 2).sum().backward()
    put("ag.hooked", w.grad)
    v = torch.ones(3, requires_grad=True)
    put("ag.unused", [torch.autograd.grad((w * 2).sum(), [w, v], allow_unused=True,
                                          materialize_grads=True),
                      torch.autograd.grad((w * 2).sum(), [w, v], allow_unused=True)[1] is None])
    put("ag.unused_error", _error(lambda: torch.autograd.grad((w * 2).sum(), [w, v])))
    base = torch.zeros(2, 3)
    view = base.view(6)
    view[0] = 5
    put("ag.views", [base, view._base is base, base._base is None, base[0].is_contiguous(),
                     base.t().is_contiguous()])
    leaf = torch.arange(5.0, requires_grad=True)
    copy = leaf.clone()
    copy[1:3] = 0
    copy.sum().backward()
    put("ag.clone_slice_grad", leaf.grad)
    s = torch.randn(3, requires_grad=True)
    out = s.sigmoid()
    out.mul_(2)
    put("ag.modified_saved", _error(lambda: out.sum().backward()))
    e = torch.randn(3, requires_grad=True)
    out = e.exp()
    out.add_(1)  # exp's backward reads its result: modified, so backward must refuse
    put("ag.modified_exp", _error(lambda: out.sum().backward()))
    d = torch.ones(2, requires_grad=True)
    d.data.add_(1)
    det = d.detach()
    det.mul_(3)
    put("ag.data_detach", [d, d.requires_grad, det.requires_grad])


def section_optim_corners() -> None:
    x = torch.randn(8, 2)
    y = x.sum(1, keepdim=True)
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.named_parameters(), lr=0.1, momentum=0.9, dampening=0.1,
                          maximize=False)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss

    losses = [opt.step(closure).item() for _ in range(4)]
    put("opt.named", [torch.tensor(losses), str(opt.state_dict()["param_groups"][0]["params"]),
                      opt.state_dict()["param_groups"][0]["param_names"], calls])
    model = nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05, maximize=True, weight_decay=0.1)
    for _ in range(3):
        opt.zero_grad()
        (-F.mse_loss(model(x), y)).backward()
        opt.step()
    put("opt.maximize", [model.weight, opt.state_dict()["state"][0]["step"]])
    model = nn.Linear(2, 1)
    lbfgs = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=5, history_size=3,
                              line_search_fn="strong_wolfe")

    def lbfgs_closure():
        lbfgs.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss

    first = lbfgs.step(lbfgs_closure)
    put("opt.lbfgs", [first, model.weight, lbfgs.state_dict()["state"][0]["n_iter"],
                      lbfgs.state_dict()["state"][0]["func_evals"]])

    class Warmup(torch.optim.lr_scheduler.LRScheduler):
        def __init__(self, optimizer, steps):
            self.steps = steps
            super().__init__(optimizer)

        def get_lr(self):
            return [base * min(1.0, (self.last_epoch + 1) / self.steps) for base in self.base_lrs]

    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    warm = Warmup(opt, 3)
    swa_model = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9))
    swa_lr = torch.optim.swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=2,
                                         anneal_strategy="cos")
    lrs = []
    for step in range(7):
        opt.zero_grad()
        F.mse_loss(model(x), y).backward()
        opt.step()
        if step < 3:
            warm.step()
        else:
            swa_model.update_parameters(model)
            swa_lr.step()
        lrs.append(opt.param_groups[0]["lr"])
    put("opt.schedules", [torch.tensor(lrs, dtype=torch.float64), warm.last_epoch,
                          swa_model.n_averaged, swa_model.module.weight,
                          sorted(swa_model.state_dict())])
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    torch.optim.swa_utils.update_bn([torch.randn(4, 2) for _ in range(3)], net)
    put("opt.update_bn", [net[1].running_mean, net[1].running_var, net[1].num_batches_tracked])
    states = {}
    for name, make in (("rprop", lambda p: torch.optim.Rprop(p, lr=0.1, etas=(0.3, 1.5))),
                       ("nadam", lambda p: torch.optim.NAdam(p, lr=0.1, weight_decay=0.1,
                                                             decoupled_weight_decay=True)),
                       ("radam", lambda p: torch.optim.RAdam(p, lr=0.1)),
                       ("asgd", lambda p: torch.optim.ASGD(p, lr=0.1, t0=2)),
                       ("adagrad", lambda p: torch.optim.Adagrad(p, lr=0.1,
                                                                 initial_accumulator_value=0.5))):
        p = torch.ones(3, requires_grad=True)
        opt = make([p])
        for _ in range(7):
            opt.zero_grad()
            ((p - torch.tensor([1.5, -2.0, 0.5])) ** 2).sum().backward()
            opt.step()
        states[name] = p
        put(f"opt.state.{name}", sorted(opt.state_dict()["state"][0]))
    put("opt.params", [states[k] for k in sorted(states)])
    put("opt.errors", [_error(lambda: torch.optim.SGD([], lr=0.1)),
                       _error(lambda: torch.optim.SGD(torch.ones(2, requires_grad=True))),
                       _error(lambda: torch.optim.Adam([torch.ones(1, requires_grad=True)],
                                                       betas=(1.0, 0.9))),
                       _error(lambda: torch.optim.SGD([torch.ones(1, requires_grad=True)],
                                                      lr=-1))])


Pair = namedtuple("Pair", "features label")


class Batched(data.Dataset):
    """A store whose batched fetch is its own (as a remote or columnar store's)."""

    def __len__(self):
        return 6

    def __getitem__(self, index):
        return torch.tensor([index, 0])

    def __getitems__(self, indices):
        return list(torch.tensor(indices).unsqueeze(1) * torch.tensor([[1, 10]]))


class Counter(data.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))


def section_data_corners() -> None:
    batch = data.default_collate([Pair(torch.ones(2), 1), Pair(torch.zeros(2), 0)])
    put("dc.namedtuple", [type(batch).__name__, batch.features, batch.label])
    stacked = data.StackDataset(store=Batched(), index=torch.arange(6) * 2)
    loader = data.DataLoader(stacked, batch_size=4)
    put("dc.stack", [[b["store"] for b in loader], [b["index"] for b in loader]])
    put("dc.stack_item", list(stacked[3].values()))
    put("dc.chain", list(data.ChainDataset([Counter(2), Counter(3)])))
    shards = []
    for rank in range(3):
        sampler = data.DistributedSampler(list(range(10)), num_replicas=3, rank=rank,
                                          shuffle=True, seed=5)
        sampler.set_epoch(2)
        shards.append(list(sampler))
    put("dc.distributed", [shards, len(sampler)])
    fixed = data.DistributedSampler(list(range(10)), num_replicas=3, rank=2, shuffle=False,
                                    drop_last=True)
    put("dc.distributed_fixed", list(fixed))
    subset = data.SubsetRandomSampler([5, 6, 7, 8], generator=torch.Generator().manual_seed(1))
    put("dc.subset_random", [list(subset), list(subset)])
    unbatched = data.DataLoader(data.TensorDataset(torch.arange(5.0)), batch_size=None)
    put("dc.unbatched", [list(unbatched)[:2], len(unbatched)])
    strings = data.DataLoader(["x", "yy", "zzz"], batch_size=2)
    put("dc.strings", [str(b) for b in strings])
    dicts = data.DataLoader([{"a": 1, "b": [1.0, 2.0]}, {"a": 2, "b": [3.0, 4.0]}],
                            batch_size=2)
    one = next(iter(dicts))
    put("dc.dict_lists", [one["a"], one["b"]])
    torch.manual_seed(3)
    shuffled = data.DataLoader(data.TensorDataset(torch.arange(10)), batch_size=3, shuffle=True)
    put("dc.global_shuffle", [b[0] for b in shuffled] + [b[0] for b in shuffled])
    put("dc.errors", [_error(lambda: data.TensorDataset(torch.arange(3), torch.arange(4))),
                      _error(lambda: data.random_split(range(10), [5, 4])),
                      _error(lambda: data.default_collate([torch.ones(2), torch.ones(3)])),
                      _error(lambda: data.DataLoader(range(4), shuffle=True,
                                                     sampler=data.SequentialSampler(range(4))))])


def section_index_corners() -> None:
    x = torch.zeros(5)
    x.index_put_((torch.tensor([0, 0, 2]),), torch.tensor([1.0, 2.0, 3.0]), accumulate=True)
    y = torch.zeros(5)
    y[torch.tensor([1, 1, 3])] += 1  # duplicates: each written once, not accumulated
    m = torch.zeros(3, 4)
    m[torch.tensor([True, False, True])] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    grid = torch.arange(12.0).view(3, 4)
    grid[:, 1::2] *= -1
    grid[grid < -5] = 0
    grid[[0, 2], [1, 3]] = torch.tensor([100.0, 200.0])
    put("ix.writes", [x, y, m, grid])
    cube = torch.arange(24).view(2, 3, 4)
    put("ix.reads", [cube[[0, 1], :, [1, 2]], cube[:, [True, False, True]],
                     cube[torch.tensor([[0], [1]]), torch.tensor([0, 2])], cube[1, ..., -1],
                     list(cube[None, 0, None].shape), list(cube[..., None, 1::2].shape)])
    values = torch.tensor([0.1, 0.5, 0.7, 2.0])
    hist = torch.histogram(values, bins=3, weight=torch.tensor([1.0, 2.0, 3.0, 4.0]),
                           density=True)
    put("ix.histogram", [hist.hist, hist.bin_edges])
    hd = torch.histogramdd(torch.rand(20, 2), bins=[2, 3])
    put("ix.histogramdd", [hd.hist, hd.bin_edges])
    coords = torch.tensor([0.0, 1.0, 1.5, 3.5, 4.0])
    put("ix.gradient", [torch.gradient(coords ** 2, spacing=(coords,), edge_order=2)[0],
                        torch.gradient(torch.arange(12.0).view(3, 4) ** 2, spacing=[2.0, 0.5])])
    seq = torch.arange(6.0).view(1, 2, 3)
    put("ix.pads", [F.pad(seq, (2, 1), mode="reflect"), F.pad(seq, (1, 1, 1, 0),
                                                               mode="replicate"),
                    F.pad(seq.unsqueeze(0), (1, 2, 0, 1), mode="circular"),
                    F.pad(torch.arange(6).view(2, 3), (-1, 1), value=9)])
    put("ix.scatter", [torch.ones(2, 3).scatter(1, torch.tensor([[0, 0], [1, 2]]),
                                                torch.full((2, 2), 3.0), reduce="multiply"),
                       torch.ones(2, 3).scatter_(1, torch.tensor([[0, 0], [1, 2]]), 2.0,
                                                 reduce="add")])
    put("ix.combinatorics", [torch.cartesian_prod(torch.tensor([1, 2]), torch.tensor([3, 4])),
                             torch.combinations(torch.arange(4), 2),
                             torch.combinations(torch.arange(3), 2, with_replacement=True),
                             torch.tril_indices(3, 4, 1), torch.triu_indices(4, 3, -1),
                             torch.block_diag(torch.ones(2, 2), torch.tensor([[5.0]])),
                             torch.kron(torch.eye(2), torch.tensor([[1.0, 2.0], [3.0, 4.0]]))])
    put("ix.left_pad", nn.utils.rnn.pad_sequence([torch.ones(2), torch.ones(4) * 2],
                                                  batch_first=True, padding_side="left"))
    model = nn.Linear(3, 2)
    flat = nn.utils.parameters_to_vector(model.parameters())
    nn.utils.vector_to_parameters(flat * 2, model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), 0.1, norm_type=1.0)
    put("ix.vectors", [flat, model.weight, norm, model.weight.grad])
    model.weight.grad[0, 0] = float("nan")
    put("ix.nonfinite", _error(lambda: nn.utils.clip_grad_norm_(model.parameters(), 0.1,
                                                                 error_if_nonfinite=True)))


def section_robust_stats() -> None:
    # outlier clipping by quantiles (the rank q (n - 1) is computed in the input's dtype: the
    # float32 0.1 * 5 is 0.5, which "nearest" rounds to even), a smoothed signal by lerp_ as
    # an EMA, and a median-of-means estimate
    g = torch.Generator().manual_seed(12)
    values = torch.arange(6.0)
    put("robust.nearest", [torch.quantile(values, q, interpolation=mode)
                           for q in (0.1, 0.3, 0.5, 0.7, 0.9)
                           for mode in ("nearest", "lower", "higher", "midpoint", "linear")])
    noisy = torch.randn(200, generator=g) + torch.linspace(0, 4, 200)
    noisy[::37] += 25.0
    low, high = torch.quantile(noisy, torch.tensor([0.05, 0.95]))
    put("robust.clipped", noisy.clamp(low.item(), high.item())[::20])
    put("robust.bounds", [low, high, torch.nanquantile(torch.where(noisy > 20, torch.nan,
                                                                     noisy), 0.5)])
    ema = torch.zeros(())
    smooth = []
    for value in noisy:
        ema.lerp_(value, 0.1)
        smooth.append(ema.clone())
    put("robust.ema", torch.stack(smooth)[::10])
    put("robust.lerp", [torch.lerp(noisy[:8], noisy[8:16], 0.3),
                        torch.lerp(noisy[:8], noisy[8:16], torch.linspace(0, 1, 8))])
    blocks = noisy[:198].view(11, 18).mean(1)
    put("robust.median_of_means", [blocks.median(), noisy.median(), noisy.mean()])


SECTIONS = {
    "robust_stats": section_robust_stats,
    "autograd_idioms": section_autograd_idioms, "optim_corners": section_optim_corners,
    "data_corners": section_data_corners, "index_corners": section_index_corners,
}

if __name__ == "__main__":
    from prog_s23_PR6_harness import run

    run(SECTIONS)
