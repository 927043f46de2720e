"""Research scripts that keep half their numbers in NumPy (PR10, session 25): weights loaded
from NumPy into a model (param.data.copy_, load_state_dict of from_numpy arrays, np.savez of a
state dict and back), in-place writes between the two libraries, NumPy / SciPy linear algebra
and statistics on tensors, NumPy randomness driving tensor code (permutations as indices,
random.shuffle of tensors), dtype questions a script asks, and printed text of tensors built
from NumPy. Tiny sizes, seeded; run by prog_s25_PR10_all.py.
"""

import io
import os
import random
import tempfile

import numpy as np
import scipy.special
import scipy.stats
import torch
import torch.nn as nn
from prog_s23_PR6_harness import put
from prog_s25_PR10_numpy import attempt, kind


def section_numpy_weights() -> None:
    rng = np.random.default_rng(11)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
    arrays = {k: rng.normal(size=tuple(v.shape)) for k, v in net.state_dict().items()}
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(arrays["0.weight"]))  # float64 into float32
        net[0].bias.data = torch.from_numpy(arrays["0.bias"]).float()
    put("w.copied", net[0].weight)
    put("w.bias", net[0].bias)
    put("w.bias_is_param", isinstance(net[0].bias, nn.Parameter))
    result = net.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
    put("w.load_result", [list(result.missing_keys), list(result.unexpected_keys)])
    put("w.loaded_dtype", str(net[2].weight.dtype))
    put("w.loaded", net[2].weight)
    x = torch.from_numpy(rng.normal(size=(5, 3)).astype(np.float32))
    put("w.out", net(x))
    attempt("w.float64_input", lambda: net(torch.from_numpy(rng.normal(size=(2, 3)))))
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "weights.npz")
        np.savez(path, **{k: v.detach().numpy() for k, v in net.state_dict().items()})
        with np.load(path) as data:
            again = {k: torch.tensor(data[k]) for k in data.files}
        twin = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        twin.load_state_dict(again)
        put("w.npz_roundtrip", twin(x))
        buffer = io.BytesIO()
        torch.save({"array": np.arange(3.0), "tensor": torch.ones(2)}, buffer)
        buffer.seek(0)
        # KNOWN (documented in serialization/__init__.py): deltagrad loads ndarrays with
        # weights_only=True; PyTorch's default unpickler refuses them (UnpicklingError)
        attempt("known.load_numpy_default", lambda: torch.load(buffer)["tensor"])
        buffer.seek(0)
        put("w.load_numpy_unsafe", torch.load(buffer, weights_only=False)["array"])
        buffer.seek(0)
        put("w.load_numpy_kind", kind(torch.load(buffer, weights_only=False)["array"]))
    # gradients back to NumPy for a hand-written optimiser step
    w = torch.tensor(rng.normal(size=3), requires_grad=True)
    loss = (w ** 2).sum()
    loss.backward()
    step = w.detach().numpy() - 0.1 * w.grad.numpy()
    put("w.np_step", step)
    put("w.np_step_dtype", str(step.dtype))
    with torch.no_grad():
        w.copy_(torch.from_numpy(step))
    put("w.after_step", w)


def section_writes() -> None:
    t = torch.zeros(2, 3)
    arr = np.arange(6, dtype=np.float64).reshape(2, 3)
    t.numpy()[:] = arr
    put("wr.numpy_slice", t)
    np.copyto(t.numpy(), arr * 2)
    put("wr.copyto", t)
    t[:] = torch.from_numpy(arr) + 1
    put("wr.setitem_tensor", t)
    # KNOWN (left, PR10): PyTorch refuses an ndarray (list, tuple, np.float32) as the value of
    # t[i] = value (TypeError); deltagrad writes it (the repository's own tests rely on that)
    spare = t.clone()
    attempt("known.setitem_ndarray", lambda: spare.__setitem__(0, np.array([7.0, 8.0, 9.0])))
    t[1, np.int64(2)] = np.float64(-3.5)
    put("wr.np_scalar_value", t)
    t.copy_(torch.from_numpy(arr.astype(np.int32)))
    put("wr.copy_int", t)
    np.add(t.numpy(), 1, out=t.numpy())
    put("wr.ufunc_out", t)
    a = t.numpy()
    a *= 2
    put("wr.numpy_imul", t)
    t.mul_(0.5)
    put("wr.arr_sees_mul_", a.copy())
    u = torch.ones(4)
    attempt("wr.ufunc_out_tensor", lambda: np.add(np.ones(4), 1, out=u))
    put("wr.after_ufunc_out_tensor", u)
    ints = torch.zeros(3, dtype=torch.int64)
    ints.numpy()[:] = np.array([1.9, -2.7, 3.2])  # NumPy's unsafe cast: truncation
    put("wr.int_truncate", ints)
    attempt("wr.iadd_ndarray", lambda: ints.__iadd__(np.array([1, 1, 1])))
    d = torch.zeros(3)
    d += torch.from_numpy(np.array([0.5, 1.5, 2.5]))  # float64 into float32 in place
    put("wr.iadd_f64_tensor", d)
    clone = torch.from_numpy(arr).clone()
    arr[0, 0] = 100
    put("wr.clone_detached", clone)


def section_linalg_stats() -> None:
    g = torch.Generator().manual_seed(12)
    a = torch.randn(4, 4, generator=g, dtype=torch.float64)
    spd = a @ a.T + 4 * torch.eye(4, dtype=torch.float64)
    b = torch.randn(4, generator=g, dtype=torch.float64)
    x, y = torch.randn(20, generator=g), torch.randn(20, generator=g)
    cases = {
        "inv": lambda: np.linalg.inv(spd), "solve": lambda: np.linalg.solve(spd, b),
        "eigh": lambda: np.linalg.eigh(spd)[0], "det": lambda: np.linalg.det(spd),
        "einsum": lambda: np.einsum("ij,j->i", spd, b), "corrcoef": lambda: np.corrcoef(x, y),
        "cov": lambda: np.cov(torch.stack([x, y])), "trace": lambda: np.trace(spd),
        "pearson": lambda: scipy.stats.pearsonr(x.numpy(), y.numpy())[0],
        "spearman": lambda: scipy.stats.spearmanr(x, y)[0],
        "softmax": lambda: scipy.special.softmax(x),
        "logsumexp": lambda: scipy.special.logsumexp(x),
        "expit": lambda: scipy.special.expit(x), "zscore": lambda: scipy.stats.zscore(x.numpy()),
        "quantile": lambda: np.quantile(x.numpy(), [0.1, 0.9]),
        "histogram": lambda: np.histogram(x.numpy(), bins=4, range=(-2, 2))[0],
        "searchsorted": lambda: np.searchsorted(np.sort(x.numpy()), y.numpy()[:5]),
        "interp": lambda: np.interp(y.numpy()[:4], np.sort(x.numpy()), np.arange(20.0)),
        "polyfit": lambda: np.polyfit(x.numpy(), (2 * x + 1).numpy(), 1),
        "lstsq": lambda: np.linalg.lstsq(spd, b, rcond=None)[0],
    }
    for name, call in cases.items():
        attempt(f"la.{name}", call)
    # tensor-side results checked against NumPy on the same values
    put("la.torch_vs_np_solve", torch.linalg.solve(spd, b) - torch.from_numpy(
        np.linalg.solve(spd.numpy(), b.numpy())))
    put("la.corr_tensor", torch.corrcoef(torch.stack([x, y])))
    put("la.np_float_on_tensor", np.float64(x.mean()))
    put("la.sqrt_of_np", torch.sqrt(torch.tensor(np.float32(2.0))))


def section_numpy_random() -> None:
    np.random.seed(13)
    random.seed(13)
    t = torch.arange(10) * 2
    perm = np.random.permutation(10)
    put("rnd.perm_index", t[perm])
    put("rnd.perm_tensor_index", t[torch.from_numpy(perm)])
    put("rnd.choice", np.random.choice(t.numpy(), 3, replace=False))
    put("rnd.choice_of_tensor", np.random.choice(t, 3))
    items = list(torch.arange(5.0))
    random.shuffle(items)
    put("rnd.shuffled", torch.stack(items))
    put("rnd.sample", random.sample(range(len(t)), 3))
    mask = np.random.rand(10) < 0.5
    put("rnd.masked", t[mask])
    put("rnd.masked_t", t[torch.from_numpy(mask)])
    noise = torch.from_numpy(np.random.normal(0, 1, (2, 3)).astype(np.float32))
    put("rnd.noise", noise)
    batches = np.array_split(np.random.permutation(7), 3)
    put("rnd.splits", [t[b] for b in batches])
    put("rnd.split_kinds", [kind(t[b]) for b in batches])
    layer = nn.Linear(3, 2)
    layer.weight.data = torch.from_numpy(np.random.uniform(-1, 1, (2, 3))).float()
    nn.init.zeros_(layer.bias)
    put("rnd.layer_out", layer(noise))
    put("rnd.layer_weight_dtype", str(layer.weight.dtype))


def section_dtypes_text() -> None:
    t32 = torch.from_numpy(np.array([1.5, 2.25], dtype=np.float32))
    t64 = torch.from_numpy(np.array([1.5, 2.25]))
    ti = torch.from_numpy(np.array([1, 2], dtype=np.int32))
    put("dt.names", [str(t.dtype) for t in (t32, t64, ti)])
    put("dt.numpy_dtypes", [str(t.numpy().dtype) for t in (t32, t64, ti)])
    put("dt.reprs", [repr(t) for t in (t32, t64, ti)])
    put("dt.str_np", str(t64.numpy()))
    put("dt.item_kinds", [kind(t.item()) for t in (t32[0], t64[0], ti[0])])
    put("dt.np_scalar_repr", repr(np.float32(t32[1].item())))
    put("dt.tensor_of_np_scalar", [str(torch.tensor(v).dtype) for v in
                                   (np.float32(1), np.float64(1), np.int32(1), np.int64(1),
                                    np.bool_(True), np.uint8(1), np.int16(1))])
    put("dt.as_tensor_int32", str(torch.as_tensor(np.arange(3, dtype=np.int32)).dtype))
    put("dt.promote_i32_f32", str((ti + t32).dtype))
    put("dt.promote_f64_f32", str((t64 + t32).dtype))
    put("dt.promote_np0d", str((t32 * torch.from_numpy(np.array(2.0))).dtype))
    put("dt.double_of_np", str(torch.tensor(np.ones(2)).float().dtype))
    put("dt.is_floating", [torch.is_floating_point(t) for t in (t32, ti)])
    put("dt.finfo", float(torch.finfo(torch.float32).eps) == float(np.finfo(np.float32).eps))
    put("dt.np_dtype_name", [np.dtype(t.numpy().dtype).name for t in (t32, ti)])
    put("dt.format", f"{t32[0].item():.2f}, {float(t64.sum()):.3e}, {ti.sum().item():03d}")
    put("dt.np_savetxt", _savetxt(t32.reshape(1, 2)))
    put("dt.tolist_types", [kind(v) for v in torch.from_numpy(np.array([1, 2], np.uint8)).tolist()])


def _savetxt(t) -> str:
    buffer = io.StringIO()
    np.savetxt(buffer, t.numpy(), fmt="%.3f", delimiter=",")
    return buffer.getvalue()


SECTIONS = {"numpy_weights": section_numpy_weights, "writes": section_writes,
            "linalg_stats": section_linalg_stats, "numpy_random": section_numpy_random,
            "dtypes_text": section_dtypes_text}
