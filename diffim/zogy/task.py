"""`ZogyTask`: proper image subtraction (Zackay, Ofek & Gal-Yam 2016) of two exposures.

The middleware-free counterpart of ``ip_diffim``'s ``ZogyTask`` (config
field names and defaults as the stack's ``ZogyConfig``). Steps:

1. PSFs are measured when an exposure has none (as for Alard-Lupton);
2. both images are put on the science photometric scale: the template's
   counts per science count ``F_r`` come from the two photometric
   calibrations (``scaleByCalibration``; from the stars, `diffim.zogy.flux_scale`,
   when an exposure has none and ``fluxScaleFromStars``) or from
   ``templateFluxScaling / scienceFluxScaling``; ``correctBackground`` subtracts each image's clipped
   mean;
3. pixels flagged ``badMaskPlanes`` or not finite are zeroed (image and
   variance); background variances are clipped means of the variance planes
   away from ``ignoreMaskPlanes``;
4. one cell (the whole image, PSFs at its centre) or, with
   ``doSpatialGrid``, overlapping cells with their own PSFs and noise,
   blended smoothly (`diffim.zogy.cells`), each through
   `diffim.zogy.proper.proper_images`;
5. the score's variance gets the astrometric-noise term
   (`diffim.zogy.score`), the mask is propagated (`diffim.zogy.masks`).

The difference ``D / F_d`` and the score ``S / F_s`` are in science counts
with the science calibration: at a point source the difference is ``flux x
P_d`` and the score is the source's flux, and ``score / sqrt(variance)`` is
the corrected score ``S_corr`` of the paper's section 3.3 (source noise from
the variance planes, astrometric noise from ``astrometricNoise``).
"""
from __future__ import annotations

import lsst.pex.config as pexConfig
import numpy as np

from ..errors import DiffimError
from ..exposure import Exposure
from ..image.stats import clipped_mean_std
from ..psf import InterpolatedPsf, PixelPsf
from ..sources.kernel_sources import SignalToNoiseConfig
from ..subtract.decorrelate import mean_variance
from ..subtract.task import _with_psf
from ..task import Struct, Task
from .cells import cell_grid
from .flux_scale import star_flux_ratio
from .kernels import check_centroids, zogy_kernels
from .masks import difference_mask
from .proper import proper_images
from .score import astrometric_variance

__all__ = ["ZogyConfig", "ZogyTask"]


class ZogyConfig(pexConfig.Config):
    """Configuration of `ZogyTask`: the stack's ``ZogyConfig`` fields and defaults, plus this
    package's own (their docs start "(this package)")."""

    templateFluxScaling = pexConfig.Field(
        dtype=float, default=1.0,
        doc="Template flux scaling factor (Fr in the ZOGY paper); scaleByCalibration=False only.")
    scienceFluxScaling = pexConfig.Field(
        dtype=float, default=1.0,
        doc="Science flux scaling factor (Fn in the ZOGY paper); scaleByCalibration=False only.")
    scaleByCalibration = pexConfig.Field(
        dtype=bool, default=True,
        doc="Compute the flux normalization from the two photometric calibrations "
            "(overrides templateFluxScaling and scienceFluxScaling).")
    correctBackground = pexConfig.Field(
        dtype=bool, default=False,
        doc="Subtract each exposure's clipped mean so that the background has zero expectation.")
    ignoreMaskPlanes = pexConfig.ListField(
        dtype=str,
        default=["INTRP", "EDGE", "DETECTED", "SAT", "CR", "BAD", "NO_DATA", "DETECTED_NEGATIVE"],
        doc="Mask planes left out of the background statistics.")
    maxPsfCentroidDist = pexConfig.Field(
        dtype=float, default=0.2,
        doc="Maximum centroid difference allowed between the two exposure PSFs (pixels).")
    doSpatialGrid = pexConfig.Field(
        dtype=bool, default=False,
        doc="Split the exposure into overlapping cells, each with its own PSFs and noise, "
            "blended smoothly.")
    gridInnerSize = pexConfig.Field(
        dtype=float, default=8,
        doc="Approximate inner size of the grid cells in units of the estimated matching "
            "kernel size (doSpatialGrid=True only).")
    inImageSpace = pexConfig.Field(
        dtype=bool, default=False,
        doc="Stack (2017-2022): convolve in image space. Accepted; this task works in Fourier "
            "space only.")
    padSize = pexConfig.Field(
        dtype=int, default=7,
        doc="Stack (2017-2022): PSF padding for image-space convolution. Accepted, not used.")
    doTrimKernels = pexConfig.Field(
        dtype=bool, default=False,
        doc="Stack (2017-2022): trim the image-space kernels. Accepted, not used.")
    doFilterPsfs = pexConfig.Field(
        dtype=bool, default=True,
        doc="Stack (2017-2022): filter the PSFs' noisy Fourier modes. Accepted, not used.")
    badMaskPlanes = pexConfig.ListField(
        dtype=str, default=["NO_DATA", "BAD", "SAT", "EDGE"],
        doc="(this package) Pixels zeroed in image and variance before the transforms; their "
            "bits spread over the PSF stamp in the difference mask.")
    fluxScaleFromStars = pexConfig.Field(
        dtype=bool, default=True,
        doc="(this package) With scaleByCalibration and an exposure without photometric "
            "calibration (plain FITS), take F_r from the stars found in both images instead "
            "of stopping.")
    signalToNoise = pexConfig.ConfigField(
        dtype=SignalToNoiseConfig,
        doc="(this package) S/N range of the stars that give F_r (fluxScaleFromStars), as the "
            "Alard-Lupton subtraction's sourceSelector.signalToNoise.")
    astrometricNoise = pexConfig.Field(
        dtype=float, default=0.0,
        doc="(this package) RMS registration error along each axis, pixels: the astrometric "
            "term of S_corr (ZOGY eq. 30-31). 0 leaves it out.")

    def validate(self):
        super().validate()
        for name in ("templateFluxScaling", "scienceFluxScaling", "maxPsfCentroidDist",
                     "gridInnerSize"):
            if not getattr(self, name) > 0:
                raise pexConfig.FieldValidationError(getattr(type(self), name), self,
                                                     "must be > 0")
        if not self.astrometricNoise >= 0:
            raise pexConfig.FieldValidationError(type(self).astrometricNoise, self,
                                                 "must be >= 0")


class ZogyTask(Task):
    """Compute the ZOGY difference and score of a science and a template exposure."""

    ConfigClass = ZogyConfig
    _DefaultName = "imageDifferenceZogy"

    def run(self, template, science):
        """Subtract ``template`` from ``science`` with ZOGY.

        Parameters
        ----------
        template : `diffim.Exposure`
            Template on the science pixel grid (already warped).
        science : `diffim.Exposure`
            Science exposure. Exposures without a PSF get one measured.

        Returns
        -------
        result : `Struct`
            ``difference`` (`Exposure`: ``D / F_d``, its variance, the
            propagated mask, PSF ``P_d``), ``score`` (`Exposure`: ``S / F_s``,
            variance including the astrometric term, PSF of S),
            ``matchedScience`` and ``matchedTemplate`` (the two images
            filtered to PSF ``P_d``; their difference is ``difference``); the
            four share one `Mask`,
            ``fluxScale`` (``F_r``, template counts per science count).

        Raises
        ------
        DiffimError
            Different pixel grids, missing calibrations, unmeasurable PSFs,
            PSFs off-centre, no usable pixel.
        """
        if template.bbox != science.bbox:
            raise DiffimError(f"template {template.bbox} and science {science.bbox} are not on "
                              "the same pixel grid (warp the template first)")
        science, _ = _with_psf(science, "science")
        template, _ = _with_psf(template, "template")
        flux_ref = self._flux_scale(template, science)
        new, var_new, good_new = self._prepared(science, "science")
        ref, var_ref, good_ref = self._prepared(template, "template")
        ref *= np.float32(flux_ref)
        var_ref *= np.float32(flux_ref ** 2)

        centre = science.bbox.center
        reference = self._kernels(science, template, centre, var_new, good_new, var_ref, good_ref,
                                  flux_ref)
        if self.config.doSpatialGrid:
            border = _matching_kernel_size(science, template, centre)
            cells = cell_grid(new.shape, int(round(self.config.gridInnerSize * border)),
                              border // 2, reference.reach + border // 2)
        else:
            cells = cell_grid(new.shape, max(new.shape), 0, 0)
        names = ("difference", "differenceVariance", "score", "scoreVariance",
                 "matchedScience", "matchedScienceVariance")
        blended = {}
        difference_psfs, score_psfs = [], []
        x0, y0 = science.xy0
        split = self.config.astrometricNoise > 0
        for cell in cells:
            position = (cell.centre[0] + x0, cell.centre[1] + y0)
            kernels = reference if len(cells) == 1 else self._kernels(
                science, template, position, var_new, good_new, var_ref, good_ref, flux_ref,
                cell.inner)
            region = cell.compute
            result = proper_images(new[region], ref[region], var_new[region], var_ref[region],
                                   kernels, split_score=split, matched=True)
            if split:
                result.scoreVariance += astrometric_variance(
                    result.scoreNew, result.scoreRef, self.config.astrometricNoise)
            difference_psfs.append(kernels.difference_psf)
            score_psfs.append(kernels.score_psf)
            if len(cells) == 1:
                blended = {name: getattr(result, name) for name in names}
                break
            inside = tuple(slice(b.start - c.start, b.stop - c.start)
                           for b, c in zip(cell.blend, region))
            for name in names:
                total = blended.setdefault(name, np.zeros(new.shape, np.float32))
                total[cell.blend] += cell.weight * getattr(result, name)[inside]

        del new, ref, var_new, var_ref, good_new, good_ref  # before the outputs' planes
        mask = difference_mask(science.mask, template.mask, reference.psf_new.shape[0] // 2)
        common = dict(xy0=science.xy0, wcs=science.wcs, photo_calib=science.photo_calib,
                      visit_info=science.visit_info)
        difference_psf = _cell_psf(difference_psfs, cells, science.xy0)
        difference = Exposure(blended["difference"], blended["differenceVariance"], mask,
                              psf=difference_psf, **common)
        # One mask for the four outputs (they are one subtraction's views): 200 MB
        # fewer at 4k; copy an output before changing its mask alone.
        score = Exposure(blended["score"], blended["scoreVariance"], mask,
                         psf=_cell_psf(score_psfs, cells, science.xy0), **common)
        matched_science = Exposure(blended["matchedScience"], blended["matchedScienceVariance"],
                                   mask, psf=difference_psf, **common)
        matched_template = Exposure(
            blended["matchedScience"] - blended["difference"],
            np.maximum(blended["differenceVariance"] - blended["matchedScienceVariance"], 0.0),
            mask, psf=difference_psf, **common)
        for label, exposure in (("difference", difference), ("score", score)):
            if not (np.isfinite(exposure.image).all() and np.isfinite(exposure.variance).all()):
                raise DiffimError(f"the ZOGY {label} image has non-finite pixels")
        self.metadata.update(
            algorithm="zogy", fluxScale=flux_ref, nCells=len(cells),
            fluxDifference=reference.flux_difference, fluxScore=reference.flux_score,
            scienceVariance=reference.var_new, templateVariance=reference.var_ref,
            filterReach=reference.reach)
        return Struct(difference=difference, score=score, matchedScience=matched_science,
                      matchedTemplate=matched_template, fluxScale=flux_ref)

    def _flux_scale(self, template, science):
        """``F_r``: template counts per science count of a source of constant flux."""
        if not self.config.scaleByCalibration:
            self.metadata["fluxScaleSource"] = "config"
            return self.config.templateFluxScaling / self.config.scienceFluxScaling
        if template.photo_calib is None or science.photo_calib is None:
            if not self.config.fluxScaleFromStars:
                raise DiffimError("ZOGY scaleByCalibration=True needs the photometric "
                                  "calibrations of both exposures (or fluxScaleFromStars=True, "
                                  "or scaleByCalibration=False and the "
                                  "templateFluxScaling/scienceFluxScaling factors)")
            ratio, n_stars = star_flux_ratio(template, science, self.config.signalToNoise)
            self.metadata.update(fluxScaleSource="stars", nFluxScaleStars=n_stars)
            return ratio
        self.metadata["fluxScaleSource"] = "calibration"
        return float(science.photo_calib.instflux_to_nanojansky(1.0)
                     / template.photo_calib.instflux_to_nanojansky(1.0))

    def _prepared(self, exposure, label):
        """float32 image and variance with bad pixels zeroed, and the statistics mask."""
        planes = [p for p in self.config.badMaskPlanes if p in exposure.mask.planes]
        image = np.array(exposure.image, dtype=np.float32)
        variance = np.array(exposure.variance, dtype=np.float32)
        bad = ~(np.isfinite(image) & np.isfinite(variance))
        if planes:
            bad |= exposure.mask.get(planes)
        image[bad] = 0.0
        variance[bad] = 0.0
        good = ~bad & (variance > 0) & exposure.mask.unmasked(self.config.ignoreMaskPlanes)
        if not good.any():
            raise DiffimError(f"no usable {label} pixel for ZOGY's statistics (every pixel is "
                              "masked or has zero variance)")
        if self.config.correctBackground:
            image[~bad] -= np.float32(clipped_mean_std(image[good][::max(1, good.sum() >> 20)])[0])
        return image, variance, good

    def _kernels(self, science, template, position, var_new, good_new, var_ref, good_ref,
                 flux_ref, region=np.s_[:, :]):
        """The filters at parent ``position`` with the noise of ``region``."""
        psf_new = science.psf.computeKernelImage(*position)
        psf_ref = template.psf.computeKernelImage(*position)
        check_centroids(psf_new, psf_ref, self.config.maxPsfCentroidDist)
        sigma2_new = _level(var_new[region], good_new[region], var_new, good_new)
        sigma2_ref = _level(var_ref[region], good_ref[region], var_ref, good_ref)
        return zogy_kernels(psf_new, psf_ref, sigma2_new, sigma2_ref, flux_ref)


def _level(variance, good, whole_variance, whole_good):
    """Clipped mean variance of a region, the whole image's when the region has no good pixel."""
    if good.any():
        return mean_variance(variance, good)
    return mean_variance(whole_variance, whole_good)


def _matching_kernel_size(science, template, centre):
    """The stack's estimate of the matching kernel size: 10 PSF sigmas, at least a PSF stamp."""
    sigma = max(science.psf.computeSigma(*centre), template.psf.computeSigma(*centre))
    return int(np.ceil(max(10.0 * sigma, science.psf.size, template.psf.size)))


def _cell_psf(kernel_images, cells, xy0):
    """One `PixelPsf`, or an `InterpolatedPsf` over the cell centres."""
    if len(cells) == 1:
        return PixelPsf(kernel_images[0])
    xs = sorted({cell.centre[0] + xy0[0] for cell in cells})
    ys = sorted({cell.centre[1] + xy0[1] for cell in cells})
    size = max(image.shape[0] for image in kernel_images)
    grid = np.zeros((len(ys), len(xs), size, size))
    for index, image in enumerate(kernel_images):
        border = (size - image.shape[0]) // 2
        grid[index // len(xs), index % len(xs), border:size - border, border:size - border] = image
    return InterpolatedPsf(grid, xs, ys)
