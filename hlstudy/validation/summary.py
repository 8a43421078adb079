"""Summaries of recovery results: bias, RMSE, coverage, verdict confusion, power.

Monte Carlo standard errors follow Morris, White & Crowther (2019, *Statistics in
Medicine* 38:2074–2102, table 6): bias ``sqrt(var(θ̂)/R)``, coverage ``sqrt(c(1 − c)/R)``,
RMSE by the delta method from the MSE's standard error ``sd((θ̂ − θ)²)/sqrt(R)``.  A
coverage is compatible with its nominal level when the nominal level lies within
``coverage ± 1.96 · MCSE_nominal`` with ``MCSE_nominal = sqrt(0.95 · 0.05 / R)``: the
coverage lies in the band :func:`coverage_band` (drawn in notebook 07), which is the set of
coverages whose Wilson score interval holds the nominal level, cut at 1.  (R: ``rsimsum::simsum(data, estvarname = "estimate", true = "truth",
se = ..., methodvar = "method")``.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from hlstudy.errors import ModelError

NEED = ("quantity", "kind", "method", "truth", "estimate", "ci_low", "ci_high")
VERDICT_ORDER = ("supported", "inconclusive", "not supported", "not testable")


def coverage_band(level: float, n: int) -> tuple[float, float]:
    """The Monte Carlo band of a coverage of ``n`` intervals at the nominal ``level``:
    ``level ± 1.96 · sqrt(level · (1 − level) / n)``, cut to [0, 1].

    A coverage c lies in it exactly when the Wilson score interval of c (``n`` intervals,
    z = 1.96) holds ``level``: the band is the acceptance region of the score test of
    ``level``, whose Wilson interval is the inversion.  Its normal form reaches above 1 when
    ``n`` is small (0.865–1.035 at n = 25); a coverage is a proportion, and every coverage
    up to 1 is then within the band, so its upper end is 1.

    >>> tuple(round(x, 3) for x in coverage_band(0.95, 25))
    (0.865, 1.0)
    """
    if not 0 < level < 1 or int(n) < 1:
        raise ModelError(f"coverage_band needs 0 < level < 1 and n ≥ 1, got {level}, {n}")
    half = 1.96 * float(np.sqrt(level * (1 - level) / int(n)))
    return max(0.0, level - half), min(1.0, level + half)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper–Pearson) interval of a proportion ``k / n`` at ``level``.

    Exact beta-quantile bounds (Clopper & Pearson 1934, *Biometrika* 26:404–413), computed by
    ``statsmodels.stats.proportion.proportion_confint(k, n, alpha=1 − level,
    method="beta")``; R: ``binom.test(k, n, conf.level = level)$conf.int``.  Unlike the MCSE
    ``sqrt(p(1 − p)/n)``, it is not 0 wide at ``k = 0`` or ``k = n``: 0/25 gives
    (0, 0.137).  Returns ``(low, high)`` in [0, 1].

    Raises
    ------
    ModelError : ``n < 1``, ``k`` outside ``0..n`` or ``level`` outside (0, 1).

    >>> tuple(round(x, 3) for x in clopper_pearson(0, 25))
    (0.0, 0.137)
    """
    if not 0 < level < 1 or int(n) < 1 or not 0 <= int(k) <= int(n) or int(k) != k:
        raise ModelError(f"clopper_pearson needs 0 ≤ k ≤ n, n ≥ 1, 0 < level < 1; "
                         f"got k={k}, n={n}, level={level}")
    low, high = proportion_confint(int(k), int(n), alpha=1 - level, method="beta")
    return float(np.nan_to_num(low, nan=0.0)), float(np.nan_to_num(high, nan=1.0))


def _check(results: pd.DataFrame, need=NEED) -> None:
    if not isinstance(results, pd.DataFrame):
        raise ModelError(f"results must be a DataFrame, got {type(results).__name__}")
    missing = [c for c in need if c not in results.columns]
    if missing:
        raise ModelError(f"results lack columns {missing}")


def _verdict_groups(results: pd.DataFrame, by: Sequence[str]):
    """The verdict rows of ``results`` by the columns of ``by`` it has, sorted: pairs of
    ``({column: value}, rows)``.  Raises ModelError (:func:`_check`) when ``results`` lacks
    ``kind, verdict_truth, verdict, quantity``."""
    _check(results, ("kind", "verdict_truth", "verdict", "quantity"))
    d = results[results["kind"] == "verdict"]
    by = [c for c in by if c in d.columns]
    for key, g in d.groupby(by, sort=True):
        yield dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)), g


def summarize(results: pd.DataFrame, by: Sequence[str] = ("scenario", "kind", "method", "quantity"),
              *, level: float = 0.95, center: str = "truth") -> pd.DataFrame:
    """Bias, RMSE and interval coverage per group, with Monte Carlo standard errors.

    Parameters
    ----------
    results : rows of :func:`hlstudy.validation.recovery` (``truth, estimate, ci_low,
        ci_high`` numeric; rows with a missing truth or estimate are left out).
    by : grouping columns (those absent from ``results`` are ignored).
    level : nominal coverage of the intervals (for the band).
    center : ``"truth"`` (coverage of the true value), ``"estimand"`` (of ``truth_estimand``,
        the truth of the quantity the method estimates: the observed-score regression's
        population coefficient for regressions on scale scores, the latent path for the
        latent SEM; rows without it are left out) or ``"mean"`` (coverage of the mean of
        the estimates of the group across replications, per quantity: the *calibration* of
        the intervals, whether they are as wide as the estimator's own spread, whatever its
        bias; e.g. regressions on scale scores, attenuated by measurement error).  With
        ``"mean"`` the ``truth`` column holds that mean and ``bias`` is 0.

    Returns
    -------
    DataFrame: ``by`` columns, ``n_rep, truth`` (mean), ``mean_estimate, bias, bias_mcse,
    rel_bias`` (bias/|truth|, NaN when truth is 0), ``rmse, rmse_mcse, emp_se, coverage,
    coverage_mcse, band_low, band_high`` (nominal ± 1.96 × MCSE at the nominal level, cut
    to [0, 1]: :func:`coverage_band`),
    ``coverage_ok`` (nominal inside coverage ± 1.96 MCSE_nominal), ``rejection`` (share of
    intervals excluding 0: power when truth ≠ 0, type-I error when truth = 0),
    ``mean_width``.  Coverage columns are NaN for groups without intervals.

    Example
    -------
    >>> r = pd.DataFrame({"quantity": "b", "kind": "path", "method": "OLS", "truth": 0.2,
    ...                   "estimate": [0.1, 0.3], "ci_low": [0.0, 0.25], "ci_high": [0.3, 0.4]})
    >>> s = summarize(r, by=["method"])
    >>> float(s["coverage"].iloc[0]), abs(float(s["bias"].iloc[0])) < 1e-12
    (0.5, True)
    """
    _check(results)
    if not 0 < level < 1:
        raise ModelError(f"level must lie in (0, 1), got {level}")
    if center not in ("truth", "mean", "estimand"):
        raise ModelError(f"center must be 'truth', 'estimand' or 'mean', got {center!r}")
    if center == "estimand" and "truth_estimand" not in results.columns:
        raise ModelError("results lack columns ['truth_estimand'] (center='estimand')")
    by = [c for c in by if c in results.columns]
    d = results.copy()
    if center == "estimand":
        d["truth"] = d["truth_estimand"]
    for c in ("truth", "estimate", "ci_low", "ci_high"):
        d[c] = pd.to_numeric(d[c], errors="coerce")
    d = d[np.isfinite(d["truth"]) & np.isfinite(d["estimate"])]
    if center == "mean":
        keys = [c for c in ("scenario", "kind", "method", "quantity") if c in d.columns]
        d["truth"] = d.groupby(keys)["estimate"].transform("mean") if keys else d["estimate"].mean()
    # One pass over numpy slices of the rows sorted (stably) by group: the same values, in
    # the same order within each group, as the per-group pandas reductions (pandas' mean and
    # std are numpy's pairwise sums divided by the count), without pandas' per-group overhead.
    if by:
        gb = d.groupby(by, sort=True, dropna=False)
        codes = gb.ngroup().to_numpy()
        keys = list(gb.size().index)
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
    else:
        keys, order, bounds = [()], np.arange(len(d)), np.array([0, len(d)])
    truth_a = d["truth"].to_numpy(dtype=float)[order]
    est_a = d["estimate"].to_numpy(dtype=float)[order]
    lo_a = d["ci_low"].to_numpy(dtype=float)[order]
    hi_a = d["ci_high"].to_numpy(dtype=float)[order]
    rows = []
    with np.errstate(invalid="ignore", divide="ignore"):
        _rows(rows, by, keys, bounds, truth_a, est_a, lo_a, hi_a, level)
    return pd.DataFrame(rows)


def _rows(rows, by, keys, bounds, truth_a, est_a, lo_a, hi_a, level):
    """The rows of :func:`summarize`, one per group slice ``bounds[j]:bounds[j + 1]``."""
    for j, key in enumerate(keys):
        key = key if isinstance(key, tuple) else (key,)
        sl = slice(bounds[j], bounds[j + 1])
        t, e, lo, hi = truth_a[sl], est_a[sl], lo_a[sl], hi_a[sl]
        r = len(t)
        err = e - t
        bias = float(err.sum() / r)
        emp_se = float(np.std(e, ddof=1)) if r > 1 else np.nan
        sq = err ** 2
        mse = float(sq.sum() / r)
        rmse = float(np.sqrt(mse))
        mse_se = float(np.std(sq, ddof=1) / np.sqrt(r)) if r > 1 else np.nan
        has_ci = np.isfinite(lo) & np.isfinite(hi)
        n_ci = int(has_ci.sum())
        if n_ci:
            ti, li, hii = t[has_ci], lo[has_ci], hi[has_ci]
            cov = float(((li <= ti) & (ti <= hii)).sum() / n_ci)
            rej = float(((li > 0) | (hii < 0)).sum() / n_ci)
            cov_se = float(np.sqrt(cov * (1 - cov) / n_ci))
            band = coverage_band(level, n_ci)
            width = float((hii - li).sum() / n_ci)
            ok = bool(band[0] <= cov <= band[1])
        else:
            cov = rej = cov_se = width = np.nan
            band = (np.nan, np.nan)
            ok = None
        truth = float(t.sum() / r)
        rows.append({**dict(zip(by, key, strict=True)), "n_rep": r, "truth": truth,
                     "mean_estimate": float(e.sum() / r), "bias": bias,
                     "bias_mcse": emp_se / np.sqrt(r) if r > 1 else np.nan,
                     "rel_bias": bias / abs(truth) if abs(truth) > 1e-12 else np.nan,
                     "rmse": rmse, "rmse_mcse": mse_se / (2 * rmse) if rmse > 0 else np.nan,
                     "emp_se": emp_se, "coverage": cov, "coverage_mcse": cov_se,
                     "band_low": band[0], "band_high": band[1], "coverage_ok": ok,
                     "rejection": rej, "mean_width": width, "n_intervals": n_ci})


def coverage_by_method(results: pd.DataFrame, *, kind: str = "path", level: float = 0.95,
                       nonzero: bool | None = None, center: str = "truth") -> pd.DataFrame:
    """Coverage pooled over the quantities of ``kind`` per scenario and method.

    ``center`` as in :func:`summarize` (``"estimand"``: each method against the truth of
    what it estimates; ``nonzero`` then refers to that truth).

    ``nonzero=True`` keeps only quantities whose truth is not 0 (False: only zero ones).
    The MCSE treats the pooled intervals as independent (quantities of one replication are
    correlated, so it is a lower bound; the per-quantity table of :func:`summarize` is exact).
    """
    _check(results)
    d = results[results["kind"] == kind]
    if center == "estimand":
        if "truth_estimand" not in d.columns:
            raise ModelError("results lack columns ['truth_estimand'] (center='estimand')")
        d = d.assign(truth=d["truth_estimand"])
    if nonzero is not None:
        nz = d["truth"].abs() > 1e-9
        d = d[nz] if nonzero else d[~nz]
    if center == "mean":  # centre per quantity first, then pool
        d = d.copy()
        d["truth"] = d.groupby(["scenario", "method", "quantity"])["estimate"].transform("mean")
    return summarize(d, by=("scenario", "method"), level=level)


def verdict_confusion(results: pd.DataFrame, *, by: Sequence[str] = ("scenario",)) -> pd.DataFrame:
    """Verdict confusion table: truth-implied verdict × computed verdict, counts per group.

    Uses the ``kind == "verdict"`` rows with a truth-implied verdict.  Columns: ``by``,
    ``verdict_truth`` and one column per computed verdict (:data:`VERDICT_ORDER`), ``n``.
    """
    _check(results, ("kind", "verdict_truth", "verdict"))
    d = results[(results["kind"] == "verdict") & (results["verdict_truth"].fillna("") != "")]
    by = [c for c in by if c in d.columns]
    if d.empty:
        return pd.DataFrame(columns=[*by, "verdict_truth", *VERDICT_ORDER, "n"])
    tab = d.groupby([*by, "verdict_truth", "verdict"]).size().unstack("verdict", fill_value=0)
    tab = tab.reindex(columns=list(VERDICT_ORDER), fill_value=0).rename_axis(columns=None)
    tab["n"] = tab.sum(axis=1)
    return tab.reset_index()   # no "verdict" name over the columns: a table shows none


def verdict_rates(results: pd.DataFrame, *, by: Sequence[str] = ("scenario", "quantity"),
                  level: float = 0.95) -> pd.DataFrame:
    """Per claim (``quantity``): the truth-implied verdict and the share of replications whose
    computed verdict is each verdict.  ``power`` is the share ``supported`` where the truth
    is ``supported``; ``false_positive`` the share ``supported`` where it is not; ``wrong``
    the share ``not supported`` where the truth is ``supported``.  MCSE ``sqrt(p(1−p)/R)``
    of the share ``supported``, and its exact interval ``ci_low, ci_high`` at ``level``
    (:func:`clopper_pearson`).
    """
    rows = []
    for keys, g in _verdict_groups(results, by):
        truths = sorted(set(g["verdict_truth"].fillna("")))
        vt = truths[0] if len(truths) == 1 else "mixed"
        r = len(g)
        share = {v: float((g["verdict"] == v).mean()) for v in VERDICT_ORDER}
        sup = share["supported"]
        row = {**keys, "verdict_truth": vt, "n_rep": r,
               **{f"share_{v.replace(' ', '_')}": s for v, s in share.items()},
               "power": sup if vt == "supported" else np.nan,
               "false_positive": sup if vt in ("not supported", "inconclusive") else np.nan,
               "wrong": share["not supported"] if vt == "supported" else np.nan,
               "mcse": float(np.sqrt(sup * (1 - sup) / r))}
        row["ci_low"], row["ci_high"] = clopper_pearson(int((g["verdict"] == "supported").sum()), r,
                                                    level)
        rows.append(row)
    return pd.DataFrame(rows)


def claim_truth_status(results: pd.DataFrame, *, by: Sequence[str] = ("scenario", "quantity"),
                       level: float = 0.95) -> pd.DataFrame:
    """Per claim (``quantity``): in how many replications its truth-implied verdict is
    ``supported`` (a true claim), ``not supported`` (a false claim) or absent (no truth can
    be computed: descriptive claims), and how often the ledger calls it ``supported`` when it
    is false.

    A claim is false only where its truth-implied verdict is ``not supported``; a claim
    without one is neither true nor false (counting every claim whose truth is not
    ``supported`` as false counts those too).

    Returns
    -------
    DataFrame: ``by`` columns, ``n_rep, n_true, n_false, n_other`` (another truth-implied
    verdict, e.g. ``inconclusive``), ``n_none`` (none), ``status`` (``"true"``,
    ``"false"`` or ``"none"`` when every replication agrees, else ``"mixed"``),
    ``n_false_supported`` (replications with truth ``not supported`` called
    ``supported``), ``false_positive`` (that count / ``n_false``; NaN when ``n_false`` is
    0) and its exact interval ``ci_low, ci_high`` at ``level`` (:func:`clopper_pearson`).

    Raises
    ------
    ModelError : missing columns.
    """
    rows = []
    for keys, g in _verdict_groups(results, by):
        vt = g["verdict_truth"].fillna("")
        n_true, n_false, n_none = int((vt == "supported").sum()), \
            int((vt == "not supported").sum()), int((vt == "").sum())
        r = len(g)
        status = next((name for name, n in (("true", n_true), ("false", n_false),
                                            ("none", n_none)) if n == r), "mixed")
        k = int(((vt == "not supported") & (g["verdict"] == "supported")).sum())
        lo, hi = clopper_pearson(k, n_false, level) if n_false else (np.nan, np.nan)
        rows.append({**keys, "n_rep": r, "n_true": n_true,
                     "n_false": n_false, "n_other": r - n_true - n_false - n_none,
                     "n_none": n_none, "status": status, "n_false_supported": k,
                     "false_positive": k / n_false if n_false else np.nan,
                     "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def false_positive_rate(results: pd.DataFrame, *, scenario: str = "all_zero",
                        level: float = 0.95) -> pd.DataFrame:
    """In ``scenario`` (every path zero): the share of replications in which at least one
    claim with a known truth is called ``supported`` (family-wise), the share of such claim
    verdicts that are ``supported`` (per claim), and the share of zero paths whose CR2 /
    naive / wild / SEM interval excludes 0 (per test).

    Columns ``level, method, rate, mcse, n, k`` (the count behind ``rate``), ``ci_low,
    ci_high`` (exact interval of the rate at ``level``, :func:`clopper_pearson`: with 0/25
    the MCSE is 0 but the rate may be up to 13.7%), ``band_low, band_high, in_band`` (per
    interval rows only: the Monte Carlo band ``1 − coverage_band(level, n)`` around the
    nominal ``1 − level``; NaN/None for the ledger rows, whose nominal is a ceiling).
    """
    if not 0 < level < 1:
        raise ModelError(f"level must lie in (0, 1), got {level}")
    _check(results, ("kind", "verdict_truth", "verdict", "scenario", "method"))
    d = results[results["scenario"] == scenario]
    if d.empty:
        raise ModelError(f"no results for scenario {scenario!r}")
    rows = []
    v = d[(d["kind"] == "verdict") & (d["verdict_truth"].fillna("") != "")
          & (d["verdict_truth"] != "supported")]
    if len(v):
        per = (v["verdict"] == "supported").astype(float)
        fam = v.groupby("seed")["verdict"].apply(lambda s: float((s == "supported").any()))
        for lev, x in (("claim (any claim, per replication)", fam), ("claim (per verdict)", per)):
            rows.append({"level": lev, "method": "ledger", **_rate(x, level)})
    paths = d[(d["kind"] == "path") & (d["truth"].abs() < 1e-9)
              & np.isfinite(d["ci_low"]) & np.isfinite(d["ci_high"])]
    for method, g in paths.groupby("method", sort=True):
        x = ((g["ci_low"] > 0) | (g["ci_high"] < 0)).astype(float)
        row = _rate(x, level)
        cov_low, cov_high = coverage_band(level, row["n"])
        row.update(band_low=1 - cov_high, band_high=1 - cov_low,
                   in_band=bool(1 - cov_high <= row["rate"] <= 1 - cov_low))
        rows.append({"level": "path (per interval)", "method": method, **row})
    return pd.DataFrame(rows, columns=["level", "method", "rate", "mcse", "n", "k", "ci_low",
                                       "ci_high", "band_low", "band_high", "in_band"])


def _rate(x: pd.Series, level: float) -> dict:
    """The share of 1s in ``x`` with its MCSE, count and exact interval."""
    p, n, k = float(x.mean()), int(len(x)), int(x.sum())
    lo, hi = clopper_pearson(k, n, level)
    return {"rate": p, "mcse": float(np.sqrt(p * (1 - p) / n)), "n": n, "k": k,
            "ci_low": lo, "ci_high": hi, "band_low": np.nan, "band_high": np.nan,
            "in_band": None}


def coverage_table(results: pd.DataFrame, quantities: Sequence[str] | None = None, *,
                   scenario: str = "default", kind: str = "path", level: float = 0.95
                   ) -> pd.DataFrame:
    """Coverage of each method's intervals against the truth of what it estimates, with the
    Monte Carlo band around the nominal level, per method and quantity.

    The target of each row is ``truth_estimand`` (the observed-score regression's population
    coefficient for the methods on scale scores; the latent path for the latent SEM); the
    coverage of the latent truth is given beside it (``coverage_latent``).  Rows of
    ``results`` without ``truth_estimand`` (methods with no computed estimand) are left out.

    Returns
    -------
    DataFrame ``method, quantity, truth (latent), truth_estimand, mean_estimate, bias
    (against truth_estimand), n_intervals, coverage, coverage_mcse, band_low, band_high,
    coverage_ok, coverage_latent, rejection``, sorted by method and quantity.

    Raises
    ------
    ModelError : missing columns, no rows for ``scenario`` with a ``truth_estimand``.

    Example
    -------
    >>> res, _ = read_results()                                          # doctest: +SKIP
    >>> coverage_table(res, ["ENV->MOT"]).query("method == 'CR2'")       # doctest: +SKIP

    Coverage and its MCSE as ``rsimsum::simsum(..., true = "truth_estimand", se = ...)``
    (Morris, White & Crowther 2019, table 6).
    """
    _check(results, (*NEED, "truth_estimand", "scenario"))
    d = results[(results["scenario"] == scenario) & (results["kind"] == kind)]
    if quantities is not None:
        d = d[d["quantity"].isin(list(quantities))]
    d = d[np.isfinite(pd.to_numeric(d["truth_estimand"], errors="coerce"))]
    if d.empty:
        raise ModelError(f"no {kind} rows with a truth_estimand in scenario {scenario!r}")
    est = summarize(d, by=("method", "quantity"), level=level, center="estimand")
    lat = summarize(d, by=("method", "quantity"), level=level)
    out = est.rename(columns={"truth": "truth_estimand"}).merge(
        lat[["method", "quantity", "truth", "coverage"]].rename(
            columns={"coverage": "coverage_latent"}), on=["method", "quantity"])
    cols = ["method", "quantity", "truth", "truth_estimand", "mean_estimate", "bias",
            "n_intervals", "coverage", "coverage_mcse", "band_low", "band_high", "coverage_ok",
            "coverage_latent", "rejection"]
    return out[cols].sort_values(["method", "quantity"], ignore_index=True)
