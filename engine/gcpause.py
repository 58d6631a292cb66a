"""Garbage collection paused while long-lived objects are made.

Start-up (importing the engine, loading the playbook) makes tens of thousands of objects that live
as long as the process, and next to no garbage cycles, yet Python's cyclic collector walks them
again and again while they are being made, and once more in every full collection after: about a
tenth of ``dealcoach advise`` on one deal. Within :func:`paused` the collector does not run;
afterwards it runs as the caller had it (a host that turned it off keeps it off). Reference
counting frees everything else as usual.

The program itself (not a library user) also calls :func:`freeze_after_pauses`: what exists at
the end of a pause is then moved out of the collector's sight for good (``gc.freeze``), so that no
later collection walks the modules and the playbook again. The price is that a garbage cycle made
before a pause ends is never freed, a few kilobytes once per process; so a pause belongs only
around what happens once per process (an import, loading the playbook), never around per-deal
work, and a host that loads playbooks over and over must not freeze, so it is not the default.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_freeze = False


def freeze_after_pauses() -> None:
    global _freeze
    _freeze = True


@contextmanager
def paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _freeze:
            gc.freeze()
        if enabled:
            gc.enable()
