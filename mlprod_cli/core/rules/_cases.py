"""The example cases written beside the rules (``tests:``), and checking them.

A case gives a row's fields, optionally what the model said (its class scores,
or only its class), and what must come out::

    tests:
      - name: a lesion on the palm is never a seborrheic keratosis
        input: {anatomic_site: palms/soles}
        scores: {nevus: 0.2, seborrheic_keratosis: 0.7, melanoma: 0.1}
        expect: {fired: [no_sk_on_palms_soles], class: nevus}

``expect`` may name ``fired`` (the rule ids, in order; ``[]`` for none),
``class`` (the answer) or ``abstain: true``. Checking a class needs what the
model said: ``scores`` or ``model: CLASS``. A case is checked against the
rules alone, so ``mlprod rules test`` needs no trained model and runs in a
pre-commit hook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlprod_cli.core.rules._apply import apply_rules
from mlprod_cli.core.rules._spec import RuleSet, _Where

_CASE_KEYS = {"name", "input", "scores", "model", "expect"}
_EXPECT_KEYS = {"fired", "class", "abstain"}


@dataclass(frozen=True)
class CaseResult:
    name: str
    passed: bool
    expected: str
    got: str


def check_cases(ruleset: RuleSet) -> list[CaseResult]:
    """Run every case of ``ruleset``; raise ConfigError (naming the case) for a malformed one."""
    import numpy as np

    where = _Where(ruleset.path, ruleset.lines)
    labels = list(ruleset.labels)
    results = []
    for n, case in enumerate(ruleset.cases):
        key = f"tests[{n}]"
        if not isinstance(case, dict):
            raise where.fail(key, f"test {n + 1}: expected a mapping with input and expect")
        name = case.get("name") if isinstance(case.get("name"), str) else f"test {n + 1}"
        unknown = sorted(set(case) - _CASE_KEYS)
        if unknown:
            raise where.fail(
                f"{key}.{unknown[0]}",
                f"{name}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_CASE_KEYS))})",
            )
        row = case.get("input") or {}
        if not isinstance(row, dict):
            raise where.fail(f"{key}.input", f"{name}: input: expected a mapping of field: value")
        for field_name in row:
            if field_name not in ruleset.fields:
                raise where.fail(
                    f"{key}.input",
                    f"{name}: input: unknown field {field_name!r} "
                    f"(known: {', '.join(sorted(ruleset.fields))})",
                )
        expect = case.get("expect")
        if not isinstance(expect, dict) or not expect:
            raise where.fail(f"{key}.expect", f"{name}: expect: expected fired, class or abstain")
        unknown = sorted(set(expect) - _EXPECT_KEYS)
        if unknown:
            raise where.fail(
                f"{key}.expect",
                f"{name}: expect: unknown key {unknown[0]!r} (known: fired, class, abstain)",
            )
        scores, model = _model_side(where, key, name, case, labels)
        if ("class" in expect or "abstain" in expect) and scores is None and model is None:
            raise where.fail(
                key, f"{name}: expecting a class needs what the model said: scores or model"
            )
        if "class" in expect and expect["class"] not in labels:
            raise where.fail(f"{key}.expect", f"{name}: expect: unknown class {expect['class']!r}")
        if "fired" in expect:
            fired = expect["fired"]
            if not isinstance(fired, list) or any(f not in ruleset.ids for f in fired):
                raise where.fail(
                    f"{key}.expect",
                    f"{name}: expect: fired: expected a list of rule ids of this file",
                )
        y_pred = [model if model is not None else labels[int(np.argmax(scores))]]
        outcome = apply_rules(
            ruleset,
            {k: [v] for k, v in row.items()},
            y_pred,
            None if scores is None else np.asarray([scores], dtype=float),
        )
        results.append(_judge(name, expect, outcome))
    return results


def _model_side(where, key, name, case, labels) -> tuple[list[float] | None, str | None]:
    scores = case.get("scores")
    model = case.get("model")
    if scores is not None:
        if not isinstance(scores, dict) or not scores:
            raise where.fail(f"{key}.scores", f"{name}: scores: expected a mapping of class: score")
        out = []
        for cls in scores:
            if cls not in labels:
                raise where.fail(f"{key}.scores", f"{name}: scores: unknown class {cls!r}")
        for cls in labels:
            value = scores.get(cls, 0.0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise where.fail(
                    f"{key}.scores", f"{name}: scores: {cls}: expected a number at least 0"
                )
            out.append(float(value))
        return out, None
    if model is not None:
        if model not in labels:
            raise where.fail(f"{key}.model", f"{name}: model: unknown class {model!r}")
        return None, model
    return None, None


def _judge(name: str, expect: dict[str, Any], outcome) -> CaseResult:
    wanted, got = [], []
    if "fired" in expect:
        wanted.append(f"fired {list(expect['fired'])}")
        got.append(f"fired {list(outcome.fired[0])}")
    if expect.get("abstain") is True:
        wanted.append("abstain")
        got.append("abstain" if outcome.abstained[0] else f"class {outcome.prediction[0]}")
    elif "class" in expect:
        wanted.append(f"class {expect['class']}")
        got.append("abstain" if outcome.abstained[0] else f"class {outcome.prediction[0]}")
    expected, seen = "; ".join(wanted), "; ".join(got)
    return CaseResult(name=name, passed=expected == seen, expected=expected, got=seen)
