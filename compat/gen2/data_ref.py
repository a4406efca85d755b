"""What a `compat.gen2.butler.Butler` hands out: data references, their subsets, lazy reads.

A `ButlerDataRef` is one data ID bound to a butler (what a gen2 task's
``runDataRef`` receives); a `ButlerSubset` is the references of one dataset
type that `Butler.subset` found; a `ReadProxy` is a dataset read on first
use (``Butler.get(..., immediate=False)``).
"""
from __future__ import annotations

from .errors import format_data_id

__all__ = ["ButlerDataRef", "ButlerSubset", "ReadProxy"]


class ButlerSubset:
    """Data references of one dataset type, from `Butler.subset`.

    Attributes
    ----------
    butler : `Butler`
    datasetType : `str`
    """

    def __init__(self, butler, datasetType, data_ids):
        self.butler = butler
        self.datasetType = datasetType
        self._refs = [ButlerDataRef(butler, data_id, datasetType) for data_id in data_ids]

    def __len__(self):
        return len(self._refs)

    def __iter__(self):
        return iter(self._refs)

    def __getitem__(self, index):
        return self._refs[index]


class ButlerDataRef:
    """One data ID bound to a `Butler`: what a gen2 task's ``runDataRef`` receives.

    Parameters
    ----------
    butler : `Butler`
    dataId : `dict`
    datasetType : `str`, optional
        Default dataset type of `get`, `put` and `datasetExists`.
    """

    def __init__(self, butler, dataId, datasetType=None):
        self._butler = butler
        self.dataId = dict(dataId)
        self.datasetType = datasetType

    def getButler(self):
        """The `Butler` this reference reads and writes through."""
        return self._butler

    def get(self, datasetType=None, **rest):
        """`Butler.get` of this data ID (with ``rest`` keys added or overriding)."""
        return self._butler.get(datasetType or self.datasetType, self.dataId, **rest)

    def put(self, obj, datasetType=None, doBackup=False, **rest):
        """`Butler.put` of this data ID."""
        self._butler.put(obj, datasetType or self.datasetType, self.dataId, doBackup=doBackup,
                         **rest)

    def datasetExists(self, datasetType=None, write=False, **rest):
        """`Butler.datasetExists` of this data ID."""
        return self._butler.datasetExists(datasetType or self.datasetType, self.dataId,
                                          write=write, **rest)

    def __repr__(self):
        return f"ButlerDataRef({self.datasetType!r}, dataId={format_data_id(self.dataId)})"


class ReadProxy:
    """A dataset read on first attribute access (``Butler.get(..., immediate=False)``).

    Attributes are forwarded to the dataset; ``__subject__`` is the dataset itself.
    """

    def __init__(self, read):
        self.__read = read
        self.__cache = []

    @property
    def __subject__(self):
        if not self.__cache:
            self.__cache.append(self.__read())
        return self.__cache[0]

    def __getattr__(self, name):
        # Copying or unpickling asks for the private fields before __init__ set them.
        if name.startswith("_ReadProxy__"):
            raise AttributeError(name)
        return getattr(self.__subject__, name)
