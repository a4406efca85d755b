"""Source catalogues on the sky: stars, galaxies, variables and transients.

A population knows nothing of any image: sources have sky positions, an AB
magnitude per epoch (template and science) and, for galaxies, an intrinsic
shape on the sky. Images place them with their own WCS and PSF
(`diffim.sim.render`).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["KINDS", "draw_population", "power_law_fluxes"]

KINDS = ("star", "galaxy", "variable", "transient")

_RADIUS_SCATTER_DEX = 0.3
_RADIUS_LIMITS_ARCSEC = (0.05, 4.0)
_AXIS_RATIO_RANGE = (0.3, 1.0)


def power_law_fluxes(rng, count, flux_min, flux_max, slope):
    """Fluxes with ``dN/dF ~ F**-slope`` on ``[flux_min, flux_max]``.

    Drawn by inverting the cumulative distribution of one uniform deviate
    per source.
    """
    uniform = rng.random(count)
    if math.isclose(slope, 1.0):
        return flux_min * (flux_max / flux_min) ** uniform
    power = 1.0 - slope
    low, high = flux_min ** power, flux_max ** power
    return (low + uniform * (high - low)) ** (1.0 / power)


def _log_uniform(rng, count, low, high):
    return np.exp(rng.uniform(math.log(low), math.log(high), count))


def draw_population(config, rng, wcs, region, target_region=None):
    """Draw the sources of a simulated field.

    Parameters
    ----------
    config : `diffim.sim.PairConfig`
        Counts, flux laws, galaxy sizes, variability and zero points.
    rng : `numpy.random.Generator`
        The only source of randomness.
    wcs : `astropy.wcs.WCS`
        Science WCS: positions are drawn uniformly over ``region`` of its
        pixel grid and stored as sky coordinates.
    region : `tuple` [`float`, `float`, `float`, `float`]
        ``(x_min, y_min, x_max, y_max)`` in science pixels; larger than the
        image so that wings of sources beyond the edge still fall in it.

    Returns
    -------
    population : `pandas.DataFrame`
        One row per source: ``id``, ``kind`` (one of `KINDS`), ``ra``,
        ``dec`` (degrees), ``mag_template``, ``mag_science`` (AB; ``inf``
        where the source is absent), ``half_light_radius`` (arcsec, 0 for
        point sources), ``axis_ratio`` (1 for point sources),
        ``position_angle`` (degrees east of north) and ``host_id`` (the
        galaxy hosting a transient, else -1).
    """
    x_min, y_min, x_max, y_max = region
    n_stars, n_galaxies = config.star_count, config.galaxy_count
    n_variables, n_transients = config.n_variables, config.n_transients
    n_static = n_stars + n_galaxies
    kinds = np.repeat(np.array(KINDS, dtype=object),
                      [n_stars, n_galaxies, n_variables, n_transients])
    total = kinds.size

    x = rng.uniform(x_min, x_max, total)
    y = rng.uniform(y_min, y_max, total)
    target_x_min, target_y_min, target_x_max, target_y_max = (
        region if target_region is None else target_region)
    x[n_static:] = rng.uniform(target_x_min, target_x_max, total - n_static)
    y[n_static:] = rng.uniform(target_y_min, target_y_max, total - n_static)

    template_flux = np.zeros(total)
    template_flux[:n_static] = power_law_fluxes(rng, n_static, config.star_flux_min,
                                                config.star_flux_max, config.star_flux_slope)
    # Variables and transients get fluxes a subtraction can measure.
    variables = slice(n_static, n_static + n_variables)
    transients = slice(n_static + n_variables, total)
    template_flux[variables] = _log_uniform(rng, n_variables, config.transient_flux_min,
                                            config.transient_flux_max) / config.flux_ratio
    delta_mag = np.zeros(total)
    low, high = config.variable_delta_mag
    delta_mag[variables] = rng.uniform(low, high, n_variables) * rng.choice([-1.0, 1.0],
                                                                            n_variables)
    science_flux = config.flux_ratio * template_flux * 10.0 ** (-0.4 * delta_mag)
    science_flux[transients] = _log_uniform(rng, n_transients, config.transient_flux_min,
                                            config.transient_flux_max)

    half_light_radius = np.zeros(total)
    axis_ratio = np.ones(total)
    position_angle = np.zeros(total)
    galaxies = slice(n_stars, n_static)
    half_light_radius[galaxies] = np.clip(
        config.galaxy_half_light_radius
        * 10.0 ** (_RADIUS_SCATTER_DEX * rng.standard_normal(n_galaxies)),
        *_RADIUS_LIMITS_ARCSEC)
    axis_ratio[galaxies] = rng.uniform(*_AXIS_RATIO_RANGE, n_galaxies)
    position_angle[galaxies] = rng.uniform(0.0, 180.0, n_galaxies)

    ra, dec = (np.asarray(value, dtype=float) for value in wcs.pixel_to_world_values(x, y))
    host_id = np.full(total, -1, dtype=np.int64)
    if n_galaxies and n_transients:
        _place_in_hosts(config, rng, ra, dec, host_id, n_stars, n_static, transients,
                        half_light_radius, axis_ratio, position_angle)

    with np.errstate(divide="ignore"):
        mag_template = config.template_zero_point - 2.5 * np.log10(template_flux)
        mag_science = config.science_zero_point - 2.5 * np.log10(science_flux)
    # Exactly equal magnitudes mark the sources that do not vary.
    mag_science[:n_static] = mag_template[:n_static]
    return pd.DataFrame({
        "id": np.arange(total, dtype=np.int64),
        "kind": kinds.astype(str),
        "ra": ra % 360.0,
        "dec": dec,
        "mag_template": mag_template,
        "mag_science": mag_science,
        "half_light_radius": half_light_radius,
        "axis_ratio": axis_ratio,
        "position_angle": position_angle,
        "host_id": host_id,
    })


def _place_in_hosts(config, rng, ra, dec, host_id, first_galaxy, end_galaxy, transients,
                    half_light_radius, axis_ratio, position_angle):
    """Move some transients inside the half-light ellipse of a random galaxy."""
    indices = np.arange(transients.start, transients.stop)
    hosted = indices[rng.random(indices.size) < config.transient_host_fraction]
    hosts = rng.integers(first_galaxy, end_galaxy, hosted.size)
    # Uniform within the unit disc, then stretched to the host's ellipse.
    radius = np.sqrt(rng.random(hosted.size)) * half_light_radius[hosts]
    angle = rng.uniform(0.0, 2.0 * math.pi, hosted.size)
    along = radius * np.cos(angle)
    across = radius * np.sin(angle) * axis_ratio[hosts]
    pa = np.radians(position_angle[hosts])
    east = along * np.sin(pa) + across * np.cos(pa)
    north = along * np.cos(pa) - across * np.sin(pa)
    dec[hosted] = dec[hosts] + north / 3600.0
    ra[hosted] = ra[hosts] + east / (3600.0 * np.cos(np.radians(dec[hosts])))
    host_id[hosted] = hosts
