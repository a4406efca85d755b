"""Applying ``-c name=value`` and ``-C file`` overrides to a pex_config Config.

Values are Python literals (``-c doDecorrelation=False``,
``-c makeKernel.kernel.active.spatialKernelOrder=1``); anything that is not a
literal is taken as a string (``-c mode=auto``). A name is any path an
override file can set (``-c makeKernel.kernel.name=DF``,
``-c "makeKernel.kernel['AL'].kernelSize=25"``; `diffim.config.paths`).
Override files are pex_config files (``config.doDecorrelation = False``),
run statement by statement so that every failing line is reported
(`diffim.config.override_file`). Overrides apply left to right, as on the
stack's command lines.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..config.paths import ConfigPathError, literal_or_text, set_path
from ..errors import DiffimError

__all__ = ["ConfigOverrideError", "add_override_options", "apply_overrides"]


class ConfigOverrideError(DiffimError):
    """A ``-c``/``-C`` override names an unknown field or has a bad value."""


class _Override(argparse.Action):
    """Collect ``-c`` and ``-C`` in command-line order, as ("set"|"file", text)."""

    def __call__(self, parser, namespace, value, option_string=None):
        kind = "file" if option_string in ("-C", "--config-file") else "set"
        setattr(namespace, self.dest, [*(getattr(namespace, self.dest) or []), (kind, value)])


def add_override_options(parser, example):
    """Add ``-c NAME=VALUE`` and ``-C FILE`` to ``parser``, collected in ``args.overrides``."""
    parser.add_argument("-c", "--config", dest="overrides", action=_Override, metavar="NAME=VALUE",
                        help=f"config override, e.g. -c {example} (repeatable)")
    parser.add_argument("-C", "--config-file", dest="overrides", action=_Override, metavar="FILE",
                        help="pex_config override file (repeatable)")
    parser.set_defaults(overrides=[])


def apply_overrides(config, overrides):
    """Apply ``("set", "name=value")`` and ``("file", path)`` items in order.

    Raises
    ------
    ConfigOverrideError
        Unknown field, bad value or unreadable file, named in the message.
    """
    # Imported here: it loads lsst.pex.config, which `diffim --help` and every
    # subcommand's --help (this module builds their parsers) do not need.
    from ..config.override_file import OverrideFileError, run_override_file

    for kind, item in overrides:
        if kind == "file":
            try:
                source = Path(item).read_text()
            except OSError as error:
                raise ConfigOverrideError(f"config file {item}: {error.strerror}") from None
            try:
                run_override_file(config, source, item)
            except OverrideFileError as error:
                raise ConfigOverrideError(str(error)) from None
            continue
        name, sep, text = item.partition("=")
        if not sep:
            raise ConfigOverrideError(f"config override {item!r} is not name=value")
        try:
            set_path(config, name.strip(), literal_or_text(text))
        except ConfigPathError as error:
            raise ConfigOverrideError(str(error)) from None
    try:
        config.validate()
    except Exception as error:
        raise ConfigOverrideError(f"invalid config: {error}") from None
