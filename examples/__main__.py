"""``python -m examples install``: what the end-to-end tests run beside the project's own
environment: the Node GraphQL candidate's packages (`examples.graphql_pair`) and an
older httpbin release in an environment of its own (`examples.httpbin_release`).
The README's set-up command runs it; running it again installs only what is missing."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv != ["install"]:
        print("usage: python -m examples install", file=sys.stderr)
        return 2
    from examples import graphql_pair, httpbin_release
    from examples.graphql_pair.__main__ import main as install_graphql_pair

    code = 0 if graphql_pair.installed() else install_graphql_pair(["install"])
    return code or httpbin_release.install()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
