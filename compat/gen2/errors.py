"""Errors of the gen2 adapter, each one line naming the dataset, data ID or repository."""
from __future__ import annotations

__all__ = ["DataIdSyntaxError", "Gen2Error", "NoResults", "ParentsMismatch", "PolicyError",
           "RegistryLookupError", "RepositoryError", "format_data_id"]


class Gen2Error(Exception):
    """Base class of the gen2 adapter's errors."""


class DataIdSyntaxError(Gen2Error):
    """A ``--id`` argument is not ``key=value`` tokens, or repeats a key, or a value
    does not cast to its key's type."""


class NoResults(Gen2Error):
    """No dataset of a type exists for a data ID in any readable repository.

    Parameters
    ----------
    message : `str`
        What was attempted, e.g. ``"No locations for get"``.
    dataset_type : `str`
    data_id : `dict`
    """

    def __init__(self, message, dataset_type, data_id):
        super().__init__(f"{message}: datasetType:{dataset_type} dataId:{format_data_id(data_id)}")
        self.dataset_type = dataset_type
        self.data_id = dict(data_id)


class RegistryLookupError(Gen2Error):
    """A data ID key missing from the call cannot be found as exactly one registry value."""


class PolicyError(Gen2Error):
    """The mapper policy is malformed, or a dataset type is unknown to it."""


class RepositoryError(Gen2Error):
    """A repository cannot be opened or created as asked (bad arguments, no mapper, ...)."""


class ParentsMismatch(RepositoryError):
    """An existing output repository records other parents than the Butler's inputs."""


def format_data_id(data_id):
    """A data ID as ``{key: value, ...}`` in key order, so messages are reproducible."""
    return "{" + ", ".join(f"{key!r}: {data_id[key]!r}" for key in sorted(data_id)) + "}"
