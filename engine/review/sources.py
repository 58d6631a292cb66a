"""What ``review`` was given, as deal sources: files, and the deal files in folders (recursively)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

DEAL_SUFFIXES = (".yaml", ".yml", ".json")
NOT_DEALS = (".expect.yaml", ".expect.yml")  # expectation files that sit beside example deals


def deal_files(paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """Deal files in a stable order (each folder's files sorted by path), and a message for each
    path that does not exist. Hidden folders (``.git``) are not searched."""
    found: list[str] = []
    missing: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(str(p) for p in path.rglob("*") if _is_deal(p, path))
        elif path.is_file():
            found.append(given)
        else:
            missing.append(f"{given}: no such file or folder")
    return found, missing


def _is_deal(path: Path, root: Path) -> bool:
    hidden = any(part.startswith(".") for part in path.relative_to(root).parts)
    return path.is_file() and not hidden and path.name.endswith(DEAL_SUFFIXES) and not path.name.endswith(NOT_DEALS)
