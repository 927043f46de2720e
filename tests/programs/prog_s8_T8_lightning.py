"""PyTorch Lightning programs (T8), run unchanged on PyTorch and under ``python -m deltagrad run``.

Usage: ``prog_s8_T8_lightning.py OUT.npz WORKDIR SECTIONS`` (SECTIONS: comma-separated of mlp,
cnn, resume, hparams, fabric). Every number goes to OUT.npz; a section that raises records its
traceback as ``ERR.<section>``. Under the alias, a missing prerequisite (a PyTorch name Lightning
needs at import time that deltagrad does not have yet) is recorded as ``MISSING`` and nothing
else runs.
"""

import argparse
import dataclasses
import os
import shutil
import sys
import traceback
import warnings

import numpy as np
import torch

OUT: dict = {}
UNDER_DELTAGRAD = hasattr(torch, "install_as_torch")


def missing_prerequisites() -> list:
    """The PyTorch names Lightning 2.6 touches at import or in Trainer.fit that deltagrad lacks."""
    import importlib

    checks = {
        "torch.utils.data.dataloader._BaseDataLoaderIter":
            lambda: importlib.import_module("torch.utils.data.dataloader")._BaseDataLoaderIter,
        "torch.utils.data.dataloader._MultiProcessingDataLoaderIter":
            lambda: importlib.import_module(
                "torch.utils.data.dataloader")._MultiProcessingDataLoaderIter,
        "torch.utils._pytree._get_node_type":
            lambda: importlib.import_module("torch.utils._pytree")._get_node_type,
        "torch.utils._pytree.SUPPORTED_NODES[list].flatten_fn":
            lambda: importlib.import_module("torch.utils._pytree").SUPPORTED_NODES[
                list].flatten_fn,
        "torch.utils.flop_counter.FlopCounterMode":
            lambda: importlib.import_module("torch.utils.flop_counter").FlopCounterMode,
        "torch.ScriptModule": lambda: torch.ScriptModule,
        "torch.fx.GraphModule": lambda: importlib.import_module("torch.fx").GraphModule,
        "torch.autograd.profiler.emit_nvtx":
            lambda: importlib.import_module("torch.autograd.profiler").emit_nvtx,
        "torch.autograd.set_detect_anomaly(False) as a context manager":
            lambda: torch.autograd.set_detect_anomaly(False).__enter__,
        "torch._dynamo.OptimizedModule":
            lambda: importlib.import_module("torch._dynamo").OptimizedModule,
    }
    missing = []
    for name, check in checks.items():
        try:
            check()
        except Exception:  # noqa: BLE001 - any failure means the name is not usable
            missing.append(name)
    return missing


def put(prefix: str, value) -> None:
    """Records tensors, numbers, strings and (nested) dicts / lists / tuples of them."""
    if isinstance(value, torch.Tensor):
        OUT[prefix] = value.detach().numpy()
        OUT[prefix + ".dtype"] = np.asarray(str(value.dtype).rsplit(".", 1)[-1])
    elif isinstance(value, dict):
        for key, item in value.items():
            put(f"{prefix}.{key}", item)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            put(f"{prefix}.{index}", item)
    else:
        OUT[prefix] = np.asarray(value)


def main() -> None:
    out_path, root, sections = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    if UNDER_DELTAGRAD:
        missing = missing_prerequisites()
        if missing:
            OUT["MISSING"] = np.array(missing)
            np.savez(out_path, **OUT)
            return
    warnings.filterwarnings("ignore")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    import lightning.pytorch  # noqa: F401 - fail here, not in a section, if it cannot import

    for name in sections:
        try:
            globals()[f"run_{name}"](os.path.join(root, name))
        except Exception:  # noqa: BLE001 - recorded for the test to show
            OUT[f"ERR.{name}"] = np.asarray(traceback.format_exc())
    np.savez(out_path, **OUT)


def trainer(root: str, **overrides):
    import lightning.pytorch as pl

    args = dict(accelerator="cpu", devices=1, max_epochs=2, deterministic=True, logger=False,
                enable_progress_bar=False, enable_model_summary=False, default_root_dir=root)
    args.update(overrides)
    return pl.Trainer(**args)


def data():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(96, 10, generator=generator)
    y = ((x[:, 0] - x[:, 1] + 0.3 * x[:, 2]) > 0).long()
    return x, y


def loaders(seed: int):
    from torch.utils.data import DataLoader, TensorDataset

    x, y = data()
    train = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True,
                       generator=torch.Generator().manual_seed(seed))
    val = DataLoader(TensorDataset(x[:32], y[:32]), batch_size=16)
    return train, val


def mlp_class():
    import lightning.pytorch as pl
    import torchmetrics
    from torch import nn
    from torch.nn import functional as F

    class MLP(pl.LightningModule):
        """A classifier: dropout, Adam with weight decay, StepLR per epoch, a torchmetrics F1."""

        def __init__(self, hidden: int = 16, lr: float = 0.01, gamma: float = 0.5):
            super().__init__()
            self.save_hyperparameters()
            self.net = nn.Sequential(nn.Linear(10, hidden), nn.ReLU(), nn.Dropout(0.2),
                                     nn.Linear(hidden, 2))
            self.val_f1 = torchmetrics.classification.MulticlassF1Score(num_classes=2,
                                                                        average="macro")
            self.losses, self.lrs, self.grad_norms = [], [], []

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            self.log("train_loss", loss, on_step=True, on_epoch=True)
            self.losses.append(loss.detach().clone())
            return loss

        def on_before_optimizer_step(self, optimizer):
            # (after accumulation, before clipping: the gradients Lightning hands the optimizer)
            self.grad_norms.append(torch.stack([p.grad.norm() for p in self.parameters()]))
            self.lrs.append(optimizer.param_groups[0]["lr"])

        def validation_step(self, batch, batch_idx):
            x, y = batch
            logits = self(x)
            self.log("val_loss", F.cross_entropy(logits, y), prog_bar=True)
            self.log("val_acc", (logits.argmax(1) == y).float().mean())
            self.val_f1(logits, y)
            self.log("val_f1", self.val_f1, on_epoch=True)

        def test_step(self, batch, batch_idx):
            x, y = batch
            self.log("test_loss", F.cross_entropy(self(x), y))

        def predict_step(self, batch, batch_idx, dataloader_idx=0):
            return F.softmax(self(batch[0]), dim=-1)

        def configure_optimizers(self):
            opt = torch.optim.Adam(self.parameters(), lr=self.hparams.lr, weight_decay=1e-3)
            sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=self.hparams.gamma)
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}

    return MLP


def run_mlp(root: str) -> None:
    """fit (shuffling, dropout, clipping by norm, accumulation, ModelCheckpoint top-k,
    EarlyStopping, CSVLogger), then validate / test / predict."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    pl.seed_everything(7, workers=True, verbose=False)
    model = mlp_class()()
    train, val = loaders(3)
    ckpt = ModelCheckpoint(dirpath=os.path.join(root, "ck"), monitor="val_loss", save_top_k=2,
                           save_last=True, filename="mlp-{epoch}")
    # min_delta larger than any improvement: stops after epoch 1 (patience 1) of 4.
    early = EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0, mode="min")
    tr = trainer(root, max_epochs=4, gradient_clip_val=0.5, gradient_clip_algorithm="norm",
                 accumulate_grad_batches=2, callbacks=[ckpt, early],
                 logger=CSVLogger(root, name="csv", version=0))
    tr.fit(model, train, val)
    put("mlp.losses", torch.stack(model.losses))
    put("mlp.grad_norms", torch.stack(model.grad_norms))
    put("mlp.lrs", np.array(model.lrs))
    put("mlp.state", model.state_dict())
    put("mlp.epochs_run", tr.current_epoch)
    put("mlp.global_step", tr.global_step)
    put("mlp.stopped_epoch", early.stopped_epoch)
    put("mlp.best_score", ckpt.best_model_score)
    put("mlp.callback_metrics", dict(sorted(tr.callback_metrics.items())))
    put("mlp.ckpt_names", np.array(sorted(os.path.basename(p) for p in ckpt.best_k_models)))
    put("mlp.validate", tr.validate(model, val, verbose=False))
    put("mlp.test", tr.test(model, val, verbose=False))
    put("mlp.predict", torch.cat(tr.predict(model, val)))
    with open(os.path.join(root, "csv", "version_0", "metrics.csv")) as f:
        put("mlp.csv_header", np.array(sorted(f.readline().strip().split(","))))
        put("mlp.csv_rows", len(f.readlines()))


def run_cnn(root: str) -> None:
    """Manual optimization: a conv + batch-norm net, SGD Nesterov, manual_backward,
    clip_gradients by value, a LambdaLR stepped by hand each step."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint
    from torch import nn
    from torch.nn import functional as F
    from torch.utils.data import DataLoader, TensorDataset

    class CNN(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.automatic_optimization = False
            self.conv = nn.Conv2d(1, 4, 3, padding=1)
            self.bn = nn.BatchNorm2d(4)
            self.head = nn.Linear(4 * 4 * 4, 3)
            self.losses = []

        def forward(self, x):
            return self.head(F.max_pool2d(F.relu(self.bn(self.conv(x))), 2).flatten(1))

        def training_step(self, batch, batch_idx):
            opt, sched = self.optimizers(), self.lr_schedulers()
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            opt.zero_grad()
            self.manual_backward(loss)
            self.clip_gradients(opt, gradient_clip_val=0.1, gradient_clip_algorithm="value")
            opt.step()
            sched.step()
            self.losses.append(loss.detach().clone())
            self.log("cnn_loss", loss)

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", F.cross_entropy(self(x), y))

        def predict_step(self, batch, batch_idx):
            return self(batch[0])

        def configure_optimizers(self):
            opt = torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9, nesterov=True)
            return [opt], [torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1 / (1 + step))]

    torch.manual_seed(11)
    x = torch.randn(48, 1, 8, 8)
    y = (x.mean(dim=(1, 2, 3)) * 10).long().clamp(-1, 1) + 1
    model = CNN()
    tr = trainer(root, callbacks=[ModelCheckpoint(dirpath=root, save_last=True)])
    tr.fit(model, DataLoader(TensorDataset(x, y), batch_size=12),
           DataLoader(TensorDataset(x[:12], y[:12]), batch_size=12))
    put("cnn.losses", torch.stack(model.losses))
    put("cnn.state", model.state_dict())
    put("cnn.momentum", [s["momentum_buffer"]
                         for s in tr.optimizers[0].state_dict()["state"].values()])
    put("cnn.lr", tr.optimizers[0].param_groups[0]["lr"])
    put("cnn.predict", torch.cat(trainer(root).predict(
        model, DataLoader(TensorDataset(x[:8]), batch_size=4))))


def run_resume(root: str) -> None:
    """Checkpoint after epoch 1, resume a fresh model to epoch 2 (ckpt_path=), read the
    checkpoint with torch.load and LightningModule.load_from_checkpoint."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint

    mlp = mlp_class()
    pl.seed_everything(5, verbose=False)
    train, val = loaders(4)
    ck = ModelCheckpoint(dirpath=root, save_last=True)
    trainer(root, max_epochs=1, callbacks=[ck]).fit(mlp(hidden=8), train, val)
    model = mlp(hidden=8)
    train, val = loaders(4)
    tr = trainer(root, max_epochs=2)
    tr.fit(model, train, val, ckpt_path=ck.last_model_path)
    put("resume.state", model.state_dict())
    put("resume.losses", torch.stack(model.losses))
    put("resume.global_step", tr.global_step)
    put("resume.lr", tr.optimizers[0].param_groups[0]["lr"])
    loaded = mlp.load_from_checkpoint(ck.last_model_path)
    put("resume.loaded_hparams", np.array(sorted(f"{k}={v}" for k, v in loaded.hparams.items())))
    put("resume.loaded_state", loaded.state_dict())
    checkpoint = torch.load(ck.last_model_path, weights_only=False)
    put("resume.ckpt_keys", np.array(sorted(checkpoint)))
    put("resume.ckpt_epoch", checkpoint["epoch"])
    put("resume.ckpt_step", checkpoint["global_step"])
    put("resume.ckpt_exp_avg", [s["exp_avg"]
                                for s in checkpoint["optimizer_states"][0]["state"].values()])
    put("resume.ckpt_last_lr", checkpoint["lr_schedulers"][0]["_last_lr"])


def run_fabric(root: str) -> None:
    """Fabric's loop (setup, setup_dataloaders, backward, clip_gradients, save / load,
    all_gather / all_reduce), then a LightningDataModule with random_split, two loader workers,
    ``self.log(sync_dist=True)`` and ``self.all_gather``."""
    import lightning as L
    import lightning.pytorch as pl
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset, random_split

    fabric = L.Fabric(accelerator="cpu", devices=1)
    fabric.seed_everything(3, verbose=False)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.RMSprop(model.parameters(), lr=0.01)
    model, opt = fabric.setup(model, opt)
    x = torch.randn(32, 4)
    loader = fabric.setup_dataloaders(DataLoader(TensorDataset(x, x.sum(1, keepdim=True)),
                                                 batch_size=8, shuffle=True))
    losses = []
    for _epoch in range(2):
        for inputs, targets in loader:
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(inputs), targets)
            fabric.backward(loss)
            fabric.clip_gradients(model, opt, max_norm=1.0)
            opt.step()
            losses.append(loss.detach())
    put("fabric.losses", torch.stack(losses))
    path = os.path.join(root, "fabric.ckpt")
    os.makedirs(root)
    fabric.save(path, {"model": model, "opt": opt, "step": 3})
    put("fabric.remainder", np.array(sorted(fabric.load(path, {"model": model, "opt": opt}))))
    put("fabric.state", model.state_dict())
    put("fabric.all_gather", fabric.all_gather(torch.arange(3.0)))
    put("fabric.all_reduce", fabric.all_reduce(torch.tensor(2.0), reduce_op="mean"))

    class Data(pl.LightningDataModule):
        def setup(self, stage):
            inputs = torch.randn(40, 4, generator=torch.Generator().manual_seed(0))
            data = TensorDataset(inputs, torch.arange(40) % 2)
            self.train, self.val = random_split(data, [30, 10],
                                                generator=torch.Generator().manual_seed(1))

        def train_dataloader(self):
            return DataLoader(self.train, batch_size=10, shuffle=True, num_workers=2)

        def val_dataloader(self):
            return DataLoader(self.val, batch_size=5)

    class Linear(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(4, 2)
            self.seen = []

        def training_step(self, batch, batch_idx):
            inputs, labels = batch
            self.seen.append(inputs.sum().detach())
            loss = nn.functional.cross_entropy(self.linear(inputs), labels)
            self.log("train_loss", loss, sync_dist=True)
            return loss

        def validation_step(self, batch, batch_idx):
            gathered = self.all_gather(batch[0].sum())
            self.log("gathered", gathered.float(), sync_dist=True, reduce_fx="max")

        def configure_optimizers(self):
            return torch.optim.Adagrad(self.parameters(), lr=0.1)

    pl.seed_everything(9, workers=True, verbose=False)
    module = Linear()
    tr = trainer(root)
    tr.fit(module, datamodule=Data())
    put("datamodule.seen", torch.stack(module.seen))
    put("datamodule.state", module.state_dict())
    put("datamodule.metrics", dict(sorted(tr.callback_metrics.items())))


@dataclasses.dataclass
class _Config:
    width: int = 4


def run_hparams(root: str) -> None:
    """Lightning's checkpoint I/O (torch.save into a buffer, fsspec write; pl_load) of
    hyperparameters of each kind: "ok" when they come back equal, else the exception's type."""
    from lightning.fabric.utilities.cloud_io import _load as pl_load
    from lightning.pytorch.plugins.io import TorchCheckpointIO

    kinds = {"tuple": (1, 2), "none": None, "nested": {"a": [1, {"b": (2.5, "x")}]},
             "tensor": torch.arange(3), "str": "adam", "dtype": torch.float64,
             "device": torch.device("cpu"), "namespace": argparse.Namespace(a=1),
             "dataclass": _Config(), "set": {1, 2}, "bytes": b"ab",
             "module": torch.nn.Linear(2, 2)}
    io = TorchCheckpointIO()
    for name, value in kinds.items():
        path = os.path.join(root, f"{name}.ckpt")
        try:
            io.save_checkpoint({"hyper_parameters": {"extra": value}, "epoch": 0}, path)
            back = pl_load(path, weights_only=False)["hyper_parameters"]["extra"]
            same = (torch.equal(back, value) if isinstance(value, torch.Tensor)
                    else isinstance(value, torch.nn.Module) or back == value)
            put(f"hparams.{name}", "ok" if same else f"differs: {back!r}")
        except Exception as error:  # noqa: BLE001 - the outcome is the result
            put(f"hparams.{name}", type(error).__name__)
            OUT[f"hparams_message.{name}"] = np.asarray(str(error))


if __name__ == "__main__":
    main()
