"""`dealcoach serve`: a real server on the loopback address by default, a warning for any other,
a clear message when the web extra or the port is missing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner

from dealcoach.cli import main
from dealcoach.engine.web import server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_without_the_web_extra_serve_says_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "fastapi", None)
    result = CliRunner().invoke(main, ["serve", str(tmp_path)])
    assert result.exit_code == 2
    assert "pip install 'dealcoach[web]'" in result.stderr and "fastapi" in result.stderr


def test_a_port_in_use_is_one_line_and_status_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = CliRunner().invoke(main, ["serve", str(tmp_path), "--port", str(taken.getsockname()[1])])
    assert result.exit_code == 2 and "cannot listen on 127.0.0.1:" in result.stderr


def test_a_folder_that_does_not_exist_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["serve", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "does not exist" in result.stderr


@pytest.mark.parametrize(("host", "loopback"), [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                                ("127.0.0.2", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                                ("example.com", False)])  # fmt: skip
def test_only_loopback_addresses_count_as_local(host, loopback):
    assert server.is_loopback(host) is loopback


def test_another_host_than_loopback_is_served_with_a_warning(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(server, "serve", lambda *args: calls.append(args))
    result = CliRunner().invoke(main, ["serve", str(tmp_path), "--host", "0.0.0.0"])
    assert result.exit_code == 0 and calls and "warning: listening on 0.0.0.0" in result.stderr


def test_the_default_host_gives_no_warning(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(server, "serve", lambda *args: calls.append(args))
    result = CliRunner().invoke(main, ["serve", str(tmp_path)])
    assert calls[0][1:3] == ("127.0.0.1", 8000) and "warning" not in result.stderr
    assert "serving" in result.stderr and "http://127.0.0.1:8000/" in result.stderr


@pytest.mark.slow
def test_serve_answers_on_the_loopback_address_until_interrupted(tmp_path):
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "dealcoach", "serve", str(tmp_path), "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        page = wait_for(f"http://127.0.0.1:{port}/deals")
        assert "dealcoach" in page
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=30)
    assert f"serving {tmp_path} at http://127.0.0.1:{port}/" in errors
    assert "Traceback" not in errors


def wait_for(url: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
