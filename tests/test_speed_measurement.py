"""The speed-ups of the measurement code (issue 15) give the same numbers as the direct code.

Each fast path is compared, bit for bit, with the straightforward computation it replaced
(written out here): the expected information placed by index against the dense E'HE
product, ``summarize`` against per-group pandas reductions, the EFA flags against
``Series.sort_values``, HTMT against label-based blocks; and the content-keyed reuse of CFA
fits returns the first fit only for the same numbers and options.  The one exception is
``title_counts``, a table of strings, integers and booleans: its former route is kept in
``tests/fixtures/speed/make_measurement_title_counts.py``, which records that route's tables
as text for the test to compare with.
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


@pytest.fixture(scope="module")
def hs_fit(hs):
    """``cfa(hs, HS, **kw)``, fitted once per module for each ``kw``: the tests only read the
    fit (its spec, sample statistics and estimates) and build their own Problems from it."""
    fits = {}

    def fit(**kw):
        key = repr(sorted(kw.items()))
        if key not in fits:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fits[key] = cfa(hs, HS, **kw)
        return fits[key]

    return fit


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
def test_information_placed_by_index_is_the_dense_product(hs_fit, kw):
    res = hs_fit(**kw)
    problem = est.Problem(res._spec, res._stats)
    rng = np.random.default_rng(3)
    for x in (res._x, res._x + rng.normal(0, 0.05, res._x.size),
              est.start_values(res._spec, res._stats)):
        g_fast, h_fast = problem.derivatives(x)
        g_ref, h_ref = _dense_derivatives(problem, x)
        assert _bits_equal(g_fast, g_ref)
        assert _bits_equal(h_fast, h_ref)
        assert np.abs(h_ref).max() > 0


def test_information_falls_back_to_the_product_when_slots_share_a_parameter(hs_fit, monkeypatch):
    res = hs_fit(group="school", equal=["loadings"])
    fast = est.Problem(res._spec, res._stats).derivatives(res._x)[1]
    problem = est.Problem(res._spec, res._stats)   # a new one: nothing kept from the first
    for sl in problem.slots:   # pretend two slots of a group share a parameter
        monkeypatch.setitem(sl.distinct, True, False)
    assert _bits_equal(problem.derivatives(res._x)[1], fast)
    assert _bits_equal(_dense_derivatives(problem, res._x)[1], fast)


def test_runs_of_parameter_numbers():
    assert est._runs(np.array([0, 1, 2, 7, 8, 3])) == [(0, 3, 0), (3, 5, 7), (5, 6, 3)]
    assert est._runs(np.array([], dtype=int)) == []
    assert est._runs(np.arange(10)[::-1]) is None            # ten runs of one: index arrays
    assert est._runs(np.arange(10)[::-1], most=10) == [(k, k + 1, 9 - k) for k in range(10)]


@pytest.mark.parametrize("kw", [
    {}, {"residual_covariances": [("x7", "x8"), ("x3", "x2")]},
    {"group": "school"}, {"group": "school", "equal": ["loadings", "intercepts"]},
], ids=["one-group", "rescov", "configural", "scalar"])
def test_information_placed_by_slices_equals_index_arrays(hs_fit, kw):
    res = hs_fit(**kw)
    by_runs = est.Problem(res._spec, res._stats)
    by_index = est.Problem(res._spec, res._stats)
    for sl in by_index.slots:
        sl.runs = {False: None, True: None}
    assert all(sl.runs[res._spec.meanstructure] is not None for sl in by_runs.slots)
    x = est.start_values(res._spec, res._stats)
    for point in (x, res._x):
        g1, h1 = by_runs.derivatives(point)
        g2, h2 = by_index.derivatives(point)
        assert _bits_equal(g1, g2) and _bits_equal(h1, h2)


def _clf_problem(hs):
    from hlstudy.cfa.core import _fit
    model = {**HS, "CLF": [f"x{i}" for i in range(1, 10)]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = _fit(hs, model, unit_loading_factors=["CLF"], orthogonal_factors=["CLF"])
    return res, est.Problem(res._spec, res._stats)


def test_last_derivatives_and_matrices_are_kept_by_point(hs):
    res, problem = _clf_problem(hs)
    x = res._x
    y = x + np.random.default_rng(1).normal(0, 0.01, x.size)
    g, h = problem.derivatives(x)
    g[:] = 0.0                                      # a caller mutating what it got
    h[:] = 0.0
    again_g, again_h = problem.derivatives(x)       # kept: the same numbers, new arrays
    fresh_g, fresh_h = est.Problem(res._spec, res._stats).derivatives(x)
    assert _bits_equal(again_g, fresh_g) and _bits_equal(again_h, fresh_h)
    assert _bits_equal(problem.derivatives(x, hessian=False)[0], fresh_g)
    assert problem.derivatives(x, hessian=False)[1] is None
    other_g, other_h = problem.derivatives(y)       # another point: computed anew
    ref_g, ref_h = est.Problem(res._spec, res._stats).derivatives(y)
    assert _bits_equal(other_g, ref_g) and _bits_equal(other_h, ref_h)
    assert not _bits_equal(other_g, fresh_g)
    # matrices: the same list for the same point, new ones (equal to a fresh build) for another
    m1 = problem.matrices(x)
    assert problem.matrices(x.copy()) is m1
    m2 = problem.matrices(y)
    assert m2 is not m1
    ref = est.Problem(res._spec, res._stats).matrices(y)
    assert _bits_equal(m2[0].sigma, ref[0].sigma) and not _bits_equal(m2[0].sigma, m1[0].sigma)
    assert problem.objective(y) == est.Problem(res._spec, res._stats).objective(y)


@pytest.mark.parametrize("model", ["clf", "rescov", "configural"])
def test_stacked_gradients_equal_one_by_one(hs, hs_fit, model):
    if model == "clf":
        res, problem = _clf_problem(hs)
    else:
        kw = ({"residual_covariances": [("x7", "x8"), ("x3", "x2")]} if model == "rescov"
              else {"group": "school"})
        res = hs_fit(**kw)
        problem = est.Problem(res._spec, res._stats)
    x = res._x
    ax = np.abs(x)
    steps = 1e-6 * np.where(ax > 1.0, ax, 1.0)
    # the finite-difference points exactly as one built them before: x + e_k
    points = []
    for k in range(len(x)):
        e = np.zeros(len(x))
        e[k] = 1e-6 * max(1.0, abs(x[k]))
        points.append(x + e)
    points = np.array(points)
    assert _bits_equal(points, x[None, :] + np.diag(steps))
    loop = np.array([est.Problem(res._spec, res._stats).derivatives(p, hessian=False)[0]
                     for p in points])
    assert _bits_equal(problem.gradients(points), loop)
    assert _bits_equal(problem.gradients(points, chunk=4), loop)
    assert np.abs(loop - loop[0]).max() > 0


def _damped_newton_reference(problem, x, f, curvature, *, max_iter, step_tol, grad_tol):
    """_damped_newton as it was: the damped matrix formed with np.diag at every trial."""
    mu = 1e-3
    grad, curv = curvature(x)
    status, it = "maximum number of iterations reached", 0
    for it in range(1, max_iter + 1):
        diag = np.clip(np.abs(np.diag(curv)), 1e-8, None)
        accepted = False
        for _ in range(60):
            try:
                step = np.linalg.solve(curv + mu * np.diag(diag), grad)
            except np.linalg.LinAlgError:
                mu *= 10
                continue
            if not np.all(np.isfinite(step)):
                mu *= 10
                continue
            if np.max(np.abs(step)) < step_tol and mu <= 1e-3:
                return x, f, grad, "converged", it
            predicted = step @ grad - 0.5 * step @ curv @ step
            x_new = x - step
            f_new = problem.objective(x_new)
            actual = f - f_new
            if np.isfinite(f_new) and predicted > 0 and actual > 1e-4 * predicted:
                accepted = True
                ratio = actual / predicted
                if ratio > 0.75:
                    mu = max(mu / 5, 1e-12)
                elif ratio < 0.25:
                    mu *= 2
                break
            if np.isfinite(f_new) and abs(actual) <= 1e-14 * max(1.0, abs(f)) \
                    and (np.max(np.abs(grad)) < grad_tol or est._decrement(curv, grad) < 1e-12):
                return x, f, grad, "converged", it
            mu = mu * 4 if mu > 0 else 1e-6
        if not accepted:
            status = "no acceptable step"
            break
        x, f = x_new, f_new
        grad, curv = curvature(x)
    return x, f, grad, status, it


@pytest.mark.parametrize("kw", [{}, {"group": "school", "equal": ["loadings"]}],
                         ids=["one-group", "metric"])
def test_damped_newton_takes_the_steps_it_took_before(hs_fit, kw):
    res = hs_fit(**kw)
    out = []
    for fn in (est._damped_newton, _damped_newton_reference):
        problem = est.Problem(res._spec, res._stats)
        x0 = est.start_values(res._spec, res._stats)
        seen = []
        objective = problem.objective
        problem.objective = lambda x, f=objective, s=seen: (s.append(x.tobytes()), f(x))[1]
        x, f, grad, status, it = fn(problem, x0, objective(x0), problem.derivatives,
                                    max_iter=200, step_tol=1e-9, grad_tol=1e-5)
        out.append((x.tobytes(), f, grad.tobytes(), status, it, seen))
    assert out[0] == out[1]
    assert out[0][3] == "converged" and len(out[0][5]) > 5


def _title_count_inputs():
    """The personnel, communes and the two sets of unit classes of the title-count test
    (also the inputs of its reference, ``tests/fixtures/speed/make_measurement_title_counts.py``)."""
    from hlstudy import legal
    from hlstudy.diagnostic import staffing
    positions = sorted(legal.title_limits()["position_code"].unique())
    communes = pd.DataFrame({"code": ["A", "B", "C", "D"], "name": ["Xã A", "Xã B", "TT C", "Xã D"],
                             "unit_type": ["xã", "Xã", "thị trấn", "xã"]})
    rng = np.random.default_rng(5)
    staff = pd.DataFrame({"commune_code": rng.choice(["A", "B", "C", "D"], 60),
                          "position_code": rng.choice(positions + ["VP_TK", None], 60)})
    unit_classes = [staffing.UnitClasses(classes, basis="test")
                    for classes in ({"A": "III", "B": "II", "C": "I", "D": "III"},
                                    {"A": "I", "B": "I", "C": "II", "D": "II"})]
    return staff, communes, unit_classes


def _table_text(table: pd.DataFrame) -> dict:
    """A table of strings, integers and booleans as text: its values, columns and index
    (``to_json(orient="split")``: a missing value is null, never ""), its dtypes and index."""
    return {"split": table.to_json(orient="split", force_ascii=False),
            "dtypes": [repr(d) for d in table.dtypes], "index": repr(table.index)}


def test_title_counts_look_up_each_rule_once_with_the_same_table():
    """The same table as the former route, which filtered the limits table for every unit
    and title: its tables on these inputs are kept, as text, by
    ``tests/fixtures/speed/make_measurement_title_counts.py`` (strings, integers and
    booleans: ``assert_frame_equal(check_exact=True)`` compared no more than the values,
    dtypes, columns and index compared here)."""
    import json

    from hlstudy.diagnostic import staffing
    generator = "tests/fixtures/speed/make_measurement_title_counts.py"
    stored = json.loads((FIX / "speed" / "measurement_title_counts.json")
                        .read_text(encoding="utf-8"))["tables"]
    staff, communes, unit_classes = _title_count_inputs()
    assert len(stored) == len(unit_classes)
    for uc, ref in zip(unit_classes, stored, strict=True):
        got = staffing.title_counts(staff, communes, uc)
        assert _table_text(got) == ref, (
            f"not the former route's table recorded by {generator} (rerun it only if "
            "data/reference/decree33_*.csv or the test's inputs changed)")
        assert got["over"].any() and (~got["over"]).any()


# ---------------------------------------------------------------------- reuse of fits

def test_reuse_fits_is_keyed_on_the_numbers_and_options(hs, hs_fit):
    fresh = hs_fit()   # cfa(hs, HS) outside any reuse block, fitted once for the module
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
            # the band cut to [0, 1], as validation.summary.coverage_band since it was cut
            band = (max(0.0, level - 1.96 * nom), min(1.0, level + 1.96 * nom))
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
    # 1,000 rows in 12 quantities (3,000 in 40 before; the reference's cost is per group):
    # the same kinds of group remain -- one-row groups, groups below numpy's 8-wide unrolled
    # sum and above its 128-element pairwise block (up to 321 rows), no-CI groups
    rng = np.random.default_rng(15)
    n = 1000
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
        "quantity": rng.choice([f"q{i}" for i in range(12)], n),
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


# ---------------------------------------------------------------------- commune means

def _t_intervals_reference(d, variable, group, conf):
    """commune_means' per-commune loop as it was: groupby and t_interval."""
    from hlstudy.diagnostic.intervals import t_interval
    rows = []
    for g, sub in d.groupby("g", sort=True):
        m, lo, hi, n = t_interval(sub["y"], conf)
        rows.append({"variable": variable, group: g, "n": n, "mean": m, "estimate": m,
                     "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("conf", [0.95, 0.9])
def test_commune_t_intervals_equal_groupby_and_t_interval(conf):
    from hlstudy.diagnostic import quality
    rng = np.random.default_rng(11)
    sizes = [1, 2, 3, 17, 30, 5, 1, 12]
    g = np.repeat([f"c{k:02d}" for k in range(len(sizes))], sizes)
    df = pd.DataFrame({"commune": rng.permutation(g),
                       "PRO": rng.normal(3.5, 0.8, len(g)).round(2)})
    df.loc[[3, 9], "PRO"] = np.nan
    d = quality._clean(df, "PRO", "commune")
    got = quality._t_intervals(d, "PRO", "commune", conf)
    ref = _t_intervals_reference(d, "PRO", "commune", conf)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert got["lo"].isna().sum() == 2 and got["lo"].notna().sum() == 6


def _fit_mixed_reference(d):
    """quality._fit_mixed_uncached as it was: the model from the formula "y ~ 1"."""
    import statsmodels.formula.api as smf
    best = None
    model = smf.mixedlm("y ~ 1", d, groups=d["g"])
    for method in ("bfgs", "powell", "nm"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(reml=True, method=method)
        if np.isfinite(fit.llf) and (best is None or fit.llf > best.llf + 1e-9):
            best = fit
        if best is not None and best.converged:
            break
    return best


@pytest.mark.parametrize(("groups", "size", "seed", "methods"), [
    (15, 12, 3, ["bfgs"]),
    # BFGS stops unconverged and Powell's fit is kept (an interior variance, 0.074): the
    # branch the 15 x 12 design with seed 2 took before, on 6 x 5 answers (its BFGS runs
    # to its iteration limit, and each iteration costs in proportion to the groups)
    (6, 5, 10, ["bfgs", "powell"]),
], ids=["bfgs", "powell-after-bfgs"])
def test_mixed_fit_without_the_formula_gives_the_formula_numbers(groups, size, seed, methods,
                                                                 monkeypatch):
    from statsmodels.regression.mixed_linear_model import MixedLM

    from hlstudy.diagnostic import quality
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(groups), size)
    df = pd.DataFrame({"g": g, "y": rng.normal(0, 0.4, groups)[g] + rng.normal(0, 1, g.size)})
    d = quality._clean(df, "y", "g")
    tried = []
    fit = MixedLM.fit
    with monkeypatch.context() as m:
        m.setattr(MixedLM, "fit", lambda self, *a, **k: tried.append(k["method"]) or fit(
            self, *a, **k))
        ours = quality._fit_mixed_uncached(d)
    assert tried == methods   # the case takes the branch it is here for
    ref = _fit_mixed_reference(d)
    for attr in ("params", "fe_params", "bse_fe", "cov_re"):
        assert _bits_equal(np.asarray(getattr(ours, attr)), np.asarray(getattr(ref, attr)))
    assert ours.llf == ref.llf and ours.scale == ref.scale
    assert ours.converged == ref.converged


# ---------------------------------------------------------------------- pairwise moments

def test_pairwise_moments_are_kept_by_content():
    from hlstudy import _psychometrics as psy
    rng = np.random.default_rng(4)
    x = rng.integers(1, 6, size=(80, 6)).astype(float)
    x[rng.random(x.shape) < 0.1] = np.nan
    psy._MOMENTS.clear()
    first = psy.pairwise_moments(x)
    direct = psy._pairwise_moments(x, None)
    assert all(_bits_equal(a, b) for a, b in zip(first, direct, strict=True))
    first[1][:] = 0.0                                  # a caller mutating its copy
    again = psy.pairwise_moments(x.copy())             # same numbers, another array: kept
    assert len(psy._MOMENTS) == 1
    assert all(_bits_equal(a, b) for a, b in zip(again, direct, strict=True))
    y = x.copy()
    y[0, 0] = 5.0 if y[0, 0] != 5.0 else 4.0            # one answer changed: computed anew
    changed = psy.pairwise_moments(y)
    assert len(psy._MOMENTS) == 2
    assert all(_bits_equal(a, b) for a, b in zip(changed, psy._pairwise_moments(y, None),
                                                 strict=True))
    assert not _bits_equal(changed[0], direct[0])
    w = rng.integers(0, 3, size=(4, 80)).astype(float)  # weighted: never kept
    psy.pairwise_moments(x, weights=w)
    assert len(psy._MOMENTS) == 2
    for k in range(psy._MOMENTS_MAX + 5):              # bounded
        psy.pairwise_moments(x + k + 1)
    assert len(psy._MOMENTS) == psy._MOMENTS_MAX


def test_cfa_item_check_reads_dtypes_as_the_columns_do():
    from hlstudy.cfa.core import model_items
    from hlstudy.errors import ModelError
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [True, False], "c": ["x", "y"],
                       "d": pd.array([1, 2], dtype="Int64"), "e": pd.Categorical([1, 2]),
                       "f": np.array([1, 2], dtype="uint8")})
    assert model_items(df, {"F": ["a", "d", "f"]})[1] == ["a", "d", "f"]
    with pytest.raises(ModelError, match=r"not numeric: \['b', 'c', 'e'\]"):
        model_items(df, {"F": ["a", "b", "c", "e"]})
    dup = pd.concat([df[["a"]], df[["a"]], df[["d"]]], axis=1)   # a name used twice
    with pytest.raises(ModelError, match=r"not numeric: \['a'\]"):
        model_items(dup, {"F": ["a", "d"]})


# ---------------------------------------------------------------------- random-intercept fits

def test_random_intercept_fits_kept_on_disk_give_the_fitted_numbers(tmp_path, monkeypatch):
    import hlstudy.paths
    from hlstudy.diagnostic import quality
    monkeypatch.setattr(hlstudy.paths, "PROCESSED", tmp_path)
    monkeypatch.delenv("HLSTUDY_FIT_CACHE", raising=False)
    monkeypatch.delenv("HLSTUDY_EXPORT_CACHE", raising=False)
    rng = np.random.default_rng(7)
    g = np.repeat(np.arange(12), 9)
    df = pd.DataFrame({"g": g, "y": rng.normal(0, 0.5, 12)[g] + rng.normal(0, 1, g.size)})
    d = quality._clean(df, "y", "g")
    direct = quality._fit_mixed_uncached(d)
    quality._FITS.clear()
    miss = quality._fit_mixed(d)                      # fitted, written
    files = list((tmp_path / "cache" / "mixed").glob("*.json"))
    assert len(files) == 1
    quality._FITS.clear()
    hit = quality._fit_mixed(d.copy())                # read back from disk
    for fit in (miss, hit):
        assert _bits_equal(np.asarray(fit.cov_re), np.asarray(direct.cov_re))
        assert _bits_equal(fit.fe_params.to_numpy(), direct.fe_params.to_numpy())
        assert _bits_equal(fit.bse_fe.to_numpy(), direct.bse_fe.to_numpy())
        assert fit.scale == direct.scale and fit.llf == direct.llf
        assert fit.converged == direct.converged
    quality._FITS.clear()
    a = quality.icc(df, "y", "g")
    quality._FITS.clear()
    b = quality.icc(df, "y", "g")
    assert a.as_dict() == b.as_dict()
    # another value: another fit and another file
    changed = df.copy()
    changed.loc[0, "y"] += 0.25
    quality._FITS.clear()
    other = quality._fit_mixed(quality._clean(changed, "y", "g"))
    assert len(list((tmp_path / "cache" / "mixed").glob("*.json"))) == 2
    assert other.scale != hit.scale
    # a damaged file is fitted and written again
    files[0].write_text("{not json", encoding="utf-8")
    quality._FITS.clear()
    again = quality._fit_mixed(d)
    assert again == miss
    assert quality._MixedFit.from_json(files[0].read_text(encoding="utf-8")) == miss
    # switched off: nothing read or written
    monkeypatch.setenv("HLSTUDY_FIT_CACHE", "0")
    files[0].write_text(quality._MixedFit(1.0, 1.0, 0.0, 1.0, 0.0, True).to_json(),
                        encoding="utf-8")
    quality._FITS.clear()
    assert quality._fit_mixed(d) == miss
    quality._FITS.clear()


def test_fit_cache_keeps_the_most_recently_used_files(tmp_path):
    import os

    from hlstudy.diagnostic import quality
    for k in range(12):
        f = tmp_path / f"{k:02d}.json"
        f.write_text("{}", encoding="utf-8")
        os.utime(f, ns=(k * 10**9, k * 10**9))
    (tmp_path / "other.txt").write_text("x", encoding="utf-8")
    quality._prune_fits(tmp_path, most=12)                 # at the bound: nothing removed
    assert len(list(tmp_path.glob("*.json"))) == 12
    quality._prune_fits(tmp_path, most=10)                 # above it: down to 80 %, oldest first
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [f"{k:02d}.json"
                                                                for k in range(4, 12)]
    assert (tmp_path / "other.txt").exists()


def test_mixed_models_kept_on_disk_give_the_fitted_numbers(tmp_path, monkeypatch):
    import importlib

    import hlstudy.paths
    mixed_mod = importlib.import_module("hlstudy.models.mixed")
    monkeypatch.setattr(hlstudy.paths, "PROCESSED", tmp_path)
    monkeypatch.delenv("HLSTUDY_FIT_CACHE", raising=False)
    monkeypatch.delenv("HLSTUDY_EXPORT_CACHE", raising=False)
    # 6 communes x 5 answers (an interior variance, 1.32): what is kept and read back does
    # not depend on the size, and each of the six fits below costs less than on 12 x 10
    rng = np.random.default_rng(1)
    g = np.repeat(np.arange(6), 5)
    x = rng.normal(size=30)
    df = pd.DataFrame({"y": 0.5 * x + rng.normal(size=6)[g] + rng.normal(size=30),
                       "x": x, "commune": g})
    direct = mixed_mod._fit(mixed_mod.model_frame(df, "y ~ x", cluster="commune"), "y ~ x",
                            "commune", 0.05)
    miss = mixed_mod.mixed(df, "y ~ x", group="commune")
    folder = tmp_path / "cache" / "mixed-models"
    assert len(list(folder.glob("*.json"))) == 1
    hit = mixed_mod.mixed(df.copy(), "y ~ x", group="commune")
    for res in (miss, hit):
        pd.testing.assert_frame_equal(res.coefficients, direct.coefficients, check_exact=True)
        for k in ("tau2", "sigma2", "icc", "reml_criterion", "nobs", "n_groups", "n_dropped",
                  "converged", "alpha", "formula", "group", "info"):
            assert getattr(res, k) == getattr(direct, k), k
    # another alpha, another value: other files
    assert mixed_mod.mixed(df, "y ~ x", group="commune", alpha=0.1).alpha == 0.1
    changed = df.copy()
    changed.loc[0, "y"] += 1.0
    other = mixed_mod.mixed(changed, "y ~ x", group="commune")
    assert len(list(folder.glob("*.json"))) == 3 and other.tau2 != hit.tau2
    # a damaged file is fitted again; switched off, nothing is read
    path = next(p for p in folder.glob("*.json")
                if mixed_mod._from_json(p.read_text()).alpha == 0.05
                and mixed_mod._from_json(p.read_text()).tau2 == hit.tau2)
    path.write_text("{", encoding="utf-8")
    assert mixed_mod.mixed(df, "y ~ x", group="commune").tau2 == hit.tau2
    bogus = mixed_mod._to_json(hit).replace(hit.tau2.hex(), (2 * hit.tau2).hex())
    path.write_text(bogus, encoding="utf-8")
    assert mixed_mod.mixed(df, "y ~ x", group="commune").tau2 == 2 * hit.tau2   # read back
    monkeypatch.setenv("HLSTUDY_FIT_CACHE", "0")
    assert mixed_mod.mixed(df, "y ~ x", group="commune").tau2 == hit.tau2       # not read
