"""Probe program (LC, session 12): flair's NER stack (Sentence / Corpus / Dictionary, one-hot and
character embeddings stacked, the BiLSTM-CRF SequenceTagger, its ModelTrainer with SGD and
the annealing scheduler, evaluation, prediction, save and load), seeded and small on an
in-memory corpus. Every number goes to an .npz.

Run as ``python prog_s12_LC_flair.py OUT.npz [PARTS]`` on the real PyTorch or under
``python -m deltagrad run`` unchanged; ``test_s12_LC_flair.py`` compares the two. flair 0.15
imports, at import time, modules for its downloads, biomedical and OCR datasets and byte-pair
embeddings (boto3, botocore, gdown, lxml, ftfy, bioc, sentencepiece,
transformer-smaller-training-vocab) and one class that transformers 5 removed: both sides get
the same empty stand-ins for them (none of those parts runs here).
"""
import importlib.machinery
import os
import random
import sys
import tempfile
import types

import numpy as np
import torch
from probe_parts import OUT, PARTS, main, part, put  # noqa: F401 - the harness


def _stand_in(name, **attributes):
    module = types.ModuleType(name)
    vars(module).update(attributes)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    sys.modules[name] = module
    return module


def _prepare_import():
    if importlib.util.find_spec("transformers") is not None:
        # (importing these first settles which module object sys.modules holds: transformers
        # replaces its lazy module on the way)
        from transformers import AutoModel, AutoTokenizer, GenerationMixin, set_seed  # noqa: F401

        transformers = sys.modules["transformers"]
        if not hasattr(transformers, "LayoutLMv2FeatureExtractor"):  # (gone in transformers 5)
            transformers.LayoutLMv2FeatureExtractor = type("LayoutLMv2FeatureExtractor", (), {})
    stand_ins = (
        ("boto3", {}), ("botocore", {"UNSIGNED": object()}), ("botocore.config", {"Config": None}),
        ("gdown", {}), ("gdown.download_folder", {"download_folder": None}),
        ("lxml", {}), ("lxml.etree", {"XMLSyntaxError": Exception}), ("ftfy", {}),
        ("bioc", {"biocxml": None, "pubtator": None}),
        ("sentencepiece", {"SentencePieceProcessor": object}),
        ("transformer_smaller_training_vocab", {"reduce_train_vocab": None}))
    absent = {name.split(".")[0] for name, _ in stand_ins
              if importlib.util.find_spec(name.split(".")[0]) is None}
    for name, attributes in stand_ins:
        if name.split(".")[0] in absent:
            _stand_in(name, **attributes)
    if "lxml" in absent:
        sys.modules["lxml"].etree = sys.modules["lxml.etree"]


TEXT = [
    ("George Washington went to Washington .", "B-PER I-PER O O B-LOC O"),
    ("Angela Merkel visited Paris in May .", "B-PER I-PER O B-LOC O O O"),
    ("The Berlin office of Siemens opened .", "O B-LOC O O B-ORG O O"),
    ("Marie Curie worked in Paris .", "B-PER I-PER O O B-LOC O"),
    ("Google hired Ada Lovelace in London .", "B-ORG O B-PER I-PER O B-LOC O"),
    ("Siemens and Google met in Berlin .", "B-ORG O B-ORG O O B-LOC O"),
    ("London is far from Paris .", "B-LOC O O O B-LOC O"),
    ("Ada visited Siemens in London .", "B-PER O B-ORG O B-LOC O"),
]


def sentences(rows):
    from flair.data import Sentence

    out = []
    for text, tags in rows:
        sentence = Sentence(text.split())
        start, kind = None, None
        for index, tag in enumerate(tags.split() + ["O"]):  # (BIO tags to labelled spans)
            if start is not None and not tag.startswith("I-"):
                sentence[start:index].add_label("ner", kind)
                start = None
            if tag.startswith("B-"):
                start, kind = index, tag[2:]
        out.append(sentence)
    return out


@part("tagger", "flair")
def tagger_part():
    _prepare_import()
    import flair
    from flair.data import Corpus, Dictionary, Sentence
    from flair.datasets import FlairDatapointDataset
    from flair.embeddings import CharacterEmbeddings, OneHotEmbeddings, StackedEmbeddings
    from flair.models import SequenceTagger
    from flair.trainers import ModelTrainer

    flair.set_seed(1)
    corpus = Corpus(train=FlairDatapointDataset(sentences(TEXT[:6])),
                    dev=FlairDatapointDataset(sentences(TEXT[6:7])),
                    test=FlairDatapointDataset(sentences(TEXT[7:])), sample_missing_splits=False)
    tags = corpus.make_label_dictionary("ner", add_unk=False)
    put("tagger.tags", np.array(tags.get_items()))
    characters = Dictionary()  # (not flair's downloaded common-chars list)
    for character in sorted({c for text, _ in TEXT for c in text}):
        characters.add_item(character)
    embeddings = StackedEmbeddings([
        OneHotEmbeddings.from_corpus(corpus, embedding_length=8, min_freq=1),
        CharacterEmbeddings(path_to_char_dict=characters, hidden_size_char=4,
                            char_embedding_dim=4)])
    tagger = SequenceTagger(embeddings=embeddings, tag_dictionary=tags, tag_type="ner",
                            hidden_size=12, use_crf=True, word_dropout=0.0,
                            locked_dropout=0.0, dropout=0.0)
    put("tagger.n_parameters", np.array(sum(p.numel() for p in tagger.parameters())))
    with tempfile.TemporaryDirectory() as folder:
        trainer = ModelTrainer(tagger, corpus)
        random.seed(2)
        torch.manual_seed(2)
        result = trainer.train(folder, learning_rate=0.5, mini_batch_size=2, max_epochs=3,
                               shuffle=True, save_final_model=True, create_file_logs=False,
                               create_loss_file=True, train_with_dev=False,
                               monitor_test=False, patience=1, anneal_factor=0.5)
        put("tagger.test_score", np.array(result["test_score"]))
        with open(os.path.join(folder, "loss.tsv")) as handle:
            rows = [line.rstrip("\n").split("\t") for line in handle]
        header = rows[0]
        for column in ("TRAIN_LOSS", "DEV_LOSS", "DEV_F1", "LEARNING_RATE"):
            if column in header:
                put(f"tagger.log.{column}", np.array(
                    [float(row[header.index(column)]) for row in rows[1:]]))
        loaded = SequenceTagger.load(os.path.join(folder, "final-model.pt"))
    batch = sentences(TEXT[:3])
    loss, count = tagger.forward_loss(batch)
    put("tagger.loss", loss)
    put("tagger.count", np.array(count))
    tagger.eval()
    with torch.no_grad():  # (longest first, as flair's own callers order a batch)
        batch = sorted(batch, key=len, reverse=True)
        scores = tagger.forward(*tagger._prepare_tensors(batch))
    for index, value in enumerate(scores if isinstance(scores, tuple) else (scores,)):
        put(f"tagger.scores.{index}", value)  # (the emissions, then the CRF's transitions)
    for model, name in ((tagger, "trained"), (loaded, "loaded")):
        probe = Sentence("Ada Lovelace visited Berlin and Siemens .".split())
        model.predict(probe, return_probabilities_for_all_classes=False)
        put(f"tagger.predict.{name}", np.array(
            [f"{label.data_point.text}:{label.value}" for label in probe.get_labels("ner")]
            or ["none"]))
        put(f"tagger.predict.{name}.scores", np.array(
            [label.score for label in probe.get_labels("ner")] or [0.0]))
    evaluation = tagger.evaluate(sentences(TEXT[6:]), gold_label_type="ner",
                                 mini_batch_size=2)
    put("tagger.eval.main_score", np.array(evaluation.main_score))
    put("tagger.eval.loss", np.array(float(evaluation.loss)))


if __name__ == "__main__":
    main()
