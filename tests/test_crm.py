"""CRM import: hand-made Salesforce and HubSpot exports, every mapping case, messy headers, bad rows."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.crm.cells import parse_amount, parse_date
from dealcoach.engine.crm.mapping import SALESFORCE_ROLES, SALESFORCE_STAGES

AS_OF = "2026-12-01"
STAGES = [s for s, v in SALESFORCE_STAGES.items()]
ROLES = list(SALESFORCE_ROLES)


def csv_file(path, rows, *, delimiter=",", bom=False, crlf=False):
    def cell(value):
        text = str(value)
        return f'"{text}"' if delimiter in text or '"' in text else text

    newline = "\r\n" if crlf else "\n"
    text = newline.join(delimiter.join(cell(v) for v in row) for row in rows) + newline
    path.write_bytes((("\ufeff" if bom else "") + text).encode("utf-8"))
    return path


@pytest.fixture
def export(tmp_path):
    """One open opportunity per default stage, each with one contact per default role."""
    opportunities = [["Id", "Name", "AccountId", "StageName", "Amount", "CloseDate", "OwnerId", "NextStep", "IsClosed"]]
    for index, stage in enumerate(STAGES):
        closed = "true" if stage.startswith("Closed") else "false"
        opportunities.append(
            [f"006{index:02}", f"Deal {stage}", "001A", stage, "1,200,000.50", "2026-12-31", "王磊", "", closed]
        )
    roles = [["OpportunityId", "ContactId", "Role", "IsPrimary"]]
    contacts = [["Id", "FirstName", "LastName", "Title", "LastActivityDate"]]
    for index, role in enumerate(ROLES):
        contacts.append(
            [
                f"003{index:02}",
                "伟" if index == 0 else f"P{index}",
                "张" if index == 0 else "Lee",
                "VP",
                "2026-11-21" if index % 2 else "",
            ]
        )
        for opp in range(len(STAGES)):
            roles.append([f"006{opp:02}", f"003{index:02}", role, "false"])
    accounts = [["Id", "Name", "Industry", "Type"], ["001A", "华东电网", "Utilities", "Customer"]]
    history = [["OpportunityId", "StageName", "CreatedDate"]]
    history += [
        ["00600", "Prospecting", "2026-10-01"],
        ["00600", "Qualification", "2026-10-20"],
        ["00600", "Prospecting", "2026-11-01"],
    ]
    return {
        "--opportunities": csv_file(tmp_path / "Opportunity.csv", opportunities),
        "--contact-roles": csv_file(tmp_path / "OpportunityContactRole.csv", roles),
        "--contacts": csv_file(tmp_path / "Contact.csv", contacts),
        "--accounts": csv_file(tmp_path / "Account.csv", accounts),
        "--history": csv_file(tmp_path / "OpportunityHistory.csv", history),
    }  # fmt: skip


def run(*args, as_of=True):
    result = CliRunner().invoke(main, [*map(str, args), *(["--as-of", AS_OF] if as_of else [])])
    assert "Traceback" not in result.output, result.output
    return result


def imported(export, tmp_path, *extra):
    flags = [str(x) for pair in export.items() for x in pair]
    result = run("import", "salesforce", *flags, *extra, "--out", tmp_path / "out", "--lang", "en")
    deals = {p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((tmp_path / "out").glob("*.yaml"))}
    return result, deals


def test_every_default_stage_maps_to_a_purchase_stage_and_closed_deals_are_left_out(export, tmp_path):
    result, deals = imported(export, tmp_path)
    assert result.exit_code == 0, result.stderr
    expected = {f"006{i:02}": v for i, v in enumerate(SALESFORCE_STAGES.values()) if v != "closed"}
    assert {k: d["stage"] for k, d in deals.items()} == expected
    assert "2 closed deal(s) left out" in result.stderr


def test_every_default_role_maps_to_a_buying_role(export, tmp_path):
    _, deals = imported(export, tmp_path)
    people = {p["name"]: p.get("roles", []) for p in deals["00600"]["stakeholders"]}
    assert people["张伟"] == ["user"]  # Business User; a Chinese name is family name first
    mapped = [SALESFORCE_ROLES[r] for r in ROLES]
    assert [roles[0] if roles else "none" for roles in people.values()] == mapped


def test_what_the_crm_knows_is_imported_and_what_it_does_not_is_left_out(export, tmp_path):
    _, deals = imported(export, tmp_path)
    deal = deals["00600"]
    assert deal["account"] == {"name": "华东电网", "industry": "Utilities"}
    assert (deal["value"], deal["owner"], deal["days_in_stage"]) == (1200000.5, "王磊", 30)
    first, second = deal["stakeholders"][:2]
    assert "contacted" not in first and "attitude" not in first
    assert (second["contacted"], second["days_since_contact"]) == (True, 10)
    assert "days_in_stage" not in deals["00601"]  # no history for it: unknown, not zero


def test_the_imported_files_are_valid_commented_deals(export, tmp_path):
    imported(export, tmp_path)
    for path in (tmp_path / "out").glob("*.yaml"):
        assert run("deal", "check", path, as_of=False).exit_code == 0
        assert path.read_text(encoding="utf-8").startswith("# ")


def test_report_labels_bom_crlf_and_semicolons_are_read_like_api_names(export, tmp_path):
    rows = [["Opportunity ID", "Opportunity Name", "Account Name", "Stage", "Amount", "Opportunity Owner", "Closed"]]
    rows.append(["006X", "Messy", "某银行", "Negotiation/Review", "1.234.567,50", "刘芳", "0"])
    export["--opportunities"] = csv_file(tmp_path / "report.csv", rows, delimiter=";", bom=True, crlf=True)
    del export["--accounts"]
    _, deals = imported(export, tmp_path)
    assert deals["006X"]["stage"] == "decision" and deals["006X"]["value"] == 1234567.5
    assert deals["006X"]["account"]["name"] == "某银行" and deals["006X"]["owner"] == "刘芳"


def test_a_mapping_file_overrides_stages_and_roles_and_maps_custom_fields(export, tmp_path):
    rows = [["Id", "Name", "StageName", "Fit__c"], ["006M", "Custom", "Shortlist", "full"]]
    export["--opportunities"] = csv_file(tmp_path / "o.csv", rows)
    contacts = [["Id", "LastName", "Attitude__c", "Influence__c"]]
    contacts += [[f"003{i:02}", f"L{i}", "accept", "5"] for i in range(len(ROLES))]
    export["--contacts"] = csv_file(tmp_path / "c.csv", contacts)
    csv_file(tmp_path / "r.csv", [["OpportunityId", "ContactId", "Role"], ["006M", "00300", "Executive Sponsor"]])
    export["--contact-roles"] = tmp_path / "r.csv"
    (tmp_path / "m.yaml").write_text(
        "stages: {Shortlist: preselection}\nroles: {Executive Sponsor: coach}\n"
        "opportunity_fields: {Fit__c: solution_fit}\n"
        "contact_fields: {Attitude__c: attitude, Influence__c: influence}\n",
        encoding="utf-8",
    )
    _, deals = imported(export, tmp_path, "--mapping", tmp_path / "m.yaml")
    deal = deals["006M"]
    assert (deal["stage"], deal["solution_fit"]) == ("preselection", "full")
    assert deal["stakeholders"] == [{"name": "L0", "roles": ["coach"], "attitude": "accept", "influence": 5}]


def test_a_bad_mapping_file_is_refused_with_line_and_column(export, tmp_path):
    (tmp_path / "m.yaml").write_text("stages:\n  Shortlist: nowhere\ncolour: red\n", encoding="utf-8")
    result, _ = imported(export, tmp_path, "--mapping", tmp_path / "m.yaml")
    assert result.exit_code == 2
    assert "m.yaml:2:3: stages.Shortlist: 'nowhere' is not a stage id or closed" in result.stderr
    assert "m.yaml:3:1: colour: unknown key 'colour'" in result.stderr


def test_a_broken_row_skips_its_deal_with_file_line_and_column_never_the_import(export, tmp_path):
    rows = [["Id", "Name", "StageName", "Amount"], ["006G", "Good", "Prospecting", "10"]]
    rows += [
        ["006S", "Stage", "Somewhere", "10"],
        ["006A", "Amount", "Prospecting", "lots"],
        ["006N", "", "Prospecting", ""],
    ]
    export["--opportunities"] = csv_file(tmp_path / "o.csv", rows)
    csv_file(
        tmp_path / "r.csv",
        [["OpportunityId", "ContactId", "Role"], ["006G", "00300", "Other"], ["006G", "00301", "Boss"]],
    )
    export["--contact-roles"] = tmp_path / "r.csv"
    result, deals = imported(export, tmp_path)
    assert result.exit_code == 1 and list(deals) == []
    err = result.stderr
    assert "r.csv:3:3: Role: role 'Boss' is not mapped" in err
    assert "o.csv:3:3: StageName: stage 'Somewhere' is not mapped" in err
    assert "o.csv:4:4: Amount: 'lots' is not an amount" in err
    assert "o.csv:5:2: Name: the opportunity has no name" in err


def test_a_contact_missing_from_the_contacts_file_is_reported_at_the_role_row(export, tmp_path):
    csv_file(tmp_path / "r.csv", [["OpportunityId", "ContactId", "Role"], ["00600", "003ZZ", "Other"]])
    export["--contact-roles"] = tmp_path / "r.csv"
    result, deals = imported(export, tmp_path)
    assert "r.csv:2:2: ContactId: contact '003ZZ' is not in the contacts file" in result.stderr
    assert "00600" not in deals and "00601" in deals


def test_a_file_without_a_required_column_names_it(export, tmp_path):
    export["--contacts"] = csv_file(tmp_path / "c.csv", [["Name"], ["x"]])
    result, _ = imported(export, tmp_path)
    assert result.exit_code == 2 and "c.csv:1:0: missing column(s): Id (or Contact ID, Contact Id)" in result.stderr


def test_review_reads_the_export_directly(export):
    flags = [str(x) for pair in export.items() for x in pair]
    result = run("review", "--crm", "salesforce", *flags, "--format", "jsonl")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 0 and len(lines) == 8
    assert all(line["file"].endswith(line["file"].rpartition("#")[2]) and line["owner"] == "王磊" for line in lines)


def test_hubspot_deals_export_through_the_same_mapping(tmp_path):
    rows = [
        ["Record ID", "Deal Name", "Deal Stage", "Amount", "Close Date", "Deal owner", "Associated Contacts", "Fit"]
    ]
    rows += [["1", "HS deal", "Contract Sent", "5000", "2026-12-24", "Amy", "Ann Lee (ann@x.com);Bo Chen", "partial"]]
    rows += [["2", "Won", "Closed Won", "1", "", "Amy", "", ""], ["3", "Odd", "Limbo", "1", "", "Amy", "", ""]]
    deals_csv = csv_file(tmp_path / "deals.csv", rows, delimiter=";")
    (tmp_path / "m.yaml").write_text("opportunity_fields: {Fit: solution_fit}\n", encoding="utf-8")
    result = run("import", "hubspot", "--deals", deals_csv, "--mapping", tmp_path / "m.yaml", "--out", tmp_path / "o")
    deal = yaml.safe_load((tmp_path / "o" / "1.yaml").read_text(encoding="utf-8"))
    assert (deal["stage"], deal["owner"], deal["solution_fit"]) == ("decision", "Amy", "partial")
    assert [p["name"] for p in deal["stakeholders"]] == ["Ann Lee", "Bo Chen"]
    assert result.exit_code == 1 and "deals.csv:4:3: Stage: stage 'Limbo' is not mapped" in result.stderr


def test_crm_files_without_crm_are_a_usage_error(export):
    result = run("review", "--opportunities", export["--opportunities"])
    assert result.exit_code == 2 and "--crm" in result.stderr


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1,234", 1234.0), ("1,5", 1.5), ("¥ 80,000", 80000.0), ("CNY 1.234.567", 1234567.0), ("12.5", 12.5), ("x", None)],
)
def test_amounts_as_crms_write_them(text, amount):
    assert parse_amount(text) == amount


@pytest.mark.parametrize("text", ["2026-05-06", "2026-05-06T10:00:00.000+0000", "5/6/2026", "06.05.2026", "2026/5/6"])
def test_dates_as_crms_write_them(text):
    assert str(parse_date(text)) == "2026-05-06"
