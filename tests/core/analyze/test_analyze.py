"""``mlprod analyze``: the errors it lists are the model's, the slices its intervals, the labels cleanlab's."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from mlprod_cli.core.analyze import analyze
from mlprod_cli.core.analyze._slices import find_slices
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import DataError, UsageError


def test_the_worst_errors_are_wrong_and_most_confident_first(trained_project):
    workspace = Workspace.load(trained_project)
    result = analyze(workspace, version_id="v0002", top=5)
    assert result.version == "v0002" and result.split == "test" and result.id_column == "lesion_id"
    assert len(result.worst) == 5 and result.errors > 5
    confidences = [w.confidence for w in result.worst]
    assert confidences == sorted(confidences, reverse=True)
    data = pd.read_csv(trained_project / "data" / "lesions.csv").set_index("lesion_id")
    for w in result.worst:
        assert w.true != w.predicted and w.true == data.loc[w.row_id, "diagnosis"]
        assert w.p_true < w.confidence
        assert w.values["sex"] == data.loc[w.row_id, "sex"]
    counted = sum(c.count for c in analyze(workspace, version_id="v0002", top=100).confusion)
    assert counted == result.errors


def test_confusions_count_each_pair_and_its_share_of_the_given_class(trained_project):
    result = analyze(Workspace.load(trained_project), version_id="v0002", top=100)
    counts = [c.count for c in result.confusion]
    assert counts == sorted(counts, reverse=True)
    for c in result.confusion:
        assert c.true != c.predicted and 0 < c.rate <= 1


def test_a_slice_of_two_wrong_rows_is_not_beyond_chance_and_a_real_gap_is():
    rng = np.random.default_rng(1)
    n = 2_000
    frame = pd.DataFrame({"site": rng.choice(["a", "b"], size=n), "tiny": "x"})
    for k in range(10):  # columns that have nothing to do with the errors
        frame[f"noise{k}"] = rng.choice(list("pqrst"), size=n)
    frame.loc[:1, "tiny"] = "y"  # two rows
    wrong = np.where(frame["site"] == "a", rng.random(n) < 0.30, rng.random(n) < 0.10)
    wrong[:2] = True
    found, examined = find_slices(frame, wrong, exclude=set())
    by = {(s.column, s.value): s for s in found}
    assert examined == 2 + 2 + 10 * 5
    tiny = by[("tiny", "y")]
    assert tiny.rows == 2 and tiny.rate == 1.0 and tiny.rest_rate > 0.15
    assert not tiny.beyond_chance and tiny.low < tiny.rest_rate
    assert by[("site", "a")].beyond_chance and by[("site", "b")].beyond_chance
    assert [s.column for s in found if s.beyond_chance] == ["site", "site"]
    assert found[0].column == "site"


def test_one_slice_alone_has_the_plain_95_percent_wilson_interval():
    from scipy.stats import binomtest

    frame = pd.DataFrame({"g": ["a"] * 10 + ["b"] * 30})
    wrong = np.array([True] * 7 + [False] * 3 + [True] * 3 + [False] * 27)
    found, examined = find_slices(frame, wrong, exclude=set())
    assert examined == 2
    a = next(s for s in found if s.value == "a")
    expected = binomtest(7, 10).proportion_ci(1 - 0.05 / 2, method="wilson")
    assert (a.low, a.high) == (expected.low, expected.high) and a.beyond_chance
    assert a.gap_low > 0 and a.gap_low < a.rate - a.rest_rate < a.gap_high


def test_numeric_columns_of_many_values_are_cut_into_deciles():
    values = pd.Series(np.arange(1000, dtype=float))
    found, _ = find_slices(pd.DataFrame({"x": values}), values.to_numpy() >= 900, exclude=set())
    assert len(found) == 10 and sum(s.rows for s in found) == 1000
    top = max(found, key=lambda s: s.rate)
    assert top.rate == 1.0 and top.value.endswith("999]") and top.beyond_chance


def test_flipped_labels_are_found(trained_project, tmp_path):
    """5 % of the training labels flipped with a seed: cleanlab's top-k holds mostly those rows."""
    import shutil

    root = tmp_path / "flipped"
    shutil.copytree(trained_project, root)
    path = root / "data" / "lesions.csv"
    data = pd.read_csv(path)
    workspace = Workspace.load(root)
    clean = analyze(workspace, version_id="v0002")
    rng = np.random.default_rng(0)
    classes = sorted(data["diagnosis"].unique())
    flip = rng.choice(len(data), size=len(data) // 20, replace=False)
    for i in flip:
        data.loc[i, "diagnosis"] = rng.choice([c for c in classes if c != data.loc[i, "diagnosis"]])
    data.to_csv(path, index=False)
    noisy = analyze(Workspace.load(root), version_id="v0002")
    flipped = set(data.loc[flip, "lesion_id"])
    k = len(flipped)
    top_k = [i.row_id for i in noisy.label_issues[:k]]
    precision = len(flipped & set(top_k)) / k
    recall = len(flipped & {i.row_id for i in noisy.label_issues}) / k
    sys.stderr.write(
        f"flipped {k}: precision@{k} {precision:.3f}, recall {recall:.3f}; "
        f"flagged on clean data {len(clean.label_issues)}\n"
    )
    assert precision >= 0.5 and recall >= precision
    assert len(noisy.label_issues) > len(clean.label_issues)


def test_labels_the_model_never_saw_are_left_out_with_a_warning(trained_project, tmp_path):
    import shutil

    root = tmp_path / "unseen"
    shutil.copytree(trained_project, root)
    path = root / "data" / "lesions.csv"
    data = pd.read_csv(path)
    data.loc[data.index[-3:], "diagnosis"] = "basal_cell"  # test rows (the split is by time)
    data.to_csv(path, index=False)
    result = analyze(Workspace.load(root), version_id="v0002")
    assert result.label_rows["test"] == result.rows - 3
    assert any("3 rows labelled 'basal_cell'" in w for w in result.warnings)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"version_id": "v0001"}, "v0001 is a baseline: analyze looks at a model version"),
        ({"split": "dev"}, "--split: expected test or train, got 'dev'"),
        ({"top": 0}, "--top: must be 1 or more"),
        ({"folds": 1}, "--folds: must be 2 or more"),
    ],
)
def test_bad_options_are_usage_errors(trained_project, kwargs, message):
    with pytest.raises(UsageError, match=message):
        analyze(Workspace.load(trained_project), **kwargs)


def test_a_class_too_rare_for_the_folds_is_one_data_error(trained_project):
    with pytest.raises(DataError, match=r"class '\w+' has \d+ rows, too few for 500 folds"):
        analyze(Workspace.load(trained_project), version_id="v0002", folds=500)


def test_without_cleanlab_the_error_names_the_extra(trained_project, monkeypatch):
    import sys as system

    for name in ("cleanlab", "cleanlab.count", "cleanlab.filter", "cleanlab.rank"):
        monkeypatch.setitem(system.modules, name, None)  # import fails as if not installed
    with pytest.raises(UsageError, match="analyze needs cleanlab") as raised:
        analyze(Workspace.load(trained_project), version_id="v0002")
    assert "mlprod[analyze]" in raised.value.hint


def test_a_column_of_noise_is_listed_as_not_contributing(trained_project, tmp_path):
    import shutil

    from mlprod_cli.core.train import train

    root = tmp_path / "noisy"
    shutil.copytree(trained_project, root)
    path = root / "data" / "lesions.csv"
    data = pd.read_csv(path)
    data["noise"] = np.random.default_rng(3).normal(size=len(data))
    data.to_csv(path, index=False)
    config = root / "mlprod.yaml"
    text = config.read_text()
    assert "  numeric: [age," in text
    config.write_text(text.replace("  numeric: [age,", "  numeric: [noise, age,", 1))
    workspace = Workspace.load(root)
    (version,) = train(workspace, kinds=("model",), cv=0).versions
    result = analyze(workspace, version_id=version.id)
    by = {i.feature: i for i in result.importances}
    assert (
        "noise" in by and not by["noise"].contributing and by["noise"].low <= 0 <= by["noise"].high
    )
    strongest = result.importances[0]
    assert strongest.contributing and strongest.low > 0
    means = [i.mean for i in result.importances]
    assert means == sorted(means, reverse=True)
    assert all(i.low <= i.mean <= i.high for i in result.importances)
    assert result.importance_rows == result.rows and result.objective == "recall@melanoma"


def test_a_group_served_more_than_it_was_trained_on_shows_in_the_shares(trained, served):
    """Selection bias: the log serves women only; their share differs from training's."""
    women = served.X[served.X["sex"] == "female"].head(400)
    served.log(trained, women)
    result = analyze(Workspace.load(trained), version_id="v0002", top=200)
    assert result.serving_note == "" and result.side_rows["serving"] == 400
    by = {(s.column, s.value): s for s in result.shares}
    female = by[("sex", "female")]
    assert female.shares["serving"] == 1.0 and female.rows["serving"] == 400
    assert "serving" in female.differs and 0.3 < female.shares["train"] < 0.7
    assert female.rows["train"] == int((served.X["sex"] == "female").sum())
    # the test side is compared too, and a share computed on every side sums to 1 per column
    assert sum(s.shares["train"] for s in result.shares if s.column == "sex") == pytest.approx(1.0)
    assert result.shares[0].differs  # marked ones first


def test_without_a_serving_log_the_shares_say_why(trained_project):
    result = analyze(Workspace.load(trained_project), version_id="v0002")
    assert result.serving_note.startswith("the request log is empty")
    assert all(s.shares["serving"] is None for s in result.shares)
    assert result.side_rows["train"] + result.side_rows["test"] == 3000
