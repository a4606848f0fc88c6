"""What a project is made of, decided from a table's profile: each decision with its reason.

:func:`plan_project` turns a :class:`~._profile.Profile` and the user's
overrides into a :class:`Plan`: the task, the classes and the positive class,
the objective, the split, the features by kind, the excluded columns and the
suggested slices. Every decision carries the sentence that ``mlprod.yaml``
shows beside it, so a person can see why and change it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.core.profile._profile import (
    BOOLEAN,
    CATEGORICAL,
    CONSTANT,
    DATETIME,
    EMPTY,
    IDENTIFIER,
    NUMERIC,
    TEXT,
    UNSUPPORTED,
    ColumnProfile,
    Profile,
)
from mlprod_cli.core.words import plural
from mlprod_cli.errors import DataError, UsageError

IMBALANCED_BELOW = 0.4
"""A binary target is imbalanced when its minority class is below this share."""
MAX_CLASSES = 50
MAX_CLASSIFICATION_NUMBERS = 20
"""A numeric target with at most this many distinct whole values is taken as classes."""
TEST_SHARE = 0.2
MIN_CLASS_ROWS = 2
MAX_SLICE_VALUES = 20
SUGGESTED_SLICE_VALUES = 10
MOSTLY_MISSING = 0.9
REGRESSION_OBJECTIVE = (
    "mean absolute error: in the target's own unit, the typical miss, and not ruled by a few "
    "large errors as RMSE is; R², RMSE, the percentage error and the interval are in the report"
)


@dataclass(frozen=True)
class PlanRequest:
    """The user's choices; anything left ``None`` is decided from the profile."""

    target: str
    positive_class: str | None = None
    time_column: str | None = None  # "none": split at random even when a date exists
    slice_by: tuple[str, ...] = ()
    task: str | None = None


@dataclass
class Plan:
    """Everything ``mlprod.yaml`` needs that the data decides."""

    target: str
    task: str
    classes: list[str]
    class_counts: dict[str, int]
    positive_class: str | None
    objective: str
    split: dict[str, Any]
    numeric: list[str]
    categorical: list[str]
    excluded: dict[str, str]  # column -> why
    slices: list[str]
    suggested_slices: list[str]
    reasons: dict[str, str] = field(default_factory=dict)  # task, positive_class, objective, split
    warnings: list[str] = field(default_factory=list)
    rows: int = 0

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "task": self.task,
            "classes": self.classes,
            "class_counts": self.class_counts,
            "positive_class": self.positive_class,
            "objective": self.objective,
            "split": self.split,
            "features": {"numeric": self.numeric, "categorical": self.categorical},
            "excluded": self.excluded,
            "slices": self.slices,
            "suggested_slices": self.suggested_slices,
            "reasons": self.reasons,
            "warnings": self.warnings,
        }


def _listing(items: list[str], limit: int = 12) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")


def _share(n: int, total: int) -> str:
    return f"{100 * n / total:.1f} %"


def _sort_classes(counts: dict[str, int], numeric: bool) -> list[str]:
    """Classes by value: numbers as numbers (2 before 10), text as text."""
    if numeric:
        return sorted(counts, key=lambda c: (float(c), c))
    return sorted(counts)


def _column(profile: Profile, name: str, option: str) -> ColumnProfile:
    try:
        return profile.column(name)
    except KeyError:
        raise DataError(
            f"{option} {name}: no such column in {profile.path.name} "
            f"(columns: {_listing(profile.names)})"
        ) from None


def _classes(profile: Profile, request: PlanRequest) -> tuple[ColumnProfile, dict[str, int], str]:
    target = _column(profile, request.target, "--target")
    where = f"--target {target.name}"
    if target.kind == EMPTY:
        raise DataError(f"{where}: every value is missing in {profile.path.name}")
    if target.kind == UNSUPPORTED:
        raise DataError(f"{where}: {target.reason}; a target must be text, numbers or true/false")
    if target.infinite:
        raise DataError(
            f"{where}: {plural(target.infinite, 'row')} of {profile.path.name} "
            f"{'holds' if target.infinite == 1 else 'hold'} an infinity; a target is a finite "
            "number or a label"
        )
    if target.missing:
        raise DataError(
            f"{where}: {target.missing:,} of {plural(target.rows, 'row')} "
            f"{'has' if target.missing == 1 else 'have'} no label; "
            "remove or label them before training on the file"
        )
    numeric = target.kind == NUMERIC
    many = target.counts is None
    if request.task not in (None, "classification", "regression"):
        raise UsageError(f"--task {request.task}: choose classification or regression")
    looks_numeric = numeric and (
        many or not target.integers or target.distinct > MAX_CLASSIFICATION_NUMBERS
    )
    if request.task == "regression" or (request.task is None and looks_numeric):
        return target, {}, _regression_reason(target, request, profile.path.name)
    if many or target.distinct > MAX_CLASSES:
        raise DataError(
            f"{where}: {target.describe_distinct()} distinct values; a classifier's target has "
            f"at most {MAX_CLASSES} classes"
        )
    counts = dict(target.counts or {})
    if len(counts) < 2:
        only = next(iter(counts), "none")
        raise DataError(
            f"{where}: one class only ({only!r}); a classifier needs two or more classes"
        )
    rare = sorted(c for c, n in counts.items() if n < MIN_CLASS_ROWS)
    if rare:
        raise DataError(
            f"{where}: class {rare[0]!r} has {counts[rare[0]]} row; every class needs at least "
            f"{MIN_CLASS_ROWS} to be in both the training and the test split"
        )
    reason = (
        f"{len(counts)} classes"
        + (" (numbers taken as class labels)" if numeric else "")
        + (": binary" if len(counts) == 2 else ": multiclass")
    )
    return target, counts, reason


def _regression_reason(target: ColumnProfile, request: PlanRequest, file: str) -> str:
    """Why the target is a number to predict; DataError when it cannot be one."""
    where = f"--target {target.name}"
    if target.kind != NUMERIC:
        example = next((e for e in target.examples if e), "?")
        raise DataError(
            f"{where}: holds {target.kind} values such as {example!r} in {file}; "
            "a regression target is numbers",
            hint="--task classification treats each distinct value as a class",
        )
    if request.positive_class is not None:
        raise UsageError(
            f"--positive-class {request.positive_class}: a regression target has no classes"
        )
    if target.distinct < 2 and not target.distinct_capped:
        raise DataError(f"{where}: one value only; there is nothing to predict")
    spread = f"from {_number(target.minimum)} to {_number(target.maximum)}"
    numbers = f"a number to predict: {target.describe_distinct()} distinct values {spread}"
    if request.task == "regression":
        return numbers
    return f"{numbers} (--task classification would take them as classes)"


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _objective(
    counts: dict[str, int], classes: list[str], request: PlanRequest, rows: int
) -> tuple[str | None, str, dict[str, str]]:
    reasons: dict[str, str] = {}
    positive = request.positive_class
    if positive is not None and positive not in counts:
        raise UsageError(
            f"--positive-class {positive}: not a class of the target (classes: {_listing(classes)})"
        )
    majority = max(classes, key=lambda c: (counts[c], c))
    if len(classes) == 2:
        if positive is None:
            positive = min(classes, key=lambda c: (counts[c], c))
            reasons["positive_class"] = (
                f"the minority class ({_share(counts[positive], rows)} of rows): "
                "usually the one the product exists to find"
            )
        else:
            reasons["positive_class"] = "chosen with --positive-class"
        share = counts[positive] / rows
        if share < IMBALANCED_BELOW:
            objective = f"recall@{positive}"
            reasons["objective"] = (
                f"accuracy lies on unbalanced data: '{majority}' is {_share(counts[majority], rows)} "
                f"of rows, so a model predicting only it is that accurate and finds no '{positive}'; "
                f"recall of '{positive}' counts the share found"
            )
        else:
            objective = f"f1_score@{positive}"
            reasons["objective"] = (
                f"the classes are balanced ('{positive}' is {_share(counts[positive], rows)}), "
                f"so misses and false alarms of '{positive}' both count: F1 weighs them together"
            )
        return positive, objective, reasons
    if positive is not None:
        reasons["positive_class"] = "chosen with --positive-class"
        reasons["objective"] = (
            f"recall of '{positive}', the class chosen with --positive-class; "
            "the other classes are in the table"
        )
        return positive, f"recall@{positive}", reasons
    reasons["objective"] = (
        f"macro F1: each of the {len(classes)} classes counts the same whatever its share "
        f"(the largest, '{majority}', is {_share(counts[majority], rows)}), so the rare ones are not drowned"
    )
    return None, "f1_score", reasons


def _time_split(
    column: ColumnProfile,
    classes: list[str],
    reasons: dict[str, str],
    explicit: bool,
    *,
    days_only: bool = False,
) -> dict[str, Any] | None:
    """A cutoff leaving about a fifth of the rows (by date) for the test side, or None."""
    pairs = column.dates
    if not pairs:
        return None
    days = [day for day, _ in pairs]
    distinct = sorted(set(days))
    if len(distinct) < 2:
        if explicit:
            raise DataError(f"--time-column {column.name}: holds a single date; nothing to split")
        return None
    # A cutoff a person reads at a glance: the first of a month when the dates span
    # several months (2024-07-01, not 2024-07-12), else the day nearest a fifth.
    months = sorted({day[:7] + "-01" for day in distinct[1:]} - {distinct[0][:7] + "-01"})
    candidates = months if len(months) >= 3 and not days_only else distinct[1:]
    best, best_gap = None, None
    index = 0
    for day in candidates:  # the share of sampled rows on or after each candidate
        while index < len(days) and days[index] < day:
            index += 1
        gap = abs((len(days) - index) / len(days) - TEST_SHARE)
        if best_gap is None or gap < best_gap:
            best, best_gap = day, gap
    if best_gap is not None and best_gap > 0.05 and not days_only and candidates is months:
        return _time_split(column, classes, reasons, explicit, days_only=True)
    cutoff = best
    labels_before = {label for day, label in pairs if day < cutoff}
    labels_after = {label for day, label in pairs if day >= cutoff}
    missing = [c for c in classes if c not in labels_before]
    test_share = sum(day >= cutoff for day in days) / len(days)
    if missing and None not in labels_before:
        note = (
            f"a split by {column.name} at {cutoff} leaves no '{missing[0]}' to train on"
            if len(missing) == 1
            else f"a split by {column.name} at {cutoff} leaves {len(missing)} classes with nothing to train on"
        )
        if explicit:
            raise DataError(f"--time-column {column.name}: {note}")
        reasons["split"] = f"at random, stratified by class: {note}"
        return None
    absent_in_test = [c for c in classes if c not in labels_after]
    reasons["split"] = (
        f"by time: train on the past, test on the future, as the model will be used; "
        f"{cutoff} leaves about {100 * test_share:.0f} % of the rows (by {column.name}) for the test side"
        + (
            f" ({_listing(absent_in_test)} {'never occurs' if len(absent_in_test) == 1 else 'never occur'} after it)"
            if absent_in_test and None not in labels_after
            else ""
        )
    )
    return {"by": "time", "column": column.name, "cutoff": cutoff}


def _split(
    profile: Profile,
    request: PlanRequest,
    classes: list[str],
    reasons: dict[str, str],
    *,
    stratified: bool = True,
) -> dict[str, Any]:
    random_split = {"by": "random", "test_size": TEST_SHARE, "seed": 42}
    at_random = "at random, stratified by class" if stratified else "at random"
    if request.time_column == "none":
        reasons["split"] = f"{at_random} (--time-column none)"
        return random_split
    if request.time_column is not None:
        column = _column(profile, request.time_column, "--time-column")
        if column.kind == EMPTY:
            raise DataError(f"--time-column {column.name}: every value is missing")
        if column.kind != DATETIME:
            bad = next((e for e in column.examples if e), "?")
            raise DataError(
                f"--time-column {column.name}: is not a date column (values such as {bad!r} "
                "do not parse as YYYY-MM-DD dates)"
            )
        if column.missing:
            raise DataError(
                f"--time-column {column.name}: {plural(column.missing, 'row')} "
                f"{'has' if column.missing == 1 else 'have'} no date; "
                "a split by time cannot place them"
            )
        found = _time_split(column, classes, reasons, explicit=True)
        if found is None:
            raise DataError(f"--time-column {column.name}: cannot split the rows by it")
        return found
    dates = [
        c
        for c in profile.columns
        if c.kind == DATETIME and c.missing == 0 and c.name != request.target
    ]
    for column in sorted(dates, key=lambda c: -len({d for d, _ in c.dates})):
        found = _time_split(column, classes, reasons, explicit=False)
        if found is not None:
            return found
        if "split" in reasons:
            return random_split
    reasons["split"] = f"{at_random}: no date column to split by time"
    return random_split


_EXCLUDED = {
    IDENTIFIER: "identifier-like",
    TEXT: "free text",
    DATETIME: "a date",
    EMPTY: "every value is missing",
    CONSTANT: "one value only",
    UNSUPPORTED: "not a table value",
}


def plan_project(profile: Profile, request: PlanRequest) -> Plan:
    """Decide the project for ``profile``; DataError/UsageError naming the option on bad input."""
    target, counts, task_reason = _classes(profile, request)
    task = "classification" if counts else "regression"
    classes = _sort_classes(counts, target.kind == NUMERIC)
    reasons = {"task": task_reason}
    if task == "regression":
        positive, objective = None, "mae"
        reasons["objective"] = REGRESSION_OBJECTIVE
    else:
        positive, objective, more = _objective(counts, classes, request, profile.rows)
        reasons.update(more)
    split = _split(profile, request, classes, reasons, stratified=task == "classification")
    numeric: list[str] = []
    categorical: list[str] = []
    excluded: dict[str, str] = {}
    for column in profile.columns:
        if column.name == target.name:
            continue
        if column.kind in _EXCLUDED:
            why = _EXCLUDED[column.kind]
            if column.kind == DATETIME and split.get("column") == column.name:
                why = "the date the split is made by"
            excluded[column.name] = f"{why}: {column.reason}" if column.reason else why
        elif column.missing_share > MOSTLY_MISSING:
            excluded[column.name] = f"{100 * column.missing_share:.0f} % of values are missing"
        elif column.kind == NUMERIC:
            numeric.append(column.name)
        elif column.kind in (CATEGORICAL, BOOLEAN):
            categorical.append(column.name)
    if not numeric and not categorical:
        raise DataError(
            f"{profile.path.name}: no column can be a feature (excluded: "
            + "; ".join(f"{k}: {v}" for k, v in list(excluded.items())[:6])
            + ")"
        )
    slices = []
    for name in dict.fromkeys(request.slice_by):
        column = _column(profile, name, "--slice-by")
        if column.kind == EMPTY:
            raise DataError(f"--slice-by {name}: every value is missing")
        if name == target.name:
            raise UsageError(f"--slice-by {name}: is the target; slice by a column of the rows")
        if column.counts is None or column.distinct > MAX_SLICE_VALUES:
            raise DataError(
                f"--slice-by {name}: {column.describe_distinct()} distinct values; "
                f"a slice column has a few (at most {MAX_SLICE_VALUES})"
            )
        slices.append(name)
    suggested = [
        c.name
        for c in profile.columns
        if c.name != target.name
        and c.kind in (CATEGORICAL, BOOLEAN)
        and c.counts is not None
        and 2 <= c.distinct <= SUGGESTED_SLICE_VALUES
        and min(c.counts.values()) >= 0.05 * c.present
        and c.name not in slices
    ]
    warnings = [
        f"class {c!r} has only {plural(n, 'row')}: its metrics will be noisy"
        for c, n in sorted(counts.items())
        if n < 10
    ]
    return Plan(
        target=target.name,
        task=task,
        classes=classes,
        class_counts={c: counts[c] for c in classes},
        positive_class=positive,
        objective=objective,
        split=split,
        numeric=numeric,
        categorical=categorical,
        excluded=excluded,
        slices=slices,
        suggested_slices=suggested,
        reasons=reasons,
        warnings=warnings,
        rows=profile.rows,
    )
