"""The JSON API of the web app: the same document as `dealcoach advise --format json`, byte for
byte; every problem of an invalid deal named with its field; bad requests answered with a 4xx."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient

from dealcoach.cli import main
from dealcoach.engine.playbook import kb
from dealcoach.engine.web.app import MAX_BODY, create_app

DEALS = kb.example_deals()


@pytest.fixture(scope="module")
def client(builtin, tmp_path_factory):
    app = create_app(tmp_path_factory.mktemp("served"), knowledge=builtin)
    return TestClient(app, base_url="http://127.0.0.1")


def as_json(path) -> bytes:
    return json.dumps(yaml.safe_load(path.read_text(encoding="utf-8")), ensure_ascii=False).encode()


@pytest.mark.parametrize("index", range(len(DEALS)), ids=[p.stem for p in DEALS])
def test_the_advice_is_byte_for_byte_what_advise_prints(client, index):
    path, lang = DEALS[index], ("zh", "en")[index % 2]
    cli = CliRunner().invoke(main, ["advise", str(path), "--format", "json", "--lang", lang])
    response = client.post(f"/api/advise?lang={lang}", content=as_json(path))
    assert cli.exit_code == 0 and response.status_code == 200
    assert response.content == cli.stdout_bytes
    assert response.headers["content-type"] == "application/json"


def test_the_language_defaults_to_english(client):
    response = client.post("/api/advise", content=as_json(DEALS[0]))
    assert response.json()["lang"] == "en"


def test_an_unknown_language_is_a_422(client):
    assert client.post("/api/advise?lang=fr", content=as_json(DEALS[0])).status_code == 422


def test_an_invalid_deal_gets_one_message_per_problem_naming_the_field(client):
    deal = {"name": "x", "account": {"name": "a"}, "stakeholders": [{"name": "p", "attitude": "angry", "influence": 9}]}
    response = client.post("/api/advise", json=deal)
    assert response.status_code == 422
    problems = response.json()["detail"]
    assert [p["field"] for p in problems] == ["stakeholders[0].attitude", "stakeholders[0].influence"]
    assert all(p["message"].startswith(p["field"] + ": ") for p in problems)
    assert "'angry' is not allowed" in problems[0]["message"]


def test_a_missing_required_field_is_named(client):
    response = client.post("/api/advise", json={"name": "x"})
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "account"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"{not json", "invalid JSON"),
        (b"", "invalid JSON"),
        (b'{"name": "a", "name": "b"}', "duplicate key"),
        (b"\xff\xfe", "not UTF-8"),
    ],
    ids=["malformed", "empty", "duplicate-key", "not-utf8"],
)
def test_a_body_that_is_not_json_is_a_400_with_a_message(client, body, says):
    response = client.post("/api/advise", content=body)
    assert response.status_code == 400
    assert says in response.json()["detail"][0]["message"]


def test_json_that_is_not_a_deal_is_a_422(client):
    response = client.post("/api/advise", json=[1, 2])
    assert response.status_code == 422 and "must be a mapping" in response.json()["detail"][0]["message"]


def test_a_body_over_the_limit_is_a_413(client):
    response = client.post("/api/advise", content=b" " * (MAX_BODY + 1))
    assert response.status_code == 413


def test_a_streamed_body_over_the_limit_is_a_413(client):
    chunks = (b" " * 65536 for _ in range(MAX_BODY // 65536 + 2))
    response = client.post("/api/advise", content=chunks)
    assert response.status_code == 413


def test_the_openapi_description_documents_the_advise_endpoint(client):
    spec = client.get("/api/openapi.json").json()
    operation = spec["paths"]["/api/advise"]["post"]
    assert {"200", "400", "413", "422"} <= set(operation["responses"])
    assert [p["name"] for p in operation["parameters"]] == ["lang"]


def test_no_page_that_loads_scripts_from_a_cdn_is_served(client):
    assert client.get("/api/docs").status_code == 404 and client.get("/redoc").status_code == 404


def test_the_schemas_are_those_of_the_schema_command(client):
    for kind in ("deal", "advice"):
        cli = CliRunner().invoke(main, ["schema", kind])
        assert client.get(f"/api/schema/{kind}").json() == json.loads(cli.stdout)


def test_an_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}
