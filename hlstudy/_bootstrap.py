"""Shared handling of bootstrap draws whose statistic is undefined.

A bootstrap resample can make a statistic undefined: Cronbach's alpha of a resample whose
total score has zero variance, omega of a resample whose correlation matrix is not positive
definite, an indirect effect whose model cannot be fitted.  The caller computes such a draw
as NaN (never as a finite number that happens to come out of 0/0) and passes all draws
through :func:`finite_draws`, which drops the undefined ones, warns with their count, and
refuses to go on when too many are undefined for the interval to mean anything (the percentile
interval over the defined draws is then an interval of a conditional distribution, and
silently so).
"""

from __future__ import annotations

import warnings

import numpy as np

from hlstudy.errors import ModelError

__all__ = ["UndefinedDrawsWarning", "finite_draws"]


class UndefinedDrawsWarning(UserWarning):
    """Some bootstrap draws had an undefined statistic and were dropped."""


def finite_draws(draws, *, statistic: str, max_undefined_share: float = 0.10):
    """Drop the bootstrap draws whose statistic is undefined.

    Parameters
    ----------
    draws : array_like, shape (B,) or (B, k)
        One row per bootstrap draw.  A draw is undefined when any of its k values is NaN or
        ±inf (the caller sets undefined draws to NaN, e.g. zero total variance for alpha).
    statistic : str
        Name of the statistic, used in the warning and error messages ("Cronbach's alpha").
    max_undefined_share : float, default 0.10
        Largest share of undefined draws (in [0, 1)) that is tolerated.

    Returns
    -------
    (kept, n_undefined) : (ndarray, int)
        ``kept`` holds the defined draws (shape (B - n_undefined,) or (B - n_undefined, k),
        in their original order); ``n_undefined`` is the number dropped.

    Raises
    ------
    ModelError
        If ``draws`` is empty or not 1-D/2-D, if ``max_undefined_share`` is outside [0, 1),
        or if ``n_undefined / B > max_undefined_share``.

    Warns
    -----
    UndefinedDrawsWarning
        When ``0 < n_undefined`` (and the share is tolerated), naming the statistic and the count.

    Examples
    --------
    >>> import numpy as np, warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     kept, n = finite_draws(np.array([0.5, np.nan, 0.7] + [0.6] * 17), statistic="alpha")
    >>> kept.shape, n
    ((19,), 1)
    """
    arr = np.asarray(draws, dtype=float)
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise ModelError(
            f"bootstrap draws of {statistic} must be a non-empty array of shape (B,) or (B, k); "
            f"got shape {arr.shape}"
        )
    share = float(max_undefined_share)
    if not (0.0 <= share < 1.0):
        raise ModelError(f"max_undefined_share must be in [0, 1); got {max_undefined_share!r}")
    ok = np.isfinite(arr) if arr.ndim == 1 else np.isfinite(arr).all(axis=1)
    n_total = arr.shape[0]
    n_undefined = int(n_total - ok.sum())
    if n_undefined / n_total > share:
        raise ModelError(
            f"{statistic} is undefined in {n_undefined} of {n_total} bootstrap resamples "
            f"({n_undefined / n_total:.1%}, more than the {share:.0%} tolerated): the resamples "
            "are too often degenerate (e.g. zero variance, a singular matrix) for a bootstrap "
            "interval to describe the sampling distribution; collect more respondents, drop "
            "near-constant items, or report the estimate without a bootstrap interval"
        )
    if n_undefined:
        warnings.warn(
            f"{statistic} is undefined in {n_undefined} of {n_total} bootstrap resamples "
            "(e.g. zero variance or a singular matrix); they were dropped and the interval "
            f"uses the {n_total - n_undefined} defined draws",
            UndefinedDrawsWarning,
            stacklevel=2,
        )
    return arr[ok].copy(), n_undefined
