"""The deals page: the deal files in the served folder, and the deal editor."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from dealcoach.engine.web import files
from dealcoach.engine.web.app import Nav, render, site

router = APIRouter()
NAV = Nav("/deals", ("项目", "Deals"))
WORDS: dict[str, tuple[str, str]] = {
    "deals_title": ("项目文件", "Deal files"),
    "deals_none": ("这个文件夹里还没有项目文件。", "There are no deal files in this folder yet."),
    "deals_in": ("{} 中的项目文件", "Deal files in {}"),
    "new_deal": ("新建项目", "New deal"),
    "download": ("下载", "Download"),
}


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/deals", status_code=303)


@router.get("/deals", response_class=HTMLResponse, include_in_schema=False)
def deal_list(request: Request) -> HTMLResponse:
    folder = site(request).folder
    return render(request, "deals.html.j2", names=files.listing(folder))
