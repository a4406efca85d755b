"""A small SimCam field in a gen3 repository, shared by the gen3 tests."""
import sys
from pathlib import Path

from compat.gen3.repo import INSTRUMENT, register_dataset_types
from diffim.sim.config import PairConfig
from diffim.sim.field import FieldConfig, VisitSpec, simulate_field
from diffim.template import GetCalexpAsTemplateTask

VENV_BIN = Path(sys.executable).parent
"""Where the middleware's commands (butler, pipetask) are installed beside this Python."""
TEMPLATE_VISIT = 1
SECOND_TEMPLATE_VISIT = 2
SCIENCE_VISIT = 10

TEMPLATE_DATASET = "deepDiff_templateExp"


def small_field():
    """Two 256 px detectors, two template visits, one science visit (dense enough
    in stars for a spatial kernel of order 2)."""
    return simulate_field(FieldConfig(
        sky=PairConfig(size=256, star_density=2500.0),
        detectors=(2, 1),
        visits=(VisitSpec(TEMPLATE_VISIT, "template", fwhm=3.4, mjd=60000.1),
                VisitSpec(SECOND_TEMPLATE_VISIT, "template", (-3.0, 2.0), -0.1, 3.8, 1.0,
                          60001.1),
                VisitSpec(SCIENCE_VISIT, "science", (4.0, 3.0), 0.1, 4.8, 0.9, 60400.2))))


def put_calexp_template(butler, detector, run):
    """Warp the template visit's calexp onto the science detector and put it as
    the subtraction's template input (what the template tasks will make)."""
    get = {"instrument": INSTRUMENT, "detector": detector, "collections": run}
    science = butler.get("calexp", visit=SCIENCE_VISIT, **get)
    template = GetCalexpAsTemplateTask().run(
        butler.get("calexp", visit=TEMPLATE_VISIT, **get),
        butler.get("src", visit=TEMPLATE_VISIT, **get), science.bbox, science.wcs).exposure
    register_dataset_types(butler, {TEMPLATE_DATASET: (("instrument", "visit", "detector"),
                                                       "DiffimExposure")})
    return butler.put(template, TEMPLATE_DATASET, instrument=INSTRUMENT, visit=SCIENCE_VISIT,
                      detector=detector, run=run)
