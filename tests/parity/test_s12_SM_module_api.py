"""The nn.Module API against PyTorch (session 12, SM): registration, conversions, modes, lookups
and the containers (cases: s12_SM_cases_module.py)."""

import pytest

torch = pytest.importorskip("torch")

import s12_SM_cases_module as cases  # noqa: E402
from s12_SM_known import check  # noqa: E402

# Differences left, each with its reason (a fix makes its test fail: take the entry out).
KNOWN = {
    "modulelist-insert-not-module": "PyTorch's ModuleList.insert stores any object; deltagrad "
                                    "refuses a non-Module (TypeError), as append does",
    "to-bad-arg": "Module.to(3.5) raises TypeError; PyTorch ignores the number",
}


def test_known_are_cases():
    assert set(KNOWN) <= set(cases.CASES)


@pytest.mark.parametrize("name", list(cases.CASES))
def test_module_api(name):
    check(cases, KNOWN, name)
