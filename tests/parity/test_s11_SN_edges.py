"""Edge semantics against PyTorch (session 11, SN): NaN, inf and -0.0 in reductions, selection,
sorting, clamps, rounding and division; ties in the index-returning functions; zero divisors and
integer overflow; and the gradients at those points. The table is s11_SN_cases.py; each case
compares values (NaN positions too), dtypes, shapes, indices, gradients and exception types.

KNOWN lists the cases where we differ on purpose or cannot follow PyTorch's rule; each must
still differ (an entry that starts to match fails, so that the table stays true).
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("torch")

from parity import check  # noqa: E402
from s11_SN_cases import CASES  # noqa: E402

# Case id -> why we differ. Each must still differ: an entry that starts to match fails.
KNOWN = {
    # (kthvalue's tied / NaN index is PyTorch's quickselect's since session 24, topk's its
    # libstdc++ selection's since s28 BR17: no entries)
    **{f"nanmedian-nan2d-dim{dim}-keep{keep}-float{bits}":
       "index of an all-NaN row's NaN (nth_element's pick)"
       for dim in (1, -1) for keep in (0, 1) for bits in (32, 64)},
    "nanmedian-transposed-nan-dim0": "index of an all-NaN row's NaN (nth_element's pick)",
    # PyTorch's mode sorts with NaN compared as unordered, so its NaN count depends on where
    # the sort leaves each NaN ([nan, nan, 1] gives nan, [1, nan, nan] gives 1).
    **{f"mode-nan2d-dim0-keep{keep}-float{bits}": "mode with NaN"
       for keep in (0, 1) for bits in (32, 64)},
    "unique-nan-dim0": "unique(dim=): PyTorch orders rows holding NaN by unordered comparisons",
}


def _differs(fn, args, options):
    """The mismatch message, or None where deltagrad matches PyTorch."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # (PyTorch warns for N <= correction and the like)
        try:
            check(fn, *args, **options)
        except AssertionError as error:
            return str(error).replace("\n", " ")[:300]
    return None


# One test per family (the id's first word): 2,800 cases as single tests cost 30 s of pytest.
FAMILIES = sorted({case[0].split("-")[0] for case in CASES})


@pytest.mark.parametrize("family", FAMILIES)
def test_edge_semantics_match_torch(family):
    unexpected, stale = [], []
    for name, fn, args, options in CASES:
        if name.split("-")[0] != family:
            continue
        message = _differs(fn, args, options)
        if name in KNOWN:
            if message is None:
                stale.append(name)
        elif message is not None:
            unexpected.append(f"{name}: {message}")
    assert not unexpected, "differs from PyTorch:\n" + "\n".join(unexpected)
    assert not stale, f"KNOWN entries that now match PyTorch (remove them): {stale}"


def test_every_known_entry_names_a_case():
    names = {case[0] for case in CASES}
    assert not set(KNOWN) - names, sorted(set(KNOWN) - names)


def test_case_ids_are_unique():
    names = [case[0] for case in CASES]
    assert len(names) == len(set(names))


def test_searchsorted_with_nan_boundaries_matches_torch_binary_search():
    # Sorted rows with trailing NaN (torch.sort's order), NaN among the values, both sides.
    torch = pytest.importorskip("torch")
    import deltagrad as dg

    rng = np.random.default_rng(11)
    for _ in range(60):
        n = int(rng.integers(1, 8))
        rows = np.sort(rng.integers(0, 5, (2, n)).astype(float), -1)
        rows[:, int(rng.integers(0, n + 1)):] = np.nan
        values = rng.integers(-1, 6, (2, 4)).astype(float)
        values[rng.random(values.shape) < 0.2] = np.nan
        for right in (False, True):
            for seq, vals in ((rows, values), (rows[0], values[0])):
                expected = torch.searchsorted(torch.from_numpy(seq), torch.from_numpy(vals),
                                              right=right).numpy()
                got = dg.searchsorted(dg.tensor(seq), dg.tensor(vals), right=right).numpy()
                np.testing.assert_array_equal(got, expected, err_msg=f"{seq} {vals} {right}")
