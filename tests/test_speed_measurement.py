"""The speed-ups of the measurement code (issue 15) give the same numbers as the direct code.

Each fast path is compared, bit for bit, with the straightforward computation it replaced
(written out here): the expected information placed by index against the dense E'HE
product, ``summarize`` against per-group pandas reductions, the EFA flags against
``Series.sort_values``, HTMT against label-based blocks; and the content-keyed reuse of CFA
fits returns the first fit only for the same numbers and options.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from hlstudy.cfa import _estimate as est
from hlstudy.cfa import cfa, htmt
from hlstudy.cfa.core import reuse_fits
from hlstudy.factor import _flags
from hlstudy.paths import ROOT
from hlstudy.validation import ragree
from hlstudy.validation.summary import summarize

FIX = ROOT / "tests" / "fixtures"
HS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(FIX / "lavaan" / "hs1939.csv")


def _bits_equal(a, b) -> bool:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all((a.view(np.int64) == b.view(np.int64))
                                              | (np.isnan(a) & np.isnan(b))))


# ---------------------------------------------------------------------- CFA information

def _dense_derivatives(problem, x):
    """derivatives() as it was: the slot Hessian mapped by the 0/1 slot-to-parameter E."""
    q = problem.spec.n_free
    grad, hess = np.zeros(q), np.zeros((q, q))
    for g, mats in enumerate(problem.matrices(x)):
        gs, hs_, pids = problem._slot_derivatives(g, mats, True)
        np.add.at(grad, pids, problem.w[g] * gs)
        e = np.zeros((len(pids), q))
        e[np.arange(len(pids)), pids] = 1.0
        hess += problem.w[g] * (e.T @ hs_ @ e)
    return grad, 0.5 * (hess + hess.T)


@pytest.mark.parametrize("kw", [
    {}, {"std_lv": True}, {"residual_covariances": [("x7", "x8"), ("x3", "x2")]},
    {"group": "school"}, {"group": "school", "equal": ["loadings", "intercepts"]},
    {"group": "school", "equal": ["loadings", "residuals", "lv.variances", "means"],
     "residual_covariances": [("x7", "x8")]},
], ids=["one-group", "std_lv", "rescov", "configural", "scalar", "strict"])
def test_information_placed_by_index_is_the_dense_product(hs, kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = cfa(hs, HS, **kw)
    problem = est.Problem(res._spec, res._stats)
    rng = np.random.default_rng(3)
    for x in (res._x, res._x + rng.normal(0, 0.05, res._x.size),
              est.start_values(res._spec, res._stats)):
        g_fast, h_fast = problem.derivatives(x)
        g_ref, h_ref = _dense_derivatives(problem, x)
        assert _bits_equal(g_fast, g_ref)
        assert _bits_equal(h_fast, h_ref)
        assert np.abs(h_ref).max() > 0


def test_information_falls_back_to_the_product_when_slots_share_a_parameter(hs, monkeypatch):
    res = cfa(hs, HS, group="school", equal=["loadings"])
    problem = est.Problem(res._spec, res._stats)
    fast = problem.derivatives(res._x)[1]
    for sl in problem.slots:   # pretend two slots of a group share a parameter
        monkeypatch.setitem(sl.distinct, True, False)
    assert _bits_equal(problem.derivatives(res._x)[1], fast)
    assert _bits_equal(_dense_derivatives(problem, res._x)[1], fast)


# ---------------------------------------------------------------------- reuse of fits

def test_reuse_fits_is_keyed_on_the_numbers_and_options(hs):
    fresh = cfa(hs, HS)
    with reuse_fits():
        a = cfa(hs, HS)
        assert cfa(hs.copy(), HS) is a                       # same numbers, another object
        assert cfa(hs.sample(frac=1, random_state=1), HS) is not a   # rows in another order
        changed = hs.copy()
        changed.loc[0, "x1"] += 1.0
        b = cfa(changed, HS)
        assert b is not a and b.fit["chi2"] != a.fit["chi2"]
        assert cfa(hs, HS, std_lv=True) is not a
        assert cfa(hs, {"visual": ["x2", "x1", "x3"], **{k: v for k, v in HS.items()
                                                          if k != "visual"}}) is not a
        assert cfa(hs, HS, residual_covariances=[("x7", "x8")]) is not a
        g = cfa(hs, HS, group="school")
        assert cfa(hs, HS, group="school", equal=["loadings"]) is not g
        with reuse_fits():                                   # nested: same store
            assert cfa(hs, HS) is a
        assert cfa(hs, HS) is a
    assert cfa(hs, HS) is not a                              # outside the block: fitted anew
    pd.testing.assert_frame_equal(a.estimates, fresh.estimates, check_exact=True)
    pd.testing.assert_series_equal(pd.Series(a.fit), pd.Series(fresh.fit), check_exact=True)


def test_reuse_fits_still_raises_for_bad_input(hs):
    with reuse_fits():
        cfa(hs, HS)
        with pytest.raises(Exception, match="max_iter"):
            cfa(hs, HS, max_iter=0)


def test_r_agreement_reads_each_fixture_once_and_hands_out_copies(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [1.0, 2.0]}).to_csv(path, index=False)
    with ragree._reading_once():
        first = ragree._read_csv(path)
        first.loc[0, "a"] = 99.0                          # a caller mutating its copy
        path.write_text("a\n5\n6\n")                       # parsed once per call
        again = ragree._read_csv(path)
    assert again["a"].tolist() == [1.0, 2.0]
    assert ragree._CSV_MEMO is None
    assert ragree._read_csv(path)["a"].tolist() == [5.0, 6.0]


# ---------------------------------------------------------------------- summarize

def _summarize_reference(results, by, level=0.95):
    """summarize() as it was: pandas reductions group by group."""
    d = results.copy()
    d = d[np.isfinite(d["truth"]) & np.isfinite(d["estimate"])]
    rows = []
    for key, g in d.groupby(by, sort=True, dropna=False):
        r = len(g)
        err = g["estimate"] - g["truth"]
        bias = float(err.mean())
        emp_se = float(g["estimate"].std(ddof=1)) if r > 1 else np.nan
        rmse = float(np.sqrt(float((err ** 2).mean())))
        mse_se = float((err ** 2).std(ddof=1) / np.sqrt(r)) if r > 1 else np.nan
        gi = g[np.isfinite(g["ci_low"]) & np.isfinite(g["ci_high"])]
        if len(gi):
            cov = float(((gi["ci_low"] <= gi["truth"]) & (gi["truth"] <= gi["ci_high"])).mean())
            rej = float(((gi["ci_low"] > 0) | (gi["ci_high"] < 0)).mean())
            cov_se = float(np.sqrt(cov * (1 - cov) / len(gi)))
            nom = float(np.sqrt(level * (1 - level) / len(gi)))
            band = (level - 1.96 * nom, level + 1.96 * nom)
            width = float((gi["ci_high"] - gi["ci_low"]).mean())
            ok = bool(band[0] <= cov <= band[1])
        else:
            cov = rej = cov_se = width = np.nan
            band, ok = (np.nan, np.nan), None
        truth = float(g["truth"].mean())
        rows.append({**dict(zip(by, key, strict=True)), "n_rep": r, "truth": truth,
                     "mean_estimate": float(g["estimate"].mean()), "bias": bias,
                     "bias_mcse": emp_se / np.sqrt(r) if r > 1 else np.nan,
                     "rel_bias": bias / abs(truth) if abs(truth) > 1e-12 else np.nan,
                     "rmse": rmse, "rmse_mcse": mse_se / (2 * rmse) if rmse > 0 else np.nan,
                     "emp_se": emp_se, "coverage": cov, "coverage_mcse": cov_se,
                     "band_low": band[0], "band_high": band[1], "coverage_ok": ok,
                     "rejection": rej, "mean_width": width, "n_intervals": int(len(gi))})
    return pd.DataFrame(rows)


def test_summarize_equals_per_group_pandas_reductions_bit_for_bit():
    rng = np.random.default_rng(15)
    n = 3000
    truth = rng.choice([0.0, 0.2, -0.35, 1e-13], n)
    est_ = truth + rng.normal(0, 0.1, n) * rng.choice([1.0, 1e-3, 1e6], n)
    half = np.abs(rng.normal(0.2, 0.05, n))
    lo, hi = est_ - half, est_ + half
    lo[rng.random(n) < 0.1] = np.nan                     # some rows without an interval
    est_[rng.random(n) < 0.02] = np.nan                  # rows left out
    res = pd.DataFrame({
        "scenario": rng.choice(["default", "small", "zero"], n),
        "kind": "path",
        "method": rng.choice(["OLS", "CR2", "SEM", None], n, p=[.3, .3, .35, .05]),
        "quantity": rng.choice([f"q{i}" for i in range(40)], n),
        "truth": truth, "estimate": est_, "ci_low": lo, "ci_high": hi})
    res.loc[res["quantity"] == "q7", ["ci_low", "ci_high"]] = np.nan   # a group without CIs
    res = res[~((res["quantity"] == "q8") & (res.index % 50 != 0))]    # one-row groups
    for by in (["scenario", "method", "quantity"], ["method"], ["quantity", "scenario"]):
        fast = summarize(res, by=by)
        ref = _summarize_reference(res, by)
        assert len(fast) > 3
        pd.testing.assert_frame_equal(fast, ref, check_exact=True)
        for c in fast.columns:
            if fast[c].dtype.kind == "f":
                assert _bits_equal(fast[c], ref[c]), c


# ---------------------------------------------------------------------- EFA flags

def _flags_reference(lo, h2, heywood, *, min_loading, cross_loading, cross_gap,
                     min_communality):
    rows = []
    a = lo.abs()
    for item in lo.index:
        vals = a.loc[item].sort_values(ascending=False)
        top, top_f = vals.iloc[0], vals.index[0]
        if item in heywood:
            rows.append((item, "Heywood case", f"communality {h2[item]:.3f} at or above 1 "
                         "(uniqueness at its bound); the solution is improper for this item"))
        if top < min_loading:
            rows.append((item, "low loading",
                         f"highest |loading| {top:.3f} (on {top_f}) below {min_loading:.2f}"))
        second, second_f = vals.iloc[1], vals.index[1]
        if second >= cross_loading and top - second < cross_gap:
            rows.append((item, "cross-loading",
                         f"loads {lo.loc[item, top_f]:.2f} on {top_f} and "
                         f"{lo.loc[item, second_f]:.2f} on {second_f} (both >= "
                         f"{cross_loading:.2f}, difference {top - second:.2f} < {cross_gap:.2f})"))
        if h2[item] < min_communality:
            rows.append((item, "low communality",
                         f"communality {h2[item]:.2f} below {min_communality:.2f}"))
    return pd.DataFrame(rows, columns=["item", "issue", "reason"])


def test_efa_flags_order_loadings_as_pandas_does():
    rng = np.random.default_rng(2)
    vals = rng.choice([0.5, -0.5, 0.45, 0.3, -0.3, 0.1, 0.62], size=(40, 4))   # many ties
    vals[3, 1] = np.nan
    lo = pd.DataFrame(vals, index=[f"i{k}" for k in range(40)],
                      columns=["MR1", "MR2", "MR3", "MR4"])
    h2 = pd.Series(rng.uniform(0.05, 1.0, 40), index=lo.index)
    kw = dict(min_loading=0.5, cross_loading=0.3, cross_gap=0.2, min_communality=0.2)
    fast = _flags(lo, h2, ("i1", "i5"), **kw)
    assert {"cross-loading", "low loading", "low communality", "Heywood case"} <= set(fast.issue)
    pd.testing.assert_frame_equal(fast, _flags_reference(lo, h2, ("i1", "i5"), **kw))


# ---------------------------------------------------------------------- HTMT

def _htmt_reference(data, model, geometric):
    items = [i for its in model.values() for i in its]
    x = data[items].dropna().to_numpy(dtype=float)
    corr = np.abs(np.corrcoef(x, rowvar=False))
    np.fill_diagonal(corr, np.nan)
    r = pd.DataFrame(corr, index=items, columns=items)

    def avg(block):
        block = block[~np.isnan(block)]
        with np.errstate(divide="ignore"):
            return float(np.exp(np.mean(np.log(block)))) if geometric else float(np.mean(block))

    within = {f: avg(r.loc[its, its].to_numpy()) for f, its in model.items()}
    out = pd.DataFrame(np.nan, index=list(model), columns=list(model))
    for a in model:
        for b in model:
            with np.errstate(invalid="ignore", divide="ignore"):
                out.loc[a, b] = (np.float64(avg(r.loc[model[a], model[b]].to_numpy()))
                                 / np.sqrt(np.float64(within[a] * within[b])))
    return out


@pytest.mark.parametrize("geometric", [True, False])
def test_htmt_blocks_by_position_equal_label_blocks(geometric):
    rng = np.random.default_rng(7)
    f = rng.normal(size=(300, 4))
    cols = {}
    model = {}
    for k, name in enumerate("ABCD"):
        its = [f"{name.lower()}{j}" for j in range(3 + k % 2)]
        model[name] = its
        for it in its:
            cols[it] = np.round(2 * f[:, k] + 0.7 * f[:, (k + 1) % 4] + rng.normal(size=300))
    data = pd.DataFrame(cols)
    data.iloc[5, 2] = np.nan
    fast = htmt(data, model, geometric=geometric)
    ref = _htmt_reference(data, model, geometric)
    assert _bits_equal(fast.to_numpy(), ref.to_numpy())
    assert list(fast.index) == list(model) and fast.attrs["notes"] == []
