"""Computed findings for the diagnostic claims D1–D5 (thesis part II), for notebook 06's ledger.

Each ``finding_dN`` function returns a :class:`Finding`: the claim id, a Vietnamese and an
English statement with the numbers filled in, and the numbers themselves (a flat dict).
:func:`findings_table` stacks them into a DataFrame (``claim_id, statement_vi,
statement_en, key_numbers``; ``key_numbers`` is a JSON string so the table exports to CSV).

The statements describe what was found; they do not declare a claim supported — the ledger
does that against its own criteria.  Thresholds (the Likert cut-off for "weak", what counts
as short tenure) are fields of :class:`Thresholds`, stated in the notebook.

Intervals: shares of officials carry Wilson 95% intervals widened by the design effect of
clustering in communes (:func:`hlstudy.diagnostic.intervals.wilson_deff`, deff from the
one-way ANOVA ICC of the 0/1 indicator); district means come from the random-intercept model
(:func:`hlstudy.diagnostic.quality.district_mean`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hlstudy.diagnostic import quality
from hlstudy.diagnostic.compliance import ANY_RULE, ComplianceResult
from hlstudy.diagnostic.intervals import chisq_mc, fisher_correlation, wilson, wilson_deff
from hlstudy.errors import ModelError

QUALITY = ("ETH", "PRO", "SKL", "RSP")
NAMES_VI = {"ETH": "phẩm chất chính trị, đạo đức", "PRO": "năng lực chuyên môn",
            "SKL": "kỹ năng quản lý, giao tiếp, giải quyết vấn đề",
            "RSP": "tinh thần trách nhiệm, chủ động"}
NAMES_EN = {"ETH": "political quality and ethics", "PRO": "professional competence",
            "SKL": "management, communication and problem-solving skills",
            "RSP": "responsibility and initiative"}
RULES_VI = {"CC_AGE": "tuổi", "CC_SECONDARY": "tốt nghiệp THPT",
            "CC_DEGREE": "trình độ đại học", "CC_FIELD": "chuyên ngành phù hợp"}
RULES_EN = {"CC_AGE": "age", "CC_SECONDARY": "upper-secondary graduation",
            "CC_DEGREE": "university degree", "CC_FIELD": "fitting field"}


@dataclass(frozen=True)
class Thresholds:
    """Analysis thresholds of the diagnostic (stated in notebook 03).

    ``weak_cutoff``: a scale score (mean of 1–5 items) below it counts as "weak"; 3 is the
    scale's neutral point.  ``scale_min``, ``scale_max``: the Likert range the statements
    quote (from the value set: :func:`hlstudy.codebook.likert_range`).  ``short_tenure_years``: fewer years in post count as "little
    experience".  ``degree_levels``: education codes counted as a university degree or
    above.  ``low_political_theory``: political-theory codes counted as none/elementary.
    ``no_state_management``: state-management training codes counted as none.
    """

    weak_cutoff: float = 3.0
    short_tenure_years: float = 5.0
    degree_levels: frozenset = frozenset({"university", "master", "doctorate"})
    low_political_theory: frozenset = frozenset({"none", "elementary"})
    no_state_management: frozenset = frozenset({"none"})
    conf: float = 0.95
    min_cell: int = 5
    scale_min: int = 1
    scale_max: int = 5

    def summary(self) -> str:
        return (f"weak: score < {self.weak_cutoff}; short tenure: < {self.short_tenure_years} "
                f"years; degree: {sorted(self.degree_levels)}; low political theory: "
                f"{sorted(self.low_political_theory)}; no state-management training: "
                f"{sorted(self.no_state_management)}")


_DECIMAL = re.compile(r"(?<=\d)\.(?=\d)")


@dataclass
class Finding:
    """What the diagnostic found for one claim (Vietnamese statement with decimal commas)."""

    claim_id: str
    statement_vi: str
    statement_en: str
    numbers: dict = field(default_factory=dict)

    def __post_init__(self):
        self.statement_vi = _DECIMAL.sub(",", self.statement_vi)

    def summary(self) -> str:
        return f"{self.claim_id}: {self.statement_en}"

    def __repr__(self) -> str:
        return self.summary()


def _pct(x: float) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{100 * x:.1f}"


def _num(x: float, d: int = 2) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    s = f"{x:.{d}f}"
    return f"{0:.{d}f}" if float(s) == 0 else s  # no "-0.00"


def clustered_share(indicator: pd.Series, group: pd.Series, conf: float = 0.95) -> dict:
    """Share of True among non-missing ``indicator`` with a design-effect Wilson interval.

    ``deff = 1 + (n0 − 1)·max(ICC, 0)``, ICC the one-way ANOVA estimator of the indicator
    across ``group`` (n0 the average group size).  Returns ``{"n", "k", "share", "lo", "hi",
    "deff"}``.
    """
    d = pd.DataFrame({"y": pd.Series(indicator).astype("boolean"),
                      "g": pd.Series(group).astype("string")}).dropna()
    n, k = len(d), int(d["y"].sum()) if len(d) else 0
    if n == 0:
        return {"n": 0, "k": 0, "share": np.nan, "lo": np.nan, "hi": np.nan, "deff": np.nan}
    deff = 1.0
    y = d["y"].astype(float)
    if d["g"].nunique() > 1 and len(d) > d["g"].nunique() and 0 < k < n:
        within = (y - y.groupby(d["g"]).transform("mean")).pow(2).sum()
        if within > 0:
            icc1, *_rest, n0 = quality._anova(pd.DataFrame({"g": d["g"], "y": y}), conf)
        else:  # every commune all-or-nothing: the indicator is entirely between communes
            sizes = d.groupby("g").size().to_numpy(float)
            icc1, n0 = 1.0, (n - (sizes**2).sum() / n) / (len(sizes) - 1)
        deff = 1.0 + max(n0 - 1.0, 0.0) * max(float(icc1), 0.0)
    lo, hi = wilson_deff(k, n, deff, conf)
    return {"n": n, "k": k, "share": k / n, "lo": float(lo), "hi": float(hi), "deff": deff}


def _require(df: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    absent = [c for c in cols if c not in df.columns]
    if absent:
        raise ModelError(f"{what} lacks columns {absent}")


def finding_d1(compliance: ComplianceResult, scores: pd.DataFrame, *, group: str,
               th: Thresholds = Thresholds(), dims: Iterable[str] = ("PRO", "ETH")) -> Finding:
    """D1 — competence and ethics do not yet meet job requirements.

    Numbers: civil servants not meeting at least one Decree 33 standard (and the most
    frequently unmet standard); district mean of each quality dimension in ``dims`` and the
    share of officials below ``th.weak_cutoff``.
    """
    dims = list(dims)
    _require(scores, [group, *dims], "scores")
    ov = compliance.overall.set_index("rule_id")
    if ANY_RULE not in ov.index:
        raise ModelError("compliance result has no ANY rule")
    anyr = ov.loc[ANY_RULE]
    rules = ov.drop(index=[ANY_RULE], errors="ignore")
    rules = rules[rules["n"] > 0]
    worst = rules["share"].idxmax() if len(rules) else None
    num = {"cs_n": int(anyr["n"]), "cs_k_not_met": int(anyr["k"]),
           "cs_share_not_met": float(anyr["share"]), "cs_lo": float(anyr["lo"]),
           "cs_hi": float(anyr["hi"]), "cs_missing": int(anyr["n_missing"]),
           "worst_rule": worst,
           "worst_share": float(rules.at[worst, "share"]) if worst else np.nan,
           "weak_cutoff": th.weak_cutoff}
    parts_vi, parts_en = [], []
    for dim in dims:
        m = quality.district_mean(scores, dim, group, th.conf)
        s = clustered_share(pd.to_numeric(scores[dim], errors="coerce").lt(th.weak_cutoff)
                            .where(scores[dim].notna()), scores[group], th.conf)
        num.update({f"{dim}_mean": m["mean"], f"{dim}_lo": m["lo"], f"{dim}_hi": m["hi"],
                    f"{dim}_n": m["n"], f"{dim}_weak_k": s["k"], f"{dim}_weak_share": s["share"],
                    f"{dim}_weak_lo": s["lo"], f"{dim}_weak_hi": s["hi"]})
        parts_vi.append(f"{NAMES_VI[dim]} ({dim}) trung bình {_num(m['mean'])} "
                        f"(KTC 95%: {_num(m['lo'])}–{_num(m['hi'])}), {_pct(s['share'])}% "
                        f"({s['k']}/{s['n']}) dưới ngưỡng {th.weak_cutoff:g}")
        parts_en.append(f"{NAMES_EN[dim]} ({dim}) averages {_num(m['mean'])} "
                        f"(95% CI {_num(m['lo'])}–{_num(m['hi'])}), {_pct(s['share'])}% "
                        f"({s['k']}/{s['n']}) below {th.weak_cutoff:g}")
    worst_vi = (f"; tiêu chuẩn chưa đạt nhiều nhất: {RULES_VI.get(worst, worst)} "
                f"({_pct(num['worst_share'])}%)" if worst else "")
    worst_en = (f"; the most often unmet standard is {RULES_EN.get(worst, worst)} "
                f"({_pct(num['worst_share'])}%)" if worst else "")
    vi = (f"{num['cs_k_not_met']}/{num['cs_n']} công chức ({_pct(num['cs_share_not_met'])}%, "
          f"KTC 95%: {_pct(num['cs_lo'])}–{_pct(num['cs_hi'])}%) chưa đạt ít nhất một tiêu "
          f"chuẩn của Nghị định 33/2023{worst_vi}. Điểm tự đánh giá (thang "
          f"{th.scale_min}–{th.scale_max}): "
          + "; ".join(parts_vi) + ".")
    en = (f"{num['cs_k_not_met']}/{num['cs_n']} civil servants ({_pct(num['cs_share_not_met'])}%, "
          f"95% CI {_pct(num['cs_lo'])}–{_pct(num['cs_hi'])}%) do not meet at least one "
          f"Decree 33/2023 standard{worst_en}. Self-assessed scores "
          f"({th.scale_min}–{th.scale_max}): "
          + "; ".join(parts_en) + ".")
    return Finding("D1", vi, en, num)


def finding_d2(personnel: pd.DataFrame, scores: pd.DataFrame, *, group: str, tenure: str,
               th: Thresholds = Thresholds(), dims: Iterable[str] = QUALITY,
               focus: str = "SKL") -> Finding:
    """D2 — many lack experience and management/leadership skills.

    Numbers: share with fewer than ``th.short_tenure_years`` in post and the median tenure;
    the district mean of ``focus`` (skills) minus the mean of the other quality dimensions,
    per person (paired), with a clustered interval; rank of ``focus`` among ``dims``.
    """
    dims = list(dims)
    if focus not in dims:
        raise ModelError(f"{focus} must be one of the dimensions {dims}")
    _require(personnel, [group, tenure], "personnel")
    _require(scores, [group, *dims], "scores")
    t = pd.to_numeric(personnel[tenure], errors="coerce")
    s = clustered_share(t.lt(th.short_tenure_years).where(t.notna()), personnel[group], th.conf)
    others = [d for d in dims if d != focus]
    sc = scores[[group, *dims]].apply(lambda c: pd.to_numeric(c, errors="coerce")
                                      if c.name != group else c)
    diff = sc[focus] - sc[others].mean(axis=1, skipna=False)
    dm = quality.district_mean(pd.DataFrame({"g": sc[group], "d": diff}), "d", "g", th.conf)
    means = {d: float(sc[d].mean()) for d in dims}
    rank = 1 + sum(means[d] > means[focus] for d in dims)
    num = {"tenure_n": s["n"], "short_k": s["k"], "short_share": s["share"], "short_lo": s["lo"],
           "short_hi": s["hi"], "short_tenure_years": th.short_tenure_years,
           "tenure_median": float(t.median()), "focus": focus, "diff_mean": dm["mean"],
           "diff_lo": dm["lo"], "diff_hi": dm["hi"], "focus_rank": rank, "n_dims": len(dims),
           **{f"{d}_raw_mean": means[d] for d in dims}}
    vi = (f"{_pct(s['share'])}% ({s['k']}/{s['n']}; KTC 95%: {_pct(s['lo'])}–{_pct(s['hi'])}%) "
          f"cán bộ, công chức giữ vị trí dưới {th.short_tenure_years:g} năm; thâm niên trung vị "
          f"{_num(num['tenure_median'], 1)} năm. Điểm {NAMES_VI[focus]} ({focus}) chênh "
          f"{_num(dm['mean'])} điểm so với trung bình các khía cạnh còn lại (KTC 95%: "
          f"{_num(dm['lo'])} đến {_num(dm['hi'])}), đứng thứ {rank}/{len(dims)}.")
    en = (f"{_pct(s['share'])}% ({s['k']}/{s['n']}; 95% CI {_pct(s['lo'])}–{_pct(s['hi'])}%) "
          f"have held their post for less than {th.short_tenure_years:g} years; median tenure "
          f"{_num(num['tenure_median'], 1)} years. The {NAMES_EN[focus]} score ({focus}) differs by "
          f"{_num(dm['mean'])} points from the mean of the other dimensions (95% CI "
          f"{_num(dm['lo'])} to {_num(dm['hi'])}), ranking {rank} of {len(dims)}.")
    return Finding("D2", vi, en, num)


def finding_d3(scores: pd.DataFrame, personnel: pd.DataFrame, *, group: str, education: str,
               th: Thresholds = Thresholds(), dims: Iterable[str] = QUALITY,
               focus: str = "PRO", n_sim: int = 2000, seed: int = 0) -> Finding:
    """D3 — qualifications and competence are unevenly distributed across communes.

    Numbers: ICC (REML) of each quality dimension with the ANOVA interval and F-test p;
    the share with a degree by commune (range) and a Monte-Carlo chi-square test of degree ×
    commune; how many communes' empirical-Bayes intervals for ``focus`` exclude the
    district mean.
    """
    dims = list(dims)
    _require(scores, [group, *dims], "scores")
    _require(personnel, [group, education], "personnel")
    iccs = {d: quality.icc(scores, d, group, th.conf) for d in dims}
    edu = personnel[[group, education]].dropna()
    deg = edu[education].astype("string").isin(th.degree_levels)
    tab = pd.crosstab(edu[group], deg)
    test = chisq_mc(tab.to_numpy(), n_sim=n_sim, seed=seed)
    by = deg.groupby(edu[group]).agg(["sum", "count", "mean"])
    lo, hi = by.loc[by["mean"].idxmin()], by.loc[by["mean"].idxmax()]
    cm = quality.commune_means(scores, [focus], group, method="mixed", conf=th.conf)
    centre = quality.district_mean(scores, focus, group, th.conf)["mean"]
    apart = int(((cm["lo"] > centre) | (cm["hi"] < centre)).sum())
    num = {f"{d}_icc": r.icc for d, r in iccs.items()}
    num.update({f"{d}_icc_lo": r.icc_anova_lo for d, r in iccs.items()})
    num.update({f"{d}_icc_hi": r.icc_anova_hi for d, r in iccs.items()})
    num.update({f"{d}_icc_p": r.p_value for d, r in iccs.items()})
    ext = {}
    for tag, row in (("min", lo), ("max", hi)):
        k, n = int(row["sum"]), int(row["count"])
        w_lo, w_hi = wilson(k, n, th.conf)
        ext.update({f"degree_share_{tag}": float(row["mean"]), f"degree_k_{tag}": k,
                    f"degree_n_{tag}": n, f"degree_lo_{tag}": float(w_lo),
                    f"degree_hi_{tag}": float(w_hi)})

    def rate(tag: str, lang: str) -> str:
        """A commune's rate with its k/n and Wilson interval; a rate of fewer than min_cell
        people (k or n of 1 to min_cell - 1, the rule of SHARE_SUPPRESSION) is not given."""
        k, n = ext[f"degree_k_{tag}"], ext[f"degree_n_{tag}"]
        if 0 < k < th.min_cell or n < th.min_cell:
            return (f"— không nêu tỷ lệ vì dưới {th.min_cell} người" if lang == "vi" else
                    f"— no rate given: fewer than {th.min_cell} people")
        ci = "KTC 95%" if lang == "vi" else "95% CI"
        return (f"{_pct(ext[f'degree_share_{tag}'])}% ({k}/{n}; {ci}: "
                f"{_pct(ext[f'degree_lo_{tag}'])}–{_pct(ext[f'degree_hi_{tag}'])}%)")

    num.update(ext)
    num.update({
                "chisq": test["statistic"], "chisq_df": test["df"], "chisq_p_mc": test["p_mc"],
                "n_sim": n_sim, "n_communes": int(len(cm)), "focus": focus,
                "communes_apart": apart})
    icc_vi = "; ".join(f"{d} {_num(r.icc, 3)} [{_num(r.icc_anova_lo, 3)}; "
                       f"{_num(r.icc_anova_hi, 3)}]" for d, r in iccs.items())
    vi = (f"Hệ số tương quan nội lớp (ICC, tỷ lệ phương sai nằm giữa các xã): {icc_vi}. "
          f"Tỷ lệ có trình độ đại học trở lên giữa các xã thấp nhất {rate('min', 'vi')}, "
          f"cao nhất {rate('max', 'vi')} (kiểm định χ² = "
          f"{_num(test['statistic'])}, bậc tự do {test['df']}, p Monte Carlo = "
          f"{test['p_mc']:.3g}). {apart}/{len(cm)} xã có khoảng tin cậy điểm {focus} "
          f"không chứa trung bình toàn huyện.")
    en = (f"Intraclass correlation (share of variance between communes): {icc_vi}. "
          f"The share with a university degree or above is lowest at {rate('min', 'en')} and "
          f"highest at {rate('max', 'en')} across communes (χ² = {_num(test['statistic'])}, "
          f"df {test['df']}, Monte-Carlo p = {test['p_mc']:.3g}). {apart} of {len(cm)} "
          f"communes have a {focus} interval that excludes the district mean.")
    return Finding("D3", vi, en, num)


def finding_d4(personnel: pd.DataFrame, *, group: str, education: str, political_theory: str,
               state_management: str, trainings: str | None = None,
               th: Thresholds = Thresholds()) -> Finding:
    """D4 — some are highly qualified but many lack formal training.

    Numbers: share with a degree; share with no/elementary political theory; share without
    state-management training; share with no training course in the last 24 months.
    """
    cols = [group, education, political_theory, state_management] + ([trainings] if trainings
                                                                     else [])
    _require(personnel, cols, "personnel")

    def _in(col, codes):
        v = personnel[col].astype("string")
        return v.isin(set(codes)).where(v.notna())

    items = {"degree": _in(education, th.degree_levels),
             "low_political_theory": _in(political_theory, th.low_political_theory),
             "no_state_management": _in(state_management, th.no_state_management)}
    if trainings:
        tr = pd.to_numeric(personnel[trainings], errors="coerce")
        items["no_training_24m"] = tr.eq(0).where(tr.notna())
    res = {k: clustered_share(v, personnel[group], th.conf) for k, v in items.items()}
    num = {}
    for k, s in res.items():
        num.update({f"{k}_n": s["n"], f"{k}_k": s["k"], f"{k}_share": s["share"],
                    f"{k}_lo": s["lo"], f"{k}_hi": s["hi"]})

    def ci(k):
        return (f"{_pct(res[k]['share'])}% ({int(res[k]['k'])}/{int(res[k]['n'])}; "
                f"{_pct(res[k]['lo'])}–{_pct(res[k]['hi'])}%)")

    vi = (f"Có trình độ đại học trở lên: {ci('degree')}; lý luận chính trị chưa có hoặc sơ cấp: "
          f"{ci('low_political_theory')}; chưa qua bồi dưỡng quản lý nhà nước: "
          f"{ci('no_state_management')}")
    en = (f"University degree or above: {ci('degree')}; no or elementary political theory: "
          f"{ci('low_political_theory')}; no state-management training: "
          f"{ci('no_state_management')}")
    if trainings:
        vi += f"; không tham gia khóa bồi dưỡng nào trong 24 tháng qua: {ci('no_training_24m')}"
        en += f"; no training course in the last 24 months: {ci('no_training_24m')}"
    return Finding("D4", vi + " (k/n; KTC 95% Wilson có hiệu chỉnh hiệu ứng thiết kế theo xã).",
                   en + " (k/n; 95% Wilson CIs with a design effect for communes).", num)


def finding_d5(scores: pd.DataFrame, citizen_means: Mapping | pd.Series, *, group: str,
               th: Thresholds = Thresholds(), dim: str = "RSP") -> Finding:
    """D5 — some lack responsibility and initiative, which hurts performance.

    Numbers: district mean of ``dim`` and the share below the weak cut-off; Pearson
    correlation across communes between the officials' mean ``dim`` and the citizens'
    mean assessment (``citizen_means``: commune → mean), Fisher-z interval.
    """
    _require(scores, [group, dim], "scores")
    m = quality.district_mean(scores, dim, group, th.conf)
    val = pd.to_numeric(scores[dim], errors="coerce")
    s = clustered_share(val.lt(th.weak_cutoff).where(val.notna()), scores[group], th.conf)
    off = val.groupby(scores[group].astype("string")).mean()
    cit = pd.Series(citizen_means, dtype=float)
    cit.index = cit.index.astype("string")
    both = pd.concat([off.rename("off"), cit.rename("cit")], axis=1, join="inner").dropna()
    r = fisher_correlation(both["off"], both["cit"], th.conf)
    num = {f"{dim}_mean": m["mean"], f"{dim}_lo": m["lo"], f"{dim}_hi": m["hi"],
           "weak_k": s["k"], "weak_n": s["n"], "weak_share": s["share"], "weak_lo": s["lo"],
           "weak_hi": s["hi"], "weak_cutoff": th.weak_cutoff, "r": r["r"], "r_lo": r["lo"],
           "r_hi": r["hi"], "r_p": r["p"], "n_communes": r["n"]}
    vi = (f"Điểm {NAMES_VI[dim]} ({dim}) trung bình {_num(m['mean'])} (KTC 95%: "
          f"{_num(m['lo'])}–{_num(m['hi'])}); {_pct(s['share'])}% ({s['k']}/{s['n']}) dưới "
          f"ngưỡng {th.weak_cutoff:g}. Tương quan giữa điểm {dim} trung bình của xã và đánh giá "
          f"của người dân: r = {_num(r['r'])} (KTC 95%: {_num(r['lo'])} đến {_num(r['hi'])}; "
          f"p = {r['p']:.3g}; {r['n']} xã).")
    en = (f"The {NAMES_EN[dim]} score ({dim}) averages {_num(m['mean'])} (95% CI "
          f"{_num(m['lo'])}–{_num(m['hi'])}); {_pct(s['share'])}% ({s['k']}/{s['n']}) are below "
          f"{th.weak_cutoff:g}. Correlation between a commune's mean {dim} and citizens' "
          f"assessment: r = {_num(r['r'])} (95% CI {_num(r['lo'])} to {_num(r['hi'])}; "
          f"p = {r['p']:.3g}; {r['n']} communes).")
    return Finding("D5", vi, en, num)


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else round(float(v), 6)
    return v


def findings_table(findings: Iterable[Finding]) -> pd.DataFrame:
    """Stack findings into ``claim_id, statement_vi, statement_en, key_numbers`` (JSON)."""
    rows = [{"claim_id": f.claim_id, "statement_vi": f.statement_vi,
             "statement_en": f.statement_en,
             "key_numbers": json.dumps({k: _jsonable(v) for k, v in f.numbers.items()},
                                       ensure_ascii=False, sort_keys=True)}
            for f in findings]
    return pd.DataFrame(rows).sort_values("claim_id", ignore_index=True)
