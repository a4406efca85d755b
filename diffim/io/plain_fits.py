"""Reading plain FITS images (from other surveys) as exposures.

A plain file has one image and a header, and no mask or variance. We rebuild:

- the variance, in ADU^2, from the gain (e-/ADU), read noise (e-) and the sky
  level that was subtracted from the image (ADU)::

      variance = (max(image, 0) + sky) / gain + (read_noise / gain)**2

  When no gain is known, the variance is the constant robust (MAD) noise of
  the image, and ``metadata["VARIANCE_SOURCE"]`` says so;
- the mask: non-finite pixels and blanks (``|value| >= BLANK_MAGNITUDE``, the
  "no data" sentinels some surveys write instead of NaN) become NO_DATA (with
  image and variance set to 0, so no NaN travels further), pixels whose
  ``image + sky`` reaches the saturation level become SAT.

Each value comes from an explicit option first, then from the usual header
keywords (see ``HEADER_KEYWORDS``).
"""
from __future__ import annotations

import math

import numpy as np

from .._core import _planes
from ..errors import FitsFormatError
from ..exposure import Exposure, PhotoCalib
from ..image.stats import robust_median_sigma
from ..mask import Mask
from .header import open_fits, read_visit_info, wcs_from_header
from .simple_fits import read_simple_image
from .wcs_cards import CardWcs, wcs_card_images

__all__ = ["BLANK_MAGNITUDE", "HEADER_KEYWORDS", "as_float32", "exposure_from_plain_image",
           "plain_image_and_header", "plain_image_hdu", "read_bad_pixel_mask", "read_plain_image"]

BLANK_MAGNITUDE = 1e30
"""Pixel values at least this large in magnitude are blanks, not data: ZTF's alert
template cutouts fill "no data" with -3.4e38 (-FLT_MAX), other pipelines with -1e30.
Convolved, one such pixel would overflow its whole neighbourhood."""

HEADER_KEYWORDS = {
    "gain": ("GAIN", "EGAIN", "GAINA", "CCDGAIN"),
    "read_noise": ("RDNOISE", "READNOIS", "RON", "RDNOISEA"),
    "sky": ("AVSKY", "SKYLEVEL", "SKYSUB", "SKY"),
    "saturation": ("SATURATE", "SATLEVEL", "SATURATA"),
    "zero_point": ("MAGZERO", "MAGZPT", "MAGZP", "ZP", "PHOTZP"),
}


def exposure_from_plain_image(image, header, path, *, gain=None, read_noise=None, sky=None,
                              saturation=None, variance=None):
    """Make an exposure from the image and header of a plain FITS file.

    Parameters
    ----------
    image : `numpy.ndarray`
        The 2-D image as read (any numeric type; used in place when it is a
        writeable native float32 array).
    header : `astropy.io.fits.Header` or `diffim.io.simple_fits.SimpleHeader`
    path : `str` or `pathlib.Path`
        File name, for messages.
    gain, read_noise, sky, saturation : `float`, optional
        Override the header keywords (gain in e-/ADU, read noise in e-, sky and
        saturation in ADU).
    variance : `numpy.ndarray` or `float`, optional
        A variance image to use as is (same shape as the image), or a constant.

    Returns
    -------
    exposure : `diffim.Exposure`

    Raises
    ------
    FitsFormatError
        If an option is not positive, or the variance has the wrong shape.
    """
    image = as_float32(image)
    gain = _value("gain", gain, header, path)
    read_noise = _value("read_noise", read_noise, header, path, allow_zero=True) or 0.0
    sky = _value("sky", sky, header, path, allow_zero=True) or 0.0
    saturation = _value("saturation", saturation, header, path)

    mask = Mask.zeros(image.shape)
    no_data_bit = 1 << mask.add_plane("NO_DATA")
    saturated_bit = 1 << mask.add_plane("SAT") if saturation is not None else 0
    # One pass: non-finite pixels and blanks zeroed and flagged, saturated ones flagged.
    n_no_data = _planes.flag_plain_image(
        image, mask.array, no_data_bit, saturated_bit,
        np.float32(saturation - sky) if saturation is not None else 0.0, saturation is not None,
        BLANK_MAGNITUDE)
    metadata = {"SOURCE_FILE": str(path)}
    if variance is not None:
        variance = np.asarray(variance)
        if variance.ndim == 0:
            variance = np.full(image.shape, float(variance), dtype=np.float32)
        if variance.shape != image.shape:
            raise FitsFormatError(f"{path}: variance shape {variance.shape} differs from image "
                                  f"shape {image.shape}")
        variance = np.asarray(variance, dtype=np.float32)
        metadata["VARIANCE_SOURCE"] = "given"
    elif gain is not None:
        # In place, one plane: (max(image, 0) + sky) / gain + (read_noise / gain)^2.
        variance = np.maximum(image, np.float32(0.0))
        variance += np.float32(sky)
        variance /= np.float32(gain)
        variance += np.float32((read_noise / gain) ** 2)
        metadata["VARIANCE_SOURCE"] = f"gain={gain:g} read_noise={read_noise:g} sky={sky:g}"
    else:
        usable = ~mask.get("NO_DATA") if n_no_data else np.s_[...]
        variance = np.full(image.shape, _robust_variance(image[usable].ravel(), path),
                           dtype=np.float32)
        metadata["VARIANCE_SOURCE"] = "robust sky noise (no gain known)"
    if n_no_data or not _planes.all_finite(variance):
        # A copy when the variance was given: the caller's array stays as it was.
        unusable = mask.get("NO_DATA") | ~np.isfinite(variance)
        variance = np.where(unusable, np.float32(0.0), variance)

    zero_point = _value("zero_point", None, header, path)
    xy0 = (0, 0)
    return Exposure(image, variance, mask, xy0=xy0,
                    wcs=_plain_wcs(header, xy0, path),
                    photo_calib=PhotoCalib(zero_point) if zero_point is not None else None,
                    visit_info=read_visit_info(header), metadata=metadata)


def _plain_wcs(header, xy0, path):
    """The image's celestial WCS as its cards (`CardWcs`, no astropy), else as astropy
    reads it (any other WCS), or None."""
    if CardWcs.is_celestial(header):
        return CardWcs(wcs_card_images(header), xy0, path)
    return wcs_from_header(header, xy0, path)


def as_float32(data):
    """A writeable native float32 array of FITS data, without a copy when the file holds float32.

    FITS stores big-endian numbers; float32 data read into memory is swapped in
    place instead of being copied (a 4k x 4k plane is 64 MB).
    """
    if data.dtype.kind == "f" and data.dtype.itemsize == 4 and data.flags.writeable:
        if not data.dtype.isnative:
            data = data.byteswap(inplace=True).view(data.dtype.newbyteorder("="))
        return data
    return data.astype(np.float32)


def read_plain_image(path, hdu=None):
    """The image of a plain FITS file (e.g. a variance map) as a float32 array.

    Raises
    ------
    FitsFormatError
        If the file cannot be read or holds no 2-D image.
    """
    return as_float32(plain_image_and_header(path, hdu)[0])


def plain_image_and_header(path, hdu=None):
    """``(image, header)`` of a plain file: without astropy when `read_simple_image` can.

    Parameters
    ----------
    path : `str` or `pathlib.Path`
    hdu : `int` or `str`, optional
        The HDU that holds the image; default the first with a 2-D image.

    Returns
    -------
    image : `numpy.ndarray`
    header : `diffim.io.simple_fits.SimpleHeader` or `astropy.io.fits.Header`

    Raises
    ------
    FitsFormatError
        If the file cannot be read or holds no such image.
    """
    if hdu is None:
        simple = read_simple_image(path)
        if simple is not None:
            return simple
    with open_fits(path) as hdus:
        chosen = plain_image_hdu(hdus, hdu, path)
        return chosen.data, chosen.header


def read_bad_pixel_mask(path, shape):
    """A bad-pixel mask file (HOTPANTS-style: non-zero or non-finite = bad) as booleans.

    Raises
    ------
    FitsFormatError
        If the file cannot be read, holds no 2-D image, or its shape is not ``shape``.
    """
    data = read_plain_image(path)
    if data.shape != tuple(shape):
        raise FitsFormatError(f"{path}: mask shape {data.shape} differs from image shape "
                              f"{tuple(shape)}")
    with np.errstate(invalid="ignore"):
        return ~np.isfinite(data) | (data != 0)


def plain_image_hdu(hdus, which, path):
    """The HDU ``which`` of an opened file, or the first one with a 2-D image.

    Raises
    ------
    FitsFormatError
        If there is no such HDU or it holds no 2-D image.
    """
    if which is not None:
        try:
            chosen = hdus[which]
        except (KeyError, IndexError):
            raise FitsFormatError(f"{path}: no HDU {which!r}") from None
        if chosen.data is None or chosen.data.ndim != 2:
            raise FitsFormatError(f"{path}: HDU {which!r} holds no 2-D image")
        return chosen
    for candidate in hdus:
        if candidate.is_image and candidate.data is not None and candidate.data.ndim == 2:
            return candidate
    raise FitsFormatError(f"{path}: no 2-D image in any HDU")


def _value(name, given, header, path, allow_zero=False):
    """An explicit option, else the first header keyword present, else None."""
    source = f"option {name}"
    if given is None:
        for keyword in HEADER_KEYWORDS[name]:
            if keyword in header:
                given, source = header[keyword], f"header keyword {keyword}"
                break
        else:
            return None
    try:
        value = float(given)
    except (TypeError, ValueError):
        raise FitsFormatError(f"{path}: {source} = {given!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise FitsFormatError(f"{path}: {source} = {given!r} must be a positive number")
    return value


def _robust_variance(values, path):
    if values.size == 0:
        raise FitsFormatError(f"{path}: every pixel is NaN or infinite")
    sigma = robust_median_sigma(values)[1]
    if sigma == 0:
        raise FitsFormatError(f"{path}: cannot estimate a noise level (constant image) and "
                              "no gain is known; give a gain or a variance")
    return sigma ** 2
