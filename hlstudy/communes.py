"""Hữu Lũng's 23 commune-level units before the 2025 reform, and the 8 communes they became.

Real reference data, not simulated.  Two files under ``data/reference/`` are generated from
the ``vietnamadminunits`` package (version pinned in the environment) by this module's
command line, and read back by :func:`communes` / :func:`new_communes`:

``communes.csv``
    ``code, name, unit_type, lat, lon, commune_2025, commune_2025_code, source, confidence``
    — one row per pre-reform unit (thị trấn Hữu Lũng and 22 xã, the project's reference notes), from the package's
    ``admin_units_legacy`` table (official code, short name, type, approximate coordinates)
    and its 2025 converter table (``DICT_PROVINCE_WARD_NO_DIVIDED``: which new commune each
    old unit was merged into; none of Hữu Lũng's units was divided).
``communes_2025.csv``
    ``code, name, unit_type, lat, lon, area_km2, n_units_merged, source, confidence`` — the
    8 communes of Lạng Sơn created on 1 July 2025 (Resolution 1672/NQ-UBTVQH15), from the
    package's ``admin_units`` table.

``communes_lang_son_other.csv``
    ``name, level, district, note, source, confidence`` — names of Lạng Sơn's other
    commune-level units (other districts before 2025, all communes of 2025) that are not the
    name of a Hữu Lũng unit (:func:`other_names`; ``--write-other``), so that ingest never
    fuzzy-matches a real commune elsewhere to a similar Hữu Lũng name.

Coordinates are one approximate point per unit (the package's geocoding), not boundaries;
thị trấn Hữu Lũng and xã Tân Thành share the same point in the package.  The crosswalk agrees
with the resolution as listed in the project's reference notes (confidence ``2``: the package and an independent
mapping file agree); areas of the new communes have confidence ``1`` (one source:
:data:`AREA_ORIGIN`; they sum to less than the district's area, :func:`area_gap`), and so have the
other Lạng Sơn names (one package; the project's reference notes list none of them) except Hữu Lũng's own
2025 communes.

Regenerate (needs ``vietnamadminunits``)::

    python -m hlstudy.communes --write

Example
-------
>>> from hlstudy.communes import communes, new_communes, crosswalk
>>> len(communes()), len(new_communes())
(23, 8)
>>> communes().set_index("name").loc["Yên Thịnh", "commune_2025"]
'Hữu Liên'
>>> crosswalk().query("commune_2025 == 'Hữu Lũng'")["name"].tolist()
['Hữu Lũng', 'Đồng Tân', 'Hồ Sơn']
"""

from __future__ import annotations

import argparse
import json
import unicodedata
from functools import lru_cache
from pathlib import Path

import pandas as pd

from hlstudy._text import fold
from hlstudy.errors import SurveyDataError
from hlstudy.paths import REFERENCE

PROVINCE_KEY = "tinhlangson"
DISTRICT_KEY = "huyenhuulung"
COLUMNS = ["code", "name", "unit_type", "lat", "lon", "commune_2025", "commune_2025_code",
           "source", "confidence"]
NEW_COLUMNS = ["code", "name", "unit_type", "lat", "lon", "area_km2", "n_units_merged",
               "source", "confidence"]
FILES = {"communes": "communes.csv", "communes_2025": "communes_2025.csv"}
#: Where the package's areas of the 2025 communes come from (its README names
#: sapnhap.bando.com.vn; its scrape of that site, data/raw/sapnhap.bando.com.vn_ward_2025-07-17.csv
#: in the package's repository, holds the same 8 areas): written into ``communes_2025.csv``.
AREA_ORIGIN = ("area as published on sapnhap.bando.com.vn, the package's source; its scrape "
               "of 2025-07-17 holds the same values")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", str(text)).strip()


def build() -> dict[str, pd.DataFrame]:
    """Both tables, computed from the installed ``vietnamadminunits`` package.

    Sorted by code; floats as stored by the package.  Raises :class:`SurveyDataError` if the
    package does not give exactly 23 old units mapped onto 8 new communes.
    """
    import vietnamadminunits
    from vietnamadminunits.database.main import query

    version = getattr(vietnamadminunits, "__version__", None)
    if version is None:
        from importlib.metadata import version as _v

        version = _v("vietnamadminunits")
    src = f"vietnamadminunits {version}"
    old = pd.DataFrame(query(
        "SELECT DISTINCT wardCode, wardShort, wardType, wardLat, wardLon, wardKey "
        f"FROM admin_units_legacy WHERE provinceKey = '{PROVINCE_KEY}' "
        f"AND districtKey = '{DISTRICT_KEY}'"
    ))
    data = Path(vietnamadminunits.__file__).parent / "data" / "converter_2025.json"
    conv = json.loads(data.read_text(encoding="utf-8"))
    prefix = f"{PROVINCE_KEY}_{DISTRICT_KEY}_"
    merged_into = {
        key[len(prefix):]: new
        for new, olds in conv["DICT_PROVINCE_WARD_NO_DIVIDED"][PROVINCE_KEY].items()
        for key in olds if key.startswith(prefix)
    }
    divided = [k for k in conv["DICT_PROVINCE_WARD_DIVIDED"].get(PROVINCE_KEY, {})
               if k.startswith(prefix)]
    if divided:
        raise SurveyDataError(f"units split between new communes, not handled: {divided}")
    new = pd.DataFrame(query(
        "SELECT DISTINCT wardCode, wardShort, wardType, wardLat, wardLon, wardAreaKm2, wardKey "
        f"FROM admin_units WHERE provinceKey = '{PROVINCE_KEY}'"
    ))
    new = new[new["wardKey"].isin(set(merged_into.values()))]
    by_key = new.set_index("wardKey")
    missing = [k for k in old["wardKey"] if k not in merged_into]
    if missing:
        raise SurveyDataError(f"no 2025 commune for {missing} in the package's converter")
    table = pd.DataFrame({
        "code": old["wardCode"].map(_nfc),
        "name": old["wardShort"].map(_nfc),
        "unit_type": old["wardType"].map(lambda s: _nfc(s).lower()),
        "lat": old["wardLat"].astype(float),
        "lon": old["wardLon"].astype(float),
        "commune_2025": old["wardKey"].map(lambda k: _nfc(by_key.loc[merged_into[k], "wardShort"])),
        "commune_2025_code": old["wardKey"].map(lambda k: _nfc(by_key.loc[merged_into[k],
                                                                           "wardCode"])),
        "source": f"{src}: admin_units_legacy (code, name, type, coordinates); "
                  "converter_2025 (Resolution 1672/NQ-UBTVQH15 crosswalk)",
        "confidence": "2",
    }).sort_values("code", ignore_index=True)
    counts = table.groupby("commune_2025_code").size()
    table_new = pd.DataFrame({
        "code": new["wardCode"].map(_nfc),
        "name": new["wardShort"].map(_nfc),
        "unit_type": new["wardType"].map(lambda s: _nfc(s).lower()),
        "lat": new["wardLat"].astype(float),
        "lon": new["wardLon"].astype(float),
        "area_km2": new["wardAreaKm2"].astype(float),
        "n_units_merged": new["wardCode"].map(counts).astype("int64"),
        "source": f"{src}: admin_units (2025 communes; {AREA_ORIGIN})",
        "confidence": "1",
    }).sort_values("code", ignore_index=True)
    if len(table) != 23 or len(table_new) != 8:
        raise SurveyDataError(
            f"expected 23 pre-2025 units and 8 new communes, got {len(table)} and {len(table_new)}"
        )
    return {"communes": table[COLUMNS], "communes_2025": table_new[NEW_COLUMNS]}


def write(folder: Path | None = None) -> list[Path]:
    """Write ``communes.csv`` and ``communes_2025.csv`` (UTF-8, ``\\n`` line ends)."""
    folder = Path(folder or REFERENCE)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for key, df in build().items():
        path = folder / FILES[key]
        df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        out.append(path)
    _clear_caches()
    return out


@lru_cache(maxsize=8)
def _read(path: str, columns: tuple[str, ...]) -> pd.DataFrame:
    p = Path(path)
    if not p.is_file():
        raise SurveyDataError("commune registry not found (run `python -m hlstudy.communes "
                              "--write`)", file=p)
    df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise SurveyDataError(f"missing columns {missing}", file=p.name)
    if df["code"].duplicated().any() or df["name"].duplicated().any():
        raise SurveyDataError("duplicated commune code or name", file=p.name)
    for col in ("lat", "lon"):
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any():
            row = int(values.isna().to_numpy().nonzero()[0][0]) + 2
            raise SurveyDataError("coordinate is not a number", file=p.name, row=row, column=col)
        df[col] = values.astype(float)
    for col in df.columns:
        if df[col].dtype != float:
            df[col] = df[col].map(_nfc)
    return df


def communes(folder: Path | None = None) -> pd.DataFrame:
    """The 23 pre-2025 units (``code, name, unit_type, lat, lon, commune_2025, …``), by code."""
    return _communes(str(Path(folder or REFERENCE))).copy()


@lru_cache(maxsize=8)
def _communes(folder: str) -> pd.DataFrame:
    """:func:`communes` of ``folder`` (read, typed and checked once per folder, as
    :func:`_read` reads a file once; an error is raised again at every call)."""
    df = _read(str(Path(folder) / FILES["communes"]), tuple(COLUMNS))
    known = set(_new_communes(folder)["name"])
    unknown = sorted(set(df["commune_2025"]) - known)
    if unknown:
        raise SurveyDataError(f"commune_2025 values {unknown} are not 2025 communes",
                              file=FILES["communes"], column="commune_2025")
    return df


def new_communes(folder: Path | None = None) -> pd.DataFrame:
    """The 8 communes created on 1 July 2025 from Hữu Lũng's units, by code."""
    return _new_communes(str(Path(folder or REFERENCE))).copy()


@lru_cache(maxsize=8)
def _new_communes(folder: str) -> pd.DataFrame:
    """:func:`new_communes` of ``folder``, read and typed once per folder."""
    df = _read(str(Path(folder) / FILES["communes_2025"]), tuple(NEW_COLUMNS)).copy()
    df["area_km2"] = pd.to_numeric(df["area_km2"]).astype(float)
    df["n_units_merged"] = pd.to_numeric(df["n_units_merged"]).astype("int64")
    return df


def area_gap(folder: Path | None = None) -> pd.Series:
    """The district's area beside the sum of the areas of the 8 communes it became.

    Resolution 1672/NQ-UBTVQH15 merges the whole natural area of all 23 former units into the
    8 communes and divides none of them (:func:`build` raises if the package's converter
    divides one), so the two should agree; they come from different sources
    (``district_facts.csv`` ``area_km2``: the provincial portal, undated; ``communes_2025.csv``:
    :data:`AREA_ORIGIN`).  Values ``district_km2``, ``communes_km2`` (the sum, rounded to the
    files' 2 decimals), ``gap_km2`` (district minus communes) and ``gap_share`` (of the
    district's area).

    >>> g = area_gap(); bool(g["communes_km2"] < g["district_km2"])
    True
    """
    from hlstudy import district

    total = round(float(new_communes(folder)["area_km2"].sum()), 2)
    whole = district.value("area_km2", folder)
    gap = round(whole - total, 2)
    return pd.Series({"district_km2": whole, "communes_km2": total, "gap_km2": gap,
                      "gap_share": gap / whole}, name="area")


def _clear_caches() -> None:
    """Forget every file read and table made (after the registry files are written)."""
    _read.cache_clear()
    _communes.cache_clear()
    _new_communes.cache_clear()


#: How a pre-reform unit is named in tables and figures, by its type: the town (thị trấn)
#: carries "TT ", so that "TT Hữu Lũng" (the pre-reform town) is never read as Hữu Lũng, the
#: 2025 commune formed from it, Đồng Tân and Hồ Sơn.
UNIT_PREFIX = {"thị trấn": "TT ", "phường": "P. "}


def unit_label(name, unit_type) -> str:
    """A pre-reform unit's printed name: ``"TT " + name`` for the town, else the name.

    >>> unit_label("Hữu Lũng", "thị trấn"), unit_label("Cai Kinh", "xã")
    ('TT Hữu Lũng', 'Cai Kinh')
    """
    return UNIT_PREFIX.get(str(unit_type).strip().lower(), "") + str(name)


def unit_labels(folder: Path | None = None) -> dict[str, str]:
    """``{name: printed name}`` of the registry's pre-reform units (:func:`unit_label`)."""
    reg = communes(folder)
    return {str(n): unit_label(n, t) for n, t in zip(reg["name"], reg["unit_type"], strict=True)}


def code_labels(folder: Path | None = None) -> dict[str, str]:
    """``{code: printed name}`` of the registry's pre-reform units (:func:`unit_label`), for
    prose that would otherwise name a commune by its code.

    >>> code_labels()["06385"], code_labels()["06388"]
    ('TT Hữu Lũng', 'Hữu Liên')
    """
    reg = communes(folder)
    return {str(c): unit_label(n, t)
            for c, n, t in zip(reg["code"], reg["name"], reg["unit_type"], strict=True)}


def collation_key(name) -> tuple:
    """Key of Vietnamese alphabetical order for a commune name (or any Vietnamese text).

    The dictionary order of TCVN 5712 as :func:`hlstudy.export.vi_sort_key` implements it:
    letters compared first in the Vietnamese alphabet (``a ă â b c d đ e ê … o ô ơ … u ư``),
    so Đồng Tân follows every D-name and Hòa Bình precedes Hồ Sơn; tone marks (none, huyền,
    hỏi, ngã, sắc, nặng) only break ties; case is ignored.  Unlike
    :func:`hlstudy._text.sort_key` (diacritics folded, for matching names), it is the order
    a Vietnamese reader expects in a printed list.

    >>> sorted(["Hồ Sơn", "Đồng Tân", "Hòa Thắng", "Dương Hưu"], key=collation_key)
    ['Dương Hưu', 'Đồng Tân', 'Hòa Thắng', 'Hồ Sơn']
    """
    from hlstudy.export import vi_sort_key

    return vi_sort_key(name)


def sort_communes(table: pd.DataFrame, column: str = "commune",
                  by: tuple[str, ...] | list[str] = ()) -> pd.DataFrame:
    """``table`` sorted by ``by`` (as they sort) and then ``column`` in Vietnamese order.

    The sort is stable, so rows of one commune keep their order; the index is reset.
    Raises :class:`~hlstudy.errors.SurveyDataError` when a column is missing.

    >>> t = pd.DataFrame({"commune": ["Hồ Sơn", "Đồng Tân", "Cai Kinh", "Hòa Lạc"]})
    >>> sort_communes(t)["commune"].tolist()
    ['Cai Kinh', 'Đồng Tân', 'Hòa Lạc', 'Hồ Sơn']
    """
    absent = [c for c in [*by, column] if c not in table.columns]
    if absent:
        raise SurveyDataError(f"cannot sort communes: no column {absent} in the table")
    names = table[column].astype("string").fillna("")
    rank = {n: k for k, n in enumerate(sorted(set(names), key=collation_key))}
    key = names.map(rank).astype("int64")
    order = table.assign(_collation=key.to_numpy()).sort_values(
        [*by, "_collation"], kind="stable").index
    return table.loc[order].reset_index(drop=True)


def crosswalk(folder: Path | None = None) -> pd.DataFrame:
    """Long table ``commune_2025, commune_2025_code, code, name, unit_type`` (old → new).

    Sorted by the new commune's name, then within it the thị trấn first and the old units
    by name, both in Vietnamese alphabetical order (:func:`collation_key`).
    """
    df = sort_communes(communes(folder).sort_values("code", ignore_index=True), "name")
    df = df.assign(_tt=df["unit_type"].ne("thị trấn")).sort_values("_tt", kind="stable")
    df = sort_communes(df, "commune_2025")
    return df[["commune_2025", "commune_2025_code", "code", "name", "unit_type"]]


OTHER_FILE = "communes_lang_son_other.csv"
OTHER_COLUMNS = ["name", "level", "district", "note", "source", "confidence"]


def build_other_names() -> pd.DataFrame:
    """Names of Lạng Sơn's commune-level units that are *not* Hữu Lũng's pre-2025 units.

    Pre-2025 units of the other districts (``level = legacy``, with their district) and the
    province's communes of 1 July 2025 (``level = 2025``) whose name is not the name of a
    Hữu Lũng pre-2025 unit (a 2025 commune of Hữu Lũng named differently, e.g. Tuấn Sơn, is
    listed: it merged several units, so the unit cannot be told from it).  Names shared with a
    Hữu Lũng unit are left out (the registry wins).  Used by
    :func:`hlstudy.ingest.match_commune` so that a real commune elsewhere is never taken, by
    fuzzy matching, for a Hữu Lũng commune with a similar name.
    """
    import vietnamadminunits
    from vietnamadminunits.database.main import query

    version = getattr(vietnamadminunits, "__version__", None)
    if version is None:
        from importlib.metadata import version as _v

        version = _v("vietnamadminunits")
    src = f"vietnamadminunits {version}"
    ours = {fold(n) for n in communes()["name"]}
    hl_2025 = set(new_communes()["name"])
    legacy = pd.DataFrame(query(
        "SELECT DISTINCT wardShort, districtShort FROM admin_units_legacy "
        f"WHERE provinceKey = '{PROVINCE_KEY}' AND districtKey != '{DISTRICT_KEY}'"
    ))
    new = pd.DataFrame(query(
        f"SELECT DISTINCT wardShort FROM admin_units WHERE provinceKey = '{PROVINCE_KEY}'"
    ))
    rows = [{"name": _nfc(r.wardShort), "level": "legacy", "district": _nfc(r.districtShort),
             "note": "", "source": f"{src}: admin_units_legacy", "confidence": "1"}
            for r in legacy.itertuples()]  # one source: the project's reference notes list none of these names
    rows += [{"name": _nfc(n), "level": "2025", "district": "",
              "note": "Hữu Lũng commune of 2025 (merged units)" if _nfc(n) in hl_2025 else "",
              "source": f"{src}: admin_units",
              # the 8 Hữu Lũng communes of 2025 are in the project's reference notes [2]; the others: this package
              "confidence": "2" if _nfc(n) in hl_2025 else "1"} for n in new["wardShort"]]
    df = pd.DataFrame(rows, columns=OTHER_COLUMNS)
    df = df[~df["name"].map(fold).isin(ours)]
    return df.sort_values(["level", "district", "name"], ignore_index=True)


def write_other_names(folder: Path | None = None) -> Path:
    """Write ``communes_lang_son_other.csv`` (``python -m hlstudy.communes --write-other``)."""
    path = Path(folder or REFERENCE) / OTHER_FILE
    build_other_names().to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    other_names.cache_clear()
    return path


@lru_cache(maxsize=4)
def other_names(folder: Path | None = None) -> pd.DataFrame:
    """The table of :func:`build_other_names` as committed in ``data/reference/``."""
    path = Path(folder or REFERENCE) / OTHER_FILE
    if not path.is_file():
        raise SurveyDataError("list of Lạng Sơn communes outside Hữu Lũng not found (run "
                              "`python -m hlstudy.communes --write-other`)", file=path)
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in OTHER_COLUMNS if c not in df.columns]
    if missing:
        raise SurveyDataError(f"missing columns {missing}", file=path.name)
    return df.map(_nfc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hlstudy.communes", description=__doc__
                                     .split("\n\n")[0])
    parser.add_argument("--write", action="store_true",
                        help="regenerate data/reference/communes*.csv from vietnamadminunits")
    parser.add_argument("--write-other", action="store_true",
                        help=f"regenerate data/reference/{OTHER_FILE} from vietnamadminunits")
    parser.add_argument("--folder", type=Path, default=None, help="output folder")
    args = parser.parse_args(argv)
    if args.write_other:
        print(f"wrote {write_other_names(args.folder)}")
    elif args.write:
        for path in write(args.folder):
            print(f"wrote {path}")
    else:
        print(build()["communes"].to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
