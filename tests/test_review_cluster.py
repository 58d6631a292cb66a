"""`dealcoach review --engine dask`: the same review on a dask cluster, byte for byte, with the
playbook compiled once per worker process. The cluster (two worker processes) is started by the test."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.batch import cluster, pool
from tests.test_review import deal, write

distributed = pytest.importorskip("distributed", reason="the cluster extra is not installed (pip install -e '.[test]')")


@pytest.fixture(scope="module")
def scheduler():
    """A local cluster of two single-threaded worker processes, as a real cluster's scheduler."""
    import logging

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    ) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def client(scheduler):
    with distributed.Client(scheduler, set_as_default=False) as client:
        yield client


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("deals")
    write(folder, "a", deal("健康项目", stage="research", value=200_000))
    write(folder, "b", deal("大单没教练", stage="decision", value=5_000_000, coach=False, met_buyer=False))
    write(folder, "c", deal("小单没教练", owner="刘芳", value=300_000, coach=False))
    write(folder, "d", deal("没见决策者", owner="刘芳", met_buyer=False))
    write(folder, "e", deal("Solo", owner="Alex Kim", stage="preselection", value=None))
    write(folder, "f", deal("第六个", owner="陈静", stage="intent", value=80_000, met_buyer=False))
    return folder


@pytest.fixture
def one_deal_per_task(monkeypatch):
    """Every deal its own task, so that both workers get some and each one compiles the playbook
    first: the count of compilations then says once per worker, not once per task."""
    monkeypatch.setattr(pool, "CHUNK", 1)


def review(*args, lang="en"):
    result = CliRunner().invoke(main, ["review", *map(str, args), "--lang", lang])
    assert "Traceback" not in result.output, result.output
    return result


@pytest.mark.parametrize("fmt", ["text", "jsonl", "html"])  # json and csv are made from the same lines as jsonl
def test_the_dask_review_is_byte_identical_to_the_local_one(folder, scheduler, fmt, one_deal_per_task):
    local = review(folder, "--format", fmt)
    on_cluster = review(folder, "--format", fmt, "--engine", "dask", "--scheduler", scheduler)
    assert local.exit_code == on_cluster.exit_code == 0
    assert on_cluster.stdout == local.stdout and on_cluster.stderr == ""


def test_invalid_deals_are_listed_and_skipped_as_in_the_local_review(folder, scheduler, tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.json").write_bytes((folder / f"{name}.json").read_bytes())
    write(tmp_path, "y-bad-stage", {"name": "坏的", "account": {"name": "x"}, "stage": "somewhere"})
    (tmp_path / "z-not-utf8.yaml").write_bytes(b"name: \xff\xfe\n")
    local = review(tmp_path, "--format", "jsonl")
    on_cluster = review(tmp_path, "--format", "jsonl", "--engine", "dask", "--scheduler", scheduler)
    assert local.exit_code == on_cluster.exit_code == 1
    assert on_cluster.stderr == local.stderr and "y-bad-stage.json" in local.stderr and "not UTF-8" in local.stderr
    assert on_cluster.stdout == local.stdout and len(on_cluster.stdout.splitlines()) == 3


def test_each_worker_compiles_the_playbook_once_however_many_deals_it_reviews(
    folder, scheduler, client, one_deal_per_task
):
    """In Chinese: no other test of this module asks the workers for that playbook and language."""
    built, served = client.run(cluster.built), client.run(cluster.served)
    for _ in range(2):  # a second run on the same cluster compiles nothing again
        result = review(folder, "--format", "jsonl", "--engine", "dask", "--scheduler", scheduler, lang="zh")
        assert result.exit_code == 0
    now_built, now_served = client.run(cluster.built), client.run(cluster.served)
    assert sorted(now_served[worker] - served[worker] for worker in served)[0] >= 1  # both workers took deals
    assert sum(now_served.values()) - sum(served.values()) == 12
    assert [now_built[worker] - built[worker] for worker in built] == [1, 1]


def test_without_a_scheduler_a_local_cluster_of_jobs_workers_is_started(folder):
    local = review(folder, "--format", "jsonl")
    started = review(folder, "--format", "jsonl", "--engine", "dask", "--jobs", "2")
    assert started.exit_code == 0 and started.stdout == local.stdout and started.stderr == ""


def test_a_scheduler_that_cannot_be_reached_is_exit_2_with_nothing_reviewed(folder):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = review(folder, "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 2 and result.stdout == ""
    assert "--scheduler tcp://127.0.0.1:9: cannot connect to the dask scheduler" in result.stderr


def test_a_cluster_without_workers_is_exit_2_saying_so(folder, monkeypatch):
    monkeypatch.setattr(cluster, "WAIT_FOR_WORKERS", 1)
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty:
        result = review(folder, "--engine", "dask", "--scheduler", empty.scheduler_address)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"the cluster has no workers; start some with: dask worker {empty.scheduler_address}" in result.stderr


def test_workers_without_this_machines_playbook_are_refused(folder, scheduler, tmp_path, monkeypatch):
    layer = tmp_path / "company"
    layer.mkdir()
    (layer / "vocabulary.yaml").write_text("# a company layer only this machine has\n{}\n", encoding="utf-8")
    monkeypatch.setenv("DEALCOACH_KB", str(layer))  # seen here; the workers were started without it
    result = review(folder, "--engine", "dask", "--scheduler", scheduler)
    assert result.exit_code == 2 and result.stdout == ""
    assert "install the same dealcoach and KB layers on every worker" in result.stderr


def test_without_the_cluster_extra_the_message_says_what_to_install(folder, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed raises ImportError
    result = review(folder, "--engine", "dask")
    assert result.exit_code == 2 and result.stdout == ""
    assert "pip install 'dealcoach[cluster]'" in result.stderr


def test_scheduler_needs_the_dask_engine(folder):
    result = review(folder, "--scheduler", "tcp://127.0.0.1:8786")
    assert result.exit_code == 2 and "--scheduler needs --engine dask" in result.stderr
