"""The playbook browser for trainers: the loaded rules by category and by concept, each rule in
words with its templates and examples, whether those examples pass, and ``kb lint``.

Everything comes from the knowledge base the app serves (the built-in playbook and the company
layers it was started with) and from the same functions as ``kb list``, ``kb show``, ``kb test``
and ``kb lint``. A rule's template is shown as its source text, escaped: it is trainer-authored,
so it is untrusted. Examples run on the app's engine, one at a time under its lock, and their
results are kept for the life of the process (the knowledge base does not change while it runs);
running all of them takes a while, so the listing shows what has been run and links to the run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import yaml
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from dealcoach.engine.advising.advice import CATEGORIES
from dealcoach.engine.playbook import examples, trainer
from dealcoach.engine.playbook import kb as kb_mod
from dealcoach.engine.playbook.rulelang import Rule
from dealcoach.engine.problems import InputError
from dealcoach.engine.web.app import Nav, Site, lang_of, render, site

router = APIRouter(include_in_schema=False)
NAV = Nav("/playbook", ("规则库", "Playbook"))
WORDS: dict[str, tuple[str, str]] = {
    "playbook_title": ("规则库", "Playbook"),
    "playbook_counts": ("{} 条规则，{} 个知识层", "{} rules in {} layer(s)"),
    "by_category": ("按类别", "By category"),
    "by_concept": ("按要点", "By concept"),
    "all_rules": ("所有规则", "All rules"),
    "rules_in_category": ("类别 {} 的规则", "Rules of category {}"),
    "rules_citing": ("引用要点 {} 的规则", "Rules citing {}"),
    "rule": ("规则", "Rule"),
    "category": ("类别", "Category"),
    "priority": ("优先级", "Priority"),
    "derives": ("推导事实", "derives facts"),
    "concepts": ("要点", "Concepts"),
    "layer": ("知识层", "Layer"),
    "defined_in": ("定义于", "Defined in"),
    "source": ("出处", "Source"),
    "when": ("条件（全部满足时触发）", "When (all of these hold)"),
    "alternative": ("条件，第 {} 种情形", "When, alternative {}"),
    "derived_facts": ("推导出的事实", "Facts it derives"),
    "used_by": ("使用它的规则", "used by"),
    "advice_template": ("建议模板（{}）", "Advice template ({})"),
    "because_template": ("原因模板（{}）", "Reason template ({})"),
    "supersedes": ("取代", "Supersedes"),
    "excludes": ("排除", "Excludes"),
    "examples": ("示例", "Examples"),
    "examples_of": ("{} 个应触发，{} 个不应触发", "{} that must fire, {} that must not"),
    "example_fires": ("应触发 #{}", "must fire #{}"),
    "example_silent": ("不应触发 #{}", "must not fire #{}"),
    "passed": ("通过", "passes"),
    "failed": ("失败", "fails"),
    "not_run": ("未运行", "not run yet"),
    "run_all": ("运行所有规则的示例（kb test）", "Run every rule's examples (kb test)"),
    "examples_title": ("规则示例（kb test）", "Rule examples (kb test)"),
    "examples_summary": ("{} 个通过，{} 个失败", "{} passed, {} failed"),
    "lint_title": ("规则检查（kb lint）", "Lint (kb lint)"),
    "lint_ok": ("{} 条规则，没有问题。", "{} rules, no problems."),
    "lint_problems": ("{} 处问题：", "{} problem(s):"),
    "lint_layers": ("已加载的知识层", "Loaded layers"),
    "lint_skipped": ("加载时跳过的规则", "Rules left out when the playbook was loaded"),
    "none_cited": ("没有规则引用", "no rule cites it"),
}


def _rule(shared: Site, rule_id: str) -> Rule:
    rule = shared.kb.rule_by_id.get(rule_id)
    if rule is None:
        raise HTTPException(404, f"no rule {rule_id!r} in the loaded playbook; the rules are listed at /playbook")
    return rule


def _results(request: Request) -> dict[str, list[examples.Result]]:
    """The example results run so far in this process, by rule id."""
    state = request.app.state
    if not hasattr(state, "example_results"):
        state.example_results = {}
    return state.example_results


def run_examples(request: Request, rule: Rule) -> list[examples.Result]:
    """The rule's examples, run once per process on the app's engine."""
    shared = site(request)
    done = _results(request)
    if rule.id not in done:
        found = []
        for kind in examples.KINDS:
            for index in range(len(getattr(rule.model.examples, kind))):
                with shared.lock:
                    found.append(examples.run_example(shared.advisor, rule, kind, index))
        done[rule.id] = found
    return done[rule.id]


@router.get("/playbook", response_class=HTMLResponse)
def rule_list(request: Request, category: str = "", concept: str = "") -> HTMLResponse:
    """The rules (of one category, or citing one concept), with the categories and concepts to choose from."""
    knowledge = site(request).kb
    categories = Counter(rule.model.category for rule in knowledge.rules)
    cited = Counter(c for rule in knowledge.rules for c in rule.model.concepts)
    if category and category not in categories:
        raise HTTPException(404, f"no rule has the category {category!r}; categories: {', '.join(sorted(categories))}")
    if concept and concept not in knowledge.concepts:
        raise HTTPException(404, f"no concept {concept!r} in the loaded playbook")
    rules = [
        rule
        for rule in knowledge.rules
        if (not category or rule.model.category == category) and (not concept or concept in rule.model.concepts)
    ]
    order = {name: index for index, name in enumerate(CATEGORIES)}
    return render(
        request,
        "playbook.html.j2",
        rules=sorted(rules, key=lambda rule: (order.get(rule.model.category, len(order)), rule.model.category)),
        categories=sorted(categories.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])),
        concepts=[(c, knowledge.concepts[c], cited[c]) for c in knowledge.concepts],
        category=category,
        concept=concept,
        total=len(knowledge.rules),
        layers=len(knowledge.layers),
        results=_results(request),
        layer_of=lambda rule: _layer(knowledge, rule),
        **_names(request),
    )


@router.get("/playbook/rules/{rule_id}", response_class=HTMLResponse)
def rule_page(request: Request, rule_id: str) -> HTMLResponse:
    """One rule: its conditions in words, its templates as written, its examples and their results."""
    shared = site(request)
    rule = _rule(shared, rule_id)
    lang = lang_of(request)
    line, _ = rule.document.locate(rule.path)
    derived = [
        (pattern, sorted(r.id for r in shared.kb.rules if trainer.uses(r, pattern.fact_type)))
        for pattern in rule.derive
    ]
    return render(
        request,
        "rule.html.j2",
        rule=rule,
        model=rule.model,
        where=f"{rule.file}:{line}",
        layer=_layer(shared.kb, rule),
        branches=trainer.conditions(shared.kb, rule, lang),
        derived=derived,
        results=run_examples(request, rule),
        example_text=lambda kind, index: _example_text(rule, kind, index),
        **_names(request),
    )


@router.get("/playbook/examples", response_class=HTMLResponse)
def all_examples(request: Request) -> HTMLResponse:
    """``kb test``: every rule's examples (run once per process), the failures first."""
    knowledge = site(request).kb
    results = [result for rule in knowledge.rules for result in run_examples(request, rule)]
    failed = [result for result in results if not result.passed]
    return render(request, "examples.html.j2", results=results, failed=failed)


@router.get("/playbook/lint", response_class=HTMLResponse)
def lint(request: Request) -> HTMLResponse:
    """``kb lint`` on the files of the loaded layers as they are now (a trainer may have edited them)."""
    knowledge = site(request).kb
    try:
        fresh = kb_mod.load(knowledge.layers, recheck=True)
    except InputError as err:
        problems, summary, count = [str(p) for p in err.problems], [], 0
    else:
        problems, summary, count = [], trainer.layer_summary(fresh), len(fresh.rules)
    skipped = [str(problem) for problem in knowledge.skipped]
    return render(request, "lint.html.j2", problems=problems, summary=summary, count=count, skipped=skipped)


def _layer(knowledge: kb_mod.KnowledgeBase, rule: Rule) -> str:
    origin = knowledge.origin.get(rule.id)
    return trainer.layer_name(knowledge, origin) if origin else ""


def _example_text(rule: Rule, kind: str, index: int) -> str:
    """An example as the trainer wrote it (a fragment of a deal file), in YAML."""
    data: Any = getattr(rule.model.examples, kind)[index]
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def _names(request: Request) -> dict[str, Any]:
    """Concept titles and category labels in the page's language."""
    knowledge = site(request).kb
    lang = lang_of(request)
    return {
        "concept_title": lambda c: knowledge.concepts[c].title(lang) if c in knowledge.concepts else c,
        "category_label": lambda name: knowledge.vocabulary.label("category", name, lang),
        "priority_label": lambda priority: knowledge.vocabulary.label("priority", priority, lang),
    }
