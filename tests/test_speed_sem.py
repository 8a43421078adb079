"""The fast paths of hlstudy.sem and hlstudy.models give the slow paths' numbers (issue 15).

* Wild cluster bootstrap: the interval's bisection decides each step through the test's
  linear forms in the null value (:meth:`hlstudy.models._wild._Inversion.pvalue_fast`); its
  p-value must be the library-order p-value (itself checked bit for bit against
  ``wildboottest`` in tests/test_models.py) at every r, and the interval must be the one of
  the library-order bisection, to the bit.  Near-ties (full enumeration makes the draw
  v = 1 reproduce the sample's t exactly) must fall back to the library order.
* SEM fit measures: GFI by traces equals the D'(V kron V)D quadratic form it replaces; the
  FIML-corrected robust indices (Wc by its Kronecker structure, Wm^-1 only through the h1
  Cholesky factor, T Wm D = S1 D) equal the former dense construction to 1e-10 relative on
  the lavaan test data, simulated data and study data, with and without MLR; the h1
  information by one syrk of stacked rank-one terms equals the pattern-by-pattern formula
  (scores to the bit), with missing data, a fixed-x mask and complete data.
* SEM fitting: the memos of the Sigma-only FIML parts and of E = (I - A)^-1 (hits equal
  misses to the bit, a new Sigma or A misses) and the slot selections that replace the 0/1
  slot-matrix products (the same floats) leave every number of the fit unchanged.
"""

import copy
import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hlstudy.models import _wild
from hlstudy.models._frame import model_frame
from hlstudy.models._wild import _Inversion, wild_test

FIX = Path(__file__).parent / "fixtures"
STUDY = pd.read_csv(FIX / "models" / "study.csv",
                    dtype={"commune_code": str, "edu": str, "record_id": str})


def _case(name):
    rng = np.random.default_rng(11)
    if name == "study":
        fr = model_frame(STUDY, "PRO ~ TRAIN + MOT + ENV + COMP + edu + years",
                         cluster="commune_code")
        return fr.X, fr.y, fr.cluster, 999, "rademacher"
    G, wt, reps = {"g23_9999": (23, "rademacher", 9999), "g8_webb": (8, "webb", 999),
                   "g6_enumerated": (6, "rademacher", 999)}[name]
    n = 160
    cl = np.sort(np.concatenate([np.arange(G), rng.integers(0, G, n - G)]))
    X = np.column_stack([np.ones(n), rng.normal(size=(n, 3)) + rng.normal(size=(G, 1))[cl]])
    y = X @ np.array([1.0, 0.3, -0.2, 0.0]) + rng.normal(size=n) + rng.normal(size=G)[cl]
    return X, y, cl, reps, wt


@pytest.mark.parametrize("name", ["g23_9999", "g8_webb", "g6_enumerated", "study"])
def test_fast_wild_decisions_are_the_library_order_decisions(name, monkeypatch):
    X, y, cl, reps, wt = _case(name)
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    exact_calls = 0
    for j in range(1, 3 if reps > 999 else min(X.shape[1], 4)):
        se = 0.1 * max(1.0, abs(b[j]))
        fast = wild_test(X, y, cl, j, estimate=b[j], se_cr1=se, reps=reps, seed=5,
                         weights_type=wt)
        inv = _Inversion(X, y, cl, j, reps, 5, wt)
        # the library-order bisection runs on this same test (built from the same arguments
        # as wild_test builds it: its pvalue reads the test and changes nothing, so the
        # interval is the one of a fresh build; the test is built once instead of twice)
        built = []

        def same_test(*args, inv=inv, j=j, built=built):
            assert args[0] is X and args[1] is y and args[2] is cl and args[3:] == (j, reps, 5, wt)
            built.append(args)
            return inv

        with monkeypatch.context() as m:
            m.setattr(_wild, "_Inversion", same_test)
            slow = wild_test(X, y, cl, j, estimate=b[j], se_cr1=se, reps=reps, seed=5,
                             weights_type=wt, fast=False)
        assert len(built) == 1
        assert fast == slow, (name, j)             # p, both ends, draws, weights: to the bit
        assert inv.p0 == inv.pvalue(None)
        # a grid across the interval and points within 1e-9..1e-3 of both ends: every fast
        # p-value is the library-order float
        ends = np.array(fast[1:3])
        for r in np.linspace(ends[0] - se, ends[1] + se, 21 if reps > 999 else 41):
            assert inv.pvalue_fast(r) == inv.pvalue(r), (name, j, r)
        if name != "g6_enumerated":
            assert inv.n_exact <= 2   # the fast path decided (almost) every step itself
        for r in (ends + s * 10.0 ** -k for s in (-1, 1) for k in (3, 5, 7, 9)):
            for ri in r:   # where the p-value steps; a near-tie is handed to the library order
                assert inv.pvalue_fast(ri) == inv.pvalue(ri), (name, j, ri)
        exact_calls += inv.n_exact
    if name == "g6_enumerated":
        # 2^6 < draws: full enumeration, v = 1 reproduces the sample t exactly, a tie only
        # rounding decides: the library order must decide it
        assert exact_calls > 0


def test_fast_wild_p_value_falls_back_on_undefined_forms():
    X, y, cl, reps, wt = _case("g8_webb")
    inv = _Inversion(X, y, cl, 1, reps, 5, wt)
    inv.pvalue_fast(0.1)
    before = inv.n_exact
    inv._se = np.nan          # no usable standard error: the library order must answer
    assert inv.pvalue_fast(0.1) == inv.pvalue(0.1)
    assert inv.n_exact == before + 1


# ----------------------------------------------------------------------------- SEM
LAV = FIX / "lavaan"
PD = pd.read_csv(LAV / "political_democracy.csv")
HSM = pd.read_csv(LAV / "hs1939_missing.csv")
M_PD = "ind60 =~ x1 + x2 + x3\ndem60 =~ y1 + y2 + y3 + y4\ndem60 ~ ind60"
M_HS2 = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\ntextual ~ visual"


@pytest.fixture(scope="module")
def fitted():
    """``fitted(data, model, **kw)``: ``sem(data, model, **kw)`` made once in this module for
    the fits several tests read (``data``: a name of :func:`_data`).  The tests only read them
    (one alters a copy of a fit's dictionary), and what they compare does not depend on the
    memos a fit's RAM and data keep (tested to give a fresh computation's numbers)."""
    from hlstudy.sem import sem

    fits = {}

    def fit(data, model, **kw):
        key = (data, model, tuple(sorted(kw.items())))
        if key not in fits:
            fits[key] = sem(_data(data), model, **kw)
        return fits[key]

    return fit


def _data(name):
    return {"PD": PD, "HSM": HSM}[name] if name in ("PD", "HSM") else _fiml_case(name)[0]


def _gfi_kron(fit):
    """GFI/AGFI as before: quadratic forms in 0.5 D'(V kron V)D with fixed-x rows zeroed."""
    from hlstudy.sem._fit import _kron_vech

    mod, data = fit["model"], fit["data"]
    sigma, mu, *_ = fit["ram"].implied(fit["x"])
    p = data.p
    v = np.linalg.inv(sigma)
    v = 0.5 * (v + v.T)
    tri = np.tril_indices(p)
    xi = {mod.observed.index(x) for x in mod.ov_x}
    keep_v = np.array([not (a in xi and b in xi) for a, b in zip(*tri, strict=True)])
    w = 0.5 * _kron_vech(v, v) * np.outer(keep_v, keep_v)
    s_vec, e_vec = data.cov[tri], (data.cov - sigma)[tri]
    t1, t2, k = e_vec @ w @ e_vec, s_vec @ w @ s_vec, len(s_vec)
    if mod.meanstructure:
        keep_m = np.array([j not in xi for j in range(p)], dtype=float)
        vm = v * np.outer(keep_m, keep_m)
        d = data.mean - mu
        t1 += d @ vm @ d
        t2 += data.mean @ vm @ data.mean
        k += p
    gfi = 1 - t1 / t2
    return gfi, 1 - (k / fit["df"]) * (1 - gfi)


@pytest.mark.parametrize("kind", ["complete", "fiml_fixed_x"])
def test_gfi_by_traces_equals_the_kronecker_form(kind, fitted):
    from hlstudy.sem import sem

    if kind == "complete":
        res = fitted("PD", M_PD)
    else:   # observed covariates (fixed x: their moments are dropped) and a mean structure
        d = HSM.copy()
        d["age"] = np.arange(len(d)) % 7 + 0.5 * (np.arange(len(d)) % 3)
        res = sem(d, "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\n"
                     "visual ~ age + x9\ntextual ~ age", missing="ml")
        assert res.model.ov_x
    gfi, agfi = _gfi_kron(res._fitinfo)
    fm = res.fit_measures()
    assert fm["gfi"] == pytest.approx(gfi, rel=1e-13, abs=1e-14)
    assert fm["agfi"] == pytest.approx(agfi, rel=1e-13, abs=1e-14)


def _kron_vech_whole(a, b):
    """The former one-piece construction of D'(A kron B)D (reference)."""
    i, j = np.tril_indices(a.shape[0])
    half = np.where(i == j, 0.5, 1.0)
    ajl, bjl = a[np.ix_(i, j)], b[np.ix_(i, j)]
    out = (a[np.ix_(i, i)] * b[np.ix_(j, j)] + ajl * bjl.T + ajl.T * bjl
           + a[np.ix_(j, j)] * b[np.ix_(i, i)])
    out *= half[:, None]
    out *= half[None, :]
    return out


@pytest.mark.parametrize("chunk", [1, 7, 128, 10_000])
def test_kron_vech_in_blocks_is_the_whole_construction_to_the_bit(chunk):
    from hlstudy.sem._fit import _kron_vech

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(9, 9)), rng.normal(size=(9, 9))
    a, b = a @ a.T, b + b.T
    b[0, 1] += 1e-3            # a non-symmetric B: the formula's own index order still holds
    assert np.array_equal(_kron_vech(a, b, chunk=chunk), _kron_vech_whole(a, b))
    out = np.full((50, 50), np.nan)
    _kron_vech(a, b, out=out[5:, 5:], chunk=chunk)   # written into a view
    assert np.array_equal(out[5:, 5:], _kron_vech_whole(a, b)) and np.isnan(out[:5]).all()


def test_h1_information_with_scores_gives_the_same_information():
    from hlstudy.sem._fit import Data, h1_information, h1_information_reference

    y = HSM[[f"x{k}" for k in range(1, 10)]].to_numpy(float)
    d = Data.missing(y[~np.isnan(y).all(axis=1)])   # sem() drops rows missing every item
    keep = np.ones(d.p + d.p * (d.p + 1) // 2, dtype=bool)
    keep[d.p + 3] = False      # as a fixed-x moment would be
    a1, b1 = h1_information(d, keep)
    a1s, none, s = h1_information(d, keep, return_scores=True)
    assert none is None and np.array_equal(a1, a1s)
    np.testing.assert_allclose(s.T @ s / d.n, b1, rtol=0, atol=1e-15)
    a0, b0 = h1_information_reference(d, keep)
    np.testing.assert_allclose(a1, a0, atol=1e-12)
    np.testing.assert_allclose(b1, b0, atol=1e-12)


# ----------------------------------------------------------------------------- model frames
@pytest.mark.parametrize("formula", ["y ~ a + b + k", "y ~ b + a - 1", "y ~ 0 + k", "y ~ a + 1",
                                     "k ~ a", "y ~ a + a + b"])
def test_numeric_design_without_patsy_is_patsys_design(formula, monkeypatch):
    from hlstudy.models import _frame

    rng = np.random.default_rng(5)
    df = pd.DataFrame({"y": rng.normal(size=40), "a": rng.normal(size=40),
                       "b": rng.normal(size=40).astype(np.float32),
                       "k": rng.integers(0, 9, 40), "g": np.repeat(list("pqrst"), 8)})
    df.loc[3, "a"] = np.nan
    fast = _frame.model_frame(df, formula, cluster="g")
    assert _frame._numeric_main_effects(formula, fast.data) is not None
    monkeypatch.setattr(_frame, "_numeric_main_effects", lambda *a: None)
    slow = _frame.model_frame(df, formula, cluster="g")
    assert np.array_equal(fast.X, slow.X) and np.array_equal(fast.y, slow.y)
    assert fast.X.flags["F_CONTIGUOUS"] == slow.X.flags["F_CONTIGUOUS"]
    assert (fast.columns, fast.term_columns, fast.outcome, fast.n_dropped) == \
        (slow.columns, slow.term_columns, slow.outcome, slow.n_dropped)
    assert np.array_equal(fast.cluster, slow.cluster)


@pytest.mark.parametrize("formula", ["y ~ a + C(k)", "y ~ a + f", "y ~ a + t", "y ~ a:b",
                                     "y ~ np.log(b)", "y ~ I(a * 2)", 'y ~ Q("a")'])
def test_other_designs_are_left_to_patsy(formula):
    from hlstudy.models._frame import _numeric_main_effects

    df = pd.DataFrame({"y": [1.0, 2, 3, 5], "a": [0.5, 1, 2, 1], "b": [1.0, 2, 3, 4],
                       "k": [1, 2, 1, 2], "f": ["u", "v", "u", "v"], "t": [True, False] * 2})
    assert _numeric_main_effects(formula, df) is None


def test_two_operand_einsum_of_the_fiml_gradient_is_the_three_operand_one():
    # fiml_sums forms sum_k n_k Q_k'Q_k as einsum("kmp,kmq->pq", n_k Q, Q): the same
    # products ((n_k q_p) q_q) summed in the same order as einsum("k,kmp,kmq->pq", ...)
    from hlstudy.sem._fit import Data

    y = HSM[[f"x{k}" for k in range(1, 10)]].to_numpy(float)
    d = Data.missing(y[~np.isnan(y).all(axis=1)])
    v = np.linalg.inv(d.cov)
    rng = np.random.default_rng(2)
    for mis, _rows, _pat, n_k in d.missing_sets:
        vmm = v[mis[:, :, None], mis[:, None, :]]
        qt = np.linalg.solve(np.linalg.cholesky(vmm), v[mis])
        for nk in (n_k, rng.integers(1, 40, len(n_k)).astype(float)):
            assert np.array_equal(np.einsum("k,kmp,kmq->pq", nk, qt, qt),
                                  np.einsum("kmp,kmq->pq", qt * nk[:, None, None], qt))


# ----------------------------------------------------------------------------- drivers
def test_cluster_bootstrap_by_cluster_blocks_equals_the_row_weighted_draws():
    """drivers.indirect_bootstrap with ``cluster`` forms X'WX from per-cluster X_g'X_g (G terms
    per draw); the former row-weighted form (n terms) gives the same draws up to rounding."""
    import hlstudy
    from hlstudy import drivers
    from hlstudy.sem._boot import norm_inter

    data = drivers.driver_data(hlstudy.load_study())
    st = {"MOT": ["TRAIN", "COMP", "ENV"], "PRO": ["TRAIN", "COMP", "ENV", "MOT", "EDU"]}
    res = drivers.indirect_bootstrap(data, st, bootstrap=300, seed=9, cluster="commune_code",
                                     causes=["TRAIN", "ENV"])
    # the row-weighted computation, the same resampled communes (same generator calls)
    d = data[sorted(set(st) | {p for ps in st.values() for p in ps}) + ["commune_code"]]
    d = d.dropna().reset_index(drop=True)
    codes, groups = np.unique(d["commune_code"].astype(str).to_numpy(), return_inverse=True)
    g = len(codes)
    picks = np.random.default_rng(9).integers(0, g, size=(300, g))
    counts = np.zeros((300, g))
    np.add.at(counts, (np.repeat(np.arange(300), g), picks.ravel()), 1.0)
    w = counts[:, groups]
    beta = {}
    for y, preds in st.items():
        x = np.column_stack([np.ones(len(d)), d[preds].to_numpy(float)])
        xtwx = np.einsum("bn,ni,nj->bij", w, x, x)
        xtwy = np.einsum("bn,ni,n->bi", w, x, d[y].to_numpy(float))
        beta[y] = np.linalg.solve(xtwx, xtwy[..., None])[..., 0]
    draws = np.column_stack([beta["MOT"][:, 1 + st["MOT"].index(c)] * beta["PRO"][:, 4]
                             for c in ("TRAIN", "ENV")])
    ind = res[res["kind"] == "indirect"].set_index("cause").loc[["TRAIN", "ENV"]]
    np.testing.assert_allclose(ind["se"], draws.std(axis=0, ddof=1), rtol=1e-9)
    ci = norm_inter(draws, [0.025, 0.975])
    np.testing.assert_allclose(ind["ci.lower"], ci[0], rtol=1e-9)
    np.testing.assert_allclose(ind["ci.upper"], ci[1], rtol=1e-9)


# ----------------------------------------------------------------------------- SEM fit measures
def _fiml_corrected_dense(fit, base, df, bdf, *, version):
    """The former dense construction of lavaan's FIML-corrected indices (reference): Wc
    formed as a (p + nv) x (p + nv) matrix, Wm^-1 by an LU inverse, T Wm D as T (Wm D)."""
    from scipy import stats

    from hlstudy.sem._fit import _kron_vech
    from hlstudy.sem.core import _cfi, _complete_f, _rmsea_ci, _tli

    data, ram = fit["data"], fit["ram"]
    n, p = data.n, data.p
    tri = np.tril_indices(p)
    wm, _, s1 = fit["_h1"]
    vt = np.linalg.inv(data.cov)
    wc = np.zeros_like(wm)
    wc[:p, :p] = vt
    wc[p:, p:] = 0.5 * _kron_vech(vt, vt)
    wmi = np.linalg.inv(wm)
    wmi = 0.5 * (wmi + wmi.T)
    t_mat = s1 @ wmi
    tr_wc_wmi = float(np.sum(wc * wmi))
    tr_wc_gamma = float(np.sum((t_mat @ wc) * t_mat)) / n

    def trace_k(ram_, x_):
        ds, dm = ram_.jacobian(x_)
        delta = np.hstack([dm, ds[:, tri[0], tri[1]]]).T
        wd = wm @ delta
        e_inv = np.linalg.inv(delta.T @ wd)
        dwcd = delta.T @ (wc @ delta)
        if version == "V6":
            return tr_wc_wmi - float(np.sum(e_inv * dwcd.T))
        td = t_mat @ wd
        twcd = t_mat @ (wc @ delta)
        mid = (twcd.T @ td) / n
        dgd = (td.T @ td) / n
        return (tr_wc_gamma - 2.0 * float(np.sum(e_inv * mid.T))
                + float(np.sum((e_inv @ dwcd) * (e_inv @ dgd).T)))

    sig, mu, *_ = ram.implied(fit["x"])
    xx3 = n * _complete_f(sig, mu, data.cov, data.mean)
    c3 = trace_k(ram, fit["x"]) / df
    bsig, bmu, *_ = base["ram"].implied(base["x"])
    xx3_null = n * _complete_f(bsig, bmu, data.cov, data.mean)
    c3_null = trace_k(base["ram"], base["x"]) / bdf
    xs = xx3 / c3
    lo, hi = _rmsea_ci(xs, df, n, c3)
    tli = _tli(xx3, df, xx3_null, bdf, c3, c3_null)
    return {"c3": c3, "c3_null": c3_null, "tr_wc_wmi": tr_wc_wmi, "tr_wc_gamma": tr_wc_gamma,
            "cfi.robust": _cfi(xx3, df, xx3_null, bdf, c3, c3_null), "tli.robust": tli,
            "nnfi.robust": tli,
            "rni.robust": float(1 - (xx3 - c3 * df) / (xx3_null - c3_null * bdf)),
            "rmsea.robust": float(np.sqrt(max(xx3 / n / df - c3 / n, 0.0))),
            "rmsea.ci.lower.robust": lo, "rmsea.ci.upper.robust": hi,
            "rmsea.pvalue.robust": float(stats.ncx2.sf(xs, df, n * df / c3 * 0.05**2)),
            "rmsea.notclose.pvalue.robust": float(stats.ncx2.cdf(xs, df, n * df / c3 * 0.08**2))}


def _random_missing(n=180, p=8, seed=4, rate=0.15):
    """Two correlated factors, Likert-like skew, MCAR holes (up to 4 per row)."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 2)) @ np.array([[1.0, 0.0], [0.4, 0.9]])
    lam = np.zeros((2, p))
    lam[0, : p // 2] = rng.uniform(0.6, 1.0, p // 2)
    lam[1, p // 2:] = rng.uniform(0.6, 1.0, p - p // 2)
    y = f @ lam + rng.gamma(2.0, 0.5, size=(n, p))
    hole = rng.random((n, p)) < rate
    hole[:10, :4] = True     # a few rows missing four items: pairs j1 < j2 of every order
    hole[hole.sum(axis=1) == p] = False
    y[hole] = np.nan
    cols = [f"y{k}" for k in range(p)]
    model = (f"f1 =~ {' + '.join(cols[: p // 2])}\nf2 =~ {' + '.join(cols[p // 2:])}")
    return pd.DataFrame(y, columns=cols), model


def _study_missing():
    import hlstudy
    from hlstudy.scales import scale_items

    items = scale_items("officials")
    first = dict(list(items.items())[:3])
    cols = [c for v in first.values() for c in v]
    model = "\n".join(f"{k} =~ " + " + ".join(v) for k, v in first.items())
    return hlstudy.load_study().officials[cols].reset_index(drop=True), model


@functools.cache
def _fiml_case(name):
    """``(data, model)`` of a FIML case, made once per process (the fits, the models the tests
    name and the fixed-x variant only read the frame)."""
    if name == "hs":
        return HSM, "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
    if name == "random":
        return _random_missing()
    return _study_missing()


@pytest.mark.parametrize("name", ["hs", "random", "study"])
@pytest.mark.parametrize("estimator", ["MLR", "ML"])
def test_fiml_corrected_indices_equal_the_dense_construction(name, estimator, fitted):
    """Wc never formed, Wm^-1 by potri on the cached Cholesky factor, T Wm D = S1 D, a
    baseline's zero rows of Delta skipped: the same indices as the dense route to rounding."""
    from hlstudy.sem import core

    res = fitted(name, _fiml_case(name)[1], missing="ml", estimator=estimator)
    assert res.converged
    fit = res._fitinfo
    assert fit["data"].fiml and np.isnan(fit["data"].y).any()
    version = "V3" if estimator == "MLR" else "V6"
    base = core._fit_baseline(fit)
    ref = _fiml_corrected_dense(fit, base, fit["df"], base["df"], version=version)
    fm = res.fit_measures()
    for k in ("cfi.robust", "tli.robust", "rni.robust", "rmsea.robust", "rmsea.ci.lower.robust",
              "rmsea.ci.upper.robust", "rmsea.pvalue.robust", "rmsea.notclose.pvalue.robust"):
        assert fm[k] == pytest.approx(ref[k], rel=1e-10, abs=1e-12), k
    # and a fresh computation (no cached h1 pieces) gives the cached one's numbers exactly
    fresh = {k: v for k, v in fit.items() if not k.startswith("_")}
    again = core._fiml_corrected(fresh, base, fit["df"], base["df"], version=version)
    assert again == {k: fm[k] for k in again}


@pytest.mark.parametrize("version", ["V3", "V6"])
def test_fiml_corrected_without_cholesky_falls_back_to_the_inverse(version, fitted):
    from hlstudy.sem import core

    # the simulated data's fit of the test above (a copy of its dictionary is altered)
    res = fitted("random", _random_missing()[1], missing="ml",
                 estimator="MLR" if version == "V3" else "ML")
    fit = dict(res._fitinfo)
    base = core._fit_baseline(fit)
    core._h1_factor(fit, None)
    fit["_h1_chol"] = None     # as when A1 is not numerically positive definite
    fit.pop("_h1_half", None)
    got = core._fiml_corrected(fit, base, fit["df"], base["df"], version=version)
    ref = _fiml_corrected_dense(fit, base, fit["df"], base["df"], version=version)
    assert got
    for k, v in got.items():
        assert v == pytest.approx(ref[k], rel=1e-10, abs=1e-12), k


def test_fiml_corrected_is_left_out_with_fixed_x_covariates():
    from hlstudy.sem import sem

    d = HSM.copy()
    d["age"] = np.arange(len(d)) % 7 + 0.5 * (np.arange(len(d)) % 3)
    res = sem(d, "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nvisual ~ age",
              missing="ml", estimator="MLR")
    fm = res.fit_measures()
    assert res.model.ov_x and "cfi.robust" not in fm.index and np.isfinite(fm["chisq.scaled"])


def test_kron_vech_inner_on_the_lower_triangle_is_the_full_trace():
    from hlstudy.sem._fit import _kron_vech, _kron_vech_inner_tril

    rng = np.random.default_rng(6)
    for p, chunk in ((9, 7), (9, 128), (13, 1), (13, 30)):
        a = rng.normal(size=(p, p))
        a = a @ a.T
        nv = p * (p + 1) // 2
        m = rng.normal(size=(nv, nv))
        m = m + m.T
        full = float(np.sum(_kron_vech(a, a) * m))
        m_low = np.tril(m) + np.triu(rng.normal(size=(nv, nv)), 1)   # upper triangle: noise
        got = _kron_vech_inner_tril(a, a, m_low, chunk=chunk)
        assert got == pytest.approx(full, rel=1e-12)


def _scores_by_pattern(d):
    """Casewise h1 scores built pattern by pattern (the former loop; reference)."""
    p = d.p
    tri = np.tril_indices(p)
    nv = len(tri[0])
    vpos = np.full((p, p), -1)
    vpos[tri] = np.arange(nv)
    vpos[tri[1], tri[0]] = np.arange(nv)
    out = []
    for pt in d.patterns:
        o = pt.obs
        v = np.linalg.inv(d.cov[np.ix_(o, o)])
        z = (pt.y - d.mean[o]) @ v
        sc = np.zeros((pt.n, p + nv))
        sc[:, o] = z
        gg = 0.5 * (z[:, :, None] * z[:, None, :] - v[None])
        ot = np.tril_indices(o.size)
        fac = np.where(ot[0] == ot[1], 1.0, 2.0)
        sc[:, p + vpos[o[ot[0]], o[ot[1]]]] = gg[:, ot[0], ot[1]] * fac
        out.append(sc)
    return np.vstack(out)


@pytest.mark.parametrize("case", ["random", "random_fixed_x_mask", "complete"])
def test_h1_information_by_stacked_rank_one_terms_equals_pattern_by_pattern(case):
    """Pairs j1 <= j2 with doubled weights, one syrk for all rank-one terms, scores for all
    rows at once: A1 and B1 as the pattern-by-pattern formula, the scores to the bit."""
    from hlstudy.sem._fit import Data, h1_information, h1_information_reference

    y = _random_missing()[0].to_numpy(float)
    d = Data.complete(y[~np.isnan(y).any(axis=1)]) if case == "complete" else Data.missing(y)
    assert case == "complete" or max(d.p - pt.obs.size for pt in d.patterns) >= 4
    keep = np.ones(d.p + d.p * (d.p + 1) // 2, dtype=bool)
    if case == "random_fixed_x_mask":
        keep[[1, d.p + 2]] = False      # as fixed-x moments would be
    a1, b1 = h1_information(d, keep)
    a0, b0 = h1_information_reference(d, keep)
    np.testing.assert_allclose(a1, a0, rtol=0, atol=1e-12 * np.abs(a0).max())
    np.testing.assert_allclose(b1, b0, rtol=0, atol=1e-12 * np.abs(b0).max())
    _, _, s = h1_information(d, keep, return_scores=True)
    assert np.array_equal(s, _scores_by_pattern(d)[:, keep])


def test_fiml_sigma_pieces_memo_hits_give_the_misses_numbers_and_new_sigma_misses():
    """fiml_sums keeps the Sigma-only parts for the last Sigma (keyed by its bytes): a hit
    returns the numbers of a fresh computation to the bit; another Sigma is recomputed."""
    from hlstudy.sem._fit import Data, fiml_sums

    y = HSM[[f"x{k}" for k in range(1, 10)]].to_numpy(float)
    y = y[~np.isnan(y).all(axis=1)]
    d = Data.missing(y)
    # a fresh computation: a copy of d as Data.missing(y) made it (what Data.missing(y) would
    # make again, memo of its EM's last Sigma included), without running the EM again
    pristine = copy.deepcopy(d)
    sigma, mu = d.cov.copy(), d.mean.copy()
    mu2 = mu + 0.1
    sigma2 = sigma + 0.05 * np.eye(d.p)

    def fresh(s, m, gradient):
        return fiml_sums(copy.deepcopy(pristine), s, m, gradient=gradient)

    def same(a, b):
        if isinstance(a, float):
            return a == b
        return all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))

    seq = [(sigma, mu, False), (sigma, mu, True), (sigma, mu2, True), (sigma, mu2, False),
           (sigma2, mu, True), (sigma2, mu2, False), (sigma, mu, True)]
    keys = []
    for s, m, g in seq:
        assert same(fiml_sums(d, s, m, gradient=g), fresh(s, m, g)), (g,)
        keys.append(d._sigma_memo[0])
    assert keys[0] == keys[1] == keys[2] == keys[3] == sigma.tobytes()
    assert keys[4] == keys[5] == sigma2.tobytes() and keys[6] == sigma.tobytes()
    # a Sigma that is not positive definite: None, remembered; then a good one again
    bad = sigma.copy()
    bad[0, 0] = -1.0
    assert fiml_sums(d, bad, mu, gradient=True) is None
    assert fiml_sums(d, bad, mu, gradient=False) is None
    assert same(fiml_sums(d, sigma, mu, gradient=True), fresh(sigma, mu, True))


def test_sigma_inverse_memo_hits_give_the_misses_numbers_and_new_sigma_misses():
    """Problem keeps inv(Sigma) for the last Sigma (keyed by its bytes), shared by the
    complete-data gradient and expected information of one point: a hit gives a fresh
    Problem's numbers to the bit, and a step that changes Sigma is computed anew."""
    from hlstudy.sem import core
    from hlstudy.sem._fit import Data, Problem
    from hlstudy.sem._model import RAM, build_model

    mod = build_model(M_PD)
    y, _ = core._prepare(PD, mod, "listwise")
    d = Data.complete(y)
    x0 = core._start(mod, RAM(mod), d, False) + 0.01 * (np.arange(mod.n_free) % 3)

    def fresh():
        return Problem(RAM(mod), Data.complete(y), mod.meanstructure)

    prob = fresh()
    k_var = next(p.pid for p in mod.pars if p.pid >= 0 and p.op == "~~")
    for x in (x0, x0 + np.eye(mod.n_free)[k_var] * 1e-3, x0):
        sigma = prob._implied(x)[0]
        for what in ("gradient", "expected_hessian", "curvature"):
            got, want = getattr(prob, what)(x), getattr(fresh(), what)(x)
            got, want = (got, want) if what != "curvature" else (np.hstack([got[0], got[1].ravel()]),
                                                                np.hstack([want[0], want[1].ravel()]))
            assert np.array_equal(got, want), what
        key, v = prob._inv_memo
        assert key == sigma.tobytes() and np.array_equal(v, np.linalg.inv(sigma))
        assert prob._sigma_inverse(sigma.copy()) is v          # a hit: the same array
    # matrices from the free slots kept per model are the matrices of the parameter vector
    ram = RAM(mod)
    for x in (x0, x0[::-1].copy()):
        a, s, m = ram.matrices(x)
        for arr, mat in ((ram.a, a), (ram.s, s)):
            vals = RAM._values(arr, x)
            assert np.array_equal(mat[arr[0], arr[1]], vals)
        assert np.count_nonzero(a) <= len(ram.a[0]) and np.array_equal(s, s.T)


def test_ram_remembers_e_for_the_same_a_only(fitted):
    from hlstudy.sem._model import RAM

    res = fitted("HSM", M_HS2, missing="ml")
    mod, x = res.model, res._fitinfo["x"]
    ram = RAM(mod)
    kinds = {p.pid: p.kind for p in mod.pars if p.pid >= 0}
    k_s = next(k for k, v in kinds.items() if v == "S")
    k_a = next(k for k, v in kinds.items() if v == "A")
    ram.implied(x)
    for k, same_a in ((k_s, True), (k_a, False)):
        xk = x.copy()
        xk[k] += 1e-3
        e_before = ram._e_memo[1]
        got = ram.implied(xk)
        want = RAM(mod).implied(xk)
        assert all(np.array_equal(u, v) for u, v in zip(got, want, strict=True))
        assert (got[2] is e_before) == same_a
        ram.implied(x)


@pytest.mark.parametrize("model", [
    M_HS2, "visual =~ x1 + a*x2 + a*x3\ntextual =~ x4 + b*x5 + b*x6\nx1 ~~ c*x4\nx2 ~~ c*x5"])
def test_slot_selection_is_the_slot_matrix_product_to_the_bit(model, fitted):
    """One slot per free parameter: the 0/1 slot-to-parameter products become selections
    (gradient, expected information, casewise scores: the same floats); with equality labels
    (two slots for one parameter) the matrix product is kept."""
    from hlstudy.sem._model import RAM

    res = fitted("HSM", model, missing="ml")
    fit = res._fitinfo
    ram, prob, x = fit["ram"], fit["problem"], fit["x"]
    labelled = "a*" in model
    assert (ram.slot_index() is None) == labelled
    y = np.random.default_rng(1).normal(size=(4, ram.slot_matrix().shape[0]))
    assert np.array_equal(ram.to_params(y), y @ ram.slot_matrix())
    # the same computations through the matrix product (a RAM told it has no selection)
    plain = RAM(res.model)
    plain._sidx = None
    plain.set_fixed_x(fit["data"].cov, fit["data"].mean)
    sigma, mu, e, sall, mall = ram.implied(x)
    v = np.linalg.inv(sigma)
    v = 0.5 * (v + v.T)
    assert np.array_equal(ram.expected_info(v, e, sall, mall, True),
                          plain.expected_info(v, e, sall, mall, True))
    w, gmu = prob.moment_gradient(sigma, mu)
    assert np.array_equal(ram.contract(w, gmu, e, sall, mall),
                          plain.contract(w, gmu, e, sall, mall))
    prob_plain = type(prob)(plain, fit["data"], True)
    assert np.array_equal(prob.casewise_scores(x), prob_plain.casewise_scores(x))


# ----------------------------------------------------------------------------- SEM bootstrap
def test_bootstrap_draws_polished_by_quasi_newton_reach_each_draws_optimum(fitted):
    """The draws' scoring-then-BFGS refit lands within 1e-5 of the draw's optimum (scoring to
    1e-6 alone was within 2.6e-6 on these draws), with FIML draws too; a polish whose first
    step raises F stops at its start and reports "failed" (the damped scoring then takes
    over)."""
    from hlstudy.cfa._estimate import _damped_newton
    from hlstudy.sem._boot import _refit, quasi_newton_polish
    from hlstudy.sem._fit import Data, Problem
    from hlstudy.sem.core import _prepare

    cases = [("PD", M_PD, {}), ("HSM", M_HS2, {"missing": "ml"})]
    for name, model, kw in cases:
        res = fitted(name, model, **kw)
        data = _data(name)
        fit = res._fitinfo
        y, _ = _prepare(data, fit["model"], kw.get("missing", "listwise"))
        rng = np.random.default_rng(11)
        for _ in range(4):
            yb = y[rng.integers(0, len(y), len(y))]
            x_b, _ = _refit(fit, yb, fit["x"])
            d = Data.missing(yb, em=False) if fit["data"].fiml else Data.complete(yb)
            prob = Problem(fit["ram"], d, fit["model"].meanstructure)
            tight = _damped_newton(prob, x_b, prob.objective(x_b), prob.curvature,
                                   max_iter=300, step_tol=1e-12, grad_tol=1e-9)
            assert tight[3] == "converged"
            assert np.max(np.abs(x_b - tight[0])) < 1e-5
            assert np.max(np.abs(x_b - fit["x"])) > 1e-3    # the draw did move
    g, c = prob.curvature(fit["x"])
    x0, f0 = fit["x"], prob.objective(fit["x"])
    x, f, _, msg = quasi_newton_polish(prob, x0, f0, g, c * 1e-4, step_tol=1e-6)
    assert msg == "failed" and x is x0 and f == f0


# ----------------------------------------------------------------------------- RMSEA interval
def _rmsea_ci_reference(chi2, df, n, n_groups=1, level=0.90):
    """cfa.core.rmsea_ci as it was: the root searches through scipy's distributions."""
    from scipy import optimize, stats

    if df <= 0:
        return 0.0, 0.0, 0.0
    rmsea = np.sqrt(max((chi2 / n) / df - 1.0 / n, 0.0)) * np.sqrt(n_groups)
    upper_p, lower_p = 1 - (1 - level) / 2, (1 - level) / 2

    def cdf(ncp):
        return stats.ncx2.cdf(chi2, df, ncp) if ncp > 0 else stats.chi2.cdf(chi2, df)

    if df < 1 or cdf(0) < upper_p:
        low = 0.0
    else:
        lam = optimize.brentq(lambda x: cdf(x) - upper_p, 0, chi2, xtol=1e-12)
        low = np.sqrt(lam / (n * df)) * np.sqrt(n_groups)
    top = max(n, chi2 * 4)
    if df < 1 or cdf(top) - lower_p > 0 or cdf(0) < lower_p:
        high = 0.0
    else:
        lam = optimize.brentq(lambda x: cdf(x) - lower_p, 0, top, xtol=1e-12)
        high = np.sqrt(lam / (n * df)) * np.sqrt(n_groups)
    return float(rmsea), float(low), float(high)


def test_chisq_cdf_is_scipys_distribution_float_for_float():
    from scipy import stats

    from hlstudy.cfa.core import chisq_cdf

    rng = np.random.default_rng(8)
    xs = np.concatenate([rng.uniform(0, 3000, 300), [1e-300, 0.5, 1.0, 1e6]])
    dfs = np.concatenate([rng.integers(1, 2000, 300), [1, 2, 24, 1618]]).astype(float)
    ncps = np.concatenate([rng.uniform(0, 4000, 300) * (rng.random(300) < 0.8), [0.0, 1e-12, 5e4, 0.0]])
    for x, df, ncp in zip(xs, dfs, ncps, strict=True):
        want = stats.ncx2.cdf(x, df, ncp) if ncp > 0 else stats.chi2.cdf(x, df)
        got = chisq_cdf(x, df, ncp)
        assert np.float64(got).tobytes() == np.float64(want).tobytes(), (x, df, ncp)
        assert chisq_cdf(np.float64(x), int(df), ncp) == got   # numpy and integer arguments
    for x, df, ncp in [(0.0, 5, 2.0), (0.0, 5, 0.0), (np.inf, 5, 1.0), (np.nan, 5, 1.0),
                       (3.0, 0.0, 1.0), (3.0, -1.0, 0.0), (3.0, 2.0, np.inf), (-1.0, 3, 0.0)]:
        want = stats.ncx2.cdf(x, df, ncp) if ncp > 0 else stats.chi2.cdf(x, df)
        got = chisq_cdf(x, df, ncp)   # outside the support: scipy's own answer
        assert (np.isnan(got) and np.isnan(want)) or got == want, (x, df, ncp)


@pytest.mark.parametrize("chi2, df, n, groups", [
    (85.3, 24, 301, 1), (1773.197, 1618, 259, 1), (10.0, 24, 301, 1), (24.0, 24, 50, 1),
    (3000.0, 40, 120, 2), (0.0, 5, 100, 1), (2.5, 0.5, 80, 1), (7.0, 0, 80, 1), (52.0, 8, 75, 1),
    (400.0, 300, 1000, 3)])
def test_rmsea_interval_is_the_one_through_scipys_distributions(chi2, df, n, groups):
    from hlstudy.cfa.core import rmsea_ci
    from hlstudy.sem.core import _rmsea_ci

    want = _rmsea_ci_reference(chi2, df, n, groups)
    assert rmsea_ci(chi2, df, n, groups) == want
    for c_hat in (1.0, 1.37):
        assert _rmsea_ci(chi2, df, n, c_hat=c_hat) == _sem_rmsea_ci_reference(chi2, df, n, c_hat)


def _sem_rmsea_ci_reference(x2, df, n, c_hat):
    """sem.core._rmsea_ci as it was (lavaan's c.hat multiplier, no groups)."""
    from scipy import optimize, stats

    level = 0.90
    upper_p, lower_p = 1 - (1 - level) / 2, (1 - level) / 2

    def cdf(ncp):
        return stats.ncx2.cdf(x2, df, ncp) if ncp > 0 else stats.chi2.cdf(x2, df)

    if df < 1 or cdf(0) - upper_p < 0:
        low = 0.0
    else:
        lam = optimize.brentq(lambda v: cdf(v) - upper_p, 0, x2, xtol=1e-12)
        low = float(np.sqrt(c_hat * lam / (n * df)))
    top = max(n, x2 * 4)
    if df < 1 or cdf(top) - lower_p > 0 or cdf(0) - lower_p < 0:
        high = 0.0
    else:
        lam = optimize.brentq(lambda v: cdf(v) - lower_p, 0, top, xtol=1e-12)
        high = float(np.sqrt(c_hat * lam / (n * df)))
    return low, high


def test_two_sided_p_is_scipys_normal_float_for_float():
    from scipy import stats

    from hlstudy.sem.core import two_sided_p

    rng = np.random.default_rng(9)
    zs = np.concatenate([rng.normal(0, 3, 500), rng.normal(0, 1e-3, 50), [0.0, -0.0, 8.3, -40.0,
                                                                         1e-300, 38.5]])
    for z in zs:
        for zz in (z, float(z)):
            want = 2 * stats.norm.sf(abs(zz))
            assert np.float64(two_sided_p(zz)).tobytes() == np.float64(want).tobytes(), zz
    assert all(np.isnan(two_sided_p(z)) for z in (np.nan, np.inf, -np.inf))


def test_chisq_sf_and_nct_cdf_are_scipys_floats():
    from scipy import stats

    from hlstudy.cfa.core import chisq_sf
    from hlstudy.models.power import nct_cdf

    rng = np.random.default_rng(10)
    for x, df in zip(np.concatenate([rng.exponential(5, 400), [1e-300, 1e-9, 40.0, 900.0]]),
                     np.concatenate([rng.integers(1, 30, 400), [1, 1, 1, 2]]), strict=True):
        assert np.float64(chisq_sf(x, df)).tobytes() == np.float64(stats.chi2.sf(x, df)).tobytes()
    for x, df in [(0.0, 1), (-1e-12, 1), (np.inf, 1), (np.nan, 1), (2.0, 0), (2.0, -1)]:
        want, got = stats.chi2.sf(x, df), chisq_sf(x, df)
        assert (np.isnan(want) and np.isnan(got)) or got == want, (x, df)
    xs = np.concatenate([rng.normal(0, 4, 400), [-50.0, 0.0, 1e-300, 60.0]])
    dfs = np.concatenate([rng.uniform(0.5, 800, 400), [3.0, 1.0, 40.0, 2.5]])
    ncs = np.concatenate([rng.normal(2, 3, 400), [0.0, -3.0, 8.0, 37.0]])
    for x, df, nc in zip(xs, dfs, ncs, strict=True):
        assert np.float64(nct_cdf(x, df, nc)).tobytes() == \
            np.float64(stats.nct.cdf(x, df, nc)).tobytes(), (x, df, nc)
    for x, df, nc in [(np.inf, 5, 1.0), (-np.inf, 5, 1.0), (np.nan, 5, 1.0), (1.0, 0.0, 1.0),
                      (1.0, np.inf, 1.0), (1.0, 5, np.nan)]:
        want, got = stats.nct.cdf(x, df, nc), nct_cdf(x, df, nc)
        assert (np.isnan(want) and np.isnan(got)) or got == want, (x, df, nc)


def test_cholesky_factor_and_solve_are_scipys_floats_and_errors():
    """cfa._estimate.cho_factor / cho_solve (the objective of every CFA and SEM fit) call
    LAPACK's dpotrf / dpotrs as scipy.linalg.cho_factor / cho_solve do: the same floats
    (upper triangle left as given), the same errors, and anything else handed to scipy."""
    import scipy.linalg as sla

    from hlstudy.cfa._estimate import cho_factor, cho_solve

    def same(a, b):
        return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()

    rng = np.random.default_rng(12)
    for trial in range(60):
        p = int(rng.integers(1, 16))
        a = rng.normal(size=(p, p)) * 10 ** rng.uniform(-3, 3, size=p)
        s = a @ a.T + 1e-3 * np.eye(p)
        if trial % 3 == 1:
            s = np.asfortranarray(s)                     # the order f2py copies into
        elif trial % 3 == 2:
            s = np.tril(s) + np.triu(rng.normal(size=(p, p)), 1)   # upper triangle unused
        c, lower = cho_factor(s)
        ref = sla.cho_factor(s, lower=True, check_finite=False)
        assert lower is True and same(c, ref[0]) and ref[1] is True
        for b in (rng.normal(size=p), rng.normal(size=(p, p)), rng.normal(size=(p, 2))):
            assert same(cho_solve((c, lower), b), sla.cho_solve(ref, b, check_finite=False))
    before = s.copy()
    cho_solve(cho_factor(s), b)
    assert same(s, before)                               # operands are not overwritten
    not_pd = np.array([[1.0, 2.0], [2.0, 1.0]])
    for f in (cho_factor, lambda m: sla.cho_factor(m, lower=True, check_finite=False)):
        with pytest.raises(np.linalg.LinAlgError, match="2-th leading minor"):
            f(not_pd)
    # other dtypes and shapes: scipy's own answer and errors
    ints = np.array([[4, 2], [2, 3]])
    assert same(cho_factor(ints)[0], sla.cho_factor(ints, lower=True, check_finite=False)[0])
    with pytest.raises(ValueError):
        cho_factor(np.ones((2, 3)))
    with pytest.raises(ValueError):
        cho_solve(cho_factor(np.eye(3)), np.ones(2))
    assert same(cho_solve(cho_factor(np.eye(2)), np.array([1, 2])),
                sla.cho_solve((np.eye(2), True), np.array([1, 2]), check_finite=False))
