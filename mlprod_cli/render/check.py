"""``mlprod check``'s result: a line per check (config, lock, pyproject, venv), or JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlprod_cli.core.check import CheckReport

__all__ = ["render"]

_MARKS = {"ok": "ok  ", "warn": "warn", "fail": "FAIL"}


def render(report: CheckReport, fmt: str) -> str:
    """``ok   lock      …``, ``warn unlocked  …`` or ``FAIL venv      …`` per check, problems under it.

    JSON also says which mlprod ran the checks (version, interpreter, prefix), since a
    project may be checked by another mlprod than its own.
    """
    if fmt == "json":
        import json
        import sys

        from mlprod_cli import __version__

        return json.dumps(
            {
                "root": str(report.root),
                "mlprod": {"version": __version__, "python": sys.executable, "prefix": sys.prefix},
                "ok": report.ok,
                "checks": [
                    {
                        "name": i.name,
                        "ok": i.ok,
                        "status": i.status,
                        "detail": i.detail,
                        "problems": list(i.problems),
                    }
                    for i in report.items
                ],
            },
            indent=2,
        )
    lines = []
    for item in report.items:
        lines.append(f"{_MARKS[item.status]} {item.name:<9} {item.detail}")
        lines += [f"     {'':<9} {p}" for p in item.problems[1:]]
    return "\n".join(lines)
