"""``mlprod new``'s result: what was made (or would be, with ``--dry-run``) and what to run next."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlprod_cli.core.scaffold import NewResult

__all__ = ["render"]


def render(result: NewResult, fmt: str = "table") -> str:
    """The project made, its venv and first commit, and the next commands; or all of it as JSON."""
    import os

    if fmt == "json":
        import dataclasses
        import json

        data = {
            f.name: getattr(result, f.name)
            for f in dataclasses.fields(result)
            if f.name not in ("profile", "plan")
        }
        data["timings"] = {k: round(v, 3) for k, v in result.timings.items()}
        data["profile"] = None if result.profile is None else result.profile.to_dict()
        data["plan"] = None if result.plan is None else result.plan.to_dict()
        return json.dumps(data, indent=2, default=str)
    head = profile_lines(result) if result.profile is not None else []
    if result.dry_run:
        lines = [*head, f"would create {result.project_dir} from template {result.template}:"]
        lines += [f"  {name}" for name in result.files]
        lines.append(f"  .venv/ ({_would_install(result)})")
        if result.hooks:
            lines.append("the template's hooks were not run (a dry run runs none)")
        return "\n".join(lines)
    try:
        where = os.path.relpath(result.project_dir)
    except ValueError:  # another drive on Windows
        where = str(result.project_dir)
    lines = [*head, f"created {result.project_dir} ({len(result.files)} files)"]
    editable = "the project (editable)" in result.installed
    if result.venv is not None:
        if editable:
            how = f", the project installed editable with {result.installer} (no lock)"
        elif result.installer:
            how = f", installed with {result.installer}"
        elif result.lock is None and not result.package:
            how = ", nothing installed (no lock, not a package)"
        else:
            how = ""
        lines.append(f"  .venv: Python {result.python_version}{how}")
    if result.git_commit:
        lines.append(f"  git: first commit {result.git_commit[:12]}")
    lines.append("next:")
    lines.append(f"  cd {where}")
    if result.installer and result.lock:
        lines.append("  mlprod check              # config, lock and .venv agree")
        lines.append("  .venv/bin/python -m pytest # the project's tests")
    elif result.venv is not None and result.lock and not result.installer:
        lines.append(
            f"  .venv/bin/python -m pip install --require-hashes --no-deps -r {result.lock} --find-links wheels"
        )
    elif result.venv is not None and result.package and not result.installer:
        lines.append("  .venv/bin/python -m pip install -e .")
    return "\n".join(lines)


def _would_install(result: NewResult) -> str:
    if result.lock:
        return f"installed from {result.lock}"
    if result.package:
        return "no requirements.lock: the project itself, pip install -e ."
    return "no requirements.lock and not a Python package: nothing to install"


def profile_lines(result: NewResult) -> list[str]:
    """The data's profile as a table, and what was decided from it."""
    from mlprod_cli.render.text import table

    profile, plan = result.profile, result.plan
    features = set(plan.features)
    rows = []
    for column in profile.columns:
        if column.name == plan.target:
            role = "target"
        elif column.name in features:
            role = "feature"
        else:
            role = "excluded"
        rows.append(
            (column.name, column.kind, f"{100 * column.missing_share:.1f} %",
             column.describe_distinct(), role, column.reason)
        )  # fmt: skip
    title = (
        f"profile of {profile.path.name}: {profile.rows:,} rows, "
        f"{len(profile.columns)} columns ({profile.seconds:.1f} s)"
    )
    lines = [
        table(
            ["column", "kind", "missing", "distinct", "role", "why"],
            rows,
            title=title,
            right=(2, 3),
        )
    ]
    split = plan.split
    how = (
        f"by time on {split['column']} at {split['cutoff']}"
        if split["by"] == "time"
        else f"at random, {split['test_size']:.0%} for the test side"
    )
    counts = ", ".join(f"{c} {n:,}" for c, n in plan.class_counts.items())
    if plan.task == "regression":
        about = [("target", f"{plan.target}: a number")]
    else:
        about = [
            ("target", f"{plan.target}: {counts}"),
            ("positive class", plan.positive_class or "none (every class counts alike)"),
        ]
    decided = [
        ("task", f"{plan.task} ({plan.reasons.get('task', '')})"),
        *about,
        ("objective", f"{plan.objective}: {plan.reasons.get('objective', '')}"),
        ("split", how),
        ("features", f"{len(plan.numeric)} numeric, {len(plan.categorical)} categorical"),
        ("excluded", ", ".join(plan.excluded) or "none"),
        ("slices", ", ".join(plan.slices) or (
            f"none chosen; suggested: {', '.join(plan.suggested_slices)} (--slice-by COL)"
            if plan.suggested_slices else "none"
        )),
        ("gates", "measured on a first validation (mlprod.yaml says how)"
         if result.gates_measured else "not measured (see the warning)"),
    ]  # fmt: skip
    lines.append("decided (each with its reason in mlprod.yaml):")
    lines += [f"  {name:<15} {value}" for name, value in decided]
    return lines
