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

        data = dataclasses.asdict(result)
        data["timings"] = {k: round(v, 3) for k, v in result.timings.items()}
        return json.dumps(data, indent=2, default=str)
    if result.dry_run:
        lines = [f"would create {result.project_dir} from template {result.template}:"]
        lines += [f"  {name}" for name in result.files]
        lines.append("  .venv/ (installed from requirements.lock)")
        return "\n".join(lines)
    try:
        where = os.path.relpath(result.project_dir)
    except ValueError:  # another drive on Windows
        where = str(result.project_dir)
    lines = [f"created {result.project_dir} ({len(result.files)} files)"]
    if result.venv is not None:
        how = f", installed with {result.installer}" if result.installer else ""
        lines.append(f"  .venv: Python {result.python_version}{how}")
    if result.git_commit:
        lines.append(f"  git: first commit {result.git_commit[:12]}")
    lines.append("next:")
    lines.append(f"  cd {where}")
    if result.installer:
        lines.append("  mlprod check              # config, lock and .venv agree")
        lines.append("  .venv/bin/python -m pytest # the project's tests")
    elif result.venv is not None:
        lines.append(
            "  .venv/bin/python -m pip install --require-hashes --no-deps -r requirements.lock --find-links wheels"
        )
    return "\n".join(lines)
