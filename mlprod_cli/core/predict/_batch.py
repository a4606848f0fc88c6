"""``mlprod predict``: offline (batch) predictions from a file to a file.

The input is read in batches (pyarrow's streaming CSV reader, or Parquet row
groups), so memory stays bounded whatever its size. Each batch is checked
against the training schema: a missing feature or a number column holding
text stops the run with the column named; unseen categories and values out
of the training range are counted and reported. The output (CSV or Parquet,
by its extension) holds the input's identifier columns (``data.exclude``),
the predicted class, a score per class and the model version. It is written
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

from mlprod_cli.adapters.files import temp_beside
from mlprod_cli.adapters.tables import prefetch
from mlprod_cli.core.dataset import Findings, conform, require_features
from mlprod_cli.core.predict._inference import predict_batch
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import DataError, UsageError

BATCH_ROWS = 131_072
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


def _schema_types(schema: dict[str, Any]):
    import pyarrow as pa

    types = {}
    for feature in schema["features"]:
        if feature["kind"] == "numeric":
            types[feature["name"]] = pa.float64()
        elif feature["kind"] == "categorical":
            types[feature["name"]] = pa.string()
    return types


def _arrow_error(path: Path, exc: Exception) -> DataError:
    """pyarrow says ``In CSV column #3: CSV conversion error to double: invalid value 'x'``."""
    import re

    text = str(exc).splitlines()[0]
    match = re.search(
        r"column #(\d+): CSV conversion error to (\w+): invalid value '([^']*)'", text
    )
    if match:
        return DataError(
            f"{path}: column #{int(match.group(1)) + 1} must be numeric, a row holds {match.group(3)!r}"
        )
    return DataError(f"{path}: cannot read it: {text}")


def read_batches(path: Path, schema: dict[str, Any], batch_rows: int = BATCH_ROWS) -> Iterator[Any]:
    """Arrow record batches of at most about ``batch_rows`` rows from a CSV or Parquet file."""
    import pyarrow as pa

    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataError(f"{path}: no such input file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    if suffix == ".csv":
        with path.open("rb") as handle:
            header = handle.readline()
        names = [
            n.strip().strip('"')
            for n in header.decode("utf-8", "replace").rstrip("\r\n").split(",")
        ]
        types = {name: t for name, t in _schema_types(schema).items() if name in names}
        # Every other column is read as text: identifiers keep their leading zeros.
        types.update({name: pa.string() for name in names if name not in types})
        try:
            yield from _csv_chunks(path, types, batch_rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            name = _column_from(exc, names)
            if name:
                raise DataError(
                    f"{path}: column '{name}' must be numeric: {_value_from(exc)}"
                ) from None
            raise _arrow_error(path, exc) from None
    elif suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            parquet = pq.ParquetFile(path)
            for batch in parquet.iter_batches(batch_size=batch_rows):
                if batch.num_rows:
                    yield batch
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: cannot read it: {str(exc).splitlines()[0]}") from None
    else:
        raise UsageError(f"{path}: input must be .csv or .parquet, not {suffix or 'no extension'}")


def _csv_chunks(
    path: Path, types: dict[str, Any], batch_rows: int, chunk_bytes: int = 1 << 24
) -> Iterator[Any]:
    """Record batches of a CSV file, parsed a chunk of whole lines at a time.

    pyarrow's streaming reader reads ahead of its consumer without a bound
    (hundreds of MB on a large file, outside its memory pool), so the file is
    cut here instead: about ``chunk_bytes`` of whole lines, each parsed on
    every core by ``read_csv``. Like pyarrow's reader, this assumes no line
    breaks inside quoted values.
    """
    import io

    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
    with path.open("rb") as handle:
        header = handle.readline()
        while True:
            block = handle.read(chunk_bytes)
            if not block:
                return
            block += handle.readline()  # finish the last line of the chunk
            table = pacsv.read_csv(io.BytesIO(header + block), convert_options=convert)
            del block
            # Parsed in parallel blocks of about 1 MB: joined so that each batch handed to
            # the model holds up to batch_rows rows (a call costs the same for 1 row or 10k).
            yield from table.combine_chunks().to_batches(max_chunksize=batch_rows)


def _column_from(exc: Exception, names: list[str]) -> str | None:
    import re

    match = re.search(r"column #(\d+)", str(exc))
    if match and int(match.group(1)) < len(names):
        return names[int(match.group(1))]
    return None


def _value_from(exc: Exception) -> str:
    import re

    match = re.search(r"invalid value '([^']*)'", str(exc))
    return f"a row holds {match.group(1)!r}" if match else str(exc).splitlines()[0]


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
        self.fd, self.tmp = temp_beside(target)
        self.parquet = suffix != ".csv"
        self.writer = None

    def write(self, table: Any) -> None:
        if self.writer is None:
            if self.parquet:
                import pyarrow.parquet as pq

                self.writer = pq.ParquetWriter(self.tmp, table.schema)
            else:
                import pyarrow.csv as pacsv

                self.writer = pacsv.CSVWriter(self.tmp, table.schema)
        self.writer.write_table(table)

    def commit(self) -> None:
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


def predict_file(
    workspace: Workspace,
    input_path: Path,
    output_path: Path,
    *,
    version_id: str | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int], None] | None = None,
) -> PredictResult:
    """Score every row of ``input_path`` with a registered version; write ``output_path``.

    Reading runs one batch ahead in a thread (pyarrow parses without the GIL)
    while the model scores the current batch; the output is built as Arrow
    columns straight from the input and the model's arrays, with no pandas
    round trip for the identifier columns.
    """
    import time

    import numpy as np
    import pyarrow as pa

    started = time.perf_counter()
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
    labels = [str(c) for c in version.metadata.get("classes", getattr(estimator, "classes_", []))]
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
            frame = batch.select(features).to_pandas()
            X, found = conform(frame, schema, source=str(input_path), row_offset=result.rows)
            findings.add(found)
            try:
                y_pred, scores = predict_batch(estimator, X, labels)
            except Exception as exc:  # the project's estimator refusing these rows
                text = str(exc).strip()
                raise DataError(
                    f"{input_path}: {version.id} cannot score rows {result.rows + 1}-"
                    f"{result.rows + len(X)}: {type(exc).__name__}: "
                    f"{text.splitlines()[0] if text else ''}"
                ) from None
            codes = _codes(y_pred, sorted_labels, order)
            columns = {name: batch.column(name) for name in config.data.exclude if name in names}
            columns["prediction"] = (
                label_array.take(pa.array(codes)) if codes is not None else pa.array(y_pred)
            )
            if scores is not None:
                for j, label in enumerate(labels):
                    columns[f"score_{label}"] = pa.array(scores[:, j])
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
    result.warnings = findings.warnings()
    result.seconds = time.perf_counter() - started
    return result
