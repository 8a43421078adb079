"""The truth of the observed-score regressions: a pseudo-truth from one very large study.

A regression on scale scores (means of five-category answers) does not estimate the
standardized path between the *latent* constructs: every scale score carries measurement
error, so its coefficients are attenuated (Spearman 1904; Lord & Novick 1968, ch. 3) — and,
in a multiple regression, partly shifted onto correlated predictors.  What such a regression
estimates consistently is the coefficient of the same regression in the population of
*observed* scores.  The simulator has no closed form for it (the scores are means of
discretized responses with acquiescence), so :func:`estimand_truth` computes it by Monte
Carlo: many simulated studies of the scenario, each through the same ingest, cleaning and
scoring as a replication, pooled into one very large sample (tens of thousands of
officials), and the same z-scored regressions fitted on the pool.  Its Monte Carlo standard
error comes from batch means (the pooled studies split into independent batches).  The
reliability of every scale score (squared correlation of the score with the simulator's
latent value, linked through the raw row) is reported beside it.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from hlstudy.errors import ModelError

#: Estimands of the observed-score methods: the scale scores of the pipeline
#: (``min_share`` 0.5) and, in a scenario with ``missing_compare``, complete-item scores.
SCORES = "scale scores"
COMPLETE = "complete-item scale scores"
#: Methods whose target is the observed-score regression, and the estimand each one targets.
METHOD_ESTIMAND = {"CR2": SCORES, "naive": SCORES, "wild": SCORES, "SEM (FIML, MLR)": SCORES,
                   "SEM complete items (listwise)": COMPLETE,
                   "SEM complete items (FIML)": COMPLETE}
#: First seed of the pooled studies (far from the replications' seeds 1..N).
FIRST_SEED = 1_000_001
TABLE_COLUMNS = ["scenario", "estimand", "quantity", "truth", "truth_estimand", "mcse",
                 "n_studies", "n_officials"]
RELIABILITY_COLUMNS = ["scenario", "estimand", "construct", "reliability", "icc", "icc_mcse",
                       "n_officials"]
#: Methods of the ICC rows of a replication (``kind == "icc"``), whose target on scale scores
#: is the scores' own between-commune share (:func:`attach_icc_estimand`).
ICC_METHODS = ("ANOVA (F interval)", "REML")


def _study_scores(args) -> pd.DataFrame:
    """One pooled study: scale scores (``min_share`` 0.5 and, if asked, 1.0), covariates,
    cluster and the latent values of the same officials."""
    seed, sc = args
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from hlstudy import drivers, load_study
    from hlstudy.synthetic import simulate

    kw = sc.simulate_kwargs()
    kw["response_rate"] = 1.0          # every official answers (MCAR: the same population)
    kw["n_citizens_per_commune"] = 2   # the citizens play no part in these regressions
    sim = simulate(int(seed), **kw)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = load_study(sim, cache=False)
    rows = sim.truth.rows
    rows = rows[rows["instrument"] == "officials"].set_index("source_row")["person_id"]
    lat = sim.truth.latent
    lat = lat[lat["instrument"] == "officials"].set_index("person_id")
    pid = study.officials["source_row"].astype(int).map(rows).to_numpy()
    frames = []
    shares = [(SCORES, 0.5)] + ([(COMPLETE, 1.0)] if sc.missing_compare else [])
    for estimand, share in shares:
        d = drivers.driver_data(study, min_share=share)
        d = d.assign(study=int(seed), estimand=estimand)
        for c in [c for c in lat.columns if c in d.columns and lat[c].dtype.kind == "f"]:
            d["latent_" + c] = lat[c].reindex(pid).to_numpy(dtype=float)
        frames.append(d)
    return pd.concat(frames, ignore_index=True)


def _coefficients(d: pd.DataFrame, struct: Mapping[str, list[str]]) -> dict[str, float]:
    """Standardized OLS coefficients of every equation of ``struct`` on ``d`` (z-scored over
    the non-missing values of each column, complete rows per equation), by ``X->Y``."""
    cols = sorted({c for p in struct.values() for c in p} | set(struct))
    z = d[cols].astype(float)
    z = (z - z.mean()) / z.std(ddof=1)
    out = {}
    for y, preds in struct.items():
        e = z[[y, *preds]].dropna()
        X = np.column_stack([np.ones(len(e)), e[preds].to_numpy()])
        b = np.linalg.lstsq(X, e[y].to_numpy(), rcond=None)[0]
        out.update({f"{x}->{y}": float(v) for x, v in zip(preds, b[1:], strict=True)})
    return out


def _resolve(scenario, effects):
    """The Scenario of ``scenario`` with ``effects`` overridden (renamed ``+custom``)."""
    from hlstudy.validation.replications import Scenario, _scenario

    sc = _scenario(scenario)
    if effects:
        from hlstudy.synthetic._model import merge_effects
        merge_effects(effects)  # unknown paths fail here
        sc = Scenario(sc.name + "+custom", sc.description + " (overridden)",
                      {**dict(sc.effects), **dict(effects)}, sc.n_officials, sc.fault_rates,
                      sc.n_citizens_per_commune, sc.missing_compare, sc.latent_sem)
    return sc


def pooled_scores(scenario="default", effects: Mapping[str, float] | None = None, *,
                  studies: int = 60, first_seed: int = FIRST_SEED, workers: int | None = None,
                  show_progress: bool | None = None) -> pd.DataFrame:
    """The pooled sample of :func:`estimand_truth`: one row per official and estimand
    (``study`` = seed), driver columns of :func:`hlstudy.drivers.driver_data` and the
    latent values (``latent_<construct>``)."""
    from hlstudy.progress import progress

    sc = _resolve(scenario, effects)
    if isinstance(studies, bool) or not isinstance(studies, int | np.integer) or studies < 2:
        raise ModelError(f"studies must be an integer of at least 2, got {studies!r}")
    workers = (os.cpu_count() or 1) if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise ModelError(f"workers must be a positive integer, got {workers!r}")
    jobs = [(first_seed + i, sc) for i in range(int(studies))]
    desc = f"pooled studies ({sc.name})"
    if workers == 1:
        frames = [_study_scores(j) for j in progress(jobs, total=len(jobs), desc=desc,
                                                     show=show_progress)]
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            frames = list(progress(pool.map(_study_scores, jobs), total=len(jobs), desc=desc,
                                   show=show_progress))
    return pd.concat(frames, ignore_index=True).assign(scenario=sc.name)


def estimand_truth(scenario="default", effects: Mapping[str, float] | None = None, *,
                   studies: int = 60, batches: int = 10, first_seed: int = FIRST_SEED,
                   workers: int | None = None, show_progress: bool | None = None,
                   pooled: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pseudo-truth of the regressions on scale scores, and the scores' reliabilities.

    Simulates ``studies`` studies of ``scenario`` (seeds ``first_seed, first_seed + 1, …``;
    every official answers; the scenario's effects and fault rates), runs each through
    :func:`hlstudy.load_study` and :func:`hlstudy.drivers.driver_data` exactly as a
    replication does, pools them (about 430 officials a study) and fits the z-scored
    regressions of :func:`hlstudy.drivers.structure` on the pool.

    Parameters
    ----------
    scenario : a name of :func:`hlstudy.validation.scenarios` or a Scenario.
    effects : path overrides on top of the scenario's (``{"CAUSE->EFFECT": value}``).
    studies : pooled studies (≥ 2); ``batches`` : independent batches for the Monte Carlo
        standard error (batch means; at most ``studies``).
    workers : processes (None: the machine's cores); the result does not depend on it.
    pooled : a pooled sample of :func:`pooled_scores` to reuse (then no simulation).

    Returns
    -------
    (table, reliability).  ``table``: one row per estimand × path, columns
    ``scenario, estimand, quantity, truth`` (latent standardized path,
    :func:`~hlstudy.validation.population_coefficients`), ``truth_estimand`` (coefficient of
    the observed-score regression on the pool), ``mcse`` (standard deviation of the batch
    coefficients / sqrt(batches)), ``n_studies, n_officials``.  ``reliability``: squared
    correlation of each scale score with its latent construct on the pool
    with the scale score's own intraclass correlation by commune on the pool (``icc``: the
    one-way ANOVA ICC(1) of :func:`hlstudy.reliability.design_effect`, communes of different
    pooled studies kept apart; ``icc_mcse`` by batch means): the value a replication's ICC of
    the score estimates, smaller than the latent construct's share because the measurement
    error lies within communes
    (``scenario, estimand, construct, reliability, icc, icc_mcse, n_officials``).  Sorted,
    byte-stable.

    Raises
    ------
    ModelError : unknown scenario or path, ``studies < 2``, ``batches`` outside
        ``[2, studies]``, workers < 1.

    Example
    -------
    >>> tab, rel = estimand_truth("default", studies=60)                # doctest: +SKIP
    >>> tab.query("quantity == 'ENV->MOT'")[["truth", "truth_estimand", "mcse"]]  # doctest: +SKIP

    There is no R function for this Monte Carlo; the regressions are ``lm`` on the pooled
    z-scored scores (checked against :func:`hlstudy.models.ols` in the tests).
    """
    from hlstudy import drivers
    from hlstudy.synthetic import edu_tenure_correlation
    from hlstudy.synthetic._model import merge_effects
    from hlstudy.validation.replications import _latent_covariance, population_coefficients

    if isinstance(batches, bool) or not isinstance(batches, int | np.integer) or batches < 2:
        raise ModelError(f"batches must be an integer of at least 2, got {batches!r}")
    if pooled is None:
        pooled = pooled_scores(scenario, effects, studies=studies, first_seed=first_seed,
                               workers=workers, show_progress=show_progress)
    need = {"study", "estimand", "scenario"}
    if not isinstance(pooled, pd.DataFrame) or not need <= set(pooled.columns):
        raise ModelError(f"pooled must be a DataFrame of pooled_scores with {sorted(need)}")
    ids = sorted(pooled["study"].unique())
    if batches > len(ids):
        raise ModelError(f"batches ({batches}) cannot exceed the pooled studies ({len(ids)})")
    sc = _resolve(scenario, effects)
    name = str(pooled["scenario"].iloc[0])
    # the latent covariance of the first pooled study's truth (``latent_covariance(simulate(
    # ids[0], effects).truth)``): its effects and its census's education-tenure correlation,
    # without simulating the study again
    cov = _latent_covariance(merge_effects(dict(sc.effects) or None),
                             edu_tenure_correlation(int(ids[0])))
    struct = drivers.structure()
    latent = {f"{x}->{y}": float(population_coefficients(cov, y, p)[x])
              for y, p in struct.items() for x in p}
    batch_of = {s: i * batches // len(ids) for i, s in enumerate(ids)}
    rows, rel = [], []
    for estimand, d in pooled.groupby("estimand", sort=True):
        whole = _coefficients(d, struct)
        per = [_coefficients(g, struct) for _, g in d.groupby(d["study"].map(batch_of),
                                                              sort=True)]
        n_off = int(len(d))
        for q in sorted(whole):
            b = np.array([p[q] for p in per])
            rows.append({"scenario": name, "estimand": estimand, "quantity": q,
                         "truth": latent[q], "truth_estimand": whole[q],
                         "mcse": float(b.std(ddof=1) / np.sqrt(len(b))),
                         "n_studies": len(ids), "n_officials": n_off})
        for c in sorted(c for c in d.columns if "latent_" + c in d.columns):
            e = d[[c, "latent_" + c]].dropna()
            r = float(np.corrcoef(e[c], e["latent_" + c])[0, 1]) if len(e) > 2 else np.nan
            icc, icc_mcse = _score_icc(d, c, batch_of)
            rel.append({"scenario": name, "estimand": estimand, "construct": c,
                        "reliability": r * r, "icc": icc, "icc_mcse": icc_mcse,
                        "n_officials": int(len(e))})
    return (pd.DataFrame(rows, columns=TABLE_COLUMNS),
            pd.DataFrame(rel, columns=RELIABILITY_COLUMNS))


def _score_icc(d: pd.DataFrame, c: str, batch_of: Mapping) -> tuple[float, float]:
    """ANOVA ICC(1) of score ``c`` by commune on the pool (a commune of one pooled study is
    not the same commune as in another: clusters are study × commune) and its batch-means
    MCSE; NaN for a column that is not scored by commune (e.g. education, a covariate)."""
    from hlstudy.reliability import design_effect

    if "commune_code" not in d.columns:
        return np.nan, np.nan
    e = d[["study", "commune_code", c]].dropna()
    if len(e) < 3 or e[c].nunique() < 2:
        return np.nan, np.nan

    def one(g: pd.DataFrame) -> float:
        cluster = g["study"].astype(str) + ":" + g["commune_code"].astype(str)
        return float(design_effect(g[c].to_numpy(float), cluster.to_numpy()).icc)

    per = np.array([one(g) for _, g in e.groupby(e["study"].map(batch_of), sort=True)])
    return one(e), float(per.std(ddof=1) / np.sqrt(len(per)))


def _with_truth_column(results: pd.DataFrame, table, name: str, need: set[str]) -> pd.DataFrame:
    """A copy of ``results`` with a ``truth_estimand`` column (NaN where it had none), once
    ``table`` is a DataFrame with the columns ``need``; else ModelError naming the ``name``
    table and the columns it needs."""
    if not isinstance(table, pd.DataFrame) or not need <= set(table.columns):
        raise ModelError(f"the {name} table needs columns {sorted(need)}")
    out = results.copy()
    if "truth_estimand" not in out.columns:
        out["truth_estimand"] = np.nan
    return out


def attach_icc_estimand(results: pd.DataFrame, reliability: pd.DataFrame) -> pd.DataFrame:
    """Fill ``truth_estimand`` of the ICC rows of ``results`` (``kind == "icc"``, methods
    :data:`ICC_METHODS`) with the scale score's own between-commune share on the pool
    (``icc`` of :func:`estimand_truth`'s reliability table, estimand ``"scale scores"``,
    matched on scenario and construct).  Constructs the pool does not score (the citizens')
    keep NaN; ``truth`` stays the latent construct's share.  Returns a copy.  Raises
    ModelError when ``reliability`` lacks ``scenario, estimand, construct, icc``.

    >>> res = attach_icc_estimand(recovery([1]), estimand_truth("default")[1])  # doctest: +SKIP
    """
    out = _with_truth_column(results, reliability, "reliability",
                             {"scenario", "estimand", "construct", "icc"})
    rel = reliability[reliability["estimand"] == SCORES]
    key = rel.set_index(["scenario", "construct"])["icc"]
    sel = (out["kind"] == "icc") & out["method"].isin(ICC_METHODS)
    idx = pd.MultiIndex.from_arrays([out.loc[sel, "scenario"], out.loc[sel, "quantity"]])
    out.loc[sel, "truth_estimand"] = key.reindex(idx).to_numpy(dtype=float)
    return out


def attach_estimand(results: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Fill ``truth_estimand`` of the observed-score path rows of ``results`` from
    :func:`estimand_truth`'s ``table`` (matched on scenario, quantity and the method's
    estimand, :data:`METHOD_ESTIMAND`); latent-SEM rows keep the latent truth; other rows
    are left as they are.  Returns a copy.  Raises ModelError when ``table`` lacks the
    columns ``scenario, estimand, quantity, truth_estimand``.

    >>> res = attach_estimand(recovery([1]), estimand_truth("default")[0])  # doctest: +SKIP
    """
    out = _with_truth_column(results, table, "estimand",
                             {"scenario", "estimand", "quantity", "truth_estimand"})
    est = out["method"].map(METHOD_ESTIMAND)
    key = table.set_index(["scenario", "estimand", "quantity"])["truth_estimand"]
    idx = pd.MultiIndex.from_arrays([out["scenario"], est.fillna(""), out["quantity"]])
    found = pd.Series(key.reindex(idx).to_numpy(), index=out.index)
    sel = (out["kind"] == "path") & est.notna()
    out.loc[sel, "truth_estimand"] = found[sel]
    return out
