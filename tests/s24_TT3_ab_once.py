"""ab.py's base revision imported once per test process, for the tests that call ab.run often.

ab.run imports the base's deltagrad anew on every call (git archive and an import of the whole
package: 0.9-1.2 CPU s each, loaded machine); the smoke tests of test_benchmarks.py and
test_benchmarks_models.py called it eleven times with the same revision. The copy is kept only
while it is still the one Python holds as ``deltagrad_base`` (another test's load_base replaces
it, and then the next call imports again), and a revision that fails still fails each time.
"""

from __future__ import annotations

import sys

_loaded: dict = {}


def patch_load_base(monkeypatch, ab) -> None:
    """Make ``ab.load_base`` (which ab.run calls) reuse this process's copy of a revision."""
    real = ab.load_base

    def load_base_once(revision: str):
        module = _loaded.get(revision)
        if module is None or sys.modules.get(ab.BASE_NAME) is not module:
            module = _loaded[revision] = real(revision)
        return module

    monkeypatch.setattr(ab, "load_base", load_base_once)
