"""A GCN (Kipf's pygcn: sparse adjacency, torch.sparse.mm / spmm) and a GAT from scratch
(index_add_ / scatter_reduce) on a random graph, and the PyTorch tutorial's GRU seq2seq with
Bahdanau attention (P1, session 9); sections gcn, seq2seq, run by prog_s9_P1_examples.py (the
harness is prog_s9_P1_llm.py's).
"""

import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from prog_s9_P1_llm import put, run_sections


def put_params(prefix: str, module: nn.Module) -> None:
    for name, tensor in module.state_dict().items():
        put(f"{prefix}.{name}", tensor)


# ----------------------------------------------------------------------------------- GCN / GAT

def section_gcn(workdir: str) -> None:
    torch.manual_seed(7)
    n, f, c = 14, 6, 3
    edges = torch.randint(0, n, (2, 30))
    edges = torch.cat([edges, edges.flip(0)], dim=1)
    features = torch.randn(n, f)
    labels = torch.randint(0, c, (n,))
    idx_train, idx_val = torch.arange(0, 8), torch.arange(8, n)

    # Kipf's pygcn: row-normalised sparse adjacency with self-loops, torch.sparse.mm / spmm
    values = torch.ones(edges.shape[1])
    adj = torch.sparse_coo_tensor(edges, values, (n, n)).coalesce()
    adj = (adj + torch.eye(n).to_sparse()).coalesce()
    dense = adj.to_dense().clamp(max=1)
    rowsum = dense.sum(1)
    r_inv = rowsum.pow(-1).flatten()
    r_inv[torch.isinf(r_inv)] = 0.0
    adj = (torch.diag(r_inv) @ dense).to_sparse()

    class GraphConvolution(nn.Module):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__()
            self.weight = nn.Parameter(torch.FloatTensor(in_features, out_features))
            self.bias = nn.Parameter(torch.FloatTensor(out_features)) if bias else None
            self.reset_parameters()

        def reset_parameters(self):
            stdv = 1.0 / (self.weight.size(1) ** 0.5)
            self.weight.data.uniform_(-stdv, stdv)
            if self.bias is not None:
                self.bias.data.uniform_(-stdv, stdv)

        def forward(self, input, adj):
            support = torch.mm(input, self.weight)
            output = torch.spmm(adj, support)
            return output + self.bias if self.bias is not None else output

    class GCN(nn.Module):
        def __init__(self):
            super().__init__()
            self.gc1 = GraphConvolution(f, 8)
            self.gc2 = GraphConvolution(8, c)
            self.dropout = 0.5

        def forward(self, x, adj):
            x = F.relu(self.gc1(x, adj))
            x = F.dropout(x, self.dropout, training=self.training)
            x = torch.sparse.mm(adj, x @ self.gc2.weight) + self.gc2.bias
            return F.log_softmax(x, dim=1)

    def accuracy(output, labels):
        preds = output.max(1)[1].type_as(labels)
        correct = preds.eq(labels).double()
        return correct.sum() / len(labels)

    model = GCN()
    optimizer = optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    rows = []
    for _epoch in range(6):
        model.train()
        optimizer.zero_grad()
        output = model(features, adj)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        acc_train = accuracy(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()
        model.eval()
        output = model(features, adj)
        loss_val = F.nll_loss(output[idx_val], labels[idx_val])
        rows.append(torch.stack([loss_train, acc_train.float(), loss_val]))
    put("gcn.rows", torch.stack(rows))
    put_params("gcn.params", model)

    # GAT from scratch with edge lists: index_add_ / scatter_reduce softmax over neighbours
    class GATLayer(nn.Module):
        def __init__(self, in_f, out_f, heads):
            super().__init__()
            self.heads, self.out_f = heads, out_f
            self.W = nn.Linear(in_f, heads * out_f, bias=False)
            self.a_src = nn.Parameter(torch.empty(1, heads, out_f))
            self.a_dst = nn.Parameter(torch.empty(1, heads, out_f))
            nn.init.xavier_uniform_(self.W.weight, gain=1.414)
            nn.init.xavier_uniform_(self.a_src, gain=1.414)
            nn.init.xavier_uniform_(self.a_dst, gain=1.414)

        def forward(self, x, edge_index):
            src, dst = edge_index
            h = self.W(x).view(-1, self.heads, self.out_f)
            e = F.leaky_relu((h * self.a_src).sum(-1)[src] + (h * self.a_dst).sum(-1)[dst], 0.2)
            e_max = torch.full((x.size(0), self.heads), -1e9).scatter_reduce(
                0, dst.unsqueeze(-1).expand_as(e), e, reduce="amax", include_self=True)
            e = (e - e_max[dst]).exp()
            denom = torch.zeros(x.size(0), self.heads).index_add_(0, dst, e)
            alpha = e / (denom[dst] + 1e-16)
            alpha = F.dropout(alpha, 0.2, training=self.training)
            out = torch.zeros_like(h).index_add_(0, dst, h[src] * alpha.unsqueeze(-1))
            return out

    loops = torch.arange(n).repeat(2, 1)
    edge_index = torch.cat([edges, loops], dim=1)
    layer1, layer2 = GATLayer(f, 4, 2), GATLayer(8, c, 1)
    params = list(layer1.parameters()) + list(layer2.parameters())
    opt = optim.Adam(params, lr=5e-3, weight_decay=5e-4)
    gat_losses = []
    for _ in range(5):
        opt.zero_grad()
        hidden = F.elu(layer1(features, edge_index).flatten(1))
        out = layer2(hidden, edge_index).mean(1)
        loss = F.cross_entropy(out[idx_train], labels[idx_train])
        loss.backward()
        opt.step()
        gat_losses.append(loss.item())
    put("gcn.gat_losses", np.array(gat_losses))
    put("gcn.gat_params", [p.detach() for p in params])


# ------------------------------------------------------------------ seq2seq GRU + Bahdanau

def section_seq2seq(workdir: str) -> None:
    SOS_token, EOS_token, MAX_LENGTH, vocab, hidden_size = 0, 1, 6, 9, 16

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size, dropout_p=0.1):
            super().__init__()
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input):
            embedded = self.dropout(self.embedding(input))
            return self.gru(embedded)

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
                if target_tensor is not None and random.random() < 0.5:
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
            return self.out(output), hidden, attn_weights

    torch.manual_seed(11)
    random.seed(11)
    n = 12
    lengths = torch.randint(2, MAX_LENGTH, (n,))
    input_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
    target_ids = np.zeros((n, MAX_LENGTH), dtype=np.int32)
    for i in range(n):
        seq = torch.randint(2, vocab, (int(lengths[i]),)).tolist() + [EOS_token]
        input_ids[i, :len(seq)] = seq
        target_ids[i, :len(seq)] = list(reversed(seq[:-1])) + [EOS_token]
    train_data = torch.utils.data.TensorDataset(torch.LongTensor(input_ids),
                                                torch.LongTensor(target_ids))
    sampler = torch.utils.data.RandomSampler(train_data)
    loader = torch.utils.data.DataLoader(train_data, sampler=sampler, batch_size=4)
    encoder = EncoderRNN(vocab, hidden_size)
    decoder = AttnDecoderRNN(hidden_size, vocab)
    encoder_optimizer = optim.Adam(encoder.parameters(), lr=1e-2)
    decoder_optimizer = optim.Adam(decoder.parameters(), lr=1e-2)
    criterion = nn.NLLLoss()
    losses = []
    for _epoch in range(3):
        total_loss = 0
        for input_tensor, target_tensor in loader:
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
        losses.append(total_loss / len(loader))
    put("seq2seq.losses", np.array(losses))
    encoder.eval()
    decoder.eval()
    with torch.no_grad():
        encoder_outputs, encoder_hidden = encoder(torch.LongTensor(input_ids[:3]))
        decoder_outputs, decoder_hidden, attn = decoder(encoder_outputs, encoder_hidden)
        _, topi = decoder_outputs.topk(1)
        decoded_ids = topi.squeeze()
    put("seq2seq.decoded", decoded_ids)
    put("seq2seq.attn", attn)
    put("seq2seq.hidden", decoder_hidden)
    put_params("seq2seq.encoder", encoder)
    put_params("seq2seq.decoder", decoder)


SECTIONS = {"gcn": section_gcn, "seq2seq": section_seq2seq}


if __name__ == "__main__":
    run_sections(SECTIONS)
