"""Comparison of two outputs: exposures pixel by pixel, catalogues source by source.

Usable by the campaign (gen2 against gen3) and on its own
(``diffim-validate compare A B``, e.g. ours against another pipeline's).
Each comparison yields a `validation.model.Comparison` with a verdict judged
against `Tolerances`.

The names below are imported on first use: the readers bring astropy and
pandas, which ``diffim-validate``'s parser (it shows the tolerances) does not need.
"""
from diffim._lazy import lazy_exports

__all__ = ["Tolerances", "compare_catalogs", "compare_exposures", "compare_files",
           "read_comparable"]

_EXPORTS = {
    "Tolerances": "validation.compare.tolerances",
    "compare_catalogs": "validation.compare.catalogs",
    "compare_exposures": "validation.compare.images",
    "compare_files": "validation.compare.files",
    "read_comparable": "validation.compare.files",
}
"""Public name -> the module that defines it."""

__getattr__ = lazy_exports(globals(), _EXPORTS)
