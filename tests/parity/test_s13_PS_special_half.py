"""special.*, cdist and matrix_norm refuse half precision as PyTorch's CPU kernels do: their tests
compare dtypes with names (``dtype in ("float16", "bfloat16")``), not NumPy's slow ``dtype.name``
(s13 PS)."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

OPS = ("bessel_j0", "modified_bessel_i0", "scaled_modified_bessel_k1", "spherical_bessel_j0")


def _outcome(m, name, dtype):
    x = m.tensor(np.array([0.5, 1.5, 3.0]), dtype=getattr(m, dtype))
    try:
        out = getattr(m.special, name)(x)
    except Exception as exc:  # noqa: BLE001 - the class is compared
        return type(exc).__name__
    return str(out.dtype).split(".")[-1], np.round(out.float().numpy(), 4).tolist()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "int64"])
@pytest.mark.parametrize("name", OPS)
def test_special_dtypes_as_pytorch(name, dtype):
    assert _outcome(dg, name, dtype) == _outcome(torch, name, dtype)


LINALG = {"cdist": lambda m, x: m.cdist(x, x), "matrix_norm_2": lambda m, x: m.linalg.matrix_norm(
    x, 2), "matrix_norm_fro": lambda m, x: m.linalg.matrix_norm(x)}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
@pytest.mark.parametrize("name", sorted(LINALG))
def test_linalg_half_precision_as_pytorch(name, dtype):
    # (cdist and matrix_norm test the dtype without NumPy's dtype.name too: s13 PS)
    def outcome(m):
        x = m.tensor(np.arange(18.0).reshape(2, 3, 3) / 7, dtype=getattr(m, dtype))
        try:
            out = LINALG[name](m, x)
        except Exception as exc:  # noqa: BLE001 - the class is compared
            return type(exc).__name__
        return str(out.dtype).split(".")[-1], np.round(out.float().numpy(), 2).tolist()

    assert outcome(dg) == outcome(torch)
