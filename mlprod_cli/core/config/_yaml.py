"""Reading ``mlprod.yaml``: YAML as the schema can mean it, every value with its line.

PyYAML's node API keeps the line of every value; this module turns the nodes
into plain Python values itself instead of letting PyYAML's constructor do it,
because the constructor's failures are tracebacks (``could not determine a
constructor for the tag``, ``day is out of range for month``) where a person
needs the line and the key. What the file may hold:

- mappings with string keys, lists, strings, whole numbers, numbers, true/false
  and null, written plainly or with the core tags (``!!str``, ``!!int``,
  ``!!float``, ``!!bool``, ``!!null``). A core tag with a value it cannot mean
  (``!!int abc``) is an error on its line. Every other tag (``!!binary``,
  ``!!set``, ``!!python/object…``, a custom ``!tag``) is refused: nothing in the
  schema is one.
- an unquoted date (``cutoff: 2024-07-01``) is the text as written, the same as
  the quoted ``"2024-07-01"``: people write dates that way, and whether the date
  exists (``2024-02-30``) is for the key that wants a date to say.
- merge keys (``<<: *defaults``), as YAML 1.1 defines them: the mapping's own
  keys win over merged ones, and of several merged mappings the first wins.
  They are the usual way to share a block (thresholds of several skew
  features) and PyYAML's own loader accepts them, so refusing them would turn a
  file that is valid YAML in every other tool into an error. A key given twice
  in the same mapping is still an error, merge keys included.
- aliases, expanded, up to :data:`MAX_VALUES` values in all ("billion laughs").
- UTF-8 text (a byte-order mark is allowed) without NUL characters or lone
  surrogates, in a regular file of at most :data:`MAX_BYTES` (a FIFO, a device,
  a directory or a dangling link is named as such, never waited on).
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from mlprod_cli.core.config._model import config_error
from mlprod_cli.errors import ConfigError

#: No real mlprod.yaml comes near this many values; a file that does is an attack or an accident.
MAX_VALUES = 100_000
#: A real mlprod.yaml is a few kilobytes.
MAX_BYTES = 1 << 20

_CORE = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP = (
    _CORE + name for name in ("str", "int", "float", "bool", "null", "timestamp")
)
_MAP, _SEQ, _MERGE = _CORE + "map", _CORE + "seq", _CORE + "merge"
# Plain scalars PyYAML's resolver gives a tag of their own: a lone "=" (!!value) and a
# "<<" that is not a key (!!merge) are the text written, like a date.
_TEXT = (_STR, _TIMESTAMP, _CORE + "value", _MERGE)


def read_yaml(path: Path) -> tuple[Any, dict[str, int]]:
    """Parse ``path`` into plain Python values plus ``{dotted.key: line}``.

    Raise ConfigError naming the file, the line and the key for anything the
    schema cannot mean (see the module's docstring).
    """
    from mlprod_cli.adapters.files import read_small_file

    try:
        data = read_small_file(path, MAX_BYTES)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return read_yaml_bytes(path, data)


def read_yaml_bytes(path: Path, data: bytes) -> tuple[Any, dict[str, int]]:
    """:func:`read_yaml` on bytes already read (``path`` names them in errors)."""
    import yaml

    text = _decode(path, data)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            line = f":{mark.line + 1}"
        elif isinstance(getattr(exc, "position", None), int):  # the reader's errors
            line = f":{text.count(chr(10), 0, exc.position) + 1}"
        else:
            line = ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path.name}{line}: not valid YAML: {problem}") from None
    except RecursionError:  # PyYAML's composer recurses once per level of nesting
        raise ConfigError(f"{path.name}: nested too deeply") from None
    builder = _Builder(path, yaml)
    if node is None:
        return None, builder.lines
    try:
        return builder.build(node, ""), builder.lines
    except RecursionError:
        raise ConfigError(f"{path.name}: nested too deeply") from None


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ConfigError(f"{path.name}: UTF-16 text; save it as UTF-8")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path.name}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as UTF-8"
        ) from None
    if "\0" in text:
        line = text.count("\n", 0, text.index("\0")) + 1
        raise ConfigError(f"{path.name}:{line}: a NUL character; this is not a text file")
    return text


def _tag(tag: str) -> str:
    """``tag:yaml.org,2002:binary`` as it is written: ``!!binary``."""
    return "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag


def join_key(key: str, name: str) -> str:
    """``key.name``; a name with blanks, line breaks or control characters is quoted."""
    shown = name if name and name.isprintable() and name.strip() == name else repr(name)
    return f"{key}.{shown}" if key else shown


class _Builder:
    """Plain values from the composed nodes, refusing what the schema cannot mean."""

    def __init__(self, path: Path, yaml: Any):
        self.path = path
        self.yaml = yaml
        self.lines: dict[str, int] = {}
        self.visited = 0
        self.constructor = yaml.SafeLoader("")  # the core scalars' own constructors
        self.merged: dict[int, list[tuple[str, Any, Any]]] = {}
        self.merging: set[int] = set()

    def fail(self, node: Any, key: str, message: str) -> ConfigError:
        return config_error(self.path, node.start_mark.line + 1, key, message)

    def build(self, node: Any, key: str) -> Any:
        # Aliases (*name) are expanded: nested ones grow exponentially ("billion laughs").
        self.visited += 1
        if self.visited > MAX_VALUES:
            raise ConfigError(
                f"{self.path.name}: more than {MAX_VALUES:,} values once its aliases (*name) "
                "are expanded"
            )
        self.lines.setdefault(key, node.start_mark.line + 1)
        if isinstance(node, self.yaml.MappingNode):
            out: dict[str, Any] = {}
            for name, k_node, v_node in self.pairs(node, key):
                sub = join_key(key, name)
                self.lines[sub] = k_node.start_mark.line + 1
                out[name] = self.build(v_node, sub)
            return out
        if isinstance(node, self.yaml.SequenceNode):
            if node.tag != _SEQ:
                raise self.refuse(node, key)
            return [self.build(item, f"{key}[{i}]") for i, item in enumerate(node.value)]
        return self.scalar(node, key)

    def refuse(self, node: Any, key: str) -> ConfigError:
        return self.fail(
            node,
            key,
            f"the tag {_tag(node.tag)} is not allowed here (mlprod.yaml holds strings, "
            "numbers, true/false, lists and mappings)",
        )

    def pairs(self, node: Any, key: str) -> list[tuple[str, Any, Any]]:
        """``(name, key node, value node)`` of a mapping, its merge keys (``<<``) applied.

        Memoised per node: a mapping merged into many others is flattened once, so
        merges of merges stay as small as their distinct keys.
        """
        if node.tag != _MAP:
            raise self.refuse(node, key)
        done = self.merged.get(id(node))
        if done is not None:
            return done
        if id(node) in self.merging:
            raise self.fail(node, key, "'<<' merges a mapping into itself")
        self.merging.add(id(node))
        merged: dict[str, tuple[Any, Any]] = {}
        own: dict[str, tuple[Any, Any]] = {}
        for k_node, v_node in node.value:
            if k_node.tag == _MERGE:
                if "<<" in own:
                    raise self.fail(k_node, join_key(key, "<<"), "duplicate key")
                own["<<"] = (k_node, v_node)
                for source in self.merge_sources(v_node, join_key(key, "<<")):
                    for name, kn, vn in self.pairs(source, key):
                        merged.setdefault(name, (kn, vn))  # of several, the first wins
                continue
            name = self.key(k_node, key)
            if name in own:
                raise self.fail(k_node, join_key(key, name), "duplicate key")
            own[name] = (k_node, v_node)
        own.pop("<<", None)
        result = [(n, kn, vn) for n, (kn, vn) in merged.items() if n not in own]
        result += [(n, kn, vn) for n, (kn, vn) in own.items()]
        self.merging.discard(id(node))
        self.merged[id(node)] = result
        return result

    def merge_sources(self, node: Any, key: str) -> list[Any]:
        if isinstance(node, self.yaml.MappingNode):
            return [node]
        if isinstance(node, self.yaml.SequenceNode) and all(
            isinstance(item, self.yaml.MappingNode) for item in node.value
        ):
            return list(node.value)
        raise self.fail(node, key, "'<<' merges a mapping or a list of mappings (like *defaults)")

    def key(self, node: Any, parent: str) -> str:
        if not isinstance(node, self.yaml.ScalarNode):
            kind = "a mapping" if isinstance(node, self.yaml.MappingNode) else "a list"
            raise self.fail(node, parent, f"a key must be a string, not {kind}")
        name = self.scalar(node, parent)
        if not isinstance(name, str):
            raise self.fail(node, parent, f"key {name!r} is not a string")
        return name

    def scalar(self, node: Any, key: str) -> Any:
        tag = node.tag
        if tag in _TEXT:
            # A date is the text as written: whether it exists is the key's to check.
            value = node.value
        elif tag in (_INT, _FLOAT, _BOOL, _NULL):
            try:
                value = self.constructor.construct_object(node, deep=True)
            except (self.yaml.YAMLError, ValueError, TypeError, KeyError, OverflowError) as exc:
                reason = str(exc).splitlines()[0] if isinstance(exc, ValueError) else ""
                shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
                raise self.fail(
                    node,
                    key,
                    f"{shown!r} is not a valid {_tag(tag)}" + (f" ({reason})" if reason else ""),
                ) from None
        else:
            raise self.refuse(node, key)
        if isinstance(value, str):
            if "\0" in value:
                raise self.fail(node, key, "contains a NUL character")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise self.fail(node, key, "contains a lone surrogate (\\ud800-\\udfff)") from None
        return value
