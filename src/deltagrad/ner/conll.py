"""Reading and writing CoNLL-format NER files (token per line, NER tag last, IOB2 on output)."""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import reprlib
import stat
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import IO

__all__ = [
    "ConllFormatError",
    "FileFormatError",
    "Sentence",
    "check_tag",
    "load_default",
    "load_sentences",
    "read_conll",
    "sentences_from_pairs",
    "to_iob2",
    "write_conll",
]

DOCSTART = "-DOCSTART-"
DEFAULT_SPLITS = ("train", "dev")

_TAG_PATTERN = re.compile(r"O|[BI]-\S+")
_GZIP_MAGIC = b"\x1f\x8b"
_UNICODE_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_SHOWN = 60  # characters of a line or tag quoted in an error message
# A gzip file is decompressed into memory: this bounds what a small file (a "gzip bomb"
# expands 1,000-fold) can make us allocate. CoNLL-2003's train split is 3.3 MB.
GZIP_LIMIT = 1 << 30


class FileFormatError(ValueError):
    """An input file that cannot be read, at a place in it.

    The message is ``"{file}:{line}: {what}"``; the three parts are also kept as attributes.
    """

    def __init__(self, file: str, line: int, what: str) -> None:
        super().__init__(f"{file}:{line}: {what}")
        self.file = file
        self.line = line
        self.what = what

    def __reduce__(self):
        return type(self), (self.file, self.line, self.what)


class ConllFormatError(FileFormatError):
    """A CoNLL file (or tagged-token input) that cannot be read."""


@dataclass
class Sentence:
    """One sentence: its tokens and their IOB2 NER tags (same length).

    ``document`` numbers the file's ``-DOCSTART-`` documents from 0 (document-level features
    use it); it takes no part in equality or repr.
    """

    words: list[str]
    tags: list[str]
    document: int = field(default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.words) != len(self.tags):
            raise ValueError(
                f"a sentence needs one tag per word: got {len(self.words)} words "
                f"and {len(self.tags)} tags"
            )

    def __len__(self) -> int:
        return len(self.words)


def check_tag(tag: str) -> str | None:
    """Says what is wrong with an NER tag, or returns None when it is a valid IOB tag.

    Valid tags are ``O`` and ``B-TYPE`` / ``I-TYPE`` (IOB1 or IOB2); IOBES tags are rejected.

    Args:
        tag: the tag as written in the file.

    Returns:
        None for a valid tag, else a sentence describing the problem.

    >>> check_tag("B-PER") is None
    True
    >>> print(check_tag("B_PER"))
    invalid NER tag 'B_PER': expected 'O', 'B-TYPE' or 'I-TYPE'
    """
    if _TAG_PATTERN.fullmatch(tag):
        return None
    if re.fullmatch(r"[ESLU]-\S+", tag):
        return (
            f"invalid NER tag {_quoted(tag)}: IOBES/BILOU tags (E-, S-, L-, U-) are not "
            "supported; expected 'O', 'B-TYPE' or 'I-TYPE'"
        )
    return f"invalid NER tag {_quoted(tag)}: expected 'O', 'B-TYPE' or 'I-TYPE'"


def _quoted(text: str) -> str:
    """repr() of a token, tag or line, cut short: an error about a 5 MB line stays short."""
    if len(text) <= _SHOWN:
        return repr(text)
    return f"{text[:_SHOWN]!r}... ({len(text):,} characters)"


def to_iob2(tags: Sequence[str]) -> list[str]:
    """Rewrites IOB1 (or ill-formed IOB2) tags as IOB2: every entity starts with ``B-``.

    An ``I-X`` that does not continue an entity of type X (it follows ``O``, a tag of another
    type, or starts the sentence) starts a new entity and becomes ``B-X``. This is how IOB1 is
    defined and how conlleval reads ``I-X`` after ``O``, so the entities are unchanged.

    Args:
        tags: valid IOB tags of one sentence.

    Returns:
        A new list of IOB2 tags, same length.

    >>> to_iob2(["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"])
    ['B-PER', 'I-PER', 'O', 'B-LOC', 'B-LOC', 'B-ORG']
    """
    out = list(tags)
    previous_type = None
    for position, tag in enumerate(out):
        if tag == "O":
            previous_type = None
            continue
        entity_type = tag[2:]
        if tag[0] == "I" and entity_type != previous_type:
            out[position] = "B-" + entity_type
        previous_type = entity_type
    return out


def _parse_lines(lines: Iterable[str], source_name: str) -> list[Sentence]:
    """Parses decoded lines (without line terminators) into IOB2 sentences."""
    sentences: list[Sentence] = []
    words: list[str] = []
    tags: list[str] = []
    checked_tags: set[str] = set()
    line_number = 0
    document = 0
    for line_number, line in enumerate(lines, start=1):
        if not line or line.isspace():
            columns = None
        else:
            if "\t" in line:
                line = line.replace("\t", " ")
            columns = line.split(" ")
            if "" in columns:
                columns = [column for column in columns if column]
        if columns is None or columns[0] == DOCSTART:
            if words:
                sentences.append(Sentence(words, _normalised_or_same(tags), document))
                words, tags = [], []
            if columns is not None and sentences and sentences[-1].document == document:
                document += 1  # a -DOCSTART- after some sentences opens the next document
            continue
        if len(columns) < 2:
            raise ConllFormatError(
                source_name,
                line_number,
                f"expected at least 2 columns (token ... tag), got 1: {_quoted(line.strip())}",
            )
        tag = columns[-1]
        if tag not in checked_tags:
            problem = check_tag(tag)
            if problem is not None:
                raise ConllFormatError(source_name, line_number, problem)
            checked_tags.add(tag)
        words.append(columns[0])
        tags.append(tag)
    if words:
        sentences.append(Sentence(words, _normalised_or_same(tags), document))
    if not sentences:
        raise ConllFormatError(source_name, max(line_number, 1), "no sentences found (empty file?)")
    return sentences


def _normalised_or_same(tags: list[str]) -> list[str]:
    # IOB2 input (the common case) needs no copy: check first, rewrite only when needed.
    previous = "O"
    for tag in tags:
        if tag[0] == "I" and (previous == "O" or previous[2:] != tag[2:]):
            return to_iob2(tags)
        previous = tag
    return tags


def gunzip(data: bytes, source_name: str, error: type[FileFormatError] = ConllFormatError,
           limit: int | None = None) -> bytes:
    """``data`` decompressed when it is gzip (by its magic bytes), else unchanged.

    Decompresses at most ``limit`` bytes (default ``GZIP_LIMIT``); shared by the CoNLL,
    vectors and predict readers.

    Raises:
        error: corrupt or truncated gzip data, or more than ``limit`` bytes once decompressed.
    """
    if not data.startswith(_GZIP_MAGIC):
        return data
    limit = GZIP_LIMIT if limit is None else limit
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(limit + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise error(source_name, 1, f"corrupt gzip data ({exc})") from None
    if len(out) > limit:
        raise error(source_name, 1, f"gzip data decompresses to more than {limit:,} bytes (the "
                    "limit for a compressed input); decompress it first if it is really that "
                    "large")
    return out


def _decode(data: bytes, source_name: str) -> list[str]:
    """Gunzips (when gzip, bounded) and decodes UTF-8 bytes into lines without terminators."""
    data = gunzip(data, source_name)
    for bom, encoding in _UNICODE_BOMS:
        if data.startswith(bom):
            raise ConllFormatError(
                source_name,
                1,
                f"the file is {encoding} text (it starts with a {encoding} "
                "byte-order mark); CoNLL files are read as UTF-8: convert it",
            )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise ConllFormatError(
            source_name,
            line,
            f"not valid UTF-8 (byte 0x{bad} at column {column}: {exc.reason}); "
            "is this a binary file?",
        ) from None
    return _split_lines(text, source_name)


def _split_lines(text: str, source_name: str) -> list[str]:
    """Splits text into lines; refuses NUL characters, which no text file holds."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if "\x00" in text:
        line_number, line = next((n, line) for n, line in enumerate(lines, 1) if "\x00" in line)
        raise ConllFormatError(
            source_name,
            line_number,
            f"NUL character at column {line.index(chr(0)) + 1}: a binary file, or UTF-16/UTF-32 "
            "text? CoNLL files are read as UTF-8",
        )
    return lines


def _read_stream(stream: IO[str] | IO[bytes], source_name: str) -> list[str]:
    """Reads a text or binary stream; text streams are decoded by their own encoding."""
    if not isinstance(stream, io.TextIOBase):
        try:
            content = stream.read(GZIP_LIMIT + 1)  # a gzip.open() stream is bounded here too
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise ConllFormatError(source_name, 1, f"corrupt gzip data ({exc})") from None
        if len(content) > GZIP_LIMIT:
            raise ConllFormatError(source_name, 1, f"more than {GZIP_LIMIT:,} bytes from a "
                                   "binary stream (the limit); give the file's path instead")
        if isinstance(content, bytes):
            return _decode(content, source_name)
        return _split_lines(content.removeprefix("\ufeff"), source_name)
    # Iterate so that a decoding error can name (about) the line where it happened.
    chunks: list[str] = []
    try:
        for line in stream:
            chunks.append(line)
    except UnicodeDecodeError as exc:
        raise ConllFormatError(
            source_name,
            len(chunks) + 1,
            f"cannot decode the text stream at or after this line ({exc.reason})",
        ) from None
    # A BOM is allowed whatever the input: a UTF-8 file opened as text keeps it as U+FEFF.
    return _split_lines("".join(chunks).removeprefix("\ufeff"), source_name)


def read_file_bytes(path: str | os.PathLike[str], source_name: str,
                    error: type[FileFormatError], expected: str) -> bytes:
    """The bytes of a file; refuses devices such as /dev/zero, which never end, with
    ``error`` naming the ``expected`` kind of file (shared by the CoNLL and vectors readers)."""
    with open(path, "rb") as stream:
        if stat.S_ISCHR(os.fstat(stream.fileno()).st_mode) and not stream.isatty():
            raise error(source_name, 1,
                        f"not a regular file but a character device; give {expected}")
        return stream.read()


def read_conll(
    path_or_file: str | os.PathLike[str] | IO[str] | IO[bytes],
    *,
    source_name: str | None = None,
) -> list[Sentence]:
    """Reads a CoNLL-format NER file into sentences with IOB2 tags.

    Format: one token per line, columns separated by spaces or tabs, the token in the first
    column and the NER tag in the last (so both ``word POS chunk NER`` and ``word NER`` work).
    Blank or whitespace-only lines and ``-DOCSTART-`` lines end a sentence; ``-DOCSTART-``
    lines are dropped, and the sentences after one get the next ``Sentence.document``.
    Tags may be IOB1 or IOB2 and come back as IOB2 (see :func:`to_iob2`).
    Files are UTF-8 (a BOM is allowed) without NUL characters; gzip-compressed files are
    recognised by their magic bytes, whatever their name.

    Args:
        path_or_file: a path, a binary stream, or a text stream (decoded by its own encoding).
        source_name: the file name used in error messages; defaults to the path or the
            stream's ``name``.

    Returns:
        The sentences, in file order (at least one).

    Raises:
        ConllFormatError: with ``file:line`` for malformed, undecodable or empty input, and
            for a character device (``/dev/zero`` would be read forever).
        OSError: the path cannot be opened (missing, a directory, no permission).
    """
    if isinstance(path_or_file, (str, os.PathLike)):
        name = source_name if source_name is not None else os.fspath(path_or_file)
        lines = _decode(read_file_bytes(path_or_file, name, ConllFormatError, "a CoNLL file"),
                        name)
    else:
        name = (
            source_name
            if source_name is not None
            else str(getattr(path_or_file, "name", "<stream>"))
        )
        lines = _read_stream(path_or_file, name)
    return _parse_lines(lines, name)


def load_default(split: str) -> list[Sentence]:
    """Reads a CoNLL-2003 English split that ships inside the package.

    Args:
        split: ``"train"`` (14,041 sentences) or ``"dev"`` (3,250 sentences). The test split is
            not shipped; pass its path to :func:`read_conll` instead.

    Returns:
        The sentences with IOB2 tags.
    """
    if split not in DEFAULT_SPLITS:
        raise ValueError(
            f"unknown split {split!r}: the package ships {', '.join(DEFAULT_SPLITS)} "
            "(the test split is not shipped; read it with read_conll(path))"
        )
    file_name = f"{split}.txt.gz"
    resource = resources.files("deltagrad.ner") / "data" / file_name
    return read_conll(io.BytesIO(resource.read_bytes()), source_name=file_name)


def load_sentences(path: str | None, split: str) -> list[Sentence]:
    """A CoNLL file, or the embedded CoNLL-2003 ``split`` when ``path`` is None."""
    return load_default(split) if path is None else read_conll(path)


def sentences_from_pairs(
    tagged_sentences: Iterable[Iterable[tuple[str, str]]],
    *,
    source_name: str = "<pairs>",
) -> list[Sentence]:
    """Builds sentences from ``(token, tag)`` pairs, checked and normalised like a file.

    Error line numbers are those the input would have once written by :func:`write_conll`
    (one line per token, one blank line after each sentence). Empty sentences are skipped.

    Args:
        tagged_sentences: for each sentence, its ``(token, tag)`` pairs.
        source_name: the name used in error messages.

    Returns:
        The sentences with IOB2 tags.

    >>> sentences_from_pairs([[("EU", "I-ORG"), ("rejects", "O")]])
    [Sentence(words=['EU', 'rejects'], tags=['B-ORG', 'O'])]
    """
    lines: list[str] = []
    for pairs in tagged_sentences:
        for pair in pairs:
            line_number = len(lines) + 1
            try:
                token, tag = pair
            except (TypeError, ValueError):
                raise ConllFormatError(
                    source_name,
                    line_number,
                    f"expected a (token, tag) pair, got {reprlib.repr(pair)}",
                ) from None
            problem = _token_problem(token) or _token_problem(tag, what="tag")
            if problem is None and token == DOCSTART:
                problem = _DOCSTART_PROBLEM
            if problem is not None:
                raise ConllFormatError(source_name, line_number, problem)
            lines.append(f"{token} {tag}")
        lines.append("")
    return _parse_lines(lines, source_name)


_DOCSTART_PROBLEM = f"the token {DOCSTART!r} cannot be written: it marks a document boundary"


def _token_problem(text: object, what: str = "token") -> str | None:
    if not isinstance(text, str):
        return f"{what} must be a string, got {type(text).__name__}: {reprlib.repr(text)}"
    if not text or text.isspace():
        return f"empty {what}: {_quoted(text)}"
    if any(separator in text for separator in (" ", "\t", "\n", "\r")):
        return f"{what} contains a space, tab or line break: {_quoted(text)}"
    if "\x00" in text:
        return f"{what} contains a NUL character: {_quoted(text)}"
    return None


def write_conll(sentences: Iterable[Sentence], path: str | os.PathLike[str] | IO[str]) -> None:
    """Writes sentences as a two-column ``token tag`` CoNLL file, a blank line after each.

    A ``-DOCSTART-`` line goes before each sentence whose ``document`` differs from the
    previous sentence's (the first sentence's from 0).

    The file is UTF-8 with ``\\n`` line endings, gzip-compressed when the path ends in ``.gz``;
    it starts with a BOM only when the first token starts with U+FEFF (which a reader would
    otherwise take for one). :func:`read_conll` reads it back to equal sentences (IOB2 tags
    unchanged).

    Args:
        sentences: the sentences to write (tags must be valid IOB tags).
        path: a file path, or a text stream to write to.

    Raises:
        ValueError: a token or tag that cannot be written (empty, contains whitespace or a
            NUL, or ``-DOCSTART-``, which marks a document boundary) or an invalid tag.
    """
    chunks: list[str] = []
    document = 0
    for sentence_number, sentence in enumerate(sentences, start=1):
        if sentence.document != document:  # keep document boundaries for reading back
            chunks.append(f"{DOCSTART} O\n\n")
            document = sentence.document
        for position, (token, tag) in enumerate(zip(sentence.words, sentence.tags, strict=True)):
            problem = _token_problem(token) or check_tag(tag)
            if problem is None and token == DOCSTART:
                problem = _DOCSTART_PROBLEM
            if problem is not None:
                raise ValueError(f"sentence {sentence_number}, token {position + 1}: {problem}")
            chunks.append(f"{token} {tag}\n")
        chunks.append("\n")
    text = "".join(chunks)
    if text.startswith("\ufeff"):
        text = "\ufeff" + text  # the reader drops one leading U+FEFF as a BOM
    if not isinstance(path, (str, os.PathLike)):
        path.write(text)
    elif os.fspath(path).endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
    else:
        Path(path).write_text(text, encoding="utf-8", newline="\n")
