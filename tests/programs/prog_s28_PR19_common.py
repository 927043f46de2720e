"""PR19's helpers (session 28): the checks test suites of libraries built on PyTorch write,
each printing its outcome so that the two runs' outputs can be compared as text.

``expect`` is ``pytest.raises(kind, match=...)`` around a call, ``warns`` is ``pytest.warns``;
both print ``ok`` or what went wrong (pytest's own failure, or an exception of another class).
``said`` prints an exception's class (the nearest built-in one the test names) and whether a
regex matches. The regexes are the key phrases of PyTorch 2.13's messages, as suites write them.
"""

import re
import warnings

import pytest


def expect(label: str, kind, match, call) -> None:
    """``with pytest.raises(kind, match=match): call()``, its outcome printed."""
    try:
        with pytest.raises(kind, match=match):
            call()
        print(label, "ok")
    except BaseException as error:  # (pytest's Failed is a BaseException; another class too)
        print(label, "FAILED", type(error).__name__, str(error).splitlines()[0][:160])


def said(label: str, call, *patterns: str) -> None:
    """The class names a suite's ``except`` would test (RuntimeError / ValueError / TypeError /
    IndexError / AssertionError / NotImplementedError, each True or False) and each pattern's
    ``re.search`` outcome."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - what a suite's except clause sees
        kinds = [k.__name__ for k in (RuntimeError, ValueError, TypeError, IndexError,
                                      AssertionError, NotImplementedError, KeyError)
                 if isinstance(error, k)]
        found = [bool(re.search(p, str(error))) for p in patterns]
        print(label, "raised", "/".join(kinds), found)
        return
    print(label, "no exception")


def warns(label: str, category, match, call) -> None:
    """``with pytest.warns(category, match=match): call()``, its outcome printed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            with pytest.warns(category, match=match):
                call()
        print(label, "warns ok")
    except BaseException as error:  # noqa: BLE001
        print(label, "FAILED", type(error).__name__, str(error).splitlines()[0][:160])


def quiet(label: str, call) -> None:
    """The call must not warn (a suite's ``warnings.simplefilter("error")`` block)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            call()
            print(label, "quiet")
        except Warning as warning:
            print(label, "WARNED", type(warning).__name__, str(warning)[:100])


def text(error: BaseException, lines: int = 8) -> str:
    """An AssertionError's text as suites print it (its first lines, right-stripped)."""
    return "\n".join(line.rstrip() for line in str(error).splitlines()[:lines])
