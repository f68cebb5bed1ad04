"""Freezing a replay session's objects: given back at the process's next full pass."""

from __future__ import annotations

import gc
import subprocess
import sys

from replayer import frozen


def frozen_by_python() -> int:
    """What the interpreter keeps frozen of its own: 0, but on 3.12 its immortal objects,
    which each full pass moves there."""
    gc.collect()
    return gc.get_freeze_count()


def test_frozen_objects_go_back_at_the_next_full_pass_once_every_session_ended() -> None:
    baseline = frozen_by_python()
    try:
        frozen.freeze()
        frozen.freeze()  # a session inside another (pytester's in-process runs)
        frozen.release()
        gc.collect()
        assert gc.get_freeze_count() > 0  # the outer session still runs
        frozen.release()
        assert gc.get_freeze_count() > 0  # not at once: at the next full pass
        gc.collect(0)
        assert gc.get_freeze_count() > 0  # a young generation's pass is not one
        gc.collect()
        assert gc.get_freeze_count() == baseline
    finally:
        gc.unfreeze()


def test_what_survives_a_full_pass_during_a_session_is_frozen_with_the_rest() -> None:
    baseline = frozen_by_python()
    try:
        frozen.freeze()
        before = gc.get_freeze_count()
        kept = [[n] for n in range(1000)]  # what items leave behind: reports
        gc.collect(1)
        assert gc.get_freeze_count() == before  # only a full pass tells what lives on
        gc.collect()
        assert gc.get_freeze_count() >= before + len(kept)
        frozen.release()
        gc.collect()
        assert gc.get_freeze_count() == baseline
    finally:
        gc.unfreeze()


def test_an_exiting_interpreters_last_pass_leaves_them_frozen() -> None:
    script = """
import gc, sys
from replayer import frozen
def last_pass(phase, info):
    if phase == "start" and info["generation"] == 2 and sys.is_finalizing():
        sys.stderr.write(f"frozen at exit: {gc.get_freeze_count()}\\n")
frozen.freeze()
frozen.release()
gc.callbacks.append(last_pass)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert int(done.stderr.split("frozen at exit: ")[1]) > 1000
