"""More programs, afresh (PR5, session 22): CBOW with a hierarchical softmax over a Huffman
tree and a negative-binomial count head; PageRank and personalized PageRank by sparse power
iteration, label propagation; a SchNet-style interaction network (radial basis, cosine cutoff,
index_add messages) fitted to energies and forces; 2-d Gaussian splatting with depth-sorted
alpha compositing; TF-IDF features as a sparse COO matrix feeding a logistic regression, and a
WordPiece tokenizer; LQR by the Riccati recursion against a gain learned through rollouts;
kernel MMD with a permutation test and inverse-propensity / doubly robust effect estimates;
Monte Carlo tree search on tic-tac-toe training a policy-value net; Mandelbrot escape counts
and a checkerboard Metropolis Ising model; NMF, kernel PCA, mean shift, Kabsch alignment and
quaternion slerp; and signals (Savitzky-Golay by a pseudo-inverse, Wiener deconvolution and an
analytic signal by FFT, a Hawkes process fitted by maximum likelihood). Tiny sizes; run by
prog_s22_PR5_all.py.
"""

import heapq
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def huffman_paths(counts):
    heap = [(c, i, None) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    next_id = len(counts)
    parents = {}
    while len(heap) > 1:
        c1, i1, _ = heapq.heappop(heap)
        c2, i2, _ = heapq.heappop(heap)
        parents[i1] = (next_id, 0)
        parents[i2] = (next_id, 1)
        heapq.heappush(heap, (c1 + c2, next_id, None))
        next_id += 1
    paths, codes = [], []
    for word in range(len(counts)):
        nodes, bits, current = [], [], word
        while current in parents:
            parent, bit = parents[current]
            nodes.append(parent - len(counts))
            bits.append(bit)
            current = parent
        paths.append(nodes[::-1])
        codes.append(bits[::-1])
    return paths, codes, next_id - len(counts)


def section_hsoftmax() -> None:
    vocab = 12
    corpus = torch.multinomial(torch.linspace(3, 0.5, vocab), 200, replacement=True)
    counts = torch.bincount(corpus, minlength=vocab).tolist()
    paths, codes, inner = huffman_paths(counts)
    depth = max(len(p) for p in paths)
    path_table = torch.tensor([p + [0] * (depth - len(p)) for p in paths])
    code_table = torch.tensor([c + [0] * (depth - len(c)) for c in codes]).float()
    mask = torch.tensor([[1.0] * len(p) + [0.0] * (depth - len(p)) for p in paths])
    put("hs.depths", mask.sum(1))
    embed = nn.Embedding(vocab, 8)
    inner_vectors = nn.Embedding(inner, 8)
    nn.init.zeros_(inner_vectors.weight)
    optimizer = torch.optim.SGD([*embed.parameters(), *inner_vectors.parameters()], lr=0.5)
    windows = corpus.unfold(0, 5, 1)
    context = torch.cat([windows[:, :2], windows[:, 3:]], 1)
    centre = windows[:, 2]
    losses = []
    for _ in range(6):
        hidden = embed(context).mean(1)
        scores = (inner_vectors(path_table[centre]) * hidden[:, None]).sum(-1)
        # left child: sigmoid(score), right child: sigmoid(-score)
        log_prob = F.logsigmoid(scores * (1 - 2 * code_table[centre])) * mask[centre]
        loss = -log_prob.sum(1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("hs.losses", losses)
    with torch.no_grad():
        all_scores = (inner_vectors(path_table) @ hidden[0])
        word_log_probs = (F.logsigmoid(all_scores * (1 - 2 * code_table)) * mask).sum(1)
    put("hs.total_prob", word_log_probs.exp().sum())
    put_state("hs.embed", embed)
    # a negative-binomial count head (DeepAR-style) on the window counts
    features = F.one_hot(context, vocab).float().sum(1)
    targets = (centre % 4).float() * 2
    head = nn.Linear(vocab, 2)
    head_opt = torch.optim.Adam(head.parameters(), lr=0.05)
    nlls = []
    for _ in range(8):
        raw_count, logits = head(features).unbind(-1)
        dist = torch.distributions.NegativeBinomial(total_count=F.softplus(raw_count) + 1e-3,
                                                    logits=logits)
        nll = -dist.log_prob(targets).mean()
        head_opt.zero_grad()
        nll.backward()
        head_opt.step()
        nlls.append(nll.item())
    put("hs.nb_nll", nlls)
    put("hs.nb_mean", dist.mean[:6])
    put("hs.nb_variance", dist.variance[:6])


def section_pagerank() -> None:
    n = 10
    edges = torch.tensor([[0, 1], [1, 2], [2, 0], [2, 3], [3, 4], [4, 5], [5, 3], [6, 3],
                          [7, 6], [8, 7], [9, 8], [1, 9], [4, 0], [5, 2]]).T
    out_degree = torch.bincount(edges[0], minlength=n).float()
    values = 1 / out_degree[edges[0]]
    transition = torch.sparse_coo_tensor(edges.flip(0), values, (n, n)).coalesce()
    rank = torch.full((n, 1), 1 / n)
    damping = 0.85
    for iteration in range(100):  # noqa: B007 - recorded after the loop
        new_rank = damping * torch.sparse.mm(transition, rank) + (1 - damping) / n
        if (new_rank - rank).abs().sum() < 1e-7:
            break
        rank = new_rank
    put("pr.rank", rank[:, 0])
    put("pr.iterations", iteration)
    put("pr.order", rank[:, 0].argsort(descending=True)[:3])
    teleport = torch.zeros(n, 1)
    teleport[7] = 1
    personal = teleport.clone()
    for _ in range(60):
        personal = damping * torch.sparse.mm(transition, personal) + (1 - damping) * teleport
    put("pr.personal", personal[:, 0])
    put("pr.indices", transition.indices())
    # label propagation over a Gaussian kNN graph of two moons-like blobs
    points = torch.cat([torch.randn(15, 2) * 0.4, torch.randn(15, 2) * 0.4 + 2])
    distances = torch.cdist(points, points)
    knn = distances.topk(5, largest=False).indices
    weights = torch.zeros(30, 30).scatter_(1, knn, 1.0)
    weights = ((weights + weights.T) > 0).float() * torch.exp(-distances ** 2)
    weights.fill_diagonal_(0)
    normalised = weights / weights.sum(1, keepdim=True)
    labels = torch.zeros(30, 2)
    labels[0, 0] = labels[15, 1] = 1
    known = torch.zeros(30, dtype=torch.bool)
    known[[0, 15]] = True
    spread = labels.clone()
    for _ in range(30):
        spread = normalised @ spread
        spread[known] = labels[known]
    put("pr.spread", spread)
    put("pr.predicted", spread.argmax(1))


class Interaction(nn.Module):
    def __init__(self, dim=8, n_rbf=10, cutoff=3.0):
        super().__init__()
        self.centers = nn.Parameter(torch.linspace(0, cutoff, n_rbf), requires_grad=False)
        self.cutoff = cutoff
        self.filter = nn.Sequential(nn.Linear(n_rbf, dim), nn.Softplus(), nn.Linear(dim, dim))
        self.dense = nn.Linear(dim, dim)

    def forward(self, h, positions, pairs):
        vectors = positions[pairs[1]] - positions[pairs[0]]
        distance = vectors.norm(dim=-1)
        rbf = torch.exp(-4.0 * (distance[:, None] - self.centers) ** 2)
        envelope = 0.5 * (torch.cos(math.pi * distance / self.cutoff) + 1)
        envelope = envelope * (distance < self.cutoff)
        messages = h[pairs[1]] * self.filter(rbf) * envelope[:, None]
        aggregated = torch.zeros_like(h).index_add(0, pairs[0], messages)
        return h + self.dense(F.softplus(aggregated) - math.log(2.0))


def section_schnet() -> None:
    n_mol, atoms = 4, 5
    species = torch.randint(0, 3, (n_mol * atoms,))
    positions = torch.randn(n_mol * atoms, 3, dtype=torch.float64)
    molecule = torch.arange(n_mol).repeat_interleave(atoms)
    same = molecule[:, None] == molecule[None, :]
    pairs = (same & ~torch.eye(n_mol * atoms, dtype=torch.bool)).nonzero().T
    # reference energies and forces of a Morse-like pair potential
    positions.requires_grad_()
    d = (positions[pairs[0]] - positions[pairs[1]]).norm(dim=-1)
    reference = torch.zeros(n_mol, dtype=torch.float64).index_add(
        0, molecule[pairs[0]], 0.5 * (1 - torch.exp(-(d - 1.2))) ** 2)
    (ref_forces,) = torch.autograd.grad(-reference.sum(), positions)
    reference = reference.detach()
    embed = nn.Embedding(3, 8).double()
    blocks = nn.ModuleList([Interaction(), Interaction()]).double()
    readout = nn.Sequential(nn.Linear(8, 8), nn.Softplus(), nn.Linear(8, 1)).double()
    params = [*embed.parameters(), *blocks.parameters(), *readout.parameters()]
    optimizer = torch.optim.Adam([p for p in params if p.requires_grad], lr=5e-3)
    history = []
    for _ in range(5):
        h = embed(species)
        for block in blocks:
            h = block(h, positions, pairs)
        energy = torch.zeros(n_mol, dtype=torch.float64).index_add(0, molecule,
                                                                   readout(h)[:, 0])
        (forces,) = torch.autograd.grad(-energy.sum(), positions, create_graph=True)
        loss = F.mse_loss(energy, reference) + 0.1 * F.mse_loss(forces, ref_forces)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    put("schnet.losses", history)
    put("schnet.energy", energy)
    put("schnet.forces", forces)
    put("schnet.force_sum", forces.view(n_mol, atoms, 3).sum(1).abs().max() < 1e-10)
    put_state("schnet.blocks", blocks)


def render_gaussians(means, log_scales, angles, colors, opacity, depth, size=12):
    coords = (torch.arange(size, dtype=means.dtype) + 0.5) / size
    grid = torch.stack(torch.meshgrid(coords, coords, indexing="xy"), -1).view(-1, 2)
    cos, sin = torch.cos(angles), torch.sin(angles)
    rotation = torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)
    scales = torch.diag_embed(torch.exp(log_scales))
    covariance = rotation @ scales @ scales @ rotation.mT
    precision = torch.linalg.inv(covariance)
    delta = grid[None] - means[:, None]
    mahalanobis = torch.einsum("npi,nij,npj->np", delta, precision, delta)
    alpha = (torch.sigmoid(opacity)[:, None] * torch.exp(-0.5 * mahalanobis)).clamp(max=0.99)
    order = depth.argsort()
    alpha, colors = alpha[order], colors[order]
    transmittance = torch.cumprod(torch.cat([torch.ones_like(alpha[:1]), 1 - alpha[:-1]]), 0)
    weights = alpha * transmittance
    image = (weights[..., None] * torch.sigmoid(colors)[:, None]).sum(0)
    return image.view(size, size, 3), transmittance[-1] * (1 - alpha[-1])


def section_gsplat() -> None:
    coords = torch.linspace(0, 1, 12)
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    target = torch.stack([xx, yy, 1 - xx * yy], -1)
    n = 10
    means = torch.rand(n, 2).requires_grad_()
    log_scales = torch.full((n, 2), math.log(0.15)).requires_grad_()
    angles = torch.zeros(n).requires_grad_()
    colors = torch.zeros(n, 3).requires_grad_()
    opacity = torch.zeros(n).requires_grad_()
    depth = torch.rand(n)
    optimizer = torch.optim.Adam([means, log_scales, angles, colors, opacity], lr=0.03)
    losses = []
    for _ in range(8):
        image, background = render_gaussians(means, log_scales, angles, colors, opacity, depth)
        loss = F.l1_loss(image, target) + 0.2 * F.mse_loss(image, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("splat.losses", losses)
    put("splat.means", means)
    put("splat.image", image)
    put("splat.background", background)
    put("splat.grads", [log_scales.grad, angles.grad])


def wordpiece(word, vocab):
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def section_tfidf() -> None:
    documents = ["the cat sat on the mat", "the dog sat on the log", "cats and dogs",
                 "a cat and a dog", "the mat is red", "logs burn in the fire",
                 "the red dog runs", "a cat runs on a mat"]
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 1, 0])
    vocabulary = sorted({w for d in documents for w in d.split()})
    index = {w: i for i, w in enumerate(vocabulary)}
    rows, cols = [], []
    for r, document in enumerate(documents):
        for word in document.split():
            rows.append(r)
            cols.append(index[word])
    counts = torch.sparse_coo_tensor(torch.tensor([rows, cols]), torch.ones(len(rows)),
                                     (len(documents), len(vocabulary))).coalesce()
    put("tfidf.nnz", counts._nnz())
    dense_counts = counts.to_dense()
    document_frequency = (dense_counts > 0).sum(0)
    idf = torch.log((1 + len(documents)) / (1 + document_frequency)) + 1
    values = counts.values() * idf[counts.indices()[1]]
    tfidf = torch.sparse_coo_tensor(counts.indices(), values, counts.shape)
    norms = torch.sparse.sum(tfidf * tfidf, 1).to_dense().sqrt()
    normalised = torch.sparse_coo_tensor(counts.indices(),
                                         values / norms[counts.indices()[0]], counts.shape)
    put("tfidf.idf", idf)
    put("tfidf.dense", normalised.to_dense())
    weights = torch.zeros(len(vocabulary), 1, requires_grad=True)
    bias = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weights, bias], lr=1.0)
    losses = []
    for _ in range(10):
        logits = torch.sparse.mm(normalised, weights)[:, 0] + bias
        loss = F.binary_cross_entropy_with_logits(logits, labels.float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("tfidf.losses", losses)
    put("tfidf.weights", weights)
    # (the top two: the next four words tie exactly, and which of tied values topk returns is
    # its selection algorithm's choice, PyTorch's and deltagrad's apart)
    put("tfidf.top_words", " ".join(vocabulary[i] for i in weights[:, 0].topk(2).indices))
    vocab = {"un", "##aff", "##able", "play", "##ing", "##ed", "cat", "##s", "the"}
    put("tfidf.wordpiece", " ".join(" ".join(wordpiece(w, vocab)) for w in
                                    ["unaffable", "playing", "cats", "played", "xyz", "the"]))


def section_lqr() -> None:
    dt = 0.1
    a = torch.tensor([[1.0, dt], [0.0, 1.0]], dtype=torch.float64)
    b = torch.tensor([[0.5 * dt ** 2], [dt]], dtype=torch.float64)
    q = torch.diag(torch.tensor([1.0, 0.1], dtype=torch.float64))
    r = torch.tensor([[0.01]], dtype=torch.float64)
    p = q.clone()
    for _ in range(300):
        gain = torch.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)
        p = q + a.T @ p @ (a - b @ gain)
    put("lqr.gain", gain)
    put("lqr.closed_loop_eigs", torch.linalg.eigvals(a - b @ gain).abs().sort().values)
    starts = torch.randn(8, 2, dtype=torch.float64)

    def rollout_cost(k, steps=40):
        x = starts
        cost = 0
        for _ in range(steps):
            u = -x @ k.T
            cost = cost + (x @ q * x).sum(1) + (u @ r * u).sum(1)
            x = x @ a.T + u @ b.T
        return cost.mean()

    learned = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([learned], lr=0.5)
    costs = []
    for _ in range(25):
        cost = rollout_cost(learned)
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
        costs.append(cost.item())
    put("lqr.costs", costs)
    put("lqr.learned", learned)
    put("lqr.riccati_cost", rollout_cost(gain))


def rbf_mmd(x, y, bandwidth):
    xy = torch.cat([x, y])
    kernel = torch.exp(-torch.cdist(xy, xy) ** 2 / (2 * bandwidth ** 2))
    n = len(x)
    kxx, kyy, kxy = kernel[:n, :n], kernel[n:, n:], kernel[:n, n:]
    m = len(y)
    return ((kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
            + (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1)) - 2 * kxy.mean())


def section_mmd_causal() -> None:
    x = torch.randn(30, 2, dtype=torch.float64)
    y = torch.randn(25, 2, dtype=torch.float64) * 1.3 + 1.0
    pooled = torch.cat([x, y])
    bandwidth = torch.median(torch.pdist(pooled))
    observed = rbf_mmd(x, y, bandwidth)
    null = []
    for _ in range(50):
        perm = torch.randperm(55)
        null.append(rbf_mmd(pooled[perm[:30]], pooled[perm[30:]], bandwidth))
    null = torch.stack(null)
    put("mmd.bandwidth", bandwidth)
    put("mmd.observed", observed)
    put("mmd.p_value", (1 + (null >= observed).sum()) / 51)
    put("mmd.null_quantiles", torch.quantile(null, torch.tensor([0.5, 0.95],
                                                                dtype=torch.float64)))
    # treatment effect from confounded observational data
    covariates = torch.randn(200, 3, dtype=torch.float64)
    propensity_true = torch.sigmoid(covariates @ torch.tensor([0.8, -0.5, 0.3],
                                                              dtype=torch.float64))
    treated = torch.bernoulli(propensity_true)
    outcome = (2.0 * treated + covariates @ torch.tensor([1.0, 1.0, -0.5], dtype=torch.float64)
               + 0.5 * torch.randn(200, dtype=torch.float64))
    model = nn.Linear(3, 1).double()
    optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=50,
                                  line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(covariates)[:, 0], treated)
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        e = torch.sigmoid(model(covariates)[:, 0]).clamp(0.05, 0.95)
    ipw = (treated * outcome / e).mean() - ((1 - treated) * outcome / (1 - e)).mean()
    design = torch.cat([torch.ones(200, 1, dtype=torch.float64), covariates], 1)
    fits = []
    for group in (1.0, 0.0):
        rows = treated == group
        fits.append(torch.linalg.lstsq(design[rows], outcome[rows, None]).solution[:, 0])
    mu1, mu0 = design @ fits[0], design @ fits[1]
    dr = (mu1 - mu0 + treated * (outcome - mu1) / e
          - (1 - treated) * (outcome - mu0) / (1 - e)).mean()
    naive = outcome[treated == 1].mean() - outcome[treated == 0].mean()
    put("mmd.causal_estimates", torch.stack([naive, ipw, dr]))
    put("mmd.causal_propensity", e[:8])


LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def winner(board):
    for i, j, k in LINES:
        if board[i] != 0 and board[i] == board[j] == board[k]:
            return board[i]
    return 0 if 0 in board else None  # None: a draw


class PolicyValue(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(9, 32), nn.ReLU())
        self.policy = nn.Linear(32, 9)
        self.value = nn.Linear(32, 1)

    def forward(self, board):
        h = self.body(board)
        return self.policy(h), torch.tanh(self.value(h))[..., 0]


def mcts(net, board, player, simulations=24, c_puct=1.5):
    stats = {}

    def search(state, to_move):
        result = winner(state)
        if result is None:
            return 0.0
        if result != 0:
            return -1.0  # the previous mover won
        key = (tuple(state), to_move)
        if key not in stats:
            with torch.no_grad():
                logits, value = net(torch.tensor(state, dtype=torch.float32) * to_move)
            legal = torch.tensor([s == 0 for s in state])
            prior = torch.softmax(logits.masked_fill(~legal, -math.inf), 0)
            stats[key] = [prior, torch.zeros(9), torch.zeros(9)]
            return value.item()
        prior, visits, values = stats[key]
        q = torch.where(visits > 0, values / visits.clamp_min(1), torch.zeros(9))
        ucb = q + c_puct * prior * math.sqrt(visits.sum().item() + 1) / (1 + visits)
        ucb = ucb.masked_fill(torch.tensor([s != 0 for s in state]), -math.inf)
        move = int(ucb.argmax())
        child = list(state)
        child[move] = to_move
        value = -search(child, -to_move)
        visits[move] += 1
        values[move] += value
        return value

    for _ in range(simulations):
        search(list(board), player)
    return stats[(tuple(board), player)][1]


def section_mcts() -> None:
    net = PolicyValue()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    boards, policies, outcomes = [], [], []
    board, player, visit_log = [0] * 9, 1, []
    while winner(board) == 0:
        visits = mcts(net, board, player)
        visit_log.append(visits)
        boards.append(torch.tensor(board, dtype=torch.float32) * player)
        policies.append(visits / visits.sum())
        move = int(torch.multinomial(visits / visits.sum(), 1))
        board[move] = player
        outcomes.append(player)
        player = -player
    result = winner(board)
    final = 0 if result is None else result
    values = torch.tensor([float(final * p) for p in outcomes])
    put("mcts.board", board)
    put("mcts.visits", visit_log)
    losses = []
    for _ in range(5):
        logits, predicted = net(torch.stack(boards))
        loss = (-(torch.stack(policies) * torch.log_softmax(logits, 1)).sum(1).mean()
                + F.mse_loss(predicted, values))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("mcts.losses", losses)
    put_state("mcts.net", net)


def section_lattice() -> None:
    real = torch.linspace(-2.0, 0.6, 24)
    imag = torch.linspace(-1.2, 1.2, 18)
    c = torch.complex(real[None, :].expand(18, -1), imag[:, None].expand(-1, 24))
    z = torch.zeros_like(c)
    escaped = torch.zeros(c.shape, dtype=torch.long)
    for _ in range(30):
        z = torch.where(z.abs() <= 2, z * z + c, z)
        escaped += (z.abs() <= 2).long()
    put("lattice.escape", escaped)
    put("lattice.c_dtype", str(c.dtype))
    put("lattice.inside", (escaped == 30).sum())
    # checkerboard Metropolis on a periodic Ising lattice
    size, beta = 10, 0.5
    spins = torch.where(torch.rand(size, size) < 0.5, -1, 1)
    ii, jj = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    colours = [((ii + jj) % 2) == parity for parity in (0, 1)]
    magnetization, energy = [], []
    for _ in range(20):
        for colour in colours:
            neighbours = (spins.roll(1, 0) + spins.roll(-1, 0) + spins.roll(1, 1)
                          + spins.roll(-1, 1))
            delta = 2 * spins * neighbours
            accept = torch.rand(size, size) < torch.exp(-beta * delta.float())
            spins = torch.where(colour & accept, -spins, spins)
        magnetization.append(spins.float().mean().item())
        energy.append(-(spins * (spins.roll(1, 0) + spins.roll(1, 1))).float().mean().item())
    put("lattice.spins", spins)
    put("lattice.magnetization", magnetization)
    put("lattice.energy", energy)


def section_unsupervised() -> None:
    basis = torch.rand(3, 10, dtype=torch.float64)
    data = torch.rand(20, 3, dtype=torch.float64) @ basis
    w = torch.rand(20, 3, dtype=torch.float64)
    h = torch.rand(3, 10, dtype=torch.float64)
    errors = []
    for _ in range(40):  # Lee-Seung multiplicative updates
        h = h * (w.T @ data) / (w.T @ w @ h + 1e-12)
        w = w * (data @ h.T) / (w @ h @ h.T + 1e-12)
        errors.append((data - w @ h).norm().item())
    put("unsup.nmf_errors", errors[::5])
    # kernel PCA: eigenvalues and the projections' magnitudes (eigenvector signs are LAPACK's)
    x = torch.cat([torch.randn(15, 2, dtype=torch.float64),
                   torch.randn(15, 2, dtype=torch.float64) * 0.3 + 3])
    kernel = torch.exp(-torch.cdist(x, x) ** 2 / 2)
    centering = torch.eye(30, dtype=torch.float64) - 1 / 30
    centered = centering @ kernel @ centering
    eigenvalues, eigenvectors = torch.linalg.eigh(centered)
    top = eigenvectors[:, -2:].flip(1) * eigenvalues[-2:].flip(0).sqrt()
    put("unsup.kpca_values", eigenvalues[-4:])
    put("unsup.kpca_abs", top.abs())
    # mean shift with a Gaussian kernel
    modes = x.clone()
    for _ in range(60):
        weights = torch.exp(-torch.cdist(modes, x) ** 2 / (2 * 1.0 ** 2))
        modes = weights @ x / weights.sum(1, keepdim=True)
    put("unsup.modes", modes[[0, 20]])
    put("unsup.n_modes", torch.unique(modes.round(decimals=1), dim=0).shape[0])
    # Kabsch: the rotation taking one point cloud onto another
    angle = 0.7
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle), 0],
                             [math.sin(angle), math.cos(angle), 0], [0, 0, 1]],
                            dtype=torch.float64)
    cloud = torch.randn(12, 3, dtype=torch.float64)
    moved = cloud @ rotation.T + torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    p, q = cloud - cloud.mean(0), moved - moved.mean(0)
    u, _, vh = torch.linalg.svd(p.T @ q)
    d = torch.sign(torch.linalg.det(vh.T @ u.T))
    estimate = vh.T @ torch.diag(torch.tensor([1.0, 1.0, d.item()], dtype=torch.float64)) @ u.T
    put("unsup.kabsch", estimate)
    put("unsup.kabsch_gap", (estimate - rotation).abs().max() < 1e-10)
    # quaternion slerp between two rotations
    q0 = F.normalize(torch.randn(4, dtype=torch.float64), dim=0)
    q1 = F.normalize(torch.randn(4, dtype=torch.float64), dim=0)
    q1 = torch.where(q0.dot(q1) < 0, -q1, q1)
    omega = torch.acos(q0.dot(q1).clamp(-1, 1))
    ts = torch.linspace(0, 1, 5, dtype=torch.float64)[:, None]
    slerp = (torch.sin((1 - ts) * omega) * q0 + torch.sin(ts * omega) * q1) / torch.sin(omega)
    put("unsup.slerp", slerp)
    put("unsup.slerp_norms", slerp.norm(dim=1))


def section_signals() -> None:
    # Savitzky-Golay smoothing: the least-squares polynomial's central coefficients
    window, order = 7, 2
    offsets = torch.arange(window, dtype=torch.float64) - window // 2
    vandermonde = offsets[:, None] ** torch.arange(order + 1, dtype=torch.float64)
    coefficients = torch.linalg.pinv(vandermonde)[0]
    put("sig.savgol", coefficients)
    t = torch.linspace(0, 1, 64, dtype=torch.float64)
    clean = torch.sin(2 * math.pi * 3 * t)
    noisy = clean + 0.2 * torch.randn(64, dtype=torch.float64)
    smooth = F.conv1d(F.pad(noisy[None, None], (3, 3), mode="reflect"),
                      coefficients.flip(0)[None, None])[0, 0]
    put("sig.smooth_error", (smooth - clean).pow(2).mean())
    # Wiener deconvolution of a blurred chirp
    chirp = torch.cos(2 * math.pi * (2 * t + 10 * t ** 2))
    kernel = torch.zeros(64, dtype=torch.float64)
    kernel[:5] = torch.tensor([1, 4, 6, 4, 1], dtype=torch.float64) / 16
    blurred = torch.fft.irfft(torch.fft.rfft(chirp) * torch.fft.rfft(kernel), n=64)
    observed = blurred + 0.01 * torch.randn(64, dtype=torch.float64)
    transfer = torch.fft.rfft(kernel)
    wiener = transfer.conj() / (transfer.abs() ** 2 + 1e-3)
    restored = torch.fft.irfft(torch.fft.rfft(observed) * wiener, n=64)
    put("sig.wiener_error", [(observed - chirp).pow(2).mean(), (restored - chirp).pow(2).mean()])
    # analytic signal (Hilbert transform) and its instantaneous frequency
    spectrum = torch.fft.fft(chirp)
    step = torch.zeros(64, dtype=torch.float64)
    step[0], step[1:32], step[32] = 1, 2, 1
    analytic = torch.fft.ifft(spectrum * step)
    put("sig.envelope", analytic.abs()[::8])
    put("sig.phase", analytic.angle()[::8])
    # a self-exciting (Hawkes) process by Ogata's thinning, fitted by maximum likelihood
    mu, alpha, decay, horizon = 0.5, 0.6, 1.2, 30.0
    events, now = [], 0.0
    while True:
        history = torch.tensor(events, dtype=torch.float64)
        bound = mu + alpha * decay * torch.exp(-decay * (now - history)).sum().item()
        now += float(torch.distributions.Exponential(bound).sample())
        if now > horizon:
            break
        intensity = mu + alpha * decay * torch.exp(-decay * (now - history)).sum().item()
        if float(torch.rand(())) * bound <= intensity:
            events.append(now)
    times = torch.tensor(events, dtype=torch.float64)
    put("sig.n_events", len(events))
    raw = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([raw], lr=0.1)
    nlls = []
    for _ in range(20):
        m, a, b = F.softplus(raw)
        lags = times[:, None] - times[None, :]
        excitation = (a * b * torch.exp(-b * lags.clamp_min(0)) * (lags > 0)).sum(1)
        log_intensity = torch.log(m + excitation).sum()
        compensator = m * horizon + a * (1 - torch.exp(-b * (horizon - times))).sum()
        nll = compensator - log_intensity
        optimizer.zero_grad()
        nll.backward()
        optimizer.step()
        nlls.append(nll.item())
    put("sig.hawkes_nll", nlls)
    put("sig.hawkes_params", F.softplus(raw))


SECTIONS = {
    "hsoftmax": section_hsoftmax, "pagerank": section_pagerank, "schnet": section_schnet,
    "gsplat": section_gsplat, "tfidf": section_tfidf, "lqr": section_lqr,
    "mmd_causal": section_mmd_causal, "mcts": section_mcts, "lattice": section_lattice,
    "unsupervised": section_unsupervised, "signals": section_signals,
}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
