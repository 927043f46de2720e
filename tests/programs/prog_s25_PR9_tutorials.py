"""Old tutorials and pytorch/examples programs (PR9, session 25), in the style they were first
published and are still copied: the 2017 "Training a classifier" (running loss printed every
few batches, per-class accuracy with ``c = (predicted == labels).squeeze()``), the polynomial
regression example (make_features, poly_desc with ``{:+.2f}`` weights, a loop until the loss is
small), forward / backward hooks printing sizes (the 2017 hooks tutorial), the numpy extension
tutorial (an autograd.Function computed in NumPy with rfft2 / irfft2), time-sequence prediction
(LSTMCell in double precision fitted by L-BFGS with a closure, future steps), super-resolution
(PixelShuffle, orthogonal init with a gain, PSNR), neural style transfer (Gram matrices,
L-BFGS over the image's pixels with ``input.data.clamp_(0, 1)``, the run counter in a list),
gradcheck of a double-precision Function; and printing of graphs and state (grad_fns after
in-place ops and views, state_dict / parameter lists, torch.Size arithmetic, a hand-written
summary table). Tiny sizes, fixed seeds; run by prog_s25_PR9_all.py.
"""
# ruff: noqa: B007, UP008, UP031, UP032 - the old-style code (super(Cls, self), %-formats, .format)
# is what these programs test

import math
import re

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.init as init
import torch.optim as optim
from prog_s25_PR9_harness import printed, put, put_state
from torch.autograd import Function, Variable


def section_cifar_tutorial() -> None:
    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(3, 4, 3)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(4, 6, 2)
            self.fc1 = nn.Linear(6 * 1 * 1, 12)
            self.fc2 = nn.Linear(12, 4)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.view(-1, 6 * 1 * 1)
            return self.fc2(F.relu(self.fc1(x)))

    classes = ("plane", "car", "bird", "cat")
    torch.manual_seed(41)
    images_all = torch.rand(32, 3, 8, 8)
    labels_all = torch.LongTensor([i % 4 for i in range(32)])
    images_all[:, 0] += labels_all.float().view(-1, 1, 1) * 0.3
    net = Net()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    with printed("cifar.log"):
        for epoch in range(2):
            running_loss = 0.0
            for i in range(8):
                inputs, labels = images_all[i * 4:(i + 1) * 4], labels_all[i * 4:(i + 1) * 4]
                inputs, labels = Variable(inputs), Variable(labels)
                optimizer.zero_grad()
                outputs = net(inputs)
                loss = criterion(outputs, labels)
                loss.backward()
                optimizer.step()
                running_loss += loss.item()
                if i % 4 == 3:
                    print("[%d, %5d] loss: %.3f" % (epoch + 1, i + 1, running_loss / 4))
                    running_loss = 0.0
        print("Finished Training")
        print("GroundTruth: ", " ".join("%5s" % classes[labels_all[j]] for j in range(4)))
        outputs = net(Variable(images_all[:4]))
        _, predicted = torch.max(outputs.data, 1)
        print("Predicted: ", " ".join("%5s" % classes[predicted[j]] for j in range(4)))
        correct = total = 0
        class_correct = list(0. for i in range(4))
        class_total = list(0. for i in range(4))
        for k in range(0, 32, 8):
            images, labels = images_all[k:k + 8], labels_all[k:k + 8]
            outputs = net(Variable(images))
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum()
            c = (predicted == labels).squeeze()
            for i in range(8):
                label = labels[i]
                class_correct[label] += c[i].item()
                class_total[label] += 1
        print("Accuracy of the network on the 32 test images: %d %%" % (100 * correct / total))
        for i in range(4):
            print("Accuracy of %5s : %2d %%" % (classes[i],
                                                100 * class_correct[i] / class_total[i]))
    put("cifar.correct", correct)
    put_state("cifar.net", net)


def section_poly_regression() -> None:
    POLY_DEGREE = 3
    torch.manual_seed(42)
    W_target = torch.randn(POLY_DEGREE, 1) * 5
    b_target = torch.randn(1) * 5

    def make_features(x):
        x = x.unsqueeze(1)
        return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)

    def f(x):
        return x.mm(W_target) + b_target.item()

    def poly_desc(W, b):
        result = "y = "
        for i, w in enumerate(W):
            result += "{:+.2f} x^{} ".format(w, len(W) - i)
        result += "{:+.2f}".format(b[0])
        return result

    def get_batch(batch_size=16):
        random = torch.randn(batch_size)
        x = make_features(random)
        return Variable(x), Variable(f(x))

    fc = torch.nn.Linear(W_target.size(0), 1)
    losses = []
    with printed("poly.log"):
        for batch_idx in range(1, 61):
            batch_x, batch_y = get_batch()
            fc.zero_grad()
            output = F.smooth_l1_loss(fc(batch_x), batch_y)
            loss = output.item()
            losses.append(loss)
            output.backward()
            for param in fc.parameters():
                param.data.add_(-0.05 * param.grad.data)
            if loss < 1e-3:
                break
        print("Loss: {:.6f} after {} batches".format(loss, batch_idx))
        print("==> Learned function:\t" + poly_desc(fc.weight.data.view(-1), fc.bias.data))
        print("==> Actual function:\t" + poly_desc(W_target.view(-1), b_target))
    put("poly.losses", losses)
    put_state("poly.fc", fc)


def section_hooks_tutorial() -> None:
    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 3, 3)
            self.conv2 = nn.Conv2d(3, 4, 3)
            self.fc1 = nn.Linear(16, 5)

        def forward(self, x):
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(self.conv2(x))
            return self.fc1(x.view(-1, 16))

    def printnorm(self, input, output):
        print("Inside " + self.__class__.__name__ + " forward")
        print("")
        print("input: ", type(input))
        print("input[0]: ", type(input[0]))
        print("output: ", type(output.data))
        print("")
        print("input size:", input[0].size())
        print("output size:", output.data.size())
        print("output norm: %.4f" % output.data.norm())

    def printgradnorm(self, grad_input, grad_output):
        print("Inside " + self.__class__.__name__ + " backward")
        print("grad_input: ", type(grad_input), len(grad_input))
        print("grad_output[0] size:", grad_output[0].size())
        print("grad_input[0] norm: %.4f" % grad_input[0].norm())

    torch.manual_seed(43)
    net = Net()
    with printed("hooks.log"):
        handle = net.conv2.register_forward_hook(printnorm)
        handle2 = net.conv2.register_full_backward_hook(printgradnorm)
        pre = net.fc1.register_forward_pre_hook(lambda m, inp: print("pre", inp[0].shape))
        input = Variable(torch.randn(2, 1, 10, 10), requires_grad=True)
        out = net(input)
        err = torch.nn.MSELoss()(out, Variable(torch.zeros(2, 5)))
        err.backward()
        handle.remove()
        handle2.remove()
        pre.remove()
        net(input)
        print("after removal", len(net.conv2._forward_hooks), input.grad.shape)
        activation = {}

        def get_activation(name):
            def hook(model, input, output):
                activation[name] = output.detach()
            return hook

        net.conv1.register_forward_hook(get_activation("conv1"))
        net(input)
        print(activation["conv1"].shape, "%.4f" % activation["conv1"].mean())
    put("hooks.grad", input.grad)
    put("hooks.act", activation["conv1"])


def section_numpy_extension() -> None:
    class BadFFTFunction(Function):
        @staticmethod
        def forward(ctx, input):
            numpy_input = input.detach().numpy()
            result = abs(np.fft.rfft2(numpy_input))
            return input.new(result)

        @staticmethod
        def backward(ctx, grad_output):
            numpy_go = grad_output.numpy()
            result = np.fft.irfft2(numpy_go)
            return grad_output.new(result)

    def incorrect_fft(input):
        return BadFFTFunction.apply(input)

    torch.manual_seed(44)
    with printed("npext.log"):
        input = torch.randn(8, 8, requires_grad=True)
        result = incorrect_fft(input)
        print(result.shape, result.dtype, result.requires_grad, result.grad_fn.name())
        result.backward(torch.randn(result.size()))
        print(input.grad.shape, "%.4f" % input.grad.abs().sum())

        class ScipyConv2dLike(Function):  # valid correlation in NumPy, as the tutorial's
            @staticmethod
            def forward(ctx, input, filter):
                i, k = input.detach().numpy(), filter.detach().numpy()
                out = np.zeros((i.shape[0] - k.shape[0] + 1, i.shape[1] - k.shape[1] + 1),
                               dtype=i.dtype)
                for a in range(k.shape[0]):
                    for b in range(k.shape[1]):
                        out += k[a, b] * i[a:a + out.shape[0], b:b + out.shape[1]]
                ctx.save_for_backward(input, filter)
                return torch.as_tensor(out)

            @staticmethod
            def backward(ctx, grad_output):
                input, filter = ctx.saved_tensors
                g = grad_output.numpy()
                gi = np.zeros(input.shape, dtype=g.dtype)
                gk = np.zeros(filter.shape, dtype=g.dtype)
                for a in range(filter.shape[0]):
                    for b in range(filter.shape[1]):
                        gi[a:a + g.shape[0], b:b + g.shape[1]] += filter.numpy()[a, b] * g
                        gk[a, b] = (input.numpy()[a:a + g.shape[0], b:b + g.shape[1]] * g).sum()
                return torch.from_numpy(gi), torch.from_numpy(gk)

        x = torch.randn(6, 6, dtype=torch.float64, requires_grad=True)
        k = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
        out = ScipyConv2dLike.apply(x, k)
        out.sum().backward()
        print(out.shape, torch.autograd.gradcheck(ScipyConv2dLike.apply, (x, k), eps=1e-6,
                                                  atol=1e-4))
        print("Filter and bias: ", list(p.shape for p in (k,)), k.grad.shape)
        conv = F.conv2d(x[None, None], k[None, None])[0, 0]
        print((conv - out).abs().max().item() < 1e-12)
    put("npext.fft", result)
    put("npext.grads", [input.grad, x.grad, k.grad])


def section_time_sequence() -> None:
    class Sequence(nn.Module):
        def __init__(self):
            super(Sequence, self).__init__()
            self.lstm1 = nn.LSTMCell(1, 8)
            self.lstm2 = nn.LSTMCell(8, 8)
            self.linear = nn.Linear(8, 1)

        def forward(self, input, future=0):
            outputs = []
            h_t = torch.zeros(input.size(0), 8, dtype=torch.double)
            c_t = torch.zeros(input.size(0), 8, dtype=torch.double)
            h_t2 = torch.zeros(input.size(0), 8, dtype=torch.double)
            c_t2 = torch.zeros(input.size(0), 8, dtype=torch.double)
            for input_t in input.split(1, dim=1):
                h_t, c_t = self.lstm1(input_t, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            for _i in range(future):
                h_t, c_t = self.lstm1(output, (h_t, c_t))
                h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
                output = self.linear(h_t2)
                outputs += [output]
            return torch.cat(outputs, dim=1)

    np.random.seed(2)
    T, L, N = 20, 30, 6
    x = np.empty((N, L), "int64")
    x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
    data = np.sin(x / 1.0 / T).astype("float64")
    torch.manual_seed(0)
    input = torch.from_numpy(data[2:, :-1])
    target = torch.from_numpy(data[2:, 1:])
    test_input = torch.from_numpy(data[:2, :-1])
    seq = Sequence()
    seq.double()
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    losses = []
    with printed("timeseq.log"):
        for i in range(2):
            print("STEP: ", i)

            def closure():
                optimizer.zero_grad()
                out = seq(input)
                loss = criterion(out, target)
                print("loss:", "%.10f" % loss.item())
                losses.append(loss.item())
                loss.backward()
                return loss

            optimizer.step(closure)
            with torch.no_grad():
                future = 5
                pred = seq(test_input, future=future)
                loss = criterion(pred[:, :-future], torch.from_numpy(data[:2, 1:]))
                print("test loss:", "%.10f" % loss.item())
                y = pred.detach().numpy()
        print(y.shape, y.dtype)
    put("timeseq.losses", losses)
    put("timeseq.pred", y)


def section_super_resolution() -> None:
    class Net(nn.Module):
        def __init__(self, upscale_factor):
            super(Net, self).__init__()
            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, 8, 5, 1, 2)
            self.conv2 = nn.Conv2d(8, 8, 3, 1, 1)
            self.conv3 = nn.Conv2d(8, upscale_factor ** 2, 3, 1, 1)
            self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
            init.orthogonal_(self.conv1.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv2.weight, init.calculate_gain("relu"))
            init.orthogonal_(self.conv3.weight)

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            return self.pixel_shuffle(self.conv3(x))

    torch.manual_seed(45)
    target_all = torch.rand(8, 1, 8, 8)
    input_all = F.avg_pool2d(target_all, 2)
    model = Net(upscale_factor=2)
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    psnrs = []
    with printed("sr.log"):
        for epoch in range(1, 4):
            epoch_loss = 0
            for iteration in range(2):
                input, target = input_all[iteration * 4:], target_all[iteration * 4:]
                optimizer.zero_grad()
                loss = criterion(model(input), target)
                epoch_loss += loss.item()
                loss.backward()
                optimizer.step()
                print("===> Epoch[{}]({}/{}): Loss: {:.4f}".format(epoch, iteration, 2,
                                                                   loss.item()))
            print("===> Epoch {} Complete: Avg. Loss: {:.4f}".format(epoch, epoch_loss / 2))
            with torch.no_grad():
                mse = criterion(model(input_all), target_all)
                psnr = 10 * math.log10(1 / mse.item())
            psnrs.append(psnr)
            print("===> Avg. PSNR: {:.4f} dB".format(psnr))
    put("sr.psnr", psnrs)
    put_state("sr.model", model)


def section_style_transfer() -> None:
    def gram_matrix(input):
        a, b, c, d = input.size()
        features = input.view(a * b, c * d)
        G = torch.mm(features, features.t())
        return G.div(a * b * c * d)

    class ContentLoss(nn.Module):
        def __init__(self, target):
            super(ContentLoss, self).__init__()
            self.target = target.detach()

        def forward(self, input):
            self.loss = F.mse_loss(input, self.target)
            return input

    class StyleLoss(nn.Module):
        def __init__(self, target_feature):
            super(StyleLoss, self).__init__()
            self.target = gram_matrix(target_feature).detach()

        def forward(self, input):
            self.loss = F.mse_loss(gram_matrix(input), self.target)
            return input

    torch.manual_seed(46)
    cnn = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=False),
                        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(inplace=False))
    for p in cnn.parameters():
        p.requires_grad_(False)
    style_img, content_img = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    model = nn.Sequential()
    content_losses, style_losses = [], []
    for i, layer in enumerate(cnn):
        name = ("conv_%d" if isinstance(layer, nn.Conv2d) else "relu_%d") % (i // 2 + 1)
        model.add_module(name, layer)
        if name == "conv_2":
            cl = ContentLoss(model(content_img).detach())
            model.add_module("content_loss_%d" % (i // 2 + 1), cl)
            content_losses.append(cl)
        if name.startswith("conv"):
            sl = StyleLoss(model(style_img).detach())
            model.add_module("style_loss_%d" % (i // 2 + 1), sl)
            style_losses.append(sl)
    input_img = content_img.clone()
    optimizer = optim.LBFGS([input_img.requires_grad_()])
    rows = []
    with printed("style.log"):
        print(model)
        run = [0]
        while run[0] <= 12:
            def closure():
                input_img.data.clamp_(0, 1)
                optimizer.zero_grad()
                model(input_img)
                style_score = sum(sl.loss for sl in style_losses) * 1e4
                content_score = sum(cl.loss for cl in content_losses)
                loss = style_score + content_score
                loss.backward()
                run[0] += 1
                rows.append([style_score.item(), content_score.item()])
                if run[0] % 5 == 0:
                    print("run {}:".format(run))
                    print("Style Loss : {:4f} Content Loss: {:4f}".format(
                        style_score.item(), content_score.item()))
                return style_score + content_score

            optimizer.step(closure)
        input_img.data.clamp_(0, 1)
    put("style.rows", rows)
    put("style.img", input_img)


def section_print_graph() -> None:
    torch.manual_seed(47)
    with printed("pgraph.log"):
        x = torch.randn(3, 4, requires_grad=True)
        y = x * 1
        names = [y.grad_fn.name()]
        y[0] = 5
        names.append(y.grad_fn.name())
        y.add_(1)
        names.append(y.grad_fn.name())
        y.relu_()
        names.append(y.grad_fn.name())
        for t in (x[0], x[:, 1], x[1:], x.t(), x.permute(1, 0), x.expand(2, 3, 4), x[[0, 2]],
                  x[x > 0], x.view(12), x.reshape(4, 3), x.flatten(), x.unsqueeze(1),
                  x.squeeze(), x.narrow(1, 0, 2), x.split(2, 1)[1], x.chunk(2)[0],
                  x.unbind()[1], x.diagonal(), x.T, x.mT, x.as_strided((2,), (1,)),
                  x.index_select(0, torch.tensor([1])), x.masked_fill(x > 0, 0),
                  x.clamp(min=0), torch.where(x > 0, x, 0.0), x.to(torch.float64),
                  x.type(torch.float64), x.detach().requires_grad_(), x + 0, x.sum(1),
                  x.norm(dim=1), x.softmax(-1), x.max(1)[0], x.sort(1)[0], x.cumsum(0),
                  x.repeat(2, 1), x.roll(1), x.flip(0), x.tril(), x.abs(), x.exp().log(),
                  x @ x.t()):  # (not einsum: PyTorch's is a composite named after its last op)
            names.append(t.grad_fn.name() if t.grad_fn is not None else "leaf")
        print(names)
        model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 1, bias=False))
        print(model.state_dict())
        print(list(model.parameters()))
        print(list(model.named_buffers())[-1], dict(model.named_children()).keys())
        s = torch.Size([2, 3, 4])
        print(s[1:], s + (5,), s[-1], len(s), s.numel(), s == (2, 3, 4), list(s),
              torch.Size((1,)) + torch.Size([2]), type(s[1:]).__name__, s.index(3), s.count(2))
        print(x.stride(), x.t().stride(), x[:, 1:].storage_offset(), x.is_contiguous(),
              x.t().is_contiguous(), x.data_ptr() == x.view(12).data_ptr())
        print("{:<30} {:>15} {:>10}".format("Layer (type)", "Output Shape", "Param #"))
        print("=" * 57)
        h = torch.randn(4, 2)
        total = 0
        for name, layer in model.named_children():
            h = layer(h)
            n = sum(p.numel() for p in layer.parameters())
            total += n
            print("{:<30} {:>15} {:>10,}".format("%s (%s)" % (name, type(layer).__name__),
                                                str(list(h.shape)), n))
        print("Total params: {:,}  Trainable: {:,}".format(
            total, sum(p.numel() for p in model.parameters() if p.requires_grad)))
        print(torch.nn.functional.one_hot(torch.tensor([0, 2, 1]), 3))
        m = torch.tensor([[2.0, 1.0], [0.5, -3.0]])
        print(torch.slogdet(m), m.slogdet().sign, torch.linalg.slogdet(m), torch.svd(m).S)
        print(torch.std_mean(m, 1), torch.aminmax(m), m.median(1), torch.histc(m, 3))
        print(m.storage(), m.storage().size(), m[1].storage_offset(), m.stride())
        print(torch.channels_last, torch.contiguous_format, torch.strided, torch.float64,
              torch.ones(1, 2, 3, 3).contiguous(memory_format=torch.channels_last).stride())
        print(torch.equal(x, x.clone()), torch.allclose(x, x + 1e-9), (x == x).all(),
              x.eq(x).all().item(), torch.isclose(x, x + 1).any())
        print(Variable(torch.ones(2)), Variable(torch.ones(2), requires_grad=True))
        print(nn.Parameter(torch.ones(2, 2), requires_grad=False))
        print(re.sub("0x[0-9a-f]+", "ADDR", repr(x.grad_fn)), x.grad_fn, x.is_leaf)
        d = torch.distributions.Normal(torch.tensor([0.0]), torch.tensor([1.0]))
        print(d, torch.distributions.Categorical(probs=torch.tensor([0.25, 0.75])))
        print(torch.distributions.Bernoulli(logits=torch.tensor([0.0, 1.0])),
              torch.distributions.Uniform(0.0, 2.0))
        packed = nn.utils.rnn.pack_sequence([torch.ones(3, 1), torch.ones(2, 1)])
        print(packed)
    # PyTorch 2.13 warns at the first sparse tensor that its invariant checks are off ("Memory
    # errors (e.g. SEGFAULT) will occur ..."): a C++ memory-safety notice deltagrad does not
    # give. The printing is compared, the warning is not.
    with printed("pgraph.sparse", warnings_too=False):
        print(torch.sparse_coo_tensor([[0, 1], [1, 0]], [3.0, 4.0], (2, 2)))
        print(torch.tensor([[1.0, 2.0]]).to_sparse())
    put("pgraph.names", names)


SECTIONS = {
    "cifar_tutorial": section_cifar_tutorial, "poly_regression": section_poly_regression,
    "hooks_tutorial": section_hooks_tutorial, "numpy_extension": section_numpy_extension,
    "time_sequence": section_time_sequence, "super_resolution": section_super_resolution,
    "style_transfer": section_style_transfer, "print_graph": section_print_graph,
}

if __name__ == "__main__":
    from prog_s25_PR9_harness import run

    run(SECTIONS)
