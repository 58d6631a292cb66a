"""The program's entry point (``dealcoach`` and ``python -m dealcoach``), light on purpose.

Ctrl-C must end the program with one line and status 130 from the first moment, also while the
command line and the engine are still being imported. This module imports only the standard
library and installs a handler that leaves at once; :func:`dealcoach.cli.run` replaces it with
Python's own as soon as it can catch the ``KeyboardInterrupt`` itself. Importing ``dealcoach.cli``
(a library user, the tests) changes no signal handling of the host process: only this module does.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

from dealcoach.engine.exitcodes import INTERRUPTED, INTERRUPTED_MESSAGE


def _leave(signum: int, frame: FrameType | None) -> None:
    os.write(2, (INTERRUPTED_MESSAGE + "\n").encode())
    os._exit(INTERRUPTED)


signal.signal(signal.SIGINT, _leave)


def run() -> None:
    from dealcoach.engine import gcpause

    gcpause.freeze_after_pauses()
    with gcpause.paused():
        from dealcoach.cli import run as program
    program()
