"""The program fuzzer's printed-output family (``s28_SL17_printing.py``: repr / str / format
of tensors of every dtype, shape and value kind under set_printoptions and set_default_dtype,
grad_fn names, Parameters, containers, NumPy arrays, sizes / dtypes / devices, modules'
reprs) on a fixed sample of programs, deltagrad against PyTorch after every line, the text
compared exactly. The soak run takes 1,500 more. Reviewed differences are the earlier
sessions' lists plus the family's own ``KNOWN``, each with an example below that must still
differ (a fixed one fails here: delete the entry)."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s28_SL17_printing as fuzz  # noqa: E402
import s30_DD1_family_tests as family_tests  # noqa: E402

import deltagrad as dg  # noqa: E402

SAMPLE = 40  # programs of seed 0: about 1 s of CPU (after the imports)
SOAK_SEEDS = range(1, 4)  # 500 programs each


def _printoptions(lib):
    from deltagrad._engine.printing import PrintOptions
    if lib is dg:
        return (PrintOptions.precision, PrintOptions.threshold, PrintOptions.edgeitems,
                PrintOptions.linewidth, PrintOptions.sci_mode, str(dg.get_default_dtype()))
    opts = torch._tensor_str.PRINT_OPTS
    return (opts.precision, opts.threshold, opts.edgeitems, opts.linewidth, opts.sci_mode,
            str(torch.get_default_dtype()).replace("torch", "deltagrad"))


def _both_printoptions():
    # (the fixed sample must restore them on both sides: no leak into other tests)
    return _printoptions(dg), _printoptions(torch)


# Texts that seed 7's first programs must contain between them: what the family draws.
NEEDLES = ("repr(", "str(", "format(", "f'{", "set_printoptions(", "precision=",
           "threshold=", "edgeitems=", "linewidth=", "sci_mode=", "profile=",
           "set_default_dtype(", "dtype=torch.bfloat16", "torch.complex(",
           "float('nan')", "-0.0", "torch.arange(", "requires_grad", "grad_fn",
           "torch.nn.Parameter(", ".numpy()", "torch.Size(", "torch.device(",
           "tolist()", "torch.finfo(", ".t()", "[::2]")


def test_text_is_compared_exactly():
    assert fuzz.compare(["a0 = torch.tensor([1.5, -0.0]); a1 = repr(a0)"]) is None
    assert fuzz.compare(["a0 = torch.tensor([1, 2], dtype=torch.int8); a1 = repr(a0)"]) is None
    with fuzz.wide():
        assert base.snapshot("tensor([1.])") != base.snapshot("tensor([1.0])")
        assert base.snapshot("<x at 0x7f00>") == base.snapshot("<x at 0x1234abc>")


def test_print_options_and_default_dtype_are_reset_after_a_program():
    lines = ["torch.set_printoptions(precision=1, threshold=5, sci_mode=True)",
             "torch.set_default_dtype(torch.float64)", "a0 = repr(torch.arange(10.) / 3)"]
    assert fuzz.compare(lines) is None
    assert _printoptions(dg) == _printoptions(torch)
    assert repr(dg.tensor([1 / 3])) == "tensor([0.3333])"


# One minimised program per reviewed difference of the family's KNOWN list: it must still
# differ, and the reason found must be that entry's.
EXAMPLES = {
    fuzz._generator_repr: ["a0 = repr(torch.Generator())"],
    fuzz._half_default_number: ["torch.set_default_dtype(torch.float16)",
                                "a1 = (torch.arange(3) * 1e5)"],
    # (past sort_ties.py's rerun limit: below it the ties are PyTorch's since s28 DX1)
    fuzz._sort_ties: ["a5 = (torch.arange(66000) ** 2).to(torch.bool).reshape(2, 33000)",
                      "a11 = repr(a5.sort() if a5.dim() else a5)"],
    fuzz._complex_add_nan: ["a0 = torch.tensor([[0, 1], [-6, 0]], dtype=torch.int64)",
                            "a13 = a0 + torch.tensor(float('nan'), dtype=torch.complex128)",
                            "a28 = repr(a13.contiguous())"],
    fuzz._complex_neg_zero: [
        "a3 = torch.complex(torch.zeros(14, dtype=torch.float64), torch.ones(14, "
        "dtype=torch.float64)); a4 = a3.neg()", "a12 = f'{a4!r}'"],
    fuzz._last_bit_digits: [
        "a5 = torch.tensor([[1.84, 0.47, -6.33], [-0.81, 2.56, 2.57]], requires_grad=True)",
        "a7 = a5.sum()", "a14 = str(a7.tolist())"],
    fuzz._median_zero_sign: ["a2 = torch.tensor([-6.61, 0.0, -0.0], requires_grad=True)",
                             "a7 = repr(a2.median())"],
}


(test_fixed_sample_has_no_unreviewed_difference, test_soak, test_the_new_family_is_drawn,
 test_each_reviewed_difference_still_differs) = family_tests.standard(
    fuzz, sample=SAMPLE, soak_seeds=SOAK_SEEDS, needles=NEEDLES, examples=EXAMPLES,
    unchanged=_both_printoptions)
