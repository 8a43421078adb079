"""Computed findings for the diagnostic claims D1–D5 (thesis part II), for notebook 06's ledger.

Each ``finding_dN`` function returns a :class:`Finding`: the claim id, a Vietnamese and an
English statement with the numbers filled in, and the numbers themselves (a flat dict).
:func:`findings_table` stacks them into a DataFrame (``claim_id, statement_vi,
statement_en, key_numbers``; ``key_numbers`` is a JSON string so the table exports to CSV).

The statements describe what was found; they decide nothing.  A claim has one verdict, the
claims ledger's (:func:`hlstudy.evidence.evaluate`, with the rules and thresholds of
:class:`hlstudy.evidence.Rules`): :func:`findings_table` takes it from
:func:`hlstudy.evidence.claim_verdicts` (``verdicts=``), so that notebook 04 and notebook 06
cannot give the same claim two verdicts, and the verdict's reason names each part of the
claim with its criterion, so the table says where the data contradict the thesis (issue 13,
kind 5).  The ledger reads its numbers from the functions of this module (the same code).
Description thresholds (the scale's midpoint, what counts as short tenure) are fields of
:class:`Thresholds`, stated in the notebook.

Intervals follow docs/inference.md: shares from the personnel register (a census of the 467
officials) are exact and carry no interval (:func:`register_share`, also D1's share of civil
servants missing a Decree 33 standard); district shares and
means from the officials' survey are stratified by commune with the finite-population
correction when the frame sizes are given (``frame=``, :func:`survey_share`,
:func:`hlstudy.diagnostic.intervals.stratified_mean`), else (no frame) a design-effect
Wilson interval (:func:`clustered_share`) and the random-intercept district mean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hlstudy.codebook import INSTRUMENT_NOUNS
from hlstudy.diagnostic import quality
from hlstudy.diagnostic.compliance import ANY_RULE, ComplianceResult
from hlstudy.diagnostic.intervals import (
    census_share,
    chisq_mc,
    stratified_mean,
    wilson_deff,
)
from hlstudy.errors import ModelError
from hlstudy.export import minus_sign, p_text

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
    """Analysis thresholds of the diagnostic (stated in notebook 04).

    ``weak_cutoff``: a scale score (mean of 1–5 items) below it counts as "weak"; 3 is the
    scale's neutral point.  ``scale_min``, ``scale_max``: the Likert range the statements
    quote (from the value set: :func:`hlstudy.codebook.likert_range`).  ``short_tenure_years``: fewer years in post count as "little
    experience".  ``degree_levels``: education codes counted as a university degree or
    above.  ``low_political_theory``: political-theory codes counted as none/elementary.
    ``no_state_management``: state-management training codes counted as none.
    ``weak_cutoff`` is the scale's midpoint, not a "required level": no document sets one.
    What share counts as "many" is a rule of the claims ledger
    (:attr:`hlstudy.evidence.Rules.descriptive_share`), not a threshold of the description.
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


def _ci_label(th: Thresholds, lang: str) -> str:
    """The interval's name in a statement, at the thresholds' level: ``KTC 95%`` / ``95% CI``
    (``KTC 90%`` with ``Thresholds(conf=0.90)``; the statements typed 95 whatever the level).

    >>> _ci_label(Thresholds(), "vi"), _ci_label(Thresholds(conf=0.9), "en")
    ('KTC 95%', '90% CI')
    """
    from hlstudy.export import number

    level = number(100 * th.conf, 0 if float(100 * th.conf).is_integer() else 1, lang=lang)
    return f"KTC {level}%" if lang == "vi" else f"{level}% CI"




@dataclass
class Finding:
    """What the diagnostic found for one claim (Vietnamese statement with decimal commas).

    ``verdict``, ``verdict_vi``, ``verdict_en`` are empty: the claim's verdict is the claims
    ledger's, joined by :func:`findings_table` (``verdicts=``)."""

    claim_id: str
    statement_vi: str
    statement_en: str
    numbers: dict = field(default_factory=dict)
    verdict: str = ""
    verdict_vi: str = ""
    verdict_en: str = ""

    def __post_init__(self):
        self.statement_vi = _DECIMAL.sub(",", self.statement_vi)
        self.verdict_vi = _DECIMAL.sub(",", self.verdict_vi)

    def summary(self) -> str:
        return f"{self.claim_id}: {self.statement_en}"

    def __repr__(self) -> str:
        return self.summary()


#: What a statement says of a number that needs the personnel register when the study has
#: none (Vietnamese, English); the numbers then carry ``"missing": ["personnel"]``.
def _not_computed(instrument: str) -> tuple[str, str]:
    vi, en = INSTRUMENT_NOUNS[instrument]
    return (f"không tính được (cần {vi}, không có trong dữ liệu)",
            f"not computed (needs the {en}, absent from this study)")


NO_REGISTER = _not_computed("personnel")
#: The same for a number that needs the citizens' survey (``"missing": ["citizens"]``).
NO_CITIZENS = _not_computed("citizens")


def _pct(x: float) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{100 * x:.1f}"


def _num(x: float, d: int = 2) -> str:
    """``x`` with ``d`` decimals and a point (the Vietnamese statement's points become commas
    in :class:`Finding`); a negative number with the minus sign (:func:`export.minus_sign`)."""
    if x is None or not np.isfinite(x):
        return "–"
    s = f"{x:.{d}f}"
    return f"{0:.{d}f}" if float(s) == 0 else minus_sign(s)  # no "-0.00"


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


def register_share(indicator: pd.Series) -> dict:
    """Share of True among non-missing ``indicator`` of the personnel register: a census,
    so the share is exact (``lo`` = ``hi`` = share; docs/inference.md).

    >>> register_share(pd.Series([True, False, None, True]))["share"]
    0.6666666666666666
    """
    y = pd.Series(indicator).astype("boolean").dropna()
    n, k = len(y), int(y.sum()) if len(y) else 0
    share = k / n if n else np.nan
    return {"n": n, "k": k, "share": share, "lo": share, "hi": share, "deff": np.nan}


def survey_share(indicator: pd.Series, group: pd.Series, frame: Mapping | None,
                 conf: float = 0.95) -> dict:
    """Share from the officials' survey: stratified by commune with the finite-population
    correction when ``frame`` (commune → number of officials in the register) is given,
    else :func:`clustered_share`."""
    if frame is None:
        return clustered_share(indicator, group, conf)
    d = pd.DataFrame({"y": pd.Series(indicator).astype("boolean"),
                      "g": pd.Series(group).astype("string")}).dropna()
    n, k = len(d), int(d["y"].sum()) if len(d) else 0
    if n == 0:
        return {"n": 0, "k": 0, "share": np.nan, "lo": np.nan, "hi": np.nan, "deff": np.nan}
    r = stratified_mean(d["y"].astype(float), d["g"], frame, conf=conf, proportion=True)
    return {"n": n, "k": k, "share": r["estimate"], "lo": r["lo"], "hi": r["hi"],
            "deff": np.nan}


def survey_mean(scores: pd.DataFrame, column: str, group: str, frame: Mapping | None,
                conf: float = 0.95) -> dict:
    """District mean of a survey score: stratified fpc with ``frame``, else the
    random-intercept mean (:func:`hlstudy.diagnostic.quality.district_mean`)."""
    if frame is None:
        return quality.district_mean(scores, column, group, conf)
    r = stratified_mean(scores[column], scores[group], frame, conf=conf)
    return {"mean": r["estimate"], "lo": r["lo"], "hi": r["hi"], "n": r["n"]}


def _require(df: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    absent = [c for c in cols if c not in df.columns]
    if absent:
        raise ModelError(f"{what} lacks columns {absent}")


def _overall_and_any(compliance: ComplianceResult, scores: pd.DataFrame, group: str,
                     dims: list) -> tuple[pd.DataFrame, pd.Series]:
    """D1's checked inputs: the overall table by rule id and its ``ANY`` row."""
    _require(scores, [group, *dims], "scores")
    ov = compliance.overall.set_index("rule_id")
    if ANY_RULE not in ov.index:
        raise ModelError("compliance result has no ANY rule")
    return ov, ov.loc[ANY_RULE]


def _census_not_met(anyr) -> dict:
    """D1's share of civil servants missing a standard: the register is a census, so the
    share is exact (``cs_lo`` = ``cs_hi`` = the share, as :func:`register_share`), whatever
    interval the compliance table carries."""
    k, n = int(anyr["k"]), int(anyr["n"])
    s = census_share([k], [n]).iloc[0]
    return {"cs_n": n, "cs_k_not_met": k, "cs_share_not_met": float(s["share"]),
            "cs_lo": float(s["lo"]), "cs_hi": float(s["hi"])}


def finding_d1(compliance: ComplianceResult | None, scores: pd.DataFrame, *, group: str,
               th: Thresholds = Thresholds(), dims: Iterable[str] = ("PRO", "ETH"),
               compliance_alt: ComplianceResult | None = None,
               frame: Mapping | None = None) -> Finding:
    """D1 — competence and ethics do not yet meet job requirements.

    Numbers: civil servants not meeting at least one Decree 33 standard (and the most
    frequently unmet standard) — from the register, a census, so exact; with
    ``compliance_alt`` (the other reading of the intermediate-level exception) its share too;
    district mean of each quality dimension in ``dims`` and the share of officials below
    the scale's midpoint ``th.weak_cutoff`` (survey: fpc intervals with ``frame``).
    No verdict: the claims ledger judges D1 (:func:`findings_table`, ``verdicts=``).

    ``compliance=None`` (a study without the personnel register): the survey's numbers
    alone, the statement saying the register's share is not computed (``"missing":
    ["personnel"]`` in the numbers).
    """
    dims = list(dims)
    if compliance is None:
        if compliance_alt is not None:
            raise ModelError("compliance_alt given without compliance")
        _require(scores, [group, *dims], "scores")
        return _d1_statement(None, scores, group, th, dims, frame,
                             {"weak_cutoff": th.weak_cutoff, "missing": ["personnel"]})
    ov, anyr = _overall_and_any(compliance, scores, group, dims)
    rules = ov.drop(index=[ANY_RULE], errors="ignore")
    rules = rules[rules["n"] > 0]
    worst = rules["share"].idxmax() if len(rules) else None
    # a share over n gives n back, and the civil servants minus n the ones without data: a
    # missing count of 1 to min_cell - 1 is published as hidden (profile.suppress_shares'
    # ``missing``), so the share is not stated, only its count k
    worst_missing = int(rules.at[worst, "n_missing"]) if worst else 0
    worst_hidden = 1 <= worst_missing < th.min_cell
    num = {**_census_not_met(anyr), "cs_missing": int(anyr["n_missing"]),
           "worst_rule": worst,
           "worst_k": int(rules.at[worst, "k"]) if worst else 0,
           "worst_share": (float(rules.at[worst, "share"]) if worst and not worst_hidden
                           else np.nan),
           "weak_cutoff": th.weak_cutoff}
    if compliance_alt is not None:
        alt = compliance_alt.overall.set_index("rule_id").loc[ANY_RULE]
        num.update({"cs_alt_k_not_met": int(alt["k"]), "cs_alt_n": int(alt["n"]),
                    "cs_alt_share_not_met": float(alt["share"]),
                    "cs_alt_policy": compliance_alt.policy.summary("en")})
    if worst_hidden:
        worst_vi = (f"; tiêu chuẩn chưa đạt nhiều nhất: {RULES_VI.get(worst, worst)} "
                    f"({num['worst_k']} người; tỷ lệ không nêu vì số công chức thiếu dữ liệu "
                    f"dưới {th.min_cell} người)")
        worst_en = (f"; the most often unmet standard is {RULES_EN.get(worst, worst)} "
                    f"({num['worst_k']} people; no share given: fewer than {th.min_cell} "
                    "civil servants lack data)")
    else:
        worst_vi = (f"; tiêu chuẩn chưa đạt nhiều nhất: {RULES_VI.get(worst, worst)} "
                    f"({_pct(num['worst_share'])}%)" if worst else "")
        worst_en = (f"; the most often unmet standard is {RULES_EN.get(worst, worst)} "
                    f"({_pct(num['worst_share'])}%)" if worst else "")
    alt_vi = alt_en = ""
    if compliance_alt is not None:
        alt_vi = (f"; theo cách đọc còn lại của ngoại lệ trung cấp: "
                  f"{num['cs_alt_k_not_met']}/{num['cs_alt_n']} "
                  f"({_pct(num['cs_alt_share_not_met'])}%)")
        alt_en = (f"; under the other reading of the intermediate-level exception: "
                  f"{num['cs_alt_k_not_met']}/{num['cs_alt_n']} "
                  f"({_pct(num['cs_alt_share_not_met'])}%)")
    register = (
        f"{num['cs_k_not_met']}/{num['cs_n']} công chức ({_pct(num['cs_share_not_met'])}%; "
        f"toàn bộ {INSTRUMENT_NOUNS['personnel'][0]}, không có sai số chọn mẫu) chưa đạt ít nhất một tiêu "
        f"chuẩn của Nghị định 33/2023{worst_vi}{alt_vi}.",
        f"{num['cs_k_not_met']}/{num['cs_n']} civil servants ({_pct(num['cs_share_not_met'])}%; "
        f"the whole register, no sampling error) do not meet at least one "
        f"Decree 33/2023 standard{worst_en}{alt_en}.")
    return _d1_statement(register, scores, group, th, dims, frame, num)


def _d1_statement(register: tuple[str, str] | None, scores: pd.DataFrame, group: str,
                  th: Thresholds, dims: list, frame: Mapping | None, num: dict) -> Finding:
    """D1's survey numbers added to ``num`` and its statement: the register's sentence
    (Vietnamese, English; ``None``: the study has no register, said) then the scores."""
    parts_vi, parts_en = [], []
    for dim in dims:
        m = survey_mean(scores, dim, group, frame, th.conf)
        s = survey_share(pd.to_numeric(scores[dim], errors="coerce").lt(th.weak_cutoff)
                         .where(scores[dim].notna()), scores[group], frame, th.conf)
        num.update({f"{dim}_mean": m["mean"], f"{dim}_lo": m["lo"], f"{dim}_hi": m["hi"],
                    f"{dim}_n": m["n"], f"{dim}_weak_k": s["k"], f"{dim}_weak_share": s["share"],
                    f"{dim}_weak_lo": s["lo"], f"{dim}_weak_hi": s["hi"]})
        parts_vi.append(f"{NAMES_VI[dim]} ({dim}) trung bình {_num(m['mean'])} "
                        f"({_ci_label(th, 'vi')}: {_num(m['lo'])}–{_num(m['hi'])}), {_pct(s['share'])}% "
                        f"({s['k']}/{s['n']}) dưới điểm giữa thang {th.weak_cutoff:g}")
        parts_en.append(f"{NAMES_EN[dim]} ({dim}) averages {_num(m['mean'])} "
                        f"({_ci_label(th, 'en')} {_num(m['lo'])}–{_num(m['hi'])}), {_pct(s['share'])}% "
                        f"({s['k']}/{s['n']}) below the scale midpoint {th.weak_cutoff:g}")
    if register is None:
        register = (f"Tỷ lệ công chức chưa đạt tiêu chuẩn của Nghị định 33/2023: "
                    f"{NO_REGISTER[0]}.",
                    f"Share of civil servants not meeting the Decree 33/2023 standards: "
                    f"{NO_REGISTER[1]}.")
    vi = (f"{register[0]} Điểm tự đánh giá (thang {th.scale_min}–{th.scale_max}): "
          + "; ".join(parts_vi) + ".")
    en = (f"{register[1]} Self-assessed scores ({th.scale_min}–{th.scale_max}): "
          + "; ".join(parts_en) + ".")
    return Finding("D1", vi, en, num)


def finding_d1_shares(compliance: ComplianceResult | None, scores: pd.DataFrame, *, group: str,
                      th: Thresholds = Thresholds(), dims: Iterable[str] = ("PRO", "ETH"),
                      frame: Mapping | None = None) -> dict:
    """The shares of :func:`finding_d1` (no ``compliance_alt``): ``cs_n``,
    ``cs_k_not_met``, ``cs_share_not_met``, ``cs_lo``, ``cs_hi`` and, for each of ``dims``,
    ``{dim}_n``, ``{dim}_weak_k``, ``{dim}_weak_share``, ``{dim}_weak_lo``, ``{dim}_weak_hi``
    (the same values).

    The claims ledger reads only these; this skips each dimension's district mean (a
    random-intercept fit whose ``n`` alone is read: the number of usable scores) and the
    statement.  Raises :class:`ModelError` as :func:`finding_d1` for missing columns, a
    result without the ``ANY`` rule and a dimension whose scores cannot give a district mean
    (fewer than 2 communes, no more scores than communes).  ``compliance=None`` (no
    personnel register): the survey's shares alone (no ``cs_`` numbers).
    """
    dims = list(dims)
    if compliance is None:
        _require(scores, [group, *dims], "scores")
        num = {}
    else:
        _, anyr = _overall_and_any(compliance, scores, group, dims)
        num = _census_not_met(anyr)
    for dim in dims:
        n = len(quality._clean(scores, dim, group))  # district_mean's data and checks
        s = survey_share(pd.to_numeric(scores[dim], errors="coerce").lt(th.weak_cutoff)
                         .where(scores[dim].notna()), scores[group], frame, th.conf)
        num.update({f"{dim}_n": n, f"{dim}_weak_k": s["k"], f"{dim}_weak_share": s["share"],
                    f"{dim}_weak_lo": s["lo"], f"{dim}_weak_hi": s["hi"]})
    return num


def finding_d2(personnel: pd.DataFrame | None, scores: pd.DataFrame, *, group: str,
               tenure: str, th: Thresholds = Thresholds(), dims: Iterable[str] = QUALITY,
               focus: str = "SKL") -> Finding:
    """D2 — many lack experience and management/leadership skills.

    Numbers: share with fewer than ``th.short_tenure_years`` in post and the median tenure;
    the district mean of ``focus`` (skills) minus the mean of the other quality dimensions,
    per person (paired), with a clustered interval; rank of ``focus`` among ``dims``.
    ``personnel=None`` (a study without the register): the survey's numbers alone, the
    statement saying tenure is not computed (``"missing": ["personnel"]`` in the numbers).
    """
    dims = list(dims)
    if focus not in dims:
        raise ModelError(f"{focus} must be one of the dimensions {dims}")
    if personnel is not None:
        _require(personnel, [group, tenure], "personnel")
    _require(scores, [group, *dims], "scores")
    others = [d for d in dims if d != focus]
    sc = scores[[group, *dims]].apply(lambda c: pd.to_numeric(c, errors="coerce")
                                      if c.name != group else c)
    diff = sc[focus] - sc[others].mean(axis=1, skipna=False)
    dm = quality.district_mean(pd.DataFrame({"g": sc[group], "d": diff}), "d", "g", th.conf)
    means = {d: float(sc[d].mean()) for d in dims}
    rank = 1 + sum(means[d] > means[focus] for d in dims)
    if personnel is not None:
        t = pd.to_numeric(personnel[tenure], errors="coerce")
        s = register_share(t.lt(th.short_tenure_years).where(t.notna()))
        num = {"tenure_n": s["n"], "short_k": s["k"], "short_share": s["share"],
               "short_lo": s["lo"], "short_hi": s["hi"]}
        tenure_vi = (f"{_pct(s['share'])}% ({s['k']}/{s['n']}; toàn bộ {INSTRUMENT_NOUNS['personnel'][0]}) "
                     f"cán bộ, công chức giữ vị trí dưới {th.short_tenure_years:g} năm; thâm "
                     f"niên trung vị {_num(float(t.median()), 1)} năm.")
        tenure_en = (f"{_pct(s['share'])}% ({s['k']}/{s['n']}; the whole register) "
                     f"have held their post for less than {th.short_tenure_years:g} years; "
                     f"median tenure {_num(float(t.median()), 1)} years.")
    else:
        num = {}
        tenure_vi = (f"Tỷ lệ giữ vị trí dưới {th.short_tenure_years:g} năm: "
                     f"{NO_REGISTER[0]}.")
        tenure_en = (f"Share in post for less than {th.short_tenure_years:g} years: "
                     f"{NO_REGISTER[1]}.")
    num.update({"short_tenure_years": th.short_tenure_years})
    if personnel is not None:
        num["tenure_median"] = float(t.median())
    num.update({"focus": focus, "diff_mean": dm["mean"],
                "diff_lo": dm["lo"], "diff_hi": dm["hi"], "focus_rank": rank,
                "n_dims": len(dims), **{f"{d}_raw_mean": means[d] for d in dims}})
    if personnel is None:
        num["missing"] = ["personnel"]
    vi = (f"{tenure_vi} Điểm {NAMES_VI[focus]} ({focus}) chênh "
          f"{_num(dm['mean'])} điểm so với trung bình các khía cạnh còn lại ({_ci_label(th, 'vi')}: "
          f"{_num(dm['lo'])} đến {_num(dm['hi'])}), đứng thứ {rank}/{len(dims)}.")
    en = (f"{tenure_en} The {NAMES_EN[focus]} score ({focus}) differs by "
          f"{_num(dm['mean'])} points from the mean of the other dimensions ({_ci_label(th, 'en')} "
          f"{_num(dm['lo'])} to {_num(dm['hi'])}), ranking {rank} of {len(dims)}.")
    return Finding("D2", vi, en, num)


def finding_d3(scores: pd.DataFrame, personnel: pd.DataFrame | None, *, group: str,
               education: str, th: Thresholds = Thresholds(), dims: Iterable[str] = QUALITY,
               focus: str = "PRO", n_sim: int = 2000, seed: int = 0) -> Finding:
    """D3 — qualifications and competence are unevenly distributed across communes.

    Numbers: ICC(1) of each quality dimension (one-way ANOVA, Shrout & Fleiss 1979; psych's
    ``ICC1``) with its F-distribution interval and F-test p: one estimator for the point, the
    interval and the test (the REML ICC, :attr:`hlstudy.diagnostic.quality.IccResult.icc`,
    is close to it but has no interval of its own, and notebook 04 shows both);
    the share with a degree by commune (range) and a Monte-Carlo chi-square test of degree ×
    commune; how many communes' empirical-Bayes intervals for ``focus`` exclude the
    district mean.  ``personnel=None`` (a study without the register): the survey's numbers
    alone, the statement saying the degree shares are not computed (``"missing":
    ["personnel"]`` in the numbers).
    """
    dims = list(dims)
    _require(scores, [group, *dims], "scores")
    if personnel is not None:
        _require(personnel, [group, education], "personnel")
    iccs = {d: quality.icc(scores, d, group, th.conf) for d in dims}
    cm = quality.commune_means(scores, [focus], group, method="mixed", conf=th.conf)
    centre = quality.district_mean(scores, focus, group, th.conf)["mean"]
    apart = int(((cm["lo"] > centre) | (cm["hi"] < centre)).sum())
    num = {f"{d}_icc": r.icc_anova for d, r in iccs.items()}
    num.update({f"{d}_icc_lo": r.icc_anova_lo for d, r in iccs.items()})
    num.update({f"{d}_icc_hi": r.icc_anova_hi for d, r in iccs.items()})
    num.update({f"{d}_icc_p": r.p_value for d, r in iccs.items()})
    ext = {}
    if personnel is not None:
        edu = personnel[[group, education]].dropna()
        deg = edu[education].astype("string").isin(th.degree_levels)
        tab = pd.crosstab(edu[group], deg)
        test = chisq_mc(tab.to_numpy(), n_sim=n_sim, seed=seed)
        by = deg.groupby(edu[group]).agg(["sum", "count", "mean"])
        lo, hi = by.loc[by["mean"].idxmin()], by.loc[by["mean"].idxmax()]
        for tag, row in (("min", lo), ("max", hi)):
            k, n = int(row["sum"]), int(row["count"])   # the register: a census, exact
            ext.update({f"degree_share_{tag}": float(row["mean"]), f"degree_k_{tag}": k,
                        f"degree_n_{tag}": n, f"degree_lo_{tag}": float(row["mean"]),
                        f"degree_hi_{tag}": float(row["mean"])})

    def rate(tag: str, lang: str) -> str:
        """A commune's rate with its k/n (the register: exact, no interval); a rate of fewer
        than min_cell people (k or n of 1 to min_cell - 1, the rule of SHARE_SUPPRESSION) is
        not given."""
        k, n = ext[f"degree_k_{tag}"], ext[f"degree_n_{tag}"]
        if 0 < k < th.min_cell or n < th.min_cell:
            return (f"— không nêu tỷ lệ vì dưới {th.min_cell} người" if lang == "vi" else
                    f"— no rate given: fewer than {th.min_cell} people")
        return f"{_pct(ext[f'degree_share_{tag}'])}% ({k}/{n})"

    num.update(ext)
    if personnel is not None:
        num.update({"chisq": test["statistic"], "chisq_df": test["df"],
                    "chisq_p_mc": test["p_mc"], "n_sim": n_sim})
    num.update({"n_communes": int(len(cm)), "focus": focus, "communes_apart": apart})
    from scipy import stats as _stats

    chance = 1 - th.conf
    p_apart = float(_stats.binom.sf(apart - 1, len(cm), chance)) if apart else 1.0
    num.update({"communes_apart_expected": chance * len(cm), "communes_apart_p": p_apart})
    if personnel is None:
        num["missing"] = ["personnel"]
        degree_vi = f"Tỷ lệ có trình độ đại học trở lên theo xã: {NO_REGISTER[0]}."
        degree_en = f"The share with a university degree by commune: {NO_REGISTER[1]}."
    else:
        degree_vi = (f"Tỷ lệ có trình độ đại học trở lên giữa các xã thấp nhất "
                     f"{rate('min', 'vi')}, cao nhất {rate('max', 'vi')} (kiểm định χ² = "
                     f"{_num(test['statistic'])}, bậc tự do {test['df']}, p Monte Carlo "
                     f"{p_text(test['p_mc'], lang='vi')}).")
        degree_en = (f"The share with a university degree or above is lowest at "
                     f"{rate('min', 'en')} and highest at {rate('max', 'en')} across communes "
                     f"(χ² = {_num(test['statistic'])}, df {test['df']}, Monte-Carlo p "
                     f"{p_text(test['p_mc'], lang='en')}).")
    icc_vi = "; ".join(f"{d} {_num(r.icc_anova, 3)} [{_num(r.icc_anova_lo, 3)}; "
                       f"{_num(r.icc_anova_hi, 3)}]" for d, r in iccs.items())
    vi = (f"Hệ số tương quan nội lớp ICC(1) (ANOVA một yếu tố, tỷ lệ phương sai nằm giữa các "
          f"xã; {_ci_label(th, 'vi')} theo phân phối F): {icc_vi}. "
          f"{degree_vi} {apart}/{len(cm)} xã có khoảng tin cậy điểm {focus} "
          f"không chứa trung bình toàn huyện (do ngẫu nhiên kỳ vọng "
          f"{_num(chance * len(cm), 1)}; p nhị thức {p_text(p_apart, lang='vi')}).")
    en = (f"Intraclass correlation ICC(1) (one-way ANOVA, share of variance between "
          f"communes; {_ci_label(th, 'en')} from the F distribution): {icc_vi}. "
          f"{degree_en} {apart} of {len(cm)} "
          f"communes have a {focus} interval that excludes the district mean (chance alone: "
          f"{_num(chance * len(cm), 1)}; binomial p {p_text(p_apart, lang='en')}).")
    return Finding("D3", vi, en, num)


def finding_d3_icc(scores: pd.DataFrame, personnel: pd.DataFrame | None, *, group: str,
                   education: str, th: Thresholds = Thresholds(),
                   dims: Iterable[str] = QUALITY, focus: str = "PRO") -> dict:
    """The numbers of :func:`finding_d3` about ``focus`` alone: ``{focus}_icc``,
    ``{focus}_icc_lo``, ``{focus}_icc_hi``, ``{focus}_icc_p`` (the same values).

    The claims ledger reads only these; this skips the other dimensions' ICCs, the
    Monte-Carlo chi-square and the commune means.  They come from the officials' survey
    alone, so ``personnel`` may be ``None`` (a study without the personnel register: D3's
    verdict is still computed).  Given, it needs the columns :func:`finding_d3` requires,
    as ``scores`` does (a missing one raises the same :class:`ModelError`).
    """
    dims = list(dims)
    _require(scores, [group, *dims], "scores")
    if personnel is not None:
        _require(personnel, [group, education], "personnel")
    r = quality.icc(scores, focus, group, th.conf)
    return {f"{focus}_icc": r.icc_anova, f"{focus}_icc_lo": r.icc_anova_lo,
            f"{focus}_icc_hi": r.icc_anova_hi, f"{focus}_icc_p": r.p_value}


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
    res = {k: register_share(v) for k, v in items.items()}  # the register is a census
    num = {}
    for k, s in res.items():
        num.update({f"{k}_n": s["n"], f"{k}_k": s["k"], f"{k}_share": s["share"],
                    f"{k}_lo": s["lo"], f"{k}_hi": s["hi"]})

    def ci(k):
        return f"{_pct(res[k]['share'])}% ({int(res[k]['k'])}/{int(res[k]['n'])})"

    vi = (f"Có trình độ đại học trở lên: {ci('degree')}; lý luận chính trị chưa có hoặc sơ cấp: "
          f"{ci('low_political_theory')}; chưa qua bồi dưỡng quản lý nhà nước: "
          f"{ci('no_state_management')}")
    en = (f"University degree or above: {ci('degree')}; no or elementary political theory: "
          f"{ci('low_political_theory')}; no state-management training: "
          f"{ci('no_state_management')}")
    if trainings:
        vi += f"; không tham gia khóa bồi dưỡng nào trong 24 tháng qua: {ci('no_training_24m')}"
        en += f"; no training course in the last 24 months: {ci('no_training_24m')}"
    return Finding("D4", vi + " (k/n; toàn bộ danh sách trích ngang: tỷ lệ chính xác, không "
                   "có khoảng tin cậy).",
                   en + " (k/n; the whole personnel register: exact shares, no interval).",
                   num)


def finding_d5(scores: pd.DataFrame, citizen_means: Mapping | pd.Series | None, *,
               group: str, th: Thresholds = Thresholds(), dim: str = "RSP",
               frame: Mapping | None = None) -> Finding:
    """D5 — some lack responsibility and initiative, which hurts performance.

    Numbers: district mean of ``dim`` and the share below the weak cut-off; Spearman
    correlation across communes between the officials' mean ``dim`` and the citizens'
    mean assessment (``citizen_means``: commune → mean) with the Fisher-z interval of
    Bonett & Wright (2000): :func:`hlstudy.drivers.commune_correlations`, the correlation
    the claims ledger judges (``rho``, ``rho_lo``, ``rho_hi``, ``rho_p``).
    ``citizen_means=None`` (a study without the citizens' survey): the officials' numbers
    alone, the statement saying the correlation is not computed (``"missing":
    ["citizens"]`` in the numbers).
    """
    from hlstudy.drivers import commune_correlations

    _require(scores, [group, dim], "scores")
    m = survey_mean(scores, dim, group, frame, th.conf)
    val = pd.to_numeric(scores[dim], errors="coerce")
    s = survey_share(val.lt(th.weak_cutoff).where(val.notna()), scores[group], frame, th.conf)
    num = {f"{dim}_mean": m["mean"], f"{dim}_lo": m["lo"], f"{dim}_hi": m["hi"],
           "weak_k": s["k"], "weak_n": s["n"], "weak_share": s["share"], "weak_lo": s["lo"],
           "weak_hi": s["hi"], "weak_cutoff": th.weak_cutoff}
    vi = (f"Điểm {NAMES_VI[dim]} ({dim}) trung bình {_num(m['mean'])} ({_ci_label(th, 'vi')}: "
          f"{_num(m['lo'])}–{_num(m['hi'])}); {_pct(s['share'])}% ({s['k']}/{s['n']}) dưới "
          f"điểm giữa thang {th.weak_cutoff:g}.")
    en = (f"The {NAMES_EN[dim]} score ({dim}) averages {_num(m['mean'])} ({_ci_label(th, 'en')} "
          f"{_num(m['lo'])}–{_num(m['hi'])}); {_pct(s['share'])}% ({s['k']}/{s['n']}) are below "
          f"the scale midpoint {th.weak_cutoff:g}.")
    if citizen_means is None:
        num["missing"] = ["citizens"]
        return Finding("D5", f"{vi} Tương quan giữa điểm {dim} của xã và đánh giá của người "
                             f"dân: {NO_CITIZENS[0]}.",
                       f"{en} Correlation between a commune's {dim} and citizens' assessment: "
                       f"{NO_CITIZENS[1]}.", num)
    off = val.groupby(scores[group].astype("string")).mean()
    cit = pd.Series(citizen_means, dtype=float)
    cit.index = cit.index.astype("string")
    both = pd.concat([off.rename("off"), cit.rename("cit")], axis=1, join="inner").dropna()
    c = commune_correlations(both, "off", ["cit"], conf=th.conf).iloc[0]
    r = {"r": float(c["rho"]), "lo": float(c["ci_low"]), "hi": float(c["ci_high"]),
         "p": float(c["p"]), "n": int(c["n"])}
    num.update({"rho": r["r"], "rho_lo": r["lo"], "rho_hi": r["hi"], "rho_p": r["p"],
                "n_communes": r["n"]})
    vi = (f"{vi} Tương quan Spearman giữa điểm {dim} trung bình "
          f"của xã và đánh giá của người dân: ρ = {_num(r['r'])} ({_ci_label(th, 'vi')}: {_num(r['lo'])} đến "
          f"{_num(r['hi'])}; "
          f"p {p_text(r['p'], lang='vi')}, chưa hiệu chỉnh cho nhiều phép kiểm định; "
          f"{r['n']} xã).")
    en = (f"{en} Spearman correlation between a commune's mean "
          f"{dim} and citizens' assessment: ρ = {_num(r['r'])} ({_ci_label(th, 'en')} {_num(r['lo'])} to "
          f"{_num(r['hi'])}; "
          f"p {p_text(r['p'], lang='en')}, not adjusted for multiple testing; {r['n']} communes).")
    return Finding("D5", vi, en, num)


def _jsonable(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else round(float(v), 6)
    return v


def findings_table(findings: Iterable[Finding], verdicts: pd.DataFrame | None = None
                   ) -> pd.DataFrame:
    """Stack findings into ``claim_id, statement_vi, statement_en, verdict, verdict_vi,
    verdict_en, key_numbers`` (JSON).

    ``verdicts``: the claims ledger's verdict of each claim
    (:func:`hlstudy.evidence.claim_verdicts`: ``claim_id, verdict, verdict_vi, verdict_en``),
    the only verdict a claim has; a finding whose claim it lacks raises :class:`ModelError`.
    Without it the verdict columns are empty.
    """
    findings = list(findings)
    if verdicts is not None:
        _require(verdicts, ["claim_id", "verdict", "verdict_vi", "verdict_en"], "verdicts")
        by_claim = verdicts.drop_duplicates("claim_id").set_index("claim_id")
        absent = [f.claim_id for f in findings if f.claim_id not in by_claim.index]
        if absent:
            raise ModelError(f"the ledger's verdicts lack the claims {absent}")

    def verdict(f: Finding, column: str) -> str:
        return getattr(f, column) if verdicts is None else str(by_claim.at[f.claim_id, column])

    rows = [{"claim_id": f.claim_id, "statement_vi": f.statement_vi,
             "statement_en": f.statement_en, "verdict": verdict(f, "verdict"),
             "verdict_vi": verdict(f, "verdict_vi"), "verdict_en": verdict(f, "verdict_en"),
             "key_numbers": json.dumps({k: _jsonable(v) for k, v in f.numbers.items()},
                                       ensure_ascii=False, sort_keys=True)}
            for f in findings]
    return pd.DataFrame(rows).sort_values("claim_id", ignore_index=True)
