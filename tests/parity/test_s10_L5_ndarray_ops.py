"""Tensor operators with NumPy operands against PyTorch (session 10, L5).

PyTorch's operators return NotImplemented for an ndarray operand, so NumPy computes the result
through the tensor's ``__array__`` (with NumPy's dtype rules: ``float32 tensor + float64 array``
is float64) and ``__array_wrap__`` makes it a Tensor; a tensor that requires grad refuses
(``numpy()``'s RuntimeError); reflected forms (``ndarray + tensor``) and the ordering
comparisons raise TypeError. NumPy scalars (``np.float64(2.0)``) are no ndarrays: they follow
the Python scalars' rules. Every operator x dtype pair x side x in-place form is compared:
result class, dtype, shape, values, requires_grad, identity of in-place results and the
exception class.
"""

import functools
import operator
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import deltagrad as dg  # noqa: E402

BINARY = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
    "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "@": operator.matmul,
    "&": operator.and_, "|": operator.or_, "^": operator.xor, "<<": operator.lshift,
    ">>": operator.rshift, "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "@=": operator.imatmul, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
    "<<=": operator.ilshift, ">>=": operator.irshift,
}
TENSOR_DTYPES = ("float32", "float64", "int64", "int32", "uint8", "bool")
ARRAY_DTYPES = ("float32", "float64", "int64", "int32", "uint8", "bool")


def _tensor(m, dtype: str, requires_grad: bool = False, shape=(2, 2)):
    values = np.arange(1, 1 + int(np.prod(shape))).reshape(shape) % 3 + 1
    t = m.tensor(values.astype(dtype))
    return t.requires_grad_() if requires_grad else t


def _array(dtype: str, shape=(2,)):
    return np.asarray((np.arange(int(np.prod(shape))).reshape(shape) % 2 + 1).astype(dtype))


def _outcome(m, fn):
    """What ``fn(m)`` gives, as comparable data (the library's names stripped)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = fn(m)
        except Exception as error:  # noqa: BLE001 - the class is what is compared
            return ("raise", error)
    if isinstance(result, (tuple, list)):
        return ("seq", tuple(_value(r) for r in result))
    return _value(result)


def _value(result):
    if isinstance(result, (torch.Tensor, dg.Tensor)):
        values = result.detach()
        values = (values.to(torch.complex64) if values.dtype == torch.complex32
                  else values).numpy()
        return ("tensor", str(result.dtype).split(".")[-1], tuple(result.shape),
                bool(result.requires_grad), values)
    if isinstance(result, np.ndarray):
        return ("ndarray", str(result.dtype), result.shape, False, result)
    return (type(result).__name__, result)


def _same(want, got, label):
    if want[0] == "raise":
        assert got[0] == "raise", f"{label}: torch raises {want[1]!r}, deltagrad gives {got}"
        assert isinstance(got[1], type(want[1])), (
            f"{label}: torch raises {type(want[1]).__name__}, deltagrad "
            f"{type(got[1]).__name__}: {got[1]}")
        return
    assert got[0] != "raise", f"{label}: torch gives {want[:4]}, deltagrad raises {got[1]!r}"
    if want[0] == "seq":
        assert got[0] == "seq" and len(got[1]) == len(want[1]), label
        for w, g in zip(want[1], got[1]):
            _same(w, g, label)
        return
    assert want[:-1] == got[:-1] if want[0] in ("tensor", "ndarray") else want == got, (
        f"{label}: torch {want[:4]}, deltagrad {got[:4]}")
    if want[0] in ("tensor", "ndarray"):
        np.testing.assert_allclose(got[-1], want[-1], rtol=1e-6, err_msg=label)


def _compare(fn, label, failures: list) -> None:
    try:
        _same(_outcome(torch, fn), _outcome(dg, fn), label)
    except AssertionError as error:
        failures.append(str(error).splitlines()[0][:300])


def _none_failed(failures: list) -> None:
    assert not failures, f"{len(failures)} differ:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize("symbol", list(BINARY))
def test_tensor_op_ndarray(symbol):
    op, failures = BINARY[symbol], []
    for tdt in TENSOR_DTYPES:
        for adt in ARRAY_DTYPES:
            for shape in ((2,), (), (2, 2)):
                _compare(lambda m, tdt=tdt, adt=adt, shape=shape:
                         op(_tensor(m, tdt), _array(adt, shape)),
                         f"{tdt} tensor {symbol} {adt} ndarray{shape}", failures)
                _compare(lambda m, tdt=tdt, adt=adt, shape=shape:
                         op(_array(adt, shape), _tensor(m, tdt)),
                         f"{adt} ndarray{shape} {symbol} {tdt} tensor", failures)
    _none_failed(failures)


SCALARS = (np.float64(2.5), np.float32(2.5), np.float16(2.5), np.int64(2), np.int32(3),
           np.uint8(2), np.bool_(True), np.bool_(False))


@pytest.mark.parametrize("symbol", list(BINARY))
def test_tensor_op_numpy_scalar(symbol):
    # NumPy scalars are no ndarrays: PyTorch takes them as numbers (np.bool_ as a float).
    op, failures = BINARY[symbol], []
    for tdt in TENSOR_DTYPES:
        for value in SCALARS:
            _compare(lambda m, tdt=tdt, value=value: op(_tensor(m, tdt), value),
                     f"{tdt} tensor {symbol} {value!r}", failures)
            _compare(lambda m, tdt=tdt, value=value: op(value, _tensor(m, tdt)),
                     f"{value!r} {symbol} {tdt} tensor", failures)
    _none_failed(failures)


def _in_place(op, m, tdt, operand, index=None):
    """``t op= operand`` (on ``t[index]`` where given): the result's identity and ``t`` after."""
    t = _tensor(m, tdt)
    if index is None:
        before = t
        t = op(t, operand)
        return ("same" if t is before else "rebound", t)
    view = t[index]
    t[index] = op(view, operand)
    return ("indexed", t)


@pytest.mark.parametrize("symbol", list(INPLACE))
def test_in_place_ndarray(symbol):
    op, failures = INPLACE[symbol], []
    for tdt in TENSOR_DTYPES:
        for adt in ARRAY_DTYPES:
            for shape in ((2,), ()):
                _compare(lambda m, tdt=tdt, adt=adt, shape=shape:
                         _in_place(op, m, tdt, _array(adt, shape)),
                         f"{tdt} tensor {symbol} {adt} ndarray{shape}", failures)
            _compare(lambda m, tdt=tdt, adt=adt:
                     _in_place(op, m, tdt, _array(adt, (2,)), index=0),
                     f"{tdt} tensor[0] {symbol} {adt} ndarray", failures)
        for value in SCALARS:
            _compare(lambda m, tdt=tdt, value=value: _in_place(op, m, tdt, value),
                     f"{tdt} tensor {symbol} {value!r}", failures)
    _none_failed(failures)


@pytest.mark.parametrize("symbol", list(BINARY))
def test_requires_grad_operand(symbol):
    # A tensor that requires grad refuses NumPy's computation (numpy()'s RuntimeError) except
    # where PyTorch compares itself (==); NumPy scalars keep the graph.
    op, failures = BINARY[symbol], []
    for tdt in ("float32", "float64"):
        for operand in (_array("float64"), _array("float32", ()), np.float64(2.0), np.int64(2)):
            for grad_mode in (True, False):
                def run(m, tdt=tdt, operand=operand, grad_mode=grad_mode, flip=False):
                    t = _tensor(m, tdt, requires_grad=True)
                    with m.set_grad_enabled(grad_mode):
                        out = op(operand, t) if flip else op(t, operand)
                    if (isinstance(out, (torch.Tensor, dg.Tensor)) and out.requires_grad
                            and symbol not in ("//", "%")):  # (their own differences)
                        out.sum().backward()
                        return out, t.grad
                    return out

                label = f"{tdt} requires-grad tensor {symbol} {operand!r} (grad {grad_mode})"
                _compare(run, label, failures)
                _compare(functools.partial(run, flip=True), f"flipped {label}", failures)
    _none_failed(failures)


@pytest.mark.parametrize("symbol", ["+", "*", "/", "-", "**", "<", "==", "!=", "&", "@"])
def test_more_dtypes_and_subclasses(symbol):
    op, failures = BINARY[symbol], []
    operands = [_array(adt) for adt in ("float16", "int8", "int16", "complex64")]
    operands += [np.ma.masked_array(_array("float64")), np.float16(1.5), np.complex128(2 + 1j)]
    for tdt in ("float16", "int8", "int16", "complex64", "float32"):
        for operand in operands:
            if tdt == "float16" and operand.dtype.kind == "c" and symbol in "+-*/":
                continue  # (PyTorch's complex32: deltagrad raises, it has no such dtype)
            label = f"{tdt} tensor {symbol} {type(operand).__name__} {operand.dtype}"
            _compare(lambda m, tdt=tdt, operand=operand: op(_tensor(m, tdt), operand), label,
                     failures)
            _compare(lambda m, tdt=tdt, operand=operand: op(operand, _tensor(m, tdt)),
                     f"flipped {label}", failures)
    _none_failed(failures)


@pytest.mark.parametrize("symbol", ["<", "<=", ">", ">=", "==", "!="])
def test_complex_ordering(symbol):
    # PyTorch orders no complex numbers (NumPy orders them lexicographically: was silent).
    op, failures = BINARY[symbol], []
    for tdt in ("float32", "complex64", "int64"):
        for other in (2 + 1j, 1.5, "complex64", "float32"):
            def run(m, tdt=tdt, other=other, flip=False):
                b = _tensor(m, other, shape=(2,)) if isinstance(other, str) else other
                return op(b, _tensor(m, tdt)) if flip else op(_tensor(m, tdt), b)

            label = f"{tdt} tensor {symbol} {other!r}"
            _compare(run, label, failures)
            _compare(functools.partial(run, flip=True), f"flipped {label}", failures)
    _none_failed(failures)
