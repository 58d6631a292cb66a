"""Many deals in one call: worker processes, ordered streaming output, the same bytes for any --jobs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.batch import pool, stream
from tests.conftest import SCENARIOS

DEALS = sorted(str(p) for p in SCENARIOS.glob("*.yaml") if not p.name.endswith(".expect.yaml"))


def scaled(factor: int):
    """A handler factory, built once per worker from picklable arguments."""
    return lambda item: item * factor


def test_results_come_back_in_input_order_from_several_workers():
    assert list(pool.run(range(500), scaled, (3,), jobs=2)) == [i * 3 for i in range(500)]


def test_one_job_uses_the_callers_handler_without_building_another():
    assert list(pool.run([1, 2], scaled, (3,), jobs=1, local=lambda item: -item)) == [-1, -2]


def test_many_deals_default_to_one_worker_per_core_and_few_to_one():
    assert pool.default_jobs(pool.MANY) == pool.cores()
    assert pool.default_jobs(pool.MANY - 1) == 1


@pytest.mark.parametrize(("several", "count"), [(True, 0), (True, 1), (True, 3), (False, 1)])
def test_a_streamed_json_array_is_byte_identical_to_the_whole_document(several, count):
    docs = [{"deal": f"d{i}", "advice": [{"text": '引号"', "n": [1, 2]}], "empty": {}} for i in range(count)]
    out: list[str] = []
    writer = stream.Stream(out.append, "json", several=several)
    for i, doc in enumerate(docs):
        writer.add(stream.piece(f"f{i}", doc, "json", several=several))
    writer.close()
    whole = [{**d, "file": f"f{i}"} for i, d in enumerate(docs)] if several else docs[0]
    expected = json.dumps(whole, ensure_ascii=False, indent=2) + "\n" if count else ""
    assert "".join(out) == expected


def advise(*args):
    return CliRunner().invoke(main, ["advise", *args])


@pytest.mark.parametrize("fmt", ["json", "jsonl", "text", "markdown"])
def test_advise_output_is_byte_identical_whatever_the_number_of_jobs(fmt, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\naccount: {name: y}\nstage: nowhere\n", encoding="utf-8")
    files = [*DEALS, str(broken), *DEALS[:3]]
    one, two = advise(*files, "--format", fmt, "--jobs", "1"), advise(*files, "--format", fmt, "--jobs", "2")
    assert one.exit_code == two.exit_code == 2
    assert one.stdout == two.stdout and one.stderr == two.stderr
    assert "broken.yaml" in two.stderr and "Traceback" not in two.output


def test_advise_json_for_many_files_is_one_array_in_the_order_given():
    result = advise(*reversed(DEALS), "--format", "json", "--jobs", "2")
    assert [doc["file"] for doc in json.loads(result.stdout)] == list(reversed(DEALS))


def test_jobs_must_be_a_positive_number():
    result = advise(DEALS[0], "--jobs", "0")
    assert result.exit_code == 2 and "--jobs" in result.stderr
