"""The reference side of a run: the training data summarised, rebuilt as ``train`` built it, cached.

The reference is the training split of a model version, rebuilt as ``train`` built
it (the file and the split its metadata records, through the project's loader),
with the version's predictions on it for prediction drift; or any ``--reference
FILE`` (CSV or Parquet, read a column at a time). Its :class:`ReferenceSummary` is
built one feature per task on every core (:func:`summarise`) and cached under
``.mlprod/skew-cache/``, keyed by the data's sha256, the version and the sample
size; the cache is written only once the run has succeeded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from mlprod_cli.adapters.tables import BATCH_ROWS, TABLE_SUFFIXES, TableFile, check_regular
from mlprod_cli.core.config import Config
from mlprod_cli.core.skew._messages import listing
from mlprod_cli.core.skew._model import Model
from mlprod_cli.core.skew._reference import ReferenceSummary
from mlprod_cli.core.skew._rules import RuleCounts
from mlprod_cli.core.words import plural
from mlprod_cli.errors import DataError, UsageError

CACHE_FOLDER = ".mlprod/skew-cache"
CACHE_FORMAT = 1


class ReferenceSide:
    """Builds (or reads from the cache) the :class:`ReferenceSummary` of a run.

    ``path`` is ``--reference FILE``, ``None`` for the training split of ``model``;
    ``notes`` receives what the reader should know (the data changed since training).
    """

    def __init__(
        self,
        config: Config | None,
        model: Model,
        path: Path | None,
        *,
        use_cache: bool,
        sample_size: int,
        notes: list[str],
    ):
        self.config = config
        self.model = model
        self.path = path
        self.use_cache = use_cache and config is not None
        self.sample_size = sample_size
        self.notes = notes
        self.info: dict[str, Any] = {}
        self._pending: tuple[Path, str] | None = None
        # With the version's rules: how often each fired on the reference rows.
        self.rule_counts: RuleCounts | None = None

    def describe(self) -> str:
        """The reference as a progress line names it."""
        if self.path is not None:
            return str(self.path)
        return f"training split of {self.model.id}"

    def summary(self) -> ReferenceSummary:
        """The :class:`ReferenceSummary`: from the cache when it holds this one, else built."""
        if self.path is not None:
            return self._from_file(self.path)
        return self._from_training_split()

    # ------------------------------------------------------------------ the cache

    def _cache_path(self, key: dict[str, Any]) -> Path:
        text = json.dumps(key, sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
        label = self.model.id or "file"
        return self.config.root / CACHE_FOLDER / f"{label}-{digest}.json"

    def _cached(self, key: dict[str, Any]) -> ReferenceSummary | None:
        if not self.use_cache:
            return None
        path = self._cache_path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("key") != json.loads(json.dumps(key, sort_keys=True, default=str)):
                return None
            summary = ReferenceSummary.from_dict(data["summary"])
            if self.model.rules is not None:
                self.rule_counts = RuleCounts.from_dict(data["rules"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, DataError):
            return None  # missing or damaged: rebuilt and rewritten
        self.info = dict(data.get("info") or {}, cached=True)
        return summary

    def _remember(self, key: dict[str, Any], summary: ReferenceSummary) -> None:
        """Cache ``summary``; written by :meth:`save_cache` once the run has succeeded."""
        if not self.use_cache:
            return
        payload = {
            "key": json.loads(json.dumps(key, sort_keys=True, default=str)),
            "info": self.info,
            "summary": summary.to_dict(),
            "rules": None if self.rule_counts is None else self.rule_counts.to_dict(),
        }
        self._pending = (self._cache_path(key), json.dumps(payload))

    def save_cache(self) -> None:
        """Write the summary built by this run to the cache (an unwritable cache is no error)."""
        from mlprod_cli.adapters.files import atomic_write_text

        if self._pending is not None:
            path, text = self._pending
            with contextlib.suppress(OSError):  # a cache that cannot be written is no error
                atomic_write_text(path, text)
            self._pending = None

    def _key(self, data: list[dict[str, Any]]) -> dict[str, Any]:
        from mlprod_cli import __version__

        return {
            "format": CACHE_FORMAT,
            "mlprod": __version__,
            "version": self.model.id,
            "rules": None if self.model.rules is None else self.model.rules.sha256,
            "artifact": None
            if self.model.version is None
            else self.model.version.metadata.get("artifact_sha256"),
            "data": data,
            "sample_size": self.sample_size,
            # Only for a regression, so that a classification's cache keeps its key.
            **({"task": "regression"} if self.model.regression else {}),
        }

    # ------------------------------------------------------------------ the training split

    def _from_training_split(self) -> ReferenceSummary:
        from mlprod_cli.adapters.files import sha256_file
        from mlprod_cli.core import dataset

        config, version = self.config, self.model.version
        metadata = version.metadata
        recorded = [
            f
            for f in metadata.get("data") or []
            if isinstance(f, dict) and f.get("path") and not f.get("patches")  # a label patch
        ]
        if not recorded:
            raise DataError(
                f"{version.id}: its metadata names no training data ('data'); pass --reference FILE"
            )
        split_info = metadata.get("split") or {}
        paths = [config.root / str(f["path"]) for f in recorded]
        for path in paths:
            if not path.is_file():
                raise DataError(
                    f"{path}: the training data of {version.id} is gone; pass --reference FILE"
                )
        hashes = [sha256_file(path) for path in paths]
        for f, now in zip(recorded, hashes, strict=True):
            if f.get("sha256") and f["sha256"] != now:
                self.notes.append(
                    f"{f['path']} has changed since {version.id} was trained (sha256 {now[:12]} now, {str(f['sha256'])[:12]} then): the reference is the file as it is now"
                )
        key = self._key(
            [{"path": str(f["path"]), "sha256": h} for f, h in zip(recorded, hashes, strict=True)]
        )
        key["split"] = split_info
        cached = self._cached(key)
        if cached is not None:
            return cached
        cfg = _config_for(config, paths[0], split_info)
        train, test = dataset.load_training_data(cfg)
        parts = dataset.split(cfg, train, test)
        X, _ = dataset.features_and_target(cfg, parts.train)
        expected = split_info.get("train_rows")
        if expected is not None and expected != len(X):
            self.notes.append(
                f"the training split of {version.id} had {plural(expected, 'row')}; rebuilt today it has {len(X):,}"
            )
        source = str(recorded[0]["path"])
        scored = _with_rule_fields(X, parts.train, self.model.rules)
        chunks = (scored.iloc[i : i + BATCH_ROWS] for i in range(0, len(X), BATCH_ROWS))
        names = [f["name"] for f in self.model.schema["features"]]
        missing = [name for name in names if name not in X.columns]
        if missing:
            raise DataError(
                f"{source}: no column for the feature{'s' if len(missing) > 1 else ''} of {version.id}: {listing(missing)}"
            )
        # Taken here, not in the threads: pandas may cache a column as it hands it out.
        columns = {name: X[name] for name in names}
        summary = summarise(
            columns.__getitem__,
            list(self.model.schema["features"]),
            len(X),
            self._predictions(chunks),
            self.sample_size,
            source,
            task=self.model.task,
        )
        self.info = {
            "kind": "training split",
            "source": source,
            "sha256": hashes[0],
            "rows": len(X),
            "split": split_info,
            "cached": False,
        }
        self._remember(key, summary)
        return summary

    def _predictions(self, frames: Iterator[Any]) -> Any:
        """The model's classes (a regression's values) for every row of ``frames`` (chunks,
        so that the model's temporaries stay small), or ``None`` without a model."""
        import numpy as np

        if self.model.version is None:
            return None
        rules = self.model.rules
        if rules is not None:
            self.rule_counts = RuleCounts(rules.ids)
        parts = []
        for frame in frames:
            classes, _, fired = self.model.answer(frame)
            if fired is not None:
                self.rule_counts.add(fired, (c is None for c in classes))
            parts.append(classes)
        return np.concatenate(parts) if parts else np.empty(0, dtype=object)

    # ------------------------------------------------------------------ --reference FILE

    def _from_file(self, path: Path) -> ReferenceSummary:
        suffix = path.suffix.lower()
        if suffix not in TABLE_SUFFIXES:
            raise UsageError(
                f"--reference {path}: must be .csv or .parquet, not {suffix or 'no extension'}"
            )
        check_regular(path, f"{path}: no such reference file")
        key = None
        if self.use_cache:
            from mlprod_cli.adapters.files import sha256_file

            key = self._key([{"path": str(path.resolve()), "sha256": sha256_file(path)}])
            cached = self._cached(key)
            if cached is not None:
                return cached
        schema = self.model.schema
        types = None
        if schema is not None:
            types = {
                f["name"]: "float64" if f["kind"] == "numeric" else "string"
                for f in schema["features"]
            }
        table = TableFile(path, types)
        if schema is not None:
            entries = list(schema["features"])
            missing = [e["name"] for e in entries if e["name"] not in table.names]
            if missing:
                raise DataError(
                    f"{path}: no column for the feature{'s' if len(missing) > 1 else ''} of {self.model.id}: {listing(missing)}"
                )
            names = [e["name"] for e in entries]
            if self.model.rules is not None:  # and the fields the rules read, where it has them
                names += [
                    n for n in self.model.rules.variables if n in table.names and n not in names
                ]
            predictions = self._predictions(table.frames(names))
        else:
            drop = set()
            if self.config is not None:
                drop = {self.config.data.target, *self.config.data.exclude}
            entries = [{"name": name, "kind": None} for name in table.names if name not in drop]
            if not entries:
                raise DataError(f"{path}: no feature columns")
            predictions = None
        summary = summarise(
            table.column,
            entries,
            table.rows,
            predictions,
            self.sample_size,
            str(path),
            task=self.model.task,
        )
        self.info = {"kind": "file", "source": str(path), "rows": table.rows, "cached": False}
        if key is not None:
            self.info["sha256"] = key["data"][0]["sha256"]
            self._remember(key, summary)
        return summary


def summarise(
    column: Callable[[str], Any],
    entries: list[dict[str, Any]],
    rows: int,
    predictions: Any,
    sample_size: int,
    source: str,
    *,
    task: str = "classification",
) -> ReferenceSummary:
    """The :class:`ReferenceSummary` of the training data, one feature per task, on every core.

    ``column(name)`` gives one column as a pandas Series, so that a Parquet file is read
    a column at a time and never whole. An entry of kind ``None`` gets its kind from the
    data (``infer_schema``). Feature number ``i`` samples with seed ``i``; the first task
    also counts the predictions (a regression's values with ``task="regression"``).
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    from mlprod_cli.core.dataset import infer_schema

    def one(index: int) -> tuple[Any, Any]:
        entry = entries[index]
        frame = pd.DataFrame({entry["name"]: column(entry["name"])}, copy=False)
        if entry.get("kind") is None:
            entry = infer_schema(frame)["features"][0]
        part = ReferenceSummary.build(
            frame,
            {"features": [entry]},
            predictions=predictions if index == 0 else None,
            sample_size=sample_size,
            seed=index,
            task=task,
        )
        return part.features[0], part.predictions

    if rows == 0:
        raise DataError(f"{source}: no rows")
    workers = max(1, min(len(entries), os.cpu_count() or 1))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(one, range(len(entries))))
    except DataError as exc:
        raise DataError(f"{source}: {exc.message}") from None
    return ReferenceSummary(
        [f for f, _ in parts], rows, predictions=parts[0][1], sample_size=sample_size
    )


def _with_rule_fields(features: Any, rows: Any, rules: Any) -> Any:
    """``features`` with the columns of ``rows`` the rules read and the model does not."""
    if rules is None:
        return features
    extra = [n for n in rules.variables if n not in features.columns and n in rows.columns]
    if not extra:
        return features
    if len(rows) == len(features):
        return features.assign(**{name: rows[name].to_numpy() for name in extra})
    return features.assign(**{name: rows[name].reindex(features.index) for name in extra})


def _config_for(config: Config, train_path: Path, split_info: dict[str, Any]) -> Config:
    """``config`` with the training file and split a version's metadata records."""
    from mlprod_cli.core.config import Split

    data = replace(config.data, train=train_path)
    by = split_info.get("by")
    if by == "file" and split_info.get("test"):
        data = replace(data, test=config.root / str(split_info["test"]), split=None)
    elif by == "time" and split_info.get("column") and split_info.get("cutoff"):
        data = replace(
            data,
            test=None,
            split=Split("time", column=split_info["column"], cutoff=str(split_info["cutoff"])),
        )
    elif by == "random":
        data = replace(
            data,
            test=None,
            split=Split(
                "random",
                test_size=float(split_info.get("test_size", 0.2)),
                seed=int(split_info.get("seed", 42)),
            ),
        )
    return replace(config, data=data)
