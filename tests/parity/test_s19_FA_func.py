"""torch.func against PyTorch, as a table (session 19, FA; cases: s19_FA_cases_func.py and
s19_FA_cases_vmap.py): every case gives what PyTorch gives, or is KNOWN with its reason."""

import pytest

torch = pytest.importorskip("torch")

import s19_FA_cases_func as cases  # noqa: E402
import s19_FA_cases_more  # noqa: E402, F401 - registers its cases in cases.CASES
import s19_FA_cases_vmap  # noqa: E402, F401 - registers its cases in cases.CASES
from s19_FA_harness import check  # noqa: E402

KNOWN: dict = {
    "vmap-identity-is-new": "vmap(lambda a: a)(x) stacks a new tensor here; PyTorch hands "
                            "back x itself (same object and storage)",
}


# (The case modules share one table; this file runs the torch.func ones.)
NAMES = [name for name, program in cases.CASES.items()
         if program.__module__ in ("s19_FA_cases_func", "s19_FA_cases_vmap",
                                   "s19_FA_cases_more")]


def test_known_are_cases():
    assert set(KNOWN) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_func(name):
    check(cases, KNOWN, name)
