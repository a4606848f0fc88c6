"""``mlprod predict``'s result: how many rows were scored, by which version, into which file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlprod_cli.core.words import plural
from mlprod_cli.render.text import to_json

if TYPE_CHECKING:
    from mlprod_cli.core.predict import PredictResult

__all__ = ["render"]


def render(result: PredictResult, fmt: str) -> str:
    """One summary line with the count of each predicted class, or the result as JSON."""
    if fmt == "json":
        data = dict(result.__dict__)
        for key in ("rules", "values"):  # absent when None: the summary it always had
            if data.get(key) is None:
                data.pop(key, None)
        return to_json(data)
    shares = ", ".join(f"{k} {v}" for k, v in result.classes.items())
    if result.values is not None:
        v = result.values
        shares = f"values {v['min']:.4g} to {v['max']:.4g}, mean {v['mean']:.4g}"
    line = (
        f"wrote {plural(result.rows, 'prediction')} of {result.version} to {result.output} "
        f"in {result.seconds:.2f} s ({shares})"
    )
    if result.rules is None:
        return line
    return f"{line}\n{rules_line(result.rules)}"


def rules_line(rules: dict) -> str:
    """``rules rules.yaml (sha256 1a2b…): a fired on 3 rows, b on none; 1 abstained``."""
    fired = ", ".join(
        f"{rule_id} on {plural(n, 'row') if n else 'none'}" for rule_id, n in rules["fired"].items()
    )
    source = " (the project's file, --rules-from-file)" if rules.get("from_file") else ""
    return (
        f"rules {rules['file']}{source} (sha256 {rules['sha256'][:12]}): "
        f"fired {fired or 'no rule'}; {plural(rules['abstained'], 'row')} abstained"
    )
