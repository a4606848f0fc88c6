"""``mlprod skew``: training against serving data — schema, distributions, predictions.

:func:`run_skew` finds both sides (a model version's training split or any
file; the request log or any files), streams the serving side through a
:class:`CurrentAccumulator` and compares it with the :class:`ReferenceSummary`
into a :class:`SkewReport`. The statistics are public for the tests and for
other capabilities that validate data against a reference.

One concept a module: the statistics (``_distances``, ``_thresholds``, ``_values``,
``_reference``, ``_accumulator``, ``_compare``, ``_report``) know nothing of files;
the run (``_run``, ``_model``, ``_reference_side``, ``_current_side``, ``_batches``)
finds and reads the data, through :mod:`mlprod_cli.adapters.tables`.
"""

from __future__ import annotations

from mlprod_cli.core.skew._accumulator import CurrentAccumulator
from mlprod_cli.core.skew._compare import compare
from mlprod_cli.core.skew._current_side import serving_frames
from mlprod_cli.core.skew._distances import (
    PSI_BINS,
    PSI_EPSILON,
    jensen_shannon_distance,
    ks_2samp,
    linf_distance,
    population_stability_index,
    quantile_edges,
    wasserstein_distance,
)
from mlprod_cli.core.skew._reference import SAMPLE_SIZE, ReferenceSummary
from mlprod_cli.core.skew._reference_side import summarise
from mlprod_cli.core.skew._report import (
    FeatureSkew,
    SchemaFinding,
    SkewReport,
    Statistic,
    to_dict,
)
from mlprod_cli.core.skew._run import (
    SkewRequest,
    SkewRun,
    project_workspace,
    run_skew,
)
from mlprod_cli.core.skew._thresholds import DEFAULT_THRESHOLDS, Threshold, resolve_thresholds

__all__ = [
    "DEFAULT_THRESHOLDS",
    "PSI_BINS",
    "PSI_EPSILON",
    "SAMPLE_SIZE",
    "CurrentAccumulator",
    "FeatureSkew",
    "ReferenceSummary",
    "SchemaFinding",
    "SkewReport",
    "SkewRequest",
    "SkewRun",
    "Statistic",
    "Threshold",
    "compare",
    "jensen_shannon_distance",
    "ks_2samp",
    "linf_distance",
    "population_stability_index",
    "project_workspace",
    "quantile_edges",
    "resolve_thresholds",
    "run_skew",
    "serving_frames",
    "summarise",
    "to_dict",
    "wasserstein_distance",
]
