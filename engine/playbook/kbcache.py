"""A cache of what loading the knowledge base learns from file contents alone.

Parsing every YAML file and checking every template takes most of dealcoach's start-up, and the
answer depends only on the bytes of the files (and on the code of dealcoach that reads them). So, like
Python's ``.pyc`` files, the results are kept under a key made from those bytes:

* each parsed file (data and positions) as ``marshal`` data, which holds plain values only and
  runs no code when read;
* an empty marker saying "this exact set of files passed every check";
* each compiled Jinja template (rule texts and report layouts) as ``marshal`` data: the Python
  code Jinja generates, keyed by the template's text, its name and the environment's compiler
  settings, so a later run skips lexing, parsing and code generation. Nothing about safety is
  compiled in: the sandbox checks every attribute, call and operator when the template runs, and
  undefined names are errors then too (:mod:`dealcoach.engine.render.templating`).

Any change to any file of any layer changes the key, so a stale entry is never used. Set
``DEALCOACH_CACHE`` to another folder, or to ``off`` to disable the cache. A cache that cannot be
written is simply not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import sys
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket, BytecodeCache

from dealcoach.engine import yamlsource
from dealcoach.engine.yamlsource import Document

CACHE_ENV = "DEALCOACH_CACHE"
FORMAT = b"dealcoach-kb-cache-2"
# Cached entries kept: a few knowledge bases' worth (each has about 40 files, and up to four
# compiled templates per rule: advice and reason, in two languages).
MAX_ENTRIES = 4000
SUFFIXES = (".marshal", ".ok", ".jinja")
STAMP = ".stamp"  # the code stamp of one version of the engine, remembered (see Cache._code_stamp)
MAX_STAMPS = 16


def _default_dir() -> Path | None:
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return None if configured.lower() == "off" else Path(configured)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "dealcoach"


ENGINE = Path(__file__).resolve().parent.parent  # all of engine/, not only this subpackage


def _modules() -> list[str]:
    """The engine's modules, relative to :data:`ENGINE`, sorted (``os.walk``: pathlib's ``rglob``
    takes longer than hashing what it finds)."""
    found = []
    for top, folders, files in os.walk(ENGINE):
        folders[:] = [folder for folder in folders if folder != "__pycache__"]
        found += [os.path.relpath(os.path.join(top, name), ENGINE) for name in files if name.endswith(".py")]
    return sorted(found)


def _code_stamp() -> bytes:
    """A digest of the contents of dealcoach's own modules: a new release or a local edit of the code
    that checks the files makes every cached result stale (contents, not times: a checkout or a copy
    that keeps old times must not reuse results of other code)."""
    digest = hashlib.sha256()
    for name in _modules():
        with open(ENGINE / name, "rb") as module:
            digest.update(name.encode() + b"\0" + module.read() + b"\0")
    return digest.digest()


def _written(names: list[str]) -> bytes:
    """What says whether any module may have been written: each one's inode, size, and modification
    and change times. The change time (ctime) is set by the system on every write and cannot be set
    back, unlike the modification time, which a copy or a checkout may keep."""
    stats = [os.stat(ENGINE / name) for name in names]
    marks = [(n, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns) for n, s in zip(names, stats, strict=True)]
    return repr((str(ENGINE), marks)).encode()


class Cache:
    def __init__(self, directory: Path | None = None, *, enabled: bool = True):
        self.directory = (directory or _default_dir()) if enabled else None
        self._pruned = False
        self.salt = FORMAT + self._code_stamp() + sys.version.encode()

    def _code_stamp(self) -> bytes:
        """:func:`_code_stamp`, remembered while no module has been written since (reading every
        module costs more than the rest of the cache's work)."""
        path = self._path(hashlib.sha256(FORMAT + _written(_modules())).hexdigest(), STAMP)
        remembered = self._read(path)
        if remembered is not None and len(remembered) == hashlib.sha256().digest_size:
            return remembered
        stamp = _code_stamp()
        self._write(path, lambda: stamp)
        return stamp

    def templates(self) -> BytecodeCache | None:
        """A Jinja bytecode cache in the same folder (None when the cache is off)."""
        return _TemplateCode(self) if self.directory else None

    def _path(self, digest: str, suffix: str) -> Path | None:
        return self.directory / f"{digest}{suffix}" if self.directory else None

    def load(self, source: str, *, max_bytes: int = yamlsource.MAX_BYTES) -> Document:
        """``yamlsource.load``, from the cache when this exact text was parsed before."""
        text = yamlsource.read_text(source, max_bytes=max_bytes, regular=True)
        path = self._path(hashlib.sha256(self.salt + text.encode()).hexdigest(), ".marshal")
        content = self._read(path)
        if content is not None:
            try:
                data, positions = marshal.loads(content)
                return Document(source, data, positions)
            except (EOFError, ValueError, TypeError):
                pass  # a damaged entry: parse again and overwrite it
        document = yamlsource.load(source, text=text, max_bytes=max_bytes)
        self._write(path, lambda: marshal.dumps((document.data, document.positions)))
        return document

    def key(self, files: Iterable[Path]) -> str:
        """The files' names and contents, hashed; nothing is read when the cache is off. A file too
        large for the loader counts by size and time: the loader refuses it anyway."""
        if self.directory is None:
            return ""
        digest = hashlib.sha256(self.salt)
        for file in files:
            info = file.stat()
            content = file.read_bytes() if info.st_size <= yamlsource.MAX_BYTES else repr(info).encode()
            digest.update(str(file).encode() + b"\0" + content + b"\0")
        return digest.hexdigest()

    def passed(self, key: str) -> bool:
        path = self._path(key, ".ok")
        return path is not None and path.is_file()

    def mark_passed(self, key: str) -> None:
        self._write(self._path(key, ".ok"), lambda: b"")

    def _read(self, path: Path | None) -> bytes | None:
        """An entry's bytes, marked as recently used; None if there is none (or it is not a file)."""
        if path is None or not path.is_file():
            return None
        try:
            content = path.read_bytes()
            os.utime(path)  # recently used: kept when the cache is pruned
        except OSError:
            return None
        return content

    def _write(self, path: Path | None, content: Callable[[], bytes], *, prune: bool = True) -> None:
        """Write atomically; ``content`` is only computed when there is somewhere to write it."""
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(content())
            temporary.replace(path)  # atomic: a concurrent reader sees the old file or the new one
        except (OSError, ValueError):
            return
        if prune:
            self._prune()

    def _prune(self) -> None:
        """Keep the :data:`MAX_ENTRIES` most recently used entries (and :data:`MAX_STAMPS` code
        stamps); once per run, when something new was written (a knowledge base or the code
        changed), so the cache cannot grow without bound."""
        if self._pruned or self.directory is None:
            return
        self._pruned = True
        try:
            entries = [(p.stat().st_mtime_ns, p) for p in self.directory.iterdir() if p.suffix in (*SUFFIXES, STAMP)]
        except OSError:
            return
        for suffixes, bound in ((SUFFIXES, MAX_ENTRIES), ((STAMP,), MAX_STAMPS)):
            for _, stale in sorted((e for e in entries if e[1].suffix in suffixes), reverse=True)[bound:]:
                with contextlib.suppress(OSError):
                    stale.unlink()


class _TemplateCode(BytecodeCache):
    """Jinja's code for a template, stored with :mod:`marshal` alone (Jinja's own buckets use
    pickle, which can run code while reading). The key holds everything the generated code depends
    on: dealcoach's code (the cache's salt), Jinja's version, the environment's compiler settings,
    the template's name and file name (they appear in the code and its tracebacks) and its text."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def get_bucket(self, environment: jinja2.Environment, name: str, filename: str | None, source: str) -> Bucket:
        parts = (jinja2.__version__, compiler_settings(environment), name, filename, source)
        key = hashlib.sha256(self.cache.salt + repr(parts).encode()).hexdigest()
        bucket = Bucket(environment, key, key)
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        content = self.cache._read(self.cache._path(bucket.key, ".jinja"))
        if content is None:
            return
        try:
            checksum, code = marshal.loads(content)
        except (EOFError, ValueError, TypeError):
            return  # a damaged entry: compiled again and overwritten
        if checksum == bucket.checksum and isinstance(code, types.CodeType):
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Written without pruning: a report layout is stored within its render budget. What it
        adds is bounded by the templates of the knowledge bases in use, and the next change of one
        (or of dealcoach) prunes."""

        def content() -> bytes:
            return marshal.dumps((bucket.checksum, bucket.code))

        self.cache._write(self.cache._path(bucket.key, ".jinja"), content, prune=False)


def compiler_settings(environment: jinja2.Environment) -> tuple[Any, ...]:
    """What of ``environment`` shapes the code Jinja generates (the same template compiles
    differently with autoescaping, a finalize function, other delimiters or a sandbox's intercepted
    operators). Functions count by how Jinja passes them arguments, not by identity, so that the
    key is the same in every run."""
    finalize = environment.finalize
    autoescape = environment.autoescape
    return (
        type(environment).__module__,
        type(environment).__qualname__,
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        environment.optimized,
        environment.is_async,
        autoescape if isinstance(autoescape, bool) else getattr(autoescape, "__qualname__", "callable"),
        None if finalize is None else str(getattr(finalize, "jinja_pass_arg", "plain")),
        tuple(sorted(environment.extensions)),
        tuple(sorted(getattr(environment, "intercepted_binops", ()))),
        tuple(sorted(getattr(environment, "intercepted_unops", ()))),
    )
