"""Nonparametric bootstrap of an SEM (lavaan ``se = "bootstrap"``, ``boot.ci.type = "perc"``).

Rows are resampled with replacement ``B`` times (NumPy ``default_rng(seed)``); each
draw is refitted from the full-sample estimates (FIML draws keep their missing
values): damped scoring until its step is below 0.1, then BFGS steps from the expected
information to a step below 1e-6 (:func:`quasi_newton_polish`; damped scoring to 1e-6 where
they fail).  The bootstrap SE is the standard deviation (divisor B - 1) of the draws;
the percentile interval uses the order-statistic interpolation on the normal scale
of ``boot::norm.inter``, which lavaan's ``parameterEstimates(boot.ci.type = "perc")``
calls.  Draws whose model cannot be fitted (non-convergence, non-positive-definite
implied matrix) are undefined: they are set to NaN and dropped through
:func:`hlstudy._bootstrap.finite_draws` (a warning with their count; an error when
more than 10% are undefined).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from hlstudy._bootstrap import finite_draws
from hlstudy.cfa._estimate import _damped_newton
from hlstudy.sem._fit import Data, Problem


def norm_inter(draws: np.ndarray, alpha) -> np.ndarray:
    """``boot::norm.inter``: quantiles of each column of ``draws`` at ``alpha``.

    With R draws and rk = (R + 1) alpha: the rk-th order statistic when rk is an
    integer, else interpolation between the floor(rk)-th and next order statistic on the
    normal-quantile scale.
    """
    t = np.sort(draws, axis=0)
    r = t.shape[0]
    out = np.empty((len(alpha), t.shape[1]))
    for a_i, a in enumerate(alpha):
        rk = (r + 1) * a
        k = int(np.trunc(rk))
        if k == rk and 0 < k <= r:
            out[a_i] = t[k - 1]
        elif k <= 0:
            out[a_i] = t[0]
        elif k >= r:
            out[a_i] = t[r - 1]
        else:
            z1, z2, z3 = stats.norm.ppf(a), stats.norm.ppf(k / (r + 1)), \
                stats.norm.ppf((k + 1) / (r + 1))
            tk, tk1 = t[k - 1], t[k]
            out[a_i] = tk + (z1 - z2) / (z3 - z2) * (tk1 - tk)
    return out


def _refit(fit, y, x0):
    data = Data.missing(y, em=False) if fit["data"].fiml else Data.complete(y)
    ram = fit["ram"]
    mod = fit["model"]
    if mod.ov_x:
        from hlstudy.sem._model import RAM
        ram = RAM(mod)
        ram.set_fixed_x(data.cov if not data.fiml else _cov_x(y), np.nanmean(y, axis=0))
    prob = Problem(ram, data, mod.meanstructure)
    f = prob.objective(x0)
    if not np.isfinite(f):
        return None, ram
    # a draw needs its estimates to 1e-6 (far below the spread of the draws), not 1e-10.
    # Scoring converges linearly (about 22 iterations per draw on the Political Democracy
    # model); it is run until the step is below 0.1, then quasi-Newton steps finish
    # (about 9 more); damped scoring to 1e-6 takes over wherever they fail.
    last = {}

    def curvature(z):
        last["x"], last["c"] = z, prob.curvature(z)
        return last["c"]

    x, f, grad, msg, _ = _damped_newton(prob, x0, f, curvature, max_iter=300,
                                        step_tol=0.1, grad_tol=1e-4)
    if msg == "converged":
        g_c = last["c"] if last.get("x") is x else prob.curvature(x)
        x, f, grad, msg = quasi_newton_polish(prob, x, f, *g_c, step_tol=1e-6)
    if msg != "converged":
        x, f, grad, msg, _ = _damped_newton(prob, x, f, prob.curvature, max_iter=300,
                                            step_tol=1e-6, grad_tol=1e-4)
    if not np.isfinite(f) or msg != "converged" and np.max(np.abs(grad), initial=0) > 1e-4:
        return None, ram
    return x, ram


def quasi_newton_polish(prob, x, f, grad, curv, *, step_tol, max_iter=50):
    """BFGS from ``curv`` (the expected information at ``x``): full steps s = H^-1 g while
    F does not increase, H updated by the BFGS formula with each step's change of the
    analytic gradient (Nocedal & Wright 2006, eq. 6.19), so that near the optimum the
    steps converge superlinearly where scoring converges linearly.  Stops when every
    component of the step is below ``step_tol`` (``"converged"``; the returned ``x`` is
    the point whose step it was, as in :func:`~hlstudy.cfa._estimate._damped_newton`);
    returns the last accepted point with ``"failed"`` when a step does not decrease F or
    after ``max_iter`` steps.
    """
    h = curv
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(h, grad)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(step)):
            break
        if np.max(np.abs(step)) < step_tol:
            return x, f, grad, "converged"
        x_new = x - step
        f_new = prob.objective(x_new)
        if not (np.isfinite(f_new) and f_new <= f):
            break
        g_new = prob.gradient(x_new)
        if not np.all(np.isfinite(g_new)):
            break
        dg = g_new - grad
        curv_dx = -(dg @ step)  # y's = (g_new - g)'(x_new - x) > 0 keeps H positive definite
        if curv_dx > 0:
            hs = h @ step
            h = h + np.outer(dg, dg) / curv_dx - np.outer(hs, hs) / (step @ hs)
        x, f, grad = x_new, f_new, g_new
    return x, f, grad, "failed"


def _cov_x(y):
    m = np.nanmean(y, axis=0)
    c = np.where(np.isnan(y), 0.0, y - m)
    return c.T @ c / y.shape[0]


def bootstrap_table(statements, y, res, *, missing, std_lv, n_boot, seed):
    """Parameter table of ``res`` with bootstrap SEs and percentile CIs."""
    from hlstudy.sem.core import _defined_values, _label_values, _row_values, two_sided_p

    fit = res._fitinfo
    mod = fit["model"]
    x_hat = fit["x"]
    rng = np.random.default_rng(seed)
    n = y.shape[0]
    n_rows = len(mod.pars)
    draws = np.full((n_boot, n_rows + len(mod.defined)), np.nan)
    for b in range(n_boot):
        idx = rng.integers(0, n, size=n)
        x_b, ram_b = _refit(fit, y[idx], x_hat)
        if x_b is None:
            continue
        vals = _row_values(mod, ram_b, x_b)
        draws[b, :n_rows] = vals
        if mod.defined:
            draws[b, n_rows:] = _defined_values(mod, _label_values(mod, vals))
    free_cols = [k for k, p in enumerate(mod.pars) if p.pid >= 0] + \
        list(range(n_rows, n_rows + len(mod.defined)))
    kept, n_undef = finite_draws(draws[:, free_cols], statistic="SEM bootstrap estimates")
    table = res._table.copy()
    se = kept.std(axis=0, ddof=1)
    ci = norm_inter(kept, [0.025, 0.975])
    # the free rows' cells, column by column (the same floats as row by row: the table's
    # index is its row positions)
    rows = np.asarray(free_cols, dtype=np.intp)
    est = table["est"].to_numpy(dtype=float)[rows]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, est / se, np.nan)
    for column, values in (("se", se), ("ci.lower", ci[0]), ("ci.upper", ci[1]), ("z", z),
                           ("pvalue", [two_sided_p(v) for v in z])):
        cells = table[column].to_numpy(dtype=float, copy=True)
        cells[rows] = values
        table[column] = cells
    lhs, op, rhs = (table[c].to_numpy()[rows] for c in ("lhs", "op", "rhs"))
    res.boot_draws = pd.DataFrame(kept, columns=[
        f"{a}{b}{c}" for a, b, c in zip(lhs, op, rhs, strict=True)])
    return table, n_undef
