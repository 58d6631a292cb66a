"""A plain `pip install` of the repository gives a working engine on a fresh virtual environment.

This is the proof that the frozendict shim (engine/matching/compat.py) works where it matters: experta
1.9.4 pulls in frozendict 1.2, which cannot be imported on Python 3.10+ without it. The install
is non-editable, so it also proves that the knowledge base ships inside the package.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_fresh_virtualenv_install_advises_on_a_deal(tmp_path: Path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    bin_dir = env_dir / ("Scripts" if sys.platform == "win32" else "bin")
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    deal = tmp_path / "deal.yaml"
    deal.write_text(
        "name: 项目\naccount: {name: a}\nstage: evaluation\nstakeholders: [{name: 王总, roles: [economic_buyer]}]\n",
        encoding="utf-8",
    )
    advised = subprocess.run(
        [str(bin_dir / "dealcoach"), "advise", str(deal), "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert advised.returncode == 0, advised.stderr
    rules = [a["rule"] for a in json.loads(advised.stdout)["advice"]]
    assert "coverage.meet-economic-buyer" in rules
    frozendict = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "show", "frozendict"], capture_output=True, text=True, check=False
    )
    assert "Version: 1.2" in frozendict.stdout


def _installed_top_level_names(python: Path, cwd: Path) -> set[str]:
    """The first path part of every file the installed distribution put into site-packages."""
    script = (
        "import importlib.metadata as m, json; "
        "print(json.dumps(sorted({f.parts[0] for f in m.files('dealcoach') if f.parts[0] != '..'})))"
    )
    listed = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True, cwd=cwd)
    return set(json.loads(listed.stdout))


@pytest.mark.slow
def test_the_wheel_occupies_exactly_one_import_name(tmp_path: Path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(ROOT)], check=True, capture_output=True)
    names = _installed_top_level_names(python, tmp_path)
    assert {n for n in names if not n.endswith(".dist-info")} == {"dealcoach"}
    for generic in ("engine", "cli"):
        probe = subprocess.run([str(python), "-c", f"import {generic}"], cwd=tmp_path, capture_output=True, check=False)
        assert probe.returncode != 0
    run = subprocess.run(
        [str(python), "-m", "dealcoach", "kb", "list", "--category", "team"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert run.returncode == 0 and "team." in run.stdout
