"""minGPT (its configure_optimizers and Trainer) and training-script idioms (P1, session 9),
written from memory of the originals, run unchanged on PyTorch and under deltagrad's alias
(sections mingpt, idioms; the harness is prog_s9_P1_llm.py's; prog_s9_P1_examples.py runs all).
"""

import math
import sys
import time
from collections import defaultdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from prog_s9_P1_llm import put, put_params, run_sections

# ------------------------------------------------------------------------------------- minGPT

class NewGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi)
                                           * (x + 0.044715 * torch.pow(x, 3.0))))


class CfgNode:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    def merge_from_dict(self, d):
        self.__dict__.update(d)


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)
        self.attn_dropout = nn.Dropout(config.attn_pdrop)
        self.resid_dropout = nn.Dropout(config.resid_pdrop)
        self.register_buffer("bias", torch.tril(torch.ones(config.block_size, config.block_size))
                             .view(1, 1, config.block_size, config.block_size))
        self.n_head = config.n_head
        self.n_embd = config.n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd)
        self.mlp = nn.ModuleDict(dict(
            c_fc=nn.Linear(config.n_embd, 4 * config.n_embd),
            c_proj=nn.Linear(4 * config.n_embd, config.n_embd),
            act=NewGELU(),
            dropout=nn.Dropout(config.resid_pdrop),
        ))
        m = self.mlp
        self.mlpf = lambda x: m.dropout(m.c_proj(m.act(m.c_fc(x))))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlpf(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.block_size = config.block_size
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.embd_pdrop),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))
        n_params = sum(p.numel() for p in self.transformer.parameters())
        put("mingpt.n_params", n_params)
        put("mingpt.n_params_str", "number of parameters: %.2fM" % (n_params / 1e6,))  # noqa: UP031

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
        elif isinstance(module, nn.LayerNorm):
            torch.nn.init.zeros_(module.bias)
            torch.nn.init.ones_(module.weight)

    def configure_optimizers(self, train_config):
        decay, no_decay = set(), set()
        whitelist_weight_modules = (torch.nn.Linear, )
        blacklist_weight_modules = (torch.nn.LayerNorm, torch.nn.Embedding)
        for mn, m in self.named_modules():
            for pn, _p in m.named_parameters():
                fpn = "%s.%s" % (mn, pn) if mn else pn  # noqa: UP031
                if pn.endswith("bias"):
                    no_decay.add(fpn)
                elif pn.endswith("weight") and isinstance(m, whitelist_weight_modules):
                    decay.add(fpn)
                elif pn.endswith("weight") and isinstance(m, blacklist_weight_modules):
                    no_decay.add(fpn)
        param_dict = {pn: p for pn, p in self.named_parameters()}
        inter_params = decay & no_decay
        union_params = decay | no_decay
        assert len(inter_params) == 0
        assert len(param_dict.keys() - union_params) == 0
        put("mingpt.decay", ",".join(sorted(decay)))
        put("mingpt.no_decay", ",".join(sorted(no_decay)))
        optim_groups = [
            {"params": [param_dict[pn] for pn in sorted(list(decay))],
             "weight_decay": train_config.weight_decay},
            {"params": [param_dict[pn] for pn in sorted(list(no_decay))], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(optim_groups, lr=train_config.learning_rate,
                                 betas=train_config.betas)

    def forward(self, idx, targets=None):
        device = idx.device
        b, t = idx.size()
        assert t <= self.block_size, f"Cannot forward sequence of length {t}"
        pos = torch.arange(0, t, dtype=torch.long, device=device).unsqueeze(0)
        tok_emb = self.transformer.wte(idx)
        pos_emb = self.transformer.wpe(pos)
        x = self.transformer.drop(tok_emb + pos_emb)
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, do_sample=False, top_k=None):
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.block_size else idx[:, -self.block_size:]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, top_k)
                logits[logits < v[:, [-1]]] = -float("Inf")
            probs = F.softmax(logits, dim=-1)
            if do_sample:
                idx_next = torch.multinomial(probs, num_samples=1)
            else:
                _, idx_next = torch.topk(probs, k=1, dim=-1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx


class SortDataset(torch.utils.data.Dataset):
    """minGPT's demo: sort a list of digits (targets -1 on the prompt)."""

    def __init__(self, split, length=4, num_digits=3):
        self.split, self.length, self.num_digits = split, length, num_digits

    def __len__(self):
        return 200

    def get_vocab_size(self):
        return self.num_digits

    def get_block_size(self):
        return self.length * 2 - 1

    def __getitem__(self, idx):
        while True:
            inp = torch.randint(self.num_digits, size=(self.length,), dtype=torch.long)
            if torch.rand(1).item() < 0.5:
                if inp.unique().nelement() > self.length // 2:
                    continue
            h = hash(tuple(inp.tolist()))
            inp_split = "test" if h % 4 == 0 else "train"
            if inp_split == self.split:
                break
        sol = torch.sort(inp)[0]
        cat = torch.cat((inp, sol), dim=0)
        x = cat[:-1].clone()
        y = cat[1:].clone()
        y[:self.length - 1] = -1
        return x, y


class Trainer:
    def __init__(self, config, model, train_dataset):
        self.config = config
        self.model = model
        self.optimizer = None
        self.train_dataset = train_dataset
        self.callbacks = defaultdict(list)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = self.model.to(self.device)
        self.iter_num = 0
        self.iter_time = 0.0
        self.iter_dt = 0.0

    def add_callback(self, onevent: str, callback):
        self.callbacks[onevent].append(callback)

    def trigger_callbacks(self, onevent: str):
        for callback in self.callbacks.get(onevent, []):
            callback(self)

    def run(self):
        model, config = self.model, self.config
        self.optimizer = model.configure_optimizers(config)
        train_loader = torch.utils.data.DataLoader(
            self.train_dataset,
            sampler=torch.utils.data.RandomSampler(self.train_dataset, replacement=True,
                                                   num_samples=int(1e10)),
            shuffle=False, pin_memory=False, batch_size=config.batch_size,
            num_workers=config.num_workers)
        model.train()
        self.iter_num = 0
        self.iter_time = time.time()
        data_iter = iter(train_loader)
        while True:
            try:
                batch = next(data_iter)
            except StopIteration:
                data_iter = iter(train_loader)
                batch = next(data_iter)
            batch = [t.to(self.device) for t in batch]
            x, y = batch
            logits, self.loss = model(x, y)
            model.zero_grad(set_to_none=True)
            self.loss.backward()
            self.grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(),
                                                            config.grad_norm_clip)
            self.optimizer.step()
            self.trigger_callbacks("on_batch_end")
            self.iter_num += 1
            tnow = time.time()
            self.iter_dt = tnow - self.iter_time
            self.iter_time = tnow
            if config.max_iters is not None and self.iter_num >= config.max_iters:
                break


def section_mingpt(workdir: str) -> None:
    torch.manual_seed(3407)
    train_dataset = SortDataset("train")
    config = CfgNode(n_layer=2, n_head=2, n_embd=16, vocab_size=train_dataset.get_vocab_size(),
                     block_size=train_dataset.get_block_size(), embd_pdrop=0.1,
                     resid_pdrop=0.1, attn_pdrop=0.1)
    model = GPT(config)
    train_config = CfgNode(device="auto", num_workers=0, max_iters=None, batch_size=8,
                           learning_rate=5e-4, betas=(0.9, 0.95), weight_decay=0.1,
                           grad_norm_clip=1.0)
    train_config.merge_from_dict({"max_iters": 12, "learning_rate": 3e-3})
    trainer = Trainer(train_config, model, train_dataset)
    losses, norms, samples = [], [], []

    def batch_end_callback(trainer):
        losses.append(trainer.loss.item())
        norms.append(trainer.grad_norm)
        if trainer.iter_num % 5 == 0:
            samples.append(trainer.loss.detach())

    trainer.add_callback("on_batch_end", batch_end_callback)
    trainer.run()
    put("mingpt.losses", np.array(losses))
    put("mingpt.norms", torch.stack(norms))
    put("mingpt.samples", torch.stack(samples))
    put("mingpt.groups", [len(g["params"]) for g in trainer.optimizer.param_groups])
    put_params("mingpt.params", model)
    model.eval()
    x, _ = train_dataset[0]
    inp = x[:4].unsqueeze(0)
    with torch.no_grad():
        put("mingpt.greedy", model.generate(inp, 4, do_sample=False))
        put("mingpt.sampled", model.generate(inp.repeat(3, 1), 4, do_sample=True, top_k=2))


# ------------------------------------------------------------------------------------- idioms

def section_idioms(workdir: str) -> None:
    torch.manual_seed(0)
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.deterministic = True
    torch.set_float32_matmul_precision("high")
    put("idioms.matmul_precision", torch.get_float32_matmul_precision())
    put("idioms.cudnn", [torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic])
    model = nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 3))
    ema = nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.LayerNorm(16), nn.Linear(16, 3))
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    compiled = model
    if hasattr(torch, "compile") and sys.version_info < (3, 99):
        compiled = torch.compile(model, backend="eager")
    put("idioms_compiled_keys", ",".join(compiled.state_dict().keys()))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    accum = 3
    losses, norms = [], []
    for _step in range(4):
        for _ in range(accum):
            x = torch.randn(5, 6)
            y = torch.randint(0, 3, (5,))
            with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=False):
                loss = F.cross_entropy(compiled(x), y, label_smoothing=0.1) / accum
            scaler.scale(loss).backward()
        scaler.unscale_(opt)
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5,
                                              error_if_nonfinite=True)
        norms.append(norm)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), model.parameters()):
                p_ema.lerp_(p, 1 - 0.9)
            for b_ema, b in zip(ema.buffers(), model.buffers()):
                b_ema.copy_(b)
    put("idioms.losses", np.array(losses))
    put("idioms.norms", torch.stack(norms))
    put("idioms.scale", scaler.get_scale())
    put_params("idioms.ema", ema)
    put_params("idioms.model", model)
    # value clipping and clip_grad_norm_ with foreach / inf norm
    x = torch.randn(4, 6)
    F.cross_entropy(model(x), torch.tensor([0, 1, 2, 0])).backward()
    put("idioms.inf_norm", torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1,
                                                          norm_type=float("inf")))
    torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.001)
    put("idioms.clipped_grad", model[0].weight.grad)
    # autocast bf16 on CPU: matmuls in bfloat16, the loss in float32 (deltagrad refuses, clearly)
    try:
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            out = model[0](x)
            put("idioms.autocast.dtype_name", str(out.dtype))
            put("idioms.autocast.out", out.float())
            put("idioms.autocast.sum_dtype", str(out.sum().dtype))
            put("idioms.autocast.ce_dtype",
                str(F.cross_entropy(model(x), torch.tensor([0, 1, 2, 0])).dtype))
    except NotImplementedError as error:
        put("idioms_autocast_error", str(error))
    put("idioms.bf16_supported", torch.cuda.is_available() and torch.cuda.is_bf16_supported())


SECTIONS = {"mingpt": section_mingpt, "idioms": section_idioms}


if __name__ == "__main__":
    run_sections(SECTIONS)
