"""``mlprod train`` and ``mlprod tune``: fit the baseline and the model, register versions.

:func:`train` fits and registers (with lineage: data hashes, split, schema,
parameters, library versions, lock hash, git commit and cross-validated
metrics); :func:`tune` searches hyperparameters by the objective and registers
the best through :func:`train`.
"""

from __future__ import annotations

from mlprod_cli.core.train._train import (
    TrainResult,
    describe_params,
    git_state,
    library_versions,
    lock_hash,
    train,
    validation_metrics,
)
from mlprod_cli.core.train._tune import TuneResult, candidates_for, objective_of, tune

__all__ = [
    "TrainResult",
    "TuneResult",
    "candidates_for",
    "describe_params",
    "git_state",
    "library_versions",
    "lock_hash",
    "objective_of",
    "train",
    "tune",
    "validation_metrics",
]
