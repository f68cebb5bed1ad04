"""A replay session's objects kept out of garbage collection while they live.

What is alive once collection is finished (modules, items, the plan) lives to
the end of the session, and so does what each item leaves (pytest keeps every
report). The collector's full passes, which the garbage of each exchange sets
off, would walk all of it again each time: frozen (`gc.freeze`), they skip it.
So the session freezes what is alive when its items are settled, and again
after each full pass while it runs, when what survived the pass is what lives
on; a pass then walks only what came since the last. (Something that was alive
then and later dies in a reference cycle waits for the end of the session.)

At the end of the session it is not given back at once. Given back, the
interpreter's own full pass as the process exits would walk and free it all (a
tenth of the CPU of a short run of an item per exchange, docs/PERFORMANCE.md),
for a process that is about to give its memory back anyway. So it is given
back at the process's next full pass that is not the interpreter's last: a
process that goes on after the session (a script calling ``pytest.main``,
pytester's in-process runs) collects it then, as it collects any garbage in
cycles.
"""

from __future__ import annotations

import gc
import sys

__all__ = ["freeze", "release"]

#: Sessions frozen and not yet ended, and whether one that ended left its objects frozen.
_live = 0
_pending = False


def freeze() -> None:
    """Keep what is alive now out of the collector's passes, until `release`."""
    global _live
    if _on_pass not in gc.callbacks:
        gc.callbacks.append(_on_pass)  # kept, idle, once added: see `_on_pass`
    gc.freeze()
    _live += 1


def release() -> None:
    """End what `freeze` began: the frozen objects go back to the collector at the next
    full pass, unless the interpreter is exiting by then."""
    global _live, _pending
    _live -= 1
    _pending = True


def _on_pass(phase: str, info: dict[str, int]) -> None:
    # A gc callback. It stays registered: removing itself while the collector calls the
    # callbacks in turn would make it skip the one after.
    global _pending
    if info["generation"] < 2:
        return
    if _live:
        if phase == "stop":  # what survived a full pass lives on: kept out of the next
            gc.freeze()
        return
    if not _pending or phase != "start":
        return
    if sys.is_finalizing():  # the exiting interpreter's last pass: nothing to give back to
        return
    _pending = False
    gc.unfreeze()  # before the pass begins, so this very pass collects what ended
