"""Simulated science/template pairs with a truth table.

`simulate_pair` draws a field of stars, galaxies, variables and transients
on the sky (`population`), places it on each image through the image's own
WCS (`wcs`) and spatially varying PSF (`psfs`, `render`), adds sky, photon
and read noise (`noise`), cosmic rays, saturation and bad columns
(`defects`), and returns calexp-like exposures with the truth (`pair`).
`simulate_field` observes one such sky with a multi-detector camera in many
visits (`field`).
"""
from .config import PSF_MODELS, PairConfig
from .field import FieldConfig, SimulatedField, VisitSpec, simulate_field
from .pair import SimulatedPair, simulate_pair
from .population import KINDS, draw_population
from .render import render_sources
from .wcs import offset_wcs, pointing_wcs

__all__ = [
    "FieldConfig",
    "KINDS",
    "PSF_MODELS",
    "PairConfig",
    "SimulatedField",
    "SimulatedPair",
    "VisitSpec",
    "draw_population",
    "offset_wcs",
    "pointing_wcs",
    "render_sources",
    "simulate_field",
    "simulate_pair",
]
