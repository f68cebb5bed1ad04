"""One way to load a project: its configuration file, and from it the comparison rules,
the noise settings, the sanitising policy and how endpoints are named, each checked
once, each error naming the file and table it is in.

The replayer, the gateway, its judge process and the recorder all read a
project this way, so a bad ``[compare]`` table is refused in the same words
wherever it is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from parity.compare.evidence import NoiseSettings
from parity.compare.rules import RuleSet
from parity.config import ParityConfig, find_config, load_config
from parity.errors import UsageError
from parity.sanitize.policy import Policy
from parity.traffic.endpoint import DEFAULT_RULES, EndpointRules

__all__ = ["Project", "endpoint_naming", "load_project"]


@dataclass(frozen=True, slots=True)
class Project:
    """A project's settings, read and checked."""

    config: ParityConfig
    rules: RuleSet
    noise: NoiseSettings
    policy: Policy
    #: How requests are named as endpoints: which paths serve GraphQL.
    naming: EndpointRules


def load_project(
    given: str | os.PathLike[str] | None = None,
    start: Path | None = None,
    *,
    option: str = "the config file",
) -> Project:
    """The project in the file `given` (a parity.toml or pyproject.toml; `option` names
    where it was given, for errors), or found from `start` (the working directory)
    upwards when none is given; defaults without one."""
    if given:
        path = Path(given)
        if not path.is_file():
            raise UsageError(
                f"{option} {str(given)!r} is not a file; name a parity.toml or pyproject.toml"
            )
    else:
        path = find_config(start or Path.cwd())  # type: ignore[assignment]
    config = load_config(path)
    return Project(
        config,
        RuleSet.from_config(config.compare or {}, config.where("compare")),
        NoiseSettings.from_config(config.noise or {}, config.where("noise")),
        Policy.of(config),
        endpoint_naming(config),
    )


def endpoint_naming(config: ParityConfig) -> EndpointRules:
    """Which paths serve GraphQL, from ``graphql_paths`` in ``[replay]`` (default
    ``/graphql``): what endpoint identity and the safety check read as GraphQL."""
    paths = config.replay_value("graphql_paths")
    return DEFAULT_RULES if paths is None else EndpointRules(graphql_paths=tuple(paths))
