"""`MakeKernelTask`: the pex_config face of the PSF-matching kernel fit.

The config reads as the stack's, so override files keep their meaning::

    config.makeKernel.kernel.name = "AL"            # or "DF" (delta-function basis)
    config.makeKernel.kernel.active.spatialKernelOrder = 1
    config.makeKernel.kernel.active.kernelSizeMin = 25

Each ``PsfMatchConfigAL``/``PsfMatchConfigDF`` field maps one to one onto
`diffim.psfmatch.PsfMatchConfig`, which the middleware-free core takes and
where each field's default and doc are declared.
"""
from __future__ import annotations

import dataclasses

import lsst.pex.config as pexConfig
import numpy as np

from ..task import Struct, Task
from . import PsfMatchConfig, fit_psf_matching_kernel
from .basis import alard_lupton_widths
from .config import field_default, field_doc
from .errors import NoKernelCandidatesError, SingularSystemError
from .fit import stamp_half_width
from .held_out import (MIN_HELD_OUT_GAIN, MIN_HELD_OUT_SOURCES, bright_held_out_sources,
                       choose_basis, excess_over_noise, held_out_chi2)
from .match_check import check_kernel_match, measure_kernel_match
from .psf_model import fit_psf_model_kernel

__all__ = ["MAX_TRIAL_SOURCES", "MakeKernelConfig", "MakeKernelTask", "PsfMatchConfigAL",
           "PsfMatchConfigDF", "TRIAL_MATRIX_BYTES", "to_psf_match_config", "trial_sources"]

MAX_TRIAL_SOURCES = 100
"""The delta-function kernel tried against the Alard-Lupton one is fitted on at most this
many kernel sources, every k-th of more (on all 320 of a 4096 px pair, forced, it took 224
CPU s and 6.4 GB). NIRCam's 97 (the pair that chooses it; 63 with whole stamps) are all
fitted, and must be: on every other one, the 2646 spatial unknowns of a quadratic 21 px
kernel fit their noise, it predicts the held-out sources only 1.12x better and the Gaussians'
kernel is kept (near-bright std 2.85 for 1.16)."""

TRIAL_MATRIX_BYTES = 160 * 2**20
"""...and on no more than keep their normal matrices within this: a row and a column per
kernel pixel, 1.6 MB a stamp for a 21 px kernel (100 stamps), 3.1 MB for 25 px (53)."""


def _pex_field(field):
    """A pex_config field with the type, default and doc of a `PsfMatchConfig` field."""
    default, doc = field_default(field), field_doc(field)
    if isinstance(default, list):
        return pexConfig.ListField(dtype=type(default[0]), default=default, doc=doc)
    return pexConfig.Field(dtype=type(default), default=default, doc=doc)


def _config_class(name, basis_set):
    fields = {f.name: _pex_field(f) for f in dataclasses.fields(PsfMatchConfig)}
    basis_doc = fields["kernelBasisSet"].doc
    fields["kernelBasisSet"] = pexConfig.ChoiceField(
        dtype=str, default=basis_set, allowed={basis_set: basis_doc}, doc=basis_doc)
    fields["__doc__"] = f"PSF-matching parameters, {basis_set} basis (stack field names)."
    return type(name, (pexConfig.Config,), fields)


PsfMatchConfigAL = _config_class("PsfMatchConfigAL", "alard-lupton")
PsfMatchConfigDF = _config_class("PsfMatchConfigDF", "delta-function")


def to_psf_match_config(pex_config):
    """The `PsfMatchConfig` of a ``PsfMatchConfigAL``/``DF`` instance."""
    values = pex_config.toDict()
    return PsfMatchConfig(**{f.name: values[f.name] for f in dataclasses.fields(PsfMatchConfig)})


class MakeKernelConfig(pexConfig.Config):
    """Configuration of `MakeKernelTask`."""

    kernel = pexConfig.ConfigChoiceField(
        doc="Kernel basis and fit parameters.",
        typemap={"AL": PsfMatchConfigAL, "DF": PsfMatchConfigDF},
        default="AL",
    )

    def setDefaults(self):
        # As the stack: always fit the differential background with the
        # kernel, whether or not the subtraction then removes it.
        self.kernel["AL"].fitForBackground = True
        self.kernel["DF"].fitForBackground = True
        # The delta-function basis (a free kernel pixel each) matches whatever
        # the fit region shows: cut at the kernel half-width, it misses the
        # science PSF's wings and the kernel sum comes out ~2 % low on Moffat
        # PSFs (-1.9 % -> -0.1 % on a 1024 px pair with sky).
        self.kernel["DF"].stampFwhmScaling = 3.0
        # A fourth, wide Gaussian (constant only) and a kernel of 4 of its
        # sigmas (25 px on the simulated pairs, where the stack's three
        # Gaussians make 21 px): the stack's basis cannot follow the Moffat
        # wings of the matching kernel and biases its sum low. 40 simulated
        # 1024 px pairs with sky, mean (without the two pairs at +1 % and
        # +4 %): -0.24 % -> -0.07 %; 35 px kernels do no better. Trimmed to
        # their own support (basis.py), the narrow Gaussians cost no more in
        # the wider kernel.
        self.kernel["AL"].alardNGauss = 4
        self.kernel["AL"].alardSigGauss = [0.7, 1.5, 3.0, 6.0]
        self.kernel["AL"].alardDegGauss = [4, 2, 2, 0]
        self.kernel["AL"].kernelSizeFwhmScaling = 4.0


class MakeKernelTask(Task):
    """Fit the spatially varying kernel that maps one exposure onto another."""

    ConfigClass = MakeKernelConfig
    _DefaultName = "makeKernel"

    def run(self, convolved, reference, sources):
        """Fit ``reference ~ K (x) convolved + background``.

        Parameters
        ----------
        convolved, reference : `diffim.Exposure`
            The image to convolve and the image to match, on one pixel grid.
        sources : `pandas.DataFrame` or record array
            Kernel-source positions ``x``, ``y`` and ranking ``flux``.

        Returns
        -------
        result : `Struct`
            ``psfMatchingKernel`` (`diffim.psfmatch.SpatialKernel`),
            ``backgroundModel`` (`diffim.psfmatch.SpatialBackground`),
            ``kernelCandidates`` (`numpy.recarray`, one row per source with
            its status and fit statistics), ``localKernelCoefficients``
            (`numpy.ndarray`, each candidate's single-kernel solution),
            ``metadata`` (`dict`).
        """
        fit = self._fit(convolved, reference, sources)
        self._check_match(convolved, reference, fit)
        return self._result(fit)

    def _fit(self, convolved, reference, sources):
        """The fit of the active basis, or of the basis that predicts held-out bright
        sources better (the AL config's ``doChooseBasis``); its metadata say which
        (``basis``) and why.

        The delta-function basis is fitted only when the Alard-Lupton kernel's
        held-out residuals exceed their noise by
        `diffim.psfmatch.held_out.MIN_HELD_OUT_GAIN` or more
        (``heldOutExcessAL``): otherwise no kernel could gain that much on them.
        """
        active = to_psf_match_config(self.config.kernel.active)
        fit = fit_psf_matching_kernel(convolved, reference, sources, active)
        if not (self.config.kernel.name == "AL" and active.doChooseBasis):
            return fit
        margin = fit.kernel.size // 2
        labels, n_sources = bright_held_out_sources(convolved, reference, active.badMaskPlanes,
                                                    _fit_boxes(fit), margin)
        excess = excess_over_noise(*held_out_chi2(convolved, reference, fit.kernel,
                                                  fit.background, labels, n_sources))
        fit.metadata.update(heldOutSources=n_sources, heldOutExcessAL=excess)
        if n_sources < MIN_HELD_OUT_SOURCES or excess < MIN_HELD_OUT_GAIN:
            return fit
        trial = to_psf_match_config(self.config.kernel["DF"])
        trial_size = alard_lupton_widths(fit.metadata["templateFwhm"],
                                         fit.metadata["scienceFwhm"], trial,
                                         min(convolved.bbox.shape))[1]
        try:
            other = fit_psf_matching_kernel(convolved, reference,
                                            trial_sources(sources, trial_size), trial)
        except (NoKernelCandidatesError, SingularSystemError):
            return fit
        labels, n_sources = bright_held_out_sources(
            convolved, reference, active.badMaskPlanes,
            np.concatenate([_fit_boxes(each) for each in (fit, other)]),
            max(margin, other.kernel.size // 2))
        chi2 = [held_out_chi2(convolved, reference, each.kernel, each.background, labels,
                              n_sources)[0] for each in (fit, other)]
        choice, statistics = choose_basis(*chi2)
        chosen = other if choice == other.kernel.basis.name else fit
        chosen.metadata.update(statistics, heldOutExcessAL=excess)
        return chosen

    def runPsfModel(self, convolved, reference, badMaskPlanes):
        """Kernel shape from the two PSF models; flux scale and background from the pixels.

        For cutouts with too few kernel sources (`diffim.psfmatch.psf_model`).
        Same result as `run`, with no candidates and
        ``metadata["kernelSource"] == "psf-model"``.
        """
        return self._result(fit_psf_model_kernel(
            convolved, reference, to_psf_match_config(self.config.kernel.active), badMaskPlanes))

    def _check_match(self, convolved, reference, fit):
        """Record `measure_kernel_match` at the used sources; raise when configured and off."""
        if convolved.psf is None or reference.psf is None:
            return
        used = fit.candidates["used"].astype(bool)
        active = fit.config
        match = measure_kernel_match(convolved, reference, fit.kernel, fit.candidates["x"][used],
                                     fit.candidates["y"][used], fit.candidates["flux"][used],
                                     widths=active.badKernelWidthThreshold > 0)
        for key, name in (("flux", "Flux"), ("width", "Width")):
            if match[f"{key}_sources"]:
                fit.metadata[f"kernel{name}Ratio"] = match[f"{key}_ratio"]
        if active.raiseOnBadKernelMatch:
            check_kernel_match(match, float(fit.kernel.kernel_sum(*reference.bbox.center)),
                               active.badKernelFluxThreshold, active.badKernelWidthThreshold)

    def _result(self, fit):
        self.metadata.update(fit.metadata)
        return Struct(psfMatchingKernel=fit.kernel, backgroundModel=fit.background,
                      kernelCandidates=fit.candidates,
                      localKernelCoefficients=fit.local_coefficients, metadata=fit.metadata)


def trial_sources(sources, kernel_size):
    """The kernel sources of the delta-function trial, every k-th of more than it fits.

    Parameters
    ----------
    sources : `pandas.DataFrame`, record array or array
        The kernel sources, one per row.
    kernel_size : `int`
        The delta-function kernel's width in pixels.

    Returns
    -------
    sources : same type
        At most `MAX_TRIAL_SOURCES` rows, and as many as keep their normal matrices
        (``(kernel_size**2 + 1)**2`` doubles each) within `TRIAL_MATRIX_BYTES`.
    """
    per_stamp = 8 * (kernel_size**2 + 1) ** 2
    limit = max(1, min(MAX_TRIAL_SOURCES, TRIAL_MATRIX_BYTES // per_stamp))
    step = -(-len(sources) // limit)
    if step <= 1:
        return sources
    return sources.iloc[::step] if hasattr(sources, "iloc") else sources[::step]


def _fit_boxes(fit):
    """``(n, 4)`` parent ``x0, y0, x1, y1`` of the pixels ``fit``'s solution used: the fit
    regions of its used kernel sources."""
    half = stamp_half_width(fit.kernel.basis, fit.config, fit.metadata["templateFwhm"],
                            fit.metadata["scienceFwhm"]) - fit.kernel.size // 2
    used = fit.candidates["used"].astype(bool)
    centres = np.rint(np.column_stack([fit.candidates["x"][used], fit.candidates["y"][used]]))
    return np.column_stack([centres - half, centres + half]).astype(np.int64)
