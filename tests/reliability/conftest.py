"""Reliability and security tests: every test here carries the ``reliability`` marker.

``pytest -m reliability`` runs them alone; ``-m "reliability and not slow"`` the fast ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.reliability)
