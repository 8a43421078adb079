"""hlstudy.models against R (clubSandwich, sandwich, car, lmtest, lmerTest), the published
sensemakr example, and simulation (naive vs CR2 SEs, coverage of CR2 and wild intervals).

Fixtures: tests/fixtures/models (make_fixtures.R and make_study_data.py made them).
Tolerances: OLS quantities (estimates, SEs, df, p, intervals, covariance matrices, beta, VIF,
Cook's distance, Breusch–Pagan, Shapiro–Wilk) 1e-8 absolute; mixed-model quantities 1e-6
(lme4 stops its optimizer there) and the Satterthwaite df 1e-5 relative (lmerTest
differentiates numerically); MDE 1e-9; Darfur: the published 4-decimal values ± 5e-5.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy.errors import ModelError
from hlstudy.models import min_detectable_effect, mixed, ols, robustness_value, sensitivity
from hlstudy.models._frame import formula_variables, model_frame
from hlstudy.models._wild import _Inversion, _memoized_njit, wild_pvalue

FIX = Path(__file__).parent / "fixtures" / "models"
REF = json.loads((FIX / "models_reference.json").read_text(encoding="utf-8"))
SMALL = pd.read_csv(FIX / "small.csv")
STUDY = pd.read_csv(FIX / "study.csv", dtype={"commune_code": str, "edu": str, "record_id": str})
G8 = [f"c{i:02d}" for i in range(1, 9)]

CASES = {
    "small": (SMALL, "y ~ x1 + x2 + f", "g", None),
    "small_weighted": (SMALL, "y ~ x1 + x2 + f", "g", "w"),
    "small_g8": (SMALL[SMALL["g"].isin(G8)], "y ~ x1 + x2", "g", None),
    "study": (STUDY, "PRO ~ TRAIN + MOT + ENV + COMP + edu + years", "commune_code", None),
}
TOL = 1e-8


def r_name(term: str) -> str:
    """patsy's column name -> R's (Intercept, f[T.b] -> (Intercept), fb)."""
    if term == "Intercept":
        return "(Intercept)"
    if "[T." in term:
        var, level = term.split("[T.", 1)
        return var + level.rstrip("]")
    return term


def _num(values):
    return np.array([np.nan if v in (None, "NA") else v for v in values], dtype=float)


def _aligned(coef: pd.DataFrame, terms: list[str]) -> pd.DataFrame:
    out = coef.rename(index=r_name)
    assert sorted(out.index) == sorted(terms)
    return out.loc[terms]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("vcov", ["naive", "HC1", "CR1", "CR2"])
def test_ols_matches_r_every_cell(case, vcov):
    data, formula, cluster, weights = CASES[case]
    ref = REF[case]
    fit = ols(data, formula, cluster=cluster, vcov=vcov, weights=weights, wild=False)
    assert fit.nobs == ref["nobs"] and fit.n_clusters == ref["n_clusters"]
    co = _aligned(fit.coefficients, ref["terms"])
    np.testing.assert_allclose(co["estimate"], ref["estimate"], rtol=0, atol=TOL)
    r = ref[vcov]
    for col in ("se", "p", "ci_low", "ci_high"):
        np.testing.assert_allclose(co[col], r[col], rtol=0, atol=TOL, err_msg=f"{case} {vcov} {col}")
    np.testing.assert_allclose(co["df"], np.broadcast_to(r["df"], len(co)), rtol=0, atol=TOL)
    np.testing.assert_allclose(co["t"], co["estimate"] / co["se"], rtol=1e-12)
    if "t" in r:
        np.testing.assert_allclose(co["t"], r["t"], rtol=0, atol=TOL)
    if "vcov" in r:
        V = fit.vcov.rename(index=r_name, columns=r_name).loc[ref["terms"], ref["terms"]]
        np.testing.assert_allclose(V.to_numpy(), np.array(r["vcov"]), rtol=0, atol=TOL)
    # the matrix's rows and columns are the coefficients' terms, in their order (``co`` is in
    # R's order by construction: its own order says nothing)
    assert list(fit.vcov.index) == list(fit.vcov.columns) == list(fit.coefficients.index)
    np.testing.assert_allclose(co["beta"], _num(ref["beta"]), rtol=0, atol=TOL)


def test_ols_drops_and_counts_missing_rows():
    fit = ols(SMALL, "y ~ x1 + x2 + f", cluster="g", wild=False)
    assert fit.n_dropped == int(SMALL["y"].isna().sum()) == 2
    assert fit.nobs == len(SMALL) - 2
    study = ols(STUDY, CASES["study"][1], cluster="commune_code", wild=False)
    assert study.n_dropped == int(STUDY[["edu", "years"]].isna().any(axis=1).sum()) == 6
    assert "6 dropped for missing values" in study.summary()


@pytest.mark.parametrize("case", ["small", "small_g8", "study"])
def test_vif_diagnostics_cooks_match_r(case):
    data, formula, cluster, _ = CASES[case]
    ref = REF[case]
    fit = ols(data, formula, cluster=cluster, wild=False)
    vif = fit.vif.loc[ref["vif"]["term"]]
    np.testing.assert_allclose(vif["GVIF"], ref["vif"]["GVIF"], rtol=0, atol=TOL)
    np.testing.assert_allclose(vif["Df"], ref["vif"]["Df"])
    np.testing.assert_allclose(vif["GVIF^(1/(2*Df))"], ref["vif"]["GVIF_adj"], rtol=0, atol=TOL)
    diag = fit.diagnostics
    assert diag.loc["breusch_pagan", "statistic"] == pytest.approx(ref["bp"]["statistic"], abs=TOL)
    assert diag.loc["breusch_pagan", "df"] == ref["bp"]["df"]
    assert diag.loc["breusch_pagan", "p"] == pytest.approx(ref["bp"]["p"], abs=TOL)
    assert diag.loc["shapiro_wilk", "statistic"] == pytest.approx(ref["shapiro"]["statistic"], abs=TOL)
    assert diag.loc["shapiro_wilk", "p"] == pytest.approx(ref["shapiro"]["p"], abs=TOL)
    cooks = fit.cooks_distance
    np.testing.assert_allclose(cooks.to_numpy(), ref["cooks"], rtol=0, atol=TOL)
    infl = fit.influential
    cut = 4 / fit.nobs
    assert set(infl.index) == set(cooks.index[cooks > cut])
    # a count of rows is no degrees of freedom: its own column, the df left empty
    assert diag.loc["cooks_distance", "n_above"] == len(infl)
    assert np.isnan(diag.loc["cooks_distance", "df"])
    assert diag["n_above"].drop("cooks_distance").isna().all()
    assert infl["cooks_d"].is_monotonic_decreasing


@pytest.mark.parametrize("case", ["small", "study"])
def test_mixed_matches_lmertest(case):
    data, formula, cluster, _ = CASES[case]
    ref = REF[case]["lmer"]
    m = mixed(data, formula, group=cluster)
    co = _aligned(m.coefficients, ref["terms"])
    for col in ("estimate", "se", "t", "p"):
        np.testing.assert_allclose(co[col], ref[col], rtol=0, atol=1e-6, err_msg=col)
    np.testing.assert_allclose(co["df"], ref["df"], rtol=1e-5)
    assert m.tau2 == pytest.approx(ref["tau2"], abs=1e-6)
    assert m.sigma2 == pytest.approx(ref["sigma2"], abs=1e-6)
    assert m.icc == pytest.approx(ref["icc"], abs=1e-6)
    assert m.reml_criterion == pytest.approx(ref["reml_criterion"], abs=1e-6)
    assert m.n_groups == REF[case]["n_clusters"] and m.nobs == REF[case]["nobs"]
    assert "ICC" in m.summary()


def test_min_detectable_effect_matches_noncentral_t_in_r():
    grid = pd.read_csv(FIX / "mde.csv")
    got = [min_detectable_effect(r.n, design_effect=r.deff, k_covariates=int(r.k), alpha=r.alpha,
                                 power=r.power, r2_other=r.r2) for r in grid.itertuples()]
    np.testing.assert_allclose(got, grid["mde"], rtol=1e-9)
    # more respondents, a smaller design effect or more explained variance: a smaller MDE
    assert min_detectable_effect(400) < min_detectable_effect(200)
    assert min_detectable_effect(400, design_effect=2) > min_detectable_effect(400)
    assert min_detectable_effect(400, r2_other=0.5) < min_detectable_effect(400)
    # Bloom's (1995) multiplier for large samples: 1.96 + 0.84 = 2.80 standard errors
    assert min_detectable_effect(100_000) * np.sqrt(100_000) == pytest.approx(2.80, abs=0.01)


@pytest.mark.parametrize("kwargs", [dict(n=-3), dict(n=30, design_effect=0.5), dict(n=5, k_covariates=4),
                                    dict(n=50, alpha=1.2), dict(n=50, power=0.01),
                                    dict(n=50, r2_other=1.0), dict(n=50, k_covariates=1.5)])
def test_min_detectable_effect_bad_input(kwargs):
    n = kwargs.pop("n")
    with pytest.raises(ModelError):
        min_detectable_effect(n, **kwargs)


def darfur_fit():
    d = pd.read_csv(FIX / "darfur.csv")
    return ols(d, "peacefactor ~ directlyharmed + age + farmer_dar + herder_dar + pastvoted"
                  " + hhsize_darfur + female + village", vcov="naive", wild=False)


def test_sensitivity_reproduces_cinelli_hazlett_darfur():
    # Cinelli & Hazlett (2020), section 6, and the sensemakr README: estimate 0.097, se 0.023,
    # t 4.18, R2yd.x 2.19%, RV 13.88%, RV(alpha=.05) 7.63%, df 783; bounds on 'female'.
    out = sensitivity(darfur_fit(), "directlyharmed", benchmark="female", kd=[1, 2, 3])
    first = out.iloc[0]
    assert first["bound"] == "none" and first["df"] == 783
    for col, value in [("estimate", 0.0973), ("se", 0.0233), ("r2yd_x", 0.0219),
                       ("rv_q", 0.1388), ("rv_qa", 0.0763)]:
        assert first[col] == pytest.approx(value, abs=5e-5), col
    assert first["t"] == pytest.approx(4.18, abs=5e-3)
    published = pd.DataFrame({
        "r2dz_x": [0.0092, 0.0183, 0.0275], "r2yz_dx": [0.1246, 0.2493, 0.3741],
        "adj_estimate": [0.0752, 0.0529, 0.0304], "adj_se": [0.0219, 0.0204, 0.0187],
        "adj_t": [3.4389, 2.6002, 1.6281], "adj_ci_low": [0.0323, 0.0130, -0.0063],
        "adj_ci_high": [0.1182, 0.0929, 0.0670]})
    assert list(out["bound"][1:]) == ["1x female", "2x female", "3x female"]
    for col in published:
        np.testing.assert_allclose(out[col][1:].to_numpy(dtype=float), published[col], rtol=0,
                                   atol=5e-5, err_msg=col)


def test_robustness_value_closed_forms():
    # RV_q solves f_q^2 = RV^2/(1-RV) (Cinelli & Hazlett 2020, eq. 19)
    for t, df in [(4.18, 783), (2.5, 40), (10.0, 30)]:
        fq = abs(t) / np.sqrt(df)
        rv = robustness_value(t, df)
        assert rv**2 / (1 - rv) == pytest.approx(fq**2, rel=1e-12)
        assert robustness_value(t, df, q=0.5) < rv
        assert robustness_value(-t, df) == rv
    assert robustness_value(1.0, 100, alpha=0.05) == 0.0   # not significant: RV_{q,alpha} = 0
    # the extreme case of sensemakr 0.1.4: f_q > 1/f* gives (f_q^2 - f*^2)/(1 + f_q^2)
    from scipy import stats
    t, df = 30.0, 20
    fq, fc = t / np.sqrt(df), stats.t.ppf(0.975, df - 1) / np.sqrt(df - 1)
    assert fq > 1 / fc
    assert robustness_value(t, df, alpha=0.05) == pytest.approx((fq**2 - fc**2) / (1 + fq**2))


def test_sensitivity_group_benchmark_and_bad_input():
    fit = ols(STUDY, CASES["study"][1], cluster="commune_code", wild=False)
    out = sensitivity(fit, "TRAIN", benchmark=["edu", "years"], kd=[1, 2])
    assert list(out["bound"]) == ["none", "1x edu", "2x edu", "1x years", "2x years"]
    assert (out["r2dz_x"][1:] > 0).all() and out.loc[2, "r2dz_x"] == pytest.approx(2 * out.loc[1, "r2dz_x"])
    naive = ols(STUDY, CASES["study"][1], vcov="naive", wild=False).coefficients.loc["TRAIN"]
    assert out.loc[0, "se"] == pytest.approx(naive["se"], rel=1e-12)  # classical SE whatever vcov
    with pytest.raises(ModelError, match="treatment 'NOPE'"):
        sensitivity(fit, "NOPE")
    with pytest.raises(ModelError, match="benchmark 'zz'"):
        sensitivity(fit, "TRAIN", benchmark="zz")
    with pytest.raises(ModelError, match="treatment itself"):
        sensitivity(fit, "TRAIN", benchmark="TRAIN")
    with pytest.raises(ModelError, match="kd"):
        sensitivity(fit, "TRAIN", benchmark="MOT", kd=1000)
    weighted = ols(SMALL, "y ~ x1 + x2", cluster="g", weights="w", wild=False)
    with pytest.raises(ModelError, match="unweighted"):
        sensitivity(weighted, "x1")


# ----------------------------------------------------------------------------- wild bootstrap
def test_wild_pvalue_matches_full_enumeration_in_r():
    ref = pd.read_csv(FIX / "wild_g8.csv")
    fr = model_frame(SMALL[SMALL["g"].isin(G8)], "y ~ x1 + x2", cluster="g")
    j = fr.columns.index("x1")
    for row in ref.itertuples():
        # 2^8 = 256 < reps: the library enumerates every Rademacher sign vector
        p = wild_pvalue(fr.X, fr.y, fr.cluster, j, null=row.r, reps=9999, weights_type="rademacher")
        assert row.p_strict - 1e-12 <= p <= row.p_weak + 1e-12, (row.r, p)


def test_wild_interval_inverts_the_test_and_is_reproducible():
    data = SMALL[SMALL["g"].isin(G8)]
    fit = ols(data, "y ~ x1 + x2", cluster="g", wild_reps=999, seed=3)
    again = ols(data, "y ~ x1 + x2", cluster="g", wild_reps=999, seed=3)
    pd.testing.assert_frame_equal(fit.coefficients, again.coefficients)
    assert fit.wild_info["weights"] == "webb"          # 8 clusters <= 12
    fr = fit.frame
    j = fr.columns.index("x1")
    row = fit.coefficients.loc["x1"]
    assert row["ci_low_wild"] < row["estimate"] < row["ci_high_wild"]
    se = ols(data, "y ~ x1 + x2", cluster="g", vcov="CR1", wild=False).coefficients.loc["x1", "se"]
    for end, outward in ((row["ci_low_wild"], -1), (row["ci_high_wild"], 1)):
        inside = wild_pvalue(fr.X, fr.y, fr.cluster, j, null=end - outward * 1e-3 * se, reps=999,
                             seed=3, weights_type="webb")
        outside = wild_pvalue(fr.X, fr.y, fr.cluster, j, null=end + outward * 1e-3 * se, reps=999,
                              seed=3, weights_type="webb")
        assert inside > 0.05 >= outside
    assert fit.coefficients.loc["x1", "p_wild"] == pytest.approx(
        wild_pvalue(fr.X, fr.y, fr.cluster, j, reps=999, seed=3, weights_type="webb"))
    big = ols(SMALL, "y ~ x1", cluster="g", wild_reps=199)
    assert big.wild_info["weights"] == "rademacher"    # 23 clusters
    assert np.isnan(big.coefficients.loc["Intercept", "p_wild"])


def _library_statistics(X, y, cluster, j, reps, seed, weights_type):
    """t statistic, bootstrap t's and p-value of wildboottest itself (every step of it)."""
    import warnings

    from wildboottest.wildboottest import WildboottestCL

    from hlstudy.models._wild import _memoized_njit

    R = np.zeros(X.shape[1])
    R[j] = 1.0
    with _memoized_njit(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = WildboottestCL(X=X, Y=y, cluster=cluster, R=R, B=reps, seed=seed, parallel=False)
        boot.get_scores(bootstrap_type="11", impose_null=True, adj=True, cluster_adj=True)
        boot.get_weights(weights_type=weights_type)
        boot.get_numer()
        boot.get_denom()
        boot.get_tboot()
        boot.get_vcov()
        boot.get_tstat()
        boot.get_pvalue(pval_type="two-tailed")
    return boot.t_stat, boot.t_boot, float(boot.pvalue)


@pytest.mark.parametrize("case", ["g23_rademacher", "g8_webb", "g6_enumerated", "study"])
def test_wild_inversion_is_the_library_bit_for_bit(case):
    # the interval's many tests reuse what does not depend on the null value and run the
    # denominators with the draws as the inner loop: every float must still be the library's
    from hlstudy.models._wild import _Inversion

    rng = np.random.default_rng(11)
    if case == "study":
        fr = model_frame(STUDY, CASES["study"][1], cluster="commune_code")
        X, y, cl, reps, wt = fr.X, fr.y, fr.cluster, 999, "rademacher"
    else:
        G, wt, reps = {"g23_rademacher": (23, "rademacher", 999), "g8_webb": (8, "webb", 999),
                       "g6_enumerated": (6, "rademacher", 999)}[case]
        n = 160
        cl = np.sort(np.concatenate([np.arange(G), rng.integers(0, G, n - G)]))
        X = np.column_stack([np.ones(n), rng.normal(size=(n, 3)) + rng.normal(size=(G, 1))[cl]])
        y = X @ np.array([1.0, 0.3, -0.2, 0.0]) + rng.normal(size=n) + rng.normal(size=G)[cl]
    for j in range(1, X.shape[1]):
        inversion = _Inversion(X, y, cl, j, reps, 5, wt)
        est = float(np.linalg.lstsq(X, y, rcond=None)[0][j])
        ref_p0 = None
        for r in [None, *(est + np.linspace(-1.5, 1.5, 7))]:
            t_stat, t_boot = inversion.statistics(r)
            ref_stat, ref_boot, ref_p = _library_statistics(X, y if r is None else y - r * X[:, j],
                                                            cl, j, reps, 5, wt)
            assert np.array_equal(t_boot, ref_boot) and np.array_equal(t_stat, ref_stat), (case, j, r)
            assert inversion.pvalue(r) == ref_p
            if r is None:  # the library's p-value of the original y (the same call as before)
                ref_p0 = ref_p
        assert inversion.p0 == ref_p0
        assert inversion.B == (2 ** 6 if case == "g6_enumerated" else reps)


def _clustered_sample(rng, G=23, beta=0.3):
    sizes = rng.integers(8, 30, G)
    g = np.repeat(np.arange(G), sizes)
    x = rng.normal(size=g.size) + rng.normal(0, 1.0, G)[g]
    y = 1 + beta * x + rng.normal(0, 0.8, G)[g] + 0.6 * rng.normal(0, 1.0, G)[g] * x \
        + rng.normal(size=g.size)
    return pd.DataFrame({"y": y, "x": x, "g": g})


def test_naive_se_is_smaller_than_cr2_with_commune_effects():
    rng = np.random.default_rng(20261130)
    ratios = []
    for _ in range(10):
        d = _clustered_sample(rng)
        naive = ols(d, "y ~ x", vcov="naive", wild=False).coefficients.loc["x", "se"]
        cr2 = ols(d, "y ~ x", cluster="g", wild=False).coefficients.loc["x", "se"]
        ratios.append(naive / cr2)
    assert np.median(ratios) < 0.8 and max(ratios) < 1


def test_cr2_and_wild_intervals_cover_the_true_coefficient():
    rng = np.random.default_rng(7)
    beta, reps = 0.3, 80
    hits = {"naive": 0, "CR2": 0, "wild": 0}
    for _ in range(reps):
        d = _clustered_sample(rng, beta=beta)
        naive = ols(d, "y ~ x", vcov="naive", wild=False).coefficients.loc["x"]
        cr2_fit = ols(d, "y ~ x", cluster="g", wild=False)
        cr2 = cr2_fit.coefficients.loc["x"]
        hits["naive"] += naive["ci_low"] <= beta <= naive["ci_high"]
        hits["CR2"] += cr2["ci_low"] <= beta <= cr2["ci_high"]
        fr = cr2_fit.frame      # = model_frame(d, "y ~ x", cluster="g"), the fit's own
        # the wild interval covers beta exactly when the test of H0: b = beta is not rejected:
        # the test the interval's bisection runs (_Inversion; its p-values are the library's
        # floats, test_wild_inversion_is_the_library_bit_for_bit), at half the library's cost
        with _memoized_njit():
            p = _Inversion(fr.X, fr.y - beta * fr.X[:, 1], fr.cluster, 1, 399, 1,
                           "rademacher").p0
        hits["wild"] += p > 0.05
    cover = {k: v / reps for k, v in hits.items()}
    assert 0.86 <= cover["CR2"] <= 1.0, cover
    assert 0.86 <= cover["wild"] <= 1.0, cover
    assert cover["naive"] < cover["CR2"] - 0.1, cover   # the naive interval is far too short


# ----------------------------------------------------------------------------- bad input
def test_unknown_variables_are_named():
    with pytest.raises(ModelError, match="'TRAINING'"):
        ols(STUDY, "PRO ~ TRAINING + MOT", cluster="commune_code")
    with pytest.raises(ModelError, match="'commune'"):
        ols(STUDY, "PRO ~ TRAIN", cluster="commune")
    with pytest.raises(ModelError, match="'zz'"):
        mixed(STUDY, "PRO ~ zz", group="commune_code")
    assert formula_variables("y ~ x1 + C(f) + np.log(z) + I(a**2)") == ["y", "x1", "f", "z", "a"]


def test_cluster_problems_are_named():
    one = STUDY.assign(cc="06412")
    with pytest.raises(ModelError, match="1 cluster"):
        ols(one, "PRO ~ TRAIN", cluster="cc")
    lonely = STUDY.copy()
    lonely.loc[lonely.index[0], "commune_code"] = "99999"
    with pytest.raises(ModelError, match="99999"):
        ols(lonely, "PRO ~ TRAIN", cluster="commune_code")
    with pytest.raises(ModelError, match="99999"):
        mixed(lonely, "PRO ~ TRAIN", group="commune_code")
    with pytest.raises(ModelError, match="cluster="):
        ols(STUDY, "PRO ~ TRAIN", vcov="CR2")


def test_missing_rows_and_other_bad_input():
    empty = STUDY.assign(PRO=np.nan)
    with pytest.raises(ModelError, match=f"all {len(STUDY)} rows"):
        ols(empty, "PRO ~ TRAIN", cluster="commune_code")
    with pytest.raises(ModelError, match="rank deficient.*TRAIN2"):
        ols(STUDY.assign(TRAIN2=2 * STUDY["TRAIN"]), "PRO ~ TRAIN + TRAIN2", wild=False,
            vcov="naive")
    with pytest.raises(ModelError, match="vcov"):
        ols(STUDY, "PRO ~ TRAIN", vcov="CR3")
    with pytest.raises(ModelError, match="weights"):
        ols(SMALL, "y ~ x1", cluster="g", weights="w")          # wild bootstrap takes no weights
    with pytest.raises(ModelError, match="positive"):
        ols(SMALL.assign(w=-1.0), "y ~ x1", cluster="g", weights="w", wild=False)
    with pytest.raises(ModelError, match="DataFrame"):
        ols(STUDY.to_numpy(), "PRO ~ TRAIN", vcov="naive")
    with pytest.raises(ModelError, match="formula"):
        ols(STUDY, "PRO TRAIN", vcov="naive")
    with pytest.raises(ModelError, match="complete rows"):
        ols(STUDY.head(2), "PRO ~ TRAIN + MOT", vcov="naive", wild=False)


def test_summary_reports_sample_and_inference():
    fit = ols(CASES["small"][0], CASES["small"][1], cluster="g", wild_reps=199)
    text = fit.summary()
    assert "N = 376 rows used (2 dropped for missing values), 23 clusters" in text
    assert "Satterthwaite" in text and "rademacher weights, 199 draws" in text
    assert list(fit.coefficients.columns) == ["estimate", "se", "df", "t", "p", "ci_low", "ci_high",
                                              "beta", "p_wild", "ci_low_wild", "ci_high_wild"]
    assert fit.coefficients.index.name == "term"


# ----------------------------------------------------------------------------- fast paths
def test_t_distribution_calls_are_scipy_stats_bit_for_bit():
    """``_tdist.t_sf`` / ``t_ppf`` (the special functions behind scipy.stats' argument checks,
    used by ols and sensitivity) give scipy.stats' floats, types and signs of zero, for
    scalars and arrays, boundaries and invalid arguments included."""
    import warnings

    from scipy import stats

    from hlstudy.models._tdist import t_ppf, t_sf

    def same(a, b):
        a, b = np.asarray(a), np.asarray(b)
        return (a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
                and np.array_equal(np.signbit(a), np.signbit(b)))

    rng = np.random.default_rng(11)
    xs = [0.0, -0.0, 1.0, -2.5, 1e-300, 50.0, np.inf, -np.inf, np.nan, *rng.normal(0, 3, 8)]
    dfs = [1e-300, 0.5, 1.0, 3.7, 29.9, 1e6, 1e300, np.inf, np.nan, 0.0, -1.0,
           *rng.uniform(1, 400, 4)]
    qs = [0.0, 1.0, 0.5, 0.975, 1e-12, 1 - 1e-12, np.nan, -0.1, 1.1, *rng.uniform(0, 1, 4)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for df in dfs:
            for x in xs:
                assert same(t_sf(x, df), stats.t.sf(x, df)), (x, df)
            for q in qs:
                assert same(t_ppf(q, df), stats.t.ppf(q, df)), (q, df)
        x, df = rng.normal(0, 3, 7), rng.uniform(2, 300, 7)
        assert same(t_sf(np.abs(x), df), stats.t.sf(np.abs(x), df))
        assert same(t_ppf(0.975, df), stats.t.ppf(0.975, df))
        df[3] = np.nan      # one bad element: the whole call goes to scipy.stats
        assert same(t_sf(x, df), stats.t.sf(x, df)) and same(t_ppf(0.9, df), stats.t.ppf(0.9, df))
    assert isinstance(t_sf(1.0, 3.0), np.float64)


def test_formula_parses_are_kept_by_text():
    """A formula is parsed once (``lru_cache`` on its text): a hit gives what a fresh parse
    gives, a caller's edit of the returned list does not reach the cache, other text is
    parsed anew, and a bad formula raises on every call."""
    from hlstudy.models import _frame

    _frame._formula_variables.cache_clear()
    _frame._main_effects_shape.cache_clear()
    first = formula_variables("y ~ x1 + C(f) + np.log(z)")
    first.append("edited")
    again = formula_variables("y ~ x1 + C(f) + np.log(z)")
    assert again == ["y", "x1", "f", "z"]
    assert _frame._formula_variables.cache_info().hits == 1
    assert formula_variables("y ~ x2") == ["y", "x2"]
    assert _frame._formula_variables.cache_info().misses == 2
    for _ in range(2):
        with pytest.raises(ModelError, match="cannot parse"):
            formula_variables("y ~ (x")
    assert _frame._main_effects_shape("y ~ a + b") == ("y", ("a", "b"), True)
    assert _frame._main_effects_shape("y ~ a + b - 1") == ("y", ("a", "b"), False)
    assert _frame._main_effects_shape("y ~ a:b") is None
    assert _frame._main_effects_shape("y ~ C(a)") == ("y", ("C(a)",), True)  # not a column
    # a cached parse builds the same fit as a cold one, to the bit
    _frame._main_effects_shape.cache_clear()
    cold = ols(STUDY, "PRO ~ TRAIN + MOT", cluster="commune_code", wild=False)
    warm = ols(STUDY, "PRO ~ TRAIN + MOT", cluster="commune_code", wild=False)
    assert _frame._main_effects_shape.cache_info().hits >= 1
    pd.testing.assert_frame_equal(cold.coefficients, warm.coefficients, check_exact=True)


# ------------------------------------------------------------------ API edges seen on own data


def _small_frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(60, 3)), columns=list("abc")).assign(g=np.repeat([1, 2], 30))


def test_a_text_outcome_is_named_not_dumped_as_dummy_columns():
    X = _small_frame()
    with pytest.raises(ModelError, match=r"outcome 'a' is not numeric") as err:
        ols(X.assign(a=X.a.astype(str)), "a ~ b", vcov="HC1")
    assert "a[" not in str(err.value)


def test_cr2_with_very_few_clusters_warns_with_the_df():
    import warnings

    from hlstudy.models import FewClustersWarning

    X = _small_frame()
    with pytest.warns(FewClustersWarning, match=r"CR2 with 2 clusters.*Pustejovsky & Tipton 2018") as rec:
        fit = ols(X, "a ~ b", cluster="g", vcov="CR2", wild=False)
    warning = rec[0].message
    assert warning.n_clusters == 2 and set(warning.terms) == {"Intercept", "b"}
    assert all(d < 4 for d in warning.terms.values())
    assert fit.coefficients.loc["b", "df"] < 4
    with pytest.warns(FewClustersWarning, match="CR2 with 2"):  # as the result cache replays it
        warnings.warn_explicit(str(warning), FewClustersWarning, "x.py", 1)
    many = X.assign(g=np.repeat(np.arange(20), 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewClustersWarning)  # 20 clusters: no warning
        ols(many, "a ~ b", cluster="g", vcov="CR2", wild=False)


def test_diagnostics_table_names_checks_and_counts_for_a_reader():
    """Notebook 05's table of the residual checks: Vietnamese (or English) names and null
    hypotheses, never the codes; Cook's count of rows above 4/N under its own heading."""
    from hlstudy.models import diagnostics_table

    fit = ols(SMALL, "y ~ x1 + x2 + f", cluster="g", wild=False)
    vi = diagnostics_table({"Mô hình A": fit, "Mô hình B": fit})
    assert list(vi.columns) == ["Mô hình", "Kiểm tra", "Giả thuyết H0", "Thống kê", "Bậc tự do",
                                "p", "Số quan sát vượt ngưỡng 4/N"]
    assert len(vi) == 2 * len(fit.diagnostics)
    text = " ".join(map(str, vi.to_numpy().ravel()))
    assert not any(code in text for code in ("breusch_pagan", "jarque_bera", "cooks_distance"))
    cook = vi[vi["Kiểm tra"] == "Khoảng cách Cook lớn nhất"].iloc[0]
    assert cook["Số quan sát vượt ngưỡng 4/N"] == len(fit.influential) and np.isnan(cook["Bậc tự do"])
    en = diagnostics_table({"A": fit}, lang="en")
    assert "Null hypothesis" in en.columns and "constant error variance" in set(en.iloc[:, 2])
    with pytest.raises(ModelError, match="lang"):
        diagnostics_table({"A": fit}, lang="fr")
    with pytest.raises(ModelError, match="OLSResult"):
        diagnostics_table({"A": 1})
    with pytest.raises(ModelError, match="needs a mapping .* got list"):
        diagnostics_table([fit])   # was a raw AttributeError ('list' has no 'items')
