"""A table profiled in one streaming pass: each column's kind, missing share and cardinality.

``mlprod new --data FILE`` decides a project from this. The file is read in
Arrow batches (CSV by pyarrow's streaming reader with every column as text,
Parquet by row group), so memory is bounded whatever the file's size: per
column it keeps counters, at most :data:`DISTINCT_CAP` distinct values (enough
to tell a category from an identifier), exact value counts while a column has
at most :data:`COUNTS_CAP` values, and a uniform sample of
:data:`SAMPLE_SIZE` dates (for the cutoff of a split by time).

CSV text is typed here rather than by pyarrow's inference, which looks at the
first block only and fails on a later block that does not fit: a column is
numeric when every present value is a number, a date when every one is an
ISO date or datetime, boolean when it holds only true/false words.
"""

from __future__ import annotations

import csv
import functools
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.adapters.tables import check_regular
from mlprod_cli.errors import DataError

DISTINCT_CAP = 10_000
"""Distinct values remembered per column; a column with more is high-cardinality."""
COUNTS_CAP = 50
"""Value counts are kept exactly while a column has at most this many distinct values."""
SAMPLE_SIZE = 100_000
"""Dates sampled (uniformly, Algorithm R) per date column, for quantiles."""
BLOCK_BYTES = 4 << 20  # a block parsed per column; ~0.4 GiB peak whatever the file size
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")

# Kinds of column, as decided from what was seen.
NUMERIC = "numeric"
CATEGORICAL = "categorical"
BOOLEAN = "boolean"
DATETIME = "datetime"
IDENTIFIER = "identifier"
TEXT = "text"
EMPTY = "empty"
CONSTANT = "constant"
UNSUPPORTED = "unsupported"

_DATE = (
    r"^\d{4}(-\d{2}-\d{2}|/\d{2}/\d{2})([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$"
)
_BOOLEAN_WORDS = {"true", "false", "yes", "no", "t", "f", "y", "n"}
_ID_NAME = re.compile(r"(^|[_\W])(id|key|uuid|guid)$|^id[_\W]|Id$|ID$", re.IGNORECASE)


@dataclass
class ColumnProfile:
    """What one pass over a column saw, and the kind it is taken for."""

    name: str
    rows: int = 0
    missing: int = 0
    infinite: int = 0  # values that are +-inf (numbers, but no target can be one)
    kind: str = EMPTY
    distinct: int = 0  # exact up to DISTINCT_CAP
    distinct_capped: bool = False  # more than DISTINCT_CAP distinct values
    counts: dict[str, int] | None = None  # value -> rows, when distinct <= COUNTS_CAP
    minimum: float | str | None = None
    maximum: float | str | None = None
    integers: bool = False  # every number is whole
    mean_length: float = 0.0  # text: characters per value
    spaces: float = 0.0  # text: share of values with a space
    examples: list[str] = field(default_factory=list)
    reason: str = ""  # why the kind was decided so, in a few words
    # A uniform sample of (ISO day, target value) pairs, sorted by day: for a split by time.
    dates: list[tuple[str, Any]] = field(default_factory=list, repr=False)

    @property
    def present(self) -> int:
        return self.rows - self.missing

    @property
    def missing_share(self) -> float:
        return self.missing / self.rows if self.rows else 0.0

    def describe_distinct(self) -> str:
        return f">{DISTINCT_CAP:,}" if self.distinct_capped else f"{self.distinct:,}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "missing": self.missing,
            "missing_share": round(self.missing_share, 6),
            "distinct": self.distinct,
            "distinct_capped": self.distinct_capped,
            "min": self.minimum,
            "max": self.maximum,
            "counts": self.counts,
            "examples": self.examples,
            "reason": self.reason,
        }


@dataclass
class Profile:
    """The whole table: its rows and every column's profile, in file order."""

    path: Path
    rows: int
    columns: list[ColumnProfile]
    seconds: float = 0.0

    def column(self, name: str) -> ColumnProfile:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "rows": self.rows,
            "seconds": round(self.seconds, 3),
            "columns": [c.to_dict() for c in self.columns],
        }


class _Column:
    """The running state of one column (see :class:`ColumnProfile` for what it becomes)."""

    def __init__(self, name: str, seed: int):
        self.name = name
        self.rows = 0
        self.missing = 0
        self.present = 0
        self.numbers = 0
        self.infinite = 0  # numbers that are +-inf (a float column counts them as missing)
        self.whole = 0
        self.date_like = 0
        self.bools = 0
        self.length = 0
        self.with_space = 0
        self.low: float | None = None
        self.high: float | None = None
        self.seen: set[str] | None = set()
        self.duplicates = False  # a value repeated while the distinct set was still exact
        self.counts: Counter[str] | None = Counter()
        self.examples: list[str] = []
        self.native: str | None = None  # the Arrow kind of a Parquet column
        self.sample_days: Any = None  # numpy arrays of the sampled days and their labels
        self.sample_labels: Any = None
        self.sampled = 0
        self.seed = seed

    # ------------------------------------------------------------------ adding a batch

    def add_text(self, array: Any, labels: Any = None) -> None:
        """A batch of this column as Arrow text (nulls are the missing values).

        ``labels``: the target's values on the same rows, sampled with the dates.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        self.rows += len(array)
        if pa.types.is_large_string(array.type):
            array = array.cast(pa.string())
        if self.numbers == self.present and self._numeric_batch(array):
            return
        trimmed = pc.utf8_trim_whitespace(array)
        keep = pc.fill_null(pc.not_equal(trimmed, ""), False)  # whitespace only: missing
        n = pc.sum(keep).as_py() or 0
        self.missing += len(array) - n
        if n == 0:
            return
        values = pc.filter(array, keep)
        stripped = pc.filter(trimmed, keep)
        if labels is not None:
            labels = pc.filter(labels, keep)
        before = self.present
        self.present += n
        # A kind stays possible only while every value so far fits it; once one does
        # not, its check stops (most columns show what they are in their first batch).
        if self.numbers == before:
            try:  # every value a number: one cast, no regex
                parsed = pc.cast(stripped, pa.float64())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                parsed = None
            if parsed is not None:
                self.numbers += n
                self.infinite += pc.sum(pc.is_inf(parsed)).as_py() or 0
                self._extend_range(pc.min(parsed).as_py(), pc.max(parsed).as_py())
                self.whole += pc.sum(pc.equal(pc.floor(parsed), parsed)).as_py() or 0
        if self.date_like == before:
            is_date = pc.match_substring_regex(stripped, _DATE)
            dates = pc.sum(is_date).as_py() or 0
            self.date_like += dates
            if dates == n:
                days = pc.utf8_slice_codeunits(stripped, 0, 10)
                days = pc.replace_substring(days, "/", "-")  # 2012/01/31 is 2012-01-31
                self._sample_dates(days, labels)
        if self.bools == before:
            lowered = pc.utf8_lower(stripped)
            self.bools += pc.sum(pc.is_in(lowered, _boolean_words())).as_py() or 0
        if self.numbers < self.present:  # text: how long, and whether it reads as prose
            self.length += pc.sum(pc.utf8_length(values)).as_py() or 0
            self.with_space += pc.sum(pc.match_substring(stripped, " ")).as_py() or 0
        self._distinct(stripped)

    def _numeric_batch(self, array: Any) -> bool:
        """The fast path of a column of numbers: one cast of the present values, no text work.

        False (nothing counted) when a value is not a number as it stands, such as
        a blank or a word: the general path then looks at the batch.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        values = array.drop_null()
        if len(values) == 0:
            return False
        try:
            parsed = pc.cast(values, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        n = len(values)
        self.missing += len(array) - n
        self.present += n
        self.numbers += n
        self.infinite += pc.sum(pc.is_inf(parsed)).as_py() or 0
        bounds = pc.min_max(parsed).as_py()
        self._extend_range(bounds["min"], bounds["max"])
        self.whole += pc.sum(pc.equal(pc.floor(parsed), parsed)).as_py() or 0
        if self.date_like == self.present - n:
            self.date_like = -1  # numbers are not dates
        if (
            self.bools == self.present - n
            and not pc.all(pc.is_in(values, _boolean_words())).as_py()
        ):
            self.bools = -1
        self._distinct(values)
        return True

    def add_native(self, array: Any, labels: Any = None) -> None:
        """A batch of a column typed by the file (Parquet) or the reader (a typed CSV pass)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        kind = array.type
        if pa.types.is_null(kind):  # a CSV block with nothing in this column
            self.rows += len(array)
            self.missing += len(array)
            return
        if pa.types.is_dictionary(kind):
            array = array.cast(kind.value_type)
            kind = array.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            self.add_text(array, labels)
            return
        self.rows += len(array)
        keep = pc.is_valid(array)
        if pa.types.is_floating(kind):
            keep = pc.and_(keep, pc.fill_null(pc.is_finite(array), False))  # NaN: missing
            self.infinite += pc.sum(pc.is_inf(array)).as_py() or 0
        values = pc.filter(array, keep)
        if labels is not None:
            labels = pc.filter(labels, keep)
        n = len(values)
        self.missing += len(array) - n
        if pa.types.is_boolean(kind):
            self.native = BOOLEAN
        elif pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            self.native = NUMERIC
            if n:
                self._extend_range(float(pc.min(values).as_py()), float(pc.max(values).as_py()))
                if pa.types.is_integer(kind):
                    self.whole += n
                else:
                    floats = values.cast(pa.float64())
                    self.whole += pc.sum(pc.equal(pc.floor(floats), floats)).as_py() or 0
        elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            self.native = DATETIME
            if n:
                # Days, not instants; only the sampled ones are ever turned into text.
                days = values if pa.types.is_date(kind) else pc.cast(values, pa.date32())
                self._sample_dates(days, labels)
        else:
            self.native = UNSUPPORTED
            self.unsupported_type = str(kind)
            return
        self.present += n
        if n:
            self._distinct(values.cast(pa.string()))

    # ------------------------------------------------------------------ helpers

    def _extend_range(self, low: float, high: float) -> None:
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)

    def _distinct(self, values: Any) -> None:
        """Distinct values (exact up to the cap), duplicates, value counts while few."""
        import pyarrow.compute as pc

        if self.seen is None and self.counts is None:
            return
        unique = pc.unique(values)
        if len(unique) < len(values):
            self.duplicates = True
        if len(self.examples) < 5:
            self.examples += unique.slice(0, 5 - len(self.examples)).to_pylist()
        if self.counts is not None:
            if len(self.counts) + len(unique) > COUNTS_CAP and len(unique) > COUNTS_CAP:
                self.counts = None  # many values: no counts kept (nor paid for)
            else:
                counted = pc.value_counts(values)
                for item in counted.to_pylist():
                    self.counts[item["values"]] += item["counts"]
                if len(self.counts) > COUNTS_CAP:
                    self.counts = None
        if self.seen is not None:
            if len(self.seen) + len(unique) > DISTINCT_CAP and len(unique) > DISTINCT_CAP:
                self.capped = True  # more distinct values than kept, from this batch alone
                self.seen = None
                return
            before = len(self.seen)
            batch = unique.to_pylist()
            self.seen.update(batch)
            if len(self.seen) < before + len(batch):
                self.duplicates = True
            if len(self.seen) > DISTINCT_CAP:
                self.capped = True
                self.seen = None

    def _sample_dates(self, days: Any, labels: Any) -> None:
        """Keep a uniform sample of (day, label) pairs: Algorithm R, vectorised per batch.

        Item ``t`` (counting from 1) replaces a random slot with probability
        ``SAMPLE_SIZE / t``; assigning the batch's winners in order (a later one
        overwrites an earlier one in the same slot) is the sequential algorithm.
        Only the winners become Python values.
        """
        import numpy as np
        import pyarrow as pa

        def values(array: Any, index: Any = None) -> Any:
            if array is None:
                return np.full(len(index) if index is not None else len(days), None, dtype=object)
            if index is not None:
                array = array.take(pa.array(index))
            if pa.types.is_date(array.type):
                array = array.cast(pa.string())  # ISO days
            return np.asarray(array.to_pylist(), dtype=object)

        if self.sample_days is None:
            self.rng = np.random.default_rng(self.seed)
            self.sample_days = np.empty(0, dtype=object)
            self.sample_labels = np.empty(0, dtype=object)
        room = SAMPLE_SIZE - len(self.sample_days)
        start = 0
        if room > 0:
            head = min(room, len(days))
            self.sample_days = np.concatenate([self.sample_days, values(days.slice(0, head))])
            self.sample_labels = np.concatenate(
                [
                    self.sample_labels,
                    values(
                        None if labels is None else labels.slice(0, head),
                        np.arange(head) if labels is None else None,
                    ),
                ]
            )
            self.sampled += head
            start = head
        rest = len(days) - start
        if rest <= 0:
            return
        t = self.sampled + np.arange(1, rest + 1)
        slots = (self.rng.random(rest) * t).astype(np.int64)
        winners = np.flatnonzero(slots < SAMPLE_SIZE)
        if len(winners):
            index = winners + start
            self.sample_days[slots[winners]] = values(days, index)
            self.sample_labels[slots[winners]] = values(labels, index)
        self.sampled += rest

    # ------------------------------------------------------------------ deciding the kind

    def result(self) -> ColumnProfile:
        capped = getattr(self, "capped", False)
        distinct = DISTINCT_CAP if capped else len(self.seen or ())
        out = ColumnProfile(
            name=self.name,
            rows=self.rows,
            missing=self.missing,
            infinite=self.infinite,
            distinct=distinct,
            distinct_capped=capped,
            counts=dict(self.counts.most_common()) if self.counts is not None else None,
            examples=[str(e) for e in self.examples],
            integers=self.present > 0 and self.whole == self.present,
        )
        if self.present:
            out.mean_length = self.length / self.present
            out.spaces = self.with_space / self.present
        out.kind, out.reason = self._kind(out)
        if out.kind in (NUMERIC,) and self.low is not None:
            out.minimum, out.maximum = self.low, self.high
        if out.kind == DATETIME and self.sample_days is not None and len(self.sample_days):
            pairs = zip(self.sample_days.tolist(), self.sample_labels.tolist(), strict=True)
            out.dates = sorted(pairs, key=lambda pair: pair[0])
            out.minimum, out.maximum = out.dates[0][0], out.dates[-1][0]
        return out

    def _kind(self, out: ColumnProfile) -> tuple[str, str]:
        if self.native == UNSUPPORTED:
            return UNSUPPORTED, f"a {self.unsupported_type} column, which no feature step reads"
        if self.present == 0:
            return EMPTY, "every value is missing"
        if out.distinct == 1 and not out.distinct_capped:
            return CONSTANT, "one value only"
        if self.native == BOOLEAN or (
            self.native is None and self.bools == self.present and out.distinct <= 2
        ):
            return BOOLEAN, "two values, true and false"
        if self.native == DATETIME or (self.native is None and self.date_like == self.present):
            return DATETIME, "every value is a date"
        numeric = self.native == NUMERIC or (self.native is None and self.numbers == self.present)
        unique = not self.duplicates
        if numeric:
            if out.integers and unique and _ID_NAME.search(self.name) and self.present > 20:
                return IDENTIFIER, "whole numbers, each once, named like an identifier"
            return NUMERIC, "every value is a number"
        if unique and self.present > 20 and (out.distinct_capped or out.distinct == self.present):
            if out.mean_length > 30 and out.spaces > 0.5:
                return TEXT, "long text with spaces, each value once"
            return IDENTIFIER, "text, each value once"
        if out.counts is None and out.distinct > 0.5 * self.present:
            if out.mean_length > 30 and out.spaces > 0.5:
                return TEXT, f"free text ({out.mean_length:.0f} characters a value)"
            return IDENTIFIER, f"text, most values once ({out.describe_distinct()} distinct)"
        if out.distinct_capped or (out.counts is None and out.distinct > 1000):
            if out.mean_length > 30 and out.spaces > 0.5:
                return TEXT, f"free text ({out.mean_length:.0f} characters a value)"
            return TEXT, f"text with {out.describe_distinct()} distinct values, too many categories"
        return CATEGORICAL, f"text with {out.distinct:,} distinct values"


@functools.cache
def _boolean_words() -> Any:
    import pyarrow as pa

    return pa.array(sorted(_BOOLEAN_WORDS))


def _header(path: Path) -> list[str]:
    """The column names of a CSV file (quoting handled as the csv module does)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            row = next(csv.reader(handle), None)
    except UnicodeDecodeError:
        raise DataError(f"{path}: is not UTF-8 text; save it as UTF-8 and try again") from None
    except csv.Error as exc:
        raise DataError(f"{path}: is not a CSV table ({exc})") from None
    if not row or not any(name.strip() for name in row):
        raise DataError(f"{path}: has no header row (the first line names the columns)")
    names = [name.strip() for name in row]
    blank = [i + 1 for i, name in enumerate(names) if not name]
    if blank:
        raise DataError(f"{path}: column {blank[0]} of the header has no name")
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        raise DataError(f"{path}: column '{twice}' appears twice in the header")
    return names


class _Retype(Exception):
    """A later block of a CSV does not fit the types read from its first: read it as text."""


def _csv_batches(path: Path, names: list[str], *, typed: bool):
    """The CSV in Arrow batches: typed as pyarrow infers from the first block (fast, like a
    typed parse), or every column as text (always works; the profile types the text)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    options = pcsv.ConvertOptions(
        column_types=None if typed else {name: pa.string() for name in names},
        strings_can_be_null=True,
    )
    read = pcsv.ReadOptions(block_size=BLOCK_BYTES)
    try:
        reader = pcsv.open_csv(path, read_options=read, convert_options=options)
        yield from reader
    except pa.ArrowInvalid as exc:
        if typed:
            raise _Retype from None
        raise DataError(f"{path}: cannot read it as CSV: {_first_line(exc)}") from None


def _parquet_batches(path: Path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        handle = pq.ParquetFile(path)
        yield from handle.iter_batches(batch_size=65_536)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: cannot read it as Parquet: {_first_line(exc)}") from None


def _labels(batch: Any, target: str | None) -> Any:
    """The target's values in ``batch`` as text (None without a target, or when it is absent)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if target is None or target not in batch.schema.names:
        return None
    column = batch.column(target)
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        try:
            column = column.cast(pa.string())
        except pa.ArrowNotImplementedError:
            return None
    return pc.utf8_trim_whitespace(column)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _pass(
    path: Path, names: list[str] | None, target: str | None, seed: int, *, typed: bool
) -> dict[str, _Column]:
    """One pass over the file: every column's running state."""
    columns: dict[str, _Column] = {}
    if names is not None:
        columns = {name: _Column(name, seed + i) for i, name in enumerate(names)}
        batches = _csv_batches(path, names, typed=typed)
    else:
        batches = _parquet_batches(path)
    # Arrow's kernels release the GIL: the columns of a batch are profiled side by side.
    with ThreadPoolExecutor(max_workers=max(1, min(8, os.cpu_count() or 1))) as pool:
        for batch in batches:
            if not columns:
                columns = {n: _Column(n, seed + i) for i, n in enumerate(batch.schema.names)}
            labels = _labels(batch, target)
            jobs = [
                pool.submit(columns[name].add_native, array, labels)
                for name, array in zip(batch.schema.names, batch.columns, strict=True)
            ]
            for job in jobs:
                job.result()
    return columns


def profile_table(path: Path, *, target: str | None = None, seed: int = 0) -> Profile:
    """Profile the CSV or Parquet table at ``path`` in one streaming pass.

    ``target``: the label column, whose values are sampled with every date
    column's (to check that a split by time leaves every class on both sides).

    Raises :class:`DataError` naming the file when it is missing, empty, not
    a table, not UTF-8, or has no rows.
    """
    import time

    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DataError(
            f"{path}: profiling a table needs pyarrow, which is not installed",
            hint="pip install pyarrow",
        ) from None
    started = time.perf_counter()
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"{path}: must be .csv or .parquet, not {suffix or 'no extension'}")
    check_regular(path, f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    names = _header(path) if suffix == ".csv" else None
    try:
        columns = _pass(path, names, target, seed, typed=True)
    except _Retype:
        columns = _pass(path, names, target, seed, typed=False)
    profiles = [column.result() for column in columns.values()]
    rows = profiles[0].rows if profiles else 0
    if rows == 0:
        raise DataError(f"{path}: no rows")
    return Profile(path, rows, profiles, time.perf_counter() - started)
