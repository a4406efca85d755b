"""The Rubin stack's module names, resolving to this package's classes while a file runs.

Real override files begin with ``from lsst.ip.diffim.getTemplate import
GetCalexpAsTemplateTask``. `stack_modules` answers such imports from a
table (module name -> the names it offers) for the duration of a ``with``
block: its finder sits *last* on ``sys.meta_path``, so an installed module
of the same name (``lsst.daf.butler``, ``lsst.utils``, ...) always wins, no
package ``lsst.ip`` is installed, and the modules it made are gone again
afterwards. An observatory package (``lsst.obs.*``) cannot be stood in for:
importing one raises `ObservatoryPackageError`.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import sys

from ..errors import DiffimError

__all__ = ["ObservatoryPackageError", "stack_modules"]

OBSERVATORY_PREFIX = "lsst.obs"
"""Observatory packages: camera geometry and data layouts this project does not have."""


class ObservatoryPackageError(DiffimError):
    """An override file imports an observatory package (``lsst.obs.*``)."""

    def __init__(self, module, how="imports"):
        super().__init__(f"{how} {module}, an observatory package (lsst.obs.*) that this "
                         "project does not provide: use an override file without it")
        self.module = module


class _StackFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the table's modules (and their parent packages) by name."""

    def __init__(self, table):
        self.table = table
        self.packages = {name.rsplit(".", depth)[0] for name in table
                         for depth in range(1, name.count(".") + 1)}
        self.made = []

    def find_spec(self, fullname, path=None, target=None):
        if fullname == OBSERVATORY_PREFIX or fullname.startswith(OBSERVATORY_PREFIX + "."):
            raise ObservatoryPackageError(fullname)
        if fullname not in self.table and fullname not in self.packages:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        module.__dict__.update(self.table.get(module.__name__, {}))
        self.made.append(module.__name__)


@contextlib.contextmanager
def stack_modules(table):
    """Let ``import`` find the modules of ``table`` inside the block.

    Parameters
    ----------
    table : `dict` [`str`, `dict` [`str`, `object`]]
        Module name (``lsst.ip.diffim.getTemplate``) -> the names it offers.
    """
    finder = _StackFinder(table)
    sys.meta_path.append(finder)
    try:
        yield finder
    finally:
        sys.meta_path.remove(finder)
        for name in reversed(finder.made):
            module = sys.modules.pop(name, None)
            parent, _, child = name.rpartition(".")
            # The import system also set the module as an attribute of its parent.
            if module is not None and getattr(sys.modules.get(parent), child, None) is module:
                delattr(sys.modules[parent], child)
