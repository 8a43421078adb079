"""The claims ledger: every checkable claim of the thesis, its evidence and a computed verdict.

:func:`claims_ledger` reads the claims (``data/instrument/claims.csv``) and their testable
hypotheses (``hypotheses.csv``: test type, constructs, ``CAUSE->EFFECT`` paths, expected
sign), computes the evidence for each from the study and judges it with the rules of
:mod:`hlstudy.evidence.rules`.  Nothing is typed by hand: rerun on other data, the verdicts
change.

A claim is split into **parts**, each one number with an interval (:func:`evaluate` returns
them in ``.parts``); a claim asserts all its parts, so it is supported only when every part
is (an intersection–union test), not supported as soon as one part is, and its p-value is the
largest of its parts' p-values.  How each kind of hypothesis becomes parts:

``path`` (and the paths of descriptive claims)
    Each ``CAUSE->EFFECT`` is the standardized coefficient of CAUSE in the regression of
    EFFECT on its predictors in the research model (:func:`hlstudy.drivers.structure`:
    the other factors, motivation, education and tenure), all variables z-scored on the
    complete rows (:func:`hlstudy.drivers.regression_sample`, the sample of notebook 05's
    regression table, so the two give one number and one n), with CR2 cluster-robust
    standard errors by commune and Satterthwaite df (:func:`hlstudy.models.ols`), and its robustness value (Cinelli & Hazlett 2020,
    :func:`hlstudy.models.sensitivity`).  A cause whose paths reach every quality
    dimension is one part on overall quality ``QUAL`` (the mean of the dimensions).  A chain
    ``X->M; M->Y`` through the mediator (motivation) is the indirect effect ``X→M→Y``
    (a·b) of the path model on scale scores z-scored on its complete rows
    (:func:`hlstudy.drivers.standardized_sample`, as notebook 05's table), with a
    percentile bootstrap interval that resamples whole communes (:func:`hlstudy.drivers.indirect_bootstrap`; the point
    estimate equals the ML path model wherever no cross-equation restriction applies).  Paths to a citizens'
    construct are regressions of the citizens' scores on the named causes (the total
    association), clustered by commune.
``commune_association`` / ``comparison`` with citizens' constructs
    Spearman correlation across communes of the officials' mean quality (or the named
    dimension) with each citizens' construct (:func:`hlstudy.drivers.commune_correlations`).
``comparison`` without citizens' constructs
    Officials trained in the last 24 months (``TRAINED``) against the others: the
    standardized mean difference of the construct (regression on the 0/1 indicator, CR2).
``measurement``
    Cronbach's alpha (Feldt interval) of each dimension against ``Rules.min_alpha`` and the
    largest HTMT against ``Rules.max_htmt``.
``descriptive``
    The numbers of :mod:`hlstudy.diagnostic.findings` (D1–D5) and a share for D6, each
    against the stated share or zero (:data:`DESCRIPTIVE`).

The multiple-testing correction (``Rules.correction``) runs across every inferential part of
the ledger.  Paths are associations in observational data: their reasons say so and carry
the robustness value.  A study without the data a part needs (e.g. no citizens' survey) gives
that part, and so the claim, ``not testable`` with the reason.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats

from hlstudy import _resultcache, codebook, drivers
from hlstudy.errors import HlstudyError, ModelError
from hlstudy.evidence import rules as R
from hlstudy.evidence.ipma import QUADRANTS_EN, QUADRANTS_VI, QUAL, IPMAResult, ipma

CLUSTER = "commune_code"
FALLBACK_CLUSTER = "commune_2025"

#: Descriptive parts of the diagnostic claims, as data: (claim, finding number, interval
#: keys, rule attribute holding the threshold, direction, English and Vietnamese label).
#: ``{dim}`` is replaced by the claim's constructs (hypotheses.csv); a tuple of keys means
#: "the larger of these" (the claim says "A or B").
DESCRIPTIVE = {
    "D1": [("cs_share_not_met", "cs_lo", "cs_hi", "descriptive_share", "+",
            "share of civil servants not meeting ≥ 1 Decree 33 standard",
            "tỷ lệ công chức chưa đạt ≥ 1 tiêu chuẩn NĐ 33"),
           ("{dim}_weak_share", "{dim}_weak_lo", "{dim}_weak_hi", "descriptive_share", "+",
            "share with {dim} below the cut-off", "tỷ lệ có điểm {dim} dưới ngưỡng")],
    "D2": [("short_share", "short_lo", "short_hi", "descriptive_share", "+",
            "share with short tenure", "tỷ lệ có thâm niên ngắn")],
    "D4": [("degree_share", "degree_lo", "degree_hi", "majority_share", "+",
            "share with a university degree", "tỷ lệ có trình độ đại học trở lên"),
           (("low_political_theory_share", "no_state_management_share"), None, None,
            "descriptive_share", "+", "share lacking political-theory or state-management "
            "training (the larger)", "tỷ lệ thiếu bồi dưỡng LLCT hoặc QLNN (tỷ lệ lớn hơn)")],
    "D5": [("weak_share", "weak_lo", "weak_hi", "descriptive_share", "+",
            "share with {dim} below the cut-off", "tỷ lệ có điểm {dim} dưới ngưỡng")],
    "D6": [("weak_share", "weak_lo", "weak_hi", "descriptive_share", "+",
            "share rating {dim} below the cut-off", "tỷ lệ đánh giá {dim} dưới ngưỡng")],
}
#: Inferential parts of the diagnostic claims read from the findings: (claim, estimate,
#: lo, hi, p key or None (p from the normal interval), SESOI attribute, direction, labels).
DESCRIPTIVE_TESTS = {
    "D2": [("diff_mean", "diff_lo", "diff_hi", None, "sesoi_points", "-",
            "{dim} minus the other dimensions (points)",
            "{dim} trừ trung bình các khía cạnh khác (điểm)")],
    "D3": [("{dim}_icc", "{dim}_icc_lo", "{dim}_icc_hi", "{dim}_icc_p", "sesoi_icc", "+",
            "ICC of {dim} across communes", "ICC của {dim} giữa các xã")],
}
#: Where each descriptive share's number of people is in the finding's numbers.
N_KEYS = {"cs_share_not_met": "cs_n", "{dim}_weak_share": "{dim}_n", "short_share": "tenure_n",
          "degree_share": "degree_n", "weak_share": "weak_n"}
#: Names of the alternatives of a "the larger of these" part (English, Vietnamese).
ALTERNATIVES = {"low_political_theory": ("no or elementary political theory",
                                         "lý luận chính trị chưa có hoặc sơ cấp"),
                "no_state_management": ("no state-management training",
                                        "chưa qua bồi dưỡng quản lý nhà nước")}
#: Joins the two variables of a symmetric association in a part's label: a commune-level
#: Spearman correlation (``QUAL ↔ SIPAS (theo xã)``) or a rating's association with a count
#: (``TRAIN ↔ trainings_24m``).  Not R's ``~``, which reads "regressed on" (lavaan, lm):
#: neither part is a regression of its left variable on its right one.
ASSOCIATION = " ↔ "
CAUSAL_NOTE = ("observational data: an association, not proof of a cause",
               "dữ liệu quan sát: đây là mối liên hệ, chưa chứng minh quan hệ nhân quả")
LEDGER_COLUMNS = ["claim_id", "section", "kind", "claim_vi", "claim_en", "hypothesis",
                  "method", "estimand", "estimand_vi", "estimate", "ci_low", "ci_high", "p_value",
                  "p_adjusted", "n", "verdict", "reason", "reason_vi", "robustness_value",
                  "min_detectable_effect", "n_parts"]
PART_COLUMNS = ["claim_id", "part", "part_vi", "kind", "method", "estimand", "direction",
                "sesoi", "threshold", "estimate", "ci_low", "ci_high", "se", "df",
                "p_value", "p_adjusted", "n", "inferential", "robustness_value",
                "min_detectable_effect", "verdict", "reason", "reason_vi", "note", "note_vi"]

#: What a part's estimate is, by the part's ``kind`` (set by the rule that computed it, e.g.
#: ``_correlation_part`` → ``correlation``): its name (English, Vietnamese) and the scale it
#: is read on (:data:`SCALES`).  A path and an association are both a regression coefficient
#: on z-scores (``_regression_part``, ``_count_part``).  A claim without a part has a part of
#: its ``test_type`` (no estimate), read where its estimates would be.
ESTIMATES = {
    "path": ("Standardized regression coefficient β", "Hệ số hồi quy chuẩn hóa β", "sd"),
    "association": ("Standardized regression coefficient β", "Hệ số hồi quy chuẩn hóa β", "sd"),
    "comparison": ("Standardized mean difference d (yes/no)",
                   "Chênh lệch trung bình chuẩn hóa d (có/không)", "sd"),
    "indirect": ("Standardized indirect effect a·b", "Tác động gián tiếp chuẩn hóa a·b", "sd"),
    "correlation": ("Spearman ρ across communes", "Tương quan Spearman ρ giữa các xã",
                    "correlation"),
    "icc": ("Intraclass correlation ICC", "Hệ số tương quan nội lớp ICC", "correlation"),
    "difference": ("Difference in points", "Chênh lệch điểm", "points"),
    "reliability": ("Cronbach's alpha", "Cronbach's alpha", "threshold"),
    "htmt": ("HTMT ratio", "Tỷ số HTMT", "threshold"),
    "share": ("Share of people", "Tỷ lệ người", "threshold"),
    "measurement": ("Measurement (no estimate)", "Đo lường (không có ước lượng)", "threshold"),
    "descriptive": ("Description (no estimate)", "Mô tả (không có ước lượng)", "threshold"),
    "commune_association": ("Association across communes (no estimate)",
                            "Liên hệ giữa các xã (không có ước lượng)", "correlation"),
}
#: The scales of :data:`ESTIMATES`: the axis label (English, Vietnamese) of the parts read on it.
SCALES = {
    "sd": ("Standardized estimate, SD units (95% CI)",
           "Ước lượng chuẩn hóa, đơn vị SD (KTC 95%)"),
    "correlation": ("Correlation coefficient (95% CI)", "Hệ số tương quan (KTC 95%)"),
    "points": ("Difference, answer-scale points (95% CI)",
               "Chênh lệch, điểm thang trả lời (KTC 95%)"),
    "threshold": ("Coefficient or share (95% CI)", "Hệ số hoặc tỷ lệ (KTC 95%)"),
}


def estimate_labels(lang: str = "vi") -> tuple[dict[str, str], dict[str, str]]:
    """``(scales, names)`` in ``lang`` (``"vi"`` or ``"en"``): each part ``kind`` → the axis
    label of its scale, and → the name of its estimate (:data:`ESTIMATES`, :data:`SCALES`),
    as :func:`hlstudy.pathplot.verdict_figure` takes them (``scales``, ``kind_labels``).

    >>> scales, names = estimate_labels("en")
    >>> scales["icc"] == scales["correlation"] != scales["path"], names["icc"]
    (True, 'Intraclass correlation ICC')
    """
    if lang not in ("vi", "en"):
        raise ModelError(f"lang must be 'vi' or 'en', got {lang!r}")
    k = 1 if lang == "vi" else 0
    return ({kind: SCALES[scale][k] for kind, (*_, scale) in ESTIMATES.items()},
            {kind: names[k] for kind, (*names, _) in ESTIMATES.items()})


#: A finding's ``"missing"`` entry for a number that needs the survey's reference year
#: (the register is there, the year is not: no submission time, none set).
REFERENCE_YEAR = "reference_year"
NO_YEAR = ("no survey date to compute years in post from the register's start year (no "
           "submission time, no reference year set: HLSTUDY_REFERENCE_YEAR or [study] "
           "reference_year in hlstudy.toml)")
NO_YEAR_VI = ("không có năm khảo sát để tính số năm giữ chức danh từ "
              f"{codebook.INSTRUMENT_NOUNS['personnel'][0]} (không có thời điểm nộp phiếu, chưa "
              "đặt năm tham chiếu)")


class _Absent(HlstudyError):
    """The study lacks the data a part needs (the part is not testable)."""

    def __init__(self, message: str, message_vi: str | None = None):
        super().__init__(message)
        self.message_vi = message_vi or message


@dataclass
class LedgerResult:
    """Output of :func:`evaluate`: ``claims`` (one row per claim, :data:`LEDGER_COLUMNS`),
    ``parts`` (one row per part, :data:`PART_COLUMNS`), the ``rules`` used and the IPMA of
    overall quality (None when it could not be computed)."""

    claims: pd.DataFrame
    parts: pd.DataFrame
    rules: R.Rules
    ipma: IPMAResult | None = None
    notes: list = field(default_factory=list)

    def counts(self) -> pd.Series:
        """Number of claims per verdict (every verdict listed, zeros included)."""
        return self.claims["verdict"].value_counts().reindex(list(R.VERDICTS), fill_value=0)

    def summary(self) -> str:
        c = self.counts()
        lines = [f"Claims ledger: {len(self.claims)} claims, {len(self.parts)} parts; "
                 + ", ".join(f"{k}: {v}" for k, v in c.items())]
        for r in self.claims.itertuples(index=False):
            lines.append(f"  {r.claim_id:<3} {r.verdict:<13} {r.estimand}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _split(text) -> list[str]:
    return [t for t in str(text or "").split(";") if t]


def _signs(expected: str, causes: list[str]) -> dict[str, str]:
    """Direction of each cause: ``"+"``, or ``"-/+"`` read in the order the causes appear."""
    e = str(expected or "+").strip()
    parts = e.split("/")
    if len(parts) == 1:
        return {c: parts[0] for c in causes}
    if len(parts) != len(causes):
        raise ModelError(f"expected_sign {e!r} has {len(parts)} signs for {len(causes)} causes")
    return dict(zip(causes, parts, strict=True))


class _Context:
    """The study's data and fitted models, each computed once (lazily)."""

    def __init__(self, study, rules: R.Rules, folder=None):
        self.study, self.rules, self.folder = study, rules, folder
        self.roles = drivers.constructs_by_role(folder)
        self.quality = self.roles.get("quality", [])
        self.mediators = self.roles.get(drivers.MEDIATOR_ROLE, [])
        self.struct = drivers.structure(folder)
        cit = codebook.construct_labels("citizens", folder=folder)
        self.citizen_constructs = set(cit.loc[cit["role"] == "citizen", "construct"])
        self._cache: dict = {}

    def has(self, instrument: str) -> bool:
        has = getattr(self.study, "has", None)
        if has is not None:
            return bool(has(instrument))
        t = getattr(self.study, instrument, None)
        return t is not None and len(t) > 0

    def need(self, instrument: str, what: str) -> None:
        if not self.has(instrument):
            raise _Absent(f"the study has no {instrument} export: {what} is not testable",
                          f"nghiên cứu không có {codebook.INSTRUMENT_NOUNS.get(instrument, (instrument,))[0]}")

    def _memo(self, key, fn: Callable):
        if key not in self._cache:
            try:
                self._cache[key] = fn()
            except (ModelError, _Absent) as err:
                self._cache[key] = err
        v = self._cache[key]
        if isinstance(v, Exception):
            raise v
        return v

    # ------------------------------------------------------------------ data
    def data(self) -> pd.DataFrame:
        def make():
            self.need("officials", "the officials' scores")
            d = drivers.driver_data(self.study)
            q = [c for c in self.quality if c in d.columns]
            d[QUAL] = d[q].mean(axis=1, skipna=False)
            return d
        return self._memo("data", make)

    def citizens(self) -> pd.DataFrame:
        def make():
            from hlstudy.scales import score_scales
            self.need("citizens", "the citizens' assessment")
            cit = self.study.citizens
            return score_scales(cit, "citizens", keep=[c for c in (CLUSTER,) if c in cit.columns])
        return self._memo("citizens", make)

    def link(self) -> pd.DataFrame:
        def make():
            self.need("citizens", "the commune link")
            # the officials' scores this context already has (driver_data of the study)
            off = self.data() if self.has("officials") else None
            return drivers.commune_link(self.study, officials=off)
        return self._memo("link", make)

    # ------------------------------------------------------------------ regressions
    def regression(self, outcome: str, predictors: tuple[str, ...], *, citizens: bool = False,
                   standardize: tuple[str, ...] | None = None):
        """OLS of z-scored ``outcome`` on ``predictors`` (z-scored unless listed otherwise)."""
        def make():
            from hlstudy.models import ols

            d = self.citizens() if citizens else self.data()
            cols = [outcome, *predictors]
            absent = [c for c in cols if c not in d.columns]
            if absent:
                raise _Absent(f"the data lack {absent}")
            # the complete rows, z-scored on them, communes of one respondent merged into
            # their 2025 commune (CR2 refuses them): the sample of notebook 05's regressions
            z, _merged = drivers.regression_sample(
                d, outcome, predictors, cluster=CLUSTER, fallback=FALLBACK_CLUSTER,
                standardize=standardize, name="_cluster")
            return ols(z, f"{outcome} ~ " + " + ".join(predictors), cluster="_cluster",
                       vcov=self.rules.vcov, wild=False, alpha=self.rules.alpha)
        return self._memo(("ols", outcome, predictors, citizens, standardize), make)

    def indirect(self):
        """Indirect effects through the mediator on z-scored scale scores: regression-based
        percentile bootstrap resampling whole communes (:func:`hlstudy.drivers.indirect_bootstrap`)."""
        def make():
            d = self.data()
            struct = self.struct
            factors = self.roles.get("factor", [])
            cols = sorted(set(struct) | {p for ps in struct.values() for p in ps})
            absent = [c for c in cols if c not in d.columns]
            if absent:
                raise _Absent(f"the data lack {absent}")
            # the complete rows, z-scored on them (as notebook 05's indirect effects)
            z = drivers.standardized_sample(d, cols, cluster=CLUSTER)
            return drivers.indirect_bootstrap(
                z, struct, bootstrap=max(int(self.rules.bootstrap), 100), seed=self.rules.seed,
                cluster=CLUSTER, causes=factors, folder=self.folder)
        return self._memo("indirect", make)

    def ipma(self):
        return self._memo("ipma", lambda: ipma(self.data(), QUAL, folder=self.folder))

    # ------------------------------------------------------------------ diagnostic findings
    def thresholds(self):
        from hlstudy.diagnostic.findings import Thresholds
        return Thresholds(weak_cutoff=self.rules.weak_cutoff)

    def reference_year(self) -> int:
        """The survey's reference year by the one rule (:func:`hlstudy.cleaning.reference_year`:
        the study's rules, the setting, the officials' submission times); without one the
        register parts that count years are not testable (:class:`_Absent`).  An invalid
        setting raises its :class:`SurveyDataError` (a configuration error, not a gap)."""
        from hlstudy import cleaning
        officials = self.study.officials if self.has("officials") else None
        year = cleaning.reference_year(getattr(self.study, "rules", None), officials)
        if year is None:
            raise _Absent(NO_YEAR, NO_YEAR_VI)
        return year

    def compliance(self):
        def make():
            from hlstudy.diagnostic import ExceptionPolicy, evaluate_standards
            self.need("personnel", "compliance with Decree 33")
            return evaluate_standards(self.study.personnel, reference_year=self.reference_year(),
                                      policy=ExceptionPolicy(False, basis="not applied"))
        return self._memo("compliance", make)

    def finding(self, claim: str, dims: list[str]) -> dict:
        from hlstudy.diagnostic import findings as fd

        th = self.thresholds()

        def with_frame(fn):
            """``fn(frame)`` with the register's officials per commune as the survey's frame
            (stratified shares with the fpc, docs/inference.md, as notebook 04); without a
            register, or with a commune of one respondent (no stratum variance), ``fn(None)``:
            the design-effect interval, as notebook 04 falls back."""
            frame = (self.study.personnel.groupby(CLUSTER).size().to_dict()
                     if self.has("personnel") else None)
            if frame is None:
                return fn(None)
            try:
                return fn(frame)
            except ModelError as err:
                if "one respondent" not in str(err):
                    raise
                return fn(None)

        def make():
            pers = self.study.personnel
            d = self.data()
            # each part is judged on the data it needs: without the register, D1's and D2's
            # survey parts are computed and their register parts are not testable
            # (the numbers' "missing", read by _descriptive_parts); so, with the register but
            # no reference year, the parts that count years in post or ages
            lacking = ["personnel"]
            if claim == "D1":  # the shares the ledger reads (DESCRIPTIVE)
                comp = None
                if self.has("personnel"):
                    try:
                        comp = self.compliance()
                    except _Absent:
                        lacking = [REFERENCE_YEAR]
                num = with_frame(lambda frame: fd.finding_d1_shares(
                    comp, d, group=CLUSTER, th=th,
                    dims=[x for x in self.quality if x in dims], frame=frame))
                return num if comp is not None else {**num, "missing": lacking}
            if claim == "D2":
                p = None
                if self.has("personnel"):
                    from hlstudy.diagnostic.columns import years_in_post
                    try:
                        p = pers.assign(tenure=years_in_post(pers, self.reference_year()))
                    except _Absent:
                        lacking = [REFERENCE_YEAR]
                num = fd.finding_d2(p, d, group=CLUSTER, tenure="tenure", th=th,
                                    dims=self.quality, focus=dims[0]).numbers
                return num if p is not None else {**num, "missing": lacking}
            if claim == "D3":  # the ledger reads the focus' ICC alone (DESCRIPTIVE_TESTS),
                # from the officials' survey: no personnel register needed
                return fd.finding_d3_icc(d, pers if self.has("personnel") else None,
                                         group=CLUSTER, education="education_level",
                                         th=th, dims=self.quality, focus=dims[0])
            if claim == "D4":
                self.need("personnel", "qualifications and training")
                return fd.finding_d4(pers, group=CLUSTER, education="education_level",
                                     political_theory="political_theory",
                                     state_management="state_mgmt_training",
                                     trainings="trainings_24m", th=th).numbers
            if claim in ("D5", "D6"):  # the share below the cut-off of one scale
                s = with_frame(lambda frame: fd.survey_share(
                    d[dims[0]].lt(th.weak_cutoff).where(d[dims[0]].notna()), d[CLUSTER], frame,
                    th.conf))
                return {"weak_share": s["share"], "weak_lo": s["lo"], "weak_hi": s["hi"],
                        "weak_n": s["n"], "weak_k": s["k"]}
            raise ModelError(f"no diagnostic finding for {claim}")
        return self._memo(("finding", claim, tuple(dims)), make)


# ---------------------------------------------------------------------- parts

def _part(claim_id, part, part_vi, kind, method, *, direction="+", sesoi=np.nan,
          threshold=np.nan, inferential=True, estimand=None, **values) -> dict:
    """One row of :data:`PART_COLUMNS`: ``part`` and ``part_vi`` name the part for a reader
    (English, Vietnamese; a variable by its codebook label), ``estimand`` by its variables'
    codes where it differs (e.g. ``TRAIN ↔ trainings_24m``; default ``part``)."""
    row = {c: np.nan for c in PART_COLUMNS}
    row.update(claim_id=claim_id, part=part, part_vi=part_vi, kind=kind, method=method,
               estimand=part if estimand is None else estimand, direction=direction, sesoi=sesoi, threshold=threshold,
               inferential=inferential, note="", note_vi="", verdict="", reason="",
               reason_vi="")
    row.update(values)
    return row


def _absent_part(claim_id, part, part_vi, kind, method, err, **kw) -> dict:
    return _part(claim_id, part, part_vi, kind, method, missing=str(err),
                 missing_vi=getattr(err, "message_vi", str(err)), **kw)


def _path_specs(ctx: _Context, paths: list[str], expected: str) -> list[tuple]:
    """``CAUSE->EFFECT`` paths → parts: ("path", cause, outcome) with every quality
    dimension grouped into QUAL, and ("indirect", x, m, y) for chains through a mediator."""
    pairs = [tuple(p.split("->")) for p in paths]
    causes = list(dict.fromkeys(c for c, _ in pairs))
    signs = _signs(expected, causes)
    used: set = set()
    specs = []
    for x, m in pairs:
        if m in ctx.mediators:
            for m2, y in pairs:
                if m2 == m and (m2, y) not in used and (x, m) != (m2, y):
                    specs.append(("indirect", x, m, y, signs[x]))
                    used |= {(x, m), (m2, y)}
    rest = [p for p in pairs if p not in used]
    for x in causes:
        effects = [y for c, y in rest if c == x]
        if ctx.quality and set(ctx.quality) <= set(effects):
            specs.append(("path", x, QUAL, signs[x]))
            effects = [y for y in effects if y not in ctx.quality]
        for y in effects:
            specs.append(("path", x, y, signs[x]))
    return specs


def _coefficient(res, term: str):
    """The row of ``term`` in ``res.coefficients`` (``res.coefficients.loc[term]``), read
    column by column: the same numbers without building a row Series (~0.3 ms a row)."""
    co = res.coefficients
    i = co.index.get_loc(term)
    if not isinstance(i, int | np.integer):  # a repeated label: as ``.loc`` gives it
        return co.loc[term]
    return {k: co[k].iat[i] for k in ("estimate", "ci_low", "ci_high", "se", "df", "p")}


def _regression_part(ctx: _Context, claim_id: str, x: str, y: str, sign: str, *,
                     binary: bool = False) -> dict:
    rules = ctx.rules
    label = f"{x} → {y}"
    method = (f"OLS on z-scores, {rules.vcov} cluster-robust SE by commune (Satterthwaite df)"
              if not binary else f"standardized mean difference (OLS on a 0/1 indicator, "
              f"{rules.vcov} by commune)")
    sesoi = rules.sesoi_smd if binary else rules.sesoi
    kind = "comparison" if binary else "path"
    label_vi = (f"bồi dưỡng trong 24 tháng qua (có/không) → {y}" if binary else label)
    if binary:
        label = f"trained in the last 24 months (yes/no) → {y}"
    try:
        if y in ctx.citizen_constructs:
            preds = (x,)
            res = ctx.regression(y, preds, citizens=True)
        elif binary:
            preds = (x,)
            res = ctx.regression(y, preds, standardize=(y,))
        else:
            base = ctx.struct.get(ctx.quality[0] if y == QUAL else y)
            if base is None or x not in base:
                raise ModelError(f"{label} is not a path of the research model")
            preds = tuple(base)
            res = ctx.regression(y, preds)
    except (ModelError, _Absent) as err:
        return _absent_part(claim_id, label, label_vi, kind, method, err, direction=sign,
                            sesoi=sesoi)
    from hlstudy.models import sensitivity

    def robustness_value() -> float:
        s = sensitivity(res, x)  # the first row without a benchmark bound
        return float(s["rv_q"].to_numpy()[s["bound"].to_numpy() == "none"][0])

    c = _coefficient(res, x)
    rv = np.nan
    try:
        # claims sharing a path (e.g. T2 and S1) share its robustness value: computed once per
        # fitted regression (kept by the context for its whole life, so its id is not reused)
        rv = ctx._memo(("sensitivity", id(res), x), robustness_value)
    except ModelError:
        pass
    return _part(claim_id, label, label_vi, kind, method, direction=sign, sesoi=sesoi,
                 estimate=float(c["estimate"]), ci_low=float(c["ci_low"]),
                 ci_high=float(c["ci_high"]), se=float(c["se"]), df=float(c["df"]),
                 p_value=float(c["p"]), n=int(res.nobs), robustness_value=rv,
                 min_detectable_effect=R.min_detectable(float(c["se"]), alpha=rules.alpha,
                                                        power=rules.power, df=float(c["df"])))


def _indirect_part(ctx: _Context, claim_id, x, m, y, sign) -> dict:
    rules = ctx.rules
    label = f"{x} → {m} → {y}"
    boot = max(int(rules.bootstrap), 100)
    method = ("regressions on z-scored scale scores, a·b with a commune-cluster percentile "
              f"bootstrap interval ({boot} draws)")
    try:
        tab = ctx.indirect()
        row = tab[tab["effect"] == f"ind_{x}_{m}_{y}"]
        if row.empty:
            raise ModelError(f"the model defines no indirect effect {label}")
        r = row.iloc[0]
    except (ModelError, _Absent) as err:
        return _absent_part(claim_id, label, label, "indirect", method, err, direction=sign,
                            sesoi=rules.sesoi_indirect)
    se = float(r["se"])
    return _part(claim_id, label, label, "indirect", method, direction=sign, sesoi=rules.sesoi_indirect,
                 estimate=float(r["est"]), ci_low=float(r["ci.lower"]),
                 ci_high=float(r["ci.upper"]), se=se, df=np.nan, p_value=float(r["pvalue"]),
                 n=int(r["n"]), min_detectable_effect=R.min_detectable(
                     se, alpha=rules.alpha, power=rules.power))


def _correlation_part(ctx: _Context, claim_id, x, y, sign) -> dict:
    rules = ctx.rules
    label = f"{x}{ASSOCIATION}{y} (communes)"
    label_vi = f"{x}{ASSOCIATION}{y} (theo xã)"
    method = "Spearman correlation across communes, Fisher-z interval (Bonett & Wright 2000)"
    try:
        cc = drivers.commune_correlations(ctx.link(), x, [y], conf=1 - rules.alpha).iloc[0]
    except (ModelError, _Absent) as err:
        return _absent_part(claim_id, label, label_vi, "correlation", method, err,
                            direction=sign, sesoi=rules.sesoi)
    n = int(cc["n"])
    q = R._quantile(1 - rules.alpha / 2, None) + R._quantile(rules.power, None)
    mde = float(np.tanh(q / math.sqrt(n - 3))) if n > 3 else np.nan
    return _part(claim_id, label, label_vi, "correlation", method, direction=sign,
                 sesoi=rules.sesoi, estimate=float(cc["rho"]), ci_low=float(cc["ci_low"]),
                 ci_high=float(cc["ci_high"]), p_value=float(cc["p"]), n=n,
                 min_detectable_effect=mde)


def _measurement_parts(ctx: _Context, claim_id, dims) -> list[dict]:
    from hlstudy.cfa import htmt
    from hlstudy.reliability import cronbach_alpha

    rules = ctx.rules
    out = []
    try:
        ctx.need("officials", "the measurement model")
        off = ctx.study.officials
        # every scale's items from one reading of the codebook (codebook.items per
        # dimension copies and filters the whole codebook); an unknown one raises as there
        scales = codebook.scales("officials", folder=ctx.folder)
        items = {d: list(scales[d]) if d in scales else
                 codebook.items("officials", d, folder=ctx.folder) for d in dims}
    except (ModelError, _Absent) as err:
        return [_absent_part(claim_id, "reliability", "độ tin cậy", "reliability", "", err,
                             inferential=False, threshold=rules.min_alpha)]
    for d in dims:
        lab = f"Cronbach's alpha of {d}"
        try:
            a = cronbach_alpha(off[items[d]], ci=1 - rules.alpha)
            out.append(_part(claim_id, lab, f"Cronbach's alpha của {d}", "reliability",
                             "Cronbach's alpha, Feldt interval (psych::alpha)",
                             threshold=rules.min_alpha, inferential=False, estimate=a.alpha,
                             ci_low=float(a.ci[0]), ci_high=float(a.ci[1]), n=int(a.n_obs)))
        except ModelError as err:
            out.append(_absent_part(claim_id, lab, lab, "reliability", "", err,
                                    inferential=False, threshold=rules.min_alpha))
    if len(dims) > 1:
        lab = "largest HTMT between the dimensions"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                h = htmt(off, {d: items[d] for d in dims})
            v = h.to_numpy(float)
            iu = np.triu_indices_from(v, 1)
            k = int(np.nanargmax(v[iu]))
            pair = f"{h.index[iu[0][k]]}–{h.columns[iu[1][k]]}"
            out.append(_part(claim_id, f"{lab} ({pair})", f"HTMT lớn nhất ({pair})", "htmt",
                             "HTMT2 (semTools::htmt)", direction="-", threshold=rules.max_htmt,
                             inferential=False, estimate=float(v[iu][k]),
                             n=int(off[[i for d in dims for i in items[d]]].dropna().shape[0])))
        except ModelError as err:
            out.append(_absent_part(claim_id, lab, lab, "htmt", "", err, inferential=False,
                                    direction="-", threshold=rules.max_htmt))
    return out


def _descriptive_parts(ctx: _Context, claim_id, dims) -> list[dict]:
    rules = ctx.rules
    out = []
    specs = DESCRIPTIVE.get(claim_id, [])
    tests = DESCRIPTIVE_TESTS.get(claim_id, [])
    if not specs and not tests:
        return out
    try:
        num = ctx.finding(claim_id, dims)
        err = None
    except (ModelError, _Absent) as e:
        num, err = {}, e
    method = "diagnostic finding (hlstudy.diagnostic.findings)"

    def not_there(part: str, keys) -> Exception:
        """Why the finding lacks ``keys`` of ``part``: the instrument its numbers say is
        missing (the part needs it, e.g. the personnel register), else that the number is
        absent."""
        for inst in num.get("missing", ()):
            try:
                if inst == REFERENCE_YEAR:
                    ctx.reference_year()
                else:
                    ctx.need(inst, part)
            except _Absent as absent:
                return absent
        return ModelError(f"the finding has no number {keys}")

    for key, lo, hi, thr_attr, sign, lab_en, lab_vi in specs:
        keyed = "{dim}" in (key if isinstance(key, str) else "")
        for dim in (dims if keyed else dims[:1] or [""]):
            def f(s, dim=dim):
                return s.format(dim=dim) if s else s
            le, lv = f(lab_en), f(lab_vi)
            thr = getattr(rules, thr_attr)
            if err is not None:
                out.append(_absent_part(claim_id, le, lv, "share", method, err, direction=sign,
                                        threshold=thr, inferential=False))
                continue
            if isinstance(key, tuple) and not any(k in num for k in key):
                out.append(_absent_part(claim_id, le, lv, "share", method, not_there(le, key),
                                        direction=sign, threshold=thr, inferential=False))
                continue
            if isinstance(key, tuple):  # "A or B": the larger share decides
                best = max(key, key=lambda k: num.get(k, -np.inf))
                base = best[: -len("_share")]
                est, l_, h_ = num[best], num[f"{base}_lo"], num[f"{base}_hi"]
                en, vi = ALTERNATIVES.get(base, (base, base))
                le = f"{le}: {en}"
                lv = f"{lv}: {vi}"
                n = num.get(f"{base}_n", np.nan)
            elif not all(f(k) in num for k in (key, lo, hi)):
                out.append(_absent_part(claim_id, le, lv, "share", method,
                                        not_there(le, repr(f(key))),
                                        direction=sign, threshold=thr, inferential=False))
                continue
            else:
                est, l_, h_ = num[f(key)], num[f(lo)], num[f(hi)]
                n = num.get(f(N_KEYS.get(key, "")), np.nan)
            out.append(_part(claim_id, le, lv, "share", method + ", exact for a register "
                             "share (a census), else stratified by commune with the fpc "
                             "(docs/inference.md)", direction=sign, threshold=thr,
                             inferential=False,
                             estimate=est, ci_low=l_, ci_high=h_, n=n))
    for key, lo, hi, pkey, s_attr, sign, lab_en, lab_vi in tests:
        dim = dims[0]
        le, lv = lab_en.format(dim=dim), lab_vi.format(dim=dim)
        s = getattr(rules, s_attr)
        kind = "icc" if "icc" in key else "difference"
        m = (method + (", ICC(1) (one-way ANOVA) with its F interval and F test" if kind == "icc"
                       else ", random-intercept mean (REML), normal interval"))
        if err is not None:
            out.append(_absent_part(claim_id, le, lv, kind, m, err, direction=sign, sesoi=s))
            continue
        keys = [k.format(dim=dim) for k in (key, lo, hi) + ((pkey,) if pkey else ())]
        if not all(k in num for k in keys):
            out.append(_absent_part(claim_id, le, lv, kind, m,
                                    not_there(le, [k for k in keys if k not in num]),
                                    direction=sign, sesoi=s))
            continue
        est, l_, h_ = (num[k.format(dim=dim)] for k in (key, lo, hi))
        if pkey is not None:
            p = num[pkey.format(dim=dim)]
            se = np.nan
        else:
            se = R.se_from_interval(l_, h_, alpha=rules.alpha)
            p = float(2 * stats.norm.sf(abs(est) / se)) if se > 0 else np.nan
        out.append(_part(claim_id, le, lv, kind, m, direction=sign, sesoi=s, estimate=est,
                         ci_low=l_, ci_high=h_, se=se, p_value=p,
                         min_detectable_effect=R.min_detectable(
                             se if np.isfinite(se) else R.se_from_interval(
                                 l_, h_, alpha=rules.alpha), alpha=rules.alpha,
                             power=rules.power)))
    return out


def _association_target(ctx: _Context, constructs: list[str]) -> str:
    off = [c for c in constructs if c not in ctx.citizen_constructs]
    if ctx.quality and set(ctx.quality) <= set(off):
        return QUAL
    if not off:
        raise ModelError("a commune association needs an officials' construct")
    return off[0]


def _claim_parts(ctx: _Context, h) -> list[dict]:
    cid = h.claim_id
    constructs = _split(h.constructs)
    paths = _split(h.paths)
    expected = h.expected_sign if isinstance(h.expected_sign, str) and h.expected_sign else "+"
    parts: list[dict] = []
    tt = h.test_type
    if tt == "measurement":
        return _measurement_parts(ctx, cid, [c for c in constructs if c in ctx.quality]
                                  or constructs)
    if tt == "descriptive":
        parts += _descriptive_parts(ctx, cid, constructs)
    citizen = [c for c in constructs if c in ctx.citizen_constructs]
    if tt in ("commune_association", "comparison", "descriptive") and citizen:
        x = _association_target(ctx, constructs)
        for y in citizen:
            parts.append(_correlation_part(ctx, cid, x, y, expected.split("/")[0]))
    elif tt == "comparison":
        for y in constructs:
            parts.append(_regression_part(ctx, cid, "TRAINED", y, expected, binary=True))
    if tt in ("path", "descriptive") and paths:
        for spec in _path_specs(ctx, paths, expected):
            if spec[0] == "indirect":
                parts.append(_indirect_part(ctx, cid, *spec[1:]))
            else:
                parts.append(_regression_part(ctx, cid, spec[1], spec[2], spec[3]))
    if cid in DESCRIPTIVE and tt != "descriptive":
        parts += _descriptive_parts(ctx, cid, constructs)
    if tt == "descriptive" and not paths and not citizen and constructs:
        for v in _served_counts(ctx, cid):
            for c in constructs:
                parts.append(_count_part(ctx, cid, c, v))
    if not parts and not constructs and not paths:
        # an own instrument dropped the claim's scale (README: empty its constructs, paths
        # and expected_sign): the claim stays in the ledger, not testable, and says why
        parts.append(_part(
            cid, "—", "—", tt, "", inferential=False,
            missing="no construct or path of this claim is in the instrument (its "
                    "constructs and paths are empty in hypotheses.csv)",
            missing_vi="nhận định không có thang đo hay đường tác động nào trong bộ công cụ "
                       "(constructs và paths để trống trong hypotheses.csv)"))
    elif not parts:
        parts.append(_part(cid, "—", "—", tt, "", missing="no rule for this kind of claim",
                           missing_vi="chưa có quy tắc cho loại nhận định này",
                           inferential=False))
    return parts


def _served_counts(ctx: _Context, claim_id: str) -> list[str]:
    """Officials' integer variables that serve the claim (codebook ``claims`` column)."""
    def make():  # each integer variable with the claims it serves, once per evaluation
        cb = codebook.load_codebook("officials", folder=ctx.folder)
        rows = cb[(cb["type"] == "integer") & (cb["construct"].fillna("") == "")]
        return [(r.variable, _split(r.claims)) for r in rows.itertuples(index=False)]
    return [v for v, claims in ctx._memo("integer variables", make) if claim_id in claims]


def _variable_labels(ctx: _Context, variable: str) -> tuple[str, str]:
    """A variable's labels for a reader, English and Vietnamese: the codebook's ``gloss_en``
    and ``question_vi`` (each the code itself only where the codebook leaves it blank or does
    not know the variable)."""
    cb = codebook.load_codebook("officials", folder=ctx.folder).set_index("variable")
    if variable not in cb.index:
        return variable, variable

    def text(column):
        value = cb.at[variable, column]
        return value.strip() if isinstance(value, str) and value.strip() else variable
    return text("gloss_en"), text("question_vi")


def _count_part(ctx: _Context, claim_id, construct, variable) -> dict:
    """Association of a rating with a count it should track (standardized, CR2)."""
    rules = ctx.rules
    estimand = f"{construct}{ASSOCIATION}{variable}"
    label, label_vi = (f"{construct}{ASSOCIATION}{name}" for name in _variable_labels(ctx, variable))
    method = f"OLS on z-scores, {rules.vcov} cluster-robust SE by commune"
    try:
        d = ctx.data()
        if variable not in d.columns:
            src = pd.to_numeric(ctx.study.officials[variable], errors="coerce")
            d[variable] = src.to_numpy()
        res = ctx.regression(variable, (construct,))
    except (ModelError, _Absent, KeyError) as err:
        return _absent_part(claim_id, label, label_vi, "association", method, err,
                            sesoi=rules.sesoi, estimand=estimand)
    c = _coefficient(res, construct)
    return _part(claim_id, label, label_vi, "association", method, sesoi=rules.sesoi,
                 estimand=estimand,
                 estimate=float(c["estimate"]), ci_low=float(c["ci_low"]),
                 ci_high=float(c["ci_high"]), se=float(c["se"]), df=float(c["df"]),
                 p_value=float(c["p"]), n=int(res.nobs),
                 min_detectable_effect=R.min_detectable(float(c["se"]), alpha=rules.alpha,
                                                        power=rules.power, df=float(c["df"])))


# ---------------------------------------------------------------------- verdicts

def _judge(parts: pd.DataFrame, rules: R.Rules) -> pd.DataFrame:
    p = parts.copy()
    inf = p["inferential"].astype(bool) & p["p_value"].notna()
    # the family: every distinct inferential test once (claims sharing a test, e.g. T2 and
    # S1, do not count it twice)
    key = p["kind"].astype(str) + "|" + p["part"].astype(str)
    family = p.loc[inf].assign(key=key[inf]).drop_duplicates("key")
    adj = pd.Series(R.adjust(family["p_value"].to_numpy(float), method=rules.correction,
                             alpha=rules.alpha), index=family["key"].to_numpy())
    p["p_adjusted"] = np.where(inf, key.map(adj), np.nan)
    verdicts, reasons, reasons_vi = [], [], []
    for r in p.itertuples(index=False):
        missing = r.missing if isinstance(getattr(r, "missing", None), str) else "no estimate"
        missing_vi = (r.missing_vi if isinstance(getattr(r, "missing_vi", None), str)
                      else "không có ước lượng")
        out = {}
        for lang in ("en", "vi"):
            if r.inferential:
                out[lang] = R.verdict(
                    r.estimate, r.ci_low, r.ci_high, r.p_adjusted, direction=r.direction,
                    sesoi=r.sesoi, alpha=rules.alpha, se=r.se if np.isfinite(r.se) else None,
                    df=r.df if np.isfinite(r.df) else None, power=rules.power,
                    mde=r.min_detectable_effect if r.kind == "correlation" else None,
                    missing=missing if lang == "en" else missing_vi, lang=lang)
            else:
                out[lang] = R.descriptive_verdict(
                    r.estimate, r.ci_low, r.ci_high, threshold=r.threshold,
                    direction=r.direction, what=r.part if lang == "en" else r.part_vi,
                    missing=missing if lang == "en" else missing_vi, lang=lang)
        verdicts.append(out["en"][0])
        reasons.append(out["en"][1])
        reasons_vi.append(out["vi"][1])
    p["verdict"], p["reason"], p["reason_vi"] = verdicts, reasons, reasons_vi
    return p


class _PartColumns:
    """The columns of the judged parts that the claim rows read, as lists and arrays once,
    and the positions of each claim's parts in their order (a grouping, row selections,
    masks and pandas reductions per claim cost ~1.5 ms a claim; the same values:
    ``test_claim_rows_equal_the_row_by_row_construction``)."""

    TEXT = ("verdict", "kind", "part", "part_vi", "reason", "reason_vi", "method")
    NUMBERS = ("p_adjusted", "p_value", "robustness_value")
    CELLS = ("estimate", "ci_low", "ci_high", "n", "min_detectable_effect")

    def __init__(self, parts: pd.DataFrame, ipma_res: IPMAResult | None):
        self.text = {c: parts[c].tolist() for c in self.TEXT}
        self.numbers = {c: parts[c].to_numpy(dtype=float) for c in self.NUMBERS}
        self.cells = {c: parts[c].to_numpy() for c in self.CELLS}
        self.inferential = parts["inferential"].astype(bool).to_numpy()
        self.positions: dict = {}
        for i, cid in enumerate(parts["claim_id"].tolist()):
            if cid == cid:  # a missing claim id belongs to no claim (groupby's dropna)
                self.positions.setdefault(cid, []).append(i)
        self.ipma_res = ipma_res
        self._ipma_table = None

    def ipma_table(self) -> pd.DataFrame:
        if self._ipma_table is None:
            self._ipma_table = self.ipma_res.table.set_index("construct")
        return self._ipma_table


def _claim_row(claim, hypothesis_vi, cols: _PartColumns) -> dict:
    pos = cols.positions.get(claim.claim_id, [])
    idx = np.asarray(pos, dtype=np.intp)
    text = {c: [v[i] for i in pos] for c, v in cols.text.items()}
    verdicts = text["verdict"]
    v = R.combine(verdicts)
    order = {R.NOT_SUPPORTED: 0, R.NOT_TESTABLE: 1, R.INCONCLUSIVE: 2, R.SUPPORTED: 3}
    p_adj = cols.numbers["p_adjusted"][idx]
    if v == R.SUPPORTED:
        k = int(np.where(np.isnan(p_adj), -1.0, p_adj).argmax())
    else:
        k = [order[x] for x in verdicts].index(order[v])
    kinds = text["kind"]
    causal = any(x in ("path", "indirect", "comparison", "association") for x in kinds)
    reasons, reasons_vi = [], []
    rvs = cols.numbers["robustness_value"][idx]
    part_names, part_vi_names = text["part"], text["part_vi"]
    ipma_res = cols.ipma_res
    for rv_k, kind, part, verdict_k, reason, part_vi, reason_vi in zip(
            rvs.tolist(), kinds, part_names, verdicts, text["reason"], part_vi_names,
            text["reason_vi"], strict=True):
        extra_en, extra_vi = "", ""
        if np.isfinite(rv_k):
            extra_en = f"; robustness value {rv_k:.3f}"
            extra_vi = f"; giá trị bền vững (RV) {rv_k:.3f}".replace(".", ",")
        if ipma_res is not None and kind == "path" and part.endswith(f"→ {QUAL}"):
            x = part.split(" → ")[0]
            t = cols.ipma_table()
            if x in t.index:
                extra_en += (f"; IPMA importance rank {int(t.at[x, 'importance_rank'])} of "
                             f"{len(t)}, performance {t.at[x, 'performance']:.1f}/100 "
                             f"({t.at[x, 'quadrant']})")
                extra_vi += (f"; IPMA: tầm quan trọng hạng {int(t.at[x, 'importance_rank'])}/"
                             f"{len(t)}, mức độ thực hiện "
                             f"{t.at[x, 'performance']:.1f}/100".replace(".", ","))
        reasons.append(f"{part}: {verdict_k} — {reason}{extra_en}")
        reasons_vi.append(f"{part_vi}: {R.VERDICTS_VI[verdict_k]} — {reason_vi}{extra_vi}")
    if causal:
        reasons.append(CAUSAL_NOTE[0])
        reasons_vi.append(CAUSAL_NOTE[1])
    inf = cols.inferential[idx]
    p_inf, adj_inf = cols.numbers["p_value"][idx][inf], p_adj[inf]
    rv = rvs[~np.isnan(rvs)]

    def cell(column):
        return cols.cells[column][pos[k]]

    return {"claim_id": claim.claim_id, "section": claim.section, "kind": claim.kind,
            "claim_vi": claim.text_vi, "claim_en": claim.gloss_en,
            "hypothesis": hypothesis_vi, "method": "; ".join(dict.fromkeys(
                m for m in text["method"] if isinstance(m, str) and m)),
            "estimand": "; ".join(part_names), "estimand_vi": "; ".join(part_vi_names),
            "estimate": cell("estimate"), "ci_low": cell("ci_low"), "ci_high": cell("ci_high"),
            "p_value": np.nanmax(p_inf) if (~np.isnan(p_inf)).any() else np.nan,
            "p_adjusted": np.nanmax(adj_inf) if (~np.isnan(adj_inf)).any() else np.nan,
            "n": cell("n"), "verdict": v, "reason": " | ".join(reasons),
            "reason_vi": " | ".join(reasons_vi),
            "robustness_value": float(rv.min()) if len(rv) else np.nan,
            "min_detectable_effect": cell("min_detectable_effect"), "n_parts": len(pos)}


@_resultcache.kept(paths=("folder",))
def evaluate(study, *, rules: R.Rules | None = None, folder=None) -> LedgerResult:
    """Evidence and verdict for every claim of ``claims.csv``: a :class:`LedgerResult`.

    ``study`` is a :class:`hlstudy.study.Study` (partial studies are fine: parts needing an
    absent export are ``not testable``); ``rules`` the decision rules (default
    :class:`~hlstudy.evidence.rules.Rules`); ``folder`` an instrument folder other than
    ``data/instrument``.
    """
    rules = R.Rules() if rules is None else rules
    if not isinstance(rules, R.Rules):
        raise ModelError(f"rules must be a hlstudy.evidence.Rules, got {type(rules).__name__}")
    base = codebook.INSTRUMENT if folder is None else folder
    claims = pd.read_csv(f"{base}/claims.csv", dtype=str, keep_default_na=False)
    hyp = codebook.hypotheses(folder=folder).set_index("claim_id")
    ctx = _Context(study, rules, folder)
    try:
        ipma_res = ctx.ipma()
    except (ModelError, _Absent):
        ipma_res = None
    rows = []
    # each hypothesis row's values by name (the same objects as the row of a one-row frame,
    # without building that frame: ~18 ms an evaluation)
    fields = {cid: dict(zip(hyp.columns, values, strict=True))
              for cid, values in zip(hyp.index, hyp.itertuples(index=False, name=None),
                                     strict=True)}
    for c in claims.itertuples(index=False):
        if c.claim_id not in fields:
            hyp.loc[c.claim_id]  # the KeyError a claim without a hypothesis always raised
        rows += _claim_parts(ctx, SimpleNamespace(**{**fields[c.claim_id],
                                                     "claim_id": c.claim_id}))
    parts = pd.DataFrame(rows)
    for col in ("missing", "missing_vi"):
        if col not in parts.columns:
            parts[col] = np.nan
    for col in ("estimate", "ci_low", "ci_high", "se", "df", "p_value", "sesoi", "threshold",
                "robustness_value", "min_detectable_effect", "n"):
        parts[col] = pd.to_numeric(parts[col], errors="coerce").astype(float)
    parts = _judge(parts, rules)
    cols = _PartColumns(parts, ipma_res)
    out = [_claim_row(c, fields[c.claim_id]["hypothesis_vi"], cols)
           for c in claims.itertuples(index=False)]
    ledger = pd.DataFrame(out, columns=LEDGER_COLUMNS)
    parts = parts.rename(columns={"missing": "why_not_testable"}).drop(columns="missing_vi")
    return LedgerResult(claims=ledger, parts=parts, rules=rules, ipma=ipma_res)


def claim_verdicts(result: LedgerResult | pd.DataFrame, claim_ids=None) -> pd.DataFrame:
    """Each claim's verdict as the ledger gives it, for a table that shows claims elsewhere
    (notebook 04's findings): ``claim_id, verdict`` (code), ``verdict_vi`` and ``verdict_en``
    (the verdict's label, :data:`~hlstudy.evidence.rules.VERDICTS_VI` or the code, then the
    reason: every part with its criterion and numbers).

    ``result``: an :func:`evaluate` result or its ``claims`` table; ``claim_ids``: the claims
    wanted, in that order (default all).  A claim the ledger lacks raises :class:`ModelError`.
    """
    claims = result.claims if isinstance(result, LedgerResult) else result
    if not isinstance(claims, pd.DataFrame):
        raise ModelError("claim_verdicts needs an evaluate() result or its claims table, got "
                         f"{type(result).__name__}")
    need = ["claim_id", "verdict", "reason", "reason_vi"]
    absent = [c for c in need if c not in claims.columns]
    if absent:
        raise ModelError(f"the claims table lacks columns {absent}")
    c = claims.set_index("claim_id")
    ids = list(c.index) if claim_ids is None else list(claim_ids)
    unknown = [i for i in ids if i not in c.index]
    if unknown:
        raise ModelError(f"the ledger has no claims {unknown}")
    rows = []
    for i in ids:
        v = c.at[i, "verdict"]
        rows.append({"claim_id": i, "verdict": v,
                     "verdict_vi": f"{R.VERDICTS_VI[v].capitalize()}: {c.at[i, 'reason_vi']}",
                     "verdict_en": f"{v.capitalize()}: {c.at[i, 'reason']}"})
    return pd.DataFrame(rows, columns=["claim_id", "verdict", "verdict_vi", "verdict_en"])


CONTRADICTION_COLUMNS = ["claim_id", "kind", "part", "part_vi", "text", "text_vi"]
#: What each IPMA quadrant means (English, Vietnamese), against the means of the drivers.
QUADRANT_MEANING = {
    "improve": ("more important and less well done than the mean",
                "quan trọng hơn và thực hiện kém hơn trung bình"),
    "keep": ("more important and better done than the mean",
             "quan trọng hơn và thực hiện tốt hơn trung bình"),
    "low": ("less important and less well done than the mean",
            "kém quan trọng hơn và thực hiện kém hơn trung bình"),
    "overkill": ("less important and better done than the mean",
                 "kém quan trọng hơn và thực hiện tốt hơn trung bình")}


def _direction_text(r, alpha: float) -> tuple[str, str]:
    """The sentences (English, Vietnamese) of a part whose estimate points against its claim."""
    f = R._fmt
    sign = R._sign(r.direction)
    est_en, est_vi = f(r.estimate, lang="en"), f(r.estimate, lang="vi")
    has_ci = R._finite(r.ci_low, r.ci_high) and not R.exact_interval(r.estimate, r.ci_low,
                                                                     r.ci_high)
    ci = {lang: (f" [{f(r.ci_low, lang=lang)}; {f(r.ci_high, lang=lang)}]" if has_ci else "")
          for lang in ("en", "vi")}
    if R._finite(r.threshold):   # a descriptive number against the threshold the claim needs
        thr_en, thr_vi = f(r.threshold, 2, "en"), f(r.threshold, 2, "vi")
        return (f"{r.part}: {est_en}{ci['en']}, {'below' if sign > 0 else 'above'} the "
                f"threshold {thr_en} the claim needs",
                f"{r.part_vi}: {est_vi}{ci['vi']}, {'nhỏ hơn' if sign > 0 else 'lớn hơn'} "
                f"ngưỡng {thr_vi} mà nhận định cần")
    p = r.p_adjusted
    # how sure the reversal is: the adjusted p and the interval (R.reversal_certainty)
    sure = R.reversal_certainty(p, r.ci_low if has_ci else None, r.ci_high if has_ci else None,
                                alpha)
    if sure == "established":
        how_en = f"significant after the correction (adjusted p {R._fp(p, 'en')})"
        how_vi = f"có ý nghĩa thống kê sau hiệu chỉnh (p hiệu chỉnh {R._fp(p, 'vi')})"
    elif sure == "p_only":
        how_en = (f"adjusted p {R._fp(p, 'en')} but the 95% CI{ci['en']} contains 0: the "
                  "reversal is not established")
        how_vi = (f"p hiệu chỉnh {R._fp(p, 'vi')} nhưng KTC 95%{ci['vi']} chứa 0: chiều ngược "
                  "chưa được khẳng định")
    else:
        zero = has_ci and r.ci_low <= 0 <= r.ci_high
        how_en = (f"95% CI{ci['en']} {'contains' if zero else 'excludes'} 0, adjusted p "
                  f"{R._fp(p, 'en')}: not a significant reversal" if has_ci else
                  f"adjusted p {R._fp(p, 'en')}: not a significant reversal")
        how_vi = (f"KTC 95%{ci['vi']} {'chứa' if zero else 'không chứa'} 0, p hiệu chỉnh "
                  f"{R._fp(p, 'vi')}: chưa đủ để nói là ngược chiều có ý nghĩa" if has_ci else
                  f"p hiệu chỉnh {R._fp(p, 'vi')}: chưa đủ để nói là ngược chiều có ý nghĩa")
    return (f"{r.part}: the estimate {est_en} points against the claimed "
            f"{'positive' if sign > 0 else 'negative'} direction; {how_en}",
            f"{r.part_vi}: ước lượng {est_vi} ngược chiều nhận định (nhận định: "
            f"{'dương' if sign > 0 else 'âm'}); {how_vi}")


def _ipma_texts(premise: str, x: str, ip: IPMAResult) -> tuple[str, str] | None:
    """The sentences (English, Vietnamese) of an IPMA premise that the map contradicts, or
    None when the map agrees with it."""
    t = ip.table.set_index("construct")
    row, n = t.loc[x], len(t)
    rank = int(row["importance_rank"])
    f = R._fmt
    kind, value = premise.split("<=") if "<=" in premise else premise.split("=")
    if kind == "rank":
        k = int(value)
        if rank <= k:
            return None
        top = ip.table.iloc[0]
        claim_en = "the largest driver" if k == 1 else f"among the {k} largest drivers"
        claim_vi = "là yếu tố lớn nhất" if k == 1 else f"thuộc {k} yếu tố lớn nhất"
        return (f"the claim makes {row['label_en']} {claim_en}, but the IPMA ranks it "
                f"{rank} of {n} by importance (total effect {f(row['importance'], lang='en')}; "
                f"first: {top['label_en']}, {f(top['importance'], lang='en')})",
                f"nhận định cho rằng {row['label_vi']} {claim_vi}, nhưng IPMA xếp nó hạng "
                f"{rank}/{n} về tầm quan trọng (tác động tổng "
                f"{f(row['importance'], lang='vi')}; hạng 1: {top['label_vi']}, "
                f"{f(top['importance'], lang='vi')})")
    q = row["quadrant"]
    if q == value:
        return None
    imp_side = row["importance"] >= ip.mean_importance
    perf_side = row["performance"] >= ip.mean_performance
    return (f"the claim puts {row['label_en']} in the '{QUADRANTS_EN[value]}' quadrant "
            f"({QUADRANT_MEANING[value][0]}), but the IPMA puts it in '{QUADRANTS_EN[q]}': "
            f"importance {f(row['importance'], lang='en')} ({'above' if imp_side else 'below'} "
            f"the mean {f(ip.mean_importance, lang='en')}), performance "
            f"{f(row['performance'], 1, 'en')}/100 ({'above' if perf_side else 'below'} the "
            f"mean {f(ip.mean_performance, 1, 'en')})",
            f"nhận định đặt {row['label_vi']} ở góc \"{QUADRANTS_VI[value]}\" "
            f"({QUADRANT_MEANING[value][1]}), nhưng IPMA đặt nó ở góc \"{QUADRANTS_VI[q]}\": "
            f"tầm quan trọng {f(row['importance'], lang='vi')} ({'trên' if imp_side else 'dưới'} "
            f"trung bình {f(ip.mean_importance, lang='vi')}), mức độ thực hiện "
            f"{f(row['performance'], 1, 'vi')}/100 ({'trên' if perf_side else 'dưới'} trung bình "
            f"{f(ip.mean_performance, 1, 'vi')})")


def contradictions(result: LedgerResult, *, folder=None) -> pd.DataFrame:
    """Where the data point against a claim, whatever its verdict: one row per finding,
    columns :data:`CONTRADICTION_COLUMNS` (``kind``: ``direction`` or ``ipma``; ``text`` and
    ``text_vi`` a sentence with the numbers), in the order of the claims and their parts.

    * ``direction``: a part whose estimate lies on the other side of zero (a path, a
      correlation, a difference) or of its threshold (a share, a reliability) than the claim
      says (:func:`hlstudy.evidence.rules.opposite`); the sentence says how sure the reversal
      is (:func:`hlstudy.evidence.rules.reversal_certainty`: the adjusted p below α and the
      interval excluding 0, the p alone, or neither) and its interval.
    * ``ipma``: a premise of ``hypotheses.csv``'s ``ipma`` column (``rank<=K``,
      ``quadrant=Q``: :data:`hlstudy.codebook.IPMA_PREMISE`) about the driver of the claim's
      first path that the importance–performance map of overall quality contradicts (not
      tested: a rank and a quadrant have no interval).

    Not a verdict: the verdicts stay those of the rules; this says where the numbers and the
    thesis' wording disagree.  ``folder``: the instrument folder of the evaluation.

    Example (notebook 06): ``contradictions(evaluate(...))[["claim_id", "kind", "text_vi"]]``;
    an empty table (the columns, no rows) when nothing contradicts a claim.

    Raises :class:`~hlstudy.errors.ModelError` for a ``result`` that is not an
    :func:`evaluate` result (:class:`LedgerResult`).
    """
    if not isinstance(result, LedgerResult):
        raise ModelError(f"contradictions needs an evaluate() result, got {type(result).__name__}")
    hyp = codebook.hypotheses(folder=folder).set_index("claim_id")
    parts = result.parts
    rows = []
    for cid in result.claims["claim_id"]:
        for r in parts[parts["claim_id"] == cid].itertuples(index=False):
            if r.direction not in ("+", "-") or not R.opposite(
                    r.estimate, r.direction, r.threshold if R._finite(r.threshold) else 0.0):
                continue
            en, vi = _direction_text(r, result.rules.alpha)
            rows.append({"claim_id": cid, "kind": "direction", "part": r.part,
                         "part_vi": r.part_vi, "text": en, "text_vi": vi})
        if cid not in hyp.index or result.ipma is None:
            continue
        h = hyp.loc[cid]
        paths = [p for p in h["paths"].split(";") if p]
        premises = [p for p in h["ipma"].split(";") if p]
        if not premises or not paths:
            continue
        x = paths[0].split("->")[0]
        if x not in set(result.ipma.table["construct"]):
            continue
        for premise in premises:
            texts = _ipma_texts(premise, x, result.ipma)
            if texts is not None:
                rows.append({"claim_id": cid, "kind": "ipma", "part": f"IPMA {x}",
                             "part_vi": f"IPMA {x}", "text": texts[0], "text_vi": texts[1]})
    return pd.DataFrame(rows, columns=CONTRADICTION_COLUMNS)


def commune_reversals(corr: pd.DataFrame, *, alpha: float, folder=None) -> pd.DataFrame:
    """The commune-level correlations that point against the thesis: the rows of ``corr``
    (:func:`hlstudy.drivers.commune_correlations`: ``y, rho, ci_low, ci_high, p``) whose
    ``rho`` lies on the other side of 0 than the ``expected_sign`` of a
    ``commune_association`` claim of ``hypotheses.csv`` naming ``y`` among its constructs
    (each claim's own sign; a correlation no such claim names has no thesis direction), with
    ``claim_id``, ``expected_sign`` and ``certainty``
    (:func:`hlstudy.evidence.rules.reversal_certainty` of ``p`` and the interval), one row per
    (claim, correlation), in the order of the claims and then of ``corr``.  No such claim in
    the instrument: no rows.
    """
    need = {"y", "rho", "ci_low", "ci_high", "p"}
    if not isinstance(corr, pd.DataFrame) or not need <= set(corr.columns):
        raise ModelError(f"commune_reversals needs a table with columns {sorted(need)} "
                         "(drivers.commune_correlations)")
    hyp = codebook.hypotheses(folder=folder)
    hyp = hyp[hyp["test_type"] == "commune_association"]
    rows = []
    for h in hyp.itertuples(index=False):
        named = set(str(h.constructs).split(";"))
        for r in corr.to_dict("records"):
            if r["y"] in named and R.opposite(r["rho"], h.expected_sign):
                rows.append({**r, "claim_id": h.claim_id, "expected_sign": h.expected_sign,
                             "certainty": R.reversal_certainty(r["p"], r["ci_low"],
                                                               r["ci_high"], alpha)})
    return pd.DataFrame(rows, columns=[*corr.columns, "claim_id", "expected_sign", "certainty"])


def claims_ledger(study, *, rules: R.Rules | None = None, folder=None) -> pd.DataFrame:
    """One row per claim of ``claims.csv`` with its evidence and verdict.

    Columns (:data:`LEDGER_COLUMNS`): ``claim_id, section, kind, claim_vi, claim_en,
    hypothesis`` (Vietnamese, from ``hypotheses.csv``), ``method, estimand, estimand_vi`` (the
    parts, ``;``-separated), ``estimate, ci_low, ci_high`` and ``n`` of the part that decided the
    verdict (standardized β, r, d, ICC, a share or scale points), ``p_value`` (the
    intersection–union p: the largest p of the claim's inferential parts), ``p_adjusted``
    (the largest adjusted p), ``verdict`` (``supported``, ``not supported``,
    ``inconclusive``, ``not testable``), ``reason`` / ``reason_vi`` (every part's verdict and
    numbers; associations worded as such), ``robustness_value`` (smallest of the parts'),
    ``min_detectable_effect`` (of the deciding part), ``n_parts``.

    Raises :class:`ModelError` for invalid ``rules``.  See :func:`evaluate` for the parts.
    There is no single R equivalent; each part's R call (``clubSandwich::coef_test``,
    ``lavaan::sem``, ``cor.test``, ``p.adjust``…) is listed in ``docs/evidence.md``.

    >>> ledger = claims_ledger(load_study())                        # doctest: +SKIP
    >>> ledger.set_index("claim_id").at["S1", "verdict"]            # doctest: +SKIP
    'supported'
    """
    return evaluate(study, rules=rules, folder=folder).claims
