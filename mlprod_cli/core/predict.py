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
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.core.config import Config
from mlprod_cli.core.dataset import Findings, conform
from mlprod_cli.core.train import registry_for
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
    """DataFrames of at most about ``batch_rows`` rows from a CSV or Parquet file."""
    import pyarrow as pa

    suffix = path.suffix.lower()
    if not path.is_file():
        raise DataError(f"{path}: no such input file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    if suffix == ".csv":
        import pyarrow.csv as pacsv

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
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=1 << 23),
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
            )
            for batch in reader:
                if batch.num_rows:
                    yield batch.to_pandas()
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
                    yield batch.to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: cannot read it: {str(exc).splitlines()[0]}") from None
    else:
        raise UsageError(f"{path}: input must be .csv or .parquet, not {suffix or 'no extension'}")


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
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
        self.tmp = Path(name)
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
        with open(self.tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(self.tmp, self.target)

    def abort(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                self.writer.close()
        self.tmp.unlink(missing_ok=True)


def predict_file(
    config: Config,
    input_path: Path,
    output_path: Path,
    *,
    version_id: str | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: Callable[[int], None] | None = None,
) -> PredictResult:
    """Score every row of ``input_path`` with a registered version; write ``output_path``."""
    import time

    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from mlprod_cli.core.inference import predict_batch

    started = time.perf_counter()
    if input_path.resolve() == output_path.resolve():
        raise UsageError(
            f"--output {output_path}: is the input file; write the predictions elsewhere"
        )
    registry = registry_for(config)
    version = registry.resolve(version_id)
    estimator = registry.load(version)
    schema = version.metadata["schema"]
    labels = [str(c) for c in version.metadata.get("classes", getattr(estimator, "classes_", []))]
    passthrough = [c for c in config.data.exclude]
    writer = _Writer(output_path)
    result = PredictResult(str(input_path), str(output_path), version.id)
    findings = Findings()
    counts = np.zeros(len(labels), dtype=np.int64)
    try:
        for frame in read_batches(input_path, schema, batch_rows):
            X, found = conform(frame, schema, source=str(input_path), row_offset=result.rows)
            findings.add(found)
            y_pred, scores = predict_batch(estimator, X, labels)
            columns: dict[str, Any] = {
                c: frame[c].to_numpy() for c in passthrough if c in frame.columns
            }
            columns["prediction"] = y_pred
            if scores is not None:
                for j, label in enumerate(labels):
                    columns[f"score_{label}"] = scores[:, j]
            columns["model_version"] = np.full(len(frame), version.id)
            writer.write(pa.Table.from_pandas(pd.DataFrame(columns), preserve_index=False))
            counts += np.array([(y_pred == label).sum() for label in labels])
            result.rows += len(frame)
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
