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
        lo = np.where(n > 0, np.clip(centre - half, 0, 1), np.nan)
        hi = np.where(n > 0, np.clip(centre + half, 0, 1), np.nan)
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
