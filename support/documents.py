"""Documents in the formats people have, written by the tests themselves (no binary fixture
nobody could regenerate): PDFs with fpdf2, Word files with python-docx."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fpdf import FPDF

from evals.pdf_corpus import font_path


class _Report(FPDF):
    running_head = ""

    def header(self) -> None:
        if self.running_head:
            self.set_font("dejavu", size=9)
            self.cell(0, 8, self.running_head, new_x="LMARGIN", new_y="NEXT")

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("dejavu", size=9)
        self.cell(0, 8, f"Page {self.page_no()} of {{nb}}", align="C")


def write_pdf(
    path: Path,
    pages: list[list[str]],
    *,
    running_head: str = "",
    password: str | None = None,
    width: float = 0,
) -> Path:
    """One list of paragraphs a page; each page gets a footer "Page n of N" and, given one, a
    running head. `width` narrows the text column (in mm) to force line breaks."""
    pdf = _Report()
    pdf.running_head = running_head
    pdf.add_font("dejavu", fname=font_path())
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(True, margin=20)
    if password is not None:
        pdf.set_encryption(owner_password=password, user_password=password)
    for paragraphs in pages:
        pdf.add_page()
        pdf.set_font("dejavu", size=11)
        for paragraph in paragraphs:
            pdf.multi_cell(width, 6, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    pdf.output(str(path))
    return path


def write_scanned_pdf(path: Path) -> Path:
    """A page that is only a picture (as a scanner makes): no text layer."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 200), "white")
    ImageDraw.Draw(image).text((20, 80), "The bridge was rebuilt in 1998.", fill="black")
    pdf = FPDF()
    pdf.add_page()
    pdf.image(image, x=10, y=10, w=180)
    pdf.output(str(path))
    return path


def write_docx(path: Path, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    document.save(str(path))
    return path


_WORD_NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
)


def write_docx_xml(path: Path, body: str) -> Path:
    """A minimal .docx whose body is the given WordprocessingML (`w:` elements): for the
    markup python-docx cannot write (tracked changes, content controls, text boxes)."""
    document = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f"<w:document {_WORD_NS}><w:body>{body}</w:body></w:document>"
    )
    types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.wordprocessingml.document.main+xml"/></Types>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("word/document.xml", document)
    return path


def write_empty_paragraphs_docx(path: Path, paragraphs: int) -> Path:
    """A small .docx that unpacks to many empty paragraphs (a few bytes each, zipped to
    almost nothing)."""
    return write_docx_xml(path, "<w:p/>" * paragraphs)


def write_page_tree_bomb(path: Path, levels: int, fanout: int = 10) -> Path:
    """A PDF of a few hundred bytes whose page tree reuses one node at every level, so that
    it declares fanout ** levels pages of one real page ("Harbour dues rose in May.")."""
    text = b"BT /F1 12 Tf 20 100 Td (Harbour dues rose in May.) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(text), text),
        b"<< /Type /Page /MediaBox [0 0 300 200] /Contents 3 0 R "
        b"/Resources << /Font << /F1 2 0 R >> >> >>",
    ]
    objects[0:0] = []  # object numbers: 1 catalog, 2 font, 3 contents, 4 page, 5.. the tree
    child, count = 4, 1
    for _ in range(levels):
        count *= fanout
        kids = b" ".join(b"%d 0 R" % child for _ in range(fanout))
        objects.append(b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count))
        child = len(objects)
    objects[0] = b"<< /Type /Catalog /Pages %d 0 R >>" % child
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


def write_zip_bomb(path: Path, unpacked_mb: int = 300) -> Path:
    """A .docx-named zip whose one member unpacks to hundreds of MB of zeros."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("word/document.xml", "w", force_zip64=True) as member,
    ):
        for _ in range(unpacked_mb):
            member.write(b"\0" * 2**20)
    path.write_bytes(buffer.getvalue())
    return path


_SUBJECTS = (
    "The harbour board",
    "A regional court",
    "The weather office",
    "Local farmers",
    "The rail operator",
    "A museum curator",
    "The school council",
    "Two engineers",
)
_VERBS = (
    "reviewed",
    "postponed",
    "described",
    "questioned",
    "approved",
    "measured",
    "published",
    "discussed",
)
_OBJECTS = ("the autumn timetable", "a survey of the coastline", "the new grain prices",
            "plans for a ferry terminal", "an archive of old maps", "the spring rainfall",
            "a dispute over fishing rights", "the cost of street lighting")  # fmt: skip


def filler(page: int, paragraphs: int = 4) -> list[str]:
    """Plain paragraphs that differ from page to page and answer nothing a test asks."""
    out = []
    for p in range(paragraphs):
        sentences = []
        for s in range(4):
            k = page * 7 + p * 3 + s
            sentences.append(
                f"{_SUBJECTS[k % 8]} {_VERBS[(k // 3) % 8]} {_OBJECTS[(k // 5) % 8]} "
                f"in week {k % 50 + 1}."
            )
        out.append(" ".join(sentences))
    return out


FACT = "The Harwick footbridge reopened on 14 March after repairs costing 2.3 million euros."
HEAD = "Riverside Council – Annual Report"


def twelve_pages(path: Path) -> Path:
    """A 12-page report with a running head and "Page n of 12" footers; the fact is the
    first paragraph of page 7, so it is line 2 there (the head is line 1)."""
    pages = [filler(n) for n in range(1, 13)]
    pages[6] = [FACT, *pages[6]]
    return write_pdf(path, pages, running_head=HEAD)
