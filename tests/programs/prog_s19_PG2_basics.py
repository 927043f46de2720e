"""The "Learn the Basics" tutorials and a few more recipes, written afresh in their style (PG2,
session 19): tensors (the NumPy bridge, in-place ops, joining, masks), autograd basics
(grad_fn graph, Jacobian products with gradient=, accumulation, errors), the nn.Module API
(containers, submodule / parameter lookup, dtype moves, freezing), beam search decoding,
sliding-window time-series forecasting with unfold, a graph attention layer with
scatter_reduce, and quantization-aware training with fake quantization.
"""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_tensors() -> None:
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    put("tens.x_np", x_np)
    put("tens.ones", x_ones)
    put("tens.rand", x_rand)
    shape = (2, 3)
    put("tens.factories", [torch.rand(shape), torch.ones(shape), torch.zeros(shape)])
    tensor = torch.ones(4, 4)
    tensor[:, 1] = 0
    put("tens.first_row", tensor[0])
    put("tens.last_col", tensor[..., -1])
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    put("tens.cat", t1)
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    put("tens.matmuls", [y1, y2, y3])
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    put("tens.mul_out", z3)
    agg = tensor.sum()
    put("tens.agg_item", agg.item())
    put("tens.agg_type", type(agg.item()).__name__)
    tensor.add_(5)
    put("tens.add_", tensor)
    # the NumPy bridge shares memory both ways
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    put("tens.bridge_np", n.copy())
    n2 = np.ones(5)
    t2 = torch.from_numpy(n2)
    np.add(n2, 1, out=n2)
    put("tens.bridge_t", t2)
    # masks, where, nonzero, sort, topk, gather / scatter as the tutorials use them
    v = torch.randn(4, 5)
    put("tens.masked", v[v > 0])
    put("tens.where", torch.where(v > 0, v, torch.zeros_like(v)))
    put("tens.nonzero", torch.nonzero(v > 0.5))
    put("tens.sorted", torch.sort(v, dim=1, descending=True).values)
    put("tens.topk_idx", v.topk(2, dim=1).indices)
    idx = torch.tensor([[0, 1], [2, 3], [4, 0], [1, 1]])
    put("tens.gather", v.gather(1, idx))
    put("tens.scatter", torch.zeros(4, 5).scatter_(1, idx, 1.0))
    put("tens.stack_split", [torch.stack([v, v], 0).sum(0), *v.split([2, 3], dim=1)])
    put("tens.chunk", list(v.chunk(2, dim=0)))
    put("tens.view_reshape", [v.view(20), v.t().reshape(20), v.flatten()])
    put("tens.dtypes", [str(x_data.dtype), str(x_rand.dtype), str((x_data / 2).dtype),
                        str((x_data // 2).dtype), str(x_data.float().mean().dtype)])


def section_autograd_basics() -> None:
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = F.binary_cross_entropy_with_logits(z, y)
    put("agb.grad_fn_z", type(z.grad_fn).__name__)
    put("agb.grad_fn_loss", type(loss.grad_fn).__name__)
    put("agb.next", [type(f).__name__ for f, _ in z.grad_fn.next_functions])
    loss.backward()
    put("agb.w_grad", w.grad)
    put("agb.b_grad", b.grad)
    with torch.no_grad():
        z2 = torch.matmul(x, w) + b
    put("agb.no_grad_rg", z2.requires_grad)
    put("agb.detach_rg", z.detach().requires_grad)
    # a vector-Jacobian product, accumulated then zeroed
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    first = inp.grad.clone()
    out.backward(torch.ones_like(out), retain_graph=True)
    second = inp.grad.clone()
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    put("agb.vjp", [first, second, inp.grad])
    # errors as PyTorch's: backward twice without retain_graph; grad of a non-scalar
    a = torch.randn(3, requires_grad=True)
    s = (a * a).sum()
    s.backward()
    try:
        s.backward()
        put("agb.twice", "none")
    except RuntimeError:
        put("agb.twice", "RuntimeError")
    try:
        (a * 2).backward()
        put("agb.nonscalar", "none")
    except RuntimeError:
        put("agb.nonscalar", "RuntimeError")
    c = torch.randn(3, requires_grad=True)
    d = torch.randn(3, requires_grad=True)
    grads = torch.autograd.grad((c * 3).sum(), [c, d], allow_unused=True)
    put("agb.unused", [grads[0], grads[1] is None])
    try:
        torch.autograd.grad((c * 3).sum(), [c, d])
        put("agb.unused_err", "none")
    except RuntimeError:
        put("agb.unused_err", "RuntimeError")
    # an in-place change of a saved tensor is caught at backward
    e = torch.randn(3, requires_grad=True)
    f = e.sigmoid()
    g = f * 2
    f.mul_(2)
    try:
        g.sum().backward()
        put("agb.version", "none")
    except RuntimeError:
        put("agb.version", "RuntimeError")
    h = e.exp()
    h2 = h.sum()
    h.add_(1)
    try:
        h2.backward()
        put("agb.version_exp", "none")
    except RuntimeError:
        put("agb.version_exp", "RuntimeError")
    with torch.inference_mode():
        k = e * 2
    put("agb.inference", [k.requires_grad, k.is_inference()])


def section_module_api() -> None:
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])
            self.heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "reg": nn.Linear(4, 1)})
            self.scales = nn.ParameterList([nn.Parameter(torch.ones(4)) for _ in range(2)])
            self.extra = nn.ParameterDict({"bias": nn.Parameter(torch.zeros(3))})
            self.register_buffer("counter", torch.zeros((), dtype=torch.long))
            self.register_module("norm", nn.LayerNorm(4))

        def forward(self, x, head="cls"):
            for block, scale in zip(self.blocks, self.scales):
                x = F.relu(block(x)) * scale
            out = self.heads[head](self.norm(x))
            return out + self.extra["bias"] if head == "cls" else out

    net = Net()
    put("mod.names", [n for n, _ in net.named_parameters()])
    put("mod.children", [n for n, _ in net.named_children()])
    put("mod.modules", len(list(net.modules())))
    put("mod.buffers", [n for n, _ in net.named_buffers()])
    put("mod.no_recurse", len(list(net.parameters(recurse=False))))
    put("mod.sub", repr(net.get_submodule("heads.cls")))
    put("mod.param", net.get_parameter("blocks.1.bias"))
    put("mod.buffer", net.get_buffer("counter"))
    x = torch.randn(5, 4)
    put("mod.out_cls", net(x))
    put("mod.out_reg", net(x, head="reg"))
    # freezing and counting
    for p in net.blocks.parameters():
        p.requires_grad_(False)
    put("mod.trainable", sum(p.numel() for p in net.parameters() if p.requires_grad))
    net(x).sum().backward()
    put("mod.frozen_grad_none", net.blocks[0].weight.grad is None)
    put("mod.head_grad", net.heads["cls"].weight.grad)
    # dtype moves: double(), half() keep the integer buffer, to(dtype) likewise
    net.double()
    put("mod.double", [str(net.blocks[0].weight.dtype), str(net.counter.dtype)])
    put("mod.double_out", net(x.double()))
    net.to(torch.float32)
    put("mod.back", str(net.norm.weight.dtype))

    def init_weights(m):
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            m.bias.data.fill_(0.01)

    net.apply(init_weights)
    put_state("mod.state", net)
    put("mod.train_flags", [net.training, net.eval().training, net.blocks[0].training])
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    seq.append(nn.Linear(3, 1))
    seq.insert(0, nn.Identity())
    put("mod.seq_len", len(seq))
    put("mod.seq_slice", repr(seq[1:3]))
    put("mod.seq_out", seq(torch.ones(2, 2)))


def section_beam_search() -> None:
    vocab, hidden, bos, eos = 7, 12, 0, 1

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, hidden)
            self.cell = nn.GRUCell(hidden, hidden)
            self.out = nn.Linear(hidden, vocab)

        def forward(self, tokens, h):
            h = self.cell(self.emb(tokens), h)
            return F.log_softmax(self.out(h), dim=-1), h

    model = Decoder()
    model.eval()

    def beam_search(h0, beam_size=3, max_len=6, length_penalty=0.7):
        beams = [(0.0, [bos], h0)]
        finished = []
        for _ in range(max_len):
            tokens = torch.tensor([b[1][-1] for b in beams])
            hs = torch.cat([b[2] for b in beams])
            with torch.no_grad():
                logp, new_h = model(tokens, hs)
            scores = torch.tensor([b[0] for b in beams]).unsqueeze(1) + logp
            top_scores, top_idx = scores.view(-1).topk(beam_size)
            new_beams = []
            for score, flat in zip(top_scores.tolist(), top_idx.tolist()):
                beam, token = divmod(flat, vocab)
                seq = beams[beam][1] + [token]
                if token == eos:
                    finished.append((score / len(seq) ** length_penalty, seq))
                else:
                    new_beams.append((score, seq, new_h[beam:beam + 1]))
            if not new_beams:
                break
            beams = new_beams
        finished += [(s / len(q) ** length_penalty, q) for s, q, _ in beams]
        return sorted(finished, key=lambda f: -f[0])

    results = []
    for seed_state in torch.randn(3, 1, hidden):
        best = beam_search(seed_state)
        results.append(best[0][1] + [-1] * (8 - len(best[0][1])))
        put(f"beam.scores.{len(results)}", [s for s, _ in best[:3]])
    put("beam.best", results)
    # greedy and sampled decoding with temperature from a seeded generator
    gen = torch.Generator().manual_seed(5)
    h = torch.zeros(2, hidden)
    tok = torch.full((2,), bos)
    sampled = []
    with torch.no_grad():
        for _ in range(5):
            logp, h = model(tok, h)
            tok = torch.multinomial((logp / 0.8).softmax(-1), 1, generator=gen).squeeze(1)
            sampled.append(tok)
    put("beam.sampled", torch.stack(sampled, 1))


def section_forecast() -> None:
    t = torch.linspace(0, 12.56, 120)
    series = torch.sin(t) + 0.1 * torch.randn(120) + 0.05 * t
    lo, hi = series.min(), series.max()
    scaled = (series - lo) / (hi - lo)
    window = 10
    windows = scaled.unfold(0, window + 1, 1)  # [n, window + 1]
    x, y = windows[:, :window].unsqueeze(-1), windows[:, window:]
    split = 80
    put("fc.windows_shape", list(windows.shape))

    class LSTMForecaster(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 16, num_layers=2, batch_first=True, dropout=0.1)
            self.head = nn.Linear(16, 1)

        def forward(self, x):
            out, (h, c) = self.lstm(x)
            return self.head(out[:, -1])

    model = LSTMForecaster()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    from torch.utils.data import DataLoader, TensorDataset

    loader = DataLoader(TensorDataset(x[:split], y[:split]), batch_size=16, shuffle=True)
    losses = []
    for _ in range(3):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.mse_loss(model(xb), yb)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
    put("fc.losses", losses)
    model.eval()
    with torch.no_grad():
        put("fc.val", F.l1_loss(model(x[split:]), y[split:]))
        # autoregressive rollout, unscaled
        context = scaled[split - window:split].view(1, window, 1)
        preds = []
        for _ in range(6):
            nxt = model(context)
            preds.append(nxt.item())
            context = torch.cat([context[:, 1:], nxt.view(1, 1, 1)], dim=1)
        put("fc.rollout", torch.tensor(preds) * (hi - lo) + lo)
    put_state("fc.model", model)


def section_gat() -> None:
    num_nodes, in_dim, out_dim, heads = 7, 5, 4, 2
    edge_index = torch.tensor([[0, 1, 1, 2, 3, 4, 5, 6, 2, 0, 3],
                               [1, 0, 2, 1, 4, 3, 6, 5, 0, 2, 3]])
    features = torch.randn(num_nodes, in_dim)
    labels = torch.tensor([0, 1, 0, 1, 2, 2, 0])

    class GATLayer(nn.Module):
        def __init__(self, in_dim, out_dim, heads, concat=True):
            super().__init__()
            self.heads, self.out_dim, self.concat = heads, out_dim, concat
            self.lin = nn.Linear(in_dim, heads * out_dim, bias=False)
            self.att_src = nn.Parameter(torch.empty(1, heads, out_dim))
            self.att_dst = nn.Parameter(torch.empty(1, heads, out_dim))
            nn.init.xavier_uniform_(self.att_src)
            nn.init.xavier_uniform_(self.att_dst)

        def forward(self, x, edge_index):
            src, dst = edge_index
            h = self.lin(x).view(-1, self.heads, self.out_dim)
            alpha = (h * self.att_src).sum(-1)[src] + (h * self.att_dst).sum(-1)[dst]
            alpha = F.leaky_relu(alpha, 0.2)
            amax = torch.full((x.size(0), self.heads), float("-inf")).scatter_reduce(
                0, dst.unsqueeze(1).expand_as(alpha), alpha, reduce="amax", include_self=True)
            alpha = (alpha - amax[dst]).exp()
            denom = torch.zeros(x.size(0), self.heads).index_add_(0, dst, alpha)
            alpha = alpha / denom[dst]
            msg = h[src] * alpha.unsqueeze(-1)
            out = torch.zeros(x.size(0), self.heads, self.out_dim).index_add_(0, dst, msg)
            return out.flatten(1) if self.concat else out.mean(1)

    layer1 = GATLayer(in_dim, out_dim, heads)
    layer2 = GATLayer(heads * out_dim, 3, 1, concat=False)
    params = list(layer1.parameters()) + list(layer2.parameters())
    optimizer = torch.optim.Adam(params, lr=0.01, weight_decay=5e-4)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        hidden = F.elu(layer1(features, edge_index))
        logits = layer2(hidden, edge_index)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("gat.losses", losses)
    put("gat.logits", logits)
    put("gat.att_grad", layer1.att_src.grad)
    put("gat.lin", layer2.lin.weight)
    # scatter_reduce's other reductions, and their gradients
    values = torch.randn(11, requires_grad=True)
    for reduce in ("sum", "mean", "amax", "amin", "prod"):
        out = torch.zeros(7).scatter_reduce(0, edge_index[1], values, reduce=reduce,
                                            include_self=False)
        (grad,) = torch.autograd.grad((out * torch.arange(7.0)).sum(), values)
        put(f"gat.scatter.{reduce}", [out, grad])


def section_fake_quant() -> None:
    # quantization-aware training by hand: weights and activations pass through
    # fake_quantize_per_tensor_affine (straight-through gradient inside the range)
    class QATNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(6, 8)
            self.fc2 = nn.Linear(8, 3)

        @staticmethod
        def fq(t, scale, zero_point=0, lo=-128, hi=127):
            return torch.fake_quantize_per_tensor_affine(t, scale, zero_point, lo, hi)

        def forward(self, x):
            w1 = self.fq(self.fc1.weight, self.fc1.weight.detach().abs().max().item() / 127)
            h = F.relu(F.linear(x, w1, self.fc1.bias))
            h = self.fq(h, 0.05, 0, 0, 255)
            w2 = self.fq(self.fc2.weight, self.fc2.weight.detach().abs().max().item() / 127)
            return F.linear(h, w2, self.fc2.bias)

    net = QATNet()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.randn(16, 6)
    y = torch.randint(0, 3, (16,))
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("fq.losses", losses)
    put("fq.grad", net.fc1.weight.grad)
    put_state("fq.net", net)
    t = torch.linspace(-2, 2, 9, requires_grad=True)
    q = torch.fake_quantize_per_tensor_affine(t, 0.3, 2, -5, 5)
    q.sum().backward()
    put("fq.values", q)
    put("fq.ste_grad", t.grad)
    qc = torch.fake_quantize_per_channel_affine(
        torch.randn(3, 4), torch.tensor([0.1, 0.2, 0.05]),
        torch.tensor([0, 1, -1], dtype=torch.int32), 0, -8, 7)
    try:  # (an int64 zero point is refused)
        torch.fake_quantize_per_channel_affine(torch.ones(2, 2), torch.ones(2),
                                               torch.zeros(2, dtype=torch.long), 0, 0, 255)
        put("fq.long_error", "none")
    except RuntimeError:
        put("fq.long_error", "RuntimeError")
    put("fq.per_channel", qc)


SECTIONS = {"tens": section_tensors, "agb": section_autograd_basics, "mod": section_module_api,
            "beam": section_beam_search, "fc": section_forecast, "gat": section_gat,
            "fq": section_fake_quant}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
