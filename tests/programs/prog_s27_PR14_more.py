"""More Q&A snippets (PR14, session 27), written afresh: the errors answers explain (the
truth value of a tensor, len / iteration of a 0-d tensor, .item() of many elements, negative
slice steps, tensors of tensors), the legacy constructors old answers use, reductions over
several dims and bool / uint8 reductions, gradients through indexing with duplicate indices,
index_reduce_ / put_ / take, nonzero / where / argwhere forms, lerp / addcmul / clamp with
tensor bounds / clip_grad_norm_, and the deprecation warnings such code triggers. Each prints
what such answers print. Tiny sizes, seeded; run by prog_s27_PR14_all.py.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed


def section_error_pitfalls() -> None:
    with printed("perr.log"):
        t = torch.tensor([1, 2])
        try:
            if t:
                pass
        except RuntimeError as err:
            print("RuntimeError", "ambiguous" in str(err))
        print(bool(torch.tensor([0])), bool(torch.tensor(2.0)), (t > 0).all().item())
        try:
            len(torch.tensor(3))
        except TypeError as err:
            print("TypeError", "0-d" in str(err))
        try:
            for _ in torch.tensor(3.0):
                pass
        except TypeError as err:
            print("TypeError", "0-d" in str(err))
        try:
            t.item()
        except RuntimeError as err:
            print("RuntimeError", isinstance(err, RuntimeError))
        try:
            torch.arange(5)[::-1]
        except ValueError as err:
            print("ValueError", "step" in str(err))
        print(torch.arange(5).flip(0), torch.arange(5)[torch.arange(4, -1, -1)])
        print(torch.tensor([torch.tensor(1.0), torch.tensor(2.0)]),
              torch.stack([torch.tensor(1), torch.tensor(2)]))
        try:
            torch.tensor([torch.ones(2), torch.ones(2)])
        except (ValueError, TypeError) as err:
            print(type(err).__name__, "one element" in str(err))
        print(torch.tensor([[1, 2], [3, 4]]).tolist()[1], [x.item() for x in t])
        print(torch.cat([torch.tensor([1]), torch.tensor([2.5])]), torch.cat([t, t.float()]).dtype)
        try:
            torch.cat([torch.ones(2, 3), torch.ones(2, 4)], dim=0)
        except RuntimeError as err:
            print("RuntimeError", isinstance(err, RuntimeError))
        try:
            torch.ones(2, 3) @ torch.ones(2, 3)
        except RuntimeError as err:
            print("RuntimeError", isinstance(err, RuntimeError))
        try:
            torch.ones(2, 3) + torch.ones(3, 2)
        except RuntimeError as err:
            print("RuntimeError", isinstance(err, RuntimeError))
        try:
            torch.ones(2, 3).view(4, 2)
        except RuntimeError as err:
            print("RuntimeError", isinstance(err, RuntimeError))
        try:
            nn.Linear(3, 2)(torch.ones(4, 5))
        except RuntimeError as err:
            print("RuntimeError", isinstance(err, RuntimeError))
        try:
            F.cross_entropy(torch.randn(2, 3), torch.tensor([0.0, 1.0]))
        except RuntimeError as err:
            print("RuntimeError", isinstance(err, RuntimeError))
        try:
            F.cross_entropy(torch.randn(2, 3), torch.tensor([0, 3]))
        except IndexError as err:
            print("IndexError", "out of bounds" in str(err))
        try:
            nn.Embedding(3, 2)(torch.tensor([3]))
        except IndexError as err:
            print("IndexError", isinstance(err, IndexError))
        try:
            torch.ones(2).long() * torch.ones(2).float().requires_grad_().long()
        except RuntimeError as err:
            print("RuntimeError", "floating point" in str(err))


def section_legacy_ctors() -> None:
    with printed("legc.log"):
        print(torch.Tensor([1, 2]), torch.Tensor([1, 2]).dtype, torch.Tensor(2, 3).shape)
        print(torch.FloatTensor([1.5]), torch.LongTensor([1, 2]), torch.DoubleTensor([1]).dtype,
              torch.ByteTensor([1, 0]).dtype, torch.BoolTensor([True]).dtype, torch.IntTensor([3]))
        print(torch.LongTensor(2, 2).zero_(), torch.FloatTensor(3).fill_(0.5))
        print(torch.Tensor().shape, torch.Tensor(0).numel(), torch.Tensor(torch.Size([2])).shape)
        print(torch.tensor(np.array([1.0, 2.0])).dtype, torch.from_numpy(np.arange(3)).dtype,
              torch.as_tensor(np.array([1, 2], dtype=np.int32)).dtype)
        print(torch.tensor(np.float32(2.5)), torch.tensor([np.int64(1), 2]).dtype)
        a = np.array([1.0, 2.0], dtype=np.float32)
        shared = torch.from_numpy(a)
        a[0] = 9
        print(shared, torch.tensor(a).data_ptr() != shared.data_ptr())
        print((torch.ones(2) * np.float64(2.0)).dtype, (torch.ones(2) + np.array(1.0)).dtype)
        print(torch.ones(2).new_tensor([3, 4]).dtype, torch.ones(2).new_zeros(3),
              torch.ones(2, dtype=torch.long).new_ones((1, 2)), torch.ones(2).new_full((2,), 7))
        print(torch.zeros_like(torch.ones(2, dtype=torch.int8)), torch.full((2,), 3).dtype,
              torch.full((2,), 1.5).dtype, torch.full((1,), True).dtype)
        print(torch.empty(2, 3).shape, torch.eye(2, 3), torch.arange(3).type(torch.FloatTensor))
        print(torch.scalar_tensor(3), torch.tensor([]).dtype, torch.tensor([[]]).shape)
        print(isinstance(torch.ones(1), torch.FloatTensor), isinstance(torch.ones(1), torch.Tensor),
              torch.ones(1).type(), torch.tensor([1]).type(),
              torch.zeros(1, dtype=torch.bool).type())


def section_reduce_dims() -> None:
    torch.manual_seed(43)
    x = torch.arange(24.0).view(2, 3, 4)
    with printed("rdim.log"):
        print(x.sum(dim=(0, 2)), x.mean(dim=[1, 2], keepdim=True).shape, x.amax(dim=(1, 2)))
        print(x.sum(-1).shape, x.sum(0, keepdim=True).shape, x.prod(1).shape, x.std(dim=2))
        print(x.max(), x.max(dim=2).values, x.var(dim=(0, 1)), x.norm(dim=0).shape)
        b = torch.tensor([[True, False], [True, True]])
        print(b.sum(), b.sum(0), b.all(), b.any(dim=1), b.all(dim=0), b.float().mean())
        u8 = torch.tensor([0, 2, 1], dtype=torch.uint8)
        print(u8.any(), u8.all(), torch.any(u8).dtype, u8.sum().dtype, u8.max())
        print(torch.tensor([1, 2, 3]).prod(), torch.tensor([1.5, 2.0]).prod().dtype,
              b.prod(), b.max(), torch.tensor([True]).sum().dtype)
        print(torch.count_nonzero(x > 10), torch.count_nonzero(x > 10, dim=2),
              (x > 10).sum(dim=2))
        print(torch.logsumexp(x[0], dim=1).round(decimals=4),
              torch.nansum(torch.tensor([1.0, float("nan")])),
              torch.nanmean(torch.tensor([1.0, float("nan"), 3.0])))
        print(torch.tensor([2.0]).std(), torch.tensor([2.0]).var(unbiased=False))
        print(torch.tensor([]).sum(), torch.tensor([]).mean(),
              torch.tensor([], dtype=torch.long).sum())
        print(torch.tensor([1.0, 2.0, 4.0]).std(correction=0), torch.quantile(x[0, 0], 0.5),
              torch.quantile(torch.tensor([1.0, 2.0, 3.0, 4.0]), torch.tensor([0.25, 0.75])))
        print(x.mean((-1, -2)), x.sum(dim=()) .shape if False else x.sum().shape)
        print(torch.max(torch.tensor([[1, 3], [3, 1]]), dim=1),
              torch.argmax(torch.tensor([2, 5, 5, 1])))
        print(torch.min(torch.tensor([4.0, float("nan"), 1.0])),
              torch.max(torch.tensor([1, 3]), torch.tensor([2, 2])))
        print(torch.mean(torch.tensor([1, 2], dtype=torch.float16)).dtype,
              torch.sum(torch.tensor([1, 2], dtype=torch.int32)).dtype,
              torch.sum(torch.tensor([1, 2], dtype=torch.int32), dtype=torch.int32).dtype)


def section_index_grads() -> None:
    with printed("igrad.log"):
        x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x[torch.tensor([0, 0, 2, 0])]
        y.sum().backward()
        print(x.grad)
        w = torch.arange(6.0).view(3, 2).requires_grad_()
        g = w.gather(0, torch.tensor([[0, 0], [0, 2]]))
        (g * torch.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
        print(w.grad)
        emb = nn.Embedding(4, 2)
        with torch.no_grad():
            emb.weight.copy_(torch.arange(8.0).view(4, 2))
        emb(torch.tensor([[1, 1], [3, 1]])).sum().backward()
        print(emb.weight.grad)
        a = torch.zeros(4, requires_grad=True)
        b = a.clone()
        b[torch.tensor([1, 1])] = torch.tensor([5.0, 6.0])
        (b * torch.arange(4.0)).sum().backward()
        print(a.grad)
        src = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        out = torch.zeros(2).index_add(0, torch.tensor([1, 1, 0]), src)
        (out * torch.tensor([10.0, 100.0])).sum().backward()
        print(out, src.grad)
        base = torch.ones(3, requires_grad=True)
        acc = base.index_put((torch.tensor([0, 0]),), torch.tensor([2.0, 3.0]), accumulate=True)
        acc.pow(2).sum().backward()
        print(acc, base.grad)
        v = torch.tensor([3.0, 1.0, 3.0], requires_grad=True)
        v.max().backward()
        print(v.grad)
        m = torch.tensor([[1.0, 5.0], [5.0, 2.0]], requires_grad=True)
        m.amax(dim=1).sum().backward()
        print(m.grad)
        s = torch.tensor([2.0, 1.0, 3.0], requires_grad=True)
        s.sort().values[0].backward()
        print(s.grad)
        mask = torch.tensor([True, False, True])
        q = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        q[mask].pow(2).sum().backward()
        print(q.grad)
        z = torch.tensor([1.0, 2.0], requires_grad=True)
        torch.where(z > 1.5, z * 10, z.new_zeros(())).sum().backward()
        print(z.grad)


def section_index_reduce() -> None:
    with printed("ired.log"):
        t = torch.ones(3, 2)
        idx = torch.tensor([0, 2, 0, 1])
        src = torch.tensor([[2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0]])
        for reduce in ("prod", "mean", "amax", "amin"):
            print(reduce, t.clone().index_reduce_(0, idx, src, reduce),
                  t.clone().index_reduce_(0, idx, src, reduce, include_self=False))
        ints = torch.tensor([[10, 20], [30, 40]])
        print(ints.clone().index_reduce_(0, torch.tensor([0, 0]), torch.tensor([[1, 2], [4, 5]]),
                                         "mean"))
        print(torch.zeros(3, dtype=torch.long).scatter_reduce(0, torch.tensor([0, 0, 1]),
                                                              torch.tensor([1, 2, 5]), "mean"))
        print(torch.tensor([4, 6, 8]).scatter_reduce(0, torch.tensor([0, 0, 2]),
                                                    torch.tensor([1, 2, 5]), "mean"))
        p = torch.arange(6.0).view(2, 3)
        print(p.take(torch.tensor([0, 5, 3])), torch.take(p, torch.tensor([[1, 1], [2, 4]])))
        q = torch.zeros(2, 3)
        q.put_(torch.tensor([1, 1, 4]), torch.tensor([1.0, 2.0, 3.0]), accumulate=True)
        print(q)
        print(torch.zeros(5).index_fill(0, torch.tensor([1, 3]), 2.5),
              torch.arange(5.0).index_select(0, torch.tensor([4, 4, 0])))
        keep = torch.tensor([[True, False, True], [False, True, False]])
        ms = torch.zeros(2, 3).masked_scatter(keep, torch.tensor([1.0, 2.0, 3.0, 4.0]))
        print(ms, torch.arange(6).view(2, 3).masked_select(torch.tensor([True, False, True])))
        print(torch.zeros(4).scatter(0, torch.tensor([1, 3]), 7.0),
              torch.zeros(2, 2).scatter(1, torch.tensor([[1], [0]]), torch.tensor([[5.0], [6.0]])))
        print(torch.select_scatter(torch.zeros(2, 2), torch.ones(2), 0, 0),
              torch.diagonal_scatter(torch.zeros(2, 2), torch.tensor([1.0, 2.0])))


def section_where_nonzero() -> None:
    x = torch.tensor([[0, 3, 0], [4, 0, 5]])
    with printed("nz.log"):
        print(torch.nonzero(x), x.nonzero().shape, torch.argwhere(x))
        print(torch.nonzero(x, as_tuple=True), torch.where(x > 0))
        rows, cols = torch.where(x == 0)
        print(rows.tolist(), cols.tolist(), x[rows, cols])
        print(torch.where(x > 3, x, -1), torch.where(x > 3, 1.0, 0.0).dtype,
              torch.where(x > 3, x, 0.5).dtype, torch.where(x > 3, x.float(), x).dtype)
        print(torch.nonzero(torch.tensor([0.0, 1.5, 0.0])), torch.nonzero(torch.tensor(5)),
              torch.nonzero(torch.tensor([False, False])).shape)
        print((x > 0).nonzero()[:, 1].bincount(minlength=3), x.ne(0).sum(1))
        print(torch.isin(x, torch.tensor([3, 5])), torch.isin(x, torch.tensor([0]), invert=True))
        first = (x > 0).int().argmax(dim=1)
        print(first, (x > 0).any(dim=1))
        print(torch.tensor([1, 2, 3]).eq(2).nonzero().item(),
              (torch.tensor([3, 1, 3]) == 3).nonzero().squeeze(1))
        print(torch.where(torch.tensor([True, False]), torch.tensor([1, 2]), torch.tensor([9.0])))


def section_math_helpers() -> None:
    torch.manual_seed(47)
    with printed("mhlp.log"):
        a = torch.tensor([0.0, 10.0])
        b = torch.tensor([1.0, 20.0])
        print(torch.lerp(a, b, 0.25), a.lerp(b, torch.tensor([0.5, 1.0])))
        print(torch.addcmul(a, a, b, value=0.5), torch.addcdiv(a, b, b + 1, value=2))
        x = torch.tensor([[-2.0, 0.5, 3.0], [1.0, -1.0, 9.0]])
        print(x.clamp(min=torch.tensor([0.0, 0.0, 1.0]), max=torch.tensor([1.0, 2.0, 5.0])))
        print(x.clip(-1, 1), torch.clamp(x, max=0), x.clamp_(min=-1.5), x)
        print(torch.maximum(x, torch.zeros(1)),
              torch.fmax(torch.tensor([float("nan"), 1.0]), torch.tensor([2.0, float("nan")])))
        print(torch.sign(x), torch.sgn(torch.tensor([3 + 4j])),
              torch.signbit(torch.tensor([-0.0, 0.0])))
        print(torch.hypot(torch.tensor([3.0]), torch.tensor([4.0])),
              torch.atan2(torch.tensor([1.0]), torch.tensor([-1.0])))
        print(torch.log1p(torch.tensor([1e-10])), torch.expm1(torch.tensor([1e-10])),
              torch.xlogy(torch.tensor([0.0]), torch.tensor([0.0])))
        print(torch.logit(torch.tensor([0.25]), eps=1e-6), torch.special.expit(torch.tensor([0.0])),
              torch.erf(torch.tensor([0.5])), torch.sinc(torch.tensor([0.0, 0.5])))
        net = nn.Linear(3, 2)
        net(torch.randn(4, 3)).pow(2).sum().mul(10).backward()
        total = nn.utils.clip_grad_norm_(net.parameters(), max_norm=1.0)
        after = torch.norm(torch.stack([p.grad.norm() for p in net.parameters()]))
        print(total.round(decimals=3), after.round(decimals=4))
        nn.utils.clip_grad_value_(net.parameters(), clip_value=0.1)
        print(max(p.grad.abs().max().item() for p in net.parameters()) <= 0.1)
        vec = nn.utils.parameters_to_vector(net.parameters())
        print(vec.shape, vec.requires_grad)
        nn.utils.vector_to_parameters(torch.zeros(8), net.parameters())
        print(net.weight.sum(), net.bias)
        cos = torch.cosine_similarity(torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0]), dim=0)
        print(cos.round(decimals=4), torch.dist(torch.ones(3), torch.zeros(3)),
              torch.dot(torch.tensor([1, 2]), torch.tensor([3, 4])))
        print(torch.cross(torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0]), dim=0),
              torch.outer(torch.tensor([1, 2]), torch.tensor([3, 4])), torch.trace(torch.eye(3)))


def section_deprecations() -> None:
    with printed("depr.log"):
        x = torch.ones(2, 3, 4)
        print(x.T.shape)
        print(torch.range(0, 3), torch.range(0, 1, 0.5).dtype)
        print(F.softmax(torch.tensor([[1.0, 2.0]])).round(decimals=4))
        print(F.log_softmax(torch.tensor([1.0, 2.0])).round(decimals=4))
        print(torch.tensor(torch.ones(2)))
        print(torch.ones(2, 3).t().shape, torch.ones(3).T.shape, torch.ones(2, 3).mT.shape)
        print(torch.norm(torch.ones(2, 2), p="fro"), torch.ones(2).norm(p=1))
        print(F.sigmoid(torch.tensor([0.0])), F.tanh(torch.tensor([0.0])))
        print(torch.chain_matmul(torch.eye(2), torch.ones(2, 2)))
        lin = nn.Linear(2, 2)
        print(lin.weight.data.shape, lin.weight.is_leaf)
        v = torch.ones(3, requires_grad=True)
        u = v * 2
        print(u.grad, u.is_leaf)


def section_module_hooks() -> None:
    torch.manual_seed(48)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    with printed("mhook.log"):
        handles = []
        for name, module in model.named_modules():
            if name:
                handles.append(module.register_forward_hook(
                    lambda mod, inp, out, n=name: print(f"{n}: {type(mod).__name__} "
                                                        f"{tuple(inp[0].shape)} -> "
                                                        f"{tuple(out.shape)}")))
        out = model(torch.ones(4, 2))
        for h in handles:
            h.remove()
        model(torch.ones(1, 2))
        activations = {}

        def keep(name):
            def hook(module, inputs, output):
                activations[name] = output.detach()
            return hook

        model[1].register_forward_hook(keep("relu"))
        model(torch.ones(2, 2))
        print(activations["relu"].shape, (activations["relu"] >= 0).all().item())
        lin = nn.Linear(2, 1)
        got = []
        lin.register_full_backward_hook(
            lambda mod, gin, gout: got.append((len(gin), [tuple(g.shape) for g in gin
                                                          if g is not None], gout[0].shape)))
        lin(torch.ones(3, 2, requires_grad=True)).sum().backward()
        print(got)
        pre = nn.Linear(2, 1)
        pre.register_forward_pre_hook(lambda mod, inp: (inp[0] * 0,))
        print(torch.equal(pre(torch.ones(1, 2)), pre.bias.expand(1, 1)))
        print(out.shape, len(model._forward_hooks), len(model[1]._forward_hooks))


def section_nan_inf() -> None:
    with printed("naninf.log"):
        n = torch.tensor(float("nan"))
        print(n == n, torch.isnan(n), n.item() != n.item())
        print(torch.tensor([1.0, float("nan")]).max(), torch.tensor([1.0, float("nan")]).argmax(),
              torch.tensor([float("nan"), 1.0]).sort())
        i = torch.tensor(float("inf"))
        print(i - i, i * 0, torch.tensor(0.0) / 0, torch.tensor(1) / 0, torch.tensor([-1.0]).sqrt(),
              torch.tensor([0.0]).log())
        print(torch.tensor([5]) / torch.tensor([0]), torch.tensor([5.0]) // 0,
              torch.tensor([-5.0]) % 0)
        b = torch.tensor([True, False])
        print(b + b, b * 3, b.sum(), b & torch.tensor([True, True]), b.int() - 1, -b.int())
        for bad in (lambda: b - b, lambda: -b):
            try:
                bad()
            except RuntimeError as err:
                print("RuntimeError", "not supported" in str(err))
        print(torch.isfinite(torch.tensor([1.0, i, -i, n])), torch.isinf(torch.tensor([-i])),
              torch.isposinf(torch.tensor([i, -i])), torch.tensor([i, -i, n]).nan_to_num(0.0))
        print(torch.tensor([1.0, n, 3.0]).nansum(), torch.tensor([1.0, n, 3.0]).sum(),
              torch.tensor([n, 2.0]).nanmedian(),
              torch.fmin(torch.tensor([n]), torch.tensor([2.0])))
        x = torch.tensor([1.0, n, 3.0])
        print(x[~x.isnan()].mean(), torch.where(x.isnan(), torch.zeros_like(x), x))


def section_memory_sharing() -> None:
    with printed("share.log"):
        a = torch.ones(3)
        b = a.view(3)
        c = a.clone()
        print(a.data_ptr() == b.data_ptr(), a.data_ptr() == c.data_ptr(),
              a.untyped_storage().data_ptr() == a[1:].untyped_storage().data_ptr())
        v = torch.arange(6)
        w = v[::2]
        w[0] = 100
        print(v, w.is_contiguous(), w.stride(), w.storage_offset())
        z = torch.zeros(3)
        arr = z.numpy()
        arr[0] = 7
        print(z, torch.from_numpy(arr).data_ptr() == z.data_ptr())
        t = torch.ones(2, 3).t()
        print(t.is_contiguous(), t.contiguous().is_contiguous(), t.stride(),
              t.contiguous().stride())
        cl = torch.ones(1, 3, 2, 2).to(memory_format=torch.channels_last)
        print(cl.stride(), cl.is_contiguous(),
              cl.is_contiguous(memory_format=torch.channels_last))
        print(torch.ones(3, 4).nbytes, torch.ones(3, 4).itemsize,
              [torch.ones(1, dtype=d).element_size()
               for d in (torch.float16, torch.bfloat16, torch.float64, torch.int8, torch.bool)])
        e = torch.zeros(2)
        f = e
        f += 1
        g = e + 0
        g += 1
        print(e, g, e is f)
        h = torch.arange(4.0)
        lst = h.tolist()
        lst[0] = 9
        print(h, lst, h.detach().numpy() is not None)


SECTIONS = {
    "error_pitfalls": section_error_pitfalls, "legacy_ctors": section_legacy_ctors,
    "reduce_dims": section_reduce_dims, "index_grads": section_index_grads,
    "index_reduce": section_index_reduce, "where_nonzero": section_where_nonzero,
    "math_helpers": section_math_helpers, "deprecations": section_deprecations,
    "module_hooks": section_module_hooks, "nan_inf": section_nan_inf,
    "memory_sharing": section_memory_sharing,
}
