"""Programs in the style of the pytorch/examples repository, session 29 (PR21), run unchanged
under ``import deltagrad as torch``, their whole printed output compared with PyTorch's.

Image programs (prog_s29_PR21_vision.py): mnist (argparse settings, Conv2d / Dropout /
max_pool2d / log_softmax, nll_loss, Adadelta with StepLR, a test loop counting correct
predictions, torch.save / load of the state_dict), mnist_rnn, mnist_forward_forward, vae, dcgan,
siamese_network, super_resolution, fast_neural_style pieces, an imagenet-lite residual net with
AverageMeter and top-k accuracy, regression with polynomial features, and a vision transformer.
Sequence, graph and reinforcement learning programs (prog_s29_PR21_seq.py):
word_language_model with LSTM, GRU, RNN_TANH and Transformer models (batchify, get_batch,
repackage_hidden, clip_grad_norm_, perplexity, the whole model saved and generation by
multinomial sampling), time_sequence_prediction (LSTMCell loop, LBFGS with a closure),
reinforce and actor_critic, gcn (sparse adjacency) and gat (masked attention), a
language-translation-style seq2seq nn.Transformer with padding masks and label smoothing, and
legacy snippets (Variable, .data, volatile, torch.jit.trace).

Written afresh (tiny sizes, seeded, synthetic data); each side runs in one process
(prog_s29_PR21_all.py), compared as PR20's test compares (test_s29_PR20_programs._compare: the
text character for character, numbers within tolerance, warnings by category and first
sentence, recorded values to float tolerance). What deltagrad still does differently is in
KNOWN below, each a snippet run on both libraries that must still print something else.
"""

from __future__ import annotations

import os

import pytest
from alias_runs import run_both
from test_s29_PR20_programs import _compare, _printed

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s29_PR21_all.py")

# section -> (how many keys it must record at least, (rtol, atol) of its printed numbers or
# None for PR20's defaults)
SECTIONS = {
    # prog_s29_PR21_vision.py
    "e21_mnist": (4, None), "e21_mnist_rnn": (3, None), "e21_mnist_ff": (3, None),
    "e21_vae": (3, None), "e21_dcgan": (3, None), "e21_siamese": (3, None),
    "e21_superres": (3, None), "e21_style": (3, None), "e21_imagenet": (3, None),
    "e21_regression": (3, None), "e21_vit": (3, None),
    # prog_s29_PR21_seq.py
    "e21_wlm_lstm": (3, None), "e21_wlm_gru": (3, None), "e21_wlm_rnn": (3, None),
    "e21_wlm_tf": (3, None),
    "e21_timeseq": (3, (1e-9, 1e-12)),  # (float64 throughout)
    "e21_reinforce": (3, None), "e21_ac": (3, None), "e21_gcn": (3, None),
    "e21_gat": (3, None), "e21_translate": (3, None), "e21_legacy": (3, None),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s29_PR21")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    _compare(*results, section, SECTIONS[section])


def test_programs_do_their_job(results):
    # The comparisons above would pass if both sides printed nothing; these would not.
    _, ours = results

    def text(key):
        return str(ours[f"{key}.log.stdout"])

    for key, lines in (("e21_mnist", 20), ("e21_mnist_rnn", 8), ("e21_mnist_ff", 8),
                       ("e21_vae", 8), ("e21_dcgan", 18), ("e21_siamese", 5),
                       ("e21_superres", 8), ("e21_style", 6), ("e21_imagenet", 5),
                       ("e21_regression", 3), ("e21_vit", 5), ("e21_wlm_lstm", 7),
                       ("e21_wlm_gru", 7),
                       ("e21_wlm_rnn", 7), ("e21_wlm_tf", 7), ("e21_timeseq", 12),
                       ("e21_reinforce", 6), ("e21_ac", 6), ("e21_gcn", 5), ("e21_gat", 3),
                       ("e21_translate", 10), ("e21_legacy", 12)):
        assert text(key).count("\n") >= lines, key
    assert text("e21_mnist").count("Test set: Average loss") == 2
    assert "Accuracy: 37/48 (77%)" in text("e21_mnist")  # (it learns the quadrants)
    assert "<All keys matched successfully>" in text("e21_mnist")
    assert text("e21_timeseq").count("loss:") >= 6
    assert "implicitly disabled" in str(ours["e21_gcn.log.warnings"])  # (PR21's fix)
    assert "volatile was removed" in str(ours["e21_legacy.log.warnings"])
    assert "`torch.jit.trace_method` is deprecated" in str(ours["e21_legacy.log.warnings"])


# What deltagrad still does differently, each a snippet printed on both libraries that must
# still differ (name -> (reason, code run with ``torch`` bound to each library)).
KNOWN = {
    "sparse_invariants_is_enabled": (
        "torch.sparse.check_sparse_tensor_invariants.is_enabled() is True in deltagrad: it "
        "always checks a sparse tensor's index range when building one (a bad index is never "
        "silent); PyTorch's default is False (no checks, memory errors on a bad index)",
        "print(torch.sparse.check_sparse_tensor_invariants.is_enabled())"),
    "jit_trace_module_type": (
        "torch.jit.trace / script return what they are given (deltagrad runs every program "
        "eagerly: no TorchScript); PyTorch's traced module is a TopLevelTracedModule (the "
        "same outputs)",
        "print(type(torch.jit.trace(torch.nn.Linear(2, 2), torch.ones(1, 2))).__name__)"),
}


@pytest.mark.parametrize("name", list(KNOWN))
def test_known_differences_still_differ(name):
    import deltagrad

    code = KNOWN[name][1]
    real, ours = _printed(torch, code), _printed(deltagrad, code)
    assert real != ours, f"{name} is fixed: delete its KNOWN entry ({real!r} on both)"
