"""The features the model sees, built from the columns ``mlprod.yaml`` lists by kind.

Two kinds of column, two treatments:

* ``features.numeric``: imputed with the median (missing values are common in
  real data), then given to the model twice: standardised, so the
  classifier's regularisation treats them alike, and as a cubic spline basis
  (:data:`SPLINE_KNOTS` knots at quantiles), so a linear model can follow a
  risk that rises past a threshold or peaks in the middle, while each
  feature's effect stays a curve one can plot;
* ``features.categorical``: one-hot encoded, with the rarest categories
  grouped as "infrequent" beyond :data:`MAX_CATEGORIES`; a category never seen
  in training (a new region label, say) encodes as the infrequent group, or as
  all zeros, instead of failing at serving time.

Columns not listed (ids, dates, free text, anything new) are dropped. Add
engineered features here, as steps of their own, once the evaluation shows
what they buy.
"""

from __future__ import annotations

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import OneHotEncoder, SplineTransformer, StandardScaler

from . import schema as schema_module

MAX_CATEGORIES = 20
"""Categories one-hot encoded per column; rarer ones share one "infrequent" column."""
SPLINE_KNOTS = 5


def build(schema: schema_module.Schema | None = None) -> ColumnTransformer:
    """Return the unfitted feature transformer for the schema's columns."""
    schema = schema or schema_module.load()
    steps = []
    if schema.numeric:
        numeric = Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                (
                    "shape",
                    FeatureUnion(
                        [
                            ("scale", StandardScaler()),
                            ("spline", SplineTransformer(n_knots=SPLINE_KNOTS, knots="quantile")),
                        ]
                    ),
                ),
            ]
        )
        steps.append(("numeric", numeric, list(schema.numeric)))
    if schema.categorical:
        categorical = Pipeline(
            [
                ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                (
                    "onehot",
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        max_categories=MAX_CATEGORIES,
                        sparse_output=False,
                    ),
                ),
            ]
        )
        steps.append(("categorical", categorical, list(schema.categorical)))
    return ColumnTransformer(steps, remainder="drop")
