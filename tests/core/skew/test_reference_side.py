"""mlprod_cli.core.skew._reference_side: the training split or a file, and the cache."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlprod_cli.core.skew import SkewRequest, run_skew, to_dict
from tests.core.skew.support import run

# --------------------------------------------------------------------------- the reference


def test_reference_cache_is_reused_and_gives_the_same_report(trained, served):
    served.log(trained, served.X.assign(age=served.X["age"] + 3))
    first = run(trained)
    cached = list((trained / ".mlprod" / "skew-cache").glob("v0002-*.json"))
    assert len(cached) == 1 and first.reference["cached"] is False
    second = run(trained)
    assert second.reference["cached"] is True
    assert to_dict(second.report) == to_dict(first.report)
    cached[0].write_text("{damaged")
    assert to_dict(run(trained).report) == to_dict(first.report)  # rebuilt, not an error
    assert to_dict(run(trained, use_cache=False).report) == to_dict(first.report)


def test_reference_file_without_a_model_anywhere(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(list("abc"), 3000)})
    cur = pd.DataFrame({"x": rng.normal(1.0, size=2000), "c": rng.choice(list("abd"), 2000)})
    ref.to_parquet(tmp_path / "ref.parquet")
    cur.to_csv(tmp_path / "cur.csv", index=False)
    result = run_skew(
        None,
        SkewRequest(reference=tmp_path / "ref.parquet", current=(tmp_path / "cur.csv",)),
    )
    assert result.version is None and result.report.predictions is None
    assert result.report.feature("x").status == "fail"
    assert [(x.kind, x.examples) for x in result.report.schema if x.column == "c"] == [
        ("unseen_categories", ("d",))
    ]
    assert not (tmp_path / ".mlprod").exists()


def test_training_data_changed_since_training_is_said(trained, served):
    served.log(trained)
    data = trained / "data" / "lesions.csv"
    lines = data.read_text().splitlines(keepends=True)
    data.write_text("".join(lines[:1] + lines[301:]))  # 300 rows fewer than at training
    result = run(trained)
    changed, rows = result.notes[:2]
    assert changed.startswith("data/lesions.csv has changed since v0002 was trained (sha256 ")
    assert rows.startswith("the training split of v0002 had 2,365 rows; rebuilt today it has ")
    assert result.reference["rows"] < 2365
