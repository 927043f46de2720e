"""Public PyTorch programs, session 18 (PG): Dive into Deep Learning's from-scratch chapters,
Hugging Face-style model code written by hand, torch.utils.data as training scripts use it,
pytorch/examples programs not covered before, optimizer / scheduler comparisons and widely
copied training tricks, scientific-ML notebooks (a PINN, a Hamiltonian network, a neural ODE)
and recommender models (matrix factorisation with sparse gradients, NeuMF, DeepFM, DCN).

``prog_s18_PG_*.py`` are written afresh in the style of the public originals (same structure
and idioms, tiny sizes, synthetic data, seeded) and run unchanged twice, at the same time: on
the real PyTorch and under ``python -m deltagrad run``. They must agree: losses, parameters and
buffers after training, gradients, sampled tokens and indices, learning rates, dtypes and
shapes; an exception in a section on either side fails its test. One run does every section
(one ``import torch`` per side).
"""

from __future__ import annotations

import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s18_PG_all.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a few dozen steps
# Rosenbrock's curvature turns one-ulp differences into visible ones within 30 steps, and
# PyTorch's lerp (Adam's and Adamax's first moment) is a fused multiply-add on this build,
# NumPy's two roundings: there the paths agree to 1e-3 (measured: 4e-4 at most).
LOOSE = {"rosen": (1e-3, 1e-4)}

# section -> (the key prefixes it records, how many keys at least: a section that stopped
# recording, or recorded nothing, fails rather than passing with nothing compared)
SECTIONS = {
    # prog_s18_PG_d2l.py
    "optscratch": (("optscratch",), 25), "wd": (("wd",), 12), "scratch": (("scratch",), 48),
    "cnn": (("cnn",), 276), "rnnscratch": (("rnnscratch",), 64),
    # prog_s18_PG_hf.py
    "gpt2": (("gpt2",), 73), "gen": (("gen",), 16), "bert": (("bert",), 14),
    # prog_s18_PG_data.py
    "splits": (("splits",), 17), "samplers": (("samplers",), 19),
    "loaders": (("loaders",), 65),
    # prog_s18_PG_examples.py
    "imagenet": (("imagenet",), 39), "wordlm": (("wordlm",), 110), "gcn": (("gcn",), 8),
    "ff": (("ff",), 4), "vit": (("vit",), 67), "translate": (("translate",), 7),
    # prog_s18_PG_optim.py
    "rosen": (("rosen",), 126), "finetune": (("finetune",), 15), "sched": (("sched",), 18),
    "swa": (("swa",), 45),
    # prog_s18_PG_tricks.py
    "dann": (("dann",), 5), "seglosses": (("seglosses",), 8),
    "metricloss": (("metricloss",), 11), "wrappers": (("wrappers",), 51),
    "ste": (("ste",), 10),
    # prog_s18_PG_sci.py
    "pinn": (("pinn",), 6), "hnn": (("hnn",), 3), "node": (("node",), 5),
    # prog_s18_PG_recsys.py
    "mf": (("mf",), 20), "neumf": (("neumf",), 7), "ctr": (("ctr",), 33),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s18_PG")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    prefixes, at_least = SECTIONS[section]
    rtol, atol = LOOSE.get(section, (RTOL, ATOL))
    alias_runs.compare_section(results, section, prefixes, at_least, rtol=rtol, atol=atol)


def test_programs_learn(results):
    # The comparisons above would pass if both sides did nothing useful; these would not.
    _, ours = results
    for name in ("momentum", "adagrad", "rmsprop", "adadelta", "adam"):
        losses = ours[f"optscratch.{name}.losses"]
        assert losses[-1] < losses[0], name
    assert ours["wd.3.norm"] < ours["wd.0.norm"]  # the L2 penalty shrinks the weights
    assert ours["gpt2.losses"][-1] < ours["gpt2.losses"][0]
    assert bool(ours["gpt2.tied"]) and float(ours["gpt2.cache.diff"]) < 1e-5
    assert float(ours["bert.sdpa_diff"]) < 1e-5 and float(ours["bert.causal_diff"]) < 1e-5
    assert (ours["gen.topk.kept"] <= 5).all() and (ours["gen.topp.kept"] >= 1).all()
    assert bool(ours["loaders.same_order"])
    assert sorted(ours["splits.train"].tolist() + ours["splits.val"].tolist()) == \
        list(range(20))
    assert len(set(ours["wordlm.LSTM.words"].tolist())) > 1  # (random tokens: no learning)
    assert ours["gcn.losses"][-1] < ours["gcn.losses"][0]
    assert ours["rosen.lbfgs.evals"][-1] < 0.1 * ours["rosen.lbfgs.evals"][0]
    assert str(ours["imagenet.best_type"]) == "Tensor"
    assert ours["sched.plateau.lrs"].min() >= 0.02 - 1e-12
    assert ours["pinn.losses"][-1] < ours["pinn.losses"][0]
    assert str(ours["pinn.dtype"]) == "torch.float64"  # (set_default_dtype inside the section)
    assert ours["hnn.losses"][-1] < ours["hnn.losses"][0]
    assert ours["mf.losses"][-1] < ours["mf.losses"][0] and bool(ours["mf.grad_sparse"])
