"""The drivers of quality: the data, the models and the commune-level link of notebook 05.

This module holds the study's logic for part III of the thesis (which drivers go with the
quality of commune officials); the estimators live in :mod:`hlstudy.sem` (structural equation
models, lavaan's syntax and results) and :mod:`hlstudy.models` (regressions with commune
clusters).  Everything here is built from the instrument files, so a researcher's own
instrument (other constructs) changes the models without code changes:

* :func:`driver_data` — one row per official: scale scores (mean of available items, see
  :func:`hlstudy.scales.score_scales`), ``EDU`` (rank of the professional education level,
  ``data/reference/decree33_education_levels.csv``: 0 none … 4 university … 6 doctorate),
  ``TENURE`` (years in the current post) and ``TRAINED`` (1 if at least one refresher course in
  the last 24 months);
* :func:`structure` — the structural part of the research model: which constructs explain
  which (motivation, intention to stay and the four quality dimensions), by role in
  ``data/instrument/constructs.csv``;
* :func:`lavaan_syntax` — that model as lavaan model syntax, latent (items as indicators) or
  on scale scores, with the indirect effects through motivation as ``:=`` parameters;
* :func:`regression_formula` — the same question for one outcome as a regression formula;
* :func:`commune_link` and :func:`commune_correlations` — officials' quality and citizens'
  assessment aggregated by commune (n = number of communes, an honest small n).

>>> from hlstudy.drivers import structure
>>> s = structure()
>>> s["PRO"][:3]
['TRAIN', 'COMP', 'ENV']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from hlstudy import _resultcache, codebook, legal
from hlstudy.errors import ModelError
from hlstudy.scales import score_scales

#: Observed background covariates of the structural model (names of the simulator's truth).
COVARIATES = ("EDU", "TENURE")
#: Mediator through which the indirect effects of notebook 05 run (role ``mediator``).
MEDIATOR_ROLE = "mediator"


def constructs_by_role(folder=None) -> dict[str, list[str]]:
    """Officials' construct codes by role of ``constructs.csv`` (file order kept)."""
    roles = codebook.construct_labels("officials", folder=folder)
    out: dict[str, list[str]] = {}
    for construct, role in zip(roles["construct"].tolist(), roles["role"].tolist(), strict=True):
        out.setdefault(role, []).append(construct)
    return out


def education_rank(levels: pd.Series) -> pd.Series:
    """Rank of each professional education level (0 none … 6 doctorate); NaN when blank.

    Raises :class:`ModelError` for a level code the reference file does not know.
    """
    ref = legal.education_levels()
    ranks = dict(zip(ref.loc[ref["scale"] == "professional", "level_code"],
                     ref.loc[ref["scale"] == "professional", "rank"], strict=True))
    s = levels.astype("string")
    unknown = sorted(set(s.dropna()) - set(ranks))
    if unknown:
        raise ModelError(f"education levels {unknown} are not in decree33_education_levels.csv")
    return s.map(ranks).astype(float)


@_resultcache.kept
def driver_data(study, *, min_share: float = 0.5) -> pd.DataFrame:
    """One row per official: identifiers, scale scores, ``EDU``, ``TENURE`` and ``TRAINED``.

    ``study`` is a :class:`hlstudy.study.Study` (its ``officials`` table is used).  Scale
    scores follow :func:`hlstudy.scales.score_scales` (``min_share`` of a scale's items
    answered).  Shape: (number of officials, 5 + number of constructs + 3).
    """
    off = getattr(study, "officials", None)
    if off is None or len(off) == 0:
        raise ModelError("the study has no officials' survey: the drivers cannot be estimated")
    keep = [c for c in ("record_id", "commune_code", "commune", "commune_2025", "kind")
            if c in off.columns]
    scores = score_scales(off, "officials", min_share=min_share, keep=keep)
    if "education_level" in off.columns:
        scores["EDU"] = education_rank(off["education_level"]).to_numpy()
    if "years_in_post" in off.columns:
        scores["TENURE"] = pd.to_numeric(off["years_in_post"], errors="coerce").astype(float).to_numpy()
    if "trainings_24m" in off.columns:
        t = pd.to_numeric(off["trainings_24m"], errors="coerce")
        scores["TRAINED"] = np.where(t.isna(), np.nan, (t > 0).astype(float))
    return scores.reset_index(drop=True)


def structure(folder=None, *, covariates: Sequence[str] = COVARIATES) -> dict[str, list[str]]:
    """The structural part of the research model: outcome → its predictors.

    Built from the roles of ``constructs.csv``: the mediator (motivation) is explained by
    every factor; the outcome (intention to stay) by the factors of pay and environment named
    in the hypotheses plus the mediator (motivation's consequences include the intention to
    stay, whether or not a hypothesis names that path); each quality dimension by every factor, the mediator
    and the background ``covariates``.  Every factor → quality path is estimated (not only the
    hypothesised ones), so that no omitted path biases the others.
    """
    roles = constructs_by_role(folder)
    factors = roles.get("factor", [])
    mediators = roles.get(MEDIATOR_ROLE, [])
    outcomes = roles.get("outcome", [])
    quality = roles.get("quality", [])
    if not factors or not quality:
        raise ModelError("constructs.csv needs constructs of role 'factor' and 'quality'")
    out: dict[str, list[str]] = {}
    for m in mediators:
        out[m] = list(factors)
    hyp = codebook.hypotheses(folder=folder)
    for o in outcomes:
        causes = []
        for paths in hyp["paths"].dropna():
            for p in (p for p in str(paths).split(";") if p):
                cause, _, effect = p.partition("->")
                if effect == o and cause not in causes and cause in factors + mediators:
                    causes.append(cause)
        ordered = [c for c in factors if c in causes] + list(mediators)
        if ordered:
            out[o] = ordered
    for q in quality:
        out[q] = list(factors) + list(mediators) + list(covariates)
    return out


def _regression_lines(struct: Mapping[str, Sequence[str]], labels: bool) -> list[str]:
    lines = []
    for outcome, preds in struct.items():
        terms = [f"{_label(p, outcome)}*{p}" if labels else p for p in preds]
        lines.append(f"{outcome} ~ " + " + ".join(terms))
    return lines


def _label(cause: str, effect: str) -> str:
    return f"b_{cause}_{effect}"


def hypothesized_causes(effect: str, folder=None) -> list[str]:
    """Causes of ``effect`` named by the hypotheses (``paths`` of ``hypotheses.csv``), sorted."""
    hyp = codebook.hypotheses(folder=folder)
    out = set()
    for paths in hyp["paths"].dropna():
        for p in (p for p in str(paths).split(";") if p):
            cause, _, eff = p.partition("->")
            if eff == effect:
                out.add(cause)
    return sorted(out)


def indirect_effects(struct: Mapping[str, Sequence[str]], folder=None, *,
                     causes: Sequence[str] | None = None) -> dict[str, str]:
    """``:=`` definitions of the indirect (through the mediator) and total effects.

    For every cause X with a path to the mediator M (restricted to ``causes`` when given; the
    default is the causes of M named by the hypotheses, :func:`hypothesized_causes`) and every
    outcome Y explained by M: ``ind_X_M_Y := b_X_M*b_M_Y``, and where X also has a direct path
    to Y, ``tot_X_Y := b_X_Y + b_X_M*b_M_Y``.  Names follow lavaan's rule (letters, digits, _).
    """
    roles = constructs_by_role(folder)
    out: dict[str, str] = {}
    for m in roles.get(MEDIATOR_ROLE, []):
        wanted = hypothesized_causes(m, folder) if causes is None else list(causes)
        causes_m = [c for c in struct.get(m, []) if c in wanted]
        for y, preds in struct.items():
            if y == m or m not in preds:
                continue
            for x in causes_m:
                ind = f"{_label(x, m)}*{_label(m, y)}"
                out[f"ind_{x}_{m}_{y}"] = ind
                if x in preds:
                    out[f"tot_{x}_{y}"] = f"{_label(x, y)} + {ind}"
    return out


def lavaan_syntax(struct: Mapping[str, Sequence[str]] | None = None, *,
                  items: Mapping[str, Sequence[str]] | None = None,
                  defined: Mapping[str, str] | None = None,
                  correlated_residuals: Iterable[Sequence[str]] = (),
                  folder=None) -> str:
    """The structural model as lavaan model syntax (a string ``lavaan::sem`` accepts).

    ``items`` (construct → item columns) makes the constructs latent (``=~`` lines, first
    loading fixed to 1 by lavaan's default); without it the model runs on scale scores
    (a path analysis).  Regression coefficients carry labels ``b_<cause>_<effect>`` so that
    ``defined`` (name → expression, e.g. :func:`indirect_effects`) can use them.
    ``correlated_residuals`` lists pairs whose residuals covary (the quality dimensions share
    a common component that the drivers do not explain).

    >>> print(lavaan_syntax({"Y": ["X"]}, defined={}))
    Y ~ b_X_Y*X
    """
    struct = structure(folder) if struct is None else struct
    lines: list[str] = []
    if items:
        used = set(struct) | {p for preds in struct.values() for p in preds}
        for construct, its in items.items():
            if construct in used:
                lines.append(f"{construct} =~ " + " + ".join(its))
    lines += _regression_lines(struct, labels=True)
    for a, b in correlated_residuals:
        lines.append(f"{a} ~~ {b}")
    for name, expr in (defined or {}).items():
        lines.append(f"{name} := {expr}")
    return "\n".join(lines)


def quality_residual_pairs(folder=None) -> list[tuple[str, str]]:
    """Every pair of quality dimensions (their residual covariances are free)."""
    q = constructs_by_role(folder).get("quality", [])
    return [(q[i], q[j]) for i in range(len(q)) for j in range(i + 1, len(q))]


def regression_formula(outcome: str, struct: Mapping[str, Sequence[str]] | None = None, *,
                       folder=None) -> str:
    """``outcome ~ predictors`` of :func:`structure` as a statsmodels/patsy formula."""
    struct = structure(folder) if struct is None else struct
    if outcome not in struct:
        raise ModelError(f"{outcome!r} is not explained in the model; outcomes: {sorted(struct)}")
    return f"{outcome} ~ " + " + ".join(struct[outcome])


def commune_link(study, *, quality: Sequence[str] | None = None,
                 citizen: Sequence[str] | None = None, group: str = "commune_code",
                 officials: pd.DataFrame | None = None) -> pd.DataFrame:
    """Commune means of officials' quality and citizens' assessment, one row per commune.

    Columns: ``commune_code, commune, n_officials, n_citizens``, each quality dimension's
    mean, ``QUAL`` (the mean of the quality dimensions' commune means) and each citizens'
    scale mean.  Communes lacking either survey are kept with NaN (never silently dropped).
    ``officials``: :func:`driver_data` of ``study`` when the caller already has it (columns
    may be added to it; computed here otherwise).
    Raises :class:`ModelError` when the study has no citizens' survey.
    """
    cit = getattr(study, "citizens", None)
    if cit is None or len(cit) == 0:
        raise ModelError("the study has no citizens' survey: the commune link is not testable")
    roles = constructs_by_role()
    quality = list(quality or roles.get("quality", []))
    off = driver_data(study) if officials is None else officials
    cit_roles = codebook.construct_labels("citizens")
    citizen = list(citizen or cit_roles.loc[cit_roles["role"] == "citizen", "construct"])
    cs = score_scales(cit, "citizens", keep=[c for c in (group, "commune") if c in cit.columns])
    # one grouping per survey, its sizes and column means (the numbers of a named
    # aggregation ``agg(n=(col, "size"), **{c: (c, "mean")})``, without its per-column
    # dispatch; test_drivers checks the frame equal)
    a = _size_and_means(off, group, "n_officials", quality)
    a["QUAL"] = a[quality].mean(axis=1)
    b = _size_and_means(cs, group, "n_citizens", citizen)
    names = pd.concat([off[[group, "commune"]], cs[[group, "commune"]]]).drop_duplicates(group)
    out = a.join(b, how="outer").reset_index().merge(names, on=group, how="left")
    cols = [group, "commune", "n_officials", "n_citizens", *quality, "QUAL", *citizen]
    return out[cols].sort_values(group, ignore_index=True)


def _size_and_means(data: pd.DataFrame, group: str, size: str,
                    columns: Sequence[str]) -> pd.DataFrame:
    """``data.groupby(group).agg(**{size: (columns[0], "size")}, **{c: (c, "mean") ...})``:
    the number of rows and each column's mean per group."""
    g = data.groupby(group)
    out = g[list(columns)].mean()
    out.insert(0, size, g.size())
    return out


def commune_correlations(link: pd.DataFrame, x: str = "QUAL", ys: Sequence[str] | None = None,
                         *, conf: float = 0.95) -> pd.DataFrame:
    """Spearman correlation of ``x`` with each of ``ys`` across communes.

    Columns ``x, y, n, rho, ci_low, ci_high, p``: ``p`` from :func:`scipy.stats.spearmanr`
    (t approximation, as R ``cor.test(method = "spearman", exact = FALSE)``); the interval is
    Fisher's z with the Bonett & Wright (2000) standard error ``sqrt((1 + rho²/2)/(n − 3))``.
    Communes with a missing value are left out of that pair (``n`` says how many remain).
    """
    from scipy import stats

    if x not in link.columns:
        raise ModelError(f"column {x!r} not in the commune table")
    ys = list(ys) if ys is not None else [c for c in link.columns if c not in {
        x, "commune_code", "commune", "n_officials", "n_citizens"}]
    z = stats.norm.ppf(0.5 + conf / 2)
    rows = []
    for y in ys:
        if y not in link.columns:
            raise ModelError(f"column {y!r} not in the commune table")
        d = link[[x, y]].dropna()
        n = len(d)
        if n < 4:
            raise ModelError(f"{x}–{y}: {n} communes with both values; at least 4 are needed")
        res = stats.spearmanr(d[x], d[y])
        rho = float(res.statistic)
        se = np.sqrt((1 + rho ** 2 / 2) / (n - 3))
        zr = np.arctanh(np.clip(rho, -0.999999, 0.999999))
        rows.append({"x": x, "y": y, "n": n, "rho": rho, "ci_low": float(np.tanh(zr - z * se)),
                     "ci_high": float(np.tanh(zr + z * se)), "p": float(res.pvalue)})
    return pd.DataFrame(rows)


def zscore(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Copy of ``data`` with ``columns`` standardized (mean 0, SD 1 with n − 1, each over all
    its non-missing values).  For the standardized coefficients of a regression, whose sample
    is the rows complete on all its variables, use :func:`standardized_sample` (z-scores on
    that sample, as ``lm(scale(y) ~ scale(x))`` on the complete cases).

    A constant column is a :class:`ModelError` (it cannot be standardized).
    """
    out = data.copy()
    for c in columns:
        if c not in out.columns:
            raise ModelError(f"column {c!r} not in the data")
        x = pd.to_numeric(out[c], errors="coerce").astype(float)
        sd = x.std(ddof=1)
        if not np.isfinite(sd) or sd == 0:
            raise ModelError(f"column {c!r} has no variance: it cannot be standardized")
        out[c] = (x - x.mean()) / sd
    return out


def standardized_sample(data: pd.DataFrame, variables: Sequence[str], *,
                        cluster: str | None = "commune_code",
                        standardize: Sequence[str] | None = None,
                        keep: Sequence[str] = ()) -> pd.DataFrame:
    """The analysis sample of standardized coefficients: the rows of ``data`` complete on
    ``variables`` (and ``cluster``), listwise as ``lm`` keeps them, with each column of
    ``standardize`` (default: every variable) z-scored **on those rows** (mean 0, SD 1 with
    n − 1); other variables (e.g. a 0/1 indicator) keep their values.

    A regression on this sample gives the field's standardized β: R
    ``d <- na.omit(d[c(y, x, g)]); lm(scale(y) ~ scale(x1) + scale(x2), d)``, lavaan's
    ``std.all`` of the same regression on the complete cases.  z-scoring each column on all
    its non-missing values and then dropping incomplete rows (:func:`zscore` before a
    regression) gives other numbers: on the dropped rows' share the sample SDs are not 1
    (notebook 05 did so until December 2026, 0.157 where the ledger said 0.158).
    Notebook 05 (regressions, indirect effects) and the claims ledger
    (:mod:`hlstudy.evidence.ledger`) take their samples from here, so their numbers cannot
    drift apart.

    Columns: ``variables``, ``cluster`` and ``keep`` (carried, not standardized, not
    required complete); the index is ``data``'s.  Raises :class:`ModelError` for absent
    columns, no complete row, or a variable constant on the complete rows.
    """
    variables = list(dict.fromkeys(variables))
    standardize = variables if standardize is None else list(standardize)
    extra = [c for c in [*([cluster] if cluster else []), *keep] if c not in variables]
    absent = [c for c in [*variables, *extra, *standardize] if c not in data.columns]
    if absent:
        raise ModelError(f"columns {sorted(set(absent))} are not in the data")
    if [c for c in standardize if c not in variables]:
        raise ModelError(f"standardize {[c for c in standardize if c not in variables]} "
                         "must be among the variables")
    z = data[[*variables, *extra]].dropna(subset=[*variables, *([cluster] if cluster else [])])
    if z.empty:
        raise ModelError(f"no row is complete on {variables}")
    # each z-score: pandas' mean and sd of the column, the arithmetic on its values (the same
    # doubles as ``z[c] = (z[c] - z[c].mean()) / sd``), and one new frame instead of a column
    # assignment per variable (~2 ms a regression)
    scaled = {}
    for c in standardize:
        s = z[c]
        sd = s.std(ddof=1)
        if not sd > 0:
            raise ModelError(f"{c} is constant on the complete rows: no standardized "
                             "coefficient")
        scaled[c] = (pd.Series((s.to_numpy(dtype=float) - s.mean()) / sd, index=z.index, name=c)
                     if isinstance(s.dtype, np.dtype) and s.dtype.kind in "biuf"
                     else (s - s.mean()) / sd)
    return pd.DataFrame({c: scaled[c] if c in scaled else z[c] for c in z.columns}, index=z.index)


def regression_sample(data: pd.DataFrame, outcome: str, predictors: Sequence[str], *,
                      cluster: str = "commune_code", fallback: str | None = "commune_2025",
                      standardize: Sequence[str] | None = None,
                      name: str = "cluster") -> tuple[pd.DataFrame, list[str]]:
    """The sample of the standardized regression of ``outcome`` on ``predictors`` with
    commune-clustered inference: :func:`standardized_sample` (complete rows, z-scored on
    them), then a column ``name`` of clusters in which no commune has a single complete row
    (:func:`merge_small_clusters` on those rows; ``fallback`` when ``data`` has it).

    Returns ``(sample, merged)``: fit with ``hlstudy.models.ols(sample, "y ~ x1 + …",
    cluster=name)``; ``len(sample)`` is the regression's n.  The one sample of notebook 05's
    regressions and of the ledger's path parts.
    """
    cols = [outcome, *predictors]
    fb = fallback if fallback and fallback in data.columns else None
    z = standardized_sample(data, cols, cluster=cluster, standardize=standardize,
                            keep=[fb] if fb else ())
    return merge_small_clusters(z, cols, cluster=cluster, fallback=fb, name=name)


def regression_paths(fits: Mapping[str, object], *, method: str = "CR2") -> pd.DataFrame:
    """Tidy coefficients of regressions (outcome → :class:`hlstudy.models.OLSResult`).

    Columns ``outcome, term, method, n`` (the fit's rows used, ``nobs``), ``estimate, se,
    df, ci_low, ci_high, p`` and, where the fit has them, ``p_wild, ci_low_wild,
    ci_high_wild``; the intercept is left out.
    """
    rows = []
    for outcome, fit in fits.items():
        co = fit.coefficients
        for term, r in co.iterrows():
            if term == "Intercept":
                continue
            row = {"outcome": outcome, "term": term, "method": method, "n": int(fit.nobs),
                   "estimate": r["estimate"], "se": r["se"], "df": r["df"],
                   "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p": r["p"]}
            for c in ("p_wild", "ci_low_wild", "ci_high_wild"):
                if c in co.columns:
                    row[c] = r[c]
            rows.append(row)
    return pd.DataFrame(rows)


def sem_paths(estimates: pd.DataFrame, *, method: str = "SEM", level: float = 0.95) -> pd.DataFrame:
    """Structural paths (``op == "~"``) of a lavaan-style parameter table, standardized.

    Columns ``outcome, term, method, estimate (std.all), est, se, ci_low, ci_high, p``.
    The interval of ``std.all`` is the interval of ``est`` rescaled by ``std.all/est`` (the
    standardization factor taken as fixed; lavaan's ``standardizedSolution`` adds the
    sampling error of the variances by the delta method, a second-order difference).
    """
    need = {"lhs", "op", "rhs", "est", "se", "std.all", "pvalue"}
    if not need <= set(estimates.columns):
        raise ModelError(f"parameter table lacks columns {sorted(need - set(estimates.columns))}")
    from scipy import stats

    z = stats.norm.ppf(0.5 + level / 2)
    reg = estimates[estimates["op"] == "~"]
    ratio = np.where(reg["est"].to_numpy() != 0, reg["std.all"] / reg["est"].replace(0, np.nan), 0.0)
    se_std = np.abs(ratio) * reg["se"].to_numpy()
    return pd.DataFrame({
        "outcome": reg["lhs"].to_numpy(), "term": reg["rhs"].to_numpy(), "method": method,
        "estimate": reg["std.all"].to_numpy(), "est": reg["est"].to_numpy(),
        "se": reg["se"].to_numpy(), "ci_low": reg["std.all"].to_numpy() - z * se_std,
        "ci_high": reg["std.all"].to_numpy() + z * se_std, "p": reg["pvalue"].to_numpy()})


def _mediations(struct: Mapping[str, Sequence[str]], folder=None,
                causes: Sequence[str] | None = None) -> list[tuple[str, str, str]]:
    """(cause, mediator, outcome) triples of :func:`indirect_effects`."""
    roles = constructs_by_role(folder)
    out = []
    for m in roles.get(MEDIATOR_ROLE, []):
        wanted = hypothesized_causes(m, folder) if causes is None else list(causes)
        for y, preds in struct.items():
            if y == m or m not in preds:
                continue
            out += [(x, m, y) for x in struct.get(m, []) if x in wanted]
    return out


def _condition_below(matrices: np.ndarray, limit: float) -> np.ndarray:
    """``np.linalg.cond(matrices) < limit`` for a stack of symmetric positive semi-definite
    matrices (cross-products ``X'WX``), the same decisions at a lower cost.

    Their singular values are the absolute eigenvalues: the eigenvalues' ratio (``eigvalsh``,
    cheaper than the SVD behind ``cond``) decides wherever it lies more than a factor of 4
    from ``limit`` (both routes are accurate to far better than that at these condition
    numbers); the matrices in between, and any whose ratio is not a number, get numpy's
    ``cond`` itself.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ev = np.abs(np.linalg.eigvalsh(matrices))
        ratio = ev.max(axis=-1) / ev.min(axis=-1)
    ok = ratio < limit / 4
    unsure = ~ok & ~(ratio > limit * 4)
    if unsure.any():
        ok[unsure] = np.linalg.cond(matrices[unsure]) < limit
    return ok


def indirect_bootstrap(data: pd.DataFrame, struct: Mapping[str, Sequence[str]] | None = None, *,
                       bootstrap: int = 1000, seed: int | None = None, cluster: str | None = None,
                       level: float = 0.95, causes: Sequence[str] | None = None,
                       folder=None) -> pd.DataFrame:
    """Indirect effects through the mediator with percentile bootstrap intervals.

    Estimator: equation-by-equation least squares on the complete rows, the regression-based
    mediation bootstrap of Preacher & Hayes (2008).  Where the path model's covariance
    structure puts no restriction across equations (the quality equations share one set of
    predictors and the mediator's residual is free of theirs) this equals the model's maximum
    likelihood estimate (``lavaan::sem(model, d)``; the tests check it to 1e-6 on the
    model without the intention to stay).  With the intention to stay (fewer predictors, its
    residual uncorrelated with the quality residuals by assumption) ML borrows strength
    across equations and the quality estimates differ slightly (at most 0.004 on the
    demonstration data).  Each draw
    resamples respondents (or, with ``cluster``, whole communes: a cluster bootstrap that
    respects the nesting) and refits every equation; the indirect effect is ``a·b``
    (cause → mediator × mediator → outcome) and the total effect ``c + a·b``.  Intervals are
    percentile intervals as lavaan's ``boot.ci.type = "perc"`` (``boot::norm.inter``).
    Draws whose design is singular are undefined (NaN) and handled by
    :func:`hlstudy._bootstrap.finite_draws` (counted, warned, refused above 10%).

    Returns one row per effect: ``effect, kind (indirect|total), cause, mediator, outcome,
    est, se, z, pvalue, ci.lower, ci.upper, n, n_boot, n_undefined`` (unstandardized, in the
    scores' units; ``se`` is the standard deviation of the defined draws and ``pvalue`` the
    two-sided normal test est/se, as lavaan reports them with ``se = "bootstrap"``).
    Raises :class:`ModelError` for unknown columns, fewer than 2 clusters or ``bootstrap`` < 100.

    R: ``lavaan::sem(model, d, se = "bootstrap", bootstrap = 1000)`` then
    ``parameterEstimates(fit, boot.ci.type = "perc")`` for the ``:=`` rows.
    """
    from hlstudy._bootstrap import finite_draws
    from hlstudy.sem._boot import norm_inter

    struct = structure(folder) if struct is None else struct
    if int(bootstrap) < 100:
        raise ModelError(f"bootstrap must be at least 100 draws, got {bootstrap}")
    triples = _mediations(struct, folder, causes)
    if not triples:
        raise ModelError("the model has no indirect effect through a mediator")
    variables = sorted(set(struct) | {p for ps in struct.values() for p in ps})
    missing = [v for v in variables + ([cluster] if cluster else []) if v not in data.columns]
    if missing:
        raise ModelError(f"columns {missing} are not in the data")
    d = data[variables + ([cluster] if cluster else [])].dropna().reset_index(drop=True)
    n = len(d)
    eqs = {y: list(ps) for y, ps in struct.items()}
    designs = {y: np.column_stack([np.ones(n), d[ps].to_numpy(float)]) for y, ps in eqs.items()}
    outcomes = {y: d[y].to_numpy(float) for y in eqs}

    def coefs(weights: np.ndarray, blocks: dict | None = None) -> dict[str, np.ndarray]:
        """Weighted least squares per equation; weights (B, n) are resampling counts, or with
        ``blocks`` (equation -> per-cluster X_g'X_g and X_g'y_g) counts (B, G) of clusters."""
        out = {}
        for y, x in designs.items():
            if blocks is None:
                xtwx = np.einsum("bn,ni,nj->bij", weights, x, x)
                xtwy = np.einsum("bn,ni,n->bi", weights, x, outcomes[y])
            else:   # X'WX = sum_g c_g X_g'X_g: G terms per draw instead of n
                xx_g, xy_g = blocks[y]
                xtwx = (weights @ xx_g.reshape(len(xx_g), -1)).reshape(-1, *xx_g.shape[1:])
                xtwy = weights @ xy_g
            sol = np.full(xtwy.shape, np.nan)
            ok = _condition_below(xtwx, 1e12)
            if ok.any():
                sol[ok] = np.linalg.solve(xtwx[ok], xtwy[ok][..., None])[..., 0]
            out[y] = sol
        return out

    def effects(b: dict[str, np.ndarray]) -> np.ndarray:
        cols = []
        for x, m, y in triples:
            a = b[m][:, 1 + eqs[m].index(x)]
            bb = b[y][:, 1 + eqs[y].index(m)]
            cols.append(a * bb)
        for x, m, y in triples:
            if x in eqs[y]:
                c = b[y][:, 1 + eqs[y].index(x)]
                cols.append(c + b[m][:, 1 + eqs[m].index(x)] * b[y][:, 1 + eqs[y].index(m)])
        return np.column_stack(cols)

    point = effects(coefs(np.ones((1, n))))[0]
    rng = np.random.default_rng(seed)
    if cluster:
        codes, groups = np.unique(d[cluster].astype(str).to_numpy(), return_inverse=True)
        g = len(codes)
        if g < 2:
            raise ModelError(f"cluster {cluster!r} has {g} cluster: at least 2 are needed")
        picks = rng.integers(0, g, size=(int(bootstrap), g))
        per_cluster = np.zeros((int(bootstrap), g))
        np.add.at(per_cluster, (np.repeat(np.arange(int(bootstrap)), g), picks.ravel()), 1.0)
        members = [np.flatnonzero(groups == k) for k in range(g)]
        blocks = {y: (np.stack([x[r].T @ x[r] for r in members]),
                      np.stack([x[r].T @ outcomes[y][r] for r in members]))
                  for y, x in designs.items()}
        draws = effects(coefs(per_cluster, blocks))
    else:
        picks = rng.integers(0, n, size=(int(bootstrap), n))
        weights = np.zeros((int(bootstrap), n))
        np.add.at(weights, (np.repeat(np.arange(int(bootstrap)), n), picks.ravel()), 1.0)
        draws = np.vstack([effects(coefs(weights[i:i + 250]))
                           for i in range(0, int(bootstrap), 250)])
    kept, n_undefined = finite_draws(draws, statistic="indirect effects")
    alpha = (1 - level) / 2
    ci = norm_inter(kept, [alpha, 1 - alpha])
    from scipy import stats

    se = kept.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pvalue = 2 * stats.norm.sf(np.abs(point / se))
    rows = []
    names = [("indirect", x, m, y) for x, m, y in triples]
    names += [("total", x, m, y) for x, m, y in triples if x in eqs[y]]
    for j, (kind, x, m, y) in enumerate(names):
        rows.append({"effect": f"ind_{x}_{m}_{y}" if kind == "indirect" else f"tot_{x}_{y}",
                     "kind": kind, "cause": x, "mediator": m, "outcome": y, "est": point[j],
                     "se": se[j], "z": point[j] / se[j], "pvalue": pvalue[j],
                     "ci.lower": ci[0, j], "ci.upper": ci[1, j], "n": n,
                     "n_boot": int(bootstrap), "n_undefined": int(n_undefined)})
    return pd.DataFrame(rows)


def merge_small_clusters(data: pd.DataFrame, columns: Sequence[str], *,
                         cluster: str = "commune_code", fallback: str | None = "commune_2025",
                         min_size: int = 2, name: str = "cluster") -> tuple[pd.DataFrame, list[str]]:
    """Copy of ``data`` with a column ``name``: the cluster of each row for cluster-robust
    inference, in which no cluster has fewer than ``min_size`` complete rows (complete on
    ``columns``).

    A cluster of one respondent carries no within-cluster information, and CR2/CR1 refuse it
    (:func:`hlstudy.models.ols`); at thesis size (about 100–120 officials in 23 communes) some
    communes have one respondent.  Each small cluster joins, in this order:

    1. the largest cluster of the same ``fallback`` group (the 2025 commune that absorbed the
       old unit) that is not small itself (ties: the smallest code);
    2. otherwise the other small clusters of its ``fallback`` group, pooled as
       ``"2025:<name>"``;
    3. a pool still smaller than ``min_size`` joins the largest cluster of the data.

    Every merged cluster keeps its rows; only the cluster label changes.  Returns
    ``(data, merged)``: ``merged`` lists the original clusters that were merged (sorted; empty
    when none was), so the caller can say so.  Raises :class:`ModelError` for unknown columns,
    ``min_size`` < 2, or data whose complete rows cannot form two clusters of ``min_size``.
    """
    if min_size < 2:
        raise ModelError(f"min_size must be at least 2, got {min_size}")
    need = [*columns, cluster] + ([fallback] if fallback else [])
    absent = [c for c in need if c not in data.columns]
    if absent:
        raise ModelError(f"columns {absent} are not in the data")
    out = data.copy()
    out[name] = out[cluster].astype("string")
    # the complete rows' number per cluster label and the labels present, counted over the
    # labels' values once (the counts of ``out.loc[complete, name].value_counts()``)
    complete = out[cluster].notna().to_numpy(dtype=bool, copy=True)
    for c in columns:
        complete &= out[c].notna().to_numpy()
    values = out[name].to_numpy(dtype=object, na_value=None)
    sizes = Counter(values[complete].tolist())

    def size(label) -> int:
        return int(sizes.get(label, 0))

    labels = sorted({str(c) for c in values.tolist() if c is not None})
    small = [c for c in labels if size(c) < min_size]
    if not small:
        return out, []
    big = [c for c in labels if size(c) >= min_size]
    if not big and sum(size(c) for c in small) < min_size:
        raise ModelError(f"{int(complete.sum())} complete rows: too few for clusters of {min_size}")
    group_of = (out.dropna(subset=[name]).groupby(name)[fallback].first().astype("string")
                if fallback else pd.Series(dtype="string"))
    target: dict[str, str] = {}
    for c in small:   # 1. the largest sibling that is not small
        g = group_of.get(c, pd.NA) if fallback else pd.NA
        if pd.isna(g):
            continue
        siblings = [b for b in big if group_of.get(b, pd.NA) == g]
        if siblings:
            target[c] = sorted(siblings, key=lambda b: (-size(b), b))[0]
    pools: dict[str, list[str]] = {}
    for c in small:   # 2. small siblings pooled by their 2025 commune
        if c not in target:
            g = group_of.get(c, pd.NA) if fallback else pd.NA
            pools.setdefault("small clusters" if pd.isna(g) else f"2025:{g}", []).append(c)
    largest = sorted(big, key=lambda b: (-size(b), b))[0] if big else None
    for pool, members in sorted(pools.items()):
        total = sum(size(c) for c in members)
        dest = pool if (total >= min_size or largest is None) else largest   # 3.
        for c in members:
            target[c] = dest
    if largest is None:   # every cluster was small: the pools are the clusters
        pooled = {}
        for c, dest in target.items():
            pooled[dest] = pooled.get(dest, 0) + size(c)
        tiny = sorted(d for d, n in pooled.items() if n < min_size)
        if tiny:
            keep = sorted(pooled, key=lambda d: (-pooled[d], d))[0]
            for c, dest in list(target.items()):
                if dest in tiny:
                    target[c] = keep
    out[name] = out[name].map(lambda v: target.get(v, v) if isinstance(v, str) else v)
    return out, sorted(small)


def indirect_agreement(effects: Sequence[str], boot_lo: Sequence[float],
                       boot_hi: Sequence[float], p_delta: Sequence[float] | None = None, *,
                       alpha: float = 0.05) -> pd.DataFrame:
    """Where the two readings of each indirect effect agree: the bootstrap interval (does it
    exclude 0?) and, when given, the latent SEM's delta-method p (below ``alpha``?).

    Returns one row per effect, in the given order: ``effect, bootstrap_excludes_0,
    delta_significant`` (NA without ``p_delta`` or with a missing p) and ``agree`` (NA when
    there is no delta p to compare with).  Raises :class:`ModelError` for sequences of unequal
    length or ``alpha`` outside (0, 1).

    >>> indirect_agreement(["a", "b"], [0.01, 0.02], [0.2, 0.3], [0.01, 0.16])["agree"].tolist()
    [True, False]
    """
    if not 0 < alpha < 1:
        raise ModelError(f"alpha must lie in (0, 1), got {alpha!r}")
    effects = list(effects)
    lo = np.asarray(boot_lo, dtype=float)
    hi = np.asarray(boot_hi, dtype=float)
    p = (np.full(len(effects), np.nan) if p_delta is None
         else np.asarray(p_delta, dtype=float))
    if not len(effects) == len(lo) == len(hi) == len(p):
        raise ModelError(f"indirect_agreement needs one value per effect: {len(effects)} "
                         f"effects, {len(lo)} lower and {len(hi)} upper bounds, {len(p)} p")
    excludes = (lo > 0) | (hi < 0)
    sig = pd.array([bool(x < alpha) if np.isfinite(x) else pd.NA for x in p], dtype="boolean")
    boot = pd.array(excludes, dtype="boolean")
    return pd.DataFrame({"effect": effects, "bootstrap_excludes_0": boot,
                         "delta_significant": sig, "agree": boot == sig})


def se_ratio_reading(ratio: Sequence[float], *, tolerance: float = 0.10) -> dict:
    """How standard errors that ignore the commune clusters compare with the clustered ones.

    ``ratio``: naive SE / clustered SE, one per coefficient.  A ratio below ``1 − tolerance``
    means the naive interval is too narrow, above ``1 + tolerance`` too wide; in between the
    two are about equal.  Returns ``n, median, min, max``, ``n_narrower``, ``n_about_equal``,
    ``n_wider`` and ``reading``: the reading of the median (``"narrower"``, ``"about equal"``
    or ``"wider"``).  Missing ratios are left out; none left, or a ``tolerance`` outside
    [0, 1), raises :class:`ModelError`.

    >>> se_ratio_reading([0.77, 0.98, 1.0, 1.57])["reading"]
    'about equal'
    """
    if not 0 <= tolerance < 1:
        raise ModelError(f"tolerance must lie in [0, 1), got {tolerance!r}")
    r = np.asarray(ratio, dtype=float)
    r = r[np.isfinite(r)]
    if not len(r):
        raise ModelError("se_ratio_reading needs at least one finite ratio")
    lo, hi = 1 - tolerance, 1 + tolerance
    med = float(np.median(r))
    reading = "narrower" if med < lo else "wider" if med > hi else "about equal"
    return {"n": int(len(r)), "median": med, "min": float(r.min()), "max": float(r.max()),
            "n_narrower": int((r < lo).sum()), "n_about_equal": int(((r >= lo) & (r <= hi)).sum()),
            "n_wider": int((r > hi).sum()), "reading": reading, "tolerance": tolerance}
