"""What a trainee studies: a plain-words note per concept, and the competencies concepts add up to.

Both are data in the knowledge base (``concept-notes.yaml``, ``competencies.yaml``), layered like
the rest of it: a company layer adds notes and competencies for its own concepts, or rewrites
ours. The concept map itself (``concepts.yaml``) stays the shared spec's; the notes live apart so
that map is never edited here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from dealcoach.engine import yamlsource
from dealcoach.engine.deals.vocabulary import Lang
from dealcoach.engine.playbook.kb import KnowledgeBase, layer_files
from dealcoach.engine.problems import InputError, Problem

NOTES_FILE = "concept-notes.yaml"
COMPETENCIES_FILE = "competencies.yaml"
OTHER = "other"  # the competency of a concept no competency lists (a company layer's new concept)


class _Bilingual(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class _NotesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notes: dict[str, _Bilingual] = {}


class _CompetencyEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: _Bilingual
    concepts: list[str] = Field(min_length=1)


class _CompetenciesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    competencies: list[_CompetencyEntry] = []


@dataclass(frozen=True)
class Competency:
    id: str
    zh: str
    en: str
    concepts: tuple[str, ...]

    def title(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


OTHER_COMPETENCY = Competency(OTHER, "其他", "Other", ())


@dataclass
class Coaching:
    notes: dict[str, _Bilingual] = field(default_factory=dict)
    competencies: dict[str, Competency] = field(default_factory=dict)

    def note(self, concept: str, lang: Lang) -> str | None:
        """The concept in plain words, or None when no layer explains it yet."""
        text = self.notes.get(concept)
        return None if text is None else (text.zh if lang == "zh" else text.en)

    def competency_of(self, concept: str) -> Competency:
        return next((c for c in self.competencies.values() if concept in c.concepts), OTHER_COMPETENCY)


def load(kb: KnowledgeBase) -> Coaching:
    """The notes and competencies of every layer of ``kb``; a later layer's entry with the same id
    replaces an earlier one. :class:`InputError` lists every problem (an unknown concept id, a
    concept claimed by two competencies, a malformed file)."""
    problems: list[Problem] = []
    coaching = Coaching()
    # Read like the knowledge base's own layer files (regular files only, safely, size-capped).
    for document, notes in layer_files(yamlsource.load, kb.layers, NOTES_FILE, _NotesFile, problems):
        for concept, text in notes.notes.items():
            if concept not in kb.concepts:
                problems.append(document.problem(("notes", concept), f"unknown concept id {concept!r}"))
            coaching.notes[concept] = text
    for document, groups in layer_files(yamlsource.load, kb.layers, COMPETENCIES_FILE, _CompetenciesFile, problems):
        for i, entry in enumerate(groups.competencies):
            problems += _competency_problems(entry, coaching, kb, document, ("competencies", i))
            coaching.competencies[entry.id] = Competency(
                entry.id, entry.title.zh, entry.title.en, tuple(entry.concepts)
            )
    if problems:
        raise InputError(problems)
    return coaching


def _competency_problems(
    entry: _CompetencyEntry,
    coaching: Coaching,
    kb: KnowledgeBase,
    document: yamlsource.Document,
    at: tuple[object, ...],
) -> list[Problem]:
    """A competency may list only known concepts, each in no other competency: a step's score must
    land in one place, or the competency totals would count it twice."""
    problems = []
    for j, concept in enumerate(entry.concepts):
        where = (*at, "concepts", j)
        if concept not in kb.concepts:
            problems.append(document.problem(where, f"unknown concept id {concept!r}"))
        owner = coaching.competency_of(concept)
        if owner.id not in (OTHER, entry.id):
            problems.append(document.problem(where, f"concept {concept} is already in competency {owner.id!r}"))
    return problems


def page(concept: str, kb: KnowledgeBase, coaching: Coaching, drills: list[str], lang: Lang) -> list[str]:
    """``dealcoach concept ID``: the concept in plain words, its competency, the rules that apply
    it and the drills that practise it."""
    zh = lang == "zh"
    colon = "：" if zh else ": "
    lines = [
        f"{concept} {kb.concepts[concept].title(lang)}",
        ("能力" if zh else "Competency") + colon + coaching.competency_of(concept).title(lang),
        "",
        coaching.note(concept, lang) or ("（这个要点还没有说明。）" if zh else "(No explanation of this concept yet.)"),
        "",
    ]
    rules = sorted(r.id for r in kb.rules if concept in r.model.concepts)
    if rules:
        lines += ["应用它的规则：" if zh else "Rules that apply it:", *(f"  {rule}" for rule in rules)]
    elif concept in kb.knowledge_only:
        lines.append(
            "没有规则应用它：它是知识，不对应某个交易局面，靠演练来学。"
            if zh
            else "No rule applies it: it is knowledge rather than a deal situation, learnt through drills."
        )
    else:
        lines.append("还没有规则应用它。" if zh else "No rule applies it yet.")
    if drills:
        lines += [
            "练习它的演练：" if zh else "Drills that practise it:",
            *(f"  dealcoach drill run {d}" for d in drills),
        ]
    else:
        lines.append("还没有演练练习它。" if zh else "No drill practises it yet.")
    return lines
