"""Stanford CS224N assignment-style programs, written afresh (PR11, session 26), printing what
the assignments' sanity checks print: word2vec's naive-softmax and negative-sampling losses with
hand-derived gradients, the assignment's ``gradcheck_naive`` (central differences over every
coordinate, "Gradient check passed!") and torch.autograd.gradcheck, SGD over a toy dataset;
the co-occurrence matrix reduced by SVD with cosine neighbours; the transition-based
dependency parser (PartialParse, minibatch_parse, a feed-forward ParserModel with its own
embedding lookup and xavier init, minibatches, UAS); an NMT encoder / decoder with
pack_padded_sequence, multiplicative attention masked with -inf, a combined output and greedy
decoding; the lecture-4 window classifier (score u^T tanh(Wx + b), max-margin loss against
corrupted windows, its gradients by hand) and a window-based softmax NER tagger with per-class
F1. Tiny sizes, fixed seeds; run by prog_s26_PR11_all.py.
"""
# ruff: noqa: B007, B023, E501, E721, E741, N806, UP008, UP031, UP032, UP034 - the code as
# the lectures, the book and the tutorials write it (names, super(Cls, self), type(m) ==,
# %-formats, long lines)

import itertools
import math
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s25_PR9_harness import printed, put
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def sigmoid(x):
    return 1 / (1 + torch.exp(-x))


def naive_softmax_loss_and_gradient(center_vec, outside_idx, outside_vectors):
    scores = outside_vectors @ center_vec
    y_hat = torch.softmax(scores, dim=0)
    loss = -torch.log(y_hat[outside_idx])
    y = torch.zeros_like(y_hat)
    y[outside_idx] = 1
    grad_center = outside_vectors.T @ (y_hat - y)
    grad_outside = torch.outer(y_hat - y, center_vec)
    return loss, grad_center, grad_outside


def neg_sampling_loss_and_gradient(center_vec, outside_idx, outside_vectors, neg_indices):
    indices = [outside_idx] + neg_indices
    u_o = outside_vectors[outside_idx]
    u_k = outside_vectors[neg_indices]
    s_o = sigmoid(u_o @ center_vec)
    s_k = sigmoid(-u_k @ center_vec)
    loss = -torch.log(s_o) - torch.log(s_k).sum()
    grad_center = -(1 - s_o) * u_o + ((1 - s_k)[:, None] * u_k).sum(0)
    grad_outside = torch.zeros_like(outside_vectors)
    grad_outside[outside_idx] += -(1 - s_o) * center_vec
    for k, idx in enumerate(neg_indices):
        grad_outside[idx] += (1 - s_k[k]) * center_vec
    assert len(indices) == 1 + len(neg_indices)
    return loss, grad_center, grad_outside


def gradcheck_naive(f, x, gradient_text):
    rndstate = random.getstate()
    random.setstate(rndstate)
    fx, grad = f(x)
    h = 1e-4
    for ix in itertools.product(*[range(n) for n in x.shape]):
        oldval = x[ix].item()
        x[ix] = oldval + h
        random.setstate(rndstate)
        fxph = f(x)[0]
        x[ix] = oldval - h
        random.setstate(rndstate)
        fxmh = f(x)[0]
        x[ix] = oldval
        numgrad = (fxph - fxmh) / (2 * h)
        reldiff = abs(numgrad - grad[ix]) / max(1, abs(numgrad), abs(grad[ix]))
        if reldiff > 1e-5:
            print("Gradient check failed for %s." % gradient_text)
            print("First gradient error found at index %s in the vector of gradients" % str(ix))
            print("Your gradient: %f \t Numerical gradient: %f" % (grad[ix], numgrad))
            return
    print("Gradient check passed!. Read the docstring of the `gradcheck_naive` method in "
          "utils.gradcheck.py to understand what the gradient check does.")


def section_word2vec() -> None:
    random.seed(31415)
    torch.manual_seed(9265)
    tokens = ["a", "b", "c", "d", "e"]
    word2ind = {w: i for i, w in enumerate(tokens)}

    def sample_token_idx():
        return random.randint(0, 4)

    def get_random_context(C):
        tokens_ = ["a", "b", "c", "d", "e"]
        return tokens_[random.randint(0, 4)], [tokens_[random.randint(0, 4)] for i in range(2 * C)]

    def get_negative_samples(outside_idx, K):
        neg = [None] * K
        for k in range(K):
            newidx = sample_token_idx()
            while newidx == outside_idx:
                newidx = sample_token_idx()
            neg[k] = newidx
        return neg

    def skipgram(current_center_word, outside_words, center_vecs, outside_vecs, loss_fn):
        loss = 0.0
        g_center = torch.zeros_like(center_vecs)
        g_outside = torch.zeros_like(outside_vecs)
        c = word2ind[current_center_word]
        for w in outside_words:
            if loss_fn == "naive":
                l, gc, go = naive_softmax_loss_and_gradient(center_vecs[c], word2ind[w], outside_vecs)
            else:
                o = word2ind[w]
                l, gc, go = neg_sampling_loss_and_gradient(center_vecs[c], o, outside_vecs,
                                                           get_negative_samples(o, 10))
            loss += l
            g_center[c] += gc
            g_outside += go
        return loss, g_center, g_outside

    def sgd_wrapper(word_vectors, window_size, loss_fn):
        batchsize = 10
        loss = 0.0
        grad = torch.zeros_like(word_vectors)
        N = word_vectors.shape[0]
        center = word_vectors[:N // 2]
        outside = word_vectors[N // 2:]
        for i in range(batchsize):
            window_size1 = random.randint(1, window_size)
            center_word, context = get_random_context(window_size1)
            c, gin, gout = skipgram(center_word, context, center, outside, loss_fn)
            loss += c / batchsize
            grad[:N // 2] += gin / batchsize
            grad[N // 2:] += gout / batchsize
        return loss, grad

    with printed("cs_w2v.log"):
        print(sigmoid(torch.tensor([1.0, 2.0], dtype=torch.float64)))
        print(sigmoid(torch.tensor(0.0)))
        dummy_vectors = F.normalize(torch.randn(10, 3, dtype=torch.float64), dim=1)
        print(dummy_vectors[:2])
        print("==== Gradient check for skip-gram with naiveSoftmaxLossAndGradient ====")
        gradcheck_naive(lambda vec: sgd_wrapper(vec, 5, "naive"), dummy_vectors,
                        "naiveSoftmaxLossAndGradient Gradient")
        print("==== Gradient check for skip-gram with negSamplingLossAndGradient ====")
        gradcheck_naive(lambda vec: sgd_wrapper(vec, 3, "neg"), dummy_vectors[:, :2].clone(),
                        "negSamplingLossAndGradient Gradient")
        center = dummy_vectors[0].clone()
        outside = dummy_vectors[5:].clone()
        loss, gc, go = naive_softmax_loss_and_gradient(center, 2, outside)
        c_ = center.clone().requires_grad_()
        o_ = outside.clone().requires_grad_()
        (-F.log_softmax(o_ @ c_, dim=0)[2]).backward()
        print("Loss:", loss.item())
        print("Gradient wrt Center Vector (dJ/dV_c):", gc)
        print(torch.allclose(gc, c_.grad), torch.allclose(go, o_.grad))
        print(torch.autograd.gradcheck(
            lambda c, o: -F.log_softmax(o @ c, dim=0)[2], (c_, o_)))
        loss, gc, go = neg_sampling_loss_and_gradient(center, 1, outside, [0, 3, 3, 4])
        print("Loss:", round(loss.item(), 8))
        c_.grad = None
        o_.grad = None
        l2 = -F.logsigmoid(o_[1] @ c_) - F.logsigmoid(-o_[[0, 3, 3, 4]] @ c_).sum()
        l2.backward()
        print(torch.allclose(gc, c_.grad), torch.allclose(go, o_.grad), f"{l2.item():.8f}")
        # training with SGD as run.py does, the annealing schedule and expcost printed
        random.seed(314)
        torch.manual_seed(1)
        vecs = torch.cat(((torch.rand(5, 4, dtype=torch.float64) - 0.5) / 4,
                          torch.zeros(5, 4, dtype=torch.float64)), 0)
        exploss = None
        step = 0.3
        for it in range(1, 31):
            cost, grad = sgd_wrapper(vecs, 3, "neg")
            vecs -= step * grad
            if it % 10 == 0:
                step *= 0.5
            exploss = cost if exploss is None else .95 * exploss + .05 * cost
            if it % 10 == 0:
                print("iter %d: %f" % (it, exploss))
        put("cs_w2v.vecs", vecs)


def section_cooccurrence() -> None:
    corpus = [["<START>", "all", "that", "glitters", "isn't", "gold", "<END>"],
              ["<START>", "all's", "well", "that", "ends", "well", "<END>"],
              ["<START>", "gold", "glitters", "and", "well", "ends", "<END>"]]
    with printed("cs_cooc.log"):
        words = sorted(list(set(w for d in corpus for w in d)))
        num_corpus_words = len(words)
        print(num_corpus_words, words[:4])
        word2ind = {w: i for i, w in enumerate(words)}
        M = torch.zeros((num_corpus_words, num_corpus_words))
        window_size = 1
        for doc in corpus:
            for i, w in enumerate(doc):
                for j in range(max(0, i - window_size), min(len(doc), i + window_size + 1)):
                    if j != i:
                        M[word2ind[w], word2ind[doc[j]]] += 1
        print(M[:4, :4])
        print(torch.equal(M, M.T), M.sum().item())
        U, S, Vh = torch.linalg.svd(M.double())
        k = 2
        M_reduced = U[:, :k] * S[:k]
        print(S[:4])
        # signs of singular vectors are free: printed up to sign
        print((M_reduced.abs() @ torch.ones(k, dtype=torch.float64)).round(decimals=4)[:5])
        M_lengths = torch.linalg.norm(M_reduced, dim=1)
        M_normalized = M_reduced / M_lengths[:, None]
        sims = M_normalized @ M_normalized.T
        for w in ["gold", "well"]:
            order = torch.argsort(sims[word2ind[w]], descending=True, stable=True)
            print(w, [(words[i], round(sims[word2ind[w], i].item(), 4)) for i in order[1:4]])
        print(F.cosine_similarity(M[word2ind["gold"]], M[word2ind["glitters"]], dim=0))


class PartialParse:
    def __init__(self, sentence):
        self.sentence = sentence
        self.stack = ['ROOT']
        self.buffer = sentence[:]
        self.dependencies = []

    def parse_step(self, transition):
        if transition == "S":
            self.stack.append(self.buffer.pop(0))
        elif transition == "LA":
            dependent = self.stack.pop(-2)
            self.dependencies.append((self.stack[-1], dependent))
        elif transition == "RA":
            dependent = self.stack.pop()
            self.dependencies.append((self.stack[-1], dependent))

    def parse(self, transitions):
        for transition in transitions:
            self.parse_step(transition)
        return self.dependencies


def minibatch_parse(sentences, model, batch_size):
    partial_parses = [PartialParse(s) for s in sentences]
    unfinished_parses = partial_parses[:]
    while unfinished_parses:
        minibatch = unfinished_parses[:batch_size]
        transitions = model.predict(minibatch)
        for pp, t in zip(minibatch, transitions):
            pp.parse_step(t)
            if len(pp.buffer) == 0 and len(pp.stack) == 1:
                unfinished_parses.remove(pp)
    return [pp.dependencies for pp in partial_parses]


class ParserModel(nn.Module):
    def __init__(self, embeddings, n_features=6, hidden_size=32, n_classes=3, dropout_prob=0.5):
        super(ParserModel, self).__init__()
        self.n_features = n_features
        self.n_classes = n_classes
        self.dropout_prob = dropout_prob
        self.embed_size = embeddings.shape[1]
        self.hidden_size = hidden_size
        self.embeddings = nn.Parameter(torch.tensor(embeddings))
        self.embed_to_hidden_weight = nn.Parameter(torch.empty(self.n_features * self.embed_size,
                                                               self.hidden_size))
        nn.init.xavier_uniform_(self.embed_to_hidden_weight)
        self.embed_to_hidden_bias = nn.Parameter(torch.empty(self.hidden_size))
        nn.init.uniform_(self.embed_to_hidden_bias)
        self.dropout = nn.Dropout(self.dropout_prob)
        self.hidden_to_logits_weight = nn.Parameter(torch.empty(self.hidden_size, self.n_classes))
        nn.init.xavier_uniform_(self.hidden_to_logits_weight)
        self.hidden_to_logits_bias = nn.Parameter(torch.empty(self.n_classes))
        nn.init.uniform_(self.hidden_to_logits_bias)

    def embedding_lookup(self, w):
        x = torch.index_select(self.embeddings, 0, w.view(-1))
        x = x.view(w.shape[0], -1)
        return x

    def forward(self, w):
        x = self.embedding_lookup(w)
        h = F.relu(torch.matmul(x, self.embed_to_hidden_weight) + self.embed_to_hidden_bias)
        logits = torch.matmul(self.dropout(h), self.hidden_to_logits_weight) + self.hidden_to_logits_bias
        return logits


def _oracle(sentence, heads):
    """Arc-standard transitions reproducing ``heads`` (1-based, 0 = ROOT) for a projective
    tree."""
    stack, buffer, transitions, attached = [0], list(range(1, len(sentence) + 1)), [], set()
    while buffer or len(stack) > 1:
        if len(stack) > 2 and heads[stack[-2] - 1] == stack[-1]:
            attached.add(stack.pop(-2))
            transitions.append("LA")
        elif (len(stack) > 1 and heads[stack[-1] - 1] == stack[-2]
              and all(heads[b - 1] != stack[-1] for b in buffer)):
            attached.add(stack.pop())
            transitions.append("RA")
        else:
            stack.append(buffer.pop(0))
            transitions.append("S")
    return transitions


def section_parser() -> None:
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    with printed("cs_parser.log"):
        pp = PartialParse(["parse", "this", "sentence"])
        for t in ["S", "S", "LA", "S", "RA", "RA"]:
            pp.parse_step(t)
            print(t, tuple(pp.stack), tuple(pp.buffer), tuple(sorted(pp.dependencies)))
        print("parse test passed!")

        class DummyModel:
            def predict(self, partial_parses):
                return [("RA" if pp.stack[1] == "right" else "LA") if len(pp.buffer) == 0 else "S"
                        for pp in partial_parses]

        sentences = [["right", "arcs", "only"], ["right", "arcs", "only", "again"],
                     ["left", "arcs", "only"], ["left", "arcs", "only", "again"]]
        deps = minibatch_parse(sentences, DummyModel(), 2)
        print(deps[0], deps[2])
        print("minibatch_parse test passed!")
        # a toy treebank: determiner -> noun <- verb(root) -> noun <- determiner
        vocab = ["<NULL>", "<ROOT>", "the", "a", "dog", "cat", "saw", "chased", "big", "red"]
        tok2id = {w: i for i, w in enumerate(vocab)}
        examples = []
        for _ in range(40):
            d1, d2 = random.choice(["the", "a"]), random.choice(["the", "a"])
            n1, n2 = random.choice(["dog", "cat"]), random.choice(["dog", "cat"])
            v = random.choice(["saw", "chased"])
            if random.random() < 0.5:
                sent, heads = [d1, n1, v, d2, n2], [2, 3, 0, 5, 3]
            else:
                adj = random.choice(["big", "red"])
                sent, heads = [d1, adj, n1, v, d2, n2], [3, 3, 4, 0, 6, 4]
            examples.append((sent, heads))

        def features(pp):
            s = [tok2id["<ROOT>"] if w == "ROOT" else tok2id[w] for w in pp.stack[-3:]]
            s = [tok2id["<NULL>"]] * (3 - len(s)) + s
            b = [tok2id[w] for w in pp.buffer[:3]]
            b = b + [tok2id["<NULL>"]] * (3 - len(b))
            return s + b

        trans2id = {"S": 0, "LA": 1, "RA": 2}
        X, Y = [], []
        for sent, heads in examples:
            pp = PartialParse(sent)
            for t in _oracle(sent, heads):
                X.append(features(pp))
                Y.append(trans2id[t])
                pp.parse_step(t)
        X = torch.tensor(X)
        Y = torch.tensor(Y)
        print(X.shape, Y.shape, torch.bincount(Y))
        embeddings = np.random.normal(0, 0.9, (len(vocab), 8)).astype('float32')
        model = ParserModel(embeddings)
        print(model.embedding_lookup(torch.tensor([[0, 1, 2, 3, 4, 5]])).shape)
        print(model(torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6]])).shape)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
        loss_func = nn.CrossEntropyLoss()
        batch_size = 32
        n_minibatches = math.ceil(len(X) / batch_size)
        for epoch in range(6):
            print("Epoch {:} out of {:}".format(epoch + 1, 6))
            model.train()
            loss_meter = []
            perm = torch.randperm(len(X))
            for i in range(n_minibatches):
                idx = perm[i * batch_size:(i + 1) * batch_size]
                optimizer.zero_grad()
                logits = model.forward(X[idx])
                loss = loss_func(logits, Y[idx])
                loss.backward()
                optimizer.step()
                loss_meter.append(loss.item())
            print("Average Train Loss: {}".format(sum(loss_meter) / len(loss_meter)))
        model.eval()

        class Wrapper:
            def predict(self, partial_parses):
                feats = torch.tensor([features(pp) for pp in partial_parses])
                with torch.no_grad():
                    logits = model(feats)
                legal = torch.tensor([[len(pp.buffer) > 0, len(pp.stack) > 2, len(pp.stack) > 1]
                                      for pp in partial_parses])
                logits = logits.masked_fill(~legal, -float("inf"))
                pred = torch.argmax(logits, dim=1).tolist()
                return [["S", "LA", "RA"][p] for p in pred]

        sents = [s for s, _ in examples[:12]]
        dependencies = minibatch_parse(sents, Wrapper(), 5)
        UAS = all_tokens = 0.0
        for (sent, heads), deps in zip(examples[:12], dependencies):
            head_of = {}
            for h, d in deps:
                head_of[d] = h
            for k, w in enumerate(sent):
                gold = "ROOT" if heads[k] == 0 else sent[heads[k] - 1]
                UAS += 1 if head_of.get(w) == gold else 0
                all_tokens += 1
        UAS /= all_tokens
        print("- dev UAS: {:.2f}".format(UAS * 100.0))


class NMT(nn.Module):
    def __init__(self, embed_size, hidden_size, src_vocab, tgt_vocab, dropout_rate=0.2):
        super(NMT, self).__init__()
        self.hidden_size = hidden_size
        self.src_embed = nn.Embedding(len(src_vocab), embed_size, padding_idx=src_vocab['<pad>'])
        self.tgt_embed = nn.Embedding(len(tgt_vocab), embed_size, padding_idx=tgt_vocab['<pad>'])
        self.tgt_vocab = tgt_vocab
        self.encoder = nn.LSTM(embed_size, hidden_size, bias=True, bidirectional=True)
        self.decoder = nn.LSTMCell(embed_size + hidden_size, hidden_size, bias=True)
        self.h_projection = nn.Linear(2 * hidden_size, hidden_size, bias=False)
        self.c_projection = nn.Linear(2 * hidden_size, hidden_size, bias=False)
        self.att_projection = nn.Linear(2 * hidden_size, hidden_size, bias=False)
        self.combined_output_projection = nn.Linear(3 * hidden_size, hidden_size, bias=False)
        self.target_vocab_projection = nn.Linear(hidden_size, len(tgt_vocab), bias=False)
        self.dropout = nn.Dropout(p=dropout_rate)

    def forward(self, source_padded, source_lengths, target_padded):
        enc_hiddens, dec_init_state = self.encode(source_padded, source_lengths)
        enc_masks = self.generate_sent_masks(enc_hiddens, source_lengths)
        combined_outputs = self.decode(enc_hiddens, enc_masks, dec_init_state, target_padded)
        P = F.log_softmax(self.target_vocab_projection(combined_outputs), dim=-1)
        target_masks = (target_padded != self.tgt_vocab['<pad>']).float()
        target_gold_words_log_prob = torch.gather(P, index=target_padded[1:].unsqueeze(-1),
                                                  dim=-1).squeeze(-1) * target_masks[1:]
        scores = target_gold_words_log_prob.sum(dim=0)
        return scores

    def encode(self, source_padded, source_lengths):
        X = self.src_embed(source_padded)
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
        Y = self.tgt_embed(target_padded)
        for Y_t in torch.split(Y, 1, dim=0):
            Y_t = torch.squeeze(Y_t, dim=0)
            Ybar_t = torch.cat((Y_t, o_prev), dim=1)
            dec_state, o_t, e_t = self.step(Ybar_t, dec_state, enc_hiddens, enc_hiddens_proj, enc_masks)
            combined_outputs.append(o_t)
            o_prev = o_t
        return torch.stack(combined_outputs, dim=0)

    def step(self, Ybar_t, dec_state, enc_hiddens, enc_hiddens_proj, enc_masks):
        dec_state = self.decoder(Ybar_t, dec_state)
        dec_hidden, dec_cell = dec_state
        e_t = torch.bmm(enc_hiddens_proj, dec_hidden.unsqueeze(2)).squeeze(2)
        if enc_masks is not None:
            e_t.data.masked_fill_(enc_masks.bool(), -float('inf'))
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


def section_nmt() -> None:
    torch.manual_seed(0)
    random.seed(0)
    src = ["ich bin müde", "du bist klug", "er ist hier", "wir sind da", "ich bin hier",
           "du bist müde", "er ist klug", "wir sind müde"]
    tgt = ["i am tired", "you are smart", "he is here", "we are there", "i am here",
           "you are tired", "he is smart", "we are tired"]

    def vocab_of(sents):
        words = ['<pad>', '<s>', '</s>', '<unk>'] + sorted(set(w for s in sents for w in s.split()))
        return {w: i for i, w in enumerate(words)}

    sv, tv = vocab_of(src), vocab_of(tgt)
    itos = {i: w for w, i in tv.items()}

    def pad_sents(sents, pad_token):
        max_len = max(len(s) for s in sents)
        return [s + [pad_token] * (max_len - len(s)) for s in sents]

    def to_input_tensor(sents, vocab):
        word_ids = [[vocab.get(w, vocab['<unk>']) for w in s] for s in sents]
        sents_t = pad_sents(word_ids, vocab['<pad>'])
        return torch.t(torch.tensor(sents_t, dtype=torch.long))

    with printed("cs_nmt.log"):
        model = NMT(embed_size=8, hidden_size=12, src_vocab=sv, tgt_vocab=tv, dropout_rate=0.1)
        for p in model.parameters():
            p.data.uniform_(-0.1, 0.1)
        print(model)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
        pairs = list(zip(src, tgt))
        train_iter = report_loss = report_words = 0
        for epoch in range(12):
            random.shuffle(pairs)
            for b in range(0, len(pairs), 4):
                batch = pairs[b:b + 4]
                lens_order = sorted(batch, key=lambda e: len(e[0].split()), reverse=True)
                src_sents = [e[0].split()[: 2 + (i % 2)] for i, e in enumerate(lens_order)]
                src_sents = sorted(src_sents, key=len, reverse=True)
                tgt_sents = [['<s>'] + e[1].split() + ['</s>'] for e in lens_order]
                source_lengths = [len(s) for s in src_sents]
                source_padded = to_input_tensor(src_sents, sv)
                target_padded = to_input_tensor(tgt_sents, tv)
                train_iter += 1
                optimizer.zero_grad()
                example_losses = -model(source_padded, source_lengths, target_padded)
                batch_loss = example_losses.sum()
                loss = batch_loss / len(batch)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
                report_loss += batch_loss.item()
                report_words += sum(len(s[1:]) for s in tgt_sents)
                if train_iter % 8 == 0:
                    print('epoch %d, iter %d, avg. loss %.2f, avg. ppl %.2f' % (
                        epoch, train_iter, report_loss / 8, math.exp(report_loss / report_words)))
                    report_loss = report_words = 0
        model.eval()
        with torch.no_grad():
            for s, t in list(zip(src, tgt))[:4]:
                words = s.split()
                src_t = to_input_tensor([words], sv)
                enc_hiddens, dec_state = model.encode(src_t, [len(words)])
                enc_proj = model.att_projection(enc_hiddens)
                o_prev = torch.zeros(1, model.hidden_size)
                y = tv['<s>']
                out = []
                for _ in range(5):
                    y_t = model.tgt_embed(torch.tensor([y]))
                    dec_state, o_prev, _ = model.step(torch.cat((y_t, o_prev), 1), dec_state,
                                                      enc_hiddens, enc_proj, None)
                    y = model.target_vocab_projection(o_prev).argmax(-1).item()
                    if itos[y] == '</s>':
                        break
                    out.append(itos[y])
                print(f'{s} -> {" ".join(out)} (gold: {t})')


def section_window_ner() -> None:
    torch.manual_seed(0)
    random.seed(0)
    with printed("cs_window.log"):
        # lecture 4: s = u^T tanh(W x + b) for the window "museums in paris are amazing"
        words = ["museums", "in", "paris", "are", "amazing", "not", "all", "bad", "eat", "the"]
        w2i = {w: i for i, w in enumerate(words)}
        d, n = 4, 6
        L = torch.randn(len(words), d, dtype=torch.float64)
        W = torch.randn(n, 5 * d, dtype=torch.float64) * 0.3
        b = torch.zeros(n, dtype=torch.float64)
        u = torch.randn(n, dtype=torch.float64) * 0.3
        window = [w2i[w] for w in "museums in paris are amazing".split()]
        corrupt = [w2i[w] for w in "not all museums in paris".split()]
        x = L[window].reshape(-1)
        z = W @ x + b
        h = torch.tanh(z)
        s = u @ h
        print(f"s = {s.item():.6f}, x: {tuple(x.shape)}, h: {tuple(h.shape)}")
        # the lecture's gradients: ds/du = h, delta = u * f'(z), ds/dW = delta x^T, ds/dx = W^T delta
        delta = u * (1 - h ** 2)
        params = [t.clone().requires_grad_() for t in (W, b, u)]
        x_ = x.clone().requires_grad_()
        s_ = params[2] @ torch.tanh(params[0] @ x_ + params[1])
        s_.backward()
        for name, mine, auto in [("dW", torch.outer(delta, x), params[0].grad),
                                 ("db", delta, params[1].grad), ("du", h, params[2].grad),
                                 ("dx", W.T @ delta, x_.grad)]:
            print(name, tuple(mine.shape), torch.allclose(mine, auto), f"{(mine - auto).abs().max().item():.1e}")
        # max-margin training against corrupted windows
        Lp = nn.Parameter(L.clone())
        Wp, bp, up = (nn.Parameter(t.clone()) for t in (W, b, u))
        opt = torch.optim.SGD([Lp, Wp, bp, up], lr=0.05)

        def score(ix):
            return up @ torch.tanh(Wp @ Lp[ix].reshape(-1) + bp)

        for it in range(20):
            J = torch.clamp(1 - score(window) + score(corrupt), min=0)
            opt.zero_grad()
            J.backward()
            opt.step()
            if it % 5 == 0:
                print(f"iter {it}: J = {J.item():.4f}")
        print(f"final margin {(score(window) - score(corrupt)).item():.4f}")

        # window-based softmax NER tagger
        tags = ["O", "PER", "LOC", "ORG"]
        names = {"PER": ["john", "mary", "smith"], "LOC": ["paris", "london", "berlin"],
                 "ORG": ["google", "acme", "fifa"]}
        fillers = ["the", "in", "met", "visited", "works", "for", "at", "today", "and", "said"]
        sents = []
        for _ in range(60):
            tag = random.choice(["PER", "LOC", "ORG"])
            ent = random.choice(names[tag])
            left = random.sample(fillers, 2)
            right = random.sample(fillers, 2)
            sents.append((left + [ent] + right, ["O", "O", tag, "O", "O"]))
        vocab = ["<pad>", "<unk>"] + sorted(set(w for s, _ in sents for w in s))
        v2i = {w: i for i, w in enumerate(vocab)}
        window_size = 1

        def make_windowed_data(data, start, end, window_size=1):
            windowed = []
            for sentence, labels in data:
                ids = [v2i[start]] * window_size + [v2i.get(w, 1) for w in sentence] + [v2i[end]] * window_size
                for i, lab in enumerate(labels):
                    windowed.append((ids[i:i + 2 * window_size + 1], tags.index(lab)))
            return windowed

        data = make_windowed_data(sents, "<pad>", "<pad>", window_size)
        print(len(data), data[:3])
        X = torch.tensor([w for w, _ in data])
        Y = torch.tensor([y for _, y in data])
        n_train = 240

        class WindowModel(nn.Module):
            def __init__(self, vocab_size, embed_size, window_size, hidden_size, n_classes):
                super().__init__()
                self.embed = nn.Embedding(vocab_size, embed_size)
                self.hidden = nn.Linear((2 * window_size + 1) * embed_size, hidden_size)
                self.out = nn.Linear(hidden_size, n_classes)
                self.dropout = nn.Dropout(0.3)

            def forward(self, x):
                e = self.embed(x).view(x.shape[0], -1)
                return self.out(self.dropout(torch.tanh(self.hidden(e))))

        model = WindowModel(len(vocab), 8, window_size, 16, len(tags))
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        for epoch in range(5):
            model.train()
            perm = torch.randperm(n_train)
            total = 0.0
            for i in range(0, n_train, 40):
                idx = perm[i:i + 40]
                loss = F.cross_entropy(model(X[idx]), Y[idx])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
            print(f"epoch {epoch}: train loss {total / n_train:.4f}")
        model.eval()
        with torch.no_grad():
            pred = model(X[n_train:]).argmax(1)
        gold = Y[n_train:]
        confusion = torch.zeros(len(tags), len(tags), dtype=torch.long)
        for g, p in zip(gold.tolist(), pred.tolist()):
            confusion[g, p] += 1
        print(confusion)
        for k, tag in enumerate(tags):
            tp = confusion[k, k].item()
            prec = tp / max(confusion[:, k].sum().item(), 1)
            rec = tp / max(confusion[k].sum().item(), 1)
            f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0
            print(f"{tag:4s} P {prec:.2f} R {rec:.2f} F1 {f1:.2f}")
        acc = (pred == gold).float().mean()
        print(f"token accuracy {acc:.3f}")


SECTIONS = {
    "cs_w2v": section_word2vec, "cs_cooc": section_cooccurrence, "cs_parser": section_parser,
    "cs_nmt": section_nmt, "cs_window": section_window_ner,
}
