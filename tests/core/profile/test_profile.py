"""core/profile/_profile.py: each column's kind, missing share and cardinality, in one pass."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest

from mlprod_cli.core.profile import _profile as profile_module
from mlprod_cli.core.profile import profile_table
from mlprod_cli.errors import DataError


def frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "row": np.arange(n),
            "age": rng.integers(18, 90, n),
            "income": rng.normal(50_000, 9_000, n).round(2),
            "region": rng.choice(["north", "south", "east"], n),
            "member": rng.choice(["true", "false"], n),
            "signup": pd.date_range("2023-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "note": [
                f"customer {i} said the product was fine but slow on day {i}" for i in range(n)
            ],
            "empty": [None] * n,
            "same": ["x"] * n,
            "churned": rng.choice(["yes", "no"], n, p=[0.2, 0.8]),
        }
    )


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "customers.csv"
    data = frame()
    data.loc[[3, 7], "income"] = np.nan
    data.to_csv(path, index=False)
    return path


def kinds(profile) -> dict[str, str]:
    return {c.name: c.kind for c in profile.columns}


def test_each_column_gets_its_kind(csv):
    profile = profile_table(csv, target="churned")
    assert profile.rows == 200
    assert kinds(profile) == {
        "customer_id": "identifier",
        "row": "numeric",  # unique whole numbers, but not named like an identifier
        "age": "numeric",
        "income": "numeric",
        "region": "categorical",
        "member": "boolean",
        "signup": "datetime",
        "note": "text",
        "empty": "empty",
        "same": "constant",
        "churned": "boolean",  # yes and no
    }


def test_missing_counts_ranges_and_value_counts(csv):
    profile = profile_table(csv)
    income = profile.column("income")
    data = pd.read_csv(csv)
    assert income.missing == 2 and income.missing_share == pytest.approx(0.01)
    assert income.minimum == pytest.approx(data["income"].min())
    assert income.maximum == pytest.approx(data["income"].max())
    region = profile.column("region")
    assert region.counts == data["region"].value_counts().to_dict()
    assert region.distinct == 3 and not region.distinct_capped
    assert profile.column("age").integers and not income.integers


def test_dates_are_sampled_with_the_target(csv):
    column = profile_table(csv, target="churned").column("signup")
    assert column.minimum == "2023-01-01" and column.maximum == "2023-07-19"
    data = pd.read_csv(csv)
    assert column.dates == list(zip(data["signup"], data["churned"], strict=True))


def test_slashes_in_dates_and_blank_values(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("when,x\n2012/01/31,1\n2012/02/01,  \n2012/02/02,3\n")
    profile = profile_table(path)
    assert profile.column("when").kind == "datetime"
    assert profile.column("when").minimum == "2012-01-31"
    assert profile.column("x").missing == 1


def test_parquet_agrees_with_csv(csv, tmp_path):
    data = pd.read_csv(csv, dtype={"signup": str, "member": str})
    data["signup"] = pd.to_datetime(data["signup"])
    data["member"] = data["member"] == "true"
    parquet = tmp_path / "customers.parquet"
    data.to_parquet(parquet)
    from_csv, from_parquet = profile_table(csv), profile_table(parquet)
    assert kinds(from_parquet) == kinds(from_csv)
    for name in ("income", "age", "region"):
        a, b = from_csv.column(name), from_parquet.column(name)
        assert (a.missing, a.distinct, a.minimum, a.maximum) == (
            b.missing,
            b.distinct,
            b.minimum,
            b.maximum,
        )


def test_a_parquet_column_of_bytes_is_unsupported(tmp_path):
    path = tmp_path / "b.parquet"
    pd.DataFrame({"blob": [b"\x00\x01", b"\x02"], "y": ["a", "b"]}).to_parquet(path)
    column = profile_table(path).column("blob")
    assert column.kind == "unsupported" and "binary" in column.reason


def test_memory_stays_bounded_on_many_distinct_values(tmp_path, monkeypatch):
    monkeypatch.setattr(profile_module, "BLOCK_BYTES", 1 << 18)  # many batches
    n = 120_000
    path = tmp_path / "wide.csv"
    pd.DataFrame({"key": [f"k{i}" for i in range(n)], "v": np.arange(n) % 7}).to_csv(
        path, index=False
    )
    tracemalloc.start()
    profile = profile_table(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    key = profile.column("key")
    assert key.distinct_capped and key.kind == "identifier"
    assert profile.column("v").counts == {str(i): n // 7 + (i < n % 7) for i in range(7)}
    assert peak < 40_000_000  # the 120,000 keys are not all kept


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n", "has no header row"),
        (b"a,b,a\n1,2,3\n", "column 'a' appears twice in the header"),
        (b"a,,c\n1,2,3\n", "column 2 of the header has no name"),
        ("caf\xe9,x\n1,2\n".encode("latin-1"), "is not UTF-8"),
        (b"a,b\n", "no rows"),
        (b"a,b\n1,2,3\n", "cannot read it as CSV"),
    ],
)
def test_bad_files_are_one_data_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        profile_table(path)


def test_not_a_table_and_missing_files(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        profile_table(tmp_path / "nope.csv")
    with pytest.raises(DataError, match=r"must be \.csv or \.parquet"):
        profile_table(tmp_path / "data.xlsx")
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="cannot read it as Parquet"):
        profile_table(junk)
