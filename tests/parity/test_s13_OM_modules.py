"""PyTorch's ModuleInfo descriptions (``module_db``, 114 nn classes) through deltagrad's nn and
PyTorch (s13 OM): every difference of forward values / dtypes / shapes / output structure,
gradients of inputs and parameters, state_dict keys / shapes / order, parameter and buffer names,
buffers after a training-mode forward, repr, and every error input, must be one KNOWN lists with
a reason (an entry that stops differing fails too, so the table stays true).

The default run takes the first inputs of each ModuleInfo in float32, in training and eval
mode, as given, non-contiguous, with a zero-size batch and unbatched (the first batch row),
plus every error input; ``make soak`` runs every input in float32 and float64. The harness is
``s13_OM_harness.py``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("expecttest")

sys.path.insert(0, str(Path(__file__).parent))
import opinfo_harness as H  # noqa: E402
import s13_OM_harness as M  # noqa: E402

# {module: {(variant, kind): reason}}; variant "plain" / "noncontig" / "empty_batch" / "error".
KNOWN: dict = {}

# What only the broader run (every input, float64 too) meets.
KNOWN_SOAK = {
    "CTCLoss": {
        ("noncontig", "value"): "PyTorch's ctc_loss misreads a non-contiguous 1-D target list "
                                "(its own result on the contiguous copy equals ours)",
    },
    "TransformerDecoderLayer": {
        ("empty_batch", "torch_raises"): "PyTorch's attention reshapes a 0-row batch with -1 "
                                         "(batch_first, norm_first) and fails; ours returns "
                                         "the empty result",
    },
    "Transformer": {
        ("empty_batch", "torch_raises"): "as TransformerDecoderLayer: PyTorch's -1 reshape of "
                                         "a 0-row batch",
    },
}

FAST_INPUTS = 2  # inputs per ModuleInfo and mode in the default run


@pytest.fixture(autouse=True)
def _one_thread():
    # PyTorch's thread pool on a shared 2-core machine costs more than these small modules do.
    # (per test, not per module: tests/conftest.py's state guard fails a module fixture's first
    # test for a thread count it changed; setting it is a microsecond)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _infos():
    return H.module_db()


def _ids():
    return [M.module_name(i) for i in _infos()]


def _check(diffs, known):
    got = {}
    for d in diffs:
        got.setdefault((d.variant, d.kind), d)
    unexpected = {k: f"{d.mode} {d.dtype} {d.desc!r}: {d.detail}" for k, d in got.items()
                  if k not in known}
    assert not unexpected, unexpected
    stale = set(known) - set(got)
    assert not stale, f"KNOWN entries that no longer differ: {stale}"


@pytest.mark.parametrize("info", _infos(), ids=_ids())
def test_module(info):
    diffs = M.sweep_module(info, dtypes=(torch.float32,), max_inputs=FAST_INPUTS)
    _check(diffs, KNOWN.get(M.module_name(info), {}))


@pytest.mark.soak
@pytest.mark.parametrize("info", _infos(), ids=_ids())
def test_module_soak(info):
    name = M.module_name(info)
    diffs = M.sweep_module(info, dtypes=(torch.float32, torch.float64))
    _check(diffs, {**KNOWN.get(name, {}), **KNOWN_SOAK.get(name, {})})


def test_sweep_covers_the_module_db():
    """The sweep cannot shrink to nothing: every ModuleInfo, and each comparison stage ran."""
    infos = _infos()
    assert len(infos) >= 110
    assert sum(hasattr(M.dg.nn, M.module_name(i)) for i in infos) >= 110
    M.STATS.clear()
    for name in ("BatchNorm2d", "LSTM", "CrossEntropyLoss"):
        info = next(i for i in infos if M.module_name(i) == name)
        assert M.sweep_module(info, max_inputs=1) == []
    for stage in ("forward", "grad", "state", "repr", "buffers", "error"):
        assert M.STATS[stage] > 0, stage


def test_harness_sees_a_difference():
    """A deliberately wrong deltagrad state is reported (the comparison is live)."""
    info = next(i for i in _infos() if M.module_name(i) == "Linear")
    mi = M.module_inputs(info, torch.float32, True)[0]
    original = M.copy_state

    def off_by_one(m_t, m_d):
        msg = original(m_t, m_d)
        with M.dg.no_grad():
            m_d.bias.add_(1.0)
        return msg
    M.copy_state = off_by_one
    try:
        kinds = [k for k, _ in M.run_input(info, mi, torch.float32, True)]
    finally:
        M.copy_state = original
    assert kinds == ["value"]
