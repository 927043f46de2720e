"""pandas and scikit-learn around a torch model, as Kaggle notebooks and course assignments
write it (PR10, session 25): tensors from DataFrames (values, to_numpy(dtype=...), integer
columns with NaN, category codes, datetimes, get_dummies, a mixed frame refused), frames from
tensors; train_test_split of tensors, StandardScaler then torch.tensor, metrics fed tensors,
KFold over Subsets with early stopping on a validation metric, class weights from np.bincount,
a tabular MLP with embeddings for categorical columns, DataLoader collation of NumPy items,
predictions gathered with torch.cat and np.concatenate. Tiny sizes, seeded; run by
prog_s25_PR10_all.py.
"""

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put
from prog_s25_PR10_numpy import attempt, kind
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    mean_squared_error,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.preprocessing import LabelEncoder, MinMaxScaler, OneHotEncoder, StandardScaler
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset


def frame(rows: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "age": rng.integers(18, 70, rows),
        "income": rng.normal(50.0, 12.0, rows).round(2),
        "city": pd.Categorical(rng.choice(["oslo", "rome", "lima", "kyiv"], rows)),
        "plan": rng.choice(["free", "pro", "team"], rows),
        "visits": pd.array(np.where(rng.random(rows) < 0.2, -1, rng.integers(0, 9, rows)),
                           dtype="Int64").astype("float64"),
        "signup": pd.date_range("2024-01-01", periods=rows, freq="D"),
        "label": rng.integers(0, 3, rows),
    })


def section_frames() -> None:
    df = frame()
    df.loc[df["visits"] < 0, "visits"] = np.nan
    put("pd.values_dtype", str(df[["age", "income"]].values.dtype))
    numeric = torch.tensor(df[["age", "income"]].values)
    put("pd.numeric", numeric)
    put("pd.numeric_f32", torch.tensor(df[["age", "income"]].values, dtype=torch.float32))
    put("pd.to_numpy_f32", torch.from_numpy(df[["age", "income"]].to_numpy(dtype=np.float32)))
    put("pd.age", torch.tensor(df["age"].values))
    put("pd.age_series", torch.tensor(df["age"]))
    put("pd.income_series", torch.tensor(df["income"]))  # (float64: the items are np.float64)
    shuffled = df.sample(frac=1.0, random_state=0)
    put("pd.shuffled_series", torch.tensor(shuffled["income"]))  # (label 0 is there: values)
    held_out = df.iloc[30:]  # (labels 30, 31, ...: PyTorch finds no item 0, ValueError)
    attempt("pd.held_out_series", lambda: torch.tensor(held_out["income"]))
    put("pd.reset_series", torch.tensor(shuffled["income"].reset_index(drop=True)))
    put("pd.series_values", torch.tensor(shuffled["income"].values))
    attempt("pd.frame_itself", lambda: torch.tensor(df[["age", "income"]]))
    put("pd.series_of_lists", torch.tensor(pd.Series([[1.0, 2.0], [3.0, 4.0]])))
    put("pd.visits_nan", torch.tensor(df["visits"].values))
    put("pd.visits_isnan", torch.isnan(torch.tensor(df["visits"].values)).sum())
    put("pd.visits_filled", torch.tensor(df["visits"].fillna(df["visits"].median()).values))
    codes = torch.tensor(df["city"].cat.codes.values, dtype=torch.long)
    put("pd.city_codes", codes)
    put("pd.city_codes_raw", torch.from_numpy(df["city"].cat.codes.values.copy()))
    put("pd.signup_int", torch.tensor(df["signup"].values.astype("int64") // 86_400_000_000_000))
    put("pd.signup_view", torch.from_numpy(df["signup"].values.view("int64").copy())[:3])
    dummies = pd.get_dummies(df["plan"])
    put("pd.dummies_dtype", str(dummies.values.dtype))
    put("pd.dummies", torch.tensor(dummies.values))
    put("pd.dummies_float", torch.tensor(dummies.values, dtype=torch.float32))
    attempt("pd.mixed_values", lambda: torch.tensor(df.values))
    attempt("pd.mixed_from_numpy", lambda: torch.from_numpy(df[["age", "plan"]].values))
    attempt("pd.object_astype", lambda: torch.tensor(
        df[["age", "income"]].astype(object).values.astype(np.float32)))
    attempt("pd.datetime_values", lambda: torch.tensor(df["signup"].values))
    attempt("pd.string_values", lambda: torch.tensor(df["plan"].values))
    # frames and series from tensors
    t = torch.arange(6, dtype=torch.float32).reshape(3, 2)
    back = pd.DataFrame(t.numpy(), columns=["a", "b"])
    put("pd.back_dtypes", [str(d) for d in back.dtypes])
    put("pd.back_sum", back.sum().values)
    attempt("pd.frame_of_tensor", lambda: pd.DataFrame(t).values)
    attempt("pd.series_of_tensor", lambda: pd.Series(t[:, 0]).values)
    series = pd.Series(t[:, 1].numpy())
    put("pd.series_mean", series.mean())
    grouped = df.assign(score=torch.linspace(0, 1, len(df)).numpy()).groupby("plan")["score"]
    put("pd.group_means", torch.tensor(grouped.mean().values))
    put("pd.group_names", list(grouped.mean().index))
    put("pd.describe", torch.tensor(df[["age", "income"]].describe().values))
    rolling = pd.Series(torch.arange(8.0).numpy()).rolling(3).mean()
    put("pd.rolling", torch.tensor(rolling.values))
    put("pd.corr", torch.tensor(df[["age", "income"]].corr().values))
    put("pd.tolist_in_frame", pd.DataFrame({"p": torch.tensor([0.25, 0.75]).tolist()})["p"].sum())


class TabularNet(nn.Module):
    def __init__(self, cardinalities, numeric, hidden=8, classes=3):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(n, min(4, (n + 1) // 2))
                                        for n in cardinalities)
        width = sum(e.embedding_dim for e in self.embeddings) + numeric
        self.norm = nn.BatchNorm1d(numeric)
        self.body = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(0.1),
                                  nn.Linear(hidden, classes))

    def forward(self, categorical, numeric):
        parts = [e(categorical[:, i]) for i, e in enumerate(self.embeddings)]
        return self.body(torch.cat([*parts, self.norm(numeric)], dim=1))


def tabular_arrays(df: pd.DataFrame):
    encoders = {c: LabelEncoder().fit(df[c].astype(str)) for c in ("city", "plan")}
    categorical = np.stack([encoders[c].transform(df[c].astype(str)) for c in encoders], axis=1)
    numeric = df[["age", "income"]].to_numpy(dtype=np.float64)
    return categorical, numeric, df["label"].to_numpy(), [len(e.classes_) for e in
                                                           encoders.values()]


def section_sklearn_split() -> None:
    df = frame(60, seed=1)
    categorical, numeric, labels, cards = tabular_arrays(df)
    put("sk.cat_dtype", str(categorical.dtype))
    X = torch.tensor(numeric, dtype=torch.float32)
    y = torch.from_numpy(labels)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    put("sk.split_kinds", [kind(v) for v in (X_tr, X_te, y_tr, y_te)])
    put("sk.split", [X_tr, X_te, y_tr, y_te])
    a_tr, a_te = train_test_split(numeric, test_size=0.25, random_state=0,
                                  stratify=labels)
    put("sk.split_same", np.allclose(a_tr, X_tr.double().numpy()))
    scaler = StandardScaler().fit(X_tr.numpy())
    scaled = scaler.transform(X_te.numpy())
    # KNOWN (left, PR10): fitted on the float32 tensors themselves, scikit-learn keeps float32
    # on deltagrad's side and gives float64 on PyTorch's: check_array keeps an input's dtype
    # only if that dtype has NumPy's `kind`, which deltagrad's dtype objects read through
    known = StandardScaler().fit(X_tr).transform(X_te)
    put("known.scaler_on_tensor_dtype", str(known.dtype))
    put("sk.scaler_on_tensor", known.astype(np.float64))
    put("sk.scaled_kind", kind(scaled))
    put("sk.scaled_dtype", str(scaled.dtype))
    put("sk.scaled", torch.tensor(scaled))
    put("sk.scaled_f32", torch.tensor(scaled, dtype=torch.float32))
    put("sk.scaler_mean", torch.from_numpy(scaler.mean_))
    mm = MinMaxScaler().fit_transform(X.numpy())
    put("sk.minmax", torch.as_tensor(mm))
    onehot = OneHotEncoder(sparse_output=False).fit_transform(categorical)
    put("sk.onehot", torch.tensor(onehot, dtype=torch.float32).sum(0))
    # metrics fed tensors and their numpy arrays
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(len(y_te), 3, generator=g)
    probs = logits.softmax(dim=1)
    pred = logits.argmax(dim=1)
    put("sk.acc_t", accuracy_score(y_te, pred))
    put("sk.acc_np", accuracy_score(y_te.numpy(), pred.numpy()))
    put("sk.f1_macro", f1_score(y_te, pred, average="macro"))
    put("sk.f1_weighted", f1_score(y_te.numpy(), pred.numpy(), average="weighted"))
    put("sk.confusion", confusion_matrix(y_te, pred, labels=[0, 1, 2]))
    put("sk.auc_ovr", roc_auc_score(y_te, probs, multi_class="ovr"))
    binary = (y_te == 1).long()
    put("sk.auc_bin", roc_auc_score(binary, probs[:, 1]))
    put("sk.auc_bin_np", roc_auc_score(binary.numpy(), probs[:, 1].numpy()))
    w = torch.randn(3, requires_grad=True)
    scores = probs @ w
    attempt("sk.auc_requires_grad", lambda: roc_auc_score(binary, scores))
    put("sk.auc_detached", roc_auc_score(binary, scores.detach()))
    put("sk.mse", mean_squared_error(torch.linspace(0, 1, 5), torch.linspace(0, 1.2, 5)))
    put("sk.r2", r2_score(torch.arange(5.0), torch.arange(5.0) * 0.9))
    put("sk.metric_kinds", [kind(accuracy_score(y_te, pred)), kind(f1_score(y_te, pred,
                                                                            average="micro"))])


def section_tabular_mlp() -> None:
    torch.manual_seed(4)
    df = frame(64, seed=2)
    categorical, numeric, labels, cards = tabular_arrays(df)
    numeric = StandardScaler().fit_transform(numeric)
    data = TensorDataset(torch.tensor(categorical), torch.tensor(numeric, dtype=torch.float32),
                         torch.tensor(labels))
    train, valid = Subset(data, range(48)), Subset(data, range(48, 64))
    counts = np.bincount(labels[:48], minlength=3)
    weights = torch.tensor(len(labels[:48]) / (3 * counts), dtype=torch.float32)
    put("tab.weights", weights)
    attempt("tab.weight_f64", lambda: F.cross_entropy(
        torch.zeros(2, 3), torch.tensor([0, 1]), weight=torch.tensor(1.0 / counts)))
    net = TabularNet(cards, 2)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    opt = torch.optim.Adam(net.parameters(), lr=0.02)
    loader = DataLoader(train, batch_size=16, shuffle=True,
                        generator=torch.Generator().manual_seed(5))
    losses, accs = [], []
    for _ in range(6):
        net.train()
        for cat, num, target in loader:
            loss = loss_fn(net(cat, num), target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        net.eval()
        preds, truth = [], []
        with torch.no_grad():
            for cat, num, target in DataLoader(valid, batch_size=5):
                preds.append(net(cat, num).argmax(1))
                truth.append(target.numpy())
        accs.append(accuracy_score(np.concatenate(truth), torch.cat(preds).numpy()))
    put("tab.losses", np.array(losses))
    put("tab.accs", np.array(accs))
    put("tab.batch_dtypes", [str(cat.dtype), str(num.dtype), str(target.dtype)])
    put("tab.embedding", net.embeddings[0].weight)
    gathered = np.concatenate([p.numpy() for p in preds])
    put("tab.gathered", gathered)
    put("tab.gathered_dtype", str(gathered.dtype))
    put("tab.value_counts", pd.Series(gathered).value_counts().sort_index().values)


class NumpyRows(Dataset):
    """A Dataset handing out NumPy arrays and NumPy / Python scalars, as many tutorials'."""

    def __init__(self, n=10):
        rng = np.random.default_rng(7)
        self.x = rng.normal(size=(n, 3))  # float64
        self.y = rng.integers(0, 2, n)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"x": self.x[i], "x32": self.x[i].astype(np.float32), "y": self.y[i],
                "w": float(self.y[i]) + 0.5, "n": int(i), "f": np.float32(0.25) * i,
                "name": f"row{i}", "pair": (self.y[i], np.bool_(i % 2))}


def section_loaders() -> None:
    batch = next(iter(DataLoader(NumpyRows(), batch_size=4)))
    for key in ("x", "x32", "y", "w", "n", "f"):
        put(f"dl.{key}", batch[key])
        put(f"dl.{key}.kind", kind(batch[key]))
    put("dl.name", list(batch["name"]))
    put("dl.pair", list(batch["pair"]))
    put("dl.pair_kinds", [kind(v) for v in batch["pair"]])
    X = np.random.default_rng(8).normal(size=(9, 2))
    ds = TensorDataset(torch.from_numpy(X), torch.arange(9))
    sizes = [len(b[0]) for b in DataLoader(ds, batch_size=4, drop_last=False)]
    put("dl.sizes", sizes)
    put("dl.first", next(iter(DataLoader(ds, batch_size=3)))[0])
    attempt("dl.ndarray_dataset", lambda: next(iter(DataLoader(X, batch_size=3))))
    pairs = list(zip(X.astype(np.float32), np.arange(9)))
    put("dl.zip_batch", next(iter(DataLoader(pairs, batch_size=5))))
    put("dl.len", [len(DataLoader(ds, batch_size=4)), len(DataLoader(ds, batch_size=4,
                                                                     drop_last=True))])


def section_kfold() -> None:
    torch.manual_seed(6)
    rng = np.random.default_rng(9)
    X = rng.normal(size=(30, 4)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
    data = TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    fold_scores, stops = [], []
    splitter = KFold(n_splits=3, shuffle=True, random_state=0)
    for fold, (tr, va) in enumerate(splitter.split(X)):
        model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2))
        opt = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.5)
        best, best_state, patience, stop = -1.0, None, 0, None
        for epoch in range(15):
            for xb, yb in DataLoader(Subset(data, tr), batch_size=8):
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                xv, yv = data[va]
                score = f1_score(yv, model(xv).argmax(1), zero_division=0)
            if score > best:
                best, patience = score, 0
                best_state = {k: v.clone() for k, v in model.state_dict().items()}
            else:
                patience += 1
                if patience >= 3:
                    stop = epoch
                    break
        model.load_state_dict(best_state)
        fold_scores.append(best)
        stops.append(-1 if stop is None else stop)
        put(f"kf.fold{fold}.weight", model[0].weight)
        put(f"kf.fold{fold}.idx", va)
    put("kf.scores", np.array(fold_scores))
    put("kf.stops", np.array(stops))
    put("kf.mean", float(np.mean(fold_scores)))
    strat = StratifiedKFold(n_splits=3, shuffle=True, random_state=1)
    put("kf.strat", [torch.from_numpy(y)[va].sum() for _, va in strat.split(X, y)])
    put("kf.subset_item", list(Subset(data, np.array([3, 1]))[1]))
    put("kf.subset_np_index", Subset(data, [np.int64(2)])[0][0])


SECTIONS = {"frames": section_frames, "sklearn_split": section_sklearn_split,
            "tabular_mlp": section_tabular_mlp, "loaders": section_loaders,
            "kfold": section_kfold}
