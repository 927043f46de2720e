"""Stanford CS224N-assignment-style code, written afresh (PR2, session 19): word2vec's naive
softmax and negative-sampling losses with their gradients derived by hand and checked against
autograd (skip-gram over a window); the transition-based dependency parser's feed-forward
network (an embedding matrix looked up by ``index_select`` and ``view``, a hand-written Xavier
init, cube-free ReLU hidden layer, dropout) with Adam over mini-batches; a neural machine
translation model (bidirectional LSTM encoder over packed sequences, h / c projections, an
LSTMCell decoder, multiplicative attention with masks filled with -inf, a combined output
projection, summed target log-likelihoods) with beam search; and the character-level CNN word
embedding with a highway layer. Tiny sizes; run by prog_s19_PR_all.py.
"""

import math
from collections import namedtuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

Hypothesis = namedtuple("Hypothesis", ["value", "score"])


def naive_softmax_loss_and_gradient(center, outside_idx, outside_vectors):
    scores = outside_vectors @ center
    y_hat = torch.softmax(scores, dim=0)
    loss = -torch.log(y_hat[outside_idx])
    delta = y_hat.clone()
    delta[outside_idx] -= 1
    grad_center = outside_vectors.t() @ delta
    grad_outside = torch.outer(delta, center)
    return loss, grad_center, grad_outside


def neg_sampling_loss_and_gradient(center, outside_idx, outside_vectors, neg_indices):
    indices = [outside_idx] + neg_indices
    u_o = outside_vectors[outside_idx]
    u_k = outside_vectors[neg_indices]
    s_o = torch.sigmoid(u_o @ center)
    s_k = torch.sigmoid(-(u_k @ center))
    loss = -torch.log(s_o) - torch.log(s_k).sum()
    grad_center = -(1 - s_o) * u_o + ((1 - s_k)[:, None] * u_k).sum(0)
    grad_outside = torch.zeros_like(outside_vectors)
    grad_outside[outside_idx] += -(1 - s_o) * center
    for k, index in enumerate(neg_indices):  # (a word may be drawn twice: accumulate)
        grad_outside[index] += (1 - s_k[k]) * center
    del indices
    return loss, grad_center, grad_outside


def skipgram(center_word, window, word2ind, center_vectors, outside_vectors, loss_fn, **kw):
    loss = 0.0
    grad_center = torch.zeros_like(center_vectors)
    grad_outside = torch.zeros_like(outside_vectors)
    c = word2ind[center_word]
    for word in window:
        cost, g_c, g_o = loss_fn(center_vectors[c], word2ind[word], outside_vectors, **kw)
        loss += cost
        grad_center[c] += g_c
        grad_outside += g_o
    return loss, grad_center, grad_outside


def section_w2v() -> None:
    tokens = ["a", "b", "c", "d", "e"]
    word2ind = {w: i for i, w in enumerate(tokens)}
    vectors = F.normalize(torch.randn(10, 3, dtype=torch.float64), dim=1)
    center, outside = vectors[:5], vectors[5:]
    loss, g_c, g_o = skipgram("c", ["a", "b", "e", "d", "b", "c"], word2ind, center, outside,
                              naive_softmax_loss_and_gradient)
    put("w2v.naive", [loss, g_c, g_o])
    center_ag = center.clone().requires_grad_()
    outside_ag = outside.clone().requires_grad_()
    total = sum(-torch.log_softmax(outside_ag @ center_ag[2], 0)[word2ind[w]]
                for w in ["a", "b", "e", "d", "b", "c"])
    total.backward()
    put("w2v.naive_autograd", [total, center_ag.grad, outside_ag.grad])
    put("w2v.naive_agree", [(center_ag.grad - g_c).abs().max(),
                            (outside_ag.grad - g_o).abs().max()])
    neg = torch.randint(0, 5, (10,)).tolist()
    loss_n, g_cn, g_on = neg_sampling_loss_and_gradient(center[1], 3, outside, neg)
    put("w2v.neg", [loss_n, g_cn, g_on])
    c1 = center[1].clone().requires_grad_()
    o1 = outside.clone().requires_grad_()
    lossa = -F.logsigmoid(o1[3] @ c1) - F.logsigmoid(-(o1[neg] @ c1)).sum()
    lossa.backward()
    put("w2v.neg_autograd", [lossa, c1.grad, o1.grad])
    put("w2v.neg_agree", [(c1.grad - g_cn).abs().max(), (o1.grad - g_on).abs().max()])
    # SGD on the word vectors, the assignment's sgd() loop (with its annealing)
    word_vectors = torch.cat([(torch.rand(5, 4) - 0.5) / 4, torch.zeros(5, 4)]).double()
    costs = []
    step = 0.3
    for it in range(1, 7):
        c_word = tokens[it % 5]
        window = [tokens[(it + j) % 5] for j in (1, 2, 4)]
        cost, g_cv, g_ov = skipgram(c_word, window, word2ind, word_vectors[:5], word_vectors[5:],
                                    naive_softmax_loss_and_gradient)
        word_vectors -= step * torch.cat([g_cv, g_ov])
        costs.append(float(cost))
        if it % 3 == 0:
            step *= 0.5
    put("w2v.costs", costs)
    put("w2v.vectors", word_vectors)


class ParserModel(nn.Module):
    def __init__(self, embeddings, n_features=6, hidden_size=20, n_classes=3, dropout_prob=0.5):
        super().__init__()
        self.n_features = n_features
        self.n_classes = n_classes
        self.dropout_prob = dropout_prob
        self.embed_size = embeddings.shape[1]
        self.hidden_size = hidden_size
        self.embeddings = nn.Parameter(torch.tensor(embeddings))
        self.embed_to_hidden_weight = nn.Parameter(
            torch.empty(self.n_features * self.embed_size, self.hidden_size))
        self.embed_to_hidden_bias = nn.Parameter(torch.empty(self.hidden_size))
        nn.init.xavier_uniform_(self.embed_to_hidden_weight)
        nn.init.uniform_(self.embed_to_hidden_bias)
        self.dropout = nn.Dropout(p=self.dropout_prob)
        self.hidden_to_logits_weight = nn.Parameter(torch.empty(self.hidden_size, n_classes))
        self.hidden_to_logits_bias = nn.Parameter(torch.empty(self.n_classes))
        bound = math.sqrt(6 / (self.hidden_size + self.n_classes))  # Xavier by hand
        with torch.no_grad():
            self.hidden_to_logits_weight.uniform_(-bound, bound)
            self.hidden_to_logits_bias.uniform_()

    def embedding_lookup(self, w):
        x = torch.index_select(self.embeddings, 0, w.reshape(-1))
        return x.view(w.shape[0], -1)

    def forward(self, w):
        x = self.embedding_lookup(w)
        h = F.relu(torch.matmul(x, self.embed_to_hidden_weight) + self.embed_to_hidden_bias)
        return torch.matmul(self.dropout(h), self.hidden_to_logits_weight) \
            + self.hidden_to_logits_bias


def section_parser() -> None:
    import numpy as np

    embeddings = np.random.default_rng(0).normal(0, 0.9, (15, 5)).astype("float32")
    model = ParserModel(embeddings)
    features = torch.randint(0, 15, (32, 6))
    labels = (features[:, 0] % 3).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss_func = nn.CrossEntropyLoss()
    losses = []
    for _epoch in range(3):
        model.train()
        perm = torch.randperm(32)
        for start in range(0, 32, 8):
            idx = perm[start:start + 8]
            optimizer.zero_grad()
            logits = model(features[idx])
            loss = loss_func(logits, labels[idx])
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    put("parser.losses", losses)
    put_state("parser.state", model)
    put("parser.grad_emb", model.embeddings.grad)
    model.eval()
    with torch.no_grad():
        pred = model(features).argmax(-1)
    put("parser.uas", (pred == labels).float().mean())
    put("parser.lookup", model.embedding_lookup(features[:2]))


class ModelEmbeddings(nn.Module):
    def __init__(self, embed_size, src_vocab, tgt_vocab, pad=0):
        super().__init__()
        self.source = nn.Embedding(src_vocab, embed_size, padding_idx=pad)
        self.target = nn.Embedding(tgt_vocab, embed_size, padding_idx=pad)


class NMT(nn.Module):
    def __init__(self, embed_size, hidden_size, src_vocab, tgt_vocab, dropout_rate=0.2):
        super().__init__()
        self.model_embeddings = ModelEmbeddings(embed_size, src_vocab, tgt_vocab)
        self.hidden_size = hidden_size
        self.tgt_vocab = tgt_vocab
        self.encoder = nn.LSTM(embed_size, hidden_size, bidirectional=True)
        self.decoder = nn.LSTMCell(embed_size + hidden_size, hidden_size)
        self.h_projection = nn.Linear(2 * hidden_size, hidden_size, bias=False)
        self.c_projection = nn.Linear(2 * hidden_size, hidden_size, bias=False)
        self.att_projection = nn.Linear(2 * hidden_size, hidden_size, bias=False)
        self.combined_output_projection = nn.Linear(3 * hidden_size, hidden_size, bias=False)
        self.target_vocab_projection = nn.Linear(hidden_size, tgt_vocab, bias=False)
        self.dropout = nn.Dropout(dropout_rate)

    def forward(self, source_padded, source_lengths, target_padded):
        enc_hiddens, dec_init_state = self.encode(source_padded, source_lengths)
        enc_masks = self.generate_sent_masks(enc_hiddens, source_lengths)
        combined_outputs = self.decode(enc_hiddens, enc_masks, dec_init_state, target_padded)
        P = F.log_softmax(self.target_vocab_projection(combined_outputs), dim=-1)
        target_masks = (target_padded != 0).float()
        target_gold = torch.gather(P, index=target_padded[1:].unsqueeze(-1),
                                   dim=-1).squeeze(-1) * target_masks[1:]
        return target_gold.sum(dim=0)

    def encode(self, source_padded, source_lengths):
        X = self.model_embeddings.source(source_padded)
        X = pack_padded_sequence(X, source_lengths)
        enc_hiddens, (last_hidden, last_cell) = self.encoder(X)
        enc_hiddens, _ = pad_packed_sequence(enc_hiddens)
        enc_hiddens = enc_hiddens.permute(1, 0, 2)
        init_decoder_hidden = self.h_projection(torch.cat((last_hidden[0], last_hidden[1]), 1))
        init_decoder_cell = self.c_projection(torch.cat((last_cell[0], last_cell[1]), 1))
        return enc_hiddens, (init_decoder_hidden, init_decoder_cell)

    def decode(self, enc_hiddens, enc_masks, dec_init_state, target_padded):
        target_padded = target_padded[:-1]
        dec_state = dec_init_state
        batch_size = enc_hiddens.size(0)
        o_prev = torch.zeros(batch_size, self.hidden_size)
        combined_outputs = []
        enc_hiddens_proj = self.att_projection(enc_hiddens)
        Y = self.model_embeddings.target(target_padded)
        for Y_t in torch.split(Y, 1, dim=0):
            Ybar_t = torch.cat((torch.squeeze(Y_t, 0), o_prev), dim=1)
            dec_state, o_t, _ = self.step(Ybar_t, dec_state, enc_hiddens, enc_hiddens_proj,
                                          enc_masks)
            combined_outputs.append(o_t)
            o_prev = o_t
        return torch.stack(combined_outputs, dim=0)

    def step(self, Ybar_t, dec_state, enc_hiddens, enc_hiddens_proj, enc_masks):
        dec_state = self.decoder(Ybar_t, dec_state)
        dec_hidden, dec_cell = dec_state
        e_t = torch.bmm(enc_hiddens_proj, dec_hidden.unsqueeze(2)).squeeze(2)
        if enc_masks is not None:
            e_t.data.masked_fill_(enc_masks.bool(), -float("inf"))
        alpha_t = F.softmax(e_t, dim=1)
        a_t = torch.bmm(alpha_t.unsqueeze(1), enc_hiddens).squeeze(1)
        U_t = torch.cat((a_t, dec_hidden), dim=1)
        V_t = self.combined_output_projection(U_t)
        O_t = self.dropout(torch.tanh(V_t))
        return dec_state, O_t, e_t

    def generate_sent_masks(self, enc_hiddens, source_lengths):
        enc_masks = torch.zeros(enc_hiddens.size(0), enc_hiddens.size(1), dtype=torch.float)
        for e_id, src_len in enumerate(source_lengths):
            enc_masks[e_id, src_len:] = 1
        return enc_masks

    def beam_search(self, src, beam_size=3, max_decoding_time_step=6, sos=1, eos=2):
        src_encodings, dec_init_vec = self.encode(src, [src.size(0)])
        src_encodings_att_linear = self.att_projection(src_encodings)
        h_tm1 = dec_init_vec
        att_tm1 = torch.zeros(1, self.hidden_size)
        hypotheses = [[sos]]
        hyp_scores = torch.zeros(len(hypotheses), dtype=torch.float)
        completed = []
        t = 0
        while len(completed) < beam_size and t < max_decoding_time_step:
            t += 1
            hyp_num = len(hypotheses)
            exp_src_encodings = src_encodings.expand(hyp_num, src_encodings.size(1),
                                                     src_encodings.size(2))
            exp_att = src_encodings_att_linear.expand(hyp_num, src_encodings_att_linear.size(1),
                                                      src_encodings_att_linear.size(2))
            y_tm1 = torch.tensor([hyp[-1] for hyp in hypotheses], dtype=torch.long)
            y_t_embed = self.model_embeddings.target(y_tm1)
            x = torch.cat([y_t_embed, att_tm1], dim=-1)
            (h_t, cell_t), att_t, _ = self.step(x, h_tm1, exp_src_encodings, exp_att,
                                                enc_masks=None)
            log_p_t = F.log_softmax(self.target_vocab_projection(att_t), dim=-1)
            live_hyp_num = beam_size - len(completed)
            contiuating_hyp_scores = (hyp_scores.unsqueeze(1).expand_as(log_p_t)
                                      + log_p_t).view(-1)
            top_cand_hyp_scores, top_cand_hyp_pos = torch.topk(contiuating_hyp_scores,
                                                               k=live_hyp_num)
            prev_hyp_ids = torch.div(top_cand_hyp_pos, self.tgt_vocab, rounding_mode="floor")
            hyp_word_ids = top_cand_hyp_pos % self.tgt_vocab
            new_hypotheses, live_hyp_ids, new_hyp_scores = [], [], []
            for prev_hyp_id, hyp_word_id, cand_new_hyp_score in zip(
                    prev_hyp_ids, hyp_word_ids, top_cand_hyp_scores):
                prev_hyp_id = prev_hyp_id.item()
                hyp_word_id = hyp_word_id.item()
                cand_new_hyp_score = cand_new_hyp_score.item()
                new_hyp_sent = hypotheses[prev_hyp_id] + [hyp_word_id]
                if hyp_word_id == eos:
                    completed.append(Hypothesis(value=new_hyp_sent[1:-1],
                                                score=cand_new_hyp_score))
                else:
                    new_hypotheses.append(new_hyp_sent)
                    live_hyp_ids.append(prev_hyp_id)
                    new_hyp_scores.append(cand_new_hyp_score)
            if len(completed) == beam_size:
                break
            live_hyp_ids = torch.tensor(live_hyp_ids, dtype=torch.long)
            h_tm1 = (h_t[live_hyp_ids], cell_t[live_hyp_ids])
            att_tm1 = att_t[live_hyp_ids]
            hypotheses = new_hypotheses
            hyp_scores = torch.tensor(new_hyp_scores, dtype=torch.float)
        if len(completed) == 0:
            completed.append(Hypothesis(value=hypotheses[0][1:], score=hyp_scores[0].item()))
        completed.sort(key=lambda hyp: hyp.score, reverse=True)
        return completed


def section_nmt() -> None:
    model = NMT(embed_size=6, hidden_size=5, src_vocab=11, tgt_vocab=9)
    for p in model.parameters():
        p.data.uniform_(-0.1, 0.1)
    lengths = [5, 4, 2]
    source = torch.zeros(5, 3, dtype=torch.long)
    for b, n in enumerate(lengths):
        source[:n, b] = torch.randint(3, 11, (n,))
    target = torch.zeros(6, 3, dtype=torch.long)
    for b, n in enumerate([6, 3, 5]):
        target[0, b] = 1
        target[1:n - 1, b] = torch.randint(3, 9, (n - 2,))
        target[n - 1, b] = 2
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    losses = []
    for _ in range(4):
        model.train()
        optimizer.zero_grad()
        example_losses = -model(source, lengths, target)
        batch_loss = example_losses.sum()
        loss = batch_loss / 3
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        losses.append([loss.item(), grad_norm.item()])
    put("nmt.losses", losses)
    put("nmt.example_losses", example_losses)
    put_state("nmt.state", model)
    put("nmt.grad.decoder", model.decoder.weight_ih.grad)
    model.eval()
    with torch.no_grad():
        hyps = model.beam_search(source[:4, :1], beam_size=3)
        ppl_words = (target[1:] != 0).sum()
        ppl = torch.exp(-model(source, lengths, target).sum() / ppl_words)
    put("nmt.ppl", ppl)
    put("nmt.beam_scores", [h.score for h in hyps])
    put("nmt.beam_lens", [len(h.value) for h in hyps])
    put("nmt.beam_tokens", sum((h.value for h in hyps), []))


class CNN(nn.Module):
    def __init__(self, char_embed_size, word_embed_size, kernel_size=3, padding=1):
        super().__init__()
        self.conv1d = nn.Conv1d(char_embed_size, word_embed_size, kernel_size, padding=padding)

    def forward(self, x_reshaped):
        x_conv = self.conv1d(x_reshaped)
        x_conv_out, _ = torch.max(F.relu(x_conv), dim=2)
        return x_conv_out


class Highway(nn.Module):
    def __init__(self, word_embed_size):
        super().__init__()
        self.proj = nn.Linear(word_embed_size, word_embed_size)
        self.gate = nn.Linear(word_embed_size, word_embed_size)

    def forward(self, x_conv_out):
        x_proj = F.relu(self.proj(x_conv_out))
        x_gate = torch.sigmoid(self.gate(x_conv_out))
        return x_gate * x_proj + (1 - x_gate) * x_conv_out


class CharEmbeddings(nn.Module):
    def __init__(self, word_embed_size, n_chars=20, char_embed_size=5, pad=0):
        super().__init__()
        self.word_embed_size = word_embed_size
        self.char_embedding = nn.Embedding(n_chars, char_embed_size, padding_idx=pad)
        self.cnn = CNN(char_embed_size, word_embed_size)
        self.highway = Highway(word_embed_size)
        self.dropout = nn.Dropout(0.3)

    def forward(self, input):
        sentence_length, batch_size, max_word_length = input.shape
        x_emb = self.char_embedding(input)
        x_reshaped = x_emb.view(sentence_length * batch_size, max_word_length, -1).permute(0, 2, 1)
        x_conv_out = self.cnn(x_reshaped)
        x_highway = self.highway(x_conv_out)
        x_word_emb = self.dropout(x_highway)
        return x_word_emb.view(sentence_length, batch_size, self.word_embed_size)


def section_charcnn() -> None:
    embed = CharEmbeddings(word_embed_size=8)
    head = nn.Linear(8, 4)
    words = torch.randint(1, 20, (3, 2, 7))
    words[:, :, 5:] = 0  # padded characters
    labels = torch.randint(0, 4, (3, 2))
    optimizer = torch.optim.SGD(list(embed.parameters()) + list(head.parameters()), lr=0.5,
                                momentum=0.9)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        out = head(embed(words))
        loss = F.cross_entropy(out.view(-1, 4), labels.view(-1))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("charcnn.losses", losses)
    put("charcnn.pad_row_grad", embed.char_embedding.weight.grad[0])
    put_state("charcnn.state", embed)
    embed.eval()
    # the highway with its gate shut passes x through; opened, it gives relu(proj(x))
    x = torch.randn(4, 8)
    with torch.no_grad():
        embed.highway.gate.bias.fill_(-1e4)
        put("charcnn.shut", embed.highway(x) - x)
        embed.highway.gate.bias.fill_(1e4)
        put("charcnn.open", embed.highway(x) - F.relu(embed.highway.proj(x)))
    put("charcnn.eval_out", embed(words))


SECTIONS = {"w2v": section_w2v, "parser": section_parser, "nmt": section_nmt,
            "charcnn": section_charcnn}
