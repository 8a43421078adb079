"""Tests of hlstudy.diagnostic (commune diagnostic, issue 6).

Statistical routines are checked against R fixtures in tests/fixtures/diagnostic/
(make_fixtures.R beside them): prop.test(correct = FALSE) for Wilson, t.test for the
t interval, lme4::lmer for the random-intercept model.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from hlstudy import diagnostic as dg
from hlstudy.diagnostic import quality
from hlstudy.errors import ModelError
from hlstudy.paths import ROOT

FIX = ROOT / "tests" / "fixtures" / "diagnostic"


# --------------------------------------------------------------------------- intervals


def test_wilson_matches_r_prop_test():
    ref = pd.read_csv(FIX / "wilson.csv")
    lo, hi = dg.wilson(ref["k"], ref["n"])
    np.testing.assert_allclose(lo, ref["lo"], atol=1e-10)
    np.testing.assert_allclose(hi, ref["hi"], atol=1e-10)


def test_wilson_by_hand():
    # k = 5, n = 20, z = 1.959964: centre = (0.25 + z²/40)/(1 + z²/20) = 0.290284,
    # half = z/(1 + z²/20) * sqrt(0.25*0.75/20 + z²/1600) = 0.178423
    # -> [0.111862, 0.468701] = prop.test(5, 20, correct = FALSE)$conf.int
    lo, hi = dg.wilson(5, 20)
    assert float(lo) == pytest.approx(0.111862, abs=2e-6)
    assert float(hi) == pytest.approx(0.468701, abs=2e-6)


def test_wilson_rejects_bad_counts_and_handles_empty():
    with pytest.raises(ModelError):
        dg.wilson(6, 5)
    with pytest.raises(ModelError):
        dg.wilson(1, 5, conf=1.5)
    lo, hi = dg.wilson([0], [0])
    assert np.isnan(lo[0]) and np.isnan(hi[0])


def test_t_interval_matches_r_t_test():
    x = pd.read_csv(FIX / "ttest_data.csv")["x"]
    ref = pd.read_csv(FIX / "ttest.csv").iloc[0]
    m, lo, hi, n = dg.t_interval(x)
    assert n == len(x)
    assert (m, lo, hi) == pytest.approx((ref["mean"], ref["lo"], ref["hi"]), abs=1e-10)
    m1, lo1, hi1, n1 = dg.t_interval([4.0, None])
    assert (m1, n1) == (4.0, 1) and np.isnan(lo1) and np.isnan(hi1)


# --------------------------------------------------------------------------- compliance

ELIGIBLE = dg.ExceptionPolicy(True, frozenset({"M"}), basis="test")


def _person(**kw):
    base = {"record_id": "p", "commune_code": "P", "kind": "cong_chuc", "position_code": "TP_HT",
            "birth_year": 1990, "general_education": "upper_secondary",
            "education_level": "university", "field_of_study": "law"}
    for short, long in (("education", "education_level"), ("field", "field_of_study")):
        if short in kw:
            kw[long] = kw.pop(short)
    base.update(kw)
    return base


NO_EXCEPTION = dg.ExceptionPolicy()


def _status(people, policy=NO_EXCEPTION, **kw):
    res = dg.evaluate_standards(pd.DataFrame(people), reference_year=2024, policy=policy, **kw)
    return res, res.persons.set_index(["record_id", "rule_id"])["status"].to_dict()


def test_fully_qualified_civil_servant_meets_every_rule():
    _, st = _status([_person()])
    assert {r: s for (_, r), s in st.items()} == {
        "CC_AGE": "met", "CC_SECONDARY": "met", "CC_DEGREE": "met", "CC_FIELD": "met",
        "ANY": "met"}


@pytest.mark.parametrize("birth, status", [(2006, "met"), (2007, "not_met"), (None, "missing")])
def test_age_rule_boundary(birth, status):
    _, st = _status([_person(birth_year=birth)])
    assert st[("p", "CC_AGE")] == status


@pytest.mark.parametrize("level, status", [
    ("upper_secondary", "met"), ("lower_secondary", "not_met"), ("Trung học phổ thông", "met"),
    ("Trung học cơ sở", "not_met"), ("university", "missing"), ("???", "missing")])
def test_secondary_rule(level, status):
    _, st = _status([_person(general_education=level)])
    assert st[("p", "CC_SECONDARY")] == status


@pytest.mark.parametrize("level, commune, policy, status", [
    ("university", "P", dg.ExceptionPolicy(), "met"),
    ("master", "P", dg.ExceptionPolicy(), "met"),
    ("college", "P", dg.ExceptionPolicy(), "not_met"),
    ("intermediate", "P", dg.ExceptionPolicy(), "not_met"),
    # the exception: intermediate is accepted only where the province applies it to the commune
    ("intermediate", "M", ELIGIBLE, "met"),
    ("Trung cấp", "M", ELIGIBLE, "met"),
    ("college", "M", ELIGIBLE, "met"),
    ("elementary", "M", ELIGIBLE, "not_met"),
    ("intermediate", "P", ELIGIBLE, "not_met"),
    ("intermediate", "M", dg.ExceptionPolicy(False, frozenset({"M"})), "not_met"),
])
def test_degree_rule_and_the_intermediate_exception(level, commune, policy, status):
    res, st = _status([_person(education=level, commune_code=commune)], policy=policy)
    assert st[("p", "CC_DEGREE")] == status
    reason = res.persons.query("rule_id == 'CC_DEGREE'")["reason_en"].iloc[0]
    assert ("exception applied" in reason) == policy.applies(commune)


def test_field_rule_uses_the_fit_table():
    people = [_person(record_id="a", position_code="DC", field="land_management"),
              _person(record_id="b", position_code="DC", field="law"),
              _person(record_id="c", position_code="TC_KT", field=None),
              _person(record_id="d", position_code="XYZ", field="law")]
    res, st = _status(people)
    assert [st[(i, "CC_FIELD")] for i in "abcd"] == ["met", "not_met", "missing", "missing"]
    assert "assumption" in res.persons.query("record_id == 'b' and rule_id == 'CC_FIELD'")[
        "reason_en"].iloc[0]


def test_cadres_are_not_applicable_with_reason():
    res, st = _status([_person(kind="can_bo", position_code="CT_UBND", education="none")])
    rows = res.persons
    assert set(rows["status"]) == {"not_applicable"}
    assert rows["reason_en"].str.contains("Art. 8").all()
    assert not rows["rule_id"].str.startswith("CC_").any()


def test_any_rule_combines_results():
    people = [_person(record_id="a"), _person(record_id="b", field="law", education="college"),
              _person(record_id="c", birth_year=None)]
    people.append(_person(record_id="d", birth_year=2010, education="college"))
    res, st = _status(people)
    assert [st[(i, "ANY")] for i in "abcd"] == ["met", "not_met", "missing", "not_met"]
    reasons = res.persons.query("rule_id == 'ANY'").set_index("record_id")
    assert reasons.loc["a", "reason_en"] == "meets every standard"
    assert reasons.loc["c", "reason_vi"] == "Thiếu dữ liệu cho ít nhất một tiêu chuẩn"
    # every rule not met is named, in rule order
    assert reasons.loc["b", "reason_en"] == "not met: CC_DEGREE"
    assert reasons.loc["d", "reason_vi"] == "Không đạt: CC_AGE, CC_DEGREE"


def test_shares_by_unit_and_overall_with_wilson():
    people = ([_person(record_id=f"a{i}", commune_code="A") for i in range(6)]
              + [_person(record_id=f"b{i}", commune_code="B", education="intermediate")
                 for i in range(3)]
              + [_person(record_id=f"c{i}", commune_code="B") for i in range(2)]
              + [_person(record_id="x", commune_code="B", kind="can_bo", position_code="CT_HND")])
    res, _ = _status(people)
    bu = res.by_unit.set_index(["commune_code", "rule_id"])
    b = bu.loc[("B", "CC_DEGREE")]
    assert (b["n"], b["k"], b["n_not_applicable"]) == (5, 3, 0)
    assert b["share"] == pytest.approx(0.6)
    lo, hi = dg.wilson(3, 5)
    assert (b["lo"], b["hi"]) == pytest.approx((float(lo), float(hi)))
    ov = res.overall.set_index("rule_id")
    assert (ov.at["CC_DEGREE", "n"], ov.at["CC_DEGREE", "k"]) == (11, 3)
    assert ov.at["ANY", "n_not_applicable"] == 1
    assert "CC_DEGREE" in repr(res)


def test_compliance_rejects_bad_input():
    with pytest.raises(ModelError, match="columns"):
        dg.evaluate_standards(pd.DataFrame({"record_id": ["a"]}), reference_year=2024)
    with pytest.raises(ModelError, match="kinds"):
        _status([_person(kind="officer")])
    with pytest.raises(ModelError, match="reference_year"):
        dg.evaluate_standards(pd.DataFrame([_person()]), reference_year=24)
    with pytest.raises(ModelError, match="no rows"):
        dg.evaluate_standards(pd.DataFrame([_person()]).iloc[0:0], reference_year=2024)
    with pytest.raises(ModelError, match="one official"):
        _status([_person(), _person()])
    with pytest.raises(ModelError, match="eligible"):
        dg.ExceptionPolicy(True, frozenset())


def test_level_map_translates_register_codes():
    _, st = _status([_person(education="DH")], level_map={"DH": "university"})
    assert st[("p", "CC_DEGREE")] == "met"
    with pytest.raises(ModelError, match="unknown level"):
        _status([_person()], level_map={"DH": "bachelor"})


# --------------------------------------------------------------------------- ICC


def test_icc_matches_lme4():
    d = pd.read_csv(FIX / "icc_data.csv")
    ref = pd.read_csv(FIX / "icc_lme4.csv").iloc[0]
    r = quality.icc(d, "y", "g")
    assert r.tau2 == pytest.approx(ref["tau2"], rel=1e-4)
    assert r.sigma2 == pytest.approx(ref["sigma2"], rel=1e-5)
    assert r.icc == pytest.approx(ref["icc"], rel=1e-4)
    assert r.mean == pytest.approx(ref["intercept"], rel=1e-6)
    assert r.icc_anova_lo < r.icc_anova < r.icc_anova_hi
    assert r.p_value < 0.001


def test_mixed_commune_means_match_lme4_ranef():
    d = pd.read_csv(FIX / "icc_data.csv")
    ref = pd.read_csv(FIX / "icc_lme4_ranef.csv").sort_values("g")
    mu = pd.read_csv(FIX / "icc_lme4.csv").at[0, "intercept"]
    cm = quality.commune_means(d, ["y"], "g", method="mixed").sort_values("g")
    np.testing.assert_allclose(cm["estimate"], ref["blup"] + mu, atol=1e-5)
    np.testing.assert_allclose((cm["hi"] - cm["estimate"]) / 1.959963985, ref["cond_sd"],
                               atol=1e-5)


def _two_level(seed, groups, size, tau2, sigma2=1.0):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), size)
    y = rng.normal(0, np.sqrt(tau2), groups)[g] + rng.normal(0, np.sqrt(sigma2), g.size)
    return pd.DataFrame({"g": g, "y": y})


def test_icc_recovers_known_between_variance():
    # tau2 = 0.25, sigma2 = 1 -> ICC = 0.2; 150 groups of 20 give SE(ICC) about 0.025.
    r = quality.icc(_two_level(11, 150, 20, 0.25), "y", "g")
    assert r.icc == pytest.approx(0.2, abs=0.06)
    assert r.icc_anova == pytest.approx(r.icc, abs=0.02)  # balanced: REML ~ ANOVA
    assert r.icc_anova_lo < 0.2 < r.icc_anova_hi
    assert "p < 0.001; 3000 officials in 150 communes" in r.summary()   # export.p_text


def test_icc_near_zero_without_between_variance():
    r = quality.icc(_two_level(5, 23, 20, 0.0), "y", "g")
    assert r.icc < 0.05
    assert r.p_value > 0.01


def test_icc_rejects_degenerate_data():
    with pytest.raises(ModelError):
        quality.icc(pd.DataFrame({"g": [1, 1, 1], "y": [1.0, 2, 3]}), "y", "g")
    with pytest.raises(ModelError):
        quality.icc(pd.DataFrame({"g": [1, 2], "y": [1.0, 2]}), "y", "g")
    with pytest.raises(ModelError, match="column"):
        quality.icc(pd.DataFrame({"g": [1, 2]}), "y", "g")


def test_commune_means_t_intervals_and_rank_ranges():
    d = pd.DataFrame({"g": list("aaaabbbbcccc"),
                      "y": [4.8, 5.0, 4.9, 5.1, 1.0, 1.2, 0.9, 1.1, 4.7, 5.2, 4.8, 5.0]})
    cm = quality.commune_means(d, ["y"], "g").set_index("g")
    m, lo, hi, n = dg.t_interval(d.loc[d.g == "b", "y"])
    assert (cm.at["b", "mean"], cm.at["b", "lo"], cm.at["b", "hi"], cm.at["b", "n"]) == \
        pytest.approx((m, lo, hi, n))
    assert cm.at["b", "rank"] == 3 and (cm.at["b", "rank_lo"], cm.at["b", "rank_hi"]) == (3, 3)
    # a and c overlap, so both can be first or second
    assert (cm.at["a", "rank_lo"], cm.at["a", "rank_hi"]) == (1, 2)
    with pytest.raises(ModelError, match="method"):
        quality.commune_means(d, ["y"], "g", method="bayes")


# --------------------------------------------------------------------------- staffing

from hlstudy.diagnostic import merger, profile, staffing  # noqa: E402

REG = pd.DataFrame({
    "code": ["01", "02", "03", "04", "05"],
    "name": ["Thị trấn A", "Xã B", "Xã C", "Xã D", "Xã E"],
    "unit_type": ["Thị trấn", "Xã", "Xã", "Xã", "Xã"],
    "lat": [21.50, 21.60, 21.55, 21.45, 21.50],
    "lon": [106.30, 106.25, 106.40, 106.35, 106.20],
    "commune_2025": ["X", "X", "Y", "Y", "Y"],
})


def _staff(counts):
    rows = []
    for code, (cb, cc) in counts.items():
        rows += [{"commune_code": code, "kind": "can_bo"}] * cb
        rows += [{"commune_code": code, "kind": "cong_chuc"}] * cc
    return pd.DataFrame(rows)


def test_staffing_against_quota():
    classes = staffing.UnitClasses({"01": "I", "02": "II", "03": "III", "04": "I", "05": "II"},
                                   basis="test")
    staff = _staff({"01": (11, 11), "02": (10, 8), "03": (10, 10), "04": (0, 1)})
    tab = staffing.staffing_vs_quota(staff, REG, classes).set_index("commune_code")
    # thị trấn I = 22 (at quota), xã II = 20 (2 vacancies), xã III = 18 (2 over)
    assert tab["quota"].tolist() == [22, 20, 18, 22, 20]
    assert tab["gap"].tolist() == [0, -2, 2, -21, -20]
    assert tab["status"].tolist() == ["at quota", "vacancies", "over", "vacancies", "vacancies"]
    assert tab.at["05", "n_staff"] == 0 and np.isnan(tab.at["05", "share_cong_chuc"])
    assert tab.at["02", "share_cong_chuc"] == pytest.approx(8 / 18)
    assert set(tab["class_basis"]) == {"test"}
    s = staffing.staffing_summary(tab.reset_index())
    assert (s["n_staff"], s["quota"], s["vacant_posts"], s["excess_posts"]) == (61, 102, 43, 2)


def test_staffing_rejects_bad_input():
    with pytest.raises(ModelError, match="class"):
        staffing.UnitClasses({"01": "IV"}, basis="x")
    with pytest.raises(ModelError, match="basis"):
        staffing.UnitClasses({"01": "I"}, basis=" ")
    classes = staffing.UnitClasses({"01": "I"}, basis="x")
    with pytest.raises(ModelError, match="no unit class"):
        staffing.staffing_vs_quota(_staff({"01": (1, 1)}), REG, classes)
    full = staffing.UnitClasses({c: "I" for c in REG["code"]}, basis="x")
    with pytest.raises(ModelError, match="absent from the registry"):
        staffing.staffing_vs_quota(_staff({"99": (1, 1)}), REG, full)


def test_simulated_unit_classes_are_deterministic_and_labelled():
    a = staffing.simulate_unit_classes(REG["code"], seed=3)
    b = staffing.simulate_unit_classes(list(reversed(REG["code"])), seed=3)
    assert a.classes == b.classes and a.basis.startswith("sim")
    many = staffing.simulate_unit_classes([str(i) for i in range(3000)], seed=1, p=(0.2, 0.3, 0.5))
    freq = pd.Series(many.classes).value_counts(normalize=True)
    assert freq["III"] == pytest.approx(0.5, abs=0.03)
    with pytest.raises(ModelError):
        staffing.simulate_unit_classes(REG["code"], seed=1, p=(0.5, 0.5, 0.5))


# --------------------------------------------------------------------------- profile


def test_distribution_counts_and_intervals():
    df = pd.DataFrame({"c": ["a"] * 6 + ["b"] * 4,
                       "edu": ["university"] * 3 + ["college"] * 2 + [None] + ["university"] * 4})
    d = profile.distribution(df, "edu", by="c", order=["university", "college", "master"])
    row = d.set_index(["c", "level"]).loc[("a", "university")]
    assert (row["n"], row["k"], row["share"]) == (5, 3, 0.6)
    lo, hi = dg.wilson(3, 5)
    assert (row["lo"], row["hi"]) == pytest.approx((float(lo), float(hi)))
    assert d.set_index(["c", "level"]).at[("b", "master"), "k"] == 0
    with pytest.raises(ModelError, match="columns"):
        profile.distribution(df, "nope")


def test_women_share_overall_and_in_leadership():
    df = pd.DataFrame({
        "gender": ["female", "male", "Nữ", "male", None, "female"],
        "kind": ["can_bo", "can_bo", "cong_chuc", "cong_chuc", "cong_chuc", "can_bo"],
        "position_code": ["CT_UBND", "BT_DU", "TP_HT", "DC", "VH_XH", "CT_HLHPN"]})
    w = profile.women_share(df).set_index("group")
    assert (w.at["all", "n"], w.at["all", "k"]) == (5, 3)
    assert (w.at["leadership", "n"], w.at["leadership", "k"]) == (2, 1)
    assert (w.at["cong_chuc", "n"], w.at["cong_chuc", "k"]) == (2, 1)
    w2 = profile.women_share(df, leadership=["CT_HLHPN"]).set_index("group")
    assert w2.at["leadership", "share"] == 1.0


def test_representation_ratio():
    df = pd.DataFrame({"ethnicity": ["nung"] * 4 + ["kinh"] * 5 + ["dao"]})
    pop = {"nung": 0.5, "kinh": 0.4, "other": 0.1}
    r = profile.representation(df, pop).set_index("ethnicity")
    assert r.at["nung", "ratio"] == pytest.approx(0.8)
    assert r.at["kinh", "ratio"] == pytest.approx(1.25)
    assert r.at["other", "k"] == 1
    lo, hi = dg.wilson(4, 10)
    assert r.at["nung", "ratio_lo"] == pytest.approx(float(lo) / 0.5)
    with pytest.raises(ModelError, match="population share"):
        profile.representation(df, {"nung": 0.5, "kinh": 0.4})


def test_bands_are_left_closed():
    b = profile.banded(pd.Series([18, 29, 30, 59, 60, None]), [18, 30, 40, 60, np.inf])
    assert b.tolist()[:5] == ["18–29", "18–29", "30–39", "40–59", "60+"]
    assert pd.isna(b.iloc[5])
    with pytest.raises(ModelError):
        profile.banded(pd.Series([1]), [3, 2])


# --------------------------------------------------------------------------- merger


def test_aggregation_to_2025_keeps_totals():
    rng = np.random.default_rng(0)
    tab = pd.DataFrame({"commune_code": np.repeat(REG["code"], 2).to_numpy(),
                        "rule_id": ["R1", "R2"] * 5,
                        "n": rng.integers(5, 25, 10)})
    tab["k"] = (tab["n"] * rng.uniform(0, 1, 10)).astype(int)
    new = merger.to_2025(tab, REG, sum_columns=["n", "k"], by=["rule_id"])
    assert len(new) == 4 and set(new["commune_2025"]) == {"X", "Y"}
    for rule in ("R1", "R2"):
        old_r, new_r = tab[tab.rule_id == rule], new[new.rule_id == rule]
        assert new_r["n"].sum() == old_r["n"].sum()
        assert new_r["k"].sum() == old_r["k"].sum()
    x = new.set_index(["commune_2025", "rule_id"]).loc[("X", "R1")]
    src = tab[(tab.rule_id == "R1") & tab.commune_code.isin(["01", "02"])]
    assert x["share"] == pytest.approx(src["k"].sum() / src["n"].sum())
    assert x["n_units"] == 2


def test_staffing_aggregates_to_2025_with_equal_totals():
    classes = staffing.UnitClasses({c: "II" for c in REG["code"]}, basis="test")
    tab = staffing.staffing_vs_quota(_staff({"01": (9, 9), "03": (10, 12)}), REG, classes)
    cols = ["n_can_bo", "n_cong_chuc", "n_staff", "quota", "gap"]
    new = merger.to_2025(tab, REG, sum_columns=cols)
    assert (new[cols].sum() == tab[cols].sum()).all()
    assert new.set_index("commune_2025").at["X", "quota"] == 40


def test_aggregation_rejects_unknown_codes_and_text_sums():
    with pytest.raises(ModelError, match="registry"):
        merger.to_2025(pd.DataFrame({"commune_code": ["zz"], "n": [1]}), REG, sum_columns=["n"])
    with pytest.raises(ModelError, match="numeric"):
        merger.to_2025(pd.DataFrame({"commune_code": ["01"], "n": ["1"]}), REG, sum_columns=["n"])
    with pytest.raises(ModelError, match="2025"):
        merger.crosswalk(REG.assign(commune_2025=[None, "X", "X", "Y", "Y"]))


# --------------------------------------------------------------------------- suppression


def test_small_rates_are_suppressed_on_export():
    from hlstudy import export

    people = ([_person(record_id=f"a{i}", commune_code="A", education="college")
               for i in range(12)]
              + [_person(record_id=f"b{i}", commune_code="B") for i in range(3)])
    res, _ = _status(people)
    t = res.by_unit.query("rule_id == 'CC_DEGREE'").reset_index(drop=True)
    out = export.suppress_small_cells(t, **profile.SHARE_SUPPRESSION).set_index("commune_code")
    assert out.at["A", "share"] == 1.0 and out.at["A", "n"] == 12
    assert out.at["B", "n"] == export.SUPPRESSED
    assert {out.at["B", c] for c in ("k", "share", "lo", "hi")} == {export.SUPPRESSED}


def test_small_numerators_are_suppressed_with_their_rates():
    from hlstudy import export

    t = profile.share(pd.DataFrame({"c": ["A"] * 20}), pd.Series([True] * 3 + [False] * 17),
                      by="c")
    out = export.suppress_small_cells(t, **profile.SHARE_SUPPRESSION)
    assert out.at[0, "n"] == 20
    assert out.at[0, "k"] == export.SUPPRESSED and out.at[0, "share"] == export.SUPPRESSED


# --------------------------------------------------------------------------- map


def test_voronoi_cells_cover_the_box_and_separate_duplicates():
    from hlstudy.diagnostic import mapping

    reg = pd.concat([REG, REG.iloc[[0]].assign(code="06", name="Xã F")], ignore_index=True)
    moved = mapping.separate_duplicates(reg)
    assert moved["moved"].sum() == 1 and moved.loc[moved.code == "06", "moved"].item()
    cells = mapping.voronoi_cells(reg, pad=0.1)
    assert list(cells) == sorted(reg["code"])

    def area(p):
        x, y = p[:, 0], p[:, 1]
        return 0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))

    pts = moved[["lon", "lat"]].to_numpy()
    span = max(np.ptp(pts[:, 0] * np.cos(np.deg2rad(pts[:, 1].mean()))), np.ptp(pts[:, 1]))
    w = (np.ptp(pts[:, 0]) + 0.2 * span / np.cos(np.deg2rad(pts[:, 1].mean())))
    h = np.ptp(pts[:, 1]) + 0.2 * span
    assert sum(area(p) for p in cells.values()) == pytest.approx(w * h, rel=1e-6)
    # each point lies in its own cell (nearest-centre property)
    from matplotlib.path import Path as MPath

    for code, poly in cells.items():
        p = moved.loc[moved.code == code, ["lon", "lat"]].to_numpy()[0]
        assert MPath(poly).contains_point(p)


def test_plot_map_rejects_unknown_codes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hlstudy.diagnostic import mapping

    before = plt.get_fignums()
    with pytest.raises(ModelError, match="registry"):
        mapping.plot_map(REG, {"zz": 1.0})
    with pytest.raises(ModelError, match="no colour"):
        mapping.plot_map(REG, categories={"01": "a"}, category_colors={"b": "red"})
    assert plt.get_fignums() == before, "rejected input leaves no figure open"
    fig = mapping.plot_map(REG, {"01": 1.0, "02": 2.0})
    assert len(fig.axes) == 2
    plt.close(fig)


def test_a_cell_without_a_class_is_hatched_and_named_in_the_legend():
    """A commune without a class (suppressed: fewer than 5 respondents) was drawn in a grey as
    light as the "not different" class, with a legend entry "–"."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba

    from hlstudy.diagnostic import mapping

    codes = REG["code"].astype(str).tolist()
    classes = {c: ("above" if k % 2 else "not different") for k, c in enumerate(codes[1:])}
    colours = {"above": "#1b9e77", "not different": "#d9d9d9"}
    fig = mapping.plot_map(REG, categories=classes, category_colors=colours, annotate=False,
                           missing_label="ẩn: dưới 5 người trả lời")
    ax = fig.axes[0]
    hatched = [c for c in ax.collections if c.get_hatch()]
    assert len(hatched) == 1 and len(hatched[0].get_paths()) == 1   # codes[0] alone
    assert tuple(hatched[0].get_facecolors()[0]) == to_rgba("white")
    legend = {t.get_text(): h for t, h in zip(ax.get_legend().get_texts(),
                                               ax.get_legend().legend_handles, strict=True)}
    assert legend["ẩn: dưới 5 người trả lời"].get_hatch() == mapping.MISSING_HATCH
    assert "–" not in legend
    plt.close(fig)


def test_moved_note_names_the_units_and_the_shift_and_rejects_bad_input():
    """The maps' note on the moved point is computed from the moved points (who, whose
    coordinates, how far, which way), in both languages; the doctest runs."""
    import doctest

    from hlstudy.diagnostic import mapping

    assert doctest.testmod(mapping).failed == 0
    reg = pd.DataFrame({"code": ["b", "a", "c"], "name": ["Y", "X", "Z"],
                        "unit_type": ["xã", "thị trấn", "xã"],
                        "lat": [21.5, 21.5, 21.6], "lon": [106.3, 106.3, 106.4]})
    assert mapping.moved_flags(reg) == {"b": mapping.MOVED_MARK}
    vi = mapping.moved_note(reg, "vi")
    assert vi.startswith("* Y: tọa độ trong danh mục trùng với TT X (lỗi nguồn)")
    assert "1,3 km về phía bắc" in vi
    km = 0.012 * 111.32   # separate_duplicates' default offset, north
    assert f"moved {km:.1f} km north" in mapping.moved_note(reg, "en")
    assert mapping.moved_note(reg.iloc[[1, 2]], "en") == ""   # nothing moved, nothing said
    with pytest.raises(ModelError, match="lang"):
        mapping.moved_note(reg, "fr")
    with pytest.raises(ModelError, match="name"):
        mapping.moved_note(reg.drop(columns="name"), "en")


# --------------------------------------------------------------------------- more statistics


def test_district_mean_matches_lme4_fixed_intercept():
    d = pd.read_csv(FIX / "icc_data.csv")
    ref = pd.read_csv(FIX / "icc_lme4_fixef.csv").iloc[0]
    m = quality.district_mean(d, "y", "g")
    assert m["mean"] == pytest.approx(ref["mean"], rel=1e-6)
    assert m["se"] == pytest.approx(ref["se"], rel=1e-3)
    assert m["lo"] < m["mean"] < m["hi"] and m["n_groups"] == 23


def test_fisher_correlation_matches_r_cor_test():
    d = pd.read_csv(FIX / "cor_data.csv")
    ref = pd.read_csv(FIX / "cor_test.csv").iloc[0]
    r = dg.fisher_correlation(d["x"], d["y"])
    assert (r["r"], r["lo"], r["hi"], r["p"]) == pytest.approx(
        (ref["r"], ref["lo"], ref["hi"], ref["p"]), abs=1e-9)
    with pytest.raises(ModelError):
        dg.fisher_correlation([1, 2, 3], [1, 2, 3])


def test_chisq_mc_matches_r_chisq_test():
    tab = pd.read_csv(FIX / "chisq_table.csv").to_numpy()
    ref = pd.read_csv(FIX / "chisq_test.csv").iloc[0]
    res = dg.chisq_mc(tab, n_sim=2000, seed=1)
    assert res["statistic"] == pytest.approx(ref["statistic"], rel=1e-10)
    assert res["df"] == ref["df"] and res["p_asymptotic"] == pytest.approx(ref["p"], rel=1e-8)
    # Monte-Carlo p values: both small (R with B = 20000 gives about 1.5e-4)
    assert res["p_mc"] < 0.005
    null = dg.chisq_mc([[10, 10], [10, 10]], n_sim=500, seed=2)
    assert null["statistic"] == 0 and null["p_mc"] == 1.0
    with pytest.raises(ModelError):
        dg.chisq_mc([[1.5, 2], [3, 4]])


def test_wilson_deff_widens_and_reduces_to_wilson():
    lo1, hi1 = dg.wilson(10, 50)
    lo, hi = dg.wilson_deff(10, 50, 1.0)
    assert (float(lo), float(hi)) == pytest.approx((float(lo1), float(hi1)))
    lo2, hi2 = dg.wilson_deff(10, 50, 2.0)
    assert lo2 < lo1 and hi2 > hi1
    lo3, hi3 = dg.wilson(5, 25)
    assert (float(lo2), float(hi2)) == pytest.approx((float(lo3), float(hi3)))
    with pytest.raises(ModelError):
        dg.wilson_deff(1, 5, 0.5)


# --------------------------------------------------------------------------- findings

from hlstudy.diagnostic import findings as fd  # noqa: E402


def _study(seed=0, groups=12, size=15):
    """Officials in communes with known structure: PRO varies between communes, ETH does not,
    SKL is 0.4 below the other dimensions, RSP drives the citizens' commune means."""
    rng = np.random.default_rng(seed)
    g = np.repeat([f"c{i:02d}" for i in range(groups)], size)
    u = rng.normal(0, 0.6, groups)
    idx = np.repeat(np.arange(groups), size)
    base = rng.normal(3.6, 0.4, g.size)
    scores = pd.DataFrame({
        "commune_code": g, "record_id": [f"r{i}" for i in range(g.size)],
        "ETH": rng.normal(3.8, 0.5, g.size),
        "PRO": 3.5 + u[idx] + rng.normal(0, 0.4, g.size),
        "SKL": base - 0.4, "RSP": base + rng.normal(0, 0.3, g.size)})
    degree_p = np.where(np.arange(groups) < groups // 2, 0.9, 0.2)[idx]
    personnel = pd.DataFrame({
        "commune_code": g, "record_id": scores["record_id"],
        "kind": np.where(rng.uniform(size=g.size) < 0.5, "can_bo", "cong_chuc"),
        "position_code": "TP_HT", "birth_year": 1985, "general_education": "upper_secondary",
        "education_level": np.where(rng.uniform(size=g.size) < degree_p, "university",
                                    "intermediate"),
        "field_of_study": "law", "years_in_post": rng.integers(0, 20, g.size),
        "political_theory": rng.choice(["none", "elementary", "intermediate"], g.size),
        "state_mgmt_training": rng.choice(["none", "civil_servant"], g.size),
        "trainings_24m": rng.integers(0, 3, g.size)})
    personnel.loc[personnel.kind == "can_bo", "position_code"] = "CT_UBND"
    rsp_c = scores.groupby("commune_code")["RSP"].mean()
    citizens = 1.5 * rsp_c + rng.normal(0, 0.05, groups)
    return scores, personnel, citizens


def test_clustered_share_design_effect():
    g = pd.Series(np.repeat(list("abcdefghij"), 20))
    spread = pd.Series(np.tile([True] * 5 + [False] * 15, 10))
    s = fd.clustered_share(spread, g)
    assert (s["n"], s["k"]) == (200, 50) and s["deff"] == pytest.approx(1.0, abs=0.01)
    lo, hi = dg.wilson(50, 200)
    assert (s["lo"], s["hi"]) == pytest.approx((float(lo), float(hi)), abs=1e-3)
    clustered = pd.Series(np.concatenate([np.ones(60, bool), np.zeros(140, bool)]))
    c = fd.clustered_share(clustered, g)
    # 3 of 10 communes entirely True: ICC = 1, deff = group size 20
    assert c["k"] == 60 and c["deff"] == pytest.approx(20.0)
    lo_c, hi_c = dg.wilson(3, 10)
    assert (c["lo"], c["hi"]) == pytest.approx((float(lo_c), float(hi_c)))


def test_finding_d1_reports_the_compliance_and_weak_shares():
    scores, personnel, _ = _study()
    comp = dg.evaluate_standards(personnel, reference_year=2024)
    f = fd.finding_d1(comp, scores, group="commune_code")
    anyr = comp.overall.set_index("rule_id").loc["ANY"]
    assert (f.numbers["cs_k_not_met"], f.numbers["cs_n"]) == (anyr["k"], anyr["n"])
    assert f.numbers["worst_rule"] == "CC_DEGREE"
    assert f.numbers["PRO_weak_k"] == int((scores["PRO"] < 3.0).sum())
    import re

    assert not re.search(r"\d\.\d", f.statement_vi)  # Vietnamese decimal comma
    assert re.search(r"\d\.\d", f.statement_en)
    assert f"{int(anyr['k'])}/{int(anyr['n'])}" in f.statement_vi and "Nghị định 33/2023" in f.statement_vi
    # the register is a census: the share missing a standard is exact (no Wilson interval),
    # by the ledger's one definition of an exact interval
    from hlstudy.evidence.rules import exact_interval

    assert f.numbers["cs_lo"] == f.numbers["cs_hi"] == f.numbers["cs_share_not_met"]
    assert exact_interval(f.numbers["cs_share_not_met"], f.numbers["cs_lo"], f.numbers["cs_hi"])
    assert not f.verdict and not f.verdict_vi   # the verdict is the ledger's alone
    th = fd.Thresholds(weak_cutoff=3.5)
    f2 = fd.finding_d1(comp, scores, group="commune_code", th=th)
    assert f2.numbers["ETH_weak_k"] == int((scores["ETH"] < 3.5).sum())
    # the ledger's route: the shares alone, the same values as the finding's
    frame = {c: 20 for c in scores["commune_code"].unique()}
    f3 = fd.finding_d1(comp, scores, group="commune_code", frame=frame)
    assert f3.numbers["PRO_weak_lo"] != f.numbers["PRO_weak_lo"]   # the fpc interval
    for finding, kw in ((f, {}), (f2, {"th": th}), (f3, {"frame": frame})):
        shares = fd.finding_d1_shares(comp, scores, group="commune_code", **kw)
        keys = ["cs_n", "cs_k_not_met", "cs_share_not_met", "cs_lo", "cs_hi"] + [
            f"{d}_{k}" for d in ("PRO", "ETH") for k in ("n", "weak_k", "weak_share",
                                                         "weak_lo", "weak_hi")]
        assert shares == {k: finding.numbers[k] for k in keys}
    # and the errors finding_d1 raises: a missing column, no ANY rule, too few scores
    no_any = dg.evaluate_standards(personnel, reference_year=2024)
    no_any.overall = no_any.overall[no_any.overall["rule_id"] != "ANY"]
    one_commune = scores.assign(commune_code=scores["commune_code"].iloc[0])
    for args in ((comp, scores.drop(columns="ETH")), (no_any, scores), (comp, one_commune)):
        with pytest.raises(ModelError) as want:
            fd.finding_d1(*args, group="commune_code")
        with pytest.raises(ModelError) as got:
            fd.finding_d1_shares(*args, group="commune_code")
        assert str(got.value) == str(want.value)


def test_finding_d1_keeps_each_language_in_its_text():
    """A bilingual exception basis: the English finding (statement and the machine numbers it
    carries) holds its English half only; the policy speaks Vietnamese when asked."""
    import json
    import re

    scores, personnel, _ = _study()
    comp = dg.evaluate_standards(personnel, reference_year=2024)
    eligible = frozenset(personnel["commune_code"].astype(str))
    policy = dg.ExceptionPolicy(True, eligible, basis=("giả định: mọi xã", "assumption: every commune"))
    alt = dg.evaluate_standards(personnel, reference_year=2024, policy=policy)
    f = fd.finding_d1(comp, scores, group="commune_code", compliance_alt=alt)
    vietnamese = re.compile("[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]",
                            re.IGNORECASE)
    english = f.statement_en + json.dumps(f.numbers, ensure_ascii=False, default=str)
    assert "assumption: every commune" in f.numbers["cs_alt_policy"]
    assert not vietnamese.search(english), english
    assert policy.summary("vi") == f"ngoại lệ trung cấp áp dụng ở {len(eligible)} xã (giả định: mọi xã)"
    assert "assumption" not in policy.summary("vi")
    assert dg.ExceptionPolicy(basis="sim").summary("vi").endswith("(sim)")
    for bad in (("chỉ một",), ("", "x"), 3):
        with pytest.raises(ModelError, match="basis"):
            dg.ExceptionPolicy(basis=bad)
    with pytest.raises(ModelError, match="lang"):
        policy.summary("fr")


def test_finding_d2_finds_the_weaker_skills():
    scores, personnel, _ = _study()
    f = fd.finding_d2(personnel, scores, group="commune_code", tenure="years_in_post")
    assert f.numbers["short_k"] == int((personnel["years_in_post"] < 5).sum())
    assert f.numbers["focus_rank"] == 4
    assert f.numbers["diff_hi"] < 0 and f.numbers["diff_lo"] < -0.3
    with pytest.raises(ModelError):
        fd.finding_d2(personnel, scores, group="commune_code", tenure="years_in_post",
                      focus="XYZ")


def test_finding_d3_separates_uneven_from_even_dimensions():
    scores, personnel, _ = _study()
    f = fd.finding_d3(scores, personnel, group="commune_code", education="education_level",
                      n_sim=300, seed=1)
    assert f.numbers["PRO_icc"] > 0.4 and f.numbers["ETH_icc"] < 0.1
    assert f.numbers["PRO_icc_p"] < 0.001
    assert f.numbers["chisq_p_mc"] < 0.01
    by = personnel.assign(d=personnel.education_level.eq("university")).groupby("commune_code")["d"]
    assert f.numbers["degree_share_max"] == pytest.approx(by.mean().max())
    assert f.numbers["communes_apart"] >= 3
    # the ledger's route: the focus' ICC numbers alone, the same doubles as the finding's
    icc = fd.finding_d3_icc(scores, personnel, group="commune_code",
                            education="education_level")
    assert icc == {k: f.numbers[k] for k in ("PRO_icc", "PRO_icc_lo", "PRO_icc_hi",
                                              "PRO_icc_p")}
    eth = fd.finding_d3_icc(scores, personnel, group="commune_code",
                            education="education_level", focus="ETH")
    assert eth == {k: f.numbers[k] for k in ("ETH_icc", "ETH_icc_lo", "ETH_icc_hi",
                                              "ETH_icc_p")}
    # and the columns finding_d3 requires
    for sc, pe in ((scores, personnel.drop(columns="education_level")),
                   (scores.drop(columns="SKL"), personnel)):
        with pytest.raises(ModelError, match="lacks columns") as want:
            fd.finding_d3(sc, pe, group="commune_code", education="education_level",
                          n_sim=100)
        with pytest.raises(ModelError, match="lacks columns") as got:
            fd.finding_d3_icc(sc, pe, group="commune_code", education="education_level")
        assert str(got.value) == str(want.value)


def test_d3_takes_point_interval_and_test_from_one_estimator():
    """D3 printed the REML ICC beside the ANOVA ICC(1)'s F interval and F test (an examiner:
    "0,076 [0,026; 0,182]" paired two estimators).  Its numbers are now ICC(1)'s own point,
    interval and p, on unbalanced communes where the two estimators differ."""
    rng = np.random.default_rng(7)
    sizes = rng.integers(4, 40, 23)
    g = np.repeat(np.arange(23), sizes)
    y = rng.normal(0, 0.3, 23)[g] + rng.normal(0, 1, g.size)
    scores = pd.DataFrame({"commune_code": g.astype(str), "PRO": y, "ETH": y[::-1].copy(),
                           "SKL": y, "RSP": y})
    r = quality.icc(scores, "PRO", "commune_code")
    assert abs(r.icc - r.icc_anova) > 1e-3          # the estimators differ on these data
    icc = fd.finding_d3_icc(scores, None, group="commune_code", education="education_level")
    assert icc == {"PRO_icc": r.icc_anova, "PRO_icc_lo": r.icc_anova_lo,
                   "PRO_icc_hi": r.icc_anova_hi, "PRO_icc_p": r.p_value}
    assert r.icc_anova_lo < icc["PRO_icc"] < r.icc_anova_hi
    f = fd.finding_d3(scores, None, group="commune_code", education="education_level",
                      n_sim=100, seed=1)
    assert f.numbers["PRO_icc"] == r.icc_anova
    assert "ICC(1)" in f.statement_vi and "ICC(1)" in f.statement_en
    assert f"PRO {fd._num(r.icc_anova, 3)} [{fd._num(r.icc_anova_lo, 3)}; " in f.statement_en


def test_finding_d4_and_d5_and_table():
    scores, personnel, citizens = _study()
    f4 = fd.finding_d4(personnel, group="commune_code", education="education_level",
                       political_theory="political_theory", state_management="state_mgmt_training",
                       trainings="trainings_24m")
    assert f4.numbers["no_training_24m_k"] == int((personnel["trainings_24m"] == 0).sum())
    assert f4.numbers["low_political_theory_k"] == int(
        personnel["political_theory"].isin(["none", "elementary"]).sum())
    f5 = fd.finding_d5(scores, citizens, group="commune_code")
    assert f5.numbers["rho"] > 0.9 and f5.numbers["n_communes"] == 12
    # the correlation the ledger judges: Spearman with the Bonett–Wright interval
    from scipy import stats

    means = scores.groupby("commune_code")["RSP"].mean()
    assert f5.numbers["rho"] == pytest.approx(stats.spearmanr(means, citizens[means.index])[0])
    assert "Spearman" in f5.statement_vi and "ρ = " in f5.statement_en
    table = fd.findings_table([f5, f4])
    assert list(table["claim_id"]) == ["D4", "D5"]
    import json

    assert json.loads(table.at[1, "key_numbers"])["n_communes"] == 12


def test_findings_without_the_register_or_the_citizens_keep_the_survey_parts():
    """An officials-only study: D1, D2 and D3 (no register) and D5 (no citizens) keep the
    numbers the officials' survey gives, the same as with every instrument, and their
    statements say which part is not computed.  Notebook 04 titled them "Không kiểm định
    được: cần danh sách nhân sự" while the claims ledger judged D3 on the survey (one claim,
    two verdicts)."""
    scores, personnel, citizens = _study()
    comp = dg.evaluate_standards(personnel, reference_year=2024)
    one = ["PRO"]   # one dimension: the same code runs for each (test time)
    pairs = [(fd.finding_d1(comp, scores, group="commune_code", dims=one),
              fd.finding_d1(None, scores, group="commune_code", dims=one), "personnel", "cs_n"),
             (fd.finding_d2(personnel, scores, group="commune_code", tenure="years_in_post"),
              fd.finding_d2(None, scores, group="commune_code", tenure="years_in_post"),
              "personnel", "short_share"),
             (fd.finding_d3(scores, personnel, group="commune_code", dims=one,
                            education="education_level", n_sim=100, seed=1),
              fd.finding_d3(scores, None, group="commune_code", dims=one,
                            education="education_level", n_sim=100, seed=1),
              "personnel", "chisq"),
             (fd.finding_d5(scores, citizens, group="commune_code"),
              fd.finding_d5(scores, None, group="commune_code"), "citizens", "rho")]
    for full, part, absent, key in pairs:
        assert part.numbers.pop("missing") == [absent] and "missing" not in full.numbers
        assert key in full.numbers and key not in part.numbers
        assert part.numbers == {k: full.numbers[k] for k in part.numbers}, part.claim_id
        wanted = fd.NO_REGISTER if absent == "personnel" else fd.NO_CITIZENS
        assert wanted[0] in part.statement_vi and wanted[1] in part.statement_en
        assert "không tính được" not in full.statement_vi
        assert "Không kiểm định được" not in part.statement_vi
    with pytest.raises(ModelError, match="compliance_alt given without compliance"):
        fd.finding_d1(None, scores, group="commune_code", compliance_alt=comp)
    # the ledger's route without the register: the survey's shares alone
    shares = fd.finding_d1_shares(None, scores, group="commune_code")
    assert shares == {k: v for k, v in fd.finding_d1_shares(comp, scores, group="commune_code")
                      .items() if not k.startswith("cs_")}


def test_age_from_birth_date_when_no_birth_year():
    p = _person(record_id="a")
    del p["birth_year"]
    q = dict(p, record_id="b")
    p["birth_date"], q["birth_date"] = "15/03/1990", "2007-01-02"
    _, st = _status([p, q])
    assert (st[("a", "CC_AGE")], st[("b", "CC_AGE")]) == ("met", "not_met")
    df = pd.DataFrame([p, q])
    df["birth_date"] = pd.to_datetime(["1990-03-15", "2007-01-02"])  # as load_study gives
    res = dg.evaluate_standards(df, reference_year=2024)
    assert res.persons.query("rule_id == 'CC_AGE'")["value"].tolist() == ["34", "17"]


def test_quota_scenarios_cover_the_three_classes():
    tab = staffing.quota_scenarios(_staff({"01": (10, 11), "02": (9, 10)}), REG).set_index(
        "commune_code")
    assert tab.loc["01", ["quota_I", "quota_II", "quota_III"]].tolist() == [22, 20, 18]
    assert tab.loc["02", ["gap_I", "gap_II", "gap_III"]].tolist() == [-3, -1, 1]


def test_workforce_profile_tables():
    _, personnel, _ = _study()
    personnel = personnel.assign(gender=np.where(np.arange(len(personnel)) % 3 == 0, "female",
                                                 "male"),
                                 ethnicity=np.where(np.arange(len(personnel)) % 2, "nung", "kinh"))
    tabs = profile.workforce_profile(personnel, reference_year=2024,
                                     population_shares={"nung": 0.5, "kinh": 0.4, "other": 0.1})
    assert {"age", "tenure", "education", "political_theory", "state_management", "trainings",
            "women", "ethnicity"} <= set(tabs)
    age = tabs["age"].set_index(["kind", "level"])
    assert age.at[("all", "30–39"), "k"] == len(personnel)  # all born 1985 -> 39 in 2024
    ten = tabs["tenure"]
    assert ten.loc[ten.kind == "all", "k"].sum() == len(personnel)
    assert (ten.loc[ten.kind == "all", "n"] == len(personnel)).all()
    cb = ten[ten.kind == "can_bo"]["k"].sum() + ten[ten.kind == "cong_chuc"]["k"].sum()
    assert cb == len(personnel)
    tr = tabs["trainings"].set_index(["kind", "level"])
    assert tr.at[("all", "0"), "k"] == int((personnel.trainings_24m == 0).sum())


# --------------------------------------------------------------------------- simulator truth


@pytest.fixture(scope="module")
def simulated_latent():
    synthetic = pytest.importorskip("hlstudy.synthetic")
    sim = synthetic.simulate()
    return sim.truth.latent, sim.truth.commune_variance_share


@pytest.mark.parametrize("variable, instrument", [
    ("FAC", "officials"), ("LEAD", "officials"), ("PRO", "officials"), ("CFB", "citizens")])
def test_icc_recovers_the_simulators_commune_variance(simulated_latent, variable, instrument):
    latent, share = simulated_latent
    d = latent[latent["instrument"] == instrument]
    r = quality.icc(d, variable, "commune_code")
    assert r.n_groups == 23
    assert r.icc_anova_lo < share[variable] < r.icc_anova_hi
    assert r.icc == pytest.approx(share[variable], abs=0.1)


def test_mixed_commune_means_without_between_variance_keep_an_interval():
    # identical values in every commune: REML puts tau2 on the boundary (0)
    d = pd.DataFrame({"g": np.repeat(np.arange(6), 4), "y": np.tile([1.0, 2, 3, 4], 6)})
    assert quality.icc(d, "y", "g").icc < 1e-6
    cm = quality.commune_means(d, ["y"], "g", method="mixed")
    m = quality.district_mean(d, "y", "g")
    assert cm["estimate"].tolist() == pytest.approx([2.5] * 6)
    assert cm["lo"].tolist() == pytest.approx([m["lo"]] * 6)
    assert cm["rank_lo"].eq(1).all() and cm["rank_hi"].eq(6).all()


def test_caterpillar_puts_the_best_commune_on_top_and_checks_input():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hlstudy.diagnostic import plots

    d = pd.DataFrame({"g": list("aaaabbbbcccc"),
                      "y": [4.8, 5.0, 4.9, 5.1, 1.0, 1.2, 0.9, 1.1, 3.7, 3.2, 3.8, 3.0]})
    cm = quality.commune_means(d, ["y"], "g")
    fig = plots.caterpillar(cm, label="g", reference=3.0, reference_label="mean",
                            threshold=2.5, threshold_label="cut-off")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1].startswith("a") and labels[0].startswith("b")  # y grows upwards
    plt.close(fig)
    fig = plots.caterpillar(cm.assign(n=[4, 4, 5]), label="g", min_cell=5)
    assert len(fig.axes[0].get_yticklabels()) == 1
    plt.close(fig)
    with pytest.raises(ModelError, match="one row per commune"):
        plots.caterpillar(pd.concat([cm, cm]), label="g")
    with pytest.raises(ModelError, match="lacks"):
        plots.share_bars(cm, label="g")


def test_share_bars_hide_small_cells():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hlstudy.diagnostic import plots

    t = profile.distribution(pd.DataFrame({"x": ["a"] * 3 + ["b"] * 40}), "x")
    fig = plots.share_bars(t, label="level", min_cell=5)
    ax = fig.axes[0]
    widths = sorted(round(b.get_width(), 6) for b in ax.patches)
    assert widths == [0.0, pytest.approx(100 * 40 / 43)]
    assert "<5" in [x.get_text() for x in ax.texts]
    plt.close(fig)
    fig = plots.share_bars(t, label="level")
    assert sorted(round(b.get_width(), 3) for b in fig.axes[0].patches)[0] == pytest.approx(
        100 * 3 / 43, abs=1e-3)
    plt.close(fig)


def test_default_columns_exist_in_the_codebook():
    from dataclasses import fields

    from hlstudy import codebook

    personnel = set(codebook.load_codebook("personnel")["variable"])
    officials = set(codebook.load_codebook("officials")["variable"])
    study_cols = {"record_id", "commune_code", "commune_2025"}  # added by hlstudy.ingest
    for f in fields(dg.Columns):
        name = getattr(dg.DEFAULT, f.name)
        assert name in personnel | officials | study_cols, name
    # every attribute the standards name is read from a personnel column
    attr = {"age": "birth_date", "general_education": dg.DEFAULT.general_education,
            "education": dg.DEFAULT.education, "field": dg.DEFAULT.field}
    from hlstudy import legal

    for a in legal.standards()["attribute"]:
        if a:
            assert attr[a] in personnel


# --------------------------------------------------------------------------- complementary suppression


def _lone_suppressed(out, within):
    """Groups of ``within`` holding exactly one suppressed k (recoverable by subtraction)."""
    from hlstudy import export

    hidden = out["k"].astype(object).isin(export.HIDDEN_MARKS)
    bad = []
    for cols in within:
        keys = [out[c] for c in cols] or [pd.Series(0, index=out.index)]
        counts = hidden.groupby(keys).sum()
        bad += list(counts[counts == 1].index)
    return bad


def test_suppress_shares_hides_a_second_cell_when_subtraction_would_reveal_the_first():
    from hlstudy import export

    people = pd.DataFrame({"kind": ["cb"] * 60 + ["cc"] * 40,
                           "age": ["a"] * 3 + ["b"] * 20 + ["c"] * 37
                           + ["a"] * 9 + ["b"] * 6 + ["c"] * 25})
    by_kind = profile.distribution(people, "age", by="kind")
    every = profile.distribution(people, "age").assign(kind="all")
    t = pd.concat([every, by_kind], ignore_index=True)[["kind", "level", "n", "k", "share",
                                                         "lo", "hi"]]
    # primary only: cb/a (3) is hidden, and 60 - 20 - 37 gives it back
    primary = export.suppress_small_cells(t, **profile.SHARE_SUPPRESSION)
    assert _lone_suppressed(primary, [["kind"]]) == ["cb"]
    out = profile.suppress_shares(t, within=[["kind"], ["level"]])
    assert _lone_suppressed(out, [["kind"], ["level"]]) == []
    o = out.set_index(["kind", "level"])
    # within cb the smallest other positive count (b: 20) goes; then level a has all=12
    # and cc=9 left visible beside the hidden cb, so one of them goes too, and so on
    # the primary cell reads "<5"; the complementary one (20 people) reads "x", not "<5"
    assert o.at[("cb", "a"), "k"] == export.SUPPRESSED
    assert o.at[("cb", "b"), "k"] == export.COMPLEMENTARY
    assert {o.at[("cb", "b"), c] for c in ("share", "lo", "hi")} == {export.COMPLEMENTARY}
    assert o.at[("cb", "c"), "k"] == 37  # never more than needed in a group of three
    # without relations it is primary suppression exactly
    pd.testing.assert_frame_equal(profile.suppress_shares(t), primary)


def test_suppress_shares_extra_columns_and_bad_input():
    from hlstudy import export

    eth = profile.representation(pd.DataFrame({"ethnicity": ["a"] * 2 + ["b"] * 30 + ["c"] * 8}),
                                 {"a": 0.1, "b": 0.6, "c": 0.3})
    out = profile.suppress_shares(eth, within=[[]], extra=["ratio", "ratio_lo", "ratio_hi"])
    hidden = out["k"].astype(object).isin(export.HIDDEN_MARKS)
    assert hidden.sum() == 2  # a (2) and the smallest other, c (8)
    assert out["k"].tolist()[:1] == [30] and sorted(out.loc[hidden, "k"]) == ["<5", "x"]
    for mark in export.HIDDEN_MARKS:  # each hidden k takes its ratio with it, same mark
        rows = out["k"].astype(object).eq(mark)
        assert (out.loc[rows, ["ratio", "ratio_lo", "ratio_hi"]] == mark).all().all()
    assert out.loc[~hidden, "ratio"].iloc[0] == pytest.approx((30 / 40) / 0.6)
    with pytest.raises(ModelError, match="lack"):
        profile.suppress_shares(eth, within=[["nope"]])
    with pytest.raises(ModelError, match="min_cell"):
        profile.suppress_shares(eth, min_cell=0)


def test_finding_d1_states_no_share_whose_n_gives_back_a_small_missing_count():
    """D1 printed "trình độ đại học (37,6%)" = 80/213 while the table hid the one civil
    servant without a known level (214 - 213): with 1-4 missing, only the count is said."""
    scores, personnel, _ = _study()
    comp = dg.evaluate_standards(personnel, reference_year=2024)
    full = fd.finding_d1(comp, scores, group="commune_code")
    assert full.numbers["worst_rule"] == "CC_DEGREE"
    cc = personnel.index[personnel["kind"] == "cong_chuc"]
    few = personnel.copy()
    few.loc[cc[:2], "education_level"] = np.nan
    comp2 = dg.evaluate_standards(few, reference_year=2024)
    deg = comp2.overall.set_index("rule_id").loc["CC_DEGREE"]
    assert deg["n_missing"] == 2
    f = fd.finding_d1(comp2, scores, group="commune_code")
    assert f.numbers["worst_rule"] == "CC_DEGREE" and np.isnan(f.numbers["worst_share"])
    assert f.numbers["worst_k"] == deg["k"]
    assert f"({int(deg['k'])} người; tỷ lệ không nêu" in f.statement_vi
    assert f"({int(deg['k'])} people; no share given" in f.statement_en
    from hlstudy import export

    share = export.number(100 * deg["share"], 1, lang="vi")
    assert f"({share}%)" not in f.statement_vi
    # with no (or 5 or more) missing the share is stated as before
    assert "tỷ lệ không nêu" not in full.statement_vi


def test_suppress_shares_hides_a_small_missing_count_and_the_n_that_gives_it_back():
    """Notebook 04's compliance table showed n_missing 1 (and n 213 of the 214 civil servants
    shown on the other rows): the missing count reads "<5", the row's n and everything
    computed from it "x" (a complementary cell is never marked as small); k stays."""
    from hlstudy import export

    t = pd.DataFrame({"rule": ["age", "degree", "field"], "n": [214, 213, 209],
                      "k": [0, 80, 39], "share": [0.0, 80 / 213, 39 / 209],
                      "lo": [0.0, 0.3, 0.1], "hi": [0.02, 0.4, 0.2],
                      "n_missing": [0, 1, 5], "share_exception": [0.0, 12 / 213, 39 / 209]})
    out = profile.suppress_shares(t, extra=["share_exception"], missing="n_missing")
    assert out["n_missing"].tolist() == [0, export.SUPPRESSED, 5]
    assert out.loc[1, ["n", "share", "lo", "hi", "share_exception"]].tolist() == \
        [export.COMPLEMENTARY] * 5
    assert out.loc[1, "k"] == 80
    pd.testing.assert_frame_equal(out.drop(index=1).astype(t.dtypes.to_dict()),
                                  t.drop(index=1))
    # without ``missing`` the count is left as it is (primary suppression of n and k only)
    assert profile.suppress_shares(t)["n_missing"].tolist() == [0, 1, 5]
    with pytest.raises(ModelError, match="lack"):
        profile.suppress_shares(t, missing="nope")


def test_share_bars_hide_cells_a_suppressed_table_hides():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hlstudy.diagnostic import plots

    t = profile.distribution(pd.DataFrame({"x": ["a"] * 3 + ["b"] * 10 + ["c"] * 30}), "x")
    fig = plots.share_bars(profile.suppress_shares(t, within=[[]]), label="level", min_cell=5)
    widths = sorted(round(b.get_width(), 6) for b in fig.axes[0].patches)
    assert widths == [0.0, 0.0, pytest.approx(100 * 30 / 43)]
    marks = [x.get_text() for x in fig.axes[0].texts]
    assert sorted(marks) == ["<5", "x"]  # a (3 people) and b (10, hidden to protect a)
    plt.close(fig)


def test_hidden_bars_are_explained_under_the_figure_and_a_zero_bar_says_0():
    """04_compliance_overall showed "<5" and "x" with nothing saying what they mean, and a
    share of 0 as an empty row, which reads like a hidden one."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hlstudy.diagnostic import plots

    t = profile.distribution(pd.DataFrame({"x": ["a"] * 3 + ["b"] * 10 + ["c"] * 30}), "x")
    t = pd.concat([t, t.iloc[[0]].assign(level="d", k=0, share=0.0)], ignore_index=True)
    fig = plots.share_bars(profile.suppress_shares(t, within=[[]]), label="level", min_cell=5)
    ax = fig.axes[0]
    assert sorted(x.get_text() for x in ax.texts) == ["0", "<5", "x"]
    [note] = fig.texts
    assert note.get_text() == plots.suppression_note(["<5", "x"], 5) == (
        "<5: dưới 5 người, không hiển thị; x: ẩn để không suy ra được ô dưới 5 từ các ô khác")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert note.get_window_extent(renderer).y1 < ax.get_tightbbox(renderer).y0   # under it all
    plt.close(fig)
    # nothing hidden: no note, the figure keeps its size
    shown = t[t["level"] != "a"]
    plain = plots.share_bars(shown, label="level")
    grown = plots.share_bars(shown, label="level", min_cell=5)
    assert plain.texts == [] and grown.texts == []
    assert tuple(plain.get_size_inches()) == tuple(grown.get_size_inches())
    plt.close(plain)
    plt.close(grown)
    # panels drawn into a figure of one's own: one note for all, after the layout
    fig, axes = plt.subplots(1, 2)
    plots.share_bars(t, label="level", min_cell=5, ax=axes[0])
    plots.share_bars(shown, label="level", min_cell=5, ax=axes[1])
    height = fig.get_size_inches()[1]
    plots.add_suppression_note(fig)
    assert [x.get_text() for x in fig.texts] == [plots.suppression_note(["<5"], 5)]
    assert fig.get_size_inches()[1] > height
    plt.close(fig)


def test_exported_share_tables_of_notebook_04_hide_no_cell_behind_a_sum():
    """The committed exports: no group whose counts add up to a shown total has exactly one
    hidden count, and a representation ratio is never shown beside a hidden k.  Column names
    are Vietnamese since issue 13 (kind 9); the English names of older exports are accepted
    until the notebooks are re-executed."""
    from hlstudy.export import HIDDEN_MARKS, read_table_csv
    from hlstudy.paths import figures_dir

    folder = figures_dir()
    prof = read_table_csv(folder / "04_profile.csv")
    table, kind, level = (("table", "kind", "level") if "table" in prof.columns
                          else tuple(prof.columns[:3]))
    assert _lone_suppressed(prof, [[table, kind], [table, level]]) == []
    eth = read_table_csv(folder / "04_ethnicity_representation.csv")
    assert _lone_suppressed(eth, [[]]) == []
    hidden = eth["k"].astype(object).isin(HIDDEN_MARKS)
    ratio_cols = [c for c in eth.columns if "ratio" in c or c == "Tỷ số đại diện"]
    assert 1 <= len(ratio_cols) <= 3   # the census rule dropped the ratio's interval
    assert eth.loc[hidden, ratio_cols].astype(object).isin(HIDDEN_MARKS).all().all()
    comp = read_table_csv(folder / "04_compliance_2025.csv")
    if "k" in comp.columns:
        groups = [[comp.columns[1]]] if comp.columns[1] not in ("n", "k") else [[]]
        assert _lone_suppressed(comp, groups) == []
    by_unit = read_table_csv(folder / "04_compliance_by_commune.csv")
    if "k" in by_unit.columns:   # older exports: shares by commune
        assert _lone_suppressed(by_unit, [[by_unit.columns[1]]]) == []
    else:                        # counts of communes per band of the share: 23 per standard
        assert (by_unit.iloc[:, 1:].sum(axis=1) == 23).all()


def test_finding_d3_gives_the_extreme_communes_rates_with_denominators_and_intervals():
    scores, personnel, _ = _study()
    f = fd.finding_d3(scores, personnel, group="commune_code", education="education_level",
                      n_sim=100, seed=1)
    deg = personnel.education_level.isin({"university", "master", "doctorate"})
    g = deg.groupby(personnel.commune_code).agg(["sum", "count", "mean"])
    top = g.loc[g["mean"].idxmax()]
    assert (f.numbers["degree_k_max"], f.numbers["degree_n_max"]) == (top["sum"], top["count"])
    # the register is a census: the commune's share is exact, no interval (issue 13, kind 3)
    assert f.numbers["degree_lo_max"] == f.numbers["degree_hi_max"] == pytest.approx(top["mean"])
    k, n = int(top["sum"]), int(top["count"])
    if k >= 5:
        assert f"({k}/{n})" in f.statement_vi and "KTC" not in f.statement_vi.split("ICC")[0]
    # a commune extreme resting on fewer than min_cell people gets no rate
    few = personnel.copy()
    code = few.commune_code.iloc[0]
    few.loc[few.commune_code == code, "education_level"] = "intermediate"
    few.loc[few.index[few.commune_code == code][:2], "education_level"] = "university"
    f2 = fd.finding_d3(scores, few, group="commune_code", education="education_level",
                       n_sim=100, seed=1)
    assert f2.numbers["degree_k_min"] == 2
    assert "không nêu tỷ lệ vì dưới 5 người" in f2.statement_vi
    assert "no rate given: fewer than 5 people" in f2.statement_en
    assert "2/" not in f2.statement_vi.split("thấp nhất")[1].split(",")[0]


def test_finding_d4_quotes_each_rate_with_its_denominator():
    _, personnel, _ = _study()
    f = fd.finding_d4(personnel, group="commune_code", education="education_level",
                      political_theory="political_theory", state_management="state_mgmt_training")
    for key in ("degree", "low_political_theory", "no_state_management"):
        k, n = f.numbers[f"{key}_k"], f.numbers[f"{key}_n"]
        assert f"({int(k)}/{int(n)})" in f.statement_vi
        assert f"({int(k)}/{int(n)})" in f.statement_en
        # register shares are exact: no interval (docs/inference.md)
        assert f.numbers[f"{key}_lo"] == f.numbers[f"{key}_hi"] == f.numbers[f"{key}_share"]
    assert "không có khoảng tin cậy" in f.statement_vi
    assert f.verdict == ""   # no verdict of its own: the ledger's (findings_table)


def test_share_bars_draw_no_error_bar_for_an_exact_share():
    # census shares are exact (lo = hi): their zero-width bars drew caps as tick marks
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from hlstudy.diagnostic import plots

    t = pd.DataFrame({"g": ["census", "sample"], "share": [0.4, 0.5], "lo": [0.4, 0.3],
                      "hi": [0.4, 0.7]})
    fig = plots.share_bars(t, label="g")
    ax = fig.axes[0]
    bars = [c for c in ax.collections if isinstance(c, LineCollection)]
    segments = [s for c in bars for s in c.get_segments()]
    assert len(segments) == 1                                  # the sampled share only
    (x0, y0), (x1, y1) = segments[0]
    assert (x0, x1) == pytest.approx((30.0, 70.0)) and y0 == y1 == 0   # sample is the lower bar
    caps = [ln for ln in ax.lines if len(ln.get_xdata()) and ln.get_marker() not in (None, "None", "")]
    assert sorted(float(x) for ln in caps for x in ln.get_xdata()) == pytest.approx([30.0, 70.0])
    plt.close(fig)


def test_findings_print_p_values_as_the_ledger_does():
    """D3's Monte-Carlo and binomial p and D5's Spearman p are printed by export.p_text
    (three decimals, "< 0,001" below), as the ledger's adjusted p beside them, never with
    significant digits ("p = 0,0358")."""
    from hlstudy.export import p_text

    scores, personnel, citizens = _study()
    d3 = fd.finding_d3(scores, personnel, group="commune_code", education="education_level",
                       n_sim=100, seed=1)
    d5 = fd.finding_d5(scores, citizens, group="commune_code")
    n3, n5 = d3.numbers, d5.numbers
    assert f"p Monte Carlo {p_text(n3['chisq_p_mc'], lang='vi')})" in d3.statement_vi
    assert f"Monte-Carlo p {p_text(n3['chisq_p_mc'], lang='en')})" in d3.statement_en
    assert f"p nhị thức {p_text(n3['communes_apart_p'], lang='vi')})" in d3.statement_vi
    assert f"binomial p {p_text(n3['communes_apart_p'], lang='en')})" in d3.statement_en
    assert n5["rho_p"] < 0.001   # the small study's correlation: "< 0,001", not "1.2e-05"
    assert "p < 0,001, chưa hiệu chỉnh" in d5.statement_vi
    assert "p < 0.001, not adjusted" in d5.statement_en
    for text in (d3.statement_vi, d3.statement_en, d5.statement_vi, d5.statement_en):
        assert not re.search(r"\bp\b[^;()]*?= \d[.,]\d{4}", text), text
        assert not re.search(r"\de-\d", text), text


def test_statements_name_the_interval_at_the_thresholds_level():
    """The statements typed "KTC 95%" / "95% CI" whatever ``Thresholds.conf`` was."""
    scores, _personnel, citizens = _study()
    for conf, vi, en in ((0.95, "KTC 95%", "95% CI"), (0.90, "KTC 90%", "90% CI")):
        f5 = fd.finding_d5(scores, citizens, group="commune_code", th=fd.Thresholds(conf=conf))
        assert f5.statement_vi.count(vi) == 2 and f5.statement_en.count(en) == 2, f5
        other = "95" if conf != 0.95 else "90"
        assert f"KTC {other}%" not in f5.statement_vi and f"{other}% CI" not in f5.statement_en
