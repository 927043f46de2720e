"""Attention and Transformer layers against PyTorch: outputs, input and parameter gradients."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.nn import functional as F

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def load_from_torch(ours, theirs):
    state = theirs.state_dict()
    assert list(ours.state_dict()) == list(state)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in state.items()})


def mask_pair(mask):
    """The same mask for both libraries (None stays None)."""
    if mask is None:
        return None, None
    return dg.tensor(mask), torch.tensor(mask)


def run_both(fn_ours, fn_theirs, arrays, rtol=1e-7, atol=1e-9, pick=lambda out: out):
    """Call both on the same float64 inputs, compare the output and each input's gradient."""
    ours = [dg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = pick(fn_ours(*ours)), pick(fn_theirs(*theirs))
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
    weights = randn(*ref.shape, seed=7)
    (out * dg.tensor(weights)).sum().backward()
    (ref * torch.tensor(weights)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)


def compare_param_grads(ours, theirs, rtol=1e-7, atol=1e-9):
    named = dict(theirs.named_parameters())
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), named[name].grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=name)


# ----------------------------------------------------------------------------------------------
# scaled_dot_product_attention.

BOOL_MASK = randn(4, 6, seed=3) > -0.5
BOOL_MASK[2] = False  # a query that may attend to nothing: zeros, as PyTorch


@pytest.mark.parametrize("kwargs", [
    {}, {"is_causal": True}, {"scale": 0.3}, {"attn_mask": BOOL_MASK},
    {"attn_mask": randn(4, 6, seed=4)}, {"attn_mask": randn(2, 1, 4, 6, seed=5)},
])
def test_sdpa_matches_torch(kwargs):
    ours_kwargs = {k: dg.tensor(v) if isinstance(v, np.ndarray) else v
                   for k, v in kwargs.items()}
    theirs_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                     for k, v in kwargs.items()}
    run_both(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **ours_kwargs),
             lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
                 q, k, v, **theirs_kwargs),
             [randn(2, 3, 4, 5, seed=0), randn(2, 3, 6, 5, seed=1), randn(2, 3, 6, 7, seed=2)])


def test_sdpa_grouped_query_attention_and_errors():
    run_both(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
             lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
                 q, k, v, enable_gqa=True),
             [randn(1, 4, 3, 2, seed=0), randn(1, 2, 5, 2, seed=1), randn(1, 2, 5, 3, seed=2)])
    q = dg.randn(2, 3, 4)
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=dg.ones(3, 3), is_causal=True)
    with pytest.raises(RuntimeError, match=r"\(2, 3, 4\).*\(2, 3, 5\)"):
        F.scaled_dot_product_attention(q, dg.randn(2, 3, 5), q)


def test_sdpa_dropout_keeps_the_expectation():
    q = dg.zeros(1, 4, 2)
    v = dg.ones(1, 4, 3)
    dg.manual_seed(0)
    out = F.scaled_dot_product_attention(q, q, v, dropout_p=0.5)
    values = set(np.round(out.numpy().ravel() * 4).astype(int))  # each weight is 0 or 2/4
    assert values <= {0, 2, 4, 6, 8} and len(values) > 1


# ----------------------------------------------------------------------------------------------
# MultiheadAttention.


def make_mha(**kwargs):
    ours = nn.MultiheadAttention(dtype=np.float64, **kwargs)
    theirs = torch.nn.MultiheadAttention(dtype=torch.float64, **kwargs)
    with torch.no_grad():  # nonzero biases, so that the test sees them
        for p in theirs.parameters():
            p.add_(0.1 * torch.randn(p.shape, dtype=torch.float64))
    load_from_torch(ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
def test_mha_self_attention_matches_torch(batch_first, need_weights, average):
    ours, theirs = make_mha(embed_dim=8, num_heads=2, batch_first=batch_first)
    shape = (3, 5, 8) if batch_first else (5, 3, 8)
    kpm = np.zeros((3, 5), dtype=bool)
    kpm[1, 3:] = True
    kpm_ours, kpm_theirs = mask_pair(kpm)
    for index in ([0, 1] if need_weights else [0]):
        run_both(lambda x: ours(x, x, x, key_padding_mask=kpm_ours, need_weights=need_weights,
                                average_attn_weights=average),
                 lambda x: theirs(x, x, x, key_padding_mask=kpm_theirs,
                                  need_weights=need_weights, average_attn_weights=average),
                 [randn(*shape)], pick=lambda out, index=index: out[index])
    assert (ours(dg.randn(*shape, dtype=np.float64), dg.randn(*shape, dtype=np.float64),
                 dg.randn(*shape, dtype=np.float64), need_weights=need_weights)[1] is None) \
        == (not need_weights)


@pytest.mark.parametrize("mask_kind", ["bool2d", "float2d", "bool3d", "causal"])
def test_mha_attn_masks_and_parameter_grads(mask_kind):
    ours, theirs = make_mha(embed_dim=6, num_heads=3)
    length = 4
    if mask_kind == "bool2d":
        mask = randn(length, length, seed=1) > 0.5
        np.fill_diagonal(mask, False)
    elif mask_kind == "float2d":
        mask = randn(length, length, seed=1)
    elif mask_kind == "bool3d":
        mask = randn(2 * 3, length, length, seed=1) > 0.5
        mask[:, :, 0] = False
    else:
        mask = np.triu(np.full((length, length), -np.inf), 1)
    m_ours, m_theirs = mask_pair(mask)
    causal = mask_kind == "causal"
    run_both(lambda x: ours(x, x, x, attn_mask=m_ours, is_causal=causal)[0],
             lambda x: theirs(x, x, x, attn_mask=m_theirs, is_causal=causal)[0],
             [randn(length, 2, 6)])
    compare_param_grads(ours, theirs)


def test_mha_fully_padded_sequence_without_weights_gives_zeros_as_torch():
    ours, theirs = make_mha(embed_dim=4, num_heads=2, batch_first=True)
    kpm = np.zeros((2, 3), dtype=bool)
    kpm[0] = True
    k_ours, k_theirs = mask_pair(kpm)
    run_both(lambda x: ours(x, x, x, key_padding_mask=k_ours, need_weights=False)[0],
             lambda x: theirs(x, x, x, key_padding_mask=k_theirs, need_weights=False)[0],
             [randn(2, 3, 4)])


def test_mha_cross_attention_with_kdim_vdim_bias_kv_and_zero_attn():
    ours, theirs = make_mha(embed_dim=4, num_heads=2, kdim=3, vdim=5, add_bias_kv=True,
                            add_zero_attn=True, bias=False)
    assert [n for n, _ in ours.named_parameters()] == [
        "q_proj_weight", "k_proj_weight", "v_proj_weight", "bias_k", "bias_v", "out_proj.weight"]
    kpm = np.array([[0.0, -1.0, 0.5], [0.0, 0.0, -np.inf]])
    kpm_ours, kpm_theirs = mask_pair(kpm)
    run_both(lambda q, k, v: ours(q, k, v, key_padding_mask=kpm_ours)[0],
             lambda q, k, v: theirs(q, k, v, key_padding_mask=kpm_theirs)[0],
             [randn(2, 2, 4), randn(3, 2, 3, seed=1), randn(3, 2, 5, seed=2)])
    compare_param_grads(ours, theirs)


def test_mha_unbatched_and_key_is_value():
    ours, theirs = make_mha(embed_dim=4, num_heads=2)
    run_both(lambda q, k: ours(q, k, k)[1], lambda q, k: theirs(q, k, k)[1],
             [randn(3, 4), randn(5, 4, seed=1)])
    run_both(lambda q, k: ours(q, k, k)[0], lambda q, k: theirs(q, k, k)[0],
             [randn(3, 4), randn(5, 4, seed=1)])


def test_mha_init_and_errors():
    mha = nn.MultiheadAttention(16, 4)
    assert mha.in_proj_weight.shape == (48, 16) and not mha.in_proj_bias.detach().numpy().any()
    bound = np.sqrt(6 / (16 + 48))
    assert np.abs(mha.in_proj_weight.detach().numpy()).max() <= bound
    with pytest.raises(AssertionError, match="divisible"):  # (PyTorch's class)
        nn.MultiheadAttention(10, 3)
    x = dg.randn(3, 2, 16)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        mha(x, x, x, attn_mask=dg.zeros(3, 4))


def test_mha_dropout_only_in_training():
    mha = nn.MultiheadAttention(4, 2, dropout=0.9)
    x = dg.randn(3, 1, 4)
    mha.eval()
    np.testing.assert_array_equal(mha(x, x, x)[0].detach().numpy(),
                                  mha(x, x, x)[0].detach().numpy())
    mha.train()
    weights = mha(x, x, x, average_attn_weights=False)[1].detach().numpy()
    assert (weights == 0).mean() > 0.5


# ----------------------------------------------------------------------------------------------
# Transformer layers.


def copy_torch(theirs, ours):
    with torch.no_grad():
        for p in theirs.parameters():
            p.add_(0.1 * torch.randn(p.shape, dtype=torch.float64))
    load_from_torch(ours, theirs)


@pytest.mark.parametrize("norm_first, activation, batch_first",
                         [(False, "relu", False), (True, "gelu", True), (False, "tanh", True)])
def test_encoder_layer_matches_torch(norm_first, activation, batch_first):
    act_ours = dg.tanh if activation == "tanh" else activation
    act_theirs = torch.tanh if activation == "tanh" else activation
    kwargs = dict(d_model=8, nhead=2, dim_feedforward=12, dropout=0.0, norm_first=norm_first,
                  batch_first=batch_first, layer_norm_eps=1e-4)
    ours = nn.TransformerEncoderLayer(activation=act_ours, dtype=np.float64, **kwargs)
    theirs = torch.nn.TransformerEncoderLayer(activation=act_theirs, dtype=torch.float64,
                                              **kwargs)
    copy_torch(theirs, ours)
    kpm = np.zeros((2, 5), dtype=bool)
    kpm[0, -2:] = True
    kpm_ours, kpm_theirs = mask_pair(kpm)
    causal = np.triu(np.ones((5, 5), dtype=bool), 1)
    c_ours, c_theirs = mask_pair(causal)
    run_both(lambda x: ours(x, src_mask=c_ours, src_key_padding_mask=kpm_ours),
             lambda x: theirs(x, src_mask=c_theirs, src_key_padding_mask=kpm_theirs),
             [randn(2, 5, 8) if batch_first else randn(5, 2, 8)])
    compare_param_grads(ours, theirs)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    kwargs = dict(d_model=6, nhead=3, dim_feedforward=10, dropout=0.0, norm_first=norm_first)
    ours = nn.TransformerDecoderLayer(dtype=np.float64, **kwargs)
    theirs = torch.nn.TransformerDecoderLayer(dtype=torch.float64, **kwargs)
    copy_torch(theirs, ours)
    mask = np.triu(np.full((3, 3), -np.inf), 1)
    m_ours, m_theirs = mask_pair(mask)
    mkpm = np.array([[False, False, True, False], [False, False, False, False]])
    k_ours, k_theirs = mask_pair(mkpm)
    run_both(lambda t, m: ours(t, m, tgt_mask=m_ours, memory_key_padding_mask=k_ours),
             lambda t, m: theirs(t, m, tgt_mask=m_theirs, memory_key_padding_mask=k_theirs),
             [randn(3, 2, 6), randn(4, 2, 6, seed=1)])
    compare_param_grads(ours, theirs)


def test_full_transformer_matches_torch():
    kwargs = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                  dim_feedforward=16, dropout=0.0, batch_first=True)
    ours = nn.Transformer(dtype=np.float64, **kwargs)
    theirs = torch.nn.Transformer(dtype=torch.float64, **kwargs)
    load_from_torch(ours, theirs)
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=np.float64)
    ref_mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    np.testing.assert_array_equal(mask.numpy(), ref_mask.numpy())
    run_both(lambda s, t: ours(s, t, tgt_mask=mask, tgt_is_causal=True),
             lambda s, t: theirs(s, t, tgt_mask=ref_mask, tgt_is_causal=True),
             [randn(2, 5, 8), randn(2, 4, 8, seed=1)], rtol=1e-6)
    compare_param_grads(ours, theirs, rtol=1e-6)
    with pytest.raises(RuntimeError, match="batch number"):
        ours(dg.randn(2, 5, 8, dtype=np.float64), dg.randn(3, 4, 8, dtype=np.float64))


def test_encoder_stack_copies_layers_and_applies_norm():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0)
    stack = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4))
    assert stack.layers[0].linear1.weight is not stack.layers[1].linear1.weight
    names = [n for n, _ in stack.named_parameters()]
    theirs = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.0), 2,
        norm=torch.nn.LayerNorm(4), enable_nested_tensor=False)
    assert names == [n for n, _ in theirs.named_parameters()]
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        nn.TransformerEncoderLayer(4, 2, activation="swish")
