"""gen2's command-line parser: ``REPO --id ... (--rerun [IN:]OUT | --output DIR) -c -C --show ...``.

`ArgumentParser.parse_args` returns a namespace holding the frozen config,
a `compat.gen2.butler.Butler` on the input and output repositories, and a
`compat.gen2.data_ids.DataIdContainer` per data ID option whose data
references the task runner runs over. Config overrides apply in
command-line order as they are parsed. ``@file`` arguments read more
arguments from a file, several per line, with ``#`` comments.

As in gen2, an output repository is required (``--output`` or
``--rerun``, or ``$PIPE_OUTPUT_ROOT``), and it may not be the input one;
``REPO``, ``--output`` and ``--calib`` are relative to ``$PIPE_INPUT_ROOT``,
``$PIPE_OUTPUT_ROOT`` and ``$PIPE_CALIB_ROOT`` when those are set. A bare
``--id`` means every data ID of the dataset type; a bare ``-L`` changes
nothing. ``--longlog`` switches the log lines to gen2's long format,
``--debug`` imports the user's ``debug`` module (gen2's ``lsstDebug``
hook; this project's tasks have no debug displays), ``--profile FILE``
writes cProfile statistics of the data references' processing.
"""
from __future__ import annotations

import argparse
import logging
import os
import shlex
import shutil
import sys
from pathlib import Path

from ..names import path_name_problem
from .butler import Butler
from .config_overrides import ConfigFileAction, ConfigValueAction, LogLevelAction, first_line
from .data_ids import DataIdContainer, IdValueAction
from .errors import Gen2Error
from .log_format import install_gen2_log_handler
from .repository import PARENT_LINK, read_cfg
from .show import check_show, show_config_items

__all__ = ["ArgumentParser"]

INPUT_ROOT, CALIB_ROOT, OUTPUT_ROOT = "PIPE_INPUT_ROOT", "PIPE_CALIB_ROOT", "PIPE_OUTPUT_ROOT"
"""Environment variables giving the default root of each repository path (gen2's)."""

_EPILOG = """\
Notes:
  * --config, --config-file or --configfile, --id, --loglevel and @file may appear
    multiple times; all values are used, in order left to right
  * @file reads command-line options from the specified file:
    * data may be distributed among multiple lines (e.g. one option per line)
    * data after # is treated as a comment and ignored
    * blank lines and lines starting with # are ignored
  * To specify multiple values for an option, do not use = after the option name:
    * right: --config-file foo bar
    * wrong: --config-file=foo bar
"""


class ArgumentParser(argparse.ArgumentParser):
    """The argument parser of a gen2 command-line task.

    Parameters
    ----------
    name : `str`
        The task's name (``_DefaultName``), for messages.
    usage : `str`, optional
    **kwargs
        More `argparse.ArgumentParser` arguments.
    """

    def __init__(self, name, usage="%(prog)s input [options]", **kwargs):
        super().__init__(usage=usage, fromfile_prefix_chars="@", epilog=_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
        self._name = name
        self._data_id_args = {}
        self.add_argument("input", help=f"path to input data repository, relative to ${INPUT_ROOT}")
        self.add_argument("--calib", dest="rawCalib",
                          help=f"path to input calibration repository, relative to ${CALIB_ROOT}")
        self.add_argument("--output", dest="rawOutput",
                          help="path to output data repository (need not exist), relative to "
                               f"${OUTPUT_ROOT}")
        self.add_argument("--rerun", dest="rawRerun", metavar="[INPUT:]OUTPUT",
                          help="rerun name: sets OUTPUT to ROOT/rerun/OUTPUT; optionally sets "
                               "ROOT to ROOT/rerun/INPUT")
        self.add_argument("-c", "--config", nargs="*", action=ConfigValueAction,
                          help="config override(s), e.g. -c foo=newfoo bar.baz=3",
                          metavar="NAME=VALUE")
        self.add_argument("-C", "--config-file", "--configfile", dest="configfile", nargs="*",
                          action=ConfigFileAction, help="config override file(s)")
        self.add_argument("-L", "--loglevel", nargs="*", action=LogLevelAction, default=[],
                          help="logging level; supported levels are "
                               "[trace|debug|info|warn|error|fatal]",
                          metavar="LEVEL|COMPONENT=LEVEL")
        self.add_argument("--longlog", nargs=0, action=_LongLogAction,
                          help="use a more verbose format for the logging")
        self.add_argument("--debug", action="store_true", help="enable debugging output?")
        self.add_argument("--doraise", action="store_true",
                          help="raise an exception on error (else log a message and continue)?")
        self.add_argument("--noExit", action="store_true",
                          help="Do not exit even upon failure (i.e. return a struct to the "
                               "calling script)")
        self.add_argument("--profile", help="Dump cProfile statistics to filename")
        self.add_argument("--show", nargs="+", default=(),
                          help="display the specified information to stdout and quit "
                               "(unless run is specified); information is "
                               "(config[=PATTERN]|history=PATTERN|tasks|data|run)")
        self.add_argument("-j", "--processes", type=int, default=1,
                          help="Number of processes to use")
        self.add_argument("-t", "--timeout", type=float,
                          help="Timeout for multiprocessing; maximum wall time (sec)")
        self.add_argument("--clobber-output", action="store_true", dest="clobberOutput",
                          default=False,
                          help="remove and re-create the output directory if it already exists "
                               "(safe with -j, but not all other forms of parallel execution)")
        self.add_argument("--clobber-config", action="store_true", dest="clobberConfig",
                          default=False,
                          help="backup and then overwrite existing config files instead of "
                               "checking them (safe with -j, but not all other forms of parallel "
                               "execution)")
        self.add_argument("--no-backup-config", action="store_true", dest="noBackupConfig",
                          default=False,
                          help="Don't copy config to file~N backup.")
        self.add_argument("--clobber-versions", action="store_true", dest="clobberVersions",
                          default=False,
                          help="backup and then overwrite existing package versions instead of "
                               "checking them (safe with -j, but not all other forms of parallel "
                               "execution)")
        self.add_argument("--no-versions", action="store_true", dest="noVersions",
                          default=False,
                          help="don't check package versions; useful for development")

    def add_id_argument(self, name, datasetType, help, level=None, doMakeDataRefList=True,
                        ContainerClass=DataIdContainer):
        """Add a data ID option (``--id``, ``--templateId``, ...).

        Parameters
        ----------
        name : `str`
            Option name with its dashes, e.g. ``"--id"``.
        datasetType : `str`
            Dataset type whose keys cast the values and whose data references
            are made.
        help : `str`
        level : `str`, optional
            Level of the data references (the dataset type's by default).
        doMakeDataRefList : `bool`
            Make the data references (else only cast the data IDs).
        ContainerClass : `type`
            The container of the option's data IDs.
        """
        dest = name.lstrip("-")
        if dest in self._data_id_args:
            raise Gen2Error(f"data ID argument {name} already added")
        self._data_id_args[dest] = (datasetType, level, doMakeDataRefList, ContainerClass)
        # nargs="*": a bare --id is one empty data ID, which every data ID matches.
        self.add_argument(name, nargs="*", dest=dest, action=IdValueAction, metavar="KEY=VALUE",
                          help=f"{help}; values are separated by ^, a..b[:s] is a range")

    def parse_args(self, config, args=None, log=None, override=None):
        """Parse the command line, open the repositories and find the data.

        Parameters
        ----------
        config : `lsst.pex.config.Config`
            The task config; overridden as parsed, then validated and frozen.
        args : `list` [`str`], optional
            Arguments (``sys.argv[1:]`` by default).
        log : `logging.Logger`, optional
            Becomes ``namespace.log``.
        override : callable, optional
            Applied to the config before the command-line overrides (gen2's
            camera overrides).

        Returns
        -------
        namespace : `argparse.Namespace`
            ``config``, ``butler``, ``input``, ``output``, ``rerun``, one data
            ID container per data ID option, and the flags.

        Raises
        ------
        SystemExit
            On a usage error (status 2, one line on stderr), or after
            ``--show`` without ``run`` (status 0).
        """
        # gen2's command log was the root logger ("root INFO: Running: ...").
        namespace = argparse.Namespace(config=config, log=log or logging.getLogger(), loglevel=[])
        args = sys.argv[1:] if args is None else list(args)
        if args and not args[0].startswith(("-", "@")):
            # Environment roots apply to the positional REPO (argparse would take it as is).
            args = [_fix_path(INPUT_ROOT, args[0]), *args[1:]]
        for dest, (datasetType, level, _, ContainerClass) in self._data_id_args.items():
            setattr(namespace, dest, ContainerClass(datasetType, level))
        if override is not None:
            override(namespace.config)
        namespace = super().parse_args(args=args, namespace=namespace)
        del namespace.configfile
        problem = check_show(namespace.show)
        if problem:
            self.error(problem)
        self._parse_directories(namespace)
        if namespace.clobberOutput:
            self._clobber_output(namespace)
        show_config_items(namespace.show, namespace.config)
        self._check_output(namespace)
        try:
            namespace.butler = Butler(inputs=namespace.input,
                                      outputs={"root": namespace.output, "mode": "rw"})
            self._process_data_ids(namespace)
        except Gen2Error as error:
            self.error(str(error))
        if "data" in namespace.show:
            for dest in self._data_id_args:
                for ref in getattr(namespace, dest).refList:
                    print(f"{dest} dataRef.dataId = {ref.dataId}")
        if namespace.show and "run" not in namespace.show:
            sys.exit(0)
        if namespace.debug:
            namespace.debug = _import_debug()
        try:
            namespace.config.validate()
        except Exception as error:
            self.error(f"invalid config: {first_line(error)}")
        namespace.config.freeze()
        return namespace

    def _parse_directories(self, namespace):
        """``input``, ``calib``, ``output`` and ``rerun`` from REPO, ``--calib``, ``--output``,
        ``--rerun`` and the environment."""
        namespace.input = str(Path(namespace.input).resolve())
        if not os.path.isdir(namespace.input):
            self.error(f"Error: input={namespace.input!r} not found")
        input_cfg = read_cfg(namespace.input)
        if input_cfg is None or not (input_cfg.mapper or input_cfg.parents):
            self.error(f"Error: no mapper specified for input repo {namespace.input!r}")
        namespace.calib = _fix_path(CALIB_ROOT, namespace.rawCalib)
        if namespace.calib is not None and not os.path.isdir(namespace.calib):
            self.error(f"Error: calib={namespace.calib!r} not found")
        output = _fix_path(OUTPUT_ROOT, namespace.rawOutput)
        namespace.output = str(Path(output).resolve()) if output else None
        namespace.rerun = None
        if namespace.rawRerun:
            if namespace.rawOutput:
                self.error("Error: cannot specify both --output and --rerun")
            namespace.rerun = namespace.rawRerun.split(":")
            if len(namespace.rerun) not in (1, 2) or not all(namespace.rerun):
                self.error(f"Error: invalid argument for --rerun: {namespace.rawRerun}")
            problem = next(filter(None, (path_name_problem(name, "--rerun name")
                                         for name in namespace.rerun)), None)
            if problem:
                self.error(f"Error: {problem}")
            rerun_dirs = [os.path.join(namespace.input, "rerun", name) for name in namespace.rerun]
            if len(rerun_dirs) == 2:
                namespace.input, namespace.output = rerun_dirs
            else:
                namespace.output = rerun_dirs[0]
                # An old-style rerun says where its input is with a _parent link.
                parent = os.path.join(namespace.output, PARENT_LINK)
                if os.path.exists(parent):
                    namespace.input = os.path.realpath(parent)
        del namespace.rawOutput, namespace.rawRerun, namespace.rawCalib

    def _check_output(self, namespace):
        """An output repository is required, and it is not the input one."""
        if namespace.output is None:
            self.error("no output directory specified: an output directory must be specified "
                       "with the --output or --rerun command-line arguments")
        if os.path.realpath(namespace.output) == os.path.realpath(namespace.input):
            self.error(f"Error: the output repository {namespace.output!r} is the input one; "
                       "outputs never go into the input repository (use another --output or "
                       "--rerun)")

    def _clobber_output(self, namespace):
        if namespace.output is None:
            self.error("--clobber-output is only valid with --output or --rerun")
        if os.path.realpath(namespace.output) == os.path.realpath(namespace.input):
            self.error("--clobber-output is not valid when the output and input repos are the "
                       "same")
        if os.path.exists(namespace.output):
            namespace.log.info("Removing output repo %s for --clobber-output", namespace.output)
            shutil.rmtree(namespace.output)

    def _process_data_ids(self, namespace):
        for dest, (_, _, make_refs, _) in self._data_id_args.items():
            container = getattr(namespace, dest)
            container.castDataIds(namespace.butler)
            if make_refs:
                container.makeDataRefList(namespace.butler)

    def convert_arg_line_to_args(self, arg_line):
        """The arguments of one line of an ``@file``: several per line, ``#`` comments."""
        return shlex.split(arg_line, comments=True)


class _LongLogAction(argparse.Action):
    """``--longlog``: gen2's long log lines (level, time, logger, data ID, file:line)."""

    def __call__(self, parser, namespace, values, option_string=None):
        install_gen2_log_handler(long_format=True)
        namespace.longlog = True


def _fix_path(variable, path):
    """``path`` under ``$variable`` when that is set (gen2's default roots), made absolute.

    `None` when neither is given; the root itself for no ``path``.
    """
    root = os.environ.get(variable)
    if root is None:
        return None if path is None else os.path.abspath(path)
    return os.path.abspath(os.path.join(root, path or ""))


def _import_debug():
    """Import the user's ``debug`` module (gen2's ``--debug``); `False`, with a warning, if none."""
    try:
        import debug  # noqa: F401 -- imported for its side effects, as gen2 did
    except ImportError:
        print("Warning: no 'debug' module found", file=sys.stderr)
        return False
    return True
