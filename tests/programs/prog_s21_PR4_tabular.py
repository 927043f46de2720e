"""Tabular, graph and numeric-utility programs, afresh (PR4, session 21): DLRM (sparse features
through EmbeddingBags with offsets and sparse gradients, a bottom MLP, pairwise dot interactions
picked by tril_indices, BCE with pos_weight, SGD on sparse gradients); a returns / risk
notebook (diff, cummax drawdowns, rolling windows by unfold, histc, quantile bins by
bucketize, cov / corrcoef, a cross-validation split by tensor_split, cartesian_prod grids);
post-training int8 quantization by hand (iinfo, per-channel scales from aminmax, round / clamp,
integer matmul accumulated in int32, dequantization error); a GCN over a CSR adjacency and a
graph attention layer whose edge softmax is torch.sparse.softmax; and the checking tools a user
runs on a custom autograd Function (gradcheck, gradgradcheck, torch.testing.assert_close,
autograd.functional jacobian / hessian with vectorize=True). Tiny sizes; run by
prog_s21_PR4_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


class DLRM(nn.Module):
    def __init__(self, dense=4, tables=(30, 20, 10), dim=6):
        super().__init__()
        self.bags = nn.ModuleList(nn.EmbeddingBag(n, dim, mode="sum", sparse=True)
                                  for n in tables)
        self.bottom = nn.Sequential(nn.Linear(dense, 8), nn.ReLU(), nn.Linear(8, dim),
                                    nn.ReLU())
        n = len(tables) + 1
        self.register_buffer("li", torch.tril_indices(n, n, offset=-1)[0], persistent=False)
        self.register_buffer("lj", torch.tril_indices(n, n, offset=-1)[1], persistent=False)
        self.top = nn.Sequential(nn.Linear(dim + n * (n - 1) // 2, 8), nn.ReLU(),
                                 nn.Linear(8, 1))

    def forward(self, dense, indices, offsets):
        x = self.bottom(dense)
        features = [x] + [bag(i, o) for bag, i, o in zip(self.bags, indices, offsets)]
        t = torch.stack(features, 1)
        z = torch.bmm(t, t.transpose(1, 2))
        interactions = z[:, self.li, self.lj]
        return self.top(torch.cat([x, interactions], 1))[:, 0]


def section_dlrm() -> None:
    batch = 8
    model = DLRM()
    dense = torch.randn(batch, 4)
    indices, offsets = [], []
    for n in (30, 20, 10):
        counts = torch.randint(1, 4, (batch,))
        offsets.append(torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)[:-1]]))
        indices.append(torch.randint(0, n, (int(counts.sum()),)))
    clicks = (torch.rand(batch) > 0.7).float()
    sparse_params = [p for bag in model.bags for p in bag.parameters()]
    dense_params = list(model.bottom.parameters()) + list(model.top.parameters())
    sparse_opt = torch.optim.SGD(sparse_params, lr=0.1)
    dense_opt = torch.optim.Adagrad(dense_params, lr=0.05)
    criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor(3.0))
    losses = []
    for _ in range(6):
        sparse_opt.zero_grad()
        dense_opt.zero_grad()
        logits = model(dense, indices, offsets)
        loss = criterion(logits, clicks)
        loss.backward()
        sparse_opt.step()
        dense_opt.step()
        losses.append(loss.item())
    grad = model.bags[0].weight.grad
    put("dlrm.losses", losses)
    put("dlrm.grad_is_sparse", grad.is_sparse)
    put("dlrm.grad_dense", grad.to_dense())
    put("dlrm.grad_nnz_rows", grad.coalesce().indices().unique())
    put("dlrm.li", model.li)
    put("dlrm.triu", torch.triu_indices(3, 4, offset=1))
    put("dlrm.probs", torch.sigmoid(logits))
    put_state("dlrm.state", model)
    put("dlrm.keys", list(model.state_dict()))


def section_returns() -> None:
    prices = 100 * torch.exp(torch.cumsum(0.01 * torch.randn(3, 60, dtype=torch.float64), 1))
    returns = torch.diff(prices.log(), dim=1)
    put("ret.returns", returns)
    put("ret.diff_prepend", torch.diff(prices[:, :5], n=2, dim=1,
                                       prepend=prices[:, :1], append=prices[:, -1:]))
    peak, peak_idx = torch.cummax(prices, dim=1)
    drawdown = prices / peak - 1
    put("ret.max_drawdown", drawdown.min(1).values)
    put("ret.peak_idx", peak_idx[:, -5:])
    trough, trough_idx = torch.cummin(prices, dim=1)
    put("ret.trough_idx", trough_idx[:, -5:])
    windows = returns.unfold(1, 10, 5)
    put("ret.rolling_vol", windows.std(-1) * (252 ** 0.5))
    put("ret.rolling_mean", windows.mean(-1))
    put("ret.histc", torch.histc(returns[0].float(), bins=8, min=-0.03, max=0.03))
    edges = torch.quantile(returns[0], torch.tensor([0.2, 0.4, 0.6, 0.8], dtype=torch.float64))
    put("ret.quintile", torch.bucketize(returns[0], edges))
    put("ret.searchsorted", torch.searchsorted(edges, returns[0, :6], side="right"))
    put("ret.cov", torch.cov(returns))
    put("ret.cov_weighted", torch.cov(returns, correction=0,
                                      aweights=torch.linspace(0.5, 1.5, 59,
                                                              dtype=torch.float64)))
    put("ret.corr", torch.corrcoef(returns))
    put("ret.cumprod", torch.cumprod(1 + returns, 1)[:, -1])
    put("ret.nanmean", torch.nanmean(torch.where(returns > 0.015, float("nan"), returns), 1))
    put("ret.aminmax", list(torch.aminmax(returns, dim=1)))
    # a mean-variance portfolio and a small grid search over (lr, decay) pairs
    cov = torch.cov(returns)
    ones = torch.ones(3, dtype=torch.float64)
    w = torch.linalg.solve(cov, ones)
    put("ret.min_var_weights", w / w.sum())
    grid = torch.cartesian_prod(torch.tensor([0.1, 0.01]), torch.tensor([0.0, 0.5, 0.9]))
    put("ret.grid", grid)
    folds = torch.randperm(30).tensor_split(5)
    put("ret.folds", torch.stack(folds))
    x = torch.randn(30, 2)
    y = x @ torch.tensor([1.0, -1.0]) + 0.1 * torch.randn(30)
    scores = []
    for lr, momentum in grid.tolist():
        fold_losses = []
        for k in range(5):
            val_idx = folds[k]
            train_idx = torch.cat([folds[j] for j in range(5) if j != k])
            lin = nn.Linear(2, 1)
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)
            optimizer = torch.optim.SGD(lin.parameters(), lr=lr, momentum=momentum)
            for _ in range(10):
                optimizer.zero_grad()
                F.mse_loss(lin(x[train_idx])[:, 0], y[train_idx]).backward()
                optimizer.step()
            with torch.no_grad():
                fold_losses.append(F.mse_loss(lin(x[val_idx])[:, 0], y[val_idx]).item())
        scores.append(sum(fold_losses) / 5)
    put("ret.cv_scores", scores)
    put("ret.best", grid[torch.tensor(scores).argmin()])


def quantize_per_channel(w, bits=8):
    info = torch.iinfo(torch.int8)
    low, high = torch.aminmax(w, dim=1)
    scale = torch.maximum(high.abs(), low.abs()) / info.max
    q = torch.clamp(torch.round(w / scale[:, None]), info.min, info.max).to(torch.int8)
    return q, scale


def section_int8_ptq() -> None:
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 4))
    x = torch.randn(32, 12)
    with torch.no_grad():
        reference = model(x)
        calib = x.abs().amax()
        in_scale = calib / 127
        xq = torch.clamp(torch.round(x / in_scale), -128, 127).to(torch.int8)
        put("ptq.xq", xq)
        put("ptq.xq_dtype", str(xq.dtype))
        q1, s1 = quantize_per_channel(model[0].weight)
        put("ptq.q1", q1)
        put("ptq.s1", s1)
        acc = xq.to(torch.int32) @ q1.to(torch.int32).T
        put("ptq.acc", acc)
        put("ptq.acc_dtype", str(acc.dtype))
        h = F.relu(acc.float() * (in_scale * s1) + model[0].bias)
        h_scale = h.amax() / 127
        hq = torch.clamp(torch.round(h / h_scale), 0, 127).to(torch.uint8)
        q2, s2 = quantize_per_channel(model[2].weight)
        out = (hq.to(torch.int32) @ q2.to(torch.int32).T).float() * (h_scale * s2) \
            + model[2].bias
        put("ptq.out", out)
        put("ptq.error", (out - reference).abs().max())
        put("ptq.agree", (out.argmax(1) == reference.argmax(1)).float().mean())
        put("ptq.info", [torch.iinfo(torch.int8).min, torch.iinfo(torch.uint8).max,
                         torch.iinfo(torch.int32).bits, torch.iinfo(torch.int16).max])
        put("ptq.finfo", [torch.finfo(torch.float16).max, torch.finfo(torch.float16).tiny,
                          torch.finfo(torch.bfloat16).resolution, torch.finfo().eps])
        # integer arithmetic corners quantization code meets
        a = torch.tensor([-7, 7, 100, -100], dtype=torch.int8)
        put("ptq.int_ops", [a // 3, a % 3, a.to(torch.int16) * 300, a.abs(), a >> 1,
                            torch.div(a, 3, rounding_mode="trunc"), a.to(torch.uint8)])
        put("ptq.round_half_even", torch.round(torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5])))
        put("ptq.round_decimals", torch.round(torch.tensor([1.2345, -2.5551]), decimals=2))
        fq = torch.fake_quantize_per_channel_affine(model[0].weight, s1,
                                                     torch.zeros(16, dtype=torch.int32), 0,
                                                     -128, 127)
        put("ptq.fake_quant", fq)
        put("ptq.fake_gap", (fq - q1.float() * s1[:, None]).abs().max())


def section_sparse_graph() -> None:
    n = 12
    src = torch.randint(0, n, (30,))
    dst = torch.randint(0, n, (30,))
    loops = torch.arange(n)
    edge_index = torch.unique(torch.stack([torch.cat([src, dst, loops]),
                                           torch.cat([dst, src, loops])]), dim=1)
    put("graph.edges", edge_index)
    degree = torch.bincount(edge_index[0], minlength=n).float()
    norm = degree[edge_index[0]].rsqrt() * degree[edge_index[1]].rsqrt()
    adj = torch.sparse_coo_tensor(edge_index, norm, (n, n)).coalesce()
    adj_csr = adj.to_sparse_csr()
    put("graph.crow", adj_csr.crow_indices())
    put("graph.col", adj_csr.col_indices())
    x = torch.randn(n, 5)
    labels = torch.randint(0, 3, (n,))
    w1 = nn.Linear(5, 8)
    w2 = nn.Linear(8, 3)
    att_src = nn.Parameter(torch.randn(8) * 0.1)
    att_dst = nn.Parameter(torch.randn(8) * 0.1)
    params = list(w1.parameters()) + list(w2.parameters()) + [att_src, att_dst]
    optimizer = torch.optim.Adam(params, lr=1e-2, weight_decay=5e-4)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        h = F.relu(torch.sparse.mm(adj_csr, w1(x)))
        # GAT-style attention: scores on the edges, softmax over each row by sparse.softmax
        e = F.leaky_relu((h[edge_index[0]] * att_dst).sum(1)
                         + (h[edge_index[1]] * att_src).sum(1), 0.2)
        scores = torch.sparse_coo_tensor(edge_index, e, (n, n))
        attention = torch.sparse.softmax(scores, dim=1)
        out = torch.sparse.mm(attention, w2(h))
        loss = F.cross_entropy(out, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("graph.losses", losses)
    put("graph.att_grad", att_src.grad)
    put("graph.w1_grad", w1.weight.grad)
    dense_attention = attention.to_dense()
    put("graph.att_rows", dense_attention.sum(1))
    put("graph.attention", dense_attention)
    put("graph.sparse_sum", torch.sparse.sum(adj, dim=1).to_dense())
    put("graph.dense_mm", adj.to_dense() @ x)
    put("graph.csr_mv", adj_csr @ x[:, 0])
    put("graph.csr_values", adj_csr.values())
    # the same propagation by index_add_, as message-passing code writes it
    messages = x[edge_index[1]] * norm[:, None]
    put("graph.index_add", torch.zeros(n, 5).index_add_(0, edge_index[0], messages))
    put("graph.scatter_mean", torch.zeros(n, 5).scatter_reduce(
        0, edge_index[0][:, None].expand(-1, 5), messages, "mean", include_self=False))


class SmoothAbs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, eps):
        ctx.save_for_backward(x)
        ctx.eps = eps
        return torch.sqrt(x * x + eps)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x / torch.sqrt(x * x + ctx.eps), None


def section_checking() -> None:
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    put("check.gradcheck", torch.autograd.gradcheck(lambda t: SmoothAbs.apply(t, 0.1), (x,)))
    put("check.gradgradcheck", torch.autograd.gradgradcheck(
        lambda t: SmoothAbs.apply(t, 0.1), (x,)))

    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t ** 3

        @staticmethod
        def backward(ctx, grad):
            return grad * 2  # wrong on purpose

    put("check.wrong_detected", not torch.autograd.gradcheck(Wrong.apply, (x,),
                                                             raise_exception=False))
    try:
        torch.autograd.gradcheck(Wrong.apply, (x,))
    except RuntimeError as error:
        # (PyTorch's message: the output / input pair, then both Jacobians printed)
        put("check.wrong_error_head", "\n".join(str(error).split("\n")[:12]))
    a = torch.tensor([1.0, 2.0, 3.0])
    torch.testing.assert_close(a, a + 1e-7)
    put("check.close_ok", True)
    try:
        torch.testing.assert_close(a, a + torch.tensor([0.0, 0.1, 0.0]))
    except AssertionError as error:
        put("check.close_error_head", str(error).split("\n")[0])
    try:
        torch.testing.assert_close(a, a.double())
    except AssertionError as error:
        put("check.close_dtype_error", str(error).split("\n")[0])
    torch.testing.assert_close(a, a.double(), check_dtype=False)
    put("check.allclose", torch.allclose(a, a + 1e-6))
    put("check.isclose", torch.isclose(a, a * 1.001))

    def energy(p):
        return (p[0] ** 2 * p[1] + torch.sin(p[2]) * p[0]).sum()

    p = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    put("check.jacobian", torch.autograd.functional.jacobian(
        lambda t: torch.stack([t.prod(), t.sum() ** 2]), p, vectorize=True))
    put("check.hessian", torch.autograd.functional.hessian(energy, p, vectorize=True))
    put("check.hvp", torch.autograd.functional.hvp(energy, p, torch.ones(3,
                                                                         dtype=torch.float64))[1])
    put("check.jvp", torch.autograd.functional.jvp(lambda t: t.exp() * t, p,
                                                   torch.ones(3, dtype=torch.float64))[1])
    # the numerical gradient a user writes themselves: central differences
    eps = 1e-6
    numeric = torch.stack([(energy(p + eps * e) - energy(p - eps * e)) / (2 * eps)
                           for e in torch.eye(3, dtype=torch.float64)])
    q = p.clone().requires_grad_()
    energy(q).backward()
    put("check.numeric_gap", (numeric - q.grad).abs().max() < 1e-6)
    put("check.grad", q.grad)
    # anomaly mode names the op whose backward produced a nan
    with torch.autograd.set_detect_anomaly(True):
        z = torch.tensor([0.0], requires_grad=True)
        try:
            torch.sqrt(z * 0).mul(0).sum().backward()
            put("check.anomaly", z.grad)
        except RuntimeError as error:
            put("check.anomaly_error", "returned nan" in str(error))


SECTIONS = {"dlrm": section_dlrm, "returns": section_returns, "int8_ptq": section_int8_ptq,
            "sparse_graph": section_sparse_graph, "checking": section_checking}
