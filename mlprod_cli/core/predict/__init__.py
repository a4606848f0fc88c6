"""Predictions: the one prediction step every command shares, and offline batch scoring.

:func:`predict_batch` is how ``predict``, ``evaluate``, ``serve`` and ``skew``
ask a fitted pipeline for classes and scores; :func:`predict_file` scores a
CSV or Parquet file of any size in batches and writes the predictions atomically.
"""

from __future__ import annotations

from mlprod_cli.core.predict._batch import (
    BATCH_ROWS,
    OUTPUT_SUFFIXES,
    PredictResult,
    predict_file,
    read_batches,
)
from mlprod_cli.core.predict._inference import is_regressor, predict_batch, predict_quantiles
from mlprod_cli.core.predict._rules import (
    BACKUP_FOLDER,
    RulesRestore,
    parse_for_version,
    plan_rules_restore,
    recorded_rules,
    rules_fields,
    snapshot_rules,
    version_rules,
)

__all__ = [
    "BACKUP_FOLDER",
    "BATCH_ROWS",
    "OUTPUT_SUFFIXES",
    "PredictResult",
    "RulesRestore",
    "is_regressor",
    "parse_for_version",
    "plan_rules_restore",
    "predict_batch",
    "predict_file",
    "predict_quantiles",
    "read_batches",
    "recorded_rules",
    "rules_fields",
    "snapshot_rules",
    "version_rules",
]
