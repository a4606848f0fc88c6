"""``mlprod rules test``'s result: the rules in words, then a line per example case, or JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlprod_cli.core.rulebook import RulesTest

__all__ = ["render_test"]


def render_test(result: RulesTest, fmt: str) -> str:
    ruleset = result.ruleset
    if fmt == "json":
        import json

        return json.dumps(
            {
                "rules_file": None if result.path is None else str(result.path),
                "ok": result.ok,
                "validated_against": result.against or None,
                "sha256": None if ruleset is None else ruleset.sha256,
                "policy": None if ruleset is None else ruleset.policy,
                "fallback": None if ruleset is None else ruleset.fallback,
                "rules": []
                if ruleset is None
                else [
                    {"id": r.id, "when": r.when, "effect": r.describe(), "why": r.why}
                    for r in ruleset.rules
                ],
                "cases": [
                    {"name": c.name, "passed": c.passed, "expected": c.expected, "got": c.got}
                    for c in result.cases
                ],
            },
            indent=2,
        )
    if result.path is None or ruleset is None:
        return "no rules file (rules: in mlprod.yaml names none): nothing to test"
    passed = sum(c.passed for c in result.cases)
    lines = [
        f"{result.path.name}: {len(ruleset.rules)} rule{'s' if len(ruleset.rules) != 1 else ''}, "
        f"policy {ruleset.policy}, fallback {ruleset.fallback}, sha256 {ruleset.sha256[:12]}; "
        f"valid against {result.against}",
    ]
    for rule in ruleset.rules:
        lines.append(f"  {rule.id}: when {rule.when} -> {rule.describe()}")
    if not result.cases:
        lines.append("no example cases (tests: in the rules file)")
    for case in result.cases:
        mark = "ok  " if case.passed else "FAIL"
        lines.append(f"{mark} {case.name}")
        if not case.passed:
            lines.append(f"     expected {case.expected}")
            lines.append(f"     got      {case.got}")
    lines.append(f"{passed} of {len(result.cases)} cases pass")
    return "\n".join(lines)
