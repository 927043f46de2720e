"""Textbook programs after "Deep Learning with PyTorch" (Stevens, Antiga, Viehmann; PR18,
session 28), written afresh chapter by chapter: the tensors chapter (storage, offsets, strides,
transposes sharing memory, contiguous copies, named-dimension style weighted means, dtype
conversions, serialization), the thermometer model fitted by hand with autograd then with
optim (a train / validation split by randperm, normalized inputs, the same model as
nn.Linear and an nn.Sequential with an OrderedDict), the wine-quality tabular chapter
(standardization, one-hot scatter_, thresholds and correlations), the bird-versus-airplane
CNN with its width / depth / regularization experiments (L2 by hand, dropout, batch norm, a
deep residual net with a custom init), and the 3-D CNN segmentation piece (Conv3d blocks, a
soft Dice loss, recall-weighted loss). Tiny sizes, seeded; run by prog_s28_PR18_all.py.
"""
# ruff: noqa: UP031, UP032 - the book's "%d" and .format() prints, as it writes them

import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s25_PR9_harness import printed, put


def section_storage() -> None:
    with printed("st_tensors.log"):
        points = torch.tensor([[4.0, 1.0], [5.0, 3.0], [2.0, 1.0]])
        print(points.untyped_storage().nbytes(), list(points.storage()))
        second_point = points[1]
        print(second_point.storage_offset(), second_point.size(), second_point.shape,
              points.stride(), second_point.stride())
        second_point = points[1].clone()
        second_point[0] = 10.0
        print(points)
        points_t = points.t()
        print(points_t, id(points.untyped_storage()) == id(points_t.untyped_storage()),
              points.untyped_storage().data_ptr() == points_t.untyped_storage().data_ptr())
        print(points_t.stride(), points.is_contiguous(), points_t.is_contiguous())
        some_t = torch.ones(3, 4, 5)
        transpose_t = some_t.transpose(0, 2)
        print(some_t.shape, transpose_t.shape, some_t.stride(), transpose_t.stride())
        points_t_cont = points_t.contiguous()
        print(points_t_cont, points_t_cont.stride(), points_t_cont.storage().tolist())
        # the chapter's image batch with a weighted mean over channels
        torch.manual_seed(280)
        img_t = torch.randn(3, 5, 5)
        weights = torch.tensor([0.2126, 0.7152, 0.0722])
        batch_t = torch.randn(2, 3, 5, 5)
        img_gray_naive = img_t.mean(-3)
        batch_gray_naive = batch_t.mean(-3)
        print(img_gray_naive.shape, batch_gray_naive.shape)
        unsqueezed_weights = weights.unsqueeze(-1).unsqueeze_(-1)
        img_weights = img_t * unsqueezed_weights
        batch_weights = batch_t * unsqueezed_weights
        img_gray_weighted = img_weights.sum(-3)
        batch_gray_weighted = batch_weights.sum(-3)
        print(batch_weights.shape, batch_t.shape, unsqueezed_weights.shape)
        img_gray_weighted_fancy = torch.einsum("...chw,c->...hw", img_t, weights)
        batch_gray_weighted_fancy = torch.einsum("...chw,c->...hw", batch_t, weights)
        print(batch_gray_weighted_fancy.shape,
              torch.allclose(img_gray_weighted, img_gray_weighted_fancy, atol=1e-6),
              torch.allclose(batch_gray_weighted, batch_gray_weighted_fancy, atol=1e-6))
        double_points = torch.ones(10, 2, dtype=torch.double)
        short_points = torch.tensor([[1, 2], [3, 4]], dtype=torch.short)
        print(short_points.dtype, double_points.dtype)
        double_points = torch.zeros(10, 2).to(torch.double)
        points_64 = torch.rand(5, dtype=torch.double)
        points_short = points_64.to(torch.short)
        print(double_points.dtype, (points_64 * points_short).dtype)
        a = torch.ones(3, 2)
        a_t = torch.transpose(a, 0, 1)
        print(a.shape, a_t.shape, a.t().shape, a.transpose(0, 1).shape)
        a = torch.ones(3, 2)
        a.zero_()
        print(a)
        torch.save(points, "ourpoints.t")
        with open("ourpoints.t", "wb") as f:
            torch.save(points, f)
        with open("ourpoints.t", "rb") as f:
            print(torch.load(f))
        points_np = points.numpy()
        print(points_np.dtype, torch.from_numpy(points_np).dtype)
        # exercises: a = list(range(9)) as a tensor and views of it
        a = torch.tensor(list(range(9)))
        print(a.size(), a.storage_offset(), a.stride())
        b = a.view(3, 3)
        print(b[1, 1], id(a.untyped_storage()) == id(b.untyped_storage()))
        c = b[1:, 1:]
        print(c.size(), c.storage_offset(), c.stride())
        print(torch.cos(a.float()).sqrt().nan_to_num(-1.0))


def section_thermometer() -> None:
    t_c = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]
    t_u = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]
    t_c = torch.tensor(t_c)
    t_u = torch.tensor(t_u)

    def model(t_u, w, b):
        return w * t_u + b

    def loss_fn(t_p, t_c):
        squared_diffs = (t_p - t_c) ** 2
        return squared_diffs.mean()

    def dloss_fn(t_p, t_c):
        return 2 * (t_p - t_c) / t_p.size(0)

    def grad_fn(t_u, t_c, t_p, w, b):
        dloss_dtp = dloss_fn(t_p, t_c)
        dloss_dw = dloss_dtp * t_u
        dloss_db = dloss_dtp * 1.0
        return torch.stack([dloss_dw.sum(), dloss_db.sum()])

    def training_loop(n_epochs, learning_rate, params, t_u, t_c, print_params=True):
        for epoch in range(1, n_epochs + 1):
            w, b = params
            t_p = model(t_u, w, b)
            loss = loss_fn(t_p, t_c)
            grad = grad_fn(t_u, t_c, t_p, w, b)
            params = params - learning_rate * grad
            if epoch in {1, 2, 3, 10, 11, 99, 100, 4000, 5000}:
                print("Epoch %d, Loss %f" % (epoch, float(loss)))
                if print_params:
                    print("    Params:", params)
                    print("    Grad:  ", grad)
        return params

    with printed("st_thermo.log"):
        w = torch.ones(())
        b = torch.zeros(())
        t_p = model(t_u, w, b)
        print(t_p)
        print(loss_fn(t_p, t_c))
        delta = 0.1
        loss_rate_of_change_w = (loss_fn(model(t_u, w + delta, b), t_c)
                                 - loss_fn(model(t_u, w - delta, b), t_c)) / (2.0 * delta)
        print(loss_rate_of_change_w)
        training_loop(n_epochs=3, learning_rate=1e-2, params=torch.tensor([1.0, 0.0]),
                      t_u=t_u, t_c=t_c)
        training_loop(n_epochs=3, learning_rate=1e-4, params=torch.tensor([1.0, 0.0]),
                      t_u=t_u, t_c=t_c)
        t_un = 0.1 * t_u
        params = training_loop(n_epochs=100, learning_rate=1e-2,
                               params=torch.tensor([1.0, 0.0]), t_u=t_un, t_c=t_c,
                               print_params=False)
        print(params)

        # with autograd
        params = torch.tensor([1.0, 0.0], requires_grad=True)
        print(params.grad is None)
        loss = loss_fn(model(t_u, *params), t_c)
        loss.backward()
        print(params.grad)
        if params.grad is not None:
            params.grad.zero_()

        def training_loop_ag(n_epochs, learning_rate, params, t_u, t_c):
            for epoch in range(1, n_epochs + 1):
                if params.grad is not None:
                    params.grad.zero_()
                t_p = model(t_u, *params)
                loss = loss_fn(t_p, t_c)
                loss.backward()
                with torch.no_grad():
                    params -= learning_rate * params.grad
                if epoch % 100 == 0:
                    print("Epoch %d, Loss %f" % (epoch, float(loss)))
            return params

        print(training_loop_ag(n_epochs=300, learning_rate=1e-2,
                               params=torch.tensor([1.0, 0.0], requires_grad=True),
                               t_u=t_un, t_c=t_c))
        print(dir(optim)[:3], "SGD" in dir(optim))

        # with optim and a validation split
        n_samples = t_u.shape[0]
        n_val = int(0.2 * n_samples)
        torch.manual_seed(281)
        shuffled_indices = torch.randperm(n_samples)
        train_indices = shuffled_indices[:-n_val]
        val_indices = shuffled_indices[-n_val:]
        print(train_indices, val_indices)
        train_t_u, train_t_c = t_u[train_indices], t_c[train_indices]
        val_t_u, val_t_c = t_u[val_indices], t_c[val_indices]
        train_t_un, val_t_un = 0.1 * train_t_u, 0.1 * val_t_u

        def training_loop_val(n_epochs, optimizer, params, train_t_u, val_t_u, train_t_c,
                              val_t_c):
            for epoch in range(1, n_epochs + 1):
                train_t_p = model(train_t_u, *params)
                train_loss = loss_fn(train_t_p, train_t_c)
                with torch.no_grad():
                    val_t_p = model(val_t_u, *params)
                    val_loss = loss_fn(val_t_p, val_t_c)
                    assert val_loss.requires_grad is False
                optimizer.zero_grad()
                train_loss.backward()
                optimizer.step()
                if epoch <= 3 or epoch % 100 == 0:
                    print(f"Epoch {epoch}, Training loss {train_loss.item():.4f},"
                          f" Validation loss {val_loss.item():.4f}")
            return params

        params = torch.tensor([1.0, 0.0], requires_grad=True)
        optimizer = optim.Adam([params], lr=1e-1)
        print(training_loop_val(300, optimizer, params, train_t_un, val_t_un, train_t_c,
                                val_t_c))

        # chapter 6: the same with nn
        t_c2 = t_c.unsqueeze(1)
        t_u2 = t_u.unsqueeze(1)
        torch.manual_seed(282)
        linear_model = nn.Linear(1, 1)
        print(linear_model(0.1 * t_u2[val_indices]))
        print(linear_model.weight, linear_model.bias)
        x = torch.ones(10, 1)
        print(linear_model(x).shape)
        optimizer = optim.SGD(linear_model.parameters(), lr=1e-2)
        print(list(linear_model.parameters()))

        def training_loop_nn(n_epochs, optimizer, model, loss_fn, t_u_train, t_u_val,
                             t_c_train, t_c_val):
            for epoch in range(1, n_epochs + 1):
                t_p_train = model(t_u_train)
                loss_train = loss_fn(t_p_train, t_c_train)
                t_p_val = model(t_u_val)
                loss_val = loss_fn(t_p_val, t_c_val)
                optimizer.zero_grad()
                loss_train.backward()
                optimizer.step()
                if epoch == 1 or epoch % 200 == 0:
                    print(f"Epoch {epoch}, Training loss {loss_train.item():.4f},"
                          f" Validation loss {loss_val.item():.4f}")

        training_loop_nn(600, optimizer, linear_model, nn.MSELoss(), 0.1 * t_u2[train_indices],
                         0.1 * t_u2[val_indices], t_c2[train_indices], t_c2[val_indices])
        print(linear_model.weight, linear_model.bias)
        seq_model = nn.Sequential(OrderedDict([
            ("hidden_linear", nn.Linear(1, 8)), ("hidden_activation", nn.Tanh()),
            ("output_linear", nn.Linear(8, 1))]))
        print(seq_model)
        print([param.shape for param in seq_model.parameters()])
        for name, param in seq_model.named_parameters():
            print(name, param.shape)
        print(seq_model.output_linear.bias)
        optimizer = optim.SGD(seq_model.parameters(), lr=1e-3)
        training_loop_nn(400, optimizer, seq_model, nn.MSELoss(), 0.1 * t_u2[train_indices],
                         0.1 * t_u2[val_indices], t_c2[train_indices], t_c2[val_indices])
        print("output", seq_model(0.1 * t_u2[val_indices]))
        print("answer", t_c2[val_indices])
        print("hidden", seq_model.hidden_linear.weight.grad)
        put("st_thermo.seq", seq_model.output_linear.weight)


def section_wine() -> None:
    g = torch.Generator().manual_seed(283)
    n = 40
    features = torch.rand(n, 5, generator=g) * torch.tensor([8.0, 1.0, 0.5, 10.0, 4.0])
    quality = (3 + (features[:, 0] / 2 + features[:, 3] / 5).round()).clamp(3, 9)
    wineq_numpy = torch.cat([features, quality[:, None]], 1).numpy()
    with printed("st_wine.log"):
        wineq = torch.from_numpy(wineq_numpy)
        print(wineq.shape, wineq.dtype)
        data = wineq[:, :-1]
        print(data, data.shape)
        target = wineq[:, -1]
        print(target, target.shape)
        target = wineq[:, -1].long()
        print(target)
        target_onehot = torch.zeros(target.shape[0], 10)
        print(target_onehot.scatter_(1, target.unsqueeze(1), 1.0)[:4])
        target_unsqueezed = target.unsqueeze(1)
        print(target_unsqueezed[:3])
        data_mean = torch.mean(data, dim=0)
        print(data_mean)
        data_var = torch.var(data, dim=0)
        print(data_var)
        data_normalized = (data - data_mean) / torch.sqrt(data_var)
        print(data_normalized[:3])
        bad_indexes = target <= 4
        print(bad_indexes.shape, bad_indexes.dtype, bad_indexes.sum())
        bad_data = data[bad_indexes]
        print(bad_data.shape)
        bad_data = data[target <= 4]
        mid_data = data[(target > 4) & (target < 7)]
        good_data = data[target >= 7]
        bad_mean = torch.mean(bad_data, dim=0)
        mid_mean = torch.mean(mid_data, dim=0)
        good_mean = torch.mean(good_data, dim=0)
        for i, args in enumerate(zip(["a", "b", "c", "d", "e"], bad_mean, mid_mean, good_mean)):
            print("{:2} {:20} {:6.2f} {:6.2f} {:6.2f}".format(i, *args))
        total_sulfur_threshold = 5.0
        total_sulfur_data = data[:, 3]
        predicted_indexes = torch.lt(total_sulfur_data, total_sulfur_threshold)
        print(predicted_indexes.shape, predicted_indexes.dtype, predicted_indexes.sum())
        actual_indexes = target > 5
        print(actual_indexes.shape, actual_indexes.dtype, actual_indexes.sum())
        n_matches = torch.sum(actual_indexes & predicted_indexes).item()
        n_predicted = torch.sum(predicted_indexes).item()
        n_actual = torch.sum(actual_indexes).item()
        print(n_matches, n_matches / n_predicted, n_matches / n_actual)
        # a correlation table and a small regression on the standardized data
        corr = torch.corrcoef(wineq.T.float())
        print(corr[-1].round(decimals=3))
        x = data_normalized.float()
        y = (target.float() - target.float().mean())
        w = torch.linalg.lstsq(x, y[:, None]).solution
        print("lstsq", w.squeeze(1))
        bikes = torch.arange(24 * 3, dtype=torch.float32).view(3, 24, 1)
        weather = (bikes[:, :, 0] % 4).long()
        onehot = torch.zeros(3, 24, 4).scatter_(2, weather.unsqueeze(2), 1.0)
        print(torch.cat((bikes, onehot), 2).shape, onehot.sum((0, 1)))
        bikes_t = bikes.transpose(1, 2)
        print(bikes_t.shape, bikes_t.stride(), bikes_t.is_contiguous())
        temp = bikes[:, :, 0]
        print(((temp - temp.min()) / (temp.max() - temp.min()))[0, :5])


class Net(nn.Module):
    def __init__(self, n_chans1=8):
        super().__init__()
        self.n_chans1 = n_chans1
        self.conv1 = nn.Conv2d(3, n_chans1, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(n_chans1, n_chans1 // 2, kernel_size=3, padding=1)
        self.fc1 = nn.Linear(4 * 4 * n_chans1 // 2, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        out = F.max_pool2d(torch.tanh(self.conv1(x)), 2)
        out = F.max_pool2d(torch.tanh(self.conv2(out)), 2)
        out = out.view(-1, 4 * 4 * self.n_chans1 // 2)
        out = torch.tanh(self.fc1(out))
        out = self.fc2(out)
        return out


class NetDropout(Net):
    def __init__(self, n_chans1=8):
        super().__init__(n_chans1)
        self.conv1_dropout = nn.Dropout2d(p=0.4)
        self.conv2_dropout = nn.Dropout2d(p=0.4)

    def forward(self, x):
        out = F.max_pool2d(torch.tanh(self.conv1(x)), 2)
        out = self.conv1_dropout(out)
        out = F.max_pool2d(torch.tanh(self.conv2(out)), 2)
        out = self.conv2_dropout(out)
        out = out.view(-1, 4 * 4 * self.n_chans1 // 2)
        out = torch.tanh(self.fc1(out))
        return self.fc2(out)


class NetBatchNorm(Net):
    def __init__(self, n_chans1=8):
        super().__init__(n_chans1)
        self.conv1_batchnorm = nn.BatchNorm2d(num_features=n_chans1)
        self.conv2_batchnorm = nn.BatchNorm2d(num_features=n_chans1 // 2)

    def forward(self, x):
        out = self.conv1_batchnorm(self.conv1(x))
        out = F.max_pool2d(torch.tanh(out), 2)
        out = self.conv2_batchnorm(self.conv2(out))
        out = F.max_pool2d(torch.tanh(out), 2)
        out = out.view(-1, 4 * 4 * self.n_chans1 // 2)
        out = torch.tanh(self.fc1(out))
        return self.fc2(out)


class ResBlock(nn.Module):
    def __init__(self, n_chans):
        super().__init__()
        self.conv = nn.Conv2d(n_chans, n_chans, kernel_size=3, padding=1, bias=False)
        self.batch_norm = nn.BatchNorm2d(num_features=n_chans)
        torch.nn.init.kaiming_normal_(self.conv.weight, nonlinearity="relu")
        torch.nn.init.constant_(self.batch_norm.weight, 0.5)
        torch.nn.init.zeros_(self.batch_norm.bias)

    def forward(self, x):
        out = self.conv(x)
        out = self.batch_norm(out)
        out = torch.relu(out)
        return out + x


class NetResDeep(nn.Module):
    def __init__(self, n_chans1=8, n_blocks=3):
        super().__init__()
        self.n_chans1 = n_chans1
        self.conv1 = nn.Conv2d(3, n_chans1, kernel_size=3, padding=1)
        self.resblocks = nn.Sequential(*(n_blocks * [ResBlock(n_chans=n_chans1)]))
        self.fc1 = nn.Linear(4 * 4 * n_chans1, 16)
        self.fc2 = nn.Linear(16, 2)

    def forward(self, x):
        out = F.max_pool2d(torch.relu(self.conv1(x)), 2)
        out = self.resblocks(out)
        out = F.max_pool2d(out, 2)
        out = out.view(-1, 4 * 4 * self.n_chans1)
        out = torch.relu(self.fc1(out))
        return self.fc2(out)


def section_birds() -> None:
    torch.manual_seed(284)
    imgs = torch.rand(24, 3, 16, 16)
    imgs[:12, 2] += 0.5  # "airplanes": more blue sky
    labels = torch.tensor([0] * 12 + [1] * 12)
    perm = torch.randperm(24)
    imgs, labels = imgs[perm], labels[perm]
    mean = imgs.view(3, -1).mean(dim=1)  # the book's (wrong-axis) view, as written there
    std = imgs.transpose(0, 1).reshape(3, -1).std(dim=1)
    imgs = (imgs - mean[:, None, None]) / std[:, None, None]
    cifar2 = list(zip(imgs[:16], labels[:16]))
    cifar2_val = list(zip(imgs[16:], labels[16:]))

    def training_loop(n_epochs, optimizer, model, loss_fn, train_loader, l2=False):
        for epoch in range(1, n_epochs + 1):
            loss_train = 0.0
            for imgs_b, labels_b in train_loader:
                outputs = model(imgs_b)
                loss = loss_fn(outputs, labels_b)
                if l2:
                    l2_lambda = 0.001
                    l2_norm = sum(p.pow(2.0).sum() for p in model.parameters())
                    loss = loss + l2_lambda * l2_norm
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                loss_train += loss.item()
            print("Epoch {}, Training loss {:.4f}".format(epoch, loss_train / len(train_loader)))

    def validate(model, train_loader, val_loader):
        accdict = {}
        for name, loader in [("train", train_loader), ("val", val_loader)]:
            correct = 0
            total = 0
            with torch.no_grad():
                for imgs_b, labels_b in loader:
                    outputs = model(imgs_b)
                    _, predicted = torch.max(outputs, dim=1)
                    total += labels_b.shape[0]
                    correct += int((predicted == labels_b).sum())
            print("Accuracy {}: {:.2f}".format(name, correct / total))
            accdict[name] = correct / total
        return accdict

    with printed("st_birds.log"):
        print(mean, std)
        train_loader = torch.utils.data.DataLoader(cifar2, batch_size=8, shuffle=True)
        val_loader = torch.utils.data.DataLoader(cifar2_val, batch_size=8, shuffle=False)
        all_acc = {}
        for name, make, l2, lr in (("baseline", Net, False, 1e-2), ("l2", Net, True, 1e-2),
                                   ("width", lambda: Net(n_chans1=16), False, 1e-2),
                                   ("dropout", NetDropout, False, 1e-2),
                                   ("batchnorm", NetBatchNorm, False, 1e-2),
                                   ("resdeep", lambda: NetResDeep(n_blocks=4), False, 3e-3)):
            print("==", name)
            model = make()
            numel_list = [p.numel() for p in model.parameters() if p.requires_grad]
            print(sum(numel_list), numel_list)
            optimizer = optim.SGD(model.parameters(), lr=lr)
            model.train()
            training_loop(n_epochs=3, optimizer=optimizer, model=model,
                          loss_fn=nn.CrossEntropyLoss(), train_loader=train_loader, l2=l2)
            model.eval()
            all_acc[name] = validate(model, train_loader, val_loader)
            put(f"st_birds.{name}", model.fc2.weight)
        print(all_acc)
        model = NetResDeep(n_blocks=2)
        print(model.resblocks[0] is model.resblocks[1], len(list(model.parameters())))
        torch.save(model.state_dict(), "birds_vs_airplanes.pt")
        loaded_model = NetResDeep(n_blocks=2)
        print(loaded_model.load_state_dict(torch.load("birds_vs_airplanes.pt")))
        print(model.resblocks[1].batch_norm.running_mean, model.resblocks[1].batch_norm)


class SegBlock(nn.Module):
    def __init__(self, in_channels, conv_channels):
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, conv_channels, kernel_size=3, padding=1, bias=True)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv3d(conv_channels, conv_channels, kernel_size=3, padding=1,
                               bias=True)
        self.relu2 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(2, 2)

    def forward(self, input_batch):
        block_out = self.conv1(input_batch)
        block_out = self.relu1(block_out)
        block_out = self.conv2(block_out)
        block_out = self.relu2(block_out)
        return self.maxpool(block_out)


class LunaModel(nn.Module):
    def __init__(self, in_channels=1, conv_channels=4):
        super().__init__()
        self.tail_batchnorm = nn.BatchNorm3d(1)
        self.block1 = SegBlock(in_channels, conv_channels)
        self.block2 = SegBlock(conv_channels, conv_channels * 2)
        self.head_linear = nn.Linear(2 * 2 * 2 * conv_channels * 2, 2)
        self.head_softmax = nn.Softmax(dim=1)
        self._init_weights()

    def _init_weights(self):
        for m in self.modules():
            if type(m) in {nn.Linear, nn.Conv3d}:
                nn.init.kaiming_normal_(m.weight.data, a=0, mode="fan_out",
                                        nonlinearity="relu")
                if m.bias is not None:
                    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(m.weight.data)
                    bound = 1 / (fan_out ** 0.5)
                    nn.init.normal_(m.bias, -bound, bound)

    def forward(self, input_batch):
        bn_output = self.tail_batchnorm(input_batch)
        block_out = self.block1(bn_output)
        block_out = self.block2(block_out)
        conv_flat = block_out.view(block_out.size(0), -1)
        linear_output = self.head_linear(conv_flat)
        return linear_output, self.head_softmax(linear_output)


class SegHead(nn.Module):
    """The segmentation chapter's tiny U-Net-like 2-D model over slices of a 3-D crop."""

    def __init__(self):
        super().__init__()
        self.input_batchnorm = nn.BatchNorm2d(3)
        self.down = nn.Conv2d(3, 4, 3, padding=1)
        self.up = nn.ConvTranspose2d(4, 4, 2, stride=2)
        self.out = nn.Conv2d(4, 1, 1)

    def forward(self, x):
        x = self.input_batchnorm(x)
        x = F.max_pool2d(F.relu(self.down(x)), 2)
        x = F.relu(self.up(x))
        return torch.sigmoid(self.out(x))


def dice_loss(prediction_g, label_g, epsilon=1):
    diceLabel_g = label_g.sum(dim=[1, 2, 3])
    dicePrediction_g = prediction_g.sum(dim=[1, 2, 3])
    diceCorrect_g = (prediction_g * label_g).sum(dim=[1, 2, 3])
    diceRatio_g = (2 * diceCorrect_g + epsilon) / (dicePrediction_g + diceLabel_g + epsilon)
    return 1 - diceRatio_g


def section_luna() -> None:
    torch.manual_seed(285)
    ct = torch.randn(4, 1, 8, 8, 8)
    label = torch.tensor([0, 1, 0, 1])
    ct[label == 1, :, 2:6, 2:6, 2:6] += 2.0
    with printed("st_luna.log"):
        model = LunaModel()
        print(model)
        print(sum(p.numel() for p in model.parameters()))
        optimizer = optim.SGD(model.parameters(), lr=0.001, momentum=0.99)
        loss_func = nn.CrossEntropyLoss(reduction="none")
        for epoch in range(3):
            logits_g, probability_g = model(ct)
            loss_g = loss_func(logits_g, label)
            optimizer.zero_grad()
            loss_g.mean().backward()
            optimizer.step()
            metrics = torch.stack([label.float(), probability_g[:, 1].detach(), loss_g.detach()])
            neg = metrics[0] <= 0.5
            pos = ~neg
            print(f"E{epoch} loss/all {metrics[2].mean():.4f} loss/neg {metrics[2, neg].mean():.4f}"
                  f" loss/pos {metrics[2, pos].mean():.4f} correct/all "
                  f"{((metrics[1] > 0.5) == pos).float().mean() * 100:.1f}%")
        print(model.tail_batchnorm.running_mean, model.tail_batchnorm.num_batches_tracked)
        # segmentation: 3 context slices of a crop in, the middle slice's mask out
        crop = torch.randn(2, 3, 8, 8)
        mask = (crop[:, 1:2] > 0.5).float()
        seg = SegHead()
        seg_opt = optim.Adam(seg.parameters())
        for epoch in range(3):
            prediction_g = seg(crop)
            diceLoss_g = dice_loss(prediction_g, mask)
            fnLoss_g = dice_loss(prediction_g * mask, mask)
            loss = diceLoss_g.mean() + fnLoss_g.mean() * 8
            seg_opt.zero_grad()
            loss.backward()
            seg_opt.step()
            with torch.no_grad():
                predictionBool_g = (prediction_g[:, 0:1] > 0.5).to(torch.float32)
                tp = (predictionBool_g * mask).sum(dim=[1, 2, 3])
                fn = ((1 - predictionBool_g) * mask).sum(dim=[1, 2, 3])
                fp = (predictionBool_g * (~mask.bool())).sum(dim=[1, 2, 3])
            print(f"E{epoch} dice {diceLoss_g.detach()} fn {fnLoss_g.detach()} tp {tp} fn {fn} "
                  f"fp {fp}")
        put("st_luna.seg", seg.out.weight)
        put("st_luna.head", model.head_linear.weight)


def section_augment() -> None:
    """Part 2's augmentation: a random 4x4 transform (flips, offsets, scales, a rotation about
    z) through affine_grid / grid_sample on a 3-D crop, plus noise; and chapter 13's 2-D
    segmentation augmentation of image and mask together."""
    import random

    random.seed(286)
    torch.manual_seed(287)
    ct_t = torch.randn(2, 1, 6, 8, 8)
    with printed("st_aug.log"):
        transform_t = torch.eye(4)
        for i in range(3):
            if random.random() > 0.5:
                transform_t[i, i] *= -1
            random_float = random.random() * 2 - 1
            transform_t[i, 3] = 0.1 * random_float
            random_float = random.random() * 2 - 1
            transform_t[i, i] *= 1.0 + 0.2 * random_float
        angle_rad = random.random() * math.pi * 2
        s, c = math.sin(angle_rad), math.cos(angle_rad)
        rotation_t = torch.tensor([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
        transform_t @= rotation_t
        print(transform_t)
        affine_t = F.affine_grid(transform_t[:3].unsqueeze(0).expand(2, -1, -1).to(torch.float32),
                                 ct_t.size(), align_corners=False)
        augmented_chunk = F.grid_sample(ct_t, affine_t, padding_mode="border",
                                        align_corners=False)
        noise_t = torch.randn_like(augmented_chunk) * 25.0 / 1000
        augmented_chunk += noise_t
        print(affine_t.shape, augmented_chunk.shape)
        print(f"mean {augmented_chunk.mean():.4f} std {augmented_chunk.std():.4f}")
        print(augmented_chunk[0, 0, 3, 2:5, 2:5])
        # chapter 13: image and label through one grid (flip, offset, scale, rotation)
        input_g = torch.randn(3, 2, 10, 10)
        label_g = torch.zeros(3, 1, 10, 10, dtype=torch.bool)
        label_g[:, :, 3:7, 2:6] = True
        transform_t = torch.eye(3)
        transform_t[0, 0] *= -1
        transform_t[1, 2] = 0.12
        transform_t[0, 0] *= 1.1
        angle = 0.3
        rotation_t = torch.tensor([[math.cos(angle), -math.sin(angle), 0],
                                   [math.sin(angle), math.cos(angle), 0], [0, 0, 1]])
        transform_t @= rotation_t
        affine_t = F.affine_grid(transform_t[:2].unsqueeze(0).expand(input_g.size(0), -1, -1),
                                 input_g.size(), align_corners=False)
        augmented_input_g = F.grid_sample(input_g, affine_t, padding_mode="border",
                                          align_corners=False)
        augmented_label_g = F.grid_sample(label_g.to(torch.float32), affine_t,
                                          padding_mode="border", align_corners=False)
        print(f"input sum {augmented_input_g.sum():.3f}",
              f"label mass {augmented_label_g.sum():.3f}")
        print((augmented_label_g[0, 0] > 0.6).int()[2:8])
        put("st_aug.chunk", augmented_chunk)
        put("st_aug.input", augmented_input_g)


def section_real_data() -> None:
    """Chapter 4's real-world data: a bike-sharing CSV through np.loadtxt with a converter,
    daily views and transposes, weather one-hot by scatter_ (2-d and 3-d), in-place rescaling
    of slices; text as one-hot characters and words; an image batch normalized per channel;
    an HWC image permuted; a CT volume unsqueezed."""
    import io

    import numpy as np

    rng = np.random.default_rng(288)
    rows = [f"{i + 1},2011-01-{1 + i // 24:02d},1,0,1,{i % 24},0,6,0,{1 + (i * 7) % 4},"
            f"{0.24 + 0.01 * (i % 5):.2f},0.28,0.81,0.0,3,13,{16 + i}" for i in range(48)]
    with printed("st_data.log"):
        bikes_numpy = np.loadtxt(io.StringIO("\n".join(rows)), dtype=np.float32, delimiter=",",
                                 converters={1: lambda x: float(x[8:10])})
        bikes = torch.from_numpy(bikes_numpy)
        print(bikes.shape, bikes.stride())
        daily_bikes = bikes.view(-1, 24, bikes.shape[1])
        print(daily_bikes.shape, daily_bikes.stride())
        daily_bikes = daily_bikes.transpose(1, 2)
        print(daily_bikes.shape, daily_bikes.stride())
        first_day = bikes[:24].long()
        weather_onehot = torch.zeros(first_day.shape[0], 4)
        print(first_day[:, 9])
        weather_onehot.scatter_(dim=1, index=first_day[:, 9].unsqueeze(1).long() - 1, value=1.0)
        print(weather_onehot[:5])
        print(torch.cat((bikes[:24], weather_onehot), 1)[:1])
        daily_weather_onehot = torch.zeros(daily_bikes.shape[0], 4, daily_bikes.shape[2])
        daily_weather_onehot.scatter_(1, daily_bikes[:, 9, :].long().unsqueeze(1) - 1, 1.0)
        print(daily_weather_onehot.shape, daily_weather_onehot.sum((0, 2)))
        daily_bikes = torch.cat((daily_bikes, daily_weather_onehot), dim=1)
        daily_bikes[:, 9, :] = (daily_bikes[:, 9, :] - 1.0) / 3.0
        temp = daily_bikes[:, 10, :]
        temp_min, temp_max = torch.min(temp), torch.max(temp)
        daily_bikes[:, 10, :] = (daily_bikes[:, 10, :] - temp_min) / (temp_max - temp_min)
        temp = daily_bikes[:, 10, :]
        daily_bikes[:, 10, :] = (daily_bikes[:, 10, :] - torch.mean(temp)) / torch.std(temp)
        print(daily_bikes[0, 9:11, :6])
        print(daily_bikes.is_contiguous(), daily_bikes.stride())
        line = "Impossible, Mr. Bennet, impossible, when I am not acquainted with him"
        letter_t = torch.zeros(len(line), 128)
        for i, letter in enumerate(line.lower().strip()):
            letter_index = ord(letter) if ord(letter) < 128 else 0
            letter_t[i][letter_index] = 1
        print(letter_t.shape, letter_t.sum(0).nonzero().flatten())

        def clean_words(input_str):
            punctuation = '.,;:"!?_-'
            word_list = input_str.lower().replace("\n", " ").split()
            return [word.strip(punctuation) for word in word_list]

        words_in_line = clean_words(line)
        word_list = sorted(set(clean_words(line * 2)))
        word2index_dict = {word: i for (i, word) in enumerate(word_list)}
        word_t = torch.zeros(len(words_in_line), len(word2index_dict))
        for i, word in enumerate(words_in_line):
            word_index = word2index_dict[word]
            word_t[i][word_index] = 1
            print("{:2} {:4} {}".format(i, word_index, word))
        print(word_t.shape, word_t.argmax(1))
        batch = torch.zeros(3, 3, 4, 4, dtype=torch.uint8)
        batch[:] = torch.from_numpy(rng.integers(0, 255, (3, 3, 4, 4)).astype(np.uint8))
        batch = batch.float()
        batch /= 255.0
        for c in range(batch.shape[1]):
            mean = torch.mean(batch[:, c])
            std = torch.std(batch[:, c])
            batch[:, c] = (batch[:, c] - mean) / std
        print(batch[0, 0])
        img = torch.from_numpy(rng.integers(0, 255, (5, 6, 3)).astype(np.uint8))
        out = img.permute(2, 0, 1)
        print(out.shape, out.stride(), out.is_contiguous(), out.dtype)
        vol = torch.from_numpy(rng.integers(-1000, 1000, (4, 5, 5)).astype(np.int16)).float()
        vol = torch.unsqueeze(vol, 0)
        print(vol.shape, vol.dtype, vol.mean())
        put("st_data.bikes", daily_bikes)


SECTIONS = {
    "st_tensors": section_storage, "st_thermo": section_thermometer, "st_wine": section_wine,
    "st_birds": section_birds, "st_luna": section_luna, "st_aug": section_augment,
    "st_data": section_real_data,
}
