"""Educational code bases' programs, session 19 (PR2): "LLMs from scratch" (GPT with hand-made
attention, top-k / temperature generation, a classification fine-tune, LoRA, DPO, instruction
collation), CS224N (word2vec by hand, the dependency parser's network, NMT with attention and
beam search, a character CNN with a highway layer), CS231n (layers with hand-written backward
passes and numeric gradient checks, a two-layer net, style transfer, saliency / fooling / class
visualisation), fast.ai part 2 (matmul from the foundations, init experiments, a callback
Learner, running batch norm, LSUV, optimizers on tensors, mixup, label smoothing), labml-style
layers (ALiBi, RoPE, Switch routing, capsules, gMLP, FNet, Hopfield, PonderNet) and more (NeRF
rendering and sampling, Transformer-XL's relative attention, a spatial transformer, GP
regression, CTC, im2col / col2im, sparsemax, FAVOR+), an S4D layer, graph networks on sparse
adjacencies, model compression (pruning, k-means and int8 quantisation, fake quantisation),
PPO / SAC losses, a VAE with the IWAE bound, a GPT-2-shaped model's training loop, and the
University of Amsterdam tutorials (activations, optimizers from a template, a Transformer with
a warm-up scheduler subclass, dense GCN / GAT, an energy-based model sampled by Langevin
dynamics, a dequantizing normalizing flow), CS224N's minBERT (an Optimizer subclass, a
Lookahead wrapper) and CS231n's captioning RNN with hand-written backward passes; second-order
autograd (MAML over a functional conv net, WGAN-GP and R1 penalties, Hessian-vector products,
a gradient penalty through an LSTM); fast.ai's AWD-LSTM (weight, embedding and variational
dropout, the LSTM's weight swapped each forward) and the rarer recurrent options (proj_size,
bidirectional GRU stacks with dropout, packing with enforce_sorted=False); MADE, a PixelCNN's
masked convolutions and CS236's GMVAE.

``prog_s19_PR_*.py`` are written afresh in the style of those originals (their structure and
idioms, tiny sizes, synthetic data, seeded) and run unchanged on the real PyTorch and under
``python -m deltagrad run``, at the same time, one process per side for every section. Losses,
parameters after training, gradients, samples, indices, dtypes and shapes must agree; an
exception in a section on either side fails its test.
"""

from __future__ import annotations

import os

import alias_runs
import numpy as np
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s19_PR_all.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a few steps

# section -> how many keys it must record at least (a section that stopped recording fails)
SECTIONS = {
    # prog_s19_PR_llm.py
    "rb_gpt": 85, "rb_classify": 34, "rb_lora": 119, "rb_dpo": 66, "rb_instruct": 16,
    # prog_s19_PR_cs224n.py
    "w2v": 35, "parser": 17, "nmt": 48, "charcnn": 23,
    # prog_s19_PR_cs231n.py
    "layers": 60, "twolayer": 27, "style": 9, "saliency": 8,
    # prog_s19_PR_fastai.py
    "fa_matmul": 16, "fa_learner": 12, "fa_runbn": 29, "fa_lsuv": 13, "fa_optim": 20,
    "fa_mixup": 15,
    # prog_s19_PR_labml.py
    "alibi": 16, "rope": 14, "switch": 47, "capsule": 9, "gmlp": 23, "fnet": 18,
    "hopfield": 13, "ponder": 26,
    # prog_s19_PR_misc.py
    "nerf": 25, "txl": 25, "stn": 39, "gp": 15, "ctc": 15, "im2col": 16, "sparse_attn": 14,
    # prog_s19_PR_more.py
    "s4d": 25, "gnn": 25, "effml": 39, "rl": 31, "vae": 24,
    # prog_s19_PR_gpt2.py
    "g2_train": 81, "g2_gqa": 70, "g2_convert": 63,
    # prog_s19_PR_uva.py
    "uva_act": 29, "uva_optim": 7, "uva_transformer": 57, "uva_gnn": 13, "uva_ebm": 22,
    "uva_flow": 47,
    # prog_s19_PR_minbert.py
    "bert": 109, "caption": 39,
    # prog_s19_PR_meta.py
    "maml": 35, "wgan_gp": 25, "hessian": 6, "lstm_gp": 15,
    # prog_s19_PR_awd.py
    "awd": 39, "rnn_variants": 42,
    # prog_s19_PR_autoreg.py
    "made": 30, "pixelcnn": 41, "gmvae": 26,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s19_PR2")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    alias_runs.compare_section(results, section, at_least=SECTIONS[section], rtol=RTOL,
                               atol=ATOL)


def _first(values):
    return values.reshape(len(values), -1)[:, 0]


def test_programs_learn(results):
    # The comparisons above would pass if both sides did nothing useful; these would not.
    _, ours = results
    for key in ("rb_gpt.losses", "rb_lora.losses", "rb_dpo.record", "charcnn.losses",
                "nmt.losses", "twolayer.history", "fa_mixup.record",
                "capsule.losses", "gmlp.losses", "hopfield.losses", "nerf.losses", "gp.nlls",
                "ctc.losses", "stn.losses", "fa_optim.adamw.losses", "s4d.losses",
                "gnn.gcn_losses", "effml.losses", "g2_train.record",
                "g2_gqa.record", "uva_transformer.record", "uva_gnn.losses", "uva_flow.bpd",
                "bert.losses", "caption.history", "maml.outer", "lstm_gp.record",
                "made.losses", "pixelcnn.losses"):
        values = _first(ours[key])
        assert values[-1] < values[0], key
    assert ours["rb_classify.accs"][-1] == 1.0 and bool(ours["rb_classify.frozen_grad_none"])
    assert list(ours["rb_lora.counts"]) == [7392, 2460]
    assert bool(ours["rb_dpo.reference_unchanged"]) and bool(ours["rb_gpt.batch2_error"])
    # generation: the prompt kept, greedy decoding deterministic, the end token stops sampling
    assert list(ours["rb_gpt.greedy"][0, :4]) == [0, 7, 14, 21]
    assert 4 not in ours["rb_gpt.sampled_eos"]
    # -100 targets change nothing: the loss over the kept positions only
    assert abs(ours["rb_instruct.loss"] - ours["rb_instruct.by_hand"]) < 1e-6
    assert (ours["rb_instruct.targets"] == -100).sum() == 11
    # gradients by hand equal autograd's and the numeric ones
    for key in ("w2v.naive_agree", "w2v.neg_agree", "layers.affine_err", "layers.bn_err",
                "layers.bn_autograd_err"):
        for index in range(2):
            assert ours[f"{key}.{index}"] < 1e-7, key
    assert ours["layers.conv_err"] < 1e-7 and abs(ours["layers.conv.1"]).max() < 1e-12
    assert abs(ours["layers.pool.1"]).max() == 0
    for name in ("W1", "W2", "b1", "b2"):
        assert ours[f"twolayer.err.{name}"] < 1e-9
    # the highway gate: shut passes x through, open gives relu(proj(x))
    assert abs(ours["charcnn.shut"]).max() < 1e-6 and abs(ours["charcnn.open"]).max() < 1e-6
    assert abs(ours["charcnn.pad_row_grad"]).max() == 0  # padding_idx gets no gradient
    # fast.ai: the three matmuls agree; the hand-written optimizers equal torch.optim's
    assert np.allclose(ours["fa_matmul.loops"], ours["fa_matmul.einsum"], atol=1e-5)
    assert ours["fa_optim.sgd.diff"] < 1e-6 and ours["fa_optim.adamw.diff"] < 1e-6
    smooth = ours["fa_mixup.smooth.0"], ours["fa_mixup.smooth.1"]
    assert abs(smooth[0] - smooth[1]) < 1e-6
    assert int(ours["fa_learner.hooks_left"]) == 0
    # labml: causal ALiBi, relative RoPE (dot products depend on the offset only)
    assert ours["alibi.causal"] < 1e-6 and ours["rope.relative"] < 1e-5
    assert ours["rope.norm_kept"] < 1e-5 and ours["fnet.vs_fft2"] < 1e-4
    # im2col and col2im give the convolution and its input gradient
    assert ours["im2col.diff"] < 1e-5 and abs(ours["im2col.fold.1"]).max() < 1e-5
    # sparsemax sums to one with exact zeros
    assert np.allclose(ours["sparse_attn.sparsemax.1"], 1) and (ours["sparse_attn.sparsemax.0"]
                                                                  == 0).any()
    # more: the FFT convolution is the direct one; attention weights sum to one per node
    assert ours["s4d.conv_check"] < 1e-4
    assert np.allclose(ours["gnn.gat_alpha_sums"], 1, atol=1e-6)
    # pruning masks kept through training; int8 matmul accumulates in int32
    assert list(ours["effml.zeros_kept.0"].ravel()) == [65]
    assert str(ours["effml.acc.dtype"]) == "int32" and ours["effml.quant_err"] < 0.05
    assert ours["vae.record"][-1, 0] > ours["vae.record"][0, 0]  # the ELBO rises
    assert ours["vae.iwae.0"] >= ours["vae.iwae.1"]  # the IWAE bound is the tighter one
    assert bool(ours["g2_train.tied"]) and bool(ours["g2_convert.tied"])
    assert bool(ours["uva_flow.reconstructed.1"]) and bool(ours["uva_ebm.grad_enabled"])
    # minBERT: padding changes no other position; the Optimizer subclass kept its state
    assert ours["bert.mask_effect"] < 1e-6 and list(ours["bert.state_steps"]) == [4, 4, 4]
    for name in ("W_embed", "W_proj", "W_vocab", "Wh", "Wx", "b", "b_proj", "b_vocab"):
        assert ours[f"caption.err.{name}"] < 1e-9, name  # hand-written backward = autograd
    # second order: the Hessian block is symmetric; power iteration climbs to the top eigenvalue
    assert ours["hessian.bias_block.1"] < 1e-6
    assert ours["hessian.eigenvalues"][-1] > ours["hessian.eigenvalues"][0] > 0
    # AWD-LSTM: the hidden weight lives as a _raw parameter; the tied decoder adds no parameter
    assert "rnns.0.weight_hh_l0_raw" in list(ours["awd.param_names"])
    assert list(ours["awd.n_params"]) == [11, 10]
    assert list(ours["rnn_variants.packed.1"]) == [2, 5, 3]
    # MADE's outputs depend on earlier inputs only; PixelCNN's masks hold through training
    assert ours["made.deps.1"] == 0 and ours["made.deps.0"].sum() > 0
    assert ours["pixelcnn.weight_masked"] == 0 and ours["pixelcnn.receptive"][3, 2:].sum() == 0
    assert bool(ours["gmvae.pi_grad_none"])
