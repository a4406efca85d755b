import lsst.pipe.tasks.imageDifference
assert type(config)==lsst.pipe.tasks.imageDifference.ImageDifferenceConfig, 'config is of type %s.%s instead of lsst.pipe.tasks.imageDifference.ImageDifferenceConfig' % (type(config).__module__, type(config).__name__)
import lsst.ip.diffim.getTemplate
import lsst.meas.algorithms.sourceSelector
# Compute subtracted exposure?
config.doSubtract=False

# Detect sources?
config.doDetection=True

# Fit dipoles?
config.doDipoleFitting=True

config.getTemplate.retarget(target=lsst.ip.diffim.getTemplate.GetCalexpAsTemplateTask, ConfigClass=lsst.ip.diffim.getTemplate.GetCalexpAsTemplateConfig)

# Warping kernel
config.getTemplate.warp.warpingKernelName='lanczos4'

config.sourceSelector.name='science'
config.sourceSelector['science'].doFlags=True
