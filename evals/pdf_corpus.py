"""The same corpus as PDFs, to measure what reading PDFs costs: each text file becomes a PDF
with one paragraph per line of the text (wrapped over as many printed lines and pages as it
takes, with a running head and page numbers), and each gold citation of a text line becomes
the page and printed lines where that paragraph landed.

Where a paragraph landed is read back from the index (`Assistant.lines`, each PDF paragraph
with its layout), by matching the indexed paragraphs to the text's lines in order; the PDF
writer itself is not asked, so a paragraph the PDF reader splits or merges wrongly costs
citations, as it would for a user.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from fpdf import FPDF

from evals.datasets import GoldCitation, GoldQuestion
from qa import Assistant, visual_lines

_WORDS = re.compile(r"\w+")


def font_path() -> str:
    """DejaVu Sans (Unicode), which matplotlib, a dependency, ships."""
    from matplotlib import font_manager

    return str(font_manager.findfont("DejaVu Sans", fallback_to_default=True))


class _Article(FPDF):
    title_line = ""

    # fpdf2's header/footer hooks, as in support/documents.py (deliberate: the evaluation's
    # corpus must not depend on the test helpers).
    def header(self) -> None:
        self.set_font("body", size=8)
        self.cell(0, 6, self.title_line, new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("body", size=8)
        self.cell(0, 6, f"Page {self.page_no()}", align="C")


def write_pdfs(text_dir: Path, out_dir: Path) -> dict[str, str]:
    """Write one PDF per text file; returns text file name -> PDF name."""
    # fpdf2 warns of every glyph the font lacks (CJK in a Latin font): the text layer keeps
    # the characters, so the warning says nothing about what is measured.
    logging.getLogger("fpdf").setLevel(logging.ERROR)
    out_dir.mkdir(parents=True, exist_ok=True)
    font = font_path()
    names = {}
    for path in sorted(text_dir.glob("*.txt")):
        pdf = _Article()
        pdf.title_line = path.stem
        pdf.add_font("body", fname=font)
        pdf.set_auto_page_break(True, margin=20)
        pdf.add_page()
        pdf.set_font("body", size=10)
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(4)
        name = f"{path.stem}.pdf"
        pdf.output(str(out_dir / name))
        names[path.name] = name
    return names


def _words(text: str) -> set[str]:
    return set(_WORDS.findall(text.lower()))


def _share(part: set[str], whole: set[str]) -> float:
    """How much of an indexed paragraph's vocabulary a text line holds (right-to-left
    scripts and glyphs the font lacks come back from a PDF altered, so not all of it)."""
    return len(part & whole) / len(part) if part else 0.0


def relocate(
    questions: list[GoldQuestion], text_dir: Path, names: dict[str, str], assistant: Assistant
) -> list[GoldQuestion]:
    """The questions with each gold text line replaced by the PDF page and lines holding it."""
    where: dict[tuple[str, int], list[GoldCitation]] = {}
    for text_name, pdf_name in names.items():
        lines = (text_dir / text_name).read_text(encoding="utf-8").splitlines()
        numbered = [(n, _words(x)) for n, x in enumerate(lines, 1) if x.strip()]
        at = 0
        for indexed in assistant.lines(pdf_name):
            words = _words(indexed.text)
            # The indexed paragraph is (part of) the current text line or one of the next
            # few, whichever shares most of its words.
            ahead = range(at, min(at + 4, len(numbered)))
            best = max(ahead, key=lambda i: _share(words, numbered[i][1]), default=None)
            if best is None or _share(words, numbered[best][1]) < 0.5:
                continue
            at = best
            pages: dict[int, list[int]] = {}
            for anchor, _ in visual_lines(indexed.text, indexed.layout):
                pages.setdefault(anchor.page, []).append(anchor.line)
            where.setdefault((text_name, numbered[at][0]), []).extend(
                GoldCitation(source=pdf_name, page=page, lines=shown)
                for page, shown in pages.items()
            )
    out = []
    for q in questions:
        cites = [x for c in q.citations for n in c.lines for x in where.get((c.source, n), [])]
        out.append(q.model_copy(update={"citations": cites}))
    return out
