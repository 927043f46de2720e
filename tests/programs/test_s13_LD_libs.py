"""torcheval, loralib, efficientnet-pytorch, ttach, torch-complex, sb3-contrib, tensorly,
torch-runstats, pytorch-revgrad, torchviz, 59 Hugging Face transformers model families and 13
peft adapter kinds on deltagrad (LD, session 13).

``prog_s13_LD_libs.py`` (which imports ``prog_s13_LD_hf.py``) runs twice, at the same time: on
the real PyTorch and under ``python -m deltagrad run`` (the script unchanged); the two must
agree (values to float32 tolerance, dtypes, shapes, gradients, losses after optimizer steps).
"""

from __future__ import annotations

import importlib.util
import os

import alias_runs
import pytest
from alias_runs import run_both

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAM = os.path.join(HERE, "prog_s13_LD_libs.py")
LIBRARY_PARTS = {"torcheval": "torcheval", "loralib": "loralib",
                 "efficientnet": "efficientnet_pytorch", "ttach": "ttach",
                 "torch_complex": "torch_complex", "runstats": "torch_runstats",
                 "revgrad": "pytorch_revgrad", "torchviz": "torchviz",
                 "sb3_contrib": "sb3_contrib", "tensorly": "tensorly"}
HF_MODELS = ("mistral qwen2 qwen3 gemma gemma2 gemma3 phi phi3 stablelm olmo starcoder2 granite "
             "mixtral qwen2_moe olmo2 cohere helium glm smollm3 persimmon mpt biogpt xglm "
             "gpt_neo gpt_neox opt bloom falcon gpt_bigcode codegen gptj mamba bart pegasus "
             "marian blenderbot m2m100 switch longt5 mobilebert nystromformer electra albert "
             "deberta_v2 mpnet convbert roformer xlm_roberta modernbert esm funnel wav2vec2 "
             "hubert convnext resnet swin dinov2 segformer clip").split()
# What each model records (tests/programs/prog_s13_LD_hf.py, run_model): logits, loss, gradients,
# the loss after a step (each with its dtype); generated ids for generative ones; embeddings'
# gradient for text models.
HF_KEYS = {"causal": 12, "seq2seq": 12, "masked": 10, "classify": 10}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """(torch's numbers, deltagrad's numbers): one process per side for every installed
    library."""
    chosen = [name for name, module in LIBRARY_PARTS.items() if importlib.util.find_spec(module)]
    if importlib.util.find_spec("transformers"):
        chosen += HF_MODELS
        if importlib.util.find_spec("peft"):
            chosen.append("peft_kinds")
    if not chosen:
        pytest.skip("none of session 13 LD's libraries is installed")
    return run_both(PROGRAM, tmp_path_factory.mktemp("s13_LD"), ",".join(chosen))


def compare(real: dict, ours: dict, prefix: str, rtol=1e-4, atol=1e-5, **kwargs) -> int:
    return alias_runs.compare(real, ours, prefix, rtol=rtol, atol=atol, **kwargs)


def _needs(module: str) -> None:
    """Skip unless the library is installed, found as the fixture finds it (find_spec): an
    import here would load it into the test process for nothing (the torch side's subprocess
    runs it): the tests' calls took 2.0 s on a quiet machine (peft's import most), 11 s
    in a loaded single-file run, 7.4 in a loaded full run."""
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed")


@pytest.mark.parametrize("model", HF_MODELS)
def test_transformers_model_family(results, model):
    _needs("transformers")
    # (mixtral / qwen2_moe: transformers' grouped_mm_fallback custom op is called with offs=
    # as a keyword; wav2vec2's CTC loss runs under torch.backends.cudnn.flags: both added in
    # session 13)
    from prog_s13_LD_hf import MODELS

    kind = MODELS[model][3] if model in MODELS else "clip"
    assert compare(*results, model) >= HF_KEYS.get(kind, 8)


@pytest.mark.parametrize("kind", ["dora", "rslora", "loha", "lokr", "ia3", "vera", "boft",
                                  "oft", "fourierft", "hra", "ln_tuning", "prompt_tuning",
                                  "p_tuning"])
def test_peft_adapter_kinds_on_mistral(results, kind):
    _needs("transformers")
    _needs("peft")
    # (trainable / total counts, two AdamW losses, logits; merged logits where it merges)
    prompt = kind in ("prompt_tuning", "p_tuning")
    assert compare(*results, f"peft_kinds.{kind}") == (6 if prompt else 8)


def test_torcheval_functional_and_class_metrics(results):
    _needs("torcheval")
    assert compare(*results, "torcheval") >= 120


def test_loralib_layers_training_and_merge(results):
    _needs("loralib")
    # (lora.Embedding reads nn.Embedding's scale_grad_by_freq attribute: added in session 13)
    assert compare(*results, "loralib") >= 30


def test_efficientnet_pytorch_blocks_and_training(results):
    _needs("efficientnet_pytorch")
    assert compare(*results, "efficientnet") >= 25


def test_ttach_test_time_augmentation(results):
    _needs("ttach")
    assert compare(*results, "ttach") >= 20


def test_torch_complex_tensor(results):
    _needs("torch_complex")
    # (its stack passes out= to torch.stack: added in session 13)
    assert compare(*results, "torch_complex") >= 90


def test_torch_runstats_and_revgrad(results):
    _needs("torch_runstats")
    _needs("pytorch_revgrad")
    assert compare(*results, "runstats") >= 20
    assert compare(*results, "revgrad") >= 3


def test_torchviz_graph_labels(results):
    _needs("torchviz")
    assert compare(*results, "torchviz") == 2


def test_sb3_contrib_algorithms(results):
    _needs("sb3_contrib")
    for algorithm, count in (("qrdqn", 17), ("trpo", 17), ("ars", 3), ("recurrent_ppo", 33),
                             ("maskable", 16), ("tqc", 45)):
        assert compare(*results, f"sb3_contrib.{algorithm}") >= count, algorithm
    # (CrossQ's batch-renormalized critics: 20 Adam steps on batch statistics of 16 rows)
    assert compare(*results, "sb3_contrib.crossq", rtol=1e-3, atol=1e-4) >= 70


def test_tensorly_pytorch_backend(results):
    _needs("tensorly")
    assert compare(*results, "tensorly", rtol=1e-6, atol=1e-8) >= 30
