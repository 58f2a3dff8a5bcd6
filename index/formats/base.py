"""What every loader returns, and how a file's content is told apart from its name."""

from __future__ import annotations

from dataclasses import dataclass

_BINARY_SNIFF_BYTES = 8192


class UnreadableSource(Exception):
    """A file a loader cannot read; the message is the one-line reason shown to the user."""


@dataclass(frozen=True)
class Extracted:
    lines: list[str]
    # The text encoding the bytes were decoded with; None for formats that are not text.
    encoding: str | None = "utf-8"
    # For paged formats, one `index.layout` string per line ("" for none).
    layouts: list[str] | None = None
    # Something the user should know about how the file was read (one line), or None.
    note: str | None = None


@dataclass(frozen=True)
class Limits:
    """How much of one file a loader reads: bounds set by the user (`IndexConfig`), so that a
    small hostile file cannot keep the indexer busy for minutes."""

    max_pdf_pages: int = 3000


def sniff(data: bytes) -> str:
    """What the bytes are, whatever the file is called: pdf, zip, binary or text."""
    head = data[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return "zip"
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        return "binary"
    return "text"


def decode_text(data: bytes) -> tuple[str, str]:
    """UTF-8 first (a BOM is dropped); otherwise cp1252, the usual encoding of 'plain text'
    from Windows; bytes cp1252 leaves undefined fall back to latin-1, which cannot fail."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


_NAMES = {"pdf": "a PDF", "zip": "a zip archive (a Word file?)", "binary": "binary data"}


def expect(data: bytes, kind: str, what: str) -> None:
    """Refuse content that is not what the file's name says (a renamed file would otherwise
    be read as garbage, or not at all)."""
    found = sniff(data)
    if found == kind:
        return
    if kind == "text" and found == "binary":
        raise UnreadableSource("binary file (contains NUL bytes)")
    raise UnreadableSource(f"not {what}: its content is {_NAMES.get(found, 'text')}")


DEFAULT_LIMITS = Limits()
