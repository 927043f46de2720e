"""Real-style programs, session 23 (PR6): what PyTorch users write that is not a model.

Tensor idioms (a regression trained by hand under no_grad with ``p -= lr * p.grad``,
``grad.zero_()`` and ``p.data.copy_``; integer / bool / bitwise code: n-gram hashing, popcount,
Morton codes, argsort bucketing, histc / bincount / unique / searchsorted / bucketize; dtype
promotion, casts and the default dtype switched; device arguments; printing and
set_printoptions), data pipelines (default_collate of dicts / tuples / NumPy, random_split,
Subset, ConcatDataset, WeightedRandomSampler, BatchSampler, IterableDataset, padding
collate_fn; Generator-driven draws and the global RNG's state), modules as tools (LSTM / GRU
cells stepped by hand against the fused layers, packed bidirectional GRUs, Embedding max_norm,
Bilinear, Fold / Unfold, pixel shuffles, every Upsample mode, LayerNorm / GroupNorm by hand,
containers), optimizers stepped with schedulers (OneCycleLR, warm restarts, CyclicLR,
ReduceLROnPlateau, LambdaLR, SequentialLR, ChainedScheduler, PolynomialLR; a run resumed from
saved state dicts equal to the uninterrupted one) and numerical programs (least-squares
polynomial fits, PCA, a Kalman filter and RTS smoother, spectral filters and stft, ODE
integrators, Monte Carlo, Newton's method by autograd, k-means++, Gaussian elimination,
conjugate gradients, Gibbs and Metropolis samplers), and API corners (autograd's modes,
hooks and errors; optimizer hooks, closures, LBFGS, a custom scheduler, SWA; StackDataset,
DistributedSampler; index_put_ / histogram / gradient / pad corners; quantile clipping and
an EMA by lerp_).

``prog_s23_PR6_*.py`` are written afresh in the style of such code (tiny sizes, synthetic
data, seeded) and run unchanged on the real PyTorch and under ``python -m deltagrad run``, one
process per side for all sections. Values, dtypes and printed text must agree. Where a value
is the algorithm's free choice the program normalizes it (the signs of PCA's singular vectors;
k-means' cluster order). Left out, with the reason: ``type(param).__name__`` (deltagrad's
parameters are marked plain Tensors, by design: nn/module.py); which of tied values
``kthvalue`` returns (PyTorch's quickselect's choice); exceptions are compared by the first
built-in class of their MRO (deltagrad's ShapeError is also a ValueError, by design).
"""

from __future__ import annotations

import os

import alias_runs
import numpy as np
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s23_PR6_all.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a few steps

# section -> its key prefix and how many keys it must record at least (dtype names included)
SECTIONS = {
    # prog_s23_PR6_idioms.py
    "manual_sgd": ("sgd", 15), "bits": ("bits", 54), "dtypes": ("dt", 54), "devices": ("dev", 16),
    "printing": ("print", 4),
    # prog_s23_PR6_data.py
    "datasets": ("data", 57), "generators": ("gen", 42),
    # prog_s23_PR6_modules.py
    "cells": ("cells", 19), "embedding": ("emb", 15), "patches": ("patch", 30),
    "norms": ("norms", 20), "containers": ("cont", 31),
    # prog_s23_PR6_sched.py
    "onecycle": ("onecycle", 7), "restarts": ("restart", 7), "plateau": ("plateau", 9),
    "composed": ("composed", 12), "resume": ("resume", 13),
    # prog_s23_PR6_numeric.py
    "linalg_fit": ("fit", 17), "kalman": ("kalman", 5), "spectral": ("spec", 17),
    "ode": ("ode", 12), "monte_carlo": ("mc", 10), "newton": ("newton", 7),
    "kmeans": ("kmeans", 4), "solvers": ("solve", 15), "gibbs": ("gibbs", 7),
    # prog_s23_PR6_api.py
    "autograd_idioms": ("ag", 20), "optim_corners": ("opt", 20), "data_corners": ("dc", 20),
    "index_corners": ("ix", 25), "robust_stats": ("robust", 30),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s23_PR6")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    prefix, at_least = SECTIONS[section]
    alias_runs.compare_section(results, section, (prefix,), at_least=at_least, rtol=RTOL,
                               atol=ATOL)


def test_programs_do_their_job(results):
    # The comparisons above would pass if both sides did nothing useful; these would not.
    _, ours = results
    for key in ("sgd.losses", "onecycle.adam_losses", "restart.cyclic_losses",
                "spec.fit_losses", "kmeans.inertia", "composed.sequential.1", "resume.full"):
        assert ours[key][-1] < ours[key][0], key
    assert np.allclose(ours["sgd.w"], [3, -2], atol=0.5)  # (momentum still swinging)
    assert bool(ours["sgd.version_ok"]) and bool(ours["sgd.grad_none"])
    # bit tricks: popcount and Morton order by hand
    assert list(ours["bits.popcount"]) == [0, 1, 8, 10, 13, 31]
    assert ours["bits.morton"][3, 3] == 15 and ours["bits.morton"][1, 0] == 1
    assert ours["bits.bucket_bounds.2"].sum() == 20
    # dtypes: the default dtype restored after float64; promotion by category
    assert str(ours["dt.restored"]) == "torch.float32" or "float32" in str(ours["dt.restored"])
    assert list(ours["dt.i8_overflow"]) == [-56, 56]
    # data: the sampler balances two classes of 8 and 2 items
    assert abs(int(ours["data.weighted_counts"][0]) - 20) < 10
    assert list(ours["data.split_sizes"]) == [6, 3, 3]
    assert np.array_equal(ours["gen.replay.0"], ours["gen.replay.1"])
    assert np.array_equal(ours["gen.global_vs_gen.0"], ours["gen.global_vs_gen.1"])
    # modules: cells stepped by hand are the fused layers; patches restored by fold
    assert bool(ours["cells.lstm_gap"]) and bool(ours["patch.restored_gap"])
    assert bool(ours["patch.conv_gap"]) and bool(ours["patch.shuffle_back"])
    assert bool(ours["norms.ln_gap"]) and bool(ours["norms.gn_gap"])
    assert np.allclose(ours["emb.bilinear"], ours["emb.bilinear_einsum"], atol=1e-5)
    assert (ours["emb.norms"][[1, 2, 5]] <= 1.0 + 1e-6).all()  # (the rows looked up)
    # schedules: the resumed run is the uninterrupted one; the plateau cut the rate
    assert bool(ours["resume.same"])
    assert ours["plateau.runs.0"][-1, 0] < ours["plateau.runs.0"][0, 0]
    assert abs(float(ours["onecycle.lrs"].max()) - 0.1) < 1e-3
    # numerics: fits agree with each other, filters beat the raw measurements
    for key in ("fit.pinv", "fit.qr", "fit.normal_eq"):
        assert np.allclose(ours[key], ours["fit.lstsq"], atol=1e-8), key
    assert np.allclose(ours["fit.lstsq"], [1, -2, 0, 0.5], atol=0.05)
    assert ours["kalman.errors"][1] < ours["kalman.errors"][0] < ours["kalman.errors"][2]
    assert bool(ours["spec.istft_gap"]) and bool(ours["spec.conv_gap"])
    assert 5 in list(ours["spec.peaks"])
    assert ours["ode.rk4_drift"].max() < ours["ode.midpoint_drift"].max() < \
        ours["ode.euler_drift"].max()
    assert abs(float(ours["mc.pi"]) - np.pi) < 0.1
    assert abs(ours["mc.option"][1] - float(ours["mc.black_scholes"])) < 1.0
    assert ours["mc.option"][3] < ours["mc.option"][2]  # antithetic variates cut the variance
    assert abs(float(ours["newton.scalar"][-1]) - 2.0945514815423265) < 1e-12
    assert bool(ours["newton.residual_small"])
    assert np.allclose(ours["newton.rosen"][-1], [1, 1], atol=1e-6)
    assert np.allclose(ours["solve.gauss"], ours["solve.linalg"], atol=1e-10)
    assert np.allclose(ours["solve.cg"], ours["solve.cg_exact"], atol=1e-8)
    assert np.allclose(ours["gibbs.moments.1"], [[1, 0.8], [0.8, 1]], atol=0.15)
    assert list(ours["kmeans.sizes"]) == [30, 30, 30]
    # API corners: hooks removed, errors raised, StackDataset's batched fetch used
    assert list(ours["ag.hooked"]) == [22, 22, 22]  # (20 through the hook, then 2 without)
    assert str(ours["ag.second_backward"]) == "RuntimeError"
    assert list(ours["opt.named.3"]) == ["pre", "post"] * 4
    assert ours["dc.stack.0.0"][1, 1] == 10  # (the nested __getitems__, not __getitem__)
    shards = [list(ours[f"dc.distributed.0.{rank}"]) for rank in range(3)]
    assert [len(s) for s in shards] == [4, 4, 4] and set(sum(shards, [])) == set(range(10))
    assert list(ours["ix.writes.0"]) == [3, 0, 3, 0, 0] and list(ours["ix.writes.1"]) == \
        [0, 1, 0, 1, 0]
