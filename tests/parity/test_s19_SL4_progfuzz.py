"""The program fuzzer's session-19 families (``s19_SL4_families.py``: indexing and setitem,
scatter / gather, sorting and selection, integer arithmetic, the autograd API) on a fixed
sample of programs, deltagrad against PyTorch after every line; the soak run takes 3,000
more. Reviewed differences are ``s17_SL_known.KNOWN`` plus the families' own ``KNOWN``, each
with an example below that must still differ (a fixed one fails here: delete the entry)."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s19_SL4_families as fuzz  # noqa: E402

SAMPLE = 50  # programs of seed 0: about 1.5 s of CPU
SOAK_SEEDS = range(1, 4)  # 1,000 programs each: about 25 s of CPU a seed


_report = base.report


def test_fixed_sample_has_no_unreviewed_difference():
    failures, _ = fuzz.run(0, SAMPLE)
    assert not failures, _report(failures)


@pytest.mark.soak
@pytest.mark.parametrize("seed", SOAK_SEEDS)
def test_soak(seed):
    failures, _ = fuzz.run(seed, 1000)
    assert not failures, _report(failures)


def test_the_new_families_are_drawn():
    text = "\n".join(line for i in range(40) for line in fuzz.program(7, i))
    for needle in ("scatter_reduce", ".gather(", "index_put", "topk(", "torch.unique(",
                   "searchsorted(", "dtype=torch.uint8", "dtype=torch.int8", "] = ",
                   "torch.autograd.grad(", "register_post_accumulate_grad_hook",
                   "inference_mode()", "rounding_mode=", "float('nan')", "-0.0"):
        assert needle in text, needle
    assert fuzz.program(7, 3) == fuzz.program(7, 3)


# One minimised program per reviewed difference of the families' KNOWN list: it must still
# differ, and the reason found must be that entry's.
EXAMPLES = {
    fuzz._scatter_reduce_partial: [
        "a1 = torch.tensor([[[1.5, -1.25]], [[1.75, 1.0]], [[0.0, 0.75]], [[2.0, 0.25]]], "
        "dtype=torch.float64, requires_grad=True)",
        "a2 = a1[::3, :, None, 0]",
        "a2.retain_grad()",
        "a4 = a1[:-3:1, 0:, :2:1]",
        "a5 = a2.scatter(-3, torch.tensor([[[1]]]), torch.tensor([[[-2.0]], [[-2.0]]], "
        "dtype=torch.float64), reduce='add')",
        "a11 = torch.autograd.grad(a5.sum(), [a2, a4], allow_unused=False)",
    ],
    fuzz._index_check_order: [
        "a5 = torch.tensor([[-1, 1, 1, -2]], dtype=torch.int64)",
        "with torch.no_grad(): a5[torch.tensor([0], dtype=torch.uint8), torch.tensor([-3, -2]),"
        " ...] = torch.tensor(-0.5, dtype=torch.float64)",
    ],
    fuzz._unique_zero_sized: [
        "a1 = torch.tensor([[0, 4], [5, -1]], dtype=torch.int64)",
        "a3 = a1.unflatten(-2, (2, 1))",
        "a10 = a3[torch.tensor([-1, -1, -2]), -1:-1, -2:0:3]",
        "a22 = a10.unique_consecutive(return_inverse=True, return_counts=False, dim=2)",
    ],
    fuzz._selection_of_overlapping: [
        "a0 = torch.tensor([[-3], [3], [6], [3]], dtype=torch.int32)",
        "a6 = a0.as_strided((2, 2), (2, 0))",
        "a8 = torch.median(a6.detach(), -1, keepdim=False).values",
    ],
    fuzz._as_strided_freed: [
        "a0 = torch.tensor([-0.25, 1.25, -0.25], dtype=torch.float64, requires_grad=True)",
        "a8 = a0.as_strided((2, 2), (0, 0))",
        "a8.sum().backward()",
        "a17 = torch.autograd.grad(a8.sum(), [a0], create_graph=True)",
    ],
    fuzz._partial_backward_inputs: [
        "a1 = torch.tensor([[-0.5, -1.75]], requires_grad=True)",
        "a2 = torch.gather(a1, 1, torch.tensor([[1, 1]]))",
        "a4 = a2.view(2, -1)",
        "a4.sum().backward()",
        "a4.sum().backward(inputs=[a2, a1])",
    ],
    fuzz._scatter_grad_refused: [
        "a1 = torch.tensor([[-1.0, 1.0], [-1.75, 1.0]], requires_grad=True)",
        "a3 = a1.scatter_add(0, torch.tensor([[0]]), torch.tensor([[1.25, 0.5], [0.5, -0.5]], "
        "requires_grad=True))",
        "a3.backward(torch.ones_like(a3))",
    ],
    fuzz._unsaved_second_backward: [
        "a1 = torch.tensor([[-1.25, -0.25]], dtype=torch.float64)",
        "a6 = a1.masked_scatter(torch.tensor([[True, False]]), torch.tensor([[0.5, 2.0]], "
        "dtype=torch.float64, requires_grad=True))",
        "a6.sum().backward(inputs=[a6])",
        "a6.sum().backward(inputs=[a6])",
    ],
    fuzz._inference_write: [
        "a0 = torch.tensor([2.0], requires_grad=True)",
        "with torch.inference_mode(): a3 = a0 * 2",
        "a3.add_(1)",
    ],
    fuzz._integer_requires_grad: [
        "a0 = torch.tensor([[2, 1, 0, -1], [0, -2, 0, -2]], dtype=torch.int32)",
        "a0[:-2, 0, ...] = torch.tensor(0.75, dtype=torch.float64, requires_grad=True)",
        "a1 = a0[False, torch.tensor([-2, -1, -2]), torch.tensor([-3, 3, -1])]",
    ],
    # (_create_graph_grad_layout gone: a first .grad under create_graph is a copy in
    # PyTorch's layout since s29 BR19)
}


@pytest.mark.parametrize("entry", [test for test, _ in fuzz.KNOWN],
                         ids=[test.__name__ for test, _ in fuzz.KNOWN])
def test_each_reviewed_difference_still_differs(entry):
    lines = EXAMPLES[entry]
    failure = base.compare(lines)
    assert failure is not None, "fixed: delete the KNOWN entry"
    assert entry(lines, failure), failure
