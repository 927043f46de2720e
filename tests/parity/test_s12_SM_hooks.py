"""Module hooks against PyTorch (session 12, SM; cases: s12_SM_cases_hooks.py)."""

import pytest

torch = pytest.importorskip("torch")

import s12_SM_cases_hooks as cases  # noqa: E402
from s12_SM_known import check  # noqa: E402

KNOWN = {
    "full-backward-hook-inplace-output": "an in-place change of a hooked module's input or "
                                         "output is allowed; PyTorch raises (a custom "
                                         "Function's view changed in place)",
    "full-backward-hook-keeps-memory-and-version": "the same, on the output side",
    "full-backward-hook-noncontiguous-input": "a gradient is C-contiguous where PyTorch's "
                                              "follows the input's strides (the engine's "
                                              "layout, not the hook's)",
}


def test_known_are_cases():
    assert set(KNOWN) <= set(cases.CASES)


@pytest.mark.parametrize("name", list(cases.CASES))
def test_module_hooks(name):
    check(cases, KNOWN, name)
