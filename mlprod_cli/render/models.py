"""``mlprod models``' results: the registry listed, one version shown, an activation, a diff."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlprod_cli.core.words import plural
from mlprod_cli.render.grid import UNDEFINED
from mlprod_cli.render.text import human_bytes, number, table, to_json

if TYPE_CHECKING:
    from mlprod_cli.core.config import MetricRef
    from mlprod_cli.core.models import Activation, Listing, Rollback
    from mlprod_cli.core.registry import Version

__all__ = [
    "distilled_text",
    "ensemble_text",
    "render_activation",
    "render_diff",
    "render_listing",
    "render_rollback",
    "render_version",
]

_DIFF_WIDTH = 60  # a value longer than this is cut in the diff table


def _cv_score(version: Version, objective: MetricRef | None) -> tuple[float | None, str | None]:
    """A version's cross-validated ``objective`` and where it comes from.

    ``train`` records it in ``validation``; a version ``tune`` registered is refit
    without cross-validation (``validation`` says skipped), and its score is the
    best candidate's mean over tune's folds, when tune's objective is this one.
    """
    from mlprod_cli.core.evaluate import value_from_dict

    meta = version.metadata
    report = (meta.get("validation") or {}).get("report")
    if objective is not None and isinstance(report, dict):
        return value_from_dict(report, objective), "validation"
    tune = meta.get("tune")
    if not isinstance(tune, dict) or (
        objective is not None and tune.get("objective") != str(objective)
    ):
        return None, None
    best = [c for c in tune.get("candidates") or [] if isinstance(c, dict) and c.get("rank") == 1]
    mean = best[0].get("mean") if best else None
    return (float(mean), "tune") if isinstance(mean, (int, float)) else (None, None)


def _cv_cell(version: Version, objective: MetricRef | None) -> str:
    value, source = _cv_score(version, objective)
    if value is None:
        return UNDEFINED
    return number(value) + (" (tune)" if source == "tune" else "")


def _cv_json(version: Version, objective: MetricRef | None) -> dict[str, Any]:
    value, source = _cv_score(version, objective)
    tuned = (version.metadata.get("tune") or {}).get("objective") if source == "tune" else None
    name = str(objective) if objective is not None else tuned
    return {"objective": name, "value": value, "source": source}


def render_listing(listing: Listing, objective: MetricRef | None, fmt: str) -> str:
    """Every version, oldest first, the active ones starred, with their cross-validated score."""
    if fmt == "json":
        return to_json(
            {
                "active": listing.active,
                "versions": [
                    {
                        "version": v.id,
                        "kind": v.kind,
                        "made_as": v.made_as,
                        "size_bytes": listing.sizes.get(v.id),
                        "created_at": v.metadata.get("created_at"),
                        "active": listing.active.get(v.kind) == v.id,
                        "git_commit": v.metadata.get("git", {}).get("commit"),
                        "estimator": v.metadata.get("estimator"),
                        "cv": _cv_json(v, objective),
                    }
                    for v in listing.versions
                ],
            }
        )
    if not listing.versions:
        return "no versions yet (run 'mlprod train')"
    rows = []
    for v in listing.versions:
        git = v.metadata.get("git", {})
        commit = (git.get("commit") or "")[:8] + ("+" if git.get("dirty") else "")
        size = listing.sizes.get(v.id)
        rows.append(
            ("*" if listing.active.get(v.kind) == v.id else "", v.id, v.made_as, v.metadata.get("created_at", ""),
             v.metadata.get("estimator", "").rsplit(".", 1)[-1], UNDEFINED if size is None else human_bytes(size),
             _cv_cell(v, objective), commit)
        )  # fmt: skip
    headers = ["", "version", "kind", "created", "estimator", "size", f"{objective or 'objective'} (cv)", "commit"]  # fmt: skip
    return table(headers, rows, right=(5, 6))


def render_version(version: Version, fmt: str) -> str:
    """One version's metadata: all of it as JSON, the fields people ask about as a table."""
    meta = version.metadata
    if fmt == "json":
        return to_json(meta)
    git = meta.get("git", {})
    layer = _rule_layer(meta.get("rules"))
    rows = [
        ("kind", meta.get("kind")),
        ("created", meta.get("created_at")),
        ("estimator", meta.get("estimator")),
        *([("rules", meta["description"])] if meta.get("description") else []),
        *([("task", f"regression of {meta.get('target')}")] if meta.get("task") == "regression" else [("classes", ", ".join(meta.get("classes", [])))]),
        *([("rules file", layer)] if layer else []),
        ("data", "; ".join(f"{d['path']} ({plural(d['rows'], 'row')}, sha256 {d['sha256'][:12]})" for d in meta.get("data", []))),
        ("split", ", ".join(f"{k}={v}" for k, v in meta.get("split", {}).items())),
        ("git", f"{git.get('commit')}{' (dirty)' if git.get('dirty') else ''}"),
        ("lock sha256", meta.get("lock_sha256")),
        ("artifact sha256", meta.get("artifact_sha256")),
        ("fit seconds", meta.get("fit_seconds")),
        ("libraries", ", ".join(f"{k} {v}" for k, v in meta.get("libraries", {}).items())),
        ("features", ", ".join(f"{f['name']} ({f['kind']})" for f in meta.get("schema", {}).get("features", []))),
    ]  # fmt: skip
    members = ensemble_text(meta.get("ensemble"))
    if members:
        rows.insert(1, ("ensemble", members))
    distilled = distilled_text(meta.get("distilled"))
    if distilled:
        rows.insert(1, ("distilled", distilled))
    tune = meta.get("tune")
    if tune:
        rows.append(
            ("tuned", f"{tune.get('search')} search, {plural(len(tune.get('candidates', [])), 'candidate')}, best {tune.get('best_params')}")
        )  # fmt: skip
    return table(["field", "value"], rows, title=f"{version.id}")


def render_activation(outcome: Activation, fmt: str) -> str:
    """Which version is active now (and which was), with the gates it was checked against."""
    if fmt == "json":
        return to_json(
            {
                "version": outcome.version,
                "kind": outcome.kind,
                "previous": outcome.previous,
                "forced": outcome.forced,
                "gates": [g.__dict__ for g in outcome.gates],
                "rules": outcome.rules,
            }
        )
    text = f"{outcome.version} is the active {outcome.kind}" + (
        f" (was {outcome.previous})" if outcome.previous else ""
    )
    text += _rules_lines(outcome.rules)
    if outcome.gates:
        rows = [("pass" if g.passed else "FAIL", g.name, g.detail) for g in outcome.gates]
        text += "\n" + table(["gate", "rule", "value"], rows)
    return text


def render_rollback(outcome: Rollback, fmt: str = "table") -> str:
    """``v0002 is the active model again (was v0003)``, what became of the rules file; or JSON."""
    if fmt == "json":
        return to_json(
            {
                "kind": outcome.kind,
                "version": outcome.version,
                "previous": outcome.previous,
                "rules": outcome.rules,
            }
        )
    text = f"{outcome.version} is the active {outcome.kind} again (was {outcome.previous})"
    return text + _rules_lines(outcome.rules)


def ensemble_text(entry: Any) -> str | None:
    """``soft vote of v0002, v0003`` from an ensemble's metadata (read from disk: anything)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("members"), list):
        return None
    ids = [str(m.get("version")) for m in entry["members"] if isinstance(m, dict)]
    method = entry.get("method")
    how = {"vote": "soft vote", "stack": "stack"}.get(
        method if isinstance(method, str) else "", "ensemble"
    )
    final = entry.get("final_estimator")
    if isinstance(final, str):
        how += f" ({final.rsplit('.', 1)[-1]} on the members' out-of-fold outputs)"
    return f"{how} of {', '.join(ids)}"


def distilled_text(entry: Any) -> str | None:
    """``mlp hidden=32, distilled from v0004 (+ 300 unlabelled rows)`` (read from disk: anything)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("teacher"), str):
        return None
    knob = entry.get("knob")
    knobs = " ".join(f"{k}={v}" for k, v in knob.items()) if isinstance(knob, dict) else ""
    student = " ".join(str(x) for x in (entry.get("student"), knobs) if x)
    text = f"{student or 'a student'}, distilled from {entry['teacher']}"
    extra = entry.get("unlabelled_rows")
    if isinstance(extra, int) and not isinstance(extra, bool) and extra > 0:
        text += f" (+ {plural(extra, 'unlabelled row')})"
    if entry.get("registered_anyway") is True:
        text += ", registered with --register-anyway"
    return text


def _rule_layer(entry: Any) -> str | None:
    """``rules.yaml (sha256 ab12…): 2 rules (a, b), policy first, fallback abstain``, or None."""
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
        return None
    ids = [str(i) for i in entry.get("ids") or []]
    listed = f" ({', '.join(ids)})" if ids else ""
    return (
        f"{entry.get('file', 'rules.yaml')} (sha256 {entry['sha256'][:12]}): "
        f"{plural(len(ids), 'rule')}{listed}, policy {entry.get('policy', 'first')}, "
        f"fallback {entry.get('fallback', 'abstain')}"
    )


_RULES_ACTIONS = {
    "unchanged": "{file} already holds {version}'s rules",
    "restored": "{file} now holds {version}'s rules (sha256 {short})",
    "emptied": "{file} now holds no rules ({version} was trained without rules)",
}


def _rules_lines(rules: dict[str, Any] | None) -> str:
    """The lines saying what became of the rules file, each after a newline ("" without)."""
    if rules is None:
        return ""
    text = "\n" + _RULES_ACTIONS[rules["action"]].format(short=rules["sha256"][:12], **rules)
    if rules.get("backup"):
        text += f"\nits edits were kept in {rules['backup']}"
    return text


def _short(value: Any) -> str:
    text = UNDEFINED if value is None else str(value)
    return text if len(text) <= _DIFF_WIDTH else text[: _DIFF_WIDTH - 3] + "..."


def render_diff(changes: list[tuple[str, Any, Any]], a: str, b: str, fmt: str) -> str:
    """The metadata fields that differ between versions ``a`` and ``b``, side by side."""
    if fmt == "json":
        return to_json([{"key": k, a: va, b: vb} for k, va, vb in changes])
    if not changes:
        return f"{a} and {b} differ only in id, time and artifact"
    return table(["field", a, b], [(key, _short(va), _short(vb)) for key, va, vb in changes])
