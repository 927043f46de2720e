"""The program fuzzer's session-25 families (``s25_SL10_families.py`` / ``s25_SL10_more.py``:
integer and bool chains with augmented assignments on views, conversions of edge values,
NumPy arrays of every dtype in and out, nested literals, default-dtype changes, empty tensors
through reductions and shape ops, views of views written in place, shape-op edges and index
ops with gradients) on a fixed sample of programs, deltagrad against PyTorch after every
line; the soak run takes 4,000 more. Reviewed differences are the earlier sessions' lists plus
the families' own ``KNOWN``, each with an example below that must still differ (a fixed one
fails here: delete the entry)."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s25_SL10_families as fuzz  # noqa: E402

SAMPLE = 40  # programs of seed 0: about 1.7 s of CPU (after a warm-up run)
SOAK_SEEDS = range(1, 5)  # 1,000 programs each


def test_fixed_sample_has_no_unreviewed_difference():
    failures, _ = fuzz.run(0, SAMPLE)
    assert not failures, base.report(failures)


@pytest.mark.soak
@pytest.mark.parametrize("seed", SOAK_SEEDS)
def test_soak(seed):
    # (4,000 programs: about 35 s of CPU each seed, 500 took 15-21 s; the default run keeps 40)
    failures, _ = fuzz.run(seed, 1000)
    assert not failures, base.report(failures)


def test_the_new_families_are_drawn():
    text = "\n".join(line for i in range(40) for line in fuzz.program(7, i))
    for needle in ("dtype=torch.int8", "dtype=torch.uint8", "= torch.zeros((", "//= ",
                   "torch.clamp(", "np.array(", "torch.from_numpy(", "set_default_dtype(",
                   ".tolist()", "index_put_(", "scatter", "split(",
                   "float('nan')", "requires_grad=True", ".backward()"):
        assert needle in text, needle
    assert fuzz.program(7, 3) == fuzz.program(7, 3)


def _aliased_view(lines, failure):
    """(the second example of ``_aliased_inplace``: an operand that aliases through a name)"""


# One minimised program per reviewed difference of the families' KNOWN list: it must still
# differ, and the reason found must be that entry's.
EXAMPLES = {
    fuzz._readonly_array: [
        "import numpy as np; _a = np.array([1, 2], dtype=np.int16); _a.setflags(write=False); "
        "a1 = torch.from_numpy(_a)", "a1.add_(1)",
    ],
    fuzz._wide_unsigned: [
        "import numpy as np; a1 = torch.from_numpy(np.array([1, 2], dtype=np.uint32))",
        "a2 = a1 * torch.tensor([True, False])",
    ],
    fuzz._empty_first_row: ["a1 = torch.tensor([[], [1]])"],
    fuzz._scatter_prod_broadcast: [
        "a3 = torch.tensor([[0.79, 0.35, -1.44], [0.76, -1.6, 0.57]], dtype=torch.float64, "
        "requires_grad=True); a4 = a3.scatter_reduce(1, torch.tensor([[1], [0]]), a3 * 2, "
        "'prod', include_self=False); a4.sum().backward()",
    ],
    # (topk's ties are PyTorch's since s28 BR17, sort's since s28 DX1: the example is sort's
    # unstable order past sort_ties.py's rerun limit)
    fuzz._topk_ties: ["a1 = torch.zeros(2, 33000)", "a2 = a1.sort()"],
    fuzz._complex_half_default: ["torch.set_default_dtype(torch.float16); "
                                 "a1 = torch.tensor([1j])"],
    fuzz._bool_view_bytes: [
        "a1 = torch.tensor([2.0, 0.5], dtype=torch.float64).view(torch.bool)",
        "torch.set_default_dtype(torch.bfloat16); a2 = a1.sqrt()",
    ],
    fuzz._overlap_writes: [
        "a1 = torch.arange(6).reshape(2, 3)", "a2 = a1.unfold(-1, 2, 1)", "a2 //= 2",
    ],
    fuzz._empty_bool_cumsum: [
        "a1 = torch.tensor([], dtype=torch.int16)", "a2 = a1.cumsum(-1, dtype=torch.bool)",
    ],
    fuzz._aliased_inplace: [
        "a1 = torch.tensor([[-0.25, -0.98], [-1.64, -1.61]], dtype=torch.float64)",
        "a1[:, 0] *= a1.reshape(-1)[:1]",
    ],
    _aliased_view: [
        "a2 = torch.tensor([[5, 0, -2, -3], [-5, 1, 2, 4], [-2, -2, -5, 2]])",
        "a4 = a2[:, 1:]", "a5 = a4.T", "a5 += a5", "a17 = a4.bitwise_left_shift_(a5)",
    ],
    fuzz._bits_of_rounding: [
        "a1 = torch.tensor([-0.31, 0.36, -0.41, 0.35], dtype=torch.float64)",
        "a1.put_(torch.tensor([1, -1, 1]), torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64), "
        "accumulate=True)", "a2 = a1.view(torch.int16)",
    ],
    fuzz._setitem_check_order: [
        "a1 = torch.zeros(3, 4, requires_grad=True) * 1",
        "a1[None, torch.tensor([3])] = torch.tensor([0.9, 2.1])",
    ],
    fuzz._long_long_beside_tensor: [
        "a1 = torch.tensor([[torch.tensor(3), 2**63]], dtype=torch.int64)",
    ],
    fuzz._partial_division: [
        "a4 = torch.tensor([3, 32767, -1], dtype=torch.int64)", "a5 = a4.clamp_min(0)",
        "a11 = a4.div_(a5, rounding_mode='floor')",
    ],
    fuzz._empty_bool_matmul: [
        "a1 = torch.zeros((0,), dtype=torch.bool); a2 = torch.matmul(a1, torch.ones(0, 2, "
        "dtype=torch.bool))",
    ],
}


SECOND = {_aliased_view: fuzz._aliased_inplace}


@pytest.mark.parametrize("entry", [test for test, _ in fuzz.KNOWN] + list(SECOND),
                         ids=[test.__name__ for test, _ in fuzz.KNOWN] + [
                             test.__name__ for test in SECOND])
def test_each_reviewed_difference_still_differs(entry):
    lines = EXAMPLES[entry]
    failure = fuzz.compare(lines)
    assert failure is not None, "fixed: delete the KNOWN entry"
    assert SECOND.get(entry, entry)(lines, failure), failure
