"""Errors a user can act on. Each message is one line that names the fix."""


def first_line(err: BaseException) -> str:
    """An exception as one line for a user: its message's first line, else its type."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class IndexError_(Exception):  # trailing underscore: the builtin IndexError means something else
    """Base class for problems with the index that a user can fix."""


class StoreUnavailableError(IndexError_):
    """Chroma could not be reached or opened."""


class ModelMismatchError(IndexError_):
    """The collection was built with another embedding model than the one configured."""


class CollectionMissingError(IndexError_):
    """No index has been built yet for this collection."""


# Under this much free space a failed write is taken for a full disk: chromadb often reports
# one only as "Error in compaction: Failed to apply logs to the metadata segment".
DISK_FULL_BYTES = 16 * 2**20


def store_failure(
    err: BaseException, where: str, *, reading: bool, free_bytes: int | None = None
) -> str:
    """One line for a store that failed, naming the fix that fits the cause. SQLite's codes
    (chromadb passes them through): 8 is a read-only database, 13 a full disk. Only a store
    that is neither gets the advice to rebuild, which moves the old one aside: following it
    for a permission problem or a full disk would put a healthy index out of use."""
    text = str(err).lower()
    full = free_bytes is not None and free_bytes < DISK_FULL_BYTES
    reason = first_line(err)
    if (
        isinstance(err, PermissionError)
        or "code: 8)" in text
        or "readonly" in text
        or "read-only" in text
        or "permission denied" in text
    ):
        return (
            f"the index at {where} cannot be written ({reason}): check that you may write to "
            "that folder; the index itself was not changed"
        )
    if full or "code: 13)" in text or "disk is full" in text or "no space left" in text:
        return (
            f"disk full while writing the index at {where}: free some space, then run "
            "`qa index` again (what was already stored is kept)"
        )
    action = "open" if reading else "write"
    return (
        f"cannot {action} the index at {where} ({reason}); if it is damaged, rebuild it "
        "with `qa index --rebuild`"
    )


class IngestInterrupted(Exception):
    """Indexing was stopped (Ctrl-C) part-way. What it says was kept is in the index; the
    document it was writing is completed by the next run."""

    def __init__(self, kept: list[str], cut_short: str | None) -> None:
        self.kept = kept
        self.cut_short = cut_short
        done = f"{len(kept)} document(s) stored completely and kept"
        if kept:
            shown = ", ".join(kept[:3]) + (f" and {len(kept) - 3} more" if len(kept) > 3 else "")
            done += f" ({shown})"
        rest = f"; {cut_short} was cut short" if cut_short else ""
        super().__init__(f"{done}{rest}; the next `qa index` goes on from there")
