"""``mlprod new`` in the core: validation first, safe rendering, cleanup on failure."""

from __future__ import annotations

import json
import os

import pytest

from mlprod_cli.core.scaffold import MARKER, PROVENANCE, NewRequest, create_project, validate_name
from mlprod_cli.core.scaffold import _scaffold as scaffold
from mlprod_cli.errors import ScaffoldError, UsageError


def _request(tmp_path, name="demo", **kwargs) -> NewRequest:
    kwargs.setdefault("no_input", True)
    kwargs.setdefault("venv", False)
    kwargs.setdefault("git", False)
    kwargs.setdefault(
        "measure", False
    )  # the gates are measured in tests/core/scaffold/test_data.py
    return NewRequest(name=name, output_dir=tmp_path, **kwargs)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("my project", "use letters, digits"),
        ("2fa", "use letters, digits"),
        ("class", "Python keyword"),
        ("match", "Python keyword"),
        ("..", "not a path"),
        ("a/b", "not a path"),
        ("../escape", "not a path"),
        ("/abs", "not a path"),
        ("json", "would shadow"),
        ("numpy", "would shadow"),
        ("-rf", "use letters, digits"),
        ("{{cookiecutter.x}}", "use letters, digits"),
        ("x" * 101, "at most 100"),
    ],
)
def test_invalid_names(name, message):
    with pytest.raises(UsageError, match=message):
        validate_name(name)


@pytest.mark.parametrize("name", ["skin-lesions", "fraud.detector-2", "A_b", "churn"])
def test_valid_names(name):
    assert validate_name(name) == name


def test_renders_a_project_with_wheel_lock_and_provenance(tmp_path):
    result = create_project(
        _request(tmp_path, "fraud.detector-2", extra_context=("author=Ada Lovelace",))
    )
    project = tmp_path / "fraud.detector-2"
    assert result.project_dir == project
    assert (project / "src" / "fraud_detector_2" / "model.py").is_file()
    assert not (project / MARKER).exists()
    wheels = list((project / "wheels").glob("mlprod-*.whl"))
    assert len(wheels) == 1
    lock = (project / "requirements.lock").read_text()
    import hashlib

    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    assert f"--hash=sha256:{digest}" in lock
    assert "{{" not in lock and "index-url" not in lock
    provenance = json.loads((project / PROVENANCE).read_text())
    assert provenance["template"] == "builtin:classification"
    assert provenance["answers"]["author"] == "Ada Lovelace"
    assert provenance["answers"]["package_name"] == "fraud_detector_2"
    assert sorted(result.files) == sorted(
        p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()
    )
    # Nothing but the project was left in the output folder.
    assert [p.name for p in tmp_path.iterdir()] == ["fraud.detector-2"]


def test_dry_run_writes_nothing(tmp_path):
    result = create_project(_request(tmp_path, dry_run=True, no_input=False))
    assert result.dry_run and "mlprod.yaml" in result.files and "src/demo/model.py" in result.files
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("author", "expected key=value"),
        ("=x", "expected key=value"),
        ("colour=blue", "the template has no such variable"),
        ("_mlprod_wheel_sha256=00", "the template has no such variable"),
        ("project_name=other", "the NAME argument"),
        ("author={{ 7*7 }}", "template expressions are not allowed"),
        ("package_name=../../etc", "would make a path outside the project"),
        ("package_name=/tmp/x", "would make a path outside the project"),
        ("package_name=not-valid", "not a valid Python package name"),
    ],
)
def test_bad_extra_context(tmp_path, extra, message):
    with pytest.raises(UsageError, match=message):
        create_project(_request(tmp_path, extra_context=(extra,)))
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_non_empty_destination_and_leaves_it_alone(tmp_path, tree_snapshot):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "precious.txt").write_text("keep me")
    before = tree_snapshot(tmp_path)
    with pytest.raises(ScaffoldError, match="exists and is not empty"):
        create_project(_request(tmp_path))
    assert tree_snapshot(tmp_path) == before


def test_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "demo").write_text("a file")
    with pytest.raises(ScaffoldError, match="exists and is not a folder"):
        create_project(_request(tmp_path))


def test_fills_an_existing_empty_folder(tmp_path):
    (tmp_path / "demo").mkdir()
    create_project(_request(tmp_path))
    assert (tmp_path / "demo" / "mlprod.yaml").is_file()


def test_explains_a_project_left_by_a_killed_run(tmp_path):
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / MARKER).write_text("")
    (tmp_path / "demo" / "mlprod.yaml").write_text("half")
    with pytest.raises(ScaffoldError, match="killed") as caught:
        create_project(_request(tmp_path))
    assert "rm -rf" in caught.value.hint


@pytest.mark.parametrize("existed", [False, True])
@pytest.mark.parametrize("exception", [RuntimeError("install broke"), KeyboardInterrupt()])
def test_failure_after_rendering_removes_what_was_created(
    tmp_path, monkeypatch, existed, exception
):
    if existed:
        (tmp_path / "demo").mkdir()

    def fail(*args, **kwargs):
        assert (tmp_path / "demo" / MARKER).exists()  # the half-made project is marked
        raise exception

    monkeypatch.setattr(scaffold, "_finish", fail)
    with pytest.raises(type(exception)):
        create_project(_request(tmp_path))
    if existed:  # the folder was the user's: it stays, empty, as it was
        assert (tmp_path / "demo").is_dir() and list((tmp_path / "demo").iterdir()) == []
    else:
        assert not (tmp_path / "demo").exists()
    assert [p.name for p in tmp_path.iterdir()] == (["demo"] if existed else [])


def test_template_errors(tmp_path):
    with pytest.raises(UsageError, match="no such template"):
        create_project(_request(tmp_path, template="no-such-template"))
    (tmp_path / "tpl").mkdir()
    with pytest.raises(UsageError, match="not a cookiecutter template"):
        create_project(_request(tmp_path / "out", template=str(tmp_path / "tpl")))


def test_a_custom_template(tmp_path):
    tpl = tmp_path / "tpl"
    (tpl / "{{cookiecutter.project_name}}").mkdir(parents=True)
    (tpl / "cookiecutter.json").write_text('{"project_name": "x", "greeting": "hi"}')
    (tpl / "{{cookiecutter.project_name}}" / "README.md").write_text("{{cookiecutter.greeting}}")
    out = tmp_path / "out"
    result = create_project(
        _request(out, name="custom", template=str(tpl), extra_context=("greeting=hello",))
    )
    assert (out / "custom" / "README.md").read_text() == "hello"
    assert not (out / "custom" / "wheels").exists()  # only mlprod templates pin mlprod
    provenance = json.loads((out / "custom" / PROVENANCE).read_text())
    assert provenance["template"] == str(tpl) and provenance["answers"]["greeting"] == "hello"
    assert result.installer is None


def test_no_prompt_without_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UsageError, match="pass --no-input"):
        create_project(_request(tmp_path, no_input=False))


def test_bad_python(tmp_path):
    with pytest.raises(UsageError, match="--python /no/such/python: no such Python interpreter"):
        create_project(_request(tmp_path, venv=True, python="/no/such/python"))
    assert list(tmp_path.iterdir()) == []


def test_output_dir_is_a_file(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="--output-dir"):
        create_project(_request(tmp_path / "file"))


def test_git_commit_without_identity(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GIT_CONFIG_GLOBAL", raising=False)
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ):
        monkeypatch.delenv(var, raising=False)
    result = create_project(_request(tmp_path / "out", git=True))
    assert result.git_commit and len(result.git_commit) == 40
    assert any("authored by 'mlprod'" in w for w in result.warnings)
    assert MARKER not in os.popen(f"git -C {result.project_dir} ls-files").read()


def test_missing_git_is_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = create_project(_request(tmp_path / "out", git=True))
    assert result.git_commit is None
    assert result.warnings == ["git is not installed; the project is not a git repository"]


def test_a_template_from_a_git_url_records_its_commit(tmp_path):
    import subprocess

    tpl = tmp_path / "tpl"
    (tpl / "{{cookiecutter.project_name}}").mkdir(parents=True)
    (tpl / "cookiecutter.json").write_text('{"project_name": "x"}')
    (tpl / "{{cookiecutter.project_name}}" / "README.md").write_text(
        "hello {{cookiecutter.project_name}}"
    )
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "template"]):
        subprocess.run(["git", *args], cwd=tpl, check=True, env={**os.environ, **env})
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tpl, capture_output=True, text=True
    ).stdout.strip()
    out = tmp_path / "out"
    create_project(_request(out, name="fromgit", template=f"git+file://{tpl}"))
    assert (out / "fromgit" / "README.md").read_text() == "hello fromgit"
    provenance = json.loads((out / "fromgit" / PROVENANCE).read_text())
    assert provenance["template"] == f"git+file://{tpl}" and provenance["template_commit"] == commit
    assert sorted(p.name for p in out.iterdir()) == [
        "fromgit"
    ]  # the clone went to a temporary folder


def test_output_dir_folders_it_made_are_removed_when_a_later_step_fails(tmp_path, monkeypatch):
    def fails(*args, **kwargs):
        raise ScaffoldError("a later step failed")

    monkeypatch.setattr(scaffold, "_add_own_files", fails)
    (tmp_path / "kept").mkdir()  # was there before: stays
    with pytest.raises(ScaffoldError, match="a later step failed"):
        create_project(_request(tmp_path / "kept" / "a" / "b"))
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []
