"""Load untrusted YAML or JSON safely, remembering where every value stands in the file.

Deal files, rule files and drill scenarios all come from people, so this loader is strict where
PyYAML is lenient: a duplicated key is an error (YAML would silently keep the last one), the file
size and nesting depth are bounded, and every failure becomes a :class:`Problem` with a line and
column instead of a traceback. Only ``SafeLoader`` is used: no YAML tag can construct an object.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

import yaml

from dealcoach.engine.problems import InputError, Path, Problem, format_path

try:  # the C loader is several times faster; fall back where libyaml is missing
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

MAX_BYTES = 2_000_000
MAX_DEPTH = 64
MAX_NODES = 200_000
STDIN = "-"


@dataclass
class Document:
    """Parsed data plus the (line, column) of each mapping key and sequence item, 1-based."""

    file: str
    data: Any
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path) -> tuple[int, int]:
        """Position of ``path``, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            where = self.positions.get(tuple(path[:end]))
            if where:
                return where
        return (0, 0)

    def problem(self, path: Path, message: str, rule: str = "") -> Problem:
        line, column = self.locate(path)
        return Problem(self.file, line, column, format_path(path), message, rule)


def read_text(source: str, *, max_bytes: int = MAX_BYTES) -> str:
    """The text of a file, or of standard input for ``-``, as UTF-8."""
    label = "<stdin>" if source == STDIN else source
    try:
        raw = sys.stdin.buffer.read(max_bytes + 1) if source == STDIN else _read_file(source, max_bytes)
    except OSError as err:
        raise InputError([Problem(label, message=f"cannot read the file: {err.strerror or err}")]) from None
    if len(raw) > max_bytes:
        limit = f"{max_bytes // 1_000_000} MB" if max_bytes >= 1_000_000 else f"{max_bytes} bytes"
        raise InputError([Problem(label, message=f"the file is larger than {limit}; split it into smaller files")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            [Problem(label, message=f"not UTF-8 text (bad byte at offset {err.start}); save the file as UTF-8")]
        ) from None


def _read_file(source: str, max_bytes: int) -> bytes:
    with open(source, "rb") as handle:
        return handle.read(max_bytes + 1)


def load(source: str, *, text: str | None = None, max_bytes: int = MAX_BYTES) -> Document:
    """Parse a YAML or JSON file (``-`` reads standard input) into a :class:`Document`.

    JSON is chosen by a ``.json`` suffix, or for standard input when the text starts with ``{``.
    """
    label = "<stdin>" if source == STDIN else source
    if text is None:
        text = read_text(source, max_bytes=max_bytes)
    looks_json = FsPath(source).suffix.lower() == ".json" or (source == STDIN and text.lstrip().startswith("{"))
    return _load_json(label, text) if looks_json else _load_yaml(label, text)


def _load_json(label: str, text: str) -> Document:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key!r}")
            seen[key] = value
        return seen

    try:
        data = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as err:
        raise InputError([Problem(label, err.lineno, err.colno, message=f"invalid JSON: {err.msg}")]) from None
    except (ValueError, RecursionError) as err:
        message = "nesting is too deep" if isinstance(err, RecursionError) else str(err)
        raise InputError([Problem(label, message=f"invalid JSON: {message}")]) from None
    _check_depth(label, data)
    return Document(label, data)


def _check_depth(label: str, data: Any) -> None:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError([Problem(label, message=f"nesting is deeper than {MAX_DEPTH} levels")])
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children)


def _load_yaml(label: str, text: str) -> Document:
    loader = _SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        reason = err.problem or err.context or "syntax error"
        raise InputError([Problem(label, line, column, message=f"invalid YAML: {reason}")]) from None
    except yaml.YAMLError as err:
        raise InputError([Problem(label, message=f"invalid YAML: {err}")]) from None
    except RecursionError:
        raise InputError([Problem(label, message=f"nesting is deeper than {MAX_DEPTH} levels")]) from None
    finally:
        loader.dispose()
    document = Document(label, data)
    if node is not None:
        _Walker(document).walk(node, (), 1)
    return document


class _Walker:
    """Records positions and finds duplicate keys, bounded against alias bombs and deep nesting."""

    def __init__(self, document: Document):
        self.document = document
        self.nodes = 0
        self.problems: list[Problem] = []

    def walk(self, node: yaml.Node, path: Path, depth: int) -> None:
        self._visit(node, path, depth)
        if self.problems:
            raise InputError(self.problems)

    def _visit(self, node: yaml.Node, path: Path, depth: int) -> None:
        self.nodes += 1
        if depth > MAX_DEPTH:
            raise InputError([self._problem(node, f"nesting is deeper than {MAX_DEPTH} levels")])
        if self.nodes > MAX_NODES:
            raise InputError([self._problem(node, f"the document expands to more than {MAX_NODES} values (aliases?)")])
        if isinstance(node, yaml.MappingNode):
            self._visit_mapping(node, path, depth)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._mark(path + (index,), item)
                self._visit(item, path + (index,), depth + 1)

    def _visit_mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> None:
        first_seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            if key in first_seen:
                self.problems.append(
                    self._problem(key_node, f"duplicate key {key!r} (first given on line {first_seen[key]})", path)
                )
                continue
            first_seen[key] = key_node.start_mark.line + 1
            self._mark(path + (key,), key_node)
            self._visit(value_node, path + (key,), depth + 1)

    def _mark(self, path: Path, node: yaml.Node) -> None:
        self.document.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))

    def _problem(self, node: yaml.Node, message: str, path: Path = ()) -> Problem:
        mark = node.start_mark
        return Problem(self.document.file, mark.line + 1, mark.column + 1, format_path(path), message)
