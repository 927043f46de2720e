"""Libraries' own test suites run under deltagrad's torch alias and under PyTorch (LE, s14).

``le_harness.run_suites`` runs a library's own pytest suite in one process per side, at the
same time: on the real PyTorch and under ``python -m deltagrad run``. Every test that passes on
PyTorch must pass on deltagrad, except the entries of KNOWN (each with its reason); a KNOWN
entry that passes now fails the test, so the list stays true. Tests that fail on PyTorch too
(CUDA-only, written for older PyTorch releases) are not held against deltagrad.

The suites come from where each library ships them: einops and normflows inside their wheels;
the others from their source distributions, which ``prog_s14_LE_fetch.py`` unpacks into
``.venv/suites/`` (``.ci/run`` calls it; without it those suites skip). The default run takes a
part of each suite (its ``quick``); the whole suites run under ``-m soak``.
"""

from __future__ import annotations

import pytest
from le_harness import Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")


# (einops' torch.compile test: 53 s on PyTorch, for a compiler deltagrad does not have; zuko's
# quick part: the tests that found deltagrad's bugs, and its flows' shortest)
LIBRARIES = {
    "einops": Suite("einops", "tests", site=True, env={"EINOPS_TEST_BACKENDS": "torch"},
                    full=(".", "-k=not torch_compile"),
                    quick=("test_ops.py", "test_packing.py", "test_parsing.py",
                           "-k=not torch_compile")),
    "normflows": Suite("normflows", ".", site=True,
                       quick=("core_test.py", "flows/affine/glow_test.py",
                              "flows/affine/autoregressive_test.py",
                              "distributions/base_test.py")),
    "zuko": Suite("zuko", "zuko-1.6.0/tests",
                  quick=("test_utils.py", "test_bayesian.py::test_bayesian_MLP",
                         "test_flows.py::test_flows[BPF]")),
    "pyro": Suite("pyro", "pyro_ppl-1.9.2/tests", quick=("test_util.py",)),
    "nflows": Suite("nflows", "nflows-0.14/tests", package="tests", needs=("torchtestcase",)),
    "torch_optimizer": Suite("torch_optimizer", "torch-optimizer-0.3.0/tests", package="tests"),
    # gpytorch's files left out of its whole run: these three need batched sparse COO
    # interpolation matrices (ndimension() of a sparse tensor, sparse inputs to
    # autograd.Function), which deltagrad refuses. (lazy/test_lazy_evaluated_kernel_tensor.py
    # and variational/test_unwhitened_variational_strategy.py run since s22: 302 of 302 pass
    # on both sides, after LE8's fixes of ``tensor * op`` and of pickling graph nodes.)
    "gpytorch": Suite("gpytorch", "gpytorch-1.15.2/test", quick=("priors", "means"), full=(
        ".", "--ignore=examples", "--ignore=models/test_exact_gp.py",
        "--ignore=kernels/test_grid_interpolation_kernel.py",
        "--ignore=variational/test_orthogonally_decoupled_variational_strategy.py")),
    "accelerate": Suite("accelerate", "accelerate-1.16.0/tests",
                        full=tuple(f"test_{name}.py" for name in (
                            "hooks", "modeling_utils", "optimizer", "scheduler", "data_loader",
                            "utils", "big_modeling", "kwargs_handlers", "memory_utils",
                            "offload", "accelerator", "state_checkpointing"))),
}

# Per library, the tests that pass on PyTorch and fail on deltagrad, each with why (each one a
# clear error from deltagrad, never a wrong number).
_FLOAT8 = "float8_e4m3fn storage: NumPy has no float8 dtype (deltagrad raises TypeError)"
_STORE = ("torch.multiprocessing spawn + init_process_group(store=...): only mpiexec-started "
          "process groups (NotImplementedError)")
_OVERWRITE = ("torch.__future__.set_overwrite_module_params_on_conversion(True): conversions "
              "keep each Parameter (NotImplementedError)")
KNOWN: dict[str, dict[str, str]] = {
    "pyro": {},
    "accelerate": {
        "test_hooks.py::HooksModelTester::test_layerwise_upcasting_inference_1": _FLOAT8,
        "test_hooks.py::HooksModelTester::test_layerwise_upcasting_inference_2": _FLOAT8,
        "test_offload.py::OffloadTester::test_offload_weight": _FLOAT8,
        "test_utils.py::UtilsTester::test_pad_across_processes":
            "torch.nested.nested_tensor: jagged tensors are not supported (NotImplementedError)",
        "test_accelerator.py::AcceleratorTester::test_remap_optimizer_parameters_0_no":
            _OVERWRITE,
        "test_accelerator.py::AcceleratorTester::test_remap_optimizer_parameters_1_eager":
            _OVERWRITE,
        **{f"test_scheduler.py::SchedulerTester::test_{kind}_multiprocess": _STORE
           for kind in ("lambda_scheduler_not_step_with_optimizer",
                        "lambda_scheduler_steps_with_optimizer",
                        "one_cycle_scheduler_not_step_with_optimizer",
                        "one_cycle_scheduler_steps_with_optimizer")},
    },
}


# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(LIBRARIES, KNOWN, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
