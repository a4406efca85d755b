"""Coadd flavours by name: which calexps a ``coaddName`` admits.

A selector takes the inputs' seeing and the task config and returns the
indices of the inputs to combine. ``deep`` takes all of them,
``goodSeeing`` the sharpest. A new flavour (e.g. a DCR-aware one, which
would also need its own combination) registers a selector under its name
with `register_coadd_selector`, and ``coaddName`` can then name it.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import CoaddError

__all__ = ["COADD_SELECTORS", "register_coadd_selector", "select_inputs"]


def _select_all(psf_fwhm, config):
    """Every input (the ``deep`` coadd)."""
    return np.arange(len(psf_fwhm))


def _select_good_seeing(psf_fwhm, config):
    """Inputs with PSF FWHM <= ``maxPsfFwhm`` arcsec if set, else the best ``goodSeeingFraction``.

    The fraction keeps ``ceil(fraction * N)`` inputs (at least one), the
    sharpest first; ties keep input order.
    """
    psf_fwhm = np.asarray(psf_fwhm, dtype=float)
    if config.maxPsfFwhm is not None:
        return np.flatnonzero(psf_fwhm <= config.maxPsfFwhm)
    count = max(1, math.ceil(config.goodSeeingFraction * len(psf_fwhm)))
    return np.sort(np.argsort(psf_fwhm, kind="stable")[:count])


# "calexp" names the one-input coadds of `MakeCalexpCoaddTask`.
COADD_SELECTORS = {"deep": _select_all, "goodSeeing": _select_good_seeing, "calexp": _select_all}
"""``coaddName`` -> selector ``(psf_fwhm_arcsec, config) -> indices``."""


def register_coadd_selector(name, selector):
    """Make ``coaddName = name`` select inputs with ``selector``.

    Parameters
    ----------
    name : `str`
    selector : callable
        ``selector(psf_fwhm, config)``: ``psf_fwhm`` the inputs' PSF FWHM in
        arcsec at their centres, ``config`` the task config; returns the
        indices of the inputs to combine.
    """
    if not name or not isinstance(name, str) or not callable(selector):
        raise CoaddError(f"a coadd selector needs a name and a callable, got {name!r}")
    COADD_SELECTORS[name] = selector


def select_inputs(coadd_name, psf_fwhm, config):
    """Indices (sorted) of the inputs that coadd flavour ``coadd_name`` combines.

    Raises
    ------
    CoaddError
        If no selector is registered under ``coadd_name``.
    """
    try:
        selector = COADD_SELECTORS[coadd_name]
    except KeyError:
        raise CoaddError(f"unknown coaddName {coadd_name!r}; known: "
                         f"{', '.join(sorted(COADD_SELECTORS))}") from None
    return np.sort(np.asarray(selector(psf_fwhm, config), dtype=int))
