"""Models, data and losses of session 26's training-loop fuzzer (``s26_SL13_loops.py``).

A model is drawn as plain data (``draw_model``: nested lists and dicts, printable and the same
for a seed) and built under either library by ``build(L, spec)``. Four kinds:

- ``mlp``: a stack over ``[B, D]`` of Linear / LayerNorm / BatchNorm1d / Dropout / activations
  and residual blocks;
- ``conv1d`` / ``conv2d``: convolutions (stride, padding, groups, padding modes), BatchNorm,
  pools, residual blocks, then a flatten or a global average and a Linear head;
- ``seq``: Embedding (padding_idx, max_norm, scale_grad_by_freq) then an LSTM / GRU / RNN
  (layers, bidirectional, batch_first, proj_size, dropout between layers), a
  TransformerEncoderLayer (norm_first, activations, a key padding mask), a MultiheadAttention
  block with a residual and LayerNorm, or a Conv1d, then a Linear head (tied to the embedding
  where the shapes allow).

``data(spec, task, rng, n)`` draws a batch as NumPy arrays; ``loss(L, task, out, batch)``
computes the task's loss (cross entropy with class weights / ignore_index / label smoothing,
nll, BCE with logits and pos_weight, KL divergence, mse / l1 / smooth_l1 / huber, cosine
embedding, multilabel soft margin, CTC).
"""

from __future__ import annotations

import numpy as np

# (smooth everywhere: the one placed before a Linear / Conv that BatchNorm follows, where a
# piecewise-linear one would pass an upstream bias on linearly, invisible to the BatchNorm)
SMOOTH = ["GELU", "GELU-tanh", "Tanh", "Sigmoid", "SiLU", "Softplus", "Mish"]
ACTS = ["ReLU", "GELU", "GELU-tanh", "Tanh", "Sigmoid", "SiLU", "LeakyReLU", "ELU", "Softplus",
        "Mish", "Hardswish", "ReLU6", "CELU", "SELU", "Hardtanh", "PReLU"]


def _pick(rng, seq):
    return seq[int(rng.integers(0, len(seq)))]


def _coin(rng, p=0.5):
    return bool(rng.random() < p)


# ---------------------------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------------------------

def _draw_dense(rng, dim, depth, no_bn_bias=True):
    """Layers over [B, dim] keeping track of the width; returns (layers, dim)."""
    layers = []
    for _ in range(depth):
        r = rng.random()
        if r < 0.35:
            out = int(rng.integers(3, 9))
            nxt_bn = _coin(rng, 0.25)
            if nxt_bn and layers and not (layers[-1][0] == "act" and layers[-1][1] in SMOOTH):
                # (a bias reaching BatchNorm through linear maps only has a gradient of zero in
                # exact arithmetic: rounding noise would decide Adam-like steps' signs)
                layers.append(["act", _pick(rng, SMOOTH)])
            layers.append(["linear", out, not (nxt_bn and no_bn_bias)])
            dim = out
            if nxt_bn:
                layers.append(["bn1d", _pick(rng, [0.1, 0.3, None]), _coin(rng, 0.8),
                               _coin(rng, 0.85)])
        elif r < 0.55:
            layers.append(["act", _pick(rng, ACTS)])
        elif r < 0.65:
            layers.append(["ln", _coin(rng, 0.8), _coin(rng, 0.8)])
        elif r < 0.75:
            layers.append(["drop", float(_pick(rng, [0.0, 0.2, 0.5]))])
        else:
            body = [["linear", dim, True], ["act", _pick(rng, ACTS)], ["linear", dim, True]]
            if _coin(rng, 0.3):
                body.insert(0, ["ln", True, True])
            layers.append(["res", body])
    return layers, dim


def _draw_conv(rng, nd, chans, size):
    layers = []
    for _ in range(int(rng.integers(1, 4))):
        r = rng.random()
        if r < 0.45:
            groups = _pick(rng, [1, 1, 1, 2]) if chans % 2 == 0 else 1
            out = groups * int(rng.integers(1, 4))
            k = int(rng.integers(1, 4))
            stride = _pick(rng, [1, 1, 2])
            pad = _pick(rng, [0, 1, "same"]) if stride == 1 else _pick(rng, [0, 1])
            mode = _pick(rng, ["zeros", "zeros", "reflect", "replicate", "circular"])
            if mode != "zeros" and (pad == 0 or pad == "same"):
                mode = "zeros"
            if pad == "same":
                p = k // 2
            else:
                p = pad
            new = [(s + 2 * p - k) // stride + 1 for s in size]
            if min(new) < 1 or (mode == "reflect" and p >= min(size)):
                continue
            # (not after a 1 x 1 kernel over one channel: BatchNorm cancels the scale of its
            # single weight per channel, whose gradient is then rounding noise)
            bn = _coin(rng, 0.35) and chans * k > 1
            if bn and layers and not (layers[-1][0] == "act" and layers[-1][1] in SMOOTH):
                layers.append(["act", _pick(rng, SMOOTH)])  # (as in _draw_dense)
            layers.append(["conv", out, k, stride, pad, groups, not bn, mode])
            chans, size = out, new
            if bn:
                layers.append(["bn", float(_pick(rng, [0.1, 0.5])), _coin(rng, 0.85)])
        elif r < 0.7:
            layers.append(["act", _pick(rng, ACTS[:12])])
        elif r < 0.85 and min(size) >= 2:
            kind = _pick(rng, ["max", "avg", "max"])
            layers.append(["pool", kind, 2])
            size = [s // 2 for s in size]
        else:
            k = _pick(rng, [1, 3])
            layers.append(["res", [["conv", chans, k, 1, k // 2, 1, True, "zeros"],
                                   ["act", _pick(rng, ACTS[:6])]]])
    return layers, chans, size


def draw_model(rng):
    kind = _pick(rng, ["mlp", "mlp", "conv1d", "conv2d", "seq", "seq", "seq"])
    spec = {"kind": kind}
    if kind == "mlp":
        spec["in"] = int(rng.integers(3, 8))
        spec["body"], dim = _draw_dense(rng, spec["in"], int(rng.integers(1, 5)))
    elif kind in ("conv1d", "conv2d"):
        nd = 1 if kind == "conv1d" else 2
        spec["chans"] = int(rng.integers(1, 4)) * _pick(rng, [1, 2])
        spec["size"] = [int(rng.integers(4, 9)) for _ in range(nd)]
        spec["body"], chans, size = _draw_conv(rng, nd, spec["chans"], spec["size"])
        spec["flatten"] = _coin(rng)
        dim = chans * int(np.prod(size)) if spec["flatten"] else chans
    else:
        spec["vocab"] = int(rng.integers(6, 12))
        spec["emb"] = e = _pick(rng, [4, 6, 8])
        spec["pad_idx"] = _pick(rng, [None, 0])
        spec["max_norm"] = _pick(rng, [None, None, None, 1.5])
        spec["freq"] = _coin(rng, 0.2)
        spec["len"] = int(rng.integers(3, 7))
        enc = _pick(rng, ["lstm", "gru", "rnn", "tel", "mha", "conv"])
        spec["enc"] = enc
        if enc in ("lstm", "gru", "rnn"):
            layers = _pick(rng, [1, 1, 2])
            spec["rnn"] = {
                "hidden": int(rng.integers(3, 8)), "layers": layers, "bi": _coin(rng, 0.4),
                "batch_first": _coin(rng), "bias": _coin(rng, 0.85),
                "dropout": float(_pick(rng, [0.0, 0.3])) if layers > 1 else 0.0,
                "proj": int(rng.integers(2, 4)) if enc == "lstm" and _coin(rng, 0.2) else 0,
                "nonlin": _pick(rng, ["tanh", "relu"]),
            }
            r = spec["rnn"]
            dim = (r["proj"] or r["hidden"]) * (2 if r["bi"] else 1)
        elif enc == "tel":
            spec["tel"] = {"nhead": _pick(rng, [1, 2]), "ff": int(rng.integers(4, 12)),
                           "dropout": float(_pick(rng, [0.0, 0.0, 0.1])),
                           "act": _pick(rng, ["relu", "gelu"]), "norm_first": _coin(rng),
                           "batch_first": _coin(rng, 0.7), "mask": _coin(rng, 0.5),
                           "bias": _coin(rng, 0.85)}
            dim = e
        elif enc == "mha":
            spec["mha"] = {"nhead": _pick(rng, [1, 2]), "dropout": float(_pick(rng, [0.0, 0.2])),
                           "batch_first": _coin(rng, 0.6), "mask": _coin(rng, 0.5),
                           "causal": _coin(rng, 0.4), "bias": _coin(rng, 0.85),
                           "add_bias_kv": _coin(rng, 0.15), "weights": _coin(rng, 0.5)}
            dim = e
        else:
            spec["conv"] = {"hidden": int(rng.integers(3, 8)), "k": _pick(rng, [1, 3])}
            dim = spec["conv"]["hidden"]
        spec["tie"] = dim == e and _coin(rng, 0.6)
        spec["drop"] = float(_pick(rng, [0.0, 0.0, 0.3]))
    spec["feat"] = dim
    spec["freeze_first"] = _coin(rng, 0.15)
    return spec


def draw_task(rng, spec):
    """What the head predicts and the loss on it."""
    if spec["kind"] == "seq":
        mode = _pick(rng, ["token", "token", "pooled", "ctc"])
    else:
        mode = "pooled"
    task = {"mode": mode}
    if spec.get("tie"):
        task["classes"] = spec["vocab"]
    else:
        task["classes"] = int(rng.integers(2, 6))
    if mode == "ctc":
        task["loss"] = "ctc"
        task["reduction"] = _pick(rng, ["mean", "sum", "none"])
        task["zero_inf"] = _coin(rng)
        if task["classes"] < 3:
            task["classes"] = 3
        spec["tie"] = spec.get("tie") and task["classes"] == spec["vocab"]
        return task
    losses = ["ce", "ce", "ce", "nll", "bce", "kl", "mse", "l1", "smooth_l1", "huber"]
    if mode == "pooled":
        losses += ["cosine", "mlsm"]
    task["loss"] = loss = _pick(rng, losses)
    task["reduction"] = _pick(rng, ["mean", "mean", "sum"])
    if loss in ("ce", "nll"):
        task["weight"] = _coin(rng, 0.3)
        task["ignore"] = _pick(rng, [None, None, -100, 1])
        task["smooth"] = float(_pick(rng, [0.0, 0.0, 0.1])) if loss == "ce" else 0.0
        task["kdim"] = mode == "token" and _coin(rng)
        if loss == "ce" and _coin(rng, 0.15):
            task["prob_target"] = True
    elif loss == "bce":
        task["pos_weight"] = _coin(rng, 0.4)
    elif loss == "kl":
        task["log_target"] = _coin(rng)
        task["reduction"] = _pick(rng, ["batchmean", "sum", "mean"])
    elif loss == "smooth_l1":
        task["beta"] = float(_pick(rng, [1.0, 0.5, 0.0]))
    elif loss == "huber":
        task["delta"] = float(_pick(rng, [1.0, 0.3]))
    elif loss == "cosine":
        task["margin"] = float(_pick(rng, [0.0, 0.3]))
    return task


# ---------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------

def _act(L, name):
    nn = L.nn
    if name == "GELU-tanh":
        return nn.GELU(approximate="tanh")
    if name == "LeakyReLU":
        return nn.LeakyReLU(0.1)
    if name == "PReLU":
        return nn.PReLU()
    return getattr(nn, name)()


def _dense(L, layers, dim):
    nn = L.nn
    mods = []
    for item in layers:
        tag = item[0]
        if tag == "linear":
            mods.append(nn.Linear(dim, item[1], bias=item[2]))
            dim = item[1]
        elif tag == "bn1d":
            mods.append(nn.BatchNorm1d(dim, momentum=item[1], affine=item[2],
                                       track_running_stats=item[3]))
        elif tag == "act":
            mods.append(_act(L, item[1]))
        elif tag == "ln":
            mods.append(nn.LayerNorm(dim, elementwise_affine=item[1], bias=item[2]))
        elif tag == "drop":
            mods.append(nn.Dropout(item[1]))
        elif tag == "res":
            mods.append(_residual(L)(nn.Sequential(*_dense(L, item[1], dim)[0])))
    return mods, dim


def _residual(L):
    class Residual(L.nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            return x + self.body(x)

    return Residual


def _conv(L, nd, layers, chans):
    nn = L.nn
    mods = []
    for item in layers:
        tag = item[0]
        if tag == "conv":
            _, out, k, stride, pad, groups, bias, mode = item
            cls = nn.Conv1d if nd == 1 else nn.Conv2d
            mods.append(cls(chans, out, k, stride=stride, padding=pad, groups=groups, bias=bias,
                            padding_mode=mode))
            chans = out
        elif tag == "bn":
            cls = nn.BatchNorm1d if nd == 1 else nn.BatchNorm2d
            mods.append(cls(chans, momentum=item[1], affine=item[2]))
        elif tag == "act":
            mods.append(_act(L, item[1]))
        elif tag == "pool":
            name = ("MaxPool" if item[1] == "max" else "AvgPool") + f"{nd}d"
            mods.append(getattr(nn, name)(item[2]))
        elif tag == "res":
            mods.append(_residual(L)(nn.Sequential(*_conv(L, nd, item[1], chans)[0])))
    return mods


def build(L, spec, task):
    """The model of ``spec`` under library ``L`` (the caller seeds ``L`` first)."""
    nn = L.nn
    kind = spec["kind"]
    classes = task["classes"]
    outs = classes
    if kind == "mlp":
        return nn.Sequential(*_dense(L, spec["body"], spec["in"])[0], nn.Linear(spec["feat"], outs))
    if kind in ("conv1d", "conv2d"):
        nd = 1 if kind == "conv1d" else 2
        mods = _conv(L, nd, spec["body"], spec["chans"])
        if spec["flatten"]:
            mods.append(nn.Flatten())
        else:
            mods += [getattr(nn, f"AdaptiveAvgPool{nd}d")(1), nn.Flatten()]
        return nn.Sequential(*mods, nn.Linear(spec["feat"], outs))
    return _seq_net(L, spec, task)


def _seq_net(L, spec, task):
    nn = L.nn
    e = spec["emb"]
    enc = spec["enc"]

    class SeqNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(spec["vocab"], e, padding_idx=spec["pad_idx"],
                                    max_norm=spec["max_norm"], scale_grad_by_freq=spec["freq"])
            if enc in ("lstm", "gru", "rnn"):
                r = spec["rnn"]
                cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[enc]
                kw = dict(num_layers=r["layers"], bidirectional=r["bi"],
                          batch_first=r["batch_first"], bias=r["bias"], dropout=r["dropout"])
                if enc == "lstm" and r["proj"]:
                    kw["proj_size"] = r["proj"]
                if enc == "rnn":
                    kw["nonlinearity"] = r["nonlin"]
                self.rnn = cls(e, r["hidden"], **kw)
            elif enc == "tel":
                t = spec["tel"]
                self.enc = nn.TransformerEncoderLayer(
                    e, t["nhead"], dim_feedforward=t["ff"], dropout=t["dropout"],
                    activation=t["act"], batch_first=t["batch_first"], norm_first=t["norm_first"],
                    bias=t["bias"])
            elif enc == "mha":
                m = spec["mha"]
                self.mha = nn.MultiheadAttention(e, m["nhead"], dropout=m["dropout"],
                                                 bias=m["bias"], add_bias_kv=m["add_bias_kv"],
                                                 batch_first=m["batch_first"])
                self.norm = nn.LayerNorm(e)
            else:
                c = spec["conv"]
                self.conv = nn.Conv1d(e, c["hidden"], c["k"], padding=c["k"] // 2)
            self.drop = nn.Dropout(spec["drop"])
            self.head = nn.Linear(spec["feat"], task["classes"])
            if spec.get("tie"):
                self.head.weight = self.emb.weight
            self.attn = None

        def forward(self, tokens, pad_mask):
            x = self.drop(self.emb(tokens))  # [B, T, E]
            if enc in ("lstm", "gru", "rnn"):
                bf = spec["rnn"]["batch_first"]
                y, _ = self.rnn(x if bf else x.transpose(0, 1))
                y = y if bf else y.transpose(0, 1)
            elif enc == "tel":
                t = spec["tel"]
                mask = pad_mask if t["mask"] else None
                bf = t["batch_first"]
                # (a transposed x_t: ``x_t + f(x_t)`` laid out as PyTorch's since s26 LY1)
                y = self.enc(x if bf else x.transpose(0, 1), src_key_padding_mask=mask)
                y = y if bf else y.transpose(0, 1)
            elif enc == "mha":
                m = spec["mha"]
                bf = m["batch_first"]
                xs = x if bf else x.transpose(0, 1)
                n = x.shape[1]
                causal = L.triu(L.ones(n, n, dtype=L.bool), 1) if m["causal"] else None
                a, w = self.mha(xs, xs, xs, key_padding_mask=pad_mask if m["mask"] else None,
                                attn_mask=causal, need_weights=m["weights"])
                self.attn = w
                a = a if bf else a.transpose(0, 1)
                y = self.norm(x + a)
            else:
                y = L.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)
            out = self.head(self.drop(y))  # [B, T, C]
            if task["mode"] == "pooled":
                return out.mean(1)
            return out

    return SeqNet()


# ---------------------------------------------------------------------------------------------
# Data and losses
# ---------------------------------------------------------------------------------------------

def data(spec, task, rng, n):
    """A batch of ``n`` examples as NumPy arrays."""
    batch = {}
    c = task["classes"]
    if spec["kind"] == "mlp":
        batch["x"] = rng.standard_normal((n, spec["in"])).astype(np.float32)
    elif spec["kind"] in ("conv1d", "conv2d"):
        batch["x"] = rng.standard_normal((n, spec["chans"], *spec["size"])).astype(np.float32)
    else:
        t = spec["len"]
        tokens = rng.integers(1, spec["vocab"], size=(n, t))
        lengths = rng.integers(max(1, t - 2), t + 1, size=n)
        lengths[0] = t
        pad = np.arange(t)[None, :] >= lengths[:, None]
        if spec["pad_idx"] is not None:
            tokens[pad] = spec["pad_idx"]
        batch["x"] = tokens.astype(np.int64)
        batch["pad"] = pad
        batch["lengths"] = lengths.astype(np.int64)
    lead = (n,) if task["mode"] == "pooled" else (n, spec.get("len", 1))
    if task["loss"] in ("ce", "nll"):
        y = rng.integers(0, c, size=lead)
        if task["mode"] == "token" and task.get("ignore") is not None:
            y[batch["pad"]] = task["ignore"]
        batch["y"] = y.astype(np.int64)
        if task.get("prob_target"):
            p = rng.random(lead + (c,))
            batch["y"] = (p / p.sum(-1, keepdims=True)).astype(np.float32)
        batch["w"] = (rng.random(c) + 0.5).astype(np.float32)
    elif task["loss"] in ("bce", "mlsm"):
        batch["y"] = (rng.random(lead + (c,)) < 0.4).astype(np.float32)
        batch["w"] = (rng.random(c) * 2 + 0.2).astype(np.float32)
    elif task["loss"] == "kl":
        p = rng.random(lead + (c,)) + 0.05
        p = p / p.sum(-1, keepdims=True)
        batch["y"] = (np.log(p) if task["log_target"] else p).astype(np.float32)
    elif task["loss"] == "cosine":
        batch["y"] = np.where(rng.random(n // 2) < 0.5, 1.0, -1.0).astype(np.float32)
    elif task["loss"] == "ctc":
        tl = rng.integers(1, max(2, spec["len"] // 2 + 1), size=n)
        if not task["zero_inf"]:
            # (alignments that exist: an infinite loss gives nan gradients, whose pattern
            # after a padded Conv1d's weight gradient differs: KNOWN in s26_SL13_loops.py)
            tl = np.minimum(tl, np.maximum(batch["lengths"] // 2, 1))
        batch["y"] = rng.integers(1, c, size=(n, int(tl.max()))).astype(np.int64)
        batch["tl"] = tl.astype(np.int64)
    else:
        batch["y"] = rng.standard_normal(lead + (c,)).astype(np.float32)
    return batch


def tensors(L, batch, dtype):
    """The batch as tensors of ``L`` (floating data in ``dtype``)."""
    out = {}
    for k, v in batch.items():
        t = L.from_numpy(np.ascontiguousarray(v))
        if v.dtype == np.float32:
            t = t.to(dtype)
        out[k] = t
    return out


def loss(L, task, out, b):
    F = L.nn.functional
    kind = task["loss"]
    red = task["reduction"]
    c = task["classes"]
    if kind == "ctc":
        out = out if out.dtype == L.float64 else out.float()  # (bfloat16 under autocast)
        lp = F.log_softmax(out, -1).transpose(0, 1)  # [T, B, C]
        return F.ctc_loss(lp, b["y"], b["lengths"], b["tl"], blank=0, reduction=red,
                          zero_infinity=task["zero_inf"])
    if kind in ("ce", "nll"):
        kw = {"reduction": red}
        if task.get("weight"):
            kw["weight"] = b["w"].to(out.dtype)
        if task.get("ignore") is not None and not task.get("prob_target"):
            kw["ignore_index"] = task["ignore"]
        y = b["y"]
        if task.get("kdim"):
            logits = out.transpose(1, 2)  # [B, C, T]
            if task.get("prob_target"):
                y = y.transpose(1, 2).to(out.dtype)
        else:
            logits = out.reshape(-1, c)
            y = y.reshape(-1, c).to(out.dtype) if task.get("prob_target") else y.reshape(-1)
        if kind == "ce":
            return F.cross_entropy(logits, y, label_smoothing=task["smooth"], **kw)
        return F.nll_loss(F.log_softmax(logits, 1), y, **kw)
    y = b["y"].to(out.dtype) if b["y"].dtype.is_floating_point else b["y"]
    if kind == "bce":
        pw = b["w"].to(out.dtype) if task.get("pos_weight") else None
        return F.binary_cross_entropy_with_logits(out, y, pos_weight=pw, reduction=red)
    if kind == "mlsm":
        return F.multilabel_soft_margin_loss(out, y, reduction=red)
    if kind == "kl":
        return F.kl_div(F.log_softmax(out, -1), y, reduction=red, log_target=task["log_target"])
    if kind == "mse":
        return F.mse_loss(out, y, reduction=red)
    if kind == "l1":
        return F.l1_loss(out, y, reduction=red)
    if kind == "smooth_l1":
        return F.smooth_l1_loss(out, y, reduction=red, beta=task["beta"])
    if kind == "huber":
        return F.huber_loss(out, y, reduction=red, delta=task["delta"])
    if kind == "cosine":
        h = out.shape[0] // 2
        return F.cosine_embedding_loss(out[:h], out[h:2 * h], y, margin=task["margin"],
                                       reduction=red)
    raise ValueError(kind)
