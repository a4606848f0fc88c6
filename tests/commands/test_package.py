"""``mlprod package``: the Docker build context, its checks and the deploy/k8s retag."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from mlprod_cli.cli import main
from mlprod_cli.core.config import load_config
from mlprod_cli.core.package import MANIFEST, retag_manifests, target_environment


@pytest.fixture
def active(active, monkeypatch) -> Path:
    """The shared ``active`` project (v0001 and v0002 active), as the cwd."""
    monkeypatch.chdir(active)
    return active


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["package", *args])
    out, err = capsys.readouterr()
    return code, out, err


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_context_holds_exactly_what_the_image_installs(active, capsys, monkeypatch):
    # Whether this environment's packages are the locked ones varies: say they
    # are unknown, so the image takes the whole lock (the closure is tested below
    # and, from the wheels' own metadata, by the image test).
    from mlprod_cli.core.package import _context as package

    monkeypatch.setattr(package, "installed_requirements", lambda root: {})
    code, out, err = run(capsys, "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    context = active / "dist" / "docker"
    assert Path(report["context"]) == context
    assert report["model_version"] == "v0002" and report["tag"] == "skin-lesions:v0002"
    assert report["offline"] is False and report["image"] is None
    assert report["left_out"] is None  # the closure is unknown: the whole lock

    names = sorted(p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file())
    assert names == sorted(
        [
            ".dockerignore",
            "Dockerfile",
            MANIFEST,
            "mlprod.yaml",
            "models/active.json",
            "models/v0002/metadata.json",
            "models/v0002/model.skops",
            "requirements.lock",
            "wheels/mlprod-0.1.0-py3-none-any.whl",
            "wheels/skin_lesions-0.1.0-py3-none-any.whl",
        ]
    )
    # only the active model, and an active.json that names it
    assert json.loads((context / "models" / "active.json").read_text()) == {"model": "v0002"}
    assert sha256(context / "models/v0002/model.skops") == sha256(
        active / "models/v0002/model.skops"
    )
    # the lock is the project's, plus a hashed pin of the project's own wheel
    lock = (context / "requirements.lock").read_text()
    project_lock = (active / "requirements.lock").read_text()
    assert lock.startswith(project_lock.rstrip("\n"))
    wheel = context / "wheels" / "skin_lesions-0.1.0-py3-none-any.whl"
    assert f"skin-lesions==0.1.0 \\\n    --hash=sha256:{sha256(wheel)}" in lock
    # mlprod's wheel is the one the lock pins
    mlprod_wheel = context / "wheels" / "mlprod-0.1.0-py3-none-any.whl"
    assert f"sha256:{sha256(mlprod_wheel)}" in project_lock
    # the Dockerfile labels the image with this model version
    dockerfile = (context / "Dockerfile").read_text()
    assert "ARG MODEL_VERSION=v0002" in dockerfile
    assert "ARG GIT_COMMIT=unknown" in dockerfile  # not a git repository
    # the manifest and the report list every other file with its real size and hash
    listed = {f["path"]: f for f in report["files"]}
    assert set(listed) == set(names) - {MANIFEST}
    for rel, entry in listed.items():
        assert entry["size"] == (context / rel).stat().st_size
        assert entry["sha256"] == sha256(context / rel)
    manifest = json.loads((context / MANIFEST).read_text())
    assert manifest["files"] == report["files"]
    # deploy/k8s points at the tag
    deployment = (active / "deploy" / "k8s" / "deployment.yaml").read_text()
    assert "image: skin-lesions:v0002\n" in deployment
    assert report["deploy_manifests_updated"] == [str(active / "deploy/k8s/deployment.yaml")]


def test_a_second_run_replaces_its_own_context_and_keeps_nothing_stale(active, capsys):
    assert run(capsys)[0] == 0
    context = active / "dist" / "docker"
    stale = context / "wheels" / "stale.whl"
    stale.write_bytes(b"old")
    code, out, err = run(capsys, "--tag", "registry.example/team/lesions:rc1")
    assert code == 0, err
    assert not stale.exists()
    assert "image     registry.example/team/lesions:rc1" in out
    assert (
        "image: registry.example/team/lesions:rc1"
        in (active / "deploy/k8s/deployment.yaml").read_text()
    )
    leftovers = [p.name for p in (active / "dist").iterdir() if p.name != "docker"]
    assert leftovers == []


def test_refuses_to_replace_a_folder_it_did_not_make(active, capsys, tree_snapshot):
    mine = active / "dist" / "docker"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    before = tree_snapshot(active)
    code, _, err = run(capsys)
    assert code == 2
    assert err.startswith("error: --output") and "not made by 'mlprod package'" in err
    assert len(err.splitlines()) == 1
    assert tree_snapshot(active) == before


@pytest.mark.parametrize("inside", [".", "src/pkg", "models"])
def test_refuses_an_output_that_is_the_project_or_inside_its_code(active, capsys, inside):
    before = sorted(p.relative_to(active) for p in active.rglob("*"))
    code, _, err = run(capsys, "--output", str(active / inside))
    assert code == 2 and err.startswith("error: --output"), err
    assert sorted(p.relative_to(active) for p in active.rglob("*")) == before


def test_no_active_model_names_the_command_that_makes_one(trained, monkeypatch, capsys):
    monkeypatch.chdir(trained)
    code, _, err = run(capsys)
    assert code == 2
    assert err.startswith("error: no active model") and "mlprod train --activate" in err
    assert not (trained / "dist").exists()


def test_a_tampered_artifact_is_refused(active, capsys):
    artifact = active / "models" / "v0002" / "model.skops"
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    code, _, err = run(capsys)
    assert code == 2
    assert "v0002: model.skops does not match its metadata" in err
    assert len(err.splitlines()) == 1
    assert not (active / "dist").exists()


def test_a_lock_that_does_not_match_pyproject_is_refused(active, capsys):
    pyproject = active / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"numpy>=1.26",', '"numpy>=99",'))
    code, _, err = run(capsys)
    assert code == 2
    assert (
        err.startswith("error: requirements.lock does not match pyproject.toml") and "numpy" in err
    )
    assert not (active / "dist").exists()


def test_a_wheel_that_differs_from_its_lock_hash_is_refused(active, capsys):
    wheel = next((active / "wheels").glob("mlprod-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    code, _, err = run(capsys)
    assert code == 2 and f"wheels/{wheel.name} does not match the hash" in err
    assert not (active / "dist" / "docker").exists()


def test_build_without_a_daemon_fails_after_writing_the_context(active, capsys, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{active}/no-such-docker.sock")
    code, out, err = run(capsys, "--build")
    assert code == 2
    last = err.splitlines()[-1]  # after the progress lines of the steps that ran
    assert last.startswith("error: the context is written to")
    assert "--build cannot run" in last and "docker" in last
    assert [line for line in err.splitlines() if line.startswith("error:")] == [last]
    assert (active / "dist" / "docker" / MANIFEST).is_file()
    assert out == ""


def test_bad_options_are_refused_before_anything_is_written(active, capsys):
    code, _, err = run(capsys, "--tag", "Not A Tag")
    assert code == 2 and err.startswith("error: --tag 'Not A Tag'")
    code, _, err = run(capsys, "--base-image", "python:3.11-slim")
    assert code == 2 and "--base-image goes with --build" in err
    assert not (active / "dist").exists()


def test_retag_keeps_other_images_and_the_registry_prefix(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "containers:\n"
        "  - image: ghcr.io/team/skin-lesions:old  # served\n"
        "  - image: busybox:1.36\n"
        "    name: sidecar\n"
    )
    (tmp_path / "b.yml").write_text("image: postgres:16\n")
    changed = retag_manifests(tmp_path, "skin-lesions", "skin-lesions:v0007")
    assert changed == [tmp_path / "a.yaml"]
    assert (tmp_path / "a.yaml").read_text() == (
        "containers:\n"
        "  - image: ghcr.io/team/skin-lesions:v0007  # served\n"
        "  - image: busybox:1.36\n"
        "    name: sidecar\n"
    )
    assert (tmp_path / "b.yml").read_text() == "image: postgres:16\n"


def test_the_retag_follows_a_custom_tag_to_the_next_one(active, capsys):
    deployment = active / "deploy/k8s/deployment.yaml"
    before = deployment.read_text()
    assert run(capsys, "--tag", "ghcr.io/team/app:v1")[0] == 0
    assert "image: ghcr.io/team/app:v1\n" in deployment.read_text()
    # another name, then the default tag: each follows what the run before wrote
    code, out, err = run(capsys, "--tag", "registry.example/other:rc2")
    assert code == 0, err
    assert "image: registry.example/other:rc2\n" in deployment.read_text()
    assert f"retagged  {deployment}" in out and "warning" not in err
    code, _, err = run(capsys, "--format", "json")
    assert code == 0 and "warning" not in err
    assert "image: skin-lesions:v0002\n" in deployment.read_text()
    # only the image line changed, every other byte stayed
    assert deployment.read_text() == re.sub(
        r"image: \S+", "image: skin-lesions:v0002", before, count=1
    )
    assert (active / "deploy/k8s/.mlprod-image").read_text() == "skin-lesions:v0002\n"


def test_an_image_mlprod_did_not_write_is_left_alone_with_a_warning(active, capsys):
    assert run(capsys)[0] == 0
    deployment = active / "deploy/k8s/deployment.yaml"
    text = deployment.read_text().replace("image: skin-lesions:v0002", "image: nginx:1.27")
    deployment.write_text(text)
    code, out, err = run(capsys, "--tag", "ghcr.io/team/app:v3", "--format", "json")
    assert code == 0, err
    assert deployment.read_text() == text  # left as it is
    line = text[: text.index("image: nginx:1.27")].count("\n") + 1
    warning = (
        f"deploy/k8s/deployment.yaml:{line}: image nginx:1.27 is not one 'mlprod package' "
        "wrote (it last wrote skin-lesions:v0002); left as it is, not pointed at ghcr.io/team/app:v3"
    )
    assert warning in err
    report = json.loads(out)
    assert report["warnings"] == [warning] and report["deploy_manifests_updated"] == []
    # the record still names what mlprod last wrote
    assert (active / "deploy/k8s/.mlprod-image").read_text() == "skin-lesions:v0002\n"


def test_offline_targets_linux_wheels_of_this_python():
    env, tags, python = target_environment()
    assert env["sys_platform"] == "linux" and env["python_version"] == python
    assert tags[0].startswith("manylinux_2_36_") and any(
        t.startswith("manylinux2014_") for t in tags
    )


def test_serve_and_predict_need_no_data_files(active, tmp_path):
    """A serving image has mlprod.yaml and the installed project, not data/ or src/."""
    (active / "data" / "lesions.csv").rename(tmp_path / "lesions.csv")
    config = load_config(active, need_data=False)
    assert config.data.train == active / "data" / "lesions.csv"
    with pytest.raises(Exception, match="no such file"):
        load_config(active)
    assert os.path.isdir(active / "src")


def test_the_image_installs_the_runtime_closure_of_the_project(tmp_path):
    """Dev extras, batch extras and mlprod's authoring tools stay out; extras and markers count."""
    from mlprod_cli.adapters.lockfile import Pin
    from mlprod_cli.core.package import runtime_pins

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1"\n'
        'dependencies = ["mlprod[serve]==1.0", "numpy>=2; python_version >= \'3.10\'"]\n'
        '[project.optional-dependencies]\nbatch = ["pyarrow"]\ndev = ["pytest"]\n'
    )
    pins = [
        Pin(name, version, ("sha256:" + "0" * 64,), marker, i)
        for i, (name, version, marker) in enumerate(
            [
                ("mlprod", "1.0", None),
                ("fastapi", "0.1", None),
                ("starlette", "0.2", None),
                ("uv", "0.9", None),
                ("numpy", "1.0", 'python_version < "3.10"'),
                ("numpy", "2.0", 'python_version >= "3.10"'),
                ("pyarrow", "20", None),
                ("pytest", "9", None),
                ("tomli", "2", 'python_version < "3.11"'),
            ]
        )
    ]
    requirements = {
        ("mlprod", "1.0"): ["uv", "tomli; python_version < '3.11'", "fastapi; extra == 'serve'"],
        ("fastapi", "0.1"): ["starlette"],
        ("starlette", "0.2"): [],
        ("numpy", "2.0"): [],
    }
    env = {"python_version": "3.11", "python_full_version": "3.11.7", "sys_platform": "linux"}
    env.update(platform_system="Linux", os_name="posix", platform_machine="x86_64")
    env.update(implementation_name="cpython", platform_python_implementation="CPython")
    runtime = runtime_pins(pins, tmp_path / "pyproject.toml", env, requirements)
    assert [(p.name, p.version) for p in runtime] == [
        ("fastapi", "0.1"),
        ("mlprod", "1.0"),
        ("numpy", "2.0"),
        ("starlette", "0.2"),
    ]
    # a pinned package whose requirements are unknown: no closure, the whole lock
    del requirements[("starlette", "0.2")]
    assert runtime_pins(pins, tmp_path / "pyproject.toml", env, requirements) is None


# --------------------------------------------------------------------------- nothing from outside


@pytest.fixture
def secret(tmp_path) -> Path:
    """A file outside the project that must never reach a build context."""
    path = tmp_path / "outside" / "shadow"
    path.parent.mkdir()
    path.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    return path


def assert_refused(active, capsys, *needles):
    code, out, err = run(capsys)
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    for needle in needles:
        assert needle in err
    assert out == ""
    assert not (active / "dist").exists()


def test_a_link_in_a_version_folder_is_refused_and_nothing_copied(active, capsys, secret):
    (active / "models" / "v0002" / "notes.txt").symlink_to(secret)
    assert_refused(active, capsys, "models/v0002/notes.txt is a symbolic link")


def test_a_link_inside_the_project_is_refused_in_the_registry_too(active, capsys):
    (active / "models" / "v0002" / "readme.md").symlink_to(active / "README.md")
    assert_refused(active, capsys, "models/v0002/readme.md is a symbolic link")


def test_a_version_folder_that_links_outside_is_refused(active, capsys, tmp_path):
    elsewhere = tmp_path / "elsewhere" / "v0002"
    (active / "models" / "v0002").rename(elsewhere.parent.mkdir() or elsewhere)
    (elsewhere / "private.txt").write_text("not the project's")
    (active / "models" / "v0002").symlink_to(elsewhere, target_is_directory=True)
    assert_refused(active, capsys, "v0002 is a symbolic link")


def test_a_fifo_in_a_version_folder_is_refused_without_hanging(active, capsys):
    os.mkfifo(active / "models" / "v0002" / "pipe")
    assert_refused(active, capsys, "models/v0002/pipe is not a regular file")


@pytest.mark.parametrize(
    "where", ["Dockerfile", ".dockerignore", "src/skin_lesions/extra.py", "wheels/notes.txt"]
)
def test_a_project_file_linking_outside_is_refused(active, capsys, secret, where):
    path = active / where
    path.unlink(missing_ok=True)
    path.symlink_to(secret)
    assert_refused(active, capsys, f"{where} is a link to {secret}", "outside the project")


def test_a_link_within_the_project_is_fine_outside_the_registry(active, capsys):
    (active / "src" / "skin_lesions" / "readme_link.md").symlink_to(active / "README.md")
    code, _, err = run(capsys)
    assert code == 0, err
    context = active / "dist" / "docker"
    assert not [p for p in context.rglob("*") if p.is_symlink()]


def test_a_linked_mlprod_yaml_does_not_move_the_project_outside(active, capsys, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (active / "mlprod.yaml").rename(outside / "mlprod.yaml")
    (active / "mlprod.yaml").symlink_to(outside / "mlprod.yaml")
    assert_refused(active, capsys, "mlprod.yaml is a link to", "outside the project")
