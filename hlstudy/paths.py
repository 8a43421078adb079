"""Locations of the compendium's folders.

Everything is resolved relative to the repository root (the folder holding
``pyproject.toml``), so notebooks, tests and scripts work from any working
directory.  Two environment variables move the moving parts:

``HLSTUDY_DATA``
    folder of survey exports to analyse instead of ``data/raw`` (see
    :func:`hlstudy.config.data_source`).
``HLSTUDY_FIGURES``
    folder that receives exported figures and tables instead of ``figures``.

A run on the researcher's own data (``HLSTUDY_DATA`` set, or ``[data] source`` in
``hlstudy.toml``, pointing anywhere but ``data/raw``) never writes into the committed
``figures/`` or ``notebooks/``: its figures, tables and executed notebooks go to
:func:`output_dir` (``HLSTUDY_FIGURES``, else the git-ignored ``build/own-data/``).
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
FIGURES = ROOT / "figures"
#: Default output folder of a run on the researcher's own data (git-ignored, under build/).
OWN_OUTPUT = ROOT / "build" / "own-data"


def own_data() -> bool:
    """True when the analysed data are not the committed ``data/raw`` exports.

    Resolved as :func:`hlstudy.config.data_source` does (``HLSTUDY_DATA``, then
    ``hlstudy.toml``); a source that is ``data/raw`` itself counts as the committed data.
    """
    from hlstudy.config import data_source  # config imports this module

    resolved = data_source()
    if resolved.path is None:
        return True
    try:
        return Path(resolved.path).expanduser().resolve() != RAW.resolve()
    except OSError:
        return True


def output_dir() -> Path:
    """Where figures and tables go, without creating it.

    ``HLSTUDY_FIGURES`` when set; otherwise ``build/own-data/`` for a run on one's own data
    (:func:`own_data`) and the committed ``figures/`` for the committed data.
    """
    override = os.environ.get("HLSTUDY_FIGURES", "").strip()
    if override:
        return Path(override).expanduser().resolve()
    return OWN_OUTPUT if own_data() else FIGURES


def figures_dir() -> Path:
    """Folder for exported figures and tables (:func:`output_dir`), created if missing."""
    path = output_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def processed_dir() -> Path:
    """Git-ignored folder for processed tables written by notebook 02."""
    PROCESSED.mkdir(parents=True, exist_ok=True)
    return PROCESSED
