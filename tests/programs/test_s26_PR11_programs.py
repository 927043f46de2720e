"""Real-style programs, session 26 (PR11): programs as students and tutorials write them, run
unchanged under ``import deltagrad as torch``, their whole printed output compared with PyTorch's.

Karpathy's "zero to hero" lectures (bigram counts and sampling with a seeded Generator, the
bigram net, the makemore MLP with a hand-written batch norm, lecture 3's activation /
gradient statistics, lecture 4's backprop ninja, the WaveNet hierarchy, micrograd against
torch, "let's build GPT"); Dive into Deep Learning's from-scratch chapters (linear / softmax
regression, MLP, weight decay, dropout, batch norm in LeNet, a char RNN with gradient clipping,
GRU / LSTM, seq2seq with masking and BLEU, masked softmax attention and Nadaraya-Watson,
the transformer encoder, word2vec with negative sampling); CS224N assignments (word2vec
gradients with gradcheck_naive, co-occurrence SVD, the dependency parser, NMT with packed
sequences, the lecture-4 window classifier and a window NER tagger); PyTorch's tutorials ("What
is torch.nn really?", "Learning PyTorch with examples", the quickstart with save / load, the
tensors and autograd pages).

``prog_s26_PR11_*.py`` are written afresh (tiny sizes, seeded) and run unchanged on the real
PyTorch and under ``python -m deltagrad run``, one process per side for all sections. Each
section's stdout is compared as text: object addresses are masked; everything but numbers must
agree character for character; each number must have the same printed form (digits after the
point unless it is a float's repr, exponent or not) and agree to the section's tolerance plus
one unit of its last printed digit (float32 roundoff after a few training steps shows in
full-precision ``loss.item()`` prints). Warnings compare by category and first sentence
(prog_s25_PR9_harness.py). The known differences are kept out of the comparison
(``_known_out``), each pinned by ``test_known_differences``.
"""

from __future__ import annotations

import os
import re

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s26_PR11_all.py")
RTOL, ATOL = 1e-5, 1e-6  # float32 summation-order differences over a few steps

# section -> (its key prefix, how many keys it must record at least, (rtol, atol) of its
# printed numbers or None for RTOL / ATOL)
SECTIONS = {
    # prog_s26_PR11_zero2hero.py
    "z2h_counts": ("z2h_counts", 2, None), "z2h_bnet": ("z2h_bnet", 4, None),
    "z2h_mlp": ("z2h_mlp", 6, None), "z2h_act": ("z2h_act", 2, (1e-5, 1e-6)),
    "z2h_ninja": ("z2h_ninja", 2, (1e-5, 1e-7)), "z2h_wavenet": ("z2h_wavenet", 2, None),
    "z2h_micro": ("z2h_micro", 2, None), "z2h_gpt": ("z2h_gpt", 2, None),
    "z2h_gpt2": ("z2h_gpt2", 2, None), "z2h_lect": ("z2h_lect", 2, None),
    # prog_s26_PR11_d2l.py
    "d2l_linreg": ("d2l_linreg", 2, None), "d2l_softmax": ("d2l_softmax", 2, None),
    "d2l_mlp": ("d2l_mlp", 2, None), "d2l_wd": ("d2l_wd", 2, None),
    "d2l_dropout": ("d2l_dropout", 2, None), "d2l_lenet": ("d2l_lenet", 2, None),
    "d2l_rnn": ("d2l_rnn", 2, None), "d2l_gru": ("d2l_gru", 2, None),
    "d2l_s2s": ("d2l_s2s", 2, None), "d2l_attn": ("d2l_attn", 2, None),
    "d2l_tf": ("d2l_tf", 2, None), "d2l_w2v": ("d2l_w2v", 4, None),
    "d2l_prelim": ("d2l_prelim", 2, None), "d2l_builders": ("d2l_builders", 2, None),
    "d2l_conv": ("d2l_conv", 2, None), "d2l_bert": ("d2l_bert", 2, None),
    # prog_s26_PR11_cs224n.py
    "cs_w2v": ("cs_w2v", 4, None), "cs_cooc": ("cs_cooc", 2, None),
    "cs_parser": ("cs_parser", 2, None), "cs_nmt": ("cs_nmt", 2, None),
    "cs_window": ("cs_window", 2, (1e-5, 1e-15)),
    # prog_s26_PR11_tutorials.py
    "tut_nnr": ("tut_nnr", 4, None), "tut_cnn": ("tut_cnn", 2, None),
    "tut_ex1": ("tut_ex1", 2, None), "tut_ex2": ("tut_ex2", 2, None),
    "tut_ex3": ("tut_ex3", 2, None), "tut_quick": ("tut_quick", 2, None),
    "tut_tensors": ("tut_tensors", 2, None), "tut_autograd": ("tut_autograd", 2, None),
    "tut_blitz": ("tut_blitz", 2, None),
}

_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _masked(text: str) -> str:
    return _ADDRESS.sub(" at ADDR", text)


_REPR = 6  # more digits after the point than a format's: a float's repr ("2.2568702697753906")


def _form(number: str) -> tuple:
    """A printed number's form: its digits after the point, and its exponent mark."""
    mantissa = re.split(r"[eE]", number)[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else -1
    return decimals, "e" in number.lower()


def text_problems(real: str, ours: str, rtol: float, atol: float) -> list[str]:
    """Where ``ours`` differs from ``real`` beyond the rules in the module docstring."""
    real, ours = _masked(real), _masked(ours)
    if real == ours:
        return []
    problems = []
    real_lines, our_lines = real.split("\n"), ours.split("\n")
    if len(real_lines) != len(our_lines):
        problems.append(f"{len(our_lines)} lines, torch {len(real_lines)}")
    for number, (a, b) in enumerate(zip(real_lines, our_lines), 1):
        if a == b:
            continue
        if _NUMBER.split(a) != _NUMBER.split(b):
            problems.append(f"line {number}: {b!r}, torch {a!r}")
            continue
        for x, y in zip(_NUMBER.findall(a), _NUMBER.findall(b)):
            (decimals, exponent), form = _form(x), _form(y)
            if max(decimals, form[0]) > _REPR:  # (Python's shortest repr: any length)
                same_form, unit = exponent == form[1], 0.0
            else:  # (a format's: the same digits; one unit of the last may flip)
                same_form = (decimals, exponent) == form
                unit = 10.0 ** -decimals * 1.001 if decimals > 0 and not exponent else 0.0
            if not same_form or abs(float(x) - float(y)) > atol + unit + rtol * abs(float(x)):
                problems.append(f"line {number}: {b!r}, torch {a!r}")
                break
    return problems[:10]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s26_PR11")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


def _known_out(key: str, text: str) -> str:
    """The stdout of ``key`` less what test_known_differences keeps out of the comparison."""
    if key == "z2h_ninja.log.stdout":  # (the `exact:` column and the roundoff it measures)
        text = re.sub(r"exact: (True |False)", "exact: ?", text)
        text = re.sub(r"(maxdiff|diff): \S+", r"\1: ?", text)
        text = re.sub(r"tensor\(\S+, grad_fn=<SumBackward0>\)\n", "tensor(?)\n", text)
    if key == "d2l_attn.log.stdout":  # (whole numbers printed whole or with 4 decimals)
        text = re.sub(r"(\d+)\.0000\b", r"\1.", text)
    if key == "d2l_builders.log.stdout":  # (a Parameter's class)
        text = text.replace("<class 'torch.nn.parameter.Parameter'>", "<class 'torch.Tensor'>")
    if key == "z2h_lect.log.warnings":  # (NumPy's warning about PyTorch's __array__)
        text = "\n".join(line for line in text.split("\n") if not line.startswith(_NO_COPY))
    return text


_NO_COPY = "DeprecationWarning: __array__ implementation doesn't accept a copy keyword"


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    real, ours = results
    prefix, at_least, tolerance = SECTIONS[section]
    rtol, atol = tolerance or (RTOL, ATOL)
    error = {k: str(v)[-2000:] for k, v in {**real, **ours}.items() if k == f"ERR.{section}"}
    assert not error, error
    keys = sorted(k for k in set(real) | set(ours) if k.startswith(prefix + "."))
    only = [k for k in keys if k not in real or k not in ours]
    assert not only, f"recorded on one side only: {only}"
    problems = []
    for key in keys:
        if key.endswith(".stdout"):
            problems += [f"{key}: {p}" for p in text_problems(
                _known_out(key, str(real[key])), _known_out(key, str(ours[key])), rtol, atol)]
        elif key.endswith(".warnings"):
            if _known_out(key, str(real[key])) != _known_out(key, str(ours[key])):
                problems.append(f"{key}: {ours[key]!s}, torch {real[key]!s}")
    problems += alias_runs.mismatches(
        real, ours, [k for k in keys if not k.endswith((".stdout", ".warnings", ".dtype"))],
        rtol=1e-4, atol=1e-5)
    problems += [f"{k}: {ours[k]} vs {real[k]}" for k in keys
                 if k.endswith(".dtype") and str(ours[k]) != str(real[k])]
    assert not problems, "\n".join(problems)
    assert len(keys) >= at_least, f"{section}: {len(keys)} keys, {at_least} expected"


def test_text_comparison_catches_differences():
    # The comparison the sections rely on: numbers to tolerance, their printed form and all
    # other text exactly.
    assert not text_problems("loss 2.3031177520 at 0x7f", "loss 2.3031175136 at 0x55", 1e-5, 0)
    assert not text_problems("tensor([1.0000, 2.0001])", "tensor([1.0000, 2.0000])", 0, 0)
    assert text_problems("tensor([1.0000, 2.0000])", "tensor([1., 2.])", 1e-5, 1e-6)
    assert text_problems("exact: True ", "exact: False", 1e-5, 1e-6)
    assert text_problems("loss 2.30", "loss 2.40", 1e-5, 1e-6)
    assert text_problems("a\nb", "a", 1e-5, 1e-6)


def test_known_differences(results):
    # Left alone (reported): each pinned so that a change on either side is noticed.
    real, ours = results
    # Lecture 4's `cmp`: PyTorch's autograd sums a broadcast gradient back with the same kernel
    # as `.sum()`, so `dlogit_maxes == logit_maxes.grad` bit for bit; deltagrad's sums small
    # float32 gradients as one BLAS product (broadcast_grads.py, a speed choice), whose order
    # of additions differs from `.sum()`'s in the last bits. All rows agree to allclose.
    real_text, our_text = str(real["z2h_ninja.log.stdout"]), str(ours["z2h_ninja.log.stdout"])
    assert "logit_maxes     | exact: True " in real_text
    assert "logit_maxes     | exact: False" in our_text
    assert real_text.count("approximate: True ") == our_text.count("approximate: True ") == 28
    for text in (real_text, our_text):
        assert all(float(d) < 1e-7 for d in re.findall(r"maxdiff: (\S+)", text))
    # d2l's attention example: bmm of softmax weights 1/6 with whole numbers; PyTorch's sum of
    # the products rounds to 10.000001 (so the tensor prints with 4 decimals), deltagrad's to
    # 10 (printed "10."): float32 roundoff in either library's order of additions.
    assert "[[10.0000, 11.0000, 12.0000, 13.0000]]]" in str(real["d2l_attn.log.stdout"])
    assert "[[10., 11., 12., 13.]]]" in str(ours["d2l_attn.log.stdout"])
    # `type(net[2].bias)` (d2l's parameter-management page): deltagrad's parameters are
    # Tensors marked as parameters, by design (nn/module.py); isinstance(p, nn.Parameter) holds.
    assert "<class 'torch.nn.parameter.Parameter'>" in str(real["d2l_builders.log.stdout"])
    assert "<class 'torch.Tensor'>" in str(ours["d2l_builders.log.stdout"])
    # matplotlib's np.array(x, copy=False) of a tensor: NumPy 2 warns that PyTorch's __array__
    # takes no `copy` keyword (a DeprecationWarning, hidden by default); deltagrad's __array__
    # has PyTorch's signature since session 27 (PR13), so it warns the same.
    assert str(real["z2h_lect.log.warnings"]).count(_NO_COPY) == 2
    assert str(ours["z2h_lect.log.warnings"]).count(_NO_COPY) == 2


def test_programs_do_their_job(results):
    # The comparisons above would pass if both sides printed nothing; these would not.
    _, ours = results

    def text(key):
        return str(ours[f"{key}.log.stdout"])

    for key, lines in (("z2h_counts", 20), ("z2h_bnet", 10), ("z2h_mlp", 12), ("z2h_act", 15),
                       ("z2h_ninja", 30), ("z2h_wavenet", 30), ("z2h_micro", 15),
                       ("z2h_gpt", 40), ("d2l_linreg", 10), ("d2l_softmax", 10),
                       ("d2l_mlp", 5), ("d2l_wd", 12), ("d2l_dropout", 12), ("d2l_lenet", 20),
                       ("d2l_rnn", 15), ("d2l_gru", 8), ("d2l_s2s", 10), ("d2l_attn", 20),
                       ("d2l_tf", 15), ("d2l_w2v", 20), ("cs_w2v", 10), ("cs_cooc", 5),
                       ("cs_parser", 15), ("cs_nmt", 10), ("cs_window", 15), ("tut_nnr", 15),
                       ("tut_cnn", 6), ("tut_ex1", 15), ("tut_ex2", 12), ("tut_ex3", 12),
                       ("tut_quick", 30), ("tut_tensors", 40), ("tut_autograd", 30),
                       ("z2h_gpt2", 20), ("z2h_lect", 40), ("d2l_prelim", 100),
                       ("d2l_builders", 50), ("d2l_conv", 40), ("d2l_bert", 8),
                       ("tut_blitz", 20)):
        assert text(key).count("\n") >= lines, key
    # every hand-derived gradient of the backprop exercise agrees with autograd's
    assert text("z2h_ninja").count("approximate: True ") >= 20
    assert "approximate: False" not in text("z2h_ninja")
    assert text("cs_w2v").count("Gradient check passed!") == 2
    assert "parse test passed!" in text("cs_parser")
    assert "FlattenConsecutive : (4, 4, 16)" in text("z2h_wavenet")
    assert "weights written to pixel_mlp.pt" in text("tut_quick")
    assert "<All keys matched successfully>" in text("tut_quick")
    assert "<AddBackward0 object at 0x" in text("tut_autograd")
    assert "[torch.storage.TypedStorage(dtype=torch.int64, device=cpu) of size 18]" in text(
        "z2h_lect")
    assert "using fused AdamW: False" in text("z2h_gpt2")
    assert "<AddmmBackward0 object at 0x" in text("tut_blitz")  # (MSELoss's next: the Linear)
    assert "torch.bfloat16 torch.float32 validation loss" in text("z2h_gpt2")
