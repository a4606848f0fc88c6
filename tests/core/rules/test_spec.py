"""Loading a rules file: what it may say, and one line naming the rule for what it may not."""

from __future__ import annotations

import pytest

from mlprod_cli.core.rules import parse_rules
from mlprod_cli.errors import ConfigError
from tests.core.rules.conftest import FIELDS, LABELS

GOOD = """\
rules_policy: all
fallback: nevus
fields: {referral: string}
rules:
  - id: palms
    when: 'anatomic_site == "palms/soles"'
    deny_classes: [seborrheic_keratosis]
  - id: old_referred
    when: 'referral == "dermatologist" && age >= 60'
    allow_classes: [melanoma, nevus]
  - id: kids
    when: age < 18
    abstain: true
  - id: sites
    when: '["scalp", "face"].exists(s, s == anatomic_site)'
    force: melanoma
"""


def test_a_good_file_is_read_whole(write_rules):
    path = write_rules(GOOD)
    ruleset = parse_rules(path, labels=LABELS, fields=FIELDS)
    assert ruleset.ids == ["palms", "old_referred", "kids", "sites"]
    assert ruleset.policy == "all" and ruleset.fallback == "nevus"
    assert ruleset.fields["referral"] == "string"  # declared in the file
    assert set(ruleset.rules[1].variables) == {"referral", "age"}
    assert ruleset.rules[3].variables == ("anatomic_site",)  # s is the macro's own name
    assert [r.describe() for r in ruleset.rules] == [
        "deny seborrheic_keratosis",
        "allow only melanoma, nevus",
        "abstain (send to a person)",
        "force melanoma",
    ]
    import hashlib

    assert ruleset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_empty_file_has_no_rules(write_rules):
    ruleset = parse_rules(write_rules(""), labels=LABELS, fields=FIELDS)
    assert ruleset.rules == () and ruleset.policy == "first" and ruleset.fallback == "abstain"


def _rule(body: str) -> str:
    return "rules:\n  - id: r1\n" + "".join(f"    {line}\n" for line in body.splitlines())


BAD = {
    "syntax": (_rule("when: 'anatomic_site =='\ndeny_classes: [nevus]"), "rule 'r1': when: at 1:"),
    "unknown field": (
        _rule("when: 'site == \"scalp\"'\ndeny_classes: [nevus]"),
        "rule 'r1': when: unknown field 'site'",
    ),
    "unknown class": (
        _rule("when: age > 3\ndeny_classes: [mole]"),
        "rule 'r1': deny_classes: unknown class 'mole'",
    ),
    "unknown forced class": (_rule("when: age > 3\nforce: mole"), "force: unknown class 'mole'"),
    "two effects": (
        _rule("when: age > 3\nforce: nevus\nabstain: true"),
        "expected exactly one effect",
    ),
    "no effect": (_rule("when: age > 3"), "expected exactly one effect"),
    "type mistake": (
        _rule("when: 'age > \"40\"'\ndeny_classes: [nevus]"),
        "age is a number; CEL does not convert between types",
    ),
    "not a truth value": (_rule("when: age + 1.0\ndeny_classes: [nevus]"), "not true or false"),
    "never fires": (_rule("when: 1 > 2\ndeny_classes: [nevus]"), "can never fire"),
    "abstain false": (_rule("when: age > 3\nabstain: false"), "abstain: expected true"),
    "unknown key": (_rule("when: age > 3\nabstain: true\nunless: x"), "unknown key 'unless'"),
    "bad policy": ("rules_policy: any\nrules: []\n", "rules_policy: expected first or all"),
    "bad fallback": ("fallback: mole\nrules: []\n", "fallback: expected abstain or a class"),
    "bad field kind": ("fields: {x: date}\nrules: []\n", "expected string, number or bool"),
    "not a list": ("rules: {a: 1}\n", "rules: expected a list"),
    "bad id": (
        "rules:\n  - id: 'has space'\n    when: age > 3\n    abstain: true\n",
        "expected an id",
    ),
    "id twice": (
        "rules:\n  - {id: a, when: age > 3, abstain: true}\n"
        "  - {id: a, when: age > 4, abstain: true}\n",
        "rule 'a': the id is used twice",
    ),
    "shadowed": (
        "rules:\n  - {id: a, when: 'true', abstain: true}\n"
        "  - {id: b, when: age > 4, abstain: true}\n",
        "rule 'b': can never fire: rule 'a' before it always fires",
    ),
    "python": (
        _rule("when: \"__import__('os').system('true') == 0\"\nabstain: true"),
        "rule 'r1': when:",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_file_is_one_error_naming_the_file_and_rule(write_rules, case):
    text, expected = BAD[case]
    with pytest.raises(ConfigError) as caught:
        parse_rules(write_rules(text), labels=LABELS, fields=FIELDS)
    message = caught.value.message
    assert message.startswith("rules.yaml:"), message
    assert expected in message, message
    assert "\n" not in message


def test_the_error_names_the_line_of_the_rule(write_rules):
    text = "rules:\n  - id: ok\n    when: age > 3\n    abstain: true\n  - id: bad\n    when: age >\n    abstain: true\n"
    with pytest.raises(ConfigError) as caught:
        parse_rules(write_rules(text), labels=LABELS, fields=FIELDS)
    assert caught.value.message.startswith("rules.yaml:6: rule 'bad': when:")


def test_under_policy_all_an_always_true_rule_does_not_shadow(write_rules):
    text = "rules_policy: all\nrules:\n  - {id: a, when: 'true', deny_classes: [nevus]}\n  - {id: b, when: age > 4, abstain: true}\n"
    assert parse_rules(write_rules(text), labels=LABELS, fields=FIELDS).ids == ["a", "b"]


@pytest.mark.parametrize(
    "content", [b"\xff\xfe not utf-8", b"rules: [\n", b"- just\n- a list\n"], ids=str
)
def test_unreadable_files_are_one_line(write_rules, tmp_path, content):
    path = tmp_path / "rules.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        parse_rules(path, labels=LABELS, fields=FIELDS)
    assert "rules.yaml" in caught.value.message and "\n" not in caught.value.message


def test_a_fifo_is_refused_without_waiting(tmp_path):
    import os

    path = tmp_path / "rules.yaml"
    os.mkfifo(path)
    with pytest.raises(ConfigError, match="a FIFO, not a regular file"):
        parse_rules(path, labels=LABELS, fields=FIELDS)
