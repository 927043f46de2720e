"""Third-party PyTorch libraries on deltagrad: x-transformers and vector-quantize-pytorch.

``prog_s8_T2_libs.py`` uses both libraries the way their READMEs do (training steps, generation,
EMA codebook updates, ...) and writes every number it sees to an .npz. It runs twice, at the same
time: on the real PyTorch and under ``python -m deltagrad run`` (the script unchanged); the two
must agree: values to float32 tolerance, dtypes, shapes, sampled tokens and indices exactly.

einx (used by both libraries) refuses to run when ``torch.__version__`` is below 2.2. While
deltagrad's ``__version__`` is such a version, those sections fail on deltagrad with that error;
everything else is still compared, and the test then reports xfail naming the blocked sections
(any other failure is a failure).
"""

from __future__ import annotations

import os

import pytest
from alias_runs import mismatches, run_both

import deltagrad

pytest.importorskip("torch")
pytest.importorskip("x_transformers")
pytest.importorskip("vector_quantize_pytorch")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAM = os.path.join(HERE, "prog_s8_T2_libs.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 differences from summation order, through a few steps
# einx's refusal on its first call, and what its later calls raise after it
EINX_REFUSALS = ("einx with PyTorch requires PyTorch version", "BackendResolutionError")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    folder = tmp_path_factory.mktemp("s8_T2")
    return run_both(PROGRAM, folder)


def _einx_blocked() -> bool:
    major_minor = tuple(int(part) for part in str(deltagrad.__version__).split(".")[:2])
    return major_minor < (2, 2)


# Sections that need a PyTorch feature deltagrad lacks yet: section key -> "still missing?".
# (xt/flash needed torch.nn.attention.SDPBackend / sdpa_kernel: there since session 8, L2.)
KNOWN_GAPS: dict = {}


def _check(prefix, results):
    expected, got = ({k: v for k, v in side.items() if k.startswith(prefix)} for side in results)
    assert len(expected) > 50  # the program ran its sections
    torch_errors = {k: str(v) for k, v in expected.items() if k.endswith("_ERR")}
    assert not torch_errors, f"the program fails on PyTorch itself: {torch_errors}"
    errors = {k: str(v) for k, v in got.items() if k.endswith("_ERR")}
    blocked = sorted(k for k, v in errors.items()
                     if (any(text in v for text in EINX_REFUSALS) and _einx_blocked())
                     or (k in KNOWN_GAPS and KNOWN_GAPS[k]()))
    others = {k: v for k, v in errors.items() if k not in blocked}
    assert not others, f"sections failing on deltagrad: {others}"
    if not blocked:
        assert sorted(got) == sorted(expected)
    problems = mismatches(expected, got, set(expected) & set(got), rtol=RTOL, atol=ATOL)
    assert not problems, "\n".join(problems)
    if blocked:
        pytest.xfail(f"{len(blocked)} sections blocked ({', '.join(blocked)}): einx refuses "
                     f"torch.__version__ {deltagrad.__version__!s}")


def test_x_transformers_matches_torch(results):
    """Decoder/encoder/enc-dec training, generation (filters, kv cache), README variants."""
    _check("xt/", results)


def test_vector_quantize_matches_torch(results):
    """VQ family: outputs, indices, losses, input gradients, EMA state after training steps."""
    _check("vq/", results)
