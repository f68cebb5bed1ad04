"""Hooks a project implements in its conftest.py to shape what is replayed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from parity.traffic.exchange import Exchange, Request

__all__ = ["pytest_replay_prepare_request"]


@pytest.hookspec(firstresult=True)
def pytest_replay_prepare_request(request: Request, exchange: Exchange) -> Request | None:
    """Rewrite a recorded request before it is sent to the candidate.

    Return a new `parity.Request` (they are immutable: use `dataclasses.replace`)
    to send instead, or None to send `request` as it is. Typical uses: test
    credentials in place of sanitised ones, ids that differ between the
    recording environment and the candidate's, another host name. `request`
    is the recorded request with any ``--replay-header`` values not yet
    applied. The hook may be called on a background thread, ahead of the
    test item that asserts on the answer; keep it free of test state.
    """
