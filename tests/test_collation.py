"""Vietnamese alphabetical order of communes (issue 13, kind 8).

The order is TCVN 5712's dictionary order (Đ after D, Hòa before Hồ, tones break ties), as
ICU's Vietnamese collator gives it: ``tests/fixtures/collation/icu_vi_order.csv`` is R's
``sort()`` under ``icuSetCollate(locale = "vi")`` (make_fixtures.R beside it).
"""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from hlstudy import communes as cm
from hlstudy import export
from hlstudy.errors import SurveyDataError

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "collation"


def test_order_equals_icu_vietnamese_collation_for_every_word():
    ref = pd.read_csv(FIXTURE / "icu_vi_order.csv", encoding="utf-8")
    words = pd.read_csv(FIXTURE / "words.csv", encoding="utf-8")["text"]
    assert sorted(ref["text"]) == sorted(words)           # the fixture sorts exactly these
    shuffled = words.sample(frac=1, random_state=1).tolist()
    assert sorted(shuffled, key=cm.collation_key) == ref["text"].tolist()
    # the fixture covers every commune name of the study
    names = set(cm.communes()["name"]) | set(cm.new_communes()["name"])
    assert names <= set(ref["text"])


@pytest.mark.parametrize("first, second", [
    ("Dương Hưu", "Đồng Tân"),      # Đ is a letter after D, not a D with a mark
    ("Dz", "Đa"),
    ("Hòa Thắng", "Hồ Sơn"),        # o before ô, whatever the tones
    ("Hòa Thắng", "Hoàng"),         # a prefix first
    ("Hoàng", "Hồ Sơn"),
    ("Hồ Sơn", "Hơn"),              # ô before ơ
    ("Tăng", "Tân"),                # ă before â
    ("Tan", "Tăng"),
    ("Tu", "Tư"),                   # u before ư
    ("E", "Ê"),
    ("Ha Nam", "Hà Nội"),           # letters of the whole name before any tone
    ("Ha", "Hà"), ("Hà", "Hả"), ("Hả", "Hã"), ("Hã", "Há"), ("Há", "Hạ"),  # tone order
    ("Yên Bình", "Yên Sơn"),
    ("Cai Kinh", "Đồng Tiến"),
])
def test_tricky_pairs(first, second):
    assert cm.collation_key(first) < cm.collation_key(second)
    assert sorted([second, first], key=cm.collation_key) == [first, second]


def test_key_ignores_unicode_form_and_case():
    nfd = unicodedata.normalize("NFD", "Đồng Tân")
    assert cm.collation_key(nfd) == cm.collation_key("Đồng Tân")
    assert cm.collation_key("đồng tân") == cm.collation_key("ĐỒNG TÂN")
    # the matching key (diacritics folded) gets both rules wrong: not for display order
    from hlstudy._text import sort_key

    assert sorted(["Dương Hưu", "Đồng Tân"], key=sort_key) != ["Dương Hưu", "Đồng Tân"]


def test_sort_communes_sorts_within_groups_and_rejects_missing_columns():
    t = pd.DataFrame({"scale": ["PRO", "ETH", "PRO", "ETH", "PRO"],
                      "commune": ["Hồ Sơn", "Hòa Lạc", "Đồng Tân", "Cai Kinh", "Dương"],
                      "x": [1, 2, 3, 4, 5]})
    out = cm.sort_communes(t, by=["scale"])
    assert out["commune"].tolist() == ["Cai Kinh", "Hòa Lạc", "Dương", "Đồng Tân", "Hồ Sơn"]
    assert out["scale"].tolist() == ["ETH", "ETH", "PRO", "PRO", "PRO"]
    assert list(out.index) == list(range(5))
    assert cm.sort_communes(t)["commune"].tolist()[:2] == ["Cai Kinh", "Dương"]
    with pytest.raises(SurveyDataError, match="no column"):
        cm.sort_communes(t, "xa")
    with pytest.raises(SurveyDataError, match="no column"):
        cm.sort_communes(t, by=["variable"])


def test_crosswalk_and_reform_table_in_vietnamese_order():
    from hlstudy import framework

    cw = cm.crosswalk()
    new = list(dict.fromkeys(cw["commune_2025"]))
    assert new == sorted(new, key=cm.collation_key)
    for name, g in cw.groupby("commune_2025", sort=False):
        towns = g[g["unit_type"] == "thị trấn"]
        rest = g[g["unit_type"] != "thị trấn"]["name"].tolist()
        assert g["name"].tolist()[:len(towns)] == towns["name"].tolist()   # thị trấn first
        assert rest == sorted(rest, key=cm.collation_key), name
    reform = framework.reform_table()
    assert reform["commune_2025"].tolist() == sorted(reform["commune_2025"], key=cm.collation_key)


# --------------------------------------------------------------------------- exported tables

def _commune_names() -> set[str]:
    names = set(cm.communes()["name"]) | set(cm.new_communes()["name"])
    return names | {f"TT {n}" for n in names} | {f"Thị trấn {n}" for n in names}


def _read_export(path: Path) -> pd.DataFrame:
    lines = [x for x in path.read_text(encoding="utf-8-sig").splitlines(True)
             if not x.startswith("#")]
    return pd.read_csv(io.StringIO("".join(lines)), dtype=str, keep_default_na=False)


def _numeric(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.str.replace(",", ".", regex=False), errors="coerce")


def commune_order_faults(table: pd.DataFrame, names: set[str]) -> list[str]:
    """Groups of rows whose communes are neither in Vietnamese order nor a ranking.

    The commune column is the leftmost column holding commune names (≥ 3 distinct); rows are
    grouped by the text columns left of it (e.g. the scale of a long table).  A group passes
    when its communes are in Vietnamese alphabetical order, or when a numeric column orders
    it (a ranking, e.g. communes by their mean).
    """
    col = next((c for c in table.columns if table[c].isin(names).sum() >= 3
                and table.loc[table[c].isin(names), c].nunique() >= 3), None)
    if col is None:
        return []
    left = [c for c in table.columns[:list(table.columns).index(col)]
            if _numeric(table[c]).isna().all()]
    faults = []
    groups = table.groupby(left, sort=False) if left else [("", table)]
    for key, g in groups:
        seq = [n for n in g[col] if n in names]
        if seq == sorted(seq, key=cm.collation_key):
            continue
        ranked = any(v.is_monotonic_increasing or v.is_monotonic_decreasing
                     for c in g.columns if c != col and not (v := _numeric(g[c])).isna().any()
                     and v.nunique() > 1)
        if not ranked:
            faults.append(f"{col} within {key!r}: {seq}")
    return faults


def test_order_check_catches_a_misordered_table():
    names = _commune_names()
    bad = pd.DataFrame({"Xã": ["Cai Kinh", "Hồ Sơn", "Hòa Lạc", "Đồng Tân"], "n": ["1", "5", "2", "9"]})
    assert commune_order_faults(bad, names)
    ranked = pd.DataFrame({"Xã": ["Hồ Sơn", "Cai Kinh", "Đồng Tân"], "mean": ["4,1", "3,9", "3,2"]})
    assert commune_order_faults(ranked, names) == []


def test_exported_commune_tables_are_in_vietnamese_order():
    names = _commune_names()
    faults = {}
    for path in sorted((ROOT / "figures").glob("*.csv")):
        if path.name == "index.csv":
            continue
        found = commune_order_faults(_read_export(path), names)
        if found:
            faults[path.name] = found
    assert faults == {}


def test_vi_sorted_is_the_same_order():
    names = cm.communes()["name"].tolist()
    assert export.vi_sorted(names) == sorted(names, key=cm.collation_key)
