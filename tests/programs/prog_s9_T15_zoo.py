"""lucidrains' model zoo the way the READMEs use it: vit-pytorch (SimpleViT, ViT, CaiT, DeepViT),
performer-pytorch, rotary-embedding-torch, local-attention, linear-attention-transformer,
nystrom-attention, linformer, product-key-memory, axial-positional-embedding: forward, loss,
backward, an optimizer step, generation where the library has it. Every number goes to an .npz
(keys ``<section>/<name>``; a section that raises records ``<section>_ERR``).
Usage: ``python prog_s9_T15_zoo.py OUT.npz`` (or under ``python -m deltagrad run``)."""

import importlib.util
import random
import sys
import traceback
import types

import numpy as np
import torch
import torch.nn.functional as F

# vit_pytorch's package __init__ imports torchvision (not installed): load its model modules
# without running it, as a user without torchvision would.
_spec = importlib.util.find_spec("vit_pytorch")
_package = types.ModuleType("vit_pytorch")
_package.__path__ = list(_spec.submodule_search_locations)
_package.__spec__ = _spec  # (pytest's doctest collection imports this file: find_spec must work)
sys.modules["vit_pytorch"] = _package

OUT: dict = {}


def put(key: str, value) -> None:
    """Record a tensor (values + dtype), a number or a string."""
    if isinstance(value, torch.Tensor):
        OUT[key] = value.detach().numpy().copy()
        OUT[key + ".dtype"] = np.array(str(value.dtype))
    else:
        OUT[key] = np.array(value)


def train(section: str, model, make_loss, steps: int = 2, lr: float = 1e-3) -> None:
    """Adam steps on ``make_loss(model)``; records losses, gradient norms and final weights."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for step in range(steps):
        opt.zero_grad()
        loss = make_loss(model)
        loss.backward()
        put(f"{section}/loss{step}", loss)
        grads = [p.grad.norm() for p in model.parameters() if p.grad is not None]
        put(f"{section}/gradnorms{step}", torch.stack(grads))
        opt.step()
    for name, p in list(model.named_parameters())[:6]:
        put(f"{section}/param.{name}", p)


def images(batch=2, channels=3, size=16):
    return torch.randn(batch, channels, size, size)


def sec_simple_vit():
    from vit_pytorch.simple_vit import SimpleViT
    torch.manual_seed(0)
    model = SimpleViT(image_size=16, patch_size=4, num_classes=5, dim=32, depth=2, heads=2,
                      mlp_dim=64, dim_head=16)
    x, y = images(), torch.tensor([1, 3])
    put("simple_vit/logits", model(x))
    train("simple_vit", model, lambda m: F.cross_entropy(m(x), y))


def sec_vit():
    from vit_pytorch.vit import ViT
    torch.manual_seed(1)
    model = ViT(image_size=16, patch_size=4, num_classes=4, dim=32, depth=2, heads=2,
                mlp_dim=64, dim_head=16, dropout=0.1, emb_dropout=0.1, pool="cls")
    x, y = images(), torch.tensor([0, 2])
    train("vit", model, lambda m: F.cross_entropy(m(x), y))  # dropout: the RNG stream too
    model.eval()
    put("vit/eval_logits", model(x))


def sec_cait():
    from vit_pytorch.cait import CaiT
    torch.manual_seed(2)
    cait = CaiT(image_size=16, patch_size=4, num_classes=3, dim=32, depth=2, cls_depth=1,
                heads=2, mlp_dim=48, dropout=0.0, emb_dropout=0.0, layer_dropout=0.0)
    x, y = images(), torch.tensor([2, 1])
    put("cait/logits", cait(x))
    train("cait", cait, lambda m: F.cross_entropy(m(x), y))


def sec_deepvit():
    from vit_pytorch.deepvit import DeepViT
    torch.manual_seed(2)
    deep = DeepViT(image_size=16, patch_size=4, num_classes=3, dim=32, depth=2, heads=2,
                   mlp_dim=48, dropout=0.0, emb_dropout=0.0)
    x, y = images(), torch.tensor([2, 1])
    train("deepvit", deep, lambda m: F.cross_entropy(m(x), y))


def tokens(batch=2, length=16, vocab=20):
    return torch.randint(0, vocab, (batch, length))


def lm_loss(model, seq):
    logits = model(seq[:, :-1])
    return F.cross_entropy(logits.transpose(1, 2), seq[:, 1:])


def sec_performer():
    from performer_pytorch import PerformerLM
    torch.manual_seed(3)
    model = PerformerLM(num_tokens=20, max_seq_len=16, dim=32, depth=1, heads=2, dim_head=16,
                        causal=True, nb_features=16, feature_redraw_interval=1000)
    seq = tokens()
    put("performer/logits", model(seq))
    train("performer", model, lambda m: lm_loss(m, seq))
    for name, buffer in model.named_buffers():
        if "projection_matrix" in name:
            put(f"performer/{name}", buffer)
            break
    from performer_pytorch.autoregressive_wrapper import AutoregressiveWrapper
    wrapper = AutoregressiveWrapper(model)
    put("performer/wrapper_loss", wrapper(seq))  # its own shifted cross-entropy
    torch.manual_seed(12)
    put("performer/generated", wrapper.generate(seq[:, :3], 5, temperature=0.8))


def sec_rotary():
    from rotary_embedding_torch import RotaryEmbedding
    torch.manual_seed(4)
    rotary = RotaryEmbedding(dim=8)
    q, k = torch.randn(2, 2, 10, 16, requires_grad=True), torch.randn(2, 2, 10, 16)
    rq = rotary.rotate_queries_or_keys(q)
    rk = rotary.rotate_queries_or_keys(k)
    put("rotary/q", rq)
    put("rotary/k", rk)
    (rq * rk).sum().backward()
    put("rotary/q_grad", q.grad)
    xpos = RotaryEmbedding(dim=8, use_xpos=True)
    q2, k2 = xpos.rotate_queries_and_keys(q.detach(), k)
    put("rotary/xpos_q", q2)
    put("rotary/xpos_k", k2)
    pixel = RotaryEmbedding(dim=8, freqs_for="pixel", max_freq=10)
    put("rotary/axial", pixel.get_axial_freqs(4, 4))


def sec_local_attention():
    from local_attention import LocalAttention, LocalTransformer
    torch.manual_seed(5)
    attn = LocalAttention(dim=16, window_size=4, causal=True, look_backward=1, look_forward=0,
                          dropout=0.0, autopad=True)
    q, k, v = (torch.randn(2, 2, 12, 16, requires_grad=True) for _ in range(3))
    mask = torch.ones(2, 12, dtype=torch.bool)
    mask[1, 9:] = False
    out = attn(q, k, v, mask=mask)
    put("local/out", out)
    out.square().mean().backward()
    put("local/q_grad", q.grad)
    put("local/v_grad", v.grad)
    random.seed(0)  # hyper-connections picks a residual stream with Python's random
    model = LocalTransformer(num_tokens=20, max_seq_len=16, dim=32, depth=1, heads=2,
                             dim_head=16, causal=True, local_attn_window_size=4)
    seq = tokens()
    logits = model(seq)
    put("local/lm_logits", logits)
    train("local_lm", model, lambda m: F.cross_entropy(m(seq[:, :-1]).transpose(1, 2),
                                                       seq[:, 1:]))
    model.eval()
    torch.manual_seed(6)
    put("local/generated", model.generate(seq[:1, :4], 6, temperature=1.0, filter_thres=0.9))


def sec_linear_attention():
    from linear_attention_transformer import LinearAttentionTransformerLM
    torch.manual_seed(7)
    model = LinearAttentionTransformerLM(num_tokens=20, dim=32, heads=2, depth=1, max_seq_len=16,
                                         causal=True, ff_dropout=0.0, attn_dropout=0.0,
                                         n_local_attn_heads=1, local_attn_window_size=4)
    seq = tokens()
    put("linear/logits", model(seq))
    train("linear", model, lambda m: F.cross_entropy(m(seq)[:, :-1].transpose(1, 2),
                                                     seq[:, 1:]))
    from linear_attention_transformer.autoregressive_wrapper import AutoregressiveWrapper
    wrapper = AutoregressiveWrapper(model)
    torch.manual_seed(13)
    put("linear/generated", wrapper.generate(seq[:, :4], 4, temperature=1.0))


def sec_nystrom():
    from nystrom_attention import NystromAttention, Nystromformer
    torch.manual_seed(8)
    attn = NystromAttention(dim=32, dim_head=16, heads=2, num_landmarks=4, pinv_iterations=6,
                            residual=True)
    x = torch.randn(2, 14, 32, requires_grad=True)
    mask = torch.ones(2, 14, dtype=torch.bool)
    out = attn(x, mask=mask)
    put("nystrom/attn", out)
    out.sum().backward()
    put("nystrom/x_grad", x.grad)
    model = Nystromformer(dim=32, depth=1, heads=2, dim_head=16, num_landmarks=4)
    y = torch.randn(2, 16, 32)
    train("nystrom", model, lambda m: m(y).square().mean())


def sec_linformer():
    from linformer import Linformer, LinformerLM
    torch.manual_seed(9)
    model = Linformer(dim=32, seq_len=16, depth=1, heads=2, k=8, one_kv_head=True,
                      share_kv=True)
    x = torch.randn(2, 16, 32)
    put("linformer/out", model(x))
    train("linformer", model, lambda m: m(x).square().mean())
    lm = LinformerLM(num_tokens=20, dim=32, seq_len=16, depth=1, heads=2, k=8)
    seq = tokens()
    train("linformer_lm", lm, lambda m: F.cross_entropy(m(seq).transpose(1, 2), seq))


def sec_pkm():
    from product_key_memory import PKM
    torch.manual_seed(10)
    pkm = PKM(dim=32, heads=2, num_keys=8, topk=4, dim_head=16)
    x = torch.randn(2, 6, 32)
    put("pkm/out", pkm(x))
    train("pkm", pkm, lambda m: m(x).square().mean())


def sec_axial():
    from axial_positional_embedding import AxialPositionalEmbedding
    torch.manual_seed(11)
    emb = AxialPositionalEmbedding(dim=16, axial_shape=(4, 4))
    x = torch.randn(2, 12, 16)
    put("axial/out", emb(x))
    train("axial", emb, lambda m: (m(x) * x).sum())


SECTIONS = [sec_simple_vit, sec_vit, sec_cait, sec_deepvit, sec_performer, sec_rotary,
            sec_local_attention, sec_linear_attention, sec_nystrom, sec_linformer, sec_pkm,
            sec_axial]

def run() -> None:
    """Run every section into ``OUT`` (a failing one records its traceback)."""
    for section in SECTIONS:
        try:
            section()
        except Exception:  # recorded: the test names the failing section
            OUT[section.__name__[4:] + "_ERR"] = np.array(traceback.format_exc()[-3000:])


if __name__ == "__main__":
    run()
    np.savez(sys.argv[1], **OUT)
