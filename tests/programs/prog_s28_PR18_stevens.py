"""Programs of the kind a hands-on deep-learning textbook writes (PR18, session 28; rewritten in
our own code in session 30, DD2): tensor internals (storage, offsets, strides, transposes that
share memory, contiguous copies, channel-weighted means by broadcasting and einsum, dtype
promotion, save / load through paths and file objects); a sensor calibration fitted by hand-
written gradients, by autograd, by optim with a held-out split, by nn.Linear and by an
OrderedDict Sequential; a tabular chapter (standardisation, one-hot scatter_, boolean masks,
thresholds, correlations, lstsq); small image classifiers compared (L2 by hand, width,
Dropout2d, BatchNorm2d, a residual stack that repeats one block, custom init); a 3-D
classifier (Conv3d blocks, BatchNorm3d, fan-out init) and a 2-D mask head with a soft Dice
loss; augmentation by affine_grid / grid_sample in 3-D and 2-D; loading raw data (np.loadtxt
with a converter, daily views, scatter_ one-hots in 2-D and 3-D, text one-hots, uint8 images
normalised in place). Tiny sizes, seeded; run by prog_s28_PR18_all.py.
"""

import io
import math
import random
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s25_PR9_harness import printed, put

# ---------------------------------------------------------------------------------------------
# st_tensors: storage, strides, views


def section_storage() -> None:
    with printed("st_tensors.log"):
        grid = torch.tensor([[2.0, 7.0], [1.0, 8.0], [6.0, 3.0]])
        print("bytes", grid.untyped_storage().nbytes(), "values", list(grid.storage()))
        row = grid[2]
        print("row 2:", row.storage_offset(), row.size(), row.shape, grid.stride(), row.stride())
        copy = grid[2].clone()
        copy[1] = -1.0
        print("after editing a clone", grid)
        flipped = grid.t()
        print(flipped, id(grid.untyped_storage()) == id(flipped.untyped_storage()),
              grid.untyped_storage().data_ptr() == flipped.untyped_storage().data_ptr())
        print("strides", flipped.stride(), grid.is_contiguous(), flipped.is_contiguous())
        cube = torch.ones(2, 3, 4)
        swapped = cube.transpose(0, 2)
        print(cube.shape, swapped.shape, cube.stride(), swapped.stride())
        packed = flipped.contiguous()
        print(packed, packed.stride(), packed.storage().tolist())
        torch.manual_seed(280)
        picture = torch.randn(3, 4, 4)
        pictures = torch.randn(3, 3, 4, 4)
        mix = torch.tensor([0.3, 0.59, 0.11])
        print("plain means", picture.mean(-3).shape, pictures.mean(-3).shape)
        column = mix.unsqueeze(-1).unsqueeze_(-1)
        by_broadcast = (pictures * column).sum(-3)
        print("broadcast", (pictures * column).shape, column.shape)
        by_einsum = torch.einsum("...chw,c->...hw", pictures, mix)
        one = torch.einsum("...chw,c->...hw", picture, mix)
        print(by_einsum.shape, torch.allclose(by_broadcast, by_einsum, atol=1e-6),
              torch.allclose((picture * column).sum(-3), one, atol=1e-6))
        halves = torch.tensor([[7, 8], [9, 10]], dtype=torch.short)
        wide = torch.ones(4, 3, dtype=torch.double)
        print(halves.dtype, wide.dtype, torch.zeros(2, 2).to(torch.double).dtype)
        doubles = torch.rand(4, dtype=torch.double)
        print("double * short ->", (doubles * doubles.to(torch.short)).dtype)
        block = torch.ones(2, 5)
        print(block.shape, torch.transpose(block, 0, 1).shape, block.t().shape)
        block.zero_()
        print(block)
        torch.save(grid, "grid_by_path.pt")
        with open("grid_by_file.pt", "wb") as handle:
            torch.save(grid, handle)
        with open("grid_by_file.pt", "rb") as handle:
            print("loaded", torch.load(handle))
        print(torch.load("grid_by_path.pt").equal(grid))
        as_numpy = grid.numpy()
        print(as_numpy.dtype, torch.from_numpy(as_numpy).dtype)
        line = torch.tensor(list(range(12)))
        print(line.size(), line.storage_offset(), line.stride())
        square = line.view(4, 3)
        print(square[2, 1], id(line.untyped_storage()) == id(square.untyped_storage()))
        corner = square[1:, 1:]
        print(corner.size(), corner.storage_offset(), corner.stride())
        print(torch.sin(line.float()).sqrt().nan_to_num(-1.0))


# ---------------------------------------------------------------------------------------------
# st_thermo: a sensor calibrated five ways


def section_thermometer() -> None:
    load_kg = torch.tensor([1.0, 3.5, 6.0, 2.5, 9.0, 4.0, 7.5, 0.5, 5.0, 8.0, 10.0])
    raw = torch.tensor([24.1, 35.8, 46.0, 31.2, 61.5, 40.3, 54.9, 22.0, 44.7, 57.0, 66.8])

    def line(x, slope, icpt):
        return slope * x + icpt

    def mse(guess, truth):
        return ((guess - truth) ** 2).mean()

    def hand_grads(x, truth, guess):
        outer = 2 * (guess - truth) / guess.size(0)
        return torch.stack([(outer * x).sum(), outer.sum()])

    def descend(steps, rate, params, x, report=True):
        for step in range(1, steps + 1):
            guess = line(x, *params)
            cost = mse(guess, load_kg)
            grads = hand_grads(x, load_kg, guess)
            params = params - rate * grads
            if step in {1, 2, 3, 20, 50, 100}:
                print(f"step {step}: cost {float(cost):f}")
                if report:
                    print("   now", params, "grads", grads)
        return params

    with printed("st_thermo.log"):
        start = torch.tensor([1.0, 0.0])
        print("first guesses", line(raw, *start))
        print("first cost", mse(line(raw, *start), load_kg))
        h = 0.05
        print("slope by differences",
              (mse(line(raw, 1 + h, 0.0), load_kg) - mse(line(raw, 1 - h, 0.0), load_kg)) / (2 * h))
        descend(3, 1e-2, start, raw)  # (too large a step for raw inputs: it blows up)
        descend(3, 1e-4, start, raw)
        scaled = raw / 10.0
        print("scaled fit", descend(100, 1e-2, start, scaled, report=False))
        params = torch.tensor([1.0, 0.0], requires_grad=True)
        print("grad before backward is None:", params.grad is None)
        mse(line(raw, *params), load_kg).backward()
        print("autograd's grads", params.grad)
        params.grad.zero_()

        def descend_autograd(steps, rate, params):
            for step in range(1, steps + 1):
                if params.grad is not None:
                    params.grad.zero_()
                cost = mse(line(scaled, *params), load_kg)
                cost.backward()
                with torch.no_grad():
                    params -= rate * params.grad
                if step % 60 == 0:
                    print(f"step {step}: cost {float(cost):f}")
            return params

        print(descend_autograd(240, 1e-2, torch.tensor([1.0, 0.0], requires_grad=True)))
        print("optimizers:", dir(optim)[:3], "Adam" in dir(optim))
        torch.manual_seed(281)
        order = torch.randperm(len(raw))
        fit_at, held_at = order[:-3], order[-3:]
        print("fit on", fit_at, "hold", held_at)
        params = torch.tensor([1.0, 0.0], requires_grad=True)
        adam = optim.Adam([params], lr=0.1)
        for step in range(1, 251):
            fit_cost = mse(line(scaled[fit_at], *params), load_kg[fit_at])
            with torch.no_grad():
                held_cost = mse(line(scaled[held_at], *params), load_kg[held_at])
                assert held_cost.requires_grad is False
            adam.zero_grad()
            fit_cost.backward()
            adam.step()
            if step <= 3 or step % 50 == 0:
                print(f"adam {step}: fit {fit_cost.item():.4f} held {held_cost.item():.4f}")
        print(params)
        x2, y2 = scaled.unsqueeze(1), load_kg.unsqueeze(1)
        torch.manual_seed(282)
        layer = nn.Linear(1, 1)
        print(layer(x2[held_at]), layer.weight, layer.bias, layer(torch.ones(5, 1)).shape)
        print(list(layer.parameters()))

        def train_module(steps, optimizer, model, every):
            for step in range(1, steps + 1):
                fit_cost = F.mse_loss(model(x2[fit_at]), y2[fit_at])
                held_cost = F.mse_loss(model(x2[held_at]), y2[held_at])
                optimizer.zero_grad()
                fit_cost.backward()
                optimizer.step()
                if step == 1 or step % every == 0:
                    print(f"  {step}: fit {fit_cost.item():.4f} held {held_cost.item():.4f}")

        train_module(500, optim.SGD(layer.parameters(), lr=1e-2), layer, 100)
        print(layer.weight, layer.bias)
        small = nn.Sequential(OrderedDict([("widen", nn.Linear(1, 6)), ("bend", nn.Tanh()),
                                           ("narrow", nn.Linear(6, 1))]))
        print(small)
        print([tuple(p.shape) for p in small.parameters()])
        for name, p in small.named_parameters():
            print(" ", name, p.shape)
        print(small.narrow.bias)
        train_module(300, optim.SGD(small.parameters(), lr=1e-3), small, 100)
        print("held guesses", small(x2[held_at]))
        print("held truth", y2[held_at])
        # (the last step's gradient is a small difference of sums: 3 decimals)
        print("widen grads", [f"{g:.3f}" for g in small.widen.weight.grad.flatten().tolist()])
        put("st_thermo.seq", small.narrow.weight)


# ---------------------------------------------------------------------------------------------
# st_wine: a tabular chapter


def section_wine() -> None:
    g = torch.Generator().manual_seed(283)
    n = 36
    columns = torch.rand(n, 5, generator=g) * torch.tensor([6.0, 2.0, 0.4, 12.0, 3.0])
    grade = (2 + (columns[:, 0] / 2 + columns[:, 3] / 4).round()).clamp(2, 8)
    stored = torch.cat([columns, grade[:, None]], 1).numpy()
    with printed("st_wine.log"):
        table = torch.from_numpy(stored)
        print(table.shape, table.dtype)
        x = table[:, :-1]
        print(x[:6], x.shape)
        grades = table[:, -1]
        print(grades, grades.shape)
        grades = grades.long()
        print(grades)
        print("one-hot", torch.zeros(len(grades), 9).scatter_(1, grades.unsqueeze(1), 1.0)[:4])
        print(grades.unsqueeze(1)[:3])
        centre, spread2 = x.mean(dim=0), x.var(dim=0)
        print(centre)
        print(spread2)
        standard = (x - centre) / spread2.sqrt()
        print(standard[:3])
        low = grades <= 3
        print(low.shape, low.dtype, low.sum())
        print(x[low].shape)
        groups = (x[grades <= 3], x[(grades > 3) & (grades < 6)], x[grades >= 6])
        means = [torch.mean(part, dim=0) for part in groups]
        for i, row in enumerate(zip(["acid", "sugar", "salt", "sulfur", "alcohol"], *means)):
            print("{:1} {:>9} {:7.3f} {:7.3f} {:7.3f}".format(i, *row))
        guess_high = torch.lt(x[:, 3], 6.0)
        print(guess_high.shape, guess_high.dtype, guess_high.sum())
        high = grades > 4
        print(high.shape, high.dtype, high.sum())
        both = torch.sum(high & guess_high).item()
        print(both, both / torch.sum(guess_high).item(), both / torch.sum(high).item())
        print("correlations", torch.corrcoef(table.T.float())[-1].round(decimals=3))
        target = grades.float() - grades.float().mean()
        print("lstsq", torch.linalg.lstsq(standard.float(), target[:, None]).solution.squeeze(1))
        hours = torch.arange(2 * 24, dtype=torch.float32).view(2, 24, 1)
        sky = (hours[:, :, 0] % 3).long()
        sky_hot = torch.zeros(2, 24, 3).scatter_(2, sky.unsqueeze(2), 1.0)
        print(torch.cat((hours, sky_hot), 2).shape, sky_hot.sum((0, 1)))
        by_feature = hours.transpose(1, 2)
        print(by_feature.shape, by_feature.stride(), by_feature.is_contiguous())
        level = hours[:, :, 0]
        print(((level - level.min()) / (level.max() - level.min()))[1, :5])


# ---------------------------------------------------------------------------------------------
# st_birds: small image classifiers compared


class TwoConv(nn.Module):
    def __init__(self, width=6, drop=None, norm=False):
        super().__init__()
        self.width = width
        self.c1 = nn.Conv2d(3, width, kernel_size=3, padding=1)
        self.c2 = nn.Conv2d(width, width // 2, kernel_size=3, padding=1)
        self.d1 = nn.Dropout2d(p=drop) if drop else nn.Identity()
        self.d2 = nn.Dropout2d(p=drop) if drop else nn.Identity()
        self.n1 = nn.BatchNorm2d(width) if norm else nn.Identity()
        self.n2 = nn.BatchNorm2d(width // 2) if norm else nn.Identity()
        self.fc1 = nn.Linear(16 * width // 2, 12)
        self.fc2 = nn.Linear(12, 2)

    def forward(self, x):
        x = self.d1(F.max_pool2d(torch.tanh(self.n1(self.c1(x))), 2))
        x = self.d2(F.max_pool2d(torch.tanh(self.n2(self.c2(x))), 2))
        return self.fc2(torch.tanh(self.fc1(x.view(-1, 16 * self.width // 2))))


class Residual(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv = nn.Conv2d(width, width, kernel_size=3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(width)
        nn.init.kaiming_normal_(self.conv.weight, nonlinearity="relu")
        nn.init.constant_(self.norm.weight, 0.4)
        nn.init.zeros_(self.norm.bias)

    def forward(self, x):
        return x + torch.relu(self.norm(self.conv(x)))


class RepeatedResidual(nn.Module):
    """One Residual block used ``depth`` times (the same module object repeated)."""

    def __init__(self, width=6, depth=3):
        super().__init__()
        self.width = width
        self.stem = nn.Conv2d(3, width, kernel_size=3, padding=1)
        self.blocks = nn.Sequential(*([Residual(width)] * depth))
        self.fc1 = nn.Linear(16 * width, 12)
        self.fc2 = nn.Linear(12, 2)

    def forward(self, x):
        x = F.max_pool2d(self.blocks(F.max_pool2d(torch.relu(self.stem(x)), 2)), 2)
        return self.fc2(torch.relu(self.fc1(x.view(-1, 16 * self.width))))


def section_birds() -> None:
    torch.manual_seed(284)
    shots = torch.rand(24, 3, 16, 16)
    shots[12:, 0] += 0.4  # class 1: redder
    kinds = torch.tensor([0] * 12 + [1] * 12)
    order = torch.randperm(24)
    shots, kinds = shots[order], kinds[order]
    centre = shots.transpose(0, 1).reshape(3, -1).mean(dim=1)
    spread = shots.transpose(0, 1).reshape(3, -1).std(dim=1)
    shots = (shots - centre[:, None, None]) / spread[:, None, None]
    fit_rows = list(zip(shots[:16], kinds[:16]))
    held_rows = list(zip(shots[16:], kinds[16:]))

    def share_right(model, loader):
        right = seen = 0
        with torch.no_grad():
            for xb, yb in loader:
                _, best = torch.max(model(xb), dim=1)
                seen += yb.shape[0]
                right += int((best == yb).sum())
        return right / seen

    with printed("st_birds.log"):
        print(centre, spread)
        fit = torch.utils.data.DataLoader(fit_rows, batch_size=8, shuffle=True)
        held = torch.utils.data.DataLoader(held_rows, batch_size=8, shuffle=False)
        results = {}
        variants = (("baseline", TwoConv, 0.0, 1e-2), ("l2", TwoConv, 2e-3, 1e-2),
                    ("width", lambda: TwoConv(width=12), 0.0, 1e-2),
                    ("dropout", lambda: TwoConv(drop=0.3), 0.0, 1e-2),
                    ("batchnorm", lambda: TwoConv(norm=True), 0.0, 1e-2),
                    ("resdeep", lambda: RepeatedResidual(depth=4), 0.0, 3e-3))
        for name, make, l2, lr in variants:
            print("--", name)
            model = make()
            sizes = [p.numel() for p in model.parameters() if p.requires_grad]
            print(sum(sizes), sizes)
            optimizer = optim.SGD(model.parameters(), lr=lr)
            model.train()
            for sweep in range(3):
                summed = 0.0
                for xb, yb in fit:
                    cost = F.cross_entropy(model(xb), yb)
                    if l2:
                        cost = cost + l2 * sum(p.pow(2.0).sum() for p in model.parameters())
                    optimizer.zero_grad()
                    cost.backward()
                    optimizer.step()
                    summed += cost.item()
                print(f"  sweep {sweep}: cost {summed / len(fit):.4f}")
            model.eval()
            results[name] = (share_right(model, fit), share_right(model, held))
            print("  right: fit {:.2f} held {:.2f}".format(*results[name]))
            put(f"st_birds.{name}", model.fc2.weight)
        print(results)
        model = RepeatedResidual(depth=2)
        print(model.blocks[0] is model.blocks[1], len(list(model.parameters())))
        torch.save(model.state_dict(), "repeated_residual.pt")
        print(RepeatedResidual(depth=2).load_state_dict(torch.load("repeated_residual.pt")))
        print(model.blocks[1].norm.running_mean, model.blocks[1].norm)


# ---------------------------------------------------------------------------------------------
# st_luna: a 3-D classifier and a 2-D mask head


def double_conv3d(c_in, c_out):
    return nn.Sequential(nn.Conv3d(c_in, c_out, kernel_size=3, padding=1),
                         nn.ReLU(inplace=True),
                         nn.Conv3d(c_out, c_out, kernel_size=3, padding=1),
                         nn.ReLU(inplace=True), nn.MaxPool3d(2, 2))


class VolumeClassifier(nn.Module):
    def __init__(self, width=3):
        super().__init__()
        self.norm = nn.BatchNorm3d(1)
        self.features = nn.Sequential(double_conv3d(1, width), double_conv3d(width, 2 * width))
        self.head = nn.Linear(8 * 2 * width, 2)
        self.probs = nn.Softmax(dim=1)
        for part in self.modules():
            if isinstance(part, (nn.Linear, nn.Conv3d)):
                nn.init.kaiming_normal_(part.weight.data, a=0, mode="fan_out",
                                        nonlinearity="relu")
                _, fan_out = nn.init._calculate_fan_in_and_fan_out(part.weight.data)
                # (mean -1/sqrt(fan_out), std 1/sqrt(fan_out), as such code often writes it)
                nn.init.normal_(part.bias, -1 / math.sqrt(fan_out), 1 / math.sqrt(fan_out))

    def forward(self, volume):
        scores = self.head(self.features(self.norm(volume)).flatten(1))
        return scores, self.probs(scores)


class MaskHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm2d(3)
        self.down = nn.Conv2d(3, 5, 3, padding=1)
        self.up = nn.ConvTranspose2d(5, 5, 2, stride=2)
        self.out = nn.Conv2d(5, 1, 1)

    def forward(self, x):
        x = F.relu(self.up(F.max_pool2d(F.relu(self.down(self.norm(x))), 2)))
        return torch.sigmoid(self.out(x))


def soft_dice(guess, mask, smooth=1.0):
    """1 - (2 |guess . mask| + smooth) / (|guess| + |mask| + smooth), per sample."""
    overlap = (guess * mask).sum(dim=[1, 2, 3])
    return 1 - (2 * overlap + smooth) / (guess.sum(dim=[1, 2, 3]) + mask.sum(dim=[1, 2, 3])
                                         + smooth)


def section_luna() -> None:
    torch.manual_seed(285)
    volumes = torch.randn(4, 1, 8, 8, 8)
    has_blob = torch.tensor([1, 0, 0, 1])
    volumes[has_blob == 1, :, 1:5, 3:7, 2:6] += 1.5
    with printed("st_luna.log"):
        model = VolumeClassifier()
        print(model)
        print(sum(p.numel() for p in model.parameters()))
        optimizer = optim.SGD(model.parameters(), lr=0.002, momentum=0.9)
        for sweep in range(3):
            scores, probs = model(volumes)
            each = F.cross_entropy(scores, has_blob, reduction="none")
            optimizer.zero_grad()
            each.mean().backward()
            optimizer.step()
            table = torch.stack([has_blob.float(), probs[:, 1].detach(), each.detach()])
            blob = table[0] > 0.5
            print(f"sweep {sweep}: cost {table[2].mean():.4f} without {table[2, ~blob].mean():.4f}"
                  f" with {table[2, blob].mean():.4f} right "
                  f"{((table[1] > 0.5) == blob).float().mean() * 100:.1f}%")
        print(model.norm.running_mean, model.norm.num_batches_tracked)
        slices = torch.randn(2, 3, 8, 8)
        mask = (slices[:, 1:2] > 0.4).float()
        head = MaskHead()
        adam = optim.Adam(head.parameters())
        for sweep in range(3):
            guess = head(slices)
            overall, missed = soft_dice(guess, mask), soft_dice(guess * mask, mask)
            cost = overall.mean() + 6 * missed.mean()
            adam.zero_grad()
            cost.backward()
            adam.step()
            with torch.no_grad():
                hard = (guess > 0.5).to(torch.float32)
                hit = (hard * mask).sum(dim=[1, 2, 3])
                miss = ((1 - hard) * mask).sum(dim=[1, 2, 3])
                false = (hard * (~mask.bool())).sum(dim=[1, 2, 3])
            print(f"sweep {sweep}: dice {overall.detach()} missed {missed.detach()} "
                  f"hit {hit} miss {miss} false {false}")
        put("st_luna.seg", head.out.weight)
        put("st_luna.head", model.head.weight)


# ---------------------------------------------------------------------------------------------
# st_aug: augmentation through affine grids


def random_affine_3d(draw):
    """A 4 x 4 transform: per-axis mirror, stretch and shift, then a turn about the last axis."""
    m = torch.eye(4)
    for axis in range(3):
        if draw() < 0.4:
            m[axis, axis] *= -1
        m[axis, axis] *= 0.9 + 0.25 * draw()
        m[axis, 3] = 0.15 * (2 * draw() - 1)
    turn = 2 * math.pi * draw()
    spin = torch.eye(4)
    spin[:2, :2] = torch.tensor([[math.cos(turn), -math.sin(turn)],
                                 [math.sin(turn), math.cos(turn)]])
    m @= spin
    return m


def section_augment() -> None:
    draw = random.Random(286).random
    torch.manual_seed(287)
    crops = torch.randn(2, 1, 6, 8, 8)
    with printed("st_aug.log"):
        m = random_affine_3d(draw)
        print(m)
        grid = F.affine_grid(m[:3].unsqueeze(0).expand(2, -1, -1).to(torch.float32),
                             crops.size(), align_corners=False)
        moved = F.grid_sample(crops, grid, padding_mode="border", align_corners=False)
        moved += torch.randn_like(moved) * 0.02
        print(grid.shape, moved.shape)
        print(f"mean {moved.mean():.4f} std {moved.std():.4f}")
        print(moved[1, 0, 2, 3:6, 3:6])
        # an image and its mask through one 2-D grid
        image = torch.randn(3, 2, 10, 10)
        mask = torch.zeros(3, 1, 10, 10, dtype=torch.bool)
        mask[:, :, 2:6, 4:9] = True
        turn = -0.25
        m2 = torch.tensor([[-1.05, 0.0, 0.0], [0.0, 1.0, -0.1], [0.0, 0.0, 1.0]])
        m2 @= torch.tensor([[math.cos(turn), -math.sin(turn), 0.0],
                            [math.sin(turn), math.cos(turn), 0.0], [0.0, 0.0, 1.0]])
        grid2 = F.affine_grid(m2[:2].unsqueeze(0).expand(3, -1, -1), image.size(),
                              align_corners=False)
        moved_image = F.grid_sample(image, grid2, padding_mode="border", align_corners=False)
        moved_mask = F.grid_sample(mask.to(torch.float32), grid2, padding_mode="border",
                                   align_corners=False)
        print(f"image total {moved_image.sum():.3f}", f"mask total {moved_mask.sum():.3f}")
        print((moved_mask[1, 0] > 0.6).int()[1:7])
        put("st_aug.chunk", moved)
        put("st_aug.input", moved_image)


# ---------------------------------------------------------------------------------------------
# st_data: loading raw data


def section_real_data() -> None:
    rng = np.random.default_rng(288)
    lines = [f"{i},2024-03-{1 + i // 24:02d},{i % 24},{1 + (i * 5) % 3},"
             f"{12.5 + 0.5 * (i % 7):.1f},{0.4 + 0.02 * (i % 4):.2f},{30 + (3 * i) % 11}"
             for i in range(48)]
    with printed("st_data.log"):
        table = torch.from_numpy(np.loadtxt(io.StringIO("\n".join(lines)), dtype=np.float32,
                                            delimiter=",",
                                            converters={1: lambda s: float(s[-2:])}))
        print(table.shape, table.stride())
        by_day = table.view(-1, 24, table.shape[1])
        print(by_day.shape, by_day.stride())
        by_day = by_day.transpose(1, 2)
        print(by_day.shape, by_day.stride())
        day_one = table[:24].long()
        print("sky codes", day_one[:, 3])
        sky = torch.zeros(24, 3)
        sky.scatter_(dim=1, index=day_one[:, 3].unsqueeze(1) - 1, value=1.0)
        print(sky[:5])
        print(torch.cat((table[:24], sky), 1)[:1])
        sky_by_day = torch.zeros(by_day.shape[0], 3, by_day.shape[2])
        sky_by_day.scatter_(1, by_day[:, 3, :].long().unsqueeze(1) - 1, 1.0)
        print(sky_by_day.shape, sky_by_day.sum((0, 2)))
        by_day = torch.cat((by_day, sky_by_day), dim=1)
        by_day[:, 3, :] = (by_day[:, 3, :] - 1.0) / 2.0
        warmth = by_day[:, 4, :]
        by_day[:, 4, :] = (warmth - warmth.min()) / (warmth.max() - warmth.min())
        warmth = by_day[:, 4, :]
        by_day[:, 4, :] = (warmth - warmth.mean()) / warmth.std()
        print(by_day[1, 3:5, :6])
        print(by_day.is_contiguous(), by_day.stride())
        sentence = "Quick zephyrs blow, vexing daft Jim; the five boxing wizards jump quickly"
        letters = torch.zeros(len(sentence), 128)
        for i, ch in enumerate(sentence.lower()):
            letters[i][ord(ch) if ord(ch) < 128 else 0] = 1
        print(letters.shape, letters.sum(0).nonzero().flatten())

        def words_of(text):
            return [w.strip('.,;:"!?') for w in text.lower().split()]

        vocabulary = {w: i for i, w in enumerate(sorted(set(words_of(sentence))))}
        said = words_of(sentence)
        hot = torch.zeros(len(said), len(vocabulary))
        for i, w in enumerate(said):
            hot[i][vocabulary[w]] = 1
            print(f"{i:2} {vocabulary[w]:3} {w}")
        print(hot.shape, hot.argmax(1))
        images = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
        images[:] = torch.from_numpy(rng.integers(0, 255, (2, 3, 4, 4)).astype(np.uint8))
        images = images.float()
        images /= 255.0
        for c in range(3):
            images[:, c] = (images[:, c] - images[:, c].mean()) / images[:, c].std()
        print(images[1, 2])
        hwc = torch.from_numpy(rng.integers(0, 255, (4, 7, 3)).astype(np.uint8))
        chw = hwc.permute(2, 0, 1)
        print(chw.shape, chw.stride(), chw.is_contiguous(), chw.dtype)
        scan = torch.from_numpy(rng.integers(-900, 900, (3, 4, 4)).astype(np.int16)).float()
        scan = torch.unsqueeze(scan, 0)
        print(scan.shape, scan.dtype, scan.mean())
        put("st_data.bikes", by_day)


SECTIONS = {
    "st_tensors": section_storage, "st_thermo": section_thermometer, "st_wine": section_wine,
    "st_birds": section_birds, "st_luna": section_luna, "st_aug": section_augment,
    "st_data": section_real_data,
}
