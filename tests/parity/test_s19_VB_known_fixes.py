"""KNOWN entries of s17_SL_known.py fixed in session 19 (VB), each against PyTorch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import deltagrad as dg  # noqa: E402

OUT_DTYPES = ["float16", "float32", "float64", "int64", "complex64", "complex128"]


def _abs_into(lib, source: str, target: str):
    x = lib.tensor([3 + 4j, -0.5j, 0j] if source.startswith("complex") else [-3.0, 0.5, 0.0],
                   dtype=getattr(lib, source))
    out = lib.zeros(3, dtype=getattr(lib, target))
    try:
        lib.abs(x, out=out)
    except RuntimeError as error:
        return "raises", str(error).split(":")[0]
    return "ok", out.numpy().tolist(), str(out.dtype).rsplit(".", 1)[-1]


@pytest.mark.parametrize("source", ["complex64", "complex128", "float32", "float64"])
@pytest.mark.parametrize("target", OUT_DTYPES)
def test_abs_out_dtypes_match_pytorch(source, target):
    # _complex_abs_out: a complex input's real abs is cast into a floating out= of any
    # precision (deltagrad asked for the result's exact dtype); a complex out= must be the
    # input's dtype, an integer one refuses, as PyTorch's.
    ref, got = _abs_into(torch, source, target), _abs_into(dg, source, target)
    assert got[0] == ref[0], (got, ref)
    if ref[0] == "ok":
        np.testing.assert_allclose(np.array(got[1]), np.array(ref[1]), rtol=1e-3)
        assert got[2] == ref[2]
    else:
        assert got[1] == ref[1]
