"""Structure fuzzing: the shapes a person (or a broken tool) can give a YAML or JSON file.

Value fuzzing (``test_fuzz_inputs``) draws random documents; this module
takes a real file (the template's ``mlprod.yaml``, a trained version's
``metadata.json``, a request log) and derives every structural variant of it
that a reader must survive, deterministically, each with an id that says
what was done:

* the document as a whole: empty, a scalar, a list or null at the root, a
  byte-order mark, UTF-16, latin-1 bytes, a NUL, cut in half, two documents,
  megabytes of padding, nesting thousands of levels deep, aliases of aliases,
  merge keys, explicit tags (Python objects, binary, impossible timestamps,
  ``!!int abc``, unknown tags, sets), unquoted impossible dates, ``~user``
  paths, complex and non-string keys, duplicate keys, integers no float can
  hold, NaN and infinities;
* every value in turn (:func:`paths`): replaced by each of :data:`ODD_VALUES`,
  wrapped in a list or a mapping; every key deleted; an unknown key added
  beside it.

A reader's contract is the same for every shape: a clean result or one
``error:`` line, exit 2; never a traceback, exit 70, a hang or a changed tree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

DEPTH = 5_000  # deeper than Python's recursion limit, so a recursive reader fails
PADDING = 4 * 1024 * 1024

# What a value can be replaced by: the types and sizes a validator may not expect.
ODD_VALUES: dict[str, Any] = {
    "null": None,
    "true": True,
    "false": False,
    "zero": 0,
    "minus-one": -1,
    "1e30": 10**30,
    "1e308": 1e308,
    "empty": "",
    "long-string": "x" * 100_000,
    "nul-string": "a\0b",
    "empty-list": [],
    "empty-map": {},
}


@dataclass(frozen=True)
class Shape:
    id: str
    data: bytes


# --------------------------------------------------------------------------- walking a document


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path (a tuple of keys and indexes) to a value inside ``value``, parents first."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value[:3]):  # the first few items stand for the rest
            yield (*prefix, index)
            yield from paths(child, (*prefix, index))


def _replace(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    out = _deep_copy(document)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = new
    return out


def _delete(document: Any, path: tuple[Any, ...]) -> Any:
    out = _deep_copy(document)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return out


def _add_beside(document: Any, path: tuple[Any, ...]) -> Any | None:
    out = _deep_copy(document)
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if not isinstance(parent, dict):
        return None
    parent["mlprod_fuzz_unknown_key"] = 1
    return out


def _deep_copy(value: Any) -> Any:
    import copy

    return copy.deepcopy(value)


def _label(path: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in path) or "(root)"


def _nested(depth: int, *, kind: str) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if kind == "list" else {"a": value}
    return value


def _deep_text(depth: int, *, flow_list: bool) -> str:
    return (
        ("[" * depth + "1" + "]" * depth) if flow_list else ('{"a": ' * depth + "1" + "}" * depth)
    )


# --------------------------------------------------------------------------- YAML


def yaml_shapes(text: str, *, per_path: bool = True) -> list[Shape]:
    """Every structural variant of the YAML document ``text`` (see the module's docstring)."""
    document = yaml.safe_load(text)
    raw = text.encode("utf-8")
    first_key = next(iter(document)) if isinstance(document, dict) and document else "key"
    half = len(raw) // 2
    shapes = [
        Shape("doc/empty", b""),
        Shape("doc/whitespace", b"  \n\n\t\n"),
        Shape("doc/comment-only", b"# nothing here\n"),
        Shape("doc/scalar-root", b"just a string\n"),
        Shape("doc/number-root", b"42\n"),
        Shape("doc/list-root", b"- a\n- b\n"),
        Shape("doc/null-root", b"null\n"),
        Shape("doc/bom", b"\xef\xbb\xbf" + raw),
        Shape("doc/utf16", text.encode("utf-16")),
        Shape("doc/latin1-byte", raw + b"# caf\xe9\n"),
        Shape("doc/invalid-utf8", raw[:half] + b"\xff\xfe" + raw[half:]),
        Shape("doc/nul-byte", raw[:half] + b"\0" + raw[half:]),
        Shape("doc/truncated", raw[:half]),
        Shape("doc/two-documents", raw + b"\n---\n" + raw),
        Shape("doc/document-end-marker", b"---\n" + raw + b"\n...\n"),
        Shape("doc/padded", raw + b"\n" + (b"# " + b"p" * 78 + b"\n") * (PADDING // 80)),
        Shape("doc/tab-indent", raw.replace(b"\n  ", b"\n\t", 1)),
        Shape("doc/cr-only", raw.replace(b"\n", b"\r")),
        Shape("doc/crlf", raw.replace(b"\n", b"\r\n")),
        Shape("doc/deep-flow-list", f"{first_key}: {_deep_text(DEPTH, flow_list=True)}\n".encode()),
        Shape("doc/deep-flow-map", f"{first_key}: {_deep_text(DEPTH, flow_list=False)}\n".encode()),
        Shape(
            "doc/deep-block",
            (
                f"{first_key}:\n"
                + "".join(" " * i + "a:\n" for i in range(1, 300))
                + " " * 300
                + "1\n"
            ).encode(),
        ),
        Shape("doc/aliases-of-aliases", _laughs().encode()),
        Shape("doc/alias-to-nothing", f"{first_key}: *nowhere\n".encode()),
        Shape("doc/anchor-and-alias", raw + b"\nmlprod_copy: &x {a: 1}\nmlprod_again: *x\n"),
        Shape("doc/duplicate-key", raw + b"\n" + raw.split(b"\n", 1)[0] + b"\n"),
        Shape("doc/complex-key", b"? [a, b]\n: 1\n" + raw),
        Shape("doc/int-key", raw + b"\n1: one\n"),
        Shape("doc/null-key", raw + b"\nnull: nothing\n"),
        Shape("doc/bool-key", raw + b"\ntrue: yes\n"),
        Shape("doc/merge-key-root", b"base: &base {a: 1}\n<<: *base\n" + raw),
        Shape("doc/tag-python-object", b"!!python/object/apply:os.system ['true']\n"),
        Shape("doc/tag-python-in-value", f"{first_key}: !!python/name:os.system\n".encode()),
        Shape("doc/tag-unknown-root", b"!mlprod " + raw),
    ]
    if isinstance(document, dict):
        shapes += list(_yaml_value_shapes(document, per_path=per_path))
    return shapes


def _laughs() -> str:
    text = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        text += f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    return text


# Unparseable-as-intended scalars, written raw into the YAML text in place of a value.
_YAML_TOKENS = {
    "tag-binary": "!!binary aGVsbG8=",
    "tag-bad-timestamp": "!!timestamp 2024-13-45",
    "tag-int-text": "!!int abc",
    "tag-float-text": "!!float x",
    "tag-str-on-map": "!!str {a: 1}",
    "tag-unknown": "!mlprod value",
    "tag-set": "!!set {a, b}",
    "tag-omap": "!!omap [a: 1, b: 2]",
    "tag-python-tuple": "!!python/tuple [1, 2]",
    "date-impossible": "2024-02-30",
    "date-valid": "2024-07-01",
    "datetime-offset": "2024-07-01T10:00:00+05:00",
    "tilde-user": "~nosuchuser/data.csv",
    "tilde-home": "~/data.csv",
    "int-huge": "1" + "0" * 400,
    "float-overflow": "1e400",
    "nan": ".nan",
    "inf": ".inf",
    "minus-inf": "-.inf",
    "hex-int": "0x1F",
    "octal-int": "0o17",
    "sexagesimal": "1:30",
    "yes-word": "yes",
    "merge-key": "{<<: {a: 1}, b: 2}",
    "merge-key-list": "{<<: [{a: 1}, {b: 2}], c: 3}",
    "merge-key-scalar": "{<<: 1}",
    "empty-flow": "{}",
    "quoted-nul": '"a\\0b"',
    "lone-surrogate": '"\\ud800"',
}


def _yaml_value_shapes(document: dict[str, Any], *, per_path: bool) -> Iterator[Shape]:
    for path in paths(document):
        label = _label(path)
        # Raw tokens go in as text: the path's value re-serialised with a marker, then swapped.
        for name, token in _YAML_TOKENS.items():
            marked = _replace(document, path, "MLPROD_FUZZ_MARKER")
            text = _dump_yaml(marked)
            if text is not None:
                yield Shape(f"{label}={name}", text.replace("MLPROD_FUZZ_MARKER", token).encode())
        if not per_path:
            continue
        for name, odd in ODD_VALUES.items():
            text = _dump_yaml(_replace(document, path, odd))
            if text is not None:
                yield Shape(f"{label}={name}", text.encode())
        value = _get(document, path)
        for name, wrapped in (("as-list", [value]), ("as-map", {"value": value})):
            text = _dump_yaml(_replace(document, path, wrapped))
            if text is not None:
                yield Shape(f"{label}={name}", text.encode())
        text = _dump_yaml(_delete(document, path))
        if text is not None:
            yield Shape(f"{label}=deleted", text.encode())
        added = _add_beside(document, path)
        if added is not None and len(path) > 0:
            text = _dump_yaml(added)
            if text is not None:
                yield Shape(f"{label}=unknown-sibling", text.encode())


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def _dump_yaml(value: Any) -> str | None:
    try:
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's is ten times faster
        return yaml.dump(value, Dumper=dumper, sort_keys=False, allow_unicode=True, width=10_000)
    except yaml.YAMLError:
        return None


# --------------------------------------------------------------------------- JSON


def json_shapes(value: Any, *, per_path: bool = True) -> list[Shape]:
    """Every structural variant of the JSON document ``value``."""
    raw = json.dumps(value, indent=2).encode()
    half = len(raw) // 2
    shapes = [
        Shape("doc/empty", b""),
        Shape("doc/whitespace", b" \n"),
        Shape("doc/null", b"null"),
        Shape("doc/number", b"42"),
        Shape("doc/string", b'"text"'),
        Shape("doc/list", b"[1, 2]"),
        Shape("doc/list-of-doc", b"[" + raw + b"]"),
        Shape("doc/bom", b"\xef\xbb\xbf" + raw),
        Shape("doc/utf16", raw.decode().encode("utf-16")),
        Shape("doc/invalid-utf8", raw[:half] + b"\xff" + raw[half:]),
        Shape("doc/nul-byte", raw[:half] + b"\0" + raw[half:]),
        Shape("doc/truncated", raw[:half]),
        Shape("doc/trailing-garbage", raw + b" }"),
        Shape("doc/two-documents", raw + b"\n" + raw),
        Shape("doc/padded", raw + b" " * PADDING),
        Shape("doc/deep-list", _deep_text(DEPTH * 20, flow_list=True).encode()),
        Shape("doc/deep-map", _deep_text(DEPTH * 20, flow_list=False).encode()),
        Shape("doc/nan", b"NaN"),
        Shape("doc/huge-int", b"1" + b"0" * 400),
    ]
    if isinstance(value, dict):
        shapes += [
            Shape("doc/duplicate-key", _duplicate_first_key(raw)),
            Shape("doc/lone-surrogate-key", raw[:-1].rstrip() + b',\n  "\\ud800": 1\n}'),
        ]
        shapes += list(_json_value_shapes(value, per_path=per_path))
    return shapes


def _duplicate_first_key(raw: bytes) -> bytes:
    match = re.search(rb'\n  ("[^"]*": [^\n]*?),?\n', raw)
    if match is None:
        return raw
    return raw[:-1].rstrip() + b",\n  " + match.group(1).rstrip(b",") + b"\n}"


# Raw JSON tokens that json.dumps cannot write on its own.
_JSON_TOKENS = {
    "nan": "NaN",
    "inf": "Infinity",
    "minus-inf": "-Infinity",
    "int-huge": "1" + "0" * 400,
    "float-overflow": "1e400",
    "float-tiny": "1e-400",
    "minus-zero": "-0.0",
    "lone-surrogate": '"\\ud800"',
    "deep-list": _deep_text(2_000, flow_list=True),
    "deep-map": _deep_text(2_000, flow_list=False),
    "number-string": '"12"',
    "version-newline": '"v0002\\n"',
    "version-arabic-digits": '"v\\u0660\\u0660\\u0660\\u0662"',
}


def _json_value_shapes(document: dict[str, Any], *, per_path: bool) -> Iterator[Shape]:
    for path in paths(document):
        label = _label(path)
        marked = json.dumps(_replace(document, path, "MLPROD_FUZZ_MARKER"), indent=2)
        for name, token in _JSON_TOKENS.items():
            yield Shape(f"{label}={name}", marked.replace('"MLPROD_FUZZ_MARKER"', token).encode())
        if not per_path:
            continue
        for name, odd in ODD_VALUES.items():
            yield Shape(f"{label}={name}", json.dumps(_replace(document, path, odd)).encode())
        value = _get(document, path)
        for name, wrapped in (("as-list", [value]), ("as-map", {"value": value})):
            yield Shape(f"{label}={name}", json.dumps(_replace(document, path, wrapped)).encode())
        yield Shape(f"{label}=deleted", json.dumps(_delete(document, path)).encode())
        added = _add_beside(document, path)
        if added is not None:
            yield Shape(f"{label}=unknown-sibling", json.dumps(added).encode())


# --------------------------------------------------------------------------- JSON Lines


def jsonl_shapes(lines: list[Any]) -> list[Shape]:
    """Shapes of a JSON-Lines file made of the good records ``lines`` (at least two)."""
    good = [json.dumps(line).encode() for line in lines]
    body = b"\n".join(good) + b"\n"
    middle = len(good) // 2

    def with_line(bad: bytes) -> bytes:
        return b"\n".join([*good[:middle], bad, *good[middle:]]) + b"\n"

    first = lines[0]
    shapes = [
        Shape("file/empty", b""),
        Shape("file/blank-lines", b"\n\n" + body + b"\n\n"),
        Shape("file/cr-only", body.replace(b"\n", b"\r")),
        Shape("file/crlf", body.replace(b"\n", b"\r\n")),
        Shape("file/no-final-newline", body.rstrip(b"\n")),
        Shape("file/bom", b"\xef\xbb\xbf" + body),
        Shape("file/utf16", body.decode().encode("utf-16")),
        Shape("file/nul-byte", body[: len(body) // 2] + b"\0" + body[len(body) // 2 :]),
        Shape("file/truncated-last", body[:-10]),
        Shape("file/glued-records", body.rstrip(b"\n")[: len(good[0]) // 2] + body),
        Shape("line/not-json", with_line(b"this is not json")),
        Shape("line/invalid-utf8", with_line(b'{"a": "\xff"}')),
        Shape("line/null", with_line(b"null")),
        Shape("line/number", with_line(b"42")),
        Shape("line/list", with_line(b"[1, 2]")),
        Shape("line/empty-object", with_line(b"{}")),
        Shape("line/deep", with_line(_deep_text(100_000, flow_list=True).encode())),
        Shape("line/deep-map", with_line(_deep_text(100_000, flow_list=False).encode())),
        Shape("line/50mb", with_line(b'{"pad": "' + b"x" * (50 * 1024 * 1024) + b'"}')),
        Shape("line/nan", with_line(json.dumps(first).encode().replace(b"{", b'{"nan": NaN, ', 1))),
        Shape("line/lone-surrogate-key", with_line(b'{"\\ud800": 1}')),
    ]
    if isinstance(first, dict):
        for path in paths(first):
            label = _label(path)
            marked = json.dumps(_replace(first, path, "MLPROD_FUZZ_MARKER"))
            for name, token in _JSON_TOKENS.items():
                bad = marked.replace('"MLPROD_FUZZ_MARKER"', token).encode()
                shapes.append(Shape(f"line/{label}={name}", with_line(bad)))
            for name, odd in ODD_VALUES.items():
                shapes.append(
                    Shape(
                        f"line/{label}={name}",
                        with_line(json.dumps(_replace(first, path, odd)).encode()),
                    )
                )
            shapes.append(
                Shape(f"line/{label}=deleted", with_line(json.dumps(_delete(first, path)).encode()))
            )
    return shapes
