"""The model beside the model with its rules: what the rule layer does to the numbers.

``evaluate`` is where a change to the rules is tried, so it applies the
project's rules file *as it is now* (validated against the version's classes
and fields) and says which file and sha256 it used and whether that is the
copy the version was trained with. The model's own report (and the gates)
stay as they are; beside it:

* the report of model + rules over the rows the rules answered (an
  abstained row has no class, so it is left out, and counted);
* the same per slice;
* per rule: the rows it fired on, the fired rows whose answer it changed (an
  abstention counts as a change), and on those changed rows the accuracy of
  the rules' answer (over the changed rows that got one) and of the model's.
  Under ``rules_policy: all`` a row's change counts for every rule that fired
  on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlprod_cli.core.evaluate._scoring import Scored, report_for, slice_reports


@dataclass
class RuleStats:
    """One rule on the evaluated rows."""

    id: str
    effect: str  # Rule.describe(): "deny seborrheic_keratosis"
    fired: int
    changed: int  # fired rows whose answer differs from the model's (abstaining counts)
    abstained: int  # fired rows that got no class
    rules_correct: int  # changed rows where the rules' answer is the true class
    model_correct: int  # changed rows where the model's answer was the true class
    errors: int = 0  # rows its condition could not be evaluated on (it did not fire there)

    def rate(self, part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def changed_answered(self) -> int:
        return self.changed - self.abstained


@dataclass
class RulesEvaluation:
    """The rules applied to the evaluated version's answers on the test split."""

    file: str  # the rules file applied, relative to the project
    sha256: str
    version_sha256: str | None  # the sha256 of the version's own copy (None: trained without)
    policy: str
    fallback: str
    rows: int
    abstained: int
    report: Any  # metrics.Report of model + rules over the answered rows
    slices: dict[str, dict[str, Any]] = field(default_factory=dict)  # as Evaluated.slices
    rules: list[RuleStats] = field(default_factory=list)
    objective: Any | None = None  # the project's metrics.objective (a MetricRef), to show first

    @property
    def answered(self) -> int:
        return self.rows - self.abstained

    @property
    def same_as_version(self) -> bool:
        return self.sha256 == self.version_sha256


def evaluate_rules(
    ruleset: Any,
    frame: Any,
    y_true: Any,
    scored: Scored,
    slices: tuple[str, ...] = (),
    custom: dict[str, Any] | None = None,
    *,
    file: str,
    version_sha256: str | None = None,
    objective: Any | None = None,
) -> RulesEvaluation:
    """Apply ``ruleset`` to ``scored`` (the model's answers on ``frame``'s rows) and compare.

    ``frame`` holds the fields the rules read (a field it lacks is null);
    ``y_true`` the true classes.
    """
    import numpy as np

    from mlprod_cli.core.rules import apply_rules

    y_true = np.asarray(y_true).astype(str)
    model = np.asarray(scored.y_pred).astype(str)
    columns = {name: frame[name].to_numpy() for name in ruleset.variables if name in frame.columns}
    outcome = apply_rules(ruleset, columns, model, scored.scores)
    abstained = np.asarray(outcome.abstained, dtype=bool)
    answered = ~abstained
    given = np.asarray([p if p is not None else "" for p in outcome.prediction], dtype=object)
    after = Scored(scored.labels, given.astype(str), outcome.scores)
    kept = Scored(
        scored.labels,
        after.y_pred[answered],
        None if after.scores is None else after.scores[answered],
    )
    report = report_for(y_true, after, custom, answered)
    sliced = slice_reports(
        frame.loc[answered] if hasattr(frame, "loc") else frame[answered],
        y_true[answered],
        kept,
        tuple(c for c in slices if c in frame.columns),
        custom,
    )
    changed = np.asarray(outcome.changed, dtype=bool)
    stats = []
    for rule in ruleset.rules:
        fired = np.asarray([rule.id in ids for ids in outcome.fired], dtype=bool)
        moved = fired & changed
        moved_answered = moved & answered
        stats.append(
            RuleStats(
                id=rule.id,
                effect=rule.describe(),
                fired=int(fired.sum()),
                changed=int(moved.sum()),
                abstained=int((moved & abstained).sum()),
                rules_correct=int((given[moved_answered] == y_true[moved_answered]).sum()),
                model_correct=int((model[moved] == y_true[moved]).sum()),
                errors=int(outcome.errors.get(rule.id, 0)),
            )
        )
    return RulesEvaluation(
        file=file,
        sha256=ruleset.sha256,
        version_sha256=version_sha256,
        policy=ruleset.policy,
        fallback=ruleset.fallback,
        rows=len(y_true),
        abstained=int(abstained.sum()),
        report=report,
        slices=sliced,
        rules=stats,
        objective=objective,
    )


def project_rules(config: Any, version: Any) -> tuple[Any | None, str | None, str | None]:
    """``(the project's rules file parsed for version, its path shown, a warning)``.

    None when ``mlprod.yaml`` names no rules file; then a version trained with
    rules gets a warning that it is evaluated without them.
    """
    from mlprod_cli.core.predict import parse_for_version, recorded_rules

    if config.rules is None:
        if recorded_rules(version) is not None:
            return (
                None,
                None,
                (
                    f"{version.id} was trained with rules, but {config.path.name} names no rules "
                    "file: evaluated without rules"
                ),
            )
        return None, None, None
    ruleset = parse_for_version(config, version, config.rules)
    try:
        shown = config.rules.relative_to(config.root).as_posix()
    except ValueError:
        shown = str(config.rules)
    return ruleset, shown, None
