"""hlstudy.reliability against psych 2.2.9 (fixtures from tests/fixtures/psych/make_fixtures.R)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import psych_fixtures as fx
import pytest

from hlstudy import reliability as rel
from hlstudy.errors import ModelError

TOL = 1e-8
ALPHA_CASES = sorted(fx.reference()["alpha"])

TOTAL_MAP = {"raw_alpha": "alpha", "std.alpha": "std_alpha", "G6(smc)": "g6",
             "average_r": "average_r", "S/N": "signal_noise", "ase": "ase", "mean": "mean",
             "sd": "sd", "median_r": "median_r"}
ITEM_MAP = {"n": "n", "raw.r": "raw_r", "std.r": "std_r", "r.cor": "r_cor", "r.drop": "r_drop",
            "mean": "mean", "sd": "sd"}
DROP_MAP = {"raw_alpha": "alpha_if_deleted", "std.alpha": "std_alpha_if_deleted",
            "G6(smc)": "g6_if_deleted", "average_r": "average_r_if_deleted",
            "S/N": "s_n_if_deleted", "alpha se": "alpha_se_if_deleted",
            "var.r": "var_r_if_deleted", "med.r": "med_r_if_deleted"}


def _data_for(case: str) -> pd.DataFrame:
    items = fx.reference()["alpha"][case]["items"]
    if case.endswith("_keyed") or case == "two_items":
        return fx.bfi_keyed()[items]
    if case == "A_raw":
        return fx.bfi_items()[items]
    return fx.hs()[items]


def _alpha(case: str) -> rel.AlphaResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return rel.cronbach_alpha(_data_for(case))


def _close(ours, theirs, tol=TOL):
    """Equal within tol, NA in R == NaN here."""
    theirs = np.nan if theirs is None else theirs
    if np.isnan(theirs):
        return np.isnan(ours)
    return abs(ours - theirs) <= tol


@pytest.mark.parametrize("case", ALPHA_CASES)
def test_alpha_totals_match_psych(case):
    ref = fx.reference()["alpha"][case]
    res = _alpha(case)
    for r_name, attr in TOTAL_MAP.items():
        assert _close(getattr(res, attr), ref["total"][r_name]), (case, r_name)
    assert res.ci[0] == pytest.approx(ref["feldt"]["lower"], abs=TOL)
    assert res.ci[1] == pytest.approx(ref["feldt"]["upper"], abs=TOL)
    assert res.n_obs == len(_data_for(case))
    assert res.ci[0] < res.alpha < res.ci[1]


@pytest.mark.parametrize("case", ALPHA_CASES)
def test_alpha_item_statistics_every_cell(case):
    ref = fx.reference()["alpha"][case]
    stats = _alpha(case).item_stats
    assert list(stats.index) == ref["items"]
    checked = 0
    for r_name, col in ITEM_MAP.items():
        for item in stats.index:
            assert _close(stats.loc[item, col], ref["item_stats"][r_name][item]), (case, col, item)
            checked += 1
    for r_name, col in DROP_MAP.items():
        for item in stats.index:
            assert _close(stats.loc[item, col], ref["alpha_drop"][r_name][item]), (case, col, item)
            checked += 1
    assert checked == 15 * len(stats)


@pytest.mark.parametrize("case", [c for c in ALPHA_CASES
                                  if fx.reference()["alpha"][c]["response_freq"] is not None])
def test_response_frequencies_match_psych(case):
    ref = fx.matrix(fx.reference()["alpha"][case]["response_freq"])
    ours = _alpha(case).response_freq
    assert sorted(ours.columns) == sorted(ref.columns)
    diff = (ours[ref.columns].loc[ref.index] - ref).abs().to_numpy()
    assert np.nanmax(diff) < TOL


def test_fixture_records_the_r_versions():
    meta = fx.reference()["meta"]
    assert meta["psych"] == "2.2.9" and meta["GPArotation"] and meta["R"].startswith("R version")


def test_no_response_frequencies_for_continuous_items():
    assert _alpha("hs_all").response_freq is None


@pytest.mark.parametrize("case", [c for c in ALPHA_CASES if c != "two_items"])
def test_omega_total_matches_psych_omega_one_factor(case):
    ref = fx.reference()["alpha"][case]
    om = rel.omega_total(_data_for(case))
    assert om.omega_total == pytest.approx(ref["omega_tot"], abs=1e-6)
    assert om.omega_h == pytest.approx(ref["omega_h1"], abs=1e-6)
    assert 0 < om.omega_model < 1


def test_negatively_keyed_item_is_reported():
    with pytest.warns(UserWarning, match="A1"):
        res = rel.cronbach_alpha(fx.bfi_items()[["A1", "A2", "A3", "A4", "A5"]])
    assert res.negative_items == ("A1",)
    assert res.item_stats.loc["A1", "r_drop"] < 0
    assert "reverse-key" in res.summary()


def test_bootstrap_equals_explicit_resampling():
    x = fx.bfi_keyed()[["C1", "C2", "C3", "C4", "C5"]]
    res = rel.cronbach_alpha(x, bootstrap=6, seed=11)
    rng = np.random.default_rng(11)
    draws = rng.integers(0, len(x), size=(6, len(x)))
    explicit = [rel.cronbach_alpha(x.iloc[d].reset_index(drop=True)).alpha for d in draws]
    np.testing.assert_allclose(res.boot, explicit, atol=1e-10)


def test_bootstrap_interval_is_seeded_and_brackets_alpha():
    x = fx.hs()[["x1", "x2", "x3"]]
    a = rel.cronbach_alpha(x, bootstrap=300, seed=5)
    b = rel.cronbach_alpha(x, bootstrap=300, seed=5)
    c = rel.cronbach_alpha(x, bootstrap=300, seed=6)
    assert a.boot_ci == b.boot_ci and a.boot_ci != c.boot_ci
    assert a.boot_ci[0] < a.alpha < a.boot_ci[1]
    # percentile interval and Feldt agree roughly for n = 301
    assert abs(a.boot_ci[0] - a.ci[0]) < 0.05
    assert "bootstrap" in a.summary()


@pytest.mark.parametrize("bad, msg", [
    ("not a frame", "DataFrame"),
    (pd.DataFrame({"a": [1.0, 2, 3]}), "at least 2"),
    (pd.DataFrame({"a": [1.0, 2, 3], "b": ["x", "y", "z"]}), "numeric"),
    (pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 2, 2, 2]}), "without variance"),
])
def test_bad_input_raises_model_error(bad, msg):
    with pytest.raises(ModelError, match=msg):
        rel.cronbach_alpha(bad)


def test_bad_ci_and_bootstrap_arguments():
    x = fx.hs()[["x1", "x2", "x3"]]
    with pytest.raises(ModelError, match="ci"):
        rel.cronbach_alpha(x, ci=1.5)
    with pytest.raises(ModelError, match="bootstrap"):
        rel.cronbach_alpha(x, bootstrap=-1)


def test_design_effect_matches_anova_in_r():
    ref = fx.reference()["design_effect"]
    tl = fx.twolevel()
    d = rel.design_effect(tl[["y1", "y2", "y3"]].mean(axis=1), tl["cluster"])
    assert (d.n, d.n_clusters) == (ref["n"], ref["clusters"])
    for attr in ("msb", "msw", "n0", "icc", "deff"):
        assert getattr(d, attr) == pytest.approx(ref[attr], abs=1e-10), attr
    assert d.effective_n == pytest.approx(d.n / d.deff)


def test_design_effect_without_clustering_is_one():
    rng = np.random.default_rng(0)
    y = rng.normal(size=400)
    g = np.repeat(np.arange(40), 10)
    d = rel.design_effect(y, g)
    assert d.deff == pytest.approx(1 + 9 * max(d.icc, 0))
    assert d.deff < 1.3
    with pytest.raises(ModelError, match="length"):
        rel.design_effect(y, g[:10])
    with pytest.raises(ModelError, match="2 clusters"):
        rel.design_effect(y, np.zeros(400))


def test_scale_design_effects_table():
    tl = fx.twolevel()
    out = rel.scale_design_effects(tl, {"Y": ["y1", "y2", "y3"], "W": ["y4", "y5", "y6"]},
                                   cluster="cluster")
    assert list(out.index) == ["W", "Y"]
    assert out.loc["Y", "deff"] == pytest.approx(fx.reference()["design_effect"]["deff"])
    with pytest.raises(ModelError, match="cluster column"):
        rel.scale_design_effects(tl, {"Y": ["y1"]}, cluster="commune_code")


def test_reliability_table_drop_decisions():
    data = fx.bfi_items()
    table = rel.reliability_table(data, {"A": ["A1", "A2", "A3", "A4", "A5"],
                                         "C": ["C1", "C2", "C3"]})
    assert table.loc["A", "drop"] == "A1"
    assert "A1: r_drop" in table.loc["A", "reason"]
    assert table.loc["C", "drop"] == ""
    ref = fx.reference()["alpha"]["A_raw"]["total"]["raw_alpha"]
    assert table.loc["A", "alpha"] == pytest.approx(ref, abs=TOL)


def test_omega_warns_on_improper_one_factor_model():
    r = np.array([[1, .8, .8, .3], [.8, 1, .45, .25], [.8, .45, 1, .25], [.3, .25, .25, 1]])
    z = np.random.default_rng(0).normal(size=(500, 4))
    z = (z - z.mean(axis=0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    x = pd.DataFrame(z @ np.linalg.cholesky(r).T, columns=["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="improper"):
        rel.omega_total(x)


def _improper_items():
    """Four items whose one-factor model puts a Heywood case on ``a``."""
    r = np.array([[1, .8, .8, .3], [.8, 1, .45, .25], [.8, .45, 1, .25], [.3, .25, .25, 1]])
    z = np.random.default_rng(0).normal(size=(500, 4))
    z = (z - z.mean(axis=0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return pd.DataFrame(z @ np.linalg.cholesky(r).T, columns=["a", "b", "c", "d"])


def test_omega_problem_is_structured_and_worded_in_vietnamese():
    """An improper omega carries its parts (an ``OmegaWarning`` with an ``OmegaProblem``, also
    on the result), so a notebook words it in Vietnamese instead of letting the English
    warning reach stderr (seen on an own export of ~120 officials: scale STAY)."""
    with pytest.warns(rel.OmegaWarning, match="improper") as caught:
        om = rel.omega_total(_improper_items())
    problem = caught[0].message.problem
    assert problem == om.problem == rel.OmegaProblem(heywood=("a",), converged=True)
    assert problem.text() == str(caught[0].message)
    assert problem.text("vi") == ("omega không đáng tin cậy: mô hình một nhân tố không chính "
                                  "quy (trường hợp Heywood ở biến a)")
    assert rel.OmegaProblem(converged=False, scale="S").text("vi") == (
        "omega của thang đo S không đáng tin cậy: mô hình một nhân tố không chính quy (mô "
        "hình không hội tụ)")
    with pytest.raises(ModelError, match="lang"):
        problem.text("fr")
    # issued again from its text alone (the notebooks' result cache replays warnings so)
    assert rel.OmegaWarning("omega_total: ...").problem is None
    assert rel.omega_total(fx.hs()[["x1", "x2", "x3"]]).problem is None


def test_reliability_table_names_the_scales_with_an_improper_omega():
    x = _improper_items()
    rng = np.random.default_rng(1)
    f = rng.normal(size=len(x))
    for item in ("e", "g", "h"):
        x[item] = f + rng.normal(size=len(x))
    with pytest.warns(rel.OmegaWarning, match="omega_total of scale S:") as caught:
        table = rel.reliability_table(x, {"S": ["a", "b", "c", "d"], "T": ["e", "g", "h"]})
    assert [str(w.message) for w in caught if w.category is rel.OmegaWarning] == [
        "omega_total of scale S: the one-factor model is improper (Heywood case(s): a); "
        "omega is not trustworthy"]
    assert table.attrs["omega_problems"] == {
        "S": rel.OmegaProblem(heywood=("a",), converged=True, scale="S")}
    assert np.isfinite(table.at["S", "omega_total"])   # kept, and named as untrustworthy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rel.reliability_table(x, {"T": ["e", "g", "h"]}).attrs["omega_problems"] == {}


def test_design_effect_and_reliability_table_bad_input():
    with pytest.raises(ModelError, match="scores must be numeric"):
        rel.design_effect(["a", "b", "c"], [1, 1, 2])
    with pytest.raises(ModelError, match="non-empty"):
        rel.design_effect([], [])
    data = fx.hs()
    with pytest.raises(ModelError, match=r"scale A: items not in the data: \['zz'\]"):
        rel.reliability_table(data, {"A": ["x1", "x2", "zz"]})
    with pytest.raises(ModelError, match="list of column names"):
        rel.reliability_table(data, {"A": "x1 x2 x3"})
    with pytest.raises(ModelError, match="non-empty mapping"):
        rel.reliability_table(data, {})
    with pytest.raises(ModelError, match="DataFrame"):
        rel.reliability_table(data.to_numpy(), {"A": ["x1", "x2"]})


def test_cr_and_ave_from_hlstudy_reliability_match_lavaan_loadings():
    """The issue's public names: hlstudy.reliability.composite_reliability / _variance_extracted
    of a CFA result, checked against lavaan's standardized loadings (lavaan fixture)."""
    import json

    from hlstudy import factor, paths

    fix = paths.ROOT / "tests" / "fixtures" / "lavaan"
    ref = json.loads((fix / "lavaan_reference.json").read_text())["fits"]["hs3"]["std"]
    model = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
             "speed": ["x7", "x8", "x9"]}
    res = factor.cfa(fx.hs(), model)
    cr, ave = rel.composite_reliability(res), rel.average_variance_extracted(res)
    assert list(cr.index) == list(ave.index) == list(model)
    for f in model:
        lam = np.array([v for lhs, op, v in zip(ref["lhs"], ref["op"], ref["est_std"], strict=True)
                        if lhs == f and op == "=~"])
        s = lam.sum() ** 2
        assert cr[f] == pytest.approx(s / (s + np.sum(1 - lam**2)), abs=1e-3)
        assert ave[f] == pytest.approx(np.mean(lam**2), abs=1e-3)
    fl = factor.fornell_larcker(res)
    assert np.allclose(np.diag(fl.to_numpy()), np.sqrt(ave.to_numpy()))
    with pytest.raises(ModelError, match="CFAResult"):
        rel.composite_reliability({"visual": [0.7, 0.7, 0.7]})
