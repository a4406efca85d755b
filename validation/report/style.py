"""One colour per outcome, shared by the HTML tables and the plots.

Each outcome has a background (light, for table cells) and a strong colour
(for bars and text); the verdict stored in trends (no reason attached) uses
the colours of its outcome, with ``different`` shown as unexplained.
"""
from __future__ import annotations

from ..model import Verdict
from .outcome import Outcome, outcome_of

__all__ = ["OUTCOME_COLOURS", "verdict_colour"]

OUTCOME_COLOURS = {
    Outcome.IDENTICAL: ("#d7f0d9", "#2e7d32"),
    Outcome.WITHIN_TOLERANCE: ("#e3f1fb", "#1f77b4"),
    Outcome.EXPECTED_DIFFERENCE: ("#fff1c7", "#b8860b"),
    Outcome.UNEXPLAINED_DIFFERENCE: ("#ffdcc2", "#d9480f"),
    Outcome.FAILED: ("#f8c9c9", "#b00020"),
}
"""Outcome -> (background colour, strong colour)."""


def verdict_colour(verdict):
    """The strong colour of a `Verdict` (or its string value) without a reason."""
    return OUTCOME_COLOURS[outcome_of(Verdict(verdict), None)][1]
