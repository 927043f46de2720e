"""Which index dtypes the index functions take, against PyTorch: the dtype tests compare dtypes
with names (``dtype == "int64"``), not NumPy's slow ``dtype.name`` (s13 PS), and must accept and
refuse exactly what PyTorch does."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

DTYPES = ("int64", "int32", "int16", "int8", "uint8")
# (a repeated index, not an expanded one: PyTorch 2.13's CPU gather with an int32 index of
# stride 0 reads the first row for every row, a PyTorch bug deltagrad does not copy)
CALLS = {
    "index_select": lambda m, x, i: m.index_select(x, 0, i),
    "index_add": lambda m, x, i: m.index_add(x, 0, i, m.ones(2, 3)),
    "index_copy": lambda m, x, i: m.index_copy(x, 0, i, m.ones(2, 3)),
    "index_fill": lambda m, x, i: m.index_fill(x, 0, i, 1.5),
    "gather": lambda m, x, i: m.gather(x, 0, i.reshape(2, 1).repeat(1, 3)),
    "scatter_add": lambda m, x, i: m.scatter_add(x, 0, i.reshape(2, 1).repeat(1, 3),
                                                  m.ones(2, 3)),
    "getitem": lambda m, x, i: x[i],
    "getitem_pair": lambda m, x, i: x[i, i],
}


def _outcome(m, call, dtype):
    x = m.tensor(np.arange(12.0, dtype=np.float32).reshape(4, 3))
    i = m.tensor(np.array([2, 0]), dtype=getattr(m, dtype))
    try:
        out = call(m, x, i)
    except Exception as exc:  # noqa: BLE001 - the class is compared
        return type(exc).__name__
    return np.asarray(out.detach().numpy()).tolist()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(CALLS))
def test_index_dtypes_as_pytorch(name, dtype):
    want = _outcome(torch, CALLS[name], dtype)
    got = _outcome(dg, CALLS[name], dtype)
    if isinstance(want, str):
        assert isinstance(got, str), f"{name} {dtype}: PyTorch raises {want}, deltagrad {got}"
        assert got == want or (want == "RuntimeError" and got in ("ShapeError", "DTypeError")), (
            f"{name} {dtype}: {got} (PyTorch {want})")
    else:
        assert got == want
