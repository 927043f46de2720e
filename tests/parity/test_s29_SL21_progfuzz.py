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
import s17_SL_progfuzz as base  # noqa: E402
import s29_SL21_data_io as fuzz  # noqa: E402

SAMPLE = 20  # programs of seed 0: about 2 s of CPU (after the imports)
SOAK_SEEDS = range(1, 4)  # 500 programs each


def test_fixed_sample_has_no_unreviewed_difference():
    failures, _ = fuzz.run(0, SAMPLE)
    assert not failures, base.report(failures)


@pytest.mark.soak
@pytest.mark.parametrize("seed", SOAK_SEEDS)
def test_soak(seed):
    failures, _ = fuzz.run(seed, 500)
    assert not failures, base.report(failures)


def test_the_new_family_is_drawn():
    text = "\n".join(line for i in range(100) for line in fuzz.program(7, i))
    for needle in ("TensorDataset(", "Subset(", "ConcatDataset(", "StackDataset(",
                   "ChainDataset(", "random_split(", "DataLoader(", "shuffle=", "drop_last=",
                   "sampler=", "batch_sampler=", "collate_fn=", "RandomSampler(",
                   "WeightedRandomSampler(", "SubsetRandomSampler(", "BatchSampler(",
                   "default_collate(", "default_convert(", "_rt21(", "_x21(", "_pk21(",
                   "deepcopy(", "weights_only=", "map_location=", "safe_globals(",
                   "nn.Parameter(", "state_dict(", "_sh21(", "DistributedSampler(",
                   "_use_new_zipfile_serialization=False"):
        assert needle in text, needle
    assert fuzz.program(7, 3) == fuzz.program(7, 3)


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


@pytest.mark.parametrize("entry", [test for test, _ in fuzz.KNOWN],
                         ids=[test.__name__ for test, _ in fuzz.KNOWN])
def test_each_reviewed_difference_still_differs(entry):
    lines = EXAMPLES[entry]
    failure = fuzz.compare(lines)
    assert failure is not None, "fixed: delete the KNOWN entry"
    assert fuzz.known(lines, failure) == dict(fuzz.KNOWN)[entry], failure
