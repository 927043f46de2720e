"""Models from papers and courses trained the way their scripts do, afresh (PR7, session 24):
word2vec skip-gram with negative sampling (unigram^0.75 noise drawn by multinomial, sparse
embedding gradients stepped by SparseAdam, nearest words by cosine); a char-RNN trained with
truncated BPTT (hidden state detached between chunks) then sampled at two temperatures;
a pointer network that learns to sort (attention logits over the input, masking of chosen
positions, teacher forcing); Deep Sets (sum pooling) and PointNet (shared MLP, max pooling,
an input transform regularized to orthogonality); capsules with dynamic routing and the
margin loss. Tiny sizes; run by prog_s24_PR7_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put, put_state

TEXT = ("the cat sat on the mat the dog sat on the log the cat saw the dog "
        "a dog and a cat sat on a mat the log was on the mat")


def section_skipgram() -> None:
    words = TEXT.split()
    vocab = sorted(set(words))
    index = {w: i for i, w in enumerate(vocab)}
    ids = torch.tensor([index[w] for w in words])
    counts = torch.bincount(ids, minlength=len(vocab)).double()
    noise = counts.pow(0.75)
    noise /= noise.sum()
    pairs = [(int(ids[i]), int(ids[j])) for i in range(len(ids))
             for j in range(max(0, i - 2), min(len(ids), i + 3)) if j != i]
    center = torch.tensor([p[0] for p in pairs])
    context = torch.tensor([p[1] for p in pairs])
    dim, k = 8, 3
    emb_in = nn.Embedding(len(vocab), dim, sparse=True)
    emb_out = nn.Embedding(len(vocab), dim, sparse=True)
    nn.init.uniform_(emb_in.weight, -0.5 / dim, 0.5 / dim)
    nn.init.zeros_(emb_out.weight)
    opt = torch.optim.SparseAdam(list(emb_in.parameters()) + list(emb_out.parameters()),
                                 lr=0.05)
    g = torch.Generator().manual_seed(16)
    losses = []
    for _epoch in range(4):
        order = torch.randperm(len(pairs), generator=g)
        for batch in order.split(32):
            c, o = center[batch], context[batch]
            neg = torch.multinomial(noise, len(batch) * k, replacement=True,
                                    generator=g).view(-1, k)
            v = emb_in(c)
            pos_score = (v * emb_out(o)).sum(1)
            neg_score = torch.bmm(emb_out(neg), v.unsqueeze(2)).squeeze(2)
            loss = -(F.logsigmoid(pos_score) + F.logsigmoid(-neg_score).sum(1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    put("w2v.noise", noise)
    put("w2v.losses", torch.tensor(losses))
    put("w2v.grad_sparse", emb_in.weight.grad.is_sparse)
    vectors = F.normalize(emb_in.weight.detach(), dim=1)
    sims = vectors @ vectors[index["cat"]]
    put("w2v.sims", sims)
    put("w2v.nearest", [vocab[i] for i in sims.topk(4).indices.tolist()])
    put_state("w2v.out", emb_out)


class CharRNN(nn.Module):
    def __init__(self, n, hidden=24):
        super().__init__()
        self.emb = nn.Embedding(n, 12)
        self.rnn = nn.GRU(12, hidden, num_layers=2, batch_first=True, dropout=0.1)
        self.head = nn.Linear(hidden, n)

    def forward(self, x, h=None):
        out, h = self.rnn(self.emb(x), h)
        return self.head(out), h


def section_char_rnn() -> None:
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in TEXT])
    model = CharRNN(len(chars))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    seq, batch = 12, 4
    # batch the stream into 4 parallel rows, then walk through it in chunks (truncated BPTT)
    usable = (len(data) - 1) // batch * batch
    xs = data[:usable].view(batch, -1)
    ys = data[1:usable + 1].view(batch, -1)
    losses = []
    for _epoch in range(3):
        h = None
        model.train()
        for start in range(0, xs.size(1) - seq + 1, seq):
            x, y = xs[:, start:start + seq], ys[:, start:start + seq]
            if h is not None:
                h = h.detach()
            logits, h = model(x, h)
            loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
    put("charrnn.losses", torch.tensor(losses))
    model.eval()
    g = torch.Generator().manual_seed(17)
    for temperature in (0.5, 1.2):
        with torch.no_grad():
            x = torch.tensor([[stoi["t"]]])
            h, out = None, ["t"]
            for _ in range(30):
                logits, h = model(x, h)
                probs = F.softmax(logits[0, -1] / temperature, dim=-1)
                nxt = torch.multinomial(probs, 1, generator=g)
                out.append(chars[int(nxt)])
                x = nxt.view(1, 1)
        put(f"charrnn.text_{temperature}", "".join(out))
        put(f"charrnn.last_probs_{temperature}", probs)
    put("charrnn.h", h)


class PointerNet(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.embed = nn.Linear(1, hidden)
        self.encoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.decoder = nn.LSTMCell(hidden, hidden)
        self.w1 = nn.Linear(hidden, hidden, bias=False)
        self.w2 = nn.Linear(hidden, hidden, bias=False)
        self.v = nn.Linear(hidden, 1, bias=False)
        self.start = nn.Parameter(torch.zeros(hidden))

    def forward(self, x, targets=None):
        b, n = x.shape
        e = self.embed(x.unsqueeze(-1))
        enc, (h, c) = self.encoder(e)
        h, c = h[0], c[0]
        inp = self.start.expand(b, -1)
        mask = torch.zeros(b, n, dtype=torch.bool)
        all_logits, picks = [], []
        keys = self.w1(enc)
        for t in range(n):
            h, c = self.decoder(inp, (h, c))
            logits = self.v(torch.tanh(keys + self.w2(h).unsqueeze(1))).squeeze(-1)
            logits = logits.masked_fill(mask, float("-inf"))
            all_logits.append(logits)
            pick = targets[:, t] if targets is not None else logits.argmax(1)
            picks.append(pick)
            mask = mask.scatter(1, pick.unsqueeze(1), True)
            inp = e[torch.arange(b), pick]
        return torch.stack(all_logits, 1), torch.stack(picks, 1)


def section_pointer() -> None:
    g = torch.Generator().manual_seed(18)
    model = PointerNet()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _step in range(15):
        x = torch.rand(16, 5, generator=g)
        target = x.argsort(dim=1)
        logits, _ = model(x, target)
        loss = F.cross_entropy(logits.reshape(-1, 5), target.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("pointer.losses", torch.tensor(losses))
    with torch.no_grad():
        x = torch.rand(8, 5, generator=g)
        logits, picks = model(x)
    put("pointer.picks", picks)
    put("pointer.exact", (picks == x.argsort(1)).all(1).float().mean())
    put("pointer.logits_finite", torch.isfinite(logits).sum(-1))
    put("pointer.last_logits", logits[:, 0])


class PointNet(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.tnet = nn.Sequential(nn.Conv1d(2, 16, 1), nn.ReLU(), nn.AdaptiveMaxPool1d(1),
                                  nn.Flatten(), nn.Linear(16, 4))
        self.mlp = nn.Sequential(nn.Conv1d(2, 16, 1, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                                 nn.Conv1d(16, 32, 1), nn.ReLU())
        self.head = nn.Linear(32, classes)

    def forward(self, pts):  # pts: (B, N, 2)
        x = pts.transpose(1, 2)
        transform = self.tnet(x).view(-1, 2, 2) + torch.eye(2)
        x = torch.bmm(transform, x)
        feats = self.mlp(x).max(dim=2).values
        return self.head(feats), transform


def _shapes(n, g):
    """Point clouds of three shapes: circle, square outline, segment; random rotation."""
    labels = torch.randint(0, 3, (n,), generator=g)
    t = torch.rand(n, 20, generator=g) * 2 * torch.pi
    circle = torch.stack([t.cos(), t.sin()], -1)
    u = torch.rand(n, 20, generator=g) * 2 - 1
    side = torch.randint(0, 4, (n, 20), generator=g)
    square = torch.stack([torch.where(side < 2, u, torch.where(side == 2, 1.0, -1.0)),
                          torch.where(side >= 2, u, torch.where(side == 0, 1.0, -1.0))], -1)
    segment = torch.stack([u, 0.1 * u], -1)
    pts = torch.where(labels.view(-1, 1, 1) == 0, circle,
                      torch.where(labels.view(-1, 1, 1) == 1, square, segment))
    angle = torch.rand(n, generator=g) * 2 * torch.pi
    rot = torch.stack([torch.stack([angle.cos(), -angle.sin()], -1),
                       torch.stack([angle.sin(), angle.cos()], -1)], -2)
    return pts @ rot, labels


def section_pointnet_deepsets() -> None:
    g = torch.Generator().manual_seed(19)
    model = PointNet()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _step in range(10):
        pts, labels = _shapes(24, g)
        logits, transform = model(pts)
        eye = torch.eye(2).expand(len(pts), 2, 2)
        ortho = torch.linalg.matrix_norm(transform @ transform.transpose(1, 2) - eye).mean()
        loss = F.cross_entropy(logits, labels) + 0.001 * ortho
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("pointnet.losses", torch.tensor(losses))
    model.eval()
    pts, labels = _shapes(12, g)
    with torch.no_grad():
        logits, _ = model(pts)
        shuffled, _ = model(pts[:, torch.randperm(20, generator=g)])
    put("pointnet.logits", logits)
    put("pointnet.permutation_gap", (logits - shuffled).abs().max() < 1e-5)
    put_state("pointnet.state", model)
    # Deep Sets: phi per element, sum pooling, rho; regress the sum of squares of a set
    phi = nn.Sequential(nn.Linear(1, 16), nn.ReLU(), nn.Linear(16, 16))
    rho = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
    opt = torch.optim.Adam([*phi.parameters(), *rho.parameters()], lr=0.01)
    losses = []
    for _step in range(20):
        sizes = torch.randint(2, 6, (16,), generator=g)
        x = torch.randn(16, 5, 1, generator=g)
        mask = (torch.arange(5) < sizes[:, None]).unsqueeze(-1).float()
        target = (x.pow(2) * mask).sum((1, 2))
        pred = rho((phi(x) * mask).sum(1)).squeeze(1)
        loss = F.mse_loss(pred, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("deepsets.losses", torch.tensor(losses))


def squash(s, dim=-1):
    norm2 = s.pow(2).sum(dim, keepdim=True)
    return norm2 / (1 + norm2) * s / torch.sqrt(norm2 + 1e-8)


class CapsNet(nn.Module):
    def __init__(self, n_in=8, d_in=4, n_out=3, d_out=6, iters=3):
        super().__init__()
        self.primary = nn.Linear(10, n_in * d_in)
        self.W = nn.Parameter(0.1 * torch.randn(1, n_in, n_out, d_out, d_in))
        self.n_in, self.d_in, self.n_out, self.iters = n_in, d_in, n_out, iters

    def forward(self, x):
        u = squash(self.primary(x).view(-1, self.n_in, self.d_in))
        u_hat = (self.W @ u[:, :, None, :, None]).squeeze(-1)  # (B, in, out, d_out)
        b = torch.zeros(x.size(0), self.n_in, self.n_out)
        for i in range(self.iters):
            c = b.softmax(dim=2)
            v = squash((c.unsqueeze(-1) * u_hat).sum(1))
            if i < self.iters - 1:
                b = b + (u_hat * v.unsqueeze(1)).sum(-1)
        return v, c


def section_capsules() -> None:
    g = torch.Generator().manual_seed(20)
    protos = torch.randn(3, 10, generator=g)
    model = CapsNet()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses = []
    for _step in range(12):
        y = torch.randint(0, 3, (16,), generator=g)
        x = protos[y] + 0.3 * torch.randn(16, 10, generator=g)
        v, c = model(x)
        lengths = v.norm(dim=-1)
        t = F.one_hot(y, 3).float()
        loss = (t * F.relu(0.9 - lengths).pow(2)
                + 0.5 * (1 - t) * F.relu(lengths - 0.1).pow(2)).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("caps.losses", torch.tensor(losses))
    put("caps.lengths", lengths)
    put("caps.coupling", c[:2])
    put("caps.W_grad", model.W.grad[0, :2])


SECTIONS = {"skipgram": section_skipgram, "char_rnn": section_char_rnn,
            "pointer": section_pointer, "pointnet_deepsets": section_pointnet_deepsets,
            "capsules": section_capsules}
