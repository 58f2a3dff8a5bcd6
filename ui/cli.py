"""The `qa` command: a thin shell over the index and the answering API.

Heavy libraries (litellm, gradio) are imported inside the commands that need them, so
`qa --help` and `qa index` start quickly.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from index import IndexError_, ingest
from index.errors import IngestInterrupted, first_line
from qa.settings import MAX_TOP_K, Settings, setting_name
from qa.types import escape_controls

log = logging.getLogger(__name__)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Ask questions of your documents; every answer cites the source lines.",
)
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


class Fail(Exception):
    """A user-facing error: printed as one line, exit code 1."""


def _say(console: Console, text: str) -> None:
    """Print one line as plain text: control characters (a newline in a file's name, an
    escape sequence) are shown escaped, so one message is always one line."""
    console.print(escape_controls(str(text)), markup=False, highlight=False)


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


@app.callback()
def _global(
    ctx: typer.Context,
    data_dir: Annotated[Path | None, typer.Option(help="Where the index is kept.")] = None,
    chroma_url: Annotated[
        str | None, typer.Option(help="Use a Chroma server, e.g. http://127.0.0.1:8000.")
    ] = None,
    collection: Annotated[str | None, typer.Option(help="Chroma collection name.")] = None,
    embed_model: Annotated[
        str | None, typer.Option(help="Embedding model: local default or a litellm name.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what each step does (QA_LOG_LEVEL=INFO).")
    ] = False,
) -> None:
    base = ctx.obj if isinstance(ctx.obj, Settings) else Settings()
    ctx.obj = base.with_overrides(
        data_dir=data_dir,
        chroma_url=chroma_url,
        collection=collection,
        embed_model=embed_model,
        log_level="INFO" if verbose and base.log_level != "DEBUG" else None,
    )
    ctx.obj.configure_logging()


@app.command("index")
def index_command(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the corpus).")
    ] = None,
    rebuild: Annotated[bool, typer.Option(help="Drop the collection and index anew.")] = False,
    chunk_size: Annotated[int | None, typer.Option(help="Max tokens per chunk.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the summary.")] = False,
) -> None:
    """Index .txt, .md, .pdf, .html and .docx files (recursively); unchanged files are not
    read again."""
    settings = _settings(ctx).with_overrides(chunk_size=chunk_size)
    targets = paths or [settings.corpus]
    report = ingest(settings.index, targets, rebuild=rebuild, console=err)
    for skip in report.skipped:
        _say(err, f"skipped {skip.path}: {skip.reason}")
    for note in report.notes:
        _say(err, f"note: {note}")
    if not quiet:
        for label, names in (
            ("new", report.new),
            ("changed", report.changed),
            ("removed", report.removed),
            ("repaired", report.repaired),
        ):
            for name in names:
                _say(out, f"{label}: {name}")
    _say(out, report.summary())
    if not report.ok:
        raise Fail("nothing could be indexed from " + ", ".join(str(p) for p in targets))


@app.command("ask")
def ask_command(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    top_k: Annotated[
        int | None,
        typer.Option(min=1, max=MAX_TOP_K, help="Lines to read (default: 8, or 16 for an LLM)."),
    ] = None,
    mode: Annotated[
        str | None, typer.Option(help="reader, or llm when QA_LLM_MODEL is set.")
    ] = None,
    llm_model: Annotated[str | None, typer.Option(help="A litellm model name.")] = None,
    llm_api_base: Annotated[str | None, typer.Option(help="The model's endpoint.")] = None,
    follow_up: Annotated[
        bool,
        typer.Option(
            "--continue",
            "-c",
            help="Continue the last conversation: the question may lean on the ones before.",
        ),
    ] = False,
) -> None:
    """Answer a question from the index, citing the lines that support the answer."""
    from qa import (
        Assistant,
        QAError,
        confidence_words,
        load_conversation,
        save_conversation,
        turn_after,
    )

    settings = _settings(ctx).with_overrides(llm_model=llm_model, llm_api_base=llm_api_base)
    data_dir = settings.index.data_dir
    history = load_conversation(data_dir) if follow_up else []
    try:  # the question and the mode are checked by Assistant, for every caller alike
        # (a first start's build, or a keyword index brought up to date, is said on stderr)
        assistant = Assistant(settings, notify=lambda line: _say(err, f"note: {line}"))
        answer = assistant.ask(question, history, mode=mode, top_k=top_k)
    except QAError as exc:
        raise Fail(str(exc)) from exc
    with contextlib.suppress(OSError):  # a read-only data dir: answered, just not kept
        save_conversation(data_dir, [*history, turn_after(answer)])
    if as_json:
        print(answer.model_dump_json())
        return
    for line in answer.text.split("\n"):  # a reply is several lines; each is shown as is
        _say(out, line)
    missing = [c for c in answer.citations if c.label not in answer.text]
    if missing:
        out.print("")
        for c in missing:
            _say(out, f"{c.label}  “{c.quote}”")
    if answer.notice:
        _say(err, f"note: {answer.notice}")
    if answer.confidence is not None:
        _say(err, confidence_words(answer))


@app.command(
    "eval",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def eval_command(ctx: typer.Context) -> None:
    """Score the answerer on a gold or SQuAD question set (see `qa eval --help`)."""
    from evals.run import run_eval  # imported only when evaluating

    sub = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    sub.command()(run_eval)
    try:
        sub(args=list(ctx.args), prog_name="qa eval", standalone_mode=False, obj=_settings(ctx))
    except (ValueError, OSError) as exc:
        raise Fail(str(exc)) from exc


@app.command("chat")
def chat_command(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 7860).")] = None,
    auth: Annotated[
        str | None, typer.Option(help="user:password; required to bind beyond loopback.")
    ] = None,
) -> None:
    """Open the chat page over the index (building it from the corpus if missing)."""
    from qa.assistant import QAError
    from ui.app import check_binding, launch  # a shell over qa; imported only when serving

    settings = _settings(ctx).with_overrides(host=host, port=port, auth=auth)
    try:
        check_binding(settings.ui.host, settings.ui.auth)  # refuse before indexing or serving
        # A first start indexes the corpus before it serves: say so, or it looks stuck;
        # "serving on" comes once the page is built.
        launch(settings, notify=lambda line: _say(err, line))
    except QAError as exc:
        raise Fail(str(exc)) from exc
    except OSError as exc:
        raise Fail(
            f"cannot serve on {settings.ui.host}:{settings.ui.port} ({exc.strerror or exc})"
        ) from exc


def _is_usage_error(exc: Exception) -> bool:
    """A bad flag or command. Typer raises its own copy of click's exceptions (typer._click)
    or click's, depending on its version; both print usage and one line."""
    return hasattr(exc, "show") and hasattr(exc, "exit_code") and "click" in type(exc).__module__


def main(argv: list[str] | None = None) -> None:
    """Entry point: every failure a user can cause ends as one line on stderr."""
    settings: Settings | None = None
    try:
        settings = Settings()  # read once; flags override it per command
        code = app(args=argv, standalone_mode=False, obj=settings)
        if isinstance(code, int) and code:
            # Typer returns 130 for a Ctrl-C it caught, instead of raising it.
            if code == 130:
                _say(err, "interrupted")
            sys.exit(code)
    except IngestInterrupted as exc:
        _say(err, f"interrupted: {exc}")
        sys.exit(130)
    except (Fail, IndexError_) as exc:
        _say(err, f"error: {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        _say(err, "interrupted")
        sys.exit(130)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = setting_name(tuple(problem.get("loc", ())))
        message = problem.get("msg", str(exc))
        _say(err, f"error: invalid {where}: {message}")
        sys.exit(1)
    except SystemExit:
        raise
    except Exception as exc:  # last resort: never show a traceback to a user
        if _is_usage_error(exc):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        if settings is not None and settings.debug:
            raise
        log.debug("unexpected error", exc_info=exc)
        err.print(
            f"error: {type(exc).__name__}: {first_line(exc)} (set QA_DEBUG=1 for details)",
            markup=False,
            highlight=False,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
