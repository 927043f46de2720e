"""Using a model: per-token scores, decoding, dev scores, tokenising, predicting, evaluating."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

import deltagrad as dg
from deltagrad.ner.conll import Sentence
from deltagrad.ner.decode import argmax_decode_batch, viterbi_decode_batch
from deltagrad.ner.features import Features, Windows
from deltagrad.ner.metrics import entity_scores
from deltagrad.ner.model import WindowTagger
from deltagrad.ner.model_dir import LoadedModel
from deltagrad.ner.vocab import TagSet

__all__ = ["decode", "evaluate", "log_probabilities", "predict", "score", "tokenize",
           "transitions_of"]


def log_probabilities(model: WindowTagger, data: Windows, batch_size: int = 8192) -> np.ndarray:
    """float32 [n_tokens, n_tags] per-token tag scores for decoding (eval mode).

    Log-probabilities for a softmax-trained model; the raw emission scores for a CRF, whose
    decoding adds its learned transition scores.
    """
    was_training = model.training
    model.eval()
    out = []
    with dg.no_grad():
        for start in range(0, len(data), batch_size):
            b = data.batch(slice(start, start + batch_size))
            scores = model(dg.from_numpy(b.words), dg.from_numpy(b.casing),
                           dg.from_numpy(b.suffixes))
            out.append(scores.numpy() if model.transitions is not None
                       else scores.log_softmax(dim=1).numpy())
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def decode(log_probs: np.ndarray, lengths: np.ndarray, tagset: TagSet, method: str,
           transitions: np.ndarray | None = None) -> list:
    """Tags per sentence: BIO-constrained Viterbi (plus CRF transitions) or argmax + repair."""
    if method == "viterbi":
        return viterbi_decode_batch(log_probs, lengths, tagset, transitions)
    return argmax_decode_batch(log_probs, lengths, tagset)


def transitions_of(model: WindowTagger) -> np.ndarray | None:
    """float32 ``[n_tags, n_tags]``: a CRF model's learned transition scores (else None)."""
    return None if model.transitions is None else model.transitions.detach().numpy()


def score(model, features: Features, sentences: Sequence[Sentence], data: Windows | None = None
          ) -> dict:
    """Entity scores of both decoders: {"argmax": {...}, "viterbi": {...}}.

    Args:
        model: the model (evaluated in eval mode).
        features: turns ``sentences`` into windows (unless ``data`` is given).
        sentences: the tagged sentences to score against.
        data: ``features.encode(sentences)``, if already made.
    """
    data = data if data is not None else features.encode(sentences)
    log_probs = log_probabilities(model, data)
    gold = [s.tags for s in sentences]
    return {method: entity_scores(gold, decode(log_probs, data.sentence_lengths,
                                               features.tagset, method, transitions_of(model)))
            for method in ("argmax", "viterbi")}


# ---------------------------------------------------------------------------------- use

_TOKEN = re.compile(r"(?:[A-Za-z]\.){2,}|\w+(?:[-'.]\w+)*|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Split plain text into CoNLL-like tokens: abbreviations (U.N.), words (with inner - ' .)
    and punctuation.

    >>> tokenize("U.N. official Ekeus heads for Baghdad.")
    ['U.N.', 'official', 'Ekeus', 'heads', 'for', 'Baghdad', '.']
    """
    return _TOKEN.findall(text)


def predict(loaded: LoadedModel, token_lists: Sequence[Sequence[str]]) -> list[list[str]]:
    """Tags for each tokenised sentence."""
    token_lists = [list(t) for t in token_lists if len(t)]
    if not token_lists:
        return []
    data = loaded.features.encode(token_lists, tagged=False)
    log_probs = log_probabilities(loaded.model, data)
    return decode(log_probs, data.sentence_lengths, loaded.features.tagset, loaded.decode,
                  transitions_of(loaded.model))


def evaluate(loaded: LoadedModel, sentences: Sequence[Sentence]) -> dict:
    """Entity-level scores (seqeval, conlleval semantics) of the model's own decoder."""
    data = loaded.features.encode(sentences)
    log_probs = log_probabilities(loaded.model, data)
    pred = decode(log_probs, data.sentence_lengths, loaded.features.tagset, loaded.decode,
                  transitions_of(loaded.model))
    scores = entity_scores([s.tags for s in sentences], pred)
    scores["decode"] = loaded.decode
    return scores
