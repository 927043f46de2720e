"""`deltagrad ner serve` on a real loopback server: the JSON API, its limits, bad input, Unicode,
concurrent clients, and a bounded load test (p50 / p99 latency and requests/s)."""

import http.client
import json
import os
import socket
import threading
import time

import numpy as np
import pytest

from deltagrad.cli import main
from deltagrad.ner.serve import MAX_TEXTS, make_server

MAX_BYTES = 64 * 1024


def running(loaded):
    server = make_server(loaded, "127.0.0.1", 0, max_bytes=MAX_BYTES)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def server(tiny_model):
    yield from running(tiny_model)


@pytest.fixture(scope="module")
def load_server(request):
    """The tiny model's server, or DELTAGRAD_NER_MODEL's (the README's figures: runs/ner)."""
    model_dir = os.environ.get("DELTAGRAD_NER_MODEL")
    if model_dir:
        from deltagrad.ner.model_dir import load_model

        yield from running(load_model(model_dir))
    else:
        yield from running(request.getfixturevalue("tiny_model"))


def call(server, method, path, body=None, headers=None, raw=None):
    """(status, parsed JSON or text, headers) of one request on a fresh connection."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=60)
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    connection.request(method, path, body=data, headers=headers or {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    kind = response.getheader("Content-Type", "")
    parsed = json.loads(payload) if kind.startswith("application/json") else payload.decode()
    return response.status, parsed, response


def raw_exchange(server, data: bytes) -> bytes:
    """Send raw bytes, return what the server answers before it closes (or 5 s pass)."""
    with socket.create_connection(server.server_address[:2], timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # nothing more: a server waiting for more sees the end
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def consistent(record):
    """Offsets index the text: every token and entity is the text's own slice."""
    text = record["text"]
    assert len(record["tokens"]) == len(record["offsets"]) == len(record["tags"])
    for token, (start, end) in zip(record["tokens"], record["offsets"]):
        assert text[start:end] == token
    for entity in record["entities"]:
        assert text[entity["start_char"]:entity["end_char"]] == entity["text"]
        assert record["offsets"][entity["start"]][0] == entity["start_char"]
        assert record["offsets"][entity["end"] - 1][1] == entity["end_char"]
        assert 0.0 <= entity["confidence"] <= 1.0


def test_health_model_and_page(server, tiny_model):
    assert call(server, "GET", "/health")[:2] == (200, {"status": "ok"})
    status, info, _ = call(server, "GET", "/model")
    assert status == 200
    assert info["tags"] == list(tiny_model.features.tagset.tags)
    assert info["vocab_size"] == len(tiny_model.features.vocab)
    assert info["config"]["hidden"] == 48 and info["window"] == 2
    status, page, response = call(server, "GET", "/")
    assert status == 200 and "<textarea" in page and "/static/app.js" in page
    assert "default-src 'self'" in response.getheader("Content-Security-Policy")
    for name in ("app.js", "style.css"):
        assert call(server, "GET", f"/static/{name}")[0] == 200
    assert "cdn" not in page.lower() and "http://" not in page and "https://" not in page
    assert call(server, "GET", "/static/../serve.py")[0] == 404
    assert call(server, "GET", "/nope")[0] == 404


def test_predict_answers_what_the_cli_prints(server, tiny_model_dir, capsys):
    text = "EU rejects German call to boycott British lamb. Peter Blackburn visited Paris."
    status, record, _ = call(server, "POST", "/predict", {"text": text})
    assert status == 200
    consistent(record)
    capsys.readouterr()
    assert main(["ner", "predict", "--model", str(tiny_model_dir), "--format", "jsonl",
                 text]) == 0
    assert json.loads(capsys.readouterr().out) == record
    status, many, _ = call(server, "POST", "/predict", {"texts": [text, "", "Paris"]})
    assert status == 200 and many["results"][0] == record
    assert many["results"][1]["tokens"] == [] and many["results"][1]["entities"] == []


@pytest.mark.parametrize("body, message", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b'{"txt": "x"}', 'unknown field "txt"'),
    (b'{"text": "a", "texts": ["b"]}', "exactly one of"),
    (b"{}", "exactly one of"),
    (b'{"text": 5}', '"text" must be a string'),
    (b'{"texts": "abc"}', "must be a list of strings"),
    (b'{"texts": ["ok", null]}', '"texts"[1] must be a string'),
    (b'{"text": "bad \\ud800 surrogate"}', "lone surrogate"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[" * 50_000, "not valid JSON"),
])
def test_bad_requests_get_400_with_a_message(server, body, message):
    status, answer, _ = call(server, "POST", "/predict", raw=body)
    assert status == 400 and message in answer["error"]


@pytest.mark.parametrize("body, message", [
    ({"text": "Paris", "token": 3}, "out of range"),
    ({"text": "Paris", "token": True}, "must be an integer"),
    ({"text": "Paris"}, 'give "text" and "token"'),
    ({"text": "Paris", "token": 0, "extra": 1}, 'unknown field "extra"'),
])
def test_bad_explain_requests(server, body, message):
    status, answer, _ = call(server, "POST", "/explain", body)
    assert status == 400 and message in answer["error"]


def test_limits(server):
    big = json.dumps({"text": "a " * MAX_BYTES}).encode()
    status, answer, _ = call(server, "POST", "/predict", raw=big)
    assert status == 413 and "limit" in answer["error"]
    status, answer, _ = call(server, "POST", "/predict", {"texts": ["a"] * (MAX_TEXTS + 1)})
    assert status == 413
    # No Content-Length, chunked bodies, a truncated body, garbage: answered, never a crash.
    reply = raw_exchange(server, b"POST /predict HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 411")
    reply = raw_exchange(server, b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                 b"chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 411")
    reply = raw_exchange(server, b"POST /predict HTTP/1.1\r\nContent-Length: 100\r\n\r\n{")
    assert reply.startswith(b"HTTP/1.1 400") and b"ended early" in reply
    assert b"400" in raw_exchange(server, b"\x00\xff garbage \r\n\r\n")  # (HTTP/0.9 style)
    assert raw_exchange(server, b"POST /predict HTTP/1.1\r\nContent-Length: -5\r\n\r\n"
                        ).startswith(b"HTTP/1.1 400")
    assert call(server, "GET", "/health")[0] == 200  # still serving


UNICODE_TEXTS = {
    "emoji": "👩🏽‍💻 Peter Blackburn flew to Paris 🇫🇷 on Monday ✈️.",
    "combining marks": "Jose\u0301 Marti\u0301 visited Zu\u0308rich and Montre\u0301al .",
    "right-to-left": "\u200fשלום עולם\u200f from Tel Aviv ; مرحبا بالعالم in Cairo .",
    "long token": "A" * 10_000 + " visited Paris .",
    "empty": "",
    "only spaces": "   \n\t ",
    "control characters": "EU\x00rejects\x07 German\u2028call",
}


@pytest.mark.parametrize("name", list(UNICODE_TEXTS))
def test_unicode(server, name):
    text = UNICODE_TEXTS[name]
    status, record, _ = call(server, "POST", "/predict", {"text": text})
    assert status == 200
    assert record["text"] == text
    consistent(record)
    if name == "emoji":
        assert "👩🏽‍💻" in record["tokens"] and "🇫🇷" in record["tokens"]
    if name == "combining marks":
        assert "Jose\u0301" in record["tokens"] and "Zu\u0308rich" in record["tokens"]
    if name == "right-to-left":
        assert "\u200f" not in "".join(record["tokens"]) and "שלום" in record["tokens"]
    if name == "long token":
        assert record["tokens"][0] == "A" * 10_000
    if name in ("empty", "only spaces"):
        assert record["tokens"] == [] and record["entities"] == []
    if record["tokens"]:
        token = len(record["tokens"]) - 1
        status, answer, _ = call(server, "POST", "/explain", {"text": text, "token": token})
        assert status == 200 and answer["word"] == record["tokens"][token]


def test_concurrent_clients_get_the_serial_answers(server):
    texts = [f"Peter Blackburn {i} visited Paris and met the EU in Brussels ." for i in range(6)]
    expected = [call(server, "POST", "/predict", {"text": t})[1] for t in texts]
    explained = call(server, "POST", "/explain", {"text": texts[0], "token": 4})[1]
    failures = []

    def client(k):
        host, port = server.server_address[:2]
        connection = http.client.HTTPConnection(host, port, timeout=60)  # kept alive
        for i in range(8):
            index = (k + i) % len(texts)
            path, body = (("/explain", {"text": texts[0], "token": 4}) if i % 4 == 3
                          else ("/predict", {"text": texts[index]}))
            connection.request("POST", path, body=json.dumps(body))
            response = connection.getresponse()
            answer = json.loads(response.read())
            want = explained if path == "/explain" else expected[index]
            if response.status != 200 or answer != want:
                failures.append((k, i, response.status))
        connection.close()

    silent = socket.create_connection(server.server_address[:2])  # a client that says nothing
    threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    silent.close()
    assert not failures


def test_load(load_server):
    """8 clients on keep-alive connections for a bounded time (DELTAGRAD_LOAD_SECONDS, default
    2, at most 20; the README's figures use 20 and runs/ner); no errors; prints p50 / p99
    latency and requests/s."""
    server = load_server
    seconds = min(float(os.environ.get("DELTAGRAD_LOAD_SECONDS", "2")), 20.0)
    text = ("EU rejects German call to boycott British lamb . Peter Blackburn , the European "
            "Commission 's spokesman , said in Brussels on Wednesday .")
    body = json.dumps({"text": text})
    latencies, errors = [], []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        host, port = server.server_address[:2]
        connection = http.client.HTTPConnection(host, port, timeout=30)
        mine = []
        for _ in range(100_000):  # bounded in count as well as time
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            connection.request("POST", "/predict", body=body,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
            if response.status != 200:
                errors.append(response.status)
        connection.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - started
    assert not errors and len(latencies) >= 8
    p50, p99 = np.percentile(np.array(latencies) * 1000, [50, 99])
    print(f"\nload: 8 clients, {elapsed:.1f} s, {len(latencies)} requests, "
          f"{len(latencies) / elapsed:.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
