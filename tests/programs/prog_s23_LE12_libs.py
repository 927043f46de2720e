"""The Hugging Face stack around the session-23 model zoo (LE12): what earlier programs
(prog_s9_T13_hf: UNet2DModel with DDPM / DDIM, LoRA on GPT-2 and BERT, a StaticEmbedding
SentenceTransformer; prog_s8_T8_lightning: MLP / CNN LightningModules) did not run.

- ``diffusers_vae``: AutoencoderKL (encode, a seeded latent sample, decode, a VAE loss and its
  gradients) and VQModel (quantized round trip, commitment loss).
- ``diffusers_cond``: a text-conditioned UNet2DConditionModel (cross-attention): a noise
  prediction loss and gradients, then 4 guided denoising steps under six schedulers (Euler,
  Euler-ancestral with a generator, DPM-Solver++, PNDM, Heun, UniPC).
- ``peft_zoo``: LoRA on Whisper, ViT, Qwen3-MoE and T5 from the zoo: two AdamW steps, adapted
  and merged outputs.
- ``sentence_zoo``: SentenceTransformers over tiny RoBERTa and DistilBERT saved with a local
  word-level tokenizer (no download): encode, MultipleNegativesRanking and CoSENT losses and
  a step.
- ``lightning_hf``: a Lightning Trainer fitting a tiny Llama (4 steps, CPU, no logger or
  checkpoints): the losses per step.

Every model's weights come from prog_s23_LE12_zoo.set_weights (NumPy, seeded by name). Run as
``python prog_s23_LE12_libs.py OUT.npz [PARTS]`` on PyTorch or under ``python -m deltagrad
run``; ``test_s23_LE12_libs.py`` compares the two.
"""
import os
import tempfile

import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness
from prog_s23_LE12_zoo import build, inputs_for, set_weights


@part("diffusers_vae", "diffusers")
def diffusers_vae():
    from diffusers import AutoencoderKL, VQModel

    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=2,
                        block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=4,
                        down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, sample_size=16)
    set_weights(vae)
    images = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    posterior = vae.encode(images).latent_dist
    put("diffusers_vae.mean", posterior.mean)
    put("diffusers_vae.std", posterior.std)
    latents = posterior.sample(generator=torch.Generator().manual_seed(2))
    put("diffusers_vae.latents", latents)
    decoded = vae.decode(latents).sample
    put("diffusers_vae.decoded", decoded)
    loss = torch.nn.functional.mse_loss(decoded, images) + 1e-3 * posterior.kl().mean()
    put("diffusers_vae.loss", loss)
    loss.backward()
    put("diffusers_vae.grad_conv_in", vae.encoder.conv_in.weight.grad)
    put("diffusers_vae.grad_conv_out", vae.decoder.conv_out.weight.grad)
    vq = VQModel(in_channels=3, out_channels=3, latent_channels=4, num_vq_embeddings=16,
                 vq_embed_dim=4, block_out_channels=(8, 16), layers_per_block=1,
                 norm_num_groups=4, down_block_types=("DownEncoderBlock2D",) * 2,
                 up_block_types=("UpDecoderBlock2D",) * 2, sample_size=16)
    set_weights(vq)
    encoded = vq.encode(images).latents
    put("diffusers_vae.vq_latents", encoded)
    decoded = vq.decode(encoded)
    put("diffusers_vae.vq_decoded", decoded.sample)
    put("diffusers_vae.vq_commit", decoded.commit_loss)
    (decoded.sample.pow(2).mean() + decoded.commit_loss.mean()).backward()
    put("diffusers_vae.vq_grad_codebook", vq.quantize.embedding.weight.grad)


@part("diffusers_cond", "diffusers")
def diffusers_cond():
    from diffusers import (
        DDPMScheduler,
        DPMSolverMultistepScheduler,
        EulerAncestralDiscreteScheduler,
        EulerDiscreteScheduler,
        HeunDiscreteScheduler,
        PNDMScheduler,
        UNet2DConditionModel,
        UniPCMultistepScheduler,
    )

    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
        block_out_channels=(8, 16), norm_num_groups=4, cross_attention_dim=12,
        attention_head_dim=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
    set_weights(unet)
    generator = torch.Generator().manual_seed(1)
    text = torch.randn(2, 5, 12, generator=generator)
    clean = torch.randn(2, 4, 8, 8, generator=generator)
    noise = torch.randn(2, 4, 8, 8, generator=generator)
    train = DDPMScheduler(num_train_timesteps=100, beta_schedule="scaled_linear")
    steps = torch.tensor([7, 80])
    prediction = unet(train.add_noise(clean, noise, steps), steps,
                      encoder_hidden_states=text).sample
    put("diffusers_cond.prediction", prediction)
    loss = torch.nn.functional.mse_loss(prediction, noise)
    put("diffusers_cond.loss", loss)
    loss.backward()
    put("diffusers_cond.grad_conv_in", unet.conv_in.weight.grad)
    put("diffusers_cond.grad_time", unet.time_embedding.linear_1.weight.grad)
    unet.eval()
    context = torch.cat([torch.zeros(1, 5, 12), text[:1]])  # (unconditional, conditional)
    for name, kind in (("euler", EulerDiscreteScheduler),
                       ("euler_a", EulerAncestralDiscreteScheduler),
                       ("dpmpp", DPMSolverMultistepScheduler), ("pndm", PNDMScheduler),
                       ("heun", HeunDiscreteScheduler), ("unipc", UniPCMultistepScheduler)):
        scheduler = kind(num_train_timesteps=100, beta_schedule="scaled_linear")
        scheduler.set_timesteps(4)
        sampler = torch.Generator().manual_seed(3)
        sample = torch.randn(1, 4, 8, 8, generator=sampler) * scheduler.init_noise_sigma
        for t in scheduler.timesteps:
            scaled = scheduler.scale_model_input(torch.cat([sample] * 2), t)
            with torch.no_grad():
                uncond, cond = unet(scaled, t, encoder_hidden_states=context).sample.chunk(2)
            guided = uncond + 3.0 * (cond - uncond)
            extra = {"generator": sampler} if name == "euler_a" else {}  # (the stochastic one)
            sample = scheduler.step(guided, t, sample, **extra).prev_sample
        put(f"diffusers_cond.{name}.timesteps", scheduler.timesteps)
        put(f"diffusers_cond.{name}.sample", sample)


@part("peft_zoo", "peft")
def peft_zoo():
    from peft import LoraConfig, get_peft_model

    for name, target in (("whisper", ["q_proj", "v_proj"]), ("vit", ["q_proj", "v_proj"]),
                         ("qwen3_moe", ["q_proj", "v_proj", "o_proj"]), ("t5", ["q", "v"])):
        base, kind = build(name)
        torch.manual_seed(2)
        model = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=target,
                                                lora_dropout=0.0, init_lora_weights=False))
        trainable, total = model.get_nb_trainable_parameters()
        put(f"peft_zoo.{name}.counts", torch.tensor([trainable, total]))
        batch = inputs_for(kind)
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                      lr=1e-2)
        losses = []
        for _ in range(2):
            optimizer.zero_grad()
            loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        put(f"peft_zoo.{name}.losses", torch.stack(losses))
        lora_a = next(p for n, p in model.named_parameters() if "lora_A" in n)
        put(f"peft_zoo.{name}.lora_A", lora_a)
        model.eval()
        with torch.no_grad():
            put(f"peft_zoo.{name}.adapted", model(**batch).logits)
            put(f"peft_zoo.{name}.merged", model.merge_and_unload()(**batch).logits)


_WORDS = ("the cat sat on mat a dog ran in park birds fly over sea fish swim under "
          "blue sky green grass red sun").split()
_SENTENCES = ["the cat sat on the mat", "a dog ran in the park", "birds fly over the sea",
              "fish swim under the blue sea", "the red sun in the sky", "a cat in green grass"]


def _save_with_tokenizer(model, folder):
    """``model`` and a word-level tokenizer over _WORDS (built here, no download) in
    ``folder``, as a Hub checkpoint is."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast

    vocab = {"[PAD]": 0, "[CLS]": 1, "[SEP]": 2, "[UNK]": 3, "[MASK]": 4,
             **{word: index + 5 for index, word in enumerate(_WORDS)}}
    tokenizer = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", unk_token="[UNK]",
                                   mask_token="[MASK]", model_max_length=32)
    model.save_pretrained(folder)
    fast.save_pretrained(folder)


@part("sentence_zoo", "sentence_transformers")
def sentence_zoo():
    from sentence_transformers import SentenceTransformer, losses
    from sentence_transformers.base.modules import Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    for name, pooling in (("roberta", "mean"), ("distilbert", "cls")):
        model, _ = build(name)
        with tempfile.TemporaryDirectory() as folder:
            target = os.path.join(folder, name)
            _save_with_tokenizer(model.base_model, target)
            module = Transformer(target, model_kwargs={"attn_implementation": "eager",
                                                           "use_kernels": False})
        encoder = SentenceTransformer(modules=[module, Pooling(32, pooling), Normalize()],
                                      device="cpu")
        encoded = encoder.encode(_SENTENCES, convert_to_tensor=True)
        put(f"sentence_zoo.{name}.encoded", encoded)
        put(f"sentence_zoo.{name}.similarity", encoder.similarity(encoded, encoded))
        anchors = encoder.tokenize(_SENTENCES[:3])
        put(f"sentence_zoo.{name}.ids", anchors["input_ids"])
        positives = encoder.tokenize(_SENTENCES[3:])
        optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-2)
        encoder.train()
        for loss_name, loss_fn, labels in (
                ("mnrl", losses.MultipleNegativesRankingLoss(encoder), None),
                ("cosent", losses.CoSENTLoss(encoder), torch.tensor([0.9, 0.1, 0.5]))):
            optimizer.zero_grad()
            loss = loss_fn([anchors, positives], labels)
            loss.backward()
            put(f"sentence_zoo.{name}.{loss_name}_loss", loss)
            embeddings = encoder[0].auto_model.get_input_embeddings().weight
            put(f"sentence_zoo.{name}.{loss_name}_grad", embeddings.grad)
            optimizer.step()
        encoder.eval()
        put(f"sentence_zoo.{name}.trained", encoder.encode(_SENTENCES, convert_to_tensor=True))


@part("lightning_hf", "lightning")
def lightning_hf():
    import lightning.pytorch as pl
    from torch.utils.data import DataLoader, TensorDataset

    class CausalLM(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.model, _ = build("llama")
            self.losses = []

        def training_step(self, batch, batch_idx):
            (ids,) = batch
            loss = self.model(input_ids=ids, labels=ids).loss
            self.losses.append(loss.detach())
            return loss

        def configure_optimizers(self):
            optimizer = torch.optim.AdamW(self.parameters(), lr=3e-3)
            schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1 / (1 + s))
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule,
                                                             "interval": "step"}}

    ids = torch.randint(3, 100, (16, 9), generator=torch.Generator().manual_seed(1))
    loader = DataLoader(TensorDataset(ids), batch_size=4, shuffle=True,
                        generator=torch.Generator().manual_seed(2))
    module = CausalLM()
    with tempfile.TemporaryDirectory() as root:
        trainer = pl.Trainer(accelerator="cpu", devices=1, max_steps=4, logger=False,
                             enable_checkpointing=False, enable_progress_bar=False,
                             enable_model_summary=False, default_root_dir=root,
                             gradient_clip_val=1.0, deterministic=True)
        trainer.fit(module, loader)
    put("lightning_hf.losses", torch.stack(module.losses))
    put("lightning_hf.global_step", trainer.global_step)
    put("lightning_hf.head", module.model.lm_head.weight)


if __name__ == "__main__":
    main()
