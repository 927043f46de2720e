"""State dicts, their hooks and versions, and PyTorch checkpoints, against PyTorch (session 12,
SM; cases: s12_SM_cases_state.py)."""

import pytest

torch = pytest.importorskip("torch")

import s12_SM_cases_state as cases  # noqa: E402
from s12_SM_known import check  # noqa: E402

KNOWN = {
    "load-whole-module-pickle": "a pickled torch.nn module is refused (GlobalRefused): the "
                                "restricted unpickler maps no torch.nn class to deltagrad's",
    "save-roundtrip-to-torch": "deltagrad.save writes safetensors + JSON, not PyTorch's zip "
                               "pickle: torch.load cannot read it (documented design)",
}


def test_known_are_cases():
    assert set(KNOWN) <= set(cases.CASES)


@pytest.mark.parametrize("name", list(cases.CASES))
def test_state_dicts_and_checkpoints(name):
    check(cases, KNOWN, name)
