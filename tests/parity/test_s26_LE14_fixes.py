"""Differences from PyTorch that libraries' own suites showed in session 26 (LE14,
tests/programs/test_s26_LE14_suites.py: array-api-compat, autoray, cooper), each run in both
libraries: values, dtypes, memory sharing, warnings and exception classes compared."""

from __future__ import annotations

import array
import inspect
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine import errors

torch = pytest.importorskip("torch")


def _outcome(run):
    """``("ok", dtype name, shape, values)`` or ``("raises", exception class name)``."""
    try:
        r = run()
    except Exception as error:  # noqa: BLE001 - the class is what is compared
        return "raises", type(error).__name__
    return "ok", str(r.dtype).split(".")[-1], tuple(r.shape), r.tolist()


# --------------------------------------------------------------------------------------------
# 1. asarray of an object with the buffer protocol (array.array, bytearray, memoryview, bytes):
# PyTorch reads its bytes as `dtype` (default: the default dtype, whatever the buffer's own
# format) and shares them unless copy=True. deltagrad converted the elements as a sequence (a
# copy, its own dtype: array('i') gave int32 [1, 2], PyTorch float32 bits) and refused
# copy=False (array-api-compat's test_asarray_copy).

_BUFFERS = {
    "array_f": lambda: array.array("f", [1.0, 2.5]),
    "array_i": lambda: array.array("i", [1, 2]),
    "array_d": lambda: array.array("d", [1.0, -3.0]),
    "bytearray4": lambda: bytearray(b"abcd"),
    "bytearray2": lambda: bytearray(b"ab"),
    "empty": lambda: bytearray(),
    "memoryview_2d": lambda: memoryview(np.arange(6.0).reshape(2, 3)),
    "strided_view": lambda: memoryview(bytearray(b"abcdefgh"))[::2],
}


@pytest.mark.parametrize("copy", [None, False, True], ids=["copy_none", "copy_false", "copy_true"])
@pytest.mark.parametrize("dtype", [None, "uint8", "float64", "int16"])
@pytest.mark.parametrize("buffer", list(_BUFFERS))
def test_asarray_of_a_buffer(buffer, dtype, copy):
    def run(L):
        kind = None if dtype is None else getattr(L, dtype)
        return L.asarray(_BUFFERS[buffer](), dtype=kind, copy=copy)

    assert _outcome(lambda: run(dg)) == _outcome(lambda: run(torch))


@pytest.mark.parametrize("copy", [None, False, True], ids=["copy_none", "copy_false", "copy_true"])
def test_asarray_of_a_buffer_shares_its_memory(copy):
    shared = {}
    for L in (dg, torch):
        source = array.array("f", [1.0, 2.0])
        t = L.asarray(source, copy=copy)
        source[0] = 7.0
        shared[L.__name__] = t.tolist()
    assert shared["deltagrad"] == shared["torch"] == ([1.0, 2.0] if copy else [7.0, 2.0])


@pytest.mark.parametrize("case", ["empty", "ragged", "count", "offset"])
def test_frombuffer_errors(case):
    calls = {"empty": lambda L: L.frombuffer(bytearray(), dtype=L.uint8),
             "ragged": lambda L: L.frombuffer(bytearray(b"abc"), dtype=L.int16),
             "count": lambda L: L.frombuffer(bytearray(b"abcd"), dtype=L.uint8, count=2,
                                             offset=1),
             "offset": lambda L: L.frombuffer(bytearray(b"abcd"), dtype=L.int16, offset=2)}
    assert _outcome(lambda: calls[case](dg)) == _outcome(lambda: calls[case](torch))


def test_read_only_buffer_warns_once():
    errors._WARNED_ONCE.discard("frombuffer read-only")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            first = dg.asarray(b"abcd", dtype=dg.uint8)
            dg.frombuffer(b"abcd", dtype=dg.uint8)
        assert first.tolist() == [97, 98, 99, 100]
        texts = [str(w.message) for w in caught]
        assert len(texts) == 1 and texts[0].startswith("The given buffer is not writable")
        assert caught[0].filename == __file__  # (at the caller's line, as PyTorch's)
    finally:
        errors._WARNED_ONCE.discard("frombuffer read-only")


# --------------------------------------------------------------------------------------------
# 2. dir(torch) lists from_dlpack / to_dlpack (deltagrad loads them on first use and listed
# neither: array-api-compat builds its torch namespace from dir() and lacked from_dlpack).

@pytest.mark.parametrize("name", ["from_dlpack", "to_dlpack"])
def test_dir_lists_the_dlpack_functions(name):
    assert (name in dir(dg)) == (name in dir(torch)) == True  # noqa: E712
    assert callable(getattr(dg, name))


def test_dir_leaves_the_lazy_submodules_unloaded():
    # (listing `distributed` would make code that walks dir() import the MPI layer)
    code = ("import sys, deltagrad; d = dir(deltagrad); "
            "print('Tensor' in d, 'deltagrad.distributed' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    assert out.stdout.split() == ["True", "False"]


# --------------------------------------------------------------------------------------------
# 3. Tensor.sparse_mask with a sparse gradient as the mask (Embedding(sparse=True)'s .grad):
# NotImplementedError here (the mask was not a sparse_coo_tensor); cooper's nuPI optimizer.

@pytest.mark.parametrize("coalesce", [False, True], ids=["uncoalesced", "coalesced"])
def test_sparse_mask_by_a_sparse_gradient(coalesce):
    def run(L):
        L.manual_seed(0)
        emb = L.nn.Embedding(10, 3, sparse=True)
        emb(L.tensor([1, 4, 4, 7])).sum().backward()
        mask = emb.weight.grad.coalesce() if coalesce else emb.weight.grad
        m = L.arange(30.0).reshape(10, 3).sparse_mask(mask)
        return m.is_coalesced(), m._indices().tolist(), m._values().tolist()

    assert run(dg) == run(torch)


# --------------------------------------------------------------------------------------------
# 4. torch.linalg's functions take their first argument as `input=` (and NumPy's x= / a= /
# x1=), as PyTorch's argument parser does: TypeError here (autoray's linalg.norm(input=...)).

_SQUARE = [[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]]
_LINALG = {
    "norm": {}, "vector_norm": {}, "matrix_norm": {}, "cond": {}, "matrix_rank": {},
    "pinv": {}, "matrix_exp": {}, "cholesky": {}, "cholesky_ex": {}, "eigh": {},
    "eigvalsh": {}, "eig": {}, "eigvals": {}, "ldl_factor": {}, "ldl_factor_ex": {},
    "tensorinv": {"ind": 1}, "lstsq": {"b": [[1.0], [2.0], [3.0]]},
    "solve_triangular": {"B": [[1.0], [2.0], [3.0]], "upper": True},
    "tensorsolve": {"other": [1.0, 2.0, 3.0]},
    "householder_product": {"tau": [0.5, 0.25]},
}


def _values(result):
    """A linalg result's values as nested lists (complex ones as their real parts and
    imaginary parts), tuples / named tuples field by field."""
    if isinstance(result, tuple):
        return [_values(r) for r in result]
    if result.is_complex():
        return [result.real.tolist(), result.imag.tolist()]
    return result.tolist()


@pytest.mark.parametrize("keyword", ["input", "x", "a", "x1"])
@pytest.mark.parametrize("name", list(_LINALG))
def test_linalg_input_keyword(name, keyword):
    def run(L):
        extra = {k: L.tensor(v, dtype=L.float64) if isinstance(v, list) else v
                 for k, v in _LINALG[name].items()}
        A = L.tensor(_SQUARE, dtype=L.float64)
        try:
            return "ok", _values(getattr(L.linalg, name)(**{keyword: A}, **extra))
        except Exception as error:  # noqa: BLE001 - the class is what is compared
            return "raises", type(error).__name__

    ours, theirs = run(dg), run(torch)
    assert ours[0] == theirs[0] == "ok"
    _close(ours[1], theirs[1])


def _close(ours, theirs) -> None:
    if isinstance(theirs, list) and theirs and isinstance(theirs[0], list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close(a, b)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_linalg_input_keyword_keeps_the_positional_form():
    A = dg.tensor(_SQUARE, dtype=dg.float64)
    assert dg.linalg.norm(A, 2, keepdim=True).tolist() == \
        torch.linalg.norm(torch.tensor(_SQUARE, dtype=torch.float64), 2, keepdim=True).tolist()
    assert dg.linalg.vector_norm(x=A, ord=1).item() == pytest.approx(12.4)
    with pytest.raises(TypeError):
        dg.linalg.norm(A, input=A)
    with pytest.raises(TypeError):
        torch.linalg.norm(torch.tensor(_SQUARE), input=torch.tensor(_SQUARE))
    # (the wrapper keeps the argument spec that getfullargspec gave before it: funsor reads it)
    assert inspect.getfullargspec(dg.linalg.norm).args == ["A", "ord", "dim", "keepdim"]
    assert inspect.getfullargspec(dg.linalg.vector_norm).args == ["x", "ord", "dim", "keepdim"]


# --------------------------------------------------------------------------------------------
# 5. tensor_split takes NumPy's axis= for dim=, as PyTorch does (autoray's split).

@pytest.mark.parametrize("spec", [2, [1, 3]], ids=["sections", "indices"])
@pytest.mark.parametrize("form", ["function", "method"])
def test_tensor_split_axis(spec, form):
    def run(L):
        x = L.arange(24).reshape(4, 6)
        pieces = L.tensor_split(x, spec, axis=1) if form == "function" else \
            x.tensor_split(spec, axis=1)
        return [p.tolist() for p in pieces]

    assert run(dg) == run(torch)
    with pytest.raises(TypeError):
        dg.tensor_split(dg.arange(6), 2, dim=0, axis=0)


# --------------------------------------------------------------------------------------------
# 6. Under the alias a Generator's class names `torch` as its module, as a Tensor's does
# (autoray picks the backend of `rng=` by it: "couldn't find function ... for backend
# 'deltagrad'"); deltagrad's own name comes back when the alias is removed.

def test_generator_module_under_the_alias():
    code = ("import deltagrad, deltagrad.torch_alias as a; a.install(); import torch; "
            "print(type(torch.Generator()).__module__.split('.')[0]); a.uninstall(); "
            "print(deltagrad.Generator.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    assert out.stdout.split() == ["torch", "deltagrad._engine.random"]
