"""`MakeCoaddTask` and `MakeCalexpCoaddTask`: calexps warped onto skymap patches and combined.

The two tasks share one machinery: inputs are checked, calibrated to
``coaddZeroPoint``, weighted and selected by `MakeCoaddTask.prepare_inputs`,
then every patch is made by `MakeCoaddTask.assemble`. A one-calexp coadd
(the proposal of the community thread: "turn my calexp into a coadd" so that
calexp templates take the coadd-template path) is simply that machinery run
with one input on every patch the calexp touches.
"""
from __future__ import annotations

import math

import lsst.pex.config as pexConfig
import numpy as np
import pandas as pd

from ..task import Struct, Task
from ..warp.warper import Warper, WarperConfig
from .errors import CoaddError, CoaddInputError, NoCoaddInputsError
from .inputs import describe_input
from .patch import coadd_patch, resolve_patches
from .select import COADD_SELECTORS, select_inputs

__all__ = ["INPUT_COLUMNS", "MakeCalexpCoaddConfig", "MakeCalexpCoaddTask", "MakeCoaddConfig",
           "MakeCoaddTask"]

STATISTICS = ("MEAN", "MEANCLIP")

INPUT_COLUMNS = ("tract", "patch", "input", "visit", "detector", "weight", "weight_fraction",
                 "psf_fwhm", "zero_point", "scale", "n_pixels")
"""Columns of the ``inputs`` table a run returns (see `MakeCoaddTask.run`)."""


class MakeCoaddConfig(pexConfig.Config):
    """Configuration of `MakeCoaddTask` (stack field names where the stack has them)."""

    coaddName = pexConfig.Field(
        dtype=str, default="deep",
        doc="Coadd flavour: selects the inputs (see diffim.coadd.select): 'deep' takes every "
            "calexp, 'goodSeeing' the sharpest; others may be registered.")
    statistic = pexConfig.Field(
        dtype=str, default="MEAN",
        doc="Per-pixel combination: 'MEAN' (weighted mean) or 'MEANCLIP' (weighted mean "
            "after rejecting outliers).")
    clipSigma = pexConfig.Field(dtype=float, default=3.0,
                                doc="MEANCLIP rejection threshold (sigma).")
    clipIter = pexConfig.Field(dtype=int, default=2, doc="MEANCLIP rejection iterations.")
    maxPsfFwhm = pexConfig.Field(
        dtype=float, default=None, optional=True,
        doc="goodSeeing: keep inputs whose PSF FWHM at their centre is at most this (arcsec); "
            "when unset, goodSeeingFraction decides.")
    goodSeeingFraction = pexConfig.Field(
        dtype=float, default=0.5,
        doc="goodSeeing without maxPsfFwhm: keep this fraction of the inputs, sharpest first.")
    warp = pexConfig.ConfigField(dtype=WarperConfig, doc="How each calexp is warped to a patch.")
    badMaskPlanes = pexConfig.ListField(
        dtype=str, default=["NO_DATA", "BAD", "EDGE"],
        doc="An input pixel with any of these planes does not enter the combination. SAT is "
            "not here: saturated cores are kept and flagged SAT in the coadd.")
    coaddZeroPoint = pexConfig.Field(
        dtype=float, default=27.0,
        doc="AB magnitude of one coadd count: each input is scaled by "
            "10**((coaddZeroPoint - zero_point) / 2.5).")
    coaddPsfGridSize = pexConfig.Field(
        dtype=int, default=5, doc="Nodes per axis of the coadd PSF grid over a patch.")

    def validate(self):
        super().validate()
        if self.coaddName not in COADD_SELECTORS:
            raise CoaddError(f"unknown coaddName {self.coaddName!r}; known: "
                             f"{', '.join(sorted(COADD_SELECTORS))}")
        if self.statistic not in STATISTICS:
            raise CoaddError(f"unknown statistic {self.statistic!r}; known: "
                             f"{', '.join(STATISTICS)}")
        if not self.clipSigma > 0.0 or self.clipIter < 1:
            raise CoaddError("MakeCoaddConfig clipSigma must be > 0 and clipIter >= 1")
        if not 0.0 < self.goodSeeingFraction <= 1.0:
            raise CoaddError(f"MakeCoaddConfig goodSeeingFraction must be in (0, 1], got "
                             f"{self.goodSeeingFraction}")
        if self.maxPsfFwhm is not None and not self.maxPsfFwhm > 0.0:
            raise CoaddError(f"MakeCoaddConfig maxPsfFwhm must be > 0, got {self.maxPsfFwhm}")
        if self.coaddPsfGridSize < 1:
            raise CoaddError("MakeCoaddConfig coaddPsfGridSize must be >= 1")
        if not math.isfinite(self.coaddZeroPoint):
            raise CoaddError("MakeCoaddConfig coaddZeroPoint must be finite")


class MakeCoaddTask(Task):
    """Warp calexps onto skymap patches and combine them into coadds.

    Parameters
    ----------
    config : `MakeCoaddConfig`, optional
    threads : `int`, optional
        OpenMP threads of the warps; the OpenMP default when omitted.
    **kwargs
        ``name``, ``parentTask`` as for `diffim.task.Task`.

    Notes
    -----
    **Calibration.** Input ``i`` with zero point ``z_i`` is multiplied by
    ``s_i = 10**((coaddZeroPoint - z_i) / 2.5)`` (variance by ``s_i**2``),
    so a star of magnitude ``m`` has ``10**((coaddZeroPoint - m) / 2.5)``
    counts in the coadd, whose `PhotoCalib` zero point is ``coaddZeroPoint``.

    **Weights.** One weight per input, ``w_i = 1 / (s_i**2 median(V_i))``
    over its usable pixels (the stack's per-warp ``1 / mean variance``
    weighting, taken from the calexp rather than each warp so an input
    weighs the same in every patch and no seam can follow a patch edge).
    Per-pixel inverse-variance weights would follow the source photon noise
    of each input and break the coadd PSF (see `diffim.coadd.combine`).

    **Combination** (``statistic``): ``MEAN`` is the weighted mean over the
    inputs usable at a pixel (warped data, none of ``badMaskPlanes``, finite);
    variance ``sum w_i^2 V_i / (sum w_i)^2``. ``MEANCLIP`` first rejects
    outliers (see `diffim.coadd.combine.combine_clipped_mean`) and flags
    CLIPPED where it did. The variance plane is right pixel by pixel but,
    like every warped image's, omits the covariance the Lanczos kernel puts
    between neighbours (`diffim.warp.warp_exposure`): sums over many pixels
    have up to ``1 / 0.617`` more variance than the plane says.

    **Mask.** OR of the masks of the inputs that contributed each pixel
    (SAT therefore flags a saturated core that entered). Where no input
    contributed: NO_DATA only, image NaN and variance +inf, the
    convention of `diffim.warp.warp_exposure`, so that a coadd warped again
    (onto a science detector) grows NO_DATA by the kernel footprint rather
    than mixing fill values into the template; the subtraction masks
    NO_DATA and never reads those values.

    **PSF.** `diffim.coadd.coadd_psf.coadd_psf`: the weighted sum of the
    warped input PSFs over the inputs covering each of
    ``coaddPsfGridSize**2`` nodes, as an `InterpolatedPsf`.
    """

    ConfigClass = MakeCoaddConfig
    _DefaultName = "makeCoadd"

    def __init__(self, config=None, *, threads=None, **kwargs):
        super().__init__(config, **kwargs)
        self.warper = Warper(self.config.warp, threads=threads)
        self.threads = threads

    def run(self, calexps, skymap, tract_id, patches=None):
        """Coadd the selected calexps on patches of one tract.

        Parameters
        ----------
        calexps : `list` [`diffim.exposure.Exposure`]
            Calibrated exposures with PSF, WCS and PhotoCalib; metadata keys
            ``visit`` and ``detector``, when present, are recorded.
        skymap : `diffim.sky.skymap.SkyMap`
        tract_id : `int`
        patches : optional
            A patch (sequential index, ``(x, y)`` index or `PatchInfo`) or a
            list of them; every patch of the tract that a selected calexp
            overlaps when omitted.

        Returns
        -------
        result : `diffim.task.Struct`
            ``coadds``: `dict` ``(tract, patch sequential index) -> Exposure``
            on the patch's outer box with the tract WCS;
            ``inputs``: `pandas.DataFrame`, one row per contributing
            (patch, calexp) with the columns `INPUT_COLUMNS` (``psf_fwhm``
            in arcsec, ``weight_fraction`` the input's share of the patch's
            total weight, ``n_pixels`` the pixels it contributed);
            ``selected``: indices of the calexps the ``coaddName`` admitted;
            ``psfFwhm``: every calexp's PSF FWHM (arcsec).

        Raises
        ------
        CoaddInputError
            An input lacks a PSF, WCS or PhotoCalib, has no usable pixel, or
            the inputs span several bands.
        NoCoaddInputsError
            No selected calexp contributes to a requested patch, or none
            was selected.
        """
        tract = skymap[tract_id]
        inputs, psf_fwhm = self.prepare_inputs(calexps)
        if patches is None:
            patch_list = [patch for patch in tract.patches()
                          if any(not tract.patch_sky_polygon(patch).isDisjointFrom(item.polygon)
                                 for item in inputs)]
            if not patch_list:
                raise NoCoaddInputsError(f"no selected calexp overlaps tract {tract.tract_id}")
        else:
            patch_list = resolve_patches(tract, patches)
        coadds, rows = self.assemble(inputs, tract, patch_list, require_all=True)
        return Struct(coadds=coadds, inputs=pd.DataFrame(rows, columns=list(INPUT_COLUMNS)),
                      selected=[item.index for item in inputs], psfFwhm=psf_fwhm)

    def prepare_inputs(self, calexps):
        """Check, calibrate, weigh and select the calexps.

        Returns
        -------
        inputs : `list` [`diffim.coadd.inputs.CoaddInput`]
            The selected inputs, in input order.
        psf_fwhm : `numpy.ndarray`
            Every calexp's PSF FWHM at its centre (arcsec).

        Raises
        ------
        CoaddInputError, NoCoaddInputsError
            As for `run`.
        """
        if len(calexps) == 0:
            raise NoCoaddInputsError("no calexps given to coadd")
        candidates = [describe_input(index, calexp, self.config)
                      for index, calexp in enumerate(calexps)]
        bands = {item.exposure.visit_info.band for item in candidates} - {""}
        if len(bands) > 1:
            raise CoaddInputError(f"coadd inputs span several bands: {', '.join(sorted(bands))}")
        psf_fwhm = np.array([item.psf_fwhm for item in candidates])
        chosen = select_inputs(self.config.coaddName, psf_fwhm, self.config)
        if len(chosen) == 0:
            raise NoCoaddInputsError(f"coaddName {self.config.coaddName!r} selected none of "
                                     f"{len(calexps)} calexps (PSF FWHM "
                                     f"{np.round(psf_fwhm, 3).tolist()} arcsec)")
        self.metadata.update(nInputs=len(calexps), nSelected=len(chosen))
        return [candidates[i] for i in chosen], psf_fwhm

    def assemble(self, inputs, tract, patches, require_all):
        """Coadd prepared inputs on patches of one tract.

        Parameters
        ----------
        inputs : `list` [`diffim.coadd.inputs.CoaddInput`]
            From `prepare_inputs`.
        tract : `diffim.sky.skymap.TractInfo`
        patches : `list` [`diffim.sky.skymap.PatchInfo`]
        require_all : `bool`
            Raise `NoCoaddInputsError` for a patch no input contributes to;
            otherwise leave it out.

        Returns
        -------
        coadds : `dict` [`tuple`, `diffim.exposure.Exposure`]
        rows : `list` [`dict`]
            Rows of the ``inputs`` table.
        """
        coadds, rows = {}, []
        for patch in patches:
            key = (tract.tract_id, patch.sequential_index)
            made = coadd_patch(self.warper, inputs, tract, patch, self.config, self.threads)
            if made is None:
                if require_all:
                    raise NoCoaddInputsError(
                        f"no selected calexp ({', '.join(item.label for item in inputs)}) "
                        f"overlaps tract {key[0]} patch {key[1]} {patch.index}")
                continue
            coadds[key], patch_rows = made
            rows.extend(patch_rows)
        return coadds, rows


class MakeCalexpCoaddConfig(MakeCoaddConfig):
    """Configuration of `MakeCalexpCoaddTask`: `MakeCoaddConfig` named ``calexp``."""

    def setDefaults(self):
        super().setDefaults()
        self.coaddName = "calexp"


class MakeCalexpCoaddTask(MakeCoaddTask):
    """Turn one calexp into a one-input coadd on every skymap patch it touches.

    The patches then serve as a coadd template exactly like a deep coadd's,
    so a calexp-calexp subtraction needs no separate template path. Pixels
    are the warped calexp times ``10**((coaddZeroPoint - zero_point) / 2.5)``
    (NO_DATA where it does not reach or has a ``badMaskPlanes`` bit), the
    PSF is its warped PSF, the variance its warped variance scaled alike.
    """

    ConfigClass = MakeCalexpCoaddConfig
    _DefaultName = "makeCalexpCoadd"

    def run(self, calexp, skymap):
        """Make the one-calexp coadd of every patch ``calexp`` touches, in every tract.

        Parameters
        ----------
        calexp : `diffim.exposure.Exposure`
        skymap : `diffim.sky.skymap.SkyMap`

        Returns
        -------
        result : `diffim.task.Struct`
            As `MakeCoaddTask.run`; patches reached only by less than a
            kernel footprint are left out.

        Raises
        ------
        CoaddInputError
            The calexp lacks a PSF, WCS or PhotoCalib, or has no usable pixel.
        NoCoaddInputsError
            It lies on no patch of the skymap.
        """
        inputs, psf_fwhm = self.prepare_inputs([calexp])
        coadds, rows = {}, []
        for tract, patches in skymap.find_tract_patch_list(inputs[0].polygon):
            tract_coadds, tract_rows = self.assemble(inputs, tract, patches, require_all=False)
            coadds.update(tract_coadds)
            rows.extend(tract_rows)
        if not coadds:
            raise NoCoaddInputsError(f"{inputs[0].label} lies on no patch of the skymap")
        return Struct(coadds=coadds, inputs=pd.DataFrame(rows, columns=list(INPUT_COLUMNS)),
                      selected=[0], psfFwhm=psf_fwhm)
