"""Errors the CLI reports in one line instead of a traceback."""

from __future__ import annotations


class UsageError(Exception):
    """A wrong parameter or unusable input named by the user: exit code 2."""
