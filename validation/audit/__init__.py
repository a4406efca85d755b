"""The feature-deprecation audit: which historical features configs and pipelines use.

`audit_paths` reads pex_config override files, persisted ``*_config``
datasets and gen3 pipeline YAML without executing them and returns one
`validation.model.AuditRecord` per file; `summarize` turns the records into
one row per feature of the catalogue `FEATURES`, joined with the gen2/gen3
equivalence verdicts.

The names below are imported on first use: the scan brings the science's
configs (about 1.5 s), which reading a stored audit does not need.
"""
from diffim._lazy import lazy_exports

__all__ = ["FEATURES", "FEATURE_IDS", "Feature", "NOT_RUN", "audit_paths", "check_feature_ids",
           "feature_verdicts", "find_audited_files", "summarize", "summarize_run"]

_EXPORTS = {
    **dict.fromkeys(("FEATURES", "FEATURE_IDS", "Feature", "check_feature_ids"),
                    "validation.audit.features"),
    **dict.fromkeys(("audit_paths", "find_audited_files"), "validation.audit.scan"),
    **dict.fromkeys(("NOT_RUN", "feature_verdicts", "summarize", "summarize_run"),
                    "validation.audit.summary"),
}
"""Public name -> the module that defines it."""

__getattr__ = lazy_exports(globals(), _EXPORTS)
