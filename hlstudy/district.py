"""Public facts about Hữu Lũng district (``data/reference/district_facts.csv``).

Real reference data: area, 2019 population (urban/rural), the 2013 ethnic composition, and the
number of commune-level units over time, each row with ``source`` and ``confidence``
(``2`` two sources agree, ``1`` one source; the ``source`` column names them).  Nothing here is simulated, but
:mod:`hlstudy.synthetic` draws the simulated officials' and citizens' ethnicity from
:func:`ethnic_shares`.

:func:`facts_table` is the table a thesis prints: each fact's label, its value with the
decimals the reference file gives it (:func:`value_decimals`: ``121735`` persons, ``806.74``
km², ``52.3`` %), its unit in the table's language (:data:`UNIT_LABELS`), year, the short
citation of the table's language (``citation_vi`` / ``citation_en``, checked on reading by
:func:`hlstudy.sourcing.check_citations`; the full provenance stays in ``source``) and
number of sources (:func:`hlstudy.sourcing.sources_count`; its note:
:data:`hlstudy.sourcing.SOURCES_NOTE`).

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
from hlstudy.sourcing import CONFIDENCE, check_citations, citations, sources_count

COLUMNS = ["key", "value", "unit", "year", "note", "source", "confidence"]

#: Each unit of ``district_facts.csv`` as a table prints it: ``(Vietnamese, English)``.  A unit
#: missing here cannot be printed (:func:`unit_label` raises), so that a new unit in the
#: reference file is never printed in English in a Vietnamese table.
UNIT_LABELS = {
    "persons": ("người", "persons"),
    "units": ("đơn vị", "units"),
    "km²": ("km²", "km²"),
    "%": ("%", "%"),
}

@lru_cache(maxsize=4)
def _raw(path: str) -> pd.DataFrame:
    """``district_facts.csv`` as written (every column text), checked by :func:`_facts`."""
    _facts(path)
    return pd.read_csv(Path(path), dtype=str, keep_default_na=False, encoding="utf-8")


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
    check_citations(df, p.name)
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


def unit_label(unit: str, lang: str = "vi") -> str:
    """A unit of ``district_facts.csv`` in ``lang`` (:data:`UNIT_LABELS`).

    >>> unit_label("persons"), unit_label("persons", "en"), unit_label("km²")
    ('người', 'persons', 'km²')
    """
    from hlstudy.errors import check_lang

    k = 0 if check_lang(lang) == "vi" else 1
    if unit not in UNIT_LABELS:
        raise SurveyDataError(
            f"unit {unit!r} has no printed label: add it to hlstudy.district.UNIT_LABELS "
            f"(Vietnamese, English); known: {sorted(UNIT_LABELS)}",
            file="district_facts.csv", column="unit")
    return UNIT_LABELS[unit][k]


def value_decimals(folder: Path | None = None) -> pd.Series:
    """The decimals each fact's value has as written in ``district_facts.csv`` (the precision
    its source gives: ``806.74`` → 2, ``121735`` → 0, ``52.3`` → 1), indexed by key.

    >>> value_decimals()[["area_km2", "population", "ethnic_share_nung"]].tolist()
    [2, 0, 1]
    """
    df = _raw(str(Path(folder or REFERENCE) / "district_facts.csv"))
    places = [len(v.strip().partition(".")[2]) for v in df["value"]]
    return pd.Series(places, index=df["key"].tolist(), name="decimals", dtype=int)


def facts_table(lang: str = "vi", folder: Path | None = None) -> tuple[pd.DataFrame, list[int]]:
    """The district facts as a thesis prints them, and the decimals of each row's value.

    Columns ``label`` (:func:`fact_labels` in ``lang``), ``value`` (the machine value),
    ``unit`` (:func:`unit_label` in ``lang``), ``year``, ``source`` (the fact's short citation
    in ``lang``: :func:`hlstudy.sourcing.citations`; never the file's provenance notes),
    ``sources`` (:func:`hlstudy.sourcing.sources_count`); the list gives each row's :func:`value_decimals`, to pass as
    ``cell_decimals`` to :func:`hlstudy.export.save_table`.

    >>> t, places = facts_table("en")
    >>> t.loc[1, "unit"], int(t.loc[1, "sources"]), places[:2]
    ('persons', 2, [2, 0])
    """
    df = facts(folder)
    units = []
    for i, unit in enumerate(df["unit"], start=2):
        try:
            units.append(unit_label(unit, lang))
        except SurveyDataError as exc:
            raise SurveyDataError(exc.detail, file="district_facts.csv", row=i, column="unit") from None
    table = pd.DataFrame({
        "label": df["key"].map(fact_labels(lang, folder)).to_numpy(),
        "value": df["value"].to_numpy(),
        "unit": units,
        "year": df["year"].to_numpy(),
        "source": citations(df, lang).to_numpy(),
        "sources": sources_count(df["confidence"]).to_numpy(),
    })
    return table, value_decimals(folder).reindex(df["key"]).tolist()


def facts(folder: Path | None = None) -> pd.DataFrame:
    """All district facts, one row per key, with unit, year, note, source, confidence and the
    printable citations ``citation_vi``, ``citation_en``."""
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
