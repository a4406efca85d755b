"""The feature-deprecation audit: which historical features configs and pipelines use.

`audit_paths` reads pex_config override files, persisted ``*_config``
datasets and gen3 pipeline YAML without executing them and returns one
`validation.model.AuditRecord` per file; `summarize` turns the records into
one row per feature of the catalogue `FEATURES`, joined with the gen2/gen3
equivalence verdicts.
"""
from .features import FEATURE_IDS, FEATURES, Feature, check_feature_ids
from .scan import audit_paths, find_audited_files
from .summary import NOT_RUN, feature_verdicts, summarize, summarize_run

__all__ = ["FEATURES", "FEATURE_IDS", "Feature", "NOT_RUN", "audit_paths", "check_feature_ids",
           "feature_verdicts", "find_audited_files", "summarize", "summarize_run"]
