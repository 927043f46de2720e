"""Small differences from PyTorch 2.13 found in session 25, each checked against it (BR9):
once-per-process deprecation warnings of ``torch.where`` with a uint8 condition, ``torch.qr``
and ``torch.cholesky``; ``x[uint8_mask] = number`` (PyTorch's masked_fill_ refuses the mask);
the deprecated ``addmm(beta, input, alpha, mat1, mat2)`` / ``baddbmm`` overloads (TypeError
here) and the function form's warning text of ``torch.addcmul(x, 0.5, a, b)``;
``dtype.to_complex()`` / ``to_real()``; no ``Tensor.tensordot`` (PyTorch has none, and it took
``out=``); ``isposinf`` / ``isneginf`` of complex input; a bool after the first size of
``empty_strided``; ``fill`` / ``fill_`` node names; the resized-``out=`` warning of ``var`` at
the user's line.
"""

import subprocess
import sys
import warnings

import pytest

import deltagrad as dg
from deltagrad._engine import errors

torch = pytest.importorskip("torch")

_OVERLOAD = "deprecated scalar-first overload"  # (one key for all: PyTorch's parser's once)


def _said(fn):
    """(result or exception type, [(category, message without PyTorch's C++ location,
    file name)]) of ``fn()``."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - compared
            result = type(exc)
    return result, [(w.category, str(w.message).split(" (Triggered internally")[0],
                     w.filename) for w in record]


def _both(make):
    """``_said`` of ``make(lib)`` for PyTorch and deltagrad."""
    return [_said(lambda lib=lib: make(lib)) for lib in (torch, dg)]


@pytest.mark.parametrize("key, make", [
    ("where uint8", lambda m: m.where(m.tensor([1, 0, 1], dtype=m.uint8), m.tensor([1.0, 2, 3]),
                                      m.tensor(0.0)).tolist()),
    ("qr", lambda m: [round(v, 4) for t in m.qr(m.tensor([[4.0, 1.0], [1.0, 3.0]]))
                      for v in t.flatten().tolist()]),
    ("cholesky", lambda m: m.cholesky(m.tensor([[4.0, 1.0], [1.0, 3.0]]),
                                      upper=True).tolist()),
])
def test_once_per_process_deprecations(key, make):
    errors._WARNED_ONCE.discard(key)  # (a fresh process's state; PyTorch's may have warned)
    first, again = _said(lambda: make(dg)), _said(lambda: make(dg))
    expected, _ = _said(lambda: make(torch))
    assert first[0] == expected
    assert len(first[1]) == 1 and first[1][0][2] == __file__  # (at the user's line)
    assert again == (first[0], [])
    # PyTorch's text (its once-per-process warning may be spent: a fresh interpreter's)
    assert first[1][0][1].startswith({"where uint8": "where received a uint8 condition tensor",
                                      "qr": "torch.qr is deprecated in favor of torch.linalg.qr",
                                      "cholesky": "torch.cholesky is deprecated in favor of "
                                                  "torch.linalg.cholesky"}[key])


def _masked_write(lib, index, value):
    y = lib.arange(6.0).reshape(3, 2)
    y[index(lib)] = value(lib)
    return y.tolist()


_U8 = [1, 0, 1]


@pytest.mark.parametrize("index", [
    lambda m: m.tensor(_U8, dtype=m.uint8), lambda m: (m.tensor(_U8, dtype=m.uint8), 0),
    lambda m: (None, m.tensor(_U8, dtype=m.uint8)),
    lambda m: (..., m.tensor([0, 1], dtype=m.uint8)),
    lambda m: (m.tensor(_U8, dtype=m.uint8), True),  # (PyTorch's index_put: no masked_fill_)
    lambda m: (m.tensor(_U8, dtype=m.uint8), m.tensor([1, 1], dtype=m.uint8)),
    lambda m: m.tensor(_U8, dtype=m.uint8).numpy(), lambda m: m.tensor(_U8).bool(),
])
@pytest.mark.parametrize("value", [lambda m: 5.0, lambda m: 5, lambda m: m.tensor(5.0),
                                   lambda m: m.tensor([6.0]), lambda m: m.tensor([7.0, 8.0])])
def test_uint8_mask_write(index, value):
    got = _both(lambda m: _masked_write(m, index, value))
    assert [result for result, _ in got][0] == got[1][0]
    assert [[(c, text) for c, text, _ in said] for _, said in got][0] == [
        (c, text) for c, text, _ in got[1][1]]


_PYTORCH_TEXTS = {  # (PyTorch 2.13's, read from it: its once-per-process warning is spent
    # after the first deprecated overload in a process; test_overload_texts_soak checks all)
    "function": "This overload of addmm is deprecated:\n\taddmm(Number beta, Tensor input, "
                "Number alpha, Tensor mat1, Tensor mat2, *, Tensor out = None)\nConsider using "
                "one of the following signatures instead:\n\taddmm(Tensor input, Tensor mat1, "
                "Tensor mat2, *, Number beta = 1, Number alpha = 1, Tensor out = None)\n\taddmm("
                "Tensor input, Tensor mat1, Tensor mat2, torch.dtype out_dtype, *, Number beta "
                "= 1, Number alpha = 1, Tensor out = None)",
    "method": "This overload of addmm is deprecated:\n\taddmm(Number beta, Tensor mat1, Tensor "
              "mat2)\nConsider using one of the following signatures instead:\n\taddmm(Tensor "
              "mat1, Tensor mat2, *, Number beta = 1, Number alpha = 1)",
    "addcmul": "This overload of addcmul is deprecated:\n\taddcmul(Tensor input, Number value, "
               "Tensor tensor1, Tensor tensor2, *, Tensor out = None)\nConsider using one of the "
               "following signatures instead:\n\taddcmul(Tensor input, Tensor tensor1, Tensor "
               "tensor2, *, Number value = 1, Tensor out = None)",
}

_M = [[1.0, 2.0], [3.0, 4.0]]
_OVERLOADS = {
    "function": lambda m: m.addmm(0.5, m.tensor(_M), 2.0, m.tensor(_M), m.eye(2)).tolist(),
    "method": lambda m: m.tensor(_M).addmm(0.5, m.tensor(_M), m.eye(2)).tolist(),
    "addcmul": lambda m: m.addcmul(m.ones(2), 0.5, m.tensor([1.0, 2]), m.tensor([3.0, 4])).tolist(),
    "baddbmm": lambda m: m.baddbmm(0.5, m.ones(1, 2, 2), 3, m.ones(1, 2, 3),
                                   m.ones(1, 3, 2)).tolist(),
    "method_": lambda m: m.tensor(_M).addmm_(0.5, 2.0, m.ones(2, 1), m.ones(1, 2)).tolist(),
    "with out": lambda m: m.addmm(0.5, m.tensor(_M), m.eye(2), m.eye(2),
                                  out=m.empty(2, 2)).tolist(),
    "no form": lambda m: m.addmm(m.tensor(_M), 0.5, m.eye(2), m.eye(2)),
    "too few": lambda m: m.tensor(_M).addmm(0.5, m.eye(2)),
}


@pytest.mark.parametrize("name", list(_OVERLOADS))
def test_deprecated_overloads(name):
    errors._WARNED_ONCE.discard(_OVERLOAD)
    ours = _said(lambda: _OVERLOADS[name](dg))
    assert ours[0] == _said(lambda: _OVERLOADS[name](torch))[0]
    if name in ("no form", "too few"):
        assert ours == (TypeError, [])
        return
    assert len(ours[1]) == 1 and ours[1][0][2] == __file__
    if name in _PYTORCH_TEXTS:
        assert ours[1][0][1] == _PYTORCH_TEXTS[name]
    assert _said(lambda: _OVERLOADS[name](dg)) == (ours[0], [])  # (once per process)


@pytest.mark.soak  # (a fresh PyTorch interpreter per form, ~2 s each: its warning is once)
@pytest.mark.parametrize("name", [n for n in _OVERLOADS if n not in ("no form", "too few")])
def test_overload_texts_soak(name):
    source = (f"import warnings, {{lib}} as m\nwarnings.simplefilter('always')\n_M = {_M!r}\n"
              f"with warnings.catch_warnings(record=True) as r:\n"
              f"    warnings.simplefilter('always')\n    m.ones(1)\n")
    import inspect
    body = inspect.getsource(_OVERLOADS[name]).split("lambda m: ", 1)[1].rstrip().rstrip(",")
    texts = []
    for lib in ("torch", "deltagrad"):
        code = source.format(lib=lib) + f"    ({body})\nprint(repr(str(r[0].message)" \
            ".split(' (Triggered')[0]))\n"
        texts.append(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True, check=True).stdout)
    assert texts[1] == texts[0]  # (in-place too: addmm_, BR12)


@pytest.mark.parametrize("make", [
    lambda m: (m.float32.to_complex(), m.float64.to_complex(), m.bfloat16.to_complex(),
               m.complex64.to_complex(), m.float16.to_complex()),
    lambda m: (m.complex64.to_real(), m.complex128.to_real(), m.complex32.to_real(),
               m.float32.to_real(), m.int32.to_real(), m.bool.to_real()),
    lambda m: m.int64.to_complex(), lambda m: m.uint8.to_complex(), lambda m: m.bool.to_complex(),
])
def test_dtype_to_complex_to_real(make):
    expected, ours = _both(lambda m: (lambda r: tuple(map(str, r)) if isinstance(r, tuple)
                                      else r)(make(m)))
    assert ours[0] == tuple(t.replace("torch.", "deltagrad.") for t in expected[0]) \
        if isinstance(expected[0], tuple) else ours == expected
    with pytest.raises(RuntimeError, match="^Unknown Complex ScalarType for Long$"):
        dg.int64.to_complex()


def test_no_tensor_tensordot():
    assert hasattr(torch.ones(1), "tensordot") is hasattr(dg.ones(1), "tensordot") is False
    assert dg.tensordot(dg.ones(2, 3), dg.ones(3, 2), 1).tolist() == [[3.0, 3.0], [3.0, 3.0]]


@pytest.mark.parametrize("make", [
    lambda m: m.isposinf(m.tensor([1 + 1j])), lambda m: m.isneginf(m.tensor([1 + 1j])),
    lambda m: m.tensor([complex("-inf")]).isneginf(),
    lambda m: m.isposinf(m.tensor([1j]), out=m.empty(1, dtype=m.bool)),
    lambda m: m.isneginf(m.tensor([-float("inf"), 1.0])).tolist(),
])
def test_isposinf_isneginf_complex(make):
    expected, ours = _both(make)
    assert ours == expected
    with pytest.raises(RuntimeError, match="^isposinf does not support complex inputs.$"):
        dg.isposinf(dg.tensor([1j]))


@pytest.mark.parametrize("call", [
    lambda m: tuple(m.empty_strided((2, True), (1, 1)).shape),
    lambda m: tuple(m.empty_strided([2, False], [1, True]).stride()),
    lambda m: tuple(m.ones(6).new_empty_strided((3, True), (1, 1)).shape),
    lambda m: tuple(m.as_strided(m.ones(6), (2, True), (1, 1)).shape),
    lambda m: m.empty_strided((True,), (1,)), lambda m: m.empty_strided((2, 3), (True, 1)),
])
def test_empty_strided_bool_sizes(call):
    expected, ours = _both(call)
    assert ours == expected


@pytest.mark.parametrize("value_kind", ["number", "tensor", "tensor with grad"])
@pytest.mark.parametrize("function", ["fill", "fill_"])
def test_fill_node_names(function, value_kind):
    got = []
    for m in (torch, dg):
        x = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        v = 2.0 if value_kind == "number" else m.tensor(2.0, requires_grad="grad" in value_kind)
        y = m.fill(x, v) if function == "fill" else (x * 1).fill_(v)
        (y * m.tensor([1.0, 2.0, 3.0])).sum().backward()
        got.append((y.grad_fn.name(), y.tolist(), x.grad.tolist(),
                    v.grad.tolist() if value_kind == "tensor with grad" else None))
    assert got[1] == got[0]


@pytest.mark.parametrize("name", ["var", "std", "add"])
def test_resized_out_warning_at_the_users_line(name):
    def call(m):
        a = m.tensor([[4.0, 1.0], [1.0, 3.0]])
        out = m.empty(5)
        if name == "add":
            return m.add(a[0], a[1], out=out).tolist()
        return getattr(m, name)(a, 0, out=out).tolist()

    expected, ours = _both(call)
    assert ours[0] == pytest.approx(expected[0])
    assert [(c, text[:60], file) for c, text, file in ours[1]] == [
        (c, text[:60], file) for c, text, file in expected[1]]
    assert ours[1][0][2] == __file__
