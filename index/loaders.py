"""Finding source files and reading them as text, line by line.

A loader turns one file into text; which loader reads a file is decided by its suffix, so
PDF or HTML support is one more entry in `LOADERS` (a function `Path -> bytes -> str`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 50 * 1024 * 1024
_BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class SourceFile:
    """A file to index: `source` is its name relative to the corpus root, as cited."""

    path: Path
    root: Path
    source: str


@dataclass(frozen=True)
class LoadedText:
    source: str
    root: Path
    text: str
    doc_hash: str
    encoding: str


@dataclass(frozen=True)
class Skipped:
    """A path that was not indexed, and why, in words a user can act on."""

    path: str
    reason: str


def _decode_text(data: bytes) -> tuple[str, str]:
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


def load_plain_text(data: bytes) -> tuple[str, str]:
    """Text and Markdown are indexed as written: a citation points at the line a reader sees."""
    return _decode_text(data)


Loader = Callable[[bytes], tuple[str, str]]
LOADERS: dict[str, Loader] = {".txt": load_plain_text, ".md": load_plain_text}


def discover(paths: list[Path]) -> tuple[list[SourceFile], list[Skipped], list[Path]]:
    """Expand the given paths into source files.

    Returns the files, what was skipped, and the folders that were walked whole (only
    those may have files deleted from the index when they vanish from disk).
    """
    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    roots: list[Path] = []
    seen: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            skipped.append(Skipped(str(raw), "no such file or folder"))
            continue
        if path.is_dir():
            root = path.resolve()
            roots.append(root)
            found, skips = _walk(root)
            skipped.extend(skips)
        else:
            root = path.resolve().parent
            found, skips = [path.resolve()], []
        for file in found:
            if file.suffix.lower() not in LOADERS:
                skipped.append(Skipped(str(file), f"unsupported type {file.suffix or '(none)'}"))
                continue
            source = file.relative_to(root).as_posix()
            if source in seen and seen[source] != file:
                clash = f"same name as {seen[source]} from another folder"
                skipped.append(Skipped(str(file), clash))
                continue
            if source not in seen:
                seen[source] = file
                files.append(SourceFile(path=file, root=root, source=source))
    return files, skipped, roots


def _walk(root: Path) -> tuple[list[Path], list[Skipped]]:
    """Walk a folder, following links to folders but never into a loop."""
    found: list[Path] = []
    skipped: list[Skipped] = []
    visited: set[tuple[int, int]] = set()

    def onerror(err: OSError) -> None:
        skipped.append(Skipped(str(err.filename), f"cannot read folder: {err.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=onerror):
        here = Path(dirpath)
        st = here.stat()
        if (st.st_dev, st.st_ino) in visited:
            skipped.append(Skipped(str(here), "symlink loop (folder already visited)"))
            dirnames[:] = []
            continue
        visited.add((st.st_dev, st.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            found.append(here / name)
    return found, skipped


def read_source(file: SourceFile) -> LoadedText | Skipped:
    """Read one file; every failure becomes a `Skipped` with a reason, never an exception."""
    try:
        if not file.path.is_file():
            return Skipped(str(file.path), "not a regular file (broken link?)")
        size = file.path.stat().st_size
        if size > MAX_FILE_BYTES:
            return Skipped(str(file.path), f"larger than {MAX_FILE_BYTES // 2**20} MB")
        data = file.path.read_bytes()
    except OSError as err:
        return Skipped(str(file.path), f"unreadable: {err.strerror or err}")
    if not data.strip():
        return Skipped(str(file.path), "empty file")
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        return Skipped(str(file.path), "binary file (contains NUL bytes)")
    text, encoding = LOADERS[file.path.suffix.lower()](data)
    return LoadedText(
        source=file.source,
        root=file.root,
        text=text,
        doc_hash=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
    )


def split_lines(text: str) -> Iterator[tuple[int, str]]:
    """Number lines exactly as `nl -ba` does: 1-based, every line counts, and a last line
    without a newline is still a line. Only \\n ends a line (a stray \\r stays in the text)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        yield number, line.removesuffix("\r")
