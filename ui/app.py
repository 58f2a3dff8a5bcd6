"""The Gradio chat page: a thin shell over `qa.Assistant`.

A reply shows the short answer, the quoted lines and clickable citations; clicking one opens
the source panel on that document with the cited lines highlighted and scrolled into view.
The panel renders documents from the index, never from a path a browser sends, so it can
only ever show indexed text.

Content (document lines and names, a model's words, questions) is only ever shown as text:
the page writes every message as HTML with the content escaped (`_text`), and nothing renders
it as Markdown, so an image or link in a document or a reply cannot make the browser load
anything.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
import shutil
import string
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gradio as gr

from qa import (
    MAX_TOP_K,
    SUPPORTED_TYPES,
    Answer,
    Assistant,
    Citation,
    QAError,
    Settings,
    Turn,
    confidence_words,
    turn_after,
)

log = logging.getLogger(__name__)

UPLOAD_TYPES = SUPPORTED_TYPES
UPLOAD_NAMES = ", ".join(UPLOAD_TYPES)
# The empty chat names this many documents and counts the rest.
WELCOME_DOCUMENTS = 8
# file:line or file:start-end, optionally with the answer's character span in the line
# (file:line~from-to), which the source panel marks.
_CITE = re.compile(
    r"^(?P<source>.+?)(?::p(?P<page>\d{1,9}))?:(?P<start>\d{1,9})(?:-(?P<end>\d{1,9}))?"
    r"(?:~(?P<from>\d{1,9})-(?P<to>\d{1,9}))?$"
)

# Clicking a citation link in a reply: hand its address to the (hidden) citation box and
# press the (hidden) show button, so the source panel is rendered by Python from the index.
# Gradio has no event for a link inside a chat message; this is the smallest bridge.
HEAD_JS = """
<script>
document.addEventListener("click", (event) => {
  const link = event.target.closest('a[href^="#cite:"]');
  if (!link) return;
  event.preventDefault();
  const address = decodeURIComponent(link.getAttribute("href").slice("#cite:".length));
  const box = document.querySelector("#qa-cite-box textarea, #qa-cite-box input");
  const go = document.querySelector("#qa-cite-go");
  if (!box || !go) return;
  box.value = address;
  box.dispatchEvent(new Event("input", { bubbles: true }));
  setTimeout(() => go.click(), 50);
});
</script>
"""
# Scroll the document box (not the whole page) so the first cited line is in the middle; when
# the panel is off screen (at phone width it sits below the chat), bring it into view.
SCROLL_JS = """() => {
  setTimeout(() => {
    const panel = document.querySelector("#qa-source");
    if (!panel) return;
    const box = panel.querySelector(".qa-doc");
    const line = panel.querySelector(".qa-hl");
    if (box && line) box.scrollTop = line.offsetTop - box.clientHeight / 2;
    const shown = (line || panel).getBoundingClientRect();
    if (shown.top < 0 || shown.bottom > window.innerHeight) {
      panel.scrollIntoView({ block: "start" });
    }
  }, 100);
}"""
CSS = """
#qa-cite-box, #qa-cite-go { display: none !important; }
/* The chat's own trash icon would empty the chat but not the conversation behind it (nor the
   source panel): "New conversation" does all three, and is the one way to start again. */
#qa-chat button[aria-label="Clear"], #qa-chat button[title="Clear"] { display: none !important; }
#qa-source .qa-doc { max-height: 560px; overflow-y: auto; position: relative;
                     font-size: 0.9em; border: 1px solid #ddd; border-radius: 6px; }
#qa-source table { border-collapse: collapse; width: 100%; margin: 0; }
#qa-source td { border: none !important; padding: 2px 6px; }
#qa-source td.n { color: #888; text-align: right; padding-right: 0.8em; user-select: none;
                  vertical-align: top; white-space: nowrap; }
#qa-source tr.qa-hl td { background: #fff3b0; }
#qa-source tr.qa-hl td.n { color: #7a5d00; font-weight: bold; }
#qa-source mark.qa-span { background: #ffb347; padding: 0 1px; border-radius: 2px; }
#qa-chat .qa-reply p, #qa-chat .qa-reply blockquote, #qa-chat .qa-question {
  white-space: pre-wrap; overflow-wrap: anywhere; }
#qa-chat .qa-reply p { margin: 0.2em 0 0.5em; }
#qa-chat .qa-reply blockquote.qa-quote { margin: 0.6em 0 0.1em; padding: 0.1em 0 0.1em 0.8em;
                                         border-left: 3px solid #d0d0d0; color: inherit; }
#qa-chat .qa-reply p.qa-footer { color: #777; font-size: 0.9em; font-style: italic; }
/* On a phone a reply's quotes would push its answer out of view as the chat scrolls to the
   end: each quote keeps to a few lines there, and scrolls on its own. */
@media (max-width: 640px) {
  #qa-chat .qa-reply blockquote.qa-quote { max-height: 4.6em; overflow-y: auto; }
}
/* A citation is a chip, not an underlined link: an underline hides the underscores of
   file names ("000_95..." would read "000 95..."). */
#qa-chat a[href^="#cite:"] { text-decoration: none; font-family: var(--font-mono, monospace);
  font-size: 0.9em; padding: 0 0.3em; border-radius: 4px; color: #1d4ed8;
  background: rgba(37, 99, 235, 0.09); cursor: pointer; }
#qa-chat a[href^="#cite:"]:hover { text-decoration: none; background: rgba(37, 99, 235, 0.2); }
"""
# Every ASCII punctuation character, written as a character reference wherever content is
# shown in the chat: then neither HTML nor Markdown (the chat's placeholder is rendered as
# Markdown) can read markup in it.
_MARKUP = frozenset(string.punctuation)


def _text(content: str) -> str:
    """Content as HTML text: shown exactly as written, never read as markup (no tag, image,
    link or emphasis in a document line, a file name or a model's reply takes effect)."""
    out = []
    for char in content:
        if char in _MARKUP or char in "\t\r":
            out.append(f"&#{ord(char)};")
        elif char == "\n":
            out.append("<br>")
        else:
            out.append(char)
    return "".join(out)


def _href(address: str) -> str:
    """A citation link's target; the click handler decodes it (any file name survives)."""
    return "#cite:" + quote(address, safe=":")


def cite_address(c: Citation) -> str:
    """What a citation link hands to the source panel: the lines, and the answer's span in
    the line when the answer was read from it."""
    if c.span_start is not None and c.span_end is not None:
        return f"{c.label}~{c.span_start}-{c.span_end}"
    return c.label


def render_answer(answer: Answer) -> str:
    """A reply as the chat shows it: the short answer, the model's reply (LLM mode), each
    quoted line with its reference, and a footer saying which answerer answered."""
    parts = []
    if answer.abstained:
        parts.append(f'<p class="qa-text">{_text(answer.text)}</p>')
    else:
        if answer.answer:
            parts.append(f'<p class="qa-answer"><strong>{_text(answer.answer)}</strong></p>')
        if answer.mode == "llm" and answer.text:
            parts.append(f'<p class="qa-text">{_text(answer.text)}</p>')
        for c in answer.citations:
            parts.append(
                f'<blockquote class="qa-quote">{_text(c.quote)}</blockquote>'
                f'<p class="qa-ref">— <a href="{_href(cite_address(c))}">{_text(c.label)}</a></p>'
            )
    footer = f"answered by: {answer.mode}"
    if answer.confidence is not None:
        footer += f" · {confidence_words(answer)}"
    if answer.notice:
        footer += f" · {answer.notice}"
    parts.append(f'<p class="qa-footer">{_text(footer)}</p>')
    return f'<div class="qa-reply">{"".join(parts)}</div>'


def _streaming(text: str) -> str:
    """A reply while it streams in."""
    return f'<div class="qa-reply"><p class="qa-text">{_text(text)}</p></div>'


def _notice(text: str) -> str:
    """A message from the page itself in the chat (an error the person can act on)."""
    return f'<div class="qa-reply"><p class="qa-notice">{_text(text)}</p></div>'


def _row(number: int, line: str, lit: bool, span: tuple[int, int] | None) -> str:
    """One numbered line of the source panel, highlighted when cited, with the answer's span
    marked inside it."""
    cls = ' class="qa-hl"' if lit else ""
    if span and 0 <= span[0] < span[1] <= len(line):
        text = (
            html.escape(line[: span[0]])
            + f'<mark class="qa-span">{html.escape(line[span[0] : span[1]])}</mark>'
            + html.escape(line[span[1] :])
        )
    else:
        text = html.escape(line)
    return f'<tr{cls} id="qa-line-{number}"><td class="n">{number}</td><td>{text}</td></tr>'


def _elided(text: str) -> str:
    return f'<tr class="qa-elided"><td class="n">…</td><td><em>{html.escape(text)}</em></td></tr>'


def _panel(name: str, start: int, end: int, rows: list[str]) -> str:
    """The source panel: what is shown and which lines are cited, then the numbered rows."""
    where = f"line {start}" if end == start else f"lines {start}–{end}"
    title = html.escape(f"{name} ({where})")
    return f'<h4>{title}</h4><div class="qa-doc"><table>{"".join(rows)}</table></div>'


SOURCE_CONTEXT_LINES = 200  # lines shown before and after a cited line in the source panel
SOURCE_PROMPT = "<p>Click a reference to see its source.</p>"


class ChatPage:
    """The page's callbacks, bound to one assistant.

    A person's mistake (no file chosen, a file of the wrong type, nothing to remove) is told
    in a warning and changes nothing; it is never raised as an error, which would mark every
    output of the event with a red badge and print a traceback in the server's log.
    """

    def __init__(self, assistant: Assistant, upload_dir: Path) -> None:
        self.assistant = assistant
        self.upload_dir = upload_dir

    # -- chat ----------------------------------------------------------------------------

    def respond(
        self,
        message: str,
        history: list[dict[str, Any]],
        turns: list[Turn] | None,
        mode: str,
        top_k: float,
    ) -> Iterator[tuple[list[dict[str, Any]], str, list[Turn]]]:
        """Answer in the chat. `history` is what the chat shows (HTML this page wrote);
        `turns` is the conversation itself, kept beside it in the page's state, so that a
        follow-up leans on what was answered and not on a re-reading of rendered HTML."""
        history = list(history or [])
        turns = list(turns or [])
        question = (message or "").strip()
        if not question:
            yield history, "", turns
            return
        history.append(
            {"role": "user", "content": f'<div class="qa-question">{_text(question)}</div>'}
        )
        history.append({"role": "assistant", "content": ""})
        yield history, "", turns
        try:
            streamed = ""
            for piece in self.assistant.ask_stream(question, turns, mode=mode, top_k=int(top_k)):
                if isinstance(piece, Answer):
                    history[-1] = {"role": "assistant", "content": render_answer(piece)}
                    turns.append(turn_after(piece))
                else:
                    streamed += piece
                    history[-1] = {"role": "assistant", "content": _streaming(streamed)}
                yield history, "", turns
        except QAError as err:
            history[-1] = {"role": "assistant", "content": _notice(f"⚠️ {err}")}
            yield history, "", turns
        except Exception as err:  # a page must never show a traceback; the log keeps it
            log.exception("answering %r failed", question)
            history[-1] = {"role": "assistant", "content": _notice(f"⚠️ unexpected error: {err}")}
            yield history, "", turns

    def ask_example(
        self,
        history: list[dict[str, Any]],
        turns: list[Turn] | None,
        mode: str,
        top_k: float,
        chosen: gr.SelectData,
    ) -> Iterator[tuple[list[dict[str, Any]], str, list[Turn]]]:
        """Ask the example question a person clicked on the empty chat."""
        value = chosen.value if isinstance(chosen.value, dict) else {}
        yield from self.respond(str(value.get("text") or ""), history, turns, mode, top_k)

    def answer_api(self, question: str, history: list[dict[str, str]] | None = None) -> dict:
        """The structured answer (the Python API's `Answer`): answer, text, abstained,
        citations [{source, line_start, line_end, quote, span_start, span_end}], mode,
        notice, confidence, timings."""
        try:
            return self.assistant.ask(question, history or []).model_dump()
        except QAError as err:
            raise gr.Error(str(err)) from err

    def welcome(self) -> dict[str, Any]:
        """What the empty chat shows: the indexed documents, and a few questions made from
        their text that a click asks (so a first visit sees what it can ask)."""
        documents = self.assistant.documents()
        if not documents:
            placeholder = (
                '<div class="qa-welcome"><p>Nothing is indexed yet: upload files '
                f"({UPLOAD_NAMES}) under Documents.</p></div>"
            )
            return gr.update(placeholder=placeholder, examples=None)
        named = [
            f"{_text(name)} ({lines} line{'' if lines == 1 else 's'})"
            for name, lines in documents.items()
        ]
        listed = ", ".join(named[:WELCOME_DOCUMENTS])
        if len(named) > WELCOME_DOCUMENTS:
            listed += f" and {len(named) - WELCOME_DOCUMENTS} more"
        examples = [{"text": q} for q in self.assistant.example_questions()]
        placeholder = (
            f'<div class="qa-welcome"><p><strong>Indexed ({len(named)}):</strong> {listed}.</p>'
            "<p>Ask a question about them; every answer cites the lines it rests on."
            + (" For example:" if examples else "")
            + "</p></div>"
        )
        return gr.update(placeholder=placeholder, examples=examples or None)

    # -- sources -------------------------------------------------------------------------

    def documents_table(self) -> list[list[Any]]:
        return [[name, lines] for name, lines in self.assistant.documents().items()]

    def _choices(self) -> Any:
        return gr.update(choices=list(self.assistant.documents()), value=None)

    def refresh(self) -> tuple[Any, Any, Any]:
        """The documents table, the remove list and the empty chat as the index is now (on
        every page load: another tab or a reload must not show a stale list)."""
        return self.documents_table(), self._choices(), self.welcome()

    def show_source(self, address: str) -> str:
        address = (address or "").strip()
        if not address:
            return "<p>Choose a citation to see its source.</p>"
        match = _CITE.match(address)
        if not match:
            return "<p>That is not a line address (file:line).</p>"
        source = match["source"]
        start = int(match["start"])
        end = int(match["end"] or start)
        span = (int(match["from"]), int(match["to"])) if match["from"] else None
        documents = self.assistant.documents()
        if source not in documents:  # only indexed documents, whatever the request says
            return "<p>That is not an indexed document (it may have been removed).</p>"
        if match["page"]:
            return self._show_page(source, int(match["page"]), start, end, span)
        # A window around the cited lines, never the whole document: a small Word file can
        # hold millions of (empty) paragraphs, and the panel would be hundreds of MB.
        first = max(1, start - SOURCE_CONTEXT_LINES)
        last = min(documents[source], end + SOURCE_CONTEXT_LINES)
        stored = {
            line.line: line.text
            for line in self.assistant.lines(source)
            if first <= line.line <= last
        }
        rows = []
        if first > 1:
            rows.append(_elided(f"lines 1–{first - 1} not shown"))
        for number in range(first, last + 1):
            line = stored.get(number, "")
            marked = span if number == start else None
            rows.append(_row(number, line, start <= number <= end, marked))
        if last < documents[source]:
            rows.append(_elided(f"lines {last + 1}–{documents[source]} not shown"))
        return _panel(source, start, end, rows)

    def _show_page(
        self, source: str, page: int, start: int, end: int, span: tuple[int, int] | None
    ) -> str:
        """A paged document's cited page, its lines numbered as on the page. The span is
        given in the indexed paragraph's characters; each visual line marks its share."""
        shown = self.assistant.page(source, page)
        if not shown:
            return f"<p>{html.escape(source)} has no indexed text on page {page}.</p>"
        rows = []
        for anchor, line in shown:
            marked = None
            if span and start <= anchor.line <= end:
                lo, hi = max(span[0] - anchor.offset, 0), min(span[1] - anchor.offset, len(line))
                marked = (lo, hi) if lo < hi else None
            rows.append(_row(anchor.line, line, start <= anchor.line <= end, marked))
        return _panel(f"{source}, page {page}", start, end, rows)

    def upload(self, files: list[Any] | None, progress: gr.Progress | None = None) -> tuple:
        """Copy the chosen files into the upload folder and index those files. A file the
        index refuses (empty, binary...) is not kept there (an earlier upload of that name
        comes back), so it is reported once, not again with every later upload."""
        if not files:
            gr.Warning(f"Choose one or more files ({UPLOAD_NAMES}) first.")
            return gr.skip(), gr.skip(), gr.skip()
        progress = progress or gr.Progress()
        known = self.assistant.documents()
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        messages = []
        copied: dict[str, bytes | None] = {}  # name -> what it replaced, if anything
        for file in files:
            path = Path(getattr(file, "name", file))
            name = Path(getattr(file, "orig_name", "") or path.name).name
            if path.suffix.lower() not in UPLOAD_TYPES:
                messages.append(f"{name}: not a supported file ({UPLOAD_NAMES})")
                continue
            limit = self.assistant.settings.ui.upload_max_mb
            if path.stat().st_size > limit * 2**20:
                messages.append(f"{name}: larger than {limit} MB")
                continue
            target = self.upload_dir / name
            if name in known and not target.exists():
                messages.append(f"{name}: a document of that name is already indexed")
                continue
            copied[name] = target.read_bytes() if target.exists() else None
            shutil.copyfile(path, target)
        done: list[str] = []
        if copied:
            progress(0.3, desc="indexing")
            report = self.assistant.index([self.upload_dir / name for name in copied])
            for skip in report.skipped:
                name = Path(skip.path).name
                messages.append(f"{name}: {skip.reason}")
                if name in copied:
                    self._take_back(name, copied[name])
            done = report.new + report.changed
        summary = f"Indexed {len(done)} file(s): {', '.join(done) or 'none'}."
        if messages:
            summary += " Skipped: " + "; ".join(messages)
        (gr.Info if done else gr.Warning)(html.escape(summary))
        return self.documents_table(), self._choices(), None

    def _take_back(self, name: str, previous: bytes | None) -> None:
        """Undo the copy of a file the index refused: restore what it replaced, or remove it."""
        target = self.upload_dir / name
        if previous is None:
            target.unlink(missing_ok=True)
        else:
            target.write_bytes(previous)

    def ask_remove(self, source: str | None) -> tuple[Any, str, str | None]:
        """The first click on "Remove from index" only asks: removing is not undone."""
        if not source:
            gr.Warning("Choose a document to remove first.")
            return gr.update(visible=False), "", None
        question = (
            f"<p>Remove <strong>{_text(source)}</strong> from the index? "
            "Questions will no longer find it; to bring it back, upload it again.</p>"
        )
        return gr.update(visible=True), question, source

    def remove(self, source: str | None, shown: str | None) -> tuple:
        """Remove the confirmed document; the source panel lets go of it if it showed it."""
        hidden = gr.update(visible=False)
        if not source:
            return gr.skip(), gr.skip(), gr.skip(), hidden, None
        if self.assistant.remove(source):
            uploaded = self.upload_dir / source
            if uploaded.is_file():
                uploaded.unlink()  # else a later upload run would index it again
            gr.Info(html.escape(f"Removed {source}."))
        else:
            gr.Warning(html.escape(f"{source} is not indexed."))
        panel: Any = gr.skip()
        match = _CITE.match((shown or "").strip())
        if match and match["source"] == source:
            panel = f"<p>{html.escape(source)} was removed from the index.</p>"
        return self.documents_table(), self._choices(), panel, hidden, None


def build_app(assistant: Assistant, upload_dir: Path) -> gr.Blocks:
    """The page: the chat and its settings, the source panel, the documents. What depends on
    the index (the documents, the empty chat's examples) is read again on every page load."""
    page = ChatPage(assistant, upload_dir)
    upload_max_mb = assistant.settings.ui.upload_max_mb
    modes = ["reader", "llm"] if assistant.llm_enabled else ["reader"]
    if assistant.llm_enabled:
        about_modes = "reader: the offline reader model; llm: the model QA_LLM_MODEL names."
    else:
        about_modes = (
            "reader: the offline reader model. An LLM can answer instead: set QA_LLM_MODEL "
            "(a litellm model name, with QA_LLM_API_BASE / QA_LLM_API_KEY as it needs) and "
            "restart."
        )
    welcome = page.welcome()
    with gr.Blocks(title="qa: ask your sources") as app:
        gr.Markdown(
            "## Ask your sources\nEvery answer cites the lines it rests on; "
            "click a reference to see it in its document."
        )
        with gr.Row():
            with gr.Column(scale=3):
                chat = gr.Chatbot(
                    label="Chat",
                    height=520,
                    elem_id="qa-chat",
                    feedback_options=None,
                    sanitize_html=True,
                    # Messages are HTML this page wrote, content escaped: never Markdown, so
                    # nothing in a document or a reply becomes an image or a link.
                    render_markdown=False,
                    latex_delimiters=[],
                    # No share (it posts to Hugging Face; this page is offline) and no copy
                    # (it would copy the message's HTML): selecting text copies it.
                    buttons=[],
                    placeholder=welcome["placeholder"],
                    examples=welcome["examples"],
                )
                question = gr.Textbox(
                    placeholder="Ask a question and press Enter",
                    show_label=False,
                    elem_id="qa-question",
                    lines=1,
                )
                with gr.Row():
                    send = gr.Button("Ask", variant="primary", elem_id="qa-send")
                    clear = gr.Button("New conversation")
                with gr.Accordion("Settings", open=False):
                    mode = gr.Radio(modes, value=modes[-1], label="Answer with", info=about_modes)
                    top_k = gr.Slider(
                        1,
                        MAX_TOP_K,  # as many as the CLI and the API allow
                        value=assistant.lines_read(modes[-1]),
                        step=1,
                        label="Lines to retrieve (top-k)",
                    )
            with gr.Column(scale=2):
                source = gr.HTML(SOURCE_PROMPT, elem_id="qa-source")
                with gr.Accordion("Documents", open=False):
                    docs = gr.Dataframe(
                        page.documents_table(),
                        headers=["document", "lines"],
                        interactive=False,
                        elem_id="qa-docs",
                    )
                    # No file_types: Gradio would refuse another type with an error on every
                    # output of the upload; `upload` says which file was refused and why.
                    files = gr.File(
                        label=f"{UPLOAD_NAMES}, up to {upload_max_mb} MB each",
                        file_count="multiple",
                        elem_id="qa-upload",
                    )
                    upload = gr.Button("Upload and index")
                    doc_choice = gr.Dropdown(
                        list(assistant.documents()),
                        value=None,  # nothing is chosen for removal until a person chooses
                        label="Document",
                        elem_id="qa-doc-choice",
                    )
                    remove = gr.Button("Remove from index")
                    with gr.Group(visible=False, elem_id="qa-remove-confirm") as confirm:
                        confirm_text = gr.HTML(elem_id="qa-remove-question")
                        with gr.Row():
                            confirmed = gr.Button("Yes, remove it", variant="stop")
                            cancel = gr.Button("Cancel")
        cite_box = gr.Textbox(elem_id="qa-cite-box", show_label=False, container=False)
        cite_go = gr.Button("show", elem_id="qa-cite-go")
        pending = gr.State(None)  # the document the confirmation is about

        private: dict[str, Any] = {"api_visibility": "private"}
        quietly: dict[str, Any] = {**private, "show_progress": "hidden"}
        conversation = gr.State([])  # the Turns behind the chat (ChatPage.respond)
        inputs = [question, chat, conversation, mode, top_k]
        outputs = [chat, question, conversation]
        app.load(page.refresh, None, [docs, doc_choice, chat], **quietly)
        mode.change(assistant.lines_read, mode, top_k, **private)
        question.submit(page.respond, inputs, outputs, api_name="chat")
        send.click(page.respond, inputs, outputs, **private)
        chat.example_select(page.ask_example, [chat, conversation, mode, top_k], outputs, **private)
        # A new conversation starts with nothing cited: the source panel is emptied too.
        clear.click(
            lambda: ([], "", [], SOURCE_PROMPT, ""),
            None,
            [*outputs, source, cite_box],
            **private,
        )
        cite_go.click(page.show_source, cite_box, source, api_name="source").then(
            None, None, None, js=SCROLL_JS
        )
        upload.click(page.upload, files, [docs, doc_choice, files], **private).then(
            page.welcome, None, chat, **quietly
        )
        remove.click(page.ask_remove, doc_choice, [confirm, confirm_text, pending], **private)
        confirmed.click(
            page.remove,
            [pending, cite_box],
            [docs, doc_choice, source, confirm, pending],
            **private,
        ).then(page.welcome, None, chat, **quietly)
        # Cancelled, or another document chosen: the question no longer stands.
        for event in (cancel.click, doc_choice.input):
            event(lambda: (gr.update(visible=False), None), None, [confirm, pending], **private)
        gr.api(page.answer_api, api_name="answer")
    return app


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, auth: str | None) -> tuple[str, str] | None:
    """Any address but loopback needs credentials ("user:password")."""
    credentials = None
    if auth:
        user, sep, password = auth.partition(":")
        if not sep or not user or not password:
            raise QAError("--auth must be user:password")
        credentials = (user, password)
    if not _is_loopback(host) and credentials is None:
        raise QAError(
            f"refusing to serve on {host} without authentication: set QA_AUTH=user:password "
            "or pass --auth, or bind 127.0.0.1"
        )
    return credentials


def launch(
    settings: Settings, *, block: bool = True, notify: Callable[[str], None] | None = None
) -> Any:
    """Open the index (building it from the corpus if missing) and serve the page. `notify`
    is told, one line at a time, what a slow start is doing and where the page is served."""
    say = notify or (lambda message: None)
    credentials = check_binding(settings.ui.host, settings.ui.auth)
    assistant = Assistant(settings, notify=say)
    app = build_app(assistant, settings.index.data_dir / "uploads")
    # A few questions at once (Settings.answers_at_once): answering is CPU-bound, so more
    # parallel work only makes every reply slower; the queue keeps the rest waiting in order.
    app.queue(default_concurrency_limit=settings.ui.answers_at_once, max_size=256)
    say(f"serving on http://{settings.ui.host}:{settings.ui.port}")
    return app.launch(
        server_name=settings.ui.host,
        server_port=settings.ui.port,
        share=False,
        auth=credentials,
        max_file_size=f"{settings.ui.upload_max_mb}mb",
        prevent_thread_lock=not block,
        quiet=True,
        footer_links=["api"],
        css=CSS,
        head=HEAD_JS,
    )
