"""Header cards rendered without astropy (diffim.io.fits_cards) are astropy's bytes."""
import json
import random
import warnings

import numpy as np
import pytest
from astropy.io import fits

from diffim.io.fits_cards import card, header_bytes

_WORDS = ["a", "bb", "ccc", "x" * 70, "it's", "path/to/file.fits", "", "gain=1 sky=800", "''", " "]
_KEYWORDS = ["DIFFMETA", "X", "HIERARCH LONG.NAME.HERE", "HIERARCH MP_SOME_VERY_LONG_PLANE_NAME_X",
             "HIERARCH AB", "HIERARCH MP_BAD"]


@pytest.mark.parametrize("value", [1.0112068848007154, np.float32(0.1), 1e-300, -1.2345678901234567e-200,
                                   1e20, 123456789012345678901.5, -0.0, np.float64(3.0), 3,
                                   np.int64(-5), 2**31, True, np.bool_(False), "", "it's", "stars",
                                   "convolveTemplate"])
@pytest.mark.parametrize("comment", [None, "", "  ", "PSF-matching kernel sum at the image centre",
                                     "a comment far too long for this card " * 3])
def test_values_and_comments(value, comment):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy warns when it cuts a comment
        assert card("KERNSUM", value, comment) == fits.Card("KERNSUM", value, comment).image


def test_random_long_strings_hierarch_and_continue_cards():
    rng = random.Random(3)
    checked = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3000):
            keyword = rng.choice(_KEYWORDS)
            value = (" " if rng.random() < 0.5 else "").join(
                rng.choice(_WORDS) for _ in range(rng.randint(1, 30)))
            if rng.random() < 0.3:
                value = json.dumps({"SOURCE_FILE": "/data/" + value, "VARIANCE_SOURCE": "given"})
            if rng.random() < 0.2:
                value = rng.choice([1.5e-7, 3, True, 12345678901234567890, -2.5])
            comment = rng.choice([None, "", "  ", "metadata, JSON", "c" * rng.randint(1, 150),
                                  " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 30)))])
            try:
                expected = fits.Card(keyword, value, comment).image
            except ValueError:  # a value astropy refuses for this keyword
                continue
            assert card(keyword, value, comment) == expected, (keyword, value, comment)
            checked += 1
    assert checked > 2500


def test_header_unit_is_padded_to_the_block():
    cards = [card("SIMPLE", True, "conforms to FITS standard"), card("BITPIX", 8, "array data type"),
             card("NAXIS", 0, "number of array dimensions"), card("EXTEND", True)]
    assert header_bytes(cards) == fits.PrimaryHDU().header.tostring().encode()
