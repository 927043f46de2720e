"""Tests of the CoNLL reader and writer (deltagrad.ner.conll)."""

import gzip
import hashlib
import io
import pickle
from collections import Counter
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deltagrad.ner.conll import (
    ConllFormatError,
    Sentence,
    check_tag,
    load_default,
    read_conll,
    sentences_from_pairs,
    to_iob2,
    write_conll,
)

# From src/deltagrad/ner/data/SOURCE.md (the published CoNLL-2003 English statistics).
EXPECTED = {
    "train": {
        "sha256": "213953b5522fb7924802d883e50f027b2c6ffb5d4d0e63368ed82909f9b60423",
        "sentences": 14_041,
        "tokens": 203_621,
        "tags": {
            "O": 169_578,
            "B-PER": 6_600,
            "I-PER": 4_528,
            "B-ORG": 6_321,
            "I-ORG": 3_704,
            "B-LOC": 7_140,
            "I-LOC": 1_157,
            "B-MISC": 3_438,
            "I-MISC": 1_155,
        },
    },
    "dev": {
        "sha256": "c02eb19809eafb83998326a0481942eb37d96f31826ae387cfe8773699969f5b",
        "sentences": 3_250,
        "tokens": 51_362,
        "tags": {
            "O": 42_759,
            "B-PER": 1_842,
            "I-PER": 1_307,
            "B-ORG": 1_341,
            "I-ORG": 751,
            "B-LOC": 1_837,
            "I-LOC": 257,
            "B-MISC": 922,
            "I-MISC": 346,
        },
    },
}

TAG_SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)


def read_text(text: str, name: str = "x.txt") -> list[Sentence]:
    return read_conll(io.StringIO(text), source_name=name)


def is_valid_iob2(tags: list[str]) -> bool:
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            return False
        previous = tag
    return True


# --- the vendored data ---------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "dev"])
def test_vendored_file_is_the_documented_file(split):
    compressed = (resources.files("deltagrad.ner") / "data" / f"{split}.txt.gz").read_bytes()
    digest = hashlib.sha256(gzip.decompress(compressed)).hexdigest()
    assert digest == EXPECTED[split]["sha256"]


@pytest.mark.parametrize("split", ["train", "dev"])
def test_vendored_counts_match_source_md(split):
    sentences = load_default(split)
    expected = EXPECTED[split]
    assert len(sentences) == expected["sentences"]
    assert sum(len(sentence) for sentence in sentences) == expected["tokens"]
    tag_counts = Counter(tag for sentence in sentences for tag in sentence.tags)
    assert dict(tag_counts) == expected["tags"]
    assert all(is_valid_iob2(sentence.tags) for sentence in sentences)


def test_first_training_sentence():
    first = load_default("train")[0]
    assert first.words[:3] == ["EU", "rejects", "German"]
    assert first.tags[:3] == ["B-ORG", "O", "B-MISC"]


def test_test_split_is_not_shipped():
    with pytest.raises(ValueError, match="test split is not shipped"):
        load_default("test")
    assert not (resources.files("deltagrad.ner") / "data" / "test.txt.gz").is_file()


# --- the format ----------------------------------------------------------------------------


def test_reads_four_column_file_with_docstart():
    text = (
        "-DOCSTART- -X- -X- O\n\n"
        "EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
        "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n"
    )
    assert read_text(text) == [
        Sentence(["EU", "rejects"], ["B-ORG", "O"]),
        Sentence(["Peter", "Blackburn"], ["B-PER", "I-PER"]),
    ]


def test_docstart_ends_a_sentence_even_without_blank_line():
    text = "a O\n-DOCSTART- -X- -X- O\nb O\n"
    assert [sentence.words for sentence in read_text(text)] == [["a"], ["b"]]


def test_bare_docstart_line_is_accepted():
    assert read_text("-DOCSTART-\n\na O\n") == [Sentence(["a"], ["O"])]


def test_tabs_and_runs_of_spaces_separate_columns():
    text = "EU\tNNP\tB-ORG\nrejects  VBZ \t O\n   \t \nx\tO\n"
    assert read_text(text) == [
        Sentence(["EU", "rejects"], ["B-ORG", "O"]),
        Sentence(["x"], ["O"]),
    ]


def test_crlf_line_endings_and_bom(tmp_path):
    path = tmp_path / "win.txt"
    path.write_bytes(b"\xef\xbb\xbfEU B-ORG\r\nx O\r\n\r\ny O\r\n")
    assert read_conll(path) == [Sentence(["EU", "x"], ["B-ORG", "O"]), Sentence(["y"], ["O"])]


def test_iob1_is_normalised_to_iob2():
    text = "Peter I-PER\nBlackburn I-PER\nand O\nEU I-ORG\nUN B-ORG\nin O\nParis I-LOC\n"
    assert read_text(text)[0].tags == ["B-PER", "I-PER", "O", "B-ORG", "B-ORG", "O", "B-LOC"]


def test_i_after_other_type_starts_an_entity():
    assert read_text("a B-PER\nb I-LOC\nc I-LOC\n")[0].tags == ["B-PER", "B-LOC", "I-LOC"]


def test_unicode_tokens(tmp_path):
    path = tmp_path / "u.txt"
    path.write_text("Zürich B-LOC\n東京 B-LOC\n", encoding="utf-8")
    assert read_conll(path)[0].words == ["Zürich", "東京"]


def test_gzip_path_and_binary_stream(tmp_path):
    text = "EU NNP B-ORG\n\nx O\n"
    path = tmp_path / "data.conll.gz"
    path.write_bytes(gzip.compress(text.encode()))
    expected = [Sentence(["EU"], ["B-ORG"]), Sentence(["x"], ["O"])]
    assert read_conll(path) == expected
    assert read_conll(str(path)) == expected
    assert read_conll(io.BytesIO(text.encode())) == expected
    with gzip.open(path, "rb") as stream:
        assert read_conll(stream) == expected


def test_gzip_is_detected_by_content_not_name(tmp_path):
    path = tmp_path / "compressed.txt"
    path.write_bytes(gzip.compress(b"x O\n"))
    assert read_conll(path) == [Sentence(["x"], ["O"])]


# --- errors --------------------------------------------------------------------------------


def test_one_column_line_names_file_and_line():
    with pytest.raises(ConllFormatError) as info:
        read_text("-DOCSTART- -X- -X- O\n\nEU\nrejects O\n", name="train.txt")
    assert str(info.value) == (
        "train.txt:3: expected at least 2 columns (token ... tag), got 1: 'EU'"
    )
    assert (info.value.file, info.value.line) == ("train.txt", 3)


@pytest.mark.parametrize(
    ("tag", "words"),
    [("S-PER", "IOBES"), ("E-LOC", "IOBES"), ("B_PER", "expected 'O'"), ("o", "expected 'O'")],
)
def test_bad_tag_is_named(tag, words):
    with pytest.raises(ConllFormatError, match=f"x.txt:2: invalid NER tag '{tag}'.*{words}"):
        read_text(f"a O\nb {tag}\n")


def test_bad_tag_reported_at_its_first_occurrence():
    with pytest.raises(ConllFormatError, match="x.txt:4:"):
        read_text("a O\nb O\n\nc X-PER\nd X-PER\n")


def test_path_error_uses_the_path(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("a O\nbroken\n")
    with pytest.raises(ConllFormatError, match=f"^{path}:2: "):
        read_conll(path)


@pytest.mark.parametrize("text", ["", "\n\n  \n", "-DOCSTART- -X- -X- O\n\n"])
def test_empty_input_is_an_error(text):
    with pytest.raises(ConllFormatError, match="no sentences"):
        read_text(text)


def test_non_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("a O\nb O\nZ\u00fcrich B-LOC\n".encode("latin-1"))
    with pytest.raises(ConllFormatError, match=r"latin1.txt:3: not valid UTF-8 \(byte 0xfc"):
        read_conll(path)


def test_binary_garbage(tmp_path):
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ConllFormatError, match="garbage.bin:"):
        read_conll(path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "broken.gz"
    path.write_bytes(gzip.compress(b"a O\n" * 100)[:-6])
    with pytest.raises(ConllFormatError, match="broken.gz:1: corrupt gzip data"):
        read_conll(path)


def test_undecodable_text_stream(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"a O\n\xff\xfe O\n")
    with open(path, encoding="utf-8") as stream, pytest.raises(ConllFormatError):
        read_conll(stream)


def test_error_pickles_and_is_a_value_error():
    error = ConllFormatError("f.txt", 3, "broken")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ValueError)
    assert str(copy) == "f.txt:3: broken" and copy.line == 3


def test_sentence_needs_one_tag_per_word():
    with pytest.raises(ValueError, match="one tag per word"):
        Sentence(["a", "b"], ["O"])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(alphabet=st.sampled_from(list("ab \t\n\r-OIBX\u00e9\x00")), max_size=60))
def test_random_text_raises_only_format_errors(text):
    try:
        sentences = read_text(text)
    except ConllFormatError:
        return
    assert sentences and all(len(sentence.words) == len(sentence.tags) for sentence in sentences)
    assert all(is_valid_iob2(sentence.tags) for sentence in sentences)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=80))
def test_random_bytes_raise_only_format_errors(data):
    try:
        read_conll(io.BytesIO(data), source_name="random.bin")
    except ConllFormatError as error:
        assert str(error).startswith("random.bin:")


# --- tags ----------------------------------------------------------------------------------

iob_tags = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])


def test_check_tag():
    assert check_tag("O") is None and check_tag("I-MISC") is None
    assert "IOBES" in check_tag("S-PER")
    assert check_tag("B-") is not None and check_tag("") is not None


@TAG_SETTINGS
@given(st.lists(iob_tags, max_size=12))
def test_to_iob2_gives_valid_iob2_and_is_idempotent(tags):
    fixed = to_iob2(tags)
    assert is_valid_iob2(fixed)
    assert to_iob2(fixed) == fixed
    assert [tag[2:] for tag in fixed] == [tag[2:] for tag in tags]


# --- pairs and writing ---------------------------------------------------------------------


def test_sentences_from_pairs_normalises_and_checks():
    sentences = sentences_from_pairs([[("EU", "I-ORG"), ("x", "O")], [], [("y", "B-LOC")]])
    assert sentences == [Sentence(["EU", "x"], ["B-ORG", "O"]), Sentence(["y"], ["B-LOC"])]
    with pytest.raises(ConllFormatError, match="<pairs>:4: invalid NER tag 'S-LOC'"):
        sentences_from_pairs([[("a", "O"), ("b", "O")], [("c", "S-LOC")]])
    with pytest.raises(ConllFormatError, match="contains a space"):
        sentences_from_pairs([[("New York", "B-LOC")]])


def test_write_then_read_round_trip(tmp_path):
    sentences = [Sentence(["EU", "Zürich"], ["B-ORG", "B-LOC"]), Sentence(["x"], ["O"])]
    for name in ["out.txt", "out.txt.gz"]:
        write_conll(sentences, tmp_path / name)
        assert read_conll(tmp_path / name) == sentences
    stream = io.StringIO()
    write_conll(sentences, stream)
    assert stream.getvalue() == "EU B-ORG\nZürich B-LOC\n\nx O\n\n"


def test_write_rejects_unwritable_tokens(tmp_path):
    with pytest.raises(ValueError, match="sentence 1, token 2: token contains a space"):
        write_conll([Sentence(["a", "b c"], ["O", "O"])], tmp_path / "x.txt")
    with pytest.raises(ValueError, match="invalid NER tag"):
        write_conll([Sentence(["a"], ["S-PER"])], tmp_path / "x.txt")


words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.lists(st.tuples(words, iob_tags), min_size=1, max_size=6), min_size=1))
def test_round_trip_property(pairs_per_sentence):
    sentences = [
        Sentence([word for word, _ in pairs], to_iob2([tag for _, tag in pairs]))
        for pairs in pairs_per_sentence
    ]
    if any(sentence.words[0] == "-DOCSTART-" for sentence in sentences):
        return
    stream = io.StringIO()
    write_conll(sentences, stream)
    assert read_text(stream.getvalue()) == sentences
