"""The project's folders, defined once: the helpers and the coursekit tools import them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project's root (where README.md is)
NOTEBOOKS = ROOT / "notebooks"  # the course's NN_name.ipynb notebooks
BUILD = ROOT / "build"  # everything the tools generate (executed copies, report, site)
DATA = ROOT / "data"  # the default data root (COURSE_DATA_DIR or data_dir=... override it)
