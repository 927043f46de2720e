"""The program fuzzer's memory-layout and storage family (``s28_SL18_layout.py``: every
stride, storage_offset and contiguity flag recorded after views, slices with steps, expand,
unfold, diagonal, as_strided with offsets, squeeze / unsqueeze, view(dtype); the layouts of
elementwise ops, reductions, matmul and casts of non-contiguous inputs; memory_format copies
and ``*_like``; storage relations (data_ptr, is_set_to, nbytes); set_ / resize_ /
resize_as_; writes through views and into overlapping memory) on a fixed sample of programs,
deltagrad against PyTorch after every line. The soak run takes 2,000 more. Reviewed
differences are the earlier sessions' lists plus the family's own ``KNOWN``, each with an
example below that must still differ (a fixed one fails here: delete the entry)."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s28_SL18_layout as fuzz  # noqa: E402
import s30_DD1_family_tests as family_tests  # noqa: E402

SAMPLE = 40  # programs of seed 0: about 1.5 s of CPU (after the imports)
SOAK_SEEDS = range(1, 5)  # 500 programs each
# Texts that seed 7's first programs must contain between them: what the family draws.
NEEDLES = (".stride()", "storage_offset()", "channels_last", ".unfold(", ".diagonal(",
           ".as_strided(", ".narrow(", ".select(", ".unsqueeze(", ".squeeze(",
           ".expand(", ".view(torch.", "memory_format=torch.preserve_format",
           "empty_like(", "zeros_like(", ".to(memory_format=", "is_set_to(",
           "data_ptr()", "untyped_storage().nbytes()", ".set_(", ".resize_(",
           ".resize_as_(", ".copy_(", ".fill_(", " @ ", ".sum(", "::2")


META = fuzz.META
# One minimised program per reviewed difference of the family's KNOWN list: it must still
# differ, and the reason found must be that entry's.
EXAMPLES = {
    fuzz._size_one_stride: [
        "a0 = torch.arange(4, dtype=torch.int32).reshape(1, 4)",
        "a1 = a0.transpose(1, 0).clone(memory_format=torch.preserve_format)",
        f"a2 = {META}(a1)"],
    fuzz._empty_layout: [
        "a0 = torch.tensor([-0.5, -0.75])",
        "a1 = a0.narrow(0, 1, 0)",
        f"a2 = {META}(a1)"],
    fuzz._overlapping_write: [
        "a0 = torch.arange(4, dtype=torch.float32)",
        "a0.unfold(0, 2, 1).add_(0.5)"],
    fuzz._fill_overlap_in_graph: [
        "a0 = torch.tensor(0.25, requires_grad=True)",
        "a1 = a0[a0 > 0]",
        "a1.as_strided((3,), (0,)).zero_()"],
    fuzz._set_grows_storage: [
        "a0 = torch.tensor([0.75], dtype=torch.float16)",
        "a1 = torch.arange(4, dtype=torch.float32)",
        "a1.set_(a0.untyped_storage(), 0, (1,), (1,))"],
    fuzz._view_after_set: [
        "a0 = torch.tensor([[6]], dtype=torch.int32)",
        "a1 = torch.tensor([[1.25, -0.25, -0.75], [1.75, -1.0, -1.25]], requires_grad=True)",
        "a2 = a1[...]",
        "with torch.no_grad(): a1.set_(a0.untyped_storage(), 0, (1,), (1,))",
        "a2[::2].copy_(a2[1::2])"],
    fuzz._set_from_grad_source: [
        "a0 = torch.tensor([[1.5, 2.0]], requires_grad=True)",
        "a1 = torch.zeros_like(a0)",
        "a1.set_(a0)"],
}


(test_fixed_sample_has_no_unreviewed_difference, test_soak, test_the_new_family_is_drawn,
 test_each_reviewed_difference_still_differs) = family_tests.standard(
    fuzz, sample=SAMPLE, soak_seeds=SOAK_SEEDS, needles=NEEDLES, examples=EXAMPLES)
