"""Regression tests for what running more libraries' own test suites under the alias found
(LE, session 15); each runs the same program on PyTorch and under deltagrad and compares."""

import textwrap

import alias_runs
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _both(program: str, tmp_path) -> tuple:
    """The program's output (stdout, then stderr) on PyTorch and under ``python -m deltagrad
    run`` (a process each: the classes below switch dispatch on for good in the process that
    makes them), each forked from its side's server in alias_runs.py, as the program tests
    run (s25, TT5: two fresh interpreters importing torch and deltagrad cost ~1.7 CPU s more a
    pair), or fresh with ``DELTAGRAD_TEST_FRESH=1``."""
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(program))
    done = alias_runs.run_each({side: [str(script)] for side in alias_runs.SIDES}, tmp_path,
                               timeout=120)
    for side, (returncode, output) in done.items():
        assert returncode == 0, f"{side}: {output[-2000:]}"
    return done["torch"][1], done["deltagrad"][1]


# linear_operator's LinearOperator keys its handled functions with decorators inside its class
# body (@_implements(torch.sum)), before the class exists; deltagrad put its dispatching
# wrappers in place only once the class was made, so `func` (the wrapper) missed the table and
# every torch.sum(op) / torch.matmul(op, x) raised NotImplementedError.
_TABLE_IN_BODY = """
    import torch

    HANDLED = {}


    def implements(function):
        def register(method):
            HANDLED[function] = method.__name__
            return method
        return register


    class Operator:
        def __init__(self, values):
            self.values = values

        @implements(torch.sum)
        def total(self):
            return self.values.sum() * 10

        @implements(torch.matmul)
        def times(self, other):
            return self.values @ other

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func not in HANDLED:
                raise NotImplementedError(func.__name__)
            return getattr(args[0], HANDLED[func])(*args[1:], **(kwargs or {}))


    op = Operator(torch.arange(4.0).reshape(2, 2))
    print(torch.sum(op).item(), torch.matmul(op, torch.ones(2, 1)).tolist())
    print(torch.sum in HANDLED, torch.matmul in HANDLED)
"""


def test_functions_keyed_inside_the_class_body_dispatch(tmp_path):
    real, ours = _both(_TABLE_IN_BODY, tmp_path)
    assert real == "60.0 [[1.0], [5.0]]\nTrue True\n"
    assert ours == real


# A class body that only reads the name (no handler of its own) leaves the public functions as
# they were: `torch.sum is f` for an f taken before it, as in PyTorch.
_NAME_ONLY = """
    import torch

    before = torch.sum


    class Reader:
        handler = torch.Tensor.__torch_function__


    class Plain:
        pass


    print(torch.sum is before, torch.sum(torch.ones(3)).item())
"""


def test_a_body_that_only_reads_the_name_changes_nothing(tmp_path):
    real, ours = _both(_NAME_ONLY, tmp_path)
    assert real == "True 3.0\n"
    assert ours == real


def _sparse_metadata(m):
    # linear_operator's sparse_getitem asks a COO tensor its ndimension() first.
    index = m.tensor([[0, 1, 2, 3, 4], [2, 1, 0, 0, 1]])
    coo = m.sparse_coo_tensor(index, m.tensor([3.0, 4.0, 5.0, 2.0, 6.0]), (5, 3))
    table = m.nn.Embedding(4, 2, sparse=True)
    table(m.tensor([1, 1, 3])).sum().backward()
    grad = table.weight.grad  # (a sparse gradient: rows, not COO entries)
    return coo.ndimension(), coo.nelement(), grad.ndimension(), grad.nelement()


def test_sparse_tensors_answer_ndimension_and_nelement():
    import deltagrad as dg
    assert _sparse_metadata(dg) == _sparse_metadata(torch) == (2, 15, 2, 8)


def _cholesky_out(m, upper):
    a = m.tensor([[4.0, 2.0, 0.5], [2.0, 5.0, 1.0], [0.5, 1.0, 3.0]])
    same = m.empty_like(a)
    returned = m.linalg.cholesky(a, upper=upper, out=same)
    empty = m.empty(0)
    m.linalg.cholesky(a, upper=upper, out=empty)  # (resized, with a warning in both)
    with pytest.raises(RuntimeError):
        m.linalg.cholesky(a, out=m.empty(3, 3, dtype=m.float64))
    factor, info = m.empty_like(a), m.empty((), dtype=m.int32)
    pair = m.linalg.cholesky_ex(a, upper=upper, out=(factor, info))  # (psd_safe_cholesky's)
    assert pair[0] is factor and pair[1] is info and int(info) == 0
    np.testing.assert_array_equal(factor.numpy(), same.numpy())
    return returned is same, same.numpy().copy(), tuple(empty.shape), empty.numpy().copy()


@pytest.mark.parametrize("upper", [False, True])
def test_linalg_cholesky_writes_out(upper):
    # linear_operator's test_psd_safe_cholesky_pd: torch.linalg.cholesky(A, out=L).
    import warnings

    import deltagrad as dg
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, real = _cholesky_out(dg, upper), _cholesky_out(torch, upper)
    assert ours[0] and real[0] and ours[2] == real[2] == (3, 3)
    np.testing.assert_allclose(ours[1], real[1], rtol=1e-6)
    np.testing.assert_allclose(ours[3], real[3], rtol=1e-6)


def _empty_sparse(m):
    # skorch's test_utils: torch.sparse_coo_tensor(size=(5, 3)), PyTorch's size-only form.
    out = []
    for sparse in (m.sparse_coo_tensor(size=(5, 3)), m.sparse_coo_tensor((2, 4)),
                   m.sparse_coo_tensor(size=(3,), dtype=m.float64)):
        out.append((tuple(sparse.shape), str(sparse.dtype).split(".")[-1], sparse._nnz(),
                    sparse.sparse_dim(), sparse.to_dense().numpy().tolist()))
    return out


def test_sparse_coo_tensor_of_a_size_alone():
    import deltagrad as dg
    assert _empty_sparse(dg) == _empty_sparse(torch)
    assert _empty_sparse(dg)[0][:3] == ((5, 3), "float32", 0)


def test_tcp_store_imports_and_refuses_clearly():
    # skorch's test_history.py imports TCPStore at module level (its 73 tests did not collect);
    # making one raises, naming the stores deltagrad has.
    from deltagrad.distributed import Store, TCPStore
    assert issubclass(TCPStore, Store) and issubclass(torch.distributed.TCPStore,
                                                       torch.distributed.Store)
    with pytest.raises(NotImplementedError, match="HashStore"):
        TCPStore("127.0.0.1", port=1234, world_size=1, is_master=True)
