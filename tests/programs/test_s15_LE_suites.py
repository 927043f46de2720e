"""More libraries' own test suites run under deltagrad's torch alias and under PyTorch (LE, s15).

The same check as ``test_s14_LE_suites.py``, with its harness (``le_harness.py``: one pytest
process per side, on the real PyTorch and under ``python -m deltagrad run``, every test from
seed 0): every test that passes on PyTorch must pass on deltagrad, except the entries of KNOWN
and KNOWN_GROUPS (each with its reason); a known entry that passes now fails the test, so the
lists stay true. Tests that fail on PyTorch too (CUDA-only, written for older releases) are not
held against deltagrad.

The suites: rtdl, entmax and skorch ship theirs inside their wheels; e3nn and linear_operator in
their source distributions, which ``prog_s15_LE_fetch.py`` unpacks into ``.venv/suites/``
(``.ci/run`` calls it; without it those suites skip). The libraries are imported only by the
subprocesses: their imports change global state (registries, warning filters) that later tests
in this process would see. The default run takes a part of each suite (its ``quick``); the whole
suites run under ``-m soak``.
"""

from __future__ import annotations

import pytest
from le_harness import Suite, recording_tests, suite_tests

torch = pytest.importorskip("torch")


# (left out of the whole runs: PyTorch's torch.compile tests, minutes of inductor and g++ each
# here for a compiler deltagrad does not have; skorch's llm/ and test_hf.py, which download
# Hugging Face models. e3nn's whole run is its math/ part: the rest, TorchScript-compiled on
# PyTorch, did not finish in 40 minutes on this machine.)
LIBRARIES = {
    "rtdl": Suite("rtdl", "tests", site=True, quick=("test_data.py",)),
    "entmax": Suite("entmax", ".", site=True, quick=("test_mask.py", "test_topk.py")),
    "skorch": Suite("skorch", "tests", site=True, needs=("sklearn", "scipy", "pandas", "flaky"),
                    quick=("test_utils.py::TestToTensor",),
                    full=(".", "--ignore=llm", "--ignore=test_hf.py", "-k=not compile")),
    "linear_operator": Suite("linear_operator", "linear_operator-0.6.1/test",
                             quick=("utils/test_sparse.py", "utils/test_cholesky.py"),
                             full=("functions", "utils", "test_settings.py")),
    # (no default part since session 18: its own pair of processes, 7.5 CPU s of children;
    # e3nn's irreps, harmonics, rotations, math and nn stay checked by default in
    # test_s9_T16_third_party.py::test_e3nn_without_fx, its FX modules in test_s14_FX_e3nn.py;
    # the soak run's whole suite still holds perm_test.py and defaults_test.py)
    "e3nn": Suite("e3nn", "e3nn-0.6.0/tests",
                  full=("math", "defaults_test.py", "-k=not compile"), alone=True),
}

# Per library, the tests that pass on PyTorch and fail on deltagrad, each with why (each one a
# clear error from deltagrad, never a wrong number).
_TCP = "torch.distributed.TCPStore: deltagrad's processes meet through MPI (NotImplementedError)"
KNOWN: dict[str, dict[str, str]] = {
    "skorch": {
        **{f"test_doctor.py::{case}::test_get_parameter_names":
           "the order in which parameters' gradient hooks fire in one backward: PyTorch's "
           "engine runs a Linear's bias hook before its weight's, deltagrad the weight's first"
           for case in ("TestSkorchDoctorSimple", "TestSkorchDoctorComplexArchitecture")},
        "test_net.py::TestNeuralNet::test_torch_load_kwargs_forwarded_to_torch_load_unpickle":
            "pickle of a tensor: PyTorch's goes through torch.storage._load_from_bytes (which "
            "skorch's unpickler turns into a torch.load call it checks); deltagrad's tensors "
            "pickle their arrays directly",
    },
}


# Groups of tests known by a part of their ids (parametrized many times over): (library, the
# id's start, a text every such id contains) -> why.
KNOWN_GROUPS: dict[tuple, str] = {
    # (skorch's history kept in a TCPStore: the "distributed" parameter of TestHistory and the
    # multiprocessing tests; its 139 other history tests pass)
    ("skorch", "test_history.py::TestHistory::", "distributed"): _TCP,
    ("skorch", "test_history.py::TestDistributedHistoryMultiprocessing::", ""): _TCP,
}


# (the default part runs deltagrad's side only, held to PyTorch's outcomes recorded in
# s24_TT2_outcomes/ by prog_s24_TT2_record.py: le_harness's docstring)
quick_results, test_suite_part, test_whole_suite = suite_tests(
    LIBRARIES, KNOWN, KNOWN_GROUPS, recording=__file__)
test_recording_current, test_recording_rederived = recording_tests(LIBRARIES, __file__)
