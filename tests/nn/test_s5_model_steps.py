"""W4's layers at the sizes that take their fast paths: GELU's blockwise kernel and layer_norm's
row path against PyTorch, layer_norm's row statistics kept from forward for the VJP (bit for
bit against computing them again), the attention scale folded into the query projection (bit
for bit against scaling the queries), and capture_step replays of a transformer layer."""

import gc

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.ops import normalization
from deltagrad._engine.ops.registry import ARRAY, OPS

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
LAYER_NORM = OPS["layer_norm"]


def _grads_vs_torch(fn_dg, fn_torch, arrays, rtol, atol):
    dg_in = [dg.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    weights = RNG.standard_normal(fn_torch(*t_in).shape).astype(arrays[0].dtype)
    out_dg, out_t = fn_dg(*dg_in), fn_torch(*t_in)
    assert out_dg.dtype == getattr(dg, str(out_t.dtype).removeprefix("torch."))
    np.testing.assert_allclose(out_dg.detach().numpy(), out_t.detach().numpy(), rtol, atol)
    (out_dg * dg.tensor(weights)).sum().backward()
    (out_t * torch.tensor(weights)).sum().backward()
    for a, b in zip(dg_in, t_in, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol, atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(65,), (7, 300), (3, 40, 1100)])  # one block and several
def test_gelu_kernel_sizes_match_torch(dtype, shape):
    x = (RNG.standard_normal(shape) * 3).astype(dtype)
    x.reshape(-1)[:3] = [0.0, 9.0, -9.0]
    # (float32: 1 + erf cancels for x < -3, as in PyTorch, but from an erf 3.8 ulp off.)
    tol = (1e-5, 5e-6) if dtype == np.float32 else (1e-12, 1e-13)
    _grads_vs_torch(dg.nn.functional.gelu, torch.nn.functional.gelu, [x], *tol)


def test_gelu_non_contiguous_input_and_infinities():
    x = (RNG.standard_normal((300, 70)) * 3).astype(np.float32)
    x[0, :3] = [np.inf, -np.inf, np.nan]
    xt = x.T  # a transposed view
    a, b = dg.tensor(xt, requires_grad=True), torch.tensor(xt, requires_grad=True)
    dg.nn.functional.gelu(a).sum().backward()
    torch.nn.functional.gelu(b).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), 1e-5, 5e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("has_weight,affine", [(True, 2), (True, 1), (False, 1), (False, 0)])
def test_layer_norm_kept_statistics_give_the_bits_of_recomputing(dtype, has_weight, affine):
    # The VJP with the forward's row statistics and without them (taken already) must agree
    # bit for bit: capture_step's replays and retain_graph's second backward may take either.
    op = LAYER_NORM
    x = (RNG.standard_normal((6, 40, 64)) * 2 + 3).astype(dtype)
    params = [np.linspace(-1, 2, 64, dtype=dtype) for _ in range(affine)]
    attrs = {"ndim": 1, "eps": 1e-5, "has_weight": has_weight}
    needs = (True,) * (1 + affine)
    out = op.forward(x, *params, **attrs)
    g = RNG.standard_normal(out.shape).astype(dtype)
    first = op.vjp(ARRAY, g, out, x, *params, needs=needs, **attrs)
    assert normalization._kept(out) is None  # the first VJP took them
    second = op.vjp(ARRAY, g, out, x, *params, needs=needs, **attrs)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_layer_norm_kept_statistics_are_dropped_with_their_output():
    gc.collect()
    before = len(normalization._KEPT)
    x = dg.tensor(RNG.standard_normal((4, 8, 64)).astype(np.float32), requires_grad=True)
    y = dg.nn.functional.layer_norm(x, (64,), dg.ones(64), dg.zeros(64))
    assert len(normalization._KEPT) == before + 1
    del y
    gc.collect()
    assert len(normalization._KEPT) == before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", ["both", "weight", "bias"])
def test_layer_norm_row_path_matches_torch(dtype, affine):
    x = (RNG.standard_normal((5, 33, 64)) * 2 + 3).astype(dtype)
    x[0, 0] = 7.0  # a constant row
    w = RNG.standard_normal(64).astype(dtype) if affine != "bias" else None
    b = RNG.standard_normal(64).astype(dtype) if affine != "weight" else None
    arrays = [x] + [a for a in (w, b) if a is not None]

    def call(lib):
        def fn(x, *affine_args):
            it = iter(affine_args)
            weight = next(it) if w is not None else None
            bias = next(it) if b is not None else None
            return lib.nn.functional.layer_norm(x, (64,), weight, bias, 1e-5)
        return fn

    tol = (1e-4, 1e-5) if dtype == np.float32 else (1e-10, 1e-11)
    _grads_vs_torch(call(dg), call(torch), arrays, *tol)


def test_layer_norm_row_path_retain_graph_backward_twice():
    x = dg.tensor(RNG.standard_normal((40, 64)).astype(np.float32), requires_grad=True)
    norm = dg.nn.LayerNorm(64)
    y = (norm(x) * dg.tensor(RNG.standard_normal((40, 64)).astype(np.float32))).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    x.grad = None
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first)


def test_transformer_step_replays_bit_for_bit():
    dg.manual_seed(0)
    layer = dg.nn.TransformerEncoderLayer(32, 4, 128, dropout=0.0, activation="gelu",
                                          batch_first=True, norm_first=True)
    params = list(layer.parameters())
    mask = dg.nn.Transformer.generate_square_subsequent_mask(8)

    def loss_fn(x):
        return layer(x, src_mask=mask, is_causal=True).square().mean()

    step = dg.capture_step(loss_fn)
    for _ in range(2):
        x = dg.tensor(RNG.standard_normal((6, 8, 32)).astype(np.float32))
        for p in params:
            p.grad = None
        loss = loss_fn(x)
        loss.backward()
        eager = (loss.item(), [p.grad.numpy().copy() for p in params])
        for p in params:
            p.grad = None
        loss = step(x)
        assert loss.item() == eager[0]
        for p, g in zip(params, eager[1], strict=True):
            np.testing.assert_array_equal(p.grad.numpy(), g)


@pytest.mark.parametrize("heads,embed", [(4, 64), (1, 16), (4, 48), (2, 64)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_attention_scale_folded_into_the_query_projection_is_exact(heads, embed, dtype):
    # Head dim 16 and 4 fold 1/sqrt(d) (a power of two) into the projection; 12 and 32 scale
    # the queries. Either way: the bits of softmax((x Wq + bq) s (x Wk + bk)^T + mask) (...).
    rng = np.random.default_rng(heads * embed)
    x_np = rng.standard_normal((3, 8, embed)).astype(dtype)
    dg.manual_seed(1)
    mha = dg.nn.MultiheadAttention(embed, heads, batch_first=True, dtype=getattr(
        dg, np.dtype(dtype).name))
    with dg.no_grad():
        mha.in_proj_bias.copy_(dg.tensor(rng.standard_normal(3 * embed).astype(dtype)))
    mask = dg.nn.Transformer.generate_square_subsequent_mask(8).to(getattr(
        dg, np.dtype(dtype).name))

    def by_hand(x):
        w, b, d = mha.in_proj_weight, mha.in_proj_bias, embed // heads
        q, k, v = (dg.nn.functional.linear(x, w[i * embed:(i + 1) * embed],
                                           b[i * embed:(i + 1) * embed]) for i in range(3))
        q, k, v = (t.reshape(3, 8, heads, d).transpose(1, 2) for t in (q, k, v))
        weights = (dg.matmul(q * (1.0 / np.sqrt(d)), k.transpose(-2, -1)) + mask).softmax(-1)
        # The output projection runs over [L, N] rows, as PyTorch's (its row order shows in
        # the bits of the weight's gradient).
        out = dg.matmul(weights, v).permute(2, 0, 1, 3).reshape(8, 3, embed)
        return mha.out_proj(out).transpose(0, 1)

    results = []
    for fn in (lambda x: mha(x, x, x, attn_mask=mask, need_weights=False, is_causal=True)[0],
               by_hand):
        x = dg.tensor(x_np, requires_grad=True)
        for p in mha.parameters():
            p.grad = None
        out = fn(x)
        (out * out).sum().backward()
        results.append([out.detach().numpy()] + [p.grad.numpy() for p in mha.parameters()]
                       + [x.grad.numpy()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)
