"""PyTorch's own documentation examples of ``torch.*``, ``Tensor.*``, ``torch.linalg``,
``torch.fft``, ``torch.special``, ``torch.Generator`` and ``torch.Size``, run differentially:
each ``>>>`` block of the INSTALLED PyTorch's docstrings runs once under PyTorch and once under
deltagrad bound to ``torch`` (s28_DX_docharness.py), and what each line prints must agree.

One test per documented name (its id: the qualified name). ``KNOWN``: blocks that differ for a
reviewed reason; such an entry must still differ (a fix makes it stale: remove it). ``SKIP``:
blocks whose output no implementation can reproduce (uninitialised memory, entropy). ``NOISE``:
lines of a block that print a quantity at rounding level (compared not; the rest is).
``SLOW``: blocks costing more than 0.3 s of one core: under ``@pytest.mark.soak``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

sys.path.insert(0, str(Path(__file__).parent))

from s28_DX_docharness import block, check_example, targets  # noqa: E402

_SOURCES = [(torch, "torch"), (torch.Tensor, "Tensor"), (torch.linalg, "linalg"),
            (torch.fft, "fft"), (torch.special, "special"), (torch.Generator, "Generator"),
            (torch.Size, "Size")]
# (torch.Size / dtype / finfo / iinfo / Generator / Tensor's own class docstrings hold no
# example in PyTorch 2.13: their methods' docstrings are read above)

_LAZY_BITS = ("PyTorch's conj() / _neg_view() return views with a lazy conjugate / negative "
              "bit (is_conj() / is_neg() True until resolved); deltagrad computes the "
              "values at once, so its is_conj() / is_neg() are False")
_QUANTIZED = ("quantized tensors (quint8 / qint8 with scale and zero point) are not "
              "implemented: a clear NotImplementedError")
_SPARSE_DENSE_DIM = ("sparse compressed layouts with dense dims (dense_dim=) and the block "
                     "layouts (to_sparse_bsr / bsc) are not implemented: NotImplementedError")
KNOWN = {
    "torch.conj": _LAZY_BITS,
    "torch.resolve_conj": _LAZY_BITS,
    "torch.resolve_neg": _LAZY_BITS,
    "torch.quantize_per_channel": _QUANTIZED,
    "torch.quantize_per_tensor": _QUANTIZED,
    "torch.quantize_per_tensor_dynamic": _QUANTIZED,
    "torch.quantized_batch_norm": _QUANTIZED,
    "torch.quantized_max_pool1d": _QUANTIZED,
    "torch.quantized_max_pool2d": _QUANTIZED,
    "torch.set_default_dtype": "a complex number under a float16 default is complex32 in "
                               "PyTorch, not implemented here: NotImplementedError",
    "torch.set_flush_denormal": "NumPy cannot flush denormals: set_flush_denormal(True) "
                                "returns False (PyTorch's answer where unsupported) and "
                                "changes nothing",
    "Tensor.to_sparse": "to_sparse(layout=sparse_csr, dense_dim=1): " + _SPARSE_DENSE_DIM,
    "Tensor.to_sparse_bsc": _SPARSE_DENSE_DIM,
    "Tensor.to_sparse_bsr": _SPARSE_DENSE_DIM,
    "Tensor.to_sparse_csc": _SPARSE_DENSE_DIM,
    "Tensor.to_sparse_csr": _SPARSE_DENSE_DIM,
    "Generator.manual_seed": "repr(Generator): PyTorch's <torch._C.Generator object at 0x...>, "
                             "deltagrad's Generator(seed=...) (reviewed by SL17: a debugging "
                             "aid tests/test_random_stream.py asserts)",
    "Generator.set_state": "repr(Generator), as Generator.manual_seed",
    "Tensor.view": "x.view(torch.uint8) prints the bytes of randn(4, 4): float32 normals agree "
                   "with PyTorch's to an ulp, not bit for bit (NumPy's log / sin / cos are not "
                   "PyTorch's vectorised ones; a bit-exact emulation cost randn(8, 8) 7.6 -> "
                   "54 us, 55x PyTorch, and was left out)",
}
_UNINITIALISED = "prints uninitialised memory (PyTorch's garbage; deltagrad's zeros)"
SKIP = {
    "torch.empty": _UNINITIALISED,
    "torch.empty_strided": _UNINITIALISED,
    "Tensor.new_empty": _UNINITIALISED,
    "Tensor.new_empty_strided": _UNINITIALISED,
    "Generator.seed": "prints a seed drawn from the OS's entropy",
}
NOISE = {
    "torch.cholesky_inverse": {8},  # dist of two complex64 inverses of an ill-conditioned A
    "fft.hfft2": {5},  # allclose of a float32 FFT round trip (elements near 0: rtol fails)
    "fft.hfftn": {5},
    # allclose(X @ A, B) at the default tolerance of a float32 solve: PyTorch's False, ours True
    # (A is randn: float32 normals agree to an ulp, and the residual sits at the tolerance)
    "linalg.lu_solve": {10},
}
SLOW = {"torch.conv3d", "torch.conv_transpose3d"}  # (0.3-1.8 s each, PyTorch's half included)

_TIME_LIMIT = 20  # seconds a block may take (both libraries) before it fails


def _all_targets() -> list:
    found = []
    for obj, prefix in _SOURCES:
        found += [(name, doc) for name, doc in targets(obj, prefix) if block(doc)]
    return found


_TARGETS = dict(_all_targets())


def test_lists_name_documented_examples():
    # every KNOWN / SKIP / NOISE / SLOW name still has an example (a renamed or removed
    # docstring leaves a stale entry)
    stale = (set(KNOWN) | set(SKIP) | set(NOISE) | SLOW) - set(_TARGETS)
    assert not stale, f"entries without a documented example: {sorted(stale)}"


def _check(name: str) -> None:
    check_example(name, _TARGETS[name], known=KNOWN, skip=SKIP, time_limit=_TIME_LIMIT,
                  skip_lines=NOISE.get(name, ()))


@pytest.mark.parametrize("name", sorted(set(_TARGETS) - SLOW))
def test_documentation_example(name):
    _check(name)


@pytest.mark.soak
@pytest.mark.parametrize("name", sorted(SLOW))
def test_slow_documentation_example(name):
    _check(name)
