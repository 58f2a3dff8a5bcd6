"""Proves the scripted stub speaks the protocol litellm expects.

Higher-level tests trust the stub to stand in for a real provider; if litellm stopped
accepting what it sends, those tests would fail for reasons unrelated to the product.
"""

import http.client
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from support.openai_stub import Reply, ScriptedLLMServer

# Set before litellm is imported: it reads them at import time, and without them it tries to
# fetch its cost map from the internet and may route 127.0.0.1 through a proxy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

import litellm  # noqa: E402

MESSAGES = [
    {"role": "system", "content": "Answer only from the sources."},
    {"role": "user", "content": "What colour is the sky in sources/sky.md?"},
]


@pytest.fixture
def srv() -> Iterator[ScriptedLLMServer]:
    with ScriptedLLMServer() as server:
        yield server


def complete(srv: ScriptedLLMServer, **kwargs: Any) -> Any:
    # Retries off: every scripted reply must map to exactly one HTTP request.
    params: dict[str, Any] = {
        "model": "openai/stub",
        "api_base": srv.url,
        "api_key": "sk-test",
        "messages": MESSAGES,
        "timeout": 10,
        "num_retries": 0,
        "max_retries": 0,
    }
    params.update(kwargs)
    return litellm.completion(**params)


def test_url_is_loopback_v1(srv: ScriptedLLMServer) -> None:
    assert srv.url == f"http://127.0.0.1:{srv.port}/v1"


def test_text_reply_round_trips(srv: ScriptedLLMServer) -> None:
    answer = {"answer": "Blue.", "citations": [{"file": "sources/sky.md", "lines": [3, 4]}]}
    srv.enqueue(Reply.text(json.dumps(answer)))

    response = complete(srv)

    assert json.loads(response.choices[0].message.content) == answer
    assert response.choices[0].message.role == "assistant"
    assert response.choices[0].finish_reason == "stop"
    usage = response.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0
    assert srv.pending == 0


def test_streaming_reassembles_content(srv: ScriptedLLMServer) -> None:
    content = json.dumps({"answer": "Blue, per the sky notes.", "citations": []})
    srv.enqueue(Reply.text(content))

    pieces: list[str] = []
    finish_reasons: list[str] = []
    for chunk in complete(srv, stream=True):
        choice = chunk.choices[0]
        if choice.delta.content:
            pieces.append(choice.delta.content)
        if choice.finish_reason:
            finish_reasons.append(choice.finish_reason)

    assert "".join(pieces) == content
    assert len(pieces) > 1, "content should arrive in several SSE chunks"
    assert finish_reasons == ["stop"]
    assert srv.last_request["stream"] is True


def test_http_500_raises_without_retry(srv: ScriptedLLMServer) -> None:
    srv.enqueue(Reply.status(500, "upstream exploded"))

    with pytest.raises(litellm.InternalServerError, match="upstream exploded"):
        complete(srv)

    assert len(srv.requests) == 1


def test_empty_queue_is_500_unless_default(srv: ScriptedLLMServer) -> None:
    with pytest.raises(litellm.InternalServerError, match="no scripted reply"):
        complete(srv)

    srv.default = Reply.text("fallback")
    assert complete(srv).choices[0].message.content == "fallback"
    assert complete(srv).choices[0].message.content == "fallback"


def test_malformed_json_surfaces_as_error(srv: ScriptedLLMServer) -> None:
    srv.enqueue(Reply.raw(b'{"id": "chatcmpl-1", "choices": ['))

    # litellm 1.106 wraps the client's JSONDecodeError as an InternalServerError.
    with pytest.raises(litellm.InternalServerError, match="Expecting value"):
        complete(srv)


def test_delay_beyond_timeout_raises_timeout(srv: ScriptedLLMServer) -> None:
    srv.enqueue(Reply.delay(5, then=Reply.text("too late")))

    started = time.monotonic()
    with pytest.raises(litellm.Timeout):
        complete(srv, timeout=1)

    assert time.monotonic() - started < 4


def test_requests_are_recorded(srv: ScriptedLLMServer) -> None:
    srv.enqueue(Reply.text("one"), Reply.text("two"))

    complete(srv)
    complete(srv, messages=[{"role": "user", "content": "second question"}])

    assert [r["model"] for r in srv.requests] == ["stub", "stub"]
    assert srv.requests[0]["messages"] == MESSAGES
    assert srv.requests[1]["messages"][-1]["content"] == "second question"


def test_models_endpoint_lists_stub(srv: ScriptedLLMServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
    try:
        conn.request("GET", "/v1/models")
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()

    assert response.status == 200
    assert [m["id"] for m in body["data"]] == ["stub"]


def test_stop_interrupts_delay_and_leaves_no_threads() -> None:
    srv = ScriptedLLMServer([Reply.delay(30)]).start()
    port = srv.port
    outcome: list[BaseException | int] = []

    def call() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("POST", "/v1/chat/completions", body=json.dumps({"messages": []}))
            outcome.append(conn.getresponse().status)
        except Exception as exc:  # the server hanging up mid-delay is the expected outcome
            outcome.append(exc)
        finally:
            conn.close()

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    deadline = time.monotonic() + 5
    while not srv.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert srv.requests, "the delayed request never reached the server"

    started = time.monotonic()
    srv.stop()
    assert time.monotonic() - started < 2

    caller.join(5)
    assert outcome and not isinstance(outcome[0], int), "a stopped delay must not answer"
    leftovers = [t.name for t in threading.enumerate() if t.name.startswith("openai-stub")]
    assert leftovers == []
