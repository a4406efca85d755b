"""``PipelineTask`` wrappers of the ``diffim`` tasks.

Each wrapper's config IS the ``diffim`` config (the classes inherit from it
as well as from ``PipelineTaskConfig``), so fields, defaults and override
files are those of gen2 and the ``diffim`` command line. Every wrapper is a
`compat.gen3.tasks.wrapper.DiffimPipelineTask`: get the inputs, call the
``diffim`` task, put the outputs; a wrapper only maps its connections onto
that task's arguments and results. The science is in the ``diffim`` task.
Dataset-type names are the stack's (`compat.gen3.tasks.base`).

==============================  ====================================================
task                            datasets (``coaddName = deep`` unless noted)
==============================  ====================================================
`GetTemplateTask`               deepCoadd + skyMap + calexp -> deepDiff_templateExp
`GetCalexpTemplateTask`         calexp + paired calexp/src -> pairDiff_templateExp,
                                pairDiff_templateSrc (``coaddName = pair``, keyed by
                                the template visit's ``group``)
`MakeCalexpCoaddTask`           calexp + skyMap -> calexpCoadd
`AlardLuptonSubtractTask`       deepDiff_templateExp + calexp + src ->
                                deepDiff_differenceTempExp, _matchedExp,
                                _psfMatchKernel, _psfMatchSources
`DetectAndMeasureTask`          calexp + deepDiff_matchedExp + _differenceTempExp ->
                                deepDiff_diaSrc, deepDiff_differenceExp
`ImageDifferenceTask`           the legacy monolith: deepDiff_differenceExp,
                                _matchedExp, _warpedExp, _scoreExp, _diaSrc, _kernelSrc
`Winter2013ImageDifferenceTask` its Winter 2013 variant
==============================  ====================================================
"""
from .coadd import MakeCalexpCoaddConfig, MakeCalexpCoaddTask
from .detect import DetectAndMeasureConfig, DetectAndMeasureTask
from .get_template import (GetCalexpTemplateConfig, GetCalexpTemplateTask, GetTemplateConfig,
                           GetTemplateTask)
from .image_difference import (ImageDifferenceConfig, ImageDifferenceTask,
                               Winter2013ImageDifferenceConfig, Winter2013ImageDifferenceTask)
from .pairing import PairingError
from .subtract import AlardLuptonSubtractConfig, AlardLuptonSubtractTask

__all__ = ["AlardLuptonSubtractConfig", "AlardLuptonSubtractTask", "DetectAndMeasureConfig",
           "DetectAndMeasureTask", "GetCalexpTemplateConfig", "GetCalexpTemplateTask",
           "GetTemplateConfig", "GetTemplateTask", "ImageDifferenceConfig",
           "ImageDifferenceTask", "MakeCalexpCoaddConfig", "MakeCalexpCoaddTask", "PairingError",
           "Winter2013ImageDifferenceConfig", "Winter2013ImageDifferenceTask"]
