"""RNG-state and determinism programs (PR17, session 27), written afresh the way public
training scripts save and restore randomness: torch.get_rng_state / set_rng_state around a
dropout call, Generator get_state / set_state / clone_state and initial_seed, torch.random
.fork_rng, manual_seed then dropout / randperm / multinomial / normal_ / bernoulli_ /
randint reproduced, a checkpoint that restores the RNG state mid-training, and the determinism
flags programs read and set (use_deterministic_algorithms, backends.cudnn, seed helpers).
Seeded; run by prog_s27_PR17_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put


def draws(gen=None):
    x = torch.empty(3).normal_(generator=gen)
    p = torch.empty(4).bernoulli_(0.5, generator=gen)
    perm = torch.randperm(5, generator=gen)
    m = torch.multinomial(torch.tensor([0.1, 0.2, 0.7]), 4, replacement=True, generator=gen)
    r = torch.randint(0, 10, (3,), generator=gen)
    return x, p, perm, m, r


def same(a, b):
    return all(torch.equal(u, v) for u, v in zip(a, b))


def section_rng_state() -> None:
    with printed("rs.log"):
        torch.manual_seed(0)
        print("initial_seed", torch.initial_seed())
        state = torch.get_rng_state()
        print("state", state.dtype, state.shape, state.device)
        first = draws()
        torch.set_rng_state(state)
        second = draws()
        print("replayed", same(first, second))
        torch.manual_seed(0)
        drop1 = F.dropout(torch.ones(8), 0.5)
        torch.manual_seed(0)
        drop2 = nn.Dropout(0.5)(torch.ones(8))
        print("dropout", torch.equal(drop1, drop2), drop1.unique().tolist())
        torch.manual_seed(5)
        a = torch.rand(2)
        s = torch.random.get_rng_state()
        b = torch.rand(2)
        torch.random.set_rng_state(s)
        print("mid restore", torch.equal(b, torch.rand(2)), torch.equal(a, b))
        with torch.random.fork_rng():
            torch.manual_seed(123)
            inside = torch.rand(2)
        after = torch.rand(2)
        torch.random.set_rng_state(s)
        torch.rand(2)
        print("fork_rng isolates", torch.equal(after, torch.rand(2)), inside.shape)
        with torch.random.fork_rng(enabled=False):
            torch.rand(1)
        seed = torch.seed()
        print("seed() type", type(seed).__name__, torch.initial_seed() == seed)
        try:
            torch.set_rng_state(torch.zeros(3))
        except (RuntimeError, TypeError, ValueError) as e:
            print("bad state", type(e).__name__)
        torch.manual_seed(7)
        put("rs.x", first[0])


def section_generators() -> None:
    with printed("gs.log"):
        g = torch.Generator().manual_seed(42)
        print("initial_seed", g.initial_seed(), g.device)
        st = g.get_state()
        a = draws(g)
        g.set_state(st)
        print("generator replay", same(a, draws(g)))
        g2 = torch.Generator()
        g2.set_state(st)
        print("other generator", same(a, draws(g2)))
        c = g.clone_state()
        print("clone_state", type(c).__name__, torch.equal(torch.rand(3, generator=c),
                                                          torch.rand(3, generator=g)))
        torch.manual_seed(42)
        print("global == seeded generator", torch.equal(torch.randn(4), torch.randn(
            4, generator=torch.Generator().manual_seed(42))))
        torch.manual_seed(1)
        gen = torch.Generator().manual_seed(1)
        print("randperm", torch.randperm(6).tolist(), torch.randperm(6, generator=gen).tolist())
        loader = torch.utils.data.DataLoader(list(range(6)), batch_size=2, shuffle=True,
                                             generator=torch.Generator().manual_seed(3))
        e1 = [b.tolist() for b in loader]
        loader.generator.manual_seed(3)
        print("loader order", e1 == [b.tolist() for b in loader])
        print("default_generator", torch.default_generator.initial_seed())
        put("gs.a", a[0])


def section_resume_rng() -> None:
    def train(steps, model, opt, resume=None):
        if resume is not None:
            torch.set_rng_state(resume)
        losses = []
        for _ in range(steps):
            x = torch.randn(4, 3)
            loss = F.dropout(model(x), 0.3).pow(2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(round(loss.item(), 5))
        return losses

    with printed("rr.log"):
        torch.manual_seed(11)
        model = nn.Linear(3, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        full = train(4, model, opt)
        torch.manual_seed(11)
        model = nn.Linear(3, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        head = train(2, model, opt)
        ckpt = {"model": model.state_dict(), "opt": opt.state_dict(),
                "rng": torch.get_rng_state()}
        torch.manual_seed(999)
        model2 = nn.Linear(3, 2)
        model2.load_state_dict(ckpt["model"])
        opt2 = torch.optim.SGD(model2.parameters(), lr=0.1)
        opt2.load_state_dict(ckpt["opt"])
        tail = train(2, model2, opt2, resume=ckpt["rng"])
        print("full", full)
        print("resumed", head + tail, full == head + tail)
        put("rr.w", model2.weight)


def section_determinism() -> None:
    with printed("dt.log"):
        print("deterministic", torch.are_deterministic_algorithms_enabled(),
              torch.is_deterministic_algorithms_warn_only_enabled())
        torch.use_deterministic_algorithms(True)
        print("on", torch.are_deterministic_algorithms_enabled())
        x = torch.zeros(5).index_add_(0, torch.tensor([0, 0, 1]), torch.ones(3))
        print("index_add", x)
        torch.use_deterministic_algorithms(True, warn_only=True)
        print("warn_only", torch.is_deterministic_algorithms_warn_only_enabled())
        torch.use_deterministic_algorithms(False)
        print("off", torch.are_deterministic_algorithms_enabled())
        print("cudnn", torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        print("set", torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
        torch.backends.cudnn.deterministic = False
        print("cuda", torch.cuda.is_available(), "mps", torch.backends.mps.is_available())
        print("mode", torch.get_deterministic_debug_mode())
        torch.set_deterministic_debug_mode("warn")
        print("mode warn", torch.get_deterministic_debug_mode())
        torch.set_deterministic_debug_mode(0)
        print("float32 matmul", torch.get_float32_matmul_precision())
        print("default dtype", torch.get_default_dtype())
        torch.set_default_dtype(torch.float64)
        print("float64 default", torch.tensor([1.0]).dtype, torch.zeros(1).dtype,
              torch.tensor([1]).dtype, torch.arange(2.0).dtype)
        torch.set_default_dtype(torch.float32)
        print("threads > 0", torch.get_num_threads() > 0)
        put("dt.x", x)


SECTIONS = {
    "rng_state": section_rng_state, "generators": section_generators,
    "resume_rng": section_resume_rng, "determinism": section_determinism,
}
