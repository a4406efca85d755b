"""The results database of the validation harness: SQLite by default, any SQLAlchemy URL.

`ResultsDB` is the whole public interface; the other modules are its parts
(tables, schema versions, engines, reading, writing).
"""
from .migrations import SCHEMA_VERSION
from .store import ResultsDB

__all__ = ["SCHEMA_VERSION", "ResultsDB"]
