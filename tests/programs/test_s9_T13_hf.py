"""The Hugging Face stack on deltagrad: peft (LoRA on GPT-2 and BERT, prefix tuning), accelerate
(prepare, gradient accumulation, save_state / load_state), diffusers (UNet2DModel, DDPM / DDIM),
sentence-transformers (StaticEmbedding models: encode, losses, save / load) and safetensors
files of transformers models give PyTorch's numbers.

``prog_s9_T13_hf.py`` runs twice at the same time, on the real PyTorch and under ``python -m
deltagrad run`` (unchanged); values must agree to float32 rounding, dtypes, shapes and integers
exactly. The safetensors files each side's ``save_pretrained`` wrote must hold the same tensors
(so a file saved under one library loads under the other), and a file written with NumPy loads
the same under both. Sections that need ``device("meta")`` tensors (``from_pretrained`` builds
the model there; accelerate's ``init_empty_weights`` moves parameters there) are compared as
every other one.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
from alias_runs import mismatches, run_both

pytest.importorskip("torch")
# (find_spec, not importorskip: only the programs' subprocesses import these; importing them
# here cost each xdist worker 0.7 CPU s at collection, and a library's import can change
# process-wide state before any test of the worker runs)
for _library in ("transformers", "peft", "accelerate", "diffusers", "sentence_transformers",
                 "safetensors", "tokenizers"):
    if importlib.util.find_spec(_library) is None:
        pytest.skip(f"{_library} is not installed", allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s9_T13_hf.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 differences from summation order, through a few steps
MODELS = ("bert", "gpt2", "llama", "t5")

# Section -> the text of the error deltagrad raises there while a feature is missing (none now:
# the meta-device sections, from_pretrained, sentence_bert and accelerate_empty, run).
KNOWN_GAPS: dict[str, str] = {}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(folder, torch's numbers, deltagrad's numbers), from two concurrent subprocesses."""
    from safetensors.numpy import save_file
    folder = tmp_path_factory.mktemp("s9_T13")
    rng = np.random.default_rng(3)  # a few GPT-2 tensors; the rest keep the seeded init
    save_file({"transformer.wte.weight": rng.standard_normal((100, 32), np.float32) * 0.02,
               "transformer.h.0.attn.c_attn.weight":
                   rng.standard_normal((32, 96), np.float32) * 0.02,
               "transformer.ln_f.bias": rng.standard_normal(32, np.float32)},
              str(folder / "numpy_weights.safetensors"))
    real, ours = run_both(PROGRAM, folder, env={"HF_HUB_OFFLINE": "1",
                                                 "TRANSFORMERS_OFFLINE": "1",
                                                 "HF_HUB_DISABLE_TELEMETRY": "1"})
    return folder, real, ours


def test_hf_stack_matches_torch(results):
    """Every section's numbers agree; the known gaps fail as named, anything else fails."""
    _, expected, got = results
    torch_errors = {k: str(v)[:2000] for k, v in expected.items() if k.endswith("_ERR")}
    assert not torch_errors, f"the program fails on PyTorch itself: {torch_errors}"
    assert len(expected) > 80  # the program ran its sections
    errors = {k: str(v) for k, v in got.items() if k.endswith("_ERR")}
    blocked = sorted(k for k, v in errors.items() if k in KNOWN_GAPS and KNOWN_GAPS[k] in v)
    others = {k: v[:2000] for k, v in errors.items() if k not in blocked}
    assert not others, f"sections failing on deltagrad: {others}"
    skipped = {k for k in expected if k.split("/")[0] + "_ERR" in blocked}
    compared = set(expected) - skipped
    assert compared <= set(got), f"missing on deltagrad: {sorted(compared - set(got))}"
    problems = mismatches(expected, got, compared, rtol=RTOL, atol=ATOL)
    assert not problems, "\n".join(problems)
    # LoRA: the merged model computes what the adapted one did; reloads give the same logits
    lora = {k.split("/")[1]: got[k] for k in got if k.startswith("peft_lora/")}
    for key in ("merged_logits", "reloaded_logits", "set_state_logits"):
        assert np.allclose(lora[key], lora["adapted_logits"], atol=1e-5), key
    # a save_pretrained / load_state_dict round trip reproduces each model exactly
    for name in MODELS:
        assert np.abs(got[f"safetensors_io/{name}/diff"]).max() == 0, name
        assert got[f"safetensors_io/{name}/unexpected"].size == 0, name
    assert np.array_equal(got["accelerate_loop/restored"], np.zeros((2, 16), np.float32))
    if blocked:
        pytest.xfail(f"numbers agree; still missing in deltagrad (device 'meta' tensors): "
                     f"sections {blocked}")


def test_saved_files_interchange(results):
    """The safetensors files written by save_pretrained under each library hold the same
    names, dtypes, shapes, metadata and (to float32 init rounding) values: a file from either
    one loads under the other."""
    from safetensors import safe_open
    folder, _, _ = results
    for name in MODELS:
        files = {side: folder / side / "safetensors_io" / name / "model.safetensors"
                 for side in ("torch", "deltagrad")}
        tensors, metadata = {}, {}
        for side, path in files.items():
            with safe_open(str(path), "np") as handle:
                metadata[side] = handle.metadata()
                tensors[side] = {key: handle.get_tensor(key) for key in handle.keys()}
        assert metadata["torch"] == metadata["deltagrad"], name
        assert sorted(tensors["torch"]) == sorted(tensors["deltagrad"]), name
        problems = mismatches(tensors["torch"], tensors["deltagrad"], tensors["torch"],
                              rtol=1e-6, atol=1e-6)
        assert not problems, f"{name}: {problems}"
    mixed = [(folder / side / "safetensors_io" / "mixed.safetensors").read_bytes()
             for side in ("torch", "deltagrad")]
    assert mixed[0] == mixed[1]  # (set values: byte for byte)
