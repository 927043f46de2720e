"""Hostile input for the CoNLL reader: every file reads, or raises one ConllFormatError.

What is thrown: random bytes (raw and gzip-wrapped, truncated gzip), generated CoNLL-like files
with ragged columns, bad and IOBES tags, ``I-`` after ``O``, blank and ``-DOCSTART-`` lines and
three kinds of line ending (checked against a small independent model of the format), files in
the wrong encoding (Latin-1, UTF-16, UTF-32, Shift-JIS), empty files, huge lines, character
devices, malformed ``(token, tag)`` pairs, and write/read round trips with awkward tokens.

The contract: ``read_conll`` returns at least one sentence with valid IOB2 tags, or raises
ConllFormatError whose message is one short line ``file:line: what``. ``I-X`` that does not
continue an entity is the documented repair: it becomes ``B-X`` (IOB1 -> IOB2).
"""

import gzip
import io
import os
import re
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltagrad.ner.conll import (
    ConllFormatError,
    Sentence,
    read_conll,
    sentences_from_pairs,
    write_conll,
)

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow],
)
MAX_MESSAGE = 400  # characters: an error about a 5 MB line must not be 5 MB long

VALID_TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-MISC", "B-ORG", "I-ORG"]
BAD_TAGS = ["E-PER", "S-LOC", "U-ORG", "L-MISC", "b-per", "B_PER", "B-", "I-", "PER", "0", "X",
            "O-PER", "BI-X", "o", "B-PER\x0b", "\u00a0"]
TOKEN_CHARS = "abcXYZ019.,-'\"()$%&é中ß\u00ad😀\x00\x1f\ufeff\u200b"


def tokens(min_size: int = 1):
    return st.text(alphabet=TOKEN_CHARS, min_size=min_size, max_size=6)


def read_bytes(data: bytes, name: str = "fuzz.txt") -> list[Sentence]:
    return read_conll(io.BytesIO(data), source_name=name)


def assert_clear(error: ConllFormatError, name: str, n_lines: int | None = None) -> None:
    message = str(error)
    assert message.startswith(f"{name}:{error.line}: "), message
    assert "\n" not in message and "\r" not in message, message
    assert len(message) <= MAX_MESSAGE, message[:200]
    if n_lines is not None:
        assert 1 <= error.line <= max(n_lines, 1), (error.line, n_lines)


def assert_valid_iob2(sentences: list[Sentence]) -> None:
    assert sentences, "read_conll returned no sentences instead of raising"
    for sentence in sentences:
        assert len(sentence.words) == len(sentence.tags) > 0
        assert all(word and " " not in word and "\t" not in word for word in sentence.words)
        previous = "O"
        for tag in sentence.tags:
            assert re.fullmatch(r"O|[BI]-\S+", tag), tag
            if tag.startswith("I-"):
                assert previous != "O" and previous[2:] == tag[2:], sentence.tags
            previous = tag


def read_or_error(data: bytes, name: str = "fuzz.txt") -> list[Sentence] | None:
    """Reads, checking the contract either way; returns None when a ConllFormatError came."""
    lines = data.replace(b"\r\n", b"\n").count(b"\n") + data.count(b"\r") - data.count(b"\r\n") + 1
    try:
        sentences = read_bytes(data, name)
    except ConllFormatError as error:
        assert_clear(error, name, None if data.startswith(b"\x1f\x8b") else lines)
        return None
    assert_valid_iob2(sentences)
    return sentences


# --- random bytes --------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes(data):
    read_or_error(data)


@FUZZ
@given(st.lists(st.sampled_from([b"EU B-ORG", b"rejects O", b"", b"\xff\xfe", b"\x00", b"I-X",
                                 b"\x1f\x8b", b" \t ", b"a b c d", b"\r", b"-DOCSTART-"]),
                max_size=20),
       st.binary(max_size=40))
def test_plausible_lines_mixed_with_garbage(lines, garbage):
    read_or_error(b"\n".join(lines) + garbage)


@FUZZ
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=400))
def test_gzip_of_anything_whole_or_truncated(data, cut):
    packed = gzip.compress(data)
    read_or_error(packed[:cut])
    whole = read_or_error(packed)
    if whole is not None:  # gzip is transparent: same result as the plain bytes
        assert whole == read_bytes(data)


def test_gzip_bad_crc_and_trailing_garbage():
    packed = bytearray(gzip.compress(b"EU B-ORG\n"))
    packed[-8] ^= 0xFF  # the CRC-32 of the data
    with pytest.raises(ConllFormatError, match="corrupt gzip") as caught:
        read_bytes(bytes(packed))
    assert_clear(caught.value, "fuzz.txt")
    with pytest.raises(ConllFormatError, match="corrupt gzip"):
        read_bytes(gzip.compress(b"EU B-ORG\n") + b"garbage")


# --- generated CoNLL-like files, against a model of the format ------------------------------


@st.composite
def conll_like(draw):
    """A file as a list of lines, its line ending and whether it has a BOM."""
    separator = st.sampled_from([" ", "\t", "  ", " \t "])
    tag = st.one_of(st.sampled_from(VALID_TAGS), st.sampled_from(BAD_TAGS))
    line = st.one_of(
        st.sampled_from(["", " ", "\t", " \t ", "-DOCSTART- -X- -X- O", "-DOCSTART-"]),
        st.tuples(st.lists(tokens(), min_size=0, max_size=3), tag, separator,
                  st.booleans()).map(lambda parts: (parts[2] if parts[3] else "")
                                     + parts[2].join([*parts[0], parts[1]])),
        st.tuples(tokens(), separator).map(lambda parts: parts[0] + parts[1] * (len(parts[0]) % 2)),
    )
    bad_tag_chance = draw(st.sampled_from([0.0, 0.02, 0.3]))
    lines = draw(st.lists(line, max_size=25))
    # Mostly-valid files too: replace bad tags by O with a drawn probability.
    cleaned = []
    for text in lines:
        columns = text.split()
        if columns and columns[-1] in BAD_TAGS and draw(st.floats(0, 1)) >= bad_tag_chance:
            text = text[: text.rfind(columns[-1])] + "O"
        cleaned.append(text)
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return cleaned, ending, draw(st.booleans()), draw(st.booleans())


def model_of_format(data: bytes):
    """What the documented format says: ("error", line) or ("ok", sentences)."""
    text = data.decode("utf-8-sig")  # one BOM is dropped (even one that starts a token)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        if "\x00" in line:  # no text file holds NUL: checked before anything else
            return "error", number
    sentences, words, tags = [], [], []

    def close():
        if words:
            sentences.append(Sentence(list(words), iob1_to_iob2(tags)))
            words.clear()
            tags.clear()

    for number, line in enumerate(lines, start=1):
        columns = [column for column in re.split(r"[ \t]+", line) if column]
        if not line.strip() or columns[0] == "-DOCSTART-":  # str.strip: Unicode whitespace
            close()
            continue
        tag = columns[-1]
        if len(columns) < 2 or not (
            tag == "O" or (tag[:2] in ("B-", "I-") and len(tag) > 2 and not re.search(r"\s", tag))
        ):
            return "error", number
        words.append(columns[0])
        tags.append(tag)
    close()
    return ("ok", sentences) if sentences else ("error", None)


def iob1_to_iob2(tags: list[str]) -> list[str]:
    out, previous = [], "O"
    for tag in tags:
        if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
            tag = "B-" + tag[2:]
        out.append(tag)
        previous = tag
    return out


@FUZZ
@given(conll_like())
def test_generated_files_match_the_format(case):
    lines, ending, bom, final_newline = case
    text = ending.join(lines) + (ending if final_newline else "")
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    kind, expected = model_of_format(data)
    if kind == "ok":
        assert read_bytes(data) == expected
        assert_valid_iob2(expected)
        return
    with pytest.raises(ConllFormatError) as caught:
        read_bytes(data)
    assert_clear(caught.value, "fuzz.txt")
    if expected is None:
        assert "no sentences" in caught.value.what
    else:
        assert caught.value.line == expected, (caught.value, lines)


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("a I-PER\n", ["B-PER"]),
        ("a O\nb I-PER\nc I-PER\n", ["O", "B-PER", "I-PER"]),
        ("a B-LOC\nb I-PER\n", ["B-LOC", "B-PER"]),
        ("a I-PER\nb B-PER\nc I-PER\n", ["B-PER", "B-PER", "I-PER"]),
    ],
)
def test_i_after_o_is_repaired_to_b(text, tags):
    """The documented repair: IOB1 (or ill-formed IOB2) becomes IOB2, entities unchanged."""
    assert read_bytes(text.encode()) == [Sentence(["a", "b", "c"][: len(tags)], tags)]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("", 1, "no sentences"),
        ("\n\n \t \n", 4, "no sentences"),
        ("-DOCSTART- -X- -X- O\n\n", 3, "no sentences"),
        ("EU B-ORG\nrejects\n", 2, "expected at least 2 columns"),
        ("EU S-ORG\n", 1, "IOBES"),
        ("EU B_ORG\n", 1, "invalid NER tag"),
        ("EU B-\n", 1, "invalid NER tag"),
    ],
)
def test_empty_files_and_bad_lines(text, line, what):
    with pytest.raises(ConllFormatError, match=what) as caught:
        read_bytes(text.encode())
    assert caught.value.line == line
    assert_clear(caught.value, "fuzz.txt")


# --- encodings -----------------------------------------------------------------------------

sentences_strategy = st.lists(
    st.lists(st.tuples(st.text(alphabet="aé中ßØ€", min_size=1, max_size=5),
                       st.sampled_from(["O", "B-PER", "I-PER"])), min_size=1, max_size=4),
    min_size=1, max_size=4,
)


@FUZZ
@given(sentences_strategy,
       st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-16-le", "utf-16-be", "utf-32",
                        "shift_jis"]))
def test_wrong_encodings(pairs, encoding):
    text = "".join("".join(f"{word} {tag}\n" for word, tag in sentence) + "\n"
                   for sentence in pairs)
    data = text.encode(encoding, errors="replace")
    sentences = read_or_error(data)
    if encoding.startswith(("utf-16", "utf-32")):
        # Every line holds ASCII (the tag, the space), so there are NUL bytes, or a BOM.
        assert sentences is None


def test_utf16_error_says_what_the_file_is():
    with pytest.raises(ConllFormatError, match="UTF-16") as caught:
        read_bytes("EU B-ORG\n".encode("utf-16"))
    assert_clear(caught.value, "fuzz.txt")
    with pytest.raises(ConllFormatError, match="NUL") as caught:
        read_bytes("EU B-ORG\n".encode("utf-16-le"))
    assert_clear(caught.value, "fuzz.txt")


def test_latin1_error_names_line_and_column():
    with pytest.raises(ConllFormatError, match="not valid UTF-8") as caught:
        read_bytes("EU B-ORG\nMünchen B-LOC\n".encode("latin-1"))
    assert caught.value.line == 2 and "column 2" in caught.value.what
    assert_clear(caught.value, "fuzz.txt")


@FUZZ
@given(st.binary(min_size=1, max_size=200))
def test_text_stream_with_undecodable_bytes(data):
    stream = io.TextIOWrapper(io.BytesIO(b"EU B-ORG\n" + data), encoding="utf-8")
    try:
        sentences = read_conll(stream, source_name="stream")
    except ConllFormatError as error:
        assert_clear(error, "stream")
    else:
        assert_valid_iob2(sentences)


# --- huge input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"x" * 3_000_000,  # one 3 MB token, no tag
        b"EU " + b"B-" + b"Q" * 3_000_000,  # a 3 MB tag (valid)
        b"EU " + b"Z" * 3_000_000,  # a 3 MB invalid tag
        b"EU " + b"E-" + b"Q" * 3_000_000,  # a 3 MB IOBES tag
        b"EU " + b"c " * 1_000_000 + b"O",  # a million columns
        b"\xc3" * 2_000_000,  # 2 MB of broken UTF-8
        b"\x00" * 2_000_000,  # 2 MB of NUL bytes
    ],
    ids=["token", "long-valid-tag", "long-bad-tag", "long-iobes-tag", "many-columns",
         "broken-utf8", "nul"],
)
def test_huge_lines_read_fast_with_short_errors(data):
    started = time.perf_counter()
    try:
        sentences = read_bytes(data)
    except ConllFormatError as error:
        assert_clear(error, "fuzz.txt", 1)
    else:
        assert_valid_iob2(sentences)
    assert time.perf_counter() - started < 5


def test_many_lines_and_long_sentences_read():
    data = b"a O\n" * 200_000 + b"\n" + b"b B-X\nc I-X\n" * 1000
    sentences = read_bytes(data)
    assert [len(sentence) for sentence in sentences] == [200_000, 2000]


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_endless_device_is_refused_not_read_forever():
    """``--train /dev/zero`` would read until memory runs out; it must fail at once."""
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"  # a regression OOMs here
        "from deltagrad.ner.conll import read_conll, ConllFormatError\n"
        "for path in ('/dev/zero', '/dev/urandom', '/dev/null'):\n"
        "    try:\n"
        "        read_conll(path)\n"
        "    except ConllFormatError as error:\n"
        "        print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 3 and lines[0].startswith("/dev/zero:1: ")
    assert "not a regular file" in lines[0]


def test_directory_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        read_conll(tmp_path)


# --- (token, tag) pairs and round trips ------------------------------------------------------

junk = st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.binary(max_size=3),
                 st.text(max_size=4), st.tuples(st.text(max_size=3)),
                 st.lists(st.text(max_size=3), max_size=3))


@FUZZ
@given(st.lists(st.lists(st.one_of(junk, st.tuples(junk, junk),
                                   st.tuples(tokens(), st.sampled_from(VALID_TAGS))),
                         max_size=4), max_size=4))
def test_malformed_pairs(tagged_sentences):
    try:
        sentences = sentences_from_pairs(tagged_sentences, source_name="pairs")
    except ConllFormatError as error:
        assert_clear(error, "pairs")
    else:
        assert_valid_iob2(sentences)


written_tokens = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=" \t\n\r"),
    min_size=1, max_size=6,
).filter(lambda token: not token.isspace())


@FUZZ
@given(st.lists(st.lists(st.tuples(written_tokens, st.sampled_from(VALID_TAGS)), min_size=1,
                         max_size=5), min_size=1, max_size=5),
       st.sampled_from(["stream", "bytes", "gzip"]))
def test_write_then_read_gives_the_same_sentences(pairs, how):
    """Whatever write_conll and sentences_from_pairs accept reads back unchanged."""
    try:
        sentences = sentences_from_pairs(pairs)
    except ConllFormatError as error:
        assert_clear(error, "<pairs>")
        return
    stream = io.StringIO()
    try:
        write_conll(sentences, stream)
    except ValueError as error:
        pytest.fail(f"sentences_from_pairs accepted what write_conll refuses: {error}")
    text = stream.getvalue()
    if how == "stream":
        assert read_conll(io.StringIO(text)) == sentences
    elif how == "bytes":
        assert read_bytes(text.encode("utf-8")) == sentences
    else:
        assert read_bytes(gzip.compress(text.encode("utf-8"))) == sentences


@pytest.mark.parametrize(
    "words",
    [["EU", "-DOCSTART-"], ["-DOCSTART-"], ["\ufeffEU", "rejects"], ["\x0b"], ["\x85"],
     ["a\u2028b"]],
)
def test_awkward_tokens_round_trip_or_are_refused(words):
    sentence = Sentence(words, ["O"] * len(words))
    stream = io.StringIO()
    try:
        write_conll([sentence], stream)
    except ValueError:
        with pytest.raises(ConllFormatError):
            sentences_from_pairs([list(zip(words, sentence.tags, strict=True))])
        return
    assert read_bytes(stream.getvalue().encode("utf-8")) == [sentence]
    assert sentences_from_pairs([list(zip(words, sentence.tags, strict=True))]) == [sentence]
