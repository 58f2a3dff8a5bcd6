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
