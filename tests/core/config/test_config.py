"""mlprod.yaml: the schema, and errors that name the file, the line and the key."""

from __future__ import annotations

import re

import pytest

from mlprod_cli.core.config import MetricRef, Split, load_config, parse_config
from mlprod_cli.errors import ConfigError


def _replace(project, old: str, new: str):
    path = project / "mlprod.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(project, needle: str) -> int:
    for number, line in enumerate((project / "mlprod.yaml").read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_the_template_config_loads(project):
    config = load_config(project)
    assert config.project == "skin-lesions"
    assert config.root == project.resolve()
    assert config.data.train == project.resolve() / "data" / "lesions.csv"
    assert config.data.split == Split("time", column="visit_date", cutoff="2024-07-01")
    assert config.data.target == "diagnosis"
    assert config.data.exclude == ("lesion_id", "visit_date")
    assert config.model == "skin_lesions.model:build"
    assert config.metrics.objective == MetricRef("recall", "melanoma")
    assert {g.metric for g in config.metrics.gates} == {"recall", "auroc"}
    assert config.tune is not None and config.tune.params["classifier__C"]
    assert config.serve.host == "127.0.0.1"


def test_found_from_a_subfolder(project):
    assert load_config(project / "src").root == project.resolve()


def test_no_config_anywhere(tmp_path):
    with pytest.raises(ConfigError, match=r"no mlprod.yaml in .* or any folder above it"):
        load_config(tmp_path)


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ("  target: diagnosis", "  target: diagnosis\n  targett: x", "data.targett", "unknown key"),
        (
            "serve: {host: 127.0.0.1, port: 8000}",
            "serve: {host: 127.0.0.1, port: eighty}",
            "serve.port",
            "expected a whole number, got 'eighty'",
        ),
        (
            "serve: {host: 127.0.0.1, port: 8000}",
            "serve: {host: 127.0.0.1, port: 70000}",
            "serve.port",
            "must be at most 65535",
        ),
        (
            "train: data/lesions.csv",
            "train: data/missing.csv",
            "data.train",
            "data/missing.csv: no such file",
        ),
        (
            "class: melanoma, min:",
            "class: melanoma, min: high, max:",
            "metrics.gates[0].min",
            "expected a number, got 'high'",
        ),
        (
            "{metric: auroc,",
            "{metric: aurocc,",
            "metrics.gates[1].metric",
            "unknown metric 'aurocc'",
        ),
        (
            "objective: recall@melanoma",
            "objective: recal@melanoma",
            "metrics.objective",
            "unknown metric 'recal'",
        ),
        ("search: grid", "search: bayes", "tune.search", "expected one of grid, random"),
        ("cv: 5", "cv: 1", "tune.cv", "must be at least 2"),
        ('cutoff: "2024-07-01"', 'cutoff: "July"', "data.split.cutoff", "expected a date"),
        ("{by: time,", "{by: season,", "data.split.by", "expected one of time, random"),
        (
            "skin_lesions.model:build",
            "skin_lesions.nomodel:build",
            "model",
            "module 'skin_lesions.nomodel' not found",
        ),
        ("skin_lesions.model:build", "skin_lesions/model.py", "model", "expected a dotted path"),
        ("registry: models/", "registry: [models]", "registry", "expected a string, got a list"),
    ],
)
def test_errors_name_file_line_and_key(project, old, new, key, message):
    _replace(project, old, new)
    line = _line_of(project, new.splitlines()[-1].strip())
    with pytest.raises(ConfigError) as caught:
        load_config(project)
    text = str(caught.value)
    assert text.startswith(f"mlprod.yaml:{line}: {key}: "), text
    assert message in text
    assert "\n" not in text


def test_unknown_top_level_key(project):
    (project / "mlprod.yaml").write_text((project / "mlprod.yaml").read_text() + "modle: x:y\n")
    with pytest.raises(ConfigError, match=r"^mlprod.yaml:\d+: modle: unknown key"):
        load_config(project)


def test_missing_required_key(project):
    path = project / "mlprod.yaml"
    path.write_text(re.sub(r"(?m)^model: .*\n", "", path.read_text()))
    with pytest.raises(ConfigError, match="missing required key 'model'"):
        load_config(project)


def test_malformed_yaml_names_the_line(project):
    path = project / "mlprod.yaml"
    path.write_text("project: x\ndata: [unclosed\n")
    with pytest.raises(ConfigError, match=r"^mlprod.yaml:\d+: not valid YAML"):
        parse_config(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "expected a mapping, got a list"),
        ("project: a\nproject: b\n", "duplicate key"),
    ],
)
def test_degenerate_files(project, text, message):
    path = project / "mlprod.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        parse_config(path)


def test_not_utf8(project):
    path = project / "mlprod.yaml"
    path.write_bytes(b"project: \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        parse_config(path)


def test_test_file_and_split_together(project):
    _replace(project, "  target: diagnosis", "  test: data/lesions.csv\n  target: diagnosis")
    with pytest.raises(ConfigError, match="either 'test'"):
        load_config(project)


def test_random_split_and_unquoted_date(project):
    _replace(
        project,
        '{by: time, column: visit_date, cutoff: "2024-07-01"}',
        "{by: random, test_size: 0.25, seed: 7}",
    )
    assert load_config(project).data.split == Split("random", test_size=0.25, seed=7)
    _replace(
        project,
        "{by: random, test_size: 0.25, seed: 7}",
        "{by: time, column: visit_date, cutoff: 2024-07-01}",
    )
    assert load_config(project).data.split.cutoff == "2024-07-01"


def test_custom_metric_names_are_read_from_the_metrics_module(project):
    _replace(
        project,
        "beat_baseline: [recall@melanoma]",
        "beat_baseline: [recall@melanoma, worst_class_recall]",
    )
    assert MetricRef("worst_class_recall") in load_config(project).metrics.beat_baseline


def test_skew_thresholds(project):
    _replace(
        project,
        "  serving_log: logs/requests/",
        "  serving_log: logs/requests/\n  thresholds: {psi: {warn: 0.1, fail: 0.25}, js: 0.1}\n  features: {age: {psi: 0.5}}",
    )
    skew = load_config(project).skew
    assert skew.thresholds == {"psi": {"warn": 0.1, "fail": 0.25}, "js": 0.1}
    assert skew.features == {"age": {"psi": 0.5}}
    _replace(project, "{warn: 0.1, fail: 0.25}", "{warn: 0.3, fail: 0.25}")
    with pytest.raises(ConfigError, match=r"skew\.thresholds\.psi: warn"):
        load_config(project)
    _replace(project, "{warn: 0.3, fail: 0.25}", "lots")
    with pytest.raises(ConfigError, match=r"skew\.thresholds\.psi: expected a number, got 'lots'"):
        load_config(project)


# --------------------------------------------------------------------------- check accepts = train accepts
# Values that ``check`` accepted and ``train``, ``tune`` or ``serve`` then crashed on
# (issue 11, item 7): the schema refuses them, so every command refuses them alike.


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        (
            'cutoff: "2024-07-01"',
            'cutoff: "2024-02-30"',
            "data.split.cutoff",
            "'2024-02-30' is not a date (day is out of range for month)",
        ),
        (
            "  cv: 5\n",
            "  cv: 5\n  seed: 4294967296\n",
            "tune.seed",
            "must be at most 4294967295, got 4294967296",
        ),
        (
            "  cv: 5\n",
            "  cv: 5\n  seed: -1\n",
            "tune.seed",
            "must be at least 0, got -1",
        ),
        (
            'split: {by: time, column: visit_date, cutoff: "2024-07-01"}',
            "split: {by: random, seed: 100000000000000000000}",
            "data.split.seed",
            "must be at most 4294967295",
        ),
        (
            "  cv: 5\n",
            "  cv: 5\n  n_iter: 1000000000000000000000000000000\n",
            "tune.n_iter",
            "must be at most 10000",
        ),
        (
            SERVE_LINE := "serve: {host: 127.0.0.1, port: 8000}",
            'serve: {host: "127.0.0.1\\0", port: 8000}',
            "serve.host",
            "contains a NUL character",
        ),
        (
            SERVE_LINE,
            'serve: {host: "local host", port: 8000}',
            "serve.host",
            "expected a host name or address like 127.0.0.1, got 'local host'",
        ),
        (
            SERVE_LINE,
            'serve: {host: "127.0.0.1\\n", port: 8000}',
            "serve.host",
            "expected a host name or address",
        ),
        (
            "min: 0.9}",
            "min: 1" + "0" * 400 + "}",
            "metrics.gates[1].min",
            "expected a number, got one too large",
        ),
        (
            "min: 0.9}",
            "min: .inf}",
            "metrics.gates[1].min",
            "expected a finite number, got inf",
        ),
        (
            "max_slice_gap: {recall@melanoma: 0.2}",
            "max_slice_gap: {recall@melanoma: 1.0e+999}",
            "metrics.max_slice_gap.recall@melanoma",
            "expected a finite number, got inf",
        ),
        (
            "registry: models/",
            "registry: ~nobody-here/models",
            "registry",
            "~nobody-here/models: '~' is not expanded",
        ),
        (
            "registry: models/",
            "registry: ~/models",
            "registry",
            "~/models: '~' is not expanded",
        ),
        (
            "train: data/lesions.csv",
            "train: ~/lesions.csv",
            "data.train",
            "~/lesions.csv: '~' is not expanded",
        ),
        (
            "serving_log: logs/requests/",
            "serving_log: ~root/logs",
            "skew.serving_log",
            "'~' is not expanded",
        ),
        (
            "train: data/lesions.csv",
            "train: " + "x" * 5000 + ".csv",
            "data.train",
            "File name too long",
        ),
        (
            "registry: models/",
            "registry: " + "m" * 5000,
            "registry",
            "File name too long",
        ),
        (
            "model: skin_lesions.model:build",
            "model: " + "a" * 5000 + ":build",
            "model",
            "expected a dotted path like package.module:function",
        ),
        (
            "model: skin_lesions.model:build",
            'model: "skin_lesions.model:build\\n"',
            "model",
            "expected a dotted path like package.module:function",
        ),
        (
            'cutoff: "2024-07-01"',
            'cutoff: "2024-07-01\\n"',
            "data.split.cutoff",
            "expected a date like 2024-07-01",
        ),
    ],
    ids=[
        "impossible-cutoff",
        "seed-past-32-bits",
        "negative-seed",
        "split-seed-huge",
        "n-iter-huge",
        "nul-in-host",
        "space-in-host",
        "newline-in-host",
        "int-too-large-for-a-float",
        "infinite-gate",
        "infinite-gap",
        "tilde-user",
        "tilde-home",
        "tilde-in-a-read-path",
        "tilde-in-the-log",
        "path-too-long",
        "written-path-too-long",
        "dotted-too-long",
        "dotted-trailing-newline",
        "cutoff-trailing-newline",
    ],
)
def test_values_no_command_can_use_are_refused_by_the_schema(project, old, new, key, message):
    path = _replace(project, old, new)
    line = _line_of(project, new.split("\n")[-2] if new.endswith("\n") else new[:30])
    with pytest.raises(ConfigError) as caught:
        parse_config(path)
    assert str(caught.value).startswith(f"mlprod.yaml:{line}: {key}: "), str(caught.value)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "host", ["0.0.0.0", "::", "::1", "localhost", "my-host.example", "fe80::1%eth0"]
)
def test_hosts_a_server_binds_are_accepted(project, host):
    path = _replace(project, "host: 127.0.0.1", f'host: "{host}"')
    assert parse_config(path).serve.host == host
