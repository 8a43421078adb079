"""Measurement routines on degenerate data (issue 14, kinds 1, 2, 3 and 7) against R.

Reference values and messages: tests/fixtures/degenerate/make_fixtures.R (psych 2.2.9).
Cases named in the issue: n_lt_p (6 x 10), n_eq_p (10 x 10), overlap, three_answers,
yes_no_7, yes_no_10, duplicated.  Constructed here: n_lt_p_own, single_overlap,
pairwise_missing, mostly_constant, combination, near.
"""

from __future__ import annotations

import json
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy import factor
from hlstudy import reliability as rel
from hlstudy._bootstrap import UndefinedDrawsWarning, finite_draws
from hlstudy._psychometrics import (
    collinear_items,
    pairwise_moments,
    resampled_correlations,
    smc,
    wishart_correlations,
)
from hlstudy.errors import ModelError

FIX = Path(__file__).parent / "fixtures" / "degenerate"


@cache
def _ref() -> dict:
    return json.loads((FIX / "degenerate_reference.json").read_text(encoding="utf-8"))


def _data(case: str) -> pd.DataFrame:
    return pd.read_csv(FIX / f"{case}.csv")


@cache
def _parallel_1000(case: str):
    """parallel_analysis(n_iter=1000, seed=7) of a kind-1 case, run once for every test that
    reads it (the observed eigenvalues, the suggested counts, the simulated distribution): a
    seeded, pure computation.  The observed eigenvalues do not depend on the draws; the
    suggested counts are compared where the observed eigenvalue is far from the simulated
    quantile, which 1000 draws estimate more closely than 200."""
    return factor.parallel_analysis(_data(case), n_iter=1000, seed=7, show_progress=False)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _na(values) -> np.ndarray:
    return np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)


# ============================================================ kind 1: fewer respondents than items

KIND1 = ["n_lt_p", "n_eq_p", "n_lt_p_own"]


@pytest.mark.parametrize("case", KIND1)
def test_parallel_analysis_with_n_not_above_p_gives_psychs_observed_eigenvalues(case):
    ref = _ref()["kind1"][case]
    x = _data(case)
    assert len(x) <= x.shape[1]
    res = _parallel_1000(case)
    # deterministic part: observed eigenvalues (fa.parallel's pc.values and fa.values)
    np.testing.assert_allclose(res.eigenvalues["pc_observed"], ref["parallel"]["pc_values"],
                               atol=1e-10)
    np.testing.assert_allclose(res.eigenvalues["fa_observed"], ref["parallel"]["fa_values"],
                               atol=1e-5)
    assert np.isfinite(res.eigenvalues.to_numpy()).all()


@pytest.mark.parametrize("case", ["n_lt_p", "n_lt_p_own"])
def test_parallel_analysis_with_n_below_p_suggests_psychs_counts(case):
    # psych's draws cannot be shared: compare the suggested counts where the observed
    # eigenvalues are far from the simulated quantile (the issue's 6 x 10: 1 factor, 1 component)
    ref = _ref()["kind1"][case]["parallel"]
    res = _parallel_1000(case)
    assert (res.n_factors, res.n_components) == (ref["nfact"], ref["ncomp"]) == (1, 1)


def test_parallel_analysis_with_n_equal_p_suggests_psychs_factor_count():
    # n = p = 10: psych says 0 factors; its component count (1) sits within Monte Carlo noise of
    # the 95% quantile (3.67 observed vs ~3.65 simulated), so only the factor count is compared
    ref = _ref()["kind1"]["n_eq_p"]["parallel"]
    res = _parallel_1000("n_eq_p")
    assert res.n_factors == ref["nfact"] == 0


@pytest.mark.parametrize("case", KIND1)
def test_simulated_eigenvalues_with_n_not_above_p_have_psychs_distribution(case):
    # R: 1000 draws of cor(matrix(rnorm(n * p), n)) and fa(., 1)$values, as fa.parallel's sim
    # branch; here 1000 draws of ours.  Different random numbers: Monte Carlo tolerances
    # (about 5 standard errors of the difference for the first eigenvalues).
    ref = _ref()["kind1"][case]["parallel"]
    t = _parallel_1000(case).eigenvalues
    for ours, theirs, tol in [("pc_sim_mean", "sim_pc_mean", 0.08), ("fa_sim_mean", "sim_fa_mean", 0.08),
                              ("pc_sim_q", "sim_pc_q", 0.15), ("fa_sim_q", "sim_fa_q", 0.15)]:
        np.testing.assert_allclose(t[ours], ref[theirs], atol=tol, err_msg=ours)


def test_wishart_sampler_draws_data_when_n_not_above_p():
    rng = np.random.default_rng(3)
    mats = wishart_correlations(20, 6, 10, rng)
    assert mats.shape == (20, 10, 10)
    np.testing.assert_allclose(np.einsum("bii->bi", mats), 1.0)
    ranks = np.linalg.matrix_rank(mats, hermitian=True)
    assert (ranks == 5).all()  # rank n - 1, as cor() of 6 rows


@pytest.mark.parametrize("case", KIND1)
@pytest.mark.parametrize("method", ["minres", "pa"])
def test_efa_minres_and_pa_with_n_not_above_p_match_psych(case, method):
    ref = _ref()["kind1"][case]["fa_" + method]
    fit = _quiet(factor.efa, _data(case), 1, method=method, rotation=None)
    np.testing.assert_allclose(fit.loadings.iloc[:, 0], ref["loadings"], atol=1e-4)
    np.testing.assert_allclose(fit.communalities, ref["communality"], atol=1e-4)


@pytest.mark.parametrize("case", KIND1)
def test_alpha_with_n_not_above_p_matches_psych(case):
    # G6 and r.cor use smc(), hence psych's pseudo-inverse of the singular correlation matrix
    ref = _ref()["kind1"][case]["alpha"]
    res = _quiet(rel.cronbach_alpha, _data(case))
    for r_name, attr in [("raw_alpha", "alpha"), ("std.alpha", "std_alpha"), ("G6(smc)", "g6"),
                         ("average_r", "average_r"), ("ase", "ase")]:
        assert getattr(res, attr) == pytest.approx(ref["total"][r_name], abs=1e-8), r_name
    st = res.item_stats
    np.testing.assert_allclose(st["r_drop"], ref["r_drop"], atol=1e-8)
    np.testing.assert_allclose(st["r_cor"], ref["r_cor"], atol=1e-8)
    np.testing.assert_allclose(st["alpha_if_deleted"], ref["alpha_drop"], atol=1e-8)
    np.testing.assert_allclose(st["g6_if_deleted"], ref["g6_drop"], atol=1e-8)


@pytest.mark.parametrize("case", KIND1)
def test_omega_with_n_not_above_p_matches_psych(case):
    res = _quiet(rel.omega_total, _data(case))
    assert res.omega_total == pytest.approx(_ref()["kind1"][case]["omega_tot"], abs=1e-5)


def test_smc_of_a_singular_matrix_uses_psychs_pseudo_inverse():
    x = _data("n_lt_p").to_numpy()
    r = np.corrcoef(x, rowvar=False)
    sv_u, sv_s, sv_vt = np.linalg.svd(r)
    keep = sv_s > np.sqrt(np.finfo(float).eps) * sv_s[0]
    pinv = (sv_vt[keep].T / sv_s[keep]) @ sv_u[:, keep].T  # psych::Pinv, written out
    np.testing.assert_allclose(smc(r), np.clip(1 - 1 / np.diag(pinv), 0, 1), atol=1e-10)


@pytest.mark.parametrize("case", KIND1)
@pytest.mark.parametrize("routine", ["kmo", "bartlett", "ml"])
def test_inverting_routines_refuse_n_not_above_p(case, routine):
    # R: KMO falls back silently, cortest.bartlett gives NaN ("NaNs produced"), fa(fm = "ml")
    # stops with "L-BFGS-B needs finite values of 'fn'"; here one clear ModelError
    ref = _ref()["kind1"][case]
    assert ref["bartlett"]["chisq"] is None and "NaNs produced" in ref["bartlett"]["warnings"]
    assert "finite values" in ref["fa_ml"]["error"]
    x = _data(case)
    call = {"kmo": factor.kmo, "bartlett": factor.bartlett,
            "ml": lambda d: factor.efa(d, 1, method="ml")}[routine]
    with pytest.raises(ModelError, match=rf"n = {ref['n']} respondents, p = {ref['p']} items "
                                         r"\(n must exceed p"):
        call(x)


# ============================================================ kind 2: no variance in an overlap

def test_pairwise_correlations_are_nan_where_r_gives_na_and_equal_elsewhere():
    for case in ["overlap", "single_overlap", "three_answers"]:
        ref = _ref()["kind2"][case]
        x = _data(case)
        _, r, _ = pairwise_moments(x.to_numpy(dtype=float))
        theirs = _na(ref["cor"]["values"])
        assert not np.isinf(r).any(), case
        np.testing.assert_array_equal(np.isnan(r), np.isnan(theirs), err_msg=case)
        ok = ~np.isnan(theirs)
        np.testing.assert_allclose(r[ok], theirs[ok], atol=1e-12, err_msg=case)


def test_r_warns_standard_deviation_is_zero_for_the_issue_example():
    ref = _ref()["kind2"]["overlap"]
    assert "the standard deviation is zero" in ref["cor_warnings"]
    assert ref["na_pairs"] == [{"a": "q1", "b": "q5", "shared": 34}]


ROUTINES = {
    "correlation": factor.correlation,
    "alpha": rel.cronbach_alpha,
    "omega": rel.omega_total,
    "kmo": factor.kmo,
    "bartlett": factor.bartlett,
    "efa_minres": lambda d: factor.efa(d, 1),
    "efa_pa": lambda d: factor.efa(d, 1, method="pa"),
    "efa_ml": lambda d: factor.efa(d, 1, method="ml"),
    "parallel": lambda d: factor.parallel_analysis(d, n_iter=5, seed=1, show_progress=False),
    "harman": factor.harman_test,
}


@pytest.mark.parametrize("case, reason", [
    ("overlap", "no variance within their {k} shared answers"),
    ("single_overlap", "never answered together"),
])
@pytest.mark.parametrize("routine", sorted(ROUTINES))
def test_undefined_pair_is_a_model_error_naming_the_pair_and_shared_answers(case, reason, routine):
    # R: cor() gives NA; psych::fa, omega and alpha stop with "Please drop those variables"
    ref = _ref()["kind2"][case]
    assert "Please drop those variables" in ref["fa_error"]
    assert "Please drop those variables" in ref["omega_error"]
    assert "Please drop those variables" in ref["alpha"]["error"]
    (pair,) = ref["na_pairs"]
    with pytest.raises(ModelError) as err:
        ROUTINES[routine](_data(case))
    msg = str(err.value)
    assert f"{pair['a']} & {pair['b']}" in msg
    assert reason.format(k=pair["shared"]) in msg
    assert "inf" not in msg.replace("infinite", "")


def test_one_shared_answer_is_named_as_such():
    x = pd.DataFrame({"a": [1.0, 2, 3, 4, np.nan, np.nan], "b": [np.nan] * 3 + [2.0, 5, 1],
                      "c": [1.0, 3, 2, 5, 4, 2]})
    with pytest.raises(ModelError, match=r"a & b \(only 1 shared answer\)"):
        factor.correlation(x)


def test_parallel_analysis_resamples_an_item_with_three_answers_as_psych():
    # the issue: resampling an item with 3 answers made a pair's correlation -inf, which the
    # NaN check let through; psych redraws such resamples.  Counts and observed eigenvalues
    # (pairwise matrix, indefinite: psych reports the negative eigenvalue too) as psych.
    ref = _ref()["kind2"]["three_answers"]["parallel"]
    res = _quiet(factor.parallel_analysis, _data("three_answers"), n_iter=100, seed=2,
                 show_progress=False)
    assert (res.n_factors, res.n_components) == (ref["nfact"], ref["ncomp"])
    np.testing.assert_allclose(res.eigenvalues["pc_observed"], ref["pc_values"], atol=1e-10)
    np.testing.assert_allclose(res.eigenvalues["fa_observed"], ref["fa_values"], atol=1e-5)
    assert np.isfinite(res.eigenvalues.to_numpy()).all()


def test_resampled_correlations_are_never_infinite():
    x = _data("three_answers").to_numpy(dtype=float)
    mats = resampled_correlations(x, 300, np.random.default_rng(0))
    assert np.isfinite(mats).all()
    assert (np.abs(mats) <= 1 + 1e-12).all()


def test_resampling_that_can_never_succeed_is_a_model_error():
    # constructed: items a and b are answered only in rows 0 and 1 of 400; columns are resampled
    # independently, so a resample almost never puts 2 answers of a beside answers of b
    rng = np.random.default_rng(5)
    x = pd.DataFrame({"a": np.nan, "b": np.nan, "c": rng.normal(size=400)})
    x.loc[[0, 1], "a"] = [1.0, 5.0]
    x.loc[[0, 1], "b"] = [2.0, 3.0]
    with pytest.raises(ModelError, match="drop it"):
        factor.parallel_analysis(x, n_iter=2, seed=1, show_progress=False)


def test_indefinite_pairwise_matrix_is_not_called_collinear():
    # three_answers: the pairwise matrix has eigenvalue -0.34; KMO must not blame a linear
    # combination (R's KMO gives "NaNs produced")
    assert "NaNs produced" in _ref()["kind2"]["three_answers"]["kmo_warnings"]
    for call in (factor.kmo, factor.bartlett, lambda d: factor.efa(d, 1, method="ml")):
        with pytest.raises(ModelError, match=r"not positive definite \(smallest eigenvalue "
                                             r"-0\.341\).*q1") as err:
            call(_data("three_answers"))
        assert "linear combination" not in str(err.value)


# ============================================================ kind 3: undefined bootstrap draws

KIND3 = ["yes_no_7", "yes_no_10", "pairwise_missing", "mostly_constant"]


def _indices(case: str) -> np.ndarray:
    return np.loadtxt(FIX / f"boot_{case}_idx.csv", delimiter=",", dtype=np.int64) - 1


@pytest.mark.parametrize("case", KIND3)
def test_every_bootstrap_draw_equals_r_on_rs_resamples(case):
    # R's resample indices are exported; each draw's alpha must equal R's, and be NaN exactly
    # where R's is NA (zero total variance, or a pair with fewer than 2 shared answers)
    ref = _ref()["kind3"][case]
    x = _data(case).to_numpy(dtype=float)
    ours = rel._bootstrap_alpha(x, ref["B"], None, False, indices=_indices(case))
    theirs = np.array([np.nan if v is None else v for v in ref["draws"]])
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    assert np.isnan(ours).sum() == ref["n_undefined"] > 0
    ok = ~np.isnan(theirs)
    np.testing.assert_allclose(ours[ok], theirs[ok], atol=1e-10)
    if not _data(case).isna().any().any():
        # alpha above 1 is impossible from a complete-data covariance matrix (a pairwise one
        # need not be positive semi-definite: R gives the same values above 1 there)
        assert (ours[ok] <= 1 + 1e-12).all()


def _with_r_draws(monkeypatch, case):
    orig = rel._bootstrap_alpha
    idx = _indices(case)
    monkeypatch.setattr(rel, "_bootstrap_alpha",
                        lambda x, b, seed, show: orig(x, b, seed, show, indices=idx))


@pytest.mark.parametrize("case", ["yes_no_7", "yes_no_10"])
def test_bootstrap_interval_over_the_defined_draws_equals_r(monkeypatch, case):
    ref = _ref()["kind3"][case]
    _with_r_draws(monkeypatch, case)
    with pytest.warns(UndefinedDrawsWarning, match=rf"undefined in {ref['n_undefined']} of 2000"):
        res = _quiet_user(rel.cronbach_alpha, _data(case), bootstrap=ref["B"])
    assert res.boot_undefined == ref["n_undefined"]
    assert len(res.boot) == ref["B"] - ref["n_undefined"]
    assert res.boot_ci == pytest.approx((ref["ci"][0], ref["ci"][2]), abs=1e-12)
    assert res.boot_median == pytest.approx(ref["ci"][1], abs=1e-12)
    assert res.alpha == pytest.approx(ref["alpha"], abs=1e-12)
    assert f"{ref['n_undefined']} undefined draws dropped" in res.summary()


def _quiet_user(fn, *args, **kwargs):
    """Silence the reverse-keying UserWarning only (UndefinedDrawsWarning still reaches
    pytest.warns)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="items .* negatively correlated")
        return fn(*args, **kwargs)


@pytest.mark.parametrize("case", ["pairwise_missing", "mostly_constant"])
def test_too_many_undefined_draws_is_a_model_error(monkeypatch, case):
    ref = _ref()["kind3"][case]
    assert ref["n_undefined"] / ref["B"] > 0.10
    _with_r_draws(monkeypatch, case)
    with pytest.raises(ModelError, match=rf"undefined in {ref['n_undefined']} of 2000 bootstrap"):
        _quiet(rel.cronbach_alpha, _data(case), bootstrap=ref["B"])


def test_tolerated_share_is_the_callers_choice(monkeypatch):
    ref = _ref()["kind3"]["pairwise_missing"]
    _with_r_draws(monkeypatch, "pairwise_missing")
    with pytest.warns(UndefinedDrawsWarning):
        res = _quiet_user(rel.cronbach_alpha, _data("pairwise_missing"), bootstrap=ref["B"],
                          max_undefined_share=0.5)
    assert res.boot_undefined == ref["n_undefined"]
    assert res.boot_ci == pytest.approx((ref["ci"][0], ref["ci"][2]), abs=1e-12)


def test_seeded_bootstrap_drops_undefined_draws_and_never_exceeds_one():
    x = _data("yes_no_7")
    with pytest.warns(UndefinedDrawsWarning):
        res = _quiet_user(rel.cronbach_alpha, x, bootstrap=2000, seed=3)
    draws = rel._bootstrap_alpha(x.to_numpy(dtype=float), 2000, 3, False)
    assert res.boot_undefined == int(np.isnan(draws).sum()) > 0
    np.testing.assert_array_equal(res.boot, draws[~np.isnan(draws)])
    assert res.boot.max() <= 1 + 1e-12


def test_bootstrap_without_undefined_draws_does_not_warn():
    rng = np.random.default_rng(2)
    f = rng.normal(size=200)
    x = pd.DataFrame({f"v{i}": f + rng.normal(size=200) for i in range(4)})
    with warnings.catch_warnings():
        warnings.simplefilter("error", UndefinedDrawsWarning)
        res = rel.cronbach_alpha(x, bootstrap=200, seed=1)
    assert res.boot_undefined == 0 and len(res.boot) == 200


def test_finite_draws_counts_warns_and_refuses():
    d = np.r_[np.linspace(0, 1, 95), [np.nan, np.inf, -np.inf, np.nan, np.nan]]
    with pytest.warns(UndefinedDrawsWarning, match=r"my stat is undefined in 5 of 100"):
        kept, n = finite_draws(d, statistic="my stat")
    assert n == 5
    np.testing.assert_array_equal(kept, np.linspace(0, 1, 95))
    two = np.column_stack([np.arange(20.0), np.arange(20.0)])
    two[3, 1] = np.nan
    with pytest.warns(UndefinedDrawsWarning):
        kept2, n2 = finite_draws(two, statistic="ab")
    assert n2 == 1 and kept2.shape == (19, 2)
    with pytest.raises(ModelError, match=r"undefined in 5 of 20 .*25\.0%"):
        finite_draws(np.r_[np.ones(15), [np.nan] * 5], statistic="s")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept3, n3 = finite_draws(np.ones(10), statistic="s")
    assert n3 == 0 and kept3.shape == (10,)


@pytest.mark.parametrize("bad, kwargs, msg", [
    (np.array([]), {}, "non-empty"),
    (np.ones((2, 2, 2)), {}, "shape"),
    (np.ones(5), {"max_undefined_share": 1.0}, "max_undefined_share"),
    (np.ones(5), {"max_undefined_share": -0.1}, "max_undefined_share"),
])
def test_finite_draws_bad_arguments(bad, kwargs, msg):
    with pytest.raises(ModelError, match=msg):
        finite_draws(bad, statistic="s", **kwargs)


# ============================================================ kind 7: collinear items in ML

@pytest.mark.parametrize("case, group", [("duplicated", "{x1, x7}"),
                                         ("combination", "{x1, x2, x7}")])
def test_ml_on_collinear_items_is_a_model_error_naming_them(case, group):
    ref = _ref()["kind7"][case]
    assert ref["min_eigen"] < 1e-12 * ref["max_eigen"]
    assert "finite values" in ref["ml"]["error"]  # psych's fa(fm = "ml") stops inside optim
    with pytest.raises(ModelError, match="singular") as err:
        factor.efa(_data(case), 2, method="ml")
    assert group in str(err.value)
    for call in (factor.kmo, factor.bartlett):
        with pytest.raises(ModelError, match="singular") as err:
            call(_data(case))
        assert group in str(err.value)


@pytest.mark.parametrize("case", ["duplicated", "combination", "near"])
@pytest.mark.parametrize("method", ["minres", "pa"])
def test_minres_and_pa_on_collinear_items_match_psych(case, method):
    ref = _ref()["kind7"][case][method]
    fit = _quiet(factor.efa, _data(case), 2, method=method, rotation=None)
    theirs = np.array(ref["loadings"]["values"])
    # 1e-4 (house EFA tolerance 2e-3): the combination case is a Heywood solution on the
    # optimiser's bound, where L-BFGS-B endpoints differ by ~4e-5; the others agree to 1e-12
    np.testing.assert_allclose(fit.loadings.to_numpy(), theirs, atol=1e-4)
    np.testing.assert_allclose(fit.communalities, ref["communality"], atol=1e-4)


def test_ml_on_nearly_collinear_but_positive_definite_items_matches_psych_and_flags_heywood():
    ref = _ref()["kind7"]["near"]
    assert ref["min_eigen"] > 1e-4 and ref["ml"]["error"] is None
    with pytest.warns(UserWarning, match="Heywood"):
        fit = factor.efa(_data("near"), 2, method="ml", rotation=None)
    np.testing.assert_allclose(fit.loadings.to_numpy(), np.array(ref["ml"]["loadings"]["values"]),
                               atol=1e-4)
    np.testing.assert_allclose(fit.communalities, ref["ml"]["communality"], atol=1e-4)
    assert {"x1", "x7"} <= set(fit.heywood)  # psych: communalities .997 for both


def test_collinear_items_finds_each_dependency():
    rng = np.random.default_rng(9)
    z = rng.normal(size=(200, 5))
    x = np.column_stack([z, z[:, 0] - z[:, 1], 2 * z[:, 4]])
    names = ["a", "b", "c", "d", "e", "ab", "e2"]
    groups = collinear_items(np.corrcoef(x, rowvar=False), names)
    assert sorted(map(sorted, groups)) == [["a", "ab", "b"], ["e", "e2"]]
    assert collinear_items(np.corrcoef(z, rowvar=False), names[:5]) is None


# ============================================================ no statistic is ever +-inf

def test_items_that_cancel_out_give_an_error_not_minus_infinity():
    # constructed: b = 5 - a, so the total score is constant; psych: raw alpha -Inf
    ref = _ref()["cancel"]
    assert ref["two_raw_alpha"] == "-Inf"
    x = _data("cancel")
    with pytest.raises(ModelError, match="total score has no variance"):
        _quiet(rel.cronbach_alpha, x[["a", "b"]])
    # three items: alpha is defined (-15 in psych); alpha without c is psych's -Inf -> NaN here
    res = _quiet(rel.cronbach_alpha, x)
    assert res.alpha == pytest.approx(ref["three_raw_alpha"], abs=1e-10)
    drop = res.item_stats["alpha_if_deleted"].to_numpy()
    assert ref["three_alpha_drop"] == ["-1", "0.5", "-Inf"]
    np.testing.assert_allclose(drop[:2], [-1.0, 0.5], atol=1e-12)
    assert np.isnan(drop[2])
    assert not np.isinf(res.item_stats.select_dtypes("number").to_numpy()).any()


def test_efa_warns_when_respondents_do_not_exceed_items():
    with pytest.warns(UserWarning, match=r"fewer respondents \(6\) than items \(10\)"):
        fit = factor.efa(_data("n_lt_p"), 1, method="minres", rotation=None)
    assert any("rank at most 5" in n for n in fit.notes)
