"""The audit of a set of paths: which files it reads, and one record per file."""
from __future__ import annotations

import fnmatch
import os

from ..errors import ValidationError
from .detect import PROJECT_FIELDS, audit_record, detect_config_features
from .era import file_era
from .era_findings import era_findings
from .limits import LIMIT_ERRORS, check_yaml, describe, read_regular_file, time_limit
from .parsed import ParsedConfig
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
    paths : iterable of `str` or `os.PathLike`
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
    for path in map(os.fspath, paths):
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
    paths : iterable of `str` or `os.PathLike`
        Files and directories (searched for `AUDITED_PATTERNS`).
    era : `str`, optional
        ISO date of the stack the config files were written for (``--era``);
        by default each file's own (`validation.audit.era.file_era`).

    Returns
    -------
    records : `list` [`validation.model.AuditRecord`]
        One per file; ``.yaml``/``.yml`` files are pipelines, others pex_config
        files, with their era and `validation.audit.era_findings`. A ``load``
        of another audited file is followed. A file over the bounds of
        `validation.audit.limits` (not a regular file, too large, too deep,
        too slow) has one problem saying so and no features.

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
        if not isinstance(text, str):
            records.append(audit_record(path, _kind(path), {}, [],
                                        [f"not parsed: {path}: {text or 'not UTF-8 text'}"]))
            continue
        try:
            with time_limit():
                records.append(_audit_text(path, text, loader, era))
        except LIMIT_ERRORS as error:
            records.append(audit_record(path, _kind(path), {}, [],
                                        [f"not parsed: {path}: {describe(error)}"]))
    return records


def _audit_text(path, text, loader, era):
    if _kind(path) == "pipeline":
        check_yaml(text)
        return read_pipeline(text, path, loader)
    parsed = loader.parse(path)
    record = audit_record(path, "config", detect_config_features(parsed), parsed.references,
                          parsed.problems)
    written = file_era(path, text, era)
    record.era = str(written) if written else ""
    record.findings = era_findings(parsed, text, written, PROJECT_FIELDS)
    return record


def _kind(path):
    return "pipeline" if path.endswith(_PIPELINE_SUFFIXES) else "config"


def _read_text(path):
    """The file's text; `None` if it is not UTF-8; why not, if it is refused unread.

    Returns
    -------
    text : `str`, `None` or `validation.audit.limits.LimitExceeded`
    """
    try:
        data = read_regular_file(path)
    except LIMIT_ERRORS as error:
        return error
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
        if not isinstance(self.texts.get(key), str) or _kind(path) != "config" \
                or key in self.loading:
            return None
        return self.parse(path)

    def parse(self, path):
        """The parsed config file ``path`` (audited), parsed on first use.

        A file too deep to parse is parsed as one problem, so that the files
        loading it are still audited.
        """
        key = os.path.abspath(path)
        if key not in self.parsed:
            self.loading.add(key)
            try:
                self.parsed[key] = parse_config_source(self.texts[key], path,
                                                       directory=os.path.dirname(path),
                                                       loader=self)
            except (RecursionError, MemoryError) as error:
                self.parsed[key] = ParsedConfig(path, problems=[
                    f"not parsed: {path}: {describe(error)}"])
            finally:
                self.loading.discard(key)
        return self.parsed[key]
