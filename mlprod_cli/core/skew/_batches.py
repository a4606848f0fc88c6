"""Serving files as batches of rows, with what was served for them.

A :class:`Batch` is a pandas frame of serving rows and, where the file holds them,
the classes and scores served and the version that served each row.
:func:`file_batches` reads one file: CSV and Parquet (``mlprod predict``'s columns
``prediction``, ``score_<class>`` and ``model_version`` understood), and JSON Lines,
flat or in the request log's format (``{"features": {...}, "prediction", "scores"}``,
:mod:`mlprod_cli.core.request_log`). The readers are :mod:`mlprod_cli.adapters.tables`:
JSON Lines in blocks of about 16 MiB parsed by pyarrow (with Python's ``json`` as the
fallback that names the file and line of a bad one), CSV a chunk of lines at a time,
Parquet by row group, so memory does not grow with the rows.

For a regression (``numeric_prediction``) the served ``prediction`` is a number per
row, float64 with NaN where ``null`` was served; one that is text (or a boolean) is
a :class:`~mlprod_cli.errors.DataError` naming the file and the line (JSON Lines) or
the column (CSV, Parquet).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlprod_cli.adapters.tables import (
    ColumnTypeChanged,
    JsonLines,
    csv_batches,
    json_kind,
    parquet_batches,
)
from mlprod_cli.core.skew._values import parse_numbers
from mlprod_cli.errors import DataError

JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass
class Batch:
    """Serving rows: the features (and other columns), and what was served for them."""

    frame: Any  # pandas.DataFrame
    served: Any = None  # classes (a regression's float64 values) served (None: not in the data)
    scores: Any = None  # (n, len(labels)) floats, NaN where not logged (None: none at all)
    versions: Any = None  # model_version per row (None: not in the data)
    fired: Any = None  # the rules served per row: ids, "a,b" text or None (None: not in the data)


def file_batches(
    path: Path,
    schema: dict[str, Any],
    labels: list[str],
    batch_rows: int,
    *,
    numeric_prediction: bool = False,
) -> Iterator[Batch]:
    """The rows of one serving file in batches; ``schema`` types the features as read.

    A CSV number column holding text is read as text from there on: the report
    counts the values that are not numbers (a type change), it is no error.
    ``numeric_prediction``: the served predictions are a regression's numbers.
    """
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        yield from _JsonLinesBatches(path, schema, labels, numeric_prediction).batches()
        return
    if suffix == ".csv":
        numeric = [f["name"] for f in schema["features"] if f["kind"] == "numeric"]
        tables = csv_batches(path, numeric=numeric, batch_rows=batch_rows, numbers_as_text=True)
    else:
        tables = parquet_batches(path, batch_rows=batch_rows)
    for table in tables:
        yield _flat_batch(table.to_pandas(), labels, str(path) if numeric_prediction else None)


class _JsonLinesBatches:
    """One JSON Lines file as batches, in the log's format or flat.

    Each block is parsed by pyarrow with the features typed as the schema says: numbers
    as float64, categories and dates as text. A column that arrives otherwise (a category
    sent as numbers) is left to pyarrow's inference from then on; a column that mixes types
    within a block, or a line that is not JSON, sends the block to Python's ``json``, which
    either reads it or names the line.
    """

    def __init__(
        self, path: Path, schema: dict[str, Any], labels: list[str], numeric_prediction: bool
    ):
        self.reader = JsonLines(path)
        self.labels = labels
        self.numeric_prediction = numeric_prediction
        self.forced: dict[str, str] = {
            f["name"]: ("float64" if f["kind"] == "numeric" else "string")
            for f in schema["features"]
        }
        self.log_format: bool | None = None

    def batches(self) -> Iterator[Batch]:
        for block, first_line in self.reader.blocks():
            if self.log_format is None:
                self.log_format = self._is_log(block, first_line)
            batch = self._parse(block, first_line)
            if len(batch.frame):
                yield batch

    def _is_log(self, block: bytes, first_line: int) -> bool:
        for _, record in self.reader.objects(block, first_line):
            return isinstance(record.get("features"), dict)
        return False

    def _fields(self) -> dict[str, Any]:
        """What pyarrow is told of the fields: the features typed, in the log's format the
        other fields of a line as text (``scores`` inferred)."""
        if self.log_format:
            top = ("ts", "request_id", "model_version", "prediction")
            fields = {**dict.fromkeys(top, "string"), "features": dict(self.forced)}
            if self.numeric_prediction:  # text sent there: Python's json names the line
                fields["prediction"] = "float64"
            return fields
        return dict(self.forced)

    def _parse(self, block: bytes, first_line: int) -> Batch:
        while True:
            try:
                table = self.reader.table(block, self._fields())
            except ColumnTypeChanged as exc:
                prefix = "features/" if self.log_format else ""
                name = exc.path[len(prefix) :] if exc.path.startswith(prefix) else None
                if name is not None and name in self.forced:
                    del self.forced[name]  # not as the schema says: pyarrow infers it from now on
                    continue
                table = None
            if table is None:
                return self._parse_python(block, first_line)
            return self._from_arrow(table, block)

    def _from_arrow(self, table: Any, block: bytes) -> Batch:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        if self.log_format:
            names = table.column_names
            features = table.column("features").combine_chunks()
            # flatten(), not field(i): it applies the nulls of the struct (a null "features").
            names_in = [features.type.field(i).name for i in range(features.type.num_fields)]
            columns = dict(zip(names_in, features.flatten(), strict=True))
            frame_table = pa.table(self._present(columns, block))
            served = None
            if self.numeric_prediction:  # the log always has the field; null is NaN
                served = _float_column(table.column("prediction"))
            elif "prediction" in names and table.column("prediction").null_count < len(table):
                served = table.column("prediction").to_numpy(zero_copy_only=False)
            versions = (
                table.column("model_version").to_numpy(zero_copy_only=False)
                if "model_version" in names
                else None
            )
            scores = None
            if (
                "scores" in names
                and self.labels
                and pa.types.is_struct(table.column("scores").type)
            ):
                struct = table.column("scores").combine_chunks()
                fields = {
                    struct.type.field(i).name: child for i, child in enumerate(struct.flatten())
                }
                # As in _parse_python, only numbers are scores: text or booleans count as
                # not logged (casting "" to a float would fail).
                numeric = {
                    name: child
                    for name, child in fields.items()
                    if pa.types.is_integer(child.type) or pa.types.is_floating(child.type)
                }
                if any(label in fields for label in self.labels):
                    scores = np.column_stack(
                        [
                            pc.cast(numeric[label], pa.float64()).to_numpy(zero_copy_only=False)
                            if label in numeric
                            else np.full(len(table), np.nan)
                            for label in self.labels
                        ]
                    )
            fired = None
            if "rules" in names and table.column("rules").null_count < len(table):
                fired = table.column("rules").to_pylist()
            return Batch(frame_table.to_pandas(), served, scores, versions, fired)
        columns = {name: table.column(name) for name in table.column_names}
        return _flat_batch(
            pa.table(self._present(columns, block)).to_pandas(), self.labels, self._numbers_in()
        )

    def _present(self, columns: dict[str, Any], block: bytes) -> dict[str, Any]:
        """Drop the typed feature columns that no line of the block has at all.

        pyarrow gives every field of an explicit schema, present or not; an all-null
        column is kept only when its name is in the block (then it was sent as null).
        """
        out = {}
        for name, column in columns.items():
            if (
                name in self.forced
                and column.null_count == len(column)
                and json.dumps(name).encode("utf-8") not in block
            ):
                continue
            out[name] = column
        return out

    def _parse_python(self, block: bytes, first_line: int) -> Batch:
        import numpy as np
        import pandas as pd

        records, numbers = [], []
        for number, record in self.reader.objects(block, first_line):
            features = record.get("features")
            if self.log_format and features is not None and not isinstance(features, dict):
                raise DataError(
                    f"{self.reader.where(number)}: 'features' is not a JSON object but {json_kind(features)}"
                )
            records.append(record)
            numbers.append(number)
        if not self.log_format:
            return _flat_batch(pd.DataFrame.from_records(records), self.labels, self._numbers_in())
        frame = pd.DataFrame.from_records([r.get("features") or {} for r in records])
        served = np.asarray([r.get("prediction") for r in records], dtype=object)
        versions = np.asarray([r.get("model_version") for r in records], dtype=object)
        if self.numeric_prediction:
            served = self._numbers(records, numbers)
        elif all(r.get("prediction") is None for r in records):
            served = None
        scores = None
        if self.labels and any(isinstance(r.get("scores"), dict) for r in records):
            scores = np.full((len(records), len(self.labels)), np.nan)
            for i, record in enumerate(records):
                row = record.get("scores")
                if isinstance(row, dict):
                    for j, label in enumerate(self.labels):
                        value = row.get(label)
                        if isinstance(value, (int, float)) and not isinstance(value, bool):
                            scores[i, j] = value
        fired = None
        if any(isinstance(r.get("rules"), list) for r in records):
            fired = [_ids(r.get("rules")) for r in records]
        return Batch(frame, served, scores, versions, fired)

    def _numbers_in(self) -> str | None:
        """The file's name when its predictions are a regression's numbers (for _flat_batch)."""
        return str(self.reader.path) if self.numeric_prediction else None

    def _numbers(self, records: list[dict[str, Any]], numbers: list[int]) -> Any:
        """A regression's served values, NaN for null; text or a boolean names its line."""
        import numpy as np

        values = np.full(len(records), np.nan)
        for i, record in enumerate(records):
            value = record.get("prediction")
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise DataError(
                    f"{self.reader.where(numbers[i])}: 'prediction' is {json_kind(value)} ({_shown(value)}), but a regression serves numbers"
                )
            values[i] = float(value)
        return values


def _float_column(column: Any) -> Any:
    """An Arrow float64 column as a numpy array, NaN for null."""
    import numpy as np

    return column.to_numpy(zero_copy_only=False).astype(np.float64)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:39] + "…"


def _flat_batch(frame: Any, labels: list[str], numbers_in: str | None = None) -> Batch:
    """A table whose columns are features, and maybe ``prediction``, ``score_<class>``,
    ``model_version`` (``mlprod predict``'s names). ``numbers_in``: the file's name when
    the predictions are a regression's numbers (text in them is an error naming it)."""
    import numpy as np

    served = None
    if numbers_in is not None and "prediction" in frame.columns:
        import pandas as pd

        column = frame["prediction"]
        if pd.api.types.is_bool_dtype(column):
            raise DataError(
                f"{numbers_in}: the column 'prediction' holds booleans, but a regression serves numbers"
            )
        parsed = parse_numbers(column)
        if parsed.invalid:
            raise DataError(
                f"{numbers_in}: the column 'prediction' holds {parsed.invalid:,} text value{'s' if parsed.invalid > 1 else ''} (e.g. {parsed.examples[0]!r}), but a regression serves numbers"
            )
        served = parsed.values
    elif "prediction" in frame.columns and frame["prediction"].notna().any():
        served = frame["prediction"].to_numpy(dtype=object)
    versions = (
        frame["model_version"].to_numpy(dtype=object) if "model_version" in frame.columns else None
    )
    scores = None
    columns = [f"score_{label}" for label in labels]
    if served is not None and labels and all(c in frame.columns for c in columns):
        import pandas as pd

        scores = np.column_stack(
            [pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=np.float64) for c in columns]
        )
    fired = None
    if served is not None and "rules" in frame.columns:  # predict's "a,b" text, "" for none
        fired = [v if isinstance(v, str) else None for v in frame["rules"].tolist()]
    return Batch(frame, served, scores, versions, fired)


def _ids(value: Any) -> list[str] | None:
    """A line's ``rules``: its ids as text (a line without the field: None)."""
    if not isinstance(value, list):
        return None
    return [str(v) for v in value]
