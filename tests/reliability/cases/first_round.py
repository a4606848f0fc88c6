"""The first round of the catalogue (issue 7): every command, its options and files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.reliability.cases import (
    ACTIVE,
    CV,
    DATA,
    DATA_NEW,
    GRID,
    HEADER,
    LAUGHS,
    LOG,
    NEW,
    PRED,
    PREDICTIONS,
    ROW,
    ROWS,
    SPLIT,
    TABLE,
    Case,
    Setup,
    append_byte,
    append_byte_glob,
    edit,
    edit_metadata,
    edit_re,
    log_line,
    remove,
    rename,
    write,
)


def _keep_lines(predicate: Callable[[int, str], bool], rel: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / rel
        lines = path.read_text().splitlines()
        path.write_text(
            "\n".join(line for i, line in enumerate(lines) if predicate(i, line)) + "\n"
        )

    return setup


def _blank_label(root: Path) -> None:
    path = root / DATA
    lines = path.read_text().splitlines()
    lines[5] = lines[5].rsplit(",", 1)[0] + ","
    path.write_text("\n".join(lines) + "\n")


def _single_class(root: Path) -> None:
    path = root / DATA
    lines = path.read_text().splitlines()
    path.write_text(
        "\n".join([lines[0], *(ln for ln in lines[1:] if ln.endswith(",nevus"))]) + "\n"
    )


def _latin1(root: Path) -> None:
    path = root / DATA
    path.write_bytes(path.read_text().replace("trunk", "trünk").encode("latin-1"))


def _text_in_numbers(root: Path) -> None:
    path = root / DATA
    lines = path.read_text().splitlines()
    cells = lines[3].split(",")
    cells[2] = "forty"
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def _no_tune(root: Path) -> None:
    path = root / "mlprod.yaml"
    text = path.read_text()
    start, end = text.index("tune:\n"), text.index("store:")
    path.write_text(text[:start] + text[end:])


# --------------------------------------------------------------------------- the catalogue

# One case per line where it fits, so the catalogue reads as a list.
# fmt: off
CASES = [
    # ---- new: names, answers, destinations, templates
    Case("new/parent-path", ("new", "../evil", *NEW), "a plain name, not a path", base="empty"),
    Case("new/absolute-path", ("new", "/tmp/evil", *NEW), "a plain name, not a path", base="empty"),
    Case("new/jinja-name", ("new", "{{7*7}}", *NEW), "NAME '{{7*7}}'", base="empty"),
    Case("new/empty-name", ("new", "", *NEW), "NAME: a project name is required", base="empty"),
    Case("new/keyword-name", ("new", "class", *NEW), "is a Python keyword", base="empty"),
    Case("new/shadowing-name", ("new", "os", *NEW), "would shadow the module", base="empty"),
    Case("new/long-name", ("new", "a" * 101, *NEW), "at most 100 characters", base="empty"),
    Case(
        "new/jinja-answer",
        ("new", "ok", "-e", "package_name={{ cookiecutter.x }}", *NEW),
        "-e package_name: template expressions are not allowed",
        base="empty",
    ),
    Case(
        "new/jinja-statement-answer",
        ("new", "ok", "-e", "description={% raw %}x", *NEW),
        "-e description: template expressions",
        base="empty",
    ),
    Case("new/answer-without-value", ("new", "ok", "-e", "author", *NEW), "-e author: expected key=value", base="empty"),
    Case("new/answer-without-key", ("new", "ok", "-e", "=x", *NEW), "-e =x: expected key=value", base="empty"),
    Case("new/unknown-answer", ("new", "ok", "-e", "colour=red", *NEW), "-e colour: the template has no such variable", base="empty"),
    Case("new/answer-path", ("new", "ok", "-e", "package_name=../x", *NEW), "would make a path outside", base="empty"),
    Case("new/answer-bad-package", ("new", "ok", "-e", "package_name=my-pkg", *NEW), "not a valid Python package name", base="empty"),
    Case("new/answer-project-name", ("new", "ok", "-e", "project_name=x", *NEW), "-e project_name", base="empty"),
    Case("new/existing-non-empty", ("new", "ok", *NEW), "ok: exists and is not empty", (write("ok/notes.txt", "mine"),), base="empty"),
    Case("new/half-made", ("new", "ok", *NEW), "left half-made", (write("ok/.mlprod-incomplete", ""),), base="empty"),
    Case("new/destination-is-a-file", ("new", "ok", *NEW), "ok: exists and is not a folder", (write("ok", "a file"),), base="empty"),
    Case("new/unknown-template", ("new", "ok", "--template", "nope", *NEW), "--template nope: no such template", base="empty"),
    Case(
        "new/template-without-cookiecutter-json",
        ("new", "ok", "--template", "tpl", *NEW),
        "no cookiecutter.json",
        (write("tpl/README", "not a template"),),
        base="empty",
    ),
    Case(
        "new/template-bad-json",
        ("new", "ok", "--template", "tpl", *NEW),
        "cookiecutter.json: not valid JSON",
        (write("tpl/cookiecutter.json", "{bad"),),
        base="empty",
    ),
    Case("new/output-dir-is-a-file", ("new", "ok", "--output-dir", "f", *NEW), "--output-dir", (write("f", "x"),), base="empty"),
    Case("new/unknown-python", ("new", "ok", "--python", "9.99", "--no-input", "--no-git"), "--python 9.99", base="empty"),
    Case("new/no-terminal-no-input", ("new", "ok", "--no-venv", "--no-git"), "pass --no-input", base="empty"),
    # ---- new --data: the user's own table
    Case("new/data-missing-file", ("new", "ok", "--target", "y", *DATA_NEW), "--data t.csv: no such file", base="empty"),
    Case("new/data-without-target", ("new", "ok", *DATA_NEW), "--data needs --target COL", (write("t.csv", TABLE),), base="empty"),
    Case("new/target-without-data", ("new", "ok", "--target", "y", *NEW), "--target goes with --data FILE", base="empty"),
    Case("new/link-without-data", ("new", "ok", "--data-link", *NEW), "--data-link goes with --data FILE", base="empty"),
    Case("new/data-unknown-target", ("new", "ok", "--target", "nope", *DATA_NEW), "--target nope: no such column in t.csv", (write("t.csv", TABLE),), base="empty"),
    Case("new/data-one-class", ("new", "ok", "--target", "same", *DATA_NEW), "--target same: one class only", (write("t.csv", TABLE),), base="empty"),
    Case("new/data-all-missing-target", ("new", "ok", "--target", "blank", *DATA_NEW), "--target blank: every value is missing", (write("t.csv", TABLE),), base="empty"),
    Case("new/data-unlabelled-rows", ("new", "ok", "--target", "y", *DATA_NEW), "--target y: 1 of 40 rows has no label", (write("t.csv", TABLE.replace(",a,s,,day 1\n", ",,s,,day 1\n")),), base="empty"),
    Case("new/data-regression-of-text", ("new", "ok", "--target", "y", "--task", "regression", *DATA_NEW), "--target y: holds categorical values such as", (write("t.csv", TABLE),), base="empty"),
    Case("new/data-regression-target-infinite", ("new", "ok", "--target", "x", *DATA_NEW), "--target x: 1 row of t.csv holds an infinity", (write("t.csv", TABLE.replace("r3,1.5,", "r3,inf,")),), base="empty"),
    Case("new/data-date-does-not-parse", ("new", "ok", "--target", "y", "--time-column", "when", *DATA_NEW), "--time-column when: is not a date column", (write("t.csv", TABLE),), base="empty"),
    Case("new/data-time-column-all-missing", ("new", "ok", "--target", "y", "--time-column", "blank", *DATA_NEW), "--time-column blank: every value is missing", (write("t.csv", TABLE),), base="empty"),
    Case("new/data-unknown-positive-class", ("new", "ok", "--target", "y", "--positive-class", "c", *DATA_NEW), "--positive-class c: not a class", (write("t.csv", TABLE),), base="empty"),
    Case("new/data-slice-of-many-values", ("new", "ok", "--target", "y", "--slice-by", "x", *DATA_NEW), "--slice-by x: 40 distinct values", (write("t.csv", TABLE),), base="empty"),
    Case("new/data-not-a-table", ("new", "ok", "--target", "y", "--data", "t.parquet", *NEW), "t.parquet: cannot read it as Parquet", (write("t.parquet", b"PAR1 garbage"),), base="empty"),
    Case("new/data-not-utf8", ("new", "ok", "--target", "y", *DATA_NEW), "t.csv: is not UTF-8", (write("t.csv", "caf\xe9,y\n1,a\n".encode("latin-1")),), base="empty"),
    Case("new/data-empty-file", ("new", "ok", "--target", "y", *DATA_NEW), "t.csv: the file is empty", (write("t.csv", ""),), base="empty"),
    Case("new/data-header-only", ("new", "ok", "--target", "y", *DATA_NEW), "t.csv: no rows", (write("t.csv", "x,y\n"),), base="empty"),
    Case("new/data-header-twice", ("new", "ok", "--target", "y", *DATA_NEW), "column 'y' appears twice", (write("t.csv", "y,x,y\na,1,b\n"),), base="empty"),
    Case("new/data-wrong-suffix", ("new", "ok", "--target", "y", "--data", "t.xlsx", *NEW), "must be .csv or .parquet", (write("t.xlsx", "x"),), base="empty"),
    Case("new/data-no-feature", ("new", "ok", "--target", "y", *DATA_NEW), "no column can be a feature", (write("t.csv", "id,y\n" + "".join(f"k{i},{'ab'[i % 2]}\n" for i in range(40))),), base="empty"),
    Case("new/data-ragged-rows", ("new", "ok", "--target", "y", *DATA_NEW), "t.csv: cannot read it as CSV", (write("t.csv", "x,y\n1,a\n2,b,3\n"),), base="empty"),
    Case("new/bad-format", ("new", "ok", "--format", "xml", *NEW), "'--format'", base="empty"),
    # ---- mlprod.yaml, through check (and the commands that load it)
    Case("config/no-project", ("check", "--no-venv"), "no mlprod.yaml in", base="empty"),
    Case("config/yaml-syntax", ("check", "--no-venv"), "mlprod.yaml:10: not valid YAML", (edit("data:", "data: [\n"),), base="rendered"),
    Case("config/empty-file", ("check", "--no-venv"), "mlprod.yaml: the file is empty", (write("mlprod.yaml", ""),), base="rendered"),
    Case("config/not-utf8", ("check", "--no-venv"), "mlprod.yaml: not UTF-8", (write("mlprod.yaml", b"project: \xff\xfe\n"),), base="rendered"),
    Case("config/a-list", ("check", "--no-venv"), "expected a mapping, got a list", (write("mlprod.yaml", "- 1\n- 2\n"),), base="rendered"),
    Case(
        "config/nested-too-deeply",
        ("check", "--no-venv"),
        "nested too deeply",
        (write("mlprod.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n"),),
        base="rendered",
    ),
    Case("config/billion-laughs", ("check", "--no-venv"), "once its aliases (*name) are expanded", (write("mlprod.yaml", LAUGHS),), base="rendered"),
    Case("config/self-alias", ("check", "--no-venv"), "nested too deeply", (write("mlprod.yaml", "a: &x [*x]\n"),), base="rendered"),
    Case("config/duplicate-key", ("check", "--no-venv"), "store: duplicate key", (edit("registry: models/", "store: sqlite:///x.db\nregistry: models/"),), base="rendered"),
    Case("config/unknown-key", ("check", "--no-venv"), "registri: unknown key", (edit("registry:", "registri:"),), base="rendered"),
    Case("config/unknown-nested-key", ("check", "--no-venv"), "data.trian: unknown key", (edit("  train:", "  trian:"),), base="rendered"),
    Case("config/missing-project", ("check", "--no-venv"), "missing required key 'project'", (edit("project: skin-lesions\n", ""),), base="rendered"),
    Case("config/wrong-type", ("check", "--no-venv"), "tune.cv: expected a whole number, got 'five'", (edit(CV, "  cv: five\n"),), base="rendered"),
    Case("config/out-of-range", ("check", "--no-venv"), "tune.cv: must be at least 2", (edit(CV, "  cv: 1\n"),), base="rendered"),
    Case("config/unknown-gate-metric", ("check", "--no-venv"), "unknown metric 'aucroc'", (edit("metric: auroc", "metric: aucroc"),), base="rendered"),
    Case("config/unknown-objective", ("check", "--no-venv"), "metrics.objective: unknown metric 'recal'", (edit("objective: recall@", "objective: recal@"),), base="rendered"),
    Case("config/objective-without-class", ("check", "--no-venv"), "class missing after '@'", (edit("objective: recall@melanoma", "objective: recall@"),), base="rendered"),
    Case("config/gate-without-bound", ("check", "--no-venv"), "a gate needs 'min' or 'max'", (edit_re(r"(metric: auroc), min: [0-9.]+\}", r"\1}"),), base="rendered"),
    Case("config/gate-bound-text", ("check", "--no-venv"), "min: expected a number, got 'high'", (edit_re(r"(metric: auroc, )min: [0-9.]+", r"\1min: high"),), base="rendered"),
    Case("config/negative-regression", ("check", "--no-venv"), "metrics.max_regression.recall@melanoma: must be at least 0", (edit("recall@melanoma: 0.02", "recall@melanoma: -0.5"),), base="rendered"),
    Case("config/missing-data-file", ("check", "--no-venv"), "data.train: data/nope.csv: no such file", (edit(DATA, "data/nope.csv"),), base="rendered"),
    Case("config/split-fraction-above-1", ("check", "--no-venv"), "data.split.test_size: must be at most 1", (edit(SPLIT, "split: {by: random, test_size: 1.5}"),), base="rendered"),
    Case("config/split-fraction-zero", ("check", "--no-venv"), "data.split.test_size: must be between 0 and 1", (edit(SPLIT, "split: {by: random, test_size: 0}"),), base="rendered"),
    Case("config/split-by-unknown", ("check", "--no-venv"), "data.split.by: expected one of time, random", (edit(SPLIT, "split: {by: season}"),), base="rendered"),
    Case("config/split-without-cutoff", ("check", "--no-venv"), "a split by time needs 'cutoff'", (edit(SPLIT, "split: {by: time, column: visit_date}"),), base="rendered"),
    Case("config/split-bad-cutoff", ("check", "--no-venv"), "data.split.cutoff: expected a date", (edit('"2024-07-01"', "soon"),), base="rendered"),
    Case("config/split-and-test", ("check", "--no-venv"), "give either 'test' (a file) or 'split'", (edit("  target:", f"  test: {DATA}\n  target:"),), base="rendered"),
    Case("config/model-not-dotted", ("check", "--no-venv"), "model: expected a dotted path", (edit("model: skin_lesions.model:build", "model: src/model.py"),), base="rendered"),
    Case("config/model-module-missing", ("check", "--no-venv"), "module 'skin_lesions.nomodel' not found", (edit("skin_lesions.model:", "skin_lesions.nomodel:"),), base="rendered"),
    Case("config/serve-port", ("check", "--no-venv"), "serve.port: must be at most 65535", (edit("port: 8000", "port: 70000"),), base="rendered"),
    Case("config/skew-unknown-statistic", ("check", "--no-venv"), "skew.thresholds.bogus: unknown key", (edit("serving_log: logs/requests/", "serving_log: logs/requests/\n  thresholds: {bogus: 1}"),), base="rendered"),
    Case("config/skew-warn-above-fail", ("check", "--no-venv"), "skew.thresholds.psi: warn (0.5) is above fail (0.1)", (edit("serving_log: logs/requests/", "serving_log: logs/requests/\n  thresholds: {psi: {warn: 0.5, fail: 0.1}}"),), base="rendered"),
    Case("config/check-bad-format", ("check", "--format", "xml"), "'--format'", base="rendered"),
    # ---- data files, through train
    Case("data/missing-label-column", ("train", "--cv", "0"), "the target column 'diagnosis' is missing", (write(DATA, "a,b\n1,2\n3,4\n"),)),
    Case("data/single-class", ("train", "--cv", "0"), "has one class only (nevus)", (_single_class,)),
    Case("data/nan-label", ("train", "--cv", "0"), "the target column 'diagnosis' is empty in 1 row", (_blank_label,)),
    Case("data/binary-garbage", ("train", "--cv", "0"), "lesions.csv: the loader skin_lesions.data:load failed", (write(DATA, b"\x00\xff\xfe\x89PNG\r\n\x1a\n"),)),
    Case("data/latin-1", ("train", "--cv", "0"), "UnicodeDecodeError", (_latin1,)),
    Case("data/empty-file", ("train", "--cv", "0"), "lesions.csv: the file is empty", (write(DATA, ""),)),
    Case("data/header-only", ("train", "--cv", "0"), "lesions.csv: no rows", (_keep_lines(lambda i, _: i == 0, DATA),)),
    Case("data/text-in-number-column", ("train", "--cv", "0"), "column 'age' must be numeric", (_text_in_numbers,)),
    Case(
        "data/parquet-that-is-csv",
        ("train", "--cv", "0"),
        "lesions.parquet: the loader",
        (rename(DATA, "data/lesions.parquet"), edit("lesions.csv", "lesions.parquet")),
    ),
    Case("data/split-leaves-no-test", ("train", "--cv", "0"), "leaves no test rows", (edit('"2024-07-01"', '"2099-01-01"'),)),
    Case("data/unknown-positive-class", ("train", "--cv", "0"), "positive_class 'melanomma' never occurs", (edit("positive_class: melanoma", "positive_class: melanomma"),)),
    Case("train/missing-data-option", ("train", "--data", "nope.csv", "--cv", "0"), "nope.csv: no such data file"),
    Case("train/data-is-a-folder", ("train", "--data", "data", "--cv", "0"), "'--data'"),
    Case("train/exclusive-options", ("train", "--model-only", "--baseline-only"), "--model-only and --baseline-only exclude each other"),
    Case("train/negative-cv", ("train", "--cv", "-1"), "'--cv'"),
    Case("train/factory-missing", ("train", "--cv", "0"), "skin_lesions.model has no attribute 'nope'", (edit("model:build", "model:nope"),)),
    Case(
        "train/factory-raises",
        ("train", "--cv", "0"),
        "skin_lesions.model:build() failed: RuntimeError: boom",
        (write("src/skin_lesions/model.py", "def build():\n    raise RuntimeError('boom')\n"),),
        subprocess=True,
    ),
    Case(
        "train/factory-not-an-estimator",
        ("train", "--cv", "0"),
        "returned int, not an estimator",
        (write("src/skin_lesions/model.py", "def build():\n    return 5\n"),),
        subprocess=True,
    ),
    Case(
        "train/fit-raises",
        ("train", "--cv", "0"),
        "fitting the model (skin_lesions.model:build) failed: RuntimeError: no fit",
        (
            write(
                "src/skin_lesions/model.py",
                "from sklearn.dummy import DummyClassifier\n\n\n"
                "class Broken(DummyClassifier):\n"
                "    def fit(self, X, y):\n"
                "        raise RuntimeError('no fit')\n\n\n"
                "def build():\n    return Broken()\n",
            ),
        ),
        subprocess=True,
    ),
    # ---- tune
    Case("tune/no-section", ("tune",), "no 'tune:' section", (_no_tune,)),
    Case("tune/empty-values", ("tune",), "tune.params.classifier__C: expected a non-empty list", (edit(GRID, "classifier__C: []"),)),
    Case("tune/unknown-parameter", ("tune",), "the model has no parameter 'classifier__nope'", (edit(GRID, "classifier__nope: [1, 2]"),)),
    Case("tune/value-the-model-refuses", ("tune", "--jobs", "1"), "tune.params: fitting the model with classifier__C='abc' failed", (edit(GRID, "classifier__C: [0.1, abc]"),)),
    Case("tune/unknown-search", ("tune",), "tune.search: expected one of grid, random", (edit("search: grid", "search: bayes"),)),
    Case("tune/zero-jobs", ("tune", "--jobs", "0"), "--jobs 0"),
    Case("tune/objective-class-not-in-data", ("tune",), "metrics.objective: class 'melanomma' is not in the data (classes: melanoma, nevus, seborrheic_keratosis)", (edit("objective: recall@melanoma", "objective: recall@melanomma"),)),
    # ---- models: unknown versions, empty registry, broken state
    Case("models/show-unknown", ("models", "show", "v0009"), "model version 'v0009' not found"),
    Case("models/show-empty-registry", ("models", "show", "v0001"), "(versions: none yet)", base="rendered"),
    Case("models/activate-unknown", ("models", "activate", "v0099"), "model version 'v0099' not found"),
    Case("models/activate-not-an-id", ("models", "activate", "latest"), "model version 'latest' not found"),
    Case("models/rollback-nothing-active", ("models", "rollback"), "no active model to roll back from"),
    Case("models/rollback-first", ("models", "rollback"), "no earlier active model to roll back to", (ACTIVE,)),
    Case(
        "models/rollback-to-deleted",
        ("models", "rollback"),
        "model version 'v0007' not found",
        (write("models/active.json", json.dumps({"model": "v0002", "history": {"model": ["v0007", "v0002"]}})),),
    ),
    Case("models/rollback-bad-kind", ("models", "rollback", "--kind", "nope"), "'--kind'"),
    Case("models/list-bad-kind", ("models", "list", "--kind", "x"), "'--kind'"),
    Case("models/diff-unknown", ("models", "diff", "v0001", "v0009"), "model version 'v0009' not found"),
    Case("models/show-bad-format", ("models", "show", "v0001", "--format", "yaml"), "'--format'"),
    Case("models/metadata-not-json", ("models", "show", "v0002"), "v0002/metadata.json is unreadable", (write("models/v0002/metadata.json", "{oops"),)),
    Case("models/metadata-a-list", ("models", "activate", "v0002"), "v0002/metadata.json is malformed: expected a JSON object", (write("models/v0002/metadata.json", "[1]"),)),
    Case("models/metadata-missing", ("models", "show", "v0002"), "v0002: metadata.json is missing", (remove("models/v0002/metadata.json"),)),
    Case("models/metadata-schema-type", ("models", "activate", "v0002"), "'schema' must be a mapping, got text", (edit_metadata("v0002", schema="none"),)),
    Case("models/metadata-git-null", ("models", "show", "v0002"), "'git' must be a mapping, got null", (edit_metadata("v0002", git=None),)),
    Case("models/metadata-kind", ("models", "show", "v0002"), "'kind' must be one of model, baseline", (edit_metadata("v0002", kind=["model"]),)),
    Case("models/metadata-feature", ("models", "show", "v0002"), "'schema.features[0]' must have a 'name'", (edit_metadata("v0002", schema={"features": [{"x": 1}]}),)),
    Case("models/missing-artifact", ("models", "activate", "v0002"), "v0002: model.skops is missing", (remove("models/v0002/model.skops"),)),
    Case("models/tampered-artifact", ("models", "activate", "v0002"), "model.skops does not match its metadata", (append_byte("models/v0002/model.skops"),)),
    Case("models/active-json-garbage", ("models", "list"), "models/active.json is unreadable", (write("models/active.json", "{oops"),)),
    Case("models/active-json-a-list", ("models", "list"), "active.json is malformed: expected a JSON object", (write("models/active.json", "[]"),)),
    Case("models/active-json-bad-id", ("models", "activate", "v0001"), "'model' must be a version id", (write("models/active.json", '{"model": 5}'),)),
    Case("models/active-json-bad-history", ("models", "rollback"), "'history' must be a mapping", (write("models/active.json", '{"model": "v0002", "history": []}'),)),
    # ---- evaluate: project mode
    Case("evaluate/unknown-model", ("evaluate", "--model", "v0009"), "model version 'v0009' not found"),
    Case("evaluate/empty-model", ("evaluate", "--model", ""), "model version '' not found"),
    Case("evaluate/empty-registry", ("evaluate",), "no model in models/ to evaluate", base="rendered"),
    Case("evaluate/broken-version", ("evaluate", "--model", "v0002"), "v0002/metadata.json is unreadable", (write("models/v0002/metadata.json", "{"),)),
    Case("evaluate/tampered-artifact", ("evaluate",), "model.skops does not match its metadata", (append_byte("models/v0002/model.skops"),)),
    Case("evaluate/unknown-slice", ("evaluate", "--slice-by", "planet"), "slice column 'planet' is not in the data"),
    Case("evaluate/objective-class-not-in-data", ("evaluate",), "metrics.objective: class 'melanomma' is not in the data (classes: melanoma, nevus, seborrheic_keratosis)", (edit("objective: recall@melanoma", "objective: recall@melanomma"),)),
    Case("evaluate/gate-class-not-in-data", ("evaluate",), "metrics.gates[0].class: class 'melanomma' is not in the data", (edit("{metric: recall, class: melanoma,", "{metric: recall, class: melanomma,"),)),
    Case("train/objective-class-not-in-data", ("train", "--cv", "0"), "metrics.objective: class 'melanomma' is not in the data", (edit("objective: recall@melanoma", "objective: recall@melanomma"),)),
    Case("evaluate/label-col-alone", ("evaluate", "--label-col", "y"), "--label-col goes with --predictions FILE"),
    Case("evaluate/labels-alone", ("evaluate", "--labels", "l.csv"), "--labels goes with --predictions FILE"),
    Case("evaluate/bad-format", ("evaluate", "--format", "pdf"), "'pdf' is not one of"),
    Case("evaluate/output-is-a-folder", ("evaluate", "--output", "models"), "'--output'"),
    # ---- evaluate --predictions, outside a project
    Case("predictions/missing-file", PRED, "p.csv: no such predictions file", base="empty"),
    Case("predictions/empty-file", PRED, "p.csv: the file is empty", (write("p.csv", ""),), base="empty"),
    Case("predictions/header-only", PRED, "p.csv: no rows", (write("p.csv", "y,p\n"),), base="empty"),
    Case("predictions/wrong-columns", PRED, "--label-col column 'y' is missing (columns: a, b)", (write("p.csv", "a,b\n1,2\n"),), base="empty"),
    Case("predictions/no-pred-column", PRED, "--pred-col column 'p' is missing", (write("p.csv", "y,q\na,a\n"),), base="empty"),
    Case("predictions/empty-label", PRED, "column 'y' has 1 empty values (row 2 first)", (write("p.csv", "y,p\na,a\n,b\n"),), base="empty"),
    Case(
        "predictions/non-numeric-scores",
        (*PRED, "--score-cols", "score_a,score_b"),
        "score column 'score_a' is not numeric",
        (write("p.csv", PREDICTIONS.replace("0.9", "high")),),
        base="empty",
    ),
    Case(
        "predictions/infinite-scores",
        (*PRED, "--score-cols", "score_a,score_b"),
        "score column 'score_a' has empty or infinite values",
        (write("p.csv", PREDICTIONS.replace("0.9", "inf")),),
        base="empty",
    ),
    Case(
        "predictions/score-cols-unnamed",
        (*PRED, "--score-cols", "score_a,other"),
        "--score-cols: name them score_<class>",
        (write("p.csv", PREDICTIONS),),
        base="empty",
    ),
    Case(
        "predictions/score-cols-count",
        (*PRED, "--score-cols", "score_a,score_b", "--classes", "a"),
        "--score-cols: 2 columns for 1 class",
        (write("p.csv", PREDICTIONS),),
        base="empty",
    ),
    Case(
        "predictions/label-not-a-class",
        (*PRED, "--classes", "a"),
        "y holds 'b', not among the known classes: a",
        (write("p.csv", PREDICTIONS),),
        base="empty",
    ),
    Case(
        "predictions/labels-row-mismatch",
        (*PRED, "--labels", "l.csv"),
        "l.csv: has 1 row but p.csv has 3",
        (write("p.csv", PREDICTIONS), write("l.csv", "y\na\n")),
        base="empty",
    ),
    Case("predictions/labels-missing", (*PRED, "--labels", "l.csv"), "l.csv: no such labels file", (write("p.csv", PREDICTIONS),), base="empty"),
    Case(
        "predictions/unknown-format",
        ("evaluate", "--predictions", "p.txt", "--label-col", "y", "--pred-col", "p"),
        "p.txt: predictions file must be .csv or .parquet, not .txt",
        (write("p.txt", PREDICTIONS),),
        base="empty",
    ),
    Case(
        "predictions/parquet-that-is-csv",
        ("evaluate", "--predictions", "p.parquet", "--label-col", "y", "--pred-col", "p"),
        "p.parquet: cannot read it",
        (write("p.parquet", PREDICTIONS),),
        base="empty",
    ),
    Case("predictions/binary-garbage", PRED, "p.csv: cannot read it", (write("p.csv", b"\xff\xfe\x00garbage\x00\x01"),), base="empty"),
    Case("predictions/unterminated-quote", PRED, "p.csv: cannot read it", (write("p.csv", 'y,p\n"a,b\n'),), base="empty"),
    Case("predictions/unknown-slice", (*PRED, "--slice-by", "planet"), "slice column 'planet' is not in the file", (write("p.csv", PREDICTIONS),), base="empty"),
    Case("predictions/with-model", (*PRED, "--model", "v0001"), "--model and --predictions exclude each other", (write("p.csv", PREDICTIONS),), base="empty"),
    Case("predictions/without-columns", ("evaluate", "--predictions", "p.csv"), "--predictions needs --label-col and --pred-col", (write("p.csv", PREDICTIONS),), base="empty"),
    Case("predictions/bad-format", (*PRED, "--format", "xml"), "'xml' is not one of", (write("p.csv", PREDICTIONS),), base="empty"),
    Case("predictions/folder", ("evaluate", "--predictions", "d", "--label-col", "y", "--pred-col", "p"), "'--predictions'", (write("d/x", ""),), base="empty"),
    # ---- metrics store URLs (MLPROD_STORE_URL and 'store' of mlprod.yaml)
    Case("store/unknown-scheme", ("evaluate",), "unknown scheme 'mongodb'", env={"MLPROD_STORE_URL": "mongodb://db/metrics"}),
    Case("store/no-scheme", ("evaluate",), "metrics store URL in MLPROD_STORE_URL has no scheme", env={"MLPROD_STORE_URL": "hunter2"}),
    Case("store/unreachable-postgres", ("evaluate",), "cannot reach the metrics store postgresql://mlprod:***@127.0.0.1:1/metrics", env={"MLPROD_STORE_URL": "postgresql://mlprod:pw@127.0.0.1:1/metrics"}),
    Case("store/port-not-a-number", ("evaluate",), "the port is not a number", env={"MLPROD_STORE_URL": "postgresql://u:p@db:port/metrics"}),
    Case("store/at-in-password", ("metrics", "history"), "an @ in the password must be percent-encoded", env={"MLPROD_STORE_URL": "postgresql://u:p@ss@db:5432/metrics"}),
    Case("store/sqlite-with-host", ("evaluate",), "a SQLite URL has no host", env={"MLPROD_STORE_URL": "sqlite://host/m.db"}),
    Case("store/sqlite-without-file", ("evaluate",), "no database file named", env={"MLPROD_STORE_URL": "sqlite:///"}),
    Case("store/config-unknown-scheme", ("evaluate",), "unknown scheme 'ftp'", (edit("store: sqlite:///.mlprod/metrics.db", "store: ftp://example/m.db"),)),
    Case("store/not-a-database", ("evaluate",), "file is not a database", (write(".mlprod/metrics.db", "not a database, really not"),)),
    Case("store/folder-is-a-file", ("evaluate",), "is not a folder", (write(".mlprod", "a file"),)),
    Case("store/history-unknown-scheme", ("metrics", "history"), "unknown scheme 'redis'", env={"MLPROD_STORE_URL": "redis://cache"}),
    Case("store/history-not-a-database", ("metrics", "history"), "file is not a database", (write(".mlprod/metrics.db", "garbage " * 100),)),
    # ---- metrics history
    Case("history/unknown-metric", ("metrics", "history", "--metric", "nope"), "unknown metric 'nope'"),
    Case("history/no-metric-name", ("metrics", "history", "--metric", "@melanoma"), "--metric must name a metric"),
    Case("history/metric-and-class-disagree", ("metrics", "history", "--metric", "recall@a", "--class", "b"), "disagree"),
    Case("history/last-zero", ("metrics", "history", "--last", "0"), "'--last'"),
    Case("history/plot-format", ("metrics", "history", "--plot", "x.gif"), "--plot x.gif: the file must end in .png"),
    Case("history/bad-format", ("metrics", "history", "--format", "csv"), "'--format'"),
    Case("history/bad-kind", ("metrics", "history", "--kind", "modle"), "'--kind'"),
    Case("history/unknown-model", ("metrics", "history", "--model", "v0099"), "--model v0099: no stored run of project 'skin-lesions'"),
    # ---- predict
    Case("predict/no-active-model", ("predict", "in.csv", "-o", "out.csv"), "no active model in models/", (write("in.csv", ROWS),)),
    Case("predict/missing-input", ("predict", "in.csv", "-o", "out.csv"), "in.csv: no such input file", (ACTIVE,)),
    Case("predict/empty-input", ("predict", "in.csv", "-o", "out.csv"), "in.csv: the file is empty", (ACTIVE, write("in.csv", ""))),
    Case("predict/header-only", ("predict", "in.csv", "-o", "out.csv"), "in.csv: no rows", (ACTIVE, write("in.csv", HEADER + "\n"))),
    Case("predict/missing-features", ("predict", "in.csv", "-o", "out.csv"), "missing feature columns the model needs: anatomic_site", (ACTIVE, write("in.csv", "age,sex\n3,male\n"))),
    Case("predict/bad-extension", ("predict", "in.txt", "-o", "out.csv"), "in.txt: input must be .csv or .parquet", (ACTIVE, write("in.txt", ROWS))),
    Case("predict/output-extension", ("predict", "in.csv", "-o", "out.txt"), "--output out.txt: must end in .csv or .parquet", (ACTIVE, write("in.csv", ROWS))),
    Case("predict/output-missing-folder", ("predict", "in.csv", "-o", "nodir/out.csv"), "folder nodir does not exist", (ACTIVE, write("in.csv", ROWS))),
    Case("predict/output-is-a-folder", ("predict", "in.csv", "-o", "models"), "'--output'", (ACTIVE, write("in.csv", ROWS))),
    Case("predict/output-is-input", ("predict", "in.csv", "-o", "in.csv"), "is the input file", (ACTIVE, write("in.csv", ROWS))),
    Case("predict/text-in-number", ("predict", "in.csv", "-o", "out.csv"), "column 'age' must be numeric: a row holds 'forty'", (ACTIVE, write("in.csv", ROWS.replace(",37,", ",forty,")))),
    Case("predict/infinite-number", ("predict", "in.csv", "-o", "out.csv"), "column 'diameter_mm' holds an infinite or too large number", (ACTIVE, write("in.csv", ROWS.replace(",7.5,", ",1e400,")))),
    Case("predict/repeated-column", ("predict", "in.csv", "-o", "out.csv"), "column 'age' appears more than once", (ACTIVE, write("in.csv", f"{HEADER},age\n{ROW},3\n"))),
    Case("predict/ragged-row", ("predict", "in.csv", "-o", "out.csv"), "in.csv: cannot read it: CSV parse error", (ACTIVE, write("in.csv", ROWS + "L2,2024\n"))),
    Case("predict/parquet-that-is-csv", ("predict", "in.parquet", "-o", "out.csv"), "in.parquet: cannot read it", (ACTIVE, write("in.parquet", ROWS))),
    Case("predict/unknown-model", ("predict", "in.csv", "-o", "out.csv", "--model", "v0009"), "model version 'v0009' not found", (write("in.csv", ROWS),)),
    Case("predict/batch-rows-zero", ("predict", "in.csv", "-o", "out.csv", "--batch-rows", "0"), "'--batch-rows'", (write("in.csv", ROWS),)),
    Case("predict/tampered-artifact", ("predict", "in.csv", "-o", "out.csv"), "does not match its metadata", (ACTIVE, write("in.csv", ROWS), append_byte("models/v0002/model.skops"))),
    Case("predict/active-deleted", ("predict", "in.csv", "-o", "out.csv"), "model version 'v0002' not found", (ACTIVE, write("in.csv", ROWS), remove("models/v0002"))),
    # ---- serve (each fails before it listens)
    Case("serve/port-out-of-range", ("serve", "--port", "70000"), "'--port'", (ACTIVE,)),
    Case("serve/port-not-a-number", ("serve", "--port", "http"), "'--port'", (ACTIVE,)),
    Case("serve/bad-host", ("serve", "--host", "256.1.1.1"), "--host 256.1.1.1: cannot listen there", (ACTIVE,)),
    Case("serve/no-active-model", ("serve",), "no active model in models/"),
    Case("serve/unknown-model", ("serve", "--model", "v0009"), "model version 'v0009' not found"),
    Case("serve/not-a-version-id", ("serve", "--model", "latest"), "VERSION 'latest': expected a version id"),
    Case("serve/zero-workers", ("serve", "--workers", "0"), "'--workers'", (ACTIVE,)),
    Case("serve/log-dir-is-a-file", ("serve", "--log-dir", "mlprod.yaml"), "'--log-dir'", (ACTIVE,)),
    Case("serve/config-port-zero", ("serve",), "serve.port: must be at least 1", (ACTIVE, edit("port: 8000", "port: 0"))),
    # ---- skew
    Case("skew/no-log", ("skew",), "logs/requests/ has no *.jsonl files", (ACTIVE,)),
    Case("skew/empty-log-file", ("skew",), "has no lines", (ACTIVE, write(LOG, "\n"))),
    Case("skew/garbled-log", ("skew",), "requests-2024-08-01.jsonl:2: not valid JSON", (ACTIVE, write(LOG, log_line() + "\nnot json\n"))),
    Case("skew/log-array", ("skew",), ".jsonl:1: expected a JSON object, got an array", (ACTIVE, write(LOG, "[1, 2]\n"))),
    Case("skew/log-not-utf8", ("skew",), ".jsonl:1: not UTF-8 text", (ACTIVE, write(LOG, b'{"a": "\xff\xfe"}\n'))),
    Case("skew/log-truncated", ("skew",), ".jsonl:2: not valid JSON", (ACTIVE, write(LOG, log_line() + "\n" + log_line()[:30]))),
    Case("skew/log-null-line", ("skew",), ".jsonl:1: expected a JSON object, got null", (ACTIVE, write(LOG, "null\n" + log_line() + "\n"))),
    Case("skew/current-null-row", ("skew", "--current", "c.jsonl"), "c.jsonl:2: expected a JSON object, got null", (ACTIVE, write("c.jsonl", '{"age": 3}\nnull\n'))),
    Case("skew/log-unknown-version", ("skew",), "served by v0042, which is not in models/", (ACTIVE, write(LOG, log_line("v0042") + "\n"))),
    Case("skew/no-reference", ("skew", "--current", "c.csv"), "no reference: pass --reference FILE", (write("c.csv", ROWS),)),
    Case("skew/current-missing", ("skew", "--current", "c.csv"), "c.csv: no such file", (ACTIVE,)),
    Case("skew/current-empty", ("skew", "--current", "c.csv"), "c.csv: the file is empty", (ACTIVE, write("c.csv", ""))),
    Case("skew/current-no-features", ("skew", "--current", "c.csv"), "c.csv: none of the reference's features is in it", (ACTIVE, write("c.csv", "a,b\n1,2\n"))),
    Case("skew/current-extension", ("skew", "--current", "c.txt"), "--current c.txt: must be .csv, .parquet or .jsonl", (ACTIVE, write("c.txt", ROWS))),
    Case("skew/current-parquet-that-is-csv", ("skew", "--current", "c.parquet"), "c.parquet: cannot read it", (ACTIVE, write("c.parquet", ROWS))),
    Case("skew/current-and-log", ("skew", "--current", "c.csv", "--log", "logs"), "--current and --log exclude each other", (ACTIVE, write("c.csv", ROWS))),
    Case("skew/log-folder-missing", ("skew", "--log", "nope"), "nope/ has no *.jsonl files", (ACTIVE,)),
    Case("skew/reference-missing", ("skew", "--reference", "r.csv", "--current", "c.csv"), "r.csv: no such reference file", (ACTIVE, write("c.csv", ROWS))),
    Case("skew/reference-no-features", ("skew", "--reference", "r.csv", "--current", "c.csv"), "r.csv: no column for the features of v0002", (ACTIVE, write("c.csv", ROWS), write("r.csv", "x,y\n1,2\n"))),
    Case("skew/bad-fail-on", ("skew", "--fail-on", "never"), "'--fail-on'", (ACTIVE,)),
    Case("skew/batch-rows-zero", ("skew", "--batch-rows", "0"), "'--batch-rows'", (ACTIVE,)),
    Case("skew/unknown-model", ("skew", "--model", "v0009", "--current", "c.csv"), "model version 'v0009' not found", (ACTIVE, write("c.csv", ROWS))),
    Case("skew/bad-format", ("skew", "--format", "pdf"), "'pdf' is not one of", (ACTIVE,)),
    Case(
        "skew/unknown-feature-threshold",
        ("skew", "--current", "c.csv"),
        "skew.features.nope: no training feature is named 'nope'",
        (ACTIVE, write("c.csv", ROWS), edit("serving_log: logs/requests/", "serving_log: logs/requests/\n  features: {nope: {psi: 0.1}}")),
    ),
    # ---- package: nothing is written before every check has passed
    Case("package/no-active-model", ("package",), "no active model in models/ (hint: run 'mlprod train --activate'"),
    Case("package/tampered-artifact", ("package",), "v0002: model.skops does not match its metadata", (ACTIVE, append_byte("models/v0002/model.skops"))),
    Case("package/lock-not-pyproject", ("package",), "requirements.lock does not match pyproject.toml: pyproject.toml needs numpy>=99", (ACTIVE, edit('"numpy>=1.26",', '"numpy>=99",', "pyproject.toml"))),
    Case("package/no-lock", ("package",), "requirements.lock: missing; the image installs from the lock", (ACTIVE, remove("requirements.lock"))),
    Case("package/unpinned-lock", ("package",), "requirements.lock:1: numpy is not pinned", (ACTIVE, write("requirements.lock", "numpy>=1\n"))),
    Case("package/no-dockerfile", ("package",), "Dockerfile: missing; package builds on the project's Dockerfile", (ACTIVE, remove("Dockerfile"))),
    Case("package/wheel-not-locked-hash", ("package",), "does not match the hash requirements.lock pins for mlprod", (ACTIVE, append_byte_glob("wheels", "mlprod-*.whl"))),
    Case("package/bad-tag", ("package", "--tag", "Bad Tag"), "--tag 'Bad Tag' is not a Docker image reference", (ACTIVE,)),
    Case("package/base-image-without-build", ("package", "--base-image", "python:3.11-slim"), "--base-image goes with --build", (ACTIVE,)),
    Case("package/output-is-project", ("package", "--output", "."), "would replace the project itself", (ACTIVE,)),
    Case("package/output-in-src", ("package", "--output", "src/out"), "is inside src/", (ACTIVE,)),
    Case("package/output-foreign-folder", ("package", "--output", "notes"), "was not made by 'mlprod package'", (ACTIVE, write("notes/mine.txt", "mine"))),
    Case("package/output-is-a-file", ("package", "--output", "README.md"), "README.md", (ACTIVE,)),
]
# fmt: on
