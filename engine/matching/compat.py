"""The one place that imports experta, with the shim it needs on Python 3.10+.

experta 1.9.4 pins ``frozendict==1.2``, whose class body subclasses ``collections.Mapping``;
that alias was removed from :mod:`collections` in Python 3.10, so a plain ``import experta``
fails with ``AttributeError``. The alias is put back only while experta (and with it frozendict)
is first imported, then removed again: frozendict needs the abstract base class only to define
its class, and a program embedding dealcoach must not find the standard library changed.

Every module of dealcoach imports experta from here, never directly, so experta is always first
imported under the shim. ``tests/test_compat.py`` proves the standard library is left as found;
``tests/test_install.py`` that a plain ``pip install`` into a fresh environment gives a working engine.
"""

import collections
import collections.abc
import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def _mapping_alias() -> Iterator[None]:
    """``collections.Mapping`` for the duration of the block, unless it was already there."""
    missing = not hasattr(collections, "Mapping")
    if missing:
        collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if missing:
            del collections.Mapping  # type: ignore[attr-defined]


with _mapping_alias():
    import experta
    from experta import AS, EXISTS, MATCH, NOT, TEST, Fact, KnowledgeEngine, P, Rule
    from experta import watchers as _watchers
    from experta.abstract import Strategy
    from experta.activation import Activation
    from experta.strategies import DepthStrategy


def _quiet_watchers() -> None:
    """Silence experta's watchers: they format a log record for every match and every firing,
    which is a measurable share of the time spent on one deal."""
    for name in _watchers.ALL:
        getattr(_watchers, name).setLevel(logging.CRITICAL)


_quiet_watchers()

__all__ = [
    "AS",
    "EXISTS",
    "MATCH",
    "NOT",
    "TEST",
    "Activation",
    "DepthStrategy",
    "Fact",
    "KnowledgeEngine",
    "P",
    "Rule",
    "Strategy",
    "experta",
]
