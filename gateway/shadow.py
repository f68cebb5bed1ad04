"""The side-by-side gateway: a mitmproxy addon that routes each endpoint by its phase.

Run in reverse-proxy mode in front of the monolith (``parity shadow`` starts
mitmdump so), it reads the routing table (`parity.migration.routes`) and, per request:

- ``monolith``: lets mitmproxy forward the request to the monolith;
- ``side-by-side``: the same; once the monolith's answer is on its way to the
  client, the request is mirrored to the candidate in a task of its own (at
  most ``parity_mirror_concurrency`` at once, and at most four times as many
  mirrored or waiting to be compared: beyond that it is dropped and
  counted) and the two answers are compared with the project's comparison
  rules in a child process (`gateway.judge`), off the proxy's core.
  State-changing requests are mirrored only where the route says
  ``mirror_unsafe``; ``mirror_rate`` samples the rest;
- ``candidate``: the addon asks the candidate itself and answers the client
  with the candidate's answer; on an error, a timeout or a 5xx it lets the
  request go on to the monolith instead, and counts the fallback (a write
  only when the candidate refused the connection: it may have acted on it);
- ``candidate-only``: the candidate answers, whatever it says.

The client's answer is never delayed or changed by the mirror. What the
gateway saw is kept per endpoint on a scoreboard (`Scoreboard`): written to
``parity_live`` (live.json, read by ``parity promote``) every
``parity_live_interval`` seconds and at exit, logged, and shown by the
``parity.scoreboard`` command. A mismatch is counted once the differences
left are not explained by noise, learned as the replayer learns it from the
monolith's own repeats of the same request. With the recorder loaded beside
it (``parity shadow --store``), what is routed and the candidate's mirrored
answers are recorded too (``meta.answered_by``, ``meta.mirror``).

The routing table is read again within a second of its file changing (checked
by a task of its own, not per request); a table with an error is reported and
the last good one keeps routing.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import ssl
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import certifi
import h11
import httpx
import orjson
from mitmproxy import command, ctx, exceptions, http

from gateway import judge
from gateway.scoreboard import Scoreboard, scoreboard_line
from parity.errors import ParityError, UsageError
from parity.logs import logger
from parity.migration.live import LIVE_SCHEMA, MIXED
from parity.migration.routes import Phase, ReloadingTable, Route
from parity.net.http1 import Answer, ConnectionClosed, InvalidAnswer, Pool
from parity.project import load_project
from parity.proxy.convert import RawResponse, Snapshot, request_of, snapshot
from parity.proxy.naming import ENDPOINT_KEY, META_KEY, add_naming_options, naming_rules
from parity.traffic.endpoint import EndpointRules, identify
from parity.traffic.safety import unsafe_reason

if TYPE_CHECKING:
    from mitmproxy.addonmanager import Loader

__all__ = ["Shadow"]

log = logger(__name__)

#: Hop-by-hop headers (and the framing the client sets again) never passed on.
_HOP_BYTES: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-connection",
        b"host",
        b"content-length",
    }
)

#: The scoreboard entry that counts the traffic of endpoints past `parity_live_endpoints`.
OVERFLOW: Final = "(other endpoints)"
#: Seconds between looks at the routing table's file.
_ROUTES_EVERY: Final = 1.0
#: Mirrors held at once, sent or waiting for the judge, per one in flight to the candidate.
_BACKLOG: Final = 4


class Shadow:
    """The gateway addon: routing by phase, mirroring, fallback, and the scoreboard."""

    def __init__(self) -> None:
        self.routes: ReloadingTable | None = None
        self.scores: dict[str, Scoreboard] = {}
        #: Beyond this many endpoints, traffic is counted under `OVERFLOW`: hostile traffic
        #: (random paths) must not grow the gateway's state without bound.
        self._max_endpoints = 10_000
        self._config: str | None = None
        self._rules = EndpointRules()
        self._last: dict[tuple[str, tuple[str, ...]], bool] = {}
        #: One child process compares mirrored pairs and learns noise (see `gateway.judge`).
        self._judges: ProcessPoolExecutor | None = None
        self._candidate: httpx.URL | None = None
        self._pool: Pool | None = None
        self._timeout = 5.0
        self._limit: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._stats_task: asyncio.Task[None] | None = None
        self._routes_task: asyncio.Task[None] | None = None
        self._random = random.Random(0)

    def load(self, loader: Loader) -> None:
        add = loader.add_option
        add("parity_candidate", str, "", "The candidate's URL, e.g. http://127.0.0.1:8002.")
        add("parity_routes", str, "routes.toml", "The routing table (see docs/MIGRATING.md).")
        add("parity_live", str, "live.json", "Where the scoreboard is written, as JSON.")
        add(
            "parity_compare_config",
            str,
            "",
            "The parity.toml or pyproject.toml with the "
            "comparison rules and [noise] settings (default: found from the working "
            "directory).",
        )
        add("parity_mirror_concurrency", int, 16, "Mirrored requests in flight at most.")
        add("parity_candidate_timeout", int, 5000, "Milliseconds to wait for the candidate.")
        add("parity_live_interval", int, 10, "Seconds between scoreboard writes (0: at exit).")
        add(
            "parity_live_endpoints",
            int,
            10_000,
            "Distinct endpoints the scoreboard keeps "
            f"apart; the traffic of any more is counted under {OVERFLOW!r}.",
        )
        add_naming_options(loader)

    def configure(self, updated: set[str]) -> None:
        options = ctx.options
        try:
            if "parity_candidate" in updated:
                url = httpx.URL(options.parity_candidate) if options.parity_candidate else None
                if url is None or url.scheme not in ("http", "https") or not url.host:
                    raise UsageError(
                        f"parity_candidate must be http://host:port, not "
                        f"{options.parity_candidate!r}"
                    )
                self._candidate = url
            if updated & {"parity_template", "parity_graphql_path"}:
                self._rules = naming_rules(options)
            if "parity_routes" in updated:
                self.routes = ReloadingTable(Path(options.parity_routes))
            if "parity_live_endpoints" in updated:
                if options.parity_live_endpoints <= 0:
                    raise UsageError(
                        f"parity_live_endpoints must be positive, not "
                        f"{options.parity_live_endpoints}"
                    )
                self._max_endpoints = options.parity_live_endpoints
            if "parity_compare_config" in updated:
                named = options.parity_compare_config or None
                # Checked here, so that a bad file stops the gateway at start; the judge
                # process reads it again.
                load_project(named, option="parity_compare_config")
                self._config = named
        except (ParityError, ValueError) as exc:
            raise exceptions.OptionsError(str(exc)) from None  # type: ignore[no-untyped-call]

    def running(self) -> None:
        assert self._candidate is not None
        self._timeout = ctx.options.parity_candidate_timeout / 1000
        tls = ssl.create_default_context(cafile=certifi.where())
        port = self._candidate.port or (443 if self._candidate.scheme == "https" else 80)
        self._pool = Pool(
            self._candidate.host,
            port,
            tls=tls if self._candidate.scheme == "https" else None,
            size=ctx.options.parity_mirror_concurrency,
        )
        self._limit = asyncio.Semaphore(ctx.options.parity_mirror_concurrency)
        self._judges = ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=judge.start,
            initargs=(self._config,),
        )
        loop = asyncio.get_running_loop()
        self._routes_task = loop.create_task(self._watch_routes())
        if ctx.options.parity_live_interval > 0:
            self._stats_task = loop.create_task(self._report_often())

    async def done(self) -> None:
        for task in (self._stats_task, self._routes_task):
            if task is not None:
                task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=ctx.options.parity_candidate_timeout / 1000)
        self.write_live(await self._explained())
        if self._pool is not None:
            await self._pool.aclose()
        if self._judges is not None:
            self._judges.shutdown(wait=True, cancel_futures=True)

    # -- routing ---------------------------------------------------------------------------

    async def _watch_routes(self) -> None:
        while True:
            await asyncio.sleep(_ROUTES_EVERY)
            assert self.routes is not None
            problem = self.routes.check()
            if problem:
                log.warning("parity: %s", problem)

    def _route(self, flow: http.HTTPFlow) -> tuple[str, Route, str | None]:
        """The request's endpoint and route, and why sending it to the candidate could
        change state (judged from the request itself, see `parity.safety`), or None. Only
        phases that send to the candidate pay for the judgement."""
        assert self.routes is not None
        request = request_of(snapshot(flow), hashed=False)
        endpoint = identify(request, self._rules)
        route = self.routes.table.route_for(endpoint)
        score = self._board(endpoint)
        if score.endpoint == OVERFLOW and score.phase not in ("", route.phase.value):
            score.phase = MIXED
        else:
            score.phase = route.phase.value
        score.counts["requests"] += 1
        unsafe = None
        if route.phase is not Phase.MONOLITH:
            unsafe = unsafe_reason(request, self._rules)
        return endpoint, route, unsafe

    async def request(self, flow: http.HTTPFlow) -> None:
        endpoint, route, unsafe = self._route(flow)
        flow.metadata[ENDPOINT_KEY] = endpoint
        flow.metadata["parity_phase"] = route.phase.value
        # What the recorder, when it runs beside the gateway, writes into the record's meta.
        flow.metadata[META_KEY] = {"phase": route.phase.value, "answered_by": "monolith"}
        flow.metadata["parity_mirror"] = self._mirrors(endpoint, route, unsafe)
        if route.phase in (Phase.CANDIDATE, Phase.CANDIDATE_ONLY):
            await self._from_candidate(flow, endpoint, route.phase, unsafe)

    def _mirrors(self, endpoint: str, route: Route, unsafe: str | None) -> bool:
        if route.phase is not Phase.SIDE_BY_SIDE:
            return False
        if unsafe and not route.mirror_unsafe:
            self._board(endpoint).counts["not_mirrored_unsafe"] += 1
            return False
        return route.mirror_rate >= 1 or self._random.random() < route.mirror_rate

    async def _from_candidate(
        self, flow: http.HTTPFlow, endpoint: str, phase: Phase, unsafe: str | None
    ) -> None:
        score = self._board(endpoint)
        started = time.monotonic()
        refused: list[bool] = []
        answer = await self._ask_candidate(flow.request, refused)
        if answer is not None:
            score.timed("candidate", time.monotonic() - started)
        failed = answer is None or answer.status >= 500
        # A write the candidate may have acted on (it answered 5xx, or went silent) is not
        # sent again to the monolith: only one the candidate never received.
        repeatable = not unsafe or bool(refused)
        if failed and phase is Phase.CANDIDATE and repeatable:
            score.counts["fallbacks"] += 1  # on to the monolith, as mitmproxy forwards it
            return
        if failed and phase is Phase.CANDIDATE:
            score.counts["unsafe_not_repeated"] += 1
        if answer is None:
            score.counts["candidate_errors"] += 1
            flow.response = http.Response.make(
                502, b"the candidate did not answer", {"Content-Type": "text/plain"}
            )
            return
        score.counts["served_by_candidate"] += 1
        flow.metadata[META_KEY]["answered_by"] = "candidate"
        headers = tuple((k, v) for k, v in answer.headers if k.lower() not in _HOP_BYTES)
        # Framed by its length: without it the answer would end by closing the client's
        # connection, and every request would pay for a new one.
        headers += ((b"content-length", str(len(answer.body)).encode()),)
        flow.response = http.Response(
            b"HTTP/" + answer.http_version,
            answer.status,
            answer.reason,
            headers,
            answer.body,
            None,
            answer.first_byte,
            answer.last_byte,
        )

    async def _ask_candidate(
        self, request: http.Request, refused: list[bool] | None = None
    ) -> Answer | None:
        """The candidate's answer as it came (still content-encoded), or None on a failure;
        `refused` gets True when the candidate refused the connection (never saw it)."""
        assert self._pool is not None
        assert self._candidate is not None
        body = request.raw_content or b""
        headers = [(k, v) for k, v in request.headers.fields if k.lower() not in _HOP_BYTES]
        headers.append((b"host", self._candidate.netloc))
        if body or request.method in ("POST", "PUT", "PATCH"):
            headers.append((b"content-length", str(len(body)).encode()))
        target = self._candidate.raw_path.rstrip(b"/") + request.data.path
        try:
            async with asyncio.timeout(self._timeout):  # no task of its own, as wait_for makes
                return await self._pool.request(request.data.method, target, headers, body)
        except ConnectionRefusedError:
            if refused is not None:
                refused.append(True)
            return None
        except (OSError, TimeoutError, ConnectionClosed, InvalidAnswer, h11.LocalProtocolError):
            return None

    # -- side by side ----------------------------------------------------------------------

    def response(self, flow: http.HTTPFlow) -> None:
        endpoint = flow.metadata.get(ENDPOINT_KEY)
        if endpoint is None or flow.metadata.get("parity_phase") != Phase.SIDE_BY_SIDE.value:
            return
        score = self._board(endpoint)
        if flow.response is not None and flow.response.timestamp_end is not None:
            score.timed("monolith", flow.response.timestamp_end - flow.request.timestamp_start)
        if not flow.metadata.get("parity_mirror") or flow.response is None:
            return
        assert self._limit is not None
        # In flight to the candidate, and waiting for the judge, each bounded: a judge
        # slow to start (a loaded machine) must not make the mirror drop what it could send.
        backlog = _BACKLOG * ctx.options.parity_mirror_concurrency
        if self._limit.locked() or len(self._tasks) >= backlog:
            score.counts["mirror_dropped"] += 1
            return
        task = asyncio.get_running_loop().create_task(self._mirror(flow, endpoint))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _mirror(self, flow: http.HTTPFlow, endpoint: str) -> None:
        assert self._limit is not None
        score = self._board(endpoint)
        async with self._limit:
            started = time.monotonic()
            answer = await self._ask_candidate(flow.request)
        score.counts["mirrored"] += 1
        if answer is None:
            score.counts["candidate_errors"] += 1
            return
        score.timed("candidate", time.monotonic() - started)
        snap = snapshot(flow, endpoint)
        # Compared and learned from in the judge's process: the proxy's core stays free.
        assert self._judges is not None
        paths = await asyncio.get_running_loop().run_in_executor(
            self._judges,
            judge.judge,
            snap,
            answer.status,
            answer.reason,
            answer.headers,
            answer.body,
            endpoint,
        )
        score.differed(paths)
        self._record_mirror(snap, answer, paths)

    def _record_mirror(self, snap: Snapshot, answer: Answer, paths: tuple[str, ...]) -> None:
        """With a recorder beside the gateway, the candidate's answer to a mirrored request
        goes to the store too, marked ``meta.mirror`` with where it differed (paths only:
        no values, which could hold what the sanitiser removes from the pair)."""
        recorder = ctx.master.addons.get("recorder")  # type: ignore[no-untyped-call]
        writer = getattr(recorder, "writer", None)
        if writer is None:
            return
        raw = RawResponse(
            answer.status,
            answer.reason,
            b"HTTP/" + answer.http_version,
            tuple(answer.headers),
            answer.body,
            answer.first_byte,
            answer.last_byte,
        )
        mirror = {"differences": list(paths), "phase": Phase.SIDE_BY_SIDE.value}
        writer.submit(snap._replace(response=raw, meta=(("mirror", mirror),)))

    # -- the scoreboard --------------------------------------------------------------------

    def _board(self, endpoint: str) -> Scoreboard:
        """The endpoint's scoreboard; past `parity_live_endpoints` of them, the overflow's."""
        score = self.scores.get(endpoint)
        if score is None:
            name = endpoint if len(self.scores) < self._max_endpoints else OVERFLOW
            score = self.scores.get(name)
            if score is None:
                score = self.scores[name] = Scoreboard(name)
        return score

    async def _explained(self) -> dict[tuple[str, tuple[str, ...]], bool]:
        """For every (endpoint, differing paths) seen: whether the judge's noise explains it."""
        asked = [
            (e, paths) for e, score in self.scores.items() for paths in score.differing if paths
        ]
        if not asked or self._judges is None:
            return {}
        loop = asyncio.get_running_loop()
        answers = await loop.run_in_executor(self._judges, judge.explained, asked)
        return dict(zip(asked, answers, strict=True))

    def live(self, explained: dict[tuple[str, tuple[str, ...]], bool]) -> dict[str, Any]:
        return {
            "schema_version": LIVE_SCHEMA,
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            # The table routing now: gateways that route by different ones do not add up.
            "routing_table": self.routes.table.fingerprint() if self.routes else None,
            "endpoints": [self.scores[e].to_record(explained) for e in sorted(self.scores)],
        }

    def write_live(self, explained: dict[tuple[str, tuple[str, ...]], bool]) -> None:
        path = Path(ctx.options.parity_live)
        tmp = path.with_name(path.name + ".tmp")
        with contextlib.suppress(OSError):
            tmp.write_bytes(orjson.dumps(self.live(explained), option=orjson.OPT_INDENT_2))
            tmp.replace(path)

    async def _report_often(self) -> None:
        while True:
            await asyncio.sleep(ctx.options.parity_live_interval)
            explained = self._last = await self._explained()
            self.write_live(explained)
            for entry in self.live(explained)["endpoints"]:
                log.info("parity: %s", scoreboard_line(entry))

    @command.command("parity.scoreboard")  # type: ignore[untyped-decorator]
    def scoreboard(self) -> str:
        """The gateway's scoreboard: one line per endpoint (as of the last write of live.json
        for what noise explains)."""
        return "\n".join(scoreboard_line(entry) for entry in self.live(self._last)["endpoints"])


addons = [Shadow()]
