"""Convergent and discriminant validity: CR, AVE, Fornell-Larcker, HTMT.

* :func:`composite_reliability` and :func:`average_variance_extracted` use the
  standardized loadings (``std.all``) of a :class:`~hlstudy.cfa.CFAResult` (listwise ML)
  or of a :class:`~hlstudy.sem.SEMResult` of the same measurement model, e.g. the FIML fit
  of :func:`cfa_fiml` (lavaan ``missing = "ml"``), read as lavaan's
  ``standardizedSolution`` gives them (Fornell & Larcker 1981; Hair et al. 2019):
  CR = (sum l)^2 / ((sum l)^2 + sum(1 - l^2)),  AVE = mean(l^2).
* :func:`fornell_larcker`: sqrt(AVE) on the diagonal, latent correlations below.
* :func:`validity_fit`: the fit they are read from (listwise when there are more complete
  answers than items, else FIML), :func:`fit_basis` the sentence a table note says it with.
* :func:`htmt`: heterotrait-monotrait ratio, as ``semTools::htmt`` (0.5-6) with
  its defaults ``absolute = TRUE, htmt2 = TRUE`` (geometric means of absolute
  Pearson correlations; Roemer, Schuberth & Henseler 2021), listwise deletion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hlstudy.cfa.core import CFAResult, ave_from_loadings, cr_from_loadings, model_items
from hlstudy.errors import ModelError, check_lang


def _is_sem(result) -> bool:
    from hlstudy.sem import SEMResult

    return isinstance(result, SEMResult)


def _sem_measurement(result, group) -> tuple[list[str], pd.Series, pd.DataFrame]:
    """The factors, standardized loadings (``std.all``, index ``factor, item``) and latent
    correlations of a :class:`~hlstudy.sem.SEMResult` (single group)."""
    if group is not None:
        raise ModelError("group= given but the SEM fit has a single group")
    pe = result.parameter_estimates()
    load = pe[pe["op"] == "=~"]
    if load.empty:
        raise ModelError("the SEM fit has no measurement (=~) rows: no CR, AVE or "
                         "Fornell-Larcker to compute")
    factors = list(dict.fromkeys(load["lhs"]))
    lam = pd.Series(load["std.all"].to_numpy(float),
                    index=pd.MultiIndex.from_arrays([load["lhs"], load["rhs"]],
                                                    names=["factor", "item"]),
                    name="std_all")
    phi = pd.DataFrame(np.eye(len(factors)), index=factors, columns=factors)
    cov = pe[(pe["op"] == "~~") & pe["lhs"].isin(factors) & pe["rhs"].isin(factors)
             & (pe["lhs"] != pe["rhs"])]
    for a, b, v in zip(cov["lhs"], cov["rhs"], cov["std.all"].astype(float), strict=True):
        phi.loc[a, b] = phi.loc[b, a] = v
    return factors, lam, phi


def _measurement(result, group) -> tuple[list[str], pd.Series, pd.DataFrame]:
    """``(factors, standardized loadings, latent correlations)`` of a CFA fit."""
    if _is_sem(result):
        return _sem_measurement(result, group)
    lam = _loadings(result, group)
    return list(result.model), lam, (result.phi if result.groups is None
                                     else result.phi[group])


def _check_result(result) -> None:
    if not isinstance(result, CFAResult):
        raise ModelError("expected a CFAResult from hlstudy.cfa.cfa or a SEMResult from "
                         f"hlstudy.sem.sem, got {type(result).__name__}")


def _loadings(result: CFAResult, group) -> pd.Series:
    if _is_sem(result):
        return _sem_measurement(result, group)[1]
    _check_result(result)
    lam = result.std_loadings
    if result.groups is None:
        if group is not None:
            raise ModelError("group= given but the CFA has a single group")
        return lam
    if group is None:
        raise ModelError(f"multi-group CFA: choose a group with group=, one of {result.groups}")
    if group not in result.groups:
        raise ModelError(f"group {group!r} not in the CFA's groups {result.groups}")
    return lam.xs(group, level="group")


def standardized_loadings(result, *, group=None) -> pd.Series:
    """The standardized loadings (``std.all``, index ``factor, item``) of a
    :class:`CFAResult` (its ``std_loadings``) or of a :class:`~hlstudy.sem.SEMResult`
    (its ``=~`` rows), the numbers CR and AVE are computed from."""
    return _loadings(result, group)


def composite_reliability(result, *, group=None) -> pd.Series:
    """Composite (construct) reliability per factor from standardized loadings.

    CR = (sum l)^2 / ((sum l)^2 + sum(1 - l^2))  (Fornell & Larcker 1981;
    Raykov's rho with standardized loadings).  Thesis rule of thumb: CR >= .70 (Hair et al.
    2019; Nunnally & Bernstein 1994 for reliability in general).

    Example
    -------
    >>> composite_reliability(cfa(hs, model))          # doctest: +SKIP
    visual     0.610 ...

    R equivalent: with ``l <- standardizedSolution(fit)`` restricted to ``op == "=~"``,
    ``tapply(l$est.std, l$lhs, function(x) sum(x)^2 / (sum(x)^2 + sum(1 - x^2)))``.
    ``result``: a :class:`CFAResult` or a :class:`~hlstudy.sem.SEMResult` (e.g. FIML:
    :func:`cfa_fiml`), whose ``std.all`` loadings are lavaan's for the same fit.
    """
    factors, lam, _ = _measurement(result, group)
    out = {f: cr_from_loadings(lam.xs(f, level="factor")) for f in factors}
    return pd.Series(out, name="CR").rename_axis("factor")


def average_variance_extracted(result, *, group=None) -> pd.Series:
    """Average variance extracted per factor: mean of squared standardized loadings.

    AVE = mean(l^2) (Fornell & Larcker 1981).  Rule of thumb: AVE >= .50.
    R equivalent: ``tapply(l$est.std^2, l$lhs, mean)`` on the ``=~`` rows of
    ``standardizedSolution(fit)``; ``result`` as :func:`composite_reliability`.
    """
    factors, lam, _ = _measurement(result, group)
    out = {f: ave_from_loadings(lam.xs(f, level="factor")) for f in factors}
    return pd.Series(out, name="AVE").rename_axis("factor")


def fornell_larcker(result, *, group=None) -> pd.DataFrame:
    """Fornell-Larcker table: sqrt(AVE) on the diagonal, latent correlations below it.

    The upper triangle is NaN (blank in a thesis).  Discriminant validity holds
    for a factor when its sqrt(AVE) exceeds its correlations with every other
    factor (Fornell & Larcker 1981); :func:`fornell_larcker_met` checks that.  ``result`` as
    :func:`composite_reliability`; a SEM fit must be a measurement model (no regression,
    whose latent covariances would be residual ones).
    """
    _no_regression(result)
    ave = average_variance_extracted(result, group=group)
    factors, _, phi = _measurement(result, group)
    tab = phi.loc[factors, factors].copy().astype(float)
    n = len(factors)
    for a in range(n):
        for b in range(n):
            if b > a:
                tab.iloc[a, b] = np.nan
        tab.iloc[a, a] = np.sqrt(ave[factors[a]])
    tab.index.name = "factor"
    return tab


def _no_regression(result) -> None:
    if _is_sem(result):
        pe = result.parameter_estimates()
        if (pe["op"] == "~").any():
            raise ModelError("Fornell-Larcker needs a measurement model: the SEM fit has "
                             "regressions (~), so its latent covariances are residual ones")


def fornell_larcker_met(result, *, group=None) -> pd.Series:
    """Per factor: is sqrt(AVE) larger than every |correlation| with another factor?"""
    tab = fornell_larcker(result, group=group)
    phi = _measurement(result, group)[2]
    out = {}
    for f in tab.index:
        others = phi.loc[f].drop(f).abs()
        out[f] = bool(tab.loc[f, f] > others.max()) if len(others) else True
    return pd.Series(out, name="fornell_larcker_met")


def cfa_fiml(data: pd.DataFrame, model: Mapping[str, Sequence[str]], *,
             estimator: str = "MLR"):
    """The CFA of ``model`` (``{factor: [items]}``) by FIML with MLR, as
    ``lavaan::cfa(model, data, missing = "ml", estimator = "MLR")``: every respondent who
    answers at least one item is used (:func:`hlstudy.sem.sem`, ``missing="ml"``).
    Notebook 03's re-estimation of the officials' measurement model; CR, AVE and
    Fornell-Larcker read its standardized loadings when the listwise CFA has too few
    complete answers (:func:`validity_fit`).  Returns a :class:`~hlstudy.sem.SEMResult`.

    Raises :class:`~hlstudy.errors.ModelError` for items ``data`` lacks, an empty model, or
    a fit that cannot be estimated (e.g. a singular covariance matrix).

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(200, 2))
    >>> d = pd.DataFrame({f"x{i}": f[:, i // 3] + rng.normal(scale=0.7, size=200)
    ...                   for i in range(6)})
    >>> d.iloc[::7, 0] = np.nan
    >>> fit = cfa_fiml(d, {"A": ["x0", "x1", "x2"], "B": ["x3", "x4", "x5"]})
    >>> fit.missing, fit.nobs
    ('ml', 200)
    """
    from hlstudy.sem import sem

    model, items = model_items(data, model)
    syntax = "\n".join(f"{k} =~ " + " + ".join(v) for k, v in model.items())
    return sem(data[items], syntax, missing="ml", estimator=estimator)


def listwise_fits(data: pd.DataFrame, model: Mapping[str, Sequence[str]]) -> bool:
    """Do more respondents answer every item of ``model`` than it has items?  The condition
    of ML on complete answers (lavaan's default ``missing = "listwise"``: the CFA, Mardia's
    test); otherwise :func:`validity_fit` reads CR and AVE from the FIML fit.

    >>> d = pd.DataFrame({"a": [1, 2, 3], "b": [2, None, 4]})
    >>> listwise_fits(d, {"F": ["a", "b"]}), listwise_fits(d.head(2), {"F": ["a", "b"]})
    (False, False)
    >>> listwise_fits(pd.concat([d] * 2), {"F": ["a", "b"]})
    True

    Raises :class:`~hlstudy.errors.ModelError` for items ``data`` lacks.
    """
    model, items = model_items(data, model)
    return int(data[items].dropna().shape[0]) > len(items)


def validity_fit(data: pd.DataFrame, model: Mapping[str, Sequence[str]]):
    """The fit CR, AVE and Fornell-Larcker are read from, as notebooks 03 and 04 choose it:
    the listwise ML CFA (:func:`hlstudy.cfa.cfa`) when more respondents answer every item
    than there are items (:func:`listwise_fits`), else -- as many complete answers as items
    or fewer -- the FIML fit (:func:`cfa_fiml`), which keeps every respondent (in the
    README's officials-only rehearsal, 101 officials, 50 answer all 58 items:
    docs/measurement.md).  Say which in the table's note: :func:`fit_basis`.

    Raises :class:`~hlstudy.errors.ModelError` as :func:`hlstudy.cfa.cfa` and
    :func:`cfa_fiml` do (items ``data`` lacks, a fit that cannot be estimated).

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(200, 2))
    >>> d = pd.DataFrame({f"x{i}": f[:, i // 3] + rng.normal(scale=0.7, size=200)
    ...                   for i in range(6)})
    >>> model = {"A": ["x0", "x1", "x2"], "B": ["x3", "x4", "x5"]}
    >>> type(validity_fit(d, model)).__name__
    'CFAResult'
    >>> for i in range(6):   # every respondent skips one item: no complete answer
    ...     d.iloc[i::6, i] = np.nan
    >>> type(validity_fit(d, model)).__name__
    'SEMResult'
    """
    from hlstudy.cfa.core import cfa

    if listwise_fits(data, model):
        return cfa(data, model)
    return cfa_fiml(data, model)


def fit_basis(result, lang: str = "vi") -> str:
    """Which fit CR and AVE come from, for a table's note (Vietnamese or English): the
    listwise CFA with its complete answers, or the FIML fit with the respondents it used.

    Raises :class:`~hlstudy.errors.ModelError` for a ``lang`` other than ``"vi"`` and
    ``"en"`` or a ``result`` that is neither a :class:`~hlstudy.cfa.CFAResult` nor a
    :class:`~hlstudy.sem.SEMResult`.

    >>> fit_basis("x")
    Traceback (most recent call last):
    ...
    hlstudy.errors.ModelError: expected a CFAResult from hlstudy.cfa.cfa or a SEMResult from hlstudy.sem.sem, got str
    """
    check_lang(lang)
    if _is_sem(result):
        n, dropped = result.nobs, result.n_dropped
        if result.missing == "ml":
            return (f'Hệ số tải chuẩn hóa của CFA FIML (lavaan missing = "ml") trên {n} phiếu '
                    f"({dropped} phiếu không trả lời câu nào bị loại)." if lang == "vi" else
                    f'Standardized loadings of the FIML CFA (lavaan missing = "ml") on {n} '
                    f"responses ({dropped} answering no item dropped).")
        return (f"Hệ số tải chuẩn hóa của CFA ML trên {n} phiếu ({dropped} phiếu bị loại)."
                if lang == "vi" else
                f"Standardized loadings of the ML CFA on {n} responses ({dropped} dropped).")
    _check_result(result)
    n, dropped = result.n_obs, result.n_dropped
    if lang == "vi":
        return (f"Hệ số tải chuẩn hóa của CFA ML loại theo danh sách, trên {n} phiếu trả lời đủ "
                f"mọi câu ({dropped} phiếu thiếu ít nhất một câu không được dùng).")
    return (f"Standardized loadings of the listwise ML CFA on the {n} responses that answer "
            f"every item ({dropped} with a missing item not used).")


def htmt(
    data: pd.DataFrame,
    model: Mapping[str, Sequence[str]],
    *,
    geometric: bool = True,
    absolute: bool = True,
) -> pd.DataFrame:
    """Heterotrait-monotrait ratio of correlations (HTMT: Henseler, Ringle & Sarstedt 2015;
    by default its HTMT2 form, Roemer, Schuberth & Henseler 2021).

    HTMT_ij = m(|r| between the items of i and j) / sqrt(m(|r| within i) * m(|r| within j)),
    where m is the geometric mean (``geometric=True``, HTMT2 of Roemer et al. 2021,
    the default of semTools 0.5-6) or the arithmetic mean (``geometric=False``, the
    original HTMT).  Within-construct means exclude the diagonal.  Correlations are
    Pearson on the complete rows of the model's items.  ``absolute=False`` keeps
    signs (only with the arithmetic mean, as semTools).  Values above .85 (or .90)
    signal a lack of discriminant validity.

    Zero correlations follow semTools exactly (``exp(mean(log(r)))`` with ``log(0) = -Inf``):
    a block holding an exact zero has geometric mean 0, so a zero correlation *between* two
    constructs gives HTMT2 = 0 (finite, but driven by that one pair), and a zero *within* a
    construct leaves its ratios undefined (``inf``, or ``nan`` for 0/0), as in R.  Either case
    is named in ``result.attrs["notes"]`` (a list of sentences, :class:`HTMTNote`, each with
    its parts and ``text("vi")``; empty otherwise) with the arithmetic HTMT as the value to
    read beside it.  A constant item (no correlation at all)
    is an error.

    Returns the full symmetric factor x factor matrix (diagonal 1), like R.

    Raises :class:`~hlstudy.errors.ModelError` for fewer than 2 factors, unknown or repeated
    items, a factor with fewer than 2 items, fewer than 3 complete rows, or a constant item.

    Example
    -------
    >>> d = pd.DataFrame({"a1": [1, 2, 3, 4, 1, 2, 3, 4], "a2": [1, 2, 3, 4, 2, 2, 3, 5],
    ...                   "b1": [1, 0, 0, 1, 1, 0, 0, 1], "b2": [2, 1, 1, 2, 2, 1, 2, 2]})
    >>> h = htmt(d, {"A": ["a1", "a2"], "B": ["b1", "b2"]})
    >>> float(h.loc["A", "B"]), round(float(htmt(d, {"A": ["a1", "a2"], "B": ["b1", "b2"]},
    ...                                            geometric=False).loc["A", "B"]), 4)
    (0.0, 0.1745)

    R equivalent: ``semTools::htmt(model, data)`` (and ``htmt2 = FALSE`` for
    ``geometric=False``).
    """
    model, items = model_items(data, model)
    if len(model) < 2:
        raise ModelError(f"HTMT compares factors with each other: it needs at least 2 factors, "
                         f"got {len(model)} ({list(model)})")
    short = [f for f, its in model.items() if len(its) < 2]
    if short:
        raise ModelError(f"HTMT needs at least 2 items per factor; too few in {short}")
    x = data[items].dropna().to_numpy(dtype=float)
    if x.shape[0] < 3:
        raise ModelError(f"too few complete observations for HTMT: {x.shape[0]}")
    constant = [i for i, sd in zip(items, x.std(axis=0), strict=True) if not sd > 0]
    if constant:
        raise ModelError(f"HTMT: item(s) {constant} have the same answer in every complete row; "
                         "their correlations are undefined")
    corr = np.corrcoef(x, rowvar=False)
    if absolute or geometric:
        corr = np.abs(corr)
    np.fill_diagonal(corr, np.nan)  # an item's correlation with itself never counts
    pos = {item: k for k, item in enumerate(items)}
    idx = {f: np.array([pos[i] for i in its], dtype=np.intp) for f, its in model.items()}

    def avg(block: np.ndarray) -> float:
        block = block[~np.isnan(block)]
        if not geometric:
            return float(np.mean(block))
        with np.errstate(divide="ignore"):  # log(0) = -inf: geometric mean 0, as R
            return float(np.exp(np.mean(np.log(block))))

    factors = list(model)
    within = {}
    for f in factors:
        within[f] = avg(corr[np.ix_(idx[f], idx[f])])
    values = np.full((len(factors), len(factors)), np.nan)
    for ka, a in enumerate(factors):
        for kb, b in enumerate(factors):
            block = corr[np.ix_(idx[a], idx[b])]
            # signed means of opposite sign, or a zero within-construct mean: NaN / inf, as R
            with np.errstate(invalid="ignore", divide="ignore"):
                values[ka, kb] = (np.float64(avg(block))
                                  / np.sqrt(np.float64(within[a] * within[b])))
    out = pd.DataFrame(values, index=factors, columns=factors)
    out.index.name = "factor"
    out.attrs["notes"] = _zero_notes(corr, idx, model, geometric)
    return out


class HTMTNote(str):
    """One note of ``htmt(...).attrs["notes"]``: the English sentence (it *is* that ``str``)
    with its parts, for a caller that words it in another language: ``kind`` (``"within"``:
    a zero correlation inside construct ``names[0]``; ``"between"``: between constructs
    ``names``), ``pairs`` (the item pairs) and ``geometric``.  :meth:`text` words it in
    Vietnamese (``"vi"``) or English."""

    kind: str
    names: tuple
    pairs: tuple
    geometric: bool

    def __new__(cls, text: str, kind: str, names, pairs, geometric: bool):
        self = super().__new__(cls, text)
        self.kind, self.names, self.pairs, self.geometric = kind, tuple(names), tuple(pairs), geometric
        return self

    def __reduce__(self):  # pickled with its parts (the result cache keeps HTMT tables)
        return (HTMTNote, (str(self), self.kind, self.names, self.pairs, self.geometric))

    def text(self, lang: str = "en") -> str:
        """The note in words: ``"en"`` (this string) or ``"vi"``."""
        if check_lang(lang) == "en":
            return str(self)
        pairs = ", ".join(f"{i}-{j}" for i, j in self.pairs)
        if self.kind == "within":
            return (f"{self.names[0]}: tương quan bằng 0 trong cùng khái niệm ({pairs}); "
                    + ("tỷ số HTMT2 của nó không xác định (semTools cho Inf/NaN); đọc HTMT trung "
                       "bình cộng (geometric=False) nếu xác định, và kiểm tra lại các biến"
                       if self.geometric else
                       "các tỷ số của nó không xác định khi mọi cặp trong khái niệm đều bằng 0"))
        a, b = self.names
        return (f"{a}/{b}: tương quan bằng 0 giữa hai khái niệm ({pairs}) làm trung bình nhân, "
                "và do đó HTMT2, bằng 0 (quy tắc của semTools); đọc HTMT trung bình cộng "
                "(geometric=False) cho cặp này")


def _zero_notes(corr: np.ndarray, idx: dict[str, np.ndarray], model: dict[str, list[str]],
                geometric: bool) -> list[str]:
    """Sentences naming the exact zero correlations that decide an HTMT value (``corr``: the
    item correlations, ``idx``: each factor's item positions in it)."""
    notes = []
    factors = list(model)
    for a in factors:
        its = model[a]
        sub = corr[np.ix_(idx[a], idx[a])] == 0
        zeros = [(i, its[m]) for k, i in enumerate(its) for m in range(k + 1, len(its))
                 if sub[k, m]]
        if zeros:
            pairs = ", ".join(f"{i}-{j}" for i, j in zeros)
            notes.append(HTMTNote(
                f"{a}: zero correlation within the construct ({pairs}); "
                + ("its HTMT2 ratios are undefined (semTools gives Inf/NaN); read the arithmetic "
                   "HTMT (geometric=False) if defined, and check the items"
                   if geometric else "its ratios are undefined when every within pair is zero"),
                "within", (a,), zeros, geometric))
    if not geometric:
        return notes
    for k, a in enumerate(factors):
        for b in factors[k + 1:]:
            sub = corr[np.ix_(idx[a], idx[b])] == 0
            if not sub.any():
                continue
            zeros = [(i, j) for ki, i in enumerate(model[a]) for kj, j in enumerate(model[b])
                     if sub[ki, kj]]
            pairs = ", ".join(f"{i}-{j}" for i, j in zeros)
            notes.append(HTMTNote(
                f"{a}/{b}: zero correlation between the constructs ({pairs}) makes the "
                "geometric mean, and so HTMT2, 0 (semTools' rule); read the arithmetic "
                "HTMT (geometric=False) for this pair", "between", (a, b), zeros, geometric))
    return notes


@dataclass(frozen=True)
class ReversedAmongWeakest:
    """How many reverse-keyed items are among the ``k`` weakest standardized loadings, beside
    what chance gives (:func:`reversed_among_weakest`)."""

    weakest: list[str]        # the k items with the lowest std.all, lowest first
    reversed_weak: list[str]  # those of them that are reverse-keyed
    n_items: int              # items in the model
    n_reversed: int           # reverse-keyed items in the model
    expected: float           # k * n_reversed / n_items
    p_value: float            # P(X >= len(reversed_weak)), X hypergeometric

    @property
    def more_than_chance(self) -> bool:
        """True when so many reversed items among the weakest would happen by chance in fewer
        than 5 % of draws (``p_value < 0.05``)."""
        return self.p_value < 0.05

    def summary(self) -> str:
        return (f"{len(self.reversed_weak)} of the {len(self.weakest)} weakest loadings are "
                f"reverse-keyed ({self.n_reversed} of {self.n_items} items are): "
                f"{self.expected:.2f} expected by chance, P(as many or more) = {self.p_value:.3f}")


def reversed_among_weakest(std_loadings: pd.Series, reversed_items, k: int = 5) -> ReversedAmongWeakest:
    """Whether the reverse-keyed items crowd the weakest loadings more than chance would.

    A wording effect (Weijters, Baumgartner & Schillewaert 2013) shows as reversed items
    loading weakly; but with ``K`` reversed items among ``N``, the ``k`` weakest hold
    ``k·K/N`` of them on average by chance alone.  ``p_value`` is the hypergeometric tail
    P(X >= observed), X ~ Hypergeometric(N, K, k): the probability that ``k`` items drawn at
    random hold as many reversed ones (``scipy.stats.hypergeom.sf(observed - 1, N, K, k)``;
    R: ``phyper(observed - 1, K, N - K, k, lower.tail = FALSE)``).

    ``std_loadings``: a Series of standardized loadings (``std.all``) indexed by item, or by
    ``(factor, item)`` as :attr:`CFAResult.std_loadings`; an item loading on two factors counts
    once, by its lower loading.  Raises :class:`ModelError` when ``k`` is not between 1 and the
    number of items or the loadings are empty.

    >>> s = pd.Series([0.3, 0.4, 0.5, 0.6, 0.7, 0.8], index=list("abcdef"))
    >>> r = reversed_among_weakest(s, {"a", "f"}, k=2)
    >>> r.reversed_weak, r.expected, round(r.p_value, 4)
    (['a'], 0.6666666666666666, 0.6)
    """
    from scipy.stats import hypergeom

    s = pd.Series(std_loadings, dtype=float).dropna()
    if isinstance(s.index, pd.MultiIndex):
        s.index = s.index.get_level_values(-1)
    s = s.groupby(level=0, sort=True).min()
    if s.empty:
        raise ModelError("no standardized loadings given")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= len(s):
        raise ModelError(f"k must be a whole number from 1 to {len(s)} (the items), got {k!r}")
    reversed_set = {str(i) for i in reversed_items} & set(map(str, s.index))
    weakest = [str(i) for i in s.sort_values(kind="stable").index[:k]]
    hits = [i for i in weakest if i in reversed_set]
    n, big_k = len(s), len(reversed_set)
    p = float(hypergeom.sf(len(hits) - 1, n, big_k, k)) if hits else 1.0
    return ReversedAmongWeakest(weakest, hits, n, big_k, k * big_k / n, p)


@dataclass(frozen=True)
class ReversedWithinScales:
    """Where the reverse-keyed items rank among their own scale's loadings, against every
    placement of as many reversed items in each scale (:func:`reversed_within_scales`)."""

    items: pd.DataFrame   # one row per reversed item: factor, item, std_all, rank, n_items
    statistic: float      # sum of the reversed items' within-scale ranks (1 = weakest)
    expected: float       # its mean under the null: sum of K_s (N_s + 1) / 2
    p_value: float        # exact P(statistic <= observed) over the placements
    n_placements: int     # placements the exact distribution counts

    @property
    def weakest_in_scale(self) -> list[str]:
        """The reversed items that are their scale's weakest loading (rank 1)."""
        return self.items.loc[self.items["rank"] == 1, "item"].tolist()

    @property
    def more_than_chance(self) -> bool:
        """``p_value < 0.05``: reversed items this low in their scales happen by chance in
        fewer than 5 % of placements."""
        return self.p_value < 0.05

    def summary(self) -> str:
        return (f"{len(self.items)} reverse-keyed items in {self.items['factor'].nunique()} "
                f"scales; sum of within-scale ranks {self.statistic:g} (expected "
                f"{self.expected:g}); exact P(as low or lower) = {self.p_value:.3f} over "
                f"{self.n_placements} placements; weakest of their scale: "
                f"{', '.join(self.weakest_in_scale) or 'none'}")


def reversed_within_scales(std_loadings: pd.Series, reversed_items) -> ReversedWithinScales:
    """Whether reverse-keyed items load more weakly than the other items *of their own scale*.

    Ranking all loadings together (:func:`reversed_among_weakest`) confounds a wording effect
    with the scales the reversed items happen to sit in (a weak scale holds weak items,
    reversed or not).  Here each item is ranked within its factor (1 = lowest ``std.all``;
    ties share their mean rank) and the statistic is the sum of the reversed items' ranks:
    a stratified Wilcoxon rank-sum statistic (van Elteren 1960, unweighted).  Its exact null
    distribution holds the number of reversed items of each scale fixed and places them among
    the scale's items in every possible way, all equally likely (a permutation test within
    strata); the scales' distributions are convolved, so ``p_value`` = P(W <= observed) is
    exact, not simulated.  Scales without a reversed item add nothing.  R equivalent: the
    same enumeration with ``combn`` per scale and ``outer`` sums; ``coin::wilcox_test(loading
    ~ reversed | factor, distribution = "exact")`` gives this distribution with its
    (standardised) statistic.

    ``std_loadings``: a Series indexed by ``(factor, item)`` as
    :func:`hlstudy.cfa.standardized_loadings` returns; ``reversed_items``: item names.
    Returns a :class:`ReversedWithinScales`.  Raises :class:`ModelError` when the index is not
    ``(factor, item)``, the loadings are empty or no reversed item is in the model.

    >>> s = pd.Series([0.3, 0.6, 0.7, 0.5, 0.8],
    ...               index=pd.MultiIndex.from_tuples([("A", "a1"), ("A", "a2"), ("A", "a3"),
    ...                                                ("B", "b1"), ("B", "b2")]))
    >>> r = reversed_within_scales(s, {"a1", "b1"})
    >>> r.statistic, r.expected, round(r.p_value, 4), r.n_placements
    (2.0, 3.5, 0.1667, 6)
    """
    from itertools import combinations

    s = pd.Series(std_loadings, dtype=float).dropna()
    if s.empty:
        raise ModelError("no standardized loadings given")
    if not isinstance(s.index, pd.MultiIndex) or s.index.nlevels != 2:
        raise ModelError("std_loadings must be indexed by (factor, item), as "
                         "hlstudy.cfa.standardized_loadings returns them")
    reversed_set = {str(i) for i in reversed_items}
    frame = pd.DataFrame({"factor": s.index.get_level_values(0).astype(str),
                          "item": s.index.get_level_values(1).astype(str), "std_all": s.to_numpy()})
    frame["rank"] = frame.groupby("factor")["std_all"].rank(method="average")
    frame["n_items"] = frame.groupby("factor")["item"].transform("size")
    frame["reversed"] = frame["item"].isin(reversed_set)
    rev = frame[frame["reversed"]]
    if rev.empty:
        raise ModelError(f"none of the reverse-keyed items {sorted(reversed_set)} is in the model")
    # exact null: per scale the sums of every K-subset of its ranks, convolved across scales;
    # sums are kept in half-units (mean ranks are multiples of 0.5) so they add exactly
    dist = {0: 1}
    for _, g in frame[frame["factor"].isin(set(rev["factor"]))].groupby("factor", sort=True):
        halves = [int(round(2 * r)) for r in g["rank"]]
        scale: dict[int, int] = {}
        for combo in combinations(halves, int(g["reversed"].sum())):
            scale[sum(combo)] = scale.get(sum(combo), 0) + 1
        dist = _convolve(dist, scale)
    total = sum(dist.values())
    observed = int(round(2 * rev["rank"].sum()))
    p = sum(n for w, n in dist.items() if w <= observed) / total
    expected = float((rev.groupby("factor")["n_items"].agg(["size", "first"])
                      .eval("size * (first + 1) / 2")).sum())
    items = rev[["factor", "item", "std_all", "rank", "n_items"]].sort_values(
        ["factor", "item"]).reset_index(drop=True)
    return ReversedWithinScales(items, observed / 2, expected, float(p), int(total))


def _convolve(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    """The distribution of the sum of two independent counts-by-value tables."""
    out: dict[int, int] = {}
    for x, nx in a.items():
        for y, ny in b.items():
            out[x + y] = out.get(x + y, 0) + nx * ny
    return out
