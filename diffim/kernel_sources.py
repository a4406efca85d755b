"""Choosing the stars that constrain the PSF-matching kernel.

Good kernel sources are bright enough to constrain the kernel but not
saturated or non-linear (S/N between ``min_snr`` and ``max_snr``), unresolved
(their flux profile is the PSF's), isolated (no comparable neighbour inside the
kernel stamp), present in both images (S/N >= ``min_snr`` in the template too,
which keeps transients out), and clear of bad pixels in both images. They come either from a
catalogue the caller gives (e.g. the science ``src`` catalogue, or sources
matched to a reference catalogue) or, when there is none, from the science
image itself.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage

from .errors import DiffimError
from .psf.detect import estimate_background, find_peaks

__all__ = ["TooFewKernelSourcesError", "detect_kernel_sources", "select_kernel_sources"]

_DETECTION_SNR = 5.0
"""Threshold for peaks that count as neighbours when judging isolation."""


class TooFewKernelSourcesError(DiffimError):
    """Fewer usable kernel sources than ``minKernelSources``."""


def select_kernel_sources(science, template, catalog=None, *, psf=None, min_snr=10.0,
                          max_snr=500.0, max_sources=1000, min_sources=3, isolation_radius=None,
                          bad_mask_planes=("NO_DATA", "SAT", "BAD", "EDGE", "CR", "SUSPECT")):
    """Kernel sources from a catalogue, or detected on the science image.

    Parameters
    ----------
    science, template : `diffim.Exposure`
        The pair, on the same pixel grid.
    catalog : `pandas.DataFrame`, optional
        Columns ``x``, ``y`` (parent pixels) and optionally ``flux`` and
        ``flux_err`` (S/N cut) or ``snr``, and boolean ``flags`` columns
        named ``*_flag`` (any True rejects). Detected on the science image
        when omitted.
    psf : `diffim.psf.Psf`, optional
        PSF of the science image for PSF-weighted fluxes and the
        resolved-source test; ``science.psf`` when omitted.
    min_snr, max_snr : `float`
        Accepted S/N range.
    max_sources, min_sources : `int`
        At most this many (the highest S/N), at least this many or an error.
    isolation_radius : `float`, optional
        No other detection (S/N >= 5) within this many pixels; three PSF FWHMs
        by default.
    bad_mask_planes : sequence of `str`
        Sources with any of these planes set within one FWHM, in either
        image, are rejected.

    Returns
    -------
    sources : `pandas.DataFrame`
        ``x``, ``y``, ``flux``, ``snr``, highest S/N first.

    Raises
    ------
    TooFewKernelSourcesError
        If fewer than ``min_sources`` remain; the message gives the counts.
    """
    psf = psf if psf is not None else science.psf
    if psf is None:
        raise DiffimError("kernel-source selection needs a science PSF (give one, or a FWHM)")
    fwhm = float(psf.computeFwhm(*science.bbox.center))
    radius = 3.0 * fwhm if isolation_radius is None else float(isolation_radius)
    if catalog is None:
        sources = detect_kernel_sources(science, psf, isolation_radius=radius)
        origin = "detected on the science image"
    else:
        sources = _from_catalog(catalog)
        origin = f"from a catalogue of {len(catalog)}"
    counts = {"candidates": len(sources)}
    keep = _inside(science.bbox, sources, fwhm)
    counts["inside the image"] = int(keep.sum())
    keep &= _clear_of_masks(sources, (science, template), bad_mask_planes, fwhm)
    counts["clear of " + "/".join(bad_mask_planes)] = int(keep.sum())
    snr = sources["snr"].to_numpy()
    keep &= (snr >= min_snr) & (snr <= max_snr)
    counts[f"S/N in [{min_snr:g}, {max_snr:g}]"] = int(keep.sum())
    template_snr = _snr_at(template, template.psf or psf, sources)
    keep &= template_snr >= min_snr
    counts[f"template S/N >= {min_snr:g}"] = int(keep.sum())
    if "isolated" in sources:
        keep &= sources["isolated"].to_numpy()
        counts["isolated"] = int(keep.sum())
    if "resolved" in sources:
        keep &= ~sources["resolved"].to_numpy()
        counts["unresolved"] = int(keep.sum())
    selected = sources[keep].sort_values("snr", ascending=False, kind="stable").head(max_sources)
    if len(selected) < min_sources:
        steps = ", ".join(f"{label}: {n}" for label, n in counts.items())
        raise TooFewKernelSourcesError(
            f"too few kernel sources ({len(selected)} < minKernelSources={min_sources}) "
            f"{origin}; {steps}")
    return selected[["x", "y", "flux", "snr"]].reset_index(drop=True)


def detect_kernel_sources(exposure, psf, *, isolation_radius):
    """Peaks of ``exposure`` with PSF-weighted fluxes, S/N, and isolation/resolved flags.

    Returns
    -------
    sources : `pandas.DataFrame`
        ``x``, ``y`` (parent pixels), ``flux`` (PSF flux), ``snr``,
        ``isolated`` and ``resolved`` (booleans).
    """
    good = ~exposure.mask.get([p for p in ("NO_DATA", "BAD", "SAT")
                               if p in exposure.mask.planes])
    residual = np.where(good, exposure.image - estimate_background(exposure.image, good), 0.0)
    peaks = find_peaks(residual, exposure.variance, good, _DETECTION_SNR)
    x0, y0 = exposure.xy0
    rows = []
    for x, y in zip(peaks.x, peaks.y):
        rows.append(_psf_photometry(residual, exposure.variance, psf, x + x0, y + y0, exposure.bbox))
    table = pd.DataFrame(rows, columns=["x", "y", "flux", "snr", "concentration"])
    table["isolated"] = _isolated(peaks.x.astype(float), peaks.y.astype(float), isolation_radius)
    table["resolved"] = _resolved(table)
    return table


def _psf_photometry(residual, variance, psf, x, y, bbox):
    """Centroid, PSF flux, S/N and concentration (PSF flux / aperture flux) of one peak."""
    stamp_psf, box = psf.computeImage(x, y)
    inner = box.intersection(bbox)
    if inner.is_empty():
        return (x, y, np.nan, np.nan, np.nan)
    image = residual[inner.slices_in(bbox)]
    var = variance[inner.slices_in(bbox)].astype(float)
    model = stamp_psf[inner.slices_in(box)]
    weight = (model ** 2).sum()
    flux = float((model * image).sum() / weight)
    flux_err = float(np.sqrt((model ** 2 * var).sum()) / weight)
    # Aperture of radius ~1 FWHM: the PSF-weighted flux of a galaxy falls short of it.
    aperture = model >= 0.1 * model.max()
    aperture_flux = float(image[aperture].sum() / model[aperture].sum())
    yy, xx = np.mgrid[inner.y0:inner.y_end, inner.x0:inner.x_end]
    positive = np.clip(image, 0.0, None) * aperture
    total = positive.sum()
    cx = float((positive * xx).sum() / total) if total > 0 else float(x)
    cy = float((positive * yy).sum() / total) if total > 0 else float(y)
    concentration = flux / aperture_flux if aperture_flux > 0 else np.nan
    snr = flux / flux_err if flux_err > 0 else np.nan
    return (cx, cy, flux, snr, concentration)


def _snr_at(exposure, psf, sources):
    """PSF-weighted S/N of ``exposure`` at each source position (NaN off the image).

    A source must be in the template too: a transient, absent there, cannot
    constrain the kernel.
    """
    good = ~exposure.mask.get([p for p in ("NO_DATA", "BAD", "SAT") if p in exposure.mask.planes])
    residual = np.where(good, exposure.image - estimate_background(exposure.image, good), 0.0)
    return np.array([_psf_photometry(residual, exposure.variance, psf, x, y, exposure.bbox)[3]
                     for x, y in zip(sources["x"], sources["y"])], dtype=float)


def _isolated(x, y, radius):
    """True for peaks with no other peak within ``radius`` pixels."""
    if len(x) < 2:
        return np.ones(len(x), bool)
    order = np.argsort(x)
    xs, ys = x[order], y[order]
    isolated_sorted = np.ones(len(x), bool)
    for i in range(len(xs)):
        lo, hi = np.searchsorted(xs, [xs[i] - radius, xs[i] + radius])
        near = (xs[lo:hi] - xs[i]) ** 2 + (ys[lo:hi] - ys[i]) ** 2 < radius ** 2
        isolated_sorted[i] = near.sum() == 1
    isolated = np.empty(len(x), bool)
    isolated[order] = isolated_sorted
    return isolated


def _resolved(table):
    """Sources whose concentration falls clearly below that of point sources.

    The point-source concentration is the median over bright peaks; a source is
    resolved when it is below that by more than 5 % plus three times its own
    noise (~1/S/N).
    """
    concentration = table["concentration"].to_numpy()
    snr = table["snr"].to_numpy()
    bright = np.isfinite(concentration) & (snr > 30)
    if bright.sum() < 3:
        return np.zeros(len(table), bool)
    point_like = np.median(concentration[bright])
    with np.errstate(invalid="ignore", divide="ignore"):
        return concentration < point_like * (1.0 - 0.05 - 3.0 / snr)


def _from_catalog(catalog):
    if not {"x", "y"} <= set(catalog.columns):
        raise DiffimError(f"kernel-source catalogue needs columns x and y, has {list(catalog.columns)}")
    sources = pd.DataFrame({"x": catalog["x"].to_numpy(float), "y": catalog["y"].to_numpy(float)})
    sources["flux"] = catalog["flux"].to_numpy(float) if "flux" in catalog else np.nan
    if "snr" in catalog:
        sources["snr"] = catalog["snr"].to_numpy(float)
    elif {"flux", "flux_err"} <= set(catalog.columns):
        sources["snr"] = catalog["flux"].to_numpy(float) / catalog["flux_err"].to_numpy(float)
    else:
        raise DiffimError("kernel-source catalogue needs an snr column or flux and flux_err")
    flags = [name for name in catalog.columns if name.endswith("_flag")]
    if flags:
        sources = sources[~catalog[flags].to_numpy(bool).any(axis=1)]
    return sources


def _inside(bbox, sources, margin):
    x, y = sources["x"].to_numpy(), sources["y"].to_numpy()
    return ((x >= bbox.x0 + margin) & (x <= bbox.x_end - 1 - margin)
            & (y >= bbox.y0 + margin) & (y <= bbox.y_end - 1 - margin))


def _clear_of_masks(sources, exposures, planes, radius):
    """True for sources with none of ``planes`` set within ``radius`` px in any exposure."""
    clear = np.ones(len(sources), bool)
    size = 2 * int(np.ceil(radius)) + 1
    for exposure in exposures:
        known = [name for name in planes if name in exposure.mask.planes]
        if not known:
            continue
        near_bad = ndimage.maximum_filter(exposure.mask.get(known).astype(np.uint8), size=size)
        bbox = exposure.bbox
        ix = np.clip(np.rint(sources["x"].to_numpy()).astype(int) - bbox.x0, 0, bbox.width - 1)
        iy = np.clip(np.rint(sources["y"].to_numpy()).astype(int) - bbox.y0, 0, bbox.height - 1)
        clear &= near_bad[iy, ix] == 0
    return clear
