"""Probe II, model programs: ordinary PyTorch training code that receives the library as ``torch``.

Each ``build_*`` makes a model from the library it is given; each ``prog_*(torch, model)`` runs
on it and returns every number worth comparing (and may print). Inputs come from NumPy
generators so that deltagrad and PyTorch see identical data; test_s5_programs_2.py runs both.
"""

from __future__ import annotations

import copy

import numpy as np

# ---------------------------------------------------------------------------- 1. EmbeddingBag


def build_bag_classifier(torch):
    nn = torch.nn

    class BagClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.EmbeddingBag(20, 6, mode="mean")
            self.fc = nn.Linear(6, 3)

        def forward(self, text, offsets):
            return self.fc(self.embedding(text, offsets))

    return BagClassifier()


def prog_bag_classifier(torch, model):
    """The text-classification tutorial: variable-length token lists flattened with offsets."""
    rng = np.random.default_rng(101)
    docs = [rng.integers(0, 20, n).tolist() for n in (3, 5, 1, 4, 2, 6)]
    labels = rng.integers(0, 3, len(docs)).tolist()

    def collate(batch):
        label_list, text_list, offsets = [], [], [0]
        for label, tokens in batch:
            label_list.append(label)
            text = torch.tensor(tokens, dtype=torch.int64)
            text_list.append(text)
            offsets.append(text.size(0))
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        return torch.tensor(label_list, dtype=torch.int64), torch.cat(text_list), offsets

    loader = torch.utils.data.DataLoader(list(zip(labels, docs)), batch_size=3,
                                         collate_fn=collate)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    criterion = torch.nn.CrossEntropyLoss()
    losses, accs = [], []
    for _ in range(2):
        for label, text, offsets in loader:
            opt.zero_grad()
            logits = model(text, offsets)
            loss = criterion(logits, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            opt.step()
            losses.append(loss.item())
            accs.append((logits.argmax(1) == label).sum().item())
    summed = torch.nn.functional.embedding_bag(
        torch.tensor([1, 2, 4, 5, 4]), model.embedding.weight, torch.tensor([0, 2]),
        mode="sum", per_sample_weights=torch.tensor([0.5, 1.0, 2.0, -1.0, 0.25]))
    maxed = torch.nn.functional.embedding_bag(torch.tensor([[1, 2], [3, 3]]),
                                              model.embedding.weight, mode="max")
    return {"losses": losses, "accs": accs, "bag": model.embedding.weight,
            "summed": summed, "maxed": maxed}


# ---------------------------------------------------------------------------- 2. GRU tagger

def build_gru_tagger(torch):
    nn = torch.nn

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(15, 5, padding_idx=0)
            self.gru = nn.GRU(5, 4, num_layers=2, batch_first=True, bidirectional=True)
            self.tag = nn.Linear(8, 4)

        def forward(self, tokens, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(self.embed(tokens), lengths.cpu(),
                                                       batch_first=True, enforce_sorted=False)
            out, h = self.gru(packed)
            out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, padding_value=0.0,
                                                      total_length=tokens.size(1))
            return self.tag(out), h

    return Tagger()


def prog_gru_tagger(torch, model):
    """A sequence tagger: masked token loss, packed bidirectional two-layer GRU, Adam."""
    rng = np.random.default_rng(102)
    lengths = torch.tensor([4, 6, 2, 5])
    tokens = np.zeros((4, 7), dtype=np.int64)
    tags = np.zeros((4, 7), dtype=np.int64)
    for row, n in enumerate(lengths.tolist()):
        tokens[row, :n] = rng.integers(1, 15, n)
        tags[row, :n] = rng.integers(0, 4, n)
    tokens, tags = torch.from_numpy(tokens), torch.from_numpy(tags)
    mask = torch.arange(tokens.size(1))[None, :] < lengths[:, None]
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    losses, correct = [], []
    for _ in range(3):
        opt.zero_grad()
        logits, h = model(tokens, lengths)
        per_token = torch.nn.functional.cross_entropy(logits.transpose(1, 2), tags,
                                                      reduction="none")
        loss = (per_token * mask).sum() / mask.sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        correct.append(((logits.argmax(-1) == tags) & mask).sum().item())
    seq = torch.nn.utils.rnn.pad_sequence([torch.ones(2), torch.ones(3) * 2], batch_first=True,
                                          padding_value=-1.0)
    return {"losses": losses, "correct": correct, "h": h, "mask": mask, "seq": seq,
            "w": model.gru.weight_ih_l1_reverse, "g": model.gru.bias_hh_l0.grad}


# ---------------------------------------------------------------------------- 3. Transformer

def build_encoder(torch):
    nn = torch.nn

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(11, 8)
            layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                               batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Linear(8, 11)

        def forward(self, tokens, causal, padding):
            h = self.encoder(self.embed(tokens), mask=causal, src_key_padding_mask=padding,
                             is_causal=True)
            return self.head(h)

    return Encoder()


def prog_transformer(torch, model):
    """A causal language model over padded batches (padding keys masked, padded targets
    ignored); one AdamW step. The model runs in train mode (dropout is 0)."""
    rng = np.random.default_rng(103)
    tokens = torch.from_numpy(rng.integers(1, 11, (3, 6)))
    padding = torch.tensor([[False] * 6, [False] * 4 + [True] * 2, [False] * 5 + [True]])
    tokens = tokens.masked_fill(padding, 0)
    causal = torch.nn.Transformer.generate_square_subsequent_mask(6)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(2):
        opt.zero_grad()
        logits = model(tokens[:, :-1], causal[:5, :5], padding[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 11),
                                                 tokens[:, 1:].reshape(-1), ignore_index=0)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(tokens[:, :-1], causal[:5, :5], padding[:, :-1])
    return {"losses": losses, "causal": causal, "eval": logits[:, :3],
            "w": model.encoder.layers[1].linear1.weight}


# ---------------------------------------------------------------------------- 4. CNN

def build_bn_cnn(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1, bias=False), nn.BatchNorm2d(6), nn.ReLU(inplace=True),
        nn.MaxPool2d(2), nn.Dropout2d(0.25),
        nn.Conv2d(6, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Dropout(0.5), nn.Linear(8, 4))


def prog_bn_cnn(torch, model):
    """Train mode with the dropouts set to p=0 (random masks differ between the libraries),
    then eval mode with p restored; running statistics, accuracy, a printed summary."""
    x, y = np.random.default_rng(104).normal(size=(12, 3, 8, 8)).astype(np.float32), \
        np.random.default_rng(104).integers(0, 4, 12)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    drops = [m for m in model.modules() if isinstance(m, (torch.nn.Dropout, torch.nn.Dropout2d))]
    probabilities = [m.p for m in drops]
    for m in drops:
        m.p = 0.0
    model.train()
    losses = []
    for step in range(3):
        xb, yb = x[step * 4:(step + 1) * 4], y[step * 4:(step + 1) * 4]
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        print(f"step {step} loss {loss.item():.4f}")
    for m, p in zip(drops, probabilities):
        m.p = p
    model.eval()
    with torch.no_grad():
        out = model(x)
        acc = (out.argmax(1) == y).float().mean()
    print(f"eval acc {acc.item():.3f} training={model.training} "
          f"bn_batches={model[1].num_batches_tracked.item()}")
    print(model[3], model[8], model[4])
    return {"losses": losses, "eval": out, "mean": model[1].running_mean,
            "var": model[6].running_var, "tracked": model[6].num_batches_tracked, "acc": acc}


# ---------------------------------------------------------------------------- 5. DataLoader

def prog_samplers(torch, _):
    """A map-style Dataset returning dicts, a custom collate_fn padding to the batch's longest,
    WeightedRandomSampler and SubsetRandomSampler seeded with a Generator, drop_last; the
    drawn indices depend on each library's generator, so only their invariants are compared,
    and the batches are checked against the indices each library drew."""
    rng = np.random.default_rng(105)
    items = [rng.normal(size=int(n)).astype(np.float32) for n in rng.integers(1, 5, 10)]

    class Ragged(torch.utils.data.Dataset):
        def __len__(self):
            return len(items)

        def __getitem__(self, i):
            return {"x": torch.from_numpy(items[i]), "id": i}

    def collate(batch):
        longest = max(len(b["x"]) for b in batch)
        x = torch.zeros(len(batch), longest)
        for row, b in enumerate(batch):
            x[row, :len(b["x"])] = b["x"]
        return {"x": x, "ids": torch.tensor([b["id"] for b in batch]),
                "lengths": torch.tensor([len(b["x"]) for b in batch])}

    weights = torch.tensor([0.0, 1.0, 0.0, 2.0, 0.0, 1.0, 0.0, 0.0, 3.0, 0.0])
    sampler = torch.utils.data.WeightedRandomSampler(
        weights, num_samples=9, replacement=True, generator=torch.Generator().manual_seed(7))
    loader = torch.utils.data.DataLoader(Ragged(), batch_size=4, sampler=sampler,
                                         collate_fn=collate, drop_last=True)
    ok, sizes, drawn = True, [], []
    for batch in loader:
        for row, i in enumerate(batch["ids"].tolist()):
            n = len(items[i])
            ok = ok and bool((batch["x"][row, :n] == torch.from_numpy(items[i])).all())
            ok = ok and bool((batch["x"][row, n:] == 0).all())
        sizes.append(list(batch["x"].shape[:1]))
        drawn += batch["ids"].tolist()
    subset = torch.utils.data.SubsetRandomSampler([1, 3, 5, 7],
                                                  generator=torch.Generator().manual_seed(3))
    first, second = list(subset), list(subset)
    g = torch.Generator().manual_seed(11)
    shuffled = torch.utils.data.DataLoader(list(range(10)), batch_size=3, shuffle=True,
                                           generator=g, drop_last=True)
    epoch = [b.tolist() for b in shuffled]
    return {"ok": ok, "batches": len(loader), "sizes": sizes, "len_sampler": len(sampler),
            "support": all(weights[i] > 0 for i in drawn), "n_drawn": len(drawn),
            "subset": sorted(first) == [1, 3, 5, 7] and sorted(second) == [1, 3, 5, 7],
            "n_shuffled": len(shuffled), "epoch_sizes": [len(b) for b in epoch],
            "distinct": len({i for b in epoch for i in b})}


# ---------------------------------------------------------------------------- 6. accumulation

def build_mlp(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1))


def prog_accumulation(torch, model):
    """Four micro-batches of two per optimizer step, the loss divided by the number of
    micro-batches; the accumulated gradient equals the full batch's."""
    x, y = np.random.default_rng(106).normal(size=(16, 5)).astype(np.float32), \
        np.random.default_rng(6).normal(size=(16, 1)).astype(np.float32)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-2, alpha=0.9, momentum=0.5)
    accumulation = 4
    losses, grads = [], []
    for step in range(2):
        opt.zero_grad(set_to_none=True)
        total = 0.0
        for micro in range(accumulation):
            sl = slice(step * 8 + micro * 2, step * 8 + micro * 2 + 2)
            loss = torch.nn.functional.mse_loss(model(x[sl]), y[sl]) / accumulation
            loss.backward()
            total += loss.item()
        grads.append(model[0].weight.grad.clone())
        opt.step()
        losses.append(total)
    full = copy.deepcopy(model)
    full.zero_grad()
    torch.nn.functional.mse_loss(full(x[:8]), y[:8]).backward()
    micro = copy.deepcopy(model)
    micro.zero_grad()
    for i in range(4):
        (torch.nn.functional.mse_loss(micro(x[2 * i:2 * i + 2]), y[2 * i:2 * i + 2]) / 4).backward()
    return {"losses": losses, "grads": grads, "full": full[0].weight.grad,
            "micro": micro[0].weight.grad, "w": model[2].weight}


# ---------------------------------------------------------------------------- 7. decay groups

def build_decay_net(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(5, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 8),
                         nn.BatchNorm1d(8), nn.SiLU(), nn.Linear(8, 2))


def prog_decay_groups(torch, model):
    """The usual AdamW split: no weight decay for biases and normalisation weights, grouped by
    module type and parameter name; a LambdaLR warmup stepped per batch, the lr printed."""
    decay, no_decay = [], []
    names = []
    norms = (torch.nn.LayerNorm, torch.nn.BatchNorm1d)
    for module_name, module in model.named_modules():
        for name, param in module.named_parameters(recurse=False):
            full = f"{module_name}.{name}" if module_name else name
            if name.endswith("bias") or isinstance(module, norms):
                no_decay.append(param)
                names.append("-" + full)
            else:
                decay.append(param)
                names.append("+" + full)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}], lr=0.05)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / 3))
    x = torch.from_numpy(np.random.default_rng(107).normal(size=(6, 5)).astype(np.float32))
    losses = []
    for step in range(4):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        print(f"step {step}: lr {sched.get_last_lr()[0]:.5f} "
              f"groups {[g['lr'] for g in opt.param_groups]}")
    return {"names": ",".join(names), "losses": losses, "ln": model[1].weight,
            "w": model[3].weight, "b": model[6].bias,
            "wd": [g["weight_decay"] for g in opt.param_groups],
            "state_keys": ",".join(sorted(opt.state_dict()["param_groups"][0].keys()))}


# ---------------------------------------------------------------------------- 8. schedulers

def prog_batch_schedulers(torch, model):
    """OneCycleLR, CosineAnnealingWarmRestarts (fractional epochs) and LambdaLR stepped per
    batch, each lr printed, on a real training loop with momentum cycling."""
    x = torch.from_numpy(np.random.default_rng(108).normal(size=(12, 5)).astype(np.float32))
    S = torch.optim.lr_scheduler
    losses = []

    def train(opt, sched, per_batch, fractional=False):
        for epoch in range(2):
            for i in range(3):
                opt.zero_grad()
                loss = model(x[i * 4:(i + 1) * 4]).pow(2).mean()
                loss.backward()
                opt.step()
                if fractional:
                    sched.step(epoch + i / 3)
                elif per_batch:
                    sched.step()
                losses.append(loss.item())
                group = opt.param_groups[0]
                print(f"{type(sched).__name__} {epoch}.{i} lr={group['lr']:.6f} "
                      f"m={group.get('betas', (group.get('momentum'),))[0]}")

    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    train(opt, S.OneCycleLR(opt, max_lr=0.1, steps_per_epoch=3, epochs=2,
                            anneal_strategy="linear", pct_start=0.4), True)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    train(opt, S.OneCycleLR(opt, max_lr=0.05, total_steps=7, three_phase=True), True)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    train(opt, S.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=2, eta_min=0.001), True,
          fractional=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    sched = S.LambdaLR(opt, [lambda step: 0.9 ** step])
    train(opt, sched, True)
    return {"losses": losses, "w": model[0].weight, "last": sched.get_last_lr(),
            "state": sched.state_dict()["last_epoch"]}


# ---------------------------------------------------------------------------- 9. early stopping

def prog_early_stopping(torch, model):
    """Validation loss tracked each epoch; the best state_dict deep-copied, patience exhausted,
    the best weights reloaded and checked by re-evaluating."""
    rng = np.random.default_rng(109)
    x = torch.from_numpy(rng.normal(size=(24, 5)).astype(np.float32))
    y = torch.from_numpy(rng.normal(size=(24, 1)).astype(np.float32))
    xv, yv = x[16:], y[16:]
    opt = torch.optim.SGD(model.parameters(), lr=0.3)
    best, best_state, best_epoch, patience, bad = float("inf"), None, -1, 2, 0
    history = []
    for epoch in range(12):
        model.train()
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x[:16]), y[:16]).backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            val = torch.nn.functional.mse_loss(model(xv), yv).item()
        history.append(val)
        if val < best - 1e-4:
            best, best_epoch, bad = val, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
            if bad >= patience:
                print(f"early stop at epoch {epoch}, best {best_epoch}")
                break
    last = [p.detach().clone() for p in model.parameters()]
    model.load_state_dict(best_state)
    with torch.no_grad():
        again = torch.nn.functional.mse_loss(model(xv), yv).item()
    changed = any(not torch.equal(a, b) for a, b in zip(last, model.parameters()))
    return {"history": history, "best": best, "again": again, "best_epoch": best_epoch,
            "changed": changed, "w": model[0].weight,
            "independent": best_state["0.weight"].data_ptr() != model[0].weight.data_ptr()}


# ---------------------------------------------------------------------------- 10. hooks

def build_hooked(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 6), nn.Tanh(),
                         nn.Linear(6, 2))


def prog_hooks(torch, model):
    """Forward hooks collecting activations by name, full backward hooks collecting
    grad_output, a backward hook that rescales grad_input, tensor hooks; handles removed."""
    activations, grads, handles = {}, {}, []

    def save_activation(name):
        def hook(module, inputs, output):
            activations[name] = output.detach()
        return hook

    def save_grad(name):
        def hook(module, grad_input, grad_output):
            grads[name] = [None if g is None else g.detach().clone() for g in grad_output]
        return hook

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            handles.append(module.register_forward_hook(save_activation(name)))
            handles.append(module.register_full_backward_hook(save_grad(name)))
    handles.append(model[3].register_full_backward_hook(
        lambda m, gin, gout: (gin[0] * 0.5,)))
    kwarg_seen = []
    handles.append(model[1].register_forward_hook(
        lambda m, args, kwargs, out: kwarg_seen.append(sorted(kwargs)), with_kwargs=True))
    x = torch.from_numpy(np.random.default_rng(110).normal(size=(3, 4)).astype(np.float32))
    x.requires_grad_(True)
    tensor_grads = []
    x.register_hook(lambda g: tensor_grads.append(g.clone()))
    out = model(x)
    out.sum().backward()
    for h in handles:
        h.remove()
    model.zero_grad()
    plain = model(x).sum()
    plain.backward()
    return {"acts": activations, "grads": grads, "x.grad": tensor_grads,
            "after": model[0].weight.grad, "kw": str(kwarg_seen),
            "names": ",".join(sorted(activations))}
