"""Middleware overhead per data ID: the diffim monolith direct, under gen2 and under gen3.

One science visit of a one-detector SimCam field, 1024 x 1024 and 4096 x 4096
(an LSST detector; ``-k 1k`` or ``-k 4k`` picks one), differenced against a
template assembled from the coadd patches (the default ``getTemplate``),
three ways:

- ``direct``: `diffim.template.get_template.GetCoaddAsTemplateTask` and
  `diffim.image_difference.ImageDifferenceTask` on inputs already in memory
  (the science calexp and src, the skymap, the coadd patches);
- ``gen2``: ``imageDifference.py REPO --id visit=V ccd=0 --rerun NEW`` in
  process (a new rerun each round, so the persisted config is never compared);
- ``gen3``: `compat.gen3.runner.run_pipeline` of the shipped
  ``image_difference`` pipeline in process (a new output collection each round),
  opening the repository each round as ``pipetask run`` does;
- ``gen3_shared``: the same on a clone of one butler opened once, as the
  campaign runs its scenarios (`validation.campaign.gen3_backend`): what a
  data ID costs where the repository is not opened again for it.

The middleware overhead is what a data ID costs beyond the science: for
gen2 the repository lookups, FITS reads of the inputs and writes of the
outputs, config and metadata persistence; for gen3 also the registry
queries, the quantum-graph build and the provenance (configs, packages).
It is ``median(gen2) - median(direct)`` and ``median(gen3) - median(direct)``,
in ``extra_info`` of the middleware benchmarks and in one line per size printed
when the module's benchmarks are done, e.g.
``middleware overhead per data ID: gen2 +0.21 s (+12 %), gen3 +1.4 s (+80 %)``.
Each benchmark has one warm-up round (the first gen3 call imports the task
and loads the pipeline). All three ways keep freed image-sized blocks for
reuse (`diffim.cli.main.keep_freed_memory`), as the processes that run them
do: ``imageDifference.py``, ``diffim-validate run`` and the Parsl workers
(without it, each fresh 4k plane costs a page fault per 4 kB).
"""
import itertools

import pytest
from lsst.daf.butler import Butler

from compat.gen2.commands import run_image_difference
from compat.gen2.ingest import ingest_field_files as ingest_gen2
from compat.gen3 import INPUT_RUN, INSTRUMENT
from compat.gen3.ingest import ingest_field_files as ingest_gen3
from compat.gen3.runner import run_pipeline
from diffim.cli.main import keep_freed_memory
from diffim.image_difference import ImageDifferenceTask
from diffim.sim import PairConfig
from diffim.sim.field import FieldConfig, simulate_field
from diffim.sim.field_files import write_field_files

SIZES = {"1k": 1024, "4k": 4096}
DETECTOR = 0
ROUNDS = {1024: 5, 4096: 3}

MEDIANS = {}
"""``(size, way)`` -> median seconds per data ID of each way that has run: ``direct``,
``gen2``, ``gen3``, ``gen3_shared``."""


@pytest.fixture(scope="module", autouse=True)
def freed_memory_kept():
    """Freed blocks reused from the start, not only from gen2's first command on (it sets
    this for the process: the benchmarks after this module run with it too, as they did)."""
    keep_freed_memory()


@pytest.fixture(scope="module", params=list(SIZES.values()), ids=list(SIZES))
def field(request, tmp_path_factory):
    """The field's source files, ingested into a gen2 and a gen3 repository.

    Returns
    -------
    field : `dict`
        ``files`` (`diffim.sim.field_files.FieldFiles`), ``gen2`` and ``gen3``
        (repository roots), ``visit`` (the science visit differenced) and
        ``size`` (of the detector, in pixels).
    """
    size = request.param
    root = tmp_path_factory.mktemp(f"middleware{size}")
    files = write_field_files(
        simulate_field(FieldConfig(sky=PairConfig(size=size, seed=3), detectors=(1, 1))),
        root / "files")
    ingest_gen2(files, root / "gen2")
    ingest_gen3(root / "gen3", files)
    return {"files": files, "gen2": root / "gen2", "gen3": root / "gen3",
            "visit": files.visits_with_role("science")[0], "size": size}


@pytest.fixture(scope="module", autouse=True)
def overhead_report(request):
    """Print the overhead lines once the module's benchmarks are done (not captured)."""
    yield
    lines = [line for line in map(overhead_line, SIZES.values()) if line]
    if lines:
        plugins = request.config.pluginmanager
        with plugins.getplugin("capturemanager").global_and_fixture_disabled():
            for line in lines:
                plugins.getplugin("terminalreporter").write_line(line)


def overhead(size, way):
    """``way``'s median minus the direct median, in seconds and as a fraction of it.

    Returns
    -------
    overhead : `tuple` [`float`, `float`] or `None`
        `None` unless both ``way`` and ``direct`` have run at ``size``.
    """
    if (size, way) not in MEDIANS or (size, "direct") not in MEDIANS:
        return None
    seconds = MEDIANS[size, way] - MEDIANS[size, "direct"]
    return seconds, seconds / MEDIANS[size, "direct"]


def overhead_line(size):
    """``"middleware overhead per data ID: gen2 +0.21 s (+12 %), ..."`` at ``size``, or "" if
    none is known."""
    parts = []
    for way in ("gen2", "gen3", "gen3_shared"):
        known = overhead(size, way)
        if known is not None:
            parts.append(f"{way} {known[0]:+.2f} s ({100 * known[1]:+.0f} %)")
    if not parts:
        return ""
    return (f"middleware overhead per data ID: {', '.join(parts)} "
            f"(direct {MEDIANS[size, 'direct']:.2f} s, {size} x {size} px, coadd template)")


def record(benchmark, field, way):
    """Keep ``way``'s median; for gen2 and gen3 put the overhead over direct in ``extra_info``."""
    size = field["size"]
    MEDIANS[size, way] = benchmark.stats.stats.median
    known = None if way == "direct" else overhead(size, way)
    if known is not None:
        benchmark.extra_info["overhead_s"] = round(known[0], 3)
        benchmark.extra_info["overhead_fraction_of_direct"] = round(known[1], 3)


def test_direct(benchmark, field):
    """Template from the in-memory coadd patches, then the monolith."""
    files = field["files"]
    key = (field["visit"], DETECTOR)
    exposure, sources = files.read_calexp(key), files.read_source(key)
    skymap = files.read_skymap()
    coadds = {patch: files.read_coadd(patch) for patch in files.coadds}

    def fresh_inputs():
        return (exposure.copy(), sources.copy()), {}

    def difference(science, science_sources):
        task = ImageDifferenceTask()
        template = task.getTemplate.run(coadds, skymap, science.bbox, science.wcs,
                                        science.visit_info)
        return task.run(science, template.exposure, scienceSources=science_sources,
                        templateSources=template.sources)

    result = benchmark.pedantic(difference, setup=fresh_inputs, rounds=ROUNDS[field["size"]],
                                warmup_rounds=1)
    record(benchmark, field, "direct")
    benchmark.extra_info["dia_sources"] = len(result.diaSources)
    assert len(result.diaSources) > 0


def test_gen2(benchmark, field):
    """``imageDifference.py`` for one data ID, each round into a new rerun."""
    reruns = (f"bench{number}" for number in itertools.count())

    def image_difference():
        return run_image_difference([str(field["gen2"]), "--id", f"visit={field['visit']}",
                                     f"ccd={DETECTOR}", "--rerun", next(reruns), "--doraise"])

    status = benchmark.pedantic(image_difference, rounds=ROUNDS[field["size"]], warmup_rounds=1)
    record(benchmark, field, "gen2")
    assert status == 0


def test_gen3(benchmark, field):
    """The ``image_difference`` pipeline for one data ID, each round a new output collection."""
    benchmark_gen3(benchmark, field, "gen3")


def test_gen3_shared(benchmark, field):
    """As `test_gen3`, each round on a clone of one writeable butler opened before."""
    benchmark_gen3(benchmark, field, "gen3_shared",
                   Butler.from_config(str(field["gen3"]), writeable=True))


def benchmark_gen3(benchmark, field, way, butler=None):
    """`run_pipeline` of ``image_difference`` for one data ID per round, into a new output
    collection each round, on a clone of ``butler`` if given; recorded as ``way``."""
    outputs = (f"bench/middleware/{way}/{number}" for number in itertools.count())
    where = f"instrument='{INSTRUMENT}' AND visit={field['visit']} AND detector={DETECTOR}"

    def pipeline():
        return run_pipeline(field["gen3"], "image_difference", [INPUT_RUN], next(outputs), where,
                            butler=butler)

    quanta = benchmark.pedantic(pipeline, rounds=ROUNDS[field["size"]], warmup_rounds=1)
    record(benchmark, field, way)
    assert len(quanta) == 1
