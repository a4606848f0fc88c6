"""``mlprod predict`` on a version trained with rules, through ``main()``."""

from __future__ import annotations

import json

import pandas as pd

from mlprod_cli.cli import main


def test_rules_are_applied_and_summarised(rules_trained, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(rules_trained)
    out = tmp_path / "out.csv"
    assert main(["predict", "data/lesions.csv", "-o", str(out), "-m", "v0002"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("wrote 3,000 predictions of v0002")
    assert lines[1].startswith("rules models/v0002/rules.yaml (sha256 ")
    got = pd.read_csv(out, keep_default_na=False, na_values={"prediction": [""]})
    palms = got["rules"] == "no_sk_on_palms_soles"
    assert palms.sum() > 0 and not (got.loc[palms, "prediction"] == "seborrheic_keratosis").any()
    assert (got["abstained"] == got["prediction"].isna()).all()
    assert main(["predict", "data/lesions.csv", "-o", str(out), "-m", "v0002", "-f", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rules"]["fired"]["no_sk_on_palms_soles"] == int(palms.sum())
    assert summary["rules"]["abstained"] == int(got["abstained"].sum())
    assert f"{summary['rules']['abstained']:,} row" in lines[1]


def test_a_changed_rules_file_is_refused_without_rules_from_file(
    rules_trained, monkeypatch, capsys, tmp_path, tree_snapshot
):
    monkeypatch.chdir(rules_trained)
    rules = rules_trained / "rules.yaml"
    rules.write_text(rules.read_text().replace("age < 18", "age < 16"))
    before = tree_snapshot(rules_trained)
    out = rules_trained / "out.csv"
    assert main(["predict", "data/lesions.csv", "-o", str(out), "-m", "v0002"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: rules.yaml differs from the rules v0002 was trained with")
    assert err.count("\n") == 1
    assert tree_snapshot(rules_trained) == before
    args = ["predict", "data/lesions.csv", "-o", str(out), "-m", "v0002", "--rules-from-file"]
    assert main(args) == 0
    assert "rules rules.yaml (the project's file, --rules-from-file)" in capsys.readouterr().out


def test_a_bad_rules_file_with_rules_from_file_is_one_line(rules_trained, monkeypatch, capsys):
    monkeypatch.chdir(rules_trained)
    (rules_trained / "rules.yaml").write_text(
        "rules:\n  - id: x\n    when: 'nope == 1'\n    abstain: true\n"
    )
    args = ["predict", "data/lesions.csv", "-o", "o.csv", "-m", "v0002", "--rules-from-file"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: rules.yaml:3: rule 'x': when: unknown field 'nope'")
    assert err.count("\n") == 1 and not (rules_trained / "o.csv").exists()
