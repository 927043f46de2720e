"""A model zoo of 86 Hugging Face transformers architectures on deltagrad (LE12, session 23):
``prog_s23_LE12_zoo.py`` builds each tiny from its config with the same NumPy weights on both
libraries and records logits, every hidden state and attention map, a loss, gradients, and
greedy, sampled (seeded) and 2-beam ``generate()`` ids of the generative ones. It runs twice
at the same time, on the real PyTorch and under ``python -m deltagrad run``; the two must agree
(values to float32 tolerance, dtypes, shapes, token ids exactly).

The default run takes a representative part (a model of each kind: decoders with rotary,
sliding-window, mixture-of-experts and state-space layers, encoder-decoders, encoders, speech,
vision); the rest runs under ``-m soak`` (the whole zoo: about 20 CPU s a side).
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
PROGRAM = os.path.join(HERE, "prog_s23_LE12_zoo.py")
QUICK = ("gpt2 llama t5 bert jamba mamba2 recurrent_gemma qwen3_moe deepseek_v3 cohere2 xlnet "
         "mbart prophetnet deberta longformer canine whisper sew_d wav2vec2_conformer beit "
         "swinv2 levit siglip").split()
SOAK = ("rwkv dbrx jetmoe olmoe nemotron granitemoe phimoe ernie4_5 glm4 exaone4 arcee "
        "seed_oss ctrl imagegpt falcon_mamba bamba mt5 umt5 plbart mvp led bigbird_pegasus "
        "fsmt roberta distilbert fnet bigbird squeezebert rembert layoutlm camembert flaubert "
        "xlm ernie data2vec_text megatron_bert roberta_prelayernorm xmod yoso mra "
        "speech_to_text wavlm unispeech sew data2vec_audio ast vit deit data2vec_vision "
        "vit_msn vit_mae convnextv2 regnet mobilenet_v1 mobilenet_v2 mobilevit efficientnet "
        "poolformer pvt cvt bit focalnet hiera").split()
GENERATIVE = {"causal": 9, "seq2seq": 9}  # (logits, loss, 3 gradients, count, 3 generations)


def _results(tmp_path_factory, names, tag):
    return run_both(PROGRAM, tmp_path_factory.mktemp(tag), ",".join(names), timeout=900,
                    env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                         "HF_HUB_DISABLE_TELEMETRY": "1"})


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    return _results(tmp_path_factory, QUICK, "s23_LE12_zoo")


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    return _results(tmp_path_factory, SOAK, "s23_LE12_zoo_soak")


def check_model(results: tuple, model: str) -> None:
    """The model ran on both libraries and every number agrees: floats to rtol 1e-4 and an
    absolute 1e-5 of the array's largest magnitude (an embedding gradient's small entries sum
    many terms of either sign: mt5's [94, 4] entry, -7.3e-4, differs by 1e-5 in float32
    summation order where its largest is 3.5)."""
    real, ours = results
    assert f"ERR.{model}" not in real, f"fails on PyTorch itself: {real[f'ERR.{model}']}"
    keys = [k for k in real if k.startswith(model + ".") and real[k].dtype.kind == "f"]
    scale = {k: 1e-5 * max(1.0, float(np.abs(real[k]).max(initial=0.0))) for k in keys}
    compared = alias_runs.compare(real, ours, model, rtol=1e-4, atol=1e-5, atol_for=scale)
    from prog_s23_LE12_zoo import MODELS  # (a plain table: no library imported)

    kind = MODELS[model][3]
    values = sum(1 for k in real if k.startswith(model + ".") and not k.endswith(".dtype"))
    assert values >= GENERATIVE.get(kind, 5), f"{model}: only {values} values recorded"
    assert compared >= values


@pytest.mark.parametrize("model", QUICK)
def test_zoo_model(quick, model):
    check_model(quick, model)


@pytest.mark.soak  # (the rest of the zoo: ~15 CPU s a side for 63 more models)
@pytest.mark.parametrize("model", SOAK)
def test_zoo_model_soak(whole, model):
    check_model(whole, model)


def test_tables_cover_the_zoo():
    from prog_s23_LE12_zoo import MODELS

    assert sorted(QUICK + SOAK) == sorted(MODELS)
