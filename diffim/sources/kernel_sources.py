"""Choosing the stars that constrain the PSF-matching kernel.

Good kernel sources are bright enough to constrain the kernel but not
saturated or non-linear (S/N between ``min_snr`` and ``max_snr``), unresolved
(their flux profile is the PSF's), isolated (no comparable neighbour inside the
kernel stamp), present in both images (S/N >= ``min_snr`` in the template too,
which keeps transients out), of the same flux ratio between the images as the other
sources (which keeps variable stars out), and clear of bad pixels in both images. They come either from a
catalogue the caller gives (e.g. the science ``src`` catalogue, or sources
matched to a reference catalogue) or, when there is none, from the science
image itself.
"""
from __future__ import annotations

import lsst.pex.config as pexConfig
import numpy as np

from .._core import _planes
from ..errors import DiffimError
from ..image.background import BackgroundGrid, background_grid
from ..image.stats import robust_median_sigma
from ..image.peaks import find_peaks
from ..measure.photometry import psf_amplitude
from ..table import column_names

__all__ = ["SignalToNoiseConfig", "TooFewKernelSourcesError", "detect_kernel_sources",
           "select_kernel_sources"]

_DETECTION_SNR = 5.0
"""Threshold for peaks that count as neighbours when judging isolation."""

_RATIO_CLIP = 4.0
"""Flux ratios further than this many of their errors from the median are variable sources."""

_PRECISE_RATIO = 0.02
"""Flux ratios with a smaller statistical error measure the common scatter (`_variable`)."""


class SignalToNoiseConfig(pexConfig.Config):
    """S/N limits of kernel sources (the stack's ``sourceSelector.signalToNoise``).

    The one home of these defaults: the subtraction's ``sourceSelector`` and
    ZOGY's flux scale from the stars each hold one, and `select_kernel_sources`
    takes it.
    """

    minimum = pexConfig.Field(dtype=float, default=10.0, doc="Lowest S/N of a kernel source.")
    # Not the stack's 500: the brightest unsaturated stars (saturated ones are
    # excluded by their SAT pixels) are what constrains the kernel's wings;
    # without them bright stars leave wing residuals (2048 px simulated pair:
    # 8 false detections -> 0; DECam pairs: near-bright std 3.3-4.5 -> 1.1-1.8).
    maximum = pexConfig.Field(dtype=float, default=10000.0, doc="Highest S/N of a kernel source.")


class TooFewKernelSourcesError(DiffimError):
    """Fewer usable kernel sources than ``minKernelSources``."""


def select_kernel_sources(science, template, catalog=None, *, signal_to_noise, psf=None,
                          max_sources=1000, min_sources=3, isolation_radius=None,
                          bad_mask_planes=("NO_DATA", "SAT", "BAD", "EDGE", "CR", "SUSPECT"),
                          peaks=None):
    """Kernel sources from a catalogue, or detected on the science image.

    Parameters
    ----------
    science, template : `diffim.Exposure`
        The pair, on the same pixel grid.
    catalog : `pandas.DataFrame` or structured `numpy.ndarray`, optional
        Columns ``x``, ``y`` (parent pixels) and optionally ``flux`` (or
        ``psfFlux``) and ``flux_err`` (S/N cut) or ``snr``, and boolean ``flags`` columns
        named ``*_flag`` (any True rejects). Detected on the science image
        when omitted.
    signal_to_noise : `SignalToNoiseConfig`
        Accepted S/N range, ``minimum`` to ``maximum`` (the caller's config).
    psf : `diffim.psf.Psf`, optional
        PSF of the science image for PSF-weighted fluxes and the
        resolved-source test; ``science.psf`` when omitted.
    max_sources, min_sources : `int`
        At most this many (the highest S/N), at least this many or an error.
    isolation_radius : `float`, optional
        No other detection (S/N >= 5) within this many pixels; three PSF FWHMs
        by default.
    bad_mask_planes : sequence of `str`
        Sources with any of these planes set within one FWHM, in either
        image, are rejected.
    peaks : `tuple`, optional
        For detection: ``(Peaks, BackgroundGrid)`` of a pass already made
        over the science image (`diffim.psf.PsfMeasurement`), passed to
        `detect_kernel_sources`.

    Returns
    -------
    sources : `numpy.recarray`
        ``x``, ``y``, ``flux``, ``snr``, highest S/N first (a record array,
        not a DataFrame: the subtraction imports no pandas).

    Raises
    ------
    TooFewKernelSourcesError
        If fewer than ``min_sources`` remain; the message gives the counts.
    """
    min_snr, max_snr = signal_to_noise.minimum, signal_to_noise.maximum
    psf = psf if psf is not None else science.psf
    if psf is None:
        raise DiffimError("kernel-source selection needs a science PSF (give one, or a FWHM)")
    fwhm = float(psf.computeFwhm(*science.bbox.center))
    radius = 3.0 * fwhm if isolation_radius is None else float(isolation_radius)
    if catalog is None:
        sources = detect_kernel_sources(science, psf, isolation_radius=radius, peaks=peaks)
        origin = "detected on the science image"
    else:
        sources = _from_catalog(catalog)
        origin = f"from a catalogue of {len(catalog)}"
    counts = {"candidates": len(sources)}
    keep = _inside(science.bbox, sources, fwhm)
    counts["inside the image"] = int(keep.sum())
    keep &= clear_of_masks(sources, (science, template), bad_mask_planes, fwhm)
    counts["clear of " + "/".join(bad_mask_planes)] = int(keep.sum())
    snr = sources["snr"]
    keep &= (snr >= min_snr) & (snr <= max_snr)
    counts[f"S/N in [{min_snr:g}, {max_snr:g}]"] = int(keep.sum())
    template_photometry = _photometry_at(template, template.psf or psf, sources)
    keep &= template_photometry["snr"] >= min_snr
    counts[f"template S/N >= {min_snr:g}"] = int(keep.sum())
    if "isolated" in sources.dtype.names:
        keep &= sources["isolated"]
        counts["isolated"] = int(keep.sum())
    if "resolved" in sources.dtype.names:
        keep &= ~sources["resolved"]
        counts["unresolved"] = int(keep.sum())
    keep &= ~_variable(sources, template_photometry, keep)
    counts["flux ratio as the others'"] = int(keep.sum())
    kept = sources[keep]
    # Highest S/N first, ties in their order (a stable sort of -S/N).
    selected = kept[np.argsort(-kept["snr"], kind="stable")][:max_sources]
    if len(selected) < min_sources:
        steps = ", ".join(f"{label}: {n}" for label, n in counts.items())
        raise TooFewKernelSourcesError(
            f"too few kernel sources ({len(selected)} < minKernelSources={min_sources}) "
            f"{origin}; {steps}")
    return np.rec.fromarrays([selected[name] for name in ("x", "y", "flux", "snr")],
                             names="x,y,flux,snr")


def detect_kernel_sources(exposure, psf, *, isolation_radius, peaks=None):
    """Peaks of ``exposure`` with PSF-weighted fluxes, S/N, and isolation/resolved flags.

    ``peaks``, ``(Peaks, BackgroundGrid)`` of a pass already made over this
    exposure with S/N >= 5 and at least its NO_DATA, BAD and SAT pixels as bad
    (`diffim.psf.measure_psf` makes one), replaces a new pass.

    Returns
    -------
    sources : `numpy.recarray`
        ``x``, ``y`` (parent pixels), ``flux`` (PSF flux), ``snr``,
        ``concentration``, ``isolated`` and ``resolved`` (booleans).
    """
    bad = _bad_pixels(exposure)
    mask, bits = bad
    if peaks is None:
        background = background_grid(exposure.image,
                                     lambda rows, cols: (mask[rows, cols] & bits) == 0)
        peaks = find_peaks(exposure.image, exposure.variance, bad, _DETECTION_SNR, background)
    else:
        peaks, background = peaks
    x = peaks.x + exposure.xy0[0]
    y = peaks.y + exposure.xy0[1]
    table = psf_photometry(exposure.image, exposure.variance, psf, exposure.bbox, x, y, bad=bad,
                           background=background)
    names = table.dtype.names
    return np.rec.fromarrays(
        [table[name] for name in names]
        + [_isolated(x.astype(float), y.astype(float), isolation_radius), _resolved(table)],
        names=[*names, "isolated", "resolved"])


def _bad_pixels(exposure):
    """``(mask array, bits)`` of pixels unusable for photometry: NO_DATA, BAD or SAT
    (warped NO_DATA holds NaN/inf)."""
    planes = [p for p in ("NO_DATA", "BAD", "SAT") if p in exposure.mask.planes]
    return exposure.mask.array, exposure.mask.bitmask(planes)


def psf_photometry(image, variance, psf, bbox, x, y, nodes=4, chunk=2048, *, bad=None,
                   background=None):
    """PSF photometry of many sources at once.

    Each source is measured at its nearest pixel with the PSF kernel image of
    the nearest of ``nodes`` x ``nodes`` grid points: enough to rank sources by
    S/N and to tell point sources from extended ones, at array speed. The
    flux is the DIA sources' PSF flux (`diffim.measure.photometry.psf_amplitude`)
    of that model.

    Parameters
    ----------
    image, variance : `numpy.ndarray`
        Image and its variance.
    psf : `diffim.psf.Psf`
    bbox : `diffim.Box`
        Box of the arrays, parent coordinates.
    x, y : `numpy.ndarray`
        Parent positions.
    bad : `tuple`, optional
        ``(mask array, bits)``: pixels with any of ``bits`` set count as zero
        in the image and the variance, as pixels beyond the edges do.
    background : `diffim.image.background.BackgroundGrid`, optional
        Subtracted from the image first.

    Returns
    -------
    table : `numpy.recarray`
        ``x``, ``y`` (centroids), ``flux`` (PSF flux), ``snr`` and
        ``concentration`` (PSF flux over the flux in an aperture of radius
        ~1 FWHM: below one for extended sources).
    """
    x_nodes = np.linspace(bbox.x0, bbox.x_end - 1, nodes)
    y_nodes = np.linspace(bbox.y0, bbox.y_end - 1, nodes)
    kernels = np.array([[psf.computeKernelImage(xn, yn) for xn in x_nodes] for yn in y_nodes])
    kernels = kernels.reshape(nodes * nodes, *kernels.shape[2:])
    half = kernels.shape[1] // 2
    ix = np.rint(np.asarray(x) - bbox.x0).astype(int)
    iy = np.rint(np.asarray(y) - bbox.y0).astype(int)
    node = (np.abs(np.asarray(y)[:, None] - y_nodes).argmin(axis=1) * nodes
            + np.abs(np.asarray(x)[:, None] - x_nodes).argmin(axis=1))
    offsets = np.arange(-half, half + 1)
    columns = {name: np.full(len(ix), np.nan) for name in ("x", "y", "flux", "snr", "concentration")}
    pixels = _StampPixels(image, variance, bad, background)
    for start in range(0, len(ix), chunk):
        part = slice(start, start + chunk)
        stamps, var = pixels.around(iy[part], ix[part], kernels.shape[1])
        model = kernels[node[part]]
        # Unusable pixels are zero in image and variance but stay in the norm (src
        # fluxes have always been measured so): a source on bad pixels measures low
        # and ranks low as a kernel source.
        flux, flux_err = psf_amplitude(stamps, var, model)
        aperture = model >= 0.1 * model.max(axis=(1, 2), keepdims=True)
        aperture_flux = (stamps * aperture).sum(axis=(1, 2)) / (model * aperture).sum(axis=(1, 2))
        positive = np.clip(stamps, 0.0, None) * aperture
        total = positive.sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            columns["x"][part] = np.where(total > 0, (positive.sum(axis=1) * offsets).sum(axis=1)
                                          / total, 0.0) + ix[part] + bbox.x0
            columns["y"][part] = np.where(total > 0, (positive.sum(axis=2) * offsets).sum(axis=1)
                                          / total, 0.0) + iy[part] + bbox.y0
            columns["flux"][part] = flux
            columns["snr"][part] = np.where(flux_err > 0, flux / flux_err, np.nan)
            columns["concentration"][part] = np.where(aperture_flux > 0, flux / aperture_flux, np.nan)
    return np.rec.fromarrays(list(columns.values()), names=list(columns))


_NO_BACKGROUND = BackgroundGrid(np.zeros((1, 1), np.float32),
                                *[np.zeros(1, dtype) for dtype in (np.intc, np.intc, np.float32)] * 2)
"""A grid to pass when there is no background (not read)."""


class _StampPixels:
    """Stamps of an image (less its background) and its variance, 0 where unusable.

    Only the stamps are read: no padded or background-subtracted copy of the
    image. Pixels beyond the edges or with any of the ``bad`` bits set are 0
    in both (`diffim._core._planes.stamp_pixels`, one compiled pass).
    """

    def __init__(self, image, variance, bad=None, background=None):
        self.image = np.ascontiguousarray(image, dtype=np.float32)
        self.variance = np.ascontiguousarray(variance, dtype=np.float32)
        mask, bits = bad if bad is not None else (np.zeros((1, 1), np.uint32), 0)
        self.mask, self.bits = np.ascontiguousarray(mask, dtype=np.uint32), int(bits)
        self.subtract_background = int(background is not None)
        self.grid = background if background is not None else _NO_BACKGROUND

    def around(self, rows, cols, size):
        """``(stamps, variances)``, float32 ``(n, size, size)``, centred on the integer pixels."""
        stamps = np.empty((len(rows), size, size), dtype=np.float32)
        variances = np.empty_like(stamps)
        grid = self.grid
        _planes.stamp_pixels(self.image, self.variance, self.mask, self.bits, grid.grid,
                             grid.row_lo, grid.row_hi, grid.row_frac, grid.col_lo, grid.col_hi,
                             grid.col_frac, self.subtract_background,
                             np.ascontiguousarray(rows, dtype=np.intp),
                             np.ascontiguousarray(cols, dtype=np.intp), stamps, variances)
        return stamps, variances


def _photometry_at(exposure, psf, sources):
    """PSF flux and S/N of ``exposure`` at each source position (`psf_photometry`).

    A source must be in the template too: a transient, absent there, cannot
    constrain the kernel. A template may carry its sky (a plain image): the
    background is removed first, or every position would have the sky's S/N.
    """
    bad = _bad_pixels(exposure)
    mask, bits = bad
    background = background_grid(exposure.image, lambda rows, cols: (mask[rows, cols] & bits) == 0)
    return psf_photometry(exposure.image, exposure.variance, psf, exposure.bbox,
                          sources["x"], sources["y"], bad=bad,
                          background=background)


def _variable(sources, template_photometry, candidates):
    """True for ``candidates`` whose science/template flux ratio is an outlier.

    A variable star is as good a kernel source as any other by every other
    test, but its flux ratio is not the images' photometric scale: each one
    among the kernel sources pulls the kernel sum (10 variables among ~100
    stars of a simulated 1024 px pair: -0.1 %). Its single-kernel sum is too
    noisy to clip it (tens of per cent: the local background and the wide
    kernel terms trade flux), but the ratio of the two PSF fluxes is good to
    ~1/S/N. A ratio's fractional error is the two S/Ns' in quadrature plus a
    floor common to all sources (PSF-model mismatch across the image), taken
    as the robust scatter of the well-measured ratios; beyond `_RATIO_CLIP`
    of it from the median ratio, the source is rejected. ``candidates`` are
    the isolated point sources only: a galaxy's ratio depends on its size
    (the wider PSF takes more of its flux), and with galaxies among them the
    scatter of a simulated pair with sky came out 20 %, which let five bright
    variables through (flux ratios 0.45-1.68 of the images'; among point
    sources 6 %, and the pair's kernel sum +1.45 % -> +1.09 %).
    """
    science_flux = sources["flux"].astype(float)
    science_snr = sources["snr"].astype(float)
    template_flux = template_photometry["flux"].astype(float)
    template_snr = template_photometry["snr"].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = science_flux / template_flux
        statistical = np.hypot(1.0 / science_snr, 1.0 / template_snr)
    usable = candidates & np.isfinite(ratio) & (ratio > 0) & np.isfinite(statistical)
    if usable.sum() < 5:
        return np.zeros(len(sources), bool)
    deviation = ratio / np.median(ratio[usable]) - 1.0
    precise = usable & (statistical < _PRECISE_RATIO)
    _, floor = robust_median_sigma(deviation[precise if precise.sum() >= 5 else usable])
    with np.errstate(invalid="ignore"):
        return usable & (np.abs(deviation) > _RATIO_CLIP * np.hypot(statistical, floor))


_PAIR_BLOCK = 1 << 20
"""Most candidate pairs `_isolated` compares at once (bounds its memory on crowded fields)."""


def _isolated(x, y, radius):
    """True for peaks with no other peak within ``radius`` pixels.

    Peaks sorted by x; each is compared with the later ones within ``radius``
    in x, all pairs at once (`_PAIR_BLOCK` at a time), and a near pair counts
    for both: a 4k image's ~9000 peaks took ~0.1 s one peak at a time.
    """
    if len(x) < 2:
        return np.ones(len(x), bool)
    order = np.argsort(x)
    xs, ys = x[order], y[order]
    first = np.arange(1, len(xs) + 1)
    widths = np.maximum(np.searchsorted(xs, xs + radius) - first, 0)
    ends = np.cumsum(widths)
    # Itself, as a peak at distance 0 (none when radius is 0).
    neighbours = np.full(len(xs), int(radius > 0), np.intp)
    start = 0
    while start < len(xs):
        base = ends[start] - widths[start]  # pairs before this block
        stop = max(start + 1, int(np.searchsorted(ends, base + _PAIR_BLOCK, side="right")))
        block_widths = widths[start:stop]
        i = np.repeat(np.arange(start, stop), block_widths)
        # The k-th pair of peak i is (i, i + 1 + k).
        j = i + 1 + np.arange(len(i)) - (np.repeat(ends[start:stop] - block_widths, block_widths)
                                         - base)
        near = (xs[j] - xs[i]) ** 2 + (ys[j] - ys[i]) ** 2 < radius ** 2
        neighbours += np.bincount(i[near], minlength=len(xs))
        neighbours += np.bincount(j[near], minlength=len(xs))
        start = stop
    isolated = np.empty(len(x), bool)
    isolated[order] = neighbours == 1
    return isolated


def _resolved(table):
    """Sources whose concentration falls clearly below that of point sources.

    The point-source concentration is the median over bright peaks; a source is
    resolved when it is below that by more than 5 % plus three times its own
    noise (~1/S/N).
    """
    concentration = table["concentration"]
    snr = table["snr"]
    bright = np.isfinite(concentration) & (snr > 30)
    if bright.sum() < 3:
        return np.zeros(len(table), bool)
    point_like = np.median(concentration[bright])
    with np.errstate(invalid="ignore", divide="ignore"):
        return concentration < point_like * (1.0 - 0.05 - 3.0 / snr)


def _from_catalog(catalog):
    """``x``, ``y``, ``flux``, ``snr`` of the unflagged rows of a DataFrame or record array."""
    names = list(column_names(catalog))
    if not {"x", "y"} <= set(names):
        raise DiffimError(f"kernel-source catalogue needs columns x and y, has {names}")

    def column(name):
        return np.asarray(catalog[name], dtype=float)

    # A src catalogue (diffim.sources.catalog) names its PSF flux psfFlux.
    flux_column = next((name for name in ("flux", "psfFlux") if name in names), None)
    flux = column(flux_column) if flux_column else np.full(len(catalog), np.nan)
    if "snr" in names:
        snr = column("snr")
    elif {"flux", "flux_err"} <= set(names):
        snr = column("flux") / column("flux_err")
    else:
        raise DiffimError("kernel-source catalogue needs an snr column or flux and flux_err")
    sources = np.rec.fromarrays([column("x"), column("y"), flux, snr], names="x,y,flux,snr")
    flags = [name for name in names if name.endswith("_flag")]
    if flags:
        flagged = np.column_stack([np.asarray(catalog[name], dtype=bool) for name in flags])
        sources = sources[~flagged.any(axis=1)]
    return sources


def _inside(bbox, sources, margin):
    x, y = sources["x"], sources["y"]
    return ((x >= bbox.x0 + margin) & (x <= bbox.x_end - 1 - margin)
            & (y >= bbox.y0 + margin) & (y <= bbox.y_end - 1 - margin))


def clear_of_masks(sources, exposures, planes, radius):
    """True for sources with none of ``planes`` set within ``radius`` px in any exposure.

    Only the square windows around the sources are read, not the whole mask.
    """
    clear = np.ones(len(sources), bool)
    half = int(np.ceil(radius))
    offsets = np.arange(-half, half + 1)
    for exposure in exposures:
        known = [name for name in planes if name in exposure.mask.planes]
        if not known or not len(sources):
            continue
        bbox = exposure.bbox
        rows = np.rint(np.asarray(sources["y"])).astype(int) - bbox.y0
        cols = np.rint(np.asarray(sources["x"])).astype(int) - bbox.x0
        rows = np.clip(rows[:, None, None] + offsets[None, :, None], 0, bbox.height - 1)
        cols = np.clip(cols[:, None, None] + offsets[None, None, :], 0, bbox.width - 1)
        bits = exposure.mask.array[rows, cols] & np.uint32(exposure.mask.bitmask(known))
        clear &= ~bits.any(axis=(1, 2))
    return clear
