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
read (a cache per rule, kept across calls and bounded at 4,096 entries), so a
rule on a categorical field costs a dict lookup per row.
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
    if rows == 1:
        return _conditions_of_one_row(ruleset, columns)
    converted: dict[str, list[Any]] = {}
    for name in ruleset.variables:
        values = columns.get(name)
        kind = ruleset.fields.get(name, "string")
        converted[name] = [None] * rows if values is None else _converted(values, kind)
    holds: list[list[bool]] = []
    errors: dict[str, int] = {}
    for rule in ruleset.rules:
        if rule.constant is not None:
            holds.append([rule.constant] * rows)
            continue
        names = rule.variables
        series = [converted[name] for name in names]
        keys = series[0] if len(series) == 1 else list(zip(*series, strict=True))
        cache = ruleset.memo.setdefault(rule.id, {})
        if len(cache) >= _CACHE_LIMIT:  # values that hardly repeat (a continuous number)
            cache.clear()
        out: list[bool] = []
        append = out.append
        failed = 0
        program = rule.program
        single = len(names) == 1
        for key in keys:
            hit = cache.get(key, _MISS)
            if hit is _MISS:
                context = {names[0]: key} if single else dict(zip(names, key, strict=True))
                try:
                    value = program.execute(context)
                    hit = value if isinstance(value, bool) else None
                except Exception:
                    hit = None
                cache[key] = hit
            if hit is None:
                failed += 1
                append(False)
            else:
                append(hit)
        if failed:
            errors[rule.id] = failed
        holds.append(out)
    return holds, errors


def _conditions_of_one_row(
    ruleset: RuleSet, columns: Mapping[str, Sequence[Any]]
) -> tuple[list[list[bool]], dict[str, int]]:
    """:func:`evaluate_conditions` for one row (serve's usual request), without the loops' setup."""
    fields = ruleset.fields
    row = {}
    for name in ruleset.variables:
        values = columns.get(name)
        row[name] = None if values is None else field_value(values[0], fields.get(name, "string"))
    combined = ruleset.combined
    if combined is not None:
        try:
            values = combined.execute(row)
        except Exception:
            values = None  # some condition fails on this row: one by one, to know which
        if isinstance(values, list) and all(isinstance(v, bool) for v in values):
            live = iter(values)
            return [
                [rule.constant] if rule.constant is not None else [next(live)]
                for rule in ruleset.rules
            ], {}
    holds: list[list[bool]] = []
    errors: dict[str, int] = {}
    memo = ruleset.memo
    for rule in ruleset.rules:
        if rule.constant is not None:
            holds.append([rule.constant])
            continue
        names = rule.variables
        key = row[names[0]] if len(names) == 1 else tuple(row[n] for n in names)
        cache = memo.get(rule.id)
        if cache is None:
            cache = memo[rule.id] = {}
        hit = cache.get(key, _MISS)
        if hit is _MISS:
            try:
                value = rule.program.execute({n: row[n] for n in names})
                hit = value if isinstance(value, bool) else None
            except Exception:
                hit = None
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[key] = hit
        if hit is None:
            errors[rule.id] = 1
            holds.append([False])
        else:
            holds.append([hit])
    return holds, errors


def _converted(values: Sequence[Any], kind: str) -> list[Any]:
    """A column's values as CEL sees them, each distinct value converted once."""
    dtype = getattr(values, "dtype", None)
    if dtype is not None and kind == "number" and dtype.kind in "iuf":
        import numpy as np

        array = np.asarray(values, dtype=float)
        out = array.tolist()
        if dtype.kind == "f":
            for i in np.flatnonzero(np.isnan(array)).tolist():
                out[i] = None
        return out
    if dtype is not None:
        values = values.tolist() if hasattr(values, "tolist") else list(values)
    cache: dict[Any, Any] = {}
    out = []
    append = out.append
    for value in values:
        try:
            shown = cache[value]
        except KeyError:
            shown = cache[value] = field_value(value, kind)
        except TypeError:  # unhashable: converted on its own
            shown = field_value(value, kind)
        append(shown)
    return out


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
    The resolution is done on whole arrays, rule by rule, not row by row.
    """
    import numpy as np

    rows = len(y_pred)
    labels = list(ruleset.labels)
    k = len(labels)
    index = {label: j for j, label in enumerate(labels)}
    rules = ruleset.rules
    new_scores = None if scores is None else np.array(scores, dtype=float, copy=True)
    if not rules or rows == 0:
        return Outcome(
            prediction=[str(p) for p in y_pred],
            scores=new_scores,
            fired=[()] * rows,
            abstained=[False] * rows,
            changed=[False] * rows,
        )
    holds_lists, errors = evaluate_conditions(ruleset, columns, rows)
    if rows <= _SMALL:
        strings = [str(p) for p in y_pred]
        return _apply_small(ruleset, holds_lists, errors, strings, new_scores, index)
    model = np.asarray([str(p) for p in y_pred], dtype=object)
    holds = np.asarray(holds_lists, dtype=bool).reshape(len(rules), rows)
    if ruleset.policy == "first":
        fired = np.zeros_like(holds)
        anything = holds.any(axis=0)
        first = holds.argmax(axis=0)
        fired[first[anything], np.flatnonzero(anything)] = True
    else:
        fired = holds
    touched = fired.any(axis=0)
    abstain = np.zeros(rows, dtype=bool)
    forced = np.full(rows, -1)
    mask = np.ones((rows, k), dtype=bool)
    masked_rows = np.zeros(rows, dtype=bool)
    for r, rule in enumerate(rules):
        hit = fired[r]
        if not hit.any():
            continue
        if rule.effect == "abstain":
            abstain |= hit
        elif rule.effect == "force":
            forced[hit & (forced < 0)] = index[rule.classes[0]]
        else:
            chosen = np.zeros(k, dtype=bool)
            chosen[[index[c] for c in rule.classes]] = True
            mask[hit] &= chosen if rule.effect == "allow_classes" else ~chosen
            masked_rows |= hit
    answer = model.copy()
    fallback = None if ruleset.fallback == ABSTAIN else index[ruleset.fallback]
    force_rows = (forced >= 0) & ~abstain
    mask_rows = masked_rows & ~abstain & ~force_rows
    if mask_rows.any():
        where = np.flatnonzero(mask_rows)
        if new_scores is not None:
            kept = np.where(mask[where], new_scores[where], 0.0)
            total = kept.sum(axis=1)
            good = np.isfinite(total) & (total > 0)
            ok = where[good]
            new_scores[ok] = kept[good] / total[good][:, None]
            answer[ok] = np.asarray(labels, dtype=object)[new_scores[ok].argmax(axis=1)]
            empty = where[~good]
        else:
            codes = np.asarray([index.get(m, -1) for m in model[where]])
            allowed = (codes >= 0) & mask[where, np.maximum(codes, 0)]
            empty = where[~allowed]
        if len(empty):
            if fallback is None:
                abstain[empty] = True
            else:
                force_rows[empty] = True
                forced[empty] = fallback
    if force_rows.any():
        where = np.flatnonzero(force_rows)
        answer[where] = np.asarray(labels, dtype=object)[forced[where]]
        if new_scores is not None:
            new_scores[where] = 0.0
            new_scores[where, forced[where]] = 1.0
    answer[abstain] = None
    changed = abstain | (touched & (answer != model))
    return Outcome(
        prediction=answer.tolist(),
        scores=new_scores,
        fired=_fired_ids(fired, [rule.id for rule in rules]),
        abstained=abstain.tolist(),
        changed=changed.tolist(),
        errors=errors,
    )


#: Up to this many rows (serve's single-row requests), rows are resolved one by one in
#: plain Python: numpy's per-call cost would be most of the time.
_SMALL = 8


def _apply_small(ruleset, holds, errors, model, new_scores, index) -> Outcome:
    labels = ruleset.labels
    rules = ruleset.rules
    first = ruleset.policy == "first"
    rows = len(model)
    prediction: list[str | None] = list(model)
    fired_all: list[tuple[str, ...]] = []
    abstained = [False] * rows
    changed = [False] * rows
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
        row = None if new_scores is None else new_scores[i].tolist()
        answer, row_scores = _resolve(fired, ruleset, labels, index, model[i], row)
        if row_scores is not None and new_scores is not None:
            new_scores[i] = row_scores
        if answer is None:
            abstained[i] = changed[i] = True
            prediction[i] = None
        else:
            prediction[i] = answer
            changed[i] = answer != model[i]
    return Outcome(prediction, new_scores, fired_all, abstained, changed, errors)


def _resolve(fired, ruleset, labels, index, model, row):
    """One row: ``(class or None to abstain, its new scores or None to keep them)``."""
    if any(rule.effect == "abstain" for rule in fired):
        return None, None
    k = len(labels)
    for rule in fired:
        if rule.effect == "force":
            return rule.classes[0], _one_hot(k, index[rule.classes[0]])
    keep = [True] * k
    for rule in fired:
        chosen = {index[c] for c in rule.classes}
        allow = rule.effect == "allow_classes"
        for j in range(k):
            if (j in chosen) != allow:
                keep[j] = False
    if row is None:
        if model in index and keep[index[model]]:
            return model, None
        return _fallback(ruleset, labels, index)
    kept = [v if keep[j] else 0.0 for j, v in enumerate(row)]
    total = sum(kept)
    if not total > 0.0 or not math.isfinite(total):
        return _fallback(ruleset, labels, index)
    kept = [v / total for v in kept]
    return labels[max(range(k), key=kept.__getitem__)], kept


def _fallback(ruleset, labels, index):
    if ruleset.fallback == ABSTAIN:
        return None, None
    return ruleset.fallback, _one_hot(len(labels), index[ruleset.fallback])


def _one_hot(k: int, j: int) -> list[float]:
    out = [0.0] * k
    out[j] = 1.0
    return out


def _fired_ids(fired: Any, ids: list[str]) -> list[tuple[str, ...]]:
    """Each row's fired rule ids, in order, through one code per distinct combination."""
    import numpy as np

    rows = fired.shape[1]
    if len(ids) <= 62:
        weights = np.left_shift(1, np.arange(len(ids), dtype=np.int64))
        codes = (fired.astype(np.int64) * weights[:, None]).sum(axis=0)
        table = {
            int(code): tuple(ids[r] for r in range(len(ids)) if (int(code) >> r) & 1)
            for code in np.unique(codes).tolist()
        }
        return [table[code] for code in codes.tolist()]
    return [tuple(ids[r] for r in np.flatnonzero(fired[:, i])) for i in range(rows)]
