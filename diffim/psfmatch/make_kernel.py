"""`MakeKernelTask`: the pex_config face of the PSF-matching kernel fit.

The config reads as the stack's, so override files keep their meaning::

    config.makeKernel.kernel.name = "AL"            # or "DF" (delta-function basis)
    config.makeKernel.kernel.active.spatialKernelOrder = 1
    config.makeKernel.kernel.active.kernelSizeMin = 25

Each ``PsfMatchConfigAL``/``PsfMatchConfigDF`` field maps one to one onto
`diffim.psfmatch.PsfMatchConfig`, which the middleware-free core takes.
"""
from __future__ import annotations

import dataclasses

import lsst.pex.config as pexConfig

from ..task import Struct, Task
from . import PsfMatchConfig, fit_psf_matching_kernel

__all__ = ["MakeKernelConfig", "MakeKernelTask", "PsfMatchConfigAL", "PsfMatchConfigDF",
           "to_psf_match_config"]

_FIELD_DOCS = {
    "kernelBasisSet": "Basis: 'alard-lupton' (Gaussians x polynomials) or 'delta-function'.",
    "kernelSize": "Kernel width in pixels when the PSFs are unknown (odd).",
    "scaleByFwhm": "Scale the kernel size and the AL Gaussian widths by the PSF FWHMs?",
    "kernelSizeFwhmScaling": "Kernel size = this x the widest AL Gaussian sigma.",
    "kernelSizeMin": "Smallest kernel size when scaling by FWHM (odd).",
    "kernelSizeMax": "Largest kernel size when scaling by FWHM (odd).",
    "alardNGauss": "Number of AL Gaussians.",
    "alardSigGauss": "AL Gaussian sigmas (pixels) when not scaling by FWHM.",
    "alardDegGauss": "Polynomial degree multiplying each AL Gaussian.",
    "alardGaussBeta": "Ratio of successive AL Gaussian sigmas when scaling by FWHM.",
    "alardMinSig": "Smallest AL Gaussian sigma when convolving the narrower image.",
    "alardMinSigDeconv": "Smallest AL Gaussian sigma when deconvolving.",
    "useRegularization": "Regularise the delta-function basis?",
    "regularizationType": "centralDifference or forwardDifference.",
    "centralRegularizationStencil": "5- or 9-point Laplacian stencil.",
    "forwardRegularizationOrders": "Orders of the forward differences.",
    "lambdaType": "absolute or relative (to the trace of the normal matrix).",
    "lambdaValue": "Regularisation strength.",
    "fitForBackground": "Fit a differential background with the kernel?",
    "spatialModelType": "Spatial functions: chebyshev1 or polynomial.",
    "spatialKernelOrder": "Order of the spatial variation of the kernel.",
    "spatialBgOrder": "Order of the spatial variation of the background.",
    "constantVarianceWeighting": "Weight stamps by the median inverse variance?",
    "singleKernelClipping": "Reject candidates with bad single-kernel residuals?",
    "kernelSumClipping": "Reject candidates with outlying kernel sums?",
    "spatialKernelClipping": "Reject candidates with bad spatial-kernel residuals?",
    "candidateResidualMeanMax": "Largest |mean| of residual/sigma in a stamp.",
    "candidateResidualStdMax": "Largest rms of residual/sigma in a stamp.",
    "maxKsumSigma": "Kernel-sum clip, in clipped standard deviations.",
    "maxSpatialIterations": "Rejection iterations of the spatial fit.",
    "usePcaForSpatialKernel": "Fit the spatial model on a PCA basis of single kernels?",
    "numPrincipalComponents": "Number of PCA components (plus the mean kernel).",
    "nStarPerCell": "Candidates used per spatial cell.",
    "sizeCellX": "Spatial cell width (pixels).",
    "sizeCellY": "Spatial cell height (pixels).",
    "badMaskPlanes": "Candidates touching these planes in either image are rejected.",
}


def _pex_field(field):
    """A pex_config field with the type and default of a `PsfMatchConfig` field."""
    default = field.default if field.default_factory is dataclasses.MISSING \
        else field.default_factory()
    doc = _FIELD_DOCS[field.name]
    if isinstance(default, list):
        return pexConfig.ListField(dtype=type(default[0]), default=default, doc=doc)
    return pexConfig.Field(dtype=type(default), default=default, doc=doc)


def _config_class(name, basis_set):
    fields = {f.name: _pex_field(f) for f in dataclasses.fields(PsfMatchConfig)}
    fields["kernelBasisSet"] = pexConfig.ChoiceField(
        dtype=str, default=basis_set, allowed={basis_set: _FIELD_DOCS["kernelBasisSet"]},
        doc=_FIELD_DOCS["kernelBasisSet"])
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
        sources : `pandas.DataFrame`
            Kernel-source positions ``x``, ``y`` and ranking ``flux``.

        Returns
        -------
        result : `Struct`
            ``psfMatchingKernel`` (`diffim.psfmatch.SpatialKernel`),
            ``backgroundModel`` (`diffim.psfmatch.SpatialBackground`),
            ``kernelCandidates`` (`pandas.DataFrame`, one row per source with
            its status and fit statistics), ``localKernelCoefficients``
            (`numpy.ndarray`, each candidate's single-kernel solution),
            ``metadata`` (`dict`).
        """
        fit = fit_psf_matching_kernel(convolved, reference, sources,
                                      to_psf_match_config(self.config.kernel.active))
        self.metadata.update(fit.metadata)
        return Struct(psfMatchingKernel=fit.kernel, backgroundModel=fit.background,
                      kernelCandidates=fit.candidates,
                      localKernelCoefficients=fit.local_coefficients, metadata=fit.metadata)
