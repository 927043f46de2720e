"""HuggingFace transformers on small random-init models, the way its docs use them; every number
it sees goes to an .npz. Usage: ``python prog_s8_T7_hf.py OUT.npz`` (or under ``python -m
deltagrad run``); test_s8_T7_transformers.py runs it on both libraries and compares.

Sections (each a key prefix; a section that raises records ``<name>_ERR``): BERT classification
(logits, loss, gradients, AdamW steps, attentions / hidden states, padding masks), GPT-2 (LM loss,
greedy and sampled ``generate``, left padding), Llama (RoPE, GQA, loss, gradients, generate),
T5 (encoder-decoder loss, generate), DistilBERT / RoBERTa / ViT forwards and losses, and a
``save_pretrained`` / ``from_pretrained`` round trip (safetensors).

Under deltagrad, a few PyTorch features transformers needs at import time are missing;
``_bridge_gaps`` fills each one only when it is missing (never on PyTorch) and lists it under the
key ``gaps`` so that the test can name them (see the report of helper T7, session 8).
"""

import contextlib
import sys
import tempfile
import types

import numpy as np
import torch

GAPS = []


def _bridge_gaps():
    """Fill the PyTorch names deltagrad lacks that transformers reads on import (each gap is
    recorded; none of them is reached by the computations compared below)."""
    import torch  # (local: the `import torch.x` statements below bind the name here)
    import torch.utils._pytree as pytree
    if not hasattr(pytree, "_dict_flatten_with_keys"):
        def _dict_flatten_with_keys(d):
            return [(pytree.MappingKey(k), v) for k, v in d.items()], list(d.keys())
        pytree._dict_flatten_with_keys = _dict_flatten_with_keys
        GAPS.append("utils._pytree._dict_flatten_with_keys")
    try:
        import torch.distributed.tensor  # noqa: F401
    except ImportError:
        # transformers imports DTensor, Shard, DeviceMesh, fsdp, ... when distributed is
        # available; without them it must take its non-distributed path.
        import torch.distributed as dist
        dist.is_available = lambda: False
        GAPS.append("distributed.tensor (DTensor, placements, device_mesh, fsdp)")
    try:
        import torch._dynamo._trace_wrapped_higher_order_op  # noqa: F401
    except ImportError:
        try:
            import torch._dynamo as dynamo
        except ImportError:
            dynamo = types.ModuleType("torch._dynamo")
            dynamo.__path__ = []
            sys.modules["torch._dynamo"] = torch._dynamo = dynamo
        wrapped = types.ModuleType("torch._dynamo._trace_wrapped_higher_order_op")
        wrapped.TransformGetItemToIndex = type("TransformGetItemToIndex",
                                               (contextlib.nullcontext,), {})
        dynamo._trace_wrapped_higher_order_op = wrapped
        sys.modules["torch._dynamo._trace_wrapped_higher_order_op"] = wrapped
        GAPS.append("_dynamo._trace_wrapped_higher_order_op.TransformGetItemToIndex")
    for name in ("assume_constant_result", "allow_in_graph", "mark_static_address"):
        if not hasattr(torch._dynamo, name):
            setattr(torch._dynamo, name, (lambda function: function)
                    if name != "mark_static_address" else (lambda *args, **kwargs: None))
            GAPS.append(f"_dynamo.{name}")
    try:
        import torch.nn.attention.flex_attention  # noqa: F401
    except ImportError:
        import torch.nn.attention as attention
        flex = types.ModuleType("torch.nn.attention.flex_attention")

        def unsupported(*args, **kwargs):
            raise NotImplementedError("flex_attention")
        flex.BlockMask = type("BlockMask", (), {})
        flex.AuxRequest = type("AuxRequest", (), {})
        flex.create_block_mask = flex.flex_attention = unsupported
        flex._DEFAULT_SPARSE_BLOCK_SIZE = 128
        attention.flex_attention = flex
        sys.modules["torch.nn.attention.flex_attention"] = flex
        GAPS.append("nn.attention.flex_attention")
    if "library" not in vars(torch):
        import torch.library  # noqa: F401 - PyTorch has it after `import torch`
        GAPS.append("torch.library is not an attribute after `import torch`")
    if torch.arange(3).expand(1, 3).stride() != (3, 1):
        # expand that adds or keeps only size-1 dims gives a read-only stride-0 array, and
        # BERT's init copies into such a buffer (position_ids): a view is what PyTorch has.
        expand = torch.Tensor.expand

        def expand_view(self, *sizes):
            out = expand(self, *sizes)
            if out.numel() == self.numel() and self.is_contiguous():
                return self.view(out.shape)
            return out
        torch.Tensor.expand = expand_view
        GAPS.append("expand to size-1 dims: stride 0, read-only (copy_ into it fails)")


def _np(t):
    return t.detach().cpu().numpy()


def _grads(model, out, names):
    for name, param in model.named_parameters():
        if any(part in name for part in names):
            out[f"grad/{name}"] = _np(param.grad)
    out["grad_norms"] = np.array([float(p.grad.norm()) for p in model.parameters()
                                  if p.grad is not None])


def _weights(model, out):
    out["weight_sums"] = np.array([float(p.detach().double().sum())
                                   for p in model.parameters()])


def bert():
    from transformers import BertConfig, BertForSequenceClassification
    out = {}
    torch.manual_seed(0)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, vocab_size=100, num_labels=3)
    model = BertForSequenceClassification(config)
    _weights(model, out)
    ids = torch.randint(0, 100, (3, 9))
    mask = torch.ones(3, 9, dtype=torch.long)
    mask[1, 6:] = 0
    mask[2, 4:] = 0
    labels = torch.tensor([0, 2, 1])
    model.eval()
    with torch.no_grad():
        out["sdpa_logits"] = _np(model(ids, attention_mask=mask).logits)
        model.set_attn_implementation("eager")  # (sdpa returns no attention weights)
        result = model(ids, attention_mask=mask, output_attentions=True,
                       output_hidden_states=True)
    out["eval_logits"] = _np(result.logits)
    out["attentions"] = np.stack([_np(a) for a in result.attentions])
    out["hidden_states"] = np.stack([_np(h) for h in result.hidden_states])
    # padding: the padded row equals the same row run alone without its pads
    with torch.no_grad():
        alone = model(ids[2:3, :4]).logits
    out["padded_vs_alone"] = _np(result.logits[2:3] - alone)
    model.train()
    torch.manual_seed(1)  # dropout masks
    result = model(ids, attention_mask=mask, labels=labels)
    out["train_loss"] = _np(result.loss)
    result.loss.backward()
    _grads(model, out, ("word_embeddings", "layer.1.attention.self.query", "classifier"))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.01)
    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = model(ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    out["adamw_losses"] = np.array(losses)
    out["adamw_classifier"] = _np(model.classifier.weight)
    return out


def gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel
    out = {}
    torch.manual_seed(0)
    config = GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=100, n_positions=64,
                        bos_token_id=0, eos_token_id=1, pad_token_id=1)
    model = GPT2LMHeadModel(config)
    _weights(model, out)
    ids = torch.randint(2, 100, (2, 8))
    result = model(ids, labels=ids)
    out["loss"] = _np(result.loss)
    out["logits"] = _np(result.logits)
    result.loss.backward()
    _grads(model, out, ("wte", "h.0.attn.c_attn", "h.1.mlp.c_fc"))
    model.eval()
    greedy = model.generate(ids[:, :4], max_new_tokens=6, do_sample=False)
    out["greedy"] = _np(greedy)
    torch.manual_seed(5)
    sampled = model.generate(ids[:, :4], max_new_tokens=6, do_sample=True, top_k=20,
                             temperature=0.9)
    out["sampled"] = _np(sampled)
    # left padding: the padded prompt's continuation equals the unpadded one's
    prompt = ids[:1, :3]
    padded = torch.cat([torch.ones(1, 2, dtype=torch.long), prompt], dim=1)
    mask = torch.tensor([[0, 0, 1, 1, 1]])
    out["left_padded"] = _np(model.generate(padded, attention_mask=mask, max_new_tokens=5,
                                            do_sample=False))
    out["unpadded"] = _np(model.generate(prompt, max_new_tokens=5, do_sample=False))
    out["beam"] = _np(model.generate(ids[:, :4], max_new_tokens=5, num_beams=3,
                                     do_sample=False, repetition_penalty=1.3,
                                     no_repeat_ngram_size=2))
    with torch.no_grad():
        scores = model.generate(ids[:, :4], max_new_tokens=3, do_sample=False,
                                output_scores=True, return_dict_in_generate=True).scores
    out["scores"] = np.stack([_np(s) for s in scores])
    return out


def llama():
    from transformers import LlamaConfig, LlamaForCausalLM
    out = {}
    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=100,
                         max_position_embeddings=64, pad_token_id=0, bos_token_id=1,
                         eos_token_id=2)
    model = LlamaForCausalLM(config)
    _weights(model, out)
    ids = torch.randint(3, 100, (2, 7))
    result = model(ids, labels=ids)
    out["loss"] = _np(result.loss)
    out["logits"] = _np(result.logits)
    result.loss.backward()
    _grads(model, out, ("embed_tokens", "layers.0.self_attn.k_proj", "layers.1.mlp.gate_proj"))
    model.eval()
    out["greedy"] = _np(model.generate(ids[:, :3], max_new_tokens=5, do_sample=False))
    torch.manual_seed(3)
    out["sampled"] = _np(model.generate(ids[:, :3], max_new_tokens=5, do_sample=True,
                                        top_p=0.9))
    # a batch of prompts of different lengths, left-padded, as the docs batch generation
    batch = torch.stack([ids[0, :5], torch.cat([torch.zeros(2, dtype=torch.long), ids[1, :3]])])
    mask = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]])
    out["batched"] = _np(model.generate(batch, attention_mask=mask, max_new_tokens=4,
                                        do_sample=False))
    with torch.no_grad():
        out["masked_logits"] = _np(model(batch, attention_mask=mask).logits[:, -1])
    return out


def t5():
    from transformers import T5Config, T5ForConditionalGeneration
    out = {}
    torch.manual_seed(0)
    config = T5Config(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, vocab_size=100,
                      decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    model = T5ForConditionalGeneration(config)
    _weights(model, out)
    src = torch.randint(2, 100, (2, 6))
    tgt = torch.randint(2, 100, (2, 5))
    result = model(input_ids=src, labels=tgt)
    out["loss"] = _np(result.loss)
    out["logits"] = _np(result.logits)
    result.loss.backward()
    _grads(model, out, ("shared", "encoder.block.0.layer.0.SelfAttention.q",
                        "relative_attention_bias"))
    model.eval()
    out["greedy"] = _np(model.generate(src, max_new_tokens=5, do_sample=False))
    return out


def encoders():
    from transformers import (
        DistilBertConfig,
        DistilBertForMaskedLM,
        RobertaConfig,
        RobertaForTokenClassification,
        ViTConfig,
        ViTForImageClassification,
    )
    out = {}
    torch.manual_seed(0)
    distil = DistilBertForMaskedLM(DistilBertConfig(dim=32, n_layers=2, n_heads=4,
                                                    hidden_dim=64, vocab_size=100))
    ids = torch.randint(0, 100, (2, 8))
    result = distil(ids, labels=ids)
    out["distil_loss"] = _np(result.loss)
    out["distil_logits"] = _np(result.logits)
    result.loss.backward()
    out["distil_grad"] = _np(distil.distilbert.embeddings.word_embeddings.weight.grad)
    torch.manual_seed(1)
    roberta = RobertaForTokenClassification(RobertaConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        vocab_size=100, num_labels=5, pad_token_id=1))
    roberta.eval()
    tags = torch.randint(0, 5, (2, 8))
    result = roberta(ids, labels=tags)
    out["roberta_loss"] = _np(result.loss)
    out["roberta_logits"] = _np(result.logits)
    torch.manual_seed(2)
    vit = ViTForImageClassification(ViTConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        image_size=16, patch_size=4, num_channels=3, num_labels=4))
    pixels = torch.randn(2, 3, 16, 16)
    result = vit(pixel_values=pixels, labels=torch.tensor([1, 3]))
    out["vit_loss"] = _np(result.loss)
    out["vit_logits"] = _np(result.logits)
    result.loss.backward()
    out["vit_patch_grad"] = _np(vit.vit.embeddings.patch_embeddings.projection.weight.grad)
    return out


def _small_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=1, n_head=4, vocab_size=50,
                                       n_positions=32))
    return model.eval(), torch.randint(0, 50, (1, 6))


def save_load():
    """save_pretrained, then the safetensors file loaded into a fresh model by hand."""
    import os

    from safetensors.torch import load_file
    from transformers import GPT2LMHeadModel
    out = {}
    model, ids = _small_gpt2()
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        out["files"] = np.array(sorted(os.listdir(folder)))
        state = load_file(os.path.join(folder, "model.safetensors"))
        out["keys"] = np.array(sorted(state))
        out["dtypes"] = np.array([str(state[k].dtype) for k in sorted(state)])
        torch.manual_seed(9)
        fresh = GPT2LMHeadModel(model.config).eval()
        missing, unexpected = fresh.load_state_dict(state, strict=False)
        out["missing"] = np.array(sorted(missing), dtype=str)
        out["unexpected"] = np.array(sorted(unexpected), dtype=str)
    with torch.no_grad():
        out["before"] = _np(model(ids).logits)
        out["after"] = _np(fresh(ids).logits)
    return out


def from_pretrained():
    """AutoModelForCausalLM.from_pretrained of a saved folder (builds under device 'meta')."""
    from transformers import AutoModelForCausalLM
    out = {}
    model, ids = _small_gpt2()
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        loaded = AutoModelForCausalLM.from_pretrained(folder, use_kernels=False)
    with torch.no_grad():
        out["after"] = _np(loaded(ids).logits)
        out["diff"] = _np(loaded(ids).logits - model(ids).logits)
    out["type"] = np.array(type(loaded).__name__)
    return out


def whisper():
    from transformers import WhisperConfig, WhisperForConditionalGeneration
    out = {}
    torch.manual_seed(0)
    config = WhisperConfig(vocab_size=60, num_mel_bins=8, encoder_layers=1, decoder_layers=1,
                           encoder_attention_heads=2, decoder_attention_heads=2, d_model=16,
                           encoder_ffn_dim=32, decoder_ffn_dim=32, max_source_positions=10,
                           max_target_positions=16, pad_token_id=0, bos_token_id=1,
                           eos_token_id=2, decoder_start_token_id=1)
    model = WhisperForConditionalGeneration(config)
    features = torch.randn(2, 8, 20)  # (batch, mel bins, frames = 2 * max_source_positions)
    labels = torch.randint(3, 60, (2, 5))
    result = model(input_features=features, labels=labels)
    out["loss"] = _np(result.loss)
    out["logits"] = _np(result.logits)
    result.loss.backward()
    out["conv1_grad"] = _np(model.model.encoder.conv1.weight.grad)
    return out


SECTIONS = {"bert": bert, "gpt2": gpt2, "llama": llama, "t5": t5, "encoders": encoders,
            "whisper": whisper,
            "save_load": save_load, "from_pretrained": from_pretrained}


def run_sections(only=None):
    """Every section's numbers, keyed ``<section>/<name>`` (``<section>_ERR`` on failure)."""
    _bridge_gaps()
    import transformers
    transformers.logging.set_verbosity_error()
    results = {}
    for name, section in SECTIONS.items():
        if only and name not in only:
            continue
        try:
            for key, value in section().items():
                results[f"{name}/{key}"] = np.asarray(value)
        except Exception as error:  # noqa: BLE001 - recorded and reported by the test
            import traceback
            results[f"{name}_ERR"] = np.array(f"{type(error).__name__}: {error}\n"
                                              + traceback.format_exc()[-1500:])
    results["gaps"] = np.array(GAPS, dtype=str)
    return results


if __name__ == "__main__":
    np.savez(sys.argv[1], **run_sections(sys.argv[2:]))
