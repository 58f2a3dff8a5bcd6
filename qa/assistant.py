"""The public answering API: `Assistant(...).ask(question, history)`.

One object owns the opened index, the retriever and the answerers, so the chat page, the
CLI, the evaluation and users' scripts all get the same behaviour from the same code.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

from index import (
    CollectionMissingError,
    IndexError_,
    IngestReport,
    KeywordStore,
    StoredLine,
    ingest,
    open_store,
    writer_busy,
)
from index.embeddings import OnnxMiniLMEmbedding, make_embed_model
from index.errors import first_line
from index.layout import Anchor, visual_lines
from index.text import terms
from qa.answerers import Answerer, AnswerError, AnswerUnavailable, ReaderReplies
from qa.citing import cite
from qa.conversation import SURROGATES, HistoryLike, lookup_query, turns
from qa.examples import example_questions
from qa.reader import ClaimChecker, ReaderAnswerer, ReaderModel
from qa.retrieval import HybridRetriever, LineHit
from qa.settings import MAX_TOP_K, Settings
from qa.types import NO_ANSWER, Answer, RetrievedLine, Timings, Turn

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
# Example questions are made from the opening lines of the first few documents: enough to
# find a name or two in each, without reading a large index.
_EXAMPLE_DOCUMENTS = 12
_EXAMPLE_LINES = 20
_EXAMPLE_CANDIDATES = 4  # candidates asked for each example shown


class QAError(Exception):
    """A problem the user can fix, with a one-line message (bad question, no index...)."""


class QuestionError(QAError):
    """The question itself cannot be asked (empty, for instance)."""


class Assistant:
    """Answers questions over the configured index, citing the lines that support them.

    Opening builds the index from the corpus when the collection does not exist yet, so a
    first run needs no separate step. That can take minutes: `notify`, if given, is told in
    one line when it starts and when it is done, so a command can say what it is doing.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        build_if_missing: bool = True,
        notify: Callable[[str], None] | None = None,
        **overrides: object,
    ) -> None:
        self.settings = (settings or Settings()).with_overrides(**overrides)
        self._notify = notify or (lambda message: None)
        self._examples: tuple[object, list[str]] | None = None
        self._config = self.settings.index
        try:
            self._open(build_if_missing)
        except IndexError_ as err:
            raise QAError(str(err)) from err

    def _open(self, build_if_missing: bool) -> None:
        answering = self.settings.answering
        self._embed = make_embed_model(self._config)
        if isinstance(self._embed, OnnxMiniLMEmbedding):
            self._embed.warm()
        # Loads in the background while the index opens; a broken model file is reported by
        # the first question that needs it.
        self._reader_model = (
            ReaderModel(answering.reader_dir) if answering.reader_dir else ReaderModel()
        )
        self._reader_model.warm()
        self.build_report: IngestReport | None = None
        self._lock = threading.RLock()
        try:
            self.store = open_store(self._config)
            missing = False
        except CollectionMissingError as err:
            if not build_if_missing:
                raise QAError(str(err)) from err
            missing = True
        # The default corpus is built only into a data dir that has never held this index:
        # an index emptied by removing its documents stays empty, and one being written by
        # `qa index` is never built into by a question.
        if missing and writer_busy(self._config):
            raise QAError(
                f"`qa index` is writing the first index in {self._config.data_dir} now; "
                "ask again when it has finished"
            )
        if missing:
            corpus = self.settings.corpus
            if not corpus.exists():
                raise QAError(
                    f"no index yet in {self.settings.index.data_dir}: build one with `qa index "
                    f"FOLDER` (the default corpus, {corpus}, is not here)"
                )
            self._notify(f"no index yet: indexing {corpus} (first start; this can take minutes)")
            self.build_report = self.index([corpus])
            self._notify(f"indexed {corpus}: {self.build_report.summary()}")
            if not self.build_report.ok:
                reasons = "; ".join(f"{x.path}: {x.reason}" for x in self.build_report.skipped[:3])
                raise QAError(
                    f"no index yet, and nothing could be indexed from {self.settings.corpus}"
                    + (f" ({reasons})" if reasons else "")
                )
            self.store = open_store(self._config)
        self.keywords = KeywordStore.open(self._config)
        if self.keywords.damaged:
            self._notify("the keyword index could not be read; rebuilding it from the store")
        self.retriever = HybridRetriever(
            self.store,
            self._embed,
            self.settings.retrieval.mode,
            keywords=self.keywords,
            notify=self._notify,
        )
        self.reader = ReaderAnswerer(
            self._reader_model,
            answer_threshold=answering.answer_threshold,
            cite_threshold=answering.cite_threshold,
            answer_span=answering.answer_span,
            further_citations=answering.further_citations,
        )
        self.reader_replies = ReaderReplies(
            self.reader, self.retriever.neighbours, resolve=answering.follow_up == "resolved"
        )
        self._llm = None
        if answering.llm_model:
            from qa.llm import LLMAnswerer

            # With claim_check "read", the reader also decides whether a cited line supports
            # the LLM's answer.
            check = None
            if answering.claim_check == "read":
                check = ClaimChecker(self._reader_model, self.retriever.neighbours)
            self._llm = LLMAnswerer(self.settings, check=check)

    # -- the index ---------------------------------------------------------------------

    def index(self, paths: list[Path], *, rebuild: bool = False) -> IngestReport:
        """Add or refresh documents; the next question sees them."""
        with self._lock:
            report = ingest(
                self._config, paths, rebuild=rebuild, embed_model=self._embed, progress=False
            )
            if hasattr(self, "retriever"):
                self.retriever.invalidate()
            return report

    def remove(self, source: str) -> bool:
        with self._lock:
            known = source in self.store.manifest()
            if known:
                self.store.delete_source(source)
                self.keywords.remove(source)
                self.retriever.invalidate()
            return known

    def drop_index(self) -> None:
        """Delete this assistant's whole collection (evaluations index into a scratch one and
        must not leave it behind on a shared Chroma server)."""
        with self._lock:
            self.store.drop()
            self.keywords.discard()
            self.retriever.invalidate()

    def documents(self) -> dict[str, int]:
        """Indexed documents and their line counts."""
        return {s: e.doc_lines for s, e in sorted(self.store.manifest().items())}

    def lines(self, source: str) -> list[StoredLine]:
        """A document's lines, from the index (so only indexed documents can be shown)."""
        return self.store.lines(source)

    def page(self, source: str, page: int) -> list[tuple[Anchor, str]]:
        """One page of a paged document as a person sees it: its visual lines in order, each
        with where it starts in its indexed line (running headers and footers, which are not
        indexed, are absent)."""
        shown = [
            (anchor, text)
            for line in self.store.page_lines(source, page)
            for anchor, text in visual_lines(line.text, line.layout)
            if anchor.page == page
        ]
        return sorted(shown, key=lambda item: item[0].line)

    def example_questions(self, limit: int = 3) -> list[str]:
        """A few questions made from the indexed text itself (`qa.examples`: a person and the
        words written before their name, never a fixed list), so a page nobody has asked
        anything yet can show what the documents are about and what to ask. Each candidate is
        asked of the reader first and shown only when the answer repeats the words it was
        made from: an example that is declined or answered with a stray word teaches a new
        user the wrong thing. Worked out again only when the indexed documents change."""
        manifest = self.store.manifest()
        state = (limit, sorted((source, entry.doc_hash) for source, entry in manifest.items()))
        if self._examples is None or self._examples[0] != state:
            openings = {
                source: [line.text for line in self.store.lines(source, until=_EXAMPLE_LINES)]
                for source in sorted(manifest)[:_EXAMPLE_DOCUMENTS]
            }
            shown: list[str] = []
            for example in example_questions(openings, limit * _EXAMPLE_CANDIDATES):
                answer = self.ask(example.question, mode="reader")
                if not answer.abstained and example.answered_by(answer.answer):
                    shown.append(example.question)
                if len(shown) == limit:
                    break
            self._examples = (state, shown)
        return self._examples[1]

    @property
    def llm_enabled(self) -> bool:
        return self._llm is not None

    def lines_read(self, mode: str | None = None) -> int:
        """How many lines the answerer of this mode reads unless told otherwise: an LLM is
        shown more than the reader reads (Settings.llm_top_k)."""
        use_llm = self._llm is not None and mode in (None, "llm")
        retrieval = self.settings.retrieval
        return retrieval.llm_top_k if use_llm else retrieval.top_k

    # -- answering ---------------------------------------------------------------------

    def ask(
        self,
        question: str,
        history: HistoryLike | None = None,
        *,
        mode: str | None = None,
        top_k: int | None = None,
    ) -> Answer:
        """The complete answer (`ask_stream`, whose signature this repeats on purpose, gives
        it in pieces)."""
        final: Answer | None = None
        for piece in self.ask_stream(question, history, mode=mode, top_k=top_k):
            if isinstance(piece, Answer):
                final = piece
        assert final is not None
        return final

    def ask_stream(
        self,
        question: str,
        history: HistoryLike | None = None,
        *,
        mode: str | None = None,
        top_k: int | None = None,
    ) -> Iterator[str | Answer]:
        """Yield pieces of the reply as they are ready, then the complete `Answer`."""
        started = time.perf_counter()
        if mode not in (None, "reader", "llm"):
            raise QuestionError(f"unknown answer mode {mode!r}: use reader or llm")
        text, notice = self._check(question)
        earlier = turns(history)
        query = lookup_query(text, earlier)
        use_llm = self._llm is not None and mode in (None, "llm")
        # Asked for no particular number, each answerer reads its own (`lines_read`); the
        # reader's fallback for an LLM answer reads what the reader would.
        if top_k is not None and not 1 <= top_k <= MAX_TOP_K:
            bounded = min(max(top_k, 1), MAX_TOP_K)
            notice = _join(notice, f"top_k must be 1-{MAX_TOP_K}; {bounded} lines were read")
            top_k = bounded
        reads = top_k or self.lines_read("reader")
        k = top_k or self.lines_read(mode)
        try:
            hits = self.retriever.retrieve(query, top_k=max(k, reads))
            if not hits and self.store.count() == 0:
                notice = _join(notice, self._nothing_indexed())
        except IndexError_ as err:
            raise QAError(str(err)) from err
        except Exception as err:
            if self.settings.index.chroma_url:
                raise QAError(
                    f"cannot reach Chroma at {self.settings.index.chroma_url} ({first_line(err)}); "
                    "is `chroma run` started?"
                ) from err
            raise QAError(f"retrieval failed: {first_line(err)}") from err
        retrieved = time.perf_counter()

        if mode == "llm" and self._llm is None:
            notice = _join(notice, "no LLM is configured (set QA_LLM_MODEL); the reader answered")
        answer: Answer | None = None
        if not terms(text):
            answer = Answer(
                question=text,
                text=NO_ANSWER,
                abstained=True,
                notice=_join(notice, "the question has no words to look up"),
            )
        else:
            # The LLM, when there is one and it is asked for; the reader otherwise, and
            # whenever the LLM has no answer it can stand by.
            answerer: Answerer = self.reader_replies
            shown = hits[:reads]
            if use_llm and self._llm is not None:
                answerer, shown = self._llm, hits[:k]
            try:
                answer = yield from _streamed(answerer.stream(text, shown, earlier))
            except AnswerUnavailable as why:
                log.info("LLM answer replaced by the reader's: %s", why)
                answer = self._read(text, hits[:reads], earlier)
                answer.notice = _join(answer.notice, f"{why}; showing the reader's answer")
            except AnswerError as err:
                raise QAError(str(err)) from err
            answer.notice = _join(notice, answer.notice)
        done = time.perf_counter()
        log.info(
            "answered by %s in %.0f ms (retrieval %.0f ms): %r",
            answer.mode,
            (done - started) * 1000,
            (retrieved - started) * 1000,
            answer.answer or "(abstained)",
        )
        answer.timings = Timings(
            retrieval_ms=(retrieved - started) * 1000,
            answer_ms=(done - retrieved) * 1000,
            total_ms=(done - started) * 1000,
        )
        yield answer

    def retrieve(self, question: str, top_k: int | None = None) -> list[RetrievedLine]:
        """The lines retrieval ranks for a question, best first (what answering starts from)."""
        text, _ = self._check(question)
        k = min(max(top_k or self.settings.retrieval.top_k, 1), MAX_TOP_K)
        hits = self.retriever.retrieve(text, top_k=k)
        return [
            RetrievedLine(source=h.source, line=h.line, text=h.text, score=h.fused, cited=cite(h))
            for h in hits
        ]

    # -- helpers -----------------------------------------------------------------------

    def _nothing_indexed(self) -> str:
        if writer_busy(self._config):
            return "nothing is indexed yet: `qa index` is writing the index now"
        return "nothing is indexed: add documents with `qa index FOLDER` or the page's upload"

    def _check(self, question: str) -> tuple[str, str | None]:
        if not isinstance(question, str):
            raise QuestionError("the question must be text")
        notice = None
        # Bytes that were not valid UTF-8 reach Python as lone surrogates (a shell argument,
        # a JSON "\udcff"); no tokenizer accepts them, and they carry no words anyway.
        cleaned = SURROGATES.sub("", question)
        if cleaned != question:
            dropped = len(question) - len(cleaned)
            notice = f"{dropped} character(s) that are not valid text were left out"
        text = " ".join(cleaned.split())
        if not text:
            raise QuestionError("the question is empty")
        if len(text) > MAX_QUESTION_CHARS:
            cut = f"the question was cut to its first {MAX_QUESTION_CHARS} characters"
            return text[:MAX_QUESTION_CHARS], _join(notice, cut)
        return text, notice

    def _read(self, question: str, hits: list[LineHit], history: list[Turn]) -> Answer:
        try:
            return self.reader_replies.answer(question, hits, history)
        except AnswerError as err:
            raise QAError(str(err)) from err


def _streamed(pieces: Iterator[str | Answer]) -> Generator[str, None, Answer]:
    """Pass an answerer's pieces on and return the `Answer` it ends with."""
    answer: Answer | None = None
    for piece in pieces:
        if isinstance(piece, Answer):
            answer = piece
        else:
            yield piece
    if answer is None:
        raise AnswerError("the answerer ended without an answer")
    return answer


def _join(first: str | None, second: str | None) -> str | None:
    parts = [p for p in (first, second) if p]
    return "; ".join(parts) if parts else None
