"""Model zoo (LE12, session 23): Hugging Face transformers architectures that earlier sessions'
programs did not build (prog_s8_T7_hf, prog_s9_T13_hf, prog_s13_LD_hf ran 60 others), plus four
of theirs (BERT, GPT-2, Llama, T5) for the checks those programs did not make: every hidden
state and attention map, sampled and beam-searched generation.

Each model is built tiny from its config (eager attention), then every parameter is set from
NumPy (a generator seeded by the parameter's name), so both libraries hold the same weights
whatever their initialisers do. Recorded: logits, hidden states, attentions, the loss, the
gradients of the input embeddings and of the first and last parameters, and for generative
models greedy, sampled (seeded) and 2-beam ``generate()`` ids.

Run as ``python prog_s23_LE12_zoo.py OUT.npz [MODELS]`` on the real PyTorch, or under ``python
-m deltagrad run`` unchanged; ``test_s23_LE12_zoo.py`` compares the two.
"""
import zlib

import numpy as np
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
T5ISH = {"d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 2, "num_heads": 4,
         "vocab_size": 100, "decoder_start_token_id": 0, "pad_token_id": 0, "eos_token_id": 1}
VISION = {**SMALL, "num_channels": 3, "image_size": 32, "patch_size": 8}
AUDIO = {**SMALL, "conv_dim": (8, 8), "conv_stride": (4, 4), "conv_kernel": (8, 4),
         "num_conv_pos_embeddings": 4, "num_conv_pos_embedding_groups": 2, "pad_token_id": 0,
         "ctc_loss_reduction": "mean"}
MOE = {**DECODER, "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 16}

# name: (model class, config class, config keywords, kind)
MODELS = {
    # earlier sessions' four, for the new checks
    "bert": ("BertForMaskedLM", "BertConfig", SMALL, "masked"),
    "gpt2": ("GPT2LMHeadModel", "GPT2Config", {
        "n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": 100, "n_positions": 64,
        "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "llama": ("LlamaForCausalLM", "LlamaConfig", DECODER, "causal"),
    "t5": ("T5ForConditionalGeneration", "T5Config", T5ISH, "seq2seq"),
    # decoders
    "jamba": ("JambaForCausalLM", "JambaConfig", {
        **DECODER, "num_experts": 2, "num_experts_per_tok": 1, "expert_layer_period": 2,
        "attn_layer_period": 2, "attn_layer_offset": 1, "mamba_d_state": 4,
        "mamba_dt_rank": 4, "use_mamba_kernels": False}, "causal"),
    "mamba2": ("Mamba2ForCausalLM", "Mamba2Config", {
        "hidden_size": 32, "num_hidden_layers": 2, "vocab_size": 100, "state_size": 4,
        "expand": 2, "num_heads": 8, "head_dim": 8, "n_groups": 1, "chunk_size": 4,
        "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "recurrent_gemma": ("RecurrentGemmaForCausalLM", "RecurrentGemmaConfig", {
        **DECODER, "lru_width": 32, "attention_window_size": 4, "head_dim": 8,
        "block_types": ["recurrent", "attention"]}, "causal"),
    "rwkv": ("RwkvForCausalLM", "RwkvConfig", {
        "hidden_size": 32, "num_hidden_layers": 2, "vocab_size": 100, "context_length": 64,
        "attention_hidden_size": 32, "intermediate_size": 64, "bos_token_id": 1,
        "eos_token_id": 2}, "causal"),
    "dbrx": ("DbrxForCausalLM", "DbrxConfig", {
        "d_model": 32, "n_layers": 2, "n_heads": 4, "vocab_size": 100, "max_seq_len": 64,
        "attn_config": {"kv_n_heads": 2, "rope_theta": 10000.0, "clip_qkv": 8.0},
        "ffn_config": {"ffn_hidden_size": 32, "moe_num_experts": 4, "moe_top_k": 2},
        "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "jetmoe": ("JetMoeForCausalLM", "JetMoeConfig", {
        **DECODER, "num_local_experts": 4, "num_experts_per_tok": 2, "kv_channels": 8},
        "causal"),
    "olmoe": ("OlmoeForCausalLM", "OlmoeConfig", {**MOE, "intermediate_size": 16}, "causal"),
    "nemotron": ("NemotronForCausalLM", "NemotronConfig", DECODER, "causal"),
    "cohere2": ("Cohere2ForCausalLM", "Cohere2Config", {**DECODER, "sliding_window": 4},
                "causal"),
    "qwen3_moe": ("Qwen3MoeForCausalLM", "Qwen3MoeConfig", {**MOE, "head_dim": 8}, "causal"),
    "granitemoe": ("GraniteMoeForCausalLM", "GraniteMoeConfig", {
        **DECODER, "num_local_experts": 4, "num_experts_per_tok": 2}, "causal"),
    "phimoe": ("PhimoeForCausalLM", "PhimoeConfig", {
        **DECODER, "num_local_experts": 4, "num_experts_per_tok": 2}, "causal"),
    "deepseek_v3": ("DeepseekV3ForCausalLM", "DeepseekV3Config", {
        **DECODER, "num_key_value_heads": 4, "moe_intermediate_size": 16, "n_routed_experts": 4,
        "num_experts_per_tok": 2,
        "n_group": 1, "topk_group": 1, "first_k_dense_replace": 1, "kv_lora_rank": 8,
        "q_lora_rank": 16, "qk_rope_head_dim": 8, "qk_nope_head_dim": 8, "v_head_dim": 8,
        "head_dim": 8,
        "n_shared_experts": 1}, "causal"),
    "ernie4_5": ("Ernie4_5ForCausalLM", "Ernie4_5Config", {**DECODER, "head_dim": 8},
                 "causal"),
    "glm4": ("Glm4ForCausalLM", "Glm4Config", {**DECODER, "head_dim": 8}, "causal"),
    "exaone4": ("Exaone4ForCausalLM", "Exaone4Config", {**DECODER, "head_dim": 8}, "causal"),
    "arcee": ("ArceeForCausalLM", "ArceeConfig", {**DECODER, "head_dim": 8}, "causal"),
    "seed_oss": ("SeedOssForCausalLM", "SeedOssConfig", {**DECODER, "head_dim": 8}, "causal"),
    "ctrl": ("CTRLLMHeadModel", "CTRLConfig", {
        "n_embd": 32, "n_layer": 2, "n_head": 4, "dff": 64, "vocab_size": 100,
        "n_positions": 64}, "causal"),
    "imagegpt": ("ImageGPTForCausalImageModeling", "ImageGPTConfig", {
        "n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": 101, "n_positions": 64},
        "causal"),
    "xlnet": ("XLNetLMHeadModel", "XLNetConfig", {
        "d_model": 32, "n_layer": 2, "n_head": 4, "d_inner": 64, "vocab_size": 100,
        "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}, "causal"),
    "falcon_mamba": ("FalconMambaForCausalLM", "FalconMambaConfig", {
        "hidden_size": 32, "num_hidden_layers": 2, "vocab_size": 100, "state_size": 4,
        "expand": 2, "conv_kernel": 3, "pad_token_id": 0, "bos_token_id": 1,
        "eos_token_id": 2, "use_mambapy": False}, "causal"),
    "bamba": ("BambaForCausalLM", "BambaConfig", {
        **DECODER, "attn_layer_indices": [1], "mamba_n_heads": 8, "mamba_d_head": 8,
        "mamba_d_state": 4, "mamba_n_groups": 1, "mamba_chunk_size": 4, "mamba_expand": 2},
        "causal"),
    # encoder-decoders
    "mt5": ("MT5ForConditionalGeneration", "MT5Config", T5ISH, "seq2seq"),
    "umt5": ("UMT5ForConditionalGeneration", "UMT5Config", T5ISH, "seq2seq"),
    "mbart": ("MBartForConditionalGeneration", "MBartConfig", SEQ2SEQ, "seq2seq"),
    "plbart": ("PLBartForConditionalGeneration", "PLBartConfig", SEQ2SEQ, "seq2seq"),
    "mvp": ("MvpForConditionalGeneration", "MvpConfig", SEQ2SEQ, "seq2seq"),
    "led": ("LEDForConditionalGeneration", "LEDConfig", {
        **SEQ2SEQ, "max_encoder_position_embeddings": 64, "max_decoder_position_embeddings": 64,
        "attention_window": [4, 4]}, "seq2seq"),
    "bigbird_pegasus": ("BigBirdPegasusForConditionalGeneration", "BigBirdPegasusConfig", {
        **SEQ2SEQ, "attention_type": "original_full"}, "seq2seq"),
    "prophetnet": ("ProphetNetForConditionalGeneration", "ProphetNetConfig", {
        "hidden_size": 32, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64,
        "num_encoder_layers": 2, "num_decoder_layers": 2, "num_encoder_attention_heads": 4,
        "num_decoder_attention_heads": 4, "vocab_size": 100, "ngram": 2, "num_buckets": 8,
        "max_position_embeddings": 64, "pad_token_id": 0, "bos_token_id": 1,
        "eos_token_id": 2, "decoder_start_token_id": 1}, "seq2seq"),
    "fsmt": ("FSMTForConditionalGeneration", "FSMTConfig", {
        **SEQ2SEQ, "langs": ["en", "de"], "src_vocab_size": 100, "tgt_vocab_size": 100},
        "seq2seq"),
    # encoders
    "roberta": ("RobertaForMaskedLM", "RobertaConfig", {**SMALL, "pad_token_id": 0}, "masked"),
    "distilbert": ("DistilBertForMaskedLM", "DistilBertConfig", {
        "dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64, "vocab_size": 100},
        "masked"),
    "deberta": ("DebertaForMaskedLM", "DebertaConfig", {
        **SMALL, "relative_attention": True, "pos_att_type": ["c2p", "p2c"],
        "max_relative_positions": 16}, "masked"),
    "fnet": ("FNetForMaskedLM", "FNetConfig", SMALL, "masked"),
    "bigbird": ("BigBirdForMaskedLM", "BigBirdConfig", {
        **SMALL, "attention_type": "original_full"}, "masked"),
    "longformer": ("LongformerForMaskedLM", "LongformerConfig", {
        **SMALL, "attention_window": [4, 4], "pad_token_id": 0}, "masked"),
    "squeezebert": ("SqueezeBertForMaskedLM", "SqueezeBertConfig", {
        **SMALL, "embedding_size": 32, "q_groups": 2, "k_groups": 2, "v_groups": 2,
        "post_attention_groups": 2, "intermediate_groups": 2, "output_groups": 2},
        "masked"),
    "rembert": ("RemBertForMaskedLM", "RemBertConfig", {
        **SMALL, "input_embedding_size": 16, "output_embedding_size": 16}, "masked"),
    "layoutlm": ("LayoutLMForMaskedLM", "LayoutLMConfig", SMALL, "masked"),
    "camembert": ("CamembertForMaskedLM", "CamembertConfig", {**SMALL, "pad_token_id": 0},
                  "masked"),
    "flaubert": ("FlaubertWithLMHeadModel", "FlaubertConfig", {
        "emb_dim": 32, "n_layers": 2, "n_heads": 4, "vocab_size": 100}, "masked"),
    "xlm": ("XLMWithLMHeadModel", "XLMConfig", {
        "emb_dim": 32, "n_layers": 2, "n_heads": 4, "vocab_size": 100}, "masked"),
    "ernie": ("ErnieForMaskedLM", "ErnieConfig", SMALL, "masked"),
    "data2vec_text": ("Data2VecTextForMaskedLM", "Data2VecTextConfig", {
        **SMALL, "pad_token_id": 0}, "masked"),
    "megatron_bert": ("MegatronBertForMaskedLM", "MegatronBertConfig", SMALL, "masked"),
    "roberta_prelayernorm": ("RobertaPreLayerNormForMaskedLM", "RobertaPreLayerNormConfig", {
        **SMALL, "pad_token_id": 0}, "masked"),
    "xmod": ("XmodForMaskedLM", "XmodConfig", {
        **SMALL, "pad_token_id": 0, "languages": ["en_XX"], "default_language": "en_XX"},
        "masked"),
    "yoso": ("YosoForMaskedLM", "YosoConfig", {**SMALL, "use_expectation": True}, "masked"),
    "mra": ("MraForMaskedLM", "MraConfig", {**SMALL, "block_per_row": 2}, "masked"),
    "canine": ("CanineForSequenceClassification", "CanineConfig", {
        **SMALL, "downsampling_rate": 2, "num_hash_buckets": 64, "num_labels": 3},
        "classify"),
    # speech
    "whisper": ("WhisperForConditionalGeneration", "WhisperConfig", {
        "vocab_size": 60, "num_mel_bins": 8, "encoder_layers": 1, "decoder_layers": 1,
        "encoder_attention_heads": 4, "decoder_attention_heads": 4, "encoder_ffn_dim": 64,
        "decoder_ffn_dim": 64, "d_model": 32, "max_source_positions": 16,
        "max_target_positions": 32, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2,
        "decoder_start_token_id": 1, "begin_suppress_tokens": None,
        "suppress_tokens": None}, "speech2text"),
    "speech_to_text": ("Speech2TextForConditionalGeneration", "Speech2TextConfig", {
        **SEQ2SEQ, "input_feat_per_channel": 8, "num_conv_layers": 2,
        "conv_channels": 16, "conv_kernel_sizes": (5, 5), "max_source_positions": 64},
        "fbank"),
    "wavlm": ("WavLMForCTC", "WavLMConfig", {**AUDIO, "num_buckets": 8}, "ctc"),
    "unispeech": ("UniSpeechForCTC", "UniSpeechConfig", AUDIO, "ctc"),
    "sew": ("SEWForCTC", "SEWConfig", {**AUDIO, "squeeze_factor": 2}, "ctc"),
    "sew_d": ("SEWDForCTC", "SEWDConfig", {**AUDIO, "squeeze_factor": 2,
                                           "position_buckets": 8,
                                           "max_relative_positions": 16}, "ctc"),
    "data2vec_audio": ("Data2VecAudioForCTC", "Data2VecAudioConfig", {
        **AUDIO, "num_conv_pos_embeddings": 3, "conv_pos_kernel_size": 3}, "ctc"),
    "wav2vec2_conformer": ("Wav2Vec2ConformerForCTC", "Wav2Vec2ConformerConfig", {
        **AUDIO, "conv_depthwise_kernel_size": 3, "position_embeddings_type": "rotary"},
        "ctc"),
    "ast": ("ASTForAudioClassification", "ASTConfig", {
        **SMALL, "num_mel_bins": 16, "max_length": 16, "patch_size": 8,
        "frequency_stride": 4, "time_stride": 4, "num_labels": 3}, "spectrogram"),
    # vision
    "vit": ("ViTForImageClassification", "ViTConfig", {**VISION, "num_labels": 3}, "image"),
    "deit": ("DeiTForImageClassificationWithTeacher", "DeiTConfig", {
        **VISION, "num_labels": 3}, "image_nolabel"),
    "beit": ("BeitForImageClassification", "BeitConfig", {
        **VISION, "num_labels": 3, "use_relative_position_bias": True}, "image"),
    "data2vec_vision": ("Data2VecVisionForImageClassification", "Data2VecVisionConfig", {
        **VISION, "num_labels": 3}, "image"),
    "vit_msn": ("ViTMSNForImageClassification", "ViTMSNConfig", {**VISION, "num_labels": 3},
                "image"),
    "vit_mae": ("ViTMAEForPreTraining", "ViTMAEConfig", {
        **VISION, "decoder_hidden_size": 16, "decoder_num_hidden_layers": 1,
        "decoder_num_attention_heads": 2, "decoder_intermediate_size": 32,
        "mask_ratio": 0.5}, "pretrain_image"),
    "swinv2": ("Swinv2ForImageClassification", "Swinv2Config", {
        "num_channels": 3, "image_size": 32, "patch_size": 4, "embed_dim": 8,
        "depths": [1, 1], "num_heads": [2, 2], "window_size": 2, "num_labels": 3}, "image"),
    "convnextv2": ("ConvNextV2ForImageClassification", "ConvNextV2Config", {
        "num_channels": 3, "num_stages": 2, "hidden_sizes": [8, 16], "depths": [1, 1],
        "num_labels": 3, "patch_size": 2}, "image"),
    "regnet": ("RegNetForImageClassification", "RegNetConfig", {
        "num_channels": 3, "embedding_size": 8, "hidden_sizes": [8, 16], "depths": [1, 1],
        "groups_width": 4, "num_labels": 3}, "image"),
    "mobilenet_v1": ("MobileNetV1ForImageClassification", "MobileNetV1Config", {
        "num_channels": 3, "image_size": 32, "depth_multiplier": 0.25, "num_labels": 3},
        "image"),
    "mobilenet_v2": ("MobileNetV2ForImageClassification", "MobileNetV2Config", {
        "num_channels": 3, "image_size": 32, "depth_multiplier": 0.25, "num_labels": 3},
        "image"),
    "mobilevit": ("MobileViTForImageClassification", "MobileViTConfig", {
        "num_channels": 3, "image_size": 32, "patch_size": 2, "hidden_sizes": [16, 16, 16],
        "neck_hidden_sizes": [8, 8, 8, 8, 8, 8, 16], "num_attention_heads": 2,
        "num_labels": 3}, "image"),
    "efficientnet": ("EfficientNetForImageClassification", "EfficientNetConfig", {
        "num_channels": 3, "image_size": 32, "width_coefficient": 0.1,
        "depth_coefficient": 0.1, "hidden_dim": 128, "num_labels": 3}, "image"),
    "levit": ("LevitForImageClassification", "LevitConfig", {
        "num_channels": 3, "image_size": 32, "patch_size": 16, "hidden_sizes": [16, 32, 48],
        "num_attention_heads": [2, 2, 2], "depths": [1, 1, 1], "key_dim": [8, 8, 8],
        "drop_path_rate": 0, "mlp_ratio": [2, 2, 2], "attention_ratio": [2, 2, 2],
        "down_ops": [["Subsample", 8, 2, 4, 2, 2], ["Subsample", 8, 4, 4, 2, 2]],
        "num_labels": 3}, "image"),
    "poolformer": ("PoolFormerForImageClassification", "PoolFormerConfig", {
        "num_channels": 3, "hidden_sizes": [8, 16], "depths": [1, 1], "num_encoder_blocks": 2,
        "patch_sizes": [7, 3], "strides": [4, 2], "padding": [2, 1], "num_labels": 3},
        "image"),
    "pvt": ("PvtForImageClassification", "PvtConfig", {
        "num_channels": 3, "image_size": 32, "num_encoder_blocks": 2, "depths": [1, 1],
        "sequence_reduction_ratios": [2, 1], "hidden_sizes": [8, 16], "patch_sizes": [4, 2],
        "strides": [4, 2], "num_attention_heads": [1, 2], "mlp_ratios": [2, 2],
        "num_labels": 3}, "image"),
    "cvt": ("CvtForImageClassification", "CvtConfig", {  # (three stages: the model's own)
        "num_channels": 3, "embed_dim": [8, 16, 16], "num_heads": [1, 2, 2],
        "depth": [1, 2, 3], "mlp_ratio": [2.0, 2.0, 2.0], "drop_path_rate": [0.0, 0.0, 0.0],
        "num_labels": 3}, "image"),
    "bit": ("BitForImageClassification", "BitConfig", {
        "num_channels": 3, "embedding_size": 8, "hidden_sizes": [8, 16], "depths": [1, 1],
        "num_groups": 2, "num_labels": 3}, "image"),
    "focalnet": ("FocalNetForImageClassification", "FocalNetConfig", {
        "num_channels": 3, "image_size": 32, "patch_size": 4, "embed_dim": 8,
        "depths": [1, 1], "focal_levels": [2, 2], "focal_windows": [3, 3],
        "num_labels": 3}, "image"),
    "hiera": ("HieraForImageClassification", "HieraConfig", {
        "num_channels": 3, "image_size": [32, 32], "patch_size": [3, 3],
        "patch_stride": [2, 2], "patch_padding": [1, 1], "embed_dim": 8, "depths": [1, 1],
        "num_heads": [1, 2], "query_stride": [2, 2], "masked_unit_size": [4, 4],
        "masked_unit_attention": [True, False], "num_query_pool": 1,
        "num_labels": 3}, "image"),
    "siglip": ("SiglipModel", "SiglipConfig", {}, "siglip"),
}

SAMPLE_KINDS = ("causal", "seq2seq")
# model -> forward keywords of its own (RWKV's cached state is written in place: PyTorch's
# backward refuses it too)
EXTRA = {"rwkv": {"use_cache": False}}


def build(name, attention="eager", **overrides):
    """The zoo's model ``name`` (with config ``overrides``) and its kind, weights set."""
    import transformers

    model_name, config_name, kwargs, kind = MODELS[name]
    if kind == "siglip":
        config = transformers.SiglipConfig(
            text_config={**SMALL, "max_position_embeddings": 16},
            vision_config={**VISION})
    else:
        config = getattr(transformers, config_name)(**{**kwargs, **overrides})
    config._attn_implementation = attention  # (eager: the same attention code on both)
    torch.manual_seed(0)
    model = getattr(transformers, model_name)(config)
    set_weights(model)
    return model, kind


def set_weights(model):
    """Every parameter from NumPy, seeded by its name: the same weights on both libraries.
    Matrices get N(0, 1 / fan_in); vectors their initial mean (rounded: norm scales stay 1,
    biases 0) plus N(0, 0.05); scalars keep their value."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.ndim == 0 or not param.is_floating_point():
                continue
            rng = np.random.default_rng(zlib.crc32(name.encode()))
            noise = rng.standard_normal(tuple(param.shape))
            if param.ndim == 1:
                value = round(float(param.float().mean()), 1) + 0.05 * noise
            else:
                value = noise / np.sqrt(np.prod(param.shape[1:]))
            param.copy_(torch.from_numpy(value.astype(np.float32)))


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
    if kind == "siglip":
        return {"input_ids": ids, "pixel_values": torch.randn(2, 3, 32, 32,
                                                               generator=generator),
                "return_loss": True}
    if kind == "speech2text":
        return {"input_features": torch.randn(2, 8, 32, generator=generator),
                "labels": torch.randint(3, 60, (2, 5), generator=generator)}
    if kind == "fbank":
        return {"input_features": torch.randn(2, 24, 8, generator=generator),
                "labels": torch.randint(3, 100, (2, 5), generator=generator)}
    if kind == "ctc":
        return {"input_values": torch.randn(2, 400, generator=generator),
                "labels": torch.randint(3, 100, (2, 4), generator=generator)}
    if kind == "spectrogram":
        return {"input_values": torch.randn(2, 16, 16, generator=generator),
                "labels": torch.tensor([1, 2])}
    pixels = torch.randn(2, 3, 32, 32, generator=generator)
    if kind in ("image_nolabel", "pretrain_image"):
        return {"pixel_values": pixels}
    return {"pixel_values": pixels, "labels": torch.tensor([0, 2])}


def _first_float(out):
    """The output's main tensor: logits where it has them."""
    for key in ("logits", "logits_per_image", "last_hidden_state"):
        value = getattr(out, key, None)
        if isinstance(value, torch.Tensor):
            return value
    return out[0]


def _put_states(name, out):
    for field in ("hidden_states", "attentions", "encoder_hidden_states",
                  "decoder_hidden_states", "encoder_attentions", "decoder_attentions",
                  "cross_attentions"):
        states = getattr(out, field, None)
        if isinstance(states, (tuple, list)):
            for index, state in enumerate(states):
                if isinstance(state, torch.Tensor):
                    put(f"{name}.{field}.{index}", state)


def run_model(name):
    model, kind = build(name)
    batch = {**inputs_for(kind), **EXTRA.get(name, {})}
    if name == "fsmt":  # (FSMT does not make its decoder inputs from the labels)
        batch["decoder_input_ids"] = torch.cat(
            [torch.full((2, 1), 1), batch["labels"][:, :-1]], dim=1)
    model.eval()  # (no dropout: the hidden states and attentions are compared)
    flags = {} if kind == "siglip" else {"output_hidden_states": True}
    try:
        out = model(**batch, **flags, output_attentions=True)
    except (TypeError, ValueError):  # (models that do not return attentions)
        out = model(**batch, **flags)
    put(f"{name}.logits", _first_float(out))
    _put_states(name, out)
    if kind == "pretrain_image":
        loss = out.loss
    elif getattr(out, "loss", None) is not None:
        loss = out.loss
    else:
        loss = _first_float(out).float().pow(2).mean()
    put(f"{name}.loss", loss)
    loss.backward()
    try:
        embeddings = model.get_input_embeddings()
    except NotImplementedError:  # (CANINE hashes characters: no embedding table to return)
        embeddings = None
    if isinstance(embeddings, torch.nn.Embedding) and embeddings.weight.grad is not None:
        put(f"{name}.grad_embed", embeddings.weight.grad)
    grads = [(n, p.grad) for n, p in model.named_parameters() if p.grad is not None]
    put(f"{name}.grad_first", grads[0][1])
    put(f"{name}.grad_last", grads[-1][1])
    put(f"{name}.grad_count", len(grads))
    if kind in SAMPLE_KINDS:
        prompt = batch["input_ids"][:, :4]
        with torch.no_grad():
            put(f"{name}.greedy", model.generate(prompt, max_new_tokens=4, do_sample=False,
                                                 pad_token_id=0))
            torch.manual_seed(7)
            put(f"{name}.sample", model.generate(prompt, max_new_tokens=4, do_sample=True,
                                                 top_k=20, temperature=1.5, pad_token_id=0))
            if name == "rwkv":  # (its cache cannot be reordered for beams)
                return
            put(f"{name}.beam", model.generate(prompt, max_new_tokens=4, num_beams=2,
                                               do_sample=False, pad_token_id=0))
    if kind == "speech2text":
        with torch.no_grad():
            put(f"{name}.greedy", model.generate(batch["input_features"], max_new_tokens=4,
                                                 do_sample=False))


if __name__ == "__main__":  # (prog_s23_LE12_libs.py imports the table and builders only)
    for _name in MODELS:
        part(_name, "transformers")(lambda _name=_name: run_model(_name))
    main()
