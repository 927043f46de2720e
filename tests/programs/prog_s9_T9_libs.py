"""Third-party library programs (T9), run unchanged on PyTorch and under deltagrad's alias.

Usage: ``prog_s9_T9_libs.py OUT.npz WORKDIR SECTIONS`` (SECTIONS: comma-separated of crf,
torchcrf2, torchinfo, torchsummary, ignite). Libraries: pytorch-crf 0.7.2 (``torchcrf``),
TorchCRF 1.1.0 (``TorchCRF``), torchinfo 1.8.0, torchsummary 1.5.1, pytorch-ignite 0.5.5.
Every number goes to OUT.npz; a section that raises records its traceback as ``ERR.<section>``.
"""

import contextlib
import io
import os
import sys
import traceback

import numpy as np
import torch
import torch.nn as nn

OUT: dict = {}


def put(prefix: str, value) -> None:
    """Records tensors, numbers, strings and (nested) dicts / lists / tuples of them."""
    if isinstance(value, torch.Tensor):
        OUT[prefix] = value.detach().numpy()
        OUT[prefix + ".dtype"] = np.asarray(str(value.dtype).rsplit(".", 1)[-1])
    elif isinstance(value, dict):
        for key, item in value.items():
            put(f"{prefix}.{key}", item)
    elif isinstance(value, (list, tuple)) and any(
            isinstance(v, (torch.Tensor, dict, list, tuple)) for v in value):
        for index, item in enumerate(value):
            put(f"{prefix}.{index}", item)
    else:
        OUT[prefix] = np.asarray(value if value is not None else "None")


def error_name(fn) -> str:
    """The exception class name ``fn()`` raises, or 'none'."""
    try:
        fn()
    except Exception as error:  # noqa: BLE001 - recording which one
        return type(error).__name__
    return "none"


def put_params(prefix: str, module: nn.Module, grads: bool = False) -> None:
    for name, param in module.named_parameters():
        put(f"{prefix}.{name}", param)
        if grads and param.grad is not None:
            put(f"{prefix}.grad.{name}", param.grad)


# ---------------------------------------------------------------- pytorch-crf (torchcrf)

def section_crf(workdir: str) -> None:
    from torchcrf import CRF

    torch.manual_seed(0)
    crf = CRF(5)
    put_params("crf.init", crf)
    put("crf.repr", repr(crf))
    seq, batch = 4, 3
    emissions = torch.randn(seq, batch, 5, requires_grad=True)
    tags = torch.randint(0, 5, (seq, batch))
    mask = torch.tensor([[1, 1, 1], [1, 1, 0], [1, 0, 0], [1, 0, 0]], dtype=torch.uint8)
    bmask = mask.bool()
    for reduction in ("sum", "mean", "token_mean", "none"):
        put(f"crf.llh.{reduction}", crf(emissions, tags, reduction=reduction))
        put(f"crf.llh_masked.{reduction}", crf(emissions, tags, mask=bmask, reduction=reduction))
    put("crf.llh_uint8_mask", crf(emissions, tags, mask=mask))
    put("crf.decode", crf.decode(emissions))
    put("crf.decode_masked", crf.decode(emissions, mask=bmask))
    loss = -crf(emissions, tags, mask=bmask, reduction="token_mean")
    loss.backward()
    put_params("crf.after", crf, grads=True)
    put("crf.grad_emissions", emissions.grad)

    bad_mask = bmask.clone()
    bad_mask[0, 1] = False
    put("crf.err.first_mask", error_name(lambda: crf(emissions, tags, mask=bad_mask)))
    put("crf.err.reduction", error_name(lambda: crf(emissions, tags, reduction="max")))
    put("crf.err.shape", error_name(lambda: crf(emissions[:, :, :4], tags)))
    put("crf.err.num_tags", error_name(lambda: CRF(0)))
    put("crf.llh_double", crf(emissions.detach().double(), tags, mask=bmask))
    put("crf.one_step", crf(emissions[:1], tags[:1], reduction="none"))
    put("crf.decode_one_step", crf.decode(emissions[:1]))
    # Ties everywhere: the Viterbi path is decided by max()'s choice among equal scores.
    tied = CRF(4)
    with torch.no_grad():
        for param in tied.parameters():
            param.zero_()
    put("crf.decode_ties", tied.decode(torch.zeros(5, 2, 4)))
    put("crf.llh_ties", tied(torch.zeros(5, 2, 4), torch.zeros(5, 2, dtype=torch.long)))

    # batch_first, in a small BiLSTM-CRF tagger trained for a few steps.
    torch.manual_seed(1)

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(12, 6, padding_idx=0)
            self.lstm = nn.LSTM(6, 4, batch_first=True, bidirectional=True)
            self.proj = nn.Linear(8, 4)
            self.crf = CRF(4, batch_first=True)

        def forward(self, words, tags, mask):
            hidden, _ = self.lstm(self.embed(words))
            return -self.crf(self.proj(hidden), tags, mask=mask, reduction="mean")

        def decode(self, words, mask):
            hidden, _ = self.lstm(self.embed(words))
            return self.crf.decode(self.proj(hidden), mask=mask)

    model = Tagger()
    lengths = torch.tensor([6, 4, 5, 2, 6])
    mask = torch.arange(6)[None, :] < lengths[:, None]
    words = torch.randint(1, 12, (5, 6)) * mask
    gold = (words % 4) * mask
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = model(words, gold, mask)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("crf.train.losses", np.array(losses))
    put_params("crf.train.params", model)
    with torch.no_grad():
        put("crf.train.decode", str(model.decode(words, mask)))


# ---------------------------------------------------------------- TorchCRF 1.1.0

def section_torchcrf2(workdir: str) -> None:
    from TorchCRF import CRF

    # pad_idx writes into the leaf parameters in place: PyTorch 2 refuses (RuntimeError).
    put("torchcrf2.err.pad_idx", error_name(lambda: CRF(5, pad_idx=0)))
    torch.manual_seed(2)
    crf = CRF(5)
    put_params("torchcrf2.init", crf)
    h = torch.randn(3, 4, 5, requires_grad=True)
    labels = torch.randint(1, 5, (3, 4))
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0]]).bool()
    labels = labels * mask
    llh = crf(h, labels, mask)
    put("torchcrf2.llh", llh)
    put("torchcrf2.decode", str(crf.viterbi_decode(h, mask)))
    (-llh.mean()).backward()
    put_params("torchcrf2.after", crf, grads=True)
    put("torchcrf2.grad_h", h.grad)
    put("torchcrf2.err.labels", error_name(lambda: CRF(0)))

    torch.manual_seed(3)
    crf = CRF(4)
    encoder = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 4))
    x = torch.randn(4, 5, 3)
    y = (x.sum(-1) > 0).long() + 2 * (x[..., 0] > 0.5).long()
    mask = torch.ones(4, 5, dtype=torch.bool)
    mask[2, 3:] = False
    optimizer = torch.optim.SGD(list(encoder.parameters()) + list(crf.parameters()), lr=0.1,
                                momentum=0.9)
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = -crf(encoder(x), y, mask).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("torchcrf2.train.losses", np.array(losses))
    put_params("torchcrf2.train.crf", crf)
    put_params("torchcrf2.train.encoder", encoder)
    with torch.no_grad():
        put("torchcrf2.train.decode", str(crf.viterbi_decode(encoder(x), mask)))


# ---------------------------------------------------------------- model zoo for the summaries

class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 8, 3), nn.ReLU(), nn.AdaptiveAvgPool2d((2, 2)))
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(self.drop(torch.flatten(self.features(x), 1)))


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
        self.gru = nn.GRU(16, 6, batch_first=True, bidirectional=True)
        self.head = nn.Linear(12, 3)

    def forward(self, tokens):
        out, _ = self.lstm(self.embed(tokens))
        out, _ = self.gru(out)
        return self.head(out[:, -1])


class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(40, 16)
        layer = nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, dropout=0.0,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 5)

    def forward(self, tokens):
        return self.head(self.norm(self.encoder(self.embed(tokens))).mean(1))


class AttentionBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.scale = nn.Parameter(torch.ones(8))
        self.ff = nn.ModuleList([nn.Linear(8, 8), nn.Linear(8, 8)])

    def forward(self, x):
        out, _ = self.attn(x, x, x)
        for layer in self.ff:
            out = layer(out) * self.scale
        return out


class SharedDictOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.shared = nn.Linear(6, 6)
        self.heads = nn.ModuleDict({"a": nn.Linear(6, 2), "b": nn.Sequential(nn.Tanh(),
                                                                           nn.Linear(6, 1))})

    def forward(self, x):
        x = self.shared(self.shared(x))
        return {name: head(x) for name, head in self.heads.items()}


class LayerZoo(nn.Module):
    """Layers whose kernel / parameter columns torchinfo reads from their attributes."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 6, 3, stride=2, padding=1, groups=3, dilation=1)
        self.dil = nn.Conv2d(6, 6, 3, padding=2, dilation=2, bias=False)
        self.norm = nn.GroupNorm(2, 6)
        self.act = nn.PReLU(6)
        self.up = nn.ConvTranspose2d(6, 4, 2, stride=2)
        self.shuffle = nn.PixelShuffle(2)
        self.conv1d = nn.Conv1d(1, 2, 5, padding=2)
        self.bn1d = nn.BatchNorm1d(2)
        self.bilinear = nn.Bilinear(8, 8, 3)
        self.conv3d = nn.Conv3d(1, 2, (1, 3, 3))

    def forward(self, x):
        y = self.shuffle(self.up(self.act(self.norm(self.dil(self.down(x))))))  # (2, 1, 32, 32)
        z = self.bn1d(self.conv1d(y.mean(2)))  # (2, 2, 32)
        w = self.conv3d(y[:, None, :, :4, :4]).flatten(1)[:, :8]
        return self.bilinear(z[:, 0, :8], w)


def mlp():
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 16), nn.GELU(),
                         nn.Linear(16, 2, bias=False))


# ---------------------------------------------------------------- torchinfo

def section_torchinfo(workdir: str) -> None:
    from torchinfo import summary

    torch.manual_seed(4)
    all_cols = ("input_size", "output_size", "num_params", "params_percent", "kernel_size",
                "mult_adds", "trainable")
    cases = {
        "mlp": lambda: summary(mlp(), input_size=(4, 10), verbose=0),
        "mlp_cols": lambda: summary(mlp(), input_size=(4, 10), col_names=all_cols, verbose=0),
        "cnn": lambda: summary(SmallCNN(), input_size=(2, 1, 12, 12), col_names=all_cols,
                               verbose=0),
        "cnn_depth1": lambda: summary(SmallCNN(), (2, 1, 12, 12), depth=1, verbose=0,
                                      row_settings=("var_names", "depth")),
        "cnn_eval": lambda: summary(SmallCNN(), (2, 1, 12, 12), mode="eval", verbose=0),
        "lstm": lambda: summary(LSTMNet(), input_data=torch.randint(0, 50, (3, 7)),
                                col_names=all_cols, verbose=0),
        "lstm_dtypes": lambda: summary(LSTMNet(), input_size=(3, 7), dtypes=[torch.long],
                                       verbose=0),
        "transformer": lambda: summary(TinyTransformer(),
                                       input_data=torch.randint(0, 40, (2, 6)),
                                       col_names=("input_size", "output_size", "num_params",
                                                  "mult_adds"), depth=4, verbose=0),
        "no_input": lambda: summary(SmallCNN(), verbose=0),
    }
    frozen = mlp()
    frozen[0].requires_grad_(False)
    cases["mha"] = lambda: summary(AttentionBlock(), input_size=(2, 5, 8), verbose=0,
                                   col_names=("output_size", "num_params", "mult_adds"))
    cases["shared_dict_out"] = lambda: summary(
        SharedDictOut(), input_data={"x": torch.randn(3, 6)}, verbose=0,
        row_settings=("var_names", "ascii_only"), depth=5)
    cases["layer_zoo"] = lambda: summary(LayerZoo(), input_size=(2, 3, 8, 8), verbose=0,
                                         col_names=all_cols, depth=2)
    cases["batch_dim"] = lambda: summary(mlp(), input_size=(10,), batch_dim=0, verbose=0,
                                         col_names=("input_size", "output_size"))
    cases["double"] = lambda: summary(mlp().double(), input_data=torch.randn(4, 10,
                                      dtype=torch.float64), verbose=0)
    cases["frozen"] = lambda: summary(frozen, input_size=(4, 10),
                                      col_names=("num_params", "trainable"), verbose=0)
    for name, make in cases.items():
        try:
            stats = make()
        except Exception:  # noqa: BLE001 - recorded, compared
            OUT[f"ERR.torchinfo.{name}"] = np.asarray(traceback.format_exc())
            continue
        put(f"torchinfo.{name}.table", str(stats))
        put(f"torchinfo.{name}.total_params", stats.total_params)
        put(f"torchinfo.{name}.trainable_params", stats.trainable_params)
        put(f"torchinfo.{name}.mult_adds", stats.total_mult_adds)
        put(f"torchinfo.{name}.input_size", stats.total_input)
        put(f"torchinfo.{name}.output_bytes", stats.total_output_bytes)
        put(f"torchinfo.{name}.param_bytes", stats.total_param_bytes)
    # verbose=1 prints the same table.
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        summary(mlp(), input_size=(4, 10), verbose=1)
    put("torchinfo.printed", buffer.getvalue())


# ---------------------------------------------------------------- torchsummary

def section_torchsummary(workdir: str) -> None:
    from torchsummary import summary

    torch.manual_seed(5)

    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(6, 4)
            self.b = nn.Conv1d(2, 3, 3)

        def forward(self, x, y):
            return self.a(x) + self.b(y).mean()

    class GRUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(5, 7, batch_first=True, num_layers=2)
            self.norm = nn.LayerNorm(7)
            self.head = nn.Linear(7, 3)

        def forward(self, x):
            out, _ = self.gru(x)
            return self.head(self.norm(out[:, -1]))

    cases = {
        "gru": (GRUNet(), (9, 5)),
        "mlp": (mlp(), (10,)),
        "cnn": (SmallCNN(), (1, 12, 12)),
        "two_inputs": (TwoInputs(), [(2, 6), (2, 8)]),
        "batch_size": (SmallCNN(), (1, 12, 12)),
    }
    for name, (model, size) in cases.items():
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                summary(model, size, batch_size=8 if name == "batch_size" else -1,
                        device="cpu")
        except Exception:  # noqa: BLE001 - recorded, compared
            OUT[f"ERR.torchsummary.{name}"] = np.asarray(traceback.format_exc())
            continue
        put(f"torchsummary.{name}", buffer.getvalue())


# ---------------------------------------------------------------- pytorch-ignite

def section_ignite(workdir: str) -> None:
    from ignite.contrib.handlers import ProgressBar
    from ignite.engine import Events, create_supervised_evaluator, create_supervised_trainer
    from ignite.handlers import (
        CosineAnnealingScheduler,
        EarlyStopping,
        ModelCheckpoint,
        PiecewiseLinear,
        ReduceLROnPlateauScheduler,
        create_lr_scheduler_with_warmup,
    )
    from ignite.metrics import (
        Accuracy,
        ConfusionMatrix,
        Fbeta,
        Loss,
        Precision,
        Recall,
        RunningAverage,
    )
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(6)
    x = torch.randn(48, 6)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long() + (x[:, 2] > 0.8).long()
    train_loader = DataLoader(TensorDataset(x[:32], y[:32]), batch_size=8, shuffle=True,
                              generator=torch.Generator().manual_seed(7))
    val_loader = DataLoader(TensorDataset(x[32:], y[32:]), batch_size=8)

    def run(tag: str, scheduler_kind: str, epochs: int, patience: int = 2,
            min_delta: float = 1e-3) -> None:
        torch.manual_seed(8)
        model = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
        criterion = nn.CrossEntropyLoss()
        trainer = create_supervised_trainer(model, optimizer, criterion)
        precision = Precision(average=False)
        recall = Recall(average=False)
        metrics = {
            "accuracy": Accuracy(), "loss": Loss(criterion),
            "precision": precision, "recall": recall,
            "precision_macro": Precision(average=True),
            "recall_weighted": Recall(average="weighted"),
            "f1": Fbeta(1.0, precision=Precision(average=False),
                        recall=Recall(average=False)),
            "f2_micro": Fbeta(2.0, average=True),
            "cm": ConfusionMatrix(num_classes=3),
        }
        evaluator = create_supervised_evaluator(model, metrics=metrics)
        RunningAverage(output_transform=lambda out: out, alpha=0.9).attach(trainer, "avg_loss")
        ProgressBar(persist=False, file=io.StringIO()).attach(trainer, ["avg_loss"])

        if scheduler_kind == "piecewise":
            scheduler = PiecewiseLinear(optimizer, "lr",
                                        milestones_values=[(0, 0.0), (4, 0.2), (12, 0.02)])
        elif scheduler_kind == "cosine":
            scheduler = CosineAnnealingScheduler(optimizer, "lr", start_value=0.2,
                                                 end_value=0.01, cycle_size=6)
        elif scheduler_kind == "warmup":
            base = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
            scheduler = create_lr_scheduler_with_warmup(base, warmup_start_value=0.0,
                                                        warmup_duration=3)
        if scheduler_kind == "plateau":
            # (wraps torch.optim.lr_scheduler.ReduceLROnPlateau and replaces its _reduce_lr)
            scheduler = ReduceLROnPlateauScheduler(optimizer, "accuracy", mode="max",
                                                   factor=0.5, patience=0, threshold=0.1,
                                                   threshold_mode="abs", trainer=trainer)
            evaluator.add_event_handler(Events.COMPLETED, scheduler)
        else:
            trainer.add_event_handler(Events.ITERATION_STARTED, scheduler)

        record = {"loss": [], "lr": [], "avg": [], "val": {}}

        @trainer.on(Events.ITERATION_COMPLETED)
        def log(engine):
            record["loss"].append(engine.state.output)
            record["lr"].append(optimizer.param_groups[0]["lr"])
            record["avg"].append(engine.state.metrics["avg_loss"])

        @trainer.on(Events.EPOCH_COMPLETED)
        def validate(engine):
            evaluator.run(val_loader)
            for name, value in evaluator.state.metrics.items():
                record["val"].setdefault(name, []).append(value)

        folder = os.path.join(workdir, tag)
        checkpoint = ModelCheckpoint(folder, "net", n_saved=2, require_empty=False,
                                     score_function=lambda e: e.state.metrics["accuracy"],
                                     score_name="acc", global_step_transform=lambda e, _:
                                     trainer.state.epoch)
        evaluator.add_event_handler(Events.COMPLETED, checkpoint, {"model": model})
        stopper = EarlyStopping(patience=patience, trainer=trainer, min_delta=min_delta,
                                score_function=lambda e: -e.state.metrics["loss"])
        evaluator.add_event_handler(Events.COMPLETED, stopper)
        trainer.run(train_loader, max_epochs=epochs)

        put(f"ignite.{tag}.loss", np.array(record["loss"]))
        put(f"ignite.{tag}.lr", np.array(record["lr"]))
        put(f"ignite.{tag}.avg", np.array(record["avg"]))
        for name, values in record["val"].items():
            if isinstance(values[0], torch.Tensor):
                put(f"ignite.{tag}.val.{name}", torch.stack(values))
            else:
                put(f"ignite.{tag}.val.{name}", np.array(values))
        put(f"ignite.{tag}.epochs", trainer.state.epoch)
        put(f"ignite.{tag}.iterations", trainer.state.iteration)
        put(f"ignite.{tag}.stop_counter", stopper.counter)
        put_params(f"ignite.{tag}.params", model)
        put(f"ignite.{tag}.ckpt_names", sorted(os.listdir(folder)))
        best = checkpoint.last_checkpoint
        state = torch.load(best)
        put(f"ignite.{tag}.ckpt_state", dict(state))
        restored = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
        restored.load_state_dict(state)
        put(f"ignite.{tag}.ckpt_predict", restored(x[32:]))

    run("piecewise", "piecewise", 6)
    run("cosine", "cosine", 3)
    run("warmup", "warmup", 6, patience=1, min_delta=0.03)  # stops after epoch 3
    run("plateau", "plateau", 4)
    resume(workdir, x, y)

    # The schedulers' own simulate_values (pure arithmetic on the values).
    put("ignite.sim.cosine", np.array(CosineAnnealingScheduler.simulate_values(
        num_events=12, param_name="lr", start_value=1.0, end_value=0.0, cycle_size=5)))
    put("ignite.sim.piecewise", np.array(PiecewiseLinear.simulate_values(
        num_events=10, param_name="lr", milestones_values=[(0, 1.0), (3, 0.5), (8, 0.1)])))
    put("ignite.sim.plateau", np.array(ReduceLROnPlateauScheduler.simulate_values(
        num_events=8, metric_values=[1.0, 0.9, 0.9, 0.9, 0.95, 0.8, 0.8, 0.8], init_lr=0.1,
        factor=0.5, patience=1, mode="min")))


def resume(workdir: str, x, y) -> None:
    """ignite's Checkpoint of model, optimizer, scheduler and trainer; a fresh set of objects
    loads the epoch-2 checkpoint (Checkpoint.load_objects) and trains on to epoch 4."""
    from ignite.engine import Events, create_supervised_trainer
    from ignite.handlers import Checkpoint, DiskSaver, PiecewiseLinear
    from torch.utils.data import DataLoader, TensorDataset

    folder = os.path.join(workdir, "resume")

    def build(seed: int):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 3))
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        trainer = create_supervised_trainer(model, optimizer, nn.CrossEntropyLoss())
        scheduler = PiecewiseLinear(optimizer, "lr",
                                    milestones_values=[(0, 0.02), (8, 0.05), (16, 0.001)])
        trainer.add_event_handler(Events.ITERATION_STARTED, scheduler)
        losses = []
        trainer.add_event_handler(Events.ITERATION_COMPLETED,
                                  lambda e: losses.append(e.state.output))
        objects = {"model": model, "optimizer": optimizer, "trainer": trainer,
                   "scheduler": scheduler}
        loader = DataLoader(TensorDataset(x[:32], y[:32]), batch_size=8, shuffle=False)
        return objects, loader, losses

    objects, loader, losses = build(9)
    saver = Checkpoint(objects, DiskSaver(folder, require_empty=False), n_saved=None)
    objects["trainer"].add_event_handler(Events.EPOCH_COMPLETED, saver)
    objects["trainer"].run(loader, max_epochs=4)
    put("ignite.resume.full_losses", np.array(losses))
    put_params("ignite.resume.full", objects["model"])
    put("ignite.resume.files", sorted(os.listdir(folder)))
    fresh, loader, losses = build(10)
    checkpoint = torch.load(os.path.join(folder, "checkpoint_8.pt"))
    put("ignite.resume.trainer_state", checkpoint["trainer"])
    put("ignite.resume.scheduler_state", str(checkpoint["scheduler"]))
    Checkpoint.load_objects(to_load=fresh, checkpoint=checkpoint)
    fresh["trainer"].run(loader, max_epochs=4)
    put("ignite.resume.resumed_losses", np.array(losses))
    put_params("ignite.resume.resumed", fresh["model"])
    put("ignite.resume.resumed_lr", fresh["optimizer"].param_groups[0]["lr"])
    put("ignite.resume.iteration", fresh["trainer"].state.iteration)


SECTIONS = {"crf": section_crf, "torchcrf2": section_torchcrf2, "torchinfo": section_torchinfo,
            "torchsummary": section_torchsummary, "ignite": section_ignite}


def main() -> None:
    out_path, workdir, sections = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    os.makedirs(workdir, exist_ok=True)
    for name in sections:
        try:
            SECTIONS[name](workdir)
        except Exception:  # noqa: BLE001 - recorded, compared
            OUT[f"ERR.{name}"] = np.asarray(traceback.format_exc())
    np.savez(out_path, **OUT)


if __name__ == "__main__":
    main()
