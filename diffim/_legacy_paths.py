"""Module paths of earlier releases, still importable.

Stored configs (``*_config`` datasets in gen2 reruns, gen3 collections) and
users' override files name the modules that held a task when they were
written (``import diffim.make_kernel``, ``diffim.get_template.GetCalexpAsTemplateTask``).
The finder below answers those names with the module's present home, so such
files load unchanged; nothing is imported until a file asks.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["MOVED_MODULES", "install"]

MOVED_MODULES = {
    "diffim.decorrelate": "diffim.subtract.decorrelate",
    "diffim.dia_matching": "diffim.image_difference.dia_matching",
    "diffim.exposure_io": "diffim.io.exposure_fits",
    "diffim.field_files": "diffim.sim.field_files",
    "diffim.fits_header": "diffim.io.header",
    "diffim.get_template": "diffim.template.get_template",
    "diffim.kernel_metrics": "diffim.image_difference.kernel_metrics",
    "diffim.kernel_source_inputs": "diffim.image_difference.kernel_source_inputs",
    "diffim.kernel_sources": "diffim.sources.kernel_sources",
    "diffim.make_kernel": "diffim.psfmatch.make_kernel",
    "diffim.matching": "diffim.sky.matching",
    "diffim.plain_fits": "diffim.io.plain_fits",
    "diffim.preconvolve": "diffim.subtract.preconvolve",
    "diffim.refcat": "diffim.sky.refcat",
    "diffim.scale_variance": "diffim.subtract.scale_variance",
    "diffim.skymap": "diffim.sky.skymap",
    "diffim.source_catalog": "diffim.sources.catalog",
    "diffim.source_selection": "diffim.image_difference.source_selection",
    "diffim.stats": "diffim.image.stats",
    "diffim.subtraction_qa": "diffim.image_difference.subtraction_qa",
    "diffim.warp_geometry": "diffim.warp.geometry",
    "diffim.warp_psf": "diffim.warp.psf",
    "diffim.wcs": "diffim.sky.wcs",
    "diffim.winter2013": "diffim.image_difference.winter2013",
}
"""Old module path -> present module path."""


class _PresentModuleLoader(importlib.abc.Loader):
    """Hands out the module at its present path under the old name."""

    def __init__(self, present):
        self.present = present

    def create_module(self, spec):
        return importlib.import_module(self.present)

    def exec_module(self, module):
        """Nothing to run: the present module is already executed."""


class _MovedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds old module paths (`MOVED_MODULES`) and nothing else."""

    def find_spec(self, fullname, path=None, target=None):
        present = MOVED_MODULES.get(fullname)
        if present is None:
            return None
        return importlib.util.spec_from_loader(fullname, _PresentModuleLoader(present))


def install():
    """Put the finder on `sys.meta_path` once."""
    if not any(isinstance(finder, _MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
