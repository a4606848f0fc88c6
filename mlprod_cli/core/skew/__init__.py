"""``mlprod skew``: training against serving data — schema, distributions, predictions.

:func:`run_skew` finds both sides (a model version's training split or any
file; the request log or any files), streams the serving side through a
:class:`CurrentAccumulator` and compares it with the :class:`ReferenceSummary`
into a :class:`SkewReport`. The statistics are public for the tests and for
other capabilities that validate data against a reference.
"""

from __future__ import annotations

from mlprod_cli.core.skew._run import (
    SkewRequest,
    SkewRun,
    project_workspace,
    run_skew,
    summarise,
)
from mlprod_cli.core.skew._statistics import (
    DEFAULT_THRESHOLDS,
    PSI_BINS,
    PSI_EPSILON,
    SAMPLE_SIZE,
    CurrentAccumulator,
    FeatureSkew,
    ReferenceSummary,
    SchemaFinding,
    SkewReport,
    Statistic,
    Threshold,
    compare,
    jensen_shannon_distance,
    ks_2samp,
    linf_distance,
    population_stability_index,
    quantile_edges,
    resolve_thresholds,
    to_dict,
    wasserstein_distance,
)

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
    "summarise",
    "to_dict",
    "wasserstein_distance",
]
