"""Notebook-style programs around torch (PR10, session 25): a CSV read with pandas into a
logistic regression and a submission frame written back as text; a scikit-learn estimator that
trains a torch model inside (clone, Pipeline, cross_val_score); sliding windows from NumPy's
stride tricks for a forecaster with an inverse-transformed scaler; embeddings exported to
NumPy and scikit-learn (cosine similarity, PCA, KMeans); images as HWC uint8 arrays through a
CNN and back. Tiny sizes, seeded; run by prog_s25_PR10_all.py.
"""

import io

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put
from prog_s25_PR10_numpy import attempt, kind
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

CSV = """id,sex,age,fare,embarked,survived
1,male,22,7.25,S,0
2,female,38,71.28,C,1
3,female,26,7.92,S,1
4,female,35,53.10,S,1
5,male,35,8.05,S,0
6,male,,8.46,Q,0
7,male,54,51.86,S,0
8,male,2,21.07,S,0
9,female,27,11.13,S,1
10,female,14,30.07,C,1
11,female,4,16.70,S,1
12,female,58,26.55,S,1
13,male,20,8.05,,0
14,male,39,31.27,S,0
15,female,,7.85,S,0
16,female,55,16.00,S,1
"""


def section_csv_pipeline() -> None:
    torch.manual_seed(20)
    df = pd.read_csv(io.StringIO(CSV))
    put("csv.na_counts", df.isna().sum().values)
    df["age"] = df["age"].fillna(df["age"].median())
    df["embarked"] = df["embarked"].fillna("S")
    df["sex"] = (df["sex"] == "female").astype(np.int64)
    features = pd.get_dummies(df[["sex", "age", "fare", "embarked"]], columns=["embarked"],
                              dtype=float)
    put("csv.columns", list(features.columns))
    X = torch.tensor(features.values, dtype=torch.float32)
    X = (X - X.mean(0)) / X.std(0)
    y = torch.tensor(df["survived"].values, dtype=torch.float32).unsqueeze(1)
    model = nn.Linear(X.shape[1], 1)
    opt = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=20)

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(X), y) + 1e-2 * model.weight.pow(2).sum()
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    with torch.no_grad():
        proba = torch.sigmoid(model(X)).squeeze(1)
    put("csv.proba", proba)
    submission = pd.DataFrame({"id": df["id"], "survived": (proba > 0.5).int().numpy()})
    put("csv.submission_dtypes", [str(d) for d in submission.dtypes])
    put("csv.text", submission.head(6).to_csv(index=False))
    put("csv.accuracy", float((submission["survived"] == df["survived"]).mean()))
    frame = pd.DataFrame({"p": proba.numpy().round(3)})
    put("csv.frame_text", frame.head(3).to_string())
    put("csv.series_of_tolist", pd.Series(proba.tolist()).round(2).tolist())


class TorchClassifier(ClassifierMixin, BaseEstimator):
    """A scikit-learn estimator training a small torch network, as tutorials wrap one."""

    def __init__(self, hidden=6, epochs=30, lr=0.1, seed=0):
        self.hidden, self.epochs, self.lr, self.seed = hidden, epochs, lr, seed

    def fit(self, X, y):
        torch.manual_seed(self.seed)
        self.classes_ = np.unique(y)
        X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
        y = torch.as_tensor(np.searchsorted(self.classes_, y))
        self.net_ = nn.Sequential(nn.Linear(X.shape[1], self.hidden), nn.ReLU(),
                                  nn.Linear(self.hidden, len(self.classes_)))
        opt = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        for _ in range(self.epochs):
            opt.zero_grad()
            F.cross_entropy(self.net_(X), y).backward()
            opt.step()
        return self

    def predict_proba(self, X):
        with torch.no_grad():
            X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
            return self.net_(X).softmax(1).numpy()

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]


def section_estimator() -> None:
    rng = np.random.default_rng(21)
    X = rng.normal(size=(36, 3))
    y = np.where(X[:, 0] - X[:, 2] > 0, "yes", "no")
    est = TorchClassifier(epochs=25)
    twin = clone(est)
    put("est.params", sorted(twin.get_params().items()))
    est.fit(X, y)
    put("est.proba", est.predict_proba(X[:5]))
    put("est.pred", est.predict(X[:5]))
    put("est.score", est.score(X, y))
    pipe = make_pipeline(StandardScaler(), TorchClassifier(epochs=20, seed=1))
    scores = cross_val_score(pipe, X, y, cv=3)
    put("est.cv", scores)
    put("est.cv_kind", kind(scores))
    pipe.fit(X, y)
    put("est.pipe_pred", pipe.predict(X[-4:]))
    attempt("est.tensor_input", lambda: pipe.predict(torch.tensor(X[:3])))


def section_windows() -> None:
    torch.manual_seed(22)
    t = np.arange(60, dtype=np.float64)
    series = np.sin(t / 5) + 0.1 * np.cos(t / 2)
    scaler = MinMaxScaler(feature_range=(-1, 1))
    scaled = scaler.fit_transform(series.reshape(-1, 1)).ravel()
    windows = np.lib.stride_tricks.sliding_window_view(scaled, 8)
    put("win.flags", [windows.flags.writeable, windows.flags.c_contiguous])
    X = torch.tensor(windows[:-1, :-1], dtype=torch.float32).unsqueeze(-1)
    y = torch.tensor(windows[:-1, -1], dtype=torch.float32)
    shared = torch.from_numpy(windows[:4])
    put("win.shared_stride", list(shared.stride()))
    put("win.shared", shared)
    rnn = nn.GRU(1, 5, batch_first=True)
    head = nn.Linear(5, 1)
    opt = torch.optim.Adam([*rnn.parameters(), *head.parameters()], lr=0.02)
    losses = []
    for _ in range(8):
        out, _ = rnn(X)
        loss = F.mse_loss(head(out[:, -1]).squeeze(-1), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    put("win.losses", np.array(losses))
    with torch.no_grad():
        pred = head(rnn(X[-5:])[0][:, -1])
    back = scaler.inverse_transform(pred.numpy())
    put("win.back", back)
    put("win.back_dtype", str(back.dtype))
    put("win.mae", float(np.abs(back.ravel() - series[-6:-1]).mean()))
    frame = pd.DataFrame({"t": pd.date_range("2024-03-01", periods=5, freq="h"),
                          "pred": pred.squeeze(1).numpy()})
    put("win.hours", torch.tensor(frame["t"].dt.hour.values))
    put("win.frame_mean", frame["pred"].mean())


def section_embedding_export() -> None:
    torch.manual_seed(23)
    emb = nn.Embedding(12, 4)
    vectors = emb.weight.detach().numpy()
    sims = cosine_similarity(vectors)
    put("emb.sims", sims)
    put("emb.sims_tensor", cosine_similarity(emb.weight.detach()))
    torch_sims = F.cosine_similarity(emb.weight[:, None], emb.weight[None], dim=-1)
    put("emb.gap", float(np.abs(torch_sims.detach().numpy() - sims).max()) < 1e-5)
    nearest_np = np.argsort(-sims[0])[1:4]
    nearest_t = torch.topk(torch.from_numpy(sims[0]), 4).indices[1:]
    put("emb.nearest", [nearest_np, nearest_t])
    pca = PCA(n_components=2, random_state=0).fit(vectors)
    put("emb.pca_var", pca.explained_variance_ratio_)
    put("emb.pca_proj_abs", np.abs(pca.transform(vectors)))
    # KNOWN (left, PR10): scikit-learn keeps a deltagrad float32 tensor's dtype (its dtype has
    # NumPy's `kind`); PyTorch's becomes float64 (see prog_s25_PR10_tabular.py's scaler)
    put("known.pca_on_tensor_dtype", str(pca.transform(emb.weight.detach()).dtype))
    km = KMeans(n_clusters=3, n_init=1, random_state=0).fit(vectors)
    put("emb.kmeans_sizes", np.sort(np.bincount(km.labels_, minlength=3)))
    centers = torch.from_numpy(km.cluster_centers_)
    put("emb.center_dtype", str(centers.dtype))
    put("emb.assign", torch.cdist(emb.weight.detach(), centers).argmin(1)
        == torch.from_numpy(km.labels_))
    with torch.no_grad():
        emb.weight[torch.from_numpy(nearest_np)] = 0.0
    put("emb.zeroed_rows", emb.weight.abs().sum(1) == 0)


def section_images() -> None:
    torch.manual_seed(24)
    rng = np.random.default_rng(25)
    images = rng.integers(0, 256, size=(3, 6, 6, 3), dtype=np.uint8)  # N, H, W, C
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    put("img.x_stride", list(x.stride()))
    put("img.x_contig", x.is_contiguous())
    mean = np.array([0.485, 0.456, 0.406])
    std = np.array([0.229, 0.224, 0.225])
    normed = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    put("img.normed_dtype", str(normed.dtype))
    conv = nn.Conv2d(3, 2, 3, padding=1)
    out = conv(normed.float())
    put("img.out", out)
    flipped = torch.from_numpy(np.flip(images, axis=2).copy())
    put("img.flip", flipped[0, 0, :, 0])
    put("img.flip_same", torch.equal(flipped, torch.from_numpy(images).flip(2)))
    back = (x.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    put("img.roundtrip", np.array_equal(back, images))
    heat = out[0, 0].detach()
    heat = ((heat - heat.min()) / (heat.max() - heat.min()) * 255).byte().numpy()
    put("img.heat", heat)
    put("img.heat_dtype", str(heat.dtype))
    batch = np.stack([img.transpose(2, 0, 1) for img in images]).astype(np.float32) / 255
    put("img.batch_equal", torch.allclose(torch.from_numpy(batch), x))
    put("img.hist", np.histogram(torch.from_numpy(images).float().numpy(), bins=4,
                                 range=(0, 256))[0])


SECTIONS = {"csv_pipeline": section_csv_pipeline, "estimator": section_estimator,
            "windows": section_windows, "embedding_export": section_embedding_export,
            "images": section_images}
