"""The Hugging Face ``Trainer`` the way its tutorials use it, on tiny models built in the program:
sequence classification (BERT), causal language modelling (GPT-2 with a BPE tokenizer and
DataCollatorForLanguageModeling), token classification (NER-like, BERT); train / evaluate /
predict / save_model, checkpoints with resume_from_checkpoint, EarlyStoppingCallback and
``pipeline(...)`` on the trained objects. Tokenizers are trained or built here with the
``tokenizers`` library and wrapped in PreTrainedTokenizerFast (no downloads).

Usage: ``python prog_s9_T18_trainer.py OUT.npz [section ...]`` (or under ``python -m deltagrad
run``); test_s9_T18_trainer.py runs it on both libraries and compares. A section that raises
records ``<name>_ERR``. Files go under ``<folder of OUT>/<side>/<section>/``.
"""

import json
import os
import sys

import numpy as np
import torch

SIDE = "deltagrad" if "deltagrad" in sys.modules else "torch"  # (which library runs this)
FOLDER = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), SIDE)
# log_history / metrics entries that measure time, not numbers
_TIMING = ("runtime", "per_second", "total_flos")

_WORDS = ("the cat sat on mat a dog ran in park birds fly over sea fish swim under blue sky "
          "green grass red sun paris london berlin alice bob went to saw").split()
_SENTENCES = ["the cat sat on the mat", "a dog ran in the park", "birds fly over the sea",
              "fish swim under the blue sea", "the red sun in the sky",
              "a cat in green grass", "alice went to paris", "bob saw berlin",
              "alice saw bob in london", "the dog saw the cat", "bob went to the park",
              "birds saw the red sun"]
_PLACES, _PEOPLE = {"paris", "london", "berlin", "park", "sea"}, {"alice", "bob"}


def _np(t):
    return t.detach().cpu().numpy()


def _word_tokenizer():
    """A WordLevel tokenizer with BERT's special tokens and [CLS] ... [SEP] post-processing."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from tokenizers.processors import TemplateProcessing
    from transformers import PreTrainedTokenizerFast
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = {w: i for i, w in enumerate(specials + _WORDS)}
    raw = Tokenizer(WordLevel(vocab, unk_token="[UNK]"))
    raw.pre_tokenizer = Whitespace()
    raw.post_processor = TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                            special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="[PAD]", unk_token="[UNK]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


def _bpe_tokenizer():
    """A byte-level BPE tokenizer trained on the sentences (deterministic), GPT-2 style."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator(_SENTENCES * 3, trainers.BpeTrainer(
        vocab_size=300, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|endoftext|>",
                                        bos_token="<|endoftext|>", unk_token="<|endoftext|>")
    tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


class DictDataset(torch.utils.data.Dataset):
    """A torch Dataset of dicts (the shape Trainer takes from ``datasets`` too)."""

    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return dict(self.rows[i])


def _classification_rows(tokenizer):
    # label: 0 animals, 1 people, 2 other (by the words in the sentence)
    rows = []
    for text in _SENTENCES:
        words = set(text.split())
        label = 1 if words & _PEOPLE else (0 if words & {"cat", "dog", "fish", "birds"} else 2)
        rows.append({**tokenizer(text), "labels": label})
    return rows


def _arguments(folder, **overrides):
    from transformers import TrainingArguments
    settings = dict(output_dir=folder, use_cpu=True, report_to="none",
                    per_device_train_batch_size=4, per_device_eval_batch_size=4,
                    gradient_accumulation_steps=2, learning_rate=5e-3,
                    lr_scheduler_type="cosine", warmup_steps=2, weight_decay=0.01,
                    max_steps=8, logging_steps=2, eval_strategy="steps", eval_steps=4,
                    save_steps=4, save_total_limit=2, seed=7, data_seed=11, max_grad_norm=0.5,
                    disable_tqdm=True, dataloader_num_workers=0)
    settings.update(overrides)
    return TrainingArguments(**settings)


def _history(out, prefix, history):
    """Numbers of log_history (timings dropped), as one array per key."""
    keys = sorted({k for entry in history for k in entry if not any(t in k for t in _TIMING)})
    for key in keys:
        out[f"{prefix}.{key}"] = np.array([entry.get(key, np.nan) for entry in history],
                                          dtype=np.float64)


def _metrics(out, prefix, metrics):
    for key, value in sorted(metrics.items()):
        if not any(t in key for t in _TIMING):
            out[f"{prefix}.{key}"] = np.asarray(value)


def _weights(out, prefix, model):
    for name, value in model.state_dict().items():
        out[f"{prefix}.{name}"] = _np(value)


def _saved_files(out, prefix, folder):
    """What save_model wrote: the file names, the safetensors tensors and the JSON configs."""
    from safetensors import safe_open
    out[f"{prefix}.files"] = np.array(sorted(os.listdir(folder)))
    with safe_open(os.path.join(folder, "model.safetensors"), "np") as handle:
        out[f"{prefix}.metadata"] = np.array(json.dumps(handle.metadata(), sort_keys=True))
        for key in handle.keys():
            out[f"{prefix}.st.{key}"] = handle.get_tensor(key)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    config.pop("transformers_version", None)
    out[f"{prefix}.config"] = np.array(json.dumps(config, sort_keys=True))


def _checkpoint_states(out, prefix, folder):
    """The states Trainer wrote into a checkpoint with torch.save, read back with torch.load
    (each side reads its own files): optimizer, scheduler, RNG; and trainer_state.json."""
    optimizer = torch.load(os.path.join(folder, "optimizer.pt"), weights_only=True)
    out[f"{prefix}.opt.param_groups"] = np.array(json.dumps(
        [{k: v for k, v in g.items()} for g in optimizer["param_groups"]], sort_keys=True))
    for index, state in sorted(optimizer["state"].items()):
        for key, value in sorted(state.items()):
            out[f"{prefix}.opt.{index}.{key}"] = _np(value) if torch.is_tensor(value) else \
                np.asarray(value)
    scheduler = torch.load(os.path.join(folder, "scheduler.pt"), weights_only=True)
    out[f"{prefix}.sched"] = np.array(json.dumps(
        {k: v for k, v in scheduler.items() if k != "lr_lambdas"}, sort_keys=True))
    from transformers.trainer_pt_utils import safe_globals
    with safe_globals():
        rng = torch.load(os.path.join(folder, "rng_state.pth"), weights_only=True)
    out[f"{prefix}.rng.keys"] = np.array(sorted(rng))
    out[f"{prefix}.rng.python"] = np.array(json.dumps(list(rng["python"][1][:8])))
    out[f"{prefix}.rng.numpy"] = np.asarray(rng["numpy"][1][:8])
    out[f"{prefix}.rng.cpu.dtype"] = np.array(str(rng["cpu"].dtype))
    out[f"{prefix}.rng.cpu"] = _np(rng["cpu"])
    with open(os.path.join(folder, "trainer_state.json")) as f:
        state = json.load(f)
    _history(out, f"{prefix}.trainer_state.log", state.pop("log_history"))
    best = state.pop("best_model_checkpoint")  # (a path under each side's own folder)
    out[f"{prefix}.trainer_state.best"] = np.array(os.path.basename(best or ""))
    out[f"{prefix}.trainer_state"] = np.array(json.dumps(state, sort_keys=True))


def _save_args_as_json():
    """Trainer does ``torch.save(self.args, "training_args.bin")`` (a pickled dataclass). This
    stores the arguments' JSON text instead, on both sides alike, so that the checkpoint
    sections can run while deltagrad's save (which never pickles) refuses the object."""
    from transformers import TrainingArguments
    original = torch.save
    if getattr(original, "_t18", False):
        return

    def save(obj, f, *args, **kwargs):
        if isinstance(obj, TrainingArguments):
            obj = {"training_args": obj.to_json_string()}
        return original(obj, f, *args, **kwargs)
    save._t18 = True
    torch.save = save


def save_args():
    """Unchanged: Trainer.save_model saves the TrainingArguments object with torch.save."""
    from transformers import BertConfig, BertForSequenceClassification, Trainer
    folder = os.path.join(FOLDER, "save_args")
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
        vocab_size=len(_WORDS) + 5, num_labels=3))
    trainer = Trainer(model=model, args=_arguments(folder, eval_strategy="no"))
    trainer.save_model(os.path.join(folder, "final"))
    return {"files": np.array(sorted(os.listdir(os.path.join(folder, "final"))))}


def _bert_classifier():
    from transformers import BertConfig, BertForSequenceClassification
    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        vocab_size=len(_WORDS) + 5, num_labels=3, max_position_embeddings=32,
        id2label={0: "ANIMAL", 1: "PERSON", 2: "OTHER"},
        label2id={"ANIMAL": 0, "PERSON": 1, "OTHER": 2}))


def _accuracy(prediction):
    logits, labels = prediction
    return {"accuracy": float((np.argmax(logits, -1) == labels).mean()),
            "logit_mean": float(np.mean(logits))}


def classification():
    """BertForSequenceClassification: train with gradient accumulation, cosine schedule with
    warm-up, clipping, evaluation every 4 steps with compute_metrics; predict; save_model; a
    run resumed from checkpoint-4 must end where the uninterrupted one did; a text-classification
    pipeline on the trained model."""
    from transformers import DataCollatorWithPadding, Trainer, pipeline
    _save_args_as_json()
    out = {}
    folder = os.path.join(FOLDER, "classification")
    tokenizer = _word_tokenizer()
    rows = _classification_rows(tokenizer)
    train, evaluation = DictDataset(rows[:10] * 2), DictDataset(rows[8:])
    collator = DataCollatorWithPadding(tokenizer)
    trainer = Trainer(model=_bert_classifier(), args=_arguments(folder), train_dataset=train,
                      eval_dataset=evaluation, compute_metrics=_accuracy,
                      data_collator=collator, processing_class=tokenizer)
    result = trainer.train()
    out["train.loss"] = np.array(result.training_loss)
    out["train.step"] = np.array(result.global_step)
    _history(out, "history", trainer.state.log_history)
    _metrics(out, "evaluate", trainer.evaluate())
    prediction = trainer.predict(evaluation)
    out["predict.logits"] = prediction.predictions
    out["predict.labels"] = prediction.label_ids
    _metrics(out, "predict", prediction.metrics)
    _weights(out, "weights", trainer.model)
    out["checkpoints"] = np.array(sorted(os.listdir(folder)))
    _checkpoint_states(out, "ckpt4", os.path.join(folder, "checkpoint-4"))
    trainer.save_model(os.path.join(folder, "final"))
    _saved_files(out, "saved", os.path.join(folder, "final"))
    # resume: a fresh trainer (another initialisation) from checkpoint-4
    resumed_folder = os.path.join(FOLDER, "classification_resumed")
    import shutil
    shutil.copytree(os.path.join(folder, "checkpoint-4"),
                    os.path.join(resumed_folder, "checkpoint-4"))
    torch.manual_seed(123)
    other = _bert_classifier()
    resumed = Trainer(model=other, args=_arguments(resumed_folder), train_dataset=train,
                      eval_dataset=evaluation, compute_metrics=_accuracy,
                      data_collator=collator, processing_class=tokenizer)
    resumed.train(resume_from_checkpoint=True)
    _history(out, "resumed_history", resumed.state.log_history)
    _weights(out, "resumed_weights", resumed.model)
    # pipeline on the trained model and tokenizer
    classify = pipeline("text-classification", model=trainer.model, tokenizer=tokenizer,
                        device="cpu")
    answers = classify(["alice saw the cat", "fish swim in the sea"], top_k=None)
    out["pipeline.labels"] = np.array([[a["label"] for a in answer] for answer in answers])
    out["pipeline.scores"] = np.array([[a["score"] for a in answer] for answer in answers])
    # the saved folder as a model name: Auto* classes and a pipeline built from the path
    # (use_kernels=False: transformers 5.25 otherwise asks for the `kernels` package here)
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    final = os.path.join(folder, "final")
    reloaded = AutoModelForSequenceClassification.from_pretrained(final,
                                                                  use_kernels=False).eval()
    batch = AutoTokenizer.from_pretrained(final)(["alice saw the cat", "the sun"],
                                                 padding=True, return_tensors="pt")
    with torch.no_grad():
        out["reloaded.logits"] = _np(reloaded(**batch).logits)
    answers = pipeline("text-classification", model=final, device="cpu",
                       model_kwargs={"use_kernels": False})(["bob went to sea"])
    out["path_pipeline.label"] = np.array([a["label"] for a in answers])
    out["path_pipeline.score"] = np.array([a["score"] for a in answers])
    return out


def early_stopping():
    """EarlyStoppingCallback with load_best_model_at_end (the best checkpoint is reloaded)."""
    from transformers import DataCollatorWithPadding, EarlyStoppingCallback, Trainer
    _save_args_as_json()
    out = {}
    folder = os.path.join(FOLDER, "early_stopping")
    tokenizer = _word_tokenizer()
    rows = _classification_rows(tokenizer)
    args = _arguments(folder, max_steps=40, eval_steps=2, save_steps=2, logging_steps=2,
                      learning_rate=2e-2, load_best_model_at_end=True,
                      metric_for_best_model="eval_loss", greater_is_better=False,
                      lr_scheduler_type="constant", warmup_steps=0, save_total_limit=1)
    trainer = Trainer(model=_bert_classifier(), args=args, train_dataset=DictDataset(rows[:10]),
                      eval_dataset=DictDataset(rows[6:]), data_collator=DataCollatorWithPadding(
                          tokenizer),
                      callbacks=[EarlyStoppingCallback(early_stopping_patience=2,
                                                       early_stopping_threshold=0.0)])
    trainer.train()
    out["step"] = np.array(trainer.state.global_step)
    out["best_metric"] = np.array(trainer.state.best_metric)
    out["best_checkpoint"] = np.array(os.path.basename(trainer.state.best_model_checkpoint))
    _history(out, "history", trainer.state.log_history)
    _weights(out, "weights", trainer.model)
    return out


def language_model():
    """GPT2LMHeadModel with a BPE tokenizer and DataCollatorForLanguageModeling(mlm=False):
    train, evaluate (perplexity from eval_loss), predict; a text-generation pipeline."""
    from transformers import (
        DataCollatorForLanguageModeling,
        GPT2Config,
        GPT2LMHeadModel,
        Trainer,
        pipeline,
    )
    _save_args_as_json()
    out = {}
    folder = os.path.join(FOLDER, "language_model")
    tokenizer = _bpe_tokenizer()
    out["vocab_size"] = np.array(len(tokenizer))
    rows = [tokenizer(text) for text in _SENTENCES]
    out["ids0"] = np.array(rows[0]["input_ids"])
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=len(tokenizer),
                                       n_positions=32, bos_token_id=tokenizer.eos_token_id,
                                       eos_token_id=tokenizer.eos_token_id,
                                       pad_token_id=tokenizer.pad_token_id))
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=False)
    batch = collator([rows[0], rows[3]])
    out["collated.labels"] = _np(batch["labels"])
    trainer = Trainer(model=model, args=_arguments(folder, lr_scheduler_type="linear",
                                                   learning_rate=1e-2, save_steps=100),
                      train_dataset=DictDataset(rows * 2), eval_dataset=DictDataset(rows[:6]),
                      data_collator=collator)
    trainer.train()
    _history(out, "history", trainer.state.log_history)
    metrics = trainer.evaluate()
    _metrics(out, "evaluate", metrics)
    out["perplexity"] = np.array(np.exp(metrics["eval_loss"]))
    prediction = trainer.predict(DictDataset(rows[6:8]))
    out["predict.logits"] = prediction.predictions
    out["predict.labels"] = prediction.label_ids
    generate = pipeline("text-generation", model=trainer.model, tokenizer=tokenizer, device="cpu")
    texts = generate(["the cat", "alice went"], max_new_tokens=6, do_sample=False)
    out["generated"] = np.array([t[0]["generated_text"] for t in texts])
    torch.manual_seed(5)
    sampled = trainer.model.generate(**tokenizer(["the dog"], return_tensors="pt"),
                                     max_new_tokens=6, do_sample=True, top_k=20,
                                     pad_token_id=tokenizer.eos_token_id)
    out["sampled"] = _np(sampled)
    return out


def token_classification():
    """BertForTokenClassification (NER-like: PER / LOC / O) with DataCollatorForTokenClassification,
    a seqeval-free accuracy in compute_metrics; a token-classification pipeline."""
    from transformers import (
        BertConfig,
        BertForTokenClassification,
        DataCollatorForTokenClassification,
        Trainer,
        pipeline,
    )
    _save_args_as_json()
    out = {}
    folder = os.path.join(FOLDER, "token_classification")
    tokenizer = _word_tokenizer()
    labels = ["O", "B-PER", "B-LOC"]
    rows = []
    for text in _SENTENCES:
        encoded = tokenizer(text)
        tags = [1 if w in _PEOPLE else (2 if w in _PLACES else 0) for w in text.split()]
        rows.append({**encoded, "labels": [-100] + tags + [-100]})
    torch.manual_seed(0)
    model = BertForTokenClassification(BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
        vocab_size=len(_WORDS) + 5, num_labels=3, max_position_embeddings=32,
        id2label=dict(enumerate(labels)), label2id={k: i for i, k in enumerate(labels)}))

    def token_accuracy(prediction):
        logits, gold = prediction
        mask = gold != -100
        return {"token_accuracy": float((np.argmax(logits, -1)[mask] == gold[mask]).mean())}

    trainer = Trainer(model=model, args=_arguments(folder, learning_rate=2e-2, save_steps=100,
                                                   max_steps=10, lr_scheduler_type="linear"),
                      train_dataset=DictDataset(rows), eval_dataset=DictDataset(rows[6:]),
                      data_collator=DataCollatorForTokenClassification(tokenizer),
                      compute_metrics=token_accuracy)
    trainer.train()
    _history(out, "history", trainer.state.log_history)
    prediction = trainer.predict(DictDataset(rows[6:]))
    out["predict.logits"] = prediction.predictions
    out["predict.labels"] = prediction.label_ids
    _metrics(out, "predict", prediction.metrics)
    tagger = pipeline("token-classification", model=trainer.model, tokenizer=tokenizer,
                      device="cpu")
    found = tagger("alice went to london")
    grouped = pipeline("token-classification", model=trainer.model, tokenizer=tokenizer,
                       device="cpu", aggregation_strategy="simple")("bob saw alice in paris")
    out["grouped.groups"] = np.array([e["entity_group"] for e in grouped])
    out["grouped.scores"] = np.array([e["score"] for e in grouped], dtype=np.float64)
    out["pipeline.entities"] = np.array([e["entity"] for e in found])
    out["pipeline.words"] = np.array([e["word"] for e in found])
    out["pipeline.scores"] = np.array([e["score"] for e in found], dtype=np.float64)
    return out


VARIANTS = {
    "adamw_torch": dict(optim="adamw_torch"),
    "sgd_polynomial": dict(optim="sgd", lr_scheduler_type="polynomial", learning_rate=0.1),
    "adafactor_restarts": dict(optim="adafactor", lr_scheduler_type="cosine_with_restarts"),
    "adagrad_plateau": dict(optim="adagrad", lr_scheduler_type="reduce_lr_on_plateau",
                            save_strategy="steps", save_steps=4),
    "label_smoothing": dict(label_smoothing_factor=0.1),
    "checkpointing": dict(gradient_checkpointing=True),
    "neftune": dict(neftune_noise_alpha=5.0),
    "bf16": dict(bf16=True),
    "rmsprop_min_lr": dict(optim="rmsprop", lr_scheduler_type="cosine_with_min_lr",
                           lr_scheduler_kwargs={"min_lr": 1e-3}),
    "wsd_determinism": dict(lr_scheduler_type="warmup_stable_decay", full_determinism=True,
                            lr_scheduler_kwargs={"num_decay_steps": 2}),
    "inverse_sqrt_drop_last": dict(lr_scheduler_type="inverse_sqrt", dataloader_drop_last=True,
                                   per_device_train_batch_size=3),
    "group_by_length": dict(train_sampling_strategy="group_by_length",
                            include_num_input_tokens_seen="non_padding",
                            eval_accumulation_steps=1),
}


def variants():
    """Other TrainingArguments that real programs set: optimizers, schedules, label smoothing,
    gradient checkpointing, NEFTune noise, bf16 autocast, length-grouped sampling."""
    from transformers import DataCollatorWithPadding, Trainer
    _save_args_as_json()
    out = {}
    tokenizer = _word_tokenizer()
    rows = _classification_rows(tokenizer)
    for name, overrides in VARIANTS.items():
        try:
            settings = dict(max_steps=4, logging_steps=1, eval_steps=2, save_strategy="no")
            settings.update(overrides)
            trainer = Trainer(model=_bert_classifier(),
                              args=_arguments(os.path.join(FOLDER, "variants", name), **settings),
                              train_dataset=DictDataset(rows[:10] * 2),
                              eval_dataset=DictDataset(rows[8:]),
                              data_collator=DataCollatorWithPadding(tokenizer))
            trainer.train()
            _history(out, f"{name}.history", trainer.state.log_history)
            out[f"{name}.classifier"] = _np(trainer.model.classifier.weight)
            out[f"{name}.tokens_seen"] = np.array(trainer.state.num_input_tokens_seen)
            if settings["save_strategy"] != "no":  # (ReduceLROnPlateau's state: inf, floats)
                _checkpoint_states(out, f"{name}.ckpt4", os.path.join(
                    FOLDER, "variants", name, "checkpoint-4"))
        except Exception as error:  # noqa: BLE001 - recorded and reported by the test
            out[f"{name}_ERR"] = np.array(f"{type(error).__name__}: {error}")
    return out


def masked_lm():
    """BertForMaskedLM with DataCollatorForLanguageModeling(mlm=True) (random masking drawn from
    torch's generator), Trainer training, a fill-mask pipeline."""
    from transformers import (
        BertConfig,
        BertForMaskedLM,
        DataCollatorForLanguageModeling,
        Trainer,
        pipeline,
    )
    _save_args_as_json()
    out = {}
    tokenizer = _word_tokenizer()
    rows = [tokenizer(text) for text in _SENTENCES]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=0.3)
    torch.manual_seed(4)
    batch = collator(rows[:4])
    out["collated.input_ids"] = _np(batch["input_ids"])
    out["collated.labels"] = _np(batch["labels"])
    torch.manual_seed(0)
    model = BertForMaskedLM(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                       intermediate_size=64, vocab_size=len(_WORDS) + 5,
                                       max_position_embeddings=32))
    trainer = Trainer(model=model, args=_arguments(os.path.join(FOLDER, "masked_lm"),
                                                   learning_rate=1e-2, save_strategy="no",
                                                   lr_scheduler_type="constant_with_warmup"),
                      train_dataset=DictDataset(rows * 2), eval_dataset=DictDataset(rows[:6]),
                      data_collator=collator)
    trainer.train()
    _history(out, "history", trainer.state.log_history)
    fill = pipeline("fill-mask", model=trainer.model, tokenizer=tokenizer, device="cpu")
    guesses = fill("the cat sat on the [MASK]", top_k=3)
    out["fill.tokens"] = np.array([g["token_str"] for g in guesses])
    out["fill.scores"] = np.array([g["score"] for g in guesses])
    return out


def seq2seq():
    """T5ForConditionalGeneration with Seq2SeqTrainer, DataCollatorForSeq2Seq and
    predict_with_generate (generated ids as predictions)."""
    from transformers import (
        DataCollatorForSeq2Seq,
        Seq2SeqTrainer,
        Seq2SeqTrainingArguments,
        T5Config,
        T5ForConditionalGeneration,
    )
    _save_args_as_json()
    out = {}
    tokenizer = _word_tokenizer()
    rows = []
    for text in _SENTENCES:  # "translate": the sentence reversed
        source = tokenizer(text)
        rows.append({**source, "labels": tokenizer(" ".join(text.split()[::-1]))["input_ids"]})
    torch.manual_seed(0)
    model = T5ForConditionalGeneration(T5Config(
        vocab_size=len(_WORDS) + 5, d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=4,
        decoder_start_token_id=tokenizer.pad_token_id, pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.sep_token_id))
    args = Seq2SeqTrainingArguments(
        os.path.join(FOLDER, "seq2seq"), use_cpu=True, report_to="none", disable_tqdm=True,
        per_device_train_batch_size=4, per_device_eval_batch_size=4, learning_rate=3e-2,
        max_steps=16, logging_steps=4, eval_strategy="steps", eval_steps=8, save_strategy="no",
        seed=7, predict_with_generate=True, generation_max_length=8)
    trainer = Seq2SeqTrainer(model=model, args=args, train_dataset=DictDataset(rows),
                             eval_dataset=DictDataset(rows[8:]),
                             data_collator=DataCollatorForSeq2Seq(tokenizer, model=model),
                             processing_class=tokenizer)
    trainer.train()
    _history(out, "history", trainer.state.log_history)
    prediction = trainer.predict(DictDataset(rows[8:]))
    out["predict.ids"] = prediction.predictions
    _metrics(out, "predict", prediction.metrics)
    return out


class _Stream(torch.utils.data.IterableDataset):
    """A streaming dataset (Trainer takes an IterableDataset with max_steps)."""

    def __init__(self, rows):
        self.rows = rows

    def __iter__(self):
        for i in range(40):
            yield dict(self.rows[(3 * i) % len(self.rows)])


def custom():
    """What programs plug into Trainer: an IterableDataset, compute_loss_func (a focal loss),
    a TrainerCallback reading the model and the logs at each step, save_state /
    save_metrics."""
    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback
    _save_args_as_json()
    out = {}
    tokenizer = _word_tokenizer()
    rows = _classification_rows(tokenizer)
    seen = {"norms": [], "logged": []}

    class Watch(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, **kwargs):
            seen["norms"].append(float(model.classifier.weight.norm()))

        def on_log(self, args, state, control, logs=None, **kwargs):
            seen["logged"].append(logs.get("loss", np.nan))

    def focal(outputs, labels, num_items_in_batch=None):
        log_p = torch.nn.functional.log_softmax(outputs.logits, -1)
        picked = log_p.gather(1, labels[:, None])[:, 0]
        return (-(1 - picked.exp()) ** 2 * picked).mean()

    folder = os.path.join(FOLDER, "custom")
    trainer = Trainer(model=_bert_classifier(), args=_arguments(folder, save_strategy="no",
                                                                 max_steps=6, eval_steps=3),
                      train_dataset=_Stream(rows), eval_dataset=DictDataset(rows[8:]),
                      data_collator=DataCollatorWithPadding(tokenizer), compute_loss_func=focal,
                      callbacks=[Watch()])
    trainer.train()
    _history(out, "history", trainer.state.log_history)
    out["norms"] = np.array(seen["norms"])
    out["logged"] = np.array(seen["logged"], dtype=np.float64)
    metrics = trainer.evaluate()
    trainer.save_metrics("eval", metrics)
    trainer.save_state()
    with open(os.path.join(folder, "eval_results.json")) as f:
        out["eval_results.loss"] = np.array(json.load(f)["eval_loss"])
    out["files"] = np.array(sorted(os.listdir(folder)))
    return out


# (save_args first: the other sections replace torch.save's handling of TrainingArguments)
SECTIONS = {"save_args": save_args, "variants": variants, "classification": classification,
            "early_stopping": early_stopping, "language_model": language_model,
            "token_classification": token_classification, "masked_lm": masked_lm,
            "seq2seq": seq2seq, "custom": custom}


def run_sections(only=None):
    """Every section's numbers, keyed ``<section>/<name>`` (``<section>_ERR`` on failure)."""
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
    return results


if __name__ == "__main__":
    np.savez(sys.argv[1], **run_sections(sys.argv[2:]))
