"""One colour per outcome, shared by the HTML tables and the plots, and the contrast they keep.

Each outcome has a background (light, for badges and table cells) and a
strong colour (for badge text, borders, bars and points). Every strong colour
reads on its own background, and on white, at a contrast of at least
`MIN_CONTRAST` (WCAG 2 level AA for body text); `contrast_ratio` computes it
as WCAG defines it, and the tests hold every pair to it.
"""
from __future__ import annotations

from .outcome import Outcome

__all__ = ["MIN_CONTRAST", "MUTED", "OUTCOME_COLOURS", "contrast_ratio", "relative_luminance"]

MIN_CONTRAST = 4.5
"""WCAG 2 level AA: the least contrast of normal-size text with its background."""

OUTCOME_COLOURS = {
    Outcome.IDENTICAL: ("#d7f0d9", "#1b5e20"),
    Outcome.WITHIN_TOLERANCE: ("#e3f1fb", "#0b4f8a"),
    Outcome.EXPECTED_DIFFERENCE: ("#fff1c7", "#6b4e00"),
    Outcome.UNEXPLAINED_DIFFERENCE: ("#ffdcc2", "#8a3000"),
    Outcome.FAILED: ("#f8c9c9", "#8a0018"),
}
"""Outcome -> (background colour, strong colour)."""

MUTED = "#666666"
"""Secondary text (zero counts, notes) on white: 5.7:1."""


def relative_luminance(colour):
    """The WCAG relative luminance of a ``#rrggbb`` colour: 0 (black) to 1 (white)."""
    channels = [int(colour.lstrip("#")[index:index + 2], 16) / 255 for index in (0, 2, 4)]
    # sRGB to linear light, as WCAG 2 defines it.
    linear = [value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
              for value in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground, background):
    """The WCAG contrast ratio of two ``#rrggbb`` colours, from 1 (none) to 21 (black on white)."""
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)),
                             reverse=True)
    return (lighter + 0.05) / (darker + 0.05)
