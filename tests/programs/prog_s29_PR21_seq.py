"""Programs in the style of the pytorch/examples repository's sequence, graph and reinforcement
learning programs, as their users run them (PR21, session 29; written afresh, synthetic data,
tiny sizes): word_language_model (a Dictionary / Corpus, batchify, get_batch,
repackage_hidden, RNN_TANH / LSTM / GRU and Transformer models with tied weights,
clip_grad_norm_, manual SGD, perplexity, generation with multinomial sampling),
time_sequence_prediction (an LSTMCell loop with future steps, LBFGS with a closure),
reinforcement_learning's reinforce and actor_critic (Categorical, normalised returns,
smooth_l1_loss), gcn (a sparse normalised adjacency, torch.sparse.mm) and gat (attention with
LeakyReLU, masked softmax), a language-translation-style seq2seq nn.Transformer (square
subsequent and padding masks, label-smoothed cross_entropy, greedy decoding) and legacy
snippets (Variable, .data, volatile replaced by no_grad, torch.jit.trace). Run by prog_s29_PR21_all.py.
"""
# ruff: noqa: B007, E501, E731, N801, N802, N806, N812, UP004, UP008, UP015, UP031, UP032 - the examples' code as written

import io
import math
import os
import tempfile
from collections import namedtuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s25_PR9_harness import printed, put
from torch.autograd import Variable
from torch.distributions import Categorical

WORDS = ("the cat sat on the mat . a dog ran to the park . the bird sang a song . "
         "a cat saw the dog . the dog sat on a log .").split()


class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


class Corpus(object):
    def __init__(self, path):
        self.dictionary = Dictionary()
        self.train = self.tokenize(os.path.join(path, 'train.txt'))
        self.valid = self.tokenize(os.path.join(path, 'valid.txt'))

    def tokenize(self, path):
        assert os.path.exists(path)
        with open(path, 'r', encoding="utf8") as f:
            for line in f:
                words = line.split() + ['<eos>']
                for word in words:
                    self.dictionary.add_word(word)
        with open(path, 'r', encoding="utf8") as f:
            idss = []
            for line in f:
                words = line.split() + ['<eos>']
                ids = []
                for word in words:
                    ids.append(self.dictionary.word2idx[word])
                idss.append(torch.tensor(ids).type(torch.int64))
            ids = torch.cat(idss)
        return ids


class RNNModel(nn.Module):
    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super(RNNModel, self).__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        if rnn_type in ['LSTM', 'GRU']:
            self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        else:
            try:
                nonlinearity = {'RNN_TANH': 'tanh', 'RNN_RELU': 'relu'}[rnn_type]
            except KeyError as e:
                raise ValueError("An invalid option for `--model` was supplied") from e
            self.rnn = nn.RNN(ninp, nhid, nlayers, nonlinearity=nonlinearity, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError('When using the tied flag, nhid must be equal to emsize')
            self.decoder.weight = self.encoder.weight
        self.init_weights()
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output)
        decoded = decoded.view(-1, self.ntoken)
        return F.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == 'LSTM':
            return (weight.new_zeros(self.nlayers, bsz, self.nhid),
                    weight.new_zeros(self.nlayers, bsz, self.nhid))
        else:
            return weight.new_zeros(self.nlayers, bsz, self.nhid)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=64):
        super(PositionalEncoding, self).__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer('pe', pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0), :]
        return self.dropout(x)


class TransformerModel(nn.Transformer):
    def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
        super(TransformerModel, self).__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid, num_encoder_layers=nlayers)
        self.model_type = 'Transformer'
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)
        self.init_weights()

    def _generate_square_subsequent_mask(self, sz):
        return torch.log(torch.tril(torch.ones(sz, sz)))

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, src, has_mask=True):
        if has_mask:
            device = src.device
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                mask = self._generate_square_subsequent_mask(len(src)).to(device)
                self.src_mask = mask
        else:
            self.src_mask = None
        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        output = self.decoder(output)
        return F.log_softmax(output, dim=-1)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    data = data.view(bsz, -1).t().contiguous()
    return data


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    else:
        return tuple(repackage_hidden(v) for v in h)


BPTT = 5


def get_batch(source, i):
    seq_len = min(BPTT, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


def _corpus(folder):
    text = " ".join(WORDS)
    for name, n in (("train.txt", 3), ("valid.txt", 1)):
        with open(os.path.join(folder, name), "w", encoding="utf8") as f:
            for k in range(n):
                f.write(text[k:] + "\n")
    return Corpus(folder)


def _wlm(model_name, section):
    with tempfile.TemporaryDirectory() as folder:
        corpus = _corpus(folder)
    eval_batch_size = 2
    train_data = batchify(corpus.train, 4)
    val_data = batchify(corpus.valid, eval_batch_size)
    ntokens = len(corpus.dictionary)
    criterion = nn.NLLLoss()
    lr, clip = 5.0, 0.25
    with printed(f"{section}.log"):
        print(ntokens, train_data.shape, val_data.shape, train_data.dtype)
        if model_name == 'Transformer':
            model = TransformerModel(ntokens, 16, 2, 32, 2, 0.2)
        else:
            model = RNNModel(model_name, ntokens, 16, 16, 2, 0.2, tie_weights=True)
        print(sum(p.numel() for p in model.parameters()))

        def evaluate(data_source):
            model.eval()
            total_loss = 0.
            if model_name != 'Transformer':
                hidden = model.init_hidden(eval_batch_size)
            with torch.no_grad():
                for i in range(0, data_source.size(0) - 1, BPTT):
                    data, targets = get_batch(data_source, i)
                    if model_name == 'Transformer':
                        output = model(data)
                        output = output.view(-1, ntokens)
                    else:
                        output, hidden = model(data, hidden)
                        hidden = repackage_hidden(hidden)
                    total_loss += len(data) * criterion(output, targets).item()
            return total_loss / (len(data_source) - 1)

        for epoch in range(1, 3):
            model.train()
            total_loss = 0.
            if model_name != 'Transformer':
                hidden = model.init_hidden(4)
            for batch, i in enumerate(range(0, train_data.size(0) - 1, BPTT)):
                data, targets = get_batch(train_data, i)
                model.zero_grad()
                if model_name == 'Transformer':
                    output = model(data)
                    output = output.view(-1, ntokens)
                else:
                    hidden = repackage_hidden(hidden)
                    output, hidden = model(data, hidden)
                loss = criterion(output, targets)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                for p in model.parameters():
                    p.data.add_(p.grad, alpha=-lr)
                total_loss += loss.item()
            cur_loss = total_loss / (batch + 1)
            print('| epoch {:3d} | {:5d} batches | lr {:02.2f} | loss {:5.2f} | ppl {:8.2f}'.format(
                epoch, batch + 1, lr, cur_loss, math.exp(cur_loss)))
            val_loss = evaluate(val_data)
            print('| end of epoch {:3d} | valid loss {:5.2f} | valid ppl {:8.2f}'.format(epoch, val_loss, math.exp(val_loss)))
            lr /= 4.0
        buffer = io.BytesIO()
        torch.save(model, buffer)
        buffer.seek(0)
        model = torch.load(buffer, weights_only=False)
        if model_name != 'Transformer':
            model.rnn.flatten_parameters()
        model.eval()
        input = torch.randint(ntokens, (1, 1), dtype=torch.long)
        if model_name != 'Transformer':
            hidden = model.init_hidden(1)
        words = []
        with torch.no_grad():
            for i in range(8):
                if model_name == 'Transformer':
                    output = model(input, False)
                    word_weights = output[-1].squeeze().div(1.0).exp().cpu()
                    word_idx = torch.multinomial(word_weights, 1)[0]
                    word_tensor = torch.Tensor([[word_idx]]).long()
                    input = torch.cat([input, word_tensor], 0)
                else:
                    output, hidden = model(input, hidden)
                    word_weights = output.squeeze().div(1.0).exp().cpu()
                    word_idx = torch.multinomial(word_weights, 1)[0]
                    input.fill_(word_idx)
                words.append(corpus.dictionary.idx2word[word_idx])
        print(' '.join(words), word_idx.dtype, input.shape)
    put(f"{section}.decoder", model.decoder.weight)


def section_wlm_lstm():
    _wlm('LSTM', "e21_wlm_lstm")


def section_wlm_gru():
    _wlm('GRU', "e21_wlm_gru")


def section_wlm_rnn():
    _wlm('RNN_TANH', "e21_wlm_rnn")


def section_wlm_transformer():
    _wlm('Transformer', "e21_wlm_tf")


class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, 12)
        self.lstm2 = nn.LSTMCell(12, 12)
        self.linear = nn.Linear(12, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), 12, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 12, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 12, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 12, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


def section_time_sequence():
    np.random.seed(2)
    T, L, N = 20, 30, 6
    x = np.empty((N, L), 'int64')
    x[:] = np.array(range(L)) + np.random.randint(-4 * T, 4 * T, N).reshape(N, 1)
    data = np.sin(x / 1.0 / T).astype('float64')
    input = torch.from_numpy(data[2:, :-1])
    target = torch.from_numpy(data[2:, 1:])
    test_input = torch.from_numpy(data[:2, :-1])
    test_target = torch.from_numpy(data[:2, 1:])
    with printed("e21_timeseq.log"):
        seq = Sequence()
        seq.double()
        criterion = nn.MSELoss()
        optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=4)
        for i in range(2):
            print('STEP: ', i)

            def closure():
                optimizer.zero_grad()
                out = seq(input)
                loss = criterion(out, target)
                print('loss:', loss.item())
                loss.backward()
                return loss
            optimizer.step(closure)
            with torch.no_grad():
                future = 5
                pred = seq(test_input, future=future)
                loss = criterion(pred[:, :-future], test_target)
                print('test loss:', loss.item())
                y = pred.detach().numpy()
            print(y.shape, y.dtype, np.round(y[0, -3:], 4))
        print(sorted(optimizer.state_dict()['state'][0]))
    put("e21_timeseq.pred", pred)


class Env:
    """A deterministic five-state corridor: reward 1 at the right end; an episode lasts at most
    12 steps."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.pos, self.t = 2, 0
        return self._obs()

    def _obs(self):
        obs = np.zeros(5, dtype=np.float32)
        obs[self.pos] = 1.0
        return obs

    def step(self, action):
        self.pos = max(0, min(4, self.pos + (1 if action == 1 else -1)))
        self.t += 1
        done = self.pos == 4 or self.t >= 12
        return self._obs(), (1.0 if self.pos == 4 else -0.05), done, {}


class Policy(nn.Module):
    def __init__(self):
        super(Policy, self).__init__()
        self.affine1 = nn.Linear(5, 16)
        self.dropout = nn.Dropout(p=0.6)
        self.affine2 = nn.Linear(16, 2)
        self.saved_log_probs = []
        self.rewards = []

    def forward(self, x):
        x = self.affine1(x)
        x = self.dropout(x)
        x = F.relu(x)
        action_scores = self.affine2(x)
        return F.softmax(action_scores, dim=1)


EPS = np.finfo(np.float32).eps.item()


def section_reinforce():
    env = Env()
    gamma = 0.99
    with printed("e21_reinforce.log"):
        policy = Policy()
        optimizer = optim.Adam(policy.parameters(), lr=1e-2)
        running_reward = 0
        for i_episode in range(1, 7):
            state, ep_reward = env.reset(), 0
            for t in range(1, 100):
                state = torch.from_numpy(state).float().unsqueeze(0)
                probs = policy(state)
                m = Categorical(probs)
                action = m.sample()
                policy.saved_log_probs.append(m.log_prob(action))
                state, reward, done, _ = env.step(action.item())
                policy.rewards.append(reward)
                ep_reward += reward
                if done:
                    break
            running_reward = 0.05 * ep_reward + (1 - 0.05) * running_reward
            R = 0
            policy_loss = []
            returns = []
            for r in policy.rewards[::-1]:
                R = r + gamma * R
                returns.insert(0, R)
            returns = torch.tensor(returns)
            returns = (returns - returns.mean()) / (returns.std() + EPS)
            for log_prob, R in zip(policy.saved_log_probs, returns):
                policy_loss.append(-log_prob * R)
            optimizer.zero_grad()
            policy_loss = torch.cat(policy_loss).sum()
            policy_loss.backward()
            optimizer.step()
            del policy.rewards[:]
            del policy.saved_log_probs[:]
            print('Episode {}\tLast reward: {:.2f}\tAverage reward: {:.2f}\tloss {:.4f}'.format(
                i_episode, ep_reward, running_reward, policy_loss.item()))
    put("e21_reinforce.w", policy.affine2.weight)


SavedAction = namedtuple('SavedAction', ['log_prob', 'value'])


class ActorCritic(nn.Module):
    def __init__(self):
        super(ActorCritic, self).__init__()
        self.affine1 = nn.Linear(5, 16)
        self.action_head = nn.Linear(16, 2)
        self.value_head = nn.Linear(16, 1)
        self.saved_actions = []
        self.rewards = []

    def forward(self, x):
        x = F.relu(self.affine1(x))
        action_prob = F.softmax(self.action_head(x), dim=-1)
        state_values = self.value_head(x)
        return action_prob, state_values


def section_actor_critic():
    env = Env()
    gamma = 0.99
    with printed("e21_ac.log"):
        model = ActorCritic()
        optimizer = optim.Adam(model.parameters(), lr=3e-2)
        for i_episode in range(1, 7):
            state, ep_reward = env.reset(), 0
            for t in range(1, 100):
                state_t = torch.from_numpy(state).float()
                probs, state_value = model(state_t)
                m = Categorical(probs)
                action = m.sample()
                model.saved_actions.append(SavedAction(m.log_prob(action), state_value))
                state, reward, done, _ = env.step(action.item())
                model.rewards.append(reward)
                ep_reward += reward
                if done:
                    break
            R = 0
            saved_actions = model.saved_actions
            policy_losses = []
            value_losses = []
            returns = []
            for r in model.rewards[::-1]:
                R = r + gamma * R
                returns.insert(0, R)
            returns = torch.tensor(returns)
            returns = (returns - returns.mean()) / (returns.std() + EPS)
            for (log_prob, value), R in zip(saved_actions, returns):
                advantage = R - value.item()
                policy_losses.append(-log_prob * advantage)
                value_losses.append(F.smooth_l1_loss(value, torch.tensor([R])))
            optimizer.zero_grad()
            loss = torch.stack(policy_losses).sum() + torch.stack(value_losses).sum()
            loss.backward()
            optimizer.step()
            del model.rewards[:]
            del model.saved_actions[:]
            print('Episode {}\tLast reward: {:.2f}\tloss {:.4f}\tsteps {}'.format(i_episode, ep_reward, loss.item(), t))
    put("e21_ac.w", model.value_head.weight)


def _graph(n, seed):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    features = F.one_hot(labels, 3).float() + 0.8 * torch.randn(n, 3, generator=g)
    features = torch.cat([features, torch.rand(n, 5, generator=g)], 1)
    edges = []
    for i in range(n):
        for j in range(n):
            if i < j and (labels[i] == labels[j]) == bool((i * 7 + j * 3) % 4 != 0) and (i + j) % 3 == 0:
                edges += [(i, j), (j, i)]
    edge_index = torch.tensor(edges, dtype=torch.long).t()
    return features, labels, edge_index


class GraphConv(nn.Module):
    def __init__(self, input_dim, output_dim, use_bias=False):
        super(GraphConv, self).__init__()
        self.kernel = nn.Parameter(torch.Tensor(input_dim, output_dim))
        nn.init.xavier_normal_(self.kernel)
        self.bias = None
        if use_bias:
            self.bias = nn.Parameter(torch.Tensor(output_dim))
            nn.init.zeros_(self.bias)

    def forward(self, input_tensor, adj_mat):
        support = torch.mm(input_tensor, self.kernel)
        output = torch.spmm(adj_mat, support)
        if self.bias is not None:
            output = output + self.bias
        return output


class GCN(nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim, use_bias=True, dropout_p=0.1):
        super(GCN, self).__init__()
        self.gc1 = GraphConv(input_dim, hidden_dim, use_bias=use_bias)
        self.gc2 = GraphConv(hidden_dim, output_dim, use_bias=use_bias)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, input_tensor, adj_mat):
        x = self.gc1(input_tensor, adj_mat)
        x = F.relu(x)
        x = self.dropout(x)
        x = self.gc2(x, adj_mat)
        return F.log_softmax(x, dim=1)


def section_gcn():
    n = 24
    features, labels, edge_index = _graph(n, 7)
    with printed("e21_gcn.log"):
        adj = torch.sparse_coo_tensor(edge_index, torch.ones(edge_index.size(1)), (n, n))
        adj = adj + torch.eye(n).to_sparse()
        deg = torch.sparse.sum(adj, dim=1).to_dense()
        d_inv_sqrt = deg.pow(-0.5)
        d_inv_sqrt[torch.isinf(d_inv_sqrt)] = 0.
        d_mat = torch.diag(d_inv_sqrt)
        adj_norm = (d_mat @ adj.to_dense() @ d_mat).to_sparse()
        print(adj.is_sparse, adj._nnz(), adj_norm.coalesce().indices().shape, deg[:6])
        idx_train, idx_val = torch.arange(0, 12), torch.arange(12, 24)
        model = GCN(features.size(1), 16, 3)
        optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
        criterion = nn.NLLLoss()
        for epoch in range(1, 11):
            model.train()
            optimizer.zero_grad()
            output = model(features, adj_norm)
            loss = criterion(output[idx_train], labels[idx_train])
            loss.backward()
            optimizer.step()
            if epoch % 3 == 1:
                model.eval()
                with torch.no_grad():
                    output = model(features, adj_norm)
                    val_loss = criterion(output[idx_val], labels[idx_val])
                    val_acc = output[idx_val].argmax(1).eq(labels[idx_val]).sum().item() / len(idx_val)
                print(f'Epoch: {epoch:04d}, Train loss: {loss.item():.4f}, Val loss: {val_loss.item():.4f}, Val acc: {val_acc:.4f}')
    put("e21_gcn.kernel", model.gc2.kernel)


class GraphAttentionLayer(nn.Module):
    def __init__(self, in_features, out_features, n_heads, concat=False, dropout=0.4, leaky_relu_slope=0.2):
        super(GraphAttentionLayer, self).__init__()
        self.n_heads = n_heads
        self.concat = concat
        self.dropout = dropout
        if concat:
            self.out_features = out_features
            assert out_features % n_heads == 0
            self.n_hidden = out_features // n_heads
        else:
            self.n_hidden = out_features
        self.W = nn.Parameter(torch.empty(size=(in_features, self.n_hidden * n_heads)))
        self.a = nn.Parameter(torch.empty(size=(n_heads, 2 * self.n_hidden, 1)))
        self.leakyrelu = nn.LeakyReLU(leaky_relu_slope)
        self.softmax = nn.Softmax(dim=1)
        nn.init.xavier_normal_(self.W)
        nn.init.xavier_normal_(self.a)

    def _get_attention_scores(self, h_transformed):
        source_scores = torch.matmul(h_transformed, self.a[:, :self.n_hidden, :])
        target_scores = torch.matmul(h_transformed, self.a[:, self.n_hidden:, :])
        e = source_scores + target_scores.mT
        return self.leakyrelu(e)

    def forward(self, h, adj_mat):
        n_nodes = h.shape[0]
        h_transformed = torch.mm(h, self.W)
        h_transformed = F.dropout(h_transformed, self.dropout, training=self.training)
        h_transformed = h_transformed.view(n_nodes, self.n_heads, self.n_hidden).permute(1, 0, 2)
        e = self._get_attention_scores(h_transformed)
        connectivity_mask = -9e16 * torch.ones_like(e)
        e = torch.where(adj_mat > 0, e, connectivity_mask)
        attention = F.softmax(e, dim=-1)
        attention = F.dropout(attention, self.dropout, training=self.training)
        h_prime = torch.matmul(attention, h_transformed)
        if self.concat:
            h_prime = h_prime.permute(1, 0, 2).contiguous().view(n_nodes, self.out_features)
        else:
            h_prime = h_prime.mean(dim=0)
        return h_prime


class GAT(nn.Module):
    def __init__(self, in_features, n_hidden, n_heads, num_classes, concat=False, dropout=0.4, leaky_relu_slope=0.2):
        super(GAT, self).__init__()
        self.gat1 = GraphAttentionLayer(in_features=in_features, out_features=n_hidden, n_heads=n_heads, concat=concat, dropout=dropout, leaky_relu_slope=leaky_relu_slope)
        self.gat2 = GraphAttentionLayer(in_features=n_hidden, out_features=num_classes, n_heads=1, concat=False, dropout=dropout, leaky_relu_slope=leaky_relu_slope)

    def forward(self, input_tensor, adj_mat):
        x = self.gat1(input_tensor, adj_mat)
        x = F.elu(x)
        x = self.gat2(x, adj_mat)
        return F.log_softmax(x, dim=1)


def section_gat():
    n = 20
    features, labels, edge_index = _graph(n, 8)
    with printed("e21_gat.log"):
        adj_mat = torch.zeros(n, n)
        adj_mat[edge_index[0], edge_index[1]] = 1
        adj_mat = adj_mat + torch.eye(n)
        print(adj_mat.sum().item(), (adj_mat > 0).sum(1)[:8])
        gat_net = GAT(in_features=features.shape[1], n_hidden=8, n_heads=2, num_classes=3, concat=True, dropout=0.3)
        optimizer = optim.Adam(gat_net.parameters(), lr=0.005, weight_decay=5e-4)
        criterion = nn.NLLLoss()
        idx = torch.randperm(n)
        idx_train, idx_test = idx[:12], idx[12:]
        for epoch in range(1, 9):
            gat_net.train()
            optimizer.zero_grad()
            y = gat_net(features, adj_mat)
            loss = criterion(y[idx_train], labels[idx_train])
            loss.backward()
            optimizer.step()
            if epoch % 3 == 0:
                gat_net.eval()
                with torch.no_grad():
                    out = gat_net(features, adj_mat)
                    acc = out[idx_test].argmax(dim=1).eq(labels[idx_test]).sum().item() / len(idx_test)
                print(f'Epoch: {epoch:02d} | Loss: {loss.item():.4f} | Test acc: {acc:.3f}')
    put("e21_gat.out", out)


PAD_IDX, BOS_IDX, EOS_IDX = 1, 2, 3


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size, emb_size):
        super(TokenEmbedding, self).__init__()
        self.embedding = nn.Embedding(vocab_size, emb_size)
        self.emb_size = emb_size

    def forward(self, tokens):
        return self.embedding(tokens.long()) * math.sqrt(self.emb_size)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, num_encoder_layers, num_decoder_layers, emb_size, nhead, src_vocab_size, tgt_vocab_size, dim_feedforward=32, dropout=0.1):
        super(Seq2SeqTransformer, self).__init__()
        self.transformer = nn.Transformer(d_model=emb_size, nhead=nhead, num_encoder_layers=num_encoder_layers,
                                          num_decoder_layers=num_decoder_layers, dim_feedforward=dim_feedforward,
                                          dropout=dropout, batch_first=True)
        self.generator = nn.Linear(emb_size, tgt_vocab_size)
        self.src_tok_emb = TokenEmbedding(src_vocab_size, emb_size)
        self.tgt_tok_emb = TokenEmbedding(tgt_vocab_size, emb_size)
        self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

    def _pos(self, x):
        return self.positional_encoding(x.transpose(0, 1)).transpose(0, 1)

    def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, memory_key_padding_mask):
        src_emb = self._pos(self.src_tok_emb(src))
        tgt_emb = self._pos(self.tgt_tok_emb(trg))
        outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
        return self.generator(outs)

    def encode(self, src, src_mask):
        return self.transformer.encoder(self._pos(self.src_tok_emb(src)), src_mask)

    def decode(self, tgt, memory, tgt_mask):
        return self.transformer.decoder(self._pos(self.tgt_tok_emb(tgt)), memory, tgt_mask)


def create_mask(src, tgt):
    src_seq_len = src.shape[1]
    tgt_seq_len = tgt.shape[1]
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(tgt_seq_len)
    src_mask = torch.zeros((src_seq_len, src_seq_len)).type(torch.bool)
    src_padding_mask = (src == PAD_IDX)
    tgt_padding_mask = (tgt == PAD_IDX)
    return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask


def greedy_decode(model, src, src_mask, max_len, start_symbol):
    memory = model.encode(src, src_mask)
    ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long)
    for i in range(max_len - 1):
        tgt_mask = (nn.Transformer.generate_square_subsequent_mask(ys.size(1)).type(torch.bool))
        out = model.decode(ys, memory, tgt_mask)
        prob = model.generator(out[:, -1])
        _, next_word = torch.max(prob, dim=1)
        next_word = next_word.item()
        ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=1)
        if next_word == EOS_IDX:
            break
    return ys


def section_translation():
    vocab = 12
    g = torch.Generator().manual_seed(3)
    pairs = []
    for _ in range(16):
        n = int(torch.randint(2, 6, (1,), generator=g))
        s = torch.randint(4, vocab, (n,), generator=g)
        pairs.append((s, s.flip(0)))

    def collate_fn(batch):
        src_batch, tgt_batch = [], []
        for s, t in batch:
            src_batch.append(torch.cat([torch.tensor([BOS_IDX]), s, torch.tensor([EOS_IDX])]))
            tgt_batch.append(torch.cat([torch.tensor([BOS_IDX]), t, torch.tensor([EOS_IDX])]))
        src_batch = nn.utils.rnn.pad_sequence(src_batch, padding_value=PAD_IDX, batch_first=True)
        tgt_batch = nn.utils.rnn.pad_sequence(tgt_batch, padding_value=PAD_IDX, batch_first=True)
        return src_batch, tgt_batch

    loader = torch.utils.data.DataLoader(pairs, batch_size=8, collate_fn=collate_fn)
    with printed("e21_translate.log"):
        model = Seq2SeqTransformer(2, 2, 16, 2, vocab, vocab)
        for p in model.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_IDX, label_smoothing=0.1)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.98), eps=1e-9)
        for epoch in range(1, 4):
            model.train()
            losses = 0
            for src, tgt in loader:
                tgt_input = tgt[:, :-1]
                src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
                logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask, src_padding_mask)
                optimizer.zero_grad()
                tgt_out = tgt[:, 1:]
                loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
                loss.backward()
                optimizer.step()
                losses += loss.item()
            print(f"Epoch: {epoch}, Train loss: {losses / len(loader):.3f}")
        print(tgt_mask, src_padding_mask[0])
        model.eval()
        src = torch.tensor([[BOS_IDX, 5, 6, 7, EOS_IDX]])
        num_tokens = src.shape[1]
        src_mask = (torch.zeros(num_tokens, num_tokens)).type(torch.bool)
        with torch.no_grad():
            tgt_tokens = greedy_decode(model, src, src_mask, max_len=num_tokens + 3, start_symbol=BOS_IDX).flatten()
        print(tgt_tokens.tolist(), tgt_tokens.dtype)
    put("e21_translate.gen", model.generator.weight)


def section_legacy():
    with printed("e21_legacy.log"):
        x = Variable(torch.randn(3, 4), requires_grad=True)
        w = torch.autograd.Variable(torch.randn(4, 2), requires_grad=True)
        y = Variable(torch.ones(3, 2))
        print(type(x).__name__, x.requires_grad, y.requires_grad, isinstance(x, torch.Tensor))
        out = x.mm(w)
        loss = (out - y).pow(2).sum()
        loss.backward()
        print(x.grad.data.shape, w.grad.data.sum(), loss.data, loss.data.item(), loss.data[()])
        w.data -= 0.01 * w.grad.data
        w.grad.data.zero_()
        print(w.grad, w.requires_grad, w.data.requires_grad, w.is_leaf)
        with torch.no_grad():
            z = x.mm(w)
        print(z.requires_grad, z.grad_fn)
        v = Variable(torch.ones(2), volatile=True)
        print(v.requires_grad)
        h = x.data.new(2, 3).zero_()
        print(h, h.dtype, x.data.new_zeros(1).dtype, torch.FloatTensor(2).shape, torch.LongTensor([1, 2]).dtype)
        a = torch.Tensor([[1, 2], [3, 4]])
        print(a.type(), a.long().type(), torch.from_numpy(np.ones(2)).type(), a.cpu().numpy().sum())
        print(x.size(0), x.dim(), x.nelement(), x[0, 0].item() == float(x.data[0][0]))
        v2 = Variable(a)
        print(v2.volatile if hasattr(v2, 'volatile') else None, v2.grad_fn, v2.data is a)
        m = nn.Linear(2, 2)
        for param in m.parameters():
            param.data.uniform_(-0.1, 0.1)
        print(m.weight.data.abs().max().item() <= 0.1, F.softmax(Variable(a), dim=1))
        traced = torch.jit.trace(m, torch.ones(1, 2))
        print(torch.equal(traced(a), m(a)), torch.jit.trace(lambda t: t * 2, (a,))(a)[0])
    put("e21_legacy.w", w)


SECTIONS = {
    "e21_wlm_lstm": section_wlm_lstm, "e21_wlm_gru": section_wlm_gru,
    "e21_wlm_rnn": section_wlm_rnn, "e21_wlm_tf": section_wlm_transformer,
    "e21_timeseq": section_time_sequence, "e21_reinforce": section_reinforce,
    "e21_ac": section_actor_critic, "e21_gcn": section_gcn, "e21_gat": section_gat,
    "e21_translate": section_translation, "e21_legacy": section_legacy,
}
