"""The package says what it is: licence, changelog and classifiers in the metadata."""

from __future__ import annotations

import re
import tomllib

import dealcoach
from tests.conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_the_licence_is_apache_2_and_ships_with_the_package():
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text


def test_the_changelog_has_a_dated_section_for_the_current_version():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.MULTILINE)
    assert versions and versions[0] == dealcoach.__version__


def test_the_classifiers_name_every_supported_python_and_no_licence_classifier():
    classifiers = PROJECT["classifiers"]
    assert PROJECT["requires-python"] == ">=3.11"
    assert {"3.11", "3.12", "3.13"} <= {c.rsplit(" :: ", 1)[1] for c in classifiers if "Python :: 3." in c}
    assert not [c for c in classifiers if c.startswith("License ::")]  # PEP 639: the expression says it


def test_the_metadata_names_no_project_address_that_does_not_exist():
    assert "urls" not in PROJECT  # add [project.urls] once the project has a public home
