"""The pytest functions every program-fuzzer family's test file needs, made once.

A family module (``s19_SL4_families.py`` and later: ``run`` / ``program`` / ``compare`` /
``known`` plus its own ``KNOWN`` list; one ``s17_SL_progfuzz.Family`` from session 27 on) is
tested the same way each time: a fixed sample of seed 0 must show no unreviewed difference,
soak seeds take more programs, the grammar must still draw what the family exists for, and
each reviewed difference keeps a minimised example that must still differ for that entry's
reason (a fixed one fails: delete the entry). ``standard`` returns those four functions; a
test file binds them under the names pytest collects::

    (test_fixed_sample_has_no_unreviewed_difference, test_soak, test_the_new_family_is_drawn,
     test_each_reviewed_difference_still_differs) = family_tests.standard(fuzz, ...)

The file keeps what is its own (its docstring, the needles, the examples, extra tests).
Import this after ``pytest.importorskip("torch")``: the fuzzer's base module needs PyTorch.
"""

import contextlib

import pytest
import s17_SL_progfuzz as base


def standard(family, *, sample, soak_seeds, needles, examples, drawn=80, soak_programs=500,
             unchanged=None, around_example=None, entry_is_predicate=False):
    """The four standard tests of ``family``.

    sample: programs of seed 0 in the default run; soak_seeds: one soak test of
    ``soak_programs`` programs per seed; needles: texts that ``drawn`` programs of seed 7 must
    contain between them; examples: ``{KNOWN entry: minimised lines}``, one per entry.
    unchanged: optional no-argument function whose value the fixed sample must leave as it
    found it (state the family's programs change and must restore); around_example: optional
    ``entry -> context manager`` that an entry's example is compared inside.
    entry_is_predicate: the earlier families' (sessions 19-25) KNOWN entries are predicates
    checked alone: an example must satisfy its entry (rather than ``family.known`` returning
    that entry's reason).
    """
    entries = [entry for entry, _ in family.KNOWN]

    def test_fixed_sample_has_no_unreviewed_difference():
        before = unchanged() if unchanged else None
        failures, _ = family.run(0, sample)
        assert not failures, base.report(failures)
        if unchanged:
            assert unchanged() == before

    @pytest.mark.soak
    @pytest.mark.parametrize("seed", soak_seeds)
    def test_soak(seed):
        failures, _ = family.run(seed, soak_programs)
        assert not failures, base.report(failures)

    def test_the_new_family_is_drawn():
        text = "\n".join(line for i in range(drawn) for line in family.program(7, i))
        for needle in needles:
            assert needle in text, needle
        assert family.program(7, 3) == family.program(7, 3)

    @pytest.mark.parametrize("entry", entries, ids=[entry.__name__ for entry in entries])
    def test_each_reviewed_difference_still_differs(entry):
        lines = examples[entry]
        with around_example(entry) if around_example else contextlib.nullcontext():
            failure = family.compare(lines)
        assert failure is not None, "fixed: delete the KNOWN entry"
        if entry_is_predicate:
            assert entry(lines, failure), failure
        else:
            assert family.known(lines, failure) == dict(family.KNOWN)[entry], failure

    return (test_fixed_sample_has_no_unreviewed_difference, test_soak,
            test_the_new_family_is_drawn, test_each_reviewed_difference_still_differs)
