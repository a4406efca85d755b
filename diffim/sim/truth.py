"""The truth table of a simulated pair, and the per-source look-ups it needs."""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["any_within", "inside", "truth_table", "values_at"]


def inside(bbox, x, y):
    """True where (x, y) lies in a pixel of ``bbox``."""
    return ((x >= bbox.x0 - 0.5) & (x < bbox.x_end - 0.5)
            & (y >= bbox.y0 - 0.5) & (y < bbox.y_end - 0.5))


def values_at(bbox, array, x, y, fill):
    """``array`` at the pixels nearest ``(x, y)``; ``fill`` outside the box."""
    within = inside(bbox, x, y)
    values = np.full(x.shape, fill, dtype=array.dtype)
    ix = np.rint(x[within]).astype(np.int64) - bbox.x0
    iy = np.rint(y[within]).astype(np.int64) - bbox.y0
    values[within] = array[iy, ix]
    return values


def any_within(bbox, flags, x, y, radius):
    """True where a flagged pixel lies within ``radius`` (Chebyshev distance) of (x, y)."""
    rows, columns = np.nonzero(flags)
    if rows.size == 0:
        return np.zeros(x.shape, dtype=bool)
    tree = cKDTree(np.column_stack([columns + bbox.x0, rows + bbox.y0]))
    distance, _ = tree.query(np.column_stack([x, y]), k=1, p=np.inf,
                             distance_upper_bound=radius)
    return np.isfinite(distance)


def truth_table(config, bbox, population, science, template):
    """Assemble the truth table described in `diffim.sim.SimulatedPair`.

    Parameters
    ----------
    config : `diffim.sim.PairConfig`
    bbox : `diffim.geom.Box`
        Both images' box.
    population : `pandas.DataFrame`
        From `diffim.sim.population.draw_population`.
    science, template : `dict`
        Per-source facts of each image: ``x``, ``y``, ``flux``, ``noise``
        (flux uncertainty), ``fwhm``, ``saturated``, ``near_defect``.
    """
    truth = population[["id", "kind", "ra", "dec"]].copy()
    truth["x"], truth["y"] = science["x"], science["y"]
    truth["template_x"], truth["template_y"] = template["x"], template["y"]
    in_science = inside(bbox, science["x"], science["y"])
    in_template = inside(bbox, template["x"], template["y"])
    truth["in_science"], truth["in_template"] = in_science, in_template
    truth["mag_template"] = population["mag_template"]
    truth["mag_science"] = population["mag_science"]
    truth["science_flux"], truth["template_flux"] = science["flux"], template["flux"]
    varies = population["mag_science"].to_numpy() != population["mag_template"].to_numpy()
    truth["difference_flux"] = np.where(
        varies, science["flux"] - config.flux_ratio * template["flux"], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        truth["science_snr"] = np.where(in_science, science["flux"] / science["noise"], np.nan)
        truth["difference_snr"] = np.where(
            in_science, np.abs(truth["difference_flux"].to_numpy()) / science["noise"], np.nan)
    truth["science_fwhm"], truth["template_fwhm"] = science["fwhm"], template["fwhm"]
    for column in ("half_light_radius", "axis_ratio", "position_angle", "host_id"):
        truth[column] = population[column]
    truth["science_saturated"] = science["saturated"]
    truth["template_saturated"] = template["saturated"]
    truth["saturated"] = science["saturated"] | template["saturated"]

    positions = np.column_stack([science["x"], science["y"]])
    if len(positions) > 1:
        distance, _ = cKDTree(positions).query(positions, k=2)
        nearest = distance[:, 1]
    else:
        nearest = np.full(len(positions), np.inf)
    truth["nearest_neighbour"] = nearest
    radius = config.isolation
    border = int(math.ceil(radius))
    far_from_edges = np.full(len(truth), 2 * border < config.size)
    if 2 * border < config.size:
        for facts in (science, template):
            far_from_edges &= inside(bbox.grown(-border), facts["x"], facts["y"])
    truth["is_isolated"] = (nearest > radius) & far_from_edges
    truth["near_defect"] = science["near_defect"] | template["near_defect"]
    return truth.reset_index(drop=True)
