"""Old-style programs (PR9, session 25), as 2017-2021 repositories still written and copied
today: the MNIST example with Variable / volatile / size_average / ``output.data.max(1)[1]``;
legacy constructors (FloatTensor(2, 3), LongTensor(list), Tensor(n) filled, x.new(...),
new_* factories, x.type(...) and type strings); "PyTorch with examples" (numpy-style manual
backprop with a dtype variable, then Variable + ``w.data -= lr * w.grad.data``, a static
autograd.Function, the legacy non-static one refused); the losses' size_average / reduce
arguments and their deprecation warnings; old initialisation (xavier_uniform without the
underscore, ``m.weight.data.normal_(0, 0.02)`` through model.apply); old tensor idioms (uint8
masks, torch.range, add_(scalar, tensor), index_select / masked_select, resize_, gather,
nonzero). Each section prints what such a script prints; its whole stdout is compared as
text. Tiny sizes; run by prog_s25_PR9_all.py.
"""
# ruff: noqa: UP008, UP031, UP032 - the old-style code (super(Cls, self), %-formats, .format)
# is what these programs test

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s25_PR9_harness import printed, put, put_state
from torch.autograd import Variable


def _error(fn) -> str:
    """The exception a call raises, as ``Type: first line`` (old code that no longer runs)."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - recorded and compared
        return type(exc).__name__
    return "no error"


def section_mnist_2017() -> None:
    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()
            self.conv1 = nn.Conv2d(1, 4, kernel_size=3)
            self.conv2 = nn.Conv2d(4, 6, kernel_size=3)
            self.conv2_drop = nn.Dropout2d()
            self.fc1 = nn.Linear(6, 16)
            self.fc2 = nn.Linear(16, 3)

        def forward(self, x):
            x = F.relu(F.max_pool2d(self.conv1(x), 2))
            x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
            x = x.view(-1, 6)
            x = F.relu(self.fc1(x))
            x = F.dropout(x, training=self.training)
            return F.log_softmax(x, dim=1)

    torch.manual_seed(1)
    data_all = torch.randn(24, 1, 12, 12)
    target_all = torch.LongTensor([i % 3 for i in range(24)])
    data_all[target_all == 1, :, :6] += 1.0
    data_all[target_all == 2, :, 6:] -= 1.0
    model = Net()
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
    with printed("mnist.log"):
        for epoch in range(1, 3):
            model.train()
            for batch_idx in range(3):
                data = Variable(data_all[batch_idx * 8:(batch_idx + 1) * 8])
                target = Variable(target_all[batch_idx * 8:(batch_idx + 1) * 8])
                optimizer.zero_grad()
                output = model(data)
                loss = F.nll_loss(output, target)
                loss.backward()
                optimizer.step()
                if batch_idx % 1 == 0:
                    print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.4f}".format(
                        epoch, batch_idx * len(data), len(data_all),
                        100. * batch_idx / 3, loss.data.item()))
            model.eval()
            test_loss = 0
            correct = 0
            for i in range(0, 24, 12):
                data = Variable(data_all[i:i + 12], volatile=True)
                target = Variable(target_all[i:i + 12])
                output = model(data)
                test_loss += F.nll_loss(output, target, size_average=False).data.item()
                pred = output.data.max(1, keepdim=True)[1]
                correct += pred.eq(target.data.view_as(pred)).cpu().sum()
            test_loss /= len(data_all)
            print("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(
                test_loss, correct, len(data_all), 100. * correct / len(data_all)))
            put(f"mnist.correct{epoch}", correct)
        # loss.data[0], the 0.3-era way to read a loss, fails since 0.5
        print(_error(lambda: loss.data[0]))
        try:
            loss.data[0]
        except IndexError as exc:  # (the message people search for when porting such code)
            print(exc)
        print(type(correct), correct.dtype, type(test_loss))
    put_state("mnist.model", model)


def section_legacy_ctors() -> None:
    torch.manual_seed(3)
    with printed("ctors.log"):
        a = torch.FloatTensor(2, 3).zero_()
        b = torch.LongTensor([1, 2, 3])
        c = torch.Tensor(4).uniform_(-1, 1)
        d = torch.DoubleTensor([[1, 2], [3, 4]])
        e = torch.ByteTensor([0, 1, 1])
        f = torch.IntTensor(3).fill_(7)
        print(a, b, c, d, e, f, sep="\n")
        for t in (a, b, c, d, e, f, torch.BoolTensor([True]), torch.HalfTensor([1.5]),
                  torch.ShortTensor([1]), torch.CharTensor([-1])):
            print(t.type(), t.dtype, t.size(), isinstance(t, torch.Tensor))
        print(isinstance(a, torch.FloatTensor), isinstance(b, torch.LongTensor),
              isinstance(b, torch.FloatTensor), isinstance(Variable(a), torch.FloatTensor))
        x = torch.randn(2, 3)
        print(x.new(2, 2).fill_(1), x.new([1, 2]), x.new().size(), x.new(torch.Size([3])).shape)
        print(x.new_zeros(2), x.new_ones((1, 2)), x.new_full((2,), 3.5), x.new_tensor([1, 2]),
              x.new_empty(0).shape, b.new_zeros(2), b.new_tensor([1.5]).dtype)
        print(x.type(torch.DoubleTensor).dtype, x.type("torch.LongTensor"),
              b.type(torch.FloatTensor))
        print(x.type(torch.float64).type(), x.long().type(), x.type(x.type()).type())
        print(torch.FloatTensor([1, 2]).type_as(b), b.float().div(2))
        print(torch.Tensor([[1, 2], [3, 4]]), torch.Tensor(), torch.Tensor(2, 0).shape)
        print(torch.LongTensor(2, 2).zero_().sum(), torch.FloatTensor(torch.Size([2])).zero_())
        print(torch.tensor(b.numpy()), torch.from_numpy(d.numpy()).type())
        print(_error(lambda: torch.FloatTensor([1, 2]).cuda() if torch.cuda.is_available()
                     else torch.FloatTensor("x")))
    put("ctors.c", c)
    put("ctors.x", x)


def section_with_examples() -> None:
    # "Learning PyTorch with examples" (2017): numpy-like tensors, then autograd, then a
    # custom Function
    dtype = torch.FloatTensor
    N, D_in, H, D_out = 16, 10, 8, 3
    torch.manual_seed(5)
    x = torch.randn(N, D_in).type(dtype)
    y = torch.randn(N, D_out).type(dtype)
    w1 = torch.randn(D_in, H).type(dtype)
    w2 = torch.randn(H, D_out).type(dtype)
    learning_rate = 1e-3
    losses = []
    with printed("examples.log"):
        for t in range(6):
            h = x.mm(w1)
            h_relu = h.clamp(min=0)
            y_pred = h_relu.mm(w2)
            loss = (y_pred - y).pow(2).sum()
            print(t, "%.3f" % loss)
            grad_y_pred = 2.0 * (y_pred - y)
            grad_w2 = h_relu.t().mm(grad_y_pred)
            grad_h_relu = grad_y_pred.mm(w2.t())
            grad_h = grad_h_relu.clone()
            grad_h[h < 0] = 0
            grad_w1 = x.t().mm(grad_h)
            w1 -= learning_rate * grad_w1
            w2 -= learning_rate * grad_w2
        put("examples.manual_w", [w1, w2])
        xv = Variable(x, requires_grad=False)
        yv = Variable(y, requires_grad=False)
        w1v = Variable(torch.randn(D_in, H).type(dtype), requires_grad=True)
        w2v = Variable(torch.randn(H, D_out).type(dtype), requires_grad=True)
        for t in range(6):
            y_pred = xv.mm(w1v).clamp(min=0).mm(w2v)
            loss = (y_pred - yv).pow(2).sum()
            print(t, round(loss.item(), 2), loss.data.dim(), loss.requires_grad)
            losses.append(loss.item())
            loss.backward()
            w1v.data -= learning_rate * w1v.grad.data
            w2v.data -= learning_rate * w2v.grad.data
            w1v.grad.data.zero_()
            w2v.grad.data.zero_()

        class MyReLU(torch.autograd.Function):
            @staticmethod
            def forward(ctx, input):
                ctx.save_for_backward(input)
                return input.clamp(min=0)

            @staticmethod
            def backward(ctx, grad_output):
                input, = ctx.saved_tensors
                grad_input = grad_output.clone()
                grad_input[input < 0] = 0
                return grad_input

        relu = MyReLU.apply
        for t in range(4):
            loss = (relu(xv.mm(w1v)).mm(w2v) - yv).pow(2).sum()
            print(t, "{:.2f}".format(loss.item()), loss.grad_fn.__class__.__name__)
            loss.backward()
            with torch.no_grad():
                w1v -= learning_rate * w1v.grad
                w2v -= learning_rate * w2v.grad
                w1v.grad.zero_()
                w2v.grad.zero_()

        class OldReLU(torch.autograd.Function):  # 0.3-era: instance methods, called on an object
            def forward(self, input):
                return input.clamp(min=0)

        print(_error(lambda: OldReLU()(xv)))
    put("examples.losses", losses)
    put("examples.w", [w1v, w2v])


def section_old_losses() -> None:
    torch.manual_seed(7)
    logits = torch.randn(5, 4, requires_grad=True)
    target = torch.LongTensor([0, 3, 1, 1, 2])
    pred = torch.randn(5, 4, requires_grad=True)
    goal = torch.randn(5, 4)
    probs = torch.rand(5, 4) * 0.9 + 0.05
    bits = (torch.rand(5, 4) > 0.5).float()
    rows = []
    with printed("loss.log"):
        for kwargs in ({"size_average": False}, {"size_average": True}, {"reduce": False},
                       {"size_average": False, "reduce": True}, {"reduce": True}):
            crits = [nn.MSELoss(**kwargs), nn.L1Loss(**kwargs), nn.SmoothL1Loss(**kwargs),
                     nn.CrossEntropyLoss(**kwargs), nn.NLLLoss(**kwargs),
                     nn.BCELoss(**kwargs), nn.KLDivLoss(**kwargs)]
            print([c.reduction for c in crits][0], kwargs)
            values = [crits[0](pred, goal), crits[1](pred, goal), crits[2](pred, goal),
                      crits[3](logits, target), crits[4](F.log_softmax(logits, 1), target),
                      crits[5](probs, bits), crits[6](F.log_softmax(logits, 1), probs)]
            rows.append(values)
        print(F.mse_loss(pred, goal, size_average=False).item() > 0)
        print(F.cross_entropy(logits, target, reduce=False).shape)
        print(F.binary_cross_entropy(probs, bits, size_average=False).dtype)
        print(F.kl_div(F.log_softmax(logits, 1), probs).item() > 0)
        loss = nn.CrossEntropyLoss(size_average=False)(logits, target)
        loss.backward()
        print("loss: %.4f" % loss.data.item())
    for i, values in enumerate(rows):
        put(f"loss.row{i}", values)
    put("loss.grad", logits.grad)


def section_old_init() -> None:
    def weights_init(m):  # the DCGAN example's
        classname = m.__class__.__name__
        if classname.find("Conv") != -1:
            m.weight.data.normal_(0.0, 0.02)
        elif classname.find("BatchNorm") != -1:
            m.weight.data.normal_(1.0, 0.02)
            m.bias.data.fill_(0)

    torch.manual_seed(11)
    net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(True),
                        nn.ConvTranspose2d(4, 2, 3), nn.Linear(6, 5), nn.Linear(5, 2))
    with printed("init.log"):
        net.apply(weights_init)
        nn.init.xavier_uniform(net[4].weight)
        nn.init.constant(net[4].bias, 0.1)
        nn.init.xavier_normal(net[5].weight, gain=nn.init.calculate_gain("relu"))
        nn.init.normal(net[5].bias)
        nn.init.kaiming_normal(net[3].bias.data.view(1, 2), mode="fan_out")
        nn.init.uniform(net[1].running_mean, -1, 1)
        w = torch.empty(3, 5)
        nn.init.orthogonal_(w)
        print((w @ w.t() - torch.eye(3)).abs().max() < 1e-5)
        for name, p in net.named_parameters():
            print(name, tuple(p.shape), "%.4f" % p.data.std().item() if p.numel() > 1 else "")
        print(sum(p.numel() for p in net.parameters() if p.requires_grad))
    put_state("init.net", net)
    put("init.w", w)


def section_old_tensor_ops() -> None:
    torch.manual_seed(13)
    x = torch.randn(4, 5)
    with printed("ops.log"):
        mask = torch.ByteTensor([1, 0, 1, 0, 0])
        print(x.masked_fill(mask.bool(), 0.0).sum().item() != x.sum().item())
        y = x.clone()
        y[x > 0] = 0
        print(y.masked_select(y < -0.5).shape, x.index_select(1, torch.LongTensor([0, 4])).shape)
        print(torch.range(0, 4), torch.range(1, 2, 0.5).dtype)
        z = torch.zeros(3)
        z.add_(2, torch.ones(3))
        print(z)
        z.resize_(2, 2)
        print(z.shape, x.clone().resize_(20).shape, x.view(x.size(0), -1).shape)
        print(torch.nonzero(torch.tensor([0, 1, 0, 2])), torch.nonzero(torch.eye(2)).t())
        print(x.gather(1, torch.LongTensor([[0], [1], [2], [3]])).squeeze().shape)
        print(torch.max(x, 1)[1], x.max(0)[0].shape, torch.topk(x, 2)[1][0])
        print(torch.norm(x, 2, 1).shape, x.norm(p=2, dim=1, keepdim=True).shape)
        v = x.clone()
        v.t_()
        v.unsqueeze_(0)
        v.squeeze_()
        print(v.shape, x.byte().dtype, x.char().dtype, x.short().dtype, x.int().dtype,
              x.half().dtype, x.double().dtype)
        print(x.expand_as(torch.zeros(2, 4, 5)).shape, x.sum(0).shape, x.sum(0, True).shape)
        s, i = torch.sort(x[0], descending=True)
        print(i, torch.chunk(x, 2, 1)[1].shape, torch.cat((x, x), 1).shape)
        print(x[:, 0].contiguous().view(-1).is_contiguous(), x.t().is_contiguous())
        u = torch.zeros(2, 3).index_fill_(1, torch.LongTensor([0, 2]), -1)
        print(u, u.eq(-1).sum(), u.ne(0).long().sum(1))
        sc = torch.zeros(3, 4).scatter_(1, torch.LongTensor([[0], [3], [1]]), 1)
        print(sc)
        print(torch.mm(x, x.t()).diag().shape, torch.bmm(x[None], x.t()[None]).shape,
              torch.baddbmm(torch.zeros(1, 4, 4), x[None], x.t()[None]).shape)
        b = torch.ByteTensor([3, 250])
        print(b + b, (b.float() / 255).mul(100).round())
    put("ops.x", x)
    put("ops.sc", sc)
    put("ops.s", s)


def section_deprecated_calls() -> None:
    import numpy as np

    torch.manual_seed(17)
    x = torch.randn(3, 4)
    mask = torch.ByteTensor([1, 0, 1])
    with printed("deprec.log"):
        print(x[mask].shape, x[mask.bool()].shape, x[:, torch.ByteTensor([0, 1, 1, 0])].shape)
        frame = np.broadcast_to(np.arange(4, dtype=np.float32), (3, 4))  # read-only
        t = torch.from_numpy(frame)
        print(t.sum(), torch.from_numpy(frame.copy()).add_(1).sum())
        print(torch.chain_matmul(x, x.t(), x).shape, torch.chain_matmul(x.t(), x).trace() > 0)
        for _ in range(2):
            torch.set_default_tensor_type(torch.DoubleTensor)
            print(torch.Tensor(2).dtype, torch.randn(1).dtype)
            torch.set_default_tensor_type("torch.FloatTensor")
        try:
            x.type(torch.cuda.FloatTensor)
        except RuntimeError:  # (CPU-only PyTorch cannot make CUDA tensors)
            print("no CUDA for x.type(torch.cuda.FloatTensor)")
        dtype = torch.cuda.FloatTensor if torch.cuda.is_available() else torch.FloatTensor
        print(x.type(dtype).type(), torch.zeros(2).type(dtype).dtype)
        print(F.softmax(x).sum(1), F.log_softmax(x[0]).exp().sum())
        print(F.upsample(x.view(1, 1, 3, 4), scale_factor=2).shape,
              F.upsample_bilinear(x.view(1, 1, 3, 4), scale_factor=2).sum().item() != 0)
        print(nn.Softmax()(x).shape, F.sigmoid(x).mean() > 0, F.tanh(x).abs().max() < 1)
    put("deprec.x", x)


SECTIONS = {
    "mnist_2017": section_mnist_2017, "deprecated_calls": section_deprecated_calls,
    "legacy_ctors": section_legacy_ctors,
    "with_examples": section_with_examples, "old_losses": section_old_losses,
    "old_init": section_old_init, "old_tensor_ops": section_old_tensor_ops,
}

if __name__ == "__main__":
    from prog_s25_PR9_harness import run

    run(SECTIONS)
