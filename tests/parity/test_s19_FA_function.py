"""Custom autograd.Function and torch.autograd.functional against PyTorch, as a table (session
19, FA; cases: s19_FA_cases_function.py, s19_FA_cases_functional.py)."""

import pytest

torch = pytest.importorskip("torch")

import s19_FA_cases_func as cases  # noqa: E402
import s19_FA_cases_function  # noqa: E402, F401 - registers its cases in the shared table
import s19_FA_cases_function2  # noqa: E402, F401 - registers its cases in the shared table
import s19_FA_cases_functional  # noqa: E402, F401 - registers its cases in the shared table
from s19_FA_harness import check  # noqa: E402

_OLD_STYLE = ("deltagrad runs a Function whose forward takes ctx under the func transforms "
              "(values as the Function's own backward gives); PyTorch refuses it without a "
              "setup_context staticmethod (RuntimeError)")
KNOWN: dict = {
    "fn-ctx-grad-transform": _OLD_STYLE,
    "fn-grad-transform-old-style": _OLD_STYLE,
    "fn-vmap-old-style": _OLD_STYLE,
    "fn-vmap-no-rule": "func.vmap is a loop here, so a Function without a vmap staticmethod "
                       "(or generate_vmap_rule) runs per element; PyTorch refuses it",
    "fn-jvp-saved-for-backward-only": "tensors saved with save_for_backward are visible to "
                                      "the jvp staticmethod under func.jvp here; PyTorch's "
                                      "jvp sees only save_for_forward's (ValueError)",
    "afn-hessian-forward": "the s12 SM KNOWN functional-hessian-vectorize-outer-jacobian: "
                           "PyTorch's forward-over-reverse result requires grad; deltagrad's "
                           "does not",
}
NAMES = [name for name, program in cases.CASES.items()
         if program.__module__ in ("s19_FA_cases_function", "s19_FA_cases_function2",
                                   "s19_FA_cases_functional")]


def test_known_are_cases():
    assert set(KNOWN) <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_function(name):
    check(cases, KNOWN, name)
