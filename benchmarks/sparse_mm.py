"""``torch.sparse.mm(S, D)`` forward + backward on a Cora-sized graph: deltagrad vs PyTorch vs
the SciPy floor, alternated in one process, one thread by default.

The sparse matrix is n x n with nnz distinct random positions (seeded), D is n x d, float32:
by default n = 2708, nnz = 13264, d = 64 (a graph convolution layer on Cora). Two cases:

- ``dense``: only D requires grad (a fixed adjacency: the usual GCN layer);
- ``both``: the sparse tensor's values require grad too (a sparse gradient on its pattern).

Variants:

- ``deltagrad``: ``dg.sparse.mm(S, D)`` then ``backward(g)`` (SciPy's CSR product, the default);
- ``deltagrad-numpy``: the same with ``sparse_ops.USE_SCIPY`` off (the NumPy fallback);
- ``torch``: the same calls in PyTorch;
- ``scipy-floor``: the arithmetic alone on arrays: ``csr @ D`` forward (the CSR matrix built
  once, outside the timing), ``csr.T @ g`` for D's
  gradient and, in the ``both`` case, the rows' dot products at the entries for the values'.

Before timing, deltagrad's output and gradients are checked against PyTorch's.

    python benchmarks/sparse_mm.py [--n 2708] [--nnz 13264] [--d 64] [--rounds 25]
"""

from __future__ import annotations

import argparse

import common
import numpy as np

CALLS = 10  # calls per timed block


def graph(n: int, nnz: int, d: int, seed: int = 0):
    """Distinct random positions (sorted), their values, D and the upstream gradient."""
    rng = np.random.default_rng(seed)
    linear = np.unique(rng.choice(n * n, size=nnz, replace=False))
    index = np.stack([linear // n, linear % n]).astype(np.int64)
    values = rng.standard_normal(nnz).astype(np.float32)
    dense = rng.standard_normal((n, d)).astype(np.float32)
    upstream = rng.standard_normal((n, d)).astype(np.float32)
    return index, values, dense, upstream


def variants(n, index, values, dense, upstream, values_grad: bool):
    """name -> a function running one forward + backward, returning (out, dD, dvalues)."""
    from scipy import sparse as scipy_sparse

    import deltagrad as dg
    from deltagrad._engine.ops import sparse_ops

    torch = common.import_torch(1)
    out = {}

    def ours(use_scipy: bool):
        s = dg.sparse_coo_tensor(dg.tensor(index), dg.tensor(values), (n, n)).coalesce()
        s.requires_grad_(values_grad)
        x, g = dg.tensor(dense, requires_grad=True), dg.tensor(upstream)

        def run():
            sparse_ops.USE_SCIPY = use_scipy
            try:
                x.grad = None
                s.grad = None
                result = dg.sparse.mm(s, x)
                result.backward(g)
            finally:
                sparse_ops.USE_SCIPY = True
            grad = s.grad.coalesce()._values().numpy() if values_grad else None
            return result.detach().numpy(), x.grad.numpy(), grad

        return run

    out["deltagrad"] = ours(True)
    out["deltagrad-numpy"] = ours(False)
    if torch is not None:
        ts = torch.sparse_coo_tensor(torch.tensor(index), torch.tensor(values),
                                     (n, n)).coalesce().requires_grad_(values_grad)
        tx, tg = torch.tensor(dense, requires_grad=True), torch.tensor(upstream)

        def theirs():
            tx.grad = None
            ts.grad = None
            result = torch.sparse.mm(ts, tx)
            result.backward(tg)
            grad = ts.grad.coalesce()._values().numpy() if values_grad else None
            return result.detach().numpy(), tx.grad.numpy(), grad

        out["torch"] = theirs
    rows, columns = index
    matrix = scipy_sparse.csr_matrix((values, (rows, columns)), shape=(n, n))  # (built once)

    def floor():
        result = matrix @ dense
        grad_dense = matrix.T @ upstream
        grad = (np.einsum("ij,ij->i", upstream[rows], dense[columns]) if values_grad
                else None)
        return result, grad_dense, grad

    out["scipy-floor"] = floor
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2708)
    parser.add_argument("--nnz", type=int, default=13264)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    common.set_threads(args.threads)
    index, values, dense, upstream = graph(args.n, args.nnz, args.d)
    print(f"sparse.mm fwd + bwd, n={args.n} nnz={args.nnz} d={args.d} float32, "
          f"{args.threads} thread(s), {args.rounds} rounds x {CALLS} calls")
    for case, values_grad in (("dense", False), ("both", True)):
        runs = variants(args.n, index, values, dense, upstream, values_grad)
        if "torch" in runs:
            want = runs["torch"]()
            for name in ("deltagrad", "deltagrad-numpy", "scipy-floor"):
                for label, got, ref in zip(("out", "dD", "dvalues"), runs[name](), want,
                                           strict=True):
                    if ref is not None:
                        common.assert_close(f"{case} {name} {label}", got, ref, 1e-4, 1e-4)

        def block(fn):
            return lambda: [fn() for _ in range(CALLS)]

        times = common.alternate({name: block(fn) for name, fn in runs.items()}, args.rounds)
        rows = []
        for name, samples in times.items():
            per_call = common.summarize(samples)["median"] / CALLS * 1e3
            ratio = (common.paired_ratio(samples, times["torch"])["median"]
                     if "torch" in times else float("nan"))
            rows.append((name, f"{per_call:.3f}", f"{ratio:.2f}"))
        print(f"\ncase {case!r} (values require grad: {values_grad})")
        print(common.text_table(("variant", "ms / call", "x torch"), rows))


if __name__ == "__main__":
    main()
