"""``mlprod rules test``: the project's rules file, validated, and its example cases checked.

The rules are checked against the model they will be applied to: the active
model's classes and fields (its features and the data's other columns); with
no model registered yet, against ``mlprod.yaml``'s features and excluded
columns and the classes of the training data's target. The cases run on the
rules alone (each gives the model's scores or class), so this needs no
trained model and is fast enough for a pre-commit hook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.core.rules import CaseResult, RuleSet, check_cases, parse_rules


@dataclass
class RulesTest:
    path: Path | None  # None: the project has no rules file
    against: str = ""  # what the rules were validated against, in words
    ruleset: RuleSet | None = None
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(case.passed for case in self.cases)


def test_rules(workspace: Any) -> RulesTest:
    """Validate the rules file and run its cases; ConfigError (exit 2) for a malformed file."""
    config = workspace.config
    if config.rules is None:
        return RulesTest(path=None)
    labels, fields, against = _model_side(workspace)
    ruleset = parse_rules(config.rules, labels=labels, fields=fields)
    return RulesTest(
        path=config.rules, against=against, ruleset=ruleset, cases=check_cases(ruleset)
    )


test_rules.__test__ = False  # not a pytest test, whatever its name


def _model_side(workspace: Any) -> tuple[list[str], dict[str, str], str]:
    from mlprod_cli.core.predict import rules_fields

    config = workspace.config
    registry = workspace.registry
    version = registry.active("model") or registry.latest("model")
    if version is not None:
        labels = [str(c) for c in version.metadata.get("classes", [])]
        return labels, rules_fields(config, version), f"the classes and fields of {version.id}"
    from mlprod_cli.core import dataset

    train, _ = dataset.load_training_data(config, None)
    target = config.data.target
    labels = sorted(str(v) for v in train.frame[target].dropna().unique())
    fields = {str(c): "string" for c in config.data.exclude}
    if config.features is not None:
        fields.update({c: "number" for c in config.features.numeric})
        fields.update({c: "string" for c in config.features.categorical})
    else:  # no features listed: every column but the target, as the data has them
        for column in train.frame.columns:
            if column != target and column not in fields:
                kind = train.frame[column].dtype.kind
                fields[str(column)] = (
                    "number" if kind in "iuf" else "bool" if kind == "b" else "string"
                )
    return labels, fields, f"mlprod.yaml's features and the {len(labels)} classes of the data"
