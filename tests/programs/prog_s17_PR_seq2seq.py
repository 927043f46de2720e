"""bentrevett-style pytorch-seq2seq and pytorch-sentiment-analysis programs, written afresh (PR,
session 17): a packed-padded bidirectional GRU encoder with masked attention and teacher
forcing, a convolutional seq2seq with GLU and scaled residuals, a Transformer encoder-decoder
built by hand with pad and causal masks, and sentiment classifiers (EmbeddingBag with offsets,
a packed bidirectional LSTM, a CNN over embeddings). Tiny sizes, synthetic data, seeded.
"""

import random

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state

PAD = 0


def _batch(lengths, vocab, sos=1, eos=2):
    """[len, batch] tokens: <sos> words <eos> then padding; lengths include sos and eos."""
    out = torch.full((max(lengths), len(lengths)), PAD, dtype=torch.long)
    for j, n in enumerate(lengths):
        out[0, j] = sos
        out[1:n - 1, j] = torch.randint(3, vocab, (n - 2,))
        out[n - 1, j] = eos
    return out


def section_bt_attn() -> None:
    class Encoder(nn.Module):
        def __init__(self, input_dim, emb_dim, enc_hid_dim, dec_hid_dim, dropout):
            super().__init__()
            self.embedding = nn.Embedding(input_dim, emb_dim)
            self.rnn = nn.GRU(emb_dim, enc_hid_dim, bidirectional=True)
            self.fc = nn.Linear(enc_hid_dim * 2, dec_hid_dim)
            self.dropout = nn.Dropout(dropout)

        def forward(self, src, src_len):
            embedded = self.dropout(self.embedding(src))
            packed = nn.utils.rnn.pack_padded_sequence(embedded, src_len.to('cpu'))
            packed_outputs, hidden = self.rnn(packed)
            outputs, _ = nn.utils.rnn.pad_packed_sequence(packed_outputs)
            hidden = torch.tanh(self.fc(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1)))
            return outputs, hidden

    class Attention(nn.Module):
        def __init__(self, enc_hid_dim, dec_hid_dim):
            super().__init__()
            self.attn = nn.Linear((enc_hid_dim * 2) + dec_hid_dim, dec_hid_dim)
            self.v = nn.Linear(dec_hid_dim, 1, bias=False)

        def forward(self, hidden, encoder_outputs, mask):
            src_len = encoder_outputs.shape[0]
            hidden = hidden.unsqueeze(1).repeat(1, src_len, 1)
            encoder_outputs = encoder_outputs.permute(1, 0, 2)
            energy = torch.tanh(self.attn(torch.cat((hidden, encoder_outputs), dim=2)))
            attention = self.v(energy).squeeze(2)
            attention = attention.masked_fill(mask == 0, -1e10)
            return F.softmax(attention, dim=1)

    class Decoder(nn.Module):
        def __init__(self, output_dim, emb_dim, enc_hid_dim, dec_hid_dim, dropout, attention):
            super().__init__()
            self.output_dim, self.attention = output_dim, attention
            self.embedding = nn.Embedding(output_dim, emb_dim)
            self.rnn = nn.GRU((enc_hid_dim * 2) + emb_dim, dec_hid_dim)
            self.fc_out = nn.Linear((enc_hid_dim * 2) + dec_hid_dim + emb_dim, output_dim)
            self.dropout = nn.Dropout(dropout)

        def forward(self, input, hidden, encoder_outputs, mask):
            input = input.unsqueeze(0)
            embedded = self.dropout(self.embedding(input))
            a = self.attention(hidden, encoder_outputs, mask).unsqueeze(1)
            encoder_outputs = encoder_outputs.permute(1, 0, 2)
            weighted = torch.bmm(a, encoder_outputs).permute(1, 0, 2)
            output, hidden = self.rnn(torch.cat((embedded, weighted), dim=2), hidden.unsqueeze(0))
            assert (output == hidden).all()
            embedded, output, weighted = embedded.squeeze(0), output.squeeze(0), weighted.squeeze(0)
            prediction = self.fc_out(torch.cat((output, weighted, embedded), dim=1))
            return prediction, hidden.squeeze(0), a.squeeze(1)

    class Seq2Seq(nn.Module):
        def __init__(self, encoder, decoder, src_pad_idx):
            super().__init__()
            self.encoder, self.decoder, self.src_pad_idx = encoder, decoder, src_pad_idx

        def create_mask(self, src):
            return (src != self.src_pad_idx).permute(1, 0)

        def forward(self, src, src_len, trg, teacher_forcing_ratio=0.5):
            batch_size, trg_len = src.shape[1], trg.shape[0]
            outputs = torch.zeros(trg_len, batch_size, self.decoder.output_dim)
            encoder_outputs, hidden = self.encoder(src, src_len)
            input = trg[0, :]
            mask = self.create_mask(src)
            attentions = []
            for t in range(1, trg_len):
                output, hidden, attention = self.decoder(input, hidden, encoder_outputs, mask)
                outputs[t] = output
                attentions.append(attention)
                teacher_force = random.random() < teacher_forcing_ratio
                top1 = output.argmax(1)
                input = trg[t] if teacher_force else top1
            return outputs, torch.stack(attentions)

    def init_weights(m):
        for name, param in m.named_parameters():
            if 'weight' in name:
                nn.init.normal_(param.data, mean=0, std=0.01)
            else:
                nn.init.constant_(param.data, 0)

    random.seed(5)
    attn = Attention(6, 7)
    model = Seq2Seq(Encoder(11, 5, 6, 7, 0.5), Decoder(13, 5, 6, 7, 0.5, attn), PAD)
    model.apply(init_weights)
    src_len = torch.tensor([6, 5, 3])
    src, trg = _batch([6, 5, 3], 11), _batch([5, 6, 4], 13)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    losses = []
    model.train()
    for _ in range(3):
        optimizer.zero_grad()
        output, _ = model(src, src_len, trg)
        output_dim = output.shape[-1]
        loss = criterion(output[1:].view(-1, output_dim), trg[1:].view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        output, attentions = model(src, src_len, trg, 0)
    put("bt_attn.losses", losses)
    put("bt_attn.eval", output)
    put("bt_attn.attentions", attentions)
    put("bt_attn.padded_attention_zero", attentions[:, 2, 3:])
    put_state("bt_attn", model)


def section_bt_conv() -> None:
    class Encoder(nn.Module):
        def __init__(self, input_dim, emb_dim, hid_dim, n_layers, kernel_size, dropout,
                     max_length=20):
            super().__init__()
            self.scale = torch.sqrt(torch.FloatTensor([0.5]))
            self.tok_embedding = nn.Embedding(input_dim, emb_dim)
            self.pos_embedding = nn.Embedding(max_length, emb_dim)
            self.emb2hid = nn.Linear(emb_dim, hid_dim)
            self.hid2emb = nn.Linear(hid_dim, emb_dim)
            self.convs = nn.ModuleList([nn.Conv1d(hid_dim, 2 * hid_dim, kernel_size,
                                                  padding=(kernel_size - 1) // 2)
                                        for _ in range(n_layers)])
            self.dropout = nn.Dropout(dropout)

        def forward(self, src):
            batch_size, src_len = src.shape
            pos = torch.arange(0, src_len).unsqueeze(0).repeat(batch_size, 1)
            embedded = self.dropout(self.tok_embedding(src) + self.pos_embedding(pos))
            conv_input = self.emb2hid(embedded).permute(0, 2, 1)
            for conv in self.convs:
                conved = F.glu(conv(self.dropout(conv_input)), dim=1)
                conved = (conved + conv_input) * self.scale
                conv_input = conved
            conved = self.hid2emb(conved.permute(0, 2, 1))
            combined = (conved + embedded) * self.scale
            return conved, combined

    class Decoder(nn.Module):
        def __init__(self, output_dim, emb_dim, hid_dim, n_layers, kernel_size, dropout,
                     trg_pad_idx, max_length=20):
            super().__init__()
            self.kernel_size, self.trg_pad_idx = kernel_size, trg_pad_idx
            self.scale = torch.sqrt(torch.FloatTensor([0.5]))
            self.tok_embedding = nn.Embedding(output_dim, emb_dim)
            self.pos_embedding = nn.Embedding(max_length, emb_dim)
            self.emb2hid = nn.Linear(emb_dim, hid_dim)
            self.hid2emb = nn.Linear(hid_dim, emb_dim)
            self.attn_hid2emb = nn.Linear(hid_dim, emb_dim)
            self.attn_emb2hid = nn.Linear(emb_dim, hid_dim)
            self.fc_out = nn.Linear(emb_dim, output_dim)
            self.convs = nn.ModuleList([nn.Conv1d(hid_dim, 2 * hid_dim, kernel_size)
                                        for _ in range(n_layers)])
            self.dropout = nn.Dropout(dropout)

        def calculate_attention(self, embedded, conved, encoder_conved, encoder_combined):
            conved_emb = self.attn_hid2emb(conved.permute(0, 2, 1))
            combined = (conved_emb + embedded) * self.scale
            energy = torch.matmul(combined, encoder_conved.permute(0, 2, 1))
            attention = F.softmax(energy, dim=2)
            attended_encoding = torch.matmul(attention, encoder_combined)
            attended_encoding = self.attn_emb2hid(attended_encoding)
            attended_combined = (conved + attended_encoding.permute(0, 2, 1)) * self.scale
            return attention, attended_combined

        def forward(self, trg, encoder_conved, encoder_combined):
            batch_size, trg_len = trg.shape
            pos = torch.arange(0, trg_len).unsqueeze(0).repeat(batch_size, 1)
            embedded = self.dropout(self.tok_embedding(trg) + self.pos_embedding(pos))
            conv_input = self.emb2hid(embedded).permute(0, 2, 1)
            batch_size, hid_dim = conv_input.shape[0], conv_input.shape[1]
            for conv in self.convs:
                conv_input = self.dropout(conv_input)
                padding = torch.zeros(batch_size, hid_dim,
                                      self.kernel_size - 1).fill_(self.trg_pad_idx)
                padded_conv_input = torch.cat((padding, conv_input), dim=2)
                conved = F.glu(conv(padded_conv_input), dim=1)
                attention, conved = self.calculate_attention(embedded, conved, encoder_conved,
                                                             encoder_combined)
                conved = (conved + conv_input) * self.scale
                conv_input = conved
            conved = self.hid2emb(conved.permute(0, 2, 1))
            return self.fc_out(self.dropout(conved)), attention

    encoder = Encoder(11, 6, 8, 2, 3, 0.25)
    decoder = Decoder(13, 6, 8, 2, 3, 0.25, PAD)
    src, trg = _batch([6, 5, 3], 11).t(), _batch([5, 6, 4], 13).t()
    params = list(encoder.parameters()) + list(decoder.parameters())
    optimizer = torch.optim.Adam(params, lr=0.005)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        encoder_conved, encoder_combined = encoder(src)
        output, _ = decoder(trg[:, :-1], encoder_conved, encoder_combined)
        output = output.contiguous().view(-1, output.shape[-1])
        loss = criterion(output, trg[:, 1:].contiguous().view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 0.1)
        optimizer.step()
        losses.append(loss.item())
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        trg_indexes = [1]
        encoder_conved, encoder_combined = encoder(src[:1])
        for _ in range(6):
            trg_tensor = torch.LongTensor(trg_indexes).unsqueeze(0)
            output, attention = decoder(trg_tensor, encoder_conved, encoder_combined)
            trg_indexes.append(output.argmax(2)[:, -1].item())
    put("bt_conv.losses", losses)
    put("bt_conv.translation", trg_indexes)
    put("bt_conv.attention", attention)
    put_state("bt_conv.enc", encoder)
    put_state("bt_conv.dec", decoder)


def section_bt_transformer() -> None:
    class MultiHeadAttentionLayer(nn.Module):
        def __init__(self, hid_dim, n_heads, dropout):
            super().__init__()
            self.hid_dim, self.n_heads, self.head_dim = hid_dim, n_heads, hid_dim // n_heads
            self.fc_q, self.fc_k = nn.Linear(hid_dim, hid_dim), nn.Linear(hid_dim, hid_dim)
            self.fc_v, self.fc_o = nn.Linear(hid_dim, hid_dim), nn.Linear(hid_dim, hid_dim)
            self.dropout = nn.Dropout(dropout)
            self.scale = torch.sqrt(torch.FloatTensor([self.head_dim]))

        def forward(self, query, key, value, mask=None):
            batch_size = query.shape[0]
            def heads(x):
                return x.view(batch_size, -1, self.n_heads, self.head_dim).permute(0, 2, 1, 3)

            Q, K, V = heads(self.fc_q(query)), heads(self.fc_k(key)), heads(self.fc_v(value))
            energy = torch.matmul(Q, K.permute(0, 1, 3, 2)) / self.scale
            if mask is not None:
                energy = energy.masked_fill(mask == 0, -1e10)
            attention = torch.softmax(energy, dim=-1)
            x = torch.matmul(self.dropout(attention), V).permute(0, 2, 1, 3).contiguous()
            return self.fc_o(x.view(batch_size, -1, self.hid_dim)), attention

    class Layer(nn.Module):
        def __init__(self, hid_dim, n_heads, pf_dim, dropout, cross):
            super().__init__()
            self.self_attn = MultiHeadAttentionLayer(hid_dim, n_heads, dropout)
            self.self_attn_layer_norm = nn.LayerNorm(hid_dim)
            self.cross = MultiHeadAttentionLayer(hid_dim, n_heads, dropout) if cross else None
            self.cross_layer_norm = nn.LayerNorm(hid_dim) if cross else None
            self.ff = nn.Sequential(nn.Linear(hid_dim, pf_dim), nn.ReLU(), nn.Dropout(dropout),
                                    nn.Linear(pf_dim, hid_dim))
            self.ff_layer_norm = nn.LayerNorm(hid_dim)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x, mask, enc=None, enc_mask=None):
            _x, attention = self.self_attn(x, x, x, mask)
            x = self.self_attn_layer_norm(x + self.dropout(_x))
            if self.cross is not None:
                _x, attention = self.cross(x, enc, enc, enc_mask)
                x = self.cross_layer_norm(x + self.dropout(_x))
            return self.ff_layer_norm(x + self.dropout(self.ff(x))), attention

    class Seq2Seq(nn.Module):
        def __init__(self, src_vocab, trg_vocab, hid_dim=8, heads=2, layers=2, max_length=20):
            super().__init__()
            self.src_tok = nn.Embedding(src_vocab, hid_dim)
            self.trg_tok = nn.Embedding(trg_vocab, hid_dim)
            self.pos = nn.Embedding(max_length, hid_dim)
            self.encoder = nn.ModuleList([Layer(hid_dim, heads, 16, 0.1, False)
                                          for _ in range(layers)])
            self.decoder = nn.ModuleList([Layer(hid_dim, heads, 16, 0.1, True)
                                          for _ in range(layers)])
            self.fc_out = nn.Linear(hid_dim, trg_vocab)
            self.scale = torch.sqrt(torch.FloatTensor([hid_dim]))
            self.dropout = nn.Dropout(0.1)

        def make_src_mask(self, src):
            return (src != PAD).unsqueeze(1).unsqueeze(2)

        def make_trg_mask(self, trg):
            trg_pad_mask = (trg != PAD).unsqueeze(1).unsqueeze(2)
            trg_len = trg.shape[1]
            trg_sub_mask = torch.tril(torch.ones((trg_len, trg_len))).bool()
            return trg_pad_mask & trg_sub_mask

        def embed(self, tokens, table):
            pos = torch.arange(0, tokens.shape[1]).unsqueeze(0).repeat(tokens.shape[0], 1)
            return self.dropout((table(tokens) * self.scale) + self.pos(pos))

        def forward(self, src, trg):
            src_mask, trg_mask = self.make_src_mask(src), self.make_trg_mask(trg)
            enc = self.embed(src, self.src_tok)
            for layer in self.encoder:
                enc, _ = layer(enc, src_mask)
            x = self.embed(trg, self.trg_tok)
            for layer in self.decoder:
                x, attention = layer(x, trg_mask, enc, src_mask)
            return self.fc_out(x), attention

    def initialize_weights(m):
        if hasattr(m, 'weight') and m.weight.dim() > 1:
            nn.init.xavier_uniform_(m.weight.data)

    model = Seq2Seq(11, 13)
    model.apply(initialize_weights)
    src, trg = _batch([6, 5, 3], 11).t(), _batch([5, 6, 4], 13).t()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.0005)
    criterion = nn.CrossEntropyLoss(ignore_index=PAD)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        output, _ = model(src, trg[:, :-1])
        loss = criterion(output.contiguous().view(-1, output.shape[-1]),
                         trg[:, 1:].contiguous().view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1)
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        output, attention = model(src, trg[:, :-1])
    put("bt_tf.losses", losses)
    put("bt_tf.eval", output)
    put("bt_tf.attention", attention)
    put("bt_tf.count", sum(p.numel() for p in model.parameters() if p.requires_grad))
    # (a key projection's bias adds the same number to a query's every score: softmax cancels
    # it, its gradient is rounding noise around 0 that Adam scales to +-lr steps; left out)
    put_state("bt_tf", model, exclude=("fc_k.bias",))


def section_sa_ebag() -> None:
    class TextClassificationModel(nn.Module):
        def __init__(self, vocab_size, embed_dim, num_class):
            super().__init__()
            self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
            self.fc = nn.Linear(embed_dim, num_class)
            initrange = 0.5
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.fc.weight.data.uniform_(-initrange, initrange)
            self.fc.bias.data.zero_()

        def forward(self, text, offsets):
            return self.fc(self.embedding(text, offsets))

    samples = [(1, [3, 4, 5, 6]), (0, [7, 8]), (2, [3, 9, 9, 10, 11]), (1, [12])]

    def collate_batch(batch):
        label_list, text_list, offsets = [], [], [0]
        for (_label, _text) in batch:
            label_list.append(_label)
            processed_text = torch.tensor(_text, dtype=torch.int64)
            text_list.append(processed_text)
            offsets.append(processed_text.size(0))
        label_list = torch.tensor(label_list, dtype=torch.int64)
        offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
        return label_list, torch.cat(text_list), offsets

    model = TextClassificationModel(14, 6, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=5)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, gamma=0.1)
    loader = torch.utils.data.DataLoader(samples, batch_size=2, shuffle=False,
                                         collate_fn=collate_batch)
    losses, accs = [], []
    for _epoch in range(3):
        for label, text, offsets in loader:
            optimizer.zero_grad()
            predicted_label = model(text, offsets)
            loss = nn.CrossEntropyLoss()(predicted_label, label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            optimizer.step()
            losses.append(loss.item())
            accs.append((predicted_label.argmax(1) == label).sum().item())
        scheduler.step()
    put("sa_ebag.losses", losses)
    put("sa_ebag.accs", accs)
    put("sa_ebag.offsets", collate_batch(samples)[2])
    put_state("sa_ebag", model)


def section_sa_lstm() -> None:
    class RNN(nn.Module):
        def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers,
                     bidirectional, dropout, pad_idx):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
            self.rnn = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers,
                               bidirectional=bidirectional, dropout=dropout)
            self.fc = nn.Linear(hidden_dim * 2, output_dim)
            self.dropout = nn.Dropout(dropout)

        def forward(self, text, text_lengths):
            embedded = self.dropout(self.embedding(text))
            packed_embedded = nn.utils.rnn.pack_padded_sequence(embedded, text_lengths.to('cpu'),
                                                                enforce_sorted=False)
            packed_output, (hidden, cell) = self.rnn(packed_embedded)
            output, output_lengths = nn.utils.rnn.pad_packed_sequence(packed_output)
            hidden = self.dropout(torch.cat((hidden[-2, :, :], hidden[-1, :, :]), dim=1))
            return self.fc(hidden), output, output_lengths

    model = RNN(15, 6, 7, 1, 2, True, 0.5, PAD)
    model.embedding.weight.data[PAD] = torch.zeros(6)
    lengths = torch.tensor([3, 6, 4, 5])
    text = _batch(lengths.tolist(), 15)
    labels = torch.tensor([1., 0., 1., 0.])
    optimizer = torch.optim.Adam(model.parameters())
    criterion = nn.BCEWithLogitsLoss()

    def binary_accuracy(preds, y):
        rounded_preds = torch.round(torch.sigmoid(preds))
        correct = (rounded_preds == y).float()
        return correct.sum() / len(correct)

    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        predictions, _, _ = model(text, lengths)
        predictions = predictions.squeeze(1)
        loss = criterion(predictions, labels)
        acc = binary_accuracy(predictions, labels)
        loss.backward()
        optimizer.step()
        losses.append([loss.item(), acc.item()])
    model.eval()
    with torch.no_grad():
        predictions, output, output_lengths = model(text, lengths)
    put("sa_lstm.losses", losses)
    put("sa_lstm.eval", torch.sigmoid(predictions))
    put("sa_lstm.output", output)
    put("sa_lstm.output_lengths", output_lengths)
    put("sa_lstm.pad_grad_row", model.embedding.weight.grad[PAD])
    put_state("sa_lstm", model)


def section_sa_cnn() -> None:
    class CNN(nn.Module):
        def __init__(self, vocab_size, embedding_dim, n_filters, filter_sizes, output_dim,
                     dropout, pad_idx):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_idx)
            self.convs = nn.ModuleList([nn.Conv2d(in_channels=1, out_channels=n_filters,
                                                  kernel_size=(fs, embedding_dim))
                                        for fs in filter_sizes])
            self.fc = nn.Linear(len(filter_sizes) * n_filters, output_dim)
            self.dropout = nn.Dropout(dropout)

        def forward(self, text):
            embedded = self.embedding(text).unsqueeze(1)
            conved = [F.relu(conv(embedded)).squeeze(3) for conv in self.convs]
            pooled = [F.max_pool1d(conv, conv.shape[2]).squeeze(2) for conv in conved]
            cat = self.dropout(torch.cat(pooled, dim=1))
            return self.fc(cat)

    model = CNN(15, 6, 4, [2, 3, 4], 3, 0.5, PAD)
    text = _batch([6, 5, 7, 4], 15).t()
    labels = torch.tensor([2, 0, 1, 2])
    optimizer = torch.optim.Adam(model.parameters())
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        predictions = model(text)
        loss = nn.CrossEntropyLoss()(predictions, labels)
        loss.backward()
        optimizer.step()
        top_pred = predictions.argmax(1, keepdim=True)
        losses.append([loss.item(), top_pred.eq(labels.view_as(top_pred)).sum().float().item()])
    model.eval()
    with torch.no_grad():
        put("sa_cnn.eval", F.softmax(model(text), dim=-1))
    put("sa_cnn.losses", losses)
    put_state("sa_cnn", model)


SECTIONS = {"bt_attn": section_bt_attn, "bt_conv": section_bt_conv,
            "bt_tf": section_bt_transformer, "sa_ebag": section_sa_ebag,
            "sa_lstm": section_sa_lstm, "sa_cnn": section_sa_cnn}
