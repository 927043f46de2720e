"""The training-split gazetteer (ner.gazetteer) and the topic bags (ner.document.topic_bags)."""

import numpy as np
import pytest

from deltagrad.ner.conll import Sentence, load_default
from deltagrad.ner.document import topic_bags
from deltagrad.ner.gazetteer import Gazetteer, _entities

O = "O"
SENTENCES = [
    Sentence(["New", "York", "beat", "York", "."], ["B-ORG", "I-ORG", O, "B-LOC", O], 0),
    Sentence(["York", "is", "in", "New", "York", "State"],
             ["B-PER", O, O, "B-LOC", "I-LOC", "I-LOC"], 1),
    Sentence(["New", "York", "won"], ["B-LOC", "I-LOC", O], 2),
]


def flat(sentences):
    words = [w for s in sentences for w in s.words]
    lengths = np.array([len(s.words) for s in sentences])
    documents = np.array([s.document for s in sentences])
    return words, lengths, documents


def test_entries_types_and_probabilities():
    gazetteer = Gazetteer.build(SENTENCES, folds=3)
    assert gazetteer.types == ["LOC", "ORG", "PER"]
    assert set(gazetteer.entries) == {("New", "York"), ("York",), ("New", "York", "State")}
    # "York" alone: 5 occurrences (three inside "New York"), a location once, a person once.
    words, lengths, documents = flat(SENTENCES)
    matches = gazetteer.features(words, lengths)
    york = 3  # "York" after "beat"
    np.testing.assert_allclose(matches[york], [0.2, 0, 0.2, 0, 0, 0], rtol=1e-6)
    # "New York": 3 occurrences, an organisation once, a location once (inside the third
    # sentence's longer "New York State" it is not an entity of its own).
    np.testing.assert_allclose(matches[0], [1 / 3, 1 / 3, 0, 0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(matches[1], [0, 0, 0, 1 / 3, 1 / 3, 0], rtol=1e-6)


def test_longest_match_wins_and_matches_stay_in_their_sentence():
    gazetteer = Gazetteer.build(SENTENCES, folds=3)
    words, lengths, _ = flat([Sentence(["New", "York", "State", "and", "New"], [O] * 5),
                              Sentence(["York", "."], [O] * 2)])
    matches = gazetteer.features(words, lengths)
    assert matches[0, 0] == 1.0 and (matches[1:3, 3] == 1.0).all()  # "New York State": LOC
    assert not matches[4].any()  # "New" ends its sentence: no "New York" across sentences
    assert matches[5, 0] == pytest.approx(0.2)  # "York" alone


def test_jackknife_leaves_out_the_tokens_own_fold():
    gazetteer = Gazetteer.build(SENTENCES, folds=3)  # one document per fold
    words, lengths, documents = flat(SENTENCES)
    own = gazetteer.features(words, lengths, documents, jackknife=True)
    # Document 1 (tokens 5-10): "New York State" is an entry only thanks to document 1 itself,
    # so there its "New York" (8, 9) is matched as the other folds know it: an organisation
    # once and a location once in 2 occurrences; "State" is left alone.
    np.testing.assert_allclose(own[8], [0.5, 0.5, 0, 0, 0, 0])
    np.testing.assert_allclose(own[9], [0, 0, 0, 0.5, 0.5, 0])
    assert not own[10].any()
    # Its "York" (5): the other folds saw it 3 times, a location once (the person is its own).
    np.testing.assert_allclose(own[5], [1 / 3, 0, 0, 0, 0, 0], rtol=1e-6)
    # Document 0's "New York": elsewhere a location once in 2 occurrences.
    np.testing.assert_allclose(own[0], [0.5, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="documents"):
        gazetteer.features(words, lengths, jackknife=True)


def test_json_round_trip_keeps_the_totals():
    gazetteer = Gazetteer.build(load_default("train")[:400])
    words, lengths, documents = flat(load_default("dev")[:200])
    loaded = Gazetteer.from_json(gazetteer.to_json())
    np.testing.assert_array_equal(loaded.features(words, lengths),
                                  gazetteer.features(words, lengths))
    with pytest.raises(ValueError, match="totals only"):
        loaded.features(words, lengths, documents, jackknife=True)
    with pytest.raises(ValueError, match="not a deltagrad gazetteer"):
        Gazetteer.from_json('{"format": "something else"}')


@pytest.mark.parametrize("text", [
    '{"format": "deltagrad.ner.Gazetteer", "types": ["A"], "entries": [["London", [1], 2]]}',
    '{"format": "deltagrad.ner.Gazetteer", "types": ["A"], "entries": [[["x"], [1, 2], 3]]}',
    '{"format": "deltagrad.ner.Gazetteer", "types": ["A"], "entries": [[["x"], [-1], 3]]}',
    '{"format": "deltagrad.ner.Gazetteer", "types": ["A"], "entries": [[["x"], [1], NaN]]}',
    '{"format": "deltagrad.ner.Gazetteer", "types": ["A"], "entries": 5}',
    '{"format": "deltagrad.ner.Gazetteer", "types": ["A"]}',
    "[" * 100_000,
])
def test_a_damaged_gazetteer_is_refused(text):
    with pytest.raises(ValueError, match="gazetteer"):
        Gazetteer.from_json(text)


def reference(gazetteer, words, lengths):
    """The documented matching, written plainly: per sentence, longest entries first, then
    leftmost, each token in at most one match."""
    totals = {e: (gazetteer.entities[i].sum(0), gazetteer.occurrences[i].sum())
              for i, e in enumerate(gazetteer.entries)}
    k = len(gazetteer.types)
    out = np.zeros((len(words), 2 * k), np.float32)
    start = 0
    for length in lengths:
        covered = [False] * length
        for size in range(gazetteer.max_length, 0, -1):
            for i in range(length - size + 1):
                key = tuple(words[start + i:start + i + size])
                if key in totals and not any(covered[i:i + size]) and totals[key][0].sum() > 0:
                    counts, seen = totals[key]
                    p = counts / max(seen, 1)
                    out[start + i, :k] = p
                    out[start + i + 1:start + i + size, k:] = p
                    covered[i:i + size] = [True] * size
        start += length
    return out


def test_matches_the_plain_reference_on_conll():
    gazetteer = Gazetteer.build(load_default("train")[:1500])
    words, lengths, _ = flat(load_default("dev")[:400])
    np.testing.assert_allclose(gazetteer.features(words, lengths),
                               reference(gazetteer, words, lengths), rtol=1e-6)


def test_entities_read_iob2_as_seqeval_does():
    from seqeval.metrics.sequence_labeling import get_entities

    sentences = load_default("train")[:300] + [
        Sentence(["a", "b", "c", "d"], ["I-PER", "I-PER", "B-LOC", "I-ORG"])]
    tags = [t for s in sentences for t in s.tags]
    lengths = np.array([len(s.tags) for s in sentences])
    starts, ends, kinds, names = _entities(tags, lengths)
    expected, offset = [], 0
    for s in sentences:
        expected += [(kind, offset + a, offset + b + 1) for kind, a, b in get_entities(s.tags)]
        offset += len(s.tags)
    assert sorted(zip([names[k] for k in kinds], starts.tolist(), ends.tolist())) == sorted(
        expected)


def test_topic_bags_hold_each_sentence_and_document():
    words = ["Rain", "in", "Oslo", ".", "Oslo", "2", "Bergen", "1", "Snow", "."]
    ids = np.array([5, 6, 7, 2, 7, 1, 8, 1, 9, 2])  # 1 is <unk>
    lengths = np.array([4, 4, 2])
    bag_words, offsets, token_bags = topic_bags(words, ids, lengths, np.array([0, 1, 1]),
                                                ["sentence", "document"])
    bags = [bag_words[a:b].tolist() for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    # Three sentence bags, then two document bags; no punctuation, numbers or <unk>.
    assert bags == [[5, 6, 7], [7, 8], [9], [5, 6, 7], [7, 8, 9]]
    assert token_bags[:, 0].tolist() == [0] * 4 + [1] * 4 + [2] * 2
    assert token_bags[:, 1].tolist() == [3] * 4 + [4] * 6
