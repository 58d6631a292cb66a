"""`dealcoach review` on a real terminal (pexpect): the progress bar, and Ctrl-C writing what was done."""

from __future__ import annotations

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


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_shows_progress_then_writes_the_review_of_the_deals_done(folder, jobs):
    command = ["-m", "dealcoach", "review", str(folder), "--lang", "en", "--jobs", jobs]
    child = pexpect.spawn(sys.executable, command, env={**os.environ, "COLUMNS": "120"}, encoding="utf-8", timeout=180)
    child.expect(r"([1-9]\d*)/300")  # the bar: deals done of all, with rate and time left
    child.sendintr()
    child.expect(r"Pipeline review: (\d+) deals?\b")  # one deal when the machine is slow
    reviewed = int(child.match.group(1))
    child.expect(r"Interrupted: the review covers the (\d+|one) deals? done")
    done = 1 if child.match.group(1) == "one" else int(child.match.group(1))
    child.expect(r"\n +1\. ")  # the list of the deals done follows
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130 and 0 < done == reviewed < 300
