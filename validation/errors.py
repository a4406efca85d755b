"""Errors of the validation harness; each message names the bad thing in one line."""

__all__ = ["ValidationError"]


class ValidationError(Exception):
    """Bad input to the harness: an unreadable file, an unknown scenario, a bad URL, ..."""
