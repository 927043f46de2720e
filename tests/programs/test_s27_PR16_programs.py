"""Modern model components, session 27 (PR16), written as today's public model code writes them
and run unchanged under ``import deltagrad as torch``.

Decoder parts (prog_s27_PR16_llm.py): RMSNorm by hand and nn.RMSNorm, rotary embeddings as
complex numbers (polar / view_as_complex) and as cos / sin with rotate_half, SwiGLU,
grouped-query attention three ways, a KV cache with index_copy_ and with torch.cat, causal /
sliding-window / ALiBi masks, top-k / top-p sampling under a seeded generator, beam search,
Mixture-of-Experts routing with a load-balancing loss, LoRA, and a training recipe (weight
tying, AdamW groups without decay on norms / biases, warmup-cosine LambdaLR, label smoothing,
z-loss, gradient checkpointing). Vision parts (prog_s27_PR16_vision.py): ConvNeXt blocks,
DropPath, squeeze-excitation, patch embeddings, EMA with _foreach_* and lerp_, bfloat16
autocast. More (prog_s27_PR16_more.py): gradients through both rotary forms and through
scaled_dot_product_attention (learned float mask, enable_gqa), SequentialLR / OneCycleLR /
per-group LambdaLR, a script's settings lines, torch.compile (soak: PyTorch's compiler
costs seconds of CPU), bfloat16 parameters, a
generation loop under inference_mode with a buffer KV cache, label smoothing with weights and
ignore_index. Extra (prog_s27_PR16_extra.py): timm-style ViT attention with layer-wise LR
decay, a causal depthwise Conv1d with a cumsum scan, a diffusion step (cosine betas, gather at
t, timestep embeddings, DDIM), CLIP's contrastive loss, a VQ codebook with a straight-through
estimator.

``prog_s27_PR16_*.py`` run on the real PyTorch and under ``python -m deltagrad run``, one process
per side for all sections; each section's whole stdout must agree character for character,
its warnings by category and first sentence, its recorded tensors to float tolerance.
"""

from __future__ import annotations

import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s27_PR16_all.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a few steps
# bfloat16 autocast: products rounded to bfloat16 move Adam's steps by bfloat16 roundoff
ATOL_FOR = {"amp.w": 1e-3, "bf16.w": 2e-2}

# section -> its key prefixes and how many keys it must record at least (dtype names included)
SECTIONS = {
    # prog_s27_PR16_llm.py
    "rmsnorm": (("rms",), 4), "rope": (("rope",), 4), "swiglu_gqa": (("gqa",), 4),
    "kv_cache": (("kv",), 4), "masks": (("mask",), 4), "sampling": (("samp",), 3),
    "beam": (("beam",), 3), "moe": (("moe",), 3), "lora": (("lora",), 3),
    "train_recipe": (("rec",), 3),
    # prog_s27_PR16_vision.py
    "convnext": (("cnx",), 4), "drop_path": (("dp",), 2), "squeeze_excite": (("se",), 3),
    "patch_embed": (("patch",), 4), "ema": (("ema",), 3), "autocast": (("amp",), 3),
    # prog_s27_PR16_more.py
    "rope_grad": (("ropeg",), 3), "sdpa_grad": (("sdpag",), 4), "schedules": (("sched",), 3),
    "settings": (("set",), 2), "bf16_train": (("bf16",), 3), "generate": (("gen",), 3),
    "label_smoothing": (("ls",), 3),
    # prog_s27_PR16_extra.py
    "vit_lld": (("vit",), 3), "causal_conv_scan": (("ssm",), 3), "diffusion": (("diff",), 3),
    "clip": (("clip",), 3), "vq": (("vq",), 3),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s27_PR16")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    prefixes, at_least = SECTIONS[section]
    alias_runs.compare_section(results, section, prefixes, at_least=at_least, rtol=RTOL,
                               atol=ATOL, atol_for=ATOL_FOR)


def test_programs_do_their_job(results):
    # The comparisons above would pass if both sides printed nothing; these would not.
    _, ours = results

    def text(key):
        return str(ours[f"{key}.log.stdout"])

    for key, lines in (("rms", 8), ("rope", 8), ("gqa", 11), ("kv", 5), ("mask", 19),
                       ("samp", 7), ("beam", 8), ("moe", 6), ("lora", 7), ("rec", 11),
                       ("cnx", 15), ("dp", 7), ("se", 6), ("patch", 7), ("ema", 10),
                       ("amp", 6), ("ropeg", 5), ("sdpag", 5), ("sched", 4), ("set", 7),
                       ("bf16", 5), ("gen", 5), ("ls", 7), ("vit", 6), ("ssm", 4),
                       ("diff", 7), ("clip", 4), ("vq", 6)):
        assert text(key).count("\n") >= lines, key
    for key, said in (
            ("rms", "same True"), ("rope", "norm kept True"), ("rope", "shift invariant True"),
            ("gqa", "interleave~expand True"), ("gqa", "interleave~gqa True"),
            ("kv", "index_copy == cat True"), ("kv", "incremental == full True"),
            ("mask", "float~bool True bool~causal True"), ("mask", "sliding scale True"),
            ("mask", "no mask (1, 4, 6, 8)"),
            ("lora", "merge True"), ("lora", "frozen grad None"),
            ("rec", "checkpoint same grad True"), ("cnx", "channels-last LN == by hand True"),
            ("patch", "fold inverse True"), ("ema", "foreach == lerp True"),
            ("ropeg", "interleaved == complex True"), ("ropeg", "complex norm grad True"),
            ("sdpag", "math backend same True"), ("set", "precision high"),
            ("gen", "cached == full True"), ("ls", "grad row 2 zero True"),
            ("vit", "fused == manual True"), ("ssm", "slice == left pad True"),
            ("ssm", "loop == scan True"), ("vq", "fake quant True")):
        assert said in text(key), (key, said)
    # PyTorch 2.13's flash kernel applies both masks; its math kernel (3-d inputs) refuses
    assert "mask and is_causal True" in text("mask")
    assert "3-d mask and is_causal RuntimeError" in text("mask")


@pytest.mark.soak
def test_compile_section(tmp_path):
    results = run_both(PROGRAM, tmp_path, "compile")
    alias_runs.compare_section(results, "compile", ("comp",), at_least=3, rtol=RTOL, atol=ATOL)
    assert "compiled same True" in str(results[1]["comp.log.stdout"])


# Known differences, kept out of the programs (each one line to reproduce):
# - torch.autograd.grad through checkpoint(use_reentrant=False) raises RuntimeError here
#   (PyTorch computes it): ``torch.autograd.grad(checkpoint(lin, x, use_reentrant=False).sum(),
#   lin.weight)``; the programs use .backward()
# - shape errors are deltagrad's ShapeError, a RuntimeError subclass (PyTorch: RuntimeError
#   itself), so ``type(e).__name__`` differs: ``F.scaled_dot_product_attention(q, k3, v,
#   enable_gqa=True)`` with 4 query heads and 3 key heads
# - Embedding(max_norm=...) renorm: the row norm can differ from PyTorch's by an ulp for short
#   rows (its reduction order), so renormed rows may differ by an ulp:
#   ``torch.embedding_renorm_(w, ids, 1.0, 2.0)`` on 2-wide rows, ~12% of random rows
# - clamp(min=Tensor, max=int): TypeError both sides, other words
KNOWN = {
    "checkpoint_autograd_grad": "autograd.grad through a non-reentrant checkpoint",
    "shape_error_name": "ShapeError's class name where PyTorch says RuntimeError",
    "embedding_renorm_norm_ulp": "renorm's row norm, an ulp off for short rows",
}
