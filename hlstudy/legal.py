"""Decree 33/2023/NĐ-CP on commune-level cadres and civil servants, as data.

The decree's content that this project relies on lives in ``data/reference/decree33_*.csv``;
this module only reads and validates those files.  Every row carries ``source`` and
``confidence`` (``2`` two sources agree, ``1`` one source, ``?`` uncertain, ``assumption``
a modelling choice of this project), following ``docs/architecture.md``; the files whose
sources notebook 01 prints (positions, headcount, standards, the legal frame) also carry the
short citations a table prints, ``citation_vi`` and ``citation_en``
(:func:`hlstudy.sourcing.check_citations`).

Files
    ``decree33_positions.csv``  cadre positions (``can_bo``) and the 6 civil-servant titles
        (``cong_chuc``).  ``title_vi_urban`` holds the title's name in phường and thị trấn
        where it differs (the land-administration title ``DC``).
    ``decree33_headcount.csv``  maximum cadres + civil servants and part-time workers by unit
        type (``phường``, ``xã``, ``thị trấn``) and class (``I``, ``II``, ``III``).
    ``decree33_standards.csv``  the civil-servant qualification standards (Art. 10) as rules;
        cadres get a single ``not_applicable`` rule because Art. 8 was not found.
    ``decree33_field_fit.csv``  which field of study fits which civil-servant title
        (confidence ``assumption``: the decree does not list fields).
    ``decree33_education_levels.csv``  ordering of education levels used by the rules.

Example
-------
>>> from hlstudy import legal
>>> legal.quota("Xã", "II")
20
>>> sorted(legal.positions().query("kind == 'cong_chuc'").position_code)[:2]
['CHT_QS', 'DC']
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

import pandas as pd

from hlstudy.errors import SurveyDataError, check_lang
from hlstudy.paths import REFERENCE
from hlstudy.sourcing import CONFIDENCE, check_citations

KINDS = frozenset({"can_bo", "cong_chuc"})
UNIT_TYPES = ("phường", "xã", "thị trấn")
UNIT_CLASSES = ("I", "II", "III")
#: English names of the unit types, for English tables: a xã is a (rural) commune, a phường an
#: (urban) ward, a thị trấn a township (the translations of the Law on Local Government).
UNIT_TYPE_EN = {"phường": "ward", "xã": "commune", "thị trấn": "township"}


def unit_type_label(unit_type: str) -> str:
    """A unit type as a table prints it in the label language (``hlstudy.export.tr``).

    >>> from hlstudy import export; export.set_language("en"); unit_type_label("thị trấn")
    'township'
    >>> export.set_language("vi"); unit_type_label("thị trấn")
    'thị trấn'
    """
    from hlstudy import export

    if unit_type not in UNIT_TYPE_EN:
        raise SurveyDataError(f"unknown unit type {unit_type!r}: expected one of {UNIT_TYPES}")
    return export.tr(unit_type, UNIT_TYPE_EN[unit_type])
OPERATORS = frozenset({"min", "min_level", "fits_title", "not_applicable"})

_COLUMNS = {
    "decree33_positions.csv": [
        "position_code", "kind", "title_vi", "title_en", "title_vi_urban", "note",
        "source", "confidence",
    ],
    "decree33_headcount.csv": [
        "unit_type", "unit_class", "max_staff", "max_part_time", "note", "source", "confidence",
    ],
    "decree33_standards.csv": [
        "rule_id", "applies_to", "order", "attribute", "operator", "threshold", "exception_id",
        "exception_threshold", "label_vi", "label_en", "source", "confidence",
    ],
    "decree33_field_fit.csv": ["position_code", "field", "fit", "note", "source", "confidence"],
    "decree33_education_levels.csv": [
        "scale", "level_code", "rank", "label_vi", "label_en", "source", "confidence",
    ],
}


#: The files whose sources notebook 01 prints: they carry the short printable citations
#: ``citation_vi, citation_en`` (:data:`hlstudy.sourcing.CITATION_COLUMNS`, checked by
#: :func:`hlstudy.sourcing.check_citations`) after ``confidence``.
_CITED = frozenset({"decree33_positions.csv", "decree33_headcount.csv",
                    "decree33_standards.csv", "legal_frame.csv"})


def _read(name: str, folder: Path | None = None) -> pd.DataFrame:
    path = Path(folder or REFERENCE) / name
    if not path.exists():
        raise SurveyDataError("reference file not found", file=path)
    df = pd.read_csv(path, dtype="string", keep_default_na=False, encoding="utf-8")
    missing = [c for c in _COLUMNS[name] if c not in df.columns]
    if missing:
        raise SurveyDataError(f"missing columns {missing}", file=path)
    for col in df.columns:
        df[col] = df[col].map(lambda s: unicodedata.normalize("NFC", s.strip()), na_action="ignore")
    for i, conf in enumerate(df["confidence"], start=2):
        if conf not in CONFIDENCE:
            raise SurveyDataError(
                f"confidence {conf!r} not in {sorted(CONFIDENCE)}", file=path, row=i,
                column="confidence",
            )
    for i, src in enumerate(df["source"], start=2):
        if not src:
            raise SurveyDataError("every fact needs a source", file=path, row=i, column="source")
    if name in _CITED:
        check_citations(df, path)
    return df


def _unique(df: pd.DataFrame, cols: list[str], name: str) -> None:
    dup = df.duplicated(cols, keep=False)
    if dup.any():
        raise SurveyDataError(f"duplicate key {cols}", file=name, row=_first_row(dup))


def _first_row(mask: pd.Series) -> int:
    """Spreadsheet row (header = row 1) of the first True in ``mask``."""
    return int(mask.to_numpy().nonzero()[0][0]) + 2


def _one_of(df: pd.DataFrame, col: str, allowed, name: str) -> None:
    """Every value of ``col`` must be in ``allowed``; else name the first bad row."""
    bad = ~df[col].isin(allowed)
    if bad.any():
        shown = sorted(allowed) if isinstance(allowed, set | frozenset) else allowed
        raise SurveyDataError(f"{col} must be one of {shown}", file=name,
                              row=_first_row(bad), column=col)


def _int(df: pd.DataFrame, col: str, name: str) -> pd.Series:
    out = pd.to_numeric(df[col], errors="coerce")
    bad = out.isna() | (out < 0)
    if bad.any():
        raise SurveyDataError("expected a non-negative integer", file=name,
                              row=_first_row(bad), column=col)
    return out.astype("int64")


@lru_cache(maxsize=4)
def _positions(folder: Path | None) -> pd.DataFrame:
    name = "decree33_positions.csv"
    df = _read(name, folder)
    _unique(df, ["position_code"], name)
    _one_of(df, "kind", KINDS, name)
    return df.sort_values(["kind", "position_code"], ignore_index=True)


def positions(folder: Path | None = None) -> pd.DataFrame:
    """Cadre positions and civil-servant titles of Decree 33/2023 (one row per position).

    Columns ``position_code, kind, title_vi, title_en, title_vi_urban, note, source,
    confidence, citation_vi, citation_en``; sorted by kind then code.
    """
    return _positions(folder).copy()


def position_title(position_code: str, unit_type: str = "xã", lang: str = "vi") -> str:
    """Title of a position as used in a unit of ``unit_type`` (``xã``, ``thị trấn``, ``phường``).

    >>> position_title("DC", "Thị trấn")
    'Địa chính – xây dựng – đô thị và môi trường'
    """
    pos = positions().set_index("position_code")
    if position_code not in pos.index:
        raise SurveyDataError(f"unknown position code {position_code!r}")
    row = pos.loc[position_code]
    if lang == "en":
        return row["title_en"]
    if normalize_unit_type(unit_type) != "xã" and row["title_vi_urban"]:
        return row["title_vi_urban"]
    return row["title_vi"]


def normalize_unit_type(unit_type: str) -> str:
    """Map ``"Xã"``, ``"xa"``, ``"Thị trấn"``, ``"thi_tran"``, ``"Phường"`` … to the file's values."""
    if unit_type is None or (isinstance(unit_type, float) and pd.isna(unit_type)):
        raise SurveyDataError("unit type is missing")
    s = unicodedata.normalize("NFC", str(unit_type)).strip().lower().replace("_", " ")
    ascii_ = "".join(
        c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn"
    ).replace("đ", "d")
    table = {"xa": "xã", "thi tran": "thị trấn", "phuong": "phường"}
    if ascii_ not in table:
        raise SurveyDataError(f"unknown unit type {unit_type!r}; expected one of {UNIT_TYPES}")
    return table[ascii_]


@lru_cache(maxsize=4)
def _headcount(folder: Path | None) -> pd.DataFrame:
    name = "decree33_headcount.csv"
    df = _read(name, folder)
    _unique(df, ["unit_type", "unit_class"], name)
    for col, allowed in (("unit_type", UNIT_TYPES), ("unit_class", UNIT_CLASSES)):
        _one_of(df, col, allowed, name)
    df["max_staff"] = _int(df, "max_staff", name)
    df["max_part_time"] = _int(df, "max_part_time", name)
    return df.sort_values(["unit_type", "unit_class"], ignore_index=True)


def headcount(folder: Path | None = None) -> pd.DataFrame:
    """Headcount ceilings by unit type and class (cadres + civil servants; part-time workers)."""
    return _headcount(folder).copy()


def quota(unit_type: str, unit_class: str, *, part_time: bool = False) -> int:
    """Maximum cadres + civil servants (or part-time workers) for one unit.

    >>> quota("Thị trấn", "I"), quota("phường", "III", part_time=True)
    (22, 10)
    """
    ut = normalize_unit_type(unit_type)
    uc = str(unit_class).strip().upper()
    value = _quota(ut, uc, bool(part_time))
    if value is None:
        raise SurveyDataError(f"no quota for unit class {unit_class!r}; expected {UNIT_CLASSES}")
    return value


@lru_cache(maxsize=64)
def _quota(ut: str, uc: str, part_time: bool) -> int | None:
    hc = _headcount(None)
    row = hc[(hc["unit_type"] == ut) & (hc["unit_class"] == uc)]
    if row.empty:
        return None
    return int(row.iloc[0]["max_part_time" if part_time else "max_staff"])


@lru_cache(maxsize=4)
def _standards(folder: Path | None) -> pd.DataFrame:
    name = "decree33_standards.csv"
    df = _read(name, folder)
    _unique(df, ["rule_id"], name)
    _one_of(df, "operator", OPERATORS, name)
    _one_of(df, "applies_to", KINDS, name)
    df["order"] = _int(df, "order", name)
    levels = education_levels(folder)
    known = set(levels["level_code"])
    for col in ("threshold", "exception_threshold"):
        use = df["operator"].eq("min_level") & df[col].ne("")
        for i in df.index[use]:
            if df.at[i, col] not in known:
                raise SurveyDataError(
                    f"unknown education level {df.at[i, col]!r}", file=name, row=i + 2, column=col
                )
    return df.sort_values(["applies_to", "order"], ignore_index=True)


def standards(folder: Path | None = None) -> pd.DataFrame:
    """Qualification standards as rules (one row per rule), sorted by ``applies_to, order``.

    Operators: ``min`` (numeric attribute ≥ threshold), ``min_level`` (education level ranked
    at or above ``threshold`` in :func:`education_levels`; ``exception_threshold`` replaces it
    where the exception ``exception_id`` applies), ``fits_title`` (field listed for the
    person's title in :func:`field_fit`), ``not_applicable`` (no standard known).
    """
    return _standards(folder).copy()


@lru_cache(maxsize=4)
def _field_fit(folder: Path | None) -> pd.DataFrame:
    name = "decree33_field_fit.csv"
    df = _read(name, folder)
    _unique(df, ["position_code", "field"], name)
    df["fit"] = _int(df, "fit", name)
    unknown = set(df["position_code"]) - set(positions(folder)["position_code"])
    if unknown:
        raise SurveyDataError(f"unknown position codes {sorted(unknown)}", file=name)
    return df.sort_values(["position_code", "field"], ignore_index=True)


def field_fit(folder: Path | None = None) -> pd.DataFrame:
    """Field-of-study to civil-servant-title fit table (a modelling assumption of this project)."""
    return _field_fit(folder).copy()


@lru_cache(maxsize=4)
def _education_levels(folder: Path | None) -> pd.DataFrame:
    name = "decree33_education_levels.csv"
    df = _read(name, folder)
    _unique(df, ["level_code"], name)
    df["rank"] = _int(df, "rank", name)
    return df.sort_values(["scale", "rank"], ignore_index=True)


def education_levels(folder: Path | None = None) -> pd.DataFrame:
    """Ordered education levels (``scale`` general / professional, ``rank`` within scale)."""
    return _education_levels(folder).copy()


def official_kind(df: pd.DataFrame) -> pd.Series | None:
    """cán bộ / công chức of each official in ``df``.

    The questionnaire's ``kind`` answer where the table has it, else the kind of the
    official's Decree 33 position (``position_code`` looked up in
    ``data/reference/decree33_positions.csv``); ``None`` when the table has neither.

    >>> official_kind(pd.DataFrame({"position_code": ["CT_UBND", "TP_HT"]})).tolist()
    ['can_bo', 'cong_chuc']
    """
    if not isinstance(df, pd.DataFrame):
        raise SurveyDataError(f"official_kind expects a DataFrame, got {type(df).__name__}")
    if "kind" in df.columns:
        return df["kind"]
    if "position_code" in df.columns:
        kinds = positions().set_index("position_code")["kind"]
        return df["position_code"].astype("string").map(kinds)
    return None


# --------------------------------------------------------------------------- legal frame by date

#: First day of the 8 new communes: Resolution 1672/NQ-UBTVQH15 took effect on its adoption
#: (16 Jun 2025) and has their local authorities operate from this day, when Law 80/2025/QH15
#: and Decree 170/2025/NĐ-CP take effect; until the day before, Decree 33/2023 governs
#: Hữu Lũng's 23 pre-reform units (``legal_frame.csv``: LAW_CBCC_2025, DECREE_170_2025, RES_1672).
REFORM_DATE = pd.Timestamp("2025-07-01")
FRAMES = ("decree33_2023", "law_2025")
_FRAME_COLUMNS = ["doc_id", "number", "kind", "title_vi", "title_en", "issued", "in_force",
                  "in_force_until", "applies_to", "role_vi", "role_en", "note", "source",
                  "confidence"]
_LIMIT_COLUMNS = ["position_code", "unit_type", "unit_class", "max_count", "valid_from",
                  "valid_until", "note", "source", "confidence"]


def _dates(df: pd.DataFrame, cols, name: str) -> pd.DataFrame:
    for col in cols:
        parsed = pd.to_datetime(df[col].where(df[col] != ""), format="%Y-%m-%d", errors="coerce")
        bad = parsed.isna() & df[col].ne("")
        if bad.any():
            raise SurveyDataError("expected a date YYYY-MM-DD", file=name, row=_first_row(bad),
                                  column=col)
        df[col] = parsed
    return df


@lru_cache(maxsize=4)
def _frame(folder: Path | None) -> pd.DataFrame:
    name = "legal_frame.csv"
    _COLUMNS.setdefault(name, _FRAME_COLUMNS)
    df = _read(name, folder)
    _unique(df, ["doc_id"], name)
    _one_of(df, "applies_to", {"units_2024", "communes_2025"}, name)
    _blank_dates_explained(df, name)
    return _dates(df, ["issued", "in_force", "in_force_until"], name)


#: Words of a legal-frame note that say a date was searched for and left blank (Vietnamese,
#: English); a blank ``issued`` or ``in_force`` without them is an error (:func:`_frame`).
BLANK_DATE_WORDS = ("để trống", "left blank")


def _blank_dates_explained(df: pd.DataFrame, name: str) -> None:
    """A blank ``issued`` or ``in_force`` is a date no source read states: the row's note must
    say so and what was searched (:data:`BLANK_DATE_WORDS`), in both languages; else a
    :class:`SurveyDataError` naming the row and column.  (``in_force_until`` blank means the
    document is still in force.)"""
    for col in ("issued", "in_force"):
        for i in df.index[df[col].eq("")]:
            note = df.at[i, "note"].lower()
            missing = [w for w in BLANK_DATE_WORDS if w not in note]
            if missing:
                raise SurveyDataError(
                    f"blank date without an explanation: the note must say which sources were "
                    f"searched and that the date was left blank (missing {missing}); fill the "
                    f"date only from a source that states it", file=name, row=i + 2, column=col)


def legal_frame(folder: Path | None = None) -> pd.DataFrame:
    """The documents of the legal frame (``data/reference/legal_frame.csv``), one row each.

    Columns ``doc_id, number, kind, title_vi, title_en, issued, in_force, in_force_until,
    applies_to (units_2024 | communes_2025), role_vi, role_en, note, source, confidence,
    citation_vi, citation_en``;
    dates are Timestamps (NaT where the date could not be verified: never guessed).
    """
    return _frame(folder).copy()


def frame_on(date, folder: Path | None = None) -> str:
    """Which legal frame governs commune officials of Hữu Lũng on ``date``.

    ``"decree33_2023"`` up to 30 June 2025 (the 23 pre-reform units, Decree 33/2023 and the
    Law on Cadres and Civil Servants 2008 as amended 2019); ``"law_2025"`` from 1 July 2025
    (the 8 new communes, Law 80/2025/QH15 and Decree 170/2025/NĐ-CP, under which there is no
    separate commune-level category and no Decree 33 quota or title).  Raises
    :class:`SurveyDataError` for a date before Decree 33/2023 took effect (1 Aug 2023): an
    earlier register is judged by rules this project does not hold.

    >>> frame_on("2024-12-31"), frame_on("2025-07-01")
    ('decree33_2023', 'law_2025')
    """
    try:
        day = pd.Timestamp(date)
    except (TypeError, ValueError) as err:
        raise SurveyDataError(f"not a date: {date!r}") from err
    frame = legal_frame(folder).set_index("doc_id")
    start = frame.at["DECREE_33_2023", "in_force"]
    if day < start:
        raise SurveyDataError(f"{day.date()} precedes Decree 33/2023 ({start.date()}): no "
                              "reference rules for that date")
    return "decree33_2023" if day < REFORM_DATE else "law_2025"


#: A reader's name of each frame of :data:`FRAMES`, ``{frame: (vi, en)}``.
FRAME_NAMES = {
    "decree33_2023": ("khung trước cải cách: Luật Cán bộ, công chức 2008 (sửa đổi 2019) và "
                      "Nghị định 33/2023/NĐ-CP",
                      "the pre-reform frame: the Law on Cadres and Civil Servants 2008 (amended "
                      "2019) and Decree 33/2023/NĐ-CP"),
    "law_2025": ("khung sau cải cách: Luật Cán bộ, công chức 2025 (80/2025/QH15) và Nghị định "
                 "170/2025/NĐ-CP",
                 "the post-reform frame: the Law on Cadres and Civil Servants 2025 "
                 "(80/2025/QH15) and Decree 170/2025/NĐ-CP"),
}


def frame_name(frame: str, lang: str = "vi") -> str:
    """The reader's name of a legal frame code returned by :func:`frame_on`.

    ``frame`` one of :data:`FRAMES`; ``lang`` ``"vi"`` or ``"en"``.  Raises
    :class:`SurveyDataError` for an unknown frame and :class:`hlstudy.errors.ModelError` for
    another ``lang``.

    >>> frame_name(frame_on("2025-07-01"), "en")[:24]
    'the post-reform frame: t'
    """
    check_lang(lang)
    if frame not in FRAME_NAMES:
        raise SurveyDataError(f"unknown legal frame {frame!r}: one of {list(FRAMES)}")
    vi, en = FRAME_NAMES[frame]
    return vi if lang == "vi" else en


#: The documents that frame the 8 communes after the reform, in the order they are told
REFORM_DOCUMENTS = ("LAW_CBCC_2025", "DECREE_170_2025")


def reform_frame_text(lang: str = "vi", folder: Path | None = None) -> str:
    """The post-reform legal frame in one paragraph, built from ``legal_frame.csv``.

    For each of :data:`REFORM_DOCUMENTS`: its number, its date in force (``dd/mm/yyyy``), its
    role and its note in ``lang`` (the CSV's ``role_vi``/``role_en`` and the part of ``note``
    before or after " / "), with the row's confidence (``[2]`` two sources agree, ``[1]`` one)
    and the file named as the source.  Notebook 06 prints it; nothing in it is typed in.

    Raises :class:`hlstudy.errors.ModelError` for a ``lang`` other than ``"vi"``/``"en"`` and
    :class:`SurveyDataError` when a document is missing from the file.

    >>> "80/2025/QH15" in reform_frame_text("en")
    True
    """
    check_lang(lang)
    frame = legal_frame(folder).set_index("doc_id")
    missing = [d for d in REFORM_DOCUMENTS if d not in frame.index]
    if missing:
        raise SurveyDataError(f"documents {missing} are missing: add their rows", file="legal_frame.csv")
    parts = []
    for doc in REFORM_DOCUMENTS:
        row = frame.loc[doc]
        title = row["title_vi"] if lang == "vi" else row["title_en"]
        role = row["role_vi"] if lang == "vi" else row["role_en"]
        note_vi, _, note_en = str(row["note"]).partition(" / ")
        note = (note_vi if lang == "vi" else note_en or note_vi).strip()
        when = row["in_force"].strftime("%d/%m/%Y") if pd.notna(row["in_force"]) else ""
        since = (f", hiệu lực từ {when}" if lang == "vi" else f", in force from {when}") if when else ""
        note = f"; {note[0].lower()}{note[1:]}" if note else ""
        parts.append(f"{title} {row['number']} [{row['confidence']}]{since}: "
                     f"{role[0].lower()}{role[1:]}{note}.")
    source = ("Nguồn: `data/reference/legal_frame.csv` (cột `source`; [2] hai nguồn khớp nhau, [1] một nguồn)."
              if lang == "vi" else
              "Source: `data/reference/legal_frame.csv` (column `source`; [2] two sources agree, [1] one).")
    return " ".join(parts + [source])


def documents_in_force(date, folder: Path | None = None) -> pd.DataFrame:
    """Rows of :func:`legal_frame` in force on ``date`` (unknown bounds count as open)."""
    day = pd.Timestamp(date)
    f = legal_frame(folder)
    start_ok = f["in_force"].isna() | (f["in_force"] <= day)
    end_ok = f["in_force_until"].isna() | (f["in_force_until"] >= day)
    return f[start_ok & end_ok].reset_index(drop=True)


@lru_cache(maxsize=4)
def _title_limits(folder: Path | None) -> pd.DataFrame:
    name = "title_limits.csv"
    _COLUMNS.setdefault(name, _LIMIT_COLUMNS)
    df = _read(name, folder)
    _unique(df, ["position_code", "unit_type", "unit_class"], name)
    _one_of(df, "unit_type", {*UNIT_TYPES, "*"}, name)
    _one_of(df, "unit_class", {*UNIT_CLASSES, "*"}, name)
    unknown = set(df["position_code"]) - set(positions(folder)["position_code"])
    if unknown:
        raise SurveyDataError(f"unknown position codes {sorted(unknown)}", file=name)
    df["max_count"] = _int(df, "max_count", name)
    return _dates(df, ["valid_from", "valid_until"], name)


def title_limits(folder: Path | None = None) -> pd.DataFrame:
    """Maximum number of holders per title and unit (``data/reference/title_limits.csv``).

    ``unit_type``/``unit_class`` ``*`` = every unit.  Vice-chairs of the People's Committee:
    Decree 08/2016/NĐ-CP Art. 7 as amended by Decree 69/2020/NĐ-CP for the 2021–2026 term
    (loại I and II at most 2, loại III one); the People's Council has one vice-chair (Law on
    the Organisation of Local Government 2015, Art. 32(2)); other titles one holder
    (confidence ``assumption``).
    """
    return _title_limits(folder).copy()


def title_limit(position_code: str, unit_type: str, unit_class: str,
                folder: Path | None = None) -> int | None:
    """Maximum holders of ``position_code`` in one unit, or None when no limit is recorded.

    >>> title_limit("PCT_UBND", "xã", "III"), title_limit("PCT_UBND", "xã", "II")
    (1, 2)
    >>> title_limit("VP_TK", "xã", "I") is None
    True
    """
    ut = normalize_unit_type(unit_type)
    uc = str(unit_class).strip().upper()
    if uc not in UNIT_CLASSES:
        raise SurveyDataError(f"unit class {unit_class!r} not in {UNIT_CLASSES}")
    return _title_limit(position_code, ut, uc, folder)


@lru_cache(maxsize=1024)
def _title_limit(position_code: str, ut: str, uc: str, folder: Path | None) -> int | None:
    """:func:`title_limit` once per title and unit kind (the table is read once: cached)."""
    lim = _title_limits(folder)
    rows = lim[(lim["position_code"] == position_code) & lim["unit_type"].isin([ut, "*"])
               & lim["unit_class"].isin([uc, "*"])]
    if rows.empty:
        return None
    return int(rows["max_count"].min())
