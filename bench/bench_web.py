"""Benchmark: server-side time of ``POST /api/advise`` for a 20-stakeholder deal (issue 18: well
under 100 ms).

    .venv/bin/python bench/bench_web.py [--runs N] [--people N]

The app is run in process (FastAPI's test client) and times itself: the figure is the median of
its ``Server-Timing`` header, from the request reaching the app to the answer leaving it (reading
and validating the deal, the engine, the advice, the JSON). Beside it, the same work done by
calling the engine directly, sampled in turn with the requests so that the load of other processes
falls on both alike: the difference is what the web layer adds. The deal is generated from a fixed
seed (``bench_advise.synthetic_deal``), so every run measures the same work.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from dealcoach.engine.advising import advice, assessment
from dealcoach.engine.batch.stream import piece
from dealcoach.engine.deals.deal import validate
from dealcoach.engine.render import report
from dealcoach.engine.web.app import Site, create_app
from dealcoach.engine.yamlsource import load

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_advise import synthetic_deal

TIMING = re.compile(r"app;dur=([0-9.]+)")


def server_ms(client: TestClient, body: bytes, lang: str) -> float:
    response = client.post(f"/api/advise?lang={lang}", content=body)
    response.raise_for_status()
    match = TIMING.search(response.headers["server-timing"])
    assert match, "the app sent no Server-Timing header"
    return float(match.group(1))


def engine_ms(site: Site, body: bytes, lang: str) -> float:
    """The API's work without the web layer: what ``dealcoach advise --format json`` does per deal."""
    start = time.perf_counter()
    deal = validate(load("bench.json", text=body.decode()), site.kb.vocabulary)
    outcome = site.run(deal)
    document = report.document(
        deal, advice.build(outcome, site.kb, lang), assessment.assess(outcome, site.kb, lang), lang
    )
    piece("bench.json", document, "json", several=False)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--people", type=int, default=20)
    args = parser.parse_args()
    body = json.dumps(synthetic_deal(args.people), ensure_ascii=False).encode()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(folder)
        client = TestClient(app, base_url="http://127.0.0.1")
        for lang in ("en", "zh"):  # warm-up: templates compiled on first use
            server_ms(client, body, lang)
        samples: list[float] = []
        direct: list[float] = []
        for run in range(args.runs):
            lang = ("en", "zh")[run % 2]
            samples.append(server_ms(client, body, lang))
            direct.append(engine_ms(app.state.site, body, lang))
    served, engine = statistics.median(samples), statistics.median(direct)
    print(
        f"POST /api/advise, {args.people} stakeholders: median {served:.1f} ms server-side "
        f"(min {min(samples):.1f}, max {max(samples):.1f}; {args.runs} runs)\n"
        f"the same work calling the engine directly: median {engine:.1f} ms; "
        f"the web layer adds {served - engine:.1f} ms"
    )


if __name__ == "__main__":
    main()
