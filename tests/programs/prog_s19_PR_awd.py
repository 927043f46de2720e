"""fast.ai's AWD-LSTM (Merity et al.), written afresh in the style of the course's code (PR2,
session 19): WeightDropout (the LSTM's hidden-to-hidden weight deleted and put back each forward
as a dropped-out plain tensor of a ``_raw`` parameter, flatten_parameters disabled),
EmbeddingDropout (whole rows of the embedding matrix dropped, F.embedding on the masked
weight), RNNDropout (one variational mask per sequence from ``bernoulli_``), a stack of
single-layer LSTMs carrying hidden state across batches (detached), activation and temporal
activation regularisation (AR / TAR), tied decoder weights; an LSTM with ``proj_size``, a
two-layer bidirectional GRU with dropout and an initial state, and packing with
``enforce_sorted=False``. Tiny sizes; run by prog_s19_PR_all.py.
"""

import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def dropout_mask(x, sz, p):
    return x.new_empty(*sz).bernoulli_(1 - p).div_(1 - p)


class RNNDropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        return x * dropout_mask(x.data, (x.size(0), 1, *x.shape[2:]), self.p)


class WeightDropout(nn.Module):
    def __init__(self, module, weight_p, layer_names="weight_hh_l0"):
        super().__init__()
        self.module, self.weight_p = module, weight_p
        self.layer_names = [layer_names] if isinstance(layer_names, str) else layer_names
        for layer in self.layer_names:
            w = getattr(self.module, layer)
            delattr(self.module, layer)
            self.register_parameter(f"{layer}_raw", nn.Parameter(w.data))
            setattr(self.module, layer, w.clone())
            if isinstance(self.module, nn.RNNBase):
                self.module.flatten_parameters = self._do_nothing

    def _setweights(self):
        for layer in self.layer_names:
            raw_w = getattr(self, f"{layer}_raw")
            w = F.dropout(raw_w, p=self.weight_p) if self.training else raw_w.clone()
            setattr(self.module, layer, w)

    def forward(self, *args):
        self._setweights()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            return self.module(*args)

    def reset(self):
        for layer in self.layer_names:
            raw_w = getattr(self, f"{layer}_raw")
            setattr(self.module, layer, raw_w.clone())
        if hasattr(self.module, "reset"):
            self.module.reset()

    def _do_nothing(self):
        pass


class EmbeddingDropout(nn.Module):
    def __init__(self, emb, embed_p):
        super().__init__()
        self.emb, self.embed_p = emb, embed_p

    def forward(self, words, scale=None):
        if self.training and self.embed_p != 0:
            size = (self.emb.weight.size(0), 1)
            mask = dropout_mask(self.emb.weight.data, size, self.embed_p)
            masked_embed = self.emb.weight * mask
        else:
            masked_embed = self.emb.weight
        if scale:
            masked_embed.mul_(scale)
        return F.embedding(words, masked_embed, self.emb.padding_idx, self.emb.max_norm,
                           self.emb.norm_type, self.emb.scale_grad_by_freq, self.emb.sparse)


class AWD_LSTM(nn.Module):
    initrange = 0.1

    def __init__(self, vocab_sz, emb_sz, n_hid, n_layers, pad_token=1, hidden_p=0.2,
                 input_p=0.6, embed_p=0.1, weight_p=0.5):
        super().__init__()
        self.bs, self.emb_sz, self.n_hid, self.n_layers = 1, emb_sz, n_hid, n_layers
        self.encoder = nn.Embedding(vocab_sz, emb_sz, padding_idx=pad_token)
        self.encoder_dp = EmbeddingDropout(self.encoder, embed_p)
        self.rnns = nn.ModuleList([self._one_rnn(emb_sz if l == 0 else n_hid,
                                                 (n_hid if l != n_layers - 1 else emb_sz),
                                                 weight_p) for l in range(n_layers)])
        self.encoder.weight.data.uniform_(-self.initrange, self.initrange)
        self.input_dp = RNNDropout(input_p)
        self.hidden_dps = nn.ModuleList([RNNDropout(hidden_p) for _ in range(n_layers)])
        self.reset()

    def forward(self, inp, from_embeds=False):
        bs, sl = inp.shape[:2]
        if bs != self.bs:
            self._change_hidden(bs)
        output = self.input_dp(self.encoder_dp(inp))
        new_hidden, raw_outputs, outputs = [], [], []
        for l, (rnn, hid_dp) in enumerate(zip(self.rnns, self.hidden_dps)):
            output, new_h = rnn(output, self.hidden[l])
            new_hidden.append(new_h)
            raw_outputs.append(output)
            if l != self.n_layers - 1:
                output = hid_dp(output)
            outputs.append(output)
        self.hidden = [(h.detach(), c.detach()) for h, c in new_hidden]
        return raw_outputs, outputs

    def _change_hidden(self, bs):
        self.hidden = [self._change_one_hidden(l, bs) for l in range(self.n_layers)]
        self.bs = bs

    def _change_one_hidden(self, l, bs):
        if self.bs < bs:
            nh = (self.n_hid if l != self.n_layers - 1 else self.emb_sz)
            return tuple(torch.cat([h, h.new_zeros(1, bs - self.bs, nh)], dim=1)
                         for h in self.hidden[l])
        if self.bs > bs:
            return (self.hidden[l][0][:, :bs].contiguous(), self.hidden[l][1][:, :bs].contiguous())
        return self.hidden[l]

    def _one_rnn(self, n_in, n_out, weight_p):
        rnn = nn.LSTM(n_in, n_out, 1, batch_first=True)
        return WeightDropout(rnn, weight_p)

    def _one_hidden(self, l):
        nh = (self.n_hid if l != self.n_layers - 1 else self.emb_sz)
        return (torch.zeros(1, self.bs, nh), torch.zeros(1, self.bs, nh))

    def reset(self):
        for r in self.rnns:
            r.reset()
        self.hidden = [self._one_hidden(l) for l in range(self.n_layers)]


class LinearDecoder(nn.Module):
    def __init__(self, n_out, n_hid, output_p=0.1, tie_encoder=None):
        super().__init__()
        self.decoder = nn.Linear(n_hid, n_out, bias=True)
        self.decoder.weight.data.uniform_(-0.1, 0.1)
        self.output_dp = RNNDropout(output_p)
        self.decoder.bias.data.zero_()
        if tie_encoder:
            self.decoder.weight = tie_encoder.weight

    def forward(self, raw_outputs, outputs):
        return self.decoder(self.output_dp(outputs[-1])), raw_outputs, outputs


def section_awd() -> None:
    encoder = AWD_LSTM(vocab_sz=20, emb_sz=6, n_hid=10, n_layers=2)
    decoder = LinearDecoder(20, 6, tie_encoder=encoder.encoder)
    put("awd.param_names", sorted(n for n, _ in encoder.named_parameters()))
    stream = (torch.arange(3 * 25) * 7 % 19 + 1).view(3, 25)
    params = [*encoder.parameters(), *decoder.parameters()]
    put("awd.n_params", [len(params), len({id(p) for p in params})])
    opt = torch.optim.Adam(params, lr=1e-2)
    record = []
    for start in range(0, 20, 5):
        encoder.train()
        decoder.train()
        x, y = stream[:, start:start + 5], stream[:, start + 1:start + 6]
        logits, raw_outputs, outputs = decoder(*encoder(x))
        loss = F.cross_entropy(logits.reshape(-1, 20), y.reshape(-1))
        ar = 2.0 * outputs[-1].float().pow(2).mean()
        h = raw_outputs[-1]
        tar = 1.0 * (h[:, 1:] - h[:, :-1]).float().pow(2).mean()
        total = loss + ar + tar
        opt.zero_grad()
        total.backward()
        nn.utils.clip_grad_norm_(params, 0.5)
        opt.step()
        record.append([loss.item(), ar.item(), tar.item()])
    put("awd.record", record)
    put("awd.raw_grad", encoder.rnns[0].weight_hh_l0_raw.grad)
    put_state("awd.state", encoder)
    put("awd.hidden", [t for pair in encoder.hidden for t in pair])
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        logits, _, _ = decoder(*encoder(stream[:2, :4]))  # a smaller batch: hidden cut down
        put("awd.eval_logits", logits)
        logits, _, _ = decoder(*encoder(stream[:, :3]))  # and grown back with zeros
        put("awd.eval_logits_grown", logits)
    encoder.reset()
    put("awd.after_reset", encoder.rnns[1].module.weight_hh_l0)


def section_rnn_variants() -> None:
    lstm = nn.LSTM(4, 6, num_layers=2, proj_size=3, batch_first=True)
    put("rnn_variants.proj_names", [n for n, _ in lstm.named_parameters()])
    put("rnn_variants.proj_sizes", [d for _, p in lstm.named_parameters() for d in p.shape])
    x = torch.randn(2, 5, 4, requires_grad=True)
    out, (h, c) = lstm(x)
    (out.sum() + h.pow(2).sum() + c.mean()).backward()
    put("rnn_variants.proj", [out, h, c, x.grad, lstm.weight_hr_l0.grad])
    gru = nn.GRU(4, 5, num_layers=2, bidirectional=True, dropout=0.3)
    h0 = torch.randn(4, 2, 5)
    seq = torch.randn(6, 2, 4)
    gru.train()
    out, hn = gru(seq, h0)
    out.pow(2).mean().backward()
    put("rnn_variants.gru", [out, hn, gru.weight_hh_l1_reverse.grad, gru.bias_ih_l0.grad])
    gru.eval()
    put("rnn_variants.gru_eval", gru(seq, h0)[0])
    rnn = nn.RNN(3, 4, nonlinearity="relu", batch_first=True)
    seqs = [torch.randn(n, 3) for n in (2, 5, 3)]
    packed = nn.utils.rnn.pack_sequence(seqs, enforce_sorted=False)
    out, hn = rnn(packed)
    padded, lengths = nn.utils.rnn.pad_packed_sequence(out, batch_first=True)
    put("rnn_variants.packed", [padded, lengths, hn, packed.sorted_indices,
                                packed.unsorted_indices, packed.batch_sizes])
    unpacked = nn.utils.rnn.unpack_sequence(out)
    put("rnn_variants.unpacked", unpacked)
    hn.sum().backward()
    put("rnn_variants.rnn_grad", rnn.weight_hh_l0.grad)


SECTIONS = {"awd": section_awd, "rnn_variants": section_rnn_variants}
