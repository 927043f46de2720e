"""Programs in the style of the pytorch/examples repository, session 29 (PR21), run unchanged
under ``import deltagrad as torch``, their whole printed output compared with PyTorch's.

Image programs (prog_s29_PR21_vision.py): a vision transformer.
Graph and translation programs (prog_s29_PR21_seq.py): gcn (sparse adjacency) and gat (masked
attention), a language-translation-style seq2seq nn.Transformer with padding masks and label
smoothing, and legacy snippets (Variable, .data, volatile, torch.jit.trace). (Session 30 took
out the programs that retyped examples the earlier families already run: mnist, mnist_rnn,
mnist_forward_forward, vae, dcgan, siamese_network, super_resolution, fast_neural_style,
imagenet, regression, word_language_model, time_sequence_prediction, reinforce,
actor_critic; the files' SECTIONS name where they run.)

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
    "e21_vit": (3, None),
    # prog_s29_PR21_seq.py
    "e21_gcn": (3, None), "e21_gat": (3, None), "e21_translate": (3, None),
    "e21_legacy": (3, None),
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

    for key, lines in (("e21_vit", 5), ("e21_gcn", 5), ("e21_gat", 3),
                       ("e21_translate", 10), ("e21_legacy", 12)):
        assert text(key).count("\n") >= lines, key
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
