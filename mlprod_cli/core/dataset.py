"""Data as ``mlprod.yaml`` describes it: loading, the split, the feature schema.

The project owns its data loading (``data.loader``), features and model; this
module owns what must be the same for every project: finding the files, the
split (by time or at random), telling features from the target, and the
*training schema* — the names, kinds, categories, ranges and null rates seen
in training, which ``predict``, ``serve`` and ``skew`` validate against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.adapters.tables import check_regular, is_text, not_utf8
from mlprod_cli.core.code import import_object
from mlprod_cli.core.config import Config
from mlprod_cli.core.words import plural
from mlprod_cli.errors import DataError

# A categorical feature with more distinct values than this keeps no category
# list in the schema (unseen-category checks are skipped for it).
MAX_CATEGORIES = 1000
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass
class Dataset:
    """The loaded training data and where it came from."""

    frame: Any  # pandas.DataFrame
    files: list[dict[str, Any]]  # [{path, sha256, rows}]


@dataclass
class Split:
    train: Any
    test: Any
    info: dict[str, Any]


@dataclass
class Findings:
    """Soft problems found while validating rows against the schema: counted, not fatal."""

    unseen_categories: dict[str, int] = field(default_factory=dict)
    out_of_range: dict[str, int] = field(default_factory=dict)
    rows: int = 0

    def add(self, other: Findings) -> None:
        self.rows += other.rows
        for mine, theirs in (
            (self.unseen_categories, other.unseen_categories),
            (self.out_of_range, other.out_of_range),
        ):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count

    def warnings(self) -> list[str]:
        out = [
            f"{plural(count, 'row')} with a category of '{col}' never seen in training"
            for col, count in self.unseen_categories.items()
            if count
        ]
        out += [
            f"{plural(count, 'row')} with '{col}' outside the training range"
            for col, count in self.out_of_range.items()
            if count
        ]
        return out


# --------------------------------------------------------------------------- files


def read_table(path: Path, *, what: str = "data file") -> Any:
    """A whole CSV or Parquet file as a DataFrame; one-line DataError on anything unreadable."""
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"{path}: {what} must be .csv or .parquet, not {suffix or 'no extension'}")
    check_regular(path, f"{path}: no such {what}")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    try:
        frame = pd.read_parquet(path) if suffix != ".csv" else pd.read_csv(path, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: cannot read it: {not_utf8(path) or 'not UTF-8'}") from None
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        raise DataError(f"{path}: cannot read it: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # pyarrow's errors for a corrupt Parquet file
        raise DataError(
            f"{path}: cannot read it: {type(exc).__name__}: {str(exc).splitlines()[0]}"
        ) from None
    if frame.empty:
        raise DataError(f"{path}: no rows")
    return frame


def load_file(config: Config, path: Path) -> Any:
    """One data file, through the project's loader when it has one."""
    check_regular(path, f"{path}: no such data file")
    if path.suffix.lower() in (".parquet", ".pq"):
        _check_parquet_features(config, path)
    if config.data.loader is None:
        return read_table(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    loader = import_object(config, config.data.loader, "data.loader")
    try:
        frame = loader(path)
    except UnicodeDecodeError as exc:
        # The decoder's position counts from pandas' buffer: say where in the file.
        where = not_utf8(path) or f"not UTF-8 ({exc.reason})"
        raise DataError(
            f"{path}: the loader {config.data.loader} failed: UnicodeDecodeError: {where}"
        ) from None
    except Exception as exc:
        raise DataError(
            f"{path}: the loader {config.data.loader} failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    if frame is None or not hasattr(frame, "columns"):
        raise DataError(f"{config.data.loader} returned {type(frame).__name__}, not a DataFrame")
    if len(frame) == 0:
        raise DataError(f"{path}: no rows")
    return frame


def check_feature_file(config: Config, path: Path, what: str) -> None:
    """What ``predict`` refuses in a file of rows to score: a column named twice in the
    header, a Parquet column of bytes or structs that would be a feature."""
    import csv

    if path.suffix.lower() in (".parquet", ".pq"):
        _check_parquet_features(config, path)
        return
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            names = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return  # unreadable: the reader says so
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"{path}: column '{name}' appears more than once ({what})")
        seen.add(name)


def _check_parquet_features(config: Config, path: Path) -> None:
    """Refuse a Parquet column of bytes or structs that would be a feature, before a loader
    turns ``b"x"`` into the text ``"b'x'"`` (``predict`` refuses the same file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlprod_cli.adapters.tables import unusable_kind

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError):
        return  # unreadable: the reader says so
    skipped = {config.data.target, *config.data.exclude}
    for field_ in schema:
        kind = unusable_kind(field_.type)
        if kind is not None and field_.name not in skipped:
            raise DataError(
                f"{path}: column '{field_.name}' holds {kind}, which mlprod cannot use as a "
                "feature; make it text or numbers, or list it in data.exclude"
            )


def describe_file(path: Path, rows: int, root: Path) -> dict[str, Any]:
    from mlprod_cli.adapters.files import sha256_file

    try:
        shown = path.resolve().relative_to(root).as_posix()
    except ValueError:
        shown = str(path.resolve())  # outside the project: where it is, not where it was typed from
    return {"path": shown, "sha256": sha256_file(path), "rows": int(rows)}


def load_training_data(
    config: Config, data_path: Path | None = None
) -> tuple[Dataset, Dataset | None]:
    """The training file (or ``data_path``) and, when configured, the test file."""
    train_path = data_path or config.data.train
    train = load_file(config, train_path)
    test = None
    if config.data.test is not None and data_path is None:
        frame = load_file(config, config.data.test)
        test = Dataset(frame, [describe_file(config.data.test, len(frame), config.root)])
    files = [describe_file(train_path, len(train), config.root)]
    if config.data.label_patch is not None:
        from mlprod_cli.core.label_patch import apply_label_patch

        frames = [(train, files[0]["path"])] + (
            [(test.frame, test.files[0]["path"])] if test else []
        )
        for frame, source in frames:
            check_columns(config, frame, source)
        path = config.data.label_patch
        corrected = apply_label_patch(
            read_table(path, what="label patch"), path, frames,
            target=config.data.target, exclude=config.data.exclude,
            regression=config.task == "regression",
        )  # fmt: skip
        # its sha256 joins the data's lineage; ``rows``: the labels it corrected
        files.append({**describe_file(path, corrected, config.root), "patches": "labels"})
    return Dataset(train, files), test


# --------------------------------------------------------------------------- dates


def parse_datetimes(values: Any) -> Any:
    """Dates and times as every command reads them: a pandas Series of datetime64.

    One rule for ``train`` (the split column, a date feature), ``predict``,
    ``serve`` and ``skew``: a value with a UTC offset is the instant it names, so
    a column whose values carry different offsets (``+02:00`` beside ``Z``) is
    converted to UTC instead of being refused half-way; a value without an offset
    is taken as UTC when it sits beside values with one. A column whose values
    share one offset (or none) keeps it, as pandas reads it. ISO 8601 is read
    first, other spellings (``01/02/2024 10:00``) value by value; what is no date
    at all is missing (NaT), as an empty cell is. pandas' warnings about formats
    stay quiet: they would land on stderr before the command's own line.
    """
    import warnings

    import numpy as np
    import pandas as pd

    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    index = series.index  # by position below: an index may repeat labels
    text = series.reset_index(drop=True)
    if not pd.api.types.is_string_dtype(text) or text.dtype == object:
        # Only text is a date: a number would be read as nanoseconds since 1970.
        text = text.where(np.fromiter((isinstance(v, str) for v in text), bool, len(text)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        except (ValueError, TypeError):  # offsets that differ, or none beside some
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        for spelling in (None, "mixed"):  # the format of the first one, then each its own
            bad = (text.notna() & parsed.isna()).to_numpy()
            if not bad.any():
                break
            again = pd.to_datetime(text[bad], errors="coerce", format=spelling, utc=True)
            if again.notna().any():
                zone = parsed.dt.tz
                parsed = (
                    parsed.dt.tz_localize("UTC") if zone is None else parsed.dt.tz_convert("UTC")
                )
                again = again.reindex(text.index).dt.as_unit("us")
                parsed = parsed.dt.as_unit("us").where(~bad, again)
    parsed.index = index
    return parsed


def as_trained(parsed: Any, dtype: Any) -> Any:
    """Dates from :func:`parse_datetimes` in the time zone the training column had.

    ``dtype`` is the schema's text for the training column (``datetime64[ns]``,
    ``datetime64[us, UTC]``): naive in training gives naive UTC times, a zone
    gives that zone; a naive value given to a zoned model is taken as UTC.
    """
    import pandas as pd

    try:
        zone = getattr(pd.api.types.pandas_dtype(dtype), "tz", None) if dtype else None
    except (TypeError, ValueError):
        zone = None
    if parsed.dt.tz is None:
        return parsed if zone is None else parsed.dt.tz_localize("UTC").dt.tz_convert(zone)
    if zone is None:
        return parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.dt.tz_convert(zone)


# --------------------------------------------------------------------------- target and split


def check_columns(config: Config, frame: Any, source: str) -> None:
    target = config.data.target
    if target not in frame.columns:
        raise DataError(
            f"{source}: the target column '{target}' is missing (columns: {_listing(list(frame.columns))})"
        )
    if frame[target].isna().any():
        rows = int(frame[target].isna().sum())
        raise DataError(f"{source}: the target column '{target}' is empty in {plural(rows, 'row')}")


def split(config: Config, train: Dataset, test: Dataset | None) -> Split:
    """The train and test frames, as ``data.test`` or ``data.split`` says."""
    import pandas as pd

    source = train.files[0]["path"]
    check_columns(config, train.frame, source)
    if test is not None:
        check_columns(config, test.frame, test.files[0]["path"])
        return Split(train.frame, test.frame, {"by": "file", "test": test.files[0]["path"]})
    spec = config.data.split
    frame = train.frame
    if spec is None:
        raise config.error(
            "data", "say how to get a test set: 'test: FILE' or 'split: {by: time|random, ...}'"
        )
    if spec.by == "time":
        if spec.column not in frame.columns:
            raise DataError(
                f"{source}: the split column '{spec.column}' is missing (data.split.column)"
            )
        when = parse_datetimes(frame[spec.column])
        bad = int(when.isna().sum() - frame[spec.column].isna().sum())
        if bad:
            raise DataError(
                f"{source}: the split column '{spec.column}' has {bad} values that are not dates"
            )
        cutoff = pd.Timestamp(spec.cutoff)
        if when.dt.tz is not None and cutoff.tz is None:
            cutoff = cutoff.tz_localize(when.dt.tz)
        before = (when < cutoff).to_numpy()
        info = {"by": "time", "column": spec.column, "cutoff": spec.cutoff}
        train_frame, test_frame = frame[before], frame[~before]
    else:
        from sklearn.model_selection import train_test_split

        stratify = None
        if config.task != "regression":  # a number's values are not classes to balance
            y = frame[config.data.target].astype(str)
            stratify = y if y.value_counts().min() >= 2 else None
        train_frame, test_frame = train_test_split(
            frame, test_size=spec.test_size, random_state=spec.seed, stratify=stratify
        )
        info = {
            "by": "random",
            "test_size": spec.test_size,
            "seed": spec.seed,
            "stratified": stratify is not None,
        }
    if len(train_frame) == 0 or len(test_frame) == 0:
        side = "training" if len(train_frame) == 0 else "test"
        raise DataError(f"{source}: the split ({_describe_split(info)}) leaves no {side} rows")
    info.update(train_rows=len(train_frame), test_rows=len(test_frame))
    return Split(train_frame, test_frame, info)


def time_order(config: Config, frame: Any) -> Any:
    """The dates of ``frame`` as the split by time orders them, or None for another split."""
    spec = config.data.split
    if spec is None or spec.by != "time" or config.data.test is not None:
        return None
    when = parse_datetimes(frame[spec.column])
    if when.dt.tz is not None:  # as UTC datetime64, which numpy sorts (Timestamps are objects)
        when = when.dt.tz_convert("UTC").dt.tz_localize(None)
    return when.to_numpy()


def _describe_split(info: dict[str, Any]) -> str:
    if info["by"] == "time":
        return f"by {info['column']} at {info['cutoff']}"
    return f"random, test_size {info['test_size']}"


def features_and_target(config: Config, frame: Any, source: str = "the data") -> tuple[Any, Any]:
    """``X`` (every column but the target and ``data.exclude``) and ``y``.

    ``y`` is text labels, or for ``task: regression`` float64 numbers, each
    finite (:func:`numeric_target` refuses text, missing and infinite values).
    """
    drop = [config.data.target, *[c for c in config.data.exclude if c in frame.columns]]
    X = frame.drop(columns=drop)
    if config.task == "regression":
        return X, numeric_target(frame, config.data.target, source)
    y = frame[config.data.target].astype(str)
    return X, y


def numeric_target(frame: Any, target: str, source: str, what: str = "target") -> Any:
    """The regression target as float64, or one DataError naming the column and the first bad row."""
    import numpy as np
    import pandas as pd

    column = frame[target]
    where = f"{source}: {what} '{target}'"
    if len(column) and column.isna().all():
        raise DataError(f"{where}: every value is missing; a regression's {what} must be numbers")
    if column.dtype == bool or pd.api.types.is_bool_dtype(column):
        raise DataError(f"{where}: holds true/false; a regression's {what} must be numbers")
    numbers = pd.to_numeric(column, errors="coerce")
    text = numbers.isna() & column.notna()
    if text.any():
        first = text[text].index[0]
        raise DataError(
            f"{where}: {column[first]!r} (row {_row_number(frame, first)}) is not a number; "
            f"a regression's {what} must be numbers"
        )
    missing = numbers.isna()
    if missing.any():
        first = missing[missing].index[0]
        count = int(missing.sum())
        raise DataError(
            f"{where}: {count:,} row{'s have' if count != 1 else ' has'} no value "
            f"(the first: row {_row_number(frame, first)}); remove or fill them"
        )
    values = numbers.astype("float64")
    infinite = ~np.isfinite(values.to_numpy())
    if infinite.any():
        first = values.index[int(np.argmax(infinite))]
        raise DataError(
            f"{where}: an infinite value (row {_row_number(frame, first)}); "
            f"a regression's {what} must be finite numbers"
        )
    return values


def check_training_target(config: Config, y: Any, source: str) -> list[str]:
    """The classes of the training target (sorted), or ``[]`` for regression; refuses a degenerate target."""
    if config.task == "regression":
        if y.nunique() < 2:
            raise DataError(
                f"{source}: the target '{config.data.target}' has one value only "
                f"({y.iloc[0] if len(y) else 'none'}); a regression needs it to vary"
            )
        return []
    classes = sorted(y.unique().tolist())
    if len(classes) < 2:
        only = classes[0] if classes else "none"
        raise DataError(
            f"{source}: the target '{config.data.target}' has one class only ({only}); a classifier needs two or more"
        )
    positive = config.data.positive_class
    if positive is not None and positive not in classes:
        raise DataError(
            f"{source}: positive_class '{positive}' never occurs in '{config.data.target}' (classes: {_listing(classes)})"
        )
    return classes


# --------------------------------------------------------------------------- schema


def check_feature_types(X: Any, source: str) -> None:
    """Refuse a column that mixes numbers and text: a typo in a number, a unit pasted in."""
    import pandas as pd

    for name in X.columns:
        column = X[name]
        if column.dtype != object and not pd.api.types.is_string_dtype(column):
            continue
        present = column.dropna()
        if present.empty:
            continue
        if column.dtype == object:
            _refuse_containers(present, name, source, X)
        numbers = pd.to_numeric(present, errors="coerce")
        bad = numbers.isna()
        if bad.sum() > 0 and bad.mean() <= 0.1:
            where = bad[bad].index[0]
            raise DataError(
                f"{source}: column '{name}' holds numbers but also text such as {present[where]!r} "
                f"(row {_row_number(X, where)}); fix the value or the column's type"
            )


_UNUSABLE = {bytes: "bytes", bytearray: "bytes", dict: "structs", list: "lists", tuple: "lists"}


def _refuse_containers(present: Any, name: str, source: str, X: Any) -> None:
    """Bytes, structs (dicts) and lists are no feature: pandas would make ``b'x'`` a category."""
    import numpy as np

    kinds = present.map(lambda v: "lists" if isinstance(v, np.ndarray) else _UNUSABLE.get(type(v)))
    bad = kinds.notna()
    if bad.any():
        where = bad[bad].index[0]
        raise DataError(
            f"{source}: column '{name}' holds {kinds[where]} (row {_row_number(X, where)}), "
            "which mlprod cannot use as a feature; make it text or numbers, or list it in data.exclude"
        )


def _row_number(frame: Any, label: Any) -> int:
    """1-based data row of index ``label`` (as in the file, header not counted)."""
    try:
        return int(frame.index.get_loc(label)) + 1
    except (KeyError, TypeError):
        return -1


def infer_schema(X: Any) -> dict[str, Any]:
    """Names, kinds, categories, ranges and null rates of the training features."""
    import pandas as pd

    features = []
    for name in X.columns:
        column = X[name]
        entry: dict[str, Any] = {
            "name": str(name),
            "dtype": str(column.dtype),
            "null_rate": float(column.isna().mean()),
        }
        if pd.api.types.is_bool_dtype(column):
            entry["kind"] = "categorical"
            entry["categories"] = sorted({str(v) for v in column.dropna().unique()})
        elif pd.api.types.is_numeric_dtype(column):
            entry["kind"] = "numeric"
            present = column.dropna()
            entry["min"] = float(present.min()) if len(present) else None
            entry["max"] = float(present.max()) if len(present) else None
        elif pd.api.types.is_datetime64_any_dtype(column):
            entry["kind"] = "datetime"
            present = column.dropna()
            entry["min"] = present.min().isoformat() if len(present) else None
            entry["max"] = present.max().isoformat() if len(present) else None
        else:
            entry["kind"] = "categorical"
            values = column.dropna().astype(str).unique()
            entry["categories"] = sorted(values.tolist()) if len(values) <= MAX_CATEGORIES else None
        features.append(entry)
    return {"features": features}


def require_features(columns: Any, schema: dict[str, Any], source: str) -> None:
    """Raise a DataError naming every feature of ``schema`` absent from ``columns``."""
    present = set(columns)
    missing = [f["name"] for f in schema["features"] if f["name"] not in present]
    if missing:
        raise DataError(
            f"{source}: missing feature column{'s' if len(missing) > 1 else ''} the model needs: {', '.join(missing)}"
        )


def conform(
    frame: Any, schema: dict[str, Any], *, source: str, row_offset: int = 0
) -> tuple[Any, Findings]:
    """Rows of ``frame`` as the model saw them in training, or a DataError naming the column.

    A missing feature or a number column holding text is an error; an unseen
    category or a value out of the training range is counted and served.
    """
    import numpy as np
    import pandas as pd

    features = schema["features"]
    require_features(frame.columns, schema, source)
    findings = Findings(rows=len(frame))
    columns = {}
    for feature in features:
        name = feature["name"]
        column = frame[name]
        if feature["kind"] == "numeric":
            if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
                converted = pd.to_numeric(column, errors="coerce")
                bad = converted.isna() & column.notna()
                if bad.any():
                    where = int(np.flatnonzero(bad.to_numpy())[0])
                    raise DataError(
                        f"{source}: column '{name}' must be numeric, row {row_offset + where + 1} holds {column.iloc[where]!r}"
                    )
                column = converted
            column = column.astype("float64")
            infinite = np.isinf(column.to_numpy())
            if infinite.any():
                where = int(np.flatnonzero(infinite)[0])
                raise DataError(
                    f"{source}: column '{name}' holds an infinite or too large number "
                    f"(row {row_offset + where + 1}: {_shown(frame[name].iloc[where])!r})"
                )
            low, high = feature.get("min"), feature.get("max")
            if low is not None and high is not None:
                findings.out_of_range[name] = int(((column < low) | (column > high)).sum())
        elif feature["kind"] == "datetime":
            column = as_trained(parse_datetimes(column), feature.get("dtype"))
        else:
            present = column.notna()
            # Text columns (pandas' string dtype, as Arrow readers give) are used as they
            # are; anything else (numbers as categories, mixed objects) becomes text.
            if is_text(column):
                # already text: the same strings, the missing ones as NaN (no copy of each)
                column = column if present.all() else column.where(present, np.nan)
            elif not (pd.api.types.is_string_dtype(column) and column.dtype != object):
                column = column.astype(str).where(present, np.nan).astype(object)
            categories = feature.get("categories")
            if categories is not None:
                findings.unseen_categories[name] = int((present & ~column.isin(categories)).sum())
        columns[name] = column
    return pd.DataFrame(columns, index=frame.index), findings


def cell_value(value: Any) -> Any:
    """A table cell as a client sends it and JSON holds it: missing as None, a time as ISO
    text, numpy's scalars as Python's."""
    if value is None or value != value:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def _shown(value: Any) -> Any:
    """``value`` as Python has it: numpy 2 would show a float as ``np.float64(inf)``."""
    return value.item() if hasattr(value, "item") else value


def _listing(items: list[Any], limit: int = 12) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")
