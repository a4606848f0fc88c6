"""``models activate`` and ``models rollback`` put the rules that went with a version back."""

from __future__ import annotations

import json

from mlprod_cli.cli import main
from tests.conftest import RULES_TEXT


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def _second_version(project, monkeypatch, capsys) -> bytes:
    """v0002 active with RULES_TEXT; v0003 trained with edited rules and made active."""
    monkeypatch.chdir(project)
    assert main(["models", "activate", "v0002", "--force"]) == 0
    rules = project / "rules.yaml"
    edited = RULES_TEXT.replace("age < 18", "age < 16").encode()
    rules.write_bytes(edited)
    assert main(["train", "--model-only", "--cv", "0", "--activate", "--force"]) == 0
    capsys.readouterr()
    assert (project / "models" / "v0003" / "rules.yaml").read_bytes() == edited
    return edited


def test_rollback_restores_the_rules_that_went_with_the_version(
    rules_trained, monkeypatch, capsys, tmp_path
):
    _second_version(rules_trained, monkeypatch, capsys)
    assert main(["models", "rollback", "-f", "json"]) == 0
    outcome = _json(capsys)
    assert outcome["version"] == "v0002" and outcome["rules"]["action"] == "restored"
    assert outcome["rules"]["backup"] is None
    assert (rules_trained / "rules.yaml").read_bytes() == RULES_TEXT.encode()
    # What answers now is v0002 with its own rules: no --rules-from-file needed.
    out = tmp_path / "p.csv"
    assert main(["predict", "data/lesions.csv", "-o", str(out)]) == 0
    assert "rules models/v0002/rules.yaml" in capsys.readouterr().out
    # Activating v0003 again puts its rules back in turn.
    assert main(["models", "activate", "v0003", "--force"]) == 0
    assert "rules.yaml now holds v0003's rules (sha256 " in capsys.readouterr().out
    assert b"age < 16" in (rules_trained / "rules.yaml").read_bytes()
    assert main(["models", "activate", "v0003", "--force"]) == 0
    assert "rules.yaml already holds v0003's rules" in capsys.readouterr().out


def test_edits_no_version_has_are_never_lost(rules_trained, monkeypatch, capsys, tree_snapshot):
    _second_version(rules_trained, monkeypatch, capsys)
    rules = rules_trained / "rules.yaml"
    mine = RULES_TEXT.replace("age < 18", "age < 12").encode() + b"# my work\n"
    rules.write_bytes(mine)
    before = tree_snapshot(rules_trained)
    assert main(["models", "rollback"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        "error: rules.yaml has edits no version was trained with; not replaced by v0002's rules"
    )
    assert "--replace-rules" in err[0]
    assert tree_snapshot(rules_trained) == before  # nothing changed, active.json included
    assert main(["models", "activate", "v0002", "--force"]) == 2
    capsys.readouterr()
    assert tree_snapshot(rules_trained) == before
    assert main(["models", "rollback", "--replace-rules"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "rules.yaml now holds v0002's rules (sha256 " + out[1].split("sha256 ")[1]
    backups = list((rules_trained / ".mlprod" / "rules-backup").iterdir())
    assert [b.read_bytes() for b in backups] == [mine]
    assert out[2] == f"its edits were kept in .mlprod/rules-backup/{backups[0].name}"
    assert rules.read_bytes() == RULES_TEXT.encode()


def test_a_version_trained_without_rules_empties_the_file(trained, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(trained)
    assert main(["models", "activate", "v0002", "--force"]) == 0
    (trained / "rules.yaml").write_text(RULES_TEXT)
    config = trained / "mlprod.yaml"
    config.write_text(config.read_text() + "rules: rules.yaml\n")
    assert main(["train", "--model-only", "--cv", "0", "--activate", "--force"]) == 0
    capsys.readouterr()
    assert main(["models", "rollback"]) == 0
    assert (
        "rules.yaml now holds no rules (v0002 was trained without rules)" in capsys.readouterr().out
    )
    text = (trained / "rules.yaml").read_text()
    assert text.endswith("rules: []\n") and "v0002 was trained without rules" in text
    out = tmp_path / "p.csv"
    assert main(["predict", "data/lesions.csv", "-o", str(out)]) == 0  # no rules, accepted
    assert "rules" not in capsys.readouterr().out
    assert main(["rules", "test"]) == 0  # an empty rules file loads
    assert capsys.readouterr().out.startswith("rules.yaml: 0 rules, policy first")
    # Nothing is lost going back: the empty file holds no rules.
    assert main(["models", "activate", "v0003", "--force"]) == 0
    assert (trained / "rules.yaml").read_text() == RULES_TEXT


def test_a_tampered_copy_is_refused_and_nothing_changes(
    rules_trained, monkeypatch, capsys, tree_snapshot
):
    _second_version(rules_trained, monkeypatch, capsys)
    copy = rules_trained / "models" / "v0002" / "rules.yaml"
    copy.write_bytes(copy.read_bytes().replace(b"age < 18", b"age < 99"))
    before = tree_snapshot(rules_trained)
    assert main(["models", "rollback"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: {copy}: does not match the sha256 train recorded for v0002")
    assert tree_snapshot(rules_trained) == before


def test_a_version_with_rules_needs_a_rules_file_named(
    rules_trained, monkeypatch, capsys, tree_snapshot
):
    monkeypatch.chdir(rules_trained)
    config = rules_trained / "mlprod.yaml"
    config.write_text(config.read_text().replace("rules: rules.yaml\n", ""))
    before = tree_snapshot(rules_trained)
    assert main(["models", "activate", "v0002", "--force"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        "error: v0002 was trained with rules (rules.yaml), but mlprod.yaml names no rules file"
    )
    assert "add 'rules: rules.yaml' to mlprod.yaml" in err[0]
    assert tree_snapshot(rules_trained) == before


def _drafts() -> str:
    """Rules commented out beside an empty list: no rules, but someone's work."""
    return (
        "# drafts:\n" + "".join(f"# {line}\n" for line in RULES_TEXT.splitlines()) + "rules: []\n"
    )


def test_comments_beside_no_rules_are_edits_too(rules_trained, monkeypatch, capsys, tree_snapshot):
    """Only what rollback writes (or a blank file) is replaced without asking."""
    monkeypatch.chdir(rules_trained)
    rules = rules_trained / "rules.yaml"
    for mine in (_drafts(), RULES_TEXT.replace("rules:", "rulez:", 1)):  # drafts, a misspelt key
        rules.write_text(mine)
        before = tree_snapshot(rules_trained)
        assert main(["models", "activate", "v0002", "--force"]) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and err[0].startswith("error: rules.yaml has edits no version")
        assert tree_snapshot(rules_trained) == before
    assert main(["models", "activate", "v0002", "--force", "--replace-rules"]) == 0
    capsys.readouterr()
    backups = list((rules_trained / ".mlprod" / "rules-backup").iterdir())
    assert [b.read_text() for b in backups] == [RULES_TEXT.replace("rules:", "rulez:", 1)]
    assert rules.read_text() == RULES_TEXT


def test_a_version_without_rules_keeps_drafts_of_none_and_refuses_a_misspelt_key(
    trained, monkeypatch, capsys, tmp_path
):
    monkeypatch.chdir(trained)
    assert main(["models", "activate", "v0002", "--force"]) == 0
    config = trained / "mlprod.yaml"
    config.write_text(config.read_text() + "rules: rules.yaml\n")
    rules = trained / "rules.yaml"
    rules.write_text(_drafts())
    capsys.readouterr()
    assert main(["models", "activate", "v0002", "--force"]) == 0  # no rules either way
    assert "rules.yaml already holds v0002's rules" in capsys.readouterr().out
    assert rules.read_text() == _drafts()  # nothing written
    out = tmp_path / "p.csv"
    assert main(["predict", "data/lesions.csv", "-o", str(out)]) == 0
    capsys.readouterr()
    # Rules under a misspelt key are not "no rules": predict refuses the file.
    rules.write_text(RULES_TEXT.replace("rules:", "rulez:", 1))
    assert main(["predict", "data/lesions.csv", "-o", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "rules.yaml" in err[0]
