"""Shape, linear-algebra and arithmetic snippets (PR14, session 27), written afresh in the
style of Q&A answers: repeat / repeat_interleave / tile / expand and their pitfalls, meshgrid
with indexing='ij' vs 'xy', the einsum forms answers list, batched matrix ops (bmm, baddbmm,
matrix_power, det / inverse / solve over batches), cumulative ops (cumsum / cumprod / cummax /
logcumsumexp), rounding and integer-division pitfalls, dtype pitfalls (int tensors and float
scalars, uint8 masks, in-place promotion errors), view / reshape / contiguous, split / chunk /
stack / cat, accuracy and confusion counts. Each prints what such answers print. Tiny sizes,
seeded; run by prog_s27_PR14_all.py.
"""

import torch
import torch.nn.functional as F
from prog_s25_PR9_harness import printed


def section_repeat_tile() -> None:
    x = torch.tensor([1, 2, 3])
    with printed("rep.log"):
        print(x.repeat(2), x.repeat(2, 2), x.repeat(1, 2, 1).shape)
        print(x.repeat_interleave(2), torch.repeat_interleave(x, torch.tensor([1, 0, 3])))
        m = torch.tensor([[1, 2], [3, 4]])
        print(m.repeat_interleave(2, dim=0), m.repeat_interleave(torch.tensor([1, 2]), dim=1))
        print(torch.repeat_interleave(torch.tensor([2, 1])), m.repeat_interleave(3).shape)
        print(x.tile((2,)), m.tile((2, 1)), torch.tile(x, (2, 1, 1)).shape)
        e = x.unsqueeze(0).expand(3, -1)
        print(e, e.stride(), e.is_contiguous(), e.contiguous().stride())
        print(x.expand(2, 3).shape, x[:, None].expand(3, 4).shape,
              torch.ones(1, 6).expand_as(m.repeat(1, 3)).shape)
        try:
            e.add_(1)
        except RuntimeError as err:
            print("RuntimeError", "single memory location" in str(err))
        c = e.clone()
        c[0, 0] = 100
        print(c, x)
        v = x.expand(2, 3)
        print(v.sum(), v.float().mean(0), v.data_ptr() == x.data_ptr())
        try:
            x.expand(2, 4)
        except RuntimeError as err:
            print("RuntimeError", isinstance(err, RuntimeError))
        print(torch.ones(2, 1, 3).expand(-1, 4, -1).shape, x.repeat_interleave(2, output_size=6))


def section_meshgrid() -> None:
    a = torch.tensor([1, 2, 3])
    b = torch.tensor([10, 20])
    with printed("mesh.log"):
        gi, gj = torch.meshgrid(a, b, indexing="ij")
        print(gi, gj, gi.shape)
        gx, gy = torch.meshgrid(a, b, indexing="xy")
        print(gx, gy, gx.shape)
        print(torch.stack(torch.meshgrid(a, b, indexing="ij"), dim=-1).view(-1, 2))
        print(torch.cartesian_prod(a, b), torch.combinations(a, r=2))
        print(torch.combinations(a, with_replacement=True).shape)
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, 3), torch.linspace(-1, 1, 4), indexing="ij")
        grid = torch.stack((xs, ys), dim=-1)
        print(grid.shape, grid[0, 0], grid[-1, -1])
        print(torch.meshgrid(a, indexing="ij")[0], len(torch.meshgrid(a, b, a, indexing="xy")))
        print(torch.meshgrid(a, b, indexing="xy")[0].stride())
        r = (gi.float() ** 2 + gj.float() ** 2).sqrt()
        print(r.round(decimals=2))


def section_einsum_forms() -> None:
    torch.manual_seed(13)
    A = torch.randn(3, 3)
    B = torch.randn(3, 4)
    v = torch.arange(3.0)
    w = torch.arange(4.0)
    with printed("ein.log"):
        print(torch.einsum("ii", A).item() == A.trace().item(), torch.einsum("ii->i", A).shape)
        print(torch.allclose(torch.einsum("ij,jk->ik", A, B), A @ B, atol=1e-6))
        print(torch.einsum("i,j->ij", v, w), torch.einsum("i,i->", v, v))
        print(torch.einsum("ij->ji", B).shape, torch.einsum("ij->", B).shape)
        print(torch.einsum("ij->j", torch.ones(2, 3)), torch.einsum("...ij->...ji",
                                                                     torch.ones(2, 3, 4)).shape)
        X = torch.randn(2, 3, 4)
        Y = torch.randn(2, 4, 5)
        print(torch.allclose(torch.einsum("bij,bjk->bik", X, Y), torch.bmm(X, Y), atol=1e-6))
        W = torch.randn(5, 3, 4)
        x1 = torch.randn(2, 3)
        x2 = torch.randn(2, 4)
        bil = torch.einsum("bi,oij,bj->bo", x1, W, x2)
        print(bil.shape, torch.allclose(bil, F.bilinear(x1, x2, W), atol=1e-5))
        q = torch.randn(2, 2, 3, 4)
        k = torch.randn(2, 2, 5, 4)
        print(torch.einsum("bhqd,bhkd->bhqk", q, k).shape)
        print(torch.einsum("i,i,i->", v, v, v), torch.einsum(v, [0], v, [0], []))
        print(torch.einsum("bi,bi->b", x1, x1).round(decimals=4))
        print(torch.einsum("ij,ij->ij", A, A).sum().round(decimals=3))
        print(torch.einsum("i j , j k -> i k", [A, B]).shape)
        try:
            torch.einsum("ij,jk->ik", A, torch.randn(4, 2))
        except RuntimeError as err:
            print("RuntimeError", isinstance(err, RuntimeError))


def section_batched_linalg() -> None:
    torch.manual_seed(14)
    with printed("blin.log"):
        a = torch.randn(2, 3, 4)
        b = torch.randn(2, 4, 2)
        print(torch.bmm(a, b).shape, (a @ b).shape, torch.matmul(a, b[0]).shape)
        base = torch.ones(2, 3, 2)
        out = torch.baddbmm(base, a, b, beta=0.5, alpha=2.0)
        print(torch.allclose(out, 0.5 + 2 * a @ b, atol=1e-5), out.shape)
        print(torch.addmm(torch.zeros(3), torch.eye(3), torch.ones(3, 3)).sum())
        M = torch.tensor([[2.0, 1.0], [1.0, 3.0]])
        print(torch.matrix_power(M, 3), torch.linalg.matrix_power(M, 0))
        print(torch.linalg.matrix_power(M, -1).round(decimals=4))
        batch = torch.stack([M, 2 * M, torch.eye(2)])
        print(torch.det(batch), torch.linalg.det(batch).shape)
        print(torch.inverse(batch).round(decimals=4))
        rhs = torch.tensor([[1.0], [2.0]]).expand(3, 2, 1)
        sol = torch.linalg.solve(batch, rhs)
        print(sol.round(decimals=4), torch.allclose(batch @ sol, rhs))
        sign, logdet = torch.linalg.slogdet(batch)
        print(sign, logdet.round(decimals=4))
        print(torch.linalg.norm(M), torch.linalg.norm(M, ord=2).round(decimals=4),
              torch.linalg.matrix_norm(M, ord="nuc").round(decimals=4))
        sing = torch.tensor([[1.0, 2.0], [2.0, 4.0]])
        print(torch.det(sing).abs(), torch.linalg.matrix_rank(sing))
        try:
            torch.linalg.inv(sing)
        except RuntimeError as err:
            print(isinstance(err, RuntimeError), "singular" in str(err))
        print(torch.linalg.pinv(sing).round(decimals=4))
        lst = torch.linalg.lstsq(torch.tensor([[1.0, 1.0], [1.0, 2.0], [1.0, 3.0]]),
                                 torch.tensor([[1.0], [2.0], [2.0]]))
        print(lst.solution.round(decimals=4))
        print(torch.kron(torch.eye(2), M), torch.block_diag(M, torch.ones(1, 1)))
        L = torch.linalg.cholesky(M)
        print(L.round(decimals=4), torch.cholesky_solve(torch.ones(2, 1), L).round(decimals=4))
        e = torch.linalg.eigvalsh(M)
        print(e.round(decimals=4), torch.diag_embed(torch.tensor([[1, 2], [3, 4]])))


def section_cumulative() -> None:
    with printed("cum.log"):
        x = torch.tensor([1, 3, 2, 3, 0, 5])
        print(torch.cumsum(x, 0), torch.cumsum(x, 0).dtype, x.cumsum(0, dtype=torch.float32))
        print(torch.cumprod(torch.tensor([1.0, 2.0, 0.5, 4.0]), 0))
        print(torch.cummax(x, 0))
        print(torch.cummin(torch.tensor([3, 1, 2, 1, 0]), dim=0))
        f = torch.tensor([[0.5, 1.0, -2.0], [3.0, 0.0, 1.0]])
        print(f.cumsum(1), f.cumsum(dim=0), f.cummax(dim=1).indices)
        print(torch.logcumsumexp(f, dim=1).round(decimals=4))
        print(torch.logcumsumexp(torch.tensor([-float("inf"), 0.0, 1000.0]), 0))
        print(torch.diff(x), torch.diff(x, n=2), torch.diff(x, prepend=torch.tensor([0])))
        b = torch.tensor([True, False, True, True])
        print(b.cumsum(0), b.cumsum(0).dtype, b.sum(), b.sum().dtype)
        lengths = torch.tensor([2, 3, 1])
        offsets = torch.cumsum(lengths, 0) - lengths
        print(offsets, torch.cat([torch.tensor([0]), lengths.cumsum(0)[:-1]]))
        rewards = torch.tensor([1.0, 0.0, 0.0, 1.0])
        gamma = 0.9
        returns = torch.zeros(4)
        running = 0.0
        for t in reversed(range(4)):
            running = rewards[t] + gamma * running
            returns[t] = running
        print(returns, torch.flip(torch.cumsum(torch.flip(rewards, [0]), 0), [0]))
        u8 = torch.tensor([200, 100], dtype=torch.uint8)
        print(u8.cumsum(0), u8.sum(), u8.cumsum(0).dtype)
        print(torch.tensor([1, 2, 3], dtype=torch.int32).cumprod(0).dtype)


def section_rounding() -> None:
    with printed("rnd.log"):
        x = torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 2.675])
        print(torch.round(x), x.round(decimals=2), torch.round(torch.tensor(1.2345), decimals=3))
        print(x.floor(), x.ceil(), x.trunc(), x.frac())
        a = torch.tensor([7, -7, 7, -7])
        b = torch.tensor([2, 2, -2, -2])
        print(a // b, torch.div(a, b, rounding_mode="trunc"),
              torch.div(a, b, rounding_mode="floor"))
        print(a / b, torch.true_divide(a, b), (a / b).dtype)
        print(a % b, torch.fmod(a, b), torch.remainder(a, b))
        print(torch.floor_divide(a, 2), a // 2.5, (a // 2.5).dtype)
        print(torch.tensor([-7.5, 7.5]) // 2, torch.tensor([-7.5, 7.5]) % 2)
        print(torch.tensor(5) / 2, torch.tensor(5) // 2, torch.tensor(5.0) // 2)
        try:
            torch.tensor([1, 2]) // torch.tensor([0, 1])
        except RuntimeError as err:
            print("RuntimeError", "ZeroDivisionError" in str(err))
        print(torch.tensor([1.0, -1.0, 0.0]) / 0)
        print((torch.tensor([0.1]) * 3).item() == 0.3, torch.tensor(0.1 + 0.2).item())
        print(torch.tensor([2.5, 3.5]).round().long(), torch.tensor([2.7, -2.7]).long())
        print(torch.tensor([1.0, 2.0]).to(torch.int8), torch.tensor([300]).to(torch.uint8))
        print(torch.tensor(0.1, dtype=torch.float64) * 3, torch.tensor(1 / 3))
        print(int(torch.tensor(2.9)), float(torch.tensor(3)), round(torch.tensor(2.567).item(), 2))
        print(torch.clamp(torch.tensor([-2, 5, 9]), 0, 6), torch.tensor([-2, 5]).clamp(min=0.5))


def section_dtype_pitfalls() -> None:
    with printed("dty.log"):
        i = torch.tensor([1, 2, 3])
        print(i.dtype, (i * 0.5).dtype, (i + True).dtype, (i * 2).dtype, (i / 1).dtype)
        print(torch.tensor([1, 2.0]).dtype, torch.tensor(3.0).dtype, torch.tensor(3).dtype)
        print((i * torch.tensor(0.5)).dtype, (i.int() * torch.tensor(2)).dtype)
        print((torch.ones(2, dtype=torch.float16) + torch.ones(2)).dtype,
              (torch.ones(2, dtype=torch.float16) + torch.tensor(1.0)).dtype)
        print((torch.ones(2, dtype=torch.uint8) + torch.ones(2, dtype=torch.int8)).dtype)
        try:
            i += 0.5
        except RuntimeError as err:
            print("RuntimeError", "can't be cast" in str(err))
        j = torch.tensor([1, 2, 3])
        j *= 2
        print(j, j.dtype)
        try:
            torch.tensor([1, 2]).mean()
        except RuntimeError as err:
            print("RuntimeError", "mean()" in str(err))
        print(torch.tensor([1, 2]).float().mean(), torch.tensor([1, 2]).sum() / 2)
        x = torch.arange(5.0)
        m8 = torch.tensor([1, 0, 1, 0, 1], dtype=torch.uint8)
        print(x[m8.bool()], x[m8 == 1], m8.sum(), (m8 > 0).dtype)
        print(torch.arange(0, 1, 0.1).shape, torch.arange(0, 1, 0.25), torch.arange(5).dtype,
              torch.arange(5.0).dtype, torch.arange(0, 5, 2))
        print(torch.linspace(0, 1, 5), torch.linspace(0, 10, steps=3).dtype)
        print(torch.tensor([127], dtype=torch.int8) + 1, torch.tensor([0], dtype=torch.uint8) - 1)
        print(torch.zeros(2).long().dtype, torch.zeros(2).type(torch.int32).dtype,
              torch.zeros(2).type(), torch.zeros(2, dtype=torch.long).type())
        print(torch.ones(2).to(torch.float64).dtype, torch.ones(2).double().type_as(i).dtype)
        print(torch.get_default_dtype(), torch.tensor([1.5]).numpy().dtype,
              torch.from_numpy(torch.ones(2).double().numpy()).dtype)
        print(torch.tensor(True) + 1, torch.tensor([True, False]).float(),
              (torch.tensor([1, 2]) == torch.tensor([1.0, 3.0])))
        print(torch.is_floating_point(i), i.is_floating_point(), torch.is_tensor(i),
              torch.promote_types(torch.int32, torch.float16),
              torch.result_type(torch.tensor([1]), 1.5))
        print(torch.finfo(torch.float32).eps, torch.iinfo(torch.int32).max,
              torch.finfo(torch.float16).max)


def section_views_splits() -> None:
    x = torch.arange(24).view(2, 3, 4)
    with printed("view.log"):
        t = x.transpose(1, 2)
        print(t.is_contiguous(), t.shape, t.stride())
        try:
            t.view(-1)
        except RuntimeError as err:
            print("RuntimeError", "reshape" in str(err))
        print(t.reshape(-1)[:6], t.contiguous().view(2, -1).shape)
        print(x.flatten(1).shape, x.flatten(0, 1).shape, x.unflatten(2, (2, 2)).shape)
        print(x.permute(2, 0, 1).shape, x.mT.shape, x.movedim(0, -1).shape)
        print(x.unsqueeze(0).shape, x[:, None].shape, torch.ones(1, 3, 1).squeeze().shape,
              torch.ones(1, 3, 1).squeeze(0).shape, torch.ones(1, 3, 1).squeeze((0, 2)).shape)
        print([c.shape for c in x.chunk(3, dim=2)], [s.shape for s in x.split(3, dim=2)])
        print([s.shape for s in x.split([1, 3], dim=2)], len(torch.arange(10).chunk(4)))
        print([c.tolist() for c in torch.arange(5).tensor_split(3)])
        print(torch.stack([x[0], x[1]]).shape, torch.cat([x[0], x[1]]).shape,
              torch.cat([x, x], dim=-1).shape, torch.hstack([x[0], x[1]]).shape,
              torch.vstack([torch.ones(3), torch.zeros(3)]).shape)
        print(torch.cat([torch.ones(2, 3), torch.empty(0)]).shape)
        try:
            torch.stack([torch.ones(2), torch.ones(3)])
        except RuntimeError as err:
            print("RuntimeError", "stack expects each tensor to be equal size" in str(err))
        print(x.narrow(2, 1, 2).shape, x.select(1, 0).shape, x.unbind(1)[0].shape)
        print(x.view(6, 4)[::2].stride(), x.view(-1, 8).size(), x.numel(), x.dim(), len(x))
        y = x.view(6, 4)
        y[0, 0] = 100
        print(x[0, 0, 0].item(), x.storage_offset(), y[1:].storage_offset())
        print(x.flip(-1)[0, 0], x.roll(1, dims=2)[0, 0], x.rot90(1, (1, 2)).shape)
        print(torch.atleast_2d(torch.tensor(1.0)).shape, x.T.shape if x.dim() == 2 else "3-d")


def section_accuracy() -> None:
    torch.manual_seed(18)
    logits = torch.randn(8, 3)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    with printed("acc.log"):
        pred = logits.argmax(dim=1)
        correct = (pred == y).sum().item()
        print(pred, correct, correct / len(y), (pred == y).float().mean().item())
        print(f"Accuracy: {100 * correct / y.size(0):.2f}%")
        _, predicted = torch.max(logits.data, 1)
        print(torch.equal(predicted, pred), predicted.eq(y.view_as(predicted)).sum().item())
        probs = F.softmax(logits, dim=1)
        conf, cls = probs.max(1)
        print(conf.round(decimals=4), cls)
        top2 = logits.topk(2, dim=1).indices
        print((top2 == y[:, None]).any(dim=1).float().mean())
        cm = torch.zeros(3, 3, dtype=torch.long)
        for t, p in zip(y, pred):
            cm[t, p] += 1
        print(cm, cm.diag() / cm.sum(1).clamp(min=1))
        binary = torch.tensor([0.2, 0.7, 0.5, 0.9])
        target = torch.tensor([0, 1, 1, 1])
        bp = (binary > 0.5).long()
        tp = ((bp == 1) & (target == 1)).sum()
        print(bp, tp, tp / bp.sum(), tp / target.sum())
        print(torch.sigmoid(torch.tensor([0.0, 2.0])).round(decimals=4),
              torch.round(torch.sigmoid(torch.tensor([-1.0, 0.0, 1.0]))))
        try:
            F.softmax(logits)
        except TypeError:
            print("TypeError")


SECTIONS = {
    "repeat_tile": section_repeat_tile, "meshgrid": section_meshgrid,
    "einsum_forms": section_einsum_forms, "batched_linalg": section_batched_linalg,
    "cumulative": section_cumulative, "rounding": section_rounding,
    "dtype_pitfalls": section_dtype_pitfalls, "views_splits": section_views_splits,
    "accuracy": section_accuracy,
}
