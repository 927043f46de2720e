"""The state guard of tests/conftest.py: a test that leaves process-wide state changed fails
(an error at its teardown naming the value), the state is put back for the tests after it, and
state a test restores (itself or through monkeypatch) passes. Run in a separate pytest process
on a folder holding a copy of the conftest, since the leaks are the point."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

HERE = os.path.dirname(os.path.abspath(__file__))

LEAKY_TESTS = '''
import numpy as np
import torch
import deltagrad as dg
from torch.distributions import constraints, transform_to


def test_a_leaks_matmul_precision():
    torch.set_float32_matmul_precision("high")


def test_b_leaks_deltagrad_default_dtype():
    dg.set_default_dtype(dg.float64)


def test_c_leaks_a_transform_registration():
    transform_to.register(constraints.positive_definite)(lambda constraint: None)


def test_d_leaks_validate_args():
    torch.distributions.Distribution.set_default_validate_args(False)


def test_e_leaks_numpy_errstate():
    np.seterr(all="raise")


def test_f_sees_everything_put_back():
    assert torch.get_float32_matmul_precision() == "highest"
    assert dg.get_default_dtype() == dg.float32
    assert transform_to(constraints.positive_definite) is not None
    assert torch.distributions.Distribution._validate_args is True
    assert np.geterr()["divide"] == "warn"


def test_g_monkeypatch_restores(monkeypatch):
    monkeypatch.setattr(torch.distributions.Distribution, "_validate_args", False)
    monkeypatch.setattr(dg.distributions.Distribution, "_validate_args", False)


def test_h_restores_by_itself():
    with torch.no_grad(), dg.no_grad(), np.errstate(all="ignore"):
        torch.set_printoptions(precision=2)
        torch.set_printoptions(precision=4)
'''


def test_guard_fails_the_leaking_tests_and_restores_the_state(tmp_path):
    shutil.copy(os.path.join(HERE, "conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # (not the project's options)
    (tmp_path / "test_leaks.py").write_text(LEAKY_TESTS)
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(HERE), "src") + os.pathsep
               + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "no:randomly", "-W", "ignore", "test_leaks.py"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = run.stdout
    # (a test whose teardown errs also counts as passed: 5 leaking tests + 3 others)
    assert "8 passed, 5 errors" in out, out[-3000:]
    for test, value in [("test_a", "torch float32 matmul precision: 'highest' -> 'high'"),
                        ("test_b", "deltagrad default dtype: dtype('float32') -> "
                                   "dtype('float64')"),
                        ("test_c", "torch transform_to registry: {<class 'torch.distributions"
                                   ".constraints._PositiveDefinite'>: <function "
                                   "_transform_to_positive_definite"),
                        ("test_d", "torch Distribution validate_args default: True -> False"),
                        ("test_e", "numpy errstate")]:
        assert f"ERROR test_leaks.py::{test}" in out, out[-3000:]
        assert value in out, out[-3000:]
