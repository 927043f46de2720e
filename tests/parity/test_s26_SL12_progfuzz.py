"""The program fuzzer's invalid-argument family (``s26_SL12_invalid.py``: calls drawn at and
past the edge of validity over torch.*, Tensor methods, nn.functional, linalg, fft and
special: dims out of range or repeated, negative / float / tensor sizes, shapes that do not
broadcast, dtypes an op refuses, indices out of range, bad ``out=``, bad keywords and None
arguments, in-place writes that cannot be done, empty inputs) on a fixed sample of programs,
deltagrad against PyTorch after every line: both raise with compatible classes, or neither
does and everything agrees. The soak run takes 2,000 more. Reviewed differences are the
earlier sessions' lists plus the family's own ``KNOWN``, each with an example below that must
still differ (a fixed one fails here: delete the entry)."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s26_SL12_invalid as fuzz  # noqa: E402

SAMPLE = 20  # programs of seed 0: about 1 s of CPU (after the imports)
SOAK_SEEDS = range(1, 5)  # 500 programs each


def test_fixed_sample_has_no_unreviewed_difference():
    failures, _ = fuzz.run(0, SAMPLE)
    assert not failures, base.report(failures)


@pytest.mark.soak
@pytest.mark.parametrize("seed", SOAK_SEEDS)
def test_soak(seed):
    # (2,000 programs: 500 take about 20 s of CPU; the default run keeps 20)
    failures, _ = fuzz.run(seed, 500)
    assert not failures, base.report(failures)


def test_the_new_family_is_drawn():
    text = "\n".join(line for i in range(30) for line in fuzz.program(7, i))
    for needle in ("out=", "dim=", "torch.linalg.", "torch.fft.", "torch.special.",
                   "functional.", ".expand(", "dtype=torch.bool", "torch.tensor([]",
                   "torch.index_select(", "None"):
        assert needle in text, needle
    assert fuzz.program(7, 3) == fuzz.program(7, 3)


# One minimised program per reviewed difference of the family's KNOWN list: it must still
# differ, and the reason found must be that entry's (not an earlier session's).
EXAMPLES = {
    # (squeeze(x, None) raises PyTorch's TypeError since s27 BR15, round(x, decimals=None)
    # and linalg.pinv(a, None) since s27 BR16, std(a, None, None) since s28 BR17, dropout's
    # train=None since s28 BR18, rrelu's training=None since s29 BR19; split's not)
    fuzz._none_argument: [
        "a12 = torch.tensor(-0.761, dtype=torch.float32); a13 = torch.split(a12, 1, None)"],
    fuzz._dtype_string: ["a23 = torch.zeros(2, dtype='float32')"],
    # (_int_as_bool gone: Tensor.requires_grad_(1) raises PyTorch's TypeError since s28 BR18,
    # the factories' requires_grad=1 since s29 BR19)
    fuzz._out_unsupported: [
        "a2 = torch.tensor([[-1.59, 0.058], [-0.739, -0.78]]); "
        "a5 = torch.tensor([], dtype=torch.bool); a4 = torch.nonzero(a2, out=a5); _ = None",
    ],
    fuzz._out_aliases_input: [
        "a2 = torch.tensor([[0.767, -1.44, 0.272], [0.672, -0.745, 0.091]]); "
        "a3 = torch.tensor([[-0.47, 1.515, -0.703], [-0.003, -0.213, 0.642]]); "
        "a4 = torch.stack([a2, a3], out=a2); _ = None",
    ],
    fuzz._empty_unchecked: ["a9 = torch.tensor([[], []], dtype=torch.float64); a10 = a9[[2]]"],
    fuzz._kernel_dtype: [
        "a26 = torch.tensor(0.064, dtype=torch.bfloat16); a28 = torch.fft.hfft(a26)",
    ],
    fuzz._parser_type_error: ["a8 = torch.tensor([[1.0], 2.0])"],
    fuzz._check_order: ["a2 = torch.ones((2**62, 2**62))"],
    fuzz._grad_out_comparison: [
        "a5 = torch.tensor([[-1.555, -0.799], [-0.934, -0.402]]); "
        "a8 = torch.tensor(1.084).requires_grad_(); "
        "a7 = torch.logical_and(a5, a5, out=a8); _ = None",
    ],
    fuzz._expanded_write: [  # (resize_ of an expanded tensor, the example before, works
        # since s28 SL18: its storage is found through NumPy's as_strided)
        "a0 = torch.broadcast_tensors(torch.zeros(1), torch.ones(3))[0]",
        "a1 = torch.zeros(3, out=a0)",
    ],
    fuzz._uninitialised: [
        "a33 = torch.nn.functional.multi_margin_loss(torch.zeros(0, 1), "
        "torch.tensor([], dtype=torch.int16))",
    ],
    fuzz._running_stats_grad: [
        "a20 = torch.tensor([[[1.561, -0.005], [0.968, -1.932], [0.354, -1.294]]]); "
        "a21 = torch.tensor([-1.704, 1.337, -0.247]).requires_grad_(); "
        "a22 = torch.nn.functional.batch_norm(a20, a21, a21, training=False)",
    ],
    # (_mask_put_cast gone: index_put_ with one bool mask casts a one-element value as
    # PyTorch's masked_fill_ since s29 BR19)
    fuzz._empty_transform: [
        "a8 = torch.tensor([], dtype=torch.float32); a10 = torch.fft.irfftn(a8, s=(5,))",
    ],
    fuzz._addr_promotes: [
        "a29 = torch.tensor(0.296); a30 = torch.tensor([-0.03, 0.988], dtype=torch.float64); "
        "a31 = torch.addr(a29, a30, a30)",
    ],
    fuzz._repeat_interleave_0d: [
        "a10 = torch.tensor(0.599, dtype=torch.float64); "
        "a11 = torch.repeat_interleave(a10, 2, -1)",
    ],
}


@pytest.mark.parametrize("entry", [test for test, _ in fuzz.KNOWN],
                         ids=[test.__name__ for test, _ in fuzz.KNOWN])
def test_each_reviewed_difference_still_differs(entry):
    lines = EXAMPLES[entry]
    failure = fuzz.compare(lines)
    if failure is None and entry is fuzz._uninitialised:  # (PyTorch's garbage can be nan)
        pytest.skip("PyTorch's uninitialised result happened to match")
    assert failure is not None, "fixed: delete the KNOWN entry"
    assert fuzz.known(lines, failure) == dict(fuzz.KNOWN)[entry], failure
