"""The pytest plugin: ``pytest --replay`` certifies a candidate against recorded traffic.

Registered through the ``pytest11`` entry point and inert unless ``--replay``
is given: it then adds one item per recorded exchange (see `replayer.items`;
or one per endpoint, `replayer.endpoint_item`, with
``--replay-granularity=endpoint``), sends their requests ahead of them
(`replayer.run`, `replayer.stream`), tallies the outcomes per
endpoint and prints and writes the certification (`replayer.report`). Run
with no test paths, ``pytest --replay`` collects only the replay items; name
paths to run ordinary tests beside them.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest

from parity.errors import ParityError
from parity.terminal import printable
from replayer import frozen, hooks
from replayer.settings import OPTIONS, Granularity

if TYPE_CHECKING:
    from replayer.run import ReplayRun
    from replayer.stream import EndpointStream

__all__ = ["ReplayPlugin"]

#: Damaged parts of the store listed at the end of a run; the rest are counted.
_DAMAGE_SHOWN = 10


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("parity", "Parity: replay recorded traffic against a candidate")
    group.addoption(
        "--replay",
        action="store_true",
        default=False,
        help="replay recorded exchanges against the candidate and certify each endpoint",
    )
    for option in OPTIONS:
        if option.kind == "bool":
            group.addoption(option.flag, action="store_true", default=False, help=option.help)
        elif option.kind == "list":
            group.addoption(option.flag, action="append", default=[], help=option.help)
        else:
            group.addoption(option.flag, default=None, help=option.help)
        if option.kind == "list":
            parser.addini(option.ini, option.help, type="linelist", default=None)
        else:
            parser.addini(option.ini, option.help, type="string", default=None)


def pytest_configure(config: pytest.Config) -> None:
    if not config.getoption("replay"):
        return
    # Only now: a session without --replay pays nothing for the replayer.
    from parity.project import load_project
    from replayer.run import ReplayRun
    from replayer.settings import resolve

    try:
        project = load_project(start=config.invocation_params.dir)
        settings = resolve(config.getoption, config.getini, project.config)
        if settings.granularity is Granularity.ENDPOINT and _distributed(config):
            raise ParityError(
                "--replay-granularity=endpoint streams the store through one process, so it "
                "cannot run under pytest-xdist: drop -n, or replay with "
                "--replay-granularity=exchange to spread the exchanges over workers"
            )
        judged_by = {
            "compare": project.config.compare,
            "thresholds": project.config.thresholds,
            "noise": project.config.noise,
            "graphql_paths": project.config.replay_value("graphql_paths"),
        }
        run = ReplayRun(
            config, settings, project.rules, project.policy, project.noise, tables=judged_by
        )
    except ParityError as exc:
        raise pytest.UsageError(str(exc)) from None
    plugin = ReplayPlugin(run)
    config.pluginmanager.register(plugin, "parity-replay")
    # Pushed before pytest's own plugins push theirs (this hook runs before theirs), so it
    # is popped after them: pytest's last full passes (its unraisable-exception check)
    # leave the frozen session out too (see `ReplayPlugin.release`).
    config.add_cleanup(plugin.release)


class ReplayPlugin:
    """The hooks of a session run with ``--replay``."""

    def __init__(self, run: ReplayRun) -> None:
        self.run = run
        #: The keywords replay items' reports share (see `pytest_runtest_logreport`).
        self._keywords: dict[tuple[str, ...], dict[str, Literal[1]]] = {}
        #: Replay node ids (or endpoint prefixes of them) given as arguments.
        self._wanted: list[str] = []
        self._only_replay = False
        #: With --replay-granularity=endpoint: the store streamed through the endpoint items.
        self.stream: EndpointStream | None = None
        #: Whether the objects alive after collection are kept out of garbage collection.
        self._frozen = False

    def pytest_report_header(self, config: pytest.Config) -> str:
        settings = self.run.settings
        return f"parity: replaying {settings.store} against {settings.target}"

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> None:
        # Node ids of replay items ("replay/<endpoint>[/<id>]") name no file: take them
        # out of the paths pytest collects and select replay items with them instead.
        config = session.config
        if config.args_source == pytest.Config.ArgsSource.ARGS:
            self._wanted = [a.split("@")[0].rstrip("/") for a in config.args if _names_replay(a)]
            if self._wanted:
                config.args = [a for a in config.args if not _names_replay(a)]
                self._only_replay = not config.args

    def pytest_ignore_collect(self, collection_path: object, config: pytest.Config) -> bool | None:
        # `pytest --replay` alone certifies; test paths named on the command line run too.
        if config.args_source != pytest.Config.ArgsSource.ARGS or self._only_replay:
            return True
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        replayed = self._items(session)
        if self._wanted:
            left_out = [item for item in replayed if not _named(item.name, self._wanted)]
            config.hook.pytest_deselected(items=left_out)
            replayed = [item for item in replayed if _named(item.name, self._wanted)]
        items.extend(replayed)
        # Counted like collected items, so "collected N items" includes them.
        nodes: list[pytest.Item | pytest.Collector] = list(replayed)
        report = pytest.CollectReport("replay", "passed", None, nodes)
        session.ihook.pytest_collectreport(report=report)

    def _items(self, session: pytest.Session) -> list[pytest.Item]:
        """The replay items: one per planned exchange, or one per endpoint."""
        from replayer.endpoint_item import EndpointItem
        from replayer.items import ReplayItem
        from replayer.stream import EndpointStream, outline

        try:
            if self.run.settings.granularity is Granularity.ENDPOINT:
                self.stream = EndpointStream(self.run, outline(self.run))
                session.config.pluginmanager.register(_EndpointTurns(self.stream))
                plans = self.stream.outline.endpoints.values()
                return [EndpointItem.create(session, plan, self.stream) for plan in plans]
            return [ReplayItem.create(session, p, self.run) for p in self.run.plan()]
        except ParityError as exc:
            raise pytest.UsageError(str(exc)) from None

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from replayer.endpoint_item import EndpointItem
        from replayer.items import ReplayItem

        try:
            if self.stream is not None:
                items = session.items
                self.stream.start(i.plan.endpoint for i in items if isinstance(i, EndpointItem))
            else:
                replayed = [item.planned for item in session.items if isinstance(item, ReplayItem)]
                self.run.start(replayed)
        except ParityError as exc:
            raise pytest.UsageError(str(exc)) from None
        # What is alive now lives to the end of the session: see `replayer.frozen`.
        frozen.freeze()
        self._frozen = True

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Last, so JUnit XML and the terminal have seen the report whole.
        if not hasattr(self.run.config, "workerinput"):
            self.run.count(report)
        if not _is_replayed(report):
            return
        # pytest copies every keyword of an item into each of its three reports; those of
        # replay items differ only by the item's own name, so one copy of the rest is
        # shared by all that have the same (half a kilobyte less per exchange).
        rest = tuple(k for k in report.keywords if not k.startswith("replay/"))
        keywords = self._keywords.get(rest)
        if keywords is None:
            keywords = self._keywords[rest] = dict.fromkeys(rest, 1)
        report.keywords = keywords
        if report.passed and not report.sections:
            # The terminal keeps every report to the end; what a passed one carries
            # beyond its outcome is needed by nobody now (about 300 bytes each).
            report.user_properties = _NOTHING  # type: ignore[assignment]
            report.sections = _NOTHING  # type: ignore[assignment]

    def pytest_terminal_summary(
        self, terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
    ) -> None:
        if hasattr(config, "workerinput"):
            return
        from replayer.report import certification, refuted_lines, summary_lines, write_reports
        from replayer.state import RunState, identity_of

        state = RunState.of_run(self.run)
        document = certification(state)
        for line in summary_lines(document):
            terminalreporter.write_line(printable(line))
        if config.pluginmanager.hasplugin("dsession") and self.run.replayed_state_changes():
            terminalreporter.write_line(
                "parity: state-changing requests were replayed by several pytest-xdist "
                "workers at once, so their order across endpoints was not kept; run "
                "without -n for a replay in recorded order",
                yellow=True,
            )
        if self.run.carried_sent:
            terminalreporter.write_line(
                f"parity: shard {self.run.settings.shard} also sent {self.run.carried_sent} "
                "state-changing request(s) that other shards replay and count, each in its "
                "recorded place, so this shard's requests found the state they found when "
                "recorded; each shard needs a candidate of its own",
                yellow=True,
            )
        for line in refuted_lines(state):
            terminalreporter.write_line(printable(line), red=True)
        for damage in self.run.damage[:_DAMAGE_SHOWN]:
            terminalreporter.write_line(printable(f"parity: skipped {damage.message}"), yellow=True)
        if len(self.run.damage) > _DAMAGE_SHOWN:
            more = len(self.run.damage) - _DAMAGE_SHOWN
            terminalreporter.write_line(f"parity: ... and {more} more damaged part(s)", yellow=True)
        # A run that replayed nothing (--collect-only, a usage error) keeps the last report;
        # a shard whose part of the selection was empty still says so, for the merge.
        directory = self.run.settings.report
        empty_shard = (
            self.run.settings.shard is not None
            and not config.option.collectonly
            and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED
        )
        if directory is not None and (self.run.tallies or empty_shard):
            state.identity = identity_of(self.run)
            state.junit = _junit_in(config, directory)
            for path in write_reports(directory, document, state):
                terminalreporter.write_line(f"parity: wrote {path}")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # Items that matched only thanks to noise that the run's totals then refuted passed
        # as tests, and so did those of an endpoint slower than the latency budget allows;
        # the run must still fail, as the certification does.
        if hasattr(session.config, "workerinput") or exitstatus != pytest.ExitCode.OK:
            return
        from replayer.state import RunState

        state = RunState.of_run(self.run)
        if state.vetoed() or state.slower():
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def release(self) -> None:
        """End the freezing `pytest_collection_finish` began."""
        if self._frozen:
            frozen.release()
            self._frozen = False

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.stream is not None:
            self.stream.close()
        self.run.close()


#: Shared by the reports of passed replay items in place of their own empty lists.
_NOTHING: tuple[()] = ()


def _junit_in(config: pytest.Config, directory: Path) -> str | None:
    """The name of the JUnit XML file pytest writes (``--junitxml``) when it is in the
    report directory, so a merge finds it beside the state; else None."""
    written = getattr(config.option, "xmlpath", None)
    if not written:
        return None
    path = Path(written).expanduser().absolute()
    try:
        return path.relative_to(directory.absolute()).as_posix()
    except ValueError:
        return None


def _distributed(config: pytest.Config) -> bool:
    """Whether this session runs under pytest-xdist (as its controller or a worker)."""
    given = config.getoption("numprocesses", None) or config.getoption("tx", None)
    return hasattr(config, "workerinput") or bool(given)


class _EndpointTurns:
    """The hook of an endpoint-granularity session: an item's turn as it comes up."""

    def __init__(self, stream: EndpointStream) -> None:
        self.stream = stream

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        from replayer.endpoint_item import EndpointItem

        # An endpoint's skipped exchanges count when its item comes up, run or skipped.
        if isinstance(item, EndpointItem):
            self.stream.tally_skipped(item.plan.endpoint)
        return (yield)


def _names_replay(argument: str) -> bool:
    return argument.startswith("replay/") and not Path(argument).exists()


def _named(name: str, wanted: list[str]) -> bool:
    """Whether the item named `name` is one of `wanted`, or of an endpoint in it."""
    return any(name == w or name.startswith(w + "/") for w in wanted)


def _is_replayed(report: pytest.TestReport) -> bool:
    return report.nodeid.startswith("replay/")
