"""Programs in the style of the pytorch/examples repository's image programs, as their users run
them (PR21, session 29; written afresh, synthetic data, tiny sizes): mnist (Conv2d / Dropout /
max_pool2d / log_softmax, nll_loss, StepLR, argparse settings, a test loop counting correct
predictions, torch.save of the state_dict), mnist_rnn (an LSTM over image rows),
mnist_forward_forward (layer-local goodness training), vae (reparameterize, BCE + KLD), dcgan
(transposed convolutions, weights_init, BCELoss), siamese_network (BCELoss on pairs),
super_resolution (PixelShuffle), fast_neural_style pieces (ReflectionPad2d, InstanceNorm2d,
Upsample, gram matrix), imagenet-lite (a small residual net, AverageMeter, top-k accuracy),
regression (polynomial features) and vision_transformer (patch embedding, class token,
pre-norm encoder, AdamW with cosine annealing, inference_mode). Run by prog_s29_PR21_all.py.
"""
# ruff: noqa: B007, E501, E731, N801, N802, N806, N812, UP004, UP008, UP015, UP031, UP032 - the examples' code as written

import argparse
import io

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s25_PR9_harness import printed, put
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


def fake_digits(n, seed, size=28):
    """Images whose label is which quadrant holds a bright blob (learnable in a few steps)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, size, size, generator=g) * 0.3
    y = torch.randint(0, 4, (n,), generator=g)
    h = size // 2
    for i in range(n):
        r, c = divmod(int(y[i]), 2)
        x[i, 0, r * h + 3:r * h + h - 3, c * h + 3:c * h + h - 3] += 0.7
    x = (x - 0.1307) / 0.3081
    return x, y


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(16 * 6 * 6, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = F.relu(x)
        x = self.conv2(x)
        x = F.relu(x)
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = self.fc1(x)
        x = F.relu(x)
        x = self.dropout2(x)
        x = self.fc2(x)
        output = F.log_softmax(x, dim=1)
        return output


def train(args, model, device, train_loader, optimizer, epoch):
    model.train()
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % args.log_interval == 0:
            print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader), loss.item()))
            if args.dry_run:
                break


def test(model, device, test_loader):
    model.eval()
    test_loss = 0
    correct = 0
    with torch.no_grad():
        for data, target in test_loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction='sum').item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    test_loss /= len(test_loader.dataset)
    print('\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n'.format(
        test_loss, correct, len(test_loader.dataset),
        100. * correct / len(test_loader.dataset)))
    return correct


def section_mnist():
    parser = argparse.ArgumentParser(description='PyTorch MNIST Example')
    parser.add_argument('--batch-size', type=int, default=16, metavar='N')
    parser.add_argument('--test-batch-size', type=int, default=32, metavar='N')
    parser.add_argument('--epochs', type=int, default=2, metavar='N')
    parser.add_argument('--lr', type=float, default=1.0, metavar='LR')
    parser.add_argument('--gamma', type=float, default=0.7, metavar='M')
    parser.add_argument('--no-accel', action='store_true')
    parser.add_argument('--dry-run', action='store_true')
    parser.add_argument('--seed', type=int, default=1, metavar='S')
    parser.add_argument('--log-interval', type=int, default=2, metavar='N')
    parser.add_argument('--save-model', action='store_true')
    args = parser.parse_args(['--save-model'])
    use_accel = not args.no_accel and torch.accelerator.is_available()
    torch.manual_seed(args.seed)
    device = torch.device("cpu") if not use_accel else torch.accelerator.current_accelerator()
    train_kwargs = {'batch_size': args.batch_size}
    test_kwargs = {'batch_size': args.test_batch_size}
    x, y = fake_digits(64, 1, size=16)
    xt, yt = fake_digits(48, 2, size=16)
    train_loader = torch.utils.data.DataLoader(TensorDataset(x, y), shuffle=True, **train_kwargs)
    test_loader = torch.utils.data.DataLoader(TensorDataset(xt, yt), **test_kwargs)
    with printed("e21_mnist.log"):
        print(use_accel, device)
        model = Net().to(device)
        print(model)
        optimizer = optim.Adadelta(model.parameters(), lr=args.lr)
        scheduler = StepLR(optimizer, step_size=1, gamma=args.gamma)
        for epoch in range(1, args.epochs + 1):
            train(args, model, device, train_loader, optimizer, epoch)
            correct = test(model, device, test_loader)
            scheduler.step()
            print(scheduler.get_last_lr())
        if args.save_model:
            buffer = io.BytesIO()
            torch.save(model.state_dict(), buffer)
            buffer.seek(0)
            state = torch.load(buffer)
            print(list(state)[:4], state['fc2.bias'].shape)
            model2 = Net()
            print(model2.load_state_dict(state))
        print(correct)
    put("e21_mnist.correct", correct)
    put("e21_mnist.fc2", model.fc2.weight)


class RNNNet(nn.Module):
    def __init__(self):
        super(RNNNet, self).__init__()
        self.rnn = nn.LSTM(input_size=16, hidden_size=24, batch_first=True)
        self.batchnorm = nn.BatchNorm1d(24)
        self.dropout1 = nn.Dropout2d(0.25)
        self.dropout2 = nn.Dropout2d(0.5)
        self.fc1 = nn.Linear(24, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, input):
        input = input.reshape(-1, 16, 16)
        output, hidden = self.rnn(input)
        output = output[:, -1, :]
        output = self.batchnorm(output)
        output = self.dropout1(output)
        output = self.fc1(output)
        output = F.relu(output)
        output = self.dropout2(output)
        output = self.fc2(output)
        output = F.log_softmax(output, dim=1)
        return output


def section_mnist_rnn():
    x, y = fake_digits(48, 3, size=16)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
    with printed("e21_mnist_rnn.log"):
        model = RNNNet()
        optimizer = optim.Adadelta(model.parameters(), lr=0.1)
        scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
        for epoch in range(2):
            model.train()
            for batch_idx, (data, target) in enumerate(loader):
                optimizer.zero_grad()
                output = model(data)
                loss = F.nll_loss(output, target)
                loss.backward()
                optimizer.step()
                print('Train Epoch: {} [{}/{}]\tLoss: {:.6f}'.format(epoch, batch_idx * len(data), len(loader.dataset), loss.item()))
            scheduler.step()
        model.eval()
        with torch.no_grad():
            out = model(x[:8])
            print(out.argmax(1).tolist(), out.exp().sum(1))
        print(model.batchnorm.running_mean[:4], model.batchnorm.num_batches_tracked)
    put("e21_mnist_rnn.out", out)


def overlay_y_on_x(x, y):
    x_ = x.clone()
    x_[:, :10] *= 0.0
    x_[range(x.shape[0]), y] = x.max()
    return x_


class FFLayer(nn.Linear):
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device, dtype)
        self.relu = torch.nn.ReLU()
        self.opt = optim.Adam(self.parameters(), lr=0.03)
        self.threshold = 2.0
        self.num_epochs = 8

    def forward(self, x):
        x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
        return self.relu(torch.mm(x_direction, self.weight.T) + self.bias.unsqueeze(0))

    def train(self, x_pos, x_neg):
        for i in range(self.num_epochs):
            g_pos = self.forward(x_pos).pow(2).mean(1)
            g_neg = self.forward(x_neg).pow(2).mean(1)
            loss = torch.log(1 + torch.exp(torch.cat([-g_pos + self.threshold, g_neg - self.threshold]))).mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            if i % 4 == 0:
                print("Loss: {:.4f}".format(loss.item()))
        return self.forward(x_pos).detach(), self.forward(x_neg).detach()


class FFNet(torch.nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.layers = [FFLayer(dims[d], dims[d + 1]) for d in range(len(dims) - 1)]

    def predict(self, x):
        goodness_per_label = []
        for label in range(10):
            h = overlay_y_on_x(x, label)
            goodness = []
            for layer in self.layers:
                h = layer(h)
                goodness = goodness + [h.pow(2).mean(1)]
            goodness_per_label += [sum(goodness).unsqueeze(1)]
        goodness_per_label = torch.cat(goodness_per_label, 1)
        return goodness_per_label.argmax(1)

    def train(self, x_pos, x_neg):
        h_pos, h_neg = x_pos, x_neg
        for i, layer in enumerate(self.layers):
            print("training layer: ", i)
            h_pos, h_neg = layer.train(h_pos, h_neg)


def section_mnist_ff():
    x, y = fake_digits(32, 4, size=8)
    x = x.view(x.size(0), -1)
    with printed("e21_mnist_ff.log"):
        net = FFNet([64, 32, 32])
        x_pos = overlay_y_on_x(x, y)
        rnd = torch.randperm(x.size(0))
        x_neg = overlay_y_on_x(x, y[rnd])
        net.train(x_pos, x_neg)
        pred = net.predict(x)
        print("train error:", 1.0 - pred.eq(y).float().mean().item())
        print(pred.tolist())
    put("e21_mnist_ff.w", net.layers[1].weight)


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc21 = nn.Linear(32, 4)
        self.fc22 = nn.Linear(32, 4)
        self.fc3 = nn.Linear(4, 32)
        self.fc4 = nn.Linear(32, 64)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 64))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction='sum')
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def section_vae():
    data = (torch.rand(48, 1, 8, 8) > 0.6).float()
    loader = DataLoader(TensorDataset(data, torch.zeros(48)), batch_size=16, shuffle=True)
    with printed("e21_vae.log"):
        model = VAE()
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        for epoch in range(1, 3):
            model.train()
            train_loss = 0
            for batch_idx, (d, _) in enumerate(loader):
                optimizer.zero_grad()
                recon_batch, mu, logvar = model(d)
                loss = loss_function(recon_batch, d, mu, logvar)
                loss.backward()
                train_loss += loss.item()
                optimizer.step()
            print('====> Epoch: {} Average loss: {:.4f}'.format(epoch, train_loss / len(loader.dataset)))
            model.eval()
            test_loss = 0
            with torch.no_grad():
                for i, (d, _) in enumerate(loader):
                    recon_batch, mu, logvar = model(d)
                    test_loss += loss_function(recon_batch, d, mu, logvar).item()
                    if i == 0:
                        n = min(d.size(0), 8)
                        comparison = torch.cat([d[:n], recon_batch.view(16, 1, 8, 8)[:n]])
                        print(comparison.shape, comparison.mean())
            print('====> Test set loss: {:.4f}'.format(test_loss / len(loader.dataset)))
            with torch.no_grad():
                sample = torch.randn(4, 4)
                sample = model.decode(sample)
                print(sample.view(4, 1, 8, 8).sum(dim=(1, 2, 3)))
    put("e21_vae.sample", sample)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, nz=8, ngf=4, nc=1):
        super(Generator, self).__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh()
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ndf=4, nc=1):
        super(Discriminator, self).__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


def section_dcgan():
    real = torch.tanh(torch.randn(24, 1, 16, 16))
    dataloader = DataLoader(TensorDataset(real), batch_size=8, shuffle=True)
    with printed("e21_dcgan.log"):
        netG = Generator()
        netG.apply(weights_init)
        netD = Discriminator()
        netD.apply(weights_init)
        print(netG)
        criterion = nn.BCELoss()
        fixed_noise = torch.randn(8, 8, 1, 1)
        real_label, fake_label = 1, 0
        optimizerD = optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
        optimizerG = optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
        for epoch in range(2):
            for i, data in enumerate(dataloader, 0):
                netD.zero_grad()
                real_cpu = data[0]
                batch_size = real_cpu.size(0)
                label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype)
                output = netD(real_cpu)
                errD_real = criterion(output, label)
                errD_real.backward()
                D_x = output.mean().item()
                noise = torch.randn(batch_size, 8, 1, 1)
                fake = netG(noise)
                label.fill_(fake_label)
                output = netD(fake.detach())
                errD_fake = criterion(output, label)
                errD_fake.backward()
                D_G_z1 = output.mean().item()
                errD = errD_real + errD_fake
                optimizerD.step()
                netG.zero_grad()
                label.fill_(real_label)
                output = netD(fake)
                errG = criterion(output, label)
                errG.backward()
                D_G_z2 = output.mean().item()
                optimizerG.step()
                print('[%d/%d][%d/%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f'
                      % (epoch, 2, i, len(dataloader), errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
        fake = netG(fixed_noise)
        print(fake.shape, fake.detach().mean())
    put("e21_dcgan.fake", fake)


class SiameseNetwork(nn.Module):
    def __init__(self):
        super(SiameseNetwork, self).__init__()
        self.cnn = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
                                 nn.AdaptiveAvgPool2d((2, 2)))
        self.fc = nn.Sequential(nn.Linear(16 * 2, 16), nn.ReLU(inplace=True), nn.Linear(16, 1))
        self.sigmoid = nn.Sigmoid()
        self.cnn.apply(self.init_weights)
        self.fc.apply(self.init_weights)

    def init_weights(self, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.xavier_uniform_(m.weight)
            m.bias.data.fill_(0.01)

    def forward_once(self, x):
        output = self.cnn(x)
        output = output.view(output.size()[0], -1)
        return output

    def forward(self, input1, input2):
        output1 = self.forward_once(input1)
        output2 = self.forward_once(input2)
        output = torch.cat((output1, output2), 1)
        output = self.fc(output)
        output = self.sigmoid(output)
        return output


def section_siamese():
    x, y = fake_digits(40, 5, size=8)
    with printed("e21_siamese.log"):
        model = SiameseNetwork()
        optimizer = optim.Adadelta(model.parameters(), lr=1.0)
        criterion = nn.BCELoss()
        for step in range(4):
            i1 = torch.randint(0, 40, (8,))
            i2 = torch.randint(0, 40, (8,))
            targets = (y[i1] == y[i2]).float()
            optimizer.zero_grad()
            outputs = model(x[i1], x[i2]).squeeze()
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()
            print('Step {}: loss {:.6f}'.format(step, loss.item()))
        model.eval()
        with torch.no_grad():
            outputs = model(x[:10], x[10:20]).squeeze()
            pred = torch.where(outputs > 0.5, 1, 0)
            targets = (y[:10] == y[10:20]).float()
            correct = pred.eq(targets.view_as(pred)).sum().item()
            print(pred, correct, pred.dtype)
    put("e21_siamese.out", outputs)


class SRNet(nn.Module):
    def __init__(self, upscale_factor):
        super(SRNet, self).__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 8, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(8, 8, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
        self._initialize_weights()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        x = self.pixel_shuffle(self.conv3(x))
        return x

    def _initialize_weights(self):
        nn.init.orthogonal_(self.conv1.weight, nn.init.calculate_gain('relu'))
        nn.init.orthogonal_(self.conv2.weight, nn.init.calculate_gain('relu'))
        nn.init.orthogonal_(self.conv3.weight)


def section_super_resolution():
    target = torch.rand(8, 1, 12, 12)
    inp = F.avg_pool2d(target, 3)
    with printed("e21_superres.log"):
        model = SRNet(upscale_factor=3)
        criterion = nn.MSELoss()
        optimizer = optim.Adam(model.parameters(), lr=0.01)
        for epoch in range(1, 4):
            epoch_loss = 0
            for i in range(0, 8, 4):
                optimizer.zero_grad()
                loss = criterion(model(inp[i:i + 4]), target[i:i + 4])
                epoch_loss += loss.item()
                loss.backward()
                optimizer.step()
            print("===> Epoch {} Complete: Avg. Loss: {:.4f}".format(epoch, epoch_loss / 2))
            avg_psnr = 0
            with torch.no_grad():
                mse = criterion(model(inp), target)
                psnr = 10 * torch.log10(1 / mse)
                avg_psnr += psnr.item()
            print("===> Avg. PSNR: {:.4f} dB".format(avg_psnr))
        out = model(inp[:1]).detach()
        out_img = out[0].mul(255.0).clamp(0, 255).round().byte()
        print(out.shape, out_img.dtype, out_img[0, :2, :4])
        print(nn.PixelUnshuffle(3)(out).shape, torch.equal(F.pixel_unshuffle(F.pixel_shuffle(out.repeat(1, 9, 1, 1), 3), 3), out.repeat(1, 9, 1, 1)))
    put("e21_superres.out", out)


class ConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride):
        super(ConvLayer, self).__init__()
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        out = self.reflection_pad(x)
        out = self.conv2d(out)
        return out


class ResidualBlock(torch.nn.Module):
    def __init__(self, channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
        self.in2 = torch.nn.InstanceNorm2d(channels, affine=True)
        self.relu = torch.nn.ReLU()

    def forward(self, x):
        residual = x
        out = self.relu(self.in1(self.conv1(x)))
        out = self.in2(self.conv2(out))
        out = out + residual
        return out


class UpsampleConvLayer(torch.nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
        super(UpsampleConvLayer, self).__init__()
        self.upsample = upsample
        reflection_padding = kernel_size // 2
        self.reflection_pad = torch.nn.ReflectionPad2d(reflection_padding)
        self.conv2d = torch.nn.Conv2d(in_channels, out_channels, kernel_size, stride)

    def forward(self, x):
        x_in = x
        if self.upsample:
            x_in = torch.nn.functional.interpolate(x_in, mode='nearest', scale_factor=self.upsample)
        out = self.reflection_pad(x_in)
        out = self.conv2d(out)
        return out


class TransformerNet(torch.nn.Module):
    def __init__(self):
        super(TransformerNet, self).__init__()
        self.conv1 = ConvLayer(3, 4, kernel_size=5, stride=1)
        self.in1 = torch.nn.InstanceNorm2d(4, affine=True)
        self.conv2 = ConvLayer(4, 8, kernel_size=3, stride=2)
        self.in2 = torch.nn.InstanceNorm2d(8, affine=True)
        self.res1 = ResidualBlock(8)
        self.deconv1 = UpsampleConvLayer(8, 4, kernel_size=3, stride=1, upsample=2)
        self.in4 = torch.nn.InstanceNorm2d(4, affine=True)
        self.deconv3 = ConvLayer(4, 3, kernel_size=5, stride=1)
        self.relu = torch.nn.ReLU()

    def forward(self, X):
        y = self.relu(self.in1(self.conv1(X)))
        y = self.relu(self.in2(self.conv2(y)))
        y = self.res1(y)
        y = self.relu(self.in4(self.deconv1(y)))
        y = self.deconv3(y)
        return y


def gram_matrix(y):
    (b, ch, h, w) = y.size()
    features = y.view(b, ch, w * h)
    features_t = features.transpose(1, 2)
    gram = features.bmm(features_t) / (ch * h * w)
    return gram


def normalize_batch(batch):
    mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
    std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
    batch = batch.div_(255.0)
    return (batch - mean) / std


def section_fast_neural_style():
    images = torch.rand(4, 3, 12, 12) * 255
    style = torch.rand(1, 3, 12, 12) * 255
    features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU())
    for p in features.parameters():
        p.requires_grad = False
    with printed("e21_style.log"):
        transformer = TransformerNet()
        optimizer = optim.Adam(transformer.parameters(), 1e-2)
        mse_loss = torch.nn.MSELoss()
        features_style = features(normalize_batch(style.clone()))
        gram_style = [gram_matrix(features_style)]
        print(gram_style[0].shape, nn.Upsample(scale_factor=2, mode='nearest')(style[:, :1, :2, :2]).shape)
        for e in range(3):
            transformer.train()
            x = images.clone()
            optimizer.zero_grad()
            y = transformer(x)
            y = normalize_batch(y)
            x = normalize_batch(x)
            features_y = features(y)
            features_x = features(x)
            content_loss = 1e0 * mse_loss(features_y, features_x)
            style_loss = 0.
            for gm_s in gram_style:
                gm_y = gram_matrix(features_y)
                style_loss += mse_loss(gm_y, gm_s[:4, :, :].expand_as(gm_y))
            style_loss *= 1e2
            total_loss = content_loss + style_loss
            total_loss.backward()
            optimizer.step()
            print("Epoch {}:\tcontent: {:.6f}\tstyle: {:.6f}\ttotal: {:.6f}".format(
                e + 1, content_loss.item(), style_loss.item(), total_loss.item()))
        with torch.no_grad():
            output = transformer(images[:1])
        img = output[0].clone().clamp(0, 255).numpy()
        img = img.transpose(1, 2, 0).astype("uint8")
        print(img.shape, img.dtype, output.shape)
        state = transformer.state_dict()
        print([k for k in state if 'running' in k], len(state))
    put("e21_style.out", output)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class TinyResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = BasicBlock(8, 8)
        down = nn.Sequential(nn.Conv2d(8, 16, 1, 2, bias=False), nn.BatchNorm2d(16))
        self.layer2 = BasicBlock(8, 16, 2, down)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


class AverageMeter(object):
    def __init__(self, name, fmt=':f'):
        self.name = name
        self.fmt = fmt
        self.reset()

    def reset(self):
        self.val = 0
        self.avg = 0
        self.sum = 0
        self.count = 0

    def update(self, val, n=1):
        self.val = val
        self.sum += val * n
        self.count += n
        self.avg = self.sum / self.count

    def __str__(self):
        fmtstr = '{name} {val' + self.fmt + '} ({avg' + self.fmt + '})'
        return fmtstr.format(**self.__dict__)


def accuracy(output, target, topk=(1,)):
    with torch.no_grad():
        maxk = max(topk)
        batch_size = target.size(0)
        _, pred = output.topk(maxk, 1, True, True)
        pred = pred.t()
        correct = pred.eq(target.view(1, -1).expand_as(pred))
        res = []
        for k in topk:
            correct_k = correct[:k].reshape(-1).float().sum(0, keepdim=True)
            res.append(correct_k.mul_(100.0 / batch_size))
        return res


def section_imagenet_lite():
    images = torch.randn(32, 3, 12, 12)
    target = torch.randint(0, 10, (32,))
    loader = DataLoader(TensorDataset(images, target), batch_size=8)
    with printed("e21_imagenet.log"):
        model = TinyResNet()
        criterion = nn.CrossEntropyLoss()
        optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
        scheduler = StepLR(optimizer, step_size=1, gamma=0.1)
        for epoch in range(2):
            losses = AverageMeter('Loss', ':.4e')
            top1 = AverageMeter('Acc@1', ':6.2f')
            top5 = AverageMeter('Acc@5', ':6.2f')
            model.train()
            for i, (imgs, tgt) in enumerate(loader):
                output = model(imgs)
                loss = criterion(output, tgt)
                acc1, acc5 = accuracy(output, tgt, topk=(1, 5))
                losses.update(loss.item(), imgs.size(0))
                top1.update(acc1[0], imgs.size(0))
                top5.update(acc5[0], imgs.size(0))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            print(losses, top1, top5, sep='\t')
            print(' * Acc@1 {top1.avg:.3f} Acc@5 {top5.avg:.3f}'.format(top1=top1, top5=top5))
            scheduler.step()
        best_acc1 = max(top1.avg, 0)
        state = {'epoch': 2, 'arch': 'tinyresnet', 'state_dict': model.state_dict(),
                 'best_acc1': best_acc1, 'optimizer': optimizer.state_dict(),
                 'scheduler': scheduler.state_dict()}
        buffer = io.BytesIO()
        torch.save(state, buffer)
        buffer.seek(0)
        checkpoint = torch.load(buffer, weights_only=False)
        print(checkpoint['epoch'], checkpoint['best_acc1'], type(checkpoint['best_acc1']).__name__,
              checkpoint['scheduler'], sorted(checkpoint['optimizer']['param_groups'][0]))
    put("e21_imagenet.fc", model.fc.weight)


POLY_DEGREE = 4


def make_features(x):
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def poly_desc(W, b):
    result = 'y = '
    for i, w in enumerate(W):
        result += '{:+.2f} x^{} '.format(w, i + 1)
    result += '{:+.2f}'.format(b[0])
    return result


def section_regression():
    W_target = torch.randn(POLY_DEGREE, 1) * 5
    b_target = torch.randn(1) * 5

    def f(x):
        return x.mm(W_target) + b_target.item()

    def get_batch(batch_size=32):
        random = torch.randn(batch_size)
        x = make_features(random)
        y = f(x)
        return x, y

    with printed("e21_regression.log"):
        fc = torch.nn.Linear(W_target.size(0), 1)
        from itertools import count
        for batch_idx in count(1):
            batch_x, batch_y = get_batch()
            fc.zero_grad()
            output = F.smooth_l1_loss(fc(batch_x), batch_y)
            loss = output.item()
            output.backward()
            for param in fc.parameters():
                param.data.add_(-0.1 * param.grad)
            if loss < 1e-3 or batch_idx >= 60:
                break
        print('Loss: {:.6f} after {} batches'.format(loss, batch_idx))
        print('==> Learned function:\t' + poly_desc(fc.weight.view(-1), fc.bias))
        print('==> Actual function:\t' + poly_desc(W_target.view(-1), b_target))
    put("e21_regression.w", fc.weight)


class PatchEmbedding(nn.Module):
    def __init__(self, img_size=8, patch_size=4, in_channels=3, embed_dim=16):
        super().__init__()
        self.num_patches = (img_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_channels, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        x = self.proj(x)
        x = x.flatten(2)
        x = x.transpose(1, 2)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, num_classes=4, embed_dim=16, depth=2, num_heads=2):
        super().__init__()
        self.patch_embed = PatchEmbedding(embed_dim=embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.patch_embed.num_patches, embed_dim))
        self.pos_drop = nn.Dropout(p=0.1)
        layer = nn.TransformerEncoderLayer(embed_dim, num_heads, dim_feedforward=32, dropout=0.1,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def forward(self, x):
        B = x.shape[0]
        x = self.patch_embed(x)
        cls_tokens = self.cls_token.expand(B, -1, -1)
        x = torch.cat((cls_tokens, x), dim=1)
        x = x + self.pos_embed
        x = self.pos_drop(x)
        x = self.blocks(x)
        x = self.norm(x)
        return self.head(x[:, 0])


def section_vit():
    images = torch.randn(16, 3, 8, 8)
    labels = (images[:, 0].mean((1, 2)) > 0).long() + 2 * (images[:, 1].mean((1, 2)) > 0).long()
    loader = DataLoader(TensorDataset(images, labels), batch_size=8, shuffle=True)
    with printed("e21_vit.log"):
        model = VisionTransformer()
        print(sum(p.numel() for p in model.parameters() if p.requires_grad))
        optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
        scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
        criterion = nn.CrossEntropyLoss()
        for epoch in range(3):
            model.train()
            running_loss, correct, total = 0.0, 0, 0
            for inputs, targets in loader:
                optimizer.zero_grad()
                outputs = model(inputs)
                loss = criterion(outputs, targets)
                loss.backward()
                optimizer.step()
                running_loss += loss.item()
                _, predicted = outputs.max(1)
                total += targets.size(0)
                correct += predicted.eq(targets).sum().item()
            scheduler.step()
            print(f"Epoch [{epoch + 1}/3], Loss: {running_loss / len(loader):.4f}, Acc: {100. * correct / total:.2f}%, lr {scheduler.get_last_lr()[0]:.6f}")
        model.eval()
        with torch.inference_mode():
            logits = model(images[:4])
        print(logits.is_inference(), logits.argmax(-1), F.softmax(logits, -1).max(-1).values)
    put("e21_vit.logits", logits.clone())


SECTIONS = {
    "e21_mnist": section_mnist, "e21_mnist_rnn": section_mnist_rnn,
    "e21_mnist_ff": section_mnist_ff, "e21_vae": section_vae, "e21_dcgan": section_dcgan,
    "e21_siamese": section_siamese, "e21_superres": section_super_resolution,
    "e21_style": section_fast_neural_style, "e21_imagenet": section_imagenet_lite,
    "e21_regression": section_regression, "e21_vit": section_vit,
}
