"""hlstudy.validation.estimand: the pseudo-truth of the regressions on scale scores, the
estimand column, the coverage table with Monte Carlo bands, the committed run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hlstudy import drivers, models
from hlstudy.errors import ModelError
from hlstudy.validation import (
    COLUMNS,
    LATENT_SEM,
    attach_estimand,
    attach_icc_estimand,
    coverage_table,
    estimand_truth,
    pooled_scores,
)
from hlstudy.validation.run import DEFAULT_OUT, read_estimand, read_results


@pytest.fixture(scope="module")
def pooled():
    """Two pooled studies of the path_off scenario (REC->MOT = 0), about 870 officials."""
    return pooled_scores("path_off", studies=2, workers=1, show_progress=False)


@pytest.fixture(scope="module")
def truth(pooled):
    return estimand_truth("path_off", pooled=pooled, batches=2)


def test_pooled_sample_links_scores_to_the_latent_values(pooled):
    assert set(pooled["study"]) == {1_000_001, 1_000_002}
    assert 800 < len(pooled) < 1000                # every official of two censuses answers
    assert (pooled["scenario"] == "path_off").all()
    # a scale score correlates with its own latent construct far more than with another
    r_own = np.corrcoef(pooled[["MOT", "latent_MOT"]].dropna().T)[0, 1]
    r_other = np.corrcoef(pooled[["MOT", "latent_FAC"]].dropna().T)[0, 1]
    assert r_own > 0.75 and abs(r_other) < r_own - 0.3


def test_switched_off_path_has_a_pseudo_truth_near_zero(truth):
    tab, _ = truth
    t = tab.set_index("quantity")
    assert t.at["REC->MOT", "truth"] == 0.0
    # measurement error in the other predictors leaks a little; MC error of 2 studies ~0.03
    assert abs(t.at["REC->MOT", "truth_estimand"]) < 0.07
    assert (tab["mcse"] > 0).all() and np.isfinite(tab["mcse"]).all()
    assert (tab["n_studies"] == 2).all()
    assert list(tab.columns) == ["scenario", "estimand", "quantity", "truth", "truth_estimand",
                                 "mcse", "n_studies", "n_officials"]


def test_switched_on_paths_are_attenuated_by_about_the_reliability_factor(truth):
    tab, rel = truth
    r = rel.set_index("construct")["reliability"]
    # scale scores of 3-6 five-category items: reliability well below 1; EDU is observed
    scales = r.drop(["EDU", "TENURE"])
    assert (scales > 0.55).all() and (scales < 0.92).all()
    assert r["EDU"] > 0.98
    strong = tab[tab["truth"].abs() >= 0.25].copy()
    assert len(strong) >= 3
    xs = strong["quantity"].str.split("->").str[0]
    ys = strong["quantity"].str.split("->").str[1]
    factor = np.sqrt(r.reindex(xs).to_numpy() * r.reindex(ys).to_numpy())
    ratio = (strong["truth_estimand"] / strong["truth"]).to_numpy()
    assert (ratio > 0.4).all() and (ratio < 1.0).all()     # same sign, attenuated
    # Spearman (1904): the observed coefficient is about sqrt(rel_x rel_y) of the latent one
    assert abs(ratio.mean() - factor.mean()) < 0.12


def test_pseudo_truth_is_the_ols_coefficient_on_the_pooled_scores(pooled, truth):
    tab, _ = truth
    struct = drivers.structure()
    cols = sorted({c for p in struct.values() for c in p} | set(struct))
    z = drivers.zscore(pooled, cols)
    fit = models.ols(z, drivers.regression_formula("MOT", struct), vcov="naive", wild=False)
    got = tab.set_index("quantity")["truth_estimand"]
    for x in struct["MOT"]:
        assert got[f"{x}->MOT"] == pytest.approx(fit.coefficients.at[x, "estimate"], abs=1e-10)


def test_the_scores_icc_is_the_one_way_anova_icc_of_the_pool_by_study_and_commune(pooled, truth):
    """The pseudo-truth of a replication's ICC of a scale score: ICC(1) on the pool with a
    commune of one pooled study kept apart from the same commune of another (recomputed here
    from the ANOVA mean squares, not through hlstudy), below the latent construct's share by
    the measurement error inside communes."""
    from hlstudy.synthetic import simulate

    _, rel = truth
    r = rel.set_index("construct")
    assert list(rel.columns) == ["scenario", "estimand", "construct", "reliability", "icc",
                                 "icc_mcse", "n_officials"]
    e = pooled[["study", "commune_code", "FAC"]].dropna()
    g = e["study"].astype(str) + ":" + e["commune_code"].astype(str)
    groups = e.groupby(g)["FAC"]
    n_i, k, n = groups.size(), groups.ngroups, len(e)
    msb = float((n_i * (groups.mean() - e["FAC"].mean()) ** 2).sum() / (k - 1))
    msw = float(((e["FAC"] - groups.transform("mean")) ** 2).sum() / (n - k))
    n0 = (n - float((n_i ** 2).sum()) / n) / (k - 1)
    assert r.at["FAC", "icc"] == pytest.approx((msb - msw) / (msb + (n0 - 1) * msw), rel=1e-10)
    shares = simulate(1_000_001, response_rate=1.0, n_citizens_per_commune=2).truth \
        .commune_variance_share
    for c in ("FAC", "LEAD", "ENV"):   # shares .30, .20, .15: attenuated, same order of size
        assert 0.4 * shares[c] < r.at[c, "icc"] < shares[c]
    assert (r["icc_mcse"].dropna() > 0).all()


def test_attach_icc_estimand_fills_the_officials_icc_rows_only():
    rows = [{"seed": 1, "scenario": sc, "quantity": q, "kind": "icc", "method": m,
             "truth": 0.3, "truth_estimand": np.nan, "estimate": 0.2, "ci_low": 0.1,
             "ci_high": 0.35, "n": 400.0, "verdict_truth": "", "verdict": ""}
            for sc in ("s", "t") for q in ("FAC", "CSAT") for m in ("ANOVA (F interval)", "REML")]
    res = pd.concat([pd.DataFrame(rows, columns=COLUMNS), _results()], ignore_index=True)
    rel = pd.DataFrame({"scenario": ["s", "s", "t"], "estimand": ["scale scores"] * 2
                        + ["complete-item scale scores"], "construct": ["FAC", "EDU", "FAC"],
                        "icc": [0.22, 0.1, 0.5]})
    out = attach_icc_estimand(res, rel)
    icc = out[out["kind"] == "icc"].set_index(["scenario", "quantity", "method"])["truth_estimand"].sort_index()
    assert (icc.loc[("s", "FAC")] == 0.22).all()          # both methods
    assert icc.loc[("s", "CSAT")].isna().all()            # a citizens' construct: no pool
    assert icc.loc[("t", "FAC")].isna().all()             # only the scale-score estimand
    others = out[out["kind"] != "icc"]
    pd.testing.assert_series_equal(others["truth_estimand"], _results()["truth_estimand"],
                                   check_names=False, check_index=False)
    # the input is not changed
    assert res["truth_estimand"].isna().sum() == len(rows) + _results()["truth_estimand"].isna().sum()
    with pytest.raises(ModelError, match="reliability table needs"):
        attach_icc_estimand(res, rel.drop(columns="icc"))


def test_estimand_arguments_are_checked(pooled):
    with pytest.raises(ModelError, match="studies"):
        pooled_scores("default", studies=1)
    with pytest.raises(ModelError, match="workers"):
        pooled_scores("default", studies=2, workers=0)
    with pytest.raises(ModelError, match="unknown scenario"):
        pooled_scores("nope", studies=2)
    with pytest.raises(ModelError, match="unknown structural path"):
        pooled_scores("default", {"A->B": 0.1}, studies=2)
    with pytest.raises(ModelError, match="batches"):
        estimand_truth("path_off", pooled=pooled, batches=1)
    with pytest.raises(ModelError, match="cannot exceed"):
        estimand_truth("path_off", pooled=pooled, batches=3)
    with pytest.raises(ModelError, match="pooled_scores"):
        estimand_truth("path_off", pooled=pooled.drop(columns="study"))


# ---------------------------------------------------------------------- estimand column


def _results() -> pd.DataFrame:
    """Scenario s, path X->Y (latent 0.3, observed-score estimand 0.2), 4 replications of CR2
    and of the latent SEM; a loading row that no estimand table touches."""
    rows = []
    cr2 = [(0.18, 0.10, 0.26), (0.25, 0.21, 0.29), (0.22, 0.15, 0.29), (0.12, 0.05, 0.19)]
    sem = [(0.31, 0.20, 0.42), (0.26, 0.15, 0.37), (0.45, 0.35, 0.55), (0.28, 0.10, 0.46)]
    for seed in range(4):
        for method, (e, lo, hi), te in (("CR2", cr2[seed], np.nan),
                                        (LATENT_SEM, sem[seed], 0.3)):
            rows.append({"seed": seed + 1, "scenario": "s", "quantity": "X->Y", "kind": "path",
                         "method": method, "truth": 0.3, "truth_estimand": te, "estimate": e,
                         "ci_low": lo, "ci_high": hi, "n": 400.0, "verdict_truth": "",
                         "verdict": ""})
    rows.append({"seed": 1, "scenario": "s", "quantity": "F=~x1", "kind": "loading",
                 "method": "CFA (ML)", "truth": 0.7, "truth_estimand": np.nan, "estimate": 0.6,
                 "ci_low": 0.5, "ci_high": 0.7, "n": 400.0, "verdict_truth": "", "verdict": ""})
    return pd.DataFrame(rows, columns=COLUMNS)


def _table() -> pd.DataFrame:
    return pd.DataFrame({"scenario": ["s", "s", "t"], "estimand": ["scale scores"] * 3,
                         "quantity": ["X->Y", "Z->Y", "X->Y"], "truth": 0.3,
                         "truth_estimand": [0.2, 0.1, 0.9]})


def test_attach_estimand_fills_only_the_observed_score_methods():
    out = attach_estimand(_results(), _table())
    cr2 = out[out["method"] == "CR2"]
    assert (cr2["truth_estimand"] == 0.2).all()            # scenario s, not t's 0.9
    assert (out.loc[out["method"] == LATENT_SEM, "truth_estimand"] == 0.3).all()
    assert out.loc[out["kind"] == "loading", "truth_estimand"].isna().all()
    assert list(out.columns) == COLUMNS
    assert _results()["truth_estimand"].isna().sum() == 5  # input untouched
    with pytest.raises(ModelError, match="estimand table"):
        attach_estimand(_results(), _table().drop(columns="estimand"))


def test_coverage_table_uses_each_methods_own_target_with_its_band():
    tab = coverage_table(attach_estimand(_results(), _table()), scenario="s")
    t = tab.set_index("method")
    # CR2 against 0.2: [.10,.26] [.21,.29]x [.15,.29] [.05,.19]x -> 2/4; against 0.3: 0/4
    assert t.at["CR2", "coverage"] == pytest.approx(0.5)
    assert t.at["CR2", "coverage_latent"] == pytest.approx(0.0)
    assert t.at["CR2", "truth_estimand"] == pytest.approx(0.2)
    assert t.at["CR2", "bias"] == pytest.approx(np.mean([0.18, 0.25, 0.22, 0.12]) - 0.2)
    # latent SEM against 0.3: all but [.35,.55] cover -> 3/4
    assert t.at[LATENT_SEM, "coverage"] == pytest.approx(0.75)
    assert t.at[LATENT_SEM, "coverage_latent"] == pytest.approx(0.75)
    half = 1.96 * np.sqrt(0.95 * 0.05 / 4)
    assert t.at["CR2", "band_low"] == pytest.approx(0.95 - half)
    assert 0.95 + half > 1 and t.at["CR2", "band_high"] == 1.0   # a proportion: cut at 1
    assert not t.at["CR2", "coverage_ok"] and t.at[LATENT_SEM, "coverage_ok"]
    assert len(tab) == 2                                   # the loading row has no target
    with pytest.raises(ModelError, match="no path rows"):
        coverage_table(_results(), scenario="nope")
    with pytest.raises(ModelError, match="lack columns"):
        coverage_table(_results().drop(columns="truth_estimand"))


# ---------------------------------------------------------------------- committed run


def test_committed_run_carries_both_truths_and_the_latent_sem():
    res, manifest = read_results(DEFAULT_OUT)
    tab, rel = read_estimand(DEFAULT_OUT)
    assert set(manifest["replications"]) == set(res["scenario"])
    assert manifest["git_commit"] and manifest["seconds_total"] > 0
    paths = res[res["kind"] == "path"]
    obs = paths[paths["method"].isin(["CR2", "naive", "wild", "SEM (FIML, MLR)"])]
    assert np.isfinite(obs["truth_estimand"]).all()
    lat = paths[paths["method"] == LATENT_SEM]
    assert set(lat["scenario"]) == set(manifest["latent_sem"]) and "default" in set(lat["scenario"])
    np.testing.assert_array_equal(lat["truth_estimand"], lat["truth"])
    # the committed pseudo-truth is precise next to the replications' spread
    cr2 = paths[(paths["method"] == "CR2") & (paths["scenario"] == "default")]
    emp_se = cr2.groupby("quantity")["estimate"].std(ddof=1)
    mcse = tab[tab["scenario"] == "default"].set_index("quantity")["mcse"]
    assert (mcse.reindex(emp_se.index) < 0.25 * emp_se).all()
    assert set(rel["scenario"]) == set(tab["scenario"])
    # the officials' ICC rows carry the score's own ICC of the pool as their estimand
    icc = res[res["kind"] == "icc"]
    officials = icc["quantity"].isin(set(rel["construct"]))
    assert officials.any() and np.isfinite(icc.loc[officials, "truth_estimand"]).all()
    assert icc.loc[~officials, "truth_estimand"].isna().all()
