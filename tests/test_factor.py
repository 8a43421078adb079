"""hlstudy.factor against psych 2.2.9 + GPArotation (fixtures: tests/fixtures/psych)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import psych_fixtures as fx
import pytest
from pagefit import page_faults

from hlstudy import factor
from hlstudy.errors import ModelError

FA_CASES = sorted(fx.reference()["fa"])


def _items(dataset: str) -> pd.DataFrame:
    return fx.bfi_items() if dataset == "bfi" else fx.hs_items()


# ---------------------------------------------------------------- KMO / Bartlett

@pytest.mark.parametrize("dataset", ["bfi", "hs"])
def test_kmo_matches_psych(dataset):
    ref = fx.reference()["kmo"][dataset]
    res = factor.kmo(_items(dataset))
    assert res.overall == pytest.approx(ref["msa"], abs=1e-6)
    ref_items = fx.series(ref["msai"])
    assert list(res.per_item.index) == list(ref_items.index)
    np.testing.assert_allclose(res.per_item.to_numpy(), ref_items.to_numpy(), atol=1e-6, rtol=0)


@pytest.mark.parametrize("dataset", ["bfi", "hs"])
def test_bartlett_matches_psych(dataset):
    ref = fx.reference()["kmo"][dataset]
    res = factor.bartlett(_items(dataset))
    assert abs(res.statistic - ref["chisq"]) <= 1e-6  # absolute, as the issue states
    assert res.df == ref["df"]
    assert res.p_value == pytest.approx(ref["p_value"], abs=1e-6)
    assert res.n_obs == len(_items(dataset))


def test_kmo_labels_and_flags():
    res = factor.kmo(fx.bfi_items())
    assert res.label == "meritorious"  # psych: overall MSA = 0.85
    assert res.flagged(0.5) == []
    assert "KMO overall" in repr(res)
    assert res.label_text("en") == "meritorious"
    assert res.label_text("vi") == "tốt (meritorious)"   # Kaiser's word beside its translation
    assert set(factor.KAISER_LABELS_VI) == {factor._kaiser_label(x) for x in
                                            (0.95, 0.85, 0.75, 0.65, 0.55, 0.3)}
    with pytest.raises(ModelError):
        res.label_text("fr")


def test_kmo_singular_matrix_is_a_model_error():
    x = fx.hs_items()[["x1", "x2", "x3"]].copy()
    x["dup"] = x["x1"] + x["x2"]
    with pytest.raises(ModelError, match="singular"):
        factor.kmo(x)


# ---------------------------------------------------------------- EFA

def _match(ours: np.ndarray, ref: np.ndarray):
    """Best column permutation and signs of ``ours`` onto ``ref``."""
    best = None
    for perm in itertools.permutations(range(ref.shape[1])):
        cand = ours[:, perm]
        signs = np.where(np.sum(cand * ref, axis=0) < 0, -1.0, 1.0)
        diff = np.max(np.abs(cand * signs - ref))
        if best is None or diff < best[0]:
            best = (diff, list(perm), signs)
    return best


def _fit(case: str):
    parts = case.split("_")
    dataset, method, rot = parts[0], parts[1], parts[2]
    n_factors = 1 if len(parts) == 4 else (5 if dataset == "bfi" else 3)
    return factor.efa(_items(dataset), n_factors, method=method,
                      rotation=None if rot == "none" else rot)


@pytest.mark.parametrize("case", FA_CASES)
def test_efa_matches_psych_fa(case):
    ref = fx.reference()["fa"][case]
    res = _fit(case)
    ref_load = fx.matrix(ref["loadings"])
    assert list(res.loadings.index) == list(ref_load.index)
    diff, perm, signs = _match(res.loadings.to_numpy(), ref_load.to_numpy())
    assert diff < 2e-3, f"{case}: loadings differ by {diff:.2e}"
    # psych's own ordering (variance accounted for) and signs are reproduced as well
    assert perm == list(range(ref_load.shape[1])) and (signs > 0).all()
    h2 = fx.series(ref["communality"])
    np.testing.assert_allclose(res.communalities[h2.index], h2, atol=2e-3, rtol=0)
    u2 = fx.series(ref["uniquenesses"])
    np.testing.assert_allclose(res.uniquenesses[u2.index], u2, atol=2e-3, rtol=0)
    if "phi" in ref:
        phi = fx.matrix(ref["phi"]).to_numpy()
        assert res.phi is not None
        np.testing.assert_allclose(res.phi.to_numpy(), phi, atol=2e-3, rtol=0)
    else:
        assert res.phi is None
    vacc = fx.matrix(ref["vaccounted"])
    np.testing.assert_allclose(res.variance.loc[vacc.index].to_numpy(), vacc.to_numpy(),
                               atol=2e-3, rtol=0)
    np.testing.assert_allclose(res.eigenvalues.to_numpy(), ref["e_values"], atol=1e-8)
    np.testing.assert_allclose(res.reduced_eigenvalues.to_numpy(), ref["values"], atol=2e-3)
    assert res.converged


def test_efa_summary_prints_thesis_table():
    res = factor.efa(fx.hs_items(), 3, method="ml", rotation="promax")
    table = res.table()
    # grouped by main factor, sorted by loading size within the group
    main = res.loadings.abs().idxmax(axis=1)[table.index]
    assert list(main) == sorted(main, key=list(res.loadings.columns).index)
    for f in res.loadings.columns:
        block = res.loadings.loc[main[main == f].index, f].abs()
        assert list(block) == sorted(block, reverse=True)
    # small loadings are blank, the others printed with two decimals
    for item in table.index:
        for f in res.loadings.columns:
            v = res.loadings.loc[item, f]
            assert table.loc[item, f] == ("" if abs(v) < 0.30 else f"{v:.2f}")
    # x9 loads on two factors in this data set: flagged as a cross-loading
    assert "*" in table.loc["x9", "note"]
    assert "cross-loading" in set(res.flags.loc[res.flags["item"] == "x9", "issue"])
    text = res.summary()
    assert "Factor correlations" in text and "x9: cross-loading" in text


def test_low_loading_is_flagged_with_reason():
    x = fx.hs_items().copy()
    x["noise"] = np.random.default_rng(1).normal(size=len(x))
    res = factor.efa(x, 3, rotation="oblimin")
    row = res.flags[(res.flags["item"] == "noise") & (res.flags["issue"] == "low loading")]
    assert len(row) == 1 and "below 0.50" in row["reason"].iloc[0]
    assert "!" in res.table().loc["noise", "note"]


def _data_with_correlation(r: np.ndarray, n: int = 500, seed: int = 0) -> pd.DataFrame:
    z = np.random.default_rng(seed).normal(size=(n, r.shape[0]))
    z = (z - z.mean(axis=0)) @ np.linalg.inv(np.linalg.cholesky(np.cov(z, rowvar=False))).T
    return pd.DataFrame(z @ np.linalg.cholesky(r).T, columns=[f"v{i}" for i in range(r.shape[0])])


def test_heywood_case_is_reported_loudly():
    # one factor, r12 = r13 = .8, r23 = .45  ->  lambda1^2 = .64 / .45 > 1
    r = np.array([[1, .8, .8, .3], [.8, 1, .45, .25], [.8, .45, 1, .25], [.3, .25, .25, 1]])
    x = _data_with_correlation(r)
    with pytest.warns(UserWarning, match="Heywood"):
        res = factor.efa(x, 1, method="minres", rotation=None)
    assert res.heywood == ("v0",)
    assert "Heywood case" in set(res.flags["issue"])


def test_extraction_non_convergence_is_reported_loudly(monkeypatch):
    from hlstudy import _psychometrics

    real = _psychometrics.fit_optim

    def stopped_early(r, nf, method):
        ext = real(r, nf, method)
        ext.converged, ext.message = False, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
        return ext

    monkeypatch.setattr(factor, "fit_optim", stopped_early)
    with pytest.warns(UserWarning, match="did NOT converge"):
        res = factor.efa(fx.hs_items(), 3, method="ml", rotation="varimax")
    assert not res.converged
    assert "NOT CONVERGED" in res.summary() and "ITERATIONS REACHED LIMIT" in res.summary()


def test_item_distribution_flags_give_reasons():
    rng = np.random.default_rng(3)
    x = pd.DataFrame({"ok": rng.binomial(4, 0.5, 400) + 1.0,
                      "floor": np.where(rng.random(400) < 0.6, 1.0, rng.integers(1, 6, 400)),
                      "skewed": np.where(rng.random(400) < 0.97, 5.0, 1.0)})
    out = factor.item_distributions(x, scale_min=1, scale_max=5)
    assert out.loc["ok", "flag"] == ""
    assert out.loc["floor", "flag"].startswith("floor")
    assert "|skew|" in out.loc["skewed", "flag"] and "ceiling" in out.loc["skewed", "flag"]
    quiet = factor.item_distributions(x, scale_min=1, scale_max=5, floor_ceiling=None)
    assert quiet.loc["floor", "flag"] == "" and quiet.loc["floor", "floor"] > 0.6
    assert quiet.loc["skewed", "flag"].startswith("|skew|")


def test_rotation_non_convergence_is_reported():
    lam = factor.efa(fx.bfi_items(), 5, rotation=None).loadings.to_numpy()
    *_, converged = factor.oblimin(lam, max_iter=2)
    assert not converged
    *_, converged = factor.oblimin(lam)
    assert converged


@pytest.mark.parametrize("kwargs, msg", [
    ({"n_factors": 9}, "cannot be extracted"),
    ({"n_factors": 0}, "positive integer"),
    ({"n_factors": 2, "method": "wls"}, "method"),
    ({"n_factors": 2, "rotation": "quartimax"}, "rotation"),
])
def test_efa_bad_arguments(kwargs, msg):
    with pytest.raises(ModelError, match=msg):
        factor.efa(fx.hs_items(), **kwargs)


# ---------------------------------------------------------------- parallel analysis

@pytest.mark.parametrize("dataset", ["bfi", "hs"])
def test_parallel_analysis_matches_fa_parallel(dataset):
    ref = fx.reference()["parallel"][dataset]
    res = factor.parallel_analysis(_items(dataset), n_iter=100, seed=2026)
    assert (res.n_factors, res.n_components) == (ref["nfact"], ref["ncomp"])
    t = res.eigenvalues
    np.testing.assert_allclose(t["pc_observed"], ref["pc_values"], atol=1e-6)
    np.testing.assert_allclose(t["fa_observed"], ref["fa_values"], atol=1e-6)
    # simulated means are random: psych's and ours agree to sampling error
    np.testing.assert_allclose(t["pc_sim_mean"], ref["pc_sim"], atol=0.02)
    np.testing.assert_allclose(t["pc_resample_mean"], ref["pc_simr"], atol=0.02)
    np.testing.assert_allclose(t["fa_resample_mean"][1:], ref["fa_simr"][1:], atol=0.02)
    assert (t["pc_sim_q"] >= t["pc_sim_mean"]).all()


def test_parallel_analysis_is_seeded():
    x = fx.hs_items()
    a = factor.parallel_analysis(x, n_iter=20, seed=4)
    b = factor.parallel_analysis(x, n_iter=20, seed=4)
    pd.testing.assert_frame_equal(a.eigenvalues, b.eigenvalues)
    assert a.n_kaiser == int((a.eigenvalues["pc_observed"] > 1).sum())
    with pytest.raises(ModelError, match="n_iter"):
        factor.parallel_analysis(x, n_iter=1)


def test_scree_figure_draws_both_rules():
    import matplotlib.pyplot as plt

    res = factor.parallel_analysis(fx.hs_items(), n_iter=10, seed=1)
    fig = factor.scree_figure(res)
    ax = fig.axes[0]
    assert len(ax.lines) == 5  # 2 observed, 2 simulated, eigenvalue-1 line
    # it fits the thesis page at its natural size (tests/pagefit.py; it was 17 cm wide)
    fig.draw_without_rendering()
    assert page_faults(fig) == []
    plt.close(fig)


# ---------------------------------------------------------------- checks

def test_item_distributions_match_psych_describe():
    ref = fx.reference()["distributions"]["describe"]
    out = factor.item_distributions(fx.bfi_items())
    assert list(out.index) == ref["items"]
    np.testing.assert_allclose(out["n"], ref["n"])
    for col in ("mean", "sd", "skew", "kurtosis"):
        np.testing.assert_allclose(out[col], ref[col], atol=1e-8, rtol=0, err_msg=col)
    x = fx.bfi_items()
    share = (x["A2"] == 6).sum() / x["A2"].notna().sum()
    assert out.loc["A2", "ceiling"] == pytest.approx(share)
    assert "ceiling" in out.loc["A2", "flag"]


@pytest.mark.parametrize("key, cols", [("mardia_hs", None), ("mardia_bfi10", 10)])
def test_mardia_matches_psych(key, cols):
    ref = fx.reference()["distributions"][key]
    x = fx.hs_items() if cols is None else fx.bfi_items().iloc[:, :cols]
    res = factor.mardia(x)
    assert (res.n_obs, res.n_var) == (ref["n_obs"], ref["n_var"])
    for name in ("b1p", "b2p", "skew", "small_skew", "kurtosis"):
        assert getattr(res, name) == pytest.approx(ref[name], rel=1e-10), name
    for name in ("p_skew", "p_small", "p_kurt"):
        assert getattr(res, name) == pytest.approx(ref[name], abs=1e-8), name
    # the summary prints p as every table does (export.p_text), not with significant digits
    from hlstudy.export import p_text

    text = res.summary()
    assert f"p {p_text(res.p_skew, lang='en')}; kurtosis" in text
    assert f"p {p_text(res.p_kurt, lang='en')}" in text


def test_harman_matches_r():
    ref = fx.reference()["harman"]
    res = factor.harman_test(fx.bfi_items())
    assert res.pc_share == pytest.approx(ref["bfi_pc_share"], abs=1e-6)
    assert res.fa_share == pytest.approx(ref["bfi_fa_share"], abs=1e-6)
    assert not res.flagged and "below 50%" in res.summary()
    with pytest.raises(ModelError, match="threshold"):
        factor.harman_test(fx.bfi_items(), threshold=50)


def test_cfa_names_are_reexported():
    from hlstudy import cfa as cfa_module

    assert factor.cfa is cfa_module.cfa
    assert factor.htmt is cfa_module.htmt
    with pytest.raises(AttributeError):
        factor.not_a_function  # noqa: B018
