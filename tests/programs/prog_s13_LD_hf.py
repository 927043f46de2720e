"""Probe program (LD, session 13): Hugging Face transformers model families that earlier
sessions did not run (Mistral, Qwen2/3, Gemma 1-3, Phi, Phi-3, GPT-Neo, GPT-NeoX, OPT, BLOOM,
Falcon, BART, Pegasus, Marian, Blenderbot, M2M100, Switch Transformers, LongT5, ELECTRA, ALBERT,
DeBERTa-v2, MPNet, ConvBERT, Funnel, RoFormer, XLM-R, ModernBERT, MobileBERT, Nystromformer,
Mamba, Mixtral, Qwen2-MoE, GPTBigCode, CodeGen, GPT-J, StableLM, OLMo 1-2, Cohere, Helium, GLM,
SmolLM3, Persimmon, MPT, BioGPT, XGLM, Starcoder2, Granite, ESM, Wav2Vec2, HuBERT, ConvNeXT,
ResNet, Swin, DINOv2, Segformer, CLIP),
each built tiny from its config, seeded: logits, loss and input-embedding gradient of one
forward/backward, a second loss after an AdamW step, and greedy generation for the generative
ones. Every number goes to an .npz.

Run as ``python prog_s13_LD_hf.py OUT.npz [PARTS]`` on the real PyTorch, or under
``python -m deltagrad run`` unchanged (prog_s13_LD_libs.py imports it, so that one process runs
every part); ``test_s13_LD_libs.py`` compares the two.
"""
import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness

SMALL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 64, "vocab_size": 100}
DECODER = {**SMALL, "num_key_value_heads": 2, "max_position_embeddings": 64,
           "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
SEQ2SEQ = {"d_model": 32, "encoder_layers": 2, "decoder_layers": 2,
           "encoder_attention_heads": 4, "decoder_attention_heads": 4, "encoder_ffn_dim": 64,
           "decoder_ffn_dim": 64, "vocab_size": 100, "max_position_embeddings": 64,
           "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2,
           "decoder_start_token_id": 1}
VISION = {"num_channels": 3, "image_size": 32}

# name: (model class, config class, config keywords, kind)
MODELS = {
    "mistral": ("MistralForCausalLM", "MistralConfig", DECODER, "causal"),
    "qwen2": ("Qwen2ForCausalLM", "Qwen2Config", DECODER, "causal"),
    "qwen3": ("Qwen3ForCausalLM", "Qwen3Config", {**DECODER, "head_dim": 8}, "causal"),
    "gemma": ("GemmaForCausalLM", "GemmaConfig", {**DECODER, "head_dim": 8}, "causal"),
    "gemma2": ("Gemma2ForCausalLM", "Gemma2Config", {**DECODER, "head_dim": 8,
                                                      "sliding_window": 4}, "causal"),
    "gemma3": ("Gemma3ForCausalLM", "Gemma3TextConfig", {**DECODER, "head_dim": 8,
                                                          "sliding_window": 4}, "causal"),
    "phi": ("PhiForCausalLM", "PhiConfig", {**DECODER, "partial_rotary_factor": 0.5},
            "causal"),
    "phi3": ("Phi3ForCausalLM", "Phi3Config", DECODER, "causal"),
    "stablelm": ("StableLmForCausalLM", "StableLmConfig", DECODER, "causal"),
    "olmo": ("OlmoForCausalLM", "OlmoConfig", DECODER, "causal"),
    "starcoder2": ("Starcoder2ForCausalLM", "Starcoder2Config", DECODER, "causal"),
    "granite": ("GraniteForCausalLM", "GraniteConfig", DECODER, "causal"),
    "mixtral": ("MixtralForCausalLM", "MixtralConfig", {**DECODER, "num_local_experts": 4,
                                                         "num_experts_per_tok": 2}, "causal"),
    "qwen2_moe": ("Qwen2MoeForCausalLM", "Qwen2MoeConfig", {
        **DECODER, "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 16,
        "shared_expert_intermediate_size": 32}, "causal"),
    "olmo2": ("Olmo2ForCausalLM", "Olmo2Config", DECODER, "causal"),
    "cohere": ("CohereForCausalLM", "CohereConfig", DECODER, "causal"),
    "helium": ("HeliumForCausalLM", "HeliumConfig", {**DECODER, "head_dim": 8}, "causal"),
    "glm": ("GlmForCausalLM", "GlmConfig", {**DECODER, "head_dim": 8}, "causal"),
    "smollm3": ("SmolLM3ForCausalLM", "SmolLM3Config", DECODER, "causal"),
    "persimmon": ("PersimmonForCausalLM", "PersimmonConfig", DECODER, "causal"),
    "mpt": ("MptForCausalLM", "MptConfig", {
        "d_model": 32, "n_layers": 2, "n_heads": 4, "vocab_size": 100, "max_seq_len": 64,
        "expansion_ratio": 2, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2},
        "causal"),
    "biogpt": ("BioGptForCausalLM", "BioGptConfig", {**SMALL, "pad_token_id": 0,
                                                      "bos_token_id": 1, "eos_token_id": 2},
               "causal"),
    "xglm": ("XGLMForCausalLM", "XGLMConfig", {
        "d_model": 32, "num_layers": 2, "attention_heads": 4, "ffn_dim": 64,
        "vocab_size": 100, "max_position_embeddings": 64, "pad_token_id": 0,
        "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "gpt_neo": ("GPTNeoForCausalLM", "GPTNeoConfig", {
        "hidden_size": 32, "num_layers": 2, "num_heads": 4, "vocab_size": 100,
        "attention_types": [[["global", "local"], 1]], "window_size": 4,
        "max_position_embeddings": 64, "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "gpt_neox": ("GPTNeoXForCausalLM", "GPTNeoXConfig", {**DECODER, "rotary_pct": 0.5},
                 "causal"),
    "opt": ("OPTForCausalLM", "OPTConfig", {
        "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "ffn_dim": 64,
        "word_embed_proj_dim": 32, "vocab_size": 100, "max_position_embeddings": 64,
        "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "bloom": ("BloomForCausalLM", "BloomConfig", {
        "hidden_size": 32, "n_layer": 2, "n_head": 4, "vocab_size": 100,
        "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "falcon": ("FalconForCausalLM", "FalconConfig", {
        "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
        "vocab_size": 100, "new_decoder_architecture": True, "num_kv_heads": 2,
        "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "gpt_bigcode": ("GPTBigCodeForCausalLM", "GPTBigCodeConfig", {
        "n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": 100, "n_positions": 64,
        "multi_query": True, "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "codegen": ("CodeGenForCausalLM", "CodeGenConfig", {
        "n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": 100, "n_positions": 64,
        "rotary_dim": 4, "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "gptj": ("GPTJForCausalLM", "GPTJConfig", {
        "n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": 100, "n_positions": 64,
        "rotary_dim": 4, "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "mamba": ("MambaForCausalLM", "MambaConfig", {
        "hidden_size": 32, "num_hidden_layers": 2, "vocab_size": 100, "state_size": 4,
        "expand": 2, "conv_kernel": 3, "pad_token_id": 0, "bos_token_id": 1,
        "eos_token_id": 2, "use_mambapy": False}, "causal"),
    "bart": ("BartForConditionalGeneration", "BartConfig", SEQ2SEQ, "seq2seq"),
    "pegasus": ("PegasusForConditionalGeneration", "PegasusConfig", SEQ2SEQ, "seq2seq"),
    "marian": ("MarianMTModel", "MarianConfig", SEQ2SEQ, "seq2seq"),
    "blenderbot": ("BlenderbotForConditionalGeneration", "BlenderbotConfig", SEQ2SEQ,
                   "seq2seq"),
    "m2m100": ("M2M100ForConditionalGeneration", "M2M100Config", SEQ2SEQ, "seq2seq"),
    "switch": ("SwitchTransformersForConditionalGeneration", "SwitchTransformersConfig", {
        "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_decoder_layers": 2,
        "num_heads": 4, "vocab_size": 100, "num_experts": 4, "expert_capacity": 8,
        "num_sparse_encoder_layers": 1, "num_sparse_decoder_layers": 1,
        "decoder_start_token_id": 0, "pad_token_id": 0, "eos_token_id": 1}, "seq2seq"),
    "longt5": ("LongT5ForConditionalGeneration", "LongT5Config", {
        "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4,
        "vocab_size": 100, "local_radius": 2, "encoder_attention_type": "transient-global",
        "global_block_size": 4, "decoder_start_token_id": 0, "pad_token_id": 0,
        "eos_token_id": 1}, "seq2seq"),
    "mobilebert": ("MobileBertForMaskedLM", "MobileBertConfig", {
        **SMALL, "embedding_size": 16, "intra_bottleneck_size": 16,
        "num_feedforward_networks": 2, "true_hidden_size": 16}, "masked"),
    "nystromformer": ("NystromformerForMaskedLM", "NystromformerConfig", {
        **SMALL, "num_landmarks": 3, "segment_means_seq_len": 9}, "masked"),
    "electra": ("ElectraForMaskedLM", "ElectraConfig", {**SMALL, "embedding_size": 16},
                "masked"),
    "albert": ("AlbertForMaskedLM", "AlbertConfig", {**SMALL, "embedding_size": 16},
               "masked"),
    "deberta_v2": ("DebertaV2ForMaskedLM", "DebertaV2Config", {
        **SMALL, "relative_attention": True, "position_buckets": 8,
        "pos_att_type": ["p2c", "c2p"], "max_relative_positions": 16}, "masked"),
    "mpnet": ("MPNetForMaskedLM", "MPNetConfig", SMALL, "masked"),
    "convbert": ("ConvBertForMaskedLM", "ConvBertConfig", {**SMALL, "embedding_size": 32},
                 "masked"),
    "roformer": ("RoFormerForMaskedLM", "RoFormerConfig", {**SMALL, "embedding_size": 32},
                 "masked"),
    "xlm_roberta": ("XLMRobertaForMaskedLM", "XLMRobertaConfig", SMALL, "masked"),
    "modernbert": ("ModernBertForMaskedLM", "ModernBertConfig", {
        **SMALL, "global_attn_every_n_layers": 2, "local_attention": 4, "pad_token_id": 0,
        "bos_token_id": 1, "eos_token_id": 2, "cls_token_id": 1, "sep_token_id": 2},
        "masked"),
    "esm": ("EsmForMaskedLM", "EsmConfig", {**SMALL, "pad_token_id": 0,
                                             "position_embedding_type": "rotary"}, "masked"),
    "funnel": ("FunnelForSequenceClassification", "FunnelConfig", {
        "d_model": 32, "n_head": 4, "d_head": 8, "d_inner": 64, "block_sizes": [1, 1],
        "vocab_size": 100, "num_labels": 3}, "classify"),
    "wav2vec2": ("Wav2Vec2ForCTC", "Wav2Vec2Config", {
        **SMALL, "conv_dim": (8, 8), "conv_stride": (4, 4), "conv_kernel": (8, 4),
        "num_conv_pos_embeddings": 4, "num_conv_pos_embedding_groups": 2,
        "pad_token_id": 0, "ctc_loss_reduction": "mean"}, "ctc"),
    "hubert": ("HubertForSequenceClassification", "HubertConfig", {
        **SMALL, "conv_dim": (8, 8), "conv_stride": (4, 4), "conv_kernel": (8, 4),
        "num_conv_pos_embeddings": 4, "num_conv_pos_embedding_groups": 2,
        "num_labels": 3, "use_weighted_layer_sum": True}, "audio_classify"),
    "convnext": ("ConvNextForImageClassification", "ConvNextConfig", {
        "num_channels": 3, "num_stages": 2, "hidden_sizes": [8, 16], "depths": [1, 1],
        "num_labels": 3, "patch_size": 2}, "image"),
    "resnet": ("ResNetForImageClassification", "ResNetConfig", {
        "num_channels": 3, "embedding_size": 8, "hidden_sizes": [8, 16], "depths": [1, 1],
        "layer_type": "bottleneck", "num_labels": 3}, "image"),
    "swin": ("SwinForImageClassification", "SwinConfig", {
        **VISION, "patch_size": 4, "embed_dim": 8, "depths": [1, 1], "num_heads": [2, 2],
        "window_size": 2, "num_labels": 3}, "image"),
    "dinov2": ("Dinov2ForImageClassification", "Dinov2Config", {
        **VISION, **SMALL, "patch_size": 8, "num_labels": 3}, "image"),
    "segformer": ("SegformerForSemanticSegmentation", "SegformerConfig", {
        "num_channels": 3, "num_encoder_blocks": 2, "depths": [1, 1], "sr_ratios": [2, 1],
        "hidden_sizes": [8, 16], "patch_sizes": [7, 3], "strides": [4, 2],
        "num_attention_heads": [1, 2], "mlp_ratios": [2, 2], "decoder_hidden_size": 16,
        "num_labels": 3}, "segment"),
}


def build(name):
    import transformers

    model_name, config_name, kwargs, kind = MODELS[name]
    config = getattr(transformers, config_name)(**kwargs)
    config._attn_implementation = "eager"  # (the same attention code on both libraries)
    torch.manual_seed(0)
    return getattr(transformers, model_name)(config), kind


def inputs_for(kind):
    """Seeded inputs and labels for one kind of model."""
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 100, (2, 9), generator=generator)
    if kind == "causal":
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids}
    if kind == "seq2seq":
        return {"input_ids": ids, "labels": torch.randint(3, 100, (2, 5),
                                                          generator=generator)}
    if kind == "masked":
        labels = torch.full_like(ids, -100)
        labels[:, 2] = ids[:, 2]
        labels[:, 6] = ids[:, 6]
        return {"input_ids": ids, "labels": labels}
    if kind == "classify":
        return {"input_ids": ids, "labels": torch.tensor([0, 2])}
    if kind in ("ctc", "audio_classify"):
        values = torch.randn(2, 400, generator=generator)
        if kind == "ctc":
            return {"input_values": values, "labels": torch.randint(3, 100, (2, 4),
                                                                    generator=generator)}
        return {"input_values": values, "labels": torch.tensor([1, 2])}
    pixels = torch.randn(2, 3, 32, 32, generator=generator)
    if kind == "segment":
        return {"pixel_values": pixels, "labels": torch.randint(0, 3, (2, 32, 32),
                                                                generator=generator)}
    return {"pixel_values": pixels, "labels": torch.tensor([0, 2])}


def run_model(name):
    model, kind = build(name)
    batch = inputs_for(kind)
    model.train()
    out = model(**batch)
    put(f"{name}.logits", out.logits)
    put(f"{name}.loss", out.loss)
    out.loss.backward()
    embeddings = (model.get_input_embeddings() if kind not in ("ctc", "audio_classify", "image",
                                                               "segment") else None)
    if embeddings is not None:
        put(f"{name}.grad_embed", embeddings.weight.grad)
    first = next(p for p in model.parameters() if p.grad is not None)
    put(f"{name}.grad_first", first.grad)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    optimizer.step()
    put(f"{name}.loss_after_step", model(**batch).loss)
    if kind in ("causal", "seq2seq"):
        model.eval()
        prompt = batch["input_ids"][:, :4]
        generated = model.generate(prompt, max_new_tokens=4, do_sample=False,
                                   pad_token_id=0)
        put(f"{name}.generate", generated)


for _name in MODELS:
    part(_name, "transformers")(lambda _name=_name: run_model(_name))


@part("clip", "transformers")
def clip_part():
    from transformers import CLIPConfig, CLIPModel

    config = CLIPConfig(text_config={**SMALL, "max_position_embeddings": 16},
                        vision_config={**VISION, **SMALL, "patch_size": 8},
                        projection_dim=16)
    config._attn_implementation = "eager"
    model = CLIPModel(config)
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 100, (3, 7), generator=generator)
    pixels = torch.randn(3, 3, 32, 32, generator=generator)
    out = model(input_ids=ids, pixel_values=pixels, return_loss=True)
    put("clip.logits_per_image", out.logits_per_image)
    put("clip.loss", out.loss)
    out.loss.backward()
    put("clip.grad_patch", model.vision_model.embeddings.patch_embedding.weight.grad)
    put("clip.grad_scale", model.logit_scale.grad)


# ------------------------------------------------------------------------- peft adapter kinds

def peft_configs():
    """name -> a peft config on the tiny Mistral's projections; adapters start away from the
    identity (``init_*=False``) so that they change the outputs from the first step."""
    import peft

    target = ["q_proj", "v_proj", "down_proj"]
    return {
        "dora": peft.LoraConfig(r=4, target_modules=target, use_dora=True,
                                init_lora_weights=False),
        "rslora": peft.LoraConfig(r=4, lora_alpha=8, target_modules=target, use_rslora=True,
                                  init_lora_weights=False),
        "loha": peft.LoHaConfig(r=2, alpha=4, target_modules=target, init_weights=False),
        "lokr": peft.LoKrConfig(r=2, alpha=4, target_modules=target, init_weights=False),
        "ia3": peft.IA3Config(target_modules=target, feedforward_modules=["down_proj"],
                              init_ia3_weights=False),
        "vera": peft.VeraConfig(r=4, target_modules=["q_proj", "v_proj"],
                                init_weights=False),
        "boft": peft.BOFTConfig(boft_block_size=4, target_modules=target,
                                init_weights=False),
        "oft": peft.OFTConfig(r=0, oft_block_size=4, target_modules=target,
                              init_weights=False),
        "fourierft": peft.FourierFTConfig(n_frequency=16, target_modules=target,
                                          init_weights=False),
        "hra": peft.HRAConfig(r=2, target_modules=target, init_weights=False),
        "ln_tuning": peft.LNTuningConfig(target_modules=["input_layernorm"]),
        "prompt_tuning": peft.PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3),
        "p_tuning": peft.PromptEncoderConfig(task_type="CAUSAL_LM", num_virtual_tokens=3,
                                             encoder_hidden_size=16),
    }


@part("peft_kinds", "peft")
def peft_kinds_part():
    from peft import get_peft_model

    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 100, (2, 9), generator=generator)
    for name, config in peft_configs().items():
        base, _ = build("mistral")
        torch.manual_seed(2)
        model = get_peft_model(base, config)
        trainable, total = model.get_nb_trainable_parameters()
        put(f"peft_kinds.{name}.counts", torch.tensor([trainable, total]))
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                      lr=1e-2)
        losses = []
        for _ in range(2):
            optimizer.zero_grad()
            loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        put(f"peft_kinds.{name}.losses", torch.stack(losses))
        model.eval()
        with torch.no_grad():
            put(f"peft_kinds.{name}.logits", model(input_ids=ids).logits)
            if name not in ("prompt_tuning", "p_tuning"):
                merged = model.merge_and_unload()
                put(f"peft_kinds.{name}.merged", merged(input_ids=ids).logits)


if __name__ == "__main__":
    main()
