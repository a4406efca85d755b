"""The pipelines shipped with the gen3 adapter, and how to name them.

Each is a YAML file in `PIPELINE_DIR`; `pipeline_path` turns a name from
`PIPELINES` into its path (a path to any other YAML file is returned as is).
From the shell::

    P=$(python -c 'import compat.gen3 as g; print(g.PIPELINE_DIR)')
    pipetask run -b REPO -i SimCam/inputs -o SimCam/diff -p $P/coadd_template.yaml \\
        -d "instrument='SimCam' AND visit=10" --register-dataset-types

In Python, `compat.gen3.runner.run_pipeline` takes the name
(``run_pipeline(repo, "coadd_template", ...)``).

=====================  =====================================================================
name                   what
=====================  =====================================================================
``coadd_template``     GetTemplate (deepCoadd patches of the spatial join) -> subtract ->
                       detect; ``deepDiff_*``
``calexp_template``    calexp-calexp: templates from explicit pairs
                       (``-c getCalexpTemplate:templatePairsFile=PAIRS`` or
                       ``templatePairs``), keyed by the template visit's ``group``;
                       ``pairDiff_*``
``one_calexp_coadd``   subset ``makeTemplate``: a calexp -> ``calexpCoadd`` (name one calexp
                       in the query); subset ``difference``: coadd-template differencing
                       on ``calexpCoadd``; ``calexpDiff_*``
``detect_only``        detection and measurement on an existing ``deepDiff_differenceExp``
                       collection (gen2's ``doSubtract = False``)
``subtract``           the subtraction alone, on an existing ``deepDiff_templateExp``
``image_difference``   the legacy monolith with every switch as config (gen2's outputs)
``winter2013``         ``Winter2013ImageDifferenceTask`` (calexp templates from the pairs)
=====================  =====================================================================
"""
from pathlib import Path

from ..errors import Gen3Error

__all__ = ["PIPELINES", "PIPELINE_DIR", "pipeline_path"]

PIPELINE_DIR = Path(__file__).parent
"""Directory of the pipeline YAML files shipped with the package."""

PIPELINES = ("coadd_template", "calexp_template", "one_calexp_coadd", "detect_only", "subtract",
             "image_difference", "winter2013")
"""Names of the shipped pipelines."""


def pipeline_path(name):
    """The YAML file of a shipped pipeline name, or ``name`` itself when it is a path.

    A ``#subset`` suffix (``one_calexp_coadd#makeTemplate``) is kept, as
    ``pipetask -p`` and ``Pipeline.from_uri`` read it.

    Raises
    ------
    Gen3Error
        ``name`` is neither a shipped pipeline nor an existing file.
    """
    base, hash_sign, subset = str(name).partition("#")
    path = PIPELINE_DIR / f"{base}.yaml" if base in PIPELINES else Path(base)
    if not path.is_file():
        raise Gen3Error(f"no pipeline {base!r}: not one of {', '.join(PIPELINES)} and no such "
                        "file")
    return f"{path}{hash_sign}{subset}"
