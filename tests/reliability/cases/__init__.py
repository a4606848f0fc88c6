"""The bad-input catalogue's cases, and the setups that break a copy of a project.

Each module here holds a ``CASES`` list of :class:`Case`; ``test_bad_input_catalogue``
runs every case of every module (:func:`all_cases`). A new area of bad input gets a
module of its own, so that the catalogue grows without one list everybody edits.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    expect: str  # a distinctive part of the error line
    setup: tuple[Setup, ...] = ()
    base: str = "trained"  # trained, rendered, or empty (a folder without a project)
    env: dict[str, str] = field(default_factory=dict)
    subprocess: bool = False  # the case edits the project's Python code


# --------------------------------------------------------------------------- breaking a copy


def write(rel: str, content: str | bytes) -> Setup:
    def setup(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return setup


def edit(old: str, new: str, rel: str = "mlprod.yaml") -> Setup:
    def setup(root: Path) -> None:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} is not in {rel}: the template changed, fix the case"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return setup


def edit_re(pattern: str, new: str, rel: str = "mlprod.yaml") -> Setup:
    """Like :func:`edit`, for text whose numbers were measured (the gates' bounds)."""
    import re

    def setup(root: Path) -> None:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        changed, n = re.subn(pattern, new, text, count=1)
        assert n == 1, f"{pattern!r} is not in {rel}: the template changed, fix the case"
        path.write_text(changed, encoding="utf-8")

    return setup


def remove(rel: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / rel
        shutil.rmtree(path) if path.is_dir() else path.unlink()

    return setup


def rename(rel: str, to: str) -> Setup:
    def setup(root: Path) -> None:
        (root / rel).rename(root / to)

    return setup


def edit_metadata(version: str, **changes) -> Setup:
    def setup(root: Path) -> None:
        path = root / "models" / version / "metadata.json"
        metadata = json.loads(path.read_text())
        metadata.update(changes)
        path.write_text(json.dumps(metadata))

    return setup


def append_byte(rel: str) -> Setup:
    def setup(root: Path) -> None:
        with (root / rel).open("ab") as handle:
            handle.write(b"\0")

    return setup


def append_byte_glob(folder: str, pattern: str) -> Setup:
    """Change the one file matching ``folder/pattern`` by a byte."""

    def setup(root: Path) -> None:
        (path,) = (root / folder).glob(pattern)
        path.write_bytes(path.read_bytes() + b"\0")

    return setup


def active(model: str | None = "v0002", baseline: str | None = "v0001") -> Setup:
    """Make versions active as ``models activate`` leaves them (without running the gates)."""
    history = {k: [v] for k, v in (("model", model), ("baseline", baseline)) if v}
    return write(
        "models/active.json",
        json.dumps({"model": model, "baseline": baseline, "history": history}),
    )


ACTIVE = active()
HEADER = "lesion_id,visit_date,age,sex,anatomic_site,diameter_mm,asymmetry,border_irregularity,color_count,evolving"
ROW = "L1,2024-08-01,37,male,trunk,7.5,0,2,2,0"
ROWS = f"{HEADER}\n{ROW}\n"
PREDICTIONS = "y,p,score_a,score_b\na,a,0.9,0.1\nb,b,0.2,0.8\na,b,0.4,0.6\n"
PRED = ("evaluate", "--predictions", "p.csv", "--label-col", "y", "--pred-col", "p")
NEW = ("--no-input", "--no-venv", "--no-git")
# A small table for new --data: x numeric, y two classes, a constant, a blank and an id column.
TABLE = "id,x,y,same,blank,when\n" + "".join(
    f"r{i},{i * 0.5},{'a' if i % 3 else 'b'},s,,day {i}\n" for i in range(40)
)
DATA_NEW = ("--data", "t.csv", *NEW)
SPLIT = 'split: {by: time, column: visit_date, cutoff: "2024-07-01"}'
GRID = "classifier__C: [0.1, 0.3, 1.0, 3.0, 10.0]"
CV = "  cv: 5\n"
LOG = "logs/requests/requests-2024-08-01.jsonl"
DATA = "data/lesions.csv"


# Nine aliases of nine aliases of … nine strings: 9**9 values once expanded.
LAUGHS = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=False)
)


def log_line(version: str = "v0002") -> str:
    features = dict(zip(HEADER.split(",")[2:], [37, "male", "trunk", 7.5, 0, 2, 2, 0], strict=True))
    return json.dumps({"model_version": version, "features": features, "prediction": "nevus"})


def all_cases() -> list[Case]:
    """The ``CASES`` of every module of this package, in the modules' name order."""
    import importlib
    import pkgutil

    found: list[Case] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        found += importlib.import_module(f"{__name__}.{info.name}").CASES
    return found
