"""The topics of PyTorch's advanced tutorials (PR20, session 29; written afresh, tiny sizes):
double backward through custom Functions and a convolution + per-channel normalisation fused
into one Function with a hand-derived backward (session 30: in our own code), saved-tensor
hooks (pack / unpack, save_on_cpu, a grad_fn's raw saved tensors), activation checkpointing,
the scaled-dot-product-attention tutorial (masks, causal, dropout off, the math reference),
extending torch with ``__torch_function__`` (a ScalarTensor and a logging subclass), torch.fx
(symbolic_trace, the graph's nodes, a conv-bn fusion pass, a graph rewrite), the meta device
(to_empty, reset_parameters), reproducibility (seeds, generators, deterministic flags),
complex numbers (polar, angle, complex autograd), and torch.compile on a small function and
model. Forward-mode AD, neural tangent kernels and knowledge distillation run in
prog_s17_PG_autograd.py, prog_s19_PG2_func.py and prog_s19_PG2_more.py. Run by
prog_s29_PR20_all.py.
"""
# ruff: noqa: B006, B007, E501, E731, E741, N802, N803, N806, UP031, UP032 - written as a reader types

import copy
import math

import torch
import torch.fx as fx
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch import nn, optim


class CubeAndSlope(torch.autograd.Function):
    """x -> (x**3, 3x**2). The backward reads the saved slope output, so a second derivative
    flows through a tensor the Function saved (double backward through a custom Function).
    Also run under vmap with a generated rule (prog_s29_PR20_notes.section_func_extend)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return x.pow(3), 3 * x.square()

    @staticmethod
    def setup_context(ctx, inputs, outputs):
        ctx.save_for_backward(inputs[0], outputs[1])

    @staticmethod
    def backward(ctx, grad_value, grad_slope):
        x, slope = ctx.saved_tensors
        return grad_value * slope + grad_slope * 6 * x


def cube(x):
    return CubeAndSlope.apply(x)[0]


def _conv_grads(grad, images, kernel):
    """(d images, d kernel) of F.conv2d(images, kernel) for an upstream gradient."""
    d_images = F.conv_transpose2d(grad, kernel)
    d_kernel = F.conv2d(images.transpose(0, 1), grad.transpose(0, 1)).transpose(0, 1)
    return d_images, d_kernel


class PlainConv(torch.autograd.Function):
    @staticmethod
    def forward(ctx, images, kernel):
        ctx.save_for_backward(images, kernel)
        return F.conv2d(images, kernel)

    @staticmethod
    def backward(ctx, grad):
        return _conv_grads(grad, *ctx.saved_tensors)


def _per_channel(v):
    return v.view(1, -1, 1, 1)


class ConvThenNormalise(torch.autograd.Function):
    """conv2d, then each channel's (y - mean) / (unbiased std + eps), as one graph node whose
    backward recomputes the convolution instead of keeping it."""

    @staticmethod
    def forward(ctx, images, kernel, eps=1e-3):
        ctx.save_for_backward(images, kernel)
        ctx.eps = eps
        y = F.conv2d(images, kernel)
        centred = y - _per_channel(y.mean(dim=(0, 2, 3)))
        return centred / _per_channel(y.std(dim=(0, 2, 3)) + eps)

    @staticmethod
    def backward(ctx, grad):
        images, kernel = ctx.saved_tensors
        y = F.conv2d(images, kernel)
        n = y.numel() // y.shape[1]
        centred = y - _per_channel(y.mean(dim=(0, 2, 3)))
        std = _per_channel(y.std(dim=(0, 2, 3)))
        denom = std + ctx.eps
        # d/dy of (y - mean) / (std + eps): the centred gradient over the denominator, less
        # what moves through the std (d std / dy = centred / ((n - 1) std))
        spread = _per_channel((grad * centred).sum(dim=(0, 2, 3)))
        d_y = ((grad - _per_channel(grad.mean(dim=(0, 2, 3)))) / denom
               - centred * spread / (denom ** 2 * (n - 1) * std))
        return (*_conv_grads(d_y, images, kernel), None)


class ConvNorm(nn.Module):
    def __init__(self, c_in, c_out, size, eps=1e-3):
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(c_out, c_in, size, size))
        self.eps = eps
        nn.init.kaiming_uniform_(self.kernel, a=math.sqrt(5))

    def forward(self, images):
        return ConvThenNormalise.apply(images, self.kernel, self.eps)


def section_double_backward() -> None:
    # (the double-backward tutorial's own MyCube runs in prog_s17_PG_autograd.py)
    with printed("t20_dbl.log"):
        x = torch.tensor(1.5, dtype=torch.double, requires_grad=True)
        print(torch.autograd.gradcheck(cube, x), torch.autograd.gradgradcheck(cube, x))
        value = cube(x)
        (slope,) = torch.autograd.grad(value, x, create_graph=True)
        print(value, slope, torch.autograd.grad(slope, x))
        print(value.grad_fn, slope.grad_fn)

        class SavedExp(torch.autograd.Function):
            @staticmethod
            def forward(ctx, v):
                out = v.exp()
                ctx.save_for_backward(out)
                return out

            @staticmethod
            def backward(ctx, grad):
                (out,) = ctx.saved_tensors
                return grad * out

        z = torch.tensor([0.5, -1.0], dtype=torch.double, requires_grad=True)
        print(torch.autograd.gradcheck(SavedExp.apply, z), torch.autograd.gradgradcheck(SavedExp.apply, z))
        kernel = torch.rand(3, 2, 3, 3, requires_grad=True, dtype=torch.double)
        images = torch.rand(2, 2, 5, 5, requires_grad=True, dtype=torch.double)
        print(torch.autograd.gradcheck(PlainConv.apply, (images, kernel)))
        kernel = torch.rand(3, 2, 2, 2, requires_grad=True, dtype=torch.double)
        images = torch.rand(2, 2, 3, 3, requires_grad=True, dtype=torch.double)
        print(torch.autograd.gradcheck(ConvThenNormalise.apply, (images, kernel)))
        torch.manual_seed(11)
        layer = ConvNorm(1, 4, 3)
        reference = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4, affine=False, eps=1e-3))
        with torch.no_grad():
            reference[0].weight.copy_(layer.kernel)
        batch = torch.randn(6, 1, 6, 6)
        ours, theirs = layer(batch), reference(batch)
        print(ours.shape, (ours - theirs).abs().max() < 0.1, ours[0, 0, 0])
        opt = optim.SGD(layer.parameters(), lr=0.01)
        for step in range(3):
            opt.zero_grad()
            loss = layer(batch).pow(3).mean()
            loss.backward()
            opt.step()
            print(step, f"{loss.item():.6f}")
        put("t20_dbl.w", layer.kernel)


def section_saved_hooks() -> None:
    with printed("t20_saved.log"):
        u, v = torch.randn(4, requires_grad=True), torch.full((4,), 0.5, requires_grad=True)
        w = u * v + u.exp()
        print(w.grad_fn.next_functions[0][0].name(), w.grad_fn.next_functions[1][0].name())
        # (a node's saved tensors as attributes, grad_fn._saved_self: KNOWN in the test)
        log = []

        def on_save(t):
            log.append(("save", tuple(t.shape)))
            return t

        def on_load(t):
            log.append(("load", tuple(t.shape)))
            return t

        u = torch.ones(3, requires_grad=True)
        doubled = torch.ones(3, requires_grad=True) * 2
        with torch.autograd.graph.saved_tensors_hooks(on_save, on_load):
            w = u * doubled
        w.sum().backward()
        print(log, u.grad)
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
            # softmax(q k^T * scale + bias) v, the bias -inf where a bool mask (or the causal
            # triangle) forbids, or a float mask added as it is
            scores = q @ k.mT * (q.shape[-1] ** -0.5 if scale is None else scale)
            if is_causal:
                allowed = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
                scores = scores.masked_fill(~allowed, float("-inf"))
            if mask is not None and mask.dtype == torch.bool:
                scores = scores.masked_fill(~mask, float("-inf"))
            elif mask is not None:
                scores = scores + mask
            return scores.softmax(-1) @ v

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

        class HeadsBlock(nn.Module):
            """One projection to queries / keys / values for all heads, SDPA (causal and with
            dropout only while training), the heads merged and projected back."""

            def __init__(self, heads, width, causal=False, p_drop=0.0):
                super().__init__()
                self.qkv = nn.Linear(width, 3 * width, bias=False)
                self.out = nn.Linear(width, width, bias=False)
                self.heads, self.causal, self.p_drop = heads, causal, p_drop
                self.drop = nn.Dropout(p_drop)

            def forward(self, x):
                n, steps, width = x.shape
                split = [t.view(n, steps, self.heads, -1).transpose(1, 2)
                         for t in self.qkv(x).chunk(3, -1)]
                mixed = F.scaled_dot_product_attention(
                    *split, dropout_p=self.p_drop if self.training else 0.0,
                    is_causal=self.causal and self.training)
                # (.view: the layout SDPA answers in decides whether this works, as in PyTorch)
                return self.drop(self.out(mixed.transpose(1, 2).view(n, steps, width)))

        model = HeadsBlock(2, 8, causal=True, p_drop=0.1).eval()
        print(model)
        x = torch.rand(2, 5, 8)
        print(model(x)[0, 0])
        out = model(x)
        model.train()
        try:  # (with dropout PyTorch's CPU math kernel answers in the standard layout)
            model(x)
        except RuntimeError as e:
            print("RuntimeError", str(e)[:60])
        model.p_drop = 0.0
        out_train = model(x)
        print(out_train.shape, out_train[0, -1], torch.allclose(out, out_train))
        out_train.sum().backward()
        print(model.qkv.weight.grad[0])
        put("t20_sdpa.out", out)


_OVERRIDES = {}


def _override(torch_func):
    def register(impl):
        _OVERRIDES[torch_func] = impl
        return impl
    return register


class Diagonal:
    """value * I (size x size) kept as two numbers; torch.mean and torch.add accept it through
    __torch_function__, any other torch function returns NotImplemented (a TypeError)."""

    def __init__(self, size, value):
        self.size, self.value = size, value

    def __repr__(self):
        return f"Diagonal({self.size} x {self.size}, {self.value})"

    def dense(self):
        return self.value * torch.eye(self.size)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        impl = _OVERRIDES.get(func)
        if impl is None or not all(issubclass(t, (torch.Tensor, Diagonal)) for t in types):
            return NotImplemented
        return impl(*args, **(kwargs or {}))


@_override(torch.mean)
def _diagonal_mean(d):
    return float(d.value) / d.size


@_override(torch.add)
def _diagonal_add(a, b):
    if isinstance(b, Diagonal):
        if a.size != b.size:
            raise ValueError(f"sizes {a.size} and {b.size} differ")
        return Diagonal(a.size, a.value + b.value)
    return torch.add(a.dense(), b)


class RecordingTensor(torch.Tensor):
    """A Tensor subclass that notes the name of every torch function called on it."""

    seen = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        RecordingTensor.seen.append(getattr(func, "__name__", str(func)))
        return super().__torch_function__(func, types, args, kwargs or {})


class Tagged:
    """A tensor-like value with a tag that torch functions carry over to their result."""

    def __init__(self, data, tag=None, **kwargs):
        self.data, self.tag = torch.as_tensor(data, **kwargs), tag

    def __repr__(self):
        return f"Tagged({self.tag!r}, {self.data!r})"

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        tags = [a.tag for a in args if isinstance(a, Tagged)]
        plain = [a.data if isinstance(a, Tagged) else a for a in args]
        return Tagged(func(*plain, **(kwargs or {})), tag=tags[0])


def section_torch_function() -> None:
    # (the __torch_function__ extension notes' ideas, in our own classes)
    with printed("t20_tfunc.log"):
        d = Diagonal(5, 2)
        print(d, d.dense())
        print(torch.mean(d))
        print(torch.add(d, d), torch.add(d, torch.ones(5, 5))[0])
        try:
            torch.mul(d, 2)
        except TypeError as e:
            print("TypeError", str(e)[:40])
        t = torch.arange(4.0).as_subclass(RecordingTensor)
        r = (t * 2).sum()
        print(type(r).__name__, r, RecordingTensor.seen[:3])
        print(type(t[1:]).__name__, type(torch.relu(t)).__name__, type(t.detach()).__name__)
        m = Tagged([[1, 2], [3, 4]], tag={"source": "sensor 7"})
        t = torch.tensor([[1, 2], [1, 2]])
        print(torch.add(t, m))
        print(torch.mul(t, m).tag)
        print(torch.overrides.has_torch_function((m,)), torch.overrides.is_tensor_like(m))
        print(len(torch.overrides.get_ignored_functions()) > 10, torch.add in torch.overrides.get_overridable_functions()[torch])


def _folded_conv(conv, bn):
    """A copy of ``conv`` whose weight and bias absorb the eval-mode batch norm after it."""
    folded = copy.deepcopy(conv)
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    folded.weight = nn.Parameter(conv.weight * scale.view(-1, 1, 1, 1))
    folded.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias)
    return folded


def _fold_batch_norms(model):
    """Trace ``model`` and replace each conv -> batch-norm pair (the conv used once) with one
    folded conv, editing the fx graph in place."""
    traced = fx.symbolic_trace(copy.deepcopy(model))
    owners = dict(traced.named_modules())
    for node in list(traced.graph.nodes):
        source = node.args[0] if node.op == "call_module" and node.args else None
        if (not isinstance(owners.get(node.target), nn.BatchNorm2d) or source is None
                or source.op != "call_module" or not isinstance(owners[source.target], nn.Conv2d)
                or len(source.users) != 1):
            continue
        setattr(traced, source.target, _folded_conv(owners[source.target], owners[node.target]))
        node.replace_all_uses_with(source)
        traced.graph.erase_node(node)
    traced.graph.lint()
    traced.recompile()
    return traced


def section_fx() -> None:
    # (torch.fx's documented examples, in our own modules and passes)
    torch.manual_seed(15)
    with printed("t20_fx.log"):
        class ShiftThenProject(nn.Module):
            def __init__(self):
                super().__init__()
                self.offset = nn.Parameter(torch.rand(3, 4))
                self.proj = nn.Linear(4, 5)

            def forward(self, x):
                return self.proj(x + self.offset).clamp(min=0.0, max=1.0)

        module = ShiftThenProject()
        traced = fx.symbolic_trace(module)
        print(traced.graph)
        print(traced.code)
        for node in traced.graph.nodes:
            print(node.op, node.name, node.target, node.args)
        x = torch.rand(3, 4)
        print(torch.allclose(traced(x), module(x)))

        class Plus(nn.Module):
            def forward(self, x, y):
                return torch.add(x, y)

        swapped = fx.symbolic_trace(Plus())
        for node in swapped.graph.nodes:
            if node.op == "call_function" and node.target is torch.add:
                node.target = torch.mul
        swapped.recompile()
        print(swapped(torch.tensor([2.0]), torch.tensor([3.0])), swapped.code.strip().splitlines()[-2].strip())

        class ConvBnHead(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv, self.bn, self.head = nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2)

            def forward(self, x):
                return self.head(F.relu(self.bn(self.conv(x))).mean((2, 3)))

        net = ConvBnHead()
        for _ in range(3):
            net(torch.randn(5, 2, 6, 6))
        net.eval()
        folded = _fold_batch_norms(net)
        inp = torch.randn(3, 2, 6, 6)
        print(torch.allclose(folded(inp), net(inp), atol=1e-5), [n.op for n in folded.graph.nodes])
        print(folded.code)

        class ReluNeg(nn.Module):
            def forward(self, x):
                return torch.relu(x).neg() * 2

        g = fx.symbolic_trace(ReluNeg())
        for node in g.graph.nodes:
            if node.op == "call_method" and node.target == "neg":
                with g.graph.inserting_after(node):
                    new = g.graph.call_function(torch.abs, (node,))
                    node.replace_all_uses_with(new)
                    new.args = (node,)
        g.recompile()
        print(g(torch.tensor([-1.0, 2.0])), [n.name for n in g.graph.nodes])


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
    "t20_dbl": section_double_backward,
    "t20_saved": section_saved_hooks, "t20_sdpa": section_sdpa,
    "t20_tfunc": section_torch_function, "t20_fx": section_fx,
    "t20_meta": section_meta_repro, "t20_complex": section_complex,
    "t20_compile": section_compile, "t20_objects": section_printed_objects,
}
# (the forward-mode AD, neural tangent kernel and knowledge distillation tutorials ran here
# too until session 30: they run in prog_s17_PG_autograd.py, prog_s19_PG2_func.py and
# prog_s19_PG2_more.py)
