"""Override files run statement by statement: every failing statement reported at once.

pex_config executes an override file in one ``exec``, so the first bad line
stops it and later problems stay hidden. `run_override_file` runs each
top-level statement on its own, in one namespace, and collects a
``file:line: statement: reason`` line for each that fails; a statement that
fails only because an earlier one did (a name a failed import should have
bound) says so. An observatory package (an ``lsst.obs.*`` import, or
``getPackageDir('obs_...')``) stops the file at once: what follows would
configure a camera this project does not have.
"""
from __future__ import annotations

import ast
import contextlib
import re
import sys
import threading
from pathlib import Path

import lsst.pex.config as pexConfig

from ..errors import DiffimError
from .stack_imports import ObservatoryPackageError, stack_modules

__all__ = ["OverrideFileConfig", "OverrideFileError", "run_override_file"]

_LOADING = threading.RLock()
"""Held while a file runs: `stack_modules` puts its stand-ins into ``sys.modules``, where every
thread sees them, so two threads loading files at once (a campaign's gen2 and gen3 lanes, whose
tables differ) would import each other's. Re-entrant: a file may load another
(``config.load(FILE)``). A module whose import loads a file, imported by a file in another
thread, would wait on it (none here does)."""


class OverrideFileError(DiffimError):
    """An override file has failing statements; one ``file:line: ...`` line each.

    Attributes
    ----------
    problems : `list` [`str`]
        The lines, in file order.
    """

    def __init__(self, problems):
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def run_override_file(config, source, filename, root="config", extra_locals=None,
                      stack_table=None):
    """Execute override-file ``source`` on ``config``.

    Parameters
    ----------
    config : `lsst.pex.config.Config`
        The config the file's ``root`` variable names.
    source : `str`
        The file's text.
    filename : `str`
        Its name, for ``__file__`` and the messages.
    root : `str`
        The variable naming the config (``config``; ``root`` in old files).
    extra_locals : `dict`, optional
        More names the file may use (gen3's ``parameters``).
    stack_table : `dict`, optional
        Stack module names the file may import (`stack_imports.stack_modules`).

    Returns
    -------
    imports : `set` [`str`]
        The modules the file imported, other than the stand-ins of
        ``stack_table`` (pex_config saves them with the config).

    Raises
    ------
    OverrideFileError
        One line per failing statement, or the one line of an
        observatory-package import.
    """
    try:
        tree = ast.parse(source, filename)
    except SyntaxError as error:
        raise OverrideFileError([f"{filename}:{error.lineno}: syntax error: {error.msg}"]) from None
    namespace = {"__file__": filename, **(extra_locals or {}), root: config}
    problems, unbound = [], {}
    with _LOADING, stack_modules(stack_table or {}) as finder, _thread_imports() as imported:
        lines = source.splitlines()
        for statement in tree.body:
            code = compile(ast.Module(body=[statement], type_ignores=[]), filename, "exec")
            where = f"{filename}:{statement.lineno}: {lines[statement.lineno - 1].strip()}"
            try:
                exec(code, namespace)
            except ObservatoryPackageError as error:
                module = _imported_module(statement) or error.module
                raise OverrideFileError([f"{where}: {ObservatoryPackageError(module)}"]) from None
            except NameError as error:
                earlier = unbound.get(error.name)
                problems.append(f"{where}: {error.name} is undefined (line {earlier} failed)"
                                if earlier else f"{where}: {_reason(error)}")
                unbound.update(dict.fromkeys(_bound_names(statement), statement.lineno))
            except Exception as error:
                package = _observatory_package(error)
                if package:
                    raise OverrideFileError(
                        [f"{where}: {ObservatoryPackageError(package, 'needs')}"]) from None
                problems.append(f"{where}: {_reason(error)}")
                unbound.update(dict.fromkeys(_bound_names(statement), statement.lineno))
        made = set(finder.made)
    if problems:
        raise OverrideFileError(problems)
    return imported - made


@contextlib.contextmanager
def _thread_imports():
    """The set of modules this thread imports for the first time inside the block.

    pex_config's `RecordingImporter` records every thread's: a lazy import
    in another lane while a file ran was saved with the file's config.
    """
    recorder = _ThreadImports()
    sys.meta_path.insert(0, recorder)
    try:
        yield recorder.modules
    finally:
        sys.meta_path.remove(recorder)


class _ThreadImports:
    """First on ``sys.meta_path``: notes what one thread imports, finds nothing itself."""

    def __init__(self):
        self.thread = threading.get_ident()
        self.modules = set()

    def find_spec(self, fullname, path=None, target=None):
        if threading.get_ident() == self.thread:
            self.modules.add(fullname)
        return None


def _observatory_package(error):
    """The observatory package (``obs_decam``) a failed package lookup names, if any.

    ``lsst.utils.getPackageDir('obs_decam')`` raises ``LookupError`` for a
    package that is not set up: the file reads the camera's own configs.
    """
    match = re.search(r"\bobs_\w+", str(error)) if isinstance(error, LookupError) else None
    return match and match.group(0)


def _imported_module(statement):
    """The module an import statement names (its first, for ``import a, b``)."""
    if isinstance(statement, ast.ImportFrom):
        return statement.module
    if isinstance(statement, ast.Import):
        return statement.names[0].name
    return None


def _bound_names(statement):
    """Names a statement binds (imports, assignments), for the follow-up messages."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in statement.names]
    return [node.id for node in ast.walk(statement)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)]


def _reason(error):
    """One line: pex_config's messages run over several, with a pointer to the source."""
    text = " ".join(str(error).split("For more information")[0].split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class OverrideFileConfig(pexConfig.Config):
    """A Config whose override files load through `run_override_file`.

    Every way pex_config and the middlewares load a file (``load``,
    ``loadFromStream``: gen2 ``-C``, gen3 ``pipetask -C label:file``, stored
    configs; ``loadFromString``) comes here. Subclasses set `stackModules`.
    """

    @staticmethod
    def stackModules():
        """The stack module names override files may import (`stack_imports`)."""
        return {}

    def load(self, filename, root="config"):
        path = Path(filename)
        if not path.is_file():  # "resource://" and "eups://" URIs: pex_config's own reading
            return super().load(filename, root=root)
        self._run(path.read_text(), str(path.resolve()), root, None)

    def loadFromStream(self, stream, root="config", filename=None, extraLocals=None):
        if not hasattr(stream, "read"):
            return self.loadFromString(stream, root=root, filename=filename,
                                       extraLocals=extraLocals)
        self._run(stream.read(), filename or getattr(stream, "name", "<unknown>"), root,
                  extraLocals)

    def loadFromString(self, code, root="config", filename=None, extraLocals=None):
        if isinstance(code, bytes):
            code = code.decode()
        if not isinstance(code, str):  # compiled code: its source file, when there is one
            filename = filename or code.co_filename
            if not Path(filename).is_file():
                return super().loadFromString(code, root=root, filename=filename,
                                              extraLocals=extraLocals)
            code = Path(filename).read_text()
        self._run(code, filename or "<string>", root, extraLocals)

    def _run(self, source, filename, root, extra_locals):
        if extra_locals and root in extra_locals:
            raise ValueError(f"{root} is reserved and cannot be used as a variable name in "
                             "extraLocals")
        self._imports.update(run_override_file(self, source, filename, root, extra_locals,
                                               self.stackModules()))
