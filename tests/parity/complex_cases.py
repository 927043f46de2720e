"""Inputs and tolerances shared by the complex-autograd parity tests (test_s16_CX_complex.py,
test_s16_CE_complex_*.py): one definition, so the files cannot drift apart."""
import numpy as np

COMPLEX = [np.complex64, np.complex128]
# Gradients through LAPACK-backed ops in complex64 differ from PyTorch's in the 5th digit.
TOL = {np.complex64: 2e-4, np.complex128: 1e-10}


def complex_array(rng, *shape, dtype=np.complex128):
    """Standard normal real and imaginary parts, in ``dtype``."""
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
