"""A small trained NER model shared by the predict, confidence, server and page tests."""

import pytest

from deltagrad.ner.config import TrainConfig
from deltagrad.ner.conll import load_default


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A model directory trained for a few seconds on 1,000 CoNLL-2003 sentences (random
    vectors): good enough to find the obvious entities, small enough for every test run."""
    pytest.importorskip("seqeval")
    from deltagrad.ner.training import train

    out = tmp_path_factory.mktemp("tiny_ner") / "model"
    config = TrainConfig(epochs=3, hidden=48, batch_size=64, casing_dim=4, suffix_dim=8,
                         word_dim=16, vectors="none", out=str(out), patience=5, seed=1,
                         ensemble=1)
    train(config, progress=False, log=lambda line: None,
          train_sentences=load_default("train")[:1000], dev_sentences=load_default("dev")[:100])
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from deltagrad.ner.model_dir import load_model

    return load_model(tiny_model_dir)
