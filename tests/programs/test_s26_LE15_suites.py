"""peft, ultralytics-thop, egnn-pytorch and torchviz's own tests run under deltagrad's torch
alias and under PyTorch (LE15, s26).

The check of ``le_harness.py``: every test that passes on PyTorch must pass on deltagrad, the
KNOWN_GROUPS entry aside. The suites, from the sdists of the wheels pinned in ``.ci/run``
(``prog_s26_LE15_fetch.py`` unpacks them into ``.venv/suites/``; without them they skip):
peft 0.21.2 (parameter-efficient fine-tuning: LoRA / DoRA / IA3 / LoHa / LoKr / OFT / BOFT /
VeRA / FourierFT / MiSS / ... adapters injected into small MLP, convolution, embedding and
attention models, merged into and unmerged from their weights, trained, saved and loaded, with
transformers, accelerate, diffusers and safetensors; the fetch writes the ``tests/__init__.py``
its relative imports need and a conftest standing in for Hugging Face ``datasets``; Hugging
Face's hub is set offline, no network here), ultralytics-thop 2.2.3 (FLOP counting through
forward hooks), egnn-pytorch 0.2.8 (E(n)-equivariant graph layers: rotation / translation /
permutation checks; its test file sets the default dtype to float64, so it runs alone) and
torchviz 0.0.3 (autograd graphs walked through ``grad_fn.next_functions`` into graphviz).

Failing on PyTorch too (not held): peft's tests that load adapters or models from the hub
(test_config.py's 130 ``from_pretrained`` cases; test_incremental_pca.py's two data-set
downloads). Not run: peft's other test files (most load hub models; a run of ten of the
others hung in network retries) and 16,440 of test_custom_models.py's 19,485 tests (about 25
CPU minutes a side on a quiet machine).

Whole suites (s26; run / pass on PyTorch / pass on deltagrad before -> after this session's
fixes, tests/parity/test_s26_LE15_fixes.py; wall s, both sides at once, loaded machine):
- peft (12 files): 1,367 / 1,223 / 1,223 (165 s).
- peft_models (test_custom_models.py's merge / train / low-memory-load tests): 3,045 / 2,961 /
  2,957 after (305 s; test time PyTorch / deltagrad 179 / 195 s); before, its merge / train
  tests 2,714 / 2,636 / 2,624 and the 11 low-memory-load tests of ``config_kwargs6*`` 11 / 11 /
  1. Fixed: ``ParameterDict[key] = p`` and ``ParameterList`` wrote into ``_parameters``
  directly, PyTorch registers through ``register_parameter``, which accelerate's
  ``init_empty_weights`` patches (IA3's scales stayed off the meta device under
  ``low_cpu_mem_usage``); ``Wishart._bartlett_sampling``, PyTorch's private name that peft's
  MonteCLoRA sampler calls, was missing (its 8 tests). Left (KNOWN_GROUPS): MiSS's four
  ``test_safe_merge`` (a layout difference, below).
- thop: 23 / 23 / 23 (8 s); egnn_pytorch: 6 / 6 / 6 (14 s); torchviz: 3 / 3 / 3 (12 s).
The default part (deltagrad's side; PyTorch's outcomes recorded in s24_TT2_outcomes/): thop,
torchviz and peft's 11 low-memory-load tests of ``config_kwargs6*`` (importing peft,
transformers and diffusers is most of its cost).
"""

from __future__ import annotations

import pytest
from le_harness import Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")

# (no network here: Hugging Face's hub client fails at once instead of retrying with sleeps)
_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

_PEFT_FILES = ("test_adamss_asa.py", "test_bdlora.py", "test_bufferdict.py", "test_deft.py",
               "test_incremental_pca.py", "test_lorafa.py", "test_loraplus.py", "test_mapping.py",
               "test_osf.py", "test_riemannian_lora.py", "test_velora.py", "test_config.py")

# (test_custom_models.py's tests that merge, unmerge, train and load every adapter kind on its
# small models: 3,045 of its 19,485; the rest, about 25 CPU minutes a side, not run here)
_PEFT_MODELS_K = ("-k=test_merge_layers or test_safe_merge or test_forward_output_finite or "
                  "test_training_custom_models or test_disable_adapters_with_merging or "
                  "test_load_model_low_cpu_mem_usage")

LIBRARIES = {
    "peft": Suite("peft", "peft-0.21.2/tests", package="tests", needs=("transformers",),
                  env=_OFFLINE, full=_PEFT_FILES),
    "peft_models": Suite("peft", "peft-0.21.2/tests", package="tests", needs=("transformers",),
                         env=_OFFLINE, full=("test_custom_models.py", _PEFT_MODELS_K),
                         quick=("test_custom_models.py",
                                "-k=test_load_model_low_cpu_mem_usage and config_kwargs6")),
    "thop": Suite("thop", "ultralytics_thop-2.2.3/tests", quick=(".",)),
    "egnn_pytorch": Suite("egnn_pytorch", "egnn_pytorch-0.2.8/tests", alone=True),
    "torchviz": Suite("torchviz", "torchviz-0.0.3/test", full=("test.py",), quick=("test.py",)),
}

KNOWN: dict = {name: {} for name in LIBRARIES}

# Tests parametrized many times over that pass on PyTorch and fail on deltagrad, each with why.
KNOWN_GROUPS = {
    ("peft_models", "test_custom_models.py::TestPeftCustomModel::test_safe_merge[",
     "MissConfig"): "an elementwise op of a permuted tensor and a broadcast one is C-ordered "
    "here, in the permuted tensor's order in PyTorch (TensorIterator): MiSS's merged weight, "
    "a permute of it, is then not contiguous and safetensors refuses to save it",
}

# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, KNOWN, KNOWN_GROUPS,
                                                               recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
