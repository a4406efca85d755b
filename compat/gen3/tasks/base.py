"""What the wrappers' connections share: dimensions, name templates, connection helpers.

Dataset-type names follow the stack's templates (``ip_diffim``), with
``coaddName = "deep"`` and ``fakesType = ""`` by default. ``calexp`` and
``src`` are prerequisite inputs in every wrapper: this tool always ingests
them, and a prerequisite is what a lookup function may fetch for *another*
visit (the calexp-template pairing); the pipeline graph demands that a
dataset type be a prerequisite for all of a pipeline's tasks or for none.

The template visit of a calexp-calexp pair is carried by the ``group``
dimension (`compat.gen3.repo.TEMPLATE_VISIT_DIMENSION` says why).
"""
from __future__ import annotations

import dataclasses

import lsst.pex.config as pexConfig
from lsst.pipe.base import connectionTypes

from ..repo import TEMPLATE_VISIT_DIMENSION

__all__ = ["COADD_DIMENSIONS", "DEFAULT_TEMPLATES", "TemplateVisitKeyConfig", "VISIT_DETECTOR",
           "by_tract_patch", "calexp_connection", "key_by_template_visit", "source_connection"]

VISIT_DETECTOR = ("instrument", "visit", "detector")
"""Dimensions of a calexp and of every per-detector difference-imaging dataset."""

COADD_DIMENSIONS = ("skymap", "tract", "patch", "band")
"""Dimensions of a coadd patch."""

DEFAULT_TEMPLATES = {"coaddName": "deep", "fakesType": ""}
"""Connection name templates, with the stack's defaults."""

class TemplateVisitKeyConfig(pexConfig.Config):
    """A switch to key a task's per-detector outputs by the template visit too."""

    keyByTemplateVisit = pexConfig.Field(
        dtype=bool, default=False,
        doc=f"Add the '{TEMPLATE_VISIT_DIMENSION}' dimension (the template visit of a "
            "calexp-calexp pair) to the quantum and to the difference-imaging datasets, so "
            "that several templates against one science image give distinct outputs?")


def key_by_template_visit(connections, config, names):
    """Add the template-visit dimension to the quantum and to connections, if configured.

    Parameters
    ----------
    connections : `lsst.pipe.base.PipelineTaskConnections`
        Inside its ``__init__`` (dimensions are still mutable there).
    config : `TemplateVisitKeyConfig`
    names : iterable of `str`
        Connections keyed by the pair (the science inputs are not).
    """
    if not config.keyByTemplateVisit:
        return
    connections.dimensions.add(TEMPLATE_VISIT_DIMENSION)
    for name in names:
        connection = getattr(connections, name)
        setattr(connections, name, dataclasses.replace(
            connection, dimensions=(*connection.dimensions, TEMPLATE_VISIT_DIMENSION)))


def calexp_connection(doc, **kwargs):
    """A prerequisite ``{fakesType}calexp`` (see the module docstring for why prerequisite)."""
    return connectionTypes.PrerequisiteInput(doc=doc, dimensions=VISIT_DETECTOR,
                                             storageClass="DiffimExposure",
                                             name="{fakesType}calexp", **kwargs)


def source_connection(doc, **kwargs):
    """A prerequisite ``{fakesType}src`` catalogue."""
    return connectionTypes.PrerequisiteInput(doc=doc, dimensions=VISIT_DETECTOR,
                                             storageClass="DataFrame", name="{fakesType}src",
                                             **kwargs)


def by_tract_patch(refs, objects):
    """Objects read for coadd-patch refs, keyed ``(tract, patch)`` as ``diffim`` takes them."""
    return {(ref.dataId["tract"], ref.dataId["patch"]): obj for ref, obj in zip(refs, objects)}
