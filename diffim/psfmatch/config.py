"""Parameters of PSF matching, named as the Rubin stack's ``ip_diffim`` config fields.

`PsfMatchConfig` is a plain dataclass so that the core runs without any
middleware; the task's pex_config ``Config`` maps onto it field by field.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from .errors import PsfMatchConfigError

__all__ = ["PsfMatchConfig"]

_BASIS_SETS = ("alard-lupton", "delta-function")
_SPATIAL_MODELS = ("chebyshev1", "polynomial")
_REGULARIZATION_TYPES = ("centralDifference", "forwardDifference")
_LAMBDA_TYPES = ("absolute", "relative")


@dataclass
class PsfMatchConfig:
    """Everything the kernel fit and the convolution need, with the stack's defaults.

    Field names and defaults are those of ``ip_diffim``'s ``PsfMatchConfigAL`` /
    ``PsfMatchConfigDF`` and ``DetectionConfig``; see the stack's documentation
    for each. ``badMaskPlanes`` rejects kernel candidates whose stamp touches
    any of those planes in either image.
    """

    kernelBasisSet: str = "alard-lupton"
    kernelSize: int = 21
    scaleByFwhm: bool = True
    kernelSizeFwhmScaling: float = 6.0
    kernelSizeMin: int = 21
    kernelSizeMax: int = 35
    alardNGauss: int = 3
    alardSigGauss: list = field(default_factory=lambda: [0.7, 1.5, 3.0])
    alardDegGauss: list = field(default_factory=lambda: [4, 2, 2])
    alardGaussBeta: float = 2.0
    alardMinSig: float = 0.7
    alardMinSigDeconv: float = 0.4
    useRegularization: bool = True
    regularizationType: str = "centralDifference"
    centralRegularizationStencil: int = 9
    forwardRegularizationOrders: list = field(default_factory=lambda: [1, 2])
    lambdaType: str = "absolute"
    lambdaValue: float = 0.2
    fitForBackground: bool = False
    spatialModelType: str = "chebyshev1"
    spatialKernelOrder: int = 2
    spatialBgOrder: int = 1
    constantVarianceWeighting: bool = True
    singleKernelClipping: bool = True
    kernelSumClipping: bool = True
    spatialKernelClipping: bool = True
    candidateResidualMeanMax: float = 0.25
    candidateResidualStdMax: float = 1.5
    maxKsumSigma: float = 3.0
    maxSpatialIterations: int = 3
    usePcaForSpatialKernel: bool = False
    numPrincipalComponents: int = 5
    nStarPerCell: int = 5
    sizeCellX: int = 128
    sizeCellY: int = 128
    badMaskPlanes: list = field(default_factory=lambda: ["NO_DATA", "EDGE", "SAT"])

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
        minimums = {"spatialKernelOrder": 0, "spatialBgOrder": 0, "numPrincipalComponents": 1,
                    "maxSpatialIterations": 1, "nStarPerCell": 1, "sizeCellX": 1, "sizeCellY": 1}
        for name, minimum in minimums.items():
            if getattr(self, name) < minimum:
                bad(name, f"must be >= {minimum}")

    def replace(self, **changes):
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)
