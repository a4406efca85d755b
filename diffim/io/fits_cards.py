"""FITS header cards rendered byte for byte as astropy renders them, without importing it.

A header here is a list of 80-character card images. A value card is
``KEYWORD = value / comment``: the keyword padded to 8 characters (or
``HIERARCH NAME `` for longer names), logical, integer and real values right
in a 20-character field, strings quoted, padded inside the quotes to 8
characters and left in the 20-character field. Reals are their shortest
repr with an upper-case exponent, their mantissa cut when that exceeds 20
characters. A string too long for one card continues on ``CONTINUE``
cards (the FITS long-string convention), split after blanks where it can be,
and a long comment after it; any other card too long loses the end of its
comment.
"""
from __future__ import annotations

import bisect

import numpy as np

__all__ = ["BLOCK", "CARD", "card", "header_bytes"]

BLOCK = 2880
"""FITS record length: every header and data unit is padded to a multiple of it."""

CARD = 80
"""FITS card length."""
_KEYWORD = 8
_HIERARCH = "HIERARCH "
_CONTINUE = "CONTINUE  "
_LONG_VALUE = 67
"""Characters of a long string on each card (after ``KEYWORD = '`` and before ``&'``)."""
_LONG_COMMENT = 64


def _real(value):
    text = str(value).replace("e", "E")
    if len(text) > 20:
        exponent = text.find("E")
        text = text[:20] if exponent < 0 else text[:20 - (len(text) - exponent)] + text[exponent:]
    return text


def _value(value):
    """The value field of a card (20 characters unless a long string)."""
    if isinstance(value, str):
        if not value:
            return "''"
        quoted = "'{:8}'".format(value.replace("'", "''"))
        return f"{quoted:20}"
    if isinstance(value, (bool, np.bool_)):
        return f"{'T' if value else 'F':>20}"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):>20d}"
    if isinstance(value, (float, np.floating)):
        return f"{_real(value):>20}"
    raise TypeError(f"no FITS card value for {type(value).__name__} {value!r}")


def card(keyword, value, comment=None):
    """The card image of ``keyword = value / comment``, as astropy's ``Card(...).image``.

    Parameters
    ----------
    keyword : `str`
        Upper-case keyword; ``"HIERARCH NAME"`` for a longer name.
    value : `str`, `bool`, `int` or `float`
    comment : `str`, optional

    Returns
    -------
    image : `str`
        80 characters, or a multiple of 80 for a string continued on
        ``CONTINUE`` cards.
    """
    hierarch = keyword.startswith(_HIERARCH)
    name = keyword[len(_HIERARCH):] if hierarch else keyword
    head = f"{_HIERARCH}{name} " if hierarch else f"{name:{_KEYWORD}}"
    text = _value(value)
    if len(name) > _KEYWORD:  # a HIERARCH value is shortened to save space
        text = text.strip()
    # A comment of blanks is none; a long string's comment loses its trailing blanks.
    comment = comment if comment and comment.rstrip() else None
    tail = f" / {comment}" if comment else ""
    # A HIERARCH card one character too long gives up the blank before '='.
    short = hierarch and len(head) + 2 + len(text) == CARD + 1
    image = f"{head[:-1] if short else head}= {text}{tail}"
    if len(image) <= CARD:
        return f"{image:{CARD}}"
    if isinstance(value, str) and len(text) > CARD - len(head) - 2:
        return _long_string(head, value, comment and comment.rstrip())
    return image[:CARD]


def _pieces(text, width, first_width):
    """``text`` cut into pieces of at most ``width`` (the first ``first_width``) characters.

    A piece ends after the last blank that leaves it short enough; a piece
    without such a blank is cut at the width. The end of the text counts as
    a blank.
    """
    blanks = [index for index, char in enumerate(text) if char == " "] + [len(text)]
    pieces, start, limit = [], 0, first_width
    while True:
        before = bisect.bisect_left(blanks, start + limit)  # blanks[:before] are < start + limit
        end = blanks[before - 1] + 1 if before else -1
        if end <= start:
            end = min(start + limit, len(text))
        pieces.append(text[start:end])
        if end >= len(text):
            return pieces
        start, limit = end, width


def _long_string(head, value, comment):
    """Card images of a string value continued on ``CONTINUE`` cards, then its comment."""
    first_width = _LONG_VALUE + _KEYWORD + 2 - len(head) - 2
    pieces = _pieces(value.replace("'", "''"), _LONG_VALUE, first_width)
    images = []
    for index, piece in enumerate(pieces):
        start = f"{head}= " if index == 0 else _CONTINUE
        end = "'" if index == len(pieces) - 1 and not comment else "&'"
        images.append(f"{start}'{piece}{end}".ljust(CARD))
    if comment:
        parts = _pieces(comment, _LONG_COMMENT, _LONG_COMMENT)
        for index, part in enumerate(parts):
            more = "" if index == len(parts) - 1 else "&"
            images.append(f"{_CONTINUE}'{more}' / {part}".ljust(CARD))
    return "".join(images)


def header_bytes(cards):
    """A header unit: the card images, ``END`` and blank padding to the FITS block."""
    text = "".join(cards) + f"{'END':{CARD}}"
    return (text + " " * (-len(text) % BLOCK)).encode("ascii")
