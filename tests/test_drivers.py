"""hlstudy.drivers: the research model built from the instrument files, the commune link."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy import drivers
from hlstudy.errors import ModelError

FIX = Path(__file__).parent / "fixtures" / "drivers"


@pytest.fixture(scope="module")
def study():
    import hlstudy

    return hlstudy.load_study()


def test_structure_follows_constructs_roles():
    s = drivers.structure()
    roles = drivers.constructs_by_role()
    assert s["MOT"] == roles["factor"]
    for q in roles["quality"]:
        assert s[q] == roles["factor"] + roles["mediator"] + list(drivers.COVARIATES)
    # intention to stay: only the hypothesised causes (T6, S3), in file order
    assert s["STAY"] == ["COMP", "ENV", "MOT"]


def test_indirect_effects_are_the_hypothesised_mediations():
    s = drivers.structure()
    d = drivers.indirect_effects(s)
    assert drivers.hypothesized_causes("MOT") == ["COMP", "ENV", "REC"]
    assert d["ind_COMP_MOT_PRO"] == "b_COMP_MOT*b_MOT_PRO"
    assert d["tot_ENV_RSP"] == "b_ENV_RSP + b_ENV_MOT*b_MOT_RSP"
    assert "ind_COMP_MOT_STAY" in d and "tot_REC_STAY" not in d   # REC has no direct STAY path
    assert not any("TRAIN" in k for k in d)
    assert len(d) == 3 * 5 + 3 * 4 + 2   # 15 indirect, 12 quality totals, COMP/ENV → STAY


def test_lavaan_syntax_latent_and_observed():
    s = {"Y": ["X1", "X2"], "M": ["X1"]}
    text = drivers.lavaan_syntax(s, items={"X1": ["a", "b"], "Y": ["c", "d"], "Z": ["e"]},
                                 defined={"ind": "b_X1_M*b_M_Y"}, correlated_residuals=[("Y", "M")])
    lines = text.splitlines()
    assert lines[0] == "X1 =~ a + b" and lines[1] == "Y =~ c + d"
    assert "Z =~ e" not in text   # a construct the structure does not use is left out
    assert "Y ~ b_X1_Y*X1 + b_X2_Y*X2" in lines and "M ~ b_X1_M*X1" in lines
    assert lines[-2:] == ["Y ~~ M", "ind := b_X1_M*b_M_Y"]


def test_regression_formula_and_unknown_outcome():
    assert drivers.regression_formula("Y", {"Y": ["A", "B"]}) == "Y ~ A + B"
    with pytest.raises(ModelError, match="not explained"):
        drivers.regression_formula("Q", {"Y": ["A"]})


def test_education_rank_and_unknown_level():
    r = drivers.education_rank(pd.Series(["none", "university", None, "doctorate"]))
    assert r.iloc[0] == 0 and r.iloc[1] == 4 and np.isnan(r.iloc[2]) and r.iloc[3] == 6
    with pytest.raises(ModelError, match="phd"):
        drivers.education_rank(pd.Series(["phd"]))


def test_driver_data_on_the_demonstration_study(study):
    d = drivers.driver_data(study)
    assert len(d) == len(study.officials)
    assert {"EDU", "TENURE", "TRAINED", "PRO", "MOT"} <= set(d.columns)
    t = pd.to_numeric(study.officials["trainings_24m"], errors="coerce")
    assert (d["TRAINED"].dropna() == (t.dropna() > 0).astype(float).to_numpy()).all()


def test_commune_correlations_match_r_cor_test():
    link = pd.read_csv(FIX / "commune_link.csv", dtype={"commune_code": str})
    link.loc[1, "CSAT"] = np.nan
    ref = pd.read_csv(FIX / "spearman.csv")
    got = drivers.commune_correlations(link, "QUAL", ["SIPAS", "CTRUST", "CSAT"])
    assert got["n"].tolist() == ref["n"].tolist()
    np.testing.assert_allclose(got["rho"], ref["rho"], atol=1e-12)
    np.testing.assert_allclose(got["p"], ref["p"], rtol=1e-8)
    assert (got["ci_low"] < got["rho"]).all() and (got["rho"] < got["ci_high"]).all()


def test_commune_correlations_bad_input():
    link = pd.DataFrame({"QUAL": [1.0, 2, 3], "Y": [1.0, 2, 4]})
    with pytest.raises(ModelError, match="at least 4"):
        drivers.commune_correlations(link, "QUAL", ["Y"])
    with pytest.raises(ModelError, match="'Z'"):
        drivers.commune_correlations(link, "QUAL", ["Z"])


def test_commune_link_needs_citizens(study):
    class OnlyOfficials:
        officials = study.officials
        citizens = None
    with pytest.raises(ModelError, match="not testable"):
        drivers.commune_link(OnlyOfficials())
    link = drivers.commune_link(study)
    assert len(link) == study.officials["commune_code"].nunique()
    assert link["n_officials"].sum() == len(study.officials)


def _link_by_named_aggregation(study, off, group="commune_code"):
    """The commune link as it was built before (one named aggregation per survey), from the
    officials' scores ``off`` (driver_data of the study)."""
    from hlstudy import codebook
    from hlstudy.scales import score_scales

    quality = drivers.constructs_by_role()["quality"]
    roles = codebook.construct_labels("citizens")
    citizen = list(roles.loc[roles["role"] == "citizen", "construct"])
    cs = score_scales(study.citizens, "citizens", keep=[group, "commune"])
    a = off.groupby(group).agg(n_officials=("record_id", "size"),
                               **{q: (q, "mean") for q in quality})
    a["QUAL"] = a[quality].mean(axis=1)
    b = cs.groupby(group).agg(n_citizens=(citizen[0], "size"),
                              **{c: (c, "mean") for c in citizen})
    names = pd.concat([off[[group, "commune"]], cs[[group, "commune"]]]).drop_duplicates(group)
    out = a.join(b, how="outer").reset_index().merge(names, on=group, how="left")
    cols = [group, "commune", "n_officials", "n_citizens", *quality, "QUAL", *citizen]
    return out[cols].sort_values(group, ignore_index=True)


def test_commune_link_equals_the_named_aggregation_and_reuses_given_scores(study):
    """The same frame, bit for bit, as the former named aggregation, on the demonstration
    with a commune missing from each survey and missing scores (NaN means, float counts
    after the outer join); the officials' scores given by the caller (with an extra
    column) change nothing."""
    from types import SimpleNamespace

    from hlstudy import codebook

    off = study.officials.copy()
    off = off[off["commune_code"] != off["commune_code"].iloc[-1]]
    off.loc[off.index[:40], codebook.items("officials", "ETH")] = np.nan  # no ETH score
    cit = study.citizens[study.citizens["commune_code"] != study.citizens["commune_code"].iloc[0]]
    partial = SimpleNamespace(officials=off, citizens=cit)
    scores = drivers.driver_data(partial)
    want = _link_by_named_aggregation(partial, scores)
    assert want.isna().any().any() and want["n_citizens"].dtype == float
    for got in (drivers.commune_link(partial),
                drivers.commune_link(partial, officials=scores.assign(QUAL=0.0))):
        pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_zscore_standardizes_and_refuses_constants():
    d = pd.DataFrame({"a": [1.0, 2, 3, np.nan], "b": [5.0, 5, 5, 5], "c": ["x", "y", "z", "w"]})
    z = drivers.zscore(d, ["a"])
    assert z["a"].mean() == pytest.approx(0) and z["a"].std(ddof=1) == pytest.approx(1)
    assert np.isnan(z["a"].iloc[3]) and (z["c"] == d["c"]).all()
    with pytest.raises(ModelError, match="no variance"):
        drivers.zscore(d, ["b"])
    with pytest.raises(ModelError, match="'q'"):
        drivers.zscore(d, ["q"])


def test_sem_paths_rescales_the_interval():
    pe = pd.DataFrame({"lhs": ["Y", "Y", "X"], "op": ["~", "~", "=~"], "rhs": ["A", "B", "x1"],
                       "est": [2.0, -0.5, 1.0], "se": [0.5, 0.25, 0.1], "std.all": [0.4, -0.2, 0.7],
                       "pvalue": [0.0001, 0.05, 0.0]})
    t = drivers.sem_paths(pe)
    assert t["term"].tolist() == ["A", "B"]
    # β = 0.4, se of β = 0.5 × 0.4/2 = 0.1
    assert t.loc[0, "ci_low"] == pytest.approx(0.4 - 1.959963985 * 0.1)
    assert t.loc[1, "ci_high"] == pytest.approx(-0.2 + 1.959963985 * 0.1)
    with pytest.raises(ModelError, match="lacks columns"):
        drivers.sem_paths(pe.drop(columns="pvalue"))


def test_indirect_bootstrap_equals_ml_path_model_and_is_seeded(study):
    import warnings

    from hlstudy import sem

    st = drivers.structure()
    st.pop("STAY")
    data = drivers.driver_data(study)
    cols = sorted({c for p in st.values() for c in p} | set(st))
    syntax = drivers.lavaan_syntax(st, defined=drivers.indirect_effects(st),
                                   correlated_residuals=drivers.quality_residual_pairs())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sem.sem(data[cols], syntax, missing="listwise")
    pe = fit.parameter_estimates().set_index("lhs")
    # 100 draws (the fewest allowed): the seeding, the point estimates and the intervals
    # around them do not depend on the number of draws
    a = drivers.indirect_bootstrap(data, st, bootstrap=100, seed=3)
    b = drivers.indirect_bootstrap(data, st, bootstrap=100, seed=3)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_allclose(a["est"], pe.loc[a["effect"], "est"].to_numpy(), atol=1e-6)
    assert set(a["kind"]) == {"indirect", "total"}
    assert (a["ci.lower"] < a["est"]).all() and (a["est"] < a["ci.upper"]).all()
    assert a["n"].iloc[0] == len(data[cols].dropna())
    c = drivers.indirect_bootstrap(data, st, bootstrap=100, seed=3, cluster="commune_code")
    np.testing.assert_allclose(c["est"], a["est"])
    assert not np.allclose(c["ci.lower"], a["ci.lower"])


def test_indirect_bootstrap_bad_input(study):
    data = drivers.driver_data(study)
    with pytest.raises(ModelError, match="at least 100"):
        drivers.indirect_bootstrap(data, bootstrap=10)
    with pytest.raises(ModelError, match="not in the data"):
        drivers.indirect_bootstrap(data.drop(columns="MOT"), bootstrap=100)
    with pytest.raises(ModelError, match="no indirect effect"):
        drivers.indirect_bootstrap(data, {"PRO": ["TRAIN"]}, bootstrap=100)
    one = data.assign(commune_code="x")
    with pytest.raises(ModelError, match="at least 2"):
        drivers.indirect_bootstrap(one, bootstrap=100, cluster="commune_code")


def test_merge_small_clusters():
    d = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, np.nan, 7, 8, 9],
                      "commune_code": ["a", "a", "b", "c", "c", "d", "e", "f", "g"],
                      "commune_2025": ["A", "A", "A", "B", "B", "D", "D", "E", "E"]})
    out, merged = drivers.merge_small_clusters(d, ["y"])
    assert merged == ["b", "d", "e", "f", "g"]
    assert out.loc[2, "cluster"] == "a"             # b joins its 2025 sibling a
    # d (no complete row) and e (one) have no large sibling and pool to 1 row: join the
    # largest cluster (a, 3 rows after b joined? sizes are counted before merging: a and c
    # have 2, a wins the tie by its code)
    assert out.loc[6, "cluster"] == "a" and out.loc[5, "cluster"] == "a"
    assert out.loc[7, "cluster"] == out.loc[8, "cluster"] == "2025:E"   # f + g pooled: 2 rows
    assert (d["commune_code"] == out["commune_code"]).all()   # the input column is untouched
    counts = out.loc[out["y"].notna(), "cluster"].value_counts()
    assert counts.min() >= 2
    same, none = drivers.merge_small_clusters(d.iloc[[0, 1, 3, 4]], ["y"])
    assert none == [] and same["cluster"].tolist() == ["a", "a", "c", "c"]
    with pytest.raises(ModelError, match="min_size"):
        drivers.merge_small_clusters(d, ["y"], min_size=1)
    with pytest.raises(ModelError, match="not in the data"):
        drivers.merge_small_clusters(d, ["q"])


def test_merge_small_clusters_always_leaves_clusters_of_min_size():
    rng = np.random.default_rng(5)
    for _ in range(30):
        n = int(rng.integers(6, 40))
        codes = rng.choice([f"c{i}" for i in range(12)], n)
        d = pd.DataFrame({"y": np.where(rng.random(n) < 0.2, np.nan, rng.random(n)),
                          "commune_code": codes,
                          "commune_2025": [f"G{int(c[1:]) % 4}" for c in codes]})
        if d["y"].notna().sum() < 2:
            continue
        out, _ = drivers.merge_small_clusters(d, ["y"])
        counts = out.loc[out["y"].notna(), "cluster"].value_counts()
        assert counts.min() >= 2, counts


def test_condition_below_decides_as_numpy_cond():
    """The bootstrap's test of a draw's design (``cond(X'WX) < 1e12``) from the eigenvalues:
    the same decisions as ``np.linalg.cond`` on cross-products well and badly conditioned,
    singular, and with condition numbers at the limit and around the edges of the band
    where ``cond`` itself decides."""
    rng = np.random.default_rng(11)
    x = rng.normal(size=(300, 40, 8))
    x[100:200, :, -1] = x[100:200, :, 1]                         # collinear: singular
    x[200:, :, -1] = x[200:, :, 1] * (1 + rng.uniform(1e-9, 1e-4, (100, 1)))   # nearly so
    w = rng.integers(0, 3, size=(300, 40)).astype(float)
    a = [np.einsum("bn,bni,bnj->bij", w, x, x)]
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    conds = np.concatenate([1e12 * np.array([0.5, 0.99, 1.0, 1.01, 2.0]),
                            1e12 / 4 * np.array([0.98, 1.0, 1.02]),
                            4e12 * np.array([0.98, 1.0, 1.02]), rng.uniform(1e11, 1e13, 200)])
    eig = np.geomspace(1.0, 1.0 / conds[:, None], 8, axis=-1)[:, 0, :]
    a.append(np.einsum("ij,bj,kj->bik", q, eig, q))
    for m in a:
        want = np.linalg.cond(m) < 1e12
        assert want.any() and not want.all()
        np.testing.assert_array_equal(drivers._condition_below(m, 1e12), want)


def test_standardized_sample_zscores_on_the_complete_rows():
    """The analysis sample of a standardized coefficient: rows complete on the variables and
    the cluster, each variable z-scored on those rows (``lm(scale(y) ~ scale(x))`` on the
    complete cases), not on all its own values (``zscore``), whose moments on the complete
    rows are not 0 and 1."""
    d = pd.DataFrame({"y": [1.0, 2, 4, 3, 9, 5], "x": [2.0, np.nan, 1, 5, 4, 3],
                      "t": [0.0, 1, 1, 0, 1, 0], "g": ["a", "a", "b", None, "b", "a"],
                      "k": [np.nan, 1, 2, 3, 4, 5]})
    z = drivers.standardized_sample(d, ["y", "x", "t"], cluster="g", standardize=["y", "x"],
                                    keep=["k"])
    assert list(z.index) == [0, 2, 4, 5] and list(z.columns) == ["y", "x", "t", "g", "k"]
    for c in ("y", "x"):
        assert z[c].mean() == pytest.approx(0, abs=1e-15)
        assert z[c].std(ddof=1) == pytest.approx(1, abs=1e-15)
    assert (z["t"] == d.loc[z.index, "t"]).all() and np.isnan(z.at[0, "k"])
    old = drivers.zscore(d, ["y", "x"]).loc[z.index]
    assert abs(old["y"].std(ddof=1) - 1) > 0.01   # the other recipe: not the sample's SD
    with pytest.raises(ModelError, match="constant on the complete rows"):
        drivers.standardized_sample(d.assign(t=1.0), ["y", "t"], cluster="g")
    with pytest.raises(ModelError, match="'q'"):
        drivers.standardized_sample(d, ["y", "q"], cluster="g")
    with pytest.raises(ModelError, match="among the variables"):
        drivers.standardized_sample(d, ["y"], cluster="g", standardize=["x"])
    with pytest.raises(ModelError, match="no row is complete"):
        drivers.standardized_sample(d.assign(x=np.nan), ["y", "x"], cluster="g")


def test_regression_sample_merges_single_respondent_communes_on_its_rows():
    d = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6, 7], "x": [1.0, 3, 2, 5, 4, 6, np.nan],
                      "commune_code": ["a", "a", "b", "b", "c", "d", "d"],
                      "commune_2025": ["A", "A", "B", "B", "B", "C", "C"]})
    z, merged = drivers.regression_sample(d, "y", ["x"])
    # d has one complete row (its second is missing x): merged, with c, into their 2025 pools
    assert merged == ["c", "d"] and len(z) == 6
    assert z.loc[4, "cluster"] == "b"
    assert z["y"].std(ddof=1) == pytest.approx(1)
