"""``mlprod distill``'s result: teacher, distilled students and controls side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlprod_cli.render.grid import UNDEFINED
from mlprod_cli.render.text import human_bytes, number, table, to_json

if TYPE_CHECKING:
    from mlprod_cli.core.distill import DistillResult, Scorecard

__all__ = ["render"]


def _card_json(card: Scorecard, front: list[str]) -> dict[str, Any]:
    return {
        "role": card.role,
        "name": card.name,
        "student": card.kind,
        "knob": card.knob,
        **card.figures(),
        "slices": card.slices,
        "over_budget": card.budget_misses,
        **({"on_front": card.name in front} if card.role == "distilled" else {}),
    }


def _row(card: Scorecard, result: DistillResult) -> tuple[str, ...]:
    mark = ""
    if card.role == "distilled":
        on_front = card.name in result.front
        mark = "*" if card is result.chosen and on_front else ("front" if on_front else "")
    return (
        mark,
        card.role,
        card.name,
        human_bytes(card.cost.size_bytes),
        f"{card.cost.p50_ms:.2f}",
        f"{card.cost.p99_ms:.2f}",
        f"{card.cost.bulk_us_per_row:.1f}",
        number(card.objective) if card.objective is not None else UNDEFINED,
        f"{card.gates_passed}/{card.gates}",
        number(card.agreement) if card.agreement is not None else UNDEFINED,
        ", ".join(card.budget_misses) or ("—" if result.budget is None else "within"),
    )


def render(result: DistillResult, fmt: str) -> str:
    cards = [result.teacher] + [card for pair in result.pairs for card in pair]
    registered = result.registered.id if result.registered is not None else None
    if fmt == "json":
        return to_json(
            {
                "objective": result.objective,
                "tolerance": result.tolerance,
                "budget": result.budget.text if result.budget else None,
                "training_rows": result.training_rows,
                "unlabelled_rows": result.unlabelled_rows,
                "unlabelled_files": result.unlabelled_files,
                "models": [_card_json(card, result.front) for card in cards],
                "front": result.front,
                "chosen": result.chosen.name if result.chosen else None,
                "registered": registered,
                "not_registered_because": result.reason or None,
            }
        )
    headers = ["", "role", "model", "size", "p50 ms", "p99 ms", "bulk µs/row",
               result.objective, "gates", "agrees", "budget"]  # fmt: skip
    title = (
        f"on the test split; students learn the teacher over {result.training_rows:,} training rows"
        + (f" and {result.unlabelled_rows:,} unlabelled" if result.unlabelled_rows else "")
    )
    text = table(
        headers, [_row(card, result) for card in cards], title=title, right=(3, 4, 5, 6, 7, 9)
    )
    text += _slices(cards, result)
    if registered and result.reason:
        text += f"\nregistered {registered} anyway (--register-anyway): {result.reason}"
    elif registered:
        text += (
            f"\nregistered {registered}: {result.chosen.name}, distilled from {result.teacher.name.split()[-1]}"
            f"\nnext: mlprod models activate {registered}"
        )
    else:
        text += f"\nnot registered: {result.reason}"
    return text


def _slices(cards: list[Scorecard], result: DistillResult) -> str:
    """The objective per slice for the teacher and the chosen pair: where the student loses."""
    chosen = result.chosen
    if chosen is None or not chosen.slices:
        return ""
    control = next(c for d, c in result.pairs if d is chosen)
    rows = []
    for column, groups in chosen.slices.items():
        for value, score in groups.items():
            teacher = result.teacher.slices.get(column, {}).get(value)
            rows.append(
                (f"{column}={value}", number(teacher) if teacher is not None else UNDEFINED,
                 number(score) if score is not None else UNDEFINED,
                 number(control.slices[column][value]) if control.slices[column][value] is not None else UNDEFINED,
                 number(score - teacher) if score is not None and teacher is not None else UNDEFINED)
            )  # fmt: skip
    return "\n" + table(
        ["slice", "teacher", "distilled", "control", "distilled − teacher"],
        rows,
        title=f"{result.objective} per slice ({chosen.name})",
        right=(1, 2, 3, 4),
    )
