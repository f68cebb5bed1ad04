"""A real headless Chromium, driven over the DevTools protocol on a pipe: no packages
beyond the standard library, no port, no network.

`Browser.open(url)` loads a page; `evaluate` runs JavaScript in it and returns the
value; `screenshot` takes a PNG of the page from an element down, however far it
is scrolled (``--screenshot`` on the command line only takes the top).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

# Flags for a headless browser on a machine with no network and no session bus.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def find_chromium() -> str:
    """Debian's Chromium, or a skip (a failure in CI, which must have it)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium for the report tests: apt-get install chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return found


class Browser:
    """One Chromium process with one page, `width` by `height` pixels."""

    def __init__(self, chromium: str, profile: Path, width: int = 1400, height: int = 1000) -> None:
        # The protocol's pipe: Chromium reads commands on fd 3 and writes on fd 4.
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        def as_fds_3_and_4() -> None:  # in the child, before Chromium starts
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (commands_read, replies_write)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self._process = subprocess.Popen(
            [
                chromium,
                *CHROMIUM_FLAGS,
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=as_fds_3_and_4,
        )
        os.close(commands_read)
        os.close(replies_write)
        self._buffer = b""
        self._next = 0
        self.width, self.height = width, height
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        self.call("Page.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        os.close(self._commands)
        os.close(self._replies)
        self._process.terminate()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _send(self, message: dict[str, Any]) -> int:
        self._next += 1
        message["id"] = self._next
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        return self._next

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)  # type: ignore[no-any-return]

    def _call(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        sent = self._send(message)
        while True:
            reply = self._receive()
            if reply.get("id") == sent:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})  # type: ignore[no-any-return]

    def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call(method, params, self._session)

    def open(self, url: str) -> None:
        """Load `url` and wait until it has loaded (a new fragment of the page open, as a
        link within it does, loads nothing: it only scrolls)."""
        sent = self._send(
            {"method": "Page.navigate", "params": {"url": url}, "sessionId": self._session}
        )
        loaded = answered = False
        while not (loaded and answered):
            message = self._receive()
            if message.get("id") == sent:
                answered = True
                loaded = loaded or "loaderId" not in message.get("result", {})
            loaded = loaded or message.get("method") == "Page.loadEventFired"

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, selector: str = "body", height: int | None = None) -> bytes:
        """A PNG of the page from the top of `selector`'s element, `height` pixels high
        (the window's height by default), written to `path`."""
        top = self.evaluate(
            f"document.querySelector({json.dumps(selector)}).getBoundingClientRect().top"
            " + window.scrollY"
        )
        clip = {
            "x": 0,
            "y": max(0, top - 8),
            "width": self.width,
            "height": height or self.height,
            "scale": 1,
        }
        data = self.call(
            "Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True}
        )
        image = base64.b64decode(data["data"])
        path.write_bytes(image)
        return image
