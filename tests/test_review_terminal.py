"""`dealcoach review` on a real terminal (pexpect): the progress bar, and Ctrl-C writing what was done."""

from __future__ import annotations

import io
import os
import sys

import pexpect
import pytest

from tests.conftest import SCENARIOS


@pytest.fixture
def folder(tmp_path):
    source = (SCENARIOS / "bank-oa-network.yaml").read_text(encoding="utf-8")
    for index in range(300):
        (tmp_path / f"{index:03}.yaml").write_text(source, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    "engine",
    [["--jobs", "1"], ["--jobs", "2"], ["--engine", "dask", "--jobs", "2"]],
    ids=["one-process", "two-processes", "dask-local-cluster"],
)
def test_ctrl_c_shows_progress_then_writes_the_review_of_the_deals_done(folder, engine):
    if "dask" in engine:
        pytest.importorskip("distributed", reason="the cluster extra is not installed")
    command = ["-m", "dealcoach", "review", str(folder), "--lang", "en", *engine]
    child = pexpect.spawn(sys.executable, command, env={**os.environ, "COLUMNS": "120"}, encoding="utf-8", timeout=180)
    child.logfile_read = seen = io.StringIO()
    child.expect(r"([1-9]\d*)/300")  # the bar: deals done of all, with rate and time left
    child.sendintr()
    child.expect(r"Pipeline review: (\d+) deals?\b")  # "1 deal" when Ctrl-C comes that early
    reviewed = int(child.match.group(1))
    child.expect(r"Interrupted: the review covers only the deals done \((\d+)\)")
    done = int(child.match.group(1))
    child.expect(r"\n +1\. ")  # the list of the deals done follows
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130 and 0 < done == reviewed < 300
    assert "Traceback" not in seen.getvalue()  # nor a worker's: stopping is the parent's to do
