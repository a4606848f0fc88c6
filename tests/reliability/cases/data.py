"""Data files as they come (issue 11): encodings, column types, special files, request logs."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

from tests.reliability.cases import ACTIVE, DATA, HEADER, LOG, Case, Setup, log_line, write


def _parquet(change: str) -> Setup:
    """``in.parquet``: the template's data with column ``sex`` made bytes or structs."""

    def setup(root: Path) -> None:
        import pandas as pd

        frame = pd.read_csv(root / DATA, dtype={"lesion_id": str})
        if change == "bytes":
            frame["sex"] = frame["sex"].map(str.encode)
        else:
            frame["sex"] = [{"value": v} for v in frame["sex"]]
        out = io.BytesIO()
        frame.to_parquet(out)
        (root / "in.parquet").write_bytes(out.getvalue())

    return setup


def _fifo(rel: str) -> Setup:
    def setup(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(root / rel)

    return setup


def _link(rel: str, target: str) -> Setup:
    def setup(root: Path) -> None:
        (root / rel).symlink_to(target)

    return setup


LATIN1 = (HEADER + "\n" + "L1,2024-08-01,37,male,tr\u00fcnk,7.5,0,2,2,0\n").encode("latin-1")
PREDICT = ("predict", "in.csv", "--output", "out.csv")
DEEP = "[" * 100_000 + "]" * 100_000


def _log(*lines: str) -> Setup:
    return write(LOG, "".join(line + "\n" for line in lines))


# fmt: off
CASES = [
    # ---- predict: what train refuses too, with the same reason
    Case("predict/input-not-utf8", PREDICT, "in.csv: cannot read it: not UTF-8 at byte 130 (line 2)", (ACTIVE, write("in.csv", LATIN1))),
    Case("predict/parquet-bytes-column", ("predict", "in.parquet", "--output", "out.csv"), "column 'sex' holds bytes, which mlprod cannot use as a feature", (ACTIVE, _parquet("bytes"))),
    Case("predict/parquet-struct-column", ("predict", "in.parquet", "--output", "out.csv"), "column 'sex' holds structs, which mlprod cannot use as a feature", (ACTIVE, _parquet("structs"))),
    Case("train/data-not-utf8", ("train", "--data", "in.csv", "--cv", "0"), "UnicodeDecodeError: not UTF-8 at byte 130 (line 2)", (write("in.csv", LATIN1),)),
    Case("train/parquet-bytes-column", ("train", "--data", "in.parquet", "--cv", "0"), "column 'sex' holds bytes, which mlprod cannot use as a feature", (_parquet("bytes"),)),
    Case("train/parquet-struct-column", ("train", "--data", "in.parquet", "--cv", "0"), "column 'sex' holds structs, which mlprod cannot use as a feature", (_parquet("structs"),)),
    # ---- special files where a table is read: refused before they are opened
    Case("predict/input-fifo", PREDICT, "in.csv: is a named pipe (FIFO), not a file", (ACTIVE, _fifo("in.csv"))),
    Case("predict/input-dev-zero", PREDICT, "in.csv: is a device, not a file", (ACTIVE, _link("in.csv", "/dev/zero"))),
    Case("predict/input-dangling-link", PREDICT, "in.csv: a symlink to gone.csv, which does not exist", (ACTIVE, _link("in.csv", "gone.csv"))),
    Case("predict/input-looping-link", PREDICT, "in.csv: cannot read it: Too many levels of symbolic links", (ACTIVE, _link("in.csv", "in.csv"))),
    Case("train/data-fifo", ("train", "--data", "in.csv", "--cv", "0"), "in.csv: is a named pipe (FIFO), not a file", (_fifo("in.csv"),)),
    Case("train/data-dev-urandom", ("train", "--data", "in.csv", "--cv", "0"), "in.csv: is a device, not a file", (_link("in.csv", "/dev/urandom"),)),
    Case("evaluate/predictions-fifo", ("evaluate", "--predictions", "p.csv", "--label-col", "y", "--pred-col", "p"), "p.csv: is a named pipe (FIFO), not a file", (_fifo("p.csv"),), base="empty"),
    Case("skew/current-fifo", ("skew", "--current", "in.csv", "--model", "v0002"), "in.csv: is a named pipe (FIFO), not a file", (_fifo("in.csv"),)),
    Case("skew/reference-dev-zero", ("skew", "--reference", "ref.csv", "--current", DATA, "--model", "v0002"), "ref.csv: is a device, not a file", (_link("ref.csv", "/dev/zero"),)),
    Case("new/data-fifo", ("new", "ok", "--target", "y", "--data", "t.csv", "--no-input", "--no-venv", "--no-git"), "--data t.csv: is a named pipe (FIFO), not a file", (_fifo("t.csv"),), base="empty"),
    Case("new/data-dangling-link", ("new", "ok", "--target", "y", "--data", "t.csv", "--no-input", "--no-venv", "--no-git"), "--data t.csv: a symlink to gone.csv, which does not exist", (_link("t.csv", "gone.csv"),), base="empty"),
    # ---- skew on hostile request logs: the file and line named
    Case("skew/log-line-nested-deep", ("skew",), f"{LOG}:2: arrays or objects nested too deeply", (ACTIVE, _log(log_line(), DEEP))),
    Case("skew/log-line-nested-deep-object", ("skew",), f"{LOG}:2: arrays or objects nested too deeply", (ACTIVE, _log(log_line(), '{"a": ' * 100_000 + "1" + "}" * 100_000))),
    Case("skew/log-line-a-list", ("skew",), f"{LOG}:2: expected a JSON object, got an array", (ACTIVE, _log(log_line(), json.dumps([1, 2])))),
]
# fmt: on
