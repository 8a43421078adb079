"""Matching commune names to the Hữu Lũng registry."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from hlstudy._text import clean_text, fold
from hlstudy.errors import SurveyDataError
from hlstudy.ingest._common import COMMUNE_MATCH, _package
from hlstudy.paths import REFERENCE

_COMMUNE_PREFIX = re.compile(
    r"^(?:xã|xa|x\.|thị trấn|thi tran|tt\.|tt|ttr\.|phường|phuong|p\.)\s*", re.IGNORECASE
)


@dataclass(frozen=True)
class CommuneMatch:
    """How one raw commune value was matched to the registry."""

    value: str
    code: str | None
    name: str | None
    how: str  # exact, normalised, code, diacritics, fuzzy, outside, unmatched, ambiguous_code
    score: float
    note: str = ""  # for "outside": where that commune is
    #: For ``how="outside"``: the Hữu Lũng commune of 1 July 2025 that the name is (it merged
    #: several units of the survey frame, so the record's unit cannot be told from it: the
    #: record belongs to the study, written with its unit before the merger); None for a
    #: commune outside Hữu Lũng and for every other ``how``.
    commune_2025: str | None = None


def _registry_frame(registry: pd.DataFrame | None) -> pd.DataFrame:
    if registry is not None:
        return registry
    try:
        from hlstudy.communes import communes

        return communes()
    except ImportError:
        path = REFERENCE / "communes.csv"
        if not path.is_file():
            raise SurveyDataError("commune registry not found", file=path) from None
        return pd.read_csv(path, dtype=str, keep_default_na=False)


def _outside_frame(outside: pd.DataFrame | None) -> pd.DataFrame:
    if outside is not None:
        return outside
    from hlstudy.communes import other_names

    return other_names()


def _outside_index(outside: pd.DataFrame) -> dict[str, tuple[str, str | None]]:
    """Folded name → ``(where that commune is, its name if it is a Hữu Lũng commune of 2025
    else None)``, for the Lạng Sơn names that are not a Hữu Lũng unit's.  A row with a
    ``note`` is a Hữu Lũng commune of 2025 (merged units: :func:`hlstudy.communes.build_other_names`
    notes only those)."""
    index: dict[str, tuple[str, str | None]] = {}
    rows = sorted(outside.itertuples(index=False), key=lambda r: (r.level != "legacy", r.name))
    for r in rows:
        key = fold(_commune_key(r.name))
        if getattr(r, "note", ""):
            where = f"the {r.level} commune {r.name}: {r.note}; give the unit before the 2025 merger"
            index.setdefault(key, (where, clean_text(r.name)))
            continue
        if r.level == "legacy" and r.district:
            where = f"a commune of {r.district} (another district or city of Lạng Sơn), outside Hữu Lũng"
        else:
            where = f"a {r.level} commune of Lạng Sơn outside Hữu Lũng"
        index.setdefault(key, (where, None))
    return index


@lru_cache(maxsize=1)
def _default_outside_index() -> dict[str, tuple[str, str | None]]:
    """:func:`_outside_index` of the committed list (itself read once): built once."""
    return _outside_index(_outside_frame(None))


def _commune_key(text: str) -> str:
    key = clean_text(text).casefold()
    key = re.sub(r"[,;()]+", " ", key)
    key = _COMMUNE_PREFIX.sub("", key).strip()
    return " ".join(key.split())


@lru_cache(maxsize=8)
def _registry_keys(names: tuple, codes: tuple) -> tuple[list[str], list[str], list[str], list[str]]:
    """The registry's names, codes, name keys and folded keys, as :func:`match_commune`
    compares them: computed once per registry content (the arguments are its columns)."""
    names_ = [clean_text(n) for n in names]
    keys = [_commune_key(n) for n in names_]
    return names_, [str(c).strip() for c in codes], keys, [fold(k) for k in keys]


@lru_cache(maxsize=4096)
def _similarity(folded: str, folded_keys: tuple[str, ...]) -> tuple[tuple[float, int], ...]:
    """``(ratio, position)`` of every registry key, best first (:func:`match_commune`'s fuzzy
    step): a pure function of the strings, so a spelling met again (another export of the
    study, another read of it) is scored once."""
    return tuple(sorted(
        ((difflib.SequenceMatcher(None, folded, k).ratio(), i) for i, k in enumerate(folded_keys)),
        reverse=True,
    ))


def match_commune(
    value: Any,
    registry: pd.DataFrame | None = None,
    *,
    cutoff: float = 0.8,
    outside: pd.DataFrame | None = None,
) -> CommuneMatch:
    """Match a raw commune name (or registry code) to the official registry.

    Tries, in order: the exact NFC name; the name without ``xã``/``TT``/``thị trấn``
    prefixes, case and spacing (``normalised``); the registry code (``code``); the name
    without diacritics or with old-style tone placement (``diacritics``); then, if the
    name (without diacritics) is that of another Lạng Sơn commune (``outside``, default
    :func:`hlstudy.communes.other_names`: "Đồng Đăng" is in Cao Lộc, not a typo of Đồng
    Tân), ``how="outside"`` (with ``commune_2025`` set when the name is that of a Hữu Lũng
    commune of 1 July 2025, e.g. Tuấn Sơn: a record of the study whose unit before the merger
    is to be written instead); and finally a close spelling by
    :func:`difflib.SequenceMatcher` ratio ≥ ``cutoff`` on the diacritic-free names,
    accepted only when one registry name is clearly closest (``fuzzy``).  Otherwise
    ``how="unmatched"``.

    >>> reg = pd.DataFrame({"code": ["06256"], "name": ["Hữu Liên"]})
    >>> match_commune("xa Huu Lien", reg).how, match_commune("Hữu Lien", reg).name
    ('diacritics', 'Hữu Liên')
    >>> match_commune("Huu Lienn", reg).how
    'fuzzy'
    """
    registry = _package()._registry_frame(registry)
    names, codes = tuple(registry["name"]), tuple(registry["code"])
    if outside is None and type(value) is str:
        return _match_default(value, names, codes, cutoff)
    return _match(value, names, codes, cutoff, outside)


@lru_cache(maxsize=1 << 13)
def _match_default(value: str, names: tuple, codes: tuple, cutoff: float) -> CommuneMatch:
    """:func:`_match` against the committed list of other Lạng Sơn names, remembered: a pure
    function of the spelling and the registry's names and codes (a match is immutable), so a
    spelling met again (another export, another read of the study) is matched once."""
    return _match(value, names, codes, cutoff, None)


def _match(value: Any, names_in: tuple, codes_in: tuple, cutoff: float,
           outside: pd.DataFrame | None) -> CommuneMatch:
    """:func:`match_commune` given the registry's ``name`` and ``code`` columns."""
    text = clean_text(value)
    names, codes, keys, folded_keys = _registry_keys(names_in, codes_in)
    if text in names:
        i = names.index(text)
        return CommuneMatch(text, codes[i], names[i], "exact", 1.0)
    key = _commune_key(text)
    if key in keys:
        i = keys.index(key)
        return CommuneMatch(text, codes[i], names[i], "normalised", 1.0)
    stripped = text.lstrip("0")
    for i, c in enumerate(codes):
        if c == text or (stripped and c.lstrip("0") == stripped):
            return CommuneMatch(text, codes[i], names[i], "code", 1.0)
    folded = fold(key)
    hits = [i for i, k in enumerate(folded_keys) if k == folded]
    if len(hits) == 1:
        return CommuneMatch(text, codes[hits[0]], names[hits[0]], "diacritics", 1.0)
    index = _default_outside_index() if outside is None else _outside_index(outside)
    elsewhere = index.get(folded)
    if elsewhere is not None:
        return CommuneMatch(text, None, None, "outside", 0.0, *elsewhere)
    scores = _similarity(folded, tuple(folded_keys))
    if scores and scores[0][0] >= cutoff and (len(scores) == 1 or scores[0][0] - scores[1][0] >= 0.05):
        i = scores[0][1]
        return CommuneMatch(text, codes[i], names[i], "fuzzy", round(scores[0][0], 3))
    return CommuneMatch(text, None, None, "unmatched", round(scores[0][0], 3) if scores else 0.0)



#: A name written as a thị trấn's (``TT Hữu Lũng``): no 2025 commune is a thị trấn, so such a
#: name can only be the pre-reform unit.
_TOWN_PREFIX = re.compile(r"^(?:thị trấn|thi tran|ttr?\.|tt(?=\s))", re.IGNORECASE)


#: How a commune given by its name was matched (:func:`match_commune`).
_BY_NAME = ("exact", "normalised", "diacritics", "fuzzy")


def _names_2025(registry: pd.DataFrame) -> dict[str, tuple[str, list[str]]]:
    """Folded name key → ``(name, its pre-reform units)`` of each 2025 commune of the registry."""
    if "commune_2025" not in registry.columns:
        return {}
    units: dict[str, list[str]] = {}
    for name, new in zip(registry["name"], registry["commune_2025"], strict=True):
        if clean_text(new):
            units.setdefault(clean_text(new), []).append(clean_text(name))
    from hlstudy.communes import collation_key

    return {fold(_commune_key(new)): (new, sorted(names, key=collation_key)) for new, names in units.items()}


def _also_2025(m: CommuneMatch, names_2025: dict[str, tuple[str, list[str]]], file: Path) -> str | None:
    """The note for a commune given by a name that is both a pre-reform unit's and a 2025
    commune's (``Tân Thành``: the unit, and since 1 July 2025 the commune formed from Hòa Lạc,
    Hòa Sơn and Tân Thành), or None.  The survey frame is the 23 pre-reform units, so the name
    is read as the unit; the note says so, so that a post-reform export is noticed.  A name
    written as a thị trấn's (``TT Hữu Lũng``) is the unit: no 2025 commune is a thị trấn."""
    if m.how not in _BY_NAME or m.name is None:
        return None
    hit = names_2025.get(fold(_commune_key(m.name)))
    if hit is None or _TOWN_PREFIX.match(clean_text(m.value)):
        return None
    new, units = hit
    return (f"{Path(file).name}: commune {m.value!r} is read as the pre-reform unit {m.name} "
            f"({m.code}) of the survey frame, but {new} is also the name of the commune formed on "
            f"1 July 2025 from {', '.join(units)}: if this export names 2025 communes, its "
            f"pre-reform units cannot be told from it (the 2025 commune {new} holds either way)")


def _dated(also: str, stamp: Any, pre_reform_file: bool) -> str | None:
    """The note of :func:`_also_2025` for one record, or None when the name can only be the
    pre-reform unit: the record was submitted before the 2025 merger (the 2025 commune did not
    exist), or it has no submission time and its file names a unit that exists only before
    the merger (``pre_reform_file``: the export uses the pre-reform units, as a register
    without dates of the 23 units does).  Otherwise the note, with the reason it stands."""
    from hlstudy.legal import REFORM_DATE

    known = not (stamp is None or stamp is pd.NaT or stamp is pd.NA
                 or (isinstance(stamp, float) and stamp != stamp))
    if known and pd.Timestamp(stamp) < REFORM_DATE:
        return None
    if not known and pre_reform_file:
        return None
    when = (f"submitted {pd.Timestamp(stamp):%d/%m/%Y}, after the merger" if known
            else "no submission time shows that it predates the merger, and the file names no "
                 "unit that exists only before it")
    return f"{also} ({when})"


def _guesses(matches: dict, reused: dict[str, str], file: Path, column: str) -> dict[str, tuple]:
    """The matched values that are guesses, for the ``commune_match`` cleaning rule: raw value
    → ``(variable, raw, code, name, outcome, reason)``.  A close spelling (``fuzzy``) is
    recoded to the unit it resembles, with its score; a code that a 2025 commune took over
    from one of its pre-reform units is not read as either: the pre-reform unit is left
    unknown (its 2025 commune is certain)."""
    out = {}
    for value, m in matches.items():
        if m.how == "fuzzy":
            out[value] = (column, m.value, m.code, m.name, "recoded",
                          f"{Path(file).name}: commune {m.value!r} matched by a close spelling to "
                          f"{m.name} ({m.code}), score {m.score:.3f} (cutoff 0.8, next registry "
                          "name at least 0.05 lower)")
        elif m.how == "code" and (code := m.code) in reused:
            out[value] = (column, m.value, None, None, "set_missing",
                          f"{Path(file).name}: commune code {m.value!r} is ambiguous: the pre-reform "
                          f"unit {m.name} ({code}) and, since 1 July 2025, the commune {reused[code]}, "
                          "which took over that code; the pre-reform unit is left unknown (not "
                          f"guessed), its 2025 commune {reused[code]} is kept")
    return out


def unmatched_fix(unmatched: list[CommuneMatch], registry: pd.DataFrame | None = None) -> str:
    """What to do about commune names not in the registry: the sentence after "Fix:" in the
    ingest error.

    ``unmatched``: the :class:`CommuneMatch` es of ``how`` ``"unmatched"`` or ``"outside"``;
    ``registry``: the registry they were matched against (default: the committed
    ``data/reference/communes.csv``), whose ``commune_2025`` column names the units that a
    Hữu Lũng commune of 2025 was formed from.  Returns one clause per kind of name met, joined
    by "; ", or ``""`` for an empty list.  A name not found anywhere is to be written as the
    registry writes it; a Hữu Lũng commune of 2025 (``commune_2025`` set: a record of the
    study) is to be written as its unit before the merger; only a commune outside Hữu Lũng is
    to be left out.

    >>> unmatched_fix([])
    ''
    >>> reg = pd.DataFrame({"code": ["06256", "06457"], "name": ["Hữu Liên", "Minh Sơn"],
    ...                     "commune_2025": ["Hữu Liên", "Tuấn Sơn"]})
    >>> print(unmatched_fix([match_commune("Tuấn Sơn", reg)], reg))  # doctest: +NORMALIZE_WHITESPACE
    Tuấn Sơn (formed from Minh Sơn) is a Hữu Lũng commune of 1 July 2025, not a unit of the
    survey frame: in a copy of the export (hlstudy never changes the raw file), write each such
    record's unit before the merger as the column 'name' of data/reference/communes.csv names
    it, or as its 5-digit 'code' there
    >>> print(unmatched_fix([match_commune("Chi Lăng", reg)], reg))  # doctest: +NORMALIZE_WHITESPACE
    a record from a commune outside Hữu Lũng does not belong to this study: leave it out of a
    copy of the export (hlstudy never changes the raw file)
    """
    fixes = []
    if any(m.how == "unmatched" for m in unmatched):
        fixes.append("write each commune as the column 'name' of data/reference/communes.csv "
                     "names it (accents may be left out), or as its 5-digit 'code' there")
    merged = list(dict.fromkeys(m.commune_2025 for m in unmatched
                                if m.how == "outside" and m.commune_2025 is not None))
    if merged:
        units = _names_2025(_package()._registry_frame(registry))
        named = ", ".join(f"{new} (formed from {', '.join(units[key][1])})"
                          if (key := fold(_commune_key(new))) in units else new for new in merged)
        fixes.append(f"{named} {'is a Hữu Lũng commune' if len(merged) == 1 else 'are Hữu Lũng communes'}"
                     " of 1 July 2025, not a unit of the survey frame: in a copy of the export "
                     "(hlstudy never changes the raw file), write each such record's unit before "
                     "the merger as the column 'name' of data/reference/communes.csv names it, or "
                     "as its 5-digit 'code' there")
    if any(m.how == "outside" and m.commune_2025 is None for m in unmatched):
        fixes.append("a record from a commune outside Hữu Lũng does not belong to this study: "
                     "leave it out of a copy of the export (hlstudy never changes the raw file)")
    return "; ".join(fixes)


def _attach_communes(data: pd.DataFrame, column: str, registry: pd.DataFrame | None, file: Path,
                     submitted: str | None = None):
    """Match the commune column of ``data`` to the registry (:func:`match_commune`).

    ``submitted``: the column of the records' submission times, if any.  A name that is both
    a pre-reform unit's and a 2025 commune's is read as the unit; it is flagged only for a
    record not shown to predate the 2025 merger (submitted on or after
    :data:`hlstudy.legal.REFORM_DATE`, or with no submission time in a file that names no
    unit existing only before the merger), since before it the 2025 commune did not exist.
    """
    registry = _package()._registry_frame(registry)
    names_in, codes_in = tuple(registry["name"]), tuple(registry["code"])
    # each code's 2025 commune (the registry's last row of a code, as a dict of its rows keeps)
    new_of = ({str(c).strip(): clean_text(n) for c, n in zip(registry["code"], registry["commune_2025"],
                                                             strict=True)}
              if "commune_2025" in registry.columns else None)
    values = data[column].astype("string").tolist()
    matches: dict[str, CommuneMatch] = {}
    rows_of: dict[str, list[int]] = {}
    for value, row in zip(values, data["source_row"].tolist(), strict=True):
        if value is pd.NA or value is None:
            continue
        rows_of.setdefault(value, []).append(int(row))
        if value not in matches:
            matches[value] = (_match_default(value, names_in, codes_in, 0.8) if type(value) is str
                              else _match(value, names_in, codes_in, 0.8, None))
    unmatched = [m for m in matches.values() if m.how in ("unmatched", "outside")]
    if unmatched:
        names = [clean_text(n) for n in registry["name"]]
        described = "; ".join(
            f"{m.value!r} (rows {', '.join(map(str, rows_of[m.value][:5]))}"
            f"{'…' if len(rows_of[m.value]) > 5 else ''}; "
            + (m.note if m.how == "outside" else "closest: " + (difflib.get_close_matches(
                fold(m.value), [fold(n) for n in names], n=1, cutoff=0) or ['none'])[0])
            + ")"
            for m in sorted(unmatched, key=lambda m: rows_of[m.value][0])
        )
        first = unmatched[0]
        raise SurveyDataError(
            f"{len(unmatched)} commune name(s) not in the Hữu Lũng registry: {described}. "
            f"Fix: {unmatched_fix(unmatched, registry)}",
            file=file,
            row=min(rows_of[first.value]),
            column=column,
        )
    # codes the 2025 communes took over from one of their pre-reform units (new Tân Thành =
    # 06445 = old Hòa Sơn): such a code names a 2025 commune or a pre-reform unit
    reused = ({str(c).strip(): clean_text(n) for c, n in zip(registry["commune_2025_code"],
                                                             registry["commune_2025"], strict=True)}
              if {"commune_2025_code", "commune_2025"} <= set(registry.columns) else {})
    notes = _guesses(matches, reused, file, column)
    names_2025 = _names_2025(registry)
    also_of = {value: also for value, m in matches.items()
               if (also := _also_2025(m, names_2025, file)) is not None}
    # a unit named that exists only before the merger (Hòa Lạc): the file names pre-reform units
    pre_reform_file = any(m.how in _BY_NAME and m.name is not None and value not in also_of
                          and fold(_commune_key(m.name)) not in names_2025
                          for value, m in matches.items())
    new_only: dict[str, str] = {}  # ambiguous value → its (certain) 2025 commune
    for value, note in notes.items():
        if note[4] == "set_missing":  # not guessed: the pre-reform unit stays unknown
            m = matches[value]
            new_only[value] = reused[m.code]
            matches[value] = CommuneMatch(m.value, None, None, "ambiguous_code", m.score, note[5])
    stamps = (data[submitted].tolist() if submitted is not None and submitted in data
              else [None] * len(values))
    code_col, name_col, new_col, note_col = [], [], [], []
    for value in values:
        if value is pd.NA or value is None:
            code_col.append(None)
            name_col.append(None)
            new_col.append(None)
            note_col.append(None)
            continue
        m = matches[value]
        code_col.append(m.code)
        name_col.append(m.name)
        if m.how == "ambiguous_code":
            new_col.append(new_only[value])  # the 2025 commune holds either way
        else:
            new_col.append(new_of[m.code] if new_of is not None else None)
        note = notes.get(value)
        also = (_dated(also_of[value], stamps[len(note_col)], pre_reform_file)
                if value in also_of else None)
        if also is not None and note is not None:  # a close spelling of such a name: said there
            note = (*note[:5], f"{note[5]}; {also.split(': ', 1)[1]}")
        elif also is not None:  # read as the unit, flagged (no value changed)
            note = (column, m.value, m.code, m.name, "flagged", also)
        note_col.append((note,) if note is not None else None)
    # ``data.drop(columns=[column])`` (a shallow copy without the column: the caller's table
    # is left as it is) with the three columns inserted after ``source_row``, as string arrays
    out = data.copy(deep=False)
    del out[column]
    position = list(out.columns).index("source_row") + 1
    out.insert(position, "commune_code", pd.array(code_col, dtype="string"))
    out.insert(position + 1, "commune", pd.array(name_col, dtype="string"))
    out.insert(position + 2, "commune_2025", pd.array(new_col, dtype="string"))
    if any(n is not None for n in note_col):
        out[COMMUNE_MATCH] = note_col
    report = pd.DataFrame(
        [
            {
                "value": m.value, "code": m.code, "name": m.name, "how": m.how, "score": m.score,
                "rows": len(rows_of[m.value]),
            }
            for m in sorted(matches.values(), key=lambda m: (m.name or "", m.value))
        ],
        columns=["value", "code", "name", "how", "score", "rows"],
    )
    return out, report

