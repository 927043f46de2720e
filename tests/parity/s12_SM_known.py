"""The tests of session 12's SM case tables: every case matches PyTorch, or is KNOWN.

``check(cases, known, name)``: a case not in ``known`` must give what PyTorch gives (value,
dtypes, shapes, exception class and, for ``text`` cases, message; warnings by category); a
KNOWN case must still differ, so that an entry that stops differing fails and comes off.
"""

from __future__ import annotations

from s12_SM_harness import compare, same


def check(cases, known: dict, name: str) -> None:
    got, want = compare(cases.CASES[name], name in cases.TEXT)
    if name in known:
        assert not same(got, want), (
            f"{name} now matches PyTorch: remove it from KNOWN ({known[name]})")
    else:
        assert same(got, want), f"{name}:\n deltagrad {got}\n PyTorch   {want}"
