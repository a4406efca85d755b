"""Quanta executed without the registry, their outputs registered once per graph afterwards.

This is how ``pipetask run-qbb`` and BPS run a graph: each quantum gets a
`lsst.daf.butler.QuantumBackedButler`, which reads its inputs through the
datastore records the quantum graph carries (or, for the outputs of earlier
quanta, where the repository's file templates put them) and writes its
outputs' files straight into the repository's datastore, never opening the
registry. The process that built the graph then registers every output and
its datastore record in a few bulk inserts, from the provenance each
quantum's butler kept (`lsst.daf.butler.QuantumProvenanceData.collect_and_transfer`):
what ``butler transfer-from-graph`` does after a BPS run, which finds the
outputs by looking for their files instead.

On SQLite a writeable butler begins every transaction, reads included, with
the database's write lock (``BEGIN IMMEDIATE``), so workers running quanta
with a full butler each took the lock several times per quantum and waited
for each other; with quantum-backed butlers only the graph's process writes.
"""
from __future__ import annotations

import itertools
import logging
import threading
from pathlib import Path

from lsst.daf.butler import QuantumBackedButler, QuantumProvenanceData
from lsst.daf.butler.datastore.record_data import DatastoreRecordData

__all__ = ["QuantumButlerFactory", "register_outputs"]

_PROVENANCE_LOGGER = logging.getLogger("lsst.daf.butler._quantum_backed")
"""Where `QuantumBackedButler.extract_provenance_data` warns (its module's logger)."""


class QuantumButlerFactory:
    """Makes each quantum's butler for `SingleQuantumExecutor` (``limited_butler_factory``) and
    keeps what the last one wrote, per thread (a thread runs one quantum at a time).

    The butlers of a thread share one datastore per repository
    (`_SharedDatastore`; its in-memory database of records is one per thread
    anyway: SQLAlchemy gives each thread its own connection to an in-memory
    SQLite database): making one per quantum, as ``pipetask run-qbb``
    does (`lsst.daf.butler.QuantumBackedButler.initialize`: the repository's
    configuration read, its storage classes added, a datastore on an in-memory
    database of its records) took 0.09 CPU s, more than a small quantum's task.

    Parameters
    ----------
    root : `str`
        The repository.
    universe : `lsst.daf.butler.DimensionUniverse`
        The repository's dimensions.
    dataset_types : `dict` [`str`, `lsst.daf.butler.DatasetType`]
        The graph's dataset types by name (a quantum-backed butler has no
        registry to look them up in).
    """

    def __init__(self, root, universe, dataset_types):
        self.root, self.universe, self.dataset_types = root, universe, dataset_types
        self._local = threading.local()

    def __getstate__(self):
        return {name: value for name, value in self.__dict__.items() if name != "_local"}

    def __setstate__(self, state):
        self.__dict__.update(state, _local=threading.local())

    def __call__(self, quantum):
        """A new `lsst.daf.butler.QuantumBackedButler` for ``quantum``.

        Parameters
        ----------
        quantum : `lsst.daf.butler.Quantum`

        Returns
        -------
        butler : `lsst.daf.butler.QuantumBackedButler`
        """
        self._local.last = None
        stamp = (Path(self.root) / "butler.yaml").stat()
        shared = _shared_datastore(self.root, (stamp.st_ino, stamp.st_mtime_ns), self.universe)
        self._local.last = shared.butler_for(quantum, self.universe, self.dataset_types)
        return self._local.last

    def last_outputs(self):
        """`lsst.daf.butler.QuantumProvenanceData` of this thread's last quantum's butler,
        once the executor has closed it: the outputs it wrote and their datastore records;
        `None` when making that butler failed."""
        last = getattr(self._local, "last", None)
        return None if last is None else last.provenance


_THREAD_DATASTORES = threading.local()
"""Each thread's `_SharedDatastore`s (``datastores``: a dict), gone with the thread."""
_DATASTORES_PER_THREAD = 4


def _shared_datastore(root, config_stamp, universe):
    """The `_SharedDatastore` of the repository at ``root`` (a directory) in this thread.

    ``config_stamp`` is its ``butler.yaml``'s inode and time (another when the
    repository is made again). Its records live in an in-memory SQLite
    database, which SQLAlchemy gives each thread anew: it is kept per thread
    object, not per thread id (ids are reused by later threads, which would
    find a datastore whose tables their connection does not have). A thread
    runs quanta on one repository; four leave room for a repository made
    again; the oldest is dropped first, with its records.
    """
    kept = getattr(_THREAD_DATASTORES, "datastores", None)
    if kept is None:
        kept = _THREAD_DATASTORES.datastores = {}
    key = (root, config_stamp, universe)
    if key not in kept:
        if len(kept) == _DATASTORES_PER_THREAD:
            del kept[next(iter(kept))]
        kept[key] = _SharedDatastore(root, universe)
    return kept[key]


class _SharedDatastore:
    """A repository's datastore without its registry, on an in-memory database of records,
    for the quantum-backed butlers of one thread, one after the other."""

    def __init__(self, root, universe):
        self._holder = _RecordingButler.from_predicted(
            config=root, predicted_inputs=(), predicted_outputs=(), dimensions=universe,
            datastore_records={})
        self._held = set()
        """IDs of the datasets whose records the datastore holds."""

    def butler_for(self, quantum, universe, dataset_types):
        """A quantum-backed butler for ``quantum`` on this datastore, which gets the records
        of the quantum's inputs it does not hold yet.

        Parameters
        ----------
        quantum : `lsst.daf.butler.Quantum`
        universe : `lsst.daf.butler.DimensionUniverse`
        dataset_types : `dict` [`str`, `lsst.daf.butler.DatasetType`]

        Returns
        -------
        butler : `_RecordingButler`
        """
        datastore = self._holder.shared_datastore
        new = {name: DatastoreRecordData({dataset_id: records for dataset_id, records
                                          in data.records.items() if dataset_id not in self._held})
               for name, data in quantum.datastore_records.items()}
        datastore.import_records(new)
        self._held.update(_record_ids(new))
        return _RecordingButler(_predicted_inputs(quantum), _ids(quantum.outputs.values()),
                                universe, datastore, self._holder.storageClasses,
                                dataset_types=dataset_types, held=self._held)


class _RecordingButler(QuantumBackedButler):
    """A quantum-backed butler that keeps its provenance when the executor closes it.

    Its datastore is shared (`_SharedDatastore`) and stays open: closing adds
    the outputs written to ``held``, the IDs the datastore holds records of.
    """

    provenance = None

    def __init__(self, *args, held=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.held = held

    @property
    def shared_datastore(self):
        """The datastore, for the next quanta's butlers.

        The middleware has no public way to make a datastore without a
        registry but through a quantum-backed butler, nor to hand one butler's
        datastore to another: this reads the butler's own (private) attribute.
        """
        return self._datastore

    def close(self):
        # Not the base class's close, which disposes of the database of a butler made by
        # initialize or from_predicted: the shared datastore's records live there.
        self.provenance = self.extract_provenance_data()
        if self.held is not None:
            self.held.update(self.provenance.actual_outputs)


def _ids(ref_lists):
    """The IDs of the dataset references in ``ref_lists``."""
    return [ref.id for ref in itertools.chain.from_iterable(ref_lists)]


def _predicted_inputs(quantum):
    """What `QuantumBackedButler.initialize` lets a quantum read: its inputs and init-inputs."""
    return [*_ids(quantum.inputs.values()), *(ref.id for ref in quantum.initInputs.values())]


def _record_ids(records):
    """The dataset IDs of datastore name -> `DatastoreRecordData`."""
    return {dataset_id for data in records.values() for dataset_id in data.records}


class _UncheckedInputsWarning(logging.Filter):
    """Drops the warning that the executor did not check every predicted input.

    The executor checks only the inputs the graph has no datastore record
    for: those it has records for are overall inputs known to exist. The
    warning is about the provenance's ``available_inputs``, which nothing
    here uses (only the outputs are registered); the provenance's other
    warnings pass.
    """

    def filter(self, record):
        return not str(record.msg).startswith("Execution harness did not check predicted inputs")


_PROVENANCE_LOGGER.addFilter(_UncheckedInputsWarning())


def register_outputs(butler, executed):
    """Register what the executed quanta wrote, in bulk, in one transaction.

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
        # One transaction: the datasets of a graph are registered whole or not at all, with
        # one commit instead of one per dataset type.
        with butler.transaction():
            QuantumProvenanceData.collect_and_transfer(butler, quanta, provenance)
