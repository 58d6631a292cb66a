"""The JSON API: ``POST /api/advise`` answers with exactly the document ``dealcoach advise
--format json`` writes for one file (``dealcoach.advice/1``), byte for byte.

The body is read as the command line reads a ``.json`` file (duplicate keys, NaN and huge numbers
refused, depth and size bounded), so both accept and refuse the same deals. A body that is not
JSON is a 400; a deal that is not valid a 422 listing every problem with the field it names.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from dealcoach.engine.advising import advice as advice_mod
from dealcoach.engine.advising import assessment as assessment_mod
from dealcoach.engine.batch.stream import piece
from dealcoach.engine.deals import deal as deal_mod
from dealcoach.engine.deals import schema as schema_mod
from dealcoach.engine.problems import InputError, Problem
from dealcoach.engine.render import report
from dealcoach.engine.web.app import SiteDep
from dealcoach.engine.yamlsource import load

router = APIRouter(prefix="/api", tags=["advice"])
NAV = None
BODY = "request.json"  # how problems name the request body (the suffix makes it read as JSON)


def _problems(problems: list[Problem]) -> list[dict[str, Any]]:
    return [
        {
            "field": p.path,
            "line": p.line,
            "column": p.column,
            "message": f"{p.path}: {p.message}" if p.path else p.message,
        }
        for p in problems
    ]


async def _body(request: Request) -> bytes:
    """The request body, read in the event loop; the route (the engine's work) runs in a worker thread."""
    return await request.body()


Body = Annotated[bytes, Depends(_body)]


@router.post(
    "/advise",
    summary="Advice on one deal",
    description="Takes a deal (the deal file format, as JSON) and returns the same `dealcoach.advice/1` document "
    "as `dealcoach advise --format json`: every piece of advice, ranked, and the assessment.",
    response_class=Response,
    responses={
        200: {"description": "The advice document.", "content": {"application/json": {}}},
        400: {"description": "The body is not JSON (or not UTF-8); `detail` lists the problem."},
        413: {"description": "The body is larger than the limit."},
        422: {"description": "The deal is invalid; `detail` has one entry per problem, naming its field."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "description": "A deal; its JSON Schema is GET /api/schema/deal."}
                }
            },
        }
    },
)
def advise(
    body: Body,
    shared: SiteDep,
    lang: Annotated[Literal["zh", "en"], Query(description="Language of the advice.")] = "en",
) -> Response:
    try:
        document = load(BODY, text=body.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        return JSONResponse(
            {"detail": [{"field": "", "message": f"the body is not UTF-8 (bad byte at offset {err.start})"}]}, 400
        )
    except InputError as err:
        return JSONResponse({"detail": _problems(err.problems)}, 400)
    try:
        deal = deal_mod.validate(document, shared.kb.vocabulary)
        outcome = shared.run(deal)
        advice = advice_mod.build(outcome, shared.kb, lang)
        health = assessment_mod.assess(outcome, shared.kb, lang)
    except InputError as err:
        return JSONResponse({"detail": _problems(err.problems)}, 422)
    text = piece(BODY, report.document(deal, advice, health, lang), "json", several=False)
    return Response(text, media_type="application/json")


@router.get("/schema/deal", summary="JSON Schema of the deal format (as `dealcoach schema deal`)")
def deal_schema(shared: SiteDep) -> JSONResponse:
    return JSONResponse(schema_mod.deal_schema(shared.kb.vocabulary))


@router.get("/schema/advice", summary="JSON Schema of the advice document (as `dealcoach schema advice`)")
def advice_schema(shared: SiteDep) -> JSONResponse:
    return JSONResponse(schema_mod.advice_schema(shared.kb.vocabulary, list(shared.kb.concepts)))
