"""mlprod_cli.adapters.tables: CSV, Parquet and JSON Lines in batches, bad files, prefetch."""

from __future__ import annotations

import threading

import pandas as pd
import pyarrow as pa
import pytest

from mlprod_cli.adapters import tables
from mlprod_cli.errors import DataError, UsageError


def _rows(batches) -> dict[str, list]:
    """Every batch's columns joined, as Python lists."""
    return pa.Table.from_batches(list(batches)).to_pydict()


# --------------------------------------------------------------------------- CSV


def test_csv_numbers_as_float_everything_else_as_text(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,age,sex\n007,3,f\n008,,m\n")
    (batch,) = tables.csv_batches(path, numeric=["age", "not-a-column"])
    assert batch.schema.types == [pa.string(), pa.float64(), pa.string()]
    assert batch.to_pydict() == {"id": ["007", "008"], "age": [3.0, None], "sex": ["f", "m"]}


def test_csv_chunks_and_batches_give_the_same_rows(tmp_path, monkeypatch):
    path = tmp_path / "in.csv"
    frame = pd.DataFrame({"id": [f"{i:05d}" for i in range(1000)], "x": range(1000)})
    frame.to_csv(path, index=False)
    whole = list(tables.csv_batches(path, numeric=["x"]))
    monkeypatch.setattr(tables, "CSV_CHUNK_BYTES", 100)  # a chunk ends mid-line: finished
    chunked = list(tables.csv_batches(path, numeric=["x"], batch_rows=7))
    assert len(chunked) > len(whole) and max(b.num_rows for b in chunked) <= 7
    assert (
        _rows(chunked)
        == _rows(whole)
        == {"id": frame["id"].tolist(), "x": list(map(float, range(1000)))}
    )


def test_csv_header_is_parsed_by_pyarrow(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('\n"id, with comma",age\n007,3\n')  # a leading empty line, as pyarrow skips
    (batch,) = tables.csv_batches(path, numeric=["age"])
    assert batch.to_pydict() == {"id, with comma": ["007"], "age": [3.0]}


def test_csv_text_in_a_number_column(tmp_path, monkeypatch):
    path = tmp_path / "in.csv"
    path.write_text("age,sex\n" + "3,f\n" * 20 + "forty,m\n" + "4,f\n" * 20)
    with pytest.raises(
        DataError, match=r"in\.csv: column 'age' must be numeric: a row holds 'forty'"
    ):
        list(tables.csv_batches(path, numeric=["age"]))
    monkeypatch.setattr(tables, "CSV_CHUNK_BYTES", 40)
    batches = list(tables.csv_batches(path, numeric=["age"], numbers_as_text=True))
    types = [b.schema.field("age").type for b in batches]
    # Numbers until the chunk that holds the text, text from there on.
    assert types[0] == pa.float64() and types[-1] == pa.string()
    assert types == sorted(types, key=lambda t: t == pa.string())
    assert sum(b.num_rows for b in batches) == 41


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("a,b\n1,2\n3\n", "cannot read it: CSV parse error: Expected 2 columns, got 1"),
        (b"\xff\xfe\x00garbage\x00\x01", "cannot read it"),
    ],
)
def test_csv_that_cannot_be_read(tmp_path, content, message):
    path = tmp_path / "in.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataError, match=message) as info:
        list(tables.csv_batches(path))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("content", ["a,b\n", "\n\n"])
def test_csv_without_rows_gives_no_batches(tmp_path, content):
    path = tmp_path / "in.csv"
    path.write_text(content)
    assert list(tables.csv_batches(path)) == []


# --------------------------------------------------------------------------- Parquet


def test_parquet_by_row_group_and_columns(tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "in.parquet"
    pq.write_table(
        pa.table({"a": list(range(10)), "b": list("abcdefghij")}), path, row_group_size=4
    )
    batches = list(tables.parquet_batches(path, batch_rows=3))
    assert max(b.num_rows for b in batches) == 3 and _rows(batches)["a"] == list(range(10))
    assert _rows(tables.parquet_batches(path, columns=["b"])) == {"b": list("abcdefghij")}


def test_table_batches_by_extension(tmp_path):
    import pyarrow.parquet as pq

    (tmp_path / "a.csv").write_text("x\n1\n")
    pq.write_table(pa.table({"x": [1.0]}), tmp_path / "a.pq")
    assert _rows(tables.table_batches(tmp_path / "a.csv", numeric=["x"])) == {"x": [1.0]}
    assert _rows(tables.table_batches(tmp_path / "a.pq")) == {"x": [1.0]}
    (tmp_path / "a.parquet").write_text("x\n1\n")
    with pytest.raises(DataError, match=r"a\.parquet: cannot read it"):
        list(tables.table_batches(tmp_path / "a.parquet"))
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(UsageError, match=r"a\.json: input must be \.csv or \.parquet, not \.json"):
        list(tables.table_batches(tmp_path / "a.json"))


# --------------------------------------------------------------------------- a column at a time


def test_table_file_reads_a_column_at_a_time(tmp_path):
    csv = tmp_path / "ref.csv"
    csv.write_text("age,code,sex\n3,01,f\nold,02,m\n")
    table = tables.TableFile(csv, {"age": "float64", "code": "string"})
    assert (table.names, table.rows) == (["age", "code", "sex"], 2)
    assert table.column("age").tolist() == ["3", "old"]  # not numbers: read as text
    assert table.column("code").tolist() == ["01", "02"]
    pd.DataFrame({"a": range(5), "b": list("vwxyz")}).to_parquet(tmp_path / "ref.parquet")
    parquet = tables.TableFile(tmp_path / "ref.parquet")
    assert parquet.column("b").tolist() == list("vwxyz")
    frames = list(parquet.frames(["a"], batch_rows=2))
    assert [len(f) for f in frames] == [2, 2, 1] and list(frames[0].columns) == ["a"]
    assert [len(f) for f in tables.TableFile(csv).frames(["sex"], batch_rows=1)] == [1, 1]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("e.csv", "", "the file is empty"),
        ("h.csv", "a,b\n", "no rows"),
        ("p.parquet", "a,b\n1,2\n", "cannot read it"),
    ],
)
def test_table_file_that_cannot_be_read(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(DataError, match=message):
        tables.TableFile(tmp_path / name)


# --------------------------------------------------------------------------- JSON Lines


def test_json_blocks_are_whole_lines_with_their_numbers(tmp_path):
    path = tmp_path / "in.jsonl"
    lines = [
        '{"a": 1}',
        '{"a": 22222222222}',
        "",
        '{"a": "a long line of text, longer than a block"}',
        '{"a": 4}',
    ]
    path.write_text("\n".join(lines))  # no line break after the last line
    reader = tables.JsonLines(path, block_bytes=12)  # boundaries fall inside lines
    blocks = list(reader.blocks())
    assert b"".join(block for block, _ in blocks) == path.read_bytes()
    assert all(block.endswith(b"\n") for block, _ in blocks[:-1])
    numbered = [(n, o["a"]) for block, first in blocks for n, o in reader.objects(block, first)]
    assert numbered == [
        (1, 1),
        (2, 22222222222),
        (4, "a long line of text, longer than a block"),
        (5, 4),
    ]
    # One block for the whole lines, one for the last, unfinished line.
    assert [first for _, first in tables.JsonLines(path).blocks()] == [1, 5]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"a": 1', r"in\.jsonl:7: not valid JSON \(Expecting ',' delimiter at column 8\)"),
        (b'{"a": "\xff"}', r"in\.jsonl:7: not UTF-8 text"),
        (b"[1, 2]", r"in\.jsonl:7: expected a JSON object, got an array"),
        (b"null", r"in\.jsonl:7: expected a JSON object, got null"),
        (b'"text"', r"in\.jsonl:7: expected a JSON object, got a string"),
    ],
)
def test_json_line_that_is_not_an_object_names_file_and_line(tmp_path, line, message):
    reader = tables.JsonLines(tmp_path / "in.jsonl")
    with pytest.raises(DataError, match=message):
        reader.loads(line, 7)


def test_json_table_types_the_fields_it_is_told(tmp_path):
    reader = tables.JsonLines(tmp_path / "in.jsonl")
    block = b'{"f": {"age": 3, "sex": "m"}, "n": 1}\n{"f": {"age": 4}}\n'
    table = reader.table(block, {"f": {"age": "float64", "sex": "string", "gone": "string"}})
    assert table.schema.field("f").type == pa.struct(
        [("age", pa.float64()), ("sex", pa.string()), ("gone", pa.string())]
    )
    assert table.column("n").to_pylist() == [1, None]  # not told of: inferred
    with pytest.raises(tables.ColumnTypeChanged) as changed:
        reader.table(b'{"f": {"age": "old"}}\n', {"f": {"age": "float64"}})
    assert changed.value.path == "f/age"
    # What pyarrow cannot read is left to Python's json (objects), which names the line.
    assert reader.table(b'{"a": 1}\nnot json\n', {}) is None
    assert reader.table(b'{"a": 1}\n[1]\n', {}) is None
    assert reader.table(b"null\n", {}) is None  # pyarrow would crash on it


def test_unreadable_json_lines_file(tmp_path):
    with pytest.raises(DataError, match=r"gone\.jsonl: cannot read it: No such file"):
        list(tables.JsonLines(tmp_path / "gone.jsonl").blocks())


# --------------------------------------------------------------------------- prefetch


def test_prefetch_keeps_the_order_and_hands_over_the_error():
    def items():
        yield from range(5)
        raise DataError("broken")

    seen = []
    with pytest.raises(DataError, match="broken"):
        for item in tables.prefetch(items(), depth=2):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_prefetch_stops_its_thread_when_the_consumer_stops():
    before = threading.active_count()
    reader = tables.prefetch(iter(range(1000)), depth=1)
    assert next(reader) == 0
    reader.close()
    assert threading.active_count() == before


# --------------------------------------------------------------------------- what train reads too (issue 11, item 8)


def test_csv_of_cr_only_line_endings_is_read_as_pandas_reads_it(tmp_path, monkeypatch):
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,age\r" + b"".join(b"k%d,%d\r" % (i, i) for i in range(50)))
    monkeypatch.setattr(tables, "CSV_CHUNK_BYTES", 64)  # lines cut across chunks too
    rows = _rows(tables.csv_batches(path, numeric=["age"]))
    assert rows == pd.read_csv(path, dtype={"id": str}).astype({"age": float}).to_dict("list")


def test_csv_with_a_field_longer_than_pyarrows_block(tmp_path):
    path = tmp_path / "in.csv"
    big = "x" * (3 << 20)
    path.write_text(f"id,note\n1,{big}\n2,short\n")
    assert _rows(tables.csv_batches(path)) == {"id": ["1", "2"], "note": [big, "short"]}
    assert tables.TableFile(path).column("note").tolist() == [big, "short"]


def test_csv_not_utf8_names_the_byte_and_line_of_the_file(tmp_path, monkeypatch):
    path = tmp_path / "in.csv"
    head = "id,site\n" + "".join(f"k{i},trunk\n" for i in range(30))
    path.write_bytes(head.encode() + "k30,tr\u00fcnk\n".encode("latin-1"))
    monkeypatch.setattr(tables, "CSV_CHUNK_BYTES", 64)
    with pytest.raises(DataError) as info:
        list(tables.csv_batches(path))
    byte = len(head) + len("k30,tr")
    assert str(info.value) == (
        f"{path}: cannot read it: not UTF-8 at byte {byte} (line 32): save it as UTF-8"
    )
    # A character cut by the decoder's block is counted from the file's start.
    assert tables.not_utf8(path) == f"not UTF-8 at byte {byte} (line 32): save it as UTF-8"


@pytest.mark.parametrize(
    ("arrow_type", "kind"),
    [
        (pa.binary(), "bytes"),
        (pa.large_binary(), "bytes"),
        (pa.struct([("a", pa.int64())]), "structs"),
        (pa.list_(pa.float64()), "lists"),
        (pa.map_(pa.string(), pa.int64()), "maps"),
        (pa.dictionary(pa.int32(), pa.binary()), "bytes"),
        (pa.string(), None),
        (pa.float64(), None),
        (pa.timestamp("us", "UTC"), None),
        (pa.dictionary(pa.int32(), pa.string()), None),
    ],
)
def test_unusable_kinds_of_column(arrow_type, kind):
    assert tables.unusable_kind(arrow_type) == kind
