"""Public facts about Hữu Lũng district (``data/reference/district_facts.csv``).

Real reference data: area, 2019 population (urban/rural), the 2013 ethnic composition, and the
number of commune-level units over time, each row with ``source`` and ``confidence``
(``2`` two sources agree, ``1`` one source; the ``source`` column names them).  Nothing here is simulated, but
:mod:`hlstudy.synthetic` draws the simulated officials' and citizens' ethnicity from
:func:`ethnic_shares`.

Example
-------
>>> from hlstudy import district
>>> district.value("population")
121735.0
>>> round(float(district.ethnic_shares().sum()), 6)
1.0
>>> district.ethnic_shares().index[0]
'nung'
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from hlstudy.errors import SurveyDataError
from hlstudy.paths import REFERENCE

COLUMNS = ["key", "value", "unit", "year", "note", "source", "confidence"]
CONFIDENCE = frozenset({"2", "1", "?", "sim", "assumption"})


@lru_cache(maxsize=4)
def _facts(path: str) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise SurveyDataError("district facts not found", file=p)
    df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise SurveyDataError(f"missing columns {missing}", file=p.name)
    for i, r in enumerate(df.itertuples(index=False), start=2):
        if not r.source:
            raise SurveyDataError("every fact needs a source", file=p.name, row=i, column="source")
        if r.confidence not in CONFIDENCE:
            raise SurveyDataError(f"confidence {r.confidence!r} not in {sorted(CONFIDENCE)}",
                                  file=p.name, row=i, column="confidence")
    if df["key"].duplicated().any():
        raise SurveyDataError("duplicated key", file=p.name, column="key")
    values = pd.to_numeric(df["value"], errors="coerce")
    if values.isna().any():
        row = int(values.isna().to_numpy().nonzero()[0][0]) + 2
        raise SurveyDataError("value is not a number", file=p.name, row=row, column="value")
    return df.assign(value=values.astype(float))


def facts(folder: Path | None = None) -> pd.DataFrame:
    """All district facts, one row per key, with unit, year, note, source and confidence."""
    return _facts(str(Path(folder or REFERENCE) / "district_facts.csv")).copy()


def value(key: str, folder: Path | None = None) -> float:
    """The value of one fact (``"area_km2"``, ``"population"``, …)."""
    df = facts(folder).set_index("key")
    if key not in df.index:
        raise SurveyDataError(f"no district fact {key!r}; known: {sorted(df.index)}",
                              file="district_facts.csv")
    return float(df.at[key, "value"])


def ethnic_shares(folder: Path | None = None) -> pd.Series:
    """Ethnic composition (2013) as proportions summing to 1, indexed by the codebook's
    ``ethnicity`` codes (``nung, kinh, tay, san_chay, dao, hoa, other``), largest first.

    The published percentages sum to 100.00; they are rescaled to 1 exactly.
    """
    df = facts(folder)
    rows = df[df["key"].str.startswith("ethnic_share_")]
    if rows.empty:
        raise SurveyDataError("no ethnic_share_* rows", file="district_facts.csv")
    shares = pd.Series(rows["value"].to_numpy(), index=rows["key"].str.removeprefix(
        "ethnic_share_").to_numpy(), name="share")
    shares = shares / shares.sum()
    return shares.sort_values(ascending=False, kind="stable")
