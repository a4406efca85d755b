"""One patch of a coadd: the inputs warped onto it, combined, with mask, PSF and input rows.

`coadd_patch` is the per-patch step of `MakeCoaddTask.assemble` (the
combination, mask and PSF conventions are documented on `MakeCoaddTask`);
`resolve_patches` turns the patches a caller names into `PatchInfo`
objects of one tract.
"""
from __future__ import annotations

import numpy as np

from ..exposure import Exposure, PhotoCalib, VisitInfo
from ..mask import MASK_DTYPE, Mask, MaskPlanes, move_bits, plane_moves
from ..sky.skymap import PatchInfo
from ..warp.warper import WarpError
from .coadd_psf import coadd_psf
from .combine import combine_clipped_mean, combine_mean
from .errors import CoaddError

__all__ = ["coadd_patch", "resolve_patches"]


def resolve_patches(tract, patches):
    """The patches of ``tract`` named by ``patches``.

    Parameters
    ----------
    tract : `diffim.sky.skymap.TractInfo`
    patches
        A patch (sequential index, ``(x, y)`` index or `PatchInfo`) or a
        list of them.

    Returns
    -------
    patch_list : `list` [`diffim.sky.skymap.PatchInfo`]

    Raises
    ------
    CoaddError
        A `PatchInfo` belongs to another tract.
    """
    if isinstance(patches, (int, np.integer, tuple, PatchInfo)):
        patches = [patches]
    patch_list = []
    for patch in patches:
        if isinstance(patch, PatchInfo):
            if patch.tract_id != tract.tract_id:
                raise CoaddError(f"patch {patch.sequential_index} belongs to tract "
                                 f"{patch.tract_id}, not tract {tract.tract_id}")
            patch_list.append(patch)
        else:
            patch_list.append(tract.patch(patch))
    return patch_list


def _translated_mask(mask, planes):
    """``mask`` re-encoded in the plane table ``planes`` (planes added there as needed)."""
    if mask.planes == planes:
        return mask.array
    return move_bits(mask.array, plane_moves(mask.planes, planes))


def _warped_inputs(warper, inputs, tract, patch, bad_mask_planes):
    """The inputs that reach the patch: (input, calibrated warp, usable plane)."""
    patch_polygon = tract.patch_sky_polygon(patch)
    warped = []
    for item in inputs:
        if patch_polygon.isDisjointFrom(item.polygon):
            continue
        try:
            warp = warper.warpExposure(tract.wcs, item.exposure, patch.outer_bbox)
        except WarpError:
            # Overlap narrower than the kernel footprint: nothing to contribute.
            continue
        bad_bits = MASK_DTYPE(warp.mask.bitmask(
            [name for name in bad_mask_planes if name in warp.mask.planes]))
        usable = (((warp.mask.array & bad_bits) == 0) & np.isfinite(warp.image)
                  & np.isfinite(warp.variance))
        if usable.any():
            warp.image *= np.float32(item.scale)
            warp.variance *= np.float32(item.scale ** 2)
            warped.append((item, warp, usable))
    return warped


def coadd_patch(warper, inputs, tract, patch, config, threads):
    """One patch's coadd and its input rows, or None if no input contributes.

    Parameters
    ----------
    warper : `diffim.warp.Warper`
        Warps each input onto the patch's outer box.
    inputs : `list` [`diffim.coadd.inputs.CoaddInput`]
    tract : `diffim.sky.skymap.TractInfo`
    patch : `diffim.sky.skymap.PatchInfo`
    config : `diffim.coadd.MakeCoaddConfig`
    threads : `int` or None
        OpenMP threads of the combination.

    Returns
    -------
    made : `tuple` or None
        ``(coadd, rows)``: the `diffim.exposure.Exposure` on the patch's
        outer box with the tract WCS, and one ``inputs``-table row (`dict`)
        per contributing input.
    """
    warped = _warped_inputs(warper, inputs, tract, patch, config.badMaskPlanes)
    if not warped:
        return None
    items, warps, usable = zip(*warped)
    weights = [item.weight for item in items]
    images = [warp.image for warp in warps]
    variances = [warp.variance for warp in warps]
    if config.statistic == "MEANCLIP":
        combined = combine_clipped_mean(images, variances, usable, weights,
                                        config.clipSigma, config.clipIter, threads)
    else:
        combined = combine_mean(images, variances, usable, weights, threads)
    planes = MaskPlanes()
    mask = np.zeros(patch.outer_bbox.shape, MASK_DTYPE)
    for warp, used in zip(warps, combined.used):
        mask |= np.where(used, _translated_mask(warp.mask, planes), MASK_DTYPE(0))
    no_data = combined.weight_sum == 0.0
    mask[no_data] = MASK_DTYPE(1 << planes.add("NO_DATA"))
    if combined.clipped.any():
        mask[combined.clipped] |= MASK_DTYPE(1 << planes.add("CLIPPED"))

    key = (tract.tract_id, patch.sequential_index)
    patch_weight = sum(weights)
    rows = [{"tract": key[0], "patch": key[1], "input": item.index,
             "visit": item.exposure.metadata.get("visit"),
             "detector": item.exposure.metadata.get("detector"),
             "weight": item.weight, "weight_fraction": item.weight / patch_weight,
             "psf_fwhm": item.psf_fwhm, "zero_point": item.exposure.photo_calib.zero_point,
             "scale": item.scale, "n_pixels": int(np.count_nonzero(used))}
            for item, used in zip(items, combined.used)]
    psf = coadd_psf([warp.psf for warp in warps], weights, usable, patch.outer_bbox,
                    config.coaddPsfGridSize)
    first = items[0].exposure.visit_info
    visit_info = VisitInfo(band=first.band, physical_filter=first.physical_filter)
    metadata = {"coaddName": config.coaddName, "statistic": config.statistic,
                "tract": key[0], "patch": key[1], "patch_index": list(patch.index),
                "coaddZeroPoint": config.coaddZeroPoint,
                "no_data_fraction": float(no_data.mean()),
                "inputs": [{name: row[name] for name in ("input", "visit", "detector",
                                                         "weight", "n_pixels")}
                           for row in rows]}
    coadd = Exposure(combined.image, combined.variance, Mask(mask, planes),
                     xy0=patch.outer_bbox.xy0, psf=psf, wcs=tract.wcs,
                     photo_calib=PhotoCalib(config.coaddZeroPoint),
                     visit_info=visit_info, metadata=metadata)
    return coadd, rows
