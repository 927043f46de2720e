""""LLMs from scratch"-style code, written afresh (PR2, session 19): a GPT model whose
MultiHeadAttention is written out (a causal mask registered as a buffer, ``masked_fill_`` with
-inf on the sliced mask, a LayerNorm and GELU by hand), text generation with temperature and
top-k, a classification fine-tune that swaps the output head and freezes all but the last block,
LoRA layers put in place of every nn.Linear, DPO's loss on summed sequence log-probabilities
against a frozen reference copy, and the instruction data's collate (padding with the end token,
targets shifted with -100 past the first pad, a length cap). Tiny sizes; run by
prog_s19_PR_all.py.
"""

import copy
import math

import torch
import torch.nn as nn
from prog_s17_PG_harness import put, put_state

CFG = {"vocab_size": 23, "context_length": 10, "emb_dim": 16, "n_heads": 2, "n_layers": 2,
       "drop_rate": 0.1, "qkv_bias": False}


class MultiHeadAttention(nn.Module):
    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):
        super().__init__()
        assert d_out % num_heads == 0, "d_out must be divisible by num_heads"
        self.d_out = d_out
        self.num_heads = num_heads
        self.head_dim = d_out // num_heads
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length),
                                                diagonal=1))

    def forward(self, x):
        b, num_tokens, d_in = x.shape
        keys = self.W_key(x)
        queries = self.W_query(x)
        values = self.W_value(x)
        keys = keys.view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)
        values = values.view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)
        queries = queries.view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)
        attn_scores = queries @ keys.transpose(2, 3)
        mask_bool = self.mask.bool()[:num_tokens, :num_tokens]
        attn_scores.masked_fill_(mask_bool, -torch.inf)
        attn_weights = torch.softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1)
        attn_weights = self.dropout(attn_weights)
        context_vec = (attn_weights @ values).transpose(1, 2)
        context_vec = context_vec.contiguous().view(b, num_tokens, self.d_out)
        return self.out_proj(context_vec)


class LayerNorm(nn.Module):
    def __init__(self, emb_dim):
        super().__init__()
        self.eps = 1e-5
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x):
        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        norm_x = (x - mean) / torch.sqrt(var + self.eps)
        return self.scale * norm_x + self.shift


class GELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1 + torch.tanh(torch.sqrt(torch.tensor(2.0 / torch.pi))
                                         * (x + 0.044715 * torch.pow(x, 3))))


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(cfg["emb_dim"], 4 * cfg["emb_dim"]), GELU(),
                                    nn.Linear(4 * cfg["emb_dim"], cfg["emb_dim"]))

    def forward(self, x):
        return self.layers(x)


class TransformerBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.att = MultiHeadAttention(d_in=cfg["emb_dim"], d_out=cfg["emb_dim"],
                                      context_length=cfg["context_length"],
                                      num_heads=cfg["n_heads"], dropout=cfg["drop_rate"],
                                      qkv_bias=cfg["qkv_bias"])
        self.ff = FeedForward(cfg)
        self.norm1 = LayerNorm(cfg["emb_dim"])
        self.norm2 = LayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate"])

    def forward(self, x):
        shortcut = x
        x = self.drop_shortcut(self.att(self.norm1(x)))
        x = x + shortcut
        shortcut = x
        x = self.drop_shortcut(self.ff(self.norm2(x)))
        return x + shortcut


class GPTModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.drop_emb = nn.Dropout(cfg["drop_rate"])
        self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg) for _ in range(cfg["n_layers"])])
        self.final_norm = LayerNorm(cfg["emb_dim"])
        self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)

    def forward(self, in_idx):
        batch_size, seq_len = in_idx.shape
        tok_embeds = self.tok_emb(in_idx)
        pos_embeds = self.pos_emb(torch.arange(seq_len, device=in_idx.device))
        x = self.drop_emb(tok_embeds + pos_embeds)
        x = self.trf_blocks(x)
        return self.out_head(self.final_norm(x))


def generate(model, idx, max_new_tokens, context_size, temperature=0.0, top_k=None, eos_id=None):
    for _ in range(max_new_tokens):
        idx_cond = idx[:, -context_size:]
        with torch.no_grad():
            logits = model(idx_cond)
        logits = logits[:, -1, :]
        if top_k is not None:
            top_logits, _ = torch.topk(logits, top_k)
            min_val = top_logits[:, -1]
            logits = torch.where(logits < min_val, torch.tensor(float("-inf")).to(logits.device),
                                 logits)
        if temperature > 0.0:
            logits = logits / temperature
            probs = torch.softmax(logits, dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
        else:
            idx_next = torch.argmax(logits, dim=-1, keepdim=True)
        if idx_next == eos_id:
            break
        idx = torch.cat((idx, idx_next), dim=1)
    return idx


def calc_loss_batch(input_batch, target_batch, model):
    logits = model(input_batch)
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.flatten())


def _token_data(n=6, length=10, vocab=23):
    text = torch.arange(n * length + 1) * 7 % vocab  # a repeating "text" the model can learn
    inputs = torch.stack([text[i * length:(i + 1) * length] for i in range(n)])
    targets = torch.stack([text[i * length + 1:(i + 1) * length + 1] for i in range(n)])
    return inputs, targets


def section_rb_gpt() -> None:
    model = GPTModel(CFG)
    put("rb_gpt.total_params", sum(p.numel() for p in model.parameters()))
    put("rb_gpt.mask", model.trf_blocks[0].att.mask)
    optimizer = torch.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=0.1)
    inputs, targets = _token_data()
    losses = []
    for _epoch in range(3):
        model.train()
        for start in range(0, 6, 3):
            optimizer.zero_grad()
            loss = calc_loss_batch(inputs[start:start + 3], targets[start:start + 3], model)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    put("rb_gpt.losses", losses)
    put("rb_gpt.grad.W_query", model.trf_blocks[0].att.W_query.weight.grad)
    put_state("rb_gpt.state", model)
    model.eval()
    with torch.no_grad():
        put("rb_gpt.eval_loss", calc_loss_batch(inputs, targets, model))
    put("rb_gpt.greedy", generate(model, inputs[:1, :4], 6, CFG["context_length"]))
    torch.manual_seed(123)
    put("rb_gpt.sampled", generate(model, inputs[:1, :3], 8, CFG["context_length"],
                                   temperature=1.4, top_k=5))
    put("rb_gpt.sampled_again", generate(model, inputs[1:2, :2], 9, CFG["context_length"],
                                         temperature=2.0))
    try:  # (the book's top-k line assumes one sequence: min_val has the batch's shape)
        generate(model, inputs[:2, :3], 2, CFG["context_length"], temperature=1.0, top_k=5)
    except RuntimeError as error:
        put("rb_gpt.batch2_error", type(error).__name__ in ("RuntimeError", "ShapeError"))
    torch.manual_seed(7)
    put("rb_gpt.sampled_eos", generate(model, inputs[:1, :3], 12, CFG["context_length"],
                                       temperature=0.8, top_k=3, eos_id=4))
    # probing the attention alone: the weights' upper triangle is exactly zero
    att = model.trf_blocks[0].att
    x = torch.randn(2, 5, CFG["emb_dim"])
    put("rb_gpt.att_out", att(x))


def section_rb_classify() -> None:
    torch.manual_seed(123)
    model = GPTModel(CFG)
    for param in model.parameters():
        param.requires_grad = False
    num_classes = 2
    model.out_head = torch.nn.Linear(in_features=CFG["emb_dim"], out_features=num_classes)
    for param in model.trf_blocks[-1].parameters():
        param.requires_grad = True
    for param in model.final_norm.parameters():
        param.requires_grad = True
    put("rb_classify.trainable", sum(p.numel() for p in model.parameters() if p.requires_grad))
    inputs = torch.randint(0, CFG["vocab_size"], (8, 6))
    labels = (inputs[:, 0] > 11).long()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.1)
    losses, accs = [], []
    for _ in range(5):
        model.train()
        optimizer.zero_grad()
        logits = model(inputs)[:, -1, :]
        loss = torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            predicted = torch.argmax(model(inputs)[:, -1, :], dim=-1)
        accs.append((predicted == labels).sum().item() / predicted.shape[0])
    put("rb_classify.losses", losses)
    put("rb_classify.accs", accs)
    put("rb_classify.frozen_grad_none", model.tok_emb.weight.grad is None)
    put("rb_classify.head_grad", model.out_head.weight.grad)
    put_state("rb_classify.state", model.trf_blocks[-1])


class LoRALayer(torch.nn.Module):
    def __init__(self, in_dim, out_dim, rank, alpha):
        super().__init__()
        self.A = torch.nn.Parameter(torch.empty(in_dim, rank))
        torch.nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.B = torch.nn.Parameter(torch.zeros(rank, out_dim))
        self.alpha = alpha

    def forward(self, x):
        return self.alpha * (x @ self.A @ self.B)


class LinearWithLoRA(torch.nn.Module):
    def __init__(self, linear, rank, alpha):
        super().__init__()
        self.linear = linear
        self.lora = LoRALayer(linear.in_features, linear.out_features, rank, alpha)

    def forward(self, x):
        return self.linear(x) + self.lora(x)


def replace_linear_with_lora(model, rank, alpha):
    for name, module in model.named_children():
        if isinstance(module, torch.nn.Linear):
            setattr(model, name, LinearWithLoRA(module, rank, alpha))
        else:
            replace_linear_with_lora(module, rank, alpha)


def section_rb_lora() -> None:
    model = GPTModel(CFG)
    before = sum(p.numel() for p in model.parameters() if p.requires_grad)
    for param in model.parameters():
        param.requires_grad = False
    replace_linear_with_lora(model, rank=4, alpha=8)
    put("rb_lora.counts", [before, sum(p.numel() for p in model.parameters()
                                       if p.requires_grad)])
    put("rb_lora.names", sorted(n for n, p in model.named_parameters() if p.requires_grad))
    inputs, targets = _token_data()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    losses = []
    for _ in range(4):
        optimizer.zero_grad()
        loss = calc_loss_batch(inputs, targets, model)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    put("rb_lora.losses", losses)
    put("rb_lora.gradA", model.trf_blocks[1].att.W_value.lora.A.grad)
    put_state("rb_lora.state", model, exclude=("mask",))


def compute_logprobs(logits, labels, selection_mask=None):
    labels = labels[:, 1:].clone()
    logits = logits[:, :-1, :]
    log_probs = torch.nn.functional.log_softmax(logits, dim=-1)
    selected_log_probs = torch.gather(input=log_probs, dim=-1,
                                      index=labels.unsqueeze(-1)).squeeze(-1)
    if selection_mask is not None:
        mask = selection_mask[:, 1:].clone()
        selected_log_probs = selected_log_probs * mask
        return selected_log_probs.sum(-1) / mask.sum(-1)
    return selected_log_probs.mean(-1)


def compute_dpo_loss(model_chosen_logprobs, model_rejected_logprobs,
                     reference_chosen_logprobs, reference_rejected_logprobs, beta=0.1):
    model_logratios = model_chosen_logprobs - model_rejected_logprobs
    reference_logratios = reference_chosen_logprobs - reference_rejected_logprobs
    logits = model_logratios - reference_logratios
    losses = -torch.nn.functional.logsigmoid(beta * logits)
    chosen_rewards = (model_chosen_logprobs - reference_chosen_logprobs).detach()
    rejected_rewards = (model_rejected_logprobs - reference_rejected_logprobs).detach()
    return losses.mean(), chosen_rewards.mean(), rejected_rewards.mean()


def section_rb_dpo() -> None:
    policy_model = GPTModel(CFG)
    reference_model = copy.deepcopy(policy_model)
    reference_before = {k: v.clone() for k, v in reference_model.state_dict().items()}
    reference_model.eval()
    for param in reference_model.parameters():
        param.requires_grad_(False)
    chosen = torch.randint(0, CFG["vocab_size"], (3, 8))
    rejected = torch.randint(0, CFG["vocab_size"], (3, 8))
    chosen_mask = torch.ones_like(chosen, dtype=torch.bool)
    chosen_mask[0, 6:] = False
    rejected_mask = torch.ones_like(rejected, dtype=torch.bool)
    rejected_mask[2, 5:] = False
    optimizer = torch.optim.AdamW(policy_model.parameters(), lr=5e-3, weight_decay=0.01)
    record = []
    for _ in range(4):
        policy_model.train()
        optimizer.zero_grad()
        policy_chosen = compute_logprobs(policy_model(chosen), chosen, chosen_mask)
        policy_rejected = compute_logprobs(policy_model(rejected), rejected, rejected_mask)
        with torch.no_grad():
            ref_chosen = compute_logprobs(reference_model(chosen), chosen, chosen_mask)
            ref_rejected = compute_logprobs(reference_model(rejected), rejected, rejected_mask)
        loss, chosen_reward, rejected_reward = compute_dpo_loss(
            policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta=0.1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy_model.parameters(), max_norm=1.0)
        optimizer.step()
        record.append([loss.item(), chosen_reward.item(), rejected_reward.item()])
    put("rb_dpo.record", record)
    put("rb_dpo.unmasked", compute_logprobs(reference_model(chosen), chosen))
    put_state("rb_dpo.policy", policy_model, exclude=("mask",))
    put("rb_dpo.reference_unchanged", all(
        torch.equal(a, b) for a, b in zip(reference_model.state_dict().values(),
                                         reference_before.values())))


def custom_collate_fn(batch, pad_token_id=22, ignore_index=-100, allowed_max_length=None,
                      device="cpu"):
    batch_max_length = max(len(item) + 1 for item in batch)
    inputs_lst, targets_lst = [], []
    for item in batch:
        new_item = item.copy()
        new_item += [pad_token_id]
        padded = new_item + [pad_token_id] * (batch_max_length - len(new_item))
        inputs = torch.tensor(padded[:-1])
        targets = torch.tensor(padded[1:])
        mask = targets == pad_token_id
        indices = torch.nonzero(mask).squeeze()
        if indices.numel() > 1:
            targets[indices[1:]] = ignore_index
        if allowed_max_length is not None:
            inputs = inputs[:allowed_max_length]
            targets = targets[:allowed_max_length]
        inputs_lst.append(inputs)
        targets_lst.append(targets)
    return torch.stack(inputs_lst).to(device), torch.stack(targets_lst).to(device)


def section_rb_instruct() -> None:
    batch = [[0, 1, 2, 3, 4], [5, 6], [7, 8, 9], [10, 11, 12, 13, 14, 15, 16]]
    inputs, targets = custom_collate_fn(batch)
    put("rb_instruct.inputs", inputs)
    put("rb_instruct.targets", targets)
    short_inputs, short_targets = custom_collate_fn(batch, allowed_max_length=5)
    put("rb_instruct.short", [short_inputs, short_targets])
    model = GPTModel(CFG)
    model.eval()
    logits = model(inputs)
    loss = torch.nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())
    loss.backward()
    put("rb_instruct.loss", loss)
    put("rb_instruct.grad", model.tok_emb.weight.grad)
    # the ignored positions change nothing: the same loss over the kept positions only
    keep = targets.flatten() != -100
    by_hand = torch.nn.functional.cross_entropy(logits.flatten(0, 1)[keep], targets.flatten()[keep])
    put("rb_instruct.by_hand", by_hand)
    put("rb_instruct.sum_none", torch.nn.functional.cross_entropy(
        logits.flatten(0, 1), targets.flatten(), reduction="none"))


SECTIONS = {"rb_gpt": section_rb_gpt, "rb_classify": section_rb_classify,
            "rb_lora": section_rb_lora, "rb_dpo": section_rb_dpo,
            "rb_instruct": section_rb_instruct}
