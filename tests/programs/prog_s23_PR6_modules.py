"""torch.nn modules used as tools rather than as a model, afresh (PR6, session 23): LSTM / GRU
cells stepped by hand against the fused layers (weights copied in, a mask resetting state
between episodes), packed sequences through a bidirectional GRU and back, Embedding with
padding_idx and max_norm (the renormalisation in place), Bilinear, Unflatten, Fold / Unfold as
patch extraction and reassembly (overlap counts), PixelShuffle / PixelUnshuffle, Upsample in
every mode, CosineSimilarity / PairwiseDistance, LayerNorm / GroupNorm against by-hand
statistics; containers (ModuleDict / ModuleList / ParameterList / ParameterDict / Sequential
slicing, indexing, insert, append, extend, del, named_modules, apply, children order).
Tiny sizes; run by prog_s23_PR6_all.py.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s23_PR6_harness import put, put_state


def section_cells() -> None:
    lstm = nn.LSTM(3, 4, batch_first=True)
    cell = nn.LSTMCell(3, 4)
    with torch.no_grad():
        cell.weight_ih.copy_(lstm.weight_ih_l0)
        cell.weight_hh.copy_(lstm.weight_hh_l0)
        cell.bias_ih.copy_(lstm.bias_ih_l0)
        cell.bias_hh.copy_(lstm.bias_hh_l0)
    x = torch.randn(2, 5, 3)
    out, (h_n, c_n) = lstm(x)
    h = torch.zeros(2, 4)
    c = torch.zeros(2, 4)
    steps = []
    for t in range(5):
        h, c = cell(x[:, t], (h, c))
        steps.append(h)
    stepped = torch.stack(steps, 1)
    put("cells.lstm_out", out)
    put("cells.lstm_gap", (stepped - out).abs().max() < 1e-6)
    put("cells.lstm_hc", [h_n, c_n])
    # by hand from the gate equations
    gates = x[:, 0] @ cell.weight_ih.T + cell.bias_ih + cell.bias_hh
    i, f, g, o = gates.chunk(4, 1)
    c1 = torch.sigmoid(i) * torch.tanh(g)
    put("cells.by_hand", torch.sigmoid(o) * torch.tanh(c1))
    gru = nn.GRUCell(3, 4)
    rnn = nn.RNNCell(3, 4, nonlinearity="relu")
    h = torch.zeros(2, 4)
    r = torch.zeros(2, 4)
    done = torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 1.0]])
    total = 0
    for t in range(5):
        h = gru(x[:, t], h) * (1 - done[:, t:t + 1])  # episode ends reset the state
        r = rnn(x[:, t], r)
        total = total + h.pow(2).sum() + r.sum()
    total.backward()
    put("cells.gru_h", h)
    put("cells.gru_grads", [gru.weight_hh.grad, gru.bias_ih.grad, rnn.weight_ih.grad])
    put("cells.unbatched", [gru(x[0, 0]).shape, cell(x[0, 0])[1].shape])
    # packed sequences through a bidirectional GRU
    bigru = nn.GRU(3, 2, bidirectional=True, batch_first=True, num_layers=2)
    lengths = torch.tensor([2, 5])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                               enforce_sorted=False)
    out, h_n = bigru(packed)
    padded, out_lengths = nn.utils.rnn.pad_packed_sequence(out, batch_first=True,
                                                           total_length=6)
    put("cells.packed_out", [padded, out_lengths, h_n])
    padded.sum().backward()
    put("cells.packed_grad", bigru.weight_hh_l1_reverse.grad)
    seqs = nn.utils.rnn.unpad_sequence(padded, out_lengths, batch_first=True)
    put("cells.unpadded", [s.shape[0] for s in seqs])
    packed_list = nn.utils.rnn.pack_sequence([torch.ones(3, 1), torch.ones(1, 1) * 2],
                                             enforce_sorted=True)
    put("cells.pack_sequence", [packed_list.data, packed_list.batch_sizes])
    put("cells.packed_to", str(packed_list.to(torch.float64).data.dtype))


def section_embedding() -> None:
    emb = nn.Embedding(6, 3, padding_idx=0, max_norm=1.0)
    with torch.no_grad():
        emb.weight.mul_(3)
        emb.weight[0] = 0.0
    ids = torch.tensor([[1, 2, 0], [2, 5, 0]])
    before = emb.weight.detach().clone()
    out = emb(ids)
    put("emb.out", out)
    put("emb.renormed", emb.weight.detach())
    put("emb.norms", emb.weight.detach().norm(dim=1))
    put("emb.untouched", torch.equal(before[3], emb.weight.detach()[3]))
    (out * torch.arange(3.0)).sum().backward()
    put("emb.grad", emb.weight.grad)
    emb2 = nn.Embedding.from_pretrained(torch.arange(12.0).view(4, 3), freeze=False,
                                        padding_idx=1)
    out = emb2(torch.tensor([1, 1, 3]))
    out.sum().backward()
    put("emb.pretrained", [out, emb2.weight.grad, emb2.weight.requires_grad])
    bag = nn.EmbeddingBag(5, 2, mode="sum", padding_idx=4)
    offsets = torch.tensor([0, 2])
    put("emb.bag", bag(torch.tensor([1, 4, 2, 3, 4]), offsets, per_sample_weights=torch.tensor(
        [1.0, 2.0, 0.5, 0.5, 3.0])))
    put("emb.functional", F.embedding(torch.tensor([2, 0]), torch.eye(3), max_norm=0.5))
    bilinear = nn.Bilinear(3, 2, 4)
    a, b = torch.randn(5, 3), torch.randn(5, 2)
    y = bilinear(a, b)
    put("emb.bilinear", y)
    put("emb.bilinear_einsum", torch.einsum("ni,oij,nj->no", a, bilinear.weight, b)
        + bilinear.bias)
    y.pow(2).mean().backward()
    put("emb.bilinear_grad", bilinear.weight.grad)
    unflat = nn.Sequential(nn.Linear(6, 12), nn.Unflatten(1, (3, 2, 2)), nn.Flatten(2),
                           nn.Unflatten(-1, torch.Size([4, 1])))
    put("emb.unflatten", unflat(torch.randn(2, 6)))
    put("emb.unflatten_shape", list(unflat(torch.randn(2, 6)).shape))


def section_patches() -> None:
    img = torch.randn(1, 2, 6, 6, requires_grad=True)
    unfold = nn.Unfold(kernel_size=3, stride=1, padding=1)
    cols = unfold(img)
    put("patch.cols_shape", list(cols.shape))
    fold = nn.Fold(output_size=(6, 6), kernel_size=3, stride=1, padding=1)
    ones = fold(unfold(torch.ones(1, 2, 6, 6)))
    put("patch.overlap", ones[0, 0])
    restored = fold(cols) / ones
    put("patch.restored_gap", (restored - img).abs().max() < 1e-6)
    # a convolution as unfold + matmul
    w = torch.randn(4, 2, 3, 3)
    conv_by_hand = (w.view(4, -1) @ cols).view(1, 4, 6, 6)
    put("patch.conv_gap", (conv_by_hand - F.conv2d(img, w, padding=1)).abs().max() < 1e-5)
    (conv_by_hand ** 2).sum().backward()
    put("patch.img_grad", img.grad)
    strided = F.unfold(img.detach(), kernel_size=(2, 3), dilation=(1, 2), stride=(2, 1))
    put("patch.strided", strided)
    put("patch.fold_sum", F.fold(strided, (6, 6), kernel_size=(2, 3), dilation=(1, 2),
                                 stride=(2, 1)))
    # ViT-style patches by unfold-and-permute vs a strided conv's patch embedding
    x = torch.arange(2 * 4 * 4.0).view(1, 2, 4, 4)
    patches = x.unfold(2, 2, 2).unfold(3, 2, 2).permute(0, 2, 3, 1, 4, 5).reshape(1, 4, 8)
    put("patch.vit", patches)
    shuffle = nn.PixelShuffle(2)
    unshuffle = nn.PixelUnshuffle(2)
    put("patch.unshuffle", unshuffle(x))
    put("patch.shuffle_back", torch.equal(shuffle(unshuffle(x)), x))
    small = torch.arange(8.0).view(1, 2, 2, 2)
    modes = []
    for mode, kw in (("nearest", {}), ("nearest-exact", {}),
                     ("bilinear", {"align_corners": False}),
                     ("bilinear", {"align_corners": True}), ("bicubic", {"align_corners": False}),
                     ("area", {})):
        modes.append(nn.Upsample(scale_factor=2, mode=mode, **kw)(small))
    modes.append(nn.Upsample(size=(3, 5), mode="bilinear")(small))
    modes.append(F.interpolate(small, scale_factor=1.5, mode="nearest"))
    modes.append(F.interpolate(small[:, :, 0], size=5, mode="linear", align_corners=True))
    modes.append(F.interpolate(small.unsqueeze(2), scale_factor=(1, 2, 2), mode="trilinear"))
    modes.append(F.interpolate(torch.arange(16.0).view(1, 1, 4, 4), size=3, mode="area"))
    modes.append(F.interpolate(torch.arange(16.0).view(1, 1, 4, 4), scale_factor=0.5,
                               mode="bilinear", antialias=True))
    put("patch.upsample", modes)
    cos = nn.CosineSimilarity(dim=1, eps=1e-8)
    pdist = nn.PairwiseDistance(p=2, keepdim=True)
    a = torch.randn(4, 5)
    b = torch.randn(4, 5)
    b[2] = 0
    put("patch.cos", [cos(a, b), F.cosine_similarity(a, a[:1], dim=1),
                      F.cosine_similarity(a.unsqueeze(1), a.unsqueeze(0), dim=-1)])
    put("patch.pdist", [pdist(a, b), nn.PairwiseDistance(p=1)(a, b),
                        F.pairwise_distance(a, b, p=float("inf")),
                        F.pairwise_distance(a, a, eps=1e-3), torch.cdist(a, b)])


def section_norms() -> None:
    x = torch.randn(3, 4, 5, requires_grad=True)
    ln = nn.LayerNorm(5)
    with torch.no_grad():
        ln.weight.uniform_(0.5, 1.5)
        ln.bias.uniform_(-0.1, 0.1)
    y = ln(x)
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, unbiased=False, keepdim=True)
    by_hand = (x - mean) / torch.sqrt(var + ln.eps) * ln.weight + ln.bias
    put("norms.ln", y)
    put("norms.ln_gap", (y - by_hand).abs().max() < 1e-5)
    (y * torch.linspace(-1, 1, 5)).sum().backward()
    put("norms.ln_grads", [x.grad, ln.weight.grad, ln.bias.grad])
    gn = nn.GroupNorm(2, 4)
    z = gn(x)
    grouped = x.view(3, 2, 10)
    by_hand = ((grouped - grouped.mean(-1, keepdim=True))
               / torch.sqrt(grouped.var(-1, unbiased=False, keepdim=True) + gn.eps)).view(3, 4, 5)
    put("norms.gn", z)
    put("norms.gn_gap", (z - by_hand).abs().max() < 1e-5)
    ln2 = nn.LayerNorm([4, 5], elementwise_affine=False, bias=False)
    put("norms.ln2", ln2(x)[0, 0])
    put("norms.functional", [F.layer_norm(x, (5,))[1, 1], F.group_norm(x, 4)[2, 3],
                             F.instance_norm(x)[0, 0], F.local_response_norm(x, 2)[0, 0],
                             F.normalize(x, dim=-1)[0], F.rms_norm(x, (5,))[1, 2]])
    bn = nn.BatchNorm1d(4, momentum=None)
    for _ in range(3):
        bn(torch.randn(6, 4))
    put_state("norms.bn_cumulative", bn)
    bn.eval()
    put("norms.bn_eval", bn(torch.ones(2, 4)))


def section_containers() -> None:
    blocks = nn.ModuleDict({"enc": nn.Linear(4, 3), "act": nn.Tanh()})
    blocks["dec"] = nn.Linear(3, 4)
    blocks.update([("drop", nn.Dropout(0.0))])
    put("cont.dict_keys", list(blocks.keys()))
    put("cont.dict_in", ["enc" in blocks, "zzz" in blocks, len(blocks)])
    popped = blocks.pop("drop")
    put("cont.popped", type(popped).__name__)
    seq = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    head = seq[:2]
    tail = seq[-1]
    put("cont.slice", [type(head).__name__, len(head), type(tail).__name__, len(seq[::2])])
    seq.append(nn.Softmax(-1))
    seq.insert(0, nn.Identity())
    del seq[2]
    put("cont.seq_names", [name for name, _ in seq.named_children()])
    put("cont.seq_types", [type(m).__name__ for m in seq])
    seq.extend([nn.Identity()])
    x = torch.randn(3, 4)
    put("cont.seq_out", seq(x))
    put("cont.seq_shape", [list(seq[1](x).shape), len(seq)])
    layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
    layers[1] = nn.Linear(4, 4, bias=False)
    h = x
    for layer in layers[::-1]:
        h = torch.relu(layer(h))
    put("cont.list_out", h)
    put("cont.list_names", [n for n, _ in layers.named_parameters()])
    params = nn.ParameterList([nn.Parameter(torch.ones(2) * i) for i in range(3)])
    params.append(nn.Parameter(torch.zeros(1)))
    put("cont.plist", [sum(p.sum() for p in params), len(params),
                       [n for n, _ in params.named_parameters()]])
    pdict = nn.ParameterDict({"scale": nn.Parameter(torch.tensor(2.0))})
    pdict["shift"] = nn.Parameter(torch.tensor(-1.0))
    put("cont.pdict", [pdict["scale"] * 3 + pdict["shift"], sorted(pdict.keys())])

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = blocks
            self.layers = layers
            self.params = params
            self.register_buffer("steps", torch.zeros((), dtype=torch.long))
            self.register_buffer("scratch", torch.ones(2), persistent=False)

        def forward(self, x):
            self.steps += 1
            return self.blocks["dec"](self.blocks["act"](self.blocks["enc"](x)))

    net = Net()
    out = net(x)
    put("cont.net_out", out)
    put("cont.state_keys", list(net.state_dict().keys()))
    put("cont.modules", [name for name, _ in net.named_modules()])
    put("cont.buffers", [name for name, _ in net.named_buffers()])
    put("cont.n_params", sum(p.numel() for p in net.parameters()))
    put("cont.n_trainable", sum(p.numel() for p in net.parameters() if p.requires_grad))

    def init(module):
        if isinstance(module, nn.Linear):
            nn.init.constant_(module.weight, 0.1)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    net.apply(init)
    put("cont.after_apply", net(x))
    put("cont.steps", net.steps)
    net.requires_grad_(False)
    net.blocks["dec"].requires_grad_(True)
    put("cont.frozen", [n for n, p in net.named_parameters() if p.requires_grad])
    put("cont.training", [net.training, net.eval().training, net.blocks.training,
                          net.train(True).layers[0].training])
    put("cont.get_submodule", type(net.get_submodule("blocks.enc")).__name__)
    twin = Net()
    missing = twin.load_state_dict({k: v for k, v in net.state_dict().items()
                                    if "layers" not in k}, strict=False)
    put("cont.missing", [sorted(missing.missing_keys), list(missing.unexpected_keys)])
    put("cont.half", str(net.half().blocks["enc"].weight.dtype))
    put("cont.double_buffer", str(net.double().steps.dtype))


SECTIONS = {
    "cells": section_cells, "embedding": section_embedding, "patches": section_patches,
    "norms": section_norms, "containers": section_containers,
}

if __name__ == "__main__":
    from prog_s23_PR6_harness import run

    run(SECTIONS)
