"""Session 6 program probes, part III: sequence models, regression with schedulers, and the
data utilities.

Each program takes the library as ``torch``, seeds it itself and returns what it would print.
"""

from __future__ import annotations


def prog_tbptt_lm(torch):
    """The word-language-model recipe: batchify a token stream, truncated BPTT with the hidden
    state detached between chunks, clip_grad_norm_, plain SGD on p.data, LR annealing."""
    nn = torch.nn
    torch.manual_seed(8)
    ntokens, emsize, nhid, bptt = 20, 12, 16, 6
    # a stream with structure: token t is mostly followed by (t * 3 + 1) % ntokens
    stream = [0]
    noise = torch.rand(400)
    jumps = torch.randint(0, ntokens, (400,))
    for i in range(399):
        stream.append((stream[-1] * 3 + 1) % ntokens if noise[i] < 0.8 else jumps[i].item())
    data = torch.tensor(stream, dtype=torch.long)

    def batchify(data, bsz):
        nbatch = data.size(0) // bsz
        data = data.narrow(0, 0, nbatch * bsz)
        return data.view(bsz, -1).t().contiguous()

    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.2)
            self.encoder = nn.Embedding(ntokens, emsize)
            self.rnn = nn.LSTM(emsize, nhid, 2, dropout=0.2)
            self.decoder = nn.Linear(nhid, ntokens)
            initrange = 0.1
            nn.init.uniform_(self.encoder.weight, -initrange, initrange)
            nn.init.zeros_(self.decoder.bias)
            nn.init.uniform_(self.decoder.weight, -initrange, initrange)

        def forward(self, input, hidden):
            emb = self.drop(self.encoder(input))
            output, hidden = self.rnn(emb, hidden)
            output = self.drop(output)
            decoded = self.decoder(output).view(-1, ntokens)
            return nn.functional.log_softmax(decoded, dim=1), hidden

        def init_hidden(self, bsz):
            weight = next(self.parameters())
            return (weight.new_zeros(2, bsz, nhid), weight.new_zeros(2, bsz, nhid))

    def repackage_hidden(h):
        if isinstance(h, torch.Tensor):
            return h.detach()
        return tuple(repackage_hidden(v) for v in h)

    train_data = batchify(data[:320], 4)
    val_data = batchify(data[320:], 2)
    model = RNNModel()
    criterion = nn.NLLLoss()
    lr, clip = 5.0, 0.25

    def evaluate(source):
        model.eval()
        total_loss = 0.0
        hidden = model.init_hidden(2)
        with torch.no_grad():
            for i in range(0, source.size(0) - 1, bptt):
                inputs, targets = get_batch(source, i)
                output, hidden = model(inputs, hidden)
                hidden = repackage_hidden(hidden)
                total_loss += len(inputs) * criterion(output, targets).item()
        return total_loss / (len(source) - 1)

    losses, norms, val_losses, lrs = [], [], [], []
    best_val = None
    for _epoch in range(2):
        model.train()
        hidden = model.init_hidden(4)
        for i in range(0, train_data.size(0) - 1, bptt):
            inputs, targets = get_batch(train_data, i)
            model.zero_grad()
            hidden = repackage_hidden(hidden)
            output, hidden = model(inputs, hidden)
            loss = criterion(output, targets)
            loss.backward()
            norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), clip)))
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            losses.append(loss.item())
        val_loss = evaluate(val_data)
        val_losses.append(val_loss)
        if best_val is None or val_loss < best_val:
            best_val = val_loss
        else:
            lr /= 4.0
        lrs.append(lr)
    return {"losses": losses, "norms": norms, "val": val_losses, "lrs": lrs,
            "h": hidden[0][-1], "c": hidden[1][-1]}


def prog_masked_transformer(torch):
    """A causal Transformer LM over padded batches: nn.TransformerEncoder with batch_first,
    a causal mask from generate_square_subsequent_mask, key_padding_mask from the lengths,
    learned positions, ignore_index on the padding, AdamW with a warm-up LambdaLR."""
    nn = torch.nn
    F = torch.nn.functional
    torch.manual_seed(9)
    vocab, d_model, pad = 12, 16, 0
    lengths = torch.randint(3, 9, (6,))
    seqs = [torch.randint(1, vocab, (int(n),)) for n in lengths]
    batch = nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=pad)

    class TinyLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d_model, padding_idx=pad)
            self.pos = nn.Parameter(torch.zeros(1, 16, d_model))
            layer = nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=32,
                                               dropout=0.1, batch_first=True,
                                               activation="gelu")
            self.encoder = nn.TransformerEncoder(layer, num_layers=2,
                                                 enable_nested_tensor=False)
            self.head = nn.Linear(d_model, vocab)

        def forward(self, tokens):
            t = tokens.size(1)
            causal = nn.Transformer.generate_square_subsequent_mask(t)
            padding = tokens == pad
            h = self.embed(tokens) * d_model ** 0.5 + self.pos[:, :t]
            h = self.encoder(h, mask=causal, src_key_padding_mask=padding, is_causal=True)
            return self.head(h)

    model = TinyLM()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.98))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 4))
    inputs, targets = batch[:, :-1], batch[:, 1:].clone()
    targets[inputs == pad] = pad
    losses = []
    for _step in range(8):
        model.train()
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), ignore_index=pad)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        logits = model(inputs)
        valid = inputs != pad
        last = logits[torch.arange(6), lengths - 2]
        generated = batch[:2, :3]
        for _ in range(4):
            nxt = model(generated)[:, -1].argmax(dim=-1, keepdim=True)
            generated = torch.cat([generated, nxt], dim=1)
    return {"losses": losses, "lengths": lengths, "last": last,
            "valid_logits": logits[valid][:5], "generated": generated,
            "lr": scheduler.get_last_lr()}


def prog_plateau_regression(torch):
    """Polynomial-feature regression with SGD (momentum, Nesterov, weight decay) and
    ReduceLROnPlateau on a validation loss; early stop on patience."""
    nn = torch.nn
    torch.manual_seed(10)
    x = torch.linspace(-2, 2, 120).unsqueeze(1)
    y = 0.5 * x ** 3 - x + 0.3 * torch.randn(120, 1)
    features = torch.cat([x ** k for k in range(1, 5)], dim=1)
    mean, std = features.mean(0, keepdim=True), features.std(0, keepdim=True)
    features = (features - mean) / std
    perm = torch.randperm(120)
    train_idx, val_idx = perm[:90], perm[90:]
    model = nn.Sequential(nn.Linear(4, 16), nn.SiLU(), nn.Linear(16, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                                weight_decay=1e-3)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.5,
                                                           patience=1, threshold=1e-3)
    loss_fn = nn.MSELoss()
    train_losses, val_losses, lrs = [], [], []
    best, bad_epochs = float("inf"), 0
    for _epoch in range(25):
        model.train()
        for chunk in train_idx.split(30):
            optimizer.zero_grad()
            loss = loss_fn(model(features[chunk]), y[chunk])
            loss.backward()
            optimizer.step()
        train_losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            val_loss = loss_fn(model(features[val_idx]), y[val_idx]).item()
        val_losses.append(val_loss)
        scheduler.step(val_loss)
        lrs.append(optimizer.param_groups[0]["lr"])
        if val_loss < best - 1e-4:
            best, bad_epochs = val_loss, 0
        else:
            bad_epochs += 1
            if bad_epochs >= 6:
                break
    with torch.no_grad():
        residuals = (model(features) - y).squeeze(1)
    return {"train": train_losses, "val": val_losses, "lrs": lrs, "epochs": len(val_losses),
            "mae": residuals.abs().mean().item(), "worst": residuals.abs().argmax().item(),
            "momentum_buffer": optimizer.state[model[0].weight]["momentum_buffer"]}


def prog_data_utilities(torch):
    """torch.utils.data put together: a map-style Dataset of variable-length sequences,
    random_split with a generator, Subset, WeightedRandomSampler for class balance, a padding
    collate_fn, drop_last, shuffling with a seeded generator, and a GRU classifier."""
    nn = torch.nn
    data = torch.utils.data
    torch.manual_seed(11)

    class Sequences(data.Dataset):
        def __init__(self, n):
            self.lengths = torch.randint(2, 7, (n,))
            self.labels = (torch.rand(n) < 0.25).long()  # imbalanced: ~1/4 positives
            self.items = [torch.randn(int(k), 3) + self.labels[i].float()
                          for i, k in enumerate(self.lengths)]

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            return self.items[i], self.labels[i]

    def collate(batch):
        seqs, labels = zip(*batch)
        lengths = torch.tensor([len(s) for s in seqs])
        padded = nn.utils.rnn.pad_sequence(seqs, batch_first=True)
        return padded, lengths, torch.stack(labels)

    dataset = Sequences(60)
    train_set, val_set = data.random_split(dataset, [45, 15],
                                           generator=torch.Generator().manual_seed(42))
    head = data.Subset(train_set, list(range(10)))
    train_labels = torch.stack([dataset.labels[i] for i in train_set.indices])
    class_counts = torch.bincount(train_labels, minlength=2).float()
    weights = (1.0 / class_counts)[train_labels]
    sampler = data.WeightedRandomSampler(weights, num_samples=40, replacement=True,
                                         generator=torch.Generator().manual_seed(1))
    train_loader = data.DataLoader(train_set, batch_size=8, sampler=sampler, collate_fn=collate,
                                   drop_last=True)
    val_loader = data.DataLoader(val_set, batch_size=4, shuffle=True, collate_fn=collate,
                                 generator=torch.Generator().manual_seed(3))

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(3, 8, batch_first=True)
            self.out = nn.Linear(8, 2)

        def forward(self, x, lengths):
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                       enforce_sorted=False)
            _, h = self.gru(packed)
            return self.out(h[-1])

    model = Classifier()
    optimizer = torch.optim.RMSprop(model.parameters(), lr=0.01)
    seen_labels, losses = [], []
    for _epoch in range(2):
        for x, lengths, labels in train_loader:
            seen_labels.append(labels.tolist())
            loss = nn.functional.cross_entropy(model(x, lengths), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    val_order, correct = [], 0
    with torch.no_grad():
        for x, lengths, labels in val_loader:
            val_order.append(lengths.tolist())
            correct += (model(x, lengths).argmax(1) == labels).sum().item()
    return {"split": [list(train_set.indices), list(val_set.indices)],
            "head": [int(head[i][1]) for i in range(len(head))],
            "sampled": list(sampler), "seen_labels": seen_labels, "losses": losses,
            "batches": len(train_loader), "val_order": val_order, "correct": correct}
