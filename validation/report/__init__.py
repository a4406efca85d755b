"""Reports of a validation run: HTML with plots, Markdown, JUnit XML, JSON, regressions.

``diffim-validate report`` (`validation.report.cli`) writes them; the
campaign command reuses `write_reports` and `regression_exit_code`.

The names below are loaded on first use: ``diffim-validate`` imports every
subcommand's parser at start-up, and the plotting stack (matplotlib, pandas,
astropy) would otherwise slow down every command, even ``--help``.
"""
from diffim._lazy import lazy_exports

__all__ = ["REPORT_FILES", "Change", "Outcome", "compare_to_baseline", "find_regressions",
           "read_results_json", "regression_exit_code", "run_report_from_json",
           "run_report_to_json", "write_reports", "write_results_json"]

_EXPORTS = {
    **dict.fromkeys(("REPORT_FILES", "write_reports"), "validation.report.writer"),
    **dict.fromkeys(("Change", "compare_to_baseline", "find_regressions", "regression_exit_code"),
                    "validation.report.regression"),
    "Outcome": "validation.report.outcome",
    **dict.fromkeys(("read_results_json", "run_report_from_json", "run_report_to_json",
                     "write_results_json"), "validation.report.json_io"),
}
"""Public name -> the module that defines it."""

__getattr__ = lazy_exports(globals(), _EXPORTS)
