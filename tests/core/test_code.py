"""``core/code.py``: the project's own code imported and called, failures named by their key."""

from __future__ import annotations

import sys
from dataclasses import replace

import pytest

from mlprod_cli.core.code import (
    add_project_to_path,
    build_estimator,
    import_object,
    project_package,
)
from mlprod_cli.core.config import load_config
from mlprod_cli.errors import ConfigError


@pytest.fixture
def config(project, monkeypatch):
    """The template's config, with ``sys.path`` restored after the test."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    return load_config(project)


def module(config, name: str, source: str) -> str:
    (config.root / "src" / f"{name}.py").write_text(source)
    return name


def test_the_project_is_importable_as_its_tests_see_it(config, tmp_path):
    add_project_to_path(config)
    add_project_to_path(config)
    src = str(config.root / "src")
    assert sys.path.count(src) == 1 and sys.path.count(str(config.root)) == 1
    flat = replace(config, root=tmp_path)  # a flat layout: no src/
    add_project_to_path(flat)
    assert str(tmp_path) in sys.path and str(tmp_path / "src") not in sys.path


def test_import_object_an_attribute_or_a_module(config):
    name = module(config, "code_ok", "VALUE = 7\n")
    assert import_object(config, f"{name}:VALUE", "data.loader") == 7
    assert import_object(config, name, "metrics.module").VALUE == 7


@pytest.mark.parametrize(
    ("source", "dotted", "message"),
    [
        ("import nonexistent_pkg_xyz\n", "code_missing:load", "data.loader: importing code_missing failed: ModuleNotFoundError: No module named 'nonexistent_pkg_xyz'"),
        ("def broken(:\n", "code_syntax:load", "data.loader: importing code_syntax failed: SyntaxError: "),
        ("raise RuntimeError('at import')\n", "code_raises:load", "data.loader: importing code_raises failed: RuntimeError: at import"),
        ("X = 1\n", "code_attr:load", "data.loader: code_attr has no attribute 'load'"),
    ],
)  # fmt: skip
def test_import_failures_name_the_key_and_its_line(config, source, dotted, message):
    module(config, dotted.partition(":")[0], source)
    with pytest.raises(ConfigError) as info:
        import_object(config, dotted, "data.loader")
    assert info.value.message.startswith(f"mlprod.yaml:{config.line_of('data.loader')}: {message}")


def test_build_estimator_calls_the_factory(config):
    model = build_estimator(config, "model")
    baseline = build_estimator(config, "baseline")
    assert hasattr(model, "fit") and hasattr(baseline, "predict")
    assert build_estimator(config, "model") is not model  # a fresh estimator each call


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def build():\n    raise ValueError('no C')\n", "code_factory_raises:build() failed: ValueError: no C"),
        ("def build():\n    return 42\n", "code_factory_int:build() returned int, not an estimator with fit/predict"),
        ("def build(size):\n    return None\n", "code_factory_args:build() failed: TypeError: "),
    ],
)  # fmt: skip
def test_a_factory_that_fails_is_named(config, source, message):
    name = message.partition(":")[0]
    module(config, name, source)
    broken = replace(config, model=f"{name}:build")
    with pytest.raises(ConfigError) as info:
        build_estimator(broken, "model")
    assert f": model: {message}" in info.value.message


def test_no_baseline_configured(config):
    with pytest.raises(ConfigError, match=r"mlprod\.yaml: no 'baseline' is configured"):
        build_estimator(replace(config, baseline=None), "baseline")


def test_project_package_is_the_top_package_of_the_model(config):
    assert project_package(config) == "skin_lesions"
    assert project_package(replace(config, model="acme.models.deep:build")) == "acme"
    assert project_package(replace(config, model="flat:build")) == "flat"
