"""``diffim info FILE``: what an exposure holds."""
from __future__ import annotations

import numpy as np

from ..errors import PsfError


def add_parser(commands):
    """Register the ``info`` subcommand."""
    parser = commands.add_parser("info", help="describe an exposure (ours or a plain FITS image)",
                                 description="Print what an exposure file holds.")
    parser.add_argument("file", help="FITS file: a diffim exposure or a plain image")
    parser.set_defaults(run=run)


def run(args):
    """Read the file and print its description."""
    # Imported here so that building the command line loads no file reader.
    from ..io.exposure_fits import read_exposure

    print(f"{args.file}:")
    print(describe(read_exposure(args.file)))


def describe(exposure):
    """A multi-line, human-readable description of an exposure."""
    from ..image.stats import robust_median_sigma

    good = ~exposure.mask.get(["NO_DATA", "SAT", "BAD"])
    pixels = exposure.image[good]
    median, noise = robust_median_sigma(pixels) if pixels.size else (float("nan"), float("nan"))
    x, y = exposure.bbox.center
    lines = [
        f"  bbox        {exposure.bbox}",
        f"  image       median {median:.4g}, robust std {noise:.4g}",
        f"  variance    median {float(np.median(exposure.variance)):.4g}",
        "  mask        " + (", ".join(f"{name}={exposure.mask.count(name)}"
                                      for name in exposure.mask.planes
                                      if exposure.mask.count(name)) or "no plane set"),
        f"  psf         {_describe_psf(exposure, x, y)}",
        f"  wcs         {_describe_wcs(exposure, x, y)}",
        "  photo_calib " + (f"zero point {exposure.photo_calib.zero_point:.4f}"
                            if exposure.photo_calib else "none"),
        f"  visit_info  {_describe_visit(exposure.visit_info)}",
        "  metadata    " + (", ".join(sorted(exposure.metadata)) or "none"),
    ]
    return "\n".join(lines)


def _describe_psf(exposure, x, y):
    if exposure.psf is not None:
        return f"{type(exposure.psf).__name__}, FWHM {exposure.psf.computeFwhm(x, y):.3f} px at centre"
    from ..psf import measure_psf

    try:
        measured = measure_psf(exposure.image, exposure.variance,
                               exposure.mask.get(["SAT", "BAD", "NO_DATA", "CR"]), exposure.xy0)
    except PsfError as error:
        return f"none (not measurable: {error})"
    return (f"none; measured FWHM {measured.fwhm:.3f} +- {measured.fwhm_scatter:.3f} px "
            f"from {measured.n_stars} stars")


def _describe_wcs(exposure, x, y):
    if exposure.wcs is None:
        return "none"
    ra, dec = exposure.pixel_to_sky(x, y)
    scale = np.sqrt(abs(np.linalg.det(exposure.wcs.celestial.pixel_scale_matrix))) * 3600.0
    cards = exposure.wcs.to_header(relax=True)
    distortion = " + SIP" if exposure.wcs.sip is not None else ""
    distortion += " + TPV" if "PV1_1" in cards else ""
    return (f"{'/'.join(exposure.wcs.wcs.ctype)}{distortion}, centre RA {float(ra):.5f} "
            f"Dec {float(dec):.5f}, {scale:.4f} arcsec/px")


def _describe_visit(visit_info):
    fields = vars(visit_info)
    known = [f"{name}={value}" for name, value in fields.items()
             if value not in (None, "") and value == value]
    return ", ".join(known) or "none"
