"""Textbook programs after "Machine Learning with PyTorch and Scikit-Learn" (PR18, session 28),
written afresh chapter by chapter the way the book's notebooks write them: Adaline by full-batch
and stochastic gradient descent on tensors by hand, logistic regression by hand then with
nn.Module, an Iris-style MLP on synthetic data with a TensorDataset / DataLoader, the CNN
chapter's smile classifier (augmentation by flips, Conv-Pool-Dropout stacks, accuracy per
epoch), the RNN chapter's sentiment model over packed sequences, the GAN chapter's fully
connected generator / discriminator, and the GNN chapter's graph convolution written with
adjacency matrices. Tiny sizes, seeded; run by prog_s28_PR18_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence
from torch.utils.data import DataLoader, TensorDataset


def _two_blobs(n, seed):
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(n, 2, generator=g) + torch.tensor([-1.5, -1.0])
    x1 = torch.randn(n, 2, generator=g) + torch.tensor([1.5, 1.0])
    return torch.cat([x0, x1]), torch.cat([torch.zeros(n), torch.ones(n)])


class AdalineGD:
    """Chapter 2's Adaline, on tensors: full-batch gradient descent on the mean squared error."""

    def __init__(self, eta=0.01, n_iter=10, random_state=1):
        self.eta, self.n_iter, self.random_state = eta, n_iter, random_state

    def fit(self, X, y):
        torch.manual_seed(self.random_state)
        self.w_ = torch.normal(0.0, 0.01, size=(X.shape[1],))
        self.b_ = torch.tensor(0.0)
        self.losses_ = []
        for _ in range(self.n_iter):
            output = self.activation(self.net_input(X))
            errors = y - output
            self.w_ += self.eta * 2.0 * X.T @ errors / X.shape[0]
            self.b_ += self.eta * 2.0 * errors.mean()
            self.losses_.append((errors ** 2).mean().item())
        return self

    def net_input(self, X):
        return X @ self.w_ + self.b_

    def activation(self, X):
        return X

    def predict(self, X):
        return torch.where(self.activation(self.net_input(X)) >= 0.5, 1, 0)


def section_adaline() -> None:
    X, y = _two_blobs(20, 281)
    X_std = (X - X.mean(dim=0)) / X.std(dim=0)
    with printed("rk_ada.log"):
        print("mean", X.mean(dim=0), "std", X.std(dim=0))
        for eta in (0.1, 0.0001):
            ada = AdalineGD(eta=eta, n_iter=8).fit(X_std, y)
            print(f"eta={eta}", [round(v, 4) for v in ada.losses_])
        ada = AdalineGD(eta=0.5, n_iter=15).fit(X_std, y)
        print("w", ada.w_, "b", ada.b_)
        print("accuracy", (ada.predict(X_std) == y).float().mean().item())
        # stochastic version: shuffle per epoch with randperm
        torch.manual_seed(1)
        w = torch.normal(0.0, 0.01, size=(2,))
        b = torch.zeros(())
        for epoch in range(5):
            idx = torch.randperm(len(y))
            losses = []
            for xi, target in zip(X_std[idx], y[idx]):
                err = target - (xi @ w + b)
                w += 0.01 * 2.0 * xi * err
                b += 0.01 * 2.0 * err
                losses.append(err ** 2)
            print("sgd epoch", epoch, f"{torch.stack(losses).mean():.4f}")
        put("rk_ada.w", w)
        put("rk_ada.losses", torch.tensor(ada.losses_))


class LogisticRegression(nn.Module):
    def __init__(self, n_features):
        super().__init__()
        self.linear = nn.Linear(n_features, 1)

    def forward(self, x):
        return torch.sigmoid(self.linear(x))


def section_logreg() -> None:
    X, y = _two_blobs(25, 282)
    with printed("rk_log.log"):
        # by hand: gradient of the log loss written out
        w = torch.zeros(2)
        b = torch.tensor(0.0)
        for i in range(6):
            z = torch.clamp(X @ w + b, -250, 250)
            out = 1.0 / (1.0 + torch.exp(-z))
            errors = y - out
            w += 0.1 * X.T @ errors / len(y)
            b += 0.1 * errors.mean()
            loss = (-y @ torch.log(out) - (1 - y) @ torch.log(1 - out)) / len(y)
            print(f"by hand {i}: loss {loss:.4f}")
        # with nn.Module, BCELoss and SGD
        torch.manual_seed(1)
        model = LogisticRegression(2)
        print(model)
        loss_fn = nn.BCELoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
        loader = DataLoader(TensorDataset(X, y), batch_size=10, shuffle=True)
        for epoch in range(5):
            total, correct = 0.0, 0
            for x_batch, y_batch in loader:
                pred = model(x_batch)[:, 0]
                loss = loss_fn(pred, y_batch)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                total += loss.item() * y_batch.size(0)
                correct += ((pred >= 0.5).float() == y_batch).sum()
            print(f"Epoch {epoch}  Loss {total / len(y):.4f}  Accuracy {correct / len(y):.4f}")
        print("params", model.linear.weight.data, model.linear.bias.data)
        put("rk_log.w", model.linear.weight)


class IrisModel(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.layer1 = nn.Linear(input_size, hidden_size)
        self.layer2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        x = self.layer1(x)
        x = nn.Sigmoid()(x)
        x = self.layer2(x)
        return x


def section_iris() -> None:
    g = torch.Generator().manual_seed(283)
    centers = torch.tensor([[5.0, 3.4, 1.5, 0.2], [5.9, 2.8, 4.3, 1.3], [6.6, 3.0, 5.5, 2.0]])
    X = torch.cat([c + 0.3 * torch.randn(20, 4, generator=g) for c in centers])
    y = torch.arange(3).repeat_interleave(20)
    perm = torch.randperm(60, generator=g)
    X_train, y_train = X[perm[:45]], y[perm[:45]]
    X_test, y_test = X[perm[45:]], y[perm[45:]]
    X_train_norm = (X_train - X_train.mean(0)) / X_train.std(0)
    X_test_norm = (X_test - X_train.mean(0)) / X_train.std(0)
    with printed("rk_iris.log"):
        torch.manual_seed(1)
        train_dl = DataLoader(TensorDataset(X_train_norm, y_train), batch_size=2, shuffle=True)
        model = IrisModel(4, 16, 3)
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
        num_epochs = 20
        loss_hist = [0] * num_epochs
        accuracy_hist = [0] * num_epochs
        for epoch in range(num_epochs):
            for x_batch, y_batch in train_dl:
                pred = model(x_batch)
                loss = loss_fn(pred, y_batch.long())
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                loss_hist[epoch] += loss.item() * y_batch.size(0)
                is_correct = (torch.argmax(pred, dim=1) == y_batch).float()
                accuracy_hist[epoch] += is_correct.sum()
            loss_hist[epoch] /= len(train_dl.dataset)
            accuracy_hist[epoch] /= len(train_dl.dataset)
            if epoch % 4 == 3:
                print(f"epoch {epoch} loss {loss_hist[epoch]:.3f} acc {accuracy_hist[epoch]:.3f}")
        print(type(accuracy_hist[0]), accuracy_hist[-1].dtype)
        pred_test = model(X_test_norm)
        correct = (torch.argmax(pred_test, dim=1) == y_test).float()
        print(f"Test Acc.: {correct.mean():.4f}")
        torch.save(model, "iris_classifier.pt")
        model_new = torch.load("iris_classifier.pt", weights_only=False)
        print(model_new.eval())
        torch.save(model.state_dict(), "iris_classifier_state.pt")
        model_new = IrisModel(4, 16, 3)
        print(model_new.load_state_dict(torch.load("iris_classifier_state.pt")))
        put("rk_iris.w2", model.layer2.weight)


def section_smile_cnn() -> None:
    torch.manual_seed(284)
    images = torch.rand(16, 3, 16, 16)
    labels = (images[:, 0, 4:12, 4:12].mean((1, 2)) > images[:, 0].mean((1, 2))).long()
    with printed("rk_cnn.log"):
        model = nn.Sequential()
        model.add_module("conv1", nn.Conv2d(3, 8, kernel_size=3, padding=1))
        model.add_module("relu1", nn.ReLU())
        model.add_module("pool1", nn.MaxPool2d(kernel_size=2))
        model.add_module("dropout1", nn.Dropout(p=0.5))
        model.add_module("conv2", nn.Conv2d(8, 16, kernel_size=3, padding=1))
        model.add_module("relu2", nn.ReLU())
        model.add_module("pool2", nn.MaxPool2d(kernel_size=2))
        model.add_module("dropout2", nn.Dropout(p=0.5))
        x = torch.ones((4, 3, 16, 16))
        print(model(x).shape)
        model.add_module("pool4", nn.AvgPool2d(kernel_size=4))
        model.add_module("flatten", nn.Flatten())
        print(model(x).shape)
        model.add_module("fc", nn.Linear(16, 1))
        model.add_module("sigmoid", nn.Sigmoid())
        print(model)
        loss_fn = nn.BCELoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for epoch in range(4):
            model.train()
            acc, total = 0.0, 0.0
            for start in range(0, 16, 8):
                xb, yb = images[start:start + 8], labels[start:start + 8]
                # the book's augmentation: a random horizontal flip per image
                flip = torch.rand(len(xb)) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
                pred = model(xb)[:, 0]
                loss = loss_fn(pred, yb.float())
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
                total += loss.item() * yb.size(0)
                acc += ((pred >= 0.5).float() == yb).float().sum().cpu()
            model.eval()
            with torch.no_grad():
                val = ((model(images)[:, 0] >= 0.5).float() == labels).float().mean()
            print(f"Epoch {epoch + 1} accuracy: {acc / 16:.4f} val_accuracy: {val:.4f} "
                  f"loss {total / 16:.4f}")
        put("rk_cnn.fc", model.fc.weight)


class SentimentRNN(nn.Module):
    def __init__(self, vocab_size, embed_dim, rnn_hidden_size, fc_hidden_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=0)
        self.rnn = nn.LSTM(embed_dim, rnn_hidden_size, batch_first=True)
        self.fc1 = nn.Linear(rnn_hidden_size, fc_hidden_size)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(fc_hidden_size, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, text, lengths):
        out = self.embedding(text)
        out = pack_padded_sequence(out, lengths.cpu().numpy(), enforce_sorted=False,
                                   batch_first=True)
        out, (hidden, cell) = self.rnn(out)
        out = hidden[-1, :, :]
        out = self.fc1(out)
        out = self.relu(out)
        out = self.fc2(out)
        out = self.sigmoid(out)
        return out


def section_sentiment() -> None:
    import re
    from collections import Counter, OrderedDict

    reviews = [("this movie was great and fun", 1), ("terrible plot, bad acting", 0),
               ("I loved it :) great cast", 1), ("boring and long. bad", 0),
               ("fun fun fun, a great ride", 1), ("not good, not fun at all", 0),
               ("what a wonderful film", 1), ("awful; I hated every minute", 0)]

    def tokenizer(text):
        text = re.sub(r"<[^>]*>", "", text)
        emoticons = re.findall(r"(?::|;|=)(?:-)?(?:\)|\(|D|P)", text.lower())
        text = re.sub(r"[\W]+", " ", text.lower()) + " ".join(emoticons).replace("-", "")
        return text.split()

    token_counts = Counter()
    for line, _ in reviews:
        token_counts.update(tokenizer(line))
    sorted_by_freq = sorted(token_counts.items(), key=lambda x: (-x[1], x[0]))
    vocab = OrderedDict(sorted_by_freq)
    stoi = {"<pad>": 0, "<unk>": 1}
    for token in vocab:
        stoi[token] = len(stoi)

    def collate_batch(batch):
        label_list, text_list, lengths = [], [], []
        for _text, _label in batch:
            label_list.append(_label)
            processed = torch.tensor([stoi.get(t, 1) for t in tokenizer(_text)],
                                     dtype=torch.int64)
            text_list.append(processed)
            lengths.append(processed.size(0))
        label_list = torch.tensor(label_list)
        lengths = torch.tensor(lengths)
        padded = pad_sequence(text_list, batch_first=True)
        return padded, label_list, lengths

    with printed("rk_rnn.log"):
        print("Vocab-size:", len(stoi), sorted_by_freq[:4])
        torch.manual_seed(1)
        dl = DataLoader(reviews, batch_size=4, shuffle=True, collate_fn=collate_batch)
        text_batch, label_batch, length_batch = next(iter(dl))
        print(text_batch)
        print(label_batch, length_batch, text_batch.shape)
        model = SentimentRNN(len(stoi), 8, 12, 8)
        print(model)
        loss_fn = nn.BCELoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for epoch in range(4):
            model.train()
            total_acc, total_loss = 0, 0
            for text_batch, label_batch, lengths in dl:
                optimizer.zero_grad()
                pred = model(text_batch, lengths)[:, 0]
                loss = loss_fn(pred, label_batch.float())
                loss.backward()
                optimizer.step()
                total_acc += ((pred >= 0.5).float() == label_batch).float().sum().item()
                total_loss += loss.item() * label_batch.size(0)
            print(f"Epoch {epoch} accuracy: {total_acc / len(reviews):.4f} "
                  f"loss: {total_loss / len(reviews):.4f}")
        put("rk_rnn.fc2", model.fc2.weight)


def section_gan() -> None:
    def make_generator_network(input_size=4, num_hidden_layers=1, num_hidden_units=16,
                               num_output_units=8):
        model = nn.Sequential()
        for i in range(num_hidden_layers):
            model.add_module(f"fc_g{i}", nn.Linear(input_size, num_hidden_units))
            model.add_module(f"relu_g{i}", nn.LeakyReLU())
            input_size = num_hidden_units
        model.add_module(f"fc_g{num_hidden_layers}", nn.Linear(input_size, num_output_units))
        model.add_module("tanh_g", nn.Tanh())
        return model

    def make_discriminator_network(input_size, num_hidden_layers=1, num_hidden_units=16,
                                   num_output_units=1):
        model = nn.Sequential()
        for i in range(num_hidden_layers):
            model.add_module(f"fc_d{i}", nn.Linear(input_size, num_hidden_units, bias=False))
            model.add_module(f"relu_d{i}", nn.LeakyReLU())
            model.add_module("dropout", nn.Dropout(p=0.5))
            input_size = num_hidden_units
        model.add_module(f"fc_d{num_hidden_layers}", nn.Linear(input_size, num_output_units))
        model.add_module("sigmoid", nn.Sigmoid())
        return model

    def create_noise(batch_size, z_size, mode_z):
        if mode_z == "uniform":
            return torch.rand(batch_size, z_size) * 2 - 1
        return torch.randn(batch_size, z_size)

    torch.manual_seed(285)
    real = torch.rand(32, 8) * 2 - 1
    real = torch.sort(real, dim=1).values  # "images" whose pixels increase
    with printed("rk_gan.log"):
        gen_model = make_generator_network()
        disc_model = make_discriminator_network(8)
        print(gen_model)
        print(disc_model)
        loss_fn = nn.BCELoss()
        g_optimizer = torch.optim.Adam(gen_model.parameters())
        d_optimizer = torch.optim.Adam(disc_model.parameters())
        fixed_z = create_noise(4, 4, "uniform")
        for epoch in range(1, 5):
            d_losses, g_losses, d_real_all, d_fake_all = [], [], [], []
            for start in range(0, 32, 8):
                x = real[start:start + 8]
                batch_size = x.size(0)
                # discriminator
                disc_model.zero_grad()
                d_labels_real = torch.ones(batch_size, 1)
                d_proba_real = disc_model(x)
                d_loss_real = loss_fn(d_proba_real, d_labels_real)
                input_z = create_noise(batch_size, 4, "uniform")
                g_output = gen_model(input_z)
                d_proba_fake = disc_model(g_output)
                d_labels_fake = torch.zeros(batch_size, 1)
                d_loss_fake = loss_fn(d_proba_fake, d_labels_fake)
                d_loss = d_loss_real + d_loss_fake
                d_loss.backward()
                d_optimizer.step()
                # generator
                gen_model.zero_grad()
                input_z = create_noise(batch_size, 4, "uniform")
                g_output = gen_model(input_z)
                d_proba_fake = disc_model(g_output)
                g_loss = loss_fn(d_proba_fake, torch.ones(batch_size, 1))
                g_loss.backward()
                g_optimizer.step()
                d_losses.append(d_loss.data.cpu())
                g_losses.append(g_loss.data.cpu())
                d_real_all.append(d_proba_real.mean().cpu())
                d_fake_all.append(d_proba_fake.mean().cpu())
            print(f"Epoch {epoch:03d} | Avg Losses >> G/D {torch.FloatTensor(g_losses).mean():.4f}"
                  f"/{torch.FloatTensor(d_losses).mean():.4f}")
            print(f"    [D-out >> real: {torch.FloatTensor(d_real_all).mean():.4f} "
                  f"fake: {torch.FloatTensor(d_fake_all).mean():.4f}]")
        gen_model.eval()
        with torch.no_grad():
            print(gen_model(fixed_z).reshape(4, 8)[:, :4])
        put("rk_gan.g", gen_model(fixed_z))


class BasicGraphConvolutionLayer(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.W2 = nn.Parameter(torch.rand((in_channels, out_channels), dtype=torch.float32))
        self.W1 = nn.Parameter(torch.rand((in_channels, out_channels), dtype=torch.float32))
        self.bias = nn.Parameter(torch.zeros(out_channels, dtype=torch.float32))

    def forward(self, X, A):
        potential_msgs = torch.mm(X, self.W2)
        propagated_msgs = torch.mm(A, potential_msgs)
        root_update = torch.mm(X, self.W1)
        output = propagated_msgs + root_update + self.bias
        return output


def global_sum_pool(X, batch_mat):
    if batch_mat is None or batch_mat.dim() == 1:
        return torch.sum(X, dim=0).unsqueeze(0)
    return torch.mm(batch_mat, X)


class NodeNetwork(nn.Module):
    def __init__(self, input_features):
        super().__init__()
        self.conv_1 = BasicGraphConvolutionLayer(input_features, 8)
        self.conv_2 = BasicGraphConvolutionLayer(8, 8)
        self.fc_1 = nn.Linear(8, 4)
        self.out_layer = nn.Linear(4, 2)

    def forward(self, X, A, batch_mat):
        x = F.relu(self.conv_1(X, A))
        x = F.relu(self.conv_2(x, A))
        output = global_sum_pool(x, batch_mat)
        output = self.fc_1(output)
        output = self.out_layer(output)
        return F.softmax(output, dim=1)


def section_gnn() -> None:
    import networkx as nx

    def build_graph_dict(G, mapping_dict, label):
        A = torch.from_numpy(nx.adjacency_matrix(G).todense()).float()
        X = torch.from_numpy(
            __import__("numpy").array([mapping_dict[v] for v in
                                       nx.get_node_attributes(G, "color").values()])).float()
        return {"A": A, "X": X, "y": label, "batch": None}

    def get_batch_tensor(graph_sizes):
        starts = [sum(graph_sizes[:idx]) for idx in range(len(graph_sizes))]
        stops = [starts[idx] + graph_sizes[idx] for idx in range(len(graph_sizes))]
        tot_len = sum(graph_sizes)
        batch_size = len(graph_sizes)
        batch_mat = torch.zeros([batch_size, tot_len]).float()
        for idx, starts_and_stops in enumerate(zip(starts, stops)):
            start, stop = starts_and_stops
            batch_mat[idx, start:stop] = 1
        return batch_mat

    def collate_graphs(batch):
        adj_mats = [graph["A"] for graph in batch]
        sizes = [A.size(0) for A in adj_mats]
        tot_size = sum(sizes)
        batch_mat = get_batch_tensor(sizes)
        feat_mats = torch.cat([graph["X"] for graph in batch], dim=0)
        labels = torch.cat([graph["y"] for graph in batch], dim=0)
        batch_adj = torch.zeros([tot_size, tot_size], dtype=torch.float32)
        accum = 0
        for adj in adj_mats:
            g_size = adj.shape[0]
            batch_adj[accum:accum + g_size, accum:accum + g_size] = adj
            accum = accum + g_size
        return {"A": batch_adj, "X": feat_mats, "y": labels, "batch": batch_mat}

    mapping = {"green": [1.0, 0.0, 0.0], "blue": [0.0, 1.0, 0.0], "red": [0.0, 0.0, 1.0]}
    colors = ["green", "blue", "red"]
    graphs = []
    for k in range(6):
        G = nx.cycle_graph(4 + k % 3) if k % 2 else nx.path_graph(4 + k % 3)
        nx.set_node_attributes(G, {v: colors[(v + k) % 3] for v in G.nodes}, "color")
        graphs.append(build_graph_dict(G, mapping, torch.tensor([k % 2])))
    with printed("rk_gnn.log"):
        print(graphs[1]["A"])
        batch = collate_graphs(graphs[:3])
        print(batch["batch"])
        print(batch["A"].shape, batch["X"].shape, batch["y"])
        torch.manual_seed(123)
        net = NodeNetwork(3)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
        for epoch in range(4):
            total = 0.0
            for start in (0, 3):
                b = collate_graphs(graphs[start:start + 3])
                optimizer.zero_grad()
                out = net(b["X"], b["A"], b["batch"])
                loss = F.nll_loss(torch.log(out + 1e-9), b["y"])
                loss.backward()
                optimizer.step()
                total += loss.item()
            print(f"epoch {epoch} loss {total / 2:.4f}")
        print(net(graphs[0]["X"], graphs[0]["A"], graphs[0]["batch"]))
        put("rk_gnn.W1", net.conv_1.W1)


def section_rnn_manual() -> None:
    with printed("rk_rnnman.log"):
        torch.manual_seed(1)
        rnn_layer = nn.RNN(input_size=5, hidden_size=2, num_layers=1, batch_first=True)
        w_xh = rnn_layer.weight_ih_l0
        w_hh = rnn_layer.weight_hh_l0
        b_xh = rnn_layer.bias_ih_l0
        b_hh = rnn_layer.bias_hh_l0
        print("W_xh shape:", w_xh.shape)
        print("W_hh shape:", w_hh.shape)
        print("b_xh shape:", b_xh.shape)
        print("b_hh shape:", b_hh.shape)
        x_seq = torch.tensor([[1.0] * 5, [2.0] * 5, [3.0] * 5]).float()
        output, hn = rnn_layer(torch.reshape(x_seq, (1, 3, 5)))
        out_man = []
        for t in range(3):
            xt = torch.reshape(x_seq[t], (1, 5))
            print(f"Time step {t} =>")
            print("   Input           :", xt.numpy())
            ht = torch.matmul(xt, torch.transpose(w_xh, 0, 1)) + b_xh
            print("   Hidden          :", ht.detach().numpy().round(5))
            prev_h = out_man[t - 1] if t > 0 else torch.zeros(ht.shape)
            ot = ht + torch.matmul(prev_h, torch.transpose(w_hh, 0, 1)) + b_hh
            ot = torch.tanh(ot)
            out_man.append(ot)
            print("   Output (manual) :", ot.detach().numpy().round(5))
            print("   RNN output      :", output[:, t].detach().numpy().round(5))
            print()
        print(hn.shape, torch.allclose(hn[0], out_man[-1], atol=1e-6))

    # the text-generation part: a char-level LSTM sampled with Categorical and a scale factor
    text = ("the island was a mysterious place and the sea around the island was wide "
            "and the sailors looked at the island with wonder ") * 2
    char_set = sorted(set(text))
    char2int = {ch: i for i, ch in enumerate(char_set)}
    char_array = list(char_set)
    text_encoded = torch.tensor([char2int[ch] for ch in text])
    seq_length = 20
    chunk_size = seq_length + 1
    text_chunks = [text_encoded[i:i + chunk_size] for i in range(len(text_encoded) - chunk_size)]

    class TextDataset(torch.utils.data.Dataset):
        def __init__(self, text_chunks):
            self.text_chunks = text_chunks

        def __len__(self):
            return len(self.text_chunks)

        def __getitem__(self, idx):
            text_chunk = self.text_chunks[idx]
            return text_chunk[:-1].long(), text_chunk[1:].long()

    class RNN(nn.Module):
        def __init__(self, vocab_size, embed_dim, rnn_hidden_size):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embed_dim)
            self.rnn_hidden_size = rnn_hidden_size
            self.rnn = nn.LSTM(embed_dim, rnn_hidden_size, batch_first=True)
            self.fc = nn.Linear(rnn_hidden_size, vocab_size)

        def forward(self, x, hidden, cell):
            out = self.embedding(x).unsqueeze(1)
            out, (hidden, cell) = self.rnn(out, (hidden, cell))
            out = self.fc(out).reshape(out.size(0), -1)
            return out, hidden, cell

        def init_hidden(self, batch_size):
            hidden = torch.zeros(1, batch_size, self.rnn_hidden_size)
            cell = torch.zeros(1, batch_size, self.rnn_hidden_size)
            return hidden, cell

    with printed("rk_rnnman.chars"):
        seq_dataset = TextDataset(text_chunks)
        for i, (seq, target) in enumerate(seq_dataset):
            print(" Input (x):", repr("".join(char_array[s] for s in seq)))
            print("Target (y):", repr("".join(char_array[s] for s in target)))
            if i == 1:
                break
        torch.manual_seed(1)
        seq_dl = DataLoader(seq_dataset, batch_size=16, shuffle=True, drop_last=True)
        model = RNN(len(char_array), 8, 16)
        print(model)
        loss_fn = nn.CrossEntropyLoss()
        optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
        for epoch in range(15):
            hidden, cell = model.init_hidden(16)
            seq_batch, target_batch = next(iter(seq_dl))
            optimizer.zero_grad()
            loss = 0
            for c in range(seq_length):
                pred, hidden, cell = model(seq_batch[:, c], hidden, cell)
                loss += loss_fn(pred, target_batch[:, c])
            loss.backward()
            optimizer.step()
            loss = loss.item() / seq_length
            if epoch % 5 == 0:
                print(f"Epoch {epoch} loss: {loss:.4f}")

        def sample(model, starting_str, len_generated_text=30, scale_factor=1.0):
            encoded_input = torch.tensor([char2int[s] for s in starting_str])
            encoded_input = torch.reshape(encoded_input, (1, -1))
            generated_str = starting_str
            model.eval()
            hidden, cell = model.init_hidden(1)
            for c in range(len(starting_str) - 1):
                _, hidden, cell = model(encoded_input[:, c].view(1), hidden, cell)
            last_char = encoded_input[:, -1]
            for _ in range(len_generated_text):
                logits, hidden, cell = model(last_char.view(1), hidden, cell)
                logits = torch.squeeze(logits, 0)
                scaled_logits = logits * scale_factor
                m = torch.distributions.categorical.Categorical(logits=scaled_logits)
                last_char = m.sample()
                generated_str += str(char_array[last_char])
            return generated_str

        torch.manual_seed(1)
        print(repr(sample(model, starting_str="the island")))
        logits = torch.tensor([[1.0, 1.0, 3.0]])
        print("Probabilities:", nn.functional.softmax(logits, dim=1).numpy()[0])
        m = torch.distributions.categorical.Categorical(logits=logits)
        samples = m.sample((10,))
        print(samples.numpy().T if samples.dim() > 1 else samples.numpy())
        torch.manual_seed(1)
        print(repr(sample(model, starting_str="the island", scale_factor=2.0)))
        print(repr(sample(model, starting_str="the island", scale_factor=0.5)))
        put("rk_rnnman.fc", model.fc.weight)


SECTIONS = {
    "rk_ada": section_adaline, "rk_log": section_logreg, "rk_iris": section_iris,
    "rk_cnn": section_smile_cnn, "rk_rnn": section_sentiment, "rk_gan": section_gan,
    "rk_gnn": section_gnn, "rk_rnnman": section_rnn_manual,
}
