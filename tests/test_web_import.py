"""Importing CRM export files in the browser: the deal files `dealcoach import` writes, inside the
served folder only, with every problem named by the user's own file."""

from __future__ import annotations

import pytest
import yaml
from fastapi.testclient import TestClient

from dealcoach.engine.web.app import create_app

DEALS_CSV = (
    b"Record ID;Deal Name;Deal Stage;Amount;Close Date;Deal owner;Associated Contacts;Fit\n"
    b'1;HS deal;Contract Sent;5000;2026-12-24;Amy;"Ann Lee (ann@x.com);Bo Chen";partial\n'
    b"2;Won;Closed Won;1;;Amy;;\n"
    b"3;Odd;Limbo;1;;Amy;;\n"
)
MAPPING = b"opportunity_fields: {Fit: solution_fit}\n"


@pytest.fixture
def client(tmp_path, builtin):
    (tmp_path / "served").mkdir()
    return TestClient(create_app(tmp_path / "served", knowledge=builtin), base_url="http://127.0.0.1")


def upload(client, out="imported", crm="hubspot", **extra):
    files = {"deals": ("deals.csv", DEALS_CSV, "text/csv"), "mapping": ("m.yaml", MAPPING, "application/yaml")}
    return client.post("/deals/import", data={"crm": crm, "out": out, "as_of": "2026-12-01", **extra}, files=files)


def test_the_open_deals_are_written_into_the_served_folder(client, tmp_path):
    page = upload(client).text
    deal = yaml.safe_load((tmp_path / "served" / "imported" / "1.yaml").read_text(encoding="utf-8"))
    assert (deal["stage"], deal["owner"], deal["solution_fit"]) == ("decision", "Amy", "partial")
    assert "Wrote 1 deal file(s); 1 closed deal(s) left out." in page
    assert 'href="/deals/edit?file=imported/1.yaml"' in page


def test_a_row_with_a_problem_is_named_by_the_uploaded_file(client):
    page = upload(client).text
    assert "deals.csv:4:3: Stage: stage &#39;Limbo&#39; is not mapped" in page and "/tmp/" not in page


@pytest.mark.parametrize("out", ["../outside", "/tmp/outside", "a/b/c"])
def test_the_deals_are_never_written_outside_the_folder(client, tmp_path, out):
    page = upload(client, out=out)
    assert page.status_code == 200 and 'class="alert"' in page.text
    assert not (tmp_path / "outside").exists() and not (tmp_path / "served" / "a").exists()


def test_missing_export_files_are_named(client):
    page = client.post("/deals/import", data={"crm": "salesforce", "out": "x"}).text
    assert "salesforce needs these files: opportunities, contact_roles, contacts" in page


def test_a_day_that_is_not_a_date_is_refused(client):
    assert "Write the day as YYYY-MM-DD." in upload(client, as_of="tomorrow").text


def test_the_import_form_lists_every_export_file(client):
    page = client.get("/deals/import").text
    assert page.count('type="file"') == 7 and 'enctype="multipart/form-data"' in page


def test_an_imported_deal_opens_in_the_editor_with_its_advice_and_is_on_the_board(client):
    upload(client)
    editor = client.get("/deals/edit", params={"file": "imported/1.yaml", "lang": "en"})
    assert editor.status_code == 200 and 'value="HS deal"' in editor.text and 'id="health-score"' in editor.text
    assert 'data-file="imported/1.yaml"' in client.get("/board").text
