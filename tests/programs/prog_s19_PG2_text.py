"""Text tutorials' programs, written afresh in their style (PG2, session 19): text
classification with EmbeddingBag and offsets, the char-RNN name classifier and generator,
seq2seq GRU translation with Bahdanau attention and teacher forcing, and the nn.Transformer
language model (positional encoding, square subsequent mask, key padding mask).
"""

import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state


def section_text_classification() -> None:
    vocab_size, num_class, emsize = 30, 4, 8

    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size, embed_dim, num_class):
            super().__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
            self.fc = nn.Linear(embed_dim, num_class)
            self.init_weights()

        def init_weights(self):
            initrange = 0.5
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.fc.weight.data.uniform_(-initrange, initrange)
            self.fc.bias.data.zero_()

        def forward(self, text, offsets):
            embedded = self.embedding(text, offsets)
            return self.fc(embedded)

    rng = random.Random(0)
    dataset = []
    for _ in range(40):
        label = rng.randrange(num_class)
        length = rng.randint(2, 7)
        tokens = [rng.randrange(label * 7, label * 7 + 7) if rng.random() < 0.7
                  else rng.randrange(vocab_size) for _ in range(length)]
        dataset.append((label, tokens))

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for _label, _text in batch:
            label_list.append(_label)
            processed_text = torch.tensor(_text, dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        text_list = torch.cat(text_list)
        return label_list, text_list, offsets

    from torch.utils.data import DataLoader
    from torch.utils.data.dataset import random_split

    train_ds, valid_ds = random_split(dataset, [32, 8])
    train_dataloader = DataLoader(train_ds, batch_size=8, shuffle=True,
                                  collate_fn=collate_batch)
    valid_dataloader = DataLoader(valid_ds, batch_size=8, shuffle=False,
                                  collate_fn=collate_batch)
    model = TextClassificationModel(vocab_size, emsize, num_class)
    criterion = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
    total_accu = None
    accs, lrs, losses = [], [], []
    for _epoch in range(3):
        model.train()
        for label, text, offsets in train_dataloader:
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        total_acc, total_count = 0, 0
        with torch.no_grad():
            for label, text, offsets in valid_dataloader:
                predicted_label = model(text, offsets)
                total_acc += (predicted_label.argmax(1) == label).sum().item()
                total_count += label.size(0)
        accu_val = total_acc / total_count
        if total_accu is not None and total_accu > accu_val:
            scheduler.step()
        else:
            total_accu = accu_val
        accs.append(accu_val)
        lrs.append(optimizer.param_groups[0]["lr"])
    put("textcls.losses", losses)
    put("textcls.accs", accs)
    put("textcls.lrs", lrs)
    put_state("textcls.model", model)
    # EmbeddingBag's other modes: sum with per-sample weights, max, padding_idx
    text, offsets = torch.tensor([1, 2, 4, 5, 4, 3, 2, 9]), torch.tensor([0, 4])
    weights = torch.rand(8, requires_grad=True)
    bag = nn.EmbeddingBag(10, 3, mode="sum", padding_idx=2)
    out = bag(text, offsets, per_sample_weights=weights)
    out.pow(2).sum().backward()
    put("textcls.bag_sum", out)
    put("textcls.bag_w_grad", weights.grad)
    put("textcls.bag_grad", bag.weight.grad)
    bag_max = nn.EmbeddingBag(10, 3, mode="max")
    put("textcls.bag_max", bag_max(text.view(2, 4)))
    # (include_last_offset with the documented offsets: the last one is len(input); PyTorch
    # gives inconsistent bags (sum to it, mean's count and max to the end) when it is not)
    put("textcls.bag_last", F.embedding_bag(text, bag_max.weight, torch.tensor([0, 4, 8]),
                                            include_last_offset=True, mode="mean"))


def section_char_rnn() -> None:
    all_letters = "abcdefghijklmnopqrstuvwxyz'"
    n_letters = len(all_letters) + 1  # plus EOS
    categories = ["en", "fr", "de"]
    names = {"en": ["smith", "jones", "brown", "white"], "fr": ["dubois", "lefevre", "moreau"],
             "de": ["muller", "schmidt", "schneider", "fischer"]}

    def letterToIndex(letter):
        return all_letters.find(letter)

    def lineToTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters)
        for li, letter in enumerate(line):
            tensor[li][0][letterToIndex(letter)] = 1
        return tensor

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(input_size, hidden_size)
            self.h2h = nn.Linear(hidden_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, input, hidden):
            hidden = F.tanh(self.i2h(input) + self.h2h(hidden))
            output = self.softmax(self.h2o(hidden))
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size)

    rnn = RNN(n_letters, 16, len(categories))
    criterion = nn.NLLLoss()
    learning_rate = 0.05
    rng = random.Random(1)

    def train(category_tensor, line_tensor):
        hidden = rnn.initHidden()
        rnn.zero_grad()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        loss = criterion(output, category_tensor)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-learning_rate)
        return output, loss.item()

    losses = []
    for _ in range(30):
        category = rng.choice(categories)
        line = rng.choice(names[category])
        category_tensor = torch.tensor([categories.index(category)], dtype=torch.long)
        output, loss = train(category_tensor, lineToTensor(line))
        losses.append(loss)
    put("charrnn.cls_losses", losses)

    def evaluate(line_tensor):
        hidden = rnn.initHidden()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        return output

    with torch.no_grad():
        output = evaluate(lineToTensor("schmitt"))
        topv, topi = output.topk(2, 1, True)
    put("charrnn.predict", output)
    put("charrnn.topi", topi)

    # generation network: category + input + hidden, dropout, sampling
    class GenRNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.hidden_size = hidden_size
            n_categories = len(categories)
            self.i2h = nn.Linear(n_categories + input_size + hidden_size, hidden_size)
            self.i2o = nn.Linear(n_categories + input_size + hidden_size, output_size)
            self.o2o = nn.Linear(hidden_size + output_size, output_size)
            self.dropout = nn.Dropout(0.1)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, category, input, hidden):
            input_combined = torch.cat((category, input, hidden), 1)
            hidden = self.i2h(input_combined)
            output = self.i2o(input_combined)
            output_combined = torch.cat((hidden, output), 1)
            output = self.o2o(output_combined)
            output = self.dropout(output)
            output = self.softmax(output)
            return output, hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size)

    gen = GenRNN(n_letters, 16, n_letters)
    gen_losses = []
    for _ in range(12):
        category = rng.choice(categories)
        line = rng.choice(names[category])
        category_tensor = torch.zeros(1, len(categories))
        category_tensor[0][categories.index(category)] = 1
        input_line_tensor = lineToTensor(line)
        letter_indexes = [all_letters.find(line[li]) for li in range(1, len(line))]
        letter_indexes.append(n_letters - 1)
        target_line_tensor = torch.LongTensor(letter_indexes).unsqueeze_(-1)
        hidden = gen.initHidden()
        gen.zero_grad()
        loss = torch.Tensor([0])
        for i in range(input_line_tensor.size(0)):
            output, hidden = gen(category_tensor, input_line_tensor[i], hidden)
            loss += criterion(output, target_line_tensor[i])
        loss.backward()
        for p in gen.parameters():
            p.data.add_(p.grad.data, alpha=-0.005)
        gen_losses.append(loss.item() / input_line_tensor.size(0))
    put("charrnn.gen_losses", gen_losses)

    def sample(category, start_letter="a", max_length=8):
        with torch.no_grad():
            category_tensor = torch.zeros(1, len(categories))
            category_tensor[0][categories.index(category)] = 1
            input = lineToTensor(start_letter)
            hidden = gen.initHidden()
            output_name = start_letter
            for _ in range(max_length):
                output, hidden = gen(category_tensor, input[0], hidden)
                topv, topi = output.topk(1)
                topi = topi[0][0]
                if topi == n_letters - 1:
                    break
                letter = all_letters[topi]
                output_name += letter
                input = lineToTensor(letter)
            return output_name

    gen.eval()
    put("charrnn.samples", [sample(c, s) for c in categories for s in "sm"])
    with torch.no_grad():  # multinomial sampling from the distribution
        probs = gen(torch.eye(3)[:1], lineToTensor("m")[0], gen.initHidden())[0].exp()
        put("charrnn.multinomial", torch.multinomial(probs, 5, replacement=True))


def section_seq2seq_attention() -> None:
    SOS_token, EOS_token, MAX_LENGTH = 0, 1, 6
    in_vocab, out_vocab, hidden_size, batch_size = 12, 10, 16, 4

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size, dropout_p=0.1):
            super().__init__()
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input):
            embedded = self.dropout(self.embedding(input))
            output, hidden = self.gru(embedded)
            return output, hidden

    class BahdanauAttention(nn.Module):
        def __init__(self, hidden_size):
            super().__init__()
            self.Wa = nn.Linear(hidden_size, hidden_size)
            self.Ua = nn.Linear(hidden_size, hidden_size)
            self.Va = nn.Linear(hidden_size, 1)

        def forward(self, query, keys):
            scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
            scores = scores.squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            context = torch.bmm(weights, keys)
            return context, weights

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size, dropout_p=0.1):
            super().__init__()
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.attention = BahdanauAttention(hidden_size)
            self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, output_size)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
            batch_size = encoder_outputs.size(0)
            decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS_token)
            decoder_hidden = encoder_hidden
            decoder_outputs, attentions = [], []
            for i in range(MAX_LENGTH):
                decoder_output, decoder_hidden, attn_weights = self.forward_step(
                    decoder_input, decoder_hidden, encoder_outputs)
                decoder_outputs.append(decoder_output)
                attentions.append(attn_weights)
                if target_tensor is not None:
                    decoder_input = target_tensor[:, i].unsqueeze(1)  # teacher forcing
                else:
                    _, topi = decoder_output.topk(1)
                    decoder_input = topi.squeeze(-1).detach()
            decoder_outputs = torch.cat(decoder_outputs, dim=1)
            decoder_outputs = F.log_softmax(decoder_outputs, dim=-1)
            attentions = torch.cat(attentions, dim=1)
            return decoder_outputs, decoder_hidden, attentions

        def forward_step(self, input, hidden, encoder_outputs):
            embedded = self.dropout(self.embedding(input))
            query = hidden.permute(1, 0, 2)
            context, attn_weights = self.attention(query, encoder_outputs)
            input_gru = torch.cat((embedded, context), dim=2)
            output, hidden = self.gru(input_gru, hidden)
            output = self.out(output)
            return output, hidden, attn_weights

    # reversal task with EOS and zero padding, like the tutorial's padded pairs
    pairs = []
    for n in range(8):
        length = 2 + n % 4
        src = [2 + (n * 3 + k) % 8 for k in range(length)]
        tgt = [min(s, out_vocab - 1) for s in reversed(src)]
        pairs.append((src + [EOS_token], tgt + [EOS_token]))
    input_ids = torch.zeros(len(pairs), MAX_LENGTH, dtype=torch.long)
    target_ids = torch.zeros(len(pairs), MAX_LENGTH, dtype=torch.long)
    for idx, (inp, tgt) in enumerate(pairs):
        input_ids[idx, :len(inp)] = torch.tensor(inp)
        target_ids[idx, :len(tgt)] = torch.tensor(tgt)
    from torch.utils.data import DataLoader, RandomSampler, TensorDataset

    train_data = TensorDataset(input_ids, target_ids)
    train_dataloader = DataLoader(train_data, sampler=RandomSampler(train_data),
                                  batch_size=batch_size)
    encoder = EncoderRNN(in_vocab, hidden_size)
    decoder = AttnDecoderRNN(hidden_size, out_vocab)
    encoder_optimizer = torch.optim.Adam(encoder.parameters(), lr=0.01)
    decoder_optimizer = torch.optim.Adam(decoder.parameters(), lr=0.01)
    criterion = nn.NLLLoss()
    losses = []
    for _epoch in range(4):
        total_loss = 0
        for input_tensor, target_tensor in train_dataloader:
            encoder_optimizer.zero_grad()
            decoder_optimizer.zero_grad()
            encoder_outputs, encoder_hidden = encoder(input_tensor)
            decoder_outputs, _, _ = decoder(encoder_outputs, encoder_hidden, target_tensor)
            loss = criterion(decoder_outputs.view(-1, decoder_outputs.size(-1)),
                             target_tensor.view(-1))
            loss.backward()
            encoder_optimizer.step()
            decoder_optimizer.step()
            total_loss += loss.item()
        losses.append(total_loss / len(train_dataloader))
    put("s2s.losses", losses)
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        encoder_outputs, encoder_hidden = encoder(input_ids[:3])
        decoder_outputs, _, attentions = decoder(encoder_outputs, encoder_hidden)
        _, topi = decoder_outputs.topk(1)
    put("s2s.decoded", topi.squeeze(-1))
    put("s2s.attn", attentions)
    # (Va's bias shifts every score equally and softmax cancels it: its gradient is rounding
    # noise, which Adam's normalised step turns into lr-sized moves of either sign)
    put_state("s2s.decoder", decoder, exclude=("attention.Va.bias",))


def section_transformer_lm() -> None:
    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=50):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe)

        def forward(self, x):
            x = x + self.pe[:x.size(0)]
            return self.dropout(x)

    class TransformerModel(nn.Module):
        def __init__(self, ntoken, d_model, nhead, d_hid, nlayers, dropout=0.2):
            super().__init__()
            self.model_type = "Transformer"
            self.pos_encoder = PositionalEncoding(d_model, dropout)
            encoder_layers = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
            self.transformer_encoder = nn.TransformerEncoder(encoder_layers, nlayers,
                                                             enable_nested_tensor=False)
            self.embedding = nn.Embedding(ntoken, d_model)
            self.d_model = d_model
            self.linear = nn.Linear(d_model, ntoken)
            self.init_weights()

        def init_weights(self):
            initrange = 0.1
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.linear.bias.data.zero_()
            self.linear.weight.data.uniform_(-initrange, initrange)

        def forward(self, src, src_mask=None, src_key_padding_mask=None):
            src = self.embedding(src) * math.sqrt(self.d_model)
            src = self.pos_encoder(src)
            output = self.transformer_encoder(src, src_mask,
                                              src_key_padding_mask=src_key_padding_mask)
            return self.linear(output)

    ntokens, bptt = 20, 6
    data = torch.randint(0, ntokens, (90,))

    def batchify(data, bsz):
        seq_len = data.size(0) // bsz
        data = data[:seq_len * bsz]
        return data.view(bsz, seq_len).t().contiguous()

    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].reshape(-1)
        return data, target

    train_data = batchify(data, 4)
    model = TransformerModel(ntokens, 16, 2, 32, 2, dropout=0.1)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.95)
    losses = []
    for _epoch in range(2):
        model.train()
        for _batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
            data_b, targets = get_batch(train_data, i)
            src_mask = nn.Transformer.generate_square_subsequent_mask(data_b.size(0))
            output = model(data_b, src_mask)
            loss = criterion(output.view(-1, ntokens), targets)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    put("tlm.losses", losses)
    put("tlm.mask", nn.Transformer.generate_square_subsequent_mask(4))
    model.eval()
    with torch.no_grad():
        src = train_data[:bptt]
        padding = torch.zeros(src.size(1), src.size(0), dtype=torch.bool)
        padding[1, 4:] = True
        padding[3, 5:] = True
        mask = nn.Transformer.generate_square_subsequent_mask(src.size(0))
        out = model(src, mask, src_key_padding_mask=padding)
        put("tlm.eval_padded", out)
        put("tlm.eval_plain", model(src, mask))
        put("tlm.eval_bool_mask", model(src, mask.isinf()))
    put_state("tlm.model", model)
    # nn.Transformer encoder-decoder (batch_first) with all three masks, one training step
    torch.manual_seed(7)
    transformer = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1,
                                 num_decoder_layers=1, dim_feedforward=16, dropout=0.0,
                                 batch_first=True)
    src = torch.randn(2, 5, 8)
    tgt = torch.randn(2, 4, 8)
    tgt_mask = transformer.generate_square_subsequent_mask(4)
    src_pad = torch.tensor([[False] * 5, [False] * 3 + [True] * 2])
    tgt_pad = torch.tensor([[False] * 4, [False] * 3 + [True]])
    out = transformer(src, tgt, tgt_mask=tgt_mask, src_key_padding_mask=src_pad,
                      tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad,
                      tgt_is_causal=True)
    out[~tgt_pad].pow(2).mean().backward()
    put("tlm.s2s_out", out[~tgt_pad])
    put("tlm.s2s_grad", transformer.encoder.layers[0].self_attn.in_proj_weight.grad)


SECTIONS = {"textcls": section_text_classification, "charrnn": section_char_rnn,
            "s2s": section_seq2seq_attention, "tlm": section_transformer_lm}

if __name__ == "__main__":
    from prog_s17_PG_harness import run

    run(SECTIONS)
