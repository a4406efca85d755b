"""Comparison of two outputs: exposures pixel by pixel, catalogues source by source.

Usable by the campaign (gen2 against gen3) and on its own
(``diffim-validate compare A B``, e.g. ours against another pipeline's).
Each comparison yields a `validation.model.Comparison` with a verdict judged
against `Tolerances`.
"""
from .catalogs import compare_catalogs
from .files import compare_files, read_comparable
from .images import compare_exposures
from .tolerances import Tolerances

__all__ = ["Tolerances", "compare_catalogs", "compare_exposures", "compare_files",
           "read_comparable"]
