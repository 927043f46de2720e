"""What session 31's sequence / attention / conv module family (``s31_SL25_seq_modules.py``)
found, each fix against PyTorch on the same code: the exception class (and values where the
call runs)."""

import pytest

torch = pytest.importorskip("torch")
import deltagrad as dg  # noqa: E402


def _outcome(lib, make):
    try:
        out = make(lib)
    except Exception as exc:  # noqa: BLE001 - the class is compared
        return type(exc).__name__
    return out.detach().numpy() if isinstance(out, lib.Tensor) else out


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
@pytest.mark.parametrize("proj", [0, 1, 2])
def test_rnn_and_gru_refuse_proj_size(kind, proj):
    # PyTorch: ValueError for any proj_size given to RNN / GRU (was TypeError: an unexpected
    # keyword); LSTM takes it.
    def make(lib):
        return getattr(lib.nn, kind)(3, 3, proj_size=proj)
    assert _outcome(torch, make) == _outcome(dg, make) == "ValueError"
    assert dg.nn.LSTM(3, 3, proj_size=1).proj_size == 1
    assert getattr(dg.nn, kind)(3, 3).hidden_size == 3


@pytest.mark.parametrize("op", ["max_pool2d", "max_pool3d"])
@pytest.mark.parametrize("kernel,padding,dilation", [(3, 2, 2), (4, 3, 2), (4, 2, 2),
                                                     (3, 1, 2), (3, 2, 1)])
@pytest.mark.parametrize("indices", [False, True])
def test_max_pool_padding_is_checked_against_the_plain_kernel(op, kernel, padding, dilation,
                                                               indices):
    # PyTorch's max pools take padding up to half the kernel size (not the dilated one):
    # padding 2 of a dilated 3-kernel raised there and ran here (a padded output).
    def make(lib):
        x = ((lib.arange(1000, dtype=lib.float64) * 7) % 17).reshape(1, 10, 10, 10)
        x = x if op == "max_pool3d" else x[0]
        x.requires_grad_(True)
        out = getattr(lib.nn.functional, op)(x, kernel, 1, padding, dilation,
                                             return_indices=indices)
        return out[0] if indices else out
    ref, got = _outcome(torch, make), _outcome(dg, make)
    if isinstance(ref, str):
        assert got == ref
    else:
        assert not isinstance(got, str), got
        assert ref.shape == got.shape and (ref == got).all()


@pytest.mark.parametrize("query", ["float32", "float64"])
@pytest.mark.parametrize("mask", ["bool", "float16", "float32", "float64", "int64", "uint8"])
def test_sdpa_mask_dtype_is_checked(query, mask):
    # PyTorch: an attn_mask must be bool, float32 or the query's dtype (RuntimeError); a
    # float64 mask of a float32 query was cast silently, an integer one raised TypeError.
    def make(lib):
        q = lib.arange(24, dtype=getattr(lib, query)).reshape(1, 2, 3, 4) / 10
        m = (lib.arange(9).reshape(3, 3) % 2).to(getattr(lib, mask))
        return lib.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=m)
    ref, got = _outcome(torch, make), _outcome(dg, make)
    if isinstance(ref, str):
        assert got == ref
    else:
        assert not isinstance(got, str), got
        assert ref.dtype == got.dtype and abs(ref - got).max() < 1e-6


@pytest.mark.parametrize("which", ["key_padding_mask", "attn_mask"])
def test_mha_integer_masks_raise_assertion_error(which):
    # PyTorch's _canonical_mask: AssertionError for a mask neither bool nor float (was
    # TypeError); a TransformerEncoderLayer's src_key_padding_mask too.
    def make(lib):
        lib.manual_seed(0)
        mha = lib.nn.MultiheadAttention(4, 2)
        x = lib.ones(3, 2, 4)
        shape = (2, 3) if which == "key_padding_mask" else (3, 3)
        return mha(x, x, x, **{which: lib.zeros(shape, dtype=lib.int64)})[0]
    assert _outcome(torch, make) == _outcome(dg, make) == "AssertionError"

    def layer(lib):
        x = lib.ones(3, 2, 4)
        return lib.nn.TransformerEncoderLayer(4, 2)(
            x, src_key_padding_mask=lib.zeros(2, 3, dtype=lib.int64))
    assert _outcome(torch, layer) == _outcome(dg, layer) == "AssertionError"


@pytest.mark.parametrize("dtype", [None, "bool", "float64", "float16"])
def test_square_subsequent_mask_dtypes(dtype):
    # PyTorch fills -inf in the dtype asked for: a bool mask is True above the diagonal (was
    # TypeError here).
    def make(lib):
        kw = {} if dtype is None else {"dtype": getattr(lib, dtype)}
        return lib.nn.Transformer.generate_square_subsequent_mask(4, **kw)
    ref, got = make(torch), make(dg)
    assert str(ref.dtype).rsplit(".")[-1] == str(got.dtype).rsplit(".")[-1]
    assert (ref.numpy() == got.numpy()).all()


@pytest.mark.parametrize("extra", ["plain", "bias_kv", "zero_attn", "padding", "weights"])
@pytest.mark.parametrize("lengths", [(1, 2), (3, 3), (3, 2)])
def test_mha_is_causal_hint_replaces_the_mask(extra, lengths):
    # PyTorch: is_causal=True with need_weights=False and no key_padding_mask drops attn_mask
    # and masks the keys after each query (SDPA's is_causal, over bias_k's / the zero key
    # too); with weights or a padding mask the given mask is used. deltagrad used the given
    # mask always: an all-False mask attended to every key (a silent difference).
    tgt, src = lengths

    def make(lib):
        lib.manual_seed(3)
        mha = lib.nn.MultiheadAttention(4, 2, add_bias_kv=extra == "bias_kv",
                                        add_zero_attn=extra == "zero_attn").double()
        q = ((lib.arange(tgt * 8, dtype=lib.float64).reshape(tgt, 2, 4) % 5) * 0.3)
        k = (lib.arange(src * 8, dtype=lib.float64).reshape(src, 2, 4) % 7) * 0.2
        q.requires_grad_(True)
        kw = dict(attn_mask=lib.zeros(tgt, src, dtype=lib.bool), is_causal=True,
                  need_weights=extra == "weights")
        if extra == "padding":
            kw["key_padding_mask"] = lib.tensor([[False] * src, [False] * (src - 1) + [True]])
        out = mha(q, k, k, **kw)[0]
        out.sum().backward()
        return lib.cat([out.flatten(), q.grad.flatten()])
    ref, got = make(torch).detach().numpy(), make(dg).detach().numpy()
    assert ref.shape == got.shape and abs(ref - got).max() < 1e-10


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("last", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_embedding_bag_max_norm_renorms_every_id_first(mode, padding_idx, last, weighted):
    # PyTorch renorms the rows of every id given (padding_idx's, those past
    # include_last_offset's end) before its per_sample_weights mode check: deltagrad renormed
    # only the bags' rows, and none where that check raised (the weight left unscaled).
    def make(lib):
        lib.manual_seed(5)
        bag = lib.nn.EmbeddingBag(6, 3, mode=mode, padding_idx=padding_idx, max_norm=1.0,
                                  include_last_offset=last)
        with lib.no_grad():
            bag.weight.mul_(3)
        kw = {"per_sample_weights": lib.arange(5, dtype=lib.float32) * 0.25} if weighted else {}
        try:
            out = bag(lib.tensor([3, 2, 5, 4, 1]), lib.tensor([0, 2, 3]), **kw)
            out = out.detach().numpy() if not (last and padding_idx is not None) else None
        except Exception as exc:  # noqa: BLE001 - the class is compared
            out = type(exc).__name__
        return out, bag.weight.detach().numpy()
    (ref, ref_w), (got, got_w) = make(torch), make(dg)
    assert abs(ref_w - got_w).max() < 1e-6
    if isinstance(ref, str) or ref is None or (last and mode != "sum"):
        # (ids past the last offset: s20_SL5_families' _bag_past_last_offset)
        assert type(ref) is type(got) and (ref is None or not isinstance(ref, str) or
                                           ref == got)
    else:
        assert abs(ref - got).max() < 1e-6


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("p", ["inf", "-inf"])
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_lp_pool_of_infinite_order_is_a_max(dims, p, ceil_mode):
    # PyTorch 2.13's lp_pool{1,2,3}d: p = inf is the max of |x| over each window (-inf: the
    # min); deltagrad took the power mean, inf ** 0 = 1 everywhere (a silent difference).
    def make(lib):
        x = ((lib.arange(2 * 5 ** dims, dtype=lib.float64) * 7 % 11 - 5) * 0.3).reshape(
            (2,) + (5,) * dims).requires_grad_(True)
        pool = getattr(lib.nn, f"LPPool{dims}d")(float(p), 2, ceil_mode=ceil_mode)
        y = pool(x)
        (y * y).sum().backward()
        return y.detach().numpy(), x.grad.numpy()
    (ref, ref_grad), (got, got_grad) = make(torch), make(dg)
    assert ref.shape == got.shape and (ref == got).all() and (ref_grad == got_grad).all()


@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("mode", ["train", "eval", "train_no_grad", "eval_no_grad"])
@pytest.mark.parametrize("stacked", [False, True], ids=["layer", "encoder"])
@pytest.mark.parametrize("mask", ["bool", "float"])
def test_encoder_is_causal_hint_with_a_non_causal_mask(batch_first, norm_first, mode, stacked,
                                                       mask):
    # is_causal=True with an all-allowed src_mask: PyTorch's composed path masks the keys after
    # each query (the hint wins), its fused inference path (batch_first, eval, no_grad) reads
    # the mask. deltagrad's no_grad plan read the mask on every path (silent differences).
    def make(lib):
        lib.manual_seed(1)
        layer = lib.nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0,
                                               batch_first=batch_first, norm_first=norm_first)
        m = lib.nn.TransformerEncoder(layer, 2, enable_nested_tensor=False) if stacked \
            else layer
        if mode.startswith("eval"):
            m.eval()
        x = ((lib.arange(36, dtype=lib.float32) * 5 % 7 - 3) * 0.3).reshape(3, 3, 4)
        given = lib.zeros(3, 3, dtype=lib.bool if mask == "bool" else lib.float32)
        kw = {"mask" if stacked else "src_mask": given, "is_causal": True}
        with lib.no_grad() if mode.endswith("no_grad") else lib.enable_grad():
            return m(x, **kw).detach().numpy()
    ref, got = make(torch), make(dg)
    assert ref.shape == got.shape and abs(ref - got).max() < 1e-5

