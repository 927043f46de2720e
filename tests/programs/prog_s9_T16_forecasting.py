"""pytorch-forecasting programs (T16), run unchanged on PyTorch and under ``python -m deltagrad
run``: a TimeSeriesDataSet from a small synthetic pandas frame, then TemporalFusionTransformer,
NBeats, DeepAR and RecurrentNetwork (QuantileLoss / MAE / NormalDistributionLoss), forward
passes, a few training steps with Lightning's Trainer, predict and interpret_output.

Usage: ``prog_s9_T16_forecasting.py OUT.npz WORKDIR SECTIONS`` (comma-separated of data, tft,
nbeats, deepar, rnn). Every number goes to OUT.npz; a section that raises records its traceback
as ``ERR.<section>``.
"""

import os
import shutil
import sys
import traceback
import warnings

import numpy as np
import torch

OUT: dict = {}


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
    elif value is None:
        OUT[prefix] = np.asarray("None")
    else:
        OUT[prefix] = np.asarray(value)


def frame():
    """Six series (two groups), 40 steps: a seasonal signal, a trend, a known covariate."""
    import pandas as pd

    rng = np.random.default_rng(0)
    rows = []
    for series in range(6):
        level = 5.0 + series
        for t in range(40):
            price = 1.0 + 0.1 * np.sin(t / 3.0 + series)
            value = level + 2.0 * np.sin(2 * np.pi * t / 7.0) + 0.05 * t - price \
                + 0.3 * rng.standard_normal()
            rows.append(dict(series=str(series), group=str(series % 2), time_idx=t,
                             value=float(value), price=float(price), month=str(t % 12)))
    df = pd.DataFrame(rows)
    df["value"] = df["value"].astype("float32")
    return df


def dataset(df, **overrides):
    from pytorch_forecasting import TimeSeriesDataSet
    from pytorch_forecasting.data import GroupNormalizer

    args = dict(time_idx="time_idx", target="value", group_ids=["series"],
                max_encoder_length=12, max_prediction_length=4,
                static_categoricals=["group"], time_varying_known_reals=["time_idx", "price"],
                time_varying_known_categoricals=["month"],
                time_varying_unknown_reals=["value"],
                target_normalizer=GroupNormalizer(groups=["series"], transformation="softplus"),
                add_relative_time_idx=True, add_target_scales=True, add_encoder_length=True)
    args.update(overrides)
    return TimeSeriesDataSet(df[df.time_idx < 32], **args)


def first_batch(ds, batch_size=8, train=False):
    loader = ds.to_dataloader(train=train, batch_size=batch_size, num_workers=0)
    return next(iter(loader)), loader


def trainer(root, steps):
    import lightning.pytorch as pl

    return pl.Trainer(max_steps=steps, accelerator="cpu", devices=1, deterministic=True,
                      logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, default_root_dir=root,
                      limit_val_batches=1, gradient_clip_val=0.1)


def fit_and_record(prefix, model, train_loader, val_loader, root, steps=3):
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer(root, steps).fit(model, train_dataloaders=train_loader, val_dataloaders=val_loader)
    moved = 0.0
    for name, param in model.named_parameters():
        moved += float((param.detach() - before[name]).abs().sum())
    put(f"{prefix}.moved", moved)
    state = model.state_dict()
    put(f"{prefix}.n_state", len(state))
    for name in sorted(state)[:12]:
        put(f"{prefix}.state.{name}", state[name])


def run_data(root):
    from pytorch_forecasting import TimeSeriesDataSet

    df = frame()
    ds = dataset(df)
    put("data.len", len(ds))
    x, y = ds[3]
    put("data.item.x", {k: v for k, v in x.items() if isinstance(v, torch.Tensor)})
    put("data.item.y0", y[0])
    (xb, yb), _ = first_batch(ds)
    put("data.batch.x", {k: v for k, v in xb.items() if isinstance(v, torch.Tensor)})
    put("data.batch.y0", yb[0])
    put("data.batch.w", yb[1])
    params = ds.get_parameters()
    put("data.reals", list(ds.reals))
    put("data.categoricals", list(ds.categoricals))
    val = TimeSeriesDataSet.from_dataset(ds, df, predict=True, stop_randomization=True)
    put("data.val_len", len(val))
    (xv, yv), _ = first_batch(val, batch_size=6)
    put("data.val.x", {k: v for k, v in xv.items() if isinstance(v, torch.Tensor)})
    scaler = ds.target_normalizer
    put("data.scaler.params", scaler.get_parameters(np.array(["0", "3"])))
    put("data.n_params", len(params))


def run_tft(root):
    from pytorch_forecasting import TemporalFusionTransformer, TimeSeriesDataSet
    from pytorch_forecasting.metrics import QuantileLoss

    df = frame()
    ds = dataset(df)
    val = TimeSeriesDataSet.from_dataset(ds, df, predict=True, stop_randomization=True)
    torch.manual_seed(0)
    model = TemporalFusionTransformer.from_dataset(
        ds, hidden_size=8, attention_head_size=2, dropout=0.1, hidden_continuous_size=4,
        loss=QuantileLoss(), learning_rate=0.03, log_interval=-1, reduce_on_plateau_patience=2,
        optimizer="sgd")
    put("tft.n_params", sum(p.numel() for p in model.parameters()))
    (xb, yb), _ = first_batch(val, batch_size=6)
    model.eval()
    with torch.no_grad():
        out = model(xb)
    put("tft.prediction", out["prediction"])
    put("tft.encoder_variables", out["encoder_variables"])
    put("tft.attention", out["encoder_attention"])
    put("tft.loss", model.loss(out["prediction"], yb))
    interp = model.interpret_output(out, reduction="sum")
    put("tft.interp", interp)
    model.train()
    torch.manual_seed(1)
    train_loader = ds.to_dataloader(train=True, batch_size=8, num_workers=0)
    val_loader = val.to_dataloader(train=False, batch_size=6, num_workers=0)
    fit_and_record("tft.fit", model, train_loader, val_loader, os.path.join(root, "tft"))
    pred = model.predict(val_loader, mode="quantiles", trainer_kwargs=dict(
        accelerator="cpu", logger=False, enable_progress_bar=False))
    put("tft.predict", pred)


def run_nbeats(root):
    from pytorch_forecasting import NBeats, TimeSeriesDataSet
    from pytorch_forecasting.metrics import MAE

    df = frame()
    ds = TimeSeriesDataSet(df[df.time_idx < 32], time_idx="time_idx", target="value",
                           group_ids=["series"], max_encoder_length=14,
                           max_prediction_length=4, time_varying_unknown_reals=["value"])
    val = TimeSeriesDataSet.from_dataset(ds, df, predict=True, stop_randomization=True)
    torch.manual_seed(0)
    model = NBeats.from_dataset(ds, widths=[16, 32], backcast_loss_ratio=0.1, loss=MAE(),
                                learning_rate=0.01, log_interval=-1)
    (xb, yb), _ = first_batch(val, batch_size=6)
    model.eval()
    with torch.no_grad():
        out = model(xb)
    put("nbeats.prediction", out["prediction"])
    put("nbeats.backcast", out["backcast"])
    put("nbeats.trend", out["trend"])
    put("nbeats.seasonality", out["seasonality"])
    model.train()
    torch.manual_seed(1)
    fit_and_record("nbeats.fit", model, ds.to_dataloader(train=True, batch_size=8),
                   val.to_dataloader(train=False, batch_size=6), os.path.join(root, "nb"))
    pred = model.predict(val.to_dataloader(train=False, batch_size=6), trainer_kwargs=dict(
        accelerator="cpu", logger=False, enable_progress_bar=False))
    put("nbeats.predict", pred)


def run_deepar(root):
    from pytorch_forecasting import DeepAR, TimeSeriesDataSet
    from pytorch_forecasting.metrics import NormalDistributionLoss

    df = frame()
    ds = dataset(df, target_normalizer="auto", time_varying_known_categoricals=[],
                 static_categoricals=[])
    val = TimeSeriesDataSet.from_dataset(ds, df, predict=True, stop_randomization=True)
    torch.manual_seed(0)
    model = DeepAR.from_dataset(ds, hidden_size=8, rnn_layers=2, dropout=0.0,
                                loss=NormalDistributionLoss(), learning_rate=0.01,
                                log_interval=-1)
    (xb, yb), _ = first_batch(val, batch_size=6)
    model.eval()
    with torch.no_grad():
        out = model(xb)
    put("deepar.prediction", out["prediction"])
    put("deepar.loss", model.loss(out["prediction"], yb))
    torch.manual_seed(3)
    with torch.no_grad():
        sampled = model(xb, n_samples=5)
    put("deepar.samples_shape", list(sampled["prediction"].shape))
    model.train()
    torch.manual_seed(1)
    fit_and_record("deepar.fit", model, ds.to_dataloader(train=True, batch_size=8),
                   val.to_dataloader(train=False, batch_size=6), os.path.join(root, "ar"))


def run_rnn(root):
    from pytorch_forecasting import RecurrentNetwork, TimeSeriesDataSet
    from pytorch_forecasting.metrics import MAE, SMAPE

    df = frame()
    ds = dataset(df, time_varying_known_categoricals=[])
    val = TimeSeriesDataSet.from_dataset(ds, df, predict=True, stop_randomization=True)
    for cell, loss in (("LSTM", MAE()), ("GRU", SMAPE())):
        torch.manual_seed(0)
        model = RecurrentNetwork.from_dataset(ds, cell_type=cell, hidden_size=8, rnn_layers=2,
                                              dropout=0.0, loss=loss, learning_rate=0.01,
                                              log_interval=-1)
        (xb, yb), _ = first_batch(val, batch_size=6)
        model.eval()
        with torch.no_grad():
            out = model(xb)
        put(f"rnn.{cell}.prediction", out["prediction"])
        put(f"rnn.{cell}.loss", model.loss(out["prediction"], yb))
        model.train()
        torch.manual_seed(1)
        fit_and_record(f"rnn.{cell}.fit", model, ds.to_dataloader(train=True, batch_size=8),
                       val.to_dataloader(train=False, batch_size=6),
                       os.path.join(root, cell))


def main() -> None:
    out_path, root, sections = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    warnings.filterwarnings("ignore")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    import pytorch_forecasting  # noqa: F401 - fail here, not in a section, if it cannot import

    for name in sections:
        try:
            globals()[f"run_{name}"](os.path.join(root, name))
        except Exception:  # noqa: BLE001 - recorded for the test to show
            OUT[f"ERR.{name}"] = np.asarray(traceback.format_exc())
    np.savez(out_path, **OUT)


if __name__ == "__main__":
    main()
