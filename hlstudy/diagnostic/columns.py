"""Column names the diagnostic reads, with the defaults of ``data/instrument/codebook.csv``.

Every diagnostic function takes ``cols=`` so that a researcher whose register names a field
differently can map it without renaming the data.  The personnel register has ``birth_date``
and ``start_year``; the officials' questionnaire has ``birth_year`` and ``years_in_post``:
:func:`birth_year` and :func:`years_in_post` read whichever is present.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hlstudy.errors import ModelError


@dataclass(frozen=True)
class Columns:
    """Names of the personnel/officials columns used by :mod:`hlstudy.diagnostic`."""

    id: str = "record_id"
    commune_code: str = "commune_code"
    commune: str = "commune"
    commune_2025: str = "commune_2025"
    kind: str = "kind"  # can_bo | cong_chuc
    position: str = "position_code"  # decree33_positions.position_code
    gender: str = "gender"
    birth_year: str = "birth_year"
    birth_date: str = "birth_date"
    ethnicity: str = "ethnicity"
    general_education: str = "general_education"
    education: str = "education_level"
    field: str = "field_of_study"
    political_theory: str = "political_theory"
    state_management: str = "state_mgmt_training"
    years_in_post: str = "years_in_post"
    start_year: str = "start_year"
    trainings_24m: str = "trainings_24m"


DEFAULT = Columns()


def birth_year(df: pd.DataFrame, cols: Columns = DEFAULT) -> pd.Series:
    """Birth year from ``cols.birth_year`` or, failing that, the year of ``cols.birth_date``."""
    if cols.birth_year in df.columns:
        return pd.to_numeric(df[cols.birth_year], errors="coerce").astype("Float64")
    if cols.birth_date in df.columns:
        raw = df[cols.birth_date]
        if pd.api.types.is_datetime64_any_dtype(raw):  # what hlstudy.load_study() gives
            return raw.dt.year.astype("Float64")
        dates = pd.to_datetime(raw, errors="coerce", dayfirst=True, format="mixed")
        return dates.dt.year.astype("Float64")
    raise ModelError(f"data have neither {cols.birth_year!r} nor {cols.birth_date!r}")


def years_in_post(df: pd.DataFrame, reference_year: int, cols: Columns = DEFAULT) -> pd.Series:
    """Years in the current post from ``cols.years_in_post`` or ``reference_year − start_year``."""
    if cols.years_in_post in df.columns:
        return pd.to_numeric(df[cols.years_in_post], errors="coerce").astype("Float64")
    if cols.start_year in df.columns:
        start = pd.to_numeric(df[cols.start_year], errors="coerce").astype("Float64")
        return reference_year - start
    raise ModelError(f"data have neither {cols.years_in_post!r} nor {cols.start_year!r}")
