"""Student t tail probabilities and quantiles without scipy.stats' argument handling.

For finite ``x`` (or ``0 < q < 1``) and finite ``df > 0``, ``scipy.stats.t.sf(x, df)`` is
``special.stdtr(df, -x)`` and ``scipy.stats.t.ppf(q, df)`` is ``special.stdtrit(df, q)``
(``t_gen._sf`` / ``t_gen._ppf``; loc 0 and scale 1 change no bit of a finite value).  These
functions call the special functions directly (~0.3 ms less a call) and hand anything else
(an infinite or NaN argument, df ≤ 0, an infinite df) to scipy.stats, so every value is the
float scipy.stats gives (``tests/test_models.py`` checks them bit for bit, boundaries
included).  R: ``pt(x, df, lower.tail = FALSE)`` and ``qt(q, df)``.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats


def _regular(df: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(df) & (df > 0)))


def t_sf(x, df):
    """``scipy.stats.t.sf(x, df)``, the same floats (scalar in, NumPy scalar out; arrays
    broadcast).  >>> float(t_sf(2.0, 10)) == float(stats.t.sf(2.0, 10))  → True"""
    xa, da = np.asarray(x, dtype=float), np.asarray(df, dtype=float)
    if xa.size and da.size and np.all(np.isfinite(xa)) and _regular(da):
        return special.stdtr(da, -xa)[()]
    return stats.t.sf(x, df)


def t_ppf(q, df):
    """``scipy.stats.t.ppf(q, df)``, the same floats (for ``0 < q < 1``; other q through
    scipy.stats)."""
    qa, da = np.asarray(q, dtype=float), np.asarray(df, dtype=float)
    if qa.size and da.size and np.all((qa > 0) & (qa < 1)) and _regular(da):
        return special.stdtrit(da, qa)[()]
    return stats.t.ppf(q, df)
