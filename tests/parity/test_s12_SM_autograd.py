"""The autograd API against PyTorch (session 12, SM; cases: s12_SM_cases_autograd.py)."""

import pytest

torch = pytest.importorskip("torch")

import s12_SM_cases_autograd as cases  # noqa: E402
from s12_SM_known import check  # noqa: E402

KNOWN = {
    "functional-jacobian-vectorize": "PyTorch's forward-mode jacobian keeps its result in the "
                                     "graph of an input that requires grad; deltagrad detaches",
    "functional-hessian-vectorize-outer-jacobian": "the same, for the forward-over-reverse "
                                                   "hessian",
    "function-mark-dirty-no-grad": "under no_grad PyTorch returns a new Tensor for a dirty "
                                   "non-leaf input; deltagrad returns the input itself",
}


def test_known_are_cases():
    assert set(KNOWN) <= set(cases.CASES)


@pytest.mark.parametrize("name", list(cases.CASES))
def test_autograd_api(name):
    check(cases, KNOWN, name)
