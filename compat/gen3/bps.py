"""Running the shipped pipelines through BPS (``bps submit``) with the Parsl plugin.

A BPS submit file is the pipeline, the payload (repository, input and output
collections, data query) and a site: `bps/local.yaml` (Parsl workers on this
machine) or `bps/slurm.yaml` (Parsl blocks on a Slurm cluster). BPS turns the
quantum graph into one job per quantum, each a ``pipetask run-qbb`` process
on a quantum-backed butler, and a final job registers the outputs.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from .errors import Gen3Error
from .pipelines import pipeline_path

__all__ = ["SITES", "bps_submit", "write_submit_file"]

SITES = {"local": Path(__file__).with_name("bps") / "local.yaml",
         "slurm": Path(__file__).with_name("bps") / "slurm.yaml"}
"""Shipped site files by name."""


def write_submit_file(path, repo, pipeline, inputs, output, where, site="local", workers=None,
                      config=None):
    """Write a BPS submit file for one shipped pipeline.

    Parameters
    ----------
    path : `str` or `pathlib.Path`
        The submit file to write.
    repo : `str` or `pathlib.Path`
        Butler repository.
    pipeline : `str`
        A shipped pipeline's name (``coadd_template``, ``subtract``...) or
        ``NAME#label1,label2``.
    inputs : sequence of `str`
        Input collections.
    output : `str`
        Output CHAINED collection; each submission adds a timestamped RUN.
    where : `str`
        Data query.
    site : `str`
        A key of `SITES`.
    workers : `int`, optional
        Parsl workers of the local site (default: the site file's).
    config : `dict` [`str`, `dict`], optional
        Config overrides per task label (``{"subtractImages": {field: value}}``),
        given to the quantum graph's ``pipetask qgraph`` as ``-c label:field=value``.

    Returns
    -------
    path : `pathlib.Path`
    """
    if site not in SITES:
        raise Gen3Error(f"unknown BPS site {site!r}; known: {', '.join(sorted(SITES))}")
    config_file = yaml.safe_load(SITES[site].read_text())
    if workers is not None:
        config_file["site"][site]["cores"] = int(workers)
    name, _, labels = pipeline.partition("#")
    config_file.update({
        "pipelineYaml": str(pipeline_path(name)) + (f"#{labels}" if labels else ""),
        "project": "diffim-migration",
        "campaign": output.replace("/", "_"),
        "payload": {"payloadName": name, "butlerConfig": str(Path(repo).absolute()),
                    "inCollection": ",".join(inputs), "dataQuery": where, "output": output},
    })
    overrides = [f"-c {label}:{field}={value}" for label, fields in (config or {}).items()
                 for field, value in fields.items()]
    if overrides:
        config_file["extraQgraphOptions"] = " ".join(overrides)
    path = Path(path)
    path.write_text(yaml.safe_dump(config_file, sort_keys=False))
    return path


def bps_submit(submit_file, workdir):
    """``bps submit`` with this environment's ``pipetask`` and ``butler``.

    BPS builds its job commands from ``${CTRL_MPEXEC_DIR}/bin/pipetask`` and
    ``${DAF_BUTLER_DIR}/bin/butler``, the EUPS layout; from PyPI both live in
    this interpreter's ``bin``.

    Parameters
    ----------
    submit_file : `str` or `pathlib.Path`
    workdir : `str` or `pathlib.Path`
        Where BPS writes its ``submit/`` tree (job scripts, logs, graphs).

    Returns
    -------
    completed : `subprocess.CompletedProcess`
        With the text of stdout and stderr.

    Raises
    ------
    Gen3Error
        If ``bps submit`` fails; the message ends with the tail of its output.
    """
    prefix = str(Path(sys.executable).parent.parent)
    bin_dir = str(Path(sys.executable).parent)
    # BPS puts its submit tree under ${PWD}, which a child inherits from us, not from cwd.
    env = {**os.environ, "CTRL_MPEXEC_DIR": prefix, "DAF_BUTLER_DIR": prefix,
           "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
           "PWD": str(Path(workdir).absolute())}
    completed = subprocess.run([str(Path(bin_dir) / "bps"), "submit", str(submit_file)],
                               cwd=workdir, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
        raise Gen3Error(f"bps submit {submit_file} failed (exit {completed.returncode}): "
                        f"{tail[0]}")
    return completed
