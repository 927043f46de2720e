"""The program fuzzer's session-18 families (``s18_SL3_progfuzz.py``: nn.functional calls,
modules, optimizers, state dicts, promotion, integer in-place ops, out=, dims out of range)
on a fixed sample of programs, deltagrad against PyTorch after every line; the soak run takes
4,000 more. Reviewed differences are ``s17_SL_known.KNOWN`` (each with an example that must
still differ in test_s17_SL_progfuzz.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))
import s17_SL_progfuzz as base  # noqa: E402
import s18_SL3_progfuzz as fuzz  # noqa: E402

import deltagrad as dg  # noqa: E402

SAMPLE = 30  # programs of seed 0: about 2.2 s of CPU on a loaded machine
SOAK_SEEDS = range(1, 5)  # 1,000 programs each: about 45 s of CPU a seed


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
    for needle in ("torch.nn.functional.", "load_state_dict(", "torch.optim.", ".step()",
                   "out=", "dtype=torch.bfloat16", "dtype=torch.complex64"):
        assert needle in text, needle
    assert fuzz.program(7, 3) == fuzz.program(7, 3)


def test_snapshots_compare_modules_optimizers_and_state_dicts():
    snaps = []
    for lib in (torch, dg):
        m = lib.nn.Linear(2, 1)
        m.load_state_dict({"weight": lib.tensor([[1.0, -1.0]]), "bias": lib.tensor([0.5])})
        opt = lib.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        for _ in range(2):
            m(lib.tensor([[1.0, 2.0]])).sum().backward()
            opt.step()
        snaps.append([base.snapshot(v) for v in (m, opt, m.state_dict(), opt.state_dict())])
    for ref, got in zip(*snaps):
        assert base.diff(ref, got) is None
    # A momentum buffer, a parameter or a state dict entry that differs is seen.
    m = dg.nn.Linear(2, 1)
    m.load_state_dict({"weight": dg.tensor([[1.0, -1.0]]), "bias": dg.tensor([0.5])})
    opt = dg.optim.SGD(m.parameters(), lr=0.1, momentum=0.5)
    for _ in range(2):
        m(dg.tensor([[1.0, 2.0]])).sum().backward()
        opt.step()
    other = [base.snapshot(v) for v in (m, opt, m.state_dict(), opt.state_dict())]
    assert "weight" in base.diff(snaps[0][0], other[0])
    assert "momentum" in base.diff(snaps[0][1], other[1])
    assert "weight" in base.diff(snaps[0][2], other[2])


# One minimised program per reviewed difference of this family's own KNOWN list (s31 SL5S): it
# must still differ, and the reason found must be that entry's.
EXAMPLES = {
    fuzz._failed_backward_partial_grads: [
        "a0 = torch.tensor([[-0.25, -0.5], [-0.5, -0.25]], dtype=torch.float64, "
        "requires_grad=True)",
        "a1 = torch.tensor(-1.25, dtype=torch.float32, requires_grad=True)",
        "a2 = torch.nn.functional.mse_loss(a1, a1, reduction='sum')",
        "a4 = torch.nn.functional.smooth_l1_loss(a2, a1, reduction='none', beta=0.5)",
        "with torch.no_grad(): a1.zero_()",
        "a6 = a0.clamp(a4, None)",
        "a6.sum().backward(retain_graph=True)",
    ],
    fuzz._data_after_norm_forward: [
        "a0 = torch.tensor([[2.0, -0.75, -0.5, 1.0], [1.75, -2.0, 1.0, -0.5]], "
        "dtype=torch.float32, requires_grad=True)",
        "a5 = torch.nn.functional.layer_norm(a0, (4,), eps=1e-5)",
        "a0.data.mul_(0.5)",
        "a5.backward(torch.ones_like(a5))",
    ],
}


@pytest.mark.parametrize("entry", [test for test, _ in fuzz.KNOWN],
                         ids=[test.__name__ for test, _ in fuzz.KNOWN])
def test_each_reviewed_difference_still_differs(entry):
    lines = EXAMPLES[entry]
    if entry is fuzz._failed_backward_partial_grads:
        # (in a fresh process: a full run's earlier tests can leave state under which our
        # failed backward also keeps partial grads -- as PyTorch's, then no difference; seen
        # once in CI, s31, the state not yet found)
        _still_differs_in_a_fresh_process(entry.__name__)
        return
    failure = base.compare(lines)
    assert failure is not None, "fixed: delete the KNOWN entry"
    assert entry(lines, failure), failure


def _still_differs_in_a_fresh_process(name):
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import test_s18_SL3_progfuzz as t; "
            "entry = getattr(t.fuzz, sys.argv[2]); lines = t.EXAMPLES[entry]; "
            "failure = t.base.compare(lines); "
            "sys.exit(0 if failure is not None and entry(lines, failure) else "
            "f'not the reviewed difference: {failure}')")
    done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), name],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
