"""Output written as each deal is done, in exactly the bytes of the whole document at once.

A JSON array of 10,000 documents is never built: each element is serialised on its own (in a
worker, when there are several) and framed here, which gives the same bytes as
``json.dumps(list, indent=2)``. JSON Lines and text need no framing beyond a separator.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def piece(file: str, document: dict[str, Any], fmt: str, *, several: bool) -> str:
    """One deal's JSON as :class:`Stream` writes it: one line (jsonl), an array element (json for
    several files, which carries its ``file``), or the whole contract document (json, one file)."""
    if fmt == "jsonl":
        return json.dumps({**document, "file": file}, ensure_ascii=False) + "\n"
    if several:
        return json.dumps({**document, "file": file}, ensure_ascii=False, indent=2).replace("\n", "\n  ")
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


class Stream:
    """Frames pieces for ``write`` as they come: ``[``, ``,`` and ``]`` around a JSON array,
    a blank line between text reports, nothing around JSON Lines."""

    def __init__(self, write: Callable[[str], Any], fmt: str, *, several: bool):
        self.write = write
        self.array = fmt == "json" and several
        self.separator = "\n" if fmt in ("text", "markdown") else ""
        self.count = 0

    def add(self, text: str) -> None:
        if self.array:
            self.write(("[\n  " if not self.count else ",\n  ") + text)
        else:
            self.write((self.separator if self.count else "") + text)
        self.count += 1

    def close(self) -> None:
        """Ends the array; an empty run writes nothing at all, as before streaming."""
        if self.array and self.count:
            self.write("\n]\n")
