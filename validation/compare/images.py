"""Two exposures compared pixel by pixel: image, variance and every mask plane.

The verdict is ``IDENTICAL`` when no pixel of any plane differs (NaN equals
NaN), ``WITHIN_TOLERANCE`` when the differences stay inside the
`Tolerances`, and ``DIFFERENT`` otherwise, or when the bounding boxes or the
mask-plane tables differ (the pixels are then compared on the overlap, so
the numbers still say how far apart the two are).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from diffim.io.atomic import write_fits

from ..model import Comparison, Verdict
from .masks import mask_difference
from .planes import float_plane_difference
from .tolerances import Tolerances

__all__ = ["compare_exposures", "write_difference_image"]


def compare_exposures(a, b, product="differenceExp", tolerances=Tolerances(), reason=None,
                      artifact_dir=None):
    """Compare two exposures pixel by pixel.

    Parameters
    ----------
    a, b : `diffim.Exposure`
        The two exposures (``a`` is the reference side in "a minus b").
    product : `str`
        Name of what is compared, e.g. ``"differenceExp"``.
    tolerances : `Tolerances`
    reason : `str`, optional
        Why a difference is expected, stored with the result.
    artifact_dir : `str` or `pathlib.Path`, optional
        Where to write ``<product>_diff_of_diff.fits`` (a minus b) when the
        pixels differ; its path goes in ``artifacts["diff_of_diff"]``.

    Returns
    -------
    comparison : `validation.model.Comparison`
        Metrics ``image.*``, ``variance.*`` (see
        `~validation.compare.planes.FloatPlaneDifference`), ``mask.n_differing``
        and ``mask.<PLANE>.n_differing``; details ``bbox_a``/``bbox_b``, per
        plane ``image``/``variance``/``mask`` (where, location of the maximum)
        and ``problems`` (structural differences).
    """
    problems = []
    details = {"bbox_a": _box_dict(a.bbox), "bbox_b": _box_dict(b.bbox)}
    if a.bbox != b.bbox:
        overlap = a.bbox.intersection(b.bbox)
        problems.append(f"bounding boxes differ ({a.bbox} vs {b.bbox})")
        if overlap.is_empty():
            details["problems"] = problems
            return Comparison(product, "image", Verdict.DIFFERENT,
                              f"{problems[0]}, no pixel in common", details=details, reason=reason)
        a, b = a[overlap], b[overlap]
        details["compared_bbox"] = _box_dict(overlap)
    image = float_plane_difference(a.image, b.image, a.xy0, variances=(a.variance, b.variance),
                                   max_sigma=tolerances.image_max_sigma)
    variance = float_plane_difference(a.variance, b.variance, a.xy0,
                                      max_rel=tolerances.variance_max_rel)
    mask = mask_difference(a.mask, b.mask, a.xy0)
    if mask.definitions_differ:
        problems.append(_describe_mask_definitions(mask))
    metrics = {**image.flat_metrics("image"), **variance.flat_metrics("variance"),
               "mask.n_differing": mask.n_differing}
    metrics.update({f"mask.{name}.n_differing": plane["n_differing"]
                    for name, plane in mask.per_plane.items()})
    details.update(image=image.details, variance=variance.details,
                   mask={"per_plane": {name: plane for name, plane in mask.per_plane.items()
                                       if plane["n_differing"]},
                         "only_in_a": mask.only_in_a, "only_in_b": mask.only_in_b,
                         "moved_planes": mask.moved_planes})
    if problems:
        details["problems"] = problems
    masks_outside = [name for name, plane in mask.per_plane.items()
                     if plane["n_differing"] > tolerances.mask_max_pixels]
    any_difference = image.n_differing or variance.n_differing or mask.n_differing
    if problems or masks_outside or max(image.frac_outside, variance.frac_outside) > \
            tolerances.pixel_max_fraction:
        verdict = Verdict.DIFFERENT
    elif any_difference:
        verdict = Verdict.WITHIN_TOLERANCE
    else:
        verdict = Verdict.IDENTICAL
    artifacts = {}
    if artifact_dir is not None and any_difference:
        artifacts["diff_of_diff"] = str(write_difference_image(
            a, b, Path(artifact_dir) / f"{product}_diff_of_diff.fits",
            centre=image.details.get("max_sigma_at") or image.details.get("max_abs_at")))
    summary = "; ".join(problems + [_summarise(image, variance, mask)])
    return Comparison(product, "image", verdict, summary, metrics=metrics, details=details,
                      reason=reason, artifacts=artifacts)


CUTOUT_HALF_SIDE = 20
"""Half the side of the cut-outs around the largest difference, in pixels."""


def write_difference_image(a, b, path, centre=None):
    """Write a minus b as FITS: ``IMAGE`` and ``VARIANCE`` differences, ``MASK`` bits that differ.

    With ``centre`` (parent ``[x, y]``, e.g. of the largest difference), the
    image planes of a and b around it are added as ``CUTOUT_A`` and
    ``CUTOUT_B`` (at most 2 `CUTOUT_HALF_SIDE` + 1 pixels a side, the parent
    position of their first pixel in ``CUTX0``/``CUTY0``), so a reader can
    see both sides of the difference. The file is written to a temporary
    name and renamed; ``LTV1``/``LTV2`` give the parent origin as in our
    exposure files. Returns ``path``.
    """
    primary = fits.PrimaryHDU()
    primary.header["LTV1"] = (-a.xy0[0], "minus x0: parent x = file x - LTV1")
    primary.header["LTV2"] = (-a.xy0[1], "minus y0: parent y = file y - LTV2")
    primary.header["COMMENT"] = "a minus b, written by diffim-validate compare"
    hdus = fits.HDUList([
        primary,
        fits.ImageHDU(np.subtract(a.image, b.image), name="IMAGE"),
        fits.ImageHDU(np.subtract(a.variance, b.variance), name="VARIANCE"),
        fits.ImageHDU(np.bitwise_xor(a.mask.array, b.mask.array), name="MASK"),
    ])
    if centre is not None:
        x, y = centre[0] - a.xy0[0], centre[1] - a.xy0[1]
        rows = slice(max(y - CUTOUT_HALF_SIDE, 0), y + CUTOUT_HALF_SIDE + 1)
        columns = slice(max(x - CUTOUT_HALF_SIDE, 0), x + CUTOUT_HALF_SIDE + 1)
        for name, exposure in (("CUTOUT_A", a), ("CUTOUT_B", b)):
            cutout = fits.ImageHDU(np.array(exposure.image[rows, columns]), name=name)
            cutout.header["CUTX0"] = (a.xy0[0] + columns.start, "parent x of the first column")
            cutout.header["CUTY0"] = (a.xy0[1] + rows.start, "parent y of the first row")
            hdus.append(cutout)
    return write_fits(path, hdus)


def _box_dict(box):
    return {"x0": box.x0, "y0": box.y0, "width": box.width, "height": box.height}


def _describe_mask_definitions(mask):
    parts = []
    if mask.only_in_a:
        parts.append(f"only in A: {', '.join(mask.only_in_a)}")
    if mask.only_in_b:
        parts.append(f"only in B: {', '.join(mask.only_in_b)}")
    if mask.moved_planes:
        parts.append("on other bits: " + ", ".join(
            f"{name} {bit_a}/{bit_b}" for name, (bit_a, bit_b) in mask.moved_planes.items()))
    return "mask planes differ (" + "; ".join(parts) + ")"


def _summarise(image, variance, mask):
    """One line: what differs, by how much, in how many pixels."""
    if not (image.n_differing or variance.n_differing or mask.n_differing):
        return f"identical: {image.n_pixels} px of image, variance and {len(mask.per_plane)} mask planes"
    parts = []
    if image.n_differing:
        parts.append(f"image max |Δ| {image.metrics['max_abs']:.3g} "
                     f"({image.metrics['max_sigma']:.3g} σ) in {image.n_differing} px")
    if variance.n_differing:
        parts.append(f"variance max rel {variance.metrics['max_rel']:.3g} "
                     f"in {variance.n_differing} px")
    for plane, label in ((image, "image"), (variance, "variance")):
        if plane.n_nonfinite:
            parts.append(f"{label} NaN/inf against a value in {plane.n_nonfinite} px")
    planes = [f"{name} {info['n_differing']} px" for name, info in mask.per_plane.items()
              if info["n_differing"]]
    if planes:
        parts.append("mask " + ", ".join(planes))
    return "; ".join(parts)
