"""Hugging Face-style model code written by hand (PG, session 18), in the style of the widely
copied GPT-2 / BERT modelling files and training scripts: Conv1D weights applied with addmm, a
non-persistent lower-triangular buffer and finfo.min masking, an extended attention mask for
padding, gelu_new, tied embeddings, scaled residual init, a key/value cache, generate() with
temperature / top-k / top-p / repetition penalty, beam search with floor division, AdamW with
no-decay groups and a linear warm-up schedule as LambdaLR, gradient clipping, shifted-label loss
with ignore_index -100. Tiny sizes, synthetic data, seeded.
"""

import math

import torch
import torch.nn.functional as F
from prog_s17_PG_harness import put, put_state
from torch import nn


class Conv1D(nn.Module):
    def __init__(self, nf, nx):
        super().__init__()
        self.nf = nf
        self.weight = nn.Parameter(torch.empty(nx, nf))
        self.bias = nn.Parameter(torch.zeros(nf))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)


def gelu_new(x):
    inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))
    return 0.5 * x * (1.0 + torch.tanh(inner))


class Attention(nn.Module):
    def __init__(self, n_embd, n_head, n_ctx):
        super().__init__()
        self.register_buffer("bias", torch.tril(torch.ones((n_ctx, n_ctx), dtype=torch.bool))
                             .view(1, 1, n_ctx, n_ctx), persistent=False)
        self.register_buffer("masked_bias", torch.tensor(-1e4), persistent=False)
        self.n_head, self.split_size, self.head_dim = n_head, n_embd, n_embd // n_head
        self.c_attn = Conv1D(3 * n_embd, n_embd)
        self.c_proj = Conv1D(n_embd, n_embd)
        self.attn_dropout, self.resid_dropout = nn.Dropout(0.1), nn.Dropout(0.1)

    def _attn(self, query, key, value, attention_mask=None):
        attn_weights = torch.matmul(query, key.transpose(-1, -2))
        attn_weights = attn_weights / torch.full([], value.size(-1) ** 0.5,
                                                 dtype=attn_weights.dtype)
        query_length, key_length = query.size(-2), key.size(-2)
        causal_mask = self.bias[:, :, key_length - query_length:key_length, :key_length]
        mask_value = torch.finfo(attn_weights.dtype).min
        mask_value = torch.full([], mask_value, dtype=attn_weights.dtype)
        attn_weights = torch.where(causal_mask, attn_weights.to(attn_weights.dtype), mask_value)
        if attention_mask is not None:
            attn_weights = attn_weights + attention_mask
        attn_weights = nn.functional.softmax(attn_weights, dim=-1)
        attn_weights = attn_weights.type(value.dtype)
        attn_weights = self.attn_dropout(attn_weights)
        return torch.matmul(attn_weights, value), attn_weights

    def _split_heads(self, tensor):
        new_shape = tensor.size()[:-1] + (self.n_head, self.head_dim)
        return tensor.view(new_shape).permute(0, 2, 1, 3)

    def _merge_heads(self, tensor):
        tensor = tensor.permute(0, 2, 1, 3).contiguous()
        return tensor.view(tensor.size()[:-2] + (self.n_head * self.head_dim,))

    def forward(self, hidden_states, layer_past=None, attention_mask=None):
        query, key, value = self.c_attn(hidden_states).split(self.split_size, dim=2)
        query, key, value = map(self._split_heads, (query, key, value))
        if layer_past is not None:
            past_key, past_value = layer_past
            key = torch.cat((past_key, key), dim=-2)
            value = torch.cat((past_value, value), dim=-2)
        present = (key, value)
        attn_output, attn_weights = self._attn(query, key, value, attention_mask)
        attn_output = self.resid_dropout(self.c_proj(self._merge_heads(attn_output)))
        return attn_output, present, attn_weights


class Block(nn.Module):
    def __init__(self, n_embd, n_head, n_ctx):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, eps=1e-5)
        self.attn = Attention(n_embd, n_head, n_ctx)
        self.ln_2 = nn.LayerNorm(n_embd, eps=1e-5)
        self.c_fc, self.c_proj = Conv1D(4 * n_embd, n_embd), Conv1D(n_embd, 4 * n_embd)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x, layer_past=None, attention_mask=None):
        a, present, weights = self.attn(self.ln_1(x), layer_past, attention_mask)
        x = x + a
        x = x + self.dropout(self.c_proj(gelu_new(self.c_fc(self.ln_2(x)))))
        return x, present, weights


class GPT2LMHead(nn.Module):
    def __init__(self, vocab=23, n_ctx=16, n_embd=16, n_head=2, n_layer=2):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, n_embd), nn.Embedding(n_ctx, n_embd)
        self.drop = nn.Dropout(0.1)
        self.h = nn.ModuleList([Block(n_embd, n_head, n_ctx) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.lm_head = nn.Linear(n_embd, vocab, bias=False)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                p.data.normal_(mean=0.0, std=0.02 / math.sqrt(2 * n_layer))
        self.lm_head.weight = self.wte.weight

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding, Conv1D)):
            module.weight.data.normal_(mean=0.0, std=0.02)
            if isinstance(module, (nn.Linear, Conv1D)) and module.bias is not None:
                module.bias.data.zero_()
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)

    def forward(self, input_ids, past_key_values=None, attention_mask=None, labels=None):
        batch, length = input_ids.size()
        past_length = 0 if past_key_values is None else past_key_values[0][0].size(-2)
        if past_key_values is None:
            past_key_values = tuple([None] * len(self.h))
        position_ids = torch.arange(past_length, length + past_length, dtype=torch.long)
        position_ids = position_ids.unsqueeze(0).view(-1, length)
        if attention_mask is not None:
            attention_mask = attention_mask.view(batch, -1)[:, None, None, :]
            attention_mask = attention_mask.to(dtype=self.wte.weight.dtype)
            attention_mask = (1.0 - attention_mask) * torch.finfo(self.wte.weight.dtype).min
        hidden = self.drop(self.wte(input_ids) + self.wpe(position_ids))
        presents, all_weights = (), ()
        for block, layer_past in zip(self.h, past_key_values):
            hidden, present, weights = block(hidden, layer_past, attention_mask)
            presents, all_weights = presents + (present,), all_weights + (weights,)
        logits = self.lm_head(self.ln_f(hidden))
        loss = None
        if labels is not None:
            shift_logits = logits[..., :-1, :].contiguous()
            shift_labels = labels[..., 1:].contiguous()
            loss = nn.CrossEntropyLoss()(shift_logits.view(-1, shift_logits.size(-1)),
                                         shift_labels.view(-1))
        return loss, logits, presents, all_weights


def top_k_top_p_filtering(logits, top_k=0, top_p=1.0, filter_value=-float("Inf"),
                          min_tokens_to_keep=1):
    if top_k > 0:
        top_k = min(max(top_k, min_tokens_to_keep), logits.size(-1))
        indices_to_remove = logits < torch.topk(logits, top_k)[0][..., -1, None]
        logits[indices_to_remove] = filter_value
    if top_p < 1.0:
        sorted_logits, sorted_indices = torch.sort(logits, descending=True)
        cumulative_probs = torch.cumsum(F.softmax(sorted_logits, dim=-1), dim=-1)
        sorted_indices_to_remove = cumulative_probs > top_p
        if min_tokens_to_keep > 1:
            sorted_indices_to_remove[..., :min_tokens_to_keep] = 0
        sorted_indices_to_remove[..., 1:] = sorted_indices_to_remove[..., :-1].clone()
        sorted_indices_to_remove[..., 0] = 0
        indices_to_remove = sorted_indices_to_remove.scatter(1, sorted_indices,
                                                             sorted_indices_to_remove)
        logits = logits.masked_fill(indices_to_remove, filter_value)
    return logits


def get_linear_schedule_with_warmup(optimizer, num_warmup_steps, num_training_steps,
                                    last_epoch=-1):
    def lr_lambda(current_step: int):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        return max(0.0, float(num_training_steps - current_step)
                   / float(max(1, num_training_steps - num_warmup_steps)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda, last_epoch)


def section_gpt2_train() -> None:
    model = GPT2LMHead()
    put("gpt2.tied", model.lm_head.weight is model.wte.weight)
    put("gpt2.buffers", sorted(model.state_dict().keys())[:6])
    put("gpt2.n_state", len(model.state_dict()))
    input_ids = torch.randint(0, 23, (4, 12))
    attention_mask = torch.ones(4, 12, dtype=torch.long)
    attention_mask[1, 9:] = 0
    attention_mask[3, 6:] = 0
    labels = input_ids.masked_fill(attention_mask == 0, -100)
    no_decay = ["bias", "LayerNorm.weight", "ln_1.weight", "ln_2.weight", "ln_f.weight"]
    grouped = [
        {"params": [p for n, p in model.named_parameters()
                    if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters()
                    if any(nd in n for nd in no_decay)], "weight_decay": 0.0}]
    put("gpt2.group_sizes", [len(g["params"]) for g in grouped])
    optimizer = torch.optim.AdamW(grouped, lr=3e-3, eps=1e-8)
    scheduler = get_linear_schedule_with_warmup(optimizer, 2, 6)
    model.train()
    model.zero_grad()
    losses, lrs, norms = [], [], []
    for _ in range(6):
        loss, logits, _, _ = model(input_ids, attention_mask=attention_mask, labels=labels)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)))
        optimizer.step()
        scheduler.step()
        model.zero_grad()
        losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
    put("gpt2.losses", losses)
    put("gpt2.lrs", lrs)
    put("gpt2.norms", norms)
    put_state("gpt2.state", model)
    model.eval()
    with torch.no_grad():
        _, logits, presents, weights = model(input_ids, attention_mask=attention_mask)
        put("gpt2.eval.logits", logits)
        put("gpt2.eval.weights1", weights[1])
        put("gpt2.eval.present0k", presents[0][0])
        # the cache reproduces the full pass, token by token
        _, first, past, _ = model(input_ids[:, :8])
        _, step_logits, _, _ = model(input_ids[:, 8:9], past_key_values=past)
        _, full, _, _ = model(input_ids[:, :9])
        put("gpt2.cache.diff", (step_logits[:, -1] - full[:, -1]).abs().max())


def section_gpt2_generate() -> None:
    model = GPT2LMHead()
    model.eval()
    generator = torch.Generator().manual_seed(1234)
    prompt = torch.tensor([[3, 7, 1], [5, 5, 2]])
    for name, (temperature, k, p, penalty) in {"topk": (0.8, 5, 1.0, 1.0),
                                               "topp": (1.2, 0, 0.9, 1.0),
                                               "both": (1.0, 8, 0.7, 1.3)}.items():
        generated, past = prompt, None
        next_input = prompt
        with torch.no_grad():
            for _ in range(6):
                _, logits, past, _ = model(next_input, past_key_values=past)
                next_logits = logits[:, -1, :] / temperature
                if penalty != 1.0:
                    score = torch.gather(next_logits, 1, generated)
                    score = torch.where(score < 0, score * penalty, score / penalty)
                    next_logits = next_logits.scatter_(1, generated, score)
                filtered = top_k_top_p_filtering(next_logits, top_k=k, top_p=p)
                probs = F.softmax(filtered, dim=-1)
                next_token = torch.multinomial(probs, num_samples=1, generator=generator)
                generated = torch.cat([generated, next_token], dim=-1)
                next_input = next_token
        put(f"gen.{name}.tokens", generated)
        put(f"gen.{name}.kept", torch.isfinite(filtered).sum(-1))
    # greedy beam search over a batch of one, as the library's beam scorer flattens it
    num_beams, vocab = 3, 23
    beam_scores = torch.zeros((1, num_beams))
    beam_scores[:, 1:] = -1e9
    beam_scores = beam_scores.view(-1)
    input_ids = prompt[:1].repeat_interleave(num_beams, dim=0)
    with torch.no_grad():
        for _ in range(4):
            _, logits, _, _ = model(input_ids)
            next_scores = F.log_softmax(logits[:, -1, :], dim=-1) + beam_scores[:, None]
            next_scores = next_scores.view(1, num_beams * vocab)
            next_scores, next_tokens = torch.topk(next_scores, 2 * num_beams, dim=1,
                                                  largest=True, sorted=True)
            next_indices = torch.div(next_tokens, vocab, rounding_mode="floor")
            next_tokens = next_tokens % vocab
            beam_scores = next_scores[0, :num_beams]
            input_ids = torch.cat([input_ids[next_indices[0, :num_beams], :],
                                   next_tokens[0, :num_beams].unsqueeze(-1)], dim=-1)
    put("gen.beam.ids", input_ids)
    put("gen.beam.scores", beam_scores)


class BertSelfAttention(nn.Module):
    def __init__(self, hidden=16, heads=4):
        super().__init__()
        self.num_attention_heads, self.attention_head_size = heads, hidden // heads
        self.all_head_size = hidden
        self.query, self.key = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def transpose_for_scores(self, x):
        new_x_shape = x.size()[:-1] + (self.num_attention_heads, self.attention_head_size)
        return x.view(*new_x_shape).permute(0, 2, 1, 3)

    def forward(self, hidden_states, attention_mask):
        q = self.transpose_for_scores(self.query(hidden_states))
        k = self.transpose_for_scores(self.key(hidden_states))
        v = self.transpose_for_scores(self.value(hidden_states))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        scores = scores + attention_mask
        probs = nn.functional.softmax(scores, dim=-1)
        context = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return context.view(context.size()[:-2] + (self.all_head_size,)), probs


def section_bert_mask() -> None:
    attn = BertSelfAttention()
    x = torch.randn(3, 7, 16, requires_grad=True)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3, [1] * 2 + [0] * 5])
    extended = mask[:, None, None, :].to(dtype=torch.float32)
    extended = (1.0 - extended) * torch.finfo(torch.float32).min
    out, probs = attn(x, extended)
    (out * mask[..., None]).pow(2).sum().backward()
    put("bert.out", out)
    put("bert.probs", probs)
    put("bert.xgrad", x.grad)
    put("bert.qgrad", attn.query.weight.grad)
    # the same through scaled_dot_product_attention with a boolean mask, and is_causal
    q = attn.transpose_for_scores(attn.query(x))
    k = attn.transpose_for_scores(attn.key(x))
    v = attn.transpose_for_scores(attn.value(x))
    sdpa = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :].bool())
    put("bert.sdpa_diff", (sdpa.permute(0, 2, 1, 3).reshape(3, 7, 16) - out).abs().max())
    causal = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    put("bert.causal", causal)
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(4)
    causal_mask = torch.triu(torch.ones(7, 7, dtype=torch.bool), diagonal=1)
    manual = scores.masked_fill(causal_mask, float("-inf")).softmax(-1) @ v
    put("bert.causal_diff", (manual - causal).abs().max())


SECTIONS = {"gpt2": section_gpt2_train, "gen": section_gpt2_generate, "bert": section_bert_mask}
