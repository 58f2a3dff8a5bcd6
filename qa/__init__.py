"""Answers questions over indexed sources, citing the lines that support each answer."""

from qa.settings import Settings

__all__ = ["Settings"]
