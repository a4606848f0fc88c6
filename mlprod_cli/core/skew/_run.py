"""``mlprod skew``: find both sides, stream the serving data, re-score it, compare.

:mod:`mlprod_cli.core.skew` owns the statistics; this module owns where the data
comes from and what the model says about it:

* **The reference** is the training split of a model version, rebuilt as ``train``
  built it (the file and the split its metadata records, through the project's
  loader), with the version's predictions on it for prediction drift; or any
  ``--reference FILE``. Its summary is cached under ``.mlprod/skew-cache/``, keyed by
  the data's sha256, the version and the sample size.
* **The version** is ``--model``, else the one that served the newest log line (the
  last line of the last file, read from the end), else the active model. Rows served
  by another version are left out and counted (the report says how many).
* **The current side** is the request log (every ``*.jsonl`` under
  ``skew.serving_log``, in write order) or ``--current`` files: CSV, Parquet, or
  JSON Lines in the log's format (``{"features": {...}, "prediction", "scores"}``)
  or flat objects. Everything is streamed in batches: JSON Lines in blocks of about
  16 MiB parsed by pyarrow (with Python's ``json`` as the fallback that names the
  file and line of a bad one), CSV by pyarrow's streaming reader, Parquet by row
  group, so memory does not grow with the rows.
* **Prediction skew**: each logged row is scored again offline by the version that
  served it, on the logged features, exactly as ``predict`` would; the share of rows
  whose class differs and the score differences go into the report. Files without
  served predictions get prediction drift from the offline predictions and no
  prediction skew, with the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mlprod_cli.core import request_log
from mlprod_cli.core.config import Config
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import ConfigError, DataError, UsageError

Progress = Callable[[str], None]

BATCH_ROWS = 131_072
JSON_BLOCK_BYTES = 1 << 24
"""JSON Lines are parsed in blocks of about this many bytes (whole lines)."""
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
CACHE_FOLDER = ".mlprod/skew-cache"
CACHE_FORMAT = 1


@dataclass(frozen=True)
class SkewRequest:
    """What ``mlprod skew`` was asked (paths as given)."""

    reference: Path | None = None
    current: tuple[Path, ...] = ()
    log_dir: Path | None = None
    version_id: str | None = None
    batch_rows: int = BATCH_ROWS
    use_cache: bool = True
    sample_size: int | None = None  # None: skew.SAMPLE_SIZE
    step_per_file: bool = False  # a progress step per file read (on a terminal), not one for all


@dataclass
class SkewRun:
    """A skew report and where its two sides came from."""

    report: Any  # skew.SkewReport
    version: str | None
    reference: dict[str, Any]
    current: dict[str, Any]
    prediction_skew: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    project: str | None = None
    seconds: float = 0.0


def project_workspace() -> Workspace | None:
    """The project when run inside one, else ``None`` (skew works anywhere)."""
    from mlprod_cli.core.project import find_project_root

    return Workspace.load() if find_project_root() is not None else None


# --------------------------------------------------------------------------- the run


def run_skew(
    workspace: Workspace | None, request: SkewRequest, *, progress: Progress | None = None
) -> SkewRun:
    """Compare the reference with the current data as ``request`` says; see the module doc."""
    from mlprod_cli.core.skew import _statistics as skew

    config = None if workspace is None else workspace.config

    started = time.perf_counter()
    step = progress or (lambda _text: None)
    if request.batch_rows < 1:
        raise UsageError(f"--batch-rows must be at least 1, got {request.batch_rows}")
    sample_size = request.sample_size or skew.SAMPLE_SIZE
    registry = None
    if workspace is not None:
        registry = workspace.registry
    elif request.version_id:
        raise UsageError("--model needs a project (mlprod.yaml and its registry)")
    chosen = _chosen_version(registry, request)  # a bad --model is said before reading
    current = _current_files(workspace, request)
    version = chosen or _pick_version(registry, current)
    if version is None and request.reference is None:
        raise DataError(
            "no reference: pass --reference FILE or train and activate a model",
            hint="'mlprod train --activate'",
        )
    notes: list[str] = []
    model = _Model(registry, version)
    side = _Reference(config, model, request, sample_size, notes)
    step(f"summarising the reference ({side.describe()})")
    reference = side.summary()
    thresholds, overrides = _check_thresholds(config, reference)
    _release_memory()
    ignore = _ignore_columns(config, model.labels)
    accumulator = skew.CurrentAccumulator(reference, sample_size=sample_size, ignore_columns=ignore)
    step(f"reading {current.describe()}")
    stream = _Stream(
        current,
        reference,
        model,
        accumulator,
        request.batch_rows,
        step_per_file=request.step_per_file,
    )
    stream.run(step)
    step("comparing")
    report = skew.compare(reference, accumulator, thresholds, overrides)
    notes += stream.notes()
    side.save_cache()
    return SkewRun(
        report=report,
        version=None if version is None else version.id,
        reference=side.info,
        current=stream.info(),
        prediction_skew=stream.prediction_info(),
        notes=notes,
        project=None if config is None else config.project,
        seconds=round(time.perf_counter() - started, 3),
    )


def _release_memory() -> None:
    """Hand the memory freed after summarising the reference back to the system.

    Both allocators keep freed memory for reuse (pyarrow's mimalloc pool; glibc's
    malloc, whose heap and per-thread arenas the summary's threads grew), so without
    this the training data's footprint would stay in the process while the serving data
    streams through.
    """
    import ctypes

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    with contextlib.suppress(OSError, AttributeError):  # glibc only
        ctypes.CDLL(None).malloc_trim(0)


def _check_thresholds(config: Config | None, reference: Any) -> tuple[Any, Any]:
    """``skew.thresholds`` and ``skew.features``, checked against the reference's features
    before any serving data is read; a bad one names mlprod.yaml and its line."""
    from mlprod_cli.core.skew._statistics import resolve_thresholds

    if config is None:
        return None, None
    thresholds, overrides = config.skew.thresholds, config.skew.features
    try:
        resolve_thresholds(thresholds, overrides, [f.name for f in reference.features])
    except DataError as exc:
        key = exc.message.split(":", 1)[0]
        line = config.line_of(key)
        where = f"{config.path.name}:{line}" if line else config.path.name
        raise ConfigError(f"{where}: {exc.message}") from None
    return thresholds, overrides


def _ignore_columns(config: Config | None, labels: list[str]) -> list[str]:
    """Serving columns that are not features and are expected: ids, the target, outputs."""
    ignore = ["prediction", "model_version", "ts", "request_id"]
    ignore += [f"score_{label}" for label in labels]
    if config is not None:
        ignore += [config.data.target, *config.data.exclude]
    return ignore


# --------------------------------------------------------------------------- the model version


class _Model:
    """The version being checked, its schema and classes; the estimator loaded when needed."""

    def __init__(self, registry: Any, version: Any):
        self.registry = registry
        self.version = version
        self._estimator = None
        metadata = {} if version is None else version.metadata
        self.schema = metadata.get("schema")
        self.labels = [str(c) for c in metadata.get("classes") or []]
        if version is not None and not (self.schema or {}).get("features"):
            raise DataError(
                f"{version.id}: its metadata has no training schema (schema.features); retrain it"
            )

    @property
    def id(self) -> str | None:
        return None if self.version is None else self.version.id

    def estimator(self) -> Any:
        if self._estimator is None:
            self._estimator = self.registry.load(self.version)
            if not self.labels:
                self.labels = [str(c) for c in getattr(self._estimator, "classes_", [])]
        return self._estimator

    def predict(self, frame: Any) -> tuple[Any, Any]:
        """``(classes, scores or None)`` for the rows of ``frame`` (features as columns)."""
        from mlprod_cli.core.predict import predict_batch

        return predict_batch(self.estimator(), _model_input(frame, self.schema), self.labels)


def _model_input(frame: Any, schema: dict[str, Any]) -> Any:
    """The rows as the model saw them in training (``dataset.conform``), never refusing a
    row: a value that is not a (finite) number where one belongs scores as missing (the
    report flags the column as a type change)."""
    import numpy as np
    import pandas as pd

    from mlprod_cli.core.dataset import conform

    names = [f["name"] for f in schema["features"]]
    data = frame[names]
    numbers = {}
    for feature in schema["features"]:
        column = data[feature["name"]]
        if feature["kind"] != "numeric":
            continue
        if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            column = pd.to_numeric(column.astype(object), errors="coerce")
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        if column is not data[feature["name"]] or np.isinf(values).any():
            numbers[feature["name"]] = pd.Series(
                np.where(np.isinf(values), np.nan, values), index=column.index
            )
    if numbers:
        data = data.copy(deep=False)
        for name, values in numbers.items():
            data[name] = values
    return conform(data, schema, source="serving data")[0]


def _chosen_version(registry: Any, request: SkewRequest) -> Any:
    """The version of ``--model``, if given."""
    from mlprod_cli.core.registry import check_version_id

    if registry is None or not request.version_id:
        return None
    return registry.get(check_version_id(request.version_id))


def _pick_version(registry: Any, current: _Current) -> Any:
    """The version in the newest line of the serving data, else the active model."""
    from mlprod_cli.core.registry import RegistryError

    if registry is None:
        return None
    served = _newest_served_version(current.jsonl_files())
    if served:
        try:
            return registry.get(served)
        except RegistryError:
            known = ", ".join(v.id for v in registry.versions()) or "none yet"
            raise RegistryError(
                f"the serving data was served by {served}, which is not in {registry.root.name}/ (versions: {known})",
                hint="pass --model VERSION to compare with another version",
            ) from None
    return registry.active("model")


def _newest_served_version(files: list[Path]) -> str | None:
    """``model_version`` of the last line of the last non-empty JSON Lines file, if any."""
    for path in reversed(files):
        try:
            with path.open("rb") as handle:
                handle.seek(0, 2)
                size = handle.tell()
                if size == 0:
                    continue
                handle.seek(max(0, size - (1 << 16)))
                tail = handle.read()
        except OSError:
            return None
        for line in reversed(tail.splitlines()):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                return None  # a torn line: the full read names it
            value = record.get("model_version") if isinstance(record, dict) else None
            return value if isinstance(value, str) and value else None
    return None


# --------------------------------------------------------------------------- the reference


class _Reference:
    """Builds (or reads from the cache) the :class:`ReferenceSummary` of one side."""

    def __init__(
        self,
        config: Config | None,
        model: _Model,
        request: SkewRequest,
        sample_size: int,
        notes: list[str],
    ):
        self.config = config
        self.model = model
        self.path = request.reference
        self.use_cache = request.use_cache and config is not None
        self.sample_size = sample_size
        self.notes = notes
        self.info: dict[str, Any] = {}
        self._pending: tuple[Path, str] | None = None

    def describe(self) -> str:
        if self.path is not None:
            return str(self.path)
        return f"training split of {self.model.id}"

    def summary(self) -> Any:
        if self.path is not None:
            return self._from_file(self.path)
        return self._from_training_split()

    # ------------------------------------------------------------------ the cache

    def _cache_path(self, key: dict[str, Any]) -> Path:
        text = json.dumps(key, sort_keys=True, default=str)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
        label = self.model.id or "file"
        return self.config.root / CACHE_FOLDER / f"{label}-{digest}.json"

    def _cached(self, key: dict[str, Any]) -> Any:
        from mlprod_cli.core.skew._statistics import ReferenceSummary

        if not self.use_cache:
            return None
        path = self._cache_path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("key") != json.loads(json.dumps(key, sort_keys=True, default=str)):
                return None
            summary = ReferenceSummary.from_dict(data["summary"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, DataError):
            return None  # missing or damaged: rebuilt and rewritten
        self.info = dict(data.get("info") or {}, cached=True)
        return summary

    def _remember(self, key: dict[str, Any], summary: Any) -> None:
        """Cache ``summary``; written by :meth:`save_cache` once the run has succeeded."""
        if not self.use_cache:
            return
        payload = {
            "key": json.loads(json.dumps(key, sort_keys=True, default=str)),
            "info": self.info,
            "summary": summary.to_dict(),
        }
        self._pending = (self._cache_path(key), json.dumps(payload))

    def save_cache(self) -> None:
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
            "artifact": None
            if self.model.version is None
            else self.model.version.metadata.get("artifact_sha256"),
            "data": data,
            "sample_size": self.sample_size,
        }

    # ------------------------------------------------------------------ the training split

    def _from_training_split(self) -> Any:
        from mlprod_cli.adapters.files import sha256_file
        from mlprod_cli.core import dataset

        config, version = self.config, self.model.version
        metadata = version.metadata
        recorded = [f for f in metadata.get("data") or [] if isinstance(f, dict) and f.get("path")]
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
                f"the training split of {version.id} had {expected} rows; rebuilt today it has {len(X)}"
            )
        source = str(recorded[0]["path"])
        chunks = (X.iloc[i : i + BATCH_ROWS] for i in range(0, len(X), BATCH_ROWS))
        names = [f["name"] for f in self.model.schema["features"]]
        missing = [name for name in names if name not in X.columns]
        if missing:
            raise DataError(
                f"{source}: no column for the feature{'s' if len(missing) > 1 else ''} of {version.id}: {_listing(missing)}"
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
        """The model's classes for every row of ``frames`` (chunks, so that the model's
        temporaries stay small), or ``None`` without a model."""
        import numpy as np

        if self.model.version is None:
            return None
        parts = [self.model.predict(frame)[0] for frame in frames]
        return np.concatenate(parts) if parts else np.empty(0, dtype=object)

    # ------------------------------------------------------------------ --reference FILE

    def _from_file(self, path: Path) -> Any:
        suffix = path.suffix.lower()
        if suffix not in TABLE_SUFFIXES:
            raise UsageError(
                f"--reference {path}: must be .csv or .parquet, not {suffix or 'no extension'}"
            )
        if not path.is_file():
            raise DataError(f"{path}: no such reference file")
        key = None
        if self.use_cache:
            from mlprod_cli.adapters.files import sha256_file

            key = self._key([{"path": str(path.resolve()), "sha256": sha256_file(path)}])
            cached = self._cached(key)
            if cached is not None:
                return cached
        schema = self.model.schema
        table = _TableFile(path, schema)
        if schema is not None:
            entries = list(schema["features"])
            missing = [e["name"] for e in entries if e["name"] not in table.names]
            if missing:
                raise DataError(
                    f"{path}: no column for the feature{'s' if len(missing) > 1 else ''} of {self.model.id}: {_listing(missing)}"
                )
            predictions = self._predictions(table.frames([e["name"] for e in entries]))
        else:
            drop = set()
            if self.config is not None:
                drop = {self.config.data.target, *self.config.data.exclude}
            entries = [{"name": name, "kind": None} for name in table.names if name not in drop]
            if not entries:
                raise DataError(f"{path}: no feature columns")
            predictions = None
        summary = summarise(
            table.column, entries, table.rows, predictions, self.sample_size, str(path)
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
) -> Any:
    """The :class:`ReferenceSummary` of the training data, one feature per task, on every core.

    ``column(name)`` gives one column as a pandas Series, so that a Parquet file is read
    a column at a time and never whole. An entry of kind ``None`` gets its kind from the
    data (``infer_schema``). Feature number ``i`` samples with seed ``i``; the first task
    also counts the predictions.
    """
    import os
    from concurrent.futures import ThreadPoolExecutor

    import pandas as pd

    from mlprod_cli.core.dataset import infer_schema
    from mlprod_cli.core.skew._statistics import ReferenceSummary

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


class _TableFile:
    """A reference CSV or Parquet file, read a column at a time.

    Parquet is read column by column from the file. CSV is parsed once into Arrow
    (numeric features as float64, other schema columns as text, the rest inferred; a
    column that does not convert is read as text, and the summary says what is wrong).
    """

    def __init__(self, path: Path, schema: dict[str, Any] | None):
        import pyarrow as pa

        self.path = path
        self.table = None
        if path.stat().st_size == 0:
            raise DataError(f"{path}: the file is empty")
        try:
            if path.suffix.lower() == ".csv":
                self.table = _read_csv(path, schema)
                self.names = list(self.table.column_names)
                self.rows = self.table.num_rows
            else:
                import pyarrow.parquet as pq

                parquet = pq.ParquetFile(path)
                self.names = list(parquet.schema_arrow.names)
                self.rows = parquet.metadata.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: cannot read it: {str(exc).splitlines()[0]}") from None
        if self.rows == 0:
            raise DataError(f"{path}: no rows")

    def column(self, name: str) -> Any:
        import pyarrow as pa

        if self.table is not None:
            return self.table.column(name).to_pandas()
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path).read(columns=[name]).column(0).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{self.path}: cannot read it: {str(exc).splitlines()[0]}") from None

    def frames(self, names: list[str]) -> Iterator[Any]:
        """The columns ``names`` in chunks of rows, as DataFrames."""
        if self.table is not None:
            selected = self.table.select(names)
            for start in range(0, self.rows, BATCH_ROWS):
                yield selected.slice(start, BATCH_ROWS).to_pandas()
            return
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(self.path).iter_batches(batch_size=BATCH_ROWS, columns=names):
            yield batch.to_pandas()


def _read_csv(path: Path, schema: dict[str, Any] | None) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    types: dict[str, Any] = {}
    for f in (schema or {}).get("features", []):
        types[f["name"]] = pa.float64() if f["kind"] == "numeric" else pa.string()
    with path.open("rb") as handle:
        names = pacsv.open_csv(handle).schema.names
    while True:
        try:
            return pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            match = re.search(r"column #(\d+)", str(exc))
            index = int(match.group(1)) if match else -1
            if 0 <= index < len(names) and types.get(names[index]) != pa.string():
                types[names[index]] = pa.string()
                continue
            raise


# --------------------------------------------------------------------------- the current side


@dataclass
class _Current:
    """The serving data: the request log's files, or the files given with ``--current``."""

    files: list[Path]
    log: Path | None  # the log folder, when reading the log
    shown: str  # the folder or file as the user knows it
    root: Path | None = None  # the project's root, for showing log files

    def describe(self) -> str:
        if self.log is not None:
            return f"the request log {self.shown} ({len(self.files)} file{'s' if len(self.files) != 1 else ''})"
        return ", ".join(str(p) for p in self.files)

    def show(self, path: Path) -> str:
        """A file as the user knows it: under the project when it is a log file."""
        if self.root is not None:
            with contextlib.suppress(ValueError):
                return path.resolve().relative_to(self.root).as_posix()
        return str(path)

    def jsonl_files(self) -> list[Path]:
        return [p for p in self.files if p.suffix.lower() in JSONL_SUFFIXES]


def _current_files(workspace: Workspace | None, request: SkewRequest) -> _Current:
    config = None if workspace is None else workspace.config
    if request.current:
        for path in request.current:
            suffix = path.suffix.lower()
            if suffix not in TABLE_SUFFIXES + JSONL_SUFFIXES:
                raise UsageError(
                    f"--current {path}: must be .csv, .parquet or .jsonl, not {suffix or 'no extension'}"
                )
            if not path.is_file():
                raise DataError(f"{path}: no such file")
        return _Current(list(request.current), None, ", ".join(map(str, request.current)))
    if request.log_dir is not None:
        folder = request.log_dir
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
    return _Current(files, folder, shown, None if config is None else config.root)


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


@dataclass
class _Batch:
    """Serving rows: the features (and other columns), and what was served for them."""

    frame: Any  # pandas.DataFrame
    served: Any = None  # classes served, object array (None: not in the data)
    scores: Any = None  # (n, len(labels)) floats, NaN where not logged (None: none at all)
    versions: Any = None  # model_version per row (None: not in the data)


class _Stream:
    """Reads every current file in batches into the accumulator, re-scoring as it goes."""

    def __init__(
        self,
        current: _Current,
        reference: Any,
        model: _Model,
        accumulator: Any,
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

    # ------------------------------------------------------------------ reading

    def run(self, step: Progress) -> None:
        from mlprod_cli.adapters.tables import prefetch

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

    def _batches(self, path: Path) -> Iterator[_Batch]:
        suffix = path.suffix.lower()
        if suffix in JSONL_SUFFIXES:
            yield from _JsonLines(
                path, self.model.schema or _schema_of(self.reference), self.model.labels
            ).batches()
            return
        if suffix == ".csv":
            tables = _csv_batches(
                path, self.model.schema or _schema_of(self.reference), self.batch_rows
            )
        else:
            tables = _parquet_batches(path, self.batch_rows)
        for table in tables:
            yield _flat_batch(table.to_pandas(), self.model.labels)

    # ------------------------------------------------------------------ counting

    def _add(self, path: Path, batch: _Batch) -> None:
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
                f"{path}: none of the reference's features is in it (features: {_listing(self.names)}; its columns: {_listing([str(c) for c in frame.columns])})"
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
                batch = _Batch(
                    frame.iloc[rows],
                    None if batch.served is None else np.asarray(batch.served, dtype=object)[rows],
                    None if batch.scores is None else batch.scores[rows],
                    None,
                )
                frame = batch.frame
                if len(frame) == 0:
                    return
        self._count(batch)

    def _count(self, batch: _Batch) -> None:
        import numpy as np

        frame = batch.frame
        n = len(frame)
        add = self.accumulator.add
        can_score = self.model.version is not None
        missing = [name for name in self.model_names if name not in frame.columns]
        if can_score and missing:
            can_score = False
            reason = f"the serving data lacks features the model needs: {_listing(missing)}"
            self.unscored[reason] = self.unscored.get(reason, 0) + n
        if batch.served is None:
            if not can_score:
                add(frame)
                return
            offline, _ = self.model.predict(frame)
            self.offline_only += n
            add(frame, predictions=offline)
            return
        served = np.asarray(batch.served, dtype=object)
        self.served_rows += n
        if not can_score:
            if self.model.version is None:
                reason = "no model version to re-score with (outside a project, or no model in the registry)"
                self.unscored[reason] = self.unscored.get(reason, 0) + n
            add(frame, predictions=served)
            return
        offline, offline_scores = self.model.predict(frame)
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

    # ------------------------------------------------------------------ what to report

    def info(self) -> dict[str, Any]:
        return {
            "kind": "request log" if self.current.log is not None else "files",
            "source": self.current.shown,
            "files": self.files,
            "rows_read": self.rows_read,
            "rows": self.accumulator.rows,
            "other_versions": dict(sorted(self.other_versions.items())),
        }

    def prediction_info(self) -> dict[str, Any]:
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
        out = []
        if self.other_versions:
            others = ", ".join(f"{n:,} rows of {v}" for v, n in sorted(self.other_versions.items()))
            out.append(
                f"left out {others}: this report is about {self.model.id} (--model VERSION for another)"
            )
        info = self.prediction_info()
        if not info["checked"] and info["reason"]:
            out.append(f"prediction skew not checked: {info['reason']}")
        elif info["checked"]:
            for reason, rows in self.unscored.items():
                out.append(f"{rows:,} rows not re-scored: {reason}")
        if info["drift_from"] == "offline":
            out.append(
                f"prediction drift compares {self.model.id}'s offline predictions on the serving rows with those on the training rows"
            )
        return out


def _schema_of(reference: Any) -> dict[str, Any]:
    """A schema-like listing of the reference's features (for typing columns when reading)."""
    return {"features": [{"name": f.name, "kind": f.kind} for f in reference.features]}


def _flat_batch(frame: Any, labels: list[str]) -> _Batch:
    """A table whose columns are features, and maybe ``prediction``, ``score_<class>``,
    ``model_version`` (``mlprod predict``'s names)."""
    import numpy as np

    served = None
    if "prediction" in frame.columns and frame["prediction"].notna().any():
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
    return _Batch(frame, served, scores, versions)


# --------------------------------------------------------------------------- CSV and Parquet


def _csv_batches(path: Path, schema: dict[str, Any], batch_rows: int) -> Iterator[Any]:
    """Arrow batches of a CSV file: numeric features as float64, every other column as text.

    A numeric feature that holds text is a finding, not an error: the file is read
    again from the start with that column as text, skipping the rows already counted.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    numeric = {f["name"] for f in schema["features"] if f["kind"] == "numeric"}
    read_options = pacsv.ReadOptions(block_size=max(1 << 16, batch_rows * 64))
    try:
        with path.open("rb") as handle:
            names = pacsv.open_csv(handle, read_options=read_options).schema.names
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: cannot read it: {str(exc).splitlines()[0]}") from None
    as_text: set[str] = set()
    done = 0
    while True:
        types = {name: pa.string() for name in names}
        types.update({name: pa.float64() for name in names if name in numeric - as_text})
        skip = done
        try:
            # A file object, not the path: given a path, pyarrow reads ahead as fast as it can.
            with path.open("rb") as handle:
                reader = pacsv.open_csv(
                    handle,
                    read_options=read_options,
                    convert_options=pacsv.ConvertOptions(
                        column_types=types, strings_can_be_null=True
                    ),
                )
                for batch in reader:
                    if skip >= batch.num_rows:
                        skip -= batch.num_rows
                        continue
                    if skip:
                        batch, skip = batch.slice(skip), 0
                    done += batch.num_rows
                    yield pa.Table.from_batches([batch])
            return
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            match = re.search(r"column #(\d+)", str(exc))
            name = (
                names[int(match.group(1))] if match and int(match.group(1)) < len(names) else None
            )
            if name is not None and name in numeric and name not in as_text:
                as_text.add(name)
                continue
            raise DataError(f"{path}: cannot read it: {str(exc).splitlines()[0]}") from None


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    try:
        # Column chunks read as they are decoded, not a whole row group ahead.
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        for batch in parquet.iter_batches(batch_size=batch_rows):
            if batch.num_rows:
                yield pa.Table.from_batches([batch])
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: cannot read it: {str(exc).splitlines()[0]}") from None


# --------------------------------------------------------------------------- JSON Lines


_CHANGED = re.compile(r"Column\(/([^)]*)\) changed from")


class _JsonLines:
    """One JSON Lines file in blocks of whole lines, in the log's format or flat.

    Each block is parsed by pyarrow (in C++, on every core) with the features typed as
    the schema says: numbers as float64, categories and dates as text. A column that
    arrives otherwise (a category sent as numbers) is left to pyarrow's inference from
    then on; a column that mixes types within a block, or a line that is not JSON, sends
    the block to Python's ``json``, which either reads it or names the line.
    """

    def __init__(
        self,
        path: Path,
        schema: dict[str, Any],
        labels: list[str],
        block_bytes: int | None = None,
    ):
        self.path = path
        self.labels = labels
        self.block_bytes = block_bytes or JSON_BLOCK_BYTES
        self.forced: dict[str, str] = {
            f["name"]: ("float64" if f["kind"] == "numeric" else "string")
            for f in schema["features"]
        }
        self.log_format: bool | None = None

    def batches(self) -> Iterator[_Batch]:
        for block, first_line in self._blocks():
            if self.log_format is None:
                self.log_format = self._is_log(block, first_line)
            batch = self._parse(block, first_line)
            if batch is not None and len(batch.frame):
                yield batch

    def _blocks(self) -> Iterator[tuple[bytes, int]]:
        line = 1
        rest = b""
        try:
            with self.path.open("rb") as handle:
                while True:
                    chunk = handle.read(self.block_bytes)
                    if not chunk:
                        if rest.strip():
                            yield rest, line
                        return
                    data = rest + chunk if rest else chunk
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        rest = data
                        continue
                    block, rest = data[: cut + 1], data[cut + 1 :]
                    yield block, line
                    line += block.count(b"\n")
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read it: {exc.strerror}") from None

    def _is_log(self, block: bytes, first_line: int) -> bool:
        for offset, line in enumerate(block.split(b"\n")):
            if line.strip():
                record = self._loads(line, first_line + offset)
                return isinstance(record.get("features"), dict)
        return False

    def _loads(self, line: bytes, number: int) -> dict[str, Any]:
        where = f"{self.path}:{number}"
        try:
            record = json.loads(line)
        except UnicodeDecodeError:
            raise DataError(f"{where}: not UTF-8 text") from None
        except ValueError as exc:
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            column = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise DataError(f"{where}: not valid JSON ({detail}{column})") from None
        if not isinstance(record, dict):
            raise DataError(f"{where}: expected a JSON object, got {_json_kind(record)}")
        if (
            self.log_format
            and record.get("features") is not None
            and not isinstance(record["features"], dict)
        ):
            raise DataError(
                f"{where}: 'features' is not a JSON object but {_json_kind(record['features'])}"
            )
        return record

    def _arrow_schema(self) -> Any:
        import pyarrow as pa

        types = {"float64": pa.float64(), "string": pa.string()}
        fields = [pa.field(name, types[kind]) for name, kind in self.forced.items()]
        top = [pa.field(name, pa.string()) for name in ("model_version", "prediction")]
        if self.log_format:
            return pa.schema(
                [
                    pa.field("ts", pa.string()),
                    pa.field("request_id", pa.string()),
                    *top,
                    pa.field("features", pa.struct(fields)),
                ]
            )
        return pa.schema(fields)

    def _parse(self, block: bytes, first_line: int) -> _Batch | None:
        import pyarrow as pa
        import pyarrow.json as pajson

        if _NULL_LINE.search(block):
            # pyarrow (26) crashes the process on a block that starts with a "null" line, and
            # reads one further down as a row of nulls: Python's json names the line instead.
            return self._parse_python(block, first_line)
        while True:
            options = pajson.ParseOptions(
                explicit_schema=self._arrow_schema(), unexpected_field_behavior="infer"
            )
            try:
                table = pajson.read_json(
                    pa.py_buffer(block),
                    read_options=pajson.ReadOptions(block_size=len(block) + 1),
                    parse_options=options,
                )
                break
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                match = _CHANGED.search(str(exc))
                name = None
                if match:
                    column = match.group(1)
                    prefix = "features/" if self.log_format else ""
                    if column.startswith(prefix):
                        name = column[len(prefix) :]
                if name is not None and name in self.forced:
                    del self.forced[name]  # not as the schema says: pyarrow infers it from now on
                    continue
                return self._parse_python(block, first_line)
        return self._from_arrow(table, block)

    def _from_arrow(self, table: Any, block: bytes) -> _Batch:
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
            if "prediction" in names and table.column("prediction").null_count < len(table):
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
            return _Batch(frame_table.to_pandas(), served, scores, versions)
        columns = {name: table.column(name) for name in table.column_names}
        return _flat_batch(pa.table(self._present(columns, block)).to_pandas(), self.labels)

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

    def _parse_python(self, block: bytes, first_line: int) -> _Batch:
        import numpy as np
        import pandas as pd

        records = [
            self._loads(line, first_line + offset)
            for offset, line in enumerate(block.split(b"\n"))
            if line.strip()
        ]
        if not self.log_format:
            return _flat_batch(pd.DataFrame.from_records(records), self.labels)
        frame = pd.DataFrame.from_records([r.get("features") or {} for r in records])
        served = np.asarray([r.get("prediction") for r in records], dtype=object)
        versions = np.asarray([r.get("model_version") for r in records], dtype=object)
        if all(r.get("prediction") is None for r in records):
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
        return _Batch(frame, served, scores, versions)


_NULL_LINE = re.compile(rb"(?m)^[ \t\r]*null[ \t\r]*$")


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
    }.get(type(value), type(value).__name__)


def _listing(items: list[Any], limit: int = 12) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")
