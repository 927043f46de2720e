"""Real-style programs, session 21 (PR4): NLP (an adaptive-softmax LSTM LM over packed unsorted
sequences, a pre-norm Transformer translator with padding / causal masks and greedy decoding,
margin / ranking losses, a BPE tokenizer feeding a KV-cached GPT with top-k / top-p sampling,
text preprocessing), vision and signals (SegNet with unpooling, a 1-D U-Net denoiser with a
multi-resolution STFT loss, a C3D video net, self-normalizing nets, a pooling zoo, a ViT whose
position embeddings are resized bicubically), probabilistic models (low-rank Gaussian VI,
relaxed discrete VAE with a continuous Bernoulli, Poisson / heteroscedastic / Cox / Weibull
regression, Bayesian optimization with Sobol points and a Cholesky GP, conjugate Bayesian
linear regression, von Mises mixtures with LKJ / Wishart densities), infrastructure (printing
of tensors / modules / optimizers / distributions, a training state resumed from BytesIO,
module surgery, a bucketing data pipeline) and tabular / graph / numeric tools (DLRM with sparse
EmbeddingBag gradients, a returns notebook, int8 post-training quantization, CSR GCN with a
sparse-softmax attention, gradcheck / assert_close / autograd.functional).

``prog_s21_PR4_*.py`` are written afresh in the style of such code (tiny sizes, synthetic
data, seeded) and run unchanged on the real PyTorch and under ``python -m deltagrad run``, one
process per side for all sections. Values, dtypes, printed text and exceptions' messages must
agree. Where a program's own numerics amplify rounding the program says so where it avoids it
(a bias before a normalization dropped, float64 where a log reads tiny STFT bins, the key
third of in_proj_bias left out under AdamW).
"""

from __future__ import annotations

import os

import alias_runs
import numpy as np
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s21_PR4_all.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a few steps

# section -> its key prefix and how many keys it must record at least (dtype names included)
SECTIONS = {
    # prog_s21_PR4_nlp.py
    "adaptive_lm": ("alm", 64), "mt_transformer": ("mt", 149), "margin_losses": ("margin", 20),
    "bpe_gpt": ("bpe", 14), "text_prep": ("prep", 42),
    # prog_s21_PR4_vision.py
    "segnet": ("segnet", 61), "unet1d": ("unet1d", 44), "c3d": ("c3d", 37),
    "selfnorm": ("snn", 39), "pool_zoo": ("pool", 20), "vit_resize": ("vit", 76),
    # prog_s21_PR4_prob.py
    "lowrank_vi": ("lrvi", 26), "relaxed_vae": ("dvae", 37), "glm_survival": ("glm", 25),
    "bayes_opt": ("bo", 45), "blr": ("blr", 38), "circular": ("vm", 29),
    # prog_s21_PR4_infra.py
    "printing": ("print", 40), "train_state": ("resume", 50),
    "module_surgery": ("surgery", 58), "data_pipeline": ("data", 23),
    # prog_s21_PR4_tabular.py
    "dlrm": ("dlrm", 35), "returns": ("ret", 43), "int8_ptq": ("ptq", 40),
    "sparse_graph": ("graph", 27), "checking": ("check", 23),
    # prog_s21_PR4_classic.py
    "glove": ("glove", 7), "gmm_em": ("gmm", 13), "hmm": ("hmm", 15), "particle": ("pf", 8),
    "hmc": ("hmc", 7), "spectral": ("spec", 18), "imgproc": ("img", 34),
    "tabnet": ("tabnet", 113), "sched_zoo": ("sched", 36), "ctc_asr": ("ctc", 12),
    "two_tower": ("tt", 13),
    # prog_s21_PR4_edges.py
    "mistakes": ("mistakes", 34), "parametrized": ("param", 41), "metrics": ("metrics", 40),
    # prog_s21_PR4_extra.py
    "cell_lm": ("cell", 27), "autograd_tools": ("tools", 55), "complex_net": ("cplx", 21),
    "efficient_attention": ("attn", 32),
    # prog_s21_PR4_more.py
    "kge": ("kge", 29), "sinkhorn": ("ot", 15), "rbm": ("rbm", 11), "som": ("som", 9),
    "specaugment": ("saug", 9),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s21_PR4")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    prefix, at_least = SECTIONS[section]
    alias_runs.compare_section(results, section, (prefix,), at_least=at_least, rtol=RTOL,
                               atol=ATOL)


def _first(values):
    return values.reshape(len(values), -1)[:, 0]


def test_programs_learn(results):
    # The comparisons above would pass if both sides did nothing useful; these would not.
    _, ours = results
    for key in ("alm.losses", "mt.losses", "bpe.losses", "segnet.losses", "unet1d.losses",
                "c3d.losses", "vit.losses", "glm.cox", "glm.aft", "glm.hetero_losses",
                "dlrm.losses", "graph.losses", "vm.losses"):
        values = _first(ours[key])
        assert values[-1] < values[0], key
    assert ours["lrvi.elbos"][-1] > ours["lrvi.elbos"][0]
    # adaptive softmax: a distribution over the whole vocabulary; the padding row no gradient
    assert np.allclose(ours["alm.log_prob_sum"], 1, atol=1e-5)
    assert not ours["alm.pad_row_grad"].any()
    assert list(ours["alm.lens"]) == [6, 3, 8, 4, 5]
    # greedy decoding starts with BOS; the causal mask is -inf above the diagonal
    assert (ours["mt.greedy"][:, 0] == 1).all()
    assert np.isneginf(ours["mt.mask"][0, 1]) and ours["mt.mask"][1, 0] == 0
    # the KV cache gives the full forward's logits; tied weights stay tied
    assert ours["bpe.cache_gap"] < 1e-5 and bool(ours["bpe.tied"])
    assert ours["bpe.generated"].shape == (3, 13)
    # SegNet: the istft round trip, windows; C3D; SELU keeps activations normalized
    assert ours["unet1d.roundtrip"] < 1e-10
    assert abs(float(ours["snn.deep_mean"])) < 0.3 and 0.6 < float(ours["snn.deep_std"]) < 1.4
    # ViT: rollout rows are distributions over patches and the class token
    assert ours["vit.rollout"].min() >= 0
    # relaxed one-hot samples lie on the simplex
    assert np.allclose(ours["dvae.z_rowsum"], 1, atol=1e-6)
    # survival: concordance above chance after training; Bayesian optimization improved
    assert ours["glm.cindex"] > 0.5
    assert ours["bo.best"][-1] >= ours["bo.best"][0]
    # conjugate evidence is finite and peaks inside the grid; the LKJ density is finite
    assert np.isfinite(ours["blr.evidences"]).all() and np.isfinite(ours["vm.lkj_log_prob"])
    # printing produced real text; the optimizer's groups are apart by a blank line
    assert "Parameter Group 0" in str(ours["print.optimizer"])
    assert "\n\nParameter Group 1" in str(ours["print.optimizer"])
    assert int(ours["print.module_lines"]) > 80
    # resume from BytesIO is bit-identical; the fork_rng block left the stream alone
    assert bool(ours["resume.identical"]) and bool(ours["resume.generator_replay"])
    assert bool(ours["resume.size_positive"])
    # module surgery: strict=False reports, non-persistent buffer absent, fused conv-bn equal
    assert list(ours["surgery.missing"]) == ["fc.weight"]
    assert sorted(ours["surgery.unexpected"]) == ["extra", "head.weight"]
    assert "cache" not in list(ours["surgery.keys"]) and bool(ours["surgery.fused_gap"])
    assert bool(ours["surgery.frozen_grad_none"]) and float(ours["surgery.norms.0"]) > 0
    # DLRM's embedding gradients are sparse; quantization error is small; attention sums to 1
    assert bool(ours["dlrm.grad_is_sparse"])
    assert float(ours["ptq.error"]) < 0.05 and str(ours["ptq.acc_dtype"]) == "torch.int32"
    assert np.allclose(ours["graph.att_rows"], 1, atol=1e-5)
    # gradcheck passed the right Function, caught the wrong one, with PyTorch's message
    assert bool(ours["check.gradcheck"]) and bool(ours["check.wrong_detected"])
    assert str(ours["check.wrong_error_head"]).startswith("Jacobian mismatch for output 0")
    assert bool(ours["check.numeric_gap"])
    # classic inference: EM's log-likelihood never decreases; forward and backward agree on
    # the HMM's evidence; HMC accepts most proposals; spectral clustering finds the blobs
    assert (np.diff(ours["gmm.lls"]) > -1e-9).all()
    assert abs(float(ours["hmm.log_z"]) - float(ours["hmm.log_z_beta"])) < 1e-10
    assert np.allclose(ours["hmm.gamma"].sum(1), 1) and len(ours["hmm.viterbi"]) == 12
    assert ours["hmc.accepts"].mean() > 0.5
    assert sorted(np.bincount(ours["spec.assign"])) == [12, 12, 12]
    assert ours["pf.ess"].min() > 1
    # sparsemax rows are distributions; the plateau schedule only falls, never under min_lr
    assert np.allclose(ours["tabnet.mask_sums"], 1, atol=1e-9)
    plateau = ours["sched.plateau"]
    assert (np.diff(plateau) <= 0).all() and plateau[-1] < plateau[0] and plateau.min() >= 0.01
    for key in ("glove.losses", "tabnet.losses", "ctc.losses", "tt.losses", "param.losses"):
        assert ours[key][-1] < ours[key][0], key
    # every mistake raised; the parametrizations hold; the classifier beats chance
    assert int(ours["mistakes.n_raised"]) == 27
    assert str(ours["mistakes.message.bool_sub"]).startswith(
        "Subtraction, the `-` operator, with two bool tensors")
    assert bool(ours["param.orth_gap"]) and float(ours["param.sym_gap"]) == 0
    assert abs(float(ours["param.spectral_sigma"]) - 1) < 0.05
    assert list(ours["param.removed"]) == [False, True] and bool(ours["param.cached_same"])
    assert 0.5 < float(ours["metrics.auc"]) <= 1 and float(ours["metrics.accuracy"]) > 0.25
    # the LSTMCell loop is nn.LSTM; checkpointing changes no gradient; linear attention by
    # cumulative sums is the masked form; complex Adam keeps complex state
    assert float(ours["cell.lstm_gap"]) < 1e-5 and float(ours["tools.checkpoint_gap"]) == 0
    assert float(ours["attn.linear_gap"]) < 1e-5 and bool(ours["attn.qr_orth"])
    assert str(ours["cplx.grad_dtype"]) == "torch.complex64"
    assert str(ours["cplx.exp_avg_sq_dtype"]) == "torch.complex64"
    assert list(ours["tools.inference_flags"]) == [False, True, False]
    for key in ("cplx.losses", "tools.losses", "kge.transe.losses", "kge.distmult.losses",
                "ot.flow", "rbm.recon", "som.errors"):
        assert ours[key][-1] < ours[key][0], key
    # TransE's max_norm keeps looked-up entities in the unit ball; Sinkhorn's plan has the
    # column marginals it was given (its last update), its total mass one
    assert ours["kge.transe_norms"].max() <= 1 + 1e-5
    assert np.allclose(ours["ot.marginals.1"], ours["ot.b"], atol=1e-10)
    assert abs(ours["ot.marginals.0"].sum() - 1) < 1e-9 and (ours["ot.marginals.0"] > 0).all()
