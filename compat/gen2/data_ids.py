"""Data IDs on the command line: gen2's ``--id`` syntax and the container of its data IDs.

``--id visit=1..5:2^7 ccd=0`` means the data IDs of the product of the
values of each key, the first key varying slowest: values are separated by
``^``, and ``a..b`` or ``a..b:stride`` is an inclusive integer range. A key
may appear once per ``--id``; several ``--id`` options add their data IDs.
Values stay strings until `DataIdContainer.castDataIds` casts them by the
dataset type's keys. A value fills the mapper's path templates, so it must
be a plain name (`compat.names.value_problem`: no ``/``, not starting with
``.``); ranges are counted before they are expanded, and one option or one
container holding more than `MAX_DATA_IDS` data IDs is an error, not an
out-of-memory.
"""
from __future__ import annotations

import argparse
import itertools
import logging
import math
import re

from ..names import value_problem
from .errors import DataIdSyntaxError, format_data_id

__all__ = ["DataIdContainer", "IdValueAction", "MAX_DATA_IDS", "check_count", "parse_id_tokens"]

MAX_DATA_IDS = 100_000
"""Most data IDs one ``--id`` option (or all of a data ID option's) may name."""

_LOG = logging.getLogger(__name__)
_RANGE = re.compile(r"^(\d+)\.\.(\d+)(?::(\d+))?$")


def parse_id_tokens(tokens, option="--id"):
    """The data IDs of one ``--id`` option's ``key=value`` tokens.

    Parameters
    ----------
    tokens : `list` [`str`]
        E.g. ``["visit=1..5:2^7", "ccd=0"]``.
    option : `str`
        The option's name, for messages.

    Returns
    -------
    data_ids : `list` [`dict` [`str`, `str`]]
        One dict per combination, keys in command-line order, the first
        key varying slowest.

    Raises
    ------
    DataIdSyntaxError
        If a token is not ``key=value``, a key repeats, a value is empty or
        not a plain name, a range has a zero stride, or the option names more
        than `MAX_DATA_IDS` data IDs.
    """
    values = {}
    for token in tokens:
        key, equals, text = token.partition("=")
        if not equals or not key:
            raise DataIdSyntaxError(f"{option}: {token!r} is not key=value")
        if key in values:
            raise DataIdSyntaxError(f"{key} appears multiple times in one ID argument: {option}")
        values[key] = [_values(part, key, option) for part in text.split("^")]
    check_count(math.prod(sum(len(part) for part in parts) for parts in values.values()),
                f"{option} {' '.join(tokens)}")
    expanded = [itertools.chain.from_iterable(parts) for parts in values.values()]
    return [dict(zip(values, combination)) for combination in itertools.product(*expanded)]


def check_count(count, what):
    """Raise `DataIdSyntaxError` if ``count`` data IDs are more than `MAX_DATA_IDS`."""
    if count > MAX_DATA_IDS:
        raise DataIdSyntaxError(f"{what:.200}: {count} data IDs, more than the limit of "
                                f"{MAX_DATA_IDS}; narrow the ranges or split the run")


def _values(part, key, option):
    """The values of one ``^``-separated part: a one-value list or a lazy range of strings."""
    if not part:
        raise DataIdSyntaxError(f"{option}: empty value for key {key!r}")
    match = _RANGE.match(part)
    if not match:
        problem = value_problem(part, f"value of {key}")
        if problem:
            raise DataIdSyntaxError(f"{option}: {problem}")
        return [part]
    first, last, stride = int(match[1]), int(match[2]), int(match[3] or 1)
    if stride == 0:
        raise DataIdSyntaxError(f"{option}: stride 0 in {key}={part}")
    return _StringRange(range(first, last + 1, stride))


class _StringRange:
    """A `range` whose items are strings: sized at once, expanded only when iterated."""

    def __init__(self, numbers):
        self.numbers = numbers

    def __len__(self):
        return len(self.numbers)

    def __iter__(self):
        return map(str, self.numbers)


class DataIdContainer:
    """The data IDs of one data ID option, and the data references they become.

    Parameters
    ----------
    datasetType : `str`, optional
        Dataset type whose keys cast the values (set by the parser).
    level : `str`, optional
        Level of the references (`compat.gen2.butler.Butler.subset`).

    Attributes
    ----------
    idList : `list` [`dict`]
        Data IDs as parsed, then cast.
    refList : `list` [`compat.gen2.butler.ButlerDataRef`]
        Filled by `makeDataRefList`.
    """

    def __init__(self, datasetType=None, level=None):
        self.datasetType = datasetType
        self.level = level
        self.idList = []
        self.refList = []

    def castDataIds(self, butler):
        """Cast each value to its key's type (`Butler.getKeys` of the dataset type).

        A key the dataset type does not have is kept as a string, with a
        warning, as gen2 did: it may still select registry rows (e.g.
        ``date``, ``expTime``).

        Raises
        ------
        DataIdSyntaxError
            If a value does not cast, e.g. ``visit=a``, or a key is neither
            the dataset type's nor a registry column (``--id visitt=1``).
        """
        key_types = butler.getKeys(self.datasetType)
        registry_keys = butler.mapper.registry_keys(self.datasetType)
        for key in sorted({key for data_id in self.idList for key in data_id} - set(key_types)):
            _LOG.warning('Unexpected ID %s; guessing type is "str"', key)
            if key not in registry_keys:
                # gen2 failed later, in the registry query; say so up front, in one line.
                raise DataIdSyntaxError(f"ID key {key!r} is neither a key of {self.datasetType!r} "
                                        f"{sorted(key_types)} nor a registry column")
        for data_id in self.idList:
            for key, value in data_id.items():
                kind = key_types.get(key, str)
                try:
                    data_id[key] = kind(value)
                except ValueError:
                    raise DataIdSyntaxError(f"Cannot cast value {value!r} to {kind.__name__} for "
                                            f"ID key {key!r}") from None

    def makeDataRefList(self, butler):
        """One reference per existing data ID under each parsed one, in command-line order.

        A data ID matching nothing in the registry is reported with a
        warning ``No data found for dataId=...`` and skipped.
        """
        for data_id in self.idList:
            refs = list(butler.subset(self.datasetType, self.level, data_id))
            if not refs:
                _LOG.warning("No data found for dataId=%s", format_data_id(data_id))
            self.refList.extend(refs)


class IdValueAction(argparse.Action):
    """The argparse action of a data ID option: append the option's data IDs to its container.

    The option's ``dest`` attribute of the namespace must hold a `DataIdContainer`.
    A syntax error becomes the parser's one-line usage error.
    """

    def __call__(self, parser, namespace, values, option_string=None):
        container = getattr(namespace, self.dest)
        option = option_string or self.dest
        try:
            data_ids = parse_id_tokens(values, option)
            check_count(len(container.idList) + len(data_ids), f"{option} (all of them)")
        except DataIdSyntaxError as error:
            parser.error(str(error))
        container.idList.extend(data_ids)
