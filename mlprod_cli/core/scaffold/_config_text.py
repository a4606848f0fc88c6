"""``mlprod.yaml`` written for a project made from data, every decision commented with its reason.

The text is assembled here, not dumped by PyYAML, because the comments are the
point: a person reads why the split is by time, why a column is excluded and
where each gate's number came from, beside the value, and changes what they
disagree with. :func:`config_text` is deterministic (the same plan and
measurement give the same bytes), so a test can compare the sample project's
file with a fresh run of the same path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from mlprod_cli.core.profile import Plan
from mlprod_cli.core.scaffold._gates import Proposal

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ./@-]*$")
_RESERVED = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}
COMMENT_COLUMN = 40


def scalar(value: Any) -> str:
    """A YAML scalar that reads back as exactly ``value`` (quoted only when it must be)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and text == text.strip():
        return text
    return json.dumps(text, ensure_ascii=False)


def flow(items: list[Any]) -> str:
    return "[" + ", ".join(scalar(i) for i in items) + "]"


def _line(text: str, comment: str = "") -> str:
    if not comment:
        return text
    pad = max(COMMENT_COLUMN - len(text), 2)
    return f"{text}{' ' * pad}# {comment}"


def _wrap(comment: str, indent: str, width: int = 96) -> list[str]:
    """A long comment as ``# …`` lines at ``indent``."""
    words, lines, line = comment.split(), [], ""
    for word in words:
        if line and len(indent) + 2 + len(line) + 1 + len(word) > width:
            lines.append(f"{indent}# {line}")
            line = word
        else:
            line = f"{line} {word}".strip()
    if line:
        lines.append(f"{indent}# {line}")
    return lines


def _tuned(plan: Plan) -> str:
    """The first model's tuned parameter (the step names of the template's model.py)."""
    if plan.task != "regression":
        return "    classifier__C: [0.1, 0.3, 1.0, 3.0, 10.0]"
    # RidgeCV picks its penalty itself: what is left to choose is how flexible the features are.
    if plan.numeric:
        return "    features__numeric__shape__spline__n_knots: [3, 5, 8]"
    return "    features__categorical__onehot__max_categories: [10, 20, 40]"


@dataclass(frozen=True)
class DataSource:
    """Where the project's data is and what was seen of it."""

    train: str  # as written in mlprod.yaml: data/FILE, or an absolute path (--data-link)
    sha256: str
    rows: int
    columns: int
    origin: str  # the file the user named, or "the bundled sample"
    linked: bool = False


def config_text(
    *,
    project: str,
    package: str,
    plan: Plan,
    source: DataSource,
    proposal: Proposal | None,
    command: str,
    rules: str | None = None,
) -> str:
    """The whole ``mlprod.yaml`` for ``plan``, with gates from ``proposal`` (None: not measured)."""
    out: list[str] = [
        "# The project contract: mlprod reads this file, the project's code does the rest.",
        f"# Written by `{command}` from the data's profile;",
        "# each decision says why. Change what you disagree with; `mlprod check` validates it.",
        "# Dotted paths (module:attribute) point into src/; paths are relative to this file.",
        f"project: {scalar(project)}",
        _line(f"task: {plan.task}", plan.reasons.get("task", "")),
        "data:",
        _line(
            f"  train: {scalar(source.train)}",
            f"{source.rows:,} rows, {source.columns} columns, sha256 {source.sha256[:12]}"
            + (" (linked, not copied)" if source.linked else ""),
        ),
        _line(f"  loader: {package}.data:load", "callable(path) -> pandas.DataFrame"),
    ]
    out += _wrap(plan.reasons.get("split", ""), "  ")
    split = plan.split
    if split["by"] == "time":
        out.append(
            f"  split: {{by: time, column: {scalar(split['column'])}, cutoff: {json.dumps(split['cutoff'])}}}"
        )
    else:
        out.append(
            f"  split: {{by: random, test_size: {split['test_size']}, seed: {split['seed']}}}"
        )
    if plan.task == "regression":
        about = "the number to predict"
    else:
        about = ", ".join(
            f"{c} {100 * n / max(plan.rows, 1):.1f} %" for c, n in plan.class_counts.items()
        )
    out.append(_line(f"  target: {scalar(plan.target)}", about))
    if plan.positive_class is not None:
        out += _wrap(plan.reasons.get("positive_class", ""), "  ")
        out.append(f"  positive_class: {scalar(plan.positive_class)}")
    if plan.excluded:
        out.append("  exclude:                              # never given to the model")
        for column, why in plan.excluded.items():
            out.append(_line(f"    - {scalar(column)}", why))
    out.append("features:                               # the columns the model sees, by kind")
    out.append(f"  numeric: {flow(plan.numeric)}")
    out.append(f"  categorical: {flow(plan.categorical)}")
    out += [
        _line(f"model: {package}.model:build", "zero-arg callable -> unfitted sklearn estimator"),
        _line(f"baseline: {package}.baseline:build", "readable rules learned from the data"),
        "metrics:",
        f"  module: {package}.metrics",
    ]
    out += _wrap(plan.reasons.get("objective", ""), "  ")
    out.append(f"  objective: {scalar(plan.objective)}")
    out += _metric_gates(plan, proposal)
    out += [
        "tune:",
        "  search: grid                          # grid | random",
        "  cv: 5",
        "  params:",
        _tuned(plan),
        "store: sqlite:///.mlprod/metrics.db",
        "registry: models/",
        "skew:",
        "  serving_log: logs/requests/",
        "serve: {host: 127.0.0.1, port: 8000}",
    ]
    if rules is not None:
        out.append(_line(f"rules: {scalar(rules)}", "applied after the model; mlprod rules test"))
    return "\n".join(out) + "\n"


def _metric_gates(plan: Plan, proposal: Proposal | None) -> list[str]:
    out: list[str] = []
    objective = scalar(plan.objective)
    if proposal is None:
        out += _wrap(
            "No gates on the numbers yet: nothing was measured when the project was made "
            "(no virtualenv). Run `mlprod train`, read the validation figures and set "
            "gates: [{metric: ..., min: ...}] here.",
            "  ",
        )
        out.append(f"  beat_baseline: [{objective}]")
    else:
        out += _wrap(proposal.headline + " Each gate sits a stated margin below the model:", "  ")
        if proposal.gates:
            out.append("  gates:")
            for item in proposal.gates:
                gate = ", ".join(f"{k}: {scalar(v)}" for k, v in item.gate.items())
                out.append(_line(f"    - {{{gate}}}", item.comment))
        out.append(_line(f"  beat_baseline: {flow(proposal.beat_baseline)}", proposal.beat_comment))
        regression = ", ".join(f"{scalar(k)}: {v}" for k, v in proposal.max_regression.items())
        out.append(_line(f"  max_regression: {{{regression}}}", "against the active model"))
    if plan.slices:
        out.append(
            _line(f"  slices: {flow(plan.slices)}", "the report and the gap gate, per value")
        )
        if proposal is not None and proposal.max_slice_gap is not None:
            bound, why = proposal.max_slice_gap
            out.append(_line(f"  max_slice_gap: {{{objective}: {bound}}}", why))
    elif plan.suggested_slices:
        out += _wrap(
            "Slices to consider (a few values each, where a bias would show): "
            + ", ".join(plan.suggested_slices)
            + f". To check them: slices: {flow(plan.suggested_slices)}",
            "  ",
        )
    return out
