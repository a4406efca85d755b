"""Templates on the science frame: from coadd patches, or from another calexp.

`GetCoaddAsTemplateTask` is ``getTemplate``'s default (the stack's
``GetCoaddAsTemplateTask``/``GetTemplateTask``): the skymap's patches that
overlap the science detector (grown by ``templateBorderSize``) are merged
within each tract, each tract is warped to the science WCS and box, and the
tracts are merged; NO_DATA where nothing contributes, HIGH_VARIANCE where the
smoothed variance is far above its median, and the PSF of the coadd carried
through the warp.

`GetCalexpAsTemplateTask` warps another calexp onto the science frame and
brings its source catalogue along (calexp-calexp subtraction).

Both return ``Struct(exposure=..., sources=...)``; the middleware adapters
fetch the inputs (patches from the skymap, or a calexp by data ID).
"""
from __future__ import annotations

import lsst.pex.config as pexConfig
import numpy as np

from ..errors import DiffimError
from ..exposure import IMAGE_DTYPE, Exposure
from ..geom import Box
from ..image.background import estimate_background
from ..image.stats import clipped_stats
from ..mask import MASK_DTYPE, Mask, move_bits, plane_moves
from ..task import Struct, Task
from ..warp.warper import Warper, WarperConfig, WarpError
from .kept import kept_template, template_key

__all__ = ["GetCalexpAsTemplateConfig", "GetCalexpAsTemplateTask", "GetCoaddAsTemplateConfig",
           "GetCoaddAsTemplateTask", "NoTemplateError"]


class NoTemplateError(DiffimError):
    """No usable template covers enough of the science image."""


class GetCoaddAsTemplateConfig(pexConfig.Config):
    """Configuration of `GetCoaddAsTemplateTask` (the stack's field names)."""

    coaddName = pexConfig.Field(dtype=str, default="deep",
                                doc="Coadd flavour used as template (deep, goodSeeing, ...).")
    templateBorderSize = pexConfig.Field(dtype=int, default=20,
                                         doc="Grow the science box by this (pixels) to find patches.")
    warp = pexConfig.ConfigField(dtype=WarperConfig, doc="Warping of each tract to the science frame.")
    requiredTemplateFraction = pexConfig.Field(
        dtype=float, default=0.1,
        doc="Fail if the template covers less than this fraction of the science image.")
    highVarianceThreshold = pexConfig.Field(
        dtype=float, default=4.0, doc="HIGH_VARIANCE where smoothed variance > this x median.")
    highVarianceCell = pexConfig.Field(
        dtype=int, default=32,
        doc="Cell (pixels) of the clipped-median smoothing of the variance: large enough that "
            "stars (whose Poisson variance is high) vanish, small enough for chip gaps.")
    # The stack's fields this task does not use (its coadds have one warp type, none
    # is DCR); kept so that override files load, and reported by the tasks that run it.
    warpType = pexConfig.Field(dtype=str, default="direct",
                               doc="Warp type of the coadds: 'direct' or 'psfMatched'.")
    numSubfilters = pexConfig.Field(dtype=int, default=3, doc="Sub-filters of DCR coadds.")
    effectiveWavelength = pexConfig.Field(dtype=float, default=None, optional=True,
                                          doc="Effective wavelength of the filter (DCR), nm.")
    bandwidth = pexConfig.Field(dtype=float, default=None, optional=True,
                                doc="Bandwidth of the filter (DCR), nm.")


class GetCoaddAsTemplateTask(Task):
    """Assemble a template on the science frame from coadd patches."""

    ConfigClass = GetCoaddAsTemplateConfig
    _DefaultName = "getTemplate"

    def overlapping_patches(self, skymap, bbox, wcs):
        """Tracts and patches overlapping the science box grown by the border.

        Returns
        -------
        overlaps : `list` [`tuple` [`TractInfo`, `list` [`PatchInfo`]]]
        """
        grown = bbox.grown(self.config.templateBorderSize)
        xs = np.array([grown.x0, grown.x_end - 1, grown.x_end - 1, grown.x0], float)
        ys = np.array([grown.y0, grown.y0, grown.y_end - 1, grown.y_end - 1], float)
        ra, dec = wcs.pixel_to_world_values(xs, ys)
        return skymap.find_tract_patch_list(list(zip(ra, dec)))

    def run(self, coadds, skymap, bbox, wcs, visit_info=None):
        """Build the template.

        Parameters
        ----------
        coadds : `dict` [`tuple` [`int`, `int`], `diffim.Exposure`]
            Coadd patch exposures by ``(tract id, patch sequential index)``,
            each on its patch's outer box in the tract frame.
        skymap : `diffim.sky.skymap.SkyMap`
        bbox : `diffim.Box`
            Science box.
        wcs : `astropy.wcs.WCS`
            Science WCS.
        visit_info : `diffim.VisitInfo`, optional
            Carried onto the template (the stack does, for the filter).

        Returns
        -------
        result : `Struct`
            ``exposure`` (the template on ``bbox``/``wcs``) and ``sources``
            (None: coadd templates bring no source catalogue), ``patches``
            (the ``(tract, patch)`` keys used).

        Raises
        ------
        NoTemplateError
            No overlapping patch is available, or coverage is below
            ``requiredTemplateFraction``.

        Notes
        -----
        Within `diffim.template.kept.templates_kept`, a template built
        before from the same inputs is copied instead of built again.
        """
        overlaps = [(tract, [(tract.tract_id, patch.sequential_index) for patch in patches])
                    for tract, patches in self.overlapping_patches(skymap, bbox, wcs)]
        read = {key: coadds[key] for _, keys in overlaps for key in keys if key in coadds}
        built = kept_template(template_key(type(self), self.config, read, skymap, bbox, wcs),
                              lambda: self._build(overlaps, read, bbox, wcs))
        for tract_id in built.unreached:
            # Patches found through the grown border may not reach the box itself.
            self.log.info("tract %d does not reach %s", tract_id, bbox)
        if built.exposure is None:
            raise NoTemplateError(f"no {self.config.coaddName}Coadd patch overlaps the science "
                                  f"image {bbox}")
        template = built.exposure
        template.wcs = wcs
        if visit_info is not None:
            template.visit_info = visit_info
        self.metadata.update(nPatches=len(built.patches), coverage=built.coverage)
        if built.coverage < self.config.requiredTemplateFraction:
            raise NoTemplateError(
                f"template covers {100 * built.coverage:.1f}% of the science image, less than "
                f"requiredTemplateFraction={self.config.requiredTemplateFraction}")
        return Struct(exposure=template, sources=None, patches=list(built.patches))

    def _build(self, overlaps, coadds, bbox, wcs):
        """The template of `run` (without its WCS and visit info) and what `run` reports of it.

        Parameters
        ----------
        overlaps : `list` [`tuple` [`TractInfo`, `list` [`tuple` [`int`, `int`]]]]
            The tracts overlapping ``bbox`` and their patches' keys.
        coadds : `dict` [`tuple` [`int`, `int`], `diffim.Exposure`]
            The patches given among them.
        bbox, wcs
            The science box and WCS.

        Returns
        -------
        built : `Struct`
            ``exposure`` (None when no tract reaches ``bbox``), ``patches``
            (the keys used), ``unreached`` (ids of tracts that do not reach
            ``bbox``) and ``coverage`` (the fraction of ``bbox`` covered).
        """
        warper = Warper(self.config.warp)
        warped, used, unreached = [], [], []
        for tract, keys in overlaps:
            available = [coadds[key] for key in keys if key in coadds]
            if not available:
                continue
            used.extend(key for key in keys if key in coadds)
            merged = _merge(available, _union([exposure.bbox for exposure in available]))
            merged.wcs = tract.wcs
            centre_x, centre_y = tract.wcs.world_to_pixel_values(
                *wcs.pixel_to_world_values(*bbox.center))
            merged.psf = _psf_at(available, float(centre_x), float(centre_y))
            try:
                warped.append(warper.warpExposure(wcs, merged, bbox))
            except WarpError:
                unreached.append(tract.tract_id)
        if not warped:
            return Struct(exposure=None, patches=tuple(used), unreached=tuple(unreached),
                          coverage=0.0)
        template = _merge(warped, bbox)
        template.psf = _psf_at(warped, *bbox.center)
        self._flag_high_variance(template)
        covered = 1.0 - template.mask.get("NO_DATA").mean()
        return Struct(exposure=template, patches=tuple(used), unreached=tuple(unreached),
                      coverage=covered)

    def _flag_high_variance(self, template):
        good = ~template.mask.get("NO_DATA")
        if not good.any():
            return
        smoothed = estimate_background(template.variance, good, cell=self.config.highVarianceCell)
        median = clipped_stats(template.variance[good])[0]
        template.mask.set("HIGH_VARIANCE",
                          good & (smoothed > self.config.highVarianceThreshold * median))


class GetCalexpAsTemplateConfig(pexConfig.Config):
    """Configuration of `GetCalexpAsTemplateTask`."""

    warp = pexConfig.ConfigField(dtype=WarperConfig, doc="Warping to the science frame.")
    doAddCalexpBackground = pexConfig.Field(
        dtype=bool, default=True,
        doc="Add the template calexp's background back first? (The stack's field; calexps "
            "here carry no separate background model.)")


class GetCalexpAsTemplateTask(Task):
    """Another calexp, warped onto the science frame, with its sources."""

    ConfigClass = GetCalexpAsTemplateConfig
    _DefaultName = "getTemplate"

    def run(self, calexp, sources, bbox, wcs):
        """Warp ``calexp`` to the science frame and move its sources there.

        Parameters
        ----------
        calexp : `diffim.Exposure`
            The template calexp (its own WCS and box).
        sources : `pandas.DataFrame` or `None`
            Its ``src`` catalogue (``coord_ra``, ``coord_dec``, ``x``, ``y``, ...).
        bbox, wcs
            The science box and WCS.

        Returns
        -------
        result : `Struct`
            ``exposure`` (on ``bbox``/``wcs``) and ``sources`` (with ``x``,
            ``y`` in the science frame; the sky positions unchanged).
        """
        exposure = Warper(self.config.warp).warpExposure(wcs, calexp, bbox)
        if sources is not None:
            x, y = wcs.world_to_pixel_values(sources["coord_ra"].to_numpy(),
                                             sources["coord_dec"].to_numpy())
            sources = sources.assign(x=x, y=y)
        return Struct(exposure=exposure, sources=sources)


def _union(boxes):
    union = boxes[0]
    for box in boxes[1:]:
        union = union.union(box)
    return union


_BLOCK_PIXELS = 1 << 17
"""Pixels merged at a time (whole rows): the float64 sums of a block are 1 MB each and
reused from block to block, where sums over the whole image were fresh memory (at 4k,
three 128 MB planes and their temporaries, a page fault per 4 kB)."""


def _merge(exposures, bbox):
    """Weighted merge of exposures on one pixel frame (weights variance^-1/2, as the stack).

    Pixels that no input covers (all NO_DATA) hold image 0 and variance 0 and
    are flagged NO_DATA: finite values, so no NaN or inf reaches later sums.
    Other mask planes are OR-ed over the contributing inputs. The sums are
    float64, made a block of rows at a time (`_merge_rows`), and rounded once
    to the float32 planes.
    """
    planes = exposures[0].mask.planes.copy()
    inputs = []
    for exposure in exposures:
        inner = exposure.bbox.intersection(bbox)
        if not inner.is_empty():
            # NO_DATA is not carried over: the merge sets it where nothing contributes.
            inputs.append((exposure, inner, plane_moves(exposure.mask.planes, planes,
                                                        exclude=("NO_DATA",))))
    no_data = MASK_DTYPE(1 << planes.add("NO_DATA"))
    image = np.empty(bbox.shape, IMAGE_DTYPE)
    variance = np.empty(bbox.shape, IMAGE_DTYPE)
    mask = np.zeros(bbox.shape, MASK_DTYPE)
    step = max(1, _BLOCK_PIXELS // max(bbox.width, 1))
    for y0 in range(bbox.y0, bbox.y_end, step):
        rows = Box(bbox.x0, y0, bbox.width, min(step, bbox.y_end - y0))
        target = rows.slices_in(bbox)
        _merge_rows(inputs, rows, image[target], variance[target], mask[target], no_data)
    return Exposure(image, variance, Mask(mask, planes), xy0=bbox.xy0,
                    photo_calib=exposures[0].photo_calib, visit_info=exposures[0].visit_info,
                    metadata=exposures[0].metadata)


def _merge_rows(inputs, rows, image, variance, mask, no_data):
    """`_merge` over box ``rows``, into its views ``image``, ``variance`` and ``mask``."""
    total = np.zeros(rows.shape)
    weight_sum = np.zeros(rows.shape)
    variance_sum = np.zeros(rows.shape)
    for exposure, inner, moves in inputs:
        part = inner.intersection(rows)
        if part.is_empty():
            continue
        target, source = part.slices_in(rows), part.slices_in(exposure.bbox)
        pixels = exposure.image[source]
        variances = exposure.variance[source].astype(float)
        usable = ~exposure.mask[source].get("NO_DATA") & np.isfinite(variances) \
            & (variances > 0) & np.isfinite(pixels)
        weight = np.where(usable, 1.0 / np.sqrt(np.where(usable, variances, 1.0)), 0.0)
        total[target] += weight * np.where(usable, pixels, 0.0)
        variance_sum[target] += weight ** 2 * np.where(usable, variances, 0.0)
        weight_sum[target] += weight
        moved = move_bits(exposure.mask.array[source], moves)
        np.bitwise_or(mask[target], moved, out=mask[target], where=usable)
    covered = weight_sum > 0
    image[...] = np.where(covered, total / np.where(covered, weight_sum, 1.0), 0.0)
    variance[...] = np.where(covered, variance_sum / np.where(covered, weight_sum, 1.0) ** 2, 0.0)
    np.bitwise_or(mask, no_data, out=mask, where=~covered)


def _psf_at(exposures, x, y):
    """The PSF of the first exposure with data at parent ``(x, y)`` (else the first's).

    Coadd PSFs vary slowly; the one covering the science centre serves the
    whole template, as the stack's template PSF is the coadd PSF there.
    """
    ix, iy = int(round(x)), int(round(y))
    for exposure in exposures:
        if exposure.bbox.contains_point(ix, iy) and \
                not exposure.mask.get("NO_DATA")[iy - exposure.bbox.y0, ix - exposure.bbox.x0]:
            return exposure.psf
    return exposures[0].psf
