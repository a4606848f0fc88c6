"""Thresholds: the levels above which a statistic warns and fails, and the statuses they give.

:data:`DEFAULT_THRESHOLDS` holds the defaults (docs/skew.md gives the reasons);
:func:`resolve_thresholds` overlays ``skew.thresholds`` and, per feature,
``skew.features`` of ``mlprod.yaml`` on them, and says which key is wrong when one is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlprod_cli.core.names import SKEW_STATISTICS
from mlprod_cli.core.skew._messages import describe, listing
from mlprod_cli.errors import DataError

OK, WARN, FAIL = "ok", "warn", "fail"
_RANK = {OK: 0, WARN: 1, FAIL: 2}

# Above a warn value -> warn, above a fail value -> fail. See docs/skew.md for the reasons.
STATISTICS = SKEW_STATISTICS


@dataclass(frozen=True)
class Threshold:
    """The levels above which a statistic warns and fails; ``None`` means never."""

    warn: float | None
    fail: float | None

    def status(self, value: float | None) -> str:
        if value is None:
            return OK
        if self.fail is not None and value > self.fail:
            return FAIL
        if self.warn is not None and value > self.warn:
            return WARN
        return OK


DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    "psi": Threshold(0.1, 0.25),
    "ks": Threshold(0.1, 0.2),
    "wasserstein": Threshold(0.1, 0.25),
    "js": Threshold(0.1, 0.2),
    "linf": Threshold(0.1, 0.2),
    "null_rate": Threshold(0.05, 0.1),
    "out_of_range": Threshold(0.01, 0.05),
    "prediction_mismatch": Threshold(0.01, 0.05),
    "score_diff": Threshold(0.01, 0.05),
}


# A distance over its threshold is a warn or a fail only when the drift is also
# statistically significant at this level for the sample at hand (KS for numbers,
# chi-square for categories; docs/skew.md, "Small samples").
SIGNIFICANCE = 0.01


def worst(statuses: Iterable[str]) -> str:
    """The worst of ``statuses`` (fail over warn over ok); ok when there are none."""
    return max(statuses, key=_RANK.__getitem__, default=OK)


def resolve_thresholds(
    thresholds: Mapping[str, Any] | None = None,
    feature_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    features: Iterable[str] | None = None,
) -> tuple[dict[str, Threshold], dict[str, dict[str, Threshold]]]:
    """The defaults overlaid with ``skew.thresholds`` and, per feature, ``skew.features``.

    A value is a number ``x`` (fail above ``x``, warn above ``x/2``) or a mapping
    ``{warn, fail}``: a missing ``warn`` is half of ``fail``, a missing ``fail`` means
    the statistic never fails. Bad values raise DataError naming the key.
    """
    base = dict(DEFAULT_THRESHOLDS)
    base.update(_threshold_map("skew.thresholds", thresholds))
    known = None if features is None else list(features)
    per_feature: dict[str, dict[str, Threshold]] = {}
    if feature_overrides is not None and not isinstance(feature_overrides, Mapping):
        raise DataError(
            f"skew.features: expected a mapping of feature names, got {describe(feature_overrides)}"
        )
    for name, overrides in (feature_overrides or {}).items():
        if known is not None and name not in known:
            raise DataError(
                f"skew.features.{name}: no training feature is named {name!r} (features: {listing(known)})"
            )
        per_feature[name] = {**base, **_threshold_map(f"skew.features.{name}", overrides)}
    return base, per_feature


def _threshold_map(key: str, value: Any) -> dict[str, Threshold]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise DataError(f"{key}: expected a mapping of statistic names, got {describe(value)}")
    out = {}
    for name, entry in value.items():
        if name not in STATISTICS:
            raise DataError(
                f"{key}.{name}: unknown skew statistic (known: {', '.join(STATISTICS)})"
            )
        out[name] = _threshold(f"{key}.{name}", entry)
    return out


def _threshold(key: str, value: Any) -> Threshold:
    if isinstance(value, Threshold):
        return value
    if isinstance(value, Mapping):
        unknown = sorted(str(k) for k in set(value) - {"warn", "fail"})
        if unknown:
            raise DataError(f"{key}: unknown key {unknown[0]!r} (expected warn and/or fail)")
        warn = None if value.get("warn") is None else _level(f"{key}.warn", value["warn"])
        fail = None if value.get("fail") is None else _level(f"{key}.fail", value["fail"])
        if warn is None and fail is not None:
            warn = fail / 2
        if warn is not None and fail is not None and warn > fail:
            raise DataError(f"{key}: warn ({warn:g}) is above fail ({fail:g})")
        return Threshold(warn, fail)
    fail = _level(key, value)
    return Threshold(fail / 2, fail)


def _level(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise DataError(f"{key}: expected a number or {{warn, fail}}, got {describe(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise DataError(f"{key}: expected a finite number, got {number}")
    if number < 0:
        raise DataError(f"{key}: must be at least 0, got {number:g}")
    return number
