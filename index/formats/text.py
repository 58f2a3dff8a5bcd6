"""Plain text and Markdown, indexed as written: a citation points at the line a reader sees."""

from __future__ import annotations

from index.formats.base import (
    DEFAULT_LIMITS,
    Extracted,
    Limits,
    UnreadableSource,
    decode_text,
    expect,
)


def split_lines(text: str) -> list[str]:
    """Lines exactly as `nl -ba` numbers them: every line counts, and a last line without a
    newline is still a line. Only \\n ends a line (a stray \\r at the end is dropped)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def load(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Extracted:
    expect(data, "text", "a text file")
    if b"\x00" in data:  # past the first 8 KB `expect` looks at: binary all the same
        raise UnreadableSource("binary file (contains NUL bytes)")
    text, encoding = decode_text(data)
    return Extracted(lines=split_lines(text), encoding=encoding)
