"""What dealcoach needs to know about the terminal it writes to: which characters it can show."""

from __future__ import annotations

import io
import sys


def tolerate_unencodable_output() -> None:
    """Write what the output encoding can carry and replace the rest with ``?``.

    A plain zh_CN locale gets ``PYTHONIOENCODING=gb2312`` (or a GB2312 terminal), which has no
    ``→`` or ``·`` and not every Chinese character: advice with one such character must still be
    printed, not end in a ``UnicodeEncodeError``.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")
