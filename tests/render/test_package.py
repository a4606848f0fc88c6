"""mlprod_cli.render.package: the build context written, and the image when built."""

from __future__ import annotations

import json

from mlprod_cli.render.package import render
from tests.render.results import package_result


def test_context_not_built_says_how_to_build_it():
    lines = render(package_result(), "table").splitlines()
    assert lines[0] == "context   /project/dist/docker (2.4 MB, 4 files)"
    assert lines[2] == "wheels    2"  # the .whl files under wheels/
    assert lines[-1] == "build     docker build -t skin-lesions:v0002 /project/dist/docker"


def test_context_built_offline_and_retagged():
    lines = render(package_result(built=True), "table").splitlines()
    assert lines[2] == "wheels    2 (offline: the build needs no index)"
    assert lines[4:] == [
        "built     sha256:0123456789ab (456.8 MB)",
        "retagged  /project/deploy/k8s/deployment.yaml",
    ]


def test_package_json_is_the_result():
    result = package_result(built=True)
    assert json.loads(render(result, "json")) == result.to_dict()
