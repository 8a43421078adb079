"""Locations of the compendium's folders.

Everything is resolved relative to the repository root (the folder holding
``pyproject.toml``), so notebooks, tests and scripts work from any working
directory.  Two environment variables move the moving parts:

``HLSTUDY_DATA``
    folder of survey exports to analyse instead of ``data/raw`` (see
    :func:`hlstudy.config.data_source`).
``HLSTUDY_FIGURES``
    folder that receives exported figures and tables instead of ``figures``.
``HLSTUDY_INSTRUMENT``
    folder of the instrument files (codebook, value labels, constructs, hypotheses, claims)
    instead of ``data/instrument``; also ``[instrument] folder`` in ``hlstudy.toml``
    (:func:`instrument_dir`, read once when this module is imported: :data:`INSTRUMENT`).

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
DEFAULT_INSTRUMENT = DATA / "instrument"
PROCESSED = DATA / "processed"
NOTEBOOKS = ROOT / "notebooks"
CONFIG_FILE = "hlstudy.toml"
INSTRUMENT_ENV = "HLSTUDY_INSTRUMENT"


def instrument_dir(root: Path | None = None) -> Path:
    """The instrument folder: ``HLSTUDY_INSTRUMENT`` > ``hlstudy.toml`` > ``data/instrument``.

    In ``hlstudy.toml``::

        [instrument]
        folder = "my_instrument"     # relative paths are relative to the repository root

    The folder holds ``codebook.csv``, ``value_labels.csv``, ``constructs.csv``,
    ``hypotheses.csv`` and ``claims.csv`` (``docs/architecture.md``); they are checked when
    read (:mod:`hlstudy.codebook`).  Raises :class:`~hlstudy.errors.SurveyDataError` for an
    unreadable ``hlstudy.toml`` or a folder that does not exist.

    >>> instrument_dir().name
    'instrument'
    """
    import tomllib

    from hlstudy.errors import SurveyDataError

    root = root or ROOT
    value, origin = os.environ.get(INSTRUMENT_ENV, "").strip(), INSTRUMENT_ENV
    config = root / CONFIG_FILE
    if not value and config.is_file():
        try:
            with config.open("rb") as handle:
                table = tomllib.load(handle).get("instrument", {})
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SurveyDataError(f"is not valid TOML: {exc}", file=config) from None
        if not isinstance(table, dict):
            raise SurveyDataError("[instrument] must be a table", file=config)
        folder = table.get("folder")
        if folder is not None and (not isinstance(folder, str) or not folder.strip()):
            raise SurveyDataError("[instrument] folder must be a non-empty string", file=config)
        value, origin = (folder or "").strip(), f"{CONFIG_FILE} [instrument] folder"
    if not value:
        return DEFAULT_INSTRUMENT
    path = Path(value).expanduser()
    path = path if path.is_absolute() else root / path
    if not path.is_dir():
        raise SurveyDataError(f"instrument folder (from {origin}) does not exist", file=path)
    return path


#: The instrument folder of this process (:func:`instrument_dir` at import time).
INSTRUMENT = instrument_dir()
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
    or one's own instrument (:func:`own_study`) and the committed ``figures/`` for the
    committed data and instrument.
    """
    override = os.environ.get("HLSTUDY_FIGURES", "").strip()
    if override:
        return Path(override).expanduser().resolve()
    return OWN_OUTPUT if own_study() else FIGURES


def own_study() -> bool:
    """True when the data (:func:`own_data`) or the instrument folder (:func:`instrument_dir`)
    are not the committed ones: then nothing may be written over the committed outputs."""
    return own_data() or instrument_dir().resolve() != DEFAULT_INSTRUMENT.resolve()


def figures_dir() -> Path:
    """Folder for exported figures and tables (:func:`output_dir`), created if missing."""
    path = output_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def processed_dir() -> Path:
    """Git-ignored folder for the clean tables notebook 02 writes, created if missing.

    ``data/processed/`` for the committed data and instrument; ``processed/`` inside the
    output folder (:func:`output_dir`, e.g. ``build/own-data/processed/``) for one's own
    (:func:`own_study`), so that a run on one's own data never replaces the demonstration's
    tables.
    """
    path = output_dir() / "processed" if own_study() else PROCESSED
    path.mkdir(parents=True, exist_ok=True)
    return path
