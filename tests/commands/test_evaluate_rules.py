"""``mlprod evaluate`` of a version trained with rules, through ``main()``: every format."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from mlprod_cli.cli import main


@pytest.fixture
def here(rules_trained, monkeypatch):
    monkeypatch.chdir(rules_trained)
    return rules_trained


def test_json_has_the_rules_beside_the_model(here, capsys):
    assert main(["evaluate", "-m", "v0002", "--no-store", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    rules = data["rules"]
    assert list(rules) == ["file", "sha256", "version_sha256", "same_as_version", "policy",
                           "fallback", "rows", "answered", "abstained", "abstain_rate",
                           "objective", "report", "slices", "per_rule"]  # fmt: skip
    assert rules["file"] == "rules.yaml" and rules["same_as_version"] is True
    assert rules["rows"] == data["n_samples"] == rules["answered"] + rules["abstained"]
    assert rules["report"]["n_samples"] == rules["answered"]
    assert rules["objective"]["metric"] == "recall@melanoma"
    assert rules["objective"]["model"] == next(
        c["recall"] for c in data["classes"] if c["label"] == "melanoma"
    )
    assert [r["id"] for r in rules["per_rule"]] == ["no_sk_on_palms_soles", "kids", "referred",
                                                     "trunk_two"]  # fmt: skip
    palms = rules["per_rule"][0]
    assert palms["fired"] > 0 and palms["fire_rate"] == pytest.approx(palms["fired"] / 635)
    assert set(rules["slices"]) == {"sex"}
    assert data["gates"] and all(g["passed"] for g in data["gates"]) is data["passed"]


def test_a_changed_file_is_evaluated_as_it_is_now_and_said_so(here, capsys):
    rules = here / "rules.yaml"
    rules.write_text(rules.read_text().replace("age < 18", "age < 99"))
    assert main(["evaluate", "-m", "v0002", "--no-store"]) == 0
    out = capsys.readouterr().out
    assert "rules rules.yaml (sha256 " in out and "differs from the version's copy" in out
    assert "model v0002 and model v0002 + rules" in out and "rules on 635 rows" in out
    assert main(["evaluate", "-m", "v0002", "--no-store", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)["rules"]
    assert data["same_as_version"] is False and data["abstained"] > 0
    assert data["answered"] == data["report"]["n_samples"]


def test_every_format_shows_the_rules(here, capsys, tmp_path):
    assert main(["evaluate", "-m", "v0002", "--no-store", "-f", "markdown"]) == 0
    markdown = capsys.readouterr().out
    assert "### model v0002 and model v0002 + rules" in markdown
    assert "### rules on 635 rows" in markdown
    assert main(["evaluate", "-m", "v0002", "--no-store", "-f", "junit"]) == 0
    root = ET.fromstring(capsys.readouterr().out)
    suite = root.find("testsuite[@name='mlprod evaluate rules']")
    assert suite is not None and len(suite.findall("testcase")) == 4
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in root.findall("testsuite"))
    out = tmp_path / "report.html"
    assert main(["evaluate", "-m", "v0002", "--no-store", "-f", "html", "-o", str(out)]) == 0
    html = out.read_text()
    assert "<h2>Model and model + rules</h2>" in html and "no_sk_on_palms_soles" in html


def test_a_broken_rules_file_is_one_line_and_nothing_stored(here, capsys, tree_snapshot):
    (here / "rules.yaml").write_text("rules:\n  - id: x\n    when: 'site =='\n    abstain: true\n")
    before = tree_snapshot(here)
    assert main(["evaluate", "-m", "v0002"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: rules.yaml:3: rule 'x': when: ") and err.count("\n") == 1
    assert tree_snapshot(here) == before
