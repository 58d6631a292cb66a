"""What a question turns on, told to the trainee before they answer.

A red-flag, criteria or needs-grid question is decided by rules of the playbook, and those rules
test facts of the deal: who has weight in the decision, who we have met, whose needs we meet,
what the customer is signalling. A trainee who is not told those facts can only guess, so before
such a question the drill lists every fact its deciding rules test, in the words a rep uses
("has real weight in the decision", with the number where the playbook draws a line), and the
lines themselves, read from the rules, so a trainer who moves a line in ``kb/`` moves it here too.
"""

from __future__ import annotations

from dataclasses import dataclass

from dealcoach.engine.deals.deal import Deal, Stakeholder
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.playbook.kb import KnowledgeBase

DECIDES = {"red_flags": "red_flag", "criteria_at_risk": "criterion", "relationship": "relationship"}
NUMERIC = {"gte": "≥", "gt": ">", "lte": "≤", "lt": "<"}
PEOPLE_FIELDS = (
    "roles",
    "attitude",
    "influence",
    "contacted",
    "org_need_met",
    "personal_need_met",
    "favors",
    "receptivity",
    "days_since_contact",
)


@dataclass(frozen=True)
class Line:
    """A line the playbook draws on a number: influence ≥ 4 is real weight in the decision."""

    fact_type: str
    field: str
    op: str
    value: int


def deciding_facts(kb: KnowledgeBase, derived: str) -> tuple[set[tuple[str, str]], list[Line]]:
    """The (fact type, field) pairs the rules deriving ``derived`` test, following the derived facts
    they rest on (a red flag on an opponent rests on the needs grid), and the numeric lines drawn."""
    fields: set[tuple[str, str]] = set()
    lines: dict[tuple[str, str, str], Line] = {}
    made = {d.fact_type for rule in kb.rules for d in rule.derive}
    todo, done = [derived], set()
    while todo:
        fact_type = todo.pop()
        done.add(fact_type)
        for rule in kb.rules:
            if not any(d.fact_type == fact_type for d in rule.derive):
                continue
            for pattern in (p for b in rule.branches for p in b.patterns):
                if pattern.fact_type in made and pattern.fact_type not in done | set(todo):
                    todo.append(pattern.fact_type)
                for test in pattern.tests:
                    fields.add((pattern.fact_type, test.field))
                    if test.op in NUMERIC and isinstance(test.value, int) and not isinstance(test.value, bool):
                        line = Line(pattern.fact_type, test.field, test.op, test.value)
                        lines.setdefault((line.fact_type, line.field, line.op), line)
    return fields, sorted(lines.values(), key=lambda line: (line.fact_type, line.field))


def told(step_ask: str | None, stakeholder: str | None, deal: Deal, kb: KnowledgeBase, lang: Lang) -> list[str]:
    """The facts a question of this kind turns on, one line per person or topic, then the lines
    the playbook draws; nothing for a question its prompt alone answers (a style, an attitude)."""
    derived = DECIDES.get(step_ask or "")
    if derived is None:
        return []
    fields, lines = deciding_facts(kb, derived)
    people = [p for p in deal.stakeholders if stakeholder in (None, p.name)]
    shown = [_person(p, fields, lines, kb, lang) for p in people]
    shown += _deal_lines(deal, fields, kb, lang) if stakeholder is None else []
    drawn = [_line(line, kb, lang) for line in lines if (line.fact_type, line.field) in fields]
    if drawn:
        shown.append(("手册的界线：" if lang == "zh" else "Where the playbook draws the line: ") + _join(drawn, lang))
    return [line for line in shown if line]


def _join(parts: list[str], lang: Lang) -> str:
    return ("；" if lang == "zh" else "; ").join(parts)


def weight(person: Stakeholder, lines: list[Line], lang: Lang, *, numbered: bool = True) -> str:
    """Influence in a rep's words, with the number where the question turns on it (the briefing):
    the playbook's line decides the words. Feedback tells the words alone, as a coach would."""
    line = next((x for x in lines if x.fact_type == "stakeholder" and x.field == "influence"), None)
    heavy = person.influence >= line.value if line and line.op == "gte" else person.influence >= 4
    if lang == "zh":
        words = "在决策中很有分量" if heavy else ("说话有一定分量" if person.influence == 3 else "在决策中分量不大")
        return f"{words}（影响力 {person.influence}/5）" if numbered else words
    words = (
        "has real weight in the decision"
        if heavy
        else ("carries some weight" if person.influence == 3 else "carries little weight")
    )
    return f"{words} (influence {person.influence} of 5)" if numbered else words


def _person(person: Stakeholder, fields: set[tuple[str, str]], lines: list[Line], kb: KnowledgeBase, lang: Lang) -> str:
    zh = lang == "zh"
    vocabulary = kb.vocabulary
    wanted = {f for t, f in fields if t in ("stakeholder", "relationship", "role_of")}
    if "class" in wanted:  # the needs grid rests on both needs
        wanted |= {"org_need_met", "personal_need_met"}
    parts = []
    for name in (f for f in PEOPLE_FIELDS if f in wanted or (f == "roles" and "role" in wanted)):
        value = getattr(person, name)
        if name == "roles":
            roles = "、" if zh else ", "
            labels = roles.join(vocabulary.label("role", r, lang) for r in value)
            parts.append(labels or ("角色不明" if zh else "role unclear"))
        elif name == "attitude" and value != "unknown":
            parts.append(("态度" if zh else "attitude ") + vocabulary.label("attitude", value, lang))
        elif name == "influence":
            parts.append(weight(person, lines, lang))
        elif name == "contacted":
            parts.append(("见过面" if value else "还没见过") if zh else ("met" if value else "not met yet"))
        elif name in ("org_need_met", "personal_need_met"):
            parts.append(_need(name, value, lang))
        elif name == "favors" and value:
            parts.append(f"倾向{value}" if zh else f"leans to {value}")
        elif name == "receptivity" and value != "unknown":
            parts.append(
                vocabulary.field_label("stakeholder", name, lang)
                + ("：" if zh else ": ")
                + vocabulary.label(name, value, lang)
            )
        elif name == "days_since_contact" and value is not None:
            parts.append(f"已有 {value} 天没联系" if zh else f"last contact {value} days ago")
    return person.name + ("：" if zh else ": ") + ("，" if zh else ", ").join(parts) if parts else ""


def _need(name: str, value: bool | None, lang: Lang) -> str:
    zh = lang == "zh"
    whose = (
        ("单位的需要" if name == "org_need_met" else "个人的需要")
        if zh
        else ("organisational need" if name == "org_need_met" else "personal need")
    )
    if value is None:
        state = "还不清楚" if zh else "not known"
    else:
        state = ("我们满足了" if value else "我们没满足") if zh else ("met by us" if value else "not met by us")
    return f"{whose}{state}" if zh else f"{whose} {state}"


def _deal_lines(deal: Deal, fields: set[tuple[str, str]], kb: KnowledgeBase, lang: Lang) -> list[str]:
    zh = lang == "zh"
    vocabulary = kb.vocabulary
    sep = "，" if zh else ", "
    colon = "：" if zh else ": "
    topics = {t for t, _ in fields}
    project = []
    if ("deal", "stage") in fields:
        stage = vocabulary.label("stage", deal.stage, lang)
        project.append(f"处于{stage}阶段" if zh else f"at the {stage} stage")
    if ("deal", "position") in fields and deal.position != "unknown":
        project.append(("我们的位置：" if zh else "our position: ") + vocabulary.label("position", deal.position, lang))
    if ("deal", "solution_fit") in fields and deal.solution_fit != "unknown":
        project.append(
            ("方案满足程度：" if zh else "solution fit: ") + vocabulary.label("solution_fit", deal.solution_fit, lang)
        )
    if ("deal", "days_in_stage") in fields and deal.days_in_stage is not None:
        project.append(f"在这个阶段已 {deal.days_in_stage} 天" if zh else f"{deal.days_in_stage} days in this stage")
    if "budget" in topics:
        project.append(("预算：" if zh else "budget: ") + vocabulary.label("budget_status", deal.budget.status, lang))
    out = [("项目" if zh else "The deal") + colon + sep.join(project)] if project else []
    account = []
    if ("account", "loyalty") in fields and deal.account.loyalty:
        account.append(
            ("忠诚阶梯：" if zh else "loyalty ladder: ") + vocabulary.label("loyalty", deal.account.loyalty, lang)
        )
    if ("account", "satisfaction") in fields and deal.account.satisfaction is not None:
        account.append(
            f"满意度 {deal.account.satisfaction}/5" if zh else f"satisfaction {deal.account.satisfaction} of 5"
        )
    if account:
        out.append(deal.account.name + colon + sep.join(account))
    rivals = [c for c in deal.competitors] if "competitor" in topics else []
    if rivals:
        out.append(
            ("竞争对手" if zh else "Competitors")
            + colon
            + ("、" if zh else "; ").join(_rival(c, lang, kb) for c in rivals)
        )
    if "signal" in topics:
        signals = ("、" if zh else "; ").join(vocabulary.label("signal", s, lang) for s in deal.signals)
        out.append(
            ("眼下的情况" if zh else "What is happening")
            + colon
            + (signals or ("没有特别的情况" if zh else "nothing unusual"))
        )
    return out


def _rival(rival, lang: Lang, kb: KnowledgeBase) -> str:
    zh = lang == "zh"
    notes = [kb.vocabulary.label("strength", rival.strength, lang)] if rival.strength != "unknown" else []
    if rival.incumbent:
        notes.append("现有供应商" if zh else "the incumbent")
    if not notes:
        return rival.name
    return f"{rival.name}（{'，'.join(notes)}）" if zh else f"{rival.name} ({', '.join(notes)})"


def _line(line: Line, kb: KnowledgeBase, lang: Lang) -> str:
    label = kb.vocabulary.field_label(line.fact_type, line.field, lang)
    scale = ("（满分 5）" if lang == "zh" else " (of 5)") if line.field in ("influence", "satisfaction") else ""
    meaning = ""
    if (line.fact_type, line.field) == ("stakeholder", "influence"):
        meaning = "就算在决策中很有分量" if lang == "zh" else " is real weight in the decision"
    # "more than", not ">": a terminal prompt is "> ", and the line must not read as one
    op = ("超过" if lang == "zh" else "more than") if line.op == "gt" else NUMERIC[line.op]
    return f"{label} {op} {line.value}{scale}{meaning}"
