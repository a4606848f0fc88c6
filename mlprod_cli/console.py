"""Where output goes: results to stdout, status and progress to stderr.

On a terminal a step shows as a Rich status line; without one (CI, pipes,
pre-commit) each step is a plain ``mlprod: …`` line on stderr, so logs stay
readable and nothing redraws.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def is_interactive() -> bool:
    return sys.stderr.isatty() and os.environ.get("CI", "").lower() not in ("1", "true", "yes")


def status(message: str) -> None:
    """A status line on stderr."""
    sys.stderr.write(f"mlprod: {message}\n")
    sys.stderr.flush()


@contextmanager
def steps() -> Iterator:
    """Yield a ``report(text)`` callable: a live spinner on a terminal, plain lines elsewhere."""
    if not is_interactive():
        yield status
        return
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    done: list[str] = []
    with console.status("starting…") as live:

        def report(text: str) -> None:
            if done:
                console.print(f"[green]✓[/green] {done[-1]}")
            done.append(text)
            live.update(f"{text}…")

        yield report
    if done:
        console.print(f"[green]✓[/green] {done[-1]}")


def write_result(text: str, output: os.PathLike | None = None) -> None:
    """Print ``text`` to stdout, or write it atomically to ``output``."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return
    from mlprod_cli.core.files import atomic_write_text

    atomic_write_text(output, text if text.endswith("\n") else text + "\n")
