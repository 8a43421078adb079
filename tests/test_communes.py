"""Tests of the real reference data: the commune registry and the district facts."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from hlstudy import communes as cm
from hlstudy import district, sourcing
from hlstudy.errors import ModelError, SurveyDataError
from hlstudy.paths import REFERENCE

# facts.md, Resolution 1672/NQ-UBTVQH15: the 8 new communes and the units merged into each.
MERGER = {
    "Hữu Lũng": {"Hữu Lũng", "Đồng Tân", "Hồ Sơn"},
    "Tuấn Sơn": {"Hòa Thắng", "Minh Hòa", "Minh Sơn"},
    "Tân Thành": {"Tân Thành", "Hòa Lạc", "Hòa Sơn"},
    "Vân Nham": {"Vân Nham", "Minh Tiến", "Nhật Tiến"},
    "Thiện Tân": {"Thiện Tân", "Đồng Tiến", "Thanh Sơn"},
    "Yên Bình": {"Yên Bình", "Quyết Thắng", "Hòa Bình"},
    "Cai Kinh": {"Cai Kinh", "Yên Sơn", "Yên Vượng"},
    "Hữu Liên": {"Hữu Liên", "Yên Thịnh"},
}


def test_registry_has_the_23_units_of_facts_md():
    df = cm.communes()
    assert list(df.columns[:6]) == ["code", "name", "unit_type", "lat", "lon", "commune_2025"]
    assert len(df) == 23 and df["code"].is_unique and df["name"].is_unique
    assert (df["unit_type"] == "thị trấn").sum() == 1
    assert df.loc[df["unit_type"] == "thị trấn", "name"].item() == "Hữu Lũng"
    assert (df["unit_type"] == "xã").sum() == 22
    # merged away before 2025 (facts.md): must not be in the registry
    assert not df["name"].isin(["Sơn Hà", "Đô Lương", "Thiện Kỵ", "Tân Lập"]).any()
    # coordinates inside the district's neighbourhood
    assert df["lat"].between(21.3, 21.8).all() and df["lon"].between(106.1, 106.6).all()


def test_crosswalk_matches_the_resolution():
    got = {k: set(g["name"]) for k, g in cm.crosswalk().groupby("commune_2025")}
    assert got == MERGER
    new = cm.new_communes()
    assert set(new["name"]) == set(MERGER)
    assert dict(zip(new["name"], new["n_units_merged"], strict=True)) == {
        k: len(v) for k, v in MERGER.items()}
    assert (new["area_km2"] > 0).all()
    # every old unit's 2025 code is a new commune's code
    assert set(cm.communes()["commune_2025_code"]) == set(new["code"])


def test_committed_files_equal_the_package_output(tmp_path):
    pytest.importorskip("vietnamadminunits")
    cm.write(tmp_path)
    for name in cm.FILES.values():
        assert (tmp_path / name).read_bytes() == (REFERENCE / name).read_bytes(), name


def test_registry_errors(tmp_path):
    with pytest.raises(SurveyDataError, match="not found"):
        cm.communes(tmp_path)
    for name in cm.FILES.values():
        shutil.copy(REFERENCE / name, tmp_path / name)
    df = pd.read_csv(tmp_path / "communes.csv", dtype=str, keep_default_na=False)
    df.loc[3, "lat"] = "north"
    df.to_csv(tmp_path / "communes.csv", index=False)
    with pytest.raises(SurveyDataError, match="row 5"):
        cm.communes(tmp_path)
    df.loc[3, "lat"] = "21.6"
    df.loc[4, "commune_2025"] = "Sơn Hà"
    df.to_csv(tmp_path / "communes.csv", index=False)
    with pytest.raises(SurveyDataError, match="not 2025 communes"):
        cm.communes(tmp_path)


def test_district_facts():
    f = district.facts()
    assert f["source"].ne("").all()
    assert set(f["confidence"]) <= {"1", "2"}
    assert district.value("population") == district.value("population_urban") + district.value(
        "population_rural")
    assert district.value("n_units_2024") == len(cm.communes())
    assert district.value("n_communes_2025") == len(cm.new_communes())
    shares = district.ethnic_shares()
    assert shares.sum() == pytest.approx(1.0)
    assert list(shares.index[:3]) == ["nung", "kinh", "tay"]
    assert shares["nung"] == pytest.approx(0.523, abs=1e-4)
    with pytest.raises(SurveyDataError, match="no district fact"):
        district.value("gdp")


def test_ethnicity_codes_exist_in_the_codebook():
    from hlstudy import codebook

    assert set(district.ethnic_shares().index) == set(codebook.value_labels("ethnicity")["code"])


def test_district_facts_need_sources(tmp_path):
    df = pd.read_csv(REFERENCE / "district_facts.csv", dtype=str, keep_default_na=False)
    df.loc[2, "source"] = ""
    df.to_csv(tmp_path / "district_facts.csv", index=False)
    with pytest.raises(SurveyDataError, match="row 4"):
        district.facts(tmp_path)


def test_fact_labels_name_each_fact_in_either_language():
    """01_district_facts printed the note's text after its last " / " as the English key: the
    seven ethnic groups all read "2013 figure; the 2019 census by district was not found"."""
    en, vi = district.fact_labels("en"), district.fact_labels("vi")
    assert list(en.index) == list(vi.index) == list(district.facts()["key"])
    assert en.is_unique and vi.is_unique
    assert en["ethnic_share_kinh"] == vi["ethnic_share_kinh"].split(" — ")[0] + (
        " — 2013 figure; the 2019 census by district was not found")
    assert en["ethnic_share_tay"].startswith("Tay — ") and vi["ethnic_share_tay"].startswith("Tày — ")
    assert en["population_urban"] == "urban population" and vi["population_urban"] == "Dân số thành thị"
    assert en["ethnic_share_san_chay"].startswith("Cao Lan (San Chay); mainly in Thiện Kỵ")
    with pytest.raises(ModelError, match="lang"):
        district.fact_labels("fr")


def test_a_fact_note_whose_languages_cannot_be_told_apart_is_refused(tmp_path):
    df = pd.read_csv(REFERENCE / "district_facts.csv", dtype=str, keep_default_na=False)
    df.loc[1, "note"] = "Dân số / population / người"
    df.to_csv(tmp_path / "district_facts.csv", index=False)
    with pytest.raises(SurveyDataError, match=r"row 3, column 'note'.*more than one ' / '"):
        district.facts(tmp_path)


def test_other_lang_son_communes_never_shadow_a_huu_lung_unit():
    from hlstudy.communes import communes, other_names
    from hlstudy.ingest import fold

    other = other_names()
    ours = {fold(n) for n in communes()["name"]}
    assert not set(other["name"].map(fold)) & ours
    legacy = other[other["level"] == "legacy"].set_index("name")
    assert legacy.at["Đồng Đăng", "district"] == "Cao Lộc"
    assert len(legacy) > 150 and set(other["level"]) == {"legacy", "2025"}
    new = other[other["level"] == "2025"].set_index("name")
    assert "merged units" in new.at["Tuấn Sơn", "note"]  # Hữu Lũng's own 2025 commune


def test_every_reference_row_has_a_source_and_an_allowed_confidence():
    """architecture.md: every row of data/reference carries its source and confidence."""
    from hlstudy.paths import REFERENCE

    allowed = {"2", "1", "?", "sim", "assumption"}
    for path in sorted(REFERENCE.glob("*.csv")):
        d = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert {"source", "confidence"} <= set(d.columns), path.name
        assert (d["source"].str.strip() != "").all(), path.name
        assert set(d["confidence"]) <= allowed, path.name


def test_names_only_the_package_gives_are_not_promoted_to_two_sources():
    from hlstudy.paths import REFERENCE

    other = pd.read_csv(REFERENCE / "communes_lang_son_other.csv", dtype=str,
                        keep_default_na=False)
    ours_2025 = set(cm.new_communes()["name"])
    two = other[other["confidence"] == "2"]
    assert set(two["name"]) <= ours_2025  # facts.md [2] lists only Hữu Lũng's 8 communes
    assert (other.loc[~other["name"].isin(ours_2025), "confidence"] == "1").all()


def test_registry_tables_are_made_once_per_folder_and_handed_out_as_copies(tmp_path):
    """``communes``/``new_communes`` keep each folder's checked, typed table: a second call
    (a hit) equals a fresh one, every call hands out its own copy, another folder is a miss
    with its own content, and a folder whose check fails raises at every call."""
    cm._clear_caches()
    first = cm.communes()
    assert cm._communes.cache_info().misses == 1
    first.loc[0, "name"] = "changed by a caller"
    again = cm.communes()
    assert cm._communes.cache_info().hits == 1
    cm._clear_caches()
    fresh = cm.communes()
    pd.testing.assert_frame_equal(again, fresh)
    assert again.loc[0, "name"] != "changed by a caller"
    new = cm.new_communes()
    new.loc[0, "area_km2"] = -1.0
    pd.testing.assert_frame_equal(cm.new_communes(), fresh_new := cm.new_communes())
    assert fresh_new["area_km2"].gt(0).all() and fresh_new["n_units_merged"].dtype == "int64"
    for name in cm.FILES.values():
        shutil.copy(REFERENCE / name, tmp_path / name)
    df = pd.read_csv(tmp_path / "communes.csv", dtype=str, keep_default_na=False)
    df.loc[0, "name"] = "Tân Tiến"
    df.to_csv(tmp_path / "communes.csv", index=False)
    other = cm.communes(tmp_path)
    assert other.loc[0, "name"] == "Tân Tiến" != cm.communes().loc[0, "name"]
    df.loc[4, "commune_2025"] = "Sơn Hà"
    bad = tmp_path / "bad"
    bad.mkdir()
    for name in cm.FILES.values():
        shutil.copy(REFERENCE / name, bad / name)
    df.to_csv(bad / "communes.csv", index=False)
    for _ in range(2):
        with pytest.raises(SurveyDataError, match="not 2025 communes"):
            cm.communes(bad)


def test_the_pre_reform_town_is_printed_as_such_everywhere():
    # "Hữu Lũng" is both the pre-reform town and the 2025 commune formed from it: notebook 02
    # printed the town as "Hữu Lũng", notebooks 01 and 04 as "TT Hữu Lũng"
    from hlstudy.communes import unit_label, unit_labels
    from hlstudy.paths import ROOT

    assert unit_labels()["Hữu Lũng"] == "TT Hữu Lũng" and unit_labels()["Cai Kinh"] == "Cai Kinh"
    assert unit_label("X", "Thị trấn") == "TT X" and unit_label("X", "xã") == "X"
    for stem in ("02_coverage_by_commune", "02_received_by_commune", "04_staffing_quota",
                 "04_quality_by_commune"):
        table = pd.read_csv(ROOT / "figures" / f"{stem}.csv", comment="#", dtype=str)
        units = table[[c for c in table.columns if c in ("Xã, thị trấn", "Xã/thị trấn")][0]].tolist()
        assert "TT Hữu Lũng" in units and "Hữu Lũng" not in units, stem


def test_facts_table_prints_each_value_with_its_decimals_and_units_in_the_tables_language(tmp_path):
    """01_district_facts printed "121.735,00" with the unit "persons" in the Vietnamese table
    and an unexplained "Tin cậy" column of 1 and 2."""
    vi, places = district.facts_table("vi")
    en, places_en = district.facts_table("en")
    keys = district.facts()["key"].tolist()
    assert places == places_en
    assert dict(zip(keys, places, strict=True))["population"] == 0
    assert dict(zip(keys, places, strict=True))["area_km2"] == 2
    assert dict(zip(keys, places, strict=True))["ethnic_share_nung"] == 1
    assert dict(zip(keys, places, strict=True))["ethnic_share_san_chay"] == 2
    assert set(vi["unit"]) == {"người", "đơn vị", "km²", "%"}
    assert set(en["unit"]) == {"persons", "units", "km²", "%"}
    assert vi["sources"].tolist() == district.facts()["confidence"].astype(int).tolist()
    assert "2 =" in sourcing.SOURCES_NOTE[0] and "1 =" in sourcing.SOURCES_NOTE[1]
    df = pd.read_csv(REFERENCE / "district_facts.csv", dtype=str, keep_default_na=False)
    df.loc[3, "unit"] = "households"
    df.to_csv(tmp_path / "district_facts.csv", index=False)
    with pytest.raises(SurveyDataError, match=r"row 5, column 'unit'.*'households'.*UNIT_LABELS"):
        district.facts_table("vi", tmp_path)
    with pytest.raises(SurveyDataError, match=r"\['\?'\].*not a number of sources"):
        sourcing.sources_count(pd.Series(["2", "?"]))


def test_area_gap_is_computed_from_the_files(reference_copy):
    """The 8 new communes' areas sum to less than the district's area (the examiners found
    750,51 against 806,74 km² with nothing said): both numbers come from the files."""
    gap = cm.area_gap()
    assert gap["communes_km2"] == round(float(cm.new_communes()["area_km2"].sum()), 2)
    assert gap["district_km2"] == district.value("area_km2")
    assert gap["gap_km2"] == round(gap["district_km2"] - gap["communes_km2"], 2) > 0
    assert gap["gap_share"] == pytest.approx(gap["gap_km2"] / gap["district_km2"])
    # the package's origin of the areas is written beside them
    assert cm.new_communes()["source"].str.contains(cm.AREA_ORIGIN, regex=False).all()
    # a changed file changes the result: nothing typed in
    path = reference_copy / "communes_2025.csv"
    new = pd.read_csv(path, dtype=str, keep_default_na=False)
    new.loc[0, "area_km2"] = f"{float(new.loc[0, 'area_km2']) + gap['gap_km2']:.2f}"
    new.to_csv(path, index=False)
    assert cm.area_gap(reference_copy)["gap_km2"] == 0


def test_notebook_01_states_the_area_gap_beside_the_district_area():
    """Notebook 01's prose and the 01_reform_2025 table note print the communes' sum beside the
    district's area and their difference, as the reference files give them today."""
    import json

    from hlstudy import export
    from hlstudy.paths import ROOT

    gap = cm.area_gap()
    want = [export.number(gap[k], 2, lang="vi") for k in ("communes_km2", "district_km2", "gap_km2")]
    nb = json.loads((ROOT / "notebooks" / "01_theoretical_framework.ipynb").read_text(encoding="utf-8"))
    prose = ["".join(out.get("data", {}).get("text/markdown", []))
             for cell in nb["cells"] for out in cell.get("outputs", [])]
    said = [text for text in prose if "chưa giải thích được" in text and "km²" in text]
    assert len(said) == 1 and all(f"{n} km²" in said[0] for n in want), (want, said)
    note = (ROOT / "figures" / "01_reform_2025.csv").read_text(encoding="utf-8").splitlines()[1]
    assert all(f"{n} km²" in note for n in want) and "chưa giải thích được" in note


def test_area_and_population_rest_on_the_provincial_portal():
    """The examiners found the district's area and population resting on a Wikipedia mirror and
    danso.asia: both now cite the Lạng Sơn provincial portal's page of the district first."""
    facts = district.facts().set_index("key")
    for key in ("area_km2", "population"):
        assert "https://langson.gov.vn/" in facts.at[key, "source"], key
        assert facts.at[key, "citation_vi"].startswith("Cổng thông tin điện tử tỉnh Lạng Sơn"), key
        assert facts.at[key, "confidence"] == "2", key
