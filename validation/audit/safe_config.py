"""Read a pex_config file (an override file or a persisted ``*_config``) without running it.

pex_config files are Python, and loading one executes it. The audit must not:
a file it reads may come from anywhere. This module parses the file with
`ast` and understands only the statements such files are made of:

- ``config.a.b = <literal>`` (``root.`` in gen3's persisted configs), the
  value read with `ast.literal_eval`, or ``float('nan')``-style conversions
  of a string literal as pex_config writes them;
- ``config.a = config.b``: a reference to another field's value;
- ``config.a.retarget(Task, ...)``: the target's dotted name is recorded;
- ``config.load(FILE)``, ``config.a.load(FILE)``: recorded as a reference and
  merged only when the caller's ``loader`` supplies that file (parsed the same
  way);
- ``import``/``from`` statements: recorded, never imported;
- ``assert type(config) is X, ...`` (persisted configs; ``==`` in older
  ones): the config class.

Every other statement (other calls, ``exec``, ``open``, loops,
comprehensions, attribute access on imported modules, ...) is listed as a
problem ``"not evaluated: FILE:LINE: SOURCE"`` and skipped.
"""
from __future__ import annotations

import ast
import os
import re

from .parsed import FieldReference, ParsedConfig, Setting, follow_load

__all__ = ["ROOT_NAMES", "parse_config_source"]

ROOT_NAMES = ("config", "root")
"""Names a pex_config file calls the config it edits (``root`` in gen3 persisted configs)."""

_NOT_EVALUATED = object()


def parse_config_source(text, name, *, directory=None, loader=None):
    """Read pex_config Python source without executing any of it.

    Parameters
    ----------
    text : `str`
        The source.
    name : `str`
        Where it comes from (a path, or a path and a YAML key), for
        evidence and problems.
    directory : `str`, optional
        Directory relative ``load`` paths are resolved against (the file's).
    loader : callable, optional
        ``loader(path) -> ParsedConfig or None``: the parsed file a ``load``
        names, or `None` not to follow it.

    Returns
    -------
    parsed : `ParsedConfig`
    """
    parser = _Parser(text, name, directory, loader)
    try:
        tree = ast.parse(text, filename=name)
    except SyntaxError as error:
        parser.parsed.problems.append(f"not parsed: {name}:{error.lineno}: {error.msg}")
        return parser.parsed
    for statement in tree.body:
        parser.statement(statement)
    return parser.parsed


class _Parser:
    """Walks the top-level statements of one source; each handler returns whether it understood."""

    def __init__(self, text, name, directory, loader):
        self.lines = re.split(r"\r\n?|\n", text)
        self.directory = directory
        self.loader = loader
        self.parsed = ParsedConfig(name)
        # Local names bound by import statements -> the dotted names they stand for.
        self.imported = {}

    def statement(self, node):
        handlers = {ast.Import: self._import, ast.ImportFrom: self._import_from,
                    ast.Assign: self._assign, ast.Expr: self._expression, ast.Assert: self._assert}
        handler = handlers.get(type(node))
        if handler is None or not handler(node):
            self.parsed.problems.append(f"not evaluated: {self._where(node)}: {self._source(node)}")

    def _where(self, node):
        return f"{self.parsed.name}:{node.lineno}"

    def _source(self, node):
        """The statement's first line (`ast.get_source_segment` re-splits the text every call)."""
        line = self.lines[node.lineno - 1].encode()  # ast column offsets count UTF-8 bytes
        multiline = node.end_lineno > node.lineno
        end = len(line) if multiline else node.end_col_offset
        return line[node.col_offset:end].decode(errors="replace") + (" ..." if multiline else "")

    def _setting(self, value, node):
        return Setting(value, self._where(node), self._source(node))

    def _import(self, node):
        for alias in node.names:
            if alias.asname:
                self.imported[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.imported[top] = top
            self.parsed.references.append(f"import {alias.name}")
        return True

    def _import_from(self, node):
        if any(alias.name == "*" for alias in node.names):
            return False
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            self.imported[alias.asname or alias.name] = f"{module}.{alias.name}"
            self.parsed.references.append(f"from {module} import {alias.name}")
        return True

    def _assign(self, node):
        if len(node.targets) != 1:
            return False
        path = self._field_path(node.targets[0])
        value = self._value(node.value)
        if not path or value is _NOT_EVALUATED:
            return False
        self.parsed.values[path] = self._setting(value, node)
        return True

    def _expression(self, node):
        if isinstance(node.value, ast.Constant):
            return True  # a docstring
        call = node.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            return False
        path = self._field_path(call.func.value)
        if path is None:
            return False
        if call.func.attr == "retarget" and path:
            return self._retarget(path, call, node)
        if call.func.attr == "load":
            return self._load(path, call)
        return False

    def _retarget(self, path, call, node):
        target = _argument(call, 0, "target")
        target_name = self._dotted_name(target) if target is not None else None
        if target_name is None:
            return False
        self.parsed.retargets[path] = self._setting(target_name, node)
        return True

    def _load(self, path, call):
        filename = _argument(call, 0, "filename")
        load_path = self._load_path(filename) if filename is not None else None
        if load_path is None:
            return False
        follow_load(self.parsed, load_path, self.loader, path)
        return True

    def _assert(self, node):
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1
                and isinstance(test.ops[0], (ast.Is, ast.Eq))  # older pex_config wrote ==
                and isinstance(test.left, ast.Call)
                and self._dotted_name(test.left.func) == "type" and len(test.left.args) == 1
                and self._field_path(test.left.args[0]) == ""):
            return False
        class_name = self._dotted_name(test.comparators[0])
        if class_name is None:
            return False
        self.parsed.config_type = self._setting(class_name, node)
        return True

    def _field_path(self, node):
        """``"a.b['k']"`` for ``config.a.b['k']``, ``""`` for ``config``, else `None`."""
        parts = []
        while isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node, ast.Attribute):
                parts.append(f".{node.attr}")
            elif isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, (str, int)):
                parts.append(f"[{node.slice.value!r}]")
            else:
                return None
            node = node.value
        if not (isinstance(node, ast.Name) and node.id in ROOT_NAMES):
            return None
        return "".join(reversed(parts)).lstrip(".")

    def _dotted_name(self, node):
        """The dotted name a ``Name``/``Attribute`` chain stands for (imports resolved)."""
        attributes = []
        while isinstance(node, ast.Attribute):
            attributes.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        return ".".join([self.imported.get(node.id, node.id)] + attributes[::-1])

    def _value(self, node):
        try:
            return ast.literal_eval(node)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
        path = self._field_path(node)
        if path:
            earlier = self.parsed.values.get(path)
            return earlier.value if earlier else FieldReference(path)
        # pex_config writes non-finite floats as float('nan'); converting a string is safe.
        if (isinstance(node, ast.Call) and self._dotted_name(node.func) == "float"
                and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            try:
                return float(node.args[0].value)
            except ValueError:
                return _NOT_EVALUATED
        return _NOT_EVALUATED

    def _load_path(self, node):
        """The file a ``load`` names: a string or ``os.path.join(os.path.dirname(__file__), ...)``.
        """
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            parts = [node.value]
        elif (isinstance(node, ast.Call) and self._dotted_name(node.func) == "os.path.join"
              and node.args and _is_file_directory(node.args[0], self._dotted_name)
              and all(isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                      for arg in node.args[1:])):
            parts = [arg.value for arg in node.args[1:]]
        else:
            return None
        return os.path.normpath(os.path.join(self.directory or "", *parts))


def _argument(call, position, keyword):
    """The call's argument at ``position`` or named ``keyword``, or `None`."""
    if len(call.args) > position:
        return call.args[position]
    return next((kw.value for kw in call.keywords if kw.arg == keyword), None)


def _is_file_directory(node, dotted_name):
    """Whether ``node`` is ``os.path.dirname(__file__)``."""
    return (isinstance(node, ast.Call) and dotted_name(node.func) == "os.path.dirname"
            and len(node.args) == 1 and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "__file__")
