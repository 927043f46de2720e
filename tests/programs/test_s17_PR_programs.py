"""Widely copied repositories' code styles, session 17 (PR): yunjey/pytorch-tutorial, bentrevett's
pytorch-seq2seq and pytorch-sentiment-analysis, The Annotated Transformer, kuangliu's
pytorch-cifar models, pytorch/examples programs, lucidrains-style einsum
modules, data-pipeline idioms, and the utilities they lean on (packed sequences, nn.Transformer
masks, samplers, PixelShuffle / InstanceNorm style nets, weight and spectral norm).

``prog_s17_PR_*.py`` are written afresh in the style of those originals (same structure and
idioms, tiny sizes, synthetic data, seeded) and run unchanged on the real PyTorch and under
``python -m deltagrad run``, at the same time, one process per side for every section. Losses,
parameters and buffers after training, gradients, sampled names and decoded sequences, dtypes
and shapes must agree; an exception in a section on either side fails its test.
"""

from __future__ import annotations

import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s17_PR_all.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a few steps
# yj_caption's LSTM input weights after three Adam steps (lr 0.01): one entry, [36, 1], moves
# with the roundoff of its gradients (6e-6 apart under OPENBLAS_CORETYPE=SkylakeX, 1.6e-5 under
# Haswell; s26 EN2), the other 319 stay within 1e-6 of PyTorch's. Adam's m / sqrt(v) after a
# few steps is a ratio of gradients, so float32 noise in a gradient that is small against its
# terms reaches the parameter at up to lr times its relative error. 1e-4 is 1% of one step; the
# rest of the section stays at RTOL / ATOL.
ATOL_FOR = {"yj_caption.dec.lstm.weight_ih_l0": 1e-4}

# section -> how many keys it must record at least (a section that stopped recording fails)
SECTIONS = {
    # prog_s17_PR_yunjey.py
    "yj_lm": 28, "yj_birnn": 40, "yj_caption": 33, "yj_vae": 25, "yj_resnet": 103, "yj_gan": 27,
    # prog_s17_PR_seq2seq.py
    "bt_attn": 49, "bt_conv": 56, "bt_tf": 172, "sa_ebag": 10, "sa_lstm": 47, "sa_cnn": 21,
    # prog_s17_PR_annotated.py
    "at_copy": 206, "kl_vgg": 78, "kl_preact": 92, "kl_mobilenetv2": 210, "kl_densenet": 120,
    "kl_shufflenet": 138, "kl_senet": 152,
    # prog_s17_PR_misc.py
    "ex_hogwild": 23, "ex_timeseq": 26,
    "ex_ff": 10, "ld_einsum": 60, "dl_pipeline": 39, "ck_checkpoint": 133, "aug": 13,
    # prog_s17_PR_edges.py
    "rnn_utils": 54, "nn_tf": 147, "losses": 28, "samplers": 27, "superres": 48, "norms": 24,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s17_PR")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    alias_runs.compare_section(results, section, at_least=SECTIONS[section], rtol=RTOL,
                               atol=ATOL, atol_for=ATOL_FOR)


def test_programs_learn(results):
    # The comparisons above would pass if both sides did nothing useful; these would not.
    _, ours = results
    for key in ("yj_lm.losses", "yj_birnn.losses", "yj_caption.losses", "yj_resnet.losses",
                "bt_attn.losses", "bt_conv.losses", "sa_cnn.losses",
                "at_copy.losses", "ex_timeseq.losses", "dl_pipeline.losses"):
        values = ours[key].reshape(len(ours[key]), -1)[:, 0]
        assert values[-1] < values[0], key
    # the checkpointed run repeats the plain one (the manual backward pass's own checks moved
    # with it to test_s26_PR11_programs' z2h_ninja)
    assert bool(ours["ck_checkpoint.same"]) and bool(ours["aug.repeatable"])
    # masked attention gives padded source positions no weight
    assert abs(ours["bt_attn.padded_attention_zero"]).max() < 1e-6
    assert bool(ours["ex_hogwild.shared"]) and ours["ex_hogwild.shared_after"].all()
    assert not ours["ex_hogwild.fresh_not_shared"].any()
    assert list(ours["dl_pipeline.nsamples"]) == [20, 20, 1]
    assert list(ours["dl_pipeline.no_repl"]) == [0, 1, 2, 3]
    # an unsorted packed batch with initial states: each sequence as if run alone
    assert bool(ours["rnn_utils.alone_match"])
