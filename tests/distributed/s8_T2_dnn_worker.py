"""Run by test_s8_T2_distributed_nn.py under ``mpiexec -n 2``: each rank checks
deltagrad.distributed.nn's values and gradients against the closed forms, then prints OK."""

import numpy as np

import deltagrad as dg
import deltagrad.distributed as dist
from deltagrad.distributed import nn as dist_nn


def main() -> None:
    dist.init_process_group("gloo")
    rank, size = dist.get_rank(), dist.get_world_size()
    base = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    weights = dg.tensor(base)
    x = dg.tensor(base + rank, requires_grad=True)
    total = sum(base + r for r in range(size))
    reduced = dist_nn.all_reduce(x * 2)
    (reduced * weights).sum().backward()
    np.testing.assert_allclose(reduced.detach().numpy(), 2 * total)
    np.testing.assert_allclose(x.grad.numpy(), 2 * size * base)  # all-reduced upstream, x2
    x.grad = None
    gathered = dist_nn.all_gather(x)
    for r, part in enumerate(gathered):
        np.testing.assert_allclose(part.detach().numpy(), base + r)
    mixed = sum((r + 1) * part for r, part in enumerate(gathered))
    (mixed ** 2).sum().backward()
    s = sum((r + 1) * (base + r) for r in range(size))
    np.testing.assert_allclose(x.grad.numpy(), size * 2 * s * (rank + 1))  # reduce-scattered
    x.grad = None
    sent = dist_nn.broadcast(x, 0)
    (sent * 3).sum().backward()
    np.testing.assert_allclose(sent.detach().numpy(), base)
    np.testing.assert_allclose(x.grad.numpy(), np.full_like(base, 3 * size if rank == 0 else 0))
    dist.destroy_process_group()
    print("OK")


if __name__ == "__main__":
    main()
