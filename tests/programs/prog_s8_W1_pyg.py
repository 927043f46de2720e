"""torch_geometric programs (W1), run unchanged on PyTorch and under ``python -m deltagrad run``.

Usage: ``prog_s8_W1_pyg.py OUT.npz``. GCNConv, SAGEConv and GATConv node classifiers on a small
seeded random graph, a few Adam steps each (losses, final weights, predictions), plus the Data
object's repr and a mini-batch through ``torch_geometric.loader.DataLoader`` with global pooling.
Every number goes to OUT.npz; a section that raises records its traceback as ``ERR.<section>``.
"""

import sys
import traceback

import numpy as np
import torch

OUT: dict = {}


def put(prefix: str, value) -> None:
    if isinstance(value, torch.Tensor):
        OUT[prefix] = value.detach().numpy()
        OUT[prefix + ".dtype"] = np.asarray(str(value.dtype).rsplit(".", 1)[-1])
    else:
        OUT[prefix] = np.asarray(value)


def graph():
    generator = torch.Generator().manual_seed(3)
    nodes, edges = 12, 30
    x = torch.randn(nodes, 5, generator=generator)
    src = torch.randint(0, nodes, (edges,), generator=generator)
    dst = torch.randint(0, nodes, (edges,), generator=generator)
    keep = src != dst
    edge_index = torch.stack([src[keep], dst[keep]])
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, edge_index, y


def node_classifier(name: str) -> None:
    import torch_geometric.nn as gnn
    from torch_geometric.data import Data

    x, edge_index, y = graph()
    data = Data(x=x, edge_index=edge_index, y=y)
    put(f"{name}.repr", repr(data))
    torch.manual_seed(0)
    layer = {"gcn": lambda i, o: gnn.GCNConv(i, o), "sage": lambda i, o: gnn.SAGEConv(i, o),
             "gat": lambda i, o: gnn.GATConv(i, o, heads=2, concat=False)}[name]
    first, second = layer(5, 8), layer(8, 2)
    params = list(first.parameters()) + list(second.parameters())
    # (SGD: Adam would scale float-rounding noise of a near-zero GAT gradient up to lr)
    optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        hidden = torch.relu(first(data.x, data.edge_index))
        out = second(hidden, data.edge_index)
        loss = torch.nn.functional.cross_entropy(out, data.y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put(f"{name}.losses", np.array(losses))
    put(f"{name}.grad0", params[0].grad)
    for index, param in enumerate(params):
        put(f"{name}.param{index}", param)
    with torch.no_grad():
        put(f"{name}.pred", second(torch.relu(first(x, edge_index)), edge_index).argmax(-1))


def batches() -> None:
    import torch_geometric.nn as gnn
    from torch_geometric.data import Data
    from torch_geometric.loader import DataLoader

    x, edge_index, y = graph()
    graphs = [Data(x=x[i:i + 6], edge_index=edge_index[:, (edge_index < i + 6).all(0)
                                                        & (edge_index >= i).all(0)] - i)
              for i in range(0, 6, 2)]
    loader = DataLoader(graphs, batch_size=2, shuffle=False)
    torch.manual_seed(1)
    conv = gnn.GCNConv(5, 4)
    for index, batch in enumerate(loader):
        put(f"batch.{index}.batch", batch.batch)
        put(f"batch.{index}.edge_index", batch.edge_index)
        pooled = gnn.global_mean_pool(conv(batch.x, batch.edge_index), batch.batch)
        put(f"batch.{index}.pooled", pooled)


def main() -> None:
    sections = {"gcn": lambda: node_classifier("gcn"), "sage": lambda: node_classifier("sage"),
                "gat": lambda: node_classifier("gat"), "batch": batches}
    for name, run in sections.items():
        try:
            run()
        except Exception:  # noqa: BLE001 - recorded for the test to show
            OUT[f"ERR.{name}"] = np.asarray(traceback.format_exc())
    np.savez(sys.argv[1], **OUT)


if __name__ == "__main__":
    main()
