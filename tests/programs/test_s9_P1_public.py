"""Public PyTorch programs, round 5 (P1, session 9): llama2.c, mamba-minimal, minGPT's Trainer,
training-script idioms, and pytorch/examples' DCGAN, VAE, siamese network, super-resolution,
fast neural style, REINFORCE, actor-critic, plus a GCN / GAT from scratch and a GRU seq2seq
with Bahdanau attention, and older repositories' idioms (WGAN-GP, imagenet's accuracy, Variable,
DataParallel on the CPU).

``prog_s9_P1_*.py`` are written from memory of the public originals (same structure and idioms,
tiny sizes, synthetic data) and run twice, at the same
time: on the real PyTorch and under ``python -m deltagrad run`` (unchanged). The two must agree:
losses, gradient norms, parameters and buffers after training to float32 tolerance, sampled
tokens and CartPole actions exactly, dtypes and shapes; an exception in a section on either side
is a failure. Two known differences are pinned below, and the two fixes the probe led to are
checked directly at the end.
"""

from __future__ import annotations

import os
import warnings

import alias_runs
import numpy as np
import pytest
from alias_runs import run_both

import deltagrad

torch = pytest.importorskip("torch")
pytest.importorskip("einops")
pytest.importorskip("gymnasium")

HERE = os.path.dirname(os.path.abspath(__file__))
# (it imports prog_s9_P1_llm.py, _gpt.py, _graph_seq.py and _legacy.py: one run does all)
EXAMPLES = os.path.join(HERE, "prog_s9_P1_examples.py")
RTOL, ATOL = 1e-4, 1e-5  # float32 summation-order differences over a dozen Adam steps


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers): every section in one run (one ``import torch``
    per side is most of the time)."""
    folder = tmp_path_factory.mktemp("s9_P1")
    sections = ("llama2c,mamba,mingpt,idioms,dcgan,vae,siamese,superres,style,reinforce,"
                "actor_critic,gcn,seq2seq,legacy")
    return run_both(EXAMPLES, folder, sections, side_args=lambda side: [str(folder / side)])


def compare(results: tuple, prefix: str, **kwargs) -> int:
    real, ours = results
    return alias_runs.compare(real, ours, prefix, rtol=kwargs.pop("rtol", RTOL),
                              atol=kwargs.pop("atol", ATOL), **kwargs)


def test_llama2c(results):
    assert compare(results, "llama2c") >= 60
    real, ours = results
    assert bool(ours["llama2c.tied"])
    assert ours["llama2c.losses"][-1] < ours["llama2c.losses"][0]
    assert ours["llama2c.sample.topk"].shape == (1, 15)
    assert float(ours["llama2c.eval.flash_vs_manual"]) < 1e-5  # SDPA is_causal == the mask
    assert bool(ours["llama2c.eval.complex_vs_real"])  # polar / view_as_complex RoPE


def test_mamba_minimal(results):
    assert compare(results, "mamba") >= 30
    assert int(results[1]["mamba.vocab"]) == 24


# The key third of minGPT's c_attn bias has an exactly zero gradient (q . b_k is the same for
# every key of a query: softmax does not see it), so its gradient is rounding noise that AdamW
# turns into moves of up to lr (3e-3) a step, damped by eps against 1e-9-sized noise: 1.04e-5 on
# session 26's machine, under 1e-5 before. The comparison takes the bias whole (all of it at
# 1e-3); its weight and the rest of the model at RTOL / ATOL.
_KEY_BIAS = {f"mingpt.params.transformer.h.{i}.attn.c_attn.bias": 1e-3 for i in range(2)}


def test_mingpt_trainer(results):
    assert compare(results, "mingpt", atol_for=_KEY_BIAS) >= 30
    ours = results[1]
    assert ours["mingpt.losses"].shape == (12,)
    assert "transformer.wte.weight" in str(ours["mingpt.no_decay"])
    assert list(ours["mingpt.groups"]) == [9, 20]


def test_training_idioms(results):
    assert compare(results, "idioms", skip=("idioms.autocast",)) >= 20


def test_autocast_bf16_on_cpu(results):
    # (deltagrad runs PyTorch's CPU autocast lists since session 9, B2)
    real, ours = results
    assert "idioms_autocast_error" not in ours
    for key in ("idioms.autocast.dtype_name", "idioms.autocast.sum_dtype",
                "idioms.autocast.ce_dtype"):
        assert str(ours[key]).split(".")[-1] == str(real[key]).split(".")[-1], key
    assert str(real["idioms.autocast.dtype_name"]) == "torch.bfloat16"
    np.testing.assert_array_equal(ours["idioms.autocast.out"], real["idioms.autocast.out"])


def test_compiled_module_state_dict_keys(results):
    # (torch.compile wraps a module in OptimizedModule: '_orig_mod.' keys on both sides)
    real, ours = results
    assert str(ours["idioms_compiled_keys"]) == str(real["idioms_compiled_keys"])


def test_dcgan(results):
    assert compare(results, "dcgan") >= 30


def test_vae(results):
    assert compare(results, "vae") >= 15


def test_siamese(results):
    assert compare(results, "siamese") >= 10


def test_super_resolution(results):
    assert compare(results, "superres") >= 10


# A conv bias right before an InstanceNorm (and the norm's bias feeding the next one through
# the upsampling conv) cancels: its gradient is float32 noise, which Adam scales to lr-sized
# steps, so those parameters differ by chance; the losses and every other weight agree.
CANCELLED = tuple(f"style.params.{name}" for name in (
    "conv1.conv2d.bias", "conv2.conv2d.bias", "deconv1.conv2d.bias", "res1.conv1.conv2d.bias",
    "res1.conv2.conv2d.bias", "res1.in2.bias"))


def test_fast_neural_style(results):
    assert compare(results, "style", skip=CANCELLED) >= 20
    real, ours = results
    assert np.abs(real["style.image"].astype(int) - ours["style.image"].astype(int)).max() <= 1


def test_reinforce_and_actor_critic(results):
    assert compare(results, "reinforce") >= 8
    assert compare(results, "actor_critic") >= 10
    assert len(results[1]["reinforce.actions"]) > 20


def test_gcn_gat(results):
    assert compare(results, "gcn") >= 8


def test_older_repo_idioms_wgan_gp_half_linear(results):
    assert compare(results, "legacy") >= 40


def test_seq2seq_bahdanau(results):
    # Va's bias shifts every attention score alike (softmax cancels it): noise, as above.
    skip = ("seq2seq.decoder.attention.Va.bias",)
    assert compare(results, "seq2seq", atol=1e-4, skip=skip) >= 20


# ----------------------------------------------------- fixes the probe found (direct checks)

@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("bias", [True, False])
def test_half_precision_linear_rounds_once(dtype, bias):
    # PyTorch's bf16 / fp16 linear adds the bias in float32 and rounds once; deltagrad rounded
    # the product and then the sum (a bf16 nn.Linear differed in the last bit).
    if dtype == "bfloat16":
        pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(0)
    shapes = ((3, 2, 16), (5, 16), (5,))
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    results = []
    for m in (deltagrad, torch):
        x, w, b = (m.tensor(a).to(getattr(m, dtype)).requires_grad_() for a in arrays)
        y = m.nn.functional.linear(x, w, b if bias else None)
        (y.float() ** 2).sum().backward()
        results.append([str(y.dtype).rsplit(".", 1)[-1]] + [
            t.detach().float().numpy() for t in (y, x.grad, w.grad, b.grad if bias else y)])
    ours, real = results
    assert ours[0] == real[0] == dtype
    for a, b in zip(ours[1:], real[1:]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("flags", [{}, {"enable_flash": False}, {"enable_math": False},
                                   {"enable_math": False, "enable_flash": False}])
def test_backends_cuda_sdp_kernel(flags):
    # The deprecated context manager of nanoGPT-era scripts: a FutureWarning, then
    # torch.nn.attention.sdpa_kernel's backend rules.
    outcomes = []
    for m in (deltagrad, torch):
        q = m.tensor(np.random.default_rng(1).standard_normal((1, 2, 3, 4)).astype(np.float32))
        with pytest.warns(FutureWarning), m.backends.cuda.sdp_kernel(**flags):
            try:
                out = m.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True)
                outcomes.append(out.numpy())
            except RuntimeError:
                outcomes.append("RuntimeError")
            try:  # (the flash kernel takes no dropout)
                with warnings.catch_warnings():  # (PyTorch says why it skips flash)
                    warnings.simplefilter("ignore", UserWarning)
                    m.nn.functional.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
                outcomes.append("ran")
            except RuntimeError:
                outcomes.append("RuntimeError")
    ours, real = outcomes[:2], outcomes[2:]
    assert ours[1] == real[1]
    if isinstance(real[0], str):
        assert ours[0] == real[0]
    else:
        np.testing.assert_allclose(ours[0], real[0], rtol=1e-6, atol=1e-6)
