"""Parameter recovery: simulate a study with a known truth, run the whole chain, compare.

One replication (:func:`replicate`) is: :func:`hlstudy.synthetic.simulate` (seed, scenario)
→ :func:`hlstudy.load_study` of the simulated study (written to a temporary folder and read
back through the same ingest and cleaning as a researcher's export folder) → measurement
(one CFA per construct, ICC of every scale score) → models (regressions on z-scored scale
scores with naive and CR2 standard errors, wild cluster bootstrap intervals for the key
paths, the path model on scale scores with FIML and MLR) → the claims ledger
(:func:`hlstudy.evidence.evaluate`).  Every estimate is one row of a tidy table beside the
value the simulator used.  :func:`recovery` runs many replications in parallel.

Truth of each quantity
    *Loadings*: ``truth.loadings["loading"]`` (λ of the latent response y*; an ML CFA of
    five-category answers estimates the Pearson-scale loading, which is smaller: the bias is
    reported, not hidden).  *Paths*: the population standardized coefficient of the
    estimated specification on the latent constructs, computed from the simulator's
    covariance matrix (:func:`population_coefficients`); for the research model, which
    contains every true cause, it equals ``truth.effects`` (0 for a path the simulator does
    not have).  Regressions on scale scores are attenuated by measurement error; that bias
    too is reported.  *ICC*: ``truth.commune_variance_share`` of the latent construct (a
    scale score adds within-commune measurement error, so its ICC is smaller).  *Cleaning*:
    every record the simulator marked for a dropping rule should be dropped by that rule
    (truth 1), and no clean record should be dropped (truth 0).  *Verdicts*: the verdict the
    ledger's own rule gives when the interval shrinks to the true value
    (:func:`truth_verdict`).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from hlstudy.errors import ModelError

#: Columns of :func:`recovery` (in this order).
COLUMNS = ["seed", "scenario", "quantity", "kind", "method", "truth", "truth_estimand",
           "estimate", "ci_low", "ci_high", "n", "verdict_truth", "verdict"]
KINDS = ("loading", "path", "icc", "cleaning", "verdict")
#: Approximate number of posts of the simulated census (``hlstudy.synthetic``: "about 455
#: officials"); ``n_officials`` is reached through the response rate n_officials / 455.
CENSUS_POSTS = 455
#: Paths whose wild cluster bootstrap interval is computed in every replication (the test
#: inversion costs ~0.5 s a path; the other paths carry the naive and CR2 intervals only).
WILD_PATHS = ("TRAIN->PRO", "EDU->PRO", "RES->RSP", "MOT->RSP", "SUP->SKL", "COMP->PRO")
WILD_REPS = 399
CLUSTER = "commune_code"


@dataclass(frozen=True)
class Scenario:
    """A simulated world: overridden ``effects``, simulator options and the sample size.

    ``n_officials`` (None: the census) sets the response rate to ``n_officials / 455``;
    ``fault_rates`` overrides :data:`hlstudy.synthetic.FAULT_RATES`; ``missing_compare``
    adds the path model on complete-item scale scores by listwise deletion and by FIML;
    ``latent_sem`` adds the latent SEM (items as indicators, FIML, MLR; about 5 s a fit).
    """

    name: str
    description: str
    effects: Mapping[str, float] = field(default_factory=dict)
    n_officials: int | None = None
    fault_rates: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    n_citizens_per_commune: int = 30
    missing_compare: bool = False
    latent_sem: bool = False

    def simulate_kwargs(self) -> dict:
        kw: dict = {"effects": dict(self.effects) or None,
                    "n_citizens_per_commune": self.n_citizens_per_commune}
        if self.n_officials is not None:
            kw["response_rate"] = min(1.0, self.n_officials / CENSUS_POSTS)
        if self.fault_rates:
            kw["fault_rates"] = {k: dict(v) for k, v in self.fault_rates.items()}
        return kw


def _all_zero() -> dict[str, float]:
    from hlstudy.synthetic import DEFAULT_EFFECTS
    return {k: 0.0 for k in DEFAULT_EFFECTS}


def scenarios() -> dict[str, Scenario]:
    """The scenarios of notebook 07, by name."""
    return {
        "default": Scenario("default", "default truth (hlstudy.synthetic.DEFAULT_EFFECTS)",
                            latent_sem=True),
        "path_off": Scenario("path_off", "recognition → motivation switched off (REC->MOT = 0; "
                             "claim S5)", {"REC->MOT": 0.0}, latent_sem=True),
        "path_reversed": Scenario("path_reversed", "recognition → motivation reversed "
                                  "(REC->MOT = −0.18; claim S5)", {"REC->MOT": -0.18},
                                  latent_sem=True),
        "all_zero": Scenario("all_zero", "every structural path 0 (false positives)",
                             _all_zero(), latent_sem=True),
        "small": Scenario("small", "about 120 officials answer (a single-district thesis)",
                          n_officials=120),
        "missing": Scenario("missing", "stronger missingness: 3 % of Likert answers blank "
                            "(listwise vs FIML)", fault_rates={"officials": {"item_blank": 0.03}},
                            missing_compare=True, latent_sem=True),
    }


def _scenario(scenario) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    known = scenarios()
    if scenario not in known:
        raise ModelError(f"unknown scenario {scenario!r}; scenarios: {sorted(known)}")
    return known[scenario]


# --------------------------------------------------------------------------- truth

def latent_covariance(truth) -> pd.DataFrame:
    """Population covariance (= correlation) of the officials' latent variables and of the
    citizens' ones, as one block-diagonal table (rows/columns named by construct)."""
    return _latent_covariance(truth.effects,
                              float(truth.parameters.get("edu_tenure_correlation", 0.0)))


def _latent_covariance(effects: Mapping[str, float], r_et: float) -> pd.DataFrame:
    """:func:`latent_covariance` of a truth with ``effects`` and the officials' correlation
    ``r_et`` of education and years in post."""
    from hlstudy.synthetic import _model

    *_, sig_o = _model.officials_system(effects, r_et)
    *_, sig_c = _model.citizens_system(effects)
    names_o = list(_model.FACTORS + _model.OBSERVED + _model.ENDOGENOUS)
    names_c = list(_model.CITIZEN_EXOGENOUS + _model.CITIZEN_ENDOGENOUS)
    names = names_o + [c for c in names_c]
    out = pd.DataFrame(0.0, index=names, columns=names)
    out.loc[names_o, names_o] = sig_o
    out.loc[names_c, names_c] = sig_c
    return out


def population_coefficients(cov: pd.DataFrame, outcome: str | Sequence[str],
                            predictors: Sequence[str]) -> pd.Series:
    """Standardized coefficients of the population regression of ``outcome`` on
    ``predictors`` given the covariance ``cov``; a list ``outcome`` is the mean of those
    variables (overall quality, QUAL).  ``b = Σ_PP⁻¹ Σ_PY`` scaled by sd(P)/sd(Y).

    >>> c = pd.DataFrame([[1, .5], [.5, 1]], index=["x", "y"], columns=["x", "y"])
    >>> float(population_coefficients(c, "y", ["x"])["x"])
    0.5
    """
    outs = [outcome] if isinstance(outcome, str) else list(outcome)
    preds = list(predictors)
    missing = [v for v in outs + preds if v not in cov.index]
    if missing:
        raise ModelError(f"no population covariance for {missing}")
    w = np.full(len(outs), 1 / len(outs))
    rows, cols = cov.index.get_indexer(outs + preds), cov.columns.get_indexer(outs + preds)
    if cov.index.is_unique and cov.columns.is_unique and (cols >= 0).all():
        # the cells ``cov.loc[...]`` selects, by position (~0.1 ms instead of ~1 ms by label)
        full = cov.to_numpy(float)
        ro, rp, co, cp = rows[:len(outs)], rows[len(outs):], cols[:len(outs)], cols[len(outs):]
        s_pp = full[np.ix_(rp, cp)]
        s_py = full[np.ix_(rp, co)] @ w
        var_y = float(w @ full[np.ix_(ro, co)] @ w)
    else:
        s_pp = cov.loc[preds, preds].to_numpy(float)
        s_py = cov.loc[preds, outs].to_numpy(float) @ w
        var_y = float(w @ cov.loc[outs, outs].to_numpy(float) @ w)
    b = np.linalg.solve(s_pp, s_py)
    beta = b * np.sqrt(np.diag(s_pp)) / np.sqrt(var_y)
    beta[np.abs(beta) < 1e-12] = 0.0  # rounding noise of an exact zero
    return pd.Series(beta, index=preds)


def truth_verdict(value: float, *, direction: str, sesoi: float, alpha: float = 0.05) -> str:
    """The ledger's verdict when the interval shrinks to the true ``value`` (infinite n).

    ``supported`` when the value lies beyond the SESOI in the claimed direction, ``not
    supported`` when it is negligible (inside ±SESOI) or of the other sign, ``inconclusive``
    exactly at ±SESOI.  Same rule as :func:`hlstudy.evidence.verdict`.

    >>> truth_verdict(0.25, direction="+", sesoi=0.10), truth_verdict(0.05, direction="+", sesoi=0.10)
    ('supported', 'not supported')
    """
    from hlstudy.evidence import verdict

    if not np.isfinite(value):
        return ""
    p = 0.0 if value != 0 else 1.0
    return verdict(value, value, value, p, direction=direction, sesoi=sesoi, alpha=alpha)[0]


_ARROW = re.compile(r"\s*→\s*")


def part_truth(part: str, kind: str, cov: pd.DataFrame, struct: Mapping[str, Sequence[str]],
               quality: Sequence[str], citizen_constructs: Iterable[str], *,
               _coefficients: dict | None = None) -> float:
    """True value of one ledger part (``X → Y`` path, ``X → M → Y`` indirect effect), or NaN
    when the truth cannot be computed from the latent model (descriptive numbers, scale
    reliabilities, commune-level correlations, the trained-vs-not comparison).
    ``_coefficients``: a dict in which the population coefficients of each regression are
    kept between calls on the same ``cov`` and ``struct`` (:func:`claim_truths`)."""
    memo = {} if _coefficients is None else _coefficients

    def coefficients(outcome, predictors) -> pd.Series:
        key = (tuple(outcome) if not isinstance(outcome, str) else outcome, tuple(predictors))
        if key not in memo:
            memo[key] = population_coefficients(cov, outcome, predictors)
        return memo[key]

    names = _ARROW.split(str(part))
    if kind == "path" and len(names) == 2 and all(n in cov.index or n == "QUAL" for n in names):
        x, y = names
        if y in set(citizen_constructs):
            return float(coefficients(y, [x])[x])
        base = struct.get(quality[0] if y == "QUAL" else y)
        if base is None or x not in base:
            return np.nan
        out = list(quality) if y == "QUAL" else y
        return float(coefficients(out, base)[x])
    if kind == "indirect" and len(names) == 3:
        x, m, y = names
        if x not in struct.get(m, []) or m not in struct.get(y, []):
            return np.nan
        a = coefficients(m, struct[m])[x]
        b = coefficients(y, struct[y])[m]
        return float(a * b)
    return np.nan


def _parts_by_claim(parts: pd.DataFrame) -> list[tuple]:
    """``(claim_id, [(part, kind, sesoi, direction), ...])`` in the order and with the
    values of ``parts.groupby("claim_id", sort=False)`` read row by row with
    ``itertuples`` (first appearance; a missing claim id dropped), from four column lists
    read once (a group's ``itertuples`` builds a namedtuple class of every column of the
    ledger's parts: ~2 ms a claim)."""
    groups: dict = {}
    columns = (parts[c].tolist() for c in ("claim_id", "part", "kind", "sesoi", "direction"))
    for cid, *row in zip(*columns, strict=True):
        if not pd.isna(cid):
            groups.setdefault(cid, []).append(tuple(row))
    return list(groups.items())


def claim_truths(parts: pd.DataFrame, cov: pd.DataFrame, rules, struct, quality,
                 citizen_constructs) -> pd.DataFrame:
    """Truth-implied verdict of every claim from its parts (``claim_id, truth_value,
    verdict_truth``): a claim is truly supported when every part is, truly not supported as
    soon as one part with a known truth is; otherwise its truth is unknown (empty)."""
    rows = []
    memo: dict = {}  # each regression's population coefficients once, not once per part
    for cid, g in _parts_by_claim(parts):
        vs, vals = [], []
        for part, kind, sesoi, direction in g:
            t = part_truth(part, kind, cov, struct, quality, citizen_constructs,
                           _coefficients=memo)
            sesoi = sesoi if np.isfinite(sesoi) else rules.sesoi
            vs.append(truth_verdict(t, direction=direction, sesoi=sesoi, alpha=rules.alpha)
                      if np.isfinite(t) else "")
            vals.append(t)
        known = [v for v in vs if v]
        if "not supported" in known:
            v = "not supported"
        elif len(known) == len(vs) and "inconclusive" in known:
            v = "inconclusive"
        elif len(known) == len(vs):
            v = "supported"
        else:
            v = ""
        finite = [t for t in vals if np.isfinite(t)]
        rows.append({"claim_id": cid, "truth_value": min(finite, key=abs) if finite else np.nan,
                     "verdict_truth": v})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- one replication

def _rows(seed, scenario, kind, method, quantity, truth, estimate, lo=np.nan, hi=np.nan,
          n=np.nan, verdict_truth="", verdict="", truth_estimand=np.nan):
    return {"seed": int(seed), "scenario": scenario, "quantity": quantity, "kind": kind,
            "method": method, "truth": float(truth), "truth_estimand": float(truth_estimand),
            "estimate": float(estimate),
            "ci_low": float(lo), "ci_high": float(hi), "n": float(n),
            "verdict_truth": verdict_truth, "verdict": verdict}


def _loadings(study, truth, seed, name) -> list[dict]:
    from hlstudy.cfa import cfa
    from hlstudy.scales import scale_items

    z = stats.norm.ppf(0.975)
    lt = truth.loadings.set_index(["instrument", "item"])["loading"]
    out = []
    for inst in ("officials", "citizens"):
        table = getattr(study, inst)
        for construct, items in scale_items(inst).items():
            if len(items) < 3:
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = cfa(table[items], {construct: list(items)}, std_lv=True)
            except ModelError:
                continue
            est = res.estimates[res.estimates["op"] == "=~"]
            for r in est.itertuples(index=False):
                ratio = r.std_all / r.est if r.est else np.nan
                half = z * abs(ratio) * r.se
                out.append(_rows(seed, name, "loading", "CFA (ML)", f"{construct}=~{r.rhs}",
                                 lt.get((inst, r.rhs), np.nan), r.std_all, r.std_all - half,
                                 r.std_all + half, res.n_obs))
    return out


def _icc(study, truth, seed, name) -> list[dict]:
    from hlstudy.diagnostic.quality import icc
    from hlstudy.scales import score_scales

    out = []
    shares = truth.commune_variance_share
    for inst in ("officials", "citizens"):
        sc = score_scales(getattr(study, inst), inst, keep=[CLUSTER])
        for c in sc.columns:
            if c == CLUSTER or c not in shares:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = icc(sc, c, CLUSTER)
            out.append(_rows(seed, name, "icc", "ANOVA (F interval)", c, shares[c],
                             r.icc_anova, r.icc_anova_lo, r.icc_anova_hi, r.n))
            out.append(_rows(seed, name, "icc", "REML", c, shares[c], r.icc, n=r.n))
    return out


def _cleaning(study, truth, seed, name) -> list[dict]:
    rows = truth.rows
    log = study.cleaning_log
    drops = log[log["action"] == "drop"]
    dropped = {(i, int(s)): rule for i, s, rule in zip(drops["instrument"], drops["source_row"],
                                                       drops["rule"], strict=True)}
    out = []
    for inst, g in rows.groupby("instrument", sort=True):
        exp = g["expected_drop"].fillna("").astype(str)
        keys = [(inst, int(s)) for s in g["source_row"]]
        got = [dropped.get(k, "") for k in keys]
        for rule in sorted(set(exp) - {""}):
            idx = [i for i, e in enumerate(exp) if e == rule]
            caught = np.mean([got[i] == rule for i in idx])
            out.append(_rows(seed, name, "cleaning", "catch rate", f"{inst}:{rule}", 1.0, caught,
                             n=len(idx)))
        clean = [i for i, e in enumerate(exp) if e == ""]
        if clean:
            false = np.mean([got[i] != "" for i in clean])
            out.append(_rows(seed, name, "cleaning", "false drop rate", f"{inst}:kept", 0.0,
                             false, n=len(clean)))
    return out


LATENT_SEM = "latent SEM (FIML, MLR)"


def _latent_sem(study, cov, seed, name) -> list[dict]:
    """The research model with the constructs latent (items as indicators, as notebook 05:
    ``lavaan::sem(..., missing = "ml", estimator = "MLR")``); its standardized paths target
    the latent truth itself (``truth_estimand`` = ``truth``)."""
    from hlstudy import drivers
    from hlstudy import sem as sem_mod
    from hlstudy.scales import scale_items

    struct = drivers.structure()
    items = scale_items("officials")
    used = set(struct) | {p for preds in struct.values() for p in preds}
    items = {k: v for k, v in items.items() if k in used}
    syntax = drivers.lavaan_syntax(struct, items=items,
                                   correlated_residuals=drivers.quality_residual_pairs())
    data = drivers.driver_data(study)
    d = study.officials[[c for its in items.values() for c in its]].astype(float).copy()
    for c in drivers.COVARIATES:
        d[c] = data[c].to_numpy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sem_mod.sem(d.reset_index(drop=True), syntax, missing="ml", estimator="MLR")
    except ModelError:
        return []
    except (ValueError, np.linalg.LinAlgError) as err:  # a crash of hlstudy.sem: reported
        warnings.warn(f"latent SEM failed in replication {seed} ({name}): "
                      f"{type(err).__name__}: {err}", RuntimeWarning, stacklevel=2)
        return []
    if not fit.converged:
        return []
    out = []
    truths: dict = {}  # each equation's population coefficients once, not once per path
    for r in drivers.sem_paths(fit.parameter_estimates(), method=LATENT_SEM).itertuples(
            index=False):
        if r.outcome not in truths:
            truths[r.outcome] = population_coefficients(cov, r.outcome, struct[r.outcome])
        t = truths[r.outcome][r.term]
        out.append(_rows(seed, name, "path", LATENT_SEM, f"{r.term}->{r.outcome}", t,
                         r.estimate, r.ci_low, r.ci_high, fit.nobs, truth_estimand=t))
    return out


def _paths(study, truth, cov, seed, sc: Scenario, wild: bool, sem: bool = True) -> list[dict]:
    from hlstudy import drivers, models
    from hlstudy import sem as sem_mod
    from hlstudy.models._wild import wild_test

    name = sc.name
    data = drivers.driver_data(study)
    struct = drivers.structure()
    cols = sorted({c for p in struct.values() for c in p} | set(struct))
    z = drivers.zscore(data, cols)   # the SEM's data below: FIML uses every row
    out = []
    truths = {}  # each equation's population coefficients, read again by the SEM rows below
    for y, preds in struct.items():
        tv = truths[y] = population_coefficients(cov, y, preds)
        formula = drivers.regression_formula(y, struct)
        # notebook 05's and the ledger's sample: complete rows z-scored on them, a commune of
        # one respondent merged into its 2025 commune for the cluster-robust inference
        d, _merged = drivers.regression_sample(data, y, preds, cluster=CLUSTER, name="_cluster")
        fits = {"CR2": models.ols(d, formula, cluster="_cluster", vcov="CR2", wild=False),
                "naive": models.ols(d, formula, vcov="naive", wild=False)}
        for method, fit in fits.items():
            co = fit.coefficients
            for x in preds:
                r = co.loc[x]
                out.append(_rows(seed, name, "path", method, f"{x}->{y}", tv[x], r["estimate"],
                                 r["ci_low"], r["ci_high"], fit.nobs))
        if wild:
            targets = [p for p in WILD_PATHS if p.endswith(f"->{y}")]
            if targets:
                import patsy

                yv, X = patsy.dmatrices(formula, d, return_type="dataframe")
                codes = pd.factorize(d["_cluster"], sort=True)[0]
                cr1 = models.ols(d, formula, cluster="_cluster", vcov="CR1", wild=False).coefficients
                for p in targets:
                    x = p.split("->")[0]
                    j = list(X.columns).index(x)
                    pw, lo, hi, *_ = wild_test(X.to_numpy(), yv.to_numpy().ravel(), codes, j,
                                               estimate=float(cr1.at[x, "estimate"]),
                                               se_cr1=float(cr1.at[x, "se"]), reps=WILD_REPS,
                                               seed=seed, tol=0.02)
                    out.append(_rows(seed, name, "path", "wild", p, tv[x],
                                     cr1.at[x, "estimate"], lo, hi, len(d)))
    if not sem:
        return out
    syntax = drivers.lavaan_syntax(struct, correlated_residuals=drivers.quality_residual_pairs())
    variants = [("SEM (FIML, MLR)", z[cols], "ml")]
    if sc.missing_compare:
        complete = drivers.driver_data(study, min_share=1.0)
        zc = drivers.zscore(complete, cols)[cols]
        variants += [("SEM complete items (listwise)", zc, "listwise"),
                     ("SEM complete items (FIML)", zc, "ml")]
    for method, d, missing in variants:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = sem_mod.sem(d, syntax, missing=missing, estimator="MLR")
        except ModelError:
            continue
        except (ValueError, np.linalg.LinAlgError) as err:  # a crash of hlstudy.sem: reported
            warnings.warn(f"{method} failed in replication {seed} ({name}): "
                          f"{type(err).__name__}: {err}", RuntimeWarning, stacklevel=2)
            continue
        sp = drivers.sem_paths(fit.parameter_estimates(), method=method)
        for r in sp.itertuples(index=False):
            t = truths[r.outcome][r.term]
            out.append(_rows(seed, name, "path", method, f"{r.term}->{r.outcome}", t,
                             r.estimate, r.ci_low, r.ci_high, fit.nobs))
    return out


def _verdicts(study, truth, cov, seed, name, rules) -> list[dict]:
    from hlstudy import codebook, drivers
    from hlstudy.evidence import evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = evaluate(study, rules=rules)
    roles = drivers.constructs_by_role()
    cit = codebook.construct_labels("citizens")
    ct = claim_truths(res.parts, cov, rules, drivers.structure(), roles.get("quality", []),
                      set(cit.loc[cit["role"] == "citizen", "construct"]))
    claims = res.claims.merge(ct, on="claim_id", how="left")
    out = []
    for r in claims.itertuples(index=False):
        out.append(_rows(seed, name, "verdict", "ledger", r.claim_id, r.truth_value, r.estimate,
                         r.ci_low, r.ci_high, r.n, r.verdict_truth if isinstance(
                             r.verdict_truth, str) else "", r.verdict))
    return out


def replicate(seed: int, scenario: str | Scenario = "default", *,
              parts: Sequence[str] = KINDS, wild: bool = True, ledger_rules=None,
              latent: bool | None = None, sem: bool = True) -> pd.DataFrame:
    """One replication of the whole chain: a DataFrame with the columns :data:`COLUMNS`.

    ``parts`` chooses what is measured (a subset of :data:`KINDS`); ``wild=False`` skips the
    wild bootstrap intervals; ``ledger_rules`` are the ledger's rules (default
    ``Rules(bootstrap=0)``: the fewest bootstrap draws, 100, for the indirect effects);
    ``latent`` fits the latent SEM (None: the scenario's ``latent_sem``); ``sem=False`` skips
    the path model on scale scores (``SEM (FIML, MLR)`` and the scenario's complete-item
    variants: ~0.2 s a replication; the other rows are the same).  ``truth_estimand``
    is the latent truth for the latent SEM and NaN elsewhere (filled for the observed-score
    methods by :func:`hlstudy.validation.attach_estimand`).
    """
    from hlstudy import load_study
    from hlstudy.evidence import Rules
    from hlstudy.synthetic import simulate

    sc = _scenario(scenario)
    bad = sorted(set(parts) - set(KINDS))
    if bad:
        raise ModelError(f"unknown parts {bad}; parts: {list(KINDS)}")
    sim = simulate(int(seed), **sc.simulate_kwargs())
    with contextlib.redirect_stdout(io.StringIO()):  # load_study prints the cleaning summary
        study = load_study(sim, cache=False)
    truth = sim.truth
    cov = latent_covariance(truth)
    rows: list[dict] = []
    if "loading" in parts:
        rows += _loadings(study, truth, seed, sc.name)
    if "path" in parts:
        rows += _paths(study, truth, cov, seed, sc, wild, sem)
        if sc.latent_sem if latent is None else latent:
            rows += _latent_sem(study, cov, seed, sc.name)
    if "icc" in parts:
        rows += _icc(study, truth, seed, sc.name)
    if "cleaning" in parts:
        rows += _cleaning(study, truth, seed, sc.name)
    if "verdict" in parts:
        rows += _verdicts(study, truth, cov, seed, sc.name,
                          ledger_rules if ledger_rules is not None else Rules(bootstrap=0))
    return pd.DataFrame(rows, columns=COLUMNS)


def _job(args) -> pd.DataFrame:
    seed, scenario, parts, wild, latent, sem = args
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ["HLSTUDY_PROGRESS"] = "0"
    return replicate(seed, scenario, parts=parts, wild=wild, latent=latent, sem=sem)


def recovery(seeds: Iterable[int] | int, effects: Mapping[str, float] | None = None, *,
             scenario: str | Scenario = "default", workers: int | None = None,
             n_officials: int | None = None, parts: Sequence[str] = KINDS, wild: bool = True,
             latent: bool | None = None, estimand: pd.DataFrame | None = None,
             show_progress: bool | None = None, sem: bool = True) -> pd.DataFrame:
    """Run :func:`replicate` for every seed (in parallel) and stack the rows.

    Parameters
    ----------
    seeds : seeds of the replications (an int ``k`` means ``range(1, k + 1)``).
    effects : path overrides on top of the scenario's (``{"CAUSE->EFFECT": value}``); the
        scenario is then renamed ``"<scenario>+custom"``.
    scenario : a name of :func:`scenarios` or a :class:`Scenario`.
    workers : processes (``concurrent.futures.ProcessPoolExecutor``); None: the machine's
        cores; 1: in this process.  Results do not depend on it (each replication is fixed
        by its seed; rows are sorted).
    n_officials : overrides the scenario's sample size (about that many officials answer).
    parts, wild, latent, sem : what is measured (see :func:`replicate`).
    estimand : the table of :func:`hlstudy.validation.estimand_truth` for this scenario: fills
        ``truth_estimand`` of the observed-score methods (:func:`attach_estimand`).
    show_progress : progress bar (None follows ``HLSTUDY_PROGRESS``).

    Returns
    -------
    DataFrame with :data:`COLUMNS`, one row per replication × quantity × method, sorted by
    ``scenario, seed, kind, quantity, method``.

    Raises
    ------
    ModelError : unknown scenario, part or path, no seeds, negative seeds, workers < 1.

    Example
    -------
    >>> res = recovery([1], scenario="default", workers=1, parts=("path",), wild=False)  # doctest: +SKIP
    >>> summarize(res).query("method == 'CR2'")                                         # doctest: +SKIP
    """
    from hlstudy.progress import progress

    seeds = list(range(1, seeds + 1)) if isinstance(seeds, int | np.integer) else list(seeds)
    if not seeds:
        raise ModelError("recovery needs at least one seed")
    if any((not isinstance(s, int | np.integer)) or isinstance(s, bool) or s < 0 for s in seeds):
        raise ModelError(f"seeds must be non-negative integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise ModelError("seeds must be distinct")
    sc = _scenario(scenario)
    if effects or n_officials is not None:
        from hlstudy.synthetic._model import merge_effects
        merge_effects(effects)  # unknown paths fail here, before any process starts
        sc = Scenario(sc.name + "+custom", sc.description + " (overridden)",
                      {**dict(sc.effects), **dict(effects or {})},
                      n_officials if n_officials is not None else sc.n_officials,
                      sc.fault_rates, sc.n_citizens_per_commune, sc.missing_compare,
                      sc.latent_sem)
    bad = sorted(set(parts) - set(KINDS))
    if bad:
        raise ModelError(f"unknown parts {bad}; parts: {list(KINDS)}")
    workers = (os.cpu_count() or 1) if workers is None else workers
    if not isinstance(workers, int | np.integer) or workers < 1:
        raise ModelError(f"workers must be a positive integer, got {workers!r}")
    jobs = [(int(s), sc, tuple(parts), wild, latent, sem) for s in seeds]
    desc = f"replications ({sc.name})"
    if workers == 1 or len(jobs) == 1:
        frames = [_job(j) for j in progress(jobs, total=len(jobs), desc=desc, show=show_progress)]
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            frames = list(progress(pool.map(_job, jobs), total=len(jobs), desc=desc,
                                   show=show_progress))
    out = pd.concat(frames, ignore_index=True)
    if estimand is not None:
        from hlstudy.validation.estimand import attach_estimand
        out = attach_estimand(out, estimand)
    return out.sort_values(["scenario", "seed", "kind", "quantity", "method"],
                           kind="mergesort", ignore_index=True)
