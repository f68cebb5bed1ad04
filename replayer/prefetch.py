"""The Replayer: requests sent ahead of the tests that assert on their outcomes."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from parity.traffic.exchange import Request
from replayer.wire import Reply, Target

__all__ = ["Replayer"]

#: The most outcomes handed over in one trip to the asking thread.
_HANDED = 32
#: How long a claim whose outcome is in waits for the requests in flight after it,
#: to hand them over in the same trip.
_GATHER = 0.02


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
    owns a background thread running an asyncio loop, sends the requests of the
    run in order with at most `concurrency` in flight and at most `lookahead`
    outcomes buffered and not yet taken (bounded memory on huge runs), and hands
    each outcome to the test that asks for it.

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
    Replies already in for the keys right after the one asked for go over with
    it (see `_following`); one handed over but never asked for is kept until
    the Replayer is closed.
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
        self._guard = threading.Lock()
        #: Replies handed over with an earlier one, not yet asked for (the asking thread's).
        self._handed: dict[str, Reply] = {}
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # Everything below belongs to the loop thread.
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
        # Bound to the loop when first used, on the loop thread.
        self._stop = asyncio.Event()
        self._changed = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)

    def start(self) -> None:
        """Start the loop thread; it opens the target and begins sending."""
        with self._guard:
            if self._closed:
                raise RuntimeError("this Replayer is closed")
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="parity-replayer", daemon=True)
            self._thread.start()
        self._started.wait()

    def outcome(self, key: str, timeout: float | None = None) -> Reply:
        """The outcome for `key`, waiting for it; it is removed from the buffer.

        Raises KeyError for a key not in `requests` or taken already,
        TimeoutError when `timeout` seconds pass first, and the error that kept
        the target from opening or the requests from being read.
        """
        loop = self._loop
        if loop is None or self._closed:
            raise RuntimeError("the Replayer is not running: call start() first, before close()")
        handed = self._handed.pop(key, None)
        if handed is not None:
            return handed
        waiting = asyncio.run_coroutine_threadsafe(self._claim(key), loop)
        try:
            result, following = waiting.result(timeout)
            self._handed.update(following)
            return result
        except concurrent.futures.TimeoutError:
            waiting.cancel()
            raise TimeoutError(f"no outcome for {key!r} within {timeout:g} s") from None
        except concurrent.futures.CancelledError:
            raise RuntimeError(f"the Replayer was closed before the outcome of {key!r}") from None

    def close(self) -> None:
        """Stop sending, close the target and end the thread; idempotent."""
        with self._guard:
            if self._closed:
                return
            self._closed = True
            thread, loop = self._thread, self._loop
        if thread is not None and loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(self._stop.set)
            thread.join()
        self._reader.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Replayer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The loop thread.

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            # Created before the loop runs, so its first step runs before any claim.
            main = loop.create_task(self._main())
            self._loop = loop
            self._started.set()
            loop.run_until_complete(main)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            self._started.set()
            loop.close()

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
        task = asyncio.create_task(self._send(entry, outcome, holding_slot))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

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

    async def _claim(self, key: str) -> tuple[Reply, list[tuple[str, Reply]]]:
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
            self._launch(entry, holding_slot=False)
        assert entry.outcome is not None
        result = await asyncio.shield(entry.outcome)
        # Nothing is taken before this, so a claim cancelled while it waits loses nothing.
        await self._gather(position)
        if self._entries.get(position) is entry:
            del self._entries[position]
            del self._positions[key]
        return result, self._following(position)

    async def _gather(self, position: int) -> None:
        """Wait, briefly, for the requests in flight right after `position`.

        A trip from the asking thread costs more than many exchanges: when it asks
        faster than answers come, each trip would take the few in by then. Waiting
        (at most `_GATHER` seconds) for the ones already sent lets the trip take up
        to `_HANDED`; keys not yet sent end the wait, so it never holds up sending.
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

    def _following(self, position: int) -> list[tuple[str, Reply]]:
        """The outcomes already in for the keys right after `position`, taken with it.

        Asking from another thread costs a round trip through the loop; tests ask
        in order, so the outcomes ready next go over in the same trip (at most
        `_HANDED` of them).
        """
        following: list[tuple[str, Reply]] = []
        while len(following) < _HANDED:
            entry = self._entries.get(position + 1)
            if entry is None or entry.outcome is None or not entry.outcome.done():
                break
            following.append((entry.key, entry.outcome.result()))
            del self._entries[position + 1]
            del self._positions[entry.key]
            position += 1
        # The mark stays at the key asked for: outcomes handed over but not yet asked
        # for still count against the lookahead, so what is buffered stays bounded.
        return following
