"""Problems found in a user's file, reported as ``FILE:LINE:COL: path: message``.

Every user-facing error in dealcoach is a :class:`Problem`; code that finds several collects
them all and raises one :class:`InputError`, so the user fixes a file in one pass instead of
one error per run.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Path = tuple[str | int, ...]
QUOTE_CHARS = 60  # the longest value a message repeats back
MESSAGE_CHARS = 1_000  # a message longer than this is cut: one line, readable, whatever the file held


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)``, cut to ``limit`` characters: a message quotes what the user wrote, but a
    4,000-digit number or a megabyte of text would bury the message (and an integer of more than
    4,300 digits cannot even be turned into text)."""
    try:
        text = repr(value)
    except ValueError:
        text = "a number too long to show"
    return shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str) -> str:
    """Control characters (a newline in a key, an escape sequence) shown escaped, so that every
    problem stays one line on the terminal and in a log, and cannot redraw the screen."""
    if all(unicodedata.category(ch) != "Cc" for ch in text):
        return text
    return "".join(ch.encode("unicode_escape").decode() if unicodedata.category(ch) == "Cc" else ch for ch in text)


def format_path(path: Path) -> str:
    """``("stakeholders", 2, "attitude")`` -> ``stakeholders[2].attitude``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int = 0
    column: int = 0
    path: str = ""
    message: str = ""
    rule: str = field(default="", compare=False)  # the rule the problem belongs to, if any

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column}"
        what = f"{self.path}: {self.message}" if self.path else self.message
        text = one_line(f"{where}: {what}")
        return shorten(text, MESSAGE_CHARS)


class InputError(Exception):
    """A user's file (deal, rule, scenario) is invalid; carries every problem found in it."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(map(str, self.problems)))
