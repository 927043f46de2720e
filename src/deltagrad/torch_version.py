"""PyTorch's ``torch.torch_version``: ``TorchVersion``, a version string that compares as a version.

``torch.__version__`` is a ``TorchVersion`` in PyTorch, so programs write
``torch.__version__ >= "2.8"`` or ``torch.__version__ > (2, 1)`` and get a version comparison
(``"2.13" >= "2.8"`` as plain strings is False). The parser covers PEP 440's public form
(``N(.N)*[{a|b|rc}N][.postN][.devN][+local]``); a string outside it compares as a plain string.
"""

from __future__ import annotations

import re
from typing import Any

from .version import __version__ as _version_text

__all__ = ["TorchVersion", "__version__"]

_PEP440 = re.compile(
    r"^\s*v?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre_kind>a|alpha|b|beta|rc|c|pre|preview)[-_.]?(?P<pre_n>\d*))?"
    r"(?:[-_.]?(?:post|rev|r)[-_.]?(?P<post>\d*))?"
    r"(?:[-_.]?dev[-_.]?(?P<dev>\d*))?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$", re.IGNORECASE)
_PRE_ORDER = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "rc": 2, "c": 2, "pre": 2, "preview": 2}
_INF = float("inf")


def _key(text: str) -> tuple | None:
    """A sort key following PEP 440's ordering, or None when ``text`` is not a version."""
    match = _PEP440.match(text)
    if match is None:
        return None
    release = [int(part) for part in match["release"].split(".")]
    while len(release) > 1 and release[-1] == 0:  # 2.1 == 2.1.0
        release.pop()
    dev = None if match["dev"] is None else int(match["dev"] or 0)
    if match["pre_kind"] is not None:
        pre = (_PRE_ORDER[match["pre_kind"].lower()], int(match["pre_n"] or 0))
    elif dev is not None and match["post"] is None:
        pre = (-1, 0)  # 2.0.dev1 sorts before 2.0a1
    else:
        pre = (_INF, 0)
    post = -1 if match["post"] is None else int(match["post"] or 0)
    local = () if match["local"] is None else tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part.lower())
        for part in re.split(r"[-_.]", match["local"]))
    return (tuple(release), pre, post, _INF if dev is None else dev, local)


class TorchVersion(str):
    """A ``str`` whose comparisons with strings, tuples of ints and other versions are
    version comparisons (``TorchVersion("2.13.0") >= "2.8"`` is True).

    Example:
        >>> v = TorchVersion("2.13.0+cpu")
        >>> v >= "2.8", v > (2, 12), v < (3,), v == "2.13.0+cpu"
        (True, True, True, True)
    """

    def _other_key(self, other: Any) -> tuple | None:
        if isinstance(other, (tuple, list)):
            other = ".".join(str(part) for part in other)
        if not isinstance(other, str):
            return None
        return _key(other)

    def _compare(self, other: Any, test) -> bool:
        mine, theirs = _key(str(self)), self._other_key(other)
        if mine is None or theirs is None:
            if isinstance(other, str):
                return test(str(self), str(other))
            return NotImplemented
        return test(mine, theirs)

    def __lt__(self, other: Any) -> bool:
        return self._compare(other, lambda a, b: a < b)

    def __le__(self, other: Any) -> bool:
        return self._compare(other, lambda a, b: a <= b)

    def __gt__(self, other: Any) -> bool:
        return self._compare(other, lambda a, b: a > b)

    def __ge__(self, other: Any) -> bool:
        return self._compare(other, lambda a, b: a >= b)

    def __eq__(self, other: Any) -> bool:
        return self._compare(other, lambda a, b: a == b)

    # NOTE: PyTorch's TorchVersion leaves ``!=`` to ``str`` (so "2.13.0" != "2.13" although
    # they are ==); kept, since programs see PyTorch's answers.
    __ne__ = str.__ne__
    __hash__ = str.__hash__


# What ``torch.__version__`` is in PyTorch: ``torch.version.__version__`` as a TorchVersion.
__version__ = TorchVersion(_version_text)
