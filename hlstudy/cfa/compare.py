"""Model comparisons: measurement invariance and the common latent (method) factor.

* :func:`measurement_invariance` fits the configural, metric and scalar models
  (optionally strict) of ``lavaan::cfa(..., group =, group.equal =)`` and
  tabulates them as ``lavTestLRT`` / ``semTools::compareFit`` do: chi-square
  difference test of each step against the previous one, and the change in CFI,
  RMSEA and SRMR.  Decision rules: Cheung & Rensvold (2002) delta CFI >= -.010;
  Chen (2007) delta RMSEA <= .015.  The configural model is the baseline and
  must itself be admissible: converged, no Heywood case, and fit meeting the
  configural cut-offs (CFI >= .90, RMSEA <= .08, SRMR <= .08 by default);
  otherwise no level of invariance is established (Putnick & Bornstein 2016).
* :func:`common_method_factor` adds an unmeasured common latent factor (CLF):
  one factor loading on every item with equal (unit) loadings, its variance
  free, orthogonal to the substantive factors (Podsakoff et al. 2003), and
  compares it with the substantive model: chi-square difference, delta CFI and
  the change of each standardized loading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hlstudy import _resultcache
from hlstudy.cfa._spec import normalise_model
from hlstudy.cfa.core import CFAResult, _fit, cfa
from hlstudy.errors import ModelError, check_lang

#: Steps of measurement invariance and the lavaan ``group.equal`` they impose.
INVARIANCE_STEPS = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}

#: Cheung & Rensvold (2002) and Chen (2007) thresholds for a step to be accepted.
DELTA_CFI_MIN = -0.010
DELTA_RMSEA_MAX = 0.015

#: Absolute fit the configural (baseline) model must reach before any invariance step is
#: interpreted (the CFA cut-offs of :data:`hlstudy.cfa.core.CUTOFFS`; Hu & Bentler 1999).
CONFIGURAL_CUTOFFS = {"cfi": (">=", 0.90), "rmsea": ("<=", 0.08), "srmr": ("<=", 0.08)}


def chain_acceptance(passes) -> list[bool]:
    """A level of invariance is accepted only if it passes *and* every lower level was accepted.

    ``passes``: per step in order of constraint (configural, metric, scalar, strict), whether
    the step meets its own criterion (baseline fit for the first; delta CFI / delta RMSEA for
    the others).  Measurement invariance is a hierarchy (Vandenberg & Lance 2000; Putnick &
    Bornstein 2016): equal loadings mean nothing when the configural model fails, so a level
    is never accepted above a failed level.

    >>> chain_acceptance([False, True, True])
    [False, False, False]
    >>> chain_acceptance([True, True, False, True])
    [True, True, False, False]
    """
    out, ok = [], True
    for p in passes:
        ok = ok and bool(p)
        out.append(ok)
    return out


def _configural_problems(res: CFAResult, cutoffs: Mapping[str, tuple[str, float]]) -> list[str]:
    """Reasons why the configural model cannot serve as the invariance baseline."""
    why = []
    if not res.converged:
        why.append("did not converge")
    why += [f"Heywood case: {h}" for h in res.heywood]
    for key, (op, cut) in cutoffs.items():
        val = res.fit[key]
        ok = val >= cut if op == ">=" else val <= cut
        if not (np.isfinite(val) and ok):
            why.append(f"{key.upper()} {val:.3f} not {op} {cut:g}")
    return why


def _lrt(prev: CFAResult, cur: CFAResult) -> tuple[float, float, float]:
    d_chi2 = cur.fit["chi2"] - prev.fit["chi2"]
    d_df = cur.fit["df"] - prev.fit["df"]
    if d_df <= 0:
        return d_chi2, d_df, np.nan
    return d_chi2, d_df, float(stats.chi2.sf(max(d_chi2, 0.0), d_df))


def _row(name: str, res: CFAResult) -> dict:
    f = res.fit
    return {"model": name, "chi2": f["chi2"], "df": f["df"], "p_value": f["p_value"],
            "cfi": f["cfi"], "tli": f["tli"], "rmsea": f["rmsea"], "srmr": f["srmr"],
            "aic": f["aic"], "bic": f["bic"]}


@dataclass(repr=False)
class InvarianceResult:
    """Result of :func:`measurement_invariance`: ``.table`` and the fitted ``.fits``.

    ``skipped`` is empty when the models were fitted; otherwise it says why they could not be
    (e.g. a group with fewer complete answers than items) and what n would be needed, and
    ``table`` and ``fits`` are empty.  ``group_sizes``: per group, ``n`` (rows with the group
    known), ``n_complete`` (every item answered), ``n_needed`` (the minimum for the ML fit)
    and ``free_parameters`` (of the configural model, per group).
    """

    table: pd.DataFrame
    fits: dict[str, CFAResult]
    group: str
    groups: list
    skipped: str = ""
    group_sizes: pd.DataFrame | None = None

    @property
    def highest_level(self) -> str | None:
        """Most constrained step accepted (and every step before it); None when the first
        (configural) model itself is not admissible."""
        level = None
        if self.skipped:
            return None
        for name, row in self.table.iterrows():
            if bool(row["accepted"]):
                level = name
            else:
                break
        return level

    def summary(self) -> str:
        lines = [f"Measurement invariance across {self.group} ({', '.join(map(str, self.groups))})"]
        lines.append("=" * len(lines[0]))
        if self.skipped:
            lines.append(f"!! not tested: {self.skipped}")
            return "\n".join(lines)
        lines.append(f"{'model':<11}{'chi2':>9}{'df':>5}{'CFI':>7}{'RMSEA':>7}{'SRMR':>7}"
                     f"{'dchi2':>9}{'ddf':>5}{'p':>8}{'dCFI':>8}{'dRMSEA':>8}  accepted")
        for name, r in self.table.iterrows():
            if pd.isna(r["delta_df"]):
                verdict = "yes" if r["accepted"] else "NO"
                tail = f"{'':>9}{'':>5}{'':>8}{'':>8}{'':>8}  {verdict} (baseline fit)"
            else:
                p = "<.001" if r["p_delta"] < 0.001 else f"{r['p_delta']:.3f}"
                tail = (f"{r['delta_chi2']:9.3f}{r['delta_df']:5.0f}{p:>8}{r['delta_cfi']:8.3f}"
                        f"{r['delta_rmsea']:8.3f}  {'yes' if r['accepted'] else 'NO'}")
            lines.append(f"{name:<11}{r['chi2']:9.3f}{r['df']:5.0f}{r['cfi']:7.3f}"
                         f"{r['rmsea']:7.3f}{r['srmr']:7.3f}{tail}")
        for name, res in self.fits.items():
            if not res.converged:
                lines.append(f"!! {name} model did not converge")
            for h in res.heywood:
                lines.append(f"!! {name}: HEYWOOD CASE: {h}")
        for name, r in self.table.iterrows():
            if not r["accepted"]:
                lines.append(f"!! {name} rejected: {r['reason']}")
        lines.append(f"Accepted up to: {self.highest_level} "
                     f"(baseline fit as the CFA cut-offs; then delta CFI >= {DELTA_CFI_MIN}, "
                     f"delta RMSEA <= {DELTA_RMSEA_MAX}).")
        if self.highest_level is None:
            lines.append("!! NO level of invariance is established: the baseline model is not "
                         "admissible, so group comparisons of scale scores are not supported.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


@_resultcache.kept
def measurement_invariance(
    data: pd.DataFrame,
    model: Mapping[str, Sequence[str]],
    group: str,
    *,
    steps: Sequence[str] = ("configural", "metric", "scalar"),
    group_order: Sequence | None = None,
    residual_covariances: Sequence[tuple[str, str]] = (),
    configural_cutoffs: Mapping[str, tuple[str, float]] | None = None,
) -> InvarianceResult:
    """Configural, metric and scalar invariance across the groups of ``group``.

    Each step is a multi-group :func:`~hlstudy.cfa.cfa` with a mean structure
    (marker identification; latent means free from the second group on once
    intercepts are equal).  The table has, per step, chi2, df, p, CFI, TLI,
    RMSEA, SRMR, AIC, BIC and, against the previous step, ``delta_chi2``,
    ``delta_df``, ``p_delta`` (likelihood-ratio test), ``delta_cfi``,
    ``delta_rmsea``, ``delta_srmr``, ``step_ok`` (delta CFI >= -.010 and delta RMSEA
    <= .015) and ``accepted`` (``step_ok`` and every lower level accepted:
    :func:`chain_acceptance`; a level is never accepted above a failed level).  When a group has fewer complete answers than the model needs
    (:func:`invariance_group_sizes`: p + 1 for p items) or an item has no variance within a
    group, nothing is fitted: the result's ``skipped`` says why and what n is needed, and
    ``highest_level`` is None.  The first step is the baseline: it is ``accepted`` only when it
    converged without Heywood cases and its fit meets ``configural_cutoffs`` (default
    :data:`CONFIGURAL_CUTOFFS`: CFI >= .90, RMSEA <= .08, SRMR <= .08); a baseline that fails
    makes :attr:`InvarianceResult.highest_level` None.  ``reason`` says why each step was
    accepted or rejected.  ``group_order`` fixes the reference group (first),
    as in :func:`~hlstudy.cfa.cfa`; ``residual_covariances`` are kept (free in
    every group) at every step.

    Matches (R)::

        configural <- cfa(model, data, group = "g")
        metric <- cfa(model, data, group = "g", group.equal = "loadings")
        scalar <- cfa(model, data, group = "g", group.equal = c("loadings", "intercepts"))
        lavTestLRT(configural, metric, scalar)

    Example
    -------
    >>> measurement_invariance(officials, model, "kind")   # doctest: +SKIP
    """
    steps = list(steps)
    cutoffs = dict(CONFIGURAL_CUTOFFS if configural_cutoffs is None else configural_cutoffs)
    bad = [k for k, v in cutoffs.items()
           if k not in ("cfi", "tli", "rmsea", "srmr") or not isinstance(v, tuple) or len(v) != 2
           or v[0] not in (">=", "<=")]
    if bad:
        raise ModelError(f"configural_cutoffs: {bad} invalid; give e.g. "
                         f"{{'cfi': ('>=', 0.90), 'rmsea': ('<=', 0.08)}}")
    unknown = [s for s in steps if s not in INVARIANCE_STEPS]
    if unknown or not steps:
        raise ModelError(f"unknown invariance step(s) {unknown}; use {list(INVARIANCE_STEPS)}")
    order = list(INVARIANCE_STEPS)
    if [order.index(s) for s in steps] != sorted(order.index(s) for s in steps):
        raise ModelError(f"steps must be in increasing order of constraint: {order}")
    sizes = invariance_group_sizes(data, model, group)
    short = sizes[sizes["n_complete"] < sizes["n_needed"]]
    if len(short):
        p = int(sizes["n_needed"].iloc[0]) - 1
        why = "; ".join(f"group {g!r} has {n} complete answers" for g, n in
                        zip(short["group"], short["n_complete"], strict=True))
        note = (f"{why}, for {p} items: a multi-group ML CFA needs at least {p + 1} complete "
                f"answers in every group (more answers than items, or the group's covariance "
                f"matrix is singular); the configural model also estimates "
                f"{int(sizes['free_parameters'].iloc[0])} free parameters per group, so several "
                f"times that many are advisable. Test invariance on fewer items (e.g. one scale "
                f"at a time) or with larger groups.")
        return _skipped(data, group, sizes, note, steps)
    try:
        fits = {s: cfa(data, model, group=group, equal=INVARIANCE_STEPS[s],
                       group_order=group_order, residual_covariances=residual_covariances)
                for s in steps}
    except ModelError as exc:
        if "without variance" not in str(exc) and "singular" not in str(exc):
            raise
        return _skipped(data, group, sizes, f"the multi-group model cannot be fitted: {exc}", steps)
    rows = []
    prev = None
    for name in steps:
        res = fits[name]
        row = _row(name, res)
        if prev is None:
            why = _configural_problems(res, cutoffs)
            row.update(delta_chi2=np.nan, delta_df=np.nan, p_delta=np.nan, delta_cfi=np.nan,
                       delta_rmsea=np.nan, delta_srmr=np.nan, accepted=not why,
                       reason="; ".join(why) if why else "baseline fit meets the cut-offs")
        else:
            d_chi2, d_df, p = _lrt(prev, res)
            d_cfi = res.fit["cfi"] - prev.fit["cfi"]
            d_rmsea = res.fit["rmsea"] - prev.fit["rmsea"]
            row.update(delta_chi2=d_chi2, delta_df=d_df, p_delta=p, delta_cfi=d_cfi,
                       delta_rmsea=d_rmsea, delta_srmr=res.fit["srmr"] - prev.fit["srmr"],
                       accepted=bool(d_cfi >= DELTA_CFI_MIN and d_rmsea <= DELTA_RMSEA_MAX))
            why = []
            if not d_cfi >= DELTA_CFI_MIN:
                why.append(f"delta CFI {d_cfi:.3f} < {DELTA_CFI_MIN}")
            if not d_rmsea <= DELTA_RMSEA_MAX:
                why.append(f"delta RMSEA {d_rmsea:.3f} > {DELTA_RMSEA_MAX}")
            if not res.converged:
                why.append("did not converge")
                row["accepted"] = False
            row["reason"] = "; ".join(why) if why else "delta CFI and delta RMSEA within limits"
        rows.append(row)
        prev = res
    # a level is never accepted above a failed level: keep each step's own verdict as
    # ``step_ok`` and chain ``accepted``
    own = [bool(r["accepted"]) for r in rows]
    chained = chain_acceptance(own)
    for i, r in enumerate(rows):
        r["step_ok"] = own[i]
        r["accepted"] = chained[i]
        if own[i] and not chained[i]:
            failed = next(rows[j]["model"] for j in range(i) if not chained[j])
            r["reason"] = (f"{r['reason']}; not accepted: the lower level {failed!r} failed, "
                           "so this level cannot be established")
    table = pd.DataFrame(rows).set_index("model")
    return InvarianceResult(table=table, fits=fits, group=group,
                            groups=fits[steps[0]].groups, group_sizes=sizes)


def invariance_group_sizes(
    data: pd.DataFrame, model: Mapping[str, Sequence[str]], group: str
) -> pd.DataFrame:
    """Per group of ``group``: rows, complete rows and the n a multi-group ML CFA needs.

    Columns ``group, n, n_complete, n_needed, free_parameters``.  ``n_needed`` is p + 1 for
    p items (fewer complete rows than that leave the group's sample covariance matrix
    singular; lavaan stops with "sample covariance matrix is not positive-definite").
    ``free_parameters`` counts, per group, the configural model's loadings (marker
    identification), residual variances, factor (co)variances and intercepts.

    >>> d = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 5, "x": range(8), "y": range(8), "z": range(8)})
    >>> invariance_group_sizes(d, {"F": ["x", "y", "z"]}, "g")[["group", "n_complete", "n_needed"]]
      group  n_complete  n_needed
    0     a           3         4
    1     b           5         4
    """
    model = normalise_model(model)
    if group not in data.columns:
        raise ModelError(f"grouping column {group!r} not found in data")
    items = list(dict.fromkeys(i for its in model.values() for i in its))
    missing = [i for i in items if i not in data.columns]
    if missing:
        raise ModelError(f"item(s) not in data: {missing}")
    known = data[data[group].notna()]
    complete = known[items].notna().all(axis=1)
    p, f = len(items), len(model)
    free = (p - f) + p + f * (f + 1) // 2 + p
    rows = [{"group": g, "n": int((known[group] == g).sum()),
             "n_complete": int(((known[group] == g) & complete).sum()),
             "n_needed": p + 1, "free_parameters": free}
            for g in pd.unique(known[group])]
    return pd.DataFrame(rows, columns=["group", "n", "n_complete", "n_needed", "free_parameters"])


def _skipped(data, group, sizes, note, steps) -> InvarianceResult:
    columns = ["chi2", "df", "p_value", "cfi", "tli", "rmsea", "srmr", "aic", "bic", "delta_chi2",
               "delta_df", "p_delta", "delta_cfi", "delta_rmsea", "delta_srmr", "step_ok", "accepted",
               "reason"]
    table = pd.DataFrame(columns=columns, index=pd.Index([], name="model"))
    return InvarianceResult(table=table, fits={}, group=group, groups=list(sizes["group"]),
                            skipped=note, group_sizes=sizes)


@dataclass(repr=False)
class MethodFactorResult:
    """Result of :func:`common_method_factor`."""

    base: CFAResult
    with_clf: CFAResult
    comparison: pd.DataFrame
    loadings: pd.DataFrame
    clf_loadings: pd.Series
    name: str

    @property
    def delta_chi2(self) -> float:
        return float(self.comparison.loc[self.name, "delta_chi2"])

    @property
    def delta_cfi(self) -> float:
        return float(self.comparison.loc[self.name, "delta_cfi"])

    @property
    def proper(self) -> bool:
        """True when the CLF model converged without Heywood cases, a negative CLF variance
        or a worse fit than the substantive model nested in it."""
        r = self.comparison.loc[self.name]
        return bool(self.with_clf.converged and not self.with_clf.heywood
                    and np.isfinite(self.method_variance) and r["delta_chi2"] >= 0)

    @property
    def verdict(self) -> str:
        """``"inconclusive"`` for an improper CLF model (never "no common-method variance"),
        else ``"method variance"`` with the share of item variance it explains."""
        if not self.proper:
            return "inconclusive"
        return f"method variance {self.method_variance:.3f}"

    @property
    def method_variance(self) -> float:
        """Mean squared standardized CLF loading: share of item variance due to the method."""
        return float(np.mean(self.clf_loadings.to_numpy() ** 2))

    def summary(self, lang: str = "en") -> str:
        """The comparison as text, in English (``"en"``) or Vietnamese (``"vi"``, numbers with
        a decimal comma), for a notebook that shows it in its own language."""
        check_lang(lang)
        if lang == "vi":
            from hlstudy.export import number

            def f(x, d=3):
                return number(x, d, lang="vi")
        else:
            def f(x, d=3):
                return f"{x:.{d}f}"
        vi = lang == "vi"
        c = self.comparison
        title = ("Sai lệch do phương pháp chung: nhân tố tiềm ẩn chung không đo lường (CLF)" if vi
                 else "Common-method bias: unmeasured common latent factor (CLF)")
        lines = [title, "=" * (len(title) if vi else 57)]
        for name, r in c.iterrows():
            label = ("mô hình gốc" if name == "substantive" else f"có {name}") if vi else name
            lines.append(f"  {label:<14} {'χ²' if vi else 'chi2'} = {f(r['chi2']):>9}  df = "
                         f"{r['df']:4.0f}  CFI = {f(r['cfi'])}  RMSEA = {f(r['rmsea'])}  "
                         f"SRMR = {f(r['srmr'])}")
        r = c.loc[self.name]
        p = ("< 0,001" if vi else "< .001") if r["p_delta"] < 0.001 else f"= {f(r['p_delta'])}"
        if vi:
            lines.append(f"  Δχ² = {f(r['delta_chi2'])}, Δdf = {r['delta_df']:.0f}, p {p}; "
                         f"ΔCFI = {f(r['delta_cfi'])}")
        else:
            lines.append(f"  delta chi2 = {f(r['delta_chi2'])}, delta df = {r['delta_df']:.0f}, "
                         f"p {p}; delta CFI = {f(r['delta_cfi'])}")
        if r["delta_chi2"] < 0:
            lines.append("!! mô hình có CLF phù hợp kém hơn mô hình gốc lồng trong nó: điểm tối "
                         "ưu của nó là một nghiệm cục bộ, không chính quy (lavaan cũng cho như "
                         "vậy); phép so sánh không diễn giải được" if vi else
                         "!! the CLF model fits worse than the substantive model nested in it: "
                         "its optimum is a local, improper solution (lavaan finds the same); "
                         "the comparison is not interpretable")
        if np.isfinite(self.method_variance):
            lines.append("  phương sai do phương pháp chung (trung bình bình phương hệ số tải "
                         f"chuẩn hóa lên CLF) = {f(self.method_variance)}" if vi else
                         "  common method variance (mean squared CLF loading) = "
                         f"{f(self.method_variance)}")
        else:
            lines.append("!! phương sai của CLF ước lượng âm: mô hình có CLF không chính quy, và "
                         "một nghiệm không chính quy không thể đọc là 'không có phương sai do "
                         "phương pháp chung'; kiểm định không kết luận được (dùng một biến đánh "
                         "dấu hoặc một nhân tố phương pháp đo trực tiếp)" if vi else
                         "!! the CLF variance is estimated negative: the CLF model is improper, "
                         "and an improper solution cannot be read as 'no common-method "
                         "variance'; the test is inconclusive (use a marker variable or a "
                         "measured method factor)")
        big = self.loadings[self.loadings["delta"].abs() > 0.20]
        if self.loadings["std_clf"].isna().any():
            lines.append("  hệ số tải chuẩn hóa khi có CLF không xác định ở nơi một phương sai "
                         "nhân tố âm" if vi else
                         "  standardized loadings with the CLF are undefined where a factor "
                         "variance is negative")
        if len(big):
            lines.append("  hệ số tải chuẩn hóa thay đổi quá 0,20 khi thêm CLF:" if vi else
                         "  standardized loadings changing by more than .20 with the CLF:")
            for _, b in big.iterrows():
                lines.append(f"    {b['factor']} {b['item']}: {f(b['std_base'])} -> "
                             f"{f(b['std_clf'])}")
        else:
            lines.append("  không có hệ số tải chuẩn hóa nào thay đổi quá 0,20 khi thêm CLF" if vi
                         else "  no standardized loading changes by more than .20 with the CLF")
        for h in self.with_clf.heywood:
            lines.append(f"!! mô hình có CLF: TRƯỜNG HỢP HEYWOOD: {h.text('vi')}" if vi else
                         f"!! CLF model: HEYWOOD CASE: {h}")
        if not self.with_clf.converged:
            lines.append("!! mô hình có CLF không hội tụ" if vi else
                         "!! CLF model did not converge")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


@_resultcache.kept
def common_method_factor(
    data: pd.DataFrame,
    model: Mapping[str, Sequence[str]],
    *,
    name: str = "CLF",
    residual_covariances: Sequence[tuple[str, str]] = (),
) -> MethodFactorResult:
    """Compare the measurement model with and without an unmeasured common latent factor.

    The CLF loads on every item of the model with loadings fixed to 1 (equal
    loadings; its variance is estimated) and is uncorrelated with the
    substantive factors.  Returns the two fits, a comparison table (chi2, df, CFI,
    RMSEA, SRMR, delta chi2 with its df and p, delta CFI), the standardized
    loadings with and without the CLF (``delta`` = with - without; changes above
    .20 are flagged by ``summary()``) and the CLF's standardized loadings.
    ``residual_covariances`` of the substantive model are kept in both fits.

    Matches (R)::

        clf <- paste(model, "CLF =~ 1*x1 + 1*x2 + ...", "CLF ~~ 0*F1 + 0*F2 + ...", sep = "\\n")
        lavTestLRT(cfa(model, data), cfa(clf, data))

    Example
    -------
    >>> common_method_factor(officials, model).delta_cfi    # doctest: +SKIP
    """
    model = normalise_model(model)
    if name in model:
        raise ModelError(f"the common latent factor's name {name!r} is already a factor")
    items = list(dict.fromkeys(i for its in model.values() for i in its))
    base = cfa(data, model, residual_covariances=residual_covariances)
    clf_model = dict(model)
    clf_model[name] = items
    with_clf = _fit(data, clf_model, unit_loading_factors=[name], orthogonal_factors=[name],
                    residual_covariances=residual_covariances)
    rows = [_row("substantive", base), _row(name, with_clf)]
    d_chi2, d_df, p = _lrt(with_clf, base)  # the CLF model is less constrained
    comparison = pd.DataFrame(rows).set_index("model")
    comparison["delta_chi2"] = [np.nan, d_chi2]
    comparison["delta_df"] = [np.nan, d_df]
    comparison["p_delta"] = [np.nan, p]
    comparison["delta_cfi"] = [np.nan, with_clf.fit["cfi"] - base.fit["cfi"]]
    lb = base.std_loadings
    lc = with_clf.std_loadings
    clf_loadings = lc.xs(name, level="factor").rename("std_all")
    lc = lc.drop(name, level="factor")
    loadings = pd.DataFrame({"std_base": lb, "std_clf": lc.reindex(lb.index)})
    loadings["delta"] = loadings["std_clf"] - loadings["std_base"]
    loadings = loadings.reset_index()
    return MethodFactorResult(base=base, with_clf=with_clf, comparison=comparison,
                              loadings=loadings, clf_loadings=clf_loadings, name=name)
