"""Fit a spatially varying PSF-matching kernel: the middleware-free entry point.

The loop follows the stack's ``PsfMatchTask._solve``: single-kernel fits on
every candidate stamp, residual cuts, kernel-sum clipping, optional PCA of the
single kernels, the spatial fit, and its assessment at each candidate,
repeated up to ``maxSpatialIterations`` times, then a final refit.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from ..image.stats import clipped_mean_std
from ..table import column_names
from ..task import single_threaded_blas
from .basis import KernelBasis, make_basis, regularization_matrix
from .candidates import BAD, GOOD, check_planes, cut_stamps, reason_counts, select_per_cell
from .config import PsfMatchConfig
from .errors import NoKernelCandidatesError, PsfMatchInputError
from .factored import FactoredSpatialSystem
from .kernel import SpatialBackground, SpatialKernel
from .solve import (
    SpatialLayout,
    StampSystems,
    build_stamp_systems,
    residual_statistics,
    solve_systems,
)
from .spatial import SpatialFunction

__all__ = ["MAX_SPATIAL_LEVERAGE", "PsfMatchResult", "fit_psf_matching_kernel",
           "spatial_leverage", "stamp_half_width"]

MAX_SPATIAL_LEVERAGE = 100.0
"""Highest `spatial_leverage` of the kernel's spatial order: its kernel is nowhere more than
10 times as noisy (std) as one candidate's. Six DECam stars, two of them 12 px apart, made a
quadratic kernel with leverage 8e3-1e7 that Akaike's criterion kept (each star's own kernel,
interpolated): at the image centre its negative lobes were 0.82-0.98 of its positive sum,
and the subtraction kept 0.23-0.67 of the stars' signal (tests/data/README.md, eighth pass).
The orders kept elsewhere have at most 46 (the validation campaign's constant and linear
kernels from 4-27 sources; DECam's planes 3-10, NIRCam's quadratic from 45 sources 5.4,
simulated 1024 px pairs 0.04-1)."""

_LEVERAGE_GRID = 17
"""Grid positions per side of the domain where `spatial_leverage` looks for its largest value."""

_SINGULAR = 1e-10
"""Design matrices with a smaller singular-value ratio do not determine their terms."""


@dataclass
class PsfMatchResult:
    """What `fit_psf_matching_kernel` returns.

    Attributes
    ----------
    kernel : `SpatialKernel`
        Maps the template onto the science image: ``S ~ K (x) T + background``.
    background : `SpatialBackground`
        Differential background (zero unless ``fitForBackground``).
    candidates : `numpy.recarray`
        One row per input candidate: ``id, x, y, flux, cell_x, cell_y, status,
        reason, kernel_sum, residual_mean, residual_std, n_pixels,
        pseudo_inverse, background, used, spatial_kernel_sum,
        spatial_residual_mean, spatial_residual_std``
        (``pandas.DataFrame(candidates)`` for a DataFrame).
    metadata : `dict`
        Counts, basis description, iterations, kernel sum at the centre.
    config : `PsfMatchConfig`
    local_coefficients : `numpy.ndarray`
        ``(n_candidates, n_basis [+ 1])``: each candidate's single-kernel
        solution on ``kernel.basis`` (then its background when fitted); NaN
        rows for candidates that had no stamp. For kernel QA metrics.
    """

    kernel: SpatialKernel
    background: SpatialBackground
    candidates: np.recarray
    metadata: dict = field(default_factory=dict)
    config: PsfMatchConfig = None
    local_coefficients: np.ndarray = None


def fit_psf_matching_kernel(template, science, candidates, config=None, *, fluxes=None,
                            template_fwhm=None, science_fwhm=None, spatial_domain=None,
                            **overrides):
    """Fit the kernel ``K`` with ``science ~ K (x) template + background``.

    Parameters
    ----------
    template : `Exposure`
        The image to be convolved (the narrower PSF, normally).
    science : `Exposure`
        The image to match, on the same pixel grid (same bbox).
    candidates : array-like, `pandas.DataFrame` or record array
        Kernel source positions: ``(n, 2)`` parent ``(x, y)``, or a table with
        columns ``x``, ``y`` and optionally ``flux`` (ranking within cells).
    config : `PsfMatchConfig`, optional
        Defaults to the stack's; ``overrides`` (stack field names such as
        ``kernelSize=25``, ``spatialKernelOrder=1``) are applied on top.
    fluxes : array-like, optional
        Ranking fluxes if ``candidates`` is an array.
    template_fwhm, science_fwhm : `float`, optional
        PSF FWHMs in pixels, used to size the Alard-Lupton basis; taken from
        the exposures' PSFs at the image centre when omitted and available.
    spatial_domain : `Box`, optional
        Box mapped onto ``[-1, 1]^2`` by the spatial functions; the template's
        bbox by default (the stack's ``SpatialCellSet`` box), so the kernel
        is never extrapolated inside the image.

    Returns
    -------
    result : `PsfMatchResult`

    Raises
    ------
    PsfMatchInputError
        Images on different grids, or NaN/inf pixels not flagged bad.
    NoKernelCandidatesError
        No candidate survives the cuts (the message counts each reason).
    SingularSystemError
        The spatial system cannot be solved.
    """
    config = (config or PsfMatchConfig()).replace(**overrides)
    # The small dense solves go through BLAS/LAPACK, whose last bits depend on
    # their thread count; one thread makes every run (and middleware) agree.
    with single_threaded_blas():
        return _fit(template, science, candidates, config, fluxes, template_fwhm, science_fwhm,
                    spatial_domain)


def _fit(template, science, candidates, config, fluxes, template_fwhm, science_fwhm,
         spatial_domain):
    if template.bbox != science.bbox:
        raise PsfMatchInputError(
            f"template {template.bbox} and science {science.bbox} are not on the same pixel grid")
    check_planes(template, "template", config.badMaskPlanes)
    check_planes(science, "science", config.badMaskPlanes)
    positions, fluxes = _positions(candidates, fluxes)
    centre = template.bbox.center
    if template_fwhm is None and template.psf is not None:
        template_fwhm = float(template.psf.computeFwhm(*centre))
    if science_fwhm is None and science.psf is not None:
        science_fwhm = float(science.psf.computeFwhm(*centre))

    basis = make_basis(config, template_fwhm, science_fwhm, min(template.bbox.shape))
    stamps = cut_stamps(template, science, positions, fluxes, basis.size, config,
                        stamp_half_width(basis, config, template_fwhm, science_fwhm))
    regularization = None
    if config.kernelBasisSet == "delta-function" and config.useRegularization:
        regularization = regularization_matrix(basis.size, config)
    systems = build_stamp_systems(basis, stamps.template, stamps.science, stamps.variance,
                                  config.fitForBackground, config.constantVarianceWeighting)
    if regularization is not None:
        kernel_block = systems.matrix[:, :len(basis), :len(basis)]
        scale = config.lambdaValue
        if config.lambdaType == "relative":
            scale *= np.trace(kernel_block, axis1=1, axis2=2)[:, None, None] / np.trace(
                regularization)
        kernel_block += scale * regularization

    table = stamps.table
    rows = stamps.rows
    local, pseudo = solve_systems(systems.matrix, systems.vector)
    local_stats = residual_statistics(systems, np.nan_to_num(local))
    kernel_sums = local[:, :len(basis)] @ basis.images.sum(axis=(1, 2))
    _store(table, rows, kernel_sum=kernel_sums, residual_mean=local_stats[:, 0],
           residual_std=local_stats[:, 1], n_pixels=local_stats[:, 2], pseudo_inverse=pseudo,
           background=local[:, len(basis)] if config.fitForBackground else 0.0)
    _reject(table, rows, ~np.isfinite(local).all(axis=1), "singular single-kernel system")
    if config.singleKernelClipping:
        _reject(table, rows, _residual_fails(local_stats, config), "single-kernel residuals")

    domain = spatial_domain or template.bbox
    kernel_spatial = SpatialFunction(config.spatialModelType, config.spatialKernelOrder, domain)
    background_spatial = SpatialFunction(config.spatialModelType, config.spatialBgOrder, domain)
    index = np.full(len(table), -1)
    index[rows] = np.arange(len(rows))

    metadata = {"basis": basis.name, "kernelSize": basis.size, "nBasis": len(basis),
                "templateFwhm": template_fwhm, "scienceFwhm": science_fwhm,
                "nCandidates": len(table)}
    for iteration in range(1, config.maxSpatialIterations + 1):
        used = _clip_kernel_sums(table, config)
        fit = _spatial_fit(table, used, index, systems, basis, config, kernel_spatial,
                           background_spatial)
        metadata["nIterations"] = iteration
        if not config.spatialKernelClipping:
            break
        stats = fit["stats"]
        failed = np.zeros(len(table), bool)
        failed[used] = _residual_fails(stats, config)
        if not failed.any():
            break
        _reject(table, np.flatnonzero(used), failed[used], "spatial-kernel residuals")
    else:
        used = _clip_kernel_sums(table, config)
        fit = _spatial_fit(table, used, index, systems, basis, config, kernel_spatial,
                           background_spatial)

    table["used"] = used
    table["spatial_kernel_sum"][used] = fit["kernel_sum"]
    table["spatial_residual_mean"][used] = fit["stats"][:, 0]
    table["spatial_residual_std"][used] = fit["stats"][:, 1]
    kernel = SpatialKernel(fit["basis"], fit["kernel_spatial"], fit["kernel_coefficients"])
    background = SpatialBackground(fit["background_spatial"], fit["background_coefficients"])
    metadata.update({
        "nGood": int((table["status"] == GOOD).sum()), "nUsed": int(used.sum()),
        "spatialPseudoInverse": fit["pseudo_inverse"],
        "kernelSumCentre": float(kernel.kernel_sum(*domain.center)),
        "spatialKernelOrderUsed": kernel.spatial.order,
        "spatialKernelLeverage": spatial_leverage(kernel.spatial, table["x"][used],
                                                  table["y"][used]),
        "spatialBgOrderUsed": background.spatial.order,
        "nUnknowns": fit["n_unknowns"]})
    local_coefficients = np.full((len(table), local.shape[1]), np.nan)
    local_coefficients[rows] = local
    return PsfMatchResult(kernel, background, table, metadata, config, local_coefficients)


def stamp_half_width(basis, config, template_fwhm, science_fwhm):
    """Half-width of the candidate stamps: the fit region's plus the kernel's.

    The fit region reaches ``stampFwhmScaling`` FWHMs of the wider PSF from the
    candidate, and at least the stack's stamp (half-width one kernel size).
    """
    if template_fwhm is None or science_fwhm is None:
        return basis.size
    wings = math.ceil(config.stampFwhmScaling * max(template_fwhm, science_fwhm))
    return max(basis.size, basis.half_width + wings)


def _positions(candidates, fluxes):
    names = column_names(candidates)
    if names is not None:
        if fluxes is None and "flux" in names:
            fluxes = np.asarray(candidates["flux"], dtype=float)
        candidates = np.column_stack([np.asarray(candidates[name], dtype=float)
                                      for name in ("x", "y")])
    positions = np.asarray(candidates, dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 2:
        raise PsfMatchInputError(f"candidate positions must be (n, 2), got {positions.shape}")
    if fluxes is not None and len(fluxes) != len(positions):
        raise PsfMatchInputError(f"{len(fluxes)} fluxes for {len(positions)} candidates")
    return positions, fluxes


def _store(table, rows, **columns):
    for name, values in columns.items():
        table[name][rows] = values


def _reject(table, rows, failed, reason):
    """Mark ``rows[failed]`` BAD with ``reason`` unless already BAD."""
    failed_rows = np.asarray(rows)[np.asarray(failed, bool)]
    failed_rows = failed_rows[table["status"][failed_rows] == GOOD]
    table["status"][failed_rows] = BAD
    table["reason"][failed_rows] = reason


def _residual_fails(stats, config):
    return ((np.abs(stats[:, 0]) > config.candidateResidualMeanMax)
            | ~(stats[:, 1] <= config.candidateResidualStdMax))


def _clip_kernel_sums(table, config):
    """Select the candidates of each cell, clipping kernel-sum outliers until none is left."""
    while True:
        good = table["status"] == GOOD
        used = select_per_cell(table, good, config.nStarPerCell)
        if not used.any():
            raise NoKernelCandidatesError(
                f"no kernel candidates left of {len(table)}: " + ", ".join(
                    f"{count} rejected for {reason}" for reason, count in reason_counts(table)))
        if not config.kernelSumClipping or used.sum() < 3:
            return used
        sums = table["kernel_sum"][used]
        mean, std = clipped_mean_std(sums)
        outliers = np.abs(sums - mean) > config.maxKsumSigma * std
        if not outliers.any():
            return used
        _reject(table, np.flatnonzero(used), outliers,
                f"kernel sum outside {config.maxKsumSigma} sigma")


def _spatial_fit(table, used, index, systems, basis, config, kernel_spatial,
                 background_spatial):
    """Spatial solution from the ``used`` candidates, assessed at each of them.

    The kernel's spatial order is the highest the candidates call for. An
    order they do not constrain everywhere in the image (`spatial_leverage`
    above `MAX_SPATIAL_LEVERAGE`: fewer candidates than its spatial terms, as
    on a cutout with a handful of stars, or as many with two close together)
    is lowered to the highest they constrain; then, down to a constant kernel, each
    order is kept only if the fit one order lower leaves a chi^2 larger by
    more than twice the unknowns it drops (Akaike's criterion). Six faint
    candidates for the six terms of a quadratic kernel otherwise fit their
    own noise into its shape, which amplifies the template's noise at them (a
    512 px pair with sky: residual ratio in their footprints 1.27, a bad
    subtraction; constant, 0.10); bright stars whose kernel does vary keep
    their order. The result says which order was used. The background keeps
    its order: its terms only absorb each stamp's sky offset (an
    underdetermined background is solved by pseudo-inverse), and lowered it
    leaves those offsets in the residuals, which then reject good candidates
    (3 of 5 left, kernel sum 0.869 for 0.93 on a 256 px calexp pair).
    """
    stamps = _UsedStamps.gather(table, used, index, systems, basis, config)
    kernel_spatial = _supported(kernel_spatial, stamps.x, stamps.y)
    factored = None
    if stamps.matrices_in_place:
        factored = FactoredSpatialSystem(
            _layout(stamps, config, kernel_spatial, background_spatial),
            stamps.systems.matrix, stamps.systems.vector, stamps.x, stamps.y,
            stamps.systems.rows)
    fit = _spatial_fit_of_order(stamps, basis, config, kernel_spatial, background_spatial,
                                factored)
    while kernel_spatial.order > 0:
        lower = _with_order(kernel_spatial, kernel_spatial.order - 1)
        lower_fit = _spatial_fit_of_order(stamps, basis, config, lower, background_spatial,
                                          factored)
        dropped = fit["n_unknowns"] - lower_fit["n_unknowns"]
        if _chi2(lower_fit["stats"]) - _chi2(fit["stats"]) > 2 * dropped:
            break
        kernel_spatial, fit = lower, lower_fit
    return fit


def _chi2(stats):
    """Sum of squared ``residual / sigma`` over the stamps of `residual_statistics` rows
    (mean, sample standard deviation, pixel count)."""
    count = stats[:, 2]
    return float(((count - 1.0) * stats[:, 1] ** 2 + count * stats[:, 0] ** 2).sum())


@dataclass
class _UsedStamps:
    """The used candidates' stamps as every spatial order's fit takes them.

    Attributes
    ----------
    x, y : `numpy.ndarray`
        Candidate positions.
    systems : `StampSystems`
        Their columns, targets and weights in the separable basis, and their
        normal equations in ``fit_basis``.
    fit_basis : `KernelBasis`
        The basis of the spatial fit: the separable one, or its PCA
        recombination.
    recombination : `numpy.ndarray` or `None`
        ``(n_basis, n_pca)`` from the separable basis to ``fit_basis`` when
        ``usePcaForSpatialKernel``.
    extended : `numpy.ndarray` or `None`
        ``recombination`` acting on (basis, background) coefficient vectors.
    matrices_in_place : `bool`
        True when ``systems.matrix`` and ``systems.vector`` are every stamp's and the
        used candidates' are those at ``systems.rows`` (a delta-function basis: its
        matrices, 1.6 MB a stamp for a 21 px kernel, are read in place by
        `FactoredSpatialSystem`); False when they are the used candidates' own, gathered.
    """

    x: np.ndarray
    y: np.ndarray
    systems: StampSystems
    fit_basis: KernelBasis
    recombination: np.ndarray = None
    extended: np.ndarray = None
    matrices_in_place: bool = False

    @classmethod
    def gather(cls, table, used, index, systems, basis, config):
        """The ``used`` rows of ``table`` and their stamps in ``systems``."""
        stamp_index = index[used]
        x, y = table["x"][used], table["y"][used]
        if basis.name == "delta-function" and not config.usePcaForSpatialKernel:
            return cls(x, y, dataclasses.replace(systems, rows=stamp_index), basis,
                       matrices_in_place=True)
        matrix, vector = systems.matrix[stamp_index], systems.vector[stamp_index]
        fit_basis, recombination, extended = basis, None, None
        if config.usePcaForSpatialKernel:
            recombination = _pca_recombination(matrix, vector, basis, config)
            fit_basis = basis.recombined(recombination, "pca")
            extended = _extended(recombination, config.fitForBackground)
            matrix = extended.T @ matrix @ extended
            vector = vector @ extended
        # The pixel arrays shared, not copied: their columns are ~180 MB at 4k.
        selected = dataclasses.replace(systems, matrix=matrix, vector=vector, rows=stamp_index)
        return cls(x, y, selected, fit_basis, recombination, extended)


def _spatial_fit_of_order(stamps, basis, config, kernel_spatial, background_spatial,
                          factored=None):
    """`_spatial_fit` with the kernel's spatial terms ``kernel_spatial``; solved from
    ``factored`` (a `FactoredSpatialSystem` of a higher or the same order) when given."""
    x, y, recombination = stamps.x, stamps.y, stamps.recombination
    layout = _layout(stamps, config, kernel_spatial, background_spatial)
    if factored is None:
        theta, pseudo = layout.solve(stamps.systems.matrix, stamps.systems.vector, x, y)
    else:
        theta, pseudo = factored.solve(layout)
    coefficients = layout.coefficients_at(theta, x, y)
    kernel_coefficients = layout.kernel_coefficients(theta)
    if recombination is not None:
        # Back to the separable basis: the PCA basis is a fixed recombination of it.
        coefficients = coefficients @ stamps.extended.T
        kernel_coefficients = recombination @ kernel_coefficients
    stats = residual_statistics(stamps.systems, coefficients)
    return {"basis": basis, "kernel_coefficients": kernel_coefficients,
            "background_coefficients": layout.background_coefficients(theta),
            "stats": stats, "pseudo_inverse": pseudo, "n_unknowns": layout.n_unknowns,
            "kernel_spatial": kernel_spatial, "background_spatial": background_spatial,
            "kernel_sum": coefficients[:, :len(basis)] @ basis.images.sum(axis=(1, 2))}


def _layout(stamps, config, kernel_spatial, background_spatial):
    """The `SpatialLayout` of ``stamps``' fit basis with these spatial terms."""
    return SpatialLayout(len(stamps.fit_basis), stamps.fit_basis.constant_first_term,
                         config.fitForBackground, kernel_spatial, background_spatial)


def _supported(spatial, x, y):
    """``spatial`` with its order lowered until the candidates at ``(x, y)`` constrain it
    everywhere in its domain: `spatial_leverage` at most `MAX_SPATIAL_LEVERAGE`."""
    while spatial.order > 0 and not spatial_leverage(spatial, x, y) <= MAX_SPATIAL_LEVERAGE:
        spatial = _with_order(spatial, spatial.order - 1)
    return spatial


def spatial_leverage(spatial, x, y):
    """Largest variance, over the domain, of a spatial fit through candidates at ``(x, y)``.

    In units of one candidate's: the largest ``f(z)^T (F^T F)^-1 f(z)`` over a
    grid of `_LEVERAGE_GRID` x `_LEVERAGE_GRID` positions ``z`` spanning the
    domain (its corners included), ``F`` the spatial terms at the candidates
    and ``f(z)`` at ``z`` (the leverage of least squares). ``1 / n`` for a
    constant; infinite when the candidates cannot determine the terms (fewer
    candidates than terms, or on a line for a linear model). It does not
    depend on the terms' type (Chebyshev or plain), which span one space.
    """
    design = spatial.terms(x, y)
    if design.shape[0] < design.shape[1]:
        return np.inf
    _, singular, right = np.linalg.svd(design, full_matrices=False)
    if not singular[-1] > _SINGULAR * singular[0]:
        return np.inf
    domain = spatial.domain
    grid_x, grid_y = np.meshgrid(np.linspace(domain.x0, domain.x_end - 1, _LEVERAGE_GRID),
                                 np.linspace(domain.y0, domain.y_end - 1, _LEVERAGE_GRID))
    projected = (spatial.terms(grid_x.ravel(), grid_y.ravel()) @ right.T) / singular
    return float((projected ** 2).sum(axis=1).max())


def _with_order(spatial, order):
    """``spatial`` (a `SpatialFunction`) with spatial order ``order``."""
    return SpatialFunction(spatial.model_type, order, spatial.domain)


def _extended(recombination, fit_background):
    """The recombination acting on (basis, background) coefficient vectors."""
    n_basis, n_new = recombination.shape
    extra = 1 if fit_background else 0
    out = np.zeros((n_basis + extra, n_new + extra))
    out[:n_basis, :n_new] = recombination
    if extra:
        out[-1, -1] = 1.0
    return out


def _pca_recombination(matrix, vector, basis, config):
    """``(n_basis, 1 + n_components)``: mean normalised kernel, then principal components.

    PCA runs on the single-kernel coefficient vectors (the solutions of the
    used stamps' systems ``matrix``, ``vector``) divided by their kernel
    sums. Each normalised kernel has the same sum, so the components have
    zero sum and the mean carries it: the first PCA basis stays the only
    spatially constant one, as with the Alard-Lupton basis.
    """
    n_basis = len(basis)
    local, _ = solve_systems(matrix, vector)
    sums = local[:, :n_basis] @ basis.images.sum(axis=(1, 2))
    normalised = local[:, :n_basis] / sums[:, None]
    mean = normalised.mean(axis=0)
    _, _, components = np.linalg.svd(normalised - mean, full_matrices=False)
    n_components = min(config.numPrincipalComponents, components.shape[0])
    return np.column_stack([mean, components[:n_components].T])
