"""Command-line overrides of a task config and of log levels: ``-c``, ``-C``, ``-L``.

``-c name=value`` sets a config field by any path an override file can set
(``a.b``, ``subtract.name``, ``subtract['al'].kernel['AL'].kernelSize``). As gen2 did, the value is
first tried as the string it is (so ``-c mode=auto`` needs no quotes), then
as a Python literal (``-c doSubtract=False``, ``-c warp.order=[1, 2]``);
unlike gen2, which called ``eval``, a value is never executed.
``-C file`` loads a pex_config override file (``config.load``), which may
``retarget`` sub-tasks; a task config that runs files statement by statement
(`diffim.config.override_file`) reports every failing line. Both apply to ``namespace.config`` in command-line
order. ``-L [component=]LEVEL`` sets the level of a logger (the root logger
without a component).
"""
from __future__ import annotations

import argparse
import ast
import logging

from diffim.config.override_file import OverrideFileError
from diffim.config.paths import ConfigValueError, UnknownConfigFieldError, set_path

__all__ = ["ConfigFileAction", "ConfigValueAction", "LOG_LEVELS", "LogLevelAction",
           "first_line"]

LOG_LEVELS = {"TRACE": 5, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
              "WARNING": logging.WARNING, "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}
"""The level names ``-L`` accepts (gen2's, with Python's ``WARNING``)."""


def first_line(error):
    """The first line of an error's message: pex_config's run over several lines."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class ConfigValueAction(argparse.Action):
    """``-c name=value [name=value ...]``: set config fields of ``namespace.config``."""

    def __call__(self, parser, namespace, values, option_string=None):
        for name_value in values:
            name, equals, text = name_value.partition("=")
            if not equals or not name or not text:
                parser.error(f"{option_string} value {name_value!r} must be in form name=value")
            try:
                set_path(namespace.config, name, text)
                continue
            except UnknownConfigFieldError:
                parser.error(f"no config field: {name}")
            except ConfigValueError:
                pass  # not a string field: try the text as a literal
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                parser.error(f"cannot parse {text!r} as a value for {name}")
            try:
                set_path(namespace.config, name, value)
            except ConfigValueError as error:
                parser.error(f"cannot set config.{name}={value!r}: {error.reason}")


class ConfigFileAction(argparse.Action):
    """``-C file [file ...]``: load pex_config override files into ``namespace.config``."""

    def __call__(self, parser, namespace, values, option_string=None):
        for path in values:
            try:
                namespace.config.load(path)
            except OverrideFileError as error:  # every failing line, each with file:line
                parser.error(str(error))
            except Exception as error:
                parser.error(f"cannot load config file {path!r}: {type(error).__name__}: "
                             f"{first_line(error)}")


class LogLevelAction(argparse.Action):
    """``-L [component=]LEVEL ...``: set logger levels as the options are parsed."""

    def __call__(self, parser, namespace, values, option_string=None):
        for component_level in values:
            component, equals, level = component_level.partition("=")
            if not equals:
                component, level = "", component_level
            if level.upper() not in LOG_LEVELS:
                parser.error(f"loglevel={level!r} not one of {', '.join(LOG_LEVELS)}")
            logging.getLogger(component or None).setLevel(LOG_LEVELS[level.upper()])
            namespace.loglevel.append((component, level.upper()))
