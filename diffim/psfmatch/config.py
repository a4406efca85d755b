"""Parameters of PSF matching, named as the Rubin stack's ``ip_diffim`` config fields.

`PsfMatchConfig` is a plain dataclass so that the core runs without any
middleware. It is the one home of each field's default and doc: the
pex_config ``PsfMatchConfigAL``/``DF`` of `diffim.psfmatch.make_kernel` are
built from its fields (`field_doc`, `field_default`), and the core's
functions take a `PsfMatchConfig` rather than repeating defaults.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import PsfMatchConfigError

__all__ = ["PsfMatchConfig", "field_default", "field_doc"]

_BASIS_SETS = ("alard-lupton", "delta-function")
_SPATIAL_MODELS = ("chebyshev1", "polynomial")
_REGULARIZATION_TYPES = ("centralDifference", "forwardDifference")
_LAMBDA_TYPES = ("absolute", "relative")


def _field(default, doc):
    """A dataclass field with its default and its doc (a list default is copied per instance)."""
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


def field_default(dataclass_field):
    """The default value of one of `PsfMatchConfig`'s fields (a fresh list for a list)."""
    if dataclass_field.default_factory is not dataclasses.MISSING:
        return dataclass_field.default_factory()
    return dataclass_field.default


def field_doc(dataclass_field):
    """The doc of one of `PsfMatchConfig`'s fields."""
    return dataclass_field.metadata["doc"]


@dataclass
class PsfMatchConfig:
    """Everything the kernel fit and the convolution need, with the stack's defaults.

    Field names and defaults are those of ``ip_diffim``'s ``PsfMatchConfigAL`` /
    ``PsfMatchConfigDF`` and ``DetectionConfig``; each field's doc is beside
    its default. ``stampFwhmScaling`` is ours: a fit region cut short of the
    PSF wings biases a delta-function kernel's sum low by the science flux
    outside it (`MakeKernelConfig` sets 3 for that basis).
    """

    kernelBasisSet: str = _field("alard-lupton",
                                 "Basis: 'alard-lupton' (Gaussians x polynomials) or "
                                 "'delta-function'.")
    kernelSize: int = _field(21, "Kernel width in pixels when the PSFs are unknown (odd).")
    scaleByFwhm: bool = _field(True,
                               "Scale the kernel size and the AL Gaussian widths by the PSF FWHMs?")
    kernelSizeFwhmScaling: float = _field(6.0, "Kernel size = this x the widest AL Gaussian sigma.")
    kernelSizeMin: int = _field(21, "Smallest kernel size when scaling by FWHM (odd).")
    kernelSizeMax: int = _field(35, "Largest kernel size when scaling by FWHM (odd).")
    alardNGauss: int = _field(3, "Number of AL Gaussians.")
    alardSigGauss: list = _field([0.7, 1.5, 3.0],
                                 "AL Gaussian sigmas (pixels) when not scaling by FWHM.")
    alardDegGauss: list = _field([4, 2, 2], "Polynomial degree multiplying each AL Gaussian.")
    alardGaussBeta: float = _field(2.0,
                                   "Ratio of successive AL Gaussian sigmas when scaling by FWHM.")
    alardMinSig: float = _field(0.7,
                                "Smallest AL Gaussian sigma when convolving the narrower image.")
    alardMinSigDeconv: float = _field(0.4, "Smallest AL Gaussian sigma when deconvolving.")
    useRegularization: bool = _field(True, "Regularise the delta-function basis?")
    regularizationType: str = _field("centralDifference",
                                     "centralDifference or forwardDifference.")
    centralRegularizationStencil: int = _field(9, "5- or 9-point Laplacian stencil.")
    forwardRegularizationOrders: list = _field([1, 2], "Orders of the forward differences.")
    lambdaType: str = _field("absolute",
                             "absolute or relative (to the trace of the normal matrix).")
    lambdaValue: float = _field(0.2, "Regularisation strength.")
    fitForBackground: bool = _field(False, "Fit a differential background with the kernel?")
    spatialModelType: str = _field("chebyshev1", "Spatial functions: chebyshev1 or polynomial.")
    spatialKernelOrder: int = _field(2, "Order of the spatial variation of the kernel.")
    spatialBgOrder: int = _field(1, "Order of the spatial variation of the background.")
    constantVarianceWeighting: bool = _field(True, "Weight stamps by the median inverse variance?")
    singleKernelClipping: bool = _field(True, "Reject candidates with bad single-kernel residuals?")
    kernelSumClipping: bool = _field(True, "Reject candidates with outlying kernel sums?")
    spatialKernelClipping: bool = _field(True,
                                         "Reject candidates with bad spatial-kernel residuals?")
    candidateResidualMeanMax: float = _field(0.25, "Largest |mean| of residual/sigma in a stamp.")
    candidateResidualStdMax: float = _field(1.5, "Largest rms of residual/sigma in a stamp.")
    maxKsumSigma: float = _field(3.0, "Kernel-sum clip, in clipped standard deviations.")
    maxSpatialIterations: int = _field(3, "Rejection iterations of the spatial fit.")
    usePcaForSpatialKernel: bool = _field(False,
                                          "Fit the spatial model on a PCA basis of single kernels?")
    numPrincipalComponents: int = _field(5, "Number of PCA components (plus the mean kernel).")
    nStarPerCell: int = _field(5, "Candidates used per spatial cell.")
    sizeCellX: int = _field(128, "Spatial cell width (pixels).")
    sizeCellY: int = _field(128, "Spatial cell height (pixels).")
    badMaskPlanes: list = _field(["NO_DATA", "EDGE", "SAT"],
                                 "Candidates touching these planes in either image are rejected.")
    stampFwhmScaling: float = _field(0.0,
                                     "The fit region around a candidate reaches this many FWHMs "
                                     "of the wider PSF (its wings), and at least one kernel "
                                     "half-width (0: the stack's stamp).")
    raiseOnBadKernelMatch: bool = _field(
        True, "Fail with a one-line error when the fitted kernel does not match its sources "
              "(diffim.psfmatch.match_check): the flux it predicts, or the width of the matched "
              "stars, off the other image's beyond badKernelFluxThreshold or (when set) "
              "badKernelWidthThreshold (a deconvolution). The ratios are recorded in the "
              "metadata (kernelFluxRatio; kernelWidthRatio unless badKernelWidthThreshold is 0) "
              "either way.")
    badKernelFluxThreshold: float = _field(
        0.2, "Largest |predicted / measured - 1| of the kernel sources' flux, in apertures of "
             "2 FWHMs of the wider PSF (pairs subtracted the right way: within 0.07; DECam "
             "OBS18c with the wider OBS04c convolved onto it: 0.49).")
    doChooseBasis: bool = _field(
        False, "Alard-Lupton basis only: also fit the delta-function basis (the kernel['DF'] "
               "config) on the same kernel sources and keep it when it predicts the bright "
               "sources' pixels that no fit used better: chi^2 lower by a factor 1.2 or more, "
               "over 2 standard errors (diffim.psfmatch.held_out), as where nearly equal PSFs "
               "differ by a structure that Gaussians x polynomials do not span (JWST NIRCam). "
               "Off: the stack's one basis (the validation campaign); on in `diffim subtract`.")
    badKernelWidthThreshold: float = _field(
        0.06, "Largest excess over 1 (or below its inverse) of the width ratio of the summed "
              "matched kernel sources to the other image's (adaptive moments); 0: not measured, "
              "not checked. Pairs subtracted the right way give at most 0.03 (NIRCam's nearly "
              "equal PSFs; the validation campaign 0.009, its forced deconvolutions 0.021), "
              "simulated pairs with the 5 px science PSF convolved onto 3.5 px 0.10-0.14, DECam "
              "OBS04c convolved onto OBS18c 0.10-0.13 (tests/data/README.md, eighth pass).")

    def __post_init__(self):
        self.validate()

    def validate(self):
        """Raise `PsfMatchConfigError` naming the first inconsistent field."""
        def bad(name, why):
            raise PsfMatchConfigError(f"PsfMatchConfig.{name}={getattr(self, name)!r}: {why}")

        if self.kernelBasisSet not in _BASIS_SETS:
            bad("kernelBasisSet", f"must be one of {_BASIS_SETS}")
        if self.spatialModelType not in _SPATIAL_MODELS:
            bad("spatialModelType", f"must be one of {_SPATIAL_MODELS}")
        if self.regularizationType not in _REGULARIZATION_TYPES:
            bad("regularizationType", f"must be one of {_REGULARIZATION_TYPES}")
        if self.lambdaType not in _LAMBDA_TYPES:
            bad("lambdaType", f"must be one of {_LAMBDA_TYPES}")
        if self.centralRegularizationStencil not in (5, 9):
            bad("centralRegularizationStencil", "must be 5 or 9")
        for name in ("kernelSize", "kernelSizeMin", "kernelSizeMax"):
            value = getattr(self, name)
            if value < 3 or value % 2 == 0:
                bad(name, "must be an odd integer >= 3")
        if self.kernelSizeMin > self.kernelSizeMax:
            bad("kernelSizeMin", f"exceeds kernelSizeMax={self.kernelSizeMax}")
        if len(self.alardSigGauss) != self.alardNGauss:
            bad("alardSigGauss", f"needs alardNGauss={self.alardNGauss} values")
        if len(self.alardDegGauss) != self.alardNGauss:
            bad("alardDegGauss", f"needs alardNGauss={self.alardNGauss} values")
        if any(sigma <= 0 for sigma in self.alardSigGauss):
            bad("alardSigGauss", "widths must be > 0")
        if any(degree < 0 for degree in self.alardDegGauss):
            bad("alardDegGauss", "degrees must be >= 0")
        if self.stampFwhmScaling < 0:
            bad("stampFwhmScaling", "must be >= 0")
        if not self.badKernelFluxThreshold > 0:
            bad("badKernelFluxThreshold", "must be > 0")
        if not self.badKernelWidthThreshold >= 0:
            bad("badKernelWidthThreshold", "must be >= 0")
        minimums = {"spatialKernelOrder": 0, "spatialBgOrder": 0, "numPrincipalComponents": 1,
                    "maxSpatialIterations": 1, "nStarPerCell": 1, "sizeCellX": 1, "sizeCellY": 1}
        for name, minimum in minimums.items():
            if getattr(self, name) < minimum:
                bad(name, f"must be >= {minimum}")

    def replace(self, **changes):
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)
