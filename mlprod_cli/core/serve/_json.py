"""Values as they come from clients and go back out: how a JSON value is named
in an error (:func:`describe`), what UTF-8 cannot hold made writable
(:func:`json_safe`, :func:`without_surrogates`), and the timestamps written
(:func:`utc_now`).

A client may send anything JSON allows, and some of it (NaN, a lone surrogate
escape such as ``"\\ud800"``) cannot be written back as JSON in UTF-8; the
answers, the request log and the metrics all go through here for that.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

# A lone surrogate: JSON may escape one ("\ud800"), UTF-8 cannot hold it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def describe(value: Any) -> str:
    """``value`` named for an error message: its kind, and the value when it is short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, int) and not -(10**40) < value < 10**40:
        return f"a number of {len(str(abs(value)))} digits"
    return repr(value)


def without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, so that it encodes as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)


def json_safe(value: Any) -> Any:
    """``value`` with what JSON in UTF-8 cannot hold replaced: NaN and ±Infinity by null,
    lone surrogates in text (valid JSON escapes, not Unicode) by U+FFFD.

    Recursive: what reaches it is nested ``MAX_FIELD_DEPTH`` levels at most.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return without_surrogates(value)
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def utc_now() -> str:
    """Now as written in answers and log lines: UTC, ISO 8601, milliseconds, ``Z``."""
    now = dt.datetime.now(dt.timezone.utc)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
