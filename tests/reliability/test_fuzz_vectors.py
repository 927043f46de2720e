"""Hostile input for the GloVe text reader: every file loads, or raises one VectorsFormatError.

What is thrown: random bytes (raw and gzip-wrapped), generated vector files with ragged rows,
non-numbers (``1x``, ``nan``, ``inf``, ``1e39`` which overflows float32, ``1_0``, Arabic and
full-width digits, form feeds inside a field), duplicate words, blank lines, word2vec headers
(also with non-ASCII or 5,000-digit numbers), tabs and three line endings, read by each of the
three parsers (pyarrow, NumPy, checked) and compared with a small model of the format; wrong
encodings, huge lines, a character device.

The contract: ``load_glove_text`` returns unique words and a finite float32 ``[n, dim]`` matrix
(the first vector of a repeated word is kept: the documented repair), or raises
VectorsFormatError whose message is one short line ``file:line: what``. Whichever parser runs,
the answer is the same.
"""

import gzip
import os
import re
import time
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deltagrad.ner import vectors
from deltagrad.ner.vectors import VectorsFormatError, load_glove_text, load_vectors

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow],
)
MAX_MESSAGE = 400
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
GOOD_VALUES = ["1", "-0", "+.5", "1.", "1E5", "2e-3", "0.000001", "-12.25", "1e-40", "1e-50",
               "3.4028234e38"]
BAD_VALUES = ["1x", "nan", "NaN", "inf", "-inf", "Infinity", "1e39", "-1e39", "1_0", "\u0661",
              "\uff11", "0x10", "--1", "1,5", "+", ".", "e5", "1e", "1.5.5", "1\x0c2", "1\x0b",
              "\u00a01"]
WORD_CHARS = "abzé中,.'-0123\x0c\u00a0"
PARSERS = ("pyarrow", "numpy", "checked")
PYARROW_PARSER, NUMPY_PARSER = vectors._parse_with_pyarrow, vectors._parse_fast


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("vectors")


def load_with(path, parser: str):
    """load_glove_text with the faster parsers switched off in turn, as tests/ner does."""
    with mock.patch.object(vectors, "_parse_with_pyarrow", PYARROW_PARSER
                           if parser == "pyarrow" else lambda data: None), \
         mock.patch.object(vectors, "_parse_fast", lambda numbered: None
                           if parser == "checked" else NUMPY_PARSER(numbered)):
        return load_glove_text(path)


def assert_clear(error: VectorsFormatError, path, n_lines: int | None = None) -> None:
    message = str(error)
    assert message.startswith(f"{os.fspath(path)}:{error.line}: "), message[:200]
    assert "\n" not in message and "\r" not in message, message[:200]
    assert len(message) <= MAX_MESSAGE, message[:200]
    if n_lines is not None:
        assert 1 <= error.line <= max(n_lines, 1), (error.line, n_lines)


def assert_well_formed(words, matrix) -> None:
    assert isinstance(words, list) and all(isinstance(word, str) and word for word in words)
    assert len(set(words)) == len(words), "repeated words survived"
    assert matrix.dtype == np.float32 and matrix.ndim == 2
    assert matrix.shape[0] == len(words) > 0 and matrix.shape[1] > 0
    assert np.isfinite(matrix).all()


def load_or_error(path, parser: str = "pyarrow"):
    """Loads, checking the contract either way; returns None when VectorsFormatError came."""
    try:
        words, matrix = load_with(path, parser)
    except VectorsFormatError as error:
        assert_clear(error, path)
        return None
    assert_well_formed(words, matrix)
    return words, matrix


def same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a[0] == b[0] and np.array_equal(a[1], b[1])


# --- random bytes --------------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=400), st.booleans())
def test_random_bytes(folder, data, packed):
    path = folder / "random.txt"
    path.write_bytes(gzip.compress(data) if packed else data)
    results = [load_or_error(path, parser) for parser in PARSERS]
    assert same(results[0], results[1]) and same(results[0], results[2])


@FUZZ
@given(st.binary(max_size=200), st.integers(min_value=0, max_value=250))
def test_truncated_gzip(folder, data, cut):
    path = folder / "cut.txt.gz"
    path.write_bytes(gzip.compress(b"a 1 2\nb 3 4\n" + data)[:cut])
    load_or_error(path)


# --- generated files, against a model of the format ------------------------------------------


@st.composite
def vector_files(draw):
    """Rows of a vector file (lists of fields) with blank lines; returns (text, rows)."""
    dim = draw(st.integers(min_value=1, max_value=4))
    good = st.one_of(
        st.floats(width=32, allow_nan=False, allow_infinity=False).map(str),
        st.sampled_from(GOOD_VALUES),
    )
    bad_chance = draw(st.sampled_from([0.0, 0.05, 0.3]))
    rows = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        if draw(st.floats(0, 1)) < 0.1:
            rows.append(draw(st.sampled_from(["", " ", "\t", "\x0c"])))
            continue
        width = dim
        if draw(st.floats(0, 1)) < bad_chance:
            width = draw(st.integers(min_value=0, max_value=dim + 2))  # ragged
        values = [draw(st.sampled_from(BAD_VALUES)) if draw(st.floats(0, 1)) < bad_chance
                  else draw(good) for _ in range(width)]
        word = draw(st.one_of(st.text(alphabet=WORD_CHARS, min_size=1, max_size=4),
                              st.sampled_from(["the", "a", "1"])))
        separator = draw(st.sampled_from([" ", " ", " ", "\t", "  ", " \t"]))
        rows.append(separator.join([word, *values]))
    if draw(st.booleans()) and rows:
        rows.insert(0, f"{len(rows)} {dim}")  # a word2vec header
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return ending.join(rows) + draw(st.sampled_from(["", ending])), rows


def model_of_format(text: str):
    """What the docstring says: ("error", line) or ("ok", words, rows as float32)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        return "error", 1
    split = [(n, re.split(r"[ \t]+", line.strip(" \t"))) for n, line in numbered]
    first = split[0][1]
    if (len(split) > 1 and len(first) == 2 and all(re.fullmatch("[0-9]+", f) for f in first)
            and len(split[1][1]) == int(first[1]) + 1):
        split = split[1:]
    dim = len(split[0][1]) - 1
    words, rows = [], []
    for number, fields in split:
        if len(fields) - 1 != dim or dim < 1:
            return "error", number
        row = []
        for field in fields[1:]:
            with np.errstate(over="ignore"):
                value = np.float32(float(field) if NUMBER.fullmatch(field) else np.nan)
            if not np.isfinite(value):
                return "error", number
            row.append(value)
        if fields[0] not in words:
            words.append(fields[0])
            rows.append(row)
    return "ok", words, np.asarray(rows, dtype=np.float32)


@FUZZ
@given(vector_files(), st.sampled_from(PARSERS), st.booleans())
def test_generated_files_match_the_format(folder, case, parser, packed):
    text, _ = case
    path = folder / "generated.txt"
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if packed else data)
    expected = model_of_format(text)
    with np.errstate(over="raise"):  # no silent float32 overflow on the way
        if expected[0] == "ok":
            words, matrix = load_with(path, parser)
            assert words == expected[1]
            np.testing.assert_array_equal(matrix, expected[2])
            assert_well_formed(words, matrix)
            return
        with pytest.raises(VectorsFormatError) as caught:
            load_with(path, parser)
    assert_clear(caught.value, path)
    assert caught.value.line == expected[1], (caught.value, text)


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a 1\x0c2\nb\n", 1),  # a form feed is no separator (NumPy took it for one, gave b 2)
        ("a 1\x0c2\nb \x0c\n", 1),
        ("a 1e39\n", 1),  # overflows float32
        ("a\t1e39\n", 1),
        ("a 1_0\n", 1),  # Python's float() reads 10; no GloVe file means that
        ("a \u0661\n", 1),  # Arabic-Indic one
        ("1 \u00b2\na 1\n", 1),  # a superscript two is not a dimension
        ("1 " + "9" * 5000 + "\na 1\n", 1),  # nor a 5,000-digit one
        ("a " + "1" * 300 + "x\n", 1),
        ("a\n", 1),
        ("a 1 2\nb 1\n", 2),
    ],
    ids=["formfeed", "formfeed-alone", "overflow", "overflow-tab", "underscore", "arabic-digit",
         "superscript-header", "huge-header", "long-field", "no-vector", "ragged"],
)
def test_found_by_fuzzing(folder, text, line, parser):
    path = folder / "found.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(VectorsFormatError) as caught:
        load_with(path, parser)
    assert caught.value.line == line
    assert_clear(caught.value, path)


def test_lone_carriage_returns_end_lines_in_every_parser(folder):
    path = folder / "mac.txt"
    path.write_bytes(b"a 1 2\rb 3 4\r")
    for parser in PARSERS:
        words, matrix = load_with(path, parser)
        assert words == ["a", "b"] and matrix.tolist() == [[1, 2], [3, 4]]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "é"]),
                          st.lists(st.integers(-9, 9), min_size=2, max_size=2)),
                min_size=1, max_size=10),
       st.sampled_from(PARSERS))
def test_duplicate_words_keep_the_first_vector(folder, rows, parser):
    path = folder / "duplicates.txt"
    path.write_text("".join(f"{word} {x} {y}\n" for word, (x, y) in rows), encoding="utf-8")
    words, matrix = load_with(path, parser)
    first = {}
    for word, values in rows:
        first.setdefault(word, values)
    assert words == list(first)
    assert matrix.tolist() == [first[word] for word in words]


# --- encodings, huge input, devices ----------------------------------------------------------


@FUZZ
@given(st.lists(st.tuples(st.text(alphabet="aé中ßØ€", min_size=1, max_size=4),
                          st.integers(-5, 5)), min_size=1, max_size=4),
       st.sampled_from(["latin-1", "cp1252", "utf-16", "utf-32", "shift_jis"]))
def test_wrong_encodings(folder, rows, encoding):
    path = folder / "encoded.txt"
    path.write_bytes("".join(f"{word} {value}\n" for word, value in rows)
                     .encode(encoding, errors="replace"))
    load_or_error(path)


@pytest.mark.parametrize(
    "data",
    [
        b"x" * 3_000_000,  # a word without a vector
        b"a " + b"1" * 3_000_000 + b"x",  # a 3 MB non-number
        b"a " + b"1 " * 1_000_000 + b"1\nb 1\n",  # a million values, then a ragged row
        b"a " + b"1 " * 500_000 + b"\n",
        b"\xc3" * 2_000_000,
    ],
    ids=["word", "field", "ragged", "trailing-space", "broken-utf8"],
)
def test_huge_lines_load_fast_with_short_errors(folder, data):
    path = folder / "huge.txt"
    path.write_bytes(data)
    started = time.perf_counter()
    load_or_error(path)
    assert time.perf_counter() - started < 10


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_load_vectors_refuses_devices():
    for spec in ("/dev/zero", "/dev/null"):
        with pytest.raises(FileNotFoundError, match="no vectors file"):
            load_vectors(spec)


def test_load_glove_text_refuses_devices():
    if not os.path.exists("/dev/zero"):
        pytest.skip("needs /dev/zero")
    with pytest.raises(VectorsFormatError, match="character device"):
        load_glove_text("/dev/zero")
