"""A stand-in LLM that reads every gold question right, served over the OpenAI wire protocol.

It answers from the gold set, but only with what the prompt shows it: it cites the shown
lines that are gold lines, and declines when none was shown or the question has no answer.
So everything it loses is lost by the rest of the product (the lines retrieval picks, the
prompt, the citation check, the evaluation's scoring), never by reading. That measures how
far the product gets once a capable model is configured, and where the remainder goes.

It knows the gold answers, so it lives with the tests and never in `qa/` or `index/`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from evals.datasets import GoldQuestion
from evals.metrics import normalize_answer
from support.openai_stub import Reply

# One shown line of the prompt `qa.llm.build_messages` writes: "L3 [file.txt:21] text".
_SHOWN = re.compile(r"^(L\d+) \[(.+?):(\d+)\] (.*)$")
_DECLINE = {"answer": "", "reply": "The sources do not say.", "citations": []}


def _key(question: str) -> str:
    return " ".join(question.split())


def shown_lines(prompt: str) -> list[tuple[str, str, int, str]]:
    """(label, source, line, text) of every line the prompt shows the model."""
    found = []
    for row in prompt.splitlines():
        m = _SHOWN.match(row)
        if m:
            found.append((m.group(1), m.group(2), int(m.group(3)), m.group(4)))
    return found


def _wording(answers: list[str], cited_texts: list[str]) -> str:
    """The alias a careful reader would copy: one the cited lines state, else the first."""
    for alias in answers:
        wanted = normalize_answer(alias)
        if wanted and any(f" {wanted} " in f" {normalize_answer(t)} " for t in cited_texts):
            return alias
    return answers[0]


def gold_reader(questions: Iterable[GoldQuestion]) -> Callable[[dict[str, Any]], Reply]:
    """A `ScriptedLLMServer` responder answering each known question as its gold says."""
    by_text = {_key(q.question): q for q in questions}

    def respond(request: dict[str, Any]) -> Reply:
        prompt = str(request["messages"][-1]["content"])
        asked = _key(prompt.rsplit("\n\nQuestion: ", 1)[-1])
        gold = by_text.get(asked)
        shown = shown_lines(prompt)
        if gold is None or not gold.answerable:
            return Reply.text(json.dumps(_DECLINE))
        lines = {(c.source, n) for c in gold.citations for n in c.lines}
        cited = [(label, text) for label, src, n, text in shown if (src, n) in lines]
        if not cited:  # the line that says it was not among those shown
            return Reply.text(json.dumps(_DECLINE))
        answer = _wording(gold.answers, [text for _, text in cited])
        reply = {"answer": answer, "reply": f"{answer}.", "citations": [lb for lb, _ in cited]}
        return Reply.text(json.dumps(reply))

    return respond
