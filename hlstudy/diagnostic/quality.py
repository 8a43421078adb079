"""Quality scores by commune: means with small-sample intervals, ranking, intraclass correlation.

Two kinds of commune estimate are offered:

``method="t"``      the commune's raw mean with a Student-t interval from its own officials
                    (R: ``t.test(x)$conf.int`` per commune);
``method="mixed"``  the empirical-Bayes (shrunken) commune mean of a random-intercept model
                    ``y_ij = μ + u_j + e_ij`` fitted by REML with statsmodels ``MixedLM``,
                    ± z × the conditional SD of ``u_j`` (R: ``lme4::lmer(y ~ 1 + (1 | g))``,
                    ``ranef(m, condVar = TRUE)``).  Communes with few officials are pulled
                    towards the district mean, which is what a fair ranking needs.

The intraclass correlation ``ICC = τ² / (τ² + σ²)`` is the share of the variance that lies
between communes — the direct test of claim D3 ("unevenly distributed").  :func:`icc` gives the
REML estimate and, beside it, the one-way ANOVA estimator ICC(1) with its F-based interval and
F test (Shrout & Fleiss 1979; McGraw & Wong 1996; R ``psych::ICC``'s ICC1 for balanced data;
for unbalanced groups the average group size ``n0 = (N − Σn_j²/N)/(J − 1)`` is used, as in
Snijders & Bosker 2012, §3.3).

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(1)
>>> g = np.repeat(np.arange(30), 20)
>>> y = rng.normal(0, 0.5, 30)[g] + rng.normal(0, 1, g.size)
>>> res = icc(pd.DataFrame({"g": g, "y": y}), "y", "g")
>>> 0.05 < res.icc < 0.4
True
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from hlstudy import _jsoncache
from hlstudy.errors import ModelError
from hlstudy.reliability import design_effect


@dataclass
class IccResult:
    """Variance decomposition of one score across communes."""

    variable: str
    n: int
    n_groups: int
    mean: float
    tau2: float
    sigma2: float
    icc: float
    icc_anova: float
    icc_anova_lo: float
    icc_anova_hi: float
    f_stat: float
    p_value: float
    n0: float
    converged: bool

    def summary(self) -> str:
        from hlstudy.export import p_text

        return (f"{self.variable}: ICC (REML) = {self.icc:.3f} (τ² = {self.tau2:.4f}, "
                f"σ² = {self.sigma2:.4f}); ANOVA ICC(1) = {self.icc_anova:.3f} "
                f"[{self.icc_anova_lo:.3f}, {self.icc_anova_hi:.3f}], "
                f"F({self.n_groups - 1}, {self.n - self.n_groups}) = {self.f_stat:.2f}, "
                f"p {p_text(self.p_value, lang='en')}; {self.n} officials in "
                f"{self.n_groups} communes")

    def __repr__(self) -> str:
        return self.summary()

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _clean(df: pd.DataFrame, value: str, group: str) -> pd.DataFrame:
    for c in (value, group):
        if c not in df.columns:
            raise ModelError(f"column {c!r} not in the data")
    d = pd.DataFrame({"g": df[group].astype("string"),
                      "y": pd.to_numeric(df[value], errors="coerce").astype(float)})
    d = d.dropna()
    if d["g"].nunique() < 2:
        raise ModelError(f"{value}: need at least 2 groups with data")
    if len(d) <= d["g"].nunique():
        raise ModelError(f"{value}: need more observations than groups")
    return d.sort_values(["g"], kind="stable", ignore_index=True)


def _anova(d: pd.DataFrame, conf: float):
    # one ANOVA estimator of ICC(1) in the package: hlstudy.reliability.design_effect
    one_way = design_effect(d["y"].to_numpy(float), d["g"].to_numpy())
    msb, msw, n0, icc1 = one_way.msb, one_way.msw, one_way.n0, one_way.icc
    n, j = one_way.n, one_way.n_clusters
    if msw <= 0:
        raise ModelError("no variation within groups")
    f = msb / msw
    p = float(stats.f.sf(f, j - 1, n - j))
    a = 1 - conf
    fu = stats.f.ppf(1 - a / 2, j - 1, n - j)
    fl = stats.f.ppf(a / 2, j - 1, n - j)
    lo = (f / fu - 1) / (f / fu + n0 - 1)
    hi = (f / fl - 1) / (f / fl + n0 - 1)
    return icc1, lo, hi, f, p, n0


_FITS: OrderedDict = OrderedDict()
_FITS_MAX = 64


@dataclass(frozen=True)
class _MixedFit:
    """The numbers this module reads from a statsmodels ``MixedLMResults``, under the same
    attribute names (``cov_re``, ``scale``, ``fe_params``, ``bse_fe``, ``llf``,
    ``converged``): what the memory and disk caches keep."""

    tau2: float
    scale: float
    mean: float
    se_mean: float
    llf: float
    converged: bool

    @property
    def cov_re(self) -> np.ndarray:
        return np.array([[self.tau2]])

    @property
    def fe_params(self) -> pd.Series:
        return pd.Series([self.mean], index=["Intercept"])

    @property
    def bse_fe(self) -> pd.Series:
        return pd.Series([self.se_mean], index=["Intercept"])

    @classmethod
    def of(cls, fit) -> _MixedFit:
        return cls(tau2=float(np.asarray(fit.cov_re)[0, 0]), scale=float(fit.scale),
                   mean=float(fit.fe_params.iloc[0]), se_mean=float(fit.bse_fe.iloc[0]),
                   llf=float(fit.llf), converged=bool(fit.converged))

    def to_json(self) -> str:
        # float.hex: every double written and read back exactly
        return json.dumps({k: (v.hex() if isinstance(v, float) else v)
                           for k, v in self.__dict__.items()}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> _MixedFit:
        raw = json.loads(text)
        return cls(**{k: (v if isinstance(v, bool) else float.fromhex(v))
                      for k, v in raw.items()})


_CODE_KEY: str | None = None


def _fit_code_key() -> str:
    """What else a fit depends on: the fitting code and the numerical libraries' versions
    and machine (an OpenBLAS build picks its kernels by CPU)."""
    global _CODE_KEY
    if _CODE_KEY is None:
        import inspect
        import platform

        import scipy
        import statsmodels

        try:
            code = inspect.getsource(_fit_mixed_uncached)
        except (OSError, TypeError):   # no source file (frozen install): the bytecode
            code = _fit_mixed_uncached.__code__.co_code.hex()
        from hlstudy._codekey import cpu_model

        cpu = cpu_model()   # by which OpenBLAS chooses its kernels
        _CODE_KEY = "\x1e".join([code, np.__version__,
                                  scipy.__version__, statsmodels.__version__,
                                  platform.machine(), cpu, platform.python_version()])
    return _CODE_KEY


def _fit_cache_dir():
    """``data/processed/cache/mixed``; None when ``HLSTUDY_FIT_CACHE=0`` or
    ``HLSTUDY_EXPORT_CACHE=0`` (the switch of the other disk caches)."""
    if "0" in (os.environ.get("HLSTUDY_FIT_CACHE", "1"), os.environ.get("HLSTUDY_EXPORT_CACHE", "1")):
        return None
    from hlstudy.paths import PROCESSED

    return PROCESSED / "cache" / "mixed"


#: Most files kept in the disk cache of fits (each ~200 bytes; the method-validation study
#: fits thousands of simulated scores): beyond it the least recently used go first.
FIT_CACHE_FILES = 5000


def _prune_fits(folder, most: int | None = None) -> None:
    """The fit folder bounded at ``most`` files, down to 80 % when over (not at every write)."""
    most = FIT_CACHE_FILES if most is None else most
    _jsoncache.prune(Path(folder), most, keep=most * 4 // 5)


def _fit_mixed(d: pd.DataFrame) -> _MixedFit:
    """REML random-intercept fit of ``y ~ 1 + (1 | g)``, kept by content: in memory (the
    notebook asks for the same score's model several times) and on disk
    (``data/processed/cache/mixed``, one small JSON file per fit, keyed on the SHA-256 of the
    values, the groups, the fitting code and the versions of numpy, scipy and statsmodels;
    a re-run reads its numbers instead of refitting, the same doubles; ``HLSTUDY_FIT_CACHE=0``
    fits every time).  An unreadable file is fitted and written again."""
    key = hashlib.sha256(d["y"].to_numpy(float).tobytes()
                         + "\x1f".join(d["g"].astype(str)).encode()
                         + b"\x1d" + _fit_code_key().encode()).hexdigest()
    if key in _FITS:
        _FITS.move_to_end(key)
        return _FITS[key]
    folder = _fit_cache_dir()
    path = None if folder is None else folder / f"{key}.json"
    fit = _jsoncache.read(path, _MixedFit.from_json)
    if fit is None:
        fit = _MixedFit.of(_fit_mixed_uncached(d))
        _jsoncache.write(path, fit.to_json(), most=FIT_CACHE_FILES, keep=FIT_CACHE_FILES * 4 // 5)
    _FITS[key] = fit
    if len(_FITS) > _FITS_MAX:
        _FITS.popitem(last=False)
    return fit


def _fit_mixed_uncached(d: pd.DataFrame):
    from statsmodels.regression.mixed_linear_model import MixedLM

    # statsmodels' L-BFGS path can stop at τ² = 0 with an infinite log-likelihood (seen with
    # statsmodels 0.15); fit with several optimisers and keep the best finite REML criterion.
    best = None
    # the design of formula "y ~ 1" (an "Intercept" column of ones) given directly, without
    # parsing the formula with patsy at every fit: the same model and the same numbers
    intercept = pd.DataFrame({"Intercept": np.ones(len(d))}, index=d.index)
    model = MixedLM(d["y"], intercept, groups=d["g"])
    for method in ("bfgs", "powell", "nm"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fit = model.fit(reml=True, method=method)
            except (np.linalg.LinAlgError, ValueError):
                continue
        if np.isfinite(fit.llf) and (best is None or fit.llf > best.llf + 1e-9):
            best = fit
        if best is not None and best.converged:
            break
    if best is None:
        raise ModelError("the random-intercept model could not be fitted")
    return best


def icc(df: pd.DataFrame, value: str, group: str, conf: float = 0.95) -> IccResult:
    """Intraclass correlation of ``value`` across ``group`` from a random-intercept model.

    REML fit of ``value ~ 1 + (1 | group)`` with statsmodels ``MixedLM`` (R:
    ``lme4::lmer(value ~ 1 + (1 | group), REML = TRUE)``; ICC = τ²/(τ²+σ²), as
    ``performance::icc``).  The ANOVA estimator, its F interval and the F test of "no
    between-group variance" are returned beside it.
    """
    if not 0 < conf < 1:
        raise ModelError(f"conf must lie in (0, 1), got {conf}")
    d = _clean(df, value, group)
    icc1, lo, hi, f, p, n0 = _anova(d, conf)
    fit = _fit_mixed(d)
    tau2 = float(np.asarray(fit.cov_re)[0, 0])
    sigma2 = float(fit.scale)
    return IccResult(
        variable=value, n=len(d), n_groups=int(d["g"].nunique()),
        mean=float(fit.fe_params.iloc[0]), tau2=tau2, sigma2=sigma2,
        icc=tau2 / (tau2 + sigma2), icc_anova=float(icc1), icc_anova_lo=float(max(lo, -1.0)),
        icc_anova_hi=float(min(hi, 1.0)), f_stat=float(f), p_value=p, n0=float(n0),
        converged=bool(fit.converged),
    )


def icc_table(df: pd.DataFrame, values: Iterable[str], group: str, conf: float = 0.95
              ) -> pd.DataFrame:
    """:func:`icc` for several scores, one row each (sorted in the order given)."""
    rows = [icc(df, v, group, conf).as_dict() for v in values]
    return pd.DataFrame(rows)


def _t_intervals(d: pd.DataFrame, variable: str, group: str, conf: float) -> pd.DataFrame:
    """:func:`~hlstudy.diagnostic.intervals.t_interval` of each group of a :func:`_clean`
    table (sorted by group, no missing value), in group order: each group's values are one
    contiguous block, so the blocks are cut at the group boundaries instead of being
    gathered by ``groupby``; the same means and standard deviations (numpy's, on a copy of
    the block, as ``t_interval`` computes them), one vectorised t quantile."""
    codes, labels = pd.factorize(d["g"], sort=True)
    y = d["y"].to_numpy(float)
    edges = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1, [len(codes)]])
    n = np.diff(edges)
    mean, lo, hi = np.empty(len(n)), np.full(len(n), np.nan), np.full(len(n), np.nan)
    q = stats.t.ppf(0.5 + conf / 2, np.maximum(n - 1, 1))
    for j in range(len(n)):
        x = y[edges[j]:edges[j + 1]].copy()
        m = float(x.mean())
        mean[j] = m
        if n[j] > 1:
            se = x.std(ddof=1) / np.sqrt(int(n[j]))
            lo[j], hi[j] = m - q[j] * se, m + q[j] * se
    return pd.DataFrame({"variable": variable, group: list(labels), "n": n.astype("int64"),
                         "mean": mean, "estimate": mean.copy(), "lo": lo, "hi": hi})


def commune_means(df: pd.DataFrame, values: Iterable[str], group: str, *, method: str = "t",
                  conf: float = 0.95) -> pd.DataFrame:
    """Commune estimate of each score with an interval that reflects the commune's size.

    Returns columns ``variable, <group>, n, mean`` (raw mean), ``estimate, lo, hi`` (``t``:
    the raw mean and its t interval; ``mixed``: the empirical-Bayes mean ± z × conditional
    SD), ``rank`` (1 = highest estimate) and ``rank_lo, rank_hi``: the range of ranks
    compatible with the intervals (a commune is surely above another only when their
    intervals do not overlap).  Sorted by variable and estimate (descending).
    """
    if method not in ("t", "mixed"):
        raise ModelError(f"method must be 't' or 'mixed', got {method!r}")
    out = []
    z = stats.norm.ppf(0.5 + conf / 2)
    for v in values:
        d = _clean(df, v, group)
        tab = _t_intervals(d, v, group, conf)
        if method == "mixed":
            fit = _fit_mixed(d)
            tau2 = float(np.asarray(fit.cov_re)[0, 0])
            sigma2 = float(fit.scale)
            mu = float(fit.fe_params.iloc[0])
            nj = tab["n"].to_numpy(float)
            # Conditional (posterior) variance of u_j given the data and the variance
            # components, as lme4's condVar: (1/tau2 + n_j/sigma2)^-1.
            if tau2 <= 1e-6 * sigma2:
                # No between-commune variance: every commune is estimated by the district
                # mean; its interval is that of the mean (lme4's condVar would give width 0).
                post_var = np.full_like(nj, float(fit.bse_fe.iloc[0]) ** 2)
                blup = np.zeros_like(nj)
            else:
                post_var = 1.0 / (1.0 / tau2 + nj / sigma2)
                blup = post_var * nj / sigma2 * (tab["mean"].to_numpy(float) - mu)
            est = mu + blup
            tab["estimate"] = est
            tab["lo"] = est - z * np.sqrt(post_var)
            tab["hi"] = est + z * np.sqrt(post_var)
        tab = tab.sort_values(["estimate", group], ascending=[False, True], ignore_index=True)
        tab["rank"] = np.arange(1, len(tab) + 1)
        lo_, hi_ = tab["lo"].to_numpy(float), tab["hi"].to_numpy(float)
        # rank_lo: 1 + number of communes surely better; rank_hi: J − number surely worse.
        tab["rank_lo"] = [1 + int(np.sum(lo_ > hi_[i])) for i in range(len(tab))]
        tab["rank_hi"] = [len(tab) - int(np.sum(hi_ < lo_[i])) for i in range(len(tab))]
        out.append(tab)
    return pd.concat(out, ignore_index=True)


def district_mean(df: pd.DataFrame, value: str, group: str, conf: float = 0.95) -> dict:
    """District mean of a score with an interval that respects clustering in communes.

    The fixed intercept of the REML random-intercept model and its standard error
    (R: ``summary(lme4::lmer(value ~ 1 + (1 | group)))$coefficients``), ± z·SE.  Returns
    ``{"mean", "se", "lo", "hi", "n", "n_groups"}``.
    """
    d = _clean(df, value, group)
    fit = _fit_mixed(d)
    m, se = float(fit.fe_params.iloc[0]), float(fit.bse_fe.iloc[0])
    z = stats.norm.ppf(0.5 + conf / 2)
    return {"mean": m, "se": se, "lo": m - z * se, "hi": m + z * se, "n": len(d),
            "n_groups": int(d["g"].nunique())}
