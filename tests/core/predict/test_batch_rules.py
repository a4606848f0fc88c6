"""``predict_file`` with a version trained with rules: each effect, both policies, the checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlprod_cli.core.predict import predict_file
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import UsageError

SCORES = ["score_melanoma", "score_nevus", "score_seborrheic_keratosis"]


def _rows(project, tmp_path, overrides: list[dict], referral: bool = True):
    """The first rows of the data, one per override, with the override's values."""
    frame = pd.read_csv(project / "data" / "lesions.csv").head(len(overrides)).copy()
    frame["anatomic_site"] = "upper extremity"
    frame["age"] = 40
    if referral:
        frame["referral"] = ""
    for i, values in enumerate(overrides):
        for key, value in values.items():
            frame.loc[i, key] = value
    path = tmp_path / "in.csv"
    frame.to_csv(path, index=False)
    return path


def _plain(project, path, tmp_path):
    """The model's own answers on ``path``, by scoring it with the rules switched off."""
    (project / "rules.yaml").write_text("rules: []\n")
    out = tmp_path / "plain.csv"
    predict_file(Workspace.load(project), path, out, version_id="v0002", rules_from_file=True)
    return pd.read_csv(out)


def test_each_effect_under_first(rules_trained, tmp_path):
    path = _rows(
        rules_trained,
        tmp_path,
        [
            {},  # no rule
            {"anatomic_site": "palms/soles"},  # deny seborrheic_keratosis
            {"age": 10},  # abstain
            {"referral": "dermatologist"},  # force melanoma
            {"anatomic_site": "trunk", "age": 80},  # allow melanoma, nevus
            {"anatomic_site": "palms/soles", "age": 10},  # first: only the deny fires
        ],
    )
    out = tmp_path / "out.csv"
    result = predict_file(Workspace.load(rules_trained), path, out, version_id="v0002")
    got = pd.read_csv(out, keep_default_na=False, na_values={"prediction": [""]})
    assert list(got.columns) == ["lesion_id", "visit_date", "prediction", *SCORES, "rules",
                                 "abstained", "model_version"]  # fmt: skip
    assert got["rules"].tolist() == ["", "no_sk_on_palms_soles", "kids", "referred", "trunk_two",
                                     "no_sk_on_palms_soles"]  # fmt: skip
    assert got["abstained"].tolist() == [False, False, True, False, False, False]
    assert pd.isna(got.loc[2, "prediction"])
    assert got.loc[1, "score_seborrheic_keratosis"] == 0 and got.loc[1, "prediction"] != (
        "seborrheic_keratosis"
    )
    assert got.loc[3, "prediction"] == "melanoma" and got.loc[3, SCORES].tolist() == [1, 0, 0]
    assert got.loc[4, "score_seborrheic_keratosis"] == 0
    answered = got.drop(index=2)
    assert np.allclose(answered[SCORES].sum(axis=1), 1.0)
    plain = _plain(rules_trained, path, tmp_path)
    # a row no rule fires on keeps the model's answer and scores; the deny renormalises
    assert got.loc[0, "prediction"] == plain.loc[0, "prediction"]
    assert np.allclose(got.loc[0, SCORES].astype(float), plain.loc[0, SCORES].astype(float))
    kept = plain.loc[1, ["score_melanoma", "score_nevus"]].astype(float).to_numpy()
    assert np.allclose(got.loc[1, ["score_melanoma", "score_nevus"]], kept / kept.sum())
    assert result.rules["fired"] == {"no_sk_on_palms_soles": 2, "kids": 1, "referred": 1,
                                     "trunk_two": 1}  # fmt: skip
    assert result.rules["abstained"] == 1 and result.rules["from_file"] is False
    assert result.rules["file"] == "models/v0002/rules.yaml" and len(result.rules["sha256"]) == 64
    assert sum(result.classes.values()) == 5  # the abstained row has no class
    assert result.classes["melanoma"] >= 1


def test_all_policy_from_the_file_and_a_field_missing_from_the_input(rules_trained, tmp_path):
    rules = rules_trained / "rules.yaml"
    rules.write_text(rules.read_text().replace("rules_policy: first", "rules_policy: all"))
    path = _rows(rules_trained, tmp_path, [{"anatomic_site": "palms/soles", "age": 10}, {}])
    out = tmp_path / "out.parquet"
    workspace = Workspace.load(rules_trained)
    with pytest.raises(
        UsageError, match=r"rules\.yaml differs from the rules v0002 was trained with"
    ):
        predict_file(workspace, path, out, version_id="v0002")
    assert not out.exists()
    result = predict_file(workspace, path, out, version_id="v0002", rules_from_file=True)
    got = pd.read_parquet(out)
    assert got["rules"].tolist() == ["no_sk_on_palms_soles,kids", ""]  # all: both fire
    assert got["abstained"].tolist() == [True, False] and got["prediction"].isna().tolist() == [
        True,
        False,
    ]
    assert result.rules["from_file"] is True and result.rules["policy"] == "all"
    assert result.rules["file"] == "rules.yaml"
    # no referral column: the field is null, the force never fires, and nothing fails
    path = _rows(rules_trained, tmp_path, [{}, {}], referral=False)
    result = predict_file(workspace, path, out, version_id="v0002", rules_from_file=True)
    assert result.rules["fired"]["referred"] == 0 and result.rules["errors"] == {}


def test_a_condition_failing_on_a_missing_number_is_counted_not_fired(rules_trained, tmp_path):
    path = _rows(rules_trained, tmp_path, [{"age": np.nan}, {"age": 10}])
    out = tmp_path / "out.csv"
    result = predict_file(Workspace.load(rules_trained), path, out, version_id="v0002")
    assert result.rules["fired"]["kids"] == 1 and result.rules["errors"] == {"kids": 1}
    assert any("rule 'kids'" in w and "1 row" in w for w in result.warnings)
