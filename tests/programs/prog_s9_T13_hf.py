"""The Hugging Face stack on small seeded models (peft, accelerate, diffusers,
sentence-transformers, transformers' save/load), the way their READMEs use them; every number
goes to an .npz. Usage: ``python prog_s9_T13_hf.py OUT.npz [section ...]`` (or under ``python -m
deltagrad run``); test_s9_T13_hf.py runs it on both libraries and compares. A section that
raises records ``<name>_ERR``.
"""

import os
import sys
import tempfile

import numpy as np
import torch

SIDE = "deltagrad" if "deltagrad" in sys.modules else "torch"  # (which library runs this)


def _np(t):
    return t.detach().cpu().numpy()


def _tiny_bert():
    from transformers import BertConfig, BertModel
    torch.manual_seed(0)
    return BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                intermediate_size=64, vocab_size=100))


def _tiny_gpt2():
    from transformers import GPT2Config, GPT2LMHeadModel
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=100,
                                      n_positions=32, bos_token_id=0, eos_token_id=1,
                                      pad_token_id=1))


def peft_lora():
    """LoRA on GPT-2: a few AdamW steps, merge_and_unload, adapter save/load."""
    from peft import (
        LoraConfig,
        PeftModel,
        get_peft_model,
        get_peft_model_state_dict,
        set_peft_model_state_dict,
    )
    out = {}
    base = _tiny_gpt2()
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_proj"],
                        lora_dropout=0.1, fan_in_fan_out=True, task_type="CAUSAL_LM")
    torch.manual_seed(1)
    model = get_peft_model(base, config)
    trainable, total = model.get_nb_trainable_parameters()
    out["counts"] = np.array([trainable, total])
    ids = torch.randint(2, 100, (2, 8))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    losses = []
    model.train()
    torch.manual_seed(2)
    for _ in range(3):
        optimizer.zero_grad()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    out["losses"] = np.array(losses)
    state = get_peft_model_state_dict(model)
    out["adapter_keys"] = np.array(sorted(state))
    out["lora_B"] = _np(state["base_model.model.transformer.h.0.attn.c_attn.lora_B.weight"])
    model.eval()
    with torch.no_grad():
        out["adapted_logits"] = _np(model(input_ids=ids).logits)
    with tempfile.TemporaryDirectory() as folder:
        model.save_pretrained(folder)
        out["files"] = np.array(sorted(os.listdir(folder)))
        fresh = PeftModel.from_pretrained(_tiny_gpt2(), folder).eval()
        with torch.no_grad():
            out["reloaded_logits"] = _np(fresh(input_ids=ids).logits)
    other = get_peft_model(_tiny_gpt2(), config)
    set_peft_model_state_dict(other, state)
    other.eval()
    with torch.no_grad():
        out["set_state_logits"] = _np(other(input_ids=ids).logits)
    merged = model.merge_and_unload()
    out["merged_type"] = np.array(type(merged).__name__)
    with torch.no_grad():
        out["merged_logits"] = _np(merged(input_ids=ids).logits)
    out["merged_c_attn"] = _np(merged.transformer.h[0].attn.c_attn.weight)
    return out


def peft_bert():
    """LoRA (and prefix tuning) on BERT for feature extraction / classification."""
    from peft import LoraConfig, get_peft_model
    from transformers import BertConfig, BertForSequenceClassification
    out = {}
    torch.manual_seed(0)
    config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, vocab_size=100, num_labels=3)
    model = get_peft_model(BertForSequenceClassification(config),
                           LoraConfig(r=2, target_modules=["query", "value"],
                                      task_type="SEQ_CLS", lora_dropout=0.0))
    ids = torch.randint(0, 100, (3, 7))
    labels = torch.tensor([0, 2, 1])
    result = model(input_ids=ids, labels=labels)
    out["lora_loss"] = _np(result.loss)
    result.loss.backward()
    names = sorted(n for n, p in model.named_parameters() if p.requires_grad)
    out["trainable"] = np.array(names)
    out["grad_A"] = _np(dict(model.named_parameters())[
        "base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.default.weight"].grad)
    from peft import PrefixTuningConfig
    torch.manual_seed(3)
    prefix = get_peft_model(_tiny_gpt2(), PrefixTuningConfig(num_virtual_tokens=4,
                                                             task_type="CAUSAL_LM"))
    result = prefix(input_ids=ids, labels=ids)
    out["prefix_loss"] = _np(result.loss)
    result.loss.backward()
    grads = [p.grad for p in prefix.parameters() if p.requires_grad and p.grad is not None]
    out["prefix_grad_norms"] = np.array([float(g.norm()) for g in grads])
    prefix.eval()
    out["prefix_generate"] = _np(prefix.generate(input_ids=ids[:1, :4], max_new_tokens=4,
                                                 do_sample=False))
    return out


def accelerate_loop():
    """Accelerator().prepare, a CPU loop with gradient accumulation and a scheduler,
    save_state / load_state, init_empty_weights."""
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    out = {}
    set_seed(0)
    accelerator = Accelerator(cpu=True, gradient_accumulation_steps=2)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.GELU(), torch.nn.Linear(16, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    data = torch.utils.data.TensorDataset(torch.randn(24, 6), torch.randint(0, 2, (24,)))
    loader = torch.utils.data.DataLoader(data, batch_size=4, shuffle=True)
    model, optimizer, loader, scheduler = accelerator.prepare(model, optimizer, loader,
                                                              scheduler)
    losses, syncs, lrs = [], [], []
    for inputs, targets in loader:
        with accelerator.accumulate(model):
            loss = torch.nn.functional.cross_entropy(model(inputs), targets)
            accelerator.backward(loss)
            syncs.append(accelerator.sync_gradients)
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
    out["losses"] = np.array(losses)
    out["syncs"] = np.array(syncs)
    out["lrs"] = np.array(lrs)
    out["weight"] = _np(accelerator.unwrap_model(model)[0].weight)
    with tempfile.TemporaryDirectory() as folder:
        accelerator.save_state(folder)
        out["files"] = np.array(sorted(os.listdir(folder)))
        saved = _np(model[2].weight).copy()
        with torch.no_grad():
            model[2].weight.add_(1.0)
        accelerator.load_state(folder)
        out["restored"] = _np(model[2].weight) - saved
        out["momentum"] = _np(optimizer.state_dict()["state"][0]["momentum_buffer"])
    gathered = accelerator.gather(torch.tensor([1.0, 2.0]))
    out["gathered"] = _np(gathered)
    out["reduced"] = _np(accelerator.reduce(torch.tensor([3.0]), reduction="sum"))
    out["device"] = np.array(str(accelerator.device))
    return out


def accelerate_empty():
    """init_empty_weights: parameters on the meta device (shape and dtype, no data)."""
    from accelerate import init_empty_weights
    out = {}
    with init_empty_weights():
        model = torch.nn.Linear(4, 3)
    out["device"] = np.array(str(model.weight.device))
    out["shape"] = np.array(model.weight.shape)
    out["is_meta"] = np.array(model.weight.is_meta)
    model.to_empty(device="cpu")
    out["after_device"] = np.array(str(model.weight.device))
    return out


def diffusers_unet():
    """A tiny UNet2DModel: the DDPM training loss and gradients, DDPM and DDIM denoising."""
    from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
    out = {}
    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=8, in_channels=3, out_channels=3, layers_per_block=1,
                       block_out_channels=(8, 16), norm_num_groups=4,
                       down_block_types=("DownBlock2D", "AttnDownBlock2D"),
                       up_block_types=("AttnUpBlock2D", "UpBlock2D"),
                       attention_head_dim=4)
    out["n_params"] = np.array(sum(p.numel() for p in unet.parameters()))
    train = DDPMScheduler(num_train_timesteps=50, beta_schedule="squaredcos_cap_v2")
    clean = torch.randn(2, 3, 8, 8)
    noise = torch.randn(2, 3, 8, 8)
    steps = torch.tensor([3, 41])
    noisy = train.add_noise(clean, noise, steps)
    out["noisy"] = _np(noisy)
    prediction = unet(noisy, steps).sample
    out["prediction"] = _np(prediction)
    loss = torch.nn.functional.mse_loss(prediction, noise)
    out["loss"] = _np(loss)
    loss.backward()
    out["grad_conv_in"] = _np(unet.conv_in.weight.grad)
    out["grad_norms"] = np.array([float(p.grad.norm()) for p in unet.parameters()
                                  if p.grad is not None])
    optimizer = torch.optim.AdamW(unet.parameters(), lr=1e-3)
    optimizer.step()
    unet.eval()
    for name, scheduler in (("ddpm", DDPMScheduler(num_train_timesteps=50)),
                            ("ddim", DDIMScheduler(num_train_timesteps=50))):
        scheduler.set_timesteps(5)
        out[f"{name}_timesteps"] = _np(scheduler.timesteps)
        generator = torch.Generator().manual_seed(4)
        sample = torch.randn(1, 3, 8, 8, generator=generator)
        for t in scheduler.timesteps:
            with torch.no_grad():
                residual = unet(sample, t).sample
            sample = scheduler.step(residual, t, sample, generator=generator).prev_sample
        out[f"{name}_sample"] = _np(sample)
    return out


_WORDS = ("the cat sat on mat a dog ran in park birds fly over sea fish swim under "
          "blue sky green grass red sun").split()
_SENTENCES = ["the cat sat on the mat", "a dog ran in the park", "birds fly over the sea",
              "fish swim under the blue sea", "the red sun in the sky", "a cat in green grass"]


def _word_tokenizer():
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    vocab = {"[UNK]": 0, "[PAD]": 1, **{w: i + 2 for i, w in enumerate(_WORDS)}}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    return tokenizer


def sentence_static():
    """A SentenceTransformer of StaticEmbedding + Dense + Normalize: encode, similarity,
    losses and an AdamW step, save / load."""
    from sentence_transformers import SentenceTransformer, losses
    from sentence_transformers.base.modules import Dense, Normalize
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding
    out = {}
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((len(_WORDS) + 2, 12)).astype(np.float32)
    torch.manual_seed(0)
    embed = StaticEmbedding(_word_tokenizer(), embedding_weights=weights)
    dense = Dense(12, 8, activation_function=torch.nn.ReLU())
    model = SentenceTransformer(modules=[embed, dense, Normalize()], device="cpu")
    encoded = model.encode(_SENTENCES, convert_to_tensor=True)
    out["encoded"] = _np(encoded)
    out["encoded_np"] = model.encode(_SENTENCES[:2])
    out["similarity"] = _np(model.similarity(encoded, encoded))
    from sentence_transformers import util
    out["cos_sim"] = _np(util.cos_sim(encoded[:3], encoded[3:]))
    hits = util.semantic_search(encoded[:2], encoded, top_k=3)
    out["hits"] = np.array([[h["corpus_id"] for h in row] for row in hits])
    anchors = model.tokenize(_SENTENCES[:3])
    positives = model.tokenize(_SENTENCES[3:])
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for name, loss_fn, labels in (
            ("mnrl", losses.MultipleNegativesRankingLoss(model), None),
            ("cosine", losses.CosineSimilarityLoss(model), torch.tensor([0.9, 0.1, 0.5])),
            ("cosent", losses.CoSENTLoss(model), torch.tensor([0.9, 0.1, 0.5]))):
        optimizer.zero_grad()
        loss = loss_fn([anchors, positives], labels)
        loss.backward()
        out[f"{name}_loss"] = _np(loss)
        out[f"{name}_grad"] = _np(embed.embedding.weight.grad)
        optimizer.step()
    out["trained"] = _np(model.encode(_SENTENCES, convert_to_tensor=True))
    with tempfile.TemporaryDirectory() as folder:
        model.save(folder)
        loaded = SentenceTransformer(folder, device="cpu")
        out["reloaded"] = _np(loaded.encode(_SENTENCES, convert_to_tensor=True))
        out["reloaded_activation"] = np.array(type(loaded[1].activation_function).__name__)
    return out


def _tiny_models():
    from transformers import (
        BertConfig,
        BertModel,
        LlamaConfig,
        LlamaForCausalLM,
        T5Config,
        T5ForConditionalGeneration,
    )
    torch.manual_seed(0)
    yield "bert", BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                       intermediate_size=64, vocab_size=100))
    yield "gpt2", _tiny_gpt2()
    torch.manual_seed(0)
    yield "llama", LlamaForCausalLM(LlamaConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=100, max_position_embeddings=64, pad_token_id=0,
        bos_token_id=1, eos_token_id=2))
    torch.manual_seed(0)
    yield "t5", T5ForConditionalGeneration(T5Config(
        d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4, vocab_size=100,
        decoder_start_token_id=0, pad_token_id=0, eos_token_id=1))


def _forward(name, model, ids):
    with torch.no_grad():
        if name == "t5":
            return model(input_ids=ids, decoder_input_ids=ids[:, :4]).logits
        if name == "bert":
            return model(ids).last_hidden_state
        return model(ids).logits


def safetensors_io(folder):
    """save_pretrained of each tiny model into ``folder/<name>`` (the test compares the files
    the two libraries wrote), then its weights loaded back by hand with safetensors into a
    fresh model; and a file written by NumPy (``numpy_weights.safetensors`` beside the .npz,
    made by the test) loaded into a GPT-2."""
    from safetensors.torch import load_file, save_file
    out = {}
    ids = torch.randint(2, 100, (2, 6), generator=torch.Generator().manual_seed(1))
    for name, model in _tiny_models():
        model.eval()
        target = os.path.join(folder, name)
        model.save_pretrained(target)
        state = load_file(os.path.join(target, "model.safetensors"))
        torch.manual_seed(7)
        fresh = type(model)(model.config).eval()
        missing, unexpected = fresh.load_state_dict(state, strict=False)
        fresh.tie_weights()
        out[f"{name}/missing"] = np.array(sorted(missing), dtype=str)
        out[f"{name}/unexpected"] = np.array(sorted(unexpected), dtype=str)
        out[f"{name}/diff"] = _np(_forward(name, fresh, ids) - _forward(name, model, ids))
        out[f"{name}/logits"] = _np(_forward(name, fresh, ids))
    numpy_file = os.path.join(folder, "..", "..", "numpy_weights.safetensors")
    model = _tiny_gpt2().eval()
    model.load_state_dict(load_file(numpy_file), strict=False)
    model.tie_weights()
    out["numpy_file/logits"] = _np(_forward("gpt2", model, ids))
    mixed = {"a": torch.arange(6, dtype=torch.int16).reshape(2, 3),
             "b": torch.tensor([1.5, -2.0], dtype=torch.float16),
             "c": torch.arange(4, dtype=torch.float64).reshape(2, 2).t(),
             "d": torch.tensor([True, False])}
    try:  # (safetensors refuses a non-contiguous tensor)
        save_file(mixed, os.path.join(folder, "refused.safetensors"))
    except ValueError as error:
        out["mixed/refused"] = np.array(str(error)[:40])
    mixed["c"] = mixed["c"].contiguous()
    save_file(mixed, os.path.join(folder, "mixed.safetensors"), metadata={"k": "v"})
    back = load_file(os.path.join(folder, "mixed.safetensors"))
    out["mixed/dtypes"] = np.array([str(back[k].dtype) for k in "abcd"])
    for key in "abcd":
        out[f"mixed/{key}"] = _np(back[key])
    return out


def from_pretrained(folder):
    """from_pretrained (Auto classes) of each saved tiny model (built under device 'meta')."""
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForSeq2SeqLM
    out = {}
    ids = torch.randint(2, 100, (2, 6), generator=torch.Generator().manual_seed(1))
    loaders = {"bert": AutoModel, "gpt2": AutoModelForCausalLM, "llama": AutoModelForCausalLM,
               "t5": AutoModelForSeq2SeqLM}
    for name, model in _tiny_models():
        model.eval()
        target = os.path.join(folder, "fp_" + name)
        model.save_pretrained(target)
        loaded = loaders[name].from_pretrained(target, use_kernels=False).eval()
        out[f"{name}/type"] = np.array(type(loaded).__name__)
        out[f"{name}/diff"] = _np(_forward(name, loaded, ids) - _forward(name, model, ids))
    return out


def sentence_bert(folder):
    """A SentenceTransformer on a tiny BERT saved to a folder (Transformer + mean Pooling)."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    out = {}
    bert = next(_tiny_models())[1]
    target = os.path.join(folder, "st_bert")
    bert.save_pretrained(target)
    module = Transformer(target, model_kwargs={"use_kernels": False})
    model = SentenceTransformer(modules=[module, Pooling(32, "mean")], device="cpu")
    out["encoded"] = model.encode(["a b c"])
    return out


SECTIONS = {"peft_lora": peft_lora, "peft_bert": peft_bert,
            "accelerate_loop": accelerate_loop, "accelerate_empty": accelerate_empty,
            "diffusers_unet": diffusers_unet,
            "sentence_static": sentence_static,
            "safetensors_io": safetensors_io, "from_pretrained": from_pretrained,
            "sentence_bert": sentence_bert}


def run_sections(only=None):
    """Every section's numbers, keyed ``<section>/<name>`` (``<section>_ERR`` on failure)."""
    import transformers
    transformers.logging.set_verbosity_error()
    results = {}
    for name, section in SECTIONS.items():
        if only and name not in only:
            continue
        try:
            folder = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), SIDE, name)
            os.makedirs(folder, exist_ok=True)
            takes_folder = section.__code__.co_argcount == 1
            for key, value in (section(folder) if takes_folder else section()).items():
                results[f"{name}/{key}"] = np.asarray(value)
        except Exception as error:  # noqa: BLE001 - recorded and reported by the test
            import traceback
            results[f"{name}_ERR"] = np.array(f"{type(error).__name__}: {error}\n"
                                              + traceback.format_exc()[-1500:])
    return results


if __name__ == "__main__":
    np.savez(sys.argv[1], **run_sections(sys.argv[2:]))
