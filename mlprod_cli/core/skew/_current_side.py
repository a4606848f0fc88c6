"""The current side of a run: find the serving files, stream them, re-score what was served.

The serving data is the request log (every ``*.jsonl`` under ``skew.serving_log``, in
write order) or ``--current`` files: CSV, Parquet, or JSON Lines in the log's format
or flat (:mod:`~mlprod_cli.core.skew._batches`). :class:`Stream` feeds every batch to
the :class:`CurrentAccumulator`; rows served by another version than the one checked
are left out and counted. **Prediction skew**: each logged row is scored again offline
by the version that served it, on the logged features, exactly as ``predict`` would
(its rules applied again, when it has rules: served answers are the rules' answers);
the share of rows whose class differs and the score differences go into the report
(for a regression, the share of served values that differ from the offline ones
beyond a tolerance, and the absolute differences).
Files without served predictions get prediction drift from the offline predictions
and no prediction skew, with the reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlprod_cli.adapters.tables import TABLE_SUFFIXES, check_regular, prefetch
from mlprod_cli.core import request_log
from mlprod_cli.core.skew._accumulator import CurrentAccumulator
from mlprod_cli.core.skew._batches import JSONL_SUFFIXES, Batch, file_batches
from mlprod_cli.core.skew._messages import listing
from mlprod_cli.core.skew._model import Model
from mlprod_cli.core.skew._reference import ReferenceSummary
from mlprod_cli.core.skew._rules import RuleCounts
from mlprod_cli.core.words import plural
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import DataError, UsageError


@dataclass
class CurrentFiles:
    """The serving data: the request log's files, or the files given with ``--current``."""

    files: list[Path]
    log: Path | None  # the log folder, when reading the log
    shown: str  # the folder or file as the user knows it
    root: Path | None = None  # the project's root, for showing log files

    def describe(self) -> str:
        """The serving data as a progress line names it."""
        if self.log is not None:
            return f"the request log {self.shown} ({plural(len(self.files), 'file')})"
        return ", ".join(str(p) for p in self.files)

    def show(self, path: Path) -> str:
        """A file as the user knows it: under the project when it is a log file."""
        if self.root is not None:
            with contextlib.suppress(ValueError):
                return path.resolve().relative_to(self.root).as_posix()
        return str(path)

    def jsonl_files(self) -> list[Path]:
        """The JSON Lines files among them (the ones that may say which version served)."""
        return [p for p in self.files if p.suffix.lower() in JSONL_SUFFIXES]


def current_files(
    workspace: Workspace | None, current: tuple[Path, ...], log_dir: Path | None
) -> CurrentFiles:
    """The ``--current`` files, else the request log's files (``--log DIR`` or the project's).

    A wrong extension, a missing file or a log without a line is an error before
    anything is read.
    """
    config = None if workspace is None else workspace.config
    if current:
        for path in current:
            suffix = path.suffix.lower()
            if suffix not in TABLE_SUFFIXES + JSONL_SUFFIXES:
                raise UsageError(
                    f"--current {path}: must be .csv, .parquet or .jsonl, not {suffix or 'no extension'}"
                )
            check_regular(path, f"{path}: no such file")
        return CurrentFiles(list(current), None, ", ".join(map(str, current)))
    if log_dir is not None:
        folder = log_dir
    elif workspace is not None:
        folder = workspace.request_log()
    else:
        raise UsageError(
            "no serving data: pass --current FILE or --log DIR (outside a project there is no skew.serving_log)"
        )
    shown = str(folder)
    if config is not None:
        with contextlib.suppress(ValueError):
            shown = folder.resolve().relative_to(config.root).as_posix() + "/"
    files = request_log.log_files(folder, any_name=True)
    if not files:
        raise DataError(
            f"the request log is empty: {shown} has no *.jsonl files",
            hint="run 'mlprod serve' to log requests, or pass --current FILE",
        )
    if not any(_has_content(p) for p in files):
        raise DataError(
            f"the request log is empty: {_no_lines(len(files), shown)}",
            hint="run 'mlprod serve' to log requests, or pass --current FILE",
        )
    return CurrentFiles(files, folder, shown, None if config is None else config.root)


def _no_lines(n: int, folder: str) -> str:
    return (
        f"its {n} files in {folder} have no lines"
        if n > 1
        else f"its file in {folder} has no lines"
    )


def _has_content(path: Path) -> bool:
    """Whether ``path`` holds anything but white space (read until the first such byte)."""
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 16):
                if block.strip():
                    return True
    except OSError as exc:
        raise DataError(f"{path}: cannot read it: {exc.strerror}") from None
    return False


class Stream:
    """Reads every current file in batches into the accumulator, re-scoring as it goes."""

    def __init__(
        self,
        current: CurrentFiles,
        reference: ReferenceSummary,
        model: Model,
        accumulator: CurrentAccumulator,
        batch_rows: int,
        *,
        step_per_file: bool = False,
    ):
        self.current = current
        self.step_per_file = step_per_file
        self.reference = reference
        self.model = model
        self.accumulator = accumulator
        self.batch_rows = batch_rows
        self.names = [f.name for f in reference.features]
        self.model_names = (
            [f["name"] for f in model.schema["features"]] if model.schema is not None else []
        )
        self.files: list[dict[str, Any]] = []
        self.rows_read = 0
        self.other_versions: dict[str, int] = {}
        self.served_rows = 0  # rows that came with a served class
        self.rescored = 0  # of those, re-scored offline
        self.offline_only = 0  # rows without a served class, predicted offline for drift
        self.score_rows = 0
        self.unscored: dict[str, int] = {}  # reason -> rows not re-scored
        # With the version's rules: what fired as served (the data's own record of it),
        # and as the rules fire again on the re-scored rows.
        ids = model.rules.ids if model.rules is not None else ()
        self.served_rules = RuleCounts(ids)
        self.rescored_rules = RuleCounts(ids)

    # ------------------------------------------------------------------ reading

    def run(self, step: Callable[[str], None]) -> None:
        """Read every file into the accumulator; ``step`` says which file is being read."""
        live = self.step_per_file and len(self.current.files) > 1
        for index, path in enumerate(self.current.files):
            if live:  # a line per file on a terminal; one step for all of them in a log
                step(
                    f"reading {self.current.show(path)} ({index + 1} of {len(self.current.files)})"
                )
            rows = 0
            # Reading and parsing (pyarrow, mostly without the GIL) run a batch ahead in a
            # thread while this one counts and re-scores.
            for batch in prefetch(self._batches(path), depth=1):
                rows += len(batch.frame)
                self._add(path, batch)
            self.files.append({"path": self.current.show(path), "rows": rows})
            if rows == 0 and self.current.log is None:
                raise DataError(f"{path}: no rows")
        if self.rows_read == 0:
            raise DataError(
                f"the request log is empty: {_no_lines(len(self.files), self.current.shown)}",
                hint="run 'mlprod serve' to log requests, or pass --current FILE",
            )
        if self.accumulator.rows == 0:
            others = ", ".join(f"{n:,} of {v}" for v, n in sorted(self.other_versions.items()))
            raise DataError(
                f"the serving data has no rows served by {self.model.id} (it has {others})",
                hint="pass --model VERSION",
            )

    def _batches(self, path: Path) -> Iterator[Batch]:
        schema = self.model.schema or _schema_of(self.reference)
        return file_batches(
            path,
            schema,
            self.model.labels,
            self.batch_rows,
            numeric_prediction=self.model.regression,
        )

    # ------------------------------------------------------------------ counting

    def _add(self, path: Path, batch: Batch) -> None:
        import numpy as np
        import pandas as pd

        frame = batch.frame
        n = len(frame)
        if n == 0:
            return
        if not frame.columns.is_unique:
            twice = frame.columns[frame.columns.duplicated()][0]
            raise DataError(f"{path}: column '{twice}' appears more than once")
        self.rows_read += n
        if not any(name in frame.columns for name in self.names):
            raise DataError(
                f"{path}: none of the reference's features is in it (features: {listing(self.names)}; its columns: {listing([str(c) for c in frame.columns])})"
            )
        if batch.versions is not None and self.model.id is not None:
            versions = pd.Series(batch.versions, dtype=object)
            keep = (versions.isna() | (versions == self.model.id)).to_numpy()
            if not keep.all():
                for value, count in versions[~keep].value_counts().items():
                    self.other_versions[str(value)] = self.other_versions.get(str(value), 0) + int(
                        count
                    )
                rows = np.flatnonzero(keep)
                batch = Batch(
                    frame.iloc[rows],
                    None if batch.served is None else np.asarray(batch.served, dtype=object)[rows],
                    None if batch.scores is None else batch.scores[rows],
                    None,
                    None if batch.fired is None else [batch.fired[i] for i in rows.tolist()],
                )
                frame = batch.frame
                if len(frame) == 0:
                    return
        self._count(batch)

    def _count(self, batch: Batch) -> None:
        import numpy as np

        frame = batch.frame
        n = len(frame)
        add = self.accumulator.add
        can_score = self.model.version is not None
        missing = [name for name in self.model_names if name not in frame.columns]
        if can_score and missing:
            can_score = False
            reason = f"the serving data lacks features the model needs: {listing(missing)}"
            self.unscored[reason] = self.unscored.get(reason, 0) + n
        if batch.served is None:
            if not can_score:
                add(frame)
                return
            offline, _, fired = self.model.answer(frame)
            self._rules_fired(self.rescored_rules, fired, offline)
            self.offline_only += n
            add(frame, predictions=offline)
            return
        served = np.asarray(batch.served, dtype=float if self.model.regression else object)
        self.served_rows += n
        if batch.fired is not None and self.model.rules is not None:
            self._rules_fired(self.served_rules, batch.fired, served)
        if not can_score:
            if self.model.version is None:
                reason = "no model version to re-score with (outside a project, or no model in the registry)"
                self.unscored[reason] = self.unscored.get(reason, 0) + n
            add(frame, predictions=served)
            return
        offline, offline_scores, fired = self.model.answer(frame)
        self._rules_fired(self.rescored_rules, fired, offline)
        self.rescored += n
        scores = batch.scores
        if scores is None or offline_scores is None or scores.shape != offline_scores.shape:
            add(frame, predictions=served, offline_predictions=offline)
            return
        complete = np.isfinite(scores).all(axis=1)
        if complete.all():
            self.score_rows += n
            add(
                frame,
                predictions=served,
                offline_predictions=offline,
                scores=scores,
                offline_scores=offline_scores,
            )
            return
        if complete.any():
            rows = np.flatnonzero(complete)
            self.score_rows += rows.size
            add(
                frame.iloc[rows],
                predictions=served[rows],
                offline_predictions=offline[rows],
                scores=scores[rows],
                offline_scores=offline_scores[rows],
            )
        rows = np.flatnonzero(~complete)
        add(frame.iloc[rows], predictions=served[rows], offline_predictions=offline[rows])

    @staticmethod
    def _rules_fired(counts: RuleCounts, fired: Any, classes: Any) -> None:
        if fired is not None:
            counts.add(fired, (c is None for c in classes))

    # ------------------------------------------------------------------ what to report

    def rules_counts(self) -> tuple[RuleCounts, str] | None:
        """The serving side's rule counts: as served where the data says, else re-scored."""
        if self.model.rules is None:
            return None
        if self.served_rules.rows:
            return self.served_rules, "served"
        return self.rescored_rules, "re-scored"

    def info(self) -> dict[str, Any]:
        """Where the serving data came from and how many rows were read and kept."""
        return {
            "kind": "request log" if self.current.log is not None else "files",
            "source": self.current.shown,
            "files": self.files,
            "rows_read": self.rows_read,
            "rows": self.accumulator.rows,
            "other_versions": dict(sorted(self.other_versions.items())),
        }

    def prediction_info(self) -> dict[str, Any]:
        """Whether prediction skew was checked (on how many rows), or why not."""
        checked = self.rescored > 0
        reason = None
        if not checked:
            if self.served_rows == 0:
                reason = "the serving data carries no served predictions (the request log does; so does a 'prediction' column)"
            elif self.unscored:
                reason = next(iter(self.unscored))
        source = None
        if self.served_rows:
            source = "served"
        elif self.offline_only:
            source = "offline"
        return {
            "checked": checked,
            "rows": self.rescored,
            "score_rows": self.score_rows,
            "reason": reason,
            "drift_from": source,
        }

    def notes(self) -> list[str]:
        """What the reader of the report should know about the serving side."""
        out = []
        if self.other_versions:
            others = ", ".join(
                f"{plural(n, 'row')} of {v if v.isprintable() else repr(v)}"
                for v, n in sorted(self.other_versions.items())
            )
            out.append(
                f"left out {others}: this report is about {self.model.id} (--model VERSION for another)"
            )
        info = self.prediction_info()
        if not info["checked"] and info["reason"]:
            out.append(f"prediction skew not checked: {info['reason']}")
        elif info["checked"]:
            for reason, rows in self.unscored.items():
                out.append(f"{plural(rows, 'row')} not re-scored: {reason}")
        if info["drift_from"] == "offline":
            out.append(
                f"prediction drift compares {self.model.id}'s offline predictions on the serving rows with those on the training rows"
            )
        return out


def _schema_of(reference: ReferenceSummary) -> dict[str, Any]:
    """A schema-like listing of the reference's features (for typing columns when reading)."""
    return {"features": [{"name": f.name, "kind": f.kind} for f in reference.features]}


def serving_frames(
    workspace: Workspace, schema: dict[str, Any], labels: list[str], *, batch_rows: int = 50_000
) -> Iterator[Any]:
    """The request log's rows as DataFrames of at most ``batch_rows`` (features as logged).

    For a capability that counts what was served (``analyze``'s slice shares):
    bounded memory, the same reading as ``skew``'s. An empty or missing log is
    the DataError :func:`current_files` raises.
    """
    files = current_files(workspace, (), None)
    for path in files.files:
        for batch in file_batches(path, schema, labels, batch_rows):
            yield batch.frame
