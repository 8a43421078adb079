"""Where the survey data come from.

:func:`load_study <hlstudy.study.load_study>` analyses one *data source*: a folder laid
out like ``data/raw/`` (see ``docs/architecture.md``) or a simulated study returned by
:func:`hlstudy.synthetic.simulate`.  The source is chosen by the first of these that is set:

1. the explicit ``source=`` argument;
2. the environment variable ``HLSTUDY_DATA`` (a folder);
3. the file ``hlstudy.toml`` at the repository root::

       [data]
       source = "path/to/my/exports"   # relative paths are relative to the repository root

4. the default, ``data/raw``.

The *instrument folder* (codebook, value labels, constructs, hypotheses, claims; default
``data/instrument``) is a setting of its own, for a researcher who changes the questionnaire
(README, "Your own instrument"): ``HLSTUDY_INSTRUMENT`` or, in ``hlstudy.toml``::

    [instrument]
    folder = "my_instrument"

(:func:`instrument_folder`, i.e. :func:`hlstudy.paths.instrument_dir`).

A *column mapping* tells ingest which codebook variable an export's column holds when its
header is none the codebook knows: a ``columns.csv`` beside the exports (``header,variable``;
``variable = ignore`` skips the column) or, for every source, a table in ``hlstudy.toml``::

    [columns]
    "Anh/chị đã tham gia bao nhiêu khóa học?" = "trainings_24m"
    "Ghi chú của điều tra viên" = "ignore"

(:func:`column_settings`; both are merged by :func:`hlstudy.ingest.column_mapping`).

A workbook (``.xlsx``) whose answers are on a sheet named neither after the instrument nor
the workbook's only sheet with data (several sheets hold data) is read from the sheet named
in ``hlstudy.toml``::

    [sheets]
    officials = "Câu trả lời biểu mẫu 1"

(:func:`sheet_settings`).

The *reference year* of the survey (the year in which ages and years in post are counted,
notebook 04's compliance with Decree 33) is, by one rule for cleaning, notebook 04 and the
ledger (:func:`hlstudy.cleaning.reference_year`, :func:`hlstudy.study.reference_year`), the
year of the officials' latest submission time, which an export typed by hand or saved from
SPSS may not have.
Then, or to override it, it is set by ``HLSTUDY_REFERENCE_YEAR`` or in ``hlstudy.toml``::

    [study]
    reference_year = 2025

(:func:`reference_year_setting`).

>>> from hlstudy.config import data_source
>>> data_source("data/raw").origin
'argument'
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlstudy.errors import SurveyDataError
from hlstudy.paths import RAW, ROOT
from hlstudy.paths import instrument_dir as instrument_folder  # noqa: F401  (the instrument setting)

ENV_VAR = "HLSTUDY_DATA"
CONFIG_FILE = "hlstudy.toml"
REFERENCE_YEAR_ENV = "HLSTUDY_REFERENCE_YEAR"
#: Years a survey of this study can be dated to (a typo such as 225 or 20255 is an error).
REFERENCE_YEARS = (1990, 2100)


@dataclass(frozen=True)
class DataSource:
    """A resolved data source: a folder (``path``) or an in-memory simulated study (``study``)."""

    origin: str  # "argument", "environment", "config file" or "default"
    path: Path | None = None
    study: Any = None

    def summary(self) -> str:
        what = str(self.path) if self.path is not None else f"<{type(self.study).__name__} in memory>"
        return f"data source: {what} (from {self.origin})"

    def __repr__(self) -> str:
        return self.summary()


def config_file(root: Path | None = None) -> Path:
    """Path of the project's optional configuration file ``hlstudy.toml``."""
    return (root or ROOT) / CONFIG_FILE


#: The tables of ``hlstudy.toml`` and their keys (``None``: any key, e.g. ``[columns]``'s
#: export headers).  Anything else is a typing error that would otherwise be ignored
#: (``[dta] source`` ran on the committed data; ``reference_yr`` was never read).
SETTINGS = {"data": {"source"}, "instrument": {"folder"}, "study": {"reference_year"},
            "export": {"figure_formats"}, "columns": None, "sheets": None}


def _closest(name: str, known) -> str:
    import difflib

    match = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""


def check_settings(settings: dict, path: Path) -> None:
    """Refuse a table or key of ``hlstudy.toml`` that nothing reads (:data:`SETTINGS`).

    Raises :class:`~hlstudy.errors.SurveyDataError` naming the file, the unknown table or key,
    the closest known one and every known one.

    >>> check_settings({"study": {"reference_year": 2025}}, Path("hlstudy.toml"))
    >>> check_settings({"study": {"reference_yr": 2025}}, Path("hlstudy.toml"))
    Traceback (most recent call last):
    ...
    hlstudy.errors.SurveyDataError: hlstudy.toml: [study] reference_yr is not a setting (did you mean 'reference_year'?); [study] holds: reference_year
    """
    for table, value in settings.items():
        if table not in SETTINGS:
            raise SurveyDataError(
                f"[{table}] is not a table of hlstudy.toml{_closest(table, SETTINGS)}; the tables "
                f"are: {', '.join(f'[{t}]' for t in sorted(SETTINGS))} (README, own data)",
                file=path)
        keys = SETTINGS[table]
        if keys is None or not isinstance(value, dict):
            continue   # the table's own reader checks its shape
        for key in value:
            if key not in keys:
                raise SurveyDataError(
                    f"[{table}] {key} is not a setting{_closest(key, keys)}; [{table}] holds: "
                    f"{', '.join(sorted(keys))}", file=path)


def _settings(root: Path | None = None) -> tuple[Path, dict | None]:
    """``hlstudy.toml`` parsed (``None`` when the file does not exist) and its path; an
    unknown table or key is an error (:func:`check_settings`)."""
    path = config_file(root)
    if not path.is_file():
        return path, None
    try:
        with path.open("rb") as handle:
            settings = tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SurveyDataError(f"is not valid TOML: {exc}", file=path) from None
    check_settings(settings, path)
    return path, settings


def _from_config(root: Path | None = None) -> Path | None:
    path, settings = _settings(root)
    if settings is None:
        return None
    data = settings.get("data", {})
    if not isinstance(data, dict):
        raise SurveyDataError("[data] must be a table", file=path)
    value = data.get("source")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SurveyDataError("[data] source must be a non-empty string (a folder)", file=path)
    folder = Path(value.strip()).expanduser()
    return folder if folder.is_absolute() else (root or ROOT) / folder


def data_source(source: Any = None, *, root: Path | None = None) -> DataSource:
    """Resolve the data source: argument > ``HLSTUDY_DATA`` > ``hlstudy.toml`` > ``data/raw``.

    ``source`` may be a folder (``str`` or ``os.PathLike``) or an object with a
    ``write(folder)`` method (the simulated study of :mod:`hlstudy.synthetic`).
    The folder itself is checked when it is read, by :func:`hlstudy.ingest.read_folder`.
    """
    if source is not None:
        if isinstance(source, str | os.PathLike):
            return DataSource("argument", path=Path(source).expanduser())
        if callable(getattr(source, "write", None)):
            return DataSource("argument", study=source)
        raise SurveyDataError(
            f"source must be a folder or a simulated study (hlstudy.synthetic.simulate()), "
            f"got {type(source).__name__}"
        )
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return DataSource("environment", path=Path(env).expanduser())
    configured = _from_config(root)
    if configured is not None:
        return DataSource("config file", path=configured)
    return DataSource("default", path=RAW)


def column_settings(root: Path | None = None) -> dict[str, str]:
    """The ``[columns]`` table of ``hlstudy.toml`` (export header → variable or ``ignore``).

    Empty when there is no configuration file or no such table.  Raises
    :class:`SurveyDataError` when the table is not a table of strings.

    >>> column_settings(Path("/nonexistent"))
    {}
    """
    return _string_table(root, "columns", '[columns] must be a table of "header" = "variable" lines '
                         '(every value a variable code or "ignore")', strip_keys=False)


def sheet_settings(root: Path | None = None) -> dict[str, str]:
    """The ``[sheets]`` table of ``hlstudy.toml`` (instrument → the workbook sheet to read).

    Empty when there is no configuration file or no such table.  Raises
    :class:`SurveyDataError` when the table is not a table of strings.

    >>> sheet_settings(Path("/nonexistent"))
    {}
    """
    return _string_table(root, "sheets", '[sheets] must be a table of instrument = "sheet name" '
                         'lines, e.g. officials = "Câu trả lời biểu mẫu 1"')


def _string_table(root: Path | None, name: str, message: str, *, strip_keys: bool = True) -> dict[str, str]:
    """The table ``[name]`` of ``hlstudy.toml`` as ``{key: value}`` with values stripped
    (keys too with ``strip_keys``); ``{}`` without the file or the table.  Raises
    :class:`SurveyDataError` with ``message`` (and the offending entries) when it is not a
    table of non-empty strings."""
    path, settings = _settings(root)
    if settings is None:
        return {}
    table = settings.get(name, {})
    if not isinstance(table, dict):
        raise SurveyDataError(message, file=path)
    bad = {k: v for k, v in table.items() if not isinstance(v, str) or not v.strip()}
    if bad:
        raise SurveyDataError(f"{message}; got {bad}", file=path)
    return {(str(k).strip() if strip_keys else str(k)): v.strip() for k, v in table.items()}


def reference_year_setting(root: Path | None = None) -> int | None:
    """The survey's reference year as set: ``HLSTUDY_REFERENCE_YEAR``, else ``[study]
    reference_year`` of ``hlstudy.toml``, else ``None`` (then :func:`hlstudy.study.reference_year`
    takes the year of the submission times).  Raises :class:`SurveyDataError` for a value that
    is no whole year in :data:`REFERENCE_YEARS`.
    """
    env = os.environ.get(REFERENCE_YEAR_ENV, "").strip()
    if env:
        value, origin, file = env, f"{REFERENCE_YEAR_ENV}={env!r}", None
    else:
        path, settings = _settings(root)
        if settings is None:
            return None
        table = settings.get("study", {})
        if not isinstance(table, dict):
            raise SurveyDataError("[study] must be a table", file=path)
        value = table.get("reference_year")
        if value is None:
            return None
        origin, file = f"[study] reference_year = {value!r}", path
    try:
        year = int(value) if not isinstance(value, bool | float) else None
    except (TypeError, ValueError):
        year = None
    lo, hi = REFERENCE_YEARS
    if year is None or not lo <= year <= hi:
        raise SurveyDataError(f"{origin}: the reference year must be a whole year from {lo} to {hi}, "
                              "e.g. 2025", file=file)
    return year
