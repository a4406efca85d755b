"""Reports of a validation run: HTML with plots, Markdown, JUnit XML, JSON, regressions.

``diffim-validate report`` (`validation.report.cli`) writes them; the
campaign command reuses `write_reports` and `regression_exit_code`.

The names below are loaded on first use: ``diffim-validate`` imports every
subcommand's parser at start-up, and the plotting stack (matplotlib, pandas,
astropy) would otherwise slow down every command, even ``--help``.
"""
import importlib

__all__ = ["REPORT_FILES", "Change", "Outcome", "compare_to_baseline", "find_regressions",
           "read_results_json", "regression_exit_code", "run_report_from_json",
           "run_report_to_json", "write_reports", "write_results_json"]

_MODULE_OF = {
    "REPORT_FILES": "writer", "write_reports": "writer",
    "Change": "regression", "compare_to_baseline": "regression", "find_regressions": "regression",
    "regression_exit_code": "regression",
    "Outcome": "outcome",
    "read_results_json": "json_io", "run_report_from_json": "json_io",
    "run_report_to_json": "json_io", "write_results_json": "json_io",
}


def __getattr__(name):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_MODULE_OF[name]}", __name__), name)


def __dir__():
    return sorted(__all__)
