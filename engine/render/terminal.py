"""What dealcoach needs to know about the terminal it writes to: which characters it can show, how
wide it is, and whether it wants colour."""

from __future__ import annotations

import io
import os
import shutil
import sys

DEFAULT_WIDTH = 80  # piped output, or a terminal that does not say
MIN_WIDTH = 40  # narrower, and the indented lines of advice would hold a word or two each


def tolerate_unencodable_output() -> None:
    """Write what the output encoding can carry and replace the rest with ``?``.

    A plain zh_CN locale gets ``PYTHONIOENCODING=gb2312`` (or a GB2312 terminal), which has no
    ``→`` or ``·`` and not every Chinese character: advice with one such character must still be
    printed, not end in a ``UnicodeEncodeError``.
    """
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="replace")


def output_width() -> int:
    """Columns to wrap to: ``COLUMNS`` if set, else the terminal's own width, else 80 (piped)."""
    return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def use_color(forced: bool | None) -> bool:
    """Colour when asked (``--color``/``--no-color``); otherwise only for a terminal, and never
    when ``NO_COLOR`` is set to anything (https://no-color.org)."""
    if forced is not None:
        return forced
    return not os.environ.get("NO_COLOR") and sys.stdout.isatty()
