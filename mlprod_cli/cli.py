"""The entry point: build the Typer app, run it, and turn errors into exit codes.

``main()`` is the single way out of mlprod. Commands return an exit code or
raise :class:`~mlprod_cli.errors.MlprodError`; ``main`` prints the error as one
``error: …`` line on stderr (``-v`` or ``MLPROD_DEBUG=1`` adds the traceback).

Start-up cost matters (shell completion and pre-commit hooks run ``mlprod`` all
the time), so this module imports nothing heavy at module level: ``--version``
answers before Typer is even imported, and each command imports what it needs
inside its own function.
"""

from __future__ import annotations

import contextlib
import os
import sys

from mlprod_cli import __version__
from mlprod_cli.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, MlprodError

# Commands that never hand over to a project's own virtualenv: ``new`` makes
# projects rather than living in one.
_NO_DELEGATION = {"new"}
# Commands that say what they do as they do it (a server runs until stopped).
_LIVE = {"serve"}


def build_app():
    """Assemble the Typer application with every command registered."""
    import typer

    from mlprod_cli.commands import (
        analyze,
        check,
        distill,
        ensemble,
        evaluate,
        metrics,
        models,
        new,
        package,
        predict,
        rules,
        serve,
        skew,
        train,
        tune,
    )

    app = typer.Typer(
        name="mlprod",
        help=(
            "Machine learning in production from the first minute: scaffold a project, "
            "then check, train, evaluate, serve and watch it."
        ),
        no_args_is_help=True,
        # Plain help, not Rich's boxes: Rich's help renderer costs about 0.12 s
        # on every ``--help`` and every completion request, twice the rest of
        # start-up. Results and progress still use Rich where it pays.
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, "--version", "-V", help="Show mlprod's version and exit.", is_eager=True
        ),
        verbose: bool = typer.Option(
            False, "--verbose", "-v", help="Show tracebacks on errors (or set MLPROD_DEBUG=1)."
        ),
    ) -> None:
        if version:
            sys.stdout.write(f"mlprod {__version__}\n")
            raise typer.Exit(0)
        if verbose:
            os.environ["MLPROD_DEBUG"] = "1"

    new.register(app)
    train.register(app)
    tune.register(app)
    ensemble.register(app)
    distill.register(app)
    models.register(app)
    evaluate.register(app)
    analyze.register(app)
    predict.register(app)
    serve.register(app)
    skew.register(app)
    package.register(app)
    metrics.register(app)
    check.register(app)
    rules.register(app)
    return app


# The click command each ``build_app`` makes, built once per process: building it
# (Typer reads every command's signature) is most of an in-process call's cost, and
# the tests call ``main`` thousands of times. Keyed by the function, so a test that
# swaps ``build_app`` gets its own app.
_COMMANDS: dict[object, object] = {}


def _command():
    cli = _COMMANDS.get(build_app)
    if cli is None:
        import typer.main

        cli = _COMMANDS[build_app] = typer.main.get_command(build_app())
    return cli


def _quiet_half_built(unraisable) -> None:
    """``sys.unraisablehook``: drop a ``__del__``'s AttributeError, print the rest.

    Ctrl-C can land inside a library's ``__init__`` (virtualenv's file lock, seen
    in ``new``) before it sets the attribute its ``__del__`` reads; the collector
    then prints "Exception ignored in …" and a traceback above ``error:
    interrupted``. That object was never built, so there is nothing to report.
    """
    method = getattr(unraisable.object, "__name__", None)
    if method == "__del__" and isinstance(unraisable.exc_value, AttributeError):
        return
    sys.__unraisablehook__(unraisable)


def _wants_traceback(argv: list[str]) -> bool:
    return os.environ.get("MLPROD_DEBUG") == "1" or "-v" in argv or "--verbose" in argv


def _first_command(argv: list[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg
    return None


def main(argv: list[str] | None = None) -> int:
    """Run mlprod with ``argv`` (default: ``sys.argv[1:]``) and return the exit code.

    Run as the program (no ``argv``), an interrupted command ends with
    ``os._exit(130)`` once its cleanup is done and stdio is flushed, skipping the
    interpreter's shutdown: under load, a Ctrl-C test saw ``new`` print
    ``error: interrupted`` and then end by SIGINT (-2) instead of exit code 130.
    """
    if argv is None:
        sys.unraisablehook = _quiet_half_built
        code = _main(list(sys.argv[1:]))
        if code == EXIT_INTERRUPTED:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            os._exit(EXIT_INTERRUPTED)
        return code
    return _main(list(argv))


def _main(argv: list[str]) -> int:
    if argv in (["--version"], ["-V"]):
        # The fast path: no Typer, no Rich, no project lookup.
        sys.stdout.write(f"mlprod {__version__}\n")
        return 0

    command = _first_command(argv)
    if command is not None and command not in _NO_DELEGATION:
        from mlprod_cli.core.project import delegate_if_needed

        try:
            delegate_if_needed(argv)  # replaces this process when the project has its own mlprod
        except KeyboardInterrupt:
            _print_error("interrupted")
            return EXIT_INTERRUPTED

    try:
        from mlprod_cli import console

        cli = _command()
        # Status lines and Python warnings are held until the command ends, so exit 2
        # prints its error line alone; serve says what it does as it does it.
        holding = console.command() if command not in _LIVE else contextlib.nullcontext()
        with holding:
            code = cli.main(args=argv, prog_name="mlprod", standalone_mode=False)
        code = code if isinstance(code, int) else 0
        if code == EXIT_INTERRUPTED:  # newer Typers turn Ctrl-C into a silent Exit(130)
            _print_error("interrupted")
        return code
    except MlprodError as exc:
        if _wants_traceback(argv):
            import traceback

            traceback.print_exc()
        _print_error(exc.message, exc.hint)
        return exc.exit_code
    except KeyboardInterrupt:
        _print_error("interrupted")
        return EXIT_INTERRUPTED
    except ModuleNotFoundError as exc:
        # An optional package this command needs (pyarrow for Parquet, say) is
        # not in this environment: a serving image leaves the batch extras out.
        if _wants_traceback(argv):
            raise
        name = (exc.name or "?").split(".")[0]
        _print_error(
            f"{command or 'this command'} needs the Python package {name}, which is not installed",
            f"pip install {name}, or install the project's lock",
        )
        return EXIT_USAGE
    except OSError as exc:
        from mlprod_cli.adapters.files import is_environment_fault

        if not is_environment_fault(exc):
            if _wants_traceback(argv):
                raise
            return _internal_error(exc)
        # A full disk, a read-only file or folder, a permission, a failing device: the
        # environment's to fix, not a bug. Writes that know their target say "cannot
        # write TARGET" themselves; this names the file the system named.
        if _wants_traceback(argv):
            import traceback

            traceback.print_exc()
        _print_error(_environment_message(exc, command))
        return EXIT_USAGE
    except Exception as exc:
        kind = _click_kind(exc)
        if kind == "Abort":  # click turns Ctrl-C into Abort
            _print_error("interrupted")
            return EXIT_INTERRUPTED
        if kind == "NoArgsIsHelp":
            # Bare ``mlprod`` or ``mlprod models``: the help itself, as click prints
            # it (stderr, exit 2), not flattened onto an ``error:`` line.
            sys.stderr.write(exc.format_message().rstrip("\n") + "\n")
            sys.stderr.flush()
            return EXIT_USAGE
        if kind == "ClickException":
            # Usage errors from the parser: one line naming the option, exit 2.
            message = exc.format_message().strip().replace("\n", " ")
            ctx = getattr(exc, "ctx", None)
            hint = f"run '{ctx.command_path} --help'" if ctx is not None else None
            _print_error(message, hint)
            return EXIT_USAGE
        # A bug: say so in one line; the traceback is one flag away.
        if _wants_traceback(argv):
            raise
        return _internal_error(exc)


def _internal_error(exc: BaseException) -> int:
    _print_error(
        f"internal error: {type(exc).__name__}: {exc}", "run again with -v for the traceback"
    )
    return EXIT_INTERNAL


# A temporary's name (adapters/files.py: ".NAME.XXXXXXXX.tmp"), shown as NAME.
_TEMP_PART = r"^\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp$"


def _environment_message(exc: OSError, command: str | None) -> str:
    """``dist/docker/app.py: No space left on device``: the file the error names, else the command."""
    import re
    from pathlib import Path

    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    names = [n for n in (exc.filename, exc.filename2) if n is not None and not isinstance(n, int)]
    if not names:
        return f"{command or 'mlprod'}: {reason}"
    path = Path(os.fsdecode(names[-1]))
    with contextlib.suppress(ValueError):
        path = path.absolute().relative_to(Path.cwd())
    shown = Path(*(re.sub(_TEMP_PART, r"\g<name>", part) for part in path.parts))
    return f"{shown}: {reason}"  # (a read refused, too: EACCES on a data file)


def _click_kind(exc: BaseException) -> str | None:
    """Which click exception ``exc`` is, by class name.

    Typer vendors click since 0.27 (``typer._click``) and used the ``click``
    package before; matching by name works with both without importing either.
    """
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "Abort" in names:
        return "Abort"
    if "NoArgsIsHelpError" in names:  # click 8.2+: a group run without its subcommand
        return "NoArgsIsHelp"
    if "ClickException" in names:
        return "ClickException"
    return None


def _print_error(message: str, hint: str | None = None) -> None:
    # Always one line, so scripts and CI logs can rely on it.
    line = f"error: {message}" + (f" (hint: {hint})" if hint else "")
    sys.stderr.write(line.replace("\n", " ") + "\n")
    sys.stderr.flush()
