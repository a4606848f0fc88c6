"""Label corrections a person reviewed, applied to the data as every command loads it.

``data.label_patch`` in ``mlprod.yaml`` names a CSV file with the columns
``row_id`` (the data's identifier, see :func:`identifier_column`, or ``row N``,
the row's position in ``data.train`` from 1, when there is none),
``given_label`` (the label the data holds: a patch written for other data is
refused rather than applied), ``corrected_label`` (empty: reviewed and kept as
it is) and, optionally, ``reason`` (who or why). ``mlprod analyze --export``
writes exactly these columns, ``corrected_label`` left empty for the reviewer.

The data files are never changed: the patch is applied to the loaded frames,
and its path, sha256 and the rows it corrects join each version's ``data``
lineage, so a patched retrain is a version on other data than the unpatched one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlprod_cli.errors import DataError

COLUMNS = ("row_id", "given_label", "corrected_label")


def identifier_column(exclude: tuple[str, ...], frames: list[Any]) -> str | None:
    """The first of ``exclude`` whose values are present and all different across ``frames``."""
    import pandas as pd

    for column in exclude:
        if frames and all(column in f.columns for f in frames):
            values = pd.concat([f[column] for f in frames], ignore_index=True)
            if values.notna().all() and values.is_unique:
                return column
    return None


def row_ids(frame: Any, id_column: str | None) -> Any:
    """Each row's name: its identifier as text, or ``row N`` (its position from 1)."""
    import numpy as np

    if id_column is not None:
        from mlprod_cli.adapters.tables import is_text

        column = frame[id_column]
        if is_text(column):
            return column.to_numpy()  # the strings the frame holds, not a copy of each
        return np.asarray(column.astype(str), dtype=object)
    return np.asarray([f"row {int(i) + 1}" for i in frame.index])


def apply_label_patch(
    patch: Any,
    path: Path,
    frames: list[tuple[Any, str]],
    *,
    target: str,
    exclude: tuple[str, ...],
    regression: bool,
) -> int:
    """Correct the labels of ``frames`` ([(frame, its file's name)]) in place, by ``patch``
    (the file at ``path``, read); how many labels it corrected.

    Every line is checked before any label is changed: an unknown row, a given
    label that is not the data's, a corrected label that is not a class of the
    data (a number, for a regression), a row named twice, are each one error line.
    """
    import pandas as pd

    missing = [c for c in COLUMNS if c not in patch.columns]
    if missing:
        raise DataError(
            f"{path}: a label patch needs the columns {', '.join(COLUMNS)} (missing: {', '.join(missing)})"
        )
    patch = patch.astype(object).where(patch.notna(), None)
    id_column = identifier_column(exclude, [f for f, _ in frames])
    if id_column is None:
        frames = frames[:1]  # ``row N`` counts the rows of data.train
    where: dict[str, tuple[int, int]] = {}  # row id -> (frame, position)
    for k, (frame, _) in enumerate(frames):
        for position, row_id in enumerate(row_ids(frame, id_column)):
            where[str(row_id)] = (k, position)
    classes = set()
    for frame, _ in frames:
        classes.update(str(v) for v in frame[target].dropna().unique())
    seen: dict[str, int] = {}
    changes = []
    for offset, record in enumerate(patch[list(COLUMNS)].itertuples(index=False)):
        line = offset + 2  # the header is line 1
        row_id, given, corrected = (_text(v) for v in record)
        if corrected is None:
            continue  # reviewed, kept as it is
        if row_id is None:
            raise DataError(f"{path} line {line}: row_id is empty")
        if row_id in seen:
            raise DataError(f"{path} line {line}: row_id {row_id!r} is on line {seen[row_id]} too")
        seen[row_id] = line
        if row_id not in where:
            named = f"a {id_column}" if id_column else "a row number (row N) of " + frames[0][1]
            raise DataError(f"{path} line {line}: row_id {row_id!r} is not {named} in the data")
        k, position = where[row_id]
        frame, source = frames[k]
        now = frame[target].iloc[position]
        if given != _text(now):
            raise DataError(
                f"{path} line {line}: {row_id} is labelled {_text(now)!r} in {source}, not "
                f"{given!r} (given_label): the data or the patch changed since the review"
            )
        if regression:
            try:
                value: Any = float(corrected)
            except ValueError:
                raise DataError(
                    f"{path} line {line}: corrected_label {corrected!r} is not a number"
                ) from None
        else:
            if corrected not in classes:
                raise DataError(
                    f"{path} line {line}: corrected_label {corrected!r} is not a class of the data "
                    f"({', '.join(sorted(classes))})"
                )
            value = corrected
        if corrected == given:
            raise DataError(f"{path} line {line}: corrected_label is the given label {given!r}")
        changes.append((k, position, value))
    for k, position, value in changes:
        frame, _ = frames[k]
        column = frame.columns.get_loc(target)
        if pd.api.types.is_numeric_dtype(frame[target]) and not regression:
            value = pd.Series([value]).astype(frame[target].dtype).iloc[0]
        elif not regression and frame[target].dtype != object:
            frame[target] = frame[target].astype(object)
        frame.iloc[position, column] = value
    return len(changes)


def _text(value: Any) -> str | None:
    """A cell as the text a person wrote: whole numbers without ``.0``; empty as None."""
    if value is None or value != value:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None
