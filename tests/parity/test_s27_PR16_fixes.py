"""Regression tests for what PR16's modern-model programs (session 27) found, each a
differential test against PyTorch 2.13.

- F.scaled_dot_product_attention(attn_mask=..., is_causal=True): where PyTorch 2.13's CPU flash
  kernel takes the call it applies both masks (the top-left causal one and attn_mask, bool or
  float); its math kernel, chosen otherwise, raises RuntimeError. deltagrad raised always.
- Embedding max_norm: the renorm scale max_norm / (norm + 1e-7) in float64, as PyTorch (it was
  float32 here: rows one ulp off).
"""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def _inputs(length, source, value_dim, mask_shape, kind, seed, ndim=4):
    rs = np.random.RandomState(seed)
    lead = (2, 3) if ndim == 4 else (3,)
    q = rs.randn(*lead, length, 4).astype(np.float32)
    k = rs.randn(*lead, source, 4).astype(np.float32)
    v = rs.randn(*lead, source, value_dim).astype(np.float32)
    mask = (rs.rand(*mask_shape) > 0.3) if kind == "bool" else rs.randn(*mask_shape).astype(
        np.float32)
    return q, k, v, mask


def _run(lib, arrays, mask_grad=False, **kw):
    q, k, v, mask = arrays
    tq, tk, tv = (lib.tensor(a, requires_grad=True) for a in (q, k, v))
    tm = lib.tensor(mask, requires_grad=mask_grad)
    out = lib.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm,
                                                         is_causal=True, **kw)
    (out * lib.linspace(-1, 1, out.shape[-1])).sum().backward()
    return [out.detach().numpy()] + [t.grad.numpy() for t in (tq, tk, tv)]


BOTH = {  # id -> (L, S, mask shape, mask kind): the flash kernel's calls
    "square-float": (4, 4, (4, 4), "float"), "square-bool": (4, 4, (4, 4), "bool"),
    "wide-float": (4, 6, (4, 6), "float"), "tall-bool": (5, 3, (5, 3), "bool"),
    "row-float": (4, 6, (1, 6), "float"), "4d-float": (4, 4, (2, 1, 4, 4), "float"),
}


@pytest.mark.parametrize("case", list(BOTH))
def test_sdpa_attn_mask_with_is_causal_applies_both(case):
    length, source, mask_shape, kind = BOTH[case]
    arrays = _inputs(length, source, 4, mask_shape, kind, seed=len(case))
    for ours, theirs in zip(_run(dg, arrays), _run(torch, arrays), strict=True):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


REFUSED = {  # id -> (value head size, mask shape, ndim, mask requires grad, dropout_p)
    "value-head-size": (5, (4, 4), 4, False, 0.0), "3d-inputs": (4, (4, 4), 3, False, 0.0),
    "3d-mask": (4, (3, 4, 4), 4, False, 0.0), "mask-requires-grad": (4, (4, 4), 4, True, 0.0),
    "dropout": (4, (4, 4), 4, False, 0.5),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_sdpa_attn_mask_with_is_causal_refused_by_the_math_kernel(case):
    value_dim, mask_shape, ndim, mask_grad, dropout_p = REFUSED[case]
    arrays = _inputs(4, 4, value_dim, mask_shape, "float", seed=3, ndim=ndim)
    for lib in (torch, dg):
        with pytest.raises(RuntimeError, match="should not be set when is_causal=True"):
            _run(lib, arrays, mask_grad=mask_grad, dropout_p=dropout_p)


def test_sdpa_attn_mask_with_is_causal_under_sdpa_kernel():
    arrays = _inputs(4, 4, 4, (4, 4), "float", seed=5)
    for lib in (torch, dg):
        attention = lib.nn.attention
        with attention.sdpa_kernel(attention.SDPBackend.MATH):
            with pytest.raises(RuntimeError, match="should not be set when is_causal=True"):
                _run(lib, arrays)
        with attention.sdpa_kernel([attention.SDPBackend.MATH,
                                    attention.SDPBackend.FLASH_ATTENTION]):
            assert _run(lib, arrays)[0].shape == (2, 3, 4, 4)


def test_embedding_max_norm_scale_is_computed_in_float64():
    # PyTorch's embedding_renorm_ scales a row by max_norm / (norm + 1e-7) computed in double,
    # then multiplies the float32 row: deltagrad divided in float32, one ulp off (an Embedding
    # with max_norm=1.0 printed norms 1. where PyTorch prints 1.0000). The norm itself can
    # still differ by an ulp for short rows (PyTorch's reduction order; KNOWN in the report).
    row = [[-2.1787893772125244, 0.5684312582015991]]
    ours = dg.nn.Embedding.from_pretrained(dg.tensor(row), max_norm=1.0)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(row), max_norm=1.0)
    a, b = ours(dg.tensor([0])), theirs(torch.tensor([0]))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert str(a.norm(dim=-1)) == str(b.norm(dim=-1)) == "tensor([1.0000])"
    rs = np.random.RandomState(16)
    weight = (rs.randn(300, 8) * 2).astype(np.float32)  # (8 wide: PyTorch's norm bits agree)
    ours, theirs = dg.tensor(weight), torch.tensor(weight)
    dg.nn.functional.embedding(dg.tensor(np.arange(300)), ours, max_norm=1.0)
    torch.nn.functional.embedding(torch.tensor(np.arange(300)), theirs, max_norm=1.0)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=3e-7, atol=0)


@pytest.mark.parametrize("dtypes", [("bfloat16", "float32"), ("float32", "float64"),
                                    ("float16", "float32")], ids=["bf16-f32", "f32-f64", "f16-f32"])
def test_rms_norm_warns_once_on_mismatched_weight_dtype(dtypes):
    # PyTorch's fused rms_norm warns (TORCH_WARN_ONCE: once per process) when the weight's
    # dtype is not the input's; deltagrad said nothing. The key is discarded first (order).
    import warnings

    from deltagrad._engine import errors

    said = {}
    for name, lib in (("torch", torch), ("deltagrad", dg)):
        errors._WARNED_ONCE.discard("rms_norm_dtypes")
        x = lib.ones(2, 3, dtype=getattr(lib, dtypes[0]))
        w = lib.ones(3, dtype=getattr(lib, dtypes[1]), requires_grad=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = lib.nn.functional.rms_norm(x, (3,), w)
            lib.nn.functional.rms_norm(x, (3,), w)
        said[name] = (str(out.dtype).rsplit(".", 1)[-1],
                      [(type(m.message).__name__,
                        str(m.message).split(" (Triggered internally")[0]) for m in caught])
    assert said["deltagrad"][0] == said["torch"][0]
    if said["torch"][1]:  # (PyTorch warns once per process: only a fresh one shows it)
        assert said["deltagrad"][1] == said["torch"][1]
    assert len(said["deltagrad"][1]) == 1
    assert said["deltagrad"][1][0][1].startswith("Mismatch dtype between input and weight")
    errors._WARNED_ONCE.discard("rms_norm_dtypes")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dg.nn.functional.rms_norm(dg.ones(2, 3), (3,), dg.ones(3))  # same dtypes: silent
    assert not caught
