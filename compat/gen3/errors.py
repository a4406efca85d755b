"""Errors of the gen3 adapter."""
from __future__ import annotations

__all__ = ["Gen3Error", "IngestError"]


class Gen3Error(Exception):
    """Base class of the gen3 adapter's errors."""


class IngestError(Gen3Error):
    """Inputs cannot be ingested: inconsistent, incomplete or already present."""
