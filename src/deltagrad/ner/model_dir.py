"""Model directories: config.json, weights.safetensors and the vocabularies, written and read.

Nothing in a model directory can execute code when it is loaded; every file is written
atomically, config.json last, so a directory with a config.json is complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import deltagrad as dg
from deltagrad.ner.build import char_dim, features_kwargs, make_model, model_input_width
from deltagrad.ner.chars import N_CHARS
from deltagrad.ner.config import TrainConfig
from deltagrad.ner.features import Features, Stage1, SuffixVocabulary
from deltagrad.ner.gazetteer import Gazetteer
from deltagrad.ner.model import WindowTagger
from deltagrad.ner.vocab import TagSet, Vocabulary
from deltagrad.serialization import write_atomically

__all__ = ["MODEL_FORMAT", "MODEL_VERSION", "LoadedModel", "ModelError", "load_model",
           "save_model"]

MODEL_FORMAT = "deltagrad-ner"
# 2: character n-gram and document features; 3: gazetteer and topic features; 4: ensembles;
# 5: prediction history (the first stage's model directory inside, as stage1/); 6: the
# training-only settings below. A model whose settings a version-5 reader knows is written as
# version 5 without them, so that it still loads there; one that sets them is version 6, which
# a version-5 reader refuses by its version (it refused an unknown setting as "inconsistent
# model files (TrainConfig.__init__() got an unexpected keyword argument ...)").
MODEL_VERSION = 6
_VERSION_6_SETTINGS = ("unseen_map", "unseen_map_ridge", "freeze_rare")
CONFIG_FILE, WEIGHTS_FILE = "config.json", "weights.safetensors"
VOCAB_FILE, TAGS_FILE, SUFFIXES_FILE = "vocab.json", "tags.json", "suffixes.json"
GAZETTEER_FILE = "gazetteer.json"  # only with a gazetteer
STAGE1_DIR = "stage1"  # only with prediction history: the first stage's model directory


class ModelError(ValueError):
    """A model directory (or training checkpoint) that cannot be used: missing files, another
    format or version, damaged or inconsistent contents."""


def save_model(directory: Path, *, model: WindowTagger, features: Features, config: TrainConfig,
               decode: str, best_epoch: int, dev_scores: dict) -> Path:
    """Write a model directory: config.json, weights.safetensors and the vocabularies (JSON).

    Args:
        directory: where to write (created if missing).
        model: the trained model.
        features: its vocabularies and tag set.
        config: the run's settings.
        decode: the decoder to use with it, "argmax" or "viterbi".
        best_epoch, dev_scores: the epoch the weights come from, and its dev scores.

    Returns:
        ``directory``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    settings, version = _versioned_settings(config)
    meta = {
        "format": MODEL_FORMAT, "version": version, "deltagrad": dg.__version__,
        "train": settings, "decode": decode,
        "best_epoch": best_epoch, "dev_scores": dev_scores,
        "model": {"vocab_size": len(features.vocab),
                  "word_dim": int(model.words.weight.shape[1]),
                  "n_suffixes": len(features.suffixes),
                  "n_tags": len(features.tagset)},
    }
    _write_text(directory / VOCAB_FILE, features.vocab.to_json())
    _write_text(directory / TAGS_FILE, features.tagset.to_json())
    _write_text(directory / SUFFIXES_FILE, features.suffixes.to_json())
    if features.gazetteer is not None:
        _write_text(directory / GAZETTEER_FILE, features.gazetteer.to_json())
    dg.save(model.state_dict(), directory / WEIGHTS_FILE)
    _write_text(directory / CONFIG_FILE, json.dumps(meta, indent=2))  # last: marks it complete
    return directory


def _versioned_settings(config: TrainConfig) -> tuple[dict, int]:
    """The settings as config.json holds them and the lowest format version that has them:
    version 5 without the version-6 settings when they are all at their defaults."""
    settings = dataclasses.asdict(config)
    defaults = TrainConfig()
    if all(settings[name] == getattr(defaults, name) for name in _VERSION_6_SETTINGS):
        for name in _VERSION_6_SETTINGS:
            del settings[name]
        return settings, 5
    return settings, MODEL_VERSION


def _write_text(path: Path, text: str) -> None:
    write_atomically(path, text.encode("utf-8"))


@dataclass
class LoadedModel:
    """A model read from its directory, in eval mode: what ``predict`` and ``evaluate`` use.

    Attributes:
        model: the window tagger.
        features: its vocabularies, tag set and window size.
        decode: its decoder, "argmax" or "viterbi".
        config: the whole config.json (settings, scores, sizes).
    """

    model: WindowTagger
    features: Features
    decode: str
    config: dict


def load_model(directory: str | os.PathLike, *, stage1: Stage1 | None = None,
               vocabularies: dict | None = None) -> LoadedModel:
    """Read a model directory written by ``train``; errors name the file and the problem.

    Args:
        directory: the model directory.
        stage1: with prediction history, the first stage to use (else read from the
            directory's ``stage1/``: an ensemble's members have none of their own).
        vocabularies: vocabulary files' texts already parsed, and their ``Vocabulary``: a
            file with one of these texts is not parsed again, and one parsed here is added.
            An ensemble's members write the same file; parsing it took 0.18-0.26 of the
            0.31-0.48 CPU s a default member's load takes (loaded machine, issue 18).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"{directory}: no such model directory")
    for name in (CONFIG_FILE, WEIGHTS_FILE, VOCAB_FILE, TAGS_FILE, SUFFIXES_FILE):
        if not (directory / name).is_file():
            raise ModelError(f"{directory / name}: missing (not a complete deltagrad NER model)")
    try:
        meta = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ModelError(f"{directory / CONFIG_FILE}: not valid JSON ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != MODEL_FORMAT:
        raise ModelError(f"{directory / CONFIG_FILE}: not a deltagrad NER model config")
    if meta.get("version") in (3, 4) and isinstance(meta.get("train"), dict):
        # Version 3 is version 4 with one member, version 4 version 5 without history.
        meta["train"].setdefault("ensemble", 1)
    elif meta.get("version") not in (5, MODEL_VERSION):  # (5: 6 with default settings)
        raise ModelError(f"{directory / CONFIG_FILE}: model format version {meta.get('version')!r}"
                         f", this deltagrad reads version {MODEL_VERSION}")
    try:
        config = TrainConfig(**meta["train"])
        config.validate()
        text = (directory / VOCAB_FILE).read_text(encoding="utf-8")
        vocab = vocabularies.get(text) if vocabularies is not None else None
        if vocab is None:
            vocab = Vocabulary.from_json(text)
            if vocabularies is not None:
                vocabularies[text] = vocab
        tagset = TagSet.from_json((directory / TAGS_FILE).read_text(encoding="utf-8"))
        suffixes = SuffixVocabulary.from_json(
            (directory / SUFFIXES_FILE).read_text(encoding="utf-8"))
        gazetteer = None
        if config.gazetteer != "none":
            if not (directory / GAZETTEER_FILE).is_file():
                raise ModelError(f"{directory / GAZETTEER_FILE}: missing (the config names a "
                                 "gazetteer)")
            gazetteer = Gazetteer.from_json(
                (directory / GAZETTEER_FILE).read_text(encoding="utf-8"))
        shapes = meta["model"]
        decode_method = meta["decode"]
        if not isinstance(shapes, dict):
            raise TypeError(f"'model' must be an object, got {shapes!r}")
        word_dim = shapes["word_dim"]
        if isinstance(word_dim, bool) or not isinstance(word_dim, int) or word_dim < 1:
            raise ValueError(f"model.word_dim must be a positive integer, got {word_dim!r}")
    except (KeyError, TypeError, ValueError, RecursionError) as error:  # (deep JSON nesting)
        raise ModelError(f"{directory}: inconsistent model files ({error})") from None
    if decode_method not in ("argmax", "viterbi"):
        raise ModelError(f"{directory / CONFIG_FILE}: unknown decode method {decode_method!r}")
    features = Features(vocab, suffixes, tagset, config.window, **features_kwargs(config),
                        gazetteer=gazetteer)
    if config.history != "none" and stage1 is not None:
        features.stage1 = stage1
    elif config.history != "none":
        stage1 = directory / STAGE1_DIR
        if not (stage1 / CONFIG_FILE).is_file():
            raise ModelError(f"{stage1}: missing (the config names prediction history, which "
                             "needs the first stage's model)")
        first = load_model(stage1)
        if first.config["train"].get("history") != "none":
            raise ModelError(f"{stage1}: a first stage must not have prediction history itself")
        if first.features.tagset.tags != tagset.tags:
            raise ModelError(f"{stage1}: its tag set differs from the model's")
        features.stage1 = Stage1(first.model, first.features, first.decode)
    if (len(vocab), len(suffixes), len(tagset)) != (
            shapes.get("vocab_size"), shapes.get("n_suffixes"), shapes.get("n_tags")):
        raise ModelError(f"{directory}: vocabulary files do not match config.json")
    weights = directory / WEIGHTS_FILE
    try:
        state = dg.load(weights)
    except Exception as error:  # a corrupt weights file
        raise ModelError(f"{weights}: {error}") from None
    # Sizes come from config.json, which can say anything: check them against the weights
    # before allocating a model from them (a 10**12-unit layer is a MemoryError, not an error
    # message).
    width = model_input_width(config, features, word_dim)
    prefixes = ([""] if config.ensemble == 1
                else [f"members.{k}." for k in range(config.ensemble)])
    expected = []
    for prefix in prefixes:
        expected += [(prefix + "words.weight", (len(vocab), word_dim)),
                     (prefix + "hidden.weight", (config.hidden, width))]
        if char_dim(config) and config.chars == "cnn":
            expected += [(prefix + "chars.embedding.weight", (N_CHARS, config.char_embedding)),
                         (prefix + "chars.conv.weight",
                          (char_dim(config), config.char_kernel * config.char_embedding))]
        elif char_dim(config):
            expected.append((prefix + "chars.weight", (config.char_buckets, char_dim(config))))
    for key, shape in expected:
        value = state.get(key) if isinstance(state, dict) else None
        found = tuple(value.shape) if isinstance(value, (dg.Tensor, np.ndarray)) else None
        if found != shape:
            raise ModelError(f"{weights}: {key} has shape {found}, config.json says {shape}")
    placeholder = np.zeros((len(vocab), word_dim), dtype=np.float32)
    model = make_model(config, features, placeholder, dg.Generator(0))
    if config.ensemble > 1:
        from deltagrad.ner.ensemble import EnsembleTagger

        # A table of its own each: a model shares the array it is built from.
        model = EnsembleTagger([model] + [make_model(config, features, np.zeros_like(placeholder),
                                                     dg.Generator(0))
                                          for _ in range(config.ensemble - 1)])
    try:
        model.load_state_dict(state)
    except Exception as error:  # weights of another architecture (one line per tensor)
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        raise ModelError(f"{weights}: {'; '.join(lines)}") from None
    model.eval()
    return LoadedModel(model, features, decode_method, meta)
