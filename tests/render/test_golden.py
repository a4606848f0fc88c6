"""What every command prints, byte for byte, for the representative results of results.py.

Each case runs ``mlprod`` through :func:`~mlprod_cli.cli.main` with the core
function it calls replaced by one returning a fixed result, and compares exit
code, stdout and stderr with ``golden/<case>.txt``. The files were written
before rendering moved out of the command modules, so they prove that table,
JSON, Markdown and JUnit output did not change. HTML is compared as its
structure and text (tags, classes, titles, words; not the PNG bytes).

After an intended change of output: ``MLPROD_UPDATE_GOLDEN=1 pytest tests/render/test_golden.py``,
then read the diff of golden/ before committing it.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from mlprod_cli import __version__
from mlprod_cli.cli import main
from mlprod_cli.core.models import Listing
from tests.render import results
from tests.render.test_evaluate import make_result

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("MLPROD_UPDATE_GOLDEN") == "1"


class FakeWorkspace:
    config = SimpleNamespace(
        project="skin-lesions", metrics=SimpleNamespace(objective=results.OBJECTIVE)
    )

    def open_store(self, **kwargs):
        return contextlib.nullcontext()


def _bare_outcome(*args, **kwargs):
    from mlprod_cli.core.evaluate import Evaluated, EvaluationResult
    from mlprod_cli.core.metrics import classification_report

    report = classification_report(["x", "x", "y"], ["x", "x", "x"])
    result = EvaluationResult(None, {}, Evaluated("preds.csv", None, "predictions", report))
    return SimpleNamespace(result=result, curves={})


def _evaluated(workspace, *, enforce_gates=True, **kwargs):
    result, curves = make_result(enforced=enforce_gates)
    return SimpleNamespace(result=result, curves=curves)


@pytest.fixture
def fake_core(monkeypatch, tmp_path):
    """Every core entry point the commands call, answering with results.py's results."""
    from mlprod_cli.core import (
        check,
        evaluate,
        history,
        models,
        package,
        predict,
        scaffold,
        skew,
        train,
    )
    from mlprod_cli.core.workspace import Workspace

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLPROD_FORMAT", raising=False)
    monkeypatch.setenv("CI", "true")  # plain status lines, whatever runs the tests
    patches = {
        (Workspace, "load"): staticmethod(lambda *a, **k: FakeWorkspace()),
        (evaluate, "evaluate_version"): _evaluated,
        (evaluate, "evaluate_predictions"): _bare_outcome,
        (skew, "project_workspace"): lambda: None,
        (skew, "run_skew"): lambda ws, request, **k: results.skew_run(
            predictions=request.reference is None
        ),
        (train, "train"): lambda ws, *, activate, **k: results.train_result(activated=activate),
        (train, "tune"): lambda ws, **k: results.tune_result(),
        (models, "list_versions"): lambda ws, kind=None: (
            Listing([], {"model": None, "baseline": None}) if kind else results.listing()
        ),
        (models, "show"): lambda ws, v: (
            results.version(int(v[1:]), tune={"search": "grid"})
            if v == "v0003"
            else results.version(int(v[1:]))
        ),
        (models, "activate"): lambda ws, v, force=False, replace_rules=False: results.activation(
            gates=v == "v0002"
        ),
        (models, "rollback"): lambda ws, kind, replace_rules=False: models.Rollback(
            kind, "v0001", "v0002"
        ),
        (models, "diff"): lambda ws, a, b: results.changes() if a != b else [],
        (history, "load_history"): lambda store, project, *, slice, **k: results.history(
            points=slice is None
        ),
        (package, "check_tag"): lambda tag: None,
        (package, "make_context"): lambda ws, request, **k: results.package_result(
            built=request.offline
        ),
        (package, "build_image"): lambda result, base: None,
        (check, "run_checks"): lambda venv=True: results.check_report(ok=not venv),
        (scaffold, "create_project"): lambda request, **k: results.new_result(
            tmp_path, dry_run=request.dry_run, installed=request.install
        ),
        (predict, "predict_file"): lambda *a, **k: results.predict_result(),
    }
    for (owner, name), value in patches.items():
        monkeypatch.setattr(owner, name, value)
    return tmp_path


def _normal(text: str, tmp_path: Path) -> str:
    """Paths, versions and step durations of this machine as placeholders."""
    for real, shown in (
        (sys.executable, "<python>"),
        (sys.prefix, "<prefix>"),
        (str(tmp_path), "<tmp>"),
        (f'"version": "{__version__}"', '"version": "<version>"'),
    ):
        text = text.replace(real, shown)
    return re.sub(r"\(\d+\.\d s\)$", "(… s)", text, flags=re.MULTILINE)


class _Structure(HTMLParser):
    """An HTML page as lines: each tag with the attributes that carry meaning, each text."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def handle_starttag(self, tag, attrs):
        kept = [f'{k}="{v}"' for k, v in attrs if k != "src"]
        src = [v.split(",")[0] for k, v in attrs if k == "src"]
        self.lines.append(" ".join([f"<{tag}", *kept, *(f"src={s},…" for s in src)]) + ">")

    def handle_data(self, data):
        if data.strip():
            self.lines.append(data.strip())


def _html_structure(text: str) -> str:
    page = _Structure()
    page.feed(text)
    page.close()
    return "\n".join(page.lines) + "\n"


PREDICTIONS = ["evaluate", "--predictions", "p.csv", "--label-col", "y", "--pred-col", "p"]

CASES: dict[str, list[str]] = {
    "evaluate-table": ["evaluate", "--no-store"],
    "evaluate-table-all-metrics": ["evaluate", "--no-store", "--all-metrics"],
    "evaluate-table-no-gate": ["evaluate", "--no-store", "--no-gate"],
    "evaluate-json": ["evaluate", "--no-store", "-f", "json"],
    "evaluate-markdown": ["evaluate", "--no-store", "-f", "markdown"],
    "evaluate-markdown-all-metrics": ["evaluate", "--no-store", "-f", "markdown", "--all-metrics"],
    "evaluate-markdown-no-gate": ["evaluate", "--no-store", "-f", "markdown", "--no-gate"],
    "evaluate-junit": ["evaluate", "--no-store", "-f", "junit"],
    "evaluate-junit-no-gate": ["evaluate", "--no-store", "-f", "junit", "--no-gate"],
    **{
        f"evaluate-predictions-{fmt}": [*PREDICTIONS, "-f", fmt]
        for fmt in ("table", "json", "markdown", "junit")
    },
    "skew-table": ["skew"],
    "skew-table-fail-on-warn": ["skew", "--fail-on", "warn"],
    "skew-json": ["skew", "-f", "json"],
    "skew-json-fail-on-warn": ["skew", "-f", "json", "--fail-on", "warn"],
    "skew-markdown": ["skew", "-f", "markdown"],
    "skew-junit": ["skew", "-f", "junit"],
    "skew-junit-fail-on-warn": ["skew", "-f", "junit", "--fail-on", "warn"],
    **{
        f"skew-files-{fmt}": ["skew", "-r", "ref.csv", "-c", "cur.csv", "-f", fmt]
        for fmt in ("table", "json", "markdown", "junit")
    },
    "train-table": ["train"],
    "train-table-activated": ["train", "--activate"],
    "train-json": ["train", "-f", "json"],
    "tune-table": ["tune"],
    "tune-json": ["tune", "-f", "json"],
    "models-list-table": ["models", "list"],
    "models-list-json": ["models", "list", "-f", "json"],
    "models-list-empty": ["models", "list", "--kind", "baseline"],
    "models-list-empty-json": ["models", "list", "--kind", "baseline", "-f", "json"],
    "models-show-table": ["models", "show", "v0002"],
    "models-show-tuned": ["models", "show", "v0003"],
    "models-show-json": ["models", "show", "v0002", "-f", "json"],
    "models-activate-table": ["models", "activate", "v0002"],
    "models-activate-json": ["models", "activate", "v0002", "-f", "json"],
    "models-activate-baseline": ["models", "activate", "v0001"],
    "models-rollback": ["models", "rollback"],
    "models-diff-table": ["models", "diff", "v0001", "v0002"],
    "models-diff-json": ["models", "diff", "v0001", "v0002", "-f", "json"],
    "models-diff-none": ["models", "diff", "v0002", "v0002"],
    "metrics-history-table": ["metrics", "history"],
    "metrics-history-json": ["metrics", "history", "-f", "json"],
    "metrics-history-empty": ["metrics", "history", "--slice", "sex=male"],
    "metrics-history-empty-json": ["metrics", "history", "--slice", "sex=male", "-f", "json"],
    "package-table": ["package"],
    "package-table-built": ["package", "--offline", "--build"],
    "package-json": ["package", "-f", "json"],
    "package-json-built": ["package", "--offline", "-f", "json"],
    "check-table": ["check"],
    "check-table-ok": ["check", "--no-venv"],
    "check-json": ["check", "-f", "json"],
    "new-table": ["new", "skin-lesions"],
    "new-table-no-install": ["new", "skin-lesions", "--no-install"],
    "new-table-dry-run": ["new", "skin-lesions", "--dry-run"],
    "new-json": ["new", "skin-lesions", "-f", "json"],
    "predict-table": ["predict", "data/lesions.csv", "-o", "out/predictions.parquet"],
    "predict-json": ["predict", "data/lesions.csv", "-o", "out/p.parquet", "-f", "json"],
}

HTML_CASES: dict[str, list[str]] = {
    "evaluate-html": ["evaluate", "--no-store", "-f", "html"],
    "evaluate-predictions-html": [*PREDICTIONS, "-f", "html"],
    "skew-html": ["skew", "-f", "html"],
    "skew-files-html": ["skew", "-r", "ref.csv", "-c", "cur.csv", "-f", "html"],
}


def _check(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path.name}: run with MLPROD_UPDATE_GOLDEN=1"
    assert _digits(text) == _digits(path.read_text(encoding="utf-8"))


# A statistic computed in floating point may differ in its last digits between
# builds of numpy and scipy (their summation order, their SIMD code): numbers
# written with 11 or more significant digits are compared to 10.
_LONG_NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e[+-]?\d+)?(?![\w.])")


def _digits(text: str) -> str:
    def shorter(match: re.Match[str]) -> str:
        number = match.group()
        significant = len(number.split("e")[0].lstrip("-").replace(".", "").lstrip("0"))
        return f"{float(number):.10g}" if significant > 10 else number

    return _LONG_NUMBER.sub(shorter, text)


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_is_unchanged(name, fake_core, capsys):
    argv = CASES[name]
    code = main(argv)
    seen = capsys.readouterr()
    text = f"$ mlprod {' '.join(argv)}\nexit {code}\n--- stdout\n{seen.out}--- stderr\n{seen.err}"
    _check(name, _normal(text, fake_core))


@pytest.mark.parametrize("name", sorted(HTML_CASES))
def test_html_keeps_every_section_and_value(name, fake_core, capsys):
    pytest.importorskip("matplotlib")
    argv = HTML_CASES[name]
    code = main(argv)
    seen = capsys.readouterr()
    text = f"$ mlprod {' '.join(argv)}\nexit {code}\n--- structure\n{_html_structure(seen.out)}"
    _check(name, _normal(text + f"--- stderr\n{seen.err}", fake_core))


HELP = ["", "evaluate", "skew", "train", "tune", "models", "models list", "models show",
        "models activate", "models rollback", "models diff", "metrics", "metrics history",
        "package", "check", "new", "predict", "serve"]  # fmt: skip


@pytest.mark.parametrize("command", HELP)
def test_help_is_unchanged(command, monkeypatch, capsys):
    """Every option's name, default, environment variable and help, as ``--help`` shows them."""
    monkeypatch.setenv("COLUMNS", "100")
    argv = [*command.split(), "--help"]
    assert main(argv) == 0
    name = "help" + "".join(f"-{word}" for word in command.split())
    _check(name, f"$ mlprod {' '.join(argv)}\n{capsys.readouterr().out}")


def test_evaluate_html_honours_all_metrics(fake_core, capsys):
    """docs/evaluate.md: --all-metrics is for the table, Markdown and HTML (the command
    used to leave it out of HTML)."""
    pytest.importorskip("matplotlib")
    assert main(["evaluate", "--no-store", "--no-gate", "-f", "html"]) == 0
    assert "<th>NPV</th>" not in capsys.readouterr().out
    assert main(["evaluate", "--no-store", "--no-gate", "-f", "html", "--all-metrics"]) == 0
    assert "<th>NPV</th>" in capsys.readouterr().out
