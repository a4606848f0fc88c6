"""Which rules go with a registered version, checked before anything answers with them.

``train`` keeps a copy of the project's rules file in the version's folder
(``models/vNNNN/rules.yaml``) and its sha256 in ``metadata.json``. Every
command that answers with a version (``predict``, ``serve``, ``skew``) applies
that copy, after two checks:

* the copy still has the hash train recorded: a tampered copy is refused;
* the project's rules file (``rules:`` in ``mlprod.yaml``) is the same file:
  a version whose rules differ from the file is refused unless the caller
  asks for the file's rules (``--rules-from-file``), so what is served is
  never silently something else than what the file says and ``models
  rollback`` (which puts the version's rules back into the file) is the way
  back.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlprod_cli.core.rules import (
    SNAPSHOT_NAME,
    RuleSet,
    fields_of,
    parse_rules,
    read_rules_bytes,
    sha256_bytes,
)
from mlprod_cli.errors import ConfigError, UsageError


def recorded_rules(version: Any) -> dict[str, Any] | None:
    """``metadata.json``'s ``rules`` entry (``{"sha256", "file"}``), or None."""
    entry = version.metadata.get("rules")
    return entry if isinstance(entry, dict) and isinstance(entry.get("sha256"), str) else None


def rules_fields(config: Any, version: Any) -> dict[str, str]:
    """The fields a rule on ``version`` may read: its features and the data's other columns."""
    return fields_of(version.metadata.get("schema", {}), tuple(config.data.exclude))


def version_rules(workspace: Any, version: Any, *, from_file: bool = False) -> RuleSet | None:
    """The rules to apply with ``version`` (None: it has none), checked as the module says.

    ``from_file``: apply the project's rules file as it is now (validated against
    the version's classes and fields) even when it differs from the version's copy.
    """
    config = workspace.config
    labels = [str(c) for c in version.metadata.get("classes", [])]
    fields = rules_fields(config, version)
    project_file: Path | None = config.rules
    if from_file:
        if project_file is None:
            return None
        return parse_rules(project_file, labels=labels, fields=fields)
    recorded = recorded_rules(version)
    snapshot = _snapshot(version, recorded)
    file_sha = sha256_bytes(read_rules_bytes(project_file)) if project_file is not None else None
    version_sha = recorded["sha256"] if recorded is not None else None
    if file_sha != version_sha:
        raise UsageError(
            _differ(config, version, project_file, recorded),
            hint="train a new version, 'mlprod models rollback' to put the version's rules "
            "back, or --rules-from-file to answer with the file's rules",
        )
    if recorded is None:
        return None
    return parse_rules(version.path / SNAPSHOT_NAME, labels=labels, fields=fields, data=snapshot)


def _differ(config: Any, version: Any, project_file: Path | None, recorded: Any) -> str:
    if project_file is None:
        return (
            f"{version.id} was trained with rules ({recorded.get('file', SNAPSHOT_NAME)}), "
            f"but {config.path.name} names no rules file"
        )
    shown = _relative(project_file, config.root)
    if recorded is None:
        return f"{shown} holds rules, but {version.id} was trained without rules"
    return f"{shown} differs from the rules {version.id} was trained with"


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def snapshot_rules(config: Any, version: Any) -> RuleSet | None:
    """The rules ``version`` was trained with (its hash-checked copy; None: it has none),
    whatever the project's file holds now: what served it, as ``skew`` re-scores it."""
    recorded = recorded_rules(version)
    if recorded is None:
        return None
    labels = [str(c) for c in version.metadata.get("classes", [])]
    return parse_rules(
        version.path / SNAPSHOT_NAME,
        labels=labels,
        fields=rules_fields(config, version),
        data=_snapshot(version, recorded),
    )


def _snapshot(version: Any, recorded: dict[str, Any] | None) -> bytes | None:
    """The bytes of the version's copy of its rules, refused when they are not what train recorded."""
    if recorded is None:
        return None
    path = version.path / SNAPSHOT_NAME
    snapshot = read_rules_bytes(path)
    if sha256_bytes(snapshot) != recorded["sha256"]:
        raise ConfigError(
            f"{path}: does not match the sha256 train recorded for {version.id}",
            hint="the copy was changed after training: restore it, or train a new version",
        )
    return snapshot
