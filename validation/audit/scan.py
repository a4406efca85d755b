"""The audit of a set of paths: which files it reads, and one record per file."""
from __future__ import annotations

import fnmatch
import os

from ..errors import ValidationError
from .detect import PROJECT_FIELDS, audit_record, detect_config_features
from .era import file_era
from .era_findings import era_findings
from .pipelines import read_pipeline
from .safe_config import parse_config_source

__all__ = ["AUDITED_PATTERNS", "audit_paths", "find_audited_files"]

AUDITED_PATTERNS = ("*.py", "*config*", "*.yaml", "*.yml")
"""Names of the files a directory is searched for: override files, persisted
``*_config`` datasets, pipelines."""

_PIPELINE_SUFFIXES = (".yaml", ".yml")


def find_audited_files(paths):
    """The files named by ``paths``, directories searched for `AUDITED_PATTERNS`.

    Parameters
    ----------
    paths : iterable of `str`
        Files (audited whatever their name) and directories.

    Returns
    -------
    files : `list` [`str`]
        In the order given, each directory's files sorted, no file twice.

    Raises
    ------
    ValidationError
        A path does not exist.
    """
    files = []
    for path in paths:
        if os.path.isdir(path):
            for directory, subdirectories, names in os.walk(path):
                # Hidden directories and byte-code caches hold no configs of the user's.
                subdirectories[:] = sorted(name for name in subdirectories
                                           if not name.startswith(".") and name != "__pycache__")
                files.extend(os.path.join(directory, name) for name in sorted(names)
                             if any(fnmatch.fnmatch(name, pattern) for pattern in AUDITED_PATTERNS))
        elif os.path.exists(path):
            files.append(path)
        else:
            raise ValidationError(f"audit: no such file or directory: {path}")
    return list(dict.fromkeys(files))


def audit_paths(paths, era=None):
    """Audit config files and pipelines for historical features, running none of them.

    Parameters
    ----------
    paths : iterable of `str`
        Files and directories (searched for `AUDITED_PATTERNS`).
    era : `str`, optional
        ISO date of the stack the config files were written for (``--era``);
        by default each file's own (`validation.audit.era.file_era`).

    Returns
    -------
    records : `list` [`validation.model.AuditRecord`]
        One per file; ``.yaml``/``.yml`` files are pipelines, others pex_config
        files, with their era and `validation.audit.era_findings`. A ``load``
        of another audited file is followed.

    Raises
    ------
    ValidationError
        A path is missing or unreadable.
    """
    files = find_audited_files(paths)
    texts = {os.path.abspath(path): _read_text(path) for path in files}
    loader = _ConfigLoader(texts)
    records = []
    for path in files:
        text = texts[os.path.abspath(path)]
        if text is None:
            records.append(audit_record(path, _kind(path), {}, [],
                                        [f"not parsed: {path}: not UTF-8 text"]))
        elif _kind(path) == "pipeline":
            records.append(read_pipeline(text, path, loader))
        else:
            parsed = loader.parse(path)
            record = audit_record(path, "config", detect_config_features(parsed),
                                  parsed.references, parsed.problems)
            written = file_era(path, text, era)
            record.era = str(written) if written else ""
            record.findings = era_findings(parsed, text, written, PROJECT_FIELDS)
            records.append(record)
    return records


def _kind(path):
    return "pipeline" if path.endswith(_PIPELINE_SUFFIXES) else "config"


def _read_text(path):
    """The file's text, `None` if it is not UTF-8."""
    try:
        with open(path, "rb") as stream:
            data = stream.read()
    except OSError as error:
        raise ValidationError(f"audit: cannot read {path}: {error.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class _ConfigLoader:
    """Parses the audited config files once each, for records and for ``load``s.

    Called with a path, it returns the parsed file when it is an audited
    config file, else `None`; a file is not loaded into itself (directly or
    through others), which pex_config would recurse on forever.
    """

    def __init__(self, texts):
        self.texts = texts
        self.parsed = {}
        self.loading = set()

    def __call__(self, path):
        key = os.path.abspath(path)
        if self.texts.get(key) is None or _kind(path) != "config" or key in self.loading:
            return None
        return self.parse(path)

    def parse(self, path):
        """The parsed config file ``path`` (audited), parsed on first use."""
        key = os.path.abspath(path)
        if key not in self.parsed:
            self.loading.add(key)
            self.parsed[key] = parse_config_source(self.texts[key], path,
                                                   directory=os.path.dirname(path), loader=self)
            self.loading.discard(key)
        return self.parsed[key]
