"""Loading and splitting the data, with the dtypes the schema in ``mlprod.yaml`` gives.

The loader fixes the dtypes so that the same file gives the same frame
whatever pandas version reads it, and whether it arrives as CSV, as Parquet or
as a batch of requests at serving time: numeric features are ``float64`` (an
integer column with one missing value would otherwise turn into floats only
sometimes; so is a regression's target), categories, a class target and
excluded columns are ``object`` holding ``str`` (an id such as ``00042``
keeps its zeros) and the column the split is made by is ``datetime64``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

from . import schema as schema_module

_CSV_SUFFIXES = {".csv", ".txt"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


def load(path: str | Path, schema: schema_module.Schema | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file into a frame with the schema's dtypes.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` or ``.parquet`` file. Reading Parquet needs ``pyarrow``.
    schema : Schema, optional
        The columns' kinds (default: read from ``mlprod.yaml``).

    Returns
    -------
    pandas.DataFrame
        One row per record. Columns the schema does not know are kept as read;
        known columns that are absent (the target in serving data, say) are
        simply not there.

    Raises
    ------
    ValueError
        If the file extension is neither CSV nor Parquet, or a column cannot
        take its kind (a number column holding text), naming the column.
    """
    schema = schema or schema_module.load()
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        df = pd.read_csv(path, dtype=dict.fromkeys(schema.text_columns, str), low_memory=False)
    elif suffix in _PARQUET_SUFFIXES:
        df = pd.read_parquet(path)
    else:
        raise ValueError(
            f"{path}: cannot read {suffix or 'a file without extension'!r}; "
            "expected .csv or .parquet"
        )
    return coerce_dtypes(df, schema)


def coerce_dtypes(df: pd.DataFrame, schema: schema_module.Schema | None = None) -> pd.DataFrame:
    """Return a copy of ``df`` with the schema's dtypes on the columns it has."""
    schema = schema or schema_module.load()
    df = df.copy()
    for column in schema.date_columns:
        if column in df:
            try:
                df[column] = pd.to_datetime(df[column], errors="raise", utc=False)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"column {column!r} must hold dates: {exc}") from None
    numbers = [*schema.numeric, *([schema.target] if schema.task == "regression" else [])]
    for column in numbers:
        if column in df:
            try:
                df[column] = pd.to_numeric(df[column], errors="raise").astype("float64")
            except (ValueError, TypeError) as exc:
                # Name the column: "Unable to parse string 'forty'" alone is a riddle.
                raise ValueError(f"column {column!r} must be numeric: {exc}") from None
    for column in schema.text_columns:
        if column in df:
            # object holding str (missing stays NaN): pandas 2 and 3 agree on
            # it, and scikit-learn's encoders accept it everywhere.
            values = df[column].astype(object)
            df[column] = values.where(values.isna(), values.astype(str)).astype(object)
    return df


def split(
    df: pd.DataFrame,
    *,
    by: str = "time",
    column: str | None = None,
    cutoff: str | pd.Timestamp | None = None,
    test_size: float = 0.2,
    seed: int = 42,
    target: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``df`` into a training and a test frame, as ``mlprod.yaml``'s ``data.split`` says.

    Parameters
    ----------
    df : pandas.DataFrame
        The labelled data.
    by : {"time", "random"}
        ``"time"`` trains on the past and tests on the future, which is how the
        model will be used; ``"random"`` is for data without a usable date.
    column : str, optional
        The date column, required when ``by="time"``.
    cutoff : str or Timestamp, optional
        Required when ``by="time"``: training rows are strictly before it,
        test rows on or after it.
    test_size : float
        Share of rows in the test set when ``by="random"``.
    seed : int
        Seed of the random split.
    target : str or None
        The random split is stratified by this column when it is present and
        every class has at least two rows, so rare classes reach both sides.

    Returns
    -------
    (train, test) : tuple of pandas.DataFrame
        Copies with a fresh index.

    Raises
    ------
    ValueError
        On a bad argument, a missing or unparsable date, or an empty side.
    """
    if by == "time":
        if column is None or cutoff is None:
            raise ValueError("split by time needs both column= and cutoff=")
        if column not in df:
            raise ValueError(f"split column {column!r} is not in the data")
        dates = pd.to_datetime(df[column], errors="raise")
        if dates.isna().any():
            # A row without a date belongs to neither side; dropping it
            # silently would change the test set without anyone noticing.
            raise ValueError(f"split column {column!r} has {int(dates.isna().sum())} missing dates")
        cut = pd.Timestamp(cutoff)
        if dates.dt.tz is not None and cut.tz is None:
            cut = cut.tz_localize(dates.dt.tz)
        is_test = dates >= cut
        train, test = df[~is_test], df[is_test]
    elif by == "random":
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size must be between 0 and 1, got {test_size}")
        stratify = None
        if target is not None and target in df:
            counts = df[target].value_counts(dropna=False)
            if len(counts) > 1 and counts.min() >= 2:
                stratify = df[target]
        train, test = train_test_split(
            df, test_size=test_size, random_state=seed, stratify=stratify
        )
    else:
        raise ValueError(f"split by must be 'time' or 'random', got {by!r}")
    if train.empty or test.empty:
        side = "training" if train.empty else "test"
        raise ValueError(f"the {side} set is empty after splitting {len(df)} rows by {by}")
    return train.reset_index(drop=True), test.reset_index(drop=True)


def features_and_target(
    df: pd.DataFrame, target: str, exclude: Iterable[str] = ()
) -> tuple[pd.DataFrame, pd.Series]:
    """Separate the model's inputs from the labels.

    Parameters
    ----------
    df : pandas.DataFrame
        Labelled data.
    target : str
        The label column.
    exclude : iterable of str
        Columns never given to the model (ids, dates). Those absent from
        ``df`` are ignored: a column that is not there cannot leak.

    Returns
    -------
    (X, y) : tuple of (pandas.DataFrame, pandas.Series)

    Raises
    ------
    ValueError
        If ``target`` is not a column or has missing labels.
    """
    if target not in df:
        raise ValueError(f"target column {target!r} is not in the data")
    y = df[target]
    if y.isna().any():
        raise ValueError(f"target column {target!r} has {int(y.isna().sum())} missing labels")
    dropped = [target, *(c for c in exclude if c in df and c != target)]
    return df.drop(columns=dropped), y
