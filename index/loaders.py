"""Finding source files and reading them as numbered lines.

Which loader reads a file is decided by its suffix (`index.formats.LOADERS`). Reading is two
steps so that an unchanged file costs one hash: `read_source` takes the bytes and their
hash, and only a new or changed document is `parse`d (a PDF is not read again for nothing).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from index.errors import first_line
from index.formats import LOADERS, Limits, UnreadableSource

MAX_FILE_BYTES = 50 * 1024 * 1024
SUPPORTED = tuple(sorted(LOADERS))


# Frozen dataclasses of a few fields look alike (qa/names.py's Token); nothing to share.
@dataclass(frozen=True)
class SourceFile:
    """A file to index: `source` is its name relative to the corpus root, as cited."""

    path: Path
    root: Path
    source: str


@dataclass(frozen=True)
class RawSource:
    """A file's bytes and their hash: enough to tell whether it changed."""

    source: str
    root: Path
    path: Path
    data: bytes
    doc_hash: str


@dataclass(frozen=True)
class LoadedText:
    """A document as numbered lines (line n is `lines[n - 1]`; blank lines count)."""

    source: str
    root: Path
    lines: list[str]
    doc_hash: str
    encoding: str | None
    layouts: list[str] | None = None  # paged formats: where each line sits (index.layout)
    note: str | None = None  # how the file was read, when the user should know (one line)


@dataclass(frozen=True)
class Skipped:
    """A path that was not indexed, and why, in words a user can act on."""

    path: str
    reason: str


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


def read_source(file: SourceFile) -> RawSource | Skipped:
    """Read one file's bytes; every failure becomes a `Skipped` with a reason."""
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
    return RawSource(
        source=file.source,
        root=file.root,
        path=file.path,
        data=data,
        doc_hash=hashlib.sha256(data).hexdigest(),
    )


def parse(raw: RawSource, limits: Limits | None = None) -> LoadedText | Skipped:
    """A file's lines, read by the loader of its format; never an exception."""
    loader = LOADERS[raw.path.suffix.lower()]
    try:
        extracted = loader(raw.data, limits or Limits())
    except UnreadableSource as err:
        return Skipped(str(raw.path), str(err))
    except Exception as err:  # a library's own failure on a hostile file
        return Skipped(str(raw.path), f"could not be read ({first_line(err)})")
    return LoadedText(
        source=raw.source,
        root=raw.root,
        lines=extracted.lines,
        doc_hash=raw.doc_hash,
        encoding=extracted.encoding,
        layouts=extracted.layouts,
        note=extracted.note,
    )
