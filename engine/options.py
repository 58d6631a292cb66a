"""What the command line offers before anything heavy is imported: the languages, the output
formats and the advice budget. ``dealcoach --help`` and ``--version`` build their text from these
alone, so they answer without loading the engine (see ``cli.py``)."""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")

FORMATS = ("text", "markdown", "json", "jsonl")
MACHINE_FORMATS = ("json", "jsonl")  # for programs: every piece of advice unless --top is given
DEFAULT_BUDGET = 10  # pieces of advice a person is shown unless they ask for more: a day's work, not a list
