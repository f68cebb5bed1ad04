"""Snapshot to stored exchange: what a writer does with each exchange it takes.

The addon builds one `Preparer` from its options and gives it to its writer, a
thread (`recorder.writer`) or a process (`recorder.process`), which runs it off
the proxy's event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from parity.proxy.convert import BodyLimits, Snapshot, to_exchange
from parity.sanitize.engine import Sanitiser
from parity.sanitize.pseudonym import Pseudonymiser
from parity.traffic.endpoint import DEFAULT_RULES, EndpointRules
from parity.traffic.exchange import Exchange
from recorder.sanitize import SanitisingFunction

__all__ = ["Preparer"]


@dataclass(frozen=True, slots=True)
class Preparer:
    """Snapshot to stored exchange: conversion, then sanitising.

    Picklable, so the writer process works with exactly the settings the addon
    was configured with; a custom sanitiser must be a module-level function.
    """

    recorder_id: str
    limits: BodyLimits = field(default_factory=BodyLimits)
    correlation_names: tuple[str, ...] = ()
    rules: EndpointRules = DEFAULT_RULES
    #: The default policy without a key: everything sensitive redacted.
    sanitizer: SanitisingFunction = field(default_factory=lambda: Sanitiser(Pseudonymiser(None)))

    def __call__(self, item: Snapshot) -> Exchange:
        exchange = to_exchange(
            item,
            self.recorder_id,
            self.limits,
            correlation_names=self.correlation_names,
            rules=self.rules,
        )
        return self.sanitizer(exchange)
