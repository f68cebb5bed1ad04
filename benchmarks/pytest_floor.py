"""pytest's own cost per item: a plugin that collects N trivial items, for comparison.

    cd "$(mktemp -d)" && PARITY_FLOOR_ITEMS=100000 PYTHONPATH=/path/to/parity \\
        /usr/bin/time -v python -m pytest -p benchmarks.pytest_floor -q \\
        -p no:cacheprovider -p no:randomly -p no:hypothesispytest

Each item is a custom `pytest.Item` whose test does nothing, collected the way
replay items are (added to the session's items), so time and peak memory are
pytest's floor for that many items: what no replay plugin can go below while
keeping one item per exchange (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

__all__ = ["TrivialItem"]


class TrivialItem(pytest.Item):
    """An item that passes at once."""

    def runtest(self) -> None:
        pass

    def reportinfo(self) -> tuple[Any, int, str]:
        return self.path, 0, self.name


def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    count = int(os.environ.get("PARITY_FLOOR_ITEMS", "0"))
    items.extend(
        TrivialItem.from_parent(session, name=f"floor/{i}", nodeid=f"floor/{i}")
        for i in range(count)
    )
