"""The utilities those repositories lean on, exercised the way their programs do (PR, session
17): packed sequences unsorted with initial states, pack/unpack/unpad helpers and
pad_packed_sequence(total_length) as the sequence-tagging repositories use them; nn.Transformer
and nn.MultiheadAttention with the masks bentrevett's later notebooks pass (train and eval);
the losses of label-smoothing recipes; the samplers and collate defaults of data pipelines;
super_resolution's PixelShuffle and fast_neural_style's transformer net pieces; weight and
spectral normalisation of GAN / WaveNet code. Tiny sizes, seeded; run by prog_s17_PR_all.py.
"""

import collections

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    RandomSampler,
    SequentialSampler,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)
from torch.utils.data.dataloader import default_collate


def section_rnn_utils() -> None:
    lengths = torch.tensor([2, 5, 3, 4])
    x = torch.randn(5, 4, 3)
    h0 = torch.randn(2, 4, 6)
    gru = nn.GRU(3, 6, num_layers=2)
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    put("rnn_utils.batch_sizes", packed.batch_sizes)
    put("rnn_utils.sorted_indices", packed.sorted_indices)
    put("rnn_utils.unsorted_indices", packed.unsorted_indices)
    out, hn = gru(packed, h0)  # h0 is in the batch's own order: the module permutes it
    padded, out_lengths = pad_packed_sequence(out, total_length=7)
    put("rnn_utils.padded", padded)
    put("rnn_utils.out_lengths", out_lengths)
    put("rnn_utils.hn", hn)
    # each sequence alone gives the same final state
    alone = [gru(x[:n, i:i + 1], h0[:, i:i + 1])[1] for i, n in enumerate(lengths.tolist())]
    put("rnn_utils.alone_match", torch.allclose(torch.cat(alone, 1), hn, atol=1e-6))
    (padded.sum() + hn.pow(2).sum()).backward()
    put("rnn_utils.grads", [p.grad for p in gru.parameters()])
    # a Linear on the packed data, re-wrapped (the taggers' idiom)
    linear = nn.Linear(6, 2)
    tagged = PackedSequence(linear(out.data), out.batch_sizes, out.sorted_indices,
                            out.unsorted_indices)
    put("rnn_utils.tagged", pad_packed_sequence(tagged, batch_first=True, padding_value=-1.0)[0])
    # LSTM, bidirectional, packed with initial (h, c) and batch_first
    lstm = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
    xb = x.transpose(0, 1)
    state = (torch.randn(2, 4, 4), torch.randn(2, 4, 4))
    out, (h, c) = lstm(pack_padded_sequence(xb, lengths, batch_first=True,
                                            enforce_sorted=False), state)
    put("rnn_utils.lstm_out", pad_packed_sequence(out, batch_first=True)[0])
    put("rnn_utils.lstm_h", h)
    put("rnn_utils.lstm_c", c)
    seqs = [torch.arange(float(n)) for n in (3, 1, 2)]
    ps = pack_sequence(seqs, enforce_sorted=False)
    put("rnn_utils.pack_sequence", ps.data)
    put("rnn_utils.unpack", unpack_sequence(ps))
    put("rnn_utils.unpad", unpad_sequence(pad_sequence(seqs, batch_first=True),
                                          torch.tensor([3, 1, 2]), batch_first=True))
    put("rnn_utils.is_packed", isinstance(ps, PackedSequence) and isinstance(ps, tuple))
    # RNN with tanh / relu nonlinearity on a packed batch
    rnn = nn.RNN(3, 4, nonlinearity="relu")
    out, hn = rnn(pack_padded_sequence(x, lengths, enforce_sorted=False))
    put("rnn_utils.relu_hn", hn)


def section_nn_transformer() -> None:
    model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                           dim_feedforward=16, dropout=0.1, batch_first=True)
    emb_src, emb_tgt = nn.Embedding(10, 8, padding_idx=0), nn.Embedding(10, 8, padding_idx=0)
    head = nn.Linear(8, 10)
    src = torch.tensor([[3, 4, 5, 6, 0, 0], [7, 8, 2, 0, 0, 0], [5, 5, 5, 5, 5, 9]])
    tgt = torch.tensor([[1, 4, 5, 0, 0], [1, 8, 0, 0, 0], [1, 5, 5, 5, 9]])
    tgt_mask = model.generate_square_subsequent_mask(tgt.size(1))
    put("nn_tf.tgt_mask", tgt_mask)
    src_pad, tgt_pad = src == 0, tgt == 0
    params = (list(model.parameters()) + list(emb_src.parameters()) + list(emb_tgt.parameters())
              + list(head.parameters()))
    optimizer = torch.optim.Adam(params, lr=1e-3)
    losses = []
    for _ in range(3):
        out = model(emb_src(src), emb_tgt(tgt[:, :-1]), tgt_mask=tgt_mask[:-1, :-1],
                    src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad[:, :-1],
                    memory_key_padding_mask=src_pad)
        loss = F.cross_entropy(head(out).reshape(-1, 10), tgt[:, 1:].reshape(-1),
                               ignore_index=0, label_smoothing=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("nn_tf.losses", losses)
    model.eval()
    with torch.no_grad():
        memory = model.encoder(emb_src(src), src_key_padding_mask=src_pad)
        put("nn_tf.memory_unpadded", memory.masked_fill(src_pad.unsqueeze(-1), 0.0))
        ys = torch.ones(3, 1, dtype=torch.long)
        for _ in range(4):
            mask = nn.Transformer.generate_square_subsequent_mask(ys.size(1))
            out = model.decoder(emb_tgt(ys), memory, tgt_mask=mask,
                                memory_key_padding_mask=src_pad)
            next_word = head(out[:, -1]).argmax(-1, keepdim=True)
            ys = torch.cat([ys, next_word], dim=1)
    put("nn_tf.greedy", ys)
    # (the key third of in_proj_bias shifts a query's scores equally: softmax cancels it, its
    # gradient is rounding noise that Adam scales up; only the query and value thirds compare)
    put_state("nn_tf", model, exclude=("in_proj_bias",))
    for name, module in model.named_modules():
        if isinstance(module, nn.MultiheadAttention):
            put(f"nn_tf.{name}.qv_bias", torch.cat([module.in_proj_bias[:8],
                                                    module.in_proj_bias[16:]]))
    # nn.MultiheadAttention as the notebooks call it
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    q = torch.randn(2, 3, 8, requires_grad=True)
    kv = torch.randn(2, 4, 8)
    kpm = torch.tensor([[False, False, True, True], [False, False, False, False]])
    out, weights = mha(q, kv, kv, key_padding_mask=kpm)
    out2, weights2 = mha(q, kv, kv, key_padding_mask=kpm, average_attn_weights=False)
    float_mask = torch.zeros(3, 4).masked_fill(torch.tensor([[0, 0, 0, 1]] * 3).bool(),
                                               float("-inf"))
    out3, _ = mha(q, kv, kv, attn_mask=float_mask, need_weights=False)
    (out.sum() + out2.pow(2).sum() + out3.sum()).backward()
    put("nn_tf.mha", [out, weights, weights2, out3, q.grad, mha.in_proj_weight.grad])


def section_losses() -> None:
    logits = torch.randn(6, 5, requires_grad=True)
    target = torch.tensor([0, 4, 2, -100, 1, 2])
    weight = torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0])
    values = [
        F.cross_entropy(logits, target, label_smoothing=0.2),
        F.cross_entropy(logits, target, weight=weight, label_smoothing=0.1),
        F.cross_entropy(logits, target, weight=weight, reduction="sum", label_smoothing=0.3),
        F.cross_entropy(logits, F.softmax(torch.randn(6, 5), 1), label_smoothing=0.1),
        nn.KLDivLoss(reduction="batchmean")(F.log_softmax(logits, 1), F.softmax(logits.detach()
                                                                                * 2, 1)),
        nn.KLDivLoss(reduction="batchmean", log_target=True)(
            F.log_softmax(logits, 1), F.log_softmax(torch.randn(6, 5), 1)),
        nn.KLDivLoss(reduction="sum")(F.log_softmax(logits, 1),
                                      torch.tensor([[0.0, 0.5, 0.5, 0.0, 0.0]] * 6)),
        F.nll_loss(F.log_softmax(logits, 1), target, ignore_index=-100, reduction="none").sum(),
        F.binary_cross_entropy_with_logits(logits, torch.rand(6, 5),
                                           pos_weight=torch.full((5,), 2.0)),
        F.multi_margin_loss(logits, target.clamp(min=0)),
        F.cosine_embedding_loss(logits[:3], logits[3:], torch.tensor([1, -1, 1])),
        F.margin_ranking_loss(logits[:, 0], logits[:, 1], torch.tensor([1., -1, 1, -1, 1, 1])),
        F.triplet_margin_loss(logits[:2], logits[2:4], logits[4:]),
    ]
    grads = torch.autograd.grad(sum(values), logits)
    put("losses.values", values)
    put("losses.grad", grads[0])


def section_samplers() -> None:
    data = TensorDataset(torch.arange(10.).view(10, 1), torch.arange(10) % 3)
    put("samplers.batch", [list(b) for b in BatchSampler(SequentialSampler(data), 3, True)])
    put("samplers.batch_keep", len(list(BatchSampler(SequentialSampler(data), 3, False))))
    g = torch.Generator().manual_seed(3)
    put("samplers.random", list(RandomSampler(data, generator=g)))
    put("samplers.random_n", list(RandomSampler(data, replacement=True, num_samples=6,
                                                generator=torch.Generator().manual_seed(4))))
    put("samplers.subset", list(SubsetRandomSampler([1, 3, 5, 7],
                                                    generator=torch.Generator().manual_seed(5))))
    put("samplers.weighted", list(WeightedRandomSampler(
        [0.1, 0.9, 0.4, 0.6], 8, generator=torch.Generator().manual_seed(6))))
    train, val = random_split(data, [0.7, 0.3], generator=torch.Generator().manual_seed(42))
    put("samplers.split_train", list(train.indices))
    put("samplers.split_val", list(val.indices))
    loader = DataLoader(data, batch_size=4, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(1))
    put("samplers.loader", [b[0].view(-1) for b in loader])
    put("samplers.loader_len", len(loader))
    Point = collections.namedtuple("Point", "x y")
    batch = default_collate([{"a": torch.ones(2), "b": 1, "c": np.float32(0.5),
                              "p": Point(1.0, torch.zeros(1)), "s": "one"},
                             {"a": torch.zeros(2), "b": 2, "c": np.float32(1.5),
                              "p": Point(2.0, torch.ones(1)), "s": "two"}])
    put("samplers.collate.a", batch["a"])
    put("samplers.collate.b", batch["b"])
    put("samplers.collate.c", batch["c"])
    put("samplers.collate.px", batch["p"].x)
    put("samplers.collate.py", batch["p"].y)
    put("samplers.collate.type", type(batch["p"]).__name__)
    put("samplers.collate.s", batch["s"])
    put("samplers.collate.np", default_collate([np.arange(3), np.arange(3)]))


def section_superres() -> None:
    class Net(nn.Module):
        def __init__(self, upscale_factor):
            super().__init__()
            self.relu = nn.ReLU()
            self.conv1 = nn.Conv2d(1, 8, (5, 5), (1, 1), (2, 2))
            self.conv2 = nn.Conv2d(8, 8, (3, 3), (1, 1), (1, 1))
            self.conv3 = nn.Conv2d(8, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
            self.pixel_shuffle = nn.PixelShuffle(upscale_factor)
            nn.init.orthogonal_(self.conv1.weight, nn.init.calculate_gain('relu'))
            nn.init.orthogonal_(self.conv2.weight, nn.init.calculate_gain('relu'))
            nn.init.orthogonal_(self.conv3.weight)

        def forward(self, x):
            x = self.relu(self.conv1(x))
            x = self.relu(self.conv2(x))
            return self.pixel_shuffle(self.conv3(x))

    model = Net(3)
    target = torch.rand(2, 1, 9, 9)
    inputs = F.interpolate(target, scale_factor=1 / 3, mode="bicubic", align_corners=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    psnrs = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = nn.MSELoss()(model(inputs), target)
        loss.backward()
        optimizer.step()
        psnrs.append(10 * torch.log10(1 / loss).item())
    put("superres.inputs", inputs)
    put("superres.psnr", psnrs)
    put("superres.unshuffle", F.pixel_unshuffle(target, 3))
    put_state("superres", model)

    class ConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride):
            super().__init__()
            self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            return self.conv2d(self.reflection_pad(x))

    class ResidualBlock(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.conv1 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in1 = nn.InstanceNorm2d(channels, affine=True)
            self.conv2 = ConvLayer(channels, channels, kernel_size=3, stride=1)
            self.in2 = nn.InstanceNorm2d(channels, affine=True)
            self.relu = nn.ReLU()

        def forward(self, x):
            residual = x
            out = self.relu(self.in1(self.conv1(x)))
            return self.in2(self.conv2(out)) + residual

    class UpsampleConvLayer(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride, upsample=None):
            super().__init__()
            self.upsample = upsample
            self.reflection_pad = nn.ReflectionPad2d(kernel_size // 2)
            self.conv2d = nn.Conv2d(in_channels, out_channels, kernel_size, stride)

        def forward(self, x):
            if self.upsample:
                x = F.interpolate(x, mode='nearest', scale_factor=self.upsample)
            return self.conv2d(self.reflection_pad(x))

    class TransformerNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = ConvLayer(3, 4, kernel_size=5, stride=1)
            self.in1 = nn.InstanceNorm2d(4, affine=True)
            self.conv2 = ConvLayer(4, 8, kernel_size=3, stride=2)
            self.in2 = nn.InstanceNorm2d(8, affine=True)
            self.res1 = ResidualBlock(8)
            self.deconv1 = UpsampleConvLayer(8, 4, kernel_size=3, stride=1, upsample=2)
            self.in4 = nn.InstanceNorm2d(4, affine=True)
            self.deconv3 = ConvLayer(4, 3, kernel_size=5, stride=1)
            self.relu = nn.ReLU()

        def forward(self, X):
            y = self.relu(self.in1(self.conv1(X)))
            y = self.relu(self.in2(self.conv2(y)))
            y = self.res1(y)
            y = self.relu(self.in4(self.deconv1(y)))
            return self.deconv3(y)

    def gram_matrix(y):
        (b, ch, h, w) = y.size()
        features = y.view(b, ch, w * h)
        features_t = features.transpose(1, 2)
        return features.bmm(features_t) / (ch * h * w)

    def normalize_batch(batch):
        mean = batch.new_tensor([0.485, 0.456, 0.406]).view(-1, 1, 1)
        std = batch.new_tensor([0.229, 0.224, 0.225]).view(-1, 1, 1)
        batch = batch.div_(255.0)
        return (batch - mean) / std

    net = TransformerNet()
    x = torch.rand(2, 3, 8, 8) * 255
    style = gram_matrix(normalize_batch(torch.rand(1, 3, 8, 8) * 255)).detach()
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        y = net(x)
        content_loss = F.mse_loss(y, x / 255)
        style_loss = F.mse_loss(gram_matrix(normalize_batch(y.clone() * 255)),
                                style.expand(2, -1, -1))
        total = content_loss + 1e2 * style_loss
        total.backward()
        optimizer.step()
        losses.append([content_loss.item(), style_loss.item()])
    put("superres.style_losses", losses)
    # (a bias before an InstanceNorm, directly or through the residual block, is removed by the
    # norm: its gradient is rounding noise that Adam scales up; only the last conv's compares)
    put_state("superres.tnet", net, exclude=("conv2d.bias", "in2.bias"))
    put("superres.tnet.last_bias", net.deconv3.conv2d.bias)


def section_norms() -> None:
    conv = nn.utils.weight_norm(nn.Conv1d(3, 4, 3, dilation=2))
    put("norms.wn_names", sorted(n for n, _ in conv.named_parameters()))
    x = torch.randn(2, 3, 9)
    conv(x).pow(2).mean().backward()
    put("norms.wn_grads", [conv.weight_g.grad, conv.weight_v.grad])
    nn.utils.remove_weight_norm(conv)
    put("norms.wn_removed", sorted(n for n, _ in conv.named_parameters()))
    lin = nn.utils.parametrizations.weight_norm(nn.Linear(4, 3))
    lin(torch.randn(5, 4)).sum().backward()
    put("norms.pwn", [lin.parametrizations.weight.original0.grad,
                      lin.parametrizations.weight.original1.grad])
    put("norms.pwn_keys", sorted(lin.state_dict()))
    disc = nn.Sequential(nn.utils.spectral_norm(nn.Linear(4, 6)), nn.LeakyReLU(0.1),
                         nn.utils.spectral_norm(nn.Conv1d(1, 2, 3)))
    put("norms.sn_keys", sorted(disc.state_dict()))
    h = disc[1](disc[0](torch.randn(3, 4)))
    out = disc[2](h.unsqueeze(1))
    out.sum().backward()
    put("norms.sn_out", out)
    put("norms.sn_u", disc[0].weight_u)
    put("norms.sn_grad", disc[0].weight_orig.grad)
    disc.eval()
    put("norms.sn_eval", disc[0](torch.ones(1, 4)))
    psn = nn.utils.parametrizations.spectral_norm(nn.Linear(4, 5))
    put("norms.psn", psn(torch.ones(2, 4)))
    put("norms.psn_sigma", torch.linalg.matrix_norm(psn.weight, 2))


SECTIONS = {"rnn_utils": section_rnn_utils, "nn_tf": section_nn_transformer,
            "losses": section_losses, "samplers": section_samplers,
            "superres": section_superres, "norms": section_norms}
