"""Edges users meet, afresh (PR4, session 21): the common mistakes (shape mismatches, wrong
target dtypes, backward twice, in-place on a leaf, mean of integers, device strings) caught and
printed as a notebook does; parametrized modules (orthogonal, spectral and weight norm through
torch.nn.utils.parametrizations, a custom parametrization, their state dict keys, caching);
and evaluation code (ROC AUC by sorting and trapezoid, precision-recall, calibration error by
bucketize, confusion matrices by bincount, top-k accuracy, mean average precision). Tiny sizes;
run by prog_s21_PR4_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.nn.utils import parametrizations, parametrize


def _caught(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the kind of error is what is recorded
        kind = "RuntimeError" if isinstance(error, RuntimeError) else type(error).__name__
        return kind, str(error)
    return "none", ""


def section_mistakes() -> None:
    linear = nn.Linear(4, 3)
    leaf = torch.ones(3, requires_grad=True)

    def backward_twice():
        y = (leaf * leaf).sum()
        y.backward()
        y.backward()

    def inplace_leaf():
        leaf.add_(1)

    def long_mean():
        return torch.arange(5).mean()

    def view_non_contiguous():
        return torch.randn(3, 4).t().view(12)

    def float_target():
        return F.cross_entropy(torch.randn(2, 3), torch.tensor([0.0, 1.0]))

    def wrong_class():
        return F.nll_loss(torch.randn(2, 3).log_softmax(1), torch.tensor([0, 3]))

    cases = {
        "linear_shape": lambda: linear(torch.randn(2, 5)),
        "matmul_shape": lambda: torch.randn(2, 3) @ torch.randn(4, 2),
        "cat_shape": lambda: torch.cat([torch.zeros(2, 3), torch.zeros(3, 2)]),
        "stack_shape": lambda: torch.stack([torch.zeros(2), torch.zeros(3)]),
        "broadcast": lambda: torch.zeros(2, 3) + torch.zeros(4),
        "backward_twice": backward_twice,
        "inplace_leaf": inplace_leaf,
        "long_mean": long_mean,
        "view": view_non_contiguous,
        "float_target": float_target,
        "wrong_class": wrong_class,
        "index_oob": lambda: torch.arange(3)[5],
        "embedding_oob": lambda: nn.Embedding(4, 2)(torch.tensor([4])),
        "item_many": lambda: torch.zeros(2).item(),
        "numpy_grad": lambda: leaf.numpy(),
        "bool_sub": lambda: torch.tensor([True]) - torch.tensor([False]),
        "bool_sub_one": lambda: torch.tensor([1.0]) - torch.tensor([True]),
        "reshape": lambda: torch.zeros(6).reshape(4, -1),
        "dim_range": lambda: torch.zeros(2, 3).sum(2),
        "conv_channels": lambda: nn.Conv2d(3, 4, 3)(torch.zeros(1, 2, 5, 5)),
        "bce_range": lambda: F.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0])),
        "grad_non_scalar": lambda: (leaf * 2).backward(),
        "no_grad_fn": lambda: torch.ones(2).sum().backward(),
        "load_shape": lambda: nn.Linear(2, 2).load_state_dict(nn.Linear(3, 2).state_dict()),
        "optim_empty": lambda: torch.optim.SGD([], lr=0.1),
        "softmax_int": lambda: torch.arange(3).softmax(0),
        "gather_dtype": lambda: torch.zeros(2, 3).gather(1, torch.zeros(2, 1)),
    }
    kinds = {}
    for name, call in cases.items():
        kind, message = _caught(call)
        kinds[name] = kind
        put(f"mistakes.kind.{name}", kind)
    # word for word where deltagrad keeps PyTorch's text (elsewhere it writes its own, naming
    # the op and the shapes: "mat1 and mat2 shapes cannot be multiplied (2x5 and 4x3)" is
    # "linear: input of shape torch.Size([2, 5]) does not match weight of shape ...")
    for name in ("inplace_leaf", "numpy_grad", "optim_empty", "bool_sub", "bool_sub_one",
                 "stack_shape"):
        put(f"mistakes.message.{name}", _caught(cases[name])[1])
    put("mistakes.n_raised", sum(kind != "none" for kind in kinds.values()))


class Symmetric(nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(-1, -2)


def section_parametrized() -> None:
    layer = nn.Linear(5, 5)
    parametrizations.orthogonal(layer)
    w = layer.weight
    put("param.orth_gap", (w @ w.T - torch.eye(5)).abs().max() < 1e-5)
    put("param.orth_keys", sorted(layer.state_dict()))
    conv = parametrizations.weight_norm(nn.Conv1d(2, 3, 3), dim=0)
    put("param.wn_keys", sorted(conv.state_dict()))
    put("param.wn_g", conv.parametrizations.weight.original0)
    spectral = parametrizations.spectral_norm(nn.Linear(6, 4), n_power_iterations=3)
    sym = nn.Linear(4, 4)
    parametrize.register_parametrization(sym, "weight", Symmetric())
    put("param.is_parametrized", [parametrize.is_parametrized(sym),
                                  parametrize.is_parametrized(sym, "bias")])
    put("param.sym_gap", (sym.weight - sym.weight.T).abs().max())
    model = nn.ModuleList([layer, spectral, sym])
    x = torch.randn(8, 5)
    conv_x = torch.randn(2, 2, 7)
    optimizer = torch.optim.Adam(list(model.parameters()) + list(conv.parameters()), lr=1e-2)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        h = layer(x)
        h = spectral(torch.cat([h, h[:, :1]], 1))
        out = sym(h)
        loss = out.pow(2).mean() + conv(conv_x).pow(2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("param.losses", losses)
    put("param.orth_after", layer.weight)
    put("param.spectral_sigma", torch.linalg.matrix_norm(spectral.weight, 2))
    put("param.spectral_u", spectral.parametrizations.weight[0]._u)
    put("param.sym_original", sym.parametrizations.weight.original)
    put("param.sym_grad", sym.parametrizations.weight.original.grad)
    put("param.wn_weight", conv.weight)
    with parametrize.cached():
        first = sym.weight
        put("param.cached_same", first is sym.weight)
    put_state("param.state", model, exclude=("_u", "_v"))
    parametrize.remove_parametrizations(sym, "weight", leave_parametrized=True)
    # (isinstance: a deltagrad Parameter's type() is Tensor, by design; README)
    put("param.removed", [parametrize.is_parametrized(sym), isinstance(sym.weight,
                                                                       nn.Parameter)])
    put("param.removed_weight", sym.weight)
    put("param.repr", repr(spectral))


def auc_by_trapezoid(scores, labels):
    order = torch.argsort(scores, descending=True, stable=True)
    labels = labels[order].float()
    tps = torch.cumsum(labels, 0)
    fps = torch.cumsum(1 - labels, 0)
    tpr = torch.cat([torch.zeros(1), tps / tps[-1]])
    fpr = torch.cat([torch.zeros(1), fps / fps[-1]])
    return torch.trapezoid(tpr, fpr), tpr, fpr


def section_metrics() -> None:
    n, classes = 60, 4
    logits = torch.randn(n, classes) * 2
    labels = torch.randint(0, classes, (n,))
    logits[torch.arange(n), labels] += 1.5  # a better-than-chance classifier
    probs = logits.softmax(1)
    confidence, prediction = probs.max(1)
    confusion = torch.bincount(labels * classes + prediction, minlength=classes ** 2)
    confusion = confusion.reshape(classes, classes)
    put("metrics.confusion", confusion)
    tp = confusion.diag().float()
    precision = tp / confusion.sum(0).clamp(min=1)
    recall = tp / confusion.sum(1).clamp(min=1)
    f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
    put("metrics.prf", torch.stack([precision, recall, f1]))
    put("metrics.accuracy", (prediction == labels).float().mean())
    put("metrics.accuracy_int_div", (prediction == labels).sum() / n)
    put("metrics.accuracy_floordiv", (prediction == labels).sum() * 100 // n)
    topk = probs.topk(2, 1).indices
    put("metrics.top2", (topk == labels[:, None]).any(1).float().mean())
    binary = (labels == 0)
    auc, tpr, fpr = auc_by_trapezoid(probs[:, 0], binary)
    put("metrics.auc", auc)
    put("metrics.roc", torch.stack([fpr, tpr]))
    put("metrics.cum_trapz", torch.cumulative_trapezoid(tpr, fpr))
    put("metrics.trapz_dx", torch.trapezoid(tpr, dx=0.5))
    # average precision per class, then their mean
    aps = []
    for c in range(classes):
        order = torch.argsort(probs[:, c], descending=True, stable=True)
        hits = (labels[order] == c).float()
        precision_at = torch.cumsum(hits, 0) / torch.arange(1, n + 1)
        aps.append((precision_at * hits).sum() / hits.sum().clamp(min=1))
    put("metrics.map", torch.stack(aps).mean())
    # expected calibration error over 10 bins
    edges = torch.linspace(0, 1, 11)
    bins = torch.bucketize(confidence, edges[1:-1])
    correct = (prediction == labels).float()
    count = torch.bincount(bins, minlength=10).float()
    conf_sum = torch.zeros(10).scatter_add_(0, bins, confidence)
    acc_sum = torch.zeros(10).scatter_add_(0, bins, correct)
    nonempty = count > 0
    ece = ((conf_sum[nonempty] - acc_sum[nonempty]).abs()).sum() / n
    put("metrics.ece", ece)
    put("metrics.bins", count)
    # the temperature that minimizes NLL (what calibration code fits), by LBFGS
    temperature = nn.Parameter(torch.ones(1))
    optimizer = torch.optim.LBFGS([temperature], lr=0.1, max_iter=30)

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(logits / temperature, labels)
        loss.backward()
        return loss

    optimizer.step(closure)
    put("metrics.temperature", temperature)
    put("metrics.nll_after", F.cross_entropy(logits / temperature, labels))
    put("metrics.histogram", torch.histogram(confidence, bins=5, range=(0.0, 1.0)).hist)
    put("metrics.kthvalue", torch.kthvalue(confidence, 5).values)
    put("metrics.mode", torch.mode(prediction).values)
    put("metrics.median", torch.median(confidence))
    put("metrics.count_nonzero", torch.count_nonzero(confusion, dim=0))


SECTIONS = {"mistakes": section_mistakes, "parametrized": section_parametrized,
            "metrics": section_metrics}
