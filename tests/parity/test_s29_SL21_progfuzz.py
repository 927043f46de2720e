"""The program fuzzer's data / serialization family (``s29_SL21_data_io.py``: datasets,
random_split, DataLoader options and their errors, samplers, default_collate /
default_convert, torch.save / torch.load round trips through BytesIO, views and storages,
Parameters, state dicts, weights_only and map_location, PyTorch's own files read back, pickle
and deepcopy) on a fixed sample of programs, deltagrad against PyTorch after every line. The
soak run takes 1,500 more. Reviewed differences are the earlier sessions' lists plus the
family's own ``KNOWN``, each with an example below that must still differ (a fixed one fails
here: delete the entry)."""

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s29_SL21_data_io as fuzz  # noqa: E402
import s30_DD1_family_tests as family_tests  # noqa: E402

SAMPLE = 20  # programs of seed 0: about 2 s of CPU (after the imports)
SOAK_SEEDS = range(1, 4)  # 500 programs each
# Texts that seed 7's first programs must contain between them: what the family draws.
NEEDLES = ("TensorDataset(", "Subset(", "ConcatDataset(", "StackDataset(",
           "ChainDataset(", "random_split(", "DataLoader(", "shuffle=", "drop_last=",
           "sampler=", "batch_sampler=", "collate_fn=", "RandomSampler(",
           "WeightedRandomSampler(", "SubsetRandomSampler(", "BatchSampler(",
           "default_collate(", "default_convert(", "_rt21(", "_x21(", "_pk21(",
           "deepcopy(", "weights_only=", "map_location=", "safe_globals(",
           "nn.Parameter(", "state_dict(", "_sh21(", "DistributedSampler(",
           "_use_new_zipfile_serialization=False")


_PRELUDE = [fuzz.HELPERS.rstrip("\n")]

# One minimised program per reviewed difference of the family's KNOWN list: it must still
# differ, and the reason found must be that entry's.
EXAMPLES = {
    fuzz._numpy_weights_only: _PRELUDE + [
        "a0 = __import__('numpy').arange(3)",
        fuzz._catch("a1 = _rt21(a0)", "a2")],
    fuzz._map_location_device: _PRELUDE + [
        fuzz._catch("a0 = _rt21(torch.optim.SGD([torch.ones(1, requires_grad=True)], lr=0.1)"
                    ".state_dict(), map_location='cuda')", "a1")],
    fuzz._flat_optimizer_state: _PRELUDE + [
        "torch.manual_seed(1); a0 = torch.nn.Linear(2, 1).double()",
        "a1 = torch.optim.Adam(a0.parameters(), lr=0.1)",
        "a0(torch.ones(3, 2, dtype=torch.float64)).sum().backward(); a1.step()",
        "a2 = _n21(a1.state_dict())"],
    fuzz._torch_file_object: _PRELUDE + [
        fuzz._catch("a0 = _x21(lambda T: (T.manual_seed(0), T.nn.Linear(2, 1))[1], "
                    "weights_only=False)", "a1")],
    fuzz._dtype_view_layout: _PRELUDE + [
        "a0 = torch.arange(12, dtype=torch.float32)[1:].view(torch.uint8)",
        fuzz._catch("a1 = _n21(_pk21(a0))", "a2")],
    fuzz._expanded_element_write: _PRELUDE + [
        "a0 = torch.ones(1).expand(3)",
        fuzz._catch("a1 = _sh21(a0[0], a0[-1])", "a2")],
}


(test_fixed_sample_has_no_unreviewed_difference, test_soak, test_the_new_family_is_drawn,
 test_each_reviewed_difference_still_differs) = family_tests.standard(
    fuzz, sample=SAMPLE, soak_seeds=SOAK_SEEDS, needles=NEEDLES, drawn=100, examples=EXAMPLES)
