"""``mlprod predict``: offline (batch) predictions from a file to a file.

The input is read in batches (:mod:`mlprod_cli.adapters.tables`: CSV a chunk
of lines at a time, Parquet by row group), so memory stays bounded whatever its
size. Each batch is checked against the training schema: a missing feature or a
number column holding text stops the run with the column named; unseen
categories and values out of the training range are counted and reported. The output (CSV or Parquet,
by its extension) holds the input's identifier columns (``data.exclude``),
the predicted class, a score per class and the model version. When the
version has rules (:func:`~mlprod_cli.core.predict.version_rules`), they are
applied to each batch: the class becomes the rules' answer (null when they
abstain), the scores are the masked ones, and two columns follow them:
``rules`` (the ids of the rules that fired, joined with ``,``) and
``abstained``. A rule reads its fields from the batch's columns (a field the
input lacks is null). It is written
to a temporary file beside the target and renamed at the end, so the target
holds the old file or the whole new one, never a truncated one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.adapters.files import temp_beside, writing
from mlprod_cli.adapters.tables import (
    BATCH_ROWS,
    check_regular,
    prefetch,
    table_batches,
    unusable_kind,
)
from mlprod_cli.core.dataset import Findings, conform, require_features
from mlprod_cli.core.predict._inference import predict_batch, predict_quantiles
from mlprod_cli.core.predict._rules import version_rules
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import DataError, UsageError

OUTPUT_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass
class PredictResult:
    input: str
    output: str
    version: str
    rows: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # A regression's predictions: {"min", "mean", "max"}; None (and not shown) for classes.
    values: dict[str, float] | None = None
    # With rules: {"file", "sha256", "from_file", "policy", "fired": {id: rows},
    # "abstained": rows, "errors": {id: rows}}; None (and not shown) without.
    rules: dict[str, Any] | None = None


def read_batches(path: Path, schema: dict[str, Any], batch_rows: int = BATCH_ROWS) -> Iterator[Any]:
    """Arrow record batches of at most ``batch_rows`` rows from a CSV or Parquet file.

    The schema's numeric features are read as numbers, every other column as text
    (identifiers keep their leading zeros); a number column holding text stops
    the read with the column and the value named.
    """
    check_regular(path, f"{path}: no such input file")
    numeric = [f["name"] for f in schema["features"] if f["kind"] == "numeric"]
    yield from table_batches(path, numeric=numeric, batch_rows=batch_rows)


class _Spread:
    """The smallest, mean and largest prediction of a regression, batch by batch."""

    def __init__(self) -> None:
        self.rows = 0
        self.total = 0.0
        self.low = float("inf")
        self.high = float("-inf")

    def add(self, values: Any) -> None:
        if len(values):
            self.rows += len(values)
            self.total += float(values.sum())
            self.low = min(self.low, float(values.min()))
            self.high = max(self.high, float(values.max()))

    def summary(self) -> dict[str, float] | None:
        if not self.rows:
            return None
        return {"min": self.low, "mean": self.total / self.rows, "max": self.high}


class _Writer:
    """Writes batches to a temporary file beside ``target``; ``commit`` renames it into place."""

    def __init__(self, target: Path):
        self.target = target
        suffix = target.suffix.lower()
        if suffix not in OUTPUT_SUFFIXES:
            raise UsageError(f"--output {target}: must end in .csv or .parquet")
        if target.exists() and target.is_dir():
            raise UsageError(f"--output {target}: is a folder")
        if not target.parent.is_dir():
            raise UsageError(f"--output {target}: folder {target.parent} does not exist")
        # Held open (and locked) until commit or abort: see core/files.py.
        with writing(target):  # a full disk, a read-only folder: exit 2 naming the output
            self.fd, self.tmp = temp_beside(target)
        self.parquet = suffix != ".csv"
        self.writer = None

    def write(self, table: Any) -> None:
        with writing(self.target):
            self._write(table)

    def _write(self, table: Any) -> None:
        if self.writer is None:
            if self.parquet:
                import pyarrow.parquet as pq

                self.writer = pq.ParquetWriter(self.tmp, table.schema)
            else:
                import pyarrow.csv as pacsv

                self.writer = pacsv.CSVWriter(self.tmp, table.schema)
        self.writer.write_table(table)

    def commit(self) -> None:
        with writing(self.target):
            if self.writer is not None:
                self.writer.close()
            os.fsync(self.fd)
            os.replace(self.tmp, self.target)
        os.close(self.fd)
        self.fd = -1

    def abort(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
        self.tmp.unlink(missing_ok=True)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _codes(y_pred: Any, sorted_labels: Any, order: Any) -> Any | None:
    """Index of each prediction in the label list, or None if one is not a known label."""
    import numpy as np

    pos = np.clip(np.searchsorted(sorted_labels, y_pred), 0, len(sorted_labels) - 1)
    if not np.array_equal(sorted_labels[pos], y_pred):
        return None
    return order[pos]


class _RulesTally:
    """Applies a version's rules to each batch and counts, per rule, the rows it fired on."""

    def __init__(self, ruleset: Any, config: Any, *, from_file: bool):
        self.ruleset = ruleset
        self.config = config
        self.from_file = from_file
        self.fired = dict.fromkeys(ruleset.ids, 0)
        self.errors = dict.fromkeys(ruleset.ids, 0)
        self.abstained = 0

    def apply(self, batch: Any, y_pred: Any, scores: Any) -> Any:
        from mlprod_cli.core.rules import apply_rules

        names = set(batch.schema.names)
        columns = {
            name: batch.column(name).to_numpy(zero_copy_only=False)
            for name in self.ruleset.variables
            if name in names
        }
        outcome = apply_rules(self.ruleset, columns, y_pred, scores)
        for ids in outcome.fired:
            for rule_id in ids:
                self.fired[rule_id] += 1
        for rule_id, n in outcome.errors.items():
            self.errors[rule_id] += n
        self.abstained += sum(outcome.abstained)
        return outcome

    def summary(self) -> dict[str, Any]:
        path = self.ruleset.path
        with contextlib.suppress(ValueError):
            path = path.relative_to(self.config.root)
        return {
            "file": path.as_posix(),
            "sha256": self.ruleset.sha256,
            "from_file": self.from_file,
            "policy": self.ruleset.policy,
            "fired": dict(self.fired),
            "abstained": self.abstained,
            "errors": {k: n for k, n in self.errors.items() if n},
        }

    def warnings(self) -> list[str]:
        from mlprod_cli.core.words import plural

        return [
            f"rule '{rule_id}': its condition could not be evaluated on {plural(n, 'row')} "
            "(a missing value?); it did not fire there"
            for rule_id, n in self.errors.items()
            if n
        ]


def predict_file(
    workspace: Workspace,
    input_path: Path,
    output_path: Path,
    *,
    version_id: str | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int], None] | None = None,
    rules_from_file: bool = False,
) -> PredictResult:
    """Score every row of ``input_path`` with a registered version; write ``output_path``.

    Reading runs one batch ahead in a thread (pyarrow parses without the GIL)
    while the model scores the current batch; the output is built as Arrow
    columns straight from the input and the model's arrays, with no pandas
    round trip for the identifier columns. ``rules_from_file``: apply the
    project's rules file as it is now, even when it differs from the version's.
    """
    import time

    import numpy as np
    import pyarrow as pa

    started = time.perf_counter()
    check_regular(input_path, f"{input_path}: no such input file")  # before resolve(): a loop
    if input_path.resolve() == output_path.resolve():
        raise UsageError(
            f"--output {output_path}: is the input file; write the predictions elsewhere"
        )
    config = workspace.config
    registry = workspace.registry
    version = registry.resolve(version_id)
    estimator = registry.load(version)
    schema = version.metadata["schema"]
    features = [f["name"] for f in schema["features"]]
    regression = version.metadata.get("task") == "regression"
    labels = [str(c) for c in version.metadata.get("classes", getattr(estimator, "classes_", []))]
    spread = _Spread()
    ruleset = version_rules(workspace, version, from_file=rules_from_file)  # before any write
    tally = _RulesTally(ruleset, config, from_file=rules_from_file) if ruleset else None
    writer = _Writer(output_path)
    result = PredictResult(str(input_path), str(output_path), version.id)
    findings = Findings()
    counts = np.zeros(len(labels), dtype=np.int64)
    label_array = pa.array(labels, type=pa.string())
    order = np.argsort(np.asarray(labels))
    sorted_labels = np.asarray(labels)[order]
    try:
        for batch in prefetch(read_batches(input_path, schema, batch_rows)):
            names = batch.schema.names
            require_features(names, schema, str(input_path))  # before select() fails on it
            if len(set(names)) != len(names):
                twice = next(n for i, n in enumerate(names) if n in names[:i])
                raise DataError(f"{input_path}: column '{twice}' appears more than once")
            for name in features:
                kind = unusable_kind(batch.schema.field(name).type)
                if kind is not None:  # pandas would make b"x" the category "b'x'"
                    raise DataError(
                        f"{input_path}: column '{name}' holds {kind}, which mlprod cannot use "
                        "as a feature"
                    )
            frame = batch.select(features).to_pandas()
            X, found = conform(frame, schema, source=str(input_path), row_offset=result.rows)
            findings.add(found)
            try:
                if regression:
                    y_pred, scores = predict_batch(estimator, X, [])
                    quantiles = predict_quantiles(estimator, X)
                else:
                    y_pred, scores = predict_batch(estimator, X, labels)
            except Exception as exc:  # the project's estimator refusing these rows
                text = str(exc).strip()
                raise DataError(
                    f"{input_path}: {version.id} cannot score rows {result.rows + 1}-"
                    f"{result.rows + len(X)}: {type(exc).__name__}: "
                    f"{text.splitlines()[0] if text else ''}"
                ) from None
            columns = {name: batch.column(name) for name in config.data.exclude if name in names}
            if regression:
                codes = None
                columns["prediction"] = pa.array(y_pred, type=pa.float64())
                for q, values in (quantiles or {}).items():
                    columns[f"prediction_q{round(q * 100)}"] = pa.array(values, type=pa.float64())
                spread.add(y_pred)
            elif tally is not None:
                outcome = tally.apply(batch, y_pred, scores)
                answered = ~np.asarray(outcome.abstained, dtype=bool)
                given = np.asarray([p for p in outcome.prediction if p is not None], dtype=str)
                codes = _codes(given, sorted_labels, order)
                if codes is not None:
                    every = np.zeros(len(answered), dtype=np.int64)
                    every[answered] = codes
                    columns["prediction"] = label_array.take(pa.array(every, mask=~answered))
                else:
                    columns["prediction"] = pa.array(outcome.prediction, type=pa.string())
                scores = outcome.scores
            else:
                codes = _codes(y_pred, sorted_labels, order)
                columns["prediction"] = (
                    label_array.take(pa.array(codes)) if codes is not None else pa.array(y_pred)
                )
            if scores is not None:
                for j, label in enumerate(labels):
                    columns[f"score_{label}"] = pa.array(scores[:, j])
            if tally is not None:
                columns["rules"] = pa.array([",".join(f) for f in outcome.fired], type=pa.string())
                columns["abstained"] = pa.array(outcome.abstained, type=pa.bool_())
            columns["model_version"] = pa.repeat(pa.scalar(version.id), batch.num_rows)
            writer.write(pa.table(columns))
            if codes is not None:
                counts += np.bincount(codes, minlength=len(labels))
            result.rows += batch.num_rows
            if progress is not None:
                progress(result.rows)
        if result.rows == 0:
            raise DataError(f"{input_path}: no rows")
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    result.classes = {label: int(n) for label, n in zip(labels, counts, strict=True)}
    if regression:
        result.values = spread.summary()
    result.warnings = findings.warnings()
    if tally is not None:
        result.rules = tally.summary()
        result.warnings += tally.warnings()
    result.seconds = time.perf_counter() - started
    return result
