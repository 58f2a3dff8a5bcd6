"""The chat page: its API through gradio_client, and a person's clicks in a real browser."""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.browser import browser_page, chromium_missing_reason
from support.chat import ChatServer, ask
from support.cli import run_qa
from support.openai_stub import Reply, ScriptedLLMServer
from support.servers import RequestRecorder
from tests.conftest import ARTIFACTS, CITATION_FIELDS

DRONES = "How many drones were shot down?"


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
        assert set(c) == CITATION_FIELDS
        assert "88" in c["quote"]


def test_the_answer_endpoint_declines_what_the_sources_do_not_say(client) -> None:
    answer = client.predict("What is the capital of Australia?", [], api_name="/answer")
    assert answer["abstained"] is True and answer["citations"] == []


def test_the_chat_endpoint_replies_with_references(client) -> None:
    """The page's reply is the API's answer rendered: its short answer, and a link for each
    of its citations (to the line, and the answer's span in it)."""
    answer = client.predict(DRONES, [], api_name="/answer")
    history, cleared = client.predict(DRONES, [], "reader", 8, api_name="/chat")
    assert cleared == ""
    content = history[-1]["content"]
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content)
    reply = html.unescape(content)
    assert "answered by: reader" in reply
    if answer["answer"]:
        assert f"<strong>{answer['answer']}</strong>" in reply
    for c in answer["citations"]:
        address = f"{c['source']}:{c['line_start']}"
        if c["span_start"] is not None:
            address += f"~{c['span_start']}-{c['span_end']}"
        assert f'href="#cite:{address}"' in reply


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


# Same shape as the test above (deliberate: one refusal each).
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
        timings.append(ask(page, DRONES))
        reply = _last_reply(page)
        assert "88" in reply and "answered by: reader" in reply
        # the link carries where the answer sits in the line: #cite:FILE:29~START-END
        link = page.locator('#qa-chat a[href^="#cite:002_1673a907b0920f4c.txt:29~"]').last
        assert link.is_visible()
        link.click()
        highlighted = page.locator("#qa-source tr.qa-hl")
        highlighted.wait_for(timeout=15_000)
        assert highlighted.count() == 1
        assert highlighted.inner_text().startswith("29")
        assert "Another 88 were shot down." in highlighted.inner_text()
        assert highlighted.locator("mark.qa-span").inner_text() == "88"  # the words read
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
            timings.append(ask(page, question))
        ask(page, "What is the capital of Australia?")
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
            page.get_by_text("Documents", exact=True).click()
            page.locator("#qa-upload input[type=file]").set_input_files(str(note))
            page.get_by_role("button", name="Upload and index").click()
            page.locator("#qa-docs").get_by_text("harbour.md").wait_for(timeout=60_000)
            ask(page, "How much did the ferry terminal cost?")
            reply = _last_reply(page)
            assert "41 million" in reply and "harbour.md:2" in reply
            page.locator("#qa-docs").get_by_text("harbour.md").wait_for()
            _remove(page, "harbour.md")
            page.screenshot(path=str(ARTIFACTS / "chat-upload.png"), full_page=True)
    finally:
        server.stop()


@pytest.mark.skipif(
    bool(chromium_missing_reason()) and not os.environ.get("CI"),
    reason=chromium_missing_reason() or "",
)
def test_the_lines_slider_follows_the_answer_mode(tmp_path_factory) -> None:
    """An LLM is shown 16 lines and the reader reads 8 (Settings.llm_top_k,
    Settings.top_k): picking a mode on the page moves the slider to that mode's number."""
    server = ChatServer(tmp_path_factory.mktemp("chat-modes"), {"QA_LLM_MODEL": "openai/unused"})
    try:
        with browser_page() as page:
            page.goto(server.url)
            page.get_by_text("Settings").click()
            lines = page.get_by_label("Lines to retrieve (top-k)").first
            lines.wait_for(timeout=60_000)
            assert lines.input_value() == "16"
            page.get_by_label("reader").check()
            page.wait_for_function(
                "() => [...document.querySelectorAll('input[type=number]')]"
                ".some((e) => e.value === '8')",
                timeout=15_000,
            )
            assert lines.input_value() == "8"
    finally:
        server.stop()


# -- content is shown as text; the page's own features ---------------------------------

needs_chromium = pytest.mark.skipif(
    bool(chromium_missing_reason()) and not os.environ.get("CI"),
    reason=chromium_missing_reason() or "",
)

# A file name that is also Markdown link syntax, and one with underscores (like the seeds').
EVIL = "evil](javascript:alert(1))x.txt"
HARBOUR = "000_harbour_report.md"


@pytest.fixture(scope="module")
def tracker() -> Iterator[RequestRecorder]:
    """Where content's images point: any request here is a resource loaded from content."""
    with RequestRecorder() as recorder:
        yield recorder


@pytest.fixture(scope="module")
def llm() -> Iterator[ScriptedLLMServer]:
    """A scripted model, so a test fixes which lines a reply cites (the reader's answers
    depend on its training; the page's behaviour must not)."""
    with ScriptedLLMServer() as server:
        yield server


def says(llm: ScriptedLLMServer, answer: str, reply: str, *cited: str) -> None:
    """The scripted model's next replies: this answer and reply, citing these lines."""
    llm.default = Reply.text(
        json.dumps({"answer": answer, "reply": reply, "citations": list(cited)})
    )


def with_llm(llm: ScriptedLLMServer) -> dict[str, str]:
    return {
        "QA_LLM_MODEL": "openai/stub",
        "QA_LLM_API_BASE": llm.url,
        "QA_LLM_API_KEY": "sk-test",
        "QA_LLM_TIMEOUT": "30",
    }


def fee_line(tracker: RequestRecorder) -> str:
    return (
        f"The ferry fee is 3 euros per crossing ![t]({tracker.url}/doc-image.png) "
        f'<img src="{tracker.url}/doc-tag.png"> at the pier.'
    )


@pytest.fixture(scope="module")
def notes(
    tmp_path_factory: pytest.TempPathFactory, tracker: RequestRecorder, llm: ScriptedLLMServer
) -> Iterator[ChatServer]:
    """`qa chat` started fresh over a corpus of its own (nothing like the seeds): a line
    written as Markdown and HTML, a file named like a link, one named with underscores."""
    corpus = tmp_path_factory.mktemp("notes-corpus")
    (corpus / HARBOUR).write_text(
        "# Harbour report\n"
        "The new ferry terminal cost 41 million euros.\n"
        f"{fee_line(tracker)}\n"
        "Lighthouse keeper Ada Brennan counted 12 seals on the pier.\n"
    )
    (corpus / EVIL).write_text("The toll bridge over the Varna canal opened in 1887.\n")
    (corpus / "trains.txt").write_text(
        "Station manager Mirela Kovacs said the night train to Ruse runs twice a week.\n"
    )
    server = ChatServer(tmp_path_factory.mktemp("notes-data"), with_llm(llm), corpus=corpus)
    try:
        yield server
    finally:
        server.stop()


def _open(page, server: ChatServer) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url)
    page.wait_for_selector("#qa-question textarea", timeout=60_000)


def test_a_first_start_says_that_it_is_indexing_the_corpus(notes) -> None:
    printed = notes.printed().splitlines()
    indexing = [i for i, line in enumerate(printed) if "indexing" in line]
    serving = [i for i, line in enumerate(printed) if "serving on" in line]
    assert indexing and str(notes.corpus) in printed[indexing[0]], printed
    assert serving and indexing[0] < serving[0], printed


@needs_chromium
def test_document_lines_and_model_replies_show_as_text_and_load_nothing(
    notes, tracker, llm
) -> None:
    """Markdown or HTML in a source line or in a model's reply (an image pointing elsewhere)
    is shown as its literal text; the browser never fetches what content names."""
    reply = (
        f'The fee is 3 euros ![r]({tracker.url}/reply-image.png) <img src="{tracker.url}/r.png">'
    )
    says(llm, "3 euros", reply, f"{HARBOUR}:3")
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page() as page:
        _open(page, notes)
        ask(page, "What is the ferry fee per crossing?")
        page.wait_for_timeout(1_000)  # time enough for an image the page wrongly made to load
        assert tracker.paths == []
        shown = _last_reply(page)
        assert fee_line(tracker) in shown, shown
        assert reply in shown, shown
        page.screenshot(path=str(ARTIFACTS / "chat-content-as-text.png"), full_page=True)


@needs_chromium
def test_a_file_named_like_a_link_is_cited_and_opened_by_its_whole_name(notes, llm) -> None:
    says(llm, "1887", "It opened in 1887.", f"{EVIL}:1")
    with browser_page() as page:
        _open(page, notes)
        ask(page, "When did the toll bridge open?")
        link = page.locator('#qa-chat a[href^="#cite:"]').last
        assert link.inner_text() == f"{EVIL}:1"
        assert page.locator('#qa-chat a[href^="javascript:"]').count() == 0
        link.click()
        highlighted = page.locator("#qa-source tr.qa-hl")
        highlighted.wait_for(timeout=15_000)
        assert "opened in 1887" in highlighted.inner_text()
        assert EVIL in page.locator("#qa-source h4").inner_text()


@needs_chromium
def test_citation_links_leave_the_underscores_of_file_names_visible(notes, llm) -> None:
    """An underline drawn through `000_harbour_report` reads as `000 harbour report`."""
    says(llm, "41 million euros", "It cost 41 million euros.", f"{HARBOUR}:2")
    with browser_page() as page:
        _open(page, notes)
        ask(page, "How much did the new ferry terminal cost?")
        link = page.locator(f'#qa-chat a[href^="#cite:{HARBOUR}:2"]').last
        assert link.inner_text() == f"{HARBOUR}:2"
        assert link.evaluate("a => getComputedStyle(a).textDecorationLine") == "none"


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@needs_chromium
def test_the_empty_page_shows_the_documents_and_questions_drawn_from_them(notes, llm) -> None:
    """Before the first question the chat lists what is indexed and offers a few questions
    made from the indexed lines; clicking one asks it."""
    says(llm, "", "The sources do not say.")
    corpus = " ".join(_words(" ".join(p.read_text() for p in notes.corpus.iterdir())))
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page() as page:
        _open(page, notes)
        examples = page.locator("#qa-chat .example-text")
        examples.first.wait_for(timeout=15_000)
        empty = page.locator("#qa-chat").inner_text()
        for name in (HARBOUR, EVIL, "trains.txt"):
            assert name in empty, empty
        asked = examples.all_inner_texts()
        # only those the reader answers with the words they were made from (tests/test_examples.py)
        assert 1 <= len(asked) <= 3, asked
        for question in asked:
            words = _words(question)
            pairs = [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
            assert question.endswith("?") and any(f" {p} " in f" {corpus} " for p in pairs), (
                question
            )
        page.screenshot(path=str(ARTIFACTS / "chat-empty-page.png"), full_page=True)
        examples.first.click()
        page.wait_for_function(
            "() => { const m = document.querySelectorAll('#qa-chat .message');"
            " return m.length >= 2 && m[m.length - 1].innerText.includes('answered by'); }",
            timeout=60_000,
        )
        first = page.locator("#qa-chat .message").first.inner_text()
        assert first.strip() == asked[0]


@needs_chromium
def test_at_phone_width_a_clicked_citation_brings_the_source_panel_into_view(notes, llm) -> None:
    says(llm, "41 million euros", "It cost 41 million euros.", f"{HARBOUR}:2")
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page(width=390, height=844) as page:
        _open(page, notes)
        ask(page, "How much did the new ferry terminal cost?")
        page.locator(f'#qa-chat a[href^="#cite:{HARBOUR}:2"]').last.click()
        highlighted = page.locator("#qa-source tr.qa-hl")
        highlighted.wait_for(timeout=15_000)
        page.wait_for_timeout(800)  # the panel scrolls after it renders
        box = highlighted.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 844, box
        page.screenshot(path=str(ARTIFACTS / "chat-phone-citation.png"))  # what the phone shows


@needs_chromium
def test_at_phone_width_a_reply_with_long_quotes_keeps_its_answer_in_view(chat) -> None:
    with browser_page(width=390, height=844) as page:
        _open(page, chat)
        ask(page, DRONES)
        page.wait_for_timeout(800)  # the chat scrolls as the reply lands
        inside = page.evaluate(
            "() => { const log = document.querySelector('#qa-chat [role=log]')"
            " || document.querySelector('#qa-chat .bubble-wrap')"
            " || document.querySelector('#qa-chat');"
            " const all = document.querySelectorAll('#qa-chat .qa-answer');"
            " const a = all[all.length - 1].getBoundingClientRect();"
            " const b = log.getBoundingClientRect();"
            " return [a.top >= b.top && a.bottom <= b.bottom && a.bottom <= window.innerHeight,"
            " a.top, a.bottom, b.top, b.bottom]; }"
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-phone-answer.png"))
        assert inside[0], inside


@needs_chromium
def test_settings_say_that_another_answer_mode_needs_qa_llm_model(chat) -> None:
    with browser_page() as page:
        _open(page, chat)
        page.get_by_text("Settings").click()
        page.get_by_text("QA_LLM_MODEL").wait_for(timeout=15_000)


@needs_chromium
def test_the_chat_offers_no_share_button_and_no_unlabelled_one(chat) -> None:
    """Sharing posts to Hugging Face, which this offline page never reaches; Gradio's share
    icon had no label and did nothing visible. Every button left says what it does."""
    with browser_page() as page:
        _open(page, chat)
        ask(page, DRONES)
        labels = page.evaluate(
            "() => [...document.querySelectorAll('#qa-chat button')].map((b) =>"
            " b.getAttribute('aria-label') || b.title || b.innerText.trim())"
        )
        assert all(labels), labels
        assert not [label for label in labels if "share" in label.lower()], labels
        visible = page.evaluate(
            "() => [...document.querySelectorAll('#qa-chat button')].filter((b) =>"
            " b.offsetParent !== null).map((b) => b.getAttribute('aria-label') || b.title)"
        )
        assert not [x for x in visible if x and "clear" in x.lower()], (
            "one way to start again: New conversation"
        )


@pytest.mark.skipif(
    bool(chromium_missing_reason()) and not os.environ.get("CI"),
    reason=chromium_missing_reason() or "",
)
def test_a_new_conversation_clears_the_source_panel(chat) -> None:
    with browser_page() as page:
        _open(page, chat)
        ask(page, DRONES)
        page.locator('#qa-chat a[href^="#cite:"]').last.click()
        page.locator("#qa-source tr.qa-hl").wait_for(timeout=15_000)
        page.get_by_role("button", name="New conversation").click()
        page.wait_for_function(
            "() => !document.querySelector('#qa-source tr.qa-hl')", timeout=15_000
        )
        assert "Click a reference" in page.locator("#qa-source").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-new-conversation.png"), full_page=True)


def test_a_5000_digit_line_number_gets_a_message_not_an_error(client) -> None:
    shown = client.predict("000_9517869daacb5b3c.txt:" + "9" * 5000, api_name="/source")
    assert shown.startswith("<p>") and "qa-hl" not in shown
    shown = client.predict("000_9517869daacb5b3c.txt:1~" + "9" * 5000 + "-1", api_name="/source")
    assert shown.startswith("<p>") and "qa-hl" not in shown


# -- documents: upload, reload, remove --------------------------------------------------


@pytest.fixture(scope="module")
def shelf(tmp_path_factory: pytest.TempPathFactory, llm: ScriptedLLMServer) -> Iterator[ChatServer]:
    """A server whose documents the tests upload and remove (each test its own file)."""
    corpus = tmp_path_factory.mktemp("shelf-corpus")
    (corpus / "lighthouse.txt").write_text("The old lighthouse on the cape was built in 1851.\n")
    server = ChatServer(tmp_path_factory.mktemp("shelf-data"), with_llm(llm), corpus=corpus)
    try:
        yield server
    finally:
        server.stop()


def _documents(page) -> None:  # type: ignore[no-untyped-def]
    """Open the Documents section (if it is not open)."""
    if not page.locator("#qa-upload").is_visible():
        page.get_by_text("Documents", exact=True).click()
    page.locator("#qa-upload").wait_for(timeout=15_000)


def _upload(page, *paths: Path) -> None:  # type: ignore[no-untyped-def]
    _documents(page)
    page.locator("#qa-upload input[type=file]").set_input_files([str(p) for p in paths])
    page.get_by_role("button", name="Upload and index").click()


def _choose(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Document").click()
    page.get_by_role("option", name=name).click()


def _remove(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Choose a document, ask to remove it, confirm."""
    _choose(page, name)
    page.get_by_role("button", name="Remove from index").click()
    page.get_by_role("button", name="Yes, remove it").click()
    page.locator("#qa-docs").get_by_text(name).wait_for(state="detached", timeout=30_000)


def _listed(page, name: str) -> bool:  # type: ignore[no-untyped-def]
    """Does the Documents table list this document?"""
    return bool(
        page.evaluate(
            "name => [...document.querySelectorAll('#qa-docs [data-testid^=\"cell-\"]')]"
            ".some((cell) => cell.innerText.trim() === name)",
            name,
        )
    )


def _toast(page, text: str) -> str:  # type: ignore[no-untyped-def]
    """The text of the message the page showed that mentions `text`."""
    toast = page.locator(".toast-body", has_text=text).last
    toast.wait_for(timeout=60_000)
    return str(toast.inner_text())


@needs_chromium
def test_after_a_reload_the_documents_show_what_was_uploaded(shelf, tmp_path) -> None:
    note = tmp_path / "reload-note.md"
    note.write_text("The reload harbour has 7 cranes.\n")
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page() as page:
        _open(page, shelf)
        _upload(page, note)
        page.locator("#qa-docs").get_by_text("reload-note.md").wait_for(timeout=60_000)
        page.reload()
        page.wait_for_selector("#qa-question textarea", timeout=60_000)
        _documents(page)
        page.locator("#qa-docs").get_by_text("reload-note.md").wait_for(timeout=15_000)
        page.get_by_label("Document").click()
        page.get_by_role("option", name="reload-note.md").wait_for(timeout=15_000)
        page.screenshot(path=str(ARTIFACTS / "chat-after-reload.png"), full_page=True)


@needs_chromium
def test_removing_a_document_takes_a_confirmation(shelf, tmp_path) -> None:
    """Nothing is chosen for removal until a person chooses it, and one click only asks."""
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page() as page:
        _open(page, shelf)
        _documents(page)
        assert page.get_by_label("Document").input_value() == ""
        _choose(page, "lighthouse.txt")
        page.get_by_role("button", name="Remove from index").click()
        confirm = page.get_by_role("button", name="Yes, remove it")
        confirm.wait_for(timeout=15_000)
        assert "lighthouse.txt" in page.locator("#qa-remove-question").inner_text()
        page.screenshot(path=str(ARTIFACTS / "chat-remove-confirm.png"), full_page=True)
        page.get_by_role("button", name="Cancel").click()
        confirm.wait_for(state="hidden", timeout=15_000)
        page.wait_for_timeout(500)
        assert _listed(page, "lighthouse.txt")


@needs_chromium
def test_a_removed_document_leaves_the_source_panel_and_its_citations(shelf, llm, tmp_path) -> None:
    note = tmp_path / "gone-note.md"
    note.write_text("The gone harbour kept 9 tugboats.\n")
    says(llm, "9 tugboats", "It kept 9 tugboats.", "gone-note.md:1")
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page() as page:
        _open(page, shelf)
        _upload(page, note)
        page.locator("#qa-docs").get_by_text("gone-note.md").wait_for(timeout=60_000)
        ask(page, "How many tugboats did the gone harbour keep?")
        link = page.locator('#qa-chat a[href^="#cite:gone-note.md:1"]').last
        link.click()
        page.locator("#qa-source tr.qa-hl").wait_for(timeout=15_000)
        _remove(page, "gone-note.md")
        panel = page.locator("#qa-source")
        panel.locator("tr").first.wait_for(state="detached", timeout=15_000)
        assert "9 tugboats" not in panel.inner_text()
        link.click()
        page.wait_for_function(
            "() => document.querySelector('#qa-source').innerText"
            ".includes('not an indexed document')",
            timeout=30_000,
        )
        assert "9 tugboats" not in panel.inner_text()
        page.screenshot(path=str(ARTIFACTS / "chat-removed-document.png"), full_page=True)


@needs_chromium
def test_a_rejected_upload_is_not_kept_nor_reported_again(shelf, tmp_path) -> None:
    empty = tmp_path / "empty-note.txt"
    empty.write_bytes(b"")
    good = tmp_path / "good-note.txt"
    good.write_text("The good harbour has 4 piers.\n")
    with browser_page() as page:
        _open(page, shelf)
        _upload(page, empty)
        assert "empty-note.txt: empty file" in _toast(page, "empty-note.txt")
        assert not (shelf.data_dir / "uploads" / "empty-note.txt").exists()
        _upload(page, good)
        assert "empty-note.txt" not in _toast(page, "good-note.txt")


@needs_chromium
def test_an_unsupported_upload_is_one_message_and_breaks_nothing(shelf, tmp_path) -> None:
    """A PDF that is only a header is a clear refusal: no red badges, no traceback."""
    pdf = tmp_path / "R&D report.pdf"  # the & must show as written
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    before = len(shelf.printed())
    with browser_page() as page:
        _open(page, shelf)
        _upload(page, pdf)
        message = _toast(page, "report")
        assert "R&D report.pdf: not a readable PDF" in message, message
        page.wait_for_timeout(1_000)
        assert page.get_by_text("Error", exact=True).count() == 0
        assert _listed(page, "lighthouse.txt")
    assert "Traceback" not in shelf.printed()[before:]


@pytest.fixture(scope="module")
def pdf_report(tmp_path_factory) -> Iterator[ChatServer]:  # type: ignore[no-untyped-def]
    from support.documents import twelve_pages

    corpus = tmp_path_factory.mktemp("pdf-corpus")
    twelve_pages(corpus / "report.pdf")
    server = ChatServer(tmp_path_factory.mktemp("chat-pdf"), corpus=corpus)
    try:
        yield server
    finally:
        server.stop()


@needs_chromium
def test_a_pdf_citation_opens_its_page_with_the_cited_line_highlighted(pdf_report) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page() as page:
        _open(page, pdf_report)
        ask(page, "When did the Harwick footbridge reopen?")
        reply = _last_reply(page)
        assert "14 March" in reply and "report.pdf:p7:2" in reply
        page.locator('#qa-chat a[href^="#cite:report.pdf:p7:2"]').last.click()
        highlighted = page.locator("#qa-source tr.qa-hl")
        highlighted.wait_for(timeout=15_000)
        assert "page 7" in page.locator("#qa-source h4").inner_text()
        assert highlighted.count() == 1
        assert highlighted.inner_text().startswith("2")
        assert "Harwick footbridge" in highlighted.inner_text()
        assert highlighted.locator("mark.qa-span").inner_text() == "14 March"
        page.screenshot(path=str(ARTIFACTS / "chat-pdf-citation.png"), full_page=True)


def test_a_follow_up_in_the_chat_is_asked_with_the_turn_before_it(
    llm_assistant, llm_server: ScriptedLLMServer, tmp_path: Path
) -> None:
    """The page keeps the conversation (question and short answer) beside what it renders,
    and the next question is asked with it."""
    from ui.app import ChatPage

    page = ChatPage(llm_assistant, upload_dir=tmp_path / "uploads")
    llm_server.default = Reply.text('{"answer": "", "citations": []}')
    *_, (history, _, turns) = page.respond(DRONES, [], [], "reader", 8)
    *_, (history, _, turns) = page.respond("And how many were launched?", history, turns, "llm", 8)
    messages = llm_server.last_request["messages"]
    assert messages[1:3] == [
        {"role": "user", "content": DRONES},
        {"role": "assistant", "content": "88"},
    ]
    assert [(t.question, t.answer) for t in turns][0] == (DRONES, "88")
    assert len(turns) == 2 and len(history) == 4
