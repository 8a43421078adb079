"""Scale reliability: Cronbach's alpha with psych's item statistics, omega, design effects.

Every number here reproduces an R function (checked in ``tests/test_reliability.py`` against
``tests/fixtures/psych``, psych 2.2.9 from Debian):

* :func:`cronbach_alpha` -- ``psych::alpha(x)``: raw and standardised alpha, Guttman's
  lambda 6, average r, signal/noise, the asymptotic SE (Duhachek & Iacobucci 2004), the item
  statistics (``raw.r``, ``std.r``, ``r.cor``, ``r.drop``, means, SDs), the alpha-if-deleted
  table, response frequencies and Feldt's confidence interval (``psych::alpha.ci``; Feldt,
  Woodruff & Salih 1987).  Bootstrap percentile CIs as ``psych::alpha(x, n.iter = B)``.
* :func:`omega_total` -- ``psych::omega(x, nfactors = 1)$omega.tot``.
* :func:`design_effect` -- Kish's design effect ``1 + (mbar - 1) ICC(1)`` for a scale mean
  when respondents are nested in communes.

Missing answers: like psych, covariances are pairwise-complete (``use = "pairwise"``), the
scale score of a respondent is the mean of the items they answered, and ``n_obs`` (used by
Feldt's interval and the standard errors) is the number of rows, answered or not.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> f = rng.normal(size=300)
>>> items = pd.DataFrame({f"Q{i}": f + rng.normal(size=300) for i in range(1, 5)})
>>> res = cronbach_alpha(items)
>>> round(res.alpha, 2), res.n_obs
(0.74, 300)
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import special

from hlstudy import _resultcache
from hlstudy._bootstrap import finite_draws
from hlstudy._psychometrics import (
    as_items,
    cov2cor,
    eigh_desc,
    pairwise_moments,
    smc,
    undefined_correlations,
)
from hlstudy.errors import ModelError, check_lang
from hlstudy.progress import progress

__all__ = [
    "AlphaResult",
    "OmegaResult",
    "OmegaProblem",
    "OmegaWarning",
    "DesignEffectResult",
    "cronbach_alpha",
    "omega_total",
    "design_effect",
    "scale_design_effects",
    "reliability_table",
    "composite_reliability",
    "average_variance_extracted",
]


def _alpha_parts(c: np.ndarray, r: np.ndarray) -> dict:
    """psych's internal ``alpha.1``: the whole-scale statistics of a covariance matrix."""
    n = c.shape[1]
    sum_c = c.sum()
    tr_c = np.trace(c)
    sum_r = r.sum()
    # Items that cancel out (one the reverse of another) leave the total score without
    # variance: alpha is undefined.  R gives -Inf or a rounding-noise number such as 9e15;
    # here NaN, never +-inf.
    if abs(sum_c) <= 1e-10 * tr_c:
        sum_c = np.nan
    if abs(sum_r) <= 1e-10 * n:
        sum_r = np.nan
    alpha_raw = (1 - tr_c / sum_c) * (n / (n - 1))
    alpha_std = (1 - n / sum_r) * (n / (n - 1))
    g6 = 1 - (n - smc(r).sum()) / sum_r
    av_r = (sum_r - n) / (n * (n - 1))
    low = r[np.tril_indices(n, -1)]
    var_r = float(np.var(low, ddof=1)) if low.size > 1 else np.nan
    med_r = float(np.median(low))
    sn = n * av_r / (1 - av_r)
    cc = c @ c
    q = (2 * n**2 / ((n - 1) ** 2 * sum_c**3)) * (
        sum_c * (np.trace(cc) + tr_c**2) - 2 * (tr_c * cc.sum()))
    return {"raw": alpha_raw, "std": alpha_std, "g6": g6, "av_r": av_r, "sn": sn, "q": q,
            "var_r": var_r, "med_r": med_r}


@dataclass(frozen=True, repr=False)
class AlphaResult:
    """Cronbach's alpha of one scale with psych's item statistics.

    ``item_stats`` (indexed by item) has the columns of ``psych::alpha``'s ``item.stats``
    (``n, raw_r, std_r, r_cor, r_drop, mean, sd``) followed by its ``alpha.drop`` table
    (``alpha_if_deleted, std_alpha_if_deleted, g6_if_deleted, average_r_if_deleted,
    s_n_if_deleted, alpha_se_if_deleted, var_r_if_deleted, med_r_if_deleted``).
    ``r_drop`` is the corrected item-total correlation.
    ``boot`` holds the defined bootstrap draws only; ``boot_undefined`` counts the resamples
    whose alpha is undefined (zero total variance, or a pair of items with fewer than 2 shared
    answers), which were dropped.
    """

    alpha: float
    std_alpha: float
    g6: float
    average_r: float
    signal_noise: float
    ase: float
    mean: float
    sd: float
    median_r: float
    var_r: float
    ci: tuple[float, float]
    ci_level: float
    n_obs: int
    n_items: int
    item_stats: pd.DataFrame
    response_freq: pd.DataFrame | None
    ci_duhachek: tuple[float, float]
    boot_ci: tuple[float, float] | None = None
    boot_median: float | None = None
    boot: np.ndarray | None = field(default=None)
    negative_items: tuple[str, ...] = ()
    boot_undefined: int = 0

    def summary(self) -> str:
        pct = round(self.ci_level * 100)
        lines = [
            f"Cronbach's alpha ({self.n_items} items, n = {self.n_obs})",
            f"  raw alpha {self.alpha:.3f}  standardised {self.std_alpha:.3f}  "
            f"G6(smc) {self.g6:.3f}  average r {self.average_r:.3f}  S/N {self.signal_noise:.2f}",
            f"  {pct}% CI Feldt [{self.ci[0]:.3f}, {self.ci[1]:.3f}]  "
            f"Duhachek [{self.ci_duhachek[0]:.3f}, {self.ci_duhachek[1]:.3f}]",
        ]
        if self.boot_ci is not None:
            dropped = (f"; {self.boot_undefined} undefined draws dropped"
                       if self.boot_undefined else "")
            lines.append(f"  {pct}% CI bootstrap ({len(self.boot)} draws{dropped}) "
                         f"[{self.boot_ci[0]:.3f}, {self.boot_ci[1]:.3f}]")
        if self.negative_items:
            lines.append("  WARNING: negatively related to the total (reverse-key?): "
                         + ", ".join(self.negative_items))
        cols = ["n", "raw_r", "r_cor", "r_drop", "mean", "sd", "alpha_if_deleted"]
        lines.append(self.item_stats[cols].round(3).to_string())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _response_frequencies(x: np.ndarray, names: list[str], max_categories: int = 10):
    """``psych::response.frequencies``: share of each answer among the answered, plus ``miss``."""
    values = np.unique(x[~np.isnan(x)])
    if values.size > max_categories:
        return None
    answered = np.sum(~np.isnan(x), axis=0)
    freq = np.stack([np.sum(x == v, axis=0) / answered for v in values], axis=1)
    miss = np.sum(np.isnan(x), axis=0) / x.shape[0]
    labels = [f"{v:g}" for v in values]
    out = pd.DataFrame(np.column_stack([freq, miss]), index=names, columns=[*labels, "miss"])
    out.index.name = "item"
    return out


@_resultcache.kept(seeds=("seed",))
def cronbach_alpha(items: pd.DataFrame, ci: float = 0.95, *, bootstrap: int = 0,
                   seed: int | None = None, show_progress: bool | None = None,
                   max_undefined_share: float = 0.10) -> AlphaResult:
    """Cronbach's alpha and item statistics exactly as ``psych::alpha(items)``.

    Parameters
    ----------
    items
        Respondents x items, numeric, already reverse-keyed (NaN = missing).
    ci
        Confidence level of Feldt's interval (``psych::alpha.ci``), the Duhachek interval
        (alpha +- z * ase) and the bootstrap interval.
    bootstrap
        Number of bootstrap draws (0 = none).  Rows are resampled with replacement and alpha
        recomputed from the pairwise covariance matrix, as ``psych::alpha(x, n.iter = B)``;
        all draws are computed at once as weighted moment matrices.  ``seed`` fixes them.
        A resample whose alpha is undefined (zero total variance, e.g. only identical rows
        drawn; or a pair of items with fewer than 2 shared answers: NA in R's
        ``cov(use = "pairwise")``) is dropped with an
        :class:`hlstudy._bootstrap.UndefinedDrawsWarning`; more than 10% undefined draws
        (``max_undefined_share``) is a :class:`ModelError` (the interval would describe only
        the non-degenerate resamples).  ``boot_undefined`` reports the count.

    Formulas: raw alpha = k/(k-1) (1 - tr C / sum C) (Cronbach 1951); standardised alpha from
    the correlation matrix; ``r_drop`` = correlation of an item with the sum of the others,
    from the covariance matrix.  Matches ``psych::alpha`` to 1e-8 (tests).

    Items that correlate negatively with the first principal component are reported with a
    :class:`UserWarning` (psych prints the same advice); they are not reversed.

    Raises :class:`ModelError` for invalid arguments and, as psych stops ("missing values
    (NAs) in the correlation matrix do not allow me to continue"), when a pairwise
    correlation is undefined; the message names the pair and its number of shared answers.
    """
    df = as_items(items, min_items=2)
    if not 0 < ci < 1:
        raise ModelError(f"ci must be a confidence level between 0 and 1, got {ci!r}")
    if bootstrap < 0 or int(bootstrap) != bootstrap:
        raise ModelError(f"bootstrap must be a non-negative integer, got {bootstrap!r}")
    names = list(df.columns)
    x = df.to_numpy()
    nsub, k = x.shape
    c, r_pair, n_pair = pairwise_moments(x)
    err = undefined_correlations(r_pair, n_pair, names, what="Cronbach's alpha")
    if err is not None:
        raise err
    r = cov2cor(c)

    negative: tuple[str, ...] = ()
    vals, vecs = eigh_desc(r)
    pc1 = vecs[:, 0] * np.sqrt(vals[0])
    if pc1.sum() < 0:
        pc1 = -pc1
    if (pc1 < 0).any():
        negative = tuple(n for n, v in zip(names, pc1, strict=True) if v < 0)
        warnings.warn(
            f"items {list(negative)} are negatively correlated with the total scale and "
            "probably should be reversed (psych::alpha gives the same warning)",
            UserWarning, stacklevel=2)

    total = _alpha_parts(c, r)
    if np.isnan(total["raw"]):
        raise ModelError(
            "Cronbach's alpha is undefined: the total score has no variance (the items cancel "
            f"out, e.g. one is the reverse of another: negatively related items {list(negative)}); "
            "reverse-key the items first (psych returns -Inf)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        score = np.nanmean(x, axis=1)
    mean_t = float(np.nanmean(score))
    sd_t = float(np.nanstd(score, ddof=1))
    ok = ~np.isnan(score)
    raw_r = []
    for j in range(k):
        both = ok & ~np.isnan(x[:, j])
        raw_r.append(np.corrcoef(score[both], x[both, j])[0, 1])
    item_r = r.sum(axis=0) / np.sqrt(r.sum())
    rc = r.copy()
    np.fill_diagonal(rc, smc(r))
    item_rc = rc.sum(axis=0) / np.sqrt(rc.sum())
    r_drop = np.empty(k)
    for i in range(k):
        keep = np.arange(k) != i
        r_drop[i] = (c[:, i].sum() - c[i, i]) / np.sqrt(c[i, i] * c[np.ix_(keep, keep)].sum())

    drop_rows = []
    if k > 2:
        for i in range(k):
            keep = np.arange(k) != i
            p = _alpha_parts(c[np.ix_(keep, keep)], r[np.ix_(keep, keep)])
            se = np.sqrt(p["q"] / nsub) if nsub > k else np.nan
            drop_rows.append([p["raw"], p["std"], p["g6"], p["av_r"], p["sn"], se,
                              p["var_r"], p["med_r"]])
    else:  # psych's special case for two items
        r12 = r[0, 1]
        s = smc(r)[0]
        drop_rows = [[c[0, 1] / c[1, 1], r12, s, r12, r12 / (1 - r12), np.nan, 0.0, r12],
                     [c[0, 1] / c[0, 0], r12, s, r12, r12 / (1 - r12), np.nan, 0.0, r12]]
    drop = np.array(drop_rows, dtype=float)

    item_stats = pd.DataFrame({
        "n": np.sum(~np.isnan(x), axis=0).astype(int),
        "raw_r": raw_r, "std_r": item_r, "r_cor": item_rc, "r_drop": r_drop,
        "mean": np.nanmean(x, axis=0), "sd": np.nanstd(x, axis=0, ddof=1),
        "alpha_if_deleted": drop[:, 0], "std_alpha_if_deleted": drop[:, 1],
        "g6_if_deleted": drop[:, 2], "average_r_if_deleted": drop[:, 3],
        "s_n_if_deleted": drop[:, 4], "alpha_se_if_deleted": drop[:, 5],
        "var_r_if_deleted": drop[:, 6], "med_r_if_deleted": drop[:, 7],
    }, index=pd.Index(names, name="item"))

    a = float(total["raw"])
    df1 = nsub - 1
    df2 = df1 * (k - 1)
    tail = (1 - ci) / 2
    # F and normal quantiles by the functions scipy.stats' f.ppf and norm.ppf evaluate (the same
    # doubles, tested), without the distribution objects' argument handling (0.3 ms a call)
    feldt = (1 - (1 - a) * special.fdtri(df1, df2, 1 - tail),
             1 - (1 - a) * special.fdtri(df1, df2, tail))
    ase = float(np.sqrt(total["q"] / nsub))
    z = special.ndtri(1 - tail)

    boot = boot_ci = boot_median = None
    n_undefined = 0
    if bootstrap:
        draws = _bootstrap_alpha(x, int(bootstrap), seed, show_progress)
        boot, n_undefined = finite_draws(draws, statistic="Cronbach's alpha",
                                         max_undefined_share=max_undefined_share)
        lo, med, hi = np.quantile(boot, [tail, 0.5, 1 - tail])
        boot_ci, boot_median = (float(lo), float(hi)), float(med)

    return AlphaResult(
        alpha=a, std_alpha=float(total["std"]), g6=float(total["g6"]),
        average_r=float(total["av_r"]), signal_noise=float(total["sn"]), ase=ase,
        mean=mean_t, sd=sd_t, median_r=float(total["med_r"]), var_r=float(total["var_r"]),
        ci=(float(feldt[0]), float(feldt[1])), ci_level=ci, n_obs=int(nsub), n_items=k,
        item_stats=item_stats, response_freq=_response_frequencies(x, names),
        ci_duhachek=(a - z * ase, a + z * ase), boot_ci=boot_ci, boot_median=boot_median,
        boot=boot, negative_items=negative, boot_undefined=n_undefined)


def _bootstrap_alpha(x: np.ndarray, n_draws: int, seed, show_progress, *,
                     indices: np.ndarray | None = None) -> np.ndarray:
    """Raw alpha of ``n_draws`` row-resamples, computed in chunks as weighted moments.

    ``indices`` (n_draws x n, 0-based rows) replaces the seeded draws (tests use R's).  A
    draw's alpha is NaN where it is undefined: a pair of items with fewer than 2 shared
    answers in the resample (R: NA covariance), or zero total variance (R: ``sum(C) == 0``,
    0/0), tested against the full sample's total item variance with a tolerance, since the
    one-pass moments leave rounding noise instead of an exact 0.
    """
    rng = np.random.default_rng(seed)
    n, k = x.shape
    c_full, _, _ = pairwise_moments(x)
    scale = float(np.trace(c_full))
    chunk = max(1, min(n_draws, int(4e7 // max(n * 8, 1)), 500))
    out = np.empty(n_draws)
    starts = range(0, n_draws, chunk)
    for start in progress(starts, total=len(starts), desc="bootstrap alpha", show=show_progress):
        b = min(chunk, n_draws - start)
        if indices is None:
            draws = rng.integers(0, n, size=(b, n))
        else:
            draws = np.asarray(indices[start:start + b], dtype=np.int64)
        flat = (draws + (np.arange(b) * n)[:, None]).ravel()
        w = np.bincount(flat, minlength=b * n).reshape(b, n).astype(float)
        cov, _, _ = pairwise_moments(x, weights=w)
        tr = np.einsum("bii->b", cov)
        total = cov.sum(axis=(1, 2))
        undefined = np.isnan(cov).any(axis=(1, 2)) | (np.abs(total) <= 1e-10 * scale)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = (1 - tr / total) * (k / (k - 1))
        out[start:start + b] = np.where(undefined, np.nan, alpha)
    return out


@dataclass(frozen=True)
class OmegaProblem:
    """Why an omega is not trustworthy: its one-factor model is improper.

    ``heywood``: the items with a Heywood case (communality >= .995 or a negative
    uniqueness), ``converged``: whether the minres extraction converged, ``scale``: the
    scale's name where known (:func:`reliability_table`).  :meth:`text` words it in English
    or Vietnamese (``"vi"``), for a notebook that says it in its own language."""

    heywood: tuple[str, ...] = ()
    converged: bool = True
    scale: str | None = None

    def text(self, lang: str = "en") -> str:
        check_lang(lang)
        vi = lang == "vi"
        why = []
        if not self.converged:
            why.append("mô hình không hội tụ" if vi else "the extraction did not converge")
        if self.heywood:
            why.append(("trường hợp Heywood ở biến " if vi else "Heywood case(s): ")
                       + ", ".join(self.heywood))
        if vi:
            scale = f" của thang đo {self.scale}" if self.scale else ""
            return (f"omega{scale} không đáng tin cậy: mô hình một nhân tố không chính quy "
                    f"({'; '.join(why)})")
        scale = f" of scale {self.scale}" if self.scale else ""
        return (f"omega_total{scale}: the one-factor model is improper ({'; '.join(why)}); "
                "omega is not trustworthy")


class OmegaWarning(UserWarning):
    """:func:`omega_total` on an improper one-factor model; ``problem`` (an
    :class:`OmegaProblem`, None when the warning is issued from a plain text; the notebooks'
    result cache replays it with its parts) for a caller that words it itself."""

    def __init__(self, message: str = "", problem: OmegaProblem | None = None):
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True, repr=False)
class OmegaResult:
    """McDonald's omega of one scale from a one-factor minres model (see :func:`omega_total`);
    ``problem`` says why it is not trustworthy (an improper model), None when it is."""

    omega_total: float
    omega_h: float
    omega_model: float
    loadings: pd.Series
    n_obs: int
    problem: OmegaProblem | None = None

    def summary(self) -> str:
        return (f"omega total {self.omega_total:.3f} (psych::omega, 1 factor); "
                f"model-implied omega {self.omega_model:.3f}; n = {self.n_obs}\n"
                + self.loadings.round(3).to_string())

    def __repr__(self) -> str:
        return self.summary()


def omega_total(items: pd.DataFrame) -> OmegaResult:
    """Omega total of a scale from a one-factor model.

    Matches ``psych::omega(x, nfactors = 1)$omega.tot`` (psych 2.2.9): a one-factor minres
    ``fa`` of the pairwise correlation matrix R; items with negative loadings are flipped;
    ``omega_total = 1 - sum(1 - lambda_i^2) / sum(R)`` (McDonald 1999; Revelle & Zinbarg 2009).
    ``omega_h`` is psych's ``(sum lambda)^2 / sum(R)`` (for one factor, ``omega.tot`` and
    ``omega_h`` differ only by the residual correlations); ``omega_model`` is the model-implied
    ``(sum lambda)^2 / ((sum lambda)^2 + sum(1 - lambda^2))`` often printed by SEM software.
    """
    from hlstudy.factor import efa  # local import: factor imports nothing from here

    df = as_items(items, min_items=3)
    fit = efa(df, 1, method="minres", rotation=None, _quiet=True)
    problem = None
    if fit.heywood or not fit.converged:
        problem = OmegaProblem(heywood=tuple(fit.heywood), converged=bool(fit.converged))
        warnings.warn(OmegaWarning(problem.text(), problem), stacklevel=2)
    lam = fit.loadings.iloc[:, 0].to_numpy()
    _, r, _ = pairwise_moments(df.to_numpy())
    key = np.where(lam < 0, -1.0, 1.0)
    r = r * np.outer(key, key)
    lam = lam * key
    vt = r.sum()
    u2 = 1 - lam**2
    return OmegaResult(
        omega_total=float((vt - u2.sum()) / vt), omega_h=float(lam.sum() ** 2 / vt),
        omega_model=float(lam.sum() ** 2 / (lam.sum() ** 2 + u2.sum())),
        loadings=pd.Series(lam, index=df.columns, name="loading"), n_obs=len(df),
        problem=problem)


@dataclass(frozen=True, repr=False)
class DesignEffectResult:
    """Design effect of a mean when respondents are nested in clusters (communes)."""

    icc: float
    deff: float
    n: int
    n_clusters: int
    mean_cluster_size: float
    n0: float
    effective_n: float
    msb: float
    msw: float

    def summary(self) -> str:
        return (f"ICC(1) = {self.icc:.3f}; {self.n} respondents in {self.n_clusters} clusters "
                f"(mean size {self.mean_cluster_size:.1f}); design effect {self.deff:.2f}; "
                f"effective n {self.effective_n:.0f}")

    def __repr__(self) -> str:
        return self.summary()


def design_effect(scores, clusters) -> DesignEffectResult:
    """Kish's design effect of a mean, ``deff = 1 + (mbar - 1) * ICC(1)``.

    ``ICC(1)`` is the one-way ANOVA estimator ``(MSB - MSW) / (MSB + (n0 - 1) MSW)`` with
    Searle's adjusted mean cluster size ``n0 = (N - sum n_j^2 / N) / (J - 1)``; ``mbar = N/J``.
    In R: ``a <- anova(lm(y ~ factor(g)))`` gives MSB and MSW (tests compare with this).  A
    negative ICC estimate (sampling noise) is reported as estimated but enters the design
    effect as 0 (deff = 1).  Respondents with a missing score or cluster are left out.

    >>> design_effect([1, 2, 3, 4, 5, 6], ["a", "a", "a", "b", "b", "b"]).n_clusters
    2
    """
    try:
        y = pd.Series(np.asarray(scores, dtype=float))
    except (TypeError, ValueError) as exc:
        raise ModelError(f"design_effect: scores must be numeric ({exc})") from exc
    g = pd.Series(np.asarray(clusters, dtype=object))
    if y.ndim != 1 or len(y) == 0:
        raise ModelError("design_effect: scores must be a non-empty one-dimensional sequence")
    if len(y) != len(g):
        raise ModelError(f"scores ({len(y)}) and clusters ({len(g)}) differ in length")
    keep = y.notna() & g.notna()
    y, g = y[keep].to_numpy(), g[keep].astype(str).to_numpy()
    labels, codes = np.unique(g, return_inverse=True)
    n, j = len(y), len(labels)
    if j < 2 or n <= j:
        raise ModelError(f"need at least 2 clusters and more respondents than clusters "
                         f"(got {n} respondents in {j} clusters)")
    nj = np.bincount(codes).astype(float)
    means = np.bincount(codes, weights=y) / nj
    grand = y.mean()
    ssb = float(np.sum(nj * (means - grand) ** 2))
    ssw = float(np.sum((y - means[codes]) ** 2))
    msb, msw = ssb / (j - 1), ssw / (n - j)
    n0 = (n - np.sum(nj**2) / n) / (j - 1)
    icc = (msb - msw) / (msb + (n0 - 1) * msw)
    mbar = n / j
    deff = 1 + (mbar - 1) * max(icc, 0.0)
    return DesignEffectResult(icc=float(icc), deff=float(deff), n=n, n_clusters=j,
                              mean_cluster_size=float(mbar), n0=float(n0),
                              effective_n=float(n / deff), msb=msb, msw=msw)


def scale_design_effects(data: pd.DataFrame, scales: Mapping[str, Sequence[str]],
                         cluster: str = "commune_code") -> pd.DataFrame:
    """Design effect of every scale mean (mean of answered items) -> one row per scale."""
    if cluster not in data.columns:
        raise ModelError(f"cluster column {cluster!r} is not in the data")
    rows = []
    for name, cols in sorted(scales.items()):
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise ModelError(f"scale {name}: items not in the data: {missing}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            score = np.nanmean(data[list(cols)].to_numpy(dtype=float), axis=1)
        d = design_effect(score, data[cluster])
        rows.append({"scale": name, "n": d.n, "clusters": d.n_clusters,
                     "mean_cluster_size": d.mean_cluster_size, "icc": d.icc, "deff": d.deff,
                     "effective_n": d.effective_n})
    return pd.DataFrame(rows).set_index("scale")


@_resultcache.kept
def reliability_table(data: pd.DataFrame, scales: Mapping[str, Sequence[str]], *,
                      ci: float = 0.95, min_r_drop: float = 0.30,
                      min_gain: float = 0.005) -> pd.DataFrame:
    """One row per scale: items, n, alpha (Feldt CI), standardised alpha, omega total, the
    lowest corrected item-total correlation and the item-drop decision with its reason.

    An item is proposed for removal when its ``r_drop`` is below ``min_r_drop`` (Nunnally &
    Bernstein 1994) *and* deleting it raises alpha by more than ``min_gain``; an item only
    meeting one of the two conditions is kept and the reason says why.

    An omega from an improper one-factor model is kept in the table and named in
    ``attrs["omega_problems"]`` (scale -> :class:`OmegaProblem`, with the scale's name; empty
    when every omega is trustworthy), and an :class:`OmegaWarning` naming the scale is issued.
    """
    if not isinstance(data, pd.DataFrame):
        raise ModelError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if not isinstance(scales, Mapping) or not scales:
        raise ModelError("scales must be a non-empty mapping scale -> list of item columns")
    rows, problems = [], {}
    for name, cols in sorted(scales.items()):
        if isinstance(cols, str):
            raise ModelError(f"scale {name}: items must be a list of column names, got {cols!r}")
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise ModelError(f"scale {name}: items not in the data: {missing}")
        sub = data[list(cols)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            res = cronbach_alpha(sub, ci=ci)
        om = np.nan
        if len(cols) >= 3:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OmegaWarning)   # issued below, with the scale
                omega = omega_total(sub)
            om = omega.omega_total
            if omega.problem is not None:
                problems[name] = replace(omega.problem, scale=name)
                warnings.warn(OmegaWarning(problems[name].text(), problems[name]), stacklevel=2)
        st = res.item_stats
        worst = st["r_drop"].idxmin()
        reasons, drop = [], []
        for item, row in st.iterrows():
            gain = row["alpha_if_deleted"] - res.alpha
            low = row["r_drop"] < min_r_drop
            if low and gain > min_gain:
                drop.append(item)
                reasons.append(f"{item}: r_drop {row['r_drop']:.2f} < {min_r_drop:.2f} and "
                               f"alpha rises to {row['alpha_if_deleted']:.3f} without it")
            elif low:
                reasons.append(f"{item}: r_drop {row['r_drop']:.2f} < {min_r_drop:.2f} but "
                               f"deleting it does not raise alpha; kept")
            elif gain > min_gain:
                reasons.append(f"{item}: alpha would rise by {gain:.3f} without it, but "
                               f"r_drop {row['r_drop']:.2f} is acceptable; kept")
        rows.append({"scale": name, "items": len(cols), "n": res.n_obs, "alpha": res.alpha,
                     "ci_low": res.ci[0], "ci_high": res.ci[1], "std_alpha": res.std_alpha,
                     "omega_total": om, "min_r_drop": st.loc[worst, "r_drop"],
                     "weakest_item": worst, "drop": ", ".join(drop),
                     "reason": "; ".join(reasons) if reasons else "all items kept"})
    table = pd.DataFrame(rows).set_index("scale")
    table.attrs["omega_problems"] = problems
    return table


def composite_reliability(cfa_result) -> pd.Series:
    """Composite reliability per factor, ``(sum l)^2 / ((sum l)^2 + sum(1 - l^2))``, from
    standardized loadings (delegates to :mod:`hlstudy.cfa`, which owns the CFA result)."""
    from hlstudy import cfa as _cfa

    return _cfa.composite_reliability(cfa_result)


def average_variance_extracted(cfa_result) -> pd.Series:
    """Average variance extracted per factor, ``mean(l^2)`` of standardized loadings
    (delegates to :mod:`hlstudy.cfa`)."""
    from hlstudy import cfa as _cfa

    return _cfa.average_variance_extracted(cfa_result)
