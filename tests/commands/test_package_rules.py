"""``mlprod package`` on a project with rules: the rules file goes into the context."""

from __future__ import annotations

import hashlib
import json

import pytest

from mlprod_cli.cli import main
from mlprod_cli.core.package import MANIFEST
from tests.conftest import RULES_TEXT
from tests.serving import activate_model


@pytest.fixture
def rules_active(rules_trained, monkeypatch):
    monkeypatch.chdir(rules_trained)
    return activate_model(rules_trained)


def test_the_context_carries_the_rules_and_the_dockerfile_copies_them(
    rules_active, capsys, monkeypatch
):
    assert main(["package", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    context = rules_active / "dist" / "docker"
    assert (context / "rules.yaml").read_bytes() == RULES_TEXT.encode()
    assert (context / "models" / "v0002" / "rules.yaml").read_bytes() == RULES_TEXT.encode()
    listed = {f["path"]: f for f in report["files"]}
    digest = hashlib.sha256(RULES_TEXT.encode()).hexdigest()
    assert listed["rules.yaml"]["sha256"] == digest
    assert json.loads((context / MANIFEST).read_text())["files"] == report["files"]
    dockerfile = (context / "Dockerfile").read_text()
    # after each copy of mlprod.yaml: the build stage's serve --check and the runtime
    assert dockerfile.count("COPY mlprod.yaml ./\nCOPY rules.yaml ./rules.yaml\n") == 2
    # The context serves as the image would: its own mlprod.yaml, rules and model.
    monkeypatch.chdir(context)
    monkeypatch.setenv("MLPROD_NO_DELEGATE", "1")
    assert main(["serve", "--check", "--port", "0", "--log-dir", str(context / "logs")]) == 0
    assert "with 4 rules (rules.yaml)" in capsys.readouterr().err


def test_rules_that_differ_from_the_version_are_refused_and_nothing_written(rules_active, capsys):
    rules = rules_active / "rules.yaml"
    rules.write_text(RULES_TEXT.replace("age < 18", "age < 21"))
    assert main(["package"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: rules.yaml differs from the rules v0002 was trained with")
    assert not (rules_active / "dist").exists()


def test_a_dockerfile_that_copies_the_rules_itself_is_left_alone(rules_active, capsys):
    dockerfile = rules_active / "Dockerfile"
    text = dockerfile.read_text().replace(
        "COPY mlprod.yaml ./\n", "COPY mlprod.yaml rules.yaml ./\n"
    )
    dockerfile.write_text(text)
    assert main(["package"]) == 0
    capsys.readouterr()
    packaged = (rules_active / "dist" / "docker" / "Dockerfile").read_text()
    assert "COPY rules.yaml ./rules.yaml" not in packaged
    assert packaged.count("COPY mlprod.yaml rules.yaml ./\n") == 2


def test_check_says_whether_the_rules_file_holds_the_active_models_rules(rules_active, capsys):
    assert main(["check", "--no-venv", "--format", "json"]) == 0
    items = {i["name"]: i for i in json.loads(capsys.readouterr().out)["checks"]}
    assert items["rules"]["status"] == "ok"
    assert items["rules"]["detail"].startswith(
        "rules.yaml holds the rules v0002 was trained with (4 rules, sha256 "
    )
    (rules_active / "rules.yaml").write_text(RULES_TEXT + "\n# edited\n")
    assert main(["check", "--no-venv", "--format", "json"]) == 0  # a warning, not a failure
    items = {i["name"]: i for i in json.loads(capsys.readouterr().out)["checks"]}
    assert items["rules"]["status"] == "warn"
    assert items["rules"]["detail"] == "rules.yaml differs from the rules v0002 was trained with"
