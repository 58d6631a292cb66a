"""The one place that makes experta importable on Python 3.10+.

experta 1.9.4 pins ``frozendict==1.2``, whose class body subclasses ``collections.Mapping``;
that alias was removed from :mod:`collections` in Python 3.10, so a plain ``import experta``
fails with ``AttributeError``. Restoring the alias before experta is first imported is enough:
frozendict only needs the abstract base class, which lives on in :mod:`collections.abc`.

Every module of dealcoach imports experta from here, never directly, so the shim always runs
first. ``tests/test_install.py`` proves that a plain ``pip install`` into a fresh virtual
environment gives a working engine.
"""

import collections
import collections.abc
import logging

if not hasattr(collections, "Mapping"):
    collections.Mapping = collections.abc.Mapping  # type: ignore[attr-defined]

import experta
from experta import AS, EXISTS, MATCH, NOT, TEST, Fact, KnowledgeEngine, P, Rule
from experta import watchers as _watchers


def _quiet_watchers() -> None:
    """Silence experta's watchers: they format a log record for every match and every firing,
    which is a measurable share of the time spent on one deal."""
    for name in _watchers.ALL:
        getattr(_watchers, name).setLevel(logging.CRITICAL)


_quiet_watchers()

__all__ = ["AS", "EXISTS", "MATCH", "NOT", "TEST", "Fact", "KnowledgeEngine", "P", "Rule", "experta"]
