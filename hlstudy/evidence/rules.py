"""The verdict rules of the claims ledger, written once (``docs/evidence.md``).

Every claim of ``data/instrument/claims.csv`` is judged by one of two functions:

* :func:`verdict` — an inferential estimate (a standardized path, a correlation, a mean
  difference, an ICC) with its interval and multiplicity-adjusted p-value:

  ``supported``
      the estimate has the claimed direction, the adjusted test rejects zero
      (``p_adjusted < alpha``) and the interval reaches beyond the SESOI in the claimed
      direction (``ci_high > sesoi`` for a positive claim, ``ci_low < −sesoi`` for a
      negative one);
  ``not supported``
      the effect is significant in the opposite direction (adjusted), or the two one-sided
      tests (TOST, Schuirmann 1987; Lakens 2017) against ±SESOI show it is negligible;
  ``inconclusive``
      neither: the data cannot tell; the reason gives the minimum detectable effect
      (Bloom 1995: ``(t_{1−α/2,df} + t_{power,df})·se``);
  ``not testable``
      no estimate (the study lacks the data): never silently dropped.

  The checks run in that order: opposite-significant, TOST, supported, inconclusive.

* :func:`descriptive_verdict` — a descriptive number (a share, a mean, a reliability) against
  a stated threshold: ``supported`` when the whole interval lies on the claimed side of the
  threshold, ``not supported`` when the whole interval lies on the other side, else
  ``inconclusive``.

:func:`adjust` applies the multiple-testing correction across the ledger's inferential tests
(Holm 1979 by default, Benjamini & Hochberg 1995 as an option) through
:func:`statsmodels.stats.multitest.multipletests`; :func:`combine` joins the verdicts of a
claim's parts (a claim asserts all its parts: an intersection–union test, Berger 1982).

R equivalents: ``p.adjust(p, "holm")`` / ``p.adjust(p, "BH")``; TOST as
``TOSTER::tsum_TOST`` on an estimate and its standard error.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special, stats

from hlstudy.errors import ModelError
from hlstudy.export import minus_sign

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
INCONCLUSIVE = "inconclusive"
NOT_TESTABLE = "not testable"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE, NOT_TESTABLE)
#: Vietnamese labels of the verdicts (tables and figures).
VERDICTS_VI = {SUPPORTED: "được ủng hộ", NOT_SUPPORTED: "không được ủng hộ",
               INCONCLUSIVE: "chưa kết luận được", NOT_TESTABLE: "không kiểm định được"}
CORRECTIONS = {"holm": "holm", "fdr_bh": "fdr_bh"}
#: Reason templates (English, Vietnamese) of :func:`verdict` and :func:`descriptive_verdict`.
REASONS = {
    "missing": ("{missing}", "{missing}"),
    "no_interval": ("no valid interval for the estimate {est}",
                    "không có khoảng tin cậy hợp lệ cho ước lượng {est}"),
    "opposite": ("significant in the opposite direction: {ci}, adjusted p {p}",
                 "có ý nghĩa thống kê theo chiều ngược lại: {ci}, p hiệu chỉnh {p}"),
    "tost": ("TOST against ±{s}: p {tp}", "TOST với ±{s}: p {tp}"),
    "inside": ("the whole interval lies inside ±{s}", "cả khoảng tin cậy nằm trong ±{s}"),
    "negligible": ("negligible effect: {ci}; {how}", "hiệu ứng không đáng kể: {ci}; {how}"),
    # the rule asks that the interval *reach* beyond the SESOI (its far bound), not that it
    # lie wholly beyond it: the reason names the bound, so it is not read as the stronger test
    "supported": ("{ci} in the claimed direction, adjusted p {p}, the interval's {bound} bound "
                  "beyond the SESOI {ss}",
                  "{ci} đúng chiều nhận định, p hiệu chỉnh {p}, {bound_vi} của khoảng tin cậy "
                  "vượt ra ngoài ngưỡng hiệu ứng nhỏ nhất có ý nghĩa (SESOI) {ss}"),
    # the MDE is at the unadjusted alpha (as the interval): an estimate above it can still be
    # inconclusive once p is adjusted, and the reason says so rather than leave it a puzzle
    "inconclusive": ("{ci}, adjusted p {p}: neither shown nor shown negligible; minimum "
                     "detectable effect {mde} ({pw} power at α = {a}, before the multiple-testing "
                     "correction)",
                     "{ci}, p hiệu chỉnh {p}: dữ liệu chưa đủ để khẳng định hay bác bỏ; "
                     "hiệu ứng nhỏ nhất phát hiện được {mde} (lực kiểm định {pw} ở α = {a}, "
                     "chưa hiệu chỉnh kiểm định bội)"),
    "point": ("{what} {est} (no interval) {isnot} {side} {thr}",
              "{what} {est} (không có khoảng tin cậy) {isnot} {side} {thr}"),
    "exact": ("{what} {est} (a census: the exact value, no interval) {isnot} {side} {thr}",
              "{what} {est} (tổng điều tra: giá trị chính xác, không có khoảng tin cậy) "
              "{isnot} {side} {thr}"),
    "d_supported": ("{ci}: the whole interval is {side} {thr}",
                    "{ci}: cả khoảng tin cậy {side} {thr}"),
    "d_not": ("{ci}: the whole interval is on the other side of {thr}",
              "{ci}: cả khoảng tin cậy nằm ở phía bên kia của {thr}"),
    "d_inconclusive": ("{ci}: the interval contains {thr}", "{ci}: khoảng tin cậy chứa {thr}"),
}


def _r(key: str, lang: str, **kw) -> str:
    if lang not in ("en", "vi"):
        raise ModelError(f"lang must be 'en' or 'vi', got {lang!r}")
    return REASONS[key][0 if lang == "en" else 1].format(**kw)


@dataclass(frozen=True)
class Rules:
    """The ledger's decision rules, with their sources (printed in notebook 06).

    sesoi : smallest effect size of interest for standardized coefficients and correlations
        (|β| or |r| = .10, Cohen's 1988 "small" correlation; Lakens, Scheel & Isager 2018).
    sesoi_indirect : for an indirect effect a·b of standardized paths (.01 = .10 × .10: the
        product of two paths each at ``sesoi``; judging a product against the single-path
        ``sesoi`` would call a mediation of two clearly non-negligible paths — e.g. .25 × .25 —
        "negligible". Indirect effects are products, so their benchmarks are products too;
        Preacher & Kelley 2011, Psychological Methods 16(2), on why path benchmarks do not
        carry over to ab).
    sesoi_smd : for a standardized mean difference between two groups (Cohen's d = .20).
    sesoi_icc : for an intraclass correlation (.05: a "small" between-commune share).
    sesoi_points : for a difference of means on the 1–5 answer scale (scale points).
    alpha : significance level of every test and of TOST (each one-sided test at ``alpha``).
    correction : ``"holm"`` (family-wise error ≤ alpha) or ``"fdr_bh"`` (false-discovery
        rate ≤ alpha), across all inferential tests of the ledger.
    power : power at which the minimum detectable effect is stated.
    descriptive_share : the share that makes "many", "a substantial share" true (one in five).
    majority_share : "most" (more than half).
    weak_cutoff : a 1–5 scale score (or item answer) below this counts as weak (neutral point).
    min_alpha, max_htmt : reliability and discriminant validity cut-offs of claim T3
        (Nunnally & Bernstein 1994; Henseler, Ringle & Sarstedt 2015).
    vcov : covariance of the regressions (``"CR2"``: cluster-robust by commune, Satterthwaite
        df, Pustejovsky & Tipton 2018).
    bootstrap : draws of the bootstrap interval of the indirect effect (the ledger draws at
        least 100: ``0`` asks for the fewest, the fastest run).
    seed : seed of every random draw (bootstrap, Monte-Carlo tests).
    """

    sesoi: float = 0.10
    sesoi_indirect: float = 0.01
    sesoi_smd: float = 0.20
    sesoi_icc: float = 0.05
    sesoi_points: float = 0.10
    alpha: float = 0.05
    correction: str = "holm"
    power: float = 0.80
    descriptive_share: float = 0.20
    majority_share: float = 0.50
    weak_cutoff: float = 3.0
    min_alpha: float = 0.70
    max_htmt: float = 0.85
    vcov: str = "CR2"
    bootstrap: int = 1000
    seed: int = 2026

    def __post_init__(self):
        for name in ("sesoi", "sesoi_indirect", "sesoi_smd", "sesoi_icc", "sesoi_points"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and math.isfinite(v) and v > 0):
                raise ModelError(f"Rules.{name} must be a positive number, got {v!r}")
        for name in ("alpha", "power", "descriptive_share", "majority_share"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and 0 < v < 1):
                raise ModelError(f"Rules.{name} must lie in (0, 1), got {v!r}")
        if self.correction not in CORRECTIONS:
            raise ModelError(f"Rules.correction must be one of {sorted(CORRECTIONS)}, "
                             f"got {self.correction!r}")
        if int(self.bootstrap) < 0:
            raise ModelError(f"Rules.bootstrap must be >= 0, got {self.bootstrap}")

    def as_table(self):
        """The rules as a two-column DataFrame (``rule, value``) for the notebook."""
        import pandas as pd

        return pd.DataFrame({"rule": list(asdict(self)), "value": [str(v) for v in
                                                                   asdict(self).values()]})


def _sign(direction) -> int:
    if direction in ("+", 1, "positive"):
        return 1
    if direction in ("-", "−", -1, "negative"):
        return -1
    raise ModelError(f"direction must be '+' or '-', got {direction!r}")


def _finite(*xs) -> bool:
    return all(x is not None and isinstance(x, int | float | np.floating | np.integer)
               and math.isfinite(float(x)) for x in xs)


#: How sure a reversal is (:func:`reversal_certainty`): by the test and the interval, by the
#: test alone (the interval contains 0: not established), or not significant.
REVERSAL_CERTAINTY = ("established", "p_only", "not_significant")


def reversal_certainty(p, ci_low, ci_high, alpha: float) -> str:
    """How sure an estimate pointing against its claim is, the one rule of the contradictions
    (:func:`hlstudy.evidence.contradictions`) and notebook 05: ``"established"`` when
    ``p < alpha`` and the interval excludes 0 (an interval missing or not finite cannot
    disagree: the test decides), ``"p_only"`` when ``p < alpha`` but the interval contains 0
    (the test and the interval come from different methods, e.g. a Spearman t test beside a
    Fisher z interval, and disagree: not established), else ``"not_significant"`` (a missing
    ``p`` included).

    >>> reversal_certainty(0.01, -0.6, -0.1, 0.05), reversal_certainty(0.044, -0.72, 0.01, 0.05)
    ('established', 'p_only')
    >>> reversal_certainty(0.2, -0.5, 0.1, 0.05)
    'not_significant'
    """
    if not (isinstance(alpha, (int, float, np.floating)) and 0 < alpha < 1):
        raise ModelError(f"alpha must be a probability between 0 and 1, got {alpha!r}")
    if not _finite(p) or not float(p) < alpha:
        return "not_significant"
    if _finite(ci_low, ci_high) and float(ci_low) <= 0 <= float(ci_high):
        return "p_only"
    return "established"


def opposite(estimate, direction, threshold=0.0) -> bool:
    """True when a finite ``estimate`` lies on the other side of ``threshold`` (0: the sign)
    than the claimed ``direction`` (``"+"``: above, ``"-"``: below): the data point against
    the claim, whatever its interval says (the caller says how sure that is).  A missing
    estimate or threshold is never opposite.

    >>> opposite(-0.42, "+"), opposite(0.10, "+", 0.20), opposite(0.03, "-"), opposite(0.0, "+")
    (True, True, True, False)
    """
    sign = _sign(direction)
    if not _finite(estimate) or not _finite(threshold):
        return False
    return bool((float(estimate) - float(threshold)) * sign < 0)


def exact_interval(estimate, ci_low, ci_high):
    """True where an interval has width 0 at its estimate: a share of a census (the personnel
    register), exact, whose "interval" is no interval.  Scalars give a bool, arrays and pandas
    Series an array (or Series) of bools; missing values are never exact.

    >>> exact_interval(0.595, 0.595, 0.595), exact_interval(0.595, 0.55, 0.64)
    (True, False)
    """
    out = (ci_low == ci_high) & (ci_low == estimate)   # NaN equals nothing
    return bool(out) if np.ndim(out) == 0 else out


def _quantile(q: float, df) -> float:
    """``stats.norm.ppf(q)`` or ``stats.t.ppf(q, df)``.  Inside (0, 1) these are the special
    functions ``ndtri`` and ``stdtrit`` behind scipy's argument checks (~0.1 ms a call); called
    directly they give the same doubles (tests/test_evidence.py checks them against scipy.stats)."""
    normal = df is None or not math.isfinite(df)
    if not 0 < q < 1:  # scipy.stats' own boundary values (-inf, inf, NaN)
        return float(stats.norm.ppf(q) if normal else stats.t.ppf(q, df))
    return float(special.ndtri(q) if normal else special.stdtrit(df, q))


def se_from_interval(ci_low: float, ci_high: float, *, alpha: float = 0.05, df=None) -> float:
    """Standard error implied by a symmetric (1 − alpha) interval: width / (2·t_{1−α/2})."""
    return (ci_high - ci_low) / (2 * _quantile(1 - alpha / 2, df))


def min_detectable(se: float, *, alpha: float = 0.05, power: float = 0.80, df=None) -> float:
    """Minimum detectable effect of a two-sided test: ``(t_{1−α/2} + t_{power})·se``.

    Bloom (1995, *Evaluation Review* 19(5)); normal quantiles when ``df`` is None.
    With ``se`` in standardized units the result is a standardized effect.

    >>> round(min_detectable(0.1), 3)
    0.28
    """
    if not _finite(se) or se <= 0:
        return float("nan")
    return float((_quantile(1 - alpha / 2, df) + _quantile(power, df)) * se)


def tost(estimate: float, se: float, sesoi: float, *, df=None) -> float:
    """p-value of the two one-sided tests of ``|effect| < sesoi`` (the larger of the two).

    ``p = max(P(T ≥ (est + sesoi)/se), P(T ≤ (est − sesoi)/se))`` with T ~ t(df) (normal
    when ``df`` is None); equivalence is shown when ``p < alpha`` (Schuirmann 1987).
    """
    if not _finite(estimate, se, sesoi) or se <= 0:
        return float("nan")
    # stats.norm.sf(x) / .cdf(x) are ndtr(-x) / ndtr(x), and a frozen stats.t(df)'s are
    # stdtr(df, -x) / stdtr(df, x): the same doubles without freezing a distribution
    # (~0.7 ms a call; tests/test_evidence.py checks them against scipy.stats)
    hi, lo = (estimate + sesoi) / se, (estimate - sesoi) / se
    if df is None or not math.isfinite(df):
        p_low, p_high = special.ndtr(-hi), special.ndtr(lo)
    else:
        p_low, p_high = special.stdtr(df, -hi), special.stdtr(df, lo)
    return float(max(p_low, p_high))


def _fmt(x: float, d: int = 3, lang: str = "en") -> str:
    if not _finite(x):
        return "–"
    out = f"{float(x):.{d}f}"
    if float(out) == 0:
        out = f"{0:.{d}f}"
    out = minus_sign(out)   # the minus sign in both languages (hlstudy.export.MINUS)
    return out.replace(".", ",") if lang == "vi" else out


def _fp(p: float, lang: str) -> str:
    """A p-value in a reason as every table and prose prints it (``export.p_text``): three
    decimals, ``< 0,001`` below; three significant digits printed 0,0722 and 0,00774 beside
    tables of 0,072 and 0,008."""
    from hlstudy.export import p_text

    if not _finite(p):
        return "–"
    return p_text(float(p), 3, lang=lang)


def verdict(estimate, ci_low, ci_high, p_adjusted, *, direction, sesoi: float,
            alpha: float = 0.05, se=None, df=None, power: float = 0.80, mde=None,
            missing: str = "no estimate", lang: str = "en") -> tuple[str, str]:
    """Verdict on one inferential estimate: ``(verdict, reason)``.

    Parameters
    ----------
    estimate, ci_low, ci_high : the estimate and its (1 − alpha) interval, same units as
        ``sesoi`` (standardized β, r, d, ICC…).
    p_adjusted : the multiplicity-adjusted two-sided p-value of the test of zero.
    direction : ``"+"`` or ``"-"``, the direction the claim asserts.
    sesoi : smallest effect size of interest (> 0).
    alpha : significance level (adjusted test, and each one-sided test of TOST).
    se, df : standard error and degrees of freedom of the estimate (``df=None``: normal).
        Without ``se``, TOST is read off the interval (negligible when the whole
        (1 − alpha) interval lies inside ±sesoi, a test at alpha/2 each side — conservative)
        and the minimum detectable effect uses the standard error implied by the interval.
    power : power of the stated minimum detectable effect; ``mde`` overrides it (e.g. the
        MDE of a correlation on the Fisher-z scale).
    missing : why there is no estimate (used when ``estimate`` is missing).
    lang : language of the reason (``"en"`` or ``"vi"``).

    Returns
    -------
    (verdict, reason): verdict one of :data:`VERDICTS`; reason a sentence with the numbers
    that decided it.

    Raises
    ------
    ModelError : bad direction, sesoi ≤ 0, alpha or power outside (0, 1).

    Example
    -------
    >>> verdict(0.30, 0.20, 0.40, 0.001, direction="+", sesoi=0.10)[0]
    'supported'
    >>> verdict(0.01, -0.04, 0.06, 0.70, direction="+", sesoi=0.10, se=0.025)[0]
    'not supported'
    >>> verdict(0.08, -0.10, 0.26, 0.40, direction="+", sesoi=0.10, se=0.09)[0]
    'inconclusive'
    """
    sign = _sign(direction)
    if not _finite(sesoi) or sesoi <= 0:
        raise ModelError(f"sesoi must be a positive number, got {sesoi!r}")
    if not (0 < alpha < 1) or not (0 < power < 1):
        raise ModelError(f"alpha and power must lie in (0, 1), got {alpha}, {power}")
    if not _finite(estimate):
        return NOT_TESTABLE, _r("missing", lang, missing=missing)
    if not _finite(ci_low, ci_high) or ci_low > ci_high:
        return NOT_TESTABLE, _r("no_interval", lang, est=_fmt(estimate, lang=lang))
    if se is None or not _finite(se) or se <= 0:
        se_used, tost_p = None, None
    else:
        se_used, tost_p = float(se), tost(estimate, se, sesoi, df=df)
    est = float(estimate)
    ci = (f"{_fmt(est, lang=lang)} [{_fmt(ci_low, lang=lang)}; {_fmt(ci_high, lang=lang)}]")
    p_txt = _fp(p_adjusted, lang)
    s_txt = _fmt(sesoi, 2, lang)
    p_ok = _finite(p_adjusted) and p_adjusted < alpha
    if p_ok and np.sign(est) == -sign:
        return NOT_SUPPORTED, _r("opposite", lang, ci=ci, p=p_txt)
    if tost_p is not None:
        negligible = tost_p < alpha
        how = _r("tost", lang, s=s_txt, tp=_fp(tost_p, lang))
    else:
        negligible = -sesoi < ci_low and ci_high < sesoi
        how = _r("inside", lang, s=s_txt)
    if negligible:
        return NOT_SUPPORTED, _r("negligible", lang, ci=ci, how=how)
    reaches = ci_high > sesoi if sign > 0 else ci_low < -sesoi
    if p_ok and np.sign(est) == sign and reaches:
        return SUPPORTED, _r("supported", lang, ci=ci, p=p_txt,
                             ss=("+" if sign > 0 else "−") + s_txt,
                             bound="upper" if sign > 0 else "lower",
                             bound_vi="cận trên" if sign > 0 else "cận dưới")
    if mde is None or not _finite(mde):
        se_mde = se_used if se_used is not None else se_from_interval(ci_low, ci_high,
                                                                      alpha=alpha, df=df)
        mde = min_detectable(se_mde, alpha=alpha, power=power, df=df)
    return INCONCLUSIVE, _r("inconclusive", lang, ci=ci, p=p_txt, mde=_fmt(mde, lang=lang),
                            a=f"{alpha:g}".replace(".", "," if lang == "vi" else "."),
                            pw=f"{power:.0%}")


def descriptive_verdict(estimate, ci_low, ci_high, *, threshold: float, direction,
                        what: str = "estimate", missing: str = "no estimate",
                        lang: str = "en") -> tuple[str, str]:
    """Verdict on a descriptive number against a stated ``threshold``: ``(verdict, reason)``.

    ``direction="+"``: the claim says the number exceeds ``threshold``; supported when
    ``ci_low > threshold``, not supported when ``ci_high < threshold``, inconclusive when the
    interval contains it.  ``"-"`` mirrors this.  Without an interval (both bounds missing)
    the point estimate is compared and the reason says so; so it is for an interval of width
    0 at the estimate (a share of a census, exact), whose reason says it is exact.

    >>> descriptive_verdict(0.35, 0.28, 0.42, threshold=0.20, direction="+")[0]
    'supported'
    """
    sign = _sign(direction)
    if not _finite(estimate):   # nothing to compare, whatever the threshold
        return NOT_TESTABLE, _r("missing", lang, missing=missing)
    if not _finite(threshold):
        raise ModelError(f"threshold must be a number, got {threshold!r}")
    if lang == "vi":
        side = "lớn hơn" if sign > 0 else "nhỏ hơn"
    else:
        side = ">" if sign > 0 else "<"
    thr = _fmt(threshold, 2, lang)
    exact = _finite(ci_low, ci_high) and exact_interval(estimate, ci_low, ci_high)
    if exact or not _finite(ci_low, ci_high):
        ok = (estimate - threshold) * sign > 0
        isnot = ("is" if ok else "is not") if lang == "en" else ("" if ok else "không")
        return ((SUPPORTED if ok else NOT_SUPPORTED),
                _r("exact" if exact else "point", lang, what=what,
                   est=_fmt(estimate, lang=lang), isnot=isnot, side=side,
                   thr=thr).replace("  ", " "))
    ci = f"{what} {_fmt(estimate, lang=lang)} [{_fmt(ci_low, lang=lang)}; {_fmt(ci_high, lang=lang)}]"
    lo, hi = (ci_low, ci_high) if sign > 0 else (-ci_high, -ci_low)
    t = threshold * sign
    if lo > t:
        return SUPPORTED, _r("d_supported", lang, ci=ci, side=side, thr=thr)
    if hi < t:
        return NOT_SUPPORTED, _r("d_not", lang, ci=ci, thr=thr)
    return INCONCLUSIVE, _r("d_inconclusive", lang, ci=ci, thr=thr)


def adjust(pvalues: Sequence[float], *, method: str = "holm", alpha: float = 0.05) -> np.ndarray:
    """Multiplicity-adjusted p-values (missing p-values stay missing and are not counted).

    ``method``: ``"holm"`` (= R ``p.adjust(p, "holm")``) or ``"fdr_bh"`` (= ``"BH"``),
    through :func:`statsmodels.stats.multitest.multipletests`, except Holm's step-down,
    written here as statsmodels writes it (sorted p times ``n, n−1, …, 1``, running maximum,
    capped at 1: the same floating-point operations, so the same bits): statsmodels' Holm
    branch calls ``gc.collect()`` on every call, ~0.15 s in a process holding a study.
    """
    from statsmodels.stats.multitest import multipletests

    if method not in CORRECTIONS:
        raise ModelError(f"method must be one of {sorted(CORRECTIONS)}, got {method!r}")
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ((p[ok] < 0) | (p[ok] > 1)).any():
        raise ModelError("p-values must lie in [0, 1]")
    if ok.any() and CORRECTIONS[method] == "holm":
        q = p[ok]
        order = np.argsort(q)
        adj = np.maximum.accumulate(np.take(q, order) * np.arange(len(q), 0, -1))
        adj[adj > 1] = 1
        res = np.empty_like(adj)
        res[order] = adj
        out[ok] = res
    elif ok.any():
        out[ok] = multipletests(p[ok], alpha=alpha, method=CORRECTIONS[method])[1]
    return out


def combine(verdicts: Iterable[str]) -> str:
    """Verdict of a claim that asserts all its parts (intersection–union, Berger 1982).

    ``not supported`` if any part is; else ``not testable`` if any part is; else
    ``inconclusive`` if any part is; else ``supported``.
    """
    vs = list(verdicts)
    if not vs:
        return NOT_TESTABLE
    bad = [v for v in vs if v not in VERDICTS]
    if bad:
        raise ModelError(f"unknown verdicts {bad}; expected {VERDICTS}")
    for v in (NOT_SUPPORTED, NOT_TESTABLE, INCONCLUSIVE):
        if v in vs:
            return v
    return SUPPORTED
