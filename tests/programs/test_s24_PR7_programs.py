"""Real-style programs, session 24 (PR7): whole training scripts, end to end, with the plumbing
around the model.

Training loops as people write them (a CSV-like text parsed into a Dataset, DataLoader with a
seeded sampler and collate_fn, gradient accumulation, clipping, schedulers per step or epoch,
early stopping, EMA / SWA weights, a mid-run checkpoint of model + optimizer + scheduler + RNG
and Generator states resumed bit for bit, bfloat16 autocast with GradScaler(enabled=False),
torch.compile and model.compile(), deterministic / thread / backend flags, the log a script
prints (model, optimizer, f-string progress lines, tensors), eval() + inference_mode()
metrics in torch: confusion matrix by bincount, top-k, AUC by ranks, per-class F1, average
precision) around models not written this way before: word2vec SGNS with SparseAdam, a
char-RNN with truncated BPTT and temperature sampling, a pointer network, PointNet / Deep
Sets, capsules with dynamic routing, WGAN-GP, a spectral-norm hinge GAN, double DQN with a
replay buffer and target network, PPO with GAE, A2C, knowledge distillation, mixup / cutmix,
focal + batch-hard triplet + center loss, a U-Net, a ViT on nn.TransformerEncoder, a VAE with
KL annealing, LoRA adapters merged back, a top-2 mixture of experts, online hard example
mining with learned multi-task weights, a float32 model deployed in bfloat16 / float16,
message passing by scatter_add / index_add_ / scatter_reduce and a GCN on a sparse adjacency,
a TCN with weight_norm, a scheduled-sampling LSTM forecaster, a tabular model with categorical
embeddings, a packed bidirectional LSTM over bucketed batches.

``prog_s24_PR7_*.py`` are written afresh (tiny sizes, synthetic data, seeded) and run unchanged
on the real PyTorch and under ``python -m deltagrad run``, one process per side for all
sections. Values, dtypes and printed text must agree. Kept out, with the reason (both are the
training's arithmetic, not a library difference): a bias whose true gradient is 0 stepped by
Adam (a conv bias before BatchNorm is left out of the models, as it usually is; the ViT's key
projection bias is not compared), since Adam turns rounding noise there into full steps.
"""

from __future__ import annotations

import os

import alias_runs
import numpy as np
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s24_PR7_all.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a few steps

# section -> its key prefixes and how many keys they must record at least (dtype names included)
SECTIONS = {
    # prog_s24_PR7_scripts.py
    "accumulate": (("script",), 29), "early_stop_ema": (("stop",), 15),
    "checkpoint_resume": (("ckpt",), 16), "swa": (("swa",), 28),
    "amp_compile": (("amp",), 30), "eval_metrics": (("eval",), 18),
    # prog_s24_PR7_rl_gan.py
    "wgan_gp": (("wgan",), 24), "sn_gan": (("sngan",), 33), "dqn": (("dqn",), 16),
    "ppo": (("ppo",), 22), "a2c": (("a2c",), 16),
    # prog_s24_PR7_models.py
    "skipgram": (("w2v",), 10), "char_rnn": (("charrnn",), 10), "pointer": (("pointer",), 10),
    "pointnet_deepsets": (("pointnet", "deepsets"), 36), "capsules": (("caps",), 8),
    # prog_s24_PR7_vision.py
    "distill": (("distill",), 22), "mixup_cutmix": (("mix",), 22),
    "metric_losses": (("metric",), 12), "unet": (("unet",), 80), "vit": (("vit",), 75),
    # prog_s24_PR7_seq.py
    "gnn": (("gnn",), 14), "tcn": (("tcn",), 10), "seq2seq_forecast": (("s2s",), 28),
    "tabular_binary": (("tab",), 14), "packed_text": (("text",), 24),
    # prog_s24_PR7_plumbing.py
    "ema_resume": (("emares",), 44), "plumbing_corners": (("plumb",), 33),
    "train_log": (("log",), 2),
    # prog_s24_PR7_more.py
    "vae": (("vae",), 28), "lora": (("lora",), 18), "moe": (("moe",), 8),
    "ohem_multitask": (("ohem",), 10), "half_deploy": (("half",), 20),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s24_PR7")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    prefixes, at_least = SECTIONS[section]
    alias_runs.compare_section(results, section, prefixes, at_least=at_least, rtol=RTOL,
                               atol=ATOL)


def test_programs_do_their_job(results):
    # The comparisons above would pass if both sides did nothing useful; these would not.
    _, ours = results
    for key in ("script.losses", "w2v.losses", "charrnn.losses", "pointer.losses",
                "deepsets.losses", "caps.losses", "unet.losses", "vit.losses", "tcn.losses",
                "gnn.mp_losses", "dqn.losses", "mix.losses", "distill.kd"):
        values = ours[key]
        assert values[-3:].mean() < values[:3].mean(), key
    # resumed runs continue bit for bit; the checkpoint holds what was saved
    assert bool(ours["ckpt.bitwise"]) and bool(ours["ckpt.params_equal"])
    assert bool(ours["emares.bitwise"]) and bool(ours["emares.same_ema"])
    assert list(ours["ckpt.keys"]) == ["epoch", "gen", "losses", "model", "opt", "rng",
                                       "sched"]
    assert ours["ckpt.lr"][0] == ours["ckpt.lr"][1]
    # early stopping stopped, the EMA by hand is the AveragedModel's, SWA averaged 5 epochs
    assert int(ours["stop.epoch"]) < 29
    assert float(ours["emares.hand_vs_ema"]) < 1e-6
    assert int(ours["swa.n_averaged"]) == 5
    # autocast: bfloat16 inside (softmax too: CPU autocast's float32 list lacks it), off outside
    assert list(ours["amp.dtypes"]) == ["torch.bfloat16"] * 5 or \
        all("bfloat16" in str(d) for d in ours["amp.dtypes"])
    assert str(ours["amp.softmax.dtype"]) == "bfloat16" and str(ours["amp.matmul.dtype"]) == \
        "bfloat16"
    assert bool(ours["amp.inside"]) and not bool(ours["amp.outside"])
    # metrics agree with each other
    cm = ours["eval.confusion"]
    assert cm.sum() == 30 and np.isclose(np.trace(cm) / 30, ours["eval.top1"])
    assert ours["eval.top2"] >= ours["eval.top1"] and 0.5 < float(ours["eval.auc"]) <= 1
    assert bool(ours["eval.same"]) and bool(ours["eval.is_inference"])
    # spectral norm keeps the first layer's largest singular value at 1
    assert abs(float(ours["sngan.sigmas"][-1]) - 1.0) < 1e-3
    # PointNet is permutation invariant, the TCN causal, padding rows stay zero
    assert bool(ours["pointnet.permutation_gap"]) and bool(ours["tcn.causal"])
    assert not ours["text.pad_row"].any() and not ours["text.pad_grad"].any()
    assert bool(ours["w2v.grad_sparse"]) and str(ours["w2v.nearest"][0]) == "cat"
    assert len(str(ours["charrnn.text_0.5"])) == 31
    # the pointer net's masks leave one fewer choice at each step
    assert list(ours["pointer.logits_finite"][0]) == [5, 4, 3, 2, 1]
    assert bool(ours["plumb.compile_returns"]) and str(ours["plumb.nonfinite"]) == \
        "RuntimeError"
    assert np.array_equal(ours["plumb.fork_rng.0"] != ours["plumb.fork_rng.2"], [True] * 3)
    assert "epoch 05 | loss" in str(ours["log.text"]) and int(ours["log.lines"]) > 25
    # LoRA: only the adapters train, and merging them changes nothing
    assert list(ours["lora.trainable"]) == ["0.A", "0.B", "2.A", "2.B"]
    assert float(ours["lora.merge_gap"]) < 1e-5 and bool(ours["lora.frozen_grad"])
    assert ours["lora.losses"][-1] < ours["lora.losses"][0]
    assert (ours["moe.counts"].sum(1) == 96).all()  # (48 rows, 2 experts each)
    assert ours["moe.losses"][-1] < ours["moe.losses"][0]
    assert list(ours["vae.records"][:3, 2]) == [0.0, 0.1, 0.2]  # (KL annealing)
    for name in ("bfloat16", "float16"):  # half-precision inference mostly agrees with float32
        assert float(ours[f"half.{name}.agree"]) >= 0.9
        assert str(ours[f"half.{name}.out.dtype"]) == name
