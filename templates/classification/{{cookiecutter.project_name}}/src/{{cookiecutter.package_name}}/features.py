"""The features the model sees, built from the raw lesion columns.

Three kinds of column, three treatments:

* ``NUMERIC``: imputed with the median (a few diameters are missing) and
  standardised, so the classifier's regularisation treats them alike;
* ``CATEGORICAL``: one-hot encoded; a category never seen in training (a new
  anatomic site label, say) becomes all zeros instead of an error at serving
  time;
* ``GROUPED``: age, cut into fixed clinical bands and one-hot encoded. Risk is
  not linear in age, and fixed bands (rather than learned quantiles) keep the
  features identical between retrainings and readable in error analysis.

Columns not listed here (ids, dates, anything new) are dropped.
"""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

NUMERIC = ["diameter_mm", "asymmetry", "border_irregularity", "color_count", "evolving"]
CATEGORICAL = ["sex", "anatomic_site"]
GROUPED = ["age"]

AGE_BAND_EDGES = [30, 45, 60, 75]
"""Left edges of the age bands after the first: <30, 30-44, 45-59, 60-74, 75+."""
AGE_BANDS = ["<30", "30-44", "45-59", "60-74", "75+"]
MISSING_AGE = "unknown"


def age_band(ages: np.ndarray) -> np.ndarray:
    """Map ages in years to the labels of ``AGE_BANDS`` (``"unknown"`` if missing).

    Module-level (not a lambda) so a fitted pipeline pickles.

    Examples
    --------
    >>> age_band(np.array([[18], [30], [74.9], [90], [np.nan]])).ravel().tolist()
    ['<30', '30-44', '60-74', '75+', 'unknown']
    """
    ages = np.asarray(ages, dtype=float)
    bands = np.asarray(AGE_BANDS, dtype=object)[np.digitize(ages, AGE_BAND_EDGES)]
    return np.where(np.isnan(ages), MISSING_AGE, bands).astype(object)


def build() -> ColumnTransformer:
    """Return the unfitted feature transformer for the lesion columns."""
    numeric = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
        ]
    )
    categorical = Pipeline(
        [
            ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    grouped = Pipeline(
        [
            ("band", FunctionTransformer(age_band, feature_names_out="one-to-one")),
            (
                "onehot",
                OneHotEncoder(
                    categories=[[*AGE_BANDS, MISSING_AGE]],
                    handle_unknown="ignore",
                    sparse_output=False,
                ),
            ),
        ]
    )
    return ColumnTransformer(
        [
            ("numeric", numeric, NUMERIC),
            ("categorical", categorical, CATEGORICAL),
            ("grouped", grouped, GROUPED),
        ],
        remainder="drop",
    )
