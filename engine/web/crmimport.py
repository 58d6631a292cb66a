"""Importing deals from CRM export files in the browser: the files of ``dealcoach import`` are
uploaded, and one deal file per open deal is written into a folder inside the served folder,
exactly as the command line writes them (:mod:`dealcoach.engine.crm.importer`)."""

from __future__ import annotations

import datetime
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData, UploadFile

from dealcoach.engine.crm import cells, importer
from dealcoach.engine.problems import InputError
from dealcoach.engine.web import files
from dealcoach.engine.web.app import lang_of, render, site

router = APIRouter(include_in_schema=False)
NAV = None  # reached from the deal list
UPLOADS = ("opportunities", "contact_roles", "contacts", "accounts", "history", "deals", "mapping")
MAX_UPLOAD = 20_000_000  # bytes in one import (the export files together)
WORDS: dict[str, tuple[str, str]] = {
    "import_title": ("从 CRM 导入", "Import from a CRM"),
    "import_intro": (
        "上传 CRM 导出的文件，每个未关闭的项目会在所服务的文件夹中写成一个项目文件（与 dealcoach import 相同）。",
        "Upload the files a CRM exported: each open deal is written as a deal file inside the served folder "
        "(as dealcoach import does).",
    ),
    "crm": ("CRM", "CRM"),
    "out": ("写入的文件夹（在所服务的文件夹内）", "Folder to write to (inside the served folder)"),
    "as_of": ("计算天数的基准日（默认今天）", "Day that days-since are counted to (default today)"),
    "upload_opportunities": ("Salesforce：Opportunity 导出", "Salesforce: the Opportunity export"),
    "upload_contact_roles": (
        "Salesforce：OpportunityContactRole 导出",
        "Salesforce: the OpportunityContactRole export",
    ),
    "upload_contacts": ("Salesforce：Contact 导出", "Salesforce: the Contact export"),
    "upload_accounts": ("Salesforce（可选）：Account 导出", "Salesforce (optional): the Account export"),
    "upload_history": ("Salesforce（可选）：OpportunityHistory", "Salesforce (optional): OpportunityHistory"),
    "upload_deals": ("HubSpot：deals 导出", "HubSpot: the deals export"),
    "upload_mapping": ("映射文件（YAML，可选）", "Mapping file (YAML, optional)"),
    "import": ("导入", "Import"),
    "imported": (
        "已写入 {} 个项目文件，{} 个已关闭的项目未导入。",
        "Wrote {} deal file(s); {} closed deal(s) left out.",
    ),
    "needs": ("{} 需要这些文件：{}", "{} needs these files: {}"),
    "bad_date": ("基准日要写成 YYYY-MM-DD。", "Write the day as YYYY-MM-DD."),
    "row_problems": ("有问题、未导入的行：", "Rows with problems, not imported:"),
}


async def _form(request: Request) -> FormData:
    """The uploaded files, read in the event loop; the import itself runs in a worker thread."""
    return await request.form(max_files=len(UPLOADS), max_fields=20)


@router.get("/deals/import", response_class=HTMLResponse)
def import_form(request: Request) -> HTMLResponse:
    return page(request, crm="salesforce", out="imported", as_of="")


@router.post("/deals/import", response_class=HTMLResponse)
def import_files(request: Request, posted: Annotated[FormData, Depends(_form)]) -> HTMLResponse:
    """Read the uploaded export, write its open deals; every problem shown, nothing crashes."""
    crm = str(posted.get("crm", ""))
    out, as_of = str(posted.get("out", "")).strip(), str(posted.get("as_of", "")).strip()
    shown = {"crm": crm if crm in importer.CRMS else "salesforce", "out": out, "as_of": as_of}
    uploads = {name: value for name in UPLOADS if isinstance(value := posted.get(name), UploadFile) and value.filename}
    try:
        target = files.folder(site(request).folder, out)
        day = datetime.date.fromisoformat(as_of) if as_of else cells.today()
    except files.RefusedError as err:
        return page(request, **shown, problems=[str(err)])
    except ValueError:
        return page(request, **shown, problems=[("bad_date",)])
    with tempfile.TemporaryDirectory(prefix="dealcoach-import-") as scratch:
        given = {name: str(_keep(upload, Path(scratch) / name)) for name, upload in uploads.items()}
        wanted = importer.Request(shown["crm"], **given)
        missing = [option.removeprefix("--").replace("-", "_") for option in wanted.missing()]
        if missing:
            return page(request, **shown, problems=[("needs", shown["crm"], ", ".join(missing))])
        shared = site(request)
        try:
            imported = importer.load(wanted, shared.kb.vocabulary, day)
            written = importer.write(imported, target, shared.kb.vocabulary, lang_of(request))
        except InputError as err:
            return page(request, **shown, problems=[_local(str(p), scratch) for p in err.problems])
    names = [path.relative_to(shared.folder).as_posix() for path in written]
    return page(
        request,
        **shown,
        written=names,
        closed=imported.closed,
        row_problems=[_local(str(p), scratch) for p in imported.problems],
    )


def page(request: Request, **context: Any) -> HTMLResponse:
    context = {"problems": [], "written": None, "closed": 0, "row_problems": [], **context}
    return render(request, "import.html.j2", crms=importer.CRMS, uploads=UPLOADS, **context)


def _keep(upload: UploadFile, folder: Path) -> Path:
    """The upload saved under its own base name (problems then name the user's file)."""
    folder.mkdir()
    name = Path(upload.filename or "upload").name.replace("\x00", "") or "upload"
    path = folder / name
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out)
    return path


def _local(message: str, scratch: str) -> str:
    """A problem as the user knows the file: its own name, without the scratch folder."""
    return re.sub(re.escape(scratch) + r"/\w+/", "", message)
