"""The knowledge-base cache: keyed by contents, bounded in size."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from jinja2.sandbox import SandboxedEnvironment

from dealcoach.engine.deals.vocabulary import Vocabulary
from dealcoach.engine.playbook import kb, kbcache
from dealcoach.engine.problems import InputError
from dealcoach.engine.render import templating


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


PRAISE = """\
rules:
  - id: coverage.thank-the-user
    category: coverage
    priority: low
    concepts: [R5]
    when:
      - stakeholder: {as: p, roles: user, contacted: true}
    advice: {zh: "{{ p.name }}已经点头了。", en: "Ask {{ p.name }} to speak up inside."}
    examples:
      fires: [{stakeholders: [{name: 甲, roles: [user], contacted: true}]}]
      silent: [{stakeholders: [{name: 甲, roles: [user]}]}]
"""
NODDED = """\
claims:
  nodded:
    phrases: {zh: [点头了], en: [has nodded]}
    requires: [stakeholder.attitude]
"""


def _company(tmp_path: Path) -> Path:
    folder = tmp_path / "company"
    (folder / "rules").mkdir(parents=True)
    (folder / "rules" / "extra.yaml").write_text(PRAISE, encoding="utf-8")
    return folder


def _load(layer: Path, store: Path) -> kb.KnowledgeBase:
    return kb.load([kb.builtin_dir(), layer], cache=kbcache.Cache(store))


def test_a_claims_file_added_after_a_clean_load_is_checked(tmp_path):
    layer, store = _company(tmp_path), tmp_path / "cache"
    _load(layer, store)  # passes, and the cache says so
    (layer / "claims.yaml").write_text(NODDED, encoding="utf-8")
    with pytest.raises(InputError) as raised:
        _load(layer, store)
    assert "says '点头了' but the conditions do not test stakeholder.attitude" in str(raised.value.problems[0])


def test_a_report_layout_broken_after_a_clean_load_is_checked(tmp_path):
    layer, store = _company(tmp_path), tmp_path / "cache"
    (layer / "templates").mkdir()
    layout = layer / "templates" / "report.text.j2"
    layout.write_text("{{ deal.name }}\n", encoding="utf-8")
    _load(layer, store)
    layout.write_text("{{ deal.name }} {{ mood }}\n", encoding="utf-8")
    with pytest.raises(InputError) as raised:
        _load(layer, store)
    assert "template uses 'mood'" in str(raised.value.problems[0])


def _env(store: Path) -> SandboxedEnvironment:
    return templating.make_environment(Vocabulary(), bytecode_cache=kbcache.Cache(store).templates())


def test_a_compiled_template_is_reused_by_a_later_run(tmp_path, monkeypatch):
    templating.compile_template(_env(tmp_path), "Hello {{ name }}")
    later = _env(tmp_path)
    monkeypatch.setattr(later, "compile", lambda *args, **kwargs: pytest.fail("compiled again"))
    assert templating.compile_template(later, "Hello {{ name }}").render(name="Li") == "Hello Li"


def test_a_changed_template_is_compiled_again(tmp_path):
    templating.compile_template(_env(tmp_path), "Hello {{ name }}")
    assert templating.compile_template(_env(tmp_path), "Bye {{ name }}").render(name="Li") == "Bye Li"


def test_compiled_code_is_not_shared_between_compiler_settings(tmp_path):
    env = _env(tmp_path)
    assert templating.compile_template(env, "{{ x }}").render(x="<b>") == "<b>"
    escaping = env.overlay(autoescape=True)
    assert templating.compile_template(escaping, "{{ x }}").render(x="<b>") == "&lt;b&gt;"


def test_a_template_from_the_cache_is_still_sandboxed_and_strict(tmp_path):
    for source in ("{{ ''.__class__ }}", "{{ missing }}"):
        templating.compile_template(_env(tmp_path), source)
        cached = templating.compile_template(_env(tmp_path), source)
        with pytest.raises(templating.TemplateRenderError):
            templating.render(cached, {}, 1000)


def test_a_damaged_compiled_template_is_compiled_again(tmp_path):
    templating.compile_template(_env(tmp_path), "Hello {{ name }}")
    for entry in tmp_path.glob("*.jinja"):
        entry.write_bytes(b"\x00garbage")
    assert templating.compile_template(_env(tmp_path), "Hello {{ name }}").render(name="Li") == "Hello Li"


def test_with_the_cache_off_no_template_is_kept(tmp_path):
    assert kbcache.Cache(tmp_path, enabled=False).templates() is None


def test_a_module_written_since_the_code_stamp_was_remembered_is_read_again(tmp_path, monkeypatch):
    engine = tmp_path / "engine"
    engine.mkdir()
    module = engine / "rules.py"
    module.write_text("LIMIT = 1\n", encoding="utf-8")
    monkeypatch.setattr(kbcache, "ENGINE", engine)
    store = tmp_path / "cache"
    before = kbcache.Cache(store).salt
    assert kbcache.Cache(store).salt == before  # remembered
    times = module.stat()
    module.write_text("LIMIT = 2\n", encoding="utf-8")  # same size, and the old times put back, as a copy may
    os.utime(module, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert kbcache.Cache(store).salt != before
