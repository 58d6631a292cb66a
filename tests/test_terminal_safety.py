"""The program in a real process: output encodings that cannot carry every character, and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, SCENARIOS

BANK = str(SCENARIOS / "bank-oa-network.yaml")
BANK_TEXT = (SCENARIOS / "bank-oa-network.yaml").read_text(encoding="utf-8")


def program(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dealcoach", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def test_a_gb2312_output_encoding_gets_what_it_can_carry(tmp_path):
    deal = tmp_path / "deal.yaml"
    deal.write_text(BANK_TEXT.replace("name: ", "name: 🚀", 1), encoding="utf-8")  # GB2312 has no emoji
    process = program("advise", str(deal), "--lang", "zh", env={"PYTHONIOENCODING": "gb2312"})
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode("gb2312", "replace")
    text = out.decode("gb2312")  # strict: every byte written is valid GB2312
    assert text.startswith("?滨江银行OA专网建设")  # the character GB2312 lacks was replaced, not fatal


def test_an_ascii_output_encoding_does_not_crash_either():
    process = program("advise", BANK, "--lang", "zh", env={"PYTHONIOENCODING": "ascii"})
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode("utf-8", "replace")


def interrupt_after(delay: float, *args: str, **kwargs) -> tuple[int, str]:
    process = program(*args, **kwargs)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    return process.returncode, err.decode()


def interrupt_once_imported(module: str, *args: str) -> tuple[int, str]:
    """Ctrl-C as soon as ``module`` has been imported (``-X importtime`` reports each import as it
    completes), so every moment of start-up is hit on purpose rather than by timing."""
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "dealcoach", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    for raw in process.stderr:
        if raw.decode().split("|")[-1].strip() == module:
            break
    else:
        raise AssertionError(f"{module} was never imported")
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    messages = [line for line in rest.decode().splitlines() if not line.startswith("import time:")]
    return process.returncode, "\n".join(messages)


@pytest.mark.parametrize(
    "module",
    ["dealcoach.engine.entry", "click", "dealcoach.cli", "yaml", "pydantic", "jinja2", "experta.engine"],
)
def test_ctrl_c_during_start_up_exits_130_with_one_line(module):
    status, err = interrupt_once_imported(module, "advise", BANK)
    assert "Traceback" not in err
    if status == 0:  # the run finished before the signal arrived (a loaded machine): it said nothing wrong
        assert err == ""
        return
    assert status == 130
    assert err.strip() == "dealcoach: interrupted"


def test_ctrl_c_while_a_command_works_exits_130_with_one_line():
    many = [BANK] * 400
    status, err = interrupt_after(2.0, "advise", *many, "--format", "json")
    assert status == 130
    assert err.strip() == "dealcoach: interrupted"


def test_ctrl_c_while_waiting_for_input_exits_130_with_one_line(tmp_path):
    env = {"DEALCOACH_DB": str(tmp_path / "d.sqlite3")}
    status, err = interrupt_after(2.0, "drill", "run", "price-concession", env=env, stdin=subprocess.PIPE)
    assert status == 130
    assert "Traceback" not in err  # the drill itself says "Progress saved" (tests/test_drill_storage.py)
