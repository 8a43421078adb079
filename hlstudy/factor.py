"""Exploratory factor analysis and its assumption checks, numerically identical to R's psych.

Which R function each routine reproduces (psych 2.2.9 and GPArotation 2022.10-2, as Debian
ships them; tolerances are those of ``tests/test_factor.py``):

==========================  ==============================================  ===========
hlstudy                     R                                                agreement
==========================  ==============================================  ===========
:func:`kmo`                 ``psych::KMO(x)``                                1e-6
:func:`bartlett`            ``psych::cortest.bartlett(x)``                   1e-6
:func:`parallel_analysis`   ``psych::fa.parallel(x)`` (fa = "both")          same counts
:func:`efa`                 ``psych::fa(x, nfactors, fm, rotate)``           2e-3
:func:`harman_test`         ``eigen(cor(x))$values[1] / p`` /
                            ``fa(x, 1, rotate = "none")$Vaccounted``          1e-6
:func:`item_distributions`  ``psych::describe(x)`` (skew, kurtosis type 3)    1e-8
:func:`mardia`              ``psych::mardia(x)``                             1e-8
==========================  ==============================================  ===========

Everything is implemented here with numpy/scipy (factor_analyzer's and statsmodels' rotations
do not reproduce R's).  Missing answers follow psych: correlations are pairwise-complete
(``cor(x, use = "pairwise")``) and ``n_obs`` is the number of rows; Mardia's test, which needs
whole rows, uses complete cases (``na.omit``) as psych does.

The CFA side (``cfa``, ``htmt``, ``fornell_larcker``...) lives in :mod:`hlstudy.cfa`;
``hlstudy.factor.cfa`` and ``hlstudy.factor.htmt`` are re-exported from there on first use.

Example
-------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> f = rng.normal(size=(500, 2))
>>> x = np.column_stack([f[:, [0]] + rng.normal(size=(500, 3)), f[:, [1]] + rng.normal(size=(500, 3))])
>>> items = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
>>> fit = efa(items, 2, rotation="varimax")
>>> fit.loadings.shape
(6, 2)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from hlstudy import _resultcache
from hlstudy._psychometrics import (
    Extraction,
    as_items,
    collinear_items,
    eigh_desc,
    fit_optim,
    fit_pa,
    indefinite_items,
    minres_one_factor_batch,
    pairwise_moments,
    psych_kurtosis,
    psych_skew,
    resampled_correlations,
    undefined_correlations,
    wishart_correlations,
)
from hlstudy.errors import ModelError, check_lang
from hlstudy.progress import progress

__all__ = [
    "KMOResult", "BartlettResult", "ParallelResult", "EFAResult", "HarmanResult",
    "MardiaResult", "correlation", "kmo", "bartlett", "parallel_analysis", "efa",
    "harman_test", "item_distributions", "mardia", "varimax", "promax", "oblimin",
    "scree_figure",
]

# Names provided by hlstudy.cfa (CFA helper's module) and re-exported here lazily.
_CFA_EXPORTS = ("cfa", "htmt", "fornell_larcker", "composite_reliability",
                "average_variance_extracted", "measurement_invariance", "common_method_factor")


def __getattr__(name):  # PEP 562: ``hlstudy.factor.cfa`` etc. come from hlstudy.cfa
    if name in _CFA_EXPORTS:
        try:
            from hlstudy import cfa as _cfa
        except ImportError as exc:  # pragma: no cover - until hlstudy/cfa.py exists
            raise AttributeError(f"hlstudy.factor.{name} needs hlstudy.cfa ({exc})") from exc
        return getattr(_cfa, name)
    raise AttributeError(f"module 'hlstudy.factor' has no attribute {name!r}")


def correlation(items: pd.DataFrame) -> pd.DataFrame:
    """Pairwise-complete Pearson correlations, as ``cor(x, use = "pairwise")``.

    Returns a p x p DataFrame (items x items).  Where R returns NA (a pair never answered
    together, answered together once, or one item constant within the shared answers: R's
    warning "the standard deviation is zero") this raises a :class:`ModelError` naming each
    such pair and its number of shared answers; no cell is ever +-inf.

    >>> import pandas as pd
    >>> correlation(pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 1, 4, 3]})).loc["a", "b"]
    0.6
    """
    df = as_items(items)
    _, r, n = pairwise_moments(df.to_numpy())
    err = undefined_correlations(r, n, list(df.columns), what="correlation")
    if err is not None:
        raise err
    return pd.DataFrame(r, index=df.columns, columns=df.columns)


def _require_n_above_p(n: int, p: int, what: str) -> None:
    """Kind 1 of issue 14: routines that invert or take the log-determinant of the correlation
    matrix need more respondents than items (with n <= p its rank is at most n - 1)."""
    if n <= p:
        raise ModelError(f"{what} needs more respondents than items: n = {n} respondents, "
                         f"p = {p} items (n must exceed p; with n <= p the correlation matrix "
                         "is singular, of rank at most n - 1)")


def _require_positive_definite(r: np.ndarray, names, what: str) -> None:
    """Kind 7 of issue 14: a scale-free positive-definiteness check naming collinear items
    (or, for an indefinite matrix of pairwise correlations, the items behind it)."""
    neg = indefinite_items(r, names)
    if neg is not None:
        value, items = neg
        raise ModelError(f"{what}: the pairwise correlation matrix is not positive definite "
                         f"(smallest eigenvalue {value:.3g}): its cells come from different "
                         "subsets of respondents (pairwise-complete answers); items involved: "
                         f"{', '.join(items)}; drop items with few answers or use complete "
                         "cases")
    groups = collinear_items(r, names)
    if groups:
        listed = "; ".join("{" + ", ".join(g) + "}" for g in groups)
        raise ModelError(f"{what}: the correlation matrix is singular (not positive definite): items "
                         f"{listed} are (numerically) linear combinations of each other "
                         "(e.g. a duplicated item or a sum of other items); drop one item "
                         "of each group")


# --------------------------------------------------------------------------------------
# KMO and Bartlett
# --------------------------------------------------------------------------------------

def _kaiser_label(msa: float) -> str:
    """Kaiser (1974) verbal labels of the measure of sampling adequacy."""
    for cut, label in ((0.9, "marvelous"), (0.8, "meritorious"), (0.7, "middling"),
                       (0.6, "mediocre"), (0.5, "miserable")):
        if msa >= cut:
            return label
    return "unacceptable"


#: Kaiser's (1974) labels of the measure of sampling adequacy in Vietnamese (the English term
#: is printed beside them once: they are Kaiser's words, not a Vietnamese standard).
KAISER_LABELS_VI = {"marvelous": "rất tốt", "meritorious": "tốt", "middling": "khá",
                    "mediocre": "trung bình", "miserable": "kém",
                    "unacceptable": "không chấp nhận được"}


@dataclass(frozen=True, repr=False)
class KMOResult:
    """Kaiser-Meyer-Olkin measure of sampling adequacy (``psych::KMO``)."""

    overall: float
    per_item: pd.Series

    @property
    def label(self) -> str:
        return _kaiser_label(self.overall)

    def label_text(self, lang: str = "en") -> str:
        """Kaiser's (1974) label of the overall KMO: ``"meritorious"`` in English,
        ``"tốt (meritorious)"`` in Vietnamese (:data:`KAISER_LABELS_VI`).  Raises
        :class:`ModelError` for a ``lang`` other than ``"vi"``/``"en"``."""
        check_lang(lang)
        return self.label if lang == "en" else f"{KAISER_LABELS_VI[self.label]} ({self.label})"

    def flagged(self, threshold: float = 0.5) -> list[str]:
        """Items whose MSA is below ``threshold`` (Kaiser: below .5 unacceptable)."""
        return sorted(self.per_item.index[self.per_item < threshold])

    def summary(self) -> str:
        low = self.flagged()
        text = (f"KMO overall MSA = {self.overall:.3f} ({self.label}); item MSA "
                f"{self.per_item.min():.3f}-{self.per_item.max():.3f}")
        if low:
            text += "\n  items with MSA < .50 (consider dropping): " + ", ".join(low)
        return text

    def __repr__(self) -> str:
        return self.summary()


def kmo(items: pd.DataFrame) -> KMOResult:
    """Kaiser-Meyer-Olkin MSA, overall and per item, as ``psych::KMO(x)``.

    With R the (pairwise) correlation matrix and A the anti-image correlations from R^-1,
    ``MSA = sum r^2 / (sum r^2 + sum a^2)`` over off-diagonal cells (Kaiser 1970), per item over
    its column.  ``psych::KMO(items)`` gives the same to 1e-6 (tests).  Unlike psych, which
    falls back silently to R itself when R cannot be inverted, fewer respondents than items
    and a (numerically) singular correlation matrix raise a :class:`ModelError` naming the
    cause (n must exceed p; the collinear items).
    """
    r = correlation(items)
    rv = r.to_numpy()
    _require_n_above_p(len(items), rv.shape[0], "KMO")
    _require_positive_definite(rv, list(r.index), "KMO")
    if np.linalg.cond(rv) > 1e12:
        raise ModelError("the correlation matrix is singular (an item is a linear "
                         "combination of others); KMO is undefined")
    q = np.linalg.inv(rv)
    d = 1 / np.sqrt(np.diag(q))
    a = q * np.outer(d, d)
    np.fill_diagonal(a, 0.0)
    r0 = rv.copy()
    np.fill_diagonal(r0, 0.0)
    r2, a2 = (r0**2).sum(axis=0), (a**2).sum(axis=0)
    return KMOResult(overall=float(r2.sum() / (r2.sum() + a2.sum())),
                     per_item=pd.Series(r2 / (r2 + a2), index=r.index, name="msa"))


@dataclass(frozen=True, repr=False)
class BartlettResult:
    """Bartlett's (1951) test of sphericity."""

    statistic: float
    df: int
    p_value: float
    n_obs: int

    def summary(self) -> str:
        p = "< .001" if self.p_value < 0.001 else f"= {self.p_value:.3f}"
        return (f"Bartlett's test of sphericity: chi2({self.df}) = {self.statistic:.2f}, "
                f"p {p} (n = {self.n_obs})")

    def __repr__(self) -> str:
        return self.summary()


def bartlett(items: pd.DataFrame) -> BartlettResult:
    """Bartlett's test that the correlation matrix is an identity, as
    ``psych::cortest.bartlett(x)`` on raw data: ``chi2 = -ln|R| (n - 1 - (2p + 5)/6)``,
    ``df = p(p - 1)/2``, with n the number of rows and R the pairwise correlation matrix.
    Raises :class:`ModelError` when n <= p (R: NaN with "NaNs produced") or when R is not
    positive definite (naming the collinear items)."""
    rdf = correlation(items)
    r = rdf.to_numpy()
    n, p = len(items), r.shape[0]
    _require_n_above_p(n, p, "Bartlett's test")
    _require_positive_definite(r, list(rdf.index), "Bartlett's test")
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        raise ModelError("the correlation matrix is not positive definite; Bartlett's test "
                         "is undefined")
    stat = -logdet * (n - 1 - (2 * p + 5) / 6)
    df = p * (p - 1) // 2
    return BartlettResult(statistic=float(stat), df=int(df),
                          p_value=float(stats.chi2.sf(stat, df)), n_obs=int(n))


# --------------------------------------------------------------------------------------
# Rotations
# --------------------------------------------------------------------------------------

def varimax(loadings: np.ndarray, *, normalize: bool = True, eps: float = 1e-5,
            max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray, bool]:
    """Varimax with Kaiser normalisation, the algorithm of R's ``stats::varimax`` (which
    ``psych::fa(rotate = "varimax")`` calls).  Returns (loadings, rotation matrix, converged)."""
    x = np.asarray(loadings, dtype=float)
    p, nc = x.shape
    if nc < 2:
        return x.copy(), np.eye(nc), True
    sc = np.sqrt((x**2).sum(axis=1)) if normalize else np.ones(p)
    x = x / sc[:, None]
    tt = np.eye(nc)
    d = 0.0
    converged = False
    for _ in range(max_iter):
        z = x @ tt
        b = x.T @ (z**3 - z * ((z**2).sum(axis=0) / p))
        u, s, vt = np.linalg.svd(b)
        tt = u @ vt
        dpast, d = d, s.sum()
        if d < dpast * (1 + eps):
            converged = True
            break
    return (x @ tt) * sc[:, None], tt, converged


def promax(loadings: np.ndarray, *, m: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Promax as ``psych::fa(rotate = "promax")``: Kaiser row normalisation (``psych::kaiser``),
    then psych's ``Promax`` (varimax, target ``x |x|^(m-1)``, least-squares fit, column
    rescaling; Hendrickson & White 1964).  Returns (loadings, rotation matrix, Phi)."""
    f = np.asarray(loadings, dtype=float)
    h = np.sqrt((f**2).sum(axis=1))
    x0 = f / h[:, None]
    x, rot_v, _ = varimax(x0)
    q = x * np.abs(x) ** (m - 1)
    u = np.linalg.lstsq(x, q, rcond=None)[0]
    try:
        d = np.diag(np.linalg.inv(u.T @ u))
    except np.linalg.LinAlgError as exc:
        raise ModelError("promax: the factors are exactly uncorrelated (singular target)") from exc
    u = u * np.sqrt(d)
    z = x @ u
    u = rot_v @ u
    ui = np.linalg.inv(u)
    phi = ui @ ui.T
    return z * h[:, None], u, phi


def _vgq_oblimin(lam: np.ndarray, gam: float = 0.0):
    k = lam.shape[1]
    x = (lam**2) @ (1 - np.eye(k))
    if gam != 0:
        p = lam.shape[0]
        x = (np.eye(p) - gam / p) @ x
    return lam * x, float(np.sum(lam**2 * x) / 4)


def oblimin(loadings: np.ndarray, *, gam: float = 0.0, eps: float = 1e-5,
            max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Direct oblimin (quartimin for ``gam = 0``) by gradient projection, the algorithm of
    ``GPArotation::GPFoblq`` as ``GPArotation::oblimin`` calls it (``normalize = FALSE``,
    ``eps = 1e-5``, ``maxit = 1000``, start at the identity; Bernaards & Jennrich 2005).
    Returns (loadings, T, Phi = T'T, converged)."""
    a = np.asarray(loadings, dtype=float)
    k = a.shape[1]
    if k < 2:
        raise ModelError("rotation does not make sense for a single factor")
    tmat = np.eye(k)
    al = 1.0
    lam = a @ np.linalg.inv(tmat).T
    gq, f = _vgq_oblimin(lam, gam)
    g = -(lam.T @ gq @ np.linalg.inv(tmat)).T
    converged = False
    for _ in range(max_iter + 1):
        gp = g - tmat * np.sum(tmat * g, axis=0)
        s = np.sqrt(np.sum(gp**2))
        if s < eps:
            converged = True
            break
        al *= 2
        for _ in range(11):
            x = tmat - al * gp
            tt = x / np.sqrt(np.sum(x**2, axis=0))
            lam = a @ np.linalg.inv(tt).T
            gqt, ft = _vgq_oblimin(lam, gam)
            if f - ft > 0.5 * s**2 * al:
                break
            al /= 2
        tmat = tt
        f = ft
        g = -(lam.T @ gqt @ np.linalg.inv(tt)).T
    return lam, tmat, tmat.T @ tmat, converged


# --------------------------------------------------------------------------------------
# EFA
# --------------------------------------------------------------------------------------

_METHOD_PREFIX = {"minres": "MR", "pa": "PA", "ml": "ML"}


@dataclass(frozen=True, repr=False)
class EFAResult:
    """An exploratory factor solution (see :func:`efa`).

    ``loadings`` items x factors (pattern matrix for oblique rotations), ``communalities`` and
    ``uniquenesses`` (Series by item), ``phi`` the factor correlations (None when orthogonal),
    ``structure`` = loadings @ phi, ``variance`` psych's ``Vaccounted`` table, ``eigenvalues``
    of the correlation matrix, ``flags`` one row per problem found (item, issue, reason).
    """

    loadings: pd.DataFrame
    communalities: pd.Series
    uniquenesses: pd.Series
    phi: pd.DataFrame | None
    structure: pd.DataFrame
    variance: pd.DataFrame
    eigenvalues: pd.Series
    reduced_eigenvalues: pd.Series
    method: str
    rotation: str | None
    n_obs: int
    converged: bool
    iterations: int
    heywood: tuple[str, ...]
    flags: pd.DataFrame
    thresholds: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def n_factors(self) -> int:
        return self.loadings.shape[1]

    def table(self, blank: float | None = None) -> pd.DataFrame:
        """The loadings table as theses print it: items sorted by their main factor and then
        by loading size, loadings below ``blank`` (default: the ``blank`` argument of
        :func:`efa`, .30) left empty, communality ``h2`` and a ``note`` column with ``*`` for
        cross-loadings and ``!`` for weak items (reasons in ``flags``)."""
        blank = self.thresholds.get("blank", 0.30) if blank is None else blank
        lo = self.loadings
        main = lo.abs().idxmax(axis=1)
        order_cols = {c: i for i, c in enumerate(lo.columns)}
        key = pd.DataFrame({"f": main.map(order_cols), "size": -lo.abs().max(axis=1)})
        idx = key.sort_values(["f", "size"], kind="mergesort").index
        out = lo.loc[idx].astype(object)
        for c in out.columns:
            out[c] = [f"{v:.2f}" if abs(v) >= blank else "" for v in lo.loc[idx, c]]
        out["h2"] = [f"{v:.2f}" for v in self.communalities.loc[idx]]
        notes = []
        for item in idx:
            issues = set(self.flags.loc[self.flags["item"] == item, "issue"])
            mark = ""
            if "cross-loading" in issues:
                mark += "*"
            if issues & {"low loading", "Heywood case", "low communality"}:
                mark += "!"
            notes.append(mark)
        out["note"] = notes
        out.index.name = "item"
        return out

    def summary(self) -> str:
        rot = self.rotation or "none"
        lines = [f"EFA: {self.n_factors} factors, method {self.method}, rotation {rot}, "
                 f"n = {self.n_obs}" + ("" if self.converged else "  ** NOT CONVERGED **")]
        lines.append(self.table().to_string())
        lines.append(self.variance.round(3).to_string())
        if self.phi is not None:
            lines.append("Factor correlations:\n" + self.phi.round(2).to_string())
        if len(self.flags):
            lines.append("Flags:")
            lines += [f"  {r.item}: {r.issue} - {r.reason}" for r in self.flags.itertuples()]
        lines += [f"Note: {n}" for n in self.notes]
        blank = self.thresholds.get("blank", 0.30)
        lines.append(f"(loadings below {blank:.2f} blank; * cross-loading; ! weak item)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _flags(lo: pd.DataFrame, h2: pd.Series, heywood, *, min_loading, cross_loading,
           cross_gap, min_communality) -> pd.DataFrame:
    # each item's |loadings| in decreasing order, ties and NaN placed exactly as
    # ``Series.sort_values(ascending=False)`` places them (pandas' own nargsort), on arrays
    from pandas.core.sorting import nargsort

    rows = []
    lov = lo.to_numpy()
    a = np.abs(lov)
    cols = list(lo.columns)
    h2v = h2.reindex(lo.index).to_numpy()
    for k, item in enumerate(lo.index):
        order = nargsort(a[k], kind="quicksort", ascending=False, na_position="last")
        top, top_f = a[k, order[0]], cols[order[0]]
        h = h2v[k]
        if item in heywood:
            rows.append((item, "Heywood case",
                         f"communality {h:.3f} at or above 1 (uniqueness at its bound); "
                         "the solution is improper for this item"))
        if top < min_loading:
            rows.append((item, "low loading",
                         f"highest |loading| {top:.3f} (on {top_f}) below {min_loading:.2f}"))
        if len(order) > 1:
            second, second_f = a[k, order[1]], cols[order[1]]
            if second >= cross_loading and top - second < cross_gap:
                rows.append((item, "cross-loading",
                             f"loads {lov[k, order[0]]:.2f} on {top_f} and "
                             f"{lov[k, order[1]]:.2f} on {second_f} (both >= "
                             f"{cross_loading:.2f}, difference {top - second:.2f} < {cross_gap:.2f})"))
        if h < min_communality:
            rows.append((item, "low communality",
                         f"communality {h:.2f} below {min_communality:.2f}"))
    return pd.DataFrame(rows, columns=["item", "issue", "reason"])


def efa(items: pd.DataFrame, n_factors: int, method: str = "minres",
        rotation: str | None = "oblimin", *, min_loading: float = 0.50,
        cross_loading: float = 0.30, cross_gap: float = 0.20, min_communality: float = 0.20,
        blank: float = 0.30, _quiet: bool = False) -> EFAResult:
    """Exploratory factor analysis as ``psych::fa(x, nfactors, fm = method, rotate = rotation)``.

    Extraction (on the pairwise correlation matrix): ``"minres"`` (psych's default,
    unweighted least squares), ``"pa"`` (iterated principal axis from SMCs, min.err .001,
    50 iterations) or ``"ml"`` (maximum likelihood).  Rotation: ``"varimax"`` (stats::varimax,
    Kaiser-normalised), ``"promax"`` (psych: Kaiser-normalised Promax, m = 4), ``"oblimin"``
    (GPArotation::oblimin, psych's default) or ``None``.  Factors are signed so that column
    sums are positive and ordered by variance accounted for, as psych does.  The tests match
    psych's loadings, communalities and factor correlations to 2e-3 on bfi and
    HolzingerSwineford1939 for all 12 method x rotation pairs.

    Problems are reported loudly: non-convergence (optimiser, principal-axis iterations or
    rotation) and Heywood cases raise a :class:`UserWarning` and set ``converged``/``heywood``;
    items whose highest loading is below ``min_loading``, cross-loadings (second loading >=
    ``cross_loading`` and within ``cross_gap`` of the first) and communalities below
    ``min_communality`` are listed in ``flags`` with the reason.

    >>> # fit = efa(items, 5, method="ml", rotation="promax"); print(fit.summary())
    """
    df = as_items(items, min_items=3)
    if not isinstance(n_factors, int | np.integer) or n_factors < 1:
        raise ModelError(f"n_factors must be a positive integer, got {n_factors!r}")
    p = df.shape[1]
    if n_factors >= p:
        raise ModelError(f"{n_factors} factors cannot be extracted from {p} items")
    if method not in _METHOD_PREFIX:
        raise ModelError(f"method must be one of {sorted(_METHOD_PREFIX)}, got {method!r}")
    if rotation in ("none", "None"):
        rotation = None
    if rotation not in (None, "varimax", "promax", "oblimin"):
        raise ModelError(f"rotation must be 'varimax', 'promax', 'oblimin' or None, "
                         f"got {rotation!r}")
    r = correlation(df).to_numpy()
    n_obs = len(df)
    nf = int(n_factors)
    notes: list[str] = []
    if n_obs <= p and method != "ml":
        notes.append(f"fewer respondents ({n_obs}) than items ({p}): the correlation matrix is "
                     f"singular (rank at most {n_obs - 1}); SMCs from psych's pseudo-inverse")
        if not _quiet:
            warnings.warn(f"EFA ({method}): {notes[-1]}", UserWarning, stacklevel=2)
    if method == "ml":
        # psych stops inside optim ("L-BFGS-B needs finite values of 'fn'") or returns an
        # improper solution silently; the likelihood needs a positive definite R.
        _require_n_above_p(n_obs, p, "maximum-likelihood factor analysis")
        _require_positive_definite(r, list(df.columns), "maximum-likelihood factor analysis "
                                   "(use method='minres' or 'pa', which psych runs on such data)")

    if method == "pa":
        ext: Extraction = fit_pa(r, nf)
    else:
        ext = fit_optim(r, nf, method)
    lam = ext.loadings
    sign = np.sign(lam.sum(axis=0))
    sign[sign == 0] = 1
    lam = lam * sign
    model = lam @ lam.T
    comm = np.diag(model).copy()
    converged = ext.converged
    if not converged:
        notes.append(f"extraction did not converge: {ext.message}")

    phi = None
    rot_ok = True
    if rotation is not None and nf > 1:
        if rotation == "varimax":
            lam, _, rot_ok = varimax(lam)
        elif rotation == "promax":
            lam, _, phi = promax(lam)
        else:
            lam, _, phi, rot_ok = oblimin(lam)
        if not rot_ok:
            notes.append(f"{rotation} rotation did not converge")
    elif rotation is not None:
        notes.append("one factor: rotation not applicable")
    sign = np.sign(lam.sum(axis=0))
    sign[sign == 0] = 1
    lam = lam * sign
    if phi is not None:
        phi = phi * np.outer(sign, sign)
    if nf > 1:
        ev = np.diag(phi @ lam.T @ lam) if phi is not None else np.sum(lam**2, axis=0)
        order = np.argsort(-ev, kind="stable")
        lam = lam[:, order]
        if phi is not None:
            phi = phi[np.ix_(order, order)]

    names = list(df.columns)
    cols = [f"{_METHOD_PREFIX[method]}{i + 1}" for i in range(nf)]
    lo = pd.DataFrame(lam, index=names, columns=cols)
    h2 = pd.Series(comm, index=names, name="h2")
    u2 = pd.Series(np.diag(r) - comm, index=names, name="u2")
    phi_df = pd.DataFrame(phi, index=cols, columns=cols) if phi is not None else None
    structure = lo @ phi_df if phi_df is not None else lo.copy()

    vx = np.diag(phi @ lam.T @ lam) if phi is not None else np.sum(lam**2, axis=0)
    vtotal = float(np.sum(comm + u2.to_numpy()))
    var = {"SS loadings": vx, "Proportion Var": vx / vtotal}
    if nf > 1:
        var["Cumulative Var"] = np.cumsum(vx / vtotal)
        var["Proportion Explained"] = vx / vx.sum()
        var["Cumulative Proportion"] = np.cumsum(vx / vx.sum())
    variance = pd.DataFrame(var, index=cols).T

    e_vals = eigh_desc(r)[0]
    red = r.copy()
    np.fill_diagonal(red, comm)
    red_vals = ext.values if (method == "pa" and ext.values is not None) else eigh_desc(red)[0]

    heywood = tuple(n for n, h in zip(names, comm, strict=True) if h >= 0.995 - 1e-6)
    if ext.psi is not None:
        heywood = tuple(sorted(set(heywood) | {n for n, s in zip(names, ext.psi, strict=True)
                                               if s <= 0.005 + 1e-6}))
    if heywood:
        notes.append("Heywood case(s): " + ", ".join(heywood))
    flags = _flags(lo, h2, heywood, min_loading=min_loading, cross_loading=cross_loading,
                   cross_gap=cross_gap, min_communality=min_communality)
    if not _quiet:
        if not (converged and rot_ok):
            warnings.warn(f"EFA ({method}, {rotation}, {nf} factors) did NOT converge: "
                          + "; ".join(notes), UserWarning, stacklevel=2)
        if heywood:
            warnings.warn(f"EFA ({method}, {nf} factors): Heywood case(s) {list(heywood)} - "
                          "communality at 1; the solution is improper", UserWarning, stacklevel=2)
    return EFAResult(
        loadings=lo, communalities=h2, uniquenesses=u2, phi=phi_df, structure=structure,
        variance=variance, eigenvalues=pd.Series(e_vals, index=range(1, p + 1), name="eigenvalue"),
        reduced_eigenvalues=pd.Series(red_vals, index=range(1, p + 1), name="reduced"),
        method=method, rotation=rotation, n_obs=n_obs, converged=bool(converged and rot_ok),
        iterations=ext.iterations, heywood=heywood, flags=flags,
        thresholds={"min_loading": min_loading, "cross_loading": cross_loading,
                    "cross_gap": cross_gap, "min_communality": min_communality, "blank": blank},
        notes=tuple(notes))


# --------------------------------------------------------------------------------------
# Parallel analysis
# --------------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class ParallelResult:
    """Horn's parallel analysis as ``psych::fa.parallel`` (see :func:`parallel_analysis`).

    ``eigenvalues`` has one row per factor/component number with the observed component
    (``pc_observed``) and factor (``fa_observed``) eigenvalues, the mean and ``quantile`` of
    the simulated-normal ones (``pc_sim_mean``, ``pc_sim_q``, ``fa_sim_mean``, ``fa_sim_q``)
    and of the resampled data (``pc_resample_mean``, ``fa_resample_mean``).
    """

    n_factors: int
    n_components: int
    n_kaiser: int
    eigenvalues: pd.DataFrame
    n_iter: int
    quantile: float
    n_obs: int

    def summary(self) -> str:
        return (f"Parallel analysis ({self.n_iter} iterations, {self.quantile:.0%} quantile of "
                f"simulated eigenvalues, n = {self.n_obs}) suggests {self.n_factors} factors and "
                f"{self.n_components} components; the eigenvalue > 1 rule gives {self.n_kaiser}.")

    def __repr__(self) -> str:
        return self.summary()


def _count_above(observed: np.ndarray, reference: np.ndarray) -> int:
    """psych: ``which(!(observed > reference))[1] - 1``."""
    below = np.nonzero(~(observed > reference))[0]
    return int(below[0]) if below.size else len(observed)


#: matrix cells (B * p * p) fitted in one batch by parallel analysis (~32 MB of float64)
_PA_FIT_CELLS = 4_000_000


@_resultcache.kept(seeds=("seed",))
def parallel_analysis(items: pd.DataFrame, n_iter: int = 100, seed: int | None = None, *,
                      quantile: float = 0.95, show_progress: bool | None = None) -> ParallelResult:
    """Horn's (1965) parallel analysis as ``psych::fa.parallel(x)`` (fm = "minres",
    fa = "both", SMC = FALSE, quant = .95, sim = TRUE).

    Observed eigenvalues: components from the pairwise correlation matrix R; factors from the
    reduced matrix of a one-factor minres fit (psych's ``fa(R, 1)$values``).  Each iteration
    draws (a) a normal data set of the same size (simulation) and (b) a resample of every
    column independently (resampling), and computes both kinds of eigenvalues.  The suggested
    numbers are the count of leading observed eigenvalues above the ``quantile`` (psych's
    default .95) of the *simulated* ones, exactly psych's rule; the resampled means are
    reported alongside.  All iterations are computed at once (batched ``eigh``).
    The eigenvalue-greater-than-1 count (Kaiser) is given for comparison.

    With fewer respondents than items (n <= p) the analysis runs as psych's does: normal data
    are drawn (no Wishart shortcut) and the SMCs come from psych's pseudo-inverse.  A pair of
    items whose pairwise correlation is undefined is a :class:`ModelError` (see
    :func:`correlation`); resamples that make a pair undefined are redrawn, as psych does.
    """
    df = as_items(items, min_items=3)
    if int(n_iter) != n_iter or n_iter < 2:
        raise ModelError(f"n_iter must be an integer >= 2, got {n_iter!r}")
    if not 0 < quantile < 1:
        raise ModelError(f"quantile must be between 0 and 1, got {quantile!r}")
    x = df.to_numpy()
    n, p = x.shape
    r = correlation(df).to_numpy()
    pc_obs = eigh_desc(r)[0]
    f1 = fit_optim(r, 1, "minres")
    red = r.copy()
    np.fill_diagonal(red, (f1.loadings**2).sum(axis=1))
    fa_obs = eigh_desc(red)[0]

    rng = np.random.default_rng(seed)
    singular = n <= p  # fewer respondents than items: rank-deficient matrices, as in psych
    chunk = int(max(1, min(n_iter, 50)))
    sim_pc, res_pc, pending, fas = [], [], [], []
    # The minres fits of many chunks run as one batch (up to _PA_FIT_CELLS matrix cells):
    # its iterations cost the same Python overhead whatever the batch size, and each
    # matrix's arithmetic does not depend on the others in the batch (same values).
    fit_every = max(1, _PA_FIT_CELLS // (2 * chunk * p * p))
    starts = range(0, int(n_iter), chunk)
    for i, start in enumerate(progress(starts, total=len(starts), desc="parallel analysis",
                                       show=show_progress)):
        b = min(chunk, int(n_iter) - start)
        both = np.concatenate([wishart_correlations(b, n, p, rng),
                               resampled_correlations(x, b, rng)])
        pcs = np.linalg.eigvalsh(both)[:, ::-1]
        sim_pc.append(pcs[:b])
        res_pc.append(pcs[b:])
        pending.append(both)
        if len(pending) == fit_every or i == len(starts) - 1:
            fas.append(minres_one_factor_batch(np.concatenate(pending), singular=singular))
            pending = []
    # chunk k's fits are rows [offset, offset + 2 b) of the fitted stack: b simulated, b resampled
    fas = np.concatenate(fas)
    sizes = [len(s) for s in sim_pc]
    ends = np.cumsum([2 * b for b in sizes])
    sim_fa = np.concatenate([fas[e - 2 * b:e - b] for b, e in zip(sizes, ends, strict=True)])
    res_fa = np.concatenate([fas[e - b:e] for b, e in zip(sizes, ends, strict=True)])
    sim_pc, res_pc = np.concatenate(sim_pc), np.concatenate(res_pc)
    # psych: quantile(x, quant) is R's type 7 = numpy's "linear"
    pc_q = np.quantile(sim_pc, quantile, axis=0)
    fa_q = np.quantile(sim_fa, quantile, axis=0)
    table = pd.DataFrame({
        "pc_observed": pc_obs, "fa_observed": fa_obs,
        "pc_sim_mean": sim_pc.mean(axis=0), "pc_sim_q": pc_q,
        "fa_sim_mean": sim_fa.mean(axis=0), "fa_sim_q": fa_q,
        "pc_resample_mean": res_pc.mean(axis=0), "fa_resample_mean": res_fa.mean(axis=0),
    }, index=pd.RangeIndex(1, p + 1, name="number"))
    return ParallelResult(n_factors=_count_above(fa_obs, fa_q),
                          n_components=_count_above(pc_obs, pc_q),
                          n_kaiser=int(np.sum(pc_obs > 1)), eigenvalues=table,
                          n_iter=int(n_iter), quantile=quantile, n_obs=n)


@_resultcache.kept(figure=True)
def scree_figure(result: ParallelResult, ax=None):
    """Scree plot of observed vs simulated eigenvalues with the eigenvalue-1 line (a new
    figure is 5.9 × 4.0 in: it fits the thesis' text width at its natural size)."""
    import matplotlib.pyplot as plt

    from hlstudy.export import tr

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.9, 4.0))
    else:
        fig = ax.figure
    t = result.eigenvalues
    q = f"{result.quantile:.0%}"
    ax.plot(t.index, t["pc_observed"], "o-", color="C0",
            label=tr("Thành phần chính (quan sát)", "Components (observed)"))
    ax.plot(t.index, t["pc_sim_q"], "--", color="C0",
            label=tr(f"Thành phần chính (mô phỏng, phân vị {q})",
                     f"Components (simulated, {q} quantile)"))
    ax.plot(t.index, t["fa_observed"], "^-", color="C1",
            label=tr("Nhân tố (quan sát)", "Factors (observed)"))
    ax.plot(t.index, t["fa_sim_q"], "--", color="C1",
            label=tr(f"Nhân tố (mô phỏng, phân vị {q})", f"Factors (simulated, {q} quantile)"))
    ax.axhline(1.0, color="grey", lw=1, ls=":", label=tr("Giá trị riêng = 1 (Kaiser)",
                                                         "Eigenvalue = 1 (Kaiser)"))
    ax.set_xlabel(tr("Số thứ tự nhân tố / thành phần", "Factor / component number"))
    ax.set_ylabel(tr("Giá trị riêng", "Eigenvalue"))
    ax.legend(frameon=False, fontsize=8)
    return fig


# --------------------------------------------------------------------------------------
# Common-method bias, distributions, multivariate normality
# --------------------------------------------------------------------------------------

@dataclass(frozen=True, repr=False)
class HarmanResult:
    """Harman's single-factor test (Podsakoff et al. 2003)."""

    pc_share: float
    fa_share: float
    threshold: float
    n_items: int

    @property
    def flagged(self) -> bool:
        return self.pc_share > self.threshold

    def summary(self) -> str:
        verdict = ("exceeds" if self.flagged else "is below")
        return (f"Harman's single-factor test ({self.n_items} items): the first unrotated "
                f"component explains {self.pc_share:.1%} of the variance (one-factor minres: "
                f"{self.fa_share:.1%}), which {verdict} {self.threshold:.0%}"
                + (" - common-method variance is a concern." if self.flagged else "."))

    def __repr__(self) -> str:
        return self.summary()


def harman_test(items: pd.DataFrame, threshold: float = 0.5) -> HarmanResult:
    """Harman's single-factor test: share of the total variance of all items explained by the
    first unrotated principal component (``eigen(cor(x))$values[1] / p``) and by a one-factor
    minres solution (``fa(x, 1, rotate = "none")$Vaccounted[2, 1]``); above ``threshold`` (50%)
    signals common-method variance.  A weak test on its own: use it with the CFA comparison of
    a common latent factor."""
    if not 0 < threshold < 1:
        raise ModelError(f"threshold must be a share of variance between 0 and 1, got {threshold!r}")
    df = as_items(items, min_items=3)
    r = correlation(df).to_numpy()
    pc = eigh_desc(r)[0][0] / r.shape[0]
    f1 = efa(df, 1, method="minres", rotation=None, _quiet=True)
    return HarmanResult(pc_share=float(pc), fa_share=float(f1.variance.iloc[1, 0]),
                        threshold=threshold, n_items=r.shape[0])


def item_distributions(items: pd.DataFrame, *, scale_min: float | None = None,
                       scale_max: float | None = None, floor_ceiling: float | None = 0.15,
                       max_abs_skew: float = 2.0, max_abs_kurtosis: float = 7.0) -> pd.DataFrame:
    """Distribution checks per column: n, mean, sd, skew and excess kurtosis (type 3, as
    ``psych::describe``), the share of values at the scale floor and ceiling, and a ``flag``
    with the reason when |skew| > 2 or |kurtosis| > 7 (West, Finch & Curran 1995) or more than
    ``floor_ceiling`` (15%) sit at an end of the scale (floor/ceiling effect, Terwee et al.
    2007).  Terwee's criterion is meant for scale scores; single five-point items put more
    than 15% at an end routinely, so pass ``floor_ceiling=None`` to report the shares of items
    without flagging them.  The scale ends default to the observed minimum and maximum."""
    df = as_items(items, min_items=1)
    x = df.to_numpy()
    lo = np.nanmin(x) if scale_min is None else scale_min
    hi = np.nanmax(x) if scale_max is None else scale_max
    answered = np.sum(~np.isnan(x), axis=0)
    out = pd.DataFrame({
        "n": answered, "mean": np.nanmean(x, axis=0), "sd": np.nanstd(x, axis=0, ddof=1),
        "skew": psych_skew(x), "kurtosis": psych_kurtosis(x),
        "floor": np.sum(x == lo, axis=0) / answered, "ceiling": np.sum(x == hi, axis=0) / answered,
    }, index=pd.Index(df.columns, name="item"))
    reasons = []
    for row in out.itertuples():
        why = []
        if abs(row.skew) > max_abs_skew:
            why.append(f"|skew| {abs(row.skew):.2f} > {max_abs_skew:g}")
        if abs(row.kurtosis) > max_abs_kurtosis:
            why.append(f"|kurtosis| {abs(row.kurtosis):.2f} > {max_abs_kurtosis:g}")
        if floor_ceiling is not None and row.floor > floor_ceiling:
            why.append(f"floor {row.floor:.0%} > {floor_ceiling:.0%}")
        if floor_ceiling is not None and row.ceiling > floor_ceiling:
            why.append(f"ceiling {row.ceiling:.0%} > {floor_ceiling:.0%}")
        reasons.append("; ".join(why))
    out["flag"] = reasons
    return out


@dataclass(frozen=True, repr=False)
class MardiaResult:
    """Mardia's (1970) multivariate skewness and kurtosis (``psych::mardia``)."""

    n_obs: int
    n_var: int
    b1p: float
    b2p: float
    skew: float
    small_skew: float
    p_skew: float
    p_small: float
    kurtosis: float
    p_kurt: float

    @property
    def normal(self) -> bool:
        return self.p_skew >= 0.05 and self.p_kurt >= 0.05

    def summary(self) -> str:
        from hlstudy.export import p_text

        return (f"Mardia (n = {self.n_obs} complete cases, {self.n_var} variables): "
                f"skewness b1p = {self.b1p:.2f}, chi2 = {self.skew:.1f}, "
                f"p {p_text(self.p_skew, lang='en')}; "
                f"kurtosis b2p = {self.b2p:.2f}, z = {self.kurtosis:.2f}, "
                f"p {p_text(self.p_kurt, lang='en')}"
                + ("" if self.normal else " -> multivariate normality rejected; prefer robust "
                   "(MLR) estimation or bootstrap in the CFA"))

    def __repr__(self) -> str:
        return self.summary()


def mardia(items: pd.DataFrame) -> MardiaResult:
    """Mardia's multivariate skewness and kurtosis as ``psych::mardia(x)`` on complete cases:
    ``b1p = sum(D^3)/n^2``, ``b2p = tr(D^2)/n`` with D the Mahalanobis cross-products (S with
    n - 1), skew = n b1p / 6 ~ chi2(p(p+1)(p+2)/6), small-sample corrected skew, and
    kurtosis z = (b2p - p(p+2)) sqrt(n / (8p(p+2))).  D is accumulated in blocks, so large
    samples need no n x n matrix."""
    df = as_items(items, min_items=2).dropna()
    n, p = df.shape
    if n <= p:
        raise ModelError(f"Mardia's test needs more complete cases ({n}) than variables ({p})")
    x = df.to_numpy()
    x = x - x.mean(axis=0)
    s_inv = np.linalg.inv(np.cov(x, rowvar=False))
    xs = x @ s_inv
    b1 = 0.0
    diag = np.einsum("ij,ij->i", xs, x)
    # blocks of ~2**19 cells (4 MB) stay in cache; d * d * d, not d**3 (pow is ~10x slower)
    block = max(1, int(2**19 // n))
    for i in range(0, n, block):
        d = xs[i:i + block] @ x.T
        b1 += float(np.sum(d * d * d))
    b1p = b1 / n**2
    b2p = float(np.sum(diag**2) / n)
    chi_df = p * (p + 1) * (p + 2) / 6
    k = (p + 1) * (n + 1) * (n + 3) / (n * ((n + 1) * (p + 1) - 6))
    small = n * k * b1p / 6
    skew = n * b1p / 6
    kurt = (b2p - p * (p + 2)) * np.sqrt(n / (8 * p * (p + 2)))
    return MardiaResult(n_obs=n, n_var=p, b1p=b1p, b2p=b2p, skew=skew, small_skew=small,
                        p_skew=float(stats.chi2.sf(skew, chi_df)),
                        p_small=float(stats.chi2.sf(small, chi_df)), kurtosis=float(kurt),
                        p_kurt=float(2 * stats.norm.sf(abs(kurt))))
