from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from {{ cookiecutter.package_name }} import baseline, data


def lesions(diameters: list[float], asymmetries: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"diameter_mm": diameters, "asymmetry": asymmetries, "age": 50.0})


@pytest.fixture
def toy() -> tuple[pd.DataFrame, np.ndarray]:
    X = lesions([3.0, 4.0, 5.0, 8.0, 9.0, 7.0, 2.0], [0, 0, 1, 2, 2, 1, 2])
    y = np.array(
        ["nevus", "nevus", "nevus", "melanoma", "melanoma", "seborrheic_keratosis", "nevus"]
    )
    return X, y


def test_rule_flags_large_asymmetric_lesions(toy: tuple[pd.DataFrame, np.ndarray]) -> None:
    model = baseline.build().fit(*toy)
    X = lesions([6.0, 6.1, 6.1, 12.0, np.nan], [2, 2, 1, 0, 2])
    # Strictly above 6 mm and asymmetric on both axes; a missing diameter never fires.
    assert model.predict(X).tolist() == ["nevus", "melanoma", "nevus", "nevus", "nevus"]


def test_fit_records_classes_and_majority(toy: tuple[pd.DataFrame, np.ndarray]) -> None:
    model = baseline.build().fit(*toy)
    assert model.classes_.tolist() == ["melanoma", "nevus", "seborrheic_keratosis"]
    assert model.majority_class_ == "nevus"
    assert model.n_features_in_ == 3
    assert "diameter_mm > 6" in model.describe()


def test_scores_are_probabilities_that_rank_by_suspicion(sample_data: pd.DataFrame) -> None:
    X, y = data.features_and_target(sample_data, data.TARGET, ["lesion_id", "visit_date"])
    model = baseline.build().fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba > 0) & (proba < 1)).all()
    melanoma = list(model.classes_).index("melanoma")
    # Meeting more criteria means a higher melanoma score.
    assert np.all(np.diff(model.score_table_[:, melanoma]) > 0)
    fired = model.predict(X) == "melanoma"
    assert proba[fired, melanoma].min() > proba[~fired, melanoma].max()


def test_thresholds_are_parameters(toy: tuple[pd.DataFrame, np.ndarray]) -> None:
    strict = clone(baseline.build()).set_params(min_diameter_mm=8.5).fit(*toy)
    assert strict.get_params()["min_diameter_mm"] == 8.5
    assert strict.predict(lesions([8.0, 9.0], [2, 2])).tolist() == ["nevus", "melanoma"]


def test_fit_needs_the_positive_class(toy: tuple[pd.DataFrame, np.ndarray]) -> None:
    X, y = toy
    with pytest.raises(ValueError, match="positive class 'melanoma'"):
        baseline.build().fit(X[y != "melanoma"], y[y != "melanoma"])


def test_input_must_be_a_frame_with_the_rule_columns(
    toy: tuple[pd.DataFrame, np.ndarray],
) -> None:
    X, y = toy
    with pytest.raises(ValueError, match="asymmetry"):
        baseline.build().fit(X.drop(columns="asymmetry"), y)
    with pytest.raises(TypeError, match="DataFrame"):
        baseline.build().fit(X.to_numpy(), y)
