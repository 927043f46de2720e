"""PyTorch's recipes and advanced tutorials as a reader types them in (PR20, session 29;
written afresh, tiny sizes): zeroing gradients (set_to_none), warmstarting a model from
another's parameters with strict=False, saving several models and optimizers in one file,
the profiler recipe (record_function, key_averages, what a CPU profile holds), automatic
mixed precision on CPU (autocast to bfloat16, GradScaler disabled), custom autograd
Functions (LegendrePolynomial3, setup_context, once_differentiable, mark_non_differentiable,
gradcheck), nn.Module hooks (forward pre / post with kwargs, full backward hooks, tensor
hooks, state-dict hooks), the parametrizations tutorial (Symmetric, a matrix exponential,
right_inverse, caching, orthogonal, removal), the pruning tutorial (random / l1 /
ln-structured, global pruning, a custom method, remove), and torch.func (per-sample
gradients with vmap / grad / functional_call, model ensembling with stack_module_state,
jacobians and hessians by jacrev / jacfwd / hessian / vmap). Run by prog_s29_PR20_all.py.
"""
# ruff: noqa: B007, E501, E731, E741, N802, N803, N806, UP031, UP032 - the recipes' code as written

import copy
import io

import torch
import torch.nn.functional as F
import torch.nn.utils.parametrize as parametrize
import torch.nn.utils.prune as prune
from prog_s25_PR9_harness import printed, put
from torch import nn, optim
from torch.func import functional_call, grad, hessian, jacfwd, jacrev, stack_module_state, vmap


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(4, 6, 3)
        self.fc1 = nn.Linear(6 * 1 * 1, 12)
        self.fc2 = nn.Linear(12, 3)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = F.relu(self.conv2(x))
        x = x.view(-1, 6)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


def section_zero_grad() -> None:
    with printed("t20_zero.log"):
        net = Net()
        criterion = nn.CrossEntropyLoss()
        optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
        print(net.conv1.weight.grad)
        inputs, labels = torch.randn(4, 1, 8, 8), torch.tensor([0, 1, 2, 1])
        for epoch in range(2):
            running_loss = 0.0
            for i in range(3):
                optimizer.zero_grad()
                outputs = net(inputs)
                loss = criterion(outputs, labels)
                loss.backward()
                optimizer.step()
                running_loss += loss.item()
            print("[%d] loss: %.6f" % (epoch + 1, running_loss / 3))
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
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.fc1 = nn.Linear(16, 8)
        self.fc2 = nn.Linear(8, 3)


class NetB(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.fc1 = nn.Linear(16, 8)
        self.fc3 = nn.Linear(8, 5)


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


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class MulConstant(torch.autograd.Function):
    @staticmethod
    def forward(tensor, constant):
        return tensor * constant

    @staticmethod
    def setup_context(ctx, inputs, output):
        tensor, constant = inputs
        ctx.constant = constant

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output * ctx.constant, None


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


class LinearFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


def section_function() -> None:
    with printed("t20_func.log"):
        dtype = torch.float
        x = torch.linspace(-1, 1, 200, dtype=dtype)
        y = torch.sin(x * 3)
        a = torch.full((), 0.0, dtype=dtype, requires_grad=True)
        b = torch.full((), -1.0, dtype=dtype, requires_grad=True)
        c = torch.full((), 0.0, dtype=dtype, requires_grad=True)
        d = torch.full((), 0.3, dtype=dtype, requires_grad=True)
        learning_rate = 5e-4
        for t in range(300):
            P3 = LegendrePolynomial3.apply
            y_pred = a + b * P3(c + d * x)
            loss = (y_pred - y).pow(2).sum()
            if t % 100 == 99:
                print(t, loss.item())
            loss.backward()
            with torch.no_grad():
                a -= learning_rate * a.grad
                b -= learning_rate * b.grad
                c -= learning_rate * c.grad
                d -= learning_rate * d.grad
                a.grad = None
                b.grad = None
                c.grad = None
                d.grad = None
        print(f"Result: y = {a.item()} + {b.item()} * P3({c.item()} + {d.item()} x)")
        print(y_pred.grad_fn, type(y_pred.grad_fn).__name__)
        t = torch.tensor([1.0, 2.0], requires_grad=True)
        out = MulConstant.apply(t, 3.0)
        out.sum().backward()
        print(out, t.grad)
        v = torch.tensor([3.0, 1.0, 2.0], requires_grad=True)
        vals, idx = SortWithIndex.apply(v)
        print(vals, idx, idx.requires_grad)
        (vals * torch.tensor([1.0, 10.0, 100.0])).sum().backward()
        print(v.grad)
        lin = LinearFunction.apply
        inp = (torch.randn(4, 3, dtype=torch.double, requires_grad=True),
               torch.randn(2, 3, dtype=torch.double, requires_grad=True),
               torch.randn(2, dtype=torch.double, requires_grad=True))
        print(torch.autograd.gradcheck(lin, inp, eps=1e-6, atol=1e-4))
        print(torch.autograd.gradgradcheck(lambda x: LegendrePolynomial3.apply(x).sum(), (torch.randn(3, dtype=torch.double, requires_grad=True),)))

        class MyLinear(nn.Module):
            def __init__(self, input_features, output_features, bias=True):
                super().__init__()
                self.weight = nn.Parameter(torch.empty(output_features, input_features))
                if bias:
                    self.bias = nn.Parameter(torch.empty(output_features))
                else:
                    self.register_parameter("bias", None)
                self.weight.data.uniform_(-0.1, 0.1)
                if self.bias is not None:
                    self.bias.data.uniform_(-0.1, 0.1)

            def forward(self, input):
                return LinearFunction.apply(input, self.weight, self.bias)

            def extra_repr(self):
                return "input_features={}, output_features={}, bias={}".format(
                    self.weight.size(1), self.weight.size(0), self.bias is not None)

        m = MyLinear(3, 2)
        print(m, m(torch.ones(1, 3)))
        m2 = MyLinear(3, 2, bias=False)
        print(m2, list(m2.state_dict()))
        put("t20_func.abcd", [a, b, c, d])


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


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)


class Skew(nn.Module):
    def forward(self, X):
        A = X.triu(1)
        return A - A.transpose(-1, -2)


class CayleyMap(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.register_buffer("Id", torch.eye(n))

    def forward(self, X):
        return torch.linalg.solve(self.Id - X, self.Id + X)


class MatrixExponential(nn.Module):
    def forward(self, X):
        return torch.matrix_exp(X)


class NoisyParametrization(nn.Module):
    def forward(self, X):
        return X

    def right_inverse(self, A):
        return A.triu()


def section_parametrize() -> None:
    with printed("t20_param.log"):
        layer = nn.Linear(3, 3)
        parametrize.register_parametrization(layer, "weight", Symmetric())
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
        parametrize.register_parametrization(layer2, "weight", Skew())
        parametrize.register_parametrization(layer2, "weight", CayleyMap(3))
        X = layer2.weight
        print(torch.dist(X.T @ X, torch.eye(3)) < 1e-5)
        print(layer2.parametrizations.weight)
        layer3 = nn.Linear(3, 3)
        parametrize.register_parametrization(layer3, "weight", Skew())
        parametrize.register_parametrization(layer3, "weight", MatrixExponential())
        Q = layer3.weight
        print(torch.dist(Q.T @ Q, torch.eye(3)) < 1e-5)
        with parametrize.cached():
            W1 = layer3.weight
            W2 = layer3.weight
            print(W1 is W2)
        print(layer3.weight is layer3.weight)
        layer4 = nn.Linear(3, 3)
        parametrize.register_parametrization(layer4, "weight", NoisyParametrization())
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


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 3, 3)
        self.conv2 = nn.Conv2d(3, 4, 3)
        self.fc1 = nn.Linear(4 * 2 * 2, 10)
        self.fc2 = nn.Linear(10, 5)
        self.fc3 = nn.Linear(5, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, int(x.nelement() / x.shape[0]))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class FooBarPruningMethod(prune.BasePruningMethod):
    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t, default_mask):
        mask = default_mask.clone()
        mask.view(-1)[::2] = 0
        return mask


def foobar_unstructured(module, name):
    FooBarPruningMethod.apply(module, name)
    return module


def section_prune() -> None:
    with printed("t20_prune.log"):
        model = LeNet()
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
        new_model = LeNet()
        for name, module in new_model.named_modules():
            if isinstance(module, torch.nn.Conv2d):
                prune.l1_unstructured(module, name="weight", amount=0.2)
            elif isinstance(module, torch.nn.Linear):
                prune.l1_unstructured(module, name="weight", amount=0.4)
        print(dict(new_model.named_buffers()).keys())
        model = LeNet()
        parameters_to_prune = (
            (model.conv1, "weight"), (model.conv2, "weight"), (model.fc1, "weight"),
            (model.fc2, "weight"), (model.fc3, "weight"),
        )
        prune.global_unstructured(parameters_to_prune, pruning_method=prune.L1Unstructured, amount=0.2)
        for name, m in (("conv1", model.conv1), ("conv2", model.conv2), ("fc1", model.fc1), ("fc2", model.fc2), ("fc3", model.fc3)):
            print("Sparsity in {}.weight: {:.2f}%".format(name, 100. * float(torch.sum(m.weight == 0)) / float(m.weight.nelement())))
        total = sum(float(torch.sum(m.weight == 0)) for m, _ in parameters_to_prune)
        print("Global sparsity: {:.2f}%".format(100. * total / sum(float(m.weight.nelement()) for m, _ in parameters_to_prune)))
        model = LeNet()
        foobar_unstructured(model.fc3, name="bias")
        print(model.fc3.bias_mask)
        print(prune.is_pruned(model), prune.is_pruned(LeNet()))
        m = nn.Linear(4, 3)
        prune.identity(m, "weight")
        prune.random_structured(m, "weight", amount=1, dim=1)
        print(m.weight_mask)
        print(m(torch.ones(1, 4)).shape, m.weight_orig.grad)
        m(torch.ones(1, 4)).sum().backward()
        print(m.weight_orig.grad)


def section_func_psg() -> None:
    torch.manual_seed(8)
    with printed("t20_psg.log"):
        class SimpleCNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(1, 4, 3, 1)
                self.fc1 = nn.Linear(4 * 3 * 3, 5)

            def forward(self, x):
                x = self.conv1(x)
                x = F.relu(x)
                x = F.max_pool2d(x, 2)
                x = torch.flatten(x, 1)
                x = self.fc1(x)
                return F.log_softmax(x, dim=1)

        def loss_fn(predictions, targets):
            return F.nll_loss(predictions, targets)

        batch_size = 6
        data = torch.randn(batch_size, 1, 8, 8)
        targets = torch.randint(5, (batch_size,))
        model = SimpleCNN()

        def compute_grad(sample, target):
            sample = sample.unsqueeze(0)
            target = target.unsqueeze(0)
            prediction = model(sample)
            loss = loss_fn(prediction, target)
            return torch.autograd.grad(loss, list(model.parameters()))

        def compute_sample_grads(data, targets):
            sample_grads = [compute_grad(data[i], targets[i]) for i in range(batch_size)]
            sample_grads = zip(*sample_grads)
            sample_grads = [torch.stack(shards) for shards in sample_grads]
            return sample_grads

        per_sample_grads = compute_sample_grads(data, targets)
        print(per_sample_grads[1].shape)
        params = {k: v.detach() for k, v in model.named_parameters()}
        buffers = {k: v.detach() for k, v in model.named_buffers()}

        def compute_loss(params, buffers, sample, target):
            batch = sample.unsqueeze(0)
            targets = target.unsqueeze(0)
            predictions = functional_call(model, (params, buffers), (batch,))
            loss = loss_fn(predictions, targets)
            return loss

        ft_compute_grad = grad(compute_loss)
        ft_compute_sample_grad = vmap(ft_compute_grad, in_dims=(None, None, 0, 0))
        ft_per_sample_grads = ft_compute_sample_grad(params, buffers, data, targets)
        for per_sample_grad, ft_per_sample_grad in zip(per_sample_grads, ft_per_sample_grads.values()):
            assert torch.allclose(per_sample_grad, ft_per_sample_grad, atol=3e-3, rtol=1e-5)
        print({k: tuple(v.shape) for k, v in ft_per_sample_grads.items()})
        print(ft_per_sample_grads["fc1.bias"])
        # grad with has_aux, argnums, and a value too
        from torch.func import grad_and_value
        f = lambda x, y: ((x * y).sum(), x.mean())
        gx, aux = grad(f, has_aux=True)(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]))
        print(gx, aux)
        print(grad(lambda x, y: (x * y).sum(), argnums=(0, 1))(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0])))
        print(grad_and_value(lambda x: (x ** 2).sum())(torch.tensor([1.0, -2.0])))
        put("t20_psg.fc1", ft_per_sample_grads["fc1.weight"])


def section_ensemble() -> None:
    torch.manual_seed(9)
    with printed("t20_ens.log"):
        class SimpleMLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(16, 8)
                self.fc2 = nn.Linear(8, 4)
                self.fc3 = nn.Linear(4, 3)

            def forward(self, x):
                x = x.flatten(1)
                x = self.fc1(x)
                x = F.relu(x)
                x = self.fc2(x)
                x = F.relu(x)
                x = self.fc3(x)
                return x

        num_models = 4
        data = torch.randn(10, 5, 4, 4)
        targets = torch.randint(3, (5,))
        models = [SimpleMLP() for _ in range(num_models)]
        minibatches = data[:num_models]
        predictions_diff_minibatch_loop = [model(minibatch) for model, minibatch in zip(models, minibatches)]
        minibatch = data[0]
        predictions2 = [model(minibatch) for model in models]
        params, buffers = stack_module_state(models)
        print({k: tuple(v.shape) for k, v in params.items()}, buffers)
        print(params["fc1.bias"].requires_grad, params["fc1.bias"].is_leaf)
        base_model = copy.deepcopy(models[0])
        base_model = base_model.to("meta")
        print(base_model.fc1.weight.device, base_model.fc1.weight.is_meta)

        def fmodel(params, buffers, x):
            return functional_call(base_model, (params, buffers), (x,))

        print([p.size(0) for p in params.values()])
        predictions1_vmap = vmap(fmodel)(params, buffers, minibatches)
        print(torch.allclose(predictions1_vmap, torch.stack(predictions_diff_minibatch_loop), atol=1e-3, rtol=1e-5))
        predictions2_vmap = vmap(fmodel, in_dims=(0, 0, None))(params, buffers, minibatch)
        print(torch.allclose(predictions2_vmap, torch.stack(predictions2), atol=1e-3, rtol=1e-5))
        print(predictions2_vmap.shape, predictions2_vmap[:, 0])
        # training the ensemble through vmap
        def loss_of(params, buffers, x, y):
            return F.cross_entropy(fmodel(params, buffers, x), y)

        grads = vmap(grad(loss_of), in_dims=(0, 0, None, None))(params, buffers, data[0].flatten(1), targets)
        # (the grad_fn of vmap's result, StackBackward0 against ViewBackward0: KNOWN)
        print({k: tuple(g.shape) for k, g in grads.items()}, grads["fc3.bias"].detach())
        out = vmap(lambda x: F.dropout(x, 0.5), randomness="different")(torch.ones(3, 4))
        print(out.shape, sorted(set(out.flatten().tolist())))
        try:
            vmap(lambda x: F.dropout(x, 0.5))(torch.ones(3, 4))
        except RuntimeError as e:
            print("RuntimeError", str(e)[:60])
        put("t20_ens.pred", predictions2_vmap)


def section_jacobians() -> None:
    torch.manual_seed(10)
    # (PyTorch's torch.func imports modules that call torch.jit.script, each a
    # DeprecationWarning from PyTorch's own code: the warnings are not compared)
    with printed("t20_jac.log", warnings_too=False):
        D = 4
        weight = torch.randn(D, D)
        bias = torch.randn(D)
        x = torch.randn(D)

        def predict(weight, bias, x):
            return F.linear(x, weight, bias).tanh()

        def compute_jac(xp):
            jacobian_rows = [torch.autograd.grad(predict(weight, bias, xp), xp, vec)[0]
                             for vec in unit_vectors]
            return torch.stack(jacobian_rows)

        xp = x.clone().requires_grad_()
        unit_vectors = torch.eye(D)
        jacobian = compute_jac(xp)
        print(jacobian.shape)
        print(jacobian[0])
        jacobian_rev = jacrev(predict, argnums=2)(weight, bias, x)
        assert torch.allclose(jacobian_rev, jacobian)
        ft_jacobian = vmap(lambda vec: torch.autograd.grad(predict(weight, bias, xp), xp, vec)[0])(unit_vectors)
        print(torch.allclose(ft_jacobian, jacobian))
        ft_jac_weight, ft_jac_bias = jacrev(predict, argnums=(0, 1))(weight, bias, x)
        print(ft_jac_weight.shape, ft_jac_bias.shape)
        jacfwd_res = jacfwd(predict, argnums=2)(weight, bias, x)
        print(torch.allclose(jacfwd_res, jacobian_rev, atol=1e-6))
        hess_api = hessian(predict, argnums=2)(weight, bias, x)
        hess_fwdfwd = jacfwd(jacfwd(predict, argnums=2), argnums=2)(weight, bias, x)
        hess_revrev = jacrev(jacrev(predict, argnums=2), argnums=2)(weight, bias, x)
        print(hess_api.shape, torch.allclose(hess_api, hess_fwdfwd, atol=1e-6), torch.allclose(hess_api, hess_revrev, atol=1e-6))
        print(hess_api[0, 0])
        batch_size = 3
        xb = torch.randn(batch_size, D)
        compute_batch_jacobian = vmap(jacrev(predict, argnums=2), in_dims=(None, None, 0))
        batch_jacobian0 = compute_batch_jacobian(weight, bias, xb)
        print(batch_jacobian0.shape)

        def predict_with_output_summed(weight, bias, x):
            return predict(weight, bias, x).sum(0)

        batch_jacobian1 = jacrev(predict_with_output_summed, argnums=2)(weight, bias, xb).movedim(1, 0)
        print(torch.allclose(batch_jacobian0, batch_jacobian1, atol=1e-6))
        compute_batch_hessian = vmap(hessian(predict, argnums=2), in_dims=(None, None, 0))
        print(compute_batch_hessian(weight, bias, xb).shape)
        from torch.func import jvp, vjp
        f = lambda x: x.sin() * x
        print(jvp(f, (torch.tensor([0.5, 1.0]),), (torch.ones(2),)))
        out, vjp_fn = vjp(f, torch.tensor([0.5, 1.0]))
        print(out, vjp_fn(torch.ones(2)))
        hvp = lambda f, primals, tangents: jvp(grad(f), primals, tangents)[1]
        print(hvp(lambda x: (x ** 3).sum(), (torch.tensor([1.0, 2.0]),), (torch.tensor([1.0, 0.0]),)))
        print(torch.autograd.functional.jacobian(lambda w: predict(w, bias, x), weight).shape)
        put("t20_jac.hess", hess_api)


SECTIONS = {
    "t20_zero": section_zero_grad, "t20_warm": section_warmstart, "t20_multi": section_multi,
    "t20_prof": section_profiler, "t20_amp": section_amp, "t20_func": section_function,
    "t20_hooks": section_hooks, "t20_param": section_parametrize, "t20_prune": section_prune,
    "t20_psg": section_func_psg, "t20_ens": section_ensemble, "t20_jac": section_jacobians,
}
