"""Sanitising in the recorder: the policy and key it records with.

The engine is `parity.sanitize` (the replayer puts candidates' answers
through the same one); this module builds the recorder's sanitiser from the
project's policy (``[tool.parity.sanitize]``, see `parity.sanitize.policy`) and the
key in the environment variable the policy names, and says once, at start,
what it will do with personal data.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from parity.project import load_project
from parity.sanitize.engine import Sanitiser
from parity.sanitize.policy import Policy
from parity.traffic.exchange import Exchange

__all__ = ["SanitisingFunction", "describe", "load_policy", "make_sanitizer", "unsanitised"]

SanitisingFunction = Callable[[Exchange], Exchange]


def unsanitised(exchange: Exchange) -> Exchange:
    """The exchange as it is: sanitising turned off (``parity_sanitize=off``), for tests only."""
    return exchange


def load_policy(config: str) -> Policy:
    """The policy in `config` (a parity.toml or pyproject.toml), or found from the working
    directory upwards when `config` is empty; the default policy when there is none."""
    return load_project(config, option="parity_config").policy


def make_sanitizer(policy: Policy, environ: Mapping[str, str] = os.environ) -> Sanitiser:
    """The recorder's sanitiser: `policy`, keyed by the variable it names (if it is set)."""
    return Sanitiser.keyed_by(policy, environ)


def describe(sanitiser: Sanitiser) -> str:
    """One line for the recorder's start: the policy, and whether personal data is
    pseudonymised (with a key, named by fingerprint) or redacted (without)."""
    policy = sanitiser.policy
    rules = f"{len(policy.rules)} rule(s)" if policy.rules else "the default rules"
    if sanitiser.pseudonymiser.keyed:
        return (
            f"sanitising with {rules} ({policy.mode.value}); personal data is pseudonymised "
            f"with the key in ${policy.key_env} ({sanitiser.pseudonymiser.fingerprint})"
        )
    return (
        f"sanitising with {rules} ({policy.mode.value}); ${policy.key_env} is not set, so "
        "personal data is redacted, not pseudonymised: set it to a secret to keep the "
        "relations between requests (docs/SANITISING.md)"
    )
