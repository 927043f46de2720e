"""In-place changes after a forward, over PyTorch's OpInfo samples (s15 VS): each op runs on
non-leaf inputs, then an input, a view of one, the base of a view it took, or its output is
changed in place (``add_`` / ``mul_`` / ``zero_``), and the backward must raise in both
libraries (the same class, at the same step) or give the same gradients in both
(``s15_VS_harness``).

A deltagrad backward that used the changed values where PyTorch refuses is a silent wrong
gradient (``silent``), never allowed. What remains is listed below, each op with why, and
fails when it stops differing:

- ``permissive``: PyTorch refuses, deltagrad's gradients are those of the unchanged values
  (its rule reads its own intermediate or a private copy, not the changed tensor);
- ``dg_raises``: deltagrad refuses a backward PyTorch runs (its rule reads a value PyTorch did
  not save: the input where PyTorch saved the output, or values where PyTorch kept sizes).

The default run takes two samples of the ops in ``DEFAULT_OPS`` (the fixed cases and common
ops); ``make soak`` runs every op of op_db with autograd, two samples each, in float64.
"""
from __future__ import annotations

import collections
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

sys.path.insert(0, str(Path(__file__).parent))
import opinfo_harness as H  # noqa: E402
import s15_VS_harness as V  # noqa: E402

DEFAULT_OPS = (
    # fixed in s15: pieces of split / chunk / unbind after their base changed (PyTorch
    # refuses), unsafe_chunk's pieces keep their node, an index tensor zeroed after take /
    # scatter / put / index_put / max_unpool, view_as_complex remade over its changed base,
    # complex outputs changed in place, rules reading only shapes (ceil, cat, mean)
    "chunk", "split", "unbind", "unsafe_chunk", "take", "scatter", "put", "index_put",
    "nn.functional.max_unpool1d", "view_as_complex", "polar", "ceil", "cat", "mean",
    # common ops whose backward reads the input or the output
    "exp", "tanh", "sigmoid", "pow", "mul", "matmul", "softmax", "addcmul", "transpose",
    "gather", "index_select", "nn.functional.linear", "nn.functional.relu",
)

_P = ("deltagrad's backward reads its own intermediate or a private copy, not the changed "
      "tensor: the gradients of the unchanged values, where PyTorch refuses")
_R_OUT = ("deltagrad's rule reads the input where PyTorch saved only the output (or the "
          "reverse): it refuses a backward PyTorch runs")
_R_VALUES = ("deltagrad's rule (or its composite) reads a value PyTorch did not save (PyTorch "
             "kept sizes or another tensor): it refuses a backward PyTorch runs")

_MUTATE = {
    "repeat": "an in-place write into repeat's output of an empty tensor (an empty expand in "
              "deltagrad) is refused at the write",
    "unfold": "writing in place into overlapping unfold windows raises (README: PyTorch's "
              "result depends on its write order)",
}

PERMISSIVE = frozenset({
    'addcdiv', 'addcmul', 'cdist', 'cholesky_solve', 'combinations', 'complex', 'cross',
    'cummax', 'cummin', 'dist', 'div.floor_rounding', 'div.trunc_rounding', 'gather',
    # (index_select, index_reduce's prod / amin / amax and masked_scatter keep the caller's
    # index / mask since s22 BR3: an in-place change of it raises, as in PyTorch)
    'index_add', 'index_copy', 'index_fill', 'index_put', 'index_reduce.mean', 'ldexp',
    'linalg.cross', 'linalg.householder_product', 'linalg.lstsq', 'linalg.lstsq.grad_oriented',
    # (vander with N = 2 is a stack of 1 and x, whose rule reads nothing since s16 SK; PyTorch's
    # cumprod saves x: deltagrad gives the unchanged values' gradient where PyTorch refuses)
    'linalg.vander',
    'linalg.lu', 'linalg.lu_solve', 'linalg.slogdet', 'linalg.svdvals',
    'lu_solve', 'masked_select', 'median', 'mvlgamma.mvlgamma_p_1',
    'mvlgamma.mvlgamma_p_3', 'mvlgamma.mvlgamma_p_5', 'nanmean', 'nanmedian', 'nansum',
    'native_batch_norm', 'native_layer_norm', 'nn.functional.adaptive_avg_pool1d',
    'nn.functional.adaptive_avg_pool2d', 'nn.functional.adaptive_avg_pool3d',
    'nn.functional.adaptive_max_pool1d', 'nn.functional.adaptive_max_pool2d',
    'nn.functional.adaptive_max_pool3d', 'nn.functional.avg_pool1d',
    'nn.functional.avg_pool2d', 'nn.functional.avg_pool3d', 'nn.functional.batch_norm',
    'nn.functional.bilinear', 'nn.functional.binary_cross_entropy_with_logits',
    'nn.functional.cross_entropy', 'nn.functional.embedding_bag',
    'nn.functional.fractional_max_pool2d', 'nn.functional.fractional_max_pool3d',
    'nn.functional.hardshrink', 'nn.functional.huber_loss', 'nn.functional.interpolate.area',
    'nn.functional.linear_cross_entropy', 'nn.functional.linear_cross_entropy.chunked_none',
    'nn.functional.max_pool1d', 'nn.functional.max_pool2d', 'nn.functional.max_pool3d',
    'nn.functional.max_unpool1d', 'nn.functional.max_unpool1d.grad',
    'nn.functional.max_unpool2d', 'nn.functional.max_unpool2d.grad',
    'nn.functional.max_unpool3d', 'nn.functional.max_unpool3d.grad', 'nn.functional.mse_loss',
    'nn.functional.multi_margin_loss', 'nn.functional.multilabel_margin_loss',
    'nn.functional.nll_loss', 'nn.functional.pad.reflect', 'nn.functional.pad.replicate',
    'nn.functional.pad.replicate_negative', 'nn.functional.pdist', 'nn.functional.prelu',
    'nn.functional.rrelu', 'nn.functional.smooth_l1_loss', 'nn.functional.soft_margin_loss',
    'nn.functional.threshold', 'ormqr', 'polar', 'put', 'scatter_reduce.mean',
    'scatter_reduce.sum', 'sgn', 'special.log_ndtr', 'stft', 'take', 'take_along_dim',
    'triangular_solve'
})

RAISES_READING_INPUT = frozenset({
    'as_strided', 'as_strided.partial_views', 'as_strided_copy', 'bernoulli',
    'fft.fft2', 'fft.fftn', 'fft.ifft2', 'fft.ifftn', 'frexp', 'kron', 'ldexp',
    'linalg.cond', 'linalg.lu', 'linalg.lu_factor', 'linalg.lu_factor_ex', 'linalg.lu_solve',
    'linalg.qr', 'linalg.svdvals', 'lu', 'lu_solve', 'nn.functional.ctc_loss',
    'nn.functional.instance_norm',
    'nn.functional.linear_cross_entropy.chunked',
    'nn.functional.max_unpool1d', 'nn.functional.max_unpool1d.grad',
    'nn.functional.max_unpool2d', 'nn.functional.max_unpool2d.grad',
    'nn.functional.max_unpool3d', 'nn.functional.max_unpool3d.grad',
    'nn.functional.scaled_dot_product_attention', 'norm.nuc', 'normal', 'polar', 'qr',
    'to_sparse'  # (take_along_dim keeps a copy of its index since s22 BR3, as PyTorch)
})

# s16 IP: gelu, silu, mish, softplus, logit, sinc, erfinv (their rules recompute a changed
# output from the input, versions.OUT_SHORTCUT), lerp (versions._READ_BY), embedding (reads
# the table's nbytes only), copysign (the other's shape only), batch_norm's bias (its size
# only), cross_entropy's logits (versions._SCRATCH_READS) backward as PyTorch's now.
RAISES_READING_OUTPUT = frozenset({
    'pca_lowrank', 'repeat', 'stft', 'svd_lowrank', 'unfold'
})


def _table() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for op_id in PERMISSIVE:
        table.setdefault(op_id, {})["permissive"] = _P
    for op_id in RAISES_READING_INPUT:
        table.setdefault(op_id, {})["dg_raises"] = _R_VALUES
    for op_id in RAISES_READING_OUTPUT:
        table.setdefault(op_id, {})["dg_raises"] = _MUTATE.get(op_id, _R_OUT)
    return table


# op id -> {kind: reason}
KNOWN: dict[str, dict[str, str]] = _table()


def _known(op_id):
    return KNOWN.get(op_id, {})


def _check(ops):
    diffs, cases = V.sweep(ops)
    assert cases > 0
    seen = collections.defaultdict(set)
    problems = []
    for op_id, scenario, sample, kind, detail in diffs:
        seen[op_id].add(kind)
        if kind not in _known(op_id):
            problems.append(f"{op_id} {scenario} {sample}: {kind}: {detail}")
    for op in ops:
        op_id = H.op_id(op)
        for kind in _known(op_id):
            if kind not in seen[op_id]:
                problems.append(f"{op_id}: KNOWN {kind} no longer differs: drop it")
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"
    return cases


def test_default_ops():
    ops = H.ops_named(*DEFAULT_OPS)
    assert {H.op_id(op) for op in ops} | {op.name for op in ops} >= set(DEFAULT_OPS)
    _check(ops)


def test_known_ops_exist():
    ids = {H.op_id(op) for op in H.op_db()}
    assert set(KNOWN) <= ids


@pytest.mark.soak
def test_every_op():
    _check([op for op in H.op_db() if op.supports_autograd])
