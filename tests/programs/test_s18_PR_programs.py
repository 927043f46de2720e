"""Modern model code as widely copied on GitHub, session 18 (PR): a DDPM (UNet with GroupNorm,
SiLU and attention, beta schedules, EMA, the sampler) and a VQ-VAE quantiser; a LLaMA-style
block with RMSNorm, SwiGLU, rotary embeddings, tied embeddings and KV-cache generation through
scaled_dot_product_attention; mixture-of-experts routing, a Mamba-like selective scan, RWKV time
mixing, LoRA; CLIP and SimCLR losses, Gumbel-softmax, focal / dice / GIoU losses, anchors, box
coding and NMS by hand, label smoothing; checkpointing, autocast(bfloat16) training, init loops,
optimizer groups, schedules, train / eval, buffers and checkpoint round trips.

``prog_s18_PR_*.py`` are written afresh in the style of those originals (same structure and
idioms, tiny sizes, synthetic data, seeded) and run unchanged on the real PyTorch and under
``python -m deltagrad run``, at the same time, one process per side for every section. Losses,
parameters and buffers after training, gradients, samples, indices, dtypes and shapes must
agree; an exception in a section on either side fails its test.
"""

from __future__ import annotations

import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s18_PR_all.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a few steps
# ddpm_amp's init_conv weight gradient comes out of a bfloat16 convolution (autocast): its
# entries are bfloat16 values, whose ulp at the gradient's scale (0.08) is 2^-11 = 4.9e-4. The
# float32 products under them round alike on both sides only where NumPy's BLAS kernel gives
# PyTorch's (MKL's) bits: under OPENBLAS_CORETYPE=SkylakeX all entries agree, under Haswell
# some land one bfloat16 ulp apart (s26 EN2). 1e-3 is two ulps there; the float32 gradient of
# the GroupNorm weight and the rest of the section stay at RTOL / ATOL.
ATOL_FOR = {"ddpm_amp.grad_conv": 1e-3}

# section -> how many keys it must record at least (a section that stopped recording fails)
SECTIONS = {
    # prog_s18_PR_diffusion.py
    "ddpm": 119, "ddpm_amp": 9, "vqvae": 9,
    # prog_s18_PR_llm.py
    "llama": 25, "moe": 41, "mamba": 23, "rwkv": 25, "lora": 26,
    # prog_s18_PR_vision.py
    "clip": 17, "simclr": 19, "gumbel": 7, "detect": 24, "smooth": 12,
    # prog_s18_PR_infra.py
    "ckpt": 186, "infra": 66, "bn_modes": 26,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers) of every section, from one run per side."""
    folder = tmp_path_factory.mktemp("s18_PR")
    return run_both(PROGRAM, folder, ",".join(SECTIONS))


@pytest.mark.parametrize("section", list(SECTIONS))
def test_program_section(results, section):
    alias_runs.compare_section(results, section, at_least=SECTIONS[section], rtol=RTOL,
                               atol=ATOL, atol_for=ATOL_FOR)


def test_programs_learn(results):
    # The comparisons above would pass if both sides did nothing useful; these would not.
    _, ours = results
    for key in ("llama.losses", "moe.losses", "mamba.losses", "rwkv.losses", "lora.losses",
                "clip.losses", "vqvae.losses", "infra.losses"):
        values = ours[key].reshape(len(ours[key]), -1)[:, 0]
        assert values[-1] < values[0], key
    # the KV cache gives the full recomputation's logits; masks of either kind the causal ones
    assert abs(ours["llama.cached_logits.4"] - ours["llama.recomputed"][:, 4]).max() < 1e-4
    assert abs(ours["llama.bool_mask"]).max() < 1e-5 and abs(ours["llama.float_mask"]).max() < 1e-5
    # the scatter dispatch equals the index_add one; the scan's closed form equals its loop
    assert abs(ours["moe.scatter_dispatch"]).max() < 1e-5
    assert abs(ours["mamba.closed_vs_loop"]).max() < 1e-4
    # LoRA: merged weights give the unmerged outputs, unmerging restores them; base frozen
    assert abs(ours["lora.merged_diff"]).max() < 1e-5
    assert abs(ours["lora.unmerged_diff"]).max() < 1e-5
    assert bool(ours["lora.base_grad_is_none"])
    # hard Gumbel samples are one-hot; label smoothing by hand equals the built-in
    assert (ours["gumbel.hard"].sum(-1) == 1).all() and set(ours["gumbel.hard"].ravel()) <= {0, 1}
    assert abs(ours["smooth.by_hand"] - ours["smooth.builtin"]) < 1e-6
    # checkpointing changes no gradient (dropout's random state replayed)
    assert bool(ours["ckpt.r0.same"]) and bool(ours["ckpt.r1.same"])
    assert abs(ours["infra.eval_twice"]).max() == 0 and bool(ours["infra.train_differs"])
    assert list(ours["infra.load_result"]) == [0, 0] and bool(ours["infra.before_load_differs"])
