"""What users write around their models, afresh (PR4, session 21): printing (tensors of many
dtypes, sizes and print options, modules with every kind of layer, optimizers, schedulers,
distributions, named tuples, packed sequences); a whole training state (model, optimizer,
scheduler, RNG states, early-stopping bookkeeping) saved to a BytesIO mid-run and resumed
bit-identically; module surgery (strict=False loading with missing / unexpected keys,
non-persistent buffers, named_modules / apply initializers, global forward hooks, fused
conv-bn, parameters_to_vector, freezing, gradient clipping by value and norm); and a data
pipeline with a length-bucketing Sampler, a BatchSampler, a padding collate_fn, a
worker_init_fn, Subset / ConcatDataset / StackDataset / random_split. Tiny sizes; run by
prog_s21_PR4_all.py.
"""

import copy
import io

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    Sampler,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)


def section_printing() -> None:
    texts = []
    texts.append(str(torch.arange(6, dtype=torch.int8).reshape(2, 3)))
    texts.append(str(torch.arange(5, dtype=torch.uint8) * 50))
    texts.append(repr(torch.tensor([True, False, True])))
    texts.append(repr(torch.tensor([1.5, -2.25, 3.0], dtype=torch.float64)))
    texts.append(repr(torch.tensor([1e-5, 1.0, 12345.678])))
    texts.append(repr(torch.tensor([0.1, 0.25], dtype=torch.bfloat16)))
    texts.append(repr(torch.tensor([0.1, 0.25], dtype=torch.float16)))
    texts.append(repr(torch.tensor([1 + 2j, -0.5j], dtype=torch.complex64)))
    texts.append(repr(torch.tensor([[float("nan"), float("inf")], [-float("inf"), 0.0]])))
    texts.append(repr(torch.tensor(2.5, requires_grad=True)))
    w = torch.ones(2, 2, requires_grad=True)
    texts.append(repr(w * 2))
    texts.append(repr((w * 2).sum()))
    texts.append(repr(w.mean(0)))
    texts.append(repr(torch.arange(2000).reshape(2, 10, 100)))
    texts.append(repr(torch.zeros(3, 0, 2)))
    texts.append(repr(torch.linspace(0, 1, 7) * 1e6))
    texts.append(repr(torch.tensor([123456789.0, 0.001])))
    texts.append(repr(torch.tensor([1, -2, 300], dtype=torch.int64)))
    texts.append(repr(torch.tensor([[1, 2], [3, 4]], dtype=torch.int32)))
    texts.append(repr(torch.randn(3, 4).double()))
    torch.set_printoptions(precision=2, sci_mode=False, linewidth=40)
    texts.append(repr(torch.randn(4, 6)))
    texts.append(repr(torch.tensor([1e-7, 5e5])))
    torch.set_printoptions(threshold=10, edgeitems=2)
    texts.append(repr(torch.arange(30.0).reshape(5, 6)))
    torch.set_printoptions(profile="default")
    texts.append(repr(torch.randn(2, 3) * 1e-4))
    texts.append(repr(torch.tensor([[0.0, -0.0]])))
    texts.append(f"{torch.tensor(3.14159):.3f} {torch.tensor([2.5])[0].item():g}")
    texts.append(repr(torch.Size([2, 3])) + " " + str(torch.zeros(2, 3).shape))
    texts.append(repr(torch.max(torch.tensor([[1.0, 5.0], [7.0, 2.0]]), dim=1)))
    texts.append(repr(torch.sort(torch.tensor([3, 1, 2]))))
    texts.append(repr(torch.float32) + repr(torch.long) + str(torch.cfloat))
    texts.append(repr(torch.nn.Parameter(torch.ones(2))))
    for i, text in enumerate(texts):
        put(f"print.tensor.{i}", text)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8, momentum=0.05),
        nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True), nn.Dropout2d(0.1),
        nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Unflatten(1, (2, 4)),
        nn.Linear(8, 4), nn.LayerNorm(4, elementwise_affine=False), nn.GELU("tanh"),
        nn.Embedding(10, 3, padding_idx=0, max_norm=1.0), nn.EmbeddingBag(10, 3, mode="max"),
        nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True, dropout=0.1),
        nn.GRU(3, 4), nn.RNN(3, 4, nonlinearity="relu"), nn.MultiheadAttention(8, 2),
        nn.TransformerEncoderLayer(8, 2, 16, batch_first=True),
        nn.GroupNorm(2, 8), nn.InstanceNorm1d(4, affine=True), nn.RMSNorm(4, eps=1e-6),
        nn.LocalResponseNorm(3), nn.Softmax(dim=-1), nn.LogSoftmax(1), nn.LeakyReLU(0.2),
        nn.PReLU(4), nn.ELU(alpha=0.5), nn.Hardtanh(-2, 2), nn.Threshold(0.1, 0.0),
        nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        nn.PixelShuffle(2), nn.ReflectionPad2d(1), nn.ConstantPad1d((1, 2), 0.5),
        nn.ZeroPad2d(2), nn.Identity(), nn.Bilinear(3, 4, 5), nn.CosineSimilarity(dim=1),
        nn.PairwiseDistance(p=1.5), nn.Fold((4, 4), 2), nn.Unfold(2, stride=2),
        nn.CrossEntropyLoss(label_smoothing=0.1), nn.SmoothL1Loss(beta=0.5),
        nn.AvgPool1d(3, stride=2, padding=1), nn.LPPool2d(2, 3), nn.MaxUnpool2d(2),
        nn.FractionalMaxPool2d(2, output_size=3), nn.AlphaDropout(0.2), nn.Softplus(2, 10),
        nn.CELU(), nn.SELU(), nn.Mish(), nn.RReLU(), nn.Hardswish(), nn.SiLU(), nn.GLU(),
        nn.ChannelShuffle(2), nn.ReplicationPad3d(1), nn.CircularPad1d(2),
        nn.AdaptiveLogSoftmaxWithLoss(8, 20, [5, 10]), nn.Conv3d(2, 4, (1, 3, 3), groups=2),
        nn.BatchNorm1d(4, affine=False, track_running_stats=False),
        nn.ModuleDict({"a": nn.Tanh(), "b": nn.Sigmoid()}),
        nn.ModuleList([nn.Linear(2, 2)]), nn.ParameterList([nn.Parameter(torch.ones(2))]))
    put("print.module", repr(model))
    put("print.module_lines", len(repr(model).splitlines()))
    put("print.named", [name for name, _ in model.named_modules()][:80])
    opt = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                           {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.5}],
                          lr=0.1, momentum=0.9)
    put("print.optimizer", repr(opt))
    put("print.adamw", repr(torch.optim.AdamW([torch.zeros(1, requires_grad=True)])))
    sched = torch.optim.lr_scheduler.StepLR(opt, 3, gamma=0.5)
    put("print.sched_state", repr(sorted(sched.state_dict().items())))
    put("print.dists", repr(torch.distributions.Normal(torch.zeros(2), 1.0)) + "|"
        + repr(torch.distributions.Categorical(probs=torch.tensor([0.2, 0.8]))) + "|"
        + repr(torch.distributions.Independent(torch.distributions.Normal(
            torch.zeros(2, 3), 1.0), 1)))
    packed = nn.utils.rnn.pack_sequence([torch.tensor([1.0, 2.0, 3.0]), torch.tensor([4.0])])
    put("print.packed", repr(packed))
    put("print.info", [repr(torch.finfo(torch.float32)), repr(torch.iinfo(torch.int8)),
                       str(torch.finfo(torch.bfloat16).eps), str(torch.iinfo(torch.int64).max)])


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 16, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
                                  nn.Dropout(0.3), nn.Linear(16, 3))

    def forward(self, x):
        return self.body(x)


def _train(model, optimizer, scheduler, x, y, epochs, state):
    for _epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 16):
            idx = perm[i:i + 16]
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
        scheduler.step()
        model.eval()
        with torch.no_grad():
            val = F.cross_entropy(model(x[:20]), y[:20]).item()
        state["history"].append(val)
        if val < state["best"] - 1e-4:
            state["best"], state["bad"] = val, 0
            state["best_state"] = copy.deepcopy(model.state_dict())
        else:
            state["bad"] += 1


def section_train_state() -> None:
    x = torch.randn(64, 4)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).long() + (x[:, 3] > 1).long()

    def fresh():
        model = Net()
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, amsgrad=True)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=6,
                                                               eta_min=1e-4)
        return model, optimizer, scheduler

    torch.manual_seed(1)
    model, optimizer, scheduler = fresh()
    state = {"history": [], "best": float("inf"), "bad": 0, "best_state": None}
    _train(model, optimizer, scheduler, x, y, 3, state)
    buffer = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "rng": torch.get_rng_state(),
                "epoch": 3, "early": {k: v for k, v in state.items()}}, buffer)
    put("resume.size_positive", buffer.tell() > 1000)
    _train(model, optimizer, scheduler, x, y, 3, state)
    straight = copy.deepcopy(model.state_dict())
    put("resume.history", state["history"])
    # resume into fresh objects from the bytes
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=False)
    torch.manual_seed(123)  # (scrambled, then restored from the checkpoint)
    model2, optimizer2, scheduler2 = fresh()
    model2.load_state_dict(checkpoint["model"])
    optimizer2.load_state_dict(checkpoint["optimizer"])
    scheduler2.load_state_dict(checkpoint["scheduler"])
    torch.set_rng_state(checkpoint["rng"])
    state2 = checkpoint["early"]
    _train(model2, optimizer2, scheduler2, x, y, 3, state2)
    put("resume.identical", all(torch.equal(straight[k], v)
                                for k, v in model2.state_dict().items()))
    put("resume.history2", state2["history"])
    put("resume.lr", [g["lr"] for g in optimizer2.param_groups])
    put("resume.step", optimizer2.state_dict()["state"][0]["step"])
    put("resume.max_exp_avg_sq", optimizer2.state_dict()["state"][0]["max_exp_avg_sq"])
    put("resume.sched", [scheduler2.last_epoch, scheduler2.get_last_lr()[0]])
    put("resume.best", state2["best"])
    put("resume.bad", state2["bad"])
    put_state("resume.best_state", model2, ())
    model2.load_state_dict(state2["best_state"])
    put_state("resume.restored", model2)
    with torch.random.fork_rng():
        torch.manual_seed(99)
        inside = torch.rand(3)
    put("resume.fork_inside", inside)
    put("resume.fork_after", torch.rand(3))
    generator = torch.Generator().manual_seed(5)
    saved = generator.get_state()
    first = torch.randn(4, generator=generator)
    generator.set_state(saved)
    put("resume.generator_replay", torch.equal(first, torch.randn(4, generator=generator)))
    put("resume.initial_seed", generator.initial_seed())


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6, 4)
        self.register_buffer("scale", torch.tensor(2.0))
        self.register_buffer("cache", torch.zeros(3), persistent=False)

    def forward(self, x):
        h = F.relu(self.bn(self.conv(x))) * self.scale
        return self.fc(h.mean((2, 3)))


def section_module_surgery() -> None:
    model = Backbone()
    put("surgery.keys", list(model.state_dict()))
    put("surgery.buffers", [name for name, _ in model.named_buffers()])
    # a checkpoint from a variant: one key renamed, one missing, one extra
    other = Backbone().state_dict()
    other["head.weight"] = other.pop("fc.weight")
    other["extra"] = torch.ones(1)
    result = model.load_state_dict(other, strict=False)
    put("surgery.missing", result.missing_keys)
    put("surgery.unexpected", result.unexpected_keys)
    put("surgery.result_repr", repr(result))
    try:
        model.load_state_dict(other)
    except RuntimeError as error:
        put("surgery.strict_error", str(error).splitlines()[0])

    def init(module):
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_uniform_(module.weight, a=0.1, mode="fan_in",
                                     nonlinearity="leaky_relu")
            nn.init.constant_(module.bias, 0.01)
        elif isinstance(module, nn.Linear):
            nn.init.orthogonal_(module.weight, gain=0.5)
            nn.init.zeros_(module.bias)

    model.apply(init)
    put_state("surgery.init", model)
    put("surgery.named_modules", [name for name, _ in model.named_modules()])
    seen = []
    handle = nn.modules.module.register_module_forward_hook(
        lambda module, inputs, output: seen.append(type(module).__name__))
    x = torch.randn(2, 3, 5, 5)
    out = model(x)
    handle.remove()
    model(x)
    put("surgery.global_hook", seen)
    put("surgery.out", out)
    # fold BatchNorm into the conv for inference: same outputs
    model.train()
    for _ in range(3):
        model(torch.randn(4, 3, 5, 5))
    model.eval()
    fused = torch.nn.utils.fusion.fuse_conv_bn_eval(model.conv, model.bn)
    put("surgery.fused_gap", (fused(x) - model.bn(model.conv(x))).abs().max() < 1e-5)
    put("surgery.fused_weight", fused.weight)
    put("surgery.running", [model.bn.running_mean, model.bn.running_var])
    put("surgery.num_batches", model.bn.num_batches_tracked)
    # freeze the backbone, train the head; clip by value then by norm
    for p in list(model.conv.parameters()) + list(model.bn.parameters()):
        p.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    put("surgery.n_trainable", sum(p.numel() for p in trainable))
    optimizer = torch.optim.SGD(trainable, lr=0.1)
    norms = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = model(x).pow(2).sum() * 10
        loss.backward()
        nn.utils.clip_grad_value_(trainable, 0.5)
        norms.append(nn.utils.clip_grad_norm_(trainable, 0.3, norm_type=2.0))
        optimizer.step()
    put("surgery.norms", norms)
    put("surgery.frozen_grad_none", model.conv.weight.grad is None)
    vector = nn.utils.parameters_to_vector(model.parameters())
    put("surgery.vector", vector)
    nn.utils.vector_to_parameters(vector * 0.5, model.parameters())
    put("surgery.halved", model.fc.weight)
    put("surgery.get_parameter", model.get_parameter("fc.bias"))
    put("surgery.inf_norm", nn.utils.clip_grad_norm_(trainable, 1.0, norm_type="inf"))
    sd = model.state_dict(prefix="backbone.", keep_vars=True)
    put("surgery.prefixed", sorted(sd))
    put("surgery.keep_vars_param", isinstance(sd["backbone.fc.weight"], nn.Parameter))


class Sentences(Dataset):
    def __init__(self, n=23):
        lengths = torch.randint(2, 9, (n,))
        self.items = [torch.randint(1, 20, (int(k),)) for k in lengths]
        self.labels = torch.randint(0, 2, (n,))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i], self.labels[i]


class BucketSampler(Sampler):
    """Indices sorted by length inside shuffled chunks (the usual bucketing trick)."""

    def __init__(self, lengths, chunk, generator):
        self.lengths, self.chunk, self.generator = lengths, chunk, generator

    def __iter__(self):
        order = torch.randperm(len(self.lengths), generator=self.generator).tolist()
        for i in range(0, len(order), self.chunk):
            block = order[i:i + self.chunk]
            yield from sorted(block, key=lambda j: (self.lengths[j], j))

    def __len__(self):
        return len(self.lengths)


def pad_collate(batch):
    sequences, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in sequences])
    padded = nn.utils.rnn.pad_sequence(sequences, batch_first=True)
    return padded, lengths, torch.stack(labels)


def section_data_pipeline() -> None:
    data = Sentences()
    generator = torch.Generator().manual_seed(11)
    sampler = BucketSampler([len(s) for s in data.items], 8, generator)
    batches = BatchSampler(sampler, batch_size=4, drop_last=False)
    seeds = []

    def worker_init_fn(worker_id):
        seeds.append(worker_id)

    loader = DataLoader(data, batch_sampler=batches, collate_fn=pad_collate, num_workers=0,
                        worker_init_fn=worker_init_fn)
    put("data.n_batches", len(loader))
    embed = nn.EmbeddingBag(20, 6, mode="mean", padding_idx=0)
    head = nn.Linear(6, 2)
    optimizer = torch.optim.Adam(list(embed.parameters()) + list(head.parameters()), lr=1e-2)
    shapes, losses = [], []
    for epoch in range(2):
        for padded, lengths, labels in loader:
            shapes.append(list(padded.shape) + [int(lengths.max())])
            optimizer.zero_grad()
            loss = F.cross_entropy(head(embed(padded)), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        put(f"data.lengths.{epoch}", lengths)
    put("data.shapes", shapes)
    put("data.losses", losses)
    put("data.worker_seeds", seeds)
    put_state("data.embed", embed)
    # the dataset utilities
    tensors = TensorDataset(torch.arange(10.0), torch.arange(10) % 3)
    train, val = random_split(tensors, [0.7, 0.3], generator=torch.Generator().manual_seed(2))
    put("data.split_train", list(train.indices))
    put("data.split_val", list(val.indices))
    subset = Subset(tensors, [9, 0, 4])
    put("data.subset", torch.stack([subset[i][0] for i in range(len(subset))]))
    both = ConcatDataset([subset, tensors])
    put("data.concat", [len(both), both[3][0].item(), *both.cumulative_sizes])
    stacked = StackDataset(tensors, torch.arange(10) * 10)
    put("data.stack", [stacked[4][0][0].item(), stacked[4][1].item(), len(stacked)])
    loader = DataLoader(tensors, batch_size=4, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(3))
    put("data.shuffled", torch.cat([b[0] for b in loader]))
    weighted = torch.utils.data.WeightedRandomSampler([0.1, 0.9, 0.5], 8,
                                                      generator=torch.Generator()
                                                      .manual_seed(4))
    put("data.weighted", list(weighted))
    dict_loader = DataLoader([{"x": torch.ones(2) * i, "y": i} for i in range(5)],
                             batch_size=2)
    first = next(iter(dict_loader))
    put("data.dict_batch", [first["x"], first["y"]])


SECTIONS = {"printing": section_printing, "train_state": section_train_state,
            "module_surgery": section_module_surgery, "data_pipeline": section_data_pipeline}
