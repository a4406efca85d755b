"""Package attributes imported on first access (PEP 562), so importing a package stays cheap."""
from __future__ import annotations

import importlib

__all__ = ["lazy_exports"]


def lazy_exports(namespace, exports):
    """A module ``__getattr__`` that imports ``exports[name]`` (a module path) on first access.

    The value is stored in ``namespace`` (the package's ``globals()``), so the
    next access is an ordinary attribute lookup. A module ``__dir__`` is put
    in ``namespace`` too: ``dir(package)`` lists the names not loaded yet, as
    it would if they were imported at the top (completion in a shell, `help`).
    """
    package = namespace["__name__"]

    def __getattr__(name):
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(namespace.keys() | exports.keys())

    namespace["__dir__"] = __dir__
    return __getattr__
