"""torchkeras 4.0.5 the way its README uses it: KerasModel(net, loss_fn, metrics_dict,
optimizer).fit(train, val, epochs, patience, monitor) with accelerate underneath, then
evaluate(), the history DataFrame, the best checkpoint reloaded, summary() and
seed_everything. Keys ``<section>.<name>``; a section that raises records ``ERR.<section>``.
Usage: ``python prog_s10_T24_torchkeras.py OUT.npz`` (or under ``python -m deltagrad run``)."""

import contextlib
import io
import os
import sys
import traceback
import types

import numpy as np
import torch

# torchkeras' progress bar imports IPython.display for notebooks only (never used in a
# terminal); IPython is not installed here, so both runs get the same stand-in module.
_display = types.ModuleType("IPython.display")
_display.clear_output = _display.display = _display.HTML = lambda *args, **kwargs: None
_ipython = types.ModuleType("IPython")
_ipython.display = _display
_ipython.get_ipython = lambda: None
sys.modules.setdefault("IPython", _ipython)
sys.modules.setdefault("IPython.display", _display)

import torchkeras  # noqa: E402

OUT: dict = {}


def put(key, value):
    if isinstance(value, torch.Tensor):
        OUT[key] = value.detach().numpy().copy()
        OUT[key + ".dtype"] = np.array(str(value.dtype))
    else:
        OUT[key] = np.array(value)


class Accuracy(torch.nn.Module):
    """The README's streaming binary accuracy metric (a Module with state)."""

    def __init__(self):
        super().__init__()
        self.correct = torch.nn.Parameter(torch.tensor(0.0), requires_grad=False)
        self.total = torch.nn.Parameter(torch.tensor(0.0), requires_grad=False)

    def forward(self, preds, targets):
        hits = ((preds.sigmoid() > 0.5).float() == targets).sum()
        self.correct += hits
        self.total += targets.numel()
        return hits.float() / targets.numel()

    def compute(self):
        return self.correct.float() / self.total

    def reset(self):
        self.correct -= self.correct
        self.total -= self.total


def data(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = ((x[:, :1] * x[:, 1:2] + 0.3 * x[:, 2:3]) > 0).astype(np.float32)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    return torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=False)


def sec_fit():
    torchkeras.seed_everything(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
    rng = np.random.default_rng(1)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.from_numpy(0.5 * rng.standard_normal(tuple(p.shape)).astype(
                np.float32)))
    model = torchkeras.KerasModel(net, loss_fn=torch.nn.BCEWithLogitsLoss(),
                                  metrics_dict={"acc": Accuracy()},
                                  optimizer=torch.optim.Adam(net.parameters(), lr=0.02))
    folder = os.path.splitext(sys.argv[1])[0] + "_ckpt"
    with contextlib.redirect_stdout(io.StringIO()):
        history = model.fit(data(2, 96), data(3, 48), epochs=6, patience=3, monitor="val_acc",
                            mode="max", ckpt_path=folder, plot=False, cpu=True)
        metrics = model.evaluate(data(3, 48), quiet=True)
    for column in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch"):
        if column in history:
            put(f"fit.history.{column}", history[column].to_numpy(dtype=np.float64))
    put("fit.columns", " ".join(history.columns))
    put("fit.eval", np.array([metrics["val_loss"], metrics["val_acc"]]))
    put("fit.weight", model.net[0].weight)
    put("fit.predict", model(torch.ones(2, 4)))


def sec_summary():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                              torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(144, 2))
    with contextlib.redirect_stdout(io.StringIO()) as text:
        torchkeras.summary(net, input_shape=(3, 8, 8))
    lines = [line for line in text.getvalue().splitlines() if line.strip()]
    put("summary.text", "\n".join(lines))


def main():
    for name, section in list(globals().items()):
        if name.startswith("sec_"):
            try:
                section()
            except Exception:
                OUT[f"ERR.{name[4:]}"] = np.array(traceback.format_exc())
    np.savez(sys.argv[1], **OUT)


if __name__ == "__main__":
    main()
