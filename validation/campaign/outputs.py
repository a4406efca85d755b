"""What a backend hands back for one data ID of one scenario."""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BackendOutput", "data_id_key"]


@dataclass
class BackendOutput:
    """One data ID's outputs from one middleware.

    Attributes
    ----------
    outputs : `dict` [`str`, `object`]
        Product (``differenceExp``, ``diaSrc``, ...) -> what the backend's
        butler returned; a product the run did not write is absent.
    metadata : `dict`
        The task metadata of this data ID, nested.
    seconds : `float` or `None`
        Wall time of this data ID (the backend's share of its run).
    error : `str` or `None`
        One line when the data ID failed.
    """

    outputs: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    seconds: float | None = None
    error: str | None = None


def data_id_key(data_id):
    """``(visit, detector)`` of a harness data ID (``{"visit": .., "detector": ..}``)."""
    return data_id["visit"], data_id["detector"]
