"""NumPy on tensors and tensors with NumPy, as data-science scripts write it (PR10, session 25):
np.asarray / np.array / .numpy() sharing and their errors, NumPy ufuncs and functions called on
tensors, mixed arithmetic with NumPy scalars and arrays on either side, from_numpy of unusual
arrays, NumPy indices into tensors and tensors as NumPy indices, Python builtins over tensors.
Each value is recorded with the type name of the object a call returned. Tiny sizes; run by
prog_s25_PR10_all.py.
"""

import copy
import json
import math
import pickle
import random
import statistics

import numpy as np
import torch
from prog_s23_PR6_harness import put


def kind(value) -> str:
    """The type's name, with NumPy's scalar types kept apart from Python's."""
    return type(value).__name__


def raised(error: Exception) -> str:
    """The built-in exception classes an error is an instance of, nearest first ("ValueError";
    deltagrad's own errors subclass PyTorch's, some several: the test takes torch's first)."""
    return ",".join(c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins"
                    and c not in (BaseException, Exception, object))


def attempt(key: str, call) -> None:
    """Records the exception type a call raises (or 'ok' and the value)."""
    try:
        value = call()
    except Exception as error:  # noqa: BLE001 - the exception's type is what is compared
        # (the nearest built-in class: deltagrad's own errors subclass PyTorch's built-in ones)
        put(key + ".raised", raised(error))
    else:
        put(key + ".raised", "ok")
        put(key + ".kind", kind(value))
        if isinstance(value, (torch.Tensor, np.ndarray, np.generic, int, float, bool)):
            put(key, np.asarray(value) if not isinstance(value, torch.Tensor) else value)


def section_sharing() -> None:
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    a = t.numpy()
    a[0, 0] = 100.0
    t[1, 2] = -5.0
    put("share.t", t)
    put("share.a", a.copy())
    put("share.a_dtype", str(a.dtype))
    b = np.asarray(t)
    b[0, 1] = 7.0
    put("share.after_asarray", t)
    c = np.array(t)  # a copy
    c[:] = 0
    put("share.after_array", t)
    d = np.array(t, dtype=np.float64)
    put("share.array_f64", d.dtype.name)
    put("share.asarray_i32", np.asarray(t, dtype=np.int32))
    w = torch.ones(3, requires_grad=True)
    attempt("share.numpy_rg", lambda: w.numpy())
    attempt("share.asarray_rg", lambda: np.asarray(w))
    attempt("share.exp_rg", lambda: np.exp(w))
    put("share.detached", w.detach().numpy())
    with torch.no_grad():
        attempt("share.nograd_numpy", lambda: (w * 2).numpy())
    # from_numpy shares; torch.tensor copies; as_tensor shares
    arr = np.linspace(0, 1, 5, dtype=np.float32)
    shared, copied, as_t = torch.from_numpy(arr), torch.tensor(arr), torch.as_tensor(arr)
    arr[0] = 42.0
    put("share.from_numpy", shared)
    put("share.tensor", copied)
    put("share.as_tensor", as_t)
    shared.mul_(2)
    put("share.arr_after_mul_", arr.copy())
    put("share.numpy_is_same", t.numpy() is t.numpy())
    put("share.base_shared", np.shares_memory(t.numpy(), t[0].numpy()))
    # a view's numpy shares the base's memory
    v = t[:, 1]
    v.numpy()[0] = -1.0
    put("share.view_write", t)
    put("share.view_strides", np.asarray(v.numpy().strides))


def section_ufuncs() -> None:
    g = torch.Generator().manual_seed(1)
    t = torch.randn(3, 4, generator=g)
    i = torch.tensor([3, 1, 2, 1])
    cases = {
        "mean": lambda: np.mean(t), "mean_ax": lambda: np.mean(t, axis=0),
        "sum": lambda: np.sum(t), "std": lambda: np.std(t), "exp": lambda: np.exp(t),
        "log1p": lambda: np.log1p(t.abs()), "sqrt": lambda: np.sqrt(t.abs()),
        "maximum": lambda: np.maximum(t, 0), "add": lambda: np.add(t, 1),
        "isnan": lambda: np.isnan(t), "round": lambda: np.round(t, 2),
        "argmax": lambda: np.argmax(t), "argmax1": lambda: np.argmax(t, axis=1),
        "where1": lambda: np.where(t > 0), "where3": lambda: np.where(t > 0, t, 0.0),
        "clip": lambda: np.clip(t, -0.5, 0.5), "concat": lambda: np.concatenate([t, t]),
        "stack": lambda: np.stack([t[0], t[1]]), "abs": lambda: np.abs(t),
        "sign": lambda: np.sign(t), "cumsum": lambda: np.cumsum(i),
        "prod": lambda: np.prod(i), "unique": lambda: np.unique(i),
        "bincount": lambda: np.bincount(i), "sort": lambda: np.sort(t, axis=1),
        "argsort": lambda: np.argsort(i, kind="stable"), "dot": lambda: np.dot(t[0], t[1]),
        "matmul": lambda: np.matmul(t, t.T), "allclose": lambda: np.allclose(t, t.numpy()),
        "isclose": lambda: np.isclose(t, t + 1e-9), "percentile": lambda: np.percentile(t, 50),
        "median": lambda: np.median(t), "var1": lambda: np.var(t, axis=1, ddof=1),
        "max": lambda: np.max(t), "amin": lambda: np.amin(t, axis=0),
        "floor": lambda: np.floor(t), "square": lambda: np.square(t),
        "greater": lambda: np.greater(t, 0),
        "logical_and": lambda: np.logical_and(t > 0, t < 1),
        "count_nonzero": lambda: np.count_nonzero(t > 0), "any": lambda: np.any(t > 2),
        "all": lambda: np.all(t < 5), "nan_to_num": lambda: np.nan_to_num(t),
        "reshape": lambda: np.reshape(t, (4, 3)), "transpose": lambda: np.transpose(t),
        "expand": lambda: np.expand_dims(t, 0), "tile": lambda: np.tile(i, 2),
        "diff": lambda: np.diff(i), "histogram": lambda: np.histogram(t, bins=3)[0],
        "linalg_norm": lambda: np.linalg.norm(t), "outer": lambda: np.outer(i, i),
        "float32": lambda: np.float32(t[0, 0]), "asfarray": lambda: np.asarray(i, dtype=float),
        "exp_i": lambda: np.exp(i), "sum_i": lambda: np.sum(i), "mean_i": lambda: np.mean(i),
        "true_div": lambda: np.true_divide(i, 2), "floor_div": lambda: np.floor_divide(i, 2),
    }
    for name, call in cases.items():
        try:
            value = call()
        except Exception as error:  # noqa: BLE001 - compared
            put(f"uf.{name}.raised", raised(error))
            continue
        put(f"uf.{name}.kind", kind(value))
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, list):
            for n, item in enumerate(value):
                put(f"uf.{name}.{n}.kind", kind(item))
                put(f"uf.{name}.{n}", item if isinstance(item, torch.Tensor) else np.asarray(item))
        else:
            put(f"uf.{name}", value if isinstance(value, torch.Tensor) else np.asarray(value))
    # a ufunc's out= into a tensor's numpy view writes the tensor
    out = torch.zeros(3, 4)
    np.multiply(t.numpy(), 2, out=out.numpy())
    put("uf.out_write", out)
    put("uf.max_of_rows", sum(float(np.max(row.numpy())) for row in t))


def section_mixed() -> None:
    t = torch.tensor([1.5, -2.0, 3.0])
    ti = torch.tensor([1, 2, 3])
    a64 = np.array([1.0, 2.0, 4.0])
    a32 = np.array([1.0, 2.0, 4.0], dtype=np.float32)
    zero_d = np.array(2.0)
    cases = {
        "f64s_mul_t": lambda: np.float64(2) * t, "t_mul_f32s": lambda: t * np.float32(2),
        "t_mul_f64s": lambda: t * np.float64(2), "i64s_add_ti": lambda: np.int64(3) + ti,
        "ti_mul_f64s": lambda: ti * np.float64(0.5), "ti_add_i32s": lambda: ti + np.int32(2),
        "ti_div_i64s": lambda: ti / np.int64(2), "f32s_sub_t": lambda: np.float32(1) - t,
        "t_pow_f64s": lambda: t.abs() ** np.float64(2), "f64s_pow_t": lambda: np.float64(2) ** t,
        "t_add_arr": lambda: t + a64, "arr_add_t": lambda: a64 + t,
        "t_mul_arr32": lambda: t * a32, "arr32_mul_t": lambda: a32 * t,
        "zero_d_mul_t": lambda: zero_d * t, "t_mul_zero_d": lambda: t * zero_d,
        "arr_lt_t": lambda: a64 < t, "t_gt_arr": lambda: t > a64, "t_eq_arr": lambda: t == a64,
        "ti_add_arr_i": lambda: ti + np.array([1, 1, 1]),
        "bool_s": lambda: t * np.bool_(True), "t_gt_f64s": lambda: t > np.float64(1.0),
        "f64s_eq_t": lambda: np.float64(3.0) == t, "t_rsub": lambda: 1 - t,
        "t_radd_f16": lambda: np.float16(1) + t,
        "t_matmul_arr": lambda: t @ a32, "arr_matmul_t": lambda: a32 @ t,
    }
    for name, call in cases.items():
        attempt(f"mix.{name}", call)
    rg = torch.ones(3, requires_grad=True)
    attempt("mix.rg_add_arr", lambda: rg + a32)
    attempt("mix.arr_add_rg", lambda: a32 + rg)
    y = np.float64(3) * rg
    y.sum().backward()
    put("mix.np_scalar_grad", rg.grad)
    put("mix.np_scalar_grad_kind", kind(y))
    put("mix.np_scalar_grad_dtype", str(y.dtype))
    # in-place with NumPy on the right
    u = torch.zeros(3)
    u += np.float64(1.5)
    put("mix.iadd_scalar", u)
    attempt("mix.iadd_arr", lambda: u.__iadd__(a64))
    v = np.zeros(3)
    v += t.numpy()
    put("mix.np_iadd_numpy", v)
    w = np.zeros(3, dtype=np.float32)
    attempt("mix.np_iadd_t", lambda: w.__iadd__(t))
    put("mix.np_iadd_t_after", w)
    # float32 tensor times NumPy float64 scalar stays float32 (a number)
    put("mix.dtype_chain", str((t * np.float64(2) + np.float32(1)).dtype))
    put("mix.mean_np_scalar", t.mean() * np.float64(1) / np.int64(2))


def section_from_numpy() -> None:
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    cases = {
        "noncontig": base[:, ::2], "transposed": base.T, "fortran": np.asfortranarray(base),
        "f16": base.astype(np.float16), "bool": base > 5, "uint16": base.astype(np.uint16),
        "int8": base.astype(np.int8) - 6, "uint8": base.astype(np.uint8),
        "int16": base.astype(np.int16), "f32": base.astype(np.float32),
        "complex": base.astype(np.complex64), "zero_d": np.array(3.5),
        "empty": np.zeros((0, 3), dtype=np.float32), "uint32": base.astype(np.uint32),
    }
    for name, arr in cases.items():
        attempt(f"fn.{name}", lambda arr=arr: torch.from_numpy(arr))
        attempt(f"fn.tensor_{name}", lambda arr=arr: torch.tensor(arr))
    for name, arr in {"neg_stride": base[::-1], "big_endian": base.astype(">f4"),
                      "uint64": base.astype(np.uint64), "object": base.astype(object)}.items():
        attempt(f"fn.{name}", lambda arr=arr: torch.from_numpy(arr))
        attempt(f"fn.tensor_{name}", lambda arr=arr: torch.tensor(arr))
        attempt(f"fn.copy_{name}", lambda arr=arr: torch.from_numpy(arr.copy()))
    readonly = np.arange(4.0)
    readonly.flags.writeable = False
    attempt("fn.tensor_readonly", lambda: torch.tensor(readonly))
    attempt("fn.as_tensor_readonly", lambda: torch.as_tensor(readonly))
    strided = torch.from_numpy(base[:, ::2])
    base[0, 0] = -1
    put("fn.strided_shared", strided)
    put("fn.strided_stride", np.asarray(strided.stride()))
    put("fn.strided_contig", strided.is_contiguous())
    scalars = [np.float32(0.5), np.float32(1.25), np.float32(2)]
    attempt("fn.list_f32s", lambda: torch.tensor(scalars))
    attempt("fn.list_f64s", lambda: torch.tensor([np.float64(0.1), np.float64(2)]))
    attempt("fn.list_i64s", lambda: torch.tensor([np.int64(3), np.int64(4)]))
    attempt("fn.list_i32s", lambda: torch.tensor([np.int32(3), np.int32(4)]))
    attempt("fn.list_mixed", lambda: torch.tensor([np.int64(3), 2.5]))
    attempt("fn.list_arrays", lambda: torch.tensor([np.ones(2), np.zeros(2)]))
    attempt("fn.list_tensors0d", lambda: torch.tensor([torch.tensor(1.5), torch.tensor(2.0)]))
    attempt("fn.f64_scalar", lambda: torch.tensor(np.float64(0.1)))
    attempt("fn.f32_scalar", lambda: torch.tensor(np.float32(0.1)))
    attempt("fn.bool_scalar", lambda: torch.tensor(np.bool_(True)))
    attempt("fn.as_tensor_f32", lambda: torch.as_tensor(base, dtype=torch.float32))
    attempt("fn.FloatTensor", lambda: torch.FloatTensor(base))
    attempt("fn.LongTensor", lambda: torch.LongTensor(np.array([1, 2, 3])))


def section_indexing() -> None:
    t = torch.arange(20).reshape(4, 5) * 10
    arr = np.arange(10) * 3
    cases = {
        "np_int_array": lambda: t[np.array([2, 0])],
        "np_int64_scalar": lambda: t[np.int64(2)],
        "np_int32_scalar": lambda: t[1, np.int32(3)],
        "np_bool_mask": lambda: t[np.array([True, False, True, False])],
        "np_bool_2d": lambda: t[t.numpy() > 100],
        "range": lambda: t[range(1, 3)], "list": lambda: t[[0, 3]],
        "tuple": lambda: t[(1, 2)], "list_of_lists": lambda: t[[[0, 1], [2, 3]]],
        "np_array_2d": lambda: t[np.array([[0], [3]]), np.array([1, 2])],
        "slice_np": lambda: t[np.int64(1):np.int64(3)],
        "arr_by_t": lambda: arr[torch.tensor([1, 4])],
        "arr_by_t_numpy": lambda: arr[torch.tensor([1, 4]).numpy()],
        "arr_by_int_t": lambda: arr[int(torch.tensor(5))],
        "arr_by_0d_t": lambda: arr[torch.tensor(5)],
        "arr_by_bool_t": lambda: arr[torch.arange(10) % 3 == 0],
        "list_by_0d_t": lambda: [10, 20, 30][torch.tensor(2)],
        "t_by_np_uint8": lambda: t[np.array([0, 1], dtype=np.uint8)],
        "t_by_float_arr": lambda: t[np.array([0.0, 1.0])],
        "t_by_empty_list": lambda: t[[]],
        "t_by_ellipsis_np": lambda: t[..., np.array([0, 4])],
    }
    for name, call in cases.items():
        attempt(f"ix.{name}", call)
    # writes through NumPy indices
    u = torch.zeros(6)
    u[np.array([1, 3])] = 5.0
    u[np.int64(0)] = -1.0
    u[np.array([False, False, False, False, True, True])] = torch.tensor([7.0, 8.0])
    put("ix.writes", u)
    ids = np.array([2, 2, 1])
    v = torch.zeros(4)
    v.index_add_(0, torch.from_numpy(ids), torch.ones(3))
    put("ix.index_add", v)
    arr2 = np.zeros(5)
    arr2[torch.tensor([0, 2])] = torch.tensor([1.5, 2.5])
    put("ix.np_write_by_t", arr2)


def section_builtins() -> None:
    t = torch.tensor([3.0, -1.0, 2.5, 0.5])
    ti = torch.tensor([4, 1, 3])
    put("bi.len", len(t))
    put("bi.iter_kinds", [kind(x) for x in t])
    put("bi.iter", [x for x in t])
    put("bi.tolist", t.tolist())
    put("bi.tolist_kind", kind(t.tolist()[0]))
    put("bi.tolist_int_kind", kind(ti.tolist()[0]))
    put("bi.tolist_2d", torch.arange(6).reshape(2, 3).tolist())
    put("bi.tolist_0d", kind(torch.tensor(2.5).tolist()))
    put("bi.json", json.dumps({"v": t.tolist(), "i": ti.tolist(), "b": (t > 0).tolist()}))
    put("bi.roundtrip", torch.tensor(json.loads(json.dumps(t.tolist()))))
    put("bi.isclose", math.isclose(t.sum().item(), 5.0))
    put("bi.float0d", float(t.sum()))
    put("bi.float1", float(t[:1]))
    put("bi.int1", int(ti[1:2]))
    put("bi.int_of_float", int(torch.tensor(-2.7)))
    attempt("bi.float_many", lambda: float(t))
    attempt("bi.bool_many", lambda: bool(t > 0))
    put("bi.bool_one", bool(torch.tensor([0.0])))
    put("bi.sum_list", sum([t, t * 2, t * 3]))
    put("bi.sum_list_kind", kind(sum([t, t])))
    put("bi.max_builtin", max(t))
    put("bi.max_builtin_kind", kind(max(t)))
    put("bi.min_builtin", min(ti))
    put("bi.sorted", sorted(t))
    put("bi.sorted_key", sorted(t.tolist(), key=abs))
    put("bi.mean_stat", statistics.mean(t.tolist()))
    put("bi.median_stat", statistics.median(t.tolist()))
    put("bi.stdev_stat", statistics.stdev(t.tolist()))
    rng = random.Random(5)
    put("bi.choice", rng.choice(list(t)))
    put("bi.shuffle", rng.sample(ti.tolist(), 3))
    put("bi.round", round(t[2].item()))
    put("bi.round_t", kind(round(float(t[0]), 1)))
    put("bi.format", f"{t[2].item():.3f} {t.sum():.2f} {int(ti[0]):d}")
    put("bi.format_0d", format(torch.tensor(1.23456), ".2f"))
    put("bi.abs", abs(torch.tensor(-2.0)))
    put("bi.divmod", list(divmod(7, int(ti[2]))))
    put("bi.in", [2.5 in t, 7.0 in t])
    put("bi.any_all", [any(t > 2), all(t > -5)])
    put("bi.enumerate", [i * v.item() for i, v in enumerate(t)])
    put("bi.zip", [a.item() + b.item() for a, b in zip(t, ti)])
    put("bi.dict_keys", sorted({int(k): 0 for k in ti}))
    put("bi.hash_ok", len({t, t}))
    put("bi.math_exp", math.exp(t[0]))
    put("bi.math_sqrt", math.sqrt(ti[0]))
    put("bi.math_floor", math.floor(t[2]))
    put("bi.range_t", list(range(ti[1], ti[0])))
    put("bi.list_t", kind(list(t)[0]))
    put("bi.np_float", np.float64(t[1]))
    put("bi.np_array_list", np.array([t[0], t[1]]))
    put("bi.np_array_list_dtype", str(np.array([t[0], t[1]]).dtype))
    put("bi.np_array_ints", np.array(list(ti)))
    put("bi.np_array_ints_dtype", str(np.array(list(ti)).dtype))


def section_copy_pickle() -> None:
    torch.manual_seed(3)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    x = torch.randn(5, 3)
    twin = copy.deepcopy(net)
    with torch.no_grad():
        net[0].weight.add_(1.0)
    put("cp.twin_out", twin(x))
    put("cp.net_out", net(x))
    put("cp.twin_is_param", isinstance(twin[0].weight, torch.nn.Parameter))
    loaded = pickle.loads(pickle.dumps(net))
    put("cp.pickled_out", loaded(x))
    t = torch.arange(6.0).reshape(2, 3)[:, 1:]
    u = pickle.loads(pickle.dumps(t))
    put("cp.pickled_view", u)
    put("cp.pickled_contig", u.is_contiguous())
    w = torch.ones(2, requires_grad=True)
    w2 = copy.deepcopy(w)
    put("cp.deepcopy_rg", w2.requires_grad)
    put("cp.deepcopy_leaf", w2.is_leaf)
    s = copy.copy(t)
    put("cp.copy_shares", s.data_ptr() == t.data_ptr())
    state = pickle.loads(pickle.dumps(net.state_dict()))
    put("cp.state_keys", list(state))
    put("cp.state_kind", kind(state))
    d = {"a": torch.tensor([1, 2]), "b": [torch.tensor(0.5)]}
    d2 = copy.deepcopy(d)
    d2["a"][0] = 9
    put("cp.nested", [d["a"], d2["a"], d2["b"][0]])
    ints = pickle.loads(pickle.dumps(torch.tensor([True, False])))
    put("cp.bool", ints)


SECTIONS = {"sharing": section_sharing, "ufuncs": section_ufuncs, "mixed": section_mixed,
            "from_numpy": section_from_numpy, "indexing": section_indexing,
            "builtins": section_builtins, "copy_pickle": section_copy_pickle}
