"""A plain image's WCS kept as the header cards it came with, parsed by astropy only when used.

Parsing a WCS builds an `astropy.wcs.WCS`, which imports astropy.io.fits and
astropy.coordinates (about 0.4 s, longer than a whole subtraction of small
images), yet a subtraction on one pixel grid never needs a sky coordinate:
the difference carries the science image's WCS. `CardWcs` keeps the WCS
cards of the file (every distortion card: TPV ``PVi_m``, SIP ``A_p_q`` ...)
and writes them back as they were, with ``CRPIXn`` moved when the output
starts at another pixel. ``pixel_to_world_values`` of the gnomonic WCSs
survey images carry (TAN, TAN-SIP as ZTF and HST, TPV as DECam, equatorial
axes in that order) is evaluated here (a catalogue's sky coordinates); any
other attribute of `astropy.wcs.WCS` asked of it (``world_to_pixel_values``,
``to_header`` ...), and any other projection, is answered by the astropy WCS
of the same cards, made on first use. `same_grid` tells whether two such
WCSs describe one mapping from their card values, without astropy.
"""
from __future__ import annotations

import math
import re

import numpy as np

from .fits_cards import CARD, card
from .simple_fits import SimpleHeader

__all__ = ["CardWcs", "same_grid", "wcs_card_images"]

_WCS_KEYWORD = re.compile(
    r"(WCSAXES|WCSNAME|CTYPE[12]|CUNIT[12]|CRPIX[12]|CRVAL[12]|CDELT[12]|CROTA[12]|CD[12]_[12]"
    r"|PC[12]_[12]|PV[12]_\d+|PS[12]_\d+|LONPOLE|LATPOLE|RADESYS|RADECSYS|EQUINOX|EPOCH"
    r"|(A|B|AP|BP)_(ORDER|DMAX|\d+_\d+)"
    r"|(DATE|MJD)-(OBS|AVG|BEG|END)|DATEREF|MJDREF|TIMESYS)")
"""Keywords of the primary WCS of a 2-D image (FITS WCS papers I-III, TPV, SIP) and
the times astropy's ``to_header`` writes with it."""

_NOT_MAPPING = re.compile(r"WCSNAME|(DATE|MJD)-(OBS|AVG|BEG|END)|DATEREF|MJDREF|TIMESYS")
"""Keywords that do not change where a pixel lies on the sky."""

_CELESTIAL = re.compile(r"(RA--|DEC-|GLON|GLAT|ELON|ELAT)-[A-Z]{3}(-SIP)?")
_PAIRS = ({"RA--", "DEC-"}, {"GLON", "GLAT"}, {"ELON", "ELAT"})

_ZENITHAL = ("AZP", "SZP", "TAN", "STG", "SIN", "ARC", "ZPN", "ZEA", "AIR", "TPV")
"""Projections whose native pole is the reference point: ``LATPOLE`` does not
matter and ``LONPOLE`` defaults to 180 deg (unless the reference point is the pole)."""

_MATRIX = ("CD1_1", "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2", "PC2_1", "PC2_2",
           "CDELT1", "CDELT2")
_SAME_NUMBER = 1e-12
"""Relative difference below which two card values are one number (decimal renderings)."""

_GNOMONIC = {("RA---TAN", "DEC--TAN"), ("RA---TAN-SIP", "DEC--TAN-SIP"), ("RA---TPV", "DEC--TPV")}
"""Axis types whose pixel-to-sky mapping `CardWcs` evaluates itself."""


def _tpv_powers():
    """``(u, v, r)`` powers of TPV's terms 0-39: by degree the monomials ``u^(d-k) v^k``,
    then ``r^d`` for odd ``d`` (the TPV convention: PV1_3 is r, PV1_11 r^3 ...)."""
    powers = []
    for degree in range(8):
        powers += [(degree - k, k, 0) for k in range(degree + 1)]
        if degree % 2:
            powers.append((0, 0, degree))
    return tuple(powers)


_TPV_POWERS = _tpv_powers()


def wcs_card_images(header):
    """The card images of the primary WCS in a FITS header, in file order.

    Parameters
    ----------
    header : `astropy.io.fits.Header` or `diffim.io.simple_fits.SimpleHeader`

    Returns
    -------
    images : `list` [`str`]
        80-character cards.
    """
    if isinstance(header, SimpleHeader):
        images = [header.raw[start:start + CARD].decode("ascii", "replace")
                  for start in range(0, len(header.raw), CARD)]
    else:
        images = [header_card.image for header_card in header.cards]
    return [image for image in images
            if image[8:10] == "= " and _WCS_KEYWORD.fullmatch(image[:8].rstrip())]


class CardWcs:
    """A celestial WCS held as FITS cards.

    Parameters
    ----------
    images : `list` [`str`]
        The WCS cards (`wcs_card_images`) of a file.
    origin : `tuple` [`int`, `int`]
        Parent coordinates of the file's first pixel: the WCS maps parent
        pixel ``(x, y)`` as the cards map file pixel ``(x - x0, y - y0)``.
    path : `str` or `pathlib.Path`
        The file, named when astropy cannot read the cards.
    """

    def __init__(self, images, origin, path):
        self.images = tuple(images)
        self.origin = tuple(origin)
        self.path = path
        self._values = SimpleHeader("".join(self.images).encode("ascii"))
        self._astropy = None

    @staticmethod
    def is_celestial(header):
        """Whether ``CTYPE1``/``CTYPE2`` of ``header`` are a longitude-latitude pair of one
        projection that this class holds without astropy."""
        types = [header.get(f"CTYPE{axis}") for axis in (1, 2)]
        if not all(isinstance(ctype, str) and _CELESTIAL.fullmatch(ctype) for ctype in types):
            return False
        return ({ctype[:4] for ctype in types} in _PAIRS and types[0][4:] == types[1][4:]
                and header.get("WCSAXES", 2) == 2)

    def header_cards(self, xy0):
        """The cards for a file whose first pixel is parent ``xy0``: as read, ``CRPIXn`` moved."""
        shift = (self.origin[0] - xy0[0], self.origin[1] - xy0[1])
        if shift == (0, 0):
            return list(self.images)
        moved = []
        for image in self.images:
            keyword = image[:8].rstrip()
            if keyword in ("CRPIX1", "CRPIX2"):
                comment = image[10:].partition("/")[2].strip() or None
                image = card(keyword, float(self._values[keyword]) + shift[int(keyword[-1]) - 1],
                             comment)
            moved.append(image)
        return moved

    @property
    def astropy(self):
        """The `astropy.wcs.WCS` of these cards, in the parent frame (made once)."""
        if self._astropy is None:
            from .header import wcs_from_header

            self._astropy = wcs_from_header(self._values.copy(), self.origin, self.path)
        return self._astropy

    def pixel_to_world_values(self, x, y):
        """Sky coordinates (degrees, the frame of the cards) of parent pixels ``(x, y)``.

        Evaluated from the cards for TAN, TAN-SIP and TPV (FITS WCS paper II;
        SIP and TPV as wcslib applies them), by astropy otherwise.
        """
        model = self._gnomonic()
        if model is None:
            return self.astropy.pixel_to_world_values(x, y)
        return model(x, y)

    def _gnomonic(self):
        """The mapping of a TAN, TAN-SIP or TPV WCS (`_Gnomonic`), or None for any other."""
        if "_model" not in self.__dict__:
            values = self.parameters()
            supported = (values is not None
                         and (values["CTYPE1"], values["CTYPE2"]) in _GNOMONIC
                         and values["CUNIT1"] == values["CUNIT2"] == "deg"
                         and values.get("LONPOLE") == 180.0
                         and _distortion_supported(values))
            self._model = _Gnomonic(values, self.origin) if supported else None
        return self._model

    def __getattr__(self, name):
        # Only public names: pickling and copying look up private ones on
        # instances that have no attributes yet.
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.astropy, name)

    def __deepcopy__(self, memo):
        return self  # immutable: the cards and origin never change

    def __repr__(self):
        return (f"CardWcs({self._values.get('CTYPE1')}/{self._values.get('CTYPE2')}, "
                f"{len(self.images)} cards, origin {self.origin})")

    def parameters(self):
        """``{keyword: value}`` of the mapping, defaults filled in and the linear part one matrix.

        Returns None when the cards hold a combination not normalised here
        (``CD`` with ``PC``, ``CROTA``).
        """
        keywords = [image[:8].rstrip() for image in self.images]
        values = {keyword: self._values[keyword] for keyword in keywords
                  if not _NOT_MAPPING.fullmatch(keyword)}
        has_cd = any(key.startswith("CD") and key[2].isdigit() for key in values)
        has_pc = any(key.startswith("PC") for key in values)
        if (has_cd and has_pc) or "CROTA1" in values or "CROTA2" in values:
            return None
        matrix = [[values.get(f"CD{i}_{j}", 0.0) for j in (1, 2)] for i in (1, 2)] if has_cd else [
            [values.get(f"PC{i}_{j}", float(i == j)) * values.get(f"CDELT{i}", 1.0) for j in (1, 2)]
            for i in (1, 2)]
        for key in _MATRIX:
            values.pop(key, None)
        values["matrix"] = tuple(tuple(float(value) for value in row) for row in matrix)
        values.setdefault("WCSAXES", 2)
        for axis in (1, 2):
            values.setdefault(f"CUNIT{axis}", "deg")
        projection = values["CTYPE1"][5:8]
        latitude_axis = 1 if values["CTYPE1"][:4] in ("DEC-", "GLAT", "ELAT") else 2
        if projection in _ZENITHAL:
            values.pop("LATPOLE", None)
            if values.get(f"CRVAL{latitude_axis}") != 90.0:
                values.setdefault("LONPOLE", 180.0)
        if "EQUINOX" not in values and "EPOCH" not in values:
            values.setdefault("RADESYS", values.pop("RADECSYS", "ICRS"))
        return values


def same_grid(first, second):
    """Whether two `CardWcs` map pixels to the sky alike, from their card values.

    True when every value agrees to 1e-12 (relative), a ``PVi_m`` absent from
    one being 0; None when that cannot be told without evaluating the WCSs
    (a keyword only one has, or cards not normalised by `CardWcs.parameters`);
    False when a value differs.
    """
    mine, theirs = first.parameters(), second.parameters()
    if mine is None or theirs is None:
        return None
    for key in set(mine) | set(theirs):
        if key.startswith("PV"):
            a, b = mine.get(key, 0.0), theirs.get(key, 0.0)
        elif key in mine and key in theirs:
            a, b = mine[key], theirs[key]
        else:
            return None
        if not _same_value(a, b):
            return False
    return True


def _same_value(a, b):
    if isinstance(a, tuple):
        return all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=_SAME_NUMBER, abs_tol=0.0)
    return a == b


def _distortion_supported(values):
    """Whether the projection parameters are TPV's terms 0-39 with both linear terms given
    (wcslib's defaults for absent ones are not restated here), or there are none (TAN)."""
    parameters = [key for key in values if key.startswith(("PV", "PS"))]
    if not values["CTYPE1"].endswith("TPV"):
        return not parameters
    return ("PV1_1" in values and "PV2_1" in values
            and all(re.fullmatch(r"PV[12]_([0-9]|[1-3][0-9])", key) for key in parameters))


class _Gnomonic:
    """Pixel to sky of a gnomonic (TAN) WCS with SIP or TPV distortions, in numpy.

    Parameters
    ----------
    values : `dict`
        `CardWcs.parameters` of the cards.
    origin : `tuple` [`int`, `int`]
        Parent coordinates of the file's first pixel.
    """

    def __init__(self, values, origin):
        self.crpix = (values["CRPIX1"] + origin[0] - 1.0, values["CRPIX2"] + origin[1] - 1.0)
        self.matrix = values["matrix"]
        self.ra0, self.dec0 = math.radians(values["CRVAL1"]), math.radians(values["CRVAL2"])
        self.sip = None
        if values["CTYPE1"].endswith("-SIP"):
            self.sip = tuple(
                [(int(match[1]), int(match[2]), float(values[key])) for key in values
                 for match in [re.fullmatch(f"{axis}_(\\d+)_(\\d+)", key)] if match]
                for axis in ("A", "B"))
        self.tpv = None
        if values["CTYPE1"].endswith("TPV"):
            self.tpv = tuple({int(key[4:]): float(values[key]) for key in values
                              if key.startswith(f"PV{axis}_")} for axis in (1, 2))

    def __call__(self, x, y):
        u = np.asarray(x, float) - self.crpix[0]  # pixel offsets from CRPIX
        v = np.asarray(y, float) - self.crpix[1]
        if self.sip is not None:
            u, v = (u + _polynomial(self.sip[0], u, v), v + _polynomial(self.sip[1], u, v))
        (m11, m12), (m21, m22) = self.matrix
        xi, eta = m11 * u + m12 * v, m21 * u + m22 * v  # degrees in the tangent plane
        if self.tpv is not None:
            xi, eta = _tpv(self.tpv[0], xi, eta), _tpv(self.tpv[1], eta, xi)
        # TAN: native longitude phi, latitude theta; then rotated to the sky with the
        # reference point at the native pole and LONPOLE 180.
        phi = np.arctan2(xi, -eta)
        theta = np.arctan2(1.0, np.radians(np.hypot(xi, eta)))
        sin_t, cos_t = np.sin(theta), np.cos(theta)
        delta_phi = phi - math.pi
        sin_d0, cos_d0 = math.sin(self.dec0), math.cos(self.dec0)
        ra = self.ra0 + np.arctan2(-cos_t * np.sin(delta_phi),
                                   sin_t * cos_d0 - cos_t * sin_d0 * np.cos(delta_phi))
        dec = np.arcsin(np.clip(sin_t * sin_d0 + cos_t * cos_d0 * np.cos(delta_phi), -1.0, 1.0))
        return np.degrees(ra) % 360.0, np.degrees(dec)


def _polynomial(terms, u, v):
    """``sum c u^p v^q`` over SIP terms ``(p, q, c)``."""
    total = np.zeros_like(u)
    for p, q, coefficient in terms:
        total += coefficient * u ** p * v ** q
    return total


def _tpv(coefficients, u, v):
    """One TPV axis: ``sum PV_k u^a v^b r^c`` (u the axis's own coordinate)."""
    total = np.zeros_like(u)
    r = np.hypot(u, v) if any(_TPV_POWERS[k][2] for k in coefficients if k < 40) else None
    for k, coefficient in coefficients.items():
        a, b, c = _TPV_POWERS[k]
        term = u ** a * v ** b
        total += coefficient * (term * r ** c if c else term)
    return total
