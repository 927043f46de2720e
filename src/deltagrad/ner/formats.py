"""What ``deltagrad ner predict`` reads and writes: plain text, lines, JSON lines and CoNLL in;
JSON lines, CoNLL and inline-marked text out."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO

from deltagrad.ner.conll import (
    DOCSTART,
    FileFormatError,
    check_tag,
    gunzip,
    read_file_bytes,
)
from deltagrad.ner.model_dir import LoadedModel
from deltagrad.ner.predict import Document, Tagged, iter_tagged

__all__ = ["INPUT_FORMATS", "OUTPUT_FORMATS", "InputError", "PredictStats", "check_text",
           "guess_input_format", "read_documents", "run_predict", "write_tagged"]

INPUT_FORMATS = ("text", "lines", "jsonl", "conll")
OUTPUT_FORMATS = ("jsonl", "conll", "inline")
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".conll": "conll", ".iob": "conll",
             ".bio": "conll", ".tsv": "conll"}


class InputError(FileFormatError):
    """An input that cannot be read; the message is ``"{file}:{line}: {what}"``."""


def check_text(text: str) -> str | None:
    """Says why ``text`` cannot be tagged and printed (a lone surrogate, which no UTF-8 text
    holds: JSON's ``"\\ud800"`` escape makes one), or returns None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return (f"not valid Unicode text: a lone surrogate U+{ord(text[error.start]):04X} at "
                f"character {error.start}")
    return None


def guess_input_format(path: str) -> str:
    """The input format a file name suggests: ``.jsonl`` JSON lines, ``.conll`` / ``.iob`` /
    ``.bio`` / ``.tsv`` CoNLL, anything else plain text (``.gz`` is looked through)."""
    name = path[:-3] if path.endswith(".gz") else path
    return _SUFFIXES.get(os.path.splitext(name)[1].lower(), "text")


def _lines_of(data: bytes, source_name: str) -> list[str]:
    """UTF-8 (maybe gzip-compressed, bounded) bytes as lines."""
    data = gunzip(data, source_name, InputError)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(source_name, line, f"not valid UTF-8 ({error.reason})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def read_documents(source: str | IO[bytes], input_format: str,
                   source_name: str | None = None) -> Iterator[Document]:
    """The documents of an input.

    Formats: ``text``, one document per paragraph (paragraphs are separated by blank lines;
    a paragraph's lines stay in its text); ``lines``, one document per non-blank line;
    ``jsonl``, one JSON object per line with a string ``text`` (and optionally an ``id``,
    carried to the output); ``conll``, one token per line (first column), sentences separated
    by blank lines, one document per sentence, with the last column kept as the gold tag when
    every line has a valid one.

    Args:
        source: a file path, or a binary stream (standard input).
        input_format: one of ``INPUT_FORMATS``.
        source_name: the name used in error messages (default: the path, or ``<stdin>``).

    Raises:
        InputError: with ``file:line`` for input that cannot be read.
        OSError: the path cannot be opened.
    """
    if input_format not in INPUT_FORMATS:
        raise ValueError(f"unknown input format {input_format!r}: use one of "
                         f"{', '.join(INPUT_FORMATS)}")
    if isinstance(source, (str, os.PathLike)):
        name = source_name or os.fspath(source)
        data = read_file_bytes(source, name, InputError, "a text, JSON lines or CoNLL file")
    else:
        name = source_name or "<stdin>"
        data = source.read()
    lines = _lines_of(data, name)
    readers: dict[str, Callable] = {"text": _paragraphs, "lines": _single_lines,
                                    "jsonl": _json_lines, "conll": _conll_sentences}
    return readers[input_format](lines, name)


def _checked(text: str, name: str, line: int) -> str:
    problem = check_text(text)
    if problem is not None:
        raise InputError(name, line, problem)
    return text


def _paragraphs(lines: list[str], name: str) -> Iterator[Document]:
    paragraph: list[str] = []
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip():
            paragraph.append(line)
        elif paragraph:
            yield Document.from_text(_checked("\n".join(paragraph), name, number - 1))
            paragraph = []


def _single_lines(lines: list[str], name: str) -> Iterator[Document]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield Document.from_text(_checked(line, name, number))


def _json_lines(lines: list[str], name: str) -> Iterator[Document]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as error:
            raise InputError(name, number, f"not valid JSON ({error})") from None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise InputError(name, number, 'expected a JSON object with a string "text" field')
        yield Document.from_text(_checked(item["text"], name, number), id=item.get("id"))


def _conll_sentences(lines: list[str], name: str) -> Iterator[Document]:
    rows: list[tuple[int, list[str]]] = []
    for number, line in enumerate([*lines, ""], start=1):
        columns = line.split()
        if columns and columns[0] != DOCSTART:
            _checked(line, name, number)
            rows.append((number, columns))
        elif rows:
            tokens = [columns[0] for _, columns in rows]
            tagged = all(len(c) >= 2 and check_tag(c[-1]) is None for _, c in rows)
            yield Document.from_tokens(tokens, [c[-1] for _, c in rows] if tagged else None)
            rows = []


# ---------------------------------------------------------------------------------- output


def inline(document: Document, tagged: Tagged) -> str:
    """The text with each entity marked ``[text](TYPE)``.

    >>> from deltagrad.ner.predict import Tagged
    >>> document = Document.from_text("EU rejects German call")
    >>> inline(document, Tagged(["B-ORG", "O", "B-MISC", "O"], [
    ...     {"type": "ORG", "start_char": 0, "end_char": 2},
    ...     {"type": "MISC", "start_char": 11, "end_char": 17}]))
    '[EU](ORG) rejects [German](MISC) call'
    """
    pieces, position = [], 0
    for entity in tagged.entities:
        start, end = entity["start_char"], entity["end_char"]
        pieces += [document.text[position:start], "[", document.text[start:end],
                   f"]({entity['type']})"]
        position = end
    pieces.append(document.text[position:])
    return "".join(pieces)


def conll_lines(document: Document, tagged: Tagged) -> list[str]:
    """``token tag`` lines (``token gold tag`` when the input had gold tags, conlleval's
    columns), a blank line after each sentence."""
    lines, first = [], 0
    for length in document.sentence_lengths:
        for i in range(first, first + length):
            gold = f" {document.gold[i]}" if document.gold is not None else ""
            lines.append(f"{document.tokens[i]}{gold} {tagged.tags[i]}")
        lines.append("")
        first += length
    return lines


def write_tagged(document: Document, tagged: Tagged, output_format: str, out: IO[str],
                 separator: str = "\n") -> None:
    """Write one tagged document in ``output_format`` (see ``OUTPUT_FORMATS``)."""
    if output_format == "jsonl":
        out.write(json.dumps(tagged.record(document), ensure_ascii=False) + "\n")
    elif output_format == "conll":
        out.write("\n".join(conll_lines(document, tagged)) + "\n")
    elif output_format == "inline":
        out.write(inline(document, tagged) + separator)
    else:
        raise ValueError(f"unknown output format {output_format!r}: use one of "
                         f"{', '.join(OUTPUT_FORMATS)}")


@dataclass
class PredictStats:
    """What a ``predict`` run did, and how fast."""

    documents: int = 0
    sentences: int = 0
    tokens: int = 0
    entities: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        return (f"{self.documents:,} documents, {self.sentences:,} sentences, "
                f"{self.tokens:,} tokens, {self.entities:,} entities in {self.seconds:.2f} s: "
                f"{self.tokens_per_second:,.0f} tokens/s")


def run_predict(loaded: LoadedModel, documents: Iterable[Document], output_format: str,
                out: IO[str] = sys.stdout, batch_tokens: int = 50_000,
                separator: str = "\n") -> PredictStats:
    """Tag ``documents`` in batches and write each as soon as its batch is done.

    Args:
        loaded: the model.
        documents: the documents (read lazily).
        output_format: one of ``OUTPUT_FORMATS``.
        out: where to write.
        batch_tokens: tokens per batch (memory grows with it; speed up to about 10,000).
        separator: what follows each document in the inline format.

    Returns:
        The run's counts and time (reading, tokenising, tagging and writing).
    """
    if output_format not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {output_format!r}: use one of "
                         f"{', '.join(OUTPUT_FORMATS)}")
    stats = PredictStats()
    started = time.perf_counter()
    for document, tagged in iter_tagged(loaded, documents, batch_tokens=batch_tokens):
        write_tagged(document, tagged, output_format, out, separator)
        stats.documents += 1
        stats.sentences += len(document.sentence_lengths)
        stats.tokens += len(document.tokens)
        stats.entities += len(tagged.entities)
    stats.seconds = time.perf_counter() - started
    return stats
