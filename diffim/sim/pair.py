"""A simulated science/template pair with its truth table.

Conventions of the images (both "calexp-like"):

- ``image`` is in ADU with the sky ALREADY SUBTRACTED (the true sky model,
  a plane, is removed); its level and gradient are in the metadata.
- ``variance`` is the expected (noise-free) variance in ADU^2,
  ``(sky + sources) / gain + (read_noise / gain)^2``, sky included.
- Saturation applies to sky + sources before the sky is subtracted; SAT
  pixels (cores and bleed trails) hold ``saturation - sky``.
- Cosmic-ray pixels are masked CR and, when ``repair_defects``, replaced by
  row-wise interpolation and masked INTRP, as a calexp's repair leaves them;
  bad columns are masked BAD (and INTRP when interpolated; dead, i.e. zero
  before sky subtraction, otherwise).
- ``photo_calib.zero_point`` is the AB magnitude of one count; the science
  zero point is the template's plus ``2.5 log10(flux_ratio)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import SimulationError
from ..exposure import Exposure, PhotoCalib, VisitInfo
from ..geom import Box
from ..mask import Mask
from .config import PairConfig
from .defects import (add_cosmic_rays, bad_column_mask, bad_columns, interpolate_over,
                      saturate)
from .noise import expected_variance, observe_counts, sky_plane
from .population import draw_population
from .psfs import image_psf
from .render import galaxy_forms, galaxy_half_size, render_sources
from .truth import any_within, truth_table, values_at
from .wcs import offset_wcs, pointing_wcs

__all__ = ["SimulatedPair", "simulate_pair"]

_STREAMS = ("population", "science_noise", "template_noise", "science_cosmic_rays",
            "template_cosmic_rays", "bad_columns")
_DEFECT_PLANES = ("SAT", "BAD", "CR")


@dataclass
class SimulatedPair:
    """The output of `simulate_pair`.

    Attributes
    ----------
    science, template : `diffim.exposure.Exposure`
        The two images (see the module docstring for their conventions).
    truth : `pandas.DataFrame`
        One row per source drawn (also sources centred just outside the
        images whose wings fall in them). Columns:

        ``id``, ``kind`` ("star", "galaxy", "variable", "transient"),
        ``ra``, ``dec`` (degrees); ``x``, ``y`` (science parent pixels) and
        ``template_x``, ``template_y`` (template parent pixels), both from the
        images' WCSs; ``in_science``, ``in_template`` (centre inside the
        image); ``mag_template``, ``mag_science`` (AB, ``inf`` when absent);
        ``science_flux``, ``template_flux`` (total counts injected in each
        image, 0 when absent); ``difference_flux`` = ``science_flux -
        flux_ratio * template_flux``, what a perfect subtraction leaves (0 for
        stars and galaxies); ``science_snr``, ``difference_snr`` (PSF-optimal
        S/N of ``science_flux`` and ``|difference_flux|`` given the science
        image's sky, read and source noise; template noise not included;
        NaN outside the science image); ``science_fwhm``, ``template_fwhm``
        (PSF FWHM at the source, pixels); ``half_light_radius`` (arcsec, 0
        for point sources), ``axis_ratio``, ``position_angle`` (degrees east
        of north); ``host_id`` (galaxy hosting a transient, else -1);
        ``science_saturated``, ``template_saturated``, ``saturated`` (SAT at
        the pixel nearest the centre, in either image); ``nearest_neighbour``
        (science pixels to the nearest other source); ``is_isolated`` (no
        other source within ``config.isolation`` science pixels, and that
        far from the edges of both images); ``near_defect`` (a SAT, BAD or
        CR pixel within ``config.isolation / 2`` pixels in either image).
    cosmic_rays : `pandas.DataFrame`
        One row per cosmic ray (see `diffim.sim.defects.add_cosmic_rays`).
    config : `PairConfig`
    """

    science: Exposure
    template: Exposure
    truth: pd.DataFrame
    cosmic_rays: pd.DataFrame
    config: PairConfig

    @property
    def flux_ratio(self):
        """Science over template counts of a non-varying source (the true kernel sum)."""
        return self.config.flux_ratio


def _streams(seed):
    """One independent generator per stage, so changing one knob leaves other draws alone."""
    root = np.random.SeedSequence(seed)
    return {name: np.random.SeedSequence(root.entropy, spawn_key=(index,))
            for index, name in enumerate(_STREAMS)}


def _population_region(bbox, science_wcs, template_wcs, margin):
    """Science-pixel box covering both images, grown by ``margin``."""
    corners_x = np.array([bbox.x0, bbox.x_end - 1, bbox.x0, bbox.x_end - 1], dtype=float)
    corners_y = np.array([bbox.y0, bbox.y0, bbox.y_end - 1, bbox.y_end - 1], dtype=float)
    ra, dec = template_wcs.pixel_to_world_values(corners_x, corners_y)
    x, y = science_wcs.world_to_pixel_values(ra, dec)
    x = np.concatenate([corners_x, x])
    y = np.concatenate([corners_y, y])
    return x.min() - margin, y.min() - margin, x.max() + margin, y.max() + margin


def _observe(config, role, bbox, population, wcs, psf, streams, columns):
    """Render, add sky, noise and defects: one exposure and its per-source facts."""
    zero_point = getattr(config, f"{role}_zero_point")
    photo_calib = PhotoCalib(zero_point)
    x, y = (np.asarray(value, dtype=float)
            for value in wcs.world_to_pixel_values(population["ra"].to_numpy(),
                                                   population["dec"].to_numpy()))
    flux = photo_calib.magnitude_to_instflux(population[f"mag_{role}"].to_numpy())

    is_galaxy = population["half_light_radius"].to_numpy() > 0.0
    forms = np.full((len(population), 3), np.nan)
    half_sizes = np.zeros(len(population), dtype=int)
    if is_galaxy.any():
        galaxies = population[is_galaxy]
        forms[is_galaxy], major = galaxy_forms(
            wcs, x[is_galaxy], y[is_galaxy], galaxies["half_light_radius"].to_numpy(),
            galaxies["axis_ratio"].to_numpy(), galaxies["position_angle"].to_numpy())
        half_sizes[is_galaxy] = galaxy_half_size(major, psf.size)
    rendered = render_sources(bbox, psf, x, y, flux, forms, half_sizes, threads=config.threads)

    level, gradient = getattr(config, f"{role}_sky"), getattr(config, f"{role}_sky_gradient")
    sky = sky_plane(bbox, level, gradient)
    expected = rendered.model
    expected += sky
    counts = observe_counts(expected, config.gain, config.read_noise,
                            streams[f"{role}_noise"], threads=config.threads)
    variance = expected_variance(expected, config.gain, config.read_noise)
    del expected

    mask = Mask.zeros(bbox.shape)
    n_cosmic_rays = config.cosmic_ray_count if (role == "science"
                                                or config.template_cosmic_rays) else 0
    cr_rng = np.random.default_rng(streams[f"{role}_cosmic_rays"])
    cosmic, tracks = add_cosmic_rays(counts, cr_rng, n_cosmic_rays, config.gain, role)
    tracks[["x_start", "x_end"]] += bbox.x0
    tracks[["y_start", "y_end"]] += bbox.y0
    bad = bad_column_mask(bbox.shape, columns)
    if not config.repair_defects:
        counts[bad] = 0.0
    saturated = saturate(counts, config.saturation)
    if config.repair_defects:
        repaired = (cosmic | bad) & ~saturated
        interpolate_over(counts, repaired)
        mask.set("INTRP", repaired)
    mask.set("SAT", saturated)
    mask.set("BAD", bad)
    mask.set("CR", cosmic)
    counts -= sky

    # CCD-equation noise of a PSF-weighted flux: background over the
    # noise-equivalent area plus the source's own photons.
    background_variance = (values_at(bbox, sky, x, y, level) / config.gain
                           + (config.read_noise / config.gain) ** 2)
    drawn = np.isfinite(rendered.effective_area)
    noise = np.full(flux.shape, np.nan)
    noise[drawn] = np.sqrt(background_variance[drawn] * rendered.effective_area[drawn]
                           + flux[drawn] / config.gain)
    facts = {"x": x, "y": y, "flux": flux, "noise": noise, "fwhm": rendered.psf_fwhm,
             "saturated": values_at(bbox, saturated, x, y, False),
             "near_defect": any_within(bbox, mask.get(_DEFECT_PLANES), x, y,
                                       config.isolation / 2.0)}
    metadata = _metadata(config, role, bbox, tracks, columns)
    visit_info = VisitInfo(exposure_time=config.exposure_time, mjd=getattr(config, f"{role}_mjd"),
                           band=config.band, physical_filter=config.physical_filter,
                           airmass=getattr(config, f"{role}_airmass"))
    exposure = Exposure(counts, variance, mask, xy0=bbox.xy0, psf=psf, wcs=wcs,
                        photo_calib=photo_calib, visit_info=visit_info, metadata=metadata)
    return exposure, tracks, facts


def _metadata(config, role, bbox, tracks, columns):
    """JSON-ready description of how an image was made (what a calexp header would say)."""
    level, gradient = getattr(config, f"{role}_sky"), getattr(config, f"{role}_sky_gradient")
    return {
        "sim_role": role, "sim_seed": config.seed, "sim_flux_ratio": config.flux_ratio,
        "sim_background_subtracted": True, "sim_sky_level": level,
        "sim_sky_gradient": list(gradient), "sim_gain": config.gain,
        "sim_read_noise": config.read_noise, "sim_saturation": config.saturation,
        "sim_n_cosmic_rays": len(tracks),
        "sim_cosmic_rays": np.round(tracks[["x_start", "y_start", "x_end", "y_end"]]
                                    .to_numpy(), 2).tolist(),
        "sim_bad_columns": [[x0 + bbox.x0, y0 + bbox.y0, y1 + bbox.y0]
                            for x0, y0, y1 in columns],
    }


def simulate_pair(config=None):
    """Simulate a science image, a template on (by default) the same pixel grid, and the truth.

    Parameters
    ----------
    config : `PairConfig`, optional
        All parameters; `PairConfig()` when omitted.

    Returns
    -------
    pair : `SimulatedPair`
        ``science`` and ``template`` exposures, the ``truth`` table and the
        ``cosmic_rays`` table. The same ``config`` (seed included) always
        gives bit-identical results, whatever ``config.threads``.

    Raises
    ------
    SimulationError
        If ``config`` is not a `PairConfig` (its fields are checked when it
        is made).

    Examples
    --------
    >>> pair = simulate_pair(PairConfig(size=256, seed=3))
    >>> transients = pair.truth[pair.truth.kind == "transient"]
    """
    if config is None:
        config = PairConfig()
    if not isinstance(config, PairConfig):
        raise SimulationError(f"simulate_pair needs a PairConfig, got {type(config).__name__}")
    streams = _streams(config.seed)
    bbox = Box(0, 0, config.size, config.size)
    half_diagonal = math.hypot(config.size - 1, config.size - 1) / 2.0
    science_wcs = pointing_wcs(config.ra, config.dec, bbox.center, config.pixel_scale,
                               config.rotation, config.distortion, half_diagonal)
    template_wcs = offset_wcs(science_wcs, config.template_offset, config.template_rotation)
    science_psf = image_psf(config, "science", bbox)
    template_psf = image_psf(config, "template", bbox)

    margin = max(science_psf.size, template_psf.size) // 2
    region = _population_region(bbox, science_wcs, template_wcs, margin)
    image_region = (bbox.x0 - 0.5, bbox.y0 - 0.5, bbox.x_end - 0.5, bbox.y_end - 0.5)
    population = draw_population(config, np.random.default_rng(streams["population"]),
                                 science_wcs, region, image_region)
    columns = bad_columns(np.random.default_rng(streams["bad_columns"]), config.size,
                          config.size, config.n_bad_columns)
    science, science_tracks, science_facts = _observe(
        config, "science", bbox, population, science_wcs, science_psf, streams, columns)
    template, template_tracks, template_facts = _observe(
        config, "template", bbox, population, template_wcs, template_psf, streams, columns)
    truth = truth_table(config, bbox, population, science_facts, template_facts)
    cosmic_rays = pd.concat([science_tracks, template_tracks], ignore_index=True)
    return SimulatedPair(science, template, truth, cosmic_rays, config)
