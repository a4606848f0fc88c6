"""``core/dataset.py``: reading tables, the split, features and target, the training schema."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mlprod_cli.core import dataset
from mlprod_cli.core.config import Split, load_config
from mlprod_cli.errors import ConfigError, DataError


@pytest.fixture
def config(project):
    """The template's config: a loader, a time split at 2024-07-01, target ``diagnosis``."""
    return load_config(project)


def _with_data(config, **changes):
    return replace(config, data=replace(config.data, **changes))


# --------------------------------------------------------------------------- files


def test_read_table_reads_csv_and_parquet_alike(tmp_path):
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    for name in ("t.csv", "t.parquet"):
        back = dataset.read_table(tmp_path / name)
        assert back["a"].tolist() == [1, 2, 3]
        assert back["b"].iloc[:2].tolist() == ["x", "y"] and pd.isna(back["b"].iloc[2])


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("t.txt", b"a\n1\n", "data file must be .csv or .parquet, not .txt"),
        ("t", b"a\n1\n", "must be .csv or .parquet, not no extension"),
        ("missing.csv", None, "no such data file"),
        ("empty.csv", b"", "the file is empty"),
        ("blank.csv", b"\n\n", "the file is empty"),
        ("header.csv", b"a,b\n", "no rows"),
        ("broken.parquet", b"PAR1 this is not parquet", "cannot read it"),
        ("quote.csv", b'a,b\n"1,2\n', "cannot read it"),
    ],
)
def test_read_table_says_what_is_wrong_in_one_line(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError) as info:
        dataset.read_table(path)
    assert info.value.message.startswith(f"{path}: ") and message in info.value.message
    assert "\n" not in info.value.message


def test_load_file_goes_through_the_projects_loader(config):
    frame = dataset.load_file(config, config.data.train)
    # The template's loader reads dates as dates; read_table would leave text.
    assert pd.api.types.is_datetime64_any_dtype(frame["visit_date"])
    plain = dataset.load_file(_with_data(config, loader=None), config.data.train)
    assert not pd.api.types.is_datetime64_any_dtype(plain["visit_date"])
    assert len(frame) == len(plain)


def _loader_module(project, name: str, body: str) -> str:
    (project / "src" / f"{name}.py").write_text(body)
    return f"{name}:load"


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("loader_raises", "def load(path):\n    raise ValueError('bad row 7')\n",
         r"the loader loader_raises:load failed: ValueError: bad row 7$"),
        ("loader_none", "def load(path):\n    return None\n",
         "loader_none:load returned NoneType, not a DataFrame"),
        ("loader_list", "def load(path):\n    return [1, 2]\n", "returned list, not a DataFrame"),
        ("loader_empty", "import pandas as pd\ndef load(path):\n    return pd.DataFrame({'a': []})\n",
         "lesions.csv: no rows"),
    ],
)  # fmt: skip
def test_a_loader_that_fails_is_a_data_error_naming_it(project, config, name, body, message):
    loader = _loader_module(project, name, body)
    with pytest.raises(DataError, match=message) as info:
        dataset.load_file(_with_data(config, loader=loader), config.data.train)
    assert "\n" not in info.value.message


def test_load_file_checks_the_file_before_calling_the_loader(project, config):
    loader = _loader_module(
        project, "loader_never_called", "def load(path):\n    raise SystemExit\n"
    )
    odd = _with_data(config, loader=loader)
    with pytest.raises(DataError, match="no such data file"):
        dataset.load_file(odd, project / "data" / "absent.csv")
    (project / "data" / "empty.csv").write_text("")
    with pytest.raises(DataError, match="the file is empty"):
        dataset.load_file(odd, project / "data" / "empty.csv")


def test_describe_file_names_it_relative_to_the_root_with_its_hash(config, tmp_path):
    path = config.data.train
    described = dataset.describe_file(path, 12, config.root)
    assert described == {
        "path": "data/lesions.csv",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "rows": 12,
    }
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("a\n1\n")
    assert dataset.describe_file(outside, 1, config.root)["path"] == str(outside)


def test_load_training_data_with_a_test_file(project, config):
    frame = pd.read_csv(config.data.train)
    frame.iloc[:2000].to_csv(project / "data" / "train.csv", index=False)
    frame.iloc[2000:].to_csv(project / "data" / "test.csv", index=False)
    two = _with_data(
        config, train=project / "data" / "train.csv", test=project / "data" / "test.csv"
    )
    train, test = dataset.load_training_data(two)
    assert (len(train.frame), len(test.frame)) == (2000, 1000)
    assert [f["path"] for f in train.files + test.files] == ["data/train.csv", "data/test.csv"]
    # A --data file replaces the training file, and the test file is not read with it.
    only, none = dataset.load_training_data(two, project / "data" / "test.csv")
    assert len(only.frame) == 1000 and none is None
    parts = dataset.split(two, train, test)
    assert parts.info == {"by": "file", "test": "data/test.csv"}
    assert parts.train is train.frame and parts.test is test.frame


# --------------------------------------------------------------------------- split


def test_time_split_trains_on_the_past(config):
    train, test = dataset.load_training_data(config)
    assert test is None
    parts = dataset.split(config, train, test)
    cutoff = pd.Timestamp("2024-07-01")
    assert parts.train["visit_date"].max() < cutoff <= parts.test["visit_date"].min()
    assert len(parts.train) + len(parts.test) == len(train.frame)
    assert parts.info == {
        "by": "time",
        "column": "visit_date",
        "cutoff": "2024-07-01",
        "train_rows": len(parts.train),
        "test_rows": len(parts.test),
    }


def test_time_split_of_dates_read_as_text(config):
    plain = _with_data(config, loader=None)
    train, _ = dataset.load_training_data(plain)
    assert not pd.api.types.is_datetime64_any_dtype(train.frame["visit_date"])
    by_text = dataset.split(plain, train, None)
    by_dates = dataset.split(config, *dataset.load_training_data(config))
    assert by_text.info == by_dates.info


def test_random_split_is_stratified_and_seeded(config):
    random = _with_data(config, split=Split("random", test_size=0.25, seed=3))
    train, _ = dataset.load_training_data(random)
    parts = dataset.split(random, train, None)
    assert len(parts.test) == 750 and len(parts.train) == 2250
    assert parts.info["stratified"] is True and parts.info["seed"] == 3
    share = train.frame["diagnosis"].value_counts(normalize=True)
    test_share = parts.test["diagnosis"].value_counts(normalize=True)
    assert (share - test_share).abs().max() < 0.01
    again = dataset.split(random, train, None)
    assert again.test.index.equals(parts.test.index)
    other = dataset.split(
        _with_data(random, split=Split("random", test_size=0.25, seed=4)), train, None
    )
    assert not other.test.index.equals(parts.test.index)


def test_random_split_of_a_class_with_one_row_is_not_stratified(config):
    random = _with_data(config, split=Split("random", test_size=0.2, seed=1))
    train, _ = dataset.load_training_data(random)
    train.frame.loc[train.frame.index[0], "diagnosis"] = "unique"
    assert dataset.split(random, train, None).info["stratified"] is False


@pytest.mark.filterwarnings("ignore:Could not infer format")
def test_split_problems_are_named(config):
    train, _ = dataset.load_training_data(config)
    frame = train.frame
    with pytest.raises(ConfigError, match="say how to get a test set"):
        dataset.split(_with_data(config, split=None), train, None)
    missing = _with_data(config, split=Split("time", column="seen_on", cutoff="2024-07-01"))
    with pytest.raises(DataError, match="the split column 'seen_on' is missing"):
        dataset.split(missing, train, None)
    future = _with_data(config, split=Split("time", column="visit_date", cutoff="2099-01-01"))
    with pytest.raises(
        DataError, match=r"the split \(by visit_date at 2099-01-01\) leaves no test rows"
    ):
        dataset.split(future, train, None)
    past = _with_data(config, split=Split("time", column="visit_date", cutoff="1999-01-01"))
    with pytest.raises(DataError, match="leaves no training rows"):
        dataset.split(past, train, None)
    text = frame.assign(visit_date=frame["visit_date"].astype(str))
    text.loc[text.index[:3], "visit_date"] = "soon"
    text.loc[text.index[3], "visit_date"] = None  # missing is not "not a date"
    with pytest.raises(DataError, match="'visit_date' has 3 values that are not dates"):
        dataset.split(config, dataset.Dataset(text, train.files), None)


def test_the_target_must_be_there_and_filled(config):
    frame = pd.DataFrame({"diagnosis": ["a", None, None, "b"], "x": [1, 2, 3, 4]})
    with pytest.raises(DataError, match="'diagnosis' is empty in 2 rows"):
        dataset.check_columns(config, frame, "f.csv")
    with pytest.raises(DataError, match=r"'diagnosis' is missing \(columns: x\)"):
        dataset.check_columns(config, frame[["x"]], "f.csv")
    dataset.check_columns(config, frame.dropna(), "f.csv")


def test_features_and_target(config):
    train, _ = dataset.load_training_data(config)
    X, y = dataset.features_and_target(config, train.frame)
    assert set(X.columns) == set(train.frame.columns) - {"diagnosis", "lesion_id", "visit_date"}
    assert y.tolist() == train.frame["diagnosis"].astype(str).tolist()
    # An excluded column that is absent is no error.
    X2, _ = dataset.features_and_target(config, train.frame.drop(columns=["lesion_id"]))
    assert list(X2.columns) == list(X.columns)


def test_check_training_target(config):
    y = pd.Series(["nevus", "melanoma", "nevus"])
    assert dataset.check_training_target(config, y, "f.csv") == ["melanoma", "nevus"]
    with pytest.raises(DataError, match=r"one class only \(nevus\)"):
        dataset.check_training_target(config, pd.Series(["nevus"] * 3), "f.csv")
    with pytest.raises(
        DataError, match=r"positive_class 'melanoma' never occurs .*\(classes: a, b\)"
    ):
        dataset.check_training_target(config, pd.Series(["a", "b"]), "f.csv")


# --------------------------------------------------------------------------- schema


def test_mixed_number_and_text_column_is_named():
    frame = pd.DataFrame({"age": ["40", "41", "forty", *["50"] * 20], "sex": ["f"] * 23})
    with pytest.raises(
        DataError,
        match=r"data.csv: column 'age' holds numbers but also text such as 'forty' \(row 3\)",
    ):
        dataset.check_feature_types(frame, "data.csv")
    dataset.check_feature_types(frame.drop(index=2), "data.csv")  # all numbers as text: fine


def test_a_text_column_with_some_numbers_is_text():
    # More than one value in ten is text: a categorical column, not a typo in numbers.
    frame = pd.DataFrame({"site": ["12", "arm", "leg", "13", "back"]})
    dataset.check_feature_types(frame, "data.csv")


def test_infer_schema_kinds_ranges_and_null_rates():
    X = pd.DataFrame(
        {
            "age": [30.0, None, 50.0, 40.0],
            "smoker": [True, False, True, True],
            "seen": pd.to_datetime(["2024-01-02", "2024-03-04", None, "2023-12-31"]),
            "sex": ["f", "m", None, "f"],
            "code": [3, 1, 2, 3],
        }
    )
    features = {f["name"]: f for f in dataset.infer_schema(X)["features"]}
    assert list(features) == list(X.columns)
    assert features["age"] == {
        "name": "age", "dtype": "float64", "null_rate": 0.25, "kind": "numeric", "min": 30.0, "max": 50.0,
    }  # fmt: skip
    assert features["smoker"]["kind"] == "categorical"
    assert features["smoker"]["categories"] == ["False", "True"]
    assert features["seen"]["kind"] == "datetime"
    assert (features["seen"]["min"], features["seen"]["max"]) == (
        "2023-12-31T00:00:00",
        "2024-03-04T00:00:00",
    )
    assert features["sex"]["categories"] == ["f", "m"] and features["sex"]["null_rate"] == 0.25
    assert features["code"]["kind"] == "numeric" and features["code"]["max"] == 3.0


def test_infer_schema_of_an_empty_or_wide_column(monkeypatch):
    monkeypatch.setattr(dataset, "MAX_CATEGORIES", 3)
    X = pd.DataFrame({"id": ["a", "b", "c", "d"], "n": [np.nan] * 4, "few": ["x", "y", "x", "x"]})
    features = {f["name"]: f for f in dataset.infer_schema(X)["features"]}
    assert features["id"]["categories"] is None  # too many to list: no unseen check
    assert features["few"]["categories"] == ["x", "y"]
    assert (features["n"]["min"], features["n"]["max"], features["n"]["null_rate"]) == (
        None,
        None,
        1.0,
    )


def _schema():
    X = pd.DataFrame(
        {"age": [20.0, 60.0], "sex": ["f", "m"], "seen": pd.to_datetime(["2024-01-01"] * 2)}
    )
    return dataset.infer_schema(X)


def test_require_features_names_every_missing_one():
    schema = _schema()
    dataset.require_features(["age", "sex", "seen", "extra"], schema, "batch.csv")
    with pytest.raises(DataError, match=r"missing feature column the model needs: sex$"):
        dataset.require_features(["age", "seen"], schema, "batch.csv")
    with pytest.raises(DataError, match=r"missing feature columns the model needs: age, seen$"):
        dataset.require_features(["sex"], schema, "batch.csv")


def test_conform_converts_to_the_training_types_and_counts_surprises():
    frame = pd.DataFrame(
        {
            "extra": [1, 2, 3, 4],
            "sex": ["f", "x", None, "m"],
            "age": ["30", "70", None, "10"],
            "seen": ["2024-02-01", "not a date", None, "2024-03-01"],
        },
        index=[10, 11, 12, 13],
    )
    out, findings = dataset.conform(frame, _schema(), source="batch.csv")
    assert list(out.columns) == ["age", "sex", "seen"]  # the schema's order, extras dropped
    assert out.index.tolist() == [10, 11, 12, 13]
    assert (
        out["age"].dtype == "float64"
        and out["age"].iloc[0] == 30.0
        and np.isnan(out["age"].iloc[2])
    )
    assert pd.api.types.is_datetime64_any_dtype(out["seen"]) and out["seen"].isna().sum() == 2
    assert findings.rows == 4
    assert findings.out_of_range == {"age": 2} and findings.unseen_categories == {"sex": 1}
    assert findings.warnings() == [
        "1 row with a category of 'sex' never seen in training",
        "2 rows with 'age' outside the training range",
    ]


def test_conform_makes_numbers_given_as_categories_text():
    schema = dataset.infer_schema(pd.DataFrame({"site": ["1", "2"]}))
    out, findings = dataset.conform(pd.DataFrame({"site": [1, 2, 3]}), schema, source="b")
    assert out["site"].tolist() == ["1", "2", "3"]
    assert findings.unseen_categories == {"site": 1}
    mixed = pd.DataFrame({"site": pd.Series([2, None, "1"], dtype=object)})
    out, findings = dataset.conform(mixed, schema, source="b")
    assert (
        out["site"].iloc[0] == "2" and pd.isna(out["site"].iloc[1]) and out["site"].iloc[2] == "1"
    )
    assert findings.unseen_categories == {"site": 0}  # a missing value is not a new category


@pytest.mark.parametrize(
    ("age", "message"),
    [
        (["30", "thirty", "40"], r"column 'age' must be numeric, row 102 holds 'thirty'"),
        ([30.0, 40.0, float("inf")], r"column 'age' holds an infinite or too large number \(row 103: inf\)"),
        (["1e400", "2", "3"], r"column 'age' holds an infinite or too large number \(row 101: '1e400'\)"),
    ],
)  # fmt: skip
def test_conform_names_the_row_of_a_bad_number(age, message):
    frame = pd.DataFrame({"age": age, "sex": ["f"] * 3, "seen": ["2024-01-01"] * 3})
    with pytest.raises(DataError, match=f"^batch.csv: {message}"):
        dataset.conform(frame, _schema(), source="batch.csv", row_offset=100)


def test_findings_add_up_across_batches():
    total = dataset.Findings()
    total.add(dataset.Findings({"sex": 1}, {"age": 2}, rows=10))
    total.add(dataset.Findings({"sex": 2, "site": 1}, {}, rows=5))
    assert (total.rows, total.unseen_categories, total.out_of_range) == (
        15,
        {"sex": 3, "site": 1},
        {"age": 2},
    )
    assert dataset.Findings({"sex": 0}, {"age": 0}).warnings() == []


# --------------------------------------------------------------------------- dates


def test_dates_with_offsets_that_differ_are_read_as_utc_instants():
    # Issue 11, item 2: pandas refuses "Mixed timezones" (an exit 70 in train, predict, skew).
    text = pd.Series(["2024-08-01T10:00:00+02:00", "2024-08-01T08:00:00Z", None, "soon"])
    parsed = dataset.parse_datetimes(text)
    assert str(parsed.dt.tz) == "UTC"
    assert parsed.iloc[0] == parsed.iloc[1] == pd.Timestamp("2024-08-01T08:00:00Z")
    assert parsed.iloc[2:].isna().all()  # missing, and no date at all: missing


def test_dates_without_an_offset_beside_some_with_one_are_utc():
    parsed = dataset.parse_datetimes(
        pd.Series(["2024-08-01T10:00:00", "2024-08-01T10:00:00+01:00"])
    )
    assert parsed.tolist() == [
        pd.Timestamp("2024-08-01T10:00:00Z"),
        pd.Timestamp("2024-08-01T09:00:00Z"),
    ]


def test_dates_that_share_one_offset_keep_it_and_other_spellings_are_read():
    same = dataset.parse_datetimes(pd.Series(["2024-08-01T10:00:00+02:00"] * 2))
    assert str(same.dt.tz) == "UTC+02:00"
    spelled = dataset.parse_datetimes(pd.Series(["2024-08-01", "08/02/2024 10:00", 7]))
    assert spelled.iloc[1] == pd.Timestamp("2024-08-02T10:00:00Z")
    assert pd.isna(spelled.iloc[2])  # a number is not a date (not nanoseconds since 1970)


def test_conform_gives_dates_in_the_training_time_zone():
    naive = _schema()
    zoned = dataset.infer_schema(
        pd.DataFrame({"seen": pd.to_datetime(["2024-01-01T00:00:00Z"] * 2)})
    )
    frame = pd.DataFrame(
        {
            "age": [30.0, 40.0],
            "sex": ["f", "m"],
            "seen": ["2024-08-01T10:00:00+02:00", "2024-08-01T00:00:00Z"],
        },
        index=[5, 5],  # labels may repeat in a user's frame
    )
    out, _ = dataset.conform(frame, naive, source="batch.csv")
    assert out["seen"].dt.tz is None
    assert out["seen"].tolist() == [pd.Timestamp("2024-08-01 08:00"), pd.Timestamp("2024-08-01")]
    out, _ = dataset.conform(frame[["seen"]], zoned, source="batch.csv")
    assert str(out["seen"].dt.tz) == "UTC" and out["seen"].iloc[0].hour == 8


def test_time_split_of_text_with_offsets_that_differ(config):
    # train without a loader: the split column is text, some rows in summer time.
    plain = _with_data(config, loader=None)
    train, _ = dataset.load_training_data(plain)
    when = train.frame["visit_date"].astype(str)
    train.frame["visit_date"] = when.where(train.frame.index % 2 == 0, when + "T00:00:00+02:00")
    parts = dataset.split(plain, train, None)
    # 2024-07-01T00:00+02:00 is 2024-06-30T22:00Z: before the cutoff, trained on.
    moved = int(((when == "2024-07-01") & (train.frame.index % 2 == 1)).sum())
    by_dates = dataset.split(config, *dataset.load_training_data(config)).info
    assert moved > 0
    assert parts.info["train_rows"] == by_dates["train_rows"] + moved
    assert parts.info["test_rows"] == by_dates["test_rows"] - moved
    assert dataset.time_order(plain, train.frame).dtype.kind == "M"


def test_a_file_outside_the_project_is_described_by_where_it_is(tmp_path, monkeypatch):
    from pathlib import Path

    from mlprod_cli.core.dataset import describe_file

    root, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (root / "src").mkdir(parents=True)
    elsewhere.mkdir()
    (elsewhere / "rows.csv").write_text("a\n1\n")
    monkeypatch.chdir(root / "src")
    entry = describe_file(Path("../../elsewhere/rows.csv"), 1, root)
    assert entry["path"] == str((elsewhere / "rows.csv").resolve())
    (root / "in.csv").write_text("a\n1\n")
    assert describe_file(Path("../in.csv"), 1, root)["path"] == "in.csv"
