"""dealcoach installs as exactly one import name, ``dealcoach``, whose folder is the repository root."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from tests.conftest import ROOT


def _declared_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return set(config["tool"]["setuptools"]["packages"])


def test_every_python_package_in_the_checkout_is_declared_for_the_wheel():
    found = {"dealcoach"} | {
        "dealcoach." + ".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "engine").rglob("__init__.py")
    }
    assert found == _declared_packages()


def test_the_package_version_is_what_the_program_reports():
    from click.testing import CliRunner

    import dealcoach
    from dealcoach.cli import main

    assert CliRunner().invoke(main, ["--version"]).stdout.strip() == f"dealcoach, version {dealcoach.__version__}"


def test_python_m_dealcoach_shows_the_commands():
    completed = subprocess.run(
        [sys.executable, "-m", "dealcoach", "--help"], capture_output=True, text=True, check=False, cwd="/"
    )
    assert completed.returncode == 0, completed.stderr
    assert "advise" in completed.stdout and "drill" in completed.stdout
