"""Confidence intervals for small groups: Wilson score for shares, Student t for means."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from hlstudy.errors import ModelError


def wilson(k, n, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion ``k / n``.

    Source: Wilson (1927), JASA 22:209–212; identical to R's
    ``prop.test(k, n, correct = FALSE)$conf.int`` and ``binom::binom.wilson``.
    Works elementwise on arrays; ``n == 0`` gives ``(nan, nan)``.

    >>> lo, hi = wilson(5, 20)
    >>> round(float(lo), 5), round(float(hi), 5)
    (0.11186, 0.4687)
    """
    if not 0 < conf < 1:
        raise ModelError(f"conf must lie in (0, 1), got {conf}")
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(k < 0) or np.any(n < 0) or np.any(k > n):
        raise ModelError("need 0 <= k <= n for a Wilson interval")
    z = stats.norm.ppf(0.5 + conf / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        # k = 0 or k = n puts a bound exactly on 0 or 1; snap rounding noise (1e-17) there
        lo = np.where(n > 0, np.clip(np.where(k == 0, 0.0, centre - half), 0, 1), np.nan)
        hi = np.where(n > 0, np.clip(np.where(k == n, 1.0, centre + half), 0, 1), np.nan)
    return lo, hi


def share_table(k, n, conf: float = 0.95) -> pd.DataFrame:
    """Tidy ``n, k, share, lo, hi`` columns for counts ``k`` out of ``n``."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    lo, hi = wilson(k, n, conf)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, k / n, np.nan)
    return pd.DataFrame({"n": n.astype("int64"), "k": k.astype("int64"), "share": share,
                         "lo": lo, "hi": hi})


def t_interval(values, conf: float = 0.95) -> tuple[float, float, float, int]:
    """Mean and Student-t interval of the non-missing ``values``: ``(mean, lo, hi, n)``.

    Matches R's ``t.test(x, conf.level = conf)$conf.int``.  One value gives an interval of
    ``(nan, nan)``; no value gives a mean of nan.
    """
    x = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(float)
    n = x.size
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    m = float(x.mean())
    if n == 1:
        return m, float("nan"), float("nan"), 1
    se = x.std(ddof=1) / np.sqrt(n)
    q = stats.t.ppf(0.5 + conf / 2, n - 1)
    return m, m - q * se, m + q * se, n


def wilson_deff(k, n, deff, conf: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson interval with a design effect: computed on ``n / deff`` and ``k / deff``.

    For shares of officials who are clustered in communes, ``deff = 1 + (m̄ − 1)·ICC``
    (Kish 1965) widens the interval by the loss of information from clustering; this is the
    effective-sample-size Wilson interval of Korn & Graubard (1998).  ``deff = 1`` gives
    :func:`wilson`.
    """
    deff = np.asarray(deff, dtype=float)
    if np.any(deff < 1):
        raise ModelError("a design effect below 1 is not used here (clustering never helps)")
    return wilson(np.asarray(k, float) / deff, np.asarray(n, float) / deff, conf)


def fisher_correlation(x, y, conf: float = 0.95) -> dict:
    """Pearson correlation with the Fisher-z interval and t-test p value.

    Matches R's ``cor.test(x, y, method = "pearson", conf.level = conf)``.  Pairs with a
    missing value are dropped.  Returns ``{"r", "lo", "hi", "p", "n"}``.
    """
    d = pd.DataFrame({"x": pd.to_numeric(pd.Series(x), errors="coerce").to_numpy(float),
                      "y": pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(float)}).dropna()
    n = len(d)
    if n < 4:
        raise ModelError(f"need at least 4 complete pairs for a correlation, got {n}")
    if d["x"].std() == 0 or d["y"].std() == 0:
        raise ModelError("a variable is constant; its correlation is undefined")
    r = float(np.corrcoef(d["x"], d["y"])[0, 1])
    z = np.arctanh(r)
    q = stats.norm.ppf(0.5 + conf / 2)
    se = 1 / np.sqrt(n - 3)
    t = r * np.sqrt((n - 2) / (1 - r**2)) if abs(r) < 1 else np.inf
    p = float(2 * stats.t.sf(abs(t), n - 2))
    return {"r": r, "lo": float(np.tanh(z - q * se)), "hi": float(np.tanh(z + q * se)),
            "p": p, "n": n}


def chisq_mc(table, *, n_sim: int = 2000, seed: int = 0) -> dict:
    """Pearson chi-square test of independence with a Monte-Carlo p value.

    Tables are drawn with the observed margins (Patefield 1981), as R's
    ``chisq.test(table, simulate.p.value = TRUE, B = n_sim)``; p = (1 + #{X² ≥ X²_obs}) /
    (n_sim + 1).  Suited to the sparse commune × category tables of the diagnostic.
    Returns ``{"statistic", "df", "p_asymptotic", "p_mc", "n_sim"}``.
    """
    from hlstudy.progress import progress

    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or min(t.shape) < 2:
        raise ModelError("need a two-way table with at least 2 rows and 2 columns")
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if min(t.shape) < 2:
        raise ModelError("fewer than 2 non-empty rows or columns")
    if np.any(t < 0) or np.any(t != np.round(t)):
        raise ModelError("a contingency table holds non-negative integer counts")
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    expected = np.outer(rows, cols) / t.sum()

    def stat(m):
        return float(((m - expected) ** 2 / expected).sum())

    obs = stat(t)
    dist = stats.random_table(rows.astype(int), cols.astype(int), seed=seed)
    hits = 0
    batch = 500
    done = 0
    for _ in progress(range(-(-n_sim // batch)), total=-(-n_sim // batch), desc="chi-square MC"):
        size = min(batch, n_sim - done)
        sims = dist.rvs(size=size)
        x2 = ((sims - expected) ** 2 / expected).sum(axis=(1, 2))
        hits += int(np.sum(x2 >= obs - 1e-7 * max(1.0, obs)))
        done += size
    dof = (t.shape[0] - 1) * (t.shape[1] - 1)
    return {"statistic": obs, "df": dof, "p_asymptotic": float(stats.chi2.sf(obs, dof)),
            "p_mc": (1 + hits) / (n_sim + 1), "n_sim": n_sim}


def census_share(k, n) -> pd.DataFrame:
    """Shares from a census (the personnel register covers every official): exact, no interval.

    The register lists all officials of all 23 units, so ``k / n`` *is* the district's share;
    there is no sampling error to put an interval on (docs/inference.md).  ``lo`` and ``hi``
    equal the share, so tables keep one layout.  Columns ``n, k, share, lo, hi``.

    >>> census_share([3, 0], [12, 0])["share"].tolist()[0]
    0.25
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(k < 0) or np.any(n < 0) or np.any(k > n):
        raise ModelError("need 0 <= k <= n for a share")
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
    return pd.DataFrame({"n": n.astype("int64"), "k": k.astype("int64"), "share": share,
                         "lo": share, "hi": share})


def stratified_mean(values, strata, population, *, conf: float = 0.95,
                    proportion: bool = False) -> dict:
    """District mean (or share) from a survey stratified by commune, with the finite-population
    correction.

    ``values``: one answer per respondent (NaN dropped; 0/1 for a share); ``strata``: the
    respondent's commune; ``population``: mapping commune → ``N_h``, the number of people in
    the commune's frame (the register's officials).  The estimator and its variance are the
    stratified simple-random-sampling ones (Cochran 1977, *Sampling Techniques*, eqs. 5.1,
    5.6): ``ȳ = Σ W_h ȳ_h``, ``W_h = N_h / N``,
    ``var = Σ W_h² (1 − n_h/N_h) s_h² / n_h``; this is what R's
    ``survey::svymean(~y, svydesign(ids = ~1, strata = ~commune, fpc = ~N_h, data))`` returns.
    Communes are strata here (every commune is in the survey), not sampled clusters, so no
    design-effect inflation applies.  The interval uses Student t with ``n − H`` degrees of
    freedom (``survey::degf``); for a share (``proportion=True``) it is built on the logit
    scale (``survey::svyciprop(method = "logit")``), so it stays within [0, 1].  A census
    (``n_h = N_h`` everywhere) gives a zero variance and the point as its interval.

    Returns ``{"estimate", "se", "lo", "hi", "n", "N", "n_strata", "df", "fpc_share"}``
    (``fpc_share``: n / N).  Raises :class:`ModelError` for a stratum with no population,
    more respondents than ``N_h``, or a stratum with a single respondent but ``N_h > 1``
    (its variance cannot be estimated).

    >>> r = stratified_mean([1, 0, 1, 1, 0, 0], ["a", "a", "a", "b", "b", "b"],
    ...                     {"a": 4, "b": 3}, proportion=True)
    >>> round(r["estimate"], 4), round(r["se"], 4)
    (0.5238, 0.0952)
    """
    if not 0 < conf < 1:
        raise ModelError(f"conf must lie in (0, 1), got {conf}")
    d = pd.DataFrame({"y": pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float),
                      "h": pd.Series(strata).astype(str).to_numpy()}).dropna(subset=["y"])
    if d.empty:
        raise ModelError("no non-missing value")
    if proportion and not d["y"].isin([0.0, 1.0]).all():
        raise ModelError("a share needs 0/1 values")
    pop = {str(k): float(v) for k, v in dict(population).items()}
    absent = sorted(set(d["h"]) - set(pop))
    if absent:
        raise ModelError(f"no population size for strata {absent[:5]}")
    g = d.groupby("h")["y"]
    n_h = g.size()
    N_h = pd.Series(pop).reindex(n_h.index)
    if (N_h < n_h).any():
        bad = n_h.index[(N_h < n_h).to_numpy()][0]
        raise ModelError(f"stratum {bad}: {n_h[bad]} respondents but N_h = {N_h[bad]:g}")
    # strata of the frame with no respondent contribute nothing to the estimate: the
    # estimate is then of the responding strata's population (said in docs/inference.md)
    W = N_h / N_h.sum()
    mean_h = g.mean()
    var_h = g.var(ddof=1)
    single = (n_h == 1) & (N_h > 1)
    if single.any():
        raise ModelError(f"stratum {n_h.index[single.to_numpy()][0]} has one respondent: its "
                         "variance cannot be estimated (merge it with a neighbour)")
    var_h = var_h.fillna(0.0)
    f = n_h / N_h
    est = float((W * mean_h).sum())
    var = float((W**2 * (1 - f) * var_h / n_h).sum())
    se = float(np.sqrt(max(var, 0.0)))
    n, H = int(n_h.sum()), int(len(n_h))
    df = max(n - H, 1)
    q = stats.t.ppf(0.5 + conf / 2, df)
    if se == 0:
        lo = hi = est
    elif proportion:
        if est <= 0 or est >= 1:
            lo = hi = est
        else:
            theta = np.log(est / (1 - est))
            se_t = se / (est * (1 - est))
            lo, hi = (float(1 / (1 + np.exp(-(theta + s * q * se_t)))) for s in (-1, 1))
    else:
        lo, hi = est - q * se, est + q * se
    return {"estimate": est, "se": se, "lo": float(lo), "hi": float(hi), "n": n,
            "N": float(N_h.sum()), "n_strata": H, "df": df, "fpc_share": n / float(N_h.sum())}
