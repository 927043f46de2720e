"""More textbook chapters (PR18, session 28), written afresh in the books' style: Raschka's
PyTorch-mechanics chapters (tensor manipulation, a joint Dataset with a transform, Subset,
drop_last, the XOR problem at two capacities, a custom NoisyLinear layer with a training
flag, xavier init of a raw tensor), Raschka's transformer chapter (self-attention of a toy
sentence from scratch with rand projections, multi-head by bmm, nn.TransformerEncoderLayer);
Prince's notebooks on convolution by hand (stride, dilation, padding, the convolution as a
matrix), double descent with random features and pinv, graphs (walks by matrix_power, GCN
normalization, a node classifier), normalizing flows and the reparameterization trick;
Stevens' convolution chapter (hand-set edge kernels, padding arithmetic, a functional-API net)
and d2l's hyperparameter optimization chapter (random search over log-uniform draws,
successive halving). Tiny sizes, seeded; run by prog_s28_PR18_all.py.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset


class JointDataset(Dataset):
    def __init__(self, x, y, transform=None):
        self.x = x
        self.y = y
        self.transform = transform

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        x = self.x[idx]
        if self.transform is not None:
            x = self.transform(x)
        return x, self.y[idx]


def section_mechanics() -> None:
    with printed("mo_mech.log"):
        torch.manual_seed(1)
        t = torch.rand(6)
        print(t)
        t_splits = torch.chunk(t, 3)
        print([item.numpy() for item in t_splits])
        t = torch.rand(5)
        t_splits = torch.split(t, split_size_or_sections=[3, 2])
        print([item.numpy() for item in t_splits])
        A = torch.ones(3)
        B = torch.zeros(2)
        C = torch.cat([A, B], axis=0)
        print(C)
        A = torch.ones(3)
        B = torch.zeros(3)
        S = torch.stack([A, B], axis=1)
        print(S)
        t = torch.rand(3, 5)
        t_tr = torch.transpose(t, 0, 1)
        print(t.shape, " --> ", t_tr.shape)
        t = torch.zeros(30)
        t_reshape = t.reshape(5, 6)
        print(t_reshape.shape)
        t = torch.zeros(1, 2, 1, 4, 1)
        t_sqz = torch.squeeze(t, 2)
        print(t.shape, " --> ", t_sqz.shape)
        torch.manual_seed(1)
        t1 = 2 * torch.rand(5, 2) - 1
        t2 = torch.normal(mean=0, std=1, size=(5, 2))
        t3 = torch.multiply(t1, t2)
        print(t3)
        t4 = torch.mean(t1, axis=0)
        print(t4)
        t5 = torch.matmul(t1, torch.transpose(t2, 0, 1))
        print(t5)
        norm_t1 = torch.linalg.norm(t1, ord=2, dim=1)
        print(norm_t1)
        print(torch.allclose(norm_t1, torch.sqrt(torch.sum(torch.square(t1), axis=1))))
        torch.manual_seed(1)
        t_x = torch.rand([4, 3], dtype=torch.float32)
        t_y = torch.arange(4)
        joint_dataset = JointDataset(t_x, t_y, transform=lambda x: x * 2)
        for example in joint_dataset:
            print("  x: ", example[0], "  y: ", example[1])
        data_loader = DataLoader(dataset=joint_dataset, batch_size=3, shuffle=True,
                                 drop_last=True)
        for epoch in range(2):
            print(f"epoch {epoch + 1}")
            for i, batch in enumerate(data_loader, 1):
                print(f"batch {i}:", "x:", batch[0], "\n         y:", batch[1])
        subset = Subset(joint_dataset, [3, 1])
        print(len(subset), subset[0][1], subset.indices)
        loader = DataLoader(TensorDataset(torch.arange(10.0)), batch_size=4)
        print([b[0].tolist() for b in loader], len(loader))


class NoisyLinear(nn.Module):
    def __init__(self, input_size, output_size, noise_stddev=0.1):
        super().__init__()
        w = torch.Tensor(input_size, output_size)
        self.w = nn.Parameter(w)
        nn.init.xavier_uniform_(self.w)
        b = torch.Tensor(output_size).fill_(0)
        self.b = nn.Parameter(b)
        self.noise_stddev = noise_stddev

    def forward(self, x, training=False):
        if training:
            noise = torch.normal(0.0, self.noise_stddev, (x.shape[0], x.shape[1]))
            x_new = torch.add(x, noise)
        else:
            x_new = x
        return torch.add(torch.mm(x_new, self.w), self.b)


class NoisyModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1 = NoisyLinear(2, 4, 0.07)
        self.a1 = nn.ReLU()
        self.l2 = nn.Linear(4, 4)
        self.a2 = nn.ReLU()
        self.l3 = nn.Linear(4, 1)
        self.a3 = nn.Sigmoid()

    def forward(self, x, training=False):
        x = self.l1(x, training)
        x = self.a1(x)
        x = self.l2(x)
        x = self.a2(x)
        x = self.l3(x)
        x = self.a3(x)
        return x

    def predict(self, x):
        x = torch.tensor(x, dtype=torch.float32)
        pred = self.forward(x)[:, 0]
        return (pred >= 0.5).float()


def section_xor() -> None:
    torch.manual_seed(1)
    x = torch.rand(80, 2) * 2 - 1
    y = torch.ones(len(x))
    y[x[:, 0] * x[:, 1] < 0] = 0
    n_train = 60
    x_train, y_train = x[:n_train, :], y[:n_train]
    x_valid, y_valid = x[n_train:, :], y[n_train:]
    with printed("mo_xor.log"):
        w = torch.empty(2, 3)
        nn.init.xavier_normal_(w)
        print("xavier", w)
        train_dl = DataLoader(TensorDataset(x_train, y_train), 4, shuffle=True)

        def train(model, num_epochs, train_dl, x_valid, y_valid, noisy=False):
            loss_fn = nn.BCELoss()
            optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
            loss_hist_train = [0] * num_epochs
            accuracy_hist_train = [0] * num_epochs
            loss_hist_valid = [0] * num_epochs
            accuracy_hist_valid = [0] * num_epochs
            for epoch in range(num_epochs):
                for x_batch, y_batch in train_dl:
                    pred = (model(x_batch, True) if noisy else model(x_batch))[:, 0]
                    loss = loss_fn(pred, y_batch)
                    loss.backward()
                    optimizer.step()
                    optimizer.zero_grad()
                    loss_hist_train[epoch] += loss.item()
                    is_correct = ((pred >= 0.5).float() == y_batch).float()
                    accuracy_hist_train[epoch] += is_correct.mean()
                loss_hist_train[epoch] /= n_train / 4
                accuracy_hist_train[epoch] /= n_train / 4
                pred = model(x_valid)[:, 0]
                loss = loss_fn(pred, y_valid)
                loss_hist_valid[epoch] = loss.item()
                is_correct = ((pred >= 0.5).float() == y_valid).float()
                accuracy_hist_valid[epoch] += is_correct.mean()
            return loss_hist_train, loss_hist_valid, accuracy_hist_train, accuracy_hist_valid

        for name, model in (("linear", nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())),
                            ("hidden", nn.Sequential(nn.Linear(2, 4), nn.ReLU(),
                                                     nn.Linear(4, 4), nn.ReLU(),
                                                     nn.Linear(4, 1), nn.Sigmoid()))):
            torch.manual_seed(1)
            for layer in model:
                if isinstance(layer, nn.Linear):
                    layer.reset_parameters()
            history = train(model, 10, train_dl, x_valid, y_valid)
            print(name, [round(v, 4) for v in history[0][::3]],
                  f"valid acc {history[3][-1]:.3f}", type(history[3][-1]).__name__)
        torch.manual_seed(1)
        model = NoisyModule()
        print(model)
        history = train(model, 10, train_dl, x_valid, y_valid, noisy=True)
        print("noisy", [round(v, 4) for v in history[0][::3]], f"{history[3][-1]:.3f}")
        print(model.predict([[0.5, 0.5], [-0.5, 0.5]]))
        put("mo_xor.w", model.l1.w)


def section_transformer() -> None:
    with printed("mo_tf.log"):
        sentence = torch.tensor([0, 7, 1, 2, 5, 6, 4, 3])
        torch.manual_seed(123)
        embed = torch.nn.Embedding(10, 16)
        embedded_sentence = embed(sentence).detach()
        print(embedded_sentence.shape)
        omega = torch.empty(8, 8)
        for i, x_i in enumerate(embedded_sentence):
            for j, x_j in enumerate(embedded_sentence):
                omega[i, j] = torch.dot(x_i, x_j)
        omega_mat = embedded_sentence.matmul(embedded_sentence.T)
        print(torch.allclose(omega_mat, omega))
        attention_weights = F.softmax(omega, dim=1)
        print(attention_weights.shape, attention_weights.sum(dim=1).round(decimals=4))
        x_2 = embedded_sentence[1, :]
        context_vec_2 = torch.zeros(x_2.shape)
        for j in range(8):
            x_j = embedded_sentence[j, :]
            context_vec_2 += attention_weights[1, j] * x_j
        context_vectors = torch.matmul(attention_weights, embedded_sentence)
        print(torch.allclose(context_vec_2, context_vectors[1], atol=1e-6))
        torch.manual_seed(123)
        d = embedded_sentence.shape[1]
        U_query = torch.rand(d, d)
        U_key = torch.rand(d, d)
        U_value = torch.rand(d, d)
        x_2 = embedded_sentence[1]
        query_2 = U_query.matmul(x_2)
        key_2 = U_key.matmul(x_2)
        value_2 = U_value.matmul(x_2)
        keys = U_key.matmul(embedded_sentence.T).T
        print(torch.allclose(key_2, keys[1]))
        values = U_value.matmul(embedded_sentence.T).T
        print(torch.allclose(value_2, values[1]))
        omega_23 = query_2.dot(keys[2])
        print(f"{omega_23.item():.4f}")
        omega_2 = query_2.matmul(keys.T)
        print(omega_2)
        attention_weights_2 = F.softmax(omega_2 / d ** 0.5, dim=0)
        print(attention_weights_2)
        context_vector_2 = attention_weights_2.matmul(values)
        print(context_vector_2)
        torch.manual_seed(123)
        h = 8
        multihead_U_query = torch.rand(h, d, d)
        multihead_U_key = torch.rand(h, d, d)
        multihead_U_value = torch.rand(h, d, d)
        stacked_inputs = embedded_sentence.T.repeat(8, 1, 1)
        print(stacked_inputs.shape)
        multihead_keys = torch.bmm(multihead_U_key, stacked_inputs)
        print(multihead_keys.shape)
        multihead_keys = multihead_keys.permute(0, 2, 1)
        print(multihead_keys.shape, f"{multihead_keys[2, 1].sum().item():.3f}")
        multihead_values = torch.matmul(multihead_U_value, stacked_inputs).permute(0, 2, 1)
        multihead_z_2 = torch.rand(8, 16)
        linear = torch.nn.Linear(8 * 16, 16)
        context_vector_2 = linear(multihead_z_2.flatten())
        print(context_vector_2.shape, multihead_values.shape,
              multihead_U_query.matmul(x_2).shape)
        torch.manual_seed(124)
        layer = nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32,
                                           dropout=0.0, batch_first=True)
        enc = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        pad = torch.tensor([[False] * 6 + [True] * 2])
        out = enc(embedded_sentence[None], src_key_padding_mask=pad)
        print(out.shape, f"{out[0, :6].mean().item():.4f} {out[0, :6].std().item():.4f}")
        put("mo_tf.out", out[0, :6])


def section_conv_by_hand() -> None:
    with printed("mo_conv.log"):
        x = torch.tensor([5.2, 5.3, 5.4, 5.1, 10.1, 10.3, 9.9, 10.3, 3.2, 3.4, 3.3, 3.1])

        def conv_3_1_1_zp(x_in, omega):
            x_out = torch.zeros_like(x_in)
            padded = F.pad(x_in, (1, 1))
            for i in range(len(x_in)):
                x_out[i] = (omega * padded[i:i + 3]).sum()
            return x_out

        def conv_3_2_1_zp(x_in, omega):
            padded = F.pad(x_in, (1, 1))
            return torch.stack([(omega * padded[i:i + 3]).sum()
                                for i in range(0, len(x_in), 2)])

        def conv_5_1_1_zp(x_in, omega):
            padded = F.pad(x_in, (2, 2))
            return torch.stack([(omega * padded[i:i + 5]).sum() for i in range(len(x_in))])

        def conv_3_1_2_zp(x_in, omega):
            padded = F.pad(x_in, (2, 2))
            return torch.stack([(omega * padded[i:i + 5:2]).sum() for i in range(len(x_in))])

        omega = torch.tensor([0.33, 0.33, 0.33])
        h = conv_3_1_1_zp(x, omega)
        print(h)
        print(torch.allclose(h, F.conv1d(x[None, None], omega[None, None], padding=1)[0, 0]))
        omega = torch.tensor([-0.5, 0.0, 0.5])
        h2 = conv_3_1_1_zp(x, omega)
        print(h2)
        omega = torch.tensor([0.33, 0.33, 0.33])
        h3 = conv_3_2_1_zp(x, omega)
        print(h3, torch.allclose(h3, F.conv1d(x[None, None], omega[None, None], stride=2,
                                              padding=1)[0, 0]))
        omega = torch.tensor([0.2, 0.2, 0.2, 0.2, 0.2])
        h4 = conv_5_1_1_zp(x, omega)
        print(h4, torch.allclose(h4, F.conv1d(x[None, None], omega[None, None],
                                              padding=2)[0, 0]))
        omega = torch.tensor([0.33, 0.33, 0.33])
        h5 = conv_3_1_2_zp(x, omega)
        print(h5, torch.allclose(h5, F.conv1d(x[None, None], omega[None, None], padding=2,
                                              dilation=2)[0, 0]))

        def get_conv_mat_3_1_1_zp(n_out, omega):
            omega_mat = torch.zeros(n_out, n_out)
            for i in range(n_out):
                for j in range(3):
                    col = i + j - 1
                    if 0 <= col < n_out:
                        omega_mat[i, col] = omega[j]
            return omega_mat

        omega = torch.tensor([-1.0, 0.5, -0.2])
        omega_mat = get_conv_mat_3_1_1_zp(len(x), omega)
        print(omega_mat[:4, :5])
        print(torch.allclose(omega_mat @ x, conv_3_1_1_zp(x, omega), atol=1e-6))
        # 2-D: channels, receptive fields and output sizes
        torch.manual_seed(320)
        conv = nn.Conv2d(3, 5, kernel_size=3, stride=2, padding=1, dilation=1)
        img = torch.randn(1, 3, 9, 9)
        print(conv(img).shape, conv.weight.shape, sum(p.numel() for p in conv.parameters()))
        for k, s, p, dl in ((3, 1, 0, 1), (5, 2, 2, 1), (3, 1, 2, 2), (4, 3, 1, 1)):
            out = F.conv2d(img, torch.ones(1, 3, k, k), stride=s, padding=p, dilation=dl)
            formula = (9 + 2 * p - dl * (k - 1) - 1) // s + 1
            print(k, s, p, dl, tuple(out.shape[2:]), formula)
        unfolded = F.unfold(img, kernel_size=3, padding=1, stride=2)
        by_matmul = (conv.weight.view(5, -1) @ unfolded).view(1, 5, 5, 5) + \
            conv.bias.view(1, 5, 1, 1)
        print(unfolded.shape, torch.allclose(by_matmul, conv(img), atol=1e-5))


def section_double_descent() -> None:
    torch.manual_seed(321)
    n_train, n_test = 20, 200
    x_train = torch.rand(n_train, dtype=torch.float64) * 2 - 1
    x_test = torch.linspace(-1, 1, n_test, dtype=torch.float64)

    def true_fn(x):
        return torch.sin(3 * x) + 0.3 * x

    y_train = true_fn(x_train) + 0.2 * torch.randn(n_train, dtype=torch.float64)
    y_test = true_fn(x_test)
    with printed("mo_dd.log"):
        torch.manual_seed(322)
        W = torch.randn(200, dtype=torch.float64) * 12
        b = torch.rand(200, dtype=torch.float64) * 2 * math.pi
        for width in (2, 5, 10, 15, 20, 25, 40, 100, 200):
            def features(x, width=width):
                return torch.cos(x[:, None] * W[:width] + b[:width])

            beta = torch.linalg.pinv(features(x_train)) @ y_train
            train_mse = F.mse_loss(features(x_train) @ beta, y_train)
            test_mse = F.mse_loss(features(x_test) @ beta, y_test)
            train_text = f"{train_mse.item():.2e}" if train_mse > 1e-12 else "0 (interpolates)"
            print(f"width {width:3d}: train {train_text} test {test_mse.item():.3f} "
                  f"|beta| {beta.norm().item():.2f}")
        Phi = torch.cos(x_train[:, None] * W[:20] + b[:20])
        print("cond", f"{torch.linalg.cond(Phi).item():.3e}", "rank",
              torch.linalg.matrix_rank(Phi).item())
        ridge = torch.linalg.solve(Phi.T @ Phi + 1e-3 * torch.eye(20, dtype=torch.float64),
                                   Phi.T @ y_train)
        lst = torch.linalg.lstsq(Phi, y_train[:, None], driver="gelsd").solution[:, 0]
        print(f"ridge |beta| {ridge.norm().item():.3f} lstsq |beta| {lst.norm().item():.3f}")


def section_graphs() -> None:
    with printed("mo_graph.log"):
        A = torch.tensor([[0, 1, 0, 1, 0, 0, 0, 0],
                          [1, 0, 1, 1, 1, 0, 0, 0],
                          [0, 1, 0, 0, 1, 0, 0, 0],
                          [1, 1, 0, 0, 1, 0, 0, 0],
                          [0, 1, 1, 1, 0, 1, 0, 1],
                          [0, 0, 0, 0, 1, 0, 1, 1],
                          [0, 0, 0, 0, 0, 1, 0, 0],
                          [0, 0, 0, 0, 1, 1, 0, 0]])
        print("walks of length 2 from 0 to 4:", torch.linalg.matrix_power(A, 2)[0, 4].item())
        print("walks of length 3:", torch.linalg.matrix_power(A, 3)[0])
        print(torch.matrix_power(A.float(), 4).diagonal(), A.sum(1))
        reach = torch.linalg.matrix_power(A + torch.eye(8, dtype=torch.long), 7) > 0
        print("connected", reach.all().item())
        perm = torch.tensor([3, 1, 0, 7, 4, 2, 6, 5])
        P = torch.eye(8, dtype=torch.long)[perm]
        print(torch.equal(P @ A @ P.T, A[perm][:, perm]))
        # GCN: normalized adjacency with self loops, two layers, node classification
        A_hat = A.float() + torch.eye(8)
        deg = A_hat.sum(1)
        D_inv_sqrt = torch.diag(deg.pow(-0.5))
        A_norm = D_inv_sqrt @ A_hat @ D_inv_sqrt
        print(A_norm[0].round(decimals=4), torch.linalg.eigvalsh(A_norm).max().item() <= 1.0001)
        torch.manual_seed(323)
        X = torch.randn(8, 4)
        labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
        train_mask = torch.tensor([True, False, True, False, False, True, False, True])
        W1 = nn.Parameter(torch.randn(4, 8) * 0.5)
        W2 = nn.Parameter(torch.randn(8, 2) * 0.5)
        opt = torch.optim.Adam([W1, W2], lr=0.05)
        for step in range(30):
            H = torch.relu(A_norm @ X @ W1)
            logits = A_norm @ H @ W2
            loss = F.cross_entropy(logits[train_mask], labels[train_mask])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step % 10 == 0:
                print(f"step {step} loss {loss.item():.4f}")
        pred = logits.argmax(1)
        print("pred", pred, "test acc", (pred == labels)[~train_mask].float().mean().item())
        edge_index = A.nonzero().T
        print(edge_index.shape, edge_index[:, :5])
        agg = torch.zeros(8, 4).index_add_(0, edge_index[1], X[edge_index[0]])
        print(torch.allclose(agg, A.float().T @ X, atol=1e-6))
        put("mo_graph.W2", W2)


def section_flows() -> None:
    with printed("mo_flow.log"):
        # a 1-D piecewise-linear flow (Prince's notebook 16)
        def g(h, phi):
            K = phi.shape[0]
            b = torch.clamp((h * K).floor().long(), 0, K - 1)
            cum = torch.cat([torch.zeros(1), torch.cumsum(phi, 0)])
            return cum[b] + (h * K - b) * phi[b]

        def dgdh(h, phi):
            K = phi.shape[0]
            b = torch.clamp((h * K).floor().long(), 0, K - 1)
            return K * phi[b]

        def g_inverse(h_prime, phi, iters=30):
            lo, hi = torch.zeros_like(h_prime), torch.ones_like(h_prime)
            for _ in range(iters):
                mid = (lo + hi) / 2
                too_big = g(mid, phi) > h_prime
                hi = torch.where(too_big, mid, hi)
                lo = torch.where(too_big, lo, mid)
            return (lo + hi) / 2

        phi = torch.tensor([0.2, 0.1, 0.4, 0.05, 0.25])
        h = torch.linspace(0, 1, 6)
        print("g", g(h, phi), "dg/dh", dgdh(h, phi))
        h_prime = g(h, phi)
        print("inverse", g_inverse(h_prime, phi).round(decimals=4))
        # autograd derivative of the flow matches the slopes inside each piece
        hh = torch.tensor([0.1, 0.3, 0.5, 0.7, 0.9], requires_grad=True)
        g(hh, phi).sum().backward()
        print(hh.grad, torch.allclose(hh.grad, dgdh(hh.detach(), phi)))
        # reparameterization trick vs score-function estimator of d/dmu E[f(z)]
        torch.manual_seed(324)

        def f(z):
            return z ** 2 + torch.sin(3 * z)

        mu, sigma = torch.tensor(0.5, requires_grad=True), 0.8
        eps = torch.randn(20000)
        f(mu + sigma * eps).mean().backward()
        reparam = mu.grad.item()
        with torch.no_grad():
            z = mu + sigma * eps
            score = (f(z) * (z - mu) / sigma ** 2).mean().item()
        exact = 2 * 0.5 + 3 * math.cos(1.5) * math.exp(-9 * sigma ** 2 / 2)
        print(f"reparam {reparam:.3f} score {score:.2f} exact {exact:.3f}")
        # a planar flow's log-det and a change-of-variables density check on a grid
        base = torch.distributions.Normal(0.0, 1.0)
        flow = torch.distributions.TransformedDistribution(
            base, [torch.distributions.transforms.AffineTransform(1.0, 2.0),
                   torch.distributions.transforms.ExpTransform()])
        grid = torch.linspace(0.05, 60, 4000)
        density = flow.log_prob(grid).exp()
        print(f"lognormal mass {torch.trapezoid(density, grid).item():.3f}",
              f"{flow.log_prob(torch.tensor(2.0)).item():.5f}",
              f"{torch.distributions.LogNormal(1.0, 2.0).log_prob(torch.tensor(2.0)).item():.5f}")


def section_stevens_conv() -> None:
    torch.manual_seed(325)
    img = torch.zeros(1, 1, 8, 8)
    img[..., 2:6, 3:5] = 1.0
    with printed("mo_sconv.log"):
        conv = nn.Conv2d(1, 1, kernel_size=3, padding=1)
        with torch.no_grad():
            conv.bias.zero_()
            conv.weight.fill_(1.0 / 9.0)
        print(conv(img)[0, 0, 1:4, 2:6])
        conv = nn.Conv2d(1, 1, kernel_size=3, padding=1)
        with torch.no_grad():
            conv.weight[:] = torch.tensor([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]])
            conv.bias.zero_()
        edges = conv(img)
        print(edges[0, 0, 3])
        conv = nn.Conv2d(3, 16, kernel_size=3)
        print(conv, conv.weight.shape, conv.bias.shape)
        x = torch.randn(2, 3, 8, 8)
        print(conv(x).shape, nn.Conv2d(3, 1, kernel_size=3, padding=1)(x).shape)
        pool = nn.MaxPool2d(2)
        print(pool(x).shape, nn.MaxPool2d(3, stride=2, ceil_mode=True)(x).shape)

        class NetFunctional(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(3, 8, kernel_size=3, padding=1)
                self.conv2 = nn.Conv2d(8, 4, kernel_size=3, padding=1)
                self.fc1 = nn.Linear(4 * 2 * 2, 8)
                self.fc2 = nn.Linear(8, 2)

            def forward(self, x):
                out = F.max_pool2d(torch.tanh(self.conv1(x)), 2)
                out = F.max_pool2d(torch.tanh(self.conv2(out)), 2)
                out = out.view(-1, 4 * 2 * 2)
                out = torch.tanh(self.fc1(out))
                return self.fc2(out)

        model = NetFunctional()
        print(model(x))
        seq = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
                            nn.Conv2d(8, 4, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 2))
        seq.load_state_dict({k2: v for (k2, _), v in zip(seq.state_dict().items(),
                                                         model.state_dict().values())})
        print(torch.allclose(seq(x), model(x)))
        print(sum(p.numel() for p in model.parameters()), list(model.state_dict())[:3])


def section_hpo() -> None:
    torch.manual_seed(326)
    X = torch.randn(96, 6)
    y = (X[:, :3].sum(1) - X[:, 3:].sum(1) * 0.5 > 0).long()
    X_train, y_train, X_val, y_val = X[:64], y[:64], X[64:], y[64:]

    def objective(learning_rate, batch_size, max_epochs):
        torch.manual_seed(327)
        model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
        opt = torch.optim.SGD(model.parameters(), lr=learning_rate)
        for _ in range(max_epochs):
            for start in range(0, 64, batch_size):
                loss = F.cross_entropy(model(X_train[start:start + batch_size]),
                                       y_train[start:start + batch_size])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            return 1 - (model(X_val).argmax(1) == y_val).float().mean().item()

    with printed("mo_hpo.log"):
        # (the book draws from scipy.stats.loguniform / randint: the same laws by NumPy here,
        # scipy's import alone costing more than the section)
        rng = np.random.default_rng(328)
        config_space = {"learning_rate": lambda: float(np.exp(rng.uniform(np.log(1e-2), 0.0))),
                        "batch_size": lambda: rng.integers(8, 33)}
        errors, values = [], []
        for i in range(4):
            config = {k: draw() for k, draw in config_space.items()}
            config["batch_size"] = int(config["batch_size"])
            error = objective(**config, max_epochs=3)
            print(f"    Trial {i}: config = {{'learning_rate': {config['learning_rate']:.4f}, "
                  f"'batch_size': {config['batch_size']}}}, error = {error:.4f}")
            errors.append(error)
            values.append(config)
        best = min(range(4), key=errors.__getitem__)
        print(f"best {best} error {errors[best]:.4f}")
        # successive halving over the learning rate: keep the best half, double the epochs
        candidates = [0.03, 0.1, 0.3, 1.0]
        epochs = 1
        while len(candidates) > 1:
            scored = sorted((objective(lr, 16, epochs), lr) for lr in candidates)
            print("rung", epochs, [f"{lr}:{err:.3f}" for err, lr in scored])
            candidates = [lr for _, lr in scored[:max(1, len(scored) // 2)]]
            epochs *= 2
        print("winner", candidates)


SECTIONS = {
    "mo_mech": section_mechanics, "mo_xor": section_xor, "mo_tf": section_transformer,
    "mo_conv": section_conv_by_hand, "mo_dd": section_double_descent,
    "mo_graph": section_graphs, "mo_flow": section_flows, "mo_sconv": section_stevens_conv,
    "mo_hpo": section_hpo,
}
