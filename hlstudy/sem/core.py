"""Structural equation models by (robust, full-information) maximum likelihood, as lavaan 0.6.

:func:`sem` takes lavaan model syntax and returns a :class:`SEMResult` whose
``parameter_estimates()`` is lavaan's ``parameterEstimates(fit, standardized = TRUE)``,
``fit_measures()`` lavaan's ``fitMeasures(fit)`` and ``r2`` lavaan's
``inspect(fit, "r2")``.  See ``docs/sem.md`` for formulas, sources and tolerances.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd
import scipy.linalg as sla
from scipy import special, stats

from hlstudy import _resultcache
from hlstudy.cfa._estimate import _damped_newton, _decrement
from hlstudy.cfa._estimate import _one_factor_start as one_factor_start
from hlstudy.cfa.core import (
    ConvergenceWarning,
    EstimationProblem,
    HeywoodCase,
    HeywoodWarning,
    IdentificationWarning,
    ScaleWarning,
    chisq_cdf,
    chisq_sf,
    huge_se_problems,
    incremental_indices,
    information_inverse,
    rmsea_ci,
)
from hlstudy.errors import ModelError
from hlstudy.sem._fit import Data, Problem, _kron_vech_inner_tril, h1_information
from hlstudy.sem._model import RAM, Model, Par, build_model
from hlstudy.sem.syntax import parse_model

__all__ = ["SEMResult", "sem", "IdentificationWarning", "ScaleWarning"]


# ---------------------------------------------------------------------- result
class SEMResult:
    """Result of :func:`sem`.  ``print(result)`` shows :meth:`summary`."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __getstate__(self) -> dict:
        """The state without the saturated model's information matrix, a memo that is made
        again when needed (about 35 MB for 60 observed variables; a pickle's size)."""
        state = dict(self.__dict__)
        fit = state.get("_fitinfo")
        if isinstance(fit, dict) and fit.get("_h1") is not None:
            state["_fitinfo"] = {k: v for k, v in fit.items() if k != "_h1"}
        return state

    def parameter_estimates(self) -> pd.DataFrame:
        """lavaan ``parameterEstimates(fit, standardized = TRUE)``: lhs, op, rhs, label, est,
        se, z, pvalue, ci.lower, ci.upper, std.lv, std.all (``:=`` rows last)."""
        return self._table.copy()

    def fit_measures(self) -> pd.Series:
        """lavaan ``fitMeasures(fit)`` under lavaan's names."""
        return pd.Series(self._fit, dtype=float)

    def summary(self) -> str:
        f = self._fit
        lines = [f"Structural equation model ({self.estimator}"
                 f"{', FIML' if self.missing == 'ml' else ''}; lavaan 0.6 defaults)"]
        lines.append("=" * len(lines[0]))
        lines.append(f"Respondents used: {self.nobs}; dropped: {self.n_dropped}; free parameters: "
                     f"{int(f['npar'])}; {'converged' if self.converged else 'NOT CONVERGED'}")
        for w in self.problems:
            lines.append(f"!! {w}")
        chi = f"chi2({int(f['df'])}) = {f['chisq']:.3f}, p = {f['pvalue']:.3f}"
        if "chisq.scaled" in f:
            chi += (f"; scaled chi2 = {f['chisq.scaled']:.3f} (scaling factor "
                    f"{f['chisq.scaling.factor']:.3f}), p = {f['pvalue.scaled']:.3f}")
        lines.append(chi)
        sfx = ".robust" if "cfi.robust" in f and np.isfinite(f.get("cfi.robust", np.nan)) else ""
        lines.append(f"CFI{sfx and ' (robust)'} = {f['cfi' + sfx]:.3f}, TLI = {f['tli' + sfx]:.3f}, "
                     f"RMSEA = {f['rmsea' + sfx]:.3f} [{f['rmsea.ci.lower' + sfx]:.3f}, "
                     f"{f['rmsea.ci.upper' + sfx]:.3f}], SRMR = {f['srmr']:.3f}")
        lines.append("")
        t = self._table
        for op, title in (("=~", "Loadings"), ("~", "Regressions"), ("~~", "(Co)variances"),
                          (":=", "Defined parameters")):
            sub = t[t["op"] == op]
            if sub.empty:
                continue
            lines.append(title)
            for _, r in sub.iterrows():
                name = f"{r['lhs']} {op} {r['rhs']}" if op != ":=" else f"{r['lhs']} := {r['rhs']}"
                p = r["pvalue"]
                ptxt = "" if not np.isfinite(p) else ("p < .001" if p < .001 else f"p = {p:.3f}")
                ci = (f"[{r['ci.lower']:.3f}, {r['ci.upper']:.3f}]"
                      if np.isfinite(r["ci.lower"]) else "")
                lines.append(f"  {name:<28} {r['est']:8.3f} {r['se']:7.3f} {ptxt:<10} {ci:<18} "
                             f"std.all {r['std.all']:6.3f}")
        if len(self.r2):
            lines.append("R-squared: " + ", ".join(f"{k} {v:.3f}" for k, v in self.r2.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


# ---------------------------------------------------------------------- input
def _prepare(data, model: Model, missing: str):
    if not isinstance(data, pd.DataFrame):
        raise ModelError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    obs = model.observed
    absent = [v for v in obs if v not in data.columns]
    if absent:
        raise ModelError(f"variable(s) of the model not found in data: {absent} (latent variables "
                         "are the left-hand side of '=~')")
    bad = [c for c in obs if not (pd.api.types.is_numeric_dtype(data[c])
                                  and not pd.api.types.is_bool_dtype(data[c]))]
    if bad:
        raise ModelError(f"variable(s) are not numeric: {bad}; recode them to numbers first")
    y = data[obs].to_numpy(dtype=float)
    if not np.all(np.isfinite(y[~np.isnan(y)])):
        raise ModelError("data hold infinite values")
    n0 = y.shape[0]
    if missing == "listwise":
        keep = ~np.isnan(y).any(axis=1)
    else:
        xi = [obs.index(v) for v in model.ov_x]
        yi = [k for k in range(len(obs)) if k not in xi]
        # lavaan (fixed.x, missing = "ml"): a row missing a covariate is dropped; a row with
        # every covariate is kept even if it answered no indicator (it carries the covariates'
        # sample moments, at which fixed.x holds them); without covariates, a row needs one value.
        if xi:
            keep = ~np.isnan(y[:, xi]).any(axis=1)
        else:
            keep = ~np.isnan(y[:, yi]).all(axis=1)
    y = y[keep]
    if y.shape[0] < 2:
        raise ModelError(f"only {y.shape[0]} usable row(s) after removing missing data")
    sd = np.nanstd(y, axis=0)
    const = [obs[k] for k in np.flatnonzero(~(sd > 0))]
    if const:
        raise ModelError(f"variable(s) without variance: {const}")
    return y, int(n0 - y.shape[0])


def _check_moments(data: Data, observed) -> list[str]:
    """Scale-free singularity check (on the correlation matrix); returns scale warnings."""
    notes = []
    s = data.cov
    sd = np.sqrt(np.diag(s))
    r = s / np.outer(sd, sd)
    ev = np.linalg.eigvalsh(r)
    if ev[0] <= 1e-10:
        vec = np.linalg.eigh(r)[1][:, 0]
        involved = [observed[k] for k in np.flatnonzero(np.abs(vec) > 0.1)]
        raise ModelError("the sample covariance matrix is singular: "
                         f"{involved} are (nearly) linearly dependent")
    var = np.diag(s)
    if var.max() / var.min() > 1000:
        big, small = observed[int(np.argmax(var))], observed[int(np.argmin(var))]
        notes.append(EstimationProblem(
            "some observed variances are (at least) a factor 1000 times larger than "
            f"others ({big}: {var.max():.4g}, {small}: {var.min():.4g}); results are computed "
            "scale-free but consider rescaling",
            "variance_scale", names=(big, small), values=(float(var.max()), float(var.min()))))
    return notes


def _start(model: Model, ram: RAM, data: Data, std_lv: bool) -> np.ndarray:
    x = np.full(model.n_free, np.nan)
    pos = {v: k for k, v in enumerate(model.observed)}
    s = data.cov
    lam: dict[tuple[str, str], float] = {}
    for f in model.latent:
        items = [p.rhs for p in model.pars if p.op == "=~" and p.lhs == f and p.rhs in pos]
        if len(items) >= 2:
            idx = [pos[i] for i in items]
            vals = one_factor_start(s[np.ix_(idx, idx)], std_lv)
            for it, v in zip(items, vals, strict=True):
                lam[(f, it)] = float(v) if np.isfinite(v) else 1.0
    for p in model.pars:
        if p.pid < 0 or np.isfinite(x[p.pid]):
            continue
        if p.op == "=~":
            x[p.pid] = lam.get((p.lhs, p.rhs), 1.0)
        elif p.op == "~":
            x[p.pid] = 0.0
        elif p.op == "~~":
            if p.lhs == p.rhs:
                x[p.pid] = 0.5 * s[pos[p.lhs], pos[p.lhs]] if p.lhs in pos else 0.05
            else:
                x[p.pid] = 0.0
        elif p.op == "~1":
            x[p.pid] = data.mean[pos[p.lhs]] if p.lhs in pos else 0.0
    x[~np.isfinite(x)] = 0.05
    return x


# ---------------------------------------------------------------------- main
@_resultcache.kept
def sem(data: pd.DataFrame, model: str, *, missing: str = "listwise", estimator: str = "ML",
        group: str | None = None, se: str = "standard", bootstrap: int = 1000,
        seed: int | None = None, std_lv: bool = False, max_iter: int = 500) -> SEMResult:
    """Fit a structural equation model given in lavaan syntax, as ``lavaan::sem``.

    Parameters
    ----------
    data
        One row per respondent; every observed variable of the model numeric.
    model
        lavaan model syntax (``=~``, ``~``, ``~~``, ``~ 1``, ``:=``, labels and fixed
        values; see :mod:`hlstudy.sem.syntax`).
    missing
        ``"listwise"`` (drop incomplete rows) or ``"ml"`` (FIML: case-wise likelihood,
        rows missing every modelled variable dropped and counted; lavaan ``missing = "ml"``).
    estimator
        ``"ML"`` or ``"MLR"`` (Huber-White robust SEs, Yuan-Bentler scaled chi-square with
        lavaan's ``.scaled`` and ``.robust`` fit measures; lavaan ``estimator = "MLR"``).
    group
        Multi-group SEM is not implemented: anything but None raises ModelError.
    se
        ``"standard"`` or ``"bootstrap"`` (``bootstrap`` resamples of the rows, seeded by
        ``seed``; percentile CIs as lavaan ``boot.ci.type = "perc"``).
    std_lv
        Fix the (residual) variances of the latents to 1 instead of the first loadings.

    Returns
    -------
    SEMResult
        ``.parameter_estimates()``, ``.fit_measures()``, ``.r2``, ``.summary()``,
        ``.converged``, ``.identified``, ``.nobs``, ``.n_dropped``, ``.vcov``.  When the
        information matrix cannot be inverted (the model is not identified on these data:
        ``IdentificationWarning``, ``.identified`` and ``.converged`` False) the point
        estimates are one of many and the standard errors NaN; with MLR the scaled test and
        every ``.scaled`` / ``.robust`` measure are NaN too (lavaan >= 0.6-16), and
        ``fit_measures()`` still has every name it has on success.

    Raises
    ------
    ModelError
        Syntax errors (line and token), unknown variables, df < 0, a singular sample
        covariance matrix, invalid options.

    Warns
    -----
    HeywoodWarning, IdentificationWarning, ConvergenceWarning, ScaleWarning.

    Matches (R, lavaan 0.6-14)::

        fit <- sem(model, data, missing = missing, estimator = estimator, std.lv = std_lv)
        parameterEstimates(fit, standardized = TRUE); fitMeasures(fit); inspect(fit, "r2")

    Example
    -------
    >>> res = sem(pd_data, '''ind60 =~ x1 + x2 + x3
    ...                       dem60 =~ y1 + y2 + y3 + y4
    ...                       dem60 ~ ind60''')                    # doctest: +SKIP
    >>> res.fit_measures()["chisq"]                               # doctest: +SKIP
    """
    if missing not in ("listwise", "ml"):
        raise ModelError(f"missing must be 'listwise' or 'ml', got {missing!r}")
    est_name = str(estimator).upper()
    if est_name not in ("ML", "MLR"):
        raise ModelError(f"estimator must be 'ML' or 'MLR', got {estimator!r}")
    if group is not None:
        raise ModelError("multi-group SEM (group=) is not implemented in hlstudy.sem; use "
                         "hlstudy.cfa.cfa(group=...) for multi-group measurement models")
    if se not in ("standard", "bootstrap"):
        raise ModelError(f"se must be 'standard' or 'bootstrap', got {se!r}")
    if se == "bootstrap" and (not isinstance(bootstrap, int | np.integer) or bootstrap < 10):
        raise ModelError(f"bootstrap must be an integer >= 10, got {bootstrap!r}")
    if not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ModelError(f"max_iter must be a positive integer, got {max_iter!r}")
    if not isinstance(model, str):
        raise ModelError("model must be lavaan model syntax (a string)")
    statements = parse_model(model)
    meanstructure = missing == "ml"  # lavaan: MLR on complete data has no mean structure
    mod = build_model(statements, std_lv=std_lv, meanstructure=meanstructure)
    y, n_dropped = _prepare(data, mod, missing)
    fit = _fit_once(mod, y, missing=missing, robust=est_name == "MLR", std_lv=std_lv,
                    max_iter=int(max_iter), check=True)
    res = _result(fit, est_name, missing, n_dropped)
    if se == "bootstrap":
        from hlstudy.sem._boot import bootstrap_table
        res._table, res.n_boot_undefined = bootstrap_table(
            statements, y, res, missing=missing, std_lv=std_lv, n_boot=int(bootstrap),
            seed=seed)
    return res


def _fit_once(mod: Model, y: np.ndarray, *, missing, robust, std_lv, max_iter, check=True,
              x0=None, quiet=False):
    """Estimate one model on one data matrix; return a dict of everything computed."""
    data = Data.missing(y) if missing == "ml" else Data.complete(y)
    notes = _check_moments(data, mod.observed) if check else []
    ram = RAM(mod)
    ram.set_fixed_x(data.cov, data.mean)
    df = mod.n_moments() - mod.n_moments_x() - mod.n_free
    if df < 0:
        raise ModelError(
            f"model is not identified: {mod.n_free} free parameters but only "
            f"{mod.n_moments() - mod.n_moments_x()} sample moments (df = {df})")
    prob = Problem(ram, data, mod.meanstructure)
    # scale-free optimisation: parameters in units of the observed standard deviations
    x = _start(mod, ram, data, std_lv) if x0 is None else x0.copy()
    f = prob.objective(x)
    if not np.isfinite(f):
        for p in mod.pars:
            if p.pid >= 0 and p.op == "~~" and p.lhs == p.rhs:
                x[p.pid] = abs(x[p.pid]) + 1.0
        f = prob.objective(x)
    x_start, f_start = x.copy(), f
    x, f, grad, msg, it = _damped_newton(prob, x, f, prob.curvature, max_iter=max_iter,
                                         step_tol=1e-10, grad_tol=1e-6)
    if msg != "converged" and np.isfinite(f_start):
        alt = _quasi_newton(prob, x_start, f_start, max_iter=max_iter)
        if alt[3] == "converged" or alt[1] < f:
            x, f, grad, msg, it = alt[0], alt[1], alt[2], alt[3], it + alt[4]
    observed_info = data.fiml or robust
    hobs = None
    if observed_info and np.isfinite(f):
        hobs = prob.observed_hessian(x)
        x_at_hessian = x.copy()
        for _ in range(4):  # Newton polish on the exact Hessian (computed once)
            g = prob.gradient(x)
            try:
                step = np.linalg.solve(hobs, g)
            except np.linalg.LinAlgError:
                break
            f_new = prob.objective(x - step)
            if not np.isfinite(f_new) or f_new > f + 1e-12:
                break
            x, f = x - step, f_new
            if np.max(np.abs(step)) < 1e-10:
                break
        if np.max(np.abs(x - x_at_hessian), initial=0) > 1e-5:
            hobs = prob.observed_hessian(x)
    grad = prob.gradient(x) if np.isfinite(f) else np.full(mod.n_free, np.nan)
    max_grad = float(np.max(np.abs(grad))) if grad.size else 0.0
    hess = hobs if observed_info else prob.expected_hessian(x)
    small = max_grad < 1e-4 or (np.all(np.isfinite(hess)) and _decrement(hess, grad) < 1e-12)
    converged = bool(np.isfinite(f) and (msg == "converged" or max_grad < 1e-6) and small)
    return dict(model=mod, ram=ram, data=data, problem=prob, x=x, f=max(f, 0.0), df=df,
                converged=converged, message=msg, iterations=it, hessian=hess,
                robust=robust, max_grad=max_grad, notes=notes, std_lv=std_lv)


def _quasi_newton(prob: Problem, x0, f0, *, max_iter: int):
    """Fallback when damped scoring stalls (it can, near the edge of the positive-definite
    region of a large FIML model): L-BFGS-B from the starting values — the role of lavaan's
    nlminb quasi-Newton optimiser — polished by damped Newton steps.  Returns
    ``(x, f, gradient, message, iterations)`` like :func:`_damped_newton`.

    Seen on a simulated study (validation scenario "missing", seed 6): scoring stopped at
    F = 4.4774 after 500 iterations with max |gradient| 1.8e3; this path converges to
    F = 4.2019, lavaan 0.6-14's optimum (logl -27939.24 there).
    """
    from scipy import optimize

    big = 1e10 * max(1.0, abs(f0))

    def fun(x):
        v = prob.objective(x)
        return v if np.isfinite(v) else big

    def jac(x):
        g = prob.gradient(x)
        return g if np.all(np.isfinite(g)) else np.zeros_like(x)

    r = optimize.minimize(fun, x0, jac=jac, method="L-BFGS-B",
                          options=dict(maxiter=20 * max_iter, maxfun=40 * max_iter,
                                       gtol=1e-8, ftol=1e-14))
    x, f = np.asarray(r.x, float), float(prob.objective(r.x))
    if not np.isfinite(f):
        return x0, f0, np.full(len(x0), np.nan), "quasi-Newton fallback failed", int(r.nit)
    x, f, grad, msg, it = _damped_newton(prob, x, f, prob.curvature, max_iter=max_iter,
                                         step_tol=1e-10, grad_tol=1e-6)
    return x, f, grad, msg, int(r.nit) + it


def _invert_info(hess, mod: Model):
    """(inverse of the unit information, problems) from the Hessian of F (= 2 x unit info)."""
    return information_inverse(hess / 2.0, _free_names(mod))


def _free_names(mod: Model) -> list[str]:
    names = [""] * mod.n_free
    for p in mod.pars:
        if p.pid >= 0 and not names[p.pid]:
            names[p.pid] = f"{p.lhs}{p.op}{p.rhs}" if p.op != "~1" else f"{p.lhs}~1"
    return names


def _vcov(fit):
    mod, data, prob = fit["model"], fit["data"], fit["problem"]
    n = data.n
    e_inv, problems = _invert_info(fit["hessian"], mod)
    extra = {}
    if fit["robust"] and not problems:
        scores = prob.casewise_scores(fit["x"])
        b0 = scores.T @ scores / n
        vcov = e_inv @ b0 @ e_inv / n
        extra = dict(b0=b0, e_inv=e_inv)
    else:
        vcov = e_inv / n
    return vcov, problems, extra


def _std_values(fit, x):
    """std.lv and std.all of every row of the parameter table at parameter vector x."""
    mod, ram = fit["model"], fit["ram"]
    a, s, m = ram.matrices(x)
    _, _, e, sall, mall = ram.implied(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.diag(sall))
    p = mod.p
    lat = np.zeros(len(sd), dtype=bool)
    lat[p:] = True
    sd_lv = np.where(lat, sd, 1.0)
    out_lv, out_all = [], []
    for par in mod.pars:
        i, j = par.i, par.j
        if par.kind == "A":
            val = a[i, j]
            out_lv.append(val * sd_lv[j] / sd_lv[i])
            out_all.append(val * sd[j] / sd[i])
        elif par.kind == "S":
            val = s[i, j]
            if i == j:
                out_lv.append(val / sd_lv[i] ** 2)
                out_all.append(val / sd[i] ** 2)
            else:
                den = np.sqrt(s[i, i] * s[j, j]) if s[i, i] * s[j, j] > 0 else np.nan
                both_lat = lat[i] and lat[j]
                out_lv.append(val / den if both_lat else val)
                out_all.append(val / den)
        else:
            val = m[i]
            out_lv.append(val / sd_lv[i])
            out_all.append(val / sd[i])
    return np.array(out_lv, dtype=float), np.array(out_all, dtype=float)


@functools.lru_cache(maxsize=4096)
def _compiled(expr: str):
    """Byte code of a ``:=`` expression (validated by the parser; a pure function of the text)."""
    return compile(expr, "<:=>", "eval")


def _defined_values(mod: Model, labels: dict[str, float]) -> np.ndarray:
    env = dict(labels)
    out = []
    with np.errstate(all="ignore"):
        for d in mod.defined:
            val = float(eval(_compiled(d.expr), {"__builtins__": {}}, env))  # noqa: S307
            env[d.lhs] = val
            out.append(val)
    return np.array(out, dtype=float)


def _label_values(mod: Model, values: np.ndarray) -> dict[str, float]:
    out = {}
    for par, v in zip(mod.pars, values, strict=True):
        if par.label and par.label not in out:
            out[par.label] = float(v)
    return out


def _row_values(mod: Model, ram: RAM, x: np.ndarray) -> np.ndarray:
    a, s, m = ram.matrices(x)
    vals = []
    for par in mod.pars:
        if par.kind == "A":
            vals.append(a[par.i, par.j])
        elif par.kind == "S":
            vals.append(s[par.i, par.j])
        else:
            vals.append(m[par.i])
    return np.array(vals)


def defined_at(fit, x) -> np.ndarray:
    mod = fit["model"]
    return _defined_values(mod, _label_values(mod, _row_values(mod, fit["ram"], x)))


def two_sided_p(z) -> float:
    """``2 * stats.norm.sf(abs(z))`` for finite z, else NaN: the same float (scipy's normal
    survival function is ``special.ndtr(-x)`` at loc 0, scale 1), without ``rv_continuous``'s
    argument handling, which cost more than the rest of a parameter table's row."""
    return 2 * special.ndtr(-abs(z)) if np.isfinite(z) else np.nan


def _result(fit, est_name, missing, n_dropped) -> SEMResult:
    mod, ram, data = fit["model"], fit["ram"], fit["data"]
    x = fit["x"]
    vcov, problems, extra = _vcov(fit)
    inverted = not problems  # the information matrix could be inverted
    se_free = np.sqrt(np.where(np.diag(vcov) > 0, np.diag(vcov), np.nan)) if vcov.size else \
        np.zeros(0)
    est = _row_values(mod, ram, x)
    std_lv, std_all = _std_values(fit, x)
    zq = stats.norm.ppf(0.975)
    rows = []
    for par, val, slv, sall_ in zip(mod.pars, est, std_lv, std_all, strict=True):
        if par.pid >= 0:
            s_e = se_free[par.pid]
        else:
            s_e = 0.0
        z = val / s_e if par.pid >= 0 and s_e > 0 else np.nan
        lo, hi = (val - zq * s_e, val + zq * s_e) if par.pid >= 0 else (val, val)
        rows.append({"lhs": par.lhs, "op": par.op, "rhs": par.rhs, "label": par.label,
                     "est": float(val), "se": float(s_e), "z": z,
                     "pvalue": two_sided_p(z),
                     "ci.lower": float(lo), "ci.upper": float(hi),
                     "std.lv": float(slv), "std.all": float(sall_)})
    # defined parameters: delta method with a numerical Jacobian
    if mod.defined:
        dval = defined_at(fit, x)
        jac = np.zeros((len(mod.defined), mod.n_free))
        # a defined parameter is a function of labelled parameters only: the other columns
        # of the Jacobian are exactly 0 (their differences would leave every label unchanged)
        for k in sorted({p.pid for p in mod.pars if p.label and p.pid >= 0}):
            h = 1e-6 * max(1.0, abs(x[k]))
            xp, xm = x.copy(), x.copy()
            xp[k] += h
            xm[k] -= h
            jac[:, k] = (defined_at(fit, xp) - defined_at(fit, xm)) / (2 * h)
        dvar = np.einsum("ik,kl,il->i", jac, vcov, jac) if vcov.size else np.zeros(len(dval))
        dse = np.sqrt(np.where(dvar > 0, dvar, np.nan))
        d_lv = _defined_values(mod, _label_values(mod, std_lv))
        d_all = _defined_values(mod, _label_values(mod, std_all))
        for d, v, s_e, a1, a2 in zip(mod.defined, dval, dse, d_lv, d_all, strict=True):
            z = v / s_e if s_e > 0 else np.nan
            rows.append({"lhs": d.lhs, "op": ":=", "rhs": d.expr, "label": d.lhs, "est": v,
                         "se": s_e, "z": z,
                         "pvalue": two_sided_p(z),
                         "ci.lower": v - zq * s_e, "ci.upper": v + zq * s_e,
                         "std.lv": a1, "std.all": a2})
    table = pd.DataFrame(rows)
    # identification checks beyond the rank: huge standard errors
    if not problems and se_free.size:
        problems = huge_se_problems(se_free, x, [data.cov], _free_names(mod))
    heywood = _heywood(fit, x)
    fitm = _fit_measures(fit, est_name, extra, inverted=inverted)
    if not inverted:
        nan = ("se_mlr" if est_name == "MLR" else
               "se_fiml" if data.fiml and any(k.endswith(".robust") for k in fitm) else "se")
        first = problems[0]
        problems[0] = EstimationProblem(str(first) + "; standard errors are NaN" + {
            "se_mlr": ", and so are the robust (MLR) test statistic and the fit measures built "
                      "on it (the .scaled and .robust ones)",
            "se_fiml": ", and so are the FIML-corrected .robust fit measures", "se": ""}[nan],
            first.kind, names=first.names, value=first.value, detail=nan)
    r2 = _r2(fit, x)
    if not fit["converged"]:
        warnings.warn(ConvergenceWarning(EstimationProblem(
            f"SEM did not converge ({fit['message']}, max |gradient| {fit['max_grad']:.2e})",
            "not_converged", value=float(fit["max_grad"]), detail=str(fit["message"]),
            model="SEM")), stacklevel=3)
    for note in fit["notes"]:
        warnings.warn(ScaleWarning(note), stacklevel=3)
    for prob_ in problems:
        warnings.warn(IdentificationWarning(prob_), stacklevel=3)
    if heywood and not problems:  # on a flat likelihood the point is arbitrary: no Heywood talk
        warnings.warn(HeywoodWarning("Heywood case(s) / improper solution: " + "; ".join(heywood),
                                     heywood), stacklevel=3)
    return SEMResult(_table=table, _fit=fitm, r2=r2, converged=fit["converged"] and not problems,
                     nobs=data.n, n_dropped=n_dropped, vcov=vcov, estimator=est_name,
                     missing=missing, heywood=heywood, problems=problems + fit["notes"],
                     identified=not problems, iterations=fit["iterations"],
                     model=mod, _fitinfo=fit, n_boot_undefined=0)


def _heywood(fit, x) -> list[str]:
    mod, ram = fit["model"], fit["ram"]
    a, s, m = ram.matrices(x)
    out = []
    nodes = mod.nodes
    _, _, _, sall, _ = ram.implied(x)
    for k, v in enumerate(nodes):
        if v in mod.ov_x:
            continue
        if s[k, k] < 0:
            kind = "residual variance" if k < mod.p else "(residual) variance of latent"
            out.append(HeywoodCase(f"negative {kind} {v}: {s[k, k]:.4f}",
                                   "residual_variance" if k < mod.p else "factor_variance", (v,),
                                   value=float(s[k, k])))
    _, std_all = _std_values(fit, x)
    for par, val in zip(mod.pars, std_all, strict=True):
        if par.op in ("=~", "~~") and par.lhs != par.rhs and np.isfinite(val) and abs(val) > 1:
            what = "standardized loading" if par.op == "=~" else "correlation"
            kind = ("std_loading" if par.op == "=~" else "residual_correlation"
                    if par.lhs in mod.observed and par.rhs in mod.observed else "latent_correlation")
            out.append(HeywoodCase(
                f"{what} {par.lhs} {par.op} {par.rhs} is {val:.3f} (> 1 in absolute value)", kind,
                (par.rhs, par.lhs) if par.op == "=~" else (par.lhs, par.rhs), value=float(val)))
    return out


def _r2(fit, x) -> pd.Series:
    """lavaan ``inspect(fit, "r2")``: 1 - residual variance / model variance of each
    endogenous variable (indicators and dependent variables)."""
    mod, ram = fit["model"], fit["ram"]
    a, s, _ = ram.matrices(x)
    _, _, _, sall, _ = ram.implied(x)
    out = {}
    nodes = mod.nodes
    endo = np.flatnonzero(np.any(a != 0, axis=1) | np.array(
        [any(p.kind == "A" and p.i == k for p in mod.pars) for k in range(len(nodes))]))
    for k in endo:
        out[nodes[k]] = float(1 - s[k, k] / sall[k, k])
    return pd.Series(out, name="r2", dtype=float)


def _baseline_model(mod: Model) -> Model:
    """Independence model: free variances (and intercepts) of the modelled variables,
    fixed-x covariates saturated (fixed to their sample moments), as lavaan."""
    obs = mod.observed
    x_set = set(mod.ov_x)
    pars = []
    idx = {v: k for k, v in enumerate(obs)}
    n_free = 0
    for v in obs:
        if v in x_set:
            continue
        pars.append(Par(v, "~~", v, "", n_free, np.nan, "S", idx[v], idx[v], user=False))
        n_free += 1
    xs = mod.ov_x
    for a in range(len(xs)):
        for b in range(a, len(xs)):
            pars.append(Par(xs[a], "~~", xs[b], "", -1, np.nan, "S", idx[xs[a]], idx[xs[b]],
                            user=False, exo=True))
    if mod.meanstructure:
        for v in obs:
            if v in x_set:
                pars.append(Par(v, "~1", "", "", -1, np.nan, "M", idx[v], user=False, exo=True))
            else:
                pars.append(Par(v, "~1", "", "", n_free, np.nan, "M", idx[v], user=False))
                n_free += 1
    return Model(observed=list(obs), latent=[], ov_x=list(xs), pars=pars, n_free=n_free,
                 meanstructure=mod.meanstructure, free_labels=[""] * n_free)


def _fit_baseline(fit):
    """The independence model in closed form: each modelled variable's ML mean and variance
    from its observed values (the FIML baseline likelihood is separable per variable; with
    complete data these are the sample moments).  Its observed Hessian of F is diagonal:
    n_j / (N v_j^2) for a variance and 2 n_j / (N v_j) for a mean."""
    data = fit["data"]
    bmod = _baseline_model(fit["model"])
    ram = RAM(bmod)
    ram.set_fixed_x(data.cov, data.mean)
    prob = Problem(ram, data, bmod.meanstructure)
    x = np.zeros(bmod.n_free)
    diag = np.zeros(bmod.n_free)
    pos = {v: k for k, v in enumerate(bmod.observed)}
    y = data.y
    for p in bmod.pars:
        if p.pid < 0:
            continue
        col = y[:, pos[p.lhs]]
        col = col[~np.isnan(col)]
        m, v = col.mean(), col.var()
        if p.op == "~~":
            x[p.pid] = v if data.fiml else data.cov[pos[p.lhs], pos[p.lhs]]
            diag[p.pid] = col.size / (data.n * v**2)
        else:
            x[p.pid] = m
            diag[p.pid] = 2 * col.size / (data.n * v)
    f = prob.objective(x)
    out = dict(model=bmod, ram=ram, data=data, problem=prob, x=x, f=max(f, 0.0),
               df=bmod.n_moments() - bmod.n_moments_x() - bmod.n_free)
    if fit["robust"]:
        out["hessian"] = np.diag(diag)
    return out


def _h1_factor(fit, keep):
    """(A1, S1, L): the h1 information and casewise scores (:func:`h1_information`) and the
    lower Cholesky factor of A1 (None when A1 is not positive definite), computed once per
    fit and shared by the Yuan-Bentler trace, the baseline and the FIML-corrected indices."""
    if fit.get("_h1") is None:
        fit["_h1"] = h1_information(fit["data"], keep, return_scores=True)
    a1, _, s1 = fit["_h1"]
    if "_h1_chol" not in fit:
        try:
            fit["_h1_chol"] = sla.cholesky(a1, lower=True, check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            fit["_h1_chol"] = None
    return a1, s1, fit["_h1_chol"]


def _yb_trace(fit, e_inv, b0):
    """Yuan-Bentler (Mplus variant) trace: tr(A1^-1 B1) - tr(B0 E^-1) (lavaan
    ``lav_test_yuan_bentler_mplus``; A1, B1 of the unstructured h1 model)."""
    mod, data = fit["model"], fit["data"]
    p = data.p
    xi = [mod.observed.index(v) for v in mod.ov_x]
    tri = np.tril_indices(p)
    keep_m = np.array([k not in xi for k in range(p)])
    keep_v = np.array([not (a in xi and b in xi) for a, b in zip(*tri, strict=True)])
    keep = np.concatenate([keep_m, keep_v]) if mod.meanstructure else \
        np.concatenate([np.zeros(p, bool), keep_v])
    a1, s1, low = _h1_factor(fit, keep)
    if fit.get("_tr_h1") is None:  # the same for the model and its baseline
        # tr(A1^-1 B1) with B1 = S1'S1 / N (S1 the casewise h1 scores): N solves, not dim;
        # A1 (observed information at the saturated optimum) is positive definite: with
        # A1 = LL', tr(A1^-1 S1'S1) = ||L^-1 S1'||^2 (half the work of an LU solve)
        if low is not None:
            half_solved = sla.solve_triangular(low, s1.T, lower=True, check_finite=False)
            fit["_tr_h1"] = float(np.sum(half_solved * half_solved)) / data.n
            fit["_h1_half"] = half_solved  # L^-1 S1', for T = S1 A1^-1 (FIML-corrected)
        else:
            fit["_tr_h1"] = float(np.sum(s1.T * np.linalg.solve(a1, s1.T))) / data.n
    tr_h1 = fit["_tr_h1"]
    tr_h0 = float(np.sum(b0 * e_inv.T))
    return tr_h1, tr_h0


def _fit_measures(fit, est_name, extra, *, inverted: bool = True) -> dict[str, float]:
    """lavaan's ``fitMeasures``.  ``inverted`` False (the information matrix could not be
    inverted): the measures that need its inverse — the robust (MLR) test and the
    FIML-corrected indices — are NaN under the names they have on success."""
    mod, data = fit["model"], fit["data"]
    n = data.n
    chi2 = float(data.n * fit["f"])
    df = fit["df"]
    npar = mod.n_free
    base = _fit_baseline(fit)
    bchi = float(data.n * base["f"])
    bdf = base["df"]
    out: dict[str, float] = {"npar": float(npar), "fmin": fit["f"] / 2.0, "chisq": chi2,
                             "df": float(df),
                             "pvalue": float(chisq_sf(chi2, df)) if df > 0 else np.nan}
    out.update({"baseline.chisq": bchi, "baseline.df": float(bdf),
                "baseline.pvalue": float(chisq_sf(bchi, bdf))})
    out["cfi"] = _cfi(chi2, df, bchi, bdf)
    out["tli"] = _tli(chi2, df, bchi, bdf)
    inc = incremental_indices(chi2, df, bchi, bdf)
    out.update({"nnfi": out["tli"], "rfi": inc["rfi"], "nfi": inc["nfi"], "pnfi": inc["pnfi"],
                "ifi": inc["ifi"], "rni": inc["rni"]})
    # log-likelihoods
    logl_x = _loglik_x(fit)
    logl = data.h1_loglik - chi2 / 2.0 - logl_x
    out["logl"] = float(logl)
    out["unrestricted.logl"] = float(data.h1_loglik - logl_x)
    out["aic"] = float(-2 * logl + 2 * npar)
    out["bic"] = float(-2 * logl + npar * np.log(n))
    out["ntotal"] = float(n)
    out["bic2"] = float(-2 * logl + npar * np.log((n + 2) / 24))
    rm, lo, hi = rmsea_ci(chi2, df, n)
    out.update({"rmsea": rm, "rmsea.ci.lower": lo, "rmsea.ci.upper": hi,
                "rmsea.ci.level": 0.90,
                "rmsea.pvalue": float(stats.ncx2.sf(chi2, df, n * df * 0.05**2)) if df > 0
                else np.nan,
                "rmsea.close.h0": 0.05,
                "rmsea.notclose.pvalue": float(stats.ncx2.cdf(chi2, df, n * df * 0.08**2))
                if df > 0 else np.nan,
                "rmsea.notclose.h0": 0.08})
    out.update(_rmr(fit))
    sigma, mu, *_ = fit["ram"].implied(fit["x"])
    out["cn_05"] = _cn(chi2, df, n, 0.05)
    out["cn_01"] = _cn(chi2, df, n, 0.01)
    out.update(_gfi(fit, df))
    out["mfi"] = float(np.exp(-0.5 * (chi2 - df) / n))
    out["ecvi"] = float(chi2 / n + 2 * npar / n)   # lavaan: X2/N + 2 npar/N
    if est_name == "MLR":  # NaN under every name when the information was not inverted
        out.update(_robust_measures(fit, base, extra, chi2, df, bchi, bdf))
    if data.fiml and df > 0:
        if inverted:
            out.update(_fiml_corrected(fit, base, df, bdf, version="V3" if est_name == "MLR"
                                       else "V6"))
        elif not mod.ov_x:  # the names _fiml_corrected gives (none with fixed-x covariates)
            out.update(dict.fromkeys(_ROBUST_NAMES, np.nan))
    # the h1 Cholesky factor and half solve served this call only: not kept in the result
    fit.pop("_h1_chol", None)
    fit.pop("_h1_half", None)
    return out


def _complete_f(sigma, mu, s, m) -> float:
    """Complete-data ML discrepancy of (Sigma, mu) for sample moments (S, m)."""
    v = np.linalg.inv(sigma)
    _, ld = np.linalg.slogdet(sigma)
    _, lds = np.linalg.slogdet(s)
    d = m - mu
    return float(ld + np.trace(s @ v) - lds - len(m) + d @ v @ d)


def _fiml_corrected(fit, base, df, bdf, *, version: str) -> dict[str, float]:
    """FIML-corrected robust RMSEA/CFI (Zhang & Savalei 2023), as lavaan 0.6-14
    ``lav_fit_fiml_corrected`` (V3 with a scaled test, V6 without).

    XX3 = N F_ML(theta_FIML; EM moments as complete data); with Wm, Jm the observed h1
    information and first-order matrix of the incomplete data (at the EM moments), Wc the
    complete-data information at the EM moments, E = Delta' Wm Delta and
    U = Wm - Wm Delta E^-1 Delta' Wm:  k = tr(Wc Wm^-1 U Wm^-1) (V6) or
    tr(U Wm^-1 Wc Wm^-1 U Wm^-1 Jm Wm^-1) (V3); c3 = k / df.  The same for the baseline.
    """
    mod, data, ram = fit["model"], fit["data"], fit["ram"]
    n, p = data.n, data.p
    xi = [mod.observed.index(v) for v in mod.ov_x]
    if xi:
        return {}
    ti, tj = np.tril_indices(p)
    half = np.where(ti == tj, 0.5, 1.0)
    nv = len(ti)
    keep = np.ones(p + nv, dtype=bool)
    wm, s1, low = _h1_factor(fit, keep)
    vt = np.linalg.inv(data.cov)
    vt = 0.5 * (vt + vt.T)
    # Wc = diag(Vt, Wc_vv), Wc_vv = D'(Vt kron Vt)D / 2, is never formed: for vech vectors
    # x, y with X = unvech(x), Y = unvech(y): x'Wc_vv y = tr(X Vt Y Vt) / 2 and
    # Wc_vv y = vech(Vt Y Vt) with the diagonal halved.
    vpos = np.empty((p, p), dtype=np.intp)
    vpos[ti, tj] = np.arange(nv)
    vpos[tj, ti] = np.arange(nv)
    if version == "V6":
        # tr(Wc Wm^-1): Wm^-1 from the Cholesky factor of Wm (LAPACK potri), its lower
        # triangle only (the upper one left at 0), read as a symmetric matrix
        wmi_l = sla.lapack.dpotri(low, lower=1)[0] if low is not None else None
        if wmi_l is None or not np.all(np.isfinite(np.diagonal(wmi_l))):
            wmi = np.linalg.inv(wm)
            wmi_l = np.tril(0.5 * (wmi + wmi.T))
        wmm = wmi_l[:p, :p]
        tr_wc_wmi = (float(np.sum(vt * (np.tril(wmm) + np.tril(wmm, -1).T)))
                     + 0.5 * _kron_vech_inner_tril(vt, vt, wmi_l[p:, p:]))
    else:
        # Jm = S1'S1/N is of rank <= N: Gamma = Wm^-1 Jm Wm^-1 = T'T / N with T = S1 Wm^-1,
        # T' = L'^-1 (L^-1 S1') from the Cholesky factor (L^-1 S1' kept by the Yuan-Bentler
        # trace): two triangular solves with N right-hand sides, no inverse of Wm
        if low is not None:
            half_solved = fit.get("_h1_half")
            if half_solved is None:
                half_solved = sla.solve_triangular(low, s1.T, lower=True, check_finite=False)
            t_mat = np.ascontiguousarray(sla.solve_triangular(
                low, half_solved, lower=True, trans="T", check_finite=False).T)
        else:
            wmi = np.linalg.inv(wm)
            t_mat = s1 @ (0.5 * (wmi + wmi.T))
        tm_, tv = t_mat[:, :p], t_mat[:, p:]
        xv = (tv[:, vpos].reshape(-1, p) @ vt).reshape(n, p, p)  # X_i Vt
        tr_wc_gamma = (float(np.sum((tm_ @ vt) * tm_))
                       + 0.5 * float(np.einsum("ijk,ikj->", xv, xv))) / n

    def trace_k(ram_, x_):
        # U = Wm - B, B = Wm D E^-1 D' Wm, E = D' Wm D; with Y = Wm^-1 Wm D = D:
        # tr(Wc Wm^-1 U Wm^-1) = tr(Wc Wm^-1) - tr(E^-1 D' Wc D)                       (V6)
        # tr(U A U Gamma), A = Wm^-1 Wc Wm^-1 = tr(Wc Gamma) - 2 tr(E^-1 D' Wc Gamma Wm D)
        #                                       + tr(E^-1 D' Wc D E^-1 D' Wm Gamma Wm D)  (V3)
        # with T Wm D = S1 D; rows of D that are 0 (a baseline's covariances) are skipped
        ds, dm = ram_.jacobian(x_)  # ds[a] = dSigma/dtheta_a, symmetric by construction
        delta = np.hstack([dm, ds[:, ti, tj]]).T  # (p + nv) x q
        q = delta.shape[1]
        nz = np.flatnonzero(np.any(delta != 0, axis=1))
        if nz.size == delta.shape[0]:
            dn, s1n = delta, s1
            if low is not None:  # E = (L'D)'(L'D), L'D by BLAS trmm (L' = low.T, no copy)
                ld = sla.blas.dtrmm(1.0, low.T, delta, lower=0)
                e_mat = ld.T @ ld
            else:
                e_mat = delta.T @ (wm @ delta)
        else:  # rows of D that are 0 (a baseline's covariances) are skipped
            dn, s1n = delta[nz], s1[:, nz]
            e_mat = dn.T @ (wm[np.ix_(nz, nz)] @ dn)
        e_inv = np.linalg.inv(e_mat)
        # Wc D: Vt dmu' (mean rows); vech(Vt dSigma_a Vt), diagonal halved (vech rows), the
        # products of all columns a at once: Vt [dSigma_1 Vt, ..., dSigma_q Vt]
        xv = (ds.reshape(-1, p) @ vt).reshape(q, p, p).transpose(1, 0, 2).reshape(p, q * p)
        yd = (vt @ xv).reshape(p, q, p)  # yd[i, a, j] = (Vt dSigma_a Vt)_ij
        wcd = np.vstack([vt @ dm.T, yd[ti, :, tj] * half[:, None]])  # Wc D
        dwcd = delta.T @ wcd
        if version == "V6":
            return tr_wc_wmi - float(np.sum(e_inv * dwcd.T))
        td = s1n @ dn  # n x q: T Wm D = S1 D (T Wm = S1 Wm^-1 Wm)
        twcd = t_mat @ wcd  # n x q: T Wc D
        mid = (twcd.T @ td) / n  # D' Wc Gamma Wm D
        dgd = (td.T @ td) / n  # D' Wm Gamma Wm D
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
    cfi = _cfi(xx3, df, xx3_null, bdf, c3, c3_null)
    tli = _tli(xx3, df, xx3_null, bdf, c3, c3_null)
    return {"cfi.robust": cfi, "tli.robust": tli, "nnfi.robust": tli,
            "rni.robust": float(1 - (xx3 - c3 * df) / (xx3_null - c3_null * bdf)),
            "rmsea.robust": float(np.sqrt(max(xx3 / n / df - c3 / n, 0.0))),
            "rmsea.ci.lower.robust": lo, "rmsea.ci.upper.robust": hi,
            "rmsea.pvalue.robust": float(stats.ncx2.sf(xs, df, n * df / c3 * 0.05**2)),
            "rmsea.notclose.pvalue.robust": float(stats.ncx2.cdf(xs, df, n * df / c3 * 0.08**2))}


def _cfi(x2, df, bx2, bdf, c=1.0, bc=1.0):
    t1 = max(x2 - c * df, 0.0)
    t2 = max(x2 - c * df, bx2 - bc * bdf, 0.0)
    return 1.0 if (abs(t1) < 1e-12 and abs(t2) < 1e-12) else float(1 - t1 / t2)


def _tli(x2, df, bx2, bdf, c=1.0, bc=1.0):
    t1 = (x2 - c * df) * bdf
    t2 = (bx2 - bc * bdf) * df
    if df > 0 and abs(t2) > 0:
        return float(1 - t1 / t2)
    return 1.0


def _cn(chi2, df, n, alpha):
    if df <= 0 or chi2 <= 0:
        return np.nan
    return float(stats.chi2.ppf(1 - alpha, df) / (chi2 / n) + 1)


def _rmr(fit) -> dict[str, float]:
    """RMR / SRMR variants as lavaan (``lav_fit_srmr``): Bentler (divide residuals by
    the sample SDs), Mplus (standardize sample and model separately), CRMR (no diagonal)."""
    mod, data = fit["model"], fit["data"]
    sigma, mu, *_ = fit["ram"].implied(fit["x"])
    s, m = data.cov, data.mean
    p = data.p
    ms = mod.meanstructure
    tri = np.tril_indices(p)
    off = np.tril_indices(p, -1)
    sd = np.sqrt(np.diag(s))
    res = s - sigma
    rmean = m - mu
    # rmr (raw)
    ss_raw = np.sum(res[tri] ** 2)
    rmr_nomean = np.sqrt(ss_raw / len(tri[0]))
    rmr = np.sqrt((ss_raw + np.sum(rmean**2)) / (len(tri[0]) + p)) if ms else rmr_nomean
    # bentler
    rb = res / np.outer(sd, sd)
    ss_b = np.sum(rb[tri] ** 2)
    srmr_b_nomean = np.sqrt(ss_b / len(tri[0]))
    srmr_b = (np.sqrt((ss_b + np.sum((rmean / sd) ** 2)) / (len(tri[0]) + p)) if ms
              else srmr_b_nomean)
    # crmr (no variances)
    ss_c = np.sum(rb[off] ** 2)
    crmr_nomean = np.sqrt(ss_c / len(off[0])) if len(off[0]) else np.nan
    crmr = (np.sqrt((ss_c + np.sum((rmean / sd) ** 2)) / (len(off[0]) + p)) if ms
            else crmr_nomean)
    # mplus: correlations of each, plus variance ratios
    sds = np.sqrt(np.diag(sigma))
    r_s = s / np.outer(sd, sd)
    r_m = sigma / np.outer(sds, sds)
    dcor = (r_s - r_m)[off]
    dvar = (np.diag(s) - np.diag(sigma)) / np.diag(s)
    ss_m = np.sum(dcor**2) + np.sum(dvar**2)
    srmr_mp_nomean = np.sqrt(ss_m / len(tri[0]))
    if ms:
        dm = m / sd - mu / sds
        srmr_mp = np.sqrt((ss_m + np.sum(dm**2)) / (len(tri[0]) + p))
    else:
        srmr_mp = srmr_mp_nomean
    return {"rmr": float(rmr), "rmr_nomean": float(rmr_nomean), "srmr": float(srmr_b),
            "srmr_bentler": float(srmr_b), "srmr_bentler_nomean": float(srmr_b_nomean),
            "crmr": float(crmr), "crmr_nomean": float(crmr_nomean),
            "srmr_mplus": float(srmr_mp), "srmr_mplus_nomean": float(srmr_mp_nomean)}


def _gfi(fit, df) -> dict[str, float]:
    """GFI/AGFI/PGFI as lavaan ``lav_fit_gfi``: 1 - e'We / s'Ws over the sample moments
    (vech S, and the means with a mean structure), W the normal-theory weight at the fitted
    Sigma (0.5 D'(V kron V)D; V for the means) with the rows of fixed-x moments zeroed;
    AGFI = 1 - (k/df)(1 - GFI), PGFI = (df/k) GFI, k = number of sample moments.

    The quadratic forms are traces: for symmetric E, vech(E)' 0.5 D'(V kron V)D vech(E) =
    tr(E V E V) / 2, with E's block of fixed-x moments set to 0 (O(p^3), no nv x nv matrix).
    """
    mod, data = fit["model"], fit["data"]
    sigma, mu, *_ = fit["ram"].implied(fit["x"])
    p = data.p
    v = np.linalg.inv(sigma)
    v = 0.5 * (v + v.T)
    xi = [mod.observed.index(x) for x in mod.ov_x]

    def quad(e):
        e = e.copy()
        e[np.ix_(xi, xi)] = 0.0
        ev = e @ v
        return 0.5 * float(np.sum(ev * ev.T))

    t1 = quad(data.cov - sigma)
    t2 = quad(data.cov)
    k = p * (p + 1) // 2
    if mod.meanstructure:
        keep_m = np.array([j not in xi for j in range(p)], dtype=float)
        vm = v * np.outer(keep_m, keep_m)
        d = data.mean - mu
        t1 += d @ vm @ d
        t2 += data.mean @ vm @ data.mean
        k += p
    gfi = 1 - t1 / t2
    agfi = 1 - (k / df) * (1 - gfi) if df > 0 else 1.0
    return {"gfi": float(gfi), "agfi": float(agfi), "pgfi": float(df / k * gfi) if k else np.nan}


#: The names of the robust (MLR) test and the measures built on it, in the order of
#: :func:`_robust_measures`; the ``.robust`` ones also in that of :func:`_fiml_corrected`.
_SCALED_NAMES = (
    "chisq.scaled", "df.scaled", "pvalue.scaled", "chisq.scaling.factor",
    "baseline.chisq.scaled", "baseline.df.scaled", "baseline.pvalue.scaled",
    "baseline.chisq.scaling.factor", "scaling.factor.h1", "scaling.factor.h0",
    "cfi.scaled", "tli.scaled", "nnfi.scaled", "rfi.scaled", "nfi.scaled", "pnfi.scaled",
    "ifi.scaled", "rni.scaled", "rmsea.scaled", "rmsea.ci.lower.scaled",
    "rmsea.ci.upper.scaled", "rmsea.pvalue.scaled", "rmsea.notclose.pvalue.scaled")
_ROBUST_NAMES = (
    "cfi.robust", "tli.robust", "nnfi.robust", "rni.robust", "rmsea.robust",
    "rmsea.ci.lower.robust", "rmsea.ci.upper.robust", "rmsea.pvalue.robust",
    "rmsea.notclose.pvalue.robust")


def _robust_measures(fit, base, extra, chi2, df, bchi, bdf) -> dict[str, float]:
    """The Yuan-Bentler scaled test and the ``.scaled`` / ``.robust`` measures.

    ``extra`` empty (the model's information matrix could not be inverted): the model's scaled
    statistic, its p-value and scaling factors and every index built on it are NaN, under the
    names they have on success; ``df.scaled`` is ``df`` and the baseline's scaled statistic
    (the independence model, whose information is diagonal) is computed.  This is lavaan's
    behaviour since 0.6-16 (``lav_test_yuan_bentler``: a scaled test whose information cannot
    be inverted is NA; the baseline is a fit of its own).  lavaan 0.6-14 copied the unscaled
    statistic into the scaled one there, with a scaling factor of NA.
    """
    n = fit["data"].n
    if extra:
        tr_h1, tr_h0 = _yb_trace(fit, extra["e_inv"], extra["b0"])
        c = (tr_h1 - tr_h0) / df if df > 0 else np.nan
    # baseline
    bprob = base["problem"]
    b_einv = np.linalg.inv(base["hessian"] / 2.0)
    bsc = bprob.casewise_scores(base["x"])
    bb0 = bsc.T @ bsc / n
    tr_h1, btr_h0 = _yb_trace(fit, b_einv, bb0)  # tr_h1: the model's own (kept in fit)
    bc = (tr_h1 - btr_h0) / bdf
    if not extra:
        out = dict.fromkeys(_SCALED_NAMES, np.nan)
        bxs = bchi / bc
        out.update({"df.scaled": float(df), "baseline.chisq.scaled": bxs,
                    "baseline.df.scaled": float(bdf),
                    "baseline.pvalue.scaled": float(chisq_sf(bxs, bdf)),
                    "baseline.chisq.scaling.factor": bc})
        if not fit["data"].fiml:
            out.update(dict.fromkeys(_ROBUST_NAMES, np.nan))
        return out
    xs, bxs = chi2 / c, bchi / bc
    out = {"chisq.scaled": xs, "df.scaled": float(df),
           "pvalue.scaled": float(chisq_sf(xs, df)), "chisq.scaling.factor": c,
           "baseline.chisq.scaled": bxs, "baseline.df.scaled": float(bdf),
           "baseline.pvalue.scaled": float(chisq_sf(bxs, bdf)),
           "baseline.chisq.scaling.factor": bc,
           "scaling.factor.h1": tr_h1 / _h1_ndat(fit), "scaling.factor.h0": tr_h0 / fit[
               "model"].n_free}
    out["cfi.scaled"] = _cfi(xs, df, bxs, bdf)
    out["tli.scaled"] = out["nnfi.scaled"] = _tli(xs, df, bxs, bdf)
    inc = incremental_indices(xs, df, bxs, bdf)
    out.update({"rfi.scaled": inc["rfi"], "nfi.scaled": inc["nfi"], "pnfi.scaled": inc["pnfi"],
                "ifi.scaled": inc["ifi"], "rni.scaled": inc["rni"]})
    # lavaan 0.6-14 (lav_fit_rmsea_lavobject): "scaled" uses X2 with df2 = tr(U Gamma) = c df;
    # "robust" (Brosseau-Liard, Savalei & Li 2012) uses X2 - c df, CI/p from the scaled X2
    df2 = c * df
    lo_s, hi_s = _rmsea_ci(chi2, df2, n)
    out.update({"rmsea.scaled": float(np.sqrt(max(chi2 / n / df2 - 1 / n, 0.0))),
                "rmsea.ci.lower.scaled": lo_s, "rmsea.ci.upper.scaled": hi_s,
                "rmsea.pvalue.scaled": float(stats.ncx2.sf(chi2, df2, n * df2 * 0.05**2)),
                "rmsea.notclose.pvalue.scaled": float(stats.ncx2.cdf(chi2, df2,
                                                                     n * df2 * 0.08**2))})
    if fit["data"].fiml:
        return out
    out["cfi.robust"] = _cfi(chi2, df, bchi, bdf, c, bc)
    out["tli.robust"] = out["nnfi.robust"] = _tli(chi2, df, bchi, bdf, c, bc)
    out["rni.robust"] = float(1 - (chi2 - c * df) / (bchi - bc * bdf))
    out["rmsea.robust"] = float(np.sqrt(max(chi2 / n / df - c / n, 0.0)))
    lo_r, hi_r = _rmsea_ci(xs, df, n, c)
    out["rmsea.ci.lower.robust"] = lo_r
    out["rmsea.ci.upper.robust"] = hi_r
    out["rmsea.pvalue.robust"] = float(stats.ncx2.sf(xs, df, n * df / c * 0.05**2))
    out["rmsea.notclose.pvalue.robust"] = float(stats.ncx2.cdf(xs, df, n * df / c * 0.08**2))
    return out


def _rmsea_ci(x2, df, n, c_hat=1.0, level=0.90):
    """RMSEA CI as lavaan 0.6-14 ``lav_fit_rmsea_ci`` (noncentral chi-square, Browne &
    Cudeck 1993), with lavaan's ``c.hat`` multiplier for the robust version."""
    from scipy import optimize

    upper_p, lower_p = 1 - (1 - level) / 2, (1 - level) / 2

    def cdf(ncp):
        return chisq_cdf(x2, df, ncp)

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


def _loglik_x(fit) -> float:
    """Log-likelihood of the fixed-x covariates alone (lavaan leaves it out of logl)."""
    mod, data = fit["model"], fit["data"]
    if not mod.ov_x:
        return 0.0
    xi = [mod.observed.index(v) for v in mod.ov_x]
    sxx = data.cov[np.ix_(xi, xi)]
    _, ld = np.linalg.slogdet(sxx)
    k = len(xi)
    return float(-data.n / 2 * (k * np.log(2 * np.pi) + ld + k))


def _h1_ndat(fit) -> int:
    mod = fit["model"]
    return mod.n_moments() - mod.n_moments_x()
