"""Each package's public API is what its __all__ exports, and every name there exists.

Every module of the four packages is checked, found by walking them, so a new module
cannot be left out. No two public things share a name unless one is the other (a
package's `__init__` exporting what its module defines)."""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import pytest

PACKAGES = ["parity", "recorder", "gateway", "replayer"]


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        names.append(package)
        root = importlib.import_module(package)
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
            if not info.name.endswith("__main__"):
                names.append(info.name)
    return sorted(names)


MODULES = _modules()


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_and_are_public(name) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__: say what it offers"
    assert len(exported) == len(set(exported))
    for member in exported:
        assert hasattr(module, member), f"{name}.__all__ names {member}, which is missing"
        assert not member.startswith("_") or member == "__version__"


def test_no_two_public_things_share_a_name() -> None:
    owners: dict[str, set[int]] = defaultdict(set)
    where: dict[str, list[str]] = defaultdict(list)
    for name in MODULES:
        module = importlib.import_module(name)
        for member in getattr(module, "__all__", ()):
            value = getattr(module, member)
            if isinstance(value, int | float | str | tuple | frozenset) or member == "__version__":
                continue  # constants: equal values under one name are one thing
            owners[member].add(id(value))
            where[member].append(name)
    shared = {member: where[member] for member, ids in owners.items() if len(ids) > 1}
    assert shared == {}
