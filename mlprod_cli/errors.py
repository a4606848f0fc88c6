"""The one error family of mlprod.

Core code never prints and never exits: it raises one of these. ``cli.main``
turns it into a single ``error: …`` line on stderr (plus an optional
``hint: …`` line naming the command to run next) and the exit code it carries.
"""

from __future__ import annotations

# Exit codes are the same for every command.
EXIT_OK = 0
EXIT_FAILED = 1  # a gate or a check failed
EXIT_USAGE = 2  # bad usage or bad input
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70  # a bug in mlprod (EX_SOFTWARE): never expected, always worth a report


class MlprodError(Exception):
    """An error with a user-facing message, an optional hint and an exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(MlprodError):
    """An option or argument that cannot be used as given."""


class ConfigError(MlprodError):
    """``mlprod.yaml`` is missing, malformed or does not fit the schema."""


class DataError(MlprodError):
    """A data file that cannot be read or does not fit what is expected."""


class ScaffoldError(MlprodError):
    """``mlprod new`` cannot create the project as asked."""


class EnvironmentProblem(MlprodError):
    """The project's virtualenv, lock or tools are not as they should be."""


class CheckFailed(MlprodError):
    """A check ran and found a problem (exit code 1, not bad input)."""

    exit_code = EXIT_FAILED
