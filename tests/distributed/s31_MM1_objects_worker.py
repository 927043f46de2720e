"""Run under ``mpiexec -n N``: gather_object, scatter_object_list, send / recv_object_list and
batch_isend_irecv (s31 MM1) on every rank; prints ``ok <rank>`` when this rank's results are
right."""

from __future__ import annotations

import sys

import deltagrad as dg
import deltagrad.distributed as dist


def main() -> None:
    dist.init_process_group("gloo")
    rank, size = dist.get_rank(), dist.get_world_size()
    mine = {"rank": rank, "values": list(range(rank + 1)), "tensor": dg.full((2,), float(rank))}
    # gather_object to the last rank
    last = size - 1
    gathered = [None] * size if rank == last else None
    dist.gather_object(mine, gathered, dst=last)
    if rank == last:
        assert [item["rank"] for item in gathered] == list(range(size)), gathered
        assert gathered[0]["tensor"].tolist() == [0.0, 0.0]
    # scatter_object_list from rank 0
    output = [None]
    inputs = [f"to {r}" for r in range(size)] if rank == 0 else None
    dist.scatter_object_list(output, inputs, src=0)
    assert output == [f"to {rank}"], output
    # send_object_list / recv_object_list around a ring, an empty object list included
    objects = [rank, "x" * (rank + 1), {"nested": [rank] * 3}]
    received = [None, None, None]
    if rank % 2 == 0:
        dist.send_object_list(objects, dst=(rank + 1) % size)
        sender = dist.recv_object_list(received, src=(rank - 1) % size)
    else:
        sender = dist.recv_object_list(received)
        dist.send_object_list(objects, dst=(rank + 1) % size)
    source = (rank - 1) % size
    assert sender == source, (sender, source)
    assert received == [source, "x" * (source + 1), {"nested": [source] * 3}], received
    # batch_isend_irecv: send to the next rank, receive from the previous one
    outgoing, incoming = dg.full((3,), float(rank)), dg.zeros(3)
    works = dist.batch_isend_irecv([dist.P2POp(dist.isend, outgoing, (rank + 1) % size),
                                    dist.P2POp(dist.irecv, incoming, (rank - 1) % size)])
    for work in works:
        work.wait()
    assert incoming.tolist() == [float(source)] * 3, incoming
    dist.destroy_process_group()
    print(f"ok {rank}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
