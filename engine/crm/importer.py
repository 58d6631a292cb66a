"""An import as the command line runs it: the export files and mapping in, deals (as documents for
``review``, or as commented deal files for ``import``) and problems out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dealcoach.engine.crm import hubspot, salesforce
from dealcoach.engine.crm.common import Imported
from dealcoach.engine.crm.mapping import load_mapping
from dealcoach.engine.deals import dealdoc
from dealcoach.engine.deals import schema as schema_mod
from dealcoach.engine.deals.vocabulary import Lang, Vocabulary
from dealcoach.engine.problems import InputError, Problem

CRMS = ("salesforce", "hubspot")


@dataclass
class Request:
    crm: str
    opportunities: str | None = None
    contact_roles: str | None = None
    contacts: str | None = None
    accounts: str | None = None
    history: str | None = None
    deals: str | None = None
    mapping: str | None = None

    def missing(self) -> list[str]:
        """The options this CRM needs that were not given, as the command line spells them."""
        needed = ("opportunities", "contact_roles", "contacts") if self.crm == "salesforce" else ("deals",)
        return [f"--{name.replace('_', '-')}" for name in needed if getattr(self, name) is None]


def load(request: Request, vocabulary: Vocabulary, as_of: date) -> Imported:
    """The open deals of the export; InputError when a file or the mapping cannot be used at all."""
    mapping = load_mapping(request.crm, request.mapping, vocabulary)
    if request.crm == "hubspot":
        assert request.deals is not None
        return hubspot.load(request.deals, mapping, vocabulary, as_of)
    assert request.opportunities and request.contact_roles and request.contacts
    files = salesforce.Files(
        request.opportunities, request.contact_roles, request.contacts, request.accounts, request.history
    )
    return salesforce.load(files, mapping, vocabulary, as_of)


def write(imported: Imported, folder: Path, vocabulary: Vocabulary, lang: Lang) -> list[Path]:
    """One commented deal file per imported deal, named after its CRM id."""
    fields = schema_mod.fields(schema_mod.deal_schema(vocabulary))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for label, row, data in imported.deals:
        crm_id = label.rpartition("#")[2]
        path = folder / f"{re.sub(r'[^0-9A-Za-z_.-]', '_', crm_id) or 'deal'}.yaml"
        header = [f"{label}", f"imported from {row.file} line {row.line}; fields the CRM does not know are left out"]
        try:
            path.write_text(dealdoc.commented(data, fields, vocabulary, lang, header), encoding="utf-8")
        except OSError as err:
            raise InputError([Problem(str(path), message=f"cannot write: {err.strerror or err}")]) from None
        written.append(path)
    return written
