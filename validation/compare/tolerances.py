"""How far two outputs may differ and still count as the same: `Tolerances`.

A scenario gives its tolerances as a mapping (from its YAML definition or
``--tolerance KEY=VALUE`` on the command line); `Tolerances.from_dict` checks
every key and value, so a typo is an error naming the key, never a tolerance
silently left at its default.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass

from ..errors import ValidationError

__all__ = ["Tolerances"]

_TRUE_WORDS = {"true", "yes", "on", "1"}
_FALSE_WORDS = {"false", "no", "off", "0"}
_NONE_WORDS = {"none", "null", ""}


@dataclass(frozen=True)
class Tolerances:
    """What two exposures or catalogues may differ by and still be "within tolerance".

    Differences beyond these make a comparison `~validation.model.Verdict.DIFFERENT`;
    any difference at all, however small, rules out ``IDENTICAL``.

    Attributes
    ----------
    image_max_sigma : `float`
        Largest ``|a - b|`` of an image pixel, in units of its noise
        ``sqrt((var_a + var_b) / 2)``, for the pixel to count as agreeing.
    variance_max_rel : `float`
        Largest relative difference ``|a - b| / max(|a|, |b|)`` of a variance
        pixel for it to count as agreeing.
    pixel_max_fraction : `float`
        Fraction of the pixels of the image plane, and separately of the
        variance plane, allowed to disagree (beyond the two limits above, or
        NaN/inf against a number).
    mask_max_pixels : `int`
        Pixels per mask plane whose bit may differ.
    match_radius_pixels : `float`
        Radius of the 1:1 positional match of catalogues on ``x``/``y``.
    match_radius_arcsec : `float`
        Radius of the match on ``coord_ra``/``coord_dec``, used when a
        catalogue has no ``x``/``y`` columns.
    unmatched_max : `int`
        Sources of each catalogue allowed to have no counterpart in the other.
    flux_max_sigma : `float`
        Largest difference of a flux column over matched sources, in units of
        the flux error ``sqrt((err_a**2 + err_b**2) / 2)`` from its ``*Err`` column.
    centroid_max_pixels : `float`
        Largest difference of a pixel-position column (``x``, ``y``,
        ``*_x``, ``*_y``) over matched sources.
    centroid_max_arcsec : `float`
        Largest difference of ``coord_ra`` (times cos dec) or ``coord_dec``
        over matched sources, in arcseconds.
    flag_max_fraction : `float`
        Fraction of matched sources allowed to disagree on each boolean flag column.
    id_max_fraction : `float`
        Fraction of matched sources allowed to disagree on each id column
        (``id``, ``*Id``); raise it to 1 to compare catalogues numbered differently.
    other_max_rel : `float` or `None`
        Largest relative difference of any other numeric column (moments,
        S/N, areas, ...); `None` reports those columns without judging them,
        since they follow from the pixels, fluxes and centroids judged above.
    allow_schema_differences : `bool`
        Whether columns present on one side only, or of different dtypes,
        still allow "within tolerance" (e.g. against another pipeline).
    """

    image_max_sigma: float = 1.0e-3
    variance_max_rel: float = 1.0e-5
    pixel_max_fraction: float = 0.0
    mask_max_pixels: int = 0
    match_radius_pixels: float = 1.0
    match_radius_arcsec: float = 0.2
    unmatched_max: int = 0
    flux_max_sigma: float = 0.5
    centroid_max_pixels: float = 0.05
    centroid_max_arcsec: float = 0.01
    flag_max_fraction: float = 0.0
    id_max_fraction: float = 0.0
    other_max_rel: float | None = None
    allow_schema_differences: bool = False

    def __post_init__(self):
        for name, value in dataclasses.asdict(self).items():
            if isinstance(value, bool) or value is None:
                continue
            # Finite, so tolerances stored as JSON stay strict JSON (no NaN or Infinity).
            if not math.isfinite(value) or value < 0:
                raise ValidationError(f"tolerance {name} must be a finite number >= 0, got {value!r}")
            if name.endswith("_fraction") and value > 1:
                raise ValidationError(f"tolerance {name} is a fraction, must be <= 1, got {value!r}")
            if name.endswith("_radius_pixels") or name.endswith("_radius_arcsec"):
                if value == 0:
                    raise ValidationError(f"tolerance {name} must be > 0, got {value!r}")

    @classmethod
    def from_dict(cls, values):
        """Tolerances from a mapping of field name -> value; unset fields keep their defaults.

        Values may be strings (from a command line): ``"0.5"``, ``"true"``,
        ``"none"``.

        Raises
        ------
        ValidationError
            If a key is not a field, or a value does not fit its field.
        """
        hints = typing.get_type_hints(cls)
        converted = {}
        for key, value in (values or {}).items():
            if key not in hints:
                raise ValidationError(f"unknown tolerance {key!r}; known: {', '.join(hints)}")
            converted[key] = _convert(key, value, hints[key])
        return cls(**converted)

    def to_dict(self):
        """The tolerances as a plain mapping, as `from_dict` reads them back."""
        return dataclasses.asdict(self)


def _convert(key, value, hint):
    """``value`` as the type ``hint`` of tolerance ``key``; a `ValidationError` if it cannot be."""
    allowed = typing.get_args(hint) or (hint,)
    text = value.strip().lower() if isinstance(value, str) else None
    if type(None) in allowed and (value is None or text in _NONE_WORDS):
        return None
    if bool in allowed:
        if isinstance(value, bool):
            return value
        if text in _TRUE_WORDS or text in _FALSE_WORDS:
            return text in _TRUE_WORDS
    elif not isinstance(value, bool):
        number_type = int if int in allowed else float
        try:
            number = number_type(value)
        except (TypeError, ValueError):
            pass
        else:
            if number_type is not int or not isinstance(value, float) or value == number:
                return number
    expected = " or ".join(t.__name__ for t in allowed)
    raise ValidationError(f"tolerance {key} must be {expected}, got {value!r}")
