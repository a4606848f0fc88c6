"""``mlprod metrics history`` through the real entry point: output, exit codes, files."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from mlprod_cli.adapters.store import ENV_VAR, MetricRow, Run, open_store
from mlprod_cli.cli import main

T0 = datetime(2024, 7, 1, 12, tzinfo=timezone.utc)
PROJECT = "skin-lesions"  # the project name the rendered template carries


@pytest.fixture(autouse=True)
def metrics_command(monkeypatch):
    """``mlprod metrics`` registered whether or not cli.build_app does it yet; no env store."""
    from mlprod_cli import cli
    from mlprod_cli.commands import metrics

    original = cli.build_app

    def build_app():
        app = original()
        if not any(group.name == "metrics" for group in app.registered_groups):
            metrics.register(app)
        return app

    monkeypatch.setattr(cli, "build_app", build_app)
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.delenv("MLPROD_FORMAT", raising=False)


def add_runs(root, values=(0.6, 0.72, None, 0.8), project=PROJECT):
    with open_store("sqlite:///.mlprod/metrics.db", root=root, env={}) as store:
        for n, value in enumerate(values):
            store.add_run(
                Run(
                    f"run-{n}",
                    T0 + timedelta(hours=n),
                    project,
                    model_version=f"v{n + 1}",
                    model_kind="model",
                    source="data/lesions.csv",
                    rows=(
                        MetricRow("recall", value, "melanoma"),
                        MetricRow("recall", 0.5 + n / 10, "melanoma", "sex=female"),
                        MetricRow("recall", 0.9, "nevus"),
                        MetricRow("recall", 0.75, "macro"),
                        MetricRow("f1_score", 0.70 + n / 100, "macro"),
                        MetricRow("f1_score", 0.60, "weighted"),
                        MetricRow("accuracy", 0.80 + n / 100),
                    ),
                )
            )


@pytest.fixture
def stored(project, monkeypatch):
    add_runs(project)
    monkeypatch.chdir(project)
    return project


def test_table_defaults_to_the_objective(stored, capsys):
    assert main(["metrics", "history"]) == 0
    seen = capsys.readouterr()
    assert seen.out == (
        "recall@melanoma of skin-lesions, 4 runs\n"
        "\n"
        "when (UTC)           kind   model version   value   change\n"
        "2024-07-01 12:00:00  model  v1             0.6000\n"
        "2024-07-01 13:00:00  model  v2             0.7200  +0.1200\n"
        "2024-07-01 14:00:00  model  v3                n/a\n"
        "2024-07-01 15:00:00  model  v4             0.8000\n"
        "\n"
        "trend  ▁▅ █  0.6000 → 0.8000 (+0.2000)\n"
        "       min 0.6000 (v1)  max 0.8000 (v4)  undefined in 1 run\n"
    )
    assert seen.err == ""


def test_json_has_stable_keys(stored, capsys):
    assert main(["metrics", "history", "--format", "json", "-m", "accuracy"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == [
        "project", "metric", "class", "slice", "kind", "model", "store", "points", "trend",
    ]  # fmt: skip
    assert (data["project"], data["metric"], data["class"], data["slice"]) == (
        PROJECT,
        "accuracy",
        None,
        None,
    )
    assert data["store"].endswith("/.mlprod/metrics.db")
    assert [list(p) for p in data["points"]] == [
        ["run_id", "created_at", "model_version", "kind", "source", "value", "change"]
    ] * 4
    assert data["points"][1] == {
        "run_id": "run-1",
        "created_at": "2024-07-01T13:00:00+00:00",
        "model_version": "v2",
        "kind": "model",
        "source": "data/lesions.csv",
        "value": 0.81,
        "change": 0.01,
    }
    assert data["points"][0]["change"] is None
    assert data["trend"] == {
        "first": 0.8,
        "last": 0.8300000000000001,
        "change": 0.03,
        "min": 0.8,
        "max": 0.8300000000000001,
        "runs": 4,
        "undefined": 0,
    }


@pytest.mark.parametrize(
    ("argv", "label", "values"),
    [
        (["-m", "f1_score"], "f1_score@macro", ["0.7000", "0.7100", "0.7200", "0.7300"]),
        (["-m", "f1_score", "--class", "weighted"], "f1_score@weighted", ["0.6000"] * 4),
        (["-m", "recall@nevus"], "recall@nevus", ["0.9000"] * 4),
        (["-m", "recall"], "recall@macro", ["0.7500"] * 4),
        (["--slice", "sex=female"], "recall@melanoma [sex=female]", ["0.5000", "0.6000", "0.7000", "0.8000"]),
        (["--last", "2"], "recall@melanoma", ["n/a", "0.8000"]),
        (["-m", "accuracy", "-n", "1"], "accuracy", ["0.8300"]),
    ],
)  # fmt: skip
def test_choosing_the_series(stored, capsys, argv, label, values):
    assert main(["metrics", "history", *argv]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{label} of skin-lesions, {len(values)} run{'s' * (len(values) > 1)}"
    rows = out[3 : 3 + len(values)]
    assert [row.split()[4] for row in rows] == values  # date, time, kind, version, value, change


def test_unknown_metric_is_exit_2_naming_it(stored, capsys):
    assert main(["metrics", "history", "--metric", "recal"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown metric 'recal' (known: accuracy, auroc, ")
    assert err.count("\n") == 1


def test_unknown_class_or_slice_is_exit_2_naming_what_is_stored(stored, capsys):
    assert main(["metrics", "history", "--metric", "recall", "--class", "melanomaa"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: no stored values of recall@melanomaa for project 'skin-lesions'; stored for "
        "recall: classes macro, melanoma, nevus; slices sex=female\n"
    )
    assert main(["metrics", "history", "--slice", "sex=male"]) == 2
    assert "recall@melanoma on slice sex=male" in capsys.readouterr().err


def test_metric_and_class_must_agree(stored, capsys):
    assert main(["metrics", "history", "-m", "recall@nevus", "--class", "melanoma"]) == 2
    assert "disagree" in capsys.readouterr().err


def test_a_known_metric_never_stored_is_empty_not_an_error(stored, capsys):
    assert main(["metrics", "history", "-m", "auroc", "--format", "json"]) == 0
    seen = capsys.readouterr()
    assert json.loads(seen.out)["points"] == []
    assert seen.err == "mlprod: no run of project 'skin-lesions' has stored auroc yet\n"


def test_no_runs_yet(project, monkeypatch, capsys, tree_snapshot):
    monkeypatch.chdir(project)
    before = tree_snapshot(project)
    assert main(["metrics", "history"]) == 0
    seen = capsys.readouterr()
    assert seen.out == ""
    assert seen.err.startswith("mlprod: no runs stored yet for project 'skin-lesions' in sqlite:")
    assert main(["metrics", "history", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["points"] == [] and data["trend"] is None
    assert (data["metric"], data["class"]) == ("recall", "melanoma")
    # Reading creates no store: the project is unchanged.
    assert tree_snapshot(project) == before and not (project / ".mlprod").exists()


def test_default_without_objective_is_f1_macro(stored, capsys):
    config = stored / "mlprod.yaml"
    config.write_text(
        "\n".join(
            line
            for line in config.read_text().splitlines()
            if not line.lstrip().startswith("objective:")
        )
    )
    assert main(["metrics", "history"]) == 0
    assert capsys.readouterr().out.startswith("f1_score@macro of skin-lesions, 4 runs\n")


def test_other_projects_in_the_same_store_are_not_shown(stored, capsys):
    add_runs(stored, values=(0.1,), project="another")
    assert main(["metrics", "history", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["points"]) == 4


def test_output_file(stored, capsys):
    target = stored / "reports" / "history.json"
    assert main(["metrics", "history", "-f", "json", "--output", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert len(json.loads(target.read_text())["points"]) == 4


def test_plot_writes_a_png(stored, capsys):
    pytest.importorskip("matplotlib")
    target = stored / "plots" / "recall.png"
    assert main(["metrics", "history", "--plot", str(target)]) == 0
    seen = capsys.readouterr()
    assert "recall@melanoma of skin-lesions" in seen.out
    assert seen.err == f"mlprod: wrote {target}\n"
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in target.parent.iterdir()] == ["recall.png"]  # no temp file left


def test_plot_needs_matplotlib(stored, capsys, monkeypatch, tree_snapshot):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib → ImportError
    before = tree_snapshot(stored)
    assert main(["metrics", "history", "--plot", "chart.png"]) == 2
    seen = capsys.readouterr()
    assert seen.err == "error: --plot needs matplotlib (pip install matplotlib)\n"
    assert seen.out == ""
    assert tree_snapshot(stored) == before


def test_plot_with_unknown_suffix(stored, capsys):
    assert main(["metrics", "history", "--plot", "chart.gif"]) == 2
    assert "must end in .png, .svg or .pdf" in capsys.readouterr().err
    assert not (stored / "chart.gif").exists()


def test_last_must_be_positive(stored, capsys):
    assert main(["metrics", "history", "--last", "0"]) == 2
    assert "--last" in capsys.readouterr().err


def test_outside_a_project(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["metrics", "history"]) == 2
    assert capsys.readouterr().err.startswith("error: no mlprod.yaml in ")


def test_unreachable_store_is_exit_2_without_password(project, monkeypatch, capsys):
    pytest.importorskip("psycopg")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(ENV_VAR, f"postgresql://mlprod:hunter2@127.0.0.1:{port}/metrics")
    monkeypatch.chdir(project)
    assert main(["metrics", "history"]) == 2
    seen = capsys.readouterr()
    assert seen.err == (
        f"error: cannot reach the metrics store postgresql://mlprod:***@127.0.0.1:{port}/metrics: "
        "connection refused\n"
    )
    assert "hunter2" not in seen.out + seen.err


def test_malformed_store_url_is_exit_2(project, monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, "mysql://root:hunter2@db/metrics")
    monkeypatch.chdir(project)
    assert main(["metrics", "history"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: metrics store URL mysql://root:***@db/metrics: unknown scheme")
    assert "hunter2" not in err


def test_help_imports_no_store_or_plot_library():
    code = (
        "import sys, io, contextlib\n"
        "from mlprod_cli import cli\n"
        "from mlprod_cli.commands import metrics\n"
        "original = cli.build_app\n"
        "def build_app():\n"
        "    app = original()\n"
        "    if not any(g.name == 'metrics' for g in app.registered_groups):\n"
        "        metrics.register(app)\n"
        "    return app\n"
        "cli.build_app = build_app\n"
        "for argv in (['--help'], ['metrics', '--help'], ['metrics', 'history', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        cli.main(argv)\n"
        "heavy = ('sqlite3', 'psycopg', 'matplotlib', 'numpy', 'pandas', 'sklearn')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_kind_and_model_filters_keep_predictions_runs_apart(trained, monkeypatch, capsys):
    """evaluate --predictions inside a project is stored beside model runs; --kind parts them."""
    import pandas as pd

    from mlprod_cli.core import dataset
    from mlprod_cli.core.workspace import Workspace

    monkeypatch.chdir(trained)
    assert main(["models", "activate", "v0001"]) == 0
    assert main(["evaluate"]) == 0  # model v0002
    config = Workspace.load(trained).config
    frame = dataset.load_file(config, config.data.train)
    preds = trained / "preds.csv"
    pd.DataFrame({"y": frame["diagnosis"], "p": frame["diagnosis"], "sex": frame["sex"]}).to_csv(
        preds, index=False
    )
    predicted = ["evaluate", "--predictions", "preds.csv", "--label-col", "y", "--pred-col", "p"]
    assert main(predicted) in (0, 1)
    capsys.readouterr()

    assert main(["metrics", "history", "--format", "json"]) == 0
    every = json.loads(capsys.readouterr().out)
    assert [(p["kind"], p["model_version"]) for p in every["points"]] == [
        ("model", "v0002"),
        ("predictions", None),
    ]
    assert every["points"][1]["source"] == "preds.csv" and every["points"][1]["value"] == 1.0
    assert main(["metrics", "history", "--kind", "model", "--format", "json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert models["kind"] == "model"
    assert [p["model_version"] for p in models["points"]] == ["v0002"]

    assert main(["metrics", "history", "--kind", "predictions"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "recall@melanoma of skin-lesions, 1 run (only kind predictions)"
    assert out[3].split()[2:4] == ["predictions", "preds.csv"]
    assert main(["metrics", "history", "--model", "v0002"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "recall@melanoma of skin-lesions, 1 run (only model v0002)"
    assert out[3].split()[2:4] == ["model", "v0002"]
    assert main(["metrics", "history", "--kind", "baseline"]) == 0
    seen = capsys.readouterr()
    assert seen.out == ""
    assert "no baseline run of project 'skin-lesions' has stored recall@melanoma" in seen.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "modle"], "--kind"),
        (["--model", "v0099"], "--model v0099: no stored run of project 'skin-lesions' is of it (stored: v1, v2, v3, v4)"),
    ],
)  # fmt: skip
def test_bad_filters_are_one_line_exit_2(stored, capsys, args, message):
    assert main(["metrics", "history", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


# --------------------------------------------------------------------------- store contents (issue 11, item 11)


def _strict_json(text):
    def refuse(token):
        raise AssertionError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "values",
    [
        (0.6, float("inf"), 0.8),
        (float("-inf"), 0.5),
        (1e308, -1e308, 1e308),
        (-1e308, float("inf")),
    ],
)
def test_infinite_and_extreme_values_of_a_custom_metric(project, monkeypatch, capsys, values):
    add_runs(project, values=values)
    monkeypatch.chdir(project)
    assert main(["metrics", "history", "--metric", "recall@melanoma"]) == 0
    out = capsys.readouterr().out
    assert "recall@melanoma" in out and len(max(out.splitlines(), key=len)) < 200
    assert main(["metrics", "history", "--metric", "recall@melanoma", "--format", "json"]) == 0
    data = _strict_json(capsys.readouterr().out)
    assert [p["value"] for p in data["points"]] == [
        v if abs(v) != float("inf") else None for v in values
    ]


def _corrupt(root, sql, params=()):
    import sqlite3

    conn = sqlite3.connect(root / ".mlprod" / "metrics.db", isolation_level=None)
    conn.execute(sql, params)
    conn.close()


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE meta SET value = 'abc'", "has schema version 'abc', which is not a number"),
        (
            "UPDATE runs SET created_at = 'garbage' WHERE run_id = 'run-1'",
            "run run-1 has created_at 'garbage', which is not a time",
        ),
        (
            "UPDATE metrics SET value = 'abc' WHERE run_id = 'run-1'",
            "run run-1 holds recall = 'abc', which is not a number",
        ),
    ],
    ids=["schema-version", "timestamp", "text-value"],
)
def test_store_contents_that_cannot_be_read_are_one_line_exit_2(
    stored, capsys, tree_snapshot, sql, message
):
    _corrupt(stored, sql)
    before = tree_snapshot(stored)
    for fmt in ("table", "json"):
        assert main(["metrics", "history", "--format", fmt]) == 2
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1
        assert captured.err.startswith("error: the metrics store") and message in captured.err
    assert tree_snapshot(stored) == before
