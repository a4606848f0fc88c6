"""Tables read from files: CSV, Parquet and JSON Lines, in batches or a column at a time.

Memory does not grow with the rows: CSV is parsed a chunk of whole lines at a time,
Parquet a row group (or less) at a time, JSON Lines a block of whole lines at a time.
:func:`prefetch` reads the next batches in a thread while the caller works on the
current one (Arrow's readers release the GIL). The readers know files and column
types and nothing of a capability: ``predict`` and ``skew`` say which columns hold
numbers and what to do when one holds text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from mlprod_cli.errors import DataError, UsageError

BATCH_ROWS = 131_072
"""Rows per batch by default: a model call costs about the same for 1 row or 10,000."""
CSV_CHUNK_BYTES = 1 << 24
"""CSV is parsed in chunks of about this many bytes (whole lines)."""
JSON_BLOCK_BYTES = 1 << 24
"""JSON Lines are parsed in blocks of about this many bytes (whole lines)."""
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def prefetch(iterator: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Run ``iterator`` in a thread, ``depth`` items ahead (Arrow reads without the GIL)."""
    import queue
    import threading

    items: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in iterator:
                if stop.is_set():
                    return
                items.put(item)
            items.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            items.put(exc)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                items.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)


# --------------------------------------------------------------------------- CSV and Parquet


def table_batches(
    path: Path,
    *,
    numeric: Collection[str] = (),
    batch_rows: int = BATCH_ROWS,
    numbers_as_text: bool = False,
) -> Iterator[Any]:
    """Arrow record batches of at most ``batch_rows`` rows from a CSV or Parquet file.

    See :func:`csv_batches` for ``numeric`` and ``numbers_as_text``; Parquet
    columns come as the file types them.
    """
    _check_not_empty(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from csv_batches(
            path, numeric=numeric, batch_rows=batch_rows, numbers_as_text=numbers_as_text
        )
    elif suffix in (".parquet", ".pq"):
        yield from parquet_batches(path, batch_rows=batch_rows)
    else:
        raise UsageError(f"{path}: input must be .csv or .parquet, not {suffix or 'no extension'}")


def csv_batches(
    path: Path,
    *,
    numeric: Collection[str] = (),
    batch_rows: int = BATCH_ROWS,
    numbers_as_text: bool = False,
) -> Iterator[Any]:
    """Arrow record batches of a CSV file: ``numeric`` columns as float64, the others as text.

    Every other column is text, so that identifiers keep their leading zeros. A
    numeric column holding text is an error naming the column and the value; with
    ``numbers_as_text`` it is read as text instead, from the chunk that holds the
    text on (the caller counts what does not parse).

    pyarrow's streaming reader reads ahead of its consumer without a bound
    (hundreds of MB on a large file, outside its memory pool), so the file is cut
    here instead: about :data:`CSV_CHUNK_BYTES` of whole lines, each parsed on
    every core by ``read_csv``. Like pyarrow's reader, this assumes no line breaks
    inside quoted values. The header is parsed by pyarrow too, so a quoted name
    may hold a comma.
    """
    import pyarrow as pa

    _check_not_empty(path)
    with path.open("rb") as handle:
        head = handle.read(CSV_CHUNK_BYTES)
        handle.seek(0)
        if is_cr_only(head):
            # Lines ended by CR alone, which pandas (and so a project's loader) reads:
            # read as LF, since the chunks below are cut at LF.
            handle = _CrAsLf(handle)
        del head
        header = handle.readline()
        while header and not header.strip(b"\r\n"):  # pyarrow skips empty lines: so does this
            header = handle.readline()
        if not header:
            return
        names = _csv_names(path, header)
        types = {name: pa.string() for name in names}
        types.update({name: pa.float64() for name in names if name in numeric})
        while True:
            chunk = handle.read(CSV_CHUNK_BYTES)
            if not chunk:
                return
            chunk += handle.readline()  # finish the last line of the chunk
            table = _parse_csv(path, header + chunk, names, types, numbers_as_text)
            del chunk
            # Parsed in parallel blocks of about 1 MB: joined so that each batch holds up
            # to batch_rows rows.
            yield from table.combine_chunks().to_batches(max_chunksize=batch_rows)


class _CrAsLf:
    """A binary file read with its CR bytes as LF (a file of CR-only line endings)."""

    def __init__(self, handle: Any):
        self.handle, self.buffer = handle, b""

    def read(self, size: int) -> bytes:
        data, self.buffer = self.buffer + self.handle.read(size).replace(b"\r", b"\n"), b""
        return data

    def readline(self) -> bytes:
        while b"\n" not in self.buffer:
            more = self.handle.read(1 << 16)
            if not more:
                line, self.buffer = self.buffer, b""
                return line
            self.buffer += more.replace(b"\r", b"\n")
        cut = self.buffer.index(b"\n") + 1
        line, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return line


def _csv_names(path: Path, header: bytes) -> list[str]:
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        return pacsv.read_csv(io.BytesIO(header)).column_names
    except pa.ArrowException as exc:
        raise _unreadable(path, exc) from None


def _parse_csv(
    path: Path, data: bytes, names: list[str], types: dict[str, Any], numbers_as_text: bool
) -> Any:
    """One chunk of CSV (the header line first) as an Arrow table typed as ``types`` says.

    With ``numbers_as_text``, a numeric column that holds text is made text in
    ``types`` (for the later chunks too) and the chunk parsed again.
    """
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions()
    while True:
        convert = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True)
        try:
            return pacsv.read_csv(io.BytesIO(data), read_options=read, convert_options=convert)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            if _straddles(exc) and read.block_size <= len(data):
                # A line longer than pyarrow's block (1 MB): the chunk as one block.
                read = pacsv.ReadOptions(block_size=len(data) + 1)
                continue
            match = re.search(r"column #(\d+)", str(exc))
            index = int(match.group(1)) if match else -1
            name = names[index] if 0 <= index < len(names) else None
            if name is None or types[name] != pa.float64():
                raise _unreadable(path, exc) from None
            if not numbers_as_text:
                value = re.search(r"invalid value '([^']*)'", str(exc))
                held = f"a row holds {value.group(1)!r}" if value else _first_line(exc)
                raise DataError(f"{path}: column '{name}' must be numeric: {held}") from None
            types[name] = pa.string()
        except pa.ArrowException as exc:
            raise _unreadable(path, exc) from None


def parquet_batches(
    path: Path, *, batch_rows: int = BATCH_ROWS, columns: list[str] | None = None
) -> Iterator[Any]:
    """Arrow record batches of a Parquet file (of ``columns``, or all), a row group or less each."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_not_empty(path)
    try:
        # Column chunks read as they are decoded, not a whole row group ahead.
        parquet = pq.ParquetFile(path, pre_buffer=False, buffer_size=1 << 20)
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
            if batch.num_rows:
                yield batch
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(path, exc) from None


class TableFile:
    """A CSV or Parquet file read a column at a time, so that a Parquet file is never read whole.

    Parquet is read column by column from the file. CSV is parsed once into Arrow:
    the columns of ``types`` (``{"age": "float64", "sex": "string"}``) as those
    types, the others inferred; a column that does not convert is read as text
    (the caller says what is wrong with its values).
    """

    def __init__(self, path: Path, types: Mapping[str, str] | None = None):
        import pyarrow as pa

        self.path = path
        self.table = None
        _check_not_empty(path)
        try:
            if path.suffix.lower() == ".csv":
                self.table = _read_csv(path, types or {})
                self.names = list(self.table.column_names)
                self.rows = self.table.num_rows
            else:
                import pyarrow.parquet as pq

                parquet = pq.ParquetFile(path)
                self.names = list(parquet.schema_arrow.names)
                self.rows = parquet.metadata.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise _unreadable(path, exc) from None
        if self.rows == 0:
            raise DataError(f"{path}: no rows")

    def column(self, name: str) -> Any:
        """Column ``name`` as a pandas Series."""
        import pyarrow as pa

        if self.table is not None:
            return self.table.column(name).to_pandas()
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.path).read(columns=[name]).column(0).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise _unreadable(self.path, exc) from None

    def frames(self, names: list[str], batch_rows: int = BATCH_ROWS) -> Iterator[Any]:
        """The columns ``names`` in pandas DataFrames of at most ``batch_rows`` rows."""
        if self.table is not None:
            selected = self.table.select(names)
            for start in range(0, self.rows, batch_rows):
                yield selected.slice(start, batch_rows).to_pandas()
            return
        for batch in parquet_batches(self.path, batch_rows=batch_rows, columns=names):
            yield batch.to_pandas()


def _read_csv(path: Path, types: Mapping[str, str]) -> Any:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    column_types = {name: pa.type_for_alias(kind) for name, kind in types.items()}
    read = pacsv.ReadOptions()
    with path.open("rb") as handle:
        try:
            names = pacsv.open_csv(handle).schema.names
        except pa.ArrowInvalid as exc:
            if not _straddles(exc):
                raise
            read = pacsv.ReadOptions(block_size=path.stat().st_size + 1)
            handle.seek(0)
            names = pacsv.open_csv(handle, read_options=read).schema.names
    while True:
        try:
            return pacsv.read_csv(
                path,
                read_options=read,
                convert_options=pacsv.ConvertOptions(
                    column_types=column_types, strings_can_be_null=True
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            if _straddles(exc) and read.block_size <= path.stat().st_size:
                read = pacsv.ReadOptions(block_size=path.stat().st_size + 1)
                continue
            match = re.search(r"column #(\d+)", str(exc))
            index = int(match.group(1)) if match else -1
            if 0 <= index < len(names) and column_types.get(names[index]) != pa.string():
                column_types[names[index]] = pa.string()
                continue
            raise


def _straddles(exc: Exception) -> bool:
    return "straddl" in str(exc)


def check_regular(path: Path, missing: str) -> None:
    """Refuse what is not a regular file before it is opened (``missing``: the message
    for no file at all). A FIFO would block the read for ever and ``/dev/zero`` never
    ends; a symlink to a regular file is read (it is the user's own data)."""
    import stat

    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise DataError(
                f"{path}: a symlink to {path.readlink()}, which does not exist"
            ) from None
        raise DataError(missing) from None
    except OSError as exc:  # a loop of symlinks (ELOOP), a folder it may not enter
        raise DataError(f"{path}: cannot read it: {exc.strerror}") from None
    if stat.S_ISREG(mode):
        return
    kinds = {
        stat.S_ISDIR: "a folder",
        stat.S_ISFIFO: "a named pipe (FIFO)",
        stat.S_ISSOCK: "a socket",
    }
    kind = next((k for test, k in kinds.items() if test(mode)), "a device")
    raise DataError(f"{path}: is {kind}, not a file")


def _check_not_empty(path: Path) -> None:
    check_regular(path, f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _unreadable(path: Path, exc: Exception) -> DataError:
    if "invalid UTF8" in str(exc) or isinstance(exc, UnicodeDecodeError):
        found = not_utf8(path)
        if found is not None:
            return DataError(f"{path}: cannot read it: {found}")
    return DataError(f"{path}: cannot read it: {_first_line(exc)}")


def not_utf8(path: Path) -> str | None:
    """Where ``path`` stops being UTF-8 (``not UTF-8 at byte N (line L)``), or None.

    Read in blocks with an incremental decoder, so that the byte counted is the
    file's, not a block's (pandas' UnicodeDecodeError counts from its own buffer).
    """
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, lines = 0, 1
    try:
        with path.open("rb") as handle:
            while True:
                block = handle.read(1 << 20)
                try:
                    decoder.decode(block, final=not block)
                except UnicodeDecodeError as exc:
                    # The decoder keeps up to 3 bytes of an unfinished character from the
                    # block before: exc.start counts from them.
                    pending = len(exc.object) - len(block)
                    where = offset + exc.start - pending
                    line = lines + exc.object[: max(exc.start, 0)].count(b"\n")
                    return f"not UTF-8 at byte {where} (line {line}): save it as UTF-8"
                if not block:
                    return None
                offset += len(block)
                lines += block.count(b"\n")
    except OSError:
        return None


def is_cr_only(head: bytes) -> bool:
    """True when ``head`` (the start of a text file) ends its lines with a bare CR (old Mac)."""
    return b"\r" in head and b"\n" not in head


def unusable_kind(arrow_type: Any) -> str | None:
    """What a column of ``arrow_type`` holds when no model can take it as a feature
    (``bytes``, ``structs``, ``lists``, ``maps``), or None for numbers, text, dates."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    kinds = {
        "bytes": (pa.types.is_binary, pa.types.is_large_binary, pa.types.is_fixed_size_binary),
        "structs": (pa.types.is_struct,),
        "maps": (pa.types.is_map,),
        "lists": (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list),
        "unions": (pa.types.is_union,),
    }
    return next((k for k, tests in kinds.items() if any(t(arrow_type) for t in tests)), None)


# --------------------------------------------------------------------------- JSON Lines

_CHANGED = re.compile(r"Column\(/([^)]*)\) changed from")
_NULL_LINE = re.compile(rb"(?m)^[ \t\r]*null[ \t\r]*$")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")


class ColumnTypeChanged(Exception):
    """pyarrow met a field of another type than it was told; ``path`` names it (``a/b``:
    field ``b`` of the object ``a``)."""

    def __init__(self, path: str):
        super().__init__(path)
        self.path = path


class JsonLines:
    """One JSON Lines file, read in blocks of whole lines of about ``block_bytes``.

    :meth:`table` parses a block with pyarrow (in C++, on every core) as it is told
    to type the fields; what pyarrow cannot read (a line that is not an object, a
    field whose type changes), :meth:`objects` reads with Python's ``json``, which
    names the file and the line of a line that is not a JSON object.
    """

    def __init__(self, path: Path, *, block_bytes: int | None = None):
        self.path = path
        self.block_bytes = block_bytes or JSON_BLOCK_BYTES

    def blocks(self) -> Iterator[tuple[bytes, int]]:
        """Blocks of whole lines, each with the number of its first line (from 1).

        A last line without a line break is a block of its own; a line longer than
        ``block_bytes`` is read on until it ends.
        """
        line = 1
        rest = b""
        check_regular(self.path, f"{self.path}: cannot read it: No such file or directory")
        try:
            with self.path.open("rb") as handle:
                while True:
                    chunk = handle.read(self.block_bytes)
                    if not chunk:
                        if rest.strip():
                            yield rest, line
                        return
                    data = rest + chunk if rest else chunk
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        rest = data
                        continue
                    block, rest = data[: cut + 1], data[cut + 1 :]
                    yield block, line
                    line += block.count(b"\n")
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read it: {exc.strerror}") from None

    def where(self, number: int) -> str:
        """``path:number``, for a message about line ``number``."""
        return f"{self.path}:{number}"

    def loads(self, line: bytes, number: int) -> dict[str, Any]:
        """Line ``number`` as a JSON object; a DataError naming the file and line if it is not one."""
        where = self.where(number)
        try:
            record = json.loads(line)
        except UnicodeDecodeError:
            raise DataError(f"{where}: not UTF-8 text") from None
        except RecursionError:  # Python's json recurses: arrays thousands of levels deep
            raise DataError(f"{where}: arrays or objects nested too deeply") from None
        except ValueError as exc:
            detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            column = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise DataError(f"{where}: not valid JSON ({detail}{column})") from None
        if not isinstance(record, dict):
            raise DataError(f"{where}: expected a JSON object, got {json_kind(record)}")
        if _SURROGATE_ESCAPE.search(line):
            # A lone surrogate ("\ud800") is valid JSON but no text UTF-8 can hold: it
            # would break the report as it is written. Replaced by U+FFFD, as serve does.
            record = _without_surrogates(record)
        return record

    def objects(self, block: bytes, first_line: int) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every non-blank line of ``block`` as ``(line number, object)``, read by Python."""
        for offset, line in enumerate(block.split(b"\n")):
            if line.strip():
                yield first_line + offset, self.loads(line, first_line + offset)

    def table(self, block: bytes, fields: Mapping[str, Any]) -> Any | None:
        """``block`` parsed by pyarrow into an Arrow table, or ``None`` when pyarrow cannot.

        ``fields`` types the fields pyarrow is told of: a type name (``"float64"``,
        ``"string"``) or, for an object, a mapping of its fields; every field of
        ``fields`` is in the table (all null where no line has it), others are
        inferred. :class:`ColumnTypeChanged` says which field a line sends as another
        type, so that the caller may stop typing it and parse again; ``None`` means
        read the block with :meth:`objects`.
        """
        import pyarrow as pa
        import pyarrow.json as pajson

        if _NULL_LINE.search(block):
            # pyarrow (26) crashes the process on a block that starts with a "null" line, and
            # reads one further down as a row of nulls: Python's json names the line instead.
            return None
        if _SURROGATE_ESCAPE.search(block):
            return None  # lone surrogates: Python's json reads them, loads() replaces them
        if _nesting(block) > MAX_ARROW_DEPTH:
            # pyarrow (26) crashes the process (SIGSEGV) on a line nested 100,000 deep.
            return None
        options = pajson.ParseOptions(
            explicit_schema=pa.schema(_arrow_fields(fields)), unexpected_field_behavior="infer"
        )
        try:
            return pajson.read_json(
                pa.py_buffer(block),
                read_options=pajson.ReadOptions(block_size=len(block) + 1),
                parse_options=options,
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            match = _CHANGED.search(str(exc))
            if match:
                raise ColumnTypeChanged(match.group(1)) from None
            return None


MAX_ARROW_DEPTH = 64
"""Blocks whose brackets nest deeper than this are read by Python's json, not pyarrow."""


def _nesting(block: bytes) -> int:
    """How deep ``{``/``[`` nest in ``block`` (brackets inside strings counted too: at worst
    a block goes the slower, safe way)."""
    import numpy as np

    raw = np.frombuffer(block, dtype=np.uint8)
    step = np.isin(raw, (0x5B, 0x7B)).astype(np.int32) - np.isin(raw, (0x5D, 0x7D))
    return int(np.cumsum(step).max()) if step.size else 0


def _without_surrogates(value: Any) -> Any:
    """``value`` with lone surrogates in its text and keys replaced by U+FFFD (no recursion:
    a line may nest as deep as Python's json reads)."""
    root = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        holder, key = stack.pop()
        item = holder[key]
        if isinstance(item, str):
            holder[key] = _SURROGATE.sub("\ufffd", item)
        elif isinstance(item, list):
            stack.extend((item, i) for i in range(len(item)))
        elif isinstance(item, dict):
            fixed = {_SURROGATE.sub("\ufffd", k): v for k, v in item.items()}
            holder[key] = fixed
            stack.extend((fixed, k) for k in fixed)
    return root[0]


def _arrow_fields(fields: Mapping[str, Any]) -> list[Any]:
    import pyarrow as pa

    return [
        pa.field(
            name,
            pa.struct(_arrow_fields(kind))
            if isinstance(kind, Mapping)
            else pa.type_for_alias(kind),
        )
        for name, kind in fields.items()
    ]


def is_text(column: Any) -> bool:
    """Whether ``column`` is a pandas object column whose present values are all ``str``
    (its strings can be used as they are, not copied into new ones)."""
    import pandas as pd

    return column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) == "string"


def json_kind(value: Any) -> str:
    """What a JSON value is, for a message: ``null``, ``a number``, ``an array`` …"""
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "an array",
    }.get(type(value), type(value).__name__)
