"""gen2's command-line parser: ``REPO --id ... [--rerun IN:OUT | --output DIR] -c -C --show ...``.

`ArgumentParser.parse_args` returns a namespace holding the frozen config,
a `compat.gen2.butler.Butler` on the input and output repositories, and a
`compat.gen2.data_ids.DataIdContainer` per data ID option whose data
references the task runner runs over. Config overrides apply in
command-line order as they are parsed. ``@file`` arguments read more
arguments from a file, several per line, with ``#`` comments.
"""
from __future__ import annotations

import argparse
import logging
import os
import shlex
import shutil
import sys
from pathlib import Path

from .butler import Butler
from .config_overrides import ConfigFileAction, ConfigValueAction, LogLevelAction, first_line
from .data_ids import DataIdContainer, IdValueAction
from .errors import Gen2Error
from .repository import PARENT_LINK, read_cfg
from .show import check_show, show_config_items

__all__ = ["ArgumentParser"]

_LOG = logging.getLogger(__name__)

_EPILOG = """\
Notes:
  * --config, --configfile, --id, --loglevel and @file may appear multiple times;
    all values are used, in order left to right
  * @file reads command-line options from the specified file:
    * data may be distributed among multiple lines (e.g. one option per line)
    * data after # is treated as a comment and ignored
    * blank lines and lines starting with # are ignored
  * To specify multiple values for an option, do not use = after the option name:
    * right: --configfile foo bar
    * wrong: --configfile=foo bar
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
        self.add_argument("input", help="path to input data repository")
        self.add_argument("--output", dest="rawOutput",
                          help="path to output data repository (need not exist)")
        self.add_argument("--rerun", dest="rawRerun", metavar="[INPUT:]OUTPUT",
                          help="rerun name: sets OUTPUT to ROOT/rerun/OUTPUT; optionally sets "
                               "ROOT to ROOT/rerun/INPUT")
        self.add_argument("-c", "--config", nargs="*", action=ConfigValueAction,
                          help="config override(s), e.g. -c foo=newfoo bar.baz=3",
                          metavar="NAME=VALUE")
        self.add_argument("-C", "--configfile", dest="configfile", nargs="*",
                          action=ConfigFileAction, help="config override file(s)")
        self.add_argument("-L", "--loglevel", nargs="+", action=LogLevelAction, default=[],
                          help="logging level; supported levels are "
                               "[trace|debug|info|warn|error|fatal]",
                          metavar="LEVEL|COMPONENT=LEVEL")
        self.add_argument("--doraise", action="store_true",
                          help="raise an exception on error (else log a message and continue)?")
        self.add_argument("--noExit", action="store_true",
                          help="Do not exit even upon failure (i.e. return a struct to the "
                               "calling script)")
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
        self.add_argument(name, nargs="+", dest=dest, action=IdValueAction, metavar="KEY=VALUE",
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
        namespace = argparse.Namespace(config=config, log=log or _LOG, loglevel=[])
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
        show_config_items(namespace.show, namespace.config)
        if namespace.clobberOutput:
            self._clobber_output(namespace)
        try:
            namespace.butler = (Butler(inputs=namespace.input,
                                       outputs={"root": namespace.output, "mode": "rw"})
                                if namespace.output else
                                Butler(outputs={"root": namespace.input, "mode": "rw"}))
            self._process_data_ids(namespace)
        except Gen2Error as error:
            self.error(str(error))
        if "data" in namespace.show:
            for dest in self._data_id_args:
                for ref in getattr(namespace, dest).refList:
                    print(f"{dest} dataRef.dataId = {ref.dataId}")
        if namespace.show and "run" not in namespace.show:
            sys.exit(0)
        try:
            namespace.config.validate()
        except Exception as error:
            self.error(f"invalid config: {first_line(error)}")
        namespace.config.freeze()
        return namespace

    def _parse_directories(self, namespace):
        """``input``, ``output`` and ``rerun`` from REPO, ``--output`` and ``--rerun``."""
        namespace.input = str(Path(namespace.input).resolve())
        if not os.path.isdir(namespace.input):
            self.error(f"Error: input={namespace.input!r} not found")
        input_cfg = read_cfg(namespace.input)
        if input_cfg is None or not (input_cfg.mapper or input_cfg.parents):
            self.error(f"Error: no mapper specified for input repo {namespace.input!r}")
        namespace.output = str(Path(namespace.rawOutput).resolve()) if namespace.rawOutput \
            else None
        namespace.rerun = None
        if namespace.rawRerun:
            if namespace.output:
                self.error("Error: cannot specify both --output and --rerun")
            namespace.rerun = namespace.rawRerun.split(":")
            if len(namespace.rerun) not in (1, 2) or not all(namespace.rerun):
                self.error(f"Error: invalid argument for --rerun: {namespace.rawRerun}")
            rerun_dirs = [os.path.join(namespace.input, "rerun", name) for name in namespace.rerun]
            if len(rerun_dirs) == 2:
                namespace.input, namespace.output = rerun_dirs
            else:
                namespace.output = rerun_dirs[0]
                # An old-style rerun says where its input is with a _parent link.
                parent = os.path.join(namespace.output, PARENT_LINK)
                if os.path.exists(parent):
                    namespace.input = os.path.realpath(parent)
        del namespace.rawOutput, namespace.rawRerun

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
