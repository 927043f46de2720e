"""CPU autocast swept against PyTorch (session 19, AC): ops of PyTorch's CPU lists and ~60
common ops outside them, run inside ``autocast("cpu", dtype=bfloat16 / float16)`` on float32,
float64 and mixed inputs; result dtypes and values, then gradients (dtypes and values) after a
backward outside the context. Then the API: the state functions, nesting, decorators,
``custom_fwd(cast_inputs)`` / ``custom_bwd``, ``torch.cpu.amp`` and GradScaler("cpu").

Values: a half-precision result must be bit for bit PyTorch's. A float32 result (an op outside
the lists, or one of its float32 list) is compared at rtol 4e-6: deltagrad's float32 kernels
(exp, softmax, norms, reductions, BLAS products) already differ from PyTorch's vectorized ones
by an ulp or two outside autocast; autocast changes nothing there. Gradients flow back through
the casts in the same dtypes as PyTorch's; their values (sums over bfloat16 products) at
rtol 1e-2 where a half dtype is on the path, else as the forward.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

HALVES = ["bfloat16", "float16"]


def _arr(shape, seed, positive=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    return np.abs(a) + 0.5 if positive else a


class _Maker:
    """Builds the inputs of one case in one library and keeps the leaves (for gradients)."""

    def __init__(self, lib):
        self.lib, self.leaves = lib, []

    def __call__(self, shape, seed=0, dtype="float32", positive=False, grad=True):
        t = self.lib.tensor(_arr(shape, seed, positive), dtype=getattr(self.lib, dtype))
        if grad:
            t.requires_grad_()
            self.leaves.append(t)
        return t


def _f(lib):
    return lib.nn.functional


def _module(name, *args, **kwargs):
    def run(L, m):
        L.manual_seed(0)
        layer = getattr(L.nn, name)(*args, **kwargs)
        out = layer(m(*_MODULE_INPUTS[name]))
        return out[0] if isinstance(out, tuple) else out
    return run


_MODULE_INPUTS = {"Linear": [(2, 4)], "Conv2d": [(1, 1, 5, 5)], "LSTM": [(5, 1, 3)],
                  "GRU": [(5, 1, 3)], "RNN": [(5, 1, 3)], "GRUCell": [(2, 3)],
                  "LSTMCell": [(2, 3)], "Bilinear": [(2, 3)], "LayerNorm": [(3, 4)],
                  "TransformerEncoderLayer": [(3, 1, 4)], "Embedding": None}

CASES = {
    # ---- PyTorch's lower-precision list
    "matmul": lambda L, m: L.matmul(m((3, 4)), m((4, 5), 1)),
    "matmul_1d": lambda L, m: L.matmul(m((4,)), m((4,), 1)),
    "@": lambda L, m: m((2, 3, 4)) @ m((4, 5), 1),
    "mm": lambda L, m: L.mm(m((3, 4)), m((4, 5), 1)),
    "Tensor.mm": lambda L, m: m((3, 4)).mm(m((4, 5), 1)),
    "bmm": lambda L, m: L.bmm(m((2, 3, 4)), m((2, 4, 5), 1)),
    "addmm": lambda L, m: L.addmm(m((3, 5), 2), m((3, 4)), m((4, 5), 1)),
    "addbmm": lambda L, m: L.addbmm(m((3, 5), 2), m((2, 3, 4)), m((2, 4, 5), 1)),
    "baddbmm": lambda L, m: L.baddbmm(m((2, 3, 5), 2), m((2, 3, 4)), m((2, 4, 5), 1)),
    "baddbmm_bf16_self": lambda L, m: L.baddbmm(m((2, 3, 5), 2, "bfloat16"), m((2, 3, 4)),
                                                m((2, 4, 5), 1)),
    "linear": lambda L, m: _f(L).linear(m((3, 4)), m((5, 4), 1), m((5,), 2)),
    "conv1d": lambda L, m: _f(L).conv1d(m((1, 2, 6)), m((3, 2, 3), 1)),
    "conv2d": lambda L, m: _f(L).conv2d(m((1, 2, 5, 5)), m((3, 2, 3, 3), 1), m((3,), 2)),
    "conv3d": lambda L, m: _f(L).conv3d(m((1, 1, 3, 3, 3)), m((2, 1, 2, 2, 2), 1)),
    "conv_transpose1d": lambda L, m: _f(L).conv_transpose1d(m((1, 2, 4)), m((2, 3, 3), 1)),
    "conv_transpose2d": lambda L, m: _f(L).conv_transpose2d(m((1, 2, 4, 4)),
                                                            m((2, 3, 3, 3), 1)),
    "prelu": lambda L, m: _f(L).prelu(m((2, 3)), m((1,), 1)),
    "einsum_contract": lambda L, m: L.einsum("ij,jk->ik", m((3, 4)), m((4, 5), 1)),
    "einsum_dot": lambda L, m: L.einsum("i,i->", m((4,)), m((4,), 1)),
    "einsum_batch": lambda L, m: L.einsum("bij,bjk->bik", m((2, 3, 4)), m((2, 4, 5), 1)),
    "einsum_outer": lambda L, m: L.einsum("i,j->ij", m((3,)), m((4,), 1)),
    "einsum_elementwise": lambda L, m: L.einsum("ij,ij->ij", m((3, 4)), m((3, 4), 1)),
    "einsum_one_operand": lambda L, m: L.einsum("ij->j", m((3, 4))),
    "tensordot": lambda L, m: L.tensordot(m((3, 4)), m((4, 5), 1), dims=1),
    "tensordot_outer": lambda L, m: L.tensordot(m((4,)), m((4,), 1), dims=0),
    "tensordot_scalar": lambda L, m: L.tensordot(m((3, 4)), m((3, 4), 1), dims=2),
    "linalg.vecdot": lambda L, m: L.linalg.vecdot(m((3, 4)), m((3, 4), 1)),
    "matrix_power": lambda L, m: L.linalg.matrix_power(m((3, 3)), 3),
    "matrix_power_1": lambda L, m: L.matrix_power(m((3, 3)), 1),
    "multi_dot": lambda L, m: L.linalg.multi_dot([m((3, 4)), m((4, 5), 1), m((5, 2), 2)]),
    "multi_dot_4": lambda L, m: L.linalg.multi_dot([m((4,)), m((4, 6), 1), m((6, 2), 2),
                                                    m((2, 3), 3)]),
    "sdpa_weights_MHA": _module("MultiheadAttention", 4, 2),
    "Linear": _module("Linear", 4, 3),
    "Conv2d": _module("Conv2d", 1, 2, 3),
    "Bilinear": lambda L, m: (L.manual_seed(0), L.nn.Bilinear(3, 3, 2)(m((2, 3)),
                                                                       m((2, 3), 1)))[1],
    # ---- PyTorch's float32 list (half inputs widened)
    "prod": lambda L, m: L.prod(m((3, 4), dtype="bfloat16")),
    "Tensor.prod": lambda L, m: m((3, 4), dtype="float16").prod(1),
    "cdist": lambda L, m: L.cdist(m((3, 4), dtype="bfloat16"), m((2, 4), 1, "bfloat16")),
    "trace": lambda L, m: L.trace(m((3, 3), dtype="bfloat16")),
    "mse_loss": lambda L, m: _f(L).mse_loss(m((3, 4), dtype="bfloat16"),
                                            m((3, 4), 1, "bfloat16")),
    "l1_loss": lambda L, m: _f(L).l1_loss(m((3, 4), dtype="float16"), m((3, 4), 1, "float16")),
    "cross_entropy": lambda L, m: _f(L).cross_entropy(m((3, 4), dtype="bfloat16"),
                                                      L.tensor([0, 1, 3])),
    "nll_loss": lambda L, m: _f(L).nll_loss(m((3, 4), dtype="bfloat16"), L.tensor([0, 1, 3])),
    "bce_with_logits": lambda L, m: _f(L).binary_cross_entropy_with_logits(
        m((3, 4), dtype="bfloat16"), L.tensor(np.full((3, 4), 0.25), dtype=L.bfloat16)),
    "smooth_l1_loss": lambda L, m: _f(L).smooth_l1_loss(m((3, 4), dtype="bfloat16"),
                                                        m((3, 4), 1, "bfloat16")),
    "kl_div": lambda L, m: _f(L).kl_div(m((3, 4), dtype="bfloat16"),
                                        m((3, 4), 1, "bfloat16", positive=True),
                                        reduction="batchmean"),
    "grid_sample": lambda L, m: _f(L).grid_sample(m((1, 1, 4, 4), dtype="bfloat16"),
                                                  L.tensor(_arr((1, 2, 2, 2), 1) * 0.5,
                                                           dtype=L.bfloat16),
                                                  align_corners=False),
    "fft.rfft": lambda L, m: L.fft.rfft(m((8,), dtype="bfloat16")).abs(),
    "avg_pool3d": lambda L, m: _f(L).avg_pool3d(m((1, 1, 2, 4, 4), dtype="bfloat16"), 2),
    # ---- outside the lists: run in their inputs' dtypes
    "softmax": lambda L, m: L.softmax(m((3, 4)), -1),
    "log_softmax_bf16": lambda L, m: L.log_softmax(m((3, 4), dtype="bfloat16"), -1),
    "layer_norm": lambda L, m: _f(L).layer_norm(m((3, 4)), (4,)),
    "layer_norm_bf16": lambda L, m: _f(L).layer_norm(m((3, 4), dtype="bfloat16"), (4,)),
    "group_norm": lambda L, m: _f(L).group_norm(m((2, 4, 3)), 2),
    "batch_norm": lambda L, m: _f(L).batch_norm(m((3, 4)), None, None, training=True),
    "rms_norm": lambda L, m: _f(L).rms_norm(m((3, 4)), (4,)),
    "norm": lambda L, m: L.norm(m((3, 4))),
    "sum": lambda L, m: m((3, 4)).sum(),
    "sum_bf16": lambda L, m: m((3, 4), dtype="bfloat16").sum(),
    "mean": lambda L, m: m((3, 4)).mean(0),
    "cumsum": lambda L, m: m((3, 4)).cumsum(0),
    "exp_bf16": lambda L, m: m((3, 4), dtype="bfloat16").exp(),
    "sigmoid": lambda L, m: m((3, 4)).sigmoid(),
    "relu": lambda L, m: m((3, 4)).relu(),
    "gelu_bf16": lambda L, m: _f(L).gelu(m((3, 4), dtype="bfloat16")),
    "pow": lambda L, m: m((3, 4)) ** 2,
    "add": lambda L, m: m((3, 4)) + m((3, 4), 1),
    "add_bf16_f32": lambda L, m: m((3,), dtype="bfloat16") + m((3,), 1),
    "mul_f16_f64": lambda L, m: m((3,), dtype="float16") * m((3,), 1, "float64"),
    "mv": lambda L, m: L.mv(m((3, 4)), m((4,), 1)),
    "addmv": lambda L, m: L.addmv(m((3,), 2), m((3, 4)), m((4,), 1)),
    "outer": lambda L, m: L.outer(m((3,)), m((4,), 1)),
    "max_pool2d": lambda L, m: _f(L).max_pool2d(m((1, 1, 4, 4)), 2),
    "avg_pool2d": lambda L, m: _f(L).avg_pool2d(m((1, 1, 4, 4)), 2),
    "adaptive_avg_pool1d": lambda L, m: _f(L).adaptive_avg_pool1d(m((1, 2, 6)), 4),
    "adaptive_avg_pool2d": lambda L, m: _f(L).adaptive_avg_pool2d(m((1, 1, 5, 5)), 3),
    "adaptive_avg_pool3d": lambda L, m: _f(L).adaptive_avg_pool3d(m((1, 1, 3, 5, 5)), 2),
    "interpolate_bilinear": lambda L, m: _f(L).interpolate(m((1, 1, 4, 4)), scale_factor=2,
                                                           mode="bilinear"),
    "interpolate_bicubic": lambda L, m: _f(L).interpolate(m((1, 1, 4, 4)), size=(5, 6),
                                                          mode="bicubic"),
    "interpolate_linear": lambda L, m: _f(L).interpolate(m((1, 2, 4)), scale_factor=1.5,
                                                         mode="linear"),
    "interpolate_area": lambda L, m: _f(L).interpolate(m((1, 1, 6, 6)), size=(4, 4),
                                                       mode="area"),
    "interpolate_antialias": lambda L, m: _f(L).interpolate(m((1, 1, 8, 8)), size=(3, 3),
                                                            mode="bilinear", antialias=True),
    "embedding": lambda L, m: _f(L).embedding(L.tensor([0, 2]), m((3, 4))),
    "topk": lambda L, m: m((3, 4)).topk(2).values,
    "std": lambda L, m: m((3, 4)).std(),
    "logsumexp": lambda L, m: m((3, 4)).logsumexp(1),
    "where_mixed": lambda L, m: L.where(L.tensor([True, False, True]), m((3,)),
                                        m((3,), 1, "float64")),
    "cat_bf16_f32": lambda L, m: L.cat([m((2,)), m((2,), 1, "bfloat16")]),
    "stack_f32_f64": lambda L, m: L.stack([m((2,)), m((2,), 1, "float64")]),
    "cat_of_matmuls": lambda L, m: L.cat([m((2, 3)) @ m((3, 2), 1), m((2, 2), 2)]),
    "mm_float64": lambda L, m: L.mm(m((3, 4), dtype="float64"), m((4, 5), 1, "float64")),
    "linear_float64": lambda L, m: _f(L).linear(m((3, 4), dtype="float64"),
                                                m((5, 4), 1, "float64")),
    "mm_bf16_f32": lambda L, m: L.mm(m((3, 4), dtype="bfloat16"), m((4, 5), 1)),
    "mm_f16_f32": lambda L, m: L.mm(m((3, 4), dtype="float16"), m((4, 5), 1)),
    "mse_of_linear": lambda L, m: _f(L).mse_loss(_f(L).linear(m((3, 4)), m((2, 4), 1)),
                                                 m((3, 2), 2)),
    "LayerNorm_of_Linear": lambda L, m: (L.manual_seed(0), L.nn.LayerNorm(3)(
        L.nn.Linear(4, 3)(m((2, 4)))))[1],
    "GRUCell": _module("GRUCell", 3, 4),
    "LSTMCell": _module("LSTMCell", 3, 4),
    # ---- in-place ops on float32 tensors with half results
    "add_(mm)": lambda L, m: m((3, 4), grad=False).add_(L.mm(m((3, 4)), m((4, 4), 1))),
    "copy_(mm)": lambda L, m: m((3, 4), grad=False).copy_(L.mm(m((3, 4)), m((4, 4), 1))),
    "mul_": lambda L, m: (m((3, 4)) * 1).mul_(2.5),
    "addmm_out_of_place_then_relu_": lambda L, m: L.addmm(m((3, 4), 2), m((3, 2)),
                                                          m((2, 4), 1)).relu_(),
    "setitem(mm)": lambda L, m: _setitem(m((3, 4), grad=False), L.mm(m((1, 4)), m((4, 4), 1))),
}

_MODULE_INPUTS.update({"MultiheadAttention": None})


def _setitem(target, value):
    target[0] = value
    return target


def _mha(L, m):
    L.manual_seed(0)
    layer = L.nn.MultiheadAttention(4, 2, add_bias_kv=True)
    x = m((3, 2, 4))
    mask = L.tensor(np.triu(np.full((3, 3), -1.0), 1), dtype=L.float32)
    out, weights = layer(x, x, x, attn_mask=mask)
    return L.cat([out.reshape(-1).float(), weights.reshape(-1).float()])


CASES["sdpa_weights_MHA"] = _mha
for _name in ("LSTM", "GRU", "RNN"):
    CASES[_name] = _module(_name, 3, 4)
CASES["TransformerEncoderLayer"] = _module("TransformerEncoderLayer", 4, 2, 8, dropout=0.0)
CASES["sdpa"] = lambda L, m: _f(L).scaled_dot_product_attention(m((1, 2, 3, 4)),
                                                                 m((1, 2, 3, 4), 1),
                                                                 m((1, 2, 3, 4), 2))
CASES["linalg.pinv"] = lambda L, m: L.linalg.pinv(m((3, 3)))

# Differences left, with why (the test checks they are still there: a fix must move them out).
KNOWN = {
    # PyTorch's LSTM runs oneDNN's bfloat16 kernel (mkldnn_rnn_layer: bfloat16 out);
    # deltagrad's steps its cell as PyTorch's RNN / GRU do (those match since session 20) and
    # rounds the results to bfloat16: the dtype, with values an ulp or two off
    "LSTM": "value",
    # (sdpa and TransformerEncoderLayer match since session 20: attention's _attend_half
    # computes half inputs as PyTorch's CPU flash kernel; rows of 16 keys or more may differ
    # by an ulp, its vectorised exponential)
    # PyTorch's bilinear (_trilinear) casts its inner products and returns float32 (bfloat16
    # level values); deltagrad's stays float32 throughout (it raised here before session 19)
    "Bilinear": "value",
    # linalg.pinv is composite in PyTorch: svd widened to float32, then a matmul that is cast
    "linalg.pinv": "dtype",
}
KNOWN_F16 = {
    # (float16 transposed convolutions match since session 24: nn/_conv_half.py)
    # PyTorch's float16 LSTM under CPU autocast fails in oneDNN ("could not create a primitive
    # descriptor"); deltagrad's steps its cell (see KNOWN)
    "LSTM": "torch raises",
}


def _run(lib, name, dtype):
    make = _Maker(lib)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.autocast("cpu", dtype=getattr(lib, dtype)):
            out = CASES[name](lib, make)
    assert not lib.is_autocast_enabled("cpu")
    grads = []
    if out.requires_grad:
        try:
            (out.float() * lib.tensor(_arr(tuple(out.shape), 7))).sum().backward()
        except RuntimeError:  # (PyTorch's pinv backward mixes bfloat16 and float32 in mm)
            if lib is dg:
                raise
            return out, None
        grads = [leaf.grad for leaf in make.leaves]
    return out, grads


def _values(t):
    return None if t is None else (str(t.dtype).split(".")[-1],
                                   t.detach().double().numpy().copy())


def _differences(name, dtype):
    """What differs between PyTorch and deltagrad for one case: "dtype", "value" or None."""
    try:
        theirs, their_grads = _run(torch, name, dtype)
    except RuntimeError:
        return "torch raises"
    ours, our_grads = _run(dg, name, dtype)
    expected, actual = _values(theirs), _values(ours)
    if expected[0] != actual[0] or expected[1].shape != actual[1].shape:
        return "dtype"
    half = expected[0] in HALVES
    if half and not np.array_equal(expected[1], actual[1], equal_nan=True):
        return "value"
    if not half and not np.allclose(actual[1], expected[1], rtol=4e-6, atol=1e-6):
        return "value"
    if their_grads is None:  # (PyTorch's backward raised: the forward compared)
        return None
    if len(their_grads) != len(our_grads):
        return "grad"
    for g_theirs, g_ours in zip(their_grads, our_grads):
        e, a = _values(g_theirs), _values(g_ours)
        if e is None or a is None:
            if e is not a:
                return "grad"
            continue
        if e[0] != a[0] or e[1].shape != a[1].shape:
            return "grad dtype"
        if not np.allclose(a[1], e[1], rtol=1e-2, atol=1e-2 * np.abs(e[1]).max()):
            return "grad value"
    return None


@pytest.mark.parametrize("dtype", HALVES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_op_under_cpu_autocast_matches_pytorch(name, dtype):
    known = (KNOWN_F16.get(name) if dtype == "float16" else None) or KNOWN.get(name)
    assert _differences(name, dtype) == known


@pytest.mark.parametrize("dtype", HALVES)
@pytest.mark.parametrize("seed", range(6))
def test_multi_dot_order_is_pytorchs(seed, dtype):
    # deltagrad multiplied left to right; PyTorch picks the cheapest order (its rule for
    # three matrices, the matrix-chain order beyond): other roundings
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 8, size=rng.integers(4, 7))
    arrays = [rng.standard_normal((a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    results = [lib.linalg.multi_dot([lib.tensor(a, dtype=getattr(lib, dtype)) for a in arrays])
               .double().numpy() for lib in (torch, dg)]
    np.testing.assert_array_equal(results[1], results[0])


def test_float16_einsum_accumulates_in_float32():
    # NumPy's float16 einsum rounded partial sums; PyTorch's half kernels round once
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((5, 16)), rng.standard_normal((16, 7)), rng.standard_normal(40)
    # (not "ij,jk->ij": PyTorch sums k first and rounds that to float16, here one rounding)
    for lib_args in [("ij,jk->ik", a, b), ("i->", c), ("ij,j->i", a, b[:, 0])]:
        eq, *arrays = lib_args
        results = [lib.einsum(eq, *[lib.tensor(x, dtype=lib.float16) for x in arrays])
                   .double().numpy() for lib in (torch, dg)]
        np.testing.assert_array_equal(results[1], results[0])


@pytest.mark.parametrize("reduction", ["sum", "mean", "prod", "cumsum"])
def test_reduction_to_bfloat16_of_a_tensor_that_requires_grad(reduction):
    # dtype=bfloat16 was refused as an integral result (ml_dtypes' NumPy kind is "V"); nn's
    # bilinear reached it under autocast
    results = []
    for L in (torch, dg):
        x = L.tensor([0.5, 1.25, -2.0], requires_grad=True)
        args = (0,) if reduction == "cumsum" else ()
        y = getattr(x, reduction)(*args, dtype=L.bfloat16)
        y.float().sum().backward()
        results.append((_values(y), _values(x.grad)))
    (ours, our_grad), (theirs, their_grad) = results[1], results[0]
    assert ours[0] == theirs[0] and our_grad[0] == their_grad[0]
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_array_equal(our_grad[1], their_grad[1])
