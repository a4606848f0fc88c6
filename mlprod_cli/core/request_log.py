"""The request log: the one file format ``serve`` writes and ``skew`` reads.

One JSON object per served row, in files named for the UTC day of the
request, with a part number once a file is full and a worker part when
several processes write::

    requests-2026-12-02.jsonl
    requests-2026-12-02.1.jsonl           (after the first reached its size limit)
    requests-2026-12-02.pid4242.jsonl     (serve --workers N: one file per worker)

A line is :func:`record`: ``ts``, ``request_id``, ``model_version``,
``features`` (the request's row, fields the model does not use included),
``prediction``, ``scores`` and, for a version with rules, ``rules``. Both sides take the names, the order and the
record shape from here, so they cannot drift apart.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

PREFIX = "requests-"
SUFFIX = ".jsonl"
FIELDS = ("ts", "request_id", "model_version", "prediction", "scores")
"""Top-level fields of a line other than ``features`` (and ``rules``)."""
RULES = "rules"
"""The field of a line naming the rules that fired on it (versions with rules only)."""

_NAME = re.compile(r"^requests-(\d{4}-\d{2}-\d{2})(\.pid\d+)?(?:\.(\d+))?\.jsonl$")


def file_name(day: str, *, worker: str = "", part: int = 0) -> str:
    """``requests-DAY[.pidN][.PART].jsonl``; ``worker`` is ``""`` or ``".pidN"``."""
    return f"{PREFIX}{day}{worker}{f'.{part}' if part else ''}{SUFFIX}"


def write_order(path: Path) -> tuple:
    """The order ``serve`` writes its files in: by day, worker, then part
    (``requests-DAY.jsonl``, ``.1``, ``.2`` … ``.10``); other names after, by name."""
    match = _NAME.match(path.name)
    if match is None:
        return ("~", "", 0, path.name)
    day, pid, part = match.groups()
    return (day, pid or "", int(part or 0), path.name)


def log_files(folder: Path, *, any_name: bool = False) -> list[Path]:
    """The log's files under ``folder`` in write order.

    ``any_name`` takes every ``*.jsonl`` there (``skew`` reads a folder of
    JSON Lines that need not come from ``serve``); otherwise only the names
    ``serve`` writes.
    """
    if not folder.is_dir():
        return []
    pattern = f"*{SUFFIX}" if any_name else f"{PREFIX}*{SUFFIX}"
    return sorted((p for p in folder.glob(pattern) if p.is_file()), key=write_order)


def record(
    ts: str,
    request_id: str,
    model_version: str,
    features: Any,
    prediction: Any,
    scores: Any,
    *,
    rules: Any = None,
) -> dict[str, Any]:
    """One line of the log, as a mapping (``serve`` writes it, ``skew`` reads it).

    ``rules``: the ids of the rules that fired on the row, for a version with
    rules (a ``rules`` list then ends the line, empty when none fired; the
    prediction is null where they abstained); a version without rules writes no
    ``rules`` field.
    """
    line = {
        "ts": ts,
        "request_id": request_id,
        "model_version": model_version,
        "features": features,
        "prediction": prediction,
        "scores": scores,
    }
    if rules is not None:
        line[RULES] = list(rules)
    return line
