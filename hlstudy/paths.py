"""Locations of the compendium's folders.

Everything is resolved relative to the repository root (the folder holding
``pyproject.toml``), so notebooks, tests and scripts work from any working
directory.  Two environment variables move the moving parts:

``HLSTUDY_DATA``
    folder of survey exports to analyse instead of ``data/raw`` (see
    :func:`hlstudy.config.data_source`).
``HLSTUDY_FIGURES``
    folder that receives exported figures and tables instead of ``figures``.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
RAW = DATA / "raw"
REFERENCE = DATA / "reference"
INSTRUMENT = DATA / "instrument"
PROCESSED = DATA / "processed"
NOTEBOOKS = ROOT / "notebooks"


def figures_dir() -> Path:
    """Folder for exported figures and tables (``HLSTUDY_FIGURES`` or ``figures/``)."""
    override = os.environ.get("HLSTUDY_FIGURES", "").strip()
    path = Path(override).expanduser() if override else ROOT / "figures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def processed_dir() -> Path:
    """Git-ignored folder for processed tables written by notebook 02."""
    PROCESSED.mkdir(parents=True, exist_ok=True)
    return PROCESSED
