"""Fixtures for the reconcile-loop tests."""

from loopkit import world

__all__ = ["world"]
