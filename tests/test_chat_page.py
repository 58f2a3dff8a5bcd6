"""The chat page: its API through gradio_client, and a person's clicks in a real browser."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, SEEDS
from tests.support.browser import browser_page, chromium_missing_reason
from tests.support.cli import run_qa, start_qa
from tests.support.servers import free_port, stop_process, wait_for_port

DRONES = "How many drones were shot down?"


class ChatServer:
    """`qa chat` in its own process on a free loopback port."""

    def __init__(self, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        env = {"QA_DATA_DIR": str(data_dir), "QA_CORPUS": str(SEEDS), **(extra_env or {})}
        self.proc = start_qa("chat", "--port", str(self.port), env=env, stdout=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, 180)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        stop_process(self.proc, 15)


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    server = ChatServer(tmp_path_factory.mktemp("chat-data"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def client(chat: ChatServer):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(chat.url, verbose=False)


def test_the_answer_endpoint_returns_88_citing_line_21_or_29(client) -> None:
    answer = client.predict(DRONES, [], api_name="/answer")
    assert answer["answer"] == "88" and answer["abstained"] is False
    lines = {(c["source"], c["line_start"]) for c in answer["citations"]}
    assert lines & {("000_9517869daacb5b3c.txt", 21), ("002_1673a907b0920f4c.txt", 29)}
    for c in answer["citations"]:
        assert set(c) == {"source", "line_start", "line_end", "quote"} and "88" in c["quote"]


def test_the_answer_endpoint_declines_what_the_sources_do_not_say(client) -> None:
    answer = client.predict("What is the capital of Australia?", [], api_name="/answer")
    assert answer["abstained"] is True and answer["citations"] == []


def test_the_chat_endpoint_replies_with_references(client) -> None:
    history, cleared = client.predict(DRONES, [], "extractive", 8, api_name="/chat")
    assert cleared == ""
    reply = history[-1]["content"]
    reply = reply if isinstance(reply, str) else json.dumps(reply)
    assert "**88**" in reply and "#cite:002_1673a907b0920f4c.txt:29" in reply
    assert "answered by: extractive" in reply


def test_the_source_panel_shows_only_indexed_documents(client) -> None:
    shown = client.predict("002_1673a907b0920f4c.txt:29", api_name="/source")
    assert 'class="qa-hl" id="qa-line-29"' in shown and "Another 88 were shot down." in shown
    for crafted in ("../../etc/passwd:1", "/etc/hostname:1", "seeds/../pyproject.toml:1"):
        assert "not an indexed document" in client.predict(crafted, api_name="/source")


def test_binding_beyond_loopback_without_credentials_is_refused(tmp_path) -> None:
    result = run_qa(
        "chat",
        "--host",
        "0.0.0.0",
        "--port",
        "1",
        cwd=tmp_path,
        env={"QA_DATA_DIR": str(tmp_path)},
        timeout=120,
    )
    assert result.returncode == 1
    assert "refusing to serve on 0.0.0.0 without authentication" in result.stderr
    assert "serving on" not in result.stderr  # it must not claim to serve, then refuse
    assert "Traceback" not in result.stderr


def test_credentials_must_be_user_and_password(tmp_path) -> None:
    result = run_qa(
        "chat",
        "--host",
        "0.0.0.0",
        "--auth",
        "nopassword",
        cwd=tmp_path,
        env={"QA_DATA_DIR": str(tmp_path)},
        timeout=120,
    )
    assert result.returncode == 1 and "--auth must be user:password" in result.stderr


def _last_reply(page) -> str:  # type: ignore[no-untyped-def]
    return page.evaluate(
        "() => { const m = document.querySelectorAll('#qa-chat .message');"
        " return m.length ? m[m.length - 1].innerText : ''; }"
    )


def _ask(page, question: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Type a question, press Enter; seconds to the first streamed text and to the end."""
    before = page.locator("#qa-chat .message").count()
    box = page.locator("#qa-question textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(
        "n => { const m = document.querySelectorAll('#qa-chat .message');"
        " return m.length >= n + 2 && m[m.length - 1].innerText.trim().length > 0; }",
        arg=before,
        timeout=60_000,
    )
    first = time.perf_counter() - started
    page.wait_for_function(
        "() => { const m = document.querySelectorAll('#qa-chat .message');"
        " return m.length && m[m.length - 1].innerText.includes('answered by'); }",
        timeout=60_000,
    )
    return first, time.perf_counter() - started


@pytest.mark.skipif(
    bool(chromium_missing_reason()) and not os.environ.get("CI"),
    reason=chromium_missing_reason() or "",
)
def test_a_person_asks_sees_88_clicks_the_citation_and_sees_the_line(chat) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    timings = []
    with browser_page() as page:
        page.goto(chat.url)
        page.wait_for_selector("#qa-question textarea", timeout=60_000)
        timings.append(_ask(page, DRONES))
        reply = _last_reply(page)
        assert "88" in reply and "answered by: extractive" in reply
        link = page.locator('#qa-chat a[href="#cite:002_1673a907b0920f4c.txt:29"]').last
        assert link.is_visible()
        link.click()
        highlighted = page.locator("#qa-source tr.qa-hl")
        highlighted.wait_for(timeout=15_000)
        assert highlighted.count() == 1
        assert highlighted.inner_text().startswith("29")
        assert "Another 88 were shot down." in highlighted.inner_text()
        page.wait_for_timeout(300)  # the scroll runs after the panel renders
        assert page.evaluate(
            "() => { const q = (s) => document.querySelector(s).getBoundingClientRect();"
            " const b = q('#qa-source .qa-doc'); const l = q('#qa-source .qa-hl');"
            " return l.top >= b.top && l.bottom <= b.bottom; }"
        ), "the cited line is scrolled into view"
        page.screenshot(path=str(ARTIFACTS / "chat-citation.png"), full_page=True)
        for question in (
            "Who is the German chancellor?",
            "How old was the woman who was killed?",
            "How many drones did Russia launch?",
            "Where did Zelenskyy meet Vance?",
        ):
            timings.append(_ask(page, question))
        _ask(page, "What is the capital of Australia?")
        reply = _last_reply(page)
        assert "The sources do not say." in reply and "#cite:" not in page.evaluate(
            "() => { const m = document.querySelectorAll('#qa-chat .message');"
            " return m[m.length - 1].innerHTML; }"
        )
    record = {
        "first_token_s": [round(a, 3) for a, _ in timings],
        "full_reply_s": [round(b, 3) for _, b in timings],
    }
    (ARTIFACTS / "chat-timing.json").write_text(json.dumps(record, indent=2))
    print("chat timings (s):", record)


@pytest.mark.skipif(
    bool(chromium_missing_reason()) and not os.environ.get("CI"),
    reason=chromium_missing_reason() or "",
)
def test_a_person_uploads_asks_about_and_removes_a_document(tmp_path_factory) -> None:
    server = ChatServer(tmp_path_factory.mktemp("chat-upload"))
    note = tmp_path_factory.mktemp("files") / "harbour.md"
    note.write_text("# Harbour report\nThe new ferry terminal cost 41 million euros.\n")
    try:
        with browser_page() as page:
            page.goto(server.url)
            page.wait_for_selector("#qa-question textarea", timeout=60_000)
            page.get_by_text("Documents").click()
            page.locator("#qa-upload input[type=file]").set_input_files(str(note))
            page.get_by_role("button", name="Upload and index").click()
            page.locator("#qa-docs").get_by_text("harbour.md").wait_for(timeout=60_000)
            _ask(page, "How much did the ferry terminal cost?")
            reply = _last_reply(page)
            assert "41 million" in reply and "harbour.md:2" in reply
            page.locator("#qa-docs").get_by_text("harbour.md").wait_for()
            page.get_by_label("Document").click()
            page.get_by_role("option", name="harbour.md").click()
            page.get_by_role("button", name="Remove from index").click()
            page.locator("#qa-docs").get_by_text("harbour.md").wait_for(
                state="detached", timeout=30_000
            )
            page.screenshot(path=str(ARTIFACTS / "chat-upload.png"), full_page=True)
    finally:
        server.stop()


@pytest.mark.skipif(
    bool(chromium_missing_reason()) and not os.environ.get("CI"),
    reason=chromium_missing_reason() or "",
)
def test_the_lines_slider_follows_the_answer_mode(tmp_path_factory) -> None:
    """An LLM is shown 16 lines and the extractive answerer reads 8 (Settings.llm_top_k,
    Settings.top_k): picking a mode on the page moves the slider to that mode's number."""
    server = ChatServer(tmp_path_factory.mktemp("chat-modes"), {"QA_LLM_MODEL": "openai/unused"})
    try:
        with browser_page() as page:
            page.goto(server.url)
            page.get_by_text("Settings").click()
            lines = page.get_by_label("Lines to retrieve (top-k)").first
            lines.wait_for(timeout=60_000)
            assert lines.input_value() == "16"
            page.get_by_label("extractive").check()
            page.wait_for_function(
                "() => [...document.querySelectorAll('input[type=number]')]"
                ".some((e) => e.value === '8')",
                timeout=15_000,
            )
            assert lines.input_value() == "8"
    finally:
        server.stop()
