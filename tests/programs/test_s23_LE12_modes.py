"""transformers models run the ways users run them, beyond one eager forward (LE12, session
23): the default ``sdpa`` attention over a left-padded batch with batched generation, training
mode with dropout, gradient checkpointing, bfloat16, and ``generate()``'s options (top-p /
typical sampling with several sequences, repetition and n-gram penalties, bad words, beam
search with a length penalty, beam sampling, scores and logits).

``prog_s23_LE12_modes.py`` runs twice at the same time, on the real PyTorch and under ``python
-m deltagrad run``; the two must agree: float32 values to rtol 1e-4 and an absolute 1e-5 of
each array's largest magnitude, token ids exactly; bfloat16 values to a bfloat16 ulp of the
array's largest magnitude (1e-2: a layer norm's weight gradient under bf16 still differs by an
ulp, see the report of session 23).
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import numpy as np
import pytest
from alias_runs import run_both

pytest.importorskip("torch")
if importlib.util.find_spec("transformers") is None:  # (only the subprocesses import it)
    pytest.skip("transformers is not installed", allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s23_LE12_modes.py")
# part -> how many values it records at least
PARTS = {"sdpa_padded": 20, "train_dropout": 21, "grad_ckpt": 16, "bf16": 12,
         "generate_options": 68}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return run_both(PROGRAM, tmp_path_factory.mktemp("s23_LE12_modes"), ",".join(PARTS),
                    env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                         "HF_HUB_DISABLE_TELEMETRY": "1"})


@pytest.mark.parametrize("part", list(PARTS))
def test_mode(results, part):
    real, ours = results
    assert f"ERR.{part}" not in real, f"fails on PyTorch itself: {real[f'ERR.{part}']}"
    values = sum(1 for k in real if k.startswith(part + ".") and not k.endswith(".dtype"))
    assert values >= PARTS[part], f"{part}: only {values} values recorded"
    relative = 1e-2 if part == "bf16" else 1e-5
    scale = {k: relative * max(1.0, float(np.abs(v).max(initial=0.0)))
             for k, v in real.items() if k.startswith(part + ".") and v.dtype.kind == "f"}
    alias_runs.compare(real, ours, part, rtol=1e-4, atol=1e-5, atol_for=scale)
