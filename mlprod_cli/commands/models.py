"""``mlprod models``: the registry — list, show, activate, rollback, diff."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from mlprod_cli.options import Format, FormatOption, OutputOption


class Kind(str, Enum):
    model = "model"
    baseline = "baseline"


def register(app: typer.Typer) -> None:
    models = typer.Typer(
        help="The model registry: list, show, activate, rollback, diff.", no_args_is_help=True
    )
    models.command("list", help="Every version, newest last, with the active ones marked.")(list_)
    models.command("show", help="One version's metadata.")(show)
    models.command("activate", help="Make a version active (a model must pass its gates).")(
        activate
    )
    models.command("rollback", help="Make the previously active version active again.")(rollback)
    models.command("diff", help="What differs between two versions' metadata.")(diff)
    app.add_typer(models, name="models")


def _workspace():
    from mlprod_cli.core.workspace import Workspace

    return Workspace.load()


def list_(
    kind: Annotated[
        Kind | None, typer.Option("--kind", help="Only models or only baselines.")
    ] = None,
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import models
    from mlprod_cli.core.evaluate import value_from_dict
    from mlprod_cli.render import number, table, to_json

    workspace = _workspace()
    config = workspace.config
    listing = models.list_versions(workspace, kind.value if kind else None)
    for problem in listing.broken.values():
        console.status(f"warning: not listed: {problem}")
    if format is Format.json:
        data = {
            "active": listing.active,
            "versions": [
                {
                    "version": v.id,
                    "kind": v.kind,
                    "created_at": v.metadata.get("created_at"),
                    "active": listing.active.get(v.kind) == v.id,
                    "git_commit": v.metadata.get("git", {}).get("commit"),
                    "estimator": v.metadata.get("estimator"),
                }
                for v in listing.versions
            ],
        }
        console.write_result(to_json(data), output)
        return 0
    objective = config.metrics.objective
    rows = []
    for v in listing.versions:
        report = v.metadata.get("validation", {}).get("report")
        score = number(value_from_dict(report, objective)) if report and objective else "—"
        commit = (v.metadata.get("git", {}).get("commit") or "")[:8]
        dirty = "+" if v.metadata.get("git", {}).get("dirty") else ""
        rows.append(
            ("*" if listing.active.get(v.kind) == v.id else "", v.id, v.kind, v.metadata.get("created_at", ""),
             v.metadata.get("estimator", "").rsplit(".", 1)[-1], score, commit + dirty)
        )  # fmt: skip
    if not rows:
        console.write_result("no versions yet (run 'mlprod train')", output)
        return 0
    headers = [
        "",
        "version",
        "kind",
        "created",
        "estimator",
        f"{objective or 'objective'} (cv)",
        "commit",
    ]
    console.write_result(table(headers, rows, right=(5,)), output)
    return 0


def show(
    version: Annotated[str, typer.Argument(help="A version id, e.g. v0003.")],
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import models
    from mlprod_cli.render import table, to_json

    found = models.show(_workspace(), version)
    if format is Format.json:
        console.write_result(to_json(found.metadata), output)
        return 0
    meta = found.metadata
    rows = [
        ("kind", meta.get("kind")),
        ("created", meta.get("created_at")),
        ("estimator", meta.get("estimator")),
        ("classes", ", ".join(meta.get("classes", []))),
        (
            "data",
            "; ".join(
                f"{d['path']} ({d['rows']} rows, sha256 {d['sha256'][:12]})"
                for d in meta.get("data", [])
            ),
        ),
        ("split", ", ".join(f"{k}={v}" for k, v in meta.get("split", {}).items())),
        (
            "git",
            f"{meta.get('git', {}).get('commit')}{' (dirty)' if meta.get('git', {}).get('dirty') else ''}",
        ),
        ("lock sha256", meta.get("lock_sha256")),
        ("artifact sha256", meta.get("artifact_sha256")),
        ("fit seconds", meta.get("fit_seconds")),
        ("libraries", ", ".join(f"{k} {v}" for k, v in meta.get("libraries", {}).items())),
        (
            "features",
            ", ".join(
                f"{f['name']} ({f['kind']})" for f in meta.get("schema", {}).get("features", [])
            ),
        ),
    ]
    if meta.get("tune"):
        tune = meta["tune"]
        rows.append(
            (
                "tuned",
                f"{tune.get('search')} search, {len(tune.get('candidates', []))} candidates, best {tune.get('best_params')}",
            )
        )
    console.write_result(table(["field", "value"], rows, title=f"{found.id}"), output)
    return 0


def activate(
    version: Annotated[str, typer.Argument(help="A version id, e.g. v0003.")],
    force: Annotated[bool, typer.Option("--force", help="Activate even if gates fail.")] = False,
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import models
    from mlprod_cli.render import table, to_json

    with console.steps() as report:
        report(f"checking {version} against the gates on the test split")
        outcome = models.activate(_workspace(), version, force=force)
    for warning in outcome.warnings:
        console.status(f"warning: {warning}")
    if format is Format.json:
        data = {
            "version": outcome.version,
            "kind": outcome.kind,
            "previous": outcome.previous,
            "forced": outcome.forced,
            "gates": [g.__dict__ for g in outcome.gates],
        }
        console.write_result(to_json(data), output)
        return 0
    text = f"{outcome.version} is the active {outcome.kind}" + (
        f" (was {outcome.previous})" if outcome.previous else ""
    )
    if outcome.gates:
        rows = [("pass" if g.passed else "FAIL", g.name, g.detail) for g in outcome.gates]
        text += "\n" + table(["gate", "rule", "value"], rows)
    console.write_result(text, output)
    return 0


def rollback(
    kind: Annotated[
        Kind, typer.Option("--kind", help="Which active version to roll back.")
    ] = Kind.model,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import models

    current, target = models.rollback(_workspace(), kind.value)
    console.write_result(f"{target} is the active {kind.value} again (was {current})")
    return 0


def diff(
    a: Annotated[str, typer.Argument(help="A version id.")],
    b: Annotated[str, typer.Argument(help="Another version id.")],
    format: FormatOption = Format.table,
    output: OutputOption = None,
) -> int:
    from mlprod_cli import console
    from mlprod_cli.core import models
    from mlprod_cli.render import table, to_json

    changes = models.diff(_workspace(), a, b)
    if format is Format.json:
        console.write_result(to_json([{"key": k, a: va, b: vb} for k, va, vb in changes]), output)
        return 0
    if not changes:
        console.write_result(f"{a} and {b} differ only in id, time and artifact", output)
        return 0
    rows = [(key, _short(va), _short(vb)) for key, va, vb in changes]
    console.write_result(table(["field", a, b], rows), output)
    return 0


def _short(value) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
