"""The model beside the model + rules, on a case small enough to count by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlprod_cli.core.evaluate import Scored, evaluate_rules
from mlprod_cli.core.rules import parse_rules

RULES = """\
rules:
  - id: deny_a
    when: 'site == "x"'
    deny_classes: [a]
  - id: ask
    when: 'site == "y"'
    abstain: true
  - id: force_a
    when: 'site == "z"'
    force: a
"""


@pytest.fixture
def case(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    ruleset = parse_rules(path, labels=["a", "b"], fields={"site": "string"})
    frame = pd.DataFrame({"site": ["x", "x", "y", "y", "z", "z"]})
    y_true = np.array(["a", "b", "a", "b", "a", "b"])
    scored = Scored(["a", "b"], np.array(["a"] * 6), np.tile([0.6, 0.4], (6, 1)))
    return ruleset, frame, y_true, scored


def test_side_by_side_numbers_by_hand(case):
    ruleset, frame, y_true, scored = case
    got = evaluate_rules(ruleset, frame, y_true, scored, ("site",), file="rules.yaml")
    # rows 2 and 3 abstain; the rest answer b, b, a, a against a, b, a, b
    assert (got.rows, got.abstained, got.answered) == (6, 2, 4)
    assert got.report.n_samples == 4
    assert got.report.accuracy.value == pytest.approx(2 / 4)
    assert got.report.value("recall", label="a").value == pytest.approx(1 / 2)  # the model: 3/3
    assert got.report.value("recall", label="b").value == pytest.approx(1 / 2)  # the model: 0/3
    stats = {s.id: s for s in got.rules}
    deny, ask, force = stats["deny_a"], stats["ask"], stats["force_a"]
    # deny_a moves rows 0 and 1 from a to b: right on row 1, the model right on row 0
    assert (deny.fired, deny.changed, deny.abstained) == (2, 2, 0)
    assert (deny.rules_correct, deny.changed_answered, deny.model_correct) == (1, 2, 1)
    # ask sends rows 2 and 3 to a person: no answer of its own; the model had 1 of 2 right
    assert (ask.fired, ask.changed, ask.abstained, ask.model_correct) == (2, 2, 2, 1)
    assert ask.changed_answered == 0
    # force_a says what the model said: fired, nothing changed
    assert (force.fired, force.changed) == (2, 0)
    # per slice, over the answered rows: site y has none left
    assert set(got.slices["site"]) == {"x", "z"}
    assert got.slices["site"]["x"].accuracy.value == pytest.approx(1 / 2)
    assert got.sha256 == ruleset.sha256 and got.version_sha256 is None
    assert not got.same_as_version


def test_scores_after_the_rules_are_the_masked_ones(case):
    ruleset, frame, y_true, scored = case
    got = evaluate_rules(ruleset, frame, y_true, scored, file="rules.yaml")
    # answered rows 0, 1, 4, 5: b's scores after the rules are 1, 1 (a denied), 0, 0 (a forced)
    # against b-truth 0, 1, 0, 1: of the 4 (b, not b) pairs, 1 ordered right, 2 tied -> 0.5
    assert got.report.value("auroc", label="b").value == pytest.approx(0.5)
