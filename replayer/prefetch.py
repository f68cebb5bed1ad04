"""The Replayer: requests sent ahead of the tests that assert on their outcomes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from parity.traffic.exchange import Request
from replayer.wire import Reply, Target

__all__ = ["Replayer"]

_T = TypeVar("_T")

#: The most outcomes handed over in one drive of the loop.
_HANDED = 32
#: How long a claim whose outcome is in waits for the requests in flight after it,
#: to hand them over in the same drive.
_GATHER = 0.02
#: While outcomes are handed over without driving the loop, it is still driven once
#: (without waiting) when this many seconds have passed, so answers that came in are
#: read, and timed, promptly and the window keeps moving.
_POLL = 0.001


class _DrivenLoop(asyncio.SelectorEventLoop):
    """An event loop run only while its owner waits on it, whose clock runs only then.

    Its timers (request timeouts, waits) measure the time the loop was driven:
    an answer that came in while the owner was busy elsewhere (a long test, a
    debugger) is read when the loop is driven next, before a deadline passed
    meanwhile could call it late.
    """

    def __init__(self) -> None:
        super().__init__()
        self._idle = 0.0  # seconds not driven, since the first drive
        self._left: float | None = None  # time.monotonic() when the last drive ended

    def time(self) -> float:
        return time.monotonic() - self._idle

    def drive(self, work: Awaitable[_T]) -> _T:
        """Run the loop until `work` is done."""
        self._resume()
        try:
            return self.run_until_complete(work)
        finally:
            self._left = time.monotonic()

    def poll(self) -> None:
        """Run the loop once without waiting: what has come in is read, what is ready runs."""
        self._resume()
        try:
            self.stop()  # before run_forever: one pass over the selector, then out
            self.run_forever()
        finally:
            self._left = time.monotonic()

    def keep_up(self) -> None:
        """Poll, if the loop has not been driven for `_POLL` seconds."""
        if self._left is not None and time.monotonic() - self._left >= _POLL:
            self.poll()

    def _resume(self) -> None:
        if self._left is not None:
            self._idle += time.monotonic() - self._left
            self._left = None


@dataclass(slots=True)
class _Entry:
    """One request of the run: its place in the order and, once sent, its outcome to come."""

    key: str
    position: int
    request: Request
    outcome: asyncio.Future[Reply] | None = None


class Replayer:
    """Sends requests ahead of the tests that assert on them.

    pytest runs items one after another; replaying one round trip per test would
    make a suite of 10,000 exchanges take 10,000 round trips in series. A Replayer
    sends the requests of the run in order on an asyncio loop, with at most
    `concurrency` in flight and at most `lookahead` outcomes buffered and not yet
    taken (bounded memory on huge runs), and hands each outcome to the test that
    asks for it.

    The loop runs in the thread that asks, while it asks: a test waiting for its
    outcome drives the sending of the ones after it, and the outcomes already in
    for the next keys go over with it (see `_following`). While those are handed
    over, the loop is still driven once, without waiting, every `_POLL` seconds,
    so answers are read as they come and the window keeps moving. The requests in
    flight go on meanwhile: their answers wait in the socket. Nothing is sent
    before the first outcome is asked for. One thread (pytest's) does the asking
    and the sending, so they never contend for the interpreter: a sending thread
    beside pytest's cost more CPU in switching than the sending itself
    (docs/PERFORMANCE.md). Only the thread that started a Replayer may use it.

    The window rule: let the *mark* be the position of the furthest key asked for
    so far. Requests are sent in order up to the mark plus `lookahead`, so asking
    moves the window forward. Keys before the mark that were never asked for are
    taken to be deselected: they are not sent, and outcomes already received for
    them are dropped, so unclaimed keys never block the window. Asking for such a
    key later still works: it is sent then, on its own (its request is kept until
    its outcome is taken), so any order of asking makes progress, at the price of
    sending a passed-over request late. Runs asked in order send every request
    once, in order.

    `requests` is read lazily, in order, on a reader thread of its own, so a
    source that reads from a store does not stall the requests in flight.
    Errors opening the target or reading the source are raised by `outcome()`.
    One handed over but never asked for is kept until the Replayer is closed.
    """

    def __init__(
        self,
        target_factory: Callable[[], Target],
        requests: Iterable[tuple[str, Request]],
        *,
        concurrency: int = 8,
        lookahead: int = 256,
    ) -> None:
        if concurrency < 1 or lookahead < 1:
            raise ValueError("concurrency and lookahead must be at least 1")
        self._factory = target_factory
        self._source: Iterator[tuple[str, Request]] = iter(requests)
        self._concurrency = concurrency
        self._lookahead = lookahead
        #: Replies handed over with an earlier one, not yet asked for, in their order.
        self._handed: dict[str, Reply] = {}
        self._loop: _DrivenLoop | None = None
        self._main_task: asyncio.Task[None] | None = None
        self._owner: int | None = None
        self._closed = False
        self._reader = concurrent.futures.ThreadPoolExecutor(1, "parity-replay-source")
        self._target: Target | None = None
        self._failure: Exception | None = None
        #: Keys not yet taken, by position; taken ones are forgotten, so a long run holds
        #: only the window's.
        self._positions: dict[str, int] = {}
        self._entries: dict[int, _Entry] = {}
        self._pulled = 0
        self._mark = -1
        self._next = 0
        self._exhausted = False
        self._pulling: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        # Bound to the loop when first used.
        self._stop = asyncio.Event()
        self._changed = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)

    def start(self) -> None:
        """Make the loop in this thread; the target opens when an outcome is first asked."""
        if self._closed:
            raise RuntimeError("this Replayer is closed")
        if self._loop is not None:
            return
        self._loop = _DrivenLoop()
        self._owner = threading.get_ident()
        # Created before the loop first runs, so its first step runs before any claim.
        self._main_task = self._loop.create_task(self._main())

    def outcome(self, key: str, timeout: float | None = None) -> Reply:
        """The outcome for `key`, waiting for it; it is removed from the buffer.

        Raises KeyError for a key not in `requests` or taken already,
        TimeoutError when `timeout` seconds pass first, and the error that kept
        the target from opening or the requests from being read.
        """
        loop = self._running()
        handed = self._handed.pop(key, None)
        if handed is not None:
            loop.keep_up()
            return handed
        return self._drive(self._claim(key), key, timeout)

    def next_outcome(self, timeout: float | None = None) -> Reply | None:
        """The outcome of the earliest request not yet taken, in the order `requests`
        gave them; None once every request's outcome is taken. Raises as `outcome()`."""
        loop = self._running()
        if self._handed:
            loop.keep_up()
            return self._handed.pop(next(iter(self._handed)))
        return self._drive(self._claim_next(), "the next request", timeout)

    def close(self) -> None:
        """Stop sending, close the target and the loop; idempotent."""
        if self._closed:
            return
        self._closed = True
        loop, main = self._loop, self._main_task
        if loop is not None and main is not None:
            try:
                self._stop.set()
                with contextlib.suppress(Exception):  # nothing is left to report to
                    loop.drive(main)
                    loop.drive(loop.shutdown_asyncgens())
            finally:
                loop.close()
        self._reader.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Replayer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _running(self) -> _DrivenLoop:
        loop = self._loop
        if loop is None or self._closed:
            raise RuntimeError("the Replayer is not running: call start() first, before close()")
        if threading.get_ident() != self._owner:
            raise RuntimeError("a Replayer is used only from the thread that started it")
        return loop

    def _drive(self, claim: Awaitable[_T], what: str, timeout: float | None) -> _T:
        assert self._loop is not None
        try:
            return self._loop.drive(_within(claim, timeout))
        except TimeoutError:
            raise TimeoutError(f"no outcome for {what!r} within {timeout:g} s") from None

    # On the loop, while an outcome is asked for.

    async def _main(self) -> None:
        producer = None
        try:
            self._target = self._factory()
        except Exception as exc:
            self._failure = exc
        else:
            producer = asyncio.create_task(self._produce())
        await self._stop.wait()
        if producer is not None:
            producer.cancel()
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
        if self._target is not None:
            with contextlib.suppress(Exception):  # nothing is left to report to
                await self._target.aclose()

    async def _pull(self) -> None:
        """Read more requests from the source; shared, so a cancelled claim loses none."""
        if self._pulling is None:
            self._pulling = asyncio.create_task(self._pull_some())
        await asyncio.shield(self._pulling)

    def _read(self, most: int) -> tuple[list[tuple[str, Request]], bool, Exception | None]:
        """Up to `most` requests from the source, whether it has ended, and the error that
        ended it (the requests read before it are still sent)."""
        read: list[tuple[str, Request]] = []
        try:
            for item in self._source:
                read.append(item)
                if len(read) >= most:
                    return read, False, None
        except Exception as exc:
            return read, True, exc
        return read, True, None

    async def _pull_some(self) -> None:
        # What the window has room for, in one trip to the reading thread: a trip per
        # request would cost more than reading it.
        most = max(1, self._mark + self._lookahead + 1 - self._pulled)
        read: list[tuple[str, Request]] = []
        ended, failure = True, None
        try:
            loop = asyncio.get_running_loop()
            read, ended, failure = await loop.run_in_executor(self._reader, self._read, most)
        except Exception as exc:  # the reading thread is gone: the Replayer is closing
            failure = exc
        finally:
            self._pulling = None
        if failure is not None:
            self._failure = failure
        for key, request in read:
            if key not in self._positions:  # a repeated key is sent once, while not taken
                position = self._pulled
                self._pulled += 1
                self._positions[key] = position
                self._entries[position] = _Entry(key, position, request)
        if ended:
            self._exhausted = True
            self._changed.set()

    async def _produce(self) -> None:
        """Send requests in order while they fall inside the window."""
        while True:
            if self._next > self._mark + self._lookahead:
                self._changed.clear()
                await self._changed.wait()
                continue
            if self._next >= self._pulled:
                if self._exhausted:
                    return
                await self._pull()
                continue
            entry = self._entries.get(self._next)
            self._next += 1
            if entry is None or entry.outcome is not None or entry.position < self._mark:
                continue  # taken, sent on demand already, or passed over
            await self._slots.acquire()
            if entry.outcome is not None or entry.position < self._mark:
                self._slots.release()
                continue
            self._launch(entry, holding_slot=True)

    def _launch(self, entry: _Entry, *, holding_slot: bool) -> None:
        outcome = asyncio.get_running_loop().create_future()
        entry.outcome = outcome
        # Held here until it ends (the loop holds tasks weakly); `_send` lets go of itself.
        self._sending.add(asyncio.create_task(self._send(entry, outcome, holding_slot)))

    async def _send(self, entry: _Entry, outcome: asyncio.Future[Reply], holding: bool) -> None:
        assert self._target is not None
        if not holding:
            await self._slots.acquire()
        try:
            result = await self._target.send(entry.key, entry.request)
        except Exception as exc:  # a Target should not raise; if one does, only this key fails
            result = Reply(entry.key, None, f"replaying raised {type(exc).__name__}: {exc}", 0.0)
        finally:
            self._slots.release()
            self._sending.discard(asyncio.current_task())
        outcome.set_result(result)
        if entry.position < self._mark and entry.outcome is outcome:
            entry.outcome = None  # passed over while in flight: not kept

    def _pass_to(self, position: int) -> None:
        """Move the mark to `position`, dropping outcomes of the keys passed over."""
        for passed in range(self._mark + 1, position):
            entry = self._entries.get(passed)
            if entry is not None and entry.outcome is not None and entry.outcome.done():
                entry.outcome = None
        self._mark = position
        self._changed.set()

    async def _claim_next(self) -> Reply | None:
        if self._target is None:
            assert self._failure is not None
            raise self._failure
        while not self._entries:
            if self._exhausted:
                if self._failure is not None:
                    raise self._failure
                return None
            await self._pull()
        earliest = next(iter(self._entries.values()))  # held in the order they were read
        return await self._claim(earliest.key)

    async def _claim(self, key: str) -> Reply:
        if self._target is None:
            assert self._failure is not None
            raise self._failure
        while (position := self._positions.get(key)) is None:
            if self._exhausted:
                if self._failure is not None:
                    raise self._failure
                raise KeyError(
                    f"{key!r} is not one of the requests given to the Replayer, "
                    "or its outcome was taken already"
                )
            await self._pull()
        entry = self._entries.get(position)
        if entry is None:
            raise KeyError(f"the outcome for {key!r} was taken already")
        if position > self._mark:
            self._pass_to(position)
        if entry.outcome is None:
            # Asked before the producer reached it (the first ask, or a key passed over):
            # a free slot is taken now, so it goes out before the ones after it.
            free = not self._slots.locked()
            if free:
                await self._slots.acquire()  # free: returns at once
            self._launch(entry, holding_slot=free)
        assert entry.outcome is not None
        result = await asyncio.shield(entry.outcome)
        # Nothing is taken before this, so a claim cancelled while it waits loses nothing.
        await self._gather(position)
        if self._entries.get(position) is entry:
            del self._entries[position]
            del self._positions[key]
        self._following(position)
        return result

    async def _gather(self, position: int) -> None:
        """Wait, briefly, for the requests in flight right after `position`.

        Each drive of the loop has a cost of its own: when tests ask faster than
        answers come, each drive would take the few in by then. Waiting (at most
        `_GATHER` seconds) for the ones already sent lets one drive take up to
        `_HANDED`; keys not yet sent end the wait, so it never holds up sending.
        """
        try:
            async with asyncio.timeout(_GATHER):
                ahead = position + 1
                while ahead <= position + _HANDED:
                    entry = self._entries.get(ahead)
                    if entry is None or entry.outcome is None:
                        return
                    if not entry.outcome.done():
                        await asyncio.shield(entry.outcome)
                    ahead += 1
        except TimeoutError:
            return

    def _following(self, position: int) -> None:
        """Hand over the outcomes already in for the keys right after `position`.

        Tests ask in order, so the outcomes ready next are taken with the one asked
        for (at most `_HANDED` of them), and the tests asking for them need not
        drive the loop.
        """
        handed = 0
        while handed < _HANDED:
            entry = self._entries.get(position + 1)
            if entry is None or entry.outcome is None or not entry.outcome.done():
                break
            self._handed[entry.key] = entry.outcome.result()
            del self._entries[position + 1]
            del self._positions[entry.key]
            position += 1
            handed += 1
        # The mark stays at the key asked for: outcomes handed over but not yet asked
        # for still count against the lookahead, so what is buffered stays bounded.


async def _within(work: Awaitable[_T], timeout: float | None) -> _T:
    if timeout is None:
        return await work
    async with asyncio.timeout(timeout):
        return await work
