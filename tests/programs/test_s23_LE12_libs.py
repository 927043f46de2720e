"""diffusers (AutoencoderKL, VQModel, a text-conditioned UNet under six schedulers), peft
(LoRA on Whisper, ViT, Qwen3-MoE, T5), sentence-transformers (RoBERTa / DistilBERT encoders
with a local tokenizer: encode, two losses, a step) and Lightning (a Trainer fitting a tiny
Llama) on deltagrad (LE12, session 23).

``prog_s23_LE12_libs.py`` runs twice at the same time, on the real PyTorch and under ``python
-m deltagrad run`` (unchanged); the two must agree (values to float32 tolerance, dtypes,
shapes, integers exactly).
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import pytest
from alias_runs import run_both

pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s23_LE12_libs.py")
# part -> (the libraries it needs, found with find_spec: only the subprocesses import them;
# how many values it records at least)
PARTS = {"diffusers_vae": (("diffusers",), 11), "diffusers_cond": (("diffusers",), 16),
         "peft_zoo": (("peft",), 20), "sentence_zoo": (("sentence_transformers",), 16),
         "lightning_hf": (("lightning",), 3)}


def _present(part: str) -> bool:
    return all(importlib.util.find_spec(m) for m in ("transformers", *PARTS[part][0]))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    chosen = [part for part in PARTS if _present(part)]
    if not chosen:
        pytest.skip("none of diffusers, peft, sentence-transformers, lightning is installed")
    return run_both(PROGRAM, tmp_path_factory.mktemp("s23_LE12_libs"), ",".join(chosen),
                    env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                         "HF_HUB_DISABLE_TELEMETRY": "1"})


@pytest.mark.parametrize("part", list(PARTS))
def test_library_part(results, part):
    if not _present(part):
        pytest.skip(f"{part}: its libraries are not installed")
    real, ours = results
    assert f"ERR.{part}" not in real, f"fails on PyTorch itself: {real[f'ERR.{part}']}"
    values = sum(1 for k in real if k.startswith(part + ".") and not k.endswith(".dtype"))
    assert values >= PARTS[part][1], f"{part}: only {values} values recorded"
    alias_runs.compare(real, ours, part, rtol=1e-4, atol=1e-5)
