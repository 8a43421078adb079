"""Column names the diagnostic reads, with the defaults of ``data/instrument/codebook.csv``.

Every diagnostic function takes ``cols=`` so that a researcher whose register names a field
differently can map it without renaming the data.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    ethnicity: str = "ethnicity"
    general_education: str = "general_education"
    education: str = "education"
    field: str = "field"
    political_theory: str = "political_theory"
    state_management: str = "state_management"
    years_in_post: str = "years_in_post"
    trainings_24m: str = "trainings_24m"


DEFAULT = Columns()
