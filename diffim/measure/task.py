"""`DetectAndMeasureTask`: DIA sources from a difference image.

The second half of the split difference-imaging pipeline (the stack's
``DetectAndMeasureTask``): optional background subtraction, detection of
positive and negative footprints, merging, optional sky sources, then
measurement (centroid, PSF and aperture flux, second moments, pixel flags,
dipole fit) and forced PSF photometry on the difference and the matched
template. The catalogue's columns are documented in
`diffim.measure.schema`.
"""
from __future__ import annotations

import math

import lsst.pex.config as pexConfig
import numpy as np
import pandas as pd

from ..errors import DiffimError
from ..psf.detect import estimate_background
from ..task import Struct, Task, single_threaded_blas
from .centroid import peak_centroids
from .dipole import classify_dipoles, fit_dipole, footprint_boxes
from .flags import footprint_mask_bits, pixel_flags
from .footprints import detect_footprints
from .photometry import aperture_flux, psf_flux
from .schema import COLUMNS, DIPOLE_COLUMNS, empty_catalog
from .shape import second_moments
from .sky_sources import place_sky_sources
from .stamps import psf_models

__all__ = ["DetectAndMeasureConfig", "DetectAndMeasureTask"]

_SCHEMA_NAMES = {column.name for column in COLUMNS}


class DetectionConfig(pexConfig.Config):
    """Thresholding of the difference (the stack's ``detection`` sub-config)."""

    thresholdValue = pexConfig.RangeField(
        dtype=float, default=5.0, min=0.0, inclusiveMin=False,
        doc="Detection threshold, in units of the PSF-smoothed image's noise.")
    thresholdPolarity = pexConfig.ChoiceField(
        dtype=str, default="both",
        allowed={"positive": "Positive sources only.", "negative": "Negative sources only.",
                 "both": "Both polarities."},
        doc="Which polarities to detect.")
    excludeMaskPlanes = pexConfig.ListField(
        dtype=str, default=["EDGE", "NO_DATA", "BAD"],
        doc="Pixels with these planes are not used for detection.")


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
        dtype=bool, default=False,
        doc="Fit and subtract a smooth background from the difference before detection? "
            "Off as in the stack (detection.reEstimateBackground=False): the subtraction "
            "already fits the differential background.")
    detection = pexConfig.ConfigField(dtype=DetectionConfig, doc="Detection thresholds.")
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
        doc="Forced PSF photometry at the DIA source positions on the difference and the "
            "matched template?")
    doSkySources = pexConfig.Field(dtype=bool, default=False,
                                   doc="Add sky sources in empty sky?")
    skySources = pexConfig.ConfigField(dtype=SkySourcesConfig, doc="Sky-source placement.")
    apertureRadius = pexConfig.RangeField(dtype=float, default=12.0, min=0.0, inclusiveMin=False,
                                          doc="Radius of the aperture flux, pixels.")
    measurementExcludeMaskPlanes = pexConfig.ListField(
        dtype=str, default=["NO_DATA"],
        doc="Pixels with these planes are left out of the photometry and moments.")
    badSourceFlags = pexConfig.ListField(
        dtype=str, default=["pixelFlags_nodataCenter"],
        doc="DIA sources with any of these catalogue flags set are removed.")

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

    def run(self, science, matchedTemplate, difference, kernelSources=None):
        """Detect, merge, add sky sources, measure.

        Parameters
        ----------
        science : `diffim.Exposure`
            Science exposure (its WCS is used when the difference has none).
        matchedTemplate : `diffim.Exposure`
            PSF-matched template on the same grid (forced photometry).
        difference : `diffim.Exposure`
            Difference image with a PSF. Not modified.
        kernelSources : `pandas.DataFrame`, optional
            Kernel sources of the subtraction; accepted for the stack's
            interface, not used by the measurement.

        Returns
        -------
        result : `Struct`
            ``diaSources`` (`pandas.DataFrame`, schema of
            `diffim.measure.schema`, rows in id order) and
            ``subtractedMeasuredExposure`` (`diffim.Exposure`: a copy of the
            difference, background-subtracted when configured, with
            DETECTED and DETECTED_NEGATIVE set on the footprints).

        Raises
        ------
        DiffimError
            Inputs on different pixel grids, or a difference without a PSF.
        """
        self._check_inputs(science, matchedTemplate, difference)
        exposure = difference.copy()
        exposure.mask.clear([p for p in ("DETECTED", "DETECTED_NEGATIVE")
                             if p in exposure.mask.planes])
        detect_good = ~self._mask_of(exposure, self.config.detection.excludeMaskPlanes)
        if self.config.doSubtractBackground:
            background = estimate_background(exposure.image, detect_good, cell=128, samples=32)
            exposure.image -= background
            self.metadata["backgroundMean"] = float(background.mean())
        centre = exposure.bbox.center
        psf_sigma = float(exposure.psf.computeSigma(*centre))
        detection = self.config.detection
        footprints = detect_footprints(
            exposure.image, exposure.variance, detect_good, psf_sigma,
            threshold=detection.thresholdValue, polarity=detection.thresholdPolarity,
            grow=self.config.growFootprint, merge=self.config.doMerge)
        exposure.mask.set("DETECTED", footprints.positive_mask)
        exposure.mask.set("DETECTED_NEGATIVE", footprints.negative_mask)

        catalog = self._detections(exposure, footprints)
        measure_usable = ~self._mask_of(exposure, self.config.measurementExcludeMaskPlanes)
        with single_threaded_blas():  # least-squares fits: same bits on any thread count
            dipoles = self._fit_dipoles(exposure, measure_usable, footprints, catalog)
        if self.config.doSkySources:
            catalog = self._add_sky_sources(exposure, catalog)
        models = None
        if self.config.doMeasurement or self.config.doForcedMeasurement:
            models = psf_models(exposure.psf, catalog["x"].to_numpy(), catalog["y"].to_numpy())
        if self.config.doMeasurement:
            bits = np.zeros(len(catalog), np.uint64)
            bits[:footprints.count] = footprint_mask_bits(exposure.mask, footprints, exposure.shape)
            self._measure(exposure, measure_usable, catalog, bits, psf_sigma, models)
        if self.config.doForcedMeasurement:
            self._forced(exposure, matchedTemplate, catalog, models)
        self._sky_coordinates(exposure.wcs if exposure.wcs is not None else science.wcs, catalog)
        catalog = self._remove_bad(catalog)
        self.metadata.update(
            nDiaSources=int((~catalog["sky_source"]).sum()),
            nPositive=int((~catalog["is_negative"] & ~catalog["sky_source"]).sum()),
            nNegative=int(catalog["is_negative"].sum()),
            nDipoleFits=dipoles,
            nDipoles=int(catalog[DIPOLE_COLUMNS["classification"]].sum()),
            nSkySources=int(catalog["sky_source"].sum()))
        return Struct(diaSources=catalog, subtractedMeasuredExposure=exposure)

    @staticmethod
    def _mask_of(exposure, planes):
        known = [p for p in planes if p in exposure.mask.planes]
        return exposure.mask.get(known) if known else np.zeros(exposure.shape, bool)

    @staticmethod
    def _check_inputs(science, matched_template, difference):
        for label, exposure in (("science", science), ("matchedTemplate", matched_template)):
            if exposure.bbox != difference.bbox:
                raise DiffimError(f"{label} {exposure.bbox} and difference {difference.bbox} are "
                                  "not on the same pixel grid")
        if difference.psf is None:
            raise DiffimError("the difference image has no PSF: detection and PSF photometry "
                              "need one")

    def _detections(self, exposure, footprints):
        """One row per footprint: id, centroid, polarity, significance, area."""
        catalog = empty_catalog(footprints.count)
        catalog["id"] = np.arange(1, footprints.count + 1, dtype=np.int64)
        pos_sig = np.nan_to_num(footprints.positive_significance, nan=-np.inf)
        neg_sig = np.nan_to_num(-footprints.negative_significance, nan=-np.inf)
        negative = neg_sig > pos_sig
        peak = np.where(negative, footprints.negative_peak, footprints.positive_peak)
        sign = np.where(negative, -1.0, 1.0)
        rows, cols = np.divmod(peak, exposure.shape[1])
        x, y = peak_centroids(footprints.significance, cols, rows, sign)
        catalog["x"] = x + exposure.bbox.x0
        catalog["y"] = y + exposure.bbox.y0
        catalog["is_negative"] = negative
        catalog["detection_significance"] = np.where(negative, footprints.negative_significance,
                                                     footprints.positive_significance)
        catalog["footprintArea"] = footprints.areas.astype(np.int64)
        return catalog

    def _fit_dipoles(self, exposure, usable, footprints, catalog):
        """Dipole-fit the footprints with both polarities; returns how many were fitted."""
        if not self.config.doDipoleFitting:
            return 0
        both = np.flatnonzero((footprints.positive_peak >= 0) & (footprints.negative_peak >= 0))
        if len(both) == 0:
            return 0
        starts = {}
        for name, peaks, sign in (("pos", footprints.positive_peak, 1.0),
                                  ("neg", footprints.negative_peak, -1.0)):
            rows, cols = np.divmod(peaks[both], exposure.shape[1])
            x, y = peak_centroids(footprints.significance, cols, rows, np.full(len(both), sign))
            starts[name] = (x + exposure.bbox.x0, y + exposure.bbox.y0)
        boxes = footprint_boxes(footprints, exposure.bbox, exposure.shape)
        columns = DIPOLE_COLUMNS
        for k, index in enumerate(both):
            fit = fit_dipole(exposure.image, exposure.variance, usable, exposure.bbox, exposure.psf,
                             boxes[index], (starts["pos"][0][k], starts["pos"][1][k]),
                             (starts["neg"][0][k], starts["neg"][1][k]))
            if fit is None:
                catalog.loc[index, columns["flag"]] = True
                continue
            for key, value in (("pos_instFlux", fit.pos_flux), ("pos_instFluxErr", fit.pos_flux_err),
                               ("neg_instFlux", fit.neg_flux), ("neg_instFluxErr", fit.neg_flux_err),
                               ("pos_centroid_x", fit.pos_x), ("pos_centroid_y", fit.pos_y),
                               ("neg_centroid_x", fit.neg_x), ("neg_centroid_y", fit.neg_y),
                               ("orientation", fit.orientation), ("separation", fit.separation),
                               ("chi2dof", fit.chi2dof)):
                catalog.loc[index, columns[key]] = value
        classified = classify_dipoles(
            catalog[columns["pos_instFlux"]].to_numpy(), catalog[columns["pos_instFluxErr"]].to_numpy(),
            catalog[columns["neg_instFlux"]].to_numpy(), catalog[columns["neg_instFluxErr"]].to_numpy(),
            self.config.dipoleFit.minSn, self.config.dipoleFit.maxFluxRatio)
        catalog[columns["classification"]] = classified
        # A dipole's position is between its lobes, not at its brighter peak.
        catalog.loc[classified, "x"] = 0.5 * (catalog.loc[classified, columns["pos_centroid_x"]]
                                              + catalog.loc[classified, columns["neg_centroid_x"]])
        catalog.loc[classified, "y"] = 0.5 * (catalog.loc[classified, columns["pos_centroid_y"]]
                                              + catalog.loc[classified, columns["neg_centroid_y"]])
        return len(both)

    def _add_sky_sources(self, exposure, catalog):
        config = self.config.skySources
        avoid = self._mask_of(exposure, config.avoidMask)
        x, y = place_sky_sources(avoid, config.nSources, config.sourceRadius, config.seed)
        sky = empty_catalog(len(x))
        sky["id"] = np.arange(len(catalog) + 1, len(catalog) + len(x) + 1, dtype=np.int64)
        sky["x"] = x + exposure.bbox.x0
        sky["y"] = y + exposure.bbox.y0
        sky["sky_source"] = True
        return pd.concat([catalog, sky], ignore_index=True)

    def _measure(self, exposure, usable, catalog, footprint_bits, psf_sigma, models):
        x, y = catalog["x"].to_numpy(), catalog["y"].to_numpy()
        bbox = exposure.bbox
        flux, flux_err = psf_flux(exposure.image, exposure.variance, usable, bbox, models, x, y)
        catalog["psfFlux"], catalog["psfFluxErr"] = flux, flux_err
        with np.errstate(invalid="ignore", divide="ignore"):
            catalog["snr"] = flux / flux_err
            error = math.sqrt(2.0) * psf_sigma / np.abs(flux / flux_err)
        catalog["xErr"] = catalog["yErr"] = error
        catalog["apFlux"], catalog["apFluxErr"] = aperture_flux(
            exposure.image, exposure.variance, usable, bbox, x, y, self.config.apertureRadius)
        sign = np.where(catalog["is_negative"].to_numpy(), -1.0, 1.0)
        ixx, iyy, ixy = second_moments(exposure.image, usable, bbox, x, y, sign, psf_sigma)
        catalog["ixx"], catalog["iyy"], catalog["ixy"] = ixx, iyy, ixy
        catalog["shape_flag"] = ~np.isfinite(ixx)
        for name, values in pixel_flags(exposure.mask, bbox, footprint_bits, x, y).items():
            catalog[name] = values

    def _forced(self, exposure, matched_template, catalog, difference_models):
        """PSF photometry at the catalogue positions on the difference and the matched template.

        The matched template carries the PSF it was matched to; the
        difference's models are reused when that is the same PSF object.
        """
        x, y = catalog["x"].to_numpy(), catalog["y"].to_numpy()
        for prefix, image in (("forced", exposure), ("template", matched_template)):
            models = difference_models
            if image.psf is not None and image.psf is not exposure.psf:
                models = psf_models(image.psf, x, y)
            usable = ~self._mask_of(image, self.config.measurementExcludeMaskPlanes)
            flux, flux_err = psf_flux(image.image, image.variance, usable, image.bbox, models, x, y)
            catalog[f"{prefix}_PsfFlux_instFlux"] = flux
            catalog[f"{prefix}_PsfFlux_instFluxErr"] = flux_err

    @staticmethod
    def _sky_coordinates(wcs, catalog):
        if wcs is None or not len(catalog):
            return
        ra, dec = wcs.pixel_to_world_values(catalog["x"].to_numpy(), catalog["y"].to_numpy())
        catalog["coord_ra"], catalog["coord_dec"] = np.asarray(ra, float), np.asarray(dec, float)

    def _remove_bad(self, catalog):
        """Drop rows with any ``badSourceFlags`` set; ids are kept (they may then skip)."""
        if not self.config.badSourceFlags or not len(catalog):
            return catalog
        bad = catalog[list(self.config.badSourceFlags)].to_numpy(bool).any(axis=1)
        self.metadata["nRemovedBadFlags"] = int(bad.sum())
        return catalog[~bad].reset_index(drop=True)
