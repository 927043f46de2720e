"""CS224N's minBERT and CS231n's captioning assignments, written afresh (PR2, session 19):
a BERT model (word, position and token-type embeddings, an extended attention mask made with
the module's ``dtype`` property, self-attention with transpose_for_scores, add-norm layers,
a tanh pooler), an AdamW written as a ``torch.optim.Optimizer`` subclass (state per parameter,
closures, bias-corrected step size) checked against torch.optim.AdamW, a Lookahead wrapper
optimizer, sentiment and paraphrase heads; and the captioning RNN / LSTM with their
backward passes written by hand (the word-embedding backward by ``index_put_`` with
accumulation, a temporal softmax loss with a mask) checked against autograd, then trained and
sampled greedily. Tiny sizes; run by prog_s19_PR_all.py.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch.optim import Optimizer


class BertSelfAttention(nn.Module):
    def __init__(self, hidden, heads, dropout):
        super().__init__()
        self.num_attention_heads = heads
        self.attention_head_size = hidden // heads
        self.all_head_size = hidden
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)

    def transform(self, x, linear_layer):
        bs, seq_len = x.shape[:2]
        proj = linear_layer(x)
        proj = proj.view(bs, seq_len, self.num_attention_heads, self.attention_head_size)
        return proj.transpose(1, 2)

    def attention(self, key, query, value, attention_mask):
        scores = query @ key.transpose(-1, -2) / math.sqrt(self.attention_head_size)
        scores = scores + attention_mask
        probs = self.dropout(F.softmax(scores, dim=-1))
        out = (probs @ value).transpose(1, 2).contiguous()
        return out.view(*out.shape[:2], self.all_head_size)

    def forward(self, hidden_states, attention_mask):
        key_layer = self.transform(hidden_states, self.key)
        value_layer = self.transform(hidden_states, self.value)
        query_layer = self.transform(hidden_states, self.query)
        return self.attention(key_layer, query_layer, value_layer, attention_mask)


class BertLayer(nn.Module):
    def __init__(self, hidden, heads, intermediate, dropout=0.1, eps=1e-12):
        super().__init__()
        self.self_attention = BertSelfAttention(hidden, heads, dropout)
        self.attention_dense = nn.Linear(hidden, hidden)
        self.attention_layer_norm = nn.LayerNorm(hidden, eps=eps)
        self.attention_dropout = nn.Dropout(dropout)
        self.interm_dense = nn.Linear(hidden, intermediate)
        self.interm_af = F.gelu
        self.out_dense = nn.Linear(intermediate, hidden)
        self.out_layer_norm = nn.LayerNorm(hidden, eps=eps)
        self.out_dropout = nn.Dropout(dropout)

    def add_norm(self, input, output, dense_layer, dropout, ln_layer):
        return ln_layer(input + dropout(dense_layer(output)))

    def forward(self, hidden_states, attention_mask):
        attn = self.self_attention(hidden_states, attention_mask)
        hidden = self.add_norm(hidden_states, attn, self.attention_dense,
                               self.attention_dropout, self.attention_layer_norm)
        interm = self.interm_af(self.interm_dense(hidden))
        return self.add_norm(hidden, interm, self.out_dense, self.out_dropout,
                             self.out_layer_norm)


def get_extended_attention_mask(attention_mask, dtype):
    extended = attention_mask[:, None, None, :]
    extended = extended.to(dtype=dtype)
    return (1.0 - extended) * -10000.0


class BertModel(nn.Module):
    def __init__(self, vocab=31, hidden=16, heads=2, layers=2, max_pos=12, type_vocab=2):
        super().__init__()
        self.word_embedding = nn.Embedding(vocab, hidden, padding_idx=0)
        self.pos_embedding = nn.Embedding(max_pos, hidden)
        self.tk_type_embedding = nn.Embedding(type_vocab, hidden)
        self.embed_layer_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.embed_dropout = nn.Dropout(0.1)
        position_ids = torch.arange(max_pos).unsqueeze(0)
        self.register_buffer("position_ids", position_ids)
        self.bert_layers = nn.ModuleList([BertLayer(hidden, heads, 4 * hidden)
                                          for _ in range(layers)])
        self.pooler_dense = nn.Linear(hidden, hidden)
        self.pooler_af = nn.Tanh()
        self.apply(self.init_weights)

    @property
    def dtype(self):
        return next(self.parameters()).dtype

    def init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            module.weight.data.normal_(mean=0.0, std=0.02)
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()

    def embed(self, input_ids, token_type_ids=None):
        seq_length = input_ids.size(1)
        inputs_embeds = self.word_embedding(input_ids)
        pos_ids = self.position_ids[:, :seq_length]
        pos_embeds = self.pos_embedding(pos_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros(input_ids.size(), dtype=torch.long,
                                         device=input_ids.device)
        tk_type_embeds = self.tk_type_embedding(token_type_ids)
        embeds = inputs_embeds + pos_embeds + tk_type_embeds
        return self.embed_dropout(self.embed_layer_norm(embeds))

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        hidden = self.embed(input_ids, token_type_ids)
        extended = get_extended_attention_mask(attention_mask, self.dtype)
        for layer_module in self.bert_layers:
            hidden = layer_module(hidden, extended)
        first_tk = self.pooler_af(self.pooler_dense(hidden[:, 0]))
        return {"last_hidden_state": hidden, "pooler_output": first_tk}


class AdamW(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0,
                 correct_bias=True):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr} - should be >= 0.0")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        correct_bias=correct_bias)
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.data
                if grad.is_sparse:
                    raise RuntimeError("Adam does not support sparse gradients")
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p.data)
                    state["exp_avg_sq"] = torch.zeros_like(p.data)
                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                beta1, beta2 = group["betas"]
                state["step"] += 1
                exp_avg.mul_(beta1).add_(grad, alpha=1.0 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                denom = exp_avg_sq.sqrt().add_(group["eps"])
                step_size = group["lr"]
                if group["correct_bias"]:
                    bias_correction1 = 1.0 - beta1 ** state["step"]
                    bias_correction2 = 1.0 - beta2 ** state["step"]
                    step_size = step_size * math.sqrt(bias_correction2) / bias_correction1
                p.data.addcdiv_(exp_avg, denom, value=-step_size)
                if group["weight_decay"] > 0.0:
                    p.data.add_(p.data, alpha=-group["lr"] * group["weight_decay"])
        return loss


class Lookahead(Optimizer):
    def __init__(self, base_optimizer, alpha=0.5, k=3):
        self.optimizer = base_optimizer
        self.alpha, self.k = alpha, k
        self.param_groups = self.optimizer.param_groups
        self.state = self.optimizer.state
        self.defaults = self.optimizer.defaults
        self.slow = [[p.detach().clone() for p in group["params"]]
                     for group in self.param_groups]
        self.counter = 0

    # (zero_grad and state_dict handed to the wrapped optimizer, as wrapper implementations do:
    # PyTorch's own, reached without Optimizer.__init__, patch step with hooks this object
    # lacks and raise AttributeError; deltagrad's run, a divergence PR2 reported)
    def zero_grad(self, set_to_none=True):
        self.optimizer.zero_grad(set_to_none)

    def state_dict(self):
        return {"inner": self.optimizer.state_dict(), "slow": self.slow, "counter": self.counter}

    def step(self, closure=None):
        loss = self.optimizer.step(closure)
        self.counter += 1
        if self.counter % self.k == 0:
            for group, slow in zip(self.param_groups, self.slow):
                for p, q in zip(group["params"], slow):
                    q.add_(p.data - q, alpha=self.alpha)
                    p.data.copy_(q)
        return loss


def _bert_batch():
    ids = torch.randint(1, 31, (6, 10))
    mask = torch.ones(6, 10, dtype=torch.long)
    mask[1, 7:] = 0
    mask[4, 5:] = 0
    ids[mask == 0] = 0
    types = torch.zeros_like(ids)
    types[:, 5:] = 1
    return ids, mask, types


def section_bert() -> None:
    bert = BertModel()
    head = nn.Linear(16, 3)
    ids, mask, types = _bert_batch()
    labels = torch.tensor([0, 1, 2, 1, 0, 2])
    params = [*bert.parameters(), *head.parameters()]
    opt = AdamW(params, lr=1e-2, weight_decay=0.01)
    losses = []
    for _ in range(4):
        bert.train()

        def closure():
            opt.zero_grad()
            out = bert(ids, mask, types)
            loss = F.cross_entropy(head(F.dropout(out["pooler_output"], 0.1)), labels,
                                   reduction="sum") / len(labels)
            loss.backward()
            return loss

        losses.append(opt.step(closure).item())
    put("bert.losses", losses)
    put("bert.state_steps", [opt.state[p]["step"] for p in params[:3]])
    put("bert.exp_avg", opt.state[head.weight]["exp_avg"])
    put_state("bert.state", bert)
    bert.eval()
    with torch.no_grad():
        out = bert(ids, mask, types)
    put("bert.hidden", out["last_hidden_state"])
    put("bert.dtype", str(bert.dtype))
    # padded positions change nothing for the others
    ids2 = ids.clone()
    ids2[1, 7:] = 5
    with torch.no_grad():
        out2 = bert(ids2, mask, types)
    put("bert.mask_effect", (out2["last_hidden_state"][1, :7]
                             - out["last_hidden_state"][1, :7]).abs().max())
    # paraphrase head: cosine similarity of pooled outputs, BCE with logits
    with torch.no_grad():
        a, b = bert(ids[:3], mask[:3])["pooler_output"], bert(ids[3:], mask[3:])["pooler_output"]
    sim = F.cosine_similarity(a, b)
    put("bert.paraphrase", [sim, F.binary_cross_entropy_with_logits(sim, torch.tensor(
        [1.0, 0.0, 1.0]))])
    # the hand-written AdamW against torch.optim.AdamW (with the same eps and decay order)
    w1 = nn.Parameter(torch.randn(4, 3))
    w2 = nn.Parameter(w1.detach().clone())
    mine = AdamW([w1], lr=0.05, eps=1e-6, weight_decay=0.0)
    theirs = torch.optim.AdamW([w2], lr=0.05, eps=1e-6, weight_decay=0.0)
    x = torch.randn(5, 4)
    for _ in range(5):
        for w, o in ((w1, mine), (w2, theirs)):
            o.zero_grad()
            (x @ w).tanh().sum().backward()
            o.step()
    put("bert.adamw_vs_torch", (w1 - w2).abs().max())
    # Lookahead around SGD: slow weights every k steps; the wrapped state dict
    w3 = nn.Parameter(torch.randn(4, 3))
    la = Lookahead(torch.optim.SGD([w3], lr=0.1, momentum=0.9), alpha=0.5, k=2)
    trace = []
    for _ in range(5):
        la.zero_grad()
        (x @ w3).pow(2).mean().backward()
        la.step()
        trace.append(w3.detach().clone())
    put("bert.lookahead", trace)
    put("bert.lookahead_state", la.state_dict()["inner"]["state"][0]["momentum_buffer"])
    put("bert.lookahead_slow", la.state_dict()["slow"][0])


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = torch.tanh(prev_h @ Wh + x @ Wx + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    dz = dnext_h * (1 - next_h ** 2)
    return dz @ Wx.T, dz @ Wh.T, x.T @ dz, prev_h.T @ dz, dz.sum(0)


def rnn_forward(x, h0, Wx, Wh, b):
    n, t, _ = x.shape
    h = torch.zeros(n, t, h0.shape[1], dtype=x.dtype)
    caches, prev = [], h0
    for i in range(t):
        prev, cache = rnn_step_forward(x[:, i], prev, Wx, Wh, b)
        h[:, i] = prev
        caches.append(cache)
    return h, caches


def rnn_backward(dh, caches):
    n, t, hd = dh.shape
    x0, _, Wx, Wh, _ = caches[0]
    dx = torch.zeros(n, t, x0.shape[1], dtype=dh.dtype)
    dWx, dWh, db = torch.zeros_like(Wx), torch.zeros_like(Wh), torch.zeros(hd, dtype=dh.dtype)
    dprev = torch.zeros(n, hd, dtype=dh.dtype)
    for i in reversed(range(t)):
        dx[:, i], dprev, dwx, dwh, dbi = rnn_step_backward(dh[:, i] + dprev, caches[i])
        dWx += dwx
        dWh += dwh
        db += dbi
    return dx, dprev, dWx, dWh, db


def word_embedding_backward(dout, x, vocab):
    dW = torch.zeros(vocab, dout.shape[-1], dtype=dout.dtype)
    dW.index_put_((x,), dout, accumulate=True)
    return dW


def temporal_softmax_loss(x, y, mask):
    n, t, v = x.shape
    x_flat, y_flat, mask_flat = x.reshape(n * t, v), y.reshape(n * t), mask.reshape(n * t)
    probs = torch.exp(x_flat - x_flat.max(dim=1, keepdim=True).values)
    probs /= probs.sum(dim=1, keepdim=True)
    loss = -(mask_flat * torch.log(probs[torch.arange(n * t), y_flat])).sum() / n
    dx_flat = probs.clone()
    dx_flat[torch.arange(n * t), y_flat] -= 1
    dx_flat /= n
    dx_flat *= mask_flat[:, None]
    return loss, dx_flat.reshape(n, t, v)


def section_caption() -> None:
    D = torch.float64
    n, t, v, wd, hd, fd = 3, 5, 9, 4, 6, 7
    params = {"W_proj": torch.randn(fd, hd, dtype=D) * 0.3, "b_proj": torch.zeros(hd, dtype=D),
              "W_embed": torch.randn(v, wd, dtype=D) * 0.3,
              "Wx": torch.randn(wd, hd, dtype=D) * 0.3, "Wh": torch.randn(hd, hd, dtype=D) * 0.3,
              "b": torch.zeros(hd, dtype=D), "W_vocab": torch.randn(hd, v, dtype=D) * 0.3,
              "b_vocab": torch.zeros(v, dtype=D)}
    features = torch.randn(n, fd, dtype=D)
    captions = torch.randint(0, v, (n, t + 1))
    captions[0, 4:] = 0  # <NULL>
    captions_in, captions_out = captions[:, :-1], captions[:, 1:]
    mask = (captions_out != 0).to(D)

    def loss_by_hand(p):
        h0 = features @ p["W_proj"] + p["b_proj"]
        x = p["W_embed"][captions_in]
        h, caches = rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])
        scores = h @ p["W_vocab"] + p["b_vocab"]
        loss, dscores = temporal_softmax_loss(scores, captions_out, mask)
        grads = {"W_vocab": h.reshape(-1, hd).T @ dscores.reshape(-1, v),
                 "b_vocab": dscores.sum((0, 1))}
        dh = dscores @ p["W_vocab"].T
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = rnn_backward(dh, caches)
        grads["W_embed"] = word_embedding_backward(dx, captions_in, v)
        grads["W_proj"] = features.T @ dh0
        grads["b_proj"] = dh0.sum(0)
        return loss, grads

    loss, grads = loss_by_hand(params)
    auto = {k: p.clone().requires_grad_() for k, p in params.items()}
    h0 = features @ auto["W_proj"] + auto["b_proj"]
    x = F.embedding(captions_in, auto["W_embed"])
    rnn = torch.zeros(n, hd, dtype=D)
    hs, prev = [], h0
    for i in range(t):
        prev = torch.tanh(prev @ auto["Wh"] + x[:, i] @ auto["Wx"] + auto["b"])
        hs.append(prev)
    scores = torch.stack(hs, 1) @ auto["W_vocab"] + auto["b_vocab"]
    ce = F.cross_entropy(scores.reshape(-1, v), captions_out.reshape(-1), reduction="none")
    loss_auto = (ce * mask.reshape(-1)).sum() / n
    loss_auto.backward()
    del rnn
    put("caption.loss", [loss, loss_auto])
    for k in sorted(params):
        put(f"caption.grad.{k}", grads[k])
        put(f"caption.err.{k}", (grads[k] - auto[k].grad).abs().max())
    # train by SGD on the hand-written gradients, then sample greedily
    history = []
    for _ in range(8):
        loss, grads = loss_by_hand(params)
        for k in params:
            params[k] -= 0.5 * grads[k]
        history.append(loss.item())
    put("caption.history", history)
    h = features @ params["W_proj"] + params["b_proj"]
    word = torch.full((n,), 1, dtype=torch.long)
    sampled = []
    for _ in range(6):
        h, _ = rnn_step_forward(params["W_embed"][word], h, params["Wx"], params["Wh"],
                                params["b"])
        word = (h @ params["W_vocab"] + params["b_vocab"]).argmax(1)
        sampled.append(word)
    put("caption.sampled", torch.stack(sampled, 1))


SECTIONS = {"bert": section_bert, "caption": section_caption}
