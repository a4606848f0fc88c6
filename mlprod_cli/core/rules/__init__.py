"""A rule layer on the model's output: policies a person wrote, applied after the model.

The public face: :func:`parse_rules` reads and validates a rules file against
a model's classes and fields; :func:`apply_rules` gives each row's answer
after the rules (masked and renormalised scores, a forced class, or abstain),
the rules that fired and what changed; :func:`check_cases` runs the example
cases written beside the rules (``mlprod rules test``). Which rules go with a
registered version (its snapshot, checked by hash) is
:func:`mlprod_cli.core.predict.version_rules`'s business. See docs/rules.md.
"""

from __future__ import annotations

from mlprod_cli.core.rules._apply import Outcome, apply_rules, evaluate_conditions, field_value
from mlprod_cli.core.rules._cases import CaseResult, check_cases
from mlprod_cli.core.rules._spec import (
    ABSTAIN,
    EFFECTS,
    POLICIES,
    Rule,
    RuleSet,
    parse_rules,
    read_rules_bytes,
    sha256_bytes,
)

#: The name of a version's copy of its rules, in its folder of the registry.
SNAPSHOT_NAME = "rules.yaml"

_KINDS = {"numeric": "number", "categorical": "string", "datetime": "string", "boolean": "bool"}


def fields_of(schema: dict, other_columns: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """The fields a rule may read: a version's features (by kind) and the data's other columns."""
    fields = {str(c): "string" for c in other_columns}
    for feature in schema.get("features", []):
        fields[str(feature["name"])] = _KINDS.get(feature.get("kind"), "string")
    return fields


__all__ = [
    "ABSTAIN",
    "EFFECTS",
    "POLICIES",
    "SNAPSHOT_NAME",
    "CaseResult",
    "Outcome",
    "Rule",
    "RuleSet",
    "apply_rules",
    "check_cases",
    "evaluate_conditions",
    "field_value",
    "fields_of",
    "parse_rules",
    "read_rules_bytes",
    "sha256_bytes",
]
