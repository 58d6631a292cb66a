"""The knowledge-base cache: keyed by contents, bounded in size."""

from __future__ import annotations

import os
from pathlib import Path

from dealcoach.engine.playbook import kbcache


def _rule_file(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_text(f"rules: []\n# {name}\n", encoding="utf-8")
    return path


def test_the_cache_keeps_only_the_most_recently_used_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(kbcache, "MAX_ENTRIES", 3)
    store = tmp_path / "cache"
    for index in range(5):  # one run each: every run writes one entry, then prunes
        kbcache.Cache(store).load(str(_rule_file(tmp_path, f"r{index}.yaml")))
        for entry in store.iterdir():  # distinct times, oldest first, whatever the file system's resolution
            os.utime(entry, ns=(entry.stat().st_mtime_ns - 10**9,) * 2)
    assert len(list(store.glob("*.marshal"))) == 3


def test_a_cache_hit_counts_as_a_use(tmp_path, monkeypatch):
    monkeypatch.setattr(kbcache, "MAX_ENTRIES", 2)
    store = tmp_path / "cache"
    used, unused = _rule_file(tmp_path, "used.yaml"), _rule_file(tmp_path, "unused.yaml")
    kbcache.Cache(store).load(str(used))
    kbcache.Cache(store).load(str(unused))
    for age, entry in enumerate(sorted(store.glob("*.marshal"), key=lambda p: p.stat().st_mtime_ns)):
        os.utime(entry, ns=(age * 10**9,) * 2)  # long ago: the entry of used.yaml the older one
    [used_entry] = [p for p in store.glob("*.marshal") if p.stat().st_mtime_ns == 0]
    kbcache.Cache(store).load(str(used))  # a hit: marks its entry as just used
    kbcache.Cache(store).load(str(_rule_file(tmp_path, "new.yaml")))  # a miss writes, then prunes to two
    names = {p.name for p in store.glob("*.marshal")}
    assert len(names) == 2 and used_entry.name in names


def test_the_code_stamp_follows_contents_not_times(tmp_path, monkeypatch):
    before = kbcache._code_stamp()
    module = Path(kbcache.__file__)
    stat = module.stat()
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    try:
        assert kbcache._code_stamp() == before
    finally:
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns))
