"""Deal files inside the served folder, and nowhere else.

A file is named by its path relative to the folder, as the browser sends it. Anything that could
lead outside is refused before the file system is touched: an absolute path, a drive, ``..``, a
hidden part, a backslash or a control character. The resolved path (symbolic links followed) must
still lie inside the folder, so a link pointing out is refused too.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path, PurePosixPath

from dealcoach.engine.playbook.kb import EXPECT_SUFFIX

SUFFIXES = (".yaml", ".yml", ".json")
MAX_LISTED = 1_000  # deal files listed on the front page


class RefusedError(ValueError):
    """A name that does not stand for a deal file inside the folder; the message says why."""


def resolve(folder: Path, name: str, *, suffixes: tuple[str, ...] = SUFFIXES) -> Path:
    """The file ``name`` (relative to ``folder``) as an absolute path inside it, or :class:`RefusedError`."""
    if not name or len(name) > 255 or any(unicodedata.category(ch) == "Cc" for ch in name):
        raise RefusedError("give a file name such as deals/bank.yaml")
    if "\\" in name or ":" in name:
        raise RefusedError(f"{name!r}: use / between folders, without a drive or a backslash")
    relative = PurePosixPath(name)
    if relative.is_absolute():
        raise RefusedError(f"{name!r}: give a path inside the served folder, not an absolute one")
    if any(part in ("..", ".") or part.startswith(".") for part in relative.parts):
        raise RefusedError(f"{name!r}: a file name may not contain '..' or parts starting with a dot")
    if suffixes and relative.suffix.lower() not in suffixes:
        raise RefusedError(f"{name!r}: a deal file ends in .yaml, .yml or .json")
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder):
        raise RefusedError(f"{name!r}: leads outside the served folder")
    return path


def existing(folder: Path, name: str, *, suffixes: tuple[str, ...] = SUFFIXES) -> Path:
    """An existing regular file inside ``folder``: a deal file unless ``suffixes`` say otherwise."""
    path = resolve(folder, name, suffixes=suffixes)
    if not path.is_file():
        raise RefusedError(f"{name!r}: no such {'deal ' if suffixes == SUFFIXES else ''}file in the served folder")
    return path


def writable(folder: Path, name: str) -> Path:
    """Where a deal may be written: inside ``folder``, in a folder that exists."""
    path = resolve(folder, name)
    if not path.parent.is_dir():
        raise RefusedError(f"{name!r}: the folder {path.parent.relative_to(folder).as_posix()!r} does not exist")
    if path.exists() and not path.is_file():
        raise RefusedError(f"{name!r}: not a regular file")
    return path


def folder(served: Path, name: str) -> Path:
    """A folder inside ``served`` to write into: the folder itself, or one below it whose parent exists."""
    path = resolve(served, name, suffixes=()) if name not in ("", ".") else served
    if path.exists() and not path.is_dir():
        raise RefusedError(f"{name!r}: not a folder")
    if not path.parent.is_dir():
        raise RefusedError(f"{name!r}: the folder above it does not exist")
    return path


def write(path: Path, text: str) -> None:
    """Replace the file in one step (write beside it, then rename), so a reader never sees half."""
    temporary = path.with_name(f".{path.name}.dealcoach-tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def is_review(path: Path) -> bool:
    """Whether a JSON file starts as ``review --format json/jsonl`` output does (advice documents):
    an earlier review kept beside the deals for the board's ``?since=``, not a deal."""
    try:
        with path.open(encoding="utf-8") as handle:
            return '"schema": "dealcoach.' in handle.read(200)
    except (OSError, UnicodeDecodeError):
        return False


def listing(folder: Path, *, suffixes: tuple[str, ...] = SUFFIXES) -> list[str]:
    """The deal files (or files ending in ``suffixes``) in ``folder`` and below (hidden folders,
    links out and, among deal files, earlier reviews left out), sorted."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            relative = (Path(root) / name).relative_to(folder).as_posix()
            if name.endswith(EXPECT_SUFFIX):  # a bundled deal's expectations, beside it; not a deal
                continue
            try:
                existing(folder, relative, suffixes=suffixes)
            except RefusedError:
                continue
            if suffixes == SUFFIXES and name.endswith(".json") and is_review(folder / relative):
                continue
            found.append(relative)
            if len(found) >= MAX_LISTED:
                return found
    return found
