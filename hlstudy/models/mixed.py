"""Random-intercept linear mixed model with Satterthwaite degrees of freedom (lmerTest)."""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from hlstudy import _jsoncache
from hlstudy.errors import ModelError
from hlstudy.models._frame import model_frame


@dataclass
class MixedResult:
    """Result of :func:`mixed`.

    ``coefficients``: DataFrame, index ``term``, columns ``estimate, se, df, t, p, ci_low,
    ci_high`` (Satterthwaite df, = ``summary(lmerTest::lmer(...))$coefficients``);
    ``tau2`` (between-group variance), ``sigma2`` (residual variance), ``icc`` =
    τ²/(τ² + σ²); ``nobs``, ``n_groups``, ``n_dropped``; ``reml_criterion`` (−2 REML
    log-likelihood, = lme4 ``REMLcrit``).
    """

    formula: str
    group: str
    coefficients: pd.DataFrame
    tau2: float
    sigma2: float
    icc: float
    nobs: int
    n_groups: int
    n_dropped: int
    reml_criterion: float
    converged: bool
    alpha: float
    info: dict = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"Random-intercept model (REML)  {self.formula}  + (1 | {self.group})",
                 f"N = {self.nobs} rows ({self.n_dropped} dropped for missing values), "
                 f"{self.n_groups} groups",
                 f"tau² = {self.tau2:.4f}, sigma² = {self.sigma2:.4f}, ICC = {self.icc:.3f}; "
                 f"REML criterion = {self.reml_criterion:.3f}",
                 "fixed effects with Satterthwaite df (as lmerTest):",
                 self.coefficients.to_string(float_format=lambda v: f"{v:.4f}")]
        if not self.converged:
            lines.append("WARNING: the optimizer did not report convergence")
        return "\n".join(lines)


def _reml_parts(X, y, Z, s2, t2, ZZ=None):
    """V, V⁻¹, C = (X'V⁻¹X)⁻¹ and P; ``ZZ`` = Z Z' when the caller has it already."""
    n = len(y)
    V = s2 * np.eye(n) + t2 * (Z @ Z.T if ZZ is None else ZZ)
    Vi = np.linalg.inv(V)
    XtVi = X.T @ Vi
    C = np.linalg.inv(XtVi @ X)
    P = Vi - XtVi.T @ C @ XtVi
    return V, Vi, C, P


def _reml_loglik(X, y, Z, s2, t2, parts=None):
    V, Vi, C, P = _reml_parts(X, y, Z, s2, t2) if parts is None else parts
    _, logdetV = np.linalg.slogdet(V)
    _, logdetC = np.linalg.slogdet(C)
    n, k = X.shape
    return -0.5 * ((n - k) * np.log(2 * np.pi) + logdetV - logdetC + y @ P @ y)


def _second_derivatives(P, y, ZZ):
    """P V_a, V_a P y and the REML Hessian ½tr(PV_aPV_b) − y'PV_aPV_bPy for V_a ∈ (I, ZZ').
    (The products with V_0 = I are P and Py themselves: the same floats as P @ I, I @ Py.)"""
    Py = P @ y
    PV = [P, P @ ZZ]
    VPy = [Py, ZZ @ Py]
    H = np.empty((2, 2))
    for a in range(2):
        for b in range(2):
            H[a, b] = 0.5 * np.sum(PV[a] * PV[b].T) - VPy[a] @ P @ VPy[b]
    return Py, PV, VPy, H


def satterthwaite_df(X, y, Z, s2, t2, parts=None, ZZ=None):
    """Satterthwaite df of each fixed effect of a random-intercept model.

    ν_j = 2·(c'Cc)² / (g'Ag), C = (X'V⁻¹X)⁻¹, V = σ²I + τ²ZZ', g_i = ∂(c'Cc)/∂θ_i =
    c'C X'V⁻¹V_iV⁻¹X C c, A = (−∂²ℓ_REML/∂θ∂θ')⁻¹ the observed-information covariance of
    θ = (σ², τ²), with the exact REML Hessian ½tr(PV_iPV_j) − y'PV_iPV_jPy (Harville 1977).
    The df is invariant to the variance parametrization at the REML optimum, so it equals
    lmerTest's, which differentiates numerically in (θ_lme4, σ) (Kuznetsova et al. 2017,
    *J. Stat. Softw.* 82(13)).
    """
    ZZ = Z @ Z.T if ZZ is None else ZZ
    V, Vi, C, P = _reml_parts(X, y, Z, s2, t2, ZZ) if parts is None else parts
    H = _second_derivatives(P, y, ZZ)[3]
    A = np.linalg.inv(-H)
    XtVi = X.T @ Vi
    D = [C @ XtVi @ Vk @ XtVi.T @ C for Vk in (np.eye(len(y)), ZZ)]
    k = X.shape[1]
    df = np.empty(k)
    for j in range(k):
        g = np.array([D[0][j, j], D[1][j, j]])
        df[j] = 2 * C[j, j] ** 2 / (g @ A @ g)
    return df, C


def mixed(data: pd.DataFrame, formula: str, *, group: str, alpha: float = 0.05) -> MixedResult:
    """Random-intercept model y = Xβ + u_group + e fitted by REML (statsmodels ``MixedLM``).

    Parameters
    ----------
    data : DataFrame; formula : patsy fixed-effects formula (``"PRO ~ TRAIN + MOT"``);
    group : column of the grouping factor (commune); alpha : for the intervals.

    Returns
    -------
    MixedResult; fixed effects with Satterthwaite df as R
    ``summary(lmerTest::lmer(PRO ~ TRAIN + MOT + (1 | commune_code), REML = TRUE))`` reports
    them (formula in :func:`satterthwaite_df`), variance components as ``VarCorr``, ICC.
    The variance components are those of statsmodels' REML optimum polished by Newton steps
    on the exact REML score, so they agree with lme4's to its convergence tolerance.
    A fit is kept on disk by content (``data/processed/cache/mixed-models``: the design,
    response and groups as fitted, formula, alpha, this module's code, library versions and
    CPU), so a re-run reads the same doubles back instead of refitting; warnings of the
    first fit are not repeated then.  ``HLSTUDY_FIT_CACHE=0`` (or ``HLSTUDY_EXPORT_CACHE=0``)
    fits every time.

    Raises
    ------
    ModelError : unknown variables, no complete rows, a group variable with fewer than 2
        groups or a group of one (named), a boundary fit (τ² = 0: Satterthwaite df undefined).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(12), 10)
    >>> x = rng.normal(size=120)
    >>> df = pd.DataFrame({"y": 0.5 * x + rng.normal(size=12)[g] + rng.normal(size=120),
    ...                    "x": x, "commune": g})
    >>> m = mixed(df, "y ~ x", group="commune")
    >>> 0 < m.icc < 1, m.n_groups
    (True, 12)
    """
    if not 0 < alpha < 1:
        raise ModelError(f"alpha must be in (0, 1), got {alpha}")
    fr = model_frame(data, formula, cluster=group)
    path = _cache_path(fr, formula, group, alpha)
    res = _jsoncache.read(path, _from_json)
    if res is None:
        from hlstudy.diagnostic.quality import FIT_CACHE_FILES

        res = _fit(fr, formula, group, alpha)
        _jsoncache.write(path, _to_json(res), most=FIT_CACHE_FILES, keep=FIT_CACHE_FILES * 4 // 5)
    return res


def _cache_path(fr, formula: str, group: str, alpha: float):
    """Where a fit of these numbers is kept (``data/processed/cache/mixed-models``): the
    SHA-256 of the design, response and groups as fitted, the formula, group and alpha, this
    module's code and the numerical libraries' versions and CPU (the key of
    :func:`hlstudy.diagnostic.quality._fit_code_key`); None when ``HLSTUDY_FIT_CACHE=0`` or
    ``HLSTUDY_EXPORT_CACHE=0``."""
    from hlstudy.diagnostic import quality

    folder = quality._fit_cache_dir()
    if folder is None:
        return None
    global _SOURCE
    if _SOURCE is None:
        try:
            _SOURCE = inspect.getsource(sys.modules[__name__])
        except (OSError, TypeError):
            _SOURCE = repr(_fit.__code__.co_code)
    h = hashlib.sha256()
    for part in (np.ascontiguousarray(fr.X, dtype=float), np.ascontiguousarray(fr.y, dtype=float),
                 np.ascontiguousarray(fr.cluster), repr(np.asarray(fr.X).shape),
                 repr(list(fr.columns)), repr(list(fr.cluster_labels)), formula, group,
                 float(alpha).hex(), repr(fr.n_dropped), _SOURCE, quality._fit_code_key()):
        data = part.tobytes() if isinstance(part, np.ndarray) else str(part).encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return folder.parent / "mixed-models" / f"{h.hexdigest()}.json"


_SOURCE: str | None = None


def _to_json(res: MixedResult) -> str:
    """A :class:`MixedResult` as JSON, every double as ``float.hex`` (read back exactly)."""
    co = res.coefficients
    return json.dumps({
        "formula": res.formula, "group": res.group, "terms": [str(t) for t in co.index],
        "columns": list(co.columns),
        "values": [[float(v).hex() for v in co[c].to_numpy(float)] for c in co.columns],
        "floats": {k: float(getattr(res, k)).hex()
                   for k in ("tau2", "sigma2", "icc", "reml_criterion", "alpha")},
        "ints": {k: int(getattr(res, k)) for k in ("nobs", "n_groups", "n_dropped")},
        "converged": bool(res.converged),
        "start": [float(v).hex() for v in res.info["statsmodels_start"]],
    }, sort_keys=True)


def _from_json(text: str) -> MixedResult:
    raw = json.loads(text)
    coef = pd.DataFrame({c: np.array([float.fromhex(v) for v in vals])
                         for c, vals in zip(raw["columns"], raw["values"], strict=True)},
                        index=pd.Index(raw["terms"], name="term"))
    fl = {k: float.fromhex(v) for k, v in raw["floats"].items()}
    return MixedResult(formula=raw["formula"], group=raw["group"], coefficients=coef,
                       tau2=fl["tau2"], sigma2=fl["sigma2"], icc=fl["icc"],
                       nobs=raw["ints"]["nobs"], n_groups=raw["ints"]["n_groups"],
                       n_dropped=raw["ints"]["n_dropped"], reml_criterion=fl["reml_criterion"],
                       converged=raw["converged"], alpha=fl["alpha"],
                       info={"statsmodels_start": tuple(float.fromhex(v) for v in raw["start"])})


def _fit(fr, formula: str, group: str, alpha: float) -> MixedResult:
    from statsmodels.regression.mixed_linear_model import MixedLM

    X, y, codes = fr.X, fr.y, fr.cluster
    n, k = X.shape
    G = len(fr.cluster_labels)
    Z = np.zeros((n, G))
    Z[np.arange(n), codes] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = MixedLM(y, X, groups=codes).fit(reml=True)
    s2, t2 = float(res.scale), float(np.asarray(res.cov_re)[0, 0])
    converged = bool(res.converged)
    # polish (σ², τ²) by Newton steps on the REML score (exact gradient and Hessian)
    theta = np.array([s2, t2])
    ZZ = Z @ Z.T
    for _ in range(50):
        if theta[1] <= 0:
            break
        V, Vi, C, P = _reml_parts(X, y, Z, *theta, ZZ=ZZ)
        Py, PV, VPy, H = _second_derivatives(P, y, ZZ)
        grad = np.array([-0.5 * np.trace(PV[a]) + 0.5 * Py @ VPy[a] for a in range(2)])
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            break
        new = theta - step
        if (new <= 0).any():
            break
        theta = new
        if np.max(np.abs(step) / theta) < 1e-12:
            break
    s2, t2 = map(float, theta)
    if t2 <= 1e-10 * s2:
        raise ModelError(f"the between-{group} variance is estimated at 0 (boundary fit): "
                         "no random-intercept model to report; use ols(..., cluster=...)")
    parts = _reml_parts(X, y, Z, s2, t2, ZZ)   # once at the optimum: df, estimates, criterion
    df, C = satterthwaite_df(X, y, Z, s2, t2, parts=parts, ZZ=ZZ)
    Vi = parts[1]
    b = C @ (X.T @ Vi @ y)
    se = np.sqrt(np.diag(C))
    t = b / se
    p = 2 * stats.t.sf(np.abs(t), df)
    q = stats.t.ppf(1 - alpha / 2, df)
    coef = pd.DataFrame({"estimate": b, "se": se, "df": df, "t": t, "p": p,
                         "ci_low": b - q * se, "ci_high": b + q * se},
                        index=pd.Index(fr.columns, name="term"))
    crit = -2 * _reml_loglik(X, y, Z, s2, t2, parts=parts)
    return MixedResult(formula=formula, group=group, coefficients=coef, tau2=t2, sigma2=s2,
                       icc=t2 / (t2 + s2), nobs=n, n_groups=G, n_dropped=fr.n_dropped,
                       reml_criterion=float(crit), converged=converged, alpha=alpha,
                       info={"statsmodels_start": (float(res.scale), float(np.asarray(res.cov_re)[0, 0]))})
