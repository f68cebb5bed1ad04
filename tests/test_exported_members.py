"""Each package's public API is what its __all__ exports, and every name there exists."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "parity",
    "parity.errors",
    "parity.exchange",
    "parity.segments",
    "parity.store",
    "parity.s3",
    "parity.endpoint",
    "parity.timerange",
    "parity.inventory",
    "parity.config",
    "parity.compare",
    "parity.jsonpath",
    "parity.decode",
    "parity.detectors",
    "parity.pseudonym",
    "parity.sanitize",
    "parity.findings",
    "parity.policy",
    "parity.scan",
    "parity.mask",
    "parity.jsonedit",
    "parity.http1",
    "parity.noise",
    "parity.routes",
    "parity.promotion",
    "parity.har",
    "parity.cassette",
    "parity.interop",
    "parity.importing",
    "recorder",
    "recorder.addon",
    "recorder.convert",
    "recorder.sampling",
    "recorder.sanitize",
    "recorder.writer",
    "recorder.flowfile",
    "recorder.shadow",
    "recorder.scoreboard",
    "recorder.worker",
    "replayer",
    "replayer.certify",
    "replayer.hooks",
    "replayer.items",
    "replayer.plugin",
    "replayer.rewrite",
    "replayer.report",
    "replayer.run",
    "replayer.selection",
    "replayer.settings",
    "replayer.target",
    "replayer.wire",
    "replayer.inprocess",
    "replayer.prefetch",
    "replayer.hermetic",
    "replayer.learn",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_and_are_public(name) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert len(exported) == len(set(exported))
    for member in exported:
        assert hasattr(module, member), f"{name}.__all__ names {member}, which is missing"
        assert not member.startswith("_") or member == "__version__"


def test_the_replayer_does_not_need_mitmproxy_or_the_recorder() -> None:
    import ast
    import pathlib

    root = pathlib.Path(__file__).parent.parent
    for package, forbidden in (
        ("replayer", {"recorder", "mitmproxy"}),
        ("parity", {"recorder", "replayer", "mitmproxy"}),
    ):
        for path in (root / package).rglob("*.py"):
            if package == "parity" and path.name == "cli.py":
                continue  # the composition root may wire everything
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for imported in names:
                    assert imported.split(".")[0] not in forbidden, f"{path} imports {imported}"
