"""Why a comparison got its verdict, in numbers a reviewer can check: rules, locations, columns.

For each compared product the report states the tolerance rules that were
applied, with the measured value against the limit (``"image: 229 px beyond
3 σ = 0.16 % of 147,456 px, limit 1 %"``), which of them decided the verdict,
where the largest difference sits, the sources found on one side only, and a
table of the catalogue columns that differ. The rules restate those of
`validation.compare.images` and `validation.compare.catalogs` from the
numbers the comparison recorded and the scenario's tolerances. In a
campaign, side ``a`` of every comparison is gen2 and side ``b`` gen3.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import ValidationError
from ..model import Verdict
from .artifacts import MATCHED, read_matched_table

__all__ = ["SIDES", "ColumnRow", "Evidence", "Rule", "comparison_evidence", "format_number",
           "percent", "plain_summary", "scenario_tolerances"]

SIDES = ("gen2", "gen3")
"""The backends behind sides ``a`` and ``b`` of a campaign's comparisons."""

_UNIT_WORDS = {"sigma": "σ", "pixel": "pixel", "arcsec": "arcsec", "fraction": "of rows",
               "relative": "relative"}
_MAX_UNMATCHED_LISTED = 10
_PER_SOURCE_UNITS = ("σ", "pixel", "arcsec")
_SIDE_OF = {"A": "gen2", "B": "gen3"}
_IN_SIDE = re.compile(r"\b(in|only in)\s+(A|B)\b")


@dataclass
class Rule:
    """One tolerance rule as applied: what was measured against which limit.

    Attributes
    ----------
    text : `str`
        The rule with its numbers, e.g. ``"unmatched sources: 3 in gen2, 4 in gen3, limit 3 per side"``.
    outside : `bool`
        True when the measured value broke the limit.
    score : `float`
        Measured value over limit (above 1: outside); ``inf`` for a limit of 0
        that was broken, NaN when the limit is not known.
    """

    text: str
    outside: bool
    score: float


@dataclass
class ColumnRow:
    """One catalogue column that differs, for the column table."""

    name: str
    unit: str
    largest: str
    limit: str
    n_differing: int
    n_outside: str
    outside: bool
    score: float
    n_nonfinite: int = 0

    @property
    def nan_note(self):
        """``" and 12 NaN against a value"``, or ``""``: differences no number measures."""
        return f" and {self.n_nonfinite:,} NaN against a value" if self.n_nonfinite else ""


@dataclass
class Evidence:
    """Everything the report says about one comparison beyond its verdict.

    Attributes
    ----------
    rules : `list` [`Rule`]
        Every rule applied, those outside their limit first, then the
        nearest to its limit.
    decided_by : `str`
        One sentence naming the rule(s) behind the verdict.
    largest : `list` [`str`]
        Where the largest differences are, with their values.
    unmatched : `list` [`str`]
        Per side, the sources without a counterpart (ids and positions).
    columns : `list` [`ColumnRow`]
        Differing catalogue columns, furthest beyond their limit first.
    n_equal_columns : `int`
        Compared columns with no difference.
    score : `float`
        The largest rule score: how far the comparison is from its limits.
    """

    rules: list = field(default_factory=list)
    decided_by: str = ""
    largest: list = field(default_factory=list)
    unmatched: list = field(default_factory=list)
    columns: list = field(default_factory=list)
    n_equal_columns: int = 0
    score: float = 0.0

    def rules_text(self):
        """The evidence as plain lines, for text reports (JUnit, Markdown)."""
        lines = [f"decided by: {self.decided_by}"] if self.decided_by else []
        lines += [f"{'beyond' if rule.outside else 'inside'} the limit: {rule.text}" for rule in self.rules]
        lines += [f"largest difference: {line}" for line in self.largest]
        return lines + self.unmatched


def scenario_tolerances(scenario):
    """The tolerances a scenario's comparisons were judged by (`dict`), or `None` if not recorded."""
    tolerances = (scenario.definition or {}).get("tolerances")
    return tolerances if isinstance(tolerances, dict) else None


def comparison_evidence(comparison, tolerances):
    """The `Evidence` of one comparison.

    Parameters
    ----------
    comparison : `validation.model.Comparison`
    tolerances : `dict` or `None`
        The scenario's tolerances (`scenario_tolerances`); without them the
        image rules give the counts but no limits.

    Returns
    -------
    evidence : `Evidence`
    """
    evidence = Evidence()
    if comparison.verdict is Verdict.FAILED:
        return evidence
    if comparison.kind == "image":
        evidence.rules = _image_rules(comparison, tolerances or {})
        evidence.largest = _image_largest(comparison)
    elif comparison.kind == "catalog":
        evidence.columns, evidence.n_equal_columns = _column_rows(comparison)
        evidence.rules = _catalog_rules(comparison, evidence.columns, tolerances or {})
        evidence.largest = _catalog_largest(comparison, evidence.columns)
        evidence.unmatched = _unmatched(comparison)
    evidence.rules.sort(key=lambda rule: (not rule.outside, -_sortable(rule.score)))
    evidence.score = max((_sortable(rule.score) for rule in evidence.rules), default=0.0)
    evidence.decided_by = _decided_by(comparison.verdict, evidence.rules)
    return evidence


def plain_summary(comparison):
    """The comparison's one-line summary, with the backends named (gen2, gen3) instead of A and B."""
    metrics = comparison.metrics
    if comparison.kind != "catalog" or comparison.verdict is Verdict.IDENTICAL or "n_matched" not in metrics:
        return _IN_SIDE.sub(lambda match: f"{match.group(1)} {_SIDE_OF[match.group(2)]}", comparison.summary)
    unit = comparison.details.get("match", {}).get("unit")
    parts = [f"{metrics['n_matched']} sources matched of {metrics['n_a']} in gen2 and {metrics['n_b']} "
             f"in gen3 (largest separation {format_number(metrics.get('max_separation', 0.0))}"
             + (f" {unit})" if unit else ")")]
    if metrics.get("n_unmatched_a") or metrics.get("n_unmatched_b"):
        parts.append(f"without a counterpart: {metrics['n_unmatched_a']} in gen2, "
                     f"{metrics['n_unmatched_b']} in gen3")
    columns = comparison.details.get("columns", {})
    judged = {name: column for name, column in columns.items() if isinstance(column, dict)}
    outside = [name for name, column in judged.items() if column.get("outside")]
    differing = [name for name, column in judged.items() if column.get("n_differing")]
    if outside:
        parts.append(f"{len(outside)} of {len(columns)} columns beyond their limits")
    elif differing:
        parts.append(f"{len(differing)} of {len(columns)} columns differ, all within their limits")
    return "; ".join(parts)


def _sortable(score):
    """A rule score to sort by: an unknown limit (NaN) sorts below every known one."""
    return -1.0 if math.isnan(score) else score


def _decided_by(verdict, rules):
    if verdict is Verdict.IDENTICAL:
        return "identical: no value differs"
    outside = [rule.text for rule in rules if rule.outside]
    if outside:
        return "beyond the limit: " + "; ".join(outside)
    if verdict is Verdict.WITHIN_TOLERANCE and rules:
        return f"every rule inside its limit; the nearest to it: {rules[0].text}"
    return ""


def _score(value, limit):
    if limit is None:
        return math.nan
    if limit == 0:
        return math.inf if value > 0 else 0.0
    return value / limit


def format_number(value):
    """A measured value for a sentence: 3 significant digits, thousands separated for integers."""
    if value is None:
        return "–"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    return f"{value:.3g}"


def percent(fraction):
    """A fraction as a percentage for a reader: ``"0.16 %"``, ``"0 %"``, ``"2e-05 %"``."""
    value = 100.0 * fraction
    if value == 0:
        return "0 %"
    if value >= 10:
        return f"{value:.0f} %"
    return f"{value:.2g} %" if value >= 0.01 else f"{value:.1e} %"


def _compared_pixels(comparison):
    details = comparison.details
    box = details.get("compared_bbox") or details.get("bbox_a") or {}
    return int(box.get("width", 0)) * int(box.get("height", 0))


def _image_rules(comparison, tolerances):
    metrics = comparison.metrics
    rules = [Rule(problem, True, math.inf) for problem in comparison.details.get("problems", [])]
    n_pixels = _compared_pixels(comparison)
    fraction_limit = tolerances.get("pixel_max_fraction")
    limit_text = f"limit {percent(fraction_limit)}" if fraction_limit is not None else "limit not recorded"
    for plane, beyond in (("image", _sigma_words(tolerances.get("image_max_sigma"))),
                          ("variance", _relative_words(tolerances.get("variance_max_rel")))):
        n_outside = metrics.get(f"{plane}.n_outside")
        if n_outside is None:
            continue
        fraction = metrics.get(f"{plane}.frac_outside", 0.0)
        outside = fraction_limit is not None and fraction > fraction_limit
        rules.append(Rule(f"{plane}: {n_outside:,} px {beyond} = {percent(fraction)} of {n_pixels:,} px, "
                          f"{limit_text}", outside, _score(fraction, fraction_limit)))
    planes = {name[len("mask."):-len(".n_differing")]: value for name, value in metrics.items()
              if name.startswith("mask.") and name.endswith(".n_differing") and name != "mask.n_differing"}
    differing = {name: count for name, count in planes.items() if count}
    if differing:
        pixel_limit = tolerances.get("mask_max_pixels")
        worst = max(differing, key=differing.get)
        limit = f"limit {pixel_limit:,} px per plane" if pixel_limit is not None else "limit not recorded"
        over = [name for name, count in differing.items() if pixel_limit is not None and count > pixel_limit]
        others = ", ".join(f"{name} {count:,}" for name, count in differing.items() if name != worst)
        rules.append(Rule(f"mask: {worst} differs in {differing[worst]:,} px"
                          + (f" (also {others} px)" if others else "") + f", {limit}",
                          bool(over), _score(differing[worst], pixel_limit)))
    return rules


def _sigma_words(limit):
    return f"beyond {limit:g} σ or NaN" if limit is not None else "beyond the σ limit"


def _relative_words(limit):
    return f"off by more than {limit:g} relative" if limit is not None else "beyond the relative limit"


def _image_largest(comparison):
    """The largest image and variance differences and where they are (parent pixel coordinates)."""
    metrics, details = comparison.metrics, comparison.details
    lines = []
    image = details.get("image", {})
    if metrics.get("image.n_differing") and "max_abs_at" in image:
        x, y = image["max_abs_at"]
        lines.append(f"image: largest |Δ| {format_number(metrics['image.max_abs'])} (counts) "
                     f"at x = {x}, y = {y}")
        if "max_sigma_at" in image and "image.max_sigma" in metrics:
            x, y = image["max_sigma_at"]
            lines.append(f"image: largest {format_number(metrics['image.max_sigma'])} σ at x = {x}, y = {y}")
    variance = details.get("variance", {})
    if metrics.get("variance.n_differing") and "max_abs_at" in variance:
        x, y = variance["max_abs_at"]
        lines.append(f"variance: largest |Δ| {format_number(metrics['variance.max_abs'])} "
                     f"at x = {x}, y = {y} "
                     f"(largest relative {format_number(metrics.get('variance.max_rel'))})")
    return lines


def _column_rows(comparison):
    """Rows of the column table: every column that differs, furthest beyond its limit first."""
    columns = comparison.details.get("columns")
    if not isinstance(columns, dict):
        return [], 0
    rows = []
    for name, column in columns.items():
        if not isinstance(column, dict) or not (column.get("n_differing") or column.get("outside")):
            continue
        limit, measure, unit = column.get("limit"), column.get("measure", 0.0), column.get("unit", "")
        fraction = unit == "fraction"
        n_outside = column.get("n_outside")
        rows.append(ColumnRow(
            name=name, unit=_UNIT_WORDS.get(unit, unit),
            largest=percent(measure) if fraction else format_number(measure),
            limit="not judged" if limit is None else percent(limit) if fraction else format_number(limit),
            n_differing=int(column.get("n_differing", 0)),
            n_outside="–" if n_outside is None else f"{n_outside:,}",
            outside=bool(column.get("outside")), score=_score(measure, limit),
            n_nonfinite=int(column.get("n_nonfinite", 0))))
    rows.sort(key=lambda row: (not row.outside, -_sortable(row.score), row.name))
    return rows, len(columns) - len(rows)


def _catalog_rules(comparison, column_rows, tolerances):
    metrics, details = comparison.metrics, comparison.details
    rules = []
    schema = details.get("schema", {})
    if schema.get("only_in_a") or schema.get("only_in_b") or schema.get("dtypes"):
        allowed = tolerances.get("allow_schema_differences")
        parts = [f"only in {side}: {', '.join(schema[key])}"
                 for side, key in zip(SIDES, ("only_in_a", "only_in_b")) if schema.get(key)]
        parts += [f"{name} is {dtype_a} in gen2, {dtype_b} in gen3"
                  for name, (dtype_a, dtype_b) in schema.get("dtypes", {}).items()]
        rules.append(Rule("columns differ (" + "; ".join(parts) + ")"
                          + (", allowed" if allowed else ", not allowed"), not allowed,
                          0.0 if allowed else math.inf))
    n_a, n_b = metrics.get("n_unmatched_a"), metrics.get("n_unmatched_b")
    if n_a is not None and n_b is not None:
        limit = tolerances.get("unmatched_max")
        limit_text = f"limit {limit} per side" if limit is not None else "limit not recorded"
        worst = max(n_a, n_b)
        rules.append(Rule(f"sources without a counterpart: {n_a} in gen2, {n_b} in gen3 "
                          f"(of {metrics.get('n_a')} and {metrics.get('n_b')}), {limit_text}",
                          limit is not None and worst > limit, _score(worst, limit)))
    judged = [row for row in column_rows if row.limit != "not judged"]
    outside = [row for row in judged if row.outside]
    if outside:
        named = "; ".join(f"{row.name} {row.largest} {row.unit}{row.nan_note}, limit {row.limit}"
                          for row in outside[:4])
        more = f" and {len(outside) - 4} more" if len(outside) > 4 else ""
        rules.append(Rule(f"{len(outside)} column(s) beyond their limits: {named}{more}", True,
                          max(_sortable(row.score) for row in outside)))
    elif judged:
        nearest = judged[0]
        rules.append(Rule(f"columns: {nearest.name} {nearest.largest} {nearest.unit}{nearest.nan_note}, "
                          f"limit {nearest.limit} "
                          f"(the nearest of {len(judged)} judged columns that differ)", False, nearest.score))
    return rules


def _catalog_largest(comparison, column_rows):
    """The judged column furthest beyond its limit, and the matched source where it differs most."""
    judged = [row for row in column_rows if row.limit != "not judged"]
    if not judged:
        return []
    row = judged[0]
    line = (f"column {row.name}: largest difference {row.largest} {row.unit}{row.nan_note} "
            f"(limit {row.limit}), {row.n_differing:,} row(s) differ")
    numeric = [candidate for candidate in judged if candidate.unit in _PER_SOURCE_UNITS]
    where = _worst_source(comparison, numeric[0].name) if numeric else None
    if where is None:
        return [line]
    if numeric[0] is row:
        return [f"{line}, {where}"]
    return [line, f"column {numeric[0].name}: largest difference {numeric[0].largest} {numeric[0].unit} "
                  f"(limit {numeric[0].limit}), {where}"]


def _worst_source(comparison, column):
    """``"the largest at gen2 id 4 / gen3 id 7, x, y = (129.9, 98.9)"``: where ``column`` differs most.

    A NaN against a value outranks any number, as the comparison judges it.
    """
    path = comparison.artifacts.get(MATCHED)
    if path is None:
        return None
    try:
        table = read_matched_table(path)
    except ValidationError:
        return None
    name = f"{column}_diff"
    if name not in table or not len(table):
        return None
    values = np.abs(table[name].to_numpy(np.float64))
    if np.isnan(values).any():
        label, row = "a NaN against a value", table.iloc[int(np.flatnonzero(np.isnan(values))[0])]
    elif np.isfinite(values).any():
        label, row = "the largest", table.iloc[int(np.nanargmax(np.where(np.isfinite(values), values, np.nan)))]
    else:
        return None
    ids = (f"gen2 id {int(row['id_a'])} / gen3 id {int(row['id_b'])}" if "id_a" in table and "id_b" in table
           else f"gen2 row {int(row['row_a'])} / gen3 row {int(row['row_b'])}")
    match = comparison.details.get("match", {})
    names = [name for name in match.get("columns", []) if f"{name}_a" in table]
    digits = 1 if match.get("unit") == "pixel" else 6
    values = ", ".join(f"{row[name + '_a']:.{digits}f}" for name in names)
    place = f", {', '.join(names)} = ({values})" if names else ""
    return f"{label} at {ids}{place}"


def _unmatched(comparison):
    """Per side, the sources the match left alone: ids (or row numbers) and positions."""
    match = comparison.details.get("match", {})
    names = ", ".join(match.get("columns", []))
    # Sky positions are degrees: a pixel's worth is in the sixth decimal.
    digits = 1 if match.get("unit") == "pixel" else 6
    lines = []
    for side, key in zip(SIDES, ("unmatched_a", "unmatched_b")):
        unmatched = match.get(key) or {}
        count = unmatched.get("count", 0)
        if not count:
            continue
        positions = unmatched.get("positions") or []
        sources = []
        for index, source in enumerate(unmatched.get("ids", [])[:_MAX_UNMATCHED_LISTED]):
            where = positions[index] if index < len(positions) else None
            place = f" at {names} = ({', '.join(f'{value:.{digits}f}' for value in where)})" if where else ""
            sources.append(f"{unmatched.get('by', 'id')} {source}{place}")
        more = f", … {count - len(sources)} more" if count > len(sources) else ""
        lines.append(f"only in {side}: {count} source(s): " + ", ".join(sources) + more)
    return lines
