"""``deltagrad ner serve``: the model loaded once, behind a JSON API and a page that shows why
it tagged each word.

The server is the standard library's ``http.server.ThreadingHTTPServer``: one thread per
connection, no dependency, enough for a demo and a small team. Requests are parsed, checked
and answered concurrently; the model itself is used by one request at a time (a lock), because
deltagrad's grad mode and tracer are process-wide and NumPy does the heavy work anyway.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

import deltagrad as dg
from deltagrad.ner.explain import explain
from deltagrad.ner.formats import check_text
from deltagrad.ner.model_dir import LoadedModel
from deltagrad.ner.predict import Document, tag_documents

__all__ = ["MAX_BYTES", "MAX_CONNECTIONS", "MAX_TEXTS", "NerServer", "make_server", "serve"]

MAX_BYTES = 1 << 20  # largest request body (413 beyond)
MAX_TEXTS = 1000  # texts in one {"texts": [...]} request
MAX_CONNECTIONS = 64  # open connections served at once (503 beyond)
_DRAIN_LIMIT = 16 << 20  # a refused body up to this size is read and dropped before the 413
_STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
           "style.css": "text/css; charset=utf-8"}
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                               "frame-ancestors 'none'",
}


class RequestError(Exception):
    """A request the server refuses: answered with ``status`` and ``{"error": message}``."""

    def __init__(self, status: HTTPStatus, message: str, close: bool = False) -> None:
        super().__init__(message)
        self.status, self.message, self.close = status, message, close


class NerServer(ThreadingHTTPServer):
    """A threaded HTTP server holding one loaded model (see the module docstring).

    Args:
        address: ``(host, port)``; port 0 picks a free one (``server_address`` tells which).
        loaded: the model.
        max_bytes: the largest request body accepted.
        log: where access and error lines go (None: nowhere).
    """

    daemon_threads = True  # a stuck client never keeps the process alive at shutdown

    def __init__(self, address: tuple[str, int], loaded: LoadedModel, *,
                 max_bytes: int = MAX_BYTES, log: Callable[[str], None] | None = None) -> None:
        self.loaded, self.max_bytes, self.log = loaded, max_bytes, log
        self.model_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        folder = resources.files("deltagrad.ner") / "static"
        self.static = {name: (folder / name).read_bytes() for name in _STATIC}
        config = loaded.config
        self.model_info = {
            "format": config.get("format"), "version": config.get("version"),
            "deltagrad": dg.__version__, "decode": loaded.decode,
            "tags": list(loaded.features.tagset.tags),
            "vocab_size": len(loaded.features.vocab),
            "window": loaded.features.window,
            "best_epoch": config.get("best_epoch"), "dev_scores": config.get("dev_scores"),
            "config": config.get("train"),
        }
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        # Bounded: past MAX_CONNECTIONS open connections a new one gets a 503 at once.
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                b"Connection: close\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request, client_address):
        if self.log is not None:
            self.log(f"error serving {client_address}: {traceback.format_exc()}")

    # ------------------------------------------------------------------ the API

    def predict(self, body: dict) -> dict:
        """``POST /predict``: ``{"text": str}`` → one record; ``{"texts": [str, ...]}`` →
        ``{"results": [record, ...]}`` (records as ``predict --format jsonl`` prints them)."""
        _only_fields(body, {"text", "texts"})
        if ("text" in body) == ("texts" in body):
            raise RequestError(HTTPStatus.BAD_REQUEST,
                               'give exactly one of "text" (a string) or "texts" (a list of '
                               "strings)")
        texts = [body["text"]] if "text" in body else body["texts"]
        if "texts" in body and not isinstance(texts, list):
            raise RequestError(HTTPStatus.BAD_REQUEST, '"texts" must be a list of strings')
        if len(texts) > MAX_TEXTS:
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f'at most {MAX_TEXTS} texts per request, got {len(texts)}')
        for i, text in enumerate(texts):
            where = '"text"' if "text" in body else f'"texts"[{i}]'
            _check_string(text, where)
        documents = [Document.from_text(text) for text in texts]
        with self.model_lock:
            tagged = tag_documents(self.loaded, documents)
        records = [t.record(d) for d, t in zip(documents, tagged)]
        return records[0] if "text" in body else {"results": records}

    def explain(self, body: dict) -> dict:
        """``POST /explain``: ``{"text": str, "token": int}`` → why that token got its tag."""
        _only_fields(body, {"text", "token"})
        if "text" not in body or "token" not in body:
            raise RequestError(HTTPStatus.BAD_REQUEST, 'give "text" and "token"')
        _check_string(body["text"], '"text"')
        token = body["token"]
        if isinstance(token, bool) or not isinstance(token, int):
            raise RequestError(HTTPStatus.BAD_REQUEST,
                               f'"token" must be an integer, got {json.dumps(token)[:40]}')
        with self.model_lock:
            try:
                return explain(self.loaded, body["text"], token)
            except IndexError as error:
                raise RequestError(HTTPStatus.BAD_REQUEST, str(error)) from None


def _only_fields(body: dict, allowed: set) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise RequestError(HTTPStatus.BAD_REQUEST,
                           f"unknown field {json.dumps(unknown[0])[:60]}; expected "
                           f"{' or '.join(json.dumps(f) for f in sorted(allowed))}")


def _check_string(value, where: str) -> None:
    if not isinstance(value, str):
        raise RequestError(HTTPStatus.BAD_REQUEST,
                           f"{where} must be a string, got {type(value).__name__}")
    problem = check_text(value)
    if problem is not None:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"{where}: {problem}")


class _Handler(BaseHTTPRequestHandler):
    """One connection: HTTP/1.1 with keep-alive; every answer has a Content-Length."""

    server: NerServer
    protocol_version = "HTTP/1.1"
    server_version = "deltagrad-ner"
    timeout = 30  # seconds a client may stay silent mid-request before it is dropped

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        if path == "/health":
            self._json(HTTPStatus.OK, {"status": "ok"})
        elif path == "/model":
            self._json(HTTPStatus.OK, self.server.model_info)
        elif path in ("/", "/index.html"):
            self._static("index.html")
        elif path.startswith("/static/") and path[len("/static/"):] in _STATIC:
            self._static(path[len("/static/"):])
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path[:100]}"})

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        path = self.path.split("?", 1)[0]
        try:
            body = self._read_json()
            if path == "/predict":
                answer = self.server.predict(body)
            elif path == "/explain":
                answer = self.server.explain(body)
            else:
                raise RequestError(HTTPStatus.NOT_FOUND, f"no such endpoint: {path[:100]}")
        except RequestError as error:
            if error.close:
                self.close_connection = True
            self._json(error.status, {"error": error.message})
            return
        except Exception as error:  # a bug, not the client's fault: answer, log, stay up
            self.server.handle_error(self.request, self.client_address)
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR,
                       {"error": f"internal error ({type(error).__name__})"})
            return
        self._json(HTTPStatus.OK, answer)

    def _read_json(self) -> dict:
        if self.headers.get("Transfer-Encoding"):
            raise RequestError(HTTPStatus.LENGTH_REQUIRED,
                               "send the body with a Content-Length (no chunked encoding)",
                               close=True)
        length = self.headers.get("Content-Length")
        if length is None:
            raise RequestError(HTTPStatus.LENGTH_REQUIRED, "a Content-Length is required",
                               close=True)
        if not length.strip().isdigit() or not length.isascii():
            raise RequestError(HTTPStatus.BAD_REQUEST, "bad Content-Length", close=True)
        size = int(length)
        if size > self.server.max_bytes:
            # Read (and drop) a moderately large body so that the client, still sending, gets
            # the answer rather than a reset; then close the connection.
            if size <= _DRAIN_LIMIT:
                while size > 0:
                    chunk = self.rfile.read(min(size, 1 << 16))
                    if not chunk:
                        break
                    size -= len(chunk)
            raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                               f"request body of {int(length):,} bytes; the limit is "
                               f"{self.server.max_bytes:,}", close=True)
        data = self.rfile.read(size)
        if len(data) < size:
            raise RequestError(HTTPStatus.BAD_REQUEST, "the body ended early", close=True)
        try:
            body = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as error:
            raise RequestError(HTTPStatus.BAD_REQUEST,
                               f"the body is not UTF-8 ({error.reason})") from None
        except (json.JSONDecodeError, RecursionError) as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"not valid JSON ({error})"[:200]
                               ) from None
        if not isinstance(body, dict):
            raise RequestError(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
        return body

    def _json(self, status: HTTPStatus, payload) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                   "application/json; charset=utf-8")

    def _static(self, name: str) -> None:
        self._send(HTTPStatus.OK, self.server.static[name], _STATIC[name])

    def _send(self, status: HTTPStatus, data: bytes, content_type: str) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for key, value in _SECURITY_HEADERS.items():
                self.send_header(key, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away: nothing to answer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's name
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")


def make_server(loaded: LoadedModel, host: str = "127.0.0.1", port: int = 8000, *,
                max_bytes: int = MAX_BYTES,
                log: Callable[[str], None] | None = None) -> NerServer:
    """A server bound to ``(host, port)``, not yet serving (call ``serve_forever``)."""
    return NerServer((host, port), loaded, max_bytes=max_bytes, log=log)


def serve(loaded: LoadedModel, host: str = "127.0.0.1", port: int = 8000, *,
          max_bytes: int = MAX_BYTES, log: Callable[[str], None] = print) -> None:
    """Serve until interrupted (Ctrl-C): the page at ``/``, ``POST /predict``,
    ``POST /explain``, ``GET /health`` and ``GET /model``."""
    server = make_server(loaded, host, port, max_bytes=max_bytes, log=log)
    bound_host, bound_port = server.server_address[:2]
    log(f"serving on http://{bound_host}:{bound_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log("stopped")
    finally:
        server.server_close()
