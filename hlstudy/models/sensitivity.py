"""Sensitivity of a regression coefficient to omitted confounders (Cinelli & Hazlett 2020).

Closed-form expressions of Cinelli & Hazlett (2020), "Making sense of sensitivity: extending
omitted variable bias", *JRSS-B* 82(1), 39–67, as implemented in R ``sensemakr`` 0.1.4
(``partial_r2``, ``robustness_value``, ``ovb_partial_r2_bound``, ``adjusted_estimate``).
``PySensemakr`` 0.0.8 was tried first and does not run with pandas 3 (it indexes Series
by position), so hlstudy computes the expressions itself; they are checked on the paper's
Darfur example (tests/fixtures/models/darfur.csv, shipped by PySensemakr, MIT licence).

With t the treatment's classical OLS t statistic and df = N − K the residual df:
  partial R² of the treatment with the outcome  R²_{Y~D|X} = t² / (t² + df)
  f_q = q·|t|/√df;  RV_q = ½(√(f_q⁴ + 4f_q²) − f_q²)
  f* = |t_{α/2, df−1}| / √(df − 1);  f_{q,α} = f_q − f*;
  RV_{q,α} = 0 if f_{q,α} ≤ 0; (f_q² − f*²)/(1 + f_q²) if f_q > 1/f*; else ½(√(f_{q,α}⁴ +
  4f_{q,α}²) − f_{q,α}²).
Bounds on a confounder Z k_D (k_Y) times as strong as an observed covariate X_j (eq. 5.1–5.3;
r2dxj = partial R² of X_j in the treatment regression D ~ X, r2yxj = partial R² of X_j in
the outcome regression):
  R²_{D~Z|X} = k_D·r2dxj/(1 − r2dxj),  η = k_D·r2dxj²/((1 − k_D·r2dxj)(1 − r2dxj)),
  R²_{Y~Z|D,X} = ((√k_Y + √η)/√(1 − η))² · r2yxj/(1 − r2yxj)  (capped at 1)
  bias = se·√(df · R²_{Y~Z|D,X}·R²_{D~Z|X}/(1 − R²_{D~Z|X}))
  adjusted estimate = sign(b)(|b| − bias);  adjusted se = se·√((1 − R²_{Y~Z|D,X})/(1 −
  R²_{D~Z|X}) · df/(df − 1));  interval: ± t_{1−α/2, df−1}·adjusted se.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hlstudy.errors import ModelError
from hlstudy.models._tdist import t_ppf


def partial_r2(t: float, df: float) -> float:
    """Partial R² of a coefficient from its t statistic: t²/(t² + df)."""
    return float(t**2 / (t**2 + df))


def robustness_value(t: float, df: float, *, q: float = 1.0, alpha: float | None = None) -> float:
    """Robustness value RV_q (``alpha=None``) or RV_{q,α} of Cinelli & Hazlett (2020).

    = R ``sensemakr::robustness_value(t_statistic = t, dof = df, q = q, alpha = alpha)``.

    >>> round(robustness_value(4.184, 783), 3)
    0.139
    """
    if df <= 1:
        raise ModelError(f"df must be > 1, got {df}")
    if q <= 0:
        raise ModelError(f"q must be positive, got {q}")
    fq = q * abs(t) / np.sqrt(df)
    if alpha is None:
        return float(0.5 * (np.sqrt(fq**4 + 4 * fq**2) - fq**2))
    if not 0 < alpha < 1:
        raise ModelError(f"alpha must be in (0, 1), got {alpha}")
    fcrit = abs(t_ppf(alpha / 2, df - 1)) / np.sqrt(df - 1)
    fqa = fq - fcrit
    if fqa <= 0:
        return 0.0
    if fq > 1 / fcrit:
        return float((fq**2 - fcrit**2) / (1 + fq**2))
    return float(0.5 * (np.sqrt(fqa**4 + 4 * fqa**2) - fqa**2))


def _rss(X, y) -> float:
    """Residual sum of squares of the OLS of y on X."""
    b, *_ = np.linalg.lstsq(X, y, rcond=None)
    return float(np.sum((y - X @ b) ** 2))


def _group_partial_r2(X, y, cols, rss_full: float):
    """Partial R² of the columns ``cols`` in the OLS of y on X (F statistic form);
    ``rss_full`` is ``_rss(X, y)``, the same for every benchmark (computed once by the caller)."""
    n, k = X.shape
    keep = [j for j in range(k) if j not in cols]
    b0, *_ = np.linalg.lstsq(X[:, keep], y, rcond=None)
    rss_red = float(np.sum((y - X[:, keep] @ b0) ** 2))
    return (rss_red - rss_full) / rss_red


def sensitivity(result, treatment: str, *, benchmark: str | list[str] | None = None,
                kd: float | list[float] = 1, ky: float | list[float] | None = None,
                q: float = 1, alpha: float = 0.05) -> pd.DataFrame:
    """Sensitivity statistics of one coefficient of an :func:`hlstudy.models.ols` fit.

    Parameters
    ----------
    result : OLSResult (unweighted).  The statistics use the classical OLS t and df = N − K,
        as Cinelli & Hazlett define them, whatever ``vcov`` the fit reports.
    treatment : design column of the coefficient (e.g. ``"TRAIN"``).
    benchmark : observed covariate(s) to benchmark the confounder on: a design column
        (``"years"``), a formula term (``"edu"``: all its dummy columns, a group partial R²)
        or a list of them (one bound block per entry).
    kd, ky : the confounder is kd times as strongly related to the treatment, ky times to the
        outcome (default ky = kd), as the benchmark.  Lists give several bounds.
    q : fraction of the estimate to explain away (1 = all of it).  alpha : for RV_{q,α}.

    Returns
    -------
    DataFrame, one row for the unadjusted estimate (``bound = "none"``) and one per bound,
    columns ``treatment, bound, estimate, se, t, df, r2yd_x, rv_q, rv_qa, r2dz_x,
    r2yz_dx, adj_estimate, adj_se, adj_t, adj_ci_low, adj_ci_high`` — the names of R
    ``sensemakr`` (``sensitivity_stats`` and ``bounds``; ``r2yd_x`` is R's ``r2yd.x``).

    Raises
    ------
    ModelError : unknown treatment or benchmark, weighted fits, implied R² ≥ 1 (kd too big).

    Example: R ``sensemakr(fit, treatment = "TRAIN", benchmark_covariates = "years", kd = 1:3)``.
    """
    fr = getattr(result, "frame", None)
    if fr is None:
        raise ModelError("sensitivity needs an OLSResult from hlstudy.models.ols")
    if fr.weights is not None:
        raise ModelError("sensitivity statistics are defined for unweighted OLS")
    if treatment not in fr.columns:
        raise ModelError(f"treatment {treatment!r} is not a coefficient; coefficients: {fr.columns}")
    if not 0 < alpha < 1:
        raise ModelError(f"alpha must be in (0, 1), got {alpha}")
    X, y = fr.X, fr.y
    n, k = X.shape
    dof = n - k
    j = fr.columns.index(treatment)
    b, *_ = np.linalg.lstsq(X, y, rcond=None)
    e = y - X @ b
    rss_y = float(np.sum(e**2))  # = _rss(X, y): the benchmarks' full model
    s2 = float(e @ e) / dof
    se = float(np.sqrt(s2 * np.linalg.inv(X.T @ X)[j, j]))
    est = float(b[j])
    t = est / se
    base = {"treatment": treatment, "estimate": est, "se": se, "t": t, "df": dof,
            "r2yd_x": partial_r2(t, dof), "rv_q": robustness_value(t, dof, q=q),
            "rv_qa": robustness_value(t, dof, q=q, alpha=alpha)}
    rows = [{**base, "bound": "none"}]
    if benchmark is not None:
        benches = [benchmark] if isinstance(benchmark, str) else list(benchmark)
        kds = np.atleast_1d(np.asarray(kd, dtype=float))
        kys = kds if ky is None else np.atleast_1d(np.asarray(ky, dtype=float))
        if len(kys) != len(kds):
            raise ModelError("kd and ky must have the same length")
        others = [c for c in range(k) if c != j]
        Xd = X[:, others]
        tcrit = t_ppf(1 - alpha / 2, dof - 1)
        rss_d = _rss(Xd, X[:, j])
        for bench in benches:
            cols = _benchmark_columns(fr, bench, treatment)
            r2yxj = _group_partial_r2(X, y, cols, rss_y)
            cols_d = [others.index(c) for c in cols]
            r2dxj = _group_partial_r2(Xd, X[:, j], cols_d, rss_d)
            for kd_i, ky_i in zip(kds, kys, strict=True):
                r2dz = kd_i * r2dxj / (1 - r2dxj)
                if r2dz >= 1:
                    raise ModelError(f"kd = {kd_i}: implied R²(D~Z|X) >= 1; try a smaller kd")
                eta = kd_i * r2dxj**2 / ((1 - kd_i * r2dxj) * (1 - r2dxj))
                if not 0 <= eta < 1:
                    raise ModelError(f"kd = {kd_i}: impossible bound; try a smaller kd")
                r2yz = min(((np.sqrt(ky_i) + np.sqrt(eta)) / np.sqrt(1 - eta)) ** 2
                           * r2yxj / (1 - r2yxj), 1.0)
                bias = se * np.sqrt(dof * r2yz * r2dz / (1 - r2dz))
                adj = np.sign(est) * (abs(est) - bias)
                adj_se = se * np.sqrt((1 - r2yz) / (1 - r2dz) * dof / (dof - 1))
                label = f"{_fmt(kd_i)}x {bench}" if ky_i == kd_i else \
                    f"{_fmt(kd_i)}/{_fmt(ky_i)}x {bench}"
                rows.append({**base, "bound": label, "r2dz_x": r2dz, "r2yz_dx": r2yz,
                             "adj_estimate": adj, "adj_se": adj_se, "adj_t": adj / adj_se,
                             "adj_ci_low": adj - tcrit * adj_se, "adj_ci_high": adj + tcrit * adj_se})
    cols = ["treatment", "bound", "estimate", "se", "t", "df", "r2yd_x", "rv_q", "rv_qa",
            "r2dz_x", "r2yz_dx", "adj_estimate", "adj_se", "adj_t", "adj_ci_low", "adj_ci_high"]
    return pd.DataFrame(rows).reindex(columns=cols)


def _fmt(v: float) -> str:
    return f"{v:g}"


def _benchmark_columns(fr, bench: str, treatment: str) -> list[int]:
    if bench in fr.columns:
        cols = [fr.columns.index(bench)]
    elif bench in fr.term_columns:
        cols = list(fr.term_columns[bench])
    else:
        raise ModelError(f"benchmark {bench!r} is neither a coefficient nor a term; "
                         f"terms: {list(fr.term_columns)}")
    if fr.columns.index(treatment) in cols:
        raise ModelError("the benchmark cannot be the treatment itself")
    return cols
