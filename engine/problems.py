"""Problems found in a user's file, reported as ``FILE:LINE:COL: path: message``.

Every user-facing error in dealcoach is a :class:`Problem`; code that finds several collects
them all and raises one :class:`InputError`, so the user fixes a file in one pass instead of
one error per run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Path = tuple[str | int, ...]


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
        return f"{where}: {what}"


class InputError(Exception):
    """A user's file (deal, rule, scenario) is invalid; carries every problem found in it."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(set(problems))
        super().__init__("\n".join(map(str, self.problems)))
