"""Minimum detectable standardized effect of one regression coefficient."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special, stats

from hlstudy.errors import ModelError


def nct_cdf(x: float, df: float, nc: float) -> float:
    """``stats.nct.cdf(x, df, nc)``, the same float (R ``pt(x, df, ncp = nc)``): for finite x,
    0 < df < inf and finite nc scipy returns ``special.nctdtr(df, nc, x)`` unchanged, which
    is called directly (the root search of :func:`min_detectable_effect` calls it some 40
    times); anything else goes to ``stats.nct.cdf``."""
    x, df, nc = float(x), float(df), float(nc)
    if np.isfinite(x) and 0.0 < df < np.inf and np.isfinite(nc):
        return special.nctdtr(df, nc, x)
    return stats.nct.cdf(x, df, nc)


def _power(delta: float, nu: float, tcrit: float) -> float:
    upper = float(stats.nct.sf(tcrit, nu, delta))
    lower = float(nct_cdf(-tcrit, nu, delta))
    if not math.isfinite(lower):
        # scipy underflows to NaN far in the tail; the term is below P(T' < 0) = Φ(−δ)
        lower = 0.0 if delta > 5 else math.nan
    return upper + lower


def min_detectable_effect(n: float, *, design_effect: float = 1.0, k_covariates: int = 0,
                          alpha: float = 0.05, power: float = 0.80,
                          r2_other: float = 0.0) -> float:
    """Smallest standardized coefficient a two-sided t test detects with the given power.

    Model: y = β·x + γ'z + e with x and y standardized, ``k_covariates`` other covariates z
    that explain a share ``r2_other`` of the outcome's variance (Bloom 1995's R², which
    shrinks the residual variance), respondents nested in clusters with design effect
    ``design_effect`` (n_eff = n / deff).  The t statistic of β̂ is noncentral t with
    ν = n_eff − k − 2 df and noncentrality δ = β·√(n_eff / (1 − r2_other)); the MDE is the β
    whose power P(|T'| > t_{1−α/2, ν}) equals ``power``:

        MDE = δ*(ν, α, power) · √((1 − r2_other) / n_eff)

    Bloom (1995, *Evaluation Review* 19(5), 547–556) approximates δ* by the multiplier
    t_{1−α/2,ν} + t_{power,ν} (2.80 for large ν at α = .05, 80% power); here δ* is solved
    exactly, as R ``uniroot`` on ``pt(qt(1 - a/2, nu), nu, ncp = d, lower.tail = FALSE) +
    pt(-qt(1 - a/2, nu), nu, ncp = d)`` (the fixture), which agrees with ``pwr.f2.test``'s
    convention for one coefficient up to the df.  Units: SD of y per SD of x.

    Parameters
    ----------
    n : respondents; design_effect : ≥ 1 (e.g. 1 + (m̄ − 1)·ICC); k_covariates : ≥ 0;
    alpha, power : in (0, 1); r2_other : in [0, 1).

    Raises
    ------
    ModelError : out-of-range arguments or ν = n/deff − k − 2 < 1.

    Examples
    --------
    >>> round(min_detectable_effect(427, design_effect=1.5, k_covariates=6), 3)
    0.167
    """
    for name, value in (("n", n), ("design_effect", design_effect)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ModelError(f"{name} must be a positive number, got {value!r}")
    if design_effect < 1:
        raise ModelError(f"design_effect must be >= 1, got {design_effect}")
    if int(k_covariates) != k_covariates or k_covariates < 0:
        raise ModelError(f"k_covariates must be a non-negative integer, got {k_covariates!r}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ModelError(f"alpha and power must be in (0, 1), got {alpha}, {power}")
    if not 0 <= r2_other < 1:
        raise ModelError(f"r2_other must be in [0, 1), got {r2_other}")
    n_eff = n / design_effect
    nu = n_eff - k_covariates - 2
    if nu < 1:
        raise ModelError(f"n/design_effect − k − 2 = {nu:.2f} df: too few respondents for a test")
    tcrit = stats.t.ppf(1 - alpha / 2, nu)
    if _power(0.0, nu, tcrit) >= power:
        raise ModelError(f"power {power} is not above alpha {alpha}")
    hi = 1.0
    while _power(hi, nu, tcrit) < power:
        hi *= 2
    delta = optimize.brentq(lambda d: _power(d, nu, tcrit) - power, 0.0, hi, xtol=1e-14,
                            rtol=1e-15, maxiter=500)
    return float(delta * math.sqrt((1 - r2_other) / n_eff))
