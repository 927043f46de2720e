"""An OpInfo-style differential sweep of indexing, assignment and views against PyTorch.

Each case is ``fn(m)``, run with ``m = deltagrad`` and ``m = torch`` from the same NumPy data;
values, dtypes, shapes, gradients, whether a result aliases its input (checked by writing
through one and reading the other) and exception classes must agree (``s11_SX_harness``).

Families: ``__getitem__`` (ints, negative ints, stepped slices, None, Ellipsis, bool masks of
every rank, integer tensors and lists with duplicates, advanced indices beside basic ones, 0-d
tensors, out-of-range indices) with gradients and aliasing; ``__setitem__`` with the same
indices (values and gradients to the base and to the value); ``index_put_`` (accumulate,
duplicates), ``index_add_`` / ``index_copy_`` / ``index_fill_`` / ``masked_fill_`` /
``masked_scatter_`` / ``scatter_`` / ``scatter_add_`` / ``scatter_reduce_`` (every reduce,
``include_self``); the view functions (aliasing both ways, gradients through an in-place
change of a view, the "modified by an inplace operation" error, in-place on an expanded
tensor); ``p -= lr * p.grad`` under no_grad; out-of-range ``dim`` on every reduction; bitwise
and shift operators on every integer dtype (negative shifts, shifts past the width, overflow).

``KNOWN`` lists deliberate differences, each with its reason; a listed case that stops
differing fails, so the table cannot go stale.
"""

from __future__ import annotations

import operator

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from s11_SX_harness import classify  # noqa: E402

RNG = np.random.default_rng(11)
X = np.round(RNG.standard_normal((3, 4, 5)), 3)  # float64, distinct values
X2 = np.round(RNG.standard_normal((4, 5)), 3)
INTS = {name: (np.arange(-30, 30) % 97).astype(name).reshape(3, 4, 5)
        for name in ("uint8", "int8", "int16", "int32", "int64")}
BOOLS = RNG.standard_normal((3, 4, 5)) > 0


def _cot(m, shape, dtype):
    """A deterministic cotangent of ``shape`` (the same in both libraries)."""
    n = int(np.prod(shape))
    return m.tensor((np.arange(n) % 7 + 1.0).reshape(shape) / 4.0, dtype=dtype)


def _index(m, spec):
    """Build an index from a spec: ("t", array) is a tensor, tuples / lists recursively."""
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str) \
            and spec[0] == "t":
        return m.tensor(spec[1])
    if isinstance(spec, tuple):
        return tuple(_index(m, s) for s in spec)
    return spec


def T(array):
    return ("t", np.asarray(array))


# ----------------------------------------------------------------------------------------------
# Indices for a (3, 4, 5) tensor.

INDICES = {
    "int": 1, "neg int": -1, "int int": (1, -2), "int int int": (0, 3, -5), "neg all": (-3,),
    "int oob": 3, "int neg oob": -4, "second int oob": (0, 4), "third int oob": (0, 0, -6),
    "too many": (0, 0, 0, 0),
    "slice": slice(1, None), "slice step": slice(None, None, 2), "slice neg start": slice(-2, None),
    "slice empty": slice(5, 10), "slice past end": slice(1, 100), "slice neg step":
        slice(None, None, -1), "slice zero step": slice(None, None, 0),
    "slice slice": (slice(None), slice(1, 3)),
    "slice step 3 last": (Ellipsis, slice(None, None, 3)),
    "slice reversed bounds": slice(2, 1),
    "None": None, "None int": (None, 0), "ellipsis None": (Ellipsis, None),
    "int None slice None": (0, None, slice(None), None),
    "ellipsis": Ellipsis, "ellipsis int": (Ellipsis, 1), "int ellipsis int": (1, Ellipsis, 2),
    "two ellipses": (Ellipsis, Ellipsis),
    "True": True, "False": False, "True int": (True, 1), "bool0 tensor": T(True),
    "bool0 tensor false": T(False),
    "mask1": T(np.array([True, False, True])), "mask2": T(BOOLS[:, :, 0]), "mask3": T(BOOLS),
    "mask all false": T(np.zeros(3, bool)), "mask wrong len": T(np.array([True, False])),
    "slice mask2": (slice(None), T(BOOLS[0])), "mask1 slice int": (T(np.array([True, False,
                                                                               True])), 0),
    "ellipsis mask1": (Ellipsis, T(np.array([True, False, True, True, False]))),
    "int tensor dups": T([0, 2, 0]), "int tensor 2d": T([[0, 1], [2, 2]]),
    "int tensor neg": T([-1, 0]), "list dups": [0, 0, 1], "list 2d": [[0, 1], [1, 2]],
    "list neg": [-3, 2], "empty list": [], "empty int tensor": T(np.zeros(0, np.int64)),
    "two tensors": (T([0, 2]), T([1, 3])), "tensors broadcast": (T([[0], [2]]), T([1, 3])),
    "separated advanced": (T([0, 2]), slice(None), T([1, 4])),
    "adjacent advanced": (slice(None), T([0, 3]), T([1, 4])),
    "int beside tensor": (0, slice(None), T([1, 4])),
    "int then tensor": (1, T([0, 3])), "tensor ellipsis tensor": (T([0, 1]), Ellipsis,
                                                                    T([2, 3])),
    "tensor None tensor": (T([0, 1]), None, T([2, 3])),
    "tensor slice step": (T([2, 0]), slice(None, None, 2)),
    "int32 tensor": T(np.array([2, 0], np.int32)), "int8 tensor": T(np.array([1], np.int8)),
    "0d int tensor": T(np.int64(1)), "0d int tensors": (T(np.int64(1)), T(np.int64(2))),
    "int then 0d tensor": (0, T(np.int64(-1))), "0d tensor slice": (T(np.int64(2)), slice(1, 3)),
    "tensor oob": T([0, 3]), "tensor neg oob": T([-4]), "second tensor oob": (0, T([4])),
    "float tensor": T(np.array([0.0, 1.0])), "float number": 1.0, "string": "a",
    "mask and tensor": (T(np.array([True, False, True])), T([1, 2])),
    "tuple in list": [(0, 1), (1, 2)],
}

GETITEM_CASES = {}
for _name, _spec in INDICES.items():
    def _getitem(m, spec=_spec):
        x = m.tensor(X, requires_grad=True)
        y = x[_index(m, spec)]
        y.backward(_cot(m, y.shape, y.dtype))
        return y, x.grad
    GETITEM_CASES[f"getitem {_name}"] = _getitem

    def _alias(m, spec=_spec):
        # Whether the result shares memory with the tensor: write into the tensor, read back.
        x = m.tensor(X)
        y = x[_index(m, spec)]
        before = y.clone()
        x.add_(100.0)
        return bool((y != before).any()) if y.numel() else None
    GETITEM_CASES[f"getitem alias {_name}"] = _alias

for _dtype in ("uint8", "int8", "int16", "int32", "int64", "bool"):
    for _name in ("neg int", "slice step", "mask2", "int tensor dups", "separated advanced",
                  "0d int tensor", "None int", "tensor oob"):
        def _int_getitem(m, spec=INDICES[_name], dtype=_dtype):
            x = m.tensor(BOOLS if dtype == "bool" else INTS[dtype])
            return x[_index(m, spec)]
        GETITEM_CASES[f"getitem {_dtype} {_name}"] = _int_getitem


SETITEM_SKIP = {"int tensor dups", "list dups", "int tensor 2d", "list 2d", "tuple in list"}
SETITEM_CASES = {}
for _name, _spec in INDICES.items():
    for _value in ("scalar", "tensor", "0d tensor", "wrong shape"):
        if _value == "tensor" and _name in SETITEM_SKIP:
            continue  # (duplicate positions written with different values: unspecified order)

        def _setitem(m, spec=_spec, value=_value):
            leaf = m.tensor(X, requires_grad=True)
            x = leaf * 1.0
            index = _index(m, spec)
            shape = tuple(x.detach()[index].shape)
            if value == "scalar":
                v = 7.5
            elif value == "0d tensor":
                v = m.tensor(2.5, dtype=m.float64, requires_grad=True)
            elif value == "wrong shape":
                v = m.ones(7, dtype=m.float64, requires_grad=True)
            else:
                v = m.tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape) + 0.5,
                             requires_grad=True)
            x[index] = v
            x.backward(_cot(m, x.shape, x.dtype))
            return x, leaf.grad, (v.grad if isinstance(v, m.Tensor) else None)
        SETITEM_CASES[f"setitem {_name} {_value}"] = _setitem

for _dtype in ("uint8", "int8", "int32", "int64", "bool"):
    for _name in ("slice step", "mask2", "int tensor neg", "separated advanced"):
        for _value in (1, -1, 300, 2.7, True):
            def _int_setitem(m, spec=INDICES[_name], dtype=_dtype, value=_value):
                x = m.tensor(BOOLS if dtype == "bool" else INTS[dtype])
                x[_index(m, spec)] = value
                return x
            SETITEM_CASES[f"setitem {_dtype} {_name} {_value}"] = _int_setitem

# A tensor value of another dtype: cast for basic indices (copy_), refused or cast for advanced
# ones (index_put_), as PyTorch decides.
for _base in ("float32", "int64", "uint8", "bool"):
    for _vdtype in ("float64", "int32", "bool", "float16"):
        for _name in ("int", "slice step", "mask2", "int tensor neg", "separated advanced",
                      "0d int tensor"):
            def _cross_dtype(m, spec=INDICES[_name], base=_base, vdtype=_vdtype):
                x = m.tensor(BOOLS if base == "bool" else INTS["int64"].astype(base))
                index = _index(m, spec)
                shape = tuple(x[index].shape)
                v = m.tensor((np.arange(np.prod(shape)).reshape(shape) % 3).astype(vdtype))
                x[index] = v
                return x
            SETITEM_CASES[f"setitem {_base} {_name} with {_vdtype} tensor"] = _cross_dtype

for _vshape in ((), (1,), (1, 1)):
    for _iname, _ispec in (("int tensor", T([0, 2])), ("lone mask", T(np.array([True, False,
                                                                                True]))),
                           ("mask in tuple", (T(np.array([True, False, True])),)),
                           ("slice and tensor", (slice(None), T([1]))), ("list", [0, 2]),
                           ("mask and int", (T(np.array([True, False, True])), 1)),
                           ("int and mask", (1, T(np.array([True, False, True, True])))),
                           ("mask and slice", (T(np.array([True, False, True])), slice(1, 3))),
                           ("slice and mask", (slice(1, 3), T(np.array([True, False, True,
                                                                        True])))),
                           ("None and mask", (None, T(np.array([True, False, True])))),
                           ("ellipsis and mask", (Ellipsis, T(np.array([True, False, True,
                                                                        True])))),
                           ("two masks", (T(np.array([True, False, True])),
                                          T(np.array([True, False, False, False])))),
                           ("0d int and mask", (T(np.int64(1)), T(np.array([True, False, True,
                                                                           True]))))):
        def _small_value(m, spec=_ispec, vshape=_vshape):
            x = m.zeros(3, 4)
            x[_index(m, spec)] = m.ones(vshape, dtype=m.float64) * 2
            return x
        SETITEM_CASES[f"setitem float32 {_iname} with float64 {_vshape}"] = _small_value

# ----------------------------------------------------------------------------------------------
# The index_* / masked_* / scatter_* family. Each case: in place on a non-leaf copy of a leaf
# that requires grad (gradients to it and to the source), and the out-of-place form.

IDX = np.array([0, 2, 0])  # (duplicates)
IDX_UNIQUE = np.array([2, 0])
SCATTER_INDEX = np.array([[0, 1, 0, 2, 0], [2, 2, 1, 0, 0]])
MASK = X2 > 0


def _leafy(m, array):
    leaf = m.tensor(array, requires_grad=True)
    return leaf, leaf * 1.0


def _finish(m, out, *leaves):
    out.backward(_cot(m, out.shape, out.dtype))
    return (out,) + tuple(leaf.grad for leaf in leaves)


def _src(m, shape, offset=0.25):
    return m.tensor(np.arange(np.prod(shape), dtype=np.float64).reshape(shape) / 3 + offset,
                    requires_grad=True)


FAMILY = {}


def _family(name):
    def register(fn):
        FAMILY[name] = fn
        return fn
    return register


for _acc in (False, True):
    for _iname, _ix in (("dups", (IDX, np.array([1, 1, 1]))), ("unique", (IDX_UNIQUE,
                                                                          np.array([3, 4]))),
                        ("bool", (MASK,)), ("neg", (np.array([-1, -4]), np.array([0, -1]))),
                        ("oob", (np.array([4]), np.array([0]))),
                        ("broadcast value", (IDX_UNIQUE,))):
        if _iname == "dups" and not _acc:
            continue  # (which duplicate wins is unspecified in PyTorch)

        @_family(f"index_put_ {_iname} accumulate={_acc}")
        def _index_put(m, ix=_ix, acc=_acc, iname=_iname):
            leaf, x = _leafy(m, X2)
            indices = tuple(m.tensor(i) for i in ix)
            if iname == "bool":
                shape = (int(MASK.sum()),)
            elif iname == "broadcast value":
                shape = (5,)
            else:
                shape = (len(ix[0]),)
            v = _src(m, shape)
            x.index_put_(indices, v, accumulate=acc)
            return _finish(m, x, leaf, v)

        @_family(f"index_put {_iname} accumulate={_acc}")
        def _index_put_out(m, ix=_ix, acc=_acc):
            x = m.tensor(X2, requires_grad=True)
            indices = tuple(m.tensor(i) for i in ix)
            shape = tuple(x.detach()[indices].shape)
            v = _src(m, shape[:1] if len(ix) == 2 else shape)
            return _finish(m, x.index_put(indices, v, accumulate=acc), x, v)

for _dim in (0, 1, -1, -2, 2, -3):
    @_family(f"index_add_ dim={_dim}")
    def _index_add(m, dim=_dim):
        leaf, x = _leafy(m, X2)
        n = X2.shape[dim] if -2 <= dim <= 1 else 1
        index = m.tensor(IDX % n if -2 <= dim <= 1 else IDX)
        shape = list(X2.shape)
        shape[dim if -2 <= dim <= 1 else 0] = 3
        src = _src(m, shape)
        x.index_add_(dim, index, src, alpha=-2.0)
        return _finish(m, x, leaf, src)

    @_family(f"index_copy_ dim={_dim}")
    def _index_copy(m, dim=_dim):
        leaf, x = _leafy(m, X2)
        index = m.tensor(IDX_UNIQUE)
        shape = list(X2.shape)
        shape[dim if -2 <= dim <= 1 else 0] = 2
        src = _src(m, shape)
        x.index_copy_(dim, index, src)
        return _finish(m, x, leaf, src)

    @_family(f"index_fill_ dim={_dim}")
    def _index_fill(m, dim=_dim):
        leaf, x = _leafy(m, X2)
        x.index_fill_(dim, m.tensor(IDX), -3.0)
        return _finish(m, x, leaf)

    @_family(f"index_select dim={_dim}")
    def _index_select(m, dim=_dim):
        x = m.tensor(X2, requires_grad=True)
        return _finish(m, x.index_select(dim, m.tensor(IDX)), x)

    @_family(f"gather dim={_dim}")
    def _gather(m, dim=_dim):
        x = m.tensor(X2, requires_grad=True)
        index = m.tensor(np.array([[0, 1, 0], [3, 3, 1]]) % 4)
        return _finish(m, x.gather(dim, index), x)

for _fill in ("scalar", "0d tensor", "1d tensor", "int mask", "broadcast mask", "bad mask shape"):
    @_family(f"masked_fill_ {_fill}")
    def _masked_fill(m, fill=_fill):
        leaf, x = _leafy(m, X2)
        mask = m.tensor(MASK)
        value = -1.5
        leaves = [leaf]
        if fill == "0d tensor":
            value = m.tensor(4.0, dtype=m.float64, requires_grad=True)
            leaves.append(value)
        elif fill == "1d tensor":
            value = m.tensor([4.0], dtype=m.float64, requires_grad=True)
        elif fill == "int mask":
            mask = m.tensor(MASK.astype(np.int64))
        elif fill == "broadcast mask":
            mask = m.tensor(MASK[:1])
        elif fill == "bad mask shape":
            mask = m.tensor(MASK[:, :2])
        x.masked_fill_(mask, value)
        return _finish(m, x, *leaves)

for _case in ("exact", "longer source", "short source", "broadcast mask"):
    @_family(f"masked_scatter_ {_case}")
    def _masked_scatter(m, case=_case):
        leaf, x = _leafy(m, X2)
        mask = MASK[:1] if case == "broadcast mask" else MASK
        count = int(np.broadcast_to(mask, X2.shape).sum())
        n = {"exact": count, "longer source": count + 3, "short source": count - 1,
             "broadcast mask": count}[case]
        src = _src(m, (n,))
        x.masked_scatter_(m.tensor(mask), src)
        return _finish(m, x, leaf, src)

    @_family(f"masked_select {_case}")
    def _masked_select(m, case=_case):
        x = m.tensor(X2, requires_grad=True)
        mask = MASK[:1] if case == "broadcast mask" else MASK
        return _finish(m, x.masked_select(m.tensor(mask)), x)

for _dim in (0, 1, -1):
    @_family(f"scatter_ src dim={_dim}")
    def _scatter(m, dim=_dim):
        leaf, x = _leafy(m, X2)
        index = m.tensor(np.array([[0, 1, 2, 3, 0], [1, 2, 3, 0, 2]]) % X2.shape[dim])
        src = _src(m, (2, 5))
        if dim == 0:  # (unique positions along dim 0: each column's rows differ)
            index = m.tensor(np.array([[0, 1, 2, 3, 0], [1, 2, 3, 0, 2]]))
        x.scatter_(dim, index[:, :4] if dim else index, src)
        return _finish(m, x, leaf, src)

    @_family(f"scatter_ value dim={_dim}")
    def _scatter_value(m, dim=_dim):
        leaf, x = _leafy(m, X2)
        index = m.tensor(SCATTER_INDEX % X2.shape[dim])
        x.scatter_(dim, index, 9.0)
        return _finish(m, x, leaf)

    @_family(f"scatter_add_ dim={_dim}")
    def _scatter_add(m, dim=_dim):
        leaf, x = _leafy(m, X2)
        src = _src(m, (2, 5))
        x.scatter_add_(dim, m.tensor(SCATTER_INDEX % X2.shape[dim]), src)
        return _finish(m, x, leaf, src)

    for _reduce in ("add", "multiply"):
        @_family(f"scatter_ reduce={_reduce} dim={_dim}")
        def _scatter_reduce_old(m, dim=_dim, reduce=_reduce):
            x = m.tensor(X2)
            src = m.tensor(np.arange(10.0).reshape(2, 5) / 3 + 0.25)
            return x.scatter_(dim, m.tensor(SCATTER_INDEX % X2.shape[dim]), src, reduce=reduce)

    for _reduce in ("sum", "prod", "mean", "amax", "amin"):
        for _self in (True, False):
            @_family(f"scatter_reduce {_reduce} include_self={_self} dim={_dim}")
            def _scatter_reduce(m, dim=_dim, reduce=_reduce, include_self=_self):
                x = m.tensor(X2, requires_grad=True)
                src = _src(m, (2, 5), offset=-1.0)
                out = x.scatter_reduce(dim, m.tensor(SCATTER_INDEX % X2.shape[dim]), src,
                                       reduce, include_self=include_self)
                return _finish(m, out, x, src)

            @_family(f"scatter_reduce_ int64 {_reduce} include_self={_self} dim={_dim}")
            def _scatter_reduce_int(m, dim=_dim, reduce=_reduce, include_self=_self):
                x = m.tensor(INTS["int64"][0, :4] - 20)
                src = m.tensor(np.arange(-5, 5).reshape(2, 5))
                return x.scatter_reduce_(dim, m.tensor(SCATTER_INDEX % 4), src, reduce,
                                         include_self=include_self)

for _reduce in ("prod", "mean", "amax", "amin"):
    for _self in (True, False):
        @_family(f"index_reduce {_reduce} include_self={_self}")
        def _index_reduce(m, reduce=_reduce, include_self=_self):
            x = m.tensor(X2, requires_grad=True)
            src = _src(m, (3, 5), offset=-2.0)
            out = x.index_reduce(0, m.tensor(IDX), src, reduce, include_self=include_self)
            return _finish(m, out, x, src)

        @_family(f"index_reduce_ int64 {_reduce} include_self={_self}")
        def _index_reduce_int(m, reduce=_reduce, include_self=_self):
            x = m.tensor(INTS["int64"][0] - 20)
            src = m.tensor(np.arange(-7, 8).reshape(3, 5))
            return x.index_reduce_(0, m.tensor(IDX), src, reduce, include_self=include_self)

SCATTERS = {
    "select_scatter": lambda m, x, s: m.select_scatter(x, s[0], 1, -2),
    "slice_scatter": lambda m, x, s: m.slice_scatter(x, s[:, :2], 1, 1, 5, 2),
    "slice_scatter default": lambda m, x, s: m.slice_scatter(x, s),
    "diagonal_scatter": lambda m, x, s: m.diagonal_scatter(x, s[0, :4], 1),
    "diagonal_scatter neg": lambda m, x, s: m.diagonal_scatter(x, s[0, :3], -1, 1, 0),
    "as_strided_scatter": lambda m, x, s: m.as_strided_scatter(x, s[:2, :2], (2, 2), (5, 1)),
    "narrow_copy": lambda m, x, s: x.narrow_copy(1, 1, 3) + s[:, :3],
    "index_put with None": lambda m, x, s: x[None, m.tensor([0, 1])] * s[:2],
}
for _name, _fn in SCATTERS.items():
    @_family(_name)
    def _scatter_fn(m, fn=_fn):
        x = m.tensor(X2, requires_grad=True)
        src = _src(m, (4, 5))
        return _finish(m, fn(m, x, src), x, src)

for _bad in ("index oob", "index neg", "float index", "dim oob", "index ndim"):
    @_family(f"scatter_add_ {_bad}")
    def _scatter_bad(m, bad=_bad):
        x = m.tensor(X2)
        index = {"index oob": np.array([[4]]), "index neg": np.array([[-1]]),
                 "float index": np.array([[0.0]]), "dim oob": np.array([[0]]),
                 "index ndim": np.array([0])}[bad]
        dim = 2 if bad == "dim oob" else 0
        return x.scatter_add_(dim, m.tensor(index), m.ones(1, 1, dtype=m.float64))

    @_family(f"index_add_ {_bad}")
    def _index_add_bad(m, bad=_bad):
        x = m.tensor(X2)
        index = {"index oob": np.array([4]), "index neg": np.array([-1]),
                 "float index": np.array([0.0]), "dim oob": np.array([0]),
                 "index ndim": np.array([[0]])}[bad]
        dim = 2 if bad == "dim oob" else 0
        return x.index_add_(dim, m.tensor(index), m.ones(1, 5, dtype=m.float64))

EXTRA = {
    # `x[i] += v` with a repeated position: one read, one write (no accumulation), as PyTorch.
    "iadd dup list": lambda m: _iadd(m, [0, 0, 2]),
    "iadd dup tensor grad": lambda m: _iadd(m, ("t", np.array([1, 1])), grad=True),
    "iadd mask": lambda m: _iadd(m, ("t", MASK), grad=True),
    "setitem mask tensor value grad": lambda m: _set_mask(m),
    "index_put_ short mask": lambda m: m.tensor(X2).index_put_(
        (m.tensor(np.array([True, False])),), m.tensor(1.0, dtype=m.float64)),
    "index_put_ mask over two dims": lambda m: m.tensor(X).index_put_(
        (m.tensor(BOOLS[:, :, 0]),), m.tensor(1.0, dtype=m.float64)),
    "index_put_ wrong second mask dim": lambda m: m.tensor(X).index_put_(
        (m.tensor(BOOLS[:, :2, 0]),), m.tensor(1.0, dtype=m.float64)),
    "index_put_ int32 indices": lambda m: m.tensor(X2).index_put_(
        (m.tensor(np.array([0, 1], np.int32)),), m.tensor(1.0, dtype=m.float64)),
    "index_put_ bool accumulate": lambda m: m.tensor(X2).index_put_(
        (m.tensor(MASK),), m.tensor(2.0, dtype=m.float64), accumulate=True),
    "index_add_ int64": lambda m: m.tensor(INTS["int64"][0]).index_add_(
        0, m.tensor(IDX), m.ones(3, 5, dtype=m.int64), alpha=3),
    "index_add_ int64 float alpha": lambda m: m.tensor(INTS["int64"][0]).index_add_(
        0, m.tensor(IDX), m.ones(3, 5, dtype=m.int64), alpha=0.5),
    "index_add_ source dtype": lambda m: m.tensor(X2).index_add_(
        0, m.tensor(IDX), m.ones(3, 5, dtype=m.float32)),
    "scatter_add_ int32": lambda m: m.tensor(INTS["int32"][0]).scatter_add_(
        0, m.tensor(SCATTER_INDEX), m.ones(2, 5, dtype=m.int32)),
    "scatter_ int with float value": lambda m: m.tensor(INTS["int64"][0]).scatter_(
        0, m.tensor(SCATTER_INDEX), 2.7),
    "masked_fill_ int with float": lambda m: m.tensor(INTS["int64"][0]).masked_fill_(
        m.tensor(BOOLS[0]), 2.7),
    "masked_fill_ bool with int": lambda m: m.tensor(BOOLS[0]).masked_fill_(
        m.tensor(BOOLS[1]), 0),
    "masked_fill_ uint8 with -1": lambda m: m.tensor(INTS["uint8"][0]).masked_fill_(
        m.tensor(BOOLS[0]), -1),
    "masked_fill_ int8 with 300": lambda m: m.tensor(INTS["int8"][0]).masked_fill_(
        m.tensor(BOOLS[0]), 300),
    "index_fill_ bool": lambda m: m.tensor(BOOLS[0]).index_fill_(1, m.tensor(IDX), True),
    "index_fill_ int 0d tensor value": lambda m: m.tensor(INTS["int32"][0]).index_fill_(
        1, m.tensor(IDX), m.tensor(5)),
    "take": lambda m: _finish(m, *_take(m)),
    "take oob": lambda m: m.tensor(X2).take(m.tensor([20])),
    "take_along_dim": lambda m: m.tensor(X2).take_along_dim(m.tensor(SCATTER_INDEX % 4), 0),
    "put_ accumulate": lambda m: m.tensor(X2).put_(m.tensor([0, 0, 19]),
                                                    m.tensor([1.0, 2.0, 3.0], dtype=m.float64),
                                                    accumulate=True),
    "index_select 0d index": lambda m: m.tensor(X2).index_select(0, m.tensor(1)),
    "index_select int32 index": lambda m: m.tensor(X2).index_select(
        1, m.tensor(np.array([4, 0], np.int32))),
    "index_select uint8 index": lambda m: m.tensor(X2).index_select(
        1, m.tensor(np.array([4, 0], np.uint8))),
    **{f"{name} {dtype} index": (lambda m, name=name, dtype=dtype: _index_dtype(m, name, dtype))
       for name in ("index_select", "index_add", "index_copy", "index_fill", "index_put",
                    "gather", "scatter_add", "take")
       for dtype in ("uint8", "int8", "int16", "int32", "int64")},
    "index_add int64 alpha -1.5": lambda m: m.tensor(INTS["int64"][0]).index_add(
        0, m.tensor(IDX), m.ones(3, 5, dtype=m.int64) * 3, alpha=-1.5),
    "gather int32 index": lambda m: m.tensor(X2).gather(
        1, m.tensor(np.array([[0, 4]] * 4, np.int32))),
    "gather oob": lambda m: m.tensor(X2).gather(1, m.tensor(np.array([[5]] * 4))),
    "operator.index bool": lambda m: (operator.index(m.tensor(True)),
                                      operator.index(m.tensor(np.array([False])))),
    "operator.index int8": lambda m: operator.index(m.tensor(np.int8(-3))),
    "operator.index float": lambda m: operator.index(m.tensor(1.0)),
    "operator.index two": lambda m: operator.index(m.tensor([1, 2])),
    "list indexed by bool tensor": lambda m: [10, 20, 30][m.tensor(True)],
    "getitem 0d tensor of 0d": lambda m: m.tensor(2.5)[None],
    "getitem 0d ellipsis": lambda m: m.tensor(2.5)[...],
    "getitem 0d int": lambda m: m.tensor(2.5)[0],
    "getitem 0d mask": lambda m: m.tensor(2.5)[m.tensor(True)],
    "setitem 0d": lambda m: _set0d(m),
    "version counts": lambda m: _versions(m),
    "view of int in place": lambda m: _int_view(m),
}


def _iadd(m, spec, grad=False):
    leaf = m.tensor(X2, requires_grad=grad)
    x = leaf * 1.0
    index = _index(m, spec)
    x[index] += m.tensor(np.arange(1.0, 1.0 + x[index].numel()).reshape(x[index].shape))
    if grad:
        x.backward(_cot(m, x.shape, x.dtype))
        return x, leaf.grad
    return x


def _index_dtype(m, name, dtype):
    x = m.tensor(X2)
    index = m.tensor(np.array([1, 0], dtype=dtype))
    if name == "index_select":
        return x.index_select(1, index)
    if name == "index_add":
        return x.index_add(0, index, m.ones(2, 5, dtype=m.float64))
    if name == "index_copy":
        return x.index_copy(0, index, m.ones(2, 5, dtype=m.float64))
    if name == "index_fill":
        return x.index_fill(1, index, -1.0)
    if name == "index_put":
        return x.index_put((index,), m.tensor(-1.0, dtype=m.float64))
    if name == "gather":
        return x.gather(1, index.reshape(1, 2))
    if name == "scatter_add":
        return x.scatter_add(1, index.reshape(1, 2), m.ones(1, 2, dtype=m.float64))
    return x.take(index)


def _set_mask(m):
    leaf = m.tensor(X2, requires_grad=True)
    x = leaf * 1.0
    v = m.tensor(np.arange(float(MASK.sum())), requires_grad=True)
    x[m.tensor(MASK)] = v
    return _finish(m, x, leaf, v)


def _take(m):
    x = m.tensor(X2, requires_grad=True)
    return x.take(m.tensor([[0, -1], [19, 0]])), x


def _set0d(m):
    x = m.tensor(2.5)
    x[...] = 4.0
    y = m.tensor(1.5)
    y[None] = 3.0
    z = m.tensor(0.5)
    z[()] = 1.0
    return x, y, z


def _versions(m):
    x = m.tensor(X2)
    v = x[0]
    counts = [x._version]
    x.add_(1.0)
    counts.append(x._version)
    v.mul_(2.0)
    counts.append((x._version, v._version))
    x[1] = 0.0
    counts.append(x._version)
    x[m.tensor([0, 1])] = 1.0
    counts.append(x._version)
    x.index_add_(0, m.tensor([0]), m.ones(1, 5, dtype=m.float64))
    counts.append(x._version)
    with m.no_grad():
        x.zero_()
    counts.append(x._version)
    return counts, x.detach()._version, x.view(-1)._version


def _int_view(m):
    x = m.tensor(INTS["int16"])
    x.transpose(0, 2)[1].add_(7)
    x[:, 1].bitwise_xor_(3)
    x.diagonal(0, 1, 2).fill_(-1)
    return x


FAMILY.update(EXTRA)

# ----------------------------------------------------------------------------------------------
# Views.

VIEWS = {
    "view": lambda x: x.view(12, 5), "view -1": lambda x: x.view(-1),
    "reshape": lambda x: x.reshape(5, 12), "reshape of transpose": lambda x: x.transpose(0, 1)
    .reshape(-1), "transpose": lambda x: x.transpose(0, 2), "permute": lambda x: x.permute(2, 0, 1),
    "expand": lambda x: x[:, :1].expand(3, 6, 5), "unfold": lambda x: x.unfold(1, 2, 1),
    "narrow": lambda x: x.narrow(2, 1, 3), "narrow neg dim": lambda x: x.narrow(-1, -2, 2),
    "select": lambda x: x.select(1, -1), "diagonal": lambda x: x.diagonal(),
    "diagonal offset": lambda x: x.diagonal(1, 1, 2), "diagonal neg offset": lambda x:
        x.diagonal(-1, -1, 0),
    "as_strided": lambda x: x.as_strided((3, 3), (5, 1), 2), "unbind": lambda x: x.unbind(1)[2],
    "split": lambda x: x.split(3, dim=1)[1], "split sizes": lambda x: x.split([1, 3], dim=1)[1],
    "chunk": lambda x: x.chunk(2, dim=2)[0], "movedim": lambda x: x.movedim(0, -1),
    "squeeze unsqueeze": lambda x: x.unsqueeze(1).squeeze(1), "flatten": lambda x: x.flatten(1),
    "flatten of transpose": lambda x: x.transpose(1, 2).flatten(1), "mT": lambda x: x.mT,
    "view_as": lambda x: x.view_as(x.reshape(5, 12)), "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "t": lambda x: x[0].t(), "swapaxes": lambda x: x.swapaxes(0, 1),
    "contiguous": lambda x: x.contiguous(), "contiguous of transpose": lambda x:
        x.transpose(0, 1).contiguous(),
    "getitem step": lambda x: x[:, ::2], "view dtype": lambda x: x.view(x.dtype),
}

VIEW_CASES = {}
for _name, _fn in VIEWS.items():
    def _grad(m, fn=_fn):
        x = m.tensor(X, requires_grad=True)
        y = fn(x)
        return _finish(m, y, x)
    VIEW_CASES[f"{_name} grad"] = _grad

    def _base_to_view(m, fn=_fn):
        x = m.tensor(X)
        y = fn(x)
        before = y.clone()
        x.mul_(-1.0)
        return y, bool((y != before).any())
    VIEW_CASES[f"{_name} base writes view"] = _base_to_view

    def _view_to_base(m, fn=_fn):
        x = m.tensor(X)
        y = fn(x)
        y.add_(1000.0)
        return x
    VIEW_CASES[f"{_name} view writes base"] = _view_to_base

    def _inplace_grad(m, fn=_fn):
        leaf = m.tensor(X, requires_grad=True)
        x = leaf * 2.0
        y = fn(x)
        y.mul_(3.0)
        x.backward(_cot(m, x.shape, x.dtype))
        return x, leaf.grad
    VIEW_CASES[f"{_name} in place grad"] = _inplace_grad

    def _version(m, fn=_fn):
        # exp saves its output; a change through a view of it must fail backward.
        leaf = m.tensor(X, requires_grad=True)
        e = leaf.exp()
        fn(e).zero_()
        e.sum().backward()
        return leaf.grad
    VIEW_CASES[f"{_name} modified saved value"] = _version

    def _setitem_view(m, fn=_fn):
        leaf = m.tensor(X, requires_grad=True)
        x = leaf + 0.0
        y = fn(x)
        y[0] = 0.0
        x.backward(_cot(m, x.shape, x.dtype))
        return x, leaf.grad
    VIEW_CASES[f"{_name} setitem through view"] = _setitem_view


def _expanded_inplace(m, rg):
    x = m.tensor(X[:, :1], requires_grad=rg)
    y = (x * 1.0 if rg else x).expand(3, 4, 5)
    y.add_(1.0)
    return y


VIEW_CASES["expand in place"] = lambda m: _expanded_inplace(m, False)
VIEW_CASES["expand in place grad"] = lambda m: _expanded_inplace(m, True)
VIEW_CASES["expand out-of-place then in place"] = lambda m: m.tensor(X[:, :1]).expand(3, 4, 5) \
    .clone().add_(1.0)
VIEW_CASES["stride 0 setitem"] = lambda m: m.tensor(X[:, :1]).expand(3, 4, 5).__setitem__(
    0, 1.0)


def _detach_view(m):
    x = m.tensor(X, requires_grad=True) * 1.0
    return x[0].detach_()


VIEW_CASES["detach_ of a view"] = _detach_view


# ----------------------------------------------------------------------------------------------
# Idioms.

def _sgd_step(m, form):
    p = m.tensor(X2, requires_grad=True)
    for _ in range(2):
        loss = (p * p).sum() + p[0].sum()
        loss.backward()
        with m.no_grad():
            if form == "isub":
                p -= 0.1 * p.grad
            elif form == "sub_":
                p.sub_(p.grad, alpha=0.1)
            elif form == "add_":
                p.add_(-0.1 * p.grad)
            elif form == "setitem":
                p[0] -= 0.1 * p.grad[0]
            elif form == "data":
                p.data -= 0.1 * p.grad
        p.grad.zero_()
    return p, p.requires_grad, p.is_leaf, p.grad


IDIOM_CASES = {f"p -= lr * p.grad ({form})": (lambda m, form=form: _sgd_step(m, form))
               for form in ("isub", "sub_", "add_", "setitem", "data")}


def _sgd_without_no_grad(m):
    p = m.tensor(X2, requires_grad=True)
    (p * p).sum().backward()
    p -= 0.1 * p.grad
    return p


IDIOM_CASES["p -= lr * p.grad without no_grad"] = _sgd_without_no_grad

REDUCTIONS = {
    "sum": lambda t, d: t.sum(d), "mean": lambda t, d: t.mean(d), "prod": lambda t, d: t.prod(d),
    "amax": lambda t, d: t.amax(d), "amin": lambda t, d: t.amin(d), "max": lambda t, d: t.max(d),
    "min": lambda t, d: t.min(d), "argmax": lambda t, d: t.argmax(d),
    "argmin": lambda t, d: t.argmin(d), "std": lambda t, d: t.std(d), "var": lambda t, d: t.var(d),
    "logsumexp": lambda t, d: t.logsumexp(d), "norm": lambda t, d: t.norm(dim=d),
    "all": lambda t, d: t.all(d), "any": lambda t, d: t.any(d), "cumsum": lambda t, d: t.cumsum(d),
    "cumprod": lambda t, d: t.cumprod(d), "softmax": lambda t, d: t.softmax(d),
    "log_softmax": lambda t, d: t.log_softmax(d), "median": lambda t, d: t.median(d),
    "nanmedian": lambda t, d: t.nanmedian(d), "mode": lambda t, d: t.mode(d),
    "nansum": lambda t, d: t.nansum(d), "nanmean": lambda t, d: t.nanmean(d),
    "count_nonzero": lambda t, d: t.count_nonzero(d), "kthvalue": lambda t, d: t.kthvalue(1, d),
    "topk": lambda t, d: t.topk(1, d), "sort": lambda t, d: t.sort(d),
    "argsort": lambda t, d: t.argsort(d), "cummax": lambda t, d: t.cummax(d),
    "cummin": lambda t, d: t.cummin(d), "logcumsumexp": lambda t, d: t.logcumsumexp(d),
    "std_mean": lambda t, d: __import__("torch").std_mean(t, d) if type(t).__module__
    .startswith("torch") else __import__("deltagrad").std_mean(t, d),
    "aminmax": lambda t, d: t.aminmax(dim=d), "unbind": lambda t, d: t.unbind(d),
    "flip": lambda t, d: t.flip(d), "squeeze": lambda t, d: t.squeeze(d),
    "unsqueeze": lambda t, d: t.unsqueeze(d), "select": lambda t, d: t.select(d, 0),
    "narrow": lambda t, d: t.narrow(d, 0, 1), "diff": lambda t, d: t.diff(dim=d),
    "sum list": lambda t, d: t.sum((0, d)), "mean keepdim": lambda t, d: t.mean(d, keepdim=True),
    "var_mean": lambda t, d: __import__("torch").var_mean(t, d) if type(t).__module__
    .startswith("torch") else __import__("deltagrad").var_mean(t, d),
    "quantile": lambda t, d: t.quantile(0.5, dim=d), "nanquantile": lambda t, d:
    t.nanquantile(0.25, dim=d), "sum repeated dim": lambda t, d: t.sum((d, d)),
    "mean empty dims": lambda t, d: t.mean(dim=[]) + d, "amax repeated dim": lambda t, d:
    t.amax((d, d)), "prod keepdim": lambda t, d: t.prod(d, keepdim=True),
    "std correction 0": lambda t, d: t.std(d, correction=0), "max keepdim": lambda t, d:
    t.max(d, keepdim=True), "argmax keepdim": lambda t, d: t.argmax(d, keepdim=True),
    "all keepdim": lambda t, d: t.all(d, keepdim=True), "renorm": lambda t, d:
    t.renorm(2, d, 1.0), "roll": lambda t, d: t.roll(1, d), "transpose": lambda t, d:
    t.transpose(d, 0), "movedim": lambda t, d: t.movedim(d, 0), "chunk": lambda t, d:
    t.chunk(2, d), "split": lambda t, d: t.split(1, d), "index_select": lambda t, d:
    t.index_select(d, t.new_zeros(1).long()), "gather": lambda t, d: t.gather(
        d, t.new_zeros(t.shape).long()), "softmax -": lambda t, d: t.softmax(-d - 1),
}

REDUCTION_CASES = {}
for _name, _fn in REDUCTIONS.items():
    for _shape, _dims in (((2, 3), (2, -3, 5)), ((), (0, -1, 1, -2)), ((0, 3), (1, 2))):
        for _dim in _dims:
            def _reduce(m, fn=_fn, shape=_shape, dim=_dim):
                data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) / 3
                return fn(m.tensor(data), dim)
            REDUCTION_CASES[f"{_name} shape={_shape} dim={_dim}"] = _reduce

BITWISE = {
    "and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b,
    "lshift": lambda a, b: a << b, "rshift": lambda a, b: a >> b,
}
SHIFT_AMOUNTS = np.array([0, 1, 3, 7, 8, 15, 16, 31, 32, 63, 64, -1, -3, 100])
BIT_DTYPES = ("uint8", "int8", "int16", "int32", "int64")
BIT_VALUES = {name: np.array([0, 1, -1, 5, -128, 127, 255, 200, 77, -77, 3, -3, 64, 2],
                             dtype=np.int64).astype(name) for name in BIT_DTYPES}

BIT_CASES = {}
for _op, _fn in BITWISE.items():
    for _dtype in BIT_DTYPES:
        def _tensors(m, fn=_fn, dtype=_dtype, op=_op):
            a = m.tensor(BIT_VALUES[dtype])
            b = m.tensor((SHIFT_AMOUNTS if op.endswith("shift") else BIT_VALUES[dtype][::-1])
                         .astype(dtype))
            return fn(a, b)
        BIT_CASES[f"{_op} {_dtype} tensor"] = _tensors
        for _scalar in (1, 3, -1, -2, 7, 8, 40, 300, True, 2.0):
            def _scalar_case(m, fn=_fn, dtype=_dtype, scalar=_scalar):
                return fn(m.tensor(BIT_VALUES[dtype]), scalar)
            BIT_CASES[f"{_op} {_dtype} scalar {_scalar!r}"] = _scalar_case

            def _reflected(m, fn=_fn, dtype=_dtype, scalar=_scalar):
                return fn(scalar, m.tensor(BIT_VALUES[dtype][:4]))
            BIT_CASES[f"{_op} {_dtype} reflected {_scalar!r}"] = _reflected
        for _other in BIT_DTYPES + ("bool", "float32"):
            def _mixed(m, fn=_fn, dtype=_dtype, other=_other):
                b = np.array([1, 2, 3, 0], dtype=np.int64).astype(other)
                return fn(m.tensor(BIT_VALUES[dtype][:4]), m.tensor(b))
            BIT_CASES[f"{_op} {_dtype} with {_other}"] = _mixed

        def _inplace_bits(m, fn=_fn, dtype=_dtype, op=_op):
            a = m.tensor(BIT_VALUES[dtype])
            name = {"and": "bitwise_and_", "or": "bitwise_or_", "xor": "bitwise_xor_",
                    "lshift": "bitwise_left_shift_", "rshift": "bitwise_right_shift_"}[op]
            return getattr(a, name)(3), a
        BIT_CASES[f"{_op} {_dtype} in place"] = _inplace_bits
    for _dtype in ("bool", "float32"):
        def _other_dtypes(m, fn=_fn, dtype=_dtype):
            return fn(m.tensor(BOOLS[0, 0] if dtype == "bool" else X[0, 0].astype(dtype)),
                      m.tensor(BOOLS[0, 1] if dtype == "bool" else X[0, 1].astype(dtype)))
        BIT_CASES[f"{_op} {_dtype}"] = _other_dtypes
for _dtype in BIT_DTYPES + ("bool",):
    BIT_CASES[f"invert {_dtype}"] = (lambda m, dtype=_dtype: ~m.tensor(
        BOOLS[0, 0] if dtype == "bool" else BIT_VALUES[dtype]))


# ----------------------------------------------------------------------------------------------

FAMILIES = {"getitem": GETITEM_CASES, "setitem": SETITEM_CASES, "index and scatter": FAMILY,
            "views": VIEW_CASES, "idioms": IDIOM_CASES, "reduction dims": REDUCTION_CASES,
            "bitwise": BIT_CASES}
ALL = {name: case for cases in FAMILIES.values() for name, case in cases.items()}

# Deliberate differences: case -> why. Each must still differ (else the entry is stale).
_OVERLAP_WRITE = ("overlapping windows are read-only in deltagrad (writing through them raises "
                  "RuntimeError); PyTorch writes each memory location once per reference, an "
                  "order-dependent result")
_STRIDED_WRITE = ("an as_strided view that requires grad is read-only in deltagrad: its autograd "
                  "cannot replay a write through an arbitrary strided view onto the base "
                  "(api/strided.py), so it raises rather than give a wrong gradient")
KNOWN: dict[str, str] = {
    # (several ellipses in one index: as PyTorch since session 20, subscripts._one_ellipsis)
    "unfold view writes base": _OVERLAP_WRITE, "unfold in place grad": _OVERLAP_WRITE,
    "unfold setitem through view": _OVERLAP_WRITE,
    "as_strided in place grad": _STRIDED_WRITE, "as_strided setitem through view": _STRIDED_WRITE,
    "scatter_ src dim=1": "an index narrower than src: PyTorch's own backward fails on the "
                          "gradient it makes for src ([2, 4] for a [2, 5] src); deltagrad "
                          "gives src's gradient, zero where nothing was scattered",
    "scatter_ src dim=-1": "as scatter_ src dim=1",
    "as_strided_scatter": "PyTorch 2.13's gradient to the input is wrong (it sends the gradient "
                          "to the overwritten positions and fails its own gradcheck); README",
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_against_pytorch(family):
    # One test per family, every case run and every difference listed (2,000 cases as
    # separate tests would spend most of their time in pytest).
    problems = []
    for name, case in sorted(FAMILIES[family].items()):
        kind, detail = classify(case)
        if name in KNOWN:
            if kind == "same":
                problems.append(f"{name} now agrees with PyTorch: remove it from KNOWN")
        elif kind != "same":
            problems.append(f"{name}: {kind}: {detail}")
    assert not problems, f"{len(problems)} of {len(FAMILIES[family])}:\n" + "\n".join(problems)


def test_known_names_exist():
    assert set(KNOWN) <= set(ALL)
