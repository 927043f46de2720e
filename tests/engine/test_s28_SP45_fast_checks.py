"""s28 SP45: the cheaper checks in front of this session's correctness fixes give the same
answers as the full ones they skip: sort / argsort(stable=False)'s tie check (sort_ties), topk's
(topk_order), the strides of dims that None adds (ops/indexing._none_strides) and the legacy
constructors' scan for tensors in a list (legacy_tensors._holds_tensor). Each reference below is
the code before SP45 (session 28's tree at ede5133), run on random inputs with and without ties,
NaNs and signed zeros; results compared bit for bit (indices, values' bytes, strides, flags)."""

from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad._engine.api import legacy_tensors, sort_ties, topk_order
from deltagrad._engine.api.sort_orders import first_of_order, order
from deltagrad._engine.ops.indexing import _none_strides


def _old_unstable_order(data, dim, descending, indices):
    # sort_ties.unstable_order before SP45: every call through _tied_rows.
    n = data.shape[dim]
    if n <= sort_ties._THRESHOLD or data.size == 0:
        return indices
    if data.dtype.kind not in "fiu":
        data = data.astype(np.float32)
    elif data.ndim == 1 and not descending and data.dtype.kind != "f" \
            and n >= sort_ties._RADIX_SORT:
        return indices
    rows = np.moveaxis(data, dim, -1).reshape(-1, n)
    chosen = np.moveaxis(indices, dim, -1).reshape(-1, n).copy()
    redo = sort_ties._tied_rows(rows)
    if redo.size == 0 or redo.size * n > sort_ties._LIMIT:
        return indices
    for r in redo:
        pairs = list(zip(sort_ties._ranks(rows[r], descending), range(n)))
        sort_ties._sort(pairs, 0, n)
        chosen[r] = [i for _, i in pairs]
    shape = np.moveaxis(indices, dim, -1).shape
    return np.ascontiguousarray(np.moveaxis(chosen.reshape(shape), -1, dim))


def _old_topk_order(data, dim, k, largest, sorted_, indices):
    # topk_order.pytorch_order before SP45 without its quick check: every row looked at.
    n = data.shape[dim]
    if k == 0 or n < 2 or data.size == 0:
        return indices
    if data.dtype.kind not in "fiu":
        data = data.astype(np.float32)
    unsorted = not sorted_ and k * 64 > n and k > 1
    rows = np.moveaxis(data, dim, -1).reshape(-1, n)
    chosen = np.moveaxis(indices, dim, -1).reshape(-1, k)
    if unsorted:
        redo = np.arange(rows.shape[0])
    else:
        picked = np.take_along_axis(rows, chosen, -1)
        boundary = picked[:, -1:]
        same = (rows == boundary) | (np.isnan(rows) & np.isnan(boundary))
        inner = (picked[:, 1:] == picked[:, :-1]) | (np.isnan(picked[:, 1:])
                                                     & np.isnan(picked[:, :-1]))
        redo = np.flatnonzero(inner.any(-1) | (np.count_nonzero(same, -1) > 1))
    if redo.size == 0 or redo.size * n > topk_order._LIMIT:
        return indices
    chosen = chosen.copy()
    for r in redo:
        chosen[r] = topk_order._row(topk_order._ranks(rows[r], largest), k, sorted_)
    shape = np.moveaxis(indices, dim, -1).shape
    return np.ascontiguousarray(np.moveaxis(chosen.reshape(shape), -1, dim))


def _inputs(seed: int, count: int):
    """(array, dim) pairs: float32 / float64 / float16 / int64 / int32 / uint8, 1-3 dims,
    rows of 2-70 elements, drawn from a wide range (no ties, mostly) or a few values (ties),
    some with NaNs and signed zeros."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        ndim = int(rng.integers(1, 4))
        shape = [int(rng.integers(1, 5)) for _ in range(ndim)]
        dim = int(rng.integers(0, ndim))
        shape[dim] = int(rng.choice([2, 3, 5, 16, 17, 20, 33, 64, 70]))
        dtype = rng.choice(["float32", "float64", "float16", "int64", "int32", "uint8"])
        tied = rng.random() < 0.5
        if dtype.startswith("float"):
            data = rng.standard_normal(shape).astype(dtype)
            if tied:
                data = rng.choice([-1.0, -0.0, 0.0, 2.5], size=shape).astype(dtype)
            if rng.random() < 0.25:
                data.reshape(-1)[rng.integers(0, data.size, 2)] = np.nan
        else:
            high = 6 if tied else 250 if dtype == "uint8" else 10**6
            data = rng.integers(0, high, size=shape).astype(dtype)
        yield data, dim


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sort_unstable_matches_the_full_check(seed):
    for data, dim in _inputs(seed, 120):
        for descending in (False, True):
            stable = order(data, dim, descending)
            expected = _old_unstable_order(data, dim, descending, stable)
            got = sort_ties.unstable_order(data, dim, descending, stable)
            _same(got, expected)
            indices, ranked = sort_ties.unstable_values(data, dim, descending, stable)
            _same(indices, expected)
            if ranked is not None:  # (the values sort keeps: those at the final indices)
                _same(ranked, np.take_along_axis(data, expected, dim))
            values, picked = dg.sort(dg.tensor(data), dim, descending)
            _same(picked.numpy(), expected)
            _same(values.numpy(), np.take_along_axis(data, expected, dim))
            _same(dg.argsort(dg.tensor(data), dim, descending).numpy(), expected)


@pytest.mark.parametrize("seed", [3, 4])
def test_topk_order_matches_the_full_check(seed):
    rng = np.random.default_rng(seed)
    for data, dim in _inputs(seed, 120):
        n = data.shape[dim]
        for k in {1, int(rng.integers(1, n + 1)), n}:
            for largest in (True, False):
                for sorted_ in (True, False):
                    first = first_of_order(data, dim, k, largest)
                    picked = np.take_along_axis(data, first, dim)
                    expected = _old_topk_order(data, dim, k, largest, sorted_, first)
                    got = topk_order.pytorch_order(data, dim, k, largest, sorted_, first,
                                                   picked)
                    _same(got, expected)
                    values, indices = dg.topk(dg.tensor(data), k, dim, largest, sorted_)
                    _same(indices.numpy(), expected)
                    _same(values.numpy(), np.take_along_axis(data, expected, dim))


def _old_none_strides(x, index, out):
    # ops/indexing._none_strides' construction before SP45 (the strides are the same walk).
    new = _none_strides(x, index, out)
    strides = new.strides
    try:
        return np.ndarray(out.shape, out.dtype, out, 0, strides)
    except (TypeError, ValueError, BufferError):
        return np.lib.stride_tricks.as_strided(out, out.shape, strides,
                                               writeable=bool(out.flags.writeable))


_INDICES = {
    "col_none": (slice(None), None),
    "none_first": (None,),
    "ellipsis_none": (Ellipsis, None),
    "none_slice_none_slice": (None, slice(None), None, slice(1, None)),
    "int_none": (1, None),
    "none_step": (None, slice(None, None, 2)),
    "slice_none_int": (slice(1, 3), None, 0),
    "two_none": (slice(None), None, None),
}


@pytest.mark.parametrize("name", sorted(_INDICES))
@pytest.mark.parametrize("view", ["plain", "step", "transposed", "readonly", "expanded"])
def test_none_strides_as_before(name, view):
    base = np.arange(4 * 6, dtype=np.float32).reshape(4, 6)
    x = {"plain": base, "step": base[:, ::2], "transposed": base.T,
         "readonly": base[::-1][::-1], "expanded": np.broadcast_to(base[:1], (4, 6))}[view]
    if view == "readonly":
        x = x.view()
        x.flags.writeable = False
    index = _INDICES[name]
    out = x[index]
    if 0 not in out.strides:
        pytest.skip("no 0 stride: _none_strides is not called")
    got, old = _none_strides(x, index, out), _old_none_strides(x, index, out)
    assert got.shape == old.shape and got.strides == old.strides
    assert got.flags.writeable == old.flags.writeable
    assert np.shares_memory(got, x) and np.array_equal(got, old)
    assert got.__array_interface__["data"][0] == out.__array_interface__["data"][0]
    # and through the tensor: x[index] of a strided tensor gives those strides
    t = dg.tensor(base)
    tv = {"plain": t, "step": t[:, ::2], "transposed": t.t(), "readonly": t,
          "expanded": t[:1].expand(4, 6)}[view]
    assert tv[index].stride() == tuple(s // 4 for s in got.strides)


def _old_holds_tensor(data) -> bool:
    kinds = set(map(type, data))
    if kinds <= legacy_tensors._NUMBERS:
        return False
    if any(issubclass(kind, dg.Tensor) for kind in kinds):
        return True
    return any(_old_holds_tensor(item) for item in data if isinstance(item, (list, tuple)))


_LISTS = {
    "empty": [],
    "floats": [0.5, -1.0, 2.0],
    "ints": [1, 2, 3],
    "mixed": [1, 2.0, True],
    "nested": [[1.0, 2.0], [3.0, 4.0]],
    "tensor_last": [1.0, 2.0, "T"],
    "tensor_nested": [[1.0], ["T"]],
    "bools": [True, False],
    "tuple_tensor": ("T", 1.0),
    "numpy_scalars": [np.float32(1.0), 2.0],
    "ints_then_tensor": [1, 2, "T"],
}


@pytest.mark.parametrize("name", sorted(_LISTS))
def test_holds_tensor_as_before(name):
    def build(item):
        if item == "T":
            return dg.tensor(3.0)
        if isinstance(item, list):
            return [build(i) for i in item]
        return item

    data = _LISTS[name]
    data = tuple(build(i) for i in data) if isinstance(data, tuple) else build(data)
    assert legacy_tensors._holds_tensor(data) == _old_holds_tensor(data)
    np.testing.assert_array_equal(dg.FloatTensor(data).numpy(),
                                  np.array([build_float(i) for i in data], np.float32))


def build_float(item):
    if isinstance(item, dg.Tensor):
        return float(item)
    if isinstance(item, list):
        return [build_float(i) for i in item]
    return item
