"""Session 20's lead: what the merge found."""

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("sparse", [True, False])
def test_dsmm_as_pytorch(sparse):
    """``torch.dsmm`` (gpytorch's SKI through linear_operator's ``bdsmm`` reached it once a
    sparse input to an ``autograd.Function`` worked): values and the dense operand's gradient."""
    rng = np.random.default_rng(0)
    index, values = np.array([[0, 1, 2, 2], [1, 0, 2, 0]]), rng.standard_normal(4)
    dense = rng.standard_normal((3, 4))
    results = []
    for lib in (dg, torch):
        a = lib.sparse_coo_tensor(lib.tensor(index), lib.tensor(values), (3, 3))
        a = a if sparse else a.to_dense()
        b = lib.tensor(dense, requires_grad=True)
        out = lib.dsmm(a, b)
        (out * lib.arange(12.0, dtype=lib.float64).reshape(3, 4)).sum().backward()
        results.append((out.detach().numpy(), b.grad.numpy(), out.layout == lib.strided))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)
    assert results[0][2] and results[1][2]


SPAWNED = '''
import multiprocessing as mp
import sys

import torch


def work(queue, tensor):
    queue.put(("deltagrad" in torch.__file__, float((tensor * 2).sum()), __name__))


def main():
    results = []
    for method in ("spawn", "forkserver"):
        context = mp.get_context(method)
        queue = context.Queue()
        child = context.Process(target=work, args=(queue, torch.arange(4.0)))
        child.start()
        results.append(queue.get(timeout=120))
        child.join()
    print(results, sys.argv[1:])


if __name__ == "__main__":
    main()
'''


def test_run_gives_spawned_children_the_alias(tmp_path):
    """``python -m deltagrad run``: children started by spawn / forkserver rebuild the script's
    main module through ``deltagrad._alias_main`` with the alias in place (before, they ran it
    with the real PyTorch and could not unpickle a deltagrad tensor), without its main block."""
    import os
    import subprocess
    import sys

    script = tmp_path / "spawned.py"
    script.write_text(SPAWNED)
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(dg.__file__)))
    done = subprocess.run([sys.executable, "-m", "deltagrad", "run", script.name, "x"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = [(True, 12.0, "__mp_main__")] * 2
    assert done.stdout.strip() == f"{expected} ['x']"
