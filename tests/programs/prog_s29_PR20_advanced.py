"""PyTorch's advanced tutorials as a reader types them in (PR20, session 29; written afresh,
tiny sizes): forward-mode AD (dual numbers, unpack_dual, a custom Function's jvp, jvp
through torch.func), double backward with a custom Function, and fusing Conv2d + BatchNorm
through a custom Function, saved-tensor hooks (pack / unpack, save_on_cpu, a grad_fn's raw
saved tensors), activation checkpointing, the scaled-dot-product-attention tutorial (masks,
causal, dropout off, the math reference), neural tangent kernels with torch.func,
extending torch with ``__torch_function__`` (a ScalarTensor and a logging subclass), torch.fx
(symbolic_trace, the graph's nodes, a conv-bn fusion pass, a graph rewrite), knowledge
distillation (teacher / student, soft targets with temperature, cosine hidden loss), the
meta device (to_empty, reset_parameters), reproducibility (seeds, generators, deterministic
flags), complex numbers (polar, angle, complex autograd), and torch.compile on a small
function and model. Run by prog_s29_PR20_all.py.
"""
# ruff: noqa: B006, B007, E501, E731, E741, N802, N803, N806, UP031, UP032 - the tutorials' code as written

import math

import torch
import torch.autograd.forward_ad as fwAD
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch import nn, optim


class Fn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, foo):
        result = torch.exp(foo)
        ctx.result = result
        return result

    @staticmethod
    def jvp(ctx, gI):
        gO = gI * ctx.result
        del ctx.result
        return gO


def section_forward_ad() -> None:
    with printed("t20_fwad.log"):
        primal = torch.randn(4, 4)
        tangent = torch.randn(4, 4)

        def fn(x, y):
            return x ** 2 + y ** 2

        with fwAD.dual_level():
            dual_input = fwAD.make_dual(primal, tangent)
            assert fwAD.unpack_dual(dual_input).tangent is tangent
            dual_input_alt = fwAD.make_dual(primal, tangent.T)
            assert fwAD.unpack_dual(dual_input_alt).tangent is not tangent
            plain_tensor = torch.randn(4, 4)
            dual_output = fn(dual_input, plain_tensor)
            jvp = fwAD.unpack_dual(dual_output).tangent
            print(jvp[0], torch.allclose(jvp, 2 * primal * tangent))
            print(fwAD.unpack_dual(dual_output).primal.shape, fwAD.unpack_dual(plain_tensor).tangent)
        print(fwAD.unpack_dual(dual_output).tangent)
        model = nn.Linear(5, 5)
        input = torch.randn(16, 5)
        params = {name: p for name, p in model.named_parameters()}
        tangents = {name: torch.rand_like(p) for name, p in params.items()}
        with fwAD.dual_level():
            for name, p in params.items():
                delattr(model, name)
                setattr(model, name, fwAD.make_dual(p, tangents[name]))
            out = model(input)
            jvp = fwAD.unpack_dual(out).tangent
        # (PyTorch's tangent here requires grad, through the primal weight: KNOWN in the test)
        print(jvp.shape, jvp.detach()[0])
        from torch.func import functional_call
        model = nn.Linear(5, 5)
        dual_params = {}
        with fwAD.dual_level():
            for name, p in params.items():
                dual_params[name] = fwAD.make_dual(p, tangents[name])
            out = functional_call(model, dual_params, input)
            jvp2 = fwAD.unpack_dual(out).tangent
        print(torch.allclose(jvp, jvp2))
        primal = torch.randn(10, 10, dtype=torch.double)
        tangent = torch.randn(10, 10, dtype=torch.double)
        with fwAD.dual_level():
            dual_input = fwAD.make_dual(primal, tangent)
            dual_output = Fn.apply(dual_input)
            jvp = fwAD.unpack_dual(dual_output).tangent
        print(torch.allclose(jvp, tangent * primal.exp()))
        print(torch.autograd.gradcheck(Fn.apply, (primal.requires_grad_(),), check_forward_ad=True,
                                       check_backward_ad=False, check_undefined_grad=False, check_batched_grad=False))
        from torch.func import jvp as ft_jvp
        x = torch.randn(5)
        y = torch.randn(5)
        f = lambda x, y: (x * y)
        _, output = ft_jvp(f, (x, y), (torch.ones(5), torch.ones(5)))
        print(torch.allclose(output, x + y))
        from torch.func import jacfwd, vmap
        print(vmap(jacfwd(torch.sin))(torch.tensor([[0.0, 1.0]])))


class MyCube(torch.autograd.Function):
    @staticmethod
    def forward(x):
        result = x ** 3
        dx = 3 * x ** 2
        return result, dx

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, = inputs
        result, dx = output
        ctx.save_for_backward(x, dx)

    @staticmethod
    def backward(ctx, grad_output, grad_dx):
        x, dx = ctx.saved_tensors
        result = grad_output * dx + grad_dx * 6 * x
        return result


def my_cube(x):
    result, dx = MyCube.apply(x)
    return result


def convolution_backward(grad_out, X, weight):
    grad_input = F.conv2d(X.transpose(0, 1), grad_out.transpose(0, 1)).transpose(0, 1)
    grad_X = F.conv_transpose2d(grad_out, weight)
    return grad_X, grad_input


class Conv2D(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, weight):
        ctx.save_for_backward(X, weight)
        return F.conv2d(X, weight)

    @staticmethod
    def backward(ctx, grad_out):
        X, weight = ctx.saved_tensors
        return convolution_backward(grad_out, X, weight)


def unsqueeze_all(t):
    return t[None, :, None, None]


def batch_norm_backward(grad_out, X, sum, sqrt_var, N, eps):
    tmp = ((X - unsqueeze_all(sum) / N) * grad_out).sum(dim=(0, 2, 3))
    tmp *= -1
    d_denom = tmp / (sqrt_var + eps) ** 2
    d_var = d_denom / (2 * sqrt_var)
    d_mean_dx = grad_out / unsqueeze_all(sqrt_var + eps)
    d_mean_dx = unsqueeze_all(-d_mean_dx.sum(dim=(0, 2, 3)) / N)
    grad_input = X * unsqueeze_all(d_var * N)
    grad_input += unsqueeze_all(-d_var * sum)
    grad_input *= 2 / ((N - 1) * N)
    grad_input += d_mean_dx
    grad_input *= unsqueeze_all(sqrt_var + eps)
    grad_input += grad_out
    grad_input /= unsqueeze_all(sqrt_var + eps)
    return grad_input


class FusedConvBN2DFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, X, conv_weight, eps=1e-3):
        assert X.ndim == 4
        ctx.save_for_backward(X, conv_weight)
        X = F.conv2d(X, conv_weight)
        sum = X.sum(dim=(0, 2, 3))
        var = X.var(dim=(0, 2, 3))
        N = X.numel() / X.size(1)
        sqrt_var = torch.sqrt(var)
        ctx.eps = eps
        ctx.sum = sum
        ctx.N = N
        ctx.sqrt_var = sqrt_var
        mean = sum / N
        denom = sqrt_var + eps
        out = X - unsqueeze_all(mean)
        out /= unsqueeze_all(denom)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        X, conv_weight, = ctx.saved_tensors
        X_conv_out = F.conv2d(X, conv_weight)
        grad_out = batch_norm_backward(grad_out, X_conv_out, ctx.sum, ctx.sqrt_var, ctx.N, ctx.eps)
        grad_X, grad_input = convolution_backward(grad_out, X, conv_weight)
        return grad_X, grad_input, None, None, None, None, None


class FusedConvBN(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, exp_avg_factor=0.1, eps=1e-3):
        super().__init__()
        weight_shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.conv_weight = nn.Parameter(torch.empty(*weight_shape))
        self.eps = eps
        self.reset_parameters()

    def forward(self, X):
        return FusedConvBN2DFunction.apply(X, self.conv_weight, self.eps)

    def reset_parameters(self) -> None:
        nn.init.kaiming_uniform_(self.conv_weight, a=math.sqrt(5))


def section_double_backward() -> None:
    with printed("t20_dbl.log"):
        x = torch.tensor(2.0, requires_grad=True, dtype=torch.double)
        print(torch.autograd.gradcheck(my_cube, x), torch.autograd.gradgradcheck(my_cube, x))
        out = my_cube(x)
        grad_x, = torch.autograd.grad(out, x, create_graph=True)
        print(grad_x, torch.autograd.grad(grad_x, x))
        print(out.grad_fn, grad_x.grad_fn)

        class Exp(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                result = torch.exp(x)
                ctx.save_for_backward(result)
                return result

            @staticmethod
            def backward(ctx, grad_out):
                result, = ctx.saved_tensors
                return grad_out * result

        x = torch.tensor(1.0, requires_grad=True, dtype=torch.double).clone()
        print(torch.autograd.gradcheck(Exp.apply, x), torch.autograd.gradgradcheck(Exp.apply, x))
        weight = torch.rand(3, 2, 3, 3, requires_grad=True, dtype=torch.double)
        X = torch.rand(2, 2, 5, 5, requires_grad=True, dtype=torch.double)
        print(torch.autograd.gradcheck(Conv2D.apply, (X, weight)))
        weight = torch.rand(3, 2, 2, 2, requires_grad=True, dtype=torch.double)
        X = torch.rand(2, 2, 3, 3, requires_grad=True, dtype=torch.double)
        print(torch.autograd.gradcheck(FusedConvBN2DFunction.apply, (X, weight)))
        torch.manual_seed(11)
        fused = FusedConvBN(1, 4, 3)
        unfused = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4, affine=False, eps=1e-3))
        with torch.no_grad():
            unfused[0].weight.copy_(fused.conv_weight)
        data = torch.randn(6, 1, 6, 6)
        a, b = fused(data), unfused(data)
        print(a.shape, (a - b).abs().max() < 0.1, a[0, 0, 0])
        opt = optim.SGD(fused.parameters(), lr=0.01)
        for step in range(3):
            opt.zero_grad()
            loss = fused(data).pow(3).mean()
            loss.backward()
            opt.step()
            print(step, f"{loss.item():.6f}")
        put("t20_dbl.w", fused.conv_weight)


def section_saved_hooks() -> None:
    with printed("t20_saved.log"):
        a = torch.randn(5, requires_grad=True)
        b = torch.ones(5, requires_grad=True)
        c = torch.ones(5, requires_grad=True)
        y = a * b + a * c
        print(y.grad_fn.next_functions[0][0].name())
        # (a node's saved tensors as attributes, y.grad_fn._saved_self: KNOWN in the test)
        events = []

        def pack_hook(x):
            events.append(("Packing", tuple(x.shape)))
            return x

        def unpack_hook(x):
            events.append(("Unpacking", tuple(x.shape)))
            return x

        a = torch.ones(5, requires_grad=True)
        b = torch.ones(5, requires_grad=True) * 2
        with torch.autograd.graph.saved_tensors_hooks(pack_hook, unpack_hook):
            y = a * b
        y.sum().backward()
        print(events, a.grad)
        storage = []

        def pack(x):
            storage.append(x.clone())
            return len(storage) - 1

        def unpack(i):
            return storage[i]

        x = torch.randn(3, requires_grad=True)
        with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
            y = x.sin().sum()
        y.backward()
        print(len(storage), torch.allclose(x.grad, x.cos()))
        with torch.autograd.graph.save_on_cpu(pin_memory=False):
            z = (x * x).sum()
        z.backward()
        print(x.grad)
        with torch.autograd.graph.disable_saved_tensors_hooks("not allowed here"):
            try:
                with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
                    pass
            except RuntimeError as e:
                print("RuntimeError", e)
        # activation checkpointing
        from torch.utils.checkpoint import checkpoint, checkpoint_sequential
        torch.manual_seed(12)
        model = nn.Sequential(nn.Linear(6, 6), nn.ReLU(), nn.Linear(6, 6), nn.Tanh(), nn.Linear(6, 2))
        inp = torch.randn(3, 6, requires_grad=True)
        out_plain = model(inp).sum()
        out_plain.backward()
        g_plain = [inp.grad.clone(), model[0].weight.grad.clone()]
        inp.grad = None
        model.zero_grad()
        # (torch.autograd.grad through a checkpoint: KNOWN in the test)
        out_ck = checkpoint(model, inp, use_reentrant=False).sum()
        out_ck.backward()
        g_ck = [inp.grad, model[0].weight.grad]
        print(torch.allclose(g_plain[0], g_ck[0]), torch.allclose(g_plain[1], g_ck[1]), out_ck)
        inp.grad = None
        out_seq = checkpoint_sequential(model, 2, inp, use_reentrant=False).sum()
        print(torch.allclose(out_seq, out_plain))
        drop = nn.Sequential(nn.Linear(6, 6), nn.Dropout(0.5))
        torch.manual_seed(3)
        o = checkpoint(drop, inp, use_reentrant=False)
        o.sum().backward()
        print(o[0], inp.grad[0])
        put("t20_saved.g", inp.grad)


def section_sdpa() -> None:
    torch.manual_seed(13)
    with printed("t20_sdpa.log"):
        query, key, value = torch.randn(2, 3, 8), torch.randn(2, 3, 8), torch.randn(2, 3, 8)
        print(F.scaled_dot_product_attention(query, key, value))

        def math_attention(q, k, v, mask=None, is_causal=False, scale=None):
            L, S = q.size(-2), k.size(-2)
            scale_factor = 1 / math.sqrt(q.size(-1)) if scale is None else scale
            attn_bias = torch.zeros(L, S, dtype=q.dtype)
            if is_causal:
                temp_mask = torch.ones(L, S, dtype=torch.bool).tril(diagonal=0)
                attn_bias.masked_fill_(temp_mask.logical_not(), float("-inf"))
            if mask is not None:
                if mask.dtype == torch.bool:
                    attn_bias = attn_bias.masked_fill(mask.logical_not(), float("-inf"))
                else:
                    attn_bias = attn_bias + mask
            attn_weight = q @ k.transpose(-2, -1) * scale_factor
            attn_weight += attn_bias
            attn_weight = torch.softmax(attn_weight, dim=-1)
            return attn_weight @ v

        q = torch.randn(2, 2, 5, 4)
        k = torch.randn(2, 2, 6, 4)
        v = torch.randn(2, 2, 6, 4)
        mask = torch.rand(5, 6) > 0.3
        mask[:, 0] = True
        for kwargs in ({}, {"attn_mask": mask}, {"scale": 0.3}, {"attn_mask": torch.randn(5, 6)}):
            ours = F.scaled_dot_product_attention(q, k, v, **kwargs)
            ref = math_attention(q, k, v, mask=kwargs.get("attn_mask"), scale=kwargs.get("scale"))
            print(sorted(kwargs), ours.shape, torch.allclose(ours, ref, atol=1e-6))
        qc = torch.randn(1, 2, 4, 4)
        print(torch.allclose(F.scaled_dot_product_attention(qc, qc, qc, is_causal=True),
                             math_attention(qc, qc, qc, is_causal=True), atol=1e-6))
        from torch.nn.attention import SDPBackend, sdpa_kernel
        with sdpa_kernel(backends=[SDPBackend.MATH]):
            print(F.scaled_dot_product_attention(qc, qc, qc)[0, 0, 0])
        print(SDPBackend.MATH, SDPBackend.FLASH_ATTENTION.name)

        class CausalSelfAttention(nn.Module):
            def __init__(self, num_heads, embed_dimension, bias=False, is_causal=False, dropout=0.0):
                super().__init__()
                assert embed_dimension % num_heads == 0
                self.c_attn = nn.Linear(embed_dimension, 3 * embed_dimension, bias=bias)
                self.c_proj = nn.Linear(embed_dimension, embed_dimension, bias=bias)
                self.dropout = dropout
                self.resid_dropout = nn.Dropout(dropout)
                self.num_heads = num_heads
                self.embed_dimension = embed_dimension
                self.is_causal = is_causal

            def forward(self, x):
                query_projected = self.c_attn(x)
                batch_size = query_projected.size(0)
                embed_dim = query_projected.size(2)
                head_dim = embed_dim // (self.num_heads * 3)
                query, key, value = query_projected.chunk(3, -1)
                query = query.view(batch_size, -1, self.num_heads, head_dim).transpose(1, 2)
                key = key.view(batch_size, -1, self.num_heads, head_dim).transpose(1, 2)
                value = value.view(batch_size, -1, self.num_heads, head_dim).transpose(1, 2)
                dropout = self.dropout if self.training else 0.0
                is_causal = self.is_causal if self.training else False
                y = F.scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=dropout, is_causal=is_causal)
                y = y.transpose(1, 2).view(batch_size, -1, self.num_heads * head_dim)
                y = self.resid_dropout(self.c_proj(y))
                return y

        model = CausalSelfAttention(num_heads=2, embed_dimension=8, bias=False, is_causal=True, dropout=0.1).eval()
        print(model)
        x = torch.rand(2, 5, 8)
        print(model(x)[0, 0])
        out = model(x)
        model.train()
        try:  # (with dropout PyTorch's CPU math kernel answers in the standard layout)
            model(x)
        except RuntimeError as e:
            print("RuntimeError", str(e)[:60])
        model.dropout = 0.0
        out_train = model(x)
        print(out_train.shape, out_train[0, -1], torch.allclose(out, out_train))
        out_train.sum().backward()
        print(model.c_attn.weight.grad[0])
        put("t20_sdpa.out", out)


def section_ntk() -> None:
    torch.manual_seed(14)
    from torch.func import functional_call, jacrev, jvp, vjp, vmap
    with printed("t20_ntk.log"):
        class CNN(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(3, 4, (3, 3))
                self.conv2 = nn.Conv2d(4, 4, (3, 3))
                self.conv3 = nn.Conv2d(4, 4, (3, 3))
                self.fc = nn.Linear(4, 3)

            def forward(self, x):
                x = self.conv1(x)
                x = x.relu()
                x = self.conv2(x)
                x = x.relu()
                x = self.conv3(x)
                x = x.mean((-1, -2))
                x = self.fc(x)
                return x

        x_train = torch.randn(4, 3, 8, 8)
        x_test = torch.randn(3, 3, 8, 8)
        net = CNN()

        def fnet_single(params, x):
            return functional_call(net, params, (x.unsqueeze(0),)).squeeze(0)

        params = {k: v.detach() for k, v in net.named_parameters()}

        def empirical_ntk_jacobian_contraction(fnet_single, params, x1, x2):
            jac1 = vmap(jacrev(fnet_single), (None, 0))(params, x1)
            jac1 = jac1.values()
            jac1 = [j.flatten(2) for j in jac1]
            jac2 = vmap(jacrev(fnet_single), (None, 0))(params, x2)
            jac2 = jac2.values()
            jac2 = [j.flatten(2) for j in jac2]
            result = torch.stack([torch.einsum("Naf,Mbf->NMab", j1, j2) for j1, j2 in zip(jac1, jac2)])
            result = result.sum(0)
            return result

        result = empirical_ntk_jacobian_contraction(fnet_single, params, x_train, x_test)
        print(result.shape)
        print(result[0, 0])

        def empirical_ntk_ntk_vps(func, params, x1, x2, compute="full"):
            def get_ntk(x1, x2):
                def func_x1(params):
                    return func(params, x1)

                def func_x2(params):
                    return func(params, x2)

                output, vjp_fn = vjp(func_x1, params)

                def get_ntk_slice(vec):
                    vjps = vjp_fn(vec)
                    _, jvps = jvp(func_x2, (params,), vjps)
                    return jvps

                basis = torch.eye(output.numel(), dtype=output.dtype).view(output.numel(), -1)
                return vmap(get_ntk_slice)(basis)

            result = vmap(vmap(get_ntk, (None, 0)), (0, None))(x1, x2)
            if compute == "full":
                return result
            if compute == "trace":
                return torch.einsum("NMKK->NM", result)
            if compute == "diagonal":
                return torch.einsum("NMKK->NMK", result)

        result_from_ntk_vps = empirical_ntk_ntk_vps(fnet_single, params, x_train, x_test)
        print(torch.allclose(result, result_from_ntk_vps, atol=1e-4), result_from_ntk_vps.shape)
        print(empirical_ntk_ntk_vps(fnet_single, params, x_train[:2], x_test[:1], "trace"))
        put("t20_ntk.res", result)


HANDLED_FUNCTIONS = {}


class ScalarTensor:
    def __init__(self, N, value):
        self._N = N
        self._value = value

    def __repr__(self):
        return "ScalarTensor(N={}, value={})".format(self._N, self._value)

    def tensor(self):
        return self._value * torch.eye(self._N)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        if func not in HANDLED_FUNCTIONS or not all(issubclass(t, (torch.Tensor, ScalarTensor)) for t in types):
            return NotImplemented
        return HANDLED_FUNCTIONS[func](*args, **kwargs)


def implements(torch_function):
    def decorator(func):
        HANDLED_FUNCTIONS[torch_function] = func
        return func
    return decorator


@implements(torch.mean)
def mean(input):
    return float(input._value) / input._N


@implements(torch.add)
def add(input, other):
    try:
        if input._N == other._N:
            return ScalarTensor(input._N, input._value + other._value)
        else:
            raise ValueError("Shape mismatch!")
    except AttributeError:
        return torch.add(input.tensor(), other)


class LoggingTensor(torch.Tensor):
    calls = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        LoggingTensor.calls.append(getattr(func, "__name__", str(func)))
        return super().__torch_function__(func, types, args, kwargs or {})


class MetadataTensor:
    def __init__(self, data, metadata=None, **kwargs):
        self._t = torch.as_tensor(data, **kwargs)
        self._metadata = metadata

    def __repr__(self):
        return "Metadata:\n{}\n\ndata:\n{}".format(self._metadata, self._t)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if kwargs is None:
            kwargs = {}
        metadatas = tuple(a._metadata for a in args if hasattr(a, "_metadata"))
        args = [getattr(a, "_t", a) for a in args]
        assert len(metadatas) > 0
        ret = func(*args, **kwargs)
        return MetadataTensor(ret, metadata=metadatas[0])


def section_torch_function() -> None:
    with printed("t20_tfunc.log"):
        d = ScalarTensor(5, 2)
        print(d)
        print(d.tensor())
        print(torch.mean(d))
        print(torch.add(d, d), torch.add(d, torch.ones(5, 5))[0])
        try:
            torch.mul(d, 2)
        except TypeError as e:
            print("TypeError", str(e)[:40])
        t = torch.arange(4.0).as_subclass(LoggingTensor)
        r = (t * 2).sum()
        print(type(r).__name__, r, LoggingTensor.calls[:3])
        print(type(t[1:]).__name__, type(torch.relu(t)).__name__, type(t.detach()).__name__)
        metadata = {"owner": "Ministry of Silly Walks"}
        m = MetadataTensor([[1, 2], [3, 4]], metadata=metadata)
        t = torch.tensor([[1, 2], [1, 2]])
        print(torch.add(t, m))
        print(torch.mul(t, m)._metadata)
        print(torch.overrides.has_torch_function((m,)), torch.overrides.is_tensor_like(m))
        print(len(torch.overrides.get_ignored_functions()) > 10, torch.add in torch.overrides.get_overridable_functions()[torch])


def section_fx() -> None:
    import torch.fx as fx
    torch.manual_seed(15)
    with printed("t20_fx.log"):
        class MyModule(nn.Module):
            def __init__(self):
                super().__init__()
                self.param = nn.Parameter(torch.rand(3, 4))
                self.linear = nn.Linear(4, 5)

            def forward(self, x):
                return self.linear(x + self.param).clamp(min=0.0, max=1.0)

        module = MyModule()
        symbolic_traced = fx.symbolic_trace(module)
        print(symbolic_traced.graph)
        print(symbolic_traced.code)
        for node in symbolic_traced.graph.nodes:
            print(node.op, node.name, node.target, node.args)
        x = torch.rand(3, 4)
        print(torch.allclose(symbolic_traced(x), module(x)))

        def transform(m: nn.Module) -> nn.Module:
            gm = fx.symbolic_trace(m)
            for node in gm.graph.nodes:
                if node.op == "call_function" and node.target == torch.add:
                    node.target = torch.mul
            gm.recompile()
            return gm

        class M(nn.Module):
            def forward(self, x, y):
                return torch.add(x, y)

        gm = transform(M())
        print(gm(torch.tensor([2.0]), torch.tensor([3.0])), gm.code.strip().splitlines()[-2].strip())
        # conv-bn fusion for inference
        import copy

        def fuse_conv_bn_eval(conv, bn):
            fused_conv = copy.deepcopy(conv)
            w, b = fused_conv.weight, fused_conv.bias
            bn_var_rsqrt = torch.rsqrt(bn.running_var + bn.eps)
            if b is None:
                b = torch.zeros_like(bn.running_mean)
            new_w = w * (bn.weight * bn_var_rsqrt).reshape([-1] + [1] * (len(w.shape) - 1))
            new_b = (b - bn.running_mean) * bn_var_rsqrt * bn.weight + bn.bias
            fused_conv.weight = nn.Parameter(new_w)
            fused_conv.bias = nn.Parameter(new_b)
            return fused_conv

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(2, 4, 3)
                self.bn = nn.BatchNorm2d(4)
                self.head = nn.Linear(4, 2)

            def forward(self, x):
                x = F.relu(self.bn(self.conv(x)))
                return self.head(x.mean((2, 3)))

        net = Net()
        net.train()
        for _ in range(3):
            net(torch.randn(5, 2, 6, 6))
        net.eval()

        def fuse(model):
            model = copy.deepcopy(model)
            fx_model = fx.symbolic_trace(model)
            modules = dict(fx_model.named_modules())
            for node in fx_model.graph.nodes:
                if node.op != "call_module":
                    continue
                if type(modules[node.target]) is nn.BatchNorm2d and type(modules[node.args[0].target]) is nn.Conv2d:
                    if len(node.args[0].users) > 1:
                        continue
                    conv = modules[node.args[0].target]
                    bn = modules[node.target]
                    fused_conv = fuse_conv_bn_eval(conv, bn)
                    parent_name, name = node.args[0].target.rsplit(".", 1) if "." in node.args[0].target else ("", node.args[0].target)
                    setattr(modules[parent_name] if parent_name else fx_model, name, fused_conv)
                    node.replace_all_uses_with(node.args[0])
                    fx_model.graph.erase_node(node)
            fx_model.graph.lint()
            fx_model.recompile()
            return fx_model

        fused = fuse(net)
        inp = torch.randn(3, 2, 6, 6)
        print(torch.allclose(fused(inp), net(inp), atol=1e-5), [n.op for n in fused.graph.nodes])
        print(fused.code)

        class Seq(nn.Module):
            def forward(self, x):
                return torch.relu(x).neg() * 2

        g = fx.symbolic_trace(Seq())
        for node in g.graph.nodes:
            if node.op == "call_method" and node.target == "neg":
                with g.graph.inserting_after(node):
                    new = g.graph.call_function(torch.abs, (node,))
                    node.replace_all_uses_with(new)
                    new.args = (node,)
        g.recompile()
        print(g(torch.tensor([-1.0, 2.0])), [n.name for n in g.graph.nodes])


def section_distill() -> None:
    torch.manual_seed(16)
    centers = torch.randn(3, 12)
    ys = torch.randint(0, 3, (60,))
    xs = centers[ys] + 0.7 * torch.randn(60, 12)
    with printed("t20_distill.log"):
        class DeepNN(nn.Module):
            def __init__(self, num_classes=3):
                super().__init__()
                self.features = nn.Sequential(nn.Linear(12, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU())
                self.classifier = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, num_classes))

            def forward(self, x):
                x = self.features(x)
                x = self.classifier(x)
                return x

        class LightNN(nn.Module):
            def __init__(self, num_classes=3):
                super().__init__()
                self.features = nn.Sequential(nn.Linear(12, 8), nn.ReLU())
                self.classifier = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, num_classes))

            def forward(self, x):
                x = self.features(x)
                x = self.classifier(x)
                return x

        train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(xs, ys), batch_size=20, shuffle=True)

        def train(model, train_loader, epochs, learning_rate):
            criterion = nn.CrossEntropyLoss()
            optimizer = optim.Adam(model.parameters(), lr=learning_rate)
            model.train()
            for epoch in range(epochs):
                running_loss = 0.0
                for inputs, labels in train_loader:
                    optimizer.zero_grad()
                    outputs = model(inputs)
                    loss = criterion(outputs, labels)
                    loss.backward()
                    optimizer.step()
                    running_loss += loss.item()
                print(f"Epoch {epoch+1}/{epochs}, Loss: {running_loss / len(train_loader)}")

        def test(model, test_loader):
            model.eval()
            correct = 0
            total = 0
            with torch.no_grad():
                for inputs, labels in test_loader:
                    outputs = model(inputs)
                    _, predicted = torch.max(outputs.data, 1)
                    total += labels.size(0)
                    correct += (predicted == labels).sum().item()
            accuracy = 100 * correct / total
            print(f"Test Accuracy: {accuracy:.2f}%")
            return accuracy

        nn_deep = DeepNN()
        train(nn_deep, train_loader, epochs=3, learning_rate=0.01)
        test(nn_deep, train_loader)
        nn_light = LightNN()
        total_params_deep = "{:,}".format(sum(p.numel() for p in nn_deep.parameters()))
        print(f"DeepNN parameters: {total_params_deep}")
        print(f"LightNN parameters: {sum(p.numel() for p in nn_light.parameters()):,}")

        def train_knowledge_distillation(teacher, student, train_loader, epochs, learning_rate, T, soft_target_loss_weight, ce_loss_weight):
            ce_loss = nn.CrossEntropyLoss()
            optimizer = optim.Adam(student.parameters(), lr=learning_rate)
            teacher.eval()
            student.train()
            for epoch in range(epochs):
                running_loss = 0.0
                for inputs, labels in train_loader:
                    optimizer.zero_grad()
                    with torch.no_grad():
                        teacher_logits = teacher(inputs)
                    student_logits = student(inputs)
                    soft_targets = nn.functional.softmax(teacher_logits / T, dim=-1)
                    soft_prob = nn.functional.log_softmax(student_logits / T, dim=-1)
                    soft_targets_loss = torch.sum(soft_targets * (soft_targets.log() - soft_prob)) / soft_prob.size()[0] * (T**2)
                    label_loss = ce_loss(student_logits, labels)
                    loss = soft_target_loss_weight * soft_targets_loss + ce_loss_weight * label_loss
                    loss.backward()
                    optimizer.step()
                    running_loss += loss.item()
                print(f"Epoch {epoch+1}/{epochs}, Loss: {running_loss / len(train_loader)}")

        train_knowledge_distillation(teacher=nn_deep, student=nn_light, train_loader=train_loader, epochs=3,
                                     learning_rate=0.01, T=2, soft_target_loss_weight=0.25, ce_loss_weight=0.75)
        test(nn_light, train_loader)
        kl = nn.KLDivLoss(reduction="batchmean")
        s = F.log_softmax(nn_light(xs[:5]), -1)
        t = F.softmax(nn_deep(xs[:5]), -1)
        print(kl(s, t), F.kl_div(s, t, reduction="batchmean", log_target=False))
        cosine_loss = nn.CosineEmbeddingLoss()
        h1, h2 = nn_deep.features(xs[:4]), torch.randn(4, 16)
        print(cosine_loss(h1, h2, target=torch.ones(4)), F.cosine_similarity(h1, h2).shape)
        put("t20_distill.w", nn_light.features[0].weight)


def section_meta_repro() -> None:
    with printed("t20_meta.log"):
        with torch.device("meta"):
            big = nn.Linear(4, 3)
        print(big.weight.device, big.weight.shape, big.weight.is_meta)
        print(big.weight)
        m = nn.Linear(4, 3, device="meta")
        m.to_empty(device="cpu")
        torch.manual_seed(0)
        m.reset_parameters()
        torch.manual_seed(0)
        ref = nn.Linear(4, 3)
        print(torch.equal(m.weight, ref.weight), m.weight.device)
        t = torch.empty(2, 3, device="meta")
        print(t, (t + 1).shape, t.sum().device)
        try:
            t.tolist()
        except Exception as e:  # noqa: BLE001
            print(type(e).__name__)
        torch.manual_seed(17)
        a = torch.rand(3)
        torch.manual_seed(17)
        b = torch.rand(3)
        print(torch.equal(a, b), torch.initial_seed())
        g = torch.Generator().manual_seed(123)
        s = g.get_state()
        x1 = torch.randn(2, generator=g)
        g.set_state(s)
        x2 = torch.randn(2, generator=g)
        print(torch.equal(x1, x2), g.initial_seed(), x1)
        st = torch.get_rng_state()
        y1 = torch.rand(2)
        torch.set_rng_state(st)
        print(torch.equal(y1, torch.rand(2)), st.dtype, st.shape)
        torch.use_deterministic_algorithms(True)
        print(torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic)
        torch.use_deterministic_algorithms(False)
        torch.backends.cudnn.benchmark = False
        print(torch.are_deterministic_algorithms_enabled(), torch.get_default_dtype())
        torch.set_default_dtype(torch.float64)
        print(torch.tensor([1.5]).dtype, torch.randn(1).dtype, nn.Linear(1, 1).weight.dtype)
        torch.set_default_dtype(torch.float32)
        torch.set_default_device("cpu")
        print(torch.tensor([1]).device, torch.get_default_device())
        torch.manual_seed(5)
        dl = torch.utils.data.DataLoader(list(range(8)), batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(9))
        print([b.tolist() for b in dl], [b.tolist() for b in dl])

        def seed_worker(worker_id):
            import random
            worker_seed = torch.initial_seed() % 2**32
            random.seed(worker_seed)

        print(callable(seed_worker), torch.seed() > 0)


def section_complex() -> None:
    torch.manual_seed(18)
    with printed("t20_complex.log"):
        x = torch.randn(2, 2, dtype=torch.cfloat)
        print(x)
        y = torch.randn(2, 2)
        z = torch.view_as_complex(torch.stack([y, y + 1], dim=-1))
        print(z, torch.view_as_real(z).shape)
        # (z.conj().is_conj(): PyTorch's lazy conjugate bit; KNOWN in the test)
        print(z.real, z.imag, z.abs(), z.angle(), z.conj(), z.conj().resolve_conj().is_conj())
        print(torch.polar(torch.tensor([1.0, 2.0]), torch.tensor([0.0, math.pi / 2])))
        print(torch.complex(torch.tensor([1.0]), torch.tensor([-2.0])), x.dtype, x.real.dtype)
        # (z @ z^H's diagonal imaginary parts are rounding: exactly 0 from PyTorch's kernel and
        # from OpenBLAS's Haswell one, ~1e-7 from its SkylakeX one with fused multiply-adds)
        gram = torch.matmul(z, z.conj().T)
        print(gram.real, gram.imag.diagonal().abs().max() < 1e-5, gram[0, 1],
              torch.linalg.eigvals(torch.tensor([[0.0, -1.0], [1.0, 0.0]])))
        w = torch.randn(3, dtype=torch.cfloat, requires_grad=True)
        loss = (w * w.conj()).real.sum()
        loss.backward()
        print(w.grad, torch.allclose(w.grad, 2 * w.detach()))
        x = torch.randn(8)
        X = torch.fft.fft(x)
        print(X.dtype, torch.allclose(torch.fft.ifft(X).real, x, atol=1e-6), torch.fft.rfft(x).shape)
        print(torch.fft.fftfreq(4), torch.fft.fftshift(torch.arange(4)))
        a = torch.tensor([1 + 1j, 2 - 1j])
        print(a * 2, a.sum(), a.mean(), a / a, torch.exp(a), a.abs().dtype)
        print(torch.tensor(1 + 2j).item(), complex(torch.tensor(3 - 1j)))


def section_compile() -> None:
    with printed("t20_compile.log", warnings_too=False):
        def foo(x, y):
            a = torch.sin(x)
            b = torch.cos(y)
            return a + b

        opt_foo1 = torch.compile(foo)
        x, y = torch.randn(5, 5), torch.randn(5, 5)
        print(torch.allclose(opt_foo1(x, y), foo(x, y)))

        @torch.compile
        def opt_foo2(x, y):
            a = torch.sin(x)
            b = torch.cos(y)
            return a + b

        print(torch.allclose(opt_foo2(x, y), foo(x, y)))

        class MyModule(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(5, 5)

            def forward(self, x):
                return nn.functional.relu(self.lin(x))

        mod = MyModule()
        mod.compile()
        opt_mod = torch.compile(mod)
        print(torch.allclose(opt_mod(x), mod(x)), type(opt_mod).__name__, opt_mod._orig_mod is mod)
        print(list(opt_mod.state_dict())[:1], isinstance(opt_mod, nn.Module))
        torch._dynamo.reset()
        print(torch.compiler.is_compiling(), torch.compiler.is_dynamo_compiling())


def section_printed_objects() -> None:
    import torch.nn.utils.prune as prune
    from torch.utils.data import DataLoader, RandomSampler, Subset, TensorDataset
    with printed("t20_objects.log"):
        model = nn.Linear(3, 2)
        opt = optim.SGD(model.parameters(), lr=0.1)
        scheduler = optim.lr_scheduler.StepLR(opt, step_size=2)
        ds = TensorDataset(torch.ones(4, 3), torch.zeros(4))
        loader = DataLoader(ds, batch_size=2, sampler=RandomSampler(ds))
        for obj in (scheduler, optim.lr_scheduler.ReduceLROnPlateau(opt), ds, Subset(ds, [0]),
                    loader, loader.sampler, loader.batch_sampler):
            print(obj, type(obj))
        print(type(opt), optim.Adam, optim.lr_scheduler.OneCycleLR, torch.utils.data.Dataset)
        prune.l1_unstructured(model, "weight", amount=1)
        # (the repr's keys are handle ids from a process-wide counter: only its form here)
        print(list(model._forward_pre_hooks.values()),
              repr(model._forward_pre_hooks).split(", <")[0].split("(")[:2])
        print(type(model.weight_orig).__name__ in ("Parameter", "Tensor"))

        class MyFn(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = torch.ones(2, requires_grad=True)
        y = MyFn.apply(x)
        print(y.grad_fn, type(y.grad_fn), y.grad_fn.name(), y)
        print((y * 2).grad_fn, type((y * 2).grad_fn), (y * 2).grad_fn.next_functions)


SECTIONS = {
    "t20_fwad": section_forward_ad, "t20_dbl": section_double_backward,
    "t20_saved": section_saved_hooks, "t20_sdpa": section_sdpa, "t20_ntk": section_ntk,
    "t20_tfunc": section_torch_function, "t20_fx": section_fx, "t20_distill": section_distill,
    "t20_meta": section_meta_repro, "t20_complex": section_complex,
    "t20_compile": section_compile, "t20_objects": section_printed_objects,
}
