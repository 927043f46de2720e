"""Probe II: more small PyTorch programs, run on deltagrad and on PyTorch from the same start.

The programs live in prog_s5_models.py and prog_s5_tools.py; each receives the library as
``torch`` (and the model from its ``build_*``, PyTorch's weights copied into deltagrad's). Every
number a program returns is compared to float32 tolerance, and what it prints is compared as
text, with ``deltagrad.`` read as ``torch.`` (dtypes print under the library's name). A known
divergence is pinned by an ``xfail(strict=True)`` case that names it, so that it flips when fixed.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import prog_s5_models as models
import prog_s5_tools as tools
import pytest
from s5_harness import build_models, compare, real_torch

import deltagrad as dg


def run_printing(program, lib, model):
    """``program(lib, model)`` with its prints captured: (returned value, printed text)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        out = program(lib, model)
    return out, buffer.getvalue()


def both(program, build=None, **kwargs):
    """Run ``program`` on deltagrad and (if installed) PyTorch; compare numbers and prints."""
    dg_model, torch_model = build_models(build)
    dg_out, dg_text = run_printing(program, dg, dg_model)
    if real_torch is not None:
        torch_out, torch_text = run_printing(program, real_torch, torch_model)
        compare(dg_out, torch_out, **kwargs)
        assert dg_text.replace("deltagrad.", "torch.") == torch_text
    return dg_out, dg_text


# ---------------------------------------------------------------------------- models

def test_embedding_bag_classifier():
    out, _ = both(models.prog_bag_classifier, models.build_bag_classifier)
    assert sum(out["losses"][2:]) < sum(out["losses"][:2])


def test_packed_bidirectional_gru_tagger():
    out, _ = both(models.prog_gru_tagger, models.build_gru_tagger)
    assert out["losses"][-1] < out["losses"][0]


def test_transformer_encoder_masks():
    both(models.prog_transformer, models.build_encoder)


def test_batchnorm_cnn_train_and_eval():
    _, text = both(models.prog_bn_cnn, models.build_bn_cnn)
    assert "eval acc" in text


def test_dataloader_samplers_and_collate():
    out, _ = both(models.prog_samplers)
    assert out["ok"] and out["support"] and out["subset"]


def test_gradient_accumulation():
    out, _ = both(models.prog_accumulation, models.build_mlp)
    np.testing.assert_allclose(out["full"].numpy(), out["micro"].numpy(), rtol=1e-5, atol=1e-6)


def test_weight_decay_groups():
    both(models.prog_decay_groups, models.build_decay_net)


def test_per_batch_schedulers():
    both(models.prog_batch_schedulers, models.build_mlp)


def test_early_stopping_best_state():
    out, _ = both(models.prog_early_stopping, models.build_mlp)
    assert out["again"] == out["best"] and out["independent"]


def test_activation_and_gradient_hooks():
    both(models.prog_hooks, models.build_hooked)


# ---------------------------------------------------------------------------- tools

def test_jacobian_hessian():
    both(tools.prog_jacobians, rtol=1e-10, atol=1e-12)


def test_custom_autograd_function():
    out, _ = both(tools.prog_custom_function)
    assert out["gradcheck"]


def test_weight_and_spectral_norm():
    both(tools.prog_parametrizations)


def test_smoothing_distillation_contrastive_losses():
    both(tools.prog_losses)


def test_integer_arithmetic():
    both(tools.prog_integers)


def test_argmax_topk_ties():
    both(tools.prog_ties)


def test_grad_mode_nesting():
    both(tools.prog_grad_modes)


def test_printing():
    both(tools.prog_printing)


def test_multihead_and_scaled_dot_product_attention():
    out, _ = both(tools.prog_attention)
    np.testing.assert_allclose(out["masked"].detach().numpy(), out["manual"].detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_evaluation_metrics():
    both(tools.prog_metrics)


# ---------------------------------------------------------------------------- fixed differences

def test_module_reprs_match():
    """Dropout shows inplace, losses show no options, MultiheadAttention's out_proj has
    PyTorch's class name (each printed differently before)."""
    def models_of(lib):
        nn = lib.nn
        return [nn.Dropout(0.1), nn.CrossEntropyLoss(label_smoothing=0.1, ignore_index=3),
                nn.KLDivLoss(reduction="batchmean", log_target=True), nn.NLLLoss(ignore_index=1),
                nn.BCEWithLogitsLoss(reduction="none"), nn.MultiheadAttention(4, 2)]
    expected = ["Dropout(p=0.1, inplace=False)", "CrossEntropyLoss()", "KLDivLoss()",
                "NLLLoss()", "BCEWithLogitsLoss()",
                "MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear(in_features=4,"
                " out_features=4, bias=True)\n)"]
    assert [repr(m) for m in models_of(dg)] == expected
    if real_torch is not None:
        assert [repr(m) for m in models_of(real_torch)] == expected


@pytest.mark.parametrize("loss", ["cross_entropy", "cross_entropy_smoothed", "nll_loss"])
def test_ignored_targets_give_positive_zero(loss):
    """An ignored target's unreduced loss is +0.0 (it printed as ``-0.`` for positive inputs)."""
    def run(lib):
        F = lib.nn.functional
        x = lib.tensor(np.arange(24.0).reshape(2, 3, 4) / 7, requires_grad=True)
        t = lib.tensor([[0, 1, 2, -100], [2, 2, 1, 0]])
        if loss == "nll_loss":
            out = F.nll_loss(x, t, reduction="none")
        else:
            out = F.cross_entropy(x, t, reduction="none",
                                  label_smoothing=0.2 if loss.endswith("smoothed") else 0.0)
        out.sum().backward()
        return out, x.grad, str(out.detach())

    ours = run(dg)
    assert np.signbit(ours[0].detach().numpy()[0, 3]) == np.False_
    if real_torch is not None:
        compare(ours, run(real_torch))


def test_func_jacfwd_matches_jacrev():
    f = lambda x: dg.stack([x[0] * x[1], x.exp().sum()])  # noqa: E731
    x = dg.tensor([0.5, -1.0], dtype=dg.float64)
    np.testing.assert_allclose(dg.func.jacfwd(f)(x).numpy(), dg.func.jacrev(f)(x).numpy())
    with pytest.raises(RuntimeError, match="randomness"):
        dg.func.jacfwd(f, randomness="sometimes")



@pytest.mark.parametrize("call", [
    lambda m: m.nn.functional.embedding_bag(m.tensor([1, 2]), m.ones(5, 2), m.tensor([1])),
    lambda m: m.nn.functional.embedding_bag(m.tensor([1, 2]), m.ones(5, 2), m.tensor([0, 3])),
    lambda m: m.nn.functional.cross_entropy(m.ones(2, 3), m.full((2, 3), 1 / 3), ignore_index=1),
], ids=["offsets_start", "offsets_past_end", "probabilities_ignore_index"])
def test_error_types_match(call):
    """These raised ValueError; PyTorch raises RuntimeError."""
    with pytest.raises(RuntimeError):
        call(dg)
    if real_torch is not None:
        with pytest.raises(RuntimeError):
            call(real_torch)

# ---------------------------------------------------------------------------- known differences

def test_size_prints_as_torch_size():  # (fixed in session 7: it printed "(2, 3)")
    assert str(dg.zeros(2, 3).shape) == "deltagrad.Size([2, 3])"


def test_grad_fn_type_is_named_per_op():
    x = dg.ones(2, requires_grad=True)
    assert type((x * 2).grad_fn).__name__ == "MulBackward0"


def test_function_with_two_outputs():
    class SortWithIndex(dg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, index = x.sort()
            ctx.mark_non_differentiable(index)
            ctx.save_for_backward(index)
            return values, index

        @staticmethod
        def backward(ctx, grad_values, grad_index):
            (index,) = ctx.saved_tensors
            return dg.zeros_like(grad_values).scatter(-1, index, grad_values)

    x = dg.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, index = SortWithIndex.apply(x)
    (values * dg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.tolist() == [3.0, 1.0, 2.0] and not index.requires_grad


def test_zero_by_zero_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quotient = dg.tensor([0.0]) / dg.tensor([0.0])
    # (read outside: np.isnan(t) itself warns NumPy 2's __array_wrap__ DeprecationWarning, as
    # with PyTorch's tensors, whose __array_wrap__ takes one argument: session 27, PR13)
    assert np.isnan(quotient.numpy()).all()


def test_softmax_of_masked_row_is_silent():  # (fixed in session 7: NumPy warned)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dg.full((1, 3), float("-inf")).softmax(1)


def test_float_remainder_zero_sign():
    # A zero remainder takes the dividend's sign, as PyTorch's (5.0 % -2.5 prints 0., not -0.).
    a = np.array([5.0, -5.0, -0.0, 0.0, -5.0, 3.0, -7.5, np.inf], np.float32)
    b = np.array([-2.5, 2.5, 2.5, -2.5, -2.5, 2.0, 2.5, 2.0], np.float32)
    out = (dg.tensor(a) % dg.tensor(b)).numpy()
    assert np.signbit(out[:5]).tolist() == [False, True, True, False, True]
    if real_torch is not None:
        expected = (real_torch.from_numpy(a) % real_torch.from_numpy(b)).numpy()
        np.testing.assert_array_equal(np.signbit(out), np.signbit(expected))
        np.testing.assert_array_equal(out, expected)


def test_topk_ties_follow_pytorchs_selection():
    """topk's choice among tied values is PyTorch's CPU kernel's (its selection algorithm,
    rerun on tied rows since s28 BR17): topk of four equal values gives [2, 3] there."""
    values, indices = dg.tensor([5.0, 5.0, 5.0, 5.0]).topk(2)
    assert indices.tolist() == [2, 3] and values.tolist() == [5.0, 5.0]

