"""Where output goes: results to stdout, status and progress to stderr.

On a terminal a step shows as a Rich status line; without one (CI, pipes,
pre-commit) each step is a plain ``mlprod: …`` line on stderr, so logs stay
readable and nothing redraws.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager


def is_interactive() -> bool:
    return sys.stderr.isatty() and os.environ.get("CI", "").lower() not in ("1", "true", "yes")


def can_ask() -> bool:
    """Whether a question can be asked: a person at a terminal, not CI or a pipe."""
    return sys.stdin.isatty() and is_interactive()


def status(message: str) -> None:
    """A status line on stderr; held, in order with the others, while a command runs."""
    if _COMMAND:
        _COMMAND[-1].append(message)
    else:
        _write_status(message)


def _write_status(message: str) -> None:
    sys.stderr.write(f"mlprod: {message}\n")
    sys.stderr.flush()


def warn(messages: Iterable[str], *, kind: str = "warning") -> None:
    """A ``warning: …`` status line (or ``note: …`` with ``kind="note"``) for each message.

    Held, like the lines of :func:`steps`, while a command runs (:func:`command`).
    """
    for message in messages:
        line = f"{kind}: {message}"
        status(line)


# The status lines held for the command running now (see :func:`command`).
_COMMAND: list[list[str]] = []


@contextmanager
def command() -> Iterator[None]:
    """Hold the lines of steps, progress and warnings until the command ends.

    ``cli.main`` runs every command (but ``serve``, which says what it does as
    it does it) inside this block. A bad-input or environment error (exit code
    2), wherever it is raised, even after a step block has ended, prints only
    its ``error:`` line: the held lines are dropped. Python warnings raised
    meanwhile (numpy's, pandas') are held the same way. On success, a failed
    gate, an interruption or a bug, they are all written at the end, in order.
    """
    import warnings

    lines: list[str] = []
    _COMMAND.append(lines)
    show = warnings.showwarning
    caught: list = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield
    except BaseException as exc:
        if not _ends_in_exit_2(exc):
            _write_held(lines, caught, show)
        raise
    else:
        _write_held(lines, caught, show)
    finally:
        _COMMAND.pop()


def _ends_in_exit_2(exc: BaseException) -> bool:
    """Bad input, a bad option or an environment fault: exit 2, and the error line alone."""
    from mlprod_cli.adapters.files import is_environment_fault
    from mlprod_cli.errors import EXIT_USAGE, MlprodError

    if isinstance(exc, MlprodError):
        return exc.exit_code == EXIT_USAGE
    if isinstance(exc, ModuleNotFoundError):  # an optional package missing: cli.main says which
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    return is_environment_fault(exc) or ("ClickException" in names and "Abort" not in names)


def _write_held(lines: list[str], caught: list, show) -> None:
    _write_all(lines)
    for w in caught:
        show(w.message, w.category, w.filename, w.lineno, w.file, w.line)


@contextmanager
def steps() -> Iterator:
    """Yield a ``report(text)`` callable for the steps of a long command.

    On a terminal: a live spinner showing the current step, and a tick for
    each finished one. Elsewhere (CI, pipes, pre-commit): one plain line per
    *finished* step with its duration, so logs show where time went. Those
    lines are held until the block ends, so a command that stops on bad input
    prints nothing but its ``error:`` line, wherever the input turned out bad.
    """
    import time

    if not is_interactive():
        current: list = []
        with _held() as hold:

            def finish() -> None:
                if current:
                    text, started = current.pop()
                    hold(f"{text} ({time.perf_counter() - started:.1f} s)")

            def report(text: str) -> None:
                finish()
                current.append((text, time.perf_counter()))

            yield report
            finish()
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


@contextmanager
def _held() -> Iterator:
    """Yield ``hold(line)``: status lines written when the block ends, unless on bad input.

    A bad-input error (exit code 2) is the whole story: the lines of the steps
    before it are dropped, so stderr is the one ``error:`` line. On success, a
    failed gate, an interruption or a bug they are written, to show how far it got.
    """
    from mlprod_cli.errors import EXIT_USAGE, MlprodError

    if _COMMAND:  # held for the whole command instead
        yield _COMMAND[-1].append
        return
    lines: list[str] = []
    try:
        yield lines.append
    except MlprodError as exc:
        if exc.exit_code != EXIT_USAGE:
            _write_all(lines)
        raise
    except BaseException:
        _write_all(lines)
        raise
    _write_all(lines)


def _write_all(lines: list[str]) -> None:
    for line in lines:
        _write_status(line)


@contextmanager
def progress(description: str) -> Iterator:
    """Yield ``advance(done, total)``: a progress bar on a terminal, a line per tenth elsewhere
    (held like :func:`steps`' lines)."""
    if not is_interactive():
        shown = [-1]
        with _held() as hold:

            def advance(done: int, total: int) -> None:
                tenth = done * 10 // max(total, 1)
                if tenth != shown[0]:
                    shown[0] = tenth
                    hold(f"{description}: {done}/{total}")

            yield advance
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (description, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(description, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def refuse_project_inputs(output: os.PathLike, option: str = "--output") -> None:
    """A UsageError when ``output`` is an input of the project it lies in (``mlprod.yaml``,
    the data, the label patch, the rules file): a result written there would lose it."""
    from pathlib import Path

    from mlprod_cli.core.project import CONFIG_NAME, find_project_root
    from mlprod_cli.errors import MlprodError, UsageError

    path = Path(output)
    root = find_project_root(path.resolve().parent)
    if root is None:
        return
    if path.resolve() == (root / CONFIG_NAME).resolve():
        raise UsageError(f"{option} {output} is the project file: writing there would lose it")
    from mlprod_cli.core.workspace import Workspace

    try:
        workspace = Workspace.load(root, need_data=False)
    except MlprodError:
        return  # a project whose config does not load: the command itself says so
    workspace.refuse_overwriting(path, option)


@contextmanager
def _writing(output: os.PathLike) -> Iterator[None]:
    """An ``--output`` path the system cannot hold (a name past its limit, a folder like
    ``/proc`` that takes no file) is ``cannot write PATH: reason``, exit 2, not a crash."""
    import errno

    from mlprod_cli.adapters.files import cannot_write

    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENAMETOOLONG, errno.ENOENT, errno.ENOTDIR, errno.EINVAL):
            raise cannot_write(output, exc) from None
        raise


def write_result(text: str, output: os.PathLike | None = None) -> None:
    """Print ``text`` to stdout, or write it atomically to ``output``."""
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()
        return
    from mlprod_cli.adapters.files import atomic_write_text

    refuse_project_inputs(output)
    with _writing(output):
        atomic_write_text(output, text if text.endswith("\n") else text + "\n")


def open_output(output: os.PathLike, option: str = "--output"):
    """``--output FILE``'s temporary, made now: ``commit_output`` fills it and renames it in.

    For a command that stores something before it writes its file: whether the
    file can be written at all is known before (``.abort()`` removes it).
    """
    from mlprod_cli.adapters.files import AtomicFile

    refuse_project_inputs(output, option)
    with _writing(output):
        return AtomicFile(output)


def commit_output(result_file, text: str) -> None:
    """Write ``text`` to the file :func:`open_output` made and rename it into place."""
    result_file.commit((text if text.endswith("\n") else text + "\n").encode("utf-8"))


def write_bytes(data: bytes, output: os.PathLike, option: str = "--output") -> None:
    """Write a rendered file (a chart) atomically to ``output``."""
    from mlprod_cli.adapters.files import atomic_write_bytes

    refuse_project_inputs(output, option)
    with _writing(output):
        atomic_write_bytes(output, data)
