"""Linear regression on scale scores with few-cluster inference (CR2, wild bootstrap)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from hlstudy import _resultcache
from hlstudy.errors import ModelError, check_lang
from hlstudy.models import _sandwich as sw
from hlstudy.models._frame import ModelFrame, model_frame
from hlstudy.models._tdist import t_ppf, t_sf
from hlstudy.models._wild import weights_type_for, wild_test

VCOV_TYPES = ("CR2", "CR1", "HC1", "naive")
DEFAULT_SEED = 20260101
COOKS_CUTOFF = "4/N"
#: Satterthwaite df of a CR2 test below which the test is not trusted (Tipton 2015,
#: *Psychological Methods* 20: 375–393; Pustejovsky & Tipton 2018, *Journal of Business &
#: Economic Statistics* 36: 672–683, whose clubSandwich reports the same df).
CR2_MIN_DF = 4.0


class FewClustersWarning(UserWarning):
    """CR2 inference on so few clusters that a coefficient's Satterthwaite df is below
    :data:`CR2_MIN_DF`; attributes ``n_clusters``, ``terms`` (term → df) for a caller that
    words it in its own language (None, {} when the warning is issued from a plain text; the
    notebooks' result cache replays it with its parts)."""

    def __init__(self, message: str = "", n_clusters: int | None = None,
                 terms: dict[str, float] | None = None):
        super().__init__(message)
        self.n_clusters = n_clusters
        self.terms = dict(terms or {})


@dataclass
class OLSResult:
    """Result of :func:`ols`.

    Attributes
    ----------
    coefficients : DataFrame, index ``term`` (patsy's column names), columns ``estimate, se,
        df, t, p, ci_low, ci_high, beta`` and, with a cluster and ``wild=True``, ``p_wild,
        ci_low_wild, ci_high_wild``.
    vcov : DataFrame, the K×K covariance matrix of the chosen ``vcov_type``.
    nobs, n_clusters, n_dropped : rows used, clusters among them, rows dropped for missing
        values (listwise, counted).
    """

    formula: str
    vcov_type: str
    coefficients: pd.DataFrame
    vcov: pd.DataFrame
    nobs: int
    n_clusters: int | None
    n_dropped: int
    r2: float
    adj_r2: float
    sigma: float
    cluster: str | None
    alpha: float
    wild_info: dict = field(default_factory=dict)
    frame: ModelFrame | None = field(default=None, repr=False)
    _fitted: np.ndarray | None = field(default=None, repr=False)
    _resid: np.ndarray | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ VIF
    @property
    def vif(self) -> pd.DataFrame:
        """Generalized variance-inflation factors, = R ``car::vif(fit)``.

        Fox & Monette (1992, *JASA* 87, 178–183): for a term with columns S of the
        coefficient correlation matrix R (intercept removed),
        ``GVIF = det(R_SS)·det(R_{-S,-S}) / det(R)``; columns ``GVIF, Df,
        GVIF^(1/(2*Df))``; with one column per term GVIF is the ordinary VIF.
        """
        fr = self.frame
        if "Intercept" not in fr.columns:
            raise ModelError("VIFs (car::vif) need a model with an intercept")
        keep = [j for j, c in enumerate(fr.columns) if c != "Intercept"]
        XtX_inv = np.linalg.inv(fr.X.T @ fr.X) if fr.weights is None else \
            np.linalg.inv((fr.X.T * fr.weights) @ fr.X)
        V = XtX_inv[np.ix_(keep, keep)]
        d = np.sqrt(np.diag(V))
        R = V / np.outer(d, d)
        pos = {j: i for i, j in enumerate(keep)}
        det_all = np.linalg.det(R)
        rows = []
        for term, cols in fr.term_columns.items():
            s = [pos[c] for c in cols]
            rest = [i for i in range(len(keep)) if i not in s]
            if not rest:
                gvif = 1.0
            else:
                gvif = np.linalg.det(R[np.ix_(s, s)]) * np.linalg.det(R[np.ix_(rest, rest)]) / det_all
            rows.append({"term": term, "GVIF": gvif, "Df": len(cols),
                         "GVIF^(1/(2*Df))": gvif ** (1 / (2 * len(cols)))})
        return pd.DataFrame(rows).set_index("term")

    # ------------------------------------------------------------ diagnostics
    @property
    def cooks_distance(self) -> pd.Series:
        """Cook's distance of every row used (index: the data's index), = R ``cooks.distance``."""
        fr = self.frame
        X, e = fr.X, self._resid
        n, k = X.shape
        w = np.ones(n) if fr.weights is None else fr.weights
        Xw = X * np.sqrt(w)[:, None]
        h = np.einsum("ij,jk,ik->i", Xw, np.linalg.inv(Xw.T @ Xw), Xw)
        s2 = np.sum(w * e**2) / (n - k)
        d = w * e**2 / (k * s2) * h / (1 - h) ** 2
        return pd.Series(d, index=fr.data.index, name="cooks_d")

    @property
    def influential(self) -> pd.DataFrame:
        """Rows with Cook's distance above 4/N (Bollen & Jackman 1990), largest first."""
        d = self.cooks_distance
        cut = 4 / self.nobs
        out = d[d > cut].sort_values(ascending=False, kind="mergesort").to_frame()
        out["cutoff"] = cut
        return out

    @property
    def diagnostics(self) -> pd.DataFrame:
        """Residual diagnostics, one row per check (columns ``statistic, df, p, n_above, note``).

        * ``breusch_pagan``: studentized (Koenker 1981) Breusch–Pagan test on the model's
          regressors, statsmodels ``het_breuschpagan(robust=True)`` = R ``lmtest::bptest(fit)``.
        * ``shapiro_wilk``: normality of residuals, scipy ``shapiro`` = R ``shapiro.test``
          (N ≤ 5000); ``jarque_bera`` as well (statsmodels).
        * ``cooks_distance``: statistic = the largest Cook's distance, ``n_above`` = how many
          rows exceed the cut-off 4/N (listed by :attr:`influential`); no df, no p.

        :func:`diagnostics_table` shows them for a reader, in Vietnamese or English.
        """
        from statsmodels.stats.diagnostic import het_breuschpagan
        from statsmodels.stats.stattools import jarque_bera

        fr = self.frame
        e = self._resid
        rows = []
        lm_stat, lm_p, _, _ = het_breuschpagan(e, fr.X, robust=True)
        rows.append({"check": "breusch_pagan", "statistic": lm_stat, "df": fr.X.shape[1] - 1,
                     "p": lm_p, "note": "studentized (Koenker); H0: constant variance"})
        if 3 <= len(e) <= 5000:
            s = stats.shapiro(e)
            rows.append({"check": "shapiro_wilk", "statistic": float(s.statistic), "df": np.nan,
                         "p": float(s.pvalue), "note": "H0: normal residuals"})
        jb, jb_p, _, _ = jarque_bera(e)
        rows.append({"check": "jarque_bera", "statistic": float(jb), "df": 2.0, "p": float(jb_p),
                     "note": "H0: residual skewness 0 and kurtosis 3"})
        d = self.cooks_distance
        cut = 4 / self.nobs
        rows.append({"check": "cooks_distance", "statistic": float(d.max()), "df": np.nan,
                     "p": np.nan, "n_above": float((d > cut).sum()),
                     "note": f"max Cook's D; n_above = rows above the cut-off 4/N = {cut:.4f}"})
        return pd.DataFrame(rows, columns=["check", "statistic", "df", "p", "n_above", "note"]
                            ).set_index("check")

    # ---------------------------------------------------------------- summary
    def summary(self) -> str:
        """Plain-text report: model, sample, inference used, coefficient table."""
        lines = [f"OLS  {self.formula}",
                 f"N = {self.nobs} rows used ({self.n_dropped} dropped for missing values)"
                 + (f", {self.n_clusters} clusters of {self.cluster!r}" if self.cluster else ""),
                 f"R² = {self.r2:.3f}, adjusted R² = {self.adj_r2:.3f}, residual SD = {self.sigma:.3f}",
                 f"SE: {_VCOV_TEXT[self.vcov_type]}; {100 * (1 - self.alpha):.0f}% intervals"]
        if self.wild_info:
            lines.append(f"wild cluster restricted bootstrap: {self.wild_info['weights']} weights, "
                         f"{self.wild_info['reps']} draws, seed {self.wild_info['seed']} "
                         f"(library wildboottest; interval by test inversion)")
        table = self.coefficients.copy()
        lines.append(table.to_string(float_format=lambda v: f"{v:.4f}"))
        return "\n".join(lines)

    def __str__(self) -> str:  # pragma: no cover - convenience
        return self.summary()


_VCOV_TEXT = {
    "CR2": "CR2 cluster-robust (Bell–McCaffrey) with Satterthwaite df (clubSandwich)",
    "CR1": "CR1 cluster-robust (sandwich::vcovCL type HC1), df = G − 1",
    "HC1": "HC1 heteroskedasticity-robust, df = N − K",
    "naive": "classical OLS, df = N − K",
}


@_resultcache.kept
def ols(data: pd.DataFrame, formula: str, *, cluster: str | None = None, vcov: str = "CR2",
        wild: bool = True, wild_reps: int = 9999, seed: int | None = None,
        weights: str | None = None, alpha: float = 0.05) -> OLSResult:
    """Least-squares regression with small-sample cluster-robust inference.

    Parameters
    ----------
    data : DataFrame with the formula's variables (and ``cluster``/``weights`` columns).
    formula : patsy formula as statsmodels takes it, e.g. ``"PRO ~ TRAIN + MOT + C(edu)"``.
        Rows missing any model variable are dropped and counted (``.n_dropped``).
    cluster : column naming the cluster (commune) of each row; needed for CR1/CR2/wild.
    vcov : ``"CR2"`` (default; Bell–McCaffrey/Pustejovsky–Tipton, Satterthwaite df, =
        ``clubSandwich::coef_test(fit, vcov = "CR2", cluster = g, test = "Satterthwaite")``
        and ``conf_int``), ``"CR1"`` (= ``sandwich::vcovCL(fit, cluster = g, type = "HC1")``,
        df G − 1 as Stata/clubSandwich's naive-t), ``"HC1"`` (= ``sandwich::vcovHC(fit,
        type = "HC1")``, df N − K) or ``"naive"`` (= ``summary(lm)``, df N − K).
    wild : with a cluster, add the wild cluster restricted bootstrap p-value and interval
        (``p_wild, ci_low_wild, ci_high_wild``; Rademacher weights, Webb's six-point weights
        with 12 clusters or fewer; computed by the ``wildboottest`` library, interval by
        inverting its test, see :mod:`hlstudy.models._wild`).  Not available with weights.
    wild_reps : bootstrap draws (9999).  seed : bootstrap seed (None: 20260101, so results
        are reproducible).
    weights : column of positive analytic weights (WLS, = ``lm(..., weights = w)``).
    alpha : 1 − confidence level of the intervals.

    Returns
    -------
    OLSResult with ``coefficients`` (index ``term``: ``estimate, se, df, t, p, ci_low,
    ci_high, beta`` — beta the standardized coefficient b·sd(x)/sd(y), NaN for the
    intercept), ``vif``, ``diagnostics``, ``influential``, ``summary()``, ``nobs``,
    ``n_clusters``, ``n_dropped``.

    Raises
    ------
    ModelError : unknown variables, no complete rows, rank-deficient design, an unknown
        ``vcov``, CR1/CR2/wild without a cluster, fewer than 2 clusters or a cluster with a
        single complete row (named), wild bootstrap with weights, a non-numeric outcome.

    Warns
    -----
    FewClustersWarning : CR2 where a coefficient's Satterthwaite df is below
        :data:`CR2_MIN_DF` (4): too few clusters for the test to be trusted.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(12), 10)
    >>> x = rng.normal(size=120) + rng.normal(size=12)[g]
    >>> df = pd.DataFrame({"y": 0.5 * x + rng.normal(size=12)[g] + rng.normal(size=120),
    ...                    "x": x, "commune": g})
    >>> fit = ols(df, "y ~ x", cluster="commune", wild=False)
    >>> list(fit.coefficients.columns)
    ['estimate', 'se', 'df', 't', 'p', 'ci_low', 'ci_high', 'beta']
    >>> fit.nobs, fit.n_clusters
    (120, 12)

    R equivalent: ``fit <- lm(PRO ~ TRAIN + MOT, d); clubSandwich::coef_test(fit, vcov =
    "CR2", cluster = d$commune_code, test = "Satterthwaite")``.
    """
    if vcov not in VCOV_TYPES:
        raise ModelError(f"vcov must be one of {VCOV_TYPES}, got {vcov!r}")
    if not 0 < alpha < 1:
        raise ModelError(f"alpha must be in (0, 1), got {alpha}")
    if vcov in ("CR1", "CR2") and cluster is None:
        raise ModelError(f"vcov={vcov!r} is cluster-robust: give cluster=<column>")
    if wild and cluster is not None and weights is not None:
        raise ModelError("the wild cluster bootstrap (wildboottest) does not take weights: "
                         "pass wild=False with weights")
    if int(wild_reps) < 99:
        raise ModelError(f"wild_reps must be at least 99, got {wild_reps}")
    fr = model_frame(data, formula, cluster=cluster, weights=weights)
    X, y, w = fr.X, fr.y, fr.weights
    n, k = X.shape
    b, e, M = sw.wls(X, y, w)
    G = None if fr.cluster is None else int(len(fr.cluster_labels))
    if vcov == "naive":
        V, df = sw.vcov_naive(X, e, w, M), np.full(k, n - k, dtype=float)
    elif vcov == "HC1":
        V, df = sw.vcov_hc1(X, e, w, M), np.full(k, n - k, dtype=float)
    elif vcov == "CR1":
        V, df = sw.vcov_cr1(X, e, w, M, fr.cluster, G), np.full(k, G - 1, dtype=float)
    else:
        V, df = sw.cr2(X, e, w, M, fr.cluster, G)
        low = {c: float(d) for c, d in zip(fr.columns, df, strict=True) if not d >= CR2_MIN_DF}
        if low:
            shown = ", ".join(f"{c} (df {d:.1f})" for c, d in low.items())
            warnings.warn(FewClustersWarning(
                f"CR2 with {G} clusters: the Satterthwaite df of {shown} is below {CR2_MIN_DF:g}, "
                "where cluster-robust tests and intervals are not reliable (Tipton 2015; "
                "Pustejovsky & Tipton 2018; clubSandwich::coef_test reports the same df): "
                "read the wild cluster bootstrap (wild=True) beside them, or more clusters are needed",
                G, low), stacklevel=3)
    se = np.sqrt(np.diag(V))
    t = b / se
    p = 2 * t_sf(np.abs(t), df)
    q = t_ppf(1 - alpha / 2, df)
    sd_y = np.std(y, ddof=1)
    beta = np.array([np.nan if c == "Intercept" else b[j] * np.std(X[:, j], ddof=1) / sd_y
                     for j, c in enumerate(fr.columns)])
    coef = pd.DataFrame({"estimate": b, "se": se, "df": df, "t": t, "p": p,
                         "ci_low": b - q * se, "ci_high": b + q * se, "beta": beta},
                        index=pd.Index(fr.columns, name="term"))
    wild_info = {}
    if wild and fr.cluster is not None:
        seed_used = DEFAULT_SEED if seed is None else int(seed)
        se_cr1 = np.sqrt(np.diag(sw.vcov_cr1(X, e, w, M, fr.cluster, G)))
        pw, lo, hi = [], [], []
        wt = weights_type_for(G)
        used = None
        for j, name in enumerate(fr.columns):
            if name == "Intercept":
                pw.append(np.nan), lo.append(np.nan), hi.append(np.nan)
                continue
            pj, lj, hj, used, wt = wild_test(X, y, fr.cluster, j, estimate=b[j], se_cr1=se_cr1[j],
                                             alpha=alpha, reps=int(wild_reps), seed=seed_used)
            pw.append(pj), lo.append(lj), hi.append(hj)
        coef["p_wild"], coef["ci_low_wild"], coef["ci_high_wild"] = pw, lo, hi
        wild_info = {"weights": wt, "reps": used if used is not None else int(wild_reps),
                     "seed": seed_used, "type": "WCR11"}
    ww = np.ones(n) if w is None else w
    ybar = np.sum(ww * y) / np.sum(ww)
    ss_res = float(np.sum(ww * e**2))
    ss_tot = float(np.sum(ww * (y - ybar) ** 2))
    has_int = "Intercept" in fr.columns
    r2 = 1 - ss_res / ss_tot if has_int else 1 - ss_res / float(np.sum(ww * y**2))
    adj = 1 - (1 - r2) * (n - int(has_int)) / (n - k)
    return OLSResult(formula=formula, vcov_type=vcov, coefficients=coef,
                     vcov=pd.DataFrame(V, index=fr.columns, columns=fr.columns), nobs=n,
                     n_clusters=G, n_dropped=fr.n_dropped, r2=r2, adj_r2=adj,
                     sigma=float(np.sqrt(ss_res / (n - k))), cluster=cluster, alpha=alpha,
                     wild_info=wild_info, frame=fr, _fitted=X @ b, _resid=e)


#: Each residual check of :attr:`OLSResult.diagnostics` for a reader: (name, null hypothesis),
#: Vietnamese and English.
DIAGNOSTIC_LABELS = {
    "breusch_pagan": (("Breusch–Pagan (Koenker)", "phương sai sai số không đổi"),
                      ("Breusch–Pagan (Koenker)", "constant error variance")),
    "shapiro_wilk": (("Shapiro–Wilk", "phần dư phân phối chuẩn"),
                     ("Shapiro–Wilk", "normal residuals")),
    "jarque_bera": (("Jarque–Bera", "độ lệch của phần dư bằng 0 và độ nhọn bằng 3"),
                    ("Jarque–Bera", "residual skewness 0 and kurtosis 3")),
    "cooks_distance": (("Khoảng cách Cook lớn nhất", "(không kiểm định; ngưỡng 4/N)"),
                       ("Largest Cook's distance", "(no test; cut-off 4/N)")),
}
_DIAGNOSTIC_HEADERS = {
    "model": ("Mô hình", "Model"), "check": ("Kiểm tra", "Check"),
    "h0": ("Giả thuyết H0", "Null hypothesis"), "statistic": ("Thống kê", "Statistic"),
    "df": ("Bậc tự do", "df"), "p": ("p", "p"),
    "n_above": ("Số quan sát vượt ngưỡng 4/N", "Rows above 4/N"),
}


def diagnostics_table(fits, *, lang: str = "vi") -> pd.DataFrame:
    """The residual diagnostics of several regressions as a reader's table.

    ``fits``: a mapping ``{model name: OLSResult}`` (names as the reader knows them, e.g. the
    dependent variable's label).  One row per model and check: the model, the check and its
    null hypothesis in ``lang`` (``"vi"`` or ``"en"``, :data:`DIAGNOSTIC_LABELS`), the
    statistic, its df, p, and for Cook's distance the number of rows above 4/N (not a df).

    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"x": rng.normal(size=60)}).assign(y=lambda t: t.x + rng.normal(size=60))
    >>> table = diagnostics_table({"y": ols(d, "y ~ x", vcov="HC1", wild=False)}, lang="en")
    >>> list(table["Check"])
    ['Breusch–Pagan (Koenker)', 'Shapiro–Wilk', 'Jarque–Bera', "Largest Cook's distance"]

    Raises :class:`~hlstudy.errors.ModelError` for a ``lang`` other than ``"vi"`` and ``"en"``
    (:func:`~hlstudy.errors.check_lang`), ``fits`` that is not a mapping, or a value that is
    not an :class:`OLSResult`.
    """
    k = 0 if check_lang(lang) == "vi" else 1
    if not isinstance(fits, Mapping):
        raise ModelError(f"diagnostics_table needs a mapping {{model name: OLSResult}}, got "
                         f"{type(fits).__name__}")
    rows = []
    for model, fit in fits.items():
        if not isinstance(fit, OLSResult):
            raise ModelError(f"diagnostics_table needs OLSResult values, got "
                             f"{type(fit).__name__} for {model!r}")
        for check, r in fit.diagnostics.iterrows():
            name, h0 = DIAGNOSTIC_LABELS[check][k]
            rows.append({"model": model, "check": name, "h0": h0, "statistic": r["statistic"],
                         "df": r["df"], "p": r["p"], "n_above": r["n_above"]})
    out = pd.DataFrame(rows, columns=list(_DIAGNOSTIC_HEADERS))
    return out.rename(columns={c: v[k] for c, v in _DIAGNOSTIC_HEADERS.items()})
