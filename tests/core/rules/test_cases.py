"""The example cases beside the rules: checked against the rules alone, malformed ones refused."""

from __future__ import annotations

import pytest

from mlprod_cli.core.rules import check_cases, parse_rules
from mlprod_cli.errors import ConfigError
from tests.core.rules.conftest import FIELDS, LABELS

RULES = """\
rules:
  - {id: palms, when: 'anatomic_site == "palms/soles"', deny_classes: [seborrheic_keratosis]}
  - {id: kids, when: age < 18, abstain: true}
tests:
"""


def run(write_rules, cases: str):
    return check_cases(parse_rules(write_rules(RULES + cases), labels=LABELS, fields=FIELDS))


def test_cases_pass_and_fail_with_what_was_expected_and_what_came(write_rules):
    results = run(
        write_rules,
        "  - name: palm\n    input: {anatomic_site: palms/soles}\n"
        "    scores: {melanoma: 0.1, nevus: 0.2, seborrheic_keratosis: 0.7}\n"
        "    expect: {fired: [palms], class: nevus}\n"
        "  - name: kid\n    input: {age: 9}\n    model: nevus\n    expect: {abstain: true}\n"
        "  - name: wrong\n    input: {age: 9}\n    model: nevus\n    expect: {fired: [], class: nevus}\n",
    )
    assert [(r.name, r.passed) for r in results] == [
        ("palm", True),
        ("kid", True),
        ("wrong", False),
    ]
    assert results[2].expected == "fired []; class nevus"
    assert results[2].got == "fired ['kids']; abstain"


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("  - {input: {age: 3}, expect: {class: nevus}}\n", "needs what the model said"),
        (
            "  - {input: {height: 3}, model: nevus, expect: {class: nevus}}\n",
            "unknown field 'height'",
        ),
        (
            "  - {input: {age: 3}, model: mole, expect: {class: nevus}}\n",
            "model: unknown class 'mole'",
        ),
        (
            "  - {input: {age: 3}, model: nevus, expect: {class: mole}}\n",
            "expect: unknown class 'mole'",
        ),
        (
            "  - {input: {age: 3}, model: nevus, expect: {fired: [nope]}}\n",
            "fired: expected a list of rule ids",
        ),
        (
            "  - {input: {age: 3}, scores: {nevus: -1}, expect: {class: nevus}}\n",
            "expected a number at least 0",
        ),
        (
            "  - {input: {age: 3}, model: nevus, expect: {}}\n",
            "expect: expected fired, class or abstain",
        ),
        ("  - {input: {age: 3}, model: nevus, expect: {klass: nevus}}\n", "unknown key 'klass'"),
        ("  - just text\n", "test 1: expected a mapping"),
    ],
)
def test_a_malformed_case_is_one_line_naming_it(write_rules, case, message):
    with pytest.raises(ConfigError) as caught:
        run(write_rules, case)
    assert message in caught.value.message and "\n" not in caught.value.message
    assert caught.value.message.startswith("rules.yaml:")
