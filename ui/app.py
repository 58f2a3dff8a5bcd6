"""The Gradio chat page: a thin shell over `qa.Assistant`.

A reply shows the short answer, the quoted lines and clickable citations; clicking one opens
the source panel on that document with the cited lines highlighted and scrolled into view.
The panel renders documents from the index, never from a path a browser sends, so it can
only ever show indexed text.
"""

from __future__ import annotations

import html
import ipaddress
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from qa import Answer, Assistant, Citation, QAError, Settings

UPLOAD_TYPES = (".txt", ".md")
MAX_UPLOAD_MB = 5
# file:line or file:start-end, optionally with the answer's character span in the line
# (file:line~from-to), which the source panel marks.
_CITE = re.compile(
    r"^(?P<source>.+):(?P<start>\d{1,9})(?:-(?P<end>\d{1,9}))?(?:~(?P<from>\d{1,9})-(?P<to>\d{1,9}))?$"
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
# Scroll the document box (not the whole page) so the first cited line is in the middle.
SCROLL_JS = """() => {
  setTimeout(() => {
    const box = document.querySelector("#qa-source .qa-doc");
    const line = document.querySelector("#qa-source .qa-hl");
    if (box && line) box.scrollTop = line.offsetTop - box.clientHeight / 2;
  }, 100);
}"""
CSS = """
#qa-cite-box, #qa-cite-go { display: none !important; }
#qa-source .qa-doc { max-height: 560px; overflow-y: auto; position: relative;
                     font-size: 0.9em; border: 1px solid #ddd; border-radius: 6px; }
#qa-source table { border-collapse: collapse; width: 100%; margin: 0; }
#qa-source td { border: none !important; padding: 2px 6px; }
#qa-source td.n { color: #888; text-align: right; padding-right: 0.8em; user-select: none;
                  vertical-align: top; white-space: nowrap; }
#qa-source tr.qa-hl td { background: #fff3b0; }
#qa-source tr.qa-hl td.n { color: #7a5d00; font-weight: bold; }
#qa-source mark.qa-span { background: #ffb347; padding: 0 1px; border-radius: 2px; }
"""


def cite_address(c: Citation) -> str:
    """What a citation link hands to the source panel: the lines, and the answer's span in
    the line when the answer was read from it."""
    if c.span_start is not None and c.span_end is not None:
        return f"{c.label}~{c.span_start}-{c.span_end}"
    return c.label


def render_answer(answer: Answer) -> str:
    """A reply as chat markdown: the short answer, the reply, quoted lines, references."""
    if answer.abstained:
        parts = [answer.text]
    else:
        parts = []
        if answer.answer:
            parts.append(f"**{answer.answer}**")
        if answer.mode == "llm" and answer.text:
            parts.append(answer.text)
        for c in answer.citations:
            parts.append(f"> {c.quote}\n>\n> — [{c.label}](#cite:{cite_address(c)})")
    footer = f"_answered by: {answer.mode}_"
    if answer.confidence is not None and not answer.abstained:
        footer += f" · _confidence {answer.confidence:.0%}_"
    if answer.notice:
        footer += f" · _{answer.notice}_"
    return "\n\n".join([*parts, footer])


def _turns(history: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Earlier exchanges as question/answer pairs, for follow-up questions."""
    turns = []
    question = None
    for message in history or []:
        role, content = message.get("role"), message.get("content")
        text = content if isinstance(content, str) else ""
        if role == "user":
            question = text
        elif role == "assistant" and question is not None:
            first = text.split("\n", 1)[0].strip("*")
            turns.append({"question": question, "answer": first})
            question = None
    return turns


class ChatPage:
    """The page's callbacks, bound to one assistant."""

    def __init__(self, assistant: Assistant, upload_dir: Path) -> None:
        self.assistant = assistant
        self.upload_dir = upload_dir

    # -- chat ----------------------------------------------------------------------------

    def respond(
        self, message: str, history: list[dict[str, Any]], mode: str, top_k: float
    ) -> Iterator[tuple[list[dict[str, Any]], str]]:
        history = list(history or [])
        question = (message or "").strip()
        if not question:
            yield history, ""
            return
        history.append({"role": "user", "content": question})
        history.append({"role": "assistant", "content": ""})
        yield history, ""
        try:
            streamed = ""
            for piece in self.assistant.ask_stream(
                question, _turns(history[:-2]), mode=mode, top_k=int(top_k)
            ):
                if isinstance(piece, Answer):
                    history[-1] = {"role": "assistant", "content": render_answer(piece)}
                else:
                    streamed += piece
                    history[-1] = {"role": "assistant", "content": streamed}
                yield history, ""
        except QAError as err:
            history[-1] = {"role": "assistant", "content": f"⚠️ {err}"}
            yield history, ""
        except Exception as err:  # a page must never show a traceback
            history[-1] = {"role": "assistant", "content": f"⚠️ unexpected error: {err}"}
            yield history, ""

    def answer_api(self, question: str, history: list[dict[str, str]] | None = None) -> dict:
        """The structured answer (the Python API's `Answer`): answer, text, abstained,
        citations [{source, line_start, line_end, quote, span_start, span_end}], mode,
        notice, confidence, timings."""
        try:
            return self.assistant.ask(question, history or []).model_dump()
        except QAError as err:
            raise gr.Error(str(err)) from err

    # -- sources -------------------------------------------------------------------------

    def documents_table(self) -> list[list[Any]]:
        return [[name, lines] for name, lines in self.assistant.documents().items()]

    def _choices(self) -> Any:
        return gr.update(choices=list(self.assistant.documents()), value=None)

    def show_source(self, address: str) -> str:
        match = _CITE.match((address or "").strip())
        if not match:
            return "<p>Choose a citation to see its source.</p>"
        source = match["source"]
        start = int(match["start"])
        end = int(match["end"] or start)
        span = (int(match["from"]), int(match["to"])) if match["from"] else None
        documents = self.assistant.documents()
        if source not in documents:  # only indexed documents, whatever the request says
            return "<p>That is not an indexed document.</p>"
        stored = {line.line: line.text for line in self.assistant.lines(source)}
        rows = []
        for number in range(1, documents[source] + 1):
            cls = ' class="qa-hl"' if start <= number <= end else ""
            line = stored.get(number, "")
            if span and number == start and 0 <= span[0] < span[1] <= len(line):
                text = (
                    html.escape(line[: span[0]])
                    + f'<mark class="qa-span">{html.escape(line[span[0] : span[1]])}</mark>'
                    + html.escape(line[span[1] :])
                )
            else:
                text = html.escape(line)
            rows.append(
                f'<tr{cls} id="qa-line-{number}"><td class="n">{number}</td><td>{text}</td></tr>'
            )
        where = f"line {start}" if end == start else f"lines {start}–{end}"
        title = html.escape(f"{source} ({where})")
        return f'<h4>{title}</h4><div class="qa-doc"><table>{"".join(rows)}</table></div>'

    def upload(self, files: list[Any] | None, progress: gr.Progress | None = None) -> tuple:
        if not files:
            raise gr.Error("Choose one or more .txt or .md files first.")
        progress = progress or gr.Progress()
        known = self.assistant.documents()
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        messages = []
        for file in files:
            path = Path(getattr(file, "name", file))
            name = Path(getattr(file, "orig_name", "") or path.name).name
            if path.suffix.lower() not in UPLOAD_TYPES:
                messages.append(f"{name}: not a .txt or .md file")
                continue
            if path.stat().st_size > MAX_UPLOAD_MB * 2**20:
                messages.append(f"{name}: larger than {MAX_UPLOAD_MB} MB")
                continue
            target = self.upload_dir / name
            if name in known and not target.exists():
                messages.append(f"{name}: a document of that name is already indexed")
                continue
            shutil.copyfile(path, target)
        progress(0.3, desc="indexing")
        report = self.assistant.index([self.upload_dir])
        for skip in report.skipped:
            messages.append(f"{Path(skip.path).name}: {skip.reason}")
        done = report.new + report.changed
        summary = f"Indexed {len(done)} file(s): {', '.join(done) or 'none'}."
        if messages:
            summary += " Skipped: " + "; ".join(messages)
        gr.Info(summary)
        return self.documents_table(), self._choices(), None

    def remove(self, source: str | None) -> tuple:
        if not source:
            raise gr.Error("Choose a document to remove.")
        if not self.assistant.remove(source):
            raise gr.Error(f"{source} is not indexed.")
        uploaded = self.upload_dir / source
        if uploaded.is_file():
            uploaded.unlink()  # else a later upload run would index it again
        gr.Info(f"Removed {source}.")
        return self.documents_table(), self._choices()


def build_app(assistant: Assistant, upload_dir: Path) -> gr.Blocks:
    page = ChatPage(assistant, upload_dir)
    modes = ["reader", "llm"] if assistant.llm_enabled else ["reader"]
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
                    mode = gr.Radio(modes, value=modes[-1], label="Answer with")
                    top_k = gr.Slider(
                        1,
                        30,
                        value=assistant.lines_read(modes[-1]),
                        step=1,
                        label="Lines to retrieve (top-k)",
                    )
            with gr.Column(scale=2):
                source = gr.HTML("<p>Click a reference to see its source.</p>", elem_id="qa-source")
                with gr.Accordion("Documents", open=False):
                    docs = gr.Dataframe(
                        page.documents_table(),
                        headers=["document", "lines"],
                        interactive=False,
                        elem_id="qa-docs",
                    )
                    files = gr.File(
                        label=f".txt or .md, up to {MAX_UPLOAD_MB} MB each",
                        file_count="multiple",
                        file_types=list(UPLOAD_TYPES),
                        elem_id="qa-upload",
                    )
                    upload = gr.Button("Upload and index")
                    doc_choice = gr.Dropdown(list(assistant.documents()), label="Document")
                    remove = gr.Button("Remove from index")
        cite_box = gr.Textbox(elem_id="qa-cite-box", show_label=False, container=False)
        cite_go = gr.Button("show", elem_id="qa-cite-go")

        inputs = [question, chat, mode, top_k]
        mode.change(assistant.lines_read, mode, top_k, api_visibility="private")
        question.submit(page.respond, inputs, [chat, question], api_name="chat")
        send.click(page.respond, inputs, [chat, question], api_visibility="private")
        clear.click(lambda: ([], ""), None, [chat, question], api_visibility="private")
        cite_go.click(page.show_source, cite_box, source, api_name="source").then(
            None, None, None, js=SCROLL_JS
        )
        upload.click(page.upload, files, [docs, doc_choice, files], api_visibility="private")
        remove.click(page.remove, doc_choice, [docs, doc_choice], api_visibility="private")
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


def launch(settings: Settings, *, block: bool = True) -> Any:
    """Open the index (building it from the corpus if missing) and serve the page."""
    credentials = check_binding(settings.host, settings.auth)
    assistant = Assistant(settings)
    app = build_app(assistant, settings.data_dir / "uploads")
    # A few questions at once: answering is CPU-bound on two cores, so more parallel work
    # only makes every reply slower; the queue keeps the rest waiting in order.
    app.queue(default_concurrency_limit=4, max_size=256)
    return app.launch(
        server_name=settings.host,
        server_port=settings.port,
        share=False,
        auth=credentials,
        max_file_size=f"{MAX_UPLOAD_MB}mb",
        prevent_thread_lock=not block,
        quiet=True,
        footer_links=["api"],
        css=CSS,
        head=HEAD_JS,
    )
