"""FITS persistence of exposures.

Our format is a multi-extension FITS file, as afw writes an ``ExposureF``:

- primary HDU, no data: format marker ``DIFFIMFT``, origin (IRAF ``LTV1``/``LTV2``
  = -x0, -y0), calibration (``MAGZERO``, ``MAGZERR``), visit info (``EXPTIME``,
  ``MJD-OBS``, ``BAND``, ``FILTER``, ``AIRMASS``) and the free metadata as JSON
  (``DIFFMETA``);
- ``IMAGE`` (float32) with the WCS in its header, in the file's local pixel frame
  (CRPIX shifted by the origin, so any FITS viewer shows the right sky);
- ``MASK`` (uint32) with one ``MP_<NAME> = bit`` card per mask plane;
- ``VARIANCE`` (float32);
- ``PSF`` (binary table), when the exposure has a PSF.

Every HDU carries CHECKSUM/DATASUM so corruption is detected on read. Files are
written to a temporary name and renamed, so a crash never leaves a half file
under the final name.

`read_exposure` also reads plain single-image FITS files from other surveys
(`diffim.io.plain_fits`).
"""
from __future__ import annotations

import json

import numpy as np

from ..errors import FitsFormatError
from ..exposure import Exposure, PhotoCalib
from ..mask import Mask, MaskPlanes
from ..psf.persistence import EXTNAME as PSF_EXTNAME, psf_from_hdu, psf_table
from .atomic import write_atomically
from .checksum import (
    checksum_cards,
    hdu_sums_match,
    plane_datasum,
    read_plane,
    table_datasum,
)
from .fits_cards import card, header_bytes
from .hdu_writer import image_cards, primary_cards, psf_table_hdu, write_hdus
from .hdu_reader import read_hdus
from .parsed_kept import ParsedKept
from .simple_fits import read_header, simple_image_after
from .header import (
    open_fits,
    read_visit_info,
    visit_info_cards,
    wcs_cards,
    wcs_from_header,
)
from .plain_fits import exposure_from_plain_image, plain_image_and_header
from .read_cache import cached

__all__ = ["FORMAT_VERSION", "read_exposure", "write_exposure"]

FORMAT_VERSION = 1
_MAX_ORIGIN = 2**31 - 1  # pixel coordinates of any sky survey fit in 32 bits
_PLANE_PREFIX = "MP_"
_PLANE_HDUS = ("IMAGE", "MASK", "VARIANCE")
_CHECKSUM_COMMENT = "diffim exposure checksum"
_KEPT_PSFS = ParsedKept(16 << 20, copied=False)
"""PSFs parsed from their HDU's bytes (header and table, checked against its checksums first),
shared by the exposures read: a PSF is not changed (as `diffim.Exposure.copy` shares it).
Up to 16 MiB of HDUs (a campaign's 384 px PSF tables are up to 1.1 MB), about 64 MiB parsed."""


def write_exposure(exposure, path, header_cards=None):
    """Write an exposure as a multi-extension FITS file.

    Parameters
    ----------
    exposure : `diffim.Exposure`
    path : `str` or `pathlib.Path`
        Output file; replaced atomically if it exists.
    header_cards : `dict`, optional
        Extra primary-header cards, keyword -> value or (value, comment),
        e.g. the summary numbers of the step that made the exposure.

    Notes
    -----
    The bytes are those astropy writes for the same HDUs (headers rendered by
    `diffim.io.fits_cards`, planes by `diffim.io.hdu_writer`); astropy is
    imported only for the cards of an `astropy.wcs.WCS`: a WCS read from a
    plain image (`diffim.io.wcs_cards.CardWcs`) is written as the cards it
    was read with.
    """
    primary = {"DIFFIMFT": (FORMAT_VERSION, "diffim exposure format version"),
               "LTV1": (-exposure.xy0[0], "minus x0: parent x = file x - LTV1"),
               "LTV2": (-exposure.xy0[1], "minus y0: parent y = file y - LTV2")}
    if exposure.photo_calib is not None:
        primary["MAGZERO"] = (exposure.photo_calib.zero_point, "AB mag of 1 count")
        primary["MAGZERR"] = (exposure.photo_calib.zero_point_err, None)
    primary.update(visit_info_cards(exposure.visit_info))
    if exposure.metadata:
        primary["DIFFMETA"] = (json.dumps(exposure.metadata, sort_keys=True), "metadata, JSON")
    for keyword, value in (header_cards or {}).items():
        # A bare value keeps the comment of the card it replaces (as astropy's header does).
        primary[keyword] = (value if isinstance(value, tuple)
                            else (value, primary.get(keyword, (None, None))[1]))
    cards = primary_cards() + [card(keyword, value, comment)
                               for keyword, (value, comment) in primary.items()]
    # A fixed checksum comment instead of astropy's time stamp: the same
    # exposure always gives the same bytes, so files from two middlewares compare.
    hdus = [(header_bytes(checksum_cards(cards, 0, _CHECKSUM_COMMENT)), None)]
    wcs_images = wcs_cards(exposure.wcs, exposure.xy0) if exposure.wcs is not None else []
    mask_cards = [card(f"HIERARCH {_PLANE_PREFIX}{name}", bit)
                  for name, bit in exposure.mask.planes.as_dict().items()]
    for name, plane, before, after in (("IMAGE", exposure.image, wcs_images, []),
                                       ("MASK", exposure.mask.array, [], mask_cards),
                                       ("VARIANCE", exposure.variance, [], [])):
        plane = np.ascontiguousarray(plane)
        cards = [*image_cards(plane), *before, card("EXTNAME", name, "extension name"), *after]
        hdus.append((header_bytes(checksum_cards(cards, plane_datasum(plane), _CHECKSUM_COMMENT)),
                     plane))
    if exposure.psf is not None:
        cards, table = psf_table_hdu(*psf_table(exposure.psf))
        hdus.append((header_bytes(checksum_cards(cards, table_datasum(table), _CHECKSUM_COMMENT)),
                     table))
    write_atomically(path, lambda temporary: write_hdus(temporary, hdus))


def read_exposure(path, **plain_options):
    """Read an exposure from a FITS file.

    Parameters
    ----------
    path : `str` or `pathlib.Path`
        Our multi-extension format, or a plain FITS image.
    **plain_options
        For a plain image: ``hdu`` (which HDU holds it) and the options of
        `diffim.io.plain_fits.exposure_from_plain_image` (gain, read noise,
        sky, saturation, variance). A plain image in the primary HDU of a
        simple file is read without astropy (`diffim.io.simple_fits`).

    Returns
    -------
    exposure : `diffim.Exposure`

    Raises
    ------
    FitsFormatError
        If the file is missing, not FITS, truncated, corrupt (checksum), or its
        planes are missing or of inconsistent shapes.

    Notes
    -----
    A file of the layout `write_exposure` writes is read without astropy
    (`diffim.io.hdu_reader`), its headers and planes once each; any other
    layout of our format is read by astropy, with the same result. Where the
    process asked to keep what it reads (`diffim.io.read_cache`), a file read
    before and unchanged since is not read again.
    """
    if plain_options:
        return _read_exposure(path, plain_options)
    return cached(path, lambda path: _read_exposure(path, {}))


def _read_exposure(path, plain_options):
    """`read_exposure` of the file itself."""
    hdu = plain_options.pop("hdu", None)
    primary, hdus = _read_file(path, plain=hdu is None)
    if primary is None or "DIFFIMFT" not in primary:
        return exposure_from_plain_image(*(hdus or plain_image_and_header(path, hdu)), path,
                                         **plain_options)
    if plain_options or hdu is not None:
        given = sorted([*plain_options, *(["hdu"] if hdu is not None else [])])
        raise FitsFormatError(f"{path}: options {given} only apply to "
                              "plain FITS images, not to a diffim exposure file")
    if primary["DIFFIMFT"] > FORMAT_VERSION:
        raise FitsFormatError(f"{path}: format version {primary['DIFFIMFT']} is newer than "
                              f"this code reads ({FORMAT_VERSION})")
    if hdus is not None:
        return _exposure_from_raw_hdus(hdus, path)
    with open_fits(path) as hdus:
        return _exposure_from_hdulist(hdus, path)


def _read_file(path, plain):
    """``(primary header, contents)`` of a file, its first header read once.

    The contents are our format's HDUs (`diffim.io.hdu_reader.RawHdu`) in the
    layout `read_hdus` reads, or, with ``plain``, a plain image's ``(image,
    header)`` when `diffim.io.simple_fits` reads it; else `None` (astropy
    reads the file). ``(None, None)`` when it is not FITS.
    """
    try:
        stream = open(path, "rb")
    except OSError:
        return None, None
    with stream:
        primary = read_header(stream)
        if primary is None:
            return None, None
        if "DIFFIMFT" not in primary:
            return primary, simple_image_after(stream, primary) if plain else None
        return primary, read_hdus(stream, primary)


def _exposure_from_raw_hdus(hdus, path):
    """The exposure of the HDUs `read_hdus` read, or of astropy's read of a file of
    another arrangement."""
    names = [hdu.name for hdu in hdus]
    dtypes = [getattr(hdu.data, "dtype", None) for hdu in hdus[1:4]]
    if names[1:4] != list(_PLANE_HDUS) or names[4:] not in ([], [PSF_EXTNAME]) \
            or dtypes != [np.float32, np.uint32, np.float32] \
            or not all(isinstance(hdu.data, bytes) for hdu in hdus[4:]):
        with open_fits(path) as astropy_hdus:
            return _exposure_from_hdulist(astropy_hdus, path)
    for hdu in hdus:
        _check_sums(hdu.name, hdu.header, hdu.header.raw, hdu.datasum, path)
    mask_planes = {}
    for image in hdus[2].card_images():
        if image.startswith(f"HIERARCH {_PLANE_PREFIX}"):
            keyword, _, value = image[len("HIERARCH "):].partition("=")
            mask_planes[keyword.strip()[len(_PLANE_PREFIX):]] = int(value.split("/")[0])
    psf = None
    if len(hdus) == 5:
        raw = hdus[4].header.raw + hdus[4].data
        psf = _KEPT_PSFS.get(raw, lambda: _psf_from_bytes(raw))
    planes = {name: hdu.data for name, hdu in zip(_PLANE_HDUS, hdus[1:4])}
    return _exposure(hdus[0].header, planes, mask_planes, psf, hdus[1].header, path)


def _psf_from_bytes(raw):
    from astropy.io import fits

    return psf_from_hdu(fits.BinTableHDU.fromstring(raw))


def _exposure_from_hdulist(hdus, path):
    names = [hdu.name for hdu in hdus]
    for name in _PLANE_HDUS:
        if name not in names:
            raise FitsFormatError(f"{path}: missing {name} extension (has {', '.join(names)})")
    planes = {}
    for hdu in hdus:
        if hdu.name in _PLANE_HDUS and hdu.name not in planes and hdu.data is not None:
            planes[hdu.name] = _verified_plane(hdu, path)
        elif hdu.verify_datasum() == 0 or hdu.verify_checksum() == 0:
            raise FitsFormatError(f"{path}: checksum mismatch in HDU {hdu.name}: file is corrupt")
    planes = {name: planes.get(name) for name in _PLANE_HDUS}
    mask_header = hdus["MASK"].header
    mask_planes = {key[len(_PLANE_PREFIX):]: mask_header[key]
                   for key in mask_header if key.startswith(_PLANE_PREFIX)}
    psf = psf_from_hdu(hdus[PSF_EXTNAME]) if PSF_EXTNAME in names else None
    return _exposure(hdus[0].header, planes, mask_planes, psf, hdus["IMAGE"].header, path)


def _exposure(primary, planes, mask_planes, psf, image_header, path):
    """The exposure of the headers and planes of either reader, checked for consistency.

    Parameters
    ----------
    primary, image_header : `astropy.io.fits.Header` or `diffim.io.simple_fits.SimpleHeader`
    planes : `dict` [`str`, `numpy.ndarray` or `None`]
        The data of the IMAGE, MASK and VARIANCE extensions, native byte order.
    mask_planes : `dict` [`str`, `int`]
        The MASK extension's plane bits.
    psf : `diffim.psf.Psf` or `None`
    path : `str` or `pathlib.Path`
        For messages.
    """
    for name, data in planes.items():
        if data is None or data.ndim != 2:
            shape = None if data is None else data.shape
            raise FitsFormatError(f"{path}: {name} extension is not a 2-D image (shape {shape})")
    if not planes["IMAGE"].shape == planes["MASK"].shape == planes["VARIANCE"].shape:
        raise FitsFormatError(f"{path}: plane shapes differ: "
                              + ", ".join(f"{n} {d.shape}" for n, d in planes.items()))
    xy0 = (-_origin_card(primary, "LTV1", path), -_origin_card(primary, "LTV2", path))
    return Exposure(
        planes["IMAGE"].astype(np.float32, copy=False),
        planes["VARIANCE"].astype(np.float32, copy=False),
        Mask(planes["MASK"].astype(np.uint32, copy=False), MaskPlanes(mask_planes)),
        xy0=xy0,
        psf=psf,
        wcs=wcs_from_header(image_header, xy0, path),
        photo_calib=(PhotoCalib(primary["MAGZERO"], primary.get("MAGZERR", 0.0))
                     if "MAGZERO" in primary else None),
        visit_info=read_visit_info(primary),
        metadata=json.loads(primary["DIFFMETA"]) if "DIFFMETA" in primary else None,
    )


def _origin_card(header, key, path):
    """An ``LTVn`` card as an integer; any other value is a format error, not an overflow later."""
    value = header.get(key, 0)
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not -_MAX_ORIGIN <= value <= _MAX_ORIGIN or value != int(value)):
        raise FitsFormatError(f"{path}: {key} = {value!r} is not a pixel origin "
                              f"(an integer of at most {_MAX_ORIGIN} in size)")
    return int(value)


def _check_sums(name, header, header_bytes, datasum, path):
    """Raise unless the HDU's DATASUM and CHECKSUM (where present) match its bytes.

    ``header_bytes`` is the header as the file holds it (what astropy verifies too).
    """
    if not hdu_sums_match(header, header_bytes, datasum):
        raise FitsFormatError(f"{path}: checksum mismatch in HDU {name}: file is corrupt")


def _verified_plane(hdu, path):
    """The data of an astropy ``hdu`` in native byte order, its DATASUM and CHECKSUM verified.

    Big-endian planes are swapped where they lie and summed in the same pass
    (`diffim.io.checksum`): no second copy of a 4k x 4k plane, one pass
    instead of astropy's two verifications.
    """
    fast = read_plane(hdu.data)
    if fast is None:
        if hdu.verify_datasum() == 0 or hdu.verify_checksum() == 0:
            raise FitsFormatError(f"{path}: checksum mismatch in HDU {hdu.name}: file is corrupt")
        return hdu.data.astype(hdu.data.dtype.newbyteorder("="), copy=False)
    data, datasum = fast
    _check_sums(hdu.name, hdu.header, hdu.header.tostring().encode("ascii"), datasum, path)
    return data
