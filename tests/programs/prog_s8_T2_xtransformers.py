"""x-transformers (lucidrains) used as its README does: a program run unchanged under real
PyTorch and under ``python -m deltagrad run``; it writes every number it sees to an .npz.

Usage: ``python prog_s8_T2_xtransformers.py OUT.npz``. Each section is seeded on its own and
records ``<section>_ERR`` instead of its numbers when it raises, so one failure does not hide
the others. Sizes are tiny: the point is the library's code paths, not the model.
"""

import random
import sys
import traceback

import numpy as np
import torch
from x_transformers import (
    AutoregressiveWrapper,
    ContinuousAutoregressiveWrapper,
    ContinuousTransformerWrapper,
    Decoder,
    Encoder,
    NonAutoregressiveWrapper,
    TransformerWrapper,
    ViTransformerWrapper,
    XLAutoregressiveWrapper,
    XTransformer,
)
from x_transformers.autoregressive_wrapper import min_p, top_k, top_p

OUT = {}
SECTIONS = []


def save(key, value):
    if isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            save(f"{key}.{i}", item)
    elif value is not None:
        OUT[key] = value.detach().numpy() if torch.is_tensor(value) else np.asarray(value)


def section(function):
    SECTIONS.append(function)
    return function


def save_grads(name, model):
    for pname, param in model.named_parameters():
        if param.grad is not None:
            save(f"{name}_g_{pname}", param.grad)


def decoder(**kw):
    return TransformerWrapper(num_tokens=40, max_seq_len=24, attn_layers=Decoder(
        dim=16, depth=2, heads=2, attn_dim_head=8, **kw))


@section
def gpt_rotary():
    """Decoder + rotary, AutoregressiveWrapper loss, Adam steps, then generate (top-k, top-p,
    min-p, greedy, with and without the kv cache)."""
    model = decoder(rotary_pos_emb=True, ff_glu=True)
    wrap = AutoregressiveWrapper(model)
    x = torch.randint(0, 40, (2, 12))
    save("gpt_logits", model(x))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for i in range(3):
        loss = wrap(x)
        loss.backward()
        save(f"gpt_loss{i}", loss)
        if i == 0:
            save_grads("gpt", model)
        opt.step()
        opt.zero_grad()
    prompt = x[:, :4]
    for j, (fn, kw) in enumerate([(top_k, {}), (top_p, {"thres": 0.9}), (min_p, {"min_p": 0.1})]):
        torch.manual_seed(10 + j)
        save(f"gpt_gen{j}", wrap.generate(prompt, 5, filter_logits_fn=fn, filter_kwargs=kw,
                                          temperature=0.8))
    torch.manual_seed(5)
    save("gpt_gen_cache", wrap.generate(prompt, 5, cache_kv=True))
    torch.manual_seed(5)
    save("gpt_gen_nocache", wrap.generate(prompt, 5, cache_kv=False))
    save("gpt_greedy", wrap.generate(prompt, 5, temperature=0.0))


@section
def enc_dec():
    """XTransformer encoder-decoder with a source mask: loss, backward, AdamW, generate."""
    model = XTransformer(dim=16, enc_num_tokens=30, enc_depth=1, enc_heads=2, enc_max_seq_len=12,
                         dec_num_tokens=30, dec_depth=1, dec_heads=2, dec_max_seq_len=12,
                         tie_token_emb=True, enc_attn_dim_head=8, dec_attn_dim_head=8)
    src, tgt = torch.randint(0, 30, (2, 8)), torch.randint(0, 30, (2, 9))
    mask = torch.ones_like(src).bool()
    mask[1, 5:] = False
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for i in range(2):
        loss = model(src, tgt, mask=mask)
        loss.backward()
        save(f"xt_loss{i}", loss)
        if i == 0:
            save_grads("xt", model)
        opt.step()
        opt.zero_grad()
    torch.manual_seed(3)
    save("xt_gen", model.generate(src, torch.zeros(2, 1).long(), seq_len=4, mask=mask))


@section
def encoder():
    """Encoder with padding mask: logits, embeddings, attention maps, cross-entropy grads."""
    model = TransformerWrapper(num_tokens=30, max_seq_len=16, attn_layers=Encoder(
        dim=16, depth=2, heads=2, attn_dim_head=8, rotary_pos_emb=True, attn_qk_norm=True))
    x = torch.randint(0, 30, (3, 9))
    mask = torch.rand(3, 9) > 0.2
    logits = model(x, mask=mask)
    save("enc_logits", logits)
    save("enc_emb", model(x, mask=mask, return_embeddings=True))
    torch.nn.functional.cross_entropy(logits.transpose(1, 2), x).backward()
    save_grads("enc", model)
    save("enc_attn", torch.stack(model(x, return_attn=True)[1]))


@section
def continuous():
    """ContinuousTransformerWrapper + ContinuousAutoregressiveWrapper: loss, grads, generate."""
    model = ContinuousTransformerWrapper(dim_in=5, dim_out=5, max_seq_len=16, attn_layers=Decoder(
        dim=16, depth=1, heads=2, attn_dim_head=8))
    wrap = ContinuousAutoregressiveWrapper(model)
    x = torch.randn(2, 8, 5)
    loss = wrap(x)
    loss.backward()
    save("cont_loss", loss)
    save_grads("cont", model)
    save("cont_gen", wrap.generate(x[:, :3], 3))


@section
def flash():
    """attn_flash=True: F.scaled_dot_product_attention under torch.nn.attention.sdpa_kernel."""
    model = decoder(attn_flash=True, rotary_pos_emb=True)
    x = torch.randint(0, 40, (2, 10))
    mask = torch.arange(10).expand(2, 10) < torch.tensor([[10], [7]])
    logits = model(x, mask=mask)
    save("flash_logits", logits)
    logits.square().mean().backward()
    save_grads("flash", model)
    encoder = TransformerWrapper(num_tokens=40, max_seq_len=24, attn_layers=Encoder(
        dim=16, depth=1, heads=2, attn_flash=True, alibi_pos_bias=True))
    save("flash_enc", encoder(x, mask=mask))


@section
def wrappers():
    """ViTransformerWrapper, NonAutoregressiveWrapper (MLM loss, generate), XL recurrence."""
    vit = ViTransformerWrapper(image_size=8, patch_size=4, num_classes=5, attn_layers=Encoder(
        dim=16, depth=1, heads=2))
    out = vit(torch.randn(2, 3, 8, 8))
    out.sum().backward()
    save("vit", out)
    save_grads("vit", vit)
    random.seed(0)  # the wrapper flips Python's coin for its random-token replacement
    net = TransformerWrapper(num_tokens=41, max_seq_len=12, attn_layers=Encoder(
        dim=16, depth=1, heads=2))
    nar = NonAutoregressiveWrapper(net, mask_id=40, steps=3)
    loss = nar(torch.randint(0, 40, (2, 12))).loss
    loss.backward()
    save("nar_loss", loss)
    save_grads("nar", net)
    torch.manual_seed(2)
    save("nar_gen", nar.generate(batch_size=2))
    xl_net = TransformerWrapper(num_tokens=40, max_seq_len=8, max_mem_len=8, attn_layers=Decoder(
        dim=16, depth=1, heads=2, rel_pos_bias=True))
    xl = XLAutoregressiveWrapper(xl_net)
    x = torch.randint(0, 40, (2, 20))
    loss = xl(x)
    loss.backward()
    save("xl_loss", loss)
    save_grads("xl", xl_net)
    torch.manual_seed(3)
    save("xl_gen", xl.generate(x[:, :3], 5))


OPTIONS = {  # the README's attention/feedforward variants (several use einx)
    "alibi": dict(alibi_pos_bias=True, alibi_num_heads=1),
    "relpos": dict(rel_pos_bias=True),
    "dynpos": dict(dynamic_pos_bias=True),
    "rms_qknorm": dict(use_rmsnorm=True, attn_qk_norm=True, attn_gate_values=True),
    "macaron": dict(gate_residual=True, macaron=True, ff_swish=True, ff_glu=True),
    "xpos_shift": dict(rotary_xpos=True, rotary_pos_emb=True, shift_tokens=1),
    "memkv_kvheads": dict(attn_num_mem_kv=2, attn_kv_heads=1, ff_no_bias=True),
    "sparse_topk": dict(attn_sparse_topk=3, use_scalenorm=True),
    "softclamp": dict(softclamp_output=True, attn_softclamp_logits=True,
                      use_simple_rmsnorm=True),
    "value_residual": dict(add_value_residual=True, learned_value_residual_mix=True),
    "hyper": dict(num_residual_streams=2),
    "forgetting": dict(attn_data_dependent_alibi=True),
    "cope_laser": dict(attn_use_cope=True, attn_laser=True),
}


def _option(name, kw):
    def run():
        model = decoder(**kw)
        x = torch.randint(0, 40, (2, 10))
        save(f"{name}_logits", model(x))
        AutoregressiveWrapper(model)(x).backward()
        save_grads(name, model)
    run.__name__ = name
    return run


for _name, _kw in OPTIONS.items():
    section(_option(_name, _kw))


def run_sections():
    """Runs every section; returns the recorded numbers (key -> ndarray)."""
    for function in SECTIONS:
        try:
            torch.manual_seed(0)
            function()
        except Exception as error:  # recorded, compared by the test
            OUT[function.__name__ + "_ERR"] = np.array(f"{type(error).__name__}: {error}"[:400])
            traceback.print_exc()
    return OUT


if __name__ == "__main__":
    np.savez(sys.argv[1], **run_sections())
