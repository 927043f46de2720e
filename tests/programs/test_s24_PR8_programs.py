"""Real-style programs, session 24 (PR8): the numerical code around models, as repos write it.

Detection pieces (IoU / GIoU, NMS by hand and batched by offsets, anchors, box encoding /
decoding, anchor matching, a focal + smooth-L1 head, RoIAlign via grid_sample, VOC mAP),
augmentation as tensor ops with a Generator, audio features (stft, a mel filterbank and DCT
built by hand, MFCC deltas, istft round trip), a text pipeline (Counter vocabulary, buckets,
padding + causal masks into scaled_dot_product_attention), decoding (greedy, beam search with a
length penalty, top-k / top-p / temperature sampling with a repetition penalty, a KV cache),
LLM blocks (RoPE two ways, RMSNorm, SwiGLU, grouped-query sliding-window attention, chunked
softmax with a running max), a CRF (forward algorithm, Viterbi, brute force), CTC training,
Cox regression by logcumsumexp with L-BFGS, pinball losses, BPR with sampled negatives, a GP
by cholesky / cholesky_solve with fitted hyper-parameters, Bayesian linear regression with
evidence updates, Kalman + RTS smoother and particle filters, EM for a Gaussian mixture,
n-body and Lennard-Jones dynamics with autograd forces, iLQR with autograd.functional
jacobian / hessian, MPC by Adam through a rollout, sliced Wasserstein, soft ranks and
NeuralSort, quadrature (trapezoid, Gauss-Legendre by eigh), Newton / bisection and implicit
differentiation of a fixed point, PageRank and label propagation over sparse COO, and the NumPy
warnings a program must not see from non-finite products and transforms.

``prog_s24_PR8_*.py`` are written afresh (tiny sizes, seeded) and run unchanged on the real
PyTorch and under ``python -m deltagrad run``, one process per side for all sections. Kept in
float64 with the reason beside it: Cox regression (float32 L-BFGS stops one iteration apart on
the two sides, its loss-change test met by rounding).
"""

from __future__ import annotations

import os

import alias_runs
import numpy as np
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s24_PR8_all.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a few steps

# section -> its key prefixes and how many keys they must record at least (dtype names included)
SECTIONS = {
    # prog_s24_PR8_detect.py
    "boxes": (("box",), 14), "anchors_head": (("anc",), 16), "roi_align": (("roi",), 6),
    "map": (("map",), 17), "augment": (("aug",), 12),
    # prog_s24_PR8_seq.py
    "audio": (("audio",), 18), "text": (("text",), 33), "decoding": (("dec",), 14),
    "beam_kv": (("beam", "kv"), 12), "llm_blocks": (("llm",), 22),
    # prog_s24_PR8_stats.py
    "crf": (("crf",), 15), "ctc": (("ctc",), 9), "survival": (("surv",), 9),
    "quantile": (("quant",), 8), "bpr": (("bpr",), 7), "gp": (("gp",), 10),
    "bayes_linreg": (("blr",), 10), "filters": (("kf", "pf"), 16), "gmm_em": (("gmm",), 11),
    # prog_s24_PR8_physics.py
    "nbody": (("nbody",), 8), "lennard_jones": (("lj",), 10), "ilqr": (("ilqr",), 6),
    "mpc": (("mpc",), 6),
    "sliced": (("sw",), 8), "soft_sort": (("sort",), 14), "quadrature": (("quad",), 20),
    "implicit": (("root",), 12), "graph": (("graph",), 14), "warnings": (("warn",), 13),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s24_PR8")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    prefixes, at_least = SECTIONS[section]
    alias_runs.compare_section(results, section, prefixes, at_least=at_least, rtol=RTOL,
                               atol=ATOL)


def test_programs_do_their_job(results):
    # The comparisons above would pass if both sides did nothing useful; these would not.
    _, ours = results
    for key in ("crf.losses", "ctc.losses", "sw.losses", "sort.losses", "gp.nlls",
                "quant.losses", "bpr.losses", "llm.losses"):
        values = ours[key]
        assert values[-2:].mean() < values[:2].mean(), key
    assert float(ours["ilqr.costs"][-1]) < 0.01 * float(ours["ilqr.costs"][0])
    assert bool(ours["gmm.monotone"]) and list(ours["gmm.labels"]) == [30, 30, 30]
    assert abs(float(ours["mpc.states"][-1, 0])) < 1.0 and (np.diff(ours["mpc.costs"]) < 0).all()
    # two ways of the same number agree on deltagrad's side
    for key, bound in (("kv.gap", 1e-5), ("text.b0.gap", 1e-6), ("audio.istft_gap", 1e-5),
                       ("audio.dct_orth_gap", 1e-5), ("llm.chunked_gap", 1e-5),
                       ("llm.rmsnorm_gap", 1e-6), ("roi.identity_gap", 1e-6),
                       ("crf.brute_gap", 1e-5), ("crf.brute_best_gap", 1e-5),
                       ("gp.mvn_gap", 1e-9), ("root.unrolled_gap", 1e-9),
                       ("root.bisect_gap", 1e-9), ("graph.dense_gap", 1e-6),
                       ("quad.gauss_erf_gap", 1e-6), ("llm.rope_norm_gap", 1e-5),
                       ("llm.rope_relative_gap", 1e-5)):
        assert float(np.max(ours[key])) < bound, key
    assert float(ours["sw.w1_sorted"]) == pytest.approx(float(ours["sw.w1_cdf"]), rel=1e-5)
    assert abs(float(ours["graph.pr_sum"]) - 1) < 1e-5
    assert float(ours["box.kept_max_iou"]) <= 0.3 and not ours["anc.roundtrip"].any()
    assert bool(ours["sort.neural_hard_match"]) and float(ours["sort.rank_gap"]) < 0.1
    assert float(ours["kf.rmse"][1]) < float(ours["kf.rmse"][0])  # the smoother helps
    assert 0.5 < float(ours["surv.c_index"]) <= 1
    assert str(ours["map.text"]).startswith("mAP@0.5 = ")
    assert int(ours["warn.count"]) == 0  # (NumPy's inf * 0 warnings from products: fixed)
