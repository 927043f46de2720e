"""PyTorch's common_nn module / criterion tests and autograd_function_db's custom Functions,
run differentially through deltagrad (tests/parity/s28_NN1_harness.py). Each check sweeps every
entry; what still differs is in KNOWN with its reason (an entry there must still differ)."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

import s28_NN1_harness as N  # noqa: E402

_NO_2ND = ("PyTorch has no double backward for {} (RuntimeError 'derivative for aten::{} is not "
           "implemented'); deltagrad's second derivatives pass its gradgradcheck")
_MLM = _NO_2ND.format("MultiLabelMarginLoss", "multilabel_margin_loss_backward")
_MM = _NO_2ND.format("MultiMarginLoss", "multi_margin_loss_backward")
_SDPA = ("PyTorch's TransformerLayer in training runs SDPA's CPU flash kernel, which has no "
         "double backward; deltagrad's attention is twice differentiable")

# "check:entry" -> why it still differs (deltagrad computes where PyTorch raises, each looked at)
KNOWN = {
    **{f"gradgrad:{n}": _MLM for n in (
        "MultiLabelMarginLoss_0d_no_reduce", "MultiLabelMarginLoss_1d_no_reduce",
        "MultiLabelMarginLoss_index_neg", "MultiLabelMarginLoss_no_reduce",
        "MultiLabelMarginLoss_no_batch_dim_none", "MultiLabelMarginLoss_no_batch_dim_mean",
        "MultiLabelMarginLoss_no_batch_dim_sum")},
    **{f"gradgrad:{n}": _MM for n in (
        "MultiMarginLoss_no_reduce", "MultiMarginLoss_1d_no_reduce",
        "multimarginloss_1d_input_0d_target_no_reduce", "MultiMarginLoss_p_no_reduce",
        "MultiMarginLoss_margin_no_reduce", "MultiMarginLoss_weights_no_reduce")},
    **{f"gradgrad:{n}": _SDPA for n in (
        "TransformerEncoderLayer_relu_activation", "TransformerEncoderLayer_gelu_activation",
        "TransformerDecoderLayer_relu_activation", "TransformerDecoderLayer_gelu_activation",
        "Transformer_multilayer_coder")},
    "gradgrad:Hardsigmoid_no_batch_dim": _NO_2ND.format("Hardsigmoid", "hardsigmoid_backward")
    + " (zero almost everywhere)",
}

# autograd_function_db: "check/variant:name" -> why
KNOWN_FUNCTIONS = {
    "jvp/op:CubeGenVmapAutogradFunction":
        "deltagrad.func.jvp differentiates the Function's backward twice (the double-vjp "
        "trick) where PyTorch calls its jvp rule; this sample's backward ignores grad_saved "
        "(its backward and jvp disagree), so the second tangent is 0 (PyTorch 6 t x). The "
        "forward_ad dual path uses the jvp rule and agrees",
    "dual/inplace:NumpyExpMarkDirtyAutogradFunction":
        "deltagrad's dual tensors ride on the autograd graph (make_dual's primal requires "
        "grad), so mark_dirty's in-place forward on one raises 'a leaf Variable that requires "
        "grad has been used in an in-place operation'; PyTorch allows it",
    "vmap/op:NumpyCubeNotComposableAutogradFunction":
        "deltagrad's vmap is a loop over the batch, so a Function without a vmap rule runs "
        "(right values); PyTorch raises RuntimeError (no vmap staticmethod, no "
        "generate_vmap_rule)",
}

DEFAULT = ("plain",)  # (the other checks: ~1 s each, under soak)
FUNCTION_DEFAULT = ("plain", "gradgrad", "dual")


def _sweep(check):
    found = {}
    for name in N.entries():
        msg = N.run_entry(name, check=check)
        if msg:
            found[f"{check}:{name}"] = msg
    return found


def _judge(found, known, prefix):
    known = {k: v for k, v in known.items() if k.startswith(prefix)}
    new = {k: v for k, v in found.items() if k not in known}
    stale = sorted(k for k in known if k not in found)
    assert not new, f"new differences from PyTorch: {new}"
    assert not stale, f"KNOWN entries that agree now (remove them): {stale}"


def test_entries_collected():
    assert len(N.entries()) > 250  # (module_tests + get_new_module_tests() + criterion_tests)


@pytest.mark.parametrize("check", DEFAULT)
def test_common_nn(check):
    _judge(_sweep(check), KNOWN, check + ":")


@pytest.mark.soak
@pytest.mark.parametrize("check", [c for c in N.CHECKS if c not in DEFAULT])
def test_common_nn_more(check):
    _judge(_sweep(check), KNOWN, check + ":")


@pytest.mark.parametrize("check", FUNCTION_DEFAULT)
def test_autograd_function_db(check):
    _function_sweep(check)


@pytest.mark.soak
@pytest.mark.parametrize("check", [c for c in N.FUNCTION_CHECKS if c not in FUNCTION_DEFAULT])
def test_autograd_function_db_more(check):
    _function_sweep(check)


def _function_sweep(check):
    found = {}
    for variant in ("op", "inplace"):
        for name in N.function_names():
            msg = N.run_function(name, check, variant)
            if msg:
                found[f"{check}/{variant}:{name}"] = msg
    _judge(found, KNOWN_FUNCTIONS, check + "/")
