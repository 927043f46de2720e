"""Session 20 (SP4): linalg.matrix_rank on empty inputs answers without the SVD (rank 0 for
each matrix), and a non-square ``hermitian=True`` input gives PyTorch's RuntimeError (NumPy's
LinAlgError before, a ValueError) or, when empty, PyTorch's zeros."""

import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

_SHAPES = [(0, 0), (0, 5, 5), (5, 0), (3, 0, 4), (2, 3, 0, 0), (0, 5), (5, 3), (2, 5, 3),
           (4, 4), (2, 4, 4)]


def _outcome(library, shape, hermitian, kwargs):
    try:
        value = library.linalg.matrix_rank(library.ones(shape), hermitian=hermitian, **kwargs)
    except Exception as error:  # (the outcome compared is the exception's type)
        return type(error).__name__
    return tuple(value.shape), str(value.dtype).split(".")[-1], value.numpy().tolist()


@pytest.mark.parametrize("shape", _SHAPES)
@pytest.mark.parametrize("hermitian", [False, True])
@pytest.mark.parametrize("kwargs", [{}, {"atol": 0.5}, {"rtol": 0.1}])
def test_matches_pytorch(shape, hermitian, kwargs):
    assert _outcome(dg, shape, hermitian, kwargs) == _outcome(torch, shape, hermitian, kwargs)


def test_non_square_hermitian_message():
    with pytest.raises(RuntimeError, match="square"):
        dg.linalg.matrix_rank(dg.ones(5, 3), hermitian=True)
