"""Package attributes imported on first access (PEP 562), so importing a package stays cheap."""
from __future__ import annotations

import importlib

__all__ = ["lazy_exports"]


def lazy_exports(namespace, exports):
    """A module ``__getattr__`` that imports ``exports[name]`` (a module path) on first access.

    The value is stored in ``namespace`` (the package's ``globals()``), so the
    next access is an ordinary attribute lookup.
    """
    package = namespace["__name__"]

    def __getattr__(name):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
