"""torch.autograd.forward_ad against PyTorch, as a table (session 19, FA; cases:
s19_FA_cases_fwd.py): each op's primal and tangent as PyTorch's, or KNOWN with its reason."""

import pytest

torch = pytest.importorskip("torch")

import s19_FA_cases_func as cases  # noqa: E402
import s19_FA_cases_fwd  # noqa: E402, F401 - registers its cases in the shared table
from s19_FA_harness import check  # noqa: E402

KNOWN: dict = {
    "fwad-function-jvp-mark-dirty": "a dual made from a primal that does not require grad is "
                                    "a leaf that does here (forward AD's documented design), "
                                    "so a Function's in-place forward on it is refused",
}
NAMES = [name for name, program in cases.CASES.items()
         if program.__module__ == "s19_FA_cases_fwd"]


def test_known_are_cases():
    assert set(KNOWN) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_forward_ad(name):
    check(cases, KNOWN, name)
