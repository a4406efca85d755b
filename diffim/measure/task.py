"""`DetectAndMeasureTask`: DIA sources from a difference image.

The second half of the split difference-imaging pipeline (the stack's
``DetectAndMeasureTask``): optional background subtraction, detection of
positive and negative footprints, merging, optional sky sources, then
measurement (centroid, PSF and aperture flux, second moments, pixel flags,
dipole fit) and forced PSF photometry on the science image and the matched
template. The catalogue's columns are documented in
`diffim.measure.schema`.
"""
from __future__ import annotations

import math

import lsst.pex.config as pexConfig
import numpy as np

from ..errors import DiffimError
from ..exposure import Exposure
from ..image.background import estimate_background
from ..psfmatch.candidates import check_usable
from ..task import Struct, Task, single_threaded_blas
from .catalog import add_sky_coordinates, detection_catalog
from .detection_planes import clear_detections, mark_detections
from .detection import SourceDetectionTask
from .dipole import fit_footprint_dipoles
from .flags import footprint_mask_bits
from .measurement import forced_photometry, measure_sources
from .quality import check_subtraction, kernel_source_ratios
from .schema import CENTROID_X, CENTROID_Y, COLUMNS, DIPOLE_COLUMNS, as_dataframe
from .sky_sources import append_sky_sources
from .stamps import gather, psf_models

__all__ = ["DetectAndMeasureConfig", "DetectAndMeasureTask"]

_SCHEMA_NAMES = {column.name for column in COLUMNS}
# A difference image is checked as the subtraction checks its inputs (its
# default badMaskPlanes): detection on NaN or non-positive variance finds
# nothing and would say so with an empty catalogue.
_UNUSABLE_PLANES = ["NO_DATA", "BAD", "SAT", "EDGE"]


class DipoleFitConfig(pexConfig.Config):
    """Dipole classification (the stack's ``ip_diffim_DipoleFit`` plugin config)."""

    minSn = pexConfig.Field(
        dtype=float, default=math.sqrt(2.0) * 5.0,
        doc="Quadrature sum of the lobes' S/N needed to call a fit a dipole.")
    maxFluxRatio = pexConfig.RangeField(
        dtype=float, default=0.65, min=0.5, max=1.0,
        doc="Largest share of the total |flux| one lobe may carry in a dipole.")


class SkySourcesConfig(pexConfig.Config):
    """Placement of sky sources (the stack's ``skySources``)."""

    nSources = pexConfig.RangeField(dtype=int, default=100, min=0,
                                    doc="Number of sky sources to place.")
    sourceRadius = pexConfig.RangeField(
        dtype=int, default=12, min=1,
        doc="Half the side of the placement cells; sky sources stay 3x this from avoided pixels.")
    seed = pexConfig.Field(dtype=int, default=0, doc="Seed of the placement.")
    avoidMask = pexConfig.ListField(
        dtype=str, default=["DETECTED", "DETECTED_NEGATIVE", "BAD", "NO_DATA", "EDGE", "SAT"],
        doc="Mask planes sky sources avoid.")


class DetectAndMeasureConfig(pexConfig.Config):
    """Configuration of `DetectAndMeasureTask` (stack field names and defaults)."""

    doSubtractBackground = pexConfig.Field(
        dtype=bool, default=True,
        doc="Fit and subtract a smooth background from the difference before detection? On, "
            "as the stack's current default: whatever residual background the subtraction "
            "left (inputs with sky, a poor background model) never reaches detection.")
    detection = pexConfig.ConfigurableField(target=SourceDetectionTask,
                                            doc="Thresholding into footprints.")
    growFootprint = pexConfig.RangeField(dtype=int, default=2, min=0,
                                         doc="Grow detections by this many pixels.")
    doMerge = pexConfig.Field(dtype=bool, default=True,
                              doc="Merge overlapping positive and negative footprints?")
    doMeasurement = pexConfig.Field(dtype=bool, default=True,
                                    doc="Measure fluxes, shapes and flags of the DIA sources?")
    doDipoleFitting = pexConfig.Field(
        dtype=bool, default=True,
        doc="Fit dipoles to footprints with both polarities (needs doMeasurement)?")
    dipoleFit = pexConfig.ConfigField(dtype=DipoleFitConfig, doc="Dipole classification.")
    doForcedMeasurement = pexConfig.Field(
        dtype=bool, default=True,
        doc="Forced PSF photometry at the DIA source positions on the science image and the "
            "matched template?")
    doSkySources = pexConfig.Field(dtype=bool, default=False,
                                   doc="Add sky sources in empty sky?")
    skySources = pexConfig.ConfigField(dtype=SkySourcesConfig, doc="Sky-source placement.")
    apertureRadius = pexConfig.RangeField(dtype=float, default=12.0, min=0.0, inclusiveMin=False,
                                          doc="Radius of the aperture flux, pixels.")
    measurementExcludeMaskPlanes = pexConfig.ListField(
        dtype=str, default=["NO_DATA"],
        doc="Pixels with these planes are left out of the photometry and moments.")
    raiseOnBadSubtractionRatio = pexConfig.Field(
        dtype=bool, default=True,
        doc="Fail with a one-line error when the subtraction is bad: residual signal in the "
            "kernel-source footprints, its scatter, or the detected-pixel fraction beyond "
            "their thresholds (the stack's field, plus the detected fraction).")
    badSubtractionRatioThreshold = pexConfig.Field(
        dtype=float, default=0.2,
        doc="Largest mean ratio of the residual in kernel-source footprints on the "
            "difference to their signal on the science image (mean absolute values, the "
            "difference's noise level removed, as the stack's computeDifferenceImageMetrics).")
    badSubtractionVariationThreshold = pexConfig.Field(
        dtype=float, default=0.4,
        doc="Largest standard deviation of that ratio over the kernel sources.")
    badSubtractionDetectedFractionThreshold = pexConfig.RangeField(
        dtype=float, default=0.25, min=0.0, max=1.0,
        doc="Largest fraction of the usable difference pixels inside detection footprints "
            "(a pedestal or a wrong kernel makes one footprint of the whole image; a good "
            "subtraction of a crowded field reaches ~10 %).")
    badSourceFlags = pexConfig.ListField(
        dtype=str, default=["base_PixelFlags_flag_nodataCenter"],
        doc="DIA sources with any of these catalogue flags set are removed.")
    saturatedCentrePlanes = pexConfig.ListField(
        dtype=str, default=["SAT", "SAT_TEMPLATE"],
        doc="DIA sources whose 3x3 centre pixels all carry one of these planes are removed: "
            "the stack's base_PixelFlags_flag_saturatedCenterAll among its badSourceFlags. "
            "The residual of a saturated core measures nothing, whichever image saturated "
            "(SAT_TEMPLATE: the template's SAT carried over by the subtraction).")

    def setDefaults(self):
        # The stack's DetectAndMeasureConfig settings of its SourceDetectionTask.
        self.detection.thresholdPolarity = "both"
        self.detection.thresholdType = "pixel_stdev"
        self.detection.reEstimateBackground = False

    def validate(self):
        super().validate()
        unknown = [name for name in self.badSourceFlags if name not in _SCHEMA_NAMES]
        if unknown:
            raise pexConfig.FieldValidationError(
                type(self).badSourceFlags, self, f"not catalogue columns: {unknown}")
        if self.doDipoleFitting and not self.doMeasurement:
            raise pexConfig.FieldValidationError(
                type(self).doDipoleFitting, self, "dipole fitting needs doMeasurement=True")


class DetectAndMeasureTask(Task):
    """Detect and measure DIA sources on a difference image."""

    ConfigClass = DetectAndMeasureConfig
    _DefaultName = "detectAndMeasure"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.makeSubtask("detection")

    def run(self, science, matchedTemplate, difference, kernelSources=None, score=None,
            asRecords=False):
        """Detect, merge, add sky sources, measure.

        Parameters
        ----------
        science : `diffim.Exposure`
            Science exposure: forced photometry, and its WCS when the difference has none.
        matchedTemplate : `diffim.Exposure` or `None`
            PSF-matched template on the same grid (forced photometry); `None`
            leaves the template columns NaN (the legacy detection-only run,
            which had no matched template).
        difference : `diffim.Exposure`
            Difference image with a PSF. Not modified.
        kernelSources : `numpy.recarray` or `pandas.DataFrame`, optional
            Kernel sources of the subtraction (``x``, ``y``, optional
            ``used``): the footprints of the bad-subtraction metric.
        score : `diffim.Exposure`, optional
            A score image on the same grid (ZOGY's, the stack's
            ``useScoreImageDetection``): thresholded instead of the
            difference (its ``image / sqrt(variance)``; set
            ``detection.doSmooth = False``, it is matched-filtered already),
            the footprints then measured on the difference.
        asRecords : `bool`, optional
            Return ``diaSources`` as a numpy record array of the same columns
            (`diffim.measure.schema.RECORD_DTYPE`) instead of a DataFrame:
            nothing imports pandas (``diffim subtract --catalog`` writing FITS).

        Returns
        -------
        result : `Struct`
            ``diaSources`` (`pandas.DataFrame`, schema of
            `diffim.measure.schema`, rows in id order) and
            ``subtractedMeasuredExposure`` (`diffim.Exposure`: a copy of the
            difference with DETECTED and DETECTED_NEGATIVE set on the
            footprints; its pixels are the difference's, not background-
            subtracted, so that detecting again on it gives the same catalogue).

        Raises
        ------
        DiffimError
            Inputs on different pixel grids, a difference without a PSF, or
            without usable pixels (`diffim.psfmatch.candidates.check_usable`).
        BadSubtractionError
            A bad subtraction (``raiseOnBadSubtractionRatio``), naming the number.
        """
        self._check_inputs(science, matchedTemplate, difference, score)
        exposure = difference.copy()
        detect_good = clear_detections(exposure.mask, self.config.detection.excludeMaskPlanes)
        measured = exposure
        if self.config.doSubtractBackground:
            background = estimate_background(exposure.image, detect_good, cell=128, samples=32)
            self.metadata["backgroundMean"] = float(background.mean())
            # Measured on the background-subtracted pixels, made in the background's
            # array; the returned exposure keeps the difference's.
            measured = Exposure(np.subtract(difference.image, background, out=background),
                                exposure.variance, exposure.mask, xy0=exposure.xy0,
                                psf=exposure.psf, wcs=exposure.wcs)
        centre = exposure.bbox.center
        psf_sigma = float(exposure.psf.computeSigma(*centre))
        detect_on = measured if score is None else score
        footprints = self.detection.run(detect_on, detect_good, psf_sigma,
                                        grow=self.config.growFootprint, merge=self.config.doMerge)
        fraction, measure_usable = mark_detections(
            exposure.mask, footprints.positive_mask, footprints.negative_mask, detect_good,
            self.config.measurementExcludeMaskPlanes)
        self._check_subtraction(science, measured, fraction, kernelSources)

        catalog = detection_catalog(measured, footprints)
        dipoles = 0
        if self.config.doDipoleFitting:
            with single_threaded_blas():  # least-squares fits: same bits on any thread count
                dipoles = fit_footprint_dipoles(measured, measure_usable, footprints, catalog,
                                                self.config.dipoleFit.minSn,
                                                self.config.dipoleFit.maxFluxRatio)
        if self.config.doSkySources:
            catalog = append_sky_sources(measured, catalog, self.config.skySources)
        models = None
        if self.config.doMeasurement or self.config.doForcedMeasurement:
            models = psf_models(measured.psf, catalog[CENTROID_X].copy(),
                                catalog[CENTROID_Y].copy())
        if self.config.doMeasurement:
            bits = np.zeros(len(catalog), np.uint64)
            bits[:footprints.count] = footprint_mask_bits(measured.mask, footprints, measured.shape)
            measure_sources(measured, measure_usable, catalog, bits, psf_sigma, models,
                            self.config.apertureRadius)
        if self.config.doForcedMeasurement:
            forced_photometry(measured, science, matchedTemplate, catalog, models,
                              self.config.measurementExcludeMaskPlanes)
        add_sky_coordinates(measured.wcs if measured.wcs is not None else science.wcs, catalog)
        catalog = self._remove_bad(catalog)
        catalog = self._remove_saturated_centres(measured, catalog)
        self.metadata.update(
            nDiaSources=int((~catalog["sky_source"]).sum()),
            nPositive=int((~catalog["is_negative"] & ~catalog["sky_source"]).sum()),
            nNegative=int(catalog["is_negative"].sum()),
            nDipoleFits=dipoles,
            nDipoles=int(catalog[DIPOLE_COLUMNS["classification"]].sum()),
            nSkySources=int(catalog["sky_source"].sum()))
        return Struct(diaSources=catalog if asRecords else as_dataframe(catalog),
                      subtractedMeasuredExposure=exposure)

    @staticmethod
    def _check_inputs(science, matched_template, difference, score):
        for label, exposure in (("science", science), ("matchedTemplate", matched_template),
                                ("score", score)):
            if exposure is not None and exposure.bbox != difference.bbox:
                raise DiffimError(f"{label} {exposure.bbox} and difference {difference.bbox} are "
                                  "not on the same pixel grid")
        if difference.psf is None:
            raise DiffimError("the difference image has no PSF: detection and PSF photometry "
                              "need one")
        check_usable(difference, "difference", _UNUSABLE_PLANES)

    def _check_subtraction(self, science, exposure, fraction, kernel_sources):
        """Record the bad-subtraction metrics; raise when configured and beyond thresholds."""
        self.metadata["detectedPixelFraction"] = fraction
        ratios = kernel_source_ratios(science, exposure, kernel_sources,
                                      self.config.detection.excludeMaskPlanes)
        finite = ratios[np.isfinite(ratios)]
        if finite.size:
            self.metadata["residualFootprintRatioMean"] = float(finite.mean())
            self.metadata["residualFootprintRatioStdev"] = float(finite.std())
        if self.config.raiseOnBadSubtractionRatio:
            check_subtraction(
                ratios, fraction, ratio_threshold=self.config.badSubtractionRatioThreshold,
                variation_threshold=self.config.badSubtractionVariationThreshold,
                detected_fraction_threshold=self.config.badSubtractionDetectedFractionThreshold)

    def _remove_bad(self, catalog):
        """Drop rows with any ``badSourceFlags`` set; ids are kept (they may then skip)."""
        if not self.config.badSourceFlags or not len(catalog):
            return catalog
        bad = np.zeros(len(catalog), bool)
        for flag in self.config.badSourceFlags:
            bad |= catalog[flag].astype(bool)
        self.metadata["nRemovedBadFlags"] = int(bad.sum())
        return catalog[~bad]

    def _remove_saturated_centres(self, exposure, catalog):
        """Drop detections whose 3x3 centre pixels all carry one of ``saturatedCentrePlanes``."""
        planes = [p for p in self.config.saturatedCentrePlanes if p in exposure.mask.planes]
        if not planes or not len(catalog):
            return catalog
        ix = np.rint(catalog[CENTROID_X]).astype(int) - exposure.bbox.x0
        iy = np.rint(catalog[CENTROID_Y]).astype(int) - exposure.bbox.y0
        centres, _ = gather(exposure.mask.array, ix, iy, 1)
        centres = centres.reshape(len(catalog), 9)
        saturated = np.zeros(len(catalog), bool)
        for plane in planes:
            bit = exposure.mask.array.dtype.type(exposure.mask.bitmask(plane))
            saturated |= ((centres & bit) != 0).all(axis=1)
        saturated &= ~catalog["sky_source"]
        self.metadata["nRemovedSaturatedCentres"] = int(saturated.sum())
        return catalog[~saturated]
