"""Text models (PG2, session 19; rewritten in our own code in session 31, DD3): a topic
classifier over EmbeddingBag with offsets (a collate function, random_split, StepLR on a
falling held-out accuracy; EmbeddingBag's sum / max / padding_idx / include_last_offset
forms), a recurrent cell written as Linear layers that tells which made-up language a word
comes from and one that spells words of a language letter by letter (greedy and multinomial
sampling), an encoder-decoder of GRUs with additive attention trained with teacher forcing,
and a causal attention language model (position buffer, square subsequent mask, key padding
mask) plus one step of a batch-first nn.Transformer with all three masks.
"""

import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_text_classification() -> None:
    n_words, n_topics, width = 30, 4, 8

    class BagTopics(nn.Module):
        """Mean of each text's word vectors -> topic scores."""

        def __init__(self):
            super().__init__()
            self.bags = nn.EmbeddingBag(n_words, width, sparse=False)
            self.head = nn.Linear(width, n_topics)
            self.bags.weight.data.uniform_(-0.4, 0.4)
            self.head.weight.data.uniform_(-0.4, 0.4)
            self.head.bias.data.zero_()

        def forward(self, flat, starts):
            return self.head(self.bags(flat, starts))

    draw = random.Random(3)
    texts = []
    for _ in range(40):
        topic = draw.randrange(n_topics)
        # most words from the topic's own band of seven, the rest from anywhere
        words = [draw.randrange(7 * topic, 7 * topic + 7) if draw.random() < 0.75
                 else draw.randrange(n_words) for _ in range(draw.randint(3, 8))]
        texts.append((topic, words))

    def pack(batch):
        """(topics, all words end to end, where each text starts)."""
        topics = torch.tensor([topic for topic, _ in batch], dtype=torch.int64)
        pieces = [torch.tensor(words, dtype=torch.int64) for _, words in batch]
        lengths = torch.tensor([0] + [p.size(0) for p in pieces[:-1]])
        return topics, torch.cat(pieces), lengths.cumsum(dim=0)

    from torch.utils.data import DataLoader
    from torch.utils.data.dataset import random_split

    fit_part, held_part = random_split(texts, [30, 10])
    fit_dl = DataLoader(fit_part, batch_size=6, shuffle=True, collate_fn=pack)
    held_dl = DataLoader(held_part, batch_size=5, shuffle=False, collate_fn=pack)
    model = BagTopics()
    ce = torch.nn.CrossEntropyLoss()
    sgd = torch.optim.SGD(model.parameters(), lr=4)
    decay = torch.optim.lr_scheduler.StepLR(sgd, 1.0, gamma=0.1)
    best = None
    accs, lrs, history = [], [], []
    for _round in range(3):
        model.train()
        for topics, flat, starts in fit_dl:
            sgd.zero_grad()
            loss = ce(model(flat, starts), topics)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.2)
            sgd.step()
            history.append(loss.item())
        model.eval()
        right = seen = 0
        with torch.no_grad():
            for topics, flat, starts in held_dl:
                right += (model(flat, starts).argmax(1) == topics).sum().item()
                seen += topics.size(0)
        acc = right / seen
        if best is not None and acc < best:
            decay.step()  # held-out accuracy fell: a tenth of the step size
        else:
            best = acc
        accs.append(acc)
        lrs.append(sgd.param_groups[0]["lr"])
    put("textcls.losses", history)
    put("textcls.accs", accs)
    put("textcls.lrs", lrs)
    put_state("textcls.model", model)
    # the other EmbeddingBag forms: weighted sums skipping a padding index, max, last offset
    flat, starts = torch.tensor([3, 0, 7, 0, 5, 1, 8, 6, 2]), torch.tensor([0, 3, 5])
    per_word = torch.rand(9, requires_grad=True)
    summed = nn.EmbeddingBag(9, 4, mode="sum", padding_idx=0)
    out = summed(flat, starts, per_sample_weights=per_word)
    (out * out.detach().sign()).sum().backward()
    put("textcls.bag_sum", out)
    put("textcls.bag_w_grad", per_word.grad)
    put("textcls.bag_grad", summed.weight.grad)
    largest = nn.EmbeddingBag(9, 4, mode="max")
    put("textcls.bag_max", largest(flat.view(3, 3)))
    # (include_last_offset: the offsets end with len(input), one more than the bags)
    put("textcls.bag_last", F.embedding_bag(flat, largest.weight, torch.tensor([0, 2, 6, 9]),
                                            include_last_offset=True, mode="mean"))


def section_char_rnn() -> None:
    letters = "aeiklmnoprstuv"
    n_in = len(letters) + 1  # the last one ends a word
    stop = n_in - 1
    languages = ["north", "south", "isle"]
    lexicon = {"north": ["kalvik", "tormak", "skeln", "vikkar"],
               "south": ["palomo", "surano", "mirela"],
               "isle": ["oaua", "leilo", "moana", "uelia"]}

    def one_hot_word(word):
        """(letters, 1, n_in): one row per letter."""
        rows = torch.zeros(len(word), 1, n_in)
        for at, ch in enumerate(word):
            rows[at][0][letters.index(ch)] = 1
        return rows

    class LetterCell(nn.Module):
        """state' = tanh(A letter + B state); language log-probabilities from the state."""

        def __init__(self, n_hidden, n_out):
            super().__init__()
            self.n_hidden = n_hidden
            self.from_letter = nn.Linear(n_in, n_hidden)
            self.from_state = nn.Linear(n_hidden, n_hidden)
            self.to_out = nn.Linear(n_hidden, n_out)
            self.logp = nn.LogSoftmax(dim=1)

        def forward(self, letter, state):
            state = F.tanh(self.from_letter(letter) + self.from_state(state))
            return self.logp(self.to_out(state)), state

        def blank(self):
            return torch.zeros(1, self.n_hidden)

    def read(cell, word_rows):
        state = cell.blank()
        for row in word_rows:
            out, state = cell(row, state)
        return out

    guesser = LetterCell(12, len(languages))
    nll = nn.NLLLoss()
    draw = random.Random(4)
    history = []
    for _ in range(30):
        lang = draw.choice(languages)
        guesser.zero_grad()
        loss = nll(read(guesser, one_hot_word(draw.choice(lexicon[lang]))),
                   torch.tensor([languages.index(lang)], dtype=torch.long))
        loss.backward()
        for p in guesser.parameters():
            p.data.add_(p.grad.data, alpha=-0.08)
        history.append(loss.item())
    put("charrnn.cls_losses", history)
    with torch.no_grad():
        out = read(guesser, one_hot_word("malevi"))
        _, best_two = out.topk(2, 1, True)
    put("charrnn.predict", out)
    put("charrnn.topi", best_two)

    class Speller(nn.Module):
        """Next-letter log-probabilities given the language, this letter and the state."""

        def __init__(self, n_hidden):
            super().__init__()
            self.n_hidden = n_hidden
            joined = len(languages) + n_in + n_hidden
            self.next_state = nn.Linear(joined, n_hidden)
            self.first_guess = nn.Linear(joined, n_in)
            self.mix = nn.Linear(n_hidden + n_in, n_in)
            self.noise = nn.Dropout(0.1)
            self.logp = nn.LogSoftmax(dim=1)

        def forward(self, lang, letter, state):
            joined = torch.cat((lang, letter, state), 1)
            state, guess = self.next_state(joined), self.first_guess(joined)
            return self.logp(self.noise(self.mix(torch.cat((state, guess), 1)))), state

        def blank(self):
            return torch.zeros(1, self.n_hidden)

    def lang_row(lang):
        row = torch.zeros(1, len(languages))
        row[0][languages.index(lang)] = 1
        return row

    speller = Speller(12)
    spell_history = []
    for _ in range(12):
        lang = draw.choice(languages)
        word = draw.choice(lexicon[lang])
        rows = one_hot_word(word)
        # each letter's target is the letter after it; the last one's is the stop mark
        wanted = torch.LongTensor([letters.index(ch) for ch in word[1:]] + [stop]).unsqueeze_(-1)
        state = speller.blank()
        speller.zero_grad()
        loss = torch.Tensor([0])
        for at in range(rows.size(0)):
            out, state = speller(lang_row(lang), rows[at], state)
            loss += nll(out, wanted[at])
        loss.backward()
        for p in speller.parameters():
            p.data.add_(p.grad.data, alpha=-0.01)
        spell_history.append(loss.item() / rows.size(0))
    put("charrnn.gen_losses", spell_history)

    def spell(lang, first, longest=7):
        with torch.no_grad():
            word, row, state = first, one_hot_word(first)[0], speller.blank()
            for _ in range(longest):
                out, state = speller(lang_row(lang), row, state)
                pick = out.topk(1)[1][0][0]
                if pick == stop:
                    break
                word += letters[pick]
                row = one_hot_word(letters[pick])[0]
            return word

    speller.eval()
    put("charrnn.samples", [spell(lang, first) for lang in languages for first in "mo"])
    with torch.no_grad():  # five letters drawn from the distribution after "s"
        probs = speller(torch.eye(3)[2:], one_hot_word("s")[0], speller.blank())[0].exp()
        put("charrnn.multinomial", torch.multinomial(probs, 5, replacement=True))


def section_seq2seq_attention() -> None:
    start, stop, steps = 0, 1, 6
    n_src, n_tgt, width, batch = 12, 10, 16, 4

    class Reader(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(n_src, width)
            self.gru = nn.GRU(width, width, batch_first=True)
            self.noise = nn.Dropout(0.1)

        def forward(self, ids):
            return self.gru(self.noise(self.embed(ids)))

    class AdditiveScore(nn.Module):
        """score(q, k) = v . tanh(Q q + K k); returns the weighted keys and the weights."""

        def __init__(self):
            super().__init__()
            self.q = nn.Linear(width, width)
            self.k = nn.Linear(width, width)
            self.v = nn.Linear(width, 1)

        def forward(self, query, keys):
            scores = self.v(torch.tanh(self.q(query) + self.k(keys))).squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            return torch.bmm(weights, keys), weights

    class Writer(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(n_tgt, width)
            self.score = AdditiveScore()
            self.gru = nn.GRU(2 * width, width, batch_first=True)
            self.readout = nn.Linear(width, n_tgt)
            self.noise = nn.Dropout(0.1)

        def step(self, ids, state, memory):
            looked, weights = self.score(state.permute(1, 0, 2), memory)
            out, state = self.gru(torch.cat((self.noise(self.embed(ids)), looked), dim=2), state)
            return self.readout(out), state, weights

        def forward(self, memory, state, gold=None):
            """Log-probabilities of ``steps`` tokens; fed ``gold`` (teacher forcing) or its
            own best guesses."""
            ids = torch.empty(memory.size(0), 1, dtype=torch.long).fill_(start)
            outs, looks = [], []
            for at in range(steps):
                out, state, weights = self.step(ids, state, memory)
                outs.append(out)
                looks.append(weights)
                ids = gold[:, at].unsqueeze(1) if gold is not None \
                    else out.topk(1)[1].squeeze(-1).detach()
            return F.log_softmax(torch.cat(outs, dim=1), dim=-1), state, torch.cat(looks, dim=1)

    # each source token t becomes (2 t) mod 8 + 2, in order; a stop mark, then zero padding
    src_ids = torch.zeros(8, steps, dtype=torch.long)
    tgt_ids = torch.zeros(8, steps, dtype=torch.long)
    for row in range(8):
        source = [2 + (5 * row + k) % 9 for k in range(2 + row % 4)]
        src_ids[row, :len(source) + 1] = torch.tensor(source + [stop])
        tgt_ids[row, :len(source) + 1] = torch.tensor([(2 * t) % 8 + 2 for t in source] + [stop])
    from torch.utils.data import DataLoader, RandomSampler, TensorDataset

    pairs = TensorDataset(src_ids, tgt_ids)
    loader = DataLoader(pairs, sampler=RandomSampler(pairs), batch_size=batch)
    reader, writer = Reader(), Writer()
    read_opt = torch.optim.Adam(reader.parameters(), lr=0.01)
    write_opt = torch.optim.Adam(writer.parameters(), lr=0.01)
    nll = nn.NLLLoss()
    history = []
    for _round in range(4):
        total = 0.0
        for src, tgt in loader:
            read_opt.zero_grad()
            write_opt.zero_grad()
            memory, state = reader(src)
            logp, _, _ = writer(memory, state, tgt)
            loss = nll(logp.view(-1, logp.size(-1)), tgt.view(-1))
            loss.backward()
            read_opt.step()
            write_opt.step()
            total += loss.item()
        history.append(total / len(loader))
    put("s2s.losses", history)
    reader.eval()
    writer.eval()
    with torch.no_grad():
        memory, state = reader(src_ids[:3])
        logp, _, looks = writer(memory, state)
    put("s2s.decoded", logp.topk(1)[1].squeeze(-1))
    put("s2s.attn", looks)
    # (v's bias shifts every score equally and softmax cancels it: its gradient is rounding
    # noise, which Adam's normalised step turns into lr-sized moves of either sign)
    put_state("s2s.decoder", writer, exclude=("score.v.bias",))


def section_transformer_lm() -> None:
    def sinusoid_table(length, dim):
        """(length, 1, dim): sin on even features, cos on odd, wavelengths growing by 1e4."""
        where = torch.arange(length).unsqueeze(1)
        rates = torch.exp(torch.arange(0, dim, 2) * (-math.log(1e4) / dim))
        table = torch.zeros(length, 1, dim)
        table[:, 0, 0::2] = torch.sin(where * rates)
        table[:, 0, 1::2] = torch.cos(where * rates)
        return table

    class CausalLM(nn.Module):
        def __init__(self, n_tokens, dim, heads, hidden, depth, dropout=0.2):
            super().__init__()
            self.dim = dim
            self.embed = nn.Embedding(n_tokens, dim)
            self.register_buffer("positions", sinusoid_table(40, dim))
            self.noise = nn.Dropout(dropout)
            block = nn.TransformerEncoderLayer(dim, heads, hidden, dropout)
            self.blocks = nn.TransformerEncoder(block, depth, enable_nested_tensor=False)
            self.readout = nn.Linear(dim, n_tokens)
            self.embed.weight.data.uniform_(-0.1, 0.1)
            self.readout.bias.data.zero_()
            self.readout.weight.data.uniform_(-0.1, 0.1)

        def forward(self, ids, mask=None, padding=None):
            x = self.noise(self.embed(ids) * math.sqrt(self.dim) + self.positions[:ids.size(0)])
            return self.readout(self.blocks(x, mask, src_key_padding_mask=padding))

    n_tokens, span = 18, 5
    stream = torch.randint(0, n_tokens, (84,))
    table = stream[:84 // 4 * 4].view(4, -1).t().contiguous()  # (21, 4): four columns

    def chunk(row):
        length = min(span, len(table) - 1 - row)
        return table[row:row + length], table[row + 1:row + 1 + length].reshape(-1)

    model = CausalLM(n_tokens, 16, 2, 32, 2, dropout=0.1)
    ce = nn.CrossEntropyLoss()
    sgd = torch.optim.SGD(model.parameters(), lr=0.8)
    decay = torch.optim.lr_scheduler.StepLR(sgd, 1.0, gamma=0.9)
    history = []
    for _round in range(2):
        model.train()
        for row in range(0, table.size(0) - 1, span):
            ids, nxt = chunk(row)
            out = model(ids, nn.Transformer.generate_square_subsequent_mask(ids.size(0)))
            loss = ce(out.view(-1, n_tokens), nxt)
            sgd.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            sgd.step()
            history.append(loss.item())
        decay.step()
    put("tlm.losses", history)
    put("tlm.mask", nn.Transformer.generate_square_subsequent_mask(3))
    model.eval()
    with torch.no_grad():
        ids = table[:span]
        pad = torch.zeros(ids.size(1), ids.size(0), dtype=torch.bool)
        pad[0, 3:] = True
        pad[2, 4:] = True
        causal = nn.Transformer.generate_square_subsequent_mask(ids.size(0))
        put("tlm.eval_padded", model(ids, causal, padding=pad))
        put("tlm.eval_plain", model(ids, causal))
        put("tlm.eval_bool_mask", model(ids, causal.isinf()))
    put_state("tlm.model", model)
    # one backward through a batch-first encoder-decoder with all three padding masks
    torch.manual_seed(9)
    whole = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=12, dropout=0.0, batch_first=True)
    src, tgt = torch.randn(3, 4, 8), torch.randn(3, 5, 8)
    src_pad = torch.tensor([[False] * 4, [False] * 2 + [True] * 2, [False] * 3 + [True]])
    tgt_pad = torch.tensor([[False] * 5, [False] * 4 + [True], [False] * 5])
    out = whole(src, tgt, tgt_mask=whole.generate_square_subsequent_mask(5),
                src_key_padding_mask=src_pad, tgt_key_padding_mask=tgt_pad,
                memory_key_padding_mask=src_pad, tgt_is_causal=True)
    out[~tgt_pad].abs().mean().backward()
    put("tlm.s2s_out", out[~tgt_pad])
    put("tlm.s2s_grad", whole.encoder.layers[0].self_attn.in_proj_weight.grad)


SECTIONS = {"textcls": section_text_classification, "charrnn": section_char_rnn,
            "s2s": section_seq2seq_attention, "tlm": section_transformer_lm}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
