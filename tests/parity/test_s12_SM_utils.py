"""nn.utils against PyTorch (session 12, SM; cases: s12_SM_cases_utils.py)."""

import pytest

torch = pytest.importorskip("torch")

import s12_SM_cases_utils as cases  # noqa: E402
from s12_SM_known import check  # noqa: E402

KNOWN: dict = {}  # (none left)


@pytest.mark.parametrize("name", list(cases.CASES))
def test_nn_utils(name):
    check(cases, KNOWN, name)
