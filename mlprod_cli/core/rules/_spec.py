"""The rules file: its shape, its validation, and each rule's compiled condition.

A rules file (``rules.yaml``, named by ``rules:`` in ``mlprod.yaml``)::

    rules_policy: first            # first | all
    fallback: abstain              # when every class is masked: abstain, or a class
    fields: {referral: string}     # request fields neither the model nor the data has
    rules:
      - id: no_sk_on_palms_soles
        when: 'anatomic_site == "palms/soles"'
        deny_classes: [seborrheic_keratosis]   # or allow_classes, force: CLASS, abstain: true
        why: seborrheic keratoses do not grow on palms and soles
    tests: [...]                   # example cases: core/rules/_cases.py

Conditions are CEL (the Common Expression Language), compiled by the
``common-expression-language`` package (Rust's cel-interpreter): a language
with no loops, no I/O and no access to Python, so a condition can compute a
truth value and nothing else. ``cel-python`` (pure Python) was measured at
about 260 µs per evaluation against 3 µs, and ten rules on every single-row
request would have cost serving most of its throughput.

Everything is checked when the file is loaded, each error one line naming the
file, the rule and the key: the condition's syntax, every field it reads (a
column of the model's schema, of the data, or one the file declares), every
class an effect names, and rules that can never fire (a condition that is
false whatever the row holds, or one after a rule that always fires under
``first``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.errors import ConfigError

POLICIES = ("first", "all")
EFFECTS = ("allow_classes", "deny_classes", "force", "abstain")
FIELD_KINDS = ("string", "number", "bool")
ABSTAIN = "abstain"
#: A rules file is written by hand; one bigger than this is a mistake.
MAX_BYTES = 1 << 20
MAX_RULES = 1_000
_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")
# CEL's comprehension macros bind a name of their own: ``sites.exists(s, s == "scalp")``.
_BOUND = re.compile(
    r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,"
)
_TOP_KEYS = {"rules", "rules_policy", "fallback", "fields", "tests"}
_RULE_KEYS = {"id", "when", "why", *EFFECTS}


@dataclass(frozen=True)
class Rule:
    """One rule: when its condition holds for a row, its effect applies to that row's answer."""

    id: str
    when: str
    effect: str  # one of EFFECTS
    classes: tuple[str, ...] = ()  # allow_classes / deny_classes / (force,)
    why: str | None = None
    variables: tuple[str, ...] = ()  # the fields the condition reads
    program: Any = field(default=None, compare=False, repr=False)
    constant: bool | None = None  # the condition's value when it reads no field

    def describe(self) -> str:
        """The effect in words: ``deny seborrheic_keratosis``."""
        if self.effect == "abstain":
            return "abstain (send to a person)"
        if self.effect == "force":
            return f"force {self.classes[0]}"
        verb = "allow only" if self.effect == "allow_classes" else "deny"
        return f"{verb} {', '.join(self.classes)}"


@dataclass(frozen=True)
class RuleSet:
    """A validated rules file, ready to apply (see :mod:`._apply`)."""

    path: Path
    sha256: str
    rules: tuple[Rule, ...]
    policy: str = "first"
    fallback: str = ABSTAIN  # ABSTAIN or a class
    labels: tuple[str, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)  # every field a rule may read: kind
    cases: tuple[dict[str, Any], ...] = ()
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    # Each rule's truth value per combination of the values it reads, kept across
    # calls (bounded): serve asks about one row at a time, mostly the same values.
    memo: dict[str, dict] = field(default_factory=dict, compare=False, repr=False)
    # Every condition that reads a field, as one CEL list: one call per row instead of
    # one per rule (serve's single-row requests), ~5x faster for ten rules.
    combined: Any = field(default=None, compare=False, repr=False)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rules]

    @property
    def variables(self) -> tuple[str, ...]:
        """Every field some rule reads, in the order of first use."""
        known = self.memo.get("")
        if known is None:
            seen: dict[str, None] = {}
            for rule in self.rules:
                seen.update(dict.fromkeys(rule.variables))
            known = self.memo[""] = {"variables": tuple(seen)}
        return known["variables"]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_rules_bytes(path: Path) -> bytes:
    """The bytes of a rules file (a regular file of at most MAX_BYTES), or one error line."""
    from mlprod_cli.adapters.files import read_small_file

    try:
        return read_small_file(path, MAX_BYTES)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such rules file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None


def parse_rules(
    path: Path,
    *,
    labels: list[str],
    fields: dict[str, str],
    data: bytes | None = None,
) -> RuleSet:
    """Read and validate the rules file at ``path`` against a model's classes and fields.

    ``fields`` maps each column a row may carry (the model's features, the
    data's other columns) to its kind (``string``, ``number`` or ``bool``);
    the file may declare more under ``fields:``. ``data`` is the file's bytes
    when the caller has read them already (a version's snapshot, checked by
    its hash). Raises ConfigError naming the file, the rule and the key.
    """
    from mlprod_cli.core.config import read_yaml_bytes

    if data is None:
        data = read_rules_bytes(path)
    raw, lines = read_yaml_bytes(path, data)
    where = _Where(path, lines)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise where.fail("", "expected a mapping with 'rules:' (a list of rules)")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise where.fail(
            unknown[0], f"unknown key (known: {', '.join(sorted(_TOP_KEYS))})", bare=True
        )
    policy = raw.get("rules_policy", "first")
    if policy not in POLICIES:
        raise where.fail("rules_policy", f"expected first or all, got {_shown(policy)}", bare=True)
    label_set = set(labels)
    fallback = raw.get("fallback", ABSTAIN)
    if not isinstance(fallback, str) or (fallback != ABSTAIN and fallback not in label_set):
        raise where.fail(
            "fallback",
            f"expected abstain or a class ({_classes(labels)}), got {_shown(fallback)}",
            bare=True,
        )
    known = dict(fields)
    declared = raw.get("fields") or {}
    if not isinstance(declared, dict):
        raise where.fail("fields", "expected a mapping of field: string | number | bool", bare=True)
    for name, kind in declared.items():
        if not _ID.match(str(name)) or "." in str(name) or "-" in str(name):
            raise where.fail(
                f"fields.{name}", "a field's name is a letter or _, then letters, digits or _"
            )
        if kind not in FIELD_KINDS:
            raise where.fail(
                f"fields.{name}", f"expected string, number or bool, got {_shown(kind)}"
            )
        known[str(name)] = kind
    items = raw.get("rules")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise where.fail("rules", "expected a list of rules", bare=True)
    if len(items) > MAX_RULES:
        raise where.fail("rules", f"{len(items):,} rules; at most {MAX_RULES:,}", bare=True)
    rules: list[Rule] = []
    for n, item in enumerate(items):
        rule = _rule(where, n, item, labels, known)
        if rule.id in {r.id for r in rules}:
            raise where.fail(f"rules[{n}].id", f"rule {rule.id!r}: the id is used twice")
        rules.append(rule)
    _check_reachable(where, rules, policy)
    cases = raw.get("tests") or []
    if not isinstance(cases, list):
        raise where.fail("tests", "expected a list of example cases", bare=True)
    return RuleSet(
        combined=_combined(rules),
        path=path,
        sha256=sha256_bytes(data),
        rules=tuple(rules),
        policy=policy,
        fallback=fallback,
        labels=tuple(labels),
        fields=known,
        cases=tuple(cases),
        lines=lines,
    )


# --------------------------------------------------------------------------- one rule


def _rule(where: _Where, n: int, item: Any, labels: list[str], known: dict[str, str]) -> Rule:
    key = f"rules[{n}]"
    if not isinstance(item, dict):
        raise where.fail(key, f"rule {n + 1}: expected a mapping with id, when and an effect")
    rid = item.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise where.fail(
            f"{key}.id",
            f"rule {n + 1}: expected an id (a letter or _, then letters, digits, _ . or -), "
            f"got {_shown(rid)}",
        )
    name = f"rule {rid!r}"
    unknown = sorted(set(item) - _RULE_KEYS)
    if unknown:
        raise where.fail(
            f"{key}.{unknown[0]}",
            f"{name}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_RULE_KEYS))})",
        )
    effects = [e for e in EFFECTS if e in item]
    if len(effects) != 1:
        raise where.fail(
            key,
            f"{name}: expected exactly one effect of allow_classes, deny_classes, force, abstain"
            + (f"; got {', '.join(effects)}" if effects else ""),
        )
    effect = effects[0]
    value = item[effect]
    label_set = set(labels)
    if effect in ("allow_classes", "deny_classes"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value:
            raise where.fail(f"{key}.{effect}", f"{name}: {effect}: expected a list of classes")
        for cls in value:
            if not isinstance(cls, str) or cls not in label_set:
                raise where.fail(
                    f"{key}.{effect}",
                    f"{name}: {effect}: unknown class {_shown(cls)} (classes: {_classes(labels)})",
                )
        classes = tuple(dict.fromkeys(value))
    elif effect == "force":
        if not isinstance(value, str) or value not in label_set:
            raise where.fail(
                f"{key}.force",
                f"{name}: force: unknown class {_shown(value)} (classes: {_classes(labels)})",
            )
        classes = (value,)
    else:
        if value is not True:
            raise where.fail(
                f"{key}.abstain", f"{name}: abstain: expected true, got {_shown(value)}"
            )
        classes = ()
    why = item.get("why")
    if why is not None and not isinstance(why, str):
        raise where.fail(f"{key}.why", f"{name}: why: expected text")
    when = item.get("when")
    if isinstance(when, bool):
        when = "true" if when else "false"
    if not isinstance(when, str) or not when.strip():
        raise where.fail(
            f"{key}.when", f"{name}: when: expected a condition such as 'site == \"scalp\"'"
        )
    if len(when) > 4096:
        raise where.fail(f"{key}.when", f"{name}: when: longer than 4,096 characters")
    program, variables = _compile(where, f"{key}.when", name, when, known)
    constant = None
    if not variables:
        constant = _constant(where, f"{key}.when", name, program)
    else:
        _dry_run(where, f"{key}.when", name, program, variables, known)
    return Rule(
        id=rid,
        when=when,
        effect=effect,
        classes=classes,
        why=why,
        variables=tuple(variables),
        program=program,
        constant=constant,
    )


def _compile(where: _Where, key: str, name: str, when: str, known: dict[str, str]):
    import cel

    try:
        program = cel.compile(when)
    except (ValueError, RuntimeError) as exc:
        raise where.fail(key, f"{name}: when: {_syntax(str(exc))}") from None
    except BaseException as exc:  # the Rust parser panicking (pyo3 PanicException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise where.fail(key, f"{name}: when: cannot be parsed ({type(exc).__name__})") from None
    bound = set(_BOUND.findall(when))
    variables = [v for v in program.variables() if v not in bound]
    for var in variables:
        if var not in known:
            raise where.fail(
                key,
                f"{name}: when: unknown field {var!r} (known: {', '.join(sorted(known)) or 'none'}; "
                "declare others under fields:)",
            )
    return program, variables


def _syntax(message: str) -> str:
    """The parser's first line, without the echo of the expression."""
    first = message.strip().splitlines()[0] if message.strip() else "not a valid condition"
    first = re.sub(r"^Failed to parse expression '.*?': ", "", first)
    first = re.sub(r"^ERROR: <input>:(\d+):(\d+): ", r"at \1:\2: ", first)
    first = first.split(" expecting {")[0]  # the parser's list of every token it could take
    return first


def _constant(where: _Where, key: str, name: str, program: Any) -> bool:
    value = _run(program, {})
    if not isinstance(value, bool):
        raise where.fail(key, f"{name}: when: is {_kind(value)}, not true or false")
    if value is False:
        raise where.fail(key, f"{name}: can never fire: its condition is always false")
    return True


_SAMPLES = {"string": "", "number": 0.0, "bool": False}


def _dry_run(
    where: _Where, key: str, name: str, program: Any, variables: list[str], known: dict[str, str]
) -> None:
    """Evaluate once on placeholder values of the fields' kinds, to catch type mistakes.

    CEL does not convert between types, so ``age > "40"`` or ``site == 3`` fail
    on every row; a condition that fails here on a type is refused now rather
    than never firing in production. A null (a missing value) is a row's
    business, so only type errors on values of the declared kinds count.
    """
    context = {v: _SAMPLES.get(known[v], "") for v in variables}
    try:
        value = program.execute(context)
    except TypeError as exc:
        raise where.fail(key, f"{name}: when: {_type_error(str(exc), variables, known)}") from None
    except Exception:  # a division by zero, an index out of range: depends on the row
        return
    if not isinstance(value, bool):
        raise where.fail(key, f"{name}: when: gives {_kind(value)}, not true or false")


def _type_error(message: str, variables: list[str], known: dict[str, str]) -> str:
    kinds = ", ".join(f"{v} is {'a ' if known[v] != 'bool' else ''}{known[v]}" for v in variables)
    first = message.split(". ")[0].strip()
    return f"{first} ({kinds}; CEL does not convert between types)"


def _run(program: Any, context: dict[str, Any]) -> Any:
    try:
        return program.execute(context)
    except Exception as exc:
        return exc


def _kind(value: Any) -> str:
    if isinstance(value, Exception):
        return f"an error ({str(value).split('. ')[0]})"
    return f"a {type(value).__name__}"


def _check_reachable(where: _Where, rules: list[Rule], policy: str) -> None:
    if policy != "first":
        return
    for n, rule in enumerate(rules):
        if rule.constant is True:
            for later in rules[n + 1 :]:
                index = rules.index(later)
                raise where.fail(
                    f"rules[{index}]",
                    f"rule {later.id!r}: can never fire: rule {rule.id!r} before it always "
                    "fires and rules_policy is first",
                )


def _combined(rules: list[Rule]) -> Any:
    """``[(c1),\n(c2), …]`` compiled, for the rules that read a field; None if it fails.

    Each condition sits on lines of its own, so a ``//`` comment in one ends
    with it. A row on which any condition fails (a null compared with a number)
    makes the whole list fail; such rows are evaluated rule by rule instead.
    """
    import cel

    live = [rule.when for rule in rules if rule.constant is None]
    if len(live) < 2:
        return None
    try:
        return cel.compile("[\n" + ",\n".join(f"({when}\n)" for when in live) + "\n]")
    except BaseException as exc:  # the one-by-one path is always there
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return None


# --------------------------------------------------------------------------- errors


class _Where:
    def __init__(self, path: Path, lines: dict[str, int]):
        self.path = path
        self.lines = lines

    def fail(self, key: str, message: str, *, bare: bool = False) -> ConfigError:
        line = self.lines.get(key)
        probe = key
        while line is None and probe:
            probe = probe[: probe.rindex("[")] if probe.endswith("]") else probe.rpartition(".")[0]
            line = self.lines.get(probe)
        at = f"{self.path.name}:{line}" if line else self.path.name
        if bare:
            return ConfigError(f"{at}: {key}: {message}")
        return ConfigError(f"{at}: {message}")


def _shown(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _classes(labels: list[str]) -> str:
    shown = ", ".join(labels[:12])
    return shown + (" …" if len(labels) > 12 else "")
