"""Conditions from a fuzzer: loading is a rules file or one error line; applying never raises.

Hypothesis writes conditions from CEL's own tokens, the fields' names, literals
of every kind and Python that tries to escape; none may do anything but give a
truth value or be refused when the file is loaded.
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlprod_cli.core.rules import apply_rules, parse_rules
from mlprod_cli.errors import ConfigError
from tests.core.rules.conftest import FIELDS, LABELS

TOKENS = [
    "anatomic_site",
    "age",
    "sex",
    "evolving",
    "referral",
    "s",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    "!",
    "?",
    ":",
    "+",
    "-",
    "*",
    "/",
    "%",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    " in ",
    "true",
    "false",
    "null",
    "0",
    "1",
    "40",
    "40.5",
    "-1",
    "1e308",
    "18446744073709551615u",
    '"scalp"',
    '"palms/soles"',
    "'x'",
    '""',
    'b"x"',
    '"\\u0000"',
    "size(",
    "int(",
    "double(",
    "string(",
    "has(",
    "matches(",
    ".exists(s, ",
    ".all(s, ",
    "__import__",
    "os",
    "system",
    "eval",
    "exec",
    "open",
    "lambda",
    ";",
    "\\",
    "#",
    "\n",
]

condition = st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map(" ".join) | st.text(
    max_size=40
)

ROWS = {
    "anatomic_site": ["scalp", "palms/soles", None, "", "x" * 300],
    "age": [40.0, -1.0, None, 1e308, 0.0],
    "sex": ["female", "male", None, "3", "\u00e9"],
    "evolving": [True, False, None, True, False],
}


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    when=condition,
    effect=st.sampled_from(
        [
            "deny_classes: [nevus]",
            "force: melanoma",
            "abstain: true",
            "allow_classes: [melanoma, nevus]",
        ]
    ),
)
def test_a_fuzzed_condition_loads_or_is_one_error_line_and_never_runs_anything(
    tmp_path, when, effect
):
    sentinel = tmp_path / "pwned"
    path = tmp_path / "rules.yaml"
    path.write_text(
        f"rules:\n  - id: r\n    when: {_quoted(when.replace(chr(10), ' '))}\n    {effect}\n"
    )
    try:
        ruleset = parse_rules(path, labels=LABELS, fields=FIELDS)
    except ConfigError as exc:
        assert exc.message.startswith("rules.yaml"), exc.message
        assert "\n" not in exc.message
        return
    finally:
        assert not sentinel.exists()
    out = apply_rules(ruleset, ROWS, ["nevus"] * 5, np.full((5, 3), 1 / 3))
    assert len(out.prediction) == 5
    assert all(p is None or p in LABELS for p in out.prediction)
    assert all(len(f) <= 1 for f in out.fired)


def test_python_in_a_condition_is_refused_and_runs_nothing(tmp_path):
    sentinel = tmp_path / "pwned"
    attempts = [
        f"__import__('os').system('touch {sentinel}') == 0",
        f"open('{sentinel}', 'w') != null",
        f"exec('import os; os.system(\"touch {sentinel}\")')",
        "().__class__.__bases__[0].__subclasses__() != []",
    ]
    for attempt in attempts:
        path = tmp_path / "rules.yaml"
        path.write_text(f"rules:\n  - id: r\n    when: {_quoted(attempt)}\n    abstain: true\n")
        try:
            parse_rules(path, labels=LABELS, fields=FIELDS)
        except ConfigError as exc:
            assert "rule 'r': when:" in exc.message
        else:
            raise AssertionError(f"accepted: {attempt}")
    assert not sentinel.exists()
    assert not os.path.exists(sentinel)
