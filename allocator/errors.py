"""Errors the interfaces map to exit codes."""

from __future__ import annotations


class InputError(Exception):
    """Bad input: one sentence naming the file, the record and the field (exit code 2)."""
