"""A scripted OpenAI-compatible chat server for tests that must go over real HTTP.

Mocking litellm in-process would hide the failures the product actually has to survive
(status codes, slow replies, malformed bodies, SSE framing), so this serves the wire
protocol itself on 127.0.0.1 and answers each request with the next scripted ``Reply``.
Standard library only, so it cannot drift with the client stack it is meant to exercise.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

__all__ = ["Reply", "ScriptedLLMServer"]

_log = logging.getLogger(__name__)

_HOST = "127.0.0.1"
_CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
_MODELS_PATHS = frozenset({"/v1/models", "/models"})
_STREAM_PIECES = 4
_THREAD_PREFIX = "openai-stub"

# The OpenAI SDK maps status codes to exception classes itself; the "type" only has to look
# like what the real API sends so error-message assertions read naturally.
_ERROR_TYPES: Mapping[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}

ReplyKind = Literal["text", "status", "delay", "raw"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer; build it with the constructors, not the fields."""

    kind: ReplyKind
    content: str = ""
    finish_reason: str = "stop"
    code: int = 200
    payload: bytes = b""
    content_type: str = "application/json"
    seconds: float = 0.0
    then: Reply | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not 100 <= self.code <= 599:
            raise ValueError(f"HTTP status out of range: {self.code}")
        if self.seconds < 0:
            raise ValueError(f"delay must be >= 0, got {self.seconds}")
        if self.kind == "delay" and self.then is None:
            raise ValueError("a delay needs the reply to send afterwards")

    @classmethod
    def text(cls, content: str, *, finish_reason: str = "stop") -> Reply:
        """Streams as SSE when the request asks for it, so one script serves both paths."""
        return cls(kind="text", content=content, finish_reason=finish_reason)

    @classmethod
    def status(
        cls,
        code: int,
        body: str = "scripted error",
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """``body`` becomes error.message; ``headers`` allows e.g. a retry-after on a 429."""
        return cls(kind="status", code=code, content=body, headers=_freeze(headers))

    @classmethod
    def delay(cls, seconds: float, then: Reply | None = None) -> Reply:
        """Sleeps before answering; the sleep is cut short when the server stops."""
        return cls(kind="delay", seconds=seconds, then=then if then is not None else cls.text(""))

    @classmethod
    def raw(
        cls,
        body: bytes,
        content_type: str = "application/json",
        *,
        status: int = 200,
    ) -> Reply:
        """Sent verbatim, for bodies no well-behaved server would produce."""
        return cls(kind="raw", payload=body, content_type=content_type, code=status)


def _freeze(headers: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    return tuple(headers.items()) if headers else ()


def _rough_tokens(text: str) -> int:
    # Clients only check that usage is present and consistent, not that it is accurate.
    return len(text.split())


def _prompt_text(request: Mapping[str, Any]) -> str:
    messages = request.get("messages")
    if not isinstance(messages, list):
        return ""
    return " ".join(str(m.get("content") or "") for m in messages if isinstance(m, dict))


def _split(content: str, pieces: int) -> list[str]:
    if not content:
        return []
    size = max(1, -(-len(content) // pieces))
    return [content[i : i + size] for i in range(0, len(content), size)]


def _error_body(code: int, message: str) -> bytes:
    kind = _ERROR_TYPES.get(code, "server_error" if code >= 500 else "invalid_request_error")
    error = {"message": message, "type": kind, "param": None, "code": None}
    return json.dumps({"error": error}).encode()


class _StubHTTPServer(ThreadingHTTPServer):
    # Daemon handler threads so a stuck client can never keep the test process alive.
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, owner: ScriptedLLMServer) -> None:
        self.owner = owner
        super().__init__((_HOST, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls getfqdn(), a reverse-DNS lookup that can stall in
        # sandboxes; the name is never used here.
        TCPServer.server_bind(self)
        self.server_name = _HOST
        self.server_port = self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        _log.debug("openai stub: unhandled error for %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps httpx's connection pooling on the same path it takes against the real API.
    protocol_version = "HTTP/1.1"
    # Bounds how long an idle keep-alive connection can pin a thread if stop() is never called.
    timeout = 30
    server: _StubHTTPServer

    def setup(self) -> None:
        super().setup()
        threading.current_thread().name = f"{_THREAD_PREFIX}-conn"
        self.server.owner._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._untrack(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            # The client gave up (timeout) or stop() shut the socket: nothing left to tell it.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("openai stub: " + format, *args)

    def do_GET(self) -> None:
        if urlsplit(self.path).path.rstrip("/") in _MODELS_PATHS:
            model = {"id": "stub", "object": "model", "created": 0, "owned_by": "openai-stub"}
            self._send(200, json.dumps({"object": "list", "data": [model]}).encode())
        else:
            self._send(404, _error_body(404, f"no route for GET {self.path}"))

    def do_POST(self) -> None:
        raw = self._read_body()
        path = urlsplit(self.path).path.rstrip("/")
        if path not in _CHAT_PATHS:
            self._send(404, _error_body(404, f"no route for POST {self.path}"))
            return
        try:
            request = json.loads(raw or b"null")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            self._send(400, _error_body(400, "request body is not a JSON object"))
            return
        reply = self.server.owner._next_reply(request)
        if reply is None:
            self._send(500, _error_body(500, "openai stub: no scripted reply left"))
            return
        self._play(reply, request)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _play(self, reply: Reply, request: Mapping[str, Any]) -> None:
        if reply.kind == "delay":
            if self.server.owner._stopping.wait(reply.seconds):
                self.close_connection = True
                return
            assert reply.then is not None
            self._play(reply.then, request)
        elif reply.kind == "status":
            self._send(reply.code, _error_body(reply.code, reply.content), reply.headers)
        elif reply.kind == "raw":
            self._send(reply.code, reply.payload, reply.headers, content_type=reply.content_type)
        elif request.get("stream") is True:
            self._stream(reply, request)
        else:
            self._send(200, json.dumps(self.server.owner._completion(reply, request)).encode())

    def _send(
        self,
        code: int,
        body: bytes,
        headers: Iterable[tuple[str, str]] = (),
        *,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(code, _reason(code))
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, reply: Reply, request: Mapping[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in self.server.owner._chunks(reply, request):
            self._write_chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Scripted"


class ScriptedLLMServer:
    """Answers chat completions from a queue so a test fixes exactly what the LLM says.

    With ``respond``, a reply is worked out from each request instead (once the queue is
    empty): a stand-in model that reads the prompt it was sent.
    """

    def __init__(
        self,
        replies: Iterable[Reply] = (),
        *,
        default: Reply | None = None,
        respond: Callable[[dict[str, Any]], Reply] | None = None,
    ) -> None:
        self.default: Reply | None = default
        self.respond = respond
        self.requests: list[dict[str, Any]] = []
        self._queue: deque[Reply] = deque(replies)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: dict[socket.socket, threading.Thread] = {}
        # Every connection thread until stop() has joined it: a thread that has just let go
        # of its socket (and left `_connections`) is still running for a moment.
        self._workers: set[threading.Thread] = set()
        self._ids = itertools.count(1)
        self._httpd: _StubHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        """Binds port 0 so parallel test runs never collide on a fixed port."""
        if self._httpd is not None:
            raise RuntimeError("ScriptedLLMServer is already running")
        self._stopping = threading.Event()
        self._httpd = _StubHTTPServer(self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{_THREAD_PREFIX}-serve",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Cuts delays and open keep-alive connections short, so teardown never waits on them."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = dict(self._connections)
            workers = set(self._workers)
            self._workers.clear()
        for sock in connections:
            _shutdown(sock)
        deadline = time.monotonic() + timeout
        for worker in [thread, *workers]:
            if worker is not None and worker is not threading.current_thread():
                worker.join(max(0.0, deadline - time.monotonic()))
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self if self._httpd is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ScriptedLLMServer is not running; call start() or use `with`")
        return self._httpd.server_port

    @property
    def url(self) -> str:
        """The api_base for litellm; includes /v1 because the OpenAI client appends the rest."""
        return f"http://{_HOST}:{self.port}/v1"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        """Lets a test assert that every scripted reply was actually consumed."""
        with self._lock:
            return len(self._queue)

    @property
    def last_request(self) -> dict[str, Any]:
        with self._lock:
            if not self.requests:
                raise LookupError("no chat completion request has been received")
            return self.requests[-1]

    def reset(self) -> None:
        """Lets a long-lived (e.g. session-scoped) server start each test from a clean script."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.default = None
            self.respond = None

    # -- used by the handler ---------------------------------------------------------------

    def _next_reply(self, request: dict[str, Any]) -> Reply | None:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.popleft()
        return self.respond(request) if self.respond is not None else self.default

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections[sock] = threading.current_thread()
            self._workers = {t for t in self._workers if t.is_alive()}
            self._workers.add(threading.current_thread())
        if self._stopping.is_set():
            _shutdown(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._lock:
            self._connections.pop(sock, None)

    def _envelope(self, request: Mapping[str, Any], obj: str) -> dict[str, Any]:
        model = request.get("model")
        return {
            "id": f"chatcmpl-stub-{next(self._ids)}",
            "object": obj,
            "created": int(time.time()),
            "model": model if isinstance(model, str) and model else "stub",
        }

    def _usage(self, reply: Reply, request: Mapping[str, Any]) -> dict[str, int]:
        prompt = _rough_tokens(_prompt_text(request))
        completion = _rough_tokens(reply.content)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _completion(self, reply: Reply, request: Mapping[str, Any]) -> dict[str, Any]:
        message = {"role": "assistant", "content": reply.content}
        choice = {"index": 0, "message": message, "finish_reason": reply.finish_reason}
        return {
            **self._envelope(request, "chat.completion"),
            "choices": [choice],
            "usage": self._usage(reply, request),
        }

    def _chunks(self, reply: Reply, request: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        # One id/created for the whole stream, as the real API does.
        head = self._envelope(request, "chat.completion.chunk")

        def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
            return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        yield chunk({"role": "assistant", "content": ""}, None)
        for piece in _split(reply.content, _STREAM_PIECES):
            yield chunk({"content": piece}, None)
        yield chunk({}, reply.finish_reason)
        options = request.get("stream_options")
        if isinstance(options, dict) and options.get("include_usage"):
            yield {**head, "choices": [], "usage": self._usage(reply, request)}


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
