"""gen2's ``getTemplate.runDataRef``: fetch a template task's inputs for a science data reference.

The ``diffim`` template tasks take in-memory inputs; under gen2 they were
fed by the data reference of the science calexp:

- `diffim.template.get_template.GetCoaddAsTemplateTask`: the ``<coaddName>Coadd_skyMap``
  and the ``<coaddName>Coadd`` patches that overlap the science detector
  (as the task finds them) and exist in the repositories; patches are named
  ``"x,y"`` and take the science data ID's filter;
- `diffim.template.get_template.GetCalexpAsTemplateTask`: the ``calexp`` (and its
  ``src``, when there is one) of the first ``--templateId`` data ID merged
  over the science data ID.
"""
from __future__ import annotations

import logging

from diffim.template import GetCalexpAsTemplateTask, GetCoaddAsTemplateTask

from .errors import Gen2Error

__all__ = ["NoTemplateIdError", "get_template"]

_LOG = logging.getLogger(__name__)


class NoTemplateIdError(Gen2Error):
    """Calexp-template mode without a ``--templateId``."""


def get_template(getTemplate, exposure, sensorRef, templateIdList=None):
    """Read ``getTemplate``'s inputs for ``sensorRef`` and run it.

    Parameters
    ----------
    getTemplate : `diffim.template.get_template.GetCoaddAsTemplateTask` or `GetCalexpAsTemplateTask`
    exposure : `diffim.Exposure`
        The science calexp: its box and WCS are the template's.
    sensorRef : `compat.gen2.butler.ButlerDataRef`
    templateIdList : `list` [`dict`], optional
        ``--templateId`` data IDs (calexp mode only).

    Returns
    -------
    template : `diffim.task.Struct`
        ``exposure`` on the science frame, ``sources`` (the template's ``src``
        on the science frame, or None).

    Raises
    ------
    NoTemplateIdError
        Calexp mode without a template data ID.
    Gen2Error
        A ``getTemplate`` task this adapter cannot feed.
    """
    if isinstance(getTemplate, GetCalexpAsTemplateTask):
        return _calexp_template(getTemplate, exposure, sensorRef, templateIdList or [])
    if isinstance(getTemplate, GetCoaddAsTemplateTask):
        if templateIdList:
            _LOG.warning("--templateId %s is ignored: getTemplate is %s (it is for "
                         "GetCalexpAsTemplateTask)", templateIdList, type(getTemplate).__name__)
        return _coadd_template(getTemplate, exposure, sensorRef)
    raise Gen2Error(f"config.getTemplate: gen2 cannot fetch the inputs of "
                    f"{type(getTemplate).__name__}")


def _coadd_template(getTemplate, exposure, sensorRef):
    coadd = f"{getTemplate.config.coaddName}Coadd"
    skymap = sensorRef.getButler().get(f"{coadd}_skyMap")
    coadds = {}
    for tract, patches in getTemplate.overlapping_patches(skymap, exposure.bbox, exposure.wcs):
        for patch in patches:
            patch_id = {"tract": tract.tract_id, "patch": "%d,%d" % patch.index}
            if sensorRef.datasetExists(coadd, **patch_id):
                coadds[(tract.tract_id, patch.sequential_index)] = sensorRef.get(coadd, **patch_id)
    return getTemplate.run(coadds, skymap, exposure.bbox, exposure.wcs, exposure.visit_info)


def _calexp_template(getTemplate, exposure, sensorRef, templateIdList):
    if not templateIdList:
        raise NoTemplateIdError("No template data reference supplied.")
    if len(templateIdList) > 1:
        _LOG.warning("Multiple template data references supplied. Using the first one only.")
    template_id = {**sensorRef.dataId, **templateIdList[0]}
    _LOG.info("Fetching calexp (%s) as template.", template_id)
    butler = sensorRef.getButler()
    calexp = butler.get("calexp", template_id)
    sources = butler.get("src", template_id) if butler.datasetExists("src", template_id) \
        else None
    return getTemplate.run(calexp, sources, exposure.bbox, exposure.wcs)
