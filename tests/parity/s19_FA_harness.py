"""Checks of session 19's FA case tables (on s12_SM_harness's observation): a case not in
``known`` gives what PyTorch gives; a KNOWN case still differs (so that it comes off once fixed).
Cases in ``cases.NO_RG`` are compared without ``requires_grad`` (forward AD's documented
divergence, autograd/forward_ad.py)."""

from __future__ import annotations

from s12_SM_harness import compare, same


def _without_rg(value):
    if isinstance(value, tuple) and value[:1] == ("tensor",):
        return value[:4] + (None,)
    if isinstance(value, tuple):
        return tuple(_without_rg(v) for v in value)
    if isinstance(value, list):
        return [_without_rg(v) for v in value]
    if isinstance(value, dict):
        return {k: _without_rg(v) for k, v in value.items()}
    return value


def check(cases, known: dict, name: str) -> None:
    # (Warnings are not compared: PyTorch's transforms warn from their own internals, jit's
    # deprecation and fx's, depending on which transform ran first in the process.)
    got, want = compare(cases.CASES[name], name in cases.TEXT, warnings_too=False)
    if name in cases.NO_RG:
        got, want = _without_rg(got), _without_rg(want)
    if name in known:
        assert not same(got, want), (
            f"{name} now matches PyTorch: remove it from KNOWN ({known[name]})")
    else:
        assert same(got, want), f"{name}:\n deltagrad {got}\n PyTorch   {want}"
