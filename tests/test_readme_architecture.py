"""The README's architecture section names every module of the four packages, and only
modules that exist: checked against the tree, so the picture cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("parity", "recorder", "gateway", "replayer")
#: A line of the picture: indentation, a name (a folder ends in /), then what it is.
_ENTRY = re.compile(r"^(?P<indent> *)(?P<name>[\w.]+/|[\w.]+\.py)(?:\s|$)")


def pictured() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Architecture", 1)[1].split("\n## ", 1)[0]
    block = section.split("```", 2)[1]
    stack: list[tuple[int, str]] = []
    named: set[str] = set()
    for line in block.splitlines():
        match = _ENTRY.match(line)
        if match is None:
            continue
        indent, name = len(match["indent"]), match["name"]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = "".join(folder for _, folder in stack) + name
        if name.endswith("/"):
            stack.append((indent, name))
        if path.split("/", 1)[0] in PACKAGES:
            named.add(path.rstrip("/"))
    return named


def in_tree() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT)
            if path.name in ("__init__.py", "__main__.py"):
                found.add(relative.parent.as_posix())
            else:
                found.add(relative.as_posix())
    return found


def test_the_architecture_section_names_every_module_and_nothing_else() -> None:
    named, real = pictured(), in_tree()
    assert sorted(real - named) == [], "modules missing from the README's architecture"
    assert sorted(named - real) == [], "the README's architecture names what is not there"
