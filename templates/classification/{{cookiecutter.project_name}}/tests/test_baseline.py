from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from {{ cookiecutter.package_name }} import baseline


@pytest.fixture
def toy() -> tuple[pd.DataFrame, np.ndarray]:
    """Size above 6 means 'big' (with one exception); colour red means 'red'."""
    rng = np.random.default_rng(0)
    size = rng.uniform(0, 10, 600)
    colour = rng.choice(["red", "blue", "green"], 600, p=[0.15, 0.45, 0.4])
    y = np.where(size > 6, "big", np.where(colour == "red", "red", "small"))
    y[0] = "small" if y[0] == "big" else y[0]
    return pd.DataFrame({"size": size, "colour": colour}), y


def fit(X, y, **params) -> baseline.RuleListBaseline:
    return baseline.RuleListBaseline(numeric=("size",), categorical=("colour",), **params).fit(X, y)


def test_it_learns_the_rules_that_made_the_labels(toy) -> None:
    X, y = toy
    model = fit(X, y)
    found = {(str(rule), rule.label) for rule in model.rules()}
    assert ("colour == 'red'", "red") in found or any(label == "red" for _, label in found)
    assert any("size >" in text and label == "big" for text, label in found)
    assert (model.predict(X) == y).mean() > 0.95


def test_describe_says_the_rules_in_words(toy) -> None:
    model = fit(*toy)
    text = model.describe()
    assert text.startswith("if ") and " then " in text
    assert text.endswith(f"else {model.fallback_}")


def test_no_rule_fires_means_the_fallback(toy) -> None:
    X, y = toy
    model = fit(X, y, max_rules=1)
    nowhere = pd.DataFrame({"size": [np.nan], "colour": [None]})
    assert model.predict(nowhere).tolist() == [model.fallback_]


def test_scores_are_probabilities_of_the_rule_that_took_the_row(toy) -> None:
    X, y = toy
    model = fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), len(model.classes_))
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba > 0) & (proba < 1)).all()


def test_rules_can_be_kept_to_one_class(toy) -> None:
    X, y = toy
    model = fit(X, y, classes=("big",))
    assert {rule.label for rule in model.rules()} == {"big"}


def test_parameters_are_parameters(toy) -> None:
    X, y = toy
    strict = clone(fit(X, y)).set_params(max_rules=1, max_conditions=1).fit(X, y)
    assert len(strict.rules_) == 1 and len(strict.rules()[0].conditions) == 1


def test_input_must_be_a_frame_with_the_rule_columns(toy) -> None:
    X, y = toy
    with pytest.raises(ValueError, match="colour"):
        fit(X.drop(columns="colour"), y)
    with pytest.raises(TypeError, match="DataFrame"):
        fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="two or more classes"):
        fit(X, np.full(len(X), "only"))


def test_the_project_baseline_fits_its_data(xy) -> None:
    X, y = xy
    model = baseline.build().fit(X, y)
    assert set(model.predict(X)) <= set(model.classes_)
    assert model.describe()
