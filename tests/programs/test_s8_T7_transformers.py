"""HuggingFace transformers on deltagrad: small random-init BERT, GPT-2, Llama, T5, DistilBERT,
RoBERTa and ViT models give PyTorch's numbers.

``prog_s8_T7_hf.py`` builds each model from a seed (deltagrad's initializers draw PyTorch's
stream, so the weights are the same), then records logits, losses with labels, gradients, AdamW
steps, attentions / hidden states, padding masks, greedy and sampled ``generate`` and a
``save_pretrained`` round trip. It runs twice, at the same time: on the real PyTorch and under
``python -m deltagrad run`` (the script unchanged); the two must agree: values to float32
tolerance, dtypes, shapes, generated tokens exactly.

transformers needs at import time a few PyTorch modules deltagrad lacks (``torch._dynamo``,
``torch.distributed.tensor``, ``flex_attention``, ...); the program fills each gap only where it
is missing and lists it. Sections blocked by a known missing feature are listed in
KNOWN_GAPS (``from_pretrained``, which builds under ``torch.device("meta")``, runs now).
Everything else is compared; the test then reports xfail naming what is still missing (any
other failure is a failure).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from alias_runs import mismatches, run_both

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("safetensors")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROGRAM = os.path.join(HERE, "prog_s8_T7_hf.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 differences from summation order, through a few steps

# Section -> the text of the error deltagrad raises there while the feature is missing.
KNOWN_GAPS: dict[str, str] = {}  # (from_pretrained builds under device("meta"): meta tensors)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    folder = tmp_path_factory.mktemp("s8_T7")
    return run_both(PROGRAM, folder, env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                                            "HF_HUB_DISABLE_TELEMETRY": "1"})


def test_transformers_models_match_torch(results):
    """Every section's numbers agree; known gaps are named, anything else fails."""
    expected, got = results
    torch_errors = {k: str(v)[:2000] for k, v in expected.items() if k.endswith("_ERR")}
    assert not torch_errors, f"the program fails on PyTorch itself: {torch_errors}"
    assert len(expected) > 60  # the program ran its sections
    assert expected["gaps"].size == 0  # on PyTorch nothing is bridged
    errors = {k: str(v) for k, v in got.items() if k.endswith("_ERR")}
    blocked = sorted(k for k, v in errors.items() if k in KNOWN_GAPS and KNOWN_GAPS[k] in v)
    others = {k: v[:2000] for k, v in errors.items() if k not in blocked}
    assert not others, f"sections failing on deltagrad: {others}"
    skipped = {k for k in expected if k.split("/")[0] + "_ERR" in blocked}
    compared = (set(expected) - skipped - {"gaps"})
    assert compared <= set(got), f"missing on deltagrad: {sorted(compared - set(got))}"
    problems = mismatches(expected, got, compared, rtol=RTOL, atol=ATOL)
    assert not problems, "\n".join(problems)
    # the padded row equals the row run alone; the left-padded prompt continues as unpadded
    assert np.allclose(got["bert/padded_vs_alone"], 0, atol=1e-5)
    assert np.array_equal(got["gpt2/left_padded"][:, 2:], got["gpt2/unpadded"])
    gaps = [str(g) for g in got["gaps"]]
    if blocked or gaps:
        pytest.xfail(f"numbers agree; still missing in deltagrad: sections {blocked}, "
                     f"import-time gaps bridged by the program: {gaps}")
