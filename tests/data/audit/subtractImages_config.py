import compat.gen3.tasks.subtract
assert type(root) is compat.gen3.tasks.subtract.AlardLuptonSubtractConfig, f"config is of type {type(root).__module__}.{type(root).__name__} instead of compat.gen3.tasks.subtract.AlardLuptonSubtractConfig"

import diffim.make_kernel
import diffim.scale_variance
import diffim.subtract
import lsst.pipe.base.config
# Which image to convolve.
root.mode='auto'

# Basis: 'alard-lupton' (Gaussians x polynomials) or 'delta-function'.
root.makeKernel.kernel['AL'].kernelBasisSet='alard-lupton'

# Kernel width in pixels when the PSFs are unknown (odd).
root.makeKernel.kernel['AL'].kernelSize=21

# Scale the kernel size and the AL Gaussian widths by the PSF FWHMs?
root.makeKernel.kernel['AL'].scaleByFwhm=True

# Kernel size = this x the widest AL Gaussian sigma.
root.makeKernel.kernel['AL'].kernelSizeFwhmScaling=6.0

# Smallest kernel size when scaling by FWHM (odd).
root.makeKernel.kernel['AL'].kernelSizeMin=21

# Largest kernel size when scaling by FWHM (odd).
root.makeKernel.kernel['AL'].kernelSizeMax=35

# Number of AL Gaussians.
root.makeKernel.kernel['AL'].alardNGauss=3

# AL Gaussian sigmas (pixels) when not scaling by FWHM.
root.makeKernel.kernel['AL'].alardSigGauss=[0.7, 1.5, 3.0]

# Polynomial degree multiplying each AL Gaussian.
root.makeKernel.kernel['AL'].alardDegGauss=[4, 2, 2]

# Ratio of successive AL Gaussian sigmas when scaling by FWHM.
root.makeKernel.kernel['AL'].alardGaussBeta=2.0

# Smallest AL Gaussian sigma when convolving the narrower image.
root.makeKernel.kernel['AL'].alardMinSig=0.7

# Smallest AL Gaussian sigma when deconvolving.
root.makeKernel.kernel['AL'].alardMinSigDeconv=0.4

# Regularise the delta-function basis?
root.makeKernel.kernel['AL'].useRegularization=True

# centralDifference or forwardDifference.
root.makeKernel.kernel['AL'].regularizationType='centralDifference'

# 5- or 9-point Laplacian stencil.
root.makeKernel.kernel['AL'].centralRegularizationStencil=9

# Orders of the forward differences.
root.makeKernel.kernel['AL'].forwardRegularizationOrders=[1, 2]

# absolute or relative (to the trace of the normal matrix).
root.makeKernel.kernel['AL'].lambdaType='absolute'

# Regularisation strength.
root.makeKernel.kernel['AL'].lambdaValue=0.2

# Fit a differential background with the kernel?
root.makeKernel.kernel['AL'].fitForBackground=True

# Spatial functions: chebyshev1 or polynomial.
root.makeKernel.kernel['AL'].spatialModelType='chebyshev1'

# Order of the spatial variation of the kernel.
root.makeKernel.kernel['AL'].spatialKernelOrder=2

# Order of the spatial variation of the background.
root.makeKernel.kernel['AL'].spatialBgOrder=1

# Weight stamps by the median inverse variance?
root.makeKernel.kernel['AL'].constantVarianceWeighting=True

# Reject candidates with bad single-kernel residuals?
root.makeKernel.kernel['AL'].singleKernelClipping=True

# Reject candidates with outlying kernel sums?
root.makeKernel.kernel['AL'].kernelSumClipping=True

# Reject candidates with bad spatial-kernel residuals?
root.makeKernel.kernel['AL'].spatialKernelClipping=True

# Largest |mean| of residual/sigma in a stamp.
root.makeKernel.kernel['AL'].candidateResidualMeanMax=0.25

# Largest rms of residual/sigma in a stamp.
root.makeKernel.kernel['AL'].candidateResidualStdMax=1.5

# Kernel-sum clip, in clipped standard deviations.
root.makeKernel.kernel['AL'].maxKsumSigma=3.0

# Rejection iterations of the spatial fit.
root.makeKernel.kernel['AL'].maxSpatialIterations=3

# Fit the spatial model on a PCA basis of single kernels?
root.makeKernel.kernel['AL'].usePcaForSpatialKernel=False

# Number of PCA components (plus the mean kernel).
root.makeKernel.kernel['AL'].numPrincipalComponents=5

# Candidates used per spatial cell.
root.makeKernel.kernel['AL'].nStarPerCell=5

# Spatial cell width (pixels).
root.makeKernel.kernel['AL'].sizeCellX=128

# Spatial cell height (pixels).
root.makeKernel.kernel['AL'].sizeCellY=128

# Candidates touching these planes in either image are rejected.
root.makeKernel.kernel['AL'].badMaskPlanes=['NO_DATA', 'EDGE', 'SAT']

# Basis: 'alard-lupton' (Gaussians x polynomials) or 'delta-function'.
root.makeKernel.kernel['DF'].kernelBasisSet='delta-function'

# Kernel width in pixels when the PSFs are unknown (odd).
root.makeKernel.kernel['DF'].kernelSize=21

# Scale the kernel size and the AL Gaussian widths by the PSF FWHMs?
root.makeKernel.kernel['DF'].scaleByFwhm=True

# Kernel size = this x the widest AL Gaussian sigma.
root.makeKernel.kernel['DF'].kernelSizeFwhmScaling=6.0

# Smallest kernel size when scaling by FWHM (odd).
root.makeKernel.kernel['DF'].kernelSizeMin=21

# Largest kernel size when scaling by FWHM (odd).
root.makeKernel.kernel['DF'].kernelSizeMax=35

# Number of AL Gaussians.
root.makeKernel.kernel['DF'].alardNGauss=3

# AL Gaussian sigmas (pixels) when not scaling by FWHM.
root.makeKernel.kernel['DF'].alardSigGauss=[0.7, 1.5, 3.0]

# Polynomial degree multiplying each AL Gaussian.
root.makeKernel.kernel['DF'].alardDegGauss=[4, 2, 2]

# Ratio of successive AL Gaussian sigmas when scaling by FWHM.
root.makeKernel.kernel['DF'].alardGaussBeta=2.0

# Smallest AL Gaussian sigma when convolving the narrower image.
root.makeKernel.kernel['DF'].alardMinSig=0.7

# Smallest AL Gaussian sigma when deconvolving.
root.makeKernel.kernel['DF'].alardMinSigDeconv=0.4

# Regularise the delta-function basis?
root.makeKernel.kernel['DF'].useRegularization=True

# centralDifference or forwardDifference.
root.makeKernel.kernel['DF'].regularizationType='centralDifference'

# 5- or 9-point Laplacian stencil.
root.makeKernel.kernel['DF'].centralRegularizationStencil=9

# Orders of the forward differences.
root.makeKernel.kernel['DF'].forwardRegularizationOrders=[1, 2]

# absolute or relative (to the trace of the normal matrix).
root.makeKernel.kernel['DF'].lambdaType='absolute'

# Regularisation strength.
root.makeKernel.kernel['DF'].lambdaValue=0.2

# Fit a differential background with the kernel?
root.makeKernel.kernel['DF'].fitForBackground=True

# Spatial functions: chebyshev1 or polynomial.
root.makeKernel.kernel['DF'].spatialModelType='chebyshev1'

# Order of the spatial variation of the kernel.
root.makeKernel.kernel['DF'].spatialKernelOrder=2

# Order of the spatial variation of the background.
root.makeKernel.kernel['DF'].spatialBgOrder=1

# Weight stamps by the median inverse variance?
root.makeKernel.kernel['DF'].constantVarianceWeighting=True

# Reject candidates with bad single-kernel residuals?
root.makeKernel.kernel['DF'].singleKernelClipping=True

# Reject candidates with outlying kernel sums?
root.makeKernel.kernel['DF'].kernelSumClipping=True

# Reject candidates with bad spatial-kernel residuals?
root.makeKernel.kernel['DF'].spatialKernelClipping=True

# Largest |mean| of residual/sigma in a stamp.
root.makeKernel.kernel['DF'].candidateResidualMeanMax=0.25

# Largest rms of residual/sigma in a stamp.
root.makeKernel.kernel['DF'].candidateResidualStdMax=1.5

# Kernel-sum clip, in clipped standard deviations.
root.makeKernel.kernel['DF'].maxKsumSigma=3.0

# Rejection iterations of the spatial fit.
root.makeKernel.kernel['DF'].maxSpatialIterations=3

# Fit the spatial model on a PCA basis of single kernels?
root.makeKernel.kernel['DF'].usePcaForSpatialKernel=False

# Number of PCA components (plus the mean kernel).
root.makeKernel.kernel['DF'].numPrincipalComponents=5

# Candidates used per spatial cell.
root.makeKernel.kernel['DF'].nStarPerCell=5

# Spatial cell width (pixels).
root.makeKernel.kernel['DF'].sizeCellX=128

# Spatial cell height (pixels).
root.makeKernel.kernel['DF'].sizeCellY=128

# Candidates touching these planes in either image are rejected.
root.makeKernel.kernel['DF'].badMaskPlanes=['NO_DATA', 'EDGE', 'SAT']

root.makeKernel.kernel.name='AL'
# Undo the noise correlation of the convolution (and update the difference PSF)?
root.doDecorrelation=True

# Fail if the template covers less than this fraction of the science image.
root.requiredTemplateFraction=0.1

# Rescale the difference variance to its pixel noise?
root.doScaleVariance=True

# Pixels with any of these planes are not background.
root.scaleVariance.maskPlanes=['DETECTED', 'DETECTED_NEGATIVE', 'BAD', 'SAT', 'NO_DATA', 'INTRP', 'EDGE', 'CR']

# Refuse factors above this (or below its inverse): something else is wrong.
root.scaleVariance.limit=10.0

# Fewest background pixels to trust.
root.scaleVariance.minPixels=100

# Subtract the differential background fitted with the kernel?
root.doSubtractBackground=False

# Lowest S/N of a kernel source.
root.sourceSelector.signalToNoise.minimum=10.0

# Highest S/N of a kernel source.
root.sourceSelector.signalToNoise.maximum=500.0

# No other detection within this radius (pixels); 3 science FWHMs if None.
root.sourceSelector.isolationRadius=None

# Most kernel sources used (highest S/N first).
root.maxKernelSources=1000

# Fewest kernel sources; fewer is an error.
root.minKernelSources=3

# Kernel sources near these planes (either image) are not used.
root.excludeMaskPlanes=['NO_DATA', 'BAD', 'SAT', 'EDGE', 'FAKE', 'HIGH_VARIANCE']

# Pixels zeroed before convolution; their mask bits spread to the output.
root.badMaskPlanes=['NO_DATA', 'BAD', 'SAT', 'EDGE']

# Template mask planes copied to the difference.
root.preserveTemplateMask=['NO_DATA', 'BAD']

# Template mask planes copied to the difference as <NAME>_TEMPLATE.
root.renameTemplateMask=['SAT', 'INJECTED', 'INJECTED_CORE']

# Add the 'group' dimension (the template visit of a calexp-calexp pair) to the quantum and to the difference-imaging datasets, so that several templates against one science image give distinct outputs?
root.keyByTemplateVisit=False

# Flag to enable/disable saving of log output for a task, enabled by default.
root.saveLogOutput=True

# name for connection template
root.connections.template='{fakesType}{coaddName}Diff_templateExp'

# name for connection science
root.connections.science='{fakesType}calexp'

# name for connection sources
root.connections.sources='{fakesType}src'

# name for connection difference
root.connections.difference='{fakesType}{coaddName}Diff_differenceTempExp'

# name for connection matchedTemplate
root.connections.matchedTemplate='{fakesType}{coaddName}Diff_matchedExp'

# name for connection psfMatchingKernel
root.connections.psfMatchingKernel='{fakesType}{coaddName}Diff_psfMatchKernel'

# name for connection kernelSources
root.connections.kernelSources='{fakesType}{coaddName}Diff_psfMatchSources'

# Template parameter used to format corresponding field template parameter
root.connections.coaddName='deep'

# Template parameter used to format corresponding field template parameter
root.connections.fakesType=''

