"""The Parity recorder: a mitmproxy addon that captures exchanges into a store.

    mitmdump --mode reverse:http://127.0.0.1:8000 --listen-host 127.0.0.1 \\
        -s recorder/addon.py --set parity_store=./traffic

or `parity record --upstream http://127.0.0.1:8000 --store ./traffic`.

The proxy path is sacred. The hooks decide (filter, endpoint, sampling), take
a snapshot of the flow's immutable parts and hand it to a background writer;
decoding, hashing, sanitising, encoding and uploading happen on the writer's
thread. A full queue drops and counts, a failing store spools to disk, and an
exception inside Parity is counted and logged, never seen by the client.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Any, Final

from mitmproxy import command, ctx, exceptions, flowfilter, http
from mitmproxy.addonmanager import Loader

from parity.errors import ParityError, UsageError
from parity.logs import RateLimitedLog, logger
from parity.proxy.convert import BodyLimits, request_of, snapshot
from parity.proxy.naming import ENDPOINT_KEY, META_KEY, add_naming_options, naming_rules
from parity.store.reader import MAX_FRAME_BYTES
from parity.store.segments import Compression
from parity.traffic.endpoint import EndpointRules, identify
from recorder.options import unknown_option, writer_settings
from recorder.prepare import Preparer
from recorder.process import WriterProcess
from recorder.sampling import Decision, Sampler, SamplingPolicy
from recorder.sanitize import SanitisingFunction, describe, load_policy, make_sanitizer, unsanitised
from recorder.writer import BackgroundWriter

__all__ = ["Recorder", "addons"]

log = logger(__name__)

_NON_NEGATIVE = (
    "parity_endpoint_floor",
    "parity_endpoint_cap",
    "parity_queue_size",
    "parity_spool_max_bytes",
    "parity_max_body",
    "parity_max_decoded",
)
_POSITIVE = (
    "parity_window",
    "parity_segment_max_age",
    "parity_segment_max_bytes",
    "parity_retry_max",
)
_WRITER_OPTIONS = frozenset(
    {
        "parity_store",
        "parity_recorder_id",
        "parity_compression",
        "parity_queue_size",
        "parity_writer",
        "parity_max_body",
        "parity_max_decoded",
        "parity_correlation_header",
        "parity_template",
        "parity_graphql_path",
        "parity_segment_max_bytes",
        "parity_segment_max_age",
        "parity_spool_dir",
        "parity_spool_max_bytes",
        "parity_flush_grace",
        "parity_retry_max",
        "parity_config",
        "parity_sanitize",
    }
)


#: The largest body a record may keep: two of them as base64 (a third more) and the rest
#: of the record fit, with room to spare, in what a segment's reader holds of one frame.
#: Bodies that escape badly can still make a larger record: the writer refuses that one
#: and counts it (`dropped_too_large`).
MAX_BODY_KEPT: Final = 8 << 20


class Recorder:
    """Captures each finished flow, after its response has gone to the client."""

    def __init__(self, sanitizer: SanitisingFunction | None = None) -> None:
        #: A sanitiser given in code (tests, embedders); None: the project's policy.
        self.sanitizer = sanitizer
        self._sanitizing: SanitisingFunction = unsanitised
        self._sanitizing_said = ""
        self.counters: Counter[str] = Counter()
        self.writer: BackgroundWriter | WriterProcess | None = None
        self._filter: flowfilter.TFilter | None = None
        self._sampler = Sampler(SamplingPolicy())
        self._rules = EndpointRules()
        self._limits = BodyLimits()
        self._correlation: Sequence[str] = ()
        self._direction = "auto"
        self._problems = RateLimitedLog(log)
        self._stats_task: asyncio.Task[None] | None = None
        self._running = False

    # -- options ---------------------------------------------------------------------------

    def load(self, loader: Loader) -> None:
        add = loader.add_option
        add(
            "parity_store",
            str,
            "./traffic",
            "Where recorded exchanges go: a directory, file:///path, or s3://bucket/prefix "
            "(credentials from the standard AWS chain; an S3-compatible server via "
            "?endpoint_url=http://host:port or AWS_ENDPOINT_URL_S3).",
        )
        add(
            "parity_recorder_id",
            str,
            "",
            "Names this recorder in segment names; each process writing to one store needs "
            "its own. Default: the host name.",
        )
        add(
            "parity_filter",
            str,
            "",
            "Record only flows matching this mitmproxy filter expression, e.g. "
            "'~d api.example.com & !~u /health'. Default: every flow.",
        )
        add(
            "parity_sample_rate",
            str,
            "1.0",
            "Fraction of exchanges to keep, 0 to 1, after each endpoint's floor.",
        )
        add(
            "parity_endpoint_floor",
            int,
            10,
            "Exchanges per endpoint and window always kept, whatever the sample rate, so "
            "rare endpoints get coverage.",
        )
        add(
            "parity_endpoint_cap",
            int,
            0,
            "Most exchanges kept per endpoint and window (0: no cap), so hot endpoints "
            "cannot flood the store.",
        )
        add("parity_window", int, 60, "The window for the floor and cap, in seconds.")
        add(
            "parity_max_body",
            int,
            1 << 20,
            "Bytes of each body kept; longer bodies are truncated, keeping their full size "
            "and sha256.",
        )
        add(
            "parity_max_decoded",
            int,
            16 << 20,
            "Largest size a compressed body may decode to; a larger one (a compression "
            "bomb) is kept as sent and marked.",
        )
        add(
            "parity_direction",
            str,
            "auto",
            "inbound: the traffic is requests to the recorded service; outbound: calls it "
            "makes to its dependencies (stored as such, answered from in hermetic replays); "
            "auto: outbound unless the recorder is a reverse proxy (--upstream).",
        )
        add(
            "parity_correlation_header",
            Sequence[str],
            ["traceparent", "X-Request-ID"],
            "Headers that tie a request to the calls it causes, first match wins "
            "(repeat the option to give several). traceparent gives its trace id.",
        )
        add_naming_options(loader)
        add(
            "parity_compression",
            str,
            "zstd",
            "Segment compression.",
            choices=[c.value for c in Compression],
        )
        add(
            "parity_queue_size",
            int,
            10_000,
            "Exchanges waiting for the writer; when full, new ones are dropped and counted.",
        )
        add("parity_segment_max_bytes", int, 64 << 20, "Close a segment at this size.")
        add("parity_segment_max_age", int, 60, "Close a segment after this many seconds.")
        add(
            "parity_spool_dir",
            str,
            "",
            "Local directory for segments not yet in the store (store down, or killed "
            "process). Default: ~/.cache/parity/spool.",
        )
        add(
            "parity_spool_max_bytes",
            int,
            1 << 30,
            "Most bytes kept in the spool; beyond it new exchanges are dropped and counted.",
        )
        add(
            "parity_retry_max",
            int,
            60,
            "Longest wait, in seconds, between attempts to upload a spooled segment.",
        )
        add(
            "parity_flush_grace",
            int,
            10,
            "Seconds allowed at shutdown to write out what is queued.",
        )
        add(
            "parity_writer",
            str,
            "process",
            "Where exchanges are converted, sanitised, compressed and uploaded: 'process' "
            "(a child process, so the proxy's own core only proxies) or 'thread' (a thread "
            "inside mitmproxy: no extra process, but it takes CPU from the proxy).",
            choices=["process", "thread"],
        )
        add(
            "parity_stats_interval", int, 60, "Seconds between counter lines in the log (0: never)."
        )
        add(
            "parity_config",
            str,
            "",
            "The parity.toml or pyproject.toml whose [sanitize] table is the sanitising policy "
            "(default: the first found from the working directory upwards; none: the defaults).",
        )
        add(
            "parity_sanitize",
            str,
            "on",
            "'on': remove secrets and personal data before anything is stored "
            "(docs/SANITISING.md). 'off' stores traffic as it is: only for test traffic.",
            choices=["on", "off"],
        )
        add(
            "parity_store_check",
            str,
            "on",
            "'on': `parity record` refuses to start when the store cannot be written or "
            "reached. 'off': start anyway, for a store expected to come up later (segments "
            "wait in the spool).",
            choices=["on", "off"],
        )

    def configure(self, updated: set[str]) -> None:
        if not any(name.startswith("parity_") for name in updated):
            return
        options = ctx.options
        try:
            self._configure(options, rebuild_writer=bool(updated & _WRITER_OPTIONS))
        except (ValueError, ParityError) as exc:
            raise exceptions.OptionsError(str(exc)) from None  # type: ignore[no-untyped-call]

    def _configure(self, options: Any, *, rebuild_writer: bool, check: bool = False) -> None:
        expression = options.parity_filter.strip()
        if expression:
            try:
                self._filter = flowfilter.parse(expression)
            except ValueError as exc:
                raise UsageError(
                    f"parity_filter {expression!r} is not a mitmproxy filter expression ({exc})"
                ) from None
        else:
            self._filter = None
        try:
            rate = float(options.parity_sample_rate)
        except ValueError:
            rate = -1.0
        if not 0.0 <= rate <= 1.0:
            raise UsageError(
                f"parity_sample_rate {options.parity_sample_rate!r} must be a number "
                "from 0 to 1, e.g. 0.1"
            )
        for name in _NON_NEGATIVE:
            if getattr(options, name) < 0:
                raise UsageError(f"{name} cannot be negative ({getattr(options, name)})")
        for name in _POSITIVE:
            if getattr(options, name) <= 0:
                raise UsageError(f"{name} must be positive ({getattr(options, name)})")
        self._sampler = Sampler(
            SamplingPolicy(
                rate,
                options.parity_endpoint_floor,
                options.parity_endpoint_cap,
                float(options.parity_window),
            )
        )
        if options.parity_max_body > MAX_BODY_KEPT:
            raise UsageError(
                f"parity_max_body {options.parity_max_body} is more than {MAX_BODY_KEPT} "
                f"bytes: records holding such bodies can be larger than a reader holds "
                f"({MAX_FRAME_BYTES} bytes); set it to {MAX_BODY_KEPT} or less"
            )
        self._rules = naming_rules(options)
        self._limits = BodyLimits(options.parity_max_body, options.parity_max_decoded)
        self._correlation = tuple(options.parity_correlation_header)
        direction = options.parity_direction
        if direction not in ("auto", "inbound", "outbound"):
            raise UsageError(f"parity_direction is auto, inbound or outbound, not {direction!r}")
        self._direction = direction
        self._sanitizing = self._sanitizer(options, quiet=check)
        if not check and (rebuild_writer or self.writer is None):
            self._replace_writer(options)

    def _sanitizer(self, options: Any, *, quiet: bool = False) -> SanitisingFunction:
        sanitizer: SanitisingFunction
        if self.sanitizer is not None:
            said, safe, sanitizer = (
                "sanitising with the sanitiser given in code",
                True,
                self.sanitizer,
            )
        elif options.parity_sanitize == "off":
            said = "parity_sanitize=off: traffic is stored as it is, secrets and all"
            safe, sanitizer = False, unsanitised
        else:
            built = make_sanitizer(load_policy(options.parity_config))
            said, safe, sanitizer = describe(built), built.pseudonymiser.keyed, built
        if not quiet and said != self._sanitizing_said:  # said once, and on a change
            self._sanitizing_said = said
            (log.info if safe else log.warning)(f"parity: {said}")
        return sanitizer

    def check(self, options: Any) -> None:
        """Everything `configure` checks, without starting a writer, and then whether the
        store can be written (unless ``parity_store_check`` is off): what `preflight` runs
        before a recorder starts. Raises `ParityError` or `ValueError`, one sentence."""
        self._configure(options, rebuild_writer=False, check=True)
        _, store, _ = writer_settings(options)
        if options.parity_store_check == "on":
            store.check_writable()

    def _replace_writer(self, options: Any) -> None:
        recorder_id, store, settings = writer_settings(options)
        prepare = Preparer(
            recorder_id, self._limits, tuple(self._correlation), self._rules, self._sanitizing
        )
        # Settings are valid by now; the old writer lets go of its spool before the new
        # one locks it (it may be the same directory).
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        writer: BackgroundWriter | WriterProcess
        if options.parity_writer == "thread":
            writer = BackgroundWriter(store, settings, logger=log, prepare=prepare)
        else:
            writer = WriterProcess(options.parity_store, settings, prepare, logger=log)
        self.writer = writer
        if self._running:
            self._start_writer()

    def _start_writer(self) -> None:
        assert self.writer is not None
        try:
            self.writer.start()
        except ParityError as exc:
            log.error(f"parity: nothing will be recorded: {exc}")
            self.writer = None
        except Exception:  # a bug; the proxy must go on serving whatever it is
            log.exception("parity: nothing will be recorded: the writer failed to start")
            self.writer = None

    def running(self) -> None:
        unknown = sorted(name for name in ctx.options.deferred if name.startswith("parity"))
        if unknown:
            # Recording on at defaults what was meant otherwise (a sample rate, a policy)
            # is worse than not recording: stop, naming the option.
            known = ctx.options.keys()  # type: ignore[no-untyped-call]
            log.error(f"parity: {unknown_option(unknown[0], known)}; not recording")
            if self.writer is not None:  # never started: nothing to flush, nothing to say
                self.writer.close()
                self.writer = None
            ctx.master.shutdown()  # type: ignore[no-untyped-call]
            return
        self._running = True
        if self.writer is not None:
            self._start_writer()
        if self.writer is not None:
            log.info(f"parity recorder writing to {ctx.options.parity_store}")
        interval = ctx.options.parity_stats_interval
        if interval > 0:
            self._stats_task = asyncio.get_running_loop().create_task(self._log_stats(interval))

    async def _log_stats(self, interval: int) -> None:
        while True:
            await asyncio.sleep(interval)
            log.info(f"parity: {self.stats_line()}")

    def done(self) -> None:
        if self._stats_task is not None:
            self._stats_task.cancel()
        if self.writer is not None:
            flushed = self.writer.close()
            log.info(f"parity: {self.stats_line()}")
            if not flushed:
                log.warning(
                    "parity: some segments could not reach the store before shutdown; they "
                    "stay in the spool and are uploaded at the next start"
                )

    # -- hooks -----------------------------------------------------------------------------

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is not None:
            self.counters["skipped_websocket"] += 1
        elif flow.response is not None and (
            flow.response.stream or flow.response.raw_content is None
        ):
            self.counters["skipped_streamed"] += 1
        else:
            self._capture(flow)

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.websocket is not None:
            self.counters["skipped_websocket"] += 1
        elif flow.response is None:
            self._capture(flow)

    def _outbound(self, flow: http.HTTPFlow) -> bool:
        """Whether the flow is a call the recorded service made: parity_direction, or by
        default, any flow that did not come through a reverse proxy."""
        if self._direction != "auto":
            return self._direction == "outbound"
        mode = getattr(flow.client_conn, "proxy_mode", None)
        return getattr(mode, "type_name", "reverse") != "reverse"

    def _capture(self, flow: http.HTTPFlow) -> None:
        try:
            if flow.request.stream or flow.request.raw_content is None:
                self.counters["skipped_streamed"] += 1
                return
            if self._filter is not None and not self._filter(flow):
                self.counters["filtered"] += 1
                return
            # Beside the gateway, the request was named already (by the same rules).
            snap = snapshot(flow, flow.metadata.get(ENDPOINT_KEY), self._outbound(flow))
            attached = flow.metadata.get(META_KEY)
            if attached:
                snap = snap._replace(meta=tuple(sorted(attached.items())))
            if not self._sampler.keeps_everything:
                # Sampling is stratified by endpoint, so only then is the endpoint
                # named here; otherwise the writer thread names it.
                endpoint = snap.endpoint or identify(request_of(snap, hashed=False), self._rules)
                decision = self._sampler.decide(endpoint)
                if decision is not Decision.KEEP:
                    self.counters[decision.value] += 1
                    return
                snap = snap._replace(endpoint=endpoint)
            if self.writer is not None:
                # Captured once; from here it ends up written or in one dropped_* counter.
                self.counters["captured"] += 1
                self.writer.submit(snap)
        except Exception as exc:  # the client's response must never depend on Parity
            self.counters["hook_errors"] += 1
            self._problems.warn("hook", f"parity: recording a flow failed: {exc!r}")

    # -- visibility ------------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        figures = dict(self.counters)
        if self._sampler.overflow:  # endpoints past the tracked limit: sampled by rate alone
            figures["endpoint_overflow"] = self._sampler.overflow
        if self.writer is not None:
            figures.update(self.writer.stats.snapshot())
        return dict(sorted(figures.items()))

    def stats_line(self) -> str:
        return ", ".join(f"{name} {value}" for name, value in self.stats().items()) or "idle"

    @command.command("parity.stats")  # type: ignore[untyped-decorator]
    def stats_command(self) -> str:
        """Parity's counters: captured, filtered, sampled out, dropped, spooled, uploaded."""
        return self.stats_line()


addons = [Recorder()]
