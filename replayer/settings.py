"""A replay run's settings: command line over pytest ini over Parity's config file.

Each setting can be given three ways, and the first that is set wins:
``--replay-from`` on the command line, ``replay_from`` in pytest's ini
(``[tool.pytest.ini_options]``, ``pytest.ini``), then ``from`` in
``[tool.parity.replay]`` (or ``parity.toml``). Values are checked here, once,
so the rest of the run works with typed settings; a bad value is a
`UsageError` naming the option and what it accepts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from parity.config import ParityConfig, Threshold
from parity.errors import UsageError
from parity.project import endpoint_naming
from parity.traffic.endpoint import DEFAULT_RULES, EndpointRules, matches
from parity.traffic.times import parse_time
from replayer.credentials import NO_CREDENTIALS, Credentials
from replayer.shard import Shard, shard_from

__all__ = ["OPTIONS", "Granularity", "Option", "ReplaySettings", "parse_header", "resolve"]


class Granularity(StrEnum):
    """What one test item of a replay run stands for."""

    #: One item per recorded exchange: -k, --lf and node ids name single exchanges.
    EXCHANGE = "exchange"
    #: One item per endpoint, its exchanges streamed through it: for runs too big to
    #: hold an item per exchange.
    ENDPOINT = "endpoint"


@dataclass(frozen=True, slots=True)
class Option:
    """One setting: its command-line flag, ini name, config key, kind and help."""

    name: str  # the attribute of ReplaySettings
    flag: str
    key: str  # in [tool.parity.replay]
    kind: str  # "str", "int", "float", "bool", "list"
    help: str

    @property
    def ini(self) -> str:
        """The pytest ini name, which is also the flag's argparse destination."""
        return self.flag.removeprefix("--").replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option(
        "store",
        "--replay-from",
        "from",
        "str",
        "the store to replay: a directory, file:///path or s3://bucket/prefix",
    ),
    Option(
        "target",
        "--replay-target",
        "target",
        "str",
        "the candidate: a URL (http://host:port) or an app in-process (module:app, "
        "ASGI or WSGI, detected)",
    ),
    Option(
        "endpoints",
        "--replay-endpoint",
        "endpoints",
        "list",
        "replay only endpoints matching this glob, e.g. 'GET /api/users/*' (repeatable)",
    ),
    Option(
        "since",
        "--replay-since",
        "since",
        "str",
        "only exchanges recorded from this time: ISO 8601 (UTC) or a duration ago (2h, 7d)",
    ),
    Option("until", "--replay-until", "until", "str", "only exchanges recorded before this time"),
    Option(
        "per_endpoint",
        "--replay-per-endpoint",
        "per_endpoint",
        "int",
        "replay at most N exchanges per endpoint, a reproducible sample (see --replay-seed)",
    ),
    Option(
        "seed",
        "--replay-seed",
        "seed",
        "int",
        "the seed of the per-endpoint sample: the same seed picks the same exchanges",
    ),
    Option(
        "concurrency",
        "--replay-concurrency",
        "concurrency",
        "int",
        "requests in flight at once (default 8)",
    ),
    Option(
        "timeout",
        "--replay-timeout",
        "timeout",
        "float",
        "seconds to wait for each answer (default 5)",
    ),
    Option(
        "headers",
        "--replay-header",
        "headers",
        "list",
        "'Name: value' sent with every request, replacing a recorded header of that "
        "name, e.g. test credentials in place of sanitised ones (repeatable)",
    ),
    Option(
        "report",
        "--replay-report",
        "report",
        "str",
        "write certification.json and report.html into this directory",
    ),
    Option(
        "threshold",
        "--replay-threshold",
        "threshold",
        "float",
        "match rate an endpoint needs to be certified, 0 to 1 (default 1.0)",
    ),
    Option(
        "min_samples",
        "--replay-min-samples",
        "min_samples",
        "int",
        "exchanges an endpoint needs to be certified at all (default 1)",
    ),
    Option(
        "unsafe",
        "--replay-unsafe",
        "unsafe",
        "bool",
        "also replay requests that change state (POST, PUT, PATCH, DELETE, GraphQL "
        "mutations); only against a scratch deployment",
    ),
    Option(
        "allow_recorded_host",
        "--replay-allow-recorded-host",
        "allow_recorded_host",
        "bool",
        "allow a target on a host the traffic was recorded from",
    ),
    Option(
        "keep_origin",
        "--replay-keep-origin",
        "keep_origin",
        "bool",
        "compare the candidate's own address in its answers as it is (by default a URL "
        "target's scheme, host and port in bodies and headers read as the recorded ones)",
    ),
    Option(
        "noise_runs",
        "--replay-noise-runs",
        "noise_runs",
        "int",
        "send each replayed request that is safe to repeat N more times (N >= 2) and learn "
        "as noise what changes from run to run",
    ),
    Option(
        "reference",
        "--replay-reference",
        "reference",
        "str",
        "a running monolith (URL or module:app) that also gets the noise runs, so the "
        "monolith's own noise is learned too",
    ),
    Option(
        "hermetic",
        "--replay-hermetic",
        "hermetic",
        "bool",
        "answer the in-process candidate's own outbound HTTP calls from the monolith's "
        "recorded dependency calls; nothing real goes out",
    ),
    Option(
        "max_p99_ratio",
        "--replay-max-p99-ratio",
        "max_p99_ratio",
        "float",
        "a latency budget: an endpoint whose candidate answers more slowly than this many "
        "times the monolith's recorded time at p99 fails as slower, e.g. 1.5 (default: off)",
    ),
    Option(
        "shard",
        "--replay-shard",
        "shard",
        "str",
        "replay only part K of N of the selection, e.g. 2/4 (1-based; also PARITY_SHARD); "
        "merge the parts' reports with parity report merge",
    ),
    Option(
        "shards",
        "--replay-shards",
        "shards",
        "int",
        "split the run into N shards and take this one's number from JOB_COMPLETION_INDEX "
        "(a Kubernetes Indexed Job)",
    ),
    Option(
        "shard_by",
        "--replay-shard-by",
        "shard_by",
        "str",
        "how shards split the selection: exchange (default; every shard reads the whole "
        "store) or segment (each shard reads only its own segments)",
    ),
    Option(
        "hermetic_match",
        "--replay-hermetic-match",
        "hermetic_match",
        "list",
        "what must match for a recorded call to answer one the candidate makes: vcrpy's "
        "matchers, e.g. method,path,query (default method,uri,body; repeatable)",
    ),
    Option(
        "granularity",
        "--replay-granularity",
        "granularity",
        "str",
        "what one test item stands for: 'exchange' (default; one item per recorded "
        "exchange) or 'endpoint' (one item per endpoint, its exchanges streamed through "
        "it, for stores too big for an item each)",
    ),
)

_DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "concurrency": 8,
    "timeout": 5.0,
    "threshold": 1.0,
    "min_samples": 1,
    "unsafe": False,
    "allow_recorded_host": False,
    "keep_origin": False,
    "noise_runs": 0,
    "hermetic": False,
    "hermetic_match": (),
    "endpoints": (),
    "headers": (),
    "granularity": Granularity.EXCHANGE,
}


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    """Everything a replay run needs to know, checked."""

    store: str
    target: str
    endpoints: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    per_endpoint: int | None = None
    seed: int = 0
    concurrency: int = 8
    timeout: float = 5.0
    headers: tuple[tuple[str, str], ...] = ()
    report: Path | None = None
    threshold: float = 1.0
    min_samples: int = 1
    unsafe: bool = False
    allow_recorded_host: bool = False
    keep_origin: bool = False
    noise_runs: int = 0
    reference: str | None = None
    hermetic: bool = False
    hermetic_match: tuple[str, ...] = ()
    max_p99_ratio: float | None = None
    #: This process's part of a sharded run, or None (see `replayer.shard`).
    shard: Shard | None = None
    granularity: Granularity = Granularity.EXCHANGE
    safe: tuple[str, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    #: Test credentials per endpoint, from the environment (see `replayer.credentials`).
    credentials: Credentials = NO_CREDENTIALS
    #: Which paths serve GraphQL, for the safety check (see `parity.safety`).
    rules: EndpointRules = DEFAULT_RULES

    def is_safe(self, endpoint: str) -> bool:
        """Whether a request not shown to be safe may be replayed in this run anyway."""
        return self.unsafe or any(matches(endpoint, pattern) for pattern in self.safe)

    def threshold_for(self, endpoint: str) -> tuple[float, int]:
        """The match rate and sample count this endpoint needs; later config entries win."""
        threshold, samples = self.threshold, self.min_samples
        for entry in self.thresholds:
            if matches(endpoint, entry.pattern):
                threshold = entry.threshold if entry.threshold is not None else threshold
                samples = entry.min_samples if entry.min_samples is not None else samples
        return threshold, samples


def parse_header(text: str) -> tuple[str, str]:
    """``'Name: value'`` as a pair, or a `UsageError` showing the expected form."""
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or any(c.isspace() for c in name.strip()):
        raise UsageError(
            f"--replay-header {text!r} is not 'Name: value'; write e.g. "
            "--replay-header 'Authorization: Bearer test-token'"
        )
    return name.strip(), value.strip()


def _convert(option: Option, value: Any) -> Any:
    """A value from the command line or ini (text) in the option's kind."""
    if option.kind == "list":
        items = [value] if isinstance(value, str) else list(value)
        return tuple(str(item) for item in items if str(item).strip())
    if option.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off", ""}:
            return False
        raise UsageError(f"{option.flag} takes true or false, not {value!r}")
    if option.kind in {"int", "float"}:
        kind: Callable[[Any], Any] = int if option.kind == "int" else float
        try:
            return kind(value)
        except (TypeError, ValueError):
            what = "a whole number" if option.kind == "int" else "a number"
            raise UsageError(f"{option.flag} takes {what}, not {value!r}") from None
    return str(value)


def resolve(
    cli: Callable[[str], Any],
    ini: Callable[[str], Any],
    config: ParityConfig,
    environ: Mapping[str, str] = os.environ,
) -> ReplaySettings:
    """The run's settings. `cli(name)` and `ini(name)`, given an option's ini name,
    return None (or an empty value) for what was not given; `environ` may name the
    shard (see `replayer.shard`)."""
    values: dict[str, Any] = dict(_DEFAULTS)
    for option in OPTIONS:
        from_file = config.replay_value(option.key)
        for source in (from_file, ini(option.ini), cli(option.ini)):
            if source is None or source == [] or source == "" or source is False:
                continue
            values[option.name] = _convert(option, source)
            if source is from_file and option.name in _PATHS:
                values[option.name] = _beside(config, values[option.name])
    values["shard"] = shard_from(
        values.pop("shard", None), values.pop("shards", None), values.pop("shard_by", None), environ
    )
    return _check(values, config)


#: Settings that name local paths: relative ones in the config file mean beside it.
_PATHS = frozenset({"store", "report"})


def _beside(config: ParityConfig, value: str) -> str:
    if config.path is None or "://" in value or Path(value).is_absolute():
        return value
    return str(config.path.parent / value)


def _check(values: dict[str, Any], config: ParityConfig) -> ReplaySettings:
    where = f" (or 'from' in {config.path})" if config.path else ""
    if not values.get("store"):
        raise UsageError(
            f"--replay needs a store to replay: give --replay-from DIR|s3://bucket/prefix{where}"
        )
    if not values.get("target"):
        raise UsageError(
            "--replay needs a candidate to replay against: give --replay-target "
            "http://host:port or module:app"
        )
    for name, low in (("concurrency", 1), ("min_samples", 0)):
        if values[name] < low:
            raise UsageError(f"--replay-{name.replace('_', '-')} must be at least {low}")
    if values.get("per_endpoint") is not None and values["per_endpoint"] < 1:
        raise UsageError("--replay-per-endpoint must be at least 1")
    if values["noise_runs"] == 1 or values["noise_runs"] < 0:
        raise UsageError(
            f"--replay-noise-runs must be 0 (off) or at least 2: noise is what differs "
            f"between two runs, not {values['noise_runs']}"
        )
    if values.get("reference") and values["noise_runs"] < 2:
        raise UsageError(
            "--replay-reference is sent the noise runs: give --replay-noise-runs 2 (or more) too"
        )
    if values["hermetic"] and "://" in values["target"]:
        raise UsageError(
            "--replay-hermetic answers the calls of a candidate running in this process: give "
            "--replay-target module:app, not a URL"
        )
    names = [name.strip() for item in values["hermetic_match"] for name in item.split(",")]
    values["hermetic_match"] = tuple(name for name in names if name)
    budget = values.get("max_p99_ratio")
    if budget is not None and not budget > 0:
        raise UsageError(
            f"--replay-max-p99-ratio is how many times the monolith's p99 answer time the "
            f"candidate may take, a positive number such as 1.5, not {budget}"
        )
    try:
        values["granularity"] = Granularity(values["granularity"])
    except ValueError:
        raise UsageError(
            f"--replay-granularity takes {' or '.join(g.value for g in Granularity)}, "
            f"not {values['granularity']!r}"
        ) from None
    if values["timeout"] <= 0:
        raise UsageError("--replay-timeout must be a positive number of seconds")
    if not 0.0 <= values["threshold"] <= 1.0:
        raise UsageError(
            f"--replay-threshold must be a match rate from 0 to 1 such as 0.99, "
            f"not {values['threshold']}"
        )
    for name in ("since", "until"):
        if values.get(name):
            values[name] = parse_time(values[name])
    values["headers"] = tuple(parse_header(text) for text in values["headers"])
    if values.get("report"):
        values["report"] = Path(values["report"])
    safe = config.replay_value("safe") or ()
    credentials = Credentials.from_config(config.replay_value("credentials"))
    return ReplaySettings(
        **values,
        safe=tuple(safe),
        thresholds=config.thresholds,
        rules=endpoint_naming(config),
        credentials=credentials,
    )
