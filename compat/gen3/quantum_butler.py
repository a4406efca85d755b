"""Quanta executed without the registry, their outputs registered once per graph afterwards.

This is how ``pipetask run-qbb`` and BPS run a graph: each quantum gets a
`lsst.daf.butler.QuantumBackedButler`, which reads its inputs through the
datastore records the quantum graph carries (or, for the outputs of earlier
quanta, where the repository's file templates put them) and writes its
outputs' files straight into the repository's datastore, never opening the
registry. The process that built the graph then registers every output and
its datastore record in a few bulk inserts
(`lsst.daf.butler.QuantumProvenanceData.collect_and_transfer`), as
``butler transfer-from-graph`` does after a BPS run.

On SQLite a writeable butler begins every transaction, reads included, with
the database's write lock (``BEGIN IMMEDIATE``), so workers running quanta
with a full butler each took the lock several times per quantum and waited
for each other; with quantum-backed butlers only the graph's process writes.
"""
from __future__ import annotations

import itertools
import logging
from contextlib import contextmanager

from lsst.daf.butler import QuantumBackedButler, QuantumProvenanceData
from lsst.daf.butler.datastore.record_data import DatastoreRecordData

__all__ = ["QuantumButlerFactory", "register_outputs"]

_PROVENANCE_LOGGER = logging.getLogger("lsst.daf.butler._quantum_backed")


class QuantumButlerFactory:
    """Makes each quantum's butler for `SingleQuantumExecutor` (``limited_butler_factory``) and
    keeps what the last one wrote; one quantum at a time per process.

    The first quantum's butler is made as ``pipetask run-qbb`` makes each one
    (`lsst.daf.butler.QuantumBackedButler.initialize`: the repository's
    configuration read, its storage classes added, a datastore on an in-memory
    database of its records). The next quanta in this process share that
    datastore, which gets the records of their inputs it does not hold yet:
    making it again took 0.09 CPU s per quantum, more than a small quantum's
    task.

    Parameters
    ----------
    root : `str`
        The repository.
    universe : `lsst.daf.butler.DimensionUniverse`
    dataset_types : `dict` [`str`, `lsst.daf.butler.DatasetType`]
        The graph's dataset types by name (a quantum-backed butler has no
        registry to look them up in).
    """

    def __init__(self, root, universe, dataset_types):
        self.root, self.universe, self.dataset_types = root, universe, dataset_types
        self._first = None
        self._known = set()
        """IDs of the datasets whose records the shared datastore holds."""
        self._last = None

    def __getstate__(self):
        # Each process that unpickles the factory makes its own datastore.
        return {**self.__dict__, "_first": None, "_known": set(), "_last": None}

    def __call__(self, quantum):
        """A new `lsst.daf.butler.QuantumBackedButler` for ``quantum``."""
        self._last = None
        if self._first is None:
            self._last = self._first = _RecordingButler.initialize(
                config=self.root, quantum=quantum, dimensions=self.universe,
                dataset_types=self.dataset_types)
            self._known.update(_record_ids(quantum.datastore_records))
            return self._last
        new = {name: DatastoreRecordData({dataset_id: records for dataset_id, records
                                          in data.records.items() if dataset_id not in self._known})
               for name, data in quantum.datastore_records.items()}
        self._first.shared_datastore.import_records(new)
        self._known.update(_record_ids(new))
        self._last = _RecordingButler(
            _predicted_inputs(quantum), _ids(quantum.outputs.values()), self.universe,
            self._first.shared_datastore, self._first.storageClasses,
            dataset_types=self.dataset_types)
        return self._last

    def last_outputs(self):
        """`lsst.daf.butler.QuantumProvenanceData` of the last quantum's butler, once the
        executor has closed it: the outputs it wrote and their datastore records; `None`
        when making that butler failed."""
        if self._last is None:
            return None
        provenance = self._last.provenance
        self._known.update(provenance.actual_outputs)
        return provenance


class _RecordingButler(QuantumBackedButler):
    """A quantum-backed butler that keeps its provenance when the executor closes it.

    Closing the first butler of a factory would drop the in-memory database
    of the datastore the next ones share: it stays open while the factory
    lives.
    """

    provenance = None

    @property
    def shared_datastore(self):
        """The datastore, for the next quanta's butlers."""
        return self._datastore

    def close(self):
        with _quiet_unchecked_inputs():
            self.provenance = self.extract_provenance_data()


def _ids(ref_lists):
    """The IDs of the dataset references in ``ref_lists``."""
    return [ref.id for ref in itertools.chain.from_iterable(ref_lists)]


def _predicted_inputs(quantum):
    """What `QuantumBackedButler.initialize` lets a quantum read: its inputs and init-inputs."""
    return [*_ids(quantum.inputs.values()), *(ref.id for ref in quantum.initInputs.values())]


def _record_ids(records):
    """The dataset IDs of datastore name -> `DatastoreRecordData`."""
    return {dataset_id for data in records.values() for dataset_id in data.records}


@contextmanager
def _quiet_unchecked_inputs():
    """Without the warning that the executor did not check every predicted input.

    The executor checks only the inputs the graph has no datastore record
    for: those it has records for are overall inputs known to exist. The
    warning is about the provenance's ``available_inputs``, which nothing
    here uses; only the outputs are registered.
    """
    level = _PROVENANCE_LOGGER.level
    _PROVENANCE_LOGGER.setLevel(logging.ERROR)
    try:
        yield
    finally:
        _PROVENANCE_LOGGER.setLevel(level)


def register_outputs(butler, executed):
    """Register what the executed quanta wrote, in bulk.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        A writeable butler on the repository the quanta wrote into.
    executed : `list` [`tuple`]
        ``(quantum, provenance)`` of each quantum that ran: the
        `lsst.daf.butler.Quantum` and its `lsst.daf.butler.QuantumProvenanceData`.
    """
    if executed:
        quanta, provenance = zip(*executed)
        QuantumProvenanceData.collect_and_transfer(butler, quanta, provenance)
