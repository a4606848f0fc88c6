"""Applying a rule set to a model's answers: which rules fire, and what the answer becomes.

For each row, the rules whose condition holds *fire*: under ``first`` only the
first of them, under ``all`` every one. Then, in this order:

1. a fired ``abstain`` rule: the row is sent to a person (no class);
2. a fired ``force``: that class (the first such rule's), with all its score;
3. otherwise the model's class scores are masked (``allow_classes`` keeps only
   those classes, ``deny_classes`` drops those; several rules intersect) and
   renormalised, and the top class is the answer;
4. when nothing is left (every class masked, or the model gave the classes
   left no probability at all), the file's ``fallback``: abstain, or a class.

A row no rule fires on keeps the model's own answer and scores. A model
without class scores keeps its class when the masks allow it and falls back
otherwise. A condition that fails on a row (a missing value compared with a
number: CEL has no ordering for null) does not fire there; such rows are
counted per rule in :attr:`Outcome.errors`.

Conditions are evaluated once per distinct combination of the values they
read (within a bounded cache), so a rule on a categorical field costs a dict
lookup per row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.core.rules._spec import ABSTAIN, RuleSet

_CACHE_LIMIT = 4096


@dataclass
class Outcome:
    """The answers after the rules, row by row."""

    prediction: list[str | None]  # None: abstained
    scores: Any | None  # (n, classes) after masking, or None without model scores
    fired: list[tuple[str, ...]]  # the ids of the rules that fired, per row
    abstained: list[bool]
    changed: list[bool]  # the answer differs from the model's (abstaining counts)
    errors: dict[str, int] = field(default_factory=dict)  # rule id: rows its condition failed on

    @property
    def rows(self) -> int:
        return len(self.prediction)


def field_value(value: Any, kind: str) -> Any:
    """A row's value as CEL sees it: text, a double, a bool, or null for a missing value."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if kind == "number":
        if isinstance(value, bool):
            return float(value)
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        return None if math.isnan(number) else number
    if kind == "bool":
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            return None
        try:
            return bool(value)
        except (TypeError, ValueError):
            return None
    if isinstance(value, str):
        return value
    if hasattr(value, "isoformat"):  # a date or timestamp: its ISO text
        try:
            return value.isoformat()
        except ValueError:  # pandas.NaT
            return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a category read as a number: 3.0 is "3"
    return str(value)


def evaluate_conditions(
    ruleset: RuleSet, columns: Mapping[str, Sequence[Any]], rows: int
) -> tuple[list[list[bool]], dict[str, int]]:
    """``holds[r][i]``: whether rule ``r``'s condition holds on row ``i``; and errors per rule."""
    holds: list[list[bool]] = []
    errors: dict[str, int] = {}
    for rule in ruleset.rules:
        if rule.constant is not None:
            holds.append([rule.constant] * rows)
            continue
        series = []
        for name in rule.variables:
            values = columns.get(name)
            kind = ruleset.fields.get(name, "string")
            if values is None:
                series.append([None] * rows)
            else:
                series.append([field_value(v, kind) for v in values])
        cache: dict[tuple, bool | None] = {}
        out: list[bool] = []
        failed = 0
        names = rule.variables
        program = rule.program
        for i in range(rows):
            key = tuple(s[i] for s in series)
            hit = cache.get(key, _MISS)
            if hit is _MISS:
                try:
                    value = program.execute(dict(zip(names, key, strict=True)))
                    hit = value if isinstance(value, bool) else None
                except Exception:
                    hit = None
                if len(cache) < _CACHE_LIMIT:
                    cache[key] = hit
            if hit is None:
                failed += 1
                out.append(False)
            else:
                out.append(hit)
        if failed:
            errors[rule.id] = failed
        holds.append(out)
    return holds, errors


_MISS = object()


def apply_rules(
    ruleset: RuleSet,
    columns: Mapping[str, Sequence[Any]],
    y_pred: Sequence[Any],
    scores: Any | None,
) -> Outcome:
    """The answers for ``len(y_pred)`` rows after ``ruleset`` (see the module's docstring).

    ``columns`` holds each field a rule reads (missing ones are null);
    ``scores`` is the model's ``(n, len(ruleset.labels))`` array or None.
    """
    import numpy as np

    rows = len(y_pred)
    labels = list(ruleset.labels)
    index = {label: j for j, label in enumerate(labels)}
    holds, errors = evaluate_conditions(ruleset, columns, rows)
    new_scores = None if scores is None else np.array(scores, dtype=float, copy=True)
    prediction: list[str | None] = [str(p) for p in y_pred]
    fired_all: list[tuple[str, ...]] = []
    abstained = [False] * rows
    changed = [False] * rows
    first = ruleset.policy == "first"
    rules = ruleset.rules
    for i in range(rows):
        fired = []
        for r, rule in enumerate(rules):
            if holds[r][i]:
                fired.append(rule)
                if first:
                    break
        fired_all.append(tuple(rule.id for rule in fired))
        if not fired:
            continue
        model = prediction[i]
        answer, row_scores = _resolve(
            fired, ruleset, labels, index, model, None if new_scores is None else new_scores[i]
        )
        if row_scores is not None and new_scores is not None:
            new_scores[i] = row_scores
        if answer is None:
            abstained[i] = True
            prediction[i] = None
            changed[i] = True
        else:
            prediction[i] = answer
            changed[i] = answer != model
    return Outcome(
        prediction=prediction,
        scores=new_scores,
        fired=fired_all,
        abstained=abstained,
        changed=changed,
        errors=errors,
    )


def _resolve(fired, ruleset: RuleSet, labels, index, model: str, row: Any):
    """``(class or None for abstain, the row's new scores or None to keep them)``."""
    import numpy as np

    if any(rule.effect == "abstain" for rule in fired):
        return None, None
    for rule in fired:
        if rule.effect == "force":
            return rule.classes[0], _one_hot(len(labels), index[rule.classes[0]])
    mask = np.ones(len(labels), dtype=bool)
    for rule in fired:
        chosen = np.zeros(len(labels), dtype=bool)
        chosen[[index[c] for c in rule.classes]] = True
        mask &= chosen if rule.effect == "allow_classes" else ~chosen
    if row is None:
        if model in index and mask[index[model]]:
            return model, None
        return _fallback(ruleset, labels, index)
    masked = np.where(mask, row, 0.0)
    total = float(masked.sum())
    if not total > 0.0 or not math.isfinite(total):
        return _fallback(ruleset, labels, index)
    masked = masked / total
    return labels[int(np.argmax(masked))], masked


def _fallback(ruleset: RuleSet, labels, index):
    if ruleset.fallback == ABSTAIN:
        return None, None
    return ruleset.fallback, _one_hot(len(labels), index[ruleset.fallback])


def _one_hot(k: int, j: int):
    import numpy as np

    out = np.zeros(k)
    out[j] = 1.0
    return out
