"""Whole simulated fields: a multi-detector camera ("SimCam") observing one sky in many visits.

One source population lives on the sky. Each visit points the camera
somewhere near the field centre (an offset and a rotation), with its own
seeing, sky and transparency; each of its detectors is observed exactly like
an image of `simulate_pair` (`pair._observe`: rendering through the
detector's WCS and PSF, noise, defects, a calexp-like result). Visits of the
"template" epoch see the static sky; "science" visits also see the transients
and the variables' other brightness. The reference catalogue holds the stars.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import SimulationError
from ..geom import Box
from .config import MEGAPIXEL, PairConfig
from .defects import bad_columns
from .pair import _observe, _streams
from .population import draw_population
from .psfs import image_psf
from .wcs import pointing_wcs

__all__ = ["FieldConfig", "SimulatedField", "VisitSpec", "reference_catalog", "simulate_field"]

_NJY_ZERO_POINT = 31.4


@dataclass(frozen=True)
class VisitSpec:
    """One visit of the camera.

    Parameters
    ----------
    visit : `int`
        Visit id.
    role : `str`
        ``"template"`` (static sky) or ``"science"`` (with transients).
    offset : `tuple` [`float`, `float`]
        Pointing offset from the field centre, arcsec (east, north).
    rotation : `float`
        Camera rotation, degrees.
    fwhm : `float`
        PSF FWHM at the detector centres, pixels.
    flux_ratio : `float`
        Transparency relative to the template zero point.
    mjd : `float`
    """

    visit: int
    role: str
    offset: tuple = (0.0, 0.0)
    rotation: float = 0.0
    fwhm: float = 4.0
    flux_ratio: float = 1.0
    mjd: float = 60000.0


def _default_visits():
    return (VisitSpec(1, "template", (0.0, 0.0), 0.0, 3.4, 1.0, 60000.1),
            VisitSpec(2, "template", (9.0, -6.0), 0.3, 3.8, 0.97, 60001.1),
            VisitSpec(3, "template", (-7.0, 5.0), -0.2, 3.6, 1.02, 60002.1),
            VisitSpec(10, "science", (4.0, 3.0), 0.1, 4.8, 0.9, 60400.2),
            VisitSpec(11, "science", (-3.0, -8.0), -0.3, 5.2, 0.93, 60401.2))


@dataclass(frozen=True)
class FieldConfig:
    """A field: the camera, the visits and the sky (a `PairConfig` for the rest).

    Parameters
    ----------
    sky : `PairConfig`
        Population, noise, defects and PSF-model parameters; its ``size`` is
        the detector side, its ``seed`` the field's seed.
    detectors : `tuple` [`int`, `int`]
        Detectors in x and y; detector ids run row by row from 0.
    gap : `int`
        Pixels between neighbouring detectors.
    visits : `tuple` [`VisitSpec`]
    """

    sky: PairConfig = field(default_factory=lambda: PairConfig(size=512, star_density=400.0))
    detectors: tuple = (2, 2)
    gap: int = 40
    visits: tuple = field(default_factory=_default_visits)

    def __post_init__(self):
        if len(self.detectors) != 2 or min(self.detectors) < 1:
            raise SimulationError(f"FieldConfig.detectors must be two counts >= 1, got "
                                  f"{self.detectors!r}")
        if self.gap < 0:
            raise SimulationError(f"FieldConfig.gap must be >= 0, got {self.gap!r}")
        ids = [visit.visit for visit in self.visits]
        if not ids or len(set(ids)) != len(ids):
            raise SimulationError(f"FieldConfig.visits need unique visit ids, got {ids}")
        for visit in self.visits:
            if visit.role not in ("template", "science"):
                raise SimulationError(f"visit {visit.visit}: role must be 'template' or "
                                      f"'science', got {visit.role!r}")

    @property
    def detector_ids(self):
        """Detector ids, row by row."""
        return list(range(self.detectors[0] * self.detectors[1]))

    def detector_origin(self, detector):
        """Focal-plane pixel of a detector's first pixel."""
        step = self.sky.size + self.gap
        return (detector % self.detectors[0]) * step, (detector // self.detectors[0]) * step

    @property
    def focal_plane_centre(self):
        """Focal-plane pixel of the boresight."""
        width = self.detectors[0] * (self.sky.size + self.gap) - self.gap
        height = self.detectors[1] * (self.sky.size + self.gap) - self.gap
        return (width - 1) / 2.0, (height - 1) / 2.0


@dataclass
class SimulatedField:
    """What `simulate_field` returns.

    Attributes
    ----------
    calexps : `dict` [`tuple` [`int`, `int`], `diffim.Exposure`]
        By ``(visit, detector)``.
    truth : `pandas.DataFrame`
        The population on the sky (see `diffim.sim.population.draw_population`).
    reference : `pandas.DataFrame`
        The reference catalogue (`reference_catalog`).
    config : `FieldConfig`
    """

    calexps: dict
    truth: pd.DataFrame
    reference: pd.DataFrame
    config: FieldConfig


def _visit_wcs(config, visit, detector):
    """The TAN WCS of one detector of one visit, in the detector's own pixel frame."""
    sky = config.sky
    dec = sky.dec + visit.offset[1] / 3600.0
    ra = sky.ra + visit.offset[0] / 3600.0 / math.cos(math.radians(dec))
    origin = config.detector_origin(detector)
    centre = config.focal_plane_centre
    return pointing_wcs(ra, dec, (centre[0] - origin[0], centre[1] - origin[1]),
                        sky.pixel_scale, visit.rotation)


def _visit_sky_config(sky, visit):
    """The `PairConfig` an exposure of this visit is observed with."""
    role = visit.role
    changes = {f"{role}_fwhm": visit.fwhm, f"{role}_mjd": visit.mjd}
    if role == "science":
        changes["flux_ratio"] = visit.flux_ratio
    else:
        changes["template_zero_point"] = sky.template_zero_point + 2.5 * math.log10(
            visit.flux_ratio)
    return sky.replace(**changes)


def simulate_field(config=None):
    """Observe one simulated sky with every detector of every visit.

    Returns
    -------
    field : `SimulatedField`
        Deterministic from ``config.sky.seed``.
    """
    config = config or FieldConfig()
    sky = config.sky
    centre = config.focal_plane_centre
    reference_wcs = pointing_wcs(sky.ra, sky.dec, centre, sky.pixel_scale, 0.0)
    # Draw over the focal plane plus the largest pointing offset and a margin.
    reach = max(math.hypot(*visit.offset) for visit in config.visits) / sky.pixel_scale
    half = max(centre) + reach + 64
    area = (2 * half) ** 2 / MEGAPIXEL
    population_config = sky.replace(n_stars=int(round(sky.star_density * area)))
    streams = _streams(sky.seed)
    population = draw_population(
        population_config, np.random.default_rng(streams["population"]), reference_wcs,
        (centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half),
        (0.0, 0.0, 2 * centre[0], 2 * centre[1]))
    calexps = {}
    for visit in config.visits:
        visit_sky = _visit_sky_config(sky, visit)
        for detector in config.detector_ids:
            bbox = Box(0, 0, sky.size, sky.size)
            wcs = _visit_wcs(config, visit, detector)
            exposure_streams = _streams(np.random.SeedSequence(
                [sky.seed, visit.visit, detector]).generate_state(1)[0])
            columns = bad_columns(np.random.default_rng(exposure_streams["bad_columns"]),
                                  sky.size, sky.size, sky.n_bad_columns)
            exposure, _, _ = _observe(visit_sky, visit.role, bbox, population, wcs,
                                      image_psf(visit_sky, visit.role, bbox), exposure_streams,
                                      columns)
            exposure.metadata.update(visit=visit.visit, detector=detector)
            calexps[(visit.visit, detector)] = exposure
    return SimulatedField(calexps, population, reference_catalog(population, sky), config)


def reference_catalog(population, sky):
    """The stars of the population as a reference catalogue (fluxes in nJy).

    Columns ``id``, ``coord_ra``, ``coord_dec`` (degrees), ``<band>_flux`` and
    ``<band>_fluxErr`` (nJy; a 1 % error), as `diffim.sky.refcat` shards expect.
    """
    stars = population[population["kind"] == "star"]
    flux = 10.0 ** ((_NJY_ZERO_POINT - stars["mag_template"].to_numpy()) / 2.5)
    return pd.DataFrame({"id": stars["id"].to_numpy(np.int64),
                         "coord_ra": stars["ra"].to_numpy(), "coord_dec": stars["dec"].to_numpy(),
                         f"{sky.band}_flux": flux, f"{sky.band}_fluxErr": 0.01 * flux})
