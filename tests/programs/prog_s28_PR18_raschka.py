"""Programs of the kind an applied machine-learning textbook builds chapter by chapter (PR18,
session 28; rewritten in our own code in session 30, DD2): a linear unit fitted by full-batch
and per-row gradient steps on plain tensors (in-place updates, randperm), a logistic model by
hand then as an nn.Module with BCELoss, a three-class MLP (a module built inside forward,
tensor accumulators in lists, whole-model and state-dict save / load), a small CNN grown by
add_module with flip augmentation through torch.where, a sentiment LSTM over packed padded
sequences with a regex tokenizer and a collate function, a fully connected GAN whose averages
go through ``torch.FloatTensor`` of 0-d tensors, a graph convolution over networkx adjacency
matrices batched block-diagonally, and an RNN cell unrolled by hand against nn.RNN plus a
character LSTM sampled through Categorical at several temperatures. Tiny sizes, seeded; run by
prog_s28_PR18_all.py.
"""

import re
from collections import Counter

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torch.utils.data import DataLoader, TensorDataset


def two_clouds(per_class, seed):
    """Points around (-1.2, -0.8) labelled 0 and around (1.6, 1.1) labelled 1."""
    g = torch.Generator().manual_seed(seed)
    low = torch.randn(per_class, 2, generator=g) + torch.tensor([-1.2, -0.8])
    high = torch.randn(per_class, 2, generator=g) + torch.tensor([1.6, 1.1])
    return torch.cat([low, high]), torch.cat([torch.zeros(per_class), torch.ones(per_class)])


# ---------------------------------------------------------------------------------------------
# rk_ada: a linear unit by gradient steps on plain tensors


def fit_linear_unit(x, y, rate, rounds, seed=1):
    """Full-batch steps on the mean squared error; returns (weights, bias, costs)."""
    torch.manual_seed(seed)
    weights = torch.normal(0.0, 0.01, size=(x.shape[1],))
    bias = torch.tensor(0.0)
    costs = []
    for _ in range(rounds):
        residual = y - (x @ weights + bias)
        weights += rate * 2.0 * x.T @ residual / len(x)
        bias += rate * 2.0 * residual.mean()
        costs.append((residual ** 2).mean().item())
    return weights, bias, costs


def section_adaline() -> None:
    x, y = two_clouds(18, 281)
    scaled = (x - x.mean(dim=0)) / x.std(dim=0)
    with printed("rk_ada.log"):
        print("column means", x.mean(dim=0), "spreads", x.std(dim=0))
        for rate in (0.2, 0.0005):
            print(f"rate {rate}:", [round(c, 4) for c in fit_linear_unit(scaled, y, rate, 7)[2]])
        weights, bias, costs = fit_linear_unit(scaled, y, 0.4, 12)
        print("weights", weights, "bias", bias)
        guess = torch.where(scaled @ weights + bias >= 0.5, 1, 0)
        print("share right", (guess == y).float().mean().item())
        # one row at a time, a fresh order each pass
        torch.manual_seed(1)
        w, b = torch.normal(0.0, 0.01, size=(2,)), torch.zeros(())
        for sweep in range(5):
            order = torch.randperm(len(y))
            squares = []
            for row, want in zip(scaled[order], y[order]):
                miss = want - (row @ w + b)
                w += 0.02 * row * miss
                b += 0.02 * miss
                squares.append(miss ** 2)
            print(f"row-by-row sweep {sweep}: {torch.stack(squares).mean():.4f}")
        put("rk_ada.w", w)
        put("rk_ada.losses", torch.tensor(costs))


# ---------------------------------------------------------------------------------------------
# rk_log: logistic regression


class Logistic(nn.Module):
    def __init__(self, inputs):
        super().__init__()
        self.score = nn.Linear(inputs, 1)

    def forward(self, x):
        return torch.sigmoid(self.score(x))


def section_logreg() -> None:
    x, y = two_clouds(20, 282)
    with printed("rk_log.log"):
        w, b = torch.zeros(2), torch.tensor(0.0)
        for step in range(6):
            p = 1.0 / (1.0 + torch.exp(-torch.clamp(x @ w + b, -250, 250)))
            w += 0.15 * x.T @ (y - p) / len(y)
            b += 0.15 * (y - p).mean()
            cross = (-y @ torch.log(p) - (1 - y) @ torch.log(1 - p)) / len(y)
            print(f"hand step {step}: cross-entropy {cross:.4f}")
        torch.manual_seed(1)
        model = Logistic(2)
        print(model)
        bce = nn.BCELoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.25)
        rows = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)
        for sweep in range(5):
            summed, right = 0.0, 0
            for xb, yb in rows:
                p = model(xb).squeeze(1)
                cost = bce(p, yb)
                cost.backward()
                optimizer.step()
                optimizer.zero_grad()
                summed += cost.item() * len(yb)
                right += ((p >= 0.5).float() == yb).sum()
            print(f"sweep {sweep}: cost {summed / len(y):.4f} right {right / len(y):.4f}")
        print("fitted", model.score.weight.data, model.score.bias.data)
        put("rk_log.w", model.score.weight)


# ---------------------------------------------------------------------------------------------
# rk_iris: a three-class MLP, saved and loaded


class ThreeWay(nn.Module):
    def __init__(self, inputs, hidden, classes):
        super().__init__()
        self.hidden = nn.Linear(inputs, hidden)
        self.out = nn.Linear(hidden, classes)

    def forward(self, x):
        return self.out(nn.Sigmoid()(self.hidden(x)))  # (a module made on every call)


def section_iris() -> None:
    g = torch.Generator().manual_seed(283)
    centres = torch.tensor([[4.8, 3.2, 1.4, 0.3], [6.0, 2.7, 4.2, 1.2], [6.8, 3.1, 5.7, 2.2]])
    x = torch.cat([c + 0.35 * torch.randn(18, 4, generator=g) for c in centres])
    y = torch.arange(3).repeat_interleave(18)
    order = torch.randperm(54, generator=g)
    fit_x, fit_y, test_x, test_y = x[order[:42]], y[order[:42]], x[order[42:]], y[order[42:]]
    mean, spread = fit_x.mean(0), fit_x.std(0)
    fit_x, test_x = (fit_x - mean) / spread, (test_x - mean) / spread
    with printed("rk_iris.log"):
        torch.manual_seed(1)
        rows = DataLoader(TensorDataset(fit_x, fit_y), batch_size=3, shuffle=True)
        model = ThreeWay(4, 12, 3)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.002)
        sweeps = 16
        cost_per, right_per = [0] * sweeps, [0] * sweeps
        for sweep in range(sweeps):
            for xb, yb in rows:
                scores = model(xb)
                cost = F.cross_entropy(scores, yb.long())
                cost.backward()
                optimizer.step()
                optimizer.zero_grad()
                cost_per[sweep] += cost.item() * len(yb)
                right_per[sweep] += (scores.argmax(dim=1) == yb).float().sum()
            cost_per[sweep] /= len(rows.dataset)
            right_per[sweep] /= len(rows.dataset)
            if sweep % 3 == 2:
                print(f"sweep {sweep}: cost {cost_per[sweep]:.3f} right {right_per[sweep]:.3f}")
        print(type(right_per[0]), right_per[-1].dtype)
        held = (model(test_x).argmax(dim=1) == test_y).float().mean()
        print(f"held-out share right {held:.4f}")
        torch.save(model, "three_way_whole.pt")
        print(torch.load("three_way_whole.pt", weights_only=False).eval())
        torch.save(model.state_dict(), "three_way_weights.pt")
        print(ThreeWay(4, 12, 3).load_state_dict(torch.load("three_way_weights.pt")))
        put("rk_iris.w2", model.out.weight)


# ---------------------------------------------------------------------------------------------
# rk_cnn: a CNN grown by add_module, flip augmentation


def section_smile_cnn() -> None:
    torch.manual_seed(284)
    pictures = torch.rand(16, 3, 16, 16)
    bright_middle = (pictures[:, 1, 5:11, 5:11].mean((1, 2)) > pictures[:, 1].mean((1, 2)))
    labels = bright_middle.long()
    with printed("rk_cnn.log"):
        net = nn.Sequential()
        for i, (c_in, c_out) in enumerate(((3, 6), (6, 12))):
            net.add_module(f"conv{i}", nn.Conv2d(c_in, c_out, kernel_size=3, padding=1))
            net.add_module(f"act{i}", nn.ReLU())
            net.add_module(f"pool{i}", nn.MaxPool2d(kernel_size=2))
            net.add_module(f"drop{i}", nn.Dropout(p=0.4))
        probe = torch.ones((2, 3, 16, 16))
        print("after the blocks", net(probe).shape)
        net.add_module("squeeze", nn.AvgPool2d(kernel_size=4))
        net.add_module("flat", nn.Flatten())
        print("flattened", net(probe).shape)
        net.add_module("head", nn.Linear(12, 1))
        net.add_module("prob", nn.Sigmoid())
        print(net)
        bce = nn.BCELoss()
        optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
        for sweep in range(4):
            net.train()
            right, summed = 0.0, 0.0
            for start in (0, 8):
                xb, yb = pictures[start:start + 8], labels[start:start + 8]
                mirrored = torch.rand(len(xb)) < 0.5
                xb = torch.where(mirrored[:, None, None, None], xb.flip(-1), xb)
                p = net(xb)[:, 0]
                cost = bce(p, yb.float())
                cost.backward()
                optimizer.step()
                optimizer.zero_grad()
                summed += cost.item() * len(yb)
                right += ((p >= 0.5).float() == yb).float().sum().cpu()
            net.eval()
            with torch.no_grad():
                whole = ((net(pictures)[:, 0] >= 0.5).float() == labels).float().mean()
            print(f"sweep {sweep}: right while training {right / 16:.4f}, "
                  f"right in eval {whole:.4f}, cost {summed / 16:.4f}")
        put("rk_cnn.fc", net.head.weight)


# ---------------------------------------------------------------------------------------------
# rk_rnn: sentiment over packed sequences


class PackedSentiment(nn.Module):
    def __init__(self, words, width, state, hidden):
        super().__init__()
        self.embed = nn.Embedding(words, width, padding_idx=0)
        self.lstm = nn.LSTM(width, state, batch_first=True)
        self.head = nn.Sequential(nn.Linear(state, hidden), nn.ReLU(), nn.Linear(hidden, 1),
                                  nn.Sigmoid())

    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.embed(ids), lengths.cpu().numpy(),
                                      enforce_sorted=False, batch_first=True)
        _, (last, _) = self.lstm(packed)
        return self.head(last[-1])


def split_words(text):
    """Lower-case words with markup dropped and smileys kept (moved to the end)."""
    text = re.sub(r"<[^>]*>", "", text).lower()
    faces = re.findall(r"[:;=]-?[()DP]", text)
    return re.sub(r"\W+", " ", text).split() + [f.replace("-", "") for f in faces]


def section_sentiment() -> None:
    notes = [("a bright, joyful film", 1), ("dreary story and weak acting", 0),
             ("joyful cast :) loved it", 1), ("weak <b>and</b> far too long", 0),
             ("bright bright bright, pure joy", 1), ("not joyful, not bright", 0),
             ("what a lovely picture :-)", 1), ("dreary; I left early", 0)]
    counts = Counter(w for text, _ in notes for w in split_words(text))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    index = {"<pad>": 0, "<unk>": 1, **{w: i + 2 for i, (w, _) in enumerate(ranked)}}

    def batch_up(pairs):
        ids = [torch.tensor([index.get(w, 1) for w in split_words(t)], dtype=torch.int64)
               for t, _ in pairs]
        return (pad_sequence(ids, batch_first=True), torch.tensor([s for _, s in pairs]),
                torch.tensor([len(i) for i in ids]))

    with printed("rk_rnn.log"):
        print("words:", len(index), ranked[:4])
        torch.manual_seed(1)
        batches = DataLoader(notes, batch_size=4, shuffle=True, collate_fn=batch_up)
        ids, marks, lengths = next(iter(batches))
        print(ids)
        print(marks, lengths, ids.shape)
        model = PackedSentiment(len(index), 8, 10, 6)
        print(model)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for sweep in range(4):
            model.train()
            right, summed = 0, 0
            for ids, marks, lengths in batches:
                optimizer.zero_grad()
                p = model(ids, lengths)[:, 0]
                cost = F.binary_cross_entropy(p, marks.float())
                cost.backward()
                optimizer.step()
                right += ((p >= 0.5).float() == marks).float().sum().item()
                summed += cost.item() * len(marks)
            print(f"sweep {sweep}: right {right / len(notes):.4f} cost {summed / len(notes):.4f}")
        put("rk_rnn.fc2", model.head[2].weight)


# ---------------------------------------------------------------------------------------------
# rk_gan: a fully connected GAN


def stack_of(sizes, act, last, tag, bias=True, drop=None):
    net = nn.Sequential()
    for i, (a, b) in enumerate(zip(sizes[:-2], sizes[1:-1])):
        net.add_module(f"{tag}{i}", nn.Linear(a, b, bias=bias))
        net.add_module(f"{tag}act{i}", act())
        if drop is not None:
            net.add_module(f"{tag}drop{i}", nn.Dropout(p=drop))
    net.add_module(f"{tag}out", nn.Linear(sizes[-2], sizes[-1]))
    net.add_module(f"{tag}squash", last())
    return net


def section_gan() -> None:
    torch.manual_seed(285)
    # "images" of 8 values that rise left to right
    examples = torch.sort(torch.rand(32, 8) * 2 - 1, dim=1).values
    noise = lambda n: torch.rand(n, 4) * 2 - 1  # noqa: E731
    with printed("rk_gan.log"):
        maker = stack_of([4, 16, 8], nn.LeakyReLU, nn.Tanh, "g")
        judge = stack_of([8, 16, 1], nn.LeakyReLU, nn.Sigmoid, "d", bias=False, drop=0.5)
        print(maker)
        print(judge)
        bce = nn.BCELoss()
        opt_maker = torch.optim.Adam(maker.parameters())
        opt_judge = torch.optim.Adam(judge.parameters())
        fixed = noise(4)
        for sweep in range(4):
            judge_costs, maker_costs, on_real, on_fake = [], [], [], []
            for start in range(0, 32, 8):
                real = examples[start:start + 8]
                judge.zero_grad()
                said_real = judge(real)
                said_fake = judge(maker(noise(8)))
                judge_cost = bce(said_real, torch.ones(8, 1)) + bce(said_fake, torch.zeros(8, 1))
                judge_cost.backward()
                opt_judge.step()
                maker.zero_grad()
                said_fake = judge(maker(noise(8)))
                maker_cost = bce(said_fake, torch.ones(8, 1))
                maker_cost.backward()
                opt_maker.step()
                judge_costs.append(judge_cost.data.cpu())
                maker_costs.append(maker_cost.data.cpu())
                # (0-d tensors that require grad: FloatTensor converts each through float())
                on_real.append(said_real.mean().cpu())
                on_fake.append(said_fake.mean().cpu())
            print(f"sweep {sweep}: Avg Losses maker {torch.FloatTensor(maker_costs).mean():.4f}"
                  f" judge {torch.FloatTensor(judge_costs).mean():.4f}")
            print(f"   judge says real {torch.FloatTensor(on_real).mean():.4f}"
                  f" fake {torch.FloatTensor(on_fake).mean():.4f}")
        maker.eval()
        with torch.no_grad():
            print(maker(fixed)[:, :4])
        put("rk_gan.g", maker(fixed))


# ---------------------------------------------------------------------------------------------
# rk_gnn: graph convolution with adjacency matrices


class NeighbourConv(nn.Module):
    """x' = A x W_neighbour + x W_self + b."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.w_neighbour = nn.Parameter(torch.rand((c_in, c_out), dtype=torch.float32))
        self.w_self = nn.Parameter(torch.rand((c_in, c_out), dtype=torch.float32))
        self.b = nn.Parameter(torch.zeros(c_out, dtype=torch.float32))

    def forward(self, x, adjacency):
        from_neighbours = torch.mm(adjacency, torch.mm(x, self.w_neighbour))
        return from_neighbours + torch.mm(x, self.w_self) + self.b


class GraphLabeller(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.first, self.second = NeighbourConv(features, 6), NeighbourConv(6, 6)
        self.read = nn.Sequential(nn.Linear(6, 4), nn.Linear(4, 2))

    def forward(self, x, adjacency, membership):
        h = F.relu(self.second(F.relu(self.first(x, adjacency)), adjacency))
        pooled = h.sum(dim=0, keepdim=True) if membership is None else membership @ h
        return F.softmax(self.read(pooled), dim=1)


def section_gnn() -> None:
    import networkx as nx

    palette = {"amber": [1.0, 0.0, 0.0], "teal": [0.0, 1.0, 0.0], "plum": [0.0, 0.0, 1.0]}
    names = list(palette)

    def as_tensors(graph, label):
        adjacency = torch.from_numpy(nx.adjacency_matrix(graph).todense()).float()
        shades = nx.get_node_attributes(graph, "shade").values()
        return {"adj": adjacency, "x": torch.from_numpy(np.array([palette[s] for s in shades]))
                .float(), "label": label, "member": None}

    def join(graphs):
        sizes = [g["adj"].shape[0] for g in graphs]
        ends = np.cumsum([0] + sizes)
        member = torch.zeros(len(graphs), int(ends[-1]))
        adjacency = torch.zeros(int(ends[-1]), int(ends[-1]))
        for i, g in enumerate(graphs):
            member[i, ends[i]:ends[i + 1]] = 1
            adjacency[ends[i]:ends[i + 1], ends[i]:ends[i + 1]] = g["adj"]
        return {"adj": adjacency, "x": torch.cat([g["x"] for g in graphs]),
                "label": torch.cat([g["label"] for g in graphs]), "member": member}

    graphs = []
    for k in range(6):
        g = nx.cycle_graph(3 + k % 3) if k % 2 else nx.star_graph(3 + k % 3)
        nx.set_node_attributes(g, {v: names[(2 * v + k) % 3] for v in g.nodes}, "shade")
        graphs.append(as_tensors(g, torch.tensor([k % 2])))
    with printed("rk_gnn.log"):
        print(graphs[1]["adj"])
        joined = join(graphs[:3])
        print(joined["member"])
        print(joined["adj"].shape, joined["x"].shape, joined["label"])
        torch.manual_seed(123)
        net = GraphLabeller(3)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
        for sweep in range(4):
            summed = 0.0
            for start in (0, 3):
                b = join(graphs[start:start + 3])
                optimizer.zero_grad()
                cost = F.nll_loss(torch.log(net(b["x"], b["adj"], b["member"]) + 1e-9),
                                  b["label"])
                cost.backward()
                optimizer.step()
                summed += cost.item()
            print(f"sweep {sweep}: cost {summed / 2:.4f}")
        print(net(graphs[0]["x"], graphs[0]["adj"], graphs[0]["member"]))
        put("rk_gnn.W1", net.first.w_self)


# ---------------------------------------------------------------------------------------------
# rk_rnnman: an RNN unrolled by hand; a character LSTM sampled at several temperatures


def section_rnn_manual() -> None:
    with printed("rk_rnnman.log"):
        torch.manual_seed(1)
        cell = nn.RNN(input_size=4, hidden_size=2, num_layers=1, batch_first=True)
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            print(f"{name:>13}:", getattr(cell, name).shape)
        steps = torch.tensor([[0.5] * 4, [-1.0] * 4, [2.0] * 4])
        library_out, last = cell(steps.reshape(1, 3, 4))
        state = torch.zeros(1, 2)
        for t in range(3):
            row = steps[t].reshape(1, 4)
            drive = row @ cell.weight_ih_l0.T + cell.bias_ih_l0
            state = torch.tanh(drive + state @ cell.weight_hh_l0.T + cell.bias_hh_l0)
            print(f"t={t} input {row.numpy()} drive {drive.detach().numpy().round(5)}")
            print(f"    by hand {state.detach().numpy().round(5)}"
                  f" nn.RNN {library_out[:, t].detach().numpy().round(5)}")
        print(last.shape, torch.allclose(last[0], state, atol=1e-6))

    story = ("a lantern swung over the harbour and the harbour lights answered the lantern "
             "while gulls circled the quiet harbour ") * 2
    alphabet = sorted(set(story))
    code = {ch: i for i, ch in enumerate(alphabet)}
    encoded = torch.tensor([code[ch] for ch in story])
    window = 18

    class Windows(torch.utils.data.Dataset):
        def __len__(self):
            return len(encoded) - window - 1

        def __getitem__(self, i):
            piece = encoded[i:i + window + 1]
            return piece[:-1].long(), piece[1:].long()

    class CharStepper(nn.Module):
        def __init__(self, letters, width, state):
            super().__init__()
            self.state = state
            self.embed = nn.Embedding(letters, width)
            self.lstm = nn.LSTM(width, state, batch_first=True)
            self.logits = nn.Linear(state, letters)

        def start(self, batch):
            return torch.zeros(1, batch, self.state), torch.zeros(1, batch, self.state)

        def forward(self, letter, h, c):
            out, (h, c) = self.lstm(self.embed(letter).unsqueeze(1), (h, c))
            return self.logits(out).reshape(out.size(0), -1), h, c

    def spell(ids):
        return repr("".join(alphabet[int(i)] for i in ids))

    with printed("rk_rnnman.chars"):
        pieces = Windows()
        for i in range(2):
            x, y = pieces[i]
            print("in ", spell(x), "\nout", spell(y))
        torch.manual_seed(1)
        loader = DataLoader(pieces, batch_size=12, shuffle=True, drop_last=True)
        model = CharStepper(len(alphabet), 8, 16)
        print(model)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
        for sweep in range(12):
            h, c = model.start(12)
            xb, yb = next(iter(loader))
            optimizer.zero_grad()
            cost = 0
            for t in range(window):
                logits, h, c = model(xb[:, t], h, c)
                cost += F.cross_entropy(logits, yb[:, t])
            cost.backward()
            optimizer.step()
            if sweep % 4 == 0:
                print(f"sweep {sweep}: per-letter cost {cost.item() / window:.4f}")

        def continue_from(prompt, letters=28, sharpness=1.0):
            model.eval()
            ids = torch.tensor([code[ch] for ch in prompt]).reshape(1, -1)
            h, c = model.start(1)
            for t in range(ids.shape[1] - 1):
                _, h, c = model(ids[:, t].view(1), h, c)
            letter, text = ids[:, -1], prompt
            for _ in range(letters):
                logits, h, c = model(letter.view(1), h, c)
                draw = torch.distributions.categorical.Categorical(
                    logits=logits.squeeze(0) * sharpness)
                letter = draw.sample()
                text += alphabet[letter]
            return text

        torch.manual_seed(1)
        print(repr(continue_from("the harbour")))
        scores = torch.tensor([[0.5, 2.0, 1.0]])
        print("chances", [f"{p:.6f}" for p in F.softmax(scores, dim=1)[0].tolist()])
        picks = torch.distributions.categorical.Categorical(logits=scores).sample((10,))
        print(picks.numpy().T)
        torch.manual_seed(1)
        print(repr(continue_from("the harbour", sharpness=2.0)))
        print(repr(continue_from("the harbour", sharpness=0.5)))
        put("rk_rnnman.fc", model.logits.weight)


SECTIONS = {
    "rk_ada": section_adaline, "rk_log": section_logreg, "rk_iris": section_iris,
    "rk_cnn": section_smile_cnn, "rk_rnn": section_sentiment, "rk_gan": section_gan,
    "rk_gnn": section_gnn, "rk_rnnman": section_rnn_manual,
}
