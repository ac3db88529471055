"""The journal's errors: what it raises when it cannot do what was asked."""

from __future__ import annotations


class JournalError(Exception):
    """The journal cannot do what was asked; the message names the file and the problem."""


class JournalUnreadable(JournalError):
    """The file exists but is not a journal this release can use; it was left untouched."""
