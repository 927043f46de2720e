"""Programs leaning on the wider op surface, afresh (PR5, session 22): cleaning a table
(nan_to_num, robust scaling by nanquantile, isin filters, label encoding by unique with inverse
and counts, group-by means and maxima by scatter_reduce, histogram bins, a signed log by
copysign, logit of proportions, masked imputation, k-fold ridge regression over tensor_split);
a 2-d Fourier neural operator (rfftn / irfftn, complex weights by einsum) with a spectral
derivative by fftfreq / fftshift and an FFT convolution checked against a circular conv2d;
strided tricks (im2col by as_strided, functional matrix assembly by diagonal / select / slice
scatters, take / put_, test-time augmentation with rot90 and flips); and block-sparse
attention (sampled_addmm over a CSR pattern, a masked softmax). Tiny sizes; run by
prog_s22_PR5_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_table() -> None:
    rows = 40
    income = torch.exp(torch.randn(rows) + 10)
    income[torch.randperm(rows)[:5]] = float("nan")
    age = torch.randint(18, 80, (rows,)).float()
    city = torch.randint(0, 6, (rows,))
    share = torch.rand(rows).clamp(0.01, 0.99)
    change = torch.randn(rows) * 100
    target = 0.3 * torch.log(torch.nan_to_num(income, nan=20000.0)) + 0.02 * age \
        + (city == 2).float() + 0.1 * torch.randn(rows)
    keep = ~torch.isin(city, torch.tensor([5]))  # a city dropped from the study
    put("table.kept", keep.sum())
    income, age, city, share, change, target = (t[keep] for t in
                                                (income, age, city, share, change, target))
    median = torch.nanmedian(income)
    q1, q3 = torch.nanquantile(income, torch.tensor([0.25, 0.75]))
    put("table.quantiles", torch.stack([median, q1, q3]))
    missing = torch.isnan(income)
    filled = income.masked_scatter(missing, median.expand(int(missing.sum())))
    put("table.filled_equal", torch.equal(filled, torch.nan_to_num(income, nan=median.item())))
    robust = (filled - median) / (q3 - q1)
    codes, inverse, counts = torch.unique(city, return_inverse=True, return_counts=True)
    put("table.codes", [codes, inverse, counts])
    groups = len(codes)
    group_mean = torch.zeros(groups).scatter_reduce(0, inverse, target, "mean",
                                                    include_self=False)
    group_max = torch.full((groups,), -math.inf).scatter_reduce(0, inverse, age, "amax")
    put("table.group", [group_mean, group_max])
    hist = torch.histogram(age, bins=5, range=(18.0, 80.0))
    put("table.hist", [hist.hist, hist.bin_edges])
    age_bin = torch.bucketize(age, hist.bin_edges[1:-1], right=True)
    signed_log = torch.copysign(torch.log1p(change.abs()), change)
    put("table.signbit", torch.signbit(change).sum())
    features = torch.column_stack([robust, (age - age.mean()) / age.std(), torch.logit(share),
                                   signed_log / 5, F.one_hot(age_bin, 5).float(),
                                   F.one_hot(inverse, groups).float()])
    put("table.features", features[:5])
    put("table.float_power", torch.float_power(share[:4], 2.5))
    folds = torch.tensor_split(torch.randperm(len(target)), 4)
    errors = []
    for k, held in enumerate(folds):
        train = torch.cat([f for j, f in enumerate(folds) if j != k])
        x, y = features[train].double(), target[train].double()
        weights = torch.linalg.solve(x.T @ x + 0.5 * torch.eye(x.shape[1], dtype=torch.float64),
                                     x.T @ y)
        prediction = features[held].double() @ weights
        errors.append((prediction - target[held].double()).pow(2).mean())
    put("table.cv_errors", errors)
    put("table.selected", torch.masked_select(age, robust > 1))


class SpectralConv2d(nn.Module):
    def __init__(self, channels, modes):
        super().__init__()
        scale = 1 / (channels * channels)
        self.modes = modes
        self.weight = nn.Parameter(scale * torch.randn(channels, channels, modes, modes,
                                                       dtype=torch.cfloat))

    def forward(self, x):
        spectrum = torch.fft.rfftn(x, dim=(-2, -1))
        out = torch.zeros_like(spectrum)
        m = self.modes
        out[..., :m, :m] = torch.einsum("bixy,ioxy->boxy", spectrum[..., :m, :m], self.weight)
        return torch.fft.irfftn(out, s=x.shape[-2:], dim=(-2, -1))


def section_fno() -> None:
    size = 12
    coords = torch.linspace(0, 1, size + 1)[:-1]
    yy, xx = torch.meshgrid(coords, coords, indexing="ij")
    # (random fields: every retained mode has content; sinusoids would leave most spectral
    # weights a rounding-noise gradient, which Adam scales into full steps)
    fields = torch.randn(6, 1, size, size) + torch.sin(2 * math.pi * xx) * torch.cos(
        2 * math.pi * yy)
    # the target: the field smoothed by the heat equation, solved exactly in Fourier space
    ky = torch.fft.fftfreq(size, d=1 / size)
    kx = torch.fft.rfftfreq(size, d=1 / size)
    decay = torch.exp(-0.01 * (2 * math.pi) ** 2 * (ky[:, None] ** 2 + kx[None, :] ** 2))
    targets = torch.fft.irfftn(torch.fft.rfftn(fields, dim=(-2, -1)) * decay, s=(size, size),
                               dim=(-2, -1))
    lift = nn.Conv2d(1, 4, 1)
    spectral = SpectralConv2d(4, 4)
    pointwise = nn.Conv2d(4, 4, 1)
    project = nn.Conv2d(4, 1, 1)
    params = [*lift.parameters(), *spectral.parameters(), *pointwise.parameters(),
              *project.parameters()]
    optimizer = torch.optim.Adam(params, lr=0.01)
    losses = []
    for _ in range(6):
        h = lift(fields)
        h = F.gelu(spectral(h) + pointwise(h))
        out = project(h)
        loss = F.mse_loss(out, targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("fno.losses", losses)
    put("fno.weight", spectral.weight)
    put("fno.weight_grad_dtype", str(spectral.weight.grad.dtype))
    # spectral derivative of a periodic signal, centred spectrum by fftshift
    signal = torch.sin(2 * math.pi * 3 * coords) + 0.5 * torch.cos(2 * math.pi * 5 * coords)
    derivative = torch.fft.ifft(torch.fft.fft(signal) * 2j * math.pi * ky).real
    exact = 2 * math.pi * (3 * torch.cos(2 * math.pi * 3 * coords)
                           - 2.5 * torch.sin(2 * math.pi * 5 * coords))
    put("fno.derivative_gap", (derivative - exact).abs().max() < 1e-3)
    put("fno.shifted", torch.fft.fftshift(torch.fft.fft(signal)).abs())
    put("fno.freqs", torch.fft.fftshift(ky))
    put("fno.hermitian", torch.fft.ihfft(signal).resolve_conj())
    # FFT convolution equals a circular conv2d (cross-correlation with a flipped kernel)
    image = torch.randn(1, 1, size, size, dtype=torch.float64)
    kernel = torch.randn(1, 1, 3, 3, dtype=torch.float64)
    padded = torch.zeros(size, size, dtype=torch.float64)
    padded[:3, :3] = kernel[0, 0].flip(0, 1)
    padded = padded.roll((-1, -1), (0, 1))
    by_fft = torch.fft.irfft2(torch.fft.rfft2(image[0, 0]) * torch.fft.rfft2(padded),
                              s=(size, size))
    by_conv = F.conv2d(F.pad(image, (1, 1, 1, 1), mode="circular"), kernel)[0, 0]
    put("fno.conv_gap", (by_fft - by_conv).abs().max() < 1e-10)
    put("fno.by_conv", by_conv)


def section_strided() -> None:
    image = torch.arange(1.0, 26.0).view(5, 5)
    windows = image.as_strided((3, 3, 3, 3), (5, 1, 5, 1))
    put("strided.windows", windows.reshape(9, 9))
    put("strided.unfold_equal",
        torch.equal(windows.reshape(9, 9), F.unfold(image[None, None], 3)[0].T))
    # assemble a tridiagonal matrix functionally, then a bordered system
    n = 5
    matrix = torch.diagonal_scatter(torch.zeros(n, n), torch.full((n,), 2.0))
    matrix = torch.diagonal_scatter(matrix, torch.full((n - 1,), -1.0), 1)
    matrix = torch.diagonal_scatter(matrix, torch.full((n - 1,), -1.0), -1)
    matrix = torch.select_scatter(matrix, torch.ones(n), 0, 0)
    matrix = torch.slice_scatter(matrix, torch.zeros(n, 2), 1, 3, 5)
    put("strided.matrix", matrix)
    flat = torch.randn(3, 4)
    indices = torch.tensor([0, 5, 11, 5])
    put("strided.take", torch.take(flat, indices))
    copy = flat.clone()
    copy.put_(indices, torch.tensor([1.0, 2.0, 3.0, 4.0]), accumulate=True)
    put("strided.put", copy)
    put("strided.splits", [*torch.vsplit(torch.arange(12.0).view(4, 3), 2),
                           *torch.hsplit(torch.arange(12.0).view(3, 4), [1, 3])])
    put("strided.stacks", [torch.hstack([flat, flat[:, :1]]), torch.vstack([flat, flat[:1]]),
                           torch.dstack([flat, flat])])
    # test-time augmentation: average a classifier over the dihedral group's views
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 3))
    batch = torch.randn(2, 1, 6, 6)
    with torch.no_grad():
        views = [torch.rot90(batch, k, (2, 3)) for k in range(4)]
        views += [v.flip(3) for v in views]
        probs = torch.stack([F.softmax(model(v), 1) for v in views])
    put("strided.tta", probs.mean(0))
    put("strided.tta_spread", probs.std(0))
    put_state("strided.model", model)


def section_block_sparse() -> None:
    tokens, dim, block = 8, 4, 2
    q = torch.randn(tokens, dim, requires_grad=True)
    k = torch.randn(tokens, dim, requires_grad=True)
    v = torch.randn(tokens, dim)
    # local blocks plus the first block (a global token block), causal
    pattern = torch.zeros(tokens, tokens, dtype=torch.bool)
    for i in range(tokens):
        for j in range(i + 1):
            if i // block == j // block or j < block:
                pattern[i, j] = True
    layout = pattern.float().to_sparse_csr()
    put("bsp.nnz", layout._nnz())
    scores = torch.sparse.sampled_addmm(layout, q, k.T, beta=0.0, alpha=1 / math.sqrt(dim))
    dense_scores = scores.to_dense().masked_fill(~pattern, -math.inf)
    attention = torch.softmax(dense_scores, -1)
    out = attention @ v
    put("bsp.scores", scores.values())
    put("bsp.out", out)
    reference = torch.softmax((q @ k.T / math.sqrt(dim)).masked_fill(~pattern, -math.inf), -1) @ v
    put("bsp.gap", (out - reference).abs().max() < 1e-6)
    out.pow(2).sum().backward()
    put("bsp.grads", [q.grad, k.grad])
    coo = pattern.float().to_sparse()
    sparse_softmax = torch.sparse.softmax(coo * 0.5, 1)
    put("bsp.sparse_softmax", sparse_softmax.to_dense())


SECTIONS = {
    "table": section_table, "fno": section_fno, "strided": section_strided,
    "block_sparse": section_block_sparse,
}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
