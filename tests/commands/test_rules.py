"""``mlprod rules test`` through main(), and what train does with the rules file."""

from __future__ import annotations

import json

import pytest

from mlprod_cli.adapters.wheel import templates_dir
from mlprod_cli.cli import main

SAMPLE_RULES = templates_dir() / "classification" / "{{cookiecutter.project_name}}" / "rules.yaml"


def _with_sample_rules(folder):
    (folder / "rules.yaml").write_text(SAMPLE_RULES.read_text())
    config = folder / "mlprod.yaml"
    config.write_text(config.read_text() + "rules: rules.yaml\n")
    return folder


@pytest.fixture
def here(here):
    """The trained project with the sample's own rules.yaml (its example rule) put back."""
    return _with_sample_rules(here)


def test_the_sample_rules_pass_against_the_trained_model(here, capsys):
    assert main(["rules", "test"]) == 0
    out = capsys.readouterr().out
    assert "valid against the classes and fields of v0002" in out
    assert (
        'no_sk_on_palms_soles: when anatomic_site == "palms/soles" -> deny seborrheic_keratosis'
        in out
    )
    assert out.rstrip().endswith("2 of 2 cases pass")


def test_json_names_the_file_its_hash_and_every_case(here, capsys):
    import hashlib

    assert main(["rules", "test", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["sha256"] == hashlib.sha256((here / "rules.yaml").read_bytes()).hexdigest()
    assert [c["passed"] for c in report["cases"]] == [True, True]
    assert report["rules"][0]["id"] == "no_sk_on_palms_soles"


def test_a_failing_case_is_exit_1_with_expected_and_got(here, capsys):
    rules = here / "rules.yaml"
    rules.write_text(rules.read_text().replace("class: nevus}", "class: melanoma}"))
    assert main(["rules", "test"]) == 1
    out = capsys.readouterr().out
    assert "FAIL a lesion on the sole is never called a seborrheic keratosis" in out
    assert "expected fired ['no_sk_on_palms_soles']; class melanoma" in out
    assert "got      fired ['no_sk_on_palms_soles']; class nevus" in out
    assert "1 of 2 cases pass" in out


def test_without_a_model_the_data_gives_the_classes(project, monkeypatch, capsys):
    monkeypatch.chdir(_with_sample_rules(project))
    assert main(["rules", "test"]) == 0
    assert (
        "valid against mlprod.yaml's features and the 3 classes of the data"
        in capsys.readouterr().out
    )


def test_a_project_without_rules_has_nothing_to_test(here, capsys):
    config = here / "mlprod.yaml"
    config.write_text(config.read_text().replace("rules: rules.yaml", ""))
    assert main(["rules", "test"]) == 0
    assert "nothing to test" in capsys.readouterr().out


def test_bad_rules_are_one_line_naming_the_rule(refuses, here):
    rules = here / "rules.yaml"
    rules.write_text(rules.read_text().replace("[seborrheic_keratosis]", "[keratosis]"))
    refuses(
        ["rules", "test"], "rule 'no_sk_on_palms_soles': deny_classes: unknown class 'keratosis'"
    )
    refuses(["train"], "rule 'no_sk_on_palms_soles': deny_classes: unknown class 'keratosis'")


def test_a_case_naming_an_unknown_field_is_refused(refuses, here):
    rules = here / "rules.yaml"
    rules.write_text(
        rules.read_text().replace("input: {anatomic_site: trunk}", "input: {site: trunk}")
    )
    refuses(["rules", "test"], "input: unknown field 'site'")


def test_the_rules_path_must_be_a_file_inside_the_project(refuses, here, tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text((here / "rules.yaml").read_text())
    config = here / "mlprod.yaml"
    text = config.read_text()
    config.write_text(text.replace("rules: rules.yaml", f"rules: {outside}"))
    refuses(["rules", "test"], "is outside the project")
    (here / "linked.yaml").symlink_to(here / "rules.yaml")
    config.write_text(text.replace("rules: rules.yaml", "rules: linked.yaml"))
    refuses(["rules", "test"], "linked.yaml: is a symbolic link")
    config.write_text(text.replace("rules: rules.yaml", "rules: [a, b]"))
    refuses(["rules", "test"], "not the rules themselves")


def test_train_keeps_a_copy_of_the_rules_with_each_version(rules_trained):
    import hashlib

    here = rules_trained
    versions = json.loads((here / "models" / "v0002" / "metadata.json").read_text())["rules"]
    data = (here / "rules.yaml").read_bytes()
    assert versions == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "file": "rules.yaml",
        "ids": ["no_sk_on_palms_soles", "kids", "referred", "trunk_two"],
        "policy": "first",
        "fallback": "abstain",
    }
    assert (here / "models" / "v0002" / "rules.yaml").read_bytes() == data
    assert (here / "models" / "v0001" / "rules.yaml").read_bytes() == data
