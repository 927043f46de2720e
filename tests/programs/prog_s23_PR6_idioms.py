"""Tensor idioms of everyday PyTorch code that is not a model, afresh (PR6, session 23): a
regression trained by hand under no_grad (``p -= lr * p.grad``, ``grad.zero_()``,
``p.data.copy_`` for an EMA and a restart, ``grad = None``); integer, bool and bitwise code
(a hash of n-grams by xor and shifts, popcount by masks, Morton codes, argsort bucketing,
histc / bincount with weights, unique with return_inverse / counts / dim, searchsorted and
bucketize on both sides); dtype conversion and promotion (the default dtype switched,
``result_type`` over tensors and Python scalars, integer division and overflow, ``.long()`` /
``.to(torch.int32)`` / ``type_as``); device arguments (``torch.device``, ``device='cpu'``,
``cuda.is_available()`` branches); and printing (str / repr / set_printoptions / f-strings /
tolist / item / numpy). Tiny sizes; run by prog_s23_PR6_all.py.
"""

import torch
from prog_s23_PR6_harness import put


def section_manual_sgd() -> None:
    # y = 3 x0 - 2 x1 + 0.5 fitted by hand-written SGD with momentum, an EMA copy of the
    # weights kept by p.data.copy_, and a restart that reloads the best weights.
    g = torch.Generator().manual_seed(3)
    x = torch.randn(64, 2, generator=g)
    y = x @ torch.tensor([3.0, -2.0]) + 0.5 + 0.1 * torch.randn(64, generator=g)
    w = torch.zeros(2, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    velocity = [torch.zeros_like(w), torch.zeros_like(b)]
    ema = [w.detach().clone(), b.detach().clone()]
    best, best_loss = None, float("inf")
    losses, grad_norms = [], []
    for step in range(30):
        batch = torch.arange(step * 8, step * 8 + 8) % 64
        pred = x[batch] @ w + b
        loss = ((pred - y[batch]) ** 2).mean()
        loss.backward()
        losses.append(loss.item())
        with torch.no_grad():
            grad_norms.append(torch.sqrt(w.grad.pow(2).sum() + b.grad.pow(2).sum()).item())
            for p, v in zip((w, b), velocity):
                v.mul_(0.9).add_(p.grad)
                p -= 0.05 * v
                p.grad.zero_()
            for p, e in zip((w, b), ema):
                e.mul_(0.8).add_(p, alpha=0.2)
            if loss.item() < best_loss:
                best_loss, best = loss.item(), (w.clone(), b.clone())
        put(f"sgd.requires_grad.{step % 2}", [w.requires_grad, w.is_leaf, w.grad_fn is None])
    put("sgd.losses", torch.tensor(losses))
    put("sgd.grad_norms", torch.tensor(grad_norms))
    put("sgd.w", w)
    put("sgd.ema", ema)
    w.data.copy_(best[0])
    b.data.copy_(best[1])
    put("sgd.restored", [w, b])
    put("sgd.version_ok", w._version > 0)
    w.grad = None
    (w * 2).sum().backward()
    put("sgd.fresh_grad", w.grad)
    with torch.no_grad():
        w.clamp_(-1, 1)
        w[0] = 0.25
    put("sgd.clamped", w)
    # a plain Python loop over parameters with an in-place update and a detached copy
    lin = torch.nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.fill_(0.5)
        lin.bias.zero_()
    for _ in range(5):
        out = lin(x[:8]).squeeze(1)
        loss = torch.nn.functional.mse_loss(out, y[:8])
        lin.zero_grad()
        loss.backward()
        for p in lin.parameters():
            p.data.add_(p.grad.data, alpha=-0.1)
    put("sgd.lin_weight", lin.weight)
    put("sgd.lin_grad_after_zero", lin.weight.grad)
    lin.zero_grad(set_to_none=True)
    put("sgd.grad_none", lin.weight.grad is None)


def section_bits() -> None:
    g = torch.Generator().manual_seed(11)
    tokens = torch.randint(0, 1000, (6, 9), generator=g)
    # a rolling hash of trigrams: xor of shifted tokens into 2**12 buckets
    trigrams = tokens.unfold(1, 3, 1)
    h = (trigrams[..., 0] * 73856093) ^ (trigrams[..., 1] * 19349663) ^ (trigrams[..., 2] << 5)
    buckets = h & 0xFFF
    put("bits.buckets", buckets)
    put("bits.buckets_dtype_shift", (tokens >> 3) | (tokens << 2) & 0xFF)
    put("bits.rshift_neg", torch.tensor([-17, -1, 5]) >> 2)
    # popcount by the classic mask steps on int32
    v = torch.tensor([0, 1, 255, 1023, 0x12345678, 0x7FFFFFFF], dtype=torch.int32)
    c = v - ((v >> 1) & 0x55555555)
    c = (c & 0x33333333) + ((c >> 2) & 0x33333333)
    c = (c + (c >> 4)) & 0x0F0F0F0F
    c = (c * 0x01010101) >> 24
    put("bits.popcount", c & 0xFF)
    # Morton (z-order) codes of 2-d grid points by interleaving bits
    xs, ys = torch.meshgrid(torch.arange(4), torch.arange(4), indexing="ij")

    def spread(t):
        t = (t | (t << 8)) & 0x00FF00FF
        t = (t | (t << 4)) & 0x0F0F0F0F
        t = (t | (t << 2)) & 0x33333333
        return (t | (t << 1)) & 0x55555555

    morton = spread(xs) | (spread(ys) << 1)
    put("bits.morton", morton)
    put("bits.morton_order", torch.argsort(morton.flatten()))
    flags = torch.tensor([0b1010, 0b0110, 0b1111, 0], dtype=torch.uint8)
    put("bits.uint8", [flags & 0b0011, flags | 0b1000, flags ^ 0xFF, ~flags,
                       torch.bitwise_left_shift(flags, 4), flags.bitwise_right_shift(1)])
    masks = torch.tensor([[True, False, True], [False, False, True]])
    put("bits.bool", [masks & ~masks.flip(1), masks | masks.roll(1, 1), masks ^ True,
                      masks.any(1), masks.all(0), masks.sum(), masks.float().mean(),
                      masks.nonzero(), torch.where(masks)[1], masks.to(torch.int8).cumsum(1)])
    # argsort-based bucketing: group items by key and count, with stable sorting
    keys = torch.randint(0, 5, (20,), generator=g)
    values = torch.randn(20, generator=g)
    order = torch.argsort(keys, stable=True)
    sorted_keys = keys[order]
    starts = torch.searchsorted(sorted_keys, torch.arange(5))
    ends = torch.searchsorted(sorted_keys, torch.arange(5), right=True)
    put("bits.bucket_bounds", [starts, ends, ends - starts, torch.bincount(keys, minlength=6)])
    put("bits.bucket_sums", torch.bincount(keys, weights=values))
    put("bits.bucket_sums_dtype", torch.bincount(keys, weights=values.double()))
    put("bits.group_first", values[order][starts.clamp(max=19)])
    put("bits.histc", torch.histc(values, bins=6, min=-2, max=2))
    put("bits.histc_auto", torch.histc(values, bins=4))
    uniq, inverse, counts = torch.unique(keys, sorted=True, return_inverse=True,
                                         return_counts=True)
    put("bits.unique", [uniq, inverse, counts])
    rows = torch.tensor([[1, 2], [3, 4], [1, 2], [0, 9], [3, 4]])
    urows, rinv, rcounts = torch.unique(rows, dim=0, return_inverse=True, return_counts=True)
    put("bits.unique_rows", [urows, rinv, rcounts])
    cols, cinv = torch.unique(rows.T, dim=1, return_inverse=True)
    put("bits.unique_cols", [cols, cinv])
    consec, ccounts = torch.unique_consecutive(sorted_keys, return_counts=True)
    put("bits.consecutive", [consec, ccounts])
    edges = torch.tensor([-1.0, 0.0, 0.5, 1.0])
    probe = torch.tensor([[-2.0, 0.0, 0.25], [0.5, 1.0, 3.0]])
    put("bits.bucketize", [torch.bucketize(probe, edges), torch.bucketize(probe, edges,
                                                                          right=True),
                           torch.searchsorted(edges, probe), torch.searchsorted(
                               edges, probe, side="right"),
                           torch.bucketize(probe, edges, out_int32=True)])
    sorted_rows = torch.sort(torch.randn(3, 5, generator=g), dim=1).values
    put("bits.searchsorted_rows", torch.searchsorted(sorted_rows, torch.zeros(3, 2)))
    put("bits.divmod", [torch.tensor([-7, 7, -8]) // 3, torch.tensor([-7, 7, -8]) % 3,
                        torch.div(torch.tensor([-7, 7]), 2, rounding_mode="trunc"),
                        torch.remainder(torch.tensor([-7.5, 7.5]), 2),
                        torch.fmod(torch.tensor([-7, 7]), 3)])
    put("bits.gcd", [torch.gcd(torch.tensor([12, 18, -9]), torch.tensor([8, 27, 6])),
                     torch.lcm(torch.tensor([4, 6]), torch.tensor([6, 10]))])


def section_dtypes() -> None:
    put("dt.defaults", [str(torch.tensor([1, 2]).dtype), str(torch.tensor([1.0]).dtype),
                        str(torch.tensor([True]).dtype), str(torch.tensor(1 + 2j).dtype),
                        str(torch.arange(3).dtype), str(torch.arange(3.0).dtype),
                        str(torch.zeros(2).dtype), str(torch.randint(0, 3, (2,)).dtype),
                        str(torch.full((2,), 7).dtype), str(torch.full((2,), True).dtype),
                        str(torch.linspace(0, 1, 3).dtype), str(torch.get_default_dtype())])
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        made = [torch.tensor([1.5]), torch.zeros(1), torch.arange(2.0), torch.rand(1),
                torch.tensor(2.0) * 3, torch.nn.Linear(2, 2).weight, torch.tensor(1j)]
        put("dt.double_default", [str(t.dtype) for t in made])
        put("dt.double_int_mix", str((torch.tensor([1, 2]) / 2).dtype))
    finally:
        torch.set_default_dtype(old)
    put("dt.restored", str(torch.tensor([1.0]).dtype))
    i8 = torch.tensor([100, -100], dtype=torch.int8)
    u8 = torch.tensor([200, 3], dtype=torch.uint8)
    i32 = torch.tensor([7, -7], dtype=torch.int32)
    f16 = torch.tensor([1.5, 2.5], dtype=torch.float16)
    bf = torch.tensor([1.5, 2.5], dtype=torch.bfloat16)
    pairs = [(i8, u8), (i8, i32), (u8, True), (i32, 2.5), (i32, f16), (f16, bf),
             (f16, torch.tensor(2.0)), (i8, torch.tensor(300)), (u8, -1), (bf, 1j),
             (torch.tensor(True), 3), (i32, torch.tensor(1.0, dtype=torch.float64))]
    put("dt.promote", [str(torch.result_type(a, b)) for a, b in pairs])
    put("dt.promote_types", [str(torch.promote_types(torch.int16, torch.uint8)),
                             str(torch.promote_types(torch.float16, torch.int64)),
                             str(torch.promote_types(torch.bool, torch.complex64)),
                             str(torch.promote_types(torch.bfloat16, torch.float16))])
    put("dt.i8_plus_u8", i8 + u8)
    put("dt.i8_overflow", i8 * 2)
    put("dt.u8_wrap", u8 + 100)
    put("dt.u8_minus", u8 - 5)
    put("dt.i32_div", [i32 / 2, i32 // 2, i32 * 1.5, i32 ** 2, 2 ** i32.abs()])
    put("dt.f16_math", [f16 * 1000, f16 + bf, f16.sum(), f16.mean()])
    x = torch.tensor([1.7, -1.7, 2.5, -0.5, 3.99])
    put("dt.casts", [x.long(), x.int(), x.to(torch.int32), x.short(), x.to(torch.uint8).long(),
                     x.bool(), x.half(), x.bfloat16(), x.double(), x.type(torch.int16),
                     x.type_as(torch.tensor([1], dtype=torch.int64)), x.round(),
                     x.round(decimals=1), x.trunc(), x.frac(), x.ceil().int()])
    put("dt.type_str", [x.type(), x.long().type(), x.double().type(), str(x.to(torch.int32).dtype)])
    put("dt.is", [x.is_floating_point(), x.long().is_floating_point(), x.is_complex(),
                  x.long().is_signed(), x.to(torch.uint8).is_signed(), torch.is_tensor(x),
                  torch.is_floating_point(x.half()), x.element_size(), x.long().element_size(),
                  x.half().itemsize, x.nbytes, x.numel(), x.dim(), x.ndim])
    put("dt.finfo", [torch.finfo(torch.float16).max, torch.finfo().eps,
                     torch.finfo(torch.float64).tiny, torch.iinfo(torch.int32).min,
                     torch.iinfo(torch.uint8).max, torch.finfo(torch.bfloat16).resolution])
    put("dt.inplace_keeps", [str(i32.clone().add_(1).dtype),
                             str(i32.float().add_(torch.tensor([1], dtype=torch.int64)).dtype)])
    try:
        i32.clone().add_(1.5)
    except RuntimeError as error:
        put("dt.inplace_error", "can't be cast" in str(error))
    put("dt.mixed_cat", torch.cat([i32, torch.tensor([0.5, 1.5])]))
    put("dt.where_scalar", torch.where(i32 > 0, i32, 0.5))
    put("dt.sum_int", [i8.sum(), u8.sum(), torch.tensor([True, True]).sum(),
                       i8.prod(), i8.cumsum(0), i8.float().mean()])
    put("dt.from_list", [torch.tensor([1, 2.0]), torch.tensor([True, 2]), torch.tensor([[1], [2]]),
                         torch.as_tensor([3, 4], dtype=torch.float16)])
    import numpy as np

    arr = np.arange(6, dtype=np.int16).reshape(2, 3)
    shared = torch.from_numpy(arr)
    arr[0, 0] = 42
    put("dt.numpy_shared", shared)
    put("dt.numpy_types", [str(torch.from_numpy(np.ones(2, np.float32) * 2).dtype),
                           str(torch.tensor(np.float64(2.5)).dtype),
                           str((torch.ones(2) * np.float64(2.0)).dtype),
                           str(torch.as_tensor(np.array([1, 2], np.uint16)).dtype)])


def section_devices() -> None:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    put("dev.device", [str(device), device.type, repr(device), device.index is None,
                       str(torch.device("cpu", 0)) if False else "skip",
                       device == torch.device("cpu"), str(torch.device("cpu:0"))])
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    model = model.to(device)
    x = torch.randn(5, 3, device=device)
    y = torch.zeros(5, 1, device="cpu")
    t = torch.ones(2, device=torch.device("cpu"))
    put("dev.where", [str(p.device) for p in model.parameters()] + [str(x.device),
                                                                      str(t.device)])
    out = model(x.to(device)).cpu()
    put("dev.out", out)
    put("dev.loss", torch.nn.functional.mse_loss(out, y.to(device, non_blocking=True)))
    moved = x.to("cpu", torch.float64)
    put("dev.to_both", [str(moved.dtype), str(moved.device), x.to(x) is x,
                        x.to(device) is x, x.cpu() is x, x.to(dtype=torch.float32) is x])
    put("dev.like", [str(torch.zeros_like(x, device="cpu").device),
                     str(x.new_zeros(2).dtype), str(x.new_tensor([1, 2]).dtype),
                     str(x.long().new_ones(3).dtype), x.new_full((2,), 3.5),
                     x.new_empty(0).shape == (0,)])
    put("dev.is_cuda", [x.is_cuda, x.is_cpu, next(model.parameters()).is_cuda,
                        torch.cuda.device_count(), x.get_device()])
    amp_device = "cuda" if torch.cuda.is_available() else "cpu"
    put("dev.amp_type", amp_device)
    mps = getattr(torch.backends, "mps", None)
    put("dev.mps", bool(mps is not None and mps.is_available()))
    state = {k: v.to("cpu") for k, v in model.state_dict().items()}
    put("dev.state_keys", sorted(state))
    pin = torch.ones(2)
    put("dev.pinned", pin.is_pinned())


def section_printing() -> None:
    texts = []
    a = torch.tensor([[1.0, 2.5, -3.25], [1e-4, 100.0, 0.0]])
    texts += [str(a), repr(a), str(a.long()), str(a.bool()), str(torch.tensor(3.5)),
              repr(torch.tensor([], dtype=torch.int64)), repr(torch.zeros(2, 0)),
              str(torch.arange(5, dtype=torch.uint8)), str(torch.tensor([1e10, 1.0])),
              str(torch.tensor([0.1, 0.25], dtype=torch.float64)),
              str(torch.tensor([1.5], dtype=torch.float16)),
              str(torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0])),
              repr(torch.tensor([1.0, 2.0], requires_grad=True)),
              repr(torch.tensor([1.0, 2.0], requires_grad=True) * 2),
              str(torch.tensor([[1 + 2j, -0.5j]])), str(torch.arange(12).reshape(2, 2, 3)),
              str(torch.tensor([123456789.0, 0.001]))]
    torch.set_printoptions(precision=2)
    texts.append(str(a))
    torch.set_printoptions(sci_mode=True)
    texts.append(str(a))
    torch.set_printoptions(profile="default")
    torch.set_printoptions(threshold=5, edgeitems=2)
    texts.append(str(torch.arange(20.0)))
    texts.append(str(torch.arange(40).reshape(8, 5)))
    torch.set_printoptions(profile="default")
    torch.set_printoptions(linewidth=30)
    texts.append(str(torch.linspace(0, 1, 9)))
    torch.set_printoptions(profile="default")
    texts.append(str(torch.linspace(0, 1, 9)))
    loss = torch.tensor(0.123456)
    texts += [f"loss {loss:.3f}", f"{loss.item():.2e}", f"{torch.tensor(7)}",
              f"{torch.tensor([1.0, 2.0])}",
              "{:>8.2f}".format(torch.tensor(3.14159)),  # noqa: UP032 - str.format's path
              format(torch.tensor(2.5)), f"{torch.tensor(5):d}"]
    # predictions printed with their grad_fn: a [N, 1] output viewed / reshaped / flattened is
    # PyTorch's ViewBackward0 (not a squeeze)
    pred = torch.nn.Linear(2, 1)(torch.ones(3, 2))
    texts += [str(pred.view(-1))[-25:], str(pred.reshape(-1))[-25:], str(pred.flatten())[-25:],
              str(pred.squeeze(1))[-28:], str(pred.unsqueeze(0))[-28:], str(pred.T)[-25:],
              str(pred.sum())[-25:], str(pred.mean(0))[-25:], str(pred[0])[-25:],
              str(pred.detach())[:6], str(pred.argmax())]
    put("print.texts", texts)
    put("print.tolist", [str(a.tolist()), str(a.long().tolist()), str(torch.tensor(2).tolist()),
                         str(a.bool().tolist()), str(torch.tensor([1 + 1j]).tolist()),
                         str(type(torch.tensor(2.0).item())), str(type(torch.tensor(2).item())),
                         str(type(torch.tensor(True).item())),
                         str(torch.tensor([0.1], dtype=torch.float16).tolist())])
    arr = a.numpy()
    put("print.numpy", [str(arr.dtype), str(a.long().numpy().dtype), arr.flags.writeable,
                        str(torch.tensor([1], dtype=torch.uint8).numpy().dtype)])
    put("print.shape", [str(a.shape), repr(a.size()), str(a.size(1)), str(a.shape[-1]),
                        str(tuple(a.shape)), str(a.stride()), str(torch.Size([2, 3]).numel())])


SECTIONS = {
    "manual_sgd": section_manual_sgd, "bits": section_bits, "dtypes": section_dtypes,
    "devices": section_devices, "printing": section_printing,
}

if __name__ == "__main__":
    from prog_s23_PR6_harness import run

    run(SECTIONS)
