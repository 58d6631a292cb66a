"""The vocabulary: enumerated values with their Chinese and English labels and aliases.

It is data (``kb/vocabulary.yaml``) because trainers extend it (new signals, for instance) and
because the same table serves three readers: the deal parser (aliases -> ids), the rule compiler
(is this value allowed here?) and the renderer (id -> label in the chosen language).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The languages are named where the command line can read them without importing pydantic.
from dealcoach.engine.options import LANGS as LANGS
from dealcoach.engine.options import Lang as Lang
from dealcoach.engine.problems import InputError
from dealcoach.engine.yamlsource import Document


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def __call__(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


class TermSpec(Label):
    aliases: tuple[str, ...] = ()


class FactLabels(_Strict):
    label: Label
    fields: dict[str, Label] = {}


class VocabularyFile(_Strict):
    enums: dict[str, dict[str, TermSpec]] = {}
    facts: dict[str, FactLabels] = {}


def _key(text: str) -> str:
    return text.strip().casefold()


@dataclass
class Vocabulary:
    enums: dict[str, dict[str, TermSpec]] = field(default_factory=dict)
    facts: dict[str, FactLabels] = field(default_factory=dict)
    _lookup: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

    def add(self, document: Document) -> None:
        """Merge one vocabulary file; later files add values and may relabel existing ones."""
        try:
            parsed = VocabularyFile.model_validate(document.data or {})
        except ValidationError as err:
            raise InputError(
                document.problem(tuple(e["loc"]), e["msg"]) for e in err.errors(include_url=False)
            ) from None
        for name, terms in parsed.enums.items():
            self.enums.setdefault(name, {}).update(terms)
        self.facts.update(parsed.facts)
        self._lookup.clear()

    def has_enum(self, enum: str) -> bool:
        return enum in self.enums

    def ids(self, enum: str) -> list[str]:
        return list(self.enums[enum])

    def normalise(self, enum: str, raw: object) -> str | None:
        """The id that ``raw`` names (id, Chinese label or alias, any case), or None."""
        if not isinstance(raw, str | bool) or enum not in self.enums:
            return None
        if enum not in self._lookup:
            table: dict[str, str] = {}
            for term_id, spec in self.enums[enum].items():
                for spelling in (term_id, spec.zh, spec.en, *spec.aliases):
                    table.setdefault(_key(spelling), term_id)
            self._lookup[enum] = table
        text = str(raw).lower() if isinstance(raw, bool) else raw
        return self._lookup[enum].get(_key(text))

    def closest(self, enum: str, raw: object) -> str | None:
        """The id whose spelling is closest to a value that names none (``evaluaton`` -> evaluation)."""
        if not isinstance(raw, str) or enum not in self.enums:
            return None
        self.normalise(enum, "")  # builds the spelling table
        table = self._lookup[enum]
        match = difflib.get_close_matches(_key(raw), list(table), n=1, cutoff=0.75)
        return table[match[0]] if match else None

    def allowed(self, enum: str) -> str:
        """``accept (接受), doubt (怀疑), ...`` for error messages."""
        return ", ".join(f"{term_id} ({spec.zh})" for term_id, spec in self.enums[enum].items())

    def label(self, enum: str, value: object, lang: Lang) -> str:
        spec = self.enums.get(enum, {}).get(str(value).lower() if isinstance(value, bool) else str(value))
        return spec(lang) if spec else str(value)

    def fact_label(self, fact_type: str, lang: Lang) -> str:
        labels = self.facts.get(fact_type)
        return labels.label(lang) if labels else fact_type

    def field_label(self, fact_type: str, field_name: str, lang: Lang) -> str:
        labels = self.facts.get(fact_type)
        label = labels.fields.get(field_name) if labels else None
        return label(lang) if label else field_name
