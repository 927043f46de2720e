"""A dtype equals only itself, as PyTorch's: never a NumPy dtype, a NumPy scalar type, a
string or a Python type (DT1, session 27). Differential: each case runs on deltagrad and on
torch and must give the same answer. Libraries branch on these comparisons (scikit-learn's
``array.dtype not in supported_float_dtypes(np)``), and user code's ``if t.dtype == np.float32``
must take the branch it takes under PyTorch."""
from unittest import mock

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

NAMES = ("float16", "float32", "float64", "complex64", "complex128", "uint8", "int8", "int16",
         "int32", "int64", "bool", "bfloat16")

# Objects a dtype might be compared with, by stable id: each a function of the dtype's name.
OTHERS = {
    "numpy-dtype": lambda name: np.dtype(name) if name != "bfloat16" else np.dtype("float32"),
    "numpy-type": lambda name: np.dtype(name).type if name != "bfloat16" else np.float32,
    "string": lambda name: name,
    "torch-string": lambda name: f"torch.{name}",
    "python-complex": lambda name: complex,
    "python-float": lambda name: float,
    "python-int": lambda name: int,
    "python-bool": lambda name: bool,
    "none": lambda name: None,
    "number": lambda name: 1,
    "array": lambda name: np.zeros((), np.float32),
}


def _pair(name):
    return getattr(dg, name), getattr(torch, name)


@pytest.mark.parametrize("other", sorted(OTHERS))
@pytest.mark.parametrize("name", NAMES)
def test_eq_and_ne_with_foreign_objects_match_torch(name, other):
    ours, theirs = _pair(name)
    value = OTHERS[other](name)
    assert (ours == value) == (theirs == value)
    assert (ours != value) == (theirs != value)
    assert (value == ours) == (value == theirs) or other == "numpy-dtype"  # (see below)
    assert (value != ours) == (value != theirs) or other == "numpy-dtype"
    assert ours != value and not (ours == value)


def test_a_numpy_dtype_on_the_left_is_numpys_answer():
    # KNOWN difference: NumPy's dtype == converts the other side (deltagrad's dtypes are NumPy
    # dtype-likes, so that np.zeros(2, dtype=torch.float32) works), so a NumPy dtype *object*
    # compared first answers True here, False in PyTorch: `np.dtype("f4") == torch.float32`,
    # `torch.float32 in [np.dtype("f4")]` (a list compares its item first) and, as the hashes
    # are NumPy's, `in {np.dtype("f4")}`. NumPy scalar types (np.float32), strings and Python
    # types are unaffected.
    f4 = np.dtype("float32")
    assert (f4 == dg.float32, dg.float32 in [f4], dg.float32 in {f4}) == (True, True, True)
    assert (f4 == torch.float32, torch.float32 in [f4], torch.float32 in {f4}) == (False,) * 3


@pytest.mark.parametrize("name", NAMES)
def test_equal_only_to_itself(name):
    ours, theirs = _pair(name)
    same = [n for n in NAMES if getattr(dg, n) == ours]
    assert same == [n for n in NAMES if getattr(torch, n) == theirs] == [name]
    assert not (ours != ours) and ours == ours


def test_aliases_are_the_same_dtype():
    for alias, name in (("float", "float32"), ("double", "float64"), ("half", "float16"),
                        ("long", "int64"), ("int", "int32"), ("short", "int16"),
                        ("cfloat", "complex64"), ("cdouble", "complex128")):
        assert getattr(dg, alias) == getattr(dg, name) and getattr(dg, alias) is getattr(dg, name)
        assert getattr(torch, alias) == getattr(torch, name)


def test_membership_in_sequences_sets_and_dicts():
    for module in (dg, torch):
        f32 = module.float32
        assert f32 not in (np.float32, np.float64)
        assert f32 not in [np.float32, "float32", float, None]
        assert f32 in (module.float64, module.float32) and f32 not in (module.float64,)
        assert f32 in {module.float32} and f32 not in {module.float64, "float32"}
        assert {module.float32: 1, module.float64: 2}[f32] == 1
        assert {np.float32: 1}.get(f32) is None and {"float32": 1}.get(f32) is None
        assert np.float32 not in {f32} and "float32" not in {f32: 0}
        assert [module.int64, module.float32].index(f32) == 1
        assert [np.float32, f32, "float32"].count(f32) == 1


def test_other_objects_decide_equality_themselves():
    # (a dtype answers NotImplemented to objects it does not know, as PyTorch's)
    class Always:
        def __eq__(self, other):
            return "yes"

        __hash__ = object.__hash__

    for module in (dg, torch):
        assert module.float32 == mock.ANY and mock.ANY == module.float32
        assert (module.float32 == Always()) == "yes" and (Always() == module.float32) == "yes"
        assert (module.float32 != Always()) is False


def test_branching_user_code_takes_pytorchs_branch():
    def kind(t, module):
        if t.dtype == np.float32:
            return "numpy"
        return "torch" if t.dtype == module.float32 else "other"

    assert kind(dg.ones(2), dg) == kind(torch.ones(2), torch) == "torch"


def test_numpy_still_takes_a_dtype_where_it_takes_dtypes():
    # (what stays NumPy-like: conversion, not equality)
    assert np.dtype(dg.float32) == np.float32
    assert np.zeros(2, dtype=dg.int64).dtype == np.int64
    assert dg.tensor([1.0]).numpy().dtype == np.float32
