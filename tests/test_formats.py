"""PDF, HTML and Word sources: each is read as lines a person can find again, and cited
where the answer is (a PDF by page and line on that page)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index import IndexConfig, ingest
from index.formats import LOADERS
from qa import Assistant
from support.cli import run_qa
from support.documents import (
    FACT,
    HEAD,
    filler,
    twelve_pages,
    write_docx,
    write_docx_xml,
    write_empty_paragraphs_docx,
    write_pdf,
)

FERRY = "The first ferry to Orlen leaves the harbour at 9:15 every morning.\n"


@pytest.fixture()
def report(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    twelve_pages(folder / "report.pdf")
    return folder


def _assistant(tmp_path: Path, corpus: Path) -> Assistant:
    assistant = Assistant(corpus=corpus, data_dir=tmp_path / "data")
    assistant.index([corpus])
    return assistant


def test_a_pdf_answer_cites_its_page_and_the_line_on_that_page(tmp_path, report) -> None:
    answer = _assistant(tmp_path, report).ask("When did the Harwick footbridge reopen?")
    assert answer.answer == "14 March"
    first = answer.citations[0]
    assert (first.source, first.page, first.line_start, first.line_end) == ("report.pdf", 7, 2, 2)
    assert first.label == "report.pdf:p7:2"
    assert first.quote[first.span_start : first.span_end] == "14 March"


def test_running_heads_and_page_numbers_are_not_indexed(tmp_path, report) -> None:
    lines = _assistant(tmp_path, report).lines("report.pdf")
    assert lines, "the report was indexed"
    assert not [x for x in lines if HEAD in x.text or "of 12" in x.text]


def test_a_pdf_paragraph_is_one_indexed_line_that_remembers_its_visual_lines(tmp_path) -> None:
    pdf = write_pdf(tmp_path / "mill.pdf", [[" ".join(filler(3, 2))]], width=90)
    extracted = LOADERS[".pdf"](pdf.read_bytes())
    assert len(extracted.lines) == 1
    assert extracted.layouts is not None
    anchors = extracted.layouts[0].split()
    assert len(anchors) > 3 and anchors[0] == "1.1@0"  # page 1, line 1, from the start


def test_a_word_broken_by_a_hyphen_at_a_line_end_is_read_whole(tmp_path) -> None:
    paragraph = (
        "The council said that the recon-\nstruction of the old mill cost 4.2 million euros."
    )
    folder = tmp_path / "docs"
    folder.mkdir()
    write_pdf(folder / "mill.pdf", [[paragraph]])
    assistant = _assistant(tmp_path, folder)
    assert [x.text for x in assistant.lines("mill.pdf")] == [
        "The council said that the reconstruction of the old mill cost 4.2 million euros."
    ]
    answer = assistant.ask("How much did the reconstruction of the old mill cost?")
    assert answer.answer == "4.2 million euros"
    assert answer.citations[0].label == "mill.pdf:p1:2"  # the visual line holding the span


def test_the_json_answer_carries_the_page_for_a_pdf_and_none_for_text(tmp_path, report) -> None:
    (report / "notes.txt").write_text(FERRY)
    env = {"QA_DATA_DIR": str(tmp_path / "data")}
    assert run_qa("index", str(report), cwd=tmp_path, env=env).returncode == 0
    pdf = json.loads(
        run_qa(
            "ask", "When did the Harwick footbridge reopen?", "--json", cwd=tmp_path, env=env
        ).stdout
    )
    text = json.loads(
        run_qa(
            "ask", "What time does the first ferry to Orlen leave?", "--json", cwd=tmp_path, env=env
        ).stdout
    )
    assert {k: pdf["citations"][0][k] for k in ("page", "line_start", "line_end")} == {
        "page": 7,
        "line_start": 2,
        "line_end": 2,
    }
    assert text["citations"][0]["page"] is None
    assert text["citations"][0]["line_start"] == 1


def test_the_cli_prints_a_pdf_citation_with_its_page(tmp_path, report) -> None:
    env = {"QA_DATA_DIR": str(tmp_path / "data")}
    run_qa("index", str(report), cwd=tmp_path, env=env)
    result = run_qa("ask", "When did the Harwick footbridge reopen?", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "report.pdf:p7:2" in result.stdout


def test_an_unchanged_pdf_is_not_read_again_and_a_changed_one_replaces_its_chunks(
    tmp_path, report, embed_model
) -> None:
    config = IndexConfig(data_dir=tmp_path / "data")
    (report / "notes.txt").write_text(FERRY)
    first = ingest(config, [report], embed_model=embed_model, progress=False)
    again = ingest(config, [report], embed_model=embed_model, progress=False)
    assert sorted(again.unchanged) == ["notes.txt", "report.pdf"] and again.chunks_embedded == 0

    pages = [filler(n) for n in range(1, 13)]
    pages[6] = ["The Harwick footbridge reopened on 2 May.", *pages[6]]
    write_pdf(report / "report.pdf", pages, running_head=HEAD)
    changed = ingest(config, [report], embed_model=embed_model, progress=False)
    assert changed.changed == ["report.pdf"] and changed.unchanged == ["notes.txt"]
    assert changed.chunks_total == first.chunks_total  # as many paragraphs as before
    assistant = Assistant(corpus=report, data_dir=tmp_path / "data")
    texts = [x.text for x in assistant.lines("report.pdf")]
    assert "The Harwick footbridge reopened on 2 May." in texts
    assert FACT not in texts


def test_a_web_page_is_read_as_its_blocks_without_scripts_styles_or_navigation(tmp_path) -> None:
    page = """<!doctype html><html><head><title>Harbour news</title>
    <style>p { color: red }</style><script>var ferry = "leaves at noon";</script></head>
    <body><nav><a href="/">Home</a> | <a href="/about">About us</a></nav>
    <header><p>Subscribe to our newsletter</p></header>
    <main><article><h1>New ferry timetable</h1>
    <p>The ferry to Orlen now leaves at <b>nine</b> every morning.</p>
    <ul><li>Tickets cost 4 euros.</li><li>Bikes travel free.</li></ul>
    <table><tr><th>Day</th><th>Departures</th></tr><tr><td>Sunday</td><td>3</td></tr></table>
    </article></main><footer>© Harbour Board</footer></body></html>"""
    extracted = LOADERS[".html"](page.encode())
    assert extracted.lines == [
        "Harbour news",
        "New ferry timetable",
        "The ferry to Orlen now leaves at nine every morning.",
        "Tickets cost 4 euros.",
        "Bikes travel free.",
        "Day | Departures",
        "Sunday | 3",
    ]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ferry.html").write_text(page)
    answer = _assistant(tmp_path, folder).ask("When does the ferry to Orlen leave?")
    assert "nine" in answer.answer
    assert answer.citations[0].label == "ferry.html:3"
    assert answer.citations[0].page is None


def test_a_word_file_is_one_paragraph_a_line_with_table_rows_readable(tmp_path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    write_docx(
        folder / "drones.docx",
        ["Overnight air attacks", "", "Air defences reported the figures below."],
        table=[["City", "Drones shot down"], ["Kyiv", "88"], ["Odesa", "17"]],
    )
    assistant = _assistant(tmp_path, folder)
    assert [(x.line, x.text) for x in assistant.lines("drones.docx")] == [
        (1, "Overnight air attacks"),
        (3, "Air defences reported the figures below."),
        (4, "City | Drones shot down"),
        (5, "City: Kyiv; Drones shot down: 88"),
        (6, "City: Odesa; Drones shot down: 17"),
    ]
    answer = assistant.ask("How many drones were shot down over Odesa?")
    assert answer.answer == "17"
    assert answer.citations[0].label == "drones.docx:6"


def _run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


WORD_MARKUP = {
    "insertion": f'<w:p>{_run("Entry costs ")}<w:ins w:id="1" w:author="a">'
    f"{_run('12 euros')}</w:ins>{_run('.')}</w:p>",
    "content control": f"<w:p>{_run('Entry costs ')}<w:sdt><w:sdtContent>{_run('12 euros')}"
    f"</w:sdtContent></w:sdt>{_run('.')}</w:p>",
    "content control around a paragraph": "<w:sdt><w:sdtContent><w:p>"
    f"{_run('Entry costs 12 euros.')}</w:p></w:sdtContent></w:sdt>",
    "smart tag": f'<w:p>{_run("Entry costs ")}<w:smartTag w:uri="u" w:element="price">'
    f"{_run('12 euros')}</w:smartTag>{_run('.')}</w:p>",
    "field result": f'<w:p>{_run("Entry costs ")}<w:fldSimple w:instr="PRICE">'
    f"{_run('12 euros')}</w:fldSimple>{_run('.')}</w:p>",
    "hyperlink": f'<w:p>{_run("Entry costs ")}<w:hyperlink r:id="rId9">{_run("12 euros")}'
    f"</w:hyperlink>{_run('.')}</w:p>",
}


@pytest.mark.parametrize("markup", WORD_MARKUP, ids=list(WORD_MARKUP))
def test_word_text_inside_markup_is_read(tmp_path: Path, markup: str) -> None:
    path = write_docx_xml(tmp_path / "prices.docx", WORD_MARKUP[markup])
    assert LOADERS[".docx"](path.read_bytes()).lines == ["Entry costs 12 euros."]


def test_word_deleted_text_stays_out_and_a_text_box_is_a_line_of_its_own(tmp_path) -> None:
    body = (
        f'<w:p>{_run("Entry costs ")}<w:del w:id="2" w:author="a"><w:r>'
        "<w:delText>10 euros</w:delText></w:r></w:del>"
        f'<w:ins w:id="3" w:author="a">{_run("12 euros")}</w:ins>{_run(".")}'
        '<w:r><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing><wps:txbx>'
        f"<w:txbxContent><w:p>{_run('Children enter free.')}</w:p></w:txbxContent>"
        "</wps:txbx></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p>"
        f"{_run('Children enter free.')}</w:p></w:txbxContent></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r></w:p>"
    )
    path = write_docx_xml(tmp_path / "prices.docx", body)
    assert LOADERS[".docx"](path.read_bytes()).lines == [
        "Entry costs 12 euros.",
        "Children enter free.",
    ]


def test_a_word_file_of_too_many_paragraphs_is_refused_in_bounded_memory(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    from index.formats.docx import MAX_BLOCKS

    path = write_empty_paragraphs_docx(tmp_path / "empty.docx", MAX_BLOCKS + 1)
    assert path.stat().st_size < 50_000
    probe = (
        "import resource, sys; from pathlib import Path; from index.formats import LOADERS\n"
        "try: LOADERS['.docx'](Path(sys.argv[1]).read_bytes())\n"
        "except Exception as err: print(err)\n"
        # VmHWM, not ru_maxrss: the latter starts from the forking parent's size.
        "print(next(x.split()[1] for x in open('/proc/self/status') if x.startswith('VmHWM')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
    )
    message, peak_kb = done.stdout.splitlines()
    assert message.startswith("refused: more than 500,000 paragraphs and tables")
    assert int(peak_kb) < 250_000, f"peak {int(peak_kb) // 1024} MB"  # python-docx: over 1 GB


def test_the_page_accepts_a_pdf_upload_and_answers_from_it(tmp_path, monkeypatch) -> None:
    from ui.app import ChatPage

    said: list[str] = []
    for toast in ("gradio.Info", "gradio.Warning"):
        monkeypatch.setattr(toast, lambda msg, *a, **k: said.append(msg))
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "ferry.txt").write_text(FERRY)
    page = ChatPage(Assistant(corpus=notes, data_dir=tmp_path / "data"), tmp_path / "uploads")
    pdf = twelve_pages(tmp_path / "report.pdf")

    class Upload:
        name, orig_name = str(pdf), pdf.name

    page.upload([Upload()], progress=lambda *a, **k: None)  # type: ignore[arg-type]
    assert "Indexed 1 file(s): report.pdf" in " ".join(said)
    answer = page.assistant.ask("When did the Harwick footbridge reopen?")
    assert answer.citations[0].label == "report.pdf:p7:2"
