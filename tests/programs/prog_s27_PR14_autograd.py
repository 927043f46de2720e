"""Autograd and module-plumbing snippets (PR14, session 27), written afresh in the style of
forum answers: clone / detach / requires_grad_ / retain_grad and the non-leaf .grad warning,
hooks on tensors that print or rescale gradients, gradient accumulation and the second-backward
error, freezing layers and counting parameters, weight-init loops with nn.init over every
module, copying weights between models, state_dict key surgery (the ``module.`` prefix, renamed
and dropped keys, strict=False), no_grad / inference_mode / enable_grad, and manual_seed
reproducibility checks. Each prints what such answers print. Tiny sizes, seeded; run by
prog_s27_PR14_all.py.
"""

import copy
from collections import OrderedDict

import torch
import torch.nn as nn
from prog_s25_PR9_harness import printed


def section_clone_detach() -> None:
    with printed("cld.log"):
        a = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        b = a.clone()
        c = a.detach()
        print(b.requires_grad, b.grad_fn is not None, c.requires_grad, c.grad_fn)
        c[0] = 10
        print(a)
        d = a.detach().clone()
        d[1] = -1
        print(a.data, d)
        print(a.is_leaf, b.is_leaf, c.is_leaf, (a * 2).is_leaf)
        y = (b ** 2).sum()
        y.backward()
        print(a.grad, b.grad)
        e = torch.zeros(2)
        print(e.requires_grad_(), e.requires_grad_(False).requires_grad)
        try:
            (a * 2).requires_grad_(False)
        except RuntimeError as err:
            print("RuntimeError", "non-leaf" in str(err))
        w = torch.ones(2, requires_grad=True)
        try:
            w.numpy()
        except RuntimeError as err:
            print("RuntimeError", "detach" in str(err))
        print(w.detach().numpy(), w.tolist(), w.data.numpy().dtype)
        try:
            w += 1
        except RuntimeError as err:
            print("RuntimeError", "leaf Variable" in str(err))
        with torch.no_grad():
            w += 1
        print(w, w.requires_grad)
        print(torch.tensor(a), torch.as_tensor(a).requires_grad)


def section_retain_hooks() -> None:
    with printed("hook.log"):
        x = torch.tensor([1.0, 2.0], requires_grad=True)
        h = x * 3
        h.retain_grad()
        z = h * h
        z.register_hook(lambda g: print("grad of z", g))
        handle = x.register_hook(lambda g: g * 2)
        z.sum().backward()
        print(x.grad, h.grad, h.retains_grad, z.retains_grad)
        handle.remove()
        x.grad = None
        (x * 3).pow(2).sum().backward()
        print(x.grad)
        seen = []
        y = torch.tensor([0.5, -1.0], requires_grad=True)
        out = torch.relu(y)
        out.register_hook(lambda g: seen.append(g.clone()))
        (out * torch.tensor([2.0, 3.0])).sum().backward()
        print(seen, y.grad)
        grads = {}

        def save(name):
            def hook(g):
                grads[name] = g
            return hook

        p = torch.tensor([1.0, 2.0], requires_grad=True)
        q = p.exp()
        q.register_hook(save("q"))
        q.sum().backward()
        print({k: v.round(decimals=4) for k, v in grads.items()})
        clip = torch.tensor([1.0, 2.0], requires_grad=True)
        clip.register_hook(lambda g: g.clamp(-1, 1))
        (clip * 10).sum().backward()
        print(clip.grad)
        lin = nn.Linear(2, 1)
        with torch.no_grad():
            lin.weight.fill_(1.0)
            lin.bias.zero_()
        lin.weight.register_hook(lambda g: g * 0)
        lin(torch.ones(1, 2)).sum().backward()
        print(lin.weight.grad, lin.bias.grad)


def section_nonleaf_grad() -> None:
    with printed("nlg.log"):
        x = torch.ones(2, requires_grad=True)
        y = x * 2
        y.sum().backward()
        print(y.grad)
        print(x.grad)
        out = x.sum()
        out.backward(retain_graph=True)
        out.backward()
        print(x.grad)
        x.grad.zero_()
        print(x.grad)
        loss = (x * x).sum()
        loss.backward()
        try:
            loss.backward()
        except RuntimeError as err:
            print("RuntimeError", "second time" in str(err))
        try:
            torch.ones(2, requires_grad=True).mul(2).backward()
        except RuntimeError as err:
            print("RuntimeError", "scalar outputs" in str(err))
        v = torch.ones(2, requires_grad=True)
        (v * 3).backward(torch.tensor([1.0, 0.5]))
        print(v.grad)
        try:
            torch.ones(2).sum().backward()
        except RuntimeError as err:
            print("RuntimeError", "does not require grad" in str(err))
        g, = torch.autograd.grad((v ** 3).sum(), v, create_graph=True)
        g2, = torch.autograd.grad(g.sum(), v)
        print(g, g2)
        k = torch.tensor(2.0, requires_grad=True)
        for _ in range(3):
            (k * k).backward()
        print(k.grad)


def section_grad_modes() -> None:
    lin = nn.Linear(3, 2)
    x = torch.ones(1, 3)
    with printed("gm.log"):
        with torch.no_grad():
            out = lin(x)
            print(out.requires_grad, torch.is_grad_enabled())
            with torch.enable_grad():
                print(lin(x).requires_grad)
        with torch.inference_mode():
            inf = lin(x)
        print(inf.requires_grad, inf.is_inference(), torch.is_inference_mode_enabled())
        try:
            nn.Linear(2, 2)(inf).sum().backward()
        except RuntimeError as err:
            print("RuntimeError", "Inference tensors" in str(err))
        torch.set_grad_enabled(False)
        print(lin(x).requires_grad)
        torch.set_grad_enabled(True)
        print(lin(x).requires_grad)

        @torch.no_grad()
        def predict(m, inp):
            return m(inp)

        print(predict(lin, x).requires_grad, predict.__name__)
        with torch.set_grad_enabled(False):
            print((lin.weight * 2).requires_grad)
        lin.eval()
        print(lin.training, lin(x).requires_grad)


def section_freeze() -> None:
    torch.manual_seed(21)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    with printed("frz.log"):
        for param in model[0].parameters():
            param.requires_grad = False
        model[2].requires_grad_(False)
        total = sum(p.numel() for p in model.parameters())
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        print(f"Total params: {total:,} | Trainable: {trainable:,} | Frozen: {total - trainable}")
        for name, p in model.named_parameters():
            print(f"{name:10s} {str(tuple(p.shape)):8s} {p.requires_grad}")
        opt = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.1)
        print(len(opt.param_groups[0]["params"]))
        before = model[0].weight.clone()
        loss = model(torch.randn(3, 4)).pow(2).mean()
        loss.backward()
        opt.step()
        print(model[0].weight.grad, torch.equal(before, model[0].weight),
              model[4].weight.grad is not None)
        for name, child in model.named_children():
            print(name, type(child).__name__, any(p.requires_grad for p in child.parameters()))
        for p in model.parameters():
            p.requires_grad_(True)
        print(sum(p.requires_grad for p in model.parameters()))
        bn = nn.BatchNorm1d(3)
        bn.eval()
        print(bn.training, bn.weight.requires_grad, sum(b.numel() for b in bn.buffers()))


def section_count_params() -> None:
    torch.manual_seed(22)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(),
                        nn.Linear(8 * 4 * 4, 10))
    with printed("cnt.log"):
        print(sum(p.numel() for p in net.parameters()))
        print(sum(p.numel() for p in net.parameters() if p.requires_grad))
        print(sum(b.numel() for b in net.buffers()))
        for name, p in net.named_parameters():
            print(name, list(p.shape), p.numel())
        print({k: v.shape for k, v in net.state_dict().items()})
        print(f"{sum(p.numel() for p in net.parameters()) / 1e3:.1f}K")
        print(len(list(net.parameters())), len(list(net.modules())), len(net.state_dict()))
        size_bytes = sum(p.numel() * p.element_size() for p in net.parameters())
        print(f"{size_bytes / 1024:.2f} KB")
        emb = nn.Embedding(100, 16, padding_idx=0)
        print(emb.weight.numel(), emb.weight[0].abs().sum())
        shared = nn.Linear(4, 4)
        tied = nn.Sequential(shared, shared)
        print(sum(p.numel() for p in tied.parameters()), len(list(tied.named_parameters())),
              len(tied.state_dict()))
        print(nn.Linear(5, 3, bias=False).weight.shape, nn.LSTM(4, 6).weight_ih_l0.shape)


def section_init_loop() -> None:
    torch.manual_seed(23)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                          nn.Linear(4, 3), nn.LayerNorm(3), nn.Linear(3, 2))
    with printed("init.log"):
        def init_weights(m):
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.constant_(m.bias, 0.01)
            elif isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

        print(model.apply(init_weights) is model)
        for name, p in model.named_parameters():
            print(name, p.abs().max().round(decimals=4), p.mean().round(decimals=4))
        for m in model.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
                m.bias.data.fill_(0.1)
        print(model[4].weight.round(decimals=4), model[6].bias)
        w = torch.empty(3, 5)
        nn.init.uniform_(w, -0.1, 0.1)
        print(w.round(decimals=4))
        print(nn.init.calculate_gain("relu"), nn.init.calculate_gain("leaky_relu", 0.2),
              nn.init.calculate_gain("tanh"))
        nn.init.orthogonal_(w)
        print(torch.allclose(w @ w.T, torch.eye(3), atol=1e-5), w.shape)
        nn.init.eye_(w)
        print(w)
        d = torch.empty(2, 2, 3)
        nn.init.dirac_(d)
        print(d)
        nn.init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)
        print(w.abs().max() <= 0.04, w.round(decimals=4))
        nn.init.xavier_normal_(w, gain=2.0)
        print(w.round(decimals=4))
        nn.init.kaiming_uniform_(w, a=5 ** 0.5)
        print(w.round(decimals=4))
        print(nn.init.sparse_(torch.empty(4, 3), sparsity=0.5).eq(0).sum(0))


def section_copy_weights() -> None:
    torch.manual_seed(24)
    src = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    dst = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = torch.randn(2, 3)
    with printed("copy.log"):
        print(torch.equal(src(x), dst(x)))
        print(dst.load_state_dict(src.state_dict()))
        print(torch.equal(src(x), dst(x)))
        twin = copy.deepcopy(src)
        with torch.no_grad():
            twin[0].weight.add_(1)
        print(torch.equal(twin[0].weight, src[0].weight),
              twin[0].weight.data_ptr() != src[0].weight.data_ptr())
        third = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        with torch.no_grad():
            for p_dst, p_src in zip(third.parameters(), src.parameters()):
                p_dst.copy_(p_src)
        print(all(torch.equal(a, b) for a, b in zip(third.parameters(), src.parameters())))
        ema = copy.deepcopy(src)
        for p in ema.parameters():
            p.requires_grad_(False)
        with torch.no_grad():
            for pe, ps in zip(ema.parameters(), twin.parameters()):
                pe.mul_(0.9).add_(ps, alpha=0.1)
        print(ema[0].weight[0].round(decimals=4), ema[0].weight.requires_grad)
        third[2].weight = src[2].weight
        print(third[2].weight is src[2].weight)
        bigger = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 5))
        try:
            bigger.load_state_dict(src.state_dict())
        except RuntimeError as err:
            print("RuntimeError", "size mismatch for 2.weight" in str(err))
        sd = {k: v for k, v in src.state_dict().items() if not k.startswith("2.")}
        res = bigger.load_state_dict(sd, strict=False)
        print(res.missing_keys, res.unexpected_keys, torch.equal(bigger[0].bias, src[0].bias))
        sd_ref = src.state_dict()
        sd_ref["0.bias"].zero_()
        print(src[0].bias, src.state_dict(keep_vars=True)["0.bias"].requires_grad)


def section_state_surgery() -> None:
    torch.manual_seed(25)
    net = nn.Sequential(OrderedDict(fc1=nn.Linear(2, 3), act=nn.Tanh(), fc2=nn.Linear(3, 1)))
    with printed("surg.log"):
        wrapped = OrderedDict(("module." + k, v) for k, v in net.state_dict().items())
        print(list(wrapped))
        clean = OrderedDict((k.replace("module.", "", 1), v) for k, v in wrapped.items())
        print(net.load_state_dict(clean))
        stripped = {k[len("module."):] if k.startswith("module.") else k: v
                    for k, v in wrapped.items()}
        print(sorted(stripped) == sorted(net.state_dict()))
        renamed = {k.replace("fc2", "head"): v for k, v in net.state_dict().items()}
        res = net.load_state_dict(renamed, strict=False)
        print(res)
        print(res.missing_keys, res.unexpected_keys)
        try:
            net.load_state_dict(renamed)
        except RuntimeError as err:
            first = str(err).splitlines()
            print("RuntimeError", first[0].strip(), "head.weight" in str(err))
        sd = net.state_dict()
        print(type(sd).__name__, list(sd.keys()), sd["fc1.weight"].shape)
        print(sd["fc1.bias"].requires_grad, sd["fc1.bias"].grad_fn)
        del sd["fc2.bias"]
        print(net.load_state_dict(sd, strict=False).missing_keys)
        sd2 = net.state_dict()
        sd2["fc1.weight"] = sd2["fc1.weight"] * 0
        net.load_state_dict(sd2)
        print(net.fc1.weight.abs().sum(), list(net._modules))
        named = dict(net.named_parameters())
        print(list(named), named["fc2.weight"] is net.fc2.weight)
        print(net.get_submodule("fc2"), net.get_parameter("fc1.bias").shape)
        print(sd2.get("missing", "absent"), "fc1.weight" in sd2, len(sd2))
        meta = getattr(net.state_dict(), "_metadata", None)
        print(meta is not None and "" in meta)


def section_seed_repro() -> None:
    with printed("seed.log"):
        torch.manual_seed(42)
        a = torch.randn(3)
        torch.manual_seed(42)
        b = torch.randn(3)
        print(a, torch.equal(a, b))
        print(torch.initial_seed())
        g = torch.Generator().manual_seed(7)
        x1 = torch.rand(2, generator=g)
        g.manual_seed(7)
        x2 = torch.rand(2, generator=g)
        print(x1, torch.equal(x1, x2), g.initial_seed())
        state = torch.get_rng_state()
        r1 = torch.randint(0, 10, (5,))
        torch.set_rng_state(state)
        r2 = torch.randint(0, 10, (5,))
        print(r1, torch.equal(r1, r2), state.dtype, state.shape)
        torch.manual_seed(0)
        print(torch.randperm(6), torch.rand(2), torch.randint(5, (3,)), torch.randn(2, 2))
        torch.manual_seed(0)
        drop = torch.nn.Dropout(0.5)
        print(drop(torch.ones(8)))
        torch.manual_seed(1)
        lin1 = torch.nn.Linear(2, 2)
        torch.manual_seed(1)
        lin2 = torch.nn.Linear(2, 2)
        print(torch.equal(lin1.weight, lin2.weight), lin1.weight)
        torch.manual_seed(3)
        print(torch.multinomial(torch.tensor([0.1, 0.2, 0.7]), 4, replacement=True),
              torch.bernoulli(torch.full((5,), 0.5)), torch.normal(0.0, 1.0, (2,)))
        print(torch.empty(3).uniform_(0, 1).shape, torch.randn(2, dtype=torch.float64))
        torch.use_deterministic_algorithms(True)
        print(torch.are_deterministic_algorithms_enabled())
        torch.use_deterministic_algorithms(False)
        print(torch.randint_like(torch.zeros(3), 10).dtype, torch.rand_like(torch.zeros(2)).shape)


SECTIONS = {
    "clone_detach": section_clone_detach, "retain_hooks": section_retain_hooks,
    "nonleaf_grad": section_nonleaf_grad, "grad_modes": section_grad_modes,
    "freeze": section_freeze, "count_params": section_count_params,
    "init_loop": section_init_loop, "copy_weights": section_copy_weights,
    "state_surgery": section_state_surgery, "seed_repro": section_seed_repro,
}
