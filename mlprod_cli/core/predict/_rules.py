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

``skew`` re-scores served rows with the copy alone (:func:`snapshot_rules`):
it asks what served them, whatever the file says now. Putting a version's
rules back into the file when ``models activate`` or ``rollback`` makes it
active is :func:`plan_rules_restore`, which never replaces edits no version
holds unless told (they are kept in :data:`BACKUP_FOLDER` first).
"""

from __future__ import annotations

from dataclasses import dataclass
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


def parse_for_version(config: Any, version: Any, path: Path, data: bytes | None = None) -> RuleSet:
    """The rules file at ``path`` (or its bytes ``data``), validated against ``version``'s
    classes and fields: one way to read rules for a version, whoever reads them."""
    labels = [str(c) for c in version.metadata.get("classes", [])]
    return parse_rules(path, labels=labels, fields=rules_fields(config, version), data=data)


def version_rules(workspace: Any, version: Any, *, from_file: bool = False) -> RuleSet | None:
    """The rules to apply with ``version`` (None: it has none), checked as the module says.

    ``from_file``: apply the project's rules file as it is now (validated against
    the version's classes and fields) even when it differs from the version's copy.
    """
    config = workspace.config
    project_file: Path | None = config.rules
    if from_file:
        if project_file is None:
            return None
        return parse_for_version(config, version, project_file)
    recorded = recorded_rules(version)
    snapshot = _snapshot(version, recorded)
    held = read_rules_bytes(project_file) if project_file is not None else None
    file_sha = sha256_bytes(held) if held is not None else None
    version_sha = recorded["sha256"] if recorded is not None else None
    if (
        recorded is None
        and held is not None
        and _holds_no_rules(project_file, held, config, version)
    ):
        return None  # a file without rules is no rules (what rollback writes for such a version)
    if file_sha != version_sha:
        raise UsageError(
            _differ(config, version, project_file, recorded),
            hint="train a new version, 'mlprod models rollback' to put the version's rules "
            "back, or --rules-from-file to answer with the file's rules",
        )
    if recorded is None:
        return None
    return parse_for_version(config, version, version.path / SNAPSHOT_NAME, snapshot)


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
    return parse_for_version(
        config, version, version.path / SNAPSHOT_NAME, _snapshot(version, recorded)
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


def _holds_no_rules(path: Path, data: bytes, config: Any, version: Any) -> bool:
    """Whether the rules file parses, against ``version``'s classes and fields, to no rules.

    False when it does not parse: rules under a misspelt key are not "no rules".
    """
    try:
        ruleset = parse_for_version(config, version, path, data)
    except ConfigError:
        return False
    return not ruleset.rules


def _written_by_rollback(data: bytes, versions: Any) -> bool:
    """Whether ``data`` is blank or byte for byte what rollback writes for a version of none.

    Only such a file holds nothing to lose: comments beside ``rules: []`` may be
    someone's drafts.
    """
    return not data.strip() or any(data == empty_rules_text(v.id) for v in versions)


# ---------------------------------------------------------------------- putting rules back

BACKUP_FOLDER = ".mlprod/rules-backup"
"""Where an edited rules file is kept before ``--replace-rules`` replaces it."""


@dataclass
class RulesRestore:
    """What making ``version`` active does to the project's rules file (nothing written yet).

    ``action``: ``unchanged`` (the file already holds the version's rules),
    ``restored`` (it will hold the version's copy) or ``emptied`` (the version
    was trained without rules: the file will hold none).
    """

    path: Path
    version: str
    action: str
    new: bytes
    old: bytes
    backup: Path | None = None
    written: bool = False

    def write(self) -> None:
        """Keep a backup if one is due, then replace the file atomically."""
        from mlprod_cli.adapters.files import atomic_write_bytes

        if self.action == "unchanged":
            return
        if self.backup is not None:
            self.backup.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.backup, self.old)
        atomic_write_bytes(self.path, self.new)
        self.written = True

    def undo(self) -> None:
        """Put the old bytes back (the activation failed after :meth:`write`)."""
        from mlprod_cli.adapters.files import atomic_write_bytes

        if self.written:
            atomic_write_bytes(self.path, self.old)
            self.written = False

    def to_dict(self, root: Path) -> dict[str, Any]:
        return {
            "file": _relative(self.path, root),
            "action": self.action,
            "version": self.version,
            "sha256": sha256_bytes(self.new),
            "backup": None if self.backup is None else _relative(self.backup, root),
        }


def empty_rules_text(version_id: str) -> bytes:
    """What the rules file holds after activating a version trained without rules."""
    return (
        f"# {version_id} was trained without rules; 'mlprod models' wrote this file when it\n"
        "# made it active. Write rules here and train to give a new version rules.\n"
        "rules: []\n"
    ).encode()


def plan_rules_restore(
    workspace: Any, version: Any, *, replace: bool = False, now: str | None = None
) -> RulesRestore | None:
    """The change to the project's rules file that makes it hold ``version``'s rules.

    None when there is nothing to do (no rules file, no rules). Refused, with
    nothing written: a tampered copy (ConfigError); a version with rules in a
    project whose ``mlprod.yaml`` names no rules file; a file holding edits no
    registered version was trained with, unless ``replace`` (they are then kept
    under :data:`BACKUP_FOLDER` first; ``now`` names the copy).
    """
    config = workspace.config
    recorded = recorded_rules(version)
    snapshot = _snapshot(version, recorded)
    project_file: Path | None = config.rules
    if project_file is None:
        if recorded is None:
            return None
        raise UsageError(
            f"{version.id} was trained with rules ({recorded.get('file', SNAPSHOT_NAME)}), "
            f"but {config.path.name} names no rules file; nothing changed",
            hint=f"add 'rules: {recorded.get('file', SNAPSHOT_NAME)}' to {config.path.name} "
            "and run the command again",
        )
    old = read_rules_bytes(project_file)
    new = snapshot if snapshot is not None else empty_rules_text(version.id)
    if old == new or (snapshot is None and _holds_no_rules(project_file, old, config, version)):
        return RulesRestore(project_file, version.id, "unchanged", old, old)
    action = "restored" if snapshot is not None else "emptied"
    plan = RulesRestore(project_file, version.id, action, new, old)
    versions = workspace.registry.versions()
    known = {entry["sha256"] for other in versions if (entry := recorded_rules(other)) is not None}
    if sha256_bytes(old) in known or _written_by_rollback(old, versions):
        return plan  # a version holds these bytes (or rollback wrote them: nothing to lose)
    shown = _relative(project_file, config.root)
    if not replace:
        raise UsageError(
            f"{shown} has edits no version was trained with; not replaced by "
            f"{version.id}'s rules, nothing changed",
            hint="train a version with them first, or add --replace-rules to replace the file "
            f"(a copy is kept under {BACKUP_FOLDER}/)",
        )
    stamp = now or _utc_stamp()
    plan.backup = config.root / BACKUP_FOLDER / f"{stamp}-{project_file.name}"
    return plan


def _utc_stamp() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
