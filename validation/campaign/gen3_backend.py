"""The gen3 side of a campaign: the shipped pipelines on a real gen3 repository, in process.

How a scenario maps to gen3 is the migration's own story:

- the monolith pipelines (``image_difference``, ``winter2013``) load the very
  override file gen2 got (``pipetask -C imageDifference:FILE``), plus the
  calexp pairing when the template is a calexp: an exact-equivalence run;
- the split pipelines (``coadd_template``, ``calexp_template``) get the
  scenario's ``gen3_config`` (their task labels are not the monolith's);
- ``detect_only`` runs on the collection of the scenario it builds on;
- ``one_calexp_coadd`` makes, per detector, a one-input coadd of the
  template calexp, then differences the science visits against it.

What a pipeline wrote is read back per data ID by `Gen3Outputs`, wherever the
comparison runs.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lsst.daf.butler import Butler

from compat.gen3 import INPUT_RUN, INSTRUMENT, make_repo, pipeline_path
from compat.gen3.ingest import ingest_field_files
from compat.gen3.runner import load_pipeline, run_pipeline

from .outputs import BackendOutput

__all__ = ["Gen3Backend", "Gen3Outputs", "PIPELINE_OUTPUTS"]

MONOLITH_LABEL = "imageDifference"
MONOLITH_PIPELINES = ("image_difference", "winter2013")
REGISTRY_FILE = "gen3.sqlite3"
"""The registry's SQLite file in a repository made without a registry URL."""


@dataclass(frozen=True)
class PipelineOutputs:
    """Where a pipeline's outputs are: dataset-type prefix, and whether keyed by template visit."""

    prefix: str
    keyed_by_template: bool = False


PIPELINE_OUTPUTS = {
    "image_difference": PipelineOutputs("deepDiff"),
    "winter2013": PipelineOutputs("deepDiff"),
    "coadd_template": PipelineOutputs("deepDiff"),
    "detect_only": PipelineOutputs("deepDiff"),
    "calexp_template": PipelineOutputs("pairDiff", keyed_by_template=True),
    "one_calexp_coadd": PipelineOutputs("calexpDiff"),
}
"""Shipped pipelines the harness knows how to read back."""


class Gen3Backend:
    """A gen3 repository made from the campaign's field files, and the pipelines run on it."""

    name = "gen3"

    def __init__(self, directory, registry_db=None):
        self.root = Path(directory) / "repo"
        self.registry_db = registry_db
        self.butler = None
        """A writeable butler on the repository, once ingested: each run's butlers are clones."""
        self._building = threading.Lock()
        """Held while a run builds its graph (`compat.gen3.runner.run_pipeline`'s
        ``building``): the campaign's lanes run two scenarios at once."""

    def ingest(self, files):
        """Make the repository from `diffim.sim.field_files.FieldFiles`.

        With a ``registry_db`` URL the registry lives in that database, in a
        schema named after the repository's path: a new run in the same work
        directory replaces it, other work directories keep theirs.
        """
        namespace = None
        if self.registry_db is not None:
            digest = hashlib.sha256(str(self.root.absolute()).encode()).hexdigest()[:12]
            namespace = f"diffim_{digest}"
        self.butler = make_repo(self.root, self.registry_db, namespace)
        if self.registry_db is None:
            _write_ahead_log(self.root / REGISTRY_FILE)
        ingest_field_files(self.butler, files)

    @staticmethod
    def output_collection(scenario):
        """The CHAINED output collection of ``scenario``."""
        return f"validation/{scenario.name}"

    @staticmethod
    def pipeline_files(scenarios):
        """The pipeline YAML files ``scenarios`` use (for the audit)."""
        return sorted({pipeline_path(s.gen3_pipeline) for s in scenarios})

    def run(self, scenario, data_ids, override_file, engine):
        """Run ``scenario``'s pipeline and read back what it wrote per data ID.

        The quanta run as Parsl apps on the ``parsl`` engine; on the
        ``local`` one with more than one worker, in that many worker
        processes (``pipetask run -j``). Two threads may run scenarios at
        once: their graphs are built one at a time, each beside the other's
        quanta and registration.

        Parameters
        ----------
        scenario : `validation.campaign.scenarios.Scenario`
        data_ids : `list` [`dict`]
        override_file : `pathlib.Path`
            The scenario as a ``-C`` file (for the monolith pipelines).
        engine : `validation.campaign.engine.Engine`

        Returns
        -------
        outputs : `Gen3Outputs`
        """
        started = time.monotonic()
        try:
            collections = self._execute(scenario, data_ids, override_file, engine)
        except Exception as error:  # any failure of the run fails every data ID, with its message
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            return Gen3Outputs(self.root, scenario, {}, error=message)
        return Gen3Outputs(self.root, scenario, collections,
                           seconds=(time.monotonic() - started) / len(data_ids),
                           butler=self.butler)

    def _execute(self, scenario, data_ids, override_file, engine):
        """Run the pipeline; returns the output collection of each detector."""
        visits = sorted({d["visit"] for d in data_ids})
        detectors = sorted({d["detector"] for d in data_ids})
        output = self.output_collection(scenario)
        if scenario.gen3_pipeline == "one_calexp_coadd":
            return {detector: self._one_calexp_coadd(scenario, visits, detector, engine)
                    for detector in detectors}
        where = (f"instrument='{INSTRUMENT}' AND visit IN ({_ids(visits)}) "
                 f"AND detector IN ({_ids(detectors)})")
        config = {label: dict(values) for label, values in scenario.gen3_config.items()}
        config_files = {}
        if scenario.gen3_pipeline in MONOLITH_PIPELINES:
            config_files[MONOLITH_LABEL] = [override_file]
            if scenario.template_visit is not None:
                config.setdefault(MONOLITH_LABEL, {})["templatePairs"] = _pairs(scenario, visits)
        elif scenario.gen3_pipeline == "calexp_template":
            config.setdefault("getCalexpTemplate", {})["templatePairs"] = _pairs(scenario, visits)
            where += f" AND group='{scenario.template_visit}'"
        inputs = [INPUT_RUN]
        if scenario.builds_on:
            inputs.insert(0, f"validation/{scenario.builds_on}")
        run_pipeline(self.root, scenario.gen3_pipeline, inputs, output, where, config=config,
                     config_files=config_files, jobs=engine.jobs, parsl=engine.parsl,
                     butler=self.butler, building=self._building)
        return {detector: output for detector in detectors}

    def _one_calexp_coadd(self, scenario, visits, detector, engine):
        """Template calexp -> one-input coadd, then differencing, for one detector."""
        coadds = f"validation/{scenario.name}/coadd-d{detector}"
        run_pipeline(self.root, "one_calexp_coadd#makeTemplate", [INPUT_RUN],
                     coadds, f"instrument='{INSTRUMENT}' AND visit={scenario.template_visit} "
                             f"AND detector={detector}", jobs=engine.jobs, parsl=engine.parsl,
                     butler=self.butler, building=self._building)
        output = f"validation/{scenario.name}/d{detector}"
        run_pipeline(self.root, "one_calexp_coadd#difference",
                     [coadds, INPUT_RUN], output,
                     f"instrument='{INSTRUMENT}' AND visit IN ({_ids(visits)}) "
                     f"AND detector={detector}", config=scenario.gen3_config, jobs=engine.jobs,
                     parsl=engine.parsl, butler=self.butler, building=self._building)
        return output


class Gen3Outputs:
    """What one scenario's pipeline wrote, read back per data ID; pickles small.

    Parameters
    ----------
    root : `pathlib.Path`
        The repository.
    scenario : `validation.campaign.scenarios.Scenario`
    collections : `dict` [`int`, `str`]
        Each detector's output collection.
    seconds : `float`, optional
        The run's wall time per data ID.
    error : `str`, optional
        Why the run failed (every data ID then fails with it).
    butler : `lsst.daf.butler.Butler`, optional
        A butler open on ``root`` in this process, cloned for reading
        (unpickled elsewhere, the reader opens its own).
    """

    def __init__(self, root, scenario, collections, seconds=None, error=None, butler=None):
        self.root, self.collections = root, collections
        self.seconds, self.error = seconds, error
        self.products = tuple(scenario.products)
        self.where = PIPELINE_OUTPUTS[scenario.gen3_pipeline]
        self.group = (str(scenario.template_visit) if self.where.keyed_by_template else None)
        self.labels = (() if error else
                       tuple(load_pipeline(scenario.gen3_pipeline).task_labels))
        self._open, self._butlers, self._found = butler, {}, {}
        """A butler on the repository, a clone of it per output collection read, and the
        datasets found per collection and dataset type (`_find`)."""

    def __getstate__(self):
        # Opened and queried where they are read.
        return {**self.__dict__, "_open": None, "_butlers": {}, "_found": {}}

    def _butler(self, collection):
        if self._open is None:
            made = (Path(self.root) / "butler.yaml").stat()
            self._open = _opened_butler(str(self.root), (made.st_ino, made.st_mtime_ns))
        if collection not in self._butlers:
            self._butlers[collection] = self._open.clone(collections=[collection], run=None)
        return self._butlers[collection]

    def read(self, data_id):
        """One data ID's `validation.campaign.outputs.BackendOutput`."""
        if self.error:
            return BackendOutput(error=self.error)
        collection = self.collections[data_id["detector"]]
        butler = self._butler(collection)
        key = {"instrument": INSTRUMENT, "visit": data_id["visit"],
               "detector": data_id["detector"]}
        if self.group is not None:
            key["group"] = self.group
        result = BackendOutput(seconds=self.seconds)
        for product in self.products:
            found = self._get(butler, collection, f"{self.where.prefix}_{product}", key)
            if found is not None:
                result.outputs[product] = found
        for label in self.labels:
            metadata = self._get(butler, collection, f"{label}_metadata", key)
            if metadata is not None:
                result.metadata[label] = metadata.to_dict()
        if not result.outputs:
            result.error = f"no {self.where.prefix}_* outputs in {collection}"
        return result

    def _get(self, butler, collection, dataset_type, key):
        """The dataset of ``dataset_type`` with data ID ``key`` in ``collection``, or `None`.

        A dataset type whose data IDs have the keys of ``key`` is looked up in
        one query for every data ID of the collection (`_find`): a registry
        query per dataset and data ID was 2.6 % of the default campaign's
        samples. Any other is looked up by ``key`` alone, as before.
        """
        found = self._find(butler, collection, dataset_type, frozenset(key))
        if found is None:
            return _get(butler, dataset_type, key)
        ref = found.get(tuple(key[name] for name in sorted(key)))
        return butler.get(ref) if ref is not None else None

    def _find(self, butler, collection, dataset_type, names):
        """The datasets of ``dataset_type`` in ``collection`` (first found along its chain, as
        ``butler.get`` finds them) by their data IDs' values in the order of sorted ``names``;
        `None` when the type's data IDs have other keys than ``names``."""
        if (collection, dataset_type) not in self._found:
            try:
                dimensions = set(butler.get_dataset_type(dataset_type).dimensions.required)
            except LookupError:  # not registered: nothing to find
                dimensions = set(names)
            refs = None
            if dimensions == names:
                try:
                    refs = butler.query_datasets(dataset_type, collections=[collection],
                                                 find_first=True, explain=False, limit=None)
                except LookupError:
                    refs = []
                refs = {tuple(ref.dataId[name] for name in sorted(names)): ref for ref in refs}
            self._found[(collection, dataset_type)] = refs
        return self._found[(collection, dataset_type)]


@functools.lru_cache(maxsize=4)
def _opened_butler(root, made):
    """A butler on the repository at ``root``, opened once per process and repository
    (``made``: its ``butler.yaml``'s inode and time, new when the repository is made again).

    A worker compares many scenarios' outputs, and opening the repository read the butler's
    configuration files again each time (0.1-0.3 CPU s); readers use clones, which see every
    collection written since.
    """
    return Butler.from_config(root)


def _write_ahead_log(path):
    """Switch the SQLite registry at ``path`` to write-ahead logging (it stays so in the file).

    The butler commits each dataset it writes or ingests (about 2300 commits in
    the default campaign): with SQLite's default rollback journal each commit
    synced the journal, the database and the directory (16.7 ms per commit on
    this machine), with the log one file (3.9 ms). Readers and the writer of
    the campaign's processes still see each other's commits.
    """
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def _get(butler, dataset_type, data_id):
    """The dataset, or `None` when this run did not write it."""
    try:
        return butler.get(dataset_type, data_id)
    except LookupError:
        return None


def _pairs(scenario, visits):
    return [f"{visit}:{scenario.template_visit}" for visit in visits]


def _ids(values):
    return ", ".join(str(value) for value in values)
