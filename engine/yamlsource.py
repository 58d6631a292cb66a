"""Load untrusted YAML or JSON safely, remembering where every value stands in the file.

Deal files, rule files and drill scenarios all come from people, so this loader is strict where
PyYAML is lenient: a duplicated key is an error (YAML would silently keep the last one), the file
size and nesting depth are bounded, and every failure becomes a :class:`Problem` with a line and
column instead of a traceback. Only ``SafeLoader`` is used: no YAML tag can construct an object.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, ClassVar

import yaml

from dealcoach.engine.problems import InputError, Path, Problem, format_path, quote

try:  # the C loader is several times faster; fall back where libyaml is missing
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

MAX_BYTES = 2_000_000
MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_DIGITS = 4_300  # Python's own limit on converting text to int
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


def read_text(source: str, *, max_bytes: int = MAX_BYTES, regular: bool = False) -> str:
    """The text of a file, or of standard input for ``-``, as UTF-8. With ``regular``, only a regular
    file is read: a knowledge-base folder is scanned, and a FIFO or device in it must not hang the load."""
    label = "<stdin>" if source == STDIN else source
    if source == STDIN and sys.stdin is None:
        raise InputError([Problem(label, message="standard input is closed; give a file name instead of -")])
    try:
        raw = sys.stdin.buffer.read(max_bytes + 1) if source == STDIN else _read_file(source, max_bytes, regular)
    except OSError as err:
        raise InputError([Problem(label, message=f"cannot read the file: {err.strerror or err}")]) from None
    except ValueError:  # standard input was closed by the caller
        raise InputError([Problem(label, message="standard input is closed; give a file name instead of -")]) from None
    if len(raw) > max_bytes:
        limit = f"{max_bytes // 1_000_000} MB" if max_bytes >= 1_000_000 else f"{max_bytes} bytes"
        raise InputError([Problem(label, message=f"the file is larger than {limit}; split it into smaller files")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            [Problem(label, message=f"not UTF-8 text (bad byte at offset {err.start}); save the file as UTF-8")]
        ) from None


def _read_file(source: str, max_bytes: int, regular: bool) -> bytes:
    if not regular:
        with open(source, "rb") as handle:
            return handle.read(max_bytes + 1)
    descriptor = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # a FIFO opens without a writer
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise InputError([Problem(source, message="not a regular file; a knowledge base holds plain files only")])
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


class _JsonValueError(ValueError):
    """A value JSON can spell but a deal cannot hold (a duplicate key, NaN, a huge integer)."""


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _JsonValueError(f"duplicate key {quote(key)}")
        seen[key] = value
    return seen


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _JsonValueError(f"a number has more than {MAX_DIGITS} digits")
    return int(text)


def _json_constant(name: str) -> float:
    raise _JsonValueError(f"{name} is not a JSON number")


def _load_json(label: str, text: str) -> Document:
    """JSON through the standard library (its exact grammar), with positions from the YAML
    composer: valid JSON is valid YAML flow syntax once its tabs (whitespace only, as a literal tab
    inside a JSON string is invalid) are spaces, so its node tree gives every key's line and column."""
    error: str | None = None
    data: Any = None
    try:
        data = json.loads(text, object_pairs_hook=_json_pairs, parse_int=_json_int, parse_constant=_json_constant)
    except json.JSONDecodeError as err:
        raise InputError([Problem(label, err.lineno, err.colno, message=f"invalid JSON: {err.msg}")]) from None
    except _JsonValueError as err:
        error = str(err)
    except RecursionError:
        raise InputError([Problem(label, message=f"nesting is deeper than {MAX_DEPTH} levels")]) from None
    document = Document(label, data)
    try:
        node = _SafeLoader(text.replace("\t", " ")).get_single_node()
    except (yaml.YAMLError, RecursionError):
        node = None  # JSON that YAML reads differently: messages lack line and column, nothing else
    if node is not None:
        _Walker(document, json=True).walk(node, (), 1)
    if error is not None:
        raise InputError([Problem(label, message=f"invalid JSON: {error}")])
    _check_depth(label, data)
    return document


def _check_depth(label: str, data: Any) -> None:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError([Problem(label, message=f"nesting is deeper than {MAX_DEPTH} levels")])
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children)


_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(_SafeLoader):  # type: ignore[misc,valid-type]
    """``SafeLoader`` that never raises anything but a located YAML error while building values.

    A date-like plain scalar stays the text the user wrote (a deal has no date fields, and
    ``2024-02-30`` in free-form notes is not a mistake); an explicit tag that cannot build its
    value (``!!int abc``, ``!!bool maybe``, a 5,000-digit integer) is a problem at its position, and
    ``!!binary`` is refused, as no field holds bytes."""

    yaml_implicit_resolvers: ClassVar = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
        for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, LookupError, AttributeError, ArithmeticError) as err:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            reason = f"more than {MAX_DIGITS} digits" if "digits" in str(err) else "not a valid value of that type"
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {quote(node.value)} as {tag}: {reason}", node.start_mark
            ) from None

    def construct_timestamp_text(self, node: yaml.ScalarNode) -> str:
        self.construct_yaml_timestamp(node)  # only to refuse what is not a timestamp
        return str(node.value)

    def refuse_binary(self, node: yaml.Node) -> None:
        raise yaml.constructor.ConstructorError(
            None, None, "binary data (!!binary) is not allowed; write text", node.start_mark
        )


_Loader.add_constructor(_TIMESTAMP, _Loader.construct_timestamp_text)
_Loader.add_constructor("tag:yaml.org,2002:binary", _Loader.refuse_binary)


def _load_yaml(label: str, text: str) -> Document:
    loader = _Loader(text)
    document = Document(label, None)
    try:
        node = loader.get_single_node()
        if node is not None:  # positions and duplicate keys before building: merge keys rewrite the tree
            _Walker(document).walk(node, (), 1)
            document.data = loader.construct_document(node)
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
    return document


class _Walker:
    """Records positions and finds duplicate keys, bounded against alias bombs and deep nesting."""

    def __init__(self, document: Document, *, json: bool = False):
        self.document = document
        self.json = json
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
            hint = "" if self.json else " (aliases?)"
            raise InputError([self._problem(node, f"the document expands to more than {MAX_NODES} values{hint}")])
        if isinstance(node, yaml.MappingNode):
            self._visit_mapping(node, path, depth)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._mark(path + (index,), item)
                self._visit(item, path + (index,), depth + 1)
        elif self.json and not node.style:  # plain: a number or a constant
            self._check_json_number(node, path)

    def _visit_mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> None:
        first_seen: dict[Any, int] = {}
        merged = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE and not self.json:
                merged.append(value_node)  # fields merged in may be overridden here: not duplicates
                continue
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            if key in first_seen:
                self.problems.append(
                    self._problem(
                        key_node,
                        f"{self._invalid}duplicate key {quote(key)} (first given on line {first_seen[key]})",
                        path,
                    )
                )
                continue
            first_seen[key] = key_node.start_mark.line + 1
            self._mark(path + (key,), key_node)
            self._visit(value_node, path + (key,), depth + 1)
        for value_node in merged:
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                self._visit(source, path, depth + 1)

    @property
    def _invalid(self) -> str:
        return "invalid JSON: " if self.json else ""

    def _check_json_number(self, node: yaml.Node, path: Path) -> None:
        """What :func:`_json_int` and :func:`_json_constant` refuse, found again with a position."""
        text = str(node.value)
        if text in ("NaN", "Infinity", "-Infinity"):
            self.problems.append(self._problem(node, f"invalid JSON: {text} is not a JSON number", path))
        elif len(text.lstrip("-")) > MAX_DIGITS and text.lstrip("-").isdigit():
            self.problems.append(self._problem(node, f"invalid JSON: a number has more than {MAX_DIGITS} digits", path))

    def _mark(self, path: Path, node: yaml.Node) -> None:
        self.document.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))

    def _problem(self, node: yaml.Node, message: str, path: Path = ()) -> Problem:
        mark = node.start_mark
        return Problem(self.document.file, mark.line + 1, mark.column + 1, format_path(path), message)
