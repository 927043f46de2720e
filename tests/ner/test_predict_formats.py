"""`deltagrad ner predict`: character offsets, confidences, the input formats (arguments, stdin,
plain-text paragraphs, JSON lines, CoNLL), the output formats (jsonl, conll, inline), batching."""

import io
import json
import sys

import pytest

from deltagrad.cli import main
from deltagrad.ner.formats import read_documents
from deltagrad.ner.predict import (
    Document,
    split_sentences,
    tag_documents,
    tokenize,
    tokenize_with_offsets,
)

TEXT = "EU rejects German call to boycott British lamb. Peter Blackburn visited Paris."


def run(args, capsys, stdin: bytes | None = None, monkeypatch=None):
    capsys.readouterr()
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(["ner", "predict", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_offsets_index_the_original_text():
    text = "  The U.N.'s  envoy met\tO'Neill in São Paulo (Brazil) on 12.5.1996!  "
    found = tokenize_with_offsets(text)
    assert [t for t, _, _ in found] == tokenize(text)
    assert all(text[start:end] == token for token, start, end in found)
    assert [t for t, _, _ in found][:4] == ["The", "U.N.", "'", "s"]
    assert "O'Neill" in tokenize(text) and "12.5.1996" in tokenize(text)
    assert split_sentences(tokenize("A b. C d! E? F")) == [3, 3, 2, 1]
    document = Document.from_text("Hi there. Bye")
    assert document.sentence_lengths == [3, 1]


def test_jsonl_records(tiny_model_dir, tiny_model, capsys):
    code, out, _ = run(["--model", str(tiny_model_dir), "--format", "jsonl", TEXT, "Paris"],
                       capsys)
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == 2 and records[0]["text"] == TEXT
    expected = tag_documents(tiny_model, [Document.from_text(TEXT)])[0]
    assert records[0]["tags"] == expected.tags and records[0]["entities"] == expected.entities
    for entity in records[0]["entities"]:
        assert set(entity) == {"type", "text", "start", "end", "start_char", "end_char",
                               "confidence"}
        assert TEXT[entity["start_char"]:entity["end_char"]] == entity["text"]
        assert 0 < entity["confidence"] <= 1
    code, legacy, _ = run(["--model", str(tiny_model_dir), "--json", TEXT, "Paris"], capsys)
    assert legacy == out  # --json is --format jsonl


def test_inline_and_conll_outputs(tiny_model_dir, tiny_model, capsys):
    tagged = tag_documents(tiny_model, [Document.from_text(TEXT)])[0]
    code, out, _ = run(["--model", str(tiny_model_dir), TEXT], capsys)  # inline: the default
    assert code == 0
    expected = TEXT
    for entity in reversed(tagged.entities):
        expected = (expected[:entity["start_char"]] + f"[{entity['text']}]({entity['type']})"
                    + expected[entity["end_char"]:])
    assert out == expected + "\n"
    code, out, _ = run(["--model", str(tiny_model_dir), "--format", "conll", TEXT], capsys)
    sentences = out.strip("\n").split("\n\n")
    assert len(sentences) == 2  # cut after "lamb ."
    lines = out.split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in lines] == tokenize(TEXT)[:9]
    assert [line.split()[1] for line in lines] == tagged.tags[:9]


def test_input_files(tiny_model_dir, tmp_path, capsys):
    paragraphs = tmp_path / "news.txt"
    paragraphs.write_text("EU rejects German call.\nIt says Paris agrees.\n\n\n"
                          "Peter Blackburn spoke.\n", encoding="utf-8")
    code, out, _ = run(["--model", str(tiny_model_dir), "--input", str(paragraphs),
                        "--format", "jsonl"], capsys)
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["text"] for r in records] == [
        "EU rejects German call.\nIt says Paris agrees.", "Peter Blackburn spoke."]
    code, out, _ = run(["--model", str(tiny_model_dir), "--input", str(paragraphs)], capsys)
    assert out.count("\n\n") == 2  # inline paragraphs stay paragraphs

    lines = tmp_path / "docs.jsonl"
    lines.write_text('{"id": "a1", "text": "Peter visited Paris"}\n\n{"text": ""}\n')
    code, out, _ = run(["--model", str(tiny_model_dir), "--input", str(lines),
                        "--format", "jsonl"], capsys)
    records = [json.loads(line) for line in out.splitlines()]
    assert [r.get("id") for r in records] == ["a1", None] and records[1]["tokens"] == []

    tagged = tmp_path / "gold.conll"
    tagged.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
                      "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n")
    code, out, _ = run(["--model", str(tiny_model_dir), "--input", str(tagged),
                        "--format", "conll"], capsys)
    blocks = [b.splitlines() for b in out.strip("\n").split("\n\n")]
    assert code == 0 and [[line.split()[:2] for line in b] for b in blocks] == [
        [["EU", "B-ORG"], ["rejects", "O"]], [["Peter", "B-PER"], ["Blackburn", "I-PER"]]]
    assert all(len(line.split()) == 3 for b in blocks for line in b)  # token gold predicted

    untagged = tmp_path / "tokens.iob"
    untagged.write_text("EU\nrejects\n\nParis\n")
    documents = list(read_documents(str(untagged), "conll"))
    assert [d.tokens for d in documents] == [["EU", "rejects"], ["Paris"]]
    assert documents[0].gold is None


def test_stdin(tiny_model_dir, capsys, monkeypatch):
    code, out, _ = run(["--model", str(tiny_model_dir), "--format", "jsonl"], capsys,
                       stdin=b"Peter visited Paris\n\nEU rejects it\n",
                       monkeypatch=monkeypatch)
    assert code == 0 and len(out.splitlines()) == 2  # one document per line
    code, out, _ = run(["--model", str(tiny_model_dir), "--input", "-", "--format", "jsonl"],
                       capsys, stdin=b"Peter visited\nParis\n\nEU rejects it\n",
                       monkeypatch=monkeypatch)
    assert [json.loads(line)["text"] for line in out.splitlines()] == [
        "Peter visited\nParis", "EU rejects it"]


def test_batches_do_not_change_results_and_speed_is_reported(tiny_model_dir, tmp_path,
                                                             capsys):
    from deltagrad.ner.conll import load_default

    lines = tmp_path / "dev.txt"
    lines.write_text("\n".join(" ".join(s.words) for s in load_default("dev")[:200]) + "\n")
    base = ["--model", str(tiny_model_dir), "--input", str(lines), "--input-format", "lines",
            "--format", "jsonl", "--stats"]
    code, whole, err = run(base, capsys)
    assert code == 0 and "tokens/s" in err and "200 documents" in err
    code, small, _ = run([*base, "--batch-tokens", "7"], capsys)
    # The same entities; confidences agree to their 4 printed decimals up to one unit (BLAS sums
    # a matrix product's terms in an order that depends on its shape, so float32 scores differ
    # in the last bits between batch sizes, which can move a rounding).
    whole, small = ([json.loads(line) for line in out.splitlines()] for out in (whole, small))
    assert [d["text"] for d in small] == [d["text"] for d in whole]
    for a, b in zip(whole, small, strict=True):
        assert ([{k: v for k, v in e.items() if k != "confidence"} for e in a["entities"]]
                == [{k: v for k, v in e.items() if k != "confidence"} for e in b["entities"]])
        assert [e["confidence"] for e in a["entities"]] == pytest.approx(
            [e["confidence"] for e in b["entities"]], abs=1.5e-4)


@pytest.mark.parametrize("content, message", [
    ('{"text": "ok"}\n{"txt": 1}\n', "docs.jsonl:2: expected a JSON object"),
    ('{"text": "ok"}\n{oops\n', "docs.jsonl:2: not valid JSON"),
    ('{"text": "\\ud800"}\n', "docs.jsonl:1: not valid Unicode text: a lone surrogate"),
])
def test_bad_input_is_one_clear_line(tiny_model_dir, tmp_path, capsys, content, message):
    path = tmp_path / "docs.jsonl"
    path.write_text(content)
    code, _, err = run(["--model", str(tiny_model_dir), "--input", str(path)], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_bad_arguments(tiny_model_dir, tmp_path, capsys):
    code, _, err = run(["--model", str(tiny_model_dir), "x", "--input", "f"], capsys)
    assert code == 2 and "not both" in err
    code, _, err = run(["--model", str(tiny_model_dir), "bad \udcff byte"], capsys)
    assert code == 2 and "lone surrogate" in err
    path = tmp_path / "binary.txt"
    path.write_bytes(b"ok\n\xff\xfe\n")
    code, _, err = run(["--model", str(tiny_model_dir), "--input", str(path)], capsys)
    assert code == 2 and "binary.txt:2: not valid UTF-8" in err
