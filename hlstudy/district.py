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
    for i, note in enumerate(df["note"], start=2):
        try:
            _note_parts(note)
        except ValueError as exc:
            raise SurveyDataError(str(exc), file=p.name, row=i, column="note") from None
    values = pd.to_numeric(df["value"], errors="coerce")
    if values.isna().any():
        row = int(values.isna().to_numpy().nonzero()[0][0]) + 2
        raise SurveyDataError("value is not a number", file=p.name, row=row, column="value")
    return df.assign(value=values.astype(float))


def _note_parts(note: str) -> list[tuple[str, str]]:
    """A fact's note as ``[(label_vi, label_en), (caveat_vi, caveat_en)]`` (the caveat only
    when there is one).  The note is ``"<vi> / <en>"``, optionally followed by
    ``" — <vi> / <en>"``; a part without ``" / "`` reads the same in both languages (an ethnic
    group's name).  ValueError when a part holds more than one ``" / "`` or the note more than
    one ``" — "`` (which half would be which language?)."""
    parts = note.split(" — ")
    if len(parts) > 2:
        raise ValueError(f"note {note!r}: more than one ' — ' (label — caveat)")
    out = []
    for part in parts:
        sides = [s.strip() for s in part.split(" / ")]
        if len(sides) > 2:
            raise ValueError(f"note {note!r}: more than one ' / ' in {part!r} (Vietnamese / English)")
        out.append((sides[0], sides[-1]))
    return out


def fact_labels(lang: str = "vi", folder: Path | None = None) -> pd.Series:
    """Each fact's printed label in ``lang`` (``"vi"`` or ``"en"``), indexed by key: the note's
    label in that language, and its caveat after " — " when it has one.

    >>> fact_labels("en")["ethnic_share_dao"]
    'Dao; mainly in Hữu Liên — 2013 figure; the 2019 census by district was not found'
    >>> fact_labels("vi")["population"]
    'Tổng điều tra dân số 2019'
    """
    from hlstudy.errors import check_lang

    k = 0 if check_lang(lang) == "vi" else 1
    df = facts(folder)
    labels = [" — ".join(part[k] for part in _note_parts(note)) for note in df["note"]]
    return pd.Series(labels, index=df["key"].tolist(), name="label", dtype=object)


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
