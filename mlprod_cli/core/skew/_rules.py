"""How often a version's rules fire, on the reference rows and on the serving rows.

A rule layer hides a shift the features may not show: a rule on a field the
model does not use (a body location the user picks) firing on 30 % of the
served rows after 2 % in the reference says the population or the product
changed. :class:`RuleCounts` counts, for one side, the rows each rule fired on
and the rows the rules abstained on; :func:`rule_rates` puts the two sides side
by side. The serving side counts what was served (the ``rules`` field of the
request log, the ``rules`` column of ``predict``'s output) where the data holds
it, else the rules applied again to the re-scored rows.

The rates are reported, not gated: a rule firing more often is a question for
a person, and a difference of :data:`NOTE_DIFFERENCE` or more (absolute, in
share of rows) is said in the notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

NOTE_DIFFERENCE = 0.05
"""A fire rate that moved by this much (5 points of the rows) or more gets a note."""


class RuleCounts:
    """The rows a side has, the rows each rule fired on, the rows the rules abstained on."""

    def __init__(self, ids: Iterable[str]):
        self.rows = 0
        self.fired = dict.fromkeys(ids, 0)
        self.abstained = 0

    def add(self, fired: Iterable[Any], abstained: Iterable[bool] | None = None) -> None:
        """Each row's fired ids (a list, a tuple, ``"a,b"`` text, or None for none)."""
        counts = self.fired
        for ids in fired:
            self.rows += 1
            if not ids:
                continue
            if isinstance(ids, str):
                ids = ids.split(",")
            for rule in ids:
                if rule in counts:  # an id the version does not have: not its rules
                    counts[rule] += 1
        if abstained is not None:
            self.abstained += sum(bool(a) for a in abstained)

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "fired": dict(self.fired), "abstained": self.abstained}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleCounts:
        counts = cls(data["fired"])
        counts.rows = int(data["rows"])
        counts.fired = {str(k): int(v) for k, v in data["fired"].items()}
        counts.abstained = int(data["abstained"])
        return counts


def rule_rates(
    ruleset: Any, reference: RuleCounts, serving: RuleCounts, *, source: str
) -> tuple[dict[str, Any], list[str]]:
    """The report's ``rules`` entry and its notes: each rule's fire rate on both sides."""
    rates = []
    notes = []
    for rule in ruleset.ids:
        ref = _rate(reference.fired.get(rule, 0), reference.rows)
        cur = _rate(serving.fired.get(rule, 0), serving.rows)
        difference = None if ref is None or cur is None else cur - ref
        rates.append(
            {
                "rule": rule,
                "reference": ref,
                "serving": cur,
                "difference": difference,
                "fired_reference": reference.fired.get(rule, 0),
                "fired_serving": serving.fired.get(rule, 0),
            }
        )
        if difference is not None and abs(difference) >= NOTE_DIFFERENCE:
            notes.append(
                f"rule '{rule}' fired on {cur:.1%} of the serving rows and on {ref:.1%} of the "
                "reference rows"
            )
    entry = {
        "sha256": ruleset.sha256,
        "policy": ruleset.policy,
        "source": source,
        "rows_reference": reference.rows,
        "rows_serving": serving.rows,
        "abstained_reference": _rate(reference.abstained, reference.rows),
        "abstained_serving": _rate(serving.abstained, serving.rows),
        "rates": rates,
    }
    return entry, notes


def _rate(n: int, rows: int) -> float | None:
    return n / rows if rows else None
