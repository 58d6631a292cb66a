"""The deal editor through FastAPI's test client: open, preview, save and download deal files only
inside the served folder; invalid input shown at its field and never lost; everything escaped."""

from __future__ import annotations

import json
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import pytest
import yaml
from fastapi.testclient import TestClient

from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.playbook import kb
from dealcoach.engine.web.app import create_app

BANK = kb.scenarios_dir() / "bank-oa-network.yaml"
HOSTILE = '<script>alert("x")</script> O\'Brien & "Sons"\nline two 😀'


class FormReader(HTMLParser):
    """The (name, value) pairs a browser would post for the deal form of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.pairs: list[tuple[str, str]] = []
        self.inside = False
        self.select: str | None = None
        self.textarea = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == "deal-form":
            self.inside = True
        if not self.inside or ("name" not in a and tag != "option"):
            return
        if tag == "input" and a.get("type") not in ("submit",) and (a.get("type") != "checkbox" or "checked" in a):
            self.pairs.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select and "selected" in a:
            self.pairs.append((self.select, a.get("value", "")))
        elif tag == "textarea":
            self.pairs.append((a["name"], ""))
            self.textarea = True

    def handle_data(self, data: str) -> None:
        if self.textarea:
            name, value = self.pairs[-1]
            self.pairs[-1] = (name, value + data)

    def handle_endtag(self, tag: str) -> None:
        self.select = None if tag == "select" else self.select
        self.textarea = False if tag == "textarea" else self.textarea
        self.inside = False if tag == "form" else self.inside


def form_of(html: str) -> list[tuple[str, str]]:
    reader = FormReader()
    reader.feed(html)
    return reader.pairs


def changed(pairs, **values) -> list[tuple[str, str]]:
    """The pairs with some inputs given new values (keys with ``__`` for ``.`` and ``_N_`` for ``[N]``)."""
    wanted = {re.sub(r"_(\d+)_", r"[\1].", key).replace("__", "."): value for key, value in values.items()}
    return [(name, wanted.get(name, value)) for name, value in pairs]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    return tmp_path_factory.mktemp("web") / "served"


@pytest.fixture
def folder(served):
    """The served folder, as each test starts it: the bank deal and an empty subfolder, with a
    file beside the folder (outside it) that no request may reach."""
    shutil.rmtree(served, ignore_errors=True)
    served.mkdir()
    shutil.copy(BANK, served / "bank.yaml")
    (served / "sub").mkdir()
    (served.parent / "secret.yaml").write_text("name: secret\naccount: {name: outside}\n", encoding="utf-8")
    return served


@pytest.fixture(scope="module")
def app(served, builtin):
    return create_app(served, knowledge=builtin)


@pytest.fixture
def client(folder, app):
    return Client(app)


class Client(TestClient):
    def __init__(self, app):
        super().__init__(app, base_url="http://127.0.0.1")

    def post_form(self, url: str, pairs, **kwargs):
        headers = {"content-type": "application/x-www-form-urlencoded"}
        return self.post(url, content=urlencode(pairs), headers=headers, **kwargs)

    def opened(self, name: str = "bank.yaml") -> list[tuple[str, str]]:
        response = self.get("/deals/edit", params={"file": name})
        assert response.status_code == 200
        return form_of(response.text)


def model(path: Path, vocabulary):
    """A deal as the engine reads it."""
    return deal_mod.load(str(path), vocabulary).model_dump()


def test_the_deal_list_shows_the_deal_files_of_the_folder(client):
    page = client.get("/deals").text
    assert 'href="/deals/edit?file=bank.yaml"' in page


def test_the_front_page_leads_to_the_deal_list(client):
    assert client.get("/", follow_redirects=False).headers["location"] == "/deals"


def test_opening_a_deal_shows_every_value_of_the_file(client):
    pairs = dict(client.opened())
    assert pairs["name"] == "滨江银行OA专网建设（东华电信承建）"
    assert pairs["stakeholders[2].attitude"] == "doubt"
    assert pairs["stakeholders[4].favors"] == "华拓通信"
    assert pairs["budget.amount"] == "2800000"
    assert pairs["decision.timeframe_known"] == "false"


def test_saving_the_form_unchanged_writes_the_same_deal_in_the_same_order(client, folder, builtin):
    pairs = changed(client.opened(), _file="copy.yaml")
    response = client.post_form("/deals/edit", pairs + [("_op", "save")])
    assert "Saved to copy.yaml." in response.text
    assert model(folder / "copy.yaml", builtin.vocabulary) == model(BANK, builtin.vocabulary)


def test_a_saved_file_leaves_out_values_that_only_repeat_a_default(client, folder):
    client.post_form("/deals/edit", changed(client.opened(), _file="copy.yaml") + [("_op", "save")])
    saved = yaml.safe_load((folder / "copy.yaml").read_text(encoding="utf-8"))
    assert "receptivity" not in saved["stakeholders"][0] and "rep" in saved


def test_a_json_file_name_saves_json(client, folder, builtin):
    client.post_form("/deals/edit", changed(client.opened(), _file="sub/bank.json") + [("_op", "save")])
    assert json.loads((folder / "sub" / "bank.json").read_text(encoding="utf-8"))["stage"] == "evaluation"


def test_a_change_is_saved_and_reopened(client, folder):
    pairs = changed(client.opened(), stage="decision", stakeholders_0_attitude="accept")
    client.post_form("/deals/edit", pairs + [("_op", "save")])
    reopened = dict(client.opened())
    assert (reopened["stage"], reopened["stakeholders[0].attitude"]) == ("decision", "accept")


def test_an_invalid_deal_is_not_saved_and_everything_typed_is_kept(client, folder):
    before = (folder / "bank.yaml").read_bytes()
    pairs = changed(client.opened(), value="lots", stakeholders_1_attitude="sabotage")
    pairs = [(n, "Zhou; angry" if n == "stakeholders[0].title" else v) for n, v in pairs]
    page = client.post_form("/deals/edit", pairs + [("_op", "save")]).text
    assert (folder / "bank.yaml").read_bytes() == before
    assert "Not saved" in page
    assert form_of(page) == pairs
    assert re.search(r'id="e-f-value">input should be a valid number; got \'lots\'<', page.replace("&#39;", "'"))
    assert 'id="f-value" name="value" value="lots" aria-invalid="true"' in page


def test_an_unknown_enum_value_in_a_file_is_kept_as_a_choice_and_named(client, folder):
    text = (folder / "bank.yaml").read_text(encoding="utf-8").replace("attitude: doubt", "attitude: grumpy")
    (folder / "odd.yaml").write_text(text, encoding="utf-8")
    page = client.get("/deals/edit?file=odd.yaml").text
    assert dict(form_of(page))["stakeholders[2].attitude"] == "grumpy"
    assert "&#39;grumpy&#39; is not allowed" in page


@pytest.mark.parametrize(
    "name",
    [
        "../secret.yaml",
        "sub/../../secret.yaml",
        "%2e%2e/secret.yaml",
        "..%2fsecret.yaml",
        "/etc/passwd.yaml",
        "C:/secret.yaml",
        "..\\secret.yaml",
        ".hidden.yaml",
        "bank.py",
        "",
        "bank\x00.yaml",
        "link.yaml",
    ],
)
def test_no_file_outside_the_folder_can_be_opened_or_downloaded(client, folder, name):
    (folder / "link.yaml").symlink_to(folder.parent / "secret.yaml")
    for url in ("/deals/edit", "/deals/download"):
        response = client.get(url, params={"file": name})
        assert response.status_code == 404
        assert "outside" not in response.text.replace("leads outside", "")


@pytest.mark.parametrize("name", ["../written.yaml", "/tmp/written.yaml", "sub/../../written.yaml", "nowhere/x.yaml"])
def test_no_file_outside_the_folder_can_be_written(client, folder, name):
    page = client.post_form("/deals/edit", changed(client.opened(), _file=name) + [("_op", "save")]).text
    assert not (folder.parent / "written.yaml").exists() and not Path("/tmp/written.yaml").exists()
    assert re.search(r'id="e-f-_file">[^<]+<', page)


def test_a_symlink_pointing_out_cannot_be_written_through(client, folder):
    (folder / "out.yaml").symlink_to(folder.parent / "secret.yaml")
    before = (folder.parent / "secret.yaml").read_bytes()
    client.post_form("/deals/edit", changed(client.opened(), _file="out.yaml", _opened="out.yaml") + [("_op", "save")])
    assert (folder.parent / "secret.yaml").read_bytes() == before


def test_saving_under_the_name_of_another_existing_file_is_refused(client, folder):
    shutil.copy(folder / "bank.yaml", folder / "other.yaml")
    before = (folder / "other.yaml").read_bytes()
    page = client.post_form(
        "/deals/edit", changed(client.opened(), _file="other.yaml", stage="decision") + [("_op", "save")]
    ).text
    assert "other.yaml already exists" in page and (folder / "other.yaml").read_bytes() == before


def test_download_sends_the_file_as_an_attachment(client, folder):
    response = client.get("/deals/download?file=bank.yaml")
    assert response.content == (folder / "bank.yaml").read_bytes()
    assert response.headers["content-disposition"].startswith("attachment")


def test_the_preview_shows_the_advice_for_the_deal_as_typed(client):
    pairs = client.opened()
    before = client.post_form("/deals/preview", pairs).text
    after = client.post_form("/deals/preview", pairs + [("stakeholders[0].contacted", "true")]).text
    health = [int(re.search(r'id="health-score">(\d+)<', page).group(1)) for page in (before, after)]
    assert health[0] < health[1]
    assert 'data-rule="coverage.coach-arranges-economic-buyer"' in before
    assert 'data-rule="coverage.coach-arranges-economic-buyer"' not in after


def test_each_piece_of_advice_shows_its_reason_people_and_reasoning_chain(client):
    page = client.post_form("/deals/preview", client.opened()).text
    item = page[page.index('data-rule="coverage.coach-arranges-economic-buyer"') :].split("</li>\n</ol>")[0]
    assert "Who: 王敏, 周建国" in item and "Why: " in item and "Reasoning chain" in item


def test_the_preview_puts_each_problem_at_its_input_and_clears_the_others(client):
    pairs = changed(client.opened(), stakeholders_2_influence="", value="2,600,000", budget__amount="much")
    page = client.post_form("/deals/preview", pairs).text
    assert '<span class="err" id="e-f-budget-amount" hx-swap-oob="true">input should be a valid number' in page
    assert '<span class="err" id="e-f-value" hx-swap-oob="true"></span>' in page
    assert "Fix these 1 problem(s)" in page


def test_a_row_is_added_and_removed(client):
    pairs = client.opened()
    added = client.post_form("/deals/edit", pairs + [("_op", "add:competitors")]).text
    assert 'id="f-competitors-2-name"' in added and "autofocus" in added
    removed = form_of(client.post_form("/deals/edit", pairs + [("_op", "remove:stakeholders:0")]).text)
    assert dict(removed)["stakeholders[0].name"] == "王敏"


def test_a_new_deal_starts_with_one_empty_stakeholder_row(client):
    pairs = dict(form_of(client.get("/deals/new").text))
    assert pairs["stakeholders[0].name"] == "" and "stakeholders[1]" not in pairs


def test_why_not_explains_a_rule_that_gave_no_advice(client):
    page = client.post_form("/deals/whynot", client.opened() + [("_rule", "coverage.find-a-coach")]).text
    assert "did not fire" in page and "王敏" in page


def test_why_not_for_an_unknown_rule_says_so(client):
    page = client.post_form("/deals/whynot", client.opened() + [("_rule", "<b>nope</b>")])
    assert page.status_code == 200 and "no rule with id &#39;&lt;b&gt;nope&lt;/b&gt;&#39;" in page.text


def test_what_a_user_typed_is_escaped_everywhere_it_is_shown(client, folder):
    pairs = changed(client.opened(), name=HOSTILE, _file="hostile.yaml")
    pairs = [(n, HOSTILE if n == "stakeholders[0].title" else v) for n, v in pairs]
    pages = [
        client.post_form("/deals/preview", pairs).text,
        client.post_form("/deals/edit", pairs + [("_op", "save")]).text,
        client.get("/deals/edit?file=hostile.yaml").text,
    ]
    for page in pages:
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; O&#39;Brien &amp; &#34;Sons&#34;" in page
    assert yaml.safe_load((folder / "hostile.yaml").read_text(encoding="utf-8"))["name"] == HOSTILE.strip()
    assert dict(form_of(pages[2]))["stakeholders[0].title"] == HOSTILE


def test_a_file_name_with_markup_is_escaped_in_the_list(client, folder):
    shutil.copy(folder / "bank.yaml", folder / "<b>&x'.yaml")
    page = client.get("/deals").text
    assert "<b>&x'" not in page and "&lt;b&gt;&amp;x&#39;.yaml" in page


def test_a_file_that_is_not_yaml_is_reported_not_opened(client, folder):
    (folder / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    response = client.get("/deals/edit?file=broken.yaml")
    assert response.status_code == 422 and "broken.yaml:" in response.text and "Traceback" not in response.text
    assert str(folder) not in response.text


def test_a_file_that_is_no_mapping_is_reported_not_opened(client, folder):
    (folder / "list.yaml").write_text("- a\n- b\n", encoding="utf-8")
    response = client.get("/deals/edit?file=list.yaml")
    assert response.status_code == 422 and "must be a mapping" in response.text


@pytest.mark.parametrize(
    "pairs",
    [
        [("stakeholders[999].name", "x")],
        [("stakeholders[1000].name", "x"), ("a..b", "y"), ("[0]", "z"), ("name.x.y", "q")],
        [("account", "flat"), ("stakeholders", "flat"), ("signals", "nonsense")],
        [("_op", "remove:stakeholders:99"), ("_op", "add:nothing")],
        [("_op", "remove:x"), ("notes", "\x00\x01")],
        [("stakeholders[0].influence", "99999999999999999999999"), ("value", "1e400"), ("value", "nan")],
    ],
    ids=["far-row", "bad-names", "flat-sections", "bad-ops", "odd-op", "odd-numbers"],
)
def test_a_malformed_post_never_crashes_the_editor(client, pairs):
    for url in ("/deals/preview", "/deals/edit", "/deals/whynot"):
        assert client.post_form(url, pairs).status_code == 200


def test_a_post_that_is_not_a_form_is_answered_not_crashed(client):
    response = client.post("/deals/preview", content=b"\xff" * 10, headers={"content-type": "multipart/form-data"})
    assert response.status_code < 500


def test_the_labels_follow_the_chosen_language(client):
    page = client.get("/deals/edit?file=bank.yaml&lang=zh").text
    assert '<option value="doubt" selected>怀疑</option>' in page and '<html lang="zh-CN">' in page
    assert "干系人" in client.get("/deals/new").text  # the choice is remembered (cookie)


def test_saving_never_leaves_a_temporary_file(client, folder):
    client.post_form("/deals/edit", changed(client.opened(), _file="copy.yaml") + [("_op", "save")])
    assert sorted(os.listdir(folder)) == ["bank.yaml", "copy.yaml", "sub"]
