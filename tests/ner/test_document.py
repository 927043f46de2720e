"""Document features (ner.document) and the documents they come from (-DOCSTART- in CoNLL)."""

import io

import numpy as np
import pytest

from deltagrad.ner.conll import Sentence, load_default, read_conll, write_conll
from deltagrad.ner.document import CONTEXT_SIDE, DOC_STATS, MAX_MENTIONS, document_features
from deltagrad.ner.vocab import NUM_CASINGS

SENTENCES = [["Mr.", "Smith", "said", "."], ["Smith", "won", "in", "May"],
             ["the", "may", "Smith", "file"]]


def features(sentences, documents):
    words = [w for s in sentences for w in s]
    ids = np.arange(1, len(words) + 1)  # token i's "vocabulary id" is i + 1
    lengths = np.array([len(s) for s in sentences])
    return document_features(words, ids, lengths, np.array(documents))


def bag(context, token, side):
    return sorted(context[token, side][context[token, side] >= 0].tolist())


def test_context_of_other_mentions():
    context, stats = features(SENTENCES, [0, 0, 0])
    assert context.shape == (12, 2, CONTEXT_SIDE * MAX_MENTIONS)
    assert stats.shape == (12, DOC_STATS) and stats.dtype == np.float32
    # "Smith" (token 1) sees the words around tokens 4 and 10; 0 pads a sentence's edges.
    assert bag(context, 1, 0) == [0, 0, 9, 10]  # before 4: pads; before 10: "the", "may"
    assert bag(context, 1, 1) == [0, 6, 7, 12]  # after 4: "won", "in"; after 10: "file", pad
    assert bag(context, 4, 0) == [0, 1, 9, 10]  # before 1: pad, "Mr."
    # Lower-case tokens get nothing; a capitalised word seen once gets empty bags.
    assert bag(context, 2, 0) == [] and not stats[2].any()
    assert bag(context, 0, 0) == [] and bag(context, 0, 1) == []
    # "May" (token 7) is written "may" elsewhere: the lower-case fraction says so.
    lower, initial_cap = 0, 2  # Casing.LOWER - 1, Casing.INITIAL_CAP - 1
    assert stats[7, lower] == 1.0 and stats[7, initial_cap] == 0.0
    # "Smith": 2 other mentions, both capitalised, one starting a sentence; token 1 is first.
    assert stats[1, initial_cap] == 1.0 and stats[1, NUM_CASINGS - 1] == 0.5
    assert stats[1, NUM_CASINGS] == 1.0 and stats[4, NUM_CASINGS] == 0.0
    assert stats[1, NUM_CASINGS + 1] == pytest.approx(2 / MAX_MENTIONS)


def test_documents_do_not_share_mentions():
    context, stats = features(SENTENCES, [0, 1, 1])
    assert bag(context, 1, 0) == []  # "Smith" is alone in document 0
    assert bag(context, 4, 0) == [9, 10] and bag(context, 4, 1) == [0, 12]
    empty_context, empty_stats = features([], [])
    assert empty_context.shape == (0, 2, CONTEXT_SIDE * MAX_MENTIONS)
    assert empty_stats.shape == (0, DOC_STATS)


def test_only_the_first_mentions_lend_context():
    sentences = [["Smith", "x"]] * (MAX_MENTIONS + 3)
    context, _ = features(sentences, [0] * len(sentences))
    taken = (context >= 0).sum(axis=2)
    assert taken[0].tolist() == [CONTEXT_SIDE * (MAX_MENTIONS - 1)] * 2  # all others but itself
    assert taken[-2].tolist() == [CONTEXT_SIDE * MAX_MENTIONS] * 2  # the first MAX_MENTIONS


def test_conll_documents_are_numbered_and_written_back():
    text = ("-DOCSTART- -X- O O\n\nA O\n\nB O\n\n-DOCSTART- -X- O O\n\nC O\n\n"
            "-DOCSTART- -X- O O\n\n-DOCSTART- -X- O O\n\nD O\n")
    sentences = read_conll(io.StringIO(text))
    assert [s.document for s in sentences] == [0, 0, 1, 2]  # empty documents take no number
    assert sentences[0] == Sentence(["A"], ["O"], document=5)  # not part of equality
    stream = io.StringIO()
    write_conll(sentences, stream)
    again = read_conll(io.StringIO(stream.getvalue()))
    assert [s.document for s in again] == [0, 0, 1, 2] and again == sentences
    assert [s.document for s in load_default("dev")][-1] == 215  # 216 documents


def test_shipped_splits_have_documents():
    train = load_default("train")
    numbers = [s.document for s in train]
    assert numbers[0] == 0 and numbers[-1] == 945 and numbers == sorted(numbers)
