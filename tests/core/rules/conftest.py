from __future__ import annotations

from pathlib import Path

import pytest

LABELS = ["melanoma", "nevus", "seborrheic_keratosis"]
FIELDS = {"anatomic_site": "string", "age": "number", "sex": "string", "evolving": "bool"}


@pytest.fixture
def write_rules(tmp_path: Path):
    def write(text: str, name: str = "rules.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
