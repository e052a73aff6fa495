"""environment.yml (conda) and pyproject.toml (pip) must name the same packages."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT

tomllib = pytest.importorskip("tomllib")
CONDA_TO_PIP = {"pytorch": "torch"}


def name_of(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def conda_packages() -> set[str]:
    names = set()
    text = (ROOT / "environment.yml").read_text()
    for line in text[text.index("dependencies:") :].splitlines():
        match = re.match(
            r"^  - ([A-Za-z0-9_.-]+)", line
        )  # top-level dependencies only, not the pip: list
        if match:
            names.add(CONDA_TO_PIP.get(name_of(match.group(1)), name_of(match.group(1))))
    return names - {"python", "pip"}


def test_environment_and_pyproject_name_the_same_packages():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {name_of(r) for r in project["dependencies"]}
    test_extra = {name_of(r) for r in project["optional-dependencies"]["test"]}
    assert conda_packages() == runtime | test_extra


def test_environment_installs_the_project_editable_and_pins_python():
    text = (ROOT / "environment.yml").read_text()
    assert "- -e ." in text and "python=3.11" in text and "conda-forge" in text


def test_torch_floor_without_upper_pin():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch>=2.4" in deps and "torchvision>=0.19" in deps
