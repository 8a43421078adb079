"""Confirmatory factor analysis by maximum likelihood, matching ``lavaan::cfa``.

:func:`cfa` fits a measurement model given as ``{factor: [items]}`` and returns a
:class:`CFAResult` with lavaan's fit measures (``fitMeasures``), the parameter
table (``parameterEstimates``) with its ``std.all`` column
(``standardizedSolution``), latent correlations and Heywood-case flags.

Defaults are lavaan's (0.6 series): ML with ``likelihood = "normal"``, sample
covariances with divisor N, marker-variable identification, free latent
covariances, no mean structure with one group, expected information for
standard errors, listwise deletion of incomplete rows.
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from hlstudy import _resultcache
from hlstudy.cfa._estimate import Estimate, Problem, SampleStats, fit_ml, start_values
from hlstudy.cfa._spec import Spec, build_spec, normalise_model, parse_cfa_syntax
from hlstudy.errors import ModelError, TooFewRowsError, check_lang

#: Conventional cut-offs shown by :meth:`CFAResult.summary`: CFI (Bentler 1990) and TLI
#: (Tucker & Lewis 1973) >= .90, the level Bentler & Bonett (1980) proposed for NFI and most
#: Vietnamese theses cite after Hair et al. 2019; RMSEA (Steiger & Lind 1980) <= .08 (Browne &
#: Cudeck 1993); SRMR <= .08 (Hu & Bentler 1999).
CUTOFFS = {
    "cfi": (">=", 0.90),
    "tli": (">=", 0.90),
    "rmsea": ("<=", 0.08),
    "srmr": ("<=", 0.08),
    "chi2_df": ("<=", 3.0),
}

#: The stricter cut-offs of Hu & Bentler (1999): CFI/TLI >= .95, RMSEA <= .06, SRMR <= .08.
HU_BENTLER = {
    "cfi": (">=", 0.95),
    "tli": (">=", 0.95),
    "rmsea": ("<=", 0.06),
    "srmr": ("<=", 0.08),
}
#: Levels of :func:`fit_verdict`, best first.
FIT_VERDICTS = ("good", "acceptable", "not acceptable")


@dataclass(frozen=True)
class FitVerdict:
    """What the fit indices say, read against two sets of cut-offs (:func:`fit_verdict`).

    ``verdict``: ``"good"`` (every Hu & Bentler cut-off met), ``"acceptable"`` (every
    cut-off of the older convention, :data:`CUTOFFS`, met, not every Hu & Bentler one) or
    ``"not acceptable"`` (some cut-off of the older convention missed).  ``conventional_met``
    / ``conventional_failed`` and ``strict_met`` / ``strict_failed``: the index names, in the
    order of the cut-offs; an index that is missing (NaN) counts as failed.
    """

    verdict: str
    conventional_met: tuple
    conventional_failed: tuple
    strict_met: tuple
    strict_failed: tuple


def _meets(value, op: str, cut: float) -> bool:
    if value is None or not np.isfinite(value):
        return False
    return bool(value >= cut) if op == ">=" else bool(value <= cut)


def fit_verdict(fit: Mapping, *, conventional: Mapping | None = None,
                strict: Mapping | None = None) -> FitVerdict:
    """Verdict on a model's fit from its indices (``CFAResult.fit``: ``cfi, tli, rmsea, srmr,
    chi2, df``), against ``conventional`` (default :data:`CUTOFFS`, the .90 convention;
    ``chi2_df`` is computed from ``chi2`` and ``df``) and ``strict`` (default
    :data:`HU_BENTLER`) cut-offs, each ``{index: (">=" | "<=", cut)}``.

    >>> fit_verdict({"cfi": .96, "tli": .95, "rmsea": .05, "srmr": .04, "chi2": 90, "df": 50}).verdict
    'good'
    >>> fit_verdict({"cfi": .42, "tli": .37, "rmsea": .12, "srmr": .07, "chi2": 900, "df": 50}).verdict
    'not acceptable'
    """
    if not isinstance(fit, Mapping):
        raise ModelError(f"fit must be a mapping of fit indices, got {type(fit).__name__}")
    conventional = dict(CUTOFFS if conventional is None else conventional)
    strict = dict(HU_BENTLER if strict is None else strict)
    values = {k: fit.get(k, np.nan) for k in set(conventional) | set(strict)}
    if "chi2_df" in values:
        chi2, df = fit.get("chi2", np.nan), fit.get("df", np.nan)
        values["chi2_df"] = chi2 / df if np.isfinite(df) and df > 0 else np.nan
    for name, (op, _cut) in {**conventional, **strict}.items():
        if op not in (">=", "<="):
            raise ModelError(f"cut-off of {name!r} must be ('>=' or '<=', number), got {op!r}")
        try:
            values[name] = float(values[name])
        except (TypeError, ValueError) as err:
            raise ModelError(f"fit index {name!r} is not a number: {values[name]!r}") from err

    def split(cuts):
        met = tuple(k for k, (op, c) in cuts.items() if _meets(values[k], op, c))
        return met, tuple(k for k in cuts if k not in met)

    c_met, c_failed = split(conventional)
    s_met, s_failed = split(strict)
    verdict = ("good" if not s_failed else "acceptable" if not c_failed else "not acceptable")
    return FitVerdict(verdict, c_met, c_failed, s_met, s_failed)


#: hlstudy fit-measure names -> ``lavaan::fitMeasures`` names.
LAVAAN_NAMES = {
    "npar": "npar",
    "n_obs": "ntotal",
    "fmin": "fmin",
    "chi2": "chisq",
    "df": "df",
    "p_value": "pvalue",
    "baseline_chi2": "baseline.chisq",
    "baseline_df": "baseline.df",
    "baseline_p_value": "baseline.pvalue",
    "cfi": "cfi",
    "tli": "tli",
    "loglik": "logl",
    "unrestricted_loglik": "unrestricted.logl",
    "aic": "aic",
    "bic": "bic",
    "rmsea": "rmsea",
    "rmsea_ci_low": "rmsea.ci.lower",
    "rmsea_ci_high": "rmsea.ci.upper",
    "rmsea_p_value": "rmsea.pvalue",
    "srmr": "srmr",
    "gfi": "gfi",
    "agfi": "agfi",
    "pgfi": "pgfi",
    "nfi": "nfi",
    "pnfi": "pnfi",
    "rfi": "rfi",
    "ifi": "ifi",
    "rni": "rni",
}


class HeywoodCase(str):
    """One Heywood case: the English sentence (it *is* that ``str``, as ``CFAResult.heywood``
    always held) with its parts, for a caller that words it in another language:
    ``kind`` (one of :data:`HEYWOOD_KINDS`), ``names`` (the item(s) or factor(s)),
    ``group`` (None for a single-group model) and ``value`` (the improper number, or None).
    :meth:`text` words it in Vietnamese (``"vi"``) or English.
    """

    kind: str
    names: tuple
    group: object
    value: float | None

    def __new__(cls, text: str, kind: str, names: tuple, group=None, value=None):
        self = super().__new__(cls, text)
        self.kind, self.names, self.group, self.value = kind, tuple(names), group, value
        return self

    def __reduce__(self):  # pickled with its parts (the result cache keeps CFA results)
        return (HeywoodCase, (str(self), self.kind, self.names, self.group, self.value))

    def text(self, lang: str = "en") -> str:
        """The case in words: ``"en"`` (this string) or ``"vi"``."""
        if check_lang(lang) == "en":
            return str(self)
        from hlstudy.export import number

        decimals = 4 if self.kind in ("factor_variance", "residual_variance") else 3
        value = "" if self.value is None else number(self.value, decimals, lang="vi")
        where = "" if self.group is None else f" (nhóm {self.group})"
        a, b = (*self.names, "", "")[:2]
        words = {
            "residual_variance": f"phương sai phần dư của {a}{where} âm ({value})",
            "residual_correlation": f"tương quan phần dư {a}–{b}{where} bằng {value} (trị tuyệt đối > 1)",
            "factor_variance": f"phương sai của nhân tố {a}{where} không dương ({value})",
            "std_loading": f"hệ số tải chuẩn hóa của {a} lên {b}{where} bằng {value} (trị tuyệt đối > 1)",
            "latent_covariance": f"ma trận hiệp phương sai của các biến tiềm ẩn{where} không xác định dương",
            "latent_correlation": f"tương quan giữa {a} và {b}{where} bằng {value} (trị tuyệt đối > 1)",
        }
        return words[self.kind]


#: The kinds of :class:`HeywoodCase`.
HEYWOOD_KINDS = ("residual_variance", "residual_correlation", "factor_variance", "std_loading",
                 "latent_covariance", "latent_correlation")


class EstimationProblem(str):
    """One estimation problem of :func:`cfa` or :func:`hlstudy.sem.sem`: the English sentence
    (it *is* that ``str``, as the warnings and ``CFAResult.identification`` always held) with
    its parts, for a caller that words it in another language.

    ``kind`` (one of :data:`ESTIMATION_KINDS`):

    * ``"not_converged"``: the optimiser stopped early; ``value`` is the largest absolute
      gradient, ``detail`` the optimiser's own (English) message, ``model`` ``"CFA"`` or ``"SEM"``;
    * ``"variance_scale"``: observed variances differ by a factor > 1000; ``names`` are the
      items with the largest and the smallest variance, ``values`` those two variances;
    * ``"not_inverted"``: the information matrix is singular; ``value`` is the smallest
      eigenvalue of the information matrix scaled to unit diagonal, ``names`` the parameters
      loading on its null directions, ``detail`` what is NaN because of it (``""``: not said;
      ``"se"``: the standard errors; ``"se_mlr"``: also the robust MLR test statistic and the
      fit measures built on it; ``"se_fiml"``: also the FIML-corrected ``.robust`` measures);
    * ``"huge_se"``: standard errors more than ``value`` times the estimate and the largest
      item SD; ``names`` the parameters.

    :meth:`text` words it in Vietnamese (``"vi"``) or English (this string).
    """

    kind: str
    names: tuple
    value: float | None
    values: tuple
    detail: str
    model: str

    def __new__(cls, text: str, kind: str, *, names=(), value=None, values=(), detail: str = "",
                model: str = ""):
        if kind not in ESTIMATION_KINDS:
            raise ModelError(f"kind must be one of {ESTIMATION_KINDS}, got {kind!r}")
        self = super().__new__(cls, text)
        self.kind, self.names, self.value = kind, tuple(names), value
        self.values, self.detail, self.model = tuple(values), detail, model
        return self

    def __reduce__(self):  # pickled with its parts (the result cache keeps CFA and SEM results)
        return (_estimation_problem, (str(self), self.kind, self.names, self.value, self.values,
                                      self.detail, self.model))

    def text(self, lang: str = "en") -> str:
        """The problem in words: ``"en"`` (this string) or ``"vi"``."""
        if check_lang(lang) == "en":
            return str(self)
        names = ", ".join(self.names)
        if self.kind == "not_converged":
            return (f"ước lượng {self.model} không hội tụ (gradient lớn nhất theo trị tuyệt đối "
                    f"{_sci_vi(self.value)})"
                    + ("; các ước lượng không đáng tin cậy" if self.model == "CFA" else ""))
        if self.kind == "variance_scale":
            (a, b), (va, vb) = self.names, self.values
            return (f"phương sai của một số biến quan sát lớn hơn của các biến khác ít nhất 1000 "
                    f"lần ({a}: {_general_vi(va)}, {b}: {_general_vi(vb)}); kết quả được tính "
                    "không phụ thuộc đơn vị đo, nhưng nên cân nhắc đổi thang đo")
        if self.kind == "huge_se":
            return (f"sai số chuẩn cực lớn ở {names}: mô hình không được xác định (theo thực "
                    "nghiệm) trên dữ liệu này")
        nan = {"": "", "se": "; vì vậy không có sai số chuẩn",
               "se_mlr": "; vì vậy không có sai số chuẩn, thống kê kiểm định robust (MLR) và các "
                         "chỉ số phù hợp dựa trên nó (các chỉ số .scaled và .robust)",
               "se_fiml": "; vì vậy không có sai số chuẩn và các chỉ số phù hợp .robust hiệu "
                          "chỉnh cho FIML"}[self.detail]
        return (f"ma trận thông tin không nghịch đảo được (giá trị riêng nhỏ nhất sau chuẩn hóa "
                f"{_sci_vi(self.value, 1)}): mô hình có thể không được xác định trên dữ liệu "
                f"này; các tham số liên quan: {names}{nan}")


#: The kinds of :class:`EstimationProblem`.
ESTIMATION_KINDS = ("not_converged", "variance_scale", "not_inverted", "huge_se")


def _estimation_problem(text, kind, names, value, values, detail, model):
    return EstimationProblem(text, kind, names=names, value=value, values=values, detail=detail,
                             model=model)


def _sci_vi(x, digits: int = 2) -> str:
    """``1.23e-05`` with a decimal comma (Vietnamese)."""
    return f"{x:.{digits}e}".replace(".", ",")


def _general_vi(x) -> str:
    """``:.4g`` with a decimal comma (Vietnamese)."""
    return f"{x:.4g}".replace(".", ",")


class _WordedWarning(UserWarning):
    """A warning with its parts (``problem``: an :class:`EstimationProblem`), pickled with them
    (the result cache keeps a call's warnings) and worded by :meth:`text`."""

    def __init__(self, message: str = "", problem: EstimationProblem | None = None):
        super().__init__(message)
        if problem is None and isinstance(message, EstimationProblem):
            problem = message
        self.problem = problem

    def __reduce__(self):
        return (type(self), (str(self), self.problem))

    def text(self, lang: str = "en") -> str:
        """The warning in words: ``"en"`` (``str(warning)``) or ``"vi"``; a warning issued
        without its parts (from a plain string) has only its English words."""
        if check_lang(lang) == "en":
            return str(self)
        if self.problem is None:
            raise ModelError(f"this {type(self).__name__} was issued without its parts "
                             f"(from the plain string {str(self)!r}): it has no Vietnamese words")
        return self.problem.text("vi")


class HeywoodWarning(UserWarning):
    """An improper solution: negative variance, |standardized loading| > 1, |r| > 1.

    ``cases``: the :class:`HeywoodCase` list (also ``CFAResult.heywood``), for a caller that
    words them itself (:meth:`HeywoodCase.text`, or :meth:`text` for the whole warning)."""

    def __init__(self, message: str = "", cases=()):
        super().__init__(message)
        self.cases = list(cases)

    def __reduce__(self):  # pickled with its cases (the result cache keeps a call's warnings)
        return (HeywoodWarning, (str(self), self.cases))

    def text(self, lang: str = "en") -> str:
        """The warning in words: ``"en"`` (``str(warning)``) or ``"vi"``."""
        if check_lang(lang) == "en":
            return str(self)
        if not self.cases or not all(isinstance(c, HeywoodCase) for c in self.cases):
            raise ModelError("this HeywoodWarning was issued without its HeywoodCase parts "
                             f"(from the plain string {str(self)!r}): it has no Vietnamese words")
        return ("trường hợp Heywood / nghiệm không hợp lệ: "
                + "; ".join(c.text("vi") for c in self.cases))


class ConvergenceWarning(_WordedWarning):
    """The optimiser stopped before the gradient vanished (``problem.kind``
    ``"not_converged"``)."""


class IdentificationWarning(_WordedWarning):
    """The information matrix is singular (or SEs explode): the model is not identified on
    these data (lavaan: "could not compute standard errors! The information matrix could
    not be inverted."); ``problem.kind`` ``"not_inverted"`` or ``"huge_se"``."""


class ScaleWarning(_WordedWarning):
    """Observed variances differ by more than a factor of 1000 (lavaan warns the same);
    ``problem.kind`` ``"variance_scale"``."""


@dataclass(repr=False)
class CFAResult:
    """Result of :func:`cfa`.  ``print(result)`` shows :meth:`summary`."""

    model: dict[str, list[str]]
    fit: dict[str, float]
    estimates: pd.DataFrame
    std_loadings: pd.Series
    phi: pd.DataFrame | dict[str, pd.DataFrame]
    converged: bool
    heywood: list[str]
    groups: list[str] | None
    n_obs: int
    n_dropped: int
    message: str
    iterations: int
    implied: dict[str, pd.DataFrame] = field(default_factory=dict)
    sample: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: messages of the identification check (empty when the information matrix is fine)
    identification: list[str] = field(default_factory=list)
    # internals kept for modification indices (not part of the public contract)
    _spec: Spec | None = field(default=None, repr=False)
    _stats: SampleStats | None = field(default=None, repr=False)
    _x: np.ndarray | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ views
    def fit_measures(self) -> pd.Series:
        """Fit measures under ``lavaan::fitMeasures`` names (for comparison with R)."""
        return pd.Series({LAVAAN_NAMES[k]: v for k, v in self.fit.items() if k in LAVAAN_NAMES})

    def fit_table(self, cutoffs: Mapping[str, tuple[str, float]] | None = None) -> pd.DataFrame:
        """Fit indices against conventional cut-offs, one row per index.

        Index (``chi2, df, p_value, chi2_df, gfi, cfi, tli, rmsea, srmr``); columns ``value``,
        ``ci.lower`` and ``ci.upper`` (the 90 % interval of RMSEA, lavaan ``fitMeasures``
        ``rmsea.ci.lower`` / ``rmsea.ci.upper``; NaN for the other indices), ``criterion``
        (e.g. ``">= 0.9"``, ``""`` where no cut-off applies) and ``met`` (bool, or None).
        """
        cutoffs = dict(CUTOFFS if cutoffs is None else cutoffs)
        f = self.fit
        rows = [("chi2", f["chi2"], "", None), ("df", f["df"], "", None),
                ("p_value", f["p_value"], "", None)]
        values = {
            "chi2_df": f["chi2"] / f["df"] if f["df"] > 0 else np.nan,
            "gfi": f["gfi"], "cfi": f["cfi"], "tli": f["tli"], "rmsea": f["rmsea"],
            "srmr": f["srmr"],
        }
        for key in ("chi2_df", "gfi", "cfi", "tli", "rmsea", "srmr"):
            val = values[key]
            if key in cutoffs and np.isfinite(val):
                op, cut = cutoffs[key]
                met = bool(val >= cut) if op == ">=" else bool(val <= cut)
                rows.append((key, val, f"{op} {cut:g}", met))
            else:
                rows.append((key, val, "", None))
        out = pd.DataFrame(rows, columns=["index", "value", "criterion", "met"]).set_index("index")
        out.insert(1, "ci.lower", np.nan)
        out.insert(2, "ci.upper", np.nan)
        out.loc["rmsea", ["ci.lower", "ci.upper"]] = [f["rmsea_ci_low"], f["rmsea_ci_high"]]
        return out

    def loadings_table(self) -> pd.DataFrame:
        """Loadings as theses print them: factor, item, estimate, SE, z, p, standardized."""
        est = self.estimates
        tab = est[est["op"] == "=~"].rename(columns={"lhs": "factor", "rhs": "item"})
        cols = ["factor", "item"] + (["group"] if "group" in tab else []) + [
            "est", "se", "z", "p", "std_all"]
        return tab[cols].reset_index(drop=True)

    def summary(self) -> str:
        lines = []
        title = "Confirmatory factor analysis (ML, lavaan defaults)"
        lines.append(title)
        lines.append("=" * len(title))
        grp = f", {len(self.groups)} groups" if self.groups else ""
        lines.append(
            f"N = {self.n_obs}{grp}; {self.n_dropped} incomplete row(s) dropped; "
            f"{int(self.fit['npar'])} free parameters; "
            f"{'converged' if self.converged else 'NOT CONVERGED'} in {self.iterations} iterations"
        )
        if not self.converged:
            lines.append(f"!! WARNING: optimiser did not converge ({self.message}); "
                         "do not interpret these estimates")
        for h in self.identification:
            lines.append(f"!! NOT IDENTIFIED: {h}")
        for h in self.heywood:
            lines.append(f"!! HEYWOOD CASE: {h}")
        if self.fit["df"] == 0:
            lines.append("Note: the model is saturated (df = 0): its fit indices carry no information")
        lines.append("")
        lines.append("Fit indices")
        ft = self.fit_table()
        for idx, row in ft.iterrows():
            val = f"{row['value']:.3f}" if idx != "df" else f"{row['value']:.0f}"
            if idx == "p_value" and np.isfinite(row["value"]):
                val = "< .001" if row["value"] < 0.001 else f"{row['value']:.3f}"
            if not np.isfinite(row["value"]):
                val = "-"
            crit = row["criterion"]
            flag = row["met"]
            met = ("met" if flag else "NOT met") if isinstance(flag, bool | np.bool_) else ""
            lines.append(f"  {_LABELS.get(idx, idx):<12} {val:>9}  {crit:<8} {met}")
            if np.isfinite(row["ci.lower"]):
                lines.append(f"  {_LABELS.get(idx, idx) + ' 90% CI':<12} "
                             f"[{row['ci.lower']:.3f}, {row['ci.upper']:.3f}]")
        lines.append("")
        lines.append("Standardized loadings (std.all)")
        lt = self.loadings_table()
        for _, r in lt.iterrows():
            g = f"[{self.groups[int(r['group']) - 1]}] " if "group" in lt else ""
            if np.isfinite(r["p"]):
                b = f"b = {r['est']:.3f}, p " + ("< .001" if r["p"] < 0.001 else f"= {r['p']:.3f}")
            else:
                b = f"b = {r['est']:.3f} fixed"
            flag = "  <- below .50" if abs(r["std_all"]) < 0.5 else ""
            flag = "  <- |loading| > 1 (Heywood)" if abs(r["std_all"]) > 1 else flag
            lines.append(f"  {g}{r['factor']:<12} {r['item']:<10} {r['std_all']:7.3f}"
                         f"  ({b}){flag}")
        lines.append("")
        lines.append("Convergent validity (from std.all): CR >= .70, AVE >= .50")
        keys = [None] if self.groups is None else self.groups
        for key in keys:
            lam = self.std_loadings if key is None else self.std_loadings.xs(key, level="group")
            for factor in self.model:
                ll = lam.xs(factor, level="factor").to_numpy()
                cr, ave = cr_from_loadings(ll), ave_from_loadings(ll)
                g = "" if key is None else f"[{key}] "
                lines.append(f"  {g}{factor:<12} CR = {cr:.3f}{'' if cr >= .7 else ' (< .70)'}"
                             f"   AVE = {ave:.3f}{'' if ave >= .5 else ' (< .50)'}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def cr_from_loadings(std_loadings) -> float:
    """Composite reliability (sum l)^2 / ((sum l)^2 + sum(1 - l^2)) of standardized loadings."""
    ll = np.asarray(std_loadings, dtype=float)
    s2 = ll.sum() ** 2
    return float(s2 / (s2 + np.sum(1 - ll**2)))


def ave_from_loadings(std_loadings) -> float:
    """Average variance extracted mean(l^2) of standardized loadings."""
    return float(np.mean(np.asarray(std_loadings, dtype=float) ** 2))


_LABELS = {"chi2": "Chi-square", "df": "df", "p_value": "p", "chi2_df": "Chi2/df", "gfi": "GFI",
           "cfi": "CFI", "tli": "TLI", "rmsea": "RMSEA", "srmr": "SRMR"}


# ---------------------------------------------------------------------- input
def model_items(data, model) -> tuple[dict, list[str]]:
    """Check that ``data`` is a DataFrame holding every item of ``model`` as numbers.

    Returns the normalised model and its items in first-appearance order.
    """
    if not isinstance(data, pd.DataFrame):
        raise ModelError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    model = normalise_model(model)
    observed = list(dict.fromkeys(i for items in model.values() for i in items))
    missing = [i for i in observed if i not in data.columns]
    if missing:
        raise ModelError(f"item(s) not found in data: {missing}")
    # the column dtypes read once (a column per item was taken out twice before); a name
    # used by several columns takes the per-column route, which reports it as not numeric
    dtypes = data.dtypes if data.columns.is_unique else None
    bad = [c for c in observed
           if not (pd.api.types.is_numeric_dtype(data[c] if dtypes is None else dtypes[c])
                   and not pd.api.types.is_bool_dtype(data[c] if dtypes is None else dtypes[c]))]
    if bad:
        raise ModelError(f"item(s) are not numeric: {bad}; recode them to numbers first")
    return model, observed


def prepare_data(data, model, group=None, group_order=None):
    """Validate data and model; return (model, observed, frames by group, group labels, n_dropped)."""
    model, observed = model_items(data, model)
    if group is not None and group not in data.columns:
        raise ModelError(f"grouping column {group!r} not found in data")
    cols = observed + ([group] if group is not None else [])
    frame = data[cols]
    complete = frame.notna().all(axis=1)
    n_dropped = int((~complete).sum())
    frame = frame[complete]
    if group is None:
        frames = [frame[observed].to_numpy(dtype=float)]
        labels = None
    else:
        labels = list(pd.unique(frame[group]))
        if group_order is not None:
            order = list(group_order)
            unknown = [g for g in order if g not in labels]
            unlisted = [g for g in labels if g not in order]
            if unknown or unlisted or len(set(order)) != len(order):
                raise ModelError(
                    f"group_order {order} must list each group of {group!r} exactly once; "
                    f"groups in the data: {labels}"
                )
            labels = order
        frames = [frame.loc[frame[group] == lab, observed].to_numpy(dtype=float) for lab in labels]
        if len(labels) < 2:
            raise ModelError(f"grouping column {group!r} has fewer than 2 groups after "
                             "listwise deletion")
    p = len(observed)
    for k, arr in enumerate(frames):
        where = "" if labels is None else f" in group {labels[k]!r}"
        if arr.shape[0] <= p:
            raise TooFewRowsError(
                f"too few complete observations{where}: {arr.shape[0]} rows for {p} items "
                "(need more rows than items for a positive-definite covariance matrix)",
                rows=int(arr.shape[0]), items=p, group=None if labels is None else labels[k],
            )
        sd = arr.std(axis=0)
        const = [observed[i] for i in np.flatnonzero(sd == 0)]
        if const:
            raise ModelError(f"item(s) without variance{where}: {const}")
    return model, observed, frames, labels, n_dropped


def sample_stats(frames: Sequence[np.ndarray]) -> SampleStats:
    covs, means, ns = [], [], []
    for arr in frames:
        mean = arr.mean(axis=0)
        cen = arr - mean
        covs.append(cen.T @ cen / arr.shape[0])
        means.append(mean)
        ns.append(arr.shape[0])
    for k, s in enumerate(covs):
        # scale-free: on the correlation matrix (ML is invariant to rescaling an item)
        sd = np.sqrt(np.diag(s))
        if np.linalg.eigvalsh(s / np.outer(sd, sd))[0] <= 1e-10:
            raise ModelError(
                f"sample covariance matrix{'' if len(covs) == 1 else f' of group {k + 1}'} is "
                "singular (an item is a linear combination of others, or too few observations)"
            )
    return SampleStats(covs, means, ns)


def variance_spread_note(covs: Sequence[np.ndarray], observed: Sequence[str]) -> str | None:
    """lavaan's warning when observed variances differ by a factor of more than 1000."""
    var = np.concatenate([np.diag(s) for s in covs])
    names = list(observed) * len(covs)
    if var.max() / var.min() <= 1000:
        return None
    big, small = names[int(np.argmax(var))], names[int(np.argmin(var))]
    return EstimationProblem(
        "some observed variances are (at least) a factor 1000 times larger than others "
        f"({big}: {var.max():.4g}, {small}: {var.min():.4g}); the fit is computed scale-free, "
        "but consider rescaling",
        "variance_scale", names=(big, small), values=(float(var.max()), float(var.min())))


# ---------------------------------------------------------------------- main
@_resultcache.kept
def cfa(
    data: pd.DataFrame,
    model: Mapping[str, Sequence[str]],
    *,
    group: str | None = None,
    equal: Sequence[str] = (),
    std_lv: bool = False,
    residual_covariances: Sequence[tuple[str, str]] = (),
    estimator: str = "ML",
    max_iter: int = 500,
    group_order: Sequence | None = None,
) -> CFAResult:
    """Confirmatory factor analysis by maximum likelihood, as ``lavaan::cfa``.

    Parameters
    ----------
    data
        One row per respondent; items numeric.  Incomplete rows are dropped
        (lavaan's ``missing = "listwise"``).
    model
        ``{factor: [items]}``, or the same in lavaan syntax (``"visual =~ x1 + x2 + x3"``,
        with residual covariances ``"x7 ~~ x8"``; same results as the mapping; regressions,
        labels and fixed values belong to :func:`hlstudy.sem.sem`).  The first item of each
        factor is its marker (loading fixed to 1) unless ``std_lv=True``.
    group, equal
        Multi-group CFA: ``group`` names the grouping column (groups in order of
        first appearance, as lavaan), ``equal`` lists lavaan ``group.equal``
        keywords (``"loadings"``, ``"intercepts"``, ``"residuals"``,
        ``"lv.variances"``, ``"lv.covariances"``, ``"means"``).  With a group a
        mean structure is fitted (intercepts free, latent means 0; with equal
        intercepts latent means are free from the second group on).
    std_lv
        Identify factors by fixing their variances to 1 (lavaan ``std.lv = TRUE``).
    residual_covariances
        Item pairs whose residuals covary (lavaan ``x1 ~~ x2``), e.g. after
        inspecting :func:`~hlstudy.cfa.modification_indices`; their ``std_all`` is
        the residual correlation (lavaan's ``cov.std = TRUE``).
    estimator
        Only ``"ML"`` (normal-theory maximum likelihood).
    group_order
        Order of the groups (the first is the reference group whose latent
        means are fixed to 0).  Default: order of first appearance in ``data``,
        as lavaan; pass it explicitly so that results do not depend on row order.
    max_iter
        Iteration limit of the Fisher-scoring optimiser; a fit that stops
        before converging warns (:class:`ConvergenceWarning`) and has
        ``converged == False``.

    Raises
    ------
    ModelError
        Unknown items, non-numeric items, a singular sample covariance matrix (tested on the
        correlation matrix, so independent of the items' units), df < 0, syntax errors.

    Warns
    -----
    ScaleWarning (variances differing by a factor > 1000, as lavaan), IdentificationWarning
    (singular information matrix or exploding SEs: the parameters involved are named and
    ``converged`` is False), HeywoodWarning, ConvergenceWarning.

    Returns
    -------
    CFAResult
        ``.fit`` (chi2 = N * F_ML, CFI/TLI against the independence model, RMSEA
        with its 90% CI from the noncentral chi-square, SRMR = lavaan's default
        Bentler SRMR, weighted by group size), ``.estimates``, ``.std_loadings``
        (``std.all``), ``.phi`` (latent correlations), ``.converged``, ``.heywood``.

    Matches (R)::

        fit <- lavaan::cfa(model, data = data, group = group, group.equal = equal)
        fitMeasures(fit); standardizedSolution(fit); parameterEstimates(fit)

    Example
    -------
    >>> res = cfa(hs, {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"],
    ...                "speed": ["x7", "x8", "x9"]})          # doctest: +SKIP
    >>> round(res.fit["chi2"], 3)                              # doctest: +SKIP
    85.306
    """
    return _fit(data, model, group=group, equal=equal, std_lv=std_lv, estimator=estimator,
                max_iter=max_iter, group_order=group_order,
                residual_covariances=residual_covariances)


def _fit(data, model, *, group=None, equal=(), std_lv=False, estimator="ML",
         unit_loading_factors=(), orthogonal_factors=(), max_iter=500,
         group_order=None, residual_covariances=()) -> CFAResult:
    if str(estimator).upper() != "ML":
        raise ModelError(f"estimator {estimator!r} is not supported; only 'ML'")
    if isinstance(equal, str):
        equal = (equal,)
    if isinstance(model, str):
        model, pairs = parse_cfa_syntax(model)
        residual_covariances = list(residual_covariances) + pairs
    model, observed, frames, labels, n_dropped = prepare_data(data, model, group, group_order)
    spec = build_spec(
        model, n_groups=len(frames), equal=equal, std_lv=std_lv,
        unit_loading_factors=unit_loading_factors, orthogonal_factors=orthogonal_factors,
        residual_covariances=residual_covariances,
    )
    df = spec.n_sample_stats() - spec.n_free
    if df < 0:
        raise ModelError(
            f"model is not identified: {spec.n_free} free parameters but only "
            f"{spec.n_sample_stats()} sample moments (df = {df}); add items or constraints"
        )
    st = sample_stats(frames)
    note = variance_spread_note(st.cov, spec.observed)
    if note:
        warnings.warn(ScaleWarning(note), stacklevel=3)
    problem = Problem(spec, st)
    if not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ModelError(f"max_iter must be a positive integer, got {max_iter!r}")
    key = None
    if _REUSE is not None:
        key = _fit_key(model, frames, labels, n_dropped, equal, std_lv, unit_loading_factors,
                       orthogonal_factors, int(max_iter), residual_covariances)
        if key in _REUSE:
            return _REUSE[key]
    est = fit_ml(problem, start_values(spec, st), max_iter=int(max_iter))
    res = _assemble(spec, st, est, model, labels, n_dropped)
    if key is not None:
        _REUSE[key] = res
    return res


#: Fits kept by :func:`reuse_fits` (None outside its block).
_REUSE: dict | None = None


@contextlib.contextmanager
def reuse_fits():
    """Within the block, a model fitted again on the same numbers returns the first fit.

    The key is the content, never an object's identity: the model (factors, items, their
    order), the options (``equal``, ``std_lv``, residual covariances, ``max_iter``, ...), the
    group labels and the SHA-256 of each group's complete rows as fitted.  The same result
    object is returned (treat it as read-only); the warnings of a reused fit are not repeated.
    Used by :func:`hlstudy.validation.ragree.r_agreement`, whose checks fit the same lavaan
    fixture models more than once (``cfa``, ``modification_indices``,
    ``measurement_invariance``).  Blocks nest (the outermost keeps the fits).

    Example
    -------
    >>> with reuse_fits():                                   # doctest: +SKIP
    ...     a = cfa(hs, model); b = cfa(hs.copy(), model)
    >>> a is b                                               # doctest: +SKIP
    True
    """
    global _REUSE
    outer = _REUSE
    if outer is None:
        _REUSE = {}
    try:
        yield
    finally:
        _REUSE = outer


def _fit_key(model, frames, labels, n_dropped, *options) -> tuple:
    digests = tuple((a.shape, hashlib.sha256(np.ascontiguousarray(a, dtype=float).tobytes())
                     .hexdigest()) for a in frames)
    model_key = tuple((f, tuple(items)) for f, items in model.items())
    opts = tuple(tuple(tuple(o) if isinstance(o, list | tuple) else o for o in v)
                 if isinstance(v, list | tuple) else v for v in options)
    return (model_key, digests, None if labels is None else tuple(labels), n_dropped, opts)


# ---------------------------------------------------------------------- output
def _assemble(spec: Spec, st: SampleStats, est: Estimate, model, labels, n_dropped) -> CFAResult:
    n = st.n_total
    # standard errors from the expected information: vcov = 2/N H^-1, after a scale-free
    # rank check of H (a singular information matrix means the model is not identified)
    vcov, ident = information_inverse(est.hessian, _slot_names(spec, labels))
    vcov = vcov * 2.0 / n
    se_free = np.sqrt(np.where(np.diag(vcov) > 0, np.diag(vcov), np.nan))
    if not ident:
        ident = huge_se_problems(se_free, est.x, st.cov, _slot_names(spec, labels))
    rows = []
    sds = []
    for mats in est.matrices:
        sd_obs = np.sqrt(np.diag(mats.sigma))
        with np.errstate(invalid="ignore"):  # negative variance -> NaN, as lavaan
            sds.append((sd_obs, np.sqrt(np.diag(mats.phi))))
    for s in spec.slots:
        mats = est.matrices[s.group]
        val = est.x[s.pid] if s.pid >= 0 else s.fixed
        sd_obs, sd_lv = sds[s.group]
        if s.matrix == "lambda":
            std = val * sd_lv[s.col] / sd_obs[s.row]
        elif s.matrix == "theta":
            std = val / sd_obs[s.row] ** 2
        elif s.matrix == "thetacov":  # residual correlation (lavaan cov.std = TRUE)
            den = mats.theta[s.row] * mats.theta[s.col]
            std = val / np.sqrt(den) if den > 0 else np.nan
        elif s.matrix == "phi":
            den = sd_lv[s.row] * sd_lv[s.col]
            std = val / den if den > 0 else np.nan  # NaN when a variance is negative
        elif s.matrix == "nu":
            std = val / sd_obs[s.row]
        else:  # alpha
            std = val / sd_lv[s.row] if sd_lv[s.row] > 0 else np.nan
        se = se_free[s.pid] if s.pid >= 0 else np.nan
        z = val / se if s.pid >= 0 and se > 0 else np.nan
        rows.append({
            "lhs": s.lhs, "op": s.op, "rhs": s.rhs, "group": s.group + 1,
            "free": s.pid >= 0, "est": float(val), "se": se, "z": z,
            "std_all": float(std), "_order": _ORDER[s.matrix],
        })
    table = pd.DataFrame(rows)
    # two-sided normal p of every row at once (the same ufunc, element by element, as one
    # call per row): 2 * norm.sf(|z|), NaN where z is not finite
    z_all = table["z"].to_numpy(dtype=float)
    finite = np.isfinite(z_all)
    p_all = np.full(len(table), np.nan)
    p_all[finite] = 2 * stats.norm.sf(np.abs(z_all[finite]))
    table.insert(table.columns.get_loc("z") + 1, "p", p_all)
    table = table.sort_values(["group", "_order"], kind="stable").drop(columns="_order")
    if labels is None:
        table = table.drop(columns="group")
    table = table.reset_index(drop=True)

    load = table[table["op"] == "=~"]
    if labels is None:
        std_loadings = pd.Series(
            load["std_all"].to_numpy(),
            index=pd.MultiIndex.from_arrays([load["lhs"], load["rhs"]], names=["factor", "item"]),
            name="std_all",
        )
    else:
        glab = [labels[g - 1] for g in load["group"]]
        std_loadings = pd.Series(
            load["std_all"].to_numpy(),
            index=pd.MultiIndex.from_arrays([glab, load["lhs"], load["rhs"]],
                                            names=["group", "factor", "item"]),
            name="std_all",
        )

    phis = {}
    implied, sample = {}, {}
    for g, mats in enumerate(est.matrices):
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(np.diag(mats.phi))
        key = "all" if labels is None else labels[g]
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = mats.phi / np.outer(sd, sd)
        phis[key] = pd.DataFrame(corr, index=spec.factors,
                                 columns=spec.factors)
        implied[key] = pd.DataFrame(mats.sigma, index=spec.observed, columns=spec.observed)
        sample[key] = pd.DataFrame(st.cov[g], index=spec.observed, columns=spec.observed)
    phi = phis["all"] if labels is None else phis

    fit = fit_measures(spec, st, est)
    heywood = _heywood(spec, est, labels)
    if not est.converged:
        warnings.warn(ConvergenceWarning(EstimationProblem(
            f"CFA did not converge ({est.message}, max |gradient| {est.max_gradient:.2e}); "
            "estimates are not trustworthy",
            "not_converged", value=float(est.max_gradient), detail=str(est.message), model="CFA",
        )), stacklevel=3)
    for problem in ident:
        warnings.warn(IdentificationWarning(problem), stacklevel=3)
    if heywood and not ident:
        warnings.warn(HeywoodWarning("Heywood case(s) / improper solution: " + "; ".join(heywood),
                                     heywood), stacklevel=3)
    return CFAResult(
        model=model, fit=fit, estimates=table, std_loadings=std_loadings, phi=phi,
        converged=est.converged and not ident, heywood=heywood, groups=labels, n_obs=n,
        n_dropped=n_dropped, message=est.message, iterations=est.iterations,
        implied=implied, sample=sample, _spec=spec, _stats=st, _x=est.x,
        identification=ident,
    )


def _slot_names(spec: Spec, labels) -> list[str]:
    names = [""] * spec.n_free
    for sl in spec.slots:
        if sl.pid >= 0 and not names[sl.pid]:
            g = f" (group {labels[sl.group]})" if labels is not None else ""
            names[sl.pid] = f"{sl.lhs}{sl.op}{sl.rhs}{g}"
    return names


def information_inverse(hess: np.ndarray, names: Sequence[str], *, tol: float = 1e-9):
    """Inverse of an information matrix after a scale-free rank check.

    The matrix is scaled to unit diagonal (so the check does not depend on the units
    of the items); an eigenvalue below ``tol`` times the largest means the model is
    not identified on these data.  Returns (inverse or NaN matrix, messages naming the
    parameters that load on the null directions: :class:`EstimationProblem`).
    """
    q = hess.shape[0]
    if q == 0:
        return np.zeros((0, 0)), []
    d = np.sqrt(np.abs(np.diag(hess)))
    d[~(d > 0)] = 1.0
    scaled = hess / np.outer(d, d)
    w, v = np.linalg.eigh(0.5 * (scaled + scaled.T))
    bad = w <= tol * max(1.0, float(np.max(np.abs(w))))
    if bad.any():
        involved = sorted({names[k] for j in np.flatnonzero(bad)
                           for k in np.flatnonzero(np.abs(v[:, j]) > 0.1)})
        msg = EstimationProblem(
            "the information matrix could not be inverted (smallest scaled eigenvalue "
            f"{w[0]:.1e}): the model may not be identified on these data; parameters "
            f"involved: {', '.join(involved)}", "not_inverted", names=involved, value=float(w[0]))
        return np.full((q, q), np.nan), [msg]
    return (v / w) @ v.T / np.outer(d, d), []


def huge_se_problems(se, x, covs, names, *, factor: float = 1e4) -> list[str]:
    """Standard errors 1e4 times larger than the estimate and the largest item SD."""
    scale = max(float(np.sqrt(np.max(np.diag(c)))) for c in covs)
    huge = [names[k] for k in range(len(se))
            if np.isfinite(se[k]) and se[k] > factor * max(abs(x[k]), scale)]
    if not huge:
        return []
    return [EstimationProblem(f"standard errors are extremely large for {', '.join(huge)}: the "
                              "model is (empirically) not identified on these data",
                              "huge_se", names=huge, value=float(factor))]


_ORDER = {"lambda": 0, "theta": 1, "thetacov": 1, "phi": 2, "nu": 3, "alpha": 4}


def _heywood(spec: Spec, est: Estimate, labels) -> list[str]:
    out = []
    for g, mats in enumerate(est.matrices):
        where = "" if labels is None else f" (group {labels[g]})"
        group = None if labels is None else labels[g]
        sd_obs = np.sqrt(np.clip(np.diag(mats.sigma), 1e-300, None))
        for i, item in enumerate(spec.observed):
            if mats.theta[i] < 0:
                out.append(HeywoodCase(f"negative residual variance of {item}{where}: {mats.theta[i]:.4f}",
                                       "residual_variance", (item,), group, float(mats.theta[i])))
        for slot in spec.slots:
            if slot.matrix == "thetacov" and slot.group == g:
                i, j = slot.row, slot.col
                den = mats.theta[i] * mats.theta[j]
                cov = mats.sigma[i, j] - (mats.lam @ mats.phi @ mats.lam.T)[i, j]
                if den > 0 and abs(cov) > np.sqrt(den):
                    out.append(HeywoodCase(f"residual correlation {slot.lhs}-{slot.rhs}{where} is "
                                           f"{cov / np.sqrt(den):.3f} (> 1 in absolute value)",
                                           "residual_correlation", (slot.lhs, slot.rhs), group,
                                           float(cov / np.sqrt(den))))
        for k, f in enumerate(spec.factors):
            if mats.phi[k, k] <= 0:
                out.append(HeywoodCase(f"non-positive variance of factor {f}{where}: {mats.phi[k, k]:.4f}",
                                       "factor_variance", (f,), group, float(mats.phi[k, k])))
        with np.errstate(invalid="ignore"):
            sd_lv = np.sqrt(np.diag(mats.phi))
        std = mats.lam * sd_lv[None, :] / sd_obs[:, None]
        for i, k in zip(*np.nonzero(np.abs(std) > 1), strict=True):
            out.append(HeywoodCase(f"standardized loading of {spec.observed[i]} on {spec.factors[k]}"
                                   f"{where} is {std[i, k]:.3f} (> 1 in absolute value)",
                                   "std_loading", (spec.observed[i], spec.factors[k]), group,
                                   float(std[i, k])))
        if spec.m > 1 and np.linalg.eigvalsh(mats.phi)[0] < 0:
            out.append(HeywoodCase(f"covariance matrix of the latent variables{where} is not positive "
                                   "definite", "latent_covariance", (), group))
        with np.errstate(all="ignore"):
            r = mats.phi / np.outer(sd_lv, sd_lv)
        for a in range(spec.m):
            for b in range(a):
                if np.isfinite(r[a, b]) and abs(r[a, b]) > 1:
                    out.append(HeywoodCase(f"latent correlation {spec.factors[a]}-{spec.factors[b]}{where} "
                                           f"is {r[a, b]:.3f} (> 1 in absolute value)", "latent_correlation",
                                           (spec.factors[a], spec.factors[b]), group, float(r[a, b])))
    return out


def chisq_cdf(x: float, df: float, ncp: float = 0.0) -> float:
    """``stats.ncx2.cdf(x, df, ncp)`` for ncp > 0, else ``stats.chi2.cdf(x, df)``: the same
    float (R ``pchisq(x, df, ncp)``).

    Inside the support (0 < x < inf, df > 0, finite ncp >= 0) scipy's distributions return
    their kernels ``special.chndtr(x, df, ncp)`` and ``special.chdtr(df, x)`` unchanged
    (loc 0 and scale 1 leave x as it is); those are called directly, without
    ``rv_continuous``'s argument handling (about 40 times faster; the RMSEA interval's root
    searches call it some 80 times per fit).  Anything else goes to scipy's distributions.
    """
    x, df, ncp = float(x), float(df), float(ncp)
    if 0.0 < x < np.inf and 0.0 < df < np.inf and 0.0 <= ncp < np.inf:
        return special.chndtr(x, df, ncp) if ncp > 0 else special.chdtr(df, x)
    return stats.ncx2.cdf(x, df, ncp) if ncp > 0 else stats.chi2.cdf(x, df)


def chisq_sf(x: float, df: float) -> float:
    """``stats.chi2.sf(x, df)``, the same float (R ``pchisq(x, df, lower.tail = FALSE)``):
    inside the support (0 < x < inf, 0 < df < inf) scipy returns ``special.chdtrc(df, x)``
    unchanged, which is called directly; anything else goes to ``stats.chi2.sf``."""
    x, df = float(x), float(df)
    if 0.0 < x < np.inf and 0.0 < df < np.inf:
        return special.chdtrc(df, x)
    return stats.chi2.sf(x, df)


def rmsea_ci(chi2: float, df: float, n: int, n_groups: int = 1, level: float = 0.90):
    """RMSEA and its CI from the noncentral chi-square (Browne & Cudeck 1993), as lavaan.

    RMSEA = sqrt(max((chi2/N)/df - 1/N, 0)) * sqrt(G); the CI limits solve
    ``pchisq(chi2, df, ncp) = 0.95`` / ``0.05`` for the noncentrality ``ncp`` and
    convert it with sqrt(ncp / (N df)) * sqrt(G) (lavaan ``lav_fit_rmsea_ci``).
    """
    if df <= 0:
        return 0.0, 0.0, 0.0
    rmsea = np.sqrt(max((chi2 / n) / df - 1.0 / n, 0.0)) * np.sqrt(n_groups)
    upper_p = 1 - (1 - level) / 2
    lower_p = (1 - level) / 2

    def cdf(ncp):
        return chisq_cdf(chi2, df, ncp)

    if df < 1 or cdf(0) < upper_p:
        low = 0.0
    else:
        lam = optimize.brentq(lambda x: cdf(x) - upper_p, 0, chi2, xtol=1e-12)
        low = np.sqrt(lam / (n * df)) * np.sqrt(n_groups)
    top = max(n, chi2 * 4)
    if df < 1 or cdf(top) - lower_p > 0 or cdf(0) < lower_p:
        high = 0.0
    else:
        lam = optimize.brentq(lambda x: cdf(x) - lower_p, 0, top, xtol=1e-12)
        high = np.sqrt(lam / (n * df)) * np.sqrt(n_groups)
    return float(rmsea), float(low), float(high)


def fit_measures(spec: Spec, st: SampleStats, est: Estimate) -> dict[str, float]:
    """lavaan's ``fitMeasures`` for an ML fit (see :data:`LAVAAN_NAMES`)."""
    n = st.n_total
    p = spec.p
    g_n = spec.n_groups
    chi2 = max(float(n * est.fmin), 0.0)  # F >= 0; rounding can give -1e-15
    df = spec.n_sample_stats() - spec.n_free
    pval = float(chisq_sf(chi2, df)) if df > 0 else np.nan
    # independence baseline: diagonal Sigma (means saturated when modelled)
    base_chi2 = 0.0
    for s, ng in zip(st.cov, st.n, strict=True):
        sign, logdet = np.linalg.slogdet(s)
        base_chi2 += ng * (np.sum(np.log(np.diag(s))) - logdet)
    base_df = g_n * (p * (p + 1) // 2 - p)
    t1 = max(chi2 - df, 0.0)
    t2 = max(chi2 - df, base_chi2 - base_df, 0.0)
    cfi = 1.0 if t1 == 0 and t2 == 0 else 1.0 - t1 / t2
    if df > 0:
        tli = ((base_chi2 / base_df) - (chi2 / df)) / ((base_chi2 / base_df) - 1.0)
    else:
        tli = 1.0
    # log-likelihoods
    loglik = 0.0
    unres = 0.0
    for g, mats in enumerate(est.matrices):
        ng = st.n[g]
        s = st.cov[g]
        sign, ld = np.linalg.slogdet(mats.sigma)
        sinv = np.linalg.inv(mats.sigma)
        d = st.mean[g] - mats.mu
        loglik += -ng / 2 * (p * np.log(2 * np.pi) + ld + np.trace(s @ sinv) + d @ sinv @ d)
        _, lds = np.linalg.slogdet(s)
        unres += -ng / 2 * (p * np.log(2 * np.pi) + lds + p)
    npar = spec.n_free
    rmsea, lo, hi = rmsea_ci(chi2, df, n, g_n)
    if df > 0:
        ncp = (n * df * 0.05**2) / g_n
        rmsea_p = float(stats.ncx2.sf(chi2, df, ncp))
    else:
        rmsea_p = np.nan
    return {
        "npar": float(npar),
        "n_obs": float(n),
        "fmin": est.fmin / 2.0,
        "chi2": chi2,
        "df": float(df),
        "p_value": pval,
        "baseline_chi2": float(base_chi2),
        "baseline_df": float(base_df),
        "baseline_p_value": float(chisq_sf(base_chi2, base_df)),
        "cfi": float(cfi),
        "tli": float(tli),
        "loglik": float(loglik),
        "unrestricted_loglik": float(unres),
        "aic": float(-2 * loglik + 2 * npar),
        "bic": float(-2 * loglik + npar * np.log(n)),
        "rmsea": rmsea,
        "rmsea_ci_low": lo,
        "rmsea_ci_high": hi,
        "rmsea_p_value": rmsea_p,
        "srmr": srmr(spec, st, est),
        **incremental_indices(chi2, df, base_chi2, base_df),
        **gfi_indices(spec, st, est, df),
    }


def incremental_indices(chi2, df, base_chi2, base_df) -> dict[str, float]:
    """NFI, PNFI, RFI, IFI and RNI against the independence model, as lavaan's fitMeasures.

    NFI = (X2b - X2) / X2b (Bentler & Bonett 1980); PNFI = df/dfb * NFI;
    RFI = (X2b/dfb - X2/df) / (X2b/dfb) (Bollen 1986); IFI = (X2b - X2) / (X2b - df)
    (Bollen 1989); RNI = 1 - (X2 - df) / (X2b - dfb).
    """
    nan = np.nan
    nfi = nan if df > base_df or base_chi2 <= 0 else (
        (base_chi2 - chi2) / base_chi2 if df > 0 else 1.0)
    pnfi = (df / base_df) * (base_chi2 - chi2) / base_chi2 if base_df > 0 and base_chi2 > 0 \
        else nan
    if df > base_df:
        rfi = nan
    elif df > 0 and base_df > 0:
        t1, t2 = base_chi2 / base_df - chi2 / df, base_chi2 / base_df
        rfi = 1.0 if (t1 < 0 or t2 < 0) else t1 / t2
    else:
        rfi = 1.0
    t2 = base_chi2 - df
    ifi = 1.0 if t2 < 0 else ((base_chi2 - chi2) / t2 if t2 != 0 else nan)
    t2 = base_chi2 - base_df
    rni = 1 - (chi2 - df) / t2 if t2 != 0 else nan
    return {"nfi": float(nfi), "pnfi": float(pnfi), "rfi": float(rfi), "ifi": float(ifi),
            "rni": float(rni)}


def gfi_indices(spec: Spec, st: SampleStats, est: Estimate, df: float) -> dict[str, float]:
    """GFI, AGFI and PGFI (Joreskog & Sorbom), as lavaan's fitMeasures for ML.

    Per group GFI = 1 - e'We / s'Ws with s the sample moments (vech S, and the
    means with a mean structure), e the residuals and W the normal-theory weight
    evaluated at the fitted Sigma (0.5 tr((V A)^2) for the covariances, a'Va for
    the means); groups are averaged with weights N_g / N.  AGFI = 1 - (k/df)(1 - GFI)
    and PGFI = (df/k) GFI with k the number of sample moments.
    """
    total = 0.0
    for g, mats in enumerate(est.matrices):
        v = np.linalg.inv(mats.sigma)
        s = st.cov[g]
        vr = v @ (s - mats.sigma)
        vs = v @ s
        t1 = 0.5 * np.sum(vr * vr.T)
        t2 = 0.5 * np.sum(vs * vs.T)
        if spec.meanstructure:
            d = st.mean[g] - mats.mu
            t1 += d @ v @ d
            t2 += st.mean[g] @ v @ st.mean[g]
        total += st.n[g] / st.n_total * (1 - t1 / t2)
    k = spec.n_sample_stats()
    agfi = 1 - (k / df) * (1 - total) if df > 0 else 1.0
    return {"gfi": float(total), "agfi": float(agfi), "pgfi": float(df / k * total)}


def srmr(spec: Spec, st: SampleStats, est: Estimate) -> float:
    """Bentler's SRMR as lavaan's default ``srmr`` (``mimic = "lavaan"``).

    Residuals S - Sigma (and ybar - mu with a mean structure) are scaled by the
    observed standard deviations; the root mean square runs over the lower
    triangle including the diagonal (plus the p means).  With several groups the
    group values are averaged with weights N_g / N.
    """
    out = 0.0
    for g, mats in enumerate(est.matrices):
        s = st.cov[g]
        sd = np.sqrt(np.diag(s))
        res = (s - mats.sigma) / np.outer(sd, sd)
        tri = res[np.tril_indices(spec.p)]
        ss = float(np.sum(tri**2))
        count = tri.size
        if spec.meanstructure:
            mres = (st.mean[g] - mats.mu) / sd
            ss += float(np.sum(mres**2))
            count += spec.p
        out += st.n[g] / st.n_total * np.sqrt(ss / count)
    return float(out)


def compare_fits(results: Mapping[str, CFAResult]) -> pd.DataFrame:
    """Fit indices of several CFA results side by side (one row per model).

    Columns: n_obs, chi2, df, p_value, chi2_df, cfi, tli, rmsea, rmsea_ci_low,
    rmsea_ci_high, srmr, aic, bic, converged, heywood (number of flags).  For a
    thesis table of the officials' and citizens' measurement models.

    Example
    -------
    >>> compare_fits({"officials": res_off, "citizens": res_cit})   # doctest: +SKIP
    """
    if not isinstance(results, Mapping) or not results:
        raise ModelError("results must be a non-empty mapping name -> CFAResult")
    rows = []
    for name, res in results.items():
        if not isinstance(res, CFAResult):
            raise ModelError(f"{name!r} is not a CFAResult")
        f = res.fit
        rows.append({
            "model": name, "n_obs": res.n_obs, "chi2": f["chi2"], "df": f["df"],
            "p_value": f["p_value"],
            "chi2_df": f["chi2"] / f["df"] if f["df"] > 0 else np.nan,
            "cfi": f["cfi"], "tli": f["tli"], "rmsea": f["rmsea"],
            "rmsea_ci_low": f["rmsea_ci_low"], "rmsea_ci_high": f["rmsea_ci_high"],
            "srmr": f["srmr"], "aic": f["aic"], "bic": f["bic"],
            "converged": res.converged, "heywood": len(res.heywood),
        })
    return pd.DataFrame(rows).set_index("model")
