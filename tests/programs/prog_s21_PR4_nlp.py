"""NLP programs, afresh (PR4, session 21): a word-level LSTM language model over packed,
unsorted sequences with an adaptive softmax (AdaptiveLogSoftmaxWithLoss) and embeddings from
"pretrained" vectors; a pre-norm Transformer translator built from TransformerEncoder /
TransformerDecoder with padding and causal masks, label smoothing and greedy decoding; a
multi-label tagger and a pairwise ranker trained with the margin losses (multi-label soft
margin, multi-label margin, margin ranking, hinge embedding, multi-margin, soft margin); a
byte-pair tokenizer feeding a tiny GPT decoded with a KV cache and top-k / top-p sampling; and
the text-preprocessing idioms (vocabulary by unique / counts, length buckets, left padding).
Tiny sizes; run by prog_s21_PR4_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.nn.utils.rnn import (
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)


class AdaptiveLM(nn.Module):
    def __init__(self, vectors, hidden, cutoffs):
        super().__init__()
        self.embed = nn.Embedding.from_pretrained(vectors, freeze=False, padding_idx=0)
        self.rnn = nn.LSTM(vectors.shape[1], hidden, num_layers=2, dropout=0.0)
        self.out = nn.AdaptiveLogSoftmaxWithLoss(hidden, vectors.shape[0], cutoffs,
                                                 div_value=2.0)

    def features(self, sequences):
        packed = pack_sequence([self.embed(s) for s in sequences], enforce_sorted=False)
        output, (h, c) = self.rnn(packed)
        return output, h


def section_adaptive_lm() -> None:
    vocab, dim = 90, 12
    vectors = torch.randn(vocab, dim) * 0.3
    vectors[0] = 0
    model = AdaptiveLM(vectors, 16, [20, 50])
    lengths = [7, 4, 9, 5, 6]
    sequences = [torch.randint(1, vocab, (n,)) for n in lengths]
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(6):
        optimizer.zero_grad()
        output, h = model.features([s[:-1] for s in sequences])
        targets = torch.cat([s[1:] for s in unpack_sequence(
            pack_sequence(sequences, enforce_sorted=False))])
        hidden = torch.cat(unpack_sequence(output))
        result = model.out(hidden, targets)
        result.loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(result.loss.item())
    put("alm.losses", losses)
    put("alm.output_lp", result.output)
    put("alm.h", h)
    put("alm.packed_sorted", output.sorted_indices)
    put("alm.packed_unsorted", output.unsorted_indices)
    put("alm.batch_sizes", output.batch_sizes)
    padded, lens = pad_packed_sequence(output, batch_first=True, total_length=10)
    put("alm.padded", padded)
    put("alm.lens", lens)
    put("alm.unpadded", unpad_sequence(padded, lens, batch_first=True))
    with torch.no_grad():
        log_probs = model.out.log_prob(hidden[:8])
        put("alm.log_prob", log_probs)
        put("alm.log_prob_sum", log_probs.exp().sum(1))
        put("alm.predict", model.out.predict(hidden[:8]))
    put("alm.embed_grad", model.embed.weight.grad)
    put("alm.pad_row_grad", model.embed.weight.grad[0])
    put_state("alm.state", model)
    put("alm.repr", repr(model.out))


class Translator(nn.Module):
    def __init__(self, src_vocab, tgt_vocab, d_model=16, nhead=4):
        super().__init__()
        self.src_embed = nn.Embedding(src_vocab, d_model, padding_idx=0)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model, padding_idx=0)
        position = torch.arange(32)[:, None]
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(32, d_model)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe, persistent=False)
        layer = nn.TransformerEncoderLayer(d_model, nhead, 32, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(d_model),
                                             enable_nested_tensor=False)
        dlayer = nn.TransformerDecoderLayer(d_model, nhead, 32, dropout=0.0, activation="gelu",
                                            batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(dlayer, 2, norm=nn.LayerNorm(d_model))
        self.generator = nn.Linear(d_model, tgt_vocab)
        self.scale = math.sqrt(d_model)

    def encode(self, src):
        x = self.src_embed(src) * self.scale + self.pe[:src.shape[1]]
        return self.encoder(x, src_key_padding_mask=src == 0)

    def decode(self, tgt, memory, src_mask):
        mask = nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
        y = self.tgt_embed(tgt) * self.scale + self.pe[:tgt.shape[1]]
        return self.generator(self.decoder(y, memory, tgt_mask=mask, tgt_is_causal=True,
                                           tgt_key_padding_mask=tgt == 0,
                                           memory_key_padding_mask=src_mask))


def section_mt_transformer() -> None:
    src_vocab, tgt_vocab, bos, eos = 20, 22, 1, 2
    src_lengths = [6, 4, 5, 3]
    src = torch.zeros(4, 6, dtype=torch.long)
    tgt = torch.zeros(4, 8, dtype=torch.long)
    for i, n in enumerate(src_lengths):
        words = torch.randint(3, src_vocab, (n,))
        src[i, :n] = words
        # the "translation": reverse and shift the vocabulary, with BOS / EOS
        out = torch.cat([torch.tensor([bos]), words.flip(0) + 1, torch.tensor([eos])])
        tgt[i, :n + 2] = out
    model = Translator(src_vocab, tgt_vocab)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, betas=(0.9, 0.98), eps=1e-9)
    warmup = 4
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) ** -0.5, (step + 1) * warmup ** -1.5))
    criterion = nn.CrossEntropyLoss(ignore_index=0, label_smoothing=0.1)
    losses, lrs = [], []
    for _ in range(8):
        optimizer.zero_grad()
        memory = model.encode(src)
        logits = model.decode(tgt[:, :-1], memory, src == 0)
        loss = criterion(logits.reshape(-1, tgt_vocab), tgt[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
    put("mt.losses", losses)
    put("mt.lrs", lrs)
    put("mt.memory", memory)
    put("mt.grad_gen", model.generator.weight.grad)
    put("mt.mask", nn.Transformer.generate_square_subsequent_mask(5))
    model.eval()
    with torch.no_grad():
        memory = model.encode(src)
        ys = torch.full((4, 1), bos, dtype=torch.long)
        for _ in range(7):
            logits = model.decode(ys, memory, src == 0)
            ys = torch.cat([ys, logits[:, -1].argmax(-1, keepdim=True)], 1)
        put("mt.greedy", ys)
        put("mt.final_logits", logits[:, -1])
    # the key third of each in_proj_bias has a gradient that is zero up to rounding (softmax
    # ignores a shift common to all keys) which AdamW turns into full-size steps of either sign:
    # compared without it
    put_state("mt.state", model, exclude=("in_proj_bias",))
    for name, value in model.state_dict().items():
        if name.endswith("in_proj_bias"):
            put(f"mt.qv_bias.{name}", torch.cat([value[:16], value[32:]]))
    put("mt.keys", sorted(model.state_dict()))


def section_margin_losses() -> None:
    vocab, n_labels = 40, 5
    bag = nn.EmbeddingBag(vocab, 8, mode="sum")
    head = nn.Linear(8, n_labels)
    tokens = torch.randint(0, vocab, (30,))
    offsets = torch.tensor([0, 4, 9, 15, 18, 24])
    weights = torch.rand(30)
    labels = (torch.rand(6, n_labels) > 0.6).float()
    # multilabel_margin wants target indices, padded with -1
    label_idx = torch.full((6, n_labels), -1, dtype=torch.long)
    for i in range(6):
        on = labels[i].nonzero().flatten()
        label_idx[i, :len(on)] = on
    class_weight = torch.tensor([1.0, 2.0, 0.5, 1.0, 1.5])
    params = list(bag.parameters()) + list(head.parameters())
    optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True)
    record = []
    for _ in range(5):
        optimizer.zero_grad()
        scores = head(bag(tokens, offsets, per_sample_weights=weights))
        losses = [
            nn.MultiLabelSoftMarginLoss(weight=class_weight)(scores, labels),
            nn.MultiLabelMarginLoss()(scores, label_idx),
            nn.MultiMarginLoss(p=2, margin=0.5, weight=class_weight)(scores,
                                                                     labels.argmax(1)),
            nn.SoftMarginLoss()(scores, labels * 2 - 1),
            nn.HingeEmbeddingLoss(margin=0.7)(scores, labels * 2 - 1),
        ]
        total = sum(losses)
        total.backward()
        optimizer.step()
        record.append(torch.stack([loss.detach() for loss in losses]))
    put("margin.record", torch.stack(record))
    put("margin.bag_grad", bag.weight.grad)
    put("margin.head_grad", head.weight.grad)
    put("margin.per_sample", nn.MultiMarginLoss(reduction="none")(scores, labels.argmax(1)))
    put("margin.per_sample_ml",
        nn.MultiLabelSoftMarginLoss(reduction="none")(scores, labels))
    # a pairwise ranker: score(query, doc) with MarginRankingLoss and CosineEmbeddingLoss
    query = nn.Linear(6, 4)
    docs = torch.randn(10, 6)
    relevance = torch.rand(10)
    pairs = torch.combinations(torch.arange(10), 2)
    ranking = nn.MarginRankingLoss(margin=0.1)
    optimizer = torch.optim.Adagrad(query.parameters(), lr=0.1, lr_decay=0.01)
    rank_losses = []
    for _ in range(6):
        optimizer.zero_grad()
        s = query(docs).sum(1)
        y = torch.sign(relevance[pairs[:, 0]] - relevance[pairs[:, 1]])
        loss = ranking(s[pairs[:, 0]], s[pairs[:, 1]], y)
        loss = loss + nn.CosineEmbeddingLoss(margin=0.2)(query(docs[:5]), query(docs[5:]),
                                                          torch.tensor([1, -1, 1, -1, 1]))
        loss.backward()
        optimizer.step()
        rank_losses.append(loss.item())
    put("margin.rank_losses", rank_losses)
    put("margin.order", s.argsort(descending=True))
    put("margin.n_pairs", len(pairs))
    put_state("margin.adagrad", query)
    put("margin.adagrad_sum", optimizer.state[query.weight]["sum"])


def learn_bpe(text, n_merges):
    words = [list(w) + ["</w>"] for w in text.split()]
    merges = []
    for _ in range(n_merges):
        counts = {}
        for w in words:
            for pair in zip(w, w[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = max(sorted(counts), key=lambda p: counts[p])
        merges.append(best)
        new_words = []
        for w in words:
            out, i = [], 0
            while i < len(w):
                if i < len(w) - 1 and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new_words.append(out)
        words = new_words
    return merges, words


class CachedAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.heads = heads

    def forward(self, x, cache=None):
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        if cache is not None:
            k = torch.cat([cache[0], k], 2)
            v = torch.cat([cache[1], v], 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=cache is None and t > 1)
        return self.proj(y.transpose(1, 2).reshape(b, t, c)), (k, v)


class TinyGPT(nn.Module):
    def __init__(self, vocab, dim=16, heads=2, layers=2, block=32):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Embedding(block, dim)
        self.ln1 = nn.ModuleList(nn.LayerNorm(dim) for _ in range(layers))
        self.attn = nn.ModuleList(CachedAttention(dim, heads) for _ in range(layers))
        self.ln2 = nn.ModuleList(nn.LayerNorm(dim) for _ in range(layers))
        self.mlp = nn.ModuleList(nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU("tanh"),
                                               nn.Linear(4 * dim, dim)) for _ in range(layers))
        self.ln_f = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, idx, caches=None, start=0):
        x = self.tok(idx) + self.pos(torch.arange(start, start + idx.shape[1]))
        new = []
        for i in range(len(self.attn)):
            a, kv = self.attn[i](self.ln1[i](x), None if caches is None else caches[i])
            x = x + a
            x = x + self.mlp[i](self.ln2[i](x))
            new.append(kv)
        return self.head(self.ln_f(x)), new


def top_k_top_p(logits, k, p):
    values, _ = torch.topk(logits, k)
    logits = logits.masked_fill(logits < values[:, [-1]], float("-inf"))
    sorted_logits, order = torch.sort(logits, descending=True)
    cumulative = sorted_logits.softmax(-1).cumsum(-1)
    remove = cumulative > p
    remove[:, 1:] = remove[:, :-1].clone()
    remove[:, 0] = False
    return logits.masked_fill(remove.scatter(1, order, remove), float("-inf"))


def section_bpe_gpt() -> None:
    text = ("the cat sat on the mat the cat ate the rat and the rat sat on the hat "
            "that cat that rat the fat cat the flat mat") * 2
    merges, words = learn_bpe(text, 12)
    symbols = sorted({s for w in words for s in w})
    stoi = {s: i for i, s in enumerate(symbols)}
    ids = torch.tensor([stoi[s] for w in words for s in w])
    put("bpe.n_symbols", len(symbols))
    put("bpe.ids", ids)
    model = TinyGPT(len(symbols))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    block = 12
    losses = []
    for _ in range(12):
        starts = torch.randint(0, len(ids) - block - 1, (4,))
        x = torch.stack([ids[s:s + block] for s in starts])
        y = torch.stack([ids[s + 1:s + block + 1] for s in starts])
        logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("bpe.losses", losses)
    put("bpe.tied", model.head.weight is model.tok.weight)
    model.eval()
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        prompt = ids[:5].repeat(3, 1)
        logits, caches = model(prompt)
        out = prompt
        for _step in range(8):
            filtered = top_k_top_p(logits[:, -1] / 0.8, k=6, p=0.9)
            nxt = torch.multinomial(filtered.softmax(-1), 1, generator=generator)
            out = torch.cat([out, nxt], 1)
            logits, caches = model(nxt, caches, start=out.shape[1] - 1)
        # the cache gives the same last logits as a full forward over the sequence
        full_logits, _ = model(out)
        put("bpe.cache_gap", (full_logits[:, -1] - logits[:, -1]).abs().max())
        put("bpe.generated", out)
        put("bpe.last_logits", logits[:, -1])
        put("bpe.filtered", top_k_top_p(full_logits[:, -1], k=4, p=0.7))
    put("bpe.cache_shape", list(caches[0][0].shape))


def section_text_prep() -> None:
    corpus = ["a b c a", "b b d", "e a c", "c c c a b", "d", "a e e b d c"]
    tokens = [s.split() for s in corpus]
    letters = sorted({t for s in tokens for t in s})
    codes = torch.tensor([letters.index(t) for s in tokens for t in s])
    values, inverse, counts = torch.unique(codes, sorted=True, return_inverse=True,
                                           return_counts=True)
    put("prep.unique", values)
    put("prep.inverse", inverse)
    put("prep.counts", counts)
    order = torch.argsort(counts, descending=True, stable=True)
    put("prep.by_freq", values[order])
    consecutive, c_counts = torch.unique_consecutive(codes, return_counts=True)
    put("prep.consecutive", consecutive)
    put("prep.c_counts", c_counts)
    seqs = [torch.tensor([letters.index(t) + 1 for t in s]) for s in tokens]
    lengths = torch.tensor([len(s) for s in seqs])
    boundaries = torch.tensor([1, 3, 5])
    put("prep.buckets", torch.bucketize(lengths, boundaries))
    put("prep.buckets_right", torch.bucketize(lengths, boundaries, right=True))
    put("prep.right_pad", pad_sequence(seqs, batch_first=True, padding_value=0))
    put("prep.left_pad", pad_sequence(seqs, batch_first=True, padding_value=-1,
                                      padding_side="left"))
    put("prep.time_major", pad_sequence(seqs))
    attention_mask = pad_sequence([torch.ones(n) for n in lengths.tolist()], batch_first=True)
    put("prep.mask", attention_mask)
    # mean pooling over the mask, as sentence-embedding code does
    embed = nn.Embedding(6, 4, padding_idx=0)
    padded = pad_sequence(seqs, batch_first=True)
    hidden = embed(padded)
    pooled = (hidden * attention_mask[..., None]).sum(1) / attention_mask.sum(1, keepdim=True)
    pooled.pow(2).sum().backward()
    put("prep.pooled", pooled)
    put("prep.embed_grad", embed.weight.grad)
    put("prep.tensor_split", list(torch.arange(10).tensor_split([2, 5, 9])))
    put("prep.tensor_split_n", list(torch.arange(10).tensor_split(3)))


SECTIONS = {"adaptive_lm": section_adaptive_lm, "mt_transformer": section_mt_transformer,
            "margin_losses": section_margin_losses, "bpe_gpt": section_bpe_gpt,
            "text_prep": section_text_prep}
