"""The topics of PyTorch's recipes and their tutorials, in our own code (PR20, session 29;
reworked in session 30 so as not to retype the tutorials the earlier families already run):
zeroing gradients (set_to_none), warmstarting a model from another's parameters with
strict=False, saving several models and optimizers in one file, the profiler recipe
(record_function, key_averages, what a CPU profile holds), automatic mixed precision on CPU
(autocast to bfloat16, GradScaler disabled), custom autograd Functions (a cubic fitted by
hand-written gradients, setup_context, once_differentiable, mark_non_differentiable,
gradcheck), nn.Module hooks (forward pre / post with kwargs, full backward hooks, tensor
hooks, state-dict hooks), parametrizations (a symmetric weight, Cayley and matrix-exponential
orthogonal maps, right_inverse, caching, orthogonal, removal), pruning (random / l1 /
ln-structured, global pruning, a custom method, remove), and torch.func (per-sample
gradients with vmap / grad / functional_call, ensembles with stack_module_state, jacobians
and hessians by jacrev / jacfwd / hessian / vmap). Run by prog_s29_PR20_all.py.
"""
# ruff: noqa: B007, E501, E731, E741, N802, N803, N806, UP031, UP032 - written as a reader types

import copy
import io

import torch
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize
import torch.nn.utils.prune as prune
from prog_s25_PR9_harness import printed, put
from torch import nn, optim
from torch.func import functional_call, grad, hessian, jacfwd, jacrev, stack_module_state, vmap


class PatchNet(nn.Module):
    """8x8 images -> 3 scores: two 3x3 convolutions around a pooling, then two dense layers."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 4, 3), nn.Conv2d(4, 6, 3)
        self.fc1, self.fc2 = nn.Linear(6, 12), nn.Linear(12, 3)

    def forward(self, images):
        hidden = F.relu(self.conv2(F.max_pool2d(F.relu(self.conv1(images)), 2)))
        return self.fc2(F.relu(self.fc1(hidden.flatten(1))))


def section_zero_grad() -> None:
    with printed("t20_zero.log"):
        net = PatchNet()
        criterion = nn.CrossEntropyLoss()
        optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
        print(net.conv1.weight.grad)
        inputs, labels = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 1])
        for rnd in range(2):
            losses = []
            for _ in range(3):
                optimizer.zero_grad()
                step_loss = criterion(net(inputs), labels)
                step_loss.backward()
                optimizer.step()
                losses.append(step_loss.item())
            print(f"round {rnd}: mean loss {sum(losses) / len(losses):.6f}")
        print(net.fc2.bias.grad)
        optimizer.zero_grad()
        print(net.fc2.bias.grad)
        net(inputs).sum().backward()
        optimizer.zero_grad(set_to_none=False)
        print(net.fc2.bias.grad, net.fc2.bias.grad.requires_grad)
        net(inputs).sum().backward()
        net.zero_grad()
        print(net.fc2.bias.grad)
        # accumulate gradients over micro-batches
        net2 = copy.deepcopy(net)
        opt2 = optim.SGD(net2.parameters(), lr=0.1)
        opt2.zero_grad()
        for k in range(2):
            (criterion(net2(inputs[2 * k:2 * k + 2]), labels[2 * k:2 * k + 2]) / 2).backward()
        g_acc = net2.fc2.weight.grad.clone()
        opt2.zero_grad()
        criterion(net2(inputs), labels).backward()
        print(torch.allclose(g_acc, net2.fc2.weight.grad, atol=1e-6))
        for p in net2.parameters():
            p.grad = None
        print(net2.fc1.weight.grad)


class NetA(nn.Module):
    """Shares conv1 / fc1 with NetB; its head is fc2 (3 classes), NetB's fc3 (5)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.fc1, self.fc2 = nn.Conv2d(1, 4, 3), nn.Linear(16, 8), nn.Linear(8, 3)


class NetB(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.fc1, self.fc3 = nn.Conv2d(1, 4, 3), nn.Linear(16, 8), nn.Linear(8, 5)


def section_warmstart() -> None:
    with printed("t20_warm.log"):
        netA = NetA()
        netB = NetB()
        buffer = io.BytesIO()
        torch.save(netA.state_dict(), buffer)
        buffer.seek(0)
        result = netB.load_state_dict(torch.load(buffer, weights_only=True), strict=False)
        print(result)
        print(result.missing_keys, result.unexpected_keys, torch.equal(netA.fc1.weight, netB.fc1.weight))
        buffer.seek(0)
        try:
            netB.load_state_dict(torch.load(buffer, weights_only=True))
        except RuntimeError as e:
            print(e)
        state = netA.state_dict()
        state["fc1.weight"] = torch.zeros(8, 10)
        try:
            netB.load_state_dict(state, strict=False)
        except RuntimeError as e:
            print(e)
        renamed = {k.replace("fc2", "fc3"): v for k, v in netA.state_dict().items() if not k.startswith("fc2")}
        print(netB.load_state_dict(renamed, strict=False))
        print(netB.load_state_dict({}, strict=False))
        # the model's own keys after load, and assign=True
        netC = NetB()
        print(netC.load_state_dict(netB.state_dict(), assign=True), netC.fc3.weight is not None)
        print(netC.fc1.weight.requires_grad, isinstance(netC.fc1.weight, nn.Parameter))


def section_multi() -> None:
    with printed("t20_multi.log"):
        netA = NetA()
        netB = NetB()
        optimizerA = optim.SGD(netA.parameters(), lr=0.001, momentum=0.9)
        optimizerB = optim.Adam(netB.parameters(), lr=0.01)
        for net, opt in ((netA, optimizerA), (netB, optimizerB)):
            opt.zero_grad()
            net.fc1(torch.randn(2, 16)).pow(2).sum().backward()
            opt.step()
        buffer = io.BytesIO()
        torch.save({
            "modelA_state_dict": netA.state_dict(),
            "modelB_state_dict": netB.state_dict(),
            "optimizerA_state_dict": optimizerA.state_dict(),
            "optimizerB_state_dict": optimizerB.state_dict(),
        }, buffer)
        buffer.seek(0)
        modelA, modelB = NetA(), NetB()
        optimA = optim.SGD(modelA.parameters(), lr=0.001, momentum=0.9)
        optimB = optim.Adam(modelB.parameters(), lr=0.01)
        checkpoint = torch.load(buffer, weights_only=True)
        print(modelA.load_state_dict(checkpoint["modelA_state_dict"]))
        print(modelB.load_state_dict(checkpoint["modelB_state_dict"]))
        optimA.load_state_dict(checkpoint["optimizerA_state_dict"])
        optimB.load_state_dict(checkpoint["optimizerB_state_dict"])
        modelA.eval()
        modelB.train()
        print(optimB.state_dict()["param_groups"][0])
        st = optimB.state_dict()["state"]
        print(sorted(st), sorted(st[2]), st[2]["step"], st[2]["exp_avg"].shape)
        print(optimB)
        # both continue identically
        for net, opt in ((netB, optimizerB), (modelB, optimB)):
            opt.zero_grad()
            net.fc1(torch.ones(2, 16)).pow(2).sum().backward()
            opt.step()
        print(torch.equal(netB.fc1.weight, modelB.fc1.weight))


def section_profiler() -> None:
    from torch.autograd.profiler import record_function as autograd_record
    from torch.profiler import ProfilerActivity, profile, record_function
    with printed("t20_prof.log", warnings_too=False):
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 5))
        inputs = torch.randn(2, 3, 8, 8)
        with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            with record_function("model_inference"):
                model(inputs)
        averages = prof.key_averages()
        keys = [e.key for e in averages]
        print("model_inference" in keys, type(averages).__name__)
        table = averages.table(sort_by="cpu_time_total", row_limit=10)
        print(isinstance(table, str), "Name" in table, "model_inference" in table)
        event = next(e for e in averages if e.key == "model_inference")
        print(event.count, event.cpu_time_total >= 0)
        print(isinstance(prof.key_averages(group_by_input_shape=True).table(sort_by="cpu_time_total", row_limit=5), str))
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof2:
            with autograd_record("step"):
                model(inputs).sum().backward()
        print("step" in [e.key for e in prof2.key_averages()])
        print([a for a in ProfilerActivity.__members__][:1], ProfilerActivity.CPU in torch.profiler.supported_activities())
        with torch.autograd.profiler.profile() as p3:
            torch.mm(torch.ones(2, 2), torch.ones(2, 2))
        print(type(p3.key_averages().table()).__name__)


def section_amp() -> None:
    with printed("t20_amp.log"):
        model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
        x = torch.randn(4, 8)
        y = torch.tensor([0, 1, 2, 0])
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            out = model(x)
            loss = F.cross_entropy(out, y)
            mm = torch.mm(x, x.t())
            s = out.sum()
            sm = torch.softmax(out, dim=1)
            cat = torch.cat([out, x[:, :3]])
            print(out.dtype, loss.dtype, mm.dtype, s.dtype, sm.dtype, cat.dtype)
            print(torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu"))
            with torch.autocast(device_type="cpu", enabled=False):
                print(model(x).dtype, torch.is_autocast_enabled("cpu"))
        print(torch.is_autocast_enabled("cpu"))
        print(f"{loss.item():.2f}", out.float().shape)
        scaler = torch.amp.GradScaler("cpu", enabled=False)
        opt = optim.SGD(model.parameters(), lr=0.1)
        for step in range(3):
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
                loss = F.cross_entropy(model(x), y)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            opt.zero_grad()
            print(step, loss.dtype, model[0].weight.dtype, model[0].weight.grad)
        print(scaler.is_enabled(), scaler.get_scale())
        with torch.amp.autocast("cpu"):
            print(torch.matmul(x, x.t()).dtype, torch.get_autocast_dtype("cpu"))

        @torch.autocast(device_type="cpu", dtype=torch.bfloat16)
        def f(a, b):
            return a @ b

        print(f(x, x.t()).dtype)
        with torch.autocast(device_type="cpu", dtype=torch.float16):
            print((x @ x.t()).dtype, F.linear(x, x).dtype)


class Cubic(torch.autograd.Function):
    """x -> x**3 - 2x with a hand-written derivative (itself differentiable)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.pow(3) - 2 * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (3 * x * x - 2)


class ScaledBy(torch.autograd.Function):
    """The setup_context form: forward without ctx, a Python number saved on ctx."""

    @staticmethod
    def forward(values, factor):
        return values * factor

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.factor = inputs[1]

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


class SortWithIndex(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        values, idx = x.sort()
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return values, idx

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g, _):
        idx, = ctx.saved_tensors
        out = torch.zeros_like(g)
        out.scatter_(0, idx, g)
        return out


class Affine(torch.autograd.Function):
    """rows @ weight.T (+ shift), each gradient computed only where needs_input_grad asks."""

    @staticmethod
    def forward(ctx, rows, weight, shift=None):
        ctx.save_for_backward(rows, weight)
        ctx.has_shift = shift is not None
        out = rows @ weight.mT
        return out if shift is None else out + shift

    @staticmethod
    def backward(ctx, grad):
        rows, weight = ctx.saved_tensors
        want = ctx.needs_input_grad
        return (grad @ weight if want[0] else None, grad.mT @ rows if want[1] else None,
                grad.sum(0) if ctx.has_shift and want[2] else None)


def section_function() -> None:
    # (the tutorials' own Legendre-polynomial fit and LinearFunction run in
    # prog_s26_PR11_tutorials.py, prog_s17_PG_autograd.py and prog_s19_PG2_extend.py)
    with printed("t20_func.log"):
        grid = torch.linspace(-1, 1, 50)
        wave = torch.sin(1.5 * grid) + 0.25
        coef = torch.tensor([0.0, -0.5, 0.6], requires_grad=True)
        for step in range(200):
            fit = coef[0] + coef[1] * Cubic.apply(coef[2] * grid)
            err = (fit - wave).square().mean()
            if step % 50 == 49:
                print(step, f"{err.item():.6f}")
            err.backward()
            with torch.no_grad():
                coef -= 0.5 * coef.grad
            coef.grad = None
        print([f"{c:.4f}" for c in coef.tolist()], fit.grad_fn, type(fit.grad_fn).__name__)
        doubled = torch.tensor([1.0, -2.0], requires_grad=True)
        out = ScaledBy.apply(doubled, 2.5)
        out.sum().backward()
        print(out, doubled.grad)
        v = torch.tensor([3.0, 1.0, 2.0], requires_grad=True)
        vals, idx = SortWithIndex.apply(v)
        print(vals, idx, idx.requires_grad)
        (vals * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
        print(v.grad)
        args = (torch.randn(4, 3, dtype=torch.double, requires_grad=True),
                torch.randn(2, 3, dtype=torch.double, requires_grad=True),
                torch.randn(2, dtype=torch.double, requires_grad=True))
        print(torch.autograd.gradcheck(Affine.apply, args, eps=1e-6, atol=1e-4))
        point = torch.randn(3, dtype=torch.double, requires_grad=True)
        print(torch.autograd.gradgradcheck(lambda u: Cubic.apply(u).sum(), (point,)))

        class Dense(nn.Module):
            def __init__(self, n_in, n_out, shift=True):
                super().__init__()
                self.weight = nn.Parameter(torch.empty(n_out, n_in).uniform_(-0.1, 0.1))
                if shift:
                    self.shift = nn.Parameter(torch.empty(n_out).uniform_(-0.1, 0.1))
                else:
                    self.register_parameter("shift", None)

            def forward(self, rows):
                return Affine.apply(rows, self.weight, self.shift)

            def extra_repr(self):
                return f"{self.weight.shape[1]} -> {self.weight.shape[0]}, shift={self.shift is not None}"

        layer = Dense(3, 2)
        print(layer, layer(torch.ones(1, 3)))
        bare = Dense(3, 2, shift=False)
        print(bare, list(bare.state_dict()))
        put("t20_func.coef", [coef[0], coef[1], coef[2]])
        put("t20_func.sorted", v.grad)


def section_hooks() -> None:
    with printed("t20_hooks.log"):
        model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        seen = []

        def pre_hook(module, args):
            seen.append(("pre", type(module).__name__, tuple(args[0].shape)))
            return (args[0] * 2,)

        def fwd_hook(module, args, output):
            seen.append(("fwd", type(module).__name__, tuple(output.shape)))
            return output + 1

        def kw_hook(module, args, kwargs, output):
            seen.append(("kw", sorted(kwargs)))

        h1 = model[0].register_forward_pre_hook(pre_hook)
        h2 = model[2].register_forward_hook(fwd_hook)
        x = torch.ones(2, 3, requires_grad=True)
        out = model(x)
        print(seen, out)
        grads = []

        def bwd_hook(module, grad_input, grad_output):
            grads.append(("bwd", type(module).__name__, [None if g is None else tuple(g.shape) for g in grad_input],
                          [tuple(g.shape) for g in grad_output]))

        def bwd_pre_hook(module, grad_output):
            grads.append(("bwd_pre", tuple(grad_output[0].shape)))
            return (grad_output[0] * 0.5,)

        h3 = model[2].register_full_backward_hook(bwd_hook)
        h4 = model[2].register_full_backward_pre_hook(bwd_pre_hook)
        h5 = model.register_forward_hook(kw_hook, with_kwargs=True)
        out = model(x)
        out.sum().backward()
        print(grads, x.grad)
        for h in (h1, h2, h3, h4, h5):
            h.remove()
        x.grad = None
        model(x).sum().backward()
        print(x.grad, len(model[0]._forward_pre_hooks), len(model._forward_hooks))
        # tensor hooks
        a = torch.tensor([1.0, 2.0], requires_grad=True)
        b = a * 3
        hb = b.register_hook(lambda g: g * 10)
        b.retain_grad()
        b.sum().backward()
        print(a.grad, b.grad)
        hb.remove()
        acc = a.register_post_accumulate_grad_hook(lambda p: print("accumulated", p.grad))
        (a * a).sum().backward()
        acc.remove()
        # state dict hooks and load hooks
        lin = nn.Linear(2, 2)

        def sd_hook(module, state_dict, prefix, local_metadata):
            state_dict[prefix + "extra"] = torch.tensor(1.0)
            return state_dict

        lin._register_state_dict_hook(sd_hook)
        print(sorted(lin.state_dict()))

        def post_load(module, incompatible_keys):
            print("loaded; missing:", incompatible_keys.missing_keys, "unexpected:", incompatible_keys.unexpected_keys)
            incompatible_keys.unexpected_keys.clear()

        lin.register_load_state_dict_post_hook(post_load)
        print(lin.load_state_dict(lin.state_dict()))
        # a global hook
        names = []
        hg = torch.nn.modules.module.register_module_forward_hook(lambda m, i, o: names.append(type(m).__name__))
        model(x)
        hg.remove()
        model(x)
        print(names)
        # inspecting gradients flowing through every module
        norms = {}
        for name, module in model.named_modules():
            if isinstance(module, nn.Linear):
                module.register_full_backward_hook(
                    lambda m, gi, go, name=name: norms.__setitem__(name, round(go[0].norm().item(), 5)))
        model(x).pow(2).sum().backward()
        print(norms)


class MirrorUpper(nn.Module):
    """A symmetric matrix from the upper triangle (diagonal included) of its argument."""

    def forward(self, raw):
        return raw.triu() + raw.triu(1).mT


class AntiSymmetric(nn.Module):
    def forward(self, raw):
        strict = raw.triu(1)
        return strict - strict.mT


class Cayley(nn.Module):
    """(I - A)^-1 (I + A): orthogonal for an antisymmetric A."""

    def __init__(self, size):
        super().__init__()
        self.register_buffer("eye", torch.eye(size))

    def forward(self, a):
        return torch.linalg.solve(self.eye - a, self.eye + a)


class Expm(nn.Module):
    def forward(self, a):
        return torch.matrix_exp(a)


class UpperOnAssign(nn.Module):
    """The identity, but assigning a matrix stores its upper triangle (right_inverse)."""

    def forward(self, raw):
        return raw

    def right_inverse(self, value):
        return value.triu()


def section_parametrize() -> None:
    with printed("t20_param.log"):
        layer = nn.Linear(3, 3)
        parametrize.register_parametrization(layer, "weight", MirrorUpper())
        A = layer.weight
        print(torch.allclose(A, A.T))
        print(A)
        print(layer)
        print(layer.parametrizations)
        print(layer.parametrizations.weight)
        print(layer.parametrizations.weight.original.shape, parametrize.is_parametrized(layer),
              parametrize.is_parametrized(layer, "bias"))
        print([n for n, _ in layer.named_parameters()], type(layer).__name__)
        layer2 = nn.Linear(3, 3)
        parametrize.register_parametrization(layer2, "weight", AntiSymmetric())
        parametrize.register_parametrization(layer2, "weight", Cayley(3))
        X = layer2.weight
        print(torch.dist(X.T @ X, torch.eye(3)) < 1e-5)
        print(layer2.parametrizations.weight)
        layer3 = nn.Linear(3, 3)
        parametrize.register_parametrization(layer3, "weight", AntiSymmetric())
        parametrize.register_parametrization(layer3, "weight", Expm())
        Q = layer3.weight
        print(torch.dist(Q.T @ Q, torch.eye(3)) < 1e-5)
        with parametrize.cached():
            W1 = layer3.weight
            W2 = layer3.weight
            print(W1 is W2)
        print(layer3.weight is layer3.weight)
        layer4 = nn.Linear(3, 3)
        parametrize.register_parametrization(layer4, "weight", UpperOnAssign())
        print(torch.equal(layer4.weight, layer4.weight.triu()))
        layer4.weight = torch.ones(3, 3)
        print(layer4.weight, layer4.parametrizations.weight.original)
        opt = optim.SGD(layer.parameters(), lr=0.1)
        loss = layer(torch.ones(2, 3)).pow(2).sum()
        loss.backward()
        print(layer.parametrizations.weight.original.grad)
        opt.step()
        print(torch.allclose(layer.weight, layer.weight.T))
        parametrize.remove_parametrizations(layer, "weight")
        # (type(layer.weight).__name__: 'Tensor' here, deltagrad's parameters are marked
        # plain tensors by design; KNOWN in the test)
        print(layer, isinstance(layer.weight, nn.Parameter), torch.allclose(layer.weight, layer.weight.T))
        parametrize.remove_parametrizations(layer3, "weight", leave_parametrized=False)
        print(layer3.weight.shape, torch.allclose(layer3.weight, -layer3.weight.T))
        from torch.nn.utils import parametrizations
        orth = parametrizations.orthogonal(nn.Linear(4, 4))
        Q = orth.weight
        print(torch.dist(Q.T @ Q, torch.eye(4)) < 1e-5, orth.parametrizations.weight)
        orth_wide = parametrizations.orthogonal(nn.Linear(5, 3), orthogonal_map="householder")
        print(torch.dist(orth_wide.weight @ orth_wide.weight.T, torch.eye(3)) < 1e-5)
        sn = parametrizations.spectral_norm(nn.Linear(4, 3))
        print(sn, torch.linalg.matrix_norm(sn.weight, 2) <= 1.0 + 1e-4)
        wn = parametrizations.weight_norm(nn.Linear(4, 3))
        print(sorted(n for n, _ in wn.named_parameters()), wn.parametrizations.weight.original0.shape)
        put("t20_param.orth", Q)


class PruneTarget(nn.Module):
    """Two small convolutions and three dense layers: the modules the pruning calls act on."""

    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 3, 3), nn.Conv2d(3, 4, 3)
        self.fc1, self.fc2, self.fc3 = nn.Linear(16, 10), nn.Linear(10, 5), nn.Linear(5, 3)

    def forward(self, images):
        hidden = F.max_pool2d(F.relu(self.conv1(images)), 2)
        hidden = F.max_pool2d(F.relu(self.conv2(hidden)), 2).flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(hidden)))))


class EveryOtherPruning(prune.BasePruningMethod):
    """Masks every second entry (in flat order) on top of the mask already there."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        kept = default_mask.clone()
        kept.view(-1)[::2] = 0
        return kept


def section_prune() -> None:
    with printed("t20_prune.log"):
        model = PruneTarget()
        module = model.conv1
        print(list(module.named_parameters()))
        print(list(module.named_buffers()))
        prune.random_unstructured(module, name="weight", amount=0.3)
        print(list(module.named_parameters()))
        print(list(module.named_buffers()))
        print(module.weight)
        print(list(module._forward_pre_hooks.values()))
        prune.l1_unstructured(module, name="bias", amount=1)
        print(list(module.named_parameters()))
        print(list(module.named_buffers()))
        print(module.bias)
        print(len(module._forward_pre_hooks), list(module._forward_pre_hooks.values())[1])
        prune.ln_structured(module, name="weight", amount=0.5, n=2, dim=0)
        print(module.weight)
        for hook in module._forward_pre_hooks.values():
            if hook._tensor_name == "weight":
                break
        print(list(hook))
        print(model.state_dict().keys())
        prune.remove(module, "weight")
        print(list(module.named_parameters()))
        print(list(module.named_buffers()))
        new_model = PruneTarget()
        for name, module in new_model.named_modules():
            if isinstance(module, torch.nn.Conv2d):
                prune.l1_unstructured(module, name="weight", amount=0.2)
            elif isinstance(module, torch.nn.Linear):
                prune.l1_unstructured(module, name="weight", amount=0.4)
        print(dict(new_model.named_buffers()).keys())
        model = PruneTarget()
        parameters_to_prune = (
            (model.conv1, "weight"), (model.conv2, "weight"), (model.fc1, "weight"),
            (model.fc2, "weight"), (model.fc3, "weight"),
        )
        prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured, amount=0.2)
        for name, m in (("conv1", model.conv1), ("conv2", model.conv2), ("fc1", model.fc1), ("fc2", model.fc2), ("fc3", model.fc3)):
            print(f"{name}: {int((m.weight == 0).sum())} of {m.weight.numel()} weights zero")
        total = sum(float(torch.sum(m.weight == 0)) for m, _ in parameters_to_prune)
        print(f"all: {total / sum(m.weight.numel() for m, _ in parameters_to_prune):.4f} zero")
        model = PruneTarget()
        EveryOtherPruning.apply(model.fc3, "bias")
        print(model.fc3.bias_mask)
        print(prune.is_pruned(model), prune.is_pruned(PruneTarget()))
        m = nn.Linear(4, 3)
        prune.identity(m, "weight")
        prune.random_structured(m, "weight", amount=1, dim=1)
        print(m.weight_mask)
        print(m(torch.ones(1, 4)).shape, m.weight_orig.grad)
        m(torch.ones(1, 4)).sum().backward()
        print(m.weight_orig.grad)


def section_func_psg() -> None:
    # (the per-sample-gradients tutorial itself runs in prog_s17_PG_autograd.py)
    torch.manual_seed(8)
    with printed("t20_psg.log"):
        head = nn.Linear(3, 2)
        state = {k: v.detach() for k, v in head.named_parameters()}
        xs, ys = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])

        def sample_loss(weights, x, y):
            return F.cross_entropy(functional_call(head, weights, (x[None],)), y[None])

        per_sample = vmap(grad(sample_loss), in_dims=(None, 0, 0))(state, xs, ys)
        looped = [torch.autograd.grad(F.cross_entropy(head(x[None]), y[None]), head.weight)[0]
                  for x, y in zip(xs, ys)]
        print({k: tuple(v.shape) for k, v in per_sample.items()},
              torch.allclose(per_sample["weight"], torch.stack(looped), atol=1e-6))
        print(per_sample["bias"])
        # grad with has_aux, argnums, and a value too
        from torch.func import grad_and_value
        f = lambda x, y: ((x * y).sum(), x.mean())
        gx, aux = grad(f, has_aux=True)(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]))
        print(gx, aux)
        print(grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])))
        print(grad_and_value(lambda x: (x ** 2).sum())(torch.tensor([1.0, -2.0])))
        put("t20_psg.w", per_sample["weight"])


def section_ensemble() -> None:
    # (the model-ensembling tutorial itself runs in prog_s17_PG_autograd.py)
    torch.manual_seed(9)
    with printed("t20_ens.log"):
        members = [nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)) for _ in range(3)]
        stacked, bufs = stack_module_state(members)
        print({k: tuple(v.shape) for k, v in stacked.items()}, bufs)
        print(stacked["0.bias"].requires_grad, stacked["0.bias"].is_leaf)
        skeleton = copy.deepcopy(members[0]).to("meta")
        print(skeleton[0].weight.device, skeleton[0].weight.is_meta)

        def run_member(weights, buffers, x):
            return functional_call(skeleton, (weights, buffers), (x,))

        inputs, same = torch.randn(3, 4, 6), torch.randn(4, 6)
        each = vmap(run_member)(stacked, bufs, inputs)
        shared = vmap(run_member, in_dims=(0, 0, None))(stacked, bufs, same)
        print(torch.allclose(each, torch.stack([m(x) for m, x in zip(members, inputs)]), atol=1e-5),
              torch.allclose(shared, torch.stack([m(same) for m in members]), atol=1e-5))
        print(shared.shape, shared[:, 0])
        labels = torch.tensor([0, 2, 1, 1])

        def member_loss(weights, buffers, x, y):
            return F.cross_entropy(run_member(weights, buffers, x), y)

        grads = vmap(grad(member_loss), in_dims=(0, 0, None, None))(stacked, bufs, same, labels)
        # (the grad_fn of vmap's result, StackBackward0 against ViewBackward0: KNOWN)
        print({k: tuple(g.shape) for k, g in grads.items()}, grads["2.bias"].detach())
        out = vmap(lambda x: F.dropout(x, 0.5), randomness="different")(torch.ones(3, 4))
        print(out.shape, sorted(set(out.flatten().tolist())))
        try:
            vmap(lambda x: F.dropout(x, 0.5))(torch.ones(3, 4))
        except RuntimeError as e:
            print("RuntimeError", str(e)[:60])
        put("t20_ens.pred", shared)


def section_jacobians() -> None:
    # (the jacobians / hessians tutorial itself runs in prog_s17_PG_autograd.py)
    torch.manual_seed(10)
    # (PyTorch's torch.func imports modules that call torch.jit.script, each a
    # DeprecationWarning from PyTorch's own code: the warnings are not compared)
    with printed("t20_jac.log", warnings_too=False):
        mat, off, point = torch.randn(4, 4), torch.randn(4), torch.randn(4)

        def layer(m, b, v):
            return F.linear(v, m, b).tanh()

        leaf = point.clone().requires_grad_()
        by_rows = torch.stack([torch.autograd.grad(layer(mat, off, leaf), leaf, row)[0]
                               for row in torch.eye(4)])
        rev = jacrev(layer, argnums=2)(mat, off, point)
        fwd = jacfwd(layer, argnums=2)(mat, off, point)
        print(by_rows.shape, by_rows[1], torch.allclose(rev, by_rows), torch.allclose(fwd, rev, atol=1e-6))
        rows_vmapped = vmap(lambda row: torch.autograd.grad(layer(mat, off, leaf), leaf, row)[0])(torch.eye(4))
        print(torch.allclose(rows_vmapped, by_rows))
        d_mat, d_off = jacrev(layer, argnums=(0, 1))(mat, off, point)
        print(d_mat.shape, d_off.shape)
        h = hessian(layer, argnums=2)(mat, off, point)
        h_ff = jacfwd(jacfwd(layer, argnums=2), argnums=2)(mat, off, point)
        h_rr = jacrev(jacrev(layer, argnums=2), argnums=2)(mat, off, point)
        print(h.shape, torch.allclose(h, h_ff, atol=1e-6), torch.allclose(h, h_rr, atol=1e-6))
        print(h[1, 2])
        many = torch.randn(3, 4)
        per_point = vmap(jacrev(layer, argnums=2), in_dims=(None, None, 0))(mat, off, many)
        summed = jacrev(lambda m, b, v: layer(m, b, v).sum(0), argnums=2)(mat, off, many).movedim(1, 0)
        print(per_point.shape, torch.allclose(per_point, summed, atol=1e-6))
        print(vmap(hessian(layer, argnums=2), in_dims=(None, None, 0))(mat, off, many).shape)
        from torch.func import jvp, vjp
        f = lambda x: x.sin() * x
        print(jvp(f, (torch.tensor([0.5, 1.0]),), (torch.ones(2),)))
        out, vjp_fn = vjp(f, torch.tensor([0.5, 1.0]))
        print(out, vjp_fn(torch.ones(2)))
        hvp = lambda f, primals, tangents: jvp(grad(f), primals, tangents)[1]
        print(hvp(lambda x: (x ** 3).sum(), (torch.tensor([1.0, 2.0]),), (torch.tensor([1.0, 0.0]),)))
        print(torch.autograd.functional.jacobian(lambda w: layer(w, off, point), mat).shape)
        put("t20_jac.hess", h)


SECTIONS = {
    "t20_zero": section_zero_grad, "t20_warm": section_warmstart, "t20_multi": section_multi,
    "t20_prof": section_profiler, "t20_amp": section_amp, "t20_func": section_function,
    "t20_hooks": section_hooks, "t20_param": section_parametrize, "t20_prune": section_prune,
    "t20_psg": section_func_psg, "t20_ens": section_ensemble, "t20_jac": section_jacobians,
}
