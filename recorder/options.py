"""The recorder's options beyond their declarations, which stay with the addon
(`recorder.addon`, loaded by ``mitmdump -s``):

- what is worked out when the writer starts: the recorder id (the host name by
  default), the spool directory (under the user's cache by default), and the
  writer's settings;
- one sentence for a ``parity_`` option nobody declares, naming the nearest;
- `preflight`: what `parity record` and `parity shadow` check before mitmdump
  starts, so that a mistake is refused in one sentence rather than logged.
"""

from __future__ import annotations

import difflib
import os
import re
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mitmproxy import exceptions

from parity.errors import UsageError
from parity.store import open_store
from parity.store.segments import Compression, valid_recorder_id
from recorder.writer import WriterSettings

__all__ = [
    "default_recorder_id",
    "default_spool_root",
    "preflight",
    "unknown_option",
    "writer_settings",
]


def default_recorder_id() -> str:
    """This host's name, made safe for segment names."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", socket.gethostname()).strip(".-_") or "recorder"
    return name[:64]


def default_spool_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "parity" / "spool"


def writer_settings(options: Any) -> tuple[str, Any, WriterSettings]:
    """The recorder id, the store and the writer's settings that `options` give."""
    recorder_id = valid_recorder_id(options.parity_recorder_id or default_recorder_id())
    store = open_store(options.parity_store)
    spool_root = Path(options.parity_spool_dir or default_spool_root())
    settings = WriterSettings(
        recorder_id=recorder_id,
        spool_dir=spool_root / recorder_id,
        compression=Compression.parse(options.parity_compression),
        queue_size=options.parity_queue_size,
        segment_max_bytes=options.parity_segment_max_bytes,
        segment_max_age=float(options.parity_segment_max_age),
        spool_max_bytes=options.parity_spool_max_bytes,
        flush_grace=float(options.parity_flush_grace),
        retry_max=float(options.parity_retry_max),
    )
    return recorder_id, store, settings


def unknown_option(name: str, known: Iterable[str]) -> str:
    """One sentence for an option no addon declares, with the nearest that one does."""
    near = difflib.get_close_matches(name, [k for k in known if k.startswith("parity_")], n=1)
    hint = f"did you mean {near[0]}?" if near else "the parity_ options are listed in"
    where = " (docs/RECORDING.md lists them)" if near else " docs/RECORDING.md"
    return f"unknown option {name}; {hint}{where}"


class _Declarations:
    """A loader for `preflight`: an option two addons both declare is declared once, as
    mitmproxy's own loader does."""

    def __init__(self, options: Any) -> None:
        self._options = options

    def add_option(
        self, name: str, typespec: Any, default: Any, help: str, choices: Any = None
    ) -> None:
        if name not in self._options:
            self._options.add_option(name, typespec, default, help, choices)


def preflight(assignments: Sequence[str], addons: Sequence[Any]) -> None:
    """Check what `parity record` or `parity shadow` will give mitmdump, before it starts:
    each ``parity_`` option is known and its value valid, and each addon's own checks
    hold (a `Recorder`'s: filter, rates, policy and config file, store). Raises
    `UsageError` or `StoreError` with one sentence; options not Parity's are mitmdump's."""
    from mitmproxy.optmanager import OptManager

    options = OptManager()
    declared = _Declarations(options)
    for addon in addons:
        addon.load(declared)
    ours = [spec for spec in assignments if spec.startswith("parity_")]
    for spec in ours:
        name = spec.partition("=")[0]
        if name not in options:
            raise UsageError(unknown_option(name, options.keys()))  # type: ignore[no-untyped-call]
    for spec in ours:
        try:
            options.set(spec)
        except exceptions.OptionsError as exc:
            raise UsageError(f"--set {spec}: {exc}; docs/RECORDING.md says what it takes") from None
    for addon in addons:
        check = getattr(addon, "check", None)
        if check is not None:
            try:
                check(options)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
