"""The ways users run transformers models beyond one eager forward (LE12, session 23), on zoo
models (prog_s23_LE12_zoo: the same NumPy weights on both libraries):

- ``sdpa_padded``: the default attention (``sdpa``: scaled_dot_product_attention with a mask),
  a left-padded batch: logits, and batched greedy generation with its scores.
- ``train_dropout``: training mode (dropout 0.1, seeded): losses and gradients of two AdamW
  steps.
- ``grad_ckpt``: ``gradient_checkpointing_enable()`` in training mode: the gradients.
- ``bf16``: the model in bfloat16: logits, loss and a gradient.
- ``generate_options``: top-p / top-k sampling with several sequences, repetition and n-gram
  penalties, bad words, minimum lengths, 3-beam search with a length penalty and several
  returned sequences, scores and logits of ``return_dict_in_generate``.

Run as ``python prog_s23_LE12_modes.py OUT.npz [PARTS]`` on PyTorch or under ``python -m
deltagrad run``; ``test_s23_LE12_modes.py`` compares the two.
"""
import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness
from prog_s23_LE12_zoo import build, inputs_for


def _padded():
    """A left-padded batch of three prompts (lengths 6, 4, 2) and its attention mask."""
    ids = torch.randint(3, 100, (3, 6), generator=torch.Generator().manual_seed(4))
    mask = torch.ones_like(ids)
    mask[1, :2] = 0
    mask[2, :4] = 0
    return ids.masked_fill(mask == 0, 0), mask


@part("sdpa_padded", "transformers")
def sdpa_padded():
    ids, mask = _padded()
    for name in ("gpt2", "llama", "qwen3_moe", "cohere2", "t5", "mbart", "bert", "roberta"):
        model, kind = build(name, attention="sdpa")
        model.eval()
        with torch.no_grad():
            if kind == "seq2seq":
                start = torch.ones(3, 2, dtype=torch.long)
                out = model(input_ids=ids, attention_mask=mask, decoder_input_ids=start)
            else:
                out = model(input_ids=ids, attention_mask=mask)
            # (padded query rows: PyTorch's sdpa gives them what a fully masked row gives)
            put(f"sdpa_padded.{name}.logits", out.logits)
            if kind == "masked":
                continue
            generated = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=4,
                                       do_sample=False, pad_token_id=0,
                                       return_dict_in_generate=True, output_scores=True)
        put(f"sdpa_padded.{name}.generated", generated.sequences)
        put(f"sdpa_padded.{name}.scores", torch.stack(generated.scores))


@part("train_dropout", "transformers")
def train_dropout():
    for name in ("bert", "gpt2", "t5", "mbart", "vit", "wavlm", "distilbert"):
        model, kind = build(name)
        model.train()
        batch = inputs_for(kind)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
        torch.manual_seed(5)
        losses = []
        for _ in range(2):
            optimizer.zero_grad()
            loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        put(f"train_dropout.{name}.losses", torch.stack(losses))
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        put(f"train_dropout.{name}.grad_first", grads[0])
        put(f"train_dropout.{name}.grad_last", grads[-1])


@part("grad_ckpt", "transformers")
def grad_ckpt():
    for name in ("llama", "bert", "t5", "gpt2"):
        model, kind = build(name)
        model.gradient_checkpointing_enable()
        model.train()
        torch.manual_seed(5)
        loss = model(**inputs_for(kind)).loss
        loss.backward()
        put(f"grad_ckpt.{name}.loss", loss)
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        put(f"grad_ckpt.{name}.count", len(grads))
        put(f"grad_ckpt.{name}.grad_first", grads[0])
        put(f"grad_ckpt.{name}.grad_last", grads[-1])


@part("bf16", "transformers")
def bf16():
    for name in ("llama", "bert", "gpt2"):
        model, kind = build(name)
        model.to(torch.bfloat16).eval()
        batch = inputs_for(kind)
        out = model(**batch)
        put(f"bf16.{name}.logits", out.logits.float())
        put(f"bf16.{name}.logits_dtype", str(out.logits.dtype))
        put(f"bf16.{name}.loss", out.loss.float())
        out.loss.backward()
        put(f"bf16.{name}.grad_embed", model.get_input_embeddings().weight.grad.float())


@part("generate_options", "transformers")
def generate_options():
    options = {
        "top_p": {"do_sample": True, "top_p": 0.8, "top_k": 0, "num_return_sequences": 3},
        "penalties": {"do_sample": False, "repetition_penalty": 1.5,
                      "no_repeat_ngram_size": 2, "bad_words_ids": [[5], [7, 8]],
                      "min_new_tokens": 5},
        "beams": {"num_beams": 3, "num_return_sequences": 2, "length_penalty": 0.5,
                  "do_sample": False},
        "beam_sample": {"num_beams": 2, "do_sample": True, "temperature": 0.7},
        "typical": {"do_sample": True, "typical_p": 0.9, "epsilon_cutoff": 3e-4},
    }
    for name in ("gpt2", "llama", "t5", "mbart"):
        model, kind = build(name)
        model.eval()
        prompt = inputs_for(kind)["input_ids"][:, :4]
        for option, keywords in options.items():
            torch.manual_seed(9)
            with torch.no_grad():
                out = model.generate(prompt, max_new_tokens=6, pad_token_id=0,
                                     return_dict_in_generate=True, output_scores=True,
                                     output_logits=True, **keywords)
            put(f"generate_options.{name}.{option}.sequences", out.sequences)
            put(f"generate_options.{name}.{option}.scores", torch.stack(out.scores))
            put(f"generate_options.{name}.{option}.logits", torch.stack(out.logits))
            if getattr(out, "sequences_scores", None) is not None:
                put(f"generate_options.{name}.{option}.sequences_scores",
                    out.sequences_scores)


if __name__ == "__main__":
    main()
