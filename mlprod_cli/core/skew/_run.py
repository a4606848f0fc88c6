"""``mlprod skew``: find both sides, stream the serving data, re-score it, compare.

:func:`run_skew` is the whole run, in the order it happens: the version checked
(:mod:`~mlprod_cli.core.skew._model`), the reference summarised or read from the cache
(:mod:`~mlprod_cli.core.skew._reference_side`), ``skew.thresholds`` checked against
its features before any serving data is read, the serving data streamed and
re-scored (:mod:`~mlprod_cli.core.skew._current_side`), and the two compared
(:mod:`~mlprod_cli.core.skew._compare`), with the rules' fire rates on both sides
for a version with rules (:mod:`~mlprod_cli.core.skew._rules`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlprod_cli.adapters.tables import BATCH_ROWS
from mlprod_cli.core.config import Config
from mlprod_cli.core.skew._accumulator import CurrentAccumulator
from mlprod_cli.core.skew._compare import compare
from mlprod_cli.core.skew._current_side import Stream, current_files
from mlprod_cli.core.skew._model import Model, chosen_version, served_or_active_version
from mlprod_cli.core.skew._reference import SAMPLE_SIZE, ReferenceSummary
from mlprod_cli.core.skew._reference_side import ReferenceSide
from mlprod_cli.core.skew._report import SkewReport
from mlprod_cli.core.skew._rules import rule_rates
from mlprod_cli.core.skew._thresholds import resolve_thresholds
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import ConfigError, DataError, UsageError

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SkewRequest:
    """What ``mlprod skew`` was asked (paths as given)."""

    reference: Path | None = None
    current: tuple[Path, ...] = ()
    log_dir: Path | None = None
    version_id: str | None = None
    batch_rows: int = BATCH_ROWS
    use_cache: bool = True
    sample_size: int | None = None  # None: SAMPLE_SIZE
    step_per_file: bool = False  # a progress step per file read (on a terminal), not one for all


@dataclass
class SkewRun:
    """A skew report and where its two sides came from."""

    report: SkewReport
    version: str | None
    reference: dict[str, Any]
    current: dict[str, Any]
    prediction_skew: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    project: str | None = None
    seconds: float = 0.0
    # With the version's rules: each rule's fire rate on the reference and serving rows
    # (core/skew/_rules.rule_rates); None without rules.
    rules: dict[str, Any] | None = None


def project_workspace() -> Workspace | None:
    """The project when run inside one, else ``None`` (skew works anywhere)."""
    from mlprod_cli.core.project import find_project_root

    return Workspace.load() if find_project_root() is not None else None


def run_skew(
    workspace: Workspace | None, request: SkewRequest, *, progress: Progress | None = None
) -> SkewRun:
    """Compare the reference with the current data as ``request`` says; see the module doc."""
    config = None if workspace is None else workspace.config

    started = time.perf_counter()
    step = progress or (lambda _text: None)
    if request.batch_rows < 1:
        raise UsageError(f"--batch-rows must be at least 1, got {request.batch_rows}")
    sample_size = request.sample_size or SAMPLE_SIZE
    registry = None
    if workspace is not None:
        registry = workspace.registry
    elif request.version_id:
        raise UsageError("--model needs a project (mlprod.yaml and its registry)")
    chosen = chosen_version(registry, request.version_id)  # a bad --model is said before reading
    current = current_files(workspace, request.current, request.log_dir)
    version = chosen or served_or_active_version(registry, current.jsonl_files())
    if version is None and request.reference is None:
        raise DataError(
            "no reference: pass --reference FILE or train and activate a model",
            hint="'mlprod train --activate'",
        )
    notes: list[str] = []
    rules = None
    if version is not None and config is not None:
        from mlprod_cli.core.predict import snapshot_rules

        rules = snapshot_rules(config, version)  # what served it, whatever the file says now
    model = Model(registry, version, rules)
    side = ReferenceSide(
        config,
        model,
        request.reference,
        use_cache=request.use_cache,
        sample_size=sample_size,
        notes=notes,
    )
    step(f"summarising the reference ({side.describe()})")
    reference = side.summary()
    thresholds, overrides = _check_thresholds(config, reference)
    _release_memory()
    ignore = _ignore_columns(config, model.labels)
    accumulator = CurrentAccumulator(reference, sample_size=sample_size, ignore_columns=ignore)
    step(f"reading {current.describe()}")
    stream = Stream(
        current,
        reference,
        model,
        accumulator,
        request.batch_rows,
        step_per_file=request.step_per_file,
    )
    stream.run(step)
    step("comparing")
    report = compare(reference, accumulator, thresholds, overrides)
    notes += stream.notes()
    rules_entry = None
    serving_rules = stream.rules_counts()
    if serving_rules is not None and side.rule_counts is not None:
        counts, source = serving_rules
        rules_entry, rule_notes = rule_rates(rules, side.rule_counts, counts, source=source)
        notes += rule_notes
    side.save_cache()
    return SkewRun(
        report=report,
        version=None if version is None else version.id,
        reference=side.info,
        current=stream.info(),
        prediction_skew=stream.prediction_info(),
        rules=rules_entry,
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


def _check_thresholds(config: Config | None, reference: ReferenceSummary) -> tuple[Any, Any]:
    """``skew.thresholds`` and ``skew.features``, checked against the reference's features
    before any serving data is read; a bad one names mlprod.yaml and its line."""
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
    ignore = ["prediction", "model_version", "ts", "request_id", "rules", "abstained"]
    ignore += [f"score_{label}" for label in labels]
    if config is not None:
        ignore += [config.data.target, *config.data.exclude]
    return ignore
