"""Applying rules: each effect, both hit policies, the fallback, and rows no rule touches."""

from __future__ import annotations

import numpy as np
import pytest

from mlprod_cli.core.rules import apply_rules, parse_rules
from tests.core.rules.conftest import FIELDS, LABELS

SCORES = np.array([[0.1, 0.2, 0.7]])  # melanoma, nevus, seborrheic_keratosis


def ruleset(write_rules, rules: str, head: str = ""):
    return parse_rules(write_rules(head + "rules:\n" + rules), labels=LABELS, fields=FIELDS)


def one(rs, row, scores=SCORES, model="seborrheic_keratosis"):
    return apply_rules(rs, {k: [v] for k, v in row.items()}, [model], scores)


def test_deny_masks_and_renormalises(write_rules):
    rs = ruleset(
        write_rules,
        "  - {id: d, when: 'anatomic_site == \"palms/soles\"', deny_classes: [seborrheic_keratosis]}\n",
    )
    out = one(rs, {"anatomic_site": "palms/soles"})
    assert out.prediction == ["nevus"] and out.fired == [("d",)] and out.changed == [True]
    np.testing.assert_allclose(out.scores[0], [0.1 / 0.3, 0.2 / 0.3, 0.0])
    untouched = one(rs, {"anatomic_site": "trunk"})
    assert untouched.prediction == ["seborrheic_keratosis"] and untouched.fired == [()]
    np.testing.assert_array_equal(untouched.scores, SCORES)
    assert untouched.changed == [False] and untouched.abstained == [False]


def test_allow_keeps_only_those_classes(write_rules):
    rs = ruleset(write_rules, "  - {id: a, when: age > 50, allow_classes: [melanoma]}\n")
    out = one(rs, {"age": 70})
    assert out.prediction == ["melanoma"]
    np.testing.assert_allclose(out.scores[0], [1.0, 0.0, 0.0])


def test_force_gives_the_class_all_the_score(write_rules):
    rs = ruleset(write_rules, "  - {id: f, when: evolving, force: melanoma}\n")
    out = one(rs, {"evolving": True})
    assert out.prediction == ["melanoma"] and out.changed == [True]
    np.testing.assert_array_equal(out.scores[0], [1.0, 0.0, 0.0])
    assert one(rs, {"evolving": False}).prediction == ["seborrheic_keratosis"]


def test_abstain_sends_the_row_to_a_person(write_rules):
    rs = ruleset(write_rules, "  - {id: kid, when: age < 18, abstain: true}\n")
    out = one(rs, {"age": 10})
    assert out.prediction == [None] and out.abstained == [True] and out.changed == [True]


def test_first_policy_applies_only_the_first_match(write_rules):
    rules = (
        "  - {id: one, when: age > 10, deny_classes: [seborrheic_keratosis]}\n"
        "  - {id: two, when: age > 20, deny_classes: [nevus]}\n"
    )
    first = one(ruleset(write_rules, rules), {"age": 30})
    assert first.fired == [("one",)] and first.prediction == ["nevus"]
    every = one(ruleset(write_rules, rules, "rules_policy: all\n"), {"age": 30})
    assert every.fired == [("one", "two")] and every.prediction == ["melanoma"]
    np.testing.assert_allclose(every.scores[0], [1.0, 0.0, 0.0])


def test_under_all_abstain_wins_over_force_and_force_over_masks(write_rules):
    rules = (
        "  - {id: mask, when: age > 1, deny_classes: [melanoma]}\n"
        "  - {id: force, when: age > 2, force: melanoma}\n"
        "  - {id: stop, when: age > 3, abstain: true}\n"
    )
    rs = ruleset(write_rules, rules, "rules_policy: all\n")
    assert one(rs, {"age": 2.5}).prediction == ["melanoma"]
    assert one(rs, {"age": 5}).prediction == [None]
    assert one(rs, {"age": 1.5}).prediction == ["seborrheic_keratosis"]


@pytest.mark.parametrize(("fallback", "expected"), [("abstain", None), ("nevus", "nevus")])
def test_every_class_masked_takes_the_fallback(write_rules, fallback, expected):
    rules = (
        "  - {id: a, when: age > 1, allow_classes: [melanoma]}\n"
        "  - {id: b, when: age > 1, deny_classes: [melanoma]}\n"
    )
    rs = ruleset(write_rules, rules, f"rules_policy: all\nfallback: {fallback}\n")
    out = one(rs, {"age": 5})
    assert out.prediction == [expected] and out.abstained == [expected is None]


def test_allowed_classes_with_no_probability_take_the_fallback(write_rules):
    rs = ruleset(
        write_rules, "  - {id: a, when: age > 1, allow_classes: [melanoma]}\n", "fallback: nevus\n"
    )
    out = one(rs, {"age": 5}, scores=np.array([[0.0, 0.3, 0.7]]))
    assert out.prediction == ["nevus"]


def test_without_scores_the_class_stands_unless_masked(write_rules):
    rs = ruleset(
        write_rules,
        "  - {id: d, when: age > 1, deny_classes: [seborrheic_keratosis]}\n",
        "fallback: nevus\n",
    )
    assert one(rs, {"age": 5}, scores=None, model="melanoma").prediction == ["melanoma"]
    masked = one(rs, {"age": 5}, scores=None, model="seborrheic_keratosis")
    assert masked.prediction == ["nevus"] and masked.scores is None


def test_a_field_the_model_does_not_use(write_rules):
    rs = ruleset(
        write_rules,
        "  - {id: r, when: 'referral == \"gp\"', abstain: true}\n",
        "fields: {referral: string}\n",
    )
    rows = {"referral": ["gp", "self", None]}
    out = apply_rules(rs, rows, ["nevus"] * 3, np.tile(SCORES, (3, 1)))
    assert out.abstained == [True, False, False]
    missing = apply_rules(rs, {}, ["nevus"], SCORES)  # the field is absent: null
    assert missing.fired == [()]


def test_a_condition_failing_on_a_row_does_not_fire_and_is_counted(write_rules):
    rs = ruleset(write_rules, "  - {id: old, when: age > 60, force: melanoma}\n")
    out = apply_rules(rs, {"age": [70, None, float("nan")]}, ["nevus"] * 3, np.tile(SCORES, (3, 1)))
    assert out.fired == [("old",), (), ()]
    assert out.errors == {"old": 2}


def test_values_are_given_as_their_kind(write_rules):
    rules = (
        "  - {id: n, when: age == 40, deny_classes: [nevus]}\n"
        "  - {id: s, when: 'sex == \"3\"', deny_classes: [melanoma]}\n"
    )
    rs = ruleset(write_rules, rules, "rules_policy: all\n")
    out = apply_rules(
        rs,
        {"age": [np.int64(40), "40"], "sex": [3.0, np.str_("3")]},
        ["nevus"] * 2,
        np.tile(SCORES, (2, 1)),
    )
    assert out.fired == [("n", "s"), ("n", "s")]


def test_many_rows_agree_with_one_at_a_time(write_rules):
    rules = (
        "  - {id: a, when: 'anatomic_site == \"trunk\" && age > 40', deny_classes: [nevus]}\n"
        "  - {id: b, when: age < 30, allow_classes: [nevus, melanoma]}\n"
        "  - {id: c, when: 'sex == \"female\"', abstain: true}\n"
    )
    rs = ruleset(write_rules, rules)
    rng = np.random.default_rng(0)
    n = 300
    rows = {
        "anatomic_site": list(rng.choice(["trunk", "palms/soles", "head/neck"], n)),
        "age": list(rng.integers(10, 90, n).astype(float)),
        "sex": list(rng.choice(["female", "male"], n)),
    }
    scores = rng.dirichlet([1, 1, 1], n)
    y = [LABELS[int(np.argmax(s))] for s in scores]
    batch = apply_rules(rs, rows, y, scores)
    for i in range(n):
        single = apply_rules(rs, {k: [v[i]] for k, v in rows.items()}, [y[i]], scores[i : i + 1])
        assert single.prediction[0] == batch.prediction[i]
        assert single.fired[0] == batch.fired[i]
        np.testing.assert_allclose(single.scores[0], batch.scores[i])


def test_one_row_with_a_failing_condition_is_judged_rule_by_rule(write_rules):
    rules = (
        "  - {id: old, when: age > 60, force: melanoma}\n"
        "  - {id: site, when: 'anatomic_site == \"trunk\" // a comment ends with its line', abstain: true}\n"
    )
    rs = ruleset(write_rules, rules, "rules_policy: all\n")
    assert rs.combined is not None  # one CEL call per row while no condition fails
    missing_age = apply_rules(rs, {"anatomic_site": ["trunk"], "age": [None]}, ["nevus"], SCORES)
    assert missing_age.fired == [("site",)] and missing_age.errors == {"old": 1}
    both = apply_rules(rs, {"anatomic_site": ["trunk"], "age": [70.0]}, ["nevus"], SCORES)
    assert both.fired == [("old", "site")] and both.errors == {}
