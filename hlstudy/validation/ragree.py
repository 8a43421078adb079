"""Agreement with R, recomputed from the committed fixtures (notebook 07, part 2).

Each check reads one fixture folder of ``tests/fixtures/`` (the data and the values R
wrote, with the R script beside them), recomputes the same quantities with hlstudy and
reports the worst difference against the tolerance the test suite uses.  Nothing is typed:
change a fixture value or a routine and the table changes.  The test suite
(``tests/test_*.py``) remains the authority (it compares more cells); this table is its
summary for readers of the thesis.

Difference metric of each check: ``abs`` = |hlstudy − R|; ``abs≤1,rel>1`` = |hlstudy − R| /
max(1, |R|) (lavaan's chi-square and log-likelihood are large numbers).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hlstudy import _jsoncache
from hlstudy._codekey import package_digest
from hlstudy.errors import ModelError
from hlstudy.paths import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
COLUMNS = ["routine", "r_function", "fixture", "cases", "n_values", "worst_difference",
           "worst_at", "tolerance", "metric", "within"]


class _Acc:
    """Running worst difference over compared cells (NaN on both sides, or the same infinity,
    counts as equal; NaN on one side only is an infinite difference)."""

    def __init__(self, metric: str = "abs"):
        self.metric, self.n, self.worst, self.at = metric, 0, 0.0, ""

    def add(self, where: str, ours, theirs) -> None:
        a = np.atleast_1d(np.asarray(ours, dtype=float)).ravel()
        b = np.atleast_1d(np.asarray(
            [np.nan if v is None or v == "NA" else v for v in np.atleast_1d(theirs).ravel()],
            dtype=float))
        if a.shape != b.shape:
            raise ModelError(f"{where}: {a.size} values against {b.size} in the fixture")
        both = (np.isnan(a) & np.isnan(b)) | (a == b)   # equal infinities count as equal
        with np.errstate(invalid="ignore"):
            d = np.abs(a - b)
        if self.metric != "abs":
            d = d / np.maximum(1.0, np.abs(b))
        d = np.where(both, 0.0, np.where(np.isnan(d), np.inf, d))
        self.n += int(a.size)
        if d.size and float(d.max()) > self.worst:
            self.worst, self.at = float(d.max()), f"{where}[{int(d.argmax())}]"


@dataclass(frozen=True)
class Check:
    routine: str
    r_function: str
    fixture: str
    tolerance: float
    metric: str
    run: Callable[[Path, _Acc], list[str]]


#: Fixture tables read during one :func:`r_agreement` call (None outside it).
_CSV_MEMO: dict | None = None


def _read_csv(path: Path, **kw) -> pd.DataFrame:
    """``pd.read_csv``; during :func:`r_agreement` each file is parsed once and every caller
    gets its own copy (several checks read the same fixture data)."""
    if _CSV_MEMO is None:
        return pd.read_csv(path, **kw)
    key = (str(path), repr(sorted(kw.items())))
    if key not in _CSV_MEMO:
        _CSV_MEMO[key] = pd.read_csv(path, **kw)
    return _CSV_MEMO[key].copy()


@contextlib.contextmanager
def _reading_once():
    global _CSV_MEMO
    outer = _CSV_MEMO
    if outer is None:
        _CSV_MEMO = {}
    try:
        yield
    finally:
        _CSV_MEMO = outer


def _json(path: Path) -> dict:
    if not path.is_file():
        raise ModelError(f"fixture {path} not found")
    return json.loads(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------- psych

def _psych_alpha(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import reliability as rel

    ref = _json(root / "psych" / "psych_reference.json")
    bfi = pd.read_csv(root / "psych" / "bfi.csv")
    hs = pd.read_csv(root / "psych" / "hs1939.csv")
    keyed = bfi.iloc[:, :25].copy()
    for v in ref["meta"]["reverse_keyed"]:
        keyed[v] = 7 - keyed[v]
    total = {"raw_alpha": "alpha", "std.alpha": "std_alpha", "G6(smc)": "g6",
             "average_r": "average_r", "S/N": "signal_noise", "ase": "ase", "mean": "mean",
             "sd": "sd", "median_r": "median_r"}
    cases = sorted(ref["alpha"])
    for case in cases:
        r = ref["alpha"][case]
        items = r["items"]
        data = (keyed if case.endswith("_keyed") or case == "two_items" else
                bfi.iloc[:, :25] if case == "A_raw" else hs)[items]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = rel.cronbach_alpha(data)
        for rn, attr in total.items():
            acc.add(f"{case}.{rn}", getattr(res, attr), r["total"][rn])
        acc.add(f"{case}.feldt", list(res.ci), [r["feldt"]["lower"], r["feldt"]["upper"]])
    return cases


def _psych_alpha_data(root: Path, ref: dict, case: str) -> pd.DataFrame:
    """The items of one ``alpha`` case of psych_reference.json (bfi reverse-keyed as psych's
    ``keys``, bfi raw, or HS1939)."""
    bfi = _read_csv(root / "psych" / "bfi.csv").iloc[:, :25]
    items = ref["alpha"][case]["items"]
    if case.endswith("_keyed") or case == "two_items":
        for v in ref["meta"]["reverse_keyed"]:
            bfi[v] = 7 - bfi[v]
        return bfi[items]
    if case == "A_raw":
        return bfi[items]
    return _read_csv(root / "psych" / "hs1939.csv")[items]


def _psych_omega(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import reliability as rel

    ref = _json(root / "psych" / "psych_reference.json")
    cases = sorted(c for c in ref["alpha"] if "omega_tot" in ref["alpha"][c] and c != "two_items")
    for case in cases:
        r = ref["alpha"][case]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            om = rel.omega_total(_psych_alpha_data(root, ref, case))
        acc.add(f"{case}.omega_tot", om.omega_total, r["omega_tot"])
        acc.add(f"{case}.omega_h", om.omega_h, r["omega_h1"])
    return cases


def _psych_describe(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import factor

    ref = _json(root / "psych" / "psych_reference.json")["distributions"]["describe"]
    out = factor.item_distributions(_psych_items(root, "bfi"))
    if list(out.index) != list(ref["items"]):
        raise ModelError("item_distributions: the items differ from psych::describe's")
    for col in ("n", "mean", "sd", "skew", "kurtosis"):
        acc.add(col, out[col], ref[col])
    return ["bfi (25 items)"]


def _psych_mardia(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import factor

    ref = _json(root / "psych" / "psych_reference.json")["distributions"]
    cases = {"mardia_hs": _psych_items(root, "hs"),
             "mardia_bfi10": _psych_items(root, "bfi").iloc[:, :10]}
    for case, x in cases.items():
        r = ref[case]
        res = factor.mardia(x)
        for name in ("n_obs", "n_var", "b1p", "b2p", "skew", "small_skew", "kurtosis", "p_skew",
                     "p_small", "p_kurt"):
            acc.add(f"{case}.{name}", getattr(res, name), r[name])
    return list(cases)


def _psych_harman(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import factor

    ref = _json(root / "psych" / "psych_reference.json")["harman"]
    res = factor.harman_test(_psych_items(root, "bfi"))
    acc.add("pc_share", res.pc_share, ref["bfi_pc_share"])
    acc.add("fa_share", res.fa_share, ref["bfi_fa_share"])
    return ["bfi"]


def _psych_design_effect(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import reliability as rel

    ref = _json(root / "psych" / "psych_reference.json")["design_effect"]
    d = pd.read_csv(root / "psych" / "twolevel.csv")
    value, group = [c for c in d.columns if c != "cluster"][0], "cluster"
    if "cluster" not in d.columns:
        value, group = d.columns[1], d.columns[0]
    res = rel.design_effect(d[value], d[group])
    for k in ("icc", "deff", "n0"):
        acc.add(f"design_effect.{k}", getattr(res, k), ref[k])
    return ["twolevel"]


# ---------------------------------------------------------------------- lavaan / semTools

HS = {"visual": ["x1", "x2", "x3"], "textual": ["x4", "x5", "x6"], "speed": ["x7", "x8", "x9"]}
BFI = {name: [f"{code}{i}" for i in range(1, 6)]
       for name, code in zip(["agree", "consc", "extra", "neuro", "open"], "ACENO", strict=True)}


def _lavaan_cfa(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.cfa import cfa

    ref = _json(root / "lavaan" / "lavaan_reference.json")
    hs = pd.read_csv(root / "lavaan" / "hs1939.csv")
    bfi = pd.read_csv(root / "lavaan" / "bfi.csv")
    runs = {"hs3": lambda: cfa(hs, HS), "hs3_stdlv": lambda: cfa(hs, HS, std_lv=True),
            "bfi5": lambda: cfa(bfi, BFI),
            "configural": lambda: cfa(hs, HS, group="school"),
            "metric": lambda: cfa(hs, HS, group="school", equal=["loadings"]),
            "scalar": lambda: cfa(hs, HS, group="school", equal=["loadings", "intercepts"]),
            "hs_rescov": lambda: cfa(hs, HS, residual_covariances=[("x7", "x8"), ("x3", "x2")])}
    for name, fn in runs.items():
        r = ref["fits"][name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = fn()
        fm = res.fit_measures()
        keys = [k for k in fm.index if k in r["fit"]]
        acc.add(f"{name}.fit", [fm[k] for k in keys], [r["fit"][k] for k in keys])
        est = res.estimates
        group = est["group"] if "group" in est else pd.Series(1, index=est.index)
        ours = {(a, b, c, int(g)): (e, s) for a, b, c, g, e, s in zip(
            est["lhs"], est["op"], est["rhs"], group, est["est"], est["std_all"], strict=True)}
        pe = r["estimates"]
        keys = list(zip(pe["lhs"], pe["op"], pe["rhs"], pe["group"], strict=True))
        acc.add(f"{name}.est", [ours[k][0] for k in keys], pe["est"])
        st = r["std"]
        keys = list(zip(st["lhs"], st["op"], st["rhs"], st["group"], strict=True))
        acc.add(f"{name}.std.all", [ours[k][1] for k in keys], st["est_std"])
    return list(runs)


def _semtools_htmt(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.cfa import htmt

    ref = _json(root / "lavaan" / "lavaan_reference.json")["htmt"]
    hs = pd.read_csv(root / "lavaan" / "hs1939.csv")
    bfi = pd.read_csv(root / "lavaan" / "bfi.csv")
    kw = {"hs": {}, "hs_arithmetic": {"geometric": False}, "bfi": {},
          "bfi_arithmetic": {"geometric": False},
          "bfi_signed": {"geometric": False, "absolute": False}}
    for key, k in kw.items():
        data, model = (hs, HS) if key.startswith("hs") else (bfi, BFI)
        out = htmt(data, model, **k)
        acc.add(key, out.loc[ref[key]["factors"], ref[key]["factors"]].to_numpy(),
                np.array(ref[key]["values"], dtype=float))
    return list(kw)


def _pe_key(df: pd.DataFrame) -> list[str]:
    rhs = df["rhs"].fillna("").astype(str)
    return [f"{a}|{o}|{'' if o == ':=' else r}" for a, o, r in zip(df["lhs"], df["op"], rhs,
                                                                  strict=True)]


def _lavaan_sem(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.sem import sem

    ref = _json(root / "lavaan" / "sem_reference.json")
    pdm = pd.read_csv(root / "lavaan" / "political_democracy.csv")
    hs = pd.read_csv(root / "lavaan" / "hs1939.csv")
    hsm = pd.read_csv(root / "lavaan" / "hs1939_missing.csv")
    m = ref["models"]
    cases = {"pd": (pdm, m["pd"], {}), "pd_mlr": (pdm, m["pd"], {"estimator": "MLR"}),
             "hs_sem_fiml": (hsm, m["hs_sem"], {"missing": "ml"}),
             "hs_cfa_mlr": (hs, m["hs"], {"estimator": "MLR"}),
             "hs_sem_listwise": (hsm, m["hs_sem"], {})}
    for name, (data, model, kw) in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sem(data, model, **kw)
        r = pd.DataFrame(ref["fits"][name]["pe"])
        r.index = _pe_key(r)
        mine = res.parameter_estimates()
        mine.index = _pe_key(mine)
        mine = mine.loc[r.index]
        for col in ("est", "se", "std.all"):
            if col in r.columns:
                acc.add(f"{name}.{col}", mine[col].astype(float), r[col].astype(float))
        fm = res.fit_measures()
        keys = [k for k in ("chisq", "df", "cfi", "tli", "rmsea", "srmr", "logl",
                            "chisq.scaled") if k in fm.index and
                ref["fits"][name]["fit"].get(k) is not None]
        acc.add(f"{name}.fit", [fm[k] for k in keys], [ref["fits"][name]["fit"][k] for k in keys])
    return list(cases)


# ---------------------------------------------------------------------- models

def _r_name(term: str) -> str:
    if term == "Intercept":
        return "(Intercept)"
    if "[T." in term:
        var, level = term.split("[T.", 1)
        return var + level.rstrip("]")
    return term


def _model_cases(root: Path):
    small = _read_csv(root / "models" / "small.csv")
    study = _read_csv(root / "models" / "study.csv",
                      dtype={"commune_code": str, "edu": str, "record_id": str})
    return {"small": (small, "y ~ x1 + x2 + f", "g"),
            "study": (study, "PRO ~ TRAIN + MOT + ENV + COMP + edu + years", "commune_code")}


def _models_ols(vcov: str):
    def run(root: Path, acc: _Acc) -> list[str]:
        from hlstudy.models import ols

        ref = _json(root / "models" / "models_reference.json")
        cases = _model_cases(root)
        for case, (data, formula, cluster) in cases.items():
            r = ref[case]
            fit = ols(data, formula, cluster=cluster, vcov=vcov, wild=False)
            co = fit.coefficients.rename(index=_r_name).loc[r["terms"]]
            acc.add(f"{case}.estimate", co["estimate"], r["estimate"])
            for col in ("se", "p", "ci_low", "ci_high"):
                acc.add(f"{case}.{col}", co[col], r[vcov][col])
            acc.add(f"{case}.df", co["df"], np.broadcast_to(r[vcov]["df"], len(co)))
        return list(cases)
    return run


def _models_sensemakr(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.models import ols, sensitivity

    ref = _json(root / "models" / "sensemakr_darfur.json")
    fit = ols(_read_csv(root / "models" / "darfur.csv"), ref["formula"], vcov="naive", wild=False)
    out = sensitivity(fit, ref["treatment"], benchmark=ref["benchmark"], kd=ref["kd"])
    acc.add("df", out["df"].iloc[0], ref["df"])
    for col, value in ref["unadjusted"].items():
        acc.add(col, out[col].iloc[0], value)
    for col, values in ref["bounds"].items():
        acc.add(col, out[col].iloc[1:].to_numpy(dtype=float), values)
    return [f"darfur ({ref['benchmark']} × {', '.join(map(str, ref['kd']))})"]


def _models_vif(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.models import ols

    ref = _json(root / "models" / "models_reference.json")
    cases = _model_cases(root)
    for case, (data, formula, cluster) in cases.items():
        fit = ols(data, formula, cluster=cluster, wild=False)
        v = ref[case]["vif"]
        acc.add(f"{case}.GVIF", fit.vif.loc[v["term"], "GVIF"], v["GVIF"])
        acc.add(f"{case}.bp", fit.diagnostics.loc["breusch_pagan", "statistic"],
                ref[case]["bp"]["statistic"])
    return list(cases)


def _models_lmer(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.models import mixed

    ref = _json(root / "models" / "models_reference.json")
    cases = _model_cases(root)
    for case, (data, formula, cluster) in cases.items():
        r = ref[case]["lmer"]
        m = mixed(data, formula, group=cluster)
        co = m.coefficients.rename(index=_r_name).loc[r["terms"]]
        for col in ("estimate", "se", "t", "p"):
            acc.add(f"{case}.{col}", co[col], r[col])
        acc.add(f"{case}.variances", [m.tau2, m.sigma2, m.icc], [r["tau2"], r["sigma2"], r["icc"]])
    return list(cases)


# ---------------------------------------------------------------------- diagnostic, evidence

def _lme4_icc(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.diagnostic import quality

    d = pd.read_csv(root / "diagnostic" / "icc_data.csv")
    ref = pd.read_csv(root / "diagnostic" / "icc_lme4.csv").iloc[0]
    r = quality.icc(d, "y", "g")
    acc.add("icc", [r.tau2, r.sigma2, r.icc, r.mean],
            [ref["tau2"], ref["sigma2"], ref["icc"], ref["intercept"]])
    return ["icc_data"]


def _padjust(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.evidence import adjust

    ref = pd.read_csv(root / "evidence" / "padjust.csv")
    pcol = [c for c in ref.columns if c in ("p", "pvalue", "p_value")][0]
    out = []
    for col, method in (("holm", "holm"), ("BH", "fdr_bh"), ("bh", "fdr_bh")):
        if col in ref.columns:
            acc.add(col, adjust(ref[pcol], method=method), ref[col])
            out.append(col)
    return out


# ---------------------------------------------------------------------- psych: EFA / factor

def _psych_matrix(m: dict) -> np.ndarray:
    values = [v if isinstance(v, list) else [v] for v in m["values"]]
    return np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)


def _psych_series(d: dict, index) -> list[float]:
    return [np.nan if d[k] is None else d[k] for k in index]


def _psych_items(root: Path, dataset: str) -> pd.DataFrame:
    if dataset == "bfi":
        return _read_csv(root / "psych" / "bfi.csv").iloc[:, :25]
    return _read_csv(root / "psych" / "hs1939.csv")[[f"x{i}" for i in range(1, 10)]]


def _psych_efa(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import factor

    ref = _json(root / "psych" / "psych_reference.json")["fa"]
    cases = sorted(ref)
    for case in cases:
        r = ref[case]
        dataset, method, rot, *rest = case.split("_")
        n_factors = 1 if rest else (5 if dataset == "bfi" else 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = factor.efa(_psych_items(root, dataset), n_factors, method=method,
                             rotation=None if rot == "none" else rot)
        acc.add(f"{case}.loadings", res.loadings.to_numpy(), _psych_matrix(r["loadings"]))
        h2 = r["communality"]
        acc.add(f"{case}.communality", res.communalities[list(h2)], _psych_series(h2, h2))
        u2 = r["uniquenesses"]
        acc.add(f"{case}.uniquenesses", res.uniquenesses[list(u2)], _psych_series(u2, u2))
        if "phi" in r:
            acc.add(f"{case}.phi", res.phi.to_numpy() if res.phi is not None else np.nan,
                    _psych_matrix(r["phi"]))
        vacc = r["vaccounted"]
        rows = [vacc["rows"]] if isinstance(vacc["rows"], str) else vacc["rows"]
        acc.add(f"{case}.vaccounted", res.variance.loc[rows].to_numpy(), _psych_matrix(vacc))
        acc.add(f"{case}.e_values", res.eigenvalues.to_numpy(), r["e_values"])
    return cases


def _psych_kmo(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import factor

    ref = _json(root / "psych" / "psych_reference.json")["kmo"]
    cases = sorted(ref)
    for case in cases:
        r = ref[case]
        x = _psych_items(root, case)
        k = factor.kmo(x)
        acc.add(f"{case}.msa", k.overall, r["msa"])
        acc.add(f"{case}.msai", k.per_item[list(r["msai"])], _psych_series(r["msai"], r["msai"]))
        b = factor.bartlett(x)
        acc.add(f"{case}.bartlett", [b.statistic, b.df, b.p_value],
                [r["chisq"], r["df"], r["p_value"]])
    return cases


def _psych_parallel(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import factor

    ref = _json(root / "psych" / "psych_reference.json")["parallel"]
    cases = sorted(ref)
    for case in cases:
        r = ref[case]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = factor.parallel_analysis(_psych_items(root, case), n_iter=2, seed=1,
                                           show_progress=False)
        # the observed eigenvalues are deterministic (the simulated ones are Monte Carlo)
        acc.add(f"{case}.pc_values", res.eigenvalues["pc_observed"], r["pc_values"])
        acc.add(f"{case}.fa_values", res.eigenvalues["fa_observed"], r["fa_values"])
    return cases


# ---------------------------------------------------------------------- degenerate data

def _degenerate_efa(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import factor

    ref = _json(root / "degenerate" / "degenerate_reference.json")
    cases = []
    for kind, names, methods, k in (("kind1", ("n_lt_p", "n_eq_p", "n_lt_p_own"),
                                     ("fa_minres", "fa_pa"), 1),
                                    ("kind7", ("duplicated", "combination", "near"),
                                     ("minres", "pa"), 2)):
        for case in names:
            x = pd.read_csv(root / "degenerate" / f"{case}.csv")
            for m in methods:
                r = ref[kind][case][m]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fit = factor.efa(x, k, method=m.removeprefix("fa_"), rotation=None)
                theirs = (np.array(r["loadings"]["values"], dtype=float)
                          if isinstance(r["loadings"], dict) else r["loadings"])
                acc.add(f"{case}.{m}.loadings", fit.loadings.to_numpy().ravel() if k == 1
                        else fit.loadings.to_numpy(), theirs)
                acc.add(f"{case}.{m}.communality", fit.communalities, r["communality"])
                cases.append(f"{case}/{m.removeprefix('fa_')}")
    return cases


def _degenerate_alpha(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import reliability as rel

    ref = _json(root / "degenerate" / "degenerate_reference.json")["kind1"]
    cases = ["n_lt_p", "n_eq_p", "n_lt_p_own"]
    for case in cases:
        r = ref[case]["alpha"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = rel.cronbach_alpha(pd.read_csv(root / "degenerate" / f"{case}.csv"))
        for rn, attr in (("raw_alpha", "alpha"), ("std.alpha", "std_alpha"), ("G6(smc)", "g6"),
                         ("average_r", "average_r"), ("ase", "ase")):
            acc.add(f"{case}.{rn}", getattr(res, attr), r["total"][rn])
        st = res.item_stats
        for col, key in (("r_drop", "r_drop"), ("r_cor", "r_cor"),
                         ("alpha_if_deleted", "alpha_drop"), ("g6_if_deleted", "g6_drop")):
            acc.add(f"{case}.{key}", st[col], r[key])
    return cases


# ---------------------------------------------------------------------- lavaan: invariance, MI

def _lavaan_invariance(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.cfa import measurement_invariance

    ref = _json(root / "lavaan" / "lavaan_reference.json")
    hs = pd.read_csv(root / "lavaan" / "hs1939.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tab = measurement_invariance(hs, HS, "school").table
    lrt = ref["lrt"]
    acc.add("chisq", tab["chi2"], lrt["chisq"])
    acc.add("df", tab["df"], lrt["df"])
    acc.add("chisq_diff", tab["delta_chi2"].iloc[1:], lrt["chisq_diff"][1:])
    acc.add("df_diff", tab["delta_df"].iloc[1:], lrt["df_diff"][1:])
    acc.add("p_diff", tab["p_delta"].iloc[1:], lrt["p_diff"][1:])
    cfi = [ref["fits"][s]["fit"]["cfi"] for s in ("configural", "metric", "scalar")]
    acc.add("delta_cfi", tab["delta_cfi"].iloc[1:], np.diff(cfi))
    return ["configural, metric, scalar (school)"]


def _lavaan_modindices(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.cfa import cfa, modification_indices

    ref = _json(root / "lavaan" / "lavaan_reference.json")["modindices"]
    hs = pd.read_csv(root / "lavaan" / "hs1939.csv")
    bfi = pd.read_csv(root / "lavaan" / "bfi.csv")
    runs = {"hs3": lambda: cfa(hs, HS), "bfi5": lambda: cfa(bfi, BFI),
            "hs_rescov": lambda: cfa(hs, HS, residual_covariances=[("x7", "x8"), ("x3", "x2")])}
    for name, fn in runs.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mi = modification_indices(fn())
        r = ref[name]
        ours = {(a, o, b): (m, e, s) for a, o, b, m, e, s in zip(
            mi["lhs"], mi["op"], mi["rhs"], mi["mi"], mi["epc"], mi["sepc_all"], strict=True)}
        keys = list(zip(r["lhs"], r["op"], r["rhs"], strict=True))
        got = np.array([ours.get(k, (np.nan,) * 3) for k in keys], dtype=float)
        acc.add(f"{name}.mi", got[:, 0], r["mi"])
        acc.add(f"{name}.epc", got[:, 1], r["epc"])
        acc.add(f"{name}.sepc.all", got[:, 2], r["sepc_all"])
    return list(runs)


# ---------------------------------------------------------------------- drivers

def _drivers_spearman(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import drivers

    link = pd.read_csv(root / "drivers" / "commune_link.csv", dtype={"commune_code": str})
    link.loc[1, "CSAT"] = np.nan   # as the R script (one commune without CSAT)
    ref = pd.read_csv(root / "drivers" / "spearman.csv")
    got = drivers.commune_correlations(link, "QUAL", list(ref["y"]))
    acc.add("n", got["n"], ref["n"])
    acc.add("rho", got["rho"], ref["rho"])
    acc.add("p", got["p"], ref["p"])
    return list(ref["y"])


# ---------------------------------------------------------------------- diagnostic, review

def _diagnostic_intervals(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import diagnostic as dg

    f = root / "diagnostic"
    w = pd.read_csv(f / "wilson.csv")
    lo, hi = dg.wilson(w["k"], w["n"])
    acc.add("wilson.lo", lo, w["lo"])
    acc.add("wilson.hi", hi, w["hi"])
    t = pd.read_csv(f / "ttest.csv").iloc[0]
    m, lo, hi, _ = dg.t_interval(pd.read_csv(f / "ttest_data.csv")["x"])
    acc.add("t_interval", [m, lo, hi], [t["mean"], t["lo"], t["hi"]])
    d = pd.read_csv(f / "cor_data.csv")
    c = pd.read_csv(f / "cor_test.csv").iloc[0]
    r = dg.fisher_correlation(d["x"], d["y"])
    acc.add("fisher_correlation", [r["r"], r["lo"], r["hi"], r["p"]],
            [c["r"], c["lo"], c["hi"], c["p"]])
    ch = pd.read_csv(f / "chisq_test.csv").iloc[0]
    res = dg.chisq_mc(pd.read_csv(f / "chisq_table.csv").to_numpy(), n_sim=10, seed=1)
    acc.add("chisq", [res["statistic"], res["df"], res["p_asymptotic"]],
            [ch["statistic"], ch["df"], ch["p"]])
    return ["prop.test", "t.test", "cor.test", "chisq.test"]


def _review_stratified(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.diagnostic import intervals

    d = pd.read_csv(root / "review" / "strat_data.csv", dtype={"h": str})
    ref = pd.read_csv(root / "review" / "strat_ref.csv").set_index("quantity")
    pop = d.groupby("h")["N"].first().to_dict()
    for q, col, prop in (("mean", "y", False), ("share", "b", True)):
        r = intervals.stratified_mean(d[col], d["h"], pop, proportion=prop)
        keys = ["estimate", "se", "lo", "hi", "df"]
        acc.add(q, [r[k] for k in keys], [ref.at[q, k] for k in keys])
    return ["mean", "share"]


# ---------------------------------------------------------------------- evidence, CLF

def _evidence_tost(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.evidence import min_detectable, tost

    ref = pd.read_csv(root / "evidence" / "tost.csv")
    ours_p, ours_m = [], []
    for r in ref.itertuples(index=False):
        df = None if not np.isfinite(r.df) else r.df
        ours_p.append(tost(r.est, r.se, r.sesoi, df=df))
        ours_m.append(min_detectable(r.se, df=df))
    acc.add("tost_p", ours_p, ref["tost_p"])
    acc.add("mde", ours_m, ref["mde"])
    return [f"{len(ref)} cases"]


def _evidence_ipma(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.evidence import ipma

    data = pd.read_csv(root / "evidence" / "ipma_data.csv")
    ref = pd.read_csv(root / "evidence" / "ipma_lavaan.csv")
    targets = sorted(set(ref["target"]))
    for target in targets:
        r = ref[ref["target"] == target].set_index("construct")
        t = ipma(data, target).table.set_index("construct")
        rev = t["reversed"]
        t.loc[rev, "importance"] = -t.loc[rev, "importance"]
        t.loc[rev, "performance"] = 100 - t.loc[rev, "performance"]
        acc.add(f"{target}.importance", t["importance"].reindex(r.index), r["importance"])
        acc.add(f"{target}.performance", t["performance"].reindex(r.index), r["performance"])
    return targets


def _clf(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.cfa import common_method_factor

    f = root / "clf_demo"
    data = pd.read_csv(f / "officials_items.csv")
    spec = pd.read_csv(f / "model.csv")
    model = {k: list(g["item"]) for k, g in spec.groupby("factor", sort=False)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = common_method_factor(data, model)
    fits = pd.read_csv(f / "lavaan_fit.csv")
    for name, fit in (("base", res.base), ("clf", res.with_clf)):
        fm = fit.fit_measures()
        r = fits[(fits["model"] == name) & fits["measure"].isin(fm.index)]
        acc.add(f"{name}.fit", [fm[k] for k in r["measure"]], r["value"])
    ref = pd.read_csv(f / "lavaan_estimates.csv")
    ref = ref[ref["model"] == "clf"]
    est = res.with_clf.estimates
    ours = {(a, b, c): (e, s) for a, b, c, e, s in zip(est["lhs"], est["op"], est["rhs"],
                                                        est["est"], est["std_all"], strict=True)}
    keys = list(zip(ref["lhs"], ref["op"], ref["rhs"], strict=True))
    got = np.array([ours.get(k, (np.nan, np.nan)) for k in keys], dtype=float)
    acc.add("clf.est", got[:, 0], ref["est"])
    acc.add("clf.std.all", got[:, 1], ref["std.all"])
    return ["base", "clf"]


def _consort_sem(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.sem import sem

    f = root / "consort"
    data = pd.read_csv(f / "hs1939_missing_covariate.csv")
    model = ("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9\n"
             "textual ~ visual + ageyr\nspeed ~ ageyr")
    n_ref = _json(f / "consort_reference.json")["sem_fiml"]
    cases = {"fiml": ({}, "sem_fiml"), "fiml_mlr": ({"estimator": "MLR"}, "sem_fiml_mlr")}
    for name, (kw, stem) in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sem(data, model, missing="ml", **kw)
        acc.add(f"{name}.nobs", res.nobs, n_ref)
        r = pd.read_csv(f / f"{stem}_pe.csv")
        r.index = _pe_key(r)
        mine = res.parameter_estimates()
        mine.index = _pe_key(mine)
        mine = mine.reindex(r.index)
        for col in ("est", "se", "std.all"):
            acc.add(f"{name}.{col}", mine[col].astype(float), r[col].astype(float))
        fit = pd.read_csv(f / f"{stem}_fit.csv").set_index("measure")["value"]
        fm = res.fit_measures()
        acc.add(f"{name}.fit", [fm.get(k, np.nan) for k in fit.index], fit.to_numpy())
    return list(cases)


def _collation(root: Path, acc: _Acc) -> list[str]:
    from hlstudy import communes

    ref = pd.read_csv(root / "collation" / "icu_vi_order.csv", encoding="utf-8")["text"].tolist()
    words = pd.read_csv(root / "collation" / "words.csv", encoding="utf-8")["text"].tolist()
    ours = sorted(words, key=communes.collation_key)
    position = {w: i for i, w in enumerate(ours)}
    # difference: how far each word is from its place in R's order (0 everywhere = same order)
    acc.add("rank", [position.get(w, np.nan) for w in ref], list(range(len(ref))))
    return [f"{len(ref)} words"]


def _ownstudy_htmt(root: Path, acc: _Acc) -> list[str]:
    from hlstudy.cfa import htmt

    f = root / "ownstudy"
    data = pd.read_csv(f / "htmt_data.csv")
    ref = pd.read_csv(f / "htmt_semtools.csv", dtype={"value": str})
    ref["value"] = ref["value"].astype(float)   # "Inf" / "NaN" as R wrote them
    models = {"AB": {"A": ["a1", "a2"], "B": ["b1", "b2"]},
              "ABC": {"A": ["a1", "a2"], "B": ["b1", "b2"], "C": ["c1", "c2"]}}
    cases = []
    for (model, h2), g in ref.groupby(["model", "htmt2"], sort=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = htmt(data, models[model], geometric=bool(h2))
        acc.add(f"{model}.{'geometric' if h2 else 'arithmetic'}",
                [out.loc[a, b] for a, b in zip(g["lhs"], g["rhs"], strict=True)], g["value"])
        cases.append(f"{model} ({'geometric' if h2 else 'arithmetic'})")
    return cases


#: Every check, in the order of the table.
CHECKS: tuple[Check, ...] = (
    Check("reliability.cronbach_alpha", "psych::alpha", "psych", 1e-8, "abs", _psych_alpha),
    Check("factor.efa", "psych::fa (minres/ml/pa; oblimin/promax/varimax)", "psych", 2e-3,
          "abs", _psych_efa),
    Check("factor.kmo, factor.bartlett", "psych::KMO, psych::cortest.bartlett", "psych", 1e-6,
          "abs≤1,rel>1", _psych_kmo),
    Check("factor.parallel_analysis (observed eigenvalues)", "psych::fa.parallel", "psych",
          1e-6, "abs", _psych_parallel),
    Check("reliability.omega_total", "psych::omega(nfactors = 1) (omega.tot, omega_h)", "psych",
          1e-6, "abs", _psych_omega),
    Check("factor.item_distributions", "psych::describe (type 3)", "psych", 1e-8, "abs",
          _psych_describe),
    Check("factor.mardia", "psych::mardia", "psych", 1e-8, "abs≤1,rel>1", _psych_mardia),
    Check("factor.harman_test", "eigen(cor(x)), psych::fa(x, 1)$Vaccounted", "psych", 1e-6,
          "abs", _psych_harman),
    Check("factor.efa (n ≤ p, collinear items)", "psych::fa (minres, pa)", "degenerate", 1e-4,
          "abs", _degenerate_efa),
    Check("reliability.cronbach_alpha (n ≤ p)", "psych::alpha", "degenerate", 1e-8, "abs",
          _degenerate_alpha),
    Check("cfa.cfa (ML, fit, est, std.all)", "lavaan::cfa, fitMeasures, standardizedSolution",
          "lavaan", 1e-3, "abs", _lavaan_cfa),
    Check("cfa.measurement_invariance", "lavaan::lavTestLRT (configural, metric, scalar)",
          "lavaan", 1e-3, "abs≤1,rel>1", _lavaan_invariance),
    Check("cfa.modification_indices", "lavaan::modindices (mi, epc, sepc.all)", "lavaan", 1e-3,
          "abs≤1,rel>1", _lavaan_modindices),
    Check("cfa.htmt", "semTools::htmt", "lavaan", 1e-8, "abs", _semtools_htmt),
    Check("cfa.htmt (zero correlations)", "semTools::htmt", "ownstudy", 1e-12, "abs",
          _ownstudy_htmt),
    Check("cfa.common_method_factor", "lavaan::cfa with a common latent factor", "clf_demo",
          1e-3, "abs≤1,rel>1", _clf),
    Check("sem.sem (ML/MLR/FIML)", "lavaan::sem, parameterEstimates, fitMeasures", "lavaan",
          1e-3, "abs≤1,rel>1", _lavaan_sem),
    Check("sem.sem (FIML, covariate-only rows)", "lavaan::sem(missing = 'ml', fixed.x = TRUE)",
          "consort", 1e-3, "abs≤1,rel>1", _consort_sem),
    Check("models.ols vcov='CR2'", "clubSandwich::coef_test(vcov = 'CR2', 'Satterthwaite')",
          "models", 1e-8, "abs", _models_ols("CR2")),
    Check("models.ols vcov='CR1'", "sandwich::vcovCL(type = 'HC1')", "models", 1e-8, "abs",
          _models_ols("CR1")),
    Check("models.ols vcov='HC1'", "sandwich::vcovHC(type = 'HC1')", "models", 1e-8, "abs",
          _models_ols("HC1")),
    Check("models.ols vcov='naive'", "summary(lm)", "models", 1e-8, "abs", _models_ols("naive")),
    Check("models.ols .vif, .diagnostics", "car::vif, lmtest::bptest", "models", 1e-8, "abs",
          _models_vif),
    Check("models.mixed", "lmerTest::lmer (Satterthwaite)", "models", 1e-6, "abs", _models_lmer),
    Check("models.sensitivity", "sensemakr (published Darfur example, 4 decimals)", "models",
          5e-5, "abs", _models_sensemakr),
    Check("diagnostic.quality.icc", "lme4::lmer(y ~ 1 + (1 | g))", "diagnostic", 1e-4, "abs",
          _lme4_icc),
    Check("drivers.commune_correlations", "cor.test(method = 'spearman')", "drivers", 1e-8,
          "abs", _drivers_spearman),
    Check("evidence.adjust", "p.adjust", "evidence", 1e-12, "abs", _padjust),
    Check("evidence.tost, evidence.min_detectable", "pt/pnorm (TOST), qt/qnorm (MDE)",
          "evidence", 1e-12, "abs", _evidence_tost),
    Check("evidence.ipma", "lavaan::sem total effects (ML); colMeans", "evidence", 1e-4, "abs",
          _evidence_ipma),
    Check("diagnostic.wilson, t_interval, fisher_correlation, chisq_mc",
          "prop.test, t.test, cor.test, chisq.test", "diagnostic", 1e-8, "abs≤1,rel>1",
          _diagnostic_intervals),
    Check("diagnostic.intervals.stratified_mean", "base R stratified fpc formulas", "review",
          1e-10, "abs", _review_stratified),
    Check("communes.collation_key (rank)", "sort() with icuSetCollate(locale = 'vi')",
          "collation", 0.0, "abs", _collation),
)


#: Fixture folders made by an R script that hold no number to compare, and why.
NOT_NUMERIC = {"spss_labels": "value labels read by haven (text, no number to compare)"}


def r_fixture_folders(fixtures: str | Path = FIXTURES,
                      checks: Sequence[Check] | None = None) -> pd.DataFrame:
    """Every fixture folder made by an R script (one holding a ``*.R`` file, the house
    rule), sorted: ``fixture, checks`` (rows of the agreement table that read it),
    ``reason`` (why a folder has none: :data:`NOT_NUMERIC`; ``""`` otherwise).  A folder
    with neither is left out of the table: the test suite forbids it."""
    checks = CHECKS if checks is None else checks
    root = Path(fixtures)
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.R")))
    return pd.DataFrame([{"fixture": f, "checks": sum(c.fixture == f for c in checks),
                          "reason": NOT_NUMERIC.get(f, "")} for f in folders],
                        columns=["fixture", "checks", "reason"])


NOISE = 1e-10


def difference_bound(d: float, tolerance: float | None = None) -> str:
    """A machine-independent label of a worst difference: ``"0"``, ``"< 1e-10"`` (rounding
    noise, whose exact value and place depend on the BLAS), else the next power of ten
    (``2.5e-05`` → ``"< 1e-04"``); ``"–"`` when missing.  With a ``tolerance`` below the
    noise bound, noise under the tolerance is labelled by it (``"< 1e-12"``), so that the
    label shows the difference is within it.  When the next power of ten exceeds a
    ``tolerance`` that the difference is within (4.99e-05 against 5e-05), the bound is
    rounded up (strictly) at the fewest significant digits (2, 3, 5 or 6) that keep it below
    the tolerance (``"< 4.9938e-05"``), so that the label shows the difference passes.

    >>> difference_bound(2.5e-05), difference_bound(3e-15), difference_bound(0.0)
    ('< 1e-04', '< 1e-10', '0')
    >>> difference_bound(3e-15, 1e-12), difference_bound(3e-15, 1e-8)
    ('< 1e-12', '< 1e-10')
    >>> difference_bound(4.99379e-05, 5e-05), difference_bound(3.2e-05, 5e-05)
    ('< 4.9938e-05', '< 3.3e-05')
    """
    if d is None or not np.isfinite(d):
        return "–"
    if d == 0:
        return "0"
    noise = NOISE
    if tolerance is not None and np.isfinite(tolerance) and 0 < tolerance < NOISE:
        noise = tolerance
    if d < noise:
        return f"< {noise:.0e}"
    power = int(np.floor(np.log10(d)))
    bound = 10.0 ** (power + 1)
    if tolerance is not None and np.isfinite(tolerance) and d <= tolerance < bound:
        # not 4 digits: "4.994e-05" would read as a Vietnamese thousands group ("4.994")
        for digits in (2, 3, 5, 6):
            step = 10.0 ** (power - digits + 1)
            up = float(f"{(np.floor(d / step) + 1) * step:.{digits - 1}e}")   # > d
            if up < tolerance:
                return f"< {up:.{digits - 1}e}"
    return f"< {bound:.0e}"


def r_agreement(fixtures: str | Path = FIXTURES, *, checks: Sequence[Check] | None = None
                ) -> pd.DataFrame:
    """One row per routine: the worst difference between hlstudy and R over the fixture's
    cells, against the tolerance of the test suite.

    Parameters
    ----------
    fixtures : folder holding the fixture folders (default ``tests/fixtures``).
    checks : the checks to run (default :data:`CHECKS`).

    Returns
    -------
    DataFrame with :data:`COLUMNS`: ``routine`` (hlstudy), ``r_function``, ``fixture``
    (folder), ``cases`` (fixture cases compared), ``n_values`` (cells compared),
    ``worst_difference``, ``worst_at`` (case.quantity[index]), ``tolerance``, ``metric``,
    ``within`` (worst ≤ tolerance).  A check that fails to run has NaN and its error in
    ``worst_at`` (never dropped).

    The table of the default checks is kept on disk by content
    (``data/processed/cache/r-agreement``, keyed on the fixture files, the package's source,
    the numerical libraries' versions and the CPU; doubles as ``float.hex``): a re-run with
    nothing changed reads the same table instead of refitting every fixture model (2 s).
    ``HLSTUDY_FIT_CACHE=0`` (or ``HLSTUDY_EXPORT_CACHE=0``) computes it every time.

    Example
    -------
    >>> tab = r_agreement()                                  # doctest: +SKIP
    >>> bool(tab["within"].all())                            # doctest: +SKIP
    True
    """
    root = Path(fixtures)
    if not root.is_dir():
        raise ModelError(f"fixture folder {root} not found")
    path = _cache_path(root) if checks is None else None
    table = _jsoncache.read(path, _from_json)   # None when absent or damaged
    if table is None:
        table = _compute(root, CHECKS if checks is None else checks)
        _jsoncache.write(path, _to_json(table), most=CACHE_FILES)
    return table


def _compute(root: Path, checks: Sequence[Check]) -> pd.DataFrame:
    from hlstudy.cfa.core import reuse_fits

    rows = []
    # the lavaan checks fit the same fixture models several times (cfa, modindices,
    # invariance): each distinct fit is computed once per call (keyed on content)
    with reuse_fits(), _reading_once():
        for c in checks:
            acc = _Acc(c.metric)
            try:
                cases = c.run(root, acc)
                worst, at = acc.worst, acc.at
            except (ModelError, KeyError, ValueError, FileNotFoundError, IndexError) as err:
                cases, worst, at = [], np.nan, f"error: {type(err).__name__}: {str(err)[:120]}"
            rows.append({"routine": c.routine, "r_function": c.r_function,
                         "fixture": c.fixture, "cases": ", ".join(cases), "n_values": acc.n,
                         "worst_difference": worst, "worst_at": at, "tolerance": c.tolerance,
                         "metric": c.metric,
                         "within": bool(np.isfinite(worst) and worst <= c.tolerance)})
    return pd.DataFrame(rows, columns=COLUMNS)


# ---------------------------------------------------------------------- the table kept on disk

#: The package whose source the kept table depends on (every check calls into it).
PACKAGE = Path(__file__).resolve().parent.parent
#: Most tables kept (one per state of the fixtures, the code and the libraries).
CACHE_FILES = 20


def _cache_dir() -> Path | None:
    """``data/processed/cache/r-agreement``; None when ``HLSTUDY_FIT_CACHE=0`` or
    ``HLSTUDY_EXPORT_CACHE=0`` (the switches of the other disk caches)."""
    if "0" in (os.environ.get("HLSTUDY_FIT_CACHE", "1"), os.environ.get("HLSTUDY_EXPORT_CACHE", "1")):
        return None
    from hlstudy.paths import PROCESSED

    return PROCESSED / "cache" / "r-agreement"


def _cache_path(root: Path) -> Path | None:
    """Where the table of ``root``'s fixtures is kept: the SHA-256 of every fixture file (name
    and bytes), of every ``.py`` file of the package (the checks call into most of it), of
    the numerical libraries' versions, the BLAS thread settings and the CPU (an OpenBLAS build
    picks its kernels by CPU).  None when the cache is switched off (:func:`_cache_dir`) or
    when a source file of the package may have changed after this process read it
    (:func:`hlstudy._codekey.package_digest`: the code running may then not be the code on disk)."""
    folder = _cache_dir()
    if folder is None:
        return None
    import platform

    import scipy
    import statsmodels

    code = package_digest(PACKAGE)
    if code is None:
        return None
    h = hashlib.sha256()

    def put(data: bytes) -> None:
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)

    for f in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        put(f.relative_to(root).as_posix().encode("utf-8"))
        put(f.read_bytes())
    put(code.encode("ascii"))
    from hlstudy.diagnostic.quality import _fit_code_key  # libraries, machine, CPU model

    put(_fit_code_key().encode("utf-8"))
    put(repr((pd.__version__, scipy.__version__, statsmodels.__version__, platform.machine(),
              [os.environ.get(v, "") for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                               "MKL_NUM_THREADS")])).encode("utf-8"))
    return folder / f"{h.hexdigest()}.json"


def _to_json(table: pd.DataFrame) -> str:
    """The table as JSON, every double as ``float.hex`` (read back exactly)."""
    rows = []
    for r in table.to_dict("records"):
        rows.append({**r, "n_values": int(r["n_values"]), "within": bool(r["within"]),
                     "worst_difference": float(r["worst_difference"]).hex(),
                     "tolerance": float(r["tolerance"]).hex()})
    return json.dumps({"columns": COLUMNS, "rows": rows}, sort_keys=True, ensure_ascii=False)


def _from_json(text: str) -> pd.DataFrame:
    raw = json.loads(text)
    if raw["columns"] != COLUMNS:
        raise ValueError("the kept table has other columns")
    rows = [{**r, "worst_difference": float.fromhex(r["worst_difference"]),
             "tolerance": float.fromhex(r["tolerance"])} for r in raw["rows"]]
    return pd.DataFrame(rows, columns=COLUMNS)


# ---------------------------------------------------------------------- versions

_R_VERSION = re.compile(r"R version (\d+\.\d+\.\d+)")
_R_PACKAGES = ("R", "psych", "lavaan", "semTools", "GPArotation", "lme4", "lmerTest",
               "clubSandwich", "sandwich", "car", "lmtest", "haven", "TOSTER", "performance")
_SCRIPT_VERSION = re.compile(r"\b(" + "|".join(_R_PACKAGES) + r")(?:::\w+)?\s+\(?"
                             r"(\d+\.\d+(?:[.-]\d+)*)")


#: The version of a fixture folder whose files name none (:func:`r_versions`).
NOT_RECORDED = "not recorded"


def _r_version(v: str) -> str:
    """A version as R's ``packageVersion()`` prints it: ``0.6-14`` (a DESCRIPTION file, a
    comment) is ``0.6.14``."""
    return re.sub(r"(?<=\d)-(?=\d)", ".", v)


def r_versions(fixtures: str | Path = FIXTURES) -> pd.DataFrame:
    """R and R-package versions the fixtures were made with: ``fixture, software, version,
    source`` (the fixture's JSON ``versions``/``meta`` when present, else the R script's
    comments naming a version, else :data:`NOT_RECORDED`), written as R's
    ``packageVersion()`` prints them (``0.6.14``, not the DESCRIPTION's ``0.6-14``).

    A fixture folder is one that holds the R script that made it (``*.R``, the house rule);
    other folders are left out, e.g. ``speed/``, whose stored outputs of former Python routes
    the speed tests compare with (their ``versions`` name Python libraries, not R)."""
    root = Path(fixtures)
    rows = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and any(p.glob("*.R"))):
        found = {}
        for js in sorted(folder.glob("*.json")):
            try:
                d = json.loads(js.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if not isinstance(d, dict):
                continue
            blocks = [d.get(k) for k in ("versions", "meta") if isinstance(d.get(k), dict)]
            blocks.append({k[: -len("_version")]: v for k, v in d.items()
                           if k.endswith("_version")})
            for block in blocks:
                for k, v in block.items():
                    if isinstance(v, str) and re.search(r"\d", v) and k != "note":
                        m = _R_VERSION.search(v)
                        name = "R" if k.lower() == "r" else k
                        found.setdefault(name, (_r_version(m.group(1) if m else v), js.name))
        for script in sorted(folder.glob("*.R")):
            text = script.read_text(encoding="utf-8", errors="replace")
            for line in text.splitlines():
                if not line.lstrip().startswith("#"):
                    continue
                for m in _SCRIPT_VERSION.finditer(line):
                    found.setdefault(m.group(1), (_r_version(m.group(2)), script.name))
        if not found:
            rows.append({"fixture": folder.name, "software": "", "version": NOT_RECORDED,
                         "source": ""})
        for k, (v, src) in sorted(found.items()):
            rows.append({"fixture": folder.name, "software": k, "version": v, "source": src})
    return pd.DataFrame(rows, columns=["fixture", "software", "version", "source"])


def python_versions(lock: str | Path = ROOT / "requirements.lock") -> pd.DataFrame:
    """Python and every package pinned in ``requirements.lock``: ``software, pinned,
    installed`` (installed from the running environment; empty when not installed)."""
    import platform
    from importlib import metadata

    rows = [{"software": "Python", "pinned": "", "installed": platform.python_version()}]
    for line in Path(lock).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "==" not in line:
            continue
        name, ver = line.split("==", 1)
        try:
            inst = metadata.version(name)
        except metadata.PackageNotFoundError:
            inst = ""
        rows.append({"software": name, "pinned": ver, "installed": inst})
    return pd.DataFrame(rows)
